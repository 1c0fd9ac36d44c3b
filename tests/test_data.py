"""helpers.data: synthetic sets, the bundled digits and photo, sequences, the toy corpus, loss surfaces."""
from __future__ import annotations

import collections
import dataclasses
import math
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import torch

from helpers import data

ROOT = pathlib.Path(__file__).resolve().parents[1]




# --- small synthetic sets ----------------------------------------------------------------------------

@pytest.mark.parametrize("maker", [data.two_moons, data.spirals, data.blobs])
def test_classification_sets_have_matching_shapes_and_repeat(maker):
    x, y = maker(n=90, seed=3)
    x2, y2 = maker(n=90, seed=3)
    assert x.shape == (90, 2) and y.shape == (90,) and y.dtype == torch.long
    assert torch.equal(x, x2) and torch.equal(y, y2)
    assert not torch.equal(x, maker(n=90, seed=4)[0])


def test_line_with_outliers_moves_exactly_the_outliers():
    x, y = data.line_with_outliers(n=40, n_outliers=4, outlier_size=10.0, noise=0.0)
    residual = y - (2.0 * x + 1.0)
    assert int((residual.abs() > 5).sum()) == 4
    with pytest.raises(ValueError, match="n_outliers"):
        data.line_with_outliers(n=10, n_outliers=11)
    with pytest.raises(ValueError, match="n must be"):
        data.two_moons(n=1)


# --- digits ------------------------------------------------------------------------------------------

def _rows(x: torch.Tensor, y: torch.Tensor) -> collections.Counter:
    return collections.Counter(tuple(r) + (int(t),) for r, t in zip((x.reshape(len(x), -1) * 16).round().int().tolist(), y))


def test_digits_shapes_dtypes_and_range():
    (xt, yt), (xv, yv) = data.digits()
    assert xt.dtype == xv.dtype == torch.float32 and yt.dtype == yv.dtype == torch.int64
    assert xt.shape[1:] == xv.shape[1:] == (1, 8, 8)
    assert len(xt) == len(yt) and len(xv) == len(yv) and len(xt) + len(xv) == 1797
    both = torch.cat([xt, xv])
    assert float(both.min()) == 0.0 and float(both.max()) == 1.0
    assert torch.equal(both * 16, (both * 16).round())  # pixel / 16 of integer pixels 0..16
    assert set(torch.cat([yt, yv]).tolist()) == set(range(10))


@pytest.mark.parametrize("val_fraction", [0.25, 0.1, 0.5])
def test_digits_split_is_stratified_disjoint_and_complete(val_fraction):
    from sklearn.datasets import load_digits

    full = load_digits()
    full_x = torch.as_tensor(full.images, dtype=torch.float32).unsqueeze(1) / 16
    full_y = torch.as_tensor(full.target)
    (xt, yt), (xv, yv) = data.digits(val_fraction=val_fraction)
    per_class = torch.bincount(full_y, minlength=10)
    val_per_class = torch.bincount(yv, minlength=10)
    assert ((val_per_class - val_fraction * per_class).abs() <= 1).all()
    assert torch.equal(torch.bincount(yt, minlength=10) + val_per_class, per_class)
    # train + val, as a multiset of (image, label) rows, is exactly the bundled set: disjoint and complete
    assert _rows(xt, yt) + _rows(xv, yv) == _rows(full_x, full_y)
    assert not set(_rows(xt, yt)) & set(_rows(xv, yv))
    assert len(yv) > 0 and not torch.equal(yv[:20], yv[:20].sort().values)  # shuffled, not sorted by class


def test_digits_repeat_for_a_seed_and_differ_across_seeds():
    (a, ya), (b, yb) = data.digits(seed=5)
    (c, yc), (d, yd) = data.digits(seed=5)
    assert torch.equal(a, c) and torch.equal(ya, yc) and torch.equal(b, d) and torch.equal(yb, yd)
    _, (f, yf) = data.digits(seed=6)
    assert _rows(b, yb) != _rows(f, yf)  # another seed picks other images, not just another order


def test_digits_are_cached_and_callers_cannot_change_the_cache():
    data.digits()
    hits = data._load_digits.cache_info().hits
    (xt, _), _ = data.digits()
    assert data._load_digits.cache_info().hits == hits + 1
    xt.fill_(7.0)
    (again, _), _ = data.digits()
    assert float(again.max()) == 1.0


