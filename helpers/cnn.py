r"""Chapter 8: convolution and pooling written from their formulas (no ``F.conv2d``, no pooling layers).

Read top to bottom:

1. ``conv_output_size``: $H' = \lfloor (H + 2p - d(k-1) - 1)/s \rfloor + 1$, the corrected
   form of the notes' $(W - F + 2P)/S + 1$ (floor, dilation).
2. ``pad2d``: zeros / reflect / replicate / circular padding by indexing.
3. ``im2col``: every kernel window laid out as a column, like ``F.unfold``.
4. ``conv2d``: $y = W_{\text{flat}} \cdot \text{cols} + b$, the matrix form of
   "multiply each window by the kernel and sum over all channels".
   ``conv2d_single_channel`` is the same thing as two plain loops.
5. ``max_pool2d`` / ``avg_pool2d``: the max or the mean of each window, per channel,
   with PyTorch's ``ceil_mode`` and ``count_include_pad`` rules.
6. ``conv2d_params``: $C_{out} \cdot \frac{C_{in}}{g} \cdot k_h k_w + C_{out}$ (the bias is not divided by g).
7. ``shift2d``: move an image by whole pixels with zeros coming in, to test translation
   equivariance; ``PRESET_KERNELS``: classic 3x3 filters (edges, blur, sharpen); ``explain_pixel``:
   one output value as its window, the element-wise products and their sum (plus bias);
   ``colour_shapes``: a small RGB picture made in code, to convolve three channels.
8. The chapter's digit models: ``digits_cnn`` (two conv blocks + a linear head), the MLP baseline
   ``digits_mlp``, ``trained_digits_cnn`` (trained once per process with ``CNN_RECIPE``) and
   ``layer_outputs`` (every layer's output, for the feature-map pictures).
9. Shifting a digit on a larger canvas: ``on_canvas``, ``vacated`` (the strip a shift fills with
   zeros), ``relative_change`` and ``shift_study``, which measures what a conv layer + ReLU and
   max pooling do with every shift, to check the chapter's claims about equivariance and invariance.

PyTorch's convolution is a cross-correlation: the kernel is not flipped.
Images are ``(N, C, H, W)``; a single image ``(C, H, W)`` is accepted too.
"""
from __future__ import annotations

import functools
from typing import NamedTuple, Sequence, Union

import torch
from torch import nn

from .checks import float_tensor as _float_tensor, integer as _int
from .data import digits
from .training import fit

__all__ = [
    "conv_output_size", "pad2d", "im2col", "conv2d", "conv2d_single_channel",
    "max_pool2d", "avg_pool2d", "conv2d_params", "shift2d", "preset_kernel", "PADDING_MODES", "PRESET_KERNELS",
    "PixelExplained", "explain_pixel", "colour_shapes",
    "digits_cnn", "digits_mlp", "CNN_RECIPE", "train_digits_model", "trained_digits_cnn", "LAYER_NAMES", "layer_outputs",
    "validation_digits", "on_canvas", "vacated", "relative_change", "shift_study",
]

IntPair = Union[int, Sequence[int]]
PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


