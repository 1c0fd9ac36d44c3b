"""Exercise checkers for 第4章 损失函数 (losses): each returns a :class:`~helpers.exercises.Feedback`."""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from . import (INPUTS_CHANGED, Feedback, Forbid, as_number, close_to, fresh_generator, grad_matches, kept, not_answered,
               run_answer)

# PyTorch has no pseudo-Huber loss; its Huber and SmoothL1 are refused all the same (the course's code always is)
_PSEUDO_HUBER = Forbid(ops=r"huber|smooth_l1")
# the stable BCE must be written by hand: no loss or log-sigmoid/softplus/log-sum-exp operator that already is stable
_BCE = Forbid(ops=r"binary_cross_entropy|log_sigmoid|softplus|soft_margin|logaddexp|logsumexp|softmax|cross_entropy"
                  r"|nll_loss")
_NUMBER = "请给出一个数（int、float 或 0 维张量），不是列表或字符串。"


_CE_LOGITS = [[0.5, 1.5, -1.0], [2.0, 0.0, 0.5], [-0.5, 1.0, 1.5], [1.0, 0.5, 0.0]]
_CE_TARGET = [1, 0, 2, 2]


def check_cross_entropy_by_hand(answer: Any) -> Feedback:
    """Exercise: the mean cross-entropy of ``_CE_LOGITS`` / ``_CE_TARGET`` computed by hand."""
    if answer is None:
        return not_answered()
    answer = as_number(answer)
    if answer is None:
        return Feedback(False, _NUMBER)
    logits, target = torch.tensor(_CE_LOGITS), torch.tensor(_CE_TARGET)
    if close_to(answer, F.cross_entropy(logits, target).item()):
        return Feedback(True, "和 F.cross_entropy(logits, target) 一致：-log softmax 取真实类别，再对 N 个样本求平均。")
    if close_to(answer, F.cross_entropy(logits, target, reduction="sum").item()):
        return Feedback(False, "这是求和（reduction='sum'）的结果：别忘了除以样本数 N。")
    if close_to(answer, F.cross_entropy(torch.softmax(logits, 1), target).item()):
        return Feedback(False, "看起来 softmax 被做了两次：CrossEntropyLoss 的输入是 logits，不是概率。")
    return Feedback(False, "先用 softmax 把每一行 logits 变成概率，取每个样本真实类别那一列的 -log，再求平均。")


def _pseudo_huber(y_hat: torch.Tensor, y: torch.Tensor, delta: float) -> torch.Tensor:
    r"""The reference: $\frac1N\sum \delta^2(\sqrt{1 + (e/\delta)^2} - 1)$, $e = \hat y - y$."""
    return (delta ** 2 * (torch.sqrt(1 + ((y_hat - y) / delta) ** 2) - 1)).mean()


def check_pseudo_huber(fn: Any) -> Feedback:
    r"""Exercise: ``fn(y_hat, y, delta)`` is the mean pseudo-Huber loss $\delta^2(\sqrt{1+(e/\delta)^2}-1)$, with its gradient."""
    if fn is None:
        return not_answered()
    if not callable(fn):
        return Feedback(False, "请交一个函数 my_pseudo_huber(y_hat, y, delta)，而不是一个数。")
    gen = fresh_generator()
    y_hat = (3 * torch.randn(64, generator=gen, dtype=torch.float64)).requires_grad_()
    y = 3 * torch.randn(64, generator=gen, dtype=torch.float64)
    deltas = (0.5, 1.0, 3.0)
    unchanged = kept([y_hat, y])
    outs, failed = run_answer(lambda: [fn(y_hat, y, d) for d in deltas], _PSEUDO_HUBER,
                              "你的函数运行了 PyTorch 的 {what}：伪 Huber 要照公式用 sqrt 自己写。",
                              "y_hat、y 是一维张量，delta 是一个正数。")
    if failed is not None:
        return failed
    if not unchanged():
        return INPUTS_CHANGED
    expected = [_pseudo_huber(y_hat, y, d) for d in deltas]
    if not all(isinstance(o, torch.Tensor) and o.numel() == 1 for o in outs):
        return Feedback(False, "应返回一个标量张量（所有元素的平均损失），例如 loss.mean()。")
    values = [o.reshape(()) for o in outs]
    if all(close_to(v, e.detach()) for v, e in zip(values, expected)):
        if all(grad_matches(v, [y_hat], e, [y_hat]) for v, e in zip(values, expected)):
            return Feedback(True, "值和梯度都对：梯度 e/√(1 + (e/δ)²) 在 |e| ≪ δ 时约等于 e（像 MSE），在 |e| ≫ δ 时趋于 ±δ（像 MAE），"
                                  "而且处处光滑，没有 Huber 在 ±δ 处的拐点。")
        return Feedback(False, "数值对了，但梯度传不回 y_hat（或者不对）：请全程用 torch 的运算，不要转成 NumPy 或 Python 数。")
    e = (y_hat - y).detach()
    for name, wrong in (("sum", lambda d: (d ** 2 * (torch.sqrt(1 + (e / d) ** 2) - 1)).sum()),
                        ("no_delta2", lambda d: (torch.sqrt(1 + (e / d) ** 2) - 1).mean()),
                        ("huber", lambda d: F.huber_loss(e, torch.zeros_like(e), delta=d)),
                        ("no_minus_one", lambda d: (d ** 2 * torch.sqrt(1 + (e / d) ** 2)).mean())):
        if all(close_to(v, wrong(d)) for v, d in zip(values, deltas)):
            return Feedback(False, {
                "sum": "这是总和：题目要所有元素的平均（.mean()）。",
                "no_delta2": "少了前面的 δ²：没有它，小误差段就不是 ½e²，损失的量纲也不对。",
                "huber": "这是分段的 Huber 损失；伪 Huber 是一条光滑曲线 δ²(√(1 + (e/δ)²) − 1)，没有分段。",
                "no_minus_one": "根号后面要减 1：这样 e = 0 时损失才是 0。",
            }[name])
    return Feedback(False, "照公式写：e = y_hat − y，损失 = δ²·(√(1 + (e/δ)²) − 1)，再对所有元素求平均。")


