"""Chapter 3: parameter initialisation, written from the formulas, and the chapter's panels.

The formulas here are the ones ``torch.nn.init`` uses (tests compare them with PyTorch):
fan_in / fan_out from a weight's shape, the Kaiming (He) and Xavier (Glorot) std and
uniform bounds, the ReLU moments behind Kaiming's factor 2, and a deep MLP whose
forward signal and backward gradient we follow layer by layer.
"""
from __future__ import annotations

import functools
import math
import numbers
from typing import Callable, Sequence

from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator, NullLocator
import numpy as np
import torch
from torch import nn

from .panels import Panel, dropdown, int_slider, one_thread, register
from .plotting import COLORS, new_figure

__all__ = [
    "fan_in_fan_out", "kaiming_std", "kaiming_bound", "xavier_std", "xavier_bound", "uniform_variance",
    "relu_second_moment", "relu_variance", "INIT_METHODS", "init_distribution", "apply_init",
    "deep_signal_stats", "predicted_signal_std", "sample_init", "layer_std_figure", "init_gallery_figure", "depth_panel", "init_histogram_panel",
]

_CONV_TYPES = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")

# label shown in dropdowns -> method name used by init_distribution / apply_init
INIT_METHODS: dict[str, str] = {
    "kaiming_normal_ (relu)": "kaiming_normal",
    "kaiming_uniform_ (relu)": "kaiming_uniform",
    "xavier_normal_": "xavier_normal",
    "xavier_uniform_": "xavier_uniform",
    "nn.Linear default": "linear_default",
    "normal_(std=0.01)": "normal_0.01",
    "normal_() = N(0, 1)": "normal_1",
    "uniform_() = U(0, 1)": "uniform_default",
}


# ----------------------------------------------------------------------------- input checks
def _check_fan(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} ({value!r})")
    if value <= 0:
        raise ValueError(f"{name} must be a positive int (>= 1), got {value}")
    return int(value)


def _check_gain(gain) -> float:
    if isinstance(gain, bool) or not isinstance(gain, numbers.Real):
        raise TypeError(f"gain must be a real number, got {type(gain).__name__} ({gain!r})")
    if not math.isfinite(gain) or gain <= 0:
        raise ValueError(f"gain must be a finite number > 0, got {gain}")
    return float(gain)


# ----------------------------------------------------------------------------- fans and formulas
def fan_in_fan_out(weight_or_module: torch.Tensor | nn.Module) -> tuple[int, int]:
    r"""$fan_{in} = C_{in}\prod k_i$, $fan_{out} = C_{out}\prod k_i$ from a weight of shape $(C_{out}, C_{in}, k_1, \dots)$."""
    w = weight_or_module
    if isinstance(w, (nn.Linear, *_CONV_TYPES)):
        w = w.weight
    elif isinstance(w, nn.Module):
        raise TypeError(f"weight_or_module must be a tensor, nn.Linear or nn.Conv1d/2d/3d, got {type(w).__name__}")
    if not isinstance(w, torch.Tensor):
        raise TypeError(f"weight_or_module must be a tensor, nn.Linear or nn.Conv1d/2d/3d, got {type(w).__name__}")
    if w.dim() < 2:
        raise ValueError(f"weight_or_module must have at least 2 dimensions (out, in, *kernel), got shape {tuple(w.shape)}")
    receptive_field = math.prod(w.shape[2:])  # kernel_h * kernel_w for Conv2d, 1 for Linear
    return w.shape[1] * receptive_field, w.shape[0] * receptive_field


def kaiming_std(fan_in: int, gain: float = math.sqrt(2)) -> float:
    r"""$\sigma = \mathrm{gain}/\sqrt{fan_{in}}$, i.e. $\sqrt{2/fan_{in}}$ for ReLU (``kaiming_normal_``)."""
    return _check_gain(gain) / math.sqrt(_check_fan(fan_in, "fan_in"))


def kaiming_bound(fan_in: int, gain: float = math.sqrt(2)) -> float:
    r"""$a = \mathrm{gain}\sqrt{3/fan_{in}}$, i.e. $\sqrt{6/fan_{in}}$ for ReLU (``kaiming_uniform_`` samples $U(-a, a)$)."""
    return math.sqrt(3.0) * kaiming_std(fan_in, gain)


