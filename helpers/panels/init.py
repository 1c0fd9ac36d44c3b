"""Chapter 3 (initialization): the chapter's figures and panels. The math lives in ``helpers.init``."""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator, NullLocator

from ..init import (ACTIVATIONS, INIT_METHODS, MAX_DEPTH, MAX_WIDTH, depth_stats, init_distribution,
                    init_std, predicted_signal_std, sample_init)
from ..plotting import COLORS, new_figure
from .base import Panel, dropdown, int_slider, one_thread, register

__all__ = ["layer_std_figure", "init_gallery_figure", "depth_panel", "init_histogram_panel"]


def layer_std_figure(curves: dict[str, Sequence[float]], title: str, ylabel: str = "std of h_k"):
    """A static figure: one log-scale line per init, std against the layer index (non-finite points left out)."""
    fig, ax = new_figure((6.4, 3.4))
    for i, (name, values) in enumerate(curves.items()):
        v = np.asarray(values, dtype=float)
        k = np.arange(1, len(v) + 1)
        ok = np.isfinite(v) & (v > 0)
        ax.plot(k[ok], v[ok], label=name, color=list(COLORS.values())[i % len(COLORS)])
        if not ok.all():
            first = int(np.flatnonzero(~ok)[0])
            ax.plot([k[first - 1] if first else 1], [v[first - 1] if first else 1], "x", ms=9, color="black")
    ax.set(yscale="log", xlabel="layer k", ylabel=ylabel, title=title)
    ax.axhline(1.0, color="black", lw=0.7)
    ax.legend(fontsize=8, loc="best")
    return fig


def init_gallery_figure(fan_in: int, fan_out: int, seed: int = 0):
    """A static grid: a histogram of weights from every method in ``INIT_METHODS`` with its theoretical density."""
    fig, axes = new_figure((10.0, 4.4), nrows=2, ncols=4, constrained=False)
    fig.subplots_adjust(left=0.02, right=0.99, bottom=0.07, top=0.86, wspace=0.08, hspace=0.45)
    for ax, (label, method) in zip(axes.flat, INIT_METHODS.items()):
        kind, a, b = init_distribution(method, fan_in, fan_out)
        lo, hi = _support(kind, a, b)
        counts, edges = np.histogram(sample_init(method, fan_in, fan_out, seed=seed).numpy(), _HIST_BINS, (lo, hi),
                                     density=True)
        ax.stairs(counts, edges, fill=True, color=COLORS["main"], alpha=0.5)
        x = np.linspace(lo, hi, 301)
        if kind == "normal":
            ax.plot(x, np.exp(-0.5 * ((x - a) / b) ** 2) / (b * math.sqrt(2 * math.pi)), color=COLORS["grad"])
        else:
            ax.plot([lo, a, a, b, b, hi], [0, 0, 1 / (b - a), 1 / (b - a), 0, 0], color=COLORS["grad"])
        ax.set_title(label, fontsize=9)
        ax.set_yticks([])
        ax.set_xticks([round(v, 3) for v in (lo, (lo + hi) / 2, hi)])
        ax.tick_params(labelsize=7)
    fig.suptitle(f"weights from nn.init (histogram) vs theory (red), fan_in={fan_in}, fan_out={fan_out}", fontsize=10)
    return fig


# ----------------------------------------------------------------------------- panels
_Y_LIMITS = (1e-12, 1e12)


def _first_layer(mask: np.ndarray) -> int | None:
    hits = np.flatnonzero(mask)
    return int(hits[0]) + 1 if hits.size else None


def _describe(values: np.ndarray, order: slice = slice(None)) -> str:
    """A readout: where the curve leaves the chart or stops being a number ("" when it never does)."""
    v = values[order]
    k = np.arange(1, len(values) + 1)[order]
    parts = []
    for what, mask in (("inf/nan", ~np.isfinite(v)), (f"> {_Y_LIMITS[1]:.0e}", np.isfinite(v) & (v > _Y_LIMITS[1])),
                       (f"< {_Y_LIMITS[0]:.0e}", v < _Y_LIMITS[0])):
        first = _first_layer(mask)
        if first is not None:
            parts.append(f"{what} at layer {k[first - 1]}")
    return "\n" + "; ".join(parts) if parts else ""  # short text: each glyph costs time per frame


