"""Drawing pieces shared by the chapters' panels, built on the same blitting rules as ``Panel``.

Each piece creates its static artists once and keeps the artists that change ``animated``, so a
panel that uses it stays fast. What changes a piece's *static* part is named in its docstring; the
panel puts the control behind that change into ``redraw_on`` (see ``helpers.panels.base``).

- :class:`ContourPaths`: the contour lines of a 2-D loss surface with optimizer paths on top.
- :class:`ImageGrid`: a grid of small images (kernels, feature maps, a batch of digits).
- :class:`HeatMap`: one matrix as a colour image with a fixed colour bar (hidden states, batch maps).
- :class:`PixelLayer` and :func:`axes_pixels`: RGBA bytes pasted at a whole-pixel place, without resampling.

The course's colour convention, the same in every chapter (a colour keeps one meaning throughout):

- ``SIGNED_CMAP`` for values with a sign (weights, kernels, gradients, feature maps, differences): a diverging
  map centred at 0, so white is 0, red positive, blue negative; its limits are symmetric (``signed_limits``);
- ``MAGNITUDE_CMAP`` for sizes that start at 0 or only grow (losses, counts, probabilities, |values|): sequential;
- ``IMAGE_CMAP`` for pictures a learner would recognise (digits, input images): one greyscale, black = 0;
- curves and paths use ``PATH_COLORS`` in a fixed order, at most 10 distinguishable colours.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..plotting import COLORS

__all__ = ["ContourPaths", "ImageGrid", "HeatMap", "PixelLayer", "axes_pixels", "PATH_COLORS", "SIGNED_CMAP", "MAGNITUDE_CMAP", "IMAGE_CMAP",
           "signed_limits"]

SIGNED_CMAP = "RdBu_r"
MAGNITUDE_CMAP = "viridis"
IMAGE_CMAP = "gray"

PATH_COLORS = (COLORS["main"], COLORS["grad"], COLORS["alt"], COLORS["accent"], COLORS["purple"], "#8c564b",
               "#e377c2", "#17becf")


def signed_limits(*arrays, floor: float = 1e-12) -> tuple[float, float]:
    """``(-m, m)`` with ``m`` the largest ``|value|`` in ``arrays``: a diverging map then puts 0 at white."""
    m = max((float(np.nanmax(np.abs(np.asarray(a, dtype=float)))) for a in arrays if np.size(a)), default=0.0)
    return -max(m, floor), max(m, floor)


def _check_2d(array, name: str) -> np.ndarray:
    a = array.detach().cpu().numpy() if isinstance(array, torch.Tensor) else np.asarray(array)
    if a.ndim != 2 or a.size == 0:
        raise ValueError(f"{name} must be a non-empty 2-D array, got shape {a.shape}")
    return a


class ContourPaths:
    """Contour lines of a surface ``f(x, y)`` (static) and one animated path per name.

    ``set_surface`` redraws the static contour: call it only when the surface changes and put
    that control into the panel's ``redraw_on``. ``set_paths`` only touches animated artists.
    """

    def __init__(self, ax: Axes, names: Sequence[str], colors: Sequence[str] | None = None, *,
                 resolution: int = 160, levels: int = 18) -> None:
        if not names:
            raise ValueError("names must hold at least one path name")
        colors = list(colors or PATH_COLORS)
        if len(colors) < len(names):
            raise ValueError(f"colors must give at least {len(names)} colours, got {len(colors)}")
        self.ax, self.resolution, self.levels = ax, resolution, levels
        self.surface = None
        self._contour = None
        self._minima = ax.plot([], [], "*", color="black", markersize=11, zorder=3)[0]
        self.lines, self.starts, self.ends = {}, {}, {}
        for name, color in zip(names, colors):
            self.lines[name] = ax.plot([], [], "-", color=color, lw=1.6, label=name, animated=True)[0]
            self.starts[name] = ax.plot([], [], "o", color=color, markersize=5, animated=True)[0]
            self.ends[name] = ax.plot([], [], "X", color=color, markersize=7, markeredgecolor="white",
                                      animated=True)[0]

    def set_surface(self, surface) -> None:
        """Draw the contour of ``surface`` (a ``helpers.data.Surface``) over its view, on a log scale of height."""
        self.surface = surface
        (x0, x1), (y0, y1) = surface.xlim, surface.ylim
        gx, gy = torch.meshgrid(torch.linspace(x0, x1, self.resolution, dtype=torch.float64),
                                torch.linspace(y0, y1, self.resolution, dtype=torch.float64), indexing="xy")
        z = surface.fn(gx, gy).numpy()
        z = np.log1p(z - z.min())  # log of the height above the lowest point: shows valleys and plateaus alike
        if self._contour is not None:
            self._contour.remove()
        self._contour = self.ax.contour(gx.numpy(), gy.numpy(), z, levels=self.levels, cmap="viridis",
                                        linewidths=0.8, zorder=1)
        self.ax.set_xlim(x0, x1)
        self.ax.set_ylim(y0, y1)
        minima = np.asarray(surface.minima, dtype=float).reshape(-1, 2)
        self._minima.set_data(minima[:, 0], minima[:, 1])

    def set_paths(self, paths: dict[str, np.ndarray | torch.Tensor | None]) -> None:
        """Show each named path (an array of shape (T, 2)); a name missing or None is hidden."""
        unknown = set(paths) - set(self.lines)
        if unknown:
            raise ValueError(f"unknown path name(s) {sorted(unknown)}; this piece draws {list(self.lines)}")
        for name, line in self.lines.items():
            xy = paths.get(name)
            visible = xy is not None
            if visible:
                xy = _check_2d(xy, f"paths[{name!r}]")
                if xy.shape[1] != 2:
                    raise ValueError(f"paths[{name!r}] must have shape (T, 2), got {xy.shape}")
                finite = xy[np.isfinite(xy).all(axis=1)]
                line.set_data(xy[:, 0], xy[:, 1])
                self.starts[name].set_data(xy[:1, 0], xy[:1, 1])
                end = finite[-1:] if len(finite) else xy[:0]
                self.ends[name].set_data(end[:, 0], end[:, 1])
            for artist in (line, self.starts[name], self.ends[name]):
                artist.set_visible(visible)


class ImageGrid:
    """``rows`` x ``cols`` tick-less axes, each showing one animated image; unused axes are hidden.

    Its static part is the grid and, when ``titles`` are given, their texts (they enter the background key).
    """

    def __init__(self, fig: Figure, rows: int, cols: int, *, cmap: str = IMAGE_CMAP, spec=None,
                 shape: tuple[int, int] = (8, 8)) -> None:
        """``spec``: a SubplotSpec to place the grid in (e.g. ``fig.add_gridspec(1, 2)[0, 1]``); the whole figure by default."""
        for name, value in (("rows", rows), ("cols", cols)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        grid = fig.add_gridspec(rows, cols) if spec is None else spec.subgridspec(rows, cols)
        self.axes: list[Axes] = []
        self.images = []
        for r in range(rows):
            for c in range(cols):
                ax = fig.add_subplot(grid[r, c])
                ax.set_xticks([])
                ax.set_yticks([])
                ax.grid(False)
                for spine in ax.spines.values():
                    spine.set_visible(False)
                self.images.append(ax.imshow(np.zeros(shape), cmap=cmap, vmin=0.0, vmax=1.0,
                                             interpolation="nearest", animated=True))
                self.axes.append(ax)

    def set_images(self, images: Sequence, *, vmin: float | None = None, vmax: float | None = None,
                   titles: Sequence[str] | None = None) -> None:
        """Show ``images`` (2-D arrays) in reading order; ``vmin``/``vmax`` default to each image's own range."""
        if len(images) > len(self.axes):
            raise ValueError(f"images holds {len(images)} images but the grid has {len(self.axes)} places")
        if titles is not None and len(titles) != len(images):
            raise ValueError(f"titles must give one title per image: {len(images)}, got {len(titles)}")
        for i, (ax, artist) in enumerate(zip(self.axes, self.images)):
            shown = i < len(images)
            if ax.get_visible() != shown:
                ax.set_visible(shown)
            if not shown:
                continue
            a = _check_2d(images[i], f"images[{i}]")
            lo = float(np.nanmin(a)) if vmin is None else vmin
            hi = float(np.nanmax(a)) if vmax is None else vmax
            artist.set_data(a)
            artist.set_clim(lo, hi if hi > lo else lo + 1e-12)
            extent = (-0.5, a.shape[1] - 0.5, a.shape[0] - 0.5, -0.5)
            if tuple(artist.get_extent()) != extent:  # a new image size: new axis limits, a new background key
                artist.set_extent(extent)
                ax.set_xlim(extent[0], extent[1])
                ax.set_ylim(extent[2], extent[3])
            if titles is not None and ax.get_title() != titles[i]:
                ax.set_title(titles[i], fontsize=9)


