"""Exercise checkers for 第7章 正则化 (regularization): each returns a :class:`~helpers.exercises.Feedback`."""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from . import (INPUTS_CHANGED, Feedback, Forbid, as_number, close_to, fresh_generator, grad_matches, kept, not_answered,
               run_answer)

__all__ = ["check_inverted_dropout", "check_batch_norm_train", "check_running_var", "check_l2_weight_decay"]

# any dropout operator of PyTorch (F.dropout, nn.Dropout, torch.dropout, feature/alpha dropout, native_dropout ...)
_DROPOUT = Forbid(ops=r"dropout")
# any normalization operator: batch norm itself, and layer/group/instance/RMS norm, which give it on a transposed x
_NORMS = Forbid(ops=r"(batch|layer|group|instance|rms)_norm")
_NUMBER = "请给出一个数（int、float 或 0 维张量），不是列表或字符串。"


def _dropout_verdict(x: torch.Tensor, y: Any, p: float) -> str:
    """What is wrong with ``y = my_dropout(x, p)`` (x > 0 everywhere, so a 0 means dropped), or "ok"."""
    if not isinstance(y, torch.Tensor) or y.shape != x.shape:
        return "shape"
    y = y.detach().double()
    x = x.detach().double()
    dropped = (y == 0).double().mean().item()
    kept = y != 0
    ratio = y[kept] / x[kept] if kept.any() else torch.ones(1, dtype=torch.float64)
    if abs(dropped - (1 - p)) < 0.02 and abs(p - 0.5) > 0.1:
        return "keep_prob"
    if abs(dropped - p) > 0.02:
        return "fraction"
    if torch.allclose(ratio, torch.full_like(ratio, 1 / p), rtol=1e-4):
        return "one_over_p"
    if torch.allclose(ratio, torch.ones_like(ratio), rtol=1e-4):
        return "unscaled"
    if not torch.allclose(ratio, torch.full_like(ratio, 1 / (1 - p)), rtol=1e-4):
        return "scale"
    return "ok"


_DROPOUT_HINTS = {
    "shape": "返回值应是与 x 形状相同的张量（一维的 x 和形状 (N, C) 的 x 都要能处理）。",
    "keep_prob": "被置 0 的比例约为 1 − p：PyTorch 的 p 是“丢弃概率”，不是保留概率。",
    "fraction": "被置 0 的比例应约等于 p：用 torch.rand(x.shape) < p 选出要丢弃的单元。",
    "one_over_p": "保留下来的值被除以了 p（笔记的写法）：应除以保留概率 1 − p。",
    "unscaled": "保留下来的值没有放大：训练时要乘以 1/(1 − p)，推理时才能直接用完整网络。",
    "scale": "保留下来的值应等于 x / (1 − p)。",
    "same_mask": "两次调用丢弃了完全相同（或几乎相同）的单元：掩码每次都要重新随机生成（torch.rand），不能固定。",
    "rows": "在 (N, C) 的输入上，你的掩码整行（或整列）一起丢弃：dropout 对每个元素独立抽签。",
    "grad": "数值对了，但梯度传不回 x（或者不对）：输出应是 x 乘以掩码再除以 (1 − p)，全程用 torch 的运算。",
}


def check_inverted_dropout(fn: Any) -> Feedback:
    """Exercise: ``fn(x, p)`` is inverted dropout in training mode: drop with probability p, scale kept units by 1/(1-p)."""
    if fn is None:
        return not_answered()
    if not callable(fn):
        return Feedback(False, "请交一个函数 my_dropout(x, p)，而不是一个值。")
    gen = fresh_generator()
    x = (torch.rand(100_000, generator=gen) + 0.5).requires_grad_()       # never 0: a 0 means dropped
    x2d = (torch.rand(4000, 8, generator=gen) + 0.5).requires_grad_()
    unchanged = kept([x, x2d])
    outs, failed = run_answer(lambda: (fn(x, 0.2), fn(x, 0.2), fn(x, 0.7), fn(x2d, 0.3)), _DROPOUT,
                              "你的函数运行了 PyTorch 现成的 {what}：请用 torch.rand 自己生成掩码，再按公式缩放。",
                              "x 可以是一维的，也可以是 (N, C) 的。")
    if failed is not None:
        return failed
    if not unchanged():
        return INPUTS_CHANGED
    first, again, high, flat = outs
    for y, inp, p in ((first, x, 0.2), (high, x, 0.7), (flat, x2d, 0.3)):
        if (verdict := _dropout_verdict(inp, y, p)) != "ok":
            return Feedback(False, _DROPOUT_HINTS[verdict])
    if _dropout_verdict(x, again, 0.2) != "ok" or ((first.detach() == 0) != (again.detach() == 0)).double().mean() < 0.1:
        return Feedback(False, _DROPOUT_HINTS["same_mask"])
    dropped = flat.detach() == 0
    mixed_rows = (dropped.any(dim=1) & ~dropped.all(dim=1)).double().mean().item()
    if mixed_rows < 0.8 or bool((dropped.all(dim=0) | (~dropped).all(dim=0)).any()):
        return Feedback(False, _DROPOUT_HINTS["rows"])
    for y, inp, p in ((first, x, 0.2), (flat, x2d, 0.3)):
        mask = (y.detach() != 0).to(inp.dtype)
        if not grad_matches(y, [inp], inp * mask / (1 - p), [inp]):
            return Feedback(False, _DROPOUT_HINTS["grad"])
    return Feedback(True, "丢弃比例约为 p，保留的单元乘以 1/(1 − p)，期望不变；每次调用掩码都不同，逐元素独立，"
                          "梯度也只流过保留的单元：和 nn.Dropout 的训练模式一致。")


