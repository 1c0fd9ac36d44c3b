"""The static web edition (tools/site/): grid choice, page structure, and every static panel in Chromium.

The build is done once for the module: one chapter (04) with a small frame cap, so the tests stay quick.

    pytest tests/test_site.py                 # structure (the browser test is marked ``browser``)
    pytest -m browser tests/test_site.py      # also moves every control in headless chromium
"""
from __future__ import annotations

import base64
import contextlib
import dataclasses
import functools
import html.parser
import http.server
import io
import json
import os
import pathlib
import re
import sys
import threading
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from helpers import panels as P

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))  # tools.site of this working tree
import browser_support as bs  # noqa: E402
import support  # noqa: E402
from tools.nb import parse_source  # noqa: E402
from tools.site import build as site, discover, grid, page as html_page, render, tex  # noqa: E402

CHAPTER = "04"
NOTEBOOK = next((ROOT / "notebooks").glob(f"{CHAPTER}_*.ipynb"))
MAX_FRAMES = 6  # small: two of the chapter's panels render some controls one at a time (solo)
GLOSSARY = "# 术语表\n\n| 术语 | English |\n|---|---|\n| 损失函数 | loss function |\n\n见 [第4章](04_losses.ipynb)。\n"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


# A state no chapter text suggests, added for the build of these tests only: at the small cap both of the
# controls it moves are solo, so the page needs a frame beyond its grid for it (and the browser test clicks it).
TEST_STATES = {"robust_regression_panel": {"两个 † 控件": {"outlier_size": 2.0, "delta": 5.0}}}


def _with_test_states(builders: dict) -> dict:
    """The panel builders, with :data:`TEST_STATES` added to the panels they make."""
    def wrap(name, make):
        @functools.wraps(make)  # the page titles a panel from its builder's docstring
        def build(*args, **kwargs):
            panel = make(*args, **kwargs)
            panel.states.update(TEST_STATES.get(name, {}))
            return panel
        return build
    return {name: wrap(name, make) for name, make in builders.items()}


def _panel_as_built(name: str, *args, **kwargs):
    """A fresh panel as the test build makes it (with its test states), drawing as the site draws."""
    panel = _with_test_states(P.all_panels())[name](*args, **kwargs)
    panel.reuse_palettes = False
    return panel


# ----------------------------------------------------------------------------- the build, once
@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    glossary = tmp_path_factory.mktemp("glossary") / "GLOSSARY.md"
    glossary.write_text(GLOSSARY, encoding="utf-8")
    builders = P.all_panels
    with pytest.MonkeyPatch.context() as mp:  # the build runs here (jobs=1) and looks the builders up each time
        mp.setattr(P, "all_panels", lambda: _with_test_states(builders()))
        report = site.build(out, only=[CHAPTER], max_frames=MAX_FRAMES, jobs=1, png_level=1, glossary=glossary,
                            log=lambda *a: None)
    return out, report


class _Panels(html.parser.HTMLParser):
    """Collects every ``div.static-panel``: its name, inputs, images and data."""

    def __init__(self) -> None:
        super().__init__()
        self.panels: list[dict] = []
        self.depth = 0  # nesting inside the current static panel (0: outside)
        self.in_data = False
        self.frames_json: str | None = None
        self.in_frames = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if self.depth:
            if tag not in ("input", "img", "option"):  # void elements and options do not nest here
                self.depth += 1
            p = self.panels[-1]
            if tag == "input":
                p["inputs"].append(a.get("type"))
            elif tag == "select":
                p["inputs"].append("select")
            elif tag == "img":
                p["imgs"].append(a.get("src", ""))
            elif tag == "script" and "sp-data" in a.get("class", ""):
                self.in_data = True
        elif tag == "div" and "static-panel" in (a.get("class") or "").split():
            self.depth = 1
            self.panels.append({"name": a.get("data-panel"), "inputs": [], "imgs": [], "data": ""})
        elif tag == "script" and a.get("id") == "sp-frames":
            self.in_frames, self.frames_json = True, ""

    def handle_endtag(self, tag):
        if self.depth and tag not in ("option",):
            self.depth -= 1
        self.in_data = self.in_frames = False

    def handle_data(self, data):
        if self.in_data:
            self.panels[-1]["data"] += data
        elif self.in_frames:
            self.frames_json += data


