"""Every registered panel: renders for every sampled control combination, fast path == full redraw."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from helpers import panels as P

PANELS = P.all_panels()


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def _same_picture(a: bytes, b: bytes) -> float:
    """Fraction of pixels that differ clearly (drawing order may move a few pixels at spines)."""
    return float(np.mean(np.abs(_pixels(a) - _pixels(b)).sum(-1) > 30))


def _demo_panel():
    def setup(fig):
        ax = fig.subplots()
        x = np.linspace(-5, 5, 200)
        line, = ax.plot(x, np.tanh(x), animated=True)
        ax.set_ylim(-1.1, 1.1)

        def update(k, zoom):
            if k > 4:
                raise P.PanelMessage("k is too large")
            if k < 0.2:
                raise RuntimeError("unexpected")
            line.set_ydata(np.tanh(k * x))
            ax.set_xlim(-5 / zoom, 5 / zoom)
        return update
    return P.Panel({"k": P.float_slider("k", 0.1, 5, 0.1, 1.0), "zoom": P.dropdown("zoom", [1, 2], 1)}, setup)


def test_panel_machinery_shows_messages_instead_of_tracebacks():
    panel = _demo_panel()
    normal = panel.render(k=1.0)
    assert panel.last_error is None
    panel.render(k=4.5)
    assert panel.last_error == "k is too large"
    panel.render(k=0.1)
    assert panel.last_error.startswith("Cannot draw this setting (RuntimeError: unexpected")
    assert panel.render(k=1.0) == normal and panel.last_error is None
    with pytest.raises(ValueError, match="unknown control"):
        panel.render(speed=3)


def test_panel_pushes_new_png_into_its_image_on_every_change():
    panel = _demo_panel()
    before = panel.image.value
    panel.controls["k"].value = 2.0
    assert panel.image.value != before and panel.image.value[:4] == b"\x89PNG"
    panel.controls["zoom"].value = 2  # changes the axis limits: background is redrawn
    zoomed = panel.image.value
    assert _pixels(zoomed).shape == _pixels(before).shape
    assert _same_picture(panel.render_full(), panel.render()) < 0.002


def test_panel_rejects_bad_construction():
    with pytest.raises(ValueError, match="controls"):
        P.Panel({}, lambda fig: (lambda: None))
    with pytest.raises(ValueError, match="kind"):
        P.Panel({"k": P.float_slider("k", 0, 1, 0.1, 0.5)}, lambda fig: (lambda k: None), kind="fast")


def test_sample_values_covers_extremes():
    panel = _demo_panel()
    combos = P.sample_values(panel)
    assert {c["k"] for c in combos} == {0.1, 2.55, 5.0}
    assert {c["zoom"] for c in combos} == {1, 2}


def test_some_panels_are_registered():
    assert len(PANELS) >= 2, sorted(PANELS)


@pytest.mark.parametrize("name", sorted(PANELS))
def test_panel_renders_every_sampled_combination(name):
    panel = PANELS[name]()
    assert panel.image.value[:4] == b"\x89PNG", "the panel shows an image as soon as it is built"
    first = _pixels(panel.image.value)
    for values in P.sample_values(panel):
        png = panel.render(**values)
        img = _pixels(png)
        assert img.shape == first.shape
        assert img.std() > 1.0, f"{values}: blank image"
        if panel.last_error is not None:
            assert not panel.last_error.startswith("Cannot draw"), f"{values}: unexpected {panel.last_error}"


@pytest.mark.parametrize("name", sorted(PANELS))
def test_panel_fast_path_matches_a_full_redraw(name):
    panel = PANELS[name]()
    for values in P.sample_values(panel, max_combos=6, seed=1):
        fast = panel.render(**values)
        differing = _same_picture(fast, panel.render_full(**values))
        assert differing < 0.002, f"{values}: {differing:.2%} of pixels differ from a full redraw"


@pytest.mark.parametrize("name", sorted(PANELS))
def test_panel_controls_change_the_image(name):
    panel = PANELS[name]()
    name0, values = P.sweep_values(panel, steps=5)
    images = {panel.render(**{name0: v}) for v in values}
    assert len(images) > 1, f"moving {name0} never changed the image"


def test_update_may_return_a_readout_shown_under_the_image():
    def setup(fig):
        ax = fig.subplots()
        line, = ax.plot([0, 1], [0, 1], animated=True)

        def update(k):
            line.set_ydata([0, k])
            return f"slope = {k:.2f}"
        return update
    panel = P.Panel({"k": P.float_slider("k", 0, 2, 0.5, 1.0)}, setup)
    assert panel.readout.value == "slope = 1.00"
    panel.controls["k"].value = 1.5
    assert panel.readout.value == "slope = 1.50"
    assert panel.readout in panel.widget.children
