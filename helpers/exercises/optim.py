"""Exercise checkers for 第5章 优化器 (optimizers): each returns a :class:`~helpers.exercises.Feedback`."""
from __future__ import annotations

import math
from typing import Any

import torch

from . import Feedback, Forbid, as_number, close_to, fresh_generator, not_answered, run_answer

_GRADS = [1.0, 1.0, 1.0, 1.0, 1.0, -0.5, 2.0, 0.3]

# what the learner's update code must not run: torch.optim in any form (its classes, torch.optim._functional,
# the schedulers), the multi-tensor and fused optimizer kernels (torch._foreach_*, _fused_adam ...) and the
# course's own optimizers (always refused)
_OPTIMIZERS = Forbid(ops=r"^(foreach|fused)_", modules=("torch.optim",))
_NO_OPTIM = "你的代码运行了 {what}：这道题要你照公式自己写更新，不能借用 torch.optim（包括它的函数式写法）或 _foreach/_fused 算子。"


def _torch_path(make, grads: list[float]) -> list[float]:
    """Positions w_1..w_T of one parameter starting at 0 when the gradients are ``grads`` (set by hand)."""
    w = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = make([w])
    path = []
    for g in grads:
        w.grad = torch.tensor([g], dtype=torch.float64)
        opt.step()
        path.append(w.item())
    return path


def _notes_cases() -> list[tuple[list[float], float, float]]:
    gen = fresh_generator()
    random_grads = (2 * torch.randn(12, generator=gen, dtype=torch.float64)).tolist()
    return [(_GRADS, 0.1, 0.9), (random_grads, 0.05, 0.5), ([2.0, -1.0, 0.5, 0.5], 0.3, 0.7)]


def check_notes_momentum(fn: Any) -> Feedback:
    """Exercise: ``fn(grads, lr, beta)`` returns the positions w_1..w_T of the notes' EMA momentum from w_0 = 0."""
    if fn is None:
        return not_answered()
    if not callable(fn):
        return Feedback(False, "请交一个函数 notes_momentum(grads, lr, beta)，按笔记的公式自己写循环。")
    cases = _notes_cases()
    got, failed = run_answer(lambda: [[as_number(v) for v in fn(list(g), lr, b)] for g, lr, b in cases], _OPTIMIZERS,
                             _NO_OPTIM, "函数应返回每一步之后的 w（一个由数组成的列表）。")
    if failed is not None:
        return failed
    expected = [_torch_path(lambda p, lr=lr, b=b: torch.optim.SGD(p, lr=lr * (1 - b), momentum=b), g)
                for g, lr, b in cases]
    pytorch_form = [_torch_path(lambda p, lr=lr, b=b: torch.optim.SGD(p, lr=lr, momentum=b), g) for g, lr, b in cases]
    if any(None in path for path in got):
        return Feedback(False, "列表里的每一项都应是一个数（每一步之后的 w）。")
    if all(close_to(a, e, atol=1e-7, rtol=1e-5) for a, e in zip(got, expected)):
        return Feedback(True, "和 torch.optim.SGD(lr=η(1−β), momentum=β) 的轨迹完全相同（见本章的笔记勘误）。")
    if all(close_to(a, e, atol=1e-7, rtol=1e-5) for a, e in zip(got, pytorch_form)):
        return Feedback(False, "这是 PyTorch 的写法 v = βv + g：笔记的 EMA 在 g 前面乘 (1−β)，第一步只走 η(1−β)g₁。")
    return Feedback(False, "从 w = 0、V = 0 出发，每一步先 V = β·V + (1−β)·g，再 w = w − η·V，把每步后的 w 存进列表。")


def _adam_cases() -> list[tuple[list[float], float, float, float, float]]:
    """(grads, lr, beta1, beta2, eps): the defaults, other betas (hard-coded betas fail), and gradients so small
    that v-hat is far below eps (eps inside the square root, or left out, fails)."""
    gen = fresh_generator()
    return [(_GRADS, 0.1, 0.9, 0.999, 1e-8),
            ((2 * torch.randn(10, generator=gen, dtype=torch.float64)).tolist(), 0.05, 0.5, 0.8, 1e-8),
            ((1e-3 * torch.randn(10, generator=gen, dtype=torch.float64)).tolist(), 0.01, 0.8, 0.99, 1e-4)]


def _adam_by_hand(grads: list[float], lr: float, b1: float, b2: float, eps: float, *, correct: bool = True,
                  eps_inside: bool = False) -> list[float]:
    """A slip's path: without bias correction, or with eps inside the square root."""
    w, m, v, path = 0.0, 0.0, 0.0, []
    for t, g in enumerate(grads, start=1):
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
        m_hat, v_hat = (m / (1 - b1 ** t), v / (1 - b2 ** t)) if correct else (m, v)
        w -= lr * m_hat / (math.sqrt(v_hat + eps) if eps_inside else math.sqrt(v_hat) + eps)
        path.append(w)
    return path


