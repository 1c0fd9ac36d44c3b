"""One visual style for every figure of the course, and the curve plot used by notebooks and ``pic/``.

Figures are made with :class:`matplotlib.figure.Figure` directly (no pyplot), so
nothing here depends on the notebook's backend and no figure is shown twice.
"""
from __future__ import annotations

import io
from typing import Callable

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
import numpy as np

__all__ = ["STYLE", "COLORS", "new_canvas_figure", "new_figure", "plot_curve", "curve_figure", "figure_to_png", "show"]

COLORS = {
    "main": "#1f77b4",
    "grad": "#d62728",
    "alt": "#2ca02c",
    "accent": "#ff7f0e",
    "muted": "#7f7f7f",
    "purple": "#9467bd",
}

STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "lines.linewidth": 2.0,
    "legend.frameon": False,
    "svg.hashsalt": "course",
}


def new_canvas_figure(figsize: tuple[float, float] = (6.0, 4.0), dpi: int = 100) -> Figure:
    """An empty Figure (no axes yet) with the course style, constrained layout and an Agg canvas."""
    if figsize[0] <= 0 or figsize[1] <= 0:
        raise ValueError(f"figsize must be positive, got {figsize}")
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=figsize, dpi=dpi, layout="constrained")
        FigureCanvasAgg(fig)
    return fig


def new_figure(figsize: tuple[float, float] = (6.0, 4.0), dpi: int = 100, **subplot_kw) -> tuple[Figure, object]:
    """Create a Figure with the course style and an Agg canvas; return ``(fig, axes)``."""
    constrained = subplot_kw.pop("constrained", True)
    fig = new_canvas_figure(figsize, dpi)
    if not constrained:
        fig.set_layout_engine(None)  # fixed margins set by the caller (subplots_adjust)
    with matplotlib.rc_context(STYLE):
        axes = fig.subplots(**subplot_kw)
    return fig, axes


def plot_curve(
    ax,
    x: np.ndarray,
    f: Callable[[np.ndarray], np.ndarray],
    df: Callable[[np.ndarray], np.ndarray] | None = None,
    *,
    label: str = "f(x)",
    grad_label: str = "f'(x)",
    title: str | None = None,
    color: str = COLORS["main"],
):
    """Draw ``f`` over ``x`` on ``ax`` (and its derivative ``df`` dashed); return the line artists."""
    x = np.asarray(x, dtype=float)
    if x.ndim != 1 or x.size < 2:
        raise ValueError(f"x must be a 1-D array with at least 2 points, got shape {x.shape}")
    with matplotlib.rc_context(STYLE):
        lines = ax.plot(x, f(x), color=color, label=label)
        if df is not None:
            lines += ax.plot(x, df(x), color=COLORS["grad"], linestyle="--", label=grad_label)
        ax.axhline(0, color="black", linewidth=0.6)
        ax.axvline(0, color="black", linewidth=0.6)
        ax.set_xlabel("x")
        if title:
            ax.set_title(title)
        ax.legend(loc="best")
    return lines


def curve_figure(
    f: Callable[[np.ndarray], np.ndarray],
    *,
    x_range: tuple[float, float] = (-10.0, 10.0),
    title: str,
    label: str = "f(x)",
    color: str = COLORS["main"],
    figsize: tuple[float, float] = (6.0, 4.0),
) -> Figure:
    """A one-curve figure in the course style (used for the notes' ``pic/`` figures)."""
    lo, hi = x_range
    if not lo < hi:
        raise ValueError(f"x_range must be (low, high) with low < high, got {x_range}")
    fig, ax = new_figure(figsize)
    plot_curve(ax, np.linspace(lo, hi, 1001), f, label=label, title=title, color=color)
    return fig


def figure_to_png(fig: Figure, dpi: int | None = None) -> bytes:
    """Encode ``fig`` as PNG bytes with no date or version metadata (deterministic output)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


def show(fig: Figure) -> None:
    """Display ``fig`` in a notebook as a PNG (the same bytes ``figure_to_png`` returns)."""
    from IPython.display import Image, display

    display(Image(data=figure_to_png(fig)))
