"""Chapter 6 (learning-rate schedules): the chapter's figures and panels. The math lives in ``helpers.schedules``."""
from __future__ import annotations

import functools
import inspect
import warnings

import numpy as np
import torch
from matplotlib.ticker import NullLocator

from ..plotting import COLORS, new_figure
from ..schedules import (cosine_lr, exponential_lr, lr_range_suggestions, multistep_lr, one_cycle_lr,
                         plateau_trace, step_lr, warm_restarts_lr, warmup_cosine_lr)
from .base import Panel, checkbox, dropdown, float_slider, int_slider, log_slider, one_thread, register

__all__ = [
    "SCHEDULES", "make_scheduler", "scheduler_lrs", "schedule_formula", "regression_task", "train_with_schedule", "plateau_series",
    "lr_range_figure", "schedule_explorer_panel", "plateau_panel", "schedule_training_panel",
]

LS = torch.optim.lr_scheduler
SCHEDULES = ("StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts",
             "Warm-up + cosine (SequentialLR)", "OneCycleLR")
MILESTONES = {"20, 50, 80": (20, 50, 80), "30, 60, 90": (30, 60, 90), "50, 100, 150": (50, 100, 150),
              "10, 20, 40, 80, 160": (10, 20, 40, 80, 160)}
_WARMUP_START = 0.1  # LinearLR's start_factor in the warm-up + cosine schedule


# ----------------------------------------------------------------------------- one place for every schedule
def make_scheduler(name: str, optimizer: torch.optim.Optimizer, p: dict, total: int):
    """The real ``torch.optim.lr_scheduler`` object for schedule ``name`` with settings ``p``."""
    base = optimizer.param_groups[0]["lr"]
    if name == "StepLR":
        return LS.StepLR(optimizer, step_size=p["step_size"], gamma=p["gamma"])
    if name == "MultiStepLR":
        return LS.MultiStepLR(optimizer, milestones=list(p["milestones"]), gamma=p["gamma"])
    if name == "ExponentialLR":
        return LS.ExponentialLR(optimizer, gamma=p["gamma_exp"])
    if name == "CosineAnnealingLR":
        return LS.CosineAnnealingLR(optimizer, T_max=p["T_max"], eta_min=p["eta_min"] * base)
    if name == "CosineAnnealingWarmRestarts":
        return LS.CosineAnnealingWarmRestarts(optimizer, T_0=p["T_0"], T_mult=p["T_mult"], eta_min=p["eta_min"] * base)
    if name == "Warm-up + cosine (SequentialLR)":
        warm = LS.LinearLR(optimizer, start_factor=_WARMUP_START, end_factor=1.0, total_iters=p["warmup"])
        cos = LS.CosineAnnealingLR(optimizer, T_max=p["T_max"], eta_min=p["eta_min"] * base)
        return LS.SequentialLR(optimizer, [warm, cos], milestones=[p["warmup"]])
    if name == "OneCycleLR":
        return LS.OneCycleLR(optimizer, max_lr=base, total_steps=total, pct_start=p["pct_start"])
    raise ValueError(f"schedule must be one of {list(SCHEDULES)}, got {name!r}")


def scheduler_lrs(name: str, p: dict, total: int, lr0: float) -> list[float]:
    """The lr of steps 0..total-1 from the real scheduler, stepped without an optimizer step (10x faster than
    ``helpers.schedules.lr_curve``, same values: the tests compare them; PyTorch's order warning is silenced)."""
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr0)
    scheduler = make_scheduler(name, optimizer, p, total)
    lrs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for k in range(total):
            lrs.append(float(optimizer.param_groups[0]["lr"]))
            if k < total - 1:
                scheduler.step()
    return lrs


