"""helpers.cnn: output sizes, padding, im2col, convolution and pooling against PyTorch on random settings."""
from __future__ import annotations

import random

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from helpers import cnn
from support import assert_matches_full_redraw, close as _close

ATOL = 1e-10
DT = torch.float64


def _torch_or_error(fn, *args, **kwargs):
    """PyTorch's result, or None when PyTorch refuses the settings."""
    try:
        return fn(*args, **kwargs)
    except RuntimeError:
        return None


def _pair(rng: random.Random, low: int, high: int) -> int | tuple[int, int]:
    """An int or an (h, w) pair, so both argument forms are exercised."""
    return rng.randint(low, high) if rng.random() < 0.4 else (rng.randint(low, high), rng.randint(low, high))


# ----------------------------------------------------------------------------- output size
def test_conv_output_size_matches_conv2d_shapes():
    rng = random.Random(0)
    checked = 0
    for _ in range(300):
        size, k, s, p, d = rng.randint(1, 12), rng.randint(1, 5), rng.randint(1, 4), rng.randint(0, 3), rng.randint(1, 3)
        ref = _torch_or_error(F.conv2d, torch.zeros(1, 1, size, 1), torch.zeros(1, 1, k, 1),
                              stride=(s, 1), padding=(p, 0), dilation=(d, 1))
        if ref is None:
            with pytest.raises(ValueError, match="output would be empty"):
                cnn.conv_output_size(size, k, s, p, d)
        else:
            assert cnn.conv_output_size(size, k, s, p, d) == ref.shape[2], (size, k, s, p, d)
            checked += 1
    assert checked > 150


def test_conv_output_size_ceil_mode_matches_pooling_shapes():
    rng = random.Random(1)
    ok = refused = 0
    for _ in range(400):
        size, k, s, p, d = rng.randint(1, 12), rng.randint(1, 5), rng.randint(1, 4), rng.randint(0, 3), rng.randint(1, 3)
        ceil = rng.random() < 0.6
        ref = _torch_or_error(F.max_pool2d, torch.zeros(1, 1, size, 1), (k, 1), (s, 1), (p, 0), (d, 1), ceil_mode=ceil)
        if ref is None:
            with pytest.raises(ValueError):
                cnn.conv_output_size(size, k, s, p, d, ceil_mode=ceil, pooling=True)
            refused += 1
        else:
            assert cnn.conv_output_size(size, k, s, p, d, ceil_mode=ceil, pooling=True) == ref.shape[2], \
                (size, k, s, p, d, ceil)
            ok += 1
    assert ok > 150 and refused > 20


@pytest.mark.parametrize("w, f, p, s, d", [
    (32, 3, 1, 1, 1), (32, 5, 0, 1, 1), (6, 3, 0, 2, 1), (7, 3, 1, 2, 1), (28, 3, 0, 3, 1), (10, 3, 0, 1, 2),
    (5, 3, 0, 1, 1), (5, 3, 1, 1, 1), (5, 3, 2, 1, 1),
])
def test_checklist_sizes_against_nn_conv2d(w, f, p, s, d):
    """C37 / E52 / E53 cases: floor((W - F + 2P)/S) + 1, dilation makes F -> d(F-1)+1, padding adds 2P."""
    conv = nn.Conv2d(1, 1, f, stride=s, padding=p, dilation=d)
    expected = conv(torch.zeros(1, 1, w, w)).shape[-1]
    assert cnn.conv_output_size(w, f, s, p, d) == expected
    assert expected == (w + 2 * p - d * (f - 1) - 1) // s + 1


def test_notes_formula_without_floor_is_not_an_integer():
    """E52: (W - F + 2P)/S + 1 = 2.5 for W=6, F=3, P=0, S=2; the real size is its floor."""
    assert (6 - 3 + 0) / 2 + 1 == 2.5
    assert cnn.conv_output_size(6, 3, 2) == nn.Conv2d(1, 1, 3, stride=2)(torch.zeros(1, 1, 6, 6)).shape[-1] == 2


def test_conv_output_size_errors():
    with pytest.raises(ValueError, match="kernel 5 with dilation 2 spans 9 pixels but the padded input has 7"):
        cnn.conv_output_size(3, 5, padding=2, dilation=2)
    with pytest.raises(ValueError, match="at most half"):
        cnn.conv_output_size(8, 2, 2, 2, pooling=True)
    assert cnn.conv_output_size(8, 2, 2, 2) == 6          # the same numbers are fine for a convolution
    for kwargs, err in [({"size": 0}, ValueError), ({"kernel_size": 0}, ValueError), ({"stride": 0}, ValueError),
                        ({"padding": -1}, ValueError), ({"dilation": 0}, ValueError), ({"size": 3.0}, TypeError),
                        ({"stride": True}, TypeError)]:
        args = {"size": 8, "kernel_size": 3} | kwargs
        with pytest.raises(err, match=next(iter(kwargs))):
            cnn.conv_output_size(**args)


# ----------------------------------------------------------------------------- padding
@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_pad2d_matches_f_pad(mode):
    rng = random.Random(2)
    torch_mode = "constant" if mode == "zeros" else mode
    for _ in range(40):
        h, w = rng.randint(1, 6), rng.randint(1, 6)
        limit_h, limit_w = {"reflect": (h - 1, w - 1), "circular": (h, w)}.get(mode, (3, 3))
        left, right = rng.randint(0, limit_w), rng.randint(0, limit_w)
        top, bottom = rng.randint(0, limit_h), rng.randint(0, limit_h)
        x = torch.randn(2, 3, h, w, dtype=DT)
        assert torch.equal(cnn.pad2d(x, (left, right, top, bottom), mode), F.pad(x, (left, right, top, bottom), torch_mode))
        ph, pw = min(top, limit_h), min(left, limit_w)
        assert torch.equal(cnn.pad2d(x, (ph, pw), mode), F.pad(x, (pw, pw, ph, ph), torch_mode))
        assert torch.equal(cnn.pad2d(x[0, 0], min(ph, pw), mode), F.pad(x[0:1, 0], (min(ph, pw),) * 4, torch_mode)[0])


