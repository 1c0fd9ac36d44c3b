"""Chapter 2: activation functions, written from their formulas. (Figures and panels: ``helpers.panels.activations``.)"""
from __future__ import annotations

import torch
from torch import nn

from .checks import instance, integer, non_negative, one_of, real

__all__ = [
    "sigmoid", "tanh", "relu", "softmax", "sigmoid_grad", "tanh_grad", "relu_grad",
    "entropy", "softmax_jacobian", "merge_linear", "dead_fraction", "layer_gradient_norms",
    "relu_step_preactivations",
]


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    r"""$\sigma(x) = \frac{1}{1 + e^{-x}}$."""
    instance(x, torch.Tensor, "x")
    return 1.0 / (1.0 + torch.exp(-x))


def sigmoid_grad(x: torch.Tensor) -> torch.Tensor:
    r"""$\sigma'(x) = \sigma(x)\,(1 - \sigma(x))$."""
    s = sigmoid(x)
    return s * (1.0 - s)


def tanh(x: torch.Tensor) -> torch.Tensor:
    r"""$\tanh(x) = \frac{e^{x} - e^{-x}}{e^{x} + e^{-x}}$ (computed as $(1 - e^{-2|x|})/(1 + e^{-2|x|})$ with the sign of $x$, so it never overflows)."""
    instance(x, torch.Tensor, "x")
    e = torch.exp(-2.0 * x.abs())
    return torch.sign(x) * (1.0 - e) / (1.0 + e)


def tanh_grad(x: torch.Tensor) -> torch.Tensor:
    r"""$\tanh'(x) = 1 - \tanh^2(x)$."""
    t = tanh(x)
    return 1.0 - t * t


def relu(x: torch.Tensor) -> torch.Tensor:
    r"""$\mathrm{ReLU}(x) = \max(0, x)$ (NaN stays NaN, as in PyTorch)."""
    instance(x, torch.Tensor, "x")
    return torch.maximum(x, torch.zeros_like(x))


def relu_grad(x: torch.Tensor) -> torch.Tensor:
    r"""$\mathrm{ReLU}'(x) = 1$ for $x > 0$, else $0$ (0 at $x = 0$, as in PyTorch)."""
    instance(x, torch.Tensor, "x")
    return (x > 0).to(x.dtype)


def softmax(z: torch.Tensor, dim: int = -1) -> torch.Tensor:
    r"""$\mathrm{softmax}(z)_i = \frac{e^{z_i - \max_j z_j}}{\sum_k e^{z_k - \max_j z_j}}$ along ``dim`` (shifted for stability)."""
    instance(z, torch.Tensor, "z")
    e = torch.exp(z - z.amax(dim=dim, keepdim=True))
    return e / e.sum(dim=dim, keepdim=True)


# ----------------------------------------------------------------------------- more formulas
def entropy(p: torch.Tensor, dim: int = -1) -> torch.Tensor:
    r"""$H(p) = -\sum_i p_i \log p_i$ along ``dim`` in nats (with $0 \log 0 = 0$)."""
    instance(p, torch.Tensor, "p")
    logs = torch.where(p > 0, torch.log(p.clamp_min(torch.finfo(p.dtype).tiny)), torch.zeros_like(p))
    return -(p * logs).sum(dim=dim)


def softmax_jacobian(z: torch.Tensor) -> torch.Tensor:
    r"""$\frac{\partial\,\mathrm{softmax}(z)_i}{\partial z_j} = p_i(\delta_{ij} - p_j)$, i.e. $J = \mathrm{diag}(p) - p p^\top$ for a 1-D ``z``."""
    instance(z, torch.Tensor, "z")
    if z.dim() != 1:
        raise ValueError(f"z must be a 1-D tensor (one vector of logits), got shape {tuple(z.shape)}")
    p = softmax(z)
    return torch.diag(p) - torch.outer(p, p)


def merge_linear(first: nn.Linear, second: nn.Linear) -> tuple[torch.Tensor, torch.Tensor]:
    r"""One linear layer equal to ``second(first(x))``: $W = W_2 W_1$, $b = W_2 b_1 + b_2$."""
    instance(first, nn.Linear, "first"), instance(second, nn.Linear, "second")
    if second.in_features != first.out_features:
        raise ValueError(f"second.in_features ({second.in_features}) must equal first.out_features "
                         f"({first.out_features})")
    w1, w2 = first.weight.detach(), second.weight.detach()
    b1 = first.bias.detach() if first.bias is not None else torch.zeros(first.out_features, dtype=w1.dtype)
    b2 = second.bias.detach() if second.bias is not None else torch.zeros(second.out_features, dtype=w2.dtype)
    return w2 @ w1, w2 @ b1 + b2