def schedule_formula(name: str, t: int, lr0: float, p: dict, total: int) -> float:
    """The same schedule from its formula in ``helpers.schedules`` (the lr after t scheduler.step() calls)."""
    if name == "StepLR":
        return step_lr(t, lr0, p["step_size"], p["gamma"])
    if name == "MultiStepLR":
        return multistep_lr(t, lr0, list(p["milestones"]), p["gamma"])
    if name == "ExponentialLR":
        return exponential_lr(t, lr0, p["gamma_exp"])
    if name == "CosineAnnealingLR":
        return cosine_lr(t, lr0, p["T_max"], p["eta_min"] * lr0)
    if name == "CosineAnnealingWarmRestarts":
        return warm_restarts_lr(t, lr0, p["T_0"], p["T_mult"], p["eta_min"] * lr0)
    if name == "Warm-up + cosine (SequentialLR)":
        return warmup_cosine_lr(t, lr0, p["warmup"], p["T_max"], p["eta_min"] * lr0, _WARMUP_START)
    if name == "OneCycleLR":
        return one_cycle_lr(t, lr0, total, p["pct_start"])
    raise ValueError(f"schedule must be one of {list(SCHEDULES)}, got {name!r}")


_USES = {
    "StepLR": ("step_size", "gamma"),
    "MultiStepLR": ("milestones", "gamma"),
    "ExponentialLR": ("gamma_exp",),
    "CosineAnnealingLR": ("T_max", "eta_min"),
    "CosineAnnealingWarmRestarts": ("T_0", "T_mult", "eta_min"),
    "Warm-up + cosine (SequentialLR)": ("warmup", "T_max", "eta_min"),
    "OneCycleLR": ("pct_start",),
}
_FORMULAS = {
    "StepLR": "lr_t = lr0 * gamma^floor(t / step_size)",
    "MultiStepLR": "lr_t = lr0 * gamma^(number of milestones <= t)",
    "ExponentialLR": "lr_t = lr0 * gamma^t",
    "CosineAnnealingLR": "lr_t = eta_min + (lr0 - eta_min) (1 + cos(pi t / T_max)) / 2   (period 2 T_max: it rises again)",
    "CosineAnnealingWarmRestarts": "the cosine over cycles T_0, T_0 T_mult, ...; t restarts at 0 in each cycle",
    "Warm-up + cosine (SequentialLR)": "lr0 (0.1 + 0.9 t / warmup) for t < warmup, then the cosine of t - warmup",
    "OneCycleLR": "cosine up from lr0/25 to lr0 until step pct_start*T - 1, then down to lr0/25/1e4 at step T - 1",
}


def _signature(name: str) -> str:
    if name.startswith("Warm-up"):
        cls = LS.SequentialLR
    else:
        cls = getattr(LS, name)
    params = [str(p).replace("'", "") for p in inspect.signature(cls).parameters.values()]
    text = ", ".join(p.split(":")[0] + ("=" + p.split("=")[-1].strip() if "=" in p else "") for p in params)
    return f"{cls.__name__}({text})"