@pytest.mark.parametrize("bad, error", [(0, ValueError), (1, ValueError), (0.0, ValueError), (1.0, ValueError),
                                        (-0.1, ValueError), (1.5, ValueError), (True, TypeError), ("0.2", TypeError)])
def test_digits_rejects_bad_val_fraction(bad, error):
    with pytest.raises(error, match="val_fraction"):
        data.digits(val_fraction=bad)


# --- photo -------------------------------------------------------------------------------------------

def test_photo_shape_range_and_gray_is_the_luma_of_the_rgb():
    rgb = data.photo(size=64)
    gray = data.photo(gray=True, size=64)
    assert rgb.shape == (3, 64, 64) and gray.shape == (1, 64, 64)
    assert rgb.dtype == gray.dtype == torch.float32
    assert 0.0 <= float(rgb.min()) and float(rgb.max()) <= 1.0
    assert float(rgb.std()) > 0.1  # a real picture, not a flat image
    r, g, b = rgb
    assert torch.allclose(gray[0], 0.299 * r + 0.587 * g + 0.114 * b, atol=1e-6)
    assert data.photo(size=8).shape == (3, 8, 8)


def test_photo_is_the_center_square_of_the_sample_image():
    from matplotlib import cbook
    from PIL import Image

    with Image.open(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)) as img:
        w, h = img.size
        pixels = torch.tensor(np.asarray(img.convert("RGB")), dtype=torch.float32)
    side = min(w, h)
    top, left = (h - side) // 2, (w - side) // 2
    expected = pixels[top:top + side, left:left + side].permute(2, 0, 1) / 255
    assert torch.equal(data.photo(size=side), expected)


@pytest.mark.parametrize("bad, error", [(7, ValueError), (513, ValueError), (0, ValueError), (64.0, TypeError),
                                        (True, TypeError)])
def test_photo_rejects_bad_sizes(bad, error):
    with pytest.raises(error, match="size"):
        data.photo(size=bad)


# --- sequences ---------------------------------------------------------------------------------------

def test_noisy_sine_without_noise_is_the_sine_and_noise_has_the_asked_spread():
    clean = data.noisy_sine(steps=100, period=25.0, noise=0.0)
    t = torch.arange(100, dtype=torch.float64)
    assert clean.shape == (100,) and clean.dtype == torch.float32
    assert torch.allclose(clean.double(), torch.sin(2 * math.pi * t / 25.0), atol=1e-6)
    noisy = data.noisy_sine(steps=4000, period=25.0, noise=0.3, seed=1)
    residual = noisy - data.noisy_sine(steps=4000, period=25.0, noise=0.0)
    assert 0.28 < float(residual.std()) < 0.32 and abs(float(residual.mean())) < 0.02


def test_noisy_sine_repeats_for_a_seed():
    assert torch.equal(data.noisy_sine(seed=2), data.noisy_sine(seed=2))
    assert not torch.equal(data.noisy_sine(seed=2), data.noisy_sine(seed=3))


@pytest.mark.parametrize("kwargs, name, error", [({"steps": 0}, "steps", ValueError), ({"steps": 2.5}, "steps", TypeError),
                                                 ({"period": 0.0}, "period", ValueError),
                                                 ({"noise": -0.1}, "noise", ValueError)])
def test_noisy_sine_rejects_bad_arguments(kwargs, name, error):
    with pytest.raises(error, match=name):
        data.noisy_sine(**kwargs)


def test_sliding_windows_by_hand():
    x, y = data.sliding_windows(torch.tensor([0.0, 1.0, 2.0, 3.0, 4.0, 5.0]), window=3, horizon=2)
    assert x.shape == (2, 3, 1) and y.shape == (2, 2) and x.dtype == y.dtype == torch.float32
    assert x.squeeze(-1).tolist() == [[0.0, 1.0, 2.0], [1.0, 2.0, 3.0]]
    assert y.tolist() == [[3.0, 4.0], [4.0, 5.0]]


