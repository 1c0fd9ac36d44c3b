"""Panels show the widget view that ipywidgets 8 (here) gives, and display and react under ipywidgets 7 (Colab).

The ipywidgets 7 half runs in .venv-colab (`make colab-venv`) with this checkout on PYTHONPATH, inside an
in-process IPython kernel whose display publisher records what is shown instead of sending it.
"""
from __future__ import annotations

import base64
import json
import pathlib
import subprocess
import sys

import IPython.display
import ipywidgets
import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import colab_support as cs  # noqa: E402
from helpers import panels as P  # noqa: E402
from helpers.panels import testing as T  # noqa: E402


def _demo_panel() -> P.Panel:
    def setup(fig):
        ax = fig.subplots()
        x = np.linspace(-3, 3, 50)
        line, = ax.plot(x, x, animated=True)
        ax.set_ylim(-10, 10)

        def update(k):
            line.set_ydata(k * x)
        return update
    return P.Panel({"k": P.float_slider("k", 0.5, 3.0, 0.5, 1.0)}, setup)


def test_widget_view_entry_is_what_ipywidgets_8_gives():
    assert int(ipywidgets.__version__.split(".")[0]) == 8
    panel = _demo_panel()
    ours = panel._mimebundle()
    theirs = panel.widget._repr_mimebundle_()
    assert ours[cs.WIDGET_VIEW] == theirs[cs.WIDGET_VIEW]
    assert base64.b64decode(ours["image/png"]) == panel.saved_picture()  # the picture under a "run this cell" hint


def test_ipython_display_shows_the_bundle_raw(monkeypatch):
    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *objs, **kw: shown.append((objs, kw)))
    panel = _demo_panel()
    panel._ipython_display_()
    # shown at CSS size: the PNG has 2 pixels per CSS pixel
    assert shown == [((panel._mimebundle(),), {"raw": True, "metadata": {"image/png": {"width": panel.css_width}}})]


_UNDER_IPYWIDGETS_7 = r'''
import json, sys, traceback
from ipykernel.inprocess.ipkernel import InProcessKernel
kernel = InProcessKernel.instance()  # widgets open comms through the running kernel's comm manager
shown = []
kernel.shell.display_pub.publish = lambda data, metadata=None, **kw: shown.append(data)
import ipywidgets
from helpers import panels as P
from helpers.panels import testing as T

report = {"ipywidgets": ipywidgets.__version__, "panels": {}}
for name, build in P.all_panels().items():
    row = report["panels"][name] = {}
    try:
        panel = build()
        panel._ipython_display_()
        row["view"] = shown[-1].get("application/vnd.jupyter.widget-view+json")
        panel.widget._ipython_display_()  # how ipywidgets 7 itself shows the widget
        row["native_view"] = shown[-1].get("application/vnd.jupyter.widget-view+json")
        row["model_id"] = panel.widget.model_id
        row["comm_open"] = panel.widget.model_id in kernel.comm_manager.comms
        control_name, values = T.sweep_values(panel)
        control = panel.controls[control_name]
        target = next(v for v in [values[len(values) // 2], values[0], *values] if v != control.value)
        before = panel.image.value
        control.value = target
        row["moved"] = f"{control_name}: -> {target!r}"
        row["image_changed"] = panel.image.value != before and panel.image.value[:4] == b"\x89PNG"
    except Exception:
        row["error"] = traceback.format_exc()
print("REPORT " + json.dumps(report))
'''


@pytest.mark.colab
def test_panels_display_and_react_under_ipywidgets_7(tmp_path):
    python = cs.colab_python()
    out = subprocess.run([str(python), "-c", _UNDER_IPYWIDGETS_7], cwd=tmp_path, capture_output=True, text=True,
                         timeout=600, env=cs.clean_env(cs.ROOT, tmp_path))
    assert out.returncode == 0, out.stderr
    line = next((l for l in out.stdout.splitlines() if l.startswith("REPORT ")), None)
    assert line, out.stdout + out.stderr
    report = json.loads(line.removeprefix("REPORT "))
    assert report["ipywidgets"].startswith("7."), report["ipywidgets"]
    assert set(report["panels"]) == set(P.all_panels())
    for name, row in report["panels"].items():
        assert "error" not in row, f"{name}:\n{row['error']}"
        assert row["view"] is not None and row["view"] == row["native_view"], (name, row)
        assert row["view"]["model_id"] == row["model_id"], name
        assert row["comm_open"], f"{name}: its widget has no open comm in the kernel"
        assert row["image_changed"], f"{name}: moving {row['moved']} did not change panel.image.value"
