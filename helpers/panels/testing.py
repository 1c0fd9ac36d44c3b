"""Tools for tests, benchmarks and the static-site builder: not part of what a notebook uses.

- ``render_full(panel)``: a full redraw without blitting, to check the fast path against;
  ``render_pixels`` / ``render_full_pixels``: the same two pictures as arrays, before the PNG palette
  (what the tests compare: exact, and without encoding and decoding);
- ``naive_render(panel)``: what ``ipywidgets.interact`` does per change (a fresh pyplot figure);
- ``control_samples``, ``sample_values``, ``sweep_values``: control values to try;
- ``time_updates``: seconds from a control change to new PNG bytes.
"""
from __future__ import annotations

import itertools
import math
import random
import time

import ipywidgets as widgets
import matplotlib
import numpy as np

from .base import PANEL_STYLE, Panel, fast_text

__all__ = ["render_full", "render_pixels", "render_full_pixels", "naive_render", "control_samples", "sample_values", "sweep_values", "time_updates"]


def render_full(panel: Panel, **overrides) -> bytes:
    """Render ``panel`` with a full redraw (no blitting): the picture the fast path must match."""
    return panel._encode(_full_rgba(panel, **overrides))


def render_pixels(panel: Panel, **overrides) -> np.ndarray:
    """The fast path's picture as an ``(H, W, 3)`` uint8 array: what ``render`` encodes, before the palette."""
    return panel._render_rgba(**overrides)[..., :3].copy()


def render_full_pixels(panel: Panel, **overrides) -> np.ndarray:
    """A full redraw's picture as an ``(H, W, 3)`` uint8 array (compare with :func:`render_pixels`)."""
    return _full_rgba(panel, **overrides)[..., :3].copy()


def _full_rgba(panel: Panel, **overrides) -> np.ndarray:
    panel._render_rgba(**overrides)
    fig = panel.fig
    animated = [a for a in fig.findobj(lambda a: a.get_animated()) if a.get_visible()]
    for a in animated:
        a.set_animated(False)
    try:
        with fast_text():
            fig.canvas.draw()
        return np.asarray(fig.canvas.buffer_rgba())
    finally:
        for a in animated:
            a.set_animated(True)
        panel._backgrounds.clear()


def naive_render(panel: Panel, **values) -> bytes:
    """What ``ipywidgets.interact`` does per change: a fresh pyplot figure, drawn and encoded."""
    import matplotlib.pyplot as plt
    from IPython.core.pylabtools import print_figure

    values = {**panel.values(), **values}
    with matplotlib.rc_context(PANEL_STYLE):
        fig = plt.figure(figsize=panel.fig.get_size_inches(), dpi=panel.fig.dpi)
        try:
            update = panel._setup(fig)
            try:
                update(**values)
            except Exception:  # the naive way would show a traceback; time the drawing anyway
                pass
            return print_figure(fig, "png", bbox_inches="tight")
        finally:
            plt.close(fig)


def control_samples(w: widgets.ValueWidget) -> list:
    """A few values of one control: extremes and middle of a slider, every option of a dropdown."""
    if isinstance(w, widgets.FloatLogSlider):
        return [w.base ** w.min, w.base ** ((w.min + w.max) / 2), w.base ** w.max]
    if isinstance(w, (widgets.FloatSlider, widgets.IntSlider)):
        mid = (w.min + w.max) / 2
        mid = int(round(mid)) if isinstance(w, widgets.IntSlider) else mid
        return [w.min, mid, w.max]
    if isinstance(w, (widgets.FloatRangeSlider, widgets.IntRangeSlider)):
        return [(w.min, w.max), (w.min, w.min), w.value]
    if isinstance(w, (widgets.Checkbox, widgets.ToggleButton)):
        return [False, True]
    if hasattr(w, "options"):
        opts = list(w.options)
        return [o[1] if isinstance(o, tuple) else o for o in opts]
    return [w.value]


def sample_values(panel: Panel, max_combos: int = 48, seed: int = 0) -> list[dict]:
    """Control combinations covering each control's extremes and middle (a seeded sample if many)."""
    names = list(panel.controls)
    grids = [control_samples(panel.controls[n]) for n in names]
    total = math.prod(len(g) for g in grids)
    if total <= max_combos:
        return [dict(zip(names, c)) for c in itertools.product(*grids)]
    # the same picks as sampling the list of every combination, without building it (millions for the race)
    return [dict(zip(names, _nth_combination(grids, k))) for k in random.Random(seed).sample(range(total), max_combos)]


def _nth_combination(grids: list[list], k: int) -> list:
    """The ``k``-th item of ``itertools.product(*grids)``."""
    picks = []
    for grid in reversed(grids):
        k, position = divmod(k, len(grid))
        picks.append(grid[position])
    return picks[::-1]


def sweep_values(panel: Panel, steps: int = 15) -> tuple[str, list]:
    """The first slider of ``panel`` and ``steps`` values dragged up and back down its range."""
    for name, w in panel.controls.items():
        if isinstance(w, (widgets.FloatSlider, widgets.IntSlider, widgets.FloatLogSlider)):
            if isinstance(w, widgets.FloatLogSlider):
                up = list(w.base ** np.linspace(w.min, w.max, steps))
            elif isinstance(w, widgets.IntSlider):
                up = sorted(set(int(v) for v in np.linspace(w.min, w.max, steps).round()))
            else:
                up = list(np.linspace(w.min, w.max, steps))
            return name, up + up[-2::-1]
    name, w = next(iter(panel.controls.items()))
    return name, control_samples(w) * 3


def time_updates(panel: Panel, name: str, values: list) -> list[float]:
    """Seconds from setting control ``name`` to the new image bytes being ready, per value."""
    times = []
    control = panel.controls[name]
    for v in values:
        start = time.perf_counter()
        control.value = v
        times.append(time.perf_counter() - start)
    return times
