"""Helpers shared by the test files: ``from support import close, pixels, assert_matches_full_redraw``.

pytest puts this folder on ``sys.path`` (``tests/`` has no ``__init__.py``), so the test files import this
module by name; ``conftest.py`` holds only hooks and fixtures.
"""
from __future__ import annotations

import io
from collections import OrderedDict

import numpy as np
import torch
from PIL import Image

from helpers.panels.testing import render_full_pixels, render_pixels


def close(a: torch.Tensor, b: torch.Tensor, atol: float = 1e-10, rtol: float = 0.0) -> bool:
    """Same shape and ``|a - b| <= atol + rtol * |b|`` everywhere (float64 results agree to 1e-10 by default)."""
    return a.shape == b.shape and bool(torch.allclose(a, b, atol=atol, rtol=rtol))


def pixels(png: bytes) -> np.ndarray:
    """The RGB pixels of a PNG as an ``(H, W, 3)`` int array (a panel's PNG has a palette: this expands it)."""
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def differing_pixels(a: bytes, b: bytes) -> float:
    """Fraction of pixels whose RGB values differ at all between two PNGs of the same size."""
    first, second = pixels(a), pixels(b)
    if first.shape != second.shape:
        raise ValueError(f"the pictures differ in size: {first.shape} vs {second.shape}")
    return float(np.mean(np.any(first != second, axis=-1)))


def assert_same_picture(fast, full, what) -> None:
    """The redraw rule's one tolerance: the blitted picture equals a full redraw pixel for pixel.

    ``fast`` and ``full`` are PNG bytes or pixel arrays (``render_pixels``: exact, before the palette)."""
    if isinstance(fast, bytes) and isinstance(full, bytes):
        if fast != full:  # equal bytes are equal pictures; otherwise the encoder might still differ, so compare pixels
            differing = differing_pixels(fast, full)
            assert differing == 0, f"{what}: {differing:.3%} of pixels differ from a full redraw"
        return
    assert fast.shape == full.shape, f"{what}: the pictures differ in size: {fast.shape} vs {full.shape}"
    differing = float(np.mean(np.any(fast != full, axis=-1)))
    assert differing == 0, f"{what}: {differing:.3%} of pixels differ from a full redraw"


def fresh_render(panel, **values) -> np.ndarray:
    """The pixels of ``panel`` at ``values`` drawn on a new background (no cached one that could be stale);
    the panel's cache of backgrounds is put back afterwards, for the moves that follow."""
    cached, panel._backgrounds = panel._backgrounds, OrderedDict()
    try:
        return render_pixels(panel, **values)
    finally:
        panel._backgrounds = cached


def assert_matches_full_redraw(panel, **values) -> np.ndarray:
    """Render ``panel`` at ``values`` on its fast path, check it against a full redraw; return the fast pixels."""
    fast = render_pixels(panel, **values)
    assert_same_picture(fast, render_full_pixels(panel, **values), values)
    return fast


# Every panel that declares named states ("试试" presets), by the chapter whose page the static-site tests click
# them on: chapter 04's in the built page, the others on one page of their states (tests/test_site.py).
# test_panels.py checks that a panel with states is listed here.
STATED_PANELS = {
    "03": ("depth_panel",),
    "04": ("gd_1d_panel", "robust_regression_panel"),
    "05": ("momentum_panel", "optimizer_race_panel"),
    "06": ("schedule_explorer_panel",),
    "07": ("overfitting_panel",),
    "08": ("filter_panel",),
}
