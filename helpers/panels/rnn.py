"""Chapter 9 (RNN and embeddings): the chapter's figures and its panels. The math, the models and their data live in ``helpers.rnn``.

- figures: the forecaster's predictions; gradient norms and losses with and without clipping.
- panels: gradient norm through time against the scale of W_hh, the forecaster's hidden
  state as a heat map while the input slides, and the embedding space with a word picker.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import PathPatch
from matplotlib.text import TextPath
from matplotlib.transforms import Affine2D, IdentityTransform

from ..data import sliding_windows
from ..plotting import COLORS, new_figure
from ..rnn import (WORD_RECIPE, NextWordModel, SineForecaster, cosine_neighbours, gradient_demo, pca_2d,
                   probe_signals, tanh_rnn_jacobian_norms, trained_next_word_model, trained_sine_forecaster,
                   word_class, word_data)
from .pieces import PATH_COLORS, SIGNED_CMAP
from .base import Panel, checkbox, dropdown, float_slider, int_slider, one_thread, register

__all__ = [
    "forecast_figure", "clipping_figure",
    "gradient_through_time_panel", "hidden_state_panel", "embedding_space_panel",
]


# ----------------------------------------------------------------------------- figures
def forecast_figure(model: SineForecaster, series: torch.Tensor, window: int, train_windows: int) -> Figure:
    """The series, the model's one-step-ahead forecasts from each window, and where validation starts."""
    x, _ = sliding_windows(series, window)
    with torch.no_grad():
        predictions = model(x)[:, 0].numpy()
    steps = np.arange(window, window + len(predictions))
    fig, ax = new_figure((9.0, 2.8))
    ax.plot(np.arange(len(series)), series.numpy(), ".", ms=2.5, color=COLORS["muted"], label="noisy sine (data)")
    ax.plot(steps, predictions, color=COLORS["main"], lw=1.5, label="one-step forecast")
    ax.axvspan(window + train_windows, len(series), color=COLORS["accent"], alpha=0.12, lw=0,
               label="validation windows")
    ax.set(xlabel="time step t", ylabel="value", xlim=(0, len(series)))
    ax.legend(loc="lower left", ncols=3, fontsize=8)
    return fig


def clipping_figure(histories: dict) -> Figure:
    """Gradient norm per step (before clipping, log scale) and training loss per epoch for each run {label: History}."""
    fig, (ax_g, ax_l) = new_figure((9.0, 2.8), ncols=2)
    colors = [COLORS["grad"], COLORS["main"], COLORS["alt"]]
    for color, (label, h) in zip(colors, histories.items()):
        g = np.asarray(h.grad_norm, dtype=float)
        ax_g.plot(np.arange(1, len(g) + 1), np.where(np.isfinite(g), g, np.nan), ".-", ms=4, color=color, lw=1,
                  label=label)
        if not np.all(np.isfinite(g)):
            first = int(np.argmax(~np.isfinite(g)))
            ax_g.axvline(first + 1, color=color, ls=":", lw=1.2)
            ax_g.text(first + 1, 1.0, f" NaN from step {first + 1}", color=color, fontsize=8,
                      transform=ax_g.get_xaxis_transform(), va="top")
        loss = np.asarray(h.train_loss, dtype=float)
        ax_l.plot(np.arange(1, len(loss) + 1), np.where(np.isfinite(loss), loss, np.nan), "o-", ms=3, color=color,
                  label=label)
    ax_g.set(yscale="log", xlabel="step", ylabel="gradient norm (before clipping)", title="||g|| per step")
    ax_l.set(yscale="log", xlabel="epoch", ylabel="train loss (MSE)", title="loss (missing points = NaN)")
    ax_g.legend(fontsize=8)
    return fig


# ----------------------------------------------------------------------------- panel: gradient through time
_BPTT_HIDDEN, _BPTT_MAX = 32, 100


