"""Drive the course notebooks in a real JupyterLab with Debian's chromium (via Playwright).

Shared by ``tests/test_browser.py`` and ``tools/lab_screenshot.py``:

* :class:`LabServer` starts ``python -m jupyter lab`` on 127.0.0.1 (free port, random token,
  no browser) on a temporary *copy* of the notebooks (JupyterLab autosaves; the copy has no saved
  outputs, which Run All would replace anyway, unless asked to keep them), with a fresh
  workspaces dir, its own user settings (no news/update notification, no virtual rendering of
  cells) and the Jupyter paths of this Python environment only, so the notebooks' kernelspec
  ``python3`` is this environment's kernel.
* :func:`launch_browser` starts headless chromium.
* :class:`LabPage` is one browser page with JupyterLab loaded once; it opens the notebooks one
  after the other through JupyterLab's own commands (``window.jupyterapp``), with no page reload.
* :class:`NotebookPage` is one open notebook: it runs all cells, collects error outputs, finds the
  panels (a ``widgets.VBox`` holding controls and a ``widgets.Image``), checks their layout
  (labels and options not cut off, slider tracks, picture size and pixel ratio) and moves their
  controls; closing it shuts its kernel down.
"""
from __future__ import annotations

import ast
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
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Sequence

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


def _write_without_outputs(src: pathlib.Path, dst: pathlib.Path) -> None:
    """Copy a notebook with every code cell's outputs and execution count cleared."""
    nb = json.loads(src.read_text(encoding="utf-8"))
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    nb.get("metadata", {}).pop("widgets", None)  # the saved widget state belongs to the saved outputs
    dst.write_text(json.dumps(nb, ensure_ascii=False, indent=1), encoding="utf-8")


class LabServer:
    """``python -m jupyter lab`` on a temporary copy of ``notebooks``; use as a context manager."""

    app = "jupyter lab"

    def __init__(self, notebooks: list[pathlib.Path], *, python: str = sys.executable,
                 startup_timeout: float = 90.0, keep_outputs: bool = False) -> None:
        self.notebooks = [pathlib.Path(p).resolve() for p in notebooks]
        self.keep_outputs = keep_outputs
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
            if self.keep_outputs:
                shutil.copy2(nb, root / NB_SUBDIR / nb.name)
            else:  # Run All replaces them anyway; a notebook without outputs opens in about half the time
                _write_without_outputs(nb, root / NB_SUBDIR / nb.name)
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
        cmd = self._command(root)
        if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers, CI runners
            cmd.append("--allow-root")
        self._log = open(self.tmp / "server.log", "wb")
        self.proc = subprocess.Popen(cmd, cwd=root, env=env, stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + self.startup_timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.app} exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                self.api("GET", "/api/status", timeout=2)
                break
            except (OSError, urllib.error.URLError):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self.app} did not answer within {self.startup_timeout:.0f} s:\n"
                                       f"{self.log_tail()}")
                time.sleep(0.25)

    def _command(self, root: pathlib.Path) -> list[str]:
        return [
            self.python, "-m", "jupyter", "lab",
            "--no-browser", "--ip=127.0.0.1", f"--port={self.port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={root}",
            f"--LabServerApp.workspaces_dir={self.tmp / 'workspaces'}",
            "--ServerApp.terminals_enabled=False",
            "--KernelSpecManager.ensure_native_kernel=True",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: open, run and close notebooks by command
        ]

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
    def api(self, method: str, path: str, timeout: float = 10, body: dict | None = None):
        """Call the server's REST API with the token; returns the decoded JSON (or None)."""
        data = json.dumps(body).encode() if body is not None else b"" if method in ("POST", "PUT", "PATCH") else None
        req = urllib.request.Request(self.base + path, method=method, data=data,
                                     headers={"Authorization": f"token {self.token}",
                                              "Content-Type": "application/json"})
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

    def shutdown_kernels(self, keep: Sequence[str] = ()) -> None:
        """Stop every running kernel (frees CPU and memory between notebooks), except the sessions of
        the notebooks named in ``keep``; in the background (a kernel takes a second or more to exit)."""
        try:
            sessions = self.api("GET", "/api/sessions")
            kept = {s["kernel"]["id"] for s in sessions if s.get("kernel") and s["path"].split("/")[-1] in keep}
            for s in sessions:
                if s["path"].split("/")[-1] not in keep:
                    self.delete_later(f"/api/sessions/{s['id']}")
            for k in self.api("GET", "/api/kernels"):
                if k["id"] not in kept:
                    self.delete_later(f"/api/kernels/{k['id']}")
        except (OSError, urllib.error.URLError):
            pass

    def delete_later(self, path: str) -> None:
        """``DELETE path`` in a background thread (the server answers once the kernel has exited)."""
        def delete() -> None:
            try:
                self.api("DELETE", path, timeout=30)
            except (OSError, urllib.error.URLError):
                pass  # already gone
        threading.Thread(target=delete, daemon=True).start()

    def lab_url(self) -> str:
        """JupyterLab with a fresh workspace (no notebook open)."""
        return f"{self.base}/lab?reset&token={self.token}"

    def notebook_path(self, name: str) -> str:
        """The notebook's path relative to the server's root (as JupyterLab's commands want it)."""
        return f"{NB_SUBDIR}/{name}"

    def log_tail(self, n: int = 4000) -> str:
        if self.tmp is None or not (self.tmp / "server.log").exists():
            return ""
        if self._log is not None:
            self._log.flush()
        return (self.tmp / "server.log").read_text(encoding="utf-8", errors="replace")[-n:]


