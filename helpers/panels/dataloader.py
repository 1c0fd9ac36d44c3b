"""Chapter 10 (DataLoader): the chapter's panels. The index arithmetic lives in ``helpers.dataloader``.

- ``batch_map_panel``: which batch every sample lands in, epoch after epoch (samples x epochs, coloured by
  batch), for batch_size, shuffle, drop_last and the generator's seed; iterations per epoch on the right.
- ``imbalance_panel``: a two-class data set with a small minority; the class shares the loader draws, with
  and without ``WeightedRandomSampler``.
- ``batch_noise_panel``: mini-batch SGD on a straight-line fit for one batch size against full-batch
  gradient descent: the path over the loss contours and the full-data loss per epoch.
"""
from __future__ import annotations

import functools

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from torch.utils.data import RandomSampler, WeightedRandomSampler

from ..dataloader import (BATCH_SIZES, balanced_sample_weights, batch_map, line_data, linear_sgd_path, loader_epochs,
                          num_batches)
from ..plotting import COLORS
from .base import Panel, PanelMessage, checkbox, dropdown, float_slider, int_slider, log_slider, one_thread, register
from .pieces import PixelLayer, axes_pixels

__all__ = ["batch_map_panel", "imbalance_panel", "batch_noise_panel"]

_STYLE = {"description_width": "initial"}


# ----------------------------------------------------------------------------- batch map
_MAX_N = 40
_MAP_EPOCHS = 4
_BATCH_COLORS = ListedColormap(["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1",
                                "#ff9da7", "#9c755f", "#bab0ac"])


@functools.lru_cache(maxsize=4)
def _digit_masks(dpi: float, upright: bool) -> tuple[np.ndarray, ...]:
    """Alpha masks (0..1) of the digits 0-9 as the panel's text renders them; rotated to read upwards if not upright."""
    masks = []
    for digit in "0123456789":
        fig = Figure(figsize=(0.4, 0.4), dpi=dpi)
        canvas = FigureCanvasAgg(fig)
        fig.text(0.5, 0.5, digit, ha="center", va="center", fontsize=8 if upright else 7)
        canvas.draw()
        ink = 1.0 - np.asarray(canvas.buffer_rgba())[..., 0] / 255.0
        rows, cols = np.flatnonzero(ink.max(1) > 0), np.flatnonzero(ink.max(0) > 0)
        mask = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
        masks.append(mask if upright else np.rot90(mask))
    return tuple(masks)


@functools.lru_cache(maxsize=256)
def _number_glyph(number: int, dpi: float, upright: bool) -> np.ndarray:
    """The alpha mask of ``number``: digits side by side, or (not upright) stacked to read upwards."""
    glyphs = [np.round(_digit_masks(dpi, upright)[int(d)] * 255).astype(np.uint8) for d in str(number)]
    if upright:
        h = max(g.shape[0] for g in glyphs)
        return np.hstack([np.pad(g, ((h - g.shape[0], 0), (0, 1))) for g in glyphs])
    w = max(g.shape[1] for g in glyphs)
    return np.vstack([np.pad(g, ((0, 1), (0, w - g.shape[1]))) for g in glyphs[::-1]])


def _number_layer(batch: np.ndarray, width: int, height: int, dpi: float, upright: bool) -> np.ndarray:
    """An RGBA uint8 image (height, width) of black batch numbers centred in the cells of ``batch`` (epochs, n);
    -1 left blank. (Bytes, not floats: matplotlib then draws it without normalising a float array every frame.)"""
    alpha = np.zeros((max(height, 1), max(width, 1)), dtype=np.uint8)
    epochs, n = batch.shape
    for e in range(epochs):
        for i in range(n):
            if batch[e, i] < 0:
                continue
            glyph = _number_glyph(int(batch[e, i]), dpi, upright)
            top = int((e + 0.5) * alpha.shape[0] / epochs - glyph.shape[0] / 2)
            left = int((i + 0.5) * alpha.shape[1] / n - glyph.shape[1] / 2)
            region = alpha[max(top, 0):top + glyph.shape[0], max(left, 0):left + glyph.shape[1]]
            region[...] = np.maximum(region, glyph[:region.shape[0], :region.shape[1]])
    layer = np.zeros(alpha.shape + (4,), dtype=np.uint8)
    layer[..., 3] = alpha
    return layer


