"""Chapter 2 (activations): the chapter's figures and panels. The math lives in ``helpers.activations``."""
from __future__ import annotations

import functools

import numpy as np
import torch
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.transforms import offset_copy
from torch import nn

from ..activations import (FUNCTIONS, _relu_layer_gradient, dead_fraction, entropy,
                           layer_gradient_norms, softmax)
from ..checks import one_of
from ..plotting import COLORS, new_figure
from .base import (Panel, PanelMessage, check_finite, checkbox, dropdown, float_slider, int_slider, log_slider,
                   one_thread, register)

__all__ = ["decision_boundary_figure", "activation_panel", "vanishing_gradient_panel", "dying_relu_panel",
           "softmax_panel"]


def decision_boundary_figure(models: dict[str, nn.Module], x: torch.Tensor, y: torch.Tensor) -> Figure:
    """Side-by-side decision regions of 2-D classifiers ``{title: model}`` over the points ``(x, y)``."""
    if not models:
        raise ValueError("models must hold at least one {title: model} pair")
    if not (isinstance(x, torch.Tensor) and x.dim() == 2 and x.shape[1] == 2):
        raise ValueError(f"x must be a tensor of shape (n, 2), got {getattr(x, 'shape', type(x).__name__)}")
    lo, hi = x.min(0).values - 0.5, x.max(0).values + 0.5
    gx, gy = torch.meshgrid(torch.linspace(lo[0], hi[0], 200), torch.linspace(lo[1], hi[1], 200), indexing="xy")
    grid = torch.stack([gx.flatten(), gy.flatten()], 1)
    fig, axes = new_figure((4.0 * len(models), 3.6), ncols=len(models), squeeze=False)
    for ax, (title, model) in zip(axes[0], models.items()):
        with torch.no_grad():
            region = model(grid).argmax(1).reshape(gx.shape)
            acc = (model(x).argmax(1) == y).float().mean().item()
        ax.contourf(gx.numpy(), gy.numpy(), region.numpy(), levels=[-0.5, 0.5, 1.5],
                    colors=[COLORS["main"], COLORS["accent"]], alpha=0.25)
        for label, color in ((0, COLORS["main"]), (1, COLORS["accent"])):
            pts = x[y == label]
            ax.scatter(pts[:, 0], pts[:, 1], s=10, color=color, label=f"class {label}")
        ax.set(title=f"{title}  (accuracy {acc:.2f})", xlabel="x1", ylabel="x2")
        ax.grid(False)
    axes[0][0].legend(loc="lower left")
    return fig


# ----------------------------------------------------------------------------- panels
_TITLES = {
    "sigmoid": r"sigmoid:  $\sigma(x) = 1/(1+e^{-x})$",
    "tanh": r"tanh:  $(e^{x}-e^{-x})/(e^{x}+e^{-x})$",
    "relu": r"ReLU:  $\max(0,\,x)$",
}
_YTICKS = {"sigmoid": (0.0, 0.25, 0.5, 0.75, 1.0), "tanh": (-1.0, -0.5, 0.0, 0.5, 1.0),
           "relu": (0.0, 0.25, 0.5, 0.75, 1.0)}  # ReLU's first tick (0) has a static label
_YLIMS = {"sigmoid": (-0.08, 1.08), "tanh": (-1.15, 1.15), "relu": (-0.08, 1.08)}
_ACT_COLORS = {"sigmoid": COLORS["main"], "tanh": COLORS["alt"], "relu": COLORS["purple"]}


def _saturation_edge(activation: str, fraction: float = 0.01) -> float:
    """Smallest $x \\ge 0$ with $f'(x) < $ ``fraction`` $\\cdot f'(0)$ (sigmoid: about 6, tanh: about 3)."""
    x = torch.linspace(0, 30, 30001, dtype=torch.float64)
    d = FUNCTIONS[activation][1](x)
    return x[(d < fraction * d[0]).nonzero()[0, 0]].item()