# ----------------------------------------------------------------------------- panel: schedule explorer
@register
def schedule_explorer_panel(schedule: str = "StepLR") -> Panel:
    """Pick a scheduler and its parameters: the formula as a line, the real PyTorch scheduler's lrs as dots."""
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {list(SCHEDULES)}, got {schedule!r}")
    total, lr0 = 200, 0.1
    controls = {
        "schedule": dropdown("scheduler", list(SCHEDULES), schedule),
        "gamma": float_slider("gamma (Step, MultiStep)", 0.05, 0.95, 0.05, 0.1),
        "step_size": int_slider("step_size", 5, 80, 30),
        "milestones": dropdown("milestones", list(MILESTONES), "20, 50, 80"),
        "gamma_exp": float_slider("gamma (Exponential)", 0.9, 0.999, 0.001, 0.97),
        "T_max": int_slider("T_max", 10, 200, 100),
        "eta_min": float_slider("eta_min / lr0", 0.0, 0.5, 0.05, 0.0),
        "T_0": int_slider("T_0", 5, 100, 25),
        "T_mult": int_slider("T_mult", 1, 3, 1),
        "warmup": int_slider("warm-up steps", 1, 60, 10),
        "pct_start": float_slider("pct_start", 0.05, 0.5, 0.05, 0.3),
        "log_y": checkbox("log y", False),
    }
    t = np.arange(total)

    @functools.lru_cache(maxsize=256)
    def torch_lrs(name: str, settings: tuple) -> np.ndarray:
        p = dict(settings)
        with one_thread():
            return np.array(scheduler_lrs(name, p, total, lr0))

    def setup(fig):
        ax = fig.subplots()
        ax.set(xlim=(-2, total + 1), xlabel="t = scheduler.step() calls so far (= optimizer step t uses this lr)",
               ylabel="learning rate")
        ax.set_ylim(-0.003, 0.107)
        ax.yaxis.set_minor_locator(NullLocator())
        (line,) = ax.plot(t, t * 0.0, color=COLORS["main"], lw=2, label="formula (helpers.schedules)", animated=True)
        (dots,) = ax.plot(t, t * 0.0, "o", ms=2.6, color=COLORS["grad"], label="torch.optim.lr_scheduler",
                          animated=True)
        (tmax,) = ax.plot([], [], color=COLORS["muted"], ls="--", lw=1, animated=True)
        ax.legend(loc="upper right", fontsize=8)

        def update(schedule, log_y, **values) -> str:
            p = {k: (MILESTONES[v] if k == "milestones" else v) for k, v in values.items() if k in _USES[schedule]}
            ours = np.array([schedule_formula(schedule, k, lr0, p, total) for k in t])
            theirs = torch_lrs(schedule, tuple(sorted(p.items())))
            line.set_ydata(ours)
            dots.set_ydata(theirs)
            marks = {"CosineAnnealingLR": p.get("T_max"), "Warm-up + cosine (SequentialLR)":
                     p.get("warmup", 0) + p.get("T_max", 0)}
            end = marks.get(schedule)
            tmax.set_data(([end, end], [1e-7, 1.0]) if end is not None else ([], []))
            scale = "log" if log_y else "linear"
            if ax.get_yscale() != scale:
                ax.set_yscale(scale)
                ax.set_ylim((2e-7, 0.3) if log_y else (-0.003, 0.107))
            if ax.get_title() != schedule:
                ax.set_title(schedule)
            gap = float(np.max(np.abs(ours - theirs)))
            after = f"; dashed line: end of the cosine (t = {end}), after it the lr rises again" if end else ""
            return (f"<code>{_FORMULAS[schedule]}</code>{after}<br>PyTorch: <code>{_signature(schedule)}</code>"
                    f"<br>settings {p}; max |formula - torch| = {gap:.1e}")

        return update

    enabled = {name: (lambda v, name=name: name in _USES[v["schedule"]]) for name in controls
               if name not in ("schedule", "log_y")}
    return Panel(controls, setup, figsize=(8.0, 3.3), enabled_when=enabled)


# ----------------------------------------------------------------------------- panel: ReduceLROnPlateau
def plateau_series(n: int = 70, seed: int = 0) -> np.ndarray:
    """A synthetic validation loss: a fast fall, then a long, slowly sinking, noisy plateau."""
    t = np.arange(n)
    noise = torch.randn(n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64).numpy()
    return 0.45 + 0.55 * np.exp(-t / 6) - 0.0012 * t + 0.006 * noise


def _vlines(xs, lo: float, hi: float) -> tuple[list, list]:
    """x and y data of one Line2D that draws a vertical segment at every x (NaN between them)."""
    x, y = [], []
    for v in xs:
        x += [v, v, np.nan]
        y += [lo, hi, np.nan]
    return x, y


