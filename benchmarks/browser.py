"""Browser latency: a slider key press to the new picture shown, against the bare widget round trip.

    python benchmarks/browser.py [--moves 20] [--only activation_panel ...] [--play-seconds 5]

Runs JupyterLab (as ``tests/test_browser.py`` does: a temporary server, Debian's headless chromium via
Playwright) on a temporary notebook with one cell per panel, at ``deviceScaleFactor`` 2 (a 2x screen).
Each cell shows the panel and, under it, a *floor* widget: a plain ``IntSlider`` whose observer in the
kernel sets a 1x1 ``Image`` (format "png", as ipywidgets makes one by default), a second 1x1 ``Image``
given a ``data:`` URL (format "url", as panels show their pictures) and an ``HTML`` widget, nothing else:
the bare widget round trip.

For each panel, ``--moves`` times (after two warm-up moves), alternately:
- the floor: focus the floor slider, press an arrow key (the kernel idle), time from the ``keydown`` event to each 1x1
  image's new ``src`` decoded (``img.decode()``) and the next animation frame (the HTML too);
- the panel: the same key press on the panel's slider, timed to its new picture decoded, next frame.
Two more sliders have the same bare observer set the panel's own picture (two of its frames, rendered in
advance) at the panel's size: the *picture floor* as a data: URL, as the panel does (the cost of showing a 2x
picture, without drawing it), and the *png picture* through format "png", which makes the browser build a
Blob URL and fetch it back (what the panel's picture would cost that way).
The four moves alternate, so all see the same load of a shared machine. The kernel-side time
of each picture (draw + PNG encode, ``Panel.render``) and its size are logged by the kernel as well.

Play: for a small demo panel made with ``play_slider`` (and every listed panel that has a Play
button), put its slider at its start (Play stops at the end), press Play and count, over ``--play-seconds``,
the slider values the Play widget stepped through and the new pictures actually shown (decoded) in the
browser: frames per second.

Prints tables; nothing here asserts on a time (the issue's target: panel - floor <= 15 ms, median).
"""
from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
import browser_support as bs  # noqa: E402

# panel -> the slider moved (None: the first slider that is shown and enabled)
DEFAULT_PANELS = {
    "activation_panel": None,
    "optimizer_race_panel": None,
    "filter_panel": None,
    "overfitting_panel": None,
    "schedule_explorer_panel": None,
    "loss_panel": None,
    "momentum_panel": None,
    "depth_panel": None,
    "broadcast_panel": None,
    "embedding_space_panel": None,
}
DEMO_PLAY = "demo_play_panel"

