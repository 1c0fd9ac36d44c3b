"""Chapter 7 (regularization): the chapter's panels and figures. The math lives in ``helpers.regularization``.

- ``overfitting_panel``: a playground in the manner of TensorFlow Playground. Data (five sets, noise, training-set
  size), network (activation, width, Adam's learning rate) and regularization (dropout, weight decay, batch norm)
  are set by grouped controls; the decision map shows training points filled and validation points hollow, the
  right plot the train-mode and eval-mode training losses and the validation loss. Each new setting is trained
  once (``helpers.regularization.train_playground``: 200 full-batch epochs, the weights kept every 2 epochs) and
  cached; the epoch slider and its Play button only swap the stored map and move the marker.
- ``dropout_mask_panel``: which units one dropout mask drops, and the mean of the layer's output under
  PyTorch's scaling 1/(1-p), no scaling and the notes' 1/p.
- ``bn_stats_panel``: batch means and variances against the batch size, and the running estimates
  against ``momentum``.
"""
from __future__ import annotations

import functools

import contourpy
from matplotlib.collections import LineCollection
from matplotlib.lines import Line2D
import numpy as np
import torch

from ..plotting import COLORS, new_figure
from ..regularization import (ACTIVATIONS, BN_STEPS, BN_MAX_BATCH, MAP_GRID, PLAYGROUND_EPOCHS, PLAYGROUND_PATIENCE,
                              PLAYGROUND_SETS, SNAPSHOT_EVERY, TRAIN_MAX, VIEW, dropout, dropout_scalings,
                              early_stopping_epoch, playground_data, playground_map, playground_run,
                              simulate_bn_statistics)
from .base import Panel, check_finite, checkbox, dropdown, float_slider, int_slider, one_thread, play_slider, register
from .pieces import PATH_COLORS, SIGNED_CMAP

__all__ = ["overfitting_panel", "dropout_mask_panel", "bn_stats_panel", "subnetworks_figure",
           "decision_boundary_figure"]

# ----------------------------------------------------------------------------- the playground
_CLASS_COLORS = (PATH_COLORS[0], PATH_COLORS[1])     # class 0 blue, class 1 red: the ends of the map below
_MAP_CMAP = SIGNED_CMAP      # diverging, centred at P = 0.5 (white): blue = class 0, red = class 1
_MAP_NORM = dict(vmin=-0.8, vmax=1.8)   # symmetric about 0.5; P in [0, 1] uses the lighter middle of the map
_EXTENT = (-VIEW, VIEW, -VIEW, VIEW)
_FINE = 2 * len(MAP_GRID) - 1        # the map drawn on a grid twice as fine: nodes of MAP_GRID are every 2nd node
_CELL = 2 * VIEW / (_FINE - 1)
_IMAGE_EXTENT = (-VIEW - _CELL / 2, VIEW + _CELL / 2, -VIEW - _CELL / 2, VIEW + _CELL / 2)   # pixel centres on the nodes
_TICKS = [-2, -1, 0, 1, 2]
_LOSS_FLOOR = 1e-4
_LR_OPTIONS = [("0.001", 0.001), ("0.003", 0.003), ("0.01", 0.01), ("0.03", 0.03), ("0.1", 0.1)]
_WD_OPTIONS = [("0", 0.0), ("1e-4", 1e-4), ("1e-3", 1e-3), ("0.01", 1e-2), ("0.1", 1e-1)]


def _boundary_segments(prob: np.ndarray) -> list[np.ndarray]:
    """The P = 0.5 contour of a map on ``MAP_GRID x MAP_GRID``, as line segments (contourpy, no figure needed)."""
    grid = MAP_GRID.numpy()
    return contourpy.contour_generator(grid, grid, prob).lines(0.5)


def _fine(prob: np.ndarray) -> np.ndarray:
    """The map bilinearly refined onto a grid twice as fine (drawn with nearest pixels: cheaper than matplotlib's bilinear)."""
    t = torch.as_tensor(prob, dtype=torch.float32)[None, None]
    return torch.nn.functional.interpolate(t, size=(_FINE, _FINE), mode="bilinear", align_corners=True)[0, 0].numpy()


def _map_axes(ax, title: str) -> None:
    ax.set(xlim=_EXTENT[:2], ylim=_EXTENT[2:], xticks=_TICKS, yticks=_TICKS, xlabel="$x_1$", ylabel="$x_2$", title=title)
    ax.set_aspect("equal")
    ax.grid(False)


def _point_artists(ax, animated: bool) -> dict:
    """Per class: training points filled, validation points hollow (in the class colour)."""
    artists = {}
    for c, color in enumerate(_CLASS_COLORS):
        artists["val", c] = ax.plot([], [], "o", ms=4.5, mfc="none", mec=color, mew=1.0, alpha=0.85, animated=animated)[0]
        artists["train", c] = ax.plot([], [], "o", ms=5.5, color=color, mec="black", mew=0.7, animated=animated)[0]
    return artists


def _set_points(artists: dict, data) -> None:
    xtr, ytr, xva, yva = data
    for c in (0, 1):
        artists["train", c].set_data(*xtr[ytr == c].T.numpy())
        artists["val", c].set_data(*xva[yva == c].T.numpy())