@register
def gradient_through_time_panel() -> Panel:
    """‖∂h_T/∂h_t‖_F / √H against the steps the gradient travels back, for a tanh RNN and the notes' pure ∏ W_hh."""
    controls = {
        "length": int_slider("sequence length T", 5, _BPTT_MAX, 50),
        "radius": float_slider("scale of W_hh (spectral radius)", 0.5, 1.5, 0.05, 1.0),
        "input_scale": float_slider("input strength", 0.0, 2.0, 0.1, 0.5),
    }
    q, noise = gradient_demo(_BPTT_HIDDEN, _BPTT_MAX)
    root = math.sqrt(_BPTT_HIDDEN)
    lo, hi = 1e-12, 1e12

    def setup(fig):
        ax = fig.subplots()
        ax.set(xlim=(0, _BPTT_MAX), ylim=(lo, hi), yscale="log", xlabel="steps back in time  T - t",
               ylabel="||dh_T / dh_t||_F / sqrt(H)")
        ax.axhline(1.0, color="black", lw=0.8)
        ax.text(1, 2e9, "exploding", color=COLORS["grad"], fontsize=9)
        ax.text(1, 3e-11, "vanishing", color=COLORS["main"], fontsize=9)
        (line_lin,) = ax.plot([0], [1], "--", color=COLORS["muted"], lw=1.5,
                              label="notes: product of W_hh only (linear RNN)", animated=True)
        (line_tanh,) = ax.plot([0], [1], color=COLORS["accent"], lw=2.2, label="tanh RNN: diag(tanh') W_hh",
                               animated=True)
        ax.legend(loc="upper right", fontsize=8)

        def update(length: int, radius: float, input_scale: float) -> str:
            states, norms = tanh_rnn_jacobian_norms(radius * q, input_scale * noise[:length])
            tanh_norms = norms / root
            back = np.arange(length, -1, -1)                     # entry t is T - t steps back
            lin_norms = float(radius) ** back                    # W_hh = radius * orthogonal: ||W^k||_F = radius^k sqrt(H)
            line_tanh.set_data(back, np.clip(tanh_norms, lo / 10, hi * 10))
            line_lin.set_data(back, np.clip(lin_norms, lo / 10, hi * 10))
            slope = float((1 - states ** 2).mean())
            return (f"‖∂h_T/∂h_0‖_F / √H after T = {length} steps: tanh RNN {tanh_norms[0]:.2e}, pure product of W_hh "
                    f"{lin_norms[0]:.2e} (= {radius:g}^{length}) &nbsp;·&nbsp; mean tanh'(z) = {slope:.2f}: "
                    "each step multiplies by W_hh <i>and</i> by tanh' ≤ 1")

        return update

    return Panel(controls, setup, figsize=(7.4, 3.3))


# ----------------------------------------------------------------------------- panel: hidden state over time
_HS_WINDOW = 60


@register
def hidden_state_panel(model: SineForecaster | None = None) -> Panel:
    """The trained forecaster's hidden units over a 60-step window of an input, as a heat map, and its one-step forecasts."""
    model = trained_sine_forecaster() if model is None else model
    signals = probe_signals()
    hidden = model.rnn.hidden_size
    controls = {
        "start": int_slider("window start", 0, 400 - _HS_WINDOW - 1, 100),
        "signal": dropdown("input", list(signals), "noisy sine (training data)"),
    }
    steps = np.arange(_HS_WINDOW)

    def setup(fig):
        grid = fig.add_gridspec(2, 1, height_ratios=(1, 1.6))
        ax_x = fig.add_subplot(grid[0])
        ax_h = fig.add_subplot(grid[1], sharex=ax_x)
        ax_x.set(xlim=(-0.5, _HS_WINDOW - 0.5), ylim=(-1.6, 1.6), ylabel="value")
        ax_x.tick_params(labelbottom=False)
        # a QuadMesh of fixed shape: several times cheaper to redraw than an image of the same matrix
        heat = ax_h.pcolormesh(np.arange(_HS_WINDOW + 1) - 0.5, np.arange(hidden + 1) - 0.5,
                               np.zeros((hidden, _HS_WINDOW)), cmap=SIGNED_CMAP, vmin=-1.0, vmax=1.0, animated=True)
        fig.colorbar(heat, ax=ax_h, label="h_t (tanh)")
        ax_h.set(xlabel="step in the window", ylabel="hidden unit", ylim=(hidden - 0.5, -0.5))
        ax_h.grid(False)
        (line_x,) = ax_x.plot(steps, steps * 0.0, lw=1.2, color=COLORS["muted"], label="input x_t",
                              animated=True)
        (line_p,) = ax_x.plot(steps, steps * 0.0, color=COLORS["main"], lw=1.6,
                              label="forecast of x_t made at t-1", animated=True)
        ax_x.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=2, fontsize=9)   # above the axes, off the curves

        def update(start: int, signal: str) -> str:
            x = signals[signal][start:start + _HS_WINDOW + 1]
            with one_thread(), torch.no_grad():
                output, _ = model.rnn(x[:-1].reshape(1, -1, 1))            # hidden states h_1 .. h_L
                forecast = model.head(output[0])[:, 0]                      # forecast of x_{t+1} from h_t
            states = output[0].numpy().T                                    # (hidden, L): one row per unit
            heat.set_array(states)
            line_x.set_ydata(x[:-1].numpy())
            line_p.set_data(steps[1:], forecast[:-1].numpy())
            error = float(((forecast - x[1:]) ** 2).mean())
            saturated = float((np.abs(states) > 0.95).mean())
            return (f"{signal}, steps {start} … {start + _HS_WINDOW - 1} &nbsp;·&nbsp; one-step MSE {error:.3f} "
                    f"&nbsp;·&nbsp; {saturated:.0%} of the hidden values are saturated (|h| > 0.95)")

        return update

    return Panel(controls, setup, figsize=(7.6, 3.4))


