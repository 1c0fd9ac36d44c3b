r"""Chapter 6: learning-rate schedules written from their formulas.

Every schedule is a function of $t$, the number of ``scheduler.step()`` calls so far: the value
is what ``scheduler.get_last_lr()`` returns after $t$ calls, i.e. the learning rate the
*next* ``optimizer.step()`` uses (so log the lr before ``scheduler.step()``, not after).
``plateau_lrs`` replays ``ReduceLROnPlateau``'s rule on a list of validation losses, and
``lr_curve`` reads the learning rates any PyTorch scheduler produces, for plotting.

Beyond the notes: linear warm-up then cosine (``SequentialLR``), ``OneCycleLR``, cosine with warm
restarts, and the learning-rate range test (``lr_range_test``: loss against an
exponentially growing lr over part of one pass, the idea behind fastai's ``lr_find``).

``SCHEDULES`` holds one ``ScheduleSpec`` per schedule (label, parameters with their ranges, the
PyTorch scheduler, the formula): the chapter's panels and tests are built from it, so adding a
schedule is adding one record. ``train_with_schedule`` trains the chapter's linear model under one.
"""
from __future__ import annotations

import bisect
import copy
import functools
import math
import numbers
import warnings
from dataclasses import dataclass
from typing import Callable, NamedTuple, Sequence

import numpy as np
import torch

from .checks import fraction as _fraction, integer as _count, non_negative as _non_negative, positive as _positive

__all__ = ["step_lr", "multistep_lr", "exponential_lr", "cosine_lr", "warmup_cosine_lr", "one_cycle_lr",
           "warm_restarts_lr", "polynomial_lr", "lr_curve", "Param", "ScheduleSpec", "SCHEDULES", "make_scheduler", "scheduler_class",
           "scheduler_lrs", "schedule_formula", "plateau_lrs", "plateau_trace", "PlateauTrace", "torch_plateau_lrs",
           "plateau_series", "regression_task", "TRAINING_SCHEDULES", "PLATEAU_SETTINGS", "train_with_schedule",
           "final_excess", "least_squares_loss", "lr_range_test", "lr_range_suggestions"]

LS = torch.optim.lr_scheduler


