"""Panels show the widget view that ipywidgets 8 (here) gives, and IPython's raw display of it.

Under ipywidgets 7 (Colab), every panel of every notebook is displayed and moved by
tests/test_colab_stack.py, in the notebooks themselves.
"""
from __future__ import annotations

import base64
import pathlib
import sys

import IPython.display
import ipywidgets
import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import colab_support as cs  # noqa: E402
from helpers import panels as P  # noqa: E402


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
