r"""Chapter 7: regularization written from the formulas: dropout, batch norm, L2 penalty, early stopping.

Also the small pieces the chapter builds its experiments from: ``running_average`` (batch norm's
running statistics over many steps), ``mlp`` (a network with optional batch norm and dropout) and
``RandomShift`` (a layer that moves each feature's distribution at every step, for the
internal-covariate-shift experiment).

Nothing here calls PyTorch's own dropout or batch-norm functions; the tests compare
these functions with ``nn.Dropout`` statistics and with ``F.batch_norm`` numbers.

Two corrections to the notes live in this file:
- dropout's ``p`` is the probability of **dropping** a unit, and kept units are
  multiplied by $1/(1-p)$, not divided by $p$ (erratum E41);
- batch norm applies $\gamma$ and $\beta$ to the **normalised** value
  $\hat z$ (E45), normalises with the biased batch variance, and updates the running
  variance with the unbiased one; ``momentum`` is the weight of the new batch (E48).
"""
from __future__ import annotations

import math
import numbers
from typing import Iterable, Sequence

import torch
from torch import nn

from .checks import flag as _flag, float_tensor as _tensor, positive as _positive

__all__ = ["dropout", "batch_norm", "running_average", "l2_penalty", "early_stopping_epoch", "mlp", "RandomShift"]