# ----------------------------------------------------------------------------- panel: embedding space
# At most 10 colours: the seven noun and adjective classes, the verbs (one colour, a marker per verb class),
# and grey for "the" and "to".
_GROUPS = {  # grammar class -> (legend label, colour, marker)
    "people": ("people", PATH_COLORS[0], "o"), "animals": ("animals", PATH_COLORS[1], "o"),
    "foods": ("foods", PATH_COLORS[2], "o"), "vehicles": ("vehicles", PATH_COLORS[3], "o"),
    "places": ("places", PATH_COLORS[4], "o"), "colors": ("colours", PATH_COLORS[5], "o"),
    "traits": ("traits", PATH_COLORS[6], "o"), "eat_verbs": ("verbs: eat", PATH_COLORS[7], "s"),
    "drive_verbs": ("verbs: drive", PATH_COLORS[7], "^"), "move_verbs": ("verbs: move", PATH_COLORS[7], "D"),
    "rest_verbs": ("verbs: rest", PATH_COLORS[7], "v"), "function": ("the, to", COLORS["muted"], "o"),
}
_LABEL_PT = 9.5                      # label size (points)
_DIRECTIONS = ((1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1))


def _scatter_words(ax, z: np.ndarray, words: list[str]) -> None:
    """Static points, one colour per group (a marker per verb class), with the legend outside the axes."""
    for name, (label, color, marker) in _GROUPS.items():
        members = [i for i, w in enumerate(words) if word_class(w) == name]
        ax.scatter(z[members, 0], z[members, 1], s=22, color=color, marker=marker, label=label, zorder=2)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, frameon=False)


def _boxes_overlap(a: tuple, b: tuple) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _free(box: tuple, area: tuple, boxes: list, line_points: np.ndarray) -> bool:
    """``box`` lies in ``area`` and meets none of ``boxes`` and none of ``line_points`` (an (n, 2) array)."""
    if not (area[0] <= box[0] and box[2] <= area[2] and area[1] <= box[1] and box[3] <= area[3]):
        return False
    if any(_boxes_overlap(box, other) for other in boxes):
        return False
    xs, ys = line_points[:, 0], line_points[:, 1]
    return not np.any((xs > box[0]) & (xs < box[2]) & (ys > box[1]) & (ys < box[3]))


