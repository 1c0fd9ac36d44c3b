"""Chapter 4: loss functions written from their formulas. (Figures and panels: ``helpers.panels.losses``.)

Every loss takes ``reduction="mean"`` (PyTorch's default), ``"sum"`` or ``"none"``
(one value per element / sample), so the notes' formulas with and without the
$\\frac{1}{N}$ can both be checked against PyTorch.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .checks import float_tensor, positive as _positive

__all__ = [
    "log_softmax", "cross_entropy", "cross_entropy_onehot", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "mae", "mse", "huber", "smooth_l1",
    "mae_grad", "mse_grad", "huber_grad", "gd_1d", "fit_line",
]

_REDUCTIONS = ("mean", "sum", "none")


# ----------------------------------------------------------------------------- input checks
def _float_tensor(x, name: str) -> torch.Tensor:
    """A floating-point tensor with at least one element (a loss over nothing is undefined)."""
    float_tensor(x, name)
    if x.numel() == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(x.shape)}")
    return x


def _pair(a, b, name_a: str, name_b: str) -> tuple[torch.Tensor, torch.Tensor]:
    _float_tensor(a, name_a)
    _float_tensor(b, name_b)
    if a.shape != b.shape:
        raise ValueError(f"{name_a} and {name_b} must have the same shape (no broadcasting), "
                         f"got {tuple(a.shape)} and {tuple(b.shape)}")
    return a, b


def _in_unit_interval(x: torch.Tensor, name: str) -> None:
    if not bool(((x >= 0) & (x <= 1)).all()):
        raise ValueError(f"{name} must hold probabilities in [0, 1], got values from "
                         f"{x.min().item():.4g} to {x.max().item():.4g}")


def _reduce(terms: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "mean":
        return terms.mean()
    if reduction == "sum":
        return terms.sum()
    if reduction == "none":
        return terms
    raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")


# ----------------------------------------------------------------------------- classification
def log_softmax(logits: torch.Tensor, dim: int = -1) -> torch.Tensor:
    r"""$\log p_i = (z_i - m) - \log\sum_k e^{z_k - m}$ with $m = \max_k z_k$ (never overflows)."""
    _float_tensor(logits, "logits")
    shifted = logits - logits.amax(dim=dim, keepdim=True)
    return shifted - torch.log(torch.exp(shifted).sum(dim=dim, keepdim=True))


def cross_entropy(logits: torch.Tensor, target: torch.Tensor, *, reduction: str = "mean") -> torch.Tensor:
    r"""$\mathcal{L} = -\frac{1}{N}\sum_{n=1}^{N} \log p_{n,y_n}$, $p_n = \mathrm{softmax}(z_n)$; logits (N, C), target (N,) class indices."""
    _float_tensor(logits, "logits")
    if logits.ndim != 2:
        raise ValueError(f"logits must have shape (N, C), got {tuple(logits.shape)}")
    if not isinstance(target, torch.Tensor):
        raise TypeError(f"target must be a torch.Tensor of class indices, got {type(target).__name__}")
    if target.is_floating_point() or target.is_complex() or target.dtype == torch.bool:
        raise TypeError(f"target must hold integer class indices (e.g. torch.long), got dtype {target.dtype}")
    n, c = logits.shape
    if target.shape != (n,):
        raise ValueError(f"target must have shape (N,) = ({n},) to match logits {tuple(logits.shape)}, "
                         f"got {tuple(target.shape)}")
    if bool(((target < 0) | (target >= c)).any()):
        raise ValueError(f"target class indices must be in [0, C-1] = [0, {c - 1}], got values from "
                         f"{target.min().item()} to {target.max().item()}")
    log_p = log_softmax(logits, dim=1)
    return _reduce(-log_p[torch.arange(n), target], reduction)


def cross_entropy_onehot(logits: torch.Tensor, y_onehot: torch.Tensor, *, reduction: str = "mean") -> torch.Tensor:
    r"""$\mathcal{L} = -\frac{1}{N}\sum_{n=1}^{N}\sum_{i=1}^{C} y_{n,i}\log p_{n,i}$ (the notes' full formula; y is one-hot, (N, C))."""
    _pair(logits, y_onehot, "logits", "y_onehot")
    if logits.ndim != 2:
        raise ValueError(f"logits must have shape (N, C), got {tuple(logits.shape)}")
    _in_unit_interval(y_onehot, "y_onehot")
    return _reduce(-(y_onehot * log_softmax(logits, dim=1)).sum(dim=1), reduction)


def binary_cross_entropy(p: torch.Tensor, y: torch.Tensor, *, reduction: str = "mean") -> torch.Tensor:
    r"""$\mathcal{L} = -\frac{1}{n}\sum_i \big[y_i\log p_i + (1-y_i)\log(1-p_i)\big]$ (each log clamped at $-100$, as in PyTorch)."""
    _pair(p, y, "p", "y")
    _in_unit_interval(p, "p")
    _in_unit_interval(y, "y")
    log_p = torch.clamp(torch.log(p), min=-100.0)
    log_not_p = torch.clamp(torch.log(1 - p), min=-100.0)
    return _reduce(-(y * log_p + (1 - y) * log_not_p), reduction)


def binary_cross_entropy_with_logits(z: torch.Tensor, y: torch.Tensor, *, reduction: str = "mean") -> torch.Tensor:
    r"""BCE of $p = \sigma(z)$, computed stably as $\max(z, 0) - zy + \log(1 + e^{-|z|})$."""
    _pair(z, y, "z", "y")
    _in_unit_interval(y, "y")
    return _reduce(torch.clamp(z, min=0) - z * y + torch.log1p(torch.exp(-z.abs())), reduction)


# ----------------------------------------------------------------------------- regression
def mae(y_hat: torch.Tensor, y: torch.Tensor, *, reduction: str = "mean") -> torch.Tensor:
    r"""$\mathcal{L} = \frac{1}{n}\sum_{i=1}^{n} |y_i - \hat y_i|$ (MAE, L1 loss)."""
    _pair(y_hat, y, "y_hat", "y")
    return _reduce((y - y_hat).abs(), reduction)


def mse(y_hat: torch.Tensor, y: torch.Tensor, *, reduction: str = "mean") -> torch.Tensor:
    r"""$\mathcal{L} = \frac{1}{n}\sum_{i=1}^{n} (y_i - \hat y_i)^2$ (MSE, L2 loss)."""
    _pair(y_hat, y, "y_hat", "y")
    return _reduce((y - y_hat) ** 2, reduction)


def huber(y_hat: torch.Tensor, y: torch.Tensor, delta: float = 1.0, *, reduction: str = "mean") -> torch.Tensor:
    r"""$\mathcal{L} = \frac{1}{n}\sum_i \begin{cases}\frac12 e_i^2 & |e_i| \le \delta \\ \delta|e_i| - \frac12\delta^2 & |e_i| > \delta\end{cases}$, $e_i = \hat y_i - y_i$."""
    _pair(y_hat, y, "y_hat", "y")
    delta = _positive(delta, "delta")
    a = (y_hat - y).abs()
    return _reduce(torch.where(a <= delta, 0.5 * a**2, delta * a - 0.5 * delta**2), reduction)


def smooth_l1(y_hat: torch.Tensor, y: torch.Tensor, beta: float = 1.0, *, reduction: str = "mean") -> torch.Tensor:
    r"""$\mathcal{L} = \frac{1}{n}\sum_i \begin{cases}\frac{e_i^2}{2\beta} & |e_i| < \beta \\ |e_i| - \frac{\beta}{2} & |e_i| \ge \beta\end{cases}$ (PyTorch's ``SmoothL1Loss``; equals Huber$/\beta$)."""
    _pair(y_hat, y, "y_hat", "y")
    beta = _positive(beta, "beta")
    a = (y_hat - y).abs()
    return _reduce(torch.where(a < beta, 0.5 * a**2 / beta, a - 0.5 * beta), reduction)


def mae_grad(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r"""$\partial |\hat y_i - y_i| / \partial \hat y_i = \mathrm{sign}(\hat y_i - y_i)$ per element (0 at 0, as in PyTorch)."""
    _pair(y_hat, y, "y_hat", "y")
    return torch.sign(y_hat - y)


def mse_grad(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r"""$\partial (\hat y_i - y_i)^2 / \partial \hat y_i = 2(\hat y_i - y_i)$ per element."""
    _pair(y_hat, y, "y_hat", "y")
    return 2 * (y_hat - y)


def huber_grad(y_hat: torch.Tensor, y: torch.Tensor, delta: float = 1.0) -> torch.Tensor:
    r"""$\partial \ell_i / \partial \hat y_i = e_i$ if $|e_i| \le \delta$ else $\delta\,\mathrm{sign}(e_i)$, i.e. $\mathrm{clip}(e_i, -\delta, \delta)$."""
    _pair(y_hat, y, "y_hat", "y")
    delta = _positive(delta, "delta")
    return torch.clamp(y_hat - y, -delta, delta)


# ----------------------------------------------------------------------------- 1-D gradient descent
def gd_1d(loss: str, lr: float, steps: int = 40, *, w0: float = 0.0, x: float = 2.0, y: float = 3.0,
          delta: float = 1.0, decay: bool = False) -> np.ndarray:
    r"""Gradient descent $w \leftarrow w - \eta_t\,\partial\ell/\partial w$ on $\ell(wx - y)$ for ``loss`` in mae / mse / huber; returns $w_0 \dots w_{steps}$.

    ``decay=True`` uses $\eta_t = \eta / \sqrt{t + 1}$ instead of a fixed step.
    """
    grads = {
        "mae": lambda e: x * np.sign(e),
        "mse": lambda e: 2 * x * e,
        "huber": lambda e: x * np.clip(e, -delta, delta),
    }
    if loss not in grads:
        raise ValueError(f"loss must be one of {sorted(grads)}, got {loss!r}")
    lr = _positive(lr, "lr")
    _positive(delta, "delta")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be an int >= 1, got {steps!r}")
    w = np.empty(steps + 1)
    w[0] = w0
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(steps):
            step = lr / math.sqrt(t + 1) if decay else lr
            w[t + 1] = w[t] - step * grads[loss](w[t] * x - y)
    return w


# ----------------------------------------------------------------------------- line fitting
def fit_line(x, y, loss: str = "mse", delta: float = 1.0, *, iters: int = 100) -> tuple[float, float]:
    r"""Slope and intercept of the line $\hat y = a x + b$ that minimises ``loss`` (mse: least squares; mae / huber: IRLS).

    IRLS (iteratively reweighted least squares) solves weighted least squares with
    weights $w_i = \rho'(r_i) / r_i$: $1/|r_i|$ for MAE, $\min(1, \delta/|r_i|)$ for Huber.
    """
    xs = np.asarray(x, dtype=float).reshape(-1)
    ys = np.asarray(y, dtype=float).reshape(-1)
    if xs.shape != ys.shape or xs.size < 2:
        raise ValueError(f"x and y must hold the same number (>= 2) of values, got {xs.size} and {ys.size}")
    if loss not in ("mse", "mae", "huber"):
        raise ValueError(f"loss must be 'mse', 'mae' or 'huber', got {loss!r}")
    delta = _positive(delta, "delta")
    weights = np.ones_like(xs)
    slope, intercept = _weighted_line(xs, ys, weights)
    if loss == "mse":
        return slope, intercept
    for _ in range(iters):
        r = np.abs(ys - (slope * xs + intercept))
        weights = 1.0 / np.maximum(r, 1e-9) if loss == "mae" else np.minimum(1.0, delta / np.maximum(r, 1e-12))
        new_slope, new_intercept = _weighted_line(xs, ys, weights)
        done = abs(new_slope - slope) + abs(new_intercept - intercept) < 1e-12
        slope, intercept = new_slope, new_intercept
        if done:
            break
    return slope, intercept


def _weighted_line(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    r"""Weighted least squares $\min_{a,b} \sum_i w_i (y_i - a x_i - b)^2$ in closed form (the 2x2 normal equations)."""
    sw, sx, sy = w.sum(), w @ x, w @ y
    sxx, sxy = w @ (x * x), w @ (x * y)
    det = sw * sxx - sx * sx
    if not det > 1e-12 * max(sw * sxx, 1e-300):
        raise ValueError("x must hold at least two different values to fit a line")
    slope = (sw * sxy - sx * sy) / det
    return float(slope), float((sy - slope * sx) / sw)
