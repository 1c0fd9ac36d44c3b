"""Chapter 1 (tensors): the chapter's figures and panels. The math lives in ``helpers.tensors``."""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch
from matplotlib import colormaps
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ..plotting import COLORS, new_figure, plot_curve
from ..tensors import DOMAIN_FUNCTIONS, MAKER_ARGS, MAKERS, autograd_slope, broadcast_shape, count_special, domain_grid, make_tensor
from .base import Panel, PanelMessage, dropdown, float_slider, int_slider, register

__all__ = ["domain_figure", "broadcast_figure", "reduction_figure", "tangent_figure",
           "domain_panel", "broadcast_panel", "creation_panel"]


# ----------------------------------------------------------------------------- drawing pieces
# Drawing order among the artists that change (the panel lifts all of them above the static ones).
_Z_SHADE, _Z_LINE, _Z_MARK, _Z_TEXT = 2.6, 3.0, 3.5, 4.0

_X_WINDOW = (-5.0, 5.0)


def _domain_artists(ax, animated: bool) -> Callable[[str, float, float], dict[str, int]]:
    """Create the curve, nan shading/markers and -inf markers on ``ax``; return ``paint(name, low, high)``."""
    kw = {"animated": animated}
    blend = ax.get_xaxis_transform()  # x in data units, y in axes fraction
    ax.axhline(0, color="black", linewidth=0.6, zorder=1)
    ax.axvline(0, color="black", linewidth=0.6, zorder=1)
    ref, = ax.plot([], [], color=COLORS["muted"], linewidth=1, linestyle=":", zorder=_Z_LINE, **kw)
    curve, = ax.plot([], [], color=COLORS["main"], zorder=_Z_LINE, **kw)
    shade = ax.add_patch(Rectangle((0, 0), 0, 1, transform=blend, facecolor=COLORS["grad"], alpha=0.15,
                                   linewidth=0, zorder=_Z_SHADE, visible=False, **kw))
    nan_marks, = ax.plot([], [], "x", color=COLORS["grad"], markersize=4, transform=blend, zorder=_Z_MARK, **kw)
    inf_marks, = ax.plot([], [], "v", color=COLORS["purple"], markersize=8, transform=blend, zorder=_Z_MARK, **kw)

    def paint(name: str, low: float, high: float) -> dict[str, int]:
        fn, ylim, _ = DOMAIN_FUNCTIONS[name]
        if ax.get_ylim() != ylim:
            ax.set_ylim(*ylim)
        xr = domain_grid(*ax.get_xlim(), step=0.02)
        yr = fn(xr)
        ref.set_data(xr.numpy(), torch.where(torch.isfinite(yr), yr, torch.nan).numpy())
        x = domain_grid(low, high)
        y = fn(x)
        curve.set_data(x.numpy(), torch.where(torch.isfinite(y), y, torch.nan).numpy())
        xn, xi = x[torch.isnan(y)], x[torch.isneginf(y)]
        nan_marks.set_data(xn.numpy(), [0.04] * len(xn))
        inf_marks.set_data(xi.numpy(), [0.03] * len(xi))
        shade.set_visible(len(xn) > 0)
        if len(xn):
            lo, hi = float(xn.min()) - 0.025, float(xn.max()) + 0.025
            shade.set_x(lo)
            shade.set_width(hi - lo)
        return count_special(y)

    return paint


def _palette(cmap: str, n: int) -> list:
    """``n`` distinguishable shades of a sequential colormap (light to dark)."""
    return list(colormaps[cmap](np.linspace(0.2, 0.7, n) if n > 1 else [0.45]))


