"""Exercise checkers for 第2章 激活函数 (activations): each returns a :class:`~helpers.exercises.Feedback`."""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from .. import activations as act
from . import Feedback, close_to, forbidden, not_answered, refuse_builtin, run_check

# what each exercise asks the learner to write themselves: (owner, attribute) pairs of PyTorch's
# built-ins and of the chapter's own reference code (shown in the notebook, so not to be wrapped either)
_SOFTMAX_BUILTINS = [(owner, name) for name in ("softmax", "log_softmax")
                     for owner in (torch, F, torch.Tensor, torch.special)] + [(act, "softmax")]
_TANH_BUILTINS = [(torch, "tanh"), (F, "tanh"), (torch.Tensor, "tanh"), (torch.nn, "Tanh"), (act, "tanh")]


def check_stable_softmax(fn: Any) -> Feedback:
    r"""Exercise: ``fn(z, dim)`` $= e^{z_i - \max z} / \sum_j e^{z_j - \max z}$ along ``dim``, finite for huge logits."""
    if fn is None:
        return not_answered()
    if not callable(fn):
        return Feedback(False, "请交一个函数 my_softmax(z, dim=-1)，它返回和 z 形状相同的张量。")
    if (refused := refuse_builtin(fn, _SOFTMAX_BUILTINS)) is not None:
        return refused
    gen = torch.Generator().manual_seed(7)
    z = torch.randn(3, 4, 5, generator=gen, dtype=torch.float64) * 5
    big = torch.tensor([[1000.0, 0.0, -5.0], [-1000.0, -1001.0, -999.0]], dtype=torch.float64)

    def same(out: Any, expected: torch.Tensor) -> bool:
        return isinstance(out, torch.Tensor) and out.shape == expected.shape and bool(
            torch.allclose(out.double(), expected, atol=1e-6, equal_nan=False))

    small = {d: torch.softmax(z, dim=d) for d in (0, 1, -1)}  # computed before the built-ins are switched off
    big_expected = torch.softmax(big, dim=1)

    def small_ok() -> bool:
        with forbidden(_SOFTMAX_BUILTINS):
            return all(same(fn(z.clone(), dim=d), small[d]) for d in (0, 1, -1))

    def big_ok() -> bool:
        with forbidden(_SOFTMAX_BUILTINS):
            return same(fn(big.clone(), dim=1), big_expected)

    first = run_check(small_ok, "", "先让普通大小的 z 算对：沿 dim 求和时加 keepdim=True，分母才能广播回 z 的形状；"
                                    "dim=0、1、-1 都要对。")
    if not first.ok:
        return first
    return run_check(big_ok, "数值稳定：先减去沿 dim 的最大值（keepdim=True），指数最大为 e⁰ = 1，不会溢出，结果不变。",
                     "小数值已经对了，但 z = [1000, 0] 时 e¹⁰⁰⁰ 溢出成 inf，inf / inf = nan。"
                     "利用平移不变性：先减去 z.amax(dim=dim, keepdim=True)。")


def check_tanh_from_sigmoid(fn: Any) -> Feedback:
    r"""Exercise: ``fn(x)`` $= 2\sigma(2x) - 1$, i.e. tanh written with ``torch.sigmoid`` only."""
    if fn is None:
        return not_answered()
    if not callable(fn):
        return Feedback(False, "请交一个函数 my_tanh(x)，它返回和 x 形状相同的张量。")
    if (refused := refuse_builtin(fn, _TANH_BUILTINS)) is not None:
        return refused
    x = torch.linspace(-10, 10, 401, dtype=torch.float64)
    expected = torch.tanh(x)

    def test() -> bool:
        with forbidden(_TANH_BUILTINS):
            out = fn(x.clone())
        return isinstance(out, torch.Tensor) and out.shape == x.shape and bool(
            torch.allclose(out.double(), expected, atol=1e-6))

    return run_check(test, "tanh(x) = 2σ(2x) − 1：tanh 是把 sigmoid 横向压缩一半、纵向拉伸到 (−1, 1) 的版本，"
                           "所以它饱和得也快一倍。",
                     "把 tanh 的分子分母同除以 eˣ 得 (1 − e^{−2x}) / (1 + e^{−2x})，再和 σ(2x) = 1 / (1 + e^{−2x}) 比较。"
                     "提示：值域 (0, 1) 要变成 (−1, 1)。")


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
    if isinstance(answer, torch.Tensor):
        answer = answer.detach()
    expected = _dead_fraction_exercise()
    if close_to(answer, expected, atol=1e-6):
        return Feedback(True, f"{expected:.0%} 的单元在全部 500 个样本上 z ≤ 0：它们的输出和梯度恒为 0，参数再也不会更新。")
    if close_to(answer, 1 - expected, atol=1e-6):
        return Feedback(False, "你算的是“至少激活过一次”的比例；题目问的是从未激活（死亡）的比例。")
    return Feedback(False, "死亡单元 = 对所有样本都有 z ≤ 0 的单元：用 (z > 0).sum(dim=0) == 0 逐列判断，"
                           "再对 100 个单元取平均（.float().mean()）。注意要按单元（列）而不是按样本统计。")