def _parse(page: pathlib.Path) -> _Panels:
    parser = _Panels()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def _notebook(path: pathlib.Path):
    import nbformat

    return nbformat.read(path, as_version=4)


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def _saved_panels(path: pathlib.Path) -> list[tuple[str, bytes]]:
    """(panel name, saved PNG) for each widget output of the notebook, found by a plain regex on its cell."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    found = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            if WIDGET_MIME in out.get("data", {}):
                src = "".join(cell["source"])
                name = re.findall(r"(\w+_panel)\(", src)[-1]
                found.append((name, base64.b64decode(out["data"]["image/png"])))
    return found


# ----------------------------------------------------------------------------- pieces
def test_spread_keeps_the_default_and_both_ends():
    assert grid.spread(11, 3, 4) == [0, 4, 10]
    assert grid.spread(11, 5, 4) == [0, 4, 5, 8, 10]  # 0, 3, 5, 8, 10 with the nearest inner one moved to 4
    for count in (2, 3, 7, 60):
        for default in {0, count // 3, count - 1}:
            for n in range(1, count + 2):
                picks = grid.spread(count, n, default)
                assert default in picks and picks == sorted(set(picks))
                assert len(picks) == min(n, count)
                if n >= 3:
                    assert picks[0] == 0 and picks[-1] == count - 1
    assert grid.spread(11, 2, 7) == [0, 7]  # the farther end
    assert grid.spread(11, 2, 2) == [2, 10]
    with pytest.raises(ValueError, match="default"):
        grid.spread(5, 3, 5)


def test_panel_calls_are_read_from_the_cell_source():
    names = {"loss_panel", "activation_panel"}
    src = "%matplotlib inline\nx = f(2)\nactp.activation_panel('tanh')"
    assert discover.panel_calls(src, names) == [discover.PanelCall("activation_panel", ("tanh",))]
    call, = discover.panel_calls("loss_panel(loss='Huber', )", names)
    assert call.kwargs == (("loss", "Huber"),) and str(call) == "loss_panel(loss='Huber')"
    bad, = discover.panel_calls("loss_panel(loss=name)", names)
    assert bad.problem and "loss_panel(loss=name)" in bad.problem
    assert discover.panel_calls("other_panel()\nprint(1)", names) == []
    assert [c.args for c in discover.panel_calls("loss_panel(1)\nloss_panel(2)", names)] == [(1,), (2,)]
    assert discover.panel_calls("def broken(:", names) == []


def _grid_panel():
    def setup(fig):
        ax = fig.subplots()
        line, = ax.plot([0, 1], [0, 1], animated=True)

        def update(a, mode, flip, n):
            line.set_ydata([0, a * n * (-1 if flip else 1)] if mode == "line" else [a, a])
        return update
    return P.Panel({"a": P.float_slider("a", 0.0, 1.0, 0.1, 0.3),
                    "mode": P.dropdown("mode", [("a line", "line"), ("flat", "flat")], "line"),
                    "flip": P.checkbox("flip", False),
                    "n": P.int_slider("n", 1, 4, 2)}, setup, enabled_when={"flip": lambda v: v["mode"] == "line"})


def test_grid_keeps_every_option_and_the_defaults_within_the_cap():
    panel = _grid_panel()
    axes = grid.choose_grid(panel, 40)
    by = {a.name: a for a in axes}
    assert [a.kind for a in axes] == ["range", "select", "checkbox", "range"]
    assert by["mode"].values == ["line", "flat"] and by["mode"].labels == ["a line", "flat"]
    assert by["flip"].values == [False, True]
    for a in axes:
        assert a.values[a.default] == panel.controls[a.name].value
    assert by["a"].values[0] == 0.0 and by["a"].values[-1] == 1.0 and 0.3 in by["a"].values
    table = grid.frame_table(panel, axes)
    distinct = {canon for canon, _ in table}
    assert len(distinct) <= 40
    assert len(table) == np.prod([len(a.values) for a in axes])
    # 'flip' has no effect on a flat line: those combinations share the frame of flip's default
    flat = [(canon, mask) for canon, mask in table if axes[1].values[canon[1]] == "flat"]
    assert flat and all(axes[2].values[canon[2]] is False and not mask & 0b100 for canon, mask in flat)
    # a bigger cap: more slider positions, never more than the slider has
    wide = {a.name: a for a in grid.choose_grid(panel, 10_000)}
    assert len(wide["a"].values) == 11 and wide["n"].values == [1, 2, 3, 4]


def test_a_small_cap_keeps_two_positions_per_slider_and_renders_controls_one_at_a_time():
    panel = _grid_panel()
    # the full grid at two positions per slider (2 x 2 x 2 x 2, less the flips of a flat line) is 12 frames:
    # with a cap of 10 the sliders go solo first, and that fits. 'mode' turns 'flip' on and off, so it is never solo.
    assert grid.mode_controls(panel) == {"mode"}
    assert grid.distinct_frames(panel, grid.choose_grid(panel, 12)) == 12
    assert grid.distinct_frames(panel, grid.choose_grid(panel, 12), stop=5) == 6  # counted only until past the cap
    axes = grid.choose_grid(panel, 10)
    assert [len(a.values) for a in axes] == [2, 2, 2, 2]
    assert [a.name for a in axes if a.solo] == ["a", "n"]
    table = grid.frame_table(panel, axes)
    assert len(table) == 2 * 2 * (1 + 1 + 1)  # mode x flip x (defaults, a moved, n moved)
    assert all(sum(p != a.default for p, a in zip(canon, axes) if a.solo) <= 1 for canon, _ in table)
    assert grid.distinct_frames(panel, axes) == 2 * 3 + 1 * 3  # a flat line: flip has no effect
    # a cap that nothing meets: two positions per slider still, every control but the mode solo
    tiny = grid.choose_grid(panel, 1)
    assert [len(a.values) for a in tiny] == [2, 2, 2, 2]
    assert [a.name for a in tiny if a.solo] == ["a", "flip", "n"]
    with pytest.raises(ValueError, match="max_frames"):
        grid.choose_grid(_grid_panel(), 0)


def _play_panel():
    """A Play slider (t, 0..300) beside a dropdown and four plain sliders: the grid of a typical race-like panel."""
    def setup(fig):
        ax = fig.subplots()
        line, = ax.plot([0, 1], [0, 1], animated=True)

        def update(t, mode, a, b, c, d):
            line.set_ydata([0, t * (a + b + c + d) * (1 if mode == "x" else -1)])
        return update
    return P.Panel({"t": P.play_slider("t", 0, 300, 300), "mode": P.dropdown("mode", ["x", "y"], "x"),
                    **{k: P.float_slider(k, 0.0, 1.0, 0.05, 0.5) for k in "abcd"}}, setup)


def test_a_play_slider_keeps_five_positions_even_at_the_smallest_cap():
    panel = _play_panel()
    for cap in (1, 12, 60):
        by = {a.name: a for a in grid.choose_grid(panel, cap)}
        assert by["t"].play == 100 and len(by["t"].values) >= grid.SWEPT_POSITIONS == 5, cap
        assert by["t"].values[0] == 0 and by["t"].values[-1] == 300 and 300 in by["t"].values
        assert all(by[k].play == 0 for k in "abcd")
    assert grid.swept_floor(3, True) == 3 and grid.swept_floor(41, True) == 5 and grid.swept_floor(41, False) == 2
    marked = _play_panel()
    P.swept(marked.controls["b"])  # a slider the text asks the learner to sweep keeps five positions too
    for cap in (1, 12):
        by = {a.name: a for a in grid.choose_grid(marked, cap)}
        assert len(by["b"].values) >= 5 and by["b"].play == 0, cap
        assert len(by["c"].values) < 5 or cap > 1, cap  # an unmarked one stays at two at the smallest cap


def test_solo_sliders_get_five_positions_before_any_slider_grows_further():
    """A solo slider's positions add frames (a free one's multiply): with a cap that makes the plain sliders
    solo, each of them reaches five positions before any slider gets a sixth."""
    panel = _play_panel()
    axes = grid.choose_grid(panel, 60)
    solo = [a for a in axes if a.solo]
    assert {a.name for a in solo} >= set("abcd")
    assert all(len(a.values) >= 5 for a in solo if a.kind == "range")
    assert grid.distinct_frames(panel, axes) <= 60
    for cap in (12, 20, 40):  # no slider gets a sixth position while a solo one has fewer than five
        sizes = [len(a.values) for a in grid.choose_grid(panel, cap) if a.kind == "range"]
        assert max(sizes) <= 5 or min(sizes) >= 5, (cap, sizes)
    assert [len(a.values) for a in grid.choose_grid(panel, 40) if a.solo] == [5, 5, 5, 5, 4]  # t, a, b, c, d


def _switches_panel(n: int, on: int):
    """``n`` switches that each turn a slider on (like the race's optimizer rows); the first ``on`` are ticked."""
    def setup(fig):
        ax = fig.subplots()
        line, = ax.plot(range(n), [0] * n, animated=True)
        return lambda **v: line.set_ydata([v[f"k{i}"] if v[f"on{i}"] else 0 for i in range(n)])
    controls = {}
    for i in range(n):
        controls[f"on{i}"] = P.checkbox(f"on {i}", i < on)
        controls[f"k{i}"] = P.float_slider(f"k {i}", 0, 1, 0.01, 0.5)
    return P.Panel(controls, setup, enabled_when={f"k{i}": (lambda v, i=i: v[f"on{i}"]) for i in range(n)})


def test_a_panel_whose_modes_alone_exceed_every_cap_goes_all_solo():
    """The race's optimizer switches turn their sliders on: kept free they make thousands of frames, so every
    control goes solo, and its enabled sliders still get five positions within a modest cap."""
    panel = _switches_panel(10, on=3)
    controls = panel.controls
    assert grid.distinct_frames(panel, grid._axes([(n, n, grid.control_candidates(w)) for n, w in controls.items()],
                                                  {2 * i + 1: 2 for i in range(10)}, {2 * i + 1 for i in range(10)})) \
        > grid.ALL_SOLO_ABOVE  # the switches free, the sliders solo: far over any cap
    axes = grid.choose_grid(panel, 40)
    assert all(a.solo for a in axes) and grid.distinct_frames(panel, axes) <= 40
    assert all(len(a.values) >= 5 for a in axes if a.name in ("k0", "k1", "k2"))  # on at the defaults


def test_solo_states_and_their_index_agree():
    sizes, defaults, solo = [3, 4, 2, 5], [1, 0, 1, 2], [False, True, False, True]
    states = grid.grid_states(sizes, defaults, solo)
    assert len(states) == 3 * 2 * (1 + 3 + 4) and len(set(states)) == len(states)
    # what the page reads: per control, what each position adds to the frame index (8 states per free combination)
    assert grid.index_steps(sizes, defaults, solo) == [[0, 16, 32], [0, 1, 2, 3], [0, 8], [4, 5, 0, 6, 7]]
    for k, state in enumerate(states):
        assert grid.state_index(sizes, defaults, solo, list(state)) == k
        assert sum(p != d for p, d, s in zip(state, defaults, solo) if s) <= 1
    assert states[0] == (0, 0, 0, 2) and states[1] == (0, 1, 0, 2)  # the solo controls one at a time
    full = grid.grid_states([2, 3], [0, 0], [False, False])
    assert full == [(i, j) for i in range(2) for j in range(3)]
    with pytest.raises(ValueError, match="one solo"):
        grid.state_index(sizes, defaults, solo, [0, 1, 0, 0])
    with pytest.raises(ValueError, match="one entry per control"):
        grid.grid_states([2], [0, 0], [False])


def test_display_listeners_see_every_panel_shown_with_its_values(capsys):
    """The public hook the site's build uses in a notebook's kernel to record the panels it shows."""
    panel, seen = _grid_panel(), []

    def listener(p):
        seen.append((p, p.values()))

    P.Panel.display_listeners.append(listener)
    try:
        panel.controls["a"].value = 0.7
        panel._ipython_display_()  # what IPython calls to show a panel
    finally:
        P.Panel.display_listeners.remove(listener)
    panel._ipython_display_()  # no longer listened to
    assert seen == [(panel, {"a": 0.7, "mode": "line", "flip": False, "n": 2})]
    assert "Interactive panel" in capsys.readouterr().out  # and the panel was still displayed, twice


def test_render_workers_get_one_thread_and_this_process_keeps_its_own(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    pool, results = render.start_rendering(["OMP_NUM_THREADS"] * 2, 2, work=os.getenv)
    try:
        assert list(results) == [str(render.WORKER_THREADS)] * 2 and render.WORKER_THREADS == 1
    finally:
        pool.close()
        pool.join()
    assert os.environ["OMP_NUM_THREADS"] == "3"


def test_page_budget_is_shared_out_by_need():
    # floors always kept; the rest in equal parts, none beyond its want
    assert grid.share_out([1, 1, 1], [2, 10, 10], 9) == [2, 3.5, 3.5]
    assert grid.share_out([5, 5], [6, 6], 3) == [5, 5]  # over budget already: the floors stay
    assert grid.share_out([0, 0], [1, 3], 10) == [1, 3]
    with pytest.raises(ValueError):
        grid.share_out([1], [1, 2], 3)


def test_frames_are_recompressed_without_changing_a_pixel():
    png = _grid_panel().render()
    smaller = render.recompress(png, 9)
    assert len(smaller) < len(png) and np.array_equal(_pixels(smaller), _pixels(png))
    assert render.recompress(png, 1) is png


def test_webp_frames_have_the_pixels_of_the_panels_own_picture():
    """The site stores lossless WebP: decoded, every pixel is the one ``Panel.render`` drew (its palette PNG)."""
    panel = _grid_panel()
    panel.reuse_palettes = False
    for values in ({}, {"a": 0.9, "mode": "flat"}, {"flip": True, "n": 4}):
        png = panel.render(**values)
        webp = render.encode_frame(png, 9, "webp")
        assert webp[:4] == b"RIFF" and webp[8:12] == b"WEBP"
        assert np.array_equal(_pixels(webp), _pixels(png)), values
        assert len(webp) < len(render.encode_frame(png, 9, "png"))
        assert html_page.frame_uri(base64.b64encode(webp).decode()).startswith("data:image/webp;base64,")
    assert render.encode_frame(png, 9, "png") == render.recompress(png, 9)
    assert html_page.frame_uri(base64.b64encode(png).decode()).startswith("data:image/png;base64,")
    with pytest.raises(ValueError, match="fmt"):
        render.encode_frame(png, 9, "gif")


def test_alt_text_names_the_panel_and_its_control_values():
    assert html_page.panel_title("ema_panel") == "EMA of a noisy series"  # the docstring's words, not the name
    assert html_page.panel_title("no_such_panel") == "no_such_panel"
    axes = [grid.Axis("k", "gain", "range", [0.1, 0.5], ["0.1", "0.5"], 1),
            grid.Axis("mode", "mode", "select", ["a", "b"], ["A", "B"], 0)]
    assert html_page.alt_text("T", axes, [1, 0]) == "T: gain = 0.5, mode = A"
    assert html_page.alt_text("T", axes, [0, 1], enabled=0b10) == "T: mode = B"  # a disabled control is left out


def _panes_panel():
    """Three plots side by side, the first with an inset (one pane with it), at 700 x 240 CSS px."""
    def setup(fig):
        left, middle, right = fig.subplots(1, 3)
        left.inset_axes([0.55, 0.55, 0.4, 0.4]).plot([0, 1])
        for ax in (left, middle, right):
            ax.plot([0, 1], [0, 1])
            ax.set_ylabel("value")

        def update(a):
            pass
        return update
    return P.Panel({"a": P.float_slider("a", 0.0, 1.0, 0.5, 0.5)}, setup, figsize=(8.75, 3.0))


def test_the_picture_is_laid_out_at_its_css_size_with_a_pane_per_plot():
    panel = _panes_panel()
    panel.render()
    layout = render.picture_layout(panel)
    assert layout["size"] == [700, 240] == [panel.css_width, panel.fig.bbox.height / bs.pixel_ratio()]
    starts = layout["panes"]
    assert len(starts) == 3 and starts[0] == 0  # the inset is part of the first pane
    renderer = panel.fig.canvas.get_renderer()
    scale = panel.css_width / panel.fig.bbox.width
    for start, ax in zip(starts[1:], panel.fig.axes[1:3]):  # each pane starts just left of its y label
        x0 = ax.get_tightbbox(renderer).x0 * scale
        assert x0 - 6 <= start <= x0 and start > ax.get_window_extent().x0 * scale - 80
    assert render.render_grid(panel, grid.choose_grid(panel, 2), 9)["panes"] == starts
    text = html_page.picture_html({"size": [700, 240], "panes": starts}, "alt", "data:x")
    assert 'width="700" height="240"' in text and "--sp-w:700px" in text
    assert text.count('class="sp-snap"') == 3 and f'left:{100 * starts[1] / 700:.2f}%' in text
    assert text.count('class="sp-snap sp-snap-end"') == 1  # and the right end, for a last pane narrower than a phone
    zoom = re.search(r'<div class="sp-zoombar" hidden><span class="sp-swipe">[^<]+</span>'
                     r'<button type="button" class="sp-zoom"[^>]*>([^<]*)</button></div>', text)
    assert zoom and zoom.group(1) == html_page.ZOOM_LABELS[0]  # shown by the page's script on a phone


def test_static_panel_html_carries_readouts_and_disabled_controls():
    axes = [grid.Axis("k", "k <gain>", "range", [0.1, 0.5, 1.0], ["0.1", "0.5", "1"], 1),
            grid.Axis("mode", "mode", "select", ["a", "b"], ["A", "B"], 0)]
    result = {"axes": [a.__dict__ for a in axes], "pngs": [b"p0", b"p1", b"p2"],
              "frames": [0, 0, 1, 1, 2, 2], "enabled": [3, 1, 3, 1, 3, 1],
              "readouts": ["", "gain <b>0.5</b>", "</script>"], "readout": [0, 0, 1, 1, 2, 2]}
    frames = ["AAA", "BBB", "CCC", "DDD"]
    text = html_page.static_panel_html("demo_panel", result, [1, 2, 3], frames)
    assert text.startswith('<div class="static-panel" data-panel="demo_panel">')
    assert 'src="data:image/png;base64,CCC"' in text  # k = 0.5 (position 1), mode a: combination 2 -> frame 1
    assert '<div class="sp-readout">gain <b>0.5</b></div>' in text
    assert "k &lt;gain&gt;" in text and 'value="1"' in text and "<output>0.5</output>" in text
    assert "0.1, 0.5, 1" in text  # the page says which values were pre-rendered
    data = json.loads(re.search(r'class="sp-data">(.*?)</script>', text).group(1))
    assert data["frames"] == [1, 1, 2, 2, 3, 3] and data["enabled"] == [3, 1, 3, 1, 3, 1]
    assert data["steps"] == [[0, 2, 4], [0, 1]] and "solo" not in data  # row-major: k moves by 2, mode by 1
    assert data["readouts"][2] == "</script>" and text.count("</script>") == 1  # escaped inside the JSON
    assert html_page.SOLO_NOTE not in text  # no solo control: nothing to explain
    solo = html_page.static_panel_html("demo_panel", {**result, "axes": [dict(a.__dict__, solo=True) for a in axes]},
                                       [1, 2, 3], frames)
    assert solo.index(html_page.SOLO_NOTE) < solo.index('<div class="sp-controls">')  # above the controls, readable by touch


def _modes_panel():
    """Two modes, each with its own slider in its own group; ``shown_when`` hides the other mode's slider."""
    def setup(fig):
        ax = fig.subplots()
        line, = ax.plot([0, 1], [0, 1], animated=True)
        ax.set_ylim(0, 1)
        return lambda mode, k, n: line.set_ydata([0, k if mode == "k" else 0.2 * n])
    return P.Panel({"mode": P.dropdown("mode", ["k", "n"], "k"), "k": P.float_slider("k", 0, 1, 0.5, 0.5),
                     "n": P.int_slider("n", 1, 3, 2)}, setup,
                    shown_when={"k": lambda v: v["mode"] == "k", "n": lambda v: v["mode"] == "n"},
                    groups=[("the k mode", [["k"]]), ("the n mode", [["n"]])])


def _many_controls_panel():
    """34 controls, so masks of the controls need more than 32 bits; the last slider is on only with c0 ticked."""
    names = [f"c{i}" for i in range(33)]

    def setup(fig):
        ax = fig.subplots()
        line, = ax.plot([0, 1], [0, 1], animated=True)
        ax.set_ylim(0, 40)
        return lambda k, **c: line.set_ydata([0, sum(map(bool, c.values())) + (k if c["c0"] else 0)])
    controls = {name: P.checkbox(name, False) for name in names} | {"k": P.int_slider("k", 0, 4, 0)}
    return P.Panel(controls, setup, enabled_when={"k": lambda v: v["c0"]})


def test_a_static_panel_keeps_the_notebooks_groups_and_hides_another_modes_controls():
    """The page lays the controls out in the panel's groups (titled grids) and, as the notebook does, hides a
    control ``shown_when`` hides; a hidden control has no effect, so the grid treats it as disabled."""
    panel = _modes_panel()
    axes = grid.choose_grid(panel, 40)
    result = render.render_grid(panel, axes, 1)
    assert result["groups"] == [("the k mode", [["k"]]), ("the n mode", [["n"]])]
    table = grid.frame_table(panel, axes)
    for (canon, live), shown in zip(table, result["shown"]):
        mode = axes[0].values[canon[0]]
        assert shown == live == (0b011 if mode == "k" else 0b101)  # the other mode's slider: hidden and not live
    assert result["rendered"] == len(axes[1].values) + len(axes[2].values)  # k's positions, then n's: no product
    text = html_page.static_panel_html("demo_panel", result, list(range(len(result["pngs"]))),
                                       [base64.b64encode(p).decode() for p in result["pngs"]])
    legends = re.findall(r'<fieldset class="sp-group"( hidden)?><legend>([^<]*)</legend>', text)
    assert legends == [("", "the k mode"), (" hidden", "the n mode")]  # the default mode is k
    assert text.index('data-i="0"') < text.index('data-i="1"') < text.index('data-i="2"')
    assert re.search(r'<label class="sp-control" hidden>(?:(?!</label>).)*data-i="2"', text)
    assert not re.search(r'<label class="sp-control" hidden>(?:(?!</label>).)*data-i="1"', text)


# ----------------------------------------------------------------------------- named states
def _stated_panel():
    """The grid panel with named states: one moves two controls that go solo under a small cap, one sets a
    slider value off its steps, one sets a control that its mode then disables."""
    panel = _grid_panel()
    panel.states.update({"two solo": {"a": 0.7, "n": 4}, "off the steps": {"a": 0.35}, "flat": {"mode": "flat", "flip": True}})
    panel.reuse_palettes = False
    return panel


def _render_with_states(panel, cap: int) -> tuple[list, dict]:
    axes = grid.choose_grid(panel, cap)
    return axes, render.render_states(panel, axes, render.render_grid(panel, axes, 1), 1)


def test_every_state_value_is_pre_rendered_and_each_state_has_its_own_exact_frame():
    modes = set()
    for cap in (1, 12, 20, 40):
        panel = _stated_panel()
        axes, result = _render_with_states(panel, cap)
        by = {a.name: a for a in axes}
        listed = {s["name"]: s for s in result["states"]}
        assert list(listed) == ["two solo", "off the steps", "flat", None]  # the defaults last: "↺ 默认"
        assert 0.7 in by["a"].values and 0.35 in by["a"].values and 4 in by["n"].values
        assert by["a"].values == sorted(by["a"].values) and by["a"].labels[by["a"].values.index(0.35)] == "0.35"
        assert by["a"].values[by["a"].default] == 0.3  # the default follows an inserted value
        n_grid = len(grid.grid_states([len(a.values) for a in axes], [a.default for a in axes], [a.solo for a in axes]))
        for name, state in listed.items():
            values = panel.state_values(name)
            assert state["values"] == values
            assert [by[c].values[p] for c, p in zip(by, state["positions"])] == [values[c] for c in by]
            assert state["index"] >= n_grid and len(result["frames"]) == n_grid + len(listed)
            fresh = _stated_panel()  # the panel's own render of the state, drawn from scratch
            png = result["pngs"][result["frames"][state["index"]]]
            assert np.array_equal(_pixels(png), _pixels(fresh.render(**values))), (cap, name)
            on = fresh.enabled(values)
            mask = result["enabled"][state["index"]] if result["enabled"] else (1 << len(axes)) - 1
            assert [bool(mask >> i & 1) for i in range(len(axes))] == [on[a.name] for a in axes]
        assert listed["flat"]["values"]["flip"] is True and not result["enabled"][listed["flat"]["index"]] & 0b100
        if cap == 1:  # the tightest cap: 'a' and 'n' are solo, the state moving both is no grid combination
            assert by["a"].solo and by["n"].solo
            two = listed["two solo"]["positions"]
            assert sum(p != a.default for p, a in zip(two, axes) if a.solo) == 2
            with pytest.raises(ValueError, match="one solo"):
                grid.state_index([len(a.values) for a in axes], [a.default for a in axes], [a.solo for a in axes], two)
        else:  # the states' own frames count against the cap (once it is above the smallest grid: states are never dropped)
            floor = grid.planned_frames(panel, 1)
            assert len(result["pngs"]) <= grid.planned_frames(panel, cap) <= max(cap, floor)
            assert cap < 40 or floor < cap
        # a tight cap: the states' values of 'a' do not fit in the grid; they are positions of the states only,
        # and the grid shows the nearest rendered value there (0.35 -> 0.3, 0.7 -> 1.0)
        state_only = by["a"].snap is not None
        if state_only:
            snapped = {by["a"].values[p]: by["a"].values[q] for p, q in enumerate(by["a"].snap) if p != q}
            assert snapped == {0.35: 0.3, 0.7: 1.0}
            rows = grid.grid_states([len(a.values) for a in axes], [a.default for a in axes], [a.solo for a in axes])
            stand_in = {p: q for p, q in enumerate(by["a"].snap)}
            for k, row in enumerate(rows):
                if stand_in[row[0]] != row[0]:
                    twin = rows.index((stand_in[row[0]],) + row[1:])
                    assert result["frames"][k] == result["frames"][twin] and result["readout"][k] == result["readout"][twin]
        # what the plan counts for the states: the frames they add ('flat': 'flip' off its default while disabled;
        # 'two solo' while 'a' and 'n' are both solo, or 'a' is a state's value only; 'off the steps' then too)
        added = grid.state_frames(panel, axes, grid.panel_states(panel))
        assert added == 1 + (state_only or by["a"].solo and by["n"].solo) + state_only
        assert result["state_frames"] <= added  # a picture the grid has is stored once
        assert result["state_frames"] == len(result["pngs"]) - len(render.render_grid(panel, axes, 1)["pngs"])
        modes.add((state_only, by["a"].solo and by["n"].solo))
    assert modes == {(True, True), (False, True), (False, False)}


def test_a_panel_without_states_is_planned_as_before():
    panel = _grid_panel()
    assert grid.panel_states(panel) == [] and grid.state_frames(panel, grid.choose_grid(panel, 12), []) == 0
    axes = grid.choose_grid(panel, 12)
    result = render.render_grid(panel, axes, 1)
    assert render.render_states(panel, axes, result, 1) is result


def test_state_values_close_to_a_step_are_rendered_exactly():
    """0.1 * 3 is 0.30000000000000004: a state's 0.3 takes that step's place, so the page renders 0.3 itself."""
    panel = _grid_panel()
    panel.states["x"] = {"a": 0.30000000000000004 * 2}  # 0.6000000000000001, the slider's step is 0.6
    specs = [(n, n, grid.control_candidates(w)) for n, w in panel.controls.items()]
    specs2, required = grid.with_state_candidates(panel, specs)
    values = specs2[0][2][1]
    assert len(values) == len(specs[0][2][1]) and 0.6000000000000001 in values and 0.6 not in values
    assert required[0] == {values.index(0.6000000000000001), specs[0][2][3]}


def test_the_page_offers_the_states_as_presets_labelled_as_in_the_notebook():
    axes = [grid.Axis("k", "k", "range", [0.1, 0.5, 1.0], ["0.1", "0.5", "1"], 1)]
    states = [{"name": "大 <k>", "values": {"k": 1.0}, "positions": [2], "index": 3},
              {"name": None, "values": {"k": 0.5}, "positions": [1], "index": 4}]
    result = {"axes": [a.__dict__ for a in axes], "pngs": [b"p0", b"p1", b"p2"], "frames": [0, 1, 2, 2, 1],
              "enabled": None, "readouts": None, "readout": [0] * 5, "states": states}
    text = html_page.static_panel_html("demo_panel", result, [0, 1, 2], ["A", "B", "C"])
    presets = re.search(r'<div class="sp-presets">(.*?)</div>', text).group(1)
    assert re.sub(r"<[^>]+>", "|", presets).strip("|").split("||") == ["试试：", "大 &lt;k&gt;", "↺ 默认"]
    assert text.index("sp-presets") < text.index("sp-controls")  # above the controls
    data = json.loads(re.search(r'class="sp-data">(.*?)</script>', text).group(1))
    assert data["states"] == [{"positions": [2], "index": 3}, {"positions": [1], "index": 4}]
    assert 'data-state="0"' in presets and presets.index('data-state="0"') < presets.index('data-state="1"')
    assert "sp-presets" not in html_page.static_panel_html("demo_panel", {**result, "states": []}, [0, 1, 2], ["A", "B", "C"])


def test_states_are_collected_for_panels_rendered_in_the_notebooks_kernel(tmp_path, capsys):
    """In a kernel, the panels the notebook shows are rendered where they are (``render_shown``): with their
    states, whose values come from the panel itself (its defaults, not the values it was shown with)."""
    render.SHOWN.clear()
    render.record_displays()
    try:
        panel = _stated_panel()
        panel.controls["n"].value = 3  # the notebook shows the panel after moving a control
        panel._ipython_display_()
        job = render.PageJob(page="x", path="x.ipynb", panels=[{"key": "k0"}], kernel=True, last_cell=0,
                             max_frames=40, png_level=1, panel_bytes=1e9, page_bytes=1e9)
        out = tmp_path / "results.pickle"
        render.render_shown(json.dumps(dataclasses.asdict(job)), str(out))
    finally:
        P.Panel.display_listeners.remove(render._record)
        render.SHOWN.clear()
    import pickle

    result, = pickle.loads(out.read_bytes())
    axes = [grid.Axis(**a) for a in result["axes"]]
    listed = {s["name"]: s for s in result["states"]}
    assert [a.values[a.default] for a in axes] == [0.3, "line", False, 3]  # opens as shown
    assert listed[None]["values"] == {"a": 0.3, "mode": "line", "flip": False, "n": 2}  # "↺ 默认": the defaults
    for name, state in listed.items():
        png = result["pngs"][result["frames"][state["index"]]]
        assert np.array_equal(_pixels(png), _pixels(_stated_panel().render(**state["values"]))), name


def test_markdown_pages_export_the_same_bytes_every_time():
    """The index and glossary pages are notebooks made on the fly; their cell ids must not be random."""
    exp = html_page.exporter()
    pages = [html_page.export(exp, html_page.markdown_notebook("t", ["# a", "b $x^2$"]), "index", "<nav></nav>")
             for _ in range(2)]
    assert pages[0] == pages[1] and 'id="cell-id=site-1"' in pages[0]


def test_index_keeps_the_readme_chapter_tables():
    readme = "# X\n\n## Chapters\n\n| notebook | topic |\n|---|---|\n| `01_a.ipynb` | one |\n| `02_b.ipynb` | two |\n" \
             "\n## Other\n\ntext\n\n### 各章内容\n\n| 笔记本 |\n|---|\n| `02_b.ipynb` |\n"
    cells = html_page.index_markdown(readme, [("02_b", "第2章")], glossary=False)
    text = "\n".join(cells)
    assert "[02_b](02_b.html)" in text and "`01_a`" in text and "(01_a.html)" not in text
    assert "## Other" not in text and "### 各章内容" in text
    assert html_page.rewrite_notebook_links('<a href="../notebooks/02_b.ipynb#x">', {"02_b"}) == '<a href="02_b.html#x">'
    assert html_page.rewrite_notebook_links('<a href="01_a.ipynb">', {"02_b"}) == '<a href="01_a.ipynb">'


# ----------------------------------------------------------------------------- formulas and what leaves the site
def _math(tex_source: str, display: bool = False) -> ET.Element:
    """A formula converted for the site, parsed (MathML namespace stripped from the tags)."""
    root = ET.fromstring(tex.tex_to_mathml(tex_source, display))
    for el in root.iter():
        el.tag = el.tag.split("}")[-1]
    return root


def _text(el: ET.Element, tag: str) -> list[str]:
    return [e.text for e in el.iter(tag)]


def _dollar_formulas(markdown: str) -> int:
    """How many ``$…$`` and ``$$…$$`` formulas a Markdown text holds, by a plain regex (code spans left out)."""
    return len(re.findall(r"\$\$.+?\$\$|\$[^$\n]+?\$", re.sub(r"`[^`\n]*`", "", markdown), re.S))


def test_formulas_become_mathml_core():
    block = _math(r"\mathcal{L} = -\frac{1}{N}\sum_{n=1}^{N}\log p_{n,\,y_n}", display=True)
    assert block.tag == "math" and block.get("display") == "block"
    assert [e.tag for e in block.iter("munderover")] and _text(block, "mi")[0] == "ℒ"  # the limits below and above
    assert block.find(".//mo[@form='prefix']").text == "−"  # = -\frac: a sign, no space after it
    row = list(block.find("mrow"))
    log = next(k for k, e in enumerate(row) if e.text == "log")
    assert row[log].tag == "mi" and row[log + 1].tag == "mspace"  # \log p: a thin space, as in TeX
    inline = _math(r"\sum_{n=1}^{N} x_n")
    assert inline.get("display") == "inline" and [e.tag for e in inline.iter("msubsup")]  # limits at the side
    assert _math(r"m = \max_k z_k", display=True).find(".//munder/mi").text == "max"
    assert [e.tag for e in _math(r"\max(a, b)").iter("mspace")] == []  # no space before a bracket
    assert _text(_math(r"(\text{层数}, \text{in\_features})"), "mtext") == ["层数", "in_features"]
    assert _text(_math(r"z \sim \mathcal N(0, \sigma^2)"), "mo")[0] == "∼"  # a relation; \mathcal without braces
    assert "𝒩" in _text(_math(r"z \sim \mathcal N(0, \sigma^2)"), "mi")
    assert _math(r"\big\lVert W \big\rVert").find(".//mo").text == "‖"
    hat = _math(r"\hat y").find(".//mover")
    assert hat.get("accent") == "true" and hat[1].text == "ˆ"
    assert _math(r"\tilde{w}").find(".//mover").get("accent") == "true"
    assert _text(_math(r"\mathrm{ReLU}(z) + \mathrm{diag}(x)"), "mi")[:1] == ["ReLU"]
    arrow = _math(r"x \xrightarrow{\ \text{线性变换}\ } z").find(".//mover")
    assert arrow[0].tag == "mo" and arrow[0].text == "⟶" and "线性变换" in _text(arrow, "mtext")
    cases = _math(r"n_k = \begin{cases} a_k, & a_k = b_k \\ \text{无法广播}, & \text{其他情况} \end{cases}", True)
    assert len(list(cases.iter("mtr"))) == 2 and len(list(cases.iter("mtd"))) == 4
    assert _math(r"a\!b").find(".//mspace").get("width") == "-0.167em"  # MathML Core has no named spaces
    row = list(_math(r"\sum_i p_i \log p_i").find("mrow"))
    assert [e.tag for e in row] == ["msub", "msub", "mspace", "mi", "mspace", "msub"]  # \sum_i p_i, log, p_i
    bars = _math(r"e^{-|z|}").findall(".//mo")
    assert bars[0].get("form") == "prefix" and [b.get("rspace") for b in bars[1:]] == ["0", "0"]
    assert _math(r"(0,\ +\sqrt{x})").find(".//mo[.='+']").get("form") == "prefix"  # a sign after ", "
    double = _math(r"\ell_\delta''(e)").find(".//msubsup")
    assert [e.text for e in double] == ["ℓ", "δ", "″"]  # one superscript, not a prime on a primed letter
    slash = _math(r"1 / (1-\beta)").find(".//mo")
    assert slash.text == "/" and slash.get("lspace") == slash.get("rspace") == "0"
    with pytest.raises(ValueError, match="still holds TeX"):
        tex.tex_to_mathml(r"\Var(x)")  # a command the converter does not know
    with pytest.raises(ValueError, match="mathvariant"):
        tex.tex_to_mathml(r"\boldsymbol{x}")  # MathML Core would show it as a plain x


def test_every_formula_of_every_notebook_is_typeset():
    """Every formula the notebooks' Markdown holds (found by the parser the pages use) converts to MathML."""
    sources = sorted((ROOT / "notebooks" / "src").glob("*.py"))
    markdown = [text for src in sources for kind, text in parse_source(src.read_text(encoding="utf-8"))
                if kind == "markdown"]
    markdown.append((ROOT / "GLOSSARY.md").read_text(encoding="utf-8"))
    formulas = [f for text in markdown for f in tex.markdown_formulas(text)]
    assert len(sources) >= 10 and len(formulas) == sum(_dollar_formulas(text) for text in markdown) > 0
    assert any(display for _, display in formulas) and not all(display for _, display in formulas)
    failed = []
    for source, display in set(formulas):
        try:
            root = ET.fromstring(tex.tex_to_mathml(source, display))
        except ValueError as exc:
            failed.append(str(exc))
            continue
        assert root.get("display") == ("block" if display else "inline")
    assert not failed, f"{len(failed)} of {len(set(formulas))} formulas cannot be typeset:\n" + "\n".join(failed)
    print(f"{len(formulas)} formulas ({len(set(formulas))} distinct) typeset")


def test_markdown_keeps_its_hands_off_the_math():
    r"""Underscores and stars in a formula are TeX, not emphasis; the formula becomes MathML, the text stays Markdown.
    (In a Markdown source the LaTeX delimiters are written ``\\(…\\)``: ``\(`` is Markdown's escaped bracket.)"""
    exp = html_page.exporter()
    page = html_page.export(exp, html_page.markdown_notebook("t", [
        r"*a* and $x_1 * y_2 * z_3$, then $$\frac{a_1}{b_2}$$ and \\(c_1\\) and _b_"]), "index", "<nav></nav>")
    cell = page[page.index("site-0"):]
    assert cell.count("<em>") == 2 and "<em>a</em>" in cell and "<em>b</em>" in cell
    assert cell.count("<math ") == 3 and '<span class="math-display"><math' in cell
    assert "$" not in re.sub(r"<math.*?</math>", "", cell, flags=re.S).split("</main>")[0]
    heading = html_page.export(exp, html_page.markdown_notebook("t", ["## 为什么是 $\\gamma$、$\\beta$\n\n即 $y$，然后 $z$ 和"]),
                               "index", "<nav></nav>")
    kept = re.findall(r'<span class="math-nobr"><math display="inline">.*?</math>(.*?)</span>', heading)
    assert kept == ["、", "，"]  # a line never starts with the punctuation after a formula (heading and text)
    assert "<h2 id=" in heading and "xmlns" not in heading.split("site-0", 1)[1].split("</main>")[0]


def test_the_colab_badge_becomes_a_text_link_and_the_setup_cell_is_left_out():
    import nbformat

    from tools import nb as notebooks

    title = f"# 第9章 试验\n\n{notebooks.badge('09_trial.ipynb')}\n\n正文"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(title),
                                         nbformat.v4.new_code_cell(notebooks.setup_cell_source("https://x.org/a/b")),
                                         nbformat.v4.new_code_cell("import helpers  # not the setup cell")])
    shown = html_page.for_the_site(nb)
    assert [c.source for c in shown.cells[1:]] == ["import helpers  # not the setup cell"]
    link = re.search(r"\[([^\]]*)\]\((https://colab\.research\.google\.com/github/[^)]*09_trial\.ipynb)\)",
                     shown.cells[0].source)
    assert link and link.group(1) == html_page.COLAB_LINK_TEXT and notebooks.BADGE_IMG not in shown.cells[0].source
    assert len(nb.cells) == 3 and notebooks.BADGE_IMG in nb.cells[0].source  # the notebook itself is unchanged