def test_pad2d_errors():
    x = torch.randn(1, 1, 3, 4)
    with pytest.raises(ValueError, match="reflect padding must be smaller than the input height 3"):
        cnn.pad2d(x, 3, "reflect")
    with pytest.raises(ValueError, match="circular padding must be at most the input width 4"):
        cnn.pad2d(x, (0, 5), "circular")
    with pytest.raises(ValueError, match="mode must be one of"):
        cnn.pad2d(x, 1, "mirror")
    with pytest.raises(ValueError, match="padding"):
        cnn.pad2d(x, (1, 2, 3))
    with pytest.raises(ValueError, match=r"padding\[1\]"):
        cnn.pad2d(x, (1, -1))
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        cnn.pad2d(torch.zeros(3), 1)


# ----------------------------------------------------------------------------- im2col and convolution
def test_im2col_matches_f_unfold():
    rng = random.Random(3)
    checked = 0
    for _ in range(150):
        x = torch.randn(rng.randint(1, 2), rng.randint(1, 3), rng.randint(1, 8), rng.randint(1, 8), dtype=DT)
        k, s, p, d = _pair(rng, 1, 4), _pair(rng, 1, 3), _pair(rng, 0, 2), _pair(rng, 1, 3)
        ref = _torch_or_error(F.unfold, x, k, dilation=d, padding=p, stride=s)
        if ref is None or ref.shape[-1] == 0:
            with pytest.raises(ValueError, match="output would be empty"):
                cnn.im2col(x, k, s, p, d)
            continue
        assert torch.equal(cnn.im2col(x, k, s, p, d), ref)
        checked += 1
    assert checked > 60


def test_conv2d_matches_f_conv2d_on_random_settings():
    rng = random.Random(4)
    gen = torch.Generator().manual_seed(4)
    checked = refused = 0
    for _ in range(300):
        n, c_in, c_out = rng.randint(1, 2), rng.randint(1, 3), rng.randint(1, 3)
        x = torch.randn(n, c_in, rng.randint(1, 9), rng.randint(1, 9), generator=gen, dtype=DT)
        kh, kw = rng.randint(1, 4), rng.randint(1, 4)                  # often non-square
        w = torch.randn(c_out, c_in, kh, kw, generator=gen, dtype=DT)
        b = torch.randn(c_out, generator=gen, dtype=DT) if rng.random() < 0.7 else None
        s, p, d = _pair(rng, 1, 3), _pair(rng, 0, 3), _pair(rng, 1, 3)
        ref = _torch_or_error(F.conv2d, x, w, b, s, p, d)
        if ref is None:
            with pytest.raises(ValueError, match="output would be empty"):
                cnn.conv2d(x, w, b, s, p, d)
            refused += 1
            continue
        assert _close(cnn.conv2d(x, w, b, s, p, d), ref), (x.shape, w.shape, s, p, d)
        assert _close(cnn.conv2d(x[0], w, b, s, p, d), ref[0])      # a single image (C, H, W)
        checked += 1
    assert checked > 150 and refused > 10


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("padding, dilation", [("same", 1), ("same", 2), ("same", (1, 3)), ("valid", 1), ("valid", 2)])
def test_conv2d_string_padding(padding, dilation):
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(2, 3, 9, 7, generator=gen, dtype=DT)
    for kernel in [(3, 3), (4, 2), (2, 3)]:                              # even kernels put the extra pixel right/bottom
        w = torch.randn(4, 3, *kernel, generator=gen, dtype=DT)
        ref = F.conv2d(x, w, padding=padding, dilation=dilation)
        assert _close(cnn.conv2d(x, w, padding=padding, dilation=dilation), ref)
        if padding == "same":
            assert ref.shape[-2:] == x.shape[-2:]


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_conv2d_padding_modes_match_nn_conv2d(mode):
    gen = torch.Generator().manual_seed(6)
    for kernel, stride, padding in [(3, 1, 1), ((3, 2), (2, 1), (2, 1)), (5, 2, 2)]:
        layer = nn.Conv2d(2, 3, kernel, stride=stride, padding=padding, padding_mode=mode).double()
        x = torch.randn(2, 2, 7, 6, generator=gen, dtype=DT)
        ours = cnn.conv2d(x, layer.weight, layer.bias, stride, padding, padding_mode=mode)
        assert _close(ours, layer(x))


def test_conv2d_gradients_match_pytorch():
    gen = torch.Generator().manual_seed(7)
    x = torch.randn(2, 3, 8, 7, generator=gen, dtype=DT, requires_grad=True)
    w = torch.randn(4, 3, 3, 2, generator=gen, dtype=DT, requires_grad=True)
    b = torch.randn(4, generator=gen, dtype=DT, requires_grad=True)
    g_out = torch.randn(2, 4, 4, 7, generator=gen, dtype=DT)
    ours = torch.autograd.grad(cnn.conv2d(x, w, b, (2, 1), 1, (1, 2)), (x, w, b), g_out)
    ref = torch.autograd.grad(F.conv2d(x, w, b, (2, 1), 1, (1, 2)), (x, w, b), g_out)
    assert all(_close(a, r) for a, r in zip(ours, ref))


def test_conv2d_single_channel_loop_equals_conv2d():
    rng = random.Random(8)
    gen = torch.Generator().manual_seed(8)
    for _ in range(25):
        x = torch.randn(rng.randint(3, 8), rng.randint(3, 8), generator=gen, dtype=DT)
        k = torch.randn(rng.randint(1, 3), rng.randint(1, 3), generator=gen, dtype=DT)
        s, p = rng.randint(1, 2), rng.randint(0, 1)
        ref = F.conv2d(x[None, None], k[None, None], stride=s, padding=p)[0, 0]
        assert _close(cnn.conv2d_single_channel(x, k, stride=s, padding=p), ref)
        assert _close(cnn.conv2d(x[None], k[None, None], stride=s, padding=p)[0], ref)


def test_conv_is_a_channel_sum_of_window_products_without_flip():
    """C38: one output value = sum over channels of window * kernel, plus bias; the kernel is not flipped."""
    gen = torch.Generator().manual_seed(9)
    x = torch.randn(1, 3, 5, 5, generator=gen, dtype=DT)
    w = torch.randn(8, 3, 3, 3, generator=gen, dtype=DT)
    b = torch.randn(8, generator=gen, dtype=DT)
    y = cnn.conv2d(x, w, b)
    assert torch.isclose(y[0, 5, 1, 2], (x[0, :, 1:4, 2:5] * w[5]).sum() + b[5], atol=ATOL, rtol=0)
    assert not _close(y, cnn.conv2d(x, w.flip(-1, -2), b), atol=1e-3)