def dead_fraction(z: torch.Tensor) -> float:
    r"""Fraction of ReLU units never active on the data: units $j$ with $z_{nj} \le 0$ for every sample $n$ (``z`` is (samples, units))."""
    instance(z, torch.Tensor, "z")
    if z.dim() != 2 or z.shape[0] == 0 or z.shape[1] == 0:
        raise ValueError(f"z must be a non-empty 2-D tensor (samples, units), got shape {tuple(z.shape)}")
    return ((z > 0).sum(dim=0) == 0).double().mean().item()


# ----------------------------------------------------------------------------- experiments
FUNCTIONS = {"sigmoid": (sigmoid, sigmoid_grad), "tanh": (tanh, tanh_grad), "relu": (relu, relu_grad)}
_INITS = ("xavier", "kaiming", "default")


def layer_gradient_norms(activation: str, depth: int, *, init: str = "xavier", width: int = 32,
                         batch: int = 64, seed: int = 0) -> torch.Tensor:
    r"""$\lVert \partial L / \partial W_l \rVert$ for $l = 1..$``depth`` of a random MLP $h_l = g(W_l h_{l-1})$ with MSE loss.

    ``init``: ``"xavier"`` $W \sim N(0, 1/n)$, ``"kaiming"`` $N(0, 2/n)$, ``"default"`` (PyTorch's
    ``nn.Linear``) $U(-1/\sqrt{n}, 1/\sqrt{n})$. Float64, no biases; the first layers' weights do not
    depend on ``depth``, so a deeper network only adds layers on top.
    """
    one_of(activation, FUNCTIONS, "activation"), one_of(init, _INITS, "init")
    depth, width = integer(depth, "depth", 1, 500), integer(width, "width", 1, 4096)
    batch = integer(batch, "batch", 1, 100_000)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, width, generator=g, dtype=torch.float64)
    target = torch.randn(batch, width, generator=g, dtype=torch.float64)
    if init == "default":
        ws = (2 * torch.rand(depth, width, width, generator=g, dtype=torch.float64) - 1) / width ** 0.5
    else:
        std = (1.0 if init == "xavier" else 2.0) ** 0.5 / width ** 0.5
        ws = torch.randn(depth, width, width, generator=g, dtype=torch.float64) * std
    ws.requires_grad_(True)
    g_fn = FUNCTIONS[activation][0]
    h = x
    for w in ws:
        h = g_fn(h @ w.T)
    loss = ((h - target) ** 2).mean()
    loss.backward()
    return ws.grad.flatten(1).norm(dim=1)


_DYING_INPUTS = ("relu", "normal")
_GRADIENT_CACHE: dict = {}


def _relu_layer_gradient(bias_shift: float, inputs: str, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Pre-activations ``z`` of a 64-unit ReLU layer on 256 samples, and ``dz`` = change of ``z`` per unit of lr."""
    key = (float(bias_shift), inputs, seed)
    if key not in _GRADIENT_CACHE:
        g = torch.Generator().manual_seed(seed)
        x = torch.randn(256, 16, generator=g, dtype=torch.float64)
        if inputs == "relu":  # a hidden layer sees the previous layer's ReLU outputs: all >= 0
            x = relu(x)
        weight = (torch.randn(64, 16, generator=g, dtype=torch.float64) / 4.0).requires_grad_(True)
        bias = torch.full((64,), float(bias_shift), dtype=torch.float64, requires_grad=True)
        readout = torch.randn(64, generator=g, dtype=torch.float64) / 8.0
        target = x @ (torch.randn(16, generator=g, dtype=torch.float64) / 4.0)
        z = x @ weight.T + bias
        loss = ((relu(z) @ readout - target) ** 2).mean()
        loss.backward()
        # z is linear in (W, b): after W -= lr*dW, b -= lr*db it becomes z - lr*(x dW^T + db)
        dz = x @ weight.grad.T + bias.grad
        if len(_GRADIENT_CACHE) > 256:
            _GRADIENT_CACHE.clear()
        _GRADIENT_CACHE[key] = (z.detach(), dz)
    return _GRADIENT_CACHE[key]


def relu_step_preactivations(bias_shift: float, lr: float, *, inputs: str = "relu",
                             seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Pre-activations $z = XW^\top + b$ of a ReLU layer (256 samples, 64 units, $b = $ ``bias_shift``) before and after one SGD step $\theta \leftarrow \theta - \eta \nabla_\theta L$.

    The loss is the MSE of a fixed linear read-out of the ReLU outputs against a linear teacher;
    only $W$ and $b$ are updated. ``inputs="relu"``: $X = \mathrm{ReLU}(N(0,1))$ (what a hidden layer
    sees, all $\ge 0$); ``"normal"``: $X \sim N(0, 1)$.
    """
    one_of(inputs, _DYING_INPUTS, "inputs"), non_negative(lr, "lr"), real(bias_shift, "bias_shift")
    z, dz = _relu_layer_gradient(bias_shift, inputs, seed)
    return z.clone(), z - lr * dz