@register
def activation_panel(activation: str = "sigmoid") -> Panel:
    """Sigmoid / tanh / ReLU and their derivatives over a chosen x-range, saturated region shaded."""
    one_of(activation, FUNCTIONS, "activation")
    controls = {
        "activation": dropdown("activation", list(FUNCTIONS), activation),
        "x_max": float_slider("x range ±", 1.0, 20.0, 0.5, 8.0),
        "derivative": checkbox("show derivative f'(x)", True),
    }
    edges = {name: _saturation_edge(name) for name in ("sigmoid", "tanh")}
    notes = {name: f"saturated (f' < 1% of max): |x| > {edge:.1f}" for name, edge in edges.items()}
    notes["relu"] = "f'(x) = 0 for x < 0 (shaded)"

    def setup(fig):
        ax = fig.add_subplot()
        # The axes show u = x / x_max in [-1, 1]: the x-range slider only relabels the ticks
        # (animated texts), so the cached background (grid, axes) stays valid while it moves.
        u = np.linspace(-1.04, 1.04, 833)
        ticks = np.array([-1.0, -0.5, 0.5, 1.0])  # tick 0 keeps its static label "0"
        ax.set_xlim(u[0], u[-1])
        ax.set_xticks([-1.0, -0.5, 0.0, 0.5, 1.0], labels=["", "", "0", "", ""])
        ax.set_xlabel("x", labelpad=13)
        ax.set_ylabel("f(x), f'(x)", labelpad=30)
        below = offset_copy(ax.get_xaxis_transform(), fig=fig, y=-3.5, units="points")
        left = offset_copy(ax.get_yaxis_transform(), fig=fig, x=-3.5, units="points")
        x_labels = [ax.text(t, 0, "", transform=below, ha="center", va="top", animated=True) for t in ticks]
        y_labels = [ax.text(0, 0, "", transform=left, ha="right", va="center", animated=True) for _ in range(4)]
        shades = [ax.add_patch(Rectangle((0, 0), 0, 1, transform=ax.get_xaxis_transform(), color=COLORS["muted"],
                                         alpha=0.18, linewidth=0, animated=True)) for _ in range(2)]
        ax.axhline(0, color="black", linewidth=0.6)
        ax.axvline(0, color="black", linewidth=0.6)
        (line_f,) = ax.plot(u, u, color=COLORS["main"], animated=True, label="f(x)")
        (line_df,) = ax.plot(u, u, color=COLORS["grad"], linestyle="--", animated=True, label="f'(x)")
        legend = ax.legend(loc="upper left")
        note = ax.text(1.0, 1.02, "", transform=ax.transAxes, ha="right", va="bottom")
        shown = {"activation": None, "derivative": None}

        def update(activation: str, x_max: float, derivative: bool) -> None:
            f, df = FUNCTIONS[activation]
            scale = x_max if activation == "relu" else 1.0  # ReLU grows with x: its y-axis scales too
            x = torch.as_tensor(u * x_max, dtype=torch.float64)
            line_f.set_ydata(f(x).numpy() / scale)
            line_df.set_ydata(df(x).numpy() / scale)
            line_df.set_visible(derivative)
            if shown["derivative"] != derivative:  # static: the background is redrawn once per state
                shown["derivative"] = derivative
                legend.get_texts()[1].set_text("f'(x)" if derivative else "")
                legend.legend_handles[1].set_visible(derivative)
            if shown["activation"] != activation:
                shown["activation"] = activation
                ax.set_ylim(*_YLIMS[activation])
                ticks_y = _YTICKS[activation]
                ax.set_yticks(ticks_y, labels=[f"{t:g}" if activation != "relu" or t == 0 else "" for t in ticks_y])
                ax.set_title(_TITLES[activation], loc="left")
                note.set_text(notes[activation])
            for t, label in zip(ticks, x_labels):
                label.set_text(f"{t * x_max:g}")
            for t, label in zip(_YTICKS[activation][1:], y_labels):  # only ReLU's y-ticks depend on x_max
                label.set_visible(activation == "relu")
                label.set_y(t)
                label.set_text(f"{t * scale:.3g}")
            if activation == "relu":
                shades[0].set_bounds(u[0], 0, -u[0], 1)
                shades[1].set_visible(False)
                return
            e = edges[activation] / x_max
            shades[0].set_bounds(u[0], 0, max(0.0, -e - u[0]), 1)
            shades[1].set_bounds(e, 0, max(0.0, u[-1] - e), 1)
            shades[1].set_visible(True)

        return update

    return Panel(controls, setup, figsize=(7.5, 3.4))