def xavier_std(fan_in: int, fan_out: int, gain: float = 1.0) -> float:
    r"""$\sigma = \mathrm{gain}\sqrt{2/(fan_{in} + fan_{out})}$ (``xavier_normal_``)."""
    fans = _check_fan(fan_in, "fan_in") + _check_fan(fan_out, "fan_out")
    return _check_gain(gain) * math.sqrt(2.0 / fans)


def xavier_bound(fan_in: int, fan_out: int, gain: float = 1.0) -> float:
    r"""$a = \mathrm{gain}\sqrt{6/(fan_{in} + fan_{out})}$ (``xavier_uniform_`` samples $U(-a, a)$)."""
    return math.sqrt(3.0) * xavier_std(fan_in, fan_out, gain)


def uniform_variance(low: float, high: float) -> float:
    r"""$\mathrm{Var}\,U(l, h) = (h - l)^2 / 12$; for $U(-a, a)$ this is $a^2/3$."""
    for name, v in (("low", low), ("high", high)):
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
            raise TypeError(f"{name} must be a finite real number, got {v!r}")
    if not low < high:
        raise ValueError(f"need low < high, got low={low}, high={high}")
    return (high - low) ** 2 / 12.0


def _check_sigma(sigma) -> float:
    if isinstance(sigma, bool) or not isinstance(sigma, numbers.Real):
        raise TypeError(f"sigma must be a real number, got {type(sigma).__name__} ({sigma!r})")
    if not (sigma >= 0 and math.isfinite(sigma)):
        raise ValueError(f"sigma must be a finite number >= 0, got {sigma}")
    return float(sigma)


def relu_second_moment(sigma: float = 1.0) -> float:
    r"""$E[\mathrm{ReLU}(z)^2] = \sigma^2/2$ for $z \sim N(0, \sigma^2)$: what ReLU halves."""
    return _check_sigma(sigma) ** 2 / 2.0


def relu_variance(sigma: float = 1.0) -> float:
    r"""$\mathrm{Var}[\mathrm{ReLU}(z)] = (\tfrac12 - \tfrac{1}{2\pi})\sigma^2 \approx 0.34\,\sigma^2$ for $z \sim N(0, \sigma^2)$."""
    mean = _check_sigma(sigma) / math.sqrt(2 * math.pi)  # E[ReLU(z)] = sigma / sqrt(2 pi)
    return relu_second_moment(sigma) - mean**2


# ----------------------------------------------------------------------------- init methods
def _check_method(method: str) -> str:
    methods = set(INIT_METHODS.values())
    if method not in methods:
        raise ValueError(f"method must be one of {sorted(methods)}, got {method!r}")
    return method


def init_distribution(method: str, fan_in: int, fan_out: int) -> tuple[str, float, float]:
    """What ``method`` samples for a layer with these fans: ``("normal", mean, std)`` or ``("uniform", low, high)``."""
    _check_method(method)
    fan_in, fan_out = _check_fan(fan_in, "fan_in"), _check_fan(fan_out, "fan_out")
    if method == "kaiming_normal":
        return "normal", 0.0, kaiming_std(fan_in)
    if method == "kaiming_uniform":
        return "uniform", -kaiming_bound(fan_in), kaiming_bound(fan_in)
    if method == "xavier_normal":
        return "normal", 0.0, xavier_std(fan_in, fan_out)
    if method == "xavier_uniform":
        return "uniform", -xavier_bound(fan_in, fan_out), xavier_bound(fan_in, fan_out)
    if method == "linear_default":  # kaiming_uniform_(a=sqrt(5)): gain = sqrt(2 / (1 + 5)), bound = 1/sqrt(fan_in)
        bound = kaiming_bound(fan_in, gain=math.sqrt(2.0 / (1.0 + 5.0)))
        return "uniform", -bound, bound
    if method == "normal_0.01":
        return "normal", 0.0, 0.01
    if method == "normal_1":
        return "normal", 0.0, 1.0
    return "uniform", 0.0, 1.0  # uniform_default: nn.init.uniform_ with a=0, b=1


