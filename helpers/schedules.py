r"""Chapter 6: learning-rate schedules written from their formulas.

Every schedule is a function of $t$, the number of ``scheduler.step()`` calls so far: the value
is what ``scheduler.get_last_lr()`` returns after $t$ calls, i.e. the learning rate the
*next* ``optimizer.step()`` uses (erratum E37: log the lr before ``scheduler.step()``).
``plateau_lrs`` replays ``ReduceLROnPlateau``'s rule on a list of validation losses, and
``lr_curve`` reads the learning rates any PyTorch scheduler produces, for plotting.
"""
from __future__ import annotations

import bisect
import math
import numbers
from typing import Callable, Sequence

import torch

__all__ = ["step_lr", "multistep_lr", "exponential_lr", "cosine_lr", "lr_curve", "plateau_lrs"]


# ----------------------------------------------------------------------------- input checks
def _real(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} ({value!r})")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return float(value)


def _non_negative(value, name: str) -> float:
    value = _real(value, name)
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


def _positive(value, name: str) -> float:
    value = _real(value, name)
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    return value


def _count(value, name: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} ({value!r})")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value}")
    return int(value)


def _metric(value) -> float:
    """One validation loss as a float (NaN allowed: it never counts as an improvement)."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"losses must hold real numbers, got {type(value).__name__} ({value!r})")
    return float(value)


# ----------------------------------------------------------------------------- schedules of t
def step_lr(t: int, lr0: float, step_size: int, gamma: float = 0.1) -> float:
    r"""StepLR: $\eta_t = \eta_0\, \gamma^{\lfloor t / s \rfloor}$ (multiply by $\gamma$ every $s$ steps)."""
    t, lr0 = _count(t, "t"), _non_negative(lr0, "lr0")
    step_size, gamma = _count(step_size, "step_size", minimum=1), _positive(gamma, "gamma")
    return lr0 * gamma ** (t // step_size)


def multistep_lr(t: int, lr0: float, milestones: Sequence[int], gamma: float = 0.1) -> float:
    r"""MultiStepLR: $\eta_t = \eta_0\, \gamma^{\#\{m \in \text{milestones} : m \le t\}}$."""
    t, lr0, gamma = _count(t, "t"), _non_negative(lr0, "lr0"), _positive(gamma, "gamma")
    if isinstance(milestones, (str, bytes)) or not isinstance(milestones, Sequence):
        raise TypeError(f"milestones must be a sequence of ints, got {type(milestones).__name__}")
    milestones = sorted(_count(m, "milestones[i]") for m in milestones)
    return lr0 * gamma ** bisect.bisect_right(milestones, t)


def exponential_lr(t: int, lr0: float, gamma: float) -> float:
    r"""ExponentialLR: $\eta_t = \eta_0\, \gamma^t$."""
    t, lr0, gamma = _count(t, "t"), _non_negative(lr0, "lr0"), _positive(gamma, "gamma")
    return lr0 * gamma ** t


def cosine_lr(t: int, lr_max: float, T_max: float, lr_min: float = 0.0) -> float:
    r"""CosineAnnealingLR: $\eta_t = \eta_{\min} + \frac{1}{2}(\eta_{\max} - \eta_{\min})\big(1 + \cos\frac{\pi t}{T_{\max}}\big)$.

    Past $T_{\max}$ the cosine goes on, so the lr climbs back to $\eta_{\max}$ at $2T_{\max}$
    (period $2T_{\max}$), exactly as PyTorch's scheduler does (erratum E36).
    """
    t, lr_max, lr_min = _count(t, "t"), _non_negative(lr_max, "lr_max"), _non_negative(lr_min, "lr_min")
    T_max = _positive(T_max, "T_max")
    return lr_min + (lr_max - lr_min) * (1 + math.cos(math.pi * t / T_max)) / 2


# ----------------------------------------------------------------------------- any PyTorch scheduler
def lr_curve(make_scheduler: Callable[[torch.optim.Optimizer], torch.optim.lr_scheduler.LRScheduler],
             steps: int, lr: float = 0.1) -> list[float]:
    r"""The lr $\eta_k$ used by optimizer step $k = 0, \dots, \text{steps}-1$ when the scheduler steps after each one."""
    if not callable(make_scheduler):
        raise TypeError(f"make_scheduler must be callable as make_scheduler(optimizer), "
                        f"got {type(make_scheduler).__name__}")
    steps, lr = _count(steps, "steps"), _non_negative(lr, "lr")
    weight = torch.zeros(1, requires_grad=True)  # a dummy parameter: only the lr matters here
    optimizer = torch.optim.SGD([weight], lr=lr)
    scheduler = make_scheduler(optimizer)
    if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        raise TypeError("ReduceLROnPlateau needs a metric at every step; use plateau_lrs(losses, ...) instead")
    if not isinstance(scheduler, torch.optim.lr_scheduler.LRScheduler):
        raise TypeError(f"make_scheduler must return a torch.optim.lr_scheduler.LRScheduler, "
                        f"got {type(scheduler).__name__}")
    lrs = []
    for k in range(steps):
        lrs.append(float(optimizer.param_groups[0]["lr"]))  # the lr this optimizer step uses
        weight.grad = torch.zeros_like(weight)
        optimizer.step()  # before scheduler.step(), in PyTorch's order (no warning)
        if k < steps - 1:  # a last scheduler.step() would only set the lr of a step never taken
            scheduler.step()
    return lrs


# ----------------------------------------------------------------------------- ReduceLROnPlateau
def plateau_lrs(losses: Sequence[float] | torch.Tensor, lr0: float, factor: float = 0.1, patience: int = 10,
                threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0, min_lr: float = 0.0,
                mode: str = "min", *, eps: float = 1e-8) -> tuple[list[float], list[int]]:
    r"""ReduceLROnPlateau's rule: after more than ``patience`` calls without a new best, $\eta \leftarrow \max(\phi\,\eta, \eta_{\min})$.

    ``lrs[i]`` is the lr after ``scheduler.step(losses[i])`` (the lr of the next epoch), and
    ``events`` lists the ``i`` at which it was cut. In ``"min"`` mode a value is a new best if it
    is below ``best * (1 - threshold)`` (``"rel"``) or ``best - threshold`` (``"abs"``); ``"max"``
    mirrors this. A cut resets the bad-epoch count and starts ``cooldown`` calls in which bad
    epochs are not counted. A cut smaller than ``eps`` is skipped.
    """
    lr, factor = _positive(lr0, "lr0"), _non_negative(factor, "factor")
    if factor >= 1:
        raise ValueError(f"factor must be in [0, 1), got {factor}")
    patience, cooldown = _count(patience, "patience"), _count(cooldown, "cooldown")
    threshold, min_lr, eps = _non_negative(threshold, "threshold"), _non_negative(min_lr, "min_lr"), _non_negative(eps, "eps")
    if threshold_mode not in ("rel", "abs"):
        raise ValueError(f"threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
    if mode not in ("min", "max"):
        raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
    values = [_metric(v) for v in (losses.tolist() if isinstance(losses, torch.Tensor) else losses)]

    def is_better(value: float, best: float) -> bool:
        if mode == "min":
            return value < (best * (1 - threshold) if threshold_mode == "rel" else best - threshold)
        return value > (best * (1 + threshold) if threshold_mode == "rel" else best + threshold)

    best = math.inf if mode == "min" else -math.inf
    bad_epochs, cooldown_left = 0, 0
    lrs, events = [], []
    for i, value in enumerate(values):
        if is_better(value, best):
            best, bad_epochs = value, 0
        else:
            bad_epochs += 1
        if cooldown_left > 0:  # just after a cut: bad epochs do not count
            cooldown_left -= 1
            bad_epochs = 0
        if bad_epochs > patience:  # patience + 1 bad epochs in a row
            new_lr = max(lr * factor, min_lr)
            if lr - new_lr > eps:
                lr = new_lr
                events.append(i)
            cooldown_left, bad_epochs = cooldown, 0
        lrs.append(lr)
    return lrs, events