def _plural(count: int, noun: str, with_count: bool = False) -> str:
    """``noun`` or ``nouns`` to agree with ``count`` (with the count in front if asked)."""
    word = noun if count == 1 else noun + "s"
    return f"{count} {word}" if with_count else word


@register
def batch_map_panel() -> Panel:
    """Samples x epochs coloured by the batch each sample lands in, with len(loader) against the batch size."""
    controls = {
        "batch_size": int_slider("batch_size", 1, 16, 6),
        "n": int_slider("samples N", 4, _MAX_N, 22),
        "shuffle": checkbox("shuffle", True),
        "drop_last": checkbox("drop_last", False),
        "seed": int_slider("generator seed", 0, 20, 0),
    }
    cmap = _BATCH_COLORS.with_extremes(under="#222222", bad="white")
    sizes = np.arange(1, 17)

    def setup(fig):
        ax_map, ax_len = fig.subplots(1, 2, gridspec_kw={"width_ratios": [2.3, 1.0]})
        ax_map.set(ylim=(_MAP_EPOCHS - 0.5, -0.5), xlabel="sample index",
                   yticks=range(_MAP_EPOCHS), yticklabels=[f"epoch {e + 1}" for e in range(_MAP_EPOCHS)],
                   title="batch of each sample (number = batch, black = dropped)")
        ax_map.grid(False)
        ax_map.xaxis.set_major_locator(MaxNLocator(integer=True))
        cells = ax_map.pcolormesh(np.arange(_MAX_N + 1) - 0.5, np.arange(_MAP_EPOCHS + 1) - 0.5,
                                  np.full((_MAP_EPOCHS, _MAX_N), np.nan), cmap=cmap, vmin=0, vmax=10,
                                  animated=True)     # a mesh of cells: much cheaper to redraw than an image
        # the batch number written in every cell (colours alone repeat after 10 batches): one image of digits,
        # composed with numpy, costs a fraction of 160 text artists
        numbers = fig.add_artist(PixelLayer(animated=True, zorder=3, gid="batch numbers"))  # pasted, not resampled
        ax_map.set(xlim=(-0.5, _MAX_N - 0.5), ylim=(_MAP_EPOCHS - 0.5, -0.5))
        gaps = [(x, e + 0.5) for e in range(_MAP_EPOCHS - 1) for x in (-0.5, _MAX_N - 0.5, np.nan)]
        ax_map.plot(*np.array(gaps).T, color="white", lw=3, animated=True)   # white gaps between the epochs
        ax_len.set(xlim=(0.3, 16.7), xlabel="batch_size", ylabel="len(loader)",
                   title="iterations per epoch")
        ceil_line, = ax_len.plot([], [], lw=1.5, color=COLORS["main"], label="ceil(N/B)", drawstyle="steps-mid",
                                 animated=True)
        floor_line, = ax_len.plot([], [], "--", lw=1.2, color=COLORS["grad"], label="floor(N/B), drop_last",
                                  drawstyle="steps-mid", animated=True)
        now, = ax_len.plot([], [], "o", ms=11, mfc="none", mec="black", mew=1.5, animated=True)
        ax_len.legend(loc="upper right", fontsize=8)

        def update(batch_size, n, shuffle, drop_last, seed):
            n, b = int(n), int(batch_size)
            if ax_map.get_xlim() != (-0.5, n - 0.5):           # both axes fit N
                ax_map.set_xlim(-0.5, n - 0.5)
                ax_len.set_ylim(0, 1.1 * n + 1)                # room for the circle at len = N
            ids = np.full((_MAP_EPOCHS, _MAX_N), np.nan)
            batch = batch_map(n, b, bool(shuffle), bool(drop_last), int(seed)).numpy()
            ids[:, :n] = np.where(batch < 0, -1.0, batch % 10)          # 10 colours in turn; -1: dropped (black)
            cells.set_array(np.ma.masked_invalid(ids))
            numbers.ox, numbers.oy, width, height = axes_pixels(fig, ax_map)
            widest = _number_glyph(max(int(batch.max()), 0), fig.dpi, True).shape[1]
            upright = width / n >= widest + 3                      # the largest number fits across its cell
            numbers.data = _number_layer(batch, width, height, fig.dpi, upright)
            ceil_line.set_data(sizes, [num_batches(n, s) for s in sizes])
            floor_line.set_data(sizes, [num_batches(n, s, drop_last=True) for s in sizes])
            per_epoch = num_batches(n, b, drop_last=bool(drop_last))
            now.set_data([b], [per_epoch])
            first = loader_epochs(n, b, int(seed), 1, shuffle=bool(shuffle), drop_last=bool(drop_last))[0]
            shown = ", ".join(str(batch) for batch in first[:6]) + (" ..." if len(first) > 6 else "")
            last = len(first[-1]) if first else 0
            return (f"N = {n}, batch_size = {b}: len(loader) = <b>{per_epoch}</b> {_plural(per_epoch, 'iteration')} "
                    f"per epoch, {per_epoch * _MAP_EPOCHS} in {_MAP_EPOCHS} epochs; last batch has "
                    f"{_plural(last, 'sample', True)}{f'; {n % b} dropped per epoch' if drop_last and n % b else ''}."
                    f"<br>epoch 1: {shown or 'no batch'}")

        return update

    def some_batch(v):              # drop_last with batch_size > N leaves no batch at all: order is moot
        return not (v["drop_last"] and v["batch_size"] > v["n"])

    return Panel(controls, setup, figsize=(8.0, 3.0),
                 enabled_when={"shuffle": some_batch, "seed": lambda v: v["shuffle"] and some_batch(v),
                               "drop_last": lambda v: v["n"] % v["batch_size"] != 0})


