"""Chapter 6 (learning-rate schedules): the chapter's figures and panels. The math lives in ``helpers.schedules``."""
from __future__ import annotations

import functools
import inspect

import numpy as np
import torch
from matplotlib.ticker import NullLocator

from ..plotting import COLORS, new_figure
from ..schedules import (SCHEDULES, TRAINING_SCHEDULES, Param, least_squares_loss, lr_range_suggestions,
                         plateau_series, plateau_trace, schedule_formula, scheduler_class, scheduler_lrs, torch_plateau_lrs,
                         train_with_schedule)
from .pieces import PATH_COLORS
from .base import Panel, checkbox, dropdown, float_slider, int_slider, log_slider, one_thread, register, swept

__all__ = ["lr_range_figure", "schedule_explorer_panel", "plateau_panel", "schedule_training_panel"]

def _control(param: Param):
    """The slider or dropdown of one schedule setting, from its record."""
    if param.choices is not None:
        return dropdown(param.label, list(param.choices), param.default)
    if param.integer:
        return int_slider(param.label, int(param.low), int(param.high), int(param.default), step=int(param.step))
    return float_slider(param.label, param.low, param.high, param.step, param.default)


def _signature(cls: type) -> str:
    """``Name(arg, arg=default, ...)`` of a scheduler class, without annotations."""
    params = [str(p).replace("'", "") for p in inspect.signature(cls).parameters.values()]
    text = ", ".join(p.split(":")[0] + ("=" + p.split("=")[-1].strip() if "=" in p else "") for p in params)
    return f"{cls.__name__}({text})"


# ----------------------------------------------------------------------------- panel: schedule explorer
_COMPARED = ("step", "cosine", "warmup_cosine", "one_cycle")   # ticked when compare mode opens
_TOTAL, _LR0 = 200, 0.1


def _shown_label(key: str) -> str:
    return f"show_{key}"


def _uses(values: dict, name: str) -> bool:
    """Whether the setting ``name`` shapes a curve on the picture: the picked schedule's (single view) or a ticked one's."""
    if values["view"] == "single":
        return any(p.name == name for p in SCHEDULES[values["schedule"]].params)
    return any(values[_shown_label(key)] and any(p.name == name for p in spec.params)
               for key, spec in SCHEDULES.items())


def _in_rows(names: list[str], width: int) -> list[list[str]]:
    return [names[i:i + width] for i in range(0, len(names), width)]