def _place_labels(points: np.ndarray, sizes: list[tuple[float, float]], area: tuple, gap: float,
                  others: np.ndarray, dot: float, lines: np.ndarray | None = None) -> list[tuple]:
    """Greedy places for labels of ``sizes`` (w, h) next to ``points`` (display pixels), in order: for each, the
    first of 8 directions x growing distances whose box stays in ``area`` and meets no placed label, no marked
    point (a square of half-side ``gap``) and no other point (half-side ``dot``); a place that also keeps off
    ``lines`` (points along the drawn lines, (n, 2)) is taken if there is one.
    Returns ``(x, y, ha, va, box)`` per label (``box`` = x0, y0, x1, y1)."""
    placed, out = [], []
    dots = ([(x - gap, y - gap, x + gap, y + gap) for x, y in points]
            + [(x - dot, y - dot, x + dot, y + dot) for x, y in others])
    no_lines = np.zeros((0, 2))
    for (px, py), (w, h) in zip(points, sizes):
        best = None
        for avoid in ((no_lines if lines is None else lines), no_lines):    # off the lines if possible
            for reach in (1.0, 1.6, 2.4, 3.4, 4.6, 6.0, 8.0, 10.5):
                for dx, dy in _DIRECTIONS:
                    x, y = px + dx * gap * reach, py + dy * gap * reach * 0.8
                    x0 = x if dx > 0 else x - w if dx < 0 else x - w / 2
                    y0 = y if dy > 0 else y - h if dy < 0 else y - h / 2
                    box = (x0, y0, x0 + w, y0 + h)
                    if _free(box, area, placed + dots, avoid):
                        best = (x, y, {1: "left", -1: "right", 0: "center"}[dx],
                                {1: "bottom", -1: "top", 0: "center"}[dy], box)
                        break
                if best is not None:
                    break
            if best is not None:
                break
        if best is None:  # nowhere free (not met on this map): to the right, on top of whatever is there
            best = (px + gap, py, "left", "center", (px + gap, py - h / 2, px + gap + w, py + h / 2))
        placed.append(best[4])
        out.append(best)
    return out


