"""The static web edition (tools/site/): grid choice, page structure, and every static panel in Chromium.

The build is done once for the module: one chapter (04) with a small frame cap, so the tests stay quick.

    pytest tests/test_site.py                 # structure (the browser test is marked ``browser``)
    pytest -m browser tests/test_site.py      # also moves every control in headless chromium
"""
from __future__ import annotations

import base64
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

import numpy as np
import pytest
from PIL import Image

from helpers import panels as P

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))  # tools.site of this working tree
import browser_support as bs  # noqa: E402
from tools.site import build as site, discover, grid, page as html_page, render  # noqa: E402

CHAPTER = "04"
NOTEBOOK = next((ROOT / "notebooks").glob(f"{CHAPTER}_*.ipynb"))
MAX_FRAMES = 6  # small: two of the chapter's panels render some controls one at a time (solo)
GLOSSARY = "# 术语表\n\n| 术语 | English |\n|---|---|\n| 损失函数 | loss function |\n\n见 [第4章](04_losses.ipynb)。\n"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


# ----------------------------------------------------------------------------- the build, once
@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    glossary = tmp_path_factory.mktemp("glossary") / "GLOSSARY.md"
    glossary.write_text(GLOSSARY, encoding="utf-8")
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


def test_a_panel_whose_modes_alone_exceed_every_cap_goes_all_solo():
    """The race's optimizer switches turn their sliders on: kept free they make thousands of frames, so every
    control goes solo, and its enabled sliders still get five positions within a modest cap."""
    from helpers.panels import Panel, checkbox, float_slider

    def setup(fig):
        ax = fig.subplots()
        line, = ax.plot(range(10), [0] * 10, animated=True)
        return lambda **v: line.set_ydata([v[f"k{i}"] if v[f"on{i}"] else 0 for i in range(10)])
    controls = {}
    for i in range(10):
        controls[f"on{i}"] = checkbox(f"on {i}", i < 3)
        controls[f"k{i}"] = float_slider(f"k {i}", 0, 1, 0.01, 0.5)
    panel = Panel(controls, setup, enabled_when={f"k{i}": (lambda v, i=i: v[f"on{i}"]) for i in range(10)})
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


# ----------------------------------------------------------------------------- the built chapter
def test_the_site_has_the_chapter_the_index_and_the_glossary(built):
    out, report = built
    assert sorted(p.name for p in out.glob("*.html")) == sorted([f"{NOTEBOOK.stem}.html", "index.html", "glossary.html"])
    page = (out / f"{NOTEBOOK.stem}.html").read_text(encoding="utf-8")
    assert '<meta charset="utf-8"/>' in page and '<html lang="zh-CN">' in page
    assert "<title>第4章 损失函数" in page and "交叉熵" in page  # the Chinese text
    assert r"\frac" in page and "mathjax" in page.lower()  # the formulas, typeset by MathJax
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
        assert len(data["frames"]) == len(_states(data))
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


def test_mathjax_can_be_copied_into_the_site(tmp_path):
    source = tmp_path / "mathjax-2"
    for part in site.MATHJAX_PARTS:
        path = source / part
        if path.suffix == ".js":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("// part", encoding="utf-8")
        else:
            (path / "x").mkdir(parents=True)
            (path / "x" / "y.js").write_text("// inside", encoding="utf-8")
    (source / "unused").mkdir()
    url = site.copy_mathjax(source, tmp_path / "out")
    assert url.startswith("mathjax/MathJax.js?config=TeX-AMS_CHTML-full")
    assert (tmp_path / "out" / "mathjax" / "config" / "Safe.js").is_file()
    assert (tmp_path / "out" / "mathjax" / "jax" / "output" / "CommonHTML" / "x" / "y.js").is_file()
    assert not (tmp_path / "out" / "mathjax" / "unused").exists()
    (source / "MathJax.js").unlink()
    with pytest.raises(ValueError, match="MathJax 2.7"):
        site.copy_mathjax(source, tmp_path / "again")