@register
def schedule_explorer_panel(schedule: str = "step") -> Panel:
    """One scheduler with its settings (the formula as a line, PyTorch's lrs as dots), or any subset of them overlaid."""
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {list(SCHEDULES)}, got {schedule!r}")
    params = {p.name: p for spec in SCHEDULES.values() for p in spec.params}      # each setting once, in order
    colors = {key: PATH_COLORS[i % len(PATH_COLORS)] for i, key in enumerate(SCHEDULES)}
    styles = {key: "-" if i < len(PATH_COLORS) else "--" for i, key in enumerate(SCHEDULES)}
    ticks = {_shown_label(key): checkbox(spec.label, key in _COMPARED) for key, spec in SCHEDULES.items()}
    controls = {"view": dropdown("view", [("one schedule", "single"), ("compare", "compare")], "single"),
                "schedule": dropdown("scheduler", [(spec.label, key) for key, spec in SCHEDULES.items()], schedule),
                "log_y": checkbox("log y", False), **ticks,
                **{name: _control(p) for name, p in params.items()}}
    for name in ("T_max", "gamma"):  # the text asks the learner to sweep these (the static site keeps 5 positions)
        swept(controls[name])
    t = np.arange(_TOTAL)
    signatures = {name: _signature(scheduler_class(name)) for name in SCHEDULES}

    @functools.lru_cache(maxsize=256)
    def torch_lrs(name: str, settings: tuple) -> np.ndarray:
        with one_thread():
            return np.array(scheduler_lrs(name, dict(settings), _TOTAL, _LR0))

    @functools.lru_cache(maxsize=256)
    def formula_lrs(name: str, settings: tuple) -> np.ndarray:
        return np.array([schedule_formula(name, k, _LR0, dict(settings), _TOTAL) for k in t])

    def setup(fig):
        ax, ax_key = fig.subplots(1, 2, width_ratios=[2.5, 1.0])
        ax.set(xlim=(-2, _TOTAL + 1), xlabel="t = scheduler.step() calls so far (= optimizer step t uses this lr)",
               ylabel="learning rate")
        ax.set_ylim(-0.003, 0.107)
        ax.yaxis.set_minor_locator(NullLocator())
        ax_key.axis("off")                                    # the legend's place: never under a curve
        (line,) = ax.plot(t, t * 0.0, color=COLORS["main"], lw=2, label="formula (helpers.schedules)", animated=True)
        (dots,) = ax.plot(t, t * 0.0, "o", ms=2.6, color=COLORS["grad"], label="torch.optim.lr_scheduler",
                          animated=True)
        (tmax,) = ax.plot([], [], color=COLORS["muted"], ls="--", lw=1, label="end of the cosine", animated=True)
        curves = {key: ax.plot(t, t * 0.0, color=colors[key], ls=styles[key], lw=1.8, label=spec.label,
                               animated=True)[0] for key, spec in SCHEDULES.items()}
        listed: list = [None]                                 # the artists the legend lists now

        def show_legend(handles: list) -> None:
            """A legend of only what is drawn; rebuilt when that changes (its label texts then change too)."""
            if handles != listed[0]:
                ax_key.legend(handles=handles, loc="upper left", bbox_to_anchor=(-0.02, 1.0), fontsize=9)
                listed[0] = handles

        def single(key: str, values: dict) -> str:
            spec = SCHEDULES[key]
            p = {param.name: values[param.name] for param in spec.params}
            ours, theirs = formula_lrs(key, tuple(sorted(p.items()))), torch_lrs(key, tuple(sorted(p.items())))
            line.set_ydata(ours)
            dots.set_ydata(theirs)
            end = spec.cycle_end(p) if spec.cycle_end else None
            tmax.set_data(([end, end], [1e-7, 1.0]) if end is not None else ([], []))
            show_legend([line, dots] + ([tmax] if end is not None else []))
            if ax.get_title() != spec.label:
                ax.set_title(spec.label)
            gap = float(np.max(np.abs(ours - theirs)))
            after = f"; dashed line: end of the cosine (t = {end}), after it the lr rises again" if end else ""
            return (f"<code>{spec.text}</code>{after}<br>PyTorch: <code>{signatures[key]}</code>"
                    f"<br>settings {p}; max |formula - torch| = {gap:.1e}")

        def compare(values: dict) -> str:
            shown = [key for key in SCHEDULES if values[_shown_label(key)]]
            rows = []
            for key, curve in curves.items():
                if key in shown:
                    p = {param.name: values[param.name] for param in SCHEDULES[key].params}
                    lrs = torch_lrs(key, tuple(sorted(p.items())))
                    curve.set_ydata(lrs)
                    gap = float(np.max(np.abs(formula_lrs(key, tuple(sorted(p.items()))) - lrs)))
                    rows.append(f"<span style='color:{colors[key]}'>■</span> {SCHEDULES[key].label} {p}: "
                                f"lr at t = 199 {lrs[-1]:.2g}, max |formula - torch| = {gap:.1e}")
            show_legend([curves[key] for key in shown])
            title = "compare: PyTorch's schedulers, each with its settings from the sliders"
            if ax.get_title() != title:
                ax.set_title(title)
            if not shown:
                return "Tick at least one schedule to draw it."
            return "Settings shared by name (T_max, eta_min, gamma) move every curve that uses them.<br>" + "<br>".join(rows)

        def update(view, schedule, log_y, **values) -> str:
            for artist in (line, dots, tmax):
                artist.set_visible(view == "single")
            for key, curve in curves.items():
                curve.set_visible(view == "compare" and values[_shown_label(key)])
            scale = "log" if log_y else "linear"
            if ax.get_yscale() != scale:
                ax.set_yscale(scale)
                ax.set_ylim((2e-7, 0.3) if log_y else (-0.003, 0.107))
            return single(schedule, values) if view == "single" else compare(values)

        return update

    def uses(name: str):
        return lambda v: _uses(v, name)

    def comparing(v: dict) -> bool:
        return v["view"] == "compare"

    rules = {name: uses(name) for name in params}
    rules.update({name: comparing for name in ticks})
    rules["schedule"] = lambda v: v["view"] == "single"
    # a hidden control frees its grid cell and the later cells move up: hidden ones come in whole rows or last
    groups = [("what to draw", [["view"], *_in_rows(list(ticks), 4), ["schedule", "log_y"]]),
              ("settings", _in_rows(list(params), 2))]
    return Panel(controls, setup, figsize=(10.0, 3.3), enabled_when=rules, shown_when=rules, groups=groups,
                 states=_EXPLORER_STATES)


def _compare(*keys: str, **settings) -> dict:
    """A compare-view state that ticks exactly ``keys`` (and sets ``settings``)."""
    return {"view": "compare", **{_shown_label(key): key in keys for key in SCHEDULES}, **settings}


# the experiments the chapter suggests: one schedule with a setting, or a set of curves compared
_EXPLORER_STATES = {
    "余弦回升": {"schedule": "cosine", "T_max": 50},
    "指数变直线": {"schedule": "exponential", "log_y": True},
    "StepLR 台阶": {"schedule": "step", "gamma": 0.5},
    "MultiStep 台阶": {"schedule": "multistep", "gamma": 0.5},
    "预热平移": _compare("cosine", "warmup_cosine"),
    "余弦对线性": _compare("cosine", "polynomial", T_max=200, total_iters=200),
    "OneCycle": _compare("one_cycle"),
}


