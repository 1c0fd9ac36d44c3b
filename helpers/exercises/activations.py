"""Exercise checkers for 第2章 激活函数 (activations): each returns a :class:`~helpers.exercises.Feedback`."""
from __future__ import annotations

from typing import Any

import torch

from . import (INPUTS_CHANGED, Feedback, Forbid, as_number, close_to, fresh_generator, grad_matches, kept, not_answered,
               run_answer)

# what each exercise asks the learner to write themselves: any softmax / log-sum-exp operator of PyTorch
# (whatever name reaches it), and tanh (the course's own code is always refused)
_LOG_SOFTMAX = Forbid(ops=r"softmax|logsumexp|logcumsumexp|cross_entropy|nll_loss|logaddexp")
_TANH = Forbid(ops=r"^tanh$|^tan$|rnn_tanh")  # tan too: tanh(x) is the imaginary part of tan(ix)


def _returns_tensor_like(out: Any, expected: torch.Tensor) -> bool:
    return isinstance(out, torch.Tensor) and out.shape == expected.shape


def check_log_softmax(fn: Any) -> Feedback:
    r"""Exercise: ``fn(z, dim)`` $= z - m - \log\sum_j e^{z_j - m}$ ($m = \max z$ along ``dim``), finite for huge logits."""
    if fn is None:
        return not_answered()
    if not callable(fn):
        return Feedback(False, "请交一个函数 my_log_softmax(z, dim=-1)，它返回和 z 形状相同的张量。")
    gen = fresh_generator()
    z = (torch.randn(3, 4, 5, generator=gen, dtype=torch.float64) * 5).requires_grad_()
    big = torch.tensor([[1000.0, 0.0, -5.0], [-1000.0, -1001.0, -999.0], [0.0, -800.0, 800.0]],
                       dtype=torch.float64).requires_grad_()
    unchanged = kept([z, big])
    outs, failed = run_answer(lambda: ([fn(z, dim=d) for d in (0, 1, -1)], fn(big, dim=1)), _LOG_SOFTMAX,
                              "你的函数运行了 PyTorch 现成的 {what}：这道题要你只用 exp、log、sum、amax 这些基本运算写出来。",
                              "先让普通大小的 z 算对。")
    if failed is not None:
        return failed
    if not unchanged():
        return INPUTS_CHANGED
    small, big_out = outs
    expected = [torch.log_softmax(z, dim=d) for d in (0, 1, -1)]
    if not all(_returns_tensor_like(o, e) for o, e in zip(small, expected)):
        return Feedback(False, "返回值应是和 z 形状相同的张量：沿 dim 求和时加 keepdim=True，结果才能广播回 z 的形状。")
    soft = [torch.softmax(z, dim=d) for d in (0, 1, -1)]
    if all(_finite_close(o, s) for o, s in zip(small, soft)):
        return Feedback(False, "这是 softmax 本身，题目要的是它的对数 log softmax。")
    if not all(_finite_close(o, e) for o, e in zip(small, expected)):
        return Feedback(False, "普通大小的 z 就不对：log softmax(z)_i = z_i − log Σ_j e^{z_j}，沿 dim 求和（keepdim=True），"
                               "dim=0、1、-1 都要对。")
    big_expected = torch.log_softmax(big, dim=1)
    if not _returns_tensor_like(big_out, big_expected) or not _finite_close(big_out, big_expected):
        return Feedback(False, "小数值已经对了，但 z 里有 ±1000 时出了 inf 或 nan：先算 softmax 再取 log 会得到 log 0 = −inf。"
                               "先减去 m = z.amax(dim=dim, keepdim=True)，再用 z − m − log Σ e^{z−m}。")
    if not all(grad_matches(o, [z], e, [z]) for o, e in zip(small, expected)) or not grad_matches(
            big_out, [big], big_expected, [big]):
        return Feedback(False, "数值对了，但梯度传不回 z（或者不对）：请全程用 torch 的运算，不要转成 NumPy 或 Python 数。")
    return Feedback(True, "数值稳定：减去最大值后指数最大为 e⁰ = 1，log Σ 至少是 log 1 = 0，不会溢出也不会 log 0；"
                          "梯度也和 torch.log_softmax 一致。")