class ClassicServer(LabServer):
    """The classic notebook server (``notebook`` 6.5, as Colab's widget stack pins it) of ``python``'s
    environment, whose page runs ipywidgets 7's JavaScript (widgetsnbextension): the front end Colab's
    widgets come from."""

    app = "the classic notebook server"

    def _command(self, root: pathlib.Path) -> list[str]:
        return [
            self.python, "-m", "notebook",
            "--no-browser", "--ip=127.0.0.1", f"--port={self.port}", "--NotebookApp.port_retries=0",
            f"--NotebookApp.token={self.token}", f"--NotebookApp.notebook_dir={root}",
            "--NotebookApp.terminals_enabled=False", "--KernelSpecManager.ensure_native_kernel=True",
        ]

    def notebook_url(self, name: str) -> str:
        return f"{self.base}/notebooks/{NB_SUBDIR}/{name}?token={self.token}"


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


def require_chromium() -> None:
    """Skip the calling test when the browser check cannot run here (``chromium_missing_reason``); under CI
    (the environment variable ``CI`` set) fail it instead."""
    import pytest
    from colab_support import in_ci

    reason = chromium_missing_reason()
    if reason:
        if in_ci():
            pytest.fail(f"browser test cannot run under CI: {reason}")
        pytest.skip(reason)


