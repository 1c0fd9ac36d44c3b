"""The static web edition: build time, page and site weight, frames per panel, control-to-picture latency.

    python benchmarks/site.py                       # builds site/ with python -m tools.site, then measures it
    python benchmarks/site.py --site site           # measures an existing build
    python benchmarks/site.py --only 04 --out /tmp/site --max-frames 40

The latency is measured in headless Chromium (the browser test's launch settings) on pages served
from 127.0.0.1: for every control of every static panel, a few moves at a person's pace (--pause-ms),
each made at the start of an animation frame; then every "试试" preset is clicked. Printed per page:
the time the input handler takes; how often the new picture was already loaded when the handler
returned (the page decodes the frames one move away ahead of time), so the next paint can show it;
the time until ``img.decode()`` resolves (Chromium resolves it with the frame that can show the
picture, so about one frame interval, ~16 ms, is the floor); how often that happened before a second
animation frame began; and how many presets put the controls at their state's positions and showed
the state's own frame.
Budgets, printed and never asserted: a control change shows its new frame within one animation
frame (~16 ms); every page at most 8 MB; the whole site at most 60 MB; the build at most 10 minutes
on 2 cores.
"""
from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import pathlib
import statistics
import subprocess
import sys
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

FRAME_MS, PAGE_MB, SITE_MB, BUILD_S = 16.0, 8.0, 60.0, 600.0

_MOVES_JS = """async ([panel, movesPerControl, pauseMs]) => {
  // move every enabled control through a few positions; for each change: the time the input handler
  // took, whether the new picture was already loaded (img.complete right after the change), the time
  // until img.decode() resolved (the picture is ready to paint), and how many animation frames began
  // before that (0 or 1: it is shown in the next frame)
  const inputs = Array.from(panel.querySelectorAll('[data-i]'));
  const img = panel.querySelector('img.sp-image');
  const data = JSON.parse(panel.querySelector('script.sp-data').textContent);
  const sizes = data.labels.map(labels => labels.length);
  const pos = el => el.type === 'checkbox' ? Number(el.checked) : el.tagName === 'SELECT' ? el.selectedIndex : Number(el.value);
  const set = (el, p) => {
    if (el.type === 'checkbox') el.checked = p === 1;
    else if (el.tagName === 'SELECT') el.selectedIndex = p;
    else el.value = String(p);
  };
  const out = [];
  for (const [i, el] of inputs.entries()) {
    for (let step = 0; step < Math.min(movesPerControl, sizes[i]); step++) {
      if (el.disabled) break;
      await new Promise(r => requestAnimationFrame(() => r()));  // change at the start of a frame
      const t0 = performance.now();
      set(el, (pos(el) + 1) % sizes[i]);
      el.dispatchEvent(new Event('input', {bubbles: true}));
      const t1 = performance.now();
      const loaded = img.complete;
      let frames = 0, counting = true;
      const tick = () => { if (counting) { frames++; requestAnimationFrame(tick); } };
      requestAnimationFrame(tick);
      await img.decode().catch(() => {});
      counting = false;
      out.push([t1 - t0, performance.now() - t0, frames, loaded]);
      await new Promise(r => setTimeout(r, pauseMs));  // a person's pace between two changes
    }
  }
  return out;
}"""


def build(args) -> float:
    """Run ``python -m tools.site`` as ``make site`` would; seconds of wall-clock time."""
    cmd = [sys.executable, "-m", "tools.site", "--out", args.out, "--jobs", str(args.jobs)]
    if args.only:
        cmd += ["--only", *args.only]
    if args.max_frames:
        cmd += ["--max-frames", str(args.max_frames)]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"})
    return time.perf_counter() - start


def _percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * (len(values) - 1) + 0.5))]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


_PRESETS_JS = """panel => {
  // click every "试试" preset of the panel (and "↺ 默认"); each must put the controls at its state's positions
  // and show its state's own frame: the data the build wrote says which
  const data = JSON.parse(panel.querySelector("script.sp-data").textContent);
  const frames = JSON.parse(document.getElementById("sp-frames").textContent);
  const img = panel.querySelector("img.sp-image");
  const positions = () => Array.from(panel.querySelectorAll("[data-i]")).sort((a, b) => a.dataset.i - b.dataset.i)
    .map(e => e.tagName === "SELECT" ? e.selectedIndex : e.type === "checkbox" ? Number(e.checked) : Number(e.value));
  const wrong = [];
  let clicked = 0;
  for (const button of panel.querySelectorAll("button[data-state]")) {
    button.click();
    clicked += 1;
    const state = data.states[Number(button.dataset.state)];
    const b64 = frames[data.frames[state.index]];
    const uri = (b64.startsWith("UklGR") ? "data:image/webp;base64," : "data:image/png;base64,") + b64;
    if (JSON.stringify(positions()) !== JSON.stringify(state.positions) || img.getAttribute("src") !== uri)
      wrong.push(button.textContent.trim());
  }
  return [clicked, wrong];
}"""