def apply_init(weight: torch.Tensor, method: str, generator: torch.Generator | None = None) -> torch.Tensor:
    """Fill ``weight`` in place with the real ``torch.nn.init`` call for ``method``; return it."""
    _check_method(method)
    if not isinstance(weight, torch.Tensor) or weight.dim() < 2:
        raise ValueError(f"weight must be a tensor with at least 2 dimensions, got {weight!r:.60}")
    calls: dict[str, Callable[[], torch.Tensor]] = {
        "kaiming_normal": lambda: nn.init.kaiming_normal_(weight, nonlinearity="relu", generator=generator),
        "kaiming_uniform": lambda: nn.init.kaiming_uniform_(weight, nonlinearity="relu", generator=generator),
        "xavier_normal": lambda: nn.init.xavier_normal_(weight, generator=generator),
        "xavier_uniform": lambda: nn.init.xavier_uniform_(weight, generator=generator),
        "linear_default": lambda: nn.init.kaiming_uniform_(weight, a=math.sqrt(5), generator=generator),
        "normal_0.01": lambda: nn.init.normal_(weight, 0.0, 0.01, generator=generator),
        "normal_1": lambda: nn.init.normal_(weight, generator=generator),
        "uniform_default": lambda: nn.init.uniform_(weight, generator=generator),
    }
    return calls[method]()


# ----------------------------------------------------------------------------- a deep MLP, by hand
def _activation(name: str) -> tuple[Callable, Callable]:
    """``(f, f')`` for an activation name, the derivative written in terms of the pre-activation z."""
    if name == "relu":
        return torch.relu, lambda z: (z > 0).to(z.dtype)
    if name == "tanh":
        return torch.tanh, lambda z: 1.0 - torch.tanh(z) ** 2
    if name == "sigmoid":
        return torch.sigmoid, lambda z: torch.sigmoid(z) * (1.0 - torch.sigmoid(z))
    if name == "linear":
        return (lambda z: z), torch.ones_like
    raise ValueError(f"activation must be one of {list(ACTIVATIONS)}, got {name!r}")


def _forward(x: torch.Tensor, weights: Sequence[torch.Tensor], f: Callable, scale: float) -> tuple[list, list]:
    r"""$z_k = s\,h_{k-1}W_k^\top$, $h_k = f(z_k)$: the pre-activations $z_k$ and $\mathrm{std}(h_k)$ per layer."""
    h, zs, act_std = x, [], []
    for k, w in enumerate(weights):
        if w.dim() != 2 or w.shape[1] != h.shape[1]:
            raise ValueError(f"weights[{k}] must have shape (out, {h.shape[1]}), got {tuple(w.shape)}")
        z = (h @ w.T) * scale
        h = f(z)
        zs.append(z)
        act_std.append(h.std().item())
    return zs, act_std


def _backward(zs: list, weights: Sequence[torch.Tensor], df: Callable, scale: float, grad: torch.Tensor) -> list:
    r"""$\partial L/\partial z_k = (\partial L/\partial h_k) \odot f'(z_k)$, $\partial L/\partial h_{k-1} = s\,(\partial L/\partial z_k) W_k$; $\mathrm{std}(\partial L/\partial z_k)$ per layer."""
    grad_std = [0.0] * len(zs)
    for k in reversed(range(len(zs))):
        dz = grad * df(zs[k])
        grad_std[k] = dz.std().item()
        grad = (dz @ weights[k]) * scale
    return grad_std