def test_translation_equivariance():
    """E51 / C40: conv(shift(x)) = shift(conv(x)); exact with circular padding, in the interior with zeros."""
    gen = torch.Generator().manual_seed(10)
    img = torch.randn(1, 1, 16, 16, generator=gen, dtype=DT)
    k = torch.randn(1, 1, 3, 3, generator=gen, dtype=DT)
    shift = lambda t: torch.roll(t, (2, 3), (2, 3))                  # noqa: E731
    conv_circ = lambda t: cnn.conv2d(t, k, padding=1, padding_mode="circular")  # noqa: E731
    assert _close(conv_circ(shift(img)), shift(conv_circ(img)))
    conv_zero = lambda t: cnn.conv2d(t, k, padding=1)                # noqa: E731
    inner = (slice(None), slice(None), slice(4, 14), slice(5, 15))
    assert _close(conv_zero(shift(img))[inner], shift(conv_zero(img))[inner])


def test_conv2d_errors():
    x = torch.randn(1, 3, 5, 5)
    w = torch.randn(2, 3, 3, 3)
    with pytest.raises(ValueError, match="x has 4 channels but weight expects C_in = 3"):
        cnn.conv2d(torch.randn(1, 4, 5, 5), w)
    with pytest.raises(ValueError, match="output would be empty: kernel 3 with dilation 3 spans 7 pixels"):
        cnn.conv2d(x, w, dilation=3)
    with pytest.raises(ValueError, match="weight must be a tensor of shape"):
        cnn.conv2d(x, torch.randn(2, 3, 3))
    with pytest.raises(ValueError, match=r"bias must be None or a tensor of shape \(C_out,\) = \(2,\)"):
        cnn.conv2d(x, w, torch.randn(3))
    with pytest.raises(ValueError, match="x must have shape"):
        cnn.conv2d(torch.randn(5, 5), w)
    with pytest.raises(TypeError, match="floating-point"):
        cnn.conv2d(torch.ones(1, 3, 5, 5, dtype=torch.long), w)
    with pytest.raises(TypeError, match="weight dtype"):
        cnn.conv2d(x, w.double())
    with pytest.raises(ValueError, match="'same' needs stride 1"):
        cnn.conv2d(x, w, stride=2, padding="same")
    with pytest.raises(ValueError, match="padding must be an int, a pair, 'valid' or 'same'"):
        cnn.conv2d(x, w, padding="full")
    with pytest.raises(ValueError, match="padding_mode"):
        cnn.conv2d(x, w, padding=1, padding_mode="mirror")
    with pytest.raises(ValueError, match="stride"):
        cnn.conv2d(x, w, stride=(1, 0))


# ----------------------------------------------------------------------------- pooling
def test_max_pool2d_matches_pytorch_on_random_settings():
    rng = random.Random(11)
    gen = torch.Generator().manual_seed(11)
    checked = refused = 0
    for _ in range(300):
        x = torch.randn(rng.randint(1, 2), rng.randint(1, 3), rng.randint(1, 9), rng.randint(1, 9), generator=gen, dtype=DT)
        k, p, d = _pair(rng, 1, 4), _pair(rng, 0, 2), _pair(rng, 1, 2)
        s = None if rng.random() < 0.25 else _pair(rng, 1, 3)
        ceil = rng.random() < 0.5
        ref = _torch_or_error(F.max_pool2d, x, k, s, p, d, ceil_mode=ceil)
        if ref is None:
            with pytest.raises(ValueError):
                cnn.max_pool2d(x, k, s, p, d, ceil_mode=ceil)
            refused += 1
            continue
        assert torch.equal(cnn.max_pool2d(x, k, s, p, d, ceil_mode=ceil), ref), (x.shape, k, s, p, d, ceil)
        assert torch.equal(cnn.max_pool2d(x[0], k, s, p, d, ceil_mode=ceil), ref[0])
        checked += 1
    assert checked > 100 and refused > 20


def test_avg_pool2d_matches_pytorch_on_random_settings():
    """Includes ceil_mode windows that hang past the padded border and count_include_pad on and off."""
    rng = random.Random(12)
    gen = torch.Generator().manual_seed(12)
    checked = refused = partial = 0
    for _ in range(400):
        x = torch.randn(rng.randint(1, 2), rng.randint(1, 3), rng.randint(1, 9), rng.randint(1, 9), generator=gen, dtype=DT)
        k, p = _pair(rng, 1, 5), _pair(rng, 0, 2)
        s = None if rng.random() < 0.25 else _pair(rng, 1, 4)
        ceil, include = rng.random() < 0.6, rng.random() < 0.5
        override = rng.randint(1, 5) if rng.random() < 0.15 else None
        kwargs = dict(ceil_mode=ceil, count_include_pad=include, divisor_override=override)
        ref = _torch_or_error(F.avg_pool2d, x, k, s, p, **kwargs)
        if ref is None:
            with pytest.raises(ValueError):
                cnn.avg_pool2d(x, k, s, p, **kwargs)
            refused += 1
            continue
        assert _close(cnn.avg_pool2d(x, k, s, p, **kwargs), ref), (x.shape, k, s, p, kwargs)
        floor = _torch_or_error(F.avg_pool2d, x, k, s, p)
        partial += ceil and (floor is None or floor.shape != ref.shape)   # ceil_mode kept a partial window
        checked += 1
    assert checked > 200 and refused > 20 and partial > 30


def test_pooling_checklist_cases_against_pytorch():
    """C41 / C42: ceil_mode keeps partial edge windows; count_include_pad changes the corner; channels are kept."""
    x = torch.arange(25.0).view(1, 1, 5, 5)
    assert cnn.max_pool2d(x, 2).shape[-2:] == (2, 2)
    assert torch.equal(cnn.max_pool2d(x, 2, ceil_mode=True), nn.MaxPool2d(2, ceil_mode=True)(x))
    assert cnn.max_pool2d(x, 2, ceil_mode=True).shape[-2:] == (3, 3)
    ones = torch.ones(1, 1, 5, 5)
    for include in (True, False):
        assert _close(cnn.avg_pool2d(ones, 3, 1, 1, count_include_pad=include),
                      nn.AvgPool2d(3, 1, 1, count_include_pad=include)(ones), atol=1e-7)
    assert abs(cnn.avg_pool2d(ones, 3, 1, 1)[0, 0, 0, 0].item() - 4 / 9) < 1e-7
    assert cnn.avg_pool2d(ones, 3, 1, 1, count_include_pad=False)[0, 0, 0, 0].item() == 1.0
    x6 = torch.randn(2, 6, 8, 8)
    assert cnn.max_pool2d(x6, 2).shape == cnn.avg_pool2d(x6, 2).shape == nn.MaxPool2d(2)(x6).shape == (2, 6, 4, 4)