# ----------------------------------------------------------------------------- input checks
def _real(value, name: str, low: float, high: float = math.inf) -> float:
    """``value`` as a float, checked to lie in the closed interval [low, high]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if not (low <= value <= high):
        raise ValueError(f"{name} must be in [{low}, {high}], got {value}")
    return float(value)


# ----------------------------------------------------------------------------- dropout
def dropout(x: torch.Tensor, p: float, training: bool = True,
            generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Inverted dropout: $y_i = \frac{m_i}{1-p}\,x_i$, $m_i \sim \mathrm{Bernoulli}(1-p)$, so $\mathbb{E}[y_i] = x_i$; identity in eval."""
    _tensor(x, "x")
    p = _real(p, "p", 0.0, 1.0)
    _flag(training, "training")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    if not training or p == 0.0:
        return x                                   # inference: the full network, nothing rescaled
    if p == 1.0:
        return torch.zeros_like(x)                 # every unit dropped (avoids 0/0)
    u = torch.rand(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    keep = u >= p                                  # P(keep) = 1 - p
    return x * keep / (1 - p)


# ----------------------------------------------------------------------------- batch norm
def _check_batch_norm(x, gamma, beta, running_mean, running_var, training, momentum, eps) -> None:
    _tensor(x, "x")
    if x.ndim not in (2, 3, 4):
        raise ValueError(f"x must have shape (N, C), (N, C, L) or (N, C, H, W), got {tuple(x.shape)}")
    c = x.shape[1]
    for name, t in (("gamma", gamma), ("beta", beta), ("running_mean", running_mean), ("running_var", running_var)):
        if t is None and name in ("gamma", "beta"):   # None: no affine step (affine=False)
            continue
        _tensor(t, name)
        if t.shape != (c,):
            raise ValueError(f"{name} must have shape (C,) = ({c},) to match x {tuple(x.shape)}, got {tuple(t.shape)}")
    _flag(training, "training")
    _real(momentum, "momentum", 0.0, 1.0)
    _positive(eps, "eps")
    values_per_channel = x.numel() // c if c else 0
    if training and values_per_channel <= 1:
        raise ValueError(f"training needs more than 1 value per channel (N*H*W > 1), got x of shape {tuple(x.shape)}")


def batch_norm(x: torch.Tensor, gamma: torch.Tensor | None, beta: torch.Tensor | None,
               running_mean: torch.Tensor, running_var: torch.Tensor, training: bool = True,
               momentum: float = 0.1, eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""$y = \gamma\,\frac{x-\mu_B}{\sqrt{\sigma_B^2+\epsilon}} + \beta$ per channel; train: $r \leftarrow (1-m)\,r + m\,s_B$ with the unbiased $s_B$; eval: $\mu, \sigma^2$ = running stats."""
    _check_batch_norm(x, gamma, beta, running_mean, running_var, training, momentum, eps)
    dims = [d for d in range(x.ndim) if d != 1]         # every dim but the channel dim C
    shape = [1, -1] + [1] * (x.ndim - 2)                # (C,) -> broadcastable against x
    if training:
        n = x.numel() // x.shape[1]                     # values per channel: N*H*W
        mean = x.mean(dim=dims)
        var = ((x - mean.view(shape)) ** 2).mean(dim=dims)       # biased: divide by n
        unbiased_var = var * n / (n - 1)                          # for the running estimate
        new_mean = (1 - momentum) * running_mean + momentum * mean.detach()   # buffers: no gradient
        new_var = (1 - momentum) * running_var + momentum * unbiased_var.detach()
    else:
        mean, var = running_mean, running_var
        new_mean, new_var = running_mean, running_var
    z_hat = (x - mean.view(shape)) / torch.sqrt(var.view(shape) + eps)
    y = z_hat
    if gamma is not None:
        y = gamma.view(shape) * y
    if beta is not None:
        y = y + beta.view(shape)
    return y, new_mean, new_var


def running_average(values: torch.Tensor, momentum: float | None,
                    init: float | torch.Tensor = 0.0) -> torch.Tensor:
    r"""$r_t = (1-m)\,r_{t-1} + m\,v_t$ from $r_0$ = ``init``, i.e. $r_t = (1-m)^t r_0 + \sum_{s=1}^{t} m(1-m)^{t-s} v_s$; ``momentum=None``: $r_t = \frac1t\sum_{s\le t} v_s$.

    These are batch norm's running statistics after each of the $T$ steps ($v_t$: the batch mean,
    or the unbiased batch variance). Returns $r_1, \dots, r_T$ with the shape of ``values``.
    The unrolled sum is what is computed (no loop over steps): the weight of a batch $k$ steps old is $m(1-m)^k$.
    """
    _tensor(values, "values")
    if values.ndim == 0 or len(values) == 0:
        raise ValueError(f"values must have shape (T, ...) with T >= 1, got {tuple(values.shape)}")
    if momentum is not None:
        momentum = _real(momentum, "momentum", 0.0, 1.0)
    if isinstance(init, bool) or not isinstance(init, (numbers.Real, torch.Tensor)):
        raise TypeError(f"init must be a number or a tensor, got {type(init).__name__}")
    steps = len(values)
    feature_dims = [1] * (values.ndim - 1)                        # broadcast over the feature dims
    if momentum is None:                                          # weight 1/t for the t-th batch: a plain mean
        t = torch.arange(1, steps + 1, dtype=values.dtype, device=values.device)
        return torch.cumsum(values, dim=0) / t.view(-1, *feature_dims)
    powers = (1.0 - momentum) ** torch.arange(steps + 1, dtype=values.dtype, device=values.device)  # (1-m)^k
    step = torch.arange(steps, device=values.device)
    lag = step.view(-1, 1) - step.view(1, -1)                     # t - s for every pair of steps
    weights = torch.where(lag >= 0, momentum * powers[lag.clamp(min=0)], torch.zeros((), dtype=values.dtype))
    r0 = torch.as_tensor(init, dtype=values.dtype, device=values.device)
    return powers[1:].view(-1, *feature_dims) * r0 + torch.tensordot(weights, values, dims=1)


# ----------------------------------------------------------------------------- L2 penalty
def l2_penalty(params: Iterable[torch.Tensor], weight_decay: float) -> torch.Tensor:
    r"""$\Omega(w) = \frac{\lambda}{2}\sum_j \lVert w_j \rVert^2$, whose gradient $\lambda w$ is what ``SGD(weight_decay=λ)`` adds."""
    wd = _real(weight_decay, "weight_decay", 0.0)
    params = list(params)
    for i, w in enumerate(params):
        _tensor(w, f"params[{i}]")
    if not params:
        return torch.tensor(0.0)
    return wd / 2 * sum((w ** 2).sum() for w in params)


# ----------------------------------------------------------------------------- early stopping
def early_stopping_epoch(val_losses: Sequence[float], patience: int,
                         min_delta: float = 0.0) -> tuple[int, int]:
    r"""Stop at the first epoch with $k$ = ``patience`` epochs in a row without $\ell_t < \ell_{best} - \delta$; returns (stop_epoch, best_epoch), 0-based.

    If the rule never fires, training runs to the end and stop_epoch is the last epoch.
    The weights to keep are the ones saved at best_epoch.
    """
    if isinstance(patience, bool) or not isinstance(patience, int):
        raise TypeError(f"patience must be an int, got {type(patience).__name__}")
    if patience < 1:
        raise ValueError(f"patience must be >= 1, got {patience}")
    min_delta = _real(min_delta, "min_delta", 0.0)
    losses = [float(v) for v in val_losses]
    if not losses:
        raise ValueError("val_losses must hold at least one value, got an empty sequence")
    best, best_epoch, bad_epochs = math.inf, 0, 0
    for epoch, loss in enumerate(losses):
        if loss < best - min_delta:                # an improvement by more than min_delta
            best, best_epoch, bad_epochs = loss, epoch, 0
        else:
            bad_epochs += 1
        if bad_epochs >= patience:
            return epoch, best_epoch
    return len(losses) - 1, best_epoch            # never triggered: ran to the last epoch


# ----------------------------------------------------------------------------- building blocks
def mlp(sizes: Sequence[int], *, dropout: float = 0.0, batch_norm: bool = False) -> nn.Sequential:
    r"""Per hidden layer $h = \mathrm{Dropout}_p(\mathrm{ReLU}(\mathrm{BN}(W h_{\text{prev}} [+ b])))$, then a last Linear; with BN the Linear has no bias (BN's $\beta$ replaces it)."""
    sizes = list(sizes)
    if len(sizes) < 2 or any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in sizes):
        raise ValueError(f"sizes must list at least 2 ints >= 1 (inputs, hidden..., outputs), got {sizes}")
    p = _real(dropout, "dropout", 0.0, 1.0)
    _flag(batch_norm, "batch_norm")
    layers: list[nn.Module] = []
    for n_in, n_out in zip(sizes[:-2], sizes[1:-1]):
        layers.append(nn.Linear(n_in, n_out, bias=not batch_norm))   # a bias before BN is subtracted away (C36)
        if batch_norm:
            layers.append(nn.BatchNorm1d(n_out))
        layers.append(nn.ReLU())
        if p > 0:
            layers.append(nn.Dropout(p))
    layers.append(nn.Linear(sizes[-2], sizes[-1]))
    return nn.Sequential(*layers)


class RandomShift(nn.Module):
    r"""Train mode: $y_j = a_j x_j + b_j$ with $a_j = e^{s\,\xi_j}$, $b_j = s\,\zeta_j$, $\xi, \zeta \sim \mathcal N(0, 1)$ drawn anew per call; eval: identity.

    Placed after a batch-norm layer it moves every feature's distribution at every step:
    internal covariate shift put back on purpose (the experiment of Santurkar et al., 2018).
    """

    def __init__(self, scale: float) -> None:
        super().__init__()
        self.scale = _real(scale, "scale", 0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _tensor(x, "x")
        if not self.training or self.scale == 0.0:
            return x
        shape = [1, -1] + [1] * (x.ndim - 2)           # one (a_j, b_j) per feature / channel
        a = torch.exp(self.scale * torch.randn(x.shape[1], dtype=x.dtype, device=x.device))
        b = self.scale * torch.randn(x.shape[1], dtype=x.dtype, device=x.device)
        return a.view(shape) * x + b.view(shape)

    def extra_repr(self) -> str:
        return f"scale={self.scale}"