def deep_signal_stats(
    x: torch.Tensor,
    weights: Sequence[torch.Tensor],
    activation: str = "relu",
    *,
    scale: float = 1.0,
    upstream: torch.Tensor | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Forward $h_k = f(s\,h_{k-1}W_k^\top)$, backprop $L = \sum g \odot h_L$; return $\mathrm{std}(h_k)$ and $\mathrm{std}(\partial L/\partial z_k)$, $k = 1..L$.

    ``weights`` are the layers' matrices (shape (out, in), no bias), ``scale`` $s$ multiplies every
    one of them, ``upstream`` is $g = \partial L/\partial h_L$ (standard normal noise when None).
    Forward and backward are written out by hand; the tests compare them with autograd.
    """
    f, df = _activation(activation)
    if not isinstance(x, torch.Tensor) or x.dim() != 2:
        raise ValueError(f"x must be a 2-D tensor (batch, features), got {getattr(x, 'shape', type(x).__name__)}")
    if len(weights) == 0:
        raise ValueError("weights must hold at least one layer")
    with torch.no_grad():
        zs, act_std = _forward(x, weights, f, scale)
        out_shape = zs[-1].shape
        grad = torch.randn(out_shape) if upstream is None else upstream
        if grad.shape != out_shape:
            raise ValueError(f"upstream must have the output's shape {tuple(out_shape)}, got {tuple(grad.shape)}")
        grad_std = _backward(zs, weights, df, scale, grad)
    return np.array(act_std), np.array(grad_std)


def predicted_signal_std(depth: int, fan_in: int, weight_std: float, activation: str = "relu") -> tuple[np.ndarray, np.ndarray]:
    r"""Mean-field prediction for ``deep_signal_stats`` (input and $g$ standard normal, square layers of width $n$).

    ReLU: $\mathrm{Var}(z_1) = n\sigma_w^2$, $\mathrm{Var}(z_k) = \tfrac12 n\sigma_w^2\,\mathrm{Var}(z_{k-1})$ (the second moment
    halves), $\mathrm{std}(h_k) = \sqrt{(\tfrac12 - \tfrac1{2\pi})\mathrm{Var}(z_k)}$; backward
    $\mathrm{Var}(\partial L/\partial z_k) = \tfrac12(\tfrac12 n\sigma_w^2)^{L-k}$. Linear: the factors are $n\sigma_w^2$ and 1.
    """
    depth, fan_in = _check_fan(depth, "depth"), _check_fan(fan_in, "fan_in")
    if activation not in ("relu", "linear"):
        raise ValueError(f"a closed form exists for activation 'relu' or 'linear' only, got {activation!r}")
    k = np.arange(1, depth + 1)
    gain = fan_in * weight_std**2  # Var(z) / E[h^2] of the previous layer
    if activation == "linear":
        return np.sqrt(gain**k), np.sqrt(gain ** (depth - k))
    var_z = gain * (gain / 2) ** (k - 1.0)
    act = np.sqrt((0.5 - 1 / (2 * math.pi)) * var_z)
    grad = np.sqrt(0.5 * (gain / 2) ** (depth - k))
    return act, grad


def layer_std_figure(curves: dict[str, Sequence[float]], title: str, ylabel: str = "std of h_k"):
    """A static figure: one log-scale line per init, std against the layer index (non-finite points left out)."""
    fig, ax = new_figure((6.4, 3.4))
    for i, (name, values) in enumerate(curves.items()):
        v = np.asarray(values, dtype=float)
        k = np.arange(1, len(v) + 1)
        ok = np.isfinite(v) & (v > 0)
        ax.plot(k[ok], v[ok], label=name, color=list(COLORS.values())[i % len(COLORS)])
        if not ok.all():
            first = int(np.flatnonzero(~ok)[0])
            ax.plot([k[first - 1] if first else 1], [v[first - 1] if first else 1], "x", ms=9, color="black")
    ax.set(yscale="log", xlabel="layer k", ylabel=ylabel, title=title)
    ax.axhline(1.0, color="black", lw=0.7)
    ax.legend(fontsize=8, loc="best")
    return fig


def init_gallery_figure(fan_in: int, fan_out: int, seed: int = 0):
    """A static grid: a histogram of weights from every method in ``INIT_METHODS`` with its theoretical density."""
    fig, axes = new_figure((10.0, 4.4), nrows=2, ncols=4, constrained=False)
    fig.subplots_adjust(left=0.02, right=0.99, bottom=0.07, top=0.86, wspace=0.08, hspace=0.45)
    for ax, (label, method) in zip(axes.flat, INIT_METHODS.items()):
        kind, a, b = init_distribution(method, fan_in, fan_out)
        lo, hi = _support(kind, a, b)
        counts, edges = np.histogram(sample_init(method, fan_in, fan_out, seed=seed).numpy(), _HIST_BINS, (lo, hi),
                                     density=True)
        ax.stairs(counts, edges, fill=True, color=COLORS["main"], alpha=0.5)
        x = np.linspace(lo, hi, 301)
        if kind == "normal":
            ax.plot(x, np.exp(-0.5 * ((x - a) / b) ** 2) / (b * math.sqrt(2 * math.pi)), color=COLORS["grad"])
        else:
            ax.plot([lo, a, a, b, b, hi], [0, 0, 1 / (b - a), 1 / (b - a), 0, 0], color=COLORS["grad"])
        ax.set_title(label, fontsize=9)
        ax.set_yticks([])
        ax.set_xticks([round(v, 3) for v in (lo, (lo + hi) / 2, hi)])
        ax.tick_params(labelsize=7)
    fig.suptitle(f"weights from nn.init (histogram) vs theory (red), fan_in={fan_in}, fan_out={fan_out}", fontsize=10)
    return fig


# ----------------------------------------------------------------------------- panels
MAX_DEPTH, MAX_WIDTH, BATCH = 50, 512, 32
Y_LIMITS = (1e-12, 1e12)


@functools.lru_cache(maxsize=2)
def _unit_weights(kind: str) -> torch.Tensor:
    """MAX_DEPTH fixed matrices with unit variance: N(0, 1) or U(-sqrt 3, sqrt 3); layers are slices of these."""
    g = torch.Generator().manual_seed(3 if kind == "normal" else 4)
    shape = (MAX_DEPTH, MAX_WIDTH, MAX_WIDTH)
    if kind == "normal":
        return torch.randn(shape, generator=g)
    return (torch.rand(shape, generator=g) * 2 - 1) * math.sqrt(3.0)


def _panel_inputs(width: int, method: str) -> tuple[torch.Tensor, torch.Tensor, list, float]:
    """The fixed batch, upstream gradient and MAX_DEPTH layers of a width, plus the init's weight std."""
    kind, a, b = init_distribution(method, width, width)
    std = b if kind == "normal" else math.sqrt(uniform_variance(a, b))
    g = torch.Generator().manual_seed(5)
    x = torch.randn(BATCH, MAX_WIDTH, generator=g)[:, :width]
    upstream = torch.randn(BATCH, MAX_WIDTH, generator=g)[:, :width]
    base = _unit_weights(kind)
    return x, upstream, [base[k, :width, :width] for k in range(MAX_DEPTH)], std


@functools.lru_cache(maxsize=6)
def _panel_forward(width: int, method: str, activation: str) -> tuple[list, np.ndarray]:
    """Forward through all MAX_DEPTH layers once per (width, init, activation); a shallower net is a prefix."""
    x, _, layers, std = _panel_inputs(width, method)
    with one_thread(), torch.no_grad():
        zs, act_std = _forward(x, layers, _activation(activation)[0], std)
    return zs, np.array(act_std)


@functools.lru_cache(maxsize=256)
def _panel_stats(depth: int, width: int, method: str, activation: str) -> tuple[np.ndarray, np.ndarray]:
    """``deep_signal_stats`` for the panel: cached forward prefix, backward from layer ``depth``."""
    zs, act_std = _panel_forward(width, method, activation)
    _, upstream, layers, std = _panel_inputs(width, method)
    with one_thread(), torch.no_grad():
        grad_std = _backward(zs[:depth], layers[:depth], _activation(activation)[1], std, upstream)
    return act_std[:depth], np.array(grad_std)


def _first_layer(mask: np.ndarray) -> int | None:
    hits = np.flatnonzero(mask)
    return int(hits[0]) + 1 if hits.size else None


def _describe(values: np.ndarray, order: slice = slice(None)) -> str:
    """A readout: where the curve leaves the chart or stops being a number ("" when it never does)."""
    v = values[order]
    k = np.arange(1, len(values) + 1)[order]
    parts = []
    for what, mask in (("inf/nan", ~np.isfinite(v)), (f"> {Y_LIMITS[1]:.0e}", np.isfinite(v) & (v > Y_LIMITS[1])),
                       (f"< {Y_LIMITS[0]:.0e}", v < Y_LIMITS[0])):
        first = _first_layer(mask)
        if first is not None:
            parts.append(f"{what} at layer {k[first - 1]}")
    return "\n" + "; ".join(parts) if parts else ""  # short text: each glyph costs time per frame


@register
def depth_panel(depth: int = 30, width: int = 256, init: str = "kaiming_normal", activation: str = "relu") -> Panel:
    """Per-layer activation std (forward) and gradient std (backward) of a deep MLP vs depth, width, init, activation."""
    controls = {
        "depth": int_slider("depth", 1, MAX_DEPTH, depth),
        "width": int_slider("width", 16, MAX_WIDTH, width, step=16),
        "init": dropdown("init", [(lab, m) for lab, m in INIT_METHODS.items() if m != "uniform_default"], init),
        "activation": dropdown("activation", list(ACTIVATIONS), activation),
    }

    def setup(fig):
        ax_fwd, ax_bwd = fig.subplots(1, 2, sharey=True)
        for ax, title in ((ax_fwd, "forward: std of h_k"), (ax_bwd, "backward: std of dL/dz_k")):
            ax.set(yscale="log", ylim=Y_LIMITS, xlim=(0, MAX_DEPTH + 1), xlabel="layer k", title=title)
            ax.axhline(1.0, color="black", lw=0.7)
            ax.set_yticks([10.0**e for e in range(-12, 13, 4)])
            ax.yaxis.set_minor_locator(NullLocator())  # fewer tick artists: faster blits
        ax_fwd.set_ylabel("std (log scale, clipped)")
        art = {}
        for name, ax, color in (("fwd", ax_fwd, COLORS["main"]), ("bwd", ax_bwd, COLORS["grad"])):
            art[name] = ax.plot([], [], ".-", ms=3, lw=1.5, color=color, zorder=3, animated=True)[0]
            art[name + "_theory"] = ax.plot([], [], "--", lw=1, color="black", zorder=3, animated=True)[0]
            art[name + "_text"] = ax.text(0.03, 0.03, "", transform=ax.transAxes, fontsize=8, va="bottom",
                                          family="monospace", animated=True)
        ax_fwd.legend(handles=[Line2D([], [], marker=".", color=COLORS["main"], label="measured"),
                               Line2D([], [], ls="--", lw=1, color="black", label="theory")],
                      loc="upper left", fontsize=8).set_zorder(2)  # under the curves, in full draws and blits alike

        def update(depth: int, width: int, init: str, activation: str) -> None:
            depth, width = int(depth), int(width)
            act, grad = _panel_stats(depth, width, init, activation)
            k = np.arange(1, depth + 1)
            for name, values in (("fwd", act), ("bwd", grad)):
                shown = np.clip(np.nan_to_num(values, nan=Y_LIMITS[1], posinf=Y_LIMITS[1]), *Y_LIMITS)
                art[name].set_data(k, shown)
            has_theory = activation in ("relu", "linear")
            if has_theory:
                kind, a, b = init_distribution(init, width, width)
                std = b if kind == "normal" else math.sqrt(uniform_variance(a, b))
                with np.errstate(over="ignore", under="ignore"):
                    theory = predicted_signal_std(depth, width, std, activation)
                for name, values in zip(("fwd_theory", "bwd_theory"), theory):
                    art[name].set_data(k, np.clip(values, *Y_LIMITS))
            art["fwd_theory"].set_visible(has_theory)
            art["bwd_theory"].set_visible(has_theory)
            art["fwd_text"].set_text(f"layer {depth}: {act[-1]:.1e}{_describe(act)}")
            broken = _first_layer(~np.isfinite(act))  # the loss is nan: backprop has nothing to say
            art["bwd"].set_visible(broken is None)
            art["bwd_text"].set_text(f"layer 1: {grad[0]:.1e}{_describe(grad, slice(None, None, -1))}" if broken is None
                                     else f"forward overflowed at layer {broken}:\nloss is nan, no usable gradient")

        return update

    return Panel(controls, setup, figsize=(8.0, 3.4), kind="training")


_HIST_SAMPLES, _HIST_BINS, _FAN_MIN, _FAN_MAX = 8192, 52, 8, 256  # 52 bins: a uniform box spans bins 6..46 exactly


def _support(kind: str, a: float, b: float) -> tuple[float, float]:
    """The x-range a histogram of this distribution covers: mean ± 4 std, or the box plus a margin."""
    if kind == "normal":
        return a - 4 * b, a + 4 * b
    pad = 0.15 * (b - a)
    return a - pad, b + pad


_LABELS = {method: label for label, method in INIT_METHODS.items()}
_FORMULAS = {
    "kaiming_normal": "std = sqrt(2 / fan_in)", "kaiming_uniform": "bound = sqrt(6 / fan_in)",
    "xavier_normal": "std = sqrt(2 / (fan_in + fan_out))", "xavier_uniform": "bound = sqrt(6 / (fan_in + fan_out))",
    "linear_default": "bound = 1 / sqrt(fan_in)", "normal_0.01": "std = 0.01, no fan", "normal_1": "std = 1, no fan",
    "uniform_default": "[0, 1), no fan",
}


def _peak_density(kind: str, a: float, b: float) -> float:
    return 1 / (b * math.sqrt(2 * math.pi)) if kind == "normal" else 1 / (b - a)


def sample_init(method: str, fan_in: int, fan_out: int, n_min: int = _HIST_SAMPLES, seed: int = 0) -> torch.Tensor:
    """At least ``n_min`` weights from ``nn.init`` for (fan_out, fan_in) layers: as many whole layers as needed."""
    _check_method(method)
    fan_in, fan_out, n_min = _check_fan(fan_in, "fan_in"), _check_fan(fan_out, "fan_out"), _check_fan(n_min, "n_min")
    layers = math.ceil(n_min / (fan_in * fan_out))
    g = torch.Generator().manual_seed(seed)
    w = torch.empty(layers, fan_out, fan_in)
    for i in range(layers):
        apply_init(w[i], method, generator=g)
    return w.flatten()


@register
def init_histogram_panel() -> Panel:
    """Histogram of weights drawn by an nn.init method for chosen fan_in / fan_out, with the theoretical density."""
    controls = {
        "fan_in": int_slider("fan_in", _FAN_MIN, _FAN_MAX, 64, step=8),
        "fan_out": int_slider("fan_out", _FAN_MIN, _FAN_MAX, 128, step=8),
        "method": dropdown("method", list(INIT_METHODS.items()), "kaiming_normal"),
    }

    def setup(fig):
        ax = fig.subplots()
        ax.set(ylabel="density", xlabel="weight value")
        hist = ax.stairs(np.zeros(_HIST_BINS), np.linspace(-1, 1, _HIST_BINS + 1), fill=True, alpha=0.45,
                         color=COLORS["main"], zorder=3, animated=True)
        (pdf,) = ax.plot([], [], color=COLORS["grad"], lw=2, zorder=3, animated=True)
        ax.legend(handles=[Patch(color=COLORS["main"], alpha=0.45, label="sampled by nn.init"),
                           Line2D([], [], color=COLORS["grad"], lw=2, label="theoretical density")],
                  loc="upper right", fontsize=8).set_zorder(2)
        text = ax.text(0.02, 0.97, "", transform=ax.transAxes, va="top", fontsize=8, family="monospace",
                       animated=True)

        def update(fan_in: int, fan_out: int, method: str) -> None:
            fan_in, fan_out = int(fan_in), int(fan_out)
            kind, a, b = init_distribution(method, fan_in, fan_out)
            # fixed axes per method: as wide as the smallest fans and as tall as the largest fans need
            lo, hi = _support(*init_distribution(method, _FAN_MIN, _FAN_MIN))
            top = 1.15 * _peak_density(*init_distribution(method, _FAN_MAX, _FAN_MAX))
            if ax.get_title() != (title := f"{_LABELS[method]}:  {_FORMULAS[method]}"):  # method changed
                ax.set(xlim=(lo, hi), ylim=(0, top), title=title,  # fixed ticks: cheap to look up per frame
                       xticks=MaxNLocator(7).tick_values(lo, hi), yticks=MaxNLocator(5).tick_values(0, top))
            s_lo, s_hi = _support(kind, a, b)
            with one_thread():
                w = sample_init(method, fan_in, fan_out)
                counts = torch.histc(w, _HIST_BINS, s_lo, s_hi).numpy()
            edges = np.linspace(s_lo, s_hi, _HIST_BINS + 1)
            hist.set_data(counts / (len(w) * (edges[1] - edges[0])), edges)
            x = np.linspace(s_lo, s_hi, 301)
            if kind == "normal":
                pdf.set_data(x, np.exp(-0.5 * ((x - a) / b) ** 2) / (b * math.sqrt(2 * math.pi)))
            else:
                pdf.set_data([s_lo, a, a, b, b, s_hi], [0, 0, 1 / (b - a), 1 / (b - a), 0, 0])
            # short on purpose: every glyph costs ~0.1 ms per frame; the theory is the red curve
            text.set_text(f"sample std {w.std():.4f}" if kind == "normal" else f"sample max {w.max():.4f}")

        return update

    return Panel(controls, setup, figsize=(6.4, 3.3))