def measure_browser(site: pathlib.Path, pages: list[str], moves: int, pause_ms: int) -> dict[str, dict]:
    """Per page: load time and the latency of every control change (ms)."""
    import browser_support as bs

    reason = bs.chromium_missing_reason()
    if reason:
        print(f"browser latency not measured: {reason}")
        return {}
    from playwright.sync_api import sync_playwright

    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    results = {}
    try:
        with sync_playwright() as pw:
            browser = bs.launch_browser(pw)
            try:
                for name in pages:
                    page = browser.new_page(viewport={"width": 1280, "height": 900})
                    errors, outside = [], []
                    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                    # a page loads nothing from outside the site: any such request is refused and counted
                    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(base)
                               else (outside.append(r.request.url), r.abort()))
                    page.goto(f"{base}/{name}", wait_until="load")
                    load_ms = page.evaluate("() => performance.getEntriesByType('navigation')[0].loadEventEnd")
                    times, presets, wrong = [], 0, []
                    panels = page.locator(".static-panel")
                    for i in range(panels.count()):
                        panel = panels.nth(i)
                        panel.scroll_into_view_if_needed()
                        page.wait_for_timeout(pause_ms * 4)  # scrolled to it, then reached for a control
                        times += page.evaluate(_MOVES_JS, [panel.element_handle(), moves, pause_ms])
                        clicked, missed = page.evaluate(_PRESETS_JS, panel.element_handle())
                        presets += clicked
                        wrong += [f"{panel.get_attribute('data-panel')}: {m}" for m in missed]
                    results[name] = {"load_ms": load_ms, "times": times, "presets": presets, "wrong": wrong,
                                     "errors": errors + [f"request outside the site: {url}" for url in outside]}
                    page.close()
            finally:
                browser.close()
    finally:
        httpd.shutdown()
        httpd.server_close()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--site", help="measure this existing build instead of building")
    parser.add_argument("--out", default=str(ROOT / "site"), help="where to build (default site/)")
    parser.add_argument("--only", nargs="+", metavar="NN", help="build only these notebooks")
    parser.add_argument("--max-frames", type=int, help="passed to python -m tools.site")
    parser.add_argument("--jobs", type=int, default=2, help="render processes (default 2)")
    parser.add_argument("--moves", type=int, default=4, help="moves per control in the browser (default 4)")
    parser.add_argument("--pause-ms", type=int, default=100, help="pause between two control changes (default 100)")
    args = parser.parse_args(argv)

    seconds = None
    site = pathlib.Path(args.site or args.out)
    if not args.site:
        seconds = build(args)
    report = json.loads((site / ".site-build.json").read_text(encoding="utf-8"))
    files = [p for p in site.rglob("*") if p.is_file()]
    site_mb = sum(p.stat().st_size for p in files) / 1e6

    print(f"\n{'page / panel':58s} {'frames':>6s} {'MB':>6s} {'render s':>8s}  grid (values per control; "
          "† one at a time)")
    for page in report["pages"]:
        print(f"{page['page']:58s} {page['frames']:6d} {page['bytes'] / 1e6:6.2f}")
        for p in page["panels"]:
            grid = ", ".join(f"{k}{'†' if k in p.get('solo', ()) else ''} {len(v)}" for k, v in p["grid"].items())
            grid += "  (rendered in the notebook's kernel)" if p.get("in_kernel") else ""
            print(f"  {p['call'][:56]:56s} {p['frames']:6d} {p['bytes'] * 4 / 3 / 1e6:6.2f} {p['seconds']:8.1f}  {grid}")

    names = [p["page"] for p in report["pages"]]
    browser = measure_browser(site, names, args.moves, args.pause_ms)
    if browser:
        print(f"\n{'page':24s} {'load ms':>8s} {'changes':>7s} {'handler ms':>10s} {'preloaded':>9s} "
              f"{'ready ms (median / p90 / max)':>30s} {'in next frame':>13s}  console errors  presets right")
        everything = []
        for name, r in browser.items():
            t = r["times"]
            everything += t
            right = f"{r['presets'] - len(r['wrong'])} of {r['presets']}"
            if not t:
                print(f"{name:24s} {r['load_ms']:8.0f} {0:7d}{'':67s}{len(r['errors']):3d}  {right:>16s}")
                continue
            ready = [x[1] for x in t]
            print(f"{name:24s} {r['load_ms']:8.0f} {len(t):7d} {statistics.median(x[0] for x in t):10.2f} "
                  f"{sum(x[3] for x in t) / len(t):9.0%} {statistics.median(ready):12.1f} / {_percentile(ready, 0.9):5.1f} / "
                  f"{max(ready):6.1f} {sum(x[2] <= 1 for x in t) / len(t):13.0%}  {len(r['errors']):14d}  {right:>13s}")
            for text in r["wrong"]:
                print(f"    preset not shown as built: {text}")
        if everything:
            ready = [x[1] for x in everything]
            print(f"all {len(everything)} control changes: handler median {statistics.median(x[0] for x in everything):.2f} ms; "
                  f"picture ready in median {statistics.median(ready):.1f} ms (p90 {_percentile(ready, 0.9):.1f} ms); "
                  f"already loaded when the handler returned: {sum(x[3] for x in everything) / len(everything):.0%}; "
                  f"ready before a second frame began: {sum(x[2] <= 1 for x in everything) / len(everything):.0%}")

    biggest = max(report["pages"], key=lambda p: p["bytes"])
    print(f"\nbudgets: largest page {biggest['page']} {biggest['bytes'] / 1e6:.2f} MB (<= {PAGE_MB:.0f} MB); "
          f"site {site_mb:.1f} MB in {len(files)} files (<= {SITE_MB:.0f} MB); "
          + (f"build {seconds:.0f} s wall (<= {BUILD_S:.0f} s; the build measured {report['seconds']:.0f} s)"
             if seconds is not None else f"build {report['seconds']:.0f} s (as recorded by the build)"))
    frames = [p["frames"] for page in report["pages"] for p in page["panels"]]
    if frames:
        print(f"frames per panel: min {min(frames)}, median {statistics.median(frames):.0f}, max {max(frames)}; "
              f"{sum(frames)} in {len(frames)} panels; cap {report['max_frames']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