def check_adam_step(fn: Any) -> Feedback:
    """Exercise: ``fn(w, g, m, v, t, lr, beta1, beta2, eps)`` returns ``(w, m, v)`` after Adam step ``t``."""
    if fn is None:
        return not_answered()
    if not callable(fn):
        return Feedback(False, "请交一个函数 adam_step(w, g, m, v, t, lr, beta1, beta2, eps)，返回 (w, m, v)。")
    cases = _adam_cases()

    def run() -> list[list[float]]:
        paths = []
        for grads, lr, b1, b2, eps in cases:
            w, m, v, path = 0.0, 0.0, 0.0, []
            for t, g in enumerate(grads, start=1):
                w, m, v = (as_number(x) for x in fn(w, g, m, v, t, lr, b1, b2, eps))
                path.append(w)
            paths.append(path)
        return paths

    got, failed = run_answer(run, _OPTIMIZERS, _NO_OPTIM, "函数应返回三个数 (w, m, v)。")
    if failed is not None:
        return failed
    if any(None in path for path in got):
        return Feedback(False, "函数应返回三个数 (w, m, v)（float 或 0 维张量）。")
    expected = [_torch_path(lambda p, lr=lr, b1=b1, b2=b2, eps=eps: torch.optim.Adam(p, lr=lr, betas=(b1, b2), eps=eps),
                            grads) for grads, lr, b1, b2, eps in cases]
    if all(close_to(a, e, atol=1e-7, rtol=1e-5) for a, e in zip(got, expected)):
        return Feedback(True, "三组设置都和 torch.optim.Adam 一致（包括非默认的 β 和很小的梯度）；第一步恰好是 −lr·sign(g)。")
    if all(close_to(a, _adam_by_hand(*c, correct=False), atol=1e-7, rtol=1e-5) for a, c in zip(got, cases)):
        return Feedback(False, "少了偏置修正：更新前要用 m̂ = m/(1−β₁ᵗ)、v̂ = v/(1−β₂ᵗ)（t 从 1 开始）。")
    if all(close_to(a, _adam_by_hand(*c, eps_inside=True), atol=1e-7, rtol=1e-5) for a, c in zip(got, cases)):
        return Feedback(False, "eps 放错了位置：PyTorch 是 √v̂ + eps（加在根号外），不是 √(v̂ + eps)。梯度很小时两者差很多。")
    if close_to(got[0], expected[0], atol=1e-7, rtol=1e-5):
        return Feedback(False, "默认设置下对了，但换了 β 或 eps 就不对：函数里要用传进来的 beta1、beta2、eps，不能写死 0.9、0.999、1e-8。")
    return Feedback(False, "检查四步：m = β₁m + (1−β₁)g；v = β₂v + (1−β₂)g²；m̂、v̂ 除以 1−βᵗ；"
                           "w = w − lr·m̂/(√v̂ + eps)。返回的 m、v 是未修正的 EMA。")


def check_rmsprop_first_step(answer: Any) -> Feedback:
    """Exercise: |w_1 - w_0| of ``RMSprop(lr=0.01)`` with the default alpha=0.99 (answer: 0.1, whatever g is)."""
    if answer is None:
        return not_answered()
    answer = as_number(answer)
    if answer is None:
        return Feedback(False, "请给一个数（int、float 或 0 维张量），不是列表或字符串。")
    if close_to(answer, 0.01 / math.sqrt(1 - 0.99), atol=1e-4, rtol=0):
        return Feedback(True, "V₁ = (1−α)g²，所以第一步是 η·|g|/√((1−α)g²) = η/√(1−α) = 10η：偏小的 V 让第一步变大（见本章的笔记勘误）。")
    if close_to(answer, 0.01 / math.sqrt(1 - 0.9), atol=1e-4, rtol=0):
        return Feedback(False, "这是 α = 0.9（笔记的取值）时的结果；PyTorch 的默认值是 α = 0.99（见本章的笔记勘误）。")
    if close_to(answer, 0.01, atol=1e-5, rtol=0):
        return Feedback(False, "这是没有偏置问题时的步长 η。算一下 V₁ = (1−α)g₁² 再代进更新式。")
    return Feedback(False, "第一步 V₁ = α·0 + (1−α)g²，|Δw| = η|g|/(√V₁ + ε)；ε 很小，可以忽略。")


def check_optimal_momentum(answer: Any) -> Feedback:
    """Exercise: ``(lr, beta)`` of the best heavy ball for curvatures in [1, 100] (Goh's formulas)."""
    if answer is None:
        return not_answered()
    pair = [as_number(a) for a in answer] if isinstance(answer, (tuple, list)) and len(answer) == 2 else None
    if pair is None or None in pair:
        return Feedback(False, "请给一个由两个数组成的二元组 (lr, beta)，例如 (0.1, 0.5)。")
    answer = pair
    from ..optim import momentum_optimal

    lr, beta, _ = momentum_optimal(1.0, 100.0)
    if close_to(list(answer), [lr, beta], atol=2e-3, rtol=0):
        return Feedback(True, f"lr = (2/(1+10))² ≈ {lr:.4f}，β = ((10−1)/(10+1))² ≈ {beta:.4f}；速率 9/11 ≈ 0.818。")
    if close_to(answer[1], (9 / 11), atol=2e-3, rtol=0):
        return Feedback(False, "β 要取速率的平方：β = ((√κ−1)/(√κ+1))²。")
    return Feedback(False, "κ = λ_max/λ_min = 100，√κ = 10：lr = (2/(√λ₁+√λₙ))²，β = ((√κ−1)/(√κ+1))²。")