def test_max_pool_propagates_nan_and_ignores_padding():
    x = -torch.rand(1, 1, 4, 4, dtype=DT) - 1                           # all negative: zero padding would win
    assert torch.equal(cnn.max_pool2d(x, 3, 1, 1), F.max_pool2d(x, 3, 1, 1))
    assert bool((cnn.max_pool2d(x, 3, 1, 1) < 0).all())
    x[0, 0, 0, 0] = float("nan")
    assert torch.equal(cnn.max_pool2d(x, 2).isnan(), F.max_pool2d(x, 2).isnan())


def test_pooling_errors():
    x = torch.randn(1, 1, 5, 5)
    with pytest.raises(ValueError, match="at most half"):
        cnn.max_pool2d(x, 2, padding=2)
    with pytest.raises(ValueError, match="at most half"):
        cnn.avg_pool2d(x, 3, padding=2)
    with pytest.raises(ValueError, match="output would be empty"):
        cnn.max_pool2d(x, 6)
    with pytest.raises(ValueError, match="divisor_override"):
        cnn.avg_pool2d(x, 2, divisor_override=0)
    with pytest.raises(ValueError, match="kernel_size"):
        cnn.avg_pool2d(x, 0)
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        cnn.max_pool2d([[1.0]], 2)


# ----------------------------------------------------------------------------- parameters and hygiene
def test_conv2d_params_matches_nn_conv2d():
    rng = random.Random(13)
    for _ in range(40):
        groups = rng.choice([1, 1, 2, 3])
        c_in, c_out = groups * rng.randint(1, 4), groups * rng.randint(1, 4)
        k, bias = _pair(rng, 1, 5), rng.random() < 0.5
        layer = nn.Conv2d(c_in, c_out, k, bias=bias, groups=groups)
        assert cnn.conv2d_params(c_in, c_out, k, bias, groups) == sum(p.numel() for p in layer.parameters())
    assert cnn.conv2d_params(3, 8, 3) == sum(p.numel() for p in nn.Conv2d(3, 8, 3).parameters()) == 224
    with pytest.raises(ValueError, match="divisible by groups"):
        cnn.conv2d_params(3, 8, 3, groups=2)
    with pytest.raises(ValueError, match="out_channels"):
        cnn.conv2d_params(3, 0, 3)


FROM_SCRATCH = (cnn.conv_output_size, cnn.pad2d, cnn.im2col, cnn.conv2d, cnn.conv2d_single_channel, cnn.max_pool2d,
                cnn.avg_pool2d, cnn.conv2d_params, cnn.shift2d, cnn.preset_kernel)


def test_cnn_formulas_are_written_without_pytorch_conv_or_pool(reached_source):
    """The from-scratch functions and everything they call use no torch.nn (the chapter's models below them may)."""
    source, names = reached_source(FROM_SCRATCH)
    assert "_images" in source and "_windows" in source                 # the walk follows private helpers
    for forbidden in ("torch.nn", "F.conv2d(", "nn.Conv2d(", "F.max_pool2d(", "F.avg_pool2d(", "Pool2d(", "F.unfold(",
                      "F.pad("):
        assert forbidden not in source, forbidden
    assert not {"nn", "F", "functional"} & names, names & {"nn", "F", "functional"}


# ----------------------------------------------------------------------------- shifts and preset kernels
def test_shift2d_moves_content_and_fills_zeros():
    x = torch.arange(1.0, 26.0).reshape(1, 5, 5)
    for dy, dx in [(0, 0), (1, 2), (-2, 1), (3, -4), (-4, -4)]:
        y = cnn.shift2d(x, dy, dx)
        rolled = torch.roll(x, (dy, dx), (1, 2))
        rows = torch.arange(5)[:, None] - dy
        cols = torch.arange(5)[None, :] - dx
        inside = (rows >= 0) & (rows < 5) & (cols >= 0) & (cols < 5)
        assert torch.equal(y[0][inside], rolled[0][inside]) and torch.all(y[0][~inside] == 0), (dy, dx)
    assert torch.equal(cnn.shift2d(cnn.shift2d(x, 2, 1), -2, -1)[0, :3, :4], x[0, :3, :4])


def test_shift2d_errors():
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        cnn.shift2d([[1.0]], 0, 0)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        cnn.shift2d(torch.zeros(3), 0, 0)
    with pytest.raises(ValueError, match="smaller than the image size"):
        cnn.shift2d(torch.zeros(4, 4), 4, 0)
    with pytest.raises(ValueError, match="dy must be an int >= -3"):
        cnn.shift2d(torch.zeros(4, 4), -4, 0)
    with pytest.raises(TypeError, match="dx must be an int"):
        cnn.shift2d(torch.zeros(4, 4), 0, 1.5)


def test_translation_equivariance_with_shift2d_away_from_borders():
    torch.manual_seed(0)
    img = torch.zeros(1, 2, 16, 16, dtype=DT)
    img[..., 5:11, 5:11] = torch.randn(2, 6, 6, dtype=DT)
    w = torch.randn(3, 2, 3, 3, dtype=DT)
    for dy, dx in [(1, 0), (0, -2), (2, 3)]:
        assert _close(cnn.conv2d(cnn.shift2d(img, dy, dx), w, padding=1),
                      cnn.shift2d(cnn.conv2d(img, w, padding=1), dy, dx))


def test_preset_kernels_sum_as_documented():
    sums = {name: cnn.preset_kernel(name, dtype=DT).sum().item() for name in cnn.PRESET_KERNELS}
    for name in ("identity", "blur (box)", "blur (Gaussian)", "sharpen", "emboss"):
        assert abs(sums[name] - 1.0) < 1e-12, name
    for name in ("edges (Laplacian)", "vertical edges (Sobel x)", "horizontal edges (Sobel y)"):
        assert abs(sums[name]) < 1e-12, name
    assert torch.equal(cnn.preset_kernel("sharpen"), cnn.preset_kernel("identity") + cnn.preset_kernel("edges (Laplacian)"))
    assert cnn.preset_kernel("blur (box)").shape == (3, 3)
    with pytest.raises(ValueError, match="name must be one of"):
        cnn.preset_kernel("gabor")


# ----------------------------------------------------------------------------- models and panels
from helpers.panels import cnn as CP  # noqa: E402
from helpers import panels as P  # noqa: E402


