"""Argument checks shared by the chapters' math modules.

Each function returns the checked value (converted where that helps, e.g. to ``float``) and raises
``TypeError`` when the value has the wrong type and ``ValueError`` when it has the right type but a bad
value. ``name`` is the argument's name as the caller spells it, so the message points at it.
A ``bool`` never counts as a number here, although Python treats ``True`` as ``1``.

Math only: this module imports nothing beyond ``numbers``, ``math`` and ``torch``.
"""
from __future__ import annotations

import math
import numbers

import torch

__all__ = ["real", "non_negative", "positive", "fraction", "integer", "flag", "float_tensor", "instance", "one_of"]


def _number(value, name: str) -> float:
    """``value`` as a float if it is a real number (not a bool), else TypeError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} ({value!r})")
    return float(value)


def real(value, name: str) -> float:
    """A finite real number, as a float (inf and nan are refused)."""
    value = _number(value, name)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}")
    return value


def non_negative(value, name: str) -> float:
    """A finite real number >= 0, as a float."""
    value = _number(value, name)
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return value


def positive(value, name: str) -> float:
    """A finite real number > 0, as a float."""
    value = _number(value, name)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return value


def fraction(value, name: str, *, open_low: bool = False, open_high: bool = False) -> float:
    """A real number in [0, 1], as a float; ``open_low`` / ``open_high`` exclude 0 / 1."""
    value = _number(value, name)
    low_ok = value > 0 if open_low else value >= 0
    high_ok = value < 1 if open_high else value <= 1
    if not (low_ok and high_ok):  # nan fails both
        interval = ("(" if open_low else "[") + "0, 1" + (")" if open_high else "]")
        raise ValueError(f"{name} must be in {interval}, got {value}")
    return value


def integer(value, name: str, minimum: int | None = 0, maximum: int | None = None) -> int:
    """An int (any ``numbers.Integral`` but bool) in [``minimum``, ``maximum``]; ``None`` leaves that side open."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} ({value!r})")
    if not ((minimum is None or value >= minimum) and (maximum is None or value <= maximum)):
        bound = (f">= {minimum}" if maximum is None else f"<= {maximum}" if minimum is None
                 else f"in [{minimum}, {maximum}]")
        raise ValueError(f"{name} must be an int {bound}, got {value}")
    return int(value)


def flag(value, name: str) -> bool:
    """Exactly ``True`` or ``False`` (``0``, ``1`` or ``"yes"`` are refused)."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


def float_tensor(x, name: str) -> torch.Tensor:
    """A ``torch.Tensor`` with a floating-point dtype (any shape, empty included)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    return x


def instance(value, kind: type | tuple[type, ...], name: str, *, optional: bool = False):
    """``value`` if it is an instance of ``kind`` (or ``None`` with ``optional=True``), else TypeError."""
    if (optional and value is None) or isinstance(value, kind):
        return value
    kinds = kind if isinstance(kind, tuple) else (kind,)
    wanted = " or ".join(_type_name(k) for k in kinds)
    raise TypeError(f"{name} must be a {wanted}{' or None' if optional else ''}, got {type(value).__name__}")


def _type_name(kind: type) -> str:
    """``torch.Tensor``, ``nn.Module``, ``int``: how a learner writes the type."""
    if kind.__module__.startswith("torch.nn"):
        return "nn." + kind.__name__
    if kind.__module__.startswith("torch.optim"):
        return "torch.optim." + kind.__name__
    return ("torch." if kind.__module__.startswith("torch") else "") + kind.__name__


def one_of(value, options, name: str):
    """``value`` if it is one of ``options`` (compared with ``==``), else ValueError listing them."""
    if value not in options:
        raise ValueError(f"{name} must be one of {list(options)}, got {value!r}")
    return value