@pytest.mark.parametrize("window, horizon", [(1, 1), (5, 1), (7, 3)])
def test_sliding_windows_cover_the_series(window, horizon):
    s = data.noisy_sine(steps=30, seed=4)
    x, y = data.sliding_windows(s, window, horizon)
    assert len(x) == len(y) == 30 - window - horizon + 1
    for i in range(len(x)):
        assert torch.equal(x[i, :, 0], s[i:i + window]) and torch.equal(y[i], s[i + window:i + window + horizon])
    x[0] += 100.0  # the windows are copies, not views of the series
    assert float(s.abs().max()) < 10


def test_sliding_windows_rejects_bad_arguments():
    s = torch.arange(5.0)
    with pytest.raises(ValueError, match="too short"):
        data.sliding_windows(s, window=5)
    data.sliding_windows(s, window=4)  # exactly one pair
    with pytest.raises(ValueError, match="window"):
        data.sliding_windows(s, window=0)
    with pytest.raises(ValueError, match="horizon"):
        data.sliding_windows(s, window=2, horizon=0)
    with pytest.raises(ValueError, match="series must be 1-D"):
        data.sliding_windows(s.reshape(5, 1), window=2)


# --- toy corpus --------------------------------------------------------------------------------------

WORD_CLASS = {w: c for c, words in data.TOY_GRAMMAR_CLASSES.items() for w in words}


def test_toy_corpus_uses_only_grammar_words_in_short_sentences():
    corpus = data.toy_corpus()
    assert len(corpus) == 2000
    allowed = set(WORD_CLASS) | set(data.TOY_GRAMMAR_FUNCTION_WORDS)
    assert len(WORD_CLASS) == sum(map(len, data.TOY_GRAMMAR_CLASSES.values()))  # no word in two classes
    for sentence in corpus:
        assert 3 <= len(sentence) <= 8
        assert set(sentence) <= allowed
        assert all(w.isalpha() and w.islower() for w in sentence)
    used = {w for s in corpus for w in s}
    assert used == allowed  # every word, hence every class, appears


def test_toy_corpus_repeats_for_a_seed():
    assert data.toy_corpus(50, seed=1) == data.toy_corpus(50, seed=1)
    assert data.toy_corpus(50, seed=1) != data.toy_corpus(50, seed=2)
    with pytest.raises(ValueError, match="n_sentences"):
        data.toy_corpus(0)


def test_toy_corpus_verbs_take_the_right_objects():
    for s in data.toy_corpus(500, seed=3):
        classes = [WORD_CLASS.get(w, w) for w in s]
        if "drive_verbs" in classes:
            assert classes[1] == "people" and "vehicles" in classes
        if "eat_verbs" in classes:
            assert classes[-1] == "foods"
        if "move_verbs" in classes:
            assert classes[-3:-1] == ["to", "the"] and classes[-1] == "places"
        if "foods" in classes:
            assert "eat_verbs" in classes


def _context_vectors(corpus, offsets=(-2, -1, 1, 2)):
    """Counts of each word's neighbours at the given offsets (sentence edges count as '<s>')."""
    words = sorted(WORD_CLASS)
    columns = {}
    counts = collections.defaultdict(collections.Counter)
    for s in corpus:
        for i, w in enumerate(s):
            for k in offsets:
                j = i + k
                key = (k, s[j] if 0 <= j < len(s) else "<s>")
                counts[w][columns.setdefault(key, len(columns))] += 1
    m = torch.zeros(len(words), len(columns), dtype=torch.float64)
    for r, w in enumerate(words):
        for col, n in counts[w].items():
            m[r, col] = n
    return words, m


def test_words_of_one_class_share_contexts():
    """Each word's nearest neighbour by context counts (cosine) is a word of its own class."""
    words, m = _context_vectors(data.toy_corpus())
    unit = m / m.norm(dim=1, keepdim=True)
    sim = unit @ unit.T
    sim.fill_diagonal_(-1.0)
    for r, w in enumerate(words):
        assert WORD_CLASS[words[int(sim[r].argmax())]] == WORD_CLASS[w], w
        same = [c for c, v in enumerate(words) if WORD_CLASS[v] == WORD_CLASS[w] and v != w]
        other = [c for c, v in enumerate(words) if WORD_CLASS[v] != WORD_CLASS[w]]
        assert float(sim[r, same].min()) > float(sim[r, other].max()), w