class HeatMap:
    """One matrix as an animated image with a fixed colour scale (and a static colour bar).

    Changing the colour scale (``set_clim``) changes the static colour bar: put the control that does
    so into ``redraw_on``.
    """

    def __init__(self, ax: Axes, shape: tuple[int, int], *, cmap: str = SIGNED_CMAP, vmin: float = -1.0,
                 vmax: float = 1.0, colorbar: bool = True, label: str = "") -> None:
        if len(shape) != 2 or min(shape) < 1:
            raise ValueError(f"shape must be (rows, cols) with both >= 1, got {shape}")
        if not vmin < vmax:
            raise ValueError(f"vmin must be smaller than vmax, got {vmin} and {vmax}")
        self.ax = ax
        ax.grid(False)
        self.image = ax.imshow(np.zeros(shape), cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto",
                               interpolation="nearest", animated=True)
        self.colorbar = ax.figure.colorbar(self.image, ax=ax, label=label) if colorbar else None

    def set_data(self, array) -> None:
        """Show ``array`` (2-D); its shape may change (the axes limits follow, and so does the background)."""
        a = _check_2d(array, "array")
        self.image.set_data(a)
        extent = (-0.5, a.shape[1] - 0.5, a.shape[0] - 0.5, -0.5)
        if tuple(self.image.get_extent()) != extent:
            self.image.set_extent(extent)
            self.ax.set_xlim(extent[0], extent[1])
            self.ax.set_ylim(extent[2], extent[3])

    def set_clim(self, vmin: float, vmax: float) -> None:
        """Change the colour scale (redraws the colour bar: a background change)."""
        if not vmin < vmax:
            raise ValueError(f"vmin must be smaller than vmax, got {vmin} and {vmax}")
        if tuple(self.image.get_clim()) != (vmin, vmax):
            self.image.set_clim(vmin, vmax)


