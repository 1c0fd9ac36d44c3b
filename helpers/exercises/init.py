"""Exercise checkers for 第3章 参数初始化 (initialization): each returns a :class:`~helpers.exercises.Feedback`."""
from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from . import Feedback, Forbid, as_int_tuple, as_number, close_to, not_answered, run_answer


def check_conv_fans(answer: Any) -> Feedback:
    """Exercise: ``(fan_in, fan_out)`` of ``nn.Conv2d(16, 32, kernel_size=(3, 5))``."""
    if answer is None:
        return not_answered()
    fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(nn.Conv2d(16, 32, kernel_size=(3, 5)).weight)
    answer = as_int_tuple(answer, 2)
    if answer is None:
        return Feedback(False, "请交一个由两个整数组成的二元组 (fan_in, fan_out)。")
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
    expected = nn.init.calculate_gain("leaky_relu", 0.2) / math.sqrt(128)
    answer = as_number(answer)
    if answer is None:
        return Feedback(False, "请给出一个数（int、float 或 0 维张量），不是列表或字符串。")
    if close_to(answer, expected, atol=1e-4, rtol=1e-3):
        return Feedback(True, f"E[a²] = (1 + 0.2²)/2 · Var(z)，所以 Var(w) = 2 / ((1 + 0.04)·128)，std ≈ {expected:.5f}。")
    if close_to(answer, math.sqrt(2 / 128), atol=1e-4, rtol=1e-3):
        return Feedback(False, "这是 ReLU（斜率 0）的结果：负半轴还保留了 0.2·z，二阶矩不再正好减半。")
    return Feedback(False, "先算 LeakyReLU 输出的二阶矩 E[a²] 与 Var(z) 的比值，再令 fan_in·Var(w)·这个比值 = 1。")


def _uniform_problem(w: torch.Tensor, bound: float) -> str | None:
    """Why ``w`` does not look like independent draws from U(-bound, bound), or None."""
    flat = w.detach().double().flatten()
    if flat.abs().max().item() > bound * (1 + 1e-6):
        return "too_wide"
    if flat.abs().max().item() < 0.98 * bound or not close_to(flat.std().item(), bound / math.sqrt(3), rtol=0.03, atol=0):
        return "spread"
    ranked = flat.sort().values
    gaps = ranked.diff()
    if gaps.std().item() < 0.1 * gaps.mean().item():           # evenly spaced values: a grid, not random draws
        return "grid"
    uniform = (ranked + bound) / (2 * bound)                    # Kolmogorov-Smirnov distance to U(0, 1)
    n = len(ranked)
    ks = (torch.arange(1, n + 1, dtype=torch.float64) / n - uniform).abs().max().item()
    if ks > 2.3 / math.sqrt(n):                                 # a false alarm about once in 20,000 checks
        return "shape"
    neighbours = torch.corrcoef(torch.stack([flat[:-1], flat[1:]]))[0, 1].abs().item()
    if neighbours > 0.1:                                        # sorted or patterned, not independent
        return "grid"
    return None


def check_tanh_init(fn: Any) -> Feedback:
    """Exercise: ``fn(layer)`` fills an nn.Linear with xavier_uniform_ (tanh gain) and zero bias, at random."""
    if fn is None:
        return not_answered()
    if not callable(fn):
        return Feedback(False, "请交一个函数 init_tanh_layer(layer)，它原地修改 layer 的参数。")

    layers = [nn.Linear(300, 100), nn.Linear(300, 100)]
    bound = nn.init.calculate_gain("tanh") * math.sqrt(6 / (300 + 100))

    def run() -> None:
        with torch.no_grad():
            for layer in layers:
                fn(layer)

    _, failed = run_answer(run, Forbid(), "", "用 nn.init.xavier_uniform_(layer.weight, gain=...) 原地初始化。")
    if failed is not None:
        return failed
    hint = "用 nn.init.xavier_uniform_(layer.weight, gain=nn.init.calculate_gain('tanh'))，再用 nn.init.zeros_(layer.bias)。"
    first, second = layers
    if not all(bool((layer.bias == 0).all()) for layer in layers):
        return Feedback(False, "偏置应全部置 0（nn.init.zeros_(layer.bias)）。")
    problems = {_uniform_problem(layer.weight, bound) for layer in layers} - {None}
    if problems:
        return Feedback(False, {
            "too_wide": f"有权重超出了 ±{bound:.4f}：Xavier 均匀分布的边界是 gain·√(6/(fan_in + fan_out))，gain = 5/3。",
            "spread": "权重的范围或标准差不对：应是 U(−a, a)，a = gain·√(6/(fan_in + fan_out))，gain = 5/3。" + hint,
            "grid": "权重看起来是排好的或等间距的数，不是随机抽取的：初始化要随机，才能打破对称性。" + hint,
            "shape": "权重不像均匀分布的随机数（例如是正态分布）：题目要的是 Xavier **均匀**初始化。" + hint,
        }[sorted(problems)[0]])
    if torch.equal(first.weight, second.weight):
        return Feedback(False, "两个层得到了完全相同的权重：初始化应是随机的，每次调用都不同（不要在函数里固定种子）。")
    return Feedback(True, f"权重是 U(±{bound:.4f}) 上独立的随机数（gain = 5/3），偏置全为 0。")