def test_build_vocab_puts_specials_first_then_frequency_then_alphabet():
    w2i, i2w = data.build_vocab([["b", "a", "b"], ["c", "a", "d", "<unk>"]])
    assert i2w == ["<pad>", "<unk>", "a", "b", "c", "d"]
    assert w2i == {"<pad>": 0, "<unk>": 1, "a": 2, "b": 3, "c": 4, "d": 5}
    w2i, i2w = data.build_vocab([["x", "y", "y"]], specials=("<bos>",))
    assert i2w == ["<bos>", "y", "x"]
    with pytest.raises(ValueError, match="specials"):
        data.build_vocab([["x"]], specials=("<pad>", "<pad>"))


def test_next_word_pairs_by_hand():
    w2i = {"<pad>": 0, "<unk>": 1, "the": 2, "cat": 3, "sleeps": 4, "a": 5}
    x, y = data.next_word_pairs([["the", "cat", "sleeps"], ["a", "dog"]], w2i, context=2)
    assert x.dtype == y.dtype == torch.int64
    assert x.tolist() == [[0, 0], [0, 2], [2, 3], [0, 0], [0, 5]]
    assert y.tolist() == [2, 3, 4, 5, 1]  # "dog" is unknown
    x1, y1 = data.next_word_pairs([["the", "cat", "sleeps"]], w2i, context=1)
    assert x1.tolist() == [[0], [2], [3]] and y1.tolist() == [2, 3, 4]


def test_next_word_pairs_on_the_corpus_count_every_token():
    corpus = data.toy_corpus(100)
    w2i, i2w = data.build_vocab(corpus)
    x, y = data.next_word_pairs(corpus, w2i, context=3)
    assert x.shape == (sum(map(len, corpus)), 3) and y.shape == (len(x),)
    assert [i2w[i] for i in y[:len(corpus[0])].tolist()] == corpus[0]


def test_next_word_pairs_rejects_bad_arguments():
    with pytest.raises(ValueError, match="context"):
        data.next_word_pairs([["a"]], {"<pad>": 0, "a": 1}, context=0)
    with pytest.raises(ValueError, match="<pad>"):
        data.next_word_pairs([["a"]], {"a": 0})
    with pytest.raises(ValueError, match="'b'"):
        data.next_word_pairs([["a", "b"]], {"<pad>": 0, "a": 1})


# --- loss surfaces -----------------------------------------------------------------------------------

def _grad_and_hessian(surface, point):
    p = torch.tensor(point, dtype=torch.float64, requires_grad=True)
    grad, = torch.autograd.grad(surface.fn(p[0], p[1]), p)
    hess = torch.autograd.functional.hessian(lambda q: surface.fn(q[0], q[1]), p.detach())
    return grad, torch.linalg.eigvalsh(hess)


def test_surfaces_include_the_named_ones():
    assert {"quadratic", "rosenbrock", "saddle", "multi_minima"} <= set(data.SURFACES)
    for name, s in data.SURFACES.items():
        assert s.name == name
        for point in [s.start, *s.minima, *s.saddles]:
            assert s.xlim[0] < point[0] < s.xlim[1] and s.ylim[0] < point[1] < s.ylim[1]


@pytest.mark.parametrize("name", ["quadratic", "rosenbrock", "saddle", "multi_minima"])
def test_listed_minima_are_minima(name):
    s = data.SURFACES[name]
    for point in s.minima:
        grad, eig = _grad_and_hessian(s, point)
        assert float(grad.abs().max()) < 1e-9, point
        assert float(eig.min()) > 0, point
    assert float(_grad_and_hessian(s, s.start)[0].abs().max()) > 1e-3  # the start is not already a stationary point


@pytest.mark.parametrize("name", ["quadratic", "rosenbrock", "saddle", "multi_minima"])
def test_first_minimum_is_the_lowest_value_on_a_fine_grid(name):
    s = data.SURFACES[name]
    xs = torch.linspace(*s.xlim, 801, dtype=torch.float64)
    ys = torch.linspace(*s.ylim, 801, dtype=torch.float64)
    gx, gy = torch.meshgrid(xs, ys, indexing="xy")
    z = s.fn(gx, gy)
    best = float(s.fn(torch.tensor(s.minima[0][0], dtype=torch.float64), torch.tensor(s.minima[0][1], dtype=torch.float64)))
    assert best <= float(z.min()) + 1e-12
    assert float(z.min()) - best < 0.05  # and the grid does get close to it