SETUP_CELL = r'''
import base64, io, json, pathlib, time
import ipywidgets as widgets
import numpy as np
from IPython.display import display
from PIL import Image as PILImage
from helpers.panels import all_panels
from helpers.panels.base import Panel, play_slider

KERNEL_LOG = pathlib.Path(%(log)r)
_times = {}

def _png(rgb):
    buf = io.BytesIO(); PILImage.new("RGB", (1, 1), rgb).save(buf, "png"); return buf.getvalue()

_FLOOR_PNGS = [_png((0, 0, 0)), _png((255, 255, 255))]

def _url(png):
    return b"data:image/png;base64," + base64.b64encode(png)

def _image(tag, kind, value, fmt, width):
    image = widgets.Image(value=value, format=fmt, layout=widgets.Layout(width=f"{width}px"))
    image.add_class(f"bench-{kind}-img-{tag}")
    return image

def floor_widget(tag, pngs=None, width=8, kind="floor", fmt="url"):
    """The bare round trip: a slider whose observer sets an Image to two PNGs in turn (``pngs``: the panel's
    own pictures, rendered in advance; given as data: URLs if ``fmt`` is "url") and an HTML widget.
    The floor (no ``pngs``) sets two 1x1 images, one in format "png" and one in format "url"."""
    slider = widgets.IntSlider(value=0, min=0, max=1000, description=kind)
    slider.add_class(f"bench-{kind}-slider-{tag}")
    html = widgets.HTML("0")
    html.add_class(f"bench-{kind}-html-{tag}")
    if pngs is None:  # the floor
        images = [(_image(tag, kind, _FLOOR_PNGS[0], "png", width), _FLOOR_PNGS),
                  (_image(tag, kind + "url", _url(_FLOOR_PNGS[0]), "url", width), [_url(p) for p in _FLOOR_PNGS])]
    else:
        values = [_url(p) for p in pngs] if fmt == "url" else pngs
        images = [(_image(tag, kind, values[0], fmt, width), values)]
    def on_change(change):
        new = change["new"]
        for image, values in images[::1 if new %% 2 else -1]:  # the two 1x1 floors take turns to go first
            image.value = values[new %% 2]
        html.value = str(new)
    slider.observe(on_change, names="value")
    if pngs is None:
        return widgets.HBox([slider] + [image for image, _ in images] + [html])
    return widgets.VBox([widgets.HBox([slider, html]), images[0][0]])  # a picture as wide as the panel's: under its slider

def picture_floors(panel, name, tag):
    """The same round trip with the panel's own picture at its size: two of its frames (this one and the
    moved slider at its other end), rendered in advance, so the kernel does no drawing. Two of them: as
    data: URLs (as the panel shows them) and in format "png"."""
    w = panel.controls[name]
    lo, hi = (w.base ** w.min, w.base ** w.max) if isinstance(w, widgets.FloatLogSlider) else (w.min, w.max)
    other = hi if w.value != hi else lo
    pngs = [panel.render(), panel.render(**{name: other})]
    return (floor_widget(tag, pngs, panel.css_width, "picfloor", "url"),
            floor_widget(tag, pngs, panel.css_width, "pngpic", "png"))

def timed(panel, tag):
    """Log the kernel-side time (ms) and size (bytes) of every picture of ``panel``: draw + PNG encode."""
    log = _times.setdefault(tag, [])
    render = panel.render
    def timed_render(**overrides):
        t = time.perf_counter()
        png = render(**overrides)
        log.append([(time.perf_counter() - t) * 1e3, len(png)])
        return png
    panel.render = timed_render  # Panel.refresh calls self.render(): this one, for this panel only
    def save(change):  # after the panel's own observer (observers run in the order they were added)
        KERNEL_LOG.write_text(json.dumps(_times))
    for w in panel.controls.values():
        w.observe(save, names="value")
    return panel

def pick_slider(panel, name, tag):
    """Mark the slider the benchmark moves: ``name``, or the first one shown and enabled."""
    shown, enabled = panel.shown(), panel.enabled()
    sliders = [n for n, w in panel.controls.items()
               if isinstance(w, (widgets.IntSlider, widgets.FloatSlider, widgets.FloatLogSlider))
               and shown[n] and enabled[n]]
    name = name or sliders[0]
    panel.controls[name].add_class(f"bench-slider-{tag}")
    panel.image.add_class(f"bench-img-{tag}")
    return name

def demo_play_panel():
    """A curve with a marker that a Play button moves along it."""
    x = np.linspace(0, 4 * np.pi, 400)
    def setup(fig):
        ax = fig.add_subplot()
        ax.plot(x, np.sin(x), color="#1f77b4")
        ax.set_xlabel("x"); ax.set_ylabel("sin x")
        dot, = ax.plot([], [], "o", color="#d62728", markersize=9, animated=True)
        def update(t):
            dot.set_data([x[t]], [np.sin(x[t])])
            return f"t = {t}"
        return update
    return Panel({"t": play_slider("t", 0, 399, 0, interval=100)}, setup, figsize=(11.25, 3.6))
'''

PANEL_CELL = r'''
panel_%(tag)s = %(builder)s
name_%(tag)s = pick_slider(panel_%(tag)s, %(control)r, %(tag)r)
picfloor_%(tag)s, pngpic_%(tag)s = picture_floors(panel_%(tag)s, name_%(tag)s, %(tag)r)
timed(panel_%(tag)s, %(tag)r)
panel_%(tag)s.widget.add_class("bench-panel-%(tag)s")
display(panel_%(tag)s)
display(floor_widget(%(tag)r))
display(picfloor_%(tag)s)
display(pngpic_%(tag)s)
'''