def launch_browser(playwright):
    """Headless Debian chromium (Playwright cannot download its own browsers here)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


# ----------------------------------------------------------------------------- layout rules
MIN_TRACK_PX = 120  # a slider track shorter than this cannot be set precisely (design.md §2)


def pixel_ratio() -> int:
    """Picture pixels per CSS pixel, as the panels draw them: ``PIXEL_RATIO`` in ``helpers/panels/base.py``
    (read from the source: importing ``helpers`` would import torch into the test process)."""
    tree = ast.parse((ROOT / "helpers" / "panels" / "base.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "PIXEL_RATIO" for t in node.targets):
            return ast.literal_eval(node.value)
    raise RuntimeError("helpers/panels/base.py defines no PIXEL_RATIO")


# Everything about one panel's layout in one call: what a learner sees cut off or squeezed.
# Hidden controls (display: none, or inside a hidden group) are skipped; disabled ones are checked.
_LAYOUT_JS = """([panel, minTrack, ratio]) => {
  const shown = el => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  const text = el => (el ? (el.textContent || '').trim() : '');
  const owner = el => el.closest('.widget-slider, .widget-dropdown, .widget-checkbox, .widget-play, .jupyter-widgets');
  const nameOf = ctl => {
    if (!ctl) return '?';
    const kind = ctl.classList.contains('widget-slider') ? 'slider'
      : ctl.classList.contains('widget-dropdown') ? 'dropdown'
      : ctl.classList.contains('widget-checkbox') ? 'checkbox' : 'control';
    const label = [...ctl.querySelectorAll('.widget-label, .widget-label-basic')].map(text).find(t => t);
    return kind + ' ' + JSON.stringify(label || '?');
  };
  const out = [];
  // 1. labels (sliders, dropdowns, checkboxes) and slider readouts: the whole text fits
  for (const el of panel.querySelectorAll('.widget-label, .widget-label-basic, .widget-readout')) {
    if (!shown(el) || !text(el)) continue;
    if (el.scrollWidth > el.clientWidth) {
      const what = el.classList.contains('widget-readout') ? 'readout ' + JSON.stringify(text(el)) + ' of' : 'label of';
      out.push(`${what} ${nameOf(owner(el))} is cut off: needs ${el.scrollWidth} px, has ${el.clientWidth} px`);
    }
  }
  // 2. dropdowns: the longest option fits the select box (inside its padding and arrow)
  const g = document.createElement('canvas').getContext('2d');
  for (const sel of panel.querySelectorAll('select')) {
    if (!shown(sel) || !sel.options.length) continue;
    const cs = getComputedStyle(sel);
    g.font = `${cs.fontStyle} ${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`;
    let widest = 0, longest = '';
    for (const o of sel.options) {
      const w = g.measureText(o.text).width;
      if (w > widest) { widest = w; longest = o.text; }
    }
    const arrow = cs.appearance === 'none' ? 0 : 20;  // a native arrow sits inside the content box
    const room = sel.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight) - arrow;
    if (widest > room + 0.5)
      out.push(`option ${JSON.stringify(longest)} of ${nameOf(owner(sel))} is cut off: `
               + `needs ${Math.ceil(widest)} px, has ${Math.floor(room)} px`);
  }
  // 3. slider tracks long enough to set a value
  for (const s of panel.querySelectorAll('.widget-slider')) {
    const track = s.querySelector('.noUi-target');
    if (!shown(s) || !track) continue;
    const r = track.getBoundingClientRect();
    const len = s.classList.contains('widget-vslider') ? r.height : r.width;
    if (len < minTrack) out.push(`${nameOf(s)} has a ${Math.round(len)} px track (< ${minTrack} px)`);
  }
  // 4. the picture: shown at the Image widget's layout width, with `ratio` picture pixels per CSS pixel
  const img = panel.querySelector(':scope > img.widget-image');
  if (img && img.naturalWidth) {
    const shownW = img.getBoundingClientRect().width;
    const want = img.style.width;
    if (!/^[\\d.]+px$/.test(want)) out.push(`the picture has no layout width in px (${JSON.stringify(want)})`);
    else if (Math.abs(shownW - parseFloat(want)) > 0.5) {
      const room = img.parentElement.getBoundingClientRect().width;
      out.push(`the picture is shown ${shownW.toFixed(1)} px wide, not its layout width ${want} `
               + `(the output area is ${Math.round(room)} px wide)`);
    }
    if (Math.abs(img.naturalWidth - ratio * shownW) > 1)
      out.push(`the picture has ${img.naturalWidth} px for ${shownW.toFixed(1)} CSS px: `
               + `ratio ${(img.naturalWidth / shownW).toFixed(3)}, not ${ratio}`);
  }
  return out;
}"""


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
  const ind = nb.querySelector('.jp-Notebook-ExecutionIndicator');
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

# The controls of one panel, in the order they are tried (sliders, dropdowns, checkboxes), each with
# its label and whether a learner can move it (shown and enabled); also scrolls the panel into view.
_CONTROLS_JS = """panel => {
  panel.scrollIntoView({block: 'nearest'});
  const shown = el => el.getClientRects().length > 0;
  const label = el => ((el.querySelector('.widget-label, .widget-label-basic') || {}).textContent || '').trim();
  const out = [];
  panel.querySelectorAll('.widget-slider').forEach((s, i) => {
    const h = s.querySelector('.noUi-handle');
    if (h) out.push({kind: 'slider', i, label: label(s), movable: shown(s) && h.closest('[disabled]') === null});
  });
  panel.querySelectorAll('.widget-dropdown').forEach((d, i) => {
    const sel = d.querySelector('select');
    if (sel) out.push({kind: 'dropdown', i, label: label(d),
                       movable: shown(d) && !sel.disabled && sel.options.length > 1});
  });
  panel.querySelectorAll('.widget-checkbox').forEach((c, i) => {
    const box = c.querySelector('input[type=checkbox]');
    if (box) out.push({kind: 'checkbox', i, label: (c.textContent || '').trim(), movable: shown(c) && !box.disabled});
  });
  return out;
}"""

# Move a control the way the keyboard / mouse would, after noting the picture and watching the kernel.
_ARM_JS = """([panel, nb]) => {
  // remember the picture and whether the kernel goes busy (it handles the control change) from now on
  const img = panel.querySelector(':scope > img.widget-image');
  const ind = nb.querySelector('.jp-Notebook-ExecutionIndicator');
  if (window.__btObserver) window.__btObserver.disconnect();
  const st = window.__bt = {before: img.getAttribute('src'), sawBusy: false, idleSince: null, ind};
  if (!ind) return;
  window.__btObserver = new MutationObserver(records => {
    if (records.some(r => r.oldValue !== 'idle') || ind.getAttribute('data-status') !== 'idle') st.sawBusy = true;
  });
  window.__btObserver.observe(ind, {attributes: true, attributeFilter: ['data-status'], attributeOldValue: true});
}"""

_OUTCOME_JS = """([panel, grace]) => {
  // 'changed' once the image source changed; 'unchanged' once the kernel was busy and then
  // stayed idle for `grace` ms without a new image; false (keep waiting) otherwise
  const img = panel.querySelector(':scope > img.widget-image');
  const st = window.__bt;
  if (img.getAttribute('src') !== st.before) return 'changed';
  const idle = st.ind && st.ind.getAttribute('data-status') === 'idle';
  if (!st.sawBusy || !idle) { st.idleSince = null; return false; }
  st.idleSince = st.idleSince || performance.now();
  return performance.now() - st.idleSince > grace ? 'unchanged' : false;
}"""

_OPEN_JS = """async path => {
  // open a notebook in the (already loaded) JupyterLab; returns the panel's id
  const app = window.jupyterapp;
  const w = await app.commands.execute('docmanager:open', {path, factory: 'Notebook'});
  (window.__btNotebooks = window.__btNotebooks || {})[w.id] = w;
  app.shell.activateById(w.id);
  await w.context.ready;
  return w.id;
}"""

_KERNEL_STATE_JS = """id => {
  // 'idle' once the notebook's kernel is idle; 'dialog' if JupyterLab asks something (e.g. which kernel)
  if (document.querySelector('.jp-Dialog')) return 'dialog';
  const w = window.__btNotebooks[id];
  const k = w && w.sessionContext.session && w.sessionContext.session.kernel;
  return k && k.status === 'idle' && k.connectionStatus === 'connected' ? 'idle' : false;
}"""

_RUN_ALL_JS = """async ([id, timeoutMs]) => {
  // clear the saved outputs (and prompts), then Run All; resolves when every cell has run or one failed
  const app = window.jupyterapp;
  const args = {widgetId: id};
  await app.commands.execute('notebook:clear-all-cell-outputs', args);
  const run = app.commands.execute('notebook:run-all-cells', args);
  const late = new Promise(r => setTimeout(() => r('timeout'), timeoutMs));
  return String(await Promise.race([run, late]));
}"""

_CLOSE_JS = """id => {
  // close the notebook without asking to save (the notebooks are a copy); returns its session's id
  // (the caller shuts the kernel down in the background)
  const w = window.__btNotebooks[id];
  delete window.__btNotebooks[id];
  if (!w || w.isDisposed) return null;
  const session = w.sessionContext.session ? w.sessionContext.session.id : null;
  w.context.model.dirty = false;
  w.dispose();
  return session;
}"""


@dataclass
class PanelResult:
    index: int
    control: str = ""
    changed: bool = False
    ms: float = float("nan")
    notes: list[str] = field(default_factory=list)
    layout: list[str] = field(default_factory=list)  # what a learner sees cut off or squeezed


class LabPage:
    """One browser page with JupyterLab loaded once; notebooks open in it one after the other.

    Opening a notebook through ``window.jupyterapp`` takes a fraction of a page load (JupyterLab's
    scripts, settings and extensions are loaded once). Each notebook is closed (its kernel shut down
    in the background) before the next one opens, and every notebook gets a fresh kernel as before:
    :meth:`prestart` only starts that kernel a little earlier.
    """

    def __init__(self, page, server: LabServer) -> None:
        self.page = page
        self.server = server
        self.js_errors: list[str] = []
        self._prestarted: dict[str, threading.Thread] = {}
        page.on("pageerror", lambda exc: self.js_errors.append(str(exc)))

    def start(self, timeout: float = 90.0) -> "LabPage":
        """Load JupyterLab and wait until it has restored its (empty) workspace."""
        page = self.page
        page.goto(self.server.lab_url(), wait_until="domcontentloaded", timeout=timeout * 1000)
        page.wait_for_function("() => window.jupyterapp && window.jupyterapp.commands", timeout=timeout * 1000)
        page.evaluate("async () => { await window.jupyterapp.restored; window.jupyterapp.shell.collapseLeft(); }")
        return self

    def prestart(self, name: str) -> None:
        """Start the kernel of notebook ``name`` now, in the background (while the current notebook's panels
        are moved): :meth:`open` then connects the notebook to it. It is a fresh kernel all the same.

        Only the kernel starts early: opening the notebook itself in a background tab would render its
        cells on the page's one main thread, in the way of the panels being checked."""
        def start() -> None:
            try:
                self.server.api("POST", "/api/sessions", timeout=60, body={
                    "path": self.server.notebook_path(name), "name": name, "type": "notebook",
                    "kernel": {"name": "python3"}})
            except (OSError, urllib.error.URLError):
                pass  # open() starts the kernel then
        if name not in self._prestarted:
            self._prestarted[name] = threading.Thread(target=start, daemon=True)
            self._prestarted[name].start()

    def prestarted(self, timeout: float = 60.0) -> list[str]:
        """The notebooks whose kernel :meth:`prestart` started (once started) and that are not open yet."""
        for thread in self._prestarted.values():
            thread.join(timeout=timeout)
        return list(self._prestarted)

    def open(self, name: str, timeout: float = 90.0) -> "NotebookPage":
        """Open a notebook (copied into the server) and wait until its kernel is idle."""
        others = [n for n in self.prestarted() if n != name]
        self._prestarted.clear()
        if others:  # started for a notebook that is not the one opened now (tests chosen with -k)
            self.server.shutdown_kernels(keep=[name])
        self.js_errors.clear()
        nbp = NotebookPage(self, name)
        nbp.open(timeout=timeout)
        return nbp