def _class_legend_handles() -> list:
    handles = [Line2D([], [], ls="", marker="s", ms=8, color=color, label=f"class {c}") for c, color in enumerate(_CLASS_COLORS)]
    handles += [Line2D([], [], ls="", marker="o", ms=5.5, color="#999999", mec="black", mew=0.7, label="training (filled)"),
                Line2D([], [], ls="", marker="o", ms=4.5, mfc="none", mec="black", mew=1.0, label="validation (hollow)"),
                Line2D([], [], color="black", lw=1.2, label="boundary P = 0.5")]
    return handles


def decision_boundary_figure(settings: dict[str, dict]):
    """Playground decision maps, one axes per ``{title: dict(epoch=, **PlaygroundSetting keywords)}``."""
    fig, axes = new_figure((3.1 * len(settings) + 2.2, 3.4), ncols=len(settings), squeeze=False)
    for ax, (title, kwargs) in zip(axes[0], settings.items()):
        kwargs = dict(kwargs)
        epoch = int(kwargs.pop("epoch", PLAYGROUND_EPOCHS))
        with one_thread():
            run = playground_run(**kwargs)
            prob = playground_map(epoch, **kwargs)
        s = run.setting
        image = ax.imshow(_fine(prob), origin="lower", cmap=_MAP_CMAP, **_MAP_NORM, extent=_IMAGE_EXTENT,
                          interpolation="nearest")
        ax.add_collection(LineCollection(_boundary_segments(prob), colors="black", linewidths=1.2))
        _set_points(_point_artists(ax, animated=False), playground_data(s.data, s.n_train, s.noise))
        i = epoch // SNAPSHOT_EVERY
        _map_axes(ax, f"{title}\ntrain {run.train_loss[i]:.3f} | val {run.val_loss[i]:.2f}")
    bar = fig.colorbar(image, ax=list(axes[0]), fraction=0.04, pad=0.02, ticks=[0, 0.5, 1], boundaries=np.linspace(0, 1, 101))
    bar.set_label("P(class 1), eval mode")
    fig.legend(handles=_class_legend_handles(), loc="outside right center", fontsize=9)
    return fig