def test_digit_models_and_their_parameter_counts():
    cnn_model, mlp = cnn.digits_cnn(), cnn.digits_mlp()
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(cnn_model) == cnn.conv2d_params(1, 16, 3) + cnn.conv2d_params(16, 16, 3) + 64 * 10 + 10 == 3130
    assert count(mlp) == 64 * 44 + 44 + 44 * 10 + 10 == 3310
    assert cnn_model(torch.zeros(5, 1, 8, 8)).shape == mlp(torch.zeros(5, 1, 8, 8)).shape == (5, 10)
    with pytest.raises(ValueError, match="channels"):
        cnn.digits_cnn(0)
    with pytest.raises(TypeError, match="hidden"):
        cnn.digits_mlp(2.5)


def test_trained_cnn_reaches_95_percent_and_layer_shapes():
    from helpers.data import digits
    from helpers.training import accuracy

    state = torch.random.get_rng_state()
    model = cnn.trained_digits_cnn()
    assert torch.equal(state, torch.random.get_rng_state()), "training must not move the global random stream"
    assert cnn.trained_digits_cnn() is model                       # cached: trained once per process
    _, (x_val, y_val) = digits()
    outs = cnn.layer_outputs(model, x_val)
    assert accuracy(outs["logits"], y_val) >= 0.95
    shapes = {name: tuple(t.shape[1:]) for name, t in outs.items()}
    assert shapes == {"conv1": (16, 8, 8), "relu1": (16, 8, 8), "pool1": (16, 4, 4), "conv2": (16, 4, 4),
                      "relu2": (16, 4, 4), "pool2": (16, 2, 2), "logits": (10,)}
    assert torch.allclose(outs["logits"], model(x_val))
    with pytest.raises(TypeError, match="shaped like digits_cnn"):
        cnn.layer_outputs(cnn.digits_mlp(), x_val)


def test_cnn_panels_are_registered():
    names = set(P.chapter_panels("cnn"))
    assert names == {"conv_arithmetic_panel", "filter_panel", "feature_maps_panel", "shift_panel"}


@pytest.mark.parametrize("size, kernel, stride, padding, dilation",
                         [(5, 3, 1, 1, 1), (8, 3, 3, 1, 2), (7, 2, 2, 0, 1), (3, 1, 1, 2, 3), (8, 5, 2, 2, 2)])
def test_conv_arithmetic_panel_reports_pytorch_output_size(size, kernel, stride, padding, dilation):
    panel = CP.conv_arithmetic_panel()
    panel.render(size=size, kernel=kernel, stride=stride, padding=padding, dilation=dilation, position=99)
    out = nn.Conv2d(1, 1, kernel, stride, padding, dilation)(torch.zeros(1, 1, size, size)).shape[-1]
    assert panel.last_error is None
    assert f"output <b>{out}×{out}</b>" in panel.readout_text
    assert f"current output cell ({out - 1}, {out - 1})" in panel.readout_text


def test_conv_arithmetic_panel_explains_an_impossible_setting():
    panel = CP.conv_arithmetic_panel()
    bad = dict(size=3, kernel=5, stride=1, padding=0, dilation=3, position=0)
    panel.render(**bad)
    assert panel.last_error.startswith("Impossible") and "13" in panel.last_error and "W+2P = 3" in panel.last_error
    with pytest.raises(RuntimeError):
        nn.Conv2d(1, 1, 5, dilation=3)(torch.zeros(1, 1, 3, 3))
    assert panel.enabled(bad) == {"size": True, "kernel": True, "stride": False, "padding": True,
                                             "dilation": True, "position": False}


def test_filter_panel_uses_the_sliders_only_for_a_custom_kernel():
    panel = CP.filter_panel()
    assert not any(panel.enabled({**panel.values(), "kernel": "sharpen"})[n] for n in CP._WEIGHT_NAMES)
    assert all(panel.enabled({**panel.values(), "kernel": "custom"})[n] for n in CP._WEIGHT_NAMES)
    assert not any(panel.enabled({**panel.values(), "input": "grey"})[n] for n in CP._MIX_NAMES)
    assert not any(panel.shown({**panel.values(), "input": "grey"})[n] for n in CP._MIX_NAMES)
    assert all(panel.shown({**panel.values(), "input": "rgb"})[n] for n in CP._MIX_NAMES)
    panel.render(kernel="identity", stride=2, row=30, col=30)           # 23 x 23 outputs: clamped to the last
    assert "output pixel (22, 22) of 23×23" in panel.readout_text


# ----------------------------------------------------------------------------- the filter panel explains one pixel
def _reference_input(kind: str) -> torch.Tensor:
    from helpers import data

    return data.photo(gray=True, size=48) if kind == "grey" else cnn.colour_shapes(48)


def _shown(panel) -> tuple[dict, str]:
    """What the filter panel's arithmetic shows: the cell strings by (part, channel) and the total line."""
    [table] = panel.fig.findobj(lambda a: a.get_gid() == "table")
    [total] = panel.fig.findobj(lambda a: a.get_gid() == "total")
    return table.shown, total.get_text()


def _value(text: str) -> float:
    return float(text.replace("\u2212", "-"))


def test_explain_pixel_matches_f_conv2d_on_random_settings():
    gen = torch.Generator().manual_seed(3)
    for _ in range(60):
        c, h, w = (int(torch.randint(lo, hi, (1,), generator=gen)) for lo, hi in ((1, 4), (3, 9), (3, 9)))
        k, s, p = (int(torch.randint(lo, hi, (1,), generator=gen)) for lo, hi in ((1, 4), (1, 4), (0, 3)))
        if k > min(h, w) + 2 * p:
            continue
        x, weight, bias = torch.randn(c, h, w, generator=gen), torch.randn(c, k, k, generator=gen), float(torch.randn(1, generator=gen))
        y = F.conv2d(x[None], weight[None], torch.tensor([bias]), stride=s, padding=p)[0, 0]
        for i in range(y.shape[0]):
            for j in range(y.shape[1]):
                ex = cnn.explain_pixel(x, weight, bias, stride=s, padding=p, row=i, col=j)
                assert abs(ex.output - float(y[i, j])) < 1e-5
                assert torch.allclose(ex.products, ex.window * weight) and ex.top == i * s - p and ex.left == j * s - p
                assert torch.equal(ex.window, F.pad(x, (p, p, p, p))[:, i * s:i * s + k, j * s:j * s + k])
    with pytest.raises(ValueError, match="row"):
        cnn.explain_pixel(torch.zeros(1, 5, 5), torch.zeros(1, 3, 3), row=3)
    with pytest.raises(ValueError, match="one kernel per input channel"):
        cnn.explain_pixel(torch.zeros(3, 5, 5), torch.zeros(1, 3, 3))


