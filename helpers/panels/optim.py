r"""Chapter 5 (optimizers): the chapter's figures and panels. They only draw: the optimizers, their
records (``OPTIMIZERS``), the race engine, the heavy ball's rates and the data come from ``helpers.optim``.
"""
from __future__ import annotations

import functools

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.lines import Line2D
from matplotlib.colors import LogNorm
from matplotlib.ticker import NullLocator

from ..data import SURFACES, Surface
from ..optim import (NAMED_STARTS, OPTIMIZERS, Adagrad, RMSprop, component_rates, effective_lr, eigen_errors, ema,
                     gd_optimal, heavy_ball_rate, heavy_ball_run, heavy_ball_steps, lowest_value, momentum_optimal,
                     noisy_wave, outcomes_differ, quiet_gradients, race_path, surface_hessian, view_point)
from ..plotting import COLORS, new_figure
from .pieces import ContourPaths
from .base import (Panel, PanelMessage, checkbox, dropdown, float_slider, int_slider, log_slider, play_slider, register,
                   swept)

__all__ = ["gd_limits_figure", "optimizer_race_panel", "ema_panel", "momentum_panel", "adaptive_lr_panel"]

# One colour per optimizer, by its position in OPTIMIZERS (a new record takes the next one).
_PALETTE = ("#333333", COLORS["main"], "#17becf", COLORS["alt"], COLORS["accent"], COLORS["grad"], COLORS["purple"],
            "#8c564b", "#e377c2", "#bcbd22")
_COLORS = dict(zip(OPTIMIZERS, _PALETTE))


# ----------------------------------------------------------------------------- drawing pieces
def _draw_surface(ax, surface: Surface, n: int = 90):
    """Filled contours of ``surface`` (log-spaced above the minimum), its minima (*) and saddles (x)."""
    xs, ys = np.linspace(*surface.xlim, n), np.linspace(*surface.ylim, n)
    X, Y = np.meshgrid(xs, ys)
    Z = surface.fn(X, Y) - lowest_value(surface)
    levels = np.unique(np.quantile(Z, np.linspace(0, 1, 14) ** 1.5))
    artists = [ax.contourf(X, Y, Z, levels=levels, cmap="Blues_r", alpha=0.45),
               ax.contour(X, Y, Z, levels=levels, colors="white", linewidths=0.6)]
    for a, b in surface.minima:
        artists += ax.plot([a], [b], marker="*", ms=11, color="gold", mec="black", mew=0.6, ls="none")
    for a, b in surface.saddles:
        artists += ax.plot([a], [b], marker="X", ms=8, color="white", mec="black", mew=0.6, ls="none")
    ax.set(xlim=surface.xlim, ylim=surface.ylim, xlabel="x", ylabel="y")
    return artists


def _remove(artists) -> None:
    for a in artists:
        a.remove()


# ----------------------------------------------------------------------------- static figure (E28)
def gd_limits_figure(lr: float = 0.05, steps: int = 120):
    """Four cases where plain gradient descent (the rule of ``torch.optim.SGD``) struggles, each on its own surface."""
    cases = [
        ("local minimum", SURFACES["multi_minima"], [(0.3, 2.2)]),
        ("saddle point", SURFACES["saddle"], [(-2.0, 0.01), (-2.0, 0.0)]),
        ("plateau", SURFACES["plateau"], [(-2.6, 2.0), (-0.9, 0.7)]),
        ("start matters", SURFACES["multi_minima"], [(-2.2, 2.2), (2.2, 2.2), (-2.2, -2.2), (2.2, -1.0)]),
    ]
    fig, axes = new_figure((11.0, 3.0), ncols=4)
    colors = [COLORS["grad"], COLORS["accent"], COLORS["purple"], COLORS["alt"]]
    for ax, (title, surface, starts) in zip(axes, cases):
        _draw_surface(ax, surface)
        for color, start in zip(colors, starts):
            path, _ = race_path("SGD", surface.fn, start, steps, lr=lr)   # the same numbers as torch.optim.SGD
            ax.plot(path[:, 0], path[:, 1], ".-", ms=2, lw=1, color=color)
            ax.plot(*path[0], "o", ms=5, color=color, mec="black", mew=0.5)
            ax.plot(*path[-1], "s", ms=5, color=color, mec="black", mew=0.5)
        ax.set_title(f"{title}: {surface.name}", fontsize=10)
    fig.suptitle(f"plain SGD, lr = {lr}, {steps} steps (o start, square end, * minima, X saddle)", fontsize=10)
    return fig


# ----------------------------------------------------------------------------- panel: the race
_MAX_STEPS = 500           # every run is computed this long once per setting; `steps` and `t` only slice it
_TRACK = 124               # px of slider track in an optimizer's row (>= 120; the rows are long)
_EIGEN_STYLES = ("-", "--")   # error along the eigenvector of lambda_min, lambda_max


