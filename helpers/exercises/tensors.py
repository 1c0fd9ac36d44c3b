"""Exercise checkers for 第1章 张量 (tensors): each returns a :class:`~helpers.exercises.Feedback`."""
from __future__ import annotations

from typing import Any

import torch

from . import Feedback, Forbid, as_int_tuple, as_number, close_to, fresh_generator, not_answered, run_answer


def check_broadcast_result(answer: Any) -> Feedback:
    """Exercise: the shape of ``torch.ones(2, 1, 3) + torch.ones(4, 1)``, as a tuple."""
    if answer is None:
        return not_answered()
    expected = tuple(torch.broadcast_shapes((2, 1, 3), (4, 1)))
    if isinstance(answer, (str, bytes)):  # "243" would iterate as "2", "4", "3"
        return Feedback(False, "请交一个元组，例如 (5, 6, 7)，而不是字符串：形状是一组整数。")
    got = as_int_tuple(answer)
    if got is None:
        return Feedback(False, "请交一个由整数组成的元组，例如 (5, 6, 7)。")
    if got == expected:
        return Feedback(True, f"右对齐后 (2, 1, 3) 与 (1, 4, 1) 逐维比较，得到 {expected}。")
    if len(got) != len(expected):
        return Feedback(False, "结果的维数等于两个形状中较长的那个：短的形状在左边补 1。")
    return Feedback(False, "从右往左对齐：(2, 1, 3) 对 (_, 4, 1)。每一维要么相等，要么有一个是 1，结果取不是 1 的那个。")


def check_center_rows(fn: Any) -> Feedback:
    """Exercise: ``fn(x)`` returns ``x`` with each row's mean subtracted from that row (``x`` of shape (n, m))."""
    if fn is None:
        return not_answered()
    if not callable(fn):
        return Feedback(False, "请交一个函数 center_rows(x)，它返回新的张量。")
    gen = fresh_generator()
    xs = [torch.randn(3, 4, generator=gen), torch.randn(5, 2, generator=gen), torch.randn(4, 4, generator=gen)]
    hint = ("按行求均值用 dim=1，并加 keepdim=True 让结果形状是 (n, 1)。小心方阵："
            "(4, 4) 减去形状 (4,) 的均值不会报错，却把第 j 行的均值减在了第 j 列上。")
    outs, failed = run_answer(lambda: [fn(x.clone()) for x in xs], Forbid(), "", hint)
    if failed is not None:
        return failed
    if all(isinstance(out, torch.Tensor) and out.shape == x.shape and torch.allclose(out, x - x.mean(dim=1, keepdim=True), atol=1e-5)
           for out, x in zip(outs, xs)):
        return Feedback(True, "x.mean(dim=1, keepdim=True) 的形状是 (n, 1)，广播到 (n, m) 后每行减去自己的均值。")
    return Feedback(False, hint)


def check_grad_value(answer: Any) -> Feedback:
    r"""Exercise: $f'(1)$ for $f(x) = x^2 e^x$, computed with autograd (a number or a 0-d tensor)."""
    if answer is None:
        return not_answered()
    x = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    (x ** 2 * torch.exp(x)).backward()
    expected = x.grad.item()
    answer = as_number(answer)
    if answer is None:
        return Feedback(False, "请给出一个数（float 或 0 维张量），不是列表或字符串。")
    if close_to(answer, expected, atol=1e-4):
        return Feedback(True, f"f'(x) = (2x + x²)eˣ，在 x = 1 处等于 3e ≈ {expected:.4f}。")
    if close_to(answer, torch.e, atol=1e-4):
        return Feedback(False, "这是函数值 f(1) = e，不是导数：先调用 y.backward()，再读 x.grad。")
    return Feedback(False, "用 x = torch.tensor(1.0, requires_grad=True) 建叶子张量，算 y = x**2 * torch.exp(x)，"
                           "调用 y.backward() 后答案在 x.grad 里。")
