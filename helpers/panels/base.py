"""Interactive panel machinery: one persistent figure per panel, updated in place.

A panel is a set of ipywidgets controls plus a ``setup(fig)`` function. ``setup``
creates the axes and artists once and returns ``update(**values)``, which changes
those artists for the current control values. The panel then pushes the PNG
into a :class:`ipywidgets.Image` as a ``data:`` URL (``Panel.png`` keeps the
bytes). If ``update`` returns a string, it is shown as HTML under the image (a
readout: numbers that change on every update are much cheaper there than drawn
as text in the figure).

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
A control that belongs to another mode altogether may be hidden instead (``shown_when``, same form).
``follow(controls, changed)`` runs before the redraw a control change causes (``changed`` is its name, None
at the start) and may set other controls (a slider's range, the weights a preset shows); the values it sets
start no redraw of their own: one change, one picture.
``groups=[("title", [["a", "b"], ["c"]]), ...]`` lays the controls out as labelled groups, one grid
each (a row per inner list); controls in no group come first. A slider made by :func:`play_slider`
gets a Play button beside it that steps it in the browser.
``states={"SGD 发散": {"SGD_lr": 0.008}, ...}`` names settings the chapter's text suggests: each is a
dict of the controls it changes (the others keep their values at construction, ``Panel.defaults``).
They show as one-click buttons ("试试：SGD 发散") above the controls, and ``apply_state(name)`` sets
one with a single redraw; the static site renders every declared state exactly.

Pictures: the figure is drawn at ``PIXEL_RATIO`` (2) pixels per CSS pixel and shown at its CSS size
(``figsize * dpi``), so it is sharp on a 2x screen. Legends are drawn last, above every curve, with
an opaque frame: nothing the fast path draws can paint over them.

Robustness: ``update`` may raise :class:`PanelMessage` (or any exception); the
panel then shows a readable message inside the image instead of a traceback.
"""
from __future__ import annotations

import base64
import builtins
import contextlib
import decimal
import io
import struct
import zlib
from collections import OrderedDict
from typing import Callable, Sequence

import ipywidgets as widgets
import matplotlib
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from matplotlib.transforms import IdentityTransform
import numpy as np
from PIL import Image as PILImage
import torch

from ..plotting import STYLE, new_canvas_figure

try:  # ISA-L's deflate (the optional ``isal`` package) is about 4x faster than zlib's here, and smaller
    from isal import isal_zlib as _isal
except ImportError:  # (e.g. in Colab) zlib, with run-length matching: fast for runs of one colour
    _isal = None

__all__ = [
    "Panel", "PanelMessage", "register", "float_slider", "int_slider",
    "log_slider", "play_slider", "swept", "dropdown", "checkbox", "check_finite", "one_thread", "PIXEL_RATIO",
]

PANELS: dict[str, Callable[[], "Panel"]] = {}
PIXEL_RATIO = 2  # picture pixels per CSS pixel: sharp on a 2x (retina) screen
_BACKGROUND_CACHE_SIZE = 32
_ANIMATED_LIFT = 10
_LEGEND_Z = 900  # legends above every curve (animated ones included), below the error veil (1000)
_PALETTE_TOLERANCE = 40  # a fresh 255-colour palette is off by up to ~39 in a channel at a few anti-aliased pixels
_MIN_FONT = 9.0  # points: 10 CSS px at the panels' 80 dpi
_FAST_TEXT = {"text.hinting": "no_hinting"}  # about half the cost of drawing text in a panel


@contextlib.contextmanager
def fast_text():
    """``matplotlib.rc_context(_FAST_TEXT)`` without copying every rc setting in and out (0.8 ms a frame)."""
    params = matplotlib.rcParams
    before = {key: params[key] for key in _FAST_TEXT}
    try:
        params.update(_FAST_TEXT)
        yield
    finally:
        params.update(before)

# Panels differ from the static figures in one way: a legend has an opaque frame, because it is drawn
# above the curves (a curve passing under it is hidden, not drawn through the text).
PANEL_STYLE = {**STYLE, "legend.frameon": True, "legend.framealpha": 1.0, "legend.edgecolor": "#cccccc",
               "legend.fancybox": False, "legend.fontsize": 9.5}
SAVED_HINT = "\u25b6 Run this cell to bring the controls (until then this is a saved picture)."