@register
def depth_panel(depth: int = 30, width: int = 256, init: str = "kaiming_normal", activation: str = "relu") -> Panel:
    """Per-layer activation std (forward) and gradient std (backward) of a deep MLP vs depth, width, init, activation."""
    controls = {
        "depth": int_slider("depth", 1, MAX_DEPTH, depth),
        "width": int_slider("width", 16, MAX_WIDTH, width, step=16),
        "init": dropdown("init", [(lab, m) for lab, m in INIT_METHODS.items() if m != "uniform_default"], init),
        "activation": dropdown("activation", list(ACTIVATIONS), activation),
    }

    def setup(fig):
        ax_fwd, ax_bwd = fig.subplots(1, 2, sharey=True)
        for ax, title in ((ax_fwd, "forward (layer 1 → L): std of h_k"),
                          (ax_bwd, "backward (layer L → 1): std of dL/dz_k")):
            ax.set(yscale="log", ylim=_Y_LIMITS, xlim=(0, MAX_DEPTH + 1), xlabel="layer k", title=title)
            ax.axhline(1.0, color="black", lw=0.7)
            ax.set_yticks([10.0**e for e in range(-12, 13, 4)])
            ax.yaxis.set_minor_locator(NullLocator())  # fewer tick artists: faster blits
        ax_fwd.set_ylabel("std (log scale, clipped)")
        art = {}
        for name, ax, color in (("fwd", ax_fwd, COLORS["main"]), ("bwd", ax_bwd, COLORS["grad"])):
            art[name] = ax.plot([], [], ".-", ms=3, lw=1.5, color=color, zorder=3, animated=True)[0]
            art[name + "_theory"] = ax.plot([], [], "--", lw=1, color="black", zorder=3, animated=True)[0]
            art[name + "_text"] = ax.text(0.03, 0.03, "", transform=ax.transAxes, fontsize=8, va="bottom",
                                          family="monospace", animated=True)
        ax_fwd.legend(handles=[Line2D([], [], marker=".", color=COLORS["main"], label="measured"),
                               Line2D([], [], ls="--", lw=1, color="black", label="theory")],
                      loc="upper left", fontsize=8).set_zorder(2)  # under the curves, in full draws and blits alike

        def update(depth: int, width: int, init: str, activation: str) -> None:
            depth, width = int(depth), int(width)
            with one_thread():
                act, grad = depth_stats(depth, width, init, activation)
            k = np.arange(1, depth + 1)
            for name, values in (("fwd", act), ("bwd", grad)):
                shown = np.clip(np.nan_to_num(values, nan=_Y_LIMITS[1], posinf=_Y_LIMITS[1]), *_Y_LIMITS)
                art[name].set_data(k, shown)
            has_theory = activation in ("relu", "linear")
            if has_theory:
                std = init_std(init, width, width)
                with np.errstate(over="ignore", under="ignore"):
                    theory = predicted_signal_std(depth, width, std, activation)
                for name, values in zip(("fwd_theory", "bwd_theory"), theory):
                    art[name].set_data(k, np.clip(values, *_Y_LIMITS))
            art["fwd_theory"].set_visible(has_theory)
            art["bwd_theory"].set_visible(has_theory)
            art["fwd_text"].set_text(f"layer {depth}: {act[-1]:.1e}{_describe(act)}")
            broken = _first_layer(~np.isfinite(act))  # the loss is nan: backprop has nothing to say
            art["bwd"].set_visible(broken is None)
            art["bwd_text"].set_text(f"layer 1: {grad[0]:.1e}{_describe(grad, slice(None, None, -1))}" if broken is None
                                     else f"forward overflowed at layer {broken}:\nloss is nan, no usable gradient")

        return update

    states = {"Xavier": {"init": "xavier_normal"}, "窄网络": {"width": 16}}  # the chapter's two suggestions
    return Panel(controls, setup, figsize=(8.0, 3.4), states=states)


_HIST_BINS, _FAN_MIN, _FAN_MAX = 52, 8, 256  # 52 bins: a uniform box spans bins 6..46 exactly


