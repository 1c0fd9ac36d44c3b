"""Exercise checkers for 第9章 循环神经网络与词嵌入 (RNN and embeddings): each returns a :class:`~helpers.exercises.Feedback`."""
from __future__ import annotations

from typing import Any

import torch

from . import (INPUTS_CHANGED, Feedback, Forbid, as_int_tuple, as_number, close_to, fresh_generator, grad_matches, kept,
               not_answered, run_answer)

__all__ = ["check_rnn_shapes", "check_my_rnn", "check_embedding_grad"]


def check_rnn_shapes(answer: Any) -> Feedback:
    """Exercise: (output.shape, h_n.shape) of ``nn.RNN(4, 8, batch_first=True)`` on x of shape (3, 5, 4)."""
    if answer is None:
        return not_answered()
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        return Feedback(False, "请给出两个形状组成的元组：(output 的形状, h_n 的形状)，例如 ((1, 2, 3), (4, 5, 6))。")
    output, h_n = (as_int_tuple(a) for a in answer)
    if output is None or h_n is None:
        return Feedback(False, "每个形状都应是整数元组（或 torch.Size），不是字符串或浮点数。")
    if output == (3, 5, 8) and h_n == (1, 3, 8):
        return Feedback(True, "output 是每一步的 h_t：(batch, L, H)；h_n 只有最后一步，形状总是 (num_layers, batch, H)，"
                              "不受 batch_first 影响。")
    if output == (5, 3, 8):
        return Feedback(False, "batch_first=True 时 output 的第一维是批大小：(batch, L, H)。")
    if h_n in ((3, 1, 8), (3, 8)):
        return Feedback(False, "h_n 的第一维是层数 × 方向数（这里是 1），batch_first 不会改变 h_n 的布局。")
    if h_n == (1, 5, 8) or h_n == (1, 3, 5, 8):
        return Feedback(False, "h_n 只保存最后一个时间步的隐藏状态，没有时间维。")
    if 4 in output or 4 in h_n:
        return Feedback(False, "隐藏状态的维度是 hidden_size = 8，不是输入维度 4。")
    return Feedback(False, "output = 所有时间步的 h_t；h_n = 最后一步的 h_T。分别写出它们的 (批, 时间, 隐藏) 维度。")


def _rnn_cases() -> list[tuple[torch.Tensor, ...]]:
    g = fresh_generator()
    cases = []
    for length, n_in, hidden in ((4, 3, 5), (7, 1, 2), (1, 2, 3)):
        x = torch.randn(length, n_in, generator=g, dtype=torch.float64).requires_grad_()
        cases.append((x, *((0.5 * torch.randn(*shape, generator=g, dtype=torch.float64)).requires_grad_()
                           for shape in ((hidden, n_in), (hidden, hidden), (hidden,), (hidden,)))))
    return cases


# what my_rnn must not run: PyTorch's recurrent kernels however reached (nn.RNN, nn.RNNCell, torch._VF.rnn_tanh,
# rnn_tanh_cell, LSTM/GRU ...) and the course's own rnn_forward (always refused)
_RECURRENT = Forbid(ops=r"rnn_|lstm|gru")


def _reference(x, w_ih, w_hh, b_ih, b_hh) -> torch.Tensor:
    """nn.RNN's output for one sequence with these weights (differentiable in all of them)."""
    return torch.func.functional_call(torch.nn.RNN(x.shape[1], w_hh.shape[0]).double(),
                                      {"weight_ih_l0": w_ih, "weight_hh_l0": w_hh, "bias_ih_l0": b_ih,
                                       "bias_hh_l0": b_hh}, (x,))[0]