# ----------------------------------------------------------------------------- input checks
def _pair(value, name: str, minimum: int) -> tuple[int, int]:
    """An int ``v`` means ``(v, v)`` (height, width); a pair is checked element by element."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair (height, width), got {value!r}")
        return _int(value[0], f"{name}[0]", minimum), _int(value[1], f"{name}[1]", minimum)
    return _int(value, name, minimum), _int(value, name, minimum)


def _images(x, name: str = "x") -> tuple[torch.Tensor, bool]:
    """Return ``x`` as (N, C, H, W) and whether it came with a batch dimension."""
    _float_tensor(x, name)
    if x.ndim == 3:
        return x.unsqueeze(0), False
    if x.ndim == 4:
        return x, True
    raise ValueError(f"{name} must have shape (N, C, H, W) or (C, H, W), got {tuple(x.shape)}")


# ----------------------------------------------------------------------------- output size
def conv_output_size(size: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1,
                     *, ceil_mode: bool = False, pooling: bool = False) -> int:
    r"""$n_{out} = \left\lfloor \frac{n + 2p - d(k-1) - 1}{s} \right\rfloor + 1$ ($\lceil\cdot\rceil$ with ``ceil_mode``, as in pooling).

    ``ceil_mode=True`` rounds up, but (PyTorch's rule) the last window must start inside the
    input or in the left padding, i.e. $(n_{out} - 1)s < n + p$; otherwise it is dropped.
    ``pooling=True`` adds the pooling layers' rule $p \le \lfloor k/2 \rfloor$.
    Raises ``ValueError`` when no window fits, saying by how much.
    """
    size = _int(size, "size", 1)
    kernel_size = _int(kernel_size, "kernel_size", 1)
    stride = _int(stride, "stride", 1)
    padding = _int(padding, "padding", 0)
    dilation = _int(dilation, "dilation", 1)
    span = dilation * (kernel_size - 1) + 1          # pixels one (dilated) kernel covers
    padded = size + 2 * padding
    if pooling and padding > kernel_size // 2:
        raise ValueError(f"padding must be at most half the kernel for pooling: padding={padding} "
                         f"but kernel_size={kernel_size} (max padding {kernel_size // 2})")
    numerator = padded - span + (stride - 1 if ceil_mode else 0)
    out = numerator // stride + 1 if numerator >= 0 else 0
    if ceil_mode and out > 0 and (out - 1) * stride >= size + padding:
        out -= 1                                      # the last window would start in the right padding
    if out < 1:
        raise ValueError(f"output would be empty: kernel {kernel_size} with dilation {dilation} spans {span} pixels "
                         f"but the padded input has {padded} (size {size} + 2*padding {padding})")
    return out


# ----------------------------------------------------------------------------- padding
def _padding4(padding, name: str = "padding") -> tuple[int, int, int, int]:
    """int p -> (p, p, p, p); (ph, pw) -> (pw, pw, ph, ph); a 4-tuple is (left, right, top, bottom)."""
    if isinstance(padding, (tuple, list)) and len(padding) == 4:
        return tuple(_int(p, f"{name}[{i}]", 0) for i, p in enumerate(padding))  # type: ignore[return-value]
    if isinstance(padding, (tuple, list)) and len(padding) != 2:
        raise ValueError(f"{name} must be an int, a pair (height, width) or (left, right, top, bottom), "
                         f"got {padding!r}")
    ph, pw = _pair(padding, name, 0)
    return pw, pw, ph, ph


def _source_index(n: int, before: int, after: int, mode: str) -> torch.Tensor:
    """For each position of the padded axis (length before + n + after), the input index it copies."""
    i = torch.arange(-before, n + after)
    if mode == "replicate":                       # repeat the edge pixel
        return i.clamp(0, n - 1)
    if mode == "circular":                        # wrap around
        return i % n
    # reflect: mirror about the edge pixel without repeating it: -1 -> 1, n -> n - 2
    i = i.abs()
    return torch.where(i > n - 1, 2 * (n - 1) - i, i)


def pad2d(x: torch.Tensor, padding: IntPair | Sequence[int], mode: str = "zeros") -> torch.Tensor:
    r"""$x_{pad}[i, j] = x[\pi_H(i), \pi_W(j)]$ with $\pi$ = clamp (replicate), mirror (reflect), mod (circular), or 0 outside (zeros).

    ``padding``: int, pair (height, width), or ``(left, right, top, bottom)`` in ``F.pad``'s order.
    Pads the last two dimensions of a tensor of any rank >= 2.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim < 2:
        raise ValueError(f"x must have at least 2 dimensions (..., H, W), got shape {tuple(x.shape)}")
    if mode not in PADDING_MODES:
        raise ValueError(f"mode must be one of {PADDING_MODES}, got {mode!r}")
    left, right, top, bottom = _padding4(padding)
    h, w = x.shape[-2:]
    if mode == "zeros":
        out = x.new_zeros(*x.shape[:-2], top + h + bottom, left + w + right)
        out[..., top:top + h, left:left + w] = x
        return out
    for axis, n, (a, b) in (("height", h, (top, bottom)), ("width", w, (left, right))):
        if n == 0:
            raise ValueError(f"{mode} padding needs a non-empty input, got {axis} 0")
        if mode == "reflect" and max(a, b) >= n:
            raise ValueError(f"reflect padding must be smaller than the input {axis} {n}, got padding ({a}, {b})")
        if mode == "circular" and max(a, b) > n:
            raise ValueError(f"circular padding must be at most the input {axis} {n}, got padding ({a}, {b})")
    rows = _source_index(h, top, bottom, mode).to(x.device)
    cols = _source_index(w, left, right, mode).to(x.device)
    return x[..., rows[:, None], cols[None, :]]


# ----------------------------------------------------------------------------- windows / im2col
def _windows(xp: torch.Tensor, kernel: tuple[int, int], stride: tuple[int, int],
             dilation: tuple[int, int]) -> torch.Tensor:
    """All kernel windows of a padded (N, C, H, W) tensor as a view of shape (N, C, H', W', kH, kW)."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    win = xp.unfold(2, span_h, sh).unfold(3, span_w, sw)   # (N, C, H', W', span_h, span_w)
    return win[..., ::dh, ::dw]                           # keep every d-th pixel: the dilated taps


def _conv_args(x, kernel_size, stride, padding, dilation):
    """Checked (x as (N, C, H, W), kernel, stride, padding, dilation pairs, output size (H', W')) of a convolution."""
    x4, _ = _images(x)
    kernel, stride_, dilation_ = _pair(kernel_size, "kernel_size", 1), _pair(stride, "stride", 1), _pair(dilation, "dilation", 1)
    pad = _pair(padding, "padding", 0)
    out = tuple(conv_output_size(x4.shape[2 + a], kernel[a], stride_[a], pad[a], dilation_[a]) for a in (0, 1))
    return x4, kernel, stride_, pad, dilation_, out


def im2col(x: torch.Tensor, kernel_size: IntPair, stride: IntPair = 1, padding: IntPair = 0,
           dilation: IntPair = 1) -> torch.Tensor:
    r"""$\text{cols}[n, (c,u,v), (i,j)] = x_{pad}[n, c, i s_h + u d_h, j s_w + v d_w]$: shape $(N, C k_h k_w, H' W')$, like ``F.unfold``."""
    x4, kernel, stride_, (ph, pw), dilation_, (h_out, w_out) = _conv_args(x, kernel_size, stride, padding, dilation)
    win = _windows(pad2d(x4, (ph, pw)), kernel, stride_, dilation_)   # (N, C, H', W', kH, kW)
    n, c = x4.shape[:2]
    return win.permute(0, 1, 4, 5, 2, 3).reshape(n, c * kernel[0] * kernel[1], h_out * w_out)


# ----------------------------------------------------------------------------- convolution
def _same_padding(kernel: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int]) -> tuple[int, int, int, int]:
    """PyTorch's padding='same': total d(k-1) per axis, the odd pixel goes to the right / bottom."""
    if stride != (1, 1):
        raise ValueError(f"padding='same' needs stride 1, got stride {stride}")
    (kh, kw), (dh, dw) = kernel, dilation
    th, tw = dh * (kh - 1), dw * (kw - 1)
    return tw // 2, tw - tw // 2, th // 2, th - th // 2


def conv2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None, stride: IntPair = 1,
           padding: IntPair | str = 0, dilation: IntPair = 1, *, padding_mode: str = "zeros") -> torch.Tensor:
    r"""$y[n,o,i,j] = b_o + \sum_{c}\sum_{u,v} w[o,c,u,v]\; x_{pad}[n, c, i s_h + u d_h, j s_w + v d_w]$ (cross-correlation).

    ``x`` (N, C_in, H, W) or (C_in, H, W); ``weight`` (C_out, C_in, kH, kW); ``bias`` (C_out,) or None.
    ``padding`` is an int, a pair, ``'valid'`` (= 0) or ``'same'`` (stride 1 only, as in PyTorch);
    ``padding_mode`` is one of zeros / reflect / replicate / circular, as in ``nn.Conv2d``.
    """
    x4, batched = _images(x)
    if not isinstance(weight, torch.Tensor):
        raise TypeError(f"weight must be a torch.Tensor, got {type(weight).__name__}")
    if weight.ndim != 4:
        raise ValueError(f"weight must be a tensor of shape (C_out, C_in, kH, kW), got {tuple(weight.shape)}")
    if weight.dtype != x4.dtype:
        raise TypeError(f"weight dtype {weight.dtype} must match x dtype {x4.dtype}")
    c_out, c_in, kh, kw = weight.shape
    if x4.shape[1] != c_in:
        raise ValueError(f"x has {x4.shape[1]} channels but weight expects C_in = {c_in} "
                         f"(weight shape {tuple(weight.shape)}, x shape {tuple(x.shape)})")
    if bias is not None and (not isinstance(bias, torch.Tensor) or tuple(bias.shape) != (c_out,)):
        shape = tuple(bias.shape) if isinstance(bias, torch.Tensor) else type(bias).__name__
        raise ValueError(f"bias must be None or a tensor of shape (C_out,) = ({c_out},), got {shape}")
    if bias is not None and bias.dtype != x4.dtype:
        raise TypeError(f"bias dtype {bias.dtype} must match x dtype {x4.dtype}")
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"padding_mode must be one of {PADDING_MODES}, got {padding_mode!r}")
    stride_, dilation_ = _pair(stride, "stride", 1), _pair(dilation, "dilation", 1)
    if padding == "same":                        # keeps the size: that is what 'same' means
        pad4 = _same_padding((kh, kw), stride_, dilation_)
        h_out, w_out = x4.shape[2:]
    elif isinstance(padding, str) and padding != "valid":
        raise ValueError(f"padding must be an int, a pair, 'valid' or 'same', got {padding!r}")
    else:
        ph, pw = (0, 0) if padding == "valid" else _pair(padding, "padding", 0)
        pad4 = (pw, pw, ph, ph)
        h_out = conv_output_size(x4.shape[2], kh, stride_[0], ph, dilation_[0])
        w_out = conv_output_size(x4.shape[3], kw, stride_[1], pw, dilation_[1])
    xp = pad2d(x4, pad4, padding_mode)
    cols = im2col(xp, (kh, kw), stride_, 0, dilation_)          # (N, C_in kH kW, H' W')
    y = weight.reshape(c_out, -1) @ cols                         # (N, C_out, H' W'): one row per kernel
    if bias is not None:
        y = y + bias[:, None]
    y = y.reshape(x4.shape[0], c_out, h_out, w_out)
    return y if batched else y[0]