def _support(kind: str, a: float, b: float) -> tuple[float, float]:
    """The x-range a histogram of this distribution covers: mean ± 4 std, or the box plus a margin."""
    if kind == "normal":
        return a - 4 * b, a + 4 * b
    pad = 0.15 * (b - a)
    return a - pad, b + pad


_LABELS = {method: label for label, method in INIT_METHODS.items()}
_FORMULAS = {
    "kaiming_normal": "std = sqrt(2 / fan_in)", "kaiming_uniform": "bound = sqrt(6 / fan_in)",
    "xavier_normal": "std = sqrt(2 / (fan_in + fan_out))", "xavier_uniform": "bound = sqrt(6 / (fan_in + fan_out))",
    "linear_default": "bound = 1 / sqrt(fan_in)", "normal_0.01": "std = 0.01, no fan", "normal_1": "std = 1, no fan",
    "uniform_default": "[0, 1), no fan",
}


def _peak_density(kind: str, a: float, b: float) -> float:
    return 1 / (b * math.sqrt(2 * math.pi)) if kind == "normal" else 1 / (b - a)
@register
def init_histogram_panel() -> Panel:
    """Histogram of weights drawn by an nn.init method for chosen fan_in / fan_out, with the theoretical density."""
    controls = {
        "fan_in": int_slider("fan_in", _FAN_MIN, _FAN_MAX, 64, step=8),
        "fan_out": int_slider("fan_out", _FAN_MIN, _FAN_MAX, 128, step=8),
        "method": dropdown("method", list(INIT_METHODS.items()), "kaiming_normal"),
    }

    def setup(fig):
        ax = fig.subplots()
        ax.set(ylabel="density", xlabel="weight value")
        hist = ax.stairs(np.zeros(_HIST_BINS), np.linspace(-1, 1, _HIST_BINS + 1), fill=True, alpha=0.45,
                         color=COLORS["main"], zorder=3, animated=True)
        (pdf,) = ax.plot([], [], color=COLORS["grad"], lw=2, zorder=3, animated=True)
        ax.legend(handles=[Patch(color=COLORS["main"], alpha=0.45, label="sampled by nn.init"),
                           Line2D([], [], color=COLORS["grad"], lw=2, label="theoretical density")],
                  loc="upper right", fontsize=8).set_zorder(2)
        text = ax.text(0.02, 0.97, "", transform=ax.transAxes, va="top", fontsize=8, family="monospace",
                       animated=True)

        def update(fan_in: int, fan_out: int, method: str) -> None:
            fan_in, fan_out = int(fan_in), int(fan_out)
            kind, a, b = init_distribution(method, fan_in, fan_out)
            # fixed axes per method: as wide as the smallest fans and as tall as the largest fans need
            lo, hi = _support(*init_distribution(method, _FAN_MIN, _FAN_MIN))
            top = 1.15 * _peak_density(*init_distribution(method, _FAN_MAX, _FAN_MAX))
            if ax.get_title() != (title := f"{_LABELS[method]}:  {_FORMULAS[method]}"):  # method changed
                ax.set(xlim=(lo, hi), ylim=(0, top), title=title,  # fixed ticks: cheap to look up per frame
                       xticks=MaxNLocator(7).tick_values(lo, hi), yticks=MaxNLocator(5).tick_values(0, top))
            s_lo, s_hi = _support(kind, a, b)
            with one_thread():
                w = sample_init(method, fan_in, fan_out)
                counts = torch.histc(w, _HIST_BINS, s_lo, s_hi).numpy()
            edges = np.linspace(s_lo, s_hi, _HIST_BINS + 1)
            hist.set_data(counts / (len(w) * (edges[1] - edges[0])), edges)
            x = np.linspace(s_lo, s_hi, 301)
            if kind == "normal":
                pdf.set_data(x, np.exp(-0.5 * ((x - a) / b) ** 2) / (b * math.sqrt(2 * math.pi)))
            else:
                pdf.set_data([s_lo, a, a, b, b, s_hi], [0, 0, 1 / (b - a), 1 / (b - a), 0, 0])
            # short on purpose: every glyph costs ~0.1 ms per frame; the theory is the red curve
            text.set_text(f"sample std {w.std():.4f}" if kind == "normal" else f"sample max {w.max():.4f}")

        return update

    return Panel(controls, setup, figsize=(6.4, 3.3))