# Arm a measurement: resolve with ms from the next keydown to each watched element's change shown
# (an image: new src decoded, then the next frame; an HTML widget: new text, then the next frame).
_ARM_JS = """([selectors, timeoutMs]) => {
  const st = {t0: null};
  const key = () => { if (st.t0 === null) st.t0 = performance.now(); };
  document.addEventListener('keydown', key, {capture: true});
  const frame = () => new Promise(r => requestAnimationFrame(() => r(performance.now())));
  const watch = sel => new Promise(resolve => {
    const el = document.querySelector(sel);
    const isImg = el.tagName === 'IMG';
    const before = isImg ? el.getAttribute('src') : el.textContent;
    let obs = null;
    const timer = setTimeout(() => { obs.disconnect(); resolve(null); }, timeoutMs);
    obs = new MutationObserver(async () => {
      if ((isImg ? el.getAttribute('src') : el.textContent) === before) return;
      obs.disconnect(); clearTimeout(timer);
      if (isImg) { try { await el.decode(); } catch (e) {} }
      const t = await frame();
      resolve(st.t0 === null ? null : t - st.t0);
    });
    obs.observe(el, isImg ? {attributes: true, attributeFilter: ['src']}
                          : {childList: true, characterData: true, subtree: true});
  });
  window.__bench = Promise.all(selectors.map(watch)).finally(
    () => document.removeEventListener('keydown', key, {capture: true}));
}"""

_FOCUS_JS = """sel => {
  // focus a slider's handle (as a click on it would) and say which arrow key keeps it inside its range
  const h = document.querySelector(sel + ' .noUi-handle');
  h.focus({preventScroll: true});
  const now = +h.getAttribute('aria-valuenow'), lo = +h.getAttribute('aria-valuemin'),
        hi = +h.getAttribute('aria-valuemax');
  window.__benchDir = window.__benchDir || {};
  let d = window.__benchDir[sel] || 1;
  if (now >= hi) d = -1; else if (now <= lo) d = 1;
  window.__benchDir[sel] = d;
  return d > 0 ? 'ArrowRight' : 'ArrowLeft';
}"""

_PLAY_JS = """async ([tag, seconds]) => {
  // press Play; count the values stepped through and the new pictures shown, for `seconds`
  const panel = document.querySelector('.bench-panel-' + tag);
  const img = panel.querySelector(':scope > img.widget-image');
  const play = panel.querySelector('.widget-play');
  const knob = play.parentElement.querySelector('.noUi-handle');
  const buttons = play.querySelectorAll('button');
  let steps = 0, shown = 0, pending = 0;
  let lastValue = knob.getAttribute('aria-valuenow'), lastSrc = img.getAttribute('src');
  const valueObs = new MutationObserver(() => {
    const v = knob.getAttribute('aria-valuenow');
    if (v !== lastValue) { steps++; lastValue = v; }
  });
  valueObs.observe(knob, {attributes: true, attributeFilter: ['aria-valuenow']});
  let counting = true;
  const imgObs = new MutationObserver(() => {
    const s = img.getAttribute('src');
    if (s === lastSrc) return;
    lastSrc = s; pending++;
    img.decode().catch(() => {}).then(() => { pending--; if (counting) shown++; });
  });
  imgObs.observe(img, {attributes: true, attributeFilter: ['src']});
  buttons[0].click();
  const t0 = performance.now();
  await new Promise(r => setTimeout(r, seconds * 1000));
  counting = false;
  const dt = (performance.now() - t0) / 1000;
  buttons[1].click();  // pause
  valueObs.disconnect(); imgObs.disconnect();
  return {steps, shown, seconds: dt};
}"""


