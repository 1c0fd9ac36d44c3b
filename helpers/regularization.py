r"""Chapter 7: regularization written from the formulas: dropout, batch norm, L2 penalty, early stopping.

Also the small pieces the chapter builds its experiments from: ``running_average`` (batch norm's
running statistics over many steps), ``mlp`` (a network with optional batch norm and dropout),
``RandomShift`` (a layer that moves each feature's distribution at every step, for the
internal-covariate-shift experiment), the over-fitting playground (``playground_data``; ``train_family``
trains a grid of dropout and weight-decay settings at once as stacked tensors; ``playground_run`` and
``playground_boundary`` read its cached results) and ``simulate_bn_statistics`` (batch statistics and
running estimates of one feature over many steps).

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
                     non_negative as _non_negative, positive as _positive)

__all__ = ["dropout", "dropout_scalings", "batch_norm", "running_average", "l2_penalty", "early_stopping_epoch", "mlp", "RandomShift",
           "PLAYGROUND_EPOCHS", "SNAPSHOT_EVERY", "LOSS_EVERY", "PLAYGROUND_PATIENCE", "P_GRID", "WD_GRID", "WIDTHS",
           "BOUNDARY_X", "BOUNDARY_Y", "playground_data", "train_reference", "train_family", "playground_run",
           "playground_boundary", "BN_STEPS", "BN_MAX_BATCH", "BNSimulation", "simulate_bn_statistics"]


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
def mlp(sizes: Sequence[int], *, dropout: float = 0.0, batch_norm: bool = False) -> nn.Sequential:
    r"""Per hidden layer $h = \mathrm{Dropout}_p(\mathrm{ReLU}(\mathrm{BN}(W h_{\text{prev}} [+ b])))$, then a last Linear; with BN the Linear has no bias (BN's $\beta$ replaces it)."""
    sizes = [_count(n, f"sizes[{i}]", minimum=1) for i, n in enumerate(sizes)]
    if len(sizes) < 2:
        raise ValueError(f"sizes must list at least 2 ints >= 1 (inputs, hidden..., outputs), got {sizes}")
    p, batch_norm = _fraction(dropout, "dropout"), _flag(batch_norm, "batch_norm")
    layers: list[nn.Module] = []
    for n_in, n_out in zip(sizes[:-2], sizes[1:-1]):
        layers.append(nn.Linear(n_in, n_out, bias=not batch_norm))   # a bias before BN is subtracted away
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
PLAYGROUND_EPOCHS = 200
SNAPSHOT_EVERY = 20          # weights kept every 20 epochs (for the decision boundary)
LOSS_EVERY = 5               # train / validation loss measured every 5 epochs
PLAYGROUND_PATIENCE = 4      # early stopping: 4 measurements (20 epochs) without improvement
P_GRID = (0.0, 0.2, 0.4, 0.6)
WD_GRID = (0.0, 1e-3, 1e-2, 1e-1)
WIDTHS = (4, 16, 64)
BOUNDARY_X = torch.linspace(-1.5, 3.1, 40)      # the grid on which the decision boundary is computed:
BOUNDARY_Y = torch.linspace(-1.45, 1.95, 28)    # it covers every training and validation point
_BN_EPS, _BN_MOMENTUM = 1e-5, 0.1               # BatchNorm1d's defaults


@functools.lru_cache(maxsize=1)
def playground_data() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Two moons with noise 0.3: 40 training points and 200 validation points (fixed seed)."""
    from .data import two_moons

    x, y = two_moons(240, noise=0.3, seed=3)
    return x[:40], y[:40], x[40:], y[40:]


def train_reference(p: float, weight_decay: float, width: int, batch_norm: bool,
                    epochs: int = PLAYGROUND_EPOCHS) -> list[float]:
    """One playground setting the plain way: ``mlp([2, width, width, 2])`` + ``Adam(lr=0.01, weight_decay)``, full batch.

    Returns the train-mode loss of every step. ``train_family`` trains a whole grid of (p, weight decay) at
    once; for p = 0 both give the same numbers (checked in the tests and the notebook).
    """
    xtr, ytr, _, _ = playground_data()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = mlp([2, width, width, 2], dropout=p, batch_norm=batch_norm)
        optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=weight_decay)
        losses = []
        for _ in range(epochs):
            loss = nn.functional.cross_entropy(model(xtr), ytr)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return losses


def _stacked_parameters(width: int, batch_norm: bool, copies: int) -> dict[str, torch.Tensor]:
    """The initial weights of ``mlp([2, width, width, 2])`` (seed 0), one copy per setting: shapes (S, in, out)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = mlp([2, width, width, 2], batch_norm=batch_norm)
    params = {}
    for i, k in enumerate((0, 3 if batch_norm else 2, -1)):                # the three Linear layers
        params[f"W{i}"] = net[k].weight.detach().T
        if net[k].bias is not None:
            params[f"b{i}"] = net[k].bias.detach()[None, :]
    if batch_norm:
        for i, k in enumerate((1, 4)):
            params[f"gamma{i}"] = net[k].weight.detach()[None, :]
            params[f"beta{i}"] = net[k].bias.detach()[None, :]
    return {name: t.expand(copies, *t.shape).clone().requires_grad_() for name, t in params.items()}


def _forward(params: dict, x: torch.Tensor, *, train: bool, keep: torch.Tensor, stats: list | None,
             generator: torch.Generator | None) -> torch.Tensor:
    """Logits (S, N, 2) of S stacked networks: Linear -> [BN] -> ReLU -> [Dropout] twice, then Linear."""
    h = x
    for i in range(2):
        h = torch.matmul(h, params[f"W{i}"])                              # (S, N, width)
        if stats is not None:                                             # batch norm over the N samples
            if train:
                mean = h.mean(1, keepdim=True)
                h = h - mean
                var = (h * h).mean(1, keepdim=True)                       # biased batch variance
                n = h.shape[1]
                with torch.no_grad():                                     # running = (1 - m) running + m batch
                    stats[i][0].mul_(1 - _BN_MOMENTUM).add_(_BN_MOMENTUM * mean)
                    stats[i][1].mul_(1 - _BN_MOMENTUM).add_(var * (_BN_MOMENTUM * n / (n - 1)))   # unbiased variance
            else:
                mean, var = stats[i]
                h = h - mean
            h = params[f"gamma{i}"] * h * torch.rsqrt(var + _BN_EPS) + params[f"beta{i}"]
        else:
            h = h + params[f"b{i}"]
        h = torch.relu(h)
        if train:                                                         # inverted dropout, one p per network
            mask = torch.rand(h.shape, generator=generator) < keep
            h = h * mask / keep
    return torch.matmul(h, params["W2"]) + params["b2"]


def train_family(width: int, batch_norm: bool, epochs: int = PLAYGROUND_EPOCHS,
                 settings: tuple[tuple[float, float], ...] | None = None) -> dict:
    r"""Train one network per (p, weight decay) setting at once, as stacked tensors (S networks, one Adam).

    Adam is elementwise, so one Adam over tensors of shape (S, ...) is S independent Adams; Adam's coupled
    weight decay adds $\lambda_s w$ to network s's gradient, written out here. Returns per-setting losses
    (train and validation in eval mode every 5 epochs, train mode every step), accuracies, and the weights
    every 20 epochs for the decision boundary.
    """
    settings = settings or tuple((p, wd) for p in P_GRID for wd in WD_GRID)
    xtr, ytr, xva, yva = playground_data()
    count = len(settings)
    keep = torch.tensor([1.0 - p for p, _ in settings]).view(-1, 1, 1)
    params = _stacked_parameters(width, batch_norm, count)
    decay = {name: torch.tensor([wd for _, wd in settings]).view(-1, *[1] * (t.ndim - 1)) for name, t in params.items()}
    stats = [[torch.zeros(count, 1, width), torch.ones(count, 1, width)] for _ in range(2)] if batch_norm else None
    optimizer = torch.optim.Adam(params.values(), lr=0.01)
    generator = torch.Generator().manual_seed(0)
    out = {"loss_epochs": [], "train": [], "val": [], "train_acc": [], "val_acc": [], "step": [], "snapshots": []}

    def per_network_loss(logits, y):                       # (S,) mean cross-entropy of each network
        flat = nn.functional.cross_entropy(logits.reshape(-1, 2), y.repeat(count), reduction="none")
        return flat.view(count, -1).mean(1)

    def measure(epoch):
        with torch.no_grad():
            for name, x, y in (("train", xtr, ytr), ("val", xva, yva)):
                logits = _forward(params, x, train=False, keep=keep, stats=stats, generator=None)
                out[name].append(per_network_loss(logits, y))
                out[f"{name}_acc"].append((logits.argmax(-1) == y).float().mean(1))
        out["loss_epochs"].append(epoch)
        if epoch % SNAPSHOT_EVERY == 0:
            copy = {name: t.detach().clone() for name, t in params.items()}
            out["snapshots"].append((copy, None if stats is None else [[s.clone() for s in pair] for pair in stats]))

    measure(0)
    for epoch in range(1, epochs + 1):
        losses = per_network_loss(_forward(params, xtr, train=True, keep=keep, stats=stats, generator=generator), ytr)
        optimizer.zero_grad()
        losses.sum().backward()                            # network s gets the gradient of its own loss only
        with torch.no_grad():
            for name, t in params.items():                 # Adam(weight_decay=wd): grad + wd * w
                t.grad.add_(decay[name] * t)
        optimizer.step()
        out["step"].append(losses.detach())
        if epoch % LOSS_EVERY == 0:
            measure(epoch)
    result = {k: torch.stack(v, 1).numpy() for k, v in out.items() if k not in ("loss_epochs", "snapshots")}
    result.update(loss_epochs=np.asarray(out["loss_epochs"]), snapshots=out["snapshots"], settings=settings,
                  keep=keep, width=width, batch_norm=batch_norm)
    return result


@functools.lru_cache(maxsize=8)
def _family(width: int, batch_norm: bool) -> dict:
    with torch.random.fork_rng(devices=[]):
        return train_family(width, batch_norm)


def _nearest(value: float, grid: tuple[float, ...]) -> float:
    return min(grid, key=lambda g: abs(g - float(value)))


def _setting(p: float, weight_decay: float, width: int, batch_norm: bool) -> tuple[dict, int]:
    """The cached family of (width, batch_norm) and the index of (p, weight_decay) in it (nearest grid values)."""
    family = _family(int(width), bool(batch_norm))
    return family, family["settings"].index((_nearest(p, P_GRID), _nearest(weight_decay, WD_GRID)))


def playground_run(p: float, weight_decay: float, width: int, batch_norm: bool) -> dict[str, np.ndarray]:
    """The cached run of one setting (p in P_GRID, weight_decay in WD_GRID, width in WIDTHS; nearest values)."""
    family, s = _setting(p, weight_decay, width, batch_norm)
    run = {k: family[k][s] for k in ("train", "val", "train_acc", "val_acc", "step")}
    run["loss_epochs"] = family["loss_epochs"]
    return run


@functools.lru_cache(maxsize=512)
def playground_boundary(p: float, weight_decay: float, width: int, batch_norm: bool, epoch: int) -> np.ndarray:
    """P(class 1) on the grid ``BOUNDARY_Y x BOUNDARY_X``, in eval mode, after ``epoch`` epochs (a multiple of 20)."""
    family, s = _setting(p, weight_decay, width, batch_norm)
    params, stats = family["snapshots"][int(epoch) // SNAPSHOT_EVERY]
    one = {name: t[s:s + 1] for name, t in params.items()}
    one_stats = None if stats is None else [[t[s:s + 1] for t in pair] for pair in stats]
    grid = torch.stack(torch.meshgrid(BOUNDARY_X, BOUNDARY_Y, indexing="xy"), -1).reshape(-1, 2)
    with torch.no_grad():
        logits = _forward(one, grid, train=False, keep=family["keep"][s:s + 1], stats=one_stats, generator=None)
    return torch.softmax(logits[0], -1)[:, 1].reshape(len(BOUNDARY_Y), len(BOUNDARY_X)).numpy()


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