# ----------------------------------------------------------------------------- panel: ReduceLROnPlateau
def _vlines(xs, lo: float, his) -> tuple[list, list]:
    """x and y data of one Line2D that draws a vertical segment from ``lo`` to ``his[i]`` at every ``xs[i]`` (NaN between)."""
    x, y = [], []
    for v, hi in zip(xs, his):
        x += [v, v, np.nan]
        y += [lo, hi, np.nan]
    return x, y


def _ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, ..., 11th, 12th, 13th, 21st."""
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


_BEST_COLOR, _MUST_COLOR = "#9ecae1", "#00441b"      # pale blue band, dark green dashes: apart even when on top


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
        return torch_plateau_lrs(values, 1.0, **settings)

    def setup(fig):
        ax_loss, ax_bad, ax_lr = fig.subplots(3, 1, sharex=True, height_ratios=[2.2, 1, 1.2])
        ax_loss.plot(epochs, losses, "o", ms=3, color=COLORS["muted"], label="val loss (scheduler.step(loss))",
                     zorder=3, animated=True)                 # on top of the band of "best so far"
        ax_loss.set(ylim=(0.25, 1.05), ylabel="val loss")    # room for best - 0.1 (abs mode)
        # the two lines are often a hair apart (threshold 1e-4): a wide pale band with a thin dark dashed line on it
        (best,) = ax_loss.plot(epochs, losses, drawstyle="steps-post", color=_BEST_COLOR, lw=5, solid_capstyle="butt",
                               label="best so far (wide band)", animated=True)
        (must,) = ax_loss.plot(epochs, losses, drawstyle="steps-post", color=_MUST_COLOR, lw=1.3, dashes=(3, 2),
                               label="must get below this to count as better (dashed)", animated=True)
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
            cuts.set_data(*_vlines(epochs[trace.events], 0.25, losses[trace.events] + 0.1))   # below the legend
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
            cut = f"cut after epoch {where}: " if len(trace.events) == 1 else f"cuts after epochs {where}: each one "
            cooling_note = "; purple squares: cooldown epochs (not counted)" if int(cooldown) else ""
            return last + (f"{cut}on the {_ordinal(int(patience) + 1)} bad epoch in a row, when the count would "
                    f"pass patience = {int(patience)} (dotted line at patience + ½); the count (orange, after each "
                    f"epoch) goes back to 0 at once, so it peaks at patience{cooling_note}. "
                    f"Dots on the lr: torch's ReduceLROnPlateau.")

        return update

    @functools.lru_cache(maxsize=512)
    def cuts_at_all(patience: int, threshold: float, threshold_mode: str) -> bool:
        return bool(plateau_trace(values, 1.0, factor=0.5, patience=patience, threshold=threshold,
                                  threshold_mode=threshold_mode).events)

    def has_cuts(v: dict) -> bool:
        """factor and cooldown only act after a cut: without one they are disabled."""
        return cuts_at_all(int(v["patience"]), float(v["threshold"]), v["threshold_mode"])

    groups = [("what counts as a new best", [["threshold"], ["threshold_mode"]]),
              ("when and how much to cut", [["patience"], ["factor"], ["cooldown"]])]
    return Panel(controls, setup, figsize=(7.4, 4.3), enabled_when={"factor": has_cuts, "cooldown": has_cuts},
                 groups=groups)


# ----------------------------------------------------------------------------- panel: training with a schedule
@register
def schedule_training_panel() -> Panel:
    """The same linear model trained with mini-batch SGD under a chosen schedule: loss curve and lr, against a constant lr."""
    controls = {
        "lr": log_slider("lr (peak)", -2.5, -0.5, 0.1, step=0.25),
        "schedule": dropdown("schedule", [(label, key) for key, label in TRAINING_SCHEDULES.items()], "cosine"),
    }
    floor = least_squares_loss()

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
            ours, const = float(np.mean(losses[-10:])), float(np.mean(losses_c[-10:]))
            if schedule == "constant":
                verdict = ("The loss is still falling (the last 40 steps are lower than the 40 before): at this lr, "
                           "320 steps do not reach the noise floor" if const < float(np.mean(losses_c[-20:-10])) else
                           "The loss has stopped falling: mini-batch noise keeps it on a floor above the minimum, "
                           "and a larger lr gives a higher floor")
            elif np.array_equal(lrs, lrs_c):
                verdict = "The lr was never cut: the loss kept falling, so this run is the constant-lr run"
            elif const >= 2 * ours:
                verdict = f"The schedule ends {const / ours:.0f}x closer: a decaying lr lets the loss settle below the noise floor"
            elif ours >= 2 * const:
                verdict = (f"Here the constant lr ends {ours / const:.0f}x closer: at this small peak lr, decaying it "
                           f"slows training before it reaches the minimum")
            else:
                verdict = f"About even: the two end within a factor of 2 (constant / schedule = {const / ours:.2f})"
            return (f"loss above the minimum, mean of the last 40 steps: constant lr {const:.2e}, "
                    f"{TRAINING_SCHEDULES[schedule]} {ours:.2e}. {verdict}.")

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
