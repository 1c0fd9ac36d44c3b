"""Exercise checkers for 第7章 正则化 (regularization): each returns a :class:`~helpers.exercises.Feedback`."""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from . import Feedback, call_without, close_to, not_answered

__all__ = ["check_inverted_dropout", "check_batch_norm_train", "check_running_var", "check_l2_weight_decay"]


_DROPOUT_BUILTINS = ("torch.nn.functional.dropout", "torch.dropout", "torch.nn.Dropout.forward",
                     "helpers.regularization.dropout")


def check_inverted_dropout(fn: Any) -> Feedback:
    """Exercise: ``fn(x, p)`` is inverted dropout in training mode: drop with probability p, scale kept units by 1/(1-p)."""
    if fn is None:
        return not_answered()
    if not callable(fn):
        return Feedback(False, "请交一个函数 my_dropout(x, p)，而不是一个值。")
    if fn in (F.dropout, torch.dropout):
        return Feedback(False, "这就是 PyTorch 自带的 dropout：请用 torch.rand 自己生成掩码，再按公式缩放。")
    x = torch.rand(200_000, generator=torch.Generator().manual_seed(1)) + 0.5      # never 0: a 0 means dropped

    def verdicts():
        for p in (0.2, 0.7):
            y = fn(x, p)
            if not isinstance(y, torch.Tensor) or y.shape != x.shape:
                return "shape"
            dropped = (y == 0).float().mean().item()
            kept = y != 0
            ratio = (y[kept] / x[kept]) if kept.any() else torch.ones(1)
            if abs(dropped - (1 - p)) < 0.01:
                return "keep_prob"
            if abs(dropped - p) > 0.01:
                return "fraction"
            if torch.allclose(ratio, torch.full_like(ratio, 1 / p), rtol=1e-4):
                return "one_over_p"
            if torch.allclose(ratio, torch.ones_like(ratio), rtol=1e-4):
                return "unscaled"
            if not torch.allclose(ratio, torch.full_like(ratio, 1 / (1 - p)), rtol=1e-4):
                return "scale"
        return "ok"

    hints = {
        "shape": "返回值应是与 x 形状相同的张量。",
        "keep_prob": "被置 0 的比例约为 1 − p：PyTorch 的 p 是“丢弃概率”，不是保留概率。",
        "fraction": "被置 0 的比例应约等于 p：用 torch.rand(x.shape) < p 选出要丢弃的单元。",
        "one_over_p": "保留下来的值被除以了 p（笔记的写法，勘误 E41）：应除以保留概率 1 − p。",
        "unscaled": "保留下来的值没有放大：训练时要乘以 1/(1 − p)，推理时才能直接用完整网络。",
        "scale": "保留下来的值应等于 x / (1 − p)。",
    }
    verdict, failed = call_without(_DROPOUT_BUILTINS, verdicts,
                                   "你的函数调用了 PyTorch 现成的 dropout：请用 torch.rand 自己生成掩码，再按公式缩放。")
    if failed is not None:
        return failed
    if verdict == "ok":
        return Feedback(True, "丢弃比例约为 p，保留的单元乘以 1/(1 − p)，期望不变：和 nn.Dropout 的训练模式一致。")
    return Feedback(False, hints[verdict])


_BN_BUILTINS = ("torch.nn.functional.batch_norm", "torch.batch_norm", "torch.nn.BatchNorm1d.forward",
                "torch.native_batch_norm", "helpers.regularization.batch_norm")


