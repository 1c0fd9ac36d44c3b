"""Chapter 7 (regularization): the chapter's panels and figures. The math lives in ``helpers.regularization``.

- ``overfitting_panel``: a small two-moons training set, a network whose width, dropout, weight decay and
  batch norm are set by the controls; the decision boundary and the train / validation loss over the epochs.
  For one width and BN switch, all 16 (dropout p, weight decay) settings are trained together as stacked
  tensors (``helpers.regularization.train_family``: 200 full-batch Adam steps) and cached; moving p, the
  weight decay or the epoch then only looks results up.
- ``dropout_mask_panel``: which units one dropout mask drops, and the mean of the layer's output under
  PyTorch's scaling 1/(1-p), no scaling and the notes' 1/p.
- ``bn_stats_panel``: batch means and variances against the batch size, and the running estimates
  against ``momentum``.
"""
from __future__ import annotations

import functools

import ipywidgets as widgets
from matplotlib.collections import LineCollection
from matplotlib.lines import Line2D
import numpy as np
import torch

from ..plotting import COLORS, new_figure
from ..regularization import (BN_STEPS, BN_MAX_BATCH, BOUNDARY_X, BOUNDARY_Y, LOSS_EVERY, PLAYGROUND_EPOCHS,
                              PLAYGROUND_PATIENCE, SNAPSHOT_EVERY, WD_GRID, WIDTHS, dropout, dropout_scalings,
                              early_stopping_epoch, playground_boundary, playground_data, playground_run,
                              simulate_bn_statistics)
from .base import Panel, checkbox, dropdown, float_slider, int_slider, one_thread, register

__all__ = ["overfitting_panel", "dropout_mask_panel", "bn_stats_panel", "subnetworks_figure",
           "decision_boundary_figure"]

_STYLE = {"description_width": "initial"}


def _selection_slider(description: str, options: list, value) -> widgets.SelectionSlider:
    """A slider over a few fixed values (a coarse grid: each value is one cached training run)."""
    return widgets.SelectionSlider(options=options, value=value, description=description, continuous_update=False,
                                   style=_STYLE, layout=widgets.Layout(width="320px"))


# ----------------------------------------------------------------------------- the playground
_EXTENT = (float(BOUNDARY_X[0]), float(BOUNDARY_X[-1]), float(BOUNDARY_Y[0]), float(BOUNDARY_Y[-1]))


def decision_boundary_figure(settings: dict[str, dict]):
    """Playground decision boundaries, one axes per ``{title: dict(p=, weight_decay=, width=, batch_norm=, epoch=)}``."""
    xtr, ytr, _, _ = playground_data()
    fig, axes = new_figure((2.5 * len(settings) + 0.9, 3.1), ncols=len(settings), squeeze=False)
    for ax, (title, kwargs) in zip(axes[0], settings.items()):
        kwargs = dict(kwargs)
        epoch = int(kwargs.pop("epoch", PLAYGROUND_EPOCHS)) // SNAPSHOT_EVERY * SNAPSHOT_EVERY
        with one_thread():
            prob = playground_boundary(**kwargs, epoch=epoch)
            run = playground_run(**kwargs)
        image = ax.imshow(prob, origin="lower", cmap="RdBu", vmin=0, vmax=1, alpha=0.5, aspect="auto", extent=_EXTENT,
                          interpolation="bilinear")
        ax.contour(BOUNDARY_X.numpy(), BOUNDARY_Y.numpy(), prob, levels=[0.5], colors="black", linewidths=1)
        for c, color in ((0, COLORS["grad"]), (1, COLORS["main"])):
            ax.plot(*xtr[ytr == c].T.numpy(), "o", ms=4, color=color, mec="black", mew=0.5, label=f"class {c} (training)")
        i = epoch // LOSS_EVERY
        ax.set(xlim=_EXTENT[:2], ylim=_EXTENT[2:], xticks=[], yticks=[],
               title=f"{title}\ntrain {run['train'][i]:.3f} | val {run['val'][i]:.2f}")
        ax.grid(False)
    bar = fig.colorbar(image, ax=list(axes[0]), fraction=0.04, pad=0.02, ticks=[0, 0.5, 1])
    bar.set_label("model's P(class 1)", fontsize=8)
    bar.ax.tick_params(labelsize=8)
    handles, labels = axes[0][0].get_legend_handles_labels()
    handles.append(Line2D([], [], color="black", lw=1))
    fig.legend(handles, labels + ["boundary: P = 0.5"], loc="outside lower center", ncols=3, fontsize=8, frameon=False)
    return fig


