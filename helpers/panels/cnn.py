"""Chapter 8 (CNN): the chapter's figures and its panels. The math, the digit models and their training live in ``helpers.cnn``.

- figures: image types, padding modes, learned kernels, feature maps of one digit.
- panels: conv arithmetic drawn on a grid; a 3x3 kernel on a grey photo or an RGB picture with one output
  pixel explained (its window, window x kernel, the sum plus bias); the trained CNN's feature maps; and
  shifting the input (equivariance of the conv, near-invariance after pooling).

Colours follow the course convention (``helpers.panels.pieces``): pictures in ``IMAGE_CMAP``, kernels,
products and feature maps in ``SIGNED_CMAP`` with limits symmetric about 0.
"""
from __future__ import annotations

import functools

import matplotlib
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib import font_manager
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle
from PIL import Image, ImageDraw, ImageFont
from torch import nn

from ..cnn import (LAYER_NAMES, PRESET_KERNELS, colour_shapes, conv_output_size, explain_pixel, layer_outputs,
                   on_canvas, pad2d, preset_kernel, relative_change, shift2d, shift_study, trained_digits_cnn, vacated,
                   validation_digits)
from ..plotting import COLORS, new_canvas_figure, new_figure
from .base import Panel, PanelMessage, dropdown, float_slider, int_slider, one_thread, register
from .pieces import IMAGE_CMAP, SIGNED_CMAP, PixelLayer, axes_pixels, signed_limits

__all__ = [
    "image_types_figure", "padding_modes_figure", "kernels_figure", "feature_maps_figure",
    "conv_arithmetic_panel", "filter_panel", "feature_maps_panel", "shift_panel",
]