def test_the_math_font_covers_the_formulas_of_its_page():
    from fontTools.ttLib import TTFont

    page = "<html><head></head><body>" + tex.math_html(r"\sqrt{\sum_i \hat x_i^2} \le \infty", True) + "</body></html>"
    embedded = tex.with_math_font(page)
    woff = re.search(r'src: url\(data:font/woff;base64,([A-Za-z0-9+/=]+)\) format\("woff"\)', embedded)
    font = TTFont(io.BytesIO(base64.b64decode(woff.group(1))))
    cmap = font.getBestCmap()
    for char in "∑√ˆ≤∞i" + "\U0001D465\U0001D456":  # the italic x and i a browser shows for <mi>x</mi>, <mi>i</mi>
        assert ord(char) in cmap, char
    assert "MATH" in font and ord("a") not in cmap and len(woff.group(1)) < 60_000  # cut down to the page
    assert tex.with_math_font("<html><head></head><body>x</body></html>") == "<html><head></head><body>x</body></html>"
    assert tex.with_math_font(page) == embedded  # the same bytes at every build


# ----------------------------------------------------------------------------- the built chapter
def test_the_site_has_the_chapter_the_index_and_the_glossary(built):
    out, report = built
    assert sorted(p.name for p in out.glob("*.html")) == sorted([f"{NOTEBOOK.stem}.html", "index.html", "glossary.html"])
    page = (out / f"{NOTEBOOK.stem}.html").read_text(encoding="utf-8")
    assert '<meta charset="utf-8"/>' in page and '<html lang="zh-CN">' in page
    assert "<title>第4章 损失函数" in page and "交叉熵" in page  # the Chinese text
    assert "<mfrac>" in page and "mathjax" not in page.lower()  # the formulas, typeset when the page was built
    assert "require.js" not in page and WIDGET_MIME not in page
    assert "Interactive panel: run this cell" not in page  # the frozen fallback is replaced
    assert 'href="index.html"' in page and 'href="glossary.html"' in page
    index = (out / "index.html").read_text(encoding="utf-8")
    assert f'href="{NOTEBOOK.stem}.html"' in index and "01_tensors.html" not in index  # only built pages linked
    assert "损失函数" in index and 'href="glossary.html"' in index
    glossary = (out / "glossary.html").read_text(encoding="utf-8")
    assert "loss function" in glossary and 'href="04_losses.html"' in glossary
    assert json.loads((out / site.REPORT_NAME).read_text(encoding="utf-8"))["pages"][0]["page"] == f"{NOTEBOOK.stem}.html"
    assert report["site_bytes"] > 0


