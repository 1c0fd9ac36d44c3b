"""Chapter 4: loss functions written from their formulas. (Figures and panels: ``helpers.panels.losses``.)

Every loss takes ``reduction="mean"`` (PyTorch's default), ``"sum"`` or ``"none"``
(one value per element / sample), so the notes' formulas with and without the
$\\frac{1}{N}$ can both be checked against PyTorch.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from .checks import float_tensor, integer, one_of, positive as _positive

__all__ = [
    "log_softmax", "cross_entropy", "cross_entropy_onehot", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "mae", "mse", "huber", "smooth_l1",
    "multi_margin", "mae_grad", "mse_grad", "huber_grad", "gd_1d", "fit_line", "LossSpec", "LOSSES", "loss_curve",
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


def _matrix(logits: torch.Tensor, name: str) -> None:
    if logits.ndim != 2:
        raise ValueError(f"{name} must have shape (N, C), got {tuple(logits.shape)}")


def _class_targets(logits, target) -> int:
    """Logits (N, C) and integer class indices (N,) in [0, C-1]; returns N."""
    _matrix(_float_tensor(logits, "logits"), "logits")
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
    return n


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
    n = _class_targets(logits, target)
    log_p = log_softmax(logits, dim=1)
    return _reduce(-log_p[torch.arange(n), target], reduction)


def cross_entropy_onehot(logits: torch.Tensor, y_onehot: torch.Tensor, *, reduction: str = "mean") -> torch.Tensor:
    r"""$\mathcal{L} = -\frac{1}{N}\sum_{n=1}^{N}\sum_{i=1}^{C} y_{n,i}\log p_{n,i}$ (the notes' full formula; y is one-hot, (N, C))."""
    _pair(logits, y_onehot, "logits", "y_onehot"), _matrix(logits, "logits"), _in_unit_interval(y_onehot, "y_onehot")
    return _reduce(-(y_onehot * log_softmax(logits, dim=1)).sum(dim=1), reduction)


def binary_cross_entropy(p: torch.Tensor, y: torch.Tensor, *, reduction: str = "mean") -> torch.Tensor:
    r"""$\mathcal{L} = -\frac{1}{n}\sum_i \big[y_i\log p_i + (1-y_i)\log(1-p_i)\big]$ (each log clamped at $-100$, as in PyTorch)."""
    _pair(p, y, "p", "y"), _in_unit_interval(p, "p"), _in_unit_interval(y, "y")
    log_p = torch.clamp(torch.log(p), min=-100.0)
    log_not_p = torch.clamp(torch.log(1 - p), min=-100.0)
    return _reduce(-(y * log_p + (1 - y) * log_not_p), reduction)


def binary_cross_entropy_with_logits(z: torch.Tensor, y: torch.Tensor, *, reduction: str = "mean") -> torch.Tensor:
    r"""BCE of $p = \sigma(z)$, computed stably as $\max(z, 0) - zy + \log(1 + e^{-|z|})$."""
    _pair(z, y, "z", "y"), _in_unit_interval(y, "y")
    return _reduce(torch.clamp(z, min=0) - z * y + torch.log1p(torch.exp(-z.abs())), reduction)


def multi_margin(logits: torch.Tensor, target: torch.Tensor, margin: float = 1.0, *,
                 reduction: str = "mean") -> torch.Tensor:
    r"""Multi-class hinge $\ell_n = \frac{1}{C}\sum_{i \ne y_n} \max(0,\ m - z_{n,y_n} + z_{n,i})$ (PyTorch's ``MultiMarginLoss``, p = 1)."""
    _class_targets(logits, target)
    true = logits.gather(1, target[:, None])
    hinge = torch.clamp(_positive(margin, "margin") - true + logits, min=0).scatter(1, target[:, None], 0.0)
    return _reduce(hinge.sum(dim=1) / logits.shape[1], reduction)


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
    _pair(y_hat, y, "y_hat", "y"), _positive(delta, "delta")
    a = (y_hat - y).abs()
    return _reduce(torch.where(a <= delta, 0.5 * a**2, delta * a - 0.5 * delta**2), reduction)


def smooth_l1(y_hat: torch.Tensor, y: torch.Tensor, beta: float = 1.0, *, reduction: str = "mean") -> torch.Tensor:
    r"""$\mathcal{L} = \frac{1}{n}\sum_i \begin{cases}\frac{e_i^2}{2\beta} & |e_i| < \beta \\ |e_i| - \frac{\beta}{2} & |e_i| \ge \beta\end{cases}$ (PyTorch's ``SmoothL1Loss``; equals Huber$/\beta$)."""
    _pair(y_hat, y, "y_hat", "y"), _positive(beta, "beta")
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
    _pair(y_hat, y, "y_hat", "y"), _positive(delta, "delta")
    return torch.clamp(y_hat - y, -delta, delta)


# ----------------------------------------------------------------------------- one record per loss
def _errors(e: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A regression loss along the error: prediction ``e``, target 0."""
    return e, torch.zeros_like(e)


def _logit_label_one(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A binary loss along the logit ``z`` of a sample labelled 1."""
    return z, torch.ones_like(z)


def _true_class_logit(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A 3-class loss along the true class's logit ``z`` (class 0), the other two logits 0."""
    return torch.stack([z, torch.zeros_like(z), torch.zeros_like(z)], dim=1), torch.zeros(len(z), dtype=torch.long)


@dataclass(frozen=True)
class LossSpec:
    r"""One loss as chapter 4 plots it: along one number $x$ (an error $e = \hat y - y$, or a logit $z$), with its derivative."""

    label: str                                            # the name a panel shows
    formula: str                                          # the loss along x (matplotlib mathtext)
    note: str                                             # one line on its derivative
    loss: Callable[..., torch.Tensor]                     # the helpers.losses function
    grad: Callable[[torch.Tensor, float], torch.Tensor]   # d loss / d x along x, for a width
    torch_loss: Callable[..., nn.Module]                  # PyTorch's module (reduction="none"), given the width
    inputs: Callable[[torch.Tensor], tuple] = _errors     # x -> (input, target), the same for both losses
    width: str | None = None                              # the keyword the width slider sets ("delta", "beta")

    def _width(self, width: float) -> dict:
        return {self.width: width} if self.width else {}

    def curve(self, x: torch.Tensor, width: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-point loss (from ``loss``) and derivative (from ``grad``) along ``x``."""
        return self.loss(*self.inputs(x), **self._width(width), reduction="none"), self.grad(x, width)

    def torch_curve(self, x: torch.Tensor, width: float = 1.0) -> torch.Tensor:
        """The same per-point loss from PyTorch's module."""
        return self.torch_loss(**self._width(width))(*self.inputs(x))


def _zero(e: torch.Tensor) -> torch.Tensor:
    return torch.zeros_like(e)


_none = functools.partial(functools.partial, reduction="none")   # _none(nn.L1Loss)(**width) -> the module

# the losses of the chapter's panel, in the order of its dropdown: adding a loss is adding a record
LOSSES: dict[str, LossSpec] = {spec.label: spec for spec in (
    LossSpec("MAE (L1)", r"$\ell = |e|$", "gradient is always -1 or +1, whatever the size of the error",
             mae, lambda e, _: mae_grad(e, _zero(e)), _none(nn.L1Loss)),
    LossSpec("MSE (L2)", r"$\ell = e^2$", "gradient 2e grows with the error",
             mse, lambda e, _: mse_grad(e, _zero(e)), _none(nn.MSELoss)),
    LossSpec("Huber", r"$\ell = \frac{1}{2}e^2$ if $|e| \leq \delta$, else $\delta\,(|e| - \frac{1}{2}\delta)$",
             "quadratic for |e| <= delta, linear beyond: gradient clipped at +-delta",
             huber, lambda e, d: huber_grad(e, _zero(e), d), _none(nn.HuberLoss), width="delta"),
    LossSpec("Smooth L1", r"$\ell = \frac{e^2}{2\beta}$ if $|e| < \beta$, else $|e| - \frac{1}{2}\beta$",
             "Smooth L1 (beta = slider) = Huber(delta = beta) / beta: gradient clipped at +-1",
             smooth_l1, lambda e, b: huber_grad(e, _zero(e), b) / b, _none(nn.SmoothL1Loss), width="beta"),
    LossSpec("BCE with logits (y=1)", r"$\ell = \log(1 + e^{-z})$",
             "x = logit z, label 1: gradient sigmoid(z) - 1  (slider not used)",
             binary_cross_entropy_with_logits, lambda z, _: torch.sigmoid(z) - 1, _none(nn.BCEWithLogitsLoss),
             inputs=_logit_label_one),
    LossSpec("Cross-entropy (3 classes)", r"$\ell = -\log \frac{e^z}{e^z + 2}$",
             "x = true-class logit, other two logits 0: gradient p_true - 1  (slider not used)",
             cross_entropy, lambda z, _: torch.softmax(_true_class_logit(z)[0], dim=1)[:, 0] - 1,
             _none(nn.CrossEntropyLoss), inputs=_true_class_logit),
    LossSpec("Multi-class hinge (3 classes)", r"$\ell = \frac{2}{3}\max(0,\ 1 - z)$",
             "x = true-class logit, other two 0: gradient -2/3 until z passes the margin 1, then 0  (slider not used)",
             multi_margin, lambda z, _: -2 / 3 * (z < 1).to(z.dtype), _none(nn.MultiMarginLoss),
             inputs=_true_class_logit),
)}


def loss_curve(label: str, x: torch.Tensor, width: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Loss and derivative of the loss called ``label`` (a key of ``LOSSES``) along ``x``; ``width`` is its delta / beta."""
    return LOSSES[one_of(label, LOSSES, "loss")].curve(float_tensor(x, "x"), _positive(width, "width"))


# ----------------------------------------------------------------------------- 1-D gradient descent
def gd_1d(loss: str, lr: float, steps: int = 40, *, w0: float = 0.0, x: float = 2.0, y: float = 3.0,
          delta: float = 1.0, decay: bool = False) -> np.ndarray:
    r"""Gradient descent $w \leftarrow w - \eta_t\,\partial\ell/\partial w$ on $\ell(wx - y)$ for ``loss`` in mae / mse / huber; returns $w_0 \dots w_{steps}$.

    ``decay=True`` uses $\eta_t = \eta / \sqrt{t + 1}$ instead of a fixed step.
    """
    one_of(loss, ("huber", "mae", "mse"), "loss"), _positive(lr, "lr"), _positive(delta, "delta"), integer(steps, "steps", 1)
    grads = {
        "mae": lambda e: x * np.sign(e),
        "mse": lambda e: 2 * x * e,
        "huber": lambda e: x * np.clip(e, -delta, delta),
    }
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
    one_of(loss, ("mse", "mae", "huber"), "loss"), _positive(delta, "delta")
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
