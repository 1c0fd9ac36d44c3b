"""Data for the course, never downloaded: small synthetic sets made on the spot (reproducible from a seed),
and data that ships inside a dependency (scikit-learn's digits, matplotlib's sample photo).

scikit-learn, matplotlib and PIL are imported only inside the functions that read their data.
"""
from __future__ import annotations

import collections
import dataclasses
import functools
import math
import random
from typing import Callable

import torch

from .checks import integer, non_negative, positive, real

__all__ = [
    "two_moons", "spirals", "line_with_outliers", "blobs",
    "digits", "photo", "LUMA_WEIGHTS", "noisy_sine", "sliding_windows",
    "TOY_GRAMMAR_CLASSES", "TOY_GRAMMAR_FUNCTION_WORDS", "toy_corpus", "build_vocab", "next_word_pairs",
    "Surface", "quadratic", "SURFACES",
]


def _check(n: int, noise: float, noise_name: str = "noise") -> None:
    """At least two points, and a noise level >= 0."""
    integer(n, "n", 2), non_negative(noise, noise_name)


def two_moons(n: int = 200, noise: float = 0.1, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Two interleaved half circles: ``X`` of shape (n, 2) float32, ``y`` of shape (n,) int64 in {0, 1}."""
    _check(n, noise)
    g = torch.Generator().manual_seed(seed)
    n0 = n // 2
    t0 = torch.rand(n0, generator=g) * math.pi
    t1 = torch.rand(n - n0, generator=g) * math.pi
    upper = torch.stack([torch.cos(t0), torch.sin(t0)], 1)
    lower = torch.stack([1 - torch.cos(t1), 0.5 - torch.sin(t1)], 1)
    x = torch.cat([upper, lower]) + noise * torch.randn(n, 2, generator=g)
    y = torch.cat([torch.zeros(n0, dtype=torch.long), torch.ones(n - n0, dtype=torch.long)])
    perm = torch.randperm(n, generator=g)
    return x[perm], y[perm]


def spirals(n: int = 300, classes: int = 3, noise: float = 0.2, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``classes`` interleaved spiral arms in 2-D: ``X`` (n, 2) float32, ``y`` (n,) int64."""
    _check(n, noise), integer(classes, "classes", 2)
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % classes
    r = torch.rand(n, generator=g)
    angle = 4.0 * r + y * (2 * math.pi / classes) + noise * torch.randn(n, generator=g)
    x = torch.stack([r * torch.sin(angle), r * torch.cos(angle)], 1)
    return x, y


def line_with_outliers(n: int = 50, n_outliers: int = 5, outlier_size: float = 10.0, slope: float = 2.0,
                       intercept: float = 1.0, noise: float = 0.5, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Points on ``y = slope*x + intercept`` plus noise; ``n_outliers`` of them, picked at random, shifted up by ``outlier_size``.

    Returns ``x`` and ``y`` of shape (n, 1), float32.
    """
    _check(n, noise), integer(n_outliers, "n_outliers", 0, n)
    g = torch.Generator().manual_seed(seed)
    x = torch.linspace(-3, 3, n).unsqueeze(1)
    y = slope * x + intercept + noise * torch.randn(n, 1, generator=g)
    if n_outliers:
        idx = torch.randperm(n, generator=g)[:n_outliers]
        y[idx] += outlier_size
    return x, y


def blobs(n: int = 300, centers: int = 3, spread: float = 0.5, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Gaussian clusters around ``centers`` points on a circle of radius 2: ``X`` (n, 2), ``y`` (n,)."""
    _check(n, spread, "spread"), integer(centers, "centers", 1)
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % centers
    angles = 2 * math.pi * y / centers
    means = 2.0 * torch.stack([torch.cos(angles), torch.sin(angles)], 1)
    return means + spread * torch.randn(n, 2, generator=g), y


# ---------------------------------------------------------------------------
# Handwritten digits (scikit-learn's bundled copy, 1,797 images of 8x8 pixels)
# ---------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _load_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """Read scikit-learn's bundled digits once: images (1797, 1, 8, 8) in [0, 1], labels (1797,)."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = torch.as_tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0
    labels = torch.as_tensor(bunch.target, dtype=torch.int64)
    return images, labels


def digits(val_fraction: float = 0.25, seed: int = 0) -> tuple[tuple[torch.Tensor, torch.Tensor],
                                                                tuple[torch.Tensor, torch.Tensor]]:
    r"""Stratified split of the 8x8 digits: ``((X_train, y_train), (X_val, y_val))``, $X = \text{pixel}/16$ of shape (N, 1, 8, 8)."""
    if not 0 < real(val_fraction, "val_fraction") < 1:
        raise ValueError(f"val_fraction must be a number in (0, 1), got {val_fraction!r}")
    images, labels = _load_digits()
    g = torch.Generator().manual_seed(seed)
    train_idx, val_idx = [], []
    for c in range(10):
        idx = torch.nonzero(labels == c).squeeze(1)
        idx = idx[torch.randperm(len(idx), generator=g)]
        n_val = min(max(round(val_fraction * len(idx)), 1), len(idx) - 1)  # both sides keep every class
        val_idx.append(idx[:n_val])
        train_idx.append(idx[n_val:])
    train_idx, val_idx = torch.cat(train_idx), torch.cat(val_idx)
    train_idx = train_idx[torch.randperm(len(train_idx), generator=g)]  # no runs of one class
    val_idx = val_idx[torch.randperm(len(val_idx), generator=g)]
    return (images[train_idx], labels[train_idx]), (images[val_idx], labels[val_idx])


# ---------------------------------------------------------------------------
# A photo (matplotlib's bundled sample image) for convolution demos
# ---------------------------------------------------------------------------

LUMA_WEIGHTS = (0.299, 0.587, 0.114)  # ITU-R BT.601


def photo(gray: bool = False, size: int = 128) -> torch.Tensor:
    r"""matplotlib's Grace Hopper photo, center-cropped and resized: (3, size, size) in [0, 1], or $Y = 0.299R + 0.587G + 0.114B$ as (1, size, size)."""
    integer(size, "size", 8, 512)
    import numpy as np
    from matplotlib import cbook
    from PIL import Image

    with Image.open(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)) as img:
        img = img.convert("RGB")
        w, h = img.size
        side = min(w, h)
        left, top = (w - side) // 2, (h - side) // 2
        img = img.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.LANCZOS)
        rgb = torch.from_numpy(np.asarray(img, dtype=np.float32).transpose(2, 0, 1).copy()) / 255.0  # (3, size, size)
    if not gray:
        return rgb
    weights = torch.tensor(LUMA_WEIGHTS, dtype=torch.float32).reshape(3, 1, 1)
    return (weights * rgb).sum(0, keepdim=True)