def _bar_vertices(heights: np.ndarray, bottom: float, width: float = 0.8) -> np.ndarray:
    """Corners of bars at x = 1, 2, ... with the given heights, shape (n, 4, 2), for a PolyCollection."""
    x = np.arange(1, len(heights) + 1)[:, None] + np.array([-width, -width, width, width]) / 2
    y = np.stack([np.full_like(heights, bottom), heights, heights, np.full_like(heights, bottom)], axis=1)
    return np.stack([x, y], axis=2)


@register
def vanishing_gradient_panel() -> Panel:
    """Per-layer weight-gradient norm of a random deep MLP (log axis) vs depth, activation and init."""
    max_depth, floor = 50, 1e-45
    controls = {
        "depth": int_slider("layers L", 2, max_depth, 20),
        "activation": dropdown("activation", list(FUNCTIONS), "sigmoid"),
        "init": dropdown("init", [("Xavier N(0, 1/n)", "xavier"), ("Kaiming N(0, 2/n)", "kaiming"),
                                  ("PyTorch default U(±1/√n)", "default")], "xavier"),
    }

    @functools.lru_cache(maxsize=512)
    def cached_norms(activation: str, depth: int, init: str) -> np.ndarray:
        with one_thread():
            return layer_gradient_norms(activation, depth, init=init).numpy()

    def setup(fig):
        ax = fig.add_subplot()
        bars = PolyCollection([], animated=True)  # one artist for all bars: one draw call
        ax.add_collection(bars)
        ax.set_yscale("log")
        ax.set_ylim(floor, 1e5)
        ax.set_yticks([1e-40, 1e-30, 1e-20, 1e-10, 1.0])
        ax.set_xlim(0.3, max_depth + 0.7)
        ax.set(xlabel="layer l  (1 = next to the input, L = next to the loss)", ylabel="||dL/dW_l||",
               title="Weight-gradient norm per layer, random MLP (width 32, MSE loss)")
        readout = ax.text(0.01, 0.97, "", transform=ax.transAxes, ha="left", va="top", animated=True)

        def update(depth: int, activation: str, init: str) -> None:
            norms = cached_norms(activation, depth, init)
            check_finite(norms, what="the gradient")
            if norms[-1] == 0:
                raise PanelMessage("the last layer's gradient is exactly 0 (every unit is inactive)")
            bars.set_verts(_bar_vertices(np.maximum(norms, floor), floor))
            bars.set_facecolor(_ACT_COLORS[activation])
            readout.set_text(f"|dW_1| / |dW_L| = {norms[0] / norms[-1]:.1e}")

        return update

    return Panel(controls, setup, figsize=(7.5, 3.4))


