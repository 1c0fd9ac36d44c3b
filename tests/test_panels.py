"""Every registered panel: renders for every sampled control combination, fast path == full redraw."""
from __future__ import annotations

import base64
import functools
import io

import numpy as np
import pytest
from PIL import Image

from helpers import panels as P
from helpers.panels import testing as T
from helpers.panels.testing import render_full, render_full_pixels, render_pixels
from support import STATED_PANELS, assert_matches_full_redraw, assert_same_picture, fresh_render, pixels

PANELS = P.all_panels()


@functools.cache
def _built(name: str) -> P.Panel:
    """One instance of each registered panel, shared by the tests below (building one can train a model).
    ``render(**values)`` does not move the panel's controls, so a test starts from the defaults all the same;
    what a panel counts (``unexpected_redraws``) then adds up over every test, which only makes the check stricter."""
    return PANELS[name]()


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
    normal = render_pixels(panel, k=1.0)
    assert panel.last_error is None
    panel.render(k=4.5)
    assert panel.last_error == "k is too large"
    panel.render(k=0.1)
    assert panel.last_error.startswith("Cannot draw this setting (RuntimeError: unexpected")
    assert np.array_equal(render_pixels(panel, k=1.0), normal) and panel.last_error is None
    with pytest.raises(ValueError, match="unknown control"):
        panel.render(speed=3)


def _shown_png(panel) -> bytes:
    """The PNG the panel's Image widget shows, decoded from its data: URL."""
    assert panel.image.format == "url"
    head, _, body = bytes(panel.image.value).partition(b",")
    assert head == b"data:image/png;base64"
    return base64.b64decode(body, validate=True)


def test_panel_pushes_new_png_into_its_image_on_every_change():
    panel = _demo_panel()
    before = panel.png
    assert _shown_png(panel) == before
    panel.controls["k"].value = 2.0
    assert panel.png != before and panel.png[:4] == b"\x89PNG"
    assert _shown_png(panel) == panel.png == panel.render()
    panel.controls["zoom"].value = 2  # changes the axis limits: background is redrawn
    zoomed = panel.png
    assert pixels(zoomed).shape == pixels(before).shape
    assert_matches_full_redraw(panel)


def test_panel_rejects_bad_construction():
    with pytest.raises(ValueError, match="controls"):
        P.Panel({}, lambda fig: (lambda: None))
    with pytest.raises(ValueError, match="redraw_on"):
        P.Panel({"k": P.float_slider("k", 0, 1, 0.1, 0.5)}, lambda fig: (lambda k: None), redraw_on=("j",))


def test_sample_values_covers_extremes():
    panel = _demo_panel()
    combos = T.sample_values(panel)
    assert {c["k"] for c in combos} == {0.1, 2.55, 5.0}
    assert {c["zoom"] for c in combos} == {1, 2}


@pytest.mark.parametrize("name", sorted(PANELS))
def test_panel_renders_every_sampled_combination(name):
    panel = _built(name)
    assert panel.png[:4] == b"\x89PNG", "the panel shows an image as soon as it is built"
    assert _shown_png(panel) == panel.png
    first = pixels(panel.png)
    for values in T.sample_values(panel, max_combos=24):
        img = render_pixels(panel, **values)
        assert img.shape == first.shape
        assert img.std() > 1.0, f"{values}: blank image"
        if panel.last_error is not None:
            assert not panel.last_error.startswith("Cannot draw"), f"{values}: unexpected {panel.last_error}"


def _at_most(values: list, n: int) -> list:
    """``values`` itself, or ``n`` of them evenly spread with the first and the last."""
    if len(values) <= n:
        return values
    return [values[round(i * (len(values) - 1) / (n - 1))] for i in range(n)]