@register
def plateau_panel() -> Panel:
    """ReduceLROnPlateau on a noisy validation loss: where the lr is cut, and why (best, threshold, bad epochs)."""
    losses = plateau_series()
    values = losses.tolist()
    n = len(losses)
    epochs = np.arange(1, n + 1)
    controls = {
        "patience": int_slider("patience", 0, 15, 3),
        "factor": float_slider("factor", 0.1, 0.9, 0.1, 0.5),
        "threshold": log_slider("threshold", -4, -1, 1e-4, step=0.25),
        "threshold_mode": dropdown("threshold_mode", ["rel", "abs"], "rel"),
        "cooldown": int_slider("cooldown", 0, 10, 0),
    }

    @functools.lru_cache(maxsize=256)
    def torch_plateau(**settings) -> list[float]:
        w = torch.zeros(1, requires_grad=True)
        opt = torch.optim.SGD([w], lr=1.0)
        sched = LS.ReduceLROnPlateau(opt, **settings)
        out = []
        for value in values:
            sched.step(value)
            out.append(opt.param_groups[0]["lr"])
        return out

    def setup(fig):
        ax_loss, ax_bad, ax_lr = fig.subplots(3, 1, sharex=True, height_ratios=[2.2, 1, 1.2])
        ax_loss.plot(epochs, losses, "o", ms=3, color=COLORS["muted"], label="val loss (scheduler.step(loss))")
        ax_loss.set(ylim=(0.3, 1.05), ylabel="val loss")
        (best,) = ax_loss.plot(epochs, losses, drawstyle="steps-post", color=COLORS["main"], lw=1.5,
                               label="best so far", animated=True)
        (must,) = ax_loss.plot(epochs, losses, drawstyle="steps-post", color=COLORS["alt"], lw=1, ls="--",
                               label="must get below this to count as better", animated=True)
        (cuts,) = ax_loss.plot([], [], color=COLORS["grad"], lw=1.5, label="lr cut", animated=True)
        ax_loss.legend(loc="upper right", fontsize=7, ncol=2)
        ax_bad.set(ylim=(-0.5, 17), ylabel="bad epochs")
        (bad,) = ax_bad.plot(epochs, epochs * 0, drawstyle="steps-mid", color=COLORS["accent"], lw=1.5, animated=True)
        (limit,) = ax_bad.plot([0, n + 1], [3, 3], color="black", lw=1, ls=":", animated=True)
        (cool,) = ax_bad.plot([], [], "s", ms=4, color=COLORS["purple"], animated=True)
        ax_lr.set(yscale="log", ylim=(1e-5, 2), xlim=(0, n + 1), xlabel="epoch (one scheduler.step(val_loss) call)",
                  ylabel="lr / lr0")
        ax_lr.yaxis.set_minor_locator(NullLocator())
        (lr_line,) = ax_lr.plot(epochs, epochs * 1.0, drawstyle="steps-post", color=COLORS["main"], lw=1.5,
                                animated=True)
        (lr_dots,) = ax_lr.plot(epochs, epochs * 1.0, "o", ms=2.5, color=COLORS["grad"], animated=True)

        def update(patience, factor, threshold, threshold_mode, cooldown) -> str:
            settings = dict(factor=round(float(factor), 6), patience=int(patience), threshold=float(threshold),
                            threshold_mode=threshold_mode, cooldown=int(cooldown))
            trace = plateau_trace(values, 1.0, **settings)
            b = np.array(trace.best)
            best.set_ydata(b)
            must.set_ydata(b * (1 - threshold) if threshold_mode == "rel" else b - threshold)
            cuts.set_data(*_vlines(epochs[trace.events], 0.3, 1.05))
            bad.set_ydata(trace.bad_epochs)
            limit.set_ydata([patience + 0.5, patience + 0.5])
            cooling = epochs[np.array(trace.cooldown)]
            cool.set_data(cooling, np.zeros(len(cooling)))
            lr_line.set_ydata(trace.lrs)
            lr_dots.set_ydata(torch_plateau(**settings))
            rule = (f"best * (1 - {threshold:.2g})" if threshold_mode == "rel" else f"best - {threshold:.2g}")
            last = (f"Rule ({threshold_mode}): a new best needs loss &lt; {rule}; after the last epoch best = "
                    f"{b[-1]:.6f}, so the next loss must be below {must.get_ydata()[-1]:.6f}.<br>")
            if not trace.events:
                return last + (f"no cut: the loss never goes {int(patience) + 1} epochs in a row without a new best "
                        f"(so factor and cooldown have nothing to act on). Lower patience or raise threshold.")
            where = ", ".join(str(e + 1) for e in trace.events)
            return last + (f"cuts after epochs {where}: each one when the bad-epoch count (orange) goes above patience "
                    f"= {int(patience)} (dotted line), i.e. on the {int(patience) + 1}th bad epoch in a row; "
                    f"purple squares: cooldown epochs (not counted). Dots on the lr: torch's ReduceLROnPlateau.")

        return update

    @functools.lru_cache(maxsize=512)
    def cuts_at_all(patience: int, threshold: float, threshold_mode: str) -> bool:
        return bool(plateau_trace(values, 1.0, factor=0.5, patience=patience, threshold=threshold,
                                  threshold_mode=threshold_mode).events)

    def has_cuts(v: dict) -> bool:
        """factor and cooldown only act after a cut: without one they are disabled."""
        return cuts_at_all(int(v["patience"]), float(v["threshold"]), v["threshold_mode"])

    return Panel(controls, setup, figsize=(7.4, 4.3), enabled_when={"factor": has_cuts, "cooldown": has_cuts})


