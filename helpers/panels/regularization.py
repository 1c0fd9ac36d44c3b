"""Chapter 7 (regularization): the chapter's panels and figures. The math lives in ``helpers.regularization``.

- ``overfitting_panel``: a small two-moons training set, a network whose width, dropout, weight decay and
  batch norm are set by the controls; the decision boundary and the train / validation loss over the epochs.
  For one width and BN switch, all 16 (dropout p, weight decay) settings are trained together as stacked
  tensors (``train_family``: 200 full-batch Adam steps) and cached; moving p, the weight decay or the
  epoch then only looks results up.
- ``dropout_mask_panel``: which units one dropout mask drops, and the mean of the layer's output under
  PyTorch's scaling 1/(1-p), no scaling and the notes' 1/p.
- ``bn_stats_panel``: batch means and variances against the batch size, and the running estimates
  against ``momentum``.
"""
from __future__ import annotations

import functools

import ipywidgets as widgets
from matplotlib.collections import LineCollection
import numpy as np
import torch
from torch import nn

from ..plotting import COLORS, new_figure
from ..regularization import dropout, early_stopping_epoch, mlp, running_average
from .base import Panel, checkbox, dropdown, float_slider, int_slider, one_thread, register

__all__ = ["overfitting_panel", "dropout_mask_panel", "bn_stats_panel", "playground_data", "train_family",
           "train_reference", "playground_run", "playground_boundary", "subnetworks_figure",
           "decision_boundary_figure", "P_GRID", "WD_GRID", "WIDTHS"]

_STYLE = {"description_width": "initial"}


def _selection_slider(description: str, options: list, value) -> widgets.SelectionSlider:
    """A slider over a few fixed values (a coarse grid: each value is one cached training run)."""
    return widgets.SelectionSlider(options=options, value=value, description=description, continuous_update=False,
                                   style=_STYLE, layout=widgets.Layout(width="320px"))


# ----------------------------------------------------------------------------- the playground's training
PLAYGROUND_EPOCHS = 200
SNAPSHOT_EVERY = 20          # decision boundary available every 20 epochs
LOSS_EVERY = 5               # train / validation loss measured every 5 epochs
P_GRID = (0.0, 0.2, 0.4, 0.6)
WD_GRID = (0.0, 1e-3, 1e-2, 1e-1)
WIDTHS = (4, 16, 64)
_PATIENCE = 4                # early stopping: 4 measurements (20 epochs) without improvement
_GRID_X = np.linspace(-1.5, 3.1, 40)           # covers every training and validation point
_GRID_Y = np.linspace(-1.45, 1.95, 28)
_EPS = 1e-5                  # BatchNorm1d's default eps; its momentum 0.1 is written out below


@functools.lru_cache(maxsize=1)
def playground_data() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Two moons with noise 0.3: 40 training points and 200 validation points (fixed seed)."""
    from ..data import two_moons

    x, y = two_moons(240, noise=0.3, seed=3)
    return x[:40], y[:40], x[40:], y[40:]


def train_reference(p: float, weight_decay: float, width: int, batch_norm: bool,
                    epochs: int = PLAYGROUND_EPOCHS) -> list[float]:
    """One playground setting the plain way: ``mlp([2, width, width, 2])`` + ``Adam(lr=0.01, weight_decay)``, full batch.

    Returns the train-mode loss of every step. The panel trains a whole grid of (p, weight decay) at once
    (``train_family``); for p = 0 both give the same numbers (checked in the tests and the notebook).
    """
    xtr, ytr, _, _ = playground_data()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = mlp([2, width, width, 2], dropout=p, batch_norm=batch_norm)
        optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=weight_decay)
        losses = []
        for _ in range(epochs):
            loss = nn.functional.cross_entropy(model(xtr), ytr)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return losses


def _stacked_parameters(width: int, batch_norm: bool, copies: int) -> dict[str, torch.Tensor]:
    """The initial weights of ``mlp([2, width, width, 2])`` (seed 0), one copy per setting: shapes (S, in, out)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = mlp([2, width, width, 2], batch_norm=batch_norm)
    params = {}
    for i, k in enumerate((0, 3 if batch_norm else 2, -1)):                # the three Linear layers
        params[f"W{i}"] = net[k].weight.detach().T
        if net[k].bias is not None:
            params[f"b{i}"] = net[k].bias.detach()[None, :]
    if batch_norm:
        for i, k in enumerate((1, 4)):
            params[f"gamma{i}"] = net[k].weight.detach()[None, :]
            params[f"beta{i}"] = net[k].bias.detach()[None, :]
    return {name: t.expand(copies, *t.shape).clone().requires_grad_() for name, t in params.items()}