def _html_table(rows: list[list[str]], header: list[str]) -> str:
    cells = "".join(f"<th style='padding:0 8px;text-align:left'>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td style='padding:0 8px'>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table style='font-size:12px;font-family:monospace'><tr>{cells}</tr>{body}</table>"


def _row_label(spec, hyper) -> str:
    """How an optimizer's row names one of its settings: lr, beta (momentum), beta1/beta2 (Adam), alpha (RMSProp), wd."""
    names = {h.name for h in spec.hypers}
    if hyper.name == "beta1":
        return "β1" if "beta2" in names else "β"
    if hyper.name == "beta2":
        return "β2" if "beta1" in names else "α"
    return {"lr": "lr", "weight_decay": "wd"}[hyper.name]


_SWEPT_LR = ("SGD", "Adam")  # the learning rates the text sweeps (SGD diverging, Adam over its whole slider)


def _row_slider(name: str, spec, hyper):
    """The slider of one setting in an optimizer's row: a short label and a short track, so a row fits."""
    label = _row_label(spec, hyper)
    if hyper.log:
        slider = log_slider(label, hyper.low, hyper.high, hyper.default, step=hyper.step, track=_TRACK)
        return swept(slider) if name in _SWEPT_LR else slider
    return float_slider(label, hyper.low, hyper.high, hyper.step, hyper.default, track=_TRACK)


def _gap_text(gap: float, chaotic: bool = False) -> str:
    """f - f* as printed: clamped at 0, '< 1e-12' below that, one digit and a warning when chaotic."""
    if not np.isfinite(gap):
        return "diverged"
    gap = max(float(gap), 0.0)
    if gap < 1e-12:
        return "&lt; 1e-12"
    return f"~{gap:.0e} (chaotic)" if chaotic else f"{gap:.2e}"


def _race_controls(surface: str) -> dict:
    controls = {}
    for name, spec in OPTIMIZERS.items():
        controls[name] = checkbox(name, spec.race_on)
        for h in spec.hypers:
            controls[f"{name}_{h.name}"] = _row_slider(name, spec, h)
    controls["surface"] = dropdown("surface", list(SURFACES), surface)
    for surf, starts in NAMED_STARTS.items():
        controls[f"start_{surf}"] = dropdown("start", list(starts), next(iter(starts)))
    controls["free_start"] = checkbox("free start (sliders)", False)
    controls["x0"] = float_slider("start x (fraction of view)", -1.0, 1.0, 0.05, -0.5)
    controls["y0"] = float_slider("start y (fraction of view)", -1.0, 1.0, 0.05, 0.5)
    controls["steps"] = int_slider("steps", 50, _MAX_STEPS, 300, step=50)
    controls["t"] = play_slider("step t", 0, 300, 300, interval=100)
    return controls


def _start_of(surf: Surface, v: dict) -> tuple[float, float]:
    """The start the controls pick: a named start of the surface, or the free sliders (fractions of the view)."""
    if not v["free_start"]:
        return NAMED_STARTS[surf.name][v[f"start_{surf.name}"]]
    return view_point(surf, v["x0"], v["y0"])


def _log_position(value: float, low: float, high: float, step: float) -> float:
    """The position of a log slider over 10**low .. 10**high nearest ``value``, as the slider's grid computes it."""
    k = round((np.log10(value) - low) / step)
    return min(10 ** (low + k * step), 10.0 ** high)   # (the top end exactly: 10**(-3 + 30 * 0.1) > 1)


def _lr(hyper, value: float) -> float:
    """The position of an optimizer row's lr slider nearest ``value``."""
    return _log_position(value, hyper.low, hyper.high, hyper.step)


def _race_states() -> dict[str, dict]:
    """The experiments the chapter's "可以试试" list suggests (one per setting it names), by button label."""
    sgd, adaptive = OPTIMIZERS["SGD"].hypers[0], OPTIMIZERS["Adam"].hypers[0]   # the two lr sliders' grids
    return {
        # 1. rosenbrock: SGD diverges past lr ~ 0.006 (the slider: 0.00501 does not, 0.00631 does); Adam never
        "SGD 不发散": {"surface": "rosenbrock", "SGD_lr": _lr(sgd, 0.005)},
        "SGD 发散": {"surface": "rosenbrock", "SGD_lr": _lr(sgd, 0.0063)},
        "Adam lr=1": {"surface": "rosenbrock", "Adam_lr": _lr(adaptive, 1.0)},
        # 2. the saddle: on the ridge (y = 0) nothing leaves it; from y = 0.01 momentum and Adam slide off
        "鞍点山脊": {"surface": "saddle", "start_saddle": "saddle ridge"},
        "离开山脊": {"surface": "saddle", "start_saddle": "default (just off the ridge)"},
        # 3. the plateau: SGD crawls, RMSProp jumps off in two steps, Adam with beta1 = 0 cannot settle
        "平原": {"surface": "plateau"},
        "平原 t=2": {"surface": "plateau", "t": 2},
        "Adam β1=0": {"surface": "plateau", "Adam_beta1": 0.0},
        # 4. multi_minima: which well each optimizer ends in
        "第二个坑": {"surface": "multi_minima", "start_multi_minima": "near the second minimum"},
        "两坑之间": {"surface": "multi_minima", "start_multi_minima": "between the wells"},
        "自选起点": {"surface": "multi_minima", "free_start": True, "x0": 0.5, "y0": 0.5},
        # 5. Adam's L2 against AdamW's decoupled decay: one path without decay, two with it
        "wd=0": {"surface": "rosenbrock", "AdamW": True},
        "wd=0.5": {"surface": "rosenbrock", "AdamW": True, "Adam_weight_decay": 0.5, "AdamW_weight_decay": 0.5},
        # 6. the quadratic's component view: GD below alpha*, just past it, diverging; the slider's best momentum
        "分量视图": {"surface": "quadratic"},
        "GD 近 α*": {"surface": "quadratic", "SGD_lr": _lr(sgd, 0.158)},
        "刚过 α*": {"surface": "quadratic", "SGD_lr": _lr(sgd, 0.1995)},
        "GD 发散": {"surface": "quadratic", "SGD_lr": _lr(sgd, 0.251)},
        "动量最快": {"surface": "quadratic", "Momentum_lr": _lr(sgd, 0.1995), "Momentum_beta1": 0.31},
        "浅特征向量": {"surface": "quadratic", "start_quadratic": "on the shallow eigenvector",
                      "SGD_lr": _lr(sgd, 0.158)},
    }


@functools.lru_cache(maxsize=1024)
def _race_run(name: str, surf_name: str, start: tuple, settings: tuple):
    """One optimizer's race of ``_MAX_STEPS`` steps, computed once per setting: path, f - f*, and f - f* of the
    same run from a start nudged by 1e-9 (``race_chaotic``'s rule, applied at any step by comparing the two)."""
    surf, hp = SURFACES[surf_name], dict(settings)
    f_min = lowest_value(surf)
    path, losses = race_path(name, surf.fn, start, _MAX_STEPS, **hp)
    _, nudged = race_path(name, surf.fn, (start[0] + 1e-9, start[1] + 1e-9), _MAX_STEPS, **hp)
    return path, losses - f_min, nudged - f_min


def _chaotic_at(gap: np.ndarray, nudged: np.ndarray, k: int) -> bool:
    """``race_chaotic``'s rule at step k: the run from the nudged start ends elsewhere."""
    return outcomes_differ(float(gap[k]), float(nudged[k]))


@functools.lru_cache(maxsize=256)
def _eigen_run(lams: tuple, e0: tuple, lr: float, beta: float) -> np.ndarray:
    """|error| along each eigenvector over ``_MAX_STEPS`` steps, computed once per setting (t and steps slice it)."""
    return np.abs(eigen_errors(lams, e0, lr, beta, _MAX_STEPS))


def _quadratic_eigen(surf: Surface):
    """Curvatures (ascending) and eigenvectors (columns) of a quadratic surface's Hessian at its minimum."""
    lams, vectors = np.linalg.eigh(surface_hessian(surf.fn, *surf.minima[0]))
    return lams, vectors


@register
def optimizer_race_panel(surface: str = "rosenbrock") -> Panel:
    """Every optimizer of the chapter on a 2-D surface: paths, iterates at step t, f - f* against the step and,
    on the quadratic, the error along each eigenvector of the Hessian for GD and momentum (Goh, Distill 2017)."""
    if surface not in SURFACES:
        raise ValueError(f"surface must be one of {list(SURFACES)}, got {surface!r}")
    controls = _race_controls(surface)
    names = list(OPTIMIZERS)

    def setup(fig):
        fig.set_layout_engine("none")   # fixed places: the loss axes widens when the component view is hidden
        ax_path = fig.add_axes((0.06, 0.12, 0.26, 0.78))
        ax_loss = fig.add_axes((0.385, 0.12, 0.255, 0.78))
        ax_gd = fig.add_axes((0.735, 0.58, 0.255, 0.32))
        ax_hb = fig.add_axes((0.735, 0.12, 0.255, 0.32))
        contour = ContourPaths(ax_path, names, list(_COLORS.values()), resolution=120)
        ax_path.set(xlabel="x", ylabel="y")
        (saddles,) = ax_path.plot([], [], "X", ms=8, color="white", mec="black", mew=0.6, ls="none")
        (start_mark,) = ax_path.plot([], [], "o", ms=7, mfc="white", mec="black", animated=True)
        here = {n: ax_path.plot([], [], "o", ms=10, color=_COLORS[n], mec="black", mew=1.2, animated=True)[0]
                for n in names}
        ax_loss.set(yscale="log", xlabel="step", ylabel="f(w) - f*  (clamped at 1e-12)", title="loss against step")
        ax_loss.yaxis.set_minor_locator(NullLocator())
        loss_lines = {n: ax_loss.plot([], [], lw=1.6, color=_COLORS[n], label=n, animated=True)[0] for n in names}
        loss_here = {n: ax_loss.plot([], [], "o", ms=7, color=_COLORS[n], mec="black", mew=1.0, animated=True)[0]
                     for n in names}
        comp = {}   # (axes, setting, component) -> line
        for ax, optimizer in ((ax_gd, "SGD"), (ax_hb, "Momentum")):
            ax.set(yscale="log", ylim=(1e-12, 1e6), ylabel="|error| along\neigenvector")
            ax.yaxis.set_minor_locator(NullLocator())
            for i, style in enumerate(_EIGEN_STYLES):   # yours in the optimizer's colour, the best in grey
                comp[ax, "yours", i] = ax.plot([], [], lw=1.6, ls=style, color=_COLORS[optimizer], animated=True)[0]
                comp[ax, "best", i] = ax.plot([], [], lw=1.4, ls=style, color=COLORS["muted"], alpha=0.8,
                                              animated=True)[0]
        ax_hb.set_xlabel("step")
        t_lines = [ax.axvline(0, color="black", lw=0.8, ls=":", animated=True, zorder=1.5)   # under the dots
                   for ax in (ax_loss, ax_gd, ax_hb)]
        drawn = {"surface": None, "legend": None, "eigen": None, "top": None}

        def show_surface(surf: Surface):
            contour.set_surface(surf)
            saddles.set_data([p[0] for p in surf.saddles], [p[1] for p in surf.saddles])
            ax_path.set_title(f"surface: {surf.name}  (o: start, dots: step t)")
            grid = np.meshgrid(np.linspace(*surf.xlim, 60), np.linspace(*surf.ylim, 60))
            drawn["top"] = 10 * float(np.max(surf.fn(*grid)) - lowest_value(surf))   # show_legend sets the y range
            quadratic = surf.name == "quadratic"
            ax_gd.set_visible(quadratic)
            ax_hb.set_visible(quadratic)
            ax_loss.set_position((0.385, 0.12, 0.255 if quadratic else 0.6, 0.78))
            if quadratic:
                lams, vectors = _quadratic_eigen(surf)
                a_gd, r_gd = gd_optimal(lams[0], lams[-1])
                a_hb, b_hb, r_hb = momentum_optimal(lams[0], lams[-1])
                ax_gd.set_title(f"GD (SGD row); grey: best, α* = {a_gd:.3f}", fontsize=10)
                ax_hb.set_title(f"Momentum row; grey: α* = {a_hb:.3f}, β* = {b_hb:.3f}", fontsize=10)
                handles = [Line2D([], [], color="black", lw=1.4, ls=style, label=f"λ = {lam:g}")
                           for style, lam in zip(_EIGEN_STYLES, lams)]
                ax_gd.legend(handles=handles, loc="upper right", ncol=2, fontsize=9.5)
                drawn["eigen"] = (lams, vectors, (a_gd, r_gd), (a_hb, b_hb, r_hb))
            drawn["surface"] = surf.name

        def show_legend(on: list[str], surface: str):
            """A legend of the optimizers switched on, in the upper right, where no curve is: the loss axes get
            room above the highest start for the legend's rows (1.4 decades a row). Curves fall to the floor at
            very different speeds on every surface, so no corner below the starts stays empty (a slow SGD stays
            near the top, a fast RMSProp reaches the floor at the left)."""
            ncol = 2 if surface == "quadratic" else 4   # the narrow axes beside the component view: two columns
            top = drawn["top"] * 10 ** (1.4 * -(-len(on) // ncol) + 0.6) if on else drawn["top"]
            if drawn["legend"] == (on, ncol, top):
                return
            old = ax_loss.get_legend()
            if old is not None:
                old.remove()
            ax_loss.set_ylim(3e-13, top)
            if on:
                ax_loss.legend(handles=[loss_lines[n] for n in on], loc="upper right", ncol=ncol, fontsize=9.5)
            drawn["legend"] = (on, ncol, top)

        def components(v: dict, start, steps: int, k: int) -> str:
            """The component view's curves, and its line of the readout."""
            lams, vectors, (a_gd, r_gd), (a_hb, b_hb, r_hb) = drawn["eigen"]
            e0 = vectors.T @ (np.asarray(start) - np.asarray(SURFACES["quadratic"].minima[0]))
            key = (tuple(float(lam) for lam in lams), tuple(round(float(c), 12) for c in e0))
            runs = {(ax_gd, "best"): (a_gd, 0.0), (ax_hb, "best"): (a_hb, b_hb)}
            if v["SGD"]:
                runs[ax_gd, "yours"] = (float(v["SGD_lr"]), 0.0)
            if v["Momentum"]:
                runs[ax_hb, "yours"] = (float(v["Momentum_lr"]), float(v["Momentum_beta1"]))
            for (ax, setting, i), line in comp.items():
                line.set_visible((ax, setting) in runs)
            rates = {}
            for (ax, setting), (lr, beta) in runs.items():
                errors = _eigen_run(*key, round(lr, 12), round(beta, 12))[:steps + 1]
                for i in range(len(lams)):
                    comp[ax, setting, i].set_data(np.arange(steps + 1), np.clip(errors[:, i], 1e-15, 1e15))
                rates[ax, setting] = float(np.max(component_rates(lams, lr, beta)))
            parts = [f"GD best: alpha* = 2/(l_min+l_max) = {a_gd:.4f}, rate (kappa-1)/(kappa+1) = {r_gd:.4f}",
                     f"momentum best: alpha* = {a_hb:.4f}, beta* = {b_hb:.4f}, "
                     f"rate (sqrt(kappa)-1)/(sqrt(kappa)+1) = {r_hb:.4f}"]
            if (ax_gd, "yours") in rates:
                parts.append(f"your GD rate {rates[ax_gd, 'yours']:.4f}")
            if (ax_hb, "yours") in rates:
                parts.append(f"your momentum rate {rates[ax_hb, 'yours']:.4f}")
            return (f"<div>component view (lambda = {lams[0]:g}, {lams[-1]:g}; error at start along the eigenvectors "
                    f"({e0[0]:.2f}, {e0[1]:.2f})): " + "; ".join(parts) + "</div>")

        def update(surface, t, steps, **v):
            surf = SURFACES[surface]
            if drawn["surface"] != surface:   # static contours and titles change only with the surface
                show_surface(surf)
            steps = int(steps)
            k = min(int(t), steps)
            xlim = (-0.015 * steps, 1.015 * steps)   # room for a whole dot at step 0 and at the last step
            if ax_loss.get_xlim() != xlim:           # (set_xlim marks the figure stale even when nothing changes)
                for ax in (ax_loss, ax_gd, ax_hb):
                    ax.set_xlim(*xlim)
            for line in t_lines:
                line.set_xdata([k, k])
            start = tuple(float(c) for c in _start_of(surf, v))
            start_mark.set_data([start[0]], [start[1]])
            on = [n for n in names if v[n]]
            for n in names:
                for artist in (loss_lines[n], loss_here[n], here[n]):
                    artist.set_visible(n in on)
            show_legend(on, surface)   # (after the visibility: a legend copies its handles' look)
            rows, paths = [], {}
            for n in names:
                if n not in on:
                    continue
                spec = OPTIMIZERS[n]
                settings = tuple((h.name, round(float(v[f"{n}_{h.name}"]), 12)) for h in spec.hypers)
                path, gap, nudged = _race_run(n, surface, start, settings)
                path, gap = path[:steps + 1], gap[:steps + 1]
                paths[n] = path
                shown_gap = np.clip(gap, 1e-12, 1e15)
                loss_lines[n].set_data(np.arange(steps + 1), shown_gap)
                finite = np.isfinite(gap)
                last = int(np.sum(finite)) - 1
                j = min(k, last)                     # a diverged run keeps its last finite iterate
                here[n].set_data([path[j, 0]], [path[j, 1]])
                loss_here[n].set_data([j], [shown_gap[j]])
                hit = np.nonzero(gap <= 1e-4)[0]
                setting = ", ".join(f"{_row_label(spec, h)}={value:{h.fmt if h.short else '.3g'}}"
                                    for h, (_, value) in zip(spec.hypers, settings))
                final = (f"diverged at step {last + 1}" if last < steps
                         else _gap_text(gap[steps], _chaotic_at(gap, nudged, steps)))
                at_t = "diverged" if k > last else _gap_text(gap[k], _chaotic_at(gap, nudged, k))
                rows.append([f"<b style='color:{_COLORS[n]}'>{n}</b>", setting,
                             f"({path[j, 0]:.3f}, {path[j, 1]:.3f})", at_t, final,
                             str(hit[0]) if len(hit) else "-"])
            contour.set_paths(paths)
            extra = components(v, start, steps, k) if surface == "quadratic" else ""
            if not rows:
                raise PanelMessage("Switch on at least one optimizer.")
            note = ("<div style='font-size:11px'>chaotic: a second run from a start moved by 1e-9 ends with an "
                    "f - f* more than 0.1% different, so only the order of magnitude means something</div>"
                    if any("chaotic" in c for row in rows for c in row) else "")
            return (f"start = ({start[0]:.2f}, {start[1]:.2f}), step t = {k}"
                    + _html_table(rows, ["optimizer", "settings", "w at step t", "f - f* at t",
                                         f"f - f* after {steps}", "steps to 1e-4"]) + note + extra)

        return update

    def row_on(name):
        return lambda v: bool(v[name])

    def free_start(v):
        return bool(v["free_start"])

    def start_of_surface(surf):
        return lambda v: v["surface"] == surf

    def named_start_of_surface(surf):
        return lambda v: v["surface"] == surf and not v["free_start"]

    enabled = {f"{n}_{h.name}": row_on(n) for n, spec in OPTIMIZERS.items() for h in spec.hypers}
    shown = {"x0": free_start, "y0": free_start, **{f"start_{s}": start_of_surface(s) for s in NAMED_STARTS}}
    enabled.update(shown)   # a hidden control has no effect either
    enabled.update({f"start_{s}": named_start_of_surface(s) for s in NAMED_STARTS})   # shown, greyed when free
    rows = [[n] + [f"{n}_{h.name}" for h in spec.hypers] for n, spec in OPTIMIZERS.items()]
    groups = [("optimizers (lr: learning rate; β: momentum; β1, β2: Adam's EMAs; α: RMSProp's EMA; wd: weight decay)",
               rows),
              ("surface and start", [["surface"]] + [[f"start_{s}"] for s in NAMED_STARTS]
               + [["free_start"], ["x0"], ["y0"]]),
              ("steps", [["steps"], ["t"]])]
    panel = Panel(controls, setup, figsize=(12.0, 4.6), redraw_on=("surface",), enabled_when=enabled,
                  shown_when=shown, groups=groups, follow=_follow_steps, states=_race_states())
    return panel


def _follow_steps(controls: dict, changed: str | None) -> None:
    """The step slider t (and its Play button) runs over 0..steps; t at the end stays at the end."""
    t, steps = controls["t"], controls["steps"]
    at_end = t.value >= t.max
    t.max = steps.value
    if at_end or changed is None and t.value > steps.value:
        t.value = steps.value


# ----------------------------------------------------------------------------- panel: EMA
@register
def ema_panel() -> Panel:
    """EMA of a noisy series: the beta slider trades noise for lag; bias correction removes the early dip."""
    signal, x = noisy_wave()
    t = np.arange(1, len(x) + 1)
    k = np.arange(0, 60)
    controls = {"beta": swept(float_slider("beta", 0.5, 0.99, 0.01, 0.9)),  # the text sweeps beta from 0.5 to 0.99
                "correct": checkbox("bias correction", False)}

    @functools.lru_cache(maxsize=128)
    def smooth(beta: float, correct: bool) -> np.ndarray:
        return ema(torch.from_numpy(x), beta, bias_correction=correct).numpy()

    def setup(fig):
        ax, ax_w = fig.subplots(1, 2, width_ratios=[2.2, 1])
        ax.plot(t, x, ".", ms=3, color=COLORS["muted"], label="x_t (noisy)")
        ax.plot(t, signal, color="black", lw=1, ls="--", label="signal")
        ax.set(xlim=(0, len(x) + 1), ylim=(-0.5, 9), xlabel="t", ylabel="value", title="EMA v_t of a noisy series")
        (line,) = ax.plot(t, x, color=COLORS["grad"], lw=2, label="EMA v_t", animated=True)
        ax.legend(loc="lower right", fontsize=8, ncol=3)
        ax_w.set(xlim=(-1, len(k)), ylim=(0, 0.52), xlabel="k (steps back)", ylabel="weight of x_(t-k)",
                 title="weights (1-beta) beta^k")
        (weights,) = ax_w.plot(k, k * 0.0, drawstyle="steps-mid", color=COLORS["main"], animated=True)
        (half,) = ax_w.plot([], [], "|", ms=14, mew=2, color=COLORS["accent"], animated=True)

        def update(beta: float, correct: bool) -> str:
            v = smooth(round(float(beta), 6), bool(correct))
            line.set_ydata(v)
            w = (1 - beta) * beta ** k
            weights.set_ydata(w)
            window = 1 / (1 - beta)
            half.set_data([window], [0.02])
            lag = int(np.argmax(v[60:120]) - np.argmax(signal[60:120]))   # second crest of the signal
            return (f"v_1 = {v[0]:.3f} (x_1 = {x[0]:.3f}; without correction v_1 = (1-beta) x_1); "
                    f"the 10 newest points carry weight 1 - beta^10 = {1 - beta ** 10:.3f}; "
                    f"average age of the data in v_t = beta/(1-beta) = {beta / (1 - beta):.1f} steps "
                    f"(orange tick: 1/(1-beta) = {window:.1f}); peak of v_t lags the signal's by {lag} steps")

        return update

    return Panel(controls, setup, figsize=(8.2, 3.0))


# ----------------------------------------------------------------------------- panel: momentum (Goh)
@register
def momentum_panel() -> Panel:
    """SGD with momentum on f = (x^2/kappa + y^2)/2: the path, the loss, steps to 1e-6 against beta and the rate map."""
    controls = {
        "beta": float_slider("momentum beta", 0.0, 0.98, 0.02, 0.5),
        "lr": log_slider("lr (alpha)", -2, 0.6, 0.5, step=0.05),
        "kappa": dropdown("condition number kappa", [10, 30, 100, 300], 100),
    }
    start, tol, shown, max_steps = (-2.0, 1.0), 1e-6, 200, 1500
    betas = np.round(np.arange(0.0, 0.99, 0.02), 2)
    lrs_grid, betas_grid = np.logspace(-2, 0.6, 110), np.linspace(0.0, 0.99, 100)

    def lams(kappa) -> tuple[float, float]:
        return (1.0 / kappa, 1.0)

    @functools.lru_cache(maxsize=64)
    def steps_against_beta(lr: float, kappa: int) -> np.ndarray:
        return heavy_ball_steps(lams(kappa), start, lr, betas, tol, max_steps).astype(float)

    def setup(fig):
        (ax_path, ax_loss), (ax_steps, ax_map) = fig.subplots(2, 2)
        X, Y = np.meshgrid(np.linspace(-2.4, 2.4, 100), np.linspace(-1.3, 1.3, 80))
        ax_path.set(xlim=(-2.4, 2.4), ylim=(-1.3, 1.3), xlabel="x  (curvature 1/kappa)", ylabel="y  (curvature 1)")
        (path_line,) = ax_path.plot([], [], ".-", ms=2.5, lw=1, color=COLORS["grad"], animated=True)
        ax_path.plot(*start, "o", ms=6, mfc="white", mec="black")
        ax_loss.set(xlim=(0, shown), ylim=(1e-7, 1e3), yscale="log", xlabel="step", ylabel="f(w) / f(w0)",
                    title="loss against step")
        ax_loss.yaxis.set_minor_locator(NullLocator())
        (loss_line,) = ax_loss.plot([], [], color=COLORS["grad"], lw=1.8, animated=True)
        ax_steps.set(xlim=(0, 1), ylim=(1, max_steps * 2), yscale="log", xlabel="beta",
                     ylabel="steps to 1e-6 f(w0)", title="speed against beta, at your lr")
        ax_steps.yaxis.set_minor_locator(NullLocator())
        (steps_line,) = ax_steps.plot(betas, betas, ".-", ms=3, color=COLORS["main"], lw=1.4, label="measured",
                                      animated=True)
        (theory_line,) = ax_steps.plot(betas_grid, betas_grid, color=COLORS["muted"], lw=1, ls="-",
                                       label="ln(1e-6) / (2 ln rate)", animated=True)
        ax_steps.legend(fontsize=7, loc="lower left")
        (steps_dot,) = ax_steps.plot([], [], "o", ms=7, color=COLORS["grad"], animated=True)
        ax_map.set(xscale="log", xlim=(lrs_grid[0], lrs_grid[-1]), ylim=(0, 0.99), xlabel="lr (alpha)",
                   ylabel="beta", title="steps per e-fold, -1/ln(rate)\n(dark = fast, white = diverges)")
        (map_dot,) = ax_map.plot([], [], "o", ms=7, color=COLORS["grad"], mec="white", animated=True)
        static = {"kappa": None, "artists": []}

        def draw_kappa(kappa):
            _remove(static["artists"])
            lam = lams(kappa)
            a_gd, r_gd = gd_optimal(*lam)
            a_hb, b_hb, r_hb = momentum_optimal(*lam)
            Z = 0.5 * (lam[0] * X ** 2 + lam[1] * Y ** 2)
            art = [ax_path.contour(X, Y, Z, levels=np.geomspace(1e-3, 4, 12), colors=COLORS["muted"], linewidths=0.6)]
            for a, b, label, style in ((a_gd, 0.0, f"best GD: lr={a_gd:.2f}", ":"),
                                       (a_hb, b_hb, f"best momentum: lr={a_hb:.2f}, beta={b_hb:.2f}", "--")):
                _, ref, _ = heavy_ball_run(lam, start, a, b, shown, 0.0)
                art += ax_loss.plot(np.arange(len(ref)), np.maximum(ref / ref[0], 1e-13), ls=style, color="black",
                                    lw=1, label=label)
            art.append(ax_loss.legend(fontsize=7, loc="upper right"))
            art.append(ax_steps.axvline(b_hb, color="black", ls="--", lw=1))
            art.append(ax_steps.text(b_hb, max_steps * 1.6, f"beta* = {b_hb:.2f} (lr* = {a_hb:.2f}) ", fontsize=7,
                                     va="top", ha="right"))
            rate = heavy_ball_rate(lam, lrs_grid[None, :], betas_grid[:, None])
            with np.errstate(divide="ignore"):
                per_efold = np.where(rate < 1, -1 / np.log(np.maximum(rate, 1e-300)), np.nan)
            art.append(ax_map.pcolormesh(lrs_grid, betas_grid, np.clip(per_efold, 1, 1e3), cmap="magma",
                                         norm=LogNorm(1, 1e3), shading="auto"))
            art += ax_map.plot([a_hb], [b_hb], "*", ms=12, color="gold", mec="black")
            art += ax_map.plot([a_gd], [0.0], "*", ms=10, color="white", mec="black", clip_on=False)
            ax_path.set_title(f"f = (x^2/{kappa} + y^2)/2, path of 200 steps")
            static.update(kappa=kappa, artists=art, rates=(r_gd, r_hb))

        def update(beta: float, lr: float, kappa: int) -> str:
            if static["kappa"] != kappa:
                draw_kappa(kappa)
            lam = lams(kappa)
            curve = steps_against_beta(round(float(lr), 10), int(kappa))
            on_grid = np.isclose(betas, beta, rtol=0, atol=1e-9)
            if on_grid.any():   # the slider's values are the grid's: the curve already holds this run's count
                path, losses, _ = heavy_ball_run(lam, start, float(lr), float(beta), shown, 0.0)
                hit = int(curve[on_grid.argmax()])
            else:
                path, losses, hit = heavy_ball_run(lam, start, float(lr), float(beta), max_steps, tol)
                path, losses = path[:shown + 1], losses[:shown + 1]
            inside = np.all(np.abs(path) < 50, axis=1)
            path_line.set_data(np.where(inside, path[:, 0], np.nan), np.where(inside, path[:, 1], np.nan))
            loss_line.set_data(np.arange(len(losses)), np.clip(losses / losses[0], 1e-13, 1e30))
            steps_line.set_ydata(np.where(curve >= 0, curve, np.nan))
            rates = heavy_ball_rate(lam, lr, betas_grid)
            with np.errstate(divide="ignore"):
                theory_line.set_ydata(np.where(rates < 1, np.log(tol) / (2 * np.log(np.maximum(rates, 1e-300))), np.nan))
            steps_dot.set_data([beta], [hit if hit >= 0 else max_steps * 1.5])
            map_dot.set_data([lr], [beta])
            rate = float(heavy_ball_rate(lam, lr, beta))
            r_gd, r_hb = static["rates"]
            verdict = f"{hit} steps" if hit >= 0 else ("diverges" if rate >= 1 else f"more than {max_steps} steps")
            return (f"your lr = {lr:.3f}, beta = {beta:.2f}: rate max|z| = {rate:.4f}, {verdict} to 1e-6 f(w0). "
                    f"Best rates: plain GD (kappa-1)/(kappa+1) = {r_gd:.4f}; "
                    f"momentum (sqrt(kappa)-1)/(sqrt(kappa)+1) = {r_hb:.4f}")

        return update

    lr_slider = controls["lr"]
    lr_at = functools.partial(_log_position, low=lr_slider.min, high=lr_slider.max, step=lr_slider.step)
    states = {   # the chapter's suggestions: near the optimum (kappa = 100), the fewest steps there, kappa = 10
        "最优附近": {"lr": lr_at(3.31), "beta": 0.66},
        "最少步数": {"lr": lr_at(3.31), "beta": 0.72},
        "κ=10": {"kappa": 10, "lr": lr_at(2.31), "beta": 0.26},
    }
    return Panel(controls, setup, figsize=(8.2, 5.0), redraw_on=("kappa",), states=states)


# ----------------------------------------------------------------------------- panel: AdaGrad vs RMSProp
@register
def adaptive_lr_panel() -> Panel:
    """AdaGrad vs RMSProp: effective learning rate eta/(sqrt(.) + eps) and the step, for a gradient that goes quiet."""
    lr = 0.01
    controls = {
        "quiet": swept(log_slider("gradient in the quiet phase", -3, 0, 0.01, step=0.25)),  # the text sweeps both
        "alpha": swept(float_slider("RMSProp alpha (beta)", 0.5, 0.999, 0.001, 0.9)),
    }
    t = np.arange(1, 241)

    def setup(fig):
        ax_g, ax_lr, ax_step = fig.subplots(1, 3)
        for ax in (ax_g, ax_lr, ax_step):
            ax.set(xlim=(0, 241), yscale="log", xlabel="step t")
            ax.axvspan(60, 160, color=COLORS["muted"], alpha=0.12)
            ax.yaxis.set_minor_locator(NullLocator())
        ax_g.set(ylim=(5e-4, 2), ylabel="|g_t|", title="gradient (grey: quiet phase)")
        ax_lr.set(ylim=(1e-4, 20), ylabel="eta / (sqrt(.) + eps)", title="effective learning rate")
        ax_step.set(ylim=(1e-6, 2), ylabel="|dw| = eff. lr x |g|", title="actual step |dw|")
        (g_line,) = ax_g.plot(t, t * 1.0, color="black", lw=1.5, animated=True)
        ax_lr.axhline(lr, color="black", lw=0.8, ls=":")
        ax_lr.text(236, lr * 1.3, "eta", fontsize=8, ha="right")
        lines = {}
        for name, color in (("AdaGrad", _COLORS["AdaGrad"]), ("RMSProp", _COLORS["RMSProp"])):
            lines[name] = (ax_lr.plot(t, t * 1.0, color=color, lw=1.8, label=name, animated=True)[0],
                           ax_step.plot(t, t * 1.0, color=color, lw=1.8, animated=True)[0])
        ax_lr.legend(fontsize=8, loc="upper left")

        def update(quiet: float, alpha: float) -> str:
            g = quiet_gradients(float(quiet))
            g_line.set_ydata(g)
            ada, rms = effective_lr(Adagrad, g, lr=lr), effective_lr(RMSprop, g, lr=lr, alpha=float(alpha))
            for (eff_line, step_line), eff in zip(lines.values(), (ada, rms)):
                eff_line.set_ydata(eff)
                step_line.set_ydata(eff * g)
            trend = "rises" if rms[159] > rms[59] else "does not rise"
            return (f"effective lr of AdaGrad: {ada[59]:.2e} before the quiet phase, {ada[159]:.2e} at its end "
                    f"(never rises); of RMSProp: {rms[59]:.2e} -> {rms[159]:.2e} ({trend}); "
                    f"RMSProp's first step when the gradient returns: {rms[160] * g[160]:.3f} = "
                    f"{rms[160] * g[160] / lr:.1f} x eta")

        return update

    return Panel(controls, setup, figsize=(8.2, 2.9))