@register
def embedding_space_panel(model: NextWordModel | None = None, id_to_word: list[str] | None = None,
                          train_ids: torch.Tensor | None = None) -> Panel:
    """The next-word model's embedding in 2-D (PCA); pick a word to see its nearest neighbours by cosine similarity.

    ``train_ids``: the context ids the model was trained on (default: the toy corpus of ``WORD_RECIPE``), to tell
    which words were never used as input and so kept their random initial vectors.
    """
    if model is None or id_to_word is None:
        model, id_to_word = trained_next_word_model()
    if train_ids is None:
        train_ids = word_data(WORD_RECIPE["sentences"], WORD_RECIPE["context"])[2][0]
    used = set(train_ids.unique().tolist())
    words = [w for w in id_to_word if word_class(w) != "special"]
    rows = torch.tensor([id_to_word.index(w) for w in words])
    weight = model.embed.weight.detach()[rows]
    z, ratio = pca_2d(weight)
    z = z.numpy()
    by_class = sorted(words, key=lambda w: (list(_GROUPS).index(word_class(w)), w))
    k_max = 8
    controls = {
        "k": int_slider("neighbours k", 1, k_max, 3),
        "word": dropdown("word", by_class, "cat" if "cat" in words else by_class[0]),
        "lines": checkbox("draw lines to the neighbours", True),
    }
    outlines: dict[tuple[str, bool], tuple] = {}                  # (word, bold) -> (glyph outline, its ink box)

    def setup(fig):
        ax = fig.subplots()
        _scatter_words(ax, z, words)
        ax.set(xlabel=f"PC 1 ({ratio[0]:.0%} of the variance)", ylabel=f"PC 2 ({ratio[1]:.0%})")
        pad_x, pad_y = 0.06 * np.ptp(z[:, 0]), 0.08 * np.ptp(z[:, 1])   # room for labels at the edges
        ax.set_xlim(z[:, 0].min() - pad_x, z[:, 0].max() + pad_x)
        ax.set_ylim(z[:, 1].min() - pad_y, z[:, 1].max() + pad_y)
        (links,) = ax.plot([], [], color="#333333", lw=1.0, animated=True)   # black and grey: no class colour
        (leaders,) = ax.plot([], [], color=COLORS["muted"], lw=0.7, animated=True)
        (ring,) = ax.plot([], [], "o", ms=13, mfc="none", mec="black", mew=2, animated=True)
        (near,) = ax.plot([], [], "o", ms=10, mfc="none", mec="#333333", mew=1.3, animated=True)
        # Labels are glyph outlines (TextPath), laid out once per word: a frame then fills a few paths instead of
        # laying out text, about 4x cheaper. labels[0] is the chosen word (bold).
        scale = fig.dpi / 72                                          # points -> picture pixels
        labels = [ax.add_patch(PathPatch(TextPath((0, 0), "x"), transform=IdentityTransform(), lw=0, zorder=5,
                                         gid="word label", animated=True)) for _ in range(k_max + 1)]

        def outline(word: str, bold: bool):
            """The word's glyph outline in points and its ink box (x0, y0, x1, y1)."""
            if (word, bold) not in outlines:
                path = TextPath((0, 0), word, size=_LABEL_PT,
                                prop=FontProperties(family="DejaVu Sans", weight="bold" if bold else "normal"))
                outlines[word, bold] = (path, path.get_extents().extents)
            return outlines[word, bold]

        def update(k: int, word: str, lines: bool) -> str:
            i = words.index(word)
            order, sims = cosine_neighbours(weight, i, k)
            idx = order.tolist()
            ring.set_data([z[i, 0]], [z[i, 1]])
            near.set_data(z[idx, 0], z[idx, 1])
            xs = np.ravel([[z[i, 0], z[j, 0], np.nan] for j in idx])
            ys = np.ravel([[z[i, 1], z[j, 1], np.nan] for j in idx])
            links.set_data(xs, ys)
            links.set_visible(bool(lines))
            marked = [i] + idx
            to_pixels = ax.transData
            points = to_pixels.transform(z[marked])
            shapes = [outline(words[j], n == 0) for n, j in enumerate(marked)]
            air = 2.0 * scale                                          # around the ink, so labels never touch
            sizes = [((b[2] - b[0]) * scale + 2 * air, (b[3] - b[1]) * scale + 2 * air) for _, b in shapes]
            gap = 8.5 * scale                                          # just outside a ring
            rest = np.delete(z, marked, axis=0)
            steps = np.linspace(0.0, 1.0, 24)[:, None]
            along = (np.concatenate([points[0] + steps * (q - points[0]) for q in points[1:]]) if lines
                     else None)                                        # points along the drawn lines
            places = _place_labels(points, sizes, tuple(ax.bbox.extents), gap, to_pixels.transform(rest), 0.45 * gap,
                                   along)
            back = to_pixels.inverted()
            lead_x, lead_y = [], []
            for n, patch in enumerate(labels):
                patch.set_visible(n < len(marked))
                if n >= len(marked):
                    continue
                x, y, _, _, box = places[n]
                path, ink = shapes[n]
                patch.set_path(path)
                patch.set_label(words[marked[n]])
                patch.set_facecolor(_GROUPS[word_class(words[marked[n]])][1])
                patch.set_transform(Affine2D().scale(scale).translate(box[0] + air - ink[0] * scale,
                                                                      box[1] + air - ink[1] * scale))
                if np.hypot(x - points[n][0], y - points[n][1]) > 1.5 * gap:     # not right at its point: a leader
                    (ex, ey), (px, py) = back.transform((x, y)), z[marked[n]]
                    lead_x += [px, ex, np.nan]
                    lead_y += [py, ey, np.nan]
            leaders.set_data(lead_x, lead_y)
            same = sum(word_class(words[j]) == word_class(word) for j in idx)
            listed = ", ".join(f"{words[j]} ({s:.2f})" for j, s in zip(idx, sims.tolist()))
            note = ("" if int(rows[i]) in used else
                    " &nbsp;·&nbsp; <i>this word always ends a sentence, so it is never an input: its vector got no "
                    "gradient and is still the random start</i>")
            return (f"<b>{word}</b> ({word_class(word)}): nearest by cosine similarity in {weight.shape[1]}-D: {listed} "
                    f"&nbsp;·&nbsp; {same}/{k} from the same class{note}")

        # Labels are placed in picture pixels, so the axes must already sit where the layout puts them: lay the
        # figure out now (the panel keeps that layout) rather than at the first drawing, after the first update.
        fig.canvas.draw()
        fig.set_layout_engine("none")
        return update

    return Panel(controls, setup, figsize=(8.0, 4.2))