# ----------------------------------------------------------------------------- input checks
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
    (period $2T_{\max}$), exactly as PyTorch's scheduler does.
    """
    t, lr_max, lr_min, T_max = _count(t, "t"), _non_negative(lr_max, "lr_max"), _non_negative(lr_min, "lr_min"), _positive(T_max, "T_max")
    return lr_min + (lr_max - lr_min) * (1 + math.cos(math.pi * t / T_max)) / 2


def warmup_cosine_lr(t: int, lr_max: float, warmup: int, T_max: int, lr_min: float = 0.0,
                     start_factor: float = 1 / 3) -> float:
    r"""Linear warm-up, then cosine: $\eta_t = \eta_{\max}\big(f + (1-f)\frac{t}{w}\big)$ for $t < w$, else the cosine of $t - w$ with period $2T_{\max}$.

    This is ``SequentialLR([LinearLR(start_factor=f, total_iters=w), CosineAnnealingLR(T_max, eta_min)], milestones=[w])``.
    """
    t, warmup = _count(t, "t"), _count(warmup, "warmup", minimum=1)
    lr_max, start_factor = _non_negative(lr_max, "lr_max"), _fraction(start_factor, "start_factor", open_low=True)
    if t < warmup:
        return lr_max * (start_factor + (1 - start_factor) * t / warmup)
    return cosine_lr(t - warmup, lr_max, T_max, lr_min)


def _cos_anneal(start: float, end: float, pct: float) -> float:
    return end + (start - end) * (1 + math.cos(math.pi * pct)) / 2


def one_cycle_lr(t: int, max_lr: float, total_steps: int, pct_start: float = 0.3, div_factor: float = 25.0,
                 final_div_factor: float = 1e4) -> float:
    r"""OneCycleLR (cosine): from $\eta_{\max}/d$ up to $\eta_{\max}$ over the first $p\,T - 1$ steps, then down to $\eta_{\max}/(d\,d_f)$ at step $T - 1$."""
    t, total_steps = _count(t, "t"), _count(total_steps, "total_steps", minimum=2)
    max_lr, div_factor = _non_negative(max_lr, "max_lr"), _positive(div_factor, "div_factor")
    final_div_factor = _positive(final_div_factor, "final_div_factor")
    pct_start = _fraction(pct_start, "pct_start", open_low=True, open_high=True)
    if t >= total_steps:
        raise ValueError(f"t must be < total_steps = {total_steps} (OneCycleLR cannot step further), got {t}")
    initial = max_lr / div_factor
    peak = pct_start * total_steps - 1                      # the step at which the lr reaches max_lr
    if t <= peak:
        return _cos_anneal(initial, max_lr, t / peak)
    return _cos_anneal(max_lr, initial / final_div_factor, (t - peak) / (total_steps - 1 - peak))


def warm_restarts_lr(t: int, lr_max: float, T_0: int, T_mult: int = 1, lr_min: float = 0.0) -> float:
    r"""CosineAnnealingWarmRestarts: $\eta_t = \eta_{\min} + \frac12(\eta_{\max}-\eta_{\min})(1 + \cos\frac{\pi T_{cur}}{T_i})$, cycles $T_0, T_0 m, T_0 m^2, \dots$"""
    t, T_i, T_mult = _count(t, "t"), _count(T_0, "T_0", minimum=1), _count(T_mult, "T_mult", minimum=1)
    T_cur = t
    while T_cur >= T_i:                                     # skip the finished cycles
        T_cur, T_i = T_cur - T_i, T_i * T_mult
    return cosine_lr(T_cur, lr_max, T_i, lr_min)


def polynomial_lr(t: int, lr0: float, total_iters: int, power: float = 1.0) -> float:
    r"""PolynomialLR: $\eta_t = \eta_0\,\big(1 - \min(t, T)/T\big)^{p}$ ($T$ = ``total_iters``; $p = 1$: linear decay to 0)."""
    t, lr0, T, power = _count(t, "t"), _non_negative(lr0, "lr0"), _count(total_iters, "total_iters", minimum=1), _non_negative(power, "power")
    return lr0 * (1 - min(t, T) / T) ** power



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


# ----------------------------------------------------------------------------- one record per schedule
@dataclass(frozen=True)
class Param:
    """One setting of a schedule, as the chapter's explorer offers it: a slider (``choices=None``) or a dropdown."""

    name: str                       # the key in a settings dict (``p["gamma"]``)
    label: str                      # what the control says
    low: float = 0.0
    high: float = 1.0
    step: float = 0.1
    default: object = 0.0
    integer: bool = False
    choices: tuple[tuple[str, object], ...] | None = None   # (label, value) pairs of a dropdown


@dataclass(frozen=True)
class ScheduleSpec:
    r"""Everything about one schedule: its label, the settings it reads, PyTorch's scheduler and the formula.

    ``make(optimizer, p, total)`` builds the ``torch.optim.lr_scheduler`` object for settings ``p`` and a run of
    ``total`` steps; ``formula(t, lr0, p, total)`` is the same lr from the closed form (LaTeX in ``latex``, plain
    text in ``text``). ``cycle_end(p)`` is the step where a cosine ends (then rises again), if any;
    ``for_training(total)`` gives the settings with which the schedule ends at step ``total`` of the training
    comparison (``None``: not in it). Settings named ``eta_min`` are fractions of the initial lr.
    """

    label: str
    params: tuple[Param, ...]
    make: Callable[[torch.optim.Optimizer, dict, int], LS.LRScheduler]
    formula: Callable[[int, float, dict, int], float]
    latex: str
    text: str
    cycle_end: Callable[[dict], int] | None = None
    for_training: Callable[[int], dict] | None = None

    @property
    def defaults(self) -> dict:
        """``{name: default}`` of the settings this schedule reads."""
        return {p.name: p.default for p in self.params}


