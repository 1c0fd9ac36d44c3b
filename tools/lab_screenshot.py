"""Screenshot a notebook as JupyterLab shows it: Run All, move the first slider, save a PNG.

Starts its own JupyterLab (127.0.0.1, random token) on a temporary copy of the notebook and
drives Debian's headless chromium with Playwright (the same code as ``tests/test_browser.py``).

    python tools/lab_screenshot.py notebooks/02_activations.ipynb /tmp/02.png
    python tools/lab_screenshot.py NB OUT.png --width 1400 --no-move

Prints the problems the browser test would report (errors in cells, panels that do not react)
and exits 1 if there are any; the screenshot is saved either way.
"""
from __future__ import annotations

import argparse
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))
import browser_support as bs  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("notebook", type=pathlib.Path)
    ap.add_argument("output", type=pathlib.Path, help="PNG file to write")
    ap.add_argument("--width", type=int, default=1280, help="window width in pixels (default 1280)")
    ap.add_argument("--no-move", action="store_true", help="do not move the first slider")
    ap.add_argument("--timeout", type=float, default=180, help="seconds allowed for Run All")
    args = ap.parse_args(argv)
    if not args.notebook.is_file():
        ap.error(f"no such notebook: {args.notebook}")
    reason = bs.chromium_missing_reason()
    if reason:
        print(f"cannot take a screenshot: {reason}", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    t0 = time.monotonic()
    problems: list[str] = []
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with bs.LabServer([args.notebook]) as server, sync_playwright() as pw:
        browser = bs.launch_browser(pw)
        try:
            page = browser.new_page(viewport={"width": args.width, "height": 900})
            nbp = bs.LabPage(page, server).start().open(args.notebook.name)
            state = nbp.run_all(timeout=args.timeout)
            if state["pending"]:
                problems.append(f"{state['pending']} code cell(s) did not run")
            problems += [f"error output: {t[-800:]}" for t in nbp.error_texts()]
            n = nbp.panels().count()
            if n and not args.no_move:
                sliders = [i for i in range(n) if nbp.panels().nth(i).locator(".noUi-handle").count()]
                res = nbp.exercise_panel(sliders[0] if sliders else 0)
                print(f"panel #{res.index + 1}: moved {res.control or 'nothing'}"
                      + (f", new image after {res.ms:.0f} ms" if res.changed else ""))
                problems += res.notes if not res.changed else []
                problems += [f"panel #{res.index + 1} layout: {p}" for p in res.layout]
                nbp.wait_idle()
                nbp.panels().nth(res.index).scroll_into_view_if_needed()
            nbp.screenshot(args.output)
        finally:
            browser.close()
    print(f"{args.output}: {n} panel(s), {time.monotonic() - t0:.1f} s")
    for p in problems:
        print("PROBLEM:", p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