def test_build_rejects_a_folder_it_did_not_make(tmp_path):
    (tmp_path / "keep.txt").write_text("x", encoding="utf-8")
    with pytest.raises(SystemExit, match="refusing"):
        site.build(tmp_path, only=[CHAPTER], log=lambda *a: None)
    with pytest.raises(ValueError, match="max_frames"):
        site.build(tmp_path / "new", only=[CHAPTER], max_frames=0, log=lambda *a: None)
    assert (tmp_path / "keep.txt").exists()


# ----------------------------------------------------------------------------- in a browser
_TINY_PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==")

_SET_COMBO_JS = """([panel, combo]) => {
  // put every control of the panel at the given positions, as a user would, and report what is enabled
  const inputs = Array.from(panel.querySelectorAll('[data-i]'));
  inputs.forEach((el, i) => {
    if (el.type === 'checkbox') el.checked = combo[i] === 1;
    else if (el.tagName === 'SELECT') el.selectedIndex = combo[i];
    else el.value = String(combo[i]);
    el.dispatchEvent(new Event('input', {bubbles: true}));
  });
  return inputs.map(el => !el.disabled);
}"""

_POSITIONS_JS = """panel => Array.from(panel.querySelectorAll('[data-i]')).map(
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
    reason = bs.chromium_missing_reason()
    if reason:
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail(f"browser test cannot run under CI: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    errors, outside = [], []

    def route(r):  # nothing from outside the local server: MathJax and the Colab badge get empty answers
        if r.request.url.startswith(server):
            return r.continue_()
        outside.append(r.request.url)
        if r.request.resource_type == "image":
            return r.fulfill(status=200, content_type="image/png", body=_TINY_PNG)
        return r.fulfill(status=200, content_type="text/javascript", body="")

    with sync_playwright() as pw:
        browser = bs.launch_browser(pw)
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.route("**/*", route)
            page.goto(f"{server}/index.html")
            page.click(f"a[href='{NOTEBOOK.stem}.html']")
            page.wait_for_load_state("load")
            assert page.title().startswith("第4章")
            text = page.inner_text("body")
            assert "损失函数" in text and "交叉熵" in text
            assert page.locator("mjx-container, .MathJax").count() > 0 or re.search(r"\$[^$\n]+\$", text)
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
                assert img.evaluate("i => i.getBoundingClientRect().right <= window.innerWidth + 1"), \
                    f"{name}: the picture is wider than a phone screen"
                data = json.loads(panel.locator("script.sp-data").text_content())
                inputs = panel.locator("[data-i]")
                for i in range(inputs.count()):
                    combo = _combo_enabling(data, i)
                    assert page.evaluate(_SET_COMBO_JS, [panel.element_handle(), combo])[i]
                    el = inputs.nth(i)
                    before = img.get_attribute("src")
                    kind = el.evaluate("e => e.tagName === 'SELECT' ? 'select' : e.type")
                    if kind == "range":  # the keyboard moves a real slider by one pre-rendered position
                        el.focus()
                        page.keyboard.press("ArrowLeft" if combo[i] == _sizes(data)[i] - 1 else "ArrowRight")
                    elif kind == "select":
                        el.select_option(index=(combo[i] + 1) % _sizes(data)[i])
                    else:
                        el.click()
                    assert img.evaluate(_IMAGE_READY_JS), f"{name}: control {i} gave an empty picture"
                    assert img.get_attribute("src") != before, f"{name}: moving control {i} ({kind}) kept the picture"
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
        finally:
            browser.close()
    assert not errors, "errors in the browser console:\n" + "\n".join(errors)
    assert all(not u.startswith(server) for u in outside)
    print(f"moved {len(moved)} controls; {len(outside)} requests outside the local server answered empty")


def test_a_panel_with_many_mode_controls_goes_all_solo_within_the_cap():
    """Sixteen switches that each turn a slider on (2**16 mode combinations, over the 50,000 worth counting)
    cannot be counted as a grid: every control then goes solo, and the frames fit the cap."""
    from helpers.panels import Panel, checkbox, float_slider

    def setup(fig):
        ax = fig.subplots()
        line, = ax.plot(range(16), [0] * 16, animated=True)
        return lambda **v: line.set_ydata([v[f"k{i}"] if v[f"on{i}"] else 0 for i in range(16)])
    controls = {}
    for i in range(16):
        controls[f"on{i}"] = checkbox(f"on {i}", True)
        controls[f"k{i}"] = float_slider(f"k {i}", 0, 1, 0.01, 0.5)
    panel = Panel(controls, setup, enabled_when={f"k{i}": (lambda v, i=i: v[f"on{i}"]) for i in range(16)})
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


def _play_page(out: pathlib.Path) -> str:
    """A page with one static panel that has a Play slider (chapter 04 has none): written into the site folder."""
    panel = _play_panel()
    result = render.render_grid(panel, grid.choose_grid(panel, 12), 9, "webp")
    frames, (ids,) = html_page.page_frames([result])
    template = ROOT / "tools" / "site_template"
    body = (f'<!DOCTYPE html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">'
            f'<style>{(template / "site.css").read_text(encoding="utf-8")}</style></head><body class="jp-Notebook">'
            f'{html_page.static_panel_html("play_demo_panel", result, ids, frames)}'
            f'<script type="application/json" id="sp-frames">{html_page.to_json(frames)}</script>'
            f'<script>{(template / "static_panels.js").read_text(encoding="utf-8")}</script></body></html>')
    (out / "play.html").write_text(body, encoding="utf-8")
    return "play.html"


def _move(page, panel, data: dict, i: int) -> None:
    """Move control ``i`` of ``panel`` by one position as a person would, from a combination where it is enabled."""
    combo = _combo_enabling(data, i)
    assert page.evaluate(_SET_COMBO_JS, [panel.element_handle(), combo])[i]
    el = panel.locator("[data-i]").nth(i)
    el.evaluate("e => e.scrollIntoView({block: 'center'})")  # the control in the middle of the screen
    kind = el.evaluate("e => e.tagName === 'SELECT' ? 'select' : e.type")
    if kind == "range":
        el.focus()
        page.keyboard.press("ArrowLeft" if combo[i] == _sizes(data)[i] - 1 else "ArrowRight")
    elif kind == "select":
        el.select_option(index=(combo[i] + 1) % _sizes(data)[i])
    else:
        el.click()


@pytest.mark.browser
@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_static_panels_on_a_phone_and_a_desktop(built, server, device):
    """Every control changes the picture and its alt text, and the picture stays in view while the controls are
    worked (pinned on a phone, where it also fills the screen's width); ▶ plays a Play slider's positions."""
    reason = bs.chromium_missing_reason()
    if reason:
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail(f"browser test cannot run under CI: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    phone = device == "phone"
    viewport = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 800}
    play_page = _play_page(built[0])
    errors = []
    with sync_playwright() as pw:
        browser = bs.launch_browser(pw)
        try:
            context = browser.new_context(viewport=viewport, device_scale_factor=3 if phone else 1,
                                          is_mobile=phone, has_touch=phone)
            page = context.new_page()
            page.on("pageerror", lambda exc: errors.append(str(exc)))
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
                width = img.evaluate("i => [i.getBoundingClientRect().left, i.getBoundingClientRect().right]")
                if phone:  # the whole width of the screen
                    assert width[0] <= 0.5 and width[1] >= viewport["width"] - 0.5, (name, width)
                else:
                    assert 0 <= width[0] and width[1] <= viewport["width"], (name, width)
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
        finally:
            browser.close()
    assert not errors, "errors on the page:\n" + "\n".join(errors)