# ----------------------------------------------------------------------------- training with a schedule
def regression_task(n: int = 256, features: int = 8, noise: float = 0.5, seed: int = 0):
    r"""Linear data $y = X w^* + \varepsilon$, $\varepsilon \sim N(0, \sigma^2)$: mini-batch SGD on it has a noise floor set by the lr."""
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(n, features, generator=gen)
    w_true = torch.randn(features, 1, generator=gen)
    return X, X @ w_true + noise * torch.randn(n, 1, generator=gen)


TRAINING_SCHEDULES = ("constant", "StepLR", "ExponentialLR", "CosineAnnealingLR", "Warm-up + cosine (SequentialLR)",
                      "OneCycleLR", "ReduceLROnPlateau")


def _schedule_settings(schedule: str, total: int) -> dict:
    """The settings of each schedule in the training panel: all of them end (or restart) at the last step."""
    warmup = total // 10
    return {"step_size": total // 4, "gamma": 0.3, "gamma_exp": 0.01 ** (1 / total), "eta_min": 0.0,
            "T_max": total - warmup if schedule.startswith("Warm-up") else total, "warmup": warmup, "pct_start": 0.3}


def train_with_schedule(schedule: str, lr: float, *, epochs: int = 20, batch_size: int = 16, seed: int = 0):
    r"""Mini-batch SGD $w \leftarrow w - \eta_t \nabla_w \mathrm{MSE}$ on ``regression_task()`` (a ``nn.Linear`` written out in NumPy).

    The lr of every step comes from the real ``torch.optim.lr_scheduler`` (stepped every batch;
    ``ReduceLROnPlateau`` every epoch on the full-data loss). The updates are those of
    ``torch.optim.SGD`` on ``nn.Linear`` with ``nn.MSELoss`` (the tests compare the two). Returns the
    full-data loss every 4 steps (and those step numbers) and the lr of every step.
    """
    if schedule not in TRAINING_SCHEDULES:
        raise ValueError(f"schedule must be one of {list(TRAINING_SCHEDULES)}, got {schedule!r}")
    X, y = (t.double().numpy() for t in regression_task())
    y = y[:, 0]
    per_epoch = len(X) // batch_size
    total = epochs * per_epoch
    torch.manual_seed(seed)
    layer = torch.nn.Linear(X.shape[1], 1)                  # the initial weights of nn.Linear
    w, b = layer.weight.detach().double().numpy()[0].copy(), float(layer.bias.item())
    plateau = None
    if schedule == "ReduceLROnPlateau":
        dummy = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
        plateau = LS.ReduceLROnPlateau(dummy, factor=0.3, patience=1)
    elif schedule == "constant":
        planned = [lr] * total
    else:
        planned = scheduler_lrs(schedule, _schedule_settings(schedule, total), total, lr)
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


