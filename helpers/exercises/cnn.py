"""Exercise checkers for 第8章 卷积神经网络 (CNN): each returns a :class:`~helpers.exercises.Feedback`."""
from __future__ import annotations

from typing import Any

import torch

from . import (INPUTS_CHANGED, Feedback, Forbid, as_int_tuple, as_integer, close_to, fresh_generator, grad_matches, kept,
               not_answered, run_answer)

# Exercise 1: the output shape of nn.Conv2d(3, 16, kernel_size=5, stride=2, padding=1) on a (4, 3, 32, 32) batch
_SHAPE_SETTING = {"batch": 4, "in_channels": 3, "size": 32, "out_channels": 16, "kernel": 5, "stride": 2, "padding": 1}


def check_conv_output_shape(answer: Any) -> Feedback:
    """Exercise: the shape of ``nn.Conv2d(3, 16, 5, stride=2, padding=1)(torch.zeros(4, 3, 32, 32))``, worked out by hand."""
    if answer is None:
        return not_answered()
    s = _SHAPE_SETTING
    shape = as_int_tuple(answer)
    if shape is None:
        return Feedback(False, f"请给出一个由整数组成的元组，例如 (4, 16, 10, 10)，而不是 {type(answer).__name__}。")
    side = (s["size"] + 2 * s["padding"] - s["kernel"]) // s["stride"] + 1
    expected = (s["batch"], s["out_channels"], side, side)
    if shape == expected:
        return Feedback(True, f"⌊(32 + 2·1 − 5) / 2⌋ + 1 = ⌊14.5⌋ + 1 = {side}；通道数等于卷积核个数 16，批大小不变。")
    if len(shape) == 3:
        return Feedback(False, "输入带着批维度 N = 4，输出也是四维 (N, C_out, H, W)。")
    if len(shape) == 4 and shape[1] == s["in_channels"]:
        return Feedback(False, "输出的通道数不是输入的 3：每个卷积核产生一张特征图，out_channels = 16。")
    if len(shape) == 4 and shape[2] in (side + 1, 16):
        return Feedback(False, "高宽算多了一格：(W − F + 2P) / S = 14.5 要向下取整（floor）再加 1。")
    if len(shape) == 4 and shape[2] == (s["size"] - 2 * s["padding"] - s["kernel"]) // s["stride"] + 1:
        return Feedback(False, "填充是加在两边的：分子里是 +2P，不是 −2P（笔记口诀的符号写反了）。")
    return Feedback(False, "按 N = ⌊(W + 2P − F) / S⌋ + 1 分别算高和宽；形状是 (批大小, 卷积核个数, 高, 宽)。")


def _conv_cases() -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = fresh_generator()
    return [(torch.randn(c, h, w, generator=g, dtype=torch.float64).requires_grad_(),
             torch.randn(o, c, k, k, generator=g, dtype=torch.float64).requires_grad_())
            for c, h, w, o, k in ((1, 5, 5, 1, 3), (3, 6, 7, 2, 3), (2, 5, 4, 4, 2), (3, 4, 4, 1, 1))]


# what my_conv2d must not run: any convolution operator of PyTorch, however reached (F.conv2d, torch.conv2d,
# torch.convolution, torch.ops.aten.*, nn.Conv2d ...), SciPy's, and the course's own (always refused).
# unfold (im2col) + a matrix product or einsum is an honest answer and passes.
_CONVOLUTION = Forbid(ops=r"conv(?!ert)", modules=("scipy",))


def check_my_conv2d(fn: Any) -> Feedback:
    """Exercise: ``fn(x, w)`` for x (C, H, W), w (C_out, C, k, k) returns the (C_out, H-k+1, W-k+1) convolution, no padding, stride 1."""
    if fn is None:
        return not_answered()
    if not callable(fn):
        return Feedback(False, "请交一个函数 my_conv2d(x, w)。")
    import torch.nn.functional as F

    cases = _conv_cases()
    unchanged = kept([t for case in cases for t in case])
    results, failed = run_answer(lambda: [fn(x, w) for x, w in cases], _CONVOLUTION,
                                 "你的函数运行了现成的卷积 {what}：请用循环、切片或 unfold 加乘法求和自己写。",
                                 "先用一个 1 通道 5×5 的输入试一试。")
    if failed is not None:
        return failed
    if not unchanged():
        return INPUTS_CHANGED
    for (x, w), got in zip(cases, results):
        want = F.conv2d(x.unsqueeze(0), w)[0]
        if not isinstance(got, torch.Tensor) or tuple(got.shape) != tuple(want.shape):
            shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
            return Feedback(False, f"x {tuple(x.shape)}、w {tuple(w.shape)} 时输出应为 {tuple(want.shape)}，得到 {shape}："
                                   "每个卷积核给出一张 (H − k + 1) × (W − k + 1) 的特征图。")
        flipped = F.conv2d(x.detach().unsqueeze(0), w.detach().flip(-1, -2))[0]
        if w.shape[-1] > 1 and close_to(got, flipped, atol=1e-8):
            return Feedback(False, "你把卷积核翻转了（数学上的卷积）。PyTorch 的 Conv2d 做的是互相关：不翻转。")
        if not close_to(got, want.detach(), atol=1e-8):
            return Feedback(False, "数值不对：输出 [o, i, j] = Σ_c Σ_u Σ_v w[o, c, u, v] · x[c, i+u, j+v]，"
                                   "别忘了对所有输入通道求和。")
        if not grad_matches(got, [x, w], want, [x, w]):
            return Feedback(False, "数值对了，但梯度传不回 x 和 w（或者不对）：请全程用 torch 的运算，不要转成 NumPy 或 Python 数。")
    return Feedback(True, "和 F.conv2d 一致（值和对 x、w 的梯度）：每个位置把窗口和卷积核逐元素相乘，再对通道和窗口一起求和。")


# Exercise 3: the parameter count of this model
PARAM_MODEL_TEXT = ("nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 16, 3, bias=False), nn.ReLU(), "
                    "nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))")


def check_param_count(answer: Any) -> Feedback:
    """Exercise: the number of parameters of ``PARAM_MODEL_TEXT``, counted by hand."""
    if answer is None:
        return not_answered()
    answer = as_integer(answer)
    if answer is None:
        return Feedback(False, "请给出一个整数（int、NumPy 整数或 0 维张量都行），不是列表、字符串或小数。")
    conv1, conv2, linear = 8 * 3 * 3 * 3 + 8, 16 * 8 * 3 * 3, 16 * 10 + 10
    expected = conv1 + conv2 + linear
    if answer == expected:
        return Feedback(True, f"{conv1} + {conv2} + {linear} = {expected}；ReLU 和池化层没有参数，也与图像大小无关。")
    if answer == expected + 16:
        return Feedback(False, "第二个卷积层写了 bias=False：它没有偏置。")
    if answer in (expected - 8, expected - 10):
        return Feedback(False, "少算了偏置：第一个卷积层和全连接层都有偏置，每个输出通道（神经元）一个。")
    if answer == 8 * 3 * 3 + 8 + 16 * 3 * 3 + linear:
        return Feedback(False, "卷积核的通道数等于输入通道数：第一个卷积核的形状是 (3, 3, 3)，第二个是 (8, 3, 3)。")
    return Feedback(False, "卷积层：C_out · C_in · k · k（+ C_out 个偏置）；全连接层：in · out + out；其余层没有参数。")


__all__ = ["check_conv_output_shape", "check_my_conv2d", "check_param_count", "PARAM_MODEL_TEXT"]