@register
def overfitting_panel() -> Panel:
    """A TensorFlow-Playground-like panel: data, network, regularization; the decision map and the losses over the epochs."""
    controls = {
        "epoch": play_slider("epoch", 0, PLAYGROUND_EPOCHS, PLAYGROUND_EPOCHS, step=SNAPSHOT_EVERY, interval=100),
        "data": dropdown("data set", list(PLAYGROUND_SETS), "circles"),
        "noise": float_slider("noise", 0.0, 0.5, 0.05, 0.3, continuous_update=False),
        "n_train": int_slider("training points", 10, TRAIN_MAX, 40, step=10, continuous_update=False),
        "activation": dropdown("activation", list(ACTIVATIONS), "ReLU"),
        "lr": dropdown("learning rate (Adam)", _LR_OPTIONS, 0.01),
        "width": dropdown("width", [4, 16, 64], 64),
        "p": float_slider("dropout p", 0.0, 0.6, 0.1, 0.0, continuous_update=False),
        "weight_decay": dropdown("weight decay", _WD_OPTIONS, 0.0),
        "batch_norm": checkbox("batch norm", False),
    }
    groups = [("data", [["data", "noise"], ["n_train"]]),
              ("model and training", [["activation", "width"], ["lr"], ["epoch"]]),
              ("regularization", [["p"], ["weight_decay"], ["batch_norm"]])]

    def setup(fig):
        grid = fig.add_gridspec(1, 4, width_ratios=[0.8, 0.035, 0.27, 1.5])
        ax_map, ax_bar = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1])
        ax_key, ax_loss = fig.add_subplot(grid[0, 2]), fig.add_subplot(grid[0, 3])
        _map_axes(ax_map, "P(class 1) in eval mode")
        image = ax_map.imshow(np.full((_FINE, _FINE), 0.5), origin="lower", cmap=_MAP_CMAP, **_MAP_NORM,
                              extent=_IMAGE_EXTENT, interpolation="nearest", animated=True)
        boundary = LineCollection([], colors="black", linewidths=1.2, animated=True)
        ax_map.add_collection(boundary)
        points = _point_artists(ax_map, animated=True)
        stamp = ax_map.text(0.03, 0.97, "", transform=ax_map.transAxes, ha="left", va="top", fontsize=10,
                            bbox=dict(facecolor="white", edgecolor="#cccccc", pad=2), animated=True)
        bar = fig.colorbar(image, cax=ax_bar, ticks=[0, 0.5, 1], boundaries=np.linspace(0, 1, 101))
        bar.set_label("P(class 1)")
        ax_key.axis("off")
        ax_key.legend(handles=_class_legend_handles(), loc="center left", borderaxespad=0, handlelength=1.4)
        ax_loss.set(xlim=(0, PLAYGROUND_EPOCHS), ylim=(_LOSS_FLOOR, 20), yscale="log", xlabel="epoch",
                    ylabel="cross-entropy", title="loss: training set and 200 validation points")
        step_line, = ax_loss.plot([], [], color=COLORS["main"], lw=0.8, alpha=0.4, label="train, train mode",
                                  animated=True)
        train_line, = ax_loss.plot([], [], color=COLORS["main"], label="train, eval mode", animated=True)
        val_line, = ax_loss.plot([], [], color=COLORS["accent"], label="validation", animated=True)
        now = ax_loss.axvline(0, color="black", lw=1, ls=":", animated=True)
        now_dots, = ax_loss.plot([], [], "o", ms=5, color="black", animated=True)
        best, = ax_loss.plot([], [], "v", ms=9, color=COLORS["alt"], label="kept by early stopping", animated=True)
        ax_loss.legend(loc="upper right", ncols=2)
        steps = np.arange(1, PLAYGROUND_EPOCHS + 1)

        def update(epoch, data, noise, n_train, activation, lr, width, p, weight_decay, batch_norm):
            epoch = min(int(epoch), PLAYGROUND_EPOCHS) // SNAPSHOT_EVERY * SNAPSHOT_EVERY
            kwargs = dict(data=data, noise=float(noise), n_train=int(n_train), activation=activation, lr=float(lr),
                          width=int(width), p=float(p), weight_decay=float(weight_decay), batch_norm=bool(batch_norm))
            with one_thread():
                run = playground_run(**kwargs)
                prob = playground_map(epoch, **kwargs)
            s = run.setting
            check_finite(run.train_loss, run.val_loss, prob, what="this training run")
            image.set_data(_fine(prob))
            boundary.set_segments(_boundary_segments(prob))
            _set_points(points, playground_data(s.data, s.n_train, s.noise))
            stamp.set_text(f"epoch {epoch}")
            floor = lambda a: np.clip(a, _LOSS_FLOOR, None)  # noqa: E731  (log axis)
            step_line.set_data(steps, floor(run.step_loss))
            train_line.set_data(run.epochs, floor(run.train_loss))
            val_line.set_data(run.epochs, floor(run.val_loss))
            i = epoch // SNAPSHOT_EVERY
            now.set_xdata([epoch, epoch])
            now_dots.set_data([epoch, epoch], floor([run.train_loss[i], run.val_loss[i]]))
            i_stop, i_best = early_stopping_epoch(run.val_loss, patience=PLAYGROUND_PATIENCE)
            best.set_data([run.epochs[i_best]], floor([run.val_loss[i_best]]))
            return (f"epoch {epoch}: training loss <b>{run.train_loss[i]:.3f}</b> (accuracy {run.train_acc[i]:.0%}), "
                    f"validation loss <b>{run.val_loss[i]:.3f}</b> (accuracy {run.val_acc[i]:.0%}), "
                    f"gap {run.val_loss[i] - run.train_loss[i]:+.3f}. Early stopping (patience "
                    f"{PLAYGROUND_PATIENCE * SNAPSHOT_EVERY} epochs) stops at epoch {run.epochs[i_stop]} and keeps epoch "
                    f"{run.epochs[i_best]} (validation loss {run.val_loss[i_best]:.3f}).")

        return update

    return Panel(controls, setup, figsize=(11.25, 4.0), groups=groups, states=_PLAYGROUND_STATES)


# the experiments the chapter suggests (each on top of the defaults: circles, noise 0.3, 40 points, no regularization)
_PLAYGROUND_STATES = {
    "第 20 轮": {"epoch": 20},
    "训练完": {"epoch": PLAYGROUND_EPOCHS},
    "200 个点": {"n_train": 200},
    "无噪声": {"noise": 0.0},
    "衰减 0.01": {"weight_decay": 0.01},
    "衰减 0.1": {"weight_decay": 0.1},
    "Dropout 0.4": {"p": 0.4},
    "线性激活": {"activation": "linear"},
    "XOR": {"data": "XOR"},
    "螺旋": {"data": "spiral"},
    "moons": {"data": "moons"},
    "moons+Dropout": {"data": "moons", "p": 0.4},
    "moons+衰减": {"data": "moons", "weight_decay": 0.01},
}


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
        ax_u.bar(units, h.numpy(), width=0.8, color=COLORS["muted"], alpha=0.35, label="input h = eval output")
        ax_u.set(xlim=(-1, _N_UNITS), ylim=(0, 6.5), xlabel="hidden unit", ylabel="activation",
                 title="one dropout mask: output of each unit")
        bars = LineCollection([], linewidths=5.5, colors=COLORS["main"], capstyle="butt", label="train output",
                              animated=True)        # one artist for the 40 bars: cheaper to redraw than 40 patches
        ax_u.add_collection(bars)
        dropped, = ax_u.plot([], [], "x", ms=6, mew=1.5, color=COLORS["grad"], label="dropped", animated=True)
        ax_u.legend(loc="upper left", ncols=2)
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
        ax.margins(x=0.08, y=0.1)                   # whole circles at the edges
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
        ax_m.legend(loc="upper left", ncols=2)

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
