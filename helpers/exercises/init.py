"""Exercise checkers for 第3章 参数初始化 (initialization): each returns a :class:`~helpers.exercises.Feedback`."""
from __future__ import annotations

from typing import Any

import torch

from . import Feedback, close_to, not_answered, run_check


def check_conv_fans(answer: Any) -> Feedback:
    """Exercise: ``(fan_in, fan_out)`` of ``nn.Conv2d(16, 32, kernel_size=(3, 5))``."""
    if answer is None:
        return not_answered()
    from torch import nn

    fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(nn.Conv2d(16, 32, kernel_size=(3, 5)).weight)
    if close_to(answer, [fan_in, fan_out], atol=0, rtol=0):
        return Feedback(True, f"fan_in = 16·3·5 = {fan_in}，fan_out = 32·3·5 = {fan_out}，与 PyTorch 的计算一致。")
    if close_to(answer, [16, 32], atol=0, rtol=0) or close_to(answer, [fan_out, fan_in], atol=0, rtol=0):
        return Feedback(False, "卷积层的 fan 要乘上卷积核面积 kernel_h·kernel_w，而且顺序是 (fan_in, fan_out)。")
    return Feedback(False, "fan_in = 输入通道数 × 卷积核高 × 卷积核宽，fan_out = 输出通道数 × 卷积核高 × 卷积核宽；"
                           "请交一个二元组 (fan_in, fan_out)。")


def check_leaky_kaiming_std(answer: Any) -> Feedback:
    """Exercise: the std kaiming_normal_ uses for LeakyReLU(negative_slope=0.2) and fan_in = 128."""
    if answer is None:
        return not_answered()
    import math

    from torch import nn

    expected = nn.init.calculate_gain("leaky_relu", 0.2) / math.sqrt(128)
    if close_to(answer, expected, atol=1e-4, rtol=1e-3):
        return Feedback(True, f"E[a²] = (1 + 0.2²)/2 · Var(z)，所以 Var(w) = 2 / ((1 + 0.04)·128)，std ≈ {expected:.5f}。")
    if close_to(answer, math.sqrt(2 / 128), atol=1e-4, rtol=1e-3):
        return Feedback(False, "这是 ReLU（斜率 0）的结果：负半轴还保留了 0.2·z，二阶矩不再正好减半。")
    return Feedback(False, "先算 LeakyReLU 输出的二阶矩 E[a²] 与 Var(z) 的比值，再令 fan_in·Var(w)·这个比值 = 1。")


def check_tanh_init(fn: Any) -> Feedback:
    """Exercise: ``fn(layer)`` fills an nn.Linear with xavier_uniform_ (tanh gain) and zero bias."""
    if fn is None:
        return not_answered()
    if not callable(fn):
        return Feedback(False, "请交一个函数 init_tanh_layer(layer)，它原地修改 layer 的参数。")
    import math

    from torch import nn

    layer = nn.Linear(300, 100)
    bound = nn.init.calculate_gain("tanh") * math.sqrt(6 / (300 + 100))

    def test() -> bool:
        with torch.no_grad():
            fn(layer)
        w = layer.weight.detach()
        return (bool((layer.bias == 0).all()) and w.abs().max().item() <= bound * (1 + 1e-6)
                and w.abs().max().item() >= 0.98 * bound and close_to(w.std().item(), bound / math.sqrt(3), rtol=0.03))

    return run_check(test, f"权重是 U(±{bound:.4f})（gain = 5/3），偏置全为 0。",
                     "用 nn.init.xavier_uniform_(layer.weight, gain=nn.init.calculate_gain('tanh'))，"
                     "再用 nn.init.zeros_(layer.bias)。")