# Control sizes, in CSS pixels, from the widget font (13 px): a label never cut, a slider's visible track
# ``track`` px long (the slider's own margins take ``_SLIDER_MARGINS`` more; the browser test checks >= 120).
_TRACK = 144
_SLIDER_MARGINS = 28
_READOUT = 70


def _text_px(text: str) -> int:
    """A generous estimate of ``text``'s width in the 13 px widget font (CJK glyphs are full width)."""
    return int(sum(14 if ord(ch) >= 0x2E80 else 8 for ch in str(text))) + 10


def _label_style(description: str) -> dict:
    return {"description_width": f"{_text_px(description)}px" if description else "0px"}


def _slider_layout(description: str, track: int = _TRACK) -> widgets.Layout:
    if track < 120:
        raise ValueError(f"a slider track must be at least 120 px long, got {track}")
    return widgets.Layout(width=f"{_text_px(description) + track + _SLIDER_MARGINS + _READOUT}px")


class PanelMessage(Exception):
    """Raised inside an ``update`` function to show a message (e.g. an invalid setting)."""


def register(builder: Callable[[], "Panel"]) -> Callable[[], "Panel"]:
    """Decorator: list a panel builder so tests and benchmarks find every panel."""
    PANELS[builder.__name__] = builder
    return builder


# ----------------------------------------------------------------------------- controls
def float_slider(description: str, min: float, max: float, step: float, value: float, *,
                 continuous_update: bool = True, track: int = _TRACK) -> widgets.FloatSlider:
    """A float slider; it updates while dragged, or on release with ``continuous_update=False``.
    ``track``: the visible track in CSS px (>= 120; shorter than the default for controls laid out in rows).
    The readout shows as many decimals as the step has (at least 2): 0.999 does not read "1.00"."""
    decimals = builtins.max(2, -decimal.Decimal(str(step)).normalize().as_tuple().exponent)
    return widgets.FloatSlider(value=value, min=min, max=max, step=step, description=description,
                               continuous_update=continuous_update, style=_label_style(description),
                               layout=_slider_layout(description, track), readout_format=f".{decimals}f")


def int_slider(description: str, min: int, max: int, value: int, step: int = 1, *,
               continuous_update: bool = True, track: int = _TRACK) -> widgets.IntSlider:
    """An integer slider; it updates while dragged, or on release with ``continuous_update=False``."""
    return widgets.IntSlider(value=value, min=min, max=max, step=step, description=description,
                             continuous_update=continuous_update, style=_label_style(description),
                             layout=_slider_layout(description, track))


def play_slider(description: str, min: int, max: int, value: int, step: int = 1, *,
                interval: int = 100) -> widgets.IntSlider:
    """An integer slider with a Play button beside it: Play steps it every ``interval`` ms up to its end
    (the button's repeat toggle makes it loop)."""
    slider = int_slider(description, min, max, value, step)
    slider.play_interval = int(interval)  # the Panel adds the Play button and links it in the browser
    return slider


def log_slider(description: str, min_exp: float, max_exp: float, value: float, step: float = 0.1, *,
               continuous_update: bool = True, track: int = _TRACK) -> widgets.FloatLogSlider:
    """A slider over ``10**min_exp .. 10**max_exp`` on a log scale (``continuous_update`` as for the others)."""
    return widgets.FloatLogSlider(value=value, base=10, min=min_exp, max=max_exp, step=step,
                                  description=description, continuous_update=continuous_update,
                                  style=_label_style(description), layout=_slider_layout(description, track))


def swept(slider: widgets.ValueWidget) -> widgets.ValueWidget:
    """Mark a slider the chapter's text asks the learner to sweep: the static site keeps at least five of its
    positions (as it does for a slider with a Play button). Returns the slider."""
    slider.swept = True
    return slider


def dropdown(description: str, options, value=None) -> widgets.Dropdown:
    """A dropdown; ``options`` is a list of values or of ``(label, value)`` pairs."""
    labels = [o[0] if isinstance(o, tuple) else o for o in options]
    widest = max((_text_px(label) for label in labels), default=40)
    dd = widgets.Dropdown(options=options, description=description, style=_label_style(description),
                          layout=widgets.Layout(width=f"{_text_px(description) + widest + 40}px"))
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


