"""Every notebook in a real JupyterLab, in headless chromium: Run All, no errors, every panel reacts.

One JupyterLab server (on a temporary copy of the notebooks), one browser and one page for the
module: JupyterLab loads once and opens the notebooks one after the other by its own commands,
a fresh kernel per notebook (shut down when the notebook closes). Besides errors and reacting
panels, the layout of every panel is checked: no label or dropdown option cut off, slider tracks
of at least 120 px, the picture at its layout width with 2 picture pixels per CSS pixel.
See ``browser_support.py`` for the details.

    pytest -m browser tests/test_browser.py
    BROWSER_NOTEBOOKS=/some/dir pytest -m browser tests/test_browser.py   # other notebooks
    BROWSER_SCREENSHOTS=/tmp/shots ...   # also save a screenshot of each notebook after the checks

Without /usr/bin/chromium the tests are skipped, unless the environment variable CI is set:
then they fail.
"""
from __future__ import annotations

import os
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import browser_support as bs  # noqa: E402

NB_DIR = pathlib.Path(os.environ.get("BROWSER_NOTEBOOKS") or bs.ROOT / "notebooks")
NOTEBOOKS = sorted(NB_DIR.glob("*.ipynb"))
RUN_TIMEOUT = float(os.environ.get("BROWSER_RUN_TIMEOUT", "120"))

pytestmark = pytest.mark.browser


def _next_notebook(request) -> pathlib.Path | None:
    """The notebook of the next test this session runs (if it is one of these): its kernel starts early."""
    items = request.session.items
    try:
        following = items[items.index(request.node) + 1:]
    except ValueError:
        return None
    for item in following[:1]:
        if getattr(item, "originalname", None) == request.node.originalname and item.module is request.module:
            return item.callspec.params["notebook"]
    return None


@pytest.fixture(scope="module")
def lab():
    bs.require_chromium()
    with bs.LabServer(NOTEBOOKS) as server:
        problem = server.kernelspec_problem()
        assert problem is None, problem
        yield server


@pytest.fixture(scope="module")
def browser(lab):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = bs.launch_browser(pw)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def lab_page(lab, browser, request):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    lab_page = bs.LabPage(page, lab)
    first = next((item.callspec.params["notebook"] for item in request.session.items
                  if item.module is request.module and hasattr(item, "callspec")), None)
    if first is not None:  # its kernel starts while JupyterLab loads
        lab_page.prestart(first.name)
    try:
        yield lab_page.start()
    finally:
        page.close()


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_in_jupyterlab(notebook, lab, lab_page, record_property, request):
    shots = os.environ.get("BROWSER_SCREENSHOTS")
    if shots:
        pathlib.Path(shots).mkdir(parents=True, exist_ok=True)
    following = _next_notebook(request)
    try:
        report = bs.check_notebook(lab_page, notebook, run_timeout=RUN_TIMEOUT,
                                   screenshot=pathlib.Path(shots) / f"{notebook.stem}.png" if shots else None,
                                   next_notebook=following.name if following else None)
    finally:
        lab.shutdown_kernels(keep=lab_page.prestarted())  # in case closing the notebook did not
    print(report.summary())
    for key, value in report.timings.items():
        record_property(f"seconds {key}", round(value, 2))
    assert not report.problems, f"{notebook.name} in JupyterLab:\n- " + "\n- ".join(report.problems)
