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

# the panel's picture (the one marked as found, else the last widget picture): URL, natural and shown width,
# and whether a slider handle sits in the same output
_PICTURE_JS = """() => {
  const img = document.querySelector('img.widget-image[data-found]') ||
              [...document.querySelectorAll('img.widget-image')].pop();
  if (!img || !img.isConnected) return null;
  const out = img.closest('.output_area');
  return {src: img.getAttribute('src'), natural: img.naturalWidth, shown: img.getBoundingClientRect().width,
          complete: img.complete, handles: out ? out.querySelectorAll('.ui-slider-handle').length : 0};
}"""

# mark the panel's picture once it is shown (decoded), and different from ``prev``
_FIND_JS = """prev => {
  const img = [...document.querySelectorAll('img.widget-image')].pop();
  if (!img || !img.complete || img.naturalWidth === 0 || img.getAttribute('src') === prev) return false;
  document.querySelectorAll('img.widget-image[data-found]').forEach(i => { if (i !== img) delete i.dataset.found; });
  img.dataset.found = '1';
  return true;
}"""

# what the kernel holds now: the Image widget's value (sha-256 of the data: URL), the CSS width, the format
_KERNEL_JS = """() => new Promise((resolve, reject) => {
  const code = "import hashlib, json\\n" +
    "print(json.dumps([hashlib.sha256(bytes(panel.image.value)).hexdigest(), panel.css_width, panel.image.format]))";
  const timer = setTimeout(() => reject('the kernel did not answer within 30 s'), 30000);
  Jupyter.notebook.kernel.execute(code, {iopub: {output: msg => {
    clearTimeout(timer);
    if (msg.msg_type === 'stream' && msg.content.name === 'stdout') resolve(msg.content.text);
    else reject(JSON.stringify(msg.content).slice(0, 2000));
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


def _show_panel(page, errors: list[str]) -> dict:
    """Run the cell until the panel's picture is shown and stays: the widget extension re-renders every widget
    output once its first load from the kernel is done, and a view shown before that can come back empty."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.wait_for_function("() => Jupyter.notebook.kernel.widget_manager !== undefined", timeout=60_000)
    # the manager's first load asks the kernel for its widgets; a kernel that has answered a later request has
    # answered that one: the panel's cell runs after the load (else its first view comes out empty)
    page.evaluate("""() => new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject('the kernel did not answer within 60 s'), 60000);
      Jupyter.notebook.kernel.execute('pass', {shell: {reply: () => { clearTimeout(timer); resolve(); }}});
    })""")
    page.wait_for_timeout(500)
    seen = []
    for _ in range(4):
        page.evaluate("() => Jupyter.notebook.execute_all_cells()")
        try:
            page.wait_for_function(_FIND_JS, arg=None, timeout=20_000, polling=50)
        except PlaywrightTimeout:
            seen.append("no picture within 20 s")
            continue
        page.wait_for_timeout(2000)  # a re-render would come within this
        shown = page.evaluate(_PICTURE_JS)
        if shown and shown["complete"] and shown["natural"] > 0 and shown["handles"]:
            return shown
        seen.append(f"the picture went away or has no slider beside it: {shown}")
    pytest.fail(f"no lasting panel in the classic notebook: {seen}; page errors: {errors}")


def test_ipywidgets_7_front_end_shows_the_panels_data_url_picture_and_its_moves():
    bs.require_chromium()
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
            first = _show_panel(page, errors)
            sha, css_width, fmt = _kernel_picture(page)
            assert fmt == "url" and first["src"].startswith("data:image/png;base64,")
            assert page.evaluate(_SHA_JS, first["src"]) == sha, "the picture shown is not the kernel's"
            assert abs(first["shown"] - css_width) < 0.5 and first["natural"] == 2 * css_width, first

            # ipywidgets 7 sliders are jQuery UI sliders: the first one in the panel's output
            page.locator(".output_area:has(img.widget-image[data-found]) .ui-slider-handle").first.focus()
            page.keyboard.press("ArrowRight")
            page.wait_for_function(_FIND_JS, arg=first["src"], timeout=30_000, polling=50)
            moved = page.evaluate(_PICTURE_JS)
            sha_moved, _, _ = _kernel_picture(page)
            assert sha_moved != sha, "the key press did not change the kernel's picture"
            assert page.evaluate(_SHA_JS, moved["src"]) == sha_moved, "the new picture shown is not the kernel's"
            assert moved["natural"] == 2 * css_width and abs(moved["shown"] - css_width) < 0.5, moved
            assert not errors, errors
        finally:
            browser.close()
