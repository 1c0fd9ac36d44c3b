"""Answer checkers for the chapters' exercises: the shared pieces here, one module per chapter
(``helpers.exercises.losses`` ...), imported in a notebook as ``from helpers.exercises import losses as exercises``.

Every ``check_*`` function returns a :class:`Feedback` (right or wrong, with a hint)
and never raises on a wrong answer: a learner's mistake is a message, not a traceback.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch

__all__ = ["Feedback", "not_answered", "close_to", "run_check"]


@dataclass(frozen=True)
class Feedback:
    """The verdict on one answer: ``ok`` and a short message (a hint when wrong).

    ``answered=False`` marks the untouched placeholder (``answer = None``): neither right nor wrong yet.
    """

    ok: bool
    message: str
    answered: bool = True

    def __repr__(self) -> str:
        if not self.answered:
            return "✏️ 还没有作答：" + self.message
        return ("✅ 正确！" if self.ok else "❌ 还不对。") + self.message

    def __bool__(self) -> bool:
        return self.ok


def not_answered() -> Feedback:
    """The feedback for an exercise whose placeholder ``None`` has not been replaced yet."""
    return Feedback(False, "把 None 换成你的答案后再运行这一格。", answered=False)


def close_to(answer: Any, expected: Any, *, atol: float = 1e-4, rtol: float = 1e-4) -> bool:
    """True if ``answer`` (number, list or tensor) equals ``expected`` within tolerance; never raises."""
    try:
        a = torch.as_tensor(answer, dtype=torch.float64)
        e = torch.as_tensor(expected, dtype=torch.float64)
        return a.shape == e.shape and bool(torch.allclose(a, e, atol=atol, rtol=rtol, equal_nan=True))
    except Exception:
        return False


def run_check(test: Callable[[], bool], ok_message: str, hint: str) -> Feedback:
    """Run ``test()``; any exception or a false result becomes a wrong answer with ``hint``."""
    try:
        passed = bool(test())
    except Exception as exc:  # the learner's code failed: report it as a hint
        return Feedback(False, f"{hint}（运行时出错：{type(exc).__name__}: {exc}）")
    return Feedback(True, ok_message) if passed else Feedback(False, hint)