def _plane(t, name: str) -> torch.Tensor:
    """A 2-D floating-point tensor (H, W)."""
    if _float_tensor(t, name).ndim != 2:
        raise ValueError(f"{name} must be a 2-D tensor (H, W), got shape {tuple(t.shape)}")
    return t


def conv2d_single_channel(x2d: torch.Tensor, k2d: torch.Tensor, *, stride: int = 1, padding: int = 0) -> torch.Tensor:
    r"""$y[i,j] = \sum_{u,v} k[u,v]\; x_{pad}[i s + u,\, j s + v]$, written as two loops over output positions."""
    x2d, k2d, stride, padding = _plane(x2d, "x2d"), _plane(k2d, "k2d"), _int(stride, "stride", 1), _int(padding, "padding", 0)
    kh, kw = k2d.shape
    h_out = conv_output_size(x2d.shape[0], kh, stride, padding)
    w_out = conv_output_size(x2d.shape[1], kw, stride, padding)
    xp = pad2d(x2d, padding)
    out = x2d.new_zeros(h_out, w_out)
    for i in range(h_out):
        for j in range(w_out):
            window = xp[i * stride:i * stride + kh, j * stride:j * stride + kw]
            out[i, j] = (window * k2d).sum()      # multiply the window by the kernel, add everything up
    return out