def test_colour_shapes_is_a_colourful_rgb_picture():
    x = cnn.colour_shapes(48)
    assert x.shape == (3, 48, 48) and 0 <= float(x.min()) and float(x.max()) <= 1
    reds = (x[0] > 0.8) & (x[1] < 0.3) & (x[2] < 0.3)
    greens, blues = (x[1] > 0.7) & (x[0] < 0.3), (x[2] > 0.9) & (x[0] < 0.3)
    assert min(int(reds.sum()), int(greens.sum()), int(blues.sum())) > 50       # three colours, each a real shape


@pytest.mark.parametrize("values", [
    dict(input="grey", stride=1, padding=0, row=17, col=21, kernel="edges (Laplacian)", bias=0.0),
    dict(input="grey", stride=2, padding=2, row=0, col=0, kernel="vertical edges (Sobel x)", bias=0.3),  # corner, in the padding
    dict(input="grey", stride=3, padding=1, row=15, col=5, kernel="blur (box)", bias=-0.25),              # last row
    dict(input="rgb", stride=1, padding=0, row=10, col=12, kernel="sharpen", bias=0.1, mix_r=1.0, mix_g=-0.5, mix_b=0.25),
    dict(input="rgb", stride=2, padding=1, row=23, col=0, kernel="emboss", bias=-0.6, mix_r=0.0, mix_g=1.0, mix_b=-1.0),
    dict(input="rgb", stride=3, padding=2, row=0, col=16, kernel="custom", bias=0.0, mix_r=-1.0, mix_g=0.75, mix_b=0.5,
         **{f"w{r}{c}": 0.5 * r - 0.25 * c + (1.0 if r == c else 0.0) for r in range(3) for c in range(3)}),
])
def test_filter_panel_explained_pixel_equals_f_conv2d(values):
    """The drawn arithmetic is F.conv2d's value: window numbers from the padded input, products = window x kernel,
    per-channel sums, and sum + bias = the output at that position; the marked window is that window."""
    panel = CP.filter_panel()
    panel.render(**values)
    assert panel.last_error is None
    v = {**panel.values(), **values}
    x = _reference_input(v["input"])
    kernel = (torch.tensor([[v[f"w{r}{c}"] for c in range(3)] for r in range(3)]) if v["kernel"] == "custom"
              else torch.tensor(cnn.PRESET_KERNELS[v["kernel"]]))
    mix = [v["mix_r"], v["mix_g"], v["mix_b"]] if v["input"] == "rgb" else [1.0]
    weight = torch.stack([m * kernel for m in mix]).float()
    s, p, i, j = v["stride"], v["padding"], v["row"], v["col"]
    y = F.conv2d(x[None], weight[None], torch.tensor([v["bias"]]), stride=s, padding=p)[0, 0]
    assert 0 <= i < y.shape[0] and 0 <= j < y.shape[1]
    cells, total = _shown(panel)
    assert abs(_value(total.split("=")[-1]) - float(y[i, j])) <= 5e-4 + 1e-6, (total, float(y[i, j]))
    assert total.startswith(f"y[{i}, {j}] = ")
    window = F.pad(x, (p, p, p, p))[:, i * s:i * s + 3, j * s:j * s + 3]
    for c in range(len(mix)):
        shown_window = torch.tensor([[_value(t) for t in row] for row in cells["window", c]])
        shown_kernel = torch.tensor([[_value(t) for t in row] for row in cells["kernel", c]])
        shown_products = torch.tensor([[_value(t) for t in row] for row in cells["products", c]])
        assert (shown_window - window[c]).abs().max() <= 5e-3 + 1e-6
        assert (shown_kernel - weight[c]).abs().max() <= 5e-3 + 1e-6
        assert (shown_products - window[c] * weight[c]).abs().max() <= 5e-3 + 1e-6
        assert abs(_value(cells["sum", c]) - float((window[c] * weight[c]).sum())) <= 5e-4 + 1e-6
    [box] = panel.fig.findobj(lambda a: a.get_gid() == "window")
    assert (box.get_x(), box.get_y(), box.get_width(), box.get_height()) == (j * s - p - 0.5, i * s - p - 0.5, 3, 3)
    assert f"input rows {i * s - p}…{i * s - p + 2}, columns {j * s - p}…{j * s - p + 2}" in panel.readout_text


def test_filter_panel_readout_states_the_flat_patch_rule():
    """The readout's rule for a flat patch holds: S·v + b (grey), S·(m_R R + m_G G + m_B B) + b (RGB)."""
    panel = CP.filter_panel()
    mix, colour, bias = (1.0, 0.5, -1.0), torch.tensor([0.2, 0.6, 0.9]), 0.3
    panel.render(input="rgb", kernel="emboss", mix_r=mix[0], mix_g=mix[1], mix_b=mix[2], bias=bias)
    k = cnn.preset_kernel("emboss")
    assert f"kernel sum S = {k.sum().item():g}" in panel.readout_text
    assert "a flat patch of colour (R, G, B) gives S·(1·R + 0.50·G − 1·B) + b" in panel.readout_text
    flat = colour.reshape(3, 1, 1).expand(3, 6, 6)
    y = F.conv2d(flat[None], torch.stack([m * k for m in mix])[None], torch.tensor([bias]))
    expected = k.sum().item() * sum(m * c for m, c in zip(mix, colour.tolist())) + bias
    assert torch.allclose(y, torch.full_like(y, expected), atol=1e-6)
    panel.render(input="grey", kernel="blur (box)")
    assert "kernel sum S = 1: a flat patch of brightness v gives S·v + b" in panel.readout_text