@pytest.mark.parametrize("name", sorted(PANELS))
def test_moving_any_control_from_a_cached_state_matches_a_full_redraw(name):
    """The redraw rule holds for every control: the fast path never shows a stale background.

    In each of two sampled states, the fast path's drawing is first checked against a full redraw
    without blitting (this covers the stacking of animated artists over static ones). Then each control
    is moved from that state to other values, and the blitted picture must equal, pixel
    for pixel, the same setting drawn on a fresh background (which nothing can have left stale). The
    cache of backgrounds is kept from move to move, so a move may land on a background cached by an
    earlier one (a move that draws a new background is the reference itself and is not drawn twice).
    From the first state a control moves to the first and the last of its sampled values besides its
    own, from the second to the last only: the machinery itself counts a static change the background
    key misses (``unexpected_redraws``, asserted below), so this pixel check needs the far ends, not
    every sample.
    """
    panel = _built(name)
    for k, state in enumerate(T.sample_values(panel, max_combos=2, seed=2)):
        assert_same_picture(fresh_render(panel, **state), render_full_pixels(panel, **state), state)
        for control, w in panel.controls.items():
            for value in _at_most([v for v in T.control_samples(w) if v != state[control]], 2)[k:]:
                render_pixels(panel, **state)  # back to the starting state, from its cached background
                moved = {**state, control: value}
                fast = render_pixels(panel, **moved)
                if panel.drew_background:
                    continue  # drawn on a new background already: nothing cached that could be stale
                assert_same_picture(fast, fresh_render(panel, **moved), moved)
    assert panel.unexpected_redraws == 0, "update() changed a static artist that the background key does not capture"


@pytest.mark.parametrize("name", sorted(PANELS))
def test_no_dead_controls(name):
    """In every sampled state, each enabled control changes the picture (or the readout) when moved."""
    panel = _built(name)
    for state in T.sample_values(panel, max_combos=3, seed=5):
        for control, on in panel.enabled(state).items():
            if not on:
                continue
            seen = set()
            for value in T.control_samples(panel.controls[control]):
                seen.add((render_pixels(panel, **{**state, control: value}).tobytes(), panel.readout_text))
            assert len(seen) > 1, f"{control} does nothing in state {state}: disable it there (enabled_when)"


@pytest.mark.parametrize("name", sorted(PANELS))
def test_panel_controls_change_the_image(name):
    panel = _built(name)
    name0, values = T.sweep_values(panel, steps=5)
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


def _stale_demo(redraw_on=()):
    """A panel whose update changes a static (not animated) line: the mistake the redraw rule catches."""
    def setup(fig):
        ax = fig.subplots()
        static, = ax.plot([0, 1], [0, 0])
        moving, = ax.plot([0, 1], [0, 1], animated=True)
        ax.set_ylim(-1, 1)

        def update(k, level):
            if static.get_ydata()[0] != level:
                static.set_ydata([level, level])
            moving.set_ydata([0, k])
        return update
    return P.Panel({"k": P.float_slider("k", 0, 1, 0.5, 0.5), "level": P.dropdown("level", [-0.5, 0.5], -0.5)},
                   setup, redraw_on=redraw_on)


def test_a_static_change_outside_the_key_is_redrawn_and_counted():
    panel = _stale_demo()
    panel.render(level=-0.5)
    image = panel.render(level=0.5)  # same key, but the static line moved
    assert panel.unexpected_redraws == 1
    assert_same_picture(image, render_full(panel, level=0.5), "the static line moved")


def test_redraw_on_puts_a_control_into_the_background_key():
    panel = _stale_demo(redraw_on=("level",))
    panel.render(level=-0.5)
    panel.render(level=0.5)
    panel.render(k=1.0, level=-0.5)
    assert_matches_full_redraw(panel, level=0.5)
    assert panel.unexpected_redraws == 0  # the key changed with the level: no background was reused wrongly


def test_enabled_when_disables_a_control_that_has_no_effect():
    def setup(fig):
        ax = fig.subplots()
        line, = ax.plot([0, 1], [0, 1], animated=True)

        def update(mode, k):
            line.set_ydata([0, k if mode == "slope" else 1])
        return update
    panel = P.Panel({"mode": P.dropdown("mode", ["slope", "flat"], "slope"), "k": P.float_slider("k", 0, 1, 0.5, 0.5)},
                    setup, enabled_when={"k": lambda v: v["mode"] == "slope"})
    assert not panel.controls["k"].disabled
    panel.controls["mode"].value = "flat"
    assert panel.controls["k"].disabled and panel.enabled() == {"mode": True, "k": False}
    panel.controls["mode"].value = "slope"
    assert not panel.controls["k"].disabled


