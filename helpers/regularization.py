r"""Chapter 7: regularization written from the formulas: dropout, batch norm, L2 penalty, early stopping.

Also the small pieces the chapter builds its experiments from: ``running_average`` (batch norm's
running statistics over many steps), ``mlp`` (a network with optional batch norm and dropout),
``RandomShift`` (a layer that moves each feature's distribution at every step, for the
internal-covariate-shift experiment), the over-fitting playground (``playground_points`` makes the five
data sets; ``train_playground`` trains one setting full batch with backprop and Adam written out, keeping the
weights every 2 epochs; ``playground_run`` and ``playground_map`` cache runs and decision maps) and
``simulate_bn_statistics`` (batch statistics and running estimates of one feature over many steps).

Nothing here calls PyTorch's own dropout or batch-norm functions; the tests compare
these functions with ``nn.Dropout`` statistics and with ``F.batch_norm`` numbers.

Two corrections to the notes live in this file:
- dropout's ``p`` is the probability of **dropping** a unit, and kept units are
  multiplied by $1/(1-p)$, not divided by $p$;
- batch norm applies $\gamma$ and $\beta$ to the **normalised** value
  $\hat z$, normalises with the biased batch variance, and updates the running
  variance with the unbiased one; ``momentum`` is the weight of the new batch.
"""
from __future__ import annotations

import functools
import math
import numbers
from typing import Iterable, NamedTuple, Sequence

import numpy as np
import torch
from torch import nn

from .checks import (flag as _flag, float_tensor as _tensor, fraction as _fraction, integer as _count,
                     non_negative as _non_negative, one_of as _one_of, positive as _positive)
from .optim import Adam

__all__ = ["dropout", "dropout_scalings", "batch_norm", "running_average", "l2_penalty", "early_stopping_epoch", "mlp", "RandomShift",
           "PLAYGROUND_SETS", "ACTIVATIONS", "PLAYGROUND_EPOCHS", "SNAPSHOT_EVERY", "PLAYGROUND_PATIENCE", "TRAIN_MAX",
           "VAL_POINTS", "VIEW", "MAP_GRID", "playground_points", "playground_data", "PlaygroundSetting",
           "playground_setting", "playground_logits", "PlaygroundRun", "train_playground", "playground_run",
           "playground_map", "train_reference", "BN_STEPS", "BN_MAX_BATCH", "BNSimulation", "simulate_bn_statistics"]


# ----------------------------------------------------------------------------- input checks
def _check_dropout(x, p, training, generator) -> float:
    """The checks of ``dropout``; returns ``p`` as a float."""
    _tensor(x, "x")
    _flag(training, "training")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    return _fraction(p, "p")