@register
def overfitting_panel() -> Panel:
    """Decision boundary and train / validation loss of a small network on 40 two-moons points, per setting."""
    controls = {
        "epoch": int_slider("epoch", 0, PLAYGROUND_EPOCHS, PLAYGROUND_EPOCHS, step=SNAPSHOT_EVERY),
        "p": float_slider("dropout p", 0.0, 0.6, 0.2, 0.0, continuous_update=False),
        "weight_decay": _selection_slider("weight decay", list(WD_GRID), 0.0),
        "width": _selection_slider("width", list(WIDTHS), 64),
        "batch_norm": checkbox("batch norm", False),
    }
    xtr, ytr, _, _ = playground_data()
    extent = _EXTENT

    def setup(fig):
        ax_b, ax_l = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.0, 1.25]})
        ax_b.set(xlim=extent[:2], ylim=extent[2:], xticks=[], yticks=[], title="P(class 1) in eval mode: red 0, blue 1")
        ax_b.grid(False)
        image = ax_b.imshow(np.zeros((len(BOUNDARY_Y), len(BOUNDARY_X))), origin="lower", cmap="RdBu", vmin=0, vmax=1,
                            alpha=0.5, extent=extent, aspect="auto", interpolation="bilinear", animated=True)
        for c, color in ((0, COLORS["grad"]), (1, COLORS["main"])):
            ax_b.plot(*xtr[ytr == c].T.numpy(), "o", ms=4.5, color=color, mec="black", mew=0.6, animated=True)
        ax_l.set(xlim=(0, PLAYGROUND_EPOCHS), ylim=(1e-3, 8), yscale="log", xlabel="epoch", ylabel="cross-entropy",
                 title="loss (40 training points, 200 validation)")
        step_line, = ax_l.plot([], [], color=COLORS["main"], lw=0.8, alpha=0.4, label="train, train mode",
                               animated=True)
        train_line, = ax_l.plot([], [], color=COLORS["main"], label="train, eval mode", animated=True)
        val_line, = ax_l.plot([], [], color=COLORS["accent"], label="validation", animated=True)
        now = ax_l.axvline(0, color="black", lw=1, ls=":", animated=True)
        best, = ax_l.plot([], [], "v", ms=8, color=COLORS["alt"], label="kept by early stopping", animated=True)
        ax_l.legend(loc="lower left", fontsize=8, ncols=2)
        steps = np.arange(1, PLAYGROUND_EPOCHS + 1)

        def update(epoch, p, weight_decay, width, batch_norm):
            epoch = min(int(epoch), PLAYGROUND_EPOCHS) // SNAPSHOT_EVERY * SNAPSHOT_EVERY
            setting = (float(p), float(weight_decay), int(width), bool(batch_norm))
            with one_thread():
                run = playground_run(*setting)
                image.set_data(playground_boundary(*setting, epoch))
            epochs = run["loss_epochs"]
            step_line.set_data(steps, np.clip(run["step"], 1e-3, None))
            train_line.set_data(epochs, np.clip(run["train"], 1e-3, None))
            val_line.set_data(epochs, np.clip(run["val"], 1e-3, None))
            now.set_xdata([epoch, epoch])
            i_stop, i_best = early_stopping_epoch(run["val"], patience=PLAYGROUND_PATIENCE)
            best.set_data([epochs[i_best]], [max(run["val"][i_best], 1e-3)])
            i = epoch // LOSS_EVERY
            return (f"epoch {epoch}: train loss <b>{run['train'][i]:.3f}</b> (acc {run['train_acc'][i]:.0%}), "
                    f"validation loss <b>{run['val'][i]:.3f}</b> (acc {run['val_acc'][i]:.0%}). "
                    f"Early stopping (patience {PLAYGROUND_PATIENCE * LOSS_EVERY} epochs) stops at epoch {epochs[i_stop]} "
                    f"and keeps epoch {epochs[i_best]} (validation loss {run['val'][i_best]:.3f})")

        return update

    trained = lambda v: v["epoch"] >= SNAPSHOT_EVERY  # noqa: E731  (before training only width and BN matter)
    return Panel(controls, setup, figsize=(8.0, 3.2),
                 enabled_when={"p": trained, "weight_decay": trained})


# ----------------------------------------------------------------------------- dropout mask
_N_UNITS = 40
_MASKS = 500                 # masks averaged for the expected mean


@functools.lru_cache(maxsize=1)
def _unit_activations() -> torch.Tensor:
    """Fixed non-negative activations of 40 hidden units (what a ReLU layer might output)."""
    g = torch.Generator().manual_seed(7)
    return 0.2 + torch.rand(_N_UNITS, generator=g)