def test_multi_minima_has_one_global_and_several_local_minima():
    s = data.SURFACES["multi_minima"]
    values = [float(s.fn(torch.tensor(x, dtype=torch.float64), torch.tensor(y, dtype=torch.float64))) for x, y in s.minima]
    assert len(values) >= 3
    assert all(values[0] < v - 0.05 for v in values[1:])
    assert min(math.dist(p, q) for i, p in enumerate(s.minima) for q in s.minima[i + 1:]) > 0.5


def test_saddle_point_has_one_falling_and_one_rising_direction():
    s = data.SURFACES["saddle"]
    assert s.saddles
    for point in s.saddles:
        grad, eig = _grad_and_hessian(s, point)
        assert float(grad.abs().max()) < 1e-12
        assert float(eig[0]) < 0 < float(eig[1])
    # known values: f(0, 0) = 0, f(1, 0) = 1, f(0, 1) = -1 + 1/4
    f = s.fn
    assert [float(f(torch.tensor(a), torch.tensor(b))) for a, b in [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0)]] == [0.0, 1.0, -0.75]


def test_rosenbrock_known_values():
    f = data.SURFACES["rosenbrock"].fn
    assert float(f(torch.tensor(0.0), torch.tensor(0.0))) == 1.0
    assert float(f(torch.tensor(-1.0), torch.tensor(1.0))) == 4.0
    assert float(f(torch.tensor(0.0), torch.tensor(1.0))) == 101.0


@pytest.mark.parametrize("l1, l2", [(1.0, 10.0), (0.5, 0.5), (3.0, 0.2)])
def test_quadratic_hessian_has_the_asked_curvatures(l1, l2):
    s = data.quadratic(l1, l2)
    grad, eig = _grad_and_hessian(s, (0.7, -1.3))
    assert torch.allclose(eig, torch.tensor(sorted([l1, l2]), dtype=torch.float64))
    assert torch.allclose(grad, torch.tensor([l1 * 0.7, l2 * -1.3], dtype=torch.float64))
    assert torch.allclose(_grad_and_hessian(data.SURFACES["quadratic"], (0.3, 0.2))[1],
                          torch.tensor([1.0, 10.0], dtype=torch.float64))


@pytest.mark.parametrize("bad, error", [(0.0, ValueError), (-1.0, ValueError), (True, TypeError), ("1", TypeError)])
def test_quadratic_rejects_non_positive_curvatures(bad, error):
    with pytest.raises(error, match="l1"):
        data.quadratic(l1=bad)
    with pytest.raises(error, match="l2"):
        data.quadratic(l2=bad)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", ["quadratic", "rosenbrock", "saddle", "multi_minima"])
def test_surfaces_work_on_a_meshgrid_and_with_autograd(name, dtype):
    s = data.SURFACES[name]
    gx, gy = torch.meshgrid(torch.linspace(*s.xlim, 7, dtype=dtype), torch.linspace(*s.ylim, 5, dtype=dtype), indexing="xy")
    z = s.fn(gx, gy)
    assert z.shape == (5, 7) and z.dtype == dtype and torch.isfinite(z).all()
    # broadcasting a column against a row gives the same grid
    assert torch.allclose(s.fn(gx[:1, :], gy[:, :1]), z)
    p = torch.tensor(s.start, dtype=dtype, requires_grad=True)
    s.fn(p[0], p[1]).backward()
    assert p.grad.dtype == dtype and torch.isfinite(p.grad).all()


def test_surface_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        data.SURFACES["saddle"].start = (0.0, 0.0)


@pytest.fixture(scope="module", autouse=True)
def _import_check():
    """A fresh interpreter spends seconds importing torch: start it with the module's first test, read it in the last."""
    code = ("import sys, helpers.data; "
            "print(sorted(m for m in ('matplotlib', 'sklearn', 'ipywidgets', 'PIL') if m in sys.modules))")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.communicate()


def test_import_does_not_load_plotting_sklearn_or_widgets(_import_check):
    out, err = _import_check.communicate(timeout=120)
    assert _import_check.returncode == 0, err
    assert out.strip() == "[]"
