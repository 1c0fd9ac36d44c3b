"""Exercise checkers for 第6章 学习率衰减 (schedules): each returns a :class:`~helpers.exercises.Feedback`."""
from __future__ import annotations

from typing import Any

import torch

from . import Feedback, Forbid, as_integer, as_number, close_to, not_answered, run_answer

LS = torch.optim.lr_scheduler
_WARMUP, _T_MAX, _LR, _START = 10, 90, 0.1, 0.1
PLATEAU_LOSSES = [1.0, 0.99997, 0.99994, 0.99991, 0.9998, 0.9997, 0.9996]

# what warmup_cosine must not run: anything of torch.optim (its schedulers however reached) and the course's
# formulas in helpers.schedules (always refused)
_SCHEDULERS = Forbid(modules=("torch.optim",))


def _expected_warmup_cosine() -> list[float]:
    w = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([w], lr=_LR)
    sched = LS.SequentialLR(opt, [LS.LinearLR(opt, start_factor=_START, total_iters=_WARMUP),
                                  LS.CosineAnnealingLR(opt, T_max=_T_MAX)], milestones=[_WARMUP])
    out = []
    for _ in range(_WARMUP + _T_MAX):
        out.append(opt.param_groups[0]["lr"])
        w.grad = torch.zeros_like(w)
        opt.step()
        sched.step()
    return out


def check_warmup_cosine(fn: Any) -> Feedback:
    """Exercise: ``fn(t)`` is the lr at step t of 10 linear warm-up steps (from 0.1 x lr) and then a cosine over 90 steps."""
    if fn is None:
        return not_answered()
    if not callable(fn) or isinstance(fn, type):
        return Feedback(False, "请交一个函数 warmup_cosine(t)，返回第 t 步的学习率（一个数）。")
    got, failed = run_answer(lambda: [as_number(fn(t)) for t in range(_WARMUP + _T_MAX)], _SCHEDULERS,
                             "你的代码运行了 {what}：不能借用 PyTorch 的调度器，用 t < 10 的直线和之后的余弦公式自己写。",
                             "函数应对 t = 0..99 返回一个数。")
    if failed is not None:
        return failed
    if None in got:
        return Feedback(False, "warmup_cosine(t) 应返回一个数（float 或 0 维张量），不是列表或字符串。")
    expected = _expected_warmup_cosine()
    if close_to(got, expected, atol=1e-9, rtol=1e-6):
        return Feedback(True, "100 步都和 SequentialLR([LinearLR, CosineAnnealingLR], milestones=[10]) 一致。")
    if close_to(got[_WARMUP:], expected[_WARMUP:], atol=1e-9, rtol=1e-6):
        return Feedback(False, "余弦段对了；预热段应从 0.1×lr 线性升到 lr：lr·(0.1 + 0.9·t/10)，t = 10 时正好是 lr。")
    if close_to(got[:_WARMUP], expected[:_WARMUP], atol=1e-9, rtol=1e-6):
        return Feedback(False, "预热段对了；余弦段要从 t − 10 开始算：0.5·lr·(1 + cos(π(t − 10)/90))。")
    return Feedback(False, "t < 10：lr·(0.1 + 0.9·t/10)；t ≥ 10：0.5·lr·(1 + cos(π(t − 10)/90))，lr = 0.1。")


def check_plateau_first_cut(answer: Any) -> Feedback:
    """Exercise: at which call (1-based) does ReduceLROnPlateau(patience=2) first cut the lr on ``PLATEAU_LOSSES``?"""
    if answer is None:
        return not_answered()
    answer = as_integer(answer)
    if answer is None:
        return Feedback(False, "请给一个整数：第几次调用 scheduler.step(loss) 时学习率第一次下降（从 1 开始数）。")
    if answer == 4:
        return Feedback(True, "阈值默认是相对的：新值必须小于 best·(1 − 1e-4) = 0.9999 才算改进。0.99997、0.99994、0.99991 都不算，"
                              "第 2、3、4 次调用是连续 3 个坏 epoch，3 > patience = 2，于是第 4 次调用时下降（见本章的笔记勘误）。")
    if answer == 3:
        return Feedback(False, "差一次：坏 epoch 数要大于 patience 才下降，patience = 2 时要连续 3 个坏 epoch。")
    if answer in (6, 7) or answer > len(PLATEAU_LOSSES):
        return Feedback(False, "看一下 threshold：默认 threshold_mode='rel'，新值要小于 best·(1 − 1e-4) 才算改进，"
                               "0.99991 相对 1.0 只改进了 9e-5。")
    return Feedback(False, "逐次调用记下 best 和坏 epoch 数：改进的条件是 loss < best·(1 − 1e-4)；坏 epoch 数 > patience 时下降。")


def check_get_last_lr(answer: Any) -> Feedback:
    """Exercise: in the notes' StepLR(step_size=30, gamma=0.1) loop with lr=0.1: (lr used by step 29, value printed at step 29)."""
    if answer is None:
        return not_answered()
    pair = [as_number(a) for a in answer] if isinstance(answer, (tuple, list)) and len(answer) == 2 else None
    if pair is None or None in pair:
        return Feedback(False, "请给一个由两个数组成的二元组 (第 29 步实际使用的学习率, 第 29 步打印出来的学习率)。")
    answer = pair
    if close_to(list(answer), [0.1, 0.01], atol=1e-9, rtol=0):
        return Feedback(True, "第 29 步（从 0 数）用的还是 0.1；打印在 scheduler.step() 之后，get_last_lr() 已经是下一步的 0.01（见本章的笔记勘误）。")
    if close_to(list(answer), [0.1, 0.1], atol=1e-9, rtol=0) or close_to(list(answer), [0.01, 0.01], atol=1e-9, rtol=0):
        return Feedback(False, "两个数不一样：打印发生在 scheduler.step() 之后。调用了 30 次 step() 后 get_last_lr() 是多少？")
    if close_to(list(answer), [0.01, 0.1], atol=1e-9, rtol=0):
        return Feedback(False, "顺序反了：第一个是 optimizer.step() 实际用的，第二个是打印的。")
    return Feedback(False, "第 k 步（从 0 数）的 optimizer.step() 用的是调用了 k 次 scheduler.step() 之后的学习率 0.1·0.1^⌊k/30⌋。")

