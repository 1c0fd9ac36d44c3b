"""Browser latency: a slider key press to the new picture shown, against the bare widget round trip.

    python benchmarks/browser.py [--moves 20] [--only activation_panel ...] [--play-seconds 5]

Runs JupyterLab (as ``tests/test_browser.py`` does: a temporary server, Debian's headless chromium via
Playwright) on a temporary notebook with one cell per panel, at ``deviceScaleFactor`` 2 (a 2x screen).
Each cell shows the panel and, under it, a *floor* widget: a plain ``IntSlider`` whose observer in the
kernel sets a 1x1 ``Image`` (and then an ``HTML``) widget, nothing else: the bare widget round trip.

For each panel, ``--moves`` times (after two warm-up moves), alternately:
- the floor: focus the floor slider, press an arrow key (the kernel idle), time from the ``keydown`` event to the 1x1
  image's new ``src`` decoded (``img.decode()``) and the next animation frame (the HTML too);
- the panel: the same key press on the panel's slider, timed to its new picture decoded, next frame.
A third slider, the *picture floor*, has the same bare observer set the panel's own picture (two of its
frames, rendered in advance) at the panel's size: the cost of showing a 2x picture, without drawing it.
The three moves alternate, so all see the same load of a shared machine. The kernel-side time
of each picture (draw + PNG encode, ``Panel.render``) and its size are logged by the kernel as well.

Play: for a small demo panel made with ``play_slider`` (and every listed panel that has a Play
button), press Play and count, over ``--play-seconds``, the slider values the Play widget stepped
through and the new pictures actually shown (decoded) in the browser: frames per second.

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
import io, json, pathlib, time
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

def floor_widget(tag, pngs=None, width=8, kind="floor"):
    """The bare round trip: a slider whose observer sets an Image (two 1x1 PNGs in turn, or ``pngs``: the
    panel's own pictures, rendered in advance) and an HTML widget."""
    pngs = pngs or _FLOOR_PNGS
    slider = widgets.IntSlider(value=0, min=0, max=1000, description=kind)
    slider.add_class(f"bench-{kind}-slider-{tag}")
    image = widgets.Image(value=pngs[0], format="png", layout=widgets.Layout(width=f"{width}px"))
    image.add_class(f"bench-{kind}-img-{tag}")
    html = widgets.HTML("0")
    html.add_class(f"bench-{kind}-html-{tag}")
    def on_change(change):
        image.value = pngs[change["new"] %% 2]
        html.value = str(change["new"])
    slider.observe(on_change, names="value")
    if kind == "floor":
        return widgets.HBox([slider, image, html])
    return widgets.VBox([widgets.HBox([slider, html]), image])  # a picture as wide as the panel's: under its slider

def picture_floor(panel, name, tag):
    """The same round trip with the panel's own picture at its size: two of its frames (this one and the
    moved slider at its other end), rendered in advance, so the kernel does no drawing."""
    w = panel.controls[name]
    lo, hi = (w.base ** w.min, w.base ** w.max) if isinstance(w, widgets.FloatLogSlider) else (w.min, w.max)
    other = hi if w.value != hi else lo
    pngs = [panel.render(), panel.render(**{name: other})]
    return floor_widget(tag, pngs, panel.css_width, "picfloor")

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
picfloor_%(tag)s = picture_floor(panel_%(tag)s, name_%(tag)s, %(tag)r)
timed(panel_%(tag)s, %(tag)r)
panel_%(tag)s.widget.add_class("bench-panel-%(tag)s")
display(panel_%(tag)s)
display(floor_widget(%(tag)r))
display(picfloor_%(tag)s)
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
    """Alternate floor and panel key presses; return the latencies (ms) of each.

    Each press waits until the kernel is idle: a panel's update goes on after its picture is sent (its
    readout, which controls are enabled), and a press queued behind that would time it too."""
    def idle() -> None:
        page.wait_for_function(bs._KERNEL_STATE_JS, arg=nb_id, polling=10, timeout=60_000)
        page.wait_for_timeout(20)

    floor_img, floor_html, pic_ms, panel_ms, misses = [], [], [], [], 0
    floor_sel, pic_sel, panel_sel = f".bench-floor-slider-{tag}", f".bench-picfloor-slider-{tag}", f".bench-slider-{tag}"
    page.locator(f".bench-panel-{tag}").scroll_into_view_if_needed()
    for i in range(warmup + moves):
        idle()
        page.evaluate(_ARM_JS, [[f".bench-floor-img-{tag}", f".bench-floor-html-{tag}"], timeout_ms])
        page.keyboard.press(page.evaluate(_FOCUS_JS, floor_sel))
        img_ms, html_ms = page.evaluate("() => window.__bench")
        idle()
        page.evaluate(_ARM_JS, [[f".bench-picfloor-img-{tag}"], timeout_ms])
        page.keyboard.press(page.evaluate(_FOCUS_JS, pic_sel))
        (q_ms,) = page.evaluate("() => window.__bench")
        idle()
        page.evaluate(_ARM_JS, [[f".bench-img-{tag}"], timeout_ms])
        page.keyboard.press(page.evaluate(_FOCUS_JS, panel_sel))
        (p_ms,) = page.evaluate("() => window.__bench")
        if i < warmup:
            continue
        if img_ms is not None:
            floor_img.append(img_ms)
        if html_ms is not None:
            floor_html.append(html_ms)
        if q_ms is not None:
            pic_ms.append(q_ms)
        if p_ms is None:
            misses += 1
        else:
            panel_ms.append(p_ms)
    return {"floor_img": floor_img, "floor_html": floor_html, "picfloor": pic_ms, "ms": panel_ms, "misses": misses}


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
            plays = []
            for i, name in enumerate(names):
                tag = f"p{i}"
                if not page.locator(f".bench-panel-{tag} .widget-play").count():
                    continue
                page.locator(f".bench-panel-{tag}").scroll_into_view_if_needed()
                before = len(json.loads(log.read_text()).get(tag, [])) if log.exists() else 0
                r = page.evaluate(_PLAY_JS, [tag, args.play_seconds])
                nbp.wait_idle(timeout=60)
                kernel = json.loads(log.read_text()).get(tag, [])[before:]
                plays.append({"panel": name, **r, "kernel_ms": _median([k[0] for k in kernel]),
                              "updates": len(kernel)})
            nbp.close()
        finally:
            browser.close()
    kernel_times = json.loads(log.read_text()) if log.exists() else {}
    _print_moves(rows, kernel_times, names)
    _print_play(plays)
    return 0


def _print_moves(rows: list[dict], kernel_times: dict, names: list[str]) -> None:
    head = (f"{'panel':<24} {'slider':<18} {'n':>3} {'panel ms':>8} {'floor ms':>8} {'diff ms':>7} "
            f"{'p90 ms':>7} {'render ms':>9} {'pic floor':>9} {'- pic':>6} {'PNG kB':>6}")
    print(head)
    print("-" * len(head))
    diffs, pic_diffs = [], []
    for row in rows:
        tag = f"p{names.index(row['panel'])}"
        p, f, q = _median(row["ms"]), _median(row["floor_img"]), _median(row["picfloor"])
        diffs.append(p - f)
        pic_diffs.append(p - q)
        p90 = sorted(row["ms"])[int(0.9 * (len(row["ms"]) - 1))] if row["ms"] else float("nan")
        logged = kernel_times.get(tag, [])[2:]  # the warm-up moves' pictures left out
        render = _median([k[0] for k in logged])
        kb = _median([k[1] / 1024 for k in logged])
        miss = f"  ({row['misses']} move(s) without a new picture)" if row["misses"] else ""
        print(f"{row['panel'][:24]:<24} {row['control'][:18]:<18} {len(row['ms']):>3} {p:>8.1f} {f:>8.1f} "
              f"{p - f:>+7.1f} {p90:>7.1f} {render:>9.1f} {q:>9.1f} {p - q:>+6.1f} {kb:>6.0f}{miss}")
    print("-" * len(head))
    all_p = [x for r in rows for x in r["ms"]]
    all_f = [x for r in rows for x in r["floor_img"]]
    all_q = [x for r in rows for x in r["picfloor"]]
    print(f"{'all panels':<24} {'':<18} {len(all_p):>3} {_median(all_p):>8.1f} {_median(all_f):>8.1f} "
          f"{_median(all_p) - _median(all_f):>+7.1f} {'':>7} {'':>9} {_median(all_q):>9.1f} "
          f"{_median(all_p) - _median(all_q):>+6.1f}")
    print(f"median over panels of (panel - floor): {_median(diffs):+.1f} ms (target: <= +15 ms)")
    print(f"median over panels of (panel - picture floor): {_median(pic_diffs):+.1f} ms")
    print("panel/floor: keydown to the new picture decoded, next frame (floor: a 1x1 Image set by a bare observer);\n"
          "render: kernel draw + PNG encode (Panel.render); pic floor: the same bare observer setting the panel's own\n"
          "picture, rendered in advance (the browser's decode of a 2x picture, no drawing in the kernel);\n"
          "- pic = panel - pic floor: what drawing in the kernel adds to what any 2x picture costs\n")


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