class PixelLayer(Artist):
    """RGBA bytes ``data`` (h, w, 4; top row first) drawn as they are at a whole-pixel place of the figure:
    no resampling, about 1 ms where an ``imshow`` of the same size takes 10-20 ms.

    ``ox``, ``oy``: the picture's lower-left corner in figure pixels from the bottom-left (see ``axes_pixels``)."""

    def __init__(self, **kwargs) -> None:
        super().__init__()
        self.data = np.zeros((1, 1, 4), dtype=np.uint8)
        self.ox = self.oy = 0
        self.shown: dict = {}  # what the picture says, for tests
        self.set(**kwargs)

    def draw(self, renderer) -> None:
        if not self.get_visible():
            return
        gc = renderer.new_gc()
        renderer.draw_image(gc, self.ox, self.oy, np.ascontiguousarray(self.data[::-1]))  # Agg's rows go up
        gc.restore()
        self.stale = False


def axes_pixels(fig: Figure, ax: Axes) -> tuple[int, int, int, int]:
    """The axes' box in figure pixels: (x0, y0 from the bottom, width, height). (From the axes' display box:
    ``get_position`` would apply the aspect again, which marks static artists as changed.)"""
    box = ax.get_window_extent()
    return int(round(box.x0)), int(round(box.y0)), int(box.width), int(box.height)