@register
def dying_relu_panel() -> Panel:
    """Dead ReLU units after one SGD step: pre-activation histograms and dead fraction vs learning rate."""
    controls = {
        "lr": log_slider("learning rate", -3.0, 2.0, 10.0, step=0.05),
        "bias_shift": float_slider("initial bias b", -3.0, 2.0, 0.1, 0.0),
        "inputs": dropdown("inputs", [("ReLU outputs (x >= 0)", "relu"), ("N(0, 1)", "normal")], "relu"),
    }
    lr_grid = np.logspace(-3.0, 2.0, 81)
    edges = np.linspace(-8.0, 8.0, 41)

    def histogram(z: torch.Tensor) -> np.ndarray:
        counts, _ = np.histogram(np.clip(z.numpy().ravel(), -7.99, 7.99), bins=edges)
        return counts / z.numel()

    def setup(fig):
        ax_h, ax_c = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.25, 1.0]})
        zeros = np.zeros(len(edges) - 1)
        before = ax_h.stairs(zeros, edges, fill=True, color=COLORS["muted"], alpha=0.55, animated=True,
                             label="before")
        after = ax_h.stairs(zeros, edges, fill=True, color=COLORS["accent"], alpha=0.6, animated=True,
                            label="after one step")
        ax_h.axvline(0, color="black", linewidth=0.8)
        ax_h.legend(loc="upper left", fontsize=9)
        ax_h.set(xlim=(-8, 8), ylim=(0, 0.5), xlabel="pre-activation z = w.x + b  (clipped to ±8)",
                 ylabel="fraction of (sample, unit)", title="z of 64 units on 256 samples")
        (curve,) = ax_c.plot(lr_grid, np.zeros_like(lr_grid), color=COLORS["grad"], animated=True)
        (level,) = ax_c.plot(lr_grid[[0, -1]], [0, 0], color=COLORS["muted"], linestyle=":", animated=True)
        (marker,) = ax_c.plot([1.0], [0.0], "o", color=COLORS["accent"], markersize=8, animated=True)
        ax_c.set(xscale="log", xlim=(lr_grid[0], lr_grid[-1]), ylim=(-0.03, 1.03), xlabel="learning rate",
                 ylabel="dead fraction after one step")
        ax_c.minorticks_off()  # fewer artists: faster redraws
        readout = ax_c.text(0.0, 1.03, "", transform=ax_c.transAxes, ha="left", va="bottom", animated=True)
        per_bias: dict = {}  # (bias, inputs) -> what does not depend on lr

        def update(lr: float, bias_shift: float, inputs: str) -> None:
            key = (round(bias_shift, 6), inputs)
            if key not in per_bias:
                with one_thread():
                    z, dz = _relu_layer_gradient(*key)
                    # dead fraction for every lr of the grid at once: after one step z(lr) = z - lr * dz
                    z_grid = z[None] - torch.as_tensor(lr_grid)[:, None, None] * dz[None]
                    dead_curve = ((z_grid > 0).sum(dim=1) == 0).double().mean(dim=1).numpy()
                if len(per_bias) > 256:
                    per_bias.clear()
                per_bias[key] = (z, dz, histogram(z), dead_curve, dead_fraction(z))
            z, dz, hist_before, dead_curve, dead_before = per_bias[key]
            z_after = z - lr * dz  # one SGD step (z is linear in W and b)
            check_finite(z_after.numpy(), what="the updated pre-activation")
            before.set_data(hist_before)
            after.set_data(histogram(z_after))
            curve.set_ydata(dead_curve)
            dead_after = dead_fraction(z_after)
            level.set_ydata([dead_before, dead_before])
            marker.set_data([lr], [dead_after])
            readout.set_text(f"dead: {dead_before:.0%} before, {dead_after:.0%} after")

        return update

    return Panel(controls, setup, figsize=(7.5, 3.4))


_SOFTMAX_LOGITS = (2.0, 1.0, 0.5, -0.5, -1.5)


@register
def softmax_panel() -> Panel:
    """softmax(z / T) of fixed logits as a bar chart, with entropy and max probability, vs temperature T."""
    controls = {"temperature": log_slider("temperature T", -1.5, 1.5, 1.0, step=0.05)}
    logits = torch.tensor(_SOFTMAX_LOGITS, dtype=torch.float64)
    k = len(_SOFTMAX_LOGITS)
    classes = np.arange(k)

    def setup(fig):
        ax_z, ax_p = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.0, 1.7]})
        ax_z.bar(classes, logits.numpy(), color=COLORS["muted"])
        ax_z.axhline(0, color="black", linewidth=0.6)
        ax_z.set(xticks=classes, xlabel="class i", ylabel="logit z_i", title="fixed logits z")
        bars = ax_p.bar(classes, np.zeros(k), color=COLORS["main"], animated=True)
        ax_p.axhline(1 / k, color=COLORS["muted"], linestyle="--", linewidth=1, label="uniform 1/K",
                     animated=True)  # animated only to stay on top of the bars
        ax_p.legend(loc="center right")
        ax_p.set(xticks=classes, ylim=(0, 1.05), xlabel="class i", ylabel="p_i",
                 title=f"p = softmax(z / T),  entropy H <= ln {k} = {np.log(k):.2f}")
        readout = ax_p.text(0.98, 0.97, "", transform=ax_p.transAxes, ha="right", va="top", animated=True)

        def update(temperature: float) -> None:
            if not temperature > 0:
                raise PanelMessage(f"the temperature must be > 0, got {temperature}")
            p = softmax(logits / temperature)
            check_finite(p.numpy(), what="softmax(z / T)")
            for bar, pi in zip(bars, p.tolist()):
                bar.set_height(pi)
            readout.set_text(f"max p {p.max().item():.3f}, H {entropy(p).item():.3f}")

        return update

    return Panel(controls, setup, figsize=(7.5, 3.2))
