"""Chapter 9 (RNN and embeddings): the chapter's small models, its figures and its panels. The math lives in ``helpers.rnn``.

- models: ``SineForecaster`` (nn.RNN + linear head), ``NextWordModel`` (embedding + nn.RNN + linear),
  ``RecallNet`` (RNN / GRU / LSTM on the "remember the first token" task), with the data helpers
  ``sine_data``, ``word_data`` and ``recall_data``, and cached trained copies for the panels.
- figures: the forecaster's predictions; gradient norms and losses with and without clipping.
- panels: gradient norm through time against the scale of W_hh (E57), the forecaster's hidden
  state as a heat map while the input slides, and the embedding space with a word picker.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn

from ..plotting import COLORS, new_figure
from ..rnn import cosine_neighbours, pca_2d, scaled_recurrent_matrix
from .base import Panel, checkbox, dropdown, float_slider, int_slider, one_thread, register

__all__ = [
    "SineForecaster", "NextWordModel", "RecallNet", "sine_data", "word_data", "recall_data",
    "trained_sine_forecaster", "trained_next_word_model", "SINE_RECIPE", "WORD_RECIPE",
    "forecast_figure", "clipping_figure", "word_class",
    "gradient_through_time_panel", "hidden_state_panel", "embedding_space_panel",
]


# ----------------------------------------------------------------------------- models
class SineForecaster(nn.Module):
    r"""$h_t = \tanh(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})$ over a window, then $\hat y = W_{hy} h_L + b_y$: the next value."""

    def __init__(self, hidden: int = 16, nonlinearity: str = "tanh") -> None:
        super().__init__()
        self.rnn = nn.RNN(input_size=1, hidden_size=hidden, nonlinearity=nonlinearity, batch_first=True)
        self.head = nn.Linear(hidden, 1)                  # regression: no activation on the output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        output, h_n = self.rnn(x)                         # x (N, L, 1); output (N, L, H); h_n (1, N, H)
        return self.head(h_n[0])                          # (N, 1)


class NextWordModel(nn.Module):
    r"""ids (N, context) → embedding (N, context, d) → nn.RNN → $W_{hy} h_L + b_y$: one logit per word of the vocabulary."""

    def __init__(self, vocab_size: int, dim: int = 16, hidden: int = 32) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, dim, padding_idx=0)   # id 0 is <pad>: a zero row, never updated
        with torch.no_grad():           # start near 0 (default N(0, 1)): what training learns is not buried in noise
            self.embed.weight[1:].normal_(0.0, 0.1)
        self.rnn = nn.RNN(dim, hidden, batch_first=True)
        self.head = nn.Linear(hidden, vocab_size)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        _, h_n = self.rnn(self.embed(ids))
        return self.head(h_n[0])                          # logits (N, V): CrossEntropyLoss applies softmax


class RecallNet(nn.Module):
    """A recurrent cell (``nn.RNN``, ``nn.GRU`` or ``nn.LSTM``) read out at the last step: which token came first?"""

    def __init__(self, cell: str = "RNN", tokens: int = 2, hidden: int = 16, gate_bias: float = 2.0) -> None:
        super().__init__()
        layers = {"RNN": nn.RNN, "GRU": nn.GRU, "LSTM": nn.LSTM}
        if cell not in layers:
            raise ValueError(f"cell must be one of {list(layers)}, got {cell!r}")
        self.rnn = layers[cell](tokens, hidden, batch_first=True)
        self.head = nn.Linear(hidden, tokens)
        if cell != "RNN":     # bias the keep-gate open (LSTM forget gate, GRU update gate): memory by default
            with torch.no_grad():
                for bias in (self.rnn.bias_ih_l0, self.rnn.bias_hh_l0):
                    bias[hidden:2 * hidden] = gate_bias / 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        output, _ = self.rnn(x)
        return self.head(output[:, -1])


# ----------------------------------------------------------------------------- data
SINE_RECIPE = {"window": 20, "train_windows": 280, "hidden": 16, "epochs": 30, "batch_size": 32, "lr": 1e-2}
WORD_RECIPE = {"sentences": 2000, "context": 3, "dim": 16, "hidden": 32, "epochs": 8, "batch_size": 128, "lr": 1e-2}


def sine_data(window: int = 20, train_windows: int = 280) -> tuple[torch.Tensor, tuple, tuple]:
    """``helpers.data.noisy_sine()`` (400 steps) cut into windows: (series, (X_train, y_train), (X_val, y_val)), split in time."""
    from ..data import noisy_sine, sliding_windows

    series = noisy_sine()
    x, y = sliding_windows(series, window)
    if not 0 < train_windows < len(y):
        raise ValueError(f"train_windows must be in [1, {len(y) - 1}], got {train_windows}")
    return series, (x[:train_windows], y[:train_windows]), (x[train_windows:], y[train_windows:])


def word_data(sentences: int = 2000, context: int = 3, val_fraction: float = 0.2):
    """The toy-grammar corpus as next-word pairs: (word_to_id, id_to_word, (X_train, y_train), (X_val, y_val))."""
    from ..data import build_vocab, next_word_pairs, toy_corpus

    corpus = toy_corpus(sentences)
    word_to_id, id_to_word = build_vocab(corpus)
    cut = int(len(corpus) * (1 - val_fraction))                    # whole sentences on each side
    train = next_word_pairs(corpus[:cut], word_to_id, context)
    val = next_word_pairs(corpus[cut:], word_to_id, context)
    return word_to_id, id_to_word, train, val


def recall_data(n: int, length: int, tokens: int = 2, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Sequences whose first step is a one-hot token and whose other ``length - 1`` steps are zeros; the target is that token."""
    for name, value, low in (("n", n, 1), ("length", length, 1), ("tokens", tokens, 2)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    g = torch.Generator().manual_seed(seed)
    first = torch.randint(0, tokens, (n,), generator=g)
    x = torch.zeros(n, length, tokens)
    x[torch.arange(n), 0, first] = 1.0
    return x, first


def word_class(word: str) -> str:
    """The toy grammar's class of ``word`` ("function" for the/to, "special" for <pad>/<unk>)."""
    from ..data import TOY_GRAMMAR_CLASSES, TOY_GRAMMAR_FUNCTION_WORDS

    for name, words in TOY_GRAMMAR_CLASSES.items():
        if word in words:
            return name
    return "function" if word in TOY_GRAMMAR_FUNCTION_WORDS else "special"


# ----------------------------------------------------------------------------- cached training
@functools.lru_cache(maxsize=1)
def trained_sine_forecaster() -> SineForecaster:
    """``SineForecaster`` trained with ``SINE_RECIPE`` (Adam, seed 0) through ``helpers.training.fit``; cached, eval mode."""
    from ..training import fit

    _, train, _ = sine_data(SINE_RECIPE["window"], SINE_RECIPE["train_windows"])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = SineForecaster(SINE_RECIPE["hidden"])
        optimizer = torch.optim.Adam(model.parameters(), lr=SINE_RECIPE["lr"])
        fit(model, train, nn.MSELoss(), optimizer, epochs=SINE_RECIPE["epochs"], batch_size=SINE_RECIPE["batch_size"],
            progress=False)
    return model.eval()


@functools.lru_cache(maxsize=1)
def trained_next_word_model() -> tuple[NextWordModel, list[str]]:
    """``NextWordModel`` trained with ``WORD_RECIPE`` (Adam, seed 0) on the toy corpus; cached: (model in eval mode, id_to_word)."""
    from ..training import fit

    _, id_to_word, train, _ = word_data(WORD_RECIPE["sentences"], WORD_RECIPE["context"])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = NextWordModel(len(id_to_word), WORD_RECIPE["dim"], WORD_RECIPE["hidden"])
        optimizer = torch.optim.Adam(model.parameters(), lr=WORD_RECIPE["lr"])
        fit(model, train, nn.CrossEntropyLoss(), optimizer, epochs=WORD_RECIPE["epochs"],
            batch_size=WORD_RECIPE["batch_size"], progress=False)
    return model.eval(), id_to_word


# ----------------------------------------------------------------------------- figures
def forecast_figure(model: SineForecaster, series: torch.Tensor, window: int, train_windows: int) -> Figure:
    """The series, the model's one-step-ahead forecasts from each window, and where validation starts."""
    from ..data import sliding_windows

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


def _tanh_rnn_norms(w: np.ndarray, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Run $h_t = \tanh(W h_{t-1} + u_t)$ from $h_0 = 0$; return (states (T, H), $\lVert\partial h_T/\partial h_t\rVert_F$ for t = 0..T).

    The same product as ``helpers.rnn.hidden_jacobian_norms`` (a test checks they agree), written with
    NumPy because a panel redraws it on every slider move and small NumPy products cost less than torch calls.
    """
    hidden = w.shape[0]
    h = np.zeros(hidden)
    states = np.empty((len(inputs), hidden))
    for t, u in enumerate(inputs):
        h = np.tanh(w @ h + u)
        states[t] = h
    slopes = 1.0 - states ** 2                              # tanh'(z_t) = 1 - h_t^2
    product = np.eye(hidden)
    norms = [math.sqrt(hidden)]
    for k in range(len(inputs), 0, -1):                     # dh_T/dh_{k-1} = dh_T/dh_k diag(tanh'(z_k)) W
        product = (product * slopes[k - 1]) @ w
        norms.append(np.linalg.norm(product))
    return states, np.array(norms[::-1])


@register
def gradient_through_time_panel() -> Panel:
    """‖∂h_T/∂h_t‖ against the steps the gradient travels back, for a tanh RNN and the notes' pure ∏ W_hh (E57)."""
    controls = {
        "length": int_slider("sequence length T", 5, _BPTT_MAX, 50),
        "radius": float_slider("scale of W_hh (spectral radius)", 0.5, 1.5, 0.05, 1.0),
        "input_scale": float_slider("input strength", 0.0, 2.0, 0.1, 0.5),
    }
    g = torch.Generator().manual_seed(0)
    noise = torch.randn(_BPTT_MAX, _BPTT_HIDDEN, generator=g, dtype=torch.float64).numpy()
    q = scaled_recurrent_matrix(_BPTT_HIDDEN, 1.0, seed=0, kind="orthogonal", dtype=torch.float64).numpy()
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
            states, norms = _tanh_rnn_norms(radius * q, input_scale * noise[:length])
            tanh_norms = norms / root
            back = np.arange(length, -1, -1)                     # entry t is T - t steps back
            lin_norms = float(radius) ** back                    # W_hh = radius * orthogonal: ||W^k||_F = radius^k sqrt(H)
            line_tanh.set_data(back, np.clip(tanh_norms, lo / 10, hi * 10))
            line_lin.set_data(back, np.clip(lin_norms, lo / 10, hi * 10))
            slope = float((1 - states ** 2).mean())
            return (f"after T = {length} steps: tanh RNN {tanh_norms[0]:.2e}, pure product of W_hh "
                    f"{lin_norms[0]:.2e} (= {radius:g}^{length}) &nbsp;·&nbsp; mean tanh'(z) = {slope:.2f}: "
                    "each step multiplies by W_hh <i>and</i> by tanh' ≤ 1")

        return update

    return Panel(controls, setup, figsize=(7.4, 3.3))


# ----------------------------------------------------------------------------- panel: hidden state over time
_HS_WINDOW = 60


def _probe_signals(length: int = 400) -> dict[str, torch.Tensor]:
    """The training series and a few other inputs to feed the trained forecaster."""
    from ..data import noisy_sine

    t = torch.arange(length, dtype=torch.float64)
    return {
        "noisy sine (training data)": noisy_sine(length),
        "clean sine, period 40": torch.sin(2 * math.pi * t / 40).float(),
        "clean sine, period 20": torch.sin(2 * math.pi * t / 20).float(),
        "square wave, period 40": torch.sign(torch.sin(2 * math.pi * (t + 0.5) / 40)).float(),
        "a single step": (t >= length // 2).float(),
    }


@register
def hidden_state_panel(model: SineForecaster | None = None) -> Panel:
    """The trained forecaster's hidden units over a 60-step window of an input, as a heat map, and its one-step forecasts."""
    model = trained_sine_forecaster() if model is None else model
    signals = _probe_signals()
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
                               np.zeros((hidden, _HS_WINDOW)), cmap="RdBu_r", vmin=-1.0, vmax=1.0, animated=True)
        fig.colorbar(heat, ax=ax_h, label="h_t (tanh)")
        ax_h.set(xlabel="step in the window", ylabel="hidden unit", ylim=(hidden - 0.5, -0.5))
        ax_h.grid(False)
        (line_x,) = ax_x.plot(steps, steps * 0.0, lw=1.2, color=COLORS["muted"], label="input x_t",
                              animated=True)
        (line_p,) = ax_x.plot(steps, steps * 0.0, color=COLORS["main"], lw=1.6,
                              label="forecast of x_t made at t-1", animated=True)
        ax_x.legend(loc="upper right", ncols=2, fontsize=7)

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
_CLASS_COLORS = {
    "people": "#1f77b4", "animals": "#ff7f0e", "foods": "#2ca02c", "vehicles": "#d62728", "places": "#9467bd",
    "colors": "#8c564b", "traits": "#e377c2", "eat_verbs": "#7f7f7f", "drive_verbs": "#bcbd22",
    "move_verbs": "#17becf", "rest_verbs": "#393b79", "function": "#000000",
}


def _scatter_words(ax, z: np.ndarray, words: list[str]) -> None:
    """Static points and labels, one colour per grammar class, with a legend outside the axes."""
    for name, color in _CLASS_COLORS.items():
        members = [i for i, w in enumerate(words) if word_class(w) == name]
        ax.scatter(z[members, 0], z[members, 1], s=14, color=color, label=name)
        for i in members:
            ax.annotate(words[i], z[i], xytext=(3, 2), textcoords="offset points", fontsize=7, color=color)
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=7, frameon=False)


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
    by_class = sorted(words, key=lambda w: (list(_CLASS_COLORS).index(word_class(w)), w))
    controls = {
        "k": int_slider("neighbours k", 1, 8, 3),
        "word": dropdown("word", by_class, "cat" if "cat" in words else by_class[0]),
        "lines": checkbox("draw lines to the neighbours", True),
    }

    def setup(fig):
        ax = fig.subplots()
        _scatter_words(ax, z, words)
        ax.set(xlabel=f"PC 1 ({ratio[0]:.0%} of the variance)", ylabel=f"PC 2 ({ratio[1]:.0%})")
        (links,) = ax.plot([], [], color=COLORS["accent"], lw=1.2, animated=True)
        (ring,) = ax.plot([], [], "o", ms=13, mfc="none", mec="black", mew=2, animated=True)
        (near,) = ax.plot([], [], "o", ms=10, mfc="none", mec=COLORS["accent"], mew=2, animated=True)

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
            same = sum(word_class(words[j]) == word_class(word) for j in idx)
            listed = ", ".join(f"{words[j]} ({s:.2f})" for j, s in zip(idx, sims.tolist()))
            note = ("" if int(rows[i]) in used else
                    " &nbsp;·&nbsp; <i>this word always ends a sentence, so it is never an input: its vector got no "
                    "gradient and is still the random start</i>")
            return (f"<b>{word}</b> ({word_class(word)}): nearest by cosine similarity in {weight.shape[1]}-D: {listed} "
                    f"&nbsp;·&nbsp; {same}/{k} from the same class{note}")

        return update

    return Panel(controls, setup, figsize=(7.6, 4.4))