def _forward(params: dict, x: torch.Tensor, *, train: bool, keep: torch.Tensor, stats: list | None,
             generator: torch.Generator | None) -> torch.Tensor:
    """Logits (S, N, 2) of S stacked networks: Linear -> [BN] -> ReLU -> [Dropout] twice, then Linear."""
    h = x
    for i in range(2):
        h = torch.matmul(h, params[f"W{i}"])                              # (S, N, width)
        if stats is not None:                                             # batch norm over the N samples
            if train:
                mean = h.mean(1, keepdim=True)
                h = h - mean
                var = (h * h).mean(1, keepdim=True)                       # biased batch variance
                n = h.shape[1]
                with torch.no_grad():                                     # running = 0.9 running + 0.1 batch
                    stats[i][0].mul_(0.9).add_(0.1 * mean)
                    stats[i][1].mul_(0.9).add_(var * (0.1 * n / (n - 1)))   # with the unbiased variance
            else:
                mean, var = stats[i]
                h = h - mean
            h = params[f"gamma{i}"] * h * torch.rsqrt(var + _EPS) + params[f"beta{i}"]
        else:
            h = h + params[f"b{i}"]
        h = torch.relu(h)
        if train:                                                         # inverted dropout, one p per network
            mask = torch.rand(h.shape, generator=generator) < keep
            h = h * mask / keep
    return torch.matmul(h, params["W2"]) + params["b2"]


def train_family(width: int, batch_norm: bool, epochs: int = PLAYGROUND_EPOCHS,
                 settings: tuple[tuple[float, float], ...] | None = None) -> dict:
    r"""Train one network per (p, weight decay) setting at once, as stacked tensors (S networks, one Adam).

    Adam is elementwise, so one Adam over tensors of shape (S, ...) is S independent Adams; Adam's coupled
    weight decay adds $\lambda_s w$ to network s's gradient, written out here. Returns per-setting losses
    (train and validation in eval mode every 5 epochs, train mode every step), accuracies, and the weights
    every 20 epochs for the decision boundary.
    """
    settings = settings or tuple((p, wd) for p in P_GRID for wd in WD_GRID)
    xtr, ytr, xva, yva = playground_data()
    count = len(settings)
    keep = torch.tensor([1.0 - p for p, _ in settings]).view(-1, 1, 1)
    decay = {}
    params = _stacked_parameters(width, batch_norm, count)
    for name, t in params.items():
        decay[name] = torch.tensor([wd for _, wd in settings]).view(-1, *[1] * (t.ndim - 1))
    stats = [[torch.zeros(count, 1, width), torch.ones(count, 1, width)] for _ in range(2)] if batch_norm else None
    optimizer = torch.optim.Adam(params.values(), lr=0.01)
    generator = torch.Generator().manual_seed(0)
    out = {"loss_epochs": [], "train": [], "val": [], "train_acc": [], "val_acc": [], "step": [], "snapshots": []}

    def per_network_loss(logits, y):                       # (S,) mean cross-entropy of each network
        flat = nn.functional.cross_entropy(logits.reshape(-1, 2), y.repeat(count), reduction="none")
        return flat.view(count, -1).mean(1)

    def measure(epoch):
        with torch.no_grad():
            for name, x, y in (("train", xtr, ytr), ("val", xva, yva)):
                logits = _forward(params, x, train=False, keep=keep, stats=stats, generator=None)
                out[name].append(per_network_loss(logits, y))
                out[f"{name}_acc"].append((logits.argmax(-1) == y).float().mean(1))
        out["loss_epochs"].append(epoch)
        if epoch % SNAPSHOT_EVERY == 0:
            copy = {name: t.detach().clone() for name, t in params.items()}
            out["snapshots"].append((copy, None if stats is None else [[s.clone() for s in pair] for pair in stats]))

    with one_thread():
        measure(0)
        for epoch in range(1, epochs + 1):
            losses = per_network_loss(_forward(params, xtr, train=True, keep=keep, stats=stats,
                                               generator=generator), ytr)
            optimizer.zero_grad()
            losses.sum().backward()                        # network s gets the gradient of its own loss only
            with torch.no_grad():
                for name, t in params.items():             # Adam(weight_decay=wd): grad + wd * w
                    t.grad.add_(decay[name] * t)
            optimizer.step()
            out["step"].append(losses.detach())
            if epoch % LOSS_EVERY == 0:
                measure(epoch)
    result = {k: torch.stack(v, 1).numpy() for k, v in out.items() if k not in ("loss_epochs", "snapshots")}
    result.update(loss_epochs=np.asarray(out["loss_epochs"]), snapshots=out["snapshots"], settings=settings,
                  keep=keep, width=width, batch_norm=batch_norm)
    return result


@functools.lru_cache(maxsize=8)
def _family(width: int, batch_norm: bool) -> dict:
    with torch.random.fork_rng(devices=[]):
        return train_family(width, batch_norm)