class _Loaded(html.parser.HTMLParser):
    """What a page loads by itself (scripts, styles, images, frames, media) and the text of its Markdown cells."""
    LOADING = {"script": ("src",), "link": ("href",), "img": ("src", "srcset"), "iframe": ("src",),
               "source": ("src", "srcset"), "video": ("src", "poster"), "audio": ("src",), "embed": ("src",),
               "object": ("data",), "track": ("src",), "input": ("src",), "image": ("href", "xlink:href"),
               "use": ("href", "xlink:href")}
    VOID = {"img", "input", "link", "source", "track", "embed", "br", "hr", "meta", "wbr", "area", "col", "base"}

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.styles: list[str] = []
        self.markdown: list[str] = []  # text of Markdown cells outside formulas and code
        self.stack: list[tuple[str, bool, bool]] = []  # (tag, in a Markdown cell, in math or code)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for name in self.LOADING.get(tag, ()):
            if a.get(name):
                self.urls += [part.split()[0] for part in a[name].split(",")] if name == "srcset" else [a[name]]
        if a.get("style"):
            self.styles.append(a["style"])
        if tag in self.VOID:
            return
        md, hidden = self.stack[-1][1:] if self.stack else (False, False)
        md = md or "jp-MarkdownCell" in (a.get("class") or "").split()
        hidden = hidden or tag in ("math", "code", "pre", "script", "style")
        self.stack.append((tag, md, hidden))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID and self.stack and self.stack[-1][0] == tag:
            self.stack.pop()

    def handle_endtag(self, tag):
        for k in range(len(self.stack) - 1, -1, -1):
            if self.stack[k][0] == tag:
                del self.stack[k:]
                break

    def handle_data(self, data):
        if self.stack and self.stack[-1][0] == "style":
            self.styles.append(data)
        elif self.stack and self.stack[-1][1] and not self.stack[-1][2]:
            self.markdown.append(data)


