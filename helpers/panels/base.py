"""Interactive panel machinery: one persistent figure per panel, updated in place.

A panel is a set of ipywidgets controls plus a ``setup(fig)`` function. ``setup``
creates the axes and artists once and returns ``update(**values)``, which changes
those artists for the current control values. The panel then pushes PNG bytes
into a :class:`ipywidgets.Image`. If ``update`` returns a string, it is shown as
HTML under the image (a readout: numbers that change on every update are much
cheaper there than drawn as text in the figure).

Speed: artists that change with the controls are created with ``animated=True``.
Everything else (axes, ticks, labels, static curves) is drawn once into a cached
background; an update restores that background and draws only the animated
artists (blitting).

The redraw rule (when the cached background is redrawn) is explicit:
- the background is keyed by every axis' limits, scales, labels and visibility, by every visible
  static text, and by the values of the controls a panel names in ``redraw_on`` (a dropdown that
  swaps a static contour or image, say): a new key draws (and caches) a new background;
- matplotlib marks the figure stale when a *static* artist changes (animated ones never do), so a
  static change the key does not capture is caught too: the background is redrawn, never reused.
  ``Panel.unexpected_redraws`` counts those cases; tests keep it at zero for every panel.

Controls: a control that has no effect in the current state is disabled, never live and dead:
``enabled_when={"delta": lambda v: v["loss"] == "Huber"}`` maps a control to a rule on all values.

Robustness: ``update`` may raise :class:`PanelMessage` (or any exception); the
panel then shows a readable message inside the image instead of a traceback.
"""
from __future__ import annotations

import base64
import contextlib
import io
from collections import OrderedDict
from typing import Callable, Sequence

import ipywidgets as widgets
import matplotlib
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.text import Text
import numpy as np
from PIL import Image as PILImage
import torch

from ..plotting import STYLE, new_canvas_figure

__all__ = [
    "Panel", "PanelMessage", "register", "float_slider", "int_slider",
    "log_slider", "dropdown", "checkbox", "check_finite", "one_thread",
]

PANELS: dict[str, Callable[[], "Panel"]] = {}
_BACKGROUND_CACHE_SIZE = 32
_DESCRIPTION_STYLE = {"description_width": "initial"}
_ANIMATED_LIFT = 10
_FAST_TEXT = {"text.hinting": "no_hinting"}  # about half the cost of drawing text in a panel


class PanelMessage(Exception):
    """Raised inside an ``update`` function to show a message (e.g. an invalid setting)."""


def register(builder: Callable[[], "Panel"]) -> Callable[[], "Panel"]:
    """Decorator: list a panel builder so tests and benchmarks find every panel."""
    PANELS[builder.__name__] = builder
    return builder


# ----------------------------------------------------------------------------- controls
def float_slider(description: str, min: float, max: float, step: float, value: float, *,
                 continuous_update: bool = True) -> widgets.FloatSlider:
    """A float slider; it updates while dragged, or on release with ``continuous_update=False``."""
    return widgets.FloatSlider(value=value, min=min, max=max, step=step, description=description,
                               continuous_update=continuous_update, style=_DESCRIPTION_STYLE,
                               layout=widgets.Layout(width="320px"))


def int_slider(description: str, min: int, max: int, value: int, step: int = 1, *,
               continuous_update: bool = True) -> widgets.IntSlider:
    """An integer slider; it updates while dragged, or on release with ``continuous_update=False``."""
    return widgets.IntSlider(value=value, min=min, max=max, step=step, description=description,
                             continuous_update=continuous_update, style=_DESCRIPTION_STYLE,
                             layout=widgets.Layout(width="320px"))


def log_slider(description: str, min_exp: float, max_exp: float, value: float, step: float = 0.1, *,
               continuous_update: bool = True) -> widgets.FloatLogSlider:
    """A slider over ``10**min_exp .. 10**max_exp`` on a log scale (``continuous_update`` as for the others)."""
    return widgets.FloatLogSlider(value=value, base=10, min=min_exp, max=max_exp, step=step,
                                  description=description, continuous_update=continuous_update,
                                  style=_DESCRIPTION_STYLE, layout=widgets.Layout(width="320px"))


def dropdown(description: str, options, value=None) -> widgets.Dropdown:
    """A dropdown; ``options`` is a list of values or of ``(label, value)`` pairs."""
    dd = widgets.Dropdown(options=options, description=description, style=_DESCRIPTION_STYLE,
                          layout=widgets.Layout(width="240px"))
    if value is not None:
        dd.value = value
    return dd


