"""Chapter 3: parameter initialisation, written from the formulas. (Figures and panels: ``helpers.panels.init``.)

The formulas here are the ones ``torch.nn.init`` uses (tests compare them with PyTorch):
fan_in / fan_out from a weight's shape, the Kaiming (He) and Xavier (Glorot) std and
uniform bounds, the ReLU moments behind Kaiming's factor 2, and a deep MLP whose
forward signal and backward gradient we follow layer by layer.
"""
from __future__ import annotations

import functools
import math
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from .activations import FUNCTIONS
from .checks import integer, non_negative, one_of, positive, real

__all__ = [
    "fan_in_fan_out", "kaiming_std", "kaiming_bound", "xavier_std", "xavier_bound", "uniform_variance",
    "relu_second_moment", "relu_variance", "INIT_METHODS", "init_distribution", "apply_init",
    "deep_signal_stats", "predicted_signal_std", "sample_init", "MAX_DEPTH", "MAX_WIDTH", "init_std", "depth_inputs",
    "depth_stats", "worst_gap", "random_net_gap",
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
    return integer(value, name, minimum=1)


def _check_gain(gain) -> float:
    return positive(gain, "gain")


def _weight_of(weight_or_module) -> torch.Tensor:
    """The weight of an nn.Linear / nn.ConvNd, or the tensor itself; it must have >= 2 dims (out, in, *kernel)."""
    w = weight_or_module.weight if isinstance(weight_or_module, (nn.Linear, *_CONV_TYPES)) else weight_or_module
    if not isinstance(w, torch.Tensor):
        raise TypeError(f"weight_or_module must be a tensor, nn.Linear or nn.Conv1d/2d/3d, got {type(w).__name__}")
    if w.dim() < 2:
        raise ValueError(f"weight_or_module must have at least 2 dimensions (out, in, *kernel), got shape {tuple(w.shape)}")
    return w


# ----------------------------------------------------------------------------- fans and formulas
def fan_in_fan_out(weight_or_module: torch.Tensor | nn.Module) -> tuple[int, int]:
    r"""$fan_{in} = C_{in}\prod k_i$, $fan_{out} = C_{out}\prod k_i$ from a weight of shape $(C_{out}, C_{in}, k_1, \dots)$."""
    w = _weight_of(weight_or_module)
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
    real(low, "low"), real(high, "high")
    if not low < high:
        raise ValueError(f"need low < high, got low={low}, high={high}")
    return (high - low) ** 2 / 12.0


def _check_sigma(sigma) -> float:
    return non_negative(sigma, "sigma")


def relu_second_moment(sigma: float = 1.0) -> float:
    r"""$E[\mathrm{ReLU}(z)^2] = \sigma^2/2$ for $z \sim N(0, \sigma^2)$: what ReLU halves."""
    return _check_sigma(sigma) ** 2 / 2.0


def relu_variance(sigma: float = 1.0) -> float:
    r"""$\mathrm{Var}[\mathrm{ReLU}(z)] = (\tfrac12 - \tfrac{1}{2\pi})\sigma^2 \approx 0.34\,\sigma^2$ for $z \sim N(0, \sigma^2)$."""
    mean = _check_sigma(sigma) / math.sqrt(2 * math.pi)  # E[ReLU(z)] = sigma / sqrt(2 pi)
    return relu_second_moment(sigma) - mean**2


# ----------------------------------------------------------------------------- init methods
def _check_method(method: str) -> str:
    return one_of(method, sorted(set(INIT_METHODS.values())), "method")


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
    """``(f, f')`` for an activation name: the table of ``helpers.activations``, plus the identity."""
    if name == "linear":
        return (lambda z: z), torch.ones_like
    if name not in FUNCTIONS:
        raise ValueError(f"activation must be one of {list(ACTIVATIONS)}, got {name!r}")
    return FUNCTIONS[name]


def _forward(x: torch.Tensor, weights: Sequence[torch.Tensor], f: Callable, scale: float) -> tuple[list, list]:
    r"""$z_k = s\,h_{k-1}W_k^\top$, $h_k = f(z_k)$: the pre-activations $z_k$ and $\mathrm{std}(h_k)$ per layer."""
    h, zs, act_std = x, [], []
    for w in weights:
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


def _check_stack(x, weights, upstream) -> tuple[int, int]:
    """x is (batch, features), the weights chain (out, in) shapes from it, upstream (if given) has the output's shape."""
    if not isinstance(x, torch.Tensor) or x.dim() != 2:
        raise ValueError(f"x must be a 2-D tensor (batch, features), got {getattr(x, 'shape', type(x).__name__)}")
    if len(weights) == 0:
        raise ValueError("weights must hold at least one layer")
    width = x.shape[1]
    for k, w in enumerate(weights):
        if w.dim() != 2 or w.shape[1] != width:
            raise ValueError(f"weights[{k}] must have shape (out, {width}), got {tuple(w.shape)}")
        width = w.shape[0]
    if upstream is not None and tuple(upstream.shape) != (x.shape[0], width):
        raise ValueError(f"upstream must have the output's shape {(x.shape[0], width)}, got {tuple(upstream.shape)}")
    return x.shape[0], width


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
    (f, df), out_shape = _activation(activation), _check_stack(x, weights, upstream)
    with torch.no_grad():
        zs, act_std = _forward(x, weights, f, scale)
        grad = torch.randn(out_shape) if upstream is None else upstream
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




def sample_init(method: str, fan_in: int, fan_out: int, n_min: int = 8192, seed: int = 0) -> torch.Tensor:
    """At least ``n_min`` weights from ``nn.init`` for (fan_out, fan_in) layers: as many whole layers as needed."""
    _check_method(method)
    fan_in, fan_out, n_min = _check_fan(fan_in, "fan_in"), _check_fan(fan_out, "fan_out"), _check_fan(n_min, "n_min")
    layers = math.ceil(n_min / (fan_in * fan_out))
    g = torch.Generator().manual_seed(seed)
    w = torch.empty(layers, fan_out, fan_in)
    for i in range(layers):
        apply_init(w[i], method, generator=g)
    return w.flatten()


# ----------------------------------------------------------------------------- the depth experiment, cached
MAX_DEPTH, MAX_WIDTH, DEPTH_BATCH = 50, 512, 32     # the largest network the depth experiment builds, its batch


def init_std(method: str, fan_in: int, fan_out: int) -> float:
    r"""Std of the weights ``method`` draws: $\sigma$ for a normal init, $(h - l)/\sqrt{12}$ for a uniform one."""
    kind, a, b = init_distribution(method, fan_in, fan_out)
    return b if kind == "normal" else math.sqrt(uniform_variance(a, b))


@functools.lru_cache(maxsize=2)
def _unit_weights(kind: str) -> torch.Tensor:
    """MAX_DEPTH fixed (MAX_WIDTH, MAX_WIDTH) matrices with unit variance, N(0, 1) or U(-sqrt 3, sqrt 3); layers are slices."""
    g = torch.Generator().manual_seed(3 if kind == "normal" else 4)
    shape = (MAX_DEPTH, MAX_WIDTH, MAX_WIDTH)
    if kind == "normal":
        return torch.randn(shape, generator=g)
    return (torch.rand(shape, generator=g) * 2 - 1) * math.sqrt(3.0)


def depth_inputs(width: int, method: str) -> tuple[torch.Tensor, torch.Tensor, list, float]:
    """The fixed batch, upstream gradient and MAX_DEPTH unit-variance layers of one width, and the init's std $s$."""
    kind = init_distribution(method, width, width)[0]
    g = torch.Generator().manual_seed(5)
    x = torch.randn(DEPTH_BATCH, MAX_WIDTH, generator=g)[:, :width]
    upstream = torch.randn(DEPTH_BATCH, MAX_WIDTH, generator=g)[:, :width]
    layers = [w[:width, :width] for w in _unit_weights(kind)]
    return x, upstream, layers, init_std(method, width, width)


@functools.lru_cache(maxsize=6)
def _depth_forward(width: int, method: str, activation: str) -> tuple[list, np.ndarray]:
    """Forward through all MAX_DEPTH layers once per (width, init, activation); a shallower net is a prefix."""
    x, _, layers, std = depth_inputs(width, method)
    with torch.no_grad():
        zs, act_std = _forward(x, layers, _activation(activation)[0], std)
    return zs, np.array(act_std)


@functools.lru_cache(maxsize=256)
def depth_stats(depth: int, width: int, method: str, activation: str) -> tuple[np.ndarray, np.ndarray]:
    """``deep_signal_stats`` on the fixed layers of ``depth_inputs``, cached: forward once per net, backward from ``depth``."""
    integer(depth, "depth", 1, MAX_DEPTH), integer(width, "width", 1, MAX_WIDTH)
    zs, act_std = _depth_forward(width, method, activation)
    _, upstream, layers, std = depth_inputs(width, method)
    with torch.no_grad():
        grad_std = _backward(zs[:depth], layers[:depth], _activation(activation)[1], std, upstream)
    return act_std[:depth], np.array(grad_std)


def worst_gap(act: np.ndarray, grad: np.ndarray, width: int, method: str) -> float:
    r"""Largest factor between a measured std and ``predicted_signal_std`` (ReLU): $10^{\max_k |\log_{10}(m_k/t_k)|}$."""
    theory = predicted_signal_std(len(act), width, init_std(method, width, width), "relu")
    return float(10 ** max(np.abs(np.log10(m / t)).max() for m, t in zip((act, grad), theory)))


def random_net_gap(width: int, depth: int, seed: int) -> float:
    """``worst_gap`` of a fresh Kaiming-normal ReLU net of ``depth`` square layers drawn with ``seed``."""
    g = torch.Generator().manual_seed(integer(seed, "seed", 0))
    layers = [torch.randn(width, width, generator=g) * kaiming_std(width) for _ in range(integer(depth, "depth", 1))]
    x, upstream = (torch.randn(DEPTH_BATCH, width, generator=g) for _ in range(2))
    return worst_gap(*deep_signal_stats(x, layers, "relu", upstream=upstream), width, "kaiming_normal")