def test_filter_panel_weight_sliders_show_the_preset_and_custom_starts_from_it():
    panel = CP.filter_panel()
    weights = [panel.controls[n] for n in CP._WEIGHT_NAMES]
    assert [w.value for w in weights] == sum(cnn.PRESET_KERNELS["edges (Laplacian)"], [])   # the default kernel
    redraws = []
    panel.refresh = (lambda original: lambda: (redraws.append(1), original())[1])(panel.refresh)
    panel.controls["kernel"].value = "sharpen"
    assert len(redraws) == 1, "moving nine sliders to the preset's values must not redraw nine more times"
    assert [w.value for w in weights] == sum(cnn.PRESET_KERNELS["sharpen"], []) and all(w.disabled for w in weights)
    preset = panel.png
    panel.controls["kernel"].value = "custom"                            # starts from the kernel that was shown
    assert len(redraws) == 2 and not any(w.disabled for w in weights)
    assert [w.value for w in weights] == sum(cnn.PRESET_KERNELS["sharpen"], [])
    assert panel.png == preset                                   # the same kernel: the same picture
    cells, _ = _shown(panel)
    assert cells["kernel", 0] == [["0", "−1", "0"], ["−1", "5", "−1"], ["0", "−1", "0"]]
    weights[4].value = 2.0                                               # now the sliders are the kernel
    assert _shown(panel)[0]["kernel", 0][1][1] == "2" and panel.png != preset
    panel.controls["kernel"].value = "blur (box)"
    assert all(abs(w.value - 1 / 9) < 1e-7 for w in weights)
    assert_matches_full_redraw(panel)


def test_filter_panel_row_and_column_run_over_the_output_positions():
    panel = CP.filter_panel()
    row, col = panel.controls["row"], panel.controls["col"]
    assert (row.min, row.max, col.max) == (0, 45, 45)                    # 48 - 3 + 1 = 46 outputs
    row.value, col.value = 45, 40
    for stride, padding in ((3, 0), (3, 2), (2, 1), (1, 2), (1, 0)):
        panel.controls["stride"].value, panel.controls["padding"].value = stride, padding
        n = F.conv2d(torch.zeros(1, 1, 48, 48), torch.zeros(1, 1, 3, 3), stride=stride, padding=padding).shape[-1]
        assert row.max == col.max == n - 1 and row.value <= n - 1 and col.value <= n - 1
        assert f"of {n}×{n}" in panel.readout_text and f"output pixel ({row.value}, {col.value})" in panel.readout_text
    assert_matches_full_redraw(panel)


def test_conv_arithmetic_position_is_an_integer_over_the_output_cells():
    panel = CP.conv_arithmetic_panel()
    position = panel.controls["position"]
    for size, kernel, stride, padding, dilation in [(5, 3, 1, 1, 1), (8, 3, 3, 1, 2), (7, 2, 2, 0, 1), (8, 5, 2, 2, 2),
                                                    (3, 1, 1, 2, 3)]:
        position.value = position.max
        for name, v in zip(("size", "kernel", "stride", "padding", "dilation"), (size, kernel, stride, padding, dilation)):
            panel.controls[name].value = v
        out = nn.Conv2d(1, 1, kernel, stride, padding, dilation)(torch.zeros(1, 1, size, size)).shape[-1]
        assert position.max == out * out - 1 and 0 <= position.value <= position.max
        cells = []
        for k in range(position.max + 1):                               # every key press moves to a new cell
            position.value = k
            cells.append(panel.readout_text.split("current output cell ")[1].split(")")[0] + ")")
        assert cells == [f"({i}, {j})" for i in range(out) for j in range(out)]
    bad = dict(size=3, kernel=5, padding=0, dilation=3)                 # no window fits: one position, disabled
    for name, v in bad.items():
        panel.controls[name].value = v
    assert position.max == 0 and position.value == 0 and position.disabled


def test_chapter_colours_follow_the_convention():
    """Kernels, feature maps and products on the signed map with symmetric limits, inputs on the image grey."""
    from helpers.panels.pieces import IMAGE_CMAP, SIGNED_CMAP

    allowed = {IMAGE_CMAP, SIGNED_CMAP}
    for name in ("filter_panel", "feature_maps_panel", "shift_panel"):
        panel = getattr(CP, name)()
        panel.render()
        maps = [a for a in panel.fig.findobj(lambda a: hasattr(a, "get_cmap") and a.get_array() is not None)]
        assert maps and {m.get_cmap().name for m in maps} <= allowed, (name, {m.get_cmap().name for m in maps})
        for m in maps:
            lo, hi = m.get_clim()
            assert m.get_cmap().name == IMAGE_CMAP or lo == -hi, (name, lo, hi)


def test_filter_panel_feature_map_is_drawn_on_the_signed_map_with_symmetric_limits():
    import matplotlib

    from helpers.panels.pieces import SIGNED_CMAP

    panel = CP.filter_panel()
    panel.render(input="rgb", kernel="emboss", stride=2, padding=1, row=3, col=5, bias=0.4)
    weight = torch.stack([cnn.preset_kernel("emboss")] * 3)
    y = F.conv2d(cnn.colour_shapes(48)[None], weight[None], torch.tensor([0.4]), stride=2, padding=1)[0, 0].numpy()
    m = abs(y).max()
    expected = matplotlib.colormaps[SIGNED_CMAP]((y + m) / (2 * m), bytes=True)
    [picture] = panel.fig.findobj(lambda a: a.get_gid() == "feature map")
    n, side = y.shape[0], picture.data.shape[0] - 8                  # 4 px of margin each side for the ring
    centres = 4 + ((np.arange(n) + 0.5) * side / n).astype(int)
    shown = picture.data[centres][:, centres]
    far = np.ones((n, n), dtype=bool)
    far[2:5, 4:7] = False                                             # the ring around (3, 5) covers its neighbours' edges
    assert np.array_equal(shown[far], expected[far])
    assert tuple(shown[3, 5]) == tuple(expected[3, 5])


def test_shift_panel_y_range_holds_every_curve():
    """The relative-change axis covers the largest change any digit, channel and shift can show."""
    model = cnn.trained_digits_cnn()
    x_val, _ = cnn.validation_digits()
    study = cnn.shift_study(model[0], cnn.on_canvas(x_val, 14), max_shift=3, pools=(2, 4, 14))
    highest = max(float(r["change"][k].max()) for r in study.values() for k in (1, 2, 4, 14))
    panel = CP.shift_panel()
    top = panel.fig.axes[3].get_ylim()[1]
    assert highest < top < 1.2 * highest
    assert panel.fig.axes[3].get_legend().get_bbox_to_anchor().y1 < panel.fig.axes[3].get_window_extent().y0


def test_shift_panel_shows_equivariance_and_a_global_pool_that_ignores_the_shift():
    panel = CP.shift_panel()
    panel.render(dx=2, dy=-1, pool=14)
    assert panel.last_error is None
    assert "by 0%" in panel.readout_text.split("pooled map")[1]
    back = float(panel.readout_text.split("max |diff| = ")[1].split(" ")[0])
    assert back < 1e-5