# ----------------------------------------------------------------------------- class imbalance
_IMB_N = 1000


@register
def imbalance_panel() -> Panel:
    """Class shares of one epoch drawn by the loader: plain shuffling against WeightedRandomSampler(1 / class count)."""
    controls = {
        "minority": float_slider("minority share", 0.01, 0.5, 0.01, 0.05),
        "weighted": checkbox("WeightedRandomSampler", False),
        "batch_size": int_slider("batch_size", 8, 128, 32),
        "seed": int_slider("generator seed", 0, 20, 0),
    }
    def setup(fig):
        ax_share, ax_batch = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.0, 2.0]})
        ax_share.set(xlim=(-0.6, 1.6), ylim=(0, 1.05), xticks=[0, 1], xticklabels=["data set", "drawn"],
                     ylabel="share of class 1 (minority)", title="class shares")
        bars = [ax_share.bar([0], [0.0], width=0.6, color=COLORS["muted"], animated=True)[0],
                ax_share.bar([1], [0.0], width=0.6, color=COLORS["grad"], animated=True)[0]]
        ax_share.axhline(0.5, color="black", lw=0.8, ls=":")
        ax_batch.set(xlim=(0, 1), ylim=(-0.02, 1.02), xlabel="position in the epoch (batch k of K at k / K)",
                     ylabel="class-1 share in the batch", title="minority share of every batch")
        per_batch, = ax_batch.plot([], [], ".-", ms=3, lw=0.8, color=COLORS["grad"], animated=True)
        data_share, = ax_batch.plot([], [], color=COLORS["muted"], lw=1.5, ls="--", label="share in the data set",
                                    animated=True)
        ax_batch.legend(loc="upper right", fontsize=8)

        def update(minority, weighted, batch_size, seed):
            m = max(1, int(round(float(minority) * _IMB_N)))
            labels = torch.zeros(_IMB_N, dtype=torch.int64)
            labels[:m] = 1
            g = torch.Generator().manual_seed(int(seed))
            with one_thread():
                if weighted:
                    sampler = WeightedRandomSampler(balanced_sample_weights(labels), _IMB_N, replacement=True,
                                                    generator=g)
                else:
                    sampler = RandomSampler(range(_IMB_N), generator=g)
                drawn = torch.tensor(list(sampler))
            drawn_labels = labels[drawn].numpy()
            b = int(batch_size)
            k = len(drawn_labels) // b * b                  # whole batches only (like drop_last) for the plot
            shares = drawn_labels[:k].reshape(-1, b).mean(1)
            bars[0].set_height(m / _IMB_N)
            bars[1].set_height(drawn_labels.mean())
            per_batch.set_data((np.arange(len(shares)) + 0.5) / len(shares), shares)
            data_share.set_data([0, 1], [m / _IMB_N] * 2)
            minority_drawn = drawn[labels[drawn] == 1].numpy()
            distinct = len(np.unique(minority_drawn))
            most = np.bincount(drawn.numpy()).max()
            empty = int((shares == 0).sum())
            return (f"{m} of {_IMB_N} samples are class 1. One epoch ({_IMB_N} draws): class 1 share "
                    f"<b>{drawn_labels.mean():.1%}</b>; {len(minority_drawn)} class-1 draws of {distinct} distinct "
                    f"samples; the most drawn sample appears {_plural(most, 'time', True)}; {empty} of {len(shares)} batches "
                    f"of {b} hold no class-1 sample")

        return update

    return Panel(controls, setup, figsize=(8.0, 3.0))