def check_batch_norm_train(fn: Any) -> Feedback:
    """Exercise: ``fn(x, gamma, beta, eps)`` is BatchNorm1d's training-mode output for x of shape (N, C)."""
    if fn is None:
        return not_answered()
    if not callable(fn):
        return Feedback(False, "请交一个函数 my_batch_norm(x, gamma, beta, eps)。")
    if fn in (F.batch_norm, torch.batch_norm):
        return Feedback(False, "这就是 PyTorch 自带的 batch_norm：请用 mean / 方差自己写出标准化和仿射两步。")
    g = torch.Generator().manual_seed(3)
    x = 3 * torch.randn(16, 5, generator=g) + 2
    gamma, beta, eps = torch.rand(5, generator=g) + 0.5, torch.randn(5, generator=g), 1e-5
    expected = F.batch_norm(x, None, None, gamma, beta, training=True, eps=eps)
    mean, var_u = x.mean(0), x.var(0, unbiased=True)
    with_unbiased = gamma * (x - mean) / torch.sqrt(var_u + eps) + beta
    notes_formula = gamma * x + beta
    y, failed = call_without(_BN_BUILTINS, lambda: fn(x, gamma, beta, eps),
                             "你的函数调用了 PyTorch 现成的 batch norm：请用 x.mean(0) 和方差自己算。")
    if failed is not None:
        return failed
    if not isinstance(y, torch.Tensor) or y.shape != x.shape:
        return Feedback(False, "返回值应是与 x 形状相同 (N, C) 的张量。")
    if close_to(y, expected, atol=1e-4):
        return Feedback(True, "和 F.batch_norm(training=True) 一致：按特征用批均值和有偏方差标准化，再做 γẑ + β。")
    if close_to(y, with_unbiased, atol=1e-4):
        return Feedback(False, "方差用错了：训练时标准化用的是有偏方差（除以 N，unbiased=False）；无偏方差只用于更新 running_var。")
    if close_to(y, notes_formula, atol=1e-4):
        return Feedback(False, "这是笔记里的 y = γz + β（勘误 E45）：仿射要作用在标准化后的 ẑ 上。")
    return Feedback(False, "按列（每个特征）求均值 μ 和有偏方差 σ²，ẑ = (x − μ)/√(σ² + ε)，输出 γẑ + β。")


def check_running_var(answer: Any) -> Feedback:
    """Exercise: ``running_var`` of a fresh ``BatchNorm1d(1, momentum=0.1)`` after one training batch [1, 2, 3, 6]."""
    if answer is None:
        return not_answered()
    if isinstance(answer, str):
        return Feedback(False, "请给出一个数（float），不是字符串。")
    bn = nn.BatchNorm1d(1, momentum=0.1)
    bn(torch.tensor([[1.0], [2.0], [3.0], [6.0]]))
    expected = bn.running_var.item()                                   # 0.9 * 1 + 0.1 * 14/3
    if close_to(answer, expected, atol=1e-3, rtol=0):
        return Feedback(True, "running_var = 0.9 × 1 + 0.1 × 14/3 ≈ 1.3667：初值 1，新批次权重为 momentum，方差用无偏的（除以 N − 1）。")
    if close_to(answer, 0.9 + 0.1 * 3.5, atol=1e-3, rtol=0):
        return Feedback(False, "你用了有偏方差 3.5（除以 N）：running_var 更新时 PyTorch 用无偏方差（除以 N − 1 = 3）。")
    if close_to(answer, 0.1 + 0.9 * 14 / 3, atol=1e-3, rtol=0) or close_to(answer, 0.1 + 0.9 * 3.5, atol=1e-3, rtol=0):
        return Feedback(False, "权重反了：BN 的 momentum 是**新批次**的权重，running = (1 − m)·running + m·batch。")
    if close_to(answer, 14 / 3, atol=1e-3, rtol=0) or close_to(answer, 3.5, atol=1e-3, rtol=0):
        return Feedback(False, "这是批方差本身：running_var 从 1 开始，一步只向批方差移动 momentum = 0.1 的比例。")
    return Feedback(False, "running_var 初值为 1；更新 running = (1 − 0.1)·running + 0.1·(批的无偏方差)。")


def check_l2_weight_decay(answer: Any) -> Feedback:
    """Exercise: the ``weight_decay`` of SGD that equals adding ``0.005 * sum(w**2)`` to the loss (0.01)."""
    if answer is None:
        return not_answered()
    if isinstance(answer, str):
        return Feedback(False, "请给出一个数（float），不是字符串。")
    if close_to(answer, 0.01, atol=1e-6, rtol=0):
        return Feedback(True, "c·Σw² 的梯度是 2c·w = 0.01·w，正是 SGD(weight_decay=0.01) 加到梯度上的 λw。")
    if close_to(answer, 0.005, atol=1e-6, rtol=0):
        return Feedback(False, "差了 2 倍：对 c·w² 求导得到 2c·w；weight_decay=λ 对应的惩罚是 (λ/2)·Σw²。")
    if close_to(answer, 0.0025, atol=1e-6, rtol=0):
        return Feedback(False, "方向反了：λ/2 = c，所以 λ = 2c，而不是 c/2。")
    return Feedback(False, "写出惩罚项 c·Σw² 的梯度，再和 weight_decay 加到梯度上的 λ·w 对比。")