def checkbox(description: str, value: bool = False) -> widgets.Checkbox:
    """A checkbox (on/off switch)."""
    return widgets.Checkbox(value=value, description=description, indent=False,
                            layout=widgets.Layout(width="auto"))


@contextlib.contextmanager
def one_thread():
    """Run a panel's small tensor work on one torch thread (waking a thread pool costs more than it saves)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def check_finite(*arrays, what: str = "the result") -> None:
    """Raise :class:`PanelMessage` if any array holds NaN or inf."""
    for a in arrays:
        a = np.asarray(a, dtype=float)
        if not np.all(np.isfinite(a)):
            raise PanelMessage(f"{what} is not finite (NaN or inf): the computation diverged")


# ----------------------------------------------------------------------------- panel
class Panel:
    """Controls + one persistent figure + an ``Image`` widget showing it."""

    # Public hook: each function here is called with the panel whenever a panel is displayed
    # (the static site's build appends one in a notebook's kernel to record what the notebook shows).
    display_listeners: list[Callable[["Panel"], None]] = []

    def __init__(
        self,
        controls: dict[str, widgets.ValueWidget],
        setup: Callable[[Figure], Callable[..., None]],
        *,
        figsize: tuple[float, float] = (7.5, 3.2),
        dpi: int = 80,
        redraw_on: Sequence[str] = (),
        enabled_when: dict[str, Callable[[dict], bool]] | None = None,
    ) -> None:
        if not controls:
            raise ValueError("controls must name at least one widget")
        enabled_when = dict(enabled_when or {})
        for what, names in (("redraw_on", list(redraw_on)), ("enabled_when", list(enabled_when))):
            unknown = sorted(set(names) - set(controls))
            if unknown:
                raise ValueError(f"{what} names unknown control(s) {unknown}; the controls are {sorted(controls)}")
        self.controls = dict(controls)
        self.redraw_on = tuple(redraw_on)
        self.enabled_when = enabled_when
        self._setup = setup
        self.last_error: str | None = None
        self.unexpected_redraws = 0  # static changes the background key missed (see the module docstring)
        self._redraw_values: tuple = ()
        self._last_key: tuple | None = None
        self.fig = new_canvas_figure(figsize, dpi)
        with matplotlib.rc_context(STYLE):
            self._update = setup(self.fig)
        # The fast path draws animated artists after the whole background; lifting them above every
        # static artist (legends are at 5) makes a full redraw stack them the same way.
        for artist in self._shallow_artists():
            if artist.get_animated():
                artist.set_zorder(artist.get_zorder() + _ANIMATED_LIFT)
        self._veil = Rectangle((0, 0), 1, 1, transform=self.fig.transFigure, facecolor="white",
                               alpha=0.88, animated=True, visible=False, zorder=1000)
        self.fig.add_artist(self._veil)
        self._message = self.fig.text(0.5, 0.5, "", ha="center", va="center", fontsize=12, wrap=True,
                                      color="#b00020", animated=True, visible=False, zorder=1001)
        self._backgrounds: OrderedDict = OrderedDict()
        self._layout_frozen = False
        self.image = widgets.Image(format="png", layout=widgets.Layout(width=f"{int(figsize[0] * dpi)}px"))
        box = widgets.Box(list(self.controls.values()),
                          layout=widgets.Layout(flex_flow="row wrap", align_items="center"))
        # Text that changes on every update (numbers, verdicts) is cheaper as HTML than drawn in the figure:
        # ``update`` may return a string, shown here under the image.
        self.readout = widgets.HTML(layout=widgets.Layout(margin="0 0 0 12px"))
        self.readout_text = ""
        self.widget = widgets.VBox([box, self.image, self.readout])
        for w in self.controls.values():
            w.observe(self._on_change, names="value")
        self.refresh()

    def enabled(self, values: dict | None = None) -> dict[str, bool]:
        """Which controls have an effect for ``values`` (the current ones by default), by name."""
        values = self.values() if values is None else values
        return {name: bool(self.enabled_when[name](values)) if name in self.enabled_when else True
                for name in self.controls}

    # -- public API ------------------------------------------------------------------
    def values(self) -> dict:
        """The current value of every control, by name."""
        return {name: w.value for name, w in self.controls.items()}

    def refresh(self) -> None:
        """Redraw for the current control values, push the PNG (and readout) into the widgets and
        disable the controls that have no effect in the new state."""
        self.image.value = self.render()
        self.readout.value = self.readout_text
        for name, on in self.enabled().items():
            self.controls[name].disabled = not on

    def render(self, **overrides) -> bytes:
        """Run the update for the current values (with ``overrides``) and return PNG bytes."""
        unknown = set(overrides) - set(self.controls)
        if unknown:
            raise ValueError(f"unknown control(s) {sorted(unknown)}; this panel has {sorted(self.controls)}")
        values = {**self.values(), **overrides}
        self.last_error = None
        self.readout_text = ""
        self._redraw_values = tuple(values[name] for name in self.redraw_on)
        try:
            result = self._update(**values)
            if isinstance(result, str):
                self.readout_text = result
        except PanelMessage as exc:
            self.last_error = str(exc)
        except Exception as exc:  # any failure becomes a readable message, never a traceback
            self.last_error = f"Cannot draw this setting ({type(exc).__name__}: {exc})"
        self._show_message(self.last_error)
        return self._encode(self._draw())

    def _ipython_display_(self) -> None:
        """Show the live widget; the bundle also carries a PNG of the current picture, which
        frontends without a running kernel (an untrusted notebook, GitHub, nbviewer) show instead.

        ipywidgets 8 describes a widget with ``_repr_mimebundle_``; ipywidgets 7 (Colab) has no such
        method, so the widget-view entry is written out here the way both versions write it.
        """
        from IPython.display import display

        for listener in Panel.display_listeners:
            listener(self)
        display(self._mimebundle(), raw=True)

    def _mimebundle(self) -> dict:
        """The display bundle: the widget view, a PNG fallback and a plain-text line."""
        return {
            "application/vnd.jupyter.widget-view+json": {
                "version_major": 2, "version_minor": 0, "model_id": self.widget.model_id,
            },
            "image/png": base64.b64encode(self.image.value).decode("ascii"),
            "text/plain": "Interactive panel: run this cell in Jupyter to use its controls.",
        }

    # -- internals --------------------------------------------------------------------
    def _on_change(self, change) -> None:
        self.refresh()

    def _show_message(self, text: str | None) -> None:
        self._veil.set_visible(text is not None)
        self._message.set_visible(text is not None)
        self._message.set_text(text or "")

    def _shallow_artists(self) -> list:
        """The figure's and each axes' direct children (where panels keep the artists they change)."""
        artists = list(self.fig.get_children())
        for ax in self.fig.axes:
            artists.extend(ax.get_children())
            legend = ax.get_legend()
            if legend is not None:
                artists.extend(legend.get_texts())
        return artists

    def _background_key(self, artists: list) -> tuple:
        key = []
        for ax in self.fig.axes:
            key.append((ax.get_visible(), ax.get_xlim(), ax.get_ylim(), ax.get_xscale(), ax.get_yscale(),
                        ax.get_xlabel(), ax.get_ylabel()))
        key.append(tuple(a.get_text() for a in artists
                         if isinstance(a, Text) and a.get_visible() and not a.get_animated()))
        key.append(self._redraw_values)
        return tuple(key)

    def _draw(self) -> np.ndarray:
        canvas = self.fig.canvas
        with matplotlib.rc_context(_FAST_TEXT):
            if not self._layout_frozen:
                canvas.draw()  # lets the layout engine place the axes once
                self.fig.set_layout_engine("none")
                self._layout_frozen = True
            artists = self._shallow_artists()
            key = self._background_key(artists)
            background = self._backgrounds.get(key)
            if background is not None and self.fig.stale and key == self._last_key:
                # a static artist changed although the key did not: that background is out of date
                self.unexpected_redraws += 1
                background = None
            self._last_key = key
            if background is None:
                canvas.draw()  # draws everything that is not animated
                background = canvas.copy_from_bbox(self.fig.bbox)
                self._backgrounds[key] = background
                if len(self._backgrounds) > _BACKGROUND_CACHE_SIZE:
                    self._backgrounds.popitem(last=False)
            else:
                self._backgrounds.move_to_end(key)
                canvas.restore_region(background)
            animated = [a for a in artists if a.get_animated() and a.get_visible()
                        and (a.axes is None or a.axes.get_visible())]
            for artist in sorted(animated, key=lambda a: a.get_zorder()):
                self.fig.draw_artist(artist)
        self.fig.stale = False  # from here on, stale means: a static artist changed in the next update
        return np.asarray(canvas.buffer_rgba())

    @staticmethod
    def _encode(rgba: np.ndarray) -> bytes:
        # A 255-colour palette (no dithering) looks the same for line plots, encodes about twice as
        # fast as RGB and makes the PNG about 2.5x smaller (less to send to the browser).
        image = PILImage.fromarray(rgba[..., :3]).quantize(
            colors=255, method=PILImage.Quantize.FASTOCTREE, dither=PILImage.Dither.NONE)
        buf = io.BytesIO()
        image.save(buf, format="png", compress_level=1)
        return buf.getvalue()