class NotebookPage:
    """One notebook open in a :class:`LabPage`."""

    def __init__(self, lab: LabPage, name: str) -> None:
        self.lab = lab
        self.page = lab.page
        self.server = lab.server
        self.name = name
        self.id: str | None = None
        self.nb = None
        self._ratio = pixel_ratio()

    def open(self, timeout: float = 90.0) -> None:
        """Open the notebook and wait until its kernel is idle (and no dialog asks for a kernel)."""
        page = self.page
        self.id = page.evaluate(_OPEN_JS, self.server.notebook_path(self.name))
        self.nb = page.locator(f"[id='{self.id}']")
        deadline = time.monotonic() + timeout
        while True:
            try:
                state = page.wait_for_function(_KERNEL_STATE_JS, arg=self.id, polling=50,
                                               timeout=max(1.0, deadline - time.monotonic()) * 1000).json_value()
            except Exception:
                raise AssertionError(f"{self.name}: the kernel did not become idle within {timeout:.0f} s\n"
                                     f"{self.server.log_tail()}") from None
            if state == "dialog":
                text = page.locator(".jp-Dialog").first.inner_text()
                raise AssertionError(f"{self.name}: JupyterLab opened a dialog instead of the kernel: {text!r}")
            if self._kernel_idle_on_server():
                break
            page.wait_for_timeout(50)

    def close(self) -> None:
        """Close the notebook and shut its kernel down (in the background)."""
        if self.id is not None:
            session = self.page.evaluate(_CLOSE_JS, self.id)
            self.id = None
            if session:
                self.server.delete_later(f"/api/sessions/{session}")

    def _kernel_idle_on_server(self) -> bool:
        sessions = [s for s in self.server.api("GET", "/api/sessions")
                    if s.get("path", "").endswith(self.name) and s.get("kernel")]
        return bool(sessions) and all(s["kernel"]["execution_state"] == "idle" for s in sessions)

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Wait until the kernel is idle, as the page and the server see it."""
        deadline = time.monotonic() + timeout
        while not (self.page.evaluate(_KERNEL_STATE_JS, self.id) == "idle" and self._kernel_idle_on_server()):
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: the kernel is still busy after {timeout:.0f} s")
            self.page.wait_for_timeout(50)

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

    def run_all(self, timeout: float = 120.0) -> dict:
        """Clear the saved outputs, Run All, wait until every code cell ran (or one failed)."""
        start = time.monotonic()
        outcome = self.page.evaluate(_RUN_ALL_JS, [self.id, timeout * 1000])
        if outcome == "timeout":
            state = self.nb.element_handle().evaluate(_PENDING_JS)
            raise AssertionError(f"{self.name}: cells still running after {timeout:.0f} s: {state}")
        self.wait_idle()
        state = self.nb.element_handle().evaluate(_PENDING_JS)
        if state["running"]:
            raise AssertionError(f"{self.name}: Run All returned with cells still running: {state}")
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

    def layout_problems(self, index: int) -> list[str]:
        """What is cut off or squeezed in panel ``index`` as shown now (see ``_LAYOUT_JS``)."""
        panel = self.panels().nth(index).element_handle()
        return self.page.evaluate(_LAYOUT_JS, [panel, MIN_TRACK_PX, self._ratio])

    def exercise_panel(self, index: int, timeout: float = 10.0, grace: float = 1.5) -> PanelResult:
        """Check the layout of panel ``index``, move a control and wait until its image changes.

        Controls are tried in turn (sliders, dropdowns, checkboxes): one that the kernel handled
        without a new image (it went busy, then stayed idle for ``grace`` s with the same image,
        e.g. a slider that matters only for another dropdown choice) is noted and the next one
        is tried. The panel passes when its image changed and the new image is not blank.
        The layout is checked before the move and after it (a move may show other controls).
        """
        page = self.page
        res = PanelResult(index)
        panel = self.panels().nth(index)
        handle = panel.element_handle(timeout=timeout * 1000)
        img = panel.locator("> img.widget-image")
        try:
            page.wait_for_function(f"p => ({_IMAGE_OK_JS})(p.querySelector(':scope > img.widget-image'))",
                                   arg=handle, polling=50, timeout=timeout * 1000)
        except Exception:
            res.notes.append("the initial image is missing or blank")
            return res
        res.layout = self.layout_problems(index)
        initial = img.get_attribute("src")
        nb = self.nb.element_handle()
        outcome = None
        for control, move in self._moves(panel):
            # a slider moves one step; if that changed nothing (a step can fall between two pictures),
            # two more steps the same way
            for presses in ((1, 2) if control.startswith("slider") else (None,)):
                page.evaluate(_ARM_JS, [handle, nb])
                t0 = time.monotonic()
                move() if presses is None else move(presses=presses)
                try:
                    outcome = page.wait_for_function(_OUTCOME_JS, arg=[handle, grace * 1000],
                                                     polling=20, timeout=timeout * 1000).json_value()
                except Exception:
                    outcome = "timeout"
                if outcome != "unchanged":
                    break
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
            page.wait_for_function(_IMAGE_OK_JS, arg=img.element_handle(), polling=20, timeout=timeout * 1000)
        except Exception:
            res.notes.append(f"after moving {res.control} the image is blank")
            return res
        res.changed = True
        res.layout += [p for p in self.layout_problems(index) if p not in res.layout]
        return res

    def _moves(self, panel):
        """(description, action) for each control a learner can move: sliders first, then dropdowns, checkboxes.

        A disabled or hidden control is skipped: a learner cannot move it (the panel disables a control that
        has no effect in the current state), so trying it would only wait out the timeout.
        """
        page = self.page
        for c in panel.evaluate(_CONTROLS_JS):
            if not c["movable"]:
                continue
            if c["kind"] == "slider":
                knob = panel.locator(".widget-slider").nth(c["i"]).locator(".noUi-handle").first

                def move(knob=knob, presses=1):
                    now, top = knob.evaluate("h => { h.focus(); return [+h.getAttribute('aria-valuenow'),"
                                             " +h.getAttribute('aria-valuemax')]; }")
                    key = "ArrowLeft" if now >= top else "ArrowRight"
                    for _ in range(presses):
                        page.keyboard.press(key)
            elif c["kind"] == "dropdown":
                sel = panel.locator(".widget-dropdown").nth(c["i"]).locator("select")

                def move(sel=sel):
                    values = sel.evaluate("s => [...s.options].map(o => o.value)")
                    current = sel.input_value()
                    sel.select_option(next(v for v in values if v != current))
            else:
                move = panel.locator(".widget-checkbox").nth(c["i"]).locator("input[type=checkbox]").click
            yield f"{c['kind']} {c['label']!r}", move

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


def check_notebook(lab: LabPage, notebook: pathlib.Path, *, run_timeout: float = 120.0,
                   panel_timeout: float = 10.0, screenshot: str | os.PathLike | None = None,
                   next_notebook: str | None = None) -> NotebookReport:
    """Open ``notebook`` (already copied into the server), Run All, check outputs and the layout of every
    panel, move every panel; the notebook is closed (its kernel shut down) at the end.

    With ``next_notebook``, that notebook's kernel starts once this one's panels have rendered (it starts
    while this notebook's panels are moved)."""
    rep = NotebookReport(notebook.name)
    t0 = time.monotonic()
    nbp = lab.open(notebook.name)
    try:
        rep.timings["open"] = time.monotonic() - t0
        _check_open_notebook(nbp, notebook, rep, run_timeout, panel_timeout, screenshot, next_notebook)
    finally:
        t3 = time.monotonic()
        nbp.close()
        rep.timings["close"] = time.monotonic() - t3
    if rep.problems and lab.js_errors:
        rep.problems.append("JavaScript errors in the page: " + " | ".join(lab.js_errors[:5]))
    return rep


def _check_open_notebook(nbp: NotebookPage, notebook: pathlib.Path, rep: NotebookReport, run_timeout: float,
                         panel_timeout: float, screenshot, next_notebook: str | None) -> None:
    page = nbp.page
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
    saved = _saved_panels(notebook)
    try:  # widget views render a moment after their output arrives
        page.wait_for_function(f"nb => nb.querySelectorAll('{PANEL_SEL}').length >= {saved}",
                               arg=nbp.nb.element_handle(), polling=50, timeout=panel_timeout * 1000)
    except Exception:
        pass  # reported below
    n = panels.count()
    if next_notebook:
        nbp.lab.prestart(next_notebook)
    n_images = nbp.nb.locator("img.widget-image").count()
    if n_images != n:
        rep.problems.append(f"{n_images} widget image(s) but {n} panel(s) (VBox of controls + Image) found")
    if n == 0 and _saved_widget_outputs(notebook):
        rep.problems.append("the saved notebook has widget outputs but no panel rendered in JupyterLab")
    if n != saved:
        rep.problems.append(f"the saved notebook has {saved} panel(s) but {n} rendered live")
    for i in range(n):
        res = nbp.exercise_panel(i, timeout=panel_timeout)
        rep.panels.append(res)
        if not res.changed:
            rep.problems.append(f"panel #{i + 1} of {n}: " + "; ".join(res.notes))
        for text in res.layout:
            rep.problems.append(f"panel #{i + 1} of {n} layout: {text}")
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