class _CellGrid:
    """Up to ``rows x cols`` cells drawn as ONE collection (fast to blit), optionally with value texts.

    With ``split=True`` each cell is two triangles (upper left, lower right) so it can show two colours.
    """

    def __init__(self, ax, rows: int, cols: int, *, animated: bool, split: bool = False,
                 labels: bool = False, fontsize: float = 9) -> None:
        self.rows, self.cols, self.split = rows, cols, split
        polys = []
        for i in range(rows):
            for j in range(cols):
                x0, y0, x1, y1 = j + 0.05, i + 0.05, j + 0.95, i + 0.95
                if split:
                    polys += [[(x0, y0), (x1, y0), (x0, y1)], [(x1, y0), (x1, y1), (x0, y1)]]
                else:
                    polys.append([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])
        self.cells = ax.add_collection(PolyCollection(polys, animated=animated, zorder=_Z_SHADE))
        box = {"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.8} if split else None
        self.texts = [[ax.text(j + 0.5, i + 0.5, "", ha="center", va="center", fontsize=fontsize, bbox=box,
                               visible=False, animated=animated, zorder=_Z_TEXT)
                       for j in range(cols)] for i in range(rows)] if labels else []
        self.paint([])

    def paint(self, colors: list[list], own: list[list[bool]] | None = None,
              labels: list[list[str]] | None = None) -> None:
        """Show ``len(colors) x len(colors[0])`` cells; own cells solid, the others (broadcast copies) faint and dashed."""
        face, edge, style = [], [], []
        for i in range(self.rows):
            for j in range(self.cols):
                shown = i < len(colors) and j < len(colors[i])
                solid = shown and (own is None or own[i][j])
                parts = (colors[i][j] if self.split else [colors[i][j]]) if shown else [None] * (1 + self.split)
                for c in parts:
                    face.append(to_rgba(c, 0.95 if solid else 0.3) if shown else (0, 0, 0, 0))
                    edge.append(("black" if solid else "#888888") if shown else (0, 0, 0, 0))
                    style.append("-" if solid else "--")
                if self.texts:
                    t = self.texts[i][j]
                    t.set_visible(shown and labels is not None)
                    if shown and labels is not None:
                        t.set_text(labels[i][j])
                        t.set_color("black" if solid else "#666666")
        self.cells.set_facecolor(face)
        self.cells.set_edgecolor(edge)
        self.cells.set_linestyle(style)
        self.cells.set_linewidth(0.8)


def _grid_axes(ax, rows: int, cols: int, top: float = -0.9) -> None:
    ax.set_xlim(-0.1, cols + 0.1)
    ax.set_ylim(rows + 0.1, top)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_xticks([])  # no tick objects: less to walk on every panel update
    ax.set_yticks([])


def _as_2d(shape: tuple[int, ...]) -> tuple[int, int]:
    return (1,) * (2 - len(shape)) + tuple(shape)


_BROADCAST_RULE = ("rule: align the shapes from the right (a missing dim counts as 1);\n"
                   "in every dim the sizes must be equal, or one of them must be 1.\n"
                   "A and B are drawn stretched to the result shape: faint dashed cells are copies;\n"
                   "a result cell shows its A colour (upper left) and its B colour (lower right)")


def _broadcast_artists(fig: Figure, animated: bool, labels: bool = False) -> Callable[[tuple, tuple], tuple[int, ...]]:
    """Create the A, B and A + B grids on ``fig``; return ``paint(a_shape, b_shape)`` (ValueError if they cannot broadcast)."""
    gs = fig.add_gridspec(2, 3, height_ratios=[5, 2.4])
    axes = [fig.add_subplot(gs[0, k]) for k in range(3)]
    text_ax = fig.add_subplot(gs[1, :])
    grids = []
    for k, (ax, title) in enumerate(zip(axes, ("A (stretched)", "B (stretched)", "A + B"))):
        _grid_axes(ax, 4, 4)
        grids.append(_CellGrid(ax, 4, 4, animated=animated, split=k == 2, labels=labels))
        ax.text(2, -0.45, title, ha="center", va="center", fontsize=10)
    text_ax.set_axis_off()
    text_ax.set_xticks([])
    text_ax.set_yticks([])
    equation = text_ax.text(0.5, 0.9, "", ha="center", va="center", fontsize=11, family="monospace",
                            transform=text_ax.transAxes, animated=animated, zorder=_Z_TEXT)
    text_ax.text(0.5, 0.7, _BROADCAST_RULE, ha="center", va="top", fontsize=8.5, transform=text_ax.transAxes)

    def paint(a_shape: tuple, b_shape: tuple) -> tuple[int, ...]:
        a_idx = torch.arange(math.prod(a_shape)).reshape(a_shape)
        b_idx = torch.arange(math.prod(b_shape)).reshape(b_shape)
        pal_a, pal_b = _palette("Blues", a_idx.numel()), _palette("Oranges", b_idx.numel())
        try:
            out = broadcast_shape(a_shape, b_shape)
        except ValueError:  # draw A and B as they are, leave the result empty, then report
            for grid, idx, pal, scale in zip(grids, (a_idx, b_idx), (pal_a, pal_b), (1, 10)):
                rows = idx.reshape(_as_2d(tuple(idx.shape))).tolist()
                grid.paint([[pal[k] for k in row] for row in rows], None,
                           [[str((k + 1) * scale) for k in row] for row in rows])
            grids[2].paint([])
            equation.set_text(f"A {a_shape} + B {b_shape} -> ?")
            raise
        r, c = _as_2d(out)
        ea, eb = a_idx.expand(out).reshape(r, c).tolist(), b_idx.expand(out).reshape(r, c).tolist()
        (ar, ac), (br, bc) = _as_2d(a_shape), _as_2d(b_shape)
        grids[0].paint([[pal_a[k] for k in row] for row in ea],
                       [[i < ar and j < ac for j in range(c)] for i in range(r)],
                       [[str(k + 1) for k in row] for row in ea])
        grids[1].paint([[pal_b[k] for k in row] for row in eb],
                       [[i < br and j < bc for j in range(c)] for i in range(r)],
                       [[str(10 * (k + 1)) for k in row] for row in eb])
        grids[2].paint([[(pal_a[ka], pal_b[kb]) for ka, kb in zip(ra, rb)] for ra, rb in zip(ea, eb)], None,
                       [[str(ka + 1 + 10 * (kb + 1)) for ka, kb in zip(ra, rb)] for ra, rb in zip(ea, eb)])
        equation.set_text(f"A {a_shape} + B {b_shape} -> {out}")
        return out

    return paint


# ----------------------------------------------------------------------------- static figures
def domain_figure(x_range: tuple[float, float] = (-2.0, 4.0)) -> Figure:
    """sqrt, exp, log, log2, log10 evaluated by PyTorch in float32: nan shaded red, -inf marked by a triangle."""
    fig, axes = new_figure((13.0, 2.7), ncols=5, constrained=False)  # fixed margins: 2x faster than constrained
    fig.subplots_adjust(left=0.04, right=0.99, bottom=0.18, top=0.88, wspace=0.3)
    for ax, name in zip(axes, DOMAIN_FUNCTIONS):
        ax.set_xlim(*x_range)
        paint = _domain_artists(ax, animated=False)
        counts = paint(name, *x_range)
        ax.set_title(f"{name}(x): {counts['nan']} nan, {counts['-inf']} -inf", fontsize=10)
        ax.set_xlabel("x")
    return fig


def broadcast_figure(a_shape: tuple[int, ...] = (3, 1), b_shape: tuple[int, ...] = (4,)) -> Figure:
    """A (3, 1) + B (4,) drawn as cell grids: each operand stretched to the result shape, then the sum."""
    if len(a_shape) > 2 or len(b_shape) > 2 or max(a_shape + b_shape, default=0) > 4:
        raise ValueError(f"shapes must have at most 2 dims of size <= 4, got {a_shape} and {b_shape}")
    fig, ax = new_figure((8.4, 3.9))
    ax.remove()
    paint = _broadcast_artists(fig, animated=False, labels=True)
    paint(tuple(a_shape), tuple(b_shape))
    return fig


def reduction_figure() -> Figure:
    """``x.sum(dim=0)`` (down the rows) and ``x.sum(dim=1)`` (along the columns) of a 3 x 4 matrix."""
    x = torch.arange(1, 13).reshape(3, 4)
    fig, axes = new_figure((8.0, 3.0), ncols=2)
    light_blue, light_orange = "#aec7e8", "#ffbb78"
    for ax, dim in zip(axes, (0, 1)):
        _grid_axes(ax, 4, 5, top=-0.9)
        ax.set_xlim(-0.6, 5.1)
        s = x.sum(dim=dim).tolist()
        labels = [[str(v) for v in row] for row in x.tolist()]
        colors = [[light_blue] * 4 for _ in range(3)]
        if dim == 0:
            labels, colors = labels + [[str(v) for v in s]], colors + [[light_orange] * 4]
            arrow = ((-0.3, 0.1), (-0.3, 2.9))
        else:
            labels = [row + [str(v)] for row, v in zip(labels, s)]
            colors = [row + [light_orange] for row in colors]
            arrow = ((0.1, -0.2), (3.9, -0.2))
        _CellGrid(ax, 4, 5, animated=False, labels=True, fontsize=10).paint(colors, None, labels)
        ax.annotate("", xy=arrow[1], xytext=arrow[0], arrowprops={"arrowstyle": "->", "color": COLORS["grad"], "lw": 2})
        ax.text(2.5, -0.65, f"x.sum(dim={dim}) -> shape {tuple(x.sum(dim=dim).shape)}", ha="center", fontsize=10)
    return fig


def tangent_figure(f: Callable[[torch.Tensor], torch.Tensor], x0: float, *, x_range: tuple[float, float] = (-2.5, 2.5),
                   label: str = "f(x)") -> Figure:
    """``f`` and its tangent at ``x0`` whose slope comes from autograd."""
    slope = autograd_slope(f, x0)
    y0 = float(f(torch.tensor(float(x0), dtype=torch.float64)))
    fig, ax = new_figure((5.5, 3.4))
    x = torch.linspace(*x_range, 401, dtype=torch.float64)
    plot_curve(ax, x.numpy(), lambda v: f(torch.as_tensor(v)).numpy(), label=label,
               title=f"tangent at x0 = {x0:g}: slope from autograd = {slope:g}")
    ax.plot(x.numpy(), (y0 + slope * (x - x0)).numpy(), color=COLORS["accent"], linestyle="--",
            label="y0 + f'(x0) (x - x0)")
    ax.plot([x0], [y0], "o", color=COLORS["grad"])
    ax.legend(loc="upper left")
    return fig


# ----------------------------------------------------------------------------- panels
@register
def domain_panel() -> Panel:
    """Drag the left end of the x-range below 0 and watch where sqrt/log give nan and -inf."""
    controls = {
        "x_min": float_slider("x min", -5.0, 4.9, 0.1, -2.0),
        "x_max": float_slider("x max", -4.9, 5.0, 0.1, 4.0),
        "func": dropdown("function", list(DOMAIN_FUNCTIONS), "log"),
    }

    def setup(fig: Figure):
        ax, side = fig.subplots(1, 2, width_ratios=[2.3, 1])
        ax.set_xlim(*_X_WINDOW)
        ax.set_xlabel("x")
        side.set_axis_off()
        side.set_xticks([])
        side.set_yticks([])
        rules = side.text(0.0, 0.97, "", va="top", ha="left", family="monospace", fontsize=9,
                          transform=side.transAxes)  # static: changes only with the function
        side.text(0.0, 0.62, "red band, x: nan\npurple v:    -inf", va="top", ha="left", family="monospace",
                  fontsize=9, transform=side.transAxes)
        side.text(0.0, 0.38, "points in range:\n  nan  -inf  finite", va="top", ha="left", family="monospace",
                  fontsize=9, transform=side.transAxes)
        readout = side.text(0.0, 0.22, "", va="top", ha="left", family="monospace", fontsize=9,
                            transform=side.transAxes, animated=True, zorder=_Z_TEXT)
        paint = _domain_artists(ax, animated=True)

        shown = {"func": None}

        def update(x_min: float, x_max: float, func: str) -> None:
            if func != shown["func"]:  # static texts and limits change only with the function (redraw_on)
                shown["func"] = func
                ax.set_title(f"torch.{func}(x), float32")
                ax.set_ylim(*DOMAIN_FUNCTIONS[func][1])
                rules.set_text(DOMAIN_FUNCTIONS[func][2])
            if not x_min < x_max:
                raise PanelMessage(f"empty range: x min ({x_min:.1f}) must be smaller than x max ({x_max:.1f})")
            counts = paint(func, x_min, x_max)
            n = counts["nan"] + counts["-inf"] + counts["inf"] + counts["finite"]
            if n == 0:
                raise PanelMessage(f"no grid point (multiple of 0.05) in [{x_min:.2f}, {x_max:.2f}]")
            readout.set_text(f"{100 * counts['nan'] / n:4.0f}% {counts['-inf']:5d} {100 * counts['finite'] / n:6.0f}%")

        return update

    return Panel(controls, setup, figsize=(7.5, 3.3), redraw_on=("func",))


@register
def broadcast_panel() -> Panel:
    """Pick the shapes of A and B; see each stretched to the result shape, or why they cannot broadcast."""
    controls = {
        "a_rows": int_slider("A rows", 1, 4, 3),
        "a_cols": int_slider("A cols", 1, 4, 1),
        "b_rows": int_slider("B rows (0: B is 1-D)", 0, 4, 0),
        "b_cols": int_slider("B cols", 1, 4, 4),
    }

    def setup(fig: Figure):
        paint = _broadcast_artists(fig, animated=True)

        def update(a_rows: int, a_cols: int, b_rows: int, b_cols: int) -> None:
            a_shape = (a_rows, a_cols)
            b_shape = (b_cols,) if b_rows == 0 else (b_rows, b_cols)
            try:
                paint(a_shape, b_shape)
            except ValueError as exc:
                raise PanelMessage(str(exc).replace("; they", ";\nthey")) from None

        return update

    return Panel(controls, setup, figsize=(8.4, 3.9))


@register
def creation_panel() -> Panel:
    """Call a tensor constructor with some arguments and see the shape, dtype and values you get."""
    controls = {
        "maker": dropdown("constructor", list(MAKERS), "torch.Tensor"),
        "args": dropdown("arguments", list(MAKER_ARGS), "2, 3"),
    }

    def setup(fig: Figure):
        ax, side = fig.subplots(1, 2, width_ratios=[1, 1.6])
        _grid_axes(ax, 2, 3, top=-0.1)
        grid = _CellGrid(ax, 2, 3, animated=True, labels=True, fontsize=11)
        side.set_axis_off()
        side.set_xticks([])
        side.set_yticks([])
        # static text: it changes only when a dropdown does, so each state's background is cached
        readout = side.text(0.0, 0.5, "", va="center", ha="left", family="monospace", fontsize=10,
                            transform=side.transAxes)

        def update(maker: str, args: str) -> None:
            call = f"{maker}({args})"
            try:
                t, uninitialised = make_tensor(maker, args)
            except TypeError as exc:
                grid.paint([])
                readout.set_text("")
                raise PanelMessage(f"{call}\nraises TypeError:\n{exc}") from None
            rows = (t.reshape(1, -1) if t.ndim < 2 else t).tolist()
            color = "#ffbb78" if t.dtype.is_floating_point else "#aec7e8"  # light orange / light blue
            if uninitialised:
                labels, note = [["?"] * len(r) for r in rows], "values: uninitialised\n(garbage, shown as ?)"
            else:
                labels, note = [[f"{e:g}" for e in r] for r in rows], f"values: {t.tolist()}"
                if maker == "torch.IntTensor" and args == "[2.7, -2.7]":
                    note += "\n(floats truncated toward 0)"
            grid.paint([[color] * len(r) for r in rows], [[not uninitialised] * len(r) for r in rows], labels)
            scalar = "  (0-d scalar)" if t.ndim == 0 else ""
            readout.set_text(f"{call}\nshape: {tuple(t.shape)}{scalar}\ndtype: {t.dtype}\n{note}")

        return update

    return Panel(controls, setup, figsize=(7.5, 2.4))