def _bn_reference(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, eps: float) -> torch.Tensor:
    return F.batch_norm(x, None, None, gamma, beta, training=True, eps=eps)


def check_batch_norm_train(fn: Any) -> Feedback:
    """Exercise: ``fn(x, gamma, beta, eps)`` is BatchNorm1d's training-mode output for x of shape (N, C)."""
    if fn is None:
        return not_answered()
    if not callable(fn):
        return Feedback(False, "请交一个函数 my_batch_norm(x, gamma, beta, eps)。")
    gen = fresh_generator()
    cases = []
    for n, c, eps in ((16, 5, 1e-5), (7, 3, 0.5)):
        x = (3 * torch.randn(n, c, generator=gen, dtype=torch.float64) + 2).requires_grad_()
        gamma = (torch.rand(c, generator=gen, dtype=torch.float64) + 0.5).requires_grad_()
        beta = torch.randn(c, generator=gen, dtype=torch.float64).requires_grad_()
        cases.append((x, gamma, beta, eps))
    unchanged = kept([t for case in cases for t in case[:3]])
    outs, failed = run_answer(lambda: [fn(*case) for case in cases], _NORMS,
                              "你的函数运行了 PyTorch 现成的 {what}：请用 x.mean(0) 和方差自己写出标准化和仿射两步。",
                              "x 的形状是 (N, C)，gamma、beta 的形状是 (C,)。")
    if failed is not None:
        return failed
    if not unchanged():
        return INPUTS_CHANGED
    for y, (x, gamma, beta, eps) in zip(outs, cases):
        if not isinstance(y, torch.Tensor) or y.shape != x.shape:
            return Feedback(False, "返回值应是与 x 形状相同 (N, C) 的张量。")
        expected = _bn_reference(x, gamma, beta, eps)
        xd, gd, bd = x.detach(), gamma.detach(), beta.detach()
        mean, var_u = xd.mean(0), xd.var(0, unbiased=True)
        slips = {"方差用错了：训练时标准化用的是有偏方差（除以 N，unbiased=False）；无偏方差只用于更新 running_var。":
                 gd * (xd - mean) / torch.sqrt(var_u + eps) + bd,
                 "这是笔记里的 y = γz + β：仿射要作用在标准化后的 ẑ 上。": gd * xd + bd,
                 "ε 应加在根号里面：ẑ = (x − μ)/√(σ² + ε)。": gd * (xd - mean) / (xd.var(0, unbiased=False).sqrt() + eps) + bd}
        if not close_to(y, expected.detach(), atol=1e-6):
            hint = next((h for h, wrong in slips.items() if close_to(y, wrong, atol=1e-6)), None)
            return Feedback(False, hint or "按列（每个特征）求均值 μ 和有偏方差 σ²，ẑ = (x − μ)/√(σ² + ε)，输出 γẑ + β。")
        if not grad_matches(y, [x, gamma, beta], expected, [x, gamma, beta]):
            return Feedback(False, "数值对了，但梯度传不回 x、γ、β（或者不对）：请全程用 torch 的运算，"
                                   "不要 detach，也不要转成 NumPy。")
    return Feedback(True, "和 F.batch_norm(training=True) 一致（值和对 x、γ、β 的梯度）：按特征用批均值和有偏方差标准化，再做 γẑ + β。")


def check_running_var(answer: Any) -> Feedback:
    """Exercise: ``running_var`` of a fresh ``BatchNorm1d(1, momentum=0.1)`` after one training batch [1, 2, 3, 6]."""
    if answer is None:
        return not_answered()
    answer = as_number(answer)
    if answer is None:
        return Feedback(False, _NUMBER)
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
    answer = as_number(answer)
    if answer is None:
        return Feedback(False, _NUMBER)
    if close_to(answer, 0.01, atol=1e-6, rtol=0):
        return Feedback(True, "c·Σw² 的梯度是 2c·w = 0.01·w，正是 SGD(weight_decay=0.01) 加到梯度上的 λw。")
    if close_to(answer, 0.005, atol=1e-6, rtol=0):
        return Feedback(False, "差了 2 倍：对 c·w² 求导得到 2c·w；weight_decay=λ 对应的惩罚是 (λ/2)·Σw²。")
    if close_to(answer, 0.0025, atol=1e-6, rtol=0):
        return Feedback(False, "方向反了：λ/2 = c，所以 λ = 2c，而不是 c/2。")
    return Feedback(False, "写出惩罚项 c·Σw² 的梯度，再和 weight_decay 加到梯度上的 λ·w 对比。")