GAMMA = Param("gamma", "gamma (Step, MultiStep)", 0.05, 0.95, 0.05, 0.1)
STEP_SIZE = Param("step_size", "step_size", 5, 80, 1, 30, integer=True)
MILESTONES = Param("milestones", "milestones", default=(20, 50, 80), choices=tuple(
    (", ".join(map(str, m)), m) for m in ((20, 50, 80), (30, 60, 90), (50, 100, 150), (10, 20, 40, 80, 160))))
GAMMA_EXP = Param("gamma_exp", "gamma (Exponential)", 0.9, 0.999, 0.001, 0.97)
T_MAX = Param("T_max", "T_max", 10, 200, 1, 100, integer=True)
ETA_MIN = Param("eta_min", "eta_min / lr0", 0.0, 0.5, 0.05, 0.0)
T_0 = Param("T_0", "T_0", 5, 100, 1, 25, integer=True)
T_MULT = Param("T_mult", "T_mult", 1, 3, 1, 1, integer=True)
WARMUP = Param("warmup", "warm-up steps", 1, 60, 1, 10, integer=True)
PCT_START = Param("pct_start", "pct_start", 0.05, 0.5, 0.05, 0.3)
WARMUP_START = 0.1  # LinearLR's start_factor in the warm-up + cosine schedule


def _warmup_cosine(optimizer: torch.optim.Optimizer, p: dict, total: int) -> LS.SequentialLR:
    """``LinearLR`` for ``p["warmup"]`` steps, then ``CosineAnnealingLR``, chained by ``SequentialLR``."""
    eta_min = p["eta_min"] * _base(optimizer)                  # read before LinearLR lowers the lr
    warm = LS.LinearLR(optimizer, start_factor=WARMUP_START, end_factor=1.0, total_iters=p["warmup"])
    cos = LS.CosineAnnealingLR(optimizer, T_max=p["T_max"], eta_min=eta_min)
    return LS.SequentialLR(optimizer, [warm, cos], milestones=[p["warmup"]])


def _base(optimizer: torch.optim.Optimizer) -> float:
    return optimizer.param_groups[0]["lr"]