# ----------------------------------------------------------------------------- batch size and gradient noise
_LINE_N = 200                     # len(line_data()[0])
_NOISE_EPOCHS = 3
_NOISE_STEPS = 60
_W0, _B0 = -1.5, 2.5


def _full_loss(path: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Mean squared error on all the data for every (w, b) row of ``path``."""
    return ((path[:, :1] * x[None, :] + path[:, 1:] - y[None, :]) ** 2).mean(1)


@register
def batch_noise_panel() -> Panel:
    """Mini-batch SGD for a line fit: the path over the loss contours and the full-data loss, batch size against full batch."""
    controls = {
        "lr": log_slider("learning rate", -2.5, -0.5, 0.05, step=0.05),
        "batch_size": widgets.SelectionSlider(options=list(BATCH_SIZES), value=10, description="batch_size",
                                              style=_STYLE, layout=widgets.Layout(width="320px")),
        "budget": dropdown("compare after", [f"{_NOISE_EPOCHS} epochs", f"{_NOISE_STEPS} steps"], f"{_NOISE_EPOCHS} epochs"),
        "seed": int_slider("generator seed", 0, 20, 0),
    }
    x_t, y_t = line_data()

    def batches_for(size: int, seed: int, by_epochs: bool) -> list[list[int]]:
        """The loader's batches: 3 epochs, or the first 60 steps (as many epochs as that needs)."""
        if by_epochs:
            return sum(loader_epochs(_LINE_N, size, seed, _NOISE_EPOCHS), [])
        epochs = -(-_NOISE_STEPS // num_batches(_LINE_N, size))
        return sum(loader_epochs(_LINE_N, size, seed, epochs), [])[:_NOISE_STEPS]
    x, y = x_t.numpy(), y_t.numpy()
    ws, bs = np.linspace(-2.0, 3.5, 80), np.linspace(-2.5, 3.0, 80)
    grid_w, grid_b = np.meshgrid(ws, bs)
    surface = ((grid_w[..., None] * x + grid_b[..., None] - y) ** 2).mean(-1)
    best = np.linalg.lstsq(np.stack([x, np.ones_like(x)], 1), y, rcond=None)[0]
    best_loss = float(_full_loss(best[None, :], x, y)[0])

    def setup(fig):
        ax_c, ax_l = fig.subplots(1, 2)
        ax_c.contour(grid_w, grid_b, surface, levels=np.geomspace(best_loss * 1.02, surface.max(), 12),
                     colors=COLORS["muted"], linewidths=0.7)
        ax_c.plot(*best, "*", ms=11, color="black")
        ax_c.set(xlim=(ws[0], ws[-1]), ylim=(bs[0], bs[-1]), xlabel="w", ylabel="b",
                 title=f"(w, b) path, {_LINE_N} samples")
        sgd_path, = ax_c.plot([], [], ".-", ms=2.5, lw=0.9, color=COLORS["grad"], label="mini-batch SGD",
                              animated=True)
        gd_path, = ax_c.plot([], [], "o-", ms=4, lw=1.4, color=COLORS["main"], label="full batch (B = 200)",
                             animated=True)
        ax_c.legend(loc="lower right", fontsize=8)
        ax_l.set(ylim=(best_loss * 0.9, 40), yscale="log", ylabel="loss on all 200 samples",
                 title="full-data loss after every step")
        ax_l.axhline(best_loss, color="black", lw=0.8, ls=":")
        sgd_loss, = ax_l.plot([], [], lw=1.0, color=COLORS["grad"], animated=True)
        gd_loss, = ax_l.plot([], [], "o-", ms=4, lw=1.4, color=COLORS["main"], animated=True)

        def update(lr, batch_size, budget, seed):
            b, by_epochs = int(batch_size), budget.endswith("epochs")
            if by_epochs and ax_l.get_xlabel() != "epoch (samples seen / N)":
                ax_l.set(xlim=(0, _NOISE_EPOCHS), xlabel="epoch (samples seen / N)")
            elif not by_epochs and ax_l.get_xlabel() != "step":
                ax_l.set(xlim=(0, _NOISE_STEPS), xlabel="step")
            with one_thread():
                paths = {size: linear_sgd_path(x_t, y_t, batches_for(size, int(seed), by_epochs), float(lr),
                                               _W0, _B0).numpy() for size in (b, _LINE_N)}
            if not all(np.isfinite(p).all() and np.abs(p).max() < 1e3 for p in paths.values()):
                raise PanelMessage(f"diverged: learning rate {lr:.3g} is too large for batch_size {b}")
            for (path_line, loss_line), size in (((sgd_path, sgd_loss), b), ((gd_path, gd_loss), _LINE_N)):
                path = paths[size]
                path_line.set_data(path[:, 0], path[:, 1])
                steps = np.arange(len(path))
                loss_line.set_data(steps * size / _LINE_N if by_epochs else steps, _full_loss(path, x, y))
            g0 = 2 * (_W0 * x + _B0 - y) * x                   # per-sample dL/dw at the start
            spread = g0.std() / np.sqrt(b) * np.sqrt((_LINE_N - b) / (_LINE_N - 1))
            final = float(_full_loss(paths[b][-1:], x, y)[0])
            return (f"batch_size {b}: {_plural(num_batches(_LINE_N, b), 'step', True)} per epoch, {len(paths[b]) - 1} steps "
                    f"({(len(paths[b]) - 1) * b / _LINE_N:g} epochs); final loss <b>{final:.3f}</b> "
                    f"(full batch {float(_full_loss(paths[_LINE_N][-1:], x, y)[0]):.3f}, minimum {best_loss:.3f}). "
                    f"At the start, the batch gradient dL/dw scatters with std {spread:.2f} around the full "
                    f"gradient {g0.mean():.2f}")

        return update

    return Panel(controls, setup, figsize=(8.0, 3.2),
                 enabled_when={"seed": lambda v: v["batch_size"] < _LINE_N})
