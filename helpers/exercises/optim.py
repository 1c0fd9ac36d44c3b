"""Exercise checkers for 第5章 优化器 (optimizers): each returns a :class:`~helpers.exercises.Feedback`."""
from __future__ import annotations

import math
from typing import Any

import torch

from . import Feedback, call_without, close_to, not_answered, run_check

_GRADS = [1.0, 1.0, 1.0, 1.0, 1.0, -0.5, 2.0, 0.3]

# what the learner's update code must not call: any torch.optim optimizer (Optimizer.__init__ catches
# them all) and the course's own copies in helpers.optim
_OPTIMIZERS = ("torch.optim.Optimizer.__init__",
               *(f"torch.optim.{name}" for name in ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad")),
               *(f"helpers.optim.{name}" for name in ("SGD", "NotesMomentum", "Adam", "RMSprop", "Adagrad")))


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


def check_notes_momentum(fn: Any) -> Feedback:
    """Exercise: ``fn(grads, lr, beta)`` returns the positions w_1..w_T of the notes' EMA momentum from w_0 = 0."""
    if fn is None:
        return not_answered()
    if not callable(fn) or fn in (torch.optim.SGD,):
        return Feedback(False, "请交一个函数 notes_momentum(grads, lr, beta)，按笔记的公式自己写循环。")
    cases = [(_GRADS, 0.1, 0.9), ([2.0, -1.0, 0.5, 0.5], 0.05, 0.5)]
    expected = [_torch_path(lambda p, lr=lr, b=b: torch.optim.SGD(p, lr=lr * (1 - b), momentum=b), g)
                for g, lr, b in cases]
    pytorch_form = [_torch_path(lambda p, lr=lr, b=b: torch.optim.SGD(p, lr=lr, momentum=b), g) for g, lr, b in cases]

    got, failed = call_without(_OPTIMIZERS, lambda: [[float(v) for v in fn(list(g), lr, b)] for g, lr, b in cases],
                               "不能直接调用 torch.optim.SGD：用 V = βV + (1−β)g、w = w − ηV 自己写循环。",
                               "函数应返回每一步之后的 w（一个列表）。")
    if failed is not None:
        return failed
    if all(close_to(a, e, atol=1e-9) for a, e in zip(got, expected)):
        return Feedback(True, "和 torch.optim.SGD(lr=η(1−β), momentum=β) 的轨迹完全相同（勘误 E30）。")
    if all(close_to(a, e, atol=1e-9) for a, e in zip(got, pytorch_form)):
        return Feedback(False, "这是 PyTorch 的写法 v = βv + g：笔记的 EMA 在 g 前面乘 (1−β)，第一步只走 η(1−β)g₁。")
    return Feedback(False, "从 w = 0、V = 0 出发，每一步先 V = β·V + (1−β)·g，再 w = w − η·V，把每步后的 w 存进列表。")


def check_adam_step(fn: Any) -> Feedback:
    """Exercise: ``fn(w, g, m, v, t, lr, beta1, beta2, eps)`` returns ``(w, m, v)`` after Adam step ``t``."""
    if fn is None:
        return not_answered()
    if not callable(fn) or fn in (torch.optim.Adam,):
        return Feedback(False, "请交一个函数 adam_step(w, g, m, v, t, lr, beta1, beta2, eps)，返回 (w, m, v)。")
    settings = dict(lr=0.1, betas=(0.9, 0.999), eps=1e-8)
    expected = _torch_path(lambda p: torch.optim.Adam(p, **settings), _GRADS)
    uncorrected, w, m, v = [], 0.0, 0.0, 0.0
    for g in _GRADS:  # the same loop without bias correction: a frequent slip
        m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
        w -= 0.1 * m / (math.sqrt(v) + 1e-8)
        uncorrected.append(w)

    def run() -> list[float]:
        w, m, v, path = 0.0, 0.0, 0.0, []
        for t, g in enumerate(_GRADS, start=1):
            w, m, v = (float(x) for x in fn(w, g, m, v, t, 0.1, 0.9, 0.999, 1e-8))
            path.append(w)
        return path

    got, failed = call_without(_OPTIMIZERS, run, "不能直接调用 torch.optim.Adam：按 m、v、偏置修正、更新四行公式自己写。",
                               "函数应返回三个数 (w, m, v)。")
    if failed is not None:
        return failed
    if close_to(got, expected, atol=1e-9):
        return Feedback(True, "8 步都和 torch.optim.Adam 一致；第一步恰好是 −lr·sign(g)。")
    if close_to(got, uncorrected, atol=1e-9):
        return Feedback(False, "少了偏置修正：更新前要用 m̂ = m/(1−β₁ᵗ)、v̂ = v/(1−β₂ᵗ)（t 从 1 开始）。")
    return Feedback(False, "检查四步：m = β₁m + (1−β₁)g；v = β₂v + (1−β₂)g²；m̂、v̂ 除以 1−βᵗ；"
                           "w = w − lr·m̂/(√v̂ + eps)。返回的 m、v 是未修正的 EMA。")


def check_rmsprop_first_step(answer: Any) -> Feedback:
    """Exercise: |w_1 - w_0| of ``RMSprop(lr=0.01)`` with the default alpha=0.99 (answer: 0.1, whatever g is)."""
    if answer is None:
        return not_answered()
    if isinstance(answer, (str, bytes)):
        return Feedback(False, "请给一个数，而不是字符串。")
    if close_to(answer, 0.01 / math.sqrt(1 - 0.99), atol=1e-4, rtol=0):
        return Feedback(True, "V₁ = (1−α)g²，所以第一步是 η·|g|/√((1−α)g²) = η/√(1−α) = 10η：偏小的 V 让第一步变大（勘误 E33）。")
    if close_to(answer, 0.01 / math.sqrt(1 - 0.9), atol=1e-4, rtol=0):
        return Feedback(False, "这是 α = 0.9（笔记的取值）时的结果；PyTorch 的默认值是 α = 0.99（勘误 E32）。")
    if close_to(answer, 0.01, atol=1e-5, rtol=0):
        return Feedback(False, "这是没有偏置问题时的步长 η。算一下 V₁ = (1−α)g₁² 再代进更新式。")
    return Feedback(False, "第一步 V₁ = α·0 + (1−α)g²，|Δw| = η|g|/(√V₁ + ε)；ε 很小，可以忽略。")


def check_optimal_momentum(answer: Any) -> Feedback:
    """Exercise: ``(lr, beta)`` of the best heavy ball for curvatures in [1, 100] (Goh's formulas)."""
    if answer is None:
        return not_answered()
    if isinstance(answer, (str, bytes)) or not isinstance(answer, (tuple, list)) or len(answer) != 2:
        return Feedback(False, "请给一个二元组 (lr, beta)，例如 (0.1, 0.5)。")
    from ..optim import momentum_optimal

    lr, beta, _ = momentum_optimal(1.0, 100.0)
    if close_to(list(answer), [lr, beta], atol=2e-3, rtol=0):
        return Feedback(True, f"lr = (2/(1+10))² ≈ {lr:.4f}，β = ((10−1)/(10+1))² ≈ {beta:.4f}；速率 9/11 ≈ 0.818。")
    if close_to(answer[1], (9 / 11), atol=2e-3, rtol=0):
        return Feedback(False, "β 要取速率的平方：β = ((√κ−1)/(√κ+1))²。")
    return run_check(lambda: False, "", "κ = λ_max/λ_min = 100，√κ = 10：lr = (2/(√λ₁+√λₙ))²，β = ((√κ−1)/(√κ+1))²。")