@register
def dropout_mask_panel() -> Panel:
    """One dropout mask over 40 units (p and a resample seed) and the layer's mean under three scalings."""
    controls = {
        "p": float_slider("p (drop prob.)", 0.0, 0.8, 0.05, 0.5),
        "seed": int_slider("resample (seed)", 0, 30, 0),
        "mode": dropdown("mode", ["model.train()", "model.eval()"], "model.train()"),
    }
    h = _unit_activations()
    units = np.arange(_N_UNITS)
    labels = ["eval (no dropout)", "train: x 1/(1-p)\n(PyTorch)", "train: no scaling", "train: x 1/p\n(notes)"]

    def setup(fig):
        ax_u, ax_m = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.7, 1.0]})
        ax_u.bar(units, h.numpy(), width=0.8, color=COLORS["muted"], alpha=0.35, label="input h (= eval output)")
        ax_u.set(xlim=(-1, _N_UNITS), ylim=(0, 6.5), xlabel="hidden unit", ylabel="activation",
                 title="one dropout mask: output of each unit")
        bars = LineCollection([], linewidths=5.5, colors=COLORS["main"], capstyle="butt", label="train output",
                              animated=True)        # one artist for the 40 bars: cheaper to redraw than 40 patches
        ax_u.add_collection(bars)
        dropped, = ax_u.plot([], [], "x", ms=6, mew=1.5, color=COLORS["grad"], label="dropped", animated=True)
        ax_u.legend(loc="upper left", fontsize=8, ncols=3)
        y = np.arange(len(labels))[::-1]
        ax_m.set(xlim=(0, 2.0), ylim=(-0.6, len(labels) - 0.4), yticks=y, yticklabels=labels,
                 xlabel="mean output of the layer", title="layer mean\nbar: this mask, |: 500 masks")
        ax_m.axvline(float(h.mean()), color="black", lw=0.8, ls="--")
        ax_m.tick_params(axis="y", labelsize=9)
        means = LineCollection([], linewidths=16, capstyle="butt", animated=True,
                               colors=[COLORS["muted"], COLORS["main"], COLORS["alt"], COLORS["grad"]])
        ax_m.add_collection(means)
        expected, = ax_m.plot([], [], "|", ms=16, mew=2.5, color="black", animated=True)

        def update(p, seed, mode):
            training = mode == "model.train()"
            g = torch.Generator().manual_seed(int(seed))
            with one_thread():
                out = dropout(h, float(p), training=training, generator=g)
                many = dropout(h.expand(_MASKS, -1), float(p), training=training, generator=g)
            kept = (out != 0).numpy() if training else np.ones(_N_UNITS, bool)
            bars.set_segments([((u, 0.0), (u, v)) for u, v in zip(units, out.numpy())])
            dropped.set_data(units[~kept], np.full((~kept).sum(), 0.12))
            keep = 1.0 - float(p)
            if training:
                this = [float(h.mean()), *dropout_scalings(h, torch.as_tensor(kept), float(p)).values()]
                over = [float(h.mean()), *dropout_scalings(h, (many != 0).float(), float(p)).values()]
            else:
                this = over = [float(h.mean())] * 4
            means.set_segments([((0.0, yi), (0.0 if np.isnan(v) else min(v, 2.0), yi)) for yi, v in zip(y, this)])
            expected.set_data(np.clip(over, 0, 1.98), y)
            notes = "undefined (p = 0)" if np.isnan(this[3]) else f"{this[3]:.3f}"
            if not training:
                return ("model.eval(): dropout is the identity, every unit passes unchanged; "
                        f"mean = {float(h.mean()):.3f} for every row")
            return (f"dropped <b>{(~kept).sum()}</b> of {_N_UNITS} units ({(~kept).mean():.0%}; expected p = {p:.0%}); "
                    f"kept units x {1 / keep:.3f}. Mean: eval {this[0]:.3f}, PyTorch {this[1]:.3f} "
                    f"({_MASKS} masks: {over[1]:.3f}), unscaled {this[2]:.3f} (about (1-p) x eval), notes' 1/p {notes}")

        return update

    in_training = lambda v: v["mode"] == "model.train()"  # noqa: E731
    return Panel(controls, setup, figsize=(8.0, 3.1),
                 enabled_when={"p": in_training, "seed": lambda v: in_training(v) and v["p"] > 0})


