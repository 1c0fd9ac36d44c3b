"""Exercise checkers for 第4章 损失函数 (losses): each returns a :class:`~helpers.exercises.Feedback`."""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from .. import losses
from . import Feedback, close_to, forbidden, not_answered, refuse_builtin, run_check

# my_huber must not call a Huber loss already written (PyTorch's or the chapter's own), nor SmoothL1
# (Huber = delta * SmoothL1 with beta = delta)
_HUBER_BUILTINS = [(F, "huber_loss"), (torch.nn, "HuberLoss"), (F, "smooth_l1_loss"), (torch.nn, "SmoothL1Loss"),
                   (losses, "huber"), (losses, "smooth_l1")]


_CE_LOGITS = [[0.5, 1.5, -1.0], [2.0, 0.0, 0.5], [-0.5, 1.0, 1.5], [1.0, 0.5, 0.0]]
_CE_TARGET = [1, 0, 2, 2]


def check_cross_entropy_by_hand(answer: Any) -> Feedback:
    """Exercise: the mean cross-entropy of ``_CE_LOGITS`` / ``_CE_TARGET`` computed by hand."""
    if answer is None:
        return not_answered()
    logits, target = torch.tensor(_CE_LOGITS), torch.tensor(_CE_TARGET)
    if close_to(answer, F.cross_entropy(logits, target).item()):
        return Feedback(True, "和 F.cross_entropy(logits, target) 一致：-log softmax 取真实类别，再对 N 个样本求平均。")
    if close_to(answer, F.cross_entropy(logits, target, reduction="sum").item()):
        return Feedback(False, "这是求和（reduction='sum'）的结果：别忘了除以样本数 N。")
    if close_to(answer, F.cross_entropy(torch.softmax(logits, 1), target).item()):
        return Feedback(False, "看起来 softmax 被做了两次：CrossEntropyLoss 的输入是 logits，不是概率。")
    return Feedback(False, "先用 softmax 把每一行 logits 变成概率，取每个样本真实类别那一列的 -log，再求平均。")


def check_my_huber(fn: Any) -> Feedback:
    """Exercise: ``fn(y_hat, y, delta)`` returns the mean Huber loss (equal to ``F.huber_loss``)."""
    if fn is None:
        return not_answered()
    if not callable(fn):
        return Feedback(False, "请交一个函数 my_huber(y_hat, y, delta)，而不是一个数。")
    if (refused := refuse_builtin(fn, _HUBER_BUILTINS)) is not None:
        return refused
    g = torch.Generator().manual_seed(4)
    y_hat, y = 3 * torch.randn(64, generator=g), 3 * torch.randn(64, generator=g)
    smooth = {d: F.smooth_l1_loss(y_hat, y, beta=d).item() for d in (0.5, 2.0)}  # before the built-ins are off
    huber = {d: F.huber_loss(y_hat, y, delta=d).item() for d in (0.5, 1.0, 2.0)}

    def matches(expected: dict) -> bool:
        with forbidden(_HUBER_BUILTINS):
            return all(close_to(fn(y_hat, y, d), value) for d, value in expected.items())

    if run_check(lambda: matches(smooth), "", "").ok:
        return Feedback(False, "这是 SmoothL1Loss(beta=δ)：它等于 Huber/δ。小误差段应为 ½e²（不除以 δ），大误差段为 δ|e| − ½δ²。")
    return run_check(
        lambda: matches(huber),
        "和 F.huber_loss 在 δ = 0.5、1、2 时都一致。",
        "对比 F.huber_loss(y_hat, y, delta=δ)：|e| ≤ δ 时取 ½e²，否则取 δ|e| − ½δ²，最后对所有元素求平均。",
    )


def check_mse_critical_lr(answer: Any) -> Feedback:
    """Exercise: the largest learning rate for which gradient descent on (2w-3)^2 still converges (0.25)."""
    if answer is None:
        return not_answered()
    if close_to(answer, 0.25, atol=1e-3, rtol=0):
        return Feedback(True, "e_{t+1} = (1 − 8η)·e_t，|1 − 8η| < 1 ⇔ 0 < η < 0.25；η = 0.25 时恰好在 ±e 之间来回跳。")
    if close_to(answer, 0.5, atol=1e-3, rtol=0) or close_to(answer, 0.125, atol=1e-3, rtol=0):
        return Feedback(False, "差了一个 2 倍：(2w−3)² 对 w 的导数是 4(2w−3)，误差 e = 2w−3 每步乘以 (1 − 8η)。")
    return Feedback(False, "写出误差 e = 2w − 3 的一步更新 e_{t+1} = (1 − c·η)·e_t，再求 |1 − c·η| < 1 的边界。")


def check_stable_bce_with_logits(fn: Any) -> Feedback:
    """Exercise: ``fn(z, y)`` is a numerically stable mean BCE-with-logits (finite for |z| = 1000)."""
    if fn is None:
        return not_answered()
    if not callable(fn):
        return Feedback(False, "请交一个函数 bce_with_logits(z, y)。")
    z = torch.tensor([-1000.0, -30.0, -2.0, 0.0, 1.5, 30.0, 1000.0, -1000.0, 1000.0])
    y = torch.tensor([1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0])
    expected = F.binary_cross_entropy_with_logits(z, y).item()
    return run_check(
        lambda: close_to(fn(z, y), expected, rtol=1e-5),
        "和 F.binary_cross_entropy_with_logits 一致，|z| = 1000 时也没有 inf/nan。",
        "先对普通大小的 z 验证公式，再看 z = ±1000：sigmoid 会变成 0 或 1，log 就成了 -inf。"
        "把 log σ(z) 与 log(1 − σ(z)) 改写成只含 e^{−|z|} 的形式（torch.log1p 有用）。",
    )
