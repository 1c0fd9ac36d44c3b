"""A panel in ipywidgets 7's JavaScript front end (the classic notebook 6.5 of Colab's widget stack), in Chromium.

Panels give their ``Image`` widget a ``data:`` URL (format "url"). ``tests/test_colab_stack.py`` runs every
notebook under Colab's kernel side, and ``tests/test_browser.py`` shows every panel in JupyterLab with
ipywidgets 8's JavaScript; this test checks that ipywidgets 7's own view shows that picture too, at its CSS
width with 2 picture pixels per CSS pixel, and that a key press on a slider brings exactly the kernel's new
picture.

Without /usr/bin/chromium the test is skipped, unless the environment variable CI is set: then it fails.
"""
from __future__ import annotations

import json
import os
import pathlib
import sys
import tempfile

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import browser_support as bs  # noqa: E402
import colab_support as cs  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.colab]

PANEL = "activation_panel"
CELL = f"""from helpers.panels import all_panels
panel = all_panels()[{PANEL!r}]()
panel"""

# the last widget picture on the page: its URL, natural and shown width (CSS px)
_PICTURE_JS = """() => {
  const img = [...document.querySelectorAll('img.widget-image')].pop();
  return img ? {src: img.getAttribute('src'), natural: img.naturalWidth,
                shown: img.getBoundingClientRect().width} : null;
}"""

# what the kernel holds now: the Image widget's value (sha-256 of the data: URL) and the CSS width
_KERNEL_JS = """() => new Promise((resolve, reject) => {
  const code = "import hashlib, json\\n" +
    "print(json.dumps([hashlib.sha256(bytes(panel.image.value)).hexdigest(), panel.css_width, panel.image.format]))";
  Jupyter.notebook.kernel.execute(code, {iopub: {output: msg => {
    if (msg.msg_type === 'stream') resolve(msg.content.text); else reject(JSON.stringify(msg.content));
  }}});
})"""

_SHA_JS = """async text => {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map(b => b.toString(16).padStart(2, '0')).join('');
}"""


def _notebook(path: pathlib.Path) -> None:
    nb = {"cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": CELL}],
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb), encoding="utf-8")


def _kernel_picture(page) -> tuple[str, int, str]:
    sha, width, fmt = json.loads(page.evaluate(_KERNEL_JS))
    return sha, width, fmt


def _shown_picture(page, previous_src: str | None = None, timeout_ms: int = 60_000) -> dict:
    """The panel's picture once it is shown (decoded), and different from ``previous_src`` if given."""
    page.wait_for_function(
        """prev => { const img = [...document.querySelectorAll('img.widget-image')].pop();
                     return img && img.complete && img.naturalWidth > 0 && img.getAttribute('src') !== prev; }""",
        arg=previous_src, timeout=timeout_ms, polling=50)
    return page.evaluate(_PICTURE_JS)


def test_ipywidgets_7_front_end_shows_the_panels_data_url_picture_and_its_moves():
    reason = bs.chromium_missing_reason()
    if reason:
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail(f"browser test cannot run under CI: {reason}")
        pytest.skip(reason)
    python = cs.colab_python()
    from playwright.sync_api import sync_playwright

    tmp = pathlib.Path(tempfile.mkdtemp(prefix="classic-widgets-"))
    nb_path = tmp / "panel.ipynb"
    _notebook(nb_path)
    errors: list[str] = []
    with bs.ClassicServer([nb_path], python=str(python)) as server, sync_playwright() as pw:
        problem = server.kernelspec_problem()
        assert problem is None, problem
        browser = bs.launch_browser(pw)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 900}, device_scale_factor=2)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(server.notebook_url(nb_path.name))
            page.wait_for_function("() => window.Jupyter && Jupyter.notebook && Jupyter.notebook.kernel"
                                   " && Jupyter.notebook.kernel.is_connected()", timeout=90_000)
            # the widget extension registers its renderer after the kernel connects: a cell run before
            # that shows no widget, so run the cell again until the panel's picture is there
            first = None
            for _ in range(6):
                page.evaluate("() => Jupyter.notebook.execute_all_cells()")
                try:
                    first = _shown_picture(page, timeout_ms=15_000)
                    break
                except Exception:
                    continue
            assert first is not None, f"no panel picture in the classic notebook; page errors: {errors}"
            sha, css_width, fmt = _kernel_picture(page)
            assert fmt == "url" and first["src"].startswith("data:image/png;base64,")
            assert page.evaluate(_SHA_JS, first["src"]) == sha, "the picture shown is not the kernel's"
            assert abs(first["shown"] - css_width) < 0.5 and first["natural"] == 2 * css_width, first

            handle = page.locator(".ui-slider-handle").first  # ipywidgets 7 sliders are jQuery UI sliders
            handle.focus()
            page.keyboard.press("ArrowRight")
            moved = _shown_picture(page, previous_src=first["src"])
            sha_moved, _, _ = _kernel_picture(page)
            assert sha_moved != sha, "the key press did not change the kernel's picture"
            assert page.evaluate(_SHA_JS, moved["src"]) == sha_moved, "the new picture shown is not the kernel's"
            assert moved["natural"] == 2 * css_width and abs(moved["shown"] - css_width) < 0.5, moved
            assert not errors, errors
        finally:
            browser.close()