def _loaded(page: pathlib.Path) -> _Loaded:
    parser = _Loaded()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def test_no_page_loads_anything_from_outside_the_site(built):
    """Scripts, styles, images, frames, fonts: all in the page or the site (links in the text may point anywhere)."""
    out, _ = built
    pages = sorted(out.glob("*.html"))
    assert len(pages) == 3
    for page in pages:
        loaded = _loaded(page)
        outside = [u for u in loaded.urls if re.match(r"^(?:[a-z][a-z0-9+.-]*:|//)", u.strip(), re.I)
                   and not u.strip().startswith("data:")]
        assert not outside, f"{page.name} loads {outside}"
        css_urls = [u.strip("'\" ") for css in loaded.styles for u in re.findall(r"url\(([^)]*)\)", css)]
        assert css_urls and all(u.startswith("data:") for u in css_urls), (page.name, [u[:40] for u in css_urls])
        assert not any("@import" in css for css in loaded.styles), page.name
        text = page.read_text(encoding="utf-8")
        assert "cdnjs" not in text and "mathjax" not in text.lower() and "colab-badge" not in text, page.name


def test_the_formulas_are_typeset_and_no_tex_is_left_in_the_text(built):
    out, _ = built
    page = out / f"{NOTEBOOK.stem}.html"
    text = page.read_text(encoding="utf-8")
    formulas = sum(_dollar_formulas(c.source) for c in _notebook(NOTEBOOK).cells if c.cell_type == "markdown")
    assert formulas > 0 and text.count("<math ") == formulas  # every formula of the chapter, once
    assert len(re.findall(r'<math [^>]*display="block"', text)) > 5
    markdown = "".join(_loaded(page).markdown)
    assert "损失函数" in markdown and "交叉熵" in markdown
    left = re.findall(r"\$[^$]+\$|\\(?:frac|sum|mathcal|text|hat|sqrt|partial|left|right)\b|\\[()\[\]]", markdown)
    assert not left, f"TeX left in the text of Markdown cells: {left[:5]}"
    assert '<style id="math-font">@font-face { font-family: "Course Math"' in text


def test_the_page_links_to_colab_in_text_and_leaves_the_setup_cell_out(built):
    out, _ = built
    text = (out / f"{NOTEBOOK.stem}.html").read_text(encoding="utf-8")
    assert re.search(r'<a href="https://colab\.research\.google\.com/github/[^"]*/notebooks/04_losses\.ipynb">'
                     + re.escape(html_page.COLAB_LINK_TEXT) + "</a>", text)
    assert "colab-badge" not in text and "google.colab" not in text and "准备环境" not in text
    nb = _notebook(NOTEBOOK)
    assert html_page.is_colab_setup(nb.cells[1])  # the executed notebook has it; its page does not
    code_cells = re.findall(r'<div class="jp-Cell jp-CodeCell', text)
    assert len(code_cells) == sum(c.cell_type == "code" for c in nb.cells) - 1


def test_every_panel_of_the_chapter_is_a_static_panel(built):
    out, report = built
    parsed = _parse(out / f"{NOTEBOOK.stem}.html")
    saved = _saved_panels(NOTEBOOK)
    assert [p["name"] for p in parsed.panels] == [name for name, _ in saved]
    frames = json.loads(parsed.frames_json)
    controls_of = functools.lru_cache(maxsize=None)(lambda name: P.all_panels()[name]().controls)
    for p, (name, _) in zip(parsed.panels, saved):
        data = json.loads(p["data"])
        assert len(p["imgs"]) == 1 and p["imgs"][0].startswith("data:image/webp;base64,")  # the default format
        controls = controls_of(name)
        assert len(p["inputs"]) == len(controls) == len(_sizes(data))
        for kind, w in zip(p["inputs"], controls.values()):
            expected = "checkbox" if isinstance(w, P.base.widgets.Checkbox) else \
                "range" if isinstance(w, (P.base.widgets.FloatSlider, P.base.widgets.IntSlider,
                                          P.base.widgets.FloatLogSlider)) else "select"
            assert kind == expected, f"{name}: {kind} for {type(w).__name__}"
        assert len(data["frames"]) == len(_states(data)) + len(data.get("states", []))  # a state's own entry after the grid's
        assert len(set(data["frames"])) >= 2, f"{name} has fewer than 2 frames"
        assert len(set(data["frames"])) <= max(MAX_FRAMES, 2 ** len(_sizes(data)) * 6)
    for b64 in frames:
        assert Image.open(io.BytesIO(base64.b64decode(b64))).size[0] > 100
    assert [len(p["panels"]) for p in report["pages"] if p["page"] == f"{NOTEBOOK.stem}.html"] == [len(saved)]


def test_the_default_frame_is_the_notebooks_own_picture(built):
    """The static panel opens on the picture the executed notebook saved for that panel (same code, same values)."""
    out, _ = built
    parsed = _parse(out / f"{NOTEBOOK.stem}.html")
    for p, (name, saved) in zip(parsed.panels, _saved_panels(NOTEBOOK)):
        shown = base64.b64decode(p["imgs"][0].split(",", 1)[1])
        a, b = _pixels(shown), _pixels(saved)
        strip = b.shape[0] - a.shape[0]  # the saved picture carries the "run this cell" hint on top
        assert a.shape[1] == b.shape[1] and 0 < strip < a.shape[0] // 2, (name, a.shape, b.shape)
        b = b[strip:]
        assert np.mean(np.abs(a - b).sum(-1) > 30) < 0.002, name


def _expected_states(entry: dict) -> list[tuple[str | None, list[int], list[str], np.ndarray]]:
    """For a panel of the built page (its report entry): each state's name, the positions and labels its controls
    should show, and the picture, from a fresh panel (its grid re-planned at the cap the build used)."""
    call = discover.panel_calls(entry["call"], {entry["name"]})[0]
    panel = _panel_as_built(entry["name"], *call.args, **dict(call.kwargs))
    axes = grid.choose_grid(panel, entry["cap"])
    assert {a.name: a.labels for a in axes} == entry["grid"]
    found = []
    for name, values in grid.panel_states(panel):
        positions = list(grid.state_positions(axes, values))
        found.append((name, positions, [a.labels[p] for a, p in zip(axes, positions)], _pixels(panel.render(**values))))
    return found


def test_every_state_of_the_built_page_shows_its_own_render(built):
    """The page's entry of each named state is the panel's own render of that state (drawn again here)."""
    out, report = built
    parsed = _parse(out / f"{NOTEBOOK.stem}.html")
    frames = json.loads(parsed.frames_json)
    entries = next(p for p in report["pages"] if p["page"] == f"{NOTEBOOK.stem}.html")["panels"]
    checked, two_solo = 0, 0
    for p, entry in zip(parsed.panels, entries):
        data = json.loads(p["data"])
        expected = _expected_states(entry)
        assert len(data.get("states", [])) == len(expected), entry["call"]
        assert entry["states"] == [name for name, *_ in expected if name is not None]
        for state, (name, positions, _, pixels) in zip(data.get("states", []), expected):
            assert state["positions"] == positions, (entry["call"], name)
            shown = base64.b64decode(frames[data["frames"][state["index"]]])
            assert np.array_equal(_pixels(shown), pixels), (entry["call"], name)
            solo = data.get("solo", [0] * len(positions))
            two_solo += sum(s and q != d for s, q, d in zip(solo, positions, data.get("defaults", positions))) >= 2
            checked += 1
    assert checked >= 4 and two_solo >= 1  # 04's own states, the defaults, and the test's two-solo state
    # at the small cap the test state's outlier size (2.0) does not fit in the grid: a position of the states only
    robust = json.loads(next(p["data"] for p in parsed.panels if p["name"] == "robust_regression_panel"))
    assert robust["snap"][1] != list(range(len(robust["snap"][1]))) and "2.00" in robust["labels"][1]
    assert "outlier size = 2.00 只在按钮的状态里渲染" in (out / f"{NOTEBOOK.stem}.html").read_text(encoding="utf-8")