def _palette_fits(indices: np.ndarray, palette: bytes, rgba: np.ndarray) -> bool:
    """True if the palette picture (``indices`` into ``palette``) is within ``_PALETTE_TOLERANCE`` of ``rgba``
    on a 1-in-16 pixel sample."""
    colours = np.frombuffer(palette, dtype=np.uint8).reshape(-1, 3).astype(np.int16)
    shown = colours[indices[::4, ::4]]
    return bool(np.abs(shown - rgba[::4, ::4, :3]).max() <= _PALETTE_TOLERANCE)


def _palette_bytes(image: PILImage.Image) -> bytes:
    return bytes(image.getpalette("RGB"))


def _deflate(data) -> bytes:
    if _isal is not None:
        return _isal.compress(data, 2)
    compressor = zlib.compressobj(1, zlib.DEFLATED, 15, 9, zlib.Z_RLE)
    return compressor.compress(data) + compressor.flush()


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_data_url(png: bytes) -> bytes:
    """``png`` as the bytes of a ``data:image/png;base64,...`` URL (an ``Image`` widget's value in format "url")."""
    if png[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("png_data_url takes PNG bytes")
    return b"data:image/png;base64," + base64.b64encode(png)


def palette_png(indices: np.ndarray, palette: bytes) -> bytes:
    """A PNG of ``indices`` (an ``(H, W)`` uint8 array) into ``palette`` (3 bytes a colour, at most 256 colours).

    Written here rather than by PIL so that the deflate can be ISA-L's: rows are stored unfiltered (filters
    do not help a palette picture), compressed at the fastest setting that keeps them small."""
    height, width = indices.shape
    if indices.dtype != np.uint8 or len(palette) % 3 or not 0 < len(palette) <= 768:
        raise ValueError(f"expected uint8 indices and a palette of 1-256 RGB colours, got {indices.dtype} and {len(palette)} bytes")
    rows = np.zeros((height, width + 1), dtype=np.uint8)  # each row starts with its filter type, 0 (none)
    rows[:, 1:] = indices
    header = struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0)  # 8-bit palette colour, no interlace
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"PLTE", palette)
            + _png_chunk(b"IDAT", _deflate(rows.data)) + _png_chunk(b"IEND", b""))


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
        shown_when: dict[str, Callable[[dict], bool]] | None = None,
        groups: Sequence[tuple[str, Sequence[Sequence[str]]]] = (),
        follow: Callable[[dict, str | None], None] | None = None,
        states: dict[str, dict] | None = None,
    ) -> None:
        if not controls:
            raise ValueError("controls must name at least one widget")
        enabled_when = dict(enabled_when or {})
        shown_when = dict(shown_when or {})
        grouped = [name for _, rows in groups for row in rows for name in row]
        for what, names in (("redraw_on", list(redraw_on)), ("enabled_when", list(enabled_when)),
                            ("shown_when", list(shown_when)), ("groups", grouped)):
            unknown = sorted(set(names) - set(controls))
            if unknown:
                raise ValueError(f"{what} names unknown control(s) {unknown}; the controls are {sorted(controls)}")
        for state, changes in (states or {}).items():
            unknown = sorted(set(changes) - set(controls))
            if unknown or not changes:
                raise ValueError(f"state {state!r} must set some of the controls {sorted(controls)}, got {sorted(changes)}")
        twice = sorted({name for name in grouped if grouped.count(name) > 1})
        if twice:
            raise ValueError(f"groups list control(s) {twice} more than once")
        self.controls = dict(controls)
        self._follow = follow
        self._following = False
        if follow is not None:
            follow(self.controls, None)
        self.redraw_on = tuple(redraw_on)
        self.enabled_when = enabled_when
        self.shown_when = shown_when
        self.defaults = self.values()  # (after ``follow``) what a state does not set
        self.states = {name: dict(changes) for name, changes in (states or {}).items()}
        for name in self.states:
            self.state_values(name)  # a state the controls cannot take fails here, with the controls named
        self.css_width = int(round(figsize[0] * dpi))
        self._setup = setup
        self.last_error: str | None = None
        self.unexpected_redraws = 0  # static changes the background key missed (see the module docstring)
        self._redraw_values: tuple = ()
        self._last_key: tuple | None = None
        self.fig = new_canvas_figure(figsize, dpi * PIXEL_RATIO)
        with matplotlib.rc_context(PANEL_STYLE):
            self._update = setup(self.fig)
        # The fast path draws animated artists after the whole background; lifting them above every
        # static artist makes a full redraw stack them the same way.
        for artist in self._shallow_artists():
            if artist.get_animated():
                artist.set_zorder(artist.get_zorder() + _ANIMATED_LIFT)
        self._pads: dict = {}  # legend -> the opaque pad under it (see _lift_legends)
        self._lift_legends()
        self._veil = Rectangle((0, 0), 1, 1, transform=self.fig.transFigure, facecolor="white",
                               alpha=0.88, animated=True, visible=False, zorder=1000)
        self.fig.add_artist(self._veil)
        self._message = self.fig.text(0.5, 0.5, "", ha="center", va="center", fontsize=12, wrap=True,
                                      color="#b00020", animated=True, visible=False, zorder=1001)
        self._backgrounds: OrderedDict = OrderedDict()
        self._palettes: dict = {}  # background key -> the palette image last found for a frame on it
        # False: every frame gets its own palette, so its PNG bytes follow from its setting alone (the static site)
        self.reuse_palettes = True
        self._layout_frozen = False
        # format "url" (ipywidgets 7 and 8): the browser shows the picture from a data: URL. With format
        # "png" it makes a Blob URL of the bytes and fetches it back, which makes a 2x picture show later after
        # a key press in JupyterLab: a median of 2-10 ms over panels, more for some (benchmarks/browser.py).
        self.image = widgets.Image(format="url", layout=widgets.Layout(width=f"{self.css_width}px"))
        self.png = b""  # the picture shown, as PNG bytes
        self.play_links: list = []
        self._groups: list = []  # (group box, its control names): a group whose controls are all hidden is hidden
        self.groups = [(title, [list(row) for row in rows]) for title, rows in groups]  # as given (the site lays out the same)
        self._cells = {name: self._cell(w) for name, w in self.controls.items()}
        box = self._control_box(groups)
        # Text that changes on every update (numbers, verdicts) is cheaper as HTML than drawn in the figure:
        # ``update`` may return a string, shown here under the image.
        self.readout = widgets.HTML(layout=widgets.Layout(margin="0 0 0 12px"))
        self.readout_text = ""
        self.state_buttons = {name: self._state_button(name) for name in self.states}
        presets = []
        if self.state_buttons:
            presets = [widgets.Box([widgets.HTML("<b>试试：</b>")] + list(self.state_buttons.values())
                                   + [self._state_button(None)],
                                   layout=widgets.Layout(flex_flow="row wrap", align_items="center"))]
        self.widget = widgets.VBox(presets + [box, self.image, self.readout])
        for w in self.controls.values():
            w.observe(self._on_change, names="value")
        self.refresh()

    def enabled(self, values: dict | None = None) -> dict[str, bool]:
        """Which controls have an effect for ``values`` (the current ones by default), by name."""
        values = self.values() if values is None else values
        return {name: bool(self.enabled_when[name](values)) if name in self.enabled_when else True
                for name in self.controls}

    def shown(self, values: dict | None = None) -> dict[str, bool]:
        """Which controls are shown for ``values`` (the current ones by default), by name."""
        values = self.values() if values is None else values
        return {name: bool(self.shown_when[name](values)) if name in self.shown_when else True
                for name in self.controls}

    # -- public API ------------------------------------------------------------------
    def values(self) -> dict:
        """The current value of every control, by name."""
        return {name: w.value for name, w in self.controls.items()}

    def state_values(self, name: str | None) -> dict:
        """Every control's value in the named state (None: the defaults), as ``apply_state`` leaves them:
        controls the state does not name are at their defaults, or where ``follow`` puts them."""
        now = self.values()
        with self._held():
            try:
                self._set_values(self._state_changes(name))
                return self.values()
            finally:
                self._set_values(now)

    def apply_state(self, name: str | None) -> None:
        """Set the controls to the named state (None: the defaults), with one redraw.

        Raises ValueError if a control cannot take the state's value (off its range or its options)."""
        with self._held():
            self._set_values(self._state_changes(name))
        self.refresh()

    @contextlib.contextmanager
    def _held(self):
        """The browser hears only the end result (``hold_sync``): a value set on the way, or set and put back by
        ``state_values``, never reaches a slider there, which could send it back as a change of its own."""
        with contextlib.ExitStack() as held:
            for w in self.controls.values():
                held.enter_context(w.hold_sync())
            yield

    def _state_changes(self, name: str | None) -> dict:
        if name is not None and name not in self.states:
            raise ValueError(f"unknown state {name!r}; this panel has {sorted(self.states)}")
        return self.states[name] if name is not None else {}

    def _set_values(self, changes: dict) -> None:
        """The defaults with ``changes`` on top and ``follow`` (twice), then ``changes`` again; no redraw."""
        self._following = True  # no redraw per control
        try:
            for _ in range(2):  # a range that follows another control (clamping a value) is right the second time
                for control, value in {**self.defaults, **changes}.items():
                    with contextlib.suppress(Exception):  # an option a followed list lacks yet: set again below
                        self.controls[control].value = value
                if self._follow is not None:
                    self._follow(self.controls, None)
            for control, value in changes.items():
                self.controls[control].value = value
        except Exception as exc:
            raise ValueError(f"the controls cannot take the values {changes}: {exc}") from exc
        finally:
            self._following = False
        off = {c: (self.controls[c].value, v) for c, v in changes.items() if self.controls[c].value != v}
        if off:
            raise ValueError(f"these controls cannot take their values (they have, were given): {off}")

    def refresh(self) -> None:
        """Redraw for the current control values, push the PNG (and readout) into the widgets and
        disable the controls that have no effect in the new state."""
        self.png = self.render()
        self.image.value = png_data_url(self.png)
        self.readout.value = self.readout_text
        values = self.values()
        for name, on in self.enabled(values).items():
            self.controls[name].disabled = not on
        shown = self.shown(values)
        for name, on in shown.items():
            self._cells[name].layout.display = None if on else "none"
        for group, names in self._groups:
            group.layout.display = None if any(shown[name] for name in names) else "none"

    def render(self, **overrides) -> bytes:
        """Run the update for the current values (with ``overrides``) and return PNG bytes."""
        return self._encode(self._render_rgba(**overrides))

    def _render_rgba(self, **overrides) -> np.ndarray:
        """``render`` without the PNG: the canvas' RGBA pixels (a view, valid until the next draw)."""
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
        return self._draw()

    def _ipython_display_(self) -> None:
        """Show the live widget; the bundle also carries a PNG of the current picture, which
        frontends without a running kernel (an untrusted notebook, GitHub, nbviewer) show instead.

        ipywidgets 8 describes a widget with ``_repr_mimebundle_``; ipywidgets 7 (Colab) has no such
        method, so the widget-view entry is written out here the way both versions write it.
        """
        from IPython.display import display

        for listener in Panel.display_listeners:
            listener(self)
        display(self._mimebundle(), raw=True, metadata={"image/png": {"width": self.css_width}})

    def _mimebundle(self) -> dict:
        """The display bundle: the widget view, a PNG fallback (with a hint to run the cell) and a text line."""
        return {
            "application/vnd.jupyter.widget-view+json": {
                "version_major": 2, "version_minor": 0, "model_id": self.widget.model_id,
            },
            "image/png": base64.b64encode(self.saved_picture()).decode("ascii"),
            "text/plain": "Interactive panel: run this cell in Jupyter to use its controls.",
        }

    def saved_picture(self) -> bytes:
        """PNG of the current picture under a one-line hint that running the cell brings the controls."""
        picture = np.asarray(PILImage.open(io.BytesIO(self.png)).convert("RGBA"))
        width_in = self.fig.get_size_inches()[0]
        with matplotlib.rc_context(PANEL_STYLE):
            banner = new_canvas_figure((width_in, 0.3), self.fig.dpi)
            banner.set_layout_engine("none")
            banner.patch.set_facecolor("#fff8e1")
            banner.text(0.01, 0.5, SAVED_HINT, ha="left", va="center", fontsize=9.5, color="#5d4037")
            banner.canvas.draw()
        strip = np.asarray(banner.canvas.buffer_rgba())
        if strip.shape[1] != picture.shape[1]:  # rounding of inches to pixels
            strip = np.asarray(PILImage.fromarray(strip).resize((picture.shape[1], strip.shape[0])))
        return self._encode(np.concatenate([strip, picture], axis=0))

    def _state_button(self, name: str | None) -> widgets.Button:
        """A one-click button for a named state (None: back to the defaults)."""
        label = name if name is not None else "↺ 默认"
        button = widgets.Button(description=label, tooltip=label,
                                layout=widgets.Layout(width=f"{_text_px(label) + 16}px"))
        button.on_click(lambda _: self.apply_state(name))
        return button

    def _cell(self, control: widgets.ValueWidget) -> widgets.Widget:
        """What sits in the layout for one control: the control, or a Play button and its slider."""
        interval = getattr(control, "play_interval", None)
        if interval is None:
            return control
        play = widgets.Play(value=control.value, min=control.min, max=control.max, step=control.step,
                            interval=interval, description=f"play {control.description}",
                            layout=widgets.Layout(width="auto"))
        self.play_links.append(widgets.jslink((play, "value"), (control, "value")))  # moves in the browser only
        for bound in ("min", "max", "step"):  # a slider whose range follows another control takes Play along
            widgets.dlink((control, bound), (play, bound))
        return widgets.HBox([play, control], layout=widgets.Layout(align_items="center"))

    def _control_box(self, groups) -> widgets.Box:
        """Ungrouped controls in a wrapping row, then one labelled grid per group."""
        grouped = {name for _, rows in groups for row in rows for name in row}
        loose = [self._cells[name] for name in self.controls if name not in grouped]
        parts = []
        if loose:
            parts.append(widgets.Box(loose, layout=widgets.Layout(flex_flow="row wrap", align_items="center")))
        for title, rows in groups:
            columns = max(len(row) for row in rows)
            cells = []
            for row in rows:
                cells += [self._cells[name] for name in row]
                cells += [widgets.Box() for _ in range(columns - len(row))]
            grid = widgets.GridBox(cells, layout=widgets.Layout(
                grid_template_columns=f"repeat({columns}, max-content)", grid_gap="2px 14px", align_items="center"))
            group = widgets.VBox([widgets.HTML(f"<b>{title}</b>"), grid], layout=widgets.Layout(
                border="1px solid #e0e0e0", padding="2px 8px 4px 8px", margin="2px 8px 2px 0"))
            self._groups.append((group, [name for row in rows for name in row]))
            parts.append(group)
        return widgets.Box(parts, layout=widgets.Layout(flex_flow="row wrap", align_items="flex-start"))

    # -- internals --------------------------------------------------------------------
    def _on_change(self, change) -> None:
        if self._following:  # a value ``follow`` set: the change that called it redraws once for all
            return
        if self._follow is not None:
            name = next(n for n, w in self.controls.items() if w is change["owner"])
            self._following = True
            try:
                self._follow(self.controls, name)
            finally:
                self._following = False
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

    def _legends(self) -> list:
        return [leg for leg in list(self.fig.legends) + [ax.get_legend() for ax in self.fig.axes] if leg is not None]

    def _lift_legends(self) -> bool:
        """Make every legend (also one ``update`` just made) an overlay: drawn last, above the curves, on an
        opaque pad, with text of at least ``_MIN_FONT`` points. True if anything changed."""
        changed = False
        legends = self._legends()
        for legend in legends:
            if legend in self._pads:
                continue
            legend.set_animated(True)
            legend.set_zorder(_LEGEND_Z)
            for text in legend.get_texts():
                text.set_fontsize(max(text.get_fontsize(), _MIN_FONT))
            pad = Rectangle((0, 0), 0, 0, transform=IdentityTransform(), facecolor="white", edgecolor="none",
                            antialiased=False, animated=True, zorder=_LEGEND_Z - 1)
            # the pad lives where its legend is drawn (an axes draws its own legend), just under it
            (legend.axes or self.fig).add_artist(pad)
            pad.set_clip_on(False)
            self._pads[legend] = pad
            changed = True
        for legend in [leg for leg in self._pads if leg not in legends]:  # replaced by a new legend
            self._pads.pop(legend).remove()
            changed = True
        return changed

    def _place_pads(self, renderer) -> None:
        """Put each legend's pad on the whole pixels under it (2 px margin for the frame's edge)."""
        for legend, pad in self._pads.items():
            box = legend.get_window_extent(renderer)
            width, height = self.fig.canvas.get_width_height(physical=True)
            x0, y0 = max(np.floor(box.x0) - 2, 0), max(np.floor(box.y0) - 2, 0)
            x1, y1 = min(np.ceil(box.x1) + 2, width), min(np.ceil(box.y1) + 2, height)
            pad.set_bounds(x0, y0, x1 - x0, y1 - y0)

    def _draw(self) -> np.ndarray:
        canvas = self.fig.canvas
        lifted = self._lift_legends()  # legends made by ``update`` too
        with fast_text():
            if not self._layout_frozen:
                canvas.draw()  # lets the layout engine place the axes (and "best" legends) once
                self.fig.set_layout_engine("none")
                for legend in self._pads:
                    if legend._loc == 0:  # "best" depends on the curves: keep the place it found
                        legend.set_loc(self._fixed_loc(legend))
                self._layout_frozen = True
            artists = self._shallow_artists()
            key = self._background_key(artists)
            cached = self._backgrounds.get(key)
            if cached is not None and self.fig.stale and key == self._last_key and not lifted:
                # a static artist changed although the key did not: that background is out of date
                self.unexpected_redraws += 1
                cached = None
            if lifted:
                cached = None
            self._last_key = key
            self.drew_background = cached is None  # (tests: a picture on a new background needs no second opinion)
            if cached is None:
                canvas.draw()  # draws everything that is not animated
                background = canvas.copy_from_bbox(self.fig.bbox)
                self._place_pads(canvas.get_renderer())
            else:
                self._backgrounds.move_to_end(key)
                background, patches = cached
                canvas.restore_region(background)
            animated = [a for a in artists if a.get_animated() and a.get_visible()
                        and (a.axes is None or a.axes.get_visible())]
            overlays = set(self._pads) | set(self._pads.values())
            done_overlays = False
            for artist in sorted(animated, key=lambda a: a.get_zorder()):
                if artist in overlays and cached is not None:
                    if not done_overlays:  # the legends as drawn with this background: pixels, not text
                        for patch in patches:
                            canvas.restore_region(patch)
                        done_overlays = True
                    continue
                self.fig.draw_artist(artist)
            if cached is None:
                patches = [canvas.copy_from_bbox(pad.get_bbox())  # display pixels (the pad's transform is the identity)
                           for legend, pad in self._pads.items()
                           if legend.get_visible() and (legend.axes is None or legend.axes.get_visible())]
                self._backgrounds[key] = (background, patches)
                if len(self._backgrounds) > _BACKGROUND_CACHE_SIZE:
                    self._backgrounds.popitem(last=False)
        self.fig.stale = False  # from here on, stale means: a static artist changed in the next update
        return np.asarray(canvas.buffer_rgba())

    @staticmethod
    def _fixed_loc(legend) -> tuple[float, float]:
        """A "best" legend's lower-left corner, in its parent's (axes or figure) fraction coordinates."""
        box = legend.get_window_extent()
        parent = legend.axes.transAxes if legend.axes is not None else legend.figure.transFigure
        return tuple(parent.inverted().transform((box.x0, box.y0)))

    def _encode(self, rgba: np.ndarray) -> bytes:
        """PNG bytes of ``rgba`` with a 255-colour palette (no dithering): it looks the same for these pictures,
        encodes faster than RGB and is about 2.5x smaller to send.

        Finding a palette is most of the cost, so a frame reuses the palette of the last frame drawn on the same
        background, if that palette fits it: checked on every 4th pixel of every 4th row, no channel may be off
        by more than a freshly found palette would be (``_PALETTE_TOLERANCE``); otherwise a new one is found."""
        height, width = rgba.shape[:2]  # (from the buffer: slicing off alpha in NumPy costs more than the rest)
        rgb = PILImage.frombuffer("RGBA", (width, height), np.ascontiguousarray(rgba), "raw", "RGBA", 0, 1).convert("RGB")
        frame = (width, height) == self.fig.canvas.get_width_height(physical=True)
        reused = self._palettes.get(self._last_key) if frame and self.reuse_palettes else None
        image = None
        if reused is not None:
            image = rgb.quantize(palette=reused, dither=PILImage.Dither.NONE)
            indices, palette = np.asarray(image), _palette_bytes(image)
            if not _palette_fits(indices, palette, rgba):
                image = None
        if image is None:
            image = rgb.quantize(colors=255, method=PILImage.Quantize.FASTOCTREE, dither=PILImage.Dither.NONE)
            indices, palette = np.asarray(image), _palette_bytes(image)
            if frame:
                self._palettes[self._last_key] = image
                if len(self._palettes) > _BACKGROUND_CACHE_SIZE:
                    self._palettes.pop(next(iter(self._palettes)))
        return palette_png(indices, palette)