def playground_run(p: float, weight_decay: float, width: int, batch_norm: bool) -> dict[str, np.ndarray]:
    """The cached run of one setting (p in P_GRID, weight_decay in WD_GRID, width in WIDTHS)."""
    family = _family(int(width), bool(batch_norm))
    s = family["settings"].index((_nearest(p, P_GRID), _nearest(weight_decay, WD_GRID)))
    run = {k: family[k][s] for k in ("train", "val", "train_acc", "val_acc", "step")}
    run["loss_epochs"] = family["loss_epochs"]
    return run


def _nearest(value: float, grid: tuple[float, ...]) -> float:
    return min(grid, key=lambda g: abs(g - float(value)))


@functools.lru_cache(maxsize=512)
def playground_boundary(p: float, weight_decay: float, width: int, batch_norm: bool, epoch: int) -> np.ndarray:
    """P(class 1) on the plotting grid, in eval mode, after ``epoch`` epochs (a multiple of 20) of one setting."""
    family = _family(int(width), bool(batch_norm))
    s = family["settings"].index((_nearest(p, P_GRID), _nearest(weight_decay, WD_GRID)))
    params, stats = family["snapshots"][int(epoch) // SNAPSHOT_EVERY]
    one = {name: t[s:s + 1] for name, t in params.items()}
    one_stats = None if stats is None else [[t[s:s + 1] for t in pair] for pair in stats]
    grid = torch.tensor(np.stack(np.meshgrid(_GRID_X, _GRID_Y), -1).reshape(-1, 2), dtype=torch.float32)
    with torch.no_grad(), one_thread():
        logits = _forward(one, grid, train=False, keep=family["keep"][s:s + 1], stats=one_stats, generator=None)
    return torch.softmax(logits[0], -1)[:, 1].reshape(len(_GRID_Y), len(_GRID_X)).numpy()


def decision_boundary_figure(settings: dict[str, dict]):
    """Playground decision boundaries, one axes per ``{title: dict(p=, weight_decay=, width=, batch_norm=, epoch=)}``."""
    xtr, ytr, _, _ = playground_data()
    fig, axes = new_figure((2.5 * len(settings), 2.7), ncols=len(settings), squeeze=False)
    for ax, (title, kwargs) in zip(axes[0], settings.items()):
        kwargs = dict(kwargs)
        epoch = int(kwargs.pop("epoch", PLAYGROUND_EPOCHS)) // SNAPSHOT_EVERY * SNAPSHOT_EVERY
        prob = playground_boundary(**kwargs, epoch=epoch)
        ax.imshow(prob, origin="lower", cmap="RdBu", vmin=0, vmax=1, alpha=0.5, aspect="auto",
                  extent=(_GRID_X[0], _GRID_X[-1], _GRID_Y[0], _GRID_Y[-1]), interpolation="bilinear")
        ax.contour(_GRID_X, _GRID_Y, prob, levels=[0.5], colors="black", linewidths=1)
        for c, color in ((0, COLORS["grad"]), (1, COLORS["main"])):
            ax.plot(*xtr[ytr == c].T.numpy(), "o", ms=4, color=color, mec="black", mew=0.5)
        run = playground_run(**kwargs)
        i = epoch // LOSS_EVERY
        ax.set(xlim=(_GRID_X[0], _GRID_X[-1]), ylim=(_GRID_Y[0], _GRID_Y[-1]), xticks=[], yticks=[],
               title=f"{title}\ntrain {run['train'][i]:.3f} | val {run['val'][i]:.2f}")
        ax.grid(False)
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
    extent = (_GRID_X[0], _GRID_X[-1], _GRID_Y[0], _GRID_Y[-1])

    def setup(fig):
        ax_b, ax_l = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.0, 1.25]})
        ax_b.set(xlim=extent[:2], ylim=extent[2:], xticks=[], yticks=[], title="decision boundary (eval mode)")
        ax_b.grid(False)
        image = ax_b.imshow(np.zeros((len(_GRID_Y), len(_GRID_X))), origin="lower", cmap="RdBu", vmin=0, vmax=1,
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
            setting = (_nearest(p, P_GRID), _nearest(weight_decay, WD_GRID), int(width), bool(batch_norm))
            run = playground_run(*setting)
            image.set_data(playground_boundary(*setting, epoch))
            epochs = run["loss_epochs"]
            step_line.set_data(steps, np.clip(run["step"], 1e-3, None))
            train_line.set_data(epochs, np.clip(run["train"], 1e-3, None))
            val_line.set_data(epochs, np.clip(run["val"], 1e-3, None))
            now.set_xdata([epoch, epoch])
            i_stop, i_best = early_stopping_epoch(run["val"], patience=_PATIENCE)
            best.set_data([epochs[i_best]], [max(run["val"][i_best], 1e-3)])
            i = epoch // LOSS_EVERY
            return (f"epoch {epoch}: train loss <b>{run['train'][i]:.3f}</b> (acc {run['train_acc'][i]:.0%}), "
                    f"validation loss <b>{run['val'][i]:.3f}</b> (acc {run['val_acc'][i]:.0%}). "
                    f"Early stopping (patience {_PATIENCE * LOSS_EVERY} epochs) stops at epoch {epochs[i_stop]} "
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
                 xlabel="mean output of the layer", title="layer mean: bar = this mask, | = average")
        ax_m.axvline(float(h.mean()), color="black", lw=0.8, ls="--")
        ax_m.tick_params(axis="y", labelsize=8)
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
            mask_mean = float((h * torch.as_tensor(kept)).mean()) if training else float(h.mean())
            many_mask_mean = float((many != 0).float().mul(h).mean()) if training else float(h.mean())
            this = [float(h.mean()), float(out.mean()), mask_mean,
                    mask_mean / float(p) if training and p > 0 else np.nan]
            over = [float(h.mean()), float(many.mean()), many_mask_mean,
                    many_mask_mean / float(p) if training and p > 0 else np.nan]
            if not training:
                this[1:], over[1:] = [float(h.mean())] * 3, [float(h.mean())] * 3
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
_BN_STEPS = 150
_BN_MAX_BATCH = 128


@functools.lru_cache(maxsize=1)
def _bn_pool() -> np.ndarray:
    """Standard normal draws, one row per training step; a batch of size B uses the first B of a row."""
    return torch.randn(_BN_STEPS, _BN_MAX_BATCH, generator=torch.Generator().manual_seed(11),
                       dtype=torch.float64).numpy()


def _true_stats(shift: bool) -> tuple[np.ndarray, np.ndarray]:
    """The feature's mean and variance at each step: N(1, 4), or N(3, 1) from step 75 on with ``shift``."""
    mu = np.full(_BN_STEPS, 1.0)
    var = np.full(_BN_STEPS, 4.0)
    if shift:
        mu[_BN_STEPS // 2:], var[_BN_STEPS // 2:] = 3.0, 1.0
    return mu, var


@register
def bn_stats_panel() -> Panel:
    """Batch mean and variance of one feature per step (noise against the batch size) and BN's running estimates."""
    controls = {
        "batch_size": int_slider("batch size", 2, _BN_MAX_BATCH, 16),
        "momentum": float_slider("BN momentum", 0.01, 1.0, 0.01, 0.1),
        "shift": checkbox("distribution changes at step 75", False),
    }
    steps = np.arange(1, _BN_STEPS + 1)

    def setup(fig):
        ax_m, ax_v = fig.subplots(1, 2)
        ax_m.set(xlim=(0, _BN_STEPS + 1), ylim=(-3.5, 6.5), xlabel="training step", ylabel="mean",
                 title="batch mean and running_mean")
        ax_v.set(xlim=(0, _BN_STEPS + 1), ylim=(0.02, 40), yscale="log", xlabel="training step",
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
            mu, var = _true_stats(bool(shift))
            z = mu[:, None] + np.sqrt(var)[:, None] * _bn_pool()[:, :b]
            batch_mean, batch_var = z.mean(1), z.var(1, ddof=1)             # running_var uses the unbiased one
            with one_thread():
                both = running_average(torch.from_numpy(np.stack([batch_mean, batch_var], 1)), float(momentum),
                                       init=torch.tensor([0.0, 1.0], dtype=torch.float64))  # BN starts at 0 and 1
            run_mean, run_var = both.numpy().T
            for key, dots, est, true in (("mean", batch_mean, run_mean, mu), ("var", batch_var, run_var, var)):
                artists[key][0].set_data(steps, np.clip(dots, -3.4, 6.4) if key == "mean" else np.clip(dots, 0.021, 39))
                artists[key][1].set_data(steps, est)
                artists[key][2].set_data(steps, true)
            sem = np.sqrt(var / b)
            band.set_data(np.concatenate([steps, [np.nan], steps]), np.concatenate([mu + sem, [np.nan], mu - sem]))
            half = _BN_STEPS // 2
            measured = float(batch_mean[:half].std())
            memory = f"about {1 / momentum:.0f} batches"
            return (f"B = {b}: spread of the batch means over the first {half} steps <b>{measured:.3f}</b>, "
                    f"theory sigma/sqrt(B) = {2 / np.sqrt(b):.3f} (dotted band). Momentum {momentum:.2f}: "
                    f"a batch k steps old has weight {momentum:.2f} x {1 - momentum:.2f}^k, memory {memory}; "
                    f"at the end running_mean = {run_mean[-1]:.3f}, running_var = {run_var[-1]:.3f} "
                    f"(true {mu[-1]:.0f}, {var[-1]:.0f})")

        return update

    return Panel(controls, setup, figsize=(8.0, 3.1))