SCHEDULES: dict[str, ScheduleSpec] = {
    "step": ScheduleSpec(
        "StepLR", (GAMMA, STEP_SIZE),
        make=lambda o, p, total: LS.StepLR(o, step_size=p["step_size"], gamma=p["gamma"]),
        formula=lambda t, lr0, p, total: step_lr(t, lr0, p["step_size"], p["gamma"]),
        latex=r"\eta_t = \eta_0\,\gamma^{\lfloor t/s \rfloor}", text="lr_t = lr0 * gamma^floor(t / step_size)",
        for_training=lambda total: {"step_size": total // 4, "gamma": 0.3}),
    "multistep": ScheduleSpec(
        "MultiStepLR", (MILESTONES, GAMMA),
        make=lambda o, p, total: LS.MultiStepLR(o, milestones=list(p["milestones"]), gamma=p["gamma"]),
        formula=lambda t, lr0, p, total: multistep_lr(t, lr0, list(p["milestones"]), p["gamma"]),
        latex=r"\eta_t = \eta_0\,\gamma^{\#\{i:\ m_i \le t\}}", text="lr_t = lr0 * gamma^(number of milestones <= t)"),
    "exponential": ScheduleSpec(
        "ExponentialLR", (GAMMA_EXP,),
        make=lambda o, p, total: LS.ExponentialLR(o, gamma=p["gamma_exp"]),
        formula=lambda t, lr0, p, total: exponential_lr(t, lr0, p["gamma_exp"]),
        latex=r"\eta_t = \eta_0\,\gamma^t", text="lr_t = lr0 * gamma^t",
        for_training=lambda total: {"gamma_exp": 0.01 ** (1 / total)}),
    "cosine": ScheduleSpec(
        "CosineAnnealingLR", (T_MAX, ETA_MIN),
        make=lambda o, p, total: LS.CosineAnnealingLR(o, T_max=p["T_max"], eta_min=p["eta_min"] * _base(o)),
        formula=lambda t, lr0, p, total: cosine_lr(t, lr0, p["T_max"], p["eta_min"] * lr0),
        latex=r"\eta_t = \eta_{\min} + \tfrac12(\eta_0 - \eta_{\min})\big(1 + \cos\frac{\pi t}{T_{\max}}\big)",
        text="lr_t = eta_min + (lr0 - eta_min) (1 + cos(pi t / T_max)) / 2   (period 2 T_max: it rises again)",
        cycle_end=lambda p: p["T_max"], for_training=lambda total: {"T_max": total, "eta_min": 0.0}),
    "warm_restarts": ScheduleSpec(
        "CosineAnnealingWarmRestarts", (T_0, T_MULT, ETA_MIN),
        make=lambda o, p, total: LS.CosineAnnealingWarmRestarts(o, T_0=p["T_0"], T_mult=p["T_mult"],
                                                                eta_min=p["eta_min"] * _base(o)),
        formula=lambda t, lr0, p, total: warm_restarts_lr(t, lr0, p["T_0"], p["T_mult"], p["eta_min"] * lr0),
        latex=r"\text{the cosine over cycles } T_0, T_0 m, T_0 m^2, \dots",
        text="the cosine over cycles T_0, T_0 T_mult, ...; t restarts at 0 in each cycle"),
    "warmup_cosine": ScheduleSpec(
        "Warm-up + cosine (SequentialLR)", (WARMUP, T_MAX, ETA_MIN), make=_warmup_cosine,
        formula=lambda t, lr0, p, total: warmup_cosine_lr(t, lr0, p["warmup"], p["T_max"], p["eta_min"] * lr0,
                                                          WARMUP_START),
        latex=r"\eta_0\big(f + (1-f)\,t/w\big) \text{ for } t < w, \text{ then the cosine of } t - w",
        text=f"lr0 ({WARMUP_START} + {1 - WARMUP_START:g} t / warmup) for t < warmup, then the cosine of t - warmup",
        cycle_end=lambda p: p["warmup"] + p["T_max"],
        for_training=lambda total: {"warmup": total // 10, "T_max": total - total // 10, "eta_min": 0.0}),
    "one_cycle": ScheduleSpec(
        "OneCycleLR", (PCT_START,),
        make=lambda o, p, total: LS.OneCycleLR(o, max_lr=_base(o), total_steps=total, pct_start=p["pct_start"]),
        formula=lambda t, lr0, p, total: one_cycle_lr(t, lr0, total, p["pct_start"]),
        latex=r"\text{cosine from } \eta_0/25 \text{ up to } \eta_0 \text{, then down to } \eta_0/(25\cdot 10^4)",
        text="cosine up from lr0/25 to lr0 until step pct_start*T - 1, then down to lr0/25/1e4 at step T - 1",
        for_training=lambda total: {"pct_start": 0.3}),
    "polynomial": ScheduleSpec(
        "PolynomialLR", (Param("total_iters", "total_iters", 10, 200, 1, 150, integer=True),
                         Param("power", "power", 0.5, 3.0, 0.5, 1.0)),
        make=lambda o, p, total: LS.PolynomialLR(o, total_iters=p["total_iters"], power=p["power"]),
        formula=lambda t, lr0, p, total: polynomial_lr(t, lr0, p["total_iters"], p["power"]),
        latex=r"\eta_t = \eta_0\,\big(1 - \min(t, T)/T\big)^{p}", text="lr_t = lr0 * (1 - min(t, total_iters) / total_iters)^power",
        for_training=lambda total: {"total_iters": total, "power": 1.0}),
}


def _spec(schedule: str) -> ScheduleSpec:
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {list(SCHEDULES)}, got {schedule!r}")
    return SCHEDULES[schedule]


def make_scheduler(schedule: str, optimizer: torch.optim.Optimizer, p: dict, total: int) -> LS.LRScheduler:
    """The real ``torch.optim.lr_scheduler`` object of ``SCHEDULES[schedule]`` with settings ``p``."""
    return _spec(schedule).make(optimizer, p, total)


def scheduler_class(schedule: str) -> type:
    """The class of the object ``make_scheduler`` returns for ``schedule`` (e.g. ``SequentialLR``)."""
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    return type(make_scheduler(schedule, optimizer, SCHEDULES[schedule].defaults, 200))


def scheduler_lrs(schedule: str, p: dict, total: int, lr0: float) -> list[float]:
    """The lr of steps 0..total-1 from the real scheduler, stepped without an optimizer step (10x faster than
    ``lr_curve``, same values: the tests compare them; PyTorch's order warning is silenced)."""
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr0)
    scheduler = make_scheduler(schedule, optimizer, p, total)
    lrs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for k in range(total):
            lrs.append(float(optimizer.param_groups[0]["lr"]))
            if k < total - 1:
                scheduler.step()
    return lrs


def schedule_formula(schedule: str, t: int, lr0: float, p: dict, total: int) -> float:
    """The same schedule from its formula (the lr after ``t`` scheduler.step() calls)."""
    return _spec(schedule).formula(t, lr0, p, total)


# ----------------------------------------------------------------------------- ReduceLROnPlateau
class PlateauTrace(NamedTuple):
    """What ``ReduceLROnPlateau`` knows after each ``step(loss)`` call (one entry per call)."""

    lrs: list[float]          # the lr after the call (used by the next epoch)
    events: list[int]         # the calls at which the lr was cut
    best: list[float]         # best value so far
    bad_epochs: list[int]     # calls in a row without a new best, after the call (0 right after a cut)
    cooldown: list[bool]      # True while bad epochs are not counted (the calls just after a cut)


def _check_plateau(losses, lr0, factor, patience, threshold, threshold_mode, cooldown, min_lr, mode,
                   eps) -> tuple[list[float], float]:
    """The checks of ``plateau_trace``; returns the losses as floats and ``lr0``."""
    _fraction(factor, "factor", open_high=True)
    _count(patience, "patience")
    _count(cooldown, "cooldown")
    for value, name in ((threshold, "threshold"), (min_lr, "min_lr"), (eps, "eps")):
        _non_negative(value, name)
    if threshold_mode not in ("rel", "abs"):
        raise ValueError(f"threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
    if mode not in ("min", "max"):
        raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
    return [_metric(v) for v in (losses.tolist() if isinstance(losses, torch.Tensor) else losses)], _positive(lr0, "lr0")


def plateau_trace(losses: Sequence[float] | torch.Tensor, lr0: float, factor: float = 0.1, patience: int = 10,
                  threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0, min_lr: float = 0.0,
                  mode: str = "min", *, eps: float = 1e-8) -> PlateauTrace:
    r"""ReduceLROnPlateau's rule, call by call: after more than ``patience`` calls without a new best, $\eta \leftarrow \max(\phi\,\eta, \eta_{\min})$.

    In ``"min"`` mode a value is a new best if it is below ``best * (1 - threshold)`` (``"rel"``) or
    ``best - threshold`` (``"abs"``); ``"max"`` mirrors this. A cut resets the bad-epoch count and
    starts ``cooldown`` calls in which bad epochs are not counted. A cut smaller than ``eps`` is skipped.
    """
    values, lr = _check_plateau(losses, lr0, factor, patience, threshold, threshold_mode, cooldown, min_lr, mode, eps)

    def is_better(value: float, best: float) -> bool:
        if mode == "min":
            return value < (best * (1 - threshold) if threshold_mode == "rel" else best - threshold)
        return value > (best * (1 + threshold) if threshold_mode == "rel" else best + threshold)

    best = math.inf if mode == "min" else -math.inf
    bad_epochs, cooldown_left = 0, 0
    trace = PlateauTrace([], [], [], [], [])
    for i, value in enumerate(values):
        if is_better(value, best):
            best, bad_epochs = value, 0
        else:
            bad_epochs += 1
        cooling = cooldown_left > 0
        if cooling:  # just after a cut: bad epochs do not count
            cooldown_left -= 1
            bad_epochs = 0
        if bad_epochs > patience:  # patience + 1 bad epochs in a row
            new_lr = max(lr * factor, min_lr)
            if lr - new_lr > eps:
                lr = new_lr
                trace.events.append(i)
            cooldown_left, bad_epochs = cooldown, 0
        trace.lrs.append(lr)
        trace.best.append(best)
        trace.bad_epochs.append(bad_epochs)
        trace.cooldown.append(cooling)
    return trace


def plateau_lrs(losses: Sequence[float] | torch.Tensor, lr0: float, factor: float = 0.1, patience: int = 10,
                threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0, min_lr: float = 0.0,
                mode: str = "min", *, eps: float = 1e-8) -> tuple[list[float], list[int]]:
    r"""ReduceLROnPlateau's learning rates: ``lrs[i]`` after ``scheduler.step(losses[i])`` and the calls at which it was cut (see ``plateau_trace``)."""
    trace = plateau_trace(losses, lr0, factor, patience, threshold, threshold_mode, cooldown, min_lr, mode, eps=eps)
    return trace.lrs, trace.events


def torch_plateau_lrs(losses: Sequence[float], lr0: float, **settings) -> list[float]:
    """The lr after each ``scheduler.step(loss)`` call of PyTorch's own ``ReduceLROnPlateau(**settings)``."""
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr0)
    scheduler = LS.ReduceLROnPlateau(optimizer, **settings)
    lrs = []
    for value in losses:
        scheduler.step(value)
        lrs.append(optimizer.param_groups[0]["lr"])
    return lrs


def plateau_series(n: int = 70, seed: int = 0) -> np.ndarray:
    r"""A synthetic validation loss $0.45 + 0.55\,e^{-t/6} - 0.0012\,t + 0.006\,\xi_t$: a fast fall, then a long, slowly sinking, noisy plateau."""
    t = np.arange(n)
    noise = torch.randn(n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64).numpy()
    return 0.45 + 0.55 * np.exp(-t / 6) - 0.0012 * t + 0.006 * noise


# ----------------------------------------------------------------------------- training with a schedule
def regression_task(n: int = 256, features: int = 8, noise: float = 0.5, seed: int = 0):
    r"""Linear data $y = X w^* + \varepsilon$, $\varepsilon \sim N(0, \sigma^2)$: mini-batch SGD on it has a noise floor set by the lr."""
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(n, features, generator=gen)
    w_true = torch.randn(features, 1, generator=gen)
    return X, X @ w_true + noise * torch.randn(n, 1, generator=gen)


# the training comparison's choices: id -> label (every record with training settings, and the two without a formula)
TRAINING_SCHEDULES: dict[str, str] = {"constant": "constant", **{k: s.label for k, s in SCHEDULES.items()
                                                                    if s.for_training}, "plateau": "ReduceLROnPlateau"}
PLATEAU_SETTINGS = {"factor": 0.3, "patience": 1}   # ReduceLROnPlateau in the training comparison (once per epoch)


@functools.lru_cache(maxsize=16)
def _initial_linear(features: int, seed: int) -> tuple[np.ndarray, float]:
    """The initial weight and bias of ``nn.Linear(features, 1)`` after ``torch.manual_seed(seed)`` (global RNG untouched)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        layer = torch.nn.Linear(features, 1)
    return layer.weight.detach().double().numpy()[0], float(layer.bias.item())


def train_with_schedule(schedule: str, lr: float, *, epochs: int = 20, batch_size: int = 16, seed: int = 0):
    r"""Mini-batch SGD $w \leftarrow w - \eta_t \nabla_w \mathrm{MSE}$ on ``regression_task()`` (a ``nn.Linear`` written out in NumPy).

    The lr of every step comes from the real ``torch.optim.lr_scheduler`` (stepped every batch, set up by the
    record's ``for_training`` to end at the last step; ``"plateau"``: ``ReduceLROnPlateau`` every epoch on the
    full-data loss). The updates are those of ``torch.optim.SGD`` on ``nn.Linear`` with ``nn.MSELoss`` (the tests
    compare the two). Returns the full-data loss every 4 steps (and those step numbers) and the lr of every step.
    """
    if schedule not in TRAINING_SCHEDULES:
        raise ValueError(f"schedule must be one of {list(TRAINING_SCHEDULES)}, got {schedule!r}")
    X, y = (t.double().numpy() for t in regression_task())
    y = y[:, 0]
    per_epoch = len(X) // batch_size
    total = epochs * per_epoch
    w, b = _initial_linear(X.shape[1], seed)
    plateau = None
    if schedule == "plateau":
        dummy = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
        plateau = LS.ReduceLROnPlateau(dummy, **PLATEAU_SETTINGS)
    elif schedule == "constant":
        planned = [lr] * total
    else:
        planned = scheduler_lrs(schedule, SCHEDULES[schedule].for_training(total), total, lr)
    gen = torch.Generator().manual_seed(seed)
    at, losses, lrs = [], [], []
    for epoch in range(epochs):
        order = torch.randperm(len(X), generator=gen).numpy()
        for k in range(per_epoch):
            step = epoch * per_epoch + k
            if step % 4 == 0:
                at.append(step)
                losses.append(float(np.mean((X @ w + b - y) ** 2)))
            idx = order[k * batch_size:(k + 1) * batch_size]
            residual = X[idx] @ w + b - y[idx]              # d MSE / d prediction = 2 r / B
            eta = plateau.optimizer.param_groups[0]["lr"] if plateau else planned[step]
            w = w - eta * (2 / batch_size) * (X[idx].T @ residual)
            b = b - eta * (2 / batch_size) * residual.sum()
            lrs.append(eta)
        if plateau is not None:
            plateau.step(float(np.mean((X @ w + b - y) ** 2)))
    return np.array(at), np.array(losses), np.array(lrs)


def final_excess(lr: float, seed: int = 0) -> dict[str, float]:
    r"""Per training schedule: the full-data loss above its minimum, averaged over the last 40 steps, $\overline{L}_{\text{end}} - \min L$."""
    floor = least_squares_loss()
    return {name: float(np.mean(train_with_schedule(name, lr, seed=seed)[1][-10:])) - floor
            for name in TRAINING_SCHEDULES}


@functools.lru_cache(maxsize=1)
def least_squares_loss() -> float:
    r"""The smallest full-data MSE of a linear model with bias on ``regression_task()``: $\min_{w,b} \mathrm{MSE}$, from $X^\top X\,w = X^\top y$.

    In float64 NumPy, like ``train_with_schedule``, and bit-for-bit the same in every process: ``torch.linalg.lstsq``
    (MKL) changed its last bits from one process to the next, and in float32 that moved the panel's curves.
    """
    X, y = (t.double().numpy() for t in regression_task())
    X1, y = np.hstack([X, np.ones((len(X), 1))]), y[:, 0]
    w = np.linalg.solve(X1.T @ X1, X1.T @ y)                # the normal equations (9 x 9, well conditioned)
    return float(np.mean((X1 @ w - y) ** 2))


# ----------------------------------------------------------------------------- learning-rate range test
def lr_range_test(model: torch.nn.Module, data: tuple[torch.Tensor, torch.Tensor], loss_fn: Callable,
                  optimizer: torch.optim.Optimizer, *, lr_min: float = 1e-6, lr_max: float = 1.0, steps: int = 100,
                  batch_size: int = 32, seed: int = 0, stop_factor: float = 4.0,
                  beta: float = 0.9) -> tuple[list[float], list[float]]:
    r"""Train with $\eta_k = \eta_{\min}(\eta_{\max}/\eta_{\min})^{k/(n-1)}$ for $k = 0..n-1$ and record the mini-batch loss.

    It stops early once the smoothed loss (bias-corrected EMA with ``beta``) exceeds ``stop_factor``
    times its minimum. ``model`` and ``optimizer`` are restored afterwards, so the test changes
    nothing. Returns the lrs used and the raw losses (before each step), of equal length.
    """
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    if not (isinstance(data, (tuple, list)) and len(data) == 2 and all(isinstance(d, torch.Tensor) for d in data)):
        raise TypeError("data must be a pair of tensors (inputs, targets)")
    lr_min, lr_max = _positive(lr_min, "lr_min"), _positive(lr_max, "lr_max")
    if lr_min >= lr_max:
        raise ValueError(f"lr_min must be < lr_max, got lr_min={lr_min} and lr_max={lr_max}")
    steps, batch_size = _count(steps, "steps", minimum=2), _count(batch_size, "batch_size", minimum=1)
    stop_factor, beta = _positive(stop_factor, "stop_factor"), _fraction(beta, "beta", open_high=True)
    x, y = data
    saved_model, saved_optimizer = copy.deepcopy(model.state_dict()), copy.deepcopy(optimizer.state_dict())
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(x), generator=generator)
    lrs, losses, position, average, best = [], [], 0, 0.0, math.inf
    model.train()
    try:
        for k in range(steps):
            lr = lr_min * (lr_max / lr_min) ** (k / (steps - 1))   # exponential growth from lr_min to lr_max
            for group in optimizer.param_groups:
                group["lr"] = lr
            if position + batch_size > len(x):                      # a new pass in a new order
                order, position = torch.randperm(len(x), generator=generator), 0
            index = order[position:position + batch_size]
            position += batch_size
            optimizer.zero_grad()
            loss = loss_fn(model(x[index]), y[index])
            loss.backward()
            optimizer.step()
            lrs.append(lr)
            losses.append(loss.item())
            average = beta * average + (1 - beta) * losses[-1]
            smoothed = average / (1 - beta ** (k + 1))              # bias-corrected EMA of the loss
            best = min(best, smoothed)
            if not math.isfinite(smoothed) or smoothed > stop_factor * best:
                break
    finally:
        model.load_state_dict(saved_model)
        optimizer.load_state_dict(saved_optimizer)
    return lrs, losses


def lr_range_suggestions(lrs: Sequence[float], losses: Sequence[float], beta: float = 0.9) -> dict[str, float]:
    r"""From a range test: the lr of the steepest fall of the smoothed loss (before its minimum), and the lr of its minimum / 10.

    The loss is smoothed with the bias-corrected EMA $\hat v_t = v_t / (1-\beta^t)$, as fastai does (it uses $\beta = 0.98$ over 100 steps).
    """
    if len(lrs) != len(losses) or len(lrs) < 3:
        raise ValueError(f"lrs and losses must have the same length >= 3, got {len(lrs)} and {len(losses)}")
    from .optim import ema

    smooth = ema(torch.tensor(list(losses), dtype=torch.float64), beta, bias_correction=True)
    log_lr = torch.log(torch.tensor(list(lrs), dtype=torch.float64))
    lowest = max(int(smooth.argmin()), 2)                           # look for the steepest fall before it
    slope = (smooth[2:lowest + 1] - smooth[:lowest - 1]) / (log_lr[2:lowest + 1] - log_lr[:lowest - 1])
    return {"steepest": float(lrs[int(slope.argmin()) + 1]), "minimum/10": float(lrs[int(smooth.argmin())]) / 10}