def subnetworks_figure(p: float = 0.5, seeds: tuple[int, ...] = (0, 1, 2), sizes: tuple[int, ...] = (3, 6, 6, 2)):
    """A small network drawn once per dropout mask: each training step trains a different sub-network."""
    fig, axes = new_figure((2.7 * len(seeds), 2.5), ncols=len(seeds), squeeze=False)
    for ax, seed in zip(axes[0], seeds):
        g = torch.Generator().manual_seed(seed)
        kept = [np.ones(sizes[0], bool)] + [(torch.rand(n, generator=g) >= p).numpy() for n in sizes[1:-1]]
        kept.append(np.ones(sizes[-1], bool))
        pos = [np.linspace(-(n - 1) / 2, (n - 1) / 2, n) for n in sizes]
        for layer in range(len(sizes) - 1):
            for i, yi in enumerate(pos[layer]):
                for j, yj in enumerate(pos[layer + 1]):
                    on = kept[layer][i] and kept[layer + 1][j]
                    ax.plot([layer, layer + 1], [yi, yj], color=COLORS["main"] if on else "#dddddd",
                            lw=1.0 if on else 0.6, zorder=1)
        for layer, ys in enumerate(pos):
            ax.scatter(np.full(len(ys), layer), ys, s=110, zorder=2, edgecolors="black",
                       c=["white" if k else "#bbbbbb" for k in kept[layer]])
            for yi, k in zip(ys, kept[layer]):
                if not k:
                    ax.plot(layer, yi, "x", color=COLORS["grad"], ms=9, mew=2, zorder=3)
        ax.set(xticks=[], yticks=[], title=f"step with mask seed {seed}")
        ax.grid(False)
        for side in ("left", "bottom"):
            ax.spines[side].set_visible(False)
    fig.suptitle(f"dropout p = {p}: every step trains a different sub-network", fontsize=10)
    return fig


# ----------------------------------------------------------------------------- batch-norm statistics
@register
def bn_stats_panel() -> Panel:
    """Batch mean and variance of one feature per step (noise against the batch size) and BN's running estimates."""
    controls = {
        "batch_size": int_slider("batch size", 2, BN_MAX_BATCH, 16),
        "momentum": float_slider("BN momentum", 0.01, 1.0, 0.01, 0.1),
        "shift": checkbox("distribution changes at step 75", False),
    }
    steps = np.arange(1, BN_STEPS + 1)

    def setup(fig):
        ax_m, ax_v = fig.subplots(1, 2)
        ax_m.set(xlim=(0, BN_STEPS + 1), ylim=(-3.5, 6.5), xlabel="training step", ylabel="mean",
                 title="batch mean and running_mean")
        ax_v.set(xlim=(0, BN_STEPS + 1), ylim=(0.02, 40), yscale="log", xlabel="training step",
                 ylabel="variance", title="batch variance and running_var")
        artists = {}
        for ax, key in ((ax_m, "mean"), (ax_v, "var")):
            artists[key] = (
                ax.plot([], [], ".", ms=3.5, color=COLORS["muted"], label="this batch", animated=True)[0],
                ax.plot([], [], color=COLORS["main"], lw=1.8, label="running estimate", animated=True)[0],
                ax.plot([], [], color="black", lw=1, ls="--", label="true value", animated=True)[0],
            )
        band, = ax_m.plot([], [], color=COLORS["accent"], lw=0.9, ls=":", animated=True)   # mu +- sigma/sqrt(B)
        ax_m.legend(loc="upper left", fontsize=8, ncols=3)

        def update(batch_size, momentum, shift):
            b = int(batch_size)
            with one_thread():
                sim = simulate_bn_statistics(b, float(momentum), bool(shift))
            batch_mean, batch_var, run_mean, run_var, mu, var = sim
            for key, dots, est, true in (("mean", batch_mean, run_mean, mu), ("var", batch_var, run_var, var)):
                artists[key][0].set_data(steps, np.clip(dots, -3.4, 6.4) if key == "mean" else np.clip(dots, 0.021, 39))
                artists[key][1].set_data(steps, est)
                artists[key][2].set_data(steps, true)
            sem = np.sqrt(var / b)
            band.set_data(np.concatenate([steps, [np.nan], steps]), np.concatenate([mu + sem, [np.nan], mu - sem]))
            half = BN_STEPS // 2
            measured = float(batch_mean[:half].std())
            memory = f"about {1 / momentum:.0f} batch" + ("es" if round(1 / momentum) != 1 else "")
            return (f"B = {b}: spread of the batch means over the first {half} steps <b>{measured:.3f}</b>, "
                    f"theory sigma/sqrt(B) = {2 / np.sqrt(b):.3f} (dotted band). Momentum {momentum:.2f}: "
                    f"a batch k steps old has weight {momentum:.2f} x {1 - momentum:.2f}^k, memory {memory}; "
                    f"at the end running_mean = {run_mean[-1]:.3f}, running_var = {run_var[-1]:.3f} "
                    f"(true {mu[-1]:.0f}, {var[-1]:.0f})")

        return update

    return Panel(controls, setup, figsize=(8.0, 3.1))