# ----------------------------------------------------------------------------- dropout
def dropout(x: torch.Tensor, p: float, training: bool = True,
            generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Inverted dropout: $y_i = \frac{m_i}{1-p}\,x_i$, $m_i \sim \mathrm{Bernoulli}(1-p)$, so $\mathbb{E}[y_i] = x_i$; identity in eval."""
    p = _check_dropout(x, p, training, generator)
    if not training or p == 0.0:
        return x                                   # inference: the full network, nothing rescaled
    if p == 1.0:
        return torch.zeros_like(x)                 # every unit dropped (avoids 0/0)
    u = torch.rand(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    keep = u >= p                                  # P(keep) = 1 - p
    return x * keep / (1 - p)


def dropout_scalings(x: torch.Tensor, kept: torch.Tensor, p: float) -> dict[str, float]:
    r"""Mean of the kept units $\overline{m \odot x}$ scaled three ways: by $\frac{1}{1-p}$ (PyTorch), not at all, by $\frac1p$ (the notes); NaN where undefined."""
    _tensor(x, "x")
    _fraction(p, "p")
    masked = float((x * kept).mean())
    return {"pytorch": masked / (1 - p) if p < 1 else math.nan, "unscaled": masked,
            "notes": masked / p if p > 0 else math.nan}


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
    _fraction(momentum, "momentum")
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
        momentum = _fraction(momentum, "momentum")
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
    wd = _non_negative(weight_decay, "weight_decay")
    params = list(params)
    for i, w in enumerate(params):
        _tensor(w, f"params[{i}]")
    if not params:
        return torch.tensor(0.0)
    return wd / 2 * sum((w ** 2).sum() for w in params)


# ----------------------------------------------------------------------------- early stopping
def _check_early_stopping(val_losses, patience, min_delta) -> tuple[list[float], int, float]:
    losses = [float(v) for v in val_losses]
    if not losses:
        raise ValueError("val_losses must hold at least one value, got an empty sequence")
    return losses, _count(patience, "patience", minimum=1), _non_negative(min_delta, "min_delta")


def early_stopping_epoch(val_losses: Sequence[float], patience: int,
                         min_delta: float = 0.0) -> tuple[int, int]:
    r"""Stop at the first epoch with $k$ = ``patience`` epochs in a row without $\ell_t < \ell_{best} - \delta$; returns (stop_epoch, best_epoch), 0-based.

    If the rule never fires, training runs to the end and stop_epoch is the last epoch.
    The weights to keep are the ones saved at best_epoch. It stops on the $k$-th bad epoch, one call before
    ``ReduceLROnPlateau(patience=k)`` would cut (that one waits for more than $k$), i.e. where ``patience=k-1`` cuts.
    """
    losses, patience, min_delta = _check_early_stopping(val_losses, patience, min_delta)
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
def mlp(sizes: Sequence[int], *, dropout: float = 0.0, batch_norm: bool = False, activation: str = "ReLU") -> nn.Sequential:
    r"""Per hidden layer $h = \mathrm{Dropout}_p(\phi(\mathrm{BN}(W h_{\text{prev}} [+ b])))$, $\phi$ = ReLU, tanh or linear, then a last Linear; with BN the Linear has no bias (BN's $\beta$ replaces it)."""
    sizes = [_count(n, f"sizes[{i}]", minimum=1) for i, n in enumerate(sizes)]
    if len(sizes) < 2:
        raise ValueError(f"sizes must list at least 2 ints >= 1 (inputs, hidden..., outputs), got {sizes}")
    p, batch_norm = _fraction(dropout, "dropout"), _flag(batch_norm, "batch_norm")
    act = {"ReLU": nn.ReLU, "tanh": nn.Tanh, "linear": nn.Identity}[_one_of(activation, ACTIVATIONS, "activation")]
    layers: list[nn.Module] = []
    for n_in, n_out in zip(sizes[:-2], sizes[1:-1]):
        layers.append(nn.Linear(n_in, n_out, bias=not batch_norm))   # a bias before BN is subtracted away
        if batch_norm:
            layers.append(nn.BatchNorm1d(n_out))
        layers.append(act())
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
        self.scale = _non_negative(scale, "scale")

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


# ----------------------------------------------------------------------------- the over-fitting playground
PLAYGROUND_SETS = ("moons", "circles", "XOR", "blobs", "spiral")
ACTIVATIONS = ("ReLU", "tanh", "linear")
PLAYGROUND_EPOCHS = 200
SNAPSHOT_EVERY = 2           # weights, BN statistics and the eval-mode losses are kept every 2 epochs
PLAYGROUND_PATIENCE = 10     # early stopping: 10 measurements (20 epochs) without improvement
TRAIN_MAX = 200              # the training set is the first n_train of 200 points (a bigger set adds points)
VAL_POINTS = 200
VIEW = 2.5                   # the decision map covers [-VIEW, VIEW]^2, where every clean shape lies
MAP_GRID = torch.linspace(-VIEW, VIEW, 49)
_BN_EPS, _BN_MOMENTUM = 1e-5, 0.1               # BatchNorm1d's defaults
_ADAM_BETAS, _ADAM_EPS = (0.9, 0.999), 1e-8     # torch.optim.Adam's defaults


def _moons(y, u, z):
    """Two interleaved half circles, centred: class 1 is class 0 turned by 180 degrees."""
    a = math.pi * u[:, 0]
    return (1 - 2 * y)[:, None] * torch.stack([torch.cos(a) - 0.5, torch.sin(a) - 0.25], 1)


def _circles(y, u, z):
    """Class 0 on a circle of radius 0.6, class 1 on a ring of radius 1.5."""
    a = 2 * math.pi * u[:, 0]
    return (0.6 + 0.9 * y)[:, None] * torch.stack([torch.cos(a), torch.sin(a)], 1)


def _xor(y, u, z):
    r"""Uniform in the four quadrants (0.1 from the axes): class 0 where $x_1 x_2 > 0$, class 1 where $x_1 x_2 < 0$."""
    s1 = torch.where(u[:, 2] < 0.5, -1.0, 1.0)
    s2 = s1 * (1 - 2 * y)
    return torch.stack([s1 * (0.1 + 1.4 * u[:, 0]), s2 * (0.1 + 1.4 * u[:, 1])], 1)


def _blobs(y, u, z):
    """Two Gaussian blobs (std 0.35) centred at (-0.8, -0.8) and (0.8, 0.8)."""
    return (2 * y - 1)[:, None] * 0.8 + 0.35 * z


def _spiral(y, u, z):
    r"""Two spiral arms $r = 0.1 + 1.5t$, angle $2.5\pi t + \pi y$ (one and a quarter turns)."""
    r, a = 0.1 + 1.5 * u[:, 0], 2.5 * math.pi * u[:, 0] + math.pi * y
    return r[:, None] * torch.stack([torch.cos(a), torch.sin(a)], 1)


_SHAPES = {"moons": _moons, "circles": _circles, "XOR": _xor, "blobs": _blobs, "spiral": _spiral}


def playground_points(name: str, n: int, noise: float = 0.0, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    r"""``n`` points of data set ``name``, labels $y_i = i \bmod 2$ (balanced), plus jitter: $x = x_{\text{clean}} + \text{noise}\cdot\varepsilon$, $\varepsilon \sim N(0, I)$."""
    _one_of(name, PLAYGROUND_SETS, "name")
    n, noise, seed = _count(n, "n", minimum=2), _non_negative(noise, "noise"), _count(seed, "seed")
    g = torch.Generator().manual_seed(seed)
    u, z, jitter = torch.rand(n, 3, generator=g), torch.randn(n, 2, generator=g), torch.randn(n, 2, generator=g)
    y = torch.arange(n) % 2
    return _SHAPES[name](y.float(), u, z) + noise * jitter, y


@functools.lru_cache(maxsize=64)
def playground_data(name: str = "circles", n_train: int = 40, noise: float = 0.3,
                    seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Training set (the first ``n_train`` of 200 points, seed ``seed``) and 200 validation points (seed ``seed + 1``)."""
    n_train = _count(n_train, "n_train", minimum=2, maximum=TRAIN_MAX)
    xtr, ytr = playground_points(name, TRAIN_MAX, noise, seed)
    xva, yva = playground_points(name, VAL_POINTS, noise, seed + 1)
    return xtr[:n_train], ytr[:n_train], xva, yva


class PlaygroundSetting(NamedTuple):
    """One playground setting: the data, the network and its training (the controls of the panel)."""

    data: str = "circles"
    noise: float = 0.3
    n_train: int = 40
    activation: str = "ReLU"
    lr: float = 0.01
    width: int = 64
    p: float = 0.0
    weight_decay: float = 0.0
    batch_norm: bool = False


def playground_setting(**kwargs) -> PlaygroundSetting:
    """A checked ``PlaygroundSetting`` (noise and p rounded to 2 decimals: what a slider gives)."""
    s = PlaygroundSetting(**kwargs)
    _one_of(s.data, PLAYGROUND_SETS, "data"), _one_of(s.activation, ACTIVATIONS, "activation")
    return s._replace(noise=round(_non_negative(s.noise, "noise"), 2),
                      n_train=_count(s.n_train, "n_train", minimum=2, maximum=TRAIN_MAX),
                      lr=_positive(s.lr, "lr"), width=_count(s.width, "width", minimum=1),
                      p=round(_fraction(s.p, "p", open_high=True), 2),
                      weight_decay=_non_negative(s.weight_decay, "weight_decay"),
                      batch_norm=_flag(s.batch_norm, "batch_norm"))


def _layout(width: int, batch_norm: bool) -> list[tuple[str, tuple[int, ...]]]:
    """Names and shapes of the flat state: parameters first (what Adam updates), then BN's running statistics."""
    hidden = [("gamma", (1, width)), ("beta", (1, width))] if batch_norm else [("b", (1, width))]
    shapes = []
    for i, n_in in enumerate((2, width)):
        shapes += [(f"W{i}", (n_in, width))] + [(f"{name}{i}", shape) for name, shape in hidden]
    shapes += [("W2", (width, 2)), ("b2", (1, 2))]
    if batch_norm:
        shapes += [(f"{name}{i}", (1, width)) for i in range(2) for name in ("mean", "var")]
    return shapes


def _n_parameters(width: int, batch_norm: bool) -> int:
    return sum(math.prod(shape) for name, shape in _layout(width, batch_norm) if not name.startswith(("mean", "var")))


def _unpack(state: torch.Tensor, width: int, batch_norm: bool) -> dict[str, torch.Tensor]:
    """Views into ``state`` of shape (..., size), one per name of ``_layout`` (leading dims kept)."""
    views, start = {}, 0
    for name, shape in _layout(width, batch_norm):
        size = math.prod(shape)
        views[name] = state[..., start:start + size].unflatten(-1, shape)
        start += size
    return views


def _initial_state(setting: PlaygroundSetting, seed: int, dtype: torch.dtype) -> torch.Tensor:
    """The flat state of ``mlp([2, width, width, 2])`` as PyTorch initialises it under ``torch.manual_seed(seed)``."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = mlp([2, setting.width, setting.width, 2], batch_norm=setting.batch_norm, activation=setting.activation)
    linears = [m for m in net if isinstance(m, nn.Linear)]
    norms = [m for m in net if isinstance(m, nn.BatchNorm1d)]
    state = torch.zeros(sum(math.prod(s) for _, s in _layout(setting.width, setting.batch_norm)), dtype=dtype)
    views = _unpack(state, setting.width, setting.batch_norm)
    for i, linear in enumerate(linears):
        views[f"W{i}"].copy_(linear.weight.detach().T)          # (in, out): x @ W
        if linear.bias is not None:
            views[f"b{i}"].copy_(linear.bias.detach())
    for i, bn in enumerate(norms):
        for name, t in (("gamma", bn.weight), ("beta", bn.bias), ("mean", bn.running_mean), ("var", bn.running_var)):
            views[f"{name}{i}"].copy_(t.detach())
    return state


def _activate(kind: str, u: torch.Tensor) -> torch.Tensor:
    return torch.relu(u) if kind == "ReLU" else torch.tanh(u) if kind == "tanh" else u


def _slope(kind: str, u: torch.Tensor, a: torch.Tensor):
    """The activation's derivative at u (a = activation(u)); 1.0 for linear."""
    return (u > 0) if kind == "ReLU" else 1 - a * a if kind == "tanh" else 1.0


def playground_logits(state: torch.Tensor, x: torch.Tensor, setting: PlaygroundSetting) -> torch.Tensor:
    r"""Eval mode for S stacked states (S, size) on x (N, 2): $h \leftarrow \phi(h W' + b')$ twice, then $h W_2 + b_2$: (S, N, 2).

    Without BN, $W' = W$, $b' = b$; with BN, $\gamma\frac{hW - \mu_{run}}{\sqrt{\sigma^2_{run}+\epsilon}} + \beta$ is folded
    into $W' = W \cdot s$, $b' = \beta - \mu_{run} s$ with $s = \gamma / \sqrt{\sigma^2_{run}+\epsilon}$ (the same affine map).
    """
    w = _unpack(state, setting.width, setting.batch_norm)            # vectors (S, 1, n), matrices (S, n_in, n_out)
    h = x.to(state.dtype).expand(len(state), -1, -1)
    for i in range(2):
        weight = w[f"W{i}"]
        if setting.batch_norm:
            s = w[f"gamma{i}"] * torch.rsqrt(w[f"var{i}"] + _BN_EPS)
            weight, bias = weight * s, w[f"beta{i}"] - w[f"mean{i}"] * s
        else:
            bias = w[f"b{i}"]
        z = torch.baddbmm(bias, h, weight)                              # a fresh tensor: activated in place
        h = z.relu_() if setting.activation == "ReLU" else z.tanh_() if setting.activation == "tanh" else z
    return torch.baddbmm(w["b2"], h, w["W2"])


def _forward_backward(w: dict, g: dict, x: torch.Tensor, onehot: torch.Tensor, setting: PlaygroundSetting,
                      keep: float, generator: torch.Generator) -> torch.Tensor:
    """One train-mode step's loss; writes the gradient of the mean cross-entropy into the views ``g`` (backprop by hand)."""
    n, h, saved = len(x), x, []
    for i in range(2):                                                # forward: Linear -> [BN] -> act -> [dropout]
        z = h @ w[f"W{i}"]
        if setting.batch_norm:                                        # batch statistics; running ones updated
            mean = z.mean(0, keepdim=True)
            zc = z - mean
            var = (zc * zc).mean(0, keepdim=True)                     # biased batch variance
            inv = torch.rsqrt(var + _BN_EPS)
            z_hat = zc * inv
            u = w[f"gamma{i}"] * z_hat + w[f"beta{i}"]
            w[f"mean{i}"].mul_(1 - _BN_MOMENTUM).add_(mean, alpha=_BN_MOMENTUM)
            w[f"var{i}"].mul_(1 - _BN_MOMENTUM).add_(var, alpha=_BN_MOMENTUM * n / (n - 1))   # unbiased
        else:
            u, z_hat, inv = z + w[f"b{i}"], None, None
        a = _activate(setting.activation, u)
        scale = (torch.rand(a.shape, generator=generator, dtype=a.dtype) < keep).to(a.dtype) / keep if keep < 1 else None
        saved.append((h, u, a, z_hat, inv, scale))
        h = a if scale is None else a * scale                          # inverted dropout: kept units x 1/(1-p)
    logp = torch.log_softmax(h @ w["W2"] + w["b2"], 1)
    delta = (logp.exp() - onehot) / n                                 # d(mean CE)/d(logits) = (softmax - onehot)/N
    torch.mm(h.T, delta, out=g["W2"])
    torch.sum(delta, 0, keepdim=True, out=g["b2"])
    dh = delta @ w["W2"].T
    for i in (1, 0):                                                  # backward, layer by layer
        h_in, u, a, z_hat, inv, scale = saved[i]
        du = (dh if scale is None else dh * scale) * _slope(setting.activation, u, a)
        if setting.batch_norm:                                        # dz = inv (du' - mean(du') - z_hat mean(du' z_hat))
            torch.sum(du * z_hat, 0, keepdim=True, out=g[f"gamma{i}"])
            torch.sum(du, 0, keepdim=True, out=g[f"beta{i}"])
            dz_hat = du * w[f"gamma{i}"]
            dz = inv * (dz_hat - dz_hat.mean(0, keepdim=True) - z_hat * (dz_hat * z_hat).mean(0, keepdim=True))
        else:
            torch.sum(du, 0, keepdim=True, out=g[f"b{i}"])
            dz = du
        torch.mm(h_in.T, dz, out=g[f"W{i}"])
        if i:
            dh = dz @ w[f"W{i}"].T
    return -(logp * onehot).sum() / n


class PlaygroundRun(NamedTuple):
    """One trained setting: the state every ``SNAPSHOT_EVERY`` epochs and what was measured there."""

    setting: PlaygroundSetting
    epochs: np.ndarray         # 0, 2, ..., 200: the epochs of the snapshots
    states: torch.Tensor       # (snapshots, size): parameters and BN's running statistics at those epochs
    step_loss: np.ndarray      # (epochs,): the train-mode loss that each step reported (with dropout)
    train_loss: np.ndarray     # eval-mode cross-entropy on the training set, per snapshot
    val_loss: np.ndarray
    train_acc: np.ndarray
    val_acc: np.ndarray


def train_playground(setting: PlaygroundSetting, epochs: int = PLAYGROUND_EPOCHS, seed: int = 0,
                     dtype: torch.dtype = torch.float32) -> PlaygroundRun:
    r"""Full-batch training of ``mlp([2, width, width, 2])``: backprop by hand, then Adam $w \leftarrow w - \frac{\eta\,\hat m}{\sqrt{\hat v}+\epsilon}$ on $g + \lambda w$ (``helpers.optim.Adam.update``).

    The same numbers as ``mlp(...)`` + ``torch.optim.Adam(lr, weight_decay)`` (checked in the tests); written out
    so that one setting trains in a fraction of the time autograd and ``nn.Module`` take on such small tensors.
    """
    setting, epochs = playground_setting(**setting._asdict()), _count(epochs, "epochs")
    xtr, ytr, xva, yva = playground_data(setting.data, setting.n_train, setting.noise)
    x, onehot = xtr.to(dtype), nn.functional.one_hot(ytr, 2).to(dtype)
    state = _initial_state(setting, seed, dtype)
    n_params = _n_parameters(setting.width, setting.batch_norm)
    grad = torch.zeros_like(state)                                    # the BN buffers' slots stay 0
    w, g = _unpack(state, setting.width, setting.batch_norm), _unpack(grad, setting.width, setting.batch_norm)
    params, grads = state[:n_params], grad[:n_params]
    adam, generator = {}, torch.Generator().manual_seed(seed)                # Adam's state: step, m, v
    states = torch.empty(epochs // SNAPSHOT_EVERY + 1, len(state), dtype=dtype)
    states[0] = state
    step_loss = torch.empty(epochs, dtype=dtype)
    for t in range(1, epochs + 1):
        step_loss[t - 1] = _forward_backward(w, g, x, onehot, setting, 1.0 - setting.p, generator)
        params.copy_(Adam.update(params, grads, adam, lr=setting.lr, betas=_ADAM_BETAS, eps=_ADAM_EPS,
                                 weight_decay=setting.weight_decay, decoupled=False))   # the chapter-05 rule
        if t % SNAPSHOT_EVERY == 0:
            states[t // SNAPSHOT_EVERY] = state
    return _measure(setting, states, step_loss.numpy(), (xtr, ytr, xva, yva))


def _measure(setting, states, step_loss, data) -> PlaygroundRun:
    """Eval-mode loss and accuracy of every snapshot on the training and the validation set."""
    xtr, ytr, xva, yva = data
    with torch.no_grad():
        logits = playground_logits(states, torch.cat([xtr, xva]), setting)      # (S, N_train + N_val, 2)
        y = torch.cat([ytr, yva]).expand(len(states), -1)
        losses = nn.functional.cross_entropy(logits.transpose(1, 2), y, reduction="none")
        right = (logits.argmax(-1) == y).to(states.dtype)
    n = len(xtr)
    return PlaygroundRun(setting, np.arange(len(states)) * SNAPSHOT_EVERY, states, step_loss,
                         losses[:, :n].mean(1).numpy(), losses[:, n:].mean(1).numpy(),
                         right[:, :n].mean(1).numpy(), right[:, n:].mean(1).numpy())


@functools.lru_cache(maxsize=24)
def _cached_run(setting: PlaygroundSetting) -> PlaygroundRun:
    return train_playground(setting)


def playground_run(**kwargs) -> PlaygroundRun:
    """The run of one setting (keywords of ``PlaygroundSetting``), trained once and cached."""
    with torch.no_grad():
        return _cached_run(playground_setting(**kwargs))


@functools.lru_cache(maxsize=256)
def _cached_map(setting: PlaygroundSetting, index: int) -> np.ndarray:
    run = _cached_run(setting)
    grid = torch.stack(torch.meshgrid(MAP_GRID, MAP_GRID, indexing="xy"), -1).reshape(-1, 2)
    with torch.no_grad():
        logits = playground_logits(run.states[index:index + 1], grid, setting)[0]
    return torch.softmax(logits, -1)[:, 1].reshape(len(MAP_GRID), len(MAP_GRID)).numpy()


def playground_map(epoch: int, **kwargs) -> np.ndarray:
    """P(class 1) in eval mode on the grid ``MAP_GRID x MAP_GRID`` (rows: x2) after ``epoch`` epochs (a multiple of 2)."""
    epoch = _count(epoch, "epoch", maximum=PLAYGROUND_EPOCHS)
    if epoch % SNAPSHOT_EVERY:
        raise ValueError(f"epoch must be a multiple of {SNAPSHOT_EVERY} (a snapshot), got {epoch}")
    return _cached_map(playground_setting(**kwargs), epoch // SNAPSHOT_EVERY)


def train_reference(setting: PlaygroundSetting, epochs: int, seed: int = 0,
                    dtype: torch.dtype = torch.float32) -> tuple[list[float], nn.Sequential]:
    """The same training the plain way: ``mlp(...)`` + ``torch.optim.Adam``, full batch; the step losses and the model."""
    xtr, ytr, _, _ = playground_data(setting.data, setting.n_train, setting.noise)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = mlp([2, setting.width, setting.width, 2], dropout=setting.p, batch_norm=setting.batch_norm,
                    activation=setting.activation).to(dtype)
        optimizer = torch.optim.Adam(model.parameters(), lr=setting.lr, weight_decay=setting.weight_decay)
        losses = []
        for _ in range(epochs):
            loss = nn.functional.cross_entropy(model(xtr.to(dtype)), ytr)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return losses, model


# ----------------------------------------------------------------------------- batch-norm statistics over steps
BN_STEPS = 150
BN_MAX_BATCH = 128


@functools.lru_cache(maxsize=1)
def _bn_pool() -> np.ndarray:
    """Standard normal draws, one row per training step; a batch of size B uses the first B of a row."""
    return torch.randn(BN_STEPS, BN_MAX_BATCH, generator=torch.Generator().manual_seed(11), dtype=torch.float64).numpy()


class BNSimulation(NamedTuple):
    """One feature seen by batch norm over ``BN_STEPS`` training steps (one entry per step)."""

    batch_mean: np.ndarray
    batch_var: np.ndarray     # unbiased, as running_var uses it
    running_mean: np.ndarray
    running_var: np.ndarray
    true_mean: np.ndarray
    true_var: np.ndarray


def simulate_bn_statistics(batch_size: int, momentum: float, shift: bool = False) -> BNSimulation:
    r"""Batches of one feature $\sim N(1, 4)$ (with ``shift``: $N(3, 1)$ from step 75 on) and BN's running estimates $r_t = (1-m)\,r_{t-1} + m\,v_t$ from $(0, 1)$."""
    b, m = _count(batch_size, "batch_size", minimum=2), _fraction(momentum, "momentum")
    if b > BN_MAX_BATCH:
        raise ValueError(f"batch_size must be <= {BN_MAX_BATCH}, got {b}")
    mu, var = np.full(BN_STEPS, 1.0), np.full(BN_STEPS, 4.0)
    if _flag(shift, "shift"):
        mu[BN_STEPS // 2:], var[BN_STEPS // 2:] = 3.0, 1.0
    z = mu[:, None] + np.sqrt(var)[:, None] * _bn_pool()[:, :b]
    batch_mean, batch_var = z.mean(1), z.var(1, ddof=1)
    both = running_average(torch.from_numpy(np.stack([batch_mean, batch_var], 1)), m,
                           init=torch.tensor([0.0, 1.0], dtype=torch.float64))   # BN starts at 0 and 1
    run_mean, run_var = both.numpy().T
    return BNSimulation(batch_mean, batch_var, run_mean, run_var, mu, var)
