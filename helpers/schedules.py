r"""Chapter 6: learning-rate schedules written from their formulas.

Every schedule is a function of $t$, the number of ``scheduler.step()`` calls so far: the value
is what ``scheduler.get_last_lr()`` returns after $t$ calls, i.e. the learning rate the
*next* ``optimizer.step()`` uses (erratum E37: log the lr before ``scheduler.step()``).
``plateau_lrs`` replays ``ReduceLROnPlateau``'s rule on a list of validation losses, and
``lr_curve`` reads the learning rates any PyTorch scheduler produces, for plotting.

Beyond the notes: linear warm-up then cosine (``SequentialLR``), ``OneCycleLR``, cosine with warm
restarts, and the learning-rate range test (``lr_range_test``: loss against an exponentially
growing lr over part of one pass, the idea behind fastai's ``lr_find``).
"""
from __future__ import annotations

import bisect
import copy
import math
import numbers
from typing import Callable, NamedTuple, Sequence

import torch

from .checks import integer as _count, non_negative as _non_negative, positive as _positive, real as _real

__all__ = ["step_lr", "multistep_lr", "exponential_lr", "cosine_lr", "warmup_cosine_lr", "one_cycle_lr",
           "warm_restarts_lr", "lr_curve", "plateau_lrs", "plateau_trace", "PlateauTrace", "lr_range_test",
           "lr_range_suggestions"]


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
    (period $2T_{\max}$), exactly as PyTorch's scheduler does (erratum E36).
    """
    t, lr_max, lr_min = _count(t, "t"), _non_negative(lr_max, "lr_max"), _non_negative(lr_min, "lr_min")
    T_max = _positive(T_max, "T_max")
    return lr_min + (lr_max - lr_min) * (1 + math.cos(math.pi * t / T_max)) / 2


def warmup_cosine_lr(t: int, lr_max: float, warmup: int, T_max: int, lr_min: float = 0.0,
                     start_factor: float = 1 / 3) -> float:
    r"""Linear warm-up, then cosine: $\eta_t = \eta_{\max}\big(f + (1-f)\frac{t}{w}\big)$ for $t < w$, else the cosine of $t - w$ with period $2T_{\max}$.

    This is ``SequentialLR([LinearLR(start_factor=f, total_iters=w), CosineAnnealingLR(T_max, eta_min)], milestones=[w])``.
    """
    t, warmup = _count(t, "t"), _count(warmup, "warmup", minimum=1)
    lr_max, start_factor = _non_negative(lr_max, "lr_max"), _positive(start_factor, "start_factor")
    if start_factor > 1:
        raise ValueError(f"start_factor must be in (0, 1], got {start_factor}")
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
    final_div_factor, pct_start = _positive(final_div_factor, "final_div_factor"), _real(pct_start, "pct_start")
    if not 0 < pct_start < 1:
        raise ValueError(f"pct_start must be in (0, 1), got {pct_start}")
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
class PlateauTrace(NamedTuple):
    """What ``ReduceLROnPlateau`` knows after each ``step(loss)`` call (one entry per call)."""

    lrs: list[float]          # the lr after the call (used by the next epoch)
    events: list[int]         # the calls at which the lr was cut
    best: list[float]         # best value so far
    bad_epochs: list[int]     # calls in a row without a new best, after the call (0 right after a cut)
    cooldown: list[bool]      # True while bad epochs are not counted (the calls just after a cut)


def plateau_trace(losses: Sequence[float] | torch.Tensor, lr0: float, factor: float = 0.1, patience: int = 10,
                  threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0, min_lr: float = 0.0,
                  mode: str = "min", *, eps: float = 1e-8) -> PlateauTrace:
    r"""ReduceLROnPlateau's rule, call by call: after more than ``patience`` calls without a new best, $\eta \leftarrow \max(\phi\,\eta, \eta_{\min})$.

    In ``"min"`` mode a value is a new best if it is below ``best * (1 - threshold)`` (``"rel"``) or
    ``best - threshold`` (``"abs"``); ``"max"`` mirrors this. A cut resets the bad-epoch count and
    starts ``cooldown`` calls in which bad epochs are not counted. A cut smaller than ``eps`` is skipped.
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
    stop_factor = _positive(stop_factor, "stop_factor")
    if not 0 <= beta < 1:
        raise ValueError(f"beta must be in [0, 1), got {beta}")
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
