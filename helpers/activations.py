"""Chapter 2: activation functions, written from their formulas, and the chapter's panels."""
from __future__ import annotations

import torch

__all__ = ["sigmoid", "tanh", "relu", "softmax", "sigmoid_grad", "tanh_grad", "relu_grad"]


def _check_tensor(x, name: str = "x") -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    return x


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    r"""$\sigma(x) = \frac{1}{1 + e^{-x}}$."""
    _check_tensor(x)
    return 1.0 / (1.0 + torch.exp(-x))


def sigmoid_grad(x: torch.Tensor) -> torch.Tensor:
    r"""$\sigma'(x) = \sigma(x)\,(1 - \sigma(x))$."""
    s = sigmoid(x)
    return s * (1.0 - s)


def tanh(x: torch.Tensor) -> torch.Tensor:
    r"""$\tanh(x) = \frac{e^{x} - e^{-x}}{e^{x} + e^{-x}}$ (computed as $(1 - e^{-2|x|})/(1 + e^{-2|x|})$ with the sign of $x$, so it never overflows)."""
    _check_tensor(x)
    e = torch.exp(-2.0 * x.abs())
    return torch.sign(x) * (1.0 - e) / (1.0 + e)


def tanh_grad(x: torch.Tensor) -> torch.Tensor:
    r"""$\tanh'(x) = 1 - \tanh^2(x)$."""
    t = tanh(x)
    return 1.0 - t * t


def relu(x: torch.Tensor) -> torch.Tensor:
    r"""$\mathrm{ReLU}(x) = \max(0, x)$."""
    _check_tensor(x)
    return torch.where(x > 0, x, torch.zeros_like(x))


def relu_grad(x: torch.Tensor) -> torch.Tensor:
    r"""$\mathrm{ReLU}'(x) = 1$ for $x > 0$, else $0$ (0 at $x = 0$, as in PyTorch)."""
    _check_tensor(x)
    return (x > 0).to(x.dtype)


def softmax(z: torch.Tensor, dim: int = -1) -> torch.Tensor:
    r"""$\mathrm{softmax}(z)_i = \frac{e^{z_i - \max_j z_j}}{\sum_k e^{z_k - \max_j z_j}}$ along ``dim`` (shifted for stability)."""
    _check_tensor(z, "z")
    e = torch.exp(z - z.amax(dim=dim, keepdim=True))
    return e / e.sum(dim=dim, keepdim=True)