def check_my_rnn(fn: Any) -> Feedback:
    """Exercise: ``fn(x, W_ih, W_hh, b_ih, b_hh)`` for one sequence x (L, H_in) returns all hidden states (L, H), h_0 = 0."""
    if fn is None:
        return not_answered()
    if not callable(fn):
        return Feedback(False, "请交一个函数 my_rnn(x, W_ih, W_hh, b_ih, b_hh)。")
    cases = _rnn_cases()
    unchanged = kept([t for case in cases for t in case])
    results, failed = run_answer(lambda: [fn(*case) for case in cases], _RECURRENT,
                                 "你的函数运行了 PyTorch 现成的循环层 {what}：请用 torch.tanh 和矩阵乘法自己写循环。",
                                 "x 的形状是 (L, H_in)，W_ih 是 (H, H_in)。")
    if failed is not None:
        return failed
    if not unchanged():
        return INPUTS_CHANGED
    for case, got in zip(cases, results):
        x, w_ih, w_hh, b_ih, b_hh = (t.detach() for t in case)
        want = _reference(*case)
        if not isinstance(got, torch.Tensor) or tuple(got.shape) != tuple(want.shape):
            shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
            return Feedback(False, f"输出应是全部隐藏状态，形状 (L, H) = {tuple(want.shape)}，得到 {shape}。")
        if close_to(got[-1], want[-1].detach(), atol=1e-8) and not close_to(got, want.detach(), atol=1e-8):
            return Feedback(False, "最后一步对了，但前面的行不对：返回每一步的 h_t（按时间顺序堆叠）。")
        if close_to(got, torch.tanh(x @ w_ih.T + b_ih), atol=1e-8) and len(x) > 1:  # a typical slip: h_{t-1} left out
            return Feedback(False, "没有用到上一步的隐藏状态：h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)。")
        if not close_to(got, want.detach(), atol=1e-8):
            return Feedback(False, "数值不对。检查：h_0 = 0；两个偏置都要加；是 x_t @ W_ih.T（W_ih 的形状是 (H, H_in)）；"
                                   "激活是 tanh。")
        if not grad_matches(got, case, want, case):
            return Feedback(False, "数值对了，但梯度传不回输入和权重（或者不对）：请全程用 torch 的运算，"
                                   "不要 detach、不要原地改写同一个张量，也不要转成 NumPy。")
    return Feedback(True, "和 nn.RNN 一致（值和对全部权重的梯度）：同一组 W_ih、W_hh、b_ih、b_hh 在每个时间步重复使用。")


def check_embedding_grad(answer: Any) -> Feedback:
    """Exercise: the entries of row 2 of ``nn.Embedding(6, 3).weight.grad`` after ``emb(tensor([2, 5, 2, 2])).sum().backward()``."""
    if answer is None:
        return not_answered()
    row = isinstance(answer, (list, tuple, torch.Tensor)) and len(answer) == 3 if not isinstance(
        answer, torch.Tensor) or answer.dim() == 1 else False
    if as_number(answer) is None and not (row and all(as_number(v) is not None for v in answer)):
        return Feedback(False, "请给出一个数（该行每个元素的值都一样），或这一行的 3 个数。")
    if isinstance(answer, torch.Tensor):
        answer = answer.detach()
    if close_to(answer, 3.0) or close_to(answer, [3.0, 3.0, 3.0]):
        return Feedback(True, "id 2 出现了 3 次，每次贡献梯度 1，梯度相加得 3（scale_grad_by_freq=False 的默认行为）。")
    if close_to(answer, 1.0) or close_to(answer, [1.0, 1.0, 1.0]):
        return Feedback(False, "这是 scale_grad_by_freq=True 的结果（除以出现次数）。默认是 False：重复出现的 id 梯度相加。")
    if close_to(answer, 0.0) or close_to(answer, [0.0, 0.0, 0.0]):
        return Feedback(False, "只有 padding_idx 那一行的梯度才恒为 0；这里没有设置 padding_idx。")
    return Feedback(False, "输出对 weight[2] 的导数：每出现一次 id 2，sum() 就对这一行的每个元素贡献 1。")
