"""Chapter 8 (CNN): the chapter's figures and its panels. The math, the digit models and their training live in ``helpers.cnn``.

- figures: image types, padding modes, learned kernels, feature maps of one digit.
- panels: conv arithmetic drawn on a grid, a filter playground on the photo, the trained CNN's
  feature maps, and shifting the input (equivariance of the conv, near-invariance after pooling).
"""
from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle
from torch import nn

from ..cnn import (LAYER_NAMES, PRESET_KERNELS, conv_output_size, layer_outputs, on_canvas, pad2d, preset_kernel,
                   relative_change, shift2d, trained_digits_cnn, vacated, validation_digits)
from ..plotting import COLORS, new_canvas_figure, new_figure
from .base import Panel, PanelMessage, dropdown, float_slider, int_slider, one_thread, register

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
    import matplotlib

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
        (rgb[0].numpy(), "Reds_r", "channel 0 = R"),
        (rgb[1].numpy(), "Greens_r", "channel 1 = G"),
        (rgb[2].numpy(), "Blues_r", "channel 2 = B"),
        (gray.numpy(), "gray", f"grayscale (1, {h}, {w})\n0 = black, 1 (255) = white"),
        (binary.numpy(), "gray", f"binary (1, {h}, {w})\npixels 0 or 1"),
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
        ax.imshow(xp.numpy(), cmap="Blues", vmin=float(x.min()) - 2, vmax=float(x.max()) + 2)
        for (i, j), v in np.ndenumerate(xp.numpy()):
            ax.text(j, i, f"{v:g}", ha="center", va="center", fontsize=8)
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
    ax.imshow(_mosaic(maps, cols), cmap=_cmap("RdBu_r"), vmin=-limit, vmax=limit)
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
    ax_in.imshow(image[0].numpy(), cmap="gray_r", vmin=0, vmax=1)
    ax_in.set_title(f"input {tuple(image.shape)}", fontsize=9)
    _bare(ax_in)
    for r, name in enumerate(rows):
        maps = outs[name][0].numpy()
        limit = float(np.abs(maps).max()) or 1.0
        ax = fig.add_subplot(grid[r, 1])
        ax.imshow(_mosaic(maps, len(maps)), cmap=_cmap("RdBu_r"), vmin=-limit, vmax=limit, aspect="equal")
        ax.set_title(f"{name}: {tuple(outs[name].shape[1:])}", fontsize=9, loc="left")
        ax.axis("off")
    probs = torch.softmax(outs["logits"][0], 0)
    fig.suptitle(f"prediction {int(probs.argmax())} (p = {float(probs.max()):.2f});  conv rows: red > 0 > blue;  "
                 "pooled rows come after ReLU: all >= 0 (white = 0)", fontsize=10)
    return fig


# ----------------------------------------------------------------------------- panel pieces
def _mesh(ax, rows: int, cols: int, cmap="RdBu_r", *, x0: float = 0.0, y0: float = 0.0, edges: str | None = None,
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
        "scan": float_slider("kernel position", 0.0, 1.0, 0.01, 0.0),
    }
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

        def update(size: int, kernel: int, stride: int, padding: int, dilation: int, scan: float) -> str:
            span, padded, out = _arith_geometry(size, kernel, stride, padding, dilation)
            index = int(round(scan * (out * out - 1)))
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

    return Panel(controls, setup, figsize=(7.6, 3.3), enabled_when={
        "stride": lambda v: _arith_valid(v) and v["size"] + 2 * v["padding"] > v["dilation"] * (v["kernel"] - 1) + 1,
        "dilation": lambda v: v["kernel"] > 1,
        "scan": lambda v: _arith_outputs(v) > 1,
    })


# ----------------------------------------------------------------------------- panel: filter playground
_CUSTOM_DEFAULT = [[1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -1.0, -1.0]]
_WEIGHT_NAMES = [f"w{r}{c}" for r in range(3) for c in range(3)]


@functools.lru_cache(maxsize=1)
def _gray_photo() -> torch.Tensor:
    from ..data import photo

    return photo(gray=True, size=128)


def _kernel_table(k: torch.Tensor) -> str:
    """A 3x3 kernel as a small HTML table (numbers are cheaper in the readout than drawn in the figure)."""
    rows = "".join("<tr>" + "".join(f"<td style='padding:0 6px;text-align:right'>{v:g}</td>" for v in row) + "</tr>"
                   for row in k.tolist())
    return f"<table style='display:inline-table;border:1px solid #999;vertical-align:middle'>{rows}</table>"