# ----------------------------------------------------------------------------- pooling
def _pool_geometry(x4: torch.Tensor, kernel_size, stride, padding, dilation, ceil_mode: bool):
    """Checked kernel / stride / padding / dilation pairs and the output size (H', W') of a pooling layer."""
    kernel = _pair(kernel_size, "kernel_size", 1)
    stride_ = kernel if stride is None else _pair(stride, "stride", 1)   # stride=None means stride = kernel
    pad = _pair(padding, "padding", 0)
    dil = _pair(dilation, "dilation", 1)
    out = tuple(conv_output_size(x4.shape[2 + a], kernel[a], stride_[a], pad[a], dil[a],
                                 ceil_mode=bool(ceil_mode), pooling=True) for a in (0, 1))
    return kernel, stride_, pad, dil, out


def _pad_for_pool(x4: torch.Tensor, kernel, stride, pad, dil, out, value: float) -> torch.Tensor:
    """Pad by ``pad`` with ``value``, plus extra on the right / bottom for ceil_mode's last partial window."""
    need = [(out[a] - 1) * stride[a] + dil[a] * (kernel[a] - 1) + 1 for a in (0, 1)]
    extra = [max(0, need[a] - (x4.shape[2 + a] + 2 * pad[a])) for a in (0, 1)]
    xp = pad2d(x4, (pad[1], pad[1] + extra[1], pad[0], pad[0] + extra[0]))
    if value != 0.0:
        h, w = x4.shape[2:]
        inside = torch.zeros(xp.shape[2:], dtype=torch.bool, device=xp.device)
        inside[pad[0]:pad[0] + h, pad[1]:pad[1] + w] = True
        xp = xp.masked_fill(~inside, value)
    return xp