def test_shift_panel_reports_the_strip_and_the_positive_bias():
    model = cnn.trained_digits_cnn()
    bias = model[0].bias.detach()
    positive, negative = int(bias.argmax()), int(bias.argmin())
    assert bias[positive] > 0 > bias[negative]
    panel = CP.shift_panel()
    for channel, expected in ((positive, float(bias[positive])), (negative, 0.0)):
        panel.render(dx=1, dy=0, pool=2, channel=channel)
        text = panel.readout_text
        assert float(text.split("max |diff| = ")[1].split(" ")[0]) < 1e-5
        assert abs(float(text.split("where it is ")[1].split(" ")[0]) - expected) < 6e-3, text
        assert "can reach the digit" not in text
    panel.render(dx=3, dy=0, pool=2, channel=negative)
    assert "at |shift| = 3 the strip can reach the digit" in panel.readout_text
    panel.render(dx=0, dy=0, pool=2, channel=positive)                 # no shift, no strip: nothing to compare
    assert "no shift" in panel.readout_text and "strip" not in panel.readout_text


def test_shift_panel_equivariance_readout_is_float_error_everywhere():
    """The chapter says the shifted-back map differs by less than 1e-6 away from the strip, for every control value."""
    from helpers.panels.testing import sample_values

    panel = CP.shift_panel()
    seen = []
    for values in sample_values(panel, max_combos=60):
        panel.render(**values)
        assert panel.last_error is None
        if "max |diff| = " in panel.readout_text:
            seen.append(float(panel.readout_text.split("max |diff| = ")[1].split(" ")[0]))
    assert len(seen) > 20 and max(seen) < 1e-6, max(seen)


def test_on_canvas_vacated_and_relative_change():
    x = torch.arange(1.0, 5.0).reshape(1, 1, 2, 2)
    canvas = cnn.on_canvas(x, 6)
    assert canvas.shape == (1, 1, 6, 6) and torch.equal(canvas[0, 0, 2:4, 2:4], x[0, 0]) and canvas.sum() == x.sum()
    strip = cnn.vacated(4, 5, 1, -2)
    assert strip.shape == (4, 5) and strip[0].all() and strip[:, 3:].all() and not strip[1:, :3].any()
    a, b = torch.tensor([[3.0, 4.0]]), torch.zeros(1, 2)
    assert float(cnn.relative_change(b, a)) == 1.0 and float(cnn.relative_change(a, a)) == 0.0
    with pytest.raises(ValueError, match="size"):
        cnn.on_canvas(x, 1)


def test_shift_study_against_a_direct_computation():
    torch.manual_seed(0)
    conv = nn.Conv2d(1, 3, 3, padding=1)
    with torch.no_grad():
        conv.bias.copy_(torch.tensor([-0.5, 0.3, 0.0]))
    canvas = cnn.on_canvas(torch.rand(4, 1, 8, 8), 14)
    study = cnn.shift_study(conv, canvas, max_shift=3)
    assert len(study) == 49 and all(float(r["whole"].max()) == 0 for r in [study[0, 0]])
    for (dy, dx), r in study.items():
        with torch.no_grad():
            base, maps = torch.relu(conv(canvas)), torch.relu(conv(cnn.shift2d(canvas, dy, dx)))
        diff = (cnn.shift2d(maps, -dy, -dx) - base).abs()
        assert torch.allclose(r["whole"], diff.amax(dim=(2, 3)))
        assert torch.allclose(r["change"][2], cnn.relative_change(F.max_pool2d(maps, 2), F.max_pool2d(base, 2)))
        assert float(r["off_strip"].max()) < 1e-5                     # equivariance away from the zero-filled strip
        if 0 < max(abs(dy), abs(dx)) <= 2:                            # the strip holds ReLU(b) of an empty canvas
            assert torch.allclose(r["whole"], torch.relu(conv.bias.detach()).expand(4, 3), atol=1e-6)
            assert float(r["global_max"].max()) < 1e-5
    with pytest.raises(TypeError, match="nn.Conv2d"):
        cnn.shift_study(nn.Linear(2, 2), canvas)


def test_train_digits_model_is_reproducible_and_leaves_the_random_stream():
    torch.manual_seed(1)
    a = cnn.train_digits_model(cnn.digits_mlp(8), seed=3)
    torch.manual_seed(1)
    b = cnn.train_digits_model(cnn.digits_mlp(8), seed=3)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters())) and not a.training
    model = cnn.digits_mlp(4)
    state = torch.random.get_rng_state()
    cnn.train_digits_model(model, seed=0)
    assert torch.equal(state, torch.random.get_rng_state())


def test_conv_arithmetic_readout_tells_the_floor_from_the_stride():
    panel = CP.conv_arithmetic_panel()
    panel.render(size=8, kernel=3, stride=3, padding=0, dilation=1, position=0)    # windows 0-2, 3-5; 6, 7 left over
    assert ("last 2 row(s) and column(s) never covered: a window starting S = 3 further would run past the edge "
            "(the floor)") in panel.readout_text
    assert "jumps over" not in panel.readout_text
    panel.render(size=5, kernel=1, stride=3, padding=2, dilation=1, position=0)    # taps 0, 3, 6 of 9: 7, 8 left over
    assert "last 2 row(s) and column(s) never covered: a window starting S = 3 further" in panel.readout_text
    assert "4 row(s) and column(s) between windows never covered" in panel.readout_text
    panel.render(size=7, kernel=1, stride=3, padding=0, dilation=1, position=0)    # taps 0, 3, 6: 4 rows jumped over
    assert "4 row(s) and column(s) between windows never covered: the stride S = 3 jumps over them" in panel.readout_text
    assert "the floor" not in panel.readout_text


def test_feature_maps_readout_names_the_colours_that_occur():
    panel = CP.feature_maps_panel()
    panel.render(layer="conv1")
    assert "red > 0 > blue" in panel.readout_text
    panel.render(layer="pool1")
    assert "every value is ≥ 0" in panel.readout_text and "blue" not in panel.readout_text


def test_panel_module_only_draws():
    """Models, data and training live in helpers.cnn; the panel module's public names are panels and figures."""
    own = [n for n, v in vars(CP).items() if not n.startswith("_") and getattr(v, "__module__", None) == CP.__name__]
    assert own and all(n.endswith(("_panel", "_figure")) for n in own), own
    assert all(n.endswith(("_panel", "_figure")) for n in CP.__all__), CP.__all__