def test_the_chapter_has_panels_with_solo_controls(built):
    """The small cap makes some panels solo, so the browser test below also moves solo controls."""
    _, report = built
    panels = next(p for p in report["pages"] if p["page"] == f"{NOTEBOOK.stem}.html")["panels"]
    assert sum(bool(p["solo"]) for p in panels) >= 1
    page = (built[0] / f"{NOTEBOOK.stem}.html").read_text(encoding="utf-8")
    assert "†" in page and "one at a time" in page


def test_a_panel_built_from_a_variable_is_rendered_in_the_notebooks_kernel(tmp_path):
    """``loss_panel(loss=which)`` cannot be rebuilt from its source alone: the build runs the notebook in a
    kernel and renders the very panel it shows (here: MSE, not the panel's default, Huber)."""
    import nbformat

    books = tmp_path / "notebooks"
    books.mkdir()
    shown = nbformat.v4.new_output("display_data", data={WIDGET_MIME: {"model_id": "x", "version_major": 2,
                                                                        "version_minor": 0}, "text/plain": "panel"})
    cell = nbformat.v4.new_code_cell("loss_panel(loss=which)")
    cell.outputs = [shown]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 第9章 试验"),
                                         nbformat.v4.new_code_cell("from helpers.panels.losses import loss_panel\nwhich = 'MSE (L2)'"),
                                         cell, nbformat.v4.new_code_cell("raise RuntimeError('never run: after the last panel')")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, books / "09_trial.ipynb")
    report = site.build(tmp_path / "out", notebooks=books, max_frames=4, jobs=1, png_level=1,
                        readme=tmp_path / "none.md", glossary=tmp_path / "none.md", log=lambda *a: None)
    panel, = report["pages"][0]["panels"]
    assert panel["in_kernel"] and panel["call"] == "loss_panel(loss=which)" and panel["frames"] >= 2
    parsed = _parse(tmp_path / "out" / "09_trial.html")
    shown_png = base64.b64decode(parsed.panels[0]["imgs"][0].split(",", 1)[1])
    mse, default = P.all_panels()["loss_panel"](loss="MSE (L2)"), P.all_panels()["loss_panel"]()
    mse.reuse_palettes = default.reuse_palettes = False  # as the site renders: a frame's bytes from its setting alone
    assert np.array_equal(_pixels(shown_png), _pixels(mse.render()))
    assert not np.array_equal(_pixels(mse.render()), _pixels(default.render()))


def test_build_rejects_a_folder_it_did_not_make(tmp_path):
    (tmp_path / "keep.txt").write_text("x", encoding="utf-8")
    with pytest.raises(SystemExit, match="refusing"):
        site.build(tmp_path, only=[CHAPTER], log=lambda *a: None)
    with pytest.raises(ValueError, match="max_frames"):
        site.build(tmp_path / "new", only=[CHAPTER], max_frames=0, log=lambda *a: None)
    assert (tmp_path / "keep.txt").exists()


# ----------------------------------------------------------------------------- in a browser
_FORMULAS_JS = """async () => {
  // formulas are MathML the browser lays out (a fraction's numerator above its denominator), in the page's own
  // math font, and the text of the Markdown cells holds no TeX
  await document.fonts.ready;
  const maths = Array.from(document.querySelectorAll('.jp-MarkdownCell math'));
  const boxes = maths.map(m => m.getBoundingClientRect());
  const frac = document.querySelector('.jp-MarkdownCell math[display="block"] mfrac');
  const [num, den] = Array.from(frac.children).map(c => c.getBoundingClientRect());
  const text = Array.from(document.querySelectorAll('.jp-MarkdownCell')).map(cell => {
    const copy = cell.cloneNode(true);
    copy.querySelectorAll('math, code, pre').forEach(e => e.remove());
    return copy.textContent;
  }).join('\\n');
  const font = await document.fonts.load('16px "Course Math"', '\u2211');
  const wide = Array.from(document.querySelectorAll('.math-display')).filter(
    e => e.getBoundingClientRect().right > window.innerWidth + 1).length;  // a long formula scrolls in its own box
  return {count: maths.length, empty: boxes.filter(b => !(b.width > 0 && b.height > 0)).length,
          display: getComputedStyle(document.querySelector('math[display="block"]')).display,
          stacked: num.bottom <= den.top + 1 && num.width > 0 && den.width > 0,
          tex: (text.match(/\\$[^$]+\\$|\\\\(frac|sum|mathcal|text|hat|sqrt|partial)\\b/g) || []).slice(0, 5),
          font: font.length, wide: wide};
}"""

_SET_COMBO_JS = """([panel, combo]) => {
  // put every control of the panel at the given positions, as a user would, and report what is enabled
  const inputs = Array.from(panel.querySelectorAll('[data-i]')).sort((a, b) => a.dataset.i - b.dataset.i);
  inputs.forEach((el, i) => {
    if (el.type === 'checkbox') el.checked = combo[i] === 1;
    else if (el.tagName === 'SELECT') el.selectedIndex = combo[i];
    else el.value = String(combo[i]);
    el.dispatchEvent(new Event('input', {bubbles: true}));
  });
  return inputs.map(el => !el.disabled);
}"""

_POSITIONS_JS = """panel => Array.from(panel.querySelectorAll('[data-i]')).sort((a, b) => a.dataset.i - b.dataset.i).map(
  el => el.type === 'checkbox' ? Number(el.checked) : el.tagName === 'SELECT' ? el.selectedIndex : Number(el.value))"""

_IMAGE_READY_JS = """async img => {
  // the new frame is decoded and one animation frame has passed: it is on screen
  await img.decode();
  await new Promise(r => requestAnimationFrame(() => r()));
  return img.naturalWidth > 0 && img.naturalHeight > 0;
}"""


def _sizes(data: dict) -> list[int]:
    """Positions per control of a static panel (its labels, one per pre-rendered value)."""
    return [len(labels) for labels in data["labels"]]


def _states(data: dict) -> list[tuple[int, ...]]:
    """The panel's combinations in the order its frames were rendered (``data["frames"][k]`` shows the k-th)."""
    sizes = _sizes(data)
    solo = data.get("solo", [0] * len(sizes))
    return grid.grid_states(sizes, data.get("defaults", [0] * len(solo)), [bool(s) for s in solo])


def _combo_enabling(data: dict, i: int) -> list[int]:
    """Positions of every control (a pre-rendered combination) in which control ``i`` is enabled."""
    enabled = data.get("enabled")
    for k, combo in enumerate(_states(data)):
        if enabled is None or enabled[k] >> i & 1:
            return list(combo)
    raise AssertionError(f"control {i} is never enabled")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server(built):
    out, _ = built
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(out)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.browser
def test_every_control_of_every_static_panel_changes_its_image(built, server):
    bs.require_chromium()

    errors, outside = [], []

    def route(r):  # the network is cut: anything not from the local server (or in the page) is refused, and noted
        if r.request.url.startswith((server + "/", "data:")):
            return r.continue_()
        outside.append(r.request.url)
        return r.abort("internetdisconnected")

    with _browser_page(errors, viewport={"width": 390, "height": 844}) as page:  # a phone
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.route("**/*", route)
        page.goto(f"{server}/index.html")
        page.click(f"a[href='{NOTEBOOK.stem}.html']")
        page.wait_for_load_state("load")
        assert page.title().startswith("第4章")
        text = page.inner_text("body")
        assert "损失函数" in text and "交叉熵" in text
        formulas = page.evaluate(_FORMULAS_JS)
        assert formulas["count"] > 100 and formulas["empty"] == 0, formulas
        assert formulas["display"] == "block math" and formulas["stacked"] and formulas["font"] == 1, formulas
        assert formulas["wide"] == 0, formulas  # on a phone: no formula wider than the screen
        assert formulas["tex"] == [], formulas
        panels = page.locator(".static-panel")
        saved = _saved_panels(NOTEBOOK)
        assert panels.count() == len(saved) > 0
        moved = []
        frames = json.loads(_parse(built[0] / f"{NOTEBOOK.stem}.html").frames_json)
        for n in range(panels.count()):
            panel = panels.nth(n)
            name = panel.get_attribute("data-panel")
            panel.scroll_into_view_if_needed()
            img = panel.locator("img.sp-image")
            assert img.evaluate(_IMAGE_READY_JS), f"{name}: the first picture does not load"
            assert panel.locator(".sp-view").evaluate("v => v.getBoundingClientRect().right <= innerWidth + 1"), \
                f"{name}: the picture's strip is wider than a phone screen"
            data = json.loads(panel.locator("script.sp-data").text_content())
            inputs = panel.locator("[data-i]")
            for i in range(inputs.count()):
                combo = _combo_enabling(data, i)
                assert page.evaluate(_SET_COMBO_JS, [panel.element_handle(), combo])[i]
                el = panel.locator(f'[data-i="{i}"]')
                before = img.get_attribute("src")
                _step(page, el, combo[i], _sizes(data)[i])  # the keyboard moves a slider by one rendered position
                assert img.evaluate(_IMAGE_READY_JS), f"{name}: control {i} gave an empty picture"
                assert img.get_attribute("src") != before, f"{name}: moving control {i} kept the picture"
                # the page shows the frame the builder rendered for these positions (found by listing the
                # rendered combinations in Python, not through the index steps the page reads)
                ps = panel.evaluate(_POSITIONS_JS)
                k = _states(data).index(tuple(ps))
                assert img.get_attribute("src") == html_page.frame_uri(frames[data["frames"][k]]), name
                moved.append((name, i))
        assert len(moved) == sum(len(_sizes(json.loads(p["data"]))) for p in _parse(
            built[0] / f"{NOTEBOOK.stem}.html").panels)
        page.click("a[href='glossary.html']")
        page.wait_for_load_state("load")
        assert "术语表" in page.inner_text("body")
    assert not errors, "errors in the browser console:\n" + "\n".join(errors)
    assert not outside, f"the pages tried to leave the site: {outside}"
    print(f"moved {len(moved)} controls; no request left the site")


_OUTPUTS_JS = """panel => Array.from(panel.querySelectorAll('[data-i]')).sort((a, b) => a.dataset.i - b.dataset.i).map(
  el => { const o = el.closest('.sp-control').querySelector('output'); return o ? o.textContent : null; })"""