@register
def schedule_training_panel() -> Panel:
    """The same linear model trained with mini-batch SGD under a chosen schedule: loss curve and lr, against a constant lr."""
    controls = {
        "lr": log_slider("lr (peak)", -2.5, -0.5, 0.1, step=0.25),
        "schedule": dropdown("schedule", list(TRAINING_SCHEDULES), "CosineAnnealingLR"),
    }
    X, y = regression_task()
    X1 = torch.cat([X, torch.ones(len(X), 1)], dim=1)
    floor = torch.nn.functional.mse_loss(X1 @ torch.linalg.lstsq(X1, y).solution, y).item()

    @functools.lru_cache(maxsize=64)
    def run(schedule: str, lr: float):
        with one_thread():
            return train_with_schedule(schedule, lr)

    def setup(fig):
        ax_loss, ax_lr = fig.subplots(1, 2, width_ratios=[1.3, 1])
        ax_loss.set(yscale="log", ylim=(1e-5, 30), xlabel="step", ylabel="loss - best possible loss",
                    title=f"training loss on all data, minus its minimum {floor:.3f}")
        ax_loss.yaxis.set_minor_locator(NullLocator())
        (const_loss,) = ax_loss.plot([], [], color=COLORS["muted"], lw=1.2, label="constant lr", animated=True)
        (loss_line,) = ax_loss.plot([], [], color=COLORS["main"], lw=1.6, label="with the schedule", animated=True)
        ax_loss.legend(fontsize=8, loc="upper right")
        ax_lr.set(yscale="log", ylim=(1e-6, 0.6), xlabel="step", ylabel="lr", title="learning rate")
        ax_lr.yaxis.set_minor_locator(NullLocator())
        (const_lr,) = ax_lr.plot([], [], color=COLORS["muted"], lw=1.2, animated=True)
        (lr_line,) = ax_lr.plot([], [], color=COLORS["main"], lw=1.6, animated=True)

        def update(lr: float, schedule: str) -> str:
            lr = round(float(lr), 8)
            at, losses, lrs = run(schedule, lr)
            at_c, losses_c, lrs_c = run("constant", lr)
            losses, losses_c = losses - floor, losses_c - floor
            steps = np.arange(len(lrs))
            for artist, (xs, ys) in ((loss_line, (at, losses)), (const_loss, (at_c, losses_c)),
                                     (lr_line, (steps, lrs)), (const_lr, (steps, lrs_c))):
                artist.set_data(xs, np.clip(np.nan_to_num(ys, nan=1e9), 1e-12, 1e9))
            if ax_loss.get_xlim() != (0, len(lrs)):
                ax_loss.set_xlim(0, len(lrs))
                ax_lr.set_xlim(0, len(lrs))
            tail = lambda v: float(np.mean(v[-10:]))  # noqa: E731
            return (f"loss above the minimum, mean of the last 40 steps: constant lr {tail(losses_c):.2e}, "
                    f"{schedule} {tail(losses):.2e}. With a constant lr the noise of mini-batch steps keeps the loss "
                    f"above the minimum, by an amount that grows with the lr; a decaying lr lets it settle.")

        return update

    return Panel(controls, setup, figsize=(8.2, 3.2))


# ----------------------------------------------------------------------------- static figure: range test
def lr_range_figure(lrs, losses, suggestions: dict[str, float] | None = None, beta: float = 0.9):
    """Loss against an exponentially growing lr (log x), raw and smoothed, with the suggested lrs marked."""
    from ..optim import ema

    suggestions = suggestions if suggestions is not None else lr_range_suggestions(lrs, losses, beta)
    smooth = ema(torch.tensor(list(losses), dtype=torch.float64), beta, bias_correction=True).numpy()
    fig, ax = new_figure((6.0, 3.2))
    ax.plot(lrs, losses, color=COLORS["muted"], lw=0.8, label="mini-batch loss")
    ax.plot(lrs, smooth, color=COLORS["main"], lw=2, label=f"smoothed (EMA, beta={beta}, bias-corrected)")
    for (name, value), color in zip(suggestions.items(), (COLORS["grad"], COLORS["alt"])):
        ax.axvline(value, color=color, ls="--", lw=1.2, label=f"{name}: lr = {value:.2g}")
    ax.set(xscale="log", xlabel="learning rate (grows every step)", ylabel="loss", title="learning-rate range test",
           ylim=(0, 1.15 * float(max(smooth[:10]))))
    ax.legend(fontsize=8)
    return fig