def _finite_close(out: torch.Tensor, expected: torch.Tensor, atol: float = 1e-6) -> bool:
    """``out`` equals ``expected`` within ``atol`` (no nan or inf allowed to slip through)."""
    return close_to(out, expected.detach(), atol=atol, rtol=1e-6) and bool(
        torch.isfinite(torch.as_tensor(out.detach(), dtype=torch.float64)).all())


def check_tanh_from_sigmoid(fn: Any) -> Feedback:
    r"""Exercise: ``fn(x)`` $= 2\sigma(2x) - 1$, i.e. tanh written without any tanh operator."""
    if fn is None:
        return not_answered()
    if not callable(fn):
        return Feedback(False, "请交一个函数 my_tanh(x)，它返回和 x 形状相同的张量。")
    gen = fresh_generator()
    x = torch.cat([torch.linspace(-10, 10, 401, dtype=torch.float64),
                   8 * torch.randn(64, generator=gen, dtype=torch.float64)]).requires_grad_()
    unchanged = kept([x])
    out, failed = run_answer(lambda: fn(x), _TANH, "你的函数运行了 PyTorch 的 {what}：这道题要你只用 torch.sigmoid 和四则运算写出 tanh。",
                             "x 是一个一维张量。")
    if failed is not None:
        return failed
    if not unchanged():
        return INPUTS_CHANGED
    expected = torch.tanh(x)
    if not _returns_tensor_like(out, expected):
        return Feedback(False, "返回值应是和 x 形状相同的张量。")
    if not close_to(out, expected.detach(), atol=1e-6):
        return Feedback(False, "把 tanh 的分子分母同除以 eˣ 得 (1 − e^{−2x}) / (1 + e^{−2x})，再和 σ(2x) = 1 / (1 + e^{−2x}) 比较。"
                               "提示：值域 (0, 1) 要变成 (−1, 1)。")
    if not grad_matches(out, [x], expected, [x]):
        return Feedback(False, "数值对了，但梯度传不回 x（或者不对）：请全程用 torch 的运算，不要转成 NumPy 或 Python 数。")
    return Feedback(True, "tanh(x) = 2σ(2x) − 1：tanh 是把 sigmoid 横向压缩一半、纵向拉伸到 (−1, 1) 的版本，所以它饱和得也快一倍。")


def _dead_fraction_exercise() -> float:
    """The answer to the dead-unit exercise, recomputed without touching the global RNG state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(2)
        layer = torch.nn.Linear(4, 100)
        torch.nn.init.constant_(layer.bias, -2.0)
        x = torch.randn(500, 4)
        with torch.no_grad():
            z = layer(x)
    return ((z > 0).sum(dim=0) == 0).double().mean().item()


def check_dead_fraction(answer: Any) -> Feedback:
    """Exercise: the fraction of the 100 units of the seeded ``Linear(4, 100)`` (bias -2) never active on ``x``."""
    if answer is None:
        return not_answered()
    answer = as_number(answer)
    if answer is None:
        return Feedback(False, "请给出一个数（0 到 1 之间的比例），不是列表或字符串。")
    expected = _dead_fraction_exercise()
    if close_to(answer, expected, atol=1e-6):
        return Feedback(True, f"{expected:.0%} 的单元在全部 500 个样本上 z ≤ 0：它们的输出和梯度恒为 0，参数再也不会更新。")
    if close_to(answer, 1 - expected, atol=1e-6):
        return Feedback(False, "你算的是“至少激活过一次”的比例；题目问的是从未激活（死亡）的比例。")
    return Feedback(False, "死亡单元 = 对所有样本都有 z ≤ 0 的单元：用 (z > 0).sum(dim=0) == 0 逐列判断，"
                           "再对 100 个单元取平均（.float().mean()）。注意要按单元（列）而不是按样本统计。")