@pytest.mark.browser
def test_every_preset_shows_its_states_exact_frame(built, server):
    """Click every "试试" preset of every static panel: the inputs go to the state's values and the picture is
    the panel's own render of the state; moving a control afterwards shows a pre-rendered combination."""
    bs.require_chromium()

    out, report = built
    entries = next(p for p in report["pages"] if p["page"] == f"{NOTEBOOK.stem}.html")["panels"]
    frames = json.loads(_parse(out / f"{NOTEBOOK.stem}.html").frames_json)
    errors, clicked = [], []
    with _browser_page(errors, viewport={"width": 1000, "height": 900}) as page:
        page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(server) else r.abort())
        page.goto(f"{server}/{NOTEBOOK.stem}.html")
        panels = page.locator(".static-panel")
        assert panels.count() == len(entries)
        for n, entry in enumerate(entries):
            panel = panels.nth(n)
            expected = _expected_states(entry)
            buttons = panel.locator("button[data-state]")
            labels = [t.strip() for t in panel.locator(".sp-presets").all_inner_texts()]
            if not expected:
                assert buttons.count() == 0 and not labels
                continue
            names = [name for name, *_ in expected if name is not None]
            assert buttons.all_inner_texts() == names + ["↺ 默认"], entry["call"]
            assert labels[0].startswith("试试：")
            data = json.loads(panel.locator("script.sp-data").text_content())
            img = panel.locator("img.sp-image")
            for b in range(buttons.count()):
                button = buttons.nth(b)
                name = button.inner_text()
                _, positions, shown_labels, pixels = expected[[n if n is not None else "↺ 默认"
                                                               for n, *_ in expected].index(name)]
                panel.scroll_into_view_if_needed()
                button.click()
                assert img.evaluate(_IMAGE_READY_JS), (entry["call"], name)
                assert panel.evaluate(_POSITIONS_JS) == positions, (entry["call"], name)
                assert [o for o in panel.evaluate(_OUTPUTS_JS)] == [
                    t if kind == "range" else None for t, kind in zip(shown_labels, panel.evaluate(
                        "p => Array.from(p.querySelectorAll('[data-i]')).sort((a, b) => a.dataset.i - b.dataset.i).map(e => e.tagName === 'SELECT' ? 'select' : e.type)"))]
                assert button.get_attribute("aria-pressed") == "true"
                src = img.get_attribute("src")
                assert np.array_equal(_pixels(base64.b64decode(src.split(",", 1)[1])), pixels), (entry["call"], name)
                clicked.append((entry["call"], name))
                # then any control follows the normal rules: the first enabled one, one position on
                i = next(i for i in range(len(positions)) if panel.locator(f'[data-i="{i}"]').is_enabled())
                el = panel.locator(f'[data-i="{i}"]')
                _step(page, el, positions[i], _sizes(data)[i])
                assert img.evaluate(_IMAGE_READY_JS)
                ps = tuple(panel.evaluate(_POSITIONS_JS))
                states = {tuple(s["positions"]): s["index"] for s in data["states"]}
                k = states[ps] if ps in states else _states(data).index(ps)
                if ps not in states and "snap" in data:  # a value only states use went to a rendered one
                    assert all(data["snap"][j][q] == q for j, q in enumerate(ps)), (entry["call"], name, ps)
                assert img.get_attribute("src") == html_page.frame_uri(frames[data["frames"][k]]), \
                    (entry["call"], name, ps)
    assert not errors, "errors in the page:\n" + "\n".join(errors)
    assert len(clicked) >= 4 + 2 and any("两个" in name for _, name in clicked)
    print(f"clicked {len(clicked)} presets")


# Panels of the other chapters that declare states (chapter 04's are clicked above, in the built page)
STATED_PANELS = tuple(name for chapter, names in sorted(support.STATED_PANELS.items()) if chapter != CHAPTER
                      for name in names)


def _states_only_axes(panel) -> list:
    """The smallest grid that still has every state: each slider and dropdown at its default only (a state's value
    is a position of the states), a checkbox's two values, all of them solo."""
    axes = []
    for name, w in panel.controls.items():
        kind, values, labels, default = grid.control_candidates(w)
        keep = [0, 1] if kind == "checkbox" else [default]
        axes.append(grid.Axis(name, w.description or name, kind, [values[k] for k in keep], [labels[k] for k in keep],
                              keep.index(default), solo=True))
    return grid.with_state_positions(panel, axes, grid.panel_states(panel))


@pytest.mark.browser
def test_every_state_of_every_chapter_is_one_click_away(tmp_path):
    """The panels of the other chapters, on one page with only their states pre-rendered: each "试试" button puts
    the controls at the state's values and shows the picture the notebook's own panel draws for that state
    (``apply_state``: its widgets moved, one redraw), and its button looks pressed."""
    bs.require_chromium()

    results, expected = [], {}
    for name in STATED_PANELS:
        panel = P.all_panels()[name]()
        axes = _states_only_axes(panel)
        results.append(render.render_states(panel, axes, render.render_grid(panel, axes, 1, "png"), 1, "png"))
        for state, _ in grid.panel_states(panel):  # as the notebook's panel shows it: its widgets moved, one redraw
            panel.apply_state(state)
            expected[name, state if state is not None else "↺ 默认"] = (
                [w.value for w in panel.controls.values()], _pixels(panel.png))
    frames, ids = html_page.page_frames(results)
    _write_page(tmp_path, "states.html", "".join(html_page.static_panel_html(name, r, i, frames)
                                                 for name, r, i in zip(STATED_PANELS, results, ids)), frames)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(tmp_path)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    errors, clicked = [], []
    try:
        with _browser_page(errors, viewport={"width": 1280, "height": 900}) as page:
            page.goto(f"http://127.0.0.1:{httpd.server_address[1]}/states.html")
            for n, name in enumerate(STATED_PANELS):
                panel = page.locator(".static-panel").nth(n)
                data = json.loads(panel.locator("script.sp-data").text_content())
                img = panel.locator("img.sp-image")
                buttons = panel.locator("button[data-state]")
                labels = buttons.all_inner_texts()
                assert labels == list(P.all_panels()[name]().states) + ["↺ 默认"], name
                for b, label in enumerate(labels):
                    panel.scroll_into_view_if_needed()
                    buttons.nth(b).click()
                    assert img.evaluate(_IMAGE_READY_JS), (name, label)
                    values, pixels = expected[name, label]
                    ps = panel.evaluate(_POSITIONS_JS)
                    state = data["states"][int(buttons.nth(b).get_attribute("data-state"))]
                    assert ps == state["positions"], (name, label)
                    kinds = panel.evaluate(_KINDS_JS)
                    for i, (kind, p, value) in enumerate(zip(kinds, ps, values)):  # the notebook panel's values
                        text = data["labels"][i][p]
                        if kind == "range":
                            places = len(text.split(".")[1]) if "." in text and "e" not in text else 0
                            assert abs(float(text) - value) <= max(0.5 * 10 ** -places, 1e-9 * abs(value)) * 1.0001, \
                                (name, label, i, text, value)
                        elif kind == "checkbox":
                            assert p == int(value), (name, label, i)
                    assert buttons.nth(b).get_attribute("aria-pressed") == "true", (name, label)
                    src = img.get_attribute("src")
                    assert np.array_equal(_pixels(base64.b64decode(src.split(",", 1)[1])), pixels), (name, label)
                    clicked.append((name, label))
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert not errors, "errors in the page:\n" + "\n".join(errors)
    assert len(clicked) == len(expected) and {n for n, _ in clicked} == set(STATED_PANELS)
    print(f"clicked {len(clicked)} presets of {len(STATED_PANELS)} panels")


_KINDS_JS = """p => Array.from(p.querySelectorAll('[data-i]')).sort((a, b) => a.dataset.i - b.dataset.i).map(
  e => e.tagName === 'SELECT' ? 'select' : e.type)"""


def test_a_panel_with_many_mode_controls_goes_all_solo_within_the_cap():
    """Sixteen switches that each turn a slider on (2**16 mode combinations, over the 50,000 worth counting)
    cannot be counted as a grid: every control then goes solo, and the frames fit the cap."""
    panel = _switches_panel(16, on=16)
    assert len(grid.mode_controls(panel)) == 16
    axes = grid.choose_grid(panel, 60)
    assert all(a.solo for a in axes)
    assert grid.distinct_frames(panel, axes) <= 60


# ----------------------------------------------------------------------------- a phone and a desktop
_IN_VIEW_JS = """img => {
  // how much of the picture is on screen (1: all of it, or all of the screen's height)
  const r = img.getBoundingClientRect();
  const seen = Math.min(r.bottom, innerHeight) - Math.max(r.top, 0);
  return seen / Math.min(r.height, innerHeight);
}"""

_WATCH_JS = """img => {
  // record every picture the <img> shows from now on
  window.__seen = [img.getAttribute('src')];
  new MutationObserver(() => window.__seen.push(img.getAttribute('src'))).observe(img, {attributes: true,
    attributeFilter: ['src']});
}"""


@contextlib.contextmanager
def _browser_page(errors: list[str], **context):
    """A page in headless Chromium (``context``: viewport, device_scale_factor, ...) whose uncaught errors go to
    ``errors``; the browser is closed on the way out."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = bs.launch_browser(pw)
        try:
            page = browser.new_context(**context).new_page()
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            yield page
        finally:
            browser.close()


def _write_page(folder: pathlib.Path, name: str, body: str, frames: list[str] | None = None) -> str:
    """Write ``body`` as a page styled and scripted as the site's (its CSS and script inline, a phone's viewport),
    with the frame table ``frames`` its static panels show; return its file name."""
    template = ROOT / "tools" / "site_template"
    table = f'<script type="application/json" id="sp-frames">{html_page.to_json(frames)}</script>' if frames else ""
    (folder / name).write_text(
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">'
        f'<style>{(template / "site.css").read_text(encoding="utf-8")}</style></head><body class="jp-Notebook">'
        f'{body}{table}<script>{(template / "static_panels.js").read_text(encoding="utf-8")}</script></body></html>',
        encoding="utf-8")
    return name


def _demo_page(out: pathlib.Path, make=None, page_name: str = "play.html") -> str:
    """A page with one static panel that chapter 04 lacks (by default one with a Play slider), in the site folder."""
    panel = (make or _play_panel)()
    result = render.render_grid(panel, grid.choose_grid(panel, 12), 9, "webp")
    frames, (ids,) = html_page.page_frames([result])
    return _write_page(out, page_name, html_page.static_panel_html("play_demo_panel", result, ids, frames), frames)


def _wide_page(out: pathlib.Path) -> str:
    """A page with a display formula and a table, each wider than a phone, styled and scripted as the site's."""
    formula = tex.math_html(" + ".join(f"x_{{{k}}}^{{2}}" for k in range(40)), True)
    table = "<table><tr>" + "".join(f"<td>column {k}</td>" for k in range(30)) + "</tr></table>"
    return _write_page(out, "wide.html", f'<div class="jp-RenderedHTMLCommon"><p>{formula}</p>{table}</div>')


def _step(page, el, position: int, size: int) -> None:
    """Move one control (a located input at ``position`` of ``size``) by one position, as a person would."""
    kind = el.evaluate("e => e.tagName === 'SELECT' ? 'select' : e.type")
    if kind == "range":
        el.focus()
        page.keyboard.press("ArrowLeft" if position == size - 1 else "ArrowRight")
    elif kind == "select":
        el.select_option(index=(position + 1) % size)
    else:
        el.click()


def _move(page, panel, data: dict, i: int) -> None:
    """Move control ``i`` of ``panel`` by one position as a person would, from a combination where it is enabled."""
    combo = _combo_enabling(data, i)
    assert page.evaluate(_SET_COMBO_JS, [panel.element_handle(), combo])[i]
    el = panel.locator(f'[data-i="{i}"]')
    el.evaluate("e => e.scrollIntoView({block: 'center'})")  # the control in the middle of the screen
    _step(page, el, combo[i], _sizes(data)[i])


_PICTURE_JS = """panel => {
  // where the picture is and how large, against its CSS size; its strip; whether the phone's button shows
  const view = panel.querySelector('.sp-view'), img = panel.querySelector('img.sp-image');
  const scroll = panel.querySelector('.sp-scroll'), zoom = panel.querySelector('.sp-zoom');
  const r = img.getBoundingClientRect(), v = view.getBoundingClientRect();
  return {left: r.left, right: r.right, width: r.width, css: Number(img.getAttribute('width')),
          view: v.width, viewLeft: v.left, viewRight: v.right, scrollLeft: scroll.scrollLeft,
          more: scroll.scrollWidth - scroll.clientWidth, zoom: zoom.checkVisibility(),
          label: zoom.textContent, pressed: zoom.getAttribute('aria-pressed'),
          hint: panel.querySelector('.sp-swipe').checkVisibility(), below: panel.querySelector('.sp-zoombar').getBoundingClientRect().top >= r.bottom - 0.5};
}"""