# ---------------------------------------------------------------------------
# Sequences for recurrent networks
# ---------------------------------------------------------------------------

def noisy_sine(steps: int = 400, period: float = 40.0, noise: float = 0.1, seed: int = 0) -> torch.Tensor:
    r"""A sampled sine plus Gaussian noise: $s_t = \sin(2\pi t / \text{period}) + \text{noise}\cdot\varepsilon_t$, $t = 0 \dots \text{steps}-1$."""
    integer(steps, "steps", 1), positive(period, "period"), non_negative(noise, "noise")
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(steps, dtype=torch.float64)
    clean = torch.sin(2 * math.pi * t / period).to(torch.float32)
    return clean + noise * torch.randn(steps, generator=g)


def sliding_windows(series: torch.Tensor, window: int, horizon: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Input/target pairs $X_i = s_{i:i+\text{window}}$, $y_i = s_{i+\text{window}:i+\text{window}+\text{horizon}}$: X (N, window, 1), y (N, horizon)."""
    series = torch.as_tensor(series, dtype=torch.float32)
    if series.dim() != 1:
        raise ValueError(f"series must be 1-D, got shape {tuple(series.shape)}")
    integer(window, "window", 1), integer(horizon, "horizon", 1)
    n = len(series) - window - horizon + 1
    if n < 1:
        raise ValueError(f"series of length {len(series)} is too short for window={window} and horizon={horizon}")
    chunks = series.unfold(0, window + horizon, 1)  # (n, window + horizon), row i starts at s_i
    return chunks[:, :window].unsqueeze(-1).clone(), chunks[:, window:].clone()


# ---------------------------------------------------------------------------
# A toy-grammar corpus for word embeddings and next-word prediction
# ---------------------------------------------------------------------------

TOY_GRAMMAR_CLASSES: dict[str, list[str]] = {
    "people": ["man", "woman", "farmer", "teacher"],
    "animals": ["cat", "dog", "horse", "rabbit"],
    "foods": ["apple", "bread", "cheese", "rice"],
    "vehicles": ["car", "bus", "truck", "van"],
    "places": ["park", "city", "farm", "market"],
    "colors": ["red", "blue", "green", "white"],
    "traits": ["big", "small", "old", "young"],
    "eat_verbs": ["eats", "likes", "wants", "smells"],    # object: a food
    "drive_verbs": ["drives", "parks", "washes", "fixes"],  # subject: a person; object: a vehicle
    "move_verbs": ["walks", "runs", "goes", "comes"],     # followed by "to the <place>"
    "rest_verbs": ["sleeps", "sits", "waits", "rests"],   # no object
}
TOY_GRAMMAR_FUNCTION_WORDS: tuple[str, ...] = ("the", "to")

# Sentence patterns: a class name stands for any word of that class, "?" marks an optional word,
# anything else is written as is. Every pattern gives 3 to 8 tokens.
_TOY_PATTERNS: list[list[str]] = [
    ["the", "traits?", "people|animals", "eat_verbs", "the", "foods"],
    ["the", "people", "drive_verbs", "the", "colors?", "vehicles"],
    ["the", "people", "drive_verbs", "the", "vehicles", "to", "the", "places"],
    ["the", "traits?", "people|animals", "move_verbs", "to", "the", "places"],
    ["the", "traits?", "people|animals", "rest_verbs"],
]


def toy_corpus(n_sentences: int = 2000, seed: int = 0) -> list[list[str]]:
    """Sentences of 3-8 lower-case tokens drawn from a small grammar (see ``TOY_GRAMMAR_CLASSES``); words of one class are used alike."""
    integer(n_sentences, "n_sentences", 1)
    rng = random.Random(seed)
    sentences = []
    for _ in range(n_sentences):
        sentence = []
        for slot in rng.choice(_TOY_PATTERNS):
            if slot.endswith("?"):
                if rng.random() < 0.5:
                    continue
                slot = slot[:-1]
            if slot in TOY_GRAMMAR_FUNCTION_WORDS:
                sentence.append(slot)
            else:
                sentence.append(rng.choice(TOY_GRAMMAR_CLASSES[rng.choice(slot.split("|"))]))
        sentences.append(sentence)
    return sentences


def build_vocab(sentences: list[list[str]], specials: tuple[str, ...] = ("<pad>", "<unk>")
                ) -> tuple[dict[str, int], list[str]]:
    """Word ids: the ``specials`` first, then the words by falling frequency, ties alphabetically."""
    if len(set(specials)) != len(specials):
        raise ValueError(f"specials must not repeat a token, got {specials!r}")
    counts = collections.Counter(word for sentence in sentences for word in sentence)
    words = sorted((w for w in counts if w not in specials), key=lambda w: (-counts[w], w))
    id_to_word = list(specials) + words
    return {w: i for i, w in enumerate(id_to_word)}, id_to_word


def next_word_pairs(sentences: list[list[str]], word_to_id: dict[str, int], context: int = 2
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """One pair per token: the ids of the ``context`` words before it (left-padded with ``<pad>``) and its own id.

    Words missing from ``word_to_id`` become ``<unk>``. Returns ``X`` (N, context) and ``y`` (N,), int64.
    """
    integer(context, "context", 1)
    if "<pad>" not in word_to_id:
        raise ValueError("word_to_id must contain '<pad>'")
    pad, unk = word_to_id["<pad>"], word_to_id.get("<unk>")
    rows, targets = [], []
    for sentence in sentences:
        ids = []
        for word in sentence:
            if word in word_to_id:
                ids.append(word_to_id[word])
            elif unk is not None:
                ids.append(unk)
            else:
                raise ValueError(f"sentences: word {word!r} is not in word_to_id, which has no '<unk>'")
        padded = [pad] * context + ids
        for i, target in enumerate(ids):
            rows.append(padded[i:i + context])
            targets.append(target)
    return (torch.tensor(rows, dtype=torch.int64).reshape(-1, context),
            torch.tensor(targets, dtype=torch.int64))


# ---------------------------------------------------------------------------
# 2-D loss surfaces for optimizer demos
# ---------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Surface:
    """A 2-D loss ``fn(x, y)`` with a good view, a default start and its minima (``minima[0]`` is a global one)."""
    name: str
    fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    start: tuple[float, float]
    minima: list[tuple[float, float]]
    saddles: list[tuple[float, float]] = dataclasses.field(default_factory=list)


def quadratic(l1: float = 1.0, l2: float = 10.0) -> Surface:
    r"""The quadratic bowl $f(x, y) = \tfrac12(\lambda_1 x^2 + \lambda_2 y^2)$, Hessian $\mathrm{diag}(\lambda_1, \lambda_2)$."""
    positive(l1, "l1"), positive(l2, "l2")

    def fn(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        r"""$\tfrac12(\lambda_1 x^2 + \lambda_2 y^2)$"""
        return 0.5 * (l1 * x ** 2 + l2 * y ** 2)

    return Surface(f"quadratic(l1={l1:g}, l2={l2:g})", fn, (-4.0, 4.0), (-3.0, 3.0), (-3.5, 2.0), [(0.0, 0.0)])


def _rosenbrock(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r"""$(1 - x)^2 + 100\,(y - x^2)^2$"""
    return (1 - x) ** 2 + 100 * (y - x ** 2) ** 2


def _saddle(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r"""$x^2 - y^2 + y^4/4$: a saddle at the origin, minima $(0, \pm\sqrt2)$ with value $-1$."""
    return x ** 2 - y ** 2 + y ** 4 / 4


def _double_well(t: torch.Tensor, a: float, b: float, c: float) -> torch.Tensor:
    r"""$\int (t-a)(t-b)(t-c)\,dt = \tfrac{t^4}{4} - (a+b+c)\tfrac{t^3}{3} + (ab+bc+ca)\tfrac{t^2}{2} - abc\,t$: minima at $a$, $c$, a maximum at $b$."""
    return t ** 4 / 4 - (a + b + c) * t ** 3 / 3 + (a * b + b * c + c * a) * t ** 2 / 2 - a * b * c * t


_WELLS_U, _WELLS_V, _TURN = (-1.5, 0.0, 1.0), (-1.0, 0.2, 1.2), math.pi / 6  # roots of each well; rotation angle


def _multi_minima(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r"""Two double wells in turned axes: $f = W(u; -1.5, 0, 1) + W(v; -1, 0.2, 1.2)$, $u = x\cos\theta + y\sin\theta$, $v = -x\sin\theta + y\cos\theta$, $\theta = \pi/6$."""
    cos, sin = math.cos(_TURN), math.sin(_TURN)
    u, v = cos * x + sin * y, -sin * x + cos * y
    return _double_well(u, *_WELLS_U) + _double_well(v, *_WELLS_V)


def _multi_minima_points() -> list[tuple[float, float]]:
    """The four minima of ``_multi_minima`` (x, y), deepest first: every pair of well bottoms, turned back."""
    cos, sin = math.cos(_TURN), math.sin(_TURN)
    points = [(cos * u - sin * v, sin * u + cos * v)
              for u in (_WELLS_U[0], _WELLS_U[2]) for v in (_WELLS_V[0], _WELLS_V[2])]
    return sorted(points, key=lambda p: float(_multi_minima(torch.tensor(p[0], dtype=torch.float64),
                                                           torch.tensor(p[1], dtype=torch.float64))))


def _plateau(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r"""$1 - (1 + x^2 + 2y^2)^{-2}$: a round hole of depth 1 in a wide, almost flat plain."""
    return 1 - 1 / (1 + x ** 2 + 2 * y ** 2) ** 2


SURFACES: dict[str, Surface] = {
    "quadratic": dataclasses.replace(quadratic(1.0, 10.0), name="quadratic"),
    "rosenbrock": Surface("rosenbrock", _rosenbrock, (-2.0, 2.0), (-1.0, 3.0), (-1.2, 1.0), [(1.0, 1.0)]),
    "saddle": Surface("saddle", _saddle, (-2.5, 2.5), (-2.5, 2.5), (-2.0, 0.01),
                      [(0.0, math.sqrt(2)), (0.0, -math.sqrt(2))], saddles=[(0.0, 0.0)]),
    "multi_minima": Surface("multi_minima", _multi_minima, (-2.5, 2.5), (-2.5, 2.5), (0.3, 2.2),
                            _multi_minima_points()),
    "plateau": Surface("plateau", _plateau, (-3.0, 3.0), (-3.0, 3.0), (-2.6, 2.0), [(0.0, 0.0)]),
}