@register
def filter_panel() -> Panel:
    """A 3x3 kernel (a preset, or nine sliders for "custom") slid over the grayscale photo: the feature map it gives."""
    controls = {
        "kernel": dropdown("kernel", [*PRESET_KERNELS, "custom"], "edges (Laplacian)"),
        "stride": int_slider("stride", 1, 4, 1),
    }
    for name, value in zip(_WEIGHT_NAMES, sum(_CUSTOM_DEFAULT, [])):
        slider = float_slider(name, -2.0, 2.0, 0.25, value)
        slider.layout.width = "210px"
        controls[name] = slider
    image = _gray_photo()

    def setup(fig):
        ax_img, ax_k, ax_map = fig.subplots(1, 3, width_ratios=(1, 0.45, 1))
        ax_img.imshow(image[0].numpy(), cmap="gray", vmin=0, vmax=1)
        _bare(ax_img)
        ax_img.set_title(f"input {tuple(image.shape)}", fontsize=10)
        ax_k.set_title("kernel 3 x 3", fontsize=10)
        ax_map.set_title("feature map (output)", fontsize=10)
        _image_axes(ax_k, 3, 3)
        _image_axes(ax_map, 1, 1)
        k_mesh = _mesh(ax_k, 3, 3, "RdBu_r", edges="white")
        fmap = ax_map.imshow(np.zeros((2, 2)), cmap="gray", extent=(0, 1, 1, 0), animated=True,
                             interpolation="nearest")

        def update(kernel: str, stride: int, **weights: float) -> str:
            if kernel == "custom":
                k = torch.tensor([weights[name] for name in _WEIGHT_NAMES], dtype=torch.float32).reshape(3, 3)
            else:
                k = preset_kernel(kernel)
            with one_thread():
                y = F.conv2d(image.unsqueeze(0), k.reshape(1, 1, 3, 3), stride=stride)[0, 0]
            limit = max(float(k.abs().max()), 1e-6)
            k_mesh.set_array(k.numpy())
            k_mesh.set_clim(-limit, limit)
            lo, hi = float(y.min()), float(y.max())
            fmap.set_data(y.numpy())
            fmap.set_clim(lo, hi if hi > lo else lo + 1e-6)
            total = float(k.sum())
            return (f"kernel {_kernel_table(k.round(decimals=3))} &nbsp; sum {total:.2f}: a flat patch of brightness b "
                    f"comes out as {total:.2f}·b &nbsp;·&nbsp; output (1, {y.shape[0]}, {y.shape[1]}), "
                    f"⌊(128 − 3) / {stride}⌋ + 1 = {y.shape[0]} per side &nbsp;·&nbsp; values in [{lo:.2f}, {hi:.2f}]")

        return update

    custom = {name: (lambda v: v["kernel"] == "custom") for name in _WEIGHT_NAMES}
    return Panel(controls, setup, figsize=(7.6, 2.9), enabled_when=custom)


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
        mesh_in = _mesh(ax_in, 8, 8, "gray_r")
        mesh_in.set_clim(0, 1)
        mesh_maps = _mesh(ax_maps, rows * tile - 1, cols * tile - 1, "RdBu_r")
        mesh_big = _mesh(ax_big, 8, 8, "RdBu_r")
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

    def change(a: torch.Tensor, b: torch.Tensor) -> float:
        return float(relative_change(a, b))

    def setup(fig):
        ax_in, ax_conv, ax_pool, ax_plot = fig.subplots(1, 4, width_ratios=(1, 1, 1, 1.4))
        for ax, title in ((ax_in, "shifted input 14x14"), (ax_conv, "conv + ReLU 14x14"), (ax_pool, "max-pooled")):
            _image_axes(ax, _CANVAS, _CANVAS)
            ax.set_title(title, fontsize=9)
        ax_plot.set(xlim=(-3.3, 3.3), ylim=(-0.05, 1.6), xlabel="horizontal shift dx", xticks=_SHIFTS)
        ax_plot.set_title("relative change vs no shift", fontsize=9)
        mesh_in = _mesh(ax_in, _CANVAS, _CANVAS, "gray_r")
        mesh_in.set_clim(0, 1)
        home = ax_in.add_patch(Rectangle((_OFFSET, _OFFSET), 8, 8, fill=False, ls="--", lw=1.2,
                                         color=COLORS["grad"], animated=True))
        mesh_conv = _mesh(ax_conv, _CANVAS, _CANVAS, "magma")
        mesh_pool = _mesh(ax_pool, _CANVAS, _CANVAS, "magma")
        (line_conv,) = ax_plot.plot(_SHIFTS, _SHIFTS * 0.0, "o-", ms=3, color=COLORS["grad"], label="conv map",
                                    animated=True)
        lines_pool = {k: ax_plot.plot(_SHIFTS, _SHIFTS * 0.0, "o-", ms=3, lw=1.5, color=colors[k],
                                      label=f"max-pool {'global' if k == 14 else f'{k}x{k}'}", animated=True)[0]
                      for k in pools}
        (marker,) = ax_plot.plot([0], [0], "s", ms=9, mfc="none", color="black", animated=True)
        ax_plot.legend(loc="upper center", fontsize=7, ncols=2)
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
            mesh_conv.set_clim(0, top)
            mesh_pool.set_array(_blocks(pooled.numpy(), _CANVAS))
            mesh_pool.set_clim(0, top)
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
