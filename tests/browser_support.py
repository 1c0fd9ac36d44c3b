"""Drive the course notebooks in a real JupyterLab with Debian's chromium (via Playwright).

Shared by ``tests/test_browser.py`` and ``tools/lab_screenshot.py``:

* :class:`LabServer` starts ``python -m jupyter lab`` on 127.0.0.1 (free port, random token,
  no browser) on a temporary *copy* of the notebooks (JupyterLab autosaves), with a fresh
  workspaces dir, its own user settings (no news/update notification, no virtual rendering of
  cells) and the Jupyter paths of this Python environment only, so the notebooks' kernelspec
  ``python3`` is this environment's kernel.
* :func:`launch_browser` starts headless chromium.
* :class:`NotebookPage` opens one notebook, runs all cells, collects error outputs, finds the
  panels (a ``widgets.VBox`` holding controls and a ``widgets.Image``) and moves their controls.
"""
from __future__ import annotations

import json
import os
import pathlib
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("BROWSER_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]
NB_SUBDIR = "notebooks"  # the copy keeps the repo layout so ``../pic/x.png`` still resolves
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}

# what the notebook shows (all scoped to the visible notebook panel)
VISIBLE_NB = ".jp-NotebookPanel:visible"
PANEL_SEL = ".widget-vbox:has(> img.widget-image)"
ERROR_SEL = (".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'], "
             ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']")


# ----------------------------------------------------------------------------- server
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LabServer:
    """``python -m jupyter lab`` on a temporary copy of ``notebooks``; use as a context manager."""

    def __init__(self, notebooks: list[pathlib.Path], *, python: str = sys.executable,
                 startup_timeout: float = 90.0) -> None:
        self.notebooks = [pathlib.Path(p).resolve() for p in notebooks]
        self.python = python
        self.startup_timeout = startup_timeout
        self.token = secrets.token_hex(24)
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.tmp: pathlib.Path | None = None
        self._log = None

    # -- lifecycle
    def __enter__(self) -> "LabServer":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix="lab-browser-"))
        root = self.tmp / "root"
        (root / NB_SUBDIR).mkdir(parents=True)
        for nb in self.notebooks:
            shutil.copy2(nb, root / NB_SUBDIR / nb.name)
        if (ROOT / "pic").is_dir():
            shutil.copytree(ROOT / "pic", root / "pic")
        settings = self.tmp / "settings"
        for rel, value in LAB_SETTINGS.items():
            path = settings / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(value), encoding="utf-8")
        for d in ("workspaces", "config", "data", "runtime"):
            (self.tmp / d).mkdir()

        # the environment of ``python`` (not resolved: a venv's python is a link to the base one)
        prefix = sys.prefix if self.python == sys.executable else pathlib.Path(self.python).absolute().parents[1]
        prefix_share = pathlib.Path(prefix) / "share" / "jupyter"
        env = dict(os.environ)
        for var in ("JUPYTER_TOKEN", "JUPYTER_PORT", "JUPYTER_CONFIG_PATH"):
            env.pop(var, None)
        env.update(
            JUPYTERLAB_SETTINGS_DIR=str(settings),
            JUPYTERLAB_WORKSPACES_DIR=str(self.tmp / "workspaces"),
            # only this environment's Jupyter paths: no user kernels/config can shadow ``python3``
            JUPYTER_CONFIG_DIR=str(self.tmp / "config"),
            JUPYTER_DATA_DIR=str(self.tmp / "data"),
            JUPYTER_RUNTIME_DIR=str(self.tmp / "runtime"),
            JUPYTER_PATH=str(prefix_share),
            JUPYTER_PREFER_ENV_PATH="1",
            PYTHONUNBUFFERED="1",
            # the kernels import ``helpers`` from this working tree, installed or not
            PYTHONPATH=os.pathsep.join([str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p]),
        )
        cmd = [
            self.python, "-m", "jupyter", "lab",
            "--no-browser", "--ip=127.0.0.1", f"--port={self.port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={root}",
            f"--LabServerApp.workspaces_dir={self.tmp / 'workspaces'}",
            "--ServerApp.terminals_enabled=False",
            "--KernelSpecManager.ensure_native_kernel=True",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers, CI runners
            cmd.append("--allow-root")
        self._log = open(self.tmp / "server.log", "wb")
        self.proc = subprocess.Popen(cmd, cwd=root, env=env, stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + self.startup_timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                self.api("GET", "/api/status", timeout=2)
                break
            except (OSError, urllib.error.URLError):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"jupyter lab did not answer within {self.startup_timeout:.0f} s:\n"
                                       f"{self.log_tail()}")
                time.sleep(0.25)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            try:  # a clean shutdown also stops the kernels (they run in their own sessions)
                self.api("POST", "/api/shutdown", timeout=5)
                proc.wait(timeout=15)
            except Exception:
                pass
            for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
                if proc.poll() is not None:
                    break
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    proc.wait(timeout=wait)
                except subprocess.TimeoutExpired:
                    pass
        if self._log is not None:
            self._log.close()
            self._log = None
        if self.tmp is not None and not os.environ.get("BROWSER_KEEP_TMP"):
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    # -- helpers
    def api(self, method: str, path: str, timeout: float = 10):
        """Call the server's REST API with the token; returns the decoded JSON (or None)."""
        req = urllib.request.Request(self.base + path, method=method,
                                     headers={"Authorization": f"token {self.token}"},
                                     data=b"" if method in ("POST", "PUT", "PATCH") else None)
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            body = resp.read()
        return json.loads(body) if body else None

    def kernelspec_problem(self) -> str | None:
        """None if the notebooks' kernel ``python3`` runs this server's Python environment."""
        specs = self.api("GET", "/api/kernelspecs")["kernelspecs"]
        if "python3" not in specs:
            return f"no kernelspec 'python3' (have {sorted(specs)}): JupyterLab would ask to select a kernel"
        argv0 = specs["python3"]["spec"]["argv"][0]
        if argv0 in ("python", "python3"):  # jupyter_client runs the server's own Python then
            return None
        try:
            if os.path.samefile(argv0, self.python):
                return None
        except OSError:
            pass
        return f"kernelspec 'python3' runs {argv0}, not {self.python}"

    def shutdown_kernels(self) -> None:
        """Stop every running kernel (frees CPU and memory between notebooks)."""
        try:
            for s in self.api("GET", "/api/sessions"):
                self.api("DELETE", f"/api/sessions/{s['id']}")
            for k in self.api("GET", "/api/kernels"):
                self.api("DELETE", f"/api/kernels/{k['id']}")
        except (OSError, urllib.error.URLError):
            pass

    def notebook_url(self, name: str) -> str:
        return f"{self.base}/lab/tree/{NB_SUBDIR}/{name}?reset&token={self.token}"

    def log_tail(self, n: int = 4000) -> str:
        if self.tmp is None or not (self.tmp / "server.log").exists():
            return ""
        if self._log is not None:
            self._log.flush()
        return (self.tmp / "server.log").read_text(encoding="utf-8", errors="replace")[-n:]


# ----------------------------------------------------------------------------- browser
def chromium_missing_reason() -> str | None:
    """Why the browser check cannot run here, or None if it can."""
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} not found (Debian: apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed (pip install playwright)"
    return None


def launch_browser(playwright):
    """Headless Debian chromium (Playwright cannot download its own browsers here)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


# ----------------------------------------------------------------------------- one notebook
_PENDING_JS = """nb => {
  // code cells that still have to run: a non-empty cell whose prompt is not "[n]:"
  let pending = 0, running = 0;
  for (const cell of nb.querySelectorAll('.jp-CodeCell')) {
    const prompt = (cell.querySelector('.jp-InputPrompt') || {}).textContent || '';
    const src = (cell.querySelector('.cm-content') || {}).textContent || '';
    if (prompt.includes('*')) running++;
    else if (src.trim() && !/\\[\\d+\\]/.test(prompt)) pending++;
  }
  const errors = nb.querySelectorAll("%s").length;
  const ind = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator');
  const status = ind ? ind.getAttribute('data-status') : null;
  return {pending, running, errors, status};
}""" % ERROR_SEL

_IMAGE_OK_JS = """img => {
  // loaded, not empty, not one flat colour
  if (!img.complete || !img.naturalWidth || !img.naturalHeight) return false;
  const c = document.createElement('canvas');
  c.width = Math.min(img.naturalWidth, 400); c.height = Math.min(img.naturalHeight, 300);
  const g = c.getContext('2d');
  g.drawImage(img, 0, 0, c.width, c.height);
  const d = g.getImageData(0, 0, c.width, c.height).data;
  for (let i = 4; i < d.length; i += 4)
    if (d[i] !== d[0] || d[i + 1] !== d[1] || d[i + 2] !== d[2]) return true;
  return false;
}"""


_WATCH_KERNEL_JS = """() => {
  // remember whether the kernel goes busy (it handles the control change) from now on
  const ind = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator');
  if (window.__btObserver) window.__btObserver.disconnect();
  const st = window.__bt = {sawBusy: false, idleSince: null};
  if (!ind) return;
  window.__btObserver = new MutationObserver(records => {
    if (records.some(r => r.oldValue !== 'idle') || ind.getAttribute('data-status') !== 'idle') st.sawBusy = true;
  });
  window.__btObserver.observe(ind, {attributes: true, attributeFilter: ['data-status'], attributeOldValue: true});
}"""

_OUTCOME_JS = """([img, before, grace]) => {
  // 'changed' once the image source changed; 'unchanged' once the kernel was busy and then
  // stayed idle for `grace` ms without a new image; false (keep waiting) otherwise
  if (img.getAttribute('src') !== before) return 'changed';
  const st = window.__bt;
  const ind = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator');
  const idle = ind && ind.getAttribute('data-status') === 'idle';
  if (!st.sawBusy || !idle) { st.idleSince = null; return false; }
  st.idleSince = st.idleSince || performance.now();
  return performance.now() - st.idleSince > grace ? 'unchanged' : false;
}"""


@dataclass
class PanelResult:
    index: int
    control: str = ""
    changed: bool = False
    ms: float = float("nan")
    notes: list[str] = field(default_factory=list)


class NotebookPage:
    """One notebook open in JupyterLab (a fresh page, opened with ``?reset``)."""

    def __init__(self, page, server: LabServer, name: str) -> None:
        self.page = page
        self.server = server
        self.name = name
        self.nb = page.locator(VISIBLE_NB)

    def open(self, timeout: float = 90.0) -> None:
        """Open the notebook and wait until its kernel is idle (and no dialog asks for a kernel)."""
        page = self.page
        page.goto(self.server.notebook_url(self.name), wait_until="domcontentloaded",
                  timeout=timeout * 1000)
        self.nb.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=timeout * 1000)
        idle = f"{VISIBLE_NB} .jp-Notebook-ExecutionIndicator[data-status='idle']"
        dialog = page.locator(".jp-Dialog")
        deadline = time.monotonic() + timeout
        while True:
            if dialog.count():
                text = dialog.first.inner_text()
                raise AssertionError(f"{self.name}: JupyterLab opened a dialog instead of the kernel: {text!r}")
            if page.locator(idle).count() and self._kernel_idle_on_server():
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: the kernel did not become idle within {timeout:.0f} s\n"
                                     f"{self.server.log_tail()}")
            page.wait_for_timeout(200)

    def _kernel_idle_on_server(self) -> bool:
        sessions = [s for s in self.server.api("GET", "/api/sessions")
                    if s.get("path", "").endswith(self.name) and s.get("kernel")]
        return bool(sessions) and all(s["kernel"]["execution_state"] == "idle" for s in sessions)

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Wait until the kernel is idle, as the page and the server see it."""
        deadline = time.monotonic() + timeout
        idle = self.page.locator(f"{VISIBLE_NB} .jp-Notebook-ExecutionIndicator[data-status='idle']")
        while not (idle.count() and self._kernel_idle_on_server()):
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: the kernel is still busy after {timeout:.0f} s")
            self.page.wait_for_timeout(100)

    def log_console_text(self) -> tuple[str, str]:
        """Open the log console (status bar item); return its summary and what it shows."""
        item = self.page.locator(".jp-LogConsoleStatusItem:visible").first
        title = item.locator("[title]").first.get_attribute("title") or ""
        try:
            item.click()
            entries = self.page.locator(".jp-LogConsolePanel:visible .jp-OutputArea-output")
            entries.first.wait_for(timeout=5000)
            return title, "\n".join(t.strip() for t in entries.all_inner_texts())
        except Exception:
            return title, ""

    def menu(self, menu: str, command: str) -> None:
        """Click a main-menu entry, e.g. ``menu('Run', 'runmenu:run-all')``."""
        page = self.page
        self.nb.locator(".jp-Notebook").first.click(position={"x": 5, "y": 5})  # make it current
        page.locator(".lm-MenuBar-item", has_text=re.compile(rf"^{menu}$")).first.click()
        item = page.locator(f"li.lm-Menu-item[data-command='{command}']:visible").first
        item.click()
        page.locator(".lm-Menu:visible").first.wait_for(state="hidden", timeout=5000)

    def run_all(self, timeout: float = 120.0) -> dict:
        """Clear the saved outputs, Run All, wait until every code cell ran (or one failed)."""
        self.menu("Edit", "editmenu:clear-all")
        self.page.wait_for_function(f"nb => !nb.querySelector('.jp-OutputArea-output')",
                                    arg=self.nb.element_handle(), timeout=10_000)
        self.menu("Run", "runmenu:run-all")
        start = time.monotonic()
        handle = self.nb.element_handle()
        state = None
        while True:
            state = handle.evaluate(_PENDING_JS)
            finished = state["running"] == 0 and (state["pending"] == 0 or state["errors"] > 0)
            if finished and state["status"] == "idle" and self._kernel_idle_on_server():
                break
            if time.monotonic() - start > timeout:
                raise AssertionError(f"{self.name}: cells still running after {timeout:.0f} s: {state}")
            self.page.wait_for_timeout(250)
        state["seconds"] = time.monotonic() - start
        return state

    def error_texts(self) -> list[str]:
        """Text of every error / stderr output and every 'Error displaying widget'."""
        out = [t.strip() for t in self.nb.locator(ERROR_SEL).all_inner_texts()]
        out += [t.strip() for t in self.nb.locator(".jp-OutputArea-output",
                                                   has_text="Error displaying widget").all_inner_texts()]
        return out

    def panels(self):
        return self.nb.locator(PANEL_SEL)

    def exercise_panel(self, index: int, timeout: float = 10.0, grace: float = 1.5) -> PanelResult:
        """Move a control of panel ``index`` and wait until its image changes.

        Controls are tried in turn (sliders, dropdowns, checkboxes): one that the kernel handled
        without a new image (it went busy, then stayed idle for ``grace`` s with the same image,
        e.g. a slider that matters only for another dropdown choice) is noted and the next one
        is tried. The panel passes when its image changed and the new image is not blank.
        """
        page = self.page
        res = PanelResult(index)
        panel = self.panels().nth(index)
        img = panel.locator("> img.widget-image")
        panel.scroll_into_view_if_needed()
        try:
            img.wait_for(timeout=timeout * 1000)
            page.wait_for_function(_IMAGE_OK_JS, arg=img.element_handle(), timeout=timeout * 1000)
        except Exception:
            res.notes.append("the initial image is missing or blank")
            return res
        initial = img.get_attribute("src")
        outcome = None
        for control, move in self._moves(panel):
            before = img.get_attribute("src")
            page.evaluate(_WATCH_KERNEL_JS)
            t0 = time.monotonic()
            move()
            try:
                outcome = page.wait_for_function(_OUTCOME_JS, arg=[img.element_handle(), before, grace * 1000],
                                                 polling=50, timeout=timeout * 1000).json_value()
            except Exception:
                outcome = "timeout"
            if outcome == "changed":
                res.ms = (time.monotonic() - t0) * 1000
                res.control = control
                break
            res.notes.append(f"moving {control} did not change the image"
                             + (f" within {timeout:.0f} s" if outcome == "timeout" else " (the kernel handled it)"))
        else:
            if img.get_attribute("src") == initial:
                if not res.notes:
                    res.notes.append("no slider, dropdown or checkbox found")
                return res
            res.control = "(late update)"  # an earlier move's image arrived after all
        try:
            page.wait_for_function(_IMAGE_OK_JS, arg=img.element_handle(), timeout=timeout * 1000)
        except Exception:
            res.notes.append(f"after moving {res.control} the image is blank")
            return res
        res.changed = True
        return res

    def _moves(self, panel):
        """(description, action) for each enabled control of the panel: sliders first, then dropdowns, checkboxes.

        A disabled control is skipped: a learner cannot move it (the panel disables a control that has no
        effect in the current state), so trying it would only wait out the timeout.
        """
        page = self.page
        for i in range(panel.locator(".widget-slider .noUi-handle").count()):
            handle = panel.locator(".widget-slider .noUi-handle").nth(i)
            label = panel.locator(".widget-slider").nth(i).locator(".widget-label").first.inner_text().strip()
            if handle.evaluate("h => h.closest('[disabled]') !== null"):  # ipywidgets marks the slider's track
                continue

            def move(handle=handle):
                now = float(handle.get_attribute("aria-valuenow") or 0)
                top = float(handle.get_attribute("aria-valuemax") or 0)
                handle.click()
                key = "ArrowLeft" if now >= top else "ArrowRight"
                for _ in range(3):
                    page.keyboard.press(key)
            yield f"slider {label!r}", move
        for i in range(panel.locator("select").count()):
            sel = panel.locator("select").nth(i)
            label = panel.locator(".widget-dropdown").nth(i).locator(".widget-label").first.inner_text().strip()

            def move(sel=sel):
                values = sel.locator("option").evaluate_all("os => os.map(o => o.value)")
                current = sel.input_value()
                sel.select_option(next(v for v in values if v != current))
            if sel.locator("option").count() > 1 and not sel.is_disabled():
                yield f"dropdown {label!r}", move
        for i in range(panel.locator("input[type=checkbox]").count()):
            box = panel.locator("input[type=checkbox]").nth(i)
            label = panel.locator(".widget-checkbox").nth(i).inner_text().strip()
            if not box.is_disabled():
                yield f"checkbox {label!r}", box.click

    def screenshot(self, path: str | os.PathLike, max_height: int = 15000) -> None:
        """Screenshot of the whole notebook: the window is made as tall as the notebook first."""
        page = self.page
        size = page.viewport_size or {"width": 1280, "height": 900}
        scroller = self.nb.locator(".jp-WindowedPanel-outer").first
        frame = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))"
        height = size["height"]
        hidden_js = """e => {  // how much of the last cell lies below the visible part of the notebook
          e.scrollTop = 0;
          const cells = e.querySelectorAll('.jp-Cell');
          if (!cells.length) return 0;
          return Math.ceil(cells[cells.length - 1].getBoundingClientRect().bottom - e.getBoundingClientRect().bottom);
        }"""
        for _ in range(4):  # the layout follows the window; repeat until the notebook fits
            hidden = scroller.evaluate(hidden_js)
            if hidden <= 0 or height >= max_height:
                break
            height = min(max_height, height + hidden + 30)
            page.set_viewport_size({"width": size["width"], "height": height})
            page.wait_for_function(frame)
        scroller.evaluate("e => { e.scrollTop = 0; }")
        page.wait_for_function(frame)
        page.screenshot(path=str(path))
        page.set_viewport_size(size)


