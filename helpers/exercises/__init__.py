"""Answer checkers for the chapters' exercises: the shared pieces here, one module per chapter
(``helpers.exercises.losses`` ...), imported in a notebook as ``from helpers.exercises import losses as exercises``.

Every ``check_*`` function returns a :class:`Feedback` (right or wrong, with a hint)
and never raises on a wrong answer: a learner's mistake is a message, not a traceback.
"""
from __future__ import annotations

import contextlib
import pkgutil
from dataclasses import dataclass
from typing import Any, Callable, Iterable
from unittest import mock

import torch

__all__ = ["Feedback", "not_answered", "close_to", "run_check", "BuiltinCalled", "forbidden", "call_without", "refuse_builtin"]


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


class BuiltinCalled(Exception):
    """Raised inside a check when the learner's code calls the built-in the exercise asks them to replace."""


_SHORT_OWNERS = {"torch.nn.functional": "F", "torch.nn": "nn", "torch.Tensor": "Tensor"}


def _label(owner: object, attr: str) -> str:
    """How a learner writes the call: ``torch.softmax``, ``F.softmax``, ``Tensor.softmax``, ``nn.HuberLoss``."""
    name = getattr(owner, "__name__", type(owner).__name__)
    name = "torch.Tensor" if owner is torch.Tensor else name
    return f"{_SHORT_OWNERS.get(name, name)}.{attr}"


def _builtin_message(label: str) -> str:
    return f"不能直接调用 {label}（也不能把它包一层再交）：这道题要你只用基本运算照公式写出来。"


def _owner_and_attr(target: tuple[object, str] | str) -> tuple[object, str]:
    """``"torch.nn.functional.conv2d"`` -> ``(torch.nn.functional, "conv2d")``; a pair is returned unchanged."""
    if isinstance(target, str):
        owner, _, attr = target.rpartition(".")
        return pkgutil.resolve_name(owner), attr
    return target


@contextlib.contextmanager
def forbidden(targets: Iterable[tuple[object, str] | str]):
    """While the block runs, calling any of ``targets`` raises :class:`BuiltinCalled`; on exit all are restored.

    A target is an ``(owner, attr)`` pair such as ``(torch, "softmax")`` or a dotted name such as
    ``"torch.nn.functional.conv2d"`` or ``"torch.nn.RNN.forward"`` (a method, patched on its class).
    """
    def refusing(label: str) -> Callable:
        def refuse(*args, **kwargs):
            raise BuiltinCalled(label)
        return refuse

    with contextlib.ExitStack() as stack:
        for owner, attr in map(_owner_and_attr, targets):
            stack.enter_context(mock.patch.object(owner, attr, refusing(_label(owner, attr))))
        yield


def refuse_builtin(fn: Any, targets: Iterable[tuple[object, str]]) -> Feedback | None:
    """A wrong-answer :class:`Feedback` if ``fn`` is itself one of the built-ins in ``targets``, else None."""
    for owner, attr in targets:
        if fn is getattr(owner, attr):
            return Feedback(False, _builtin_message(_label(owner, attr)))
    return None


def call_without(targets: Iterable[tuple[object, str] | str], call: Callable[[], Any], refused: str,
                 hint: str = "") -> tuple[Any, Feedback | None]:
    """Run ``call()`` (the learner's code) with ``targets`` :func:`forbidden`: ``(its result, None)``, or
    ``(None, a wrong answer)`` saying ``refused`` when it called a forbidden built-in, or the error and ``hint``."""
    try:
        with forbidden(targets):
            return call(), None
    except BuiltinCalled:
        return None, Feedback(False, refused)
    except Exception as exc:  # the learner's code failed
        return None, Feedback(False, f"运行时出错：{type(exc).__name__}: {exc}" + (f"。{hint}" if hint else ""))


def run_check(test: Callable[[], bool], ok_message: str, hint: str) -> Feedback:
    """Run ``test()``; any exception or a false result becomes a wrong answer with ``hint``."""
    try:
        passed = bool(test())
    except BuiltinCalled as exc:  # the learner's code called the built-in it should replace
        return Feedback(False, _builtin_message(str(exc)))
    except Exception as exc:  # the learner's code failed: report it as a hint
        return Feedback(False, f"{hint}（运行时出错：{type(exc).__name__}: {exc}）")
    return Feedback(True, ok_message) if passed else Feedback(False, hint)