def test_panel_rejects_unknown_names_in_redraw_on_and_enabled_when():
    setup = lambda fig: (lambda k: None)  # noqa: E731
    with pytest.raises(ValueError, match="redraw_on"):
        P.Panel({"k": P.float_slider("k", 0, 1, 0.1, 0.5)}, setup, redraw_on=("speed",))
    with pytest.raises(ValueError, match="enabled_when"):
        P.Panel({"k": P.float_slider("k", 0, 1, 0.1, 0.5)}, setup, enabled_when={"speed": lambda v: True})


def test_sliders_may_update_on_release():
    assert P.float_slider("a", 0, 1, 0.1, 0.5).continuous_update
    assert not P.float_slider("a", 0, 1, 0.1, 0.5, continuous_update=False).continuous_update
    assert not P.int_slider("b", 0, 9, 3, continuous_update=False).continuous_update
    assert not P.log_slider("c", -2, 0, 0.1, continuous_update=False).continuous_update


def test_display_bundle_carries_the_widget_view_and_a_png_fallback():
    panel = _demo_panel()
    bundle = panel._mimebundle()
    view = bundle["application/vnd.jupyter.widget-view+json"]
    assert view["model_id"] == panel.widget.model_id
    expected = getattr(panel.widget, "_repr_mimebundle_", None)
    if expected is not None:  # ipywidgets 8 writes the same widget-view entry
        assert expected()["application/vnd.jupyter.widget-view+json"] == view
    # the fallback is the current picture under a one-line hint (a pale strip) that running the cell brings the controls
    saved, live = pixels(base64.b64decode(bundle["image/png"])), pixels(panel.png)
    strip = saved.shape[0] - live.shape[0]
    assert saved.shape[1] == live.shape[1] and 0.25 * panel.fig.dpi < strip < live.shape[0] / 2
    assert np.array_equal(saved[strip:], live)
    assert (np.abs(saved[: strip // 2, : live.shape[1] // 2] - [0xFF, 0xF8, 0xE1]).sum(axis=-1) < 8).mean() > 0.8  # the strip
    assert (np.abs(saved[:strip] - [0xFF, 0xF8, 0xE1]).sum(axis=-1) > 200).any()  # carries text
    assert "Run this cell" in P.base.SAVED_HINT


# ----------------------------------------------------------------------------- legibility (2x pictures, legends, layout)
def _moving_and_legend_artists(panel):
    """(the artists the fast path redraws, the legends with their pads): what a legend must never show."""
    overlays = set(panel._pads) | set(panel._pads.values()) | {panel._veil, panel._message}
    moving = [a for a in panel.fig.findobj(lambda a: a.get_animated()) if a not in overlays and a.get_visible()]
    return moving, panel._pads


def _full_rgba(panel) -> np.ndarray:
    """The figure's pixels from a full redraw (every artist drawn by z-order, no blitting)."""
    animated = panel.fig.findobj(lambda a: a.get_animated())
    for artist in animated:
        artist.set_animated(False)
    try:
        panel.fig.canvas.draw()
        return np.asarray(panel.fig.canvas.buffer_rgba())[..., :3].astype(int)
    finally:
        for artist in animated:
            artist.set_animated(True)
        panel._backgrounds.clear()


@pytest.mark.parametrize("name", sorted(PANELS))
def test_a_legend_looks_the_same_with_the_moving_artists_shown_and_hidden(name):
    panel = _built(name)
    panel.render()
    moving, pads = _moving_and_legend_artists(panel)
    shown = _full_rgba(panel)
    for artist in moving:
        artist.set_visible(False)
    try:
        hidden = _full_rgba(panel)
    finally:
        for artist in moving:
            artist.set_visible(True)
    height = shown.shape[0]
    for legend, pad in pads.items():
        if not legend.get_visible() or (legend.axes is not None and not legend.axes.get_visible()):
            continue
        box = pad.get_bbox()
        rows = slice(height - int(box.y1), height - int(box.y0))
        cols = slice(int(box.x0), int(box.x1))
        assert box.width > 0 and box.height > 0, f"{name}: a legend without a pad"
        assert np.array_equal(shown[rows, cols], hidden[rows, cols]), \
            f"{name}: something the fast path draws shows through the legend {[t.get_text() for t in legend.get_texts()]}"


@pytest.mark.parametrize("name", sorted(PANELS))
def test_pictures_are_drawn_at_twice_their_css_size_with_legible_text(name):
    panel = _built(name)
    picture = pixels(panel.png)
    assert panel.image.layout.width == f"{panel.css_width}px"
    assert abs(picture.shape[1] - P.PIXEL_RATIO * panel.css_width) <= 1, (picture.shape, panel.css_width)
    css_px_per_point = panel.fig.dpi / P.PIXEL_RATIO / 72
    texts = [t for ax in panel.fig.axes if ax.get_visible()
             for t in ax.get_xticklabels() + ax.get_yticklabels() if t.get_visible() and t.get_text()]
    texts += [t for legend in panel._pads if legend.get_visible() for t in legend.get_texts()]
    small = sorted({(round(t.get_fontsize() * css_px_per_point, 1), t.get_text()) for t in texts
                    if t.get_fontsize() * css_px_per_point < 10 - 1e-9})
    assert not small, f"{name}: tick or legend text under 10 CSS px: {small[:6]}"


@pytest.mark.parametrize("surface", ["quadratic", "rosenbrock", "saddle", "multi_minima", "plateau"])
@pytest.mark.parametrize("optimizers", ["default", "all"])
def test_the_races_legend_hides_no_loss_curve(surface, optimizers):
    """The race's loss legend sits where no curve is: no point of a curve shown, between two of its steps, falls
    inside the legend's box, on every surface, with the default optimizers and with all eight on."""
    panel = P.all_panels()["optimizer_race_panel"]()
    switches = {name: True for name in ("SGD", "Momentum", "Nesterov", "AdaGrad", "RMSProp", "Adam", "AdamW", "NAdam")}
    panel.render(surface=surface, **(switches if optimizers == "all" else {}))
    ax = next(a for a in panel.fig.axes if a.get_title() == "loss against step")
    box = ax.get_legend().get_window_extent(panel.fig.canvas.get_renderer())
    lines = [line for line in ax.get_lines() if line.get_visible() and line.get_label() in switches]
    assert len(lines) == (8 if optimizers == "all" else 4)
    for line in lines:
        x, y = (np.asarray(d, float) for d in line.get_data())
        xs = np.interp(np.linspace(0, len(x) - 1, 8 * len(x)), np.arange(len(x)), x)  # between the steps too
        ys = np.exp(np.interp(np.linspace(0, len(x) - 1, 8 * len(x)), np.arange(len(x)), np.log(y)))
        px = ax.transData.transform(np.column_stack([xs, ys]))
        inside = (px[:, 0] > box.x0) & (px[:, 0] < box.x1) & (px[:, 1] > box.y0) & (px[:, 1] < box.y1)
        assert not inside.any(), f"{surface}: the legend hides {line.get_label()} at step {xs[inside][0]:.0f}"


def test_groups_lay_controls_out_as_labelled_grids():
    def setup(fig):
        ax = fig.subplots()
        line, = ax.plot([0, 1], [0, 1], animated=True)
        return lambda a, b, c, d: line.set_ydata([a, b])
    controls = {n: P.float_slider(n, 0, 1, 0.1, 0.5) for n in "abc"} | {"d": P.checkbox("d")}
    panel = P.Panel(controls, setup, groups=[("first", [["a", "b"], ["c"]])])
    loose, group = panel.widget.children[0].children
    assert list(loose.children) == [controls["d"]]
    title, grid = group.children
    assert "first" in title.value and grid.layout.grid_template_columns == "repeat(2, max-content)"
    assert list(grid.children[:3]) == [controls["a"], controls["b"], controls["c"]] and len(grid.children) == 4
    with pytest.raises(ValueError, match="groups"):
        P.Panel(dict(controls), setup, groups=[("x", [["a", "zz"]])])
    with pytest.raises(ValueError, match="more than once"):
        P.Panel(dict(controls), setup, groups=[("x", [["a"]]), ("y", [["a"]])])


def test_shown_when_hides_a_control_of_another_mode():
    def setup(fig):
        ax = fig.subplots()
        line, = ax.plot([0, 1], [0, 1], animated=True)
        return lambda mode, k: line.set_ydata([0, k if mode == "k" else 1])
    panel = P.Panel({"mode": P.dropdown("mode", ["k", "flat"], "k"), "k": P.float_slider("k", 0, 1, 0.1, 0.5)},
                    setup, shown_when={"k": lambda v: v["mode"] == "k"}, groups=[("k's group", [["k"]])])
    group = panel.widget.children[0].children[1]
    assert panel.controls["k"].layout.display is None and group.layout.display is None
    panel.controls["mode"].value = "flat"
    assert panel.controls["k"].layout.display == "none" and panel.shown()["k"] is False
    assert group.layout.display == "none"  # a group with nothing shown is hidden too, title and all
    panel.controls["mode"].value = "k"
    assert panel.controls["k"].layout.display is None and group.layout.display is None


def test_a_play_slider_gets_a_linked_play_button():
    def setup(fig):
        ax = fig.subplots()
        line, = ax.plot([0, 1], [0, 1], animated=True)
        return lambda t: line.set_ydata([0, t])
    slider = P.play_slider("t", 0, 40, 5, step=2, interval=80)
    panel = P.Panel({"t": slider}, setup)
    cell = panel._cells["t"]
    play = cell.children[0]
    assert isinstance(play, P.base.widgets.Play) and cell.children[1] is slider
    assert (play.min, play.max, play.step, play.value, play.interval) == (0, 40, 2, 5, 80)
    [link] = panel.play_links
    assert link.source == (play, "value") and link.target == (slider, "value")
    slider.max = 20  # a range that follows another control takes the Play button along
    assert play.max == 20


def test_controls_are_wide_enough_for_their_labels_and_options():
    long = P.float_slider("learning rate η (SGD)", 0, 1, 0.1, 0.5)
    short = P.float_slider("k", 0, 1, 0.1, 0.5)
    label_px = lambda w: int(w.style.description_width.removesuffix("px"))  # noqa: E731
    width_px = lambda w: int(w.layout.width.removesuffix("px"))  # noqa: E731
    for slider in (long, short):  # the track keeps the same room whatever the label
        assert width_px(slider) - label_px(slider) == width_px(short) - label_px(short) >= 160
    assert label_px(long) >= 8 * len("learning rate η (SGD)")
    dd = P.dropdown("schedule", ["Warm-up + cosine (SequentialLR)", "x"])
    assert width_px(dd) - label_px(dd) >= 8 * len("Warm-up + cosine (SequentialLR)")


def test_a_reused_palette_never_shows_a_colour_it_lacks():
    """A frame reuses the last palette found on its background only if that fits: a line that turns from
    blue to purple (same background) is shown purple, not the nearest blue the old palette has."""
    def setup(fig):
        ax = fig.subplots()
        line, = ax.plot([0, 1], [0.5, 0.5], lw=6, animated=True)
        ax.set_ylim(0, 1)
        return lambda colour: line.set_color(colour)
    panel = P.Panel({"colour": P.dropdown("colour", ["#1f77b4", "#9467bd", "#2ca02c"], "#1f77b4")}, setup)
    for colour in ["#9467bd", "#2ca02c", "#1f77b4", "#9467bd"]:
        png = panel.render(colour=colour)
        exact = render_pixels(panel, colour=colour)
        assert np.abs(pixels(png) - exact).max() <= P.base._PALETTE_TOLERANCE, colour
        x, y = panel.fig.axes[0].transData.transform((0.5, 0.5))
        row, col = exact.shape[0] - int(y), int(x)
        middle = pixels(png)[row - 2: row + 2, col]
        target = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
        assert np.abs(middle - target).max() <= 8, (colour, middle[0])
    assert len(panel._palettes) == 1  # one background, its palette replaced when a colour did not fit


def test_a_float_slider_reads_out_as_many_decimals_as_its_step_has():
    assert P.float_slider("alpha", 0.5, 0.999, 0.001, 0.999).readout_format == ".3f"  # 0.999, not "1.00"
    assert P.float_slider("beta", 0.5, 0.99, 0.01, 0.9).readout_format == ".2f"
    assert P.float_slider("p", 0.0, 1.0, 0.5, 0.5).readout_format == ".2f"  # at least two


@pytest.mark.parametrize("deflate", ["isal", "zlib"])
def test_palette_png_decodes_to_its_indices_and_palette(deflate, monkeypatch):
    """The panel's own PNG writer, with ISA-L's deflate (when installed) and with zlib's (Colab)."""
    if deflate == "zlib":
        monkeypatch.setattr(P.base, "_isal", None)
    elif P.base._isal is None:
        pytest.skip("the optional isal package is not installed")
    rng = np.random.default_rng(0)
    indices = np.repeat(rng.integers(0, 7, size=(40, 9), dtype=np.uint8), 5, axis=1)  # runs, as in a picture
    palette = rng.integers(0, 256, size=(7, 3), dtype=np.uint8)
    decoded = Image.open(io.BytesIO(P.base.palette_png(indices, palette.tobytes())))
    assert decoded.mode == "P" and decoded.size == (45, 40)
    assert np.array_equal(np.asarray(decoded.convert("RGB")), palette[indices])
    with pytest.raises(ValueError, match="palette"):
        P.base.palette_png(indices, bytes(769))
    with pytest.raises(ValueError, match="uint8"):
        P.base.palette_png(indices.astype(np.int32), palette.tobytes())


def test_png_data_url_round_trips_and_rejects_other_bytes():
    png = P.base.palette_png(np.zeros((2, 3), dtype=np.uint8), bytes(3))
    url = P.base.png_data_url(png)
    assert url.startswith(b"data:image/png;base64,") and base64.b64decode(url[22:]) == png
    with pytest.raises(ValueError, match="PNG"):
        P.base.png_data_url(b"GIF89a")


def test_follow_sets_other_controls_before_one_redraw():
    """``follow`` keeps a slider's range valid for another control; its own changes start no redraw."""
    def setup(fig):
        ax = fig.subplots()
        line, = ax.plot([0, 1], [0, 1], animated=True)
        return lambda n, i: line.set_ydata([0, i / max(n, 1)])
    seen = []

    def follow(controls, changed):
        seen.append(changed)
        controls["i"].max = controls["n"].value
    panel = P.Panel({"n": P.int_slider("n", 1, 9, 9), "i": P.int_slider("i", 0, 9, 7)}, setup, follow=follow)
    assert seen == [None] and panel.controls["i"].max == 9
    renders = []
    panel.refresh = lambda: renders.append(panel.values())  # count the redraws a change causes
    panel.controls["n"].value = 3  # clamps i from 7 to 3 inside follow: one redraw, not two
    assert panel.controls["i"].max == 3 and panel.controls["i"].value == 3
    assert renders == [{"n": 3, "i": 3}] and seen == [None, "n"]


def _slider_reaches(w, value) -> bool:
    """Whether a slider can be moved to ``value`` (a position of its step grid), or any other control takes it."""
    if isinstance(w, P.base.widgets.FloatLogSlider):
        position = (np.log(value) / np.log(w.base) - w.min) / w.step
    elif isinstance(w, (P.base.widgets.FloatSlider, P.base.widgets.IntSlider)):
        position = (value - w.min) / w.step
    else:
        return True
    return abs(position - round(position)) < 1e-6 and w.min <= (value if not isinstance(
        w, P.base.widgets.FloatLogSlider) else np.log(value) / np.log(w.base)) <= w.max + 1e-12


def test_states_are_one_click_buttons_that_set_the_controls_with_one_redraw():
    def setup(fig):
        ax = fig.subplots()
        line, = ax.plot([0, 1], [0, 1], animated=True)
        return lambda n, i, mode: line.set_ydata([0, i / n if mode == "a" else 1])

    def follow(controls, changed):
        controls["i"].max = controls["n"].value
    controls = {"n": P.int_slider("n", 1, 9, 9), "i": P.int_slider("i", 0, 9, 7), "mode": P.dropdown("mode", ["a", "b"])}
    panel = P.Panel(controls, setup, follow=follow, states={"small n": {"n": 3, "i": 2}, "mode b": {"mode": "b"}})
    presets = panel.widget.children[0]
    labels = [w.description for w in presets.children[1:]]
    assert labels == ["small n", "mode b", "↺ 默认"] and "试试" in presets.children[0].value
    assert panel.state_values("small n") == {"n": 3, "i": 2, "mode": "a"}
    assert panel.values() == {"n": 9, "i": 7, "mode": "a"}  # asking for a state's values moves nothing
    renders = []
    panel.refresh = lambda: renders.append(panel.values())
    panel.state_buttons["small n"].click()
    assert renders == [{"n": 3, "i": 2, "mode": "a"}] and controls["i"].max == 3
    panel.state_buttons["mode b"].click()  # the controls a state does not name go back to their defaults
    assert renders[-1] == {"n": 9, "i": 7, "mode": "b"} and len(renders) == 2
    panel.apply_state(None)
    assert renders[-1] == {"n": 9, "i": 7, "mode": "a"}


def test_a_state_the_controls_cannot_take_is_rejected():
    def setup(fig):
        ax = fig.subplots()
        line, = ax.plot([0, 1], [0, 1], animated=True)
        return lambda n, mode: line.set_ydata([0, n])
    make = lambda states: P.Panel({"n": P.int_slider("n", 1, 9, 9), "mode": P.dropdown("mode", ["a", "b"])},  # noqa: E731
                                  setup, states=states)
    with pytest.raises(ValueError, match="must set some of the controls"):
        make({"x": {"speed": 3}})
    with pytest.raises(ValueError, match="mode"):
        make({"x": {"mode": "c"}})
    with pytest.raises(ValueError, match="cannot take"):
        make({"x": {"n": 12}})  # a slider clamps to its range: the state would not be what it says
    with pytest.raises(ValueError, match="unknown state"):
        make({}).apply_state("x")


@pytest.mark.parametrize("name", sorted(PANELS))
def test_every_named_state_is_reachable_and_drawn_as_a_full_redraw(name):
    """Each state a panel declares sets controls that can take it (a slider's own positions) and is drawn right."""
    panel = _built(name)
    if not panel.states:  # (which panels declare states is known only once they are built: not at collection)
        pytest.skip("declares no named states")
    assert any(name in names for names in STATED_PANELS.values()), \
        f"{name} declares states: list it in tests/support.py STATED_PANELS, so the site's browser test clicks them"
    for state, changes in panel.states.items():
        for control, value in changes.items():
            assert _slider_reaches(panel.controls[control], value), (state, control, value)
        panel.apply_state(state)
        assert {c: panel.values()[c] for c in changes} == changes
        assert panel.values() == panel.state_values(state)
        assert_same_picture(render_pixels(panel), render_full_pixels(panel), f"{name} in state {state!r}")
    panel.apply_state(None)
    assert panel.values() == panel.defaults


def test_state_values_sends_the_browser_nothing_but_the_values_it_has():
    """``state_values`` sets the controls and puts them back: the browser must not see the values in between (a
    slider there could send one back as a change of its own, and the panel would redraw a state nobody chose)."""
    panel = _built("optimizer_race_panel")
    before = panel.values()
    sent = []
    for name, w in panel.controls.items():
        original = w.send_state

        def record(key=None, _name=name, _w=w, _original=original):
            sent.append((_name, _w.value))
            return _original(key)
        w.send_state = record
    try:
        for state in panel.states:
            panel.state_values(state)
    finally:
        for w in panel.controls.values():
            del w.send_state
    assert panel.values() == before
    assert all(value == before[name] for name, value in sent), [s for s in sent if s[1] != before[s[0]]][:3]