def _notebook(panels: dict[str, str | None], log: pathlib.Path) -> dict:
    def code(src: str) -> dict:
        return {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                "source": src.strip("\n")}
    cells = [code(SETUP_CELL % {"log": str(log)})]
    for tag, (builder, control) in enumerate(panels.items()):
        call = f"{builder}()" if builder == DEMO_PLAY else f"all_panels()[{builder!r}]()"
        cells.append(code(PANEL_CELL % {"tag": f"p{tag}", "builder": call, "control": control}))
    return {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                        "language": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


def _median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def measure_moves(page, nb_id: str, tag: str, moves: int, warmup: int = 2, timeout_ms: int = 5000) -> dict:
    """Alternate the floor, picture-floor, png-picture and panel key presses; return the latencies (ms) of each.

    Each press waits until the kernel is idle: a panel's update goes on after its picture is sent (its
    readout, which controls are enabled), and a press queued behind that would time it too."""
    def idle() -> None:
        page.wait_for_function(bs._KERNEL_STATE_JS, arg=nb_id, polling=10, timeout=60_000)
        page.wait_for_timeout(20)

    def press(slider: str, watched: list[str]) -> list:
        page.locator(watched[0]).scroll_into_view_if_needed()  # every picture timed on screen, as the panel's
        idle()
        page.evaluate(_ARM_JS, [watched, timeout_ms])
        page.keyboard.press(page.evaluate(_FOCUS_JS, slider))
        return page.evaluate("() => window.__bench")

    keys = ("floor_img", "floor_url", "floor_html", "picfloor", "pngpic", "ms")
    out: dict = {k: [] for k in keys}
    misses = 0
    page.locator(f".bench-panel-{tag}").scroll_into_view_if_needed()
    for i in range(warmup + moves):
        got = press(f".bench-floor-slider-{tag}",
                    [f".bench-floor-img-{tag}", f".bench-floorurl-img-{tag}", f".bench-floor-html-{tag}"])
        got += press(f".bench-picfloor-slider-{tag}", [f".bench-picfloor-img-{tag}"])
        got += press(f".bench-pngpic-slider-{tag}", [f".bench-pngpic-img-{tag}"])
        got += press(f".bench-slider-{tag}", [f".bench-img-{tag}"])
        if i < warmup:
            continue
        misses += got[-1] is None
        for k, ms in zip(keys, got):
            if ms is not None:
                out[k].append(ms)
    return {**out, "misses": misses}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--moves", type=int, default=20, help="timed key presses per panel (default 20)")
    ap.add_argument("--only", nargs="*", help="panel names (default: a set of ten); NAME:control picks the slider")
    ap.add_argument("--play-seconds", type=float, default=5.0)
    ap.add_argument("--width", type=int, default=1400)
    args = ap.parse_args(argv)
    reason = bs.chromium_missing_reason()
    if reason:
        print(f"cannot run: {reason}", file=sys.stderr)
        return 2
    panels = dict(DEFAULT_PANELS) if not args.only else {
        n.split(":")[0]: (n.split(":", 1)[1] if ":" in n else None) for n in args.only}
    panels[DEMO_PLAY] = None
    from playwright.sync_api import sync_playwright

    tmp = pathlib.Path(tempfile.mkdtemp(prefix="bench-browser-"))
    log = tmp / "kernel_times.json"
    nb_path = tmp / "browser_benchmark.ipynb"
    nb_path.write_text(json.dumps(_notebook(panels, log)), encoding="utf-8")
    names = list(panels)
    rows = []
    with bs.LabServer([nb_path]) as server, sync_playwright() as pw:
        problem = server.kernelspec_problem()
        if problem:
            print(problem, file=sys.stderr)
            return 2
        browser = bs.launch_browser(pw)
        try:
            page = browser.new_page(viewport={"width": args.width, "height": 1000}, device_scale_factor=2)
            lab = bs.LabPage(page, server).start()
            nbp = lab.open(nb_path.name)
            state = nbp.run_all(timeout=600)
            errors = nbp.error_texts()
            if state["pending"] or errors:
                print("the benchmark notebook failed:\n" + "\n".join(e[-2000:] for e in errors), file=sys.stderr)
                return 1
            print(f"JupyterLab {args.width} px wide, deviceScaleFactor {page.evaluate('devicePixelRatio')}; "
                  f"{args.moves} moves per panel after 2 warm-up moves\n")
            for i, name in enumerate(names):
                tag = f"p{i}"
                if name == DEMO_PLAY:
                    continue
                label = page.locator(f".bench-slider-{tag} .widget-label").first.inner_text().strip()
                r = measure_moves(page, nbp.id, tag, args.moves)
                rows.append({"panel": name, "control": label, **r})
                print(f"  {name}: {_median(r['ms']):.0f} ms (floor {_median(r['floor_img']):.0f} ms)",
                      file=sys.stderr)
            moves_log = json.loads(log.read_text()) if log.exists() else {}  # the moves' pictures, before Play's
            plays = []
            for i, name in enumerate(names):
                tag = f"p{i}"
                if not page.locator(f".bench-panel-{tag} .widget-play").count():
                    continue
                page.locator(f".bench-panel-{tag}").scroll_into_view_if_needed()
                # from the slider's start: Play stops at the end, and the moves above may have left it near there
                page.locator(f".bench-panel-{tag} .widget-play").locator("xpath=..").locator(".noUi-handle").focus()
                page.keyboard.press("Home")
                nbp.wait_idle(timeout=60)
                before = len(json.loads(log.read_text()).get(tag, [])) if log.exists() else 0
                r = page.evaluate(_PLAY_JS, [tag, args.play_seconds])
                nbp.wait_idle(timeout=60)
                kernel = json.loads(log.read_text()).get(tag, [])[before:]
                plays.append({"panel": name, **r, "kernel_ms": _median([k[0] for k in kernel]),
                              "updates": len(kernel)})
            nbp.close()
        finally:
            browser.close()
    _print_moves(rows, moves_log, names)
    _print_play(plays)
    return 0


def _print_moves(rows: list[dict], kernel_times: dict, names: list[str]) -> None:
    head = (f"{'panel':<24} {'slider':<16} {'n':>3} {'panel ms':>8} {'floor ms':>8} {'diff ms':>7} {'p90 ms':>7} "
            f"{'url floor':>9} {'html':>5} {'render ms':>9} {'pic floor':>9} {'- pic':>6} {'png pic':>7} {'PNG kB':>6}")
    print(head)
    print("-" * len(head))
    diffs = {"floor_img": [], "floor_url": [], "floor_html": [], "picfloor": [], "pngpic": []}
    for row in rows:
        tag = f"p{names.index(row['panel'])}"
        p = _median(row["ms"])
        m = {k: _median(row[k]) for k in diffs}
        for k in diffs:
            diffs[k].append(p - m[k] if k != "pngpic" else m[k] - m["picfloor"])
        p90 = sorted(row["ms"])[int(0.9 * (len(row["ms"]) - 1))] if row["ms"] else float("nan")
        logged = kernel_times.get(tag, [])[2:]  # the warm-up moves' pictures left out
        render = _median([k[0] for k in logged])
        kb = _median([k[1] / 1024 for k in logged])
        miss = f"  ({row['misses']} move(s) without a new picture)" if row["misses"] else ""
        print(f"{row['panel'][:24]:<24} {row['control'][:16]:<16} {len(row['ms']):>3} {p:>8.1f} {m['floor_img']:>8.1f} "
              f"{p - m['floor_img']:>+7.1f} {p90:>7.1f} {m['floor_url']:>9.1f} {m['floor_html']:>5.1f} {render:>9.1f} "
              f"{m['picfloor']:>9.1f} {p - m['picfloor']:>+6.1f} {m['pngpic']:>7.1f} {kb:>6.0f}{miss}")
    print("-" * len(head))
    a = {k: _median([x for r in rows for x in r[k]]) for k in ("ms", *diffs)}
    print(f"{'all moves':<24} {'':<16} {sum(len(r['ms']) for r in rows):>3} {a['ms']:>8.1f} {a['floor_img']:>8.1f} "
          f"{a['ms'] - a['floor_img']:>+7.1f} {'':>7} {a['floor_url']:>9.1f} {a['floor_html']:>5.1f} {'':>9} "
          f"{a['picfloor']:>9.1f} {a['ms'] - a['picfloor']:>+6.1f} {a['pngpic']:>7.1f}")
    print(f"median over panels of (panel - floor): {_median(diffs['floor_img']):+.1f} ms (target: <= +15 ms)")
    print(f"median over panels of (panel - 1x1 data: URL floor): {_median(diffs['floor_url']):+.1f} ms; "
          f"(panel - HTML floor): {_median(diffs['floor_html']):+.1f} ms")
    print(f"median over panels of (panel - picture floor): {_median(diffs['picfloor']):+.1f} ms; "
          f"(png picture - picture floor): {_median(diffs['pngpic']):+.1f} ms")
    print("panel/floor: keydown to the new picture decoded, next frame (floor: a 1x1 Image in format png set by a bare\n"
          "observer; url floor: a 1x1 Image given a data: URL, set by the same observer; html: its HTML widget);\n"
          "render: kernel draw + PNG encode (Panel.render); pic floor: the same bare observer setting the panel's own\n"
          "picture as a data: URL, rendered in advance (showing a 2x picture, no drawing in the kernel);\n"
          "- pic = panel - pic floor: what drawing in the kernel adds; png pic: the picture floor in format png\n"
          "(the browser makes a Blob URL and fetches it back)\n")


def _print_play(plays: list[dict]) -> None:
    if not plays:
        return
    head = f"{'Play':<26} {'s':>5} {'steps/s':>8} {'shown/s':>8} {'kernel ms':>9}"
    print(head)
    print("-" * len(head))
    for r in plays:
        print(f"{r['panel']:<26} {r['seconds']:>5.1f} {r['steps'] / r['seconds']:>8.1f} "
              f"{r['shown'] / r['seconds']:>8.1f} {r['kernel_ms']:>9.1f}")
    print("steps/s: values the Play widget stepped through; shown/s: new pictures decoded in the browser")


if __name__ == "__main__":
    sys.exit(main())