def max_pool2d(x: torch.Tensor, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0,
               dilation: IntPair = 1, *, ceil_mode: bool = False) -> torch.Tensor:
    r"""$y[n,c,i,j] = \max_{u,v} x_{pad}[n, c, i s_h + u d_h, j s_w + v d_w]$, each channel separately ($x_{pad} = -\infty$ outside)."""
    x4, batched = _images(x)
    kernel, stride_, pad, dil, out = _pool_geometry(x4, kernel_size, stride, padding, dilation, ceil_mode)
    xp = _pad_for_pool(x4, kernel, stride_, pad, dil, out, float("-inf"))
    y = _windows(xp, kernel, stride_, dil)[:, :, :out[0], :out[1]].amax(dim=(-2, -1))
    return y if batched else y[0]


def _avg_divisor(n: int, out: int, k: int, s: int, p: int, count_include_pad: bool) -> torch.Tensor:
    """Per output position along one axis: how many pixels PyTorch divides by."""
    start = torch.arange(out) * s - p                    # window start in input coordinates (may be < 0)
    if count_include_pad:
        return (start + k).clamp(max=n + p) - start       # the window clipped to the padded border only
    return (start + k).clamp(max=n) - start.clamp(min=0)  # real pixels only


def avg_pool2d(x: torch.Tensor, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0,
               *, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> torch.Tensor:
    r"""$y[n,c,i,j] = \frac{1}{D_{ij}}\sum_{u,v} x_{pad}[n, c, i s_h + u, j s_w + v]$, each channel separately ($x_{pad} = 0$ outside).

    PyTorch's divisor $D_{ij}$: with ``count_include_pad`` the window size clipped to the padded
    border (a ceil_mode window hanging past it counts only its part inside); without it, the number
    of real input pixels in the window; ``divisor_override`` replaces both.
    """
    x4, batched = _images(x)
    kernel, stride_, pad, _, out = _pool_geometry(x4, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None:
        divisor_override = _int(divisor_override, "divisor_override", 1)
    xp = _pad_for_pool(x4, kernel, stride_, pad, (1, 1), out, 0.0)
    total = _windows(xp, kernel, stride_, (1, 1))[:, :, :out[0], :out[1]].sum(dim=(-2, -1))
    if divisor_override is not None:
        y = total / divisor_override
    else:
        rows = _avg_divisor(x4.shape[2], out[0], kernel[0], stride_[0], pad[0], count_include_pad)
        cols = _avg_divisor(x4.shape[3], out[1], kernel[1], stride_[1], pad[1], count_include_pad)
        y = total / (rows[:, None] * cols[None, :]).to(total)
    return y if batched else y[0]


# ----------------------------------------------------------------------------- parameters
def conv2d_params(in_channels: int, out_channels: int, kernel_size: IntPair, bias: bool = True,
                  groups: int = 1) -> int:
    r"""$\#\theta = C_{out}\cdot\frac{C_{in}}{g}\cdot k_h k_w \;+\; C_{out}$ (bias); independent of the image size."""
    c_in = _int(in_channels, "in_channels", 1)
    c_out = _int(out_channels, "out_channels", 1)
    kh, kw = _pair(kernel_size, "kernel_size", 1)
    groups = _int(groups, "groups", 1)
    if c_in % groups or c_out % groups:
        raise ValueError(f"in_channels ({c_in}) and out_channels ({c_out}) must both be divisible by groups ({groups})")
    return c_out * (c_in // groups) * kh * kw + (c_out if bias else 0)


# ----------------------------------------------------------------------------- shifts and classic kernels
def shift2d(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    r"""$y[\dots, i, j] = x[\dots, i - d_y, j - d_x]$, and 0 where $(i - d_y, j - d_x)$ falls outside: content moves down by $d_y$, right by $d_x$."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim < 2:
        raise ValueError(f"x must have at least 2 dimensions (..., H, W), got shape {tuple(x.shape)}")
    h, w = x.shape[-2:]
    dy, dx = _int(dy, "dy", -h + 1), _int(dx, "dx", -w + 1)
    if dy >= h or dx >= w:
        raise ValueError(f"shift (dy, dx) = ({dy}, {dx}) must be smaller than the image size ({h}, {w})")
    out = torch.zeros_like(x)
    out[..., max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        x[..., max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


PRESET_KERNELS: dict[str, list[list[float]]] = {
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    "edges (Laplacian)": [[0, -1, 0], [-1, 4, -1], [0, -1, 0]],
    "vertical edges (Sobel x)": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "horizontal edges (Sobel y)": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    "blur (box)": [[1 / 9] * 3] * 3,
    "blur (Gaussian)": [[1 / 16, 2 / 16, 1 / 16], [2 / 16, 4 / 16, 2 / 16], [1 / 16, 2 / 16, 1 / 16]],
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "emboss": [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]],
}


def preset_kernel(name: str, *, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    r"""A classic $3\times3$ kernel by name (``PRESET_KERNELS``); blur kernels sum to 1, edge kernels to 0, sharpen = identity + Laplacian."""
    if name not in PRESET_KERNELS:
        raise ValueError(f"name must be one of {list(PRESET_KERNELS)}, got {name!r}")
    return torch.tensor(PRESET_KERNELS[name], dtype=dtype)


class PixelExplained(NamedTuple):
    """One output value of a convolution, taken apart (see :func:`explain_pixel`)."""

    window: torch.Tensor        # (C, k, k): the padded input under the kernel
    products: torch.Tensor      # (C, k, k): window * weight, element by element
    channel_sums: torch.Tensor  # (C,): the products summed over each channel's window
    bias: float
    output: float               # channel_sums.sum() + bias
    top: int                    # the window's first row and column in input coordinates (< 0 in the padding)
    left: int


def explain_pixel(x: torch.Tensor, weight: torch.Tensor, bias: float = 0.0, *, stride: int = 1, padding: int = 0,
                  row: int = 0, col: int = 0) -> PixelExplained:
    r"""$y[i, j] = b + \sum_c \sum_{u,v} w[c,u,v]\; x_{pad}[c,\ i s + u,\ j s + v]$ for one output position $(i, j)$, term by term.

    ``x`` (C, H, W); ``weight`` (C, k, k), one kernel per input channel; zero padding. The window starts at
    row ``i s - p``, column ``j s - p`` of the unpadded input.
    """
    if _float_tensor(x, "x").ndim != 3:
        raise ValueError(f"x must have shape (C, H, W), got {tuple(x.shape)}")
    if not isinstance(weight, torch.Tensor) or weight.ndim != 3 or weight.shape[0] != x.shape[0] \
            or weight.shape[1] != weight.shape[2]:
        raise ValueError(f"weight must have shape (C, k, k) with C = {x.shape[0]} (one kernel per input channel), "
                         f"got {tuple(getattr(weight, 'shape', ()))}")
    k = weight.shape[-1]
    stride, padding = _int(stride, "stride", 1), _int(padding, "padding", 0)
    rows, cols = (conv_output_size(n, k, stride, padding) for n in x.shape[1:])
    row, col = _int(row, "row", 0, rows - 1), _int(col, "col", 0, cols - 1)
    top, left = row * stride, col * stride                      # in padded coordinates
    window = pad2d(x, padding)[:, top:top + k, left:left + k]
    products = window * weight.to(x.dtype)
    channel_sums = products.sum(dim=(1, 2))
    bias = float(bias)
    return PixelExplained(window, products, channel_sums, bias, float(channel_sums.sum()) + bias,
                          top - padding, left - padding)


def colour_shapes(size: int = 48) -> torch.Tensor:
    """A small colourful picture made in code, (3, size, size) in [0, 1]: a red disc, a green square, a blue
    triangle and a yellow bar on a flat dark blue ground."""
    size = _int(size, "size", 8)
    t = torch.linspace(0.0, 1.0, size)
    y, x = torch.meshgrid(t, t, indexing="ij")                  # y down, x right, both in [0, 1]
    image = torch.stack([torch.full_like(x, 0.12), torch.full_like(x, 0.14), torch.full_like(x, 0.32)])
    shapes = [
        ((x - 0.30) ** 2 + (y - 0.28) ** 2 < 0.20 ** 2, (0.92, 0.16, 0.12)),            # red disc
        ((x > 0.08) & (x < 0.42) & (y > 0.58) & (y < 0.92), (0.15, 0.78, 0.25)),        # green square
        ((y > 0.08) & (y < 0.48) & (x > 0.55) & (x < 0.95) & ((x - 0.75).abs() < 0.5 * (y - 0.08)),
         (0.20, 0.35, 0.95)),                                                            # blue triangle
        ((x > 0.55) & (x < 0.92) & (y > 0.64) & (y < 0.80), (0.98, 0.86, 0.10)),        # yellow bar
    ]
    for mask, rgb in shapes:
        for c in range(3):
            image[c][mask] = rgb[c]
    return image


# ----------------------------------------------------------------------------- the digit models
def digits_cnn(channels: int = 16) -> nn.Sequential:
    r"""conv(1→c, 3×3, pad 1) → ReLU → maxpool 2 → conv(c→c, 3×3, pad 1) → ReLU → maxpool 2 → linear($4c$→10), for (N, 1, 8, 8) digits."""
    channels = _int(channels, "channels", 1)
    return nn.Sequential(
        nn.Conv2d(1, channels, kernel_size=3, padding=1),         # (N, c, 8, 8)
        nn.ReLU(),
        nn.MaxPool2d(2),                                          # (N, c, 4, 4)
        nn.Conv2d(channels, channels, kernel_size=3, padding=1),  # (N, c, 4, 4)
        nn.ReLU(),
        nn.MaxPool2d(2),                                          # (N, c, 2, 2)
        nn.Flatten(),                                             # (N, 4c)
        nn.Linear(4 * channels, 10),
    )


def digits_mlp(hidden: int = 44) -> nn.Sequential:
    r"""flatten(8×8) → linear(64→h) → ReLU → linear(h→10): the MLP baseline (h = 44: 3,310 parameters, about the CNN's 3,130)."""
    hidden = _int(hidden, "hidden", 1)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 10))


CNN_RECIPE = {"epochs": 12, "batch_size": 128, "lr": 1e-2}  # Adam; about 1-2 s on one CPU core


def train_digits_model(model: nn.Module, seed: int = 0) -> nn.Module:
    """``model`` trained on the digits' training split with ``CNN_RECIPE`` (Adam), batches shuffled from ``seed``; in eval mode."""
    (x_train, y_train), _ = digits()
    with torch.random.fork_rng(devices=[]):  # training here never moves the caller's random stream
        torch.manual_seed(_int(seed, "seed", 0))
        optimizer = torch.optim.Adam(model.parameters(), lr=CNN_RECIPE["lr"])
        fit(model, (x_train, y_train), nn.CrossEntropyLoss(), optimizer, epochs=CNN_RECIPE["epochs"],
            batch_size=CNN_RECIPE["batch_size"], progress=False)
    return model.eval()


@functools.lru_cache(maxsize=2)
def trained_digits_cnn(seed: int = 0) -> nn.Sequential:
    """``digits_cnn()`` trained on the digits' training split with ``CNN_RECIPE`` (Adam), cached per seed; in eval mode."""
    (x_train, y_train), _ = digits()
    with torch.random.fork_rng(devices=[]):  # training here never moves the caller's random stream
        torch.manual_seed(seed)
        model = digits_cnn()
        optimizer = torch.optim.Adam(model.parameters(), lr=CNN_RECIPE["lr"])
        fit(model, (x_train, y_train), nn.CrossEntropyLoss(), optimizer, epochs=CNN_RECIPE["epochs"],
            batch_size=CNN_RECIPE["batch_size"], progress=False)
    return model.eval()


LAYER_NAMES = ("conv1", "relu1", "pool1", "conv2", "relu2", "pool2")


def layer_outputs(model: nn.Sequential, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """The output of every layer of a ``digits_cnn``-shaped model for ``x`` (N, 1, 8, 8), by name (conv1 … pool2, logits)."""
    if not isinstance(model, nn.Sequential) or len(model) != 8:
        raise TypeError(f"model must be an nn.Sequential shaped like digits_cnn(), got {type(model).__name__}")
    outputs = {}
    with torch.no_grad():
        h = x
        for name, layer in zip((*LAYER_NAMES, "flatten", "logits"), model):
            h = layer(h)
            outputs[name] = h
    del outputs["flatten"]
    return outputs


@functools.lru_cache(maxsize=1)
def validation_digits(count: int = 30) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``count`` digits of the validation split: (images (count, 1, 8, 8), labels)."""
    _, (x_val, y_val) = digits()
    return x_val[:count], y_val[:count]


# ----------------------------------------------------------------------------- shifting a digit on a canvas
def on_canvas(images: torch.Tensor, size: int = 14) -> torch.Tensor:
    """Images (N, C, h, w) placed at the centre of a ``size`` x ``size`` canvas of zeros (offset ``(size - h) // 2``)."""
    x4, _ = _images(images, "images")
    size = _int(size, "size", max(x4.shape[2:]))
    top, left = (size - x4.shape[2]) // 2, (size - x4.shape[3]) // 2
    canvas = x4.new_zeros(*x4.shape[:2], size, size)
    canvas[..., top:top + x4.shape[2], left:left + x4.shape[3]] = x4
    return canvas


def vacated(height: int, width: int, dy: int, dx: int) -> torch.Tensor:
    """A (height, width) bool mask, True on the strip that ``shift2d(·, dy, dx)`` fills with zeros."""
    return shift2d(torch.ones(_int(height, "height", 1), _int(width, "width", 1)), dy, dx) == 0


def relative_change(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    r"""$\lVert a - b \rVert_2 / \lVert b \rVert_2$ over the last two dimensions: one number per map (0 where both are 0)."""
    diff = torch.linalg.vector_norm(a - b, dim=(-2, -1))
    return diff / torch.linalg.vector_norm(b, dim=(-2, -1)).clamp_min(1e-12)


def shift_study(conv: nn.Conv2d, canvas: torch.Tensor, max_shift: int = 3,
                pools: Sequence[int] = (2, 4)) -> dict[tuple[int, int], dict]:
    r"""For every shift $|d_y|, |d_x| \le$ ``max_shift``, compare $m_d = \mathrm{ReLU}(\mathrm{conv}(\mathrm{shift}_d(x)))$ with $m_0$, per (image, channel).

    Each entry holds ``"off_strip"`` / ``"whole"``: max $|\mathrm{shift}_{-d}(m_d) - m_0|$ away from the strip that
    shifting back fills with zeros / over the whole map; ``"global_max"``: $|\max m_d - \max m_0|$;
    ``"change"``: {1: relative change of the map, k: of its k x k max-pooled version}.
    """
    if not isinstance(conv, nn.Conv2d):
        raise TypeError(f"conv must be an nn.Conv2d, got {type(conv).__name__}")
    canvas, _ = _images(canvas, "canvas")
    max_shift = _int(max_shift, "max_shift", 0)
    h, w = canvas.shape[2:]
    study = {}
    with torch.no_grad():
        base = torch.relu(conv(canvas))
        for dy in range(-max_shift, max_shift + 1):
            for dx in range(-max_shift, max_shift + 1):
                maps = torch.relu(conv(shift2d(canvas, dy, dx)))
                diff = (shift2d(maps, -dy, -dx) - base).abs()
                keep = ~vacated(h, w, -dy, -dx)
                study[dy, dx] = {
                    "off_strip": diff[..., keep].amax(dim=-1) if keep.any() else torch.zeros(diff.shape[:2]),
                    "whole": diff.amax(dim=(-2, -1)),
                    "global_max": (maps.amax(dim=(-2, -1)) - base.amax(dim=(-2, -1))).abs(),
                    "change": {1: relative_change(maps, base),
                               **{k: relative_change(max_pool2d(maps, k), max_pool2d(base, k)) for k in pools}},
                }
    return study