def check_mse_critical_lr(answer: Any) -> Feedback:
    """Exercise: the largest learning rate for which gradient descent on (2w-3)^2 still converges (0.25)."""
    if answer is None:
        return not_answered()
    answer = as_number(answer)
    if answer is None:
        return Feedback(False, _NUMBER)
    if close_to(answer, 0.25, atol=1e-3, rtol=0):
        return Feedback(True, "e_{t+1} = (1 − 8η)·e_t，|1 − 8η| < 1 ⇔ 0 < η < 0.25；η = 0.25 时恰好在 ±e 之间来回跳。")
    if close_to(answer, 0.5, atol=1e-3, rtol=0) or close_to(answer, 0.125, atol=1e-3, rtol=0):
        return Feedback(False, "差了一个 2 倍：(2w−3)² 对 w 的导数是 4(2w−3)，误差 e = 2w−3 每步乘以 (1 − 8η)。")
    return Feedback(False, "写出误差 e = 2w − 3 的一步更新 e_{t+1} = (1 − c·η)·e_t，再求 |1 − c·η| < 1 的边界。")


def check_stable_bce_with_logits(fn: Any) -> Feedback:
    """Exercise: ``fn(z, y)`` is a numerically stable mean BCE-with-logits (finite for |z| = 1000), written by hand."""
    if fn is None:
        return not_answered()
    if not callable(fn):
        return Feedback(False, "请交一个函数 bce_with_logits(z, y)。")
    gen = fresh_generator()
    z = torch.cat([torch.tensor([-1000.0, -30.0, -2.0, -0.25, 1.5, 30.0, 1000.0, -1000.0, 1000.0], dtype=torch.float64),
                   5 * torch.randn(23, generator=gen, dtype=torch.float64)]).requires_grad_()
    y = torch.cat([torch.tensor([1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0], dtype=torch.float64),
                   torch.rand(23, generator=gen, dtype=torch.float64).round()])
    unchanged = kept([z, y])
    out, failed = run_answer(lambda: fn(z, y), _BCE, "你的函数运行了 PyTorch 现成的 {what}：这道题要你用 exp、log1p、abs、"
                                                     "clamp 这些基本运算自己写出稳定的公式。", "z、y 是一维张量。")
    if failed is not None:
        return failed
    if not unchanged():
        return INPUTS_CHANGED
    expected = F.binary_cross_entropy_with_logits(z, y)
    if not isinstance(out, torch.Tensor) or out.numel() != 1:
        return Feedback(False, "应返回一个标量张量（所有元素的平均损失）。")
    value = out.reshape(())
    mild = z.detach().abs() < 20
    if not close_to(value, expected.detach(), rtol=1e-6):
        if not bool(torch.isfinite(value.detach())):
            return Feedback(False, "z = ±1000 时出了 inf/nan：sigmoid 变成 0 或 1，log 就成了 -inf。"
                                   "把 log σ(z) 与 log(1 − σ(z)) 改写成只含 e^{−|z|} 的形式（torch.log1p 有用）。")
        return Feedback(False, "先对普通大小的 z 验证公式：ℓ = −[y·log σ(z) + (1 − y)·log(1 − σ(z))]，再对所有元素求平均。"
                               f"（检查用了 {int(mild.sum())} 个普通大小的 z 和若干 ±30、±1000。）")
    if not grad_matches(value, [z], expected, [z]):
        return Feedback(False, "数值对了，但梯度传不回 z（或者不对）：请全程用 torch 的运算，不要转成 NumPy 或 Python 数。")
    return Feedback(True, "和 F.binary_cross_entropy_with_logits 一致（值和梯度），|z| = 1000 时也没有 inf/nan。")