def _check_phone_picture(panel, seen: dict, screen: int, name: str) -> None:
    """On a phone: the strip spans the screen; the picture is shown at >= 0.8 of its CSS size (its 10 px tick
    text stays readable), scrolls sideways when wider than the screen, and its button fits it to the screen
    and back."""
    assert seen["viewLeft"] <= 0.5 and seen["viewRight"] >= screen - 0.5, (name, seen)
    assert seen["width"] >= min(0.8 * seen["css"], seen["view"]) - 0.5, (name, seen)
    if seen["css"] * 0.85 <= seen["view"]:
        assert not seen["zoom"] and seen["more"] <= 1, (name, seen)
        return
    assert seen["zoom"] and seen["label"] == html_page.ZOOM_LABELS[0] and seen["pressed"] == "false", (name, seen)
    assert seen["hint"] and seen["below"], (name, seen)  # the bar is under the picture, not over it
    assert seen["more"] > 0, (name, seen)
    panel.locator(".sp-scroll").evaluate("s => s.scrollBy(s.scrollWidth, 0)")
    after = panel.evaluate(_PICTURE_JS)
    assert after["scrollLeft"] >= seen["more"] - 1 and after["right"] <= screen + 1, (name, after)  # its right end
    panel.locator(".sp-zoom").click()
    fit = panel.evaluate(_PICTURE_JS)
    assert abs(fit["width"] - fit["view"]) <= 1 and fit["more"] <= 1, (name, fit)  # the whole picture on screen
    assert fit["label"] == html_page.ZOOM_LABELS[1] and fit["pressed"] == "true" and fit["zoom"], (name, fit)
    assert not fit["hint"], (name, fit)  # nothing left to swipe
    panel.locator(".sp-zoom").click()
    back = panel.evaluate(_PICTURE_JS)
    assert abs(back["width"] - seen["width"]) <= 1 and back["label"] == html_page.ZOOM_LABELS[0], (name, back)
    panel.locator(".sp-scroll").evaluate("s => s.scrollTo(0, 0)")


def _locked_panel():
    """Like the race: a checkbox that enables its own slider, another slider, a Play slider, and a state that
    moves two of them; at a small cap every control is solo."""
    def setup(fig):
        ax = fig.subplots()
        line, = ax.plot([0, 1], [0, 1], animated=True)

        def update(on, lr, other, t):
            line.set_ydata([0, (lr if on else 0.5) + other + t / 10])
        return update
    return P.Panel({"on": P.checkbox("on", False), "lr": P.float_slider("lr", 0.0, 1.0, 0.25, 0.25),
                    "other": P.float_slider("other", 0.0, 1.0, 0.25, 0.0), "t": P.play_slider("t", 0, 4, 0)},
                   setup, enabled_when={"lr": lambda v: v["on"]}, states={"both": {"on": True, "other": 0.5}})


@pytest.mark.browser
def test_a_solo_control_that_would_switch_itself_off_is_locked(built, server):
    """One † control away from its default at a time: ticking "on" enables "lr" in the notebook, but moving "lr"
    would put "on" back and switch "lr" off, so the page locks it. While another † control is away from its default
    (moved, or by a preset), the Play button's first step would put it back: it is disabled until the defaults
    are back."""
    bs.require_chromium()

    panel = _locked_panel()
    # every control solo, as the planner makes the race's (its switches alone have too many combinations)
    axes = [dataclasses.replace(a, solo=True) for a in grid.choose_grid(panel, 40)]
    assert [a.name for a in axes] == ["on", "lr", "other", "t"]
    result = render.render_states(panel, axes, render.render_grid(panel, axes, 9, "webp"), 9, "webp")
    frames, (ids,) = html_page.page_frames([result])
    _write_page(built[0], "locked.html", html_page.static_panel_html("locked_panel", result, ids, frames), frames)
    errors = []
    with _browser_page(errors, viewport={"width": 1000, "height": 800}) as page:
        page.goto(f"{server}/locked.html")
        el = {name: page.locator(f'[data-i="{i}"]') for i, name in enumerate(["on", "lr", "other", "t"])}
        play = page.locator("button.sp-play")
        locked = lambda: el["lr"].evaluate("e => e.classList.contains('sp-locked')")  # noqa: E731
        assert el["lr"].is_disabled() and not locked() and play.is_enabled()  # off: disabled as in the notebook
        el["on"].click()
        assert el["on"].is_checked() and el["lr"].is_disabled() and locked()
        assert "一次只改一个" in el["lr"].get_attribute("title") and el["other"].is_enabled()
        _step(page, el["other"], 0, 5)  # the other slider: "on" goes back, one † control at a time
        assert not el["on"].is_checked() and el["lr"].is_disabled() and not locked()
        assert play.is_disabled()  # its steps would put "other" back: no frames of t with "other" moved
        page.locator("button[data-state]", has_text="默认").click()
        assert play.is_enabled() and el["other"].input_value() == "0"
        page.locator("button[data-state]", has_text="both").click()
        assert el["on"].is_checked() and play.is_disabled() and "↺ 默认" in play.get_attribute("title")
        page.locator("button[data-state]", has_text="默认").click()
        assert not el["on"].is_checked() and play.is_enabled()
    assert not errors, errors


@pytest.mark.browser
@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_static_panels_on_a_phone_and_a_desktop(built, server, device):
    """Every control changes the picture and its alt text, and the picture stays in view while the controls are
    worked (pinned on a phone, where it also fills the screen's width); ▶ plays a Play slider's positions."""
    bs.require_chromium()

    phone = device == "phone"
    viewport = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 800}
    play_page = _demo_page(built[0])
    modes_page = _demo_page(built[0], _modes_panel, "modes.html")
    many_page = _demo_page(built[0], _many_controls_panel, "many.html")
    errors = []
    with _browser_page(errors, viewport=viewport, device_scale_factor=3 if phone else 1,
                       is_mobile=phone, has_touch=phone) as page:
        page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(server) else r.abort())
        page.goto(f"{server}/{NOTEBOOK.stem}.html")
        page.wait_for_load_state("load")
        panels = page.locator(".static-panel")
        moved = 0
        for n in range(panels.count()):
            panel = panels.nth(n)
            name = panel.get_attribute("data-panel")
            img = panel.locator("img.sp-image")
            data = json.loads(panel.locator("script.sp-data").text_content())
            assert data["title"] != name and img.get_attribute("alt").startswith(data["title"])
            for i in range(len(_sizes(data))):
                before_src, before_alt = img.get_attribute("src"), img.get_attribute("alt")
                _move(page, panel, data, i)
                assert img.evaluate(_IMAGE_READY_JS), f"{name}: control {i} gave an empty picture"
                assert img.get_attribute("src") != before_src, f"{name}: control {i} kept the picture"
                alt = img.get_attribute("alt")
                assert alt != before_alt and alt.startswith(data["title"] + ": "), (name, i, alt)
                label = data["labels"][i][panel.evaluate(_POSITIONS_JS)[i]]
                assert f"{data['names'][i]} = {label}" in alt, (name, i, alt)
                # in view with the control in the middle of the screen: all of it on a phone (pinned on top),
                # most of it on a desktop (pinned at the bottom, up to the top of its own panel)
                assert img.evaluate(_IN_VIEW_JS) > (0.95 if phone else 0.5), \
                    f"{name}: the picture is out of view after moving control {i}"
                moved += 1
            seen = panel.evaluate(_PICTURE_JS)
            if phone:  # the strip spans the screen; the picture is readable there, or fits it on request
                _check_phone_picture(panel, seen, viewport["width"], name)
            else:  # at its CSS size (the frames have 2 pixels per CSS pixel), on the screen, no button
                assert 0 <= seen["left"] and seen["right"] <= viewport["width"], (name, seen)
                assert abs(seen["width"] - min(seen["css"], seen["view"])) <= 1 and not seen["zoom"], (name, seen)
        assert moved >= panels.count() > 0
        # ▶ steps a Play slider through every pre-rendered position, then stops
        page.goto(f"{server}/{play_page}")
        panel = page.locator(".static-panel")
        data = json.loads(panel.locator("script.sp-data").text_content())
        slider = panel.locator("input[data-i='0']")
        button = panel.locator("button.sp-play")
        assert button.count() == 1 and button.text_content() == "▶"
        positions = _sizes(data)[0]
        assert positions >= grid.SWEPT_POSITIONS
        panel.locator("img.sp-image").evaluate(_WATCH_JS)
        button.click()  # the slider starts at its end (300): play starts over from the first position
        page.wait_for_function("el => Number(el.value) === Number(el.max)", arg=slider.element_handle(),
                               timeout=positions * 1000 + 5000)
        page.wait_for_function("b => b.textContent === '▶'", arg=button.element_handle(), timeout=5000)
        seen = page.evaluate("window.__seen")
        assert len(set(seen)) >= positions and seen[-1] == seen[0], seen  # every position shown, ends at the end
        assert "t = 300" in panel.locator("img.sp-image").get_attribute("alt")
        # wide formulas and tables say they scroll on a phone, and fade at the edge that has more
        if phone:
            page.goto(f"{server}/{_wide_page(built[0])}")
            for box, word in ((page.locator(".math-display"), "公式"), (page.locator("table"), "表")):
                assert box.evaluate("b => b.scrollWidth > b.clientWidth + 2 && b.classList.contains('sp-more')")
                hint = box.evaluate("b => b.previousElementSibling.classList.contains('sp-scroll-hint') && "
                                    "b.previousElementSibling.checkVisibility() && b.previousElementSibling.textContent")
                assert hint and word in hint, hint
                box.evaluate("b => b.scrollTo({left: b.scrollWidth})")
                page.wait_for_function("b => !b.classList.contains('sp-more')", arg=box.element_handle(), timeout=3000)
        # a panel with more controls than a 32-bit mask holds: the right ones are disabled
        page.goto(f"{server}/{many_page}")
        panel = page.locator(".static-panel")
        disabled = lambda: [panel.locator(f'[data-i="{i}"]').is_disabled() for i in range(34)]  # noqa: E731
        assert disabled() == [False] * 33 + [True]
        panel.locator('[data-i="0"]').click()
        assert disabled() == [False] * 34
        # another mode's controls are hidden, and their group with them, as in the notebook
        page.goto(f"{server}/{modes_page}")
        panel = page.locator(".static-panel")
        img = panel.locator("img.sp-image")
        shown = lambda: [panel.locator(f'[data-i="{i}"]').is_visible() for i in range(3)]  # noqa: E731
        groups = lambda: [g.is_visible() for g in panel.locator("fieldset.sp-group").all()]  # noqa: E731
        assert shown() == [True, True, False] and groups() == [True, False]
        before = img.get_attribute("src")
        panel.locator('[data-i="0"]').select_option(index=1)
        assert img.evaluate(_IMAGE_READY_JS) and img.get_attribute("src") != before
        assert shown() == [True, False, True] and groups() == [False, True]
        _move(page, panel, json.loads(panel.locator("script.sp-data").text_content()), 2)
        assert shown() == [True, False, True] and "n = " in img.get_attribute("alt")
    assert not errors, "errors on the page:\n" + "\n".join(errors)