# ----------------------------------------------------------------------------- the whole check
@dataclass
class NotebookReport:
    name: str
    problems: list[str] = field(default_factory=list)
    panels: list[PanelResult] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        t = ", ".join(f"{k} {v:.1f} s" for k, v in self.timings.items())
        p = "; ".join(f"#{r.index + 1}: {r.control or '-'} {r.ms:.0f} ms"
                      + (f" ({'; '.join(r.notes)})" if r.notes else "") for r in self.panels)
        return f"{self.name}: {len(self.panels)} panel(s) [{p}] ({t})"


def _saved_widget_outputs(path: pathlib.Path) -> int:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return sum("application/vnd.jupyter.widget-view+json" in out.get("data", {})
               for cell in nb.get("cells", []) for out in cell.get("outputs", []))


def _saved_panels(path: pathlib.Path) -> int:
    """Panels in the saved notebook: widget outputs that carry a PNG of the panel (helpers.panels)."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    return sum({"application/vnd.jupyter.widget-view+json", "image/png"} <= set(out.get("data", {}))
               for cell in nb.get("cells", []) for out in cell.get("outputs", []))


def check_notebook(page, server: LabServer, notebook: pathlib.Path, *, run_timeout: float = 120.0,
                   panel_timeout: float = 10.0, screenshot: str | os.PathLike | None = None) -> NotebookReport:
    """Open ``notebook`` (already copied into ``server``), Run All, check outputs, move every panel."""
    rep = NotebookReport(notebook.name)
    js_errors: list[str] = []
    page.on("pageerror", lambda exc: js_errors.append(str(exc)))
    nbp = NotebookPage(page, server, notebook.name)
    t0 = time.monotonic()
    nbp.open()
    rep.timings["open"] = time.monotonic() - t0
    state = nbp.run_all(timeout=run_timeout)
    rep.timings["run all"] = state["seconds"]
    if state["pending"]:
        rep.problems.append(f"{state['pending']} code cell(s) did not run (Run All stopped at an error)")
    errors = nbp.error_texts()
    for text in errors:
        rep.problems.append("error output in a cell:\n    " + text[-1500:].replace("\n", "\n    "))
    for text in nbp.nb.locator(".jp-OutputArea-output").all_inner_texts():
        if re.match(r"\s*(VBox|HBox|Box|Image)\(", text):
            rep.problems.append(f"a widget shows as text instead of rendering: {text[:200]!r}")

    t1 = time.monotonic()
    panels = nbp.panels()
    n = panels.count()
    n_images = nbp.nb.locator("img.widget-image").count()
    if n_images != n:
        rep.problems.append(f"{n_images} widget image(s) but {n} panel(s) (VBox of controls + Image) found")
    if n == 0 and _saved_widget_outputs(notebook):
        rep.problems.append("the saved notebook has widget outputs but no panel rendered in JupyterLab")
    if n != _saved_panels(notebook):
        rep.problems.append(f"the saved notebook has {_saved_panels(notebook)} panel(s) but {n} rendered live")
    for i in range(n):
        res = nbp.exercise_panel(i, timeout=panel_timeout)
        rep.panels.append(res)
        if not res.changed:
            rep.problems.append(f"panel #{i + 1} of {n}: " + "; ".join(res.notes))
    rep.timings["panels"] = time.monotonic() - t1
    nbp.wait_idle()
    # output that widget callbacks wrote (tracebacks, warnings) goes to JupyterLab's log console
    log_item = page.locator(".jp-LogConsoleStatusItem:visible")
    if log_item.count():
        title, text = nbp.log_console_text()
        rep.problems.append(f"the log console has output of widget callbacks ({title}):\n    "
                            + text[-1500:].replace("\n", "\n    "))
    for text in nbp.error_texts():  # outputs that appeared while the controls moved
        if text not in errors:
            rep.problems.append("error output after moving controls:\n    " + text[-1500:].replace("\n", "\n    "))
    if screenshot:
        t2 = time.monotonic()
        nbp.screenshot(screenshot)
        rep.timings["screenshot"] = time.monotonic() - t2
    if rep.problems and js_errors:
        rep.problems.append("JavaScript errors in the page: " + " | ".join(js_errors[:5]))
    return rep