# ----------------------------------------------------------------------------- drawing helpers
def _mosaic(maps: np.ndarray, cols: int, gap: int = 1) -> np.ndarray:
    """Tile ``maps`` (n, h, w) into one array, ``cols`` per row, with NaN gaps between them (one image to draw)."""
    n, h, w = maps.shape
    rows = -(-n // cols)
    out = np.full((rows * (h + gap) - gap, cols * (w + gap) - gap), np.nan)
    for k in range(n):
        r, c = divmod(k, cols)
        out[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = maps[k]
    return out


def _bare(ax) -> None:
    """An image axes: no ticks, no grid, no frame."""
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for side in ax.spines.values():
        side.set_visible(False)


def _cmap(name: str):
    """A copy of a colormap that paints NaN (the gaps of a mosaic) white."""
    return matplotlib.colormaps[name].with_extremes(bad="white")


# ----------------------------------------------------------------------------- figures
def image_types_figure(rgb: torch.Tensor, threshold: float = 0.5) -> Figure:
    """The photo as RGB (3, H, W), its three channels, grayscale (1, H, W) and binary (pixels 0/1)."""
    if not isinstance(rgb, torch.Tensor) or rgb.ndim != 3 or rgb.shape[0] != 3:
        raise ValueError(f"rgb must be a tensor of shape (3, H, W), got {getattr(rgb, 'shape', type(rgb).__name__)}")
    gray = (torch.tensor([0.299, 0.587, 0.114]).reshape(3, 1, 1) * rgb).sum(0)
    binary = (gray > threshold).float()
    h, w = gray.shape
    panels = [
        (rgb.permute(1, 2, 0).numpy(), None, f"RGB (3, {h}, {w})\nfloat in [0, 1]"),
        (rgb[0].numpy(), IMAGE_CMAP, "channel 0 = R\n(how much red)"),
        (rgb[1].numpy(), IMAGE_CMAP, "channel 1 = G\n(how much green)"),
        (rgb[2].numpy(), IMAGE_CMAP, "channel 2 = B\n(how much blue)"),
        (gray.numpy(), IMAGE_CMAP, f"grayscale (1, {h}, {w})\n0 = black, 1 (255) = white"),
        (binary.numpy(), IMAGE_CMAP, f"binary (1, {h}, {w})\npixels 0 or 1"),
    ]
    fig, axes = new_figure((11.0, 2.3), ncols=len(panels))
    for ax, (img, cmap, title) in zip(axes, panels):
        ax.imshow(img, cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(title, fontsize=9)
        _bare(ax)
    return fig


def padding_modes_figure(x: torch.Tensor, padding: int = 2) -> Figure:
    """A small (H, W) image padded by ``padding`` with zeros / reflect / replicate / circular; the original outlined."""
    if not isinstance(x, torch.Tensor) or x.ndim != 2:
        raise ValueError(f"x must be a 2-D tensor (H, W), got {getattr(x, 'shape', type(x).__name__)}")
    modes = ("zeros", "reflect", "replicate", "circular")
    fig, axes = new_figure((10.0, 3.0), ncols=len(modes))
    h, w = x.shape
    for ax, mode in zip(axes, modes):
        xp = pad2d(x, padding, mode)
        lo, hi = min(float(x.min()), 0.0), float(x.max())
        ax.imshow(xp.numpy(), cmap=IMAGE_CMAP, vmin=lo, vmax=hi)
        for (i, j), v in np.ndenumerate(xp.numpy()):
            dark = (v - lo) / max(hi - lo, 1e-12) < 0.5
            ax.text(j, i, f"{v:g}", ha="center", va="center", fontsize=8, color="white" if dark else "black")
        ax.add_patch(Rectangle((padding - 0.5, padding - 0.5), w, h, fill=False, lw=2, color=COLORS["grad"]))
        ax.set_title(f"padding_mode='{mode}'", fontsize=10)
        _bare(ax)
    return fig


def kernels_figure(weight: torch.Tensor, cols: int = 8) -> Figure:
    """The kernels of a first conv layer, weight (C_out, 1, k, k), as small images on one colour scale (red > 0 > blue)."""
    if not isinstance(weight, torch.Tensor) or weight.ndim != 4 or weight.shape[1] != 1:
        raise ValueError(f"weight must have shape (C_out, 1, k, k), got {getattr(weight, 'shape', type(weight).__name__)}")
    maps = weight.detach()[:, 0].numpy()
    limit = float(np.abs(maps).max())
    fig, ax = new_figure((1.0 * cols, 1.1 * -(-len(maps) // cols) + 0.4))
    ax.imshow(_mosaic(maps, cols), cmap=_cmap(SIGNED_CMAP), vmin=-limit, vmax=limit)
    k = maps.shape[-1]
    for idx in range(len(maps)):
        r, c = divmod(idx, cols)
        ax.text(c * (k + 1) + (k - 1) / 2, r * (k + 1) + k - 0.4, f"{idx}", ha="center", va="top", fontsize=8)
    ax.set_title(f"first-layer kernels {tuple(weight.shape)}: red = positive weight, blue = negative", fontsize=10,
                 pad=4)
    ax.axis("off")
    return fig


def feature_maps_figure(model: nn.Sequential, image: torch.Tensor) -> Figure:
    """One digit (1, 8, 8) and the feature maps of every layer of a ``digits_cnn`` model (one row per layer)."""
    if not isinstance(image, torch.Tensor) or tuple(image.shape) != (1, 8, 8):
        raise ValueError(f"image must have shape (1, 8, 8), got {getattr(image, 'shape', type(image).__name__)}")
    outs = layer_outputs(model, image.unsqueeze(0))
    rows = ("conv1", "pool1", "conv2", "pool2")
    fig = new_canvas_figure((11.0, 4.6))
    fig.set_layout_engine("none")
    grid = fig.add_gridspec(len(rows), 2, width_ratios=(1, 8), left=0.02, right=0.99, top=0.9, bottom=0.03,
                            wspace=0.05, hspace=0.35)
    ax_in = fig.add_subplot(grid[1:3, 0])
    ax_in.imshow(image[0].numpy(), cmap=IMAGE_CMAP, vmin=0, vmax=1)
    ax_in.set_title(f"input {tuple(image.shape)}", fontsize=9)
    _bare(ax_in)
    for r, name in enumerate(rows):
        maps = outs[name][0].numpy()
        limit = float(np.abs(maps).max()) or 1.0
        ax = fig.add_subplot(grid[r, 1])
        ax.imshow(_mosaic(maps, len(maps)), cmap=_cmap(SIGNED_CMAP), vmin=-limit, vmax=limit, aspect="equal")
        ax.set_title(f"{name}: {tuple(outs[name].shape[1:])}", fontsize=9, loc="left")
        ax.axis("off")
    probs = torch.softmax(outs["logits"][0], 0)
    fig.suptitle(f"prediction {int(probs.argmax())} (p = {float(probs.max()):.2f});  conv rows: red > 0 > blue;  "
                 "pooled rows come after ReLU: all >= 0 (white = 0)", fontsize=10)
    return fig


# ----------------------------------------------------------------------------- panel pieces
def _mesh(ax, rows: int, cols: int, cmap=SIGNED_CMAP, *, x0: float = 0.0, y0: float = 0.0, edges: str | None = None,
          scale: float = 1.0):
    """An animated grid of ``rows`` x ``cols`` square cells of side ``scale``, top-left corner at (x0, y0), y pointing down.

    A QuadMesh of fixed shape: ``set_array`` changes the colours (NaN cells are transparent), much cheaper
    to draw than an image that is resampled on every frame.
    """
    mesh = ax.pcolormesh(x0 + scale * np.arange(cols + 1), y0 + scale * np.arange(rows + 1), np.zeros((rows, cols)),
                         cmap=cmap, animated=True, edgecolors=edges or "face", linewidth=0.8 if edges else 0.0)
    return mesh


def _blocks(maps: np.ndarray, side: int) -> np.ndarray:
    """Repeat each value of maps (..., h, w) into a block so the result is (..., side, side), NaN where it falls short."""
    h = maps.shape[-1]
    factor = max(side // h, 1)
    big = np.repeat(np.repeat(maps, factor, axis=-2), factor, axis=-1)
    out = np.full((*maps.shape[:-2], side, side), np.nan)
    n = min(big.shape[-1], side)
    out[..., :n, :n] = big[..., :n, :n]
    return out


def _image_axes(ax, rows: float, cols: float) -> None:
    """Bare axes showing [0, cols] x [0, rows] with y pointing down and square cells."""
    _bare(ax)
    ax.set(xlim=(0, cols), ylim=(rows, 0), aspect="equal")


def _set_max(slider, top: int) -> None:
    """Give an integer slider a new maximum; its value is clamped into the new range."""
    if slider.value > top:
        slider.value = top
    slider.max = top


# ----------------------------------------------------------------------------- panel: conv arithmetic
_G, _GAP = 12, 3                # both grids live in one 12 x (12 + 3 + 12) block of cells
_CATEGORIES = ("input", "pad", "tap", "gap", "missed", "done", "todo")
_CELL = {
    "input": "#dbe9f6", "pad": "#e3e3e3", "tap": "#ff7f0e", "gap": "#ffd8b0", "missed": "#f4b6b0",
    "done": "#fde0c5", "todo": "#d9f0d3",
}


def _arith_geometry(size: int, kernel: int, stride: int, padding: int, dilation: int) -> tuple[int, int, int]:
    """(span, padded size, output size) of one axis, or a :class:`PanelMessage` when no window fits."""
    span, padded = dilation * (kernel - 1) + 1, size + 2 * padding
    if span > padded:
        raise PanelMessage(f"Impossible: the kernel spans D(F-1)+1 = {span} pixels, but the padded input "
                           f"has only W+2P = {padded}. No window fits, so there is no output. "
                           "Use a smaller kernel or dilation, or more padding.")
    return span, padded, conv_output_size(size, kernel, stride, padding, dilation)


def _arith_valid(v: dict) -> bool:
    return v["dilation"] * (v["kernel"] - 1) + 1 <= v["size"] + 2 * v["padding"]


def _arith_outputs(v: dict) -> int:
    return _arith_geometry(v["size"], v["kernel"], v["stride"], v["padding"], v["dilation"])[2] if _arith_valid(v) else 0


@register
def conv_arithmetic_panel() -> Panel:
    """Input size, kernel, stride, padding and dilation: the kernel's positions on the padded input and the output grid."""
    controls = {
        "size": int_slider("input size W", 3, 8, 5),
        "kernel": int_slider("kernel F", 1, 5, 3),
        "stride": int_slider("stride S", 1, 3, 1),
        "padding": int_slider("padding P", 0, 2, 1),
        "dilation": int_slider("dilation D", 1, 3, 1),
        "position": int_slider("kernel position (output cell)", 0, 24, 0),
    }

    def follow(c: dict, changed: str | None) -> None:
        """The position slider runs over the output cells, 0 .. N*N - 1, for the current geometry."""
        values = {name: w.value for name, w in c.items()}
        _set_max(c["position"], max(_arith_outputs(values) ** 2 - 1, 0))

    code = {name: float(i) for i, name in enumerate(_CATEGORIES)}
    cmap = ListedColormap([_CELL[name] for name in _CATEGORIES])
    labels = {"input": "input pixel", "pad": "padding (0)", "tap": "kernel tap / current output",
              "gap": "skipped (dilation)", "missed": "never covered", "done": "output computed",
              "todo": "output to do"}
    width = 2 * _G + _GAP

    def setup(fig):
        ax = fig.subplots()
        _image_axes(ax, _G + 0.2, width)
        ax.set_xlim(-0.1, width + 0.1)
        ax.text(_G / 2, -0.4, "padded input  (W + 2P) x (W + 2P)", ha="center", va="bottom", fontsize=10)
        ax.text(_G + _GAP + _G / 2, -0.4, "output  N x N", ha="center", va="bottom", fontsize=10)
        fig.legend(handles=[Patch(color=_CELL[k], label=labels[k]) for k in _CATEGORIES], loc="outside lower center",
                   ncols=4, fontsize=8, handlelength=1.0, columnspacing=1.0)
        mesh = _mesh(ax, _G, width, cmap, edges="white")
        mesh.set_clim(-0.5, len(_CATEGORIES) - 0.5)
        window = ax.add_patch(Rectangle((0, 0), 1, 1, fill=False, lw=2.2, color=COLORS["grad"], animated=True))
        cell = ax.add_patch(Rectangle((0, 0), 1, 1, fill=False, lw=2.2, color=COLORS["grad"], animated=True))
        (link,) = ax.plot([0, 1], [0, 1], ls="--", lw=1.2, color=COLORS["grad"], animated=True)

        def update(size: int, kernel: int, stride: int, padding: int, dilation: int, position: int) -> str:
            span, padded, out = _arith_geometry(size, kernel, stride, padding, dilation)
            index = min(position, out * out - 1)                 # the slider's range follows N
            i, j = divmod(index, out)
            # input grid: padding, pixels, cells no window reaches, then the current window's taps
            grid = np.full((padded, padded), code["pad"])
            grid[padding:padding + size, padding:padding + size] = code["input"]
            reached = np.zeros(padded, dtype=bool)
            for o in range(out):
                reached[o * stride:o * stride + span] = True
            grid[~reached, :] = code["missed"]
            grid[:, ~reached] = code["missed"]
            top, left = i * stride, j * stride
            grid[top:top + span, left:left + span] = code["gap"]
            taps = np.arange(kernel) * dilation
            grid[np.ix_(top + taps, left + taps)] = code["tap"]
            # output grid in raster order: the cells before the current one are done
            result = np.full(out * out, code["todo"])
            result[:index] = code["done"]
            result[index] = code["tap"]
            cells = np.full((_G, width), np.nan)
            a, b = (_G - padded) // 2, (_G - out) // 2             # integer offsets centre each grid
            cells[a:a + padded, a:a + padded] = grid
            cells[b:b + out, _G + _GAP + b:_G + _GAP + b + out] = result.reshape(out, out)
            mesh.set_array(cells)
            window.set_bounds(a + left, a + top, span, span)
            cell.set_bounds(_G + _GAP + b + j, b + i, 1, 1)
            link.set_data([a + left + span, _G + _GAP + b + j], [a + top + span / 2, b + i + 0.5])
            left_over = padded - ((out - 1) * stride + span)    # after the last window: what the floor drops
            skipped = int((~reached).sum()) - left_over          # between windows: the stride jumps over them
            notes = (size - kernel + 2 * padding) / stride + 1
            return (f"input {padded}×{padded} after padding → output <b>{out}×{out}</b>: "
                    f"N = ⌊(W + 2P − D(F−1) − 1) / S⌋ + 1 = ⌊({size} + {2 * padding} − {span - 1} − 1) / {stride}⌋ + 1 "
                    f"= {out} &nbsp;·&nbsp; the notes' (W − F + 2P)/S + 1 = {notes:g}{'' if notes == out else ' ✗'}"
                    f" &nbsp;·&nbsp; current output cell ({i}, {j})"
                    + (f" &nbsp;·&nbsp; last {left_over} row(s) and column(s) never covered: a window starting "
                       f"S = {stride} further would run past the edge (the floor)" if left_over else "")
                    + (f" &nbsp;·&nbsp; {skipped} row(s) and column(s) between windows never covered: the stride "
                       f"S = {stride} jumps over them (S > D(F−1)+1 = {span})" if skipped else ""))

        return update

    return Panel(controls, setup, follow=follow, figsize=(7.6, 3.3), enabled_when={
        "stride": lambda v: _arith_valid(v) and v["size"] + 2 * v["padding"] > v["dilation"] * (v["kernel"] - 1) + 1,
        "dilation": lambda v: v["kernel"] > 1,
        "position": lambda v: _arith_outputs(v) > 1,
    })


# ----------------------------------------------------------------------------- panel: filter playground
_WEIGHT_NAMES = [f"w{r}{c}" for r in range(3) for c in range(3)]
_FILTER_SIZE = 48               # both inputs are 48 x 48: a 3 x 3 window stays visible on the picture
_CHANNEL_NAMES = ("R", "G", "B")
_MIX_NAMES = ("mix_r", "mix_g", "mix_b")
_MARK = "#ff7f0e"               # the explained window and its output pixel
_MARK_BYTES = (255, 127, 14, 255)
# The arithmetic table is drawn as one picture (numpy + PIL, a few ms) rather than as ~90 matplotlib texts
# (about 1 ms each). Sizes in picture pixels (2 per CSS pixel): one band of 3 rows of cells per channel,
# window | x | kernel | = | products | sum.
_CELL_W, _CELL_H, _GAP_W, _BAND_GAP = 74, 40, 46, 30
_CELL_FONT_PX = 20              # 10 CSS px
_GRID_X = tuple(n * (3 * _CELL_W + _GAP_W) for n in range(3))   # left edge of window, kernel, products
_SUM_X = _GRID_X[2] + 3 * _CELL_W + 14
_TABLE_W = _SUM_X + 200
_BAND_H = 3 * _CELL_H + _BAND_GAP


@functools.lru_cache(maxsize=1)
def _filter_inputs() -> dict[str, torch.Tensor]:
    """The two inputs of the filter panel: the grey photo (1, 48, 48) and the coloured shapes (3, 48, 48)."""
    from ..data import photo

    return {"grey": photo(gray=True, size=_FILTER_SIZE), "rgb": colour_shapes(_FILTER_SIZE)}


def _number(v: float, digits: int = 2) -> str:
    """A cell's number: whole numbers without decimals, others with ``digits``; a real minus sign, never -0."""
    v = round(float(v), digits) + 0.0
    text = f"{v:.0f}" if v == round(v) else f"{v:.{digits}f}"
    return text.replace("-", "\u2212")


def _signed_sum(factors, names) -> str:
    """``1·R + 0.50·G − 1·B``: a weighted sum written with its signs."""
    terms = [f"{'−' if m < 0 else '+'} {_number(abs(m))}·{n}" for m, n in zip(factors, names)]
    return " ".join(terms).removeprefix("+ ").replace("− ", "−", 1 if terms[0].startswith("−") else 0)


@functools.lru_cache(maxsize=1)
def _mono_font():
    """DejaVu Sans Mono (shipped with matplotlib) at the cells' size, for PIL."""
    path = font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans Mono"))
    return ImageFont.truetype(path, _CELL_FONT_PX)


@functools.lru_cache(maxsize=4096)
def _glyphs(text: str) -> np.ndarray:
    """Coverage (h, w) in [0, 1] of ``text`` in DejaVu Sans Mono, from the ascender line down (cached)."""
    font = _mono_font()
    ascent, descent = font.getmetrics()
    img = Image.new("L", (max(int(font.getlength(text)) + 2, 1), ascent + descent), 0)
    ImageDraw.Draw(img).text((0, 0), text, font=font, fill=255, anchor="la")
    return np.asarray(img, dtype=np.float32) / 255.0


def _stamp(canvas: np.ndarray, text: str, x: float, y: float, color, align: str = "center") -> None:
    """Write ``text`` into ``canvas`` (h, w, 4 uint8) centred (or left-aligned) on x, vertically centred on y."""
    alpha = _glyphs(text)
    h, w = alpha.shape
    left = int(round(x - w / 2)) if align == "center" else int(round(x))
    top = int(round(y - h / 2))
    region = canvas[top:top + h, left:left + w]
    a = alpha[:region.shape[0], :region.shape[1], None]
    rgb = np.asarray(color[:3], dtype=np.float32)
    region[..., :3] = (region[..., :3] * (1 - a) + rgb * a).astype(np.uint8)
    region[..., 3] = np.maximum(region[..., 3], (a[..., 0] * 255).astype(np.uint8))


@functools.lru_cache(maxsize=4)
def _colormap(name: str):
    """A colormap, kept (``matplotlib.colormaps[name]`` hands out a new copy that builds its lookup table anew)."""
    return matplotlib.colormaps[name]


def _cell_colors(values: np.ndarray, cmap: str, lo: float, hi: float) -> np.ndarray:
    """RGBA bytes (3, 3, 4) of ``values`` on ``cmap`` between ``lo`` and ``hi``."""
    return _colormap(cmap)((values - lo) / (hi - lo), bytes=True)


def _table_picture(ex, weight: torch.Tensor, k_lim: float, p_lim: float) -> tuple[np.ndarray, dict]:
    """The arithmetic of one output pixel as RGBA bytes: per channel, window (grey) x kernel (signed) =
    products (signed) and their sum; also the strings written into each cell, by (part, channel)."""
    channels = ex.window.shape[0]
    canvas = np.zeros((channels * _BAND_H - _BAND_GAP, _TABLE_W, 4), dtype=np.uint8)
    shown = {}
    white, black = (255, 255, 255), (0, 0, 0)
    for c in range(channels):
        y0 = c * _BAND_H
        parts = (("window", ex.window[c].numpy(), IMAGE_CMAP, 0.0, 1.0),
                 ("kernel", weight[c].numpy(), SIGNED_CMAP, -k_lim, k_lim),
                 ("products", ex.products[c].numpy(), SIGNED_CMAP, -p_lim, p_lim))
        for (part, values, cmap, lo, hi), x0 in zip(parts, _GRID_X):
            colors = _cell_colors(values, cmap, lo, hi)
            dark = values < 0.45 if part == "window" else np.abs(values) > 0.62 * hi
            texts = [[_number(v) for v in row] for row in values.tolist()]
            shown[part, c] = texts
            for u in range(3):
                for v in range(3):
                    top, left = y0 + u * _CELL_H, x0 + v * _CELL_W
                    canvas[top + 1:top + _CELL_H - 1, left + 1:left + _CELL_W - 1] = colors[u, v]
                    _stamp(canvas, texts[u][v], left + _CELL_W / 2, top + _CELL_H / 2, white if dark[u, v] else black)
        shown["sum", c] = _number(ex.channel_sums[c], 3)
        _stamp(canvas, f"Σ = {shown['sum', c]}", _SUM_X, y0 + 1.5 * _CELL_H, black, align="left")
    return canvas, shown


_RING = 2                       # width in pixels of each of the two rings around the explained value


def _map_blocks(y: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
    """The feature map as RGBA bytes ``side`` pixels across, each value a block of whole pixels, on ``SIGNED_CMAP``
    with symmetric limits, in a margin for the rings; and the blocks' edges (block k spans edges[k] .. edges[k+1])."""
    lo, hi = signed_limits(y)
    rgba = _colormap(SIGNED_CMAP)((y - lo) / (hi - lo), bytes=True)
    inner = side - 4 * _RING
    edges = -(-np.arange(y.shape[0] + 1) * inner // y.shape[0])
    index = np.searchsorted(edges, np.arange(inner), side="right") - 1
    out = np.zeros((side, side, 4), dtype=np.uint8)
    out[2 * _RING:-2 * _RING, 2 * _RING:-2 * _RING] = rgba[index][:, index]
    return out, edges + 2 * _RING


def _ringed(blocks: np.ndarray, edges: np.ndarray, row: int, col: int) -> np.ndarray:
    """A copy of ``blocks`` with the value at (row, col) ringed in black and orange."""
    out = blocks.copy()
    (top, bottom), (left, right) = edges[[row, row + 1]], edges[[col, col + 1]]
    for width, color in ((2 * _RING, (0, 0, 0, 255)), (_RING, _MARK_BYTES)):
        cell = out[top - width:bottom + width, left - width:right + width]
        keep = cell[width:-width, width:-width].copy()
        cell[:] = color
        cell[width:-width, width:-width] = keep
    return out


def _filter_kernel(kernel: str, weights: dict) -> torch.Tensor:
    """The 3 x 3 kernel the controls choose: a preset, or the nine weights for "custom"."""
    if kernel == "custom":
        return torch.tensor([weights[name] for name in _WEIGHT_NAMES], dtype=torch.float32).reshape(3, 3)
    return preset_kernel(kernel)


def _short_slider(description: str, low: float, high: float, step: float, value: float, track: int = 124):
    """A float slider with a shorter track (>= 120 px), for controls laid out three to a row."""
    slider = float_slider(description, low, high, step, value, track=track)
    slider.readout_format = ".2f"
    return slider


@register
def filter_panel() -> Panel:
    """Explain one output pixel: its window on the input, window x kernel element by element, the sum plus bias;
    a grey or an RGB input (one kernel per channel, summed over channels); the whole feature map beside it."""
    inputs = _filter_inputs()
    outputs0 = conv_output_size(_FILTER_SIZE, 3)
    controls = {
        "input": dropdown("input", [("grey photo (1, 48, 48)", "grey"), ("RGB shapes (3, 48, 48)", "rgb")], "grey"),
        "row": int_slider("output row i", 0, outputs0 - 1, 17),
        "col": int_slider("output column j", 0, outputs0 - 1, 21),
        "stride": int_slider("stride S", 1, 3, 1),
        "padding": int_slider("zero padding P", 0, 2, 0),
        "kernel": dropdown("kernel", [*PRESET_KERNELS, "custom"], "edges (Laplacian)"),
        "bias": _short_slider("bias b", -1.0, 1.0, 0.05, 0.0),
        **{name: _short_slider(f"× on {c}", -1.0, 1.0, 0.25, 1.0) for name, c in zip(_MIX_NAMES, _CHANNEL_NAMES)},
        **{name: _short_slider(f"w[{name[1]},{name[2]}]", -5.0, 5.0, 0.05, 0.0) for name in _WEIGHT_NAMES},
    }

    def follow(c: dict, changed: str | None) -> None:
        """Row and column range over the output positions; the weight sliders show the kernel a preset uses."""
        top = conv_output_size(_FILTER_SIZE, 3, c["stride"].value, c["padding"].value) - 1
        for name in ("row", "col"):
            _set_max(c[name], top)
        if changed in (None, "kernel") and c["kernel"].value != "custom":
            for name, v in zip(_WEIGHT_NAMES, preset_kernel(c["kernel"].value).flatten().tolist()):
                c[name].value = v

    def setup(fig):
        fig.set_layout_engine("none")                          # the grid below places the axes: known pixels
        grid = fig.add_gridspec(1, 3, width_ratios=(1, 1, 2.75), left=0.008, right=0.995, top=0.83, bottom=0.02,
                                wspace=0.06)
        ax_in, ax_map, ax_ar = (fig.add_subplot(grid[0, n]) for n in range(3))
        ax_ar.set_position(ax_ar.get_position().from_extents(ax_ar.get_position().x0, 0.01, 0.995, 0.99))
        # input: the picture over a black ground (zero padding is 0, drawn black as in the picture), the image
        # edge dashed, the explained window outlined
        _bare(ax_in)
        ax_in.set_facecolor("black")
        picture = ax_in.imshow(np.zeros((_FILTER_SIZE, _FILTER_SIZE)), cmap=IMAGE_CMAP, vmin=0, vmax=1,
                               interpolation="nearest")
        ax_in.add_patch(Rectangle((-0.5, -0.5), _FILTER_SIZE, _FILTER_SIZE, fill=False, ls="--", lw=0.8,
                                  color="#9e9e9e"))
        halo = ax_in.add_patch(Rectangle((0, 0), 3, 3, fill=False, lw=3.6, color="white", animated=True))
        window = ax_in.add_patch(Rectangle((0, 0), 3, 3, fill=False, lw=1.8, color=_MARK, animated=True,
                                           gid="window"))
        # the whole feature map as whole-pixel blocks (drawn as a picture: no resampling), its pixel outlined
        _bare(ax_map)
        ax_in.apply_aspect()                                   # the square box the picture takes ...
        ax_map.set_position(ax_in.get_position())              # ... and the feature map the same one beside it
        ax_map.set_position(ax_map.get_position().translated(grid[0, 1].get_position(fig).x0 - grid[0, 0].get_position(fig).x0, 0))
        ax_map.set_title("output y: feature map\nred > 0, blue < 0, white = 0", fontsize=10)
        mx, my, mw, mh = axes_pixels(fig, ax_map)
        side = min(mw, mh)
        fmap = fig.add_artist(PixelLayer(animated=True, gid="feature map"))
        # the arithmetic table: axes in picture pixels from its top-left corner; static labels, one picture on top
        _bare(ax_ar)
        ax, ay, aw, ah = axes_pixels(fig, ax_ar)
        ax_ar.set(xlim=(-50, aw - 50), ylim=(ah - 40, -40))
        table = fig.add_artist(PixelLayer(animated=True, gid="table"))
        band_labels, symbols = [], []
        for c in range(3):
            middle = c * _BAND_H + 1.5 * _CELL_H
            band_labels.append(ax_ar.text(-25, middle, _CHANNEL_NAMES[c], ha="center", va="center", fontsize=11,
                                          fontweight="bold"))
            symbols.append([ax_ar.text(x - _GAP_W / 2, middle, s, ha="center", va="center", fontsize=14)
                            for x, s in ((_GRID_X[1], "×"), (_GRID_X[2], "="))])
        heads = [ax_ar.text(x + 1.5 * _CELL_W, -8, s, ha="center", va="bottom", fontsize=10)
                 for x, s in zip(_GRID_X, ("window of x", "kernel w", "window × kernel"))]
        heads.append(ax_ar.text(_SUM_X, -8, "(cells rounded)", ha="left", va="bottom", fontsize=9, color="#555555"))
        total = ax_ar.text(0, 0, "", ha="left", va="center", fontsize=10.5, animated=True, gid="total")
        shown_input = [None]                                    # which input the static picture shows
        map_cache: dict = {}                                    # the feature map's blocks for the last settings

        def set_static(input: str, x: torch.Tensor, padding: int) -> None:
            """The static artists for this input and padding, touched only when they change."""
            channels = x.shape[0]
            if shown_input[0] != input:
                picture.set_data(x.permute(1, 2, 0).numpy() if channels == 3 else x[0].numpy())
                shown_input[0] = input
            limits = ((-padding - 0.5, _FILTER_SIZE + padding - 0.5), (_FILTER_SIZE + padding - 0.5, -padding - 0.5))
            if (ax_in.get_xlim(), ax_in.get_ylim()) != limits:
                ax_in.set(xlim=limits[0], ylim=limits[1])
            title = (f"input x {tuple(x.shape)}" + (f", P = {padding} (zeros)" if padding else "")
                     + ("\nchannels R, G, B in [0, 1]" if channels == 3 else "\ngrey: 0 black, 1 white"))
            if ax_in.get_title() != title:
                ax_in.set_title(title, fontsize=10)
            first = 0 if channels == 3 else 1                   # a grey input uses the middle band's place
            for c in range(3):
                for artist in [band_labels[c], *symbols[c]]:
                    on = (channels == 3) if artist is band_labels[c] else (c == first or channels == 3)
                    if artist.get_visible() != on:
                        artist.set_visible(on)
            for head in heads:
                if head.get_position()[1] != first * _BAND_H - 8:
                    head.set_y(first * _BAND_H - 8)

        def update(input: str, row: int, col: int, stride: int, padding: int, kernel: str, bias: float,
                   **rest: float) -> str:
            x = inputs[input]
            channels = x.shape[0]
            k = _filter_kernel(kernel, rest)
            mix = [rest[name] for name in _MIX_NAMES] if channels == 3 else [1.0]
            weight = torch.stack([m * k for m in mix])                     # (C, 3, 3): one kernel per channel
            n = conv_output_size(_FILTER_SIZE, 3, stride, padding)
            i, j = min(row, n - 1), min(col, n - 1)                       # the sliders' range follows n
            with one_thread():
                y = F.conv2d(x[None], weight[None], torch.tensor([bias]), stride=stride, padding=padding)[0, 0]
            ex = explain_pixel(x, weight, bias, stride=stride, padding=padding, row=i, col=j)
            set_static(input, x, padding)
            for box in (halo, window):
                box.set_bounds(ex.left - 0.5, ex.top - 0.5, 3, 3)
            key = (input, stride, padding, bias, tuple(weight.flatten().tolist()))
            if map_cache.get("key") != key:                     # moving row or column keeps the map: ring it anew
                map_cache.update(key=key, blocks=_map_blocks(y.numpy(), side))
            big = _ringed(*map_cache["blocks"], i, j)
            fmap.data = big
            fmap.ox, fmap.oy = mx + (mw - big.shape[1]) // 2, my + mh - big.shape[0] - (mh - big.shape[0]) // 2
            first = 0 if channels == 3 else 1
            k_lim = signed_limits(weight.numpy())[1]
            p_lim = signed_limits(ex.products.numpy())[1]
            picture_, table.shown = _table_picture(ex, weight, k_lim, p_lim)
            table.data = picture_
            table.ox, table.oy = ax + 50, ay + ah - 40 - first * _BAND_H - picture_.shape[0]
            sums = " + ".join(f"Σ{_CHANNEL_NAMES[c]}" for c in range(channels)) if channels == 3 else "Σ"
            values = _number(ex.channel_sums[0], 3) + "".join(
                f" {'−' if s < 0 else '+'} {_number(abs(s), 3)}" for s in ex.channel_sums[1:].tolist())
            values += f" {'−' if bias < 0 else '+'} {_number(abs(bias))}"
            total.set_position((-40, (first * _BAND_H) + channels * _BAND_H - 4))
            total.set_text(f"y[{i}, {j}] = {sums} + b = {values} = {_number(ex.output, 3)}")
            rows_, cols_ = f"{ex.top}…{ex.top + 2}", f"{ex.left}…{ex.left + 2}"
            return (f"output pixel ({i}, {j}) of {n}×{n}: its window is input rows {rows_}, columns {cols_}"
                    + (" (negative indices and indices ≥ 48 are the zero padding)" if padding else "")
                    + f" &nbsp;·&nbsp; y[{i}, {j}] = {_number(ex.output, 4)}, F.conv2d gives "
                    f"{_number(float(y[i, j]), 4)} &nbsp;·&nbsp; "
                    + (f"weight (1, 3, 3, 3): the kernel × ({', '.join(_number(m) for m in mix)}) on R, G, B, "
                       "summed over the channels" if channels == 3 else "weight (1, 1, 3, 3)")
                    + f" &nbsp;·&nbsp; kernel sum S = {_number(float(k.sum()), 3)}: a flat patch "
                    + ("of brightness v gives S·v + b" if channels == 1 else
                       "of colour (R, G, B) gives S·(" + _signed_sum(mix, _CHANNEL_NAMES) + ") + b"))

        return update

    groups = [
        ("input and output pixel", [["input"], ["row", "col"], ["stride", "padding"]]),
        ("kernel", [["kernel", "bias"], list(_MIX_NAMES)]),
        ("kernel weights (move them with kernel = custom)", [_WEIGHT_NAMES[0:3], _WEIGHT_NAMES[3:6], _WEIGHT_NAMES[6:9]]),
    ]
    rgb = {name: (lambda v: v["input"] == "rgb") for name in _MIX_NAMES}
    custom = {name: (lambda v: v["kernel"] == "custom") for name in _WEIGHT_NAMES}
    return Panel(controls, setup, follow=follow, figsize=(11.25, 3.45), redraw_on=("input",),
                 enabled_when={**custom, **rgb}, shown_when=rgb, groups=groups, states=_filter_states())


def _filter_states() -> dict[str, dict]:
    """The experiments the chapter suggests for the filter panel (on top of its defaults: grey photo, Laplacian)."""
    sobel = preset_kernel("vertical edges (Sobel x)").clone()
    sobel[:, 1] = 1.0                                          # "custom" from Sobel x, its middle column set to 1
    return {
        "边缘处": {"row": 34, "col": 20},                      # the Laplacian gives 1.11 there
        "平坦处": {"row": 21, "col": 36},                      # a window of 0.54 ... 0.56: the Laplacian gives -0.005
        "补零角": {"kernel": "vertical edges (Sobel x)", "padding": 2, "row": 0, "col": 0},
        "步长 2": {"stride": 2},
        "步长 3": {"stride": 3},
        "中列改 1": {"kernel": "custom", **dict(zip(_WEIGHT_NAMES, sobel.flatten().tolist()))},
        "偏置 1": {"bias": 1.0},
        "只留红": {"input": "rgb", "mix_g": 0.0, "mix_b": 0.0},
        "只留蓝": {"input": "rgb", "mix_r": 0.0, "mix_g": 0.0},
    }


# ----------------------------------------------------------------------------- panel: feature maps
def _busiest_channel(maps: torch.Tensor) -> int:
    """The channel with the largest mean activation over a batch of maps (N, C, h, w): a lively default."""
    return int(maps.mean(dim=(0, 2, 3)).argmax())


@register
def feature_maps_panel(model: nn.Sequential | None = None) -> Panel:
    """Pick a validation digit, a layer and a channel of the trained CNN: all feature maps of that layer, one enlarged."""
    model = trained_digits_cnn() if model is None else model
    x_val, y_val = validation_digits()
    with one_thread():
        outputs = layer_outputs(model, x_val)                  # every layer for all 30 digits, once
    channels = outputs["conv1"].shape[1]
    nonnegative = {name: bool((outputs[name] >= 0).all()) for name in LAYER_NAMES}
    controls = {
        "digit": int_slider("validation digit", 0, len(x_val) - 1, 0),
        "layer": dropdown("layer", list(LAYER_NAMES), "relu1"),
        "channel": int_slider("channel", 0, channels - 1, _busiest_channel(outputs["relu1"])),
    }
    cols = 4
    rows = -(-channels // cols)
    tile = 9                                                   # an 8x8 map plus a one-cell gap

    def setup(fig):
        ax_in, ax_maps, ax_big = fig.subplots(1, 3)
        ax_in.set_title("input (1, 8, 8)", fontsize=10)
        ax_maps.set_title(f"all {channels} channels of the layer", fontsize=10)
        ax_big.set_title("the chosen channel", fontsize=10)
        _image_axes(ax_in, 8, 8)
        _image_axes(ax_maps, rows * tile - 1, cols * tile - 1)
        _image_axes(ax_big, 8, 8)
        mesh_in = _mesh(ax_in, 8, 8, IMAGE_CMAP)
        mesh_in.set_clim(0, 1)
        mesh_maps = _mesh(ax_maps, rows * tile - 1, cols * tile - 1, SIGNED_CMAP)
        mesh_big = _mesh(ax_big, 8, 8, SIGNED_CMAP)
        box = ax_maps.add_patch(Rectangle((0, 0), 1, 1, fill=False, lw=2, color=COLORS["accent"], animated=True,
                                          clip_on=False))

        def update(digit: int, layer: str, channel: int) -> str:
            maps = outputs[layer][digit].numpy()                # (channels, h, w)
            side = maps.shape[-1]
            blocks = _blocks(maps, 8)                           # every map drawn as 8 x 8 cells
            limit = float(np.abs(maps).max()) or 1.0
            mesh_in.set_array(x_val[digit, 0].numpy())
            mesh_maps.set_array(_mosaic(blocks, cols))
            mesh_maps.set_clim(-limit, limit)
            mesh_big.set_array(blocks[channel])
            mesh_big.set_clim(-limit, limit)
            r, c = divmod(channel, cols)
            box.set_bounds(c * tile - 0.4, r * tile - 0.4, 8.8, 8.8)
            probs = torch.softmax(outputs["logits"][digit], 0)
            return (f"label {int(y_val[digit])}, prediction {int(probs.argmax())} (p = {float(probs.max()):.2f}) "
                    f"&nbsp;·&nbsp; {layer}: output {tuple(outputs[layer].shape[1:])}, each map {side}×{side} "
                    f"&nbsp;·&nbsp; {layer}[{channel}] max {maps[channel].max():.2f} &nbsp;·&nbsp; "
                    + ("after ReLU every value is ≥ 0: white = 0, red > 0" if nonnegative[layer] else "red > 0 > blue")
                    + ", one colour scale per layer")

        return update

    return Panel(controls, setup, figsize=(7.8, 2.9))


# ----------------------------------------------------------------------------- panel: shift the input
_CANVAS, _OFFSET = 14, 3        # the 8x8 digit sits at rows/columns 3..10 of a 14x14 zero canvas (on_canvas)
_SHIFTS = np.arange(-3, 4)


@register
def shift_panel(model: nn.Sequential | None = None) -> Panel:
    """Shift a digit on a larger canvas: the trained first conv layer's map moves with it (away from the strip a shift
    back fills with zeros); max pooling changes less on average, a global max not at all while |dx|, |dy| <= 2."""
    model = trained_digits_cnn() if model is None else model
    conv = model[0]
    x_val, _ = validation_digits()
    canvas = on_canvas(x_val, _CANVAS)
    controls = {
        "dx": int_slider("shift right dx", -3, 3, 1),
        "dy": int_slider("shift down dy", -3, 3, 0),
        "pool": dropdown("max-pool window", [("2 x 2", 2), ("4 x 4", 4), ("global (14 x 14)", 14)], 2),
        "digit": int_slider("validation digit", 0, len(x_val) - 1, 0),
        "channel": int_slider("channel", 0, conv.out_channels - 1, 0),
    }
    with one_thread(), torch.no_grad():
        controls["channel"].value = _busiest_channel(torch.relu(conv(x_val)))
    pools = (2, 4, 14)
    colors = {2: COLORS["main"], 4: COLORS["purple"], 14: COLORS["alt"]}
    with one_thread():                                        # the largest change any setting can show: the y range
        study = shift_study(conv, canvas, max_shift=3, pools=pools[:2] + (14,))
    highest = max(float(r["change"][k].max()) for r in study.values() for k in (1, *pools))

    def change(a: torch.Tensor, b: torch.Tensor) -> float:
        return float(relative_change(a, b))

    def setup(fig):
        ax_in, ax_conv, ax_pool, ax_plot = fig.subplots(1, 4, width_ratios=(1, 1, 1, 1.4))
        for ax, title in ((ax_in, "shifted input 14x14"), (ax_conv, "conv + ReLU 14x14"), (ax_pool, "max-pooled")):
            _image_axes(ax, _CANVAS, _CANVAS)
            ax.set_title(title, fontsize=9)
        ax_plot.set(xlim=(-3.3, 3.3), ylim=(-0.05, 1.06 * highest), xlabel="horizontal shift dx", xticks=_SHIFTS)
        ax_plot.set_title("relative change vs no shift", fontsize=9)
        mesh_in = _mesh(ax_in, _CANVAS, _CANVAS, IMAGE_CMAP)
        mesh_in.set_clim(0, 1)
        home = ax_in.add_patch(Rectangle((_OFFSET, _OFFSET), 8, 8, fill=False, ls="--", lw=1.2,
                                         color=COLORS["grad"], animated=True))
        mesh_conv = _mesh(ax_conv, _CANVAS, _CANVAS, SIGNED_CMAP)       # >= 0 after ReLU: white to red
        mesh_pool = _mesh(ax_pool, _CANVAS, _CANVAS, SIGNED_CMAP)
        (line_conv,) = ax_plot.plot(_SHIFTS, _SHIFTS * 0.0, "o-", ms=3, color=COLORS["grad"], label="conv map",
                                    animated=True)
        lines_pool = {k: ax_plot.plot(_SHIFTS, _SHIFTS * 0.0, "o-", ms=3, lw=1.5, color=colors[k],
                                      label=f"max-pool {'global' if k == 14 else f'{k}x{k}'}", animated=True)[0]
                      for k in pools}
        (marker,) = ax_plot.plot([0], [0], "s", ms=9, mfc="none", color="black", animated=True)
        ax_plot.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), fontsize=9, ncols=2)   # below: never over a curve
        del home

        def update(dx: int, dy: int, pool: int, digit: int, channel: int) -> str:
            x0 = canvas[digit:digit + 1]
            w, b = conv.weight[channel:channel + 1], conv.bias[channel:channel + 1]
            with one_thread(), torch.no_grad():
                conv0 = torch.relu(F.conv2d(x0, w, b, padding=1))
                shifted = torch.cat([shift2d(x0, dy, int(s)) for s in _SHIFTS])       # all 7 shifts at once
                maps = torch.relu(F.conv2d(shifted, w, b, padding=1))
                curves = {"conv": [change(m, conv0[0]) for m in maps]}
                for k in pools:
                    p0, ps = F.max_pool2d(conv0, k), F.max_pool2d(maps, k)
                    curves[k] = [change(p, p0[0]) for p in ps]
                here = maps[int(dx) + 3:int(dx) + 4]
                diff = (shift2d(here, -dy, -dx) - conv0)[0, 0].abs()
                strip = vacated(_CANVAS, _CANVAS, -dy, -dx)
                back = float(diff[~strip].max()) if bool((~strip).any()) else 0.0
                on_strip = float(diff[strip].max()) if bool(strip.any()) else 0.0
                pooled = F.max_pool2d(here, pool)[0, 0]
            top = max(float(conv0.max()), 1e-6)
            mesh_in.set_array(shifted[int(dx) + 3, 0].numpy())
            mesh_conv.set_array(here[0, 0].numpy())
            mesh_conv.set_clim(-top, top)
            mesh_pool.set_array(_blocks(pooled.numpy(), _CANVAS))
            mesh_pool.set_clim(-top, top)
            line_conv.set_ydata(curves["conv"])
            for k, line in lines_pool.items():
                line.set_ydata(curves[k])
                line.set_linewidth(2.5 if k == pool else 1.0)
            marker.set_data([dx], [curves[pool][int(dx) + 3]])
            head = (f"shift (dy, dx) = ({dy}, {dx}), channel {channel} &nbsp;·&nbsp; conv map changed by "
                    f"{curves['conv'][int(dx) + 3]:.0%}, {pool}×{pool}-pooled map {tuple(pooled.shape)} by "
                    f"{curves[pool][int(dx) + 3]:.0%} &nbsp;·&nbsp; ")
            if dx == 0 and dy == 0:
                return head + "no shift: move dx or dy to compare conv(shift(x)) with shift(conv(x))"
            return (head + f"conv(shift(x)) shifted back vs conv(x): "
                    f"max |diff| = {back:.1e} (equivariance) except on the strip the shift back fills with 0, "
                    f"where it is {on_strip:.2f} (ReLU(bias) = {float(torch.relu(b[0].detach())):.2f}"
                    + (", and at |shift| = 3 the strip can reach the digit)" if max(abs(dx), abs(dy)) == 3 else ")"))

        return update

    return Panel(controls, setup, figsize=(8.6, 2.8))
