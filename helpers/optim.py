r"""Chapter 5: gradient-descent optimizers written from their formulas.

Every optimizer here is a ``torch.optim.Optimizer`` subclass, so it drops into any training
loop (and works with any ``torch.optim.lr_scheduler``) in place of PyTorch's own. The shared
loop in ``_FormulaOptimizer.step`` visits every parameter that has a gradient; each class
writes its formula in ``update(w, g, state, **settings)``, a few lines that read like the notes
and return the new ``w``. Only ``+ - * /`` and ``** 0.5`` appear there, so the same lines run on a
tensor, on a numpy array or on one Python float: the race, the momentum map and the AdaGrad/RMSProp
panel of the chapter call these very rules (one copy of each).

- ``SGD``: $w \leftarrow w - \eta\, v$ with PyTorch's momentum buffer $v_1 = g_1$,
  $v_t = \mu v_{t-1} + (1-\tau) g_t$ (no $(1-\beta)$ factor on the first step);
- ``NotesMomentum``: the notes' EMA form $V_t = \beta V_{t-1} + (1-\beta) g_t$, $V_0 = 0$;
  it equals ``SGD(lr=\eta(1-\beta), momentum=\beta)`` exactly (erratum E30);
- ``Adagrad``, ``RMSprop``, ``Adam``, ``AdamW`` (= ``Adam(decoupled=True)``) and ``NAdam``.

``OPTIMIZERS`` holds one record (``OptimizerSpec``) per optimizer of the race: its label, the race
controls it reads, its class here, PyTorch's class and its formula. Adding an optimizer to the
chapter is one record (plus its class, if it is new).

Below the optimizers: the exponential moving average behind all of them (``ema``), the best step
size and momentum for a quadratic (Goh, "Why Momentum Really Works", Distill 2017) with the heavy
ball's rate and step counts, the AdaGrad/RMSProp effective learning rate, a runner that records an
optimizer's path on a 2-D surface (``optimize_path`` with autograd, ``race_path`` with floats), and
a 1-D double well. Last, what the race panel shows besides the paths: its named starts (``NAMED_STARTS``),
its free start (``view_point``), its rule for a chaotic result (``race_chaotic``), and Distill's component
view: a surface's Hessian (``surface_hessian``), the error along each of its eigenvectors under GD or the
heavy ball (``eigen_errors``) and each component's rate (``component_rates``).
"""
from __future__ import annotations

import dataclasses
import math
from typing import Callable, Iterable, Sequence

import numpy as np
import torch

from .checks import flag as _flag, integer as _integer, non_negative as _non_negative, positive as _positive, \
    real as _real
from .data import Surface

__all__ = [
    "SGD", "NotesMomentum", "Adagrad", "RMSprop", "Adam", "AdamW", "NAdam",
    "Hyper", "OptimizerSpec", "OPTIMIZERS", "ema",
    "gd_optimal", "momentum_optimal", "heavy_ball_rate", "heavy_ball_run", "heavy_ball_steps",
    "effective_lr", "quiet_gradients", "noisy_wave",
    "optimize_path", "steps_to_tolerance", "surface_gradient", "lowest_value", "race_path", "double_well",
    "NAMED_STARTS", "view_point", "outcomes_differ", "race_chaotic", "surface_hessian", "eigen_errors", "component_rates",
]


# ----------------------------------------------------------------------------- input checks
def _decay(value, name: str) -> float:
    """A decay factor such as beta or alpha: a real number in [0, 1)."""
    value = _real(value, name)
    if not 0 <= value < 1:
        raise ValueError(f"{name} must be in [0, 1), got {value}")
    return value


def _curvatures(l_min, l_max) -> tuple[float, float]:
    l_min, l_max = _positive(l_min, "l_min"), _positive(l_max, "l_max")
    if l_min > l_max:
        raise ValueError(f"l_min must be <= l_max, got l_min={l_min} and l_max={l_max}")
    return l_min, l_max


def _series(values) -> torch.Tensor:
    """``values`` as a 1-D floating-point tensor (a list or an integer tensor becomes float64)."""
    if isinstance(values, torch.Tensor):
        x = values if values.is_floating_point() else values.to(torch.float64)
    else:
        x = torch.tensor(list(values), dtype=torch.float64)
    if x.ndim != 1:
        raise ValueError(f"values must be 1-D, got shape {tuple(x.shape)}")
    return x


def _gradients(grads) -> list[float]:
    """A sequence of non-zero gradients, as floats (an effective rate divides by |g|)."""
    grads = [_real(g, "grads[k]") for g in np.asarray(grads, dtype=float).ravel().tolist()]
    if any(g == 0 for g in grads):
        raise ValueError("grads must all be non-zero: the effective learning rate divides by |g|")
    return grads


def _betas(betas) -> tuple[float, float]:
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise TypeError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    return _decay(betas[0], "betas[0]"), _decay(betas[1], "betas[1]")


# ----------------------------------------------------------------------------- the shared loop
class _FormulaOptimizer(torch.optim.Optimizer):
    """Sets every parameter whose gradient is not None to ``update(w, g, state, **settings)``."""

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor | None:
        """One update of every parameter that has a gradient; ``closure`` re-evaluates the loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            settings = {key: group[key] for key in self.defaults}
            for w in group["params"]:
                if w.grad is None:  # not used in this loss: skipped, its state untouched (as in PyTorch)
                    continue
                if w.grad.is_sparse:
                    raise RuntimeError(f"{type(self).__name__} does not support sparse gradients")
                # a copy of g: a buffer may keep it, and zero_grad(set_to_none=False) zeroes w.grad in place
                w.copy_(self.update(w, w.grad.clone(), self.state[w], **settings))
        return loss

    @staticmethod
    def update(w, g, state: dict, **settings):
        """The new value of ``w`` by the optimizer's formula (``state``: this parameter's buffers, updated)."""
        raise NotImplementedError


# ----------------------------------------------------------------------------- the optimizers
class SGD(_FormulaOptimizer):
    r"""SGD with PyTorch's momentum: $v_1 = g_1$, $v_t = \mu v_{t-1} + (1-\tau) g_t$, $w \leftarrow w - \eta v_t$.

    With ``weight_decay`` $\lambda$ the gradient is $g + \lambda w$ first; with ``nesterov`` the
    step uses $g + \mu v_t$ instead of $v_t$. ``momentum=0`` is plain $w \leftarrow w - \eta g$.
    """

    def __init__(self, params: Iterable, lr: float, momentum: float = 0.0, dampening: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0) -> None:
        momentum, dampening = _non_negative(momentum, "momentum"), _real(dampening, "dampening")
        if not 0 <= dampening <= 1:
            raise ValueError(f"dampening must be in [0, 1], got {dampening}")
        if _flag(nesterov, "nesterov") and (momentum == 0 or dampening != 0):
            raise ValueError(f"nesterov=True needs momentum > 0 and dampening = 0, "
                             f"got momentum={momentum} and dampening={dampening}")
        super().__init__(params, dict(lr=_non_negative(lr, "lr"), momentum=momentum, dampening=dampening,
                                      nesterov=nesterov, weight_decay=_non_negative(weight_decay, "weight_decay")))

    @staticmethod
    def update(w, g, state, *, lr, momentum, dampening, nesterov, weight_decay):
        if weight_decay != 0:
            g = g + weight_decay * w                          # L2 penalty: g <- g + lambda w
        if "momentum_buffer" in state:
            v = momentum * state["momentum_buffer"] + (1 - dampening) * g   # v_t = mu v_{t-1} + (1 - tau) g_t
        else:
            v = g                                             # first step: v_1 = g_1 (no dampening)
        state["momentum_buffer"] = v                          # (momentum = 0: v_t = g_t, plain SGD)
        step = g + momentum * v if nesterov else v            # Nesterov looks one step ahead
        return w - lr * step                                  # w <- w - lr * step


class NotesMomentum(_FormulaOptimizer):
    r"""The notes' momentum: $V_t = \beta V_{t-1} + (1-\beta) g_t$ with $V_0 = 0$, $w \leftarrow w - \eta V_t$.

    Since $V_t = (1-\beta)\,v_t$ for PyTorch's buffer $v_t = \beta v_{t-1} + g_t$, this is exactly
    ``SGD(lr=lr * (1 - beta), momentum=beta)``, from the first step on.
    """

    def __init__(self, params: Iterable, lr: float, beta: float = 0.9) -> None:
        super().__init__(params, dict(lr=_non_negative(lr, "lr"), beta=_decay(beta, "beta")))

    @staticmethod
    def update(w, g, state, *, lr, beta):
        V = beta * state.get("V", 0.0) + (1 - beta) * g     # EMA of the gradients, V_0 = 0
        state["V"] = V
        return w - lr * V                                    # w <- w - lr * V_t


class Adagrad(_FormulaOptimizer):
    r"""AdaGrad: $G_t = G_{t-1} + g_t \odot g_t$, $w \leftarrow w - \frac{\eta}{\sqrt{G_t} + \varepsilon} \odot g_t$."""

    def __init__(self, params: Iterable, lr: float = 0.01, eps: float = 1e-10) -> None:
        super().__init__(params, dict(lr=_non_negative(lr, "lr"), eps=_non_negative(eps, "eps")))

    @staticmethod
    def update(w, g, state, *, lr, eps):
        G = state.get("sum", 0.0) + g * g                   # sum of squared gradients, never shrinks
        state["sum"] = G
        return w - lr * g / (G ** 0.5 + eps)                # per-coordinate step lr / (sqrt(G) + eps)


class RMSprop(_FormulaOptimizer):
    r"""RMSProp: $V_t = \alpha V_{t-1} + (1-\alpha)\, g_t \odot g_t$, $w \leftarrow w - \frac{\eta}{\sqrt{V_t} + \varepsilon} \odot g_t$."""

    def __init__(self, params: Iterable, lr: float = 0.01, alpha: float = 0.99, eps: float = 1e-8) -> None:
        super().__init__(params, dict(lr=_non_negative(lr, "lr"), alpha=_decay(alpha, "alpha"),
                                      eps=_non_negative(eps, "eps")))

    @staticmethod
    def update(w, g, state, *, lr, alpha, eps):
        V = alpha * state.get("square_avg", 0.0) + (1 - alpha) * g * g   # EMA of g^2: it forgets
        state["square_avg"] = V
        return w - lr * g / (V ** 0.5 + eps)


class Adam(_FormulaOptimizer):
    r"""Adam: $m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t$, $v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2$, $w \leftarrow w - \eta\,\frac{\hat m_t}{\sqrt{\hat v_t} + \varepsilon}$.

    Bias correction: $\hat m_t = m_t / (1-\beta_1^t)$, $\hat v_t = v_t / (1-\beta_2^t)$.
    Weight decay $\lambda$: ``decoupled=False`` adds $\lambda w$ to the gradient (L2 inside Adam, like
    ``torch.optim.Adam``); ``decoupled=True`` is AdamW, $w \leftarrow w - \eta\lambda w$ before the Adam step.
    """

    def __init__(self, params: Iterable, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, decoupled: bool = False) -> None:
        super().__init__(params, dict(lr=_non_negative(lr, "lr"), betas=_betas(betas), eps=_non_negative(eps, "eps"),
                                      weight_decay=_non_negative(weight_decay, "weight_decay"),
                                      decoupled=_flag(decoupled, "decoupled")))

    @staticmethod
    def update(w, g, state, *, lr, betas, eps, weight_decay, decoupled):
        (beta1, beta2), t = betas, state.get("step", 0) + 1
        if weight_decay != 0 and decoupled:
            w = w * (1 - lr * weight_decay)                 # AdamW: shrink the weights directly
        elif weight_decay != 0:
            g = g + weight_decay * w                        # L2: the penalty's gradient joins g
        m = beta1 * state.get("exp_avg", 0.0) + (1 - beta1) * g        # first moment (momentum)
        v = beta2 * state.get("exp_avg_sq", 0.0) + (1 - beta2) * g * g  # second moment (RMSProp)
        state.update(step=t, exp_avg=m, exp_avg_sq=v)
        m_hat = m / (1 - beta1 ** t)                        # bias correction: the EMA weights
        v_hat = v / (1 - beta2 ** t)                        # sum to 1 - beta^t, not to 1
        return w - lr * m_hat / (v_hat ** 0.5 + eps)


class AdamW(Adam):
    r"""AdamW: $w \leftarrow w(1 - \eta\lambda)$, then the Adam step; ``Adam(decoupled=True)`` with ``torch.optim.AdamW``'s signature."""

    def __init__(self, params: Iterable, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, decoupled=True)


class NAdam(_FormulaOptimizer):
    r"""NAdam: Adam with Nesterov's look-ahead, $w \leftarrow w - \eta\Big(\frac{(1-\mu_t)\,g_t}{1-\prod_{i\le t}\mu_i} + \frac{\mu_{t+1}\,m_t}{1-\prod_{i\le t+1}\mu_i}\Big) \Big/ \big(\sqrt{\hat v_t} + \varepsilon\big)$.

    The momentum warms up: $\mu_t = \beta_1\big(1 - \tfrac12\, 0.96^{\,t\psi}\big)$ with $\psi$ = ``momentum_decay``;
    $m_t$, $v_t$ and $\hat v_t$ are Adam's. ``weight_decay`` adds $\lambda w$ to $g$ (L2), as ``torch.optim.NAdam`` does.
    """

    def __init__(self, params: Iterable, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum_decay: float = 4e-3) -> None:
        super().__init__(params, dict(lr=_non_negative(lr, "lr"), betas=_betas(betas), eps=_non_negative(eps, "eps"),
                                      weight_decay=_non_negative(weight_decay, "weight_decay"),
                                      momentum_decay=_non_negative(momentum_decay, "momentum_decay")))

    @staticmethod
    def update(w, g, state, *, lr, betas, eps, weight_decay, momentum_decay):
        (beta1, beta2), t = betas, state.get("step", 0) + 1
        if weight_decay != 0:
            g = g + weight_decay * w                        # L2: the penalty's gradient joins g
        mu = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))              # momentum of this step
        mu_next = beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))  # ... and of the next one
        product = state.get("mu_product", 1.0) * mu                        # mu_1 mu_2 ... mu_t
        m = beta1 * state.get("exp_avg", 0.0) + (1 - beta1) * g
        v = beta2 * state.get("exp_avg_sq", 0.0) + (1 - beta2) * g * g
        state.update(step=t, mu_product=product, exp_avg=m, exp_avg_sq=v)
        denom = (v / (1 - beta2 ** t)) ** 0.5 + eps
        return w - lr * ((1 - mu) / (1 - product) * g + mu_next / (1 - product * mu_next) * m) / denom


# ----------------------------------------------------------------------------- one record per optimizer
@dataclasses.dataclass(frozen=True)
class Hyper:
    """A hyper-parameter of the race: its keyword ``name``, the ``key`` of its range (records that share a range share
    the key), label, range and default. The race panel gives each optimizer its own control of it."""
    name: str
    key: str
    label: str
    low: float            # with log=True: log10 of the lowest value
    high: float
    default: float
    step: float
    log: bool = False
    short: str = ""       # how the readout's table names it ("" for lr)
    fmt: str = ".2f"


LR_SGD = Hyper("lr", "lr_sgd", "lr", -4, 0, 1e-3, 0.1, log=True)
LR_ADAPTIVE = Hyper("lr", "lr_adaptive", "lr", -3, 0, 0.1, 0.1, log=True)
BETA1 = Hyper("beta1", "beta1", "beta / beta1", 0.0, 0.99, 0.9, 0.01, short="b1")
BETA2 = Hyper("beta2", "beta2", "beta2 (RMSProp: alpha)", 0.8, 0.999, 0.99, 0.001, short="b2", fmt=".3f")
DECAY = Hyper("weight_decay", "weight_decay", "weight decay (Adam: L2, AdamW: decoupled)", 0.0, 1.0, 0.0, 0.05,
              short="wd")


@dataclasses.dataclass(frozen=True)
class OptimizerSpec:
    """One optimizer of the chapter: label, the race controls it reads, its class here, PyTorch's factory, formula."""
    label: str
    hypers: tuple[Hyper, ...]                              # the race controls it reads, by keyword name
    ours: Callable[..., torch.optim.Optimizer]             # lambda params, **hp: a class of this module
    torch: Callable[..., torch.optim.Optimizer]            # lambda params, **hp: the same in torch.optim
    formula: str                                           # the update in LaTeX
    cls: type                                              # the class of this module that ``ours`` builds
    race_on: bool = False                                  # switched on when the race opens


def _spec(label: str, cls: type, theirs: type, hypers: tuple[Hyper, ...], settings: Callable[..., dict],
          formula: str, race_on: bool = False) -> OptimizerSpec:
    """A record whose two factories pass the same keyword arguments ``settings(**hp)`` to ``cls`` and ``theirs``."""
    return OptimizerSpec(label, hypers, lambda params, **hp: cls(params, **settings(**hp)),
                         lambda params, **hp: theirs(params, **settings(**hp)), formula, cls, race_on)


_ADAM_SETTINGS = lambda lr, beta1, beta2, weight_decay: dict(lr=lr, betas=(beta1, beta2), weight_decay=weight_decay)  # noqa: E731

OPTIMIZERS: dict[str, OptimizerSpec] = {spec.label: spec for spec in (
    _spec("SGD", SGD, torch.optim.SGD, (LR_SGD,), lambda lr: dict(lr=lr),
          r"w \leftarrow w - \eta g_t", race_on=True),
    _spec("Momentum", SGD, torch.optim.SGD, (LR_SGD, BETA1), lambda lr, beta1: dict(lr=lr, momentum=beta1),
          r"v_t = \beta v_{t-1} + g_t,\ w \leftarrow w - \eta v_t", race_on=True),
    _spec("Nesterov", SGD, torch.optim.SGD, (LR_SGD, BETA1),
          lambda lr, beta1: dict(lr=lr, momentum=beta1, nesterov=beta1 > 0),   # beta = 0: plain SGD, as in torch
          r"v_t = \beta v_{t-1} + g_t,\ w \leftarrow w - \eta (g_t + \beta v_t)"),
    _spec("AdaGrad", Adagrad, torch.optim.Adagrad, (LR_ADAPTIVE,), lambda lr: dict(lr=lr),
          r"G_t = G_{t-1} + g_t^2,\ w \leftarrow w - \frac{\eta\, g_t}{\sqrt{G_t} + \varepsilon}"),
    _spec("RMSProp", RMSprop, torch.optim.RMSprop, (LR_ADAPTIVE, BETA2), lambda lr, beta2: dict(lr=lr, alpha=beta2),
          r"V_t = \alpha V_{t-1} + (1-\alpha) g_t^2,\ w \leftarrow w - \frac{\eta\, g_t}{\sqrt{V_t} + \varepsilon}",
          race_on=True),
    _spec("Adam", Adam, torch.optim.Adam, (LR_ADAPTIVE, BETA1, BETA2, DECAY), _ADAM_SETTINGS,
          r"w \leftarrow w - \eta \frac{\hat m_t}{\sqrt{\hat v_t} + \varepsilon},\ g_t \mathrel{+}= \lambda w",
          race_on=True),
    _spec("AdamW", AdamW, torch.optim.AdamW, (LR_ADAPTIVE, BETA1, BETA2, DECAY), _ADAM_SETTINGS,
          r"w \leftarrow (1 - \eta\lambda) w - \eta \frac{\hat m_t}{\sqrt{\hat v_t} + \varepsilon}"),
    _spec("NAdam", NAdam, torch.optim.NAdam, (LR_ADAPTIVE, BETA1, BETA2, DECAY), _ADAM_SETTINGS,
          r"w \leftarrow w - \eta \frac{\frac{1-\mu_t}{1-\prod_{i \le t} \mu_i} g_t"
          r" + \frac{\mu_{t+1}}{1-\prod_{i \le t+1} \mu_i} m_t}{\sqrt{\hat v_t} + \varepsilon}"),
)}


def _spec_named(spec: OptimizerSpec | str) -> OptimizerSpec:
    if isinstance(spec, OptimizerSpec):
        return spec
    if spec not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {list(OPTIMIZERS)}, got {spec!r}")
    return OPTIMIZERS[spec]


# ----------------------------------------------------------------------------- EMA
def ema(values: torch.Tensor | Sequence[float], beta: float, *, bias_correction: bool = False) -> torch.Tensor:
    r"""$v_t = \beta v_{t-1} + (1-\beta) x_t$ with $v_0 = 0$ (so $v_t = \sum_k (1-\beta)\beta^k x_{t-k}$); optionally $v_t / (1-\beta^t)$."""
    x, beta = _series(values), _decay(beta, "beta")
    out, v = torch.empty_like(x), 0.0
    for t in range(1, len(x) + 1):
        v = beta * v + (1 - beta) * x[t - 1]
        out[t - 1] = v / (1 - beta ** t) if bias_correction else v
    return out


def noisy_wave(n: int = 150, seed: int = 0, noise: float = 0.8) -> tuple[np.ndarray, np.ndarray]:
    r"""A slow signal $5 + 2\sin(2\pi t/60)$, $t = 1..n$, and its observations with Gaussian noise of std ``noise``."""
    n, noise = _integer(n, "n", 1), _non_negative(noise, "noise")
    t = np.arange(1, n + 1)
    signal = 5 + 2 * np.sin(2 * np.pi * t / 60)
    draws = torch.randn(n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64).numpy()
    return signal, signal + noise * draws


# ----------------------------------------------------------------------------- quadratics (Distill)
def gd_optimal(l_min: float, l_max: float) -> tuple[float, float]:
    r"""Best gradient-descent step for curvatures in $[\lambda_1, \lambda_n]$: $\alpha = \frac{2}{\lambda_1+\lambda_n}$, rate $\frac{\kappa-1}{\kappa+1}$, $\kappa = \lambda_n/\lambda_1$."""
    l_min, l_max = _curvatures(l_min, l_max)
    kappa = l_max / l_min
    return 2 / (l_min + l_max), (kappa - 1) / (kappa + 1)


def momentum_optimal(l_min: float, l_max: float) -> tuple[float, float, float]:
    r"""Best heavy ball: $\alpha = \big(\frac{2}{\sqrt{\lambda_1}+\sqrt{\lambda_n}}\big)^2$, $\beta = \big(\frac{\sqrt\kappa-1}{\sqrt\kappa+1}\big)^2$, rate $\frac{\sqrt\kappa-1}{\sqrt\kappa+1}$."""
    l_min, l_max = _curvatures(l_min, l_max)
    root_kappa = math.sqrt(l_max / l_min)
    rate = (root_kappa - 1) / (root_kappa + 1)
    return (2 / (math.sqrt(l_min) + math.sqrt(l_max))) ** 2, rate ** 2, rate


def heavy_ball_rate(lams: Sequence[float], lr, beta) -> np.ndarray:
    r"""Convergence rate $\max_i |z|$ over the roots of $z^2 - (1 + \beta - \alpha\lambda_i) z + \beta = 0$ (Goh 2017); arrays broadcast."""
    lr, beta = np.asarray(lr, dtype=float), np.asarray(beta, dtype=float)
    rate = np.zeros(np.broadcast(lr, beta).shape)
    for lam in lams:
        b = 1 + beta - lr * lam
        disc = b * b - 4 * beta
        root = np.sqrt(np.abs(disc))
        real_roots = np.maximum(np.abs(b + root), np.abs(b - root)) / 2
        rate = np.maximum(rate, np.where(disc >= 0, real_roots, np.sqrt(beta)))  # complex pair: |z| = sqrt(beta)
    return rate


def _momentum_step(w, lams, lr, beta, state):
    """One ``SGD(lr, momentum=beta)`` step on $f = \\tfrac12\\sum_i \\lambda_i w_i^2$ (gradient $\\lambda \\odot w$), by ``SGD.update``."""
    return SGD.update(w, lams * w, state, lr=lr, momentum=beta, dampening=0.0, nesterov=False, weight_decay=0.0)


def heavy_ball_run(lams: Sequence[float], start: Sequence[float], lr: float, beta: float, steps: int,
                   tol: float) -> tuple[np.ndarray, np.ndarray, int]:
    r"""``SGD(lr, momentum=beta)`` on $f = \tfrac12\sum_i \lambda_i w_i^2$: path, $f$ along it, first $k$ with $f(w_k) \le \mathrm{tol}\, f(w_0)$ (-1: none; the run stops there)."""
    steps, tol = _integer(steps, "steps"), _non_negative(tol, "tol")
    lams, w = [float(lam) for lam in lams], [float(c) for c in start]
    states = [{} for _ in w]                                # one coordinate at a time, as Python floats (fast)
    f0 = 0.5 * sum(lam * c * c for lam, c in zip(lams, w))
    path, losses, hit = [w], [f0], -1
    for k in range(1, steps + 1):
        w = [_momentum_step(c, lam, lr, beta, state) for c, lam, state in zip(w, lams, states)]
        if not all(abs(c) < 1e150 for c in w):
            break
        f = 0.5 * sum(lam * c * c for lam, c in zip(lams, w))
        path.append(w)
        losses.append(f)
        if f <= tol * f0:
            hit = k
            break
    return np.array(path), np.array(losses), hit


def heavy_ball_steps(lams: Sequence[float], start: Sequence[float], lr: float, betas: Sequence[float],
                     tol: float, max_steps: int) -> np.ndarray:
    r"""For each β, the first $k$ with $f(w_k) \le \mathrm{tol}\cdot f(w_0)$ under ``SGD(lr, momentum=β)``, or -1 within ``max_steps``."""
    max_steps, tol, lams = _integer(max_steps, "max_steps"), _non_negative(tol, "tol"), np.asarray(lams, dtype=float)
    betas = np.asarray(betas, dtype=float)[:, None]        # one run per row, all in one array
    w = np.tile(np.asarray(start, dtype=float), (len(betas), 1))
    target, state = tol * 0.5 * float((lams * w[0] * w[0]).sum()), {}
    found = np.full(len(betas), -1)
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(1, max_steps + 1):
            w = _momentum_step(w, lams, lr, betas, state)
            f = 0.5 * (lams * w * w).sum(1)
            found[(found < 0) & (f <= target)] = k
            if k % 25 == 0 and np.all((found >= 0) | ~np.isfinite(f)):   # every row done or diverged
                break
    return found


# ----------------------------------------------------------------------------- AdaGrad vs RMSProp
def quiet_gradients(quiet: float, n: int = 240, loud: float = 1.0, start: int = 60, stop: int = 160) -> np.ndarray:
    """A gradient of size ``loud`` that drops to ``quiet`` for steps ``start..stop-1`` and then comes back."""
    n, quiet, loud = _integer(n, "n", 1), _positive(quiet, "quiet"), _positive(loud, "loud")
    g = np.full(n, loud)
    g[start:stop] = quiet
    return g


def effective_lr(make: Callable[..., torch.optim.Optimizer], grads: Sequence[float], **hp) -> np.ndarray:
    r"""$|\Delta w_t| / |g_t|$ at every step for the gradients ``grads``: the learning rate that the rule of ``make([w], **hp)`` applies."""
    grads, optimizer = _gradients(grads), make([torch.zeros(1, dtype=torch.float64)], **hp)
    rule, settings, state = optimizer.update, optimizer.defaults, {}
    w, rates = 0.0, []
    for g in grads:
        w, before = rule(w, g, state, **settings), w
        rates.append(abs(w - before) / abs(g))
    return np.array(rates)


# ----------------------------------------------------------------------------- paths on a surface
def optimize_path(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], start: Sequence[float],
                  make_optimizer: Callable[[list[torch.Tensor]], torch.optim.Optimizer],
                  steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Run ``make_optimizer([w])`` on $f(x, y)$ from ``start`` (float64): path $(w_0, \dots, w_T)$ and $f(w_k)$; NaN once $f$ is not finite."""
    if not callable(fn):
        raise TypeError(f"fn must be callable as fn(x, y), got {type(fn).__name__}")
    if not callable(make_optimizer):
        raise TypeError(f"make_optimizer must be callable as make_optimizer(params), got {type(make_optimizer).__name__}")
    steps = _integer(steps, "steps")
    start = torch.as_tensor(start, dtype=torch.float64)
    if start.shape != (2,) or not bool(torch.isfinite(start).all()):
        raise ValueError(f"start must be two finite numbers (x, y), got {start.tolist()}")

    w = start.clone().requires_grad_(True)
    optimizer = make_optimizer([w])
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"make_optimizer must return a torch.optim.Optimizer, got {type(optimizer).__name__}")
    path = torch.full((steps + 1, 2), math.nan, dtype=torch.float64)
    losses = torch.full((steps + 1,), math.nan, dtype=torch.float64)
    for k in range(steps + 1):
        optimizer.zero_grad()
        loss = fn(w[0], w[1])
        if not bool(torch.isfinite(loss)):  # diverged: leave the rest of the path as NaN
            break
        path[k], losses[k] = w.detach(), loss.detach()
        if k < steps:
            loss.backward()
            optimizer.step()
    return path, losses


def steps_to_tolerance(losses: torch.Tensor | Sequence[float], f_min: float, tol: float) -> int | None:
    r"""The first $k$ with $f(w_k) - f_{\min} \le \mathrm{tol}$, or None if the path never gets there."""
    f_min, tol = _real(f_min, "f_min"), _positive(tol, "tol")
    values = losses.tolist() if isinstance(losses, torch.Tensor) else list(losses)
    for k, value in enumerate(values):
        if value - f_min <= tol:  # NaN compares False, so a diverged path never counts
            return k
    return None


def surface_gradient(fn: Callable, x: float, y: float, h: float = 1e-20) -> tuple[float, float, float]:
    r"""$f(x, y)$ and $\nabla f$ by the complex step $\partial_x f = \operatorname{Im} f(x + ih, y) / h$ (no subtraction, so no cancellation)."""
    fx = fn(complex(x, h), y)
    fy = fn(x, complex(y, h))
    # f itself from real inputs: Re f(x + ih, y) = f - h^2 f_xx / 2 + ..., which can dip below the minimum
    return float(fn(x, y)), fx.imag / h, fy.imag / h


def lowest_value(surface: Surface) -> float:
    r"""$f^* = \min_k f(m_k)$ over the listed minima $m_k$ of ``surface``."""
    return min(float(surface.fn(float(a), float(b))) for a, b in surface.minima)


def race_path(optimizer: OptimizerSpec | str, fn: Callable, start: Sequence[float], steps: int, *,
              limit: float = 1e6, **hp) -> tuple[np.ndarray, np.ndarray]:
    r"""Path $(w_0, \dots, w_T)$ (shape (steps+1, 2)) and $f(w_k)$ of an ``OPTIMIZERS`` record on $f(x, y)$.

    The optimizer's own ``update`` runs on each coordinate as a Python float (fast enough for a
    slider), with the gradient from ``surface_gradient``; ``hp`` are the record's hyper-parameters
    (``lr``, ``beta1``, ...). Entries after a divergence (a coordinate beyond ``limit`` or a
    non-finite loss) are NaN.
    """
    spec, steps = _spec_named(optimizer), _integer(steps, "steps")
    made = spec.ours([torch.zeros(1, dtype=torch.float64)], **hp)   # checks hp, fills in the defaults
    rule, settings, states = made.update, made.defaults, ({}, {})
    w = [float(start[0]), float(start[1])]
    path, losses = np.full((steps + 1, 2), np.nan), np.full(steps + 1, np.nan)
    for k in range(steps + 1):
        if not (abs(w[0]) < limit and abs(w[1]) < limit):
            break
        try:
            f, gx, gy = surface_gradient(fn, w[0], w[1])
            if not math.isfinite(f):
                break
            path[k], losses[k] = w, f
            if k < steps:
                w = [rule(w[0], gx, states[0], **settings), rule(w[1], gy, states[1], **settings)]
        except (OverflowError, ZeroDivisionError):
            break
    return path, losses


# ----------------------------------------------------------------------------- a 1-D double well
def double_well(x, tilt: float = 0.3):
    r"""$f(x) = (x^2 - 1)^2 + c\,x$ with tilt $c$: a deep minimum near $x = -1$, a shallow one near $x = +1$ (for $0 < c < 1.5$)."""
    tilt = _real(tilt, "tilt")
    return (x * x - 1) ** 2 + tilt * x


# ----------------------------------------------------------------------------- the race: starts, chaos, components
NAMED_STARTS: dict[str, dict[str, tuple[float, float]]] = {
    "quadratic": {"default": (-3.5, 2.0), "on the shallow eigenvector": (-3.5, 0.0),
                  "on the steep eigenvector": (0.0, 2.5), "far corner": (3.8, -2.8)},
    "rosenbrock": {"default": (-1.2, 1.0), "far end of the valley": (-1.5, 2.25),
                   "across the valley": (0.0, 2.5), "near the minimum": (0.7, 0.8)},
    "saddle": {"default (just off the ridge)": (-2.0, 0.01), "saddle ridge": (-2.0, 0.0),
               "beside the saddle": (-0.3, 0.3), "near a minimum": (0.4, 1.2)},
    "multi_minima": {"default": (0.3, 2.2), "near the second minimum": (-1.6, 0.6),
                     "between the wells": (-0.3, 0.2), "far corner": (-2.3, -2.3)},
    "plateau": {"default (on the plateau)": (-2.6, 2.0), "plateau far corner": (2.9, -2.9),
                "on the rim": (0.9, 0.4), "near the minimum": (0.2, -0.1)},
}
"""Named starting points of the race, per surface (the first is the surface's default start)."""


def view_point(surface: Surface, fx: float, fy: float) -> tuple[float, float]:
    r"""The point at fractions $(f_x, f_y) \in [-1, 1]^2$ of ``surface``'s view: centre $+ f \cdot$ half-width (the race's free start)."""
    fx, fy = _real(fx, "fx"), _real(fy, "fy")
    if not (-1 <= fx <= 1 and -1 <= fy <= 1):
        raise ValueError(f"fx and fy must be in [-1, 1] (the edges of the view), got {fx} and {fy}")
    (x_lo, x_hi), (y_lo, y_hi) = surface.xlim, surface.ylim
    return (round((x_lo + x_hi) / 2 + fx * (x_hi - x_lo) / 2, 10), round((y_lo + y_hi) / 2 + fy * (y_hi - y_lo) / 2, 10))


def outcomes_differ(gap: float, other: float, rtol: float = 1e-3) -> bool:
    r"""True if two runs' $\max(f - f^*, 10^{-12})$ differ by more than ``rtol`` relatively, or only one of them diverged (NaN)."""
    if not (math.isfinite(gap) and math.isfinite(other)):
        return math.isfinite(gap) != math.isfinite(other)
    gap, other = max(gap, 1e-12), max(other, 1e-12)
    return abs(gap - other) > rtol * max(gap, other)


def race_chaotic(optimizer: OptimizerSpec | str, fn: Callable, start: Sequence[float], steps: int, f_min: float, *,
                 nudge: float = 1e-9, rtol: float = 1e-3, **hp) -> bool:
    r"""True if moving the start by ``nudge`` in $x$ and $y$ changes the final $f - f^*$ (``outcomes_differ``): a chaotic result."""
    finals = [float(race_path(optimizer, fn, (start[0] + shift, start[1] + shift), steps, **hp)[1][-1]) - f_min
              for shift in (0.0, nudge)]
    return outcomes_differ(*finals, rtol=rtol)


def surface_hessian(fn: Callable, x: float, y: float, h: float = 1e-4) -> np.ndarray:
    r"""$\nabla^2 f(x, y)$ by central differences of the complex-step gradient: $H_{:,j} = (\nabla f(p + h e_j) - \nabla f(p - h e_j)) / 2h$ (exact on a quadratic up to rounding)."""
    columns = []
    for dx, dy in ((h, 0.0), (0.0, h)):
        plus, minus = surface_gradient(fn, x + dx, y + dy)[1:], surface_gradient(fn, x - dx, y - dy)[1:]
        columns.append((np.array(plus) - np.array(minus)) / (2 * h))
    H = np.array(columns).T
    return (H + H.T) / 2


def eigen_errors(lams: Sequence[float], error0: Sequence[float], lr: float, beta: float, steps: int) -> np.ndarray:
    r"""Heavy ball on $f = \tfrac12\sum_i \lambda_i e_i^2$ (the error $e = Q^\top(w - w^*)$ along the Hessian's eigenvectors): $e_i^{k}$ for $k = 0..T$, shape (T+1, n).

    Each component runs on its own: $e_i^{k+1} = e_i^k - \alpha\lambda_i e_i^k + \beta(e_i^k - e_i^{k-1})$, which is
    ``SGD(lr=α, momentum=β)`` (``β = 0``: plain gradient descent, $e_i^k = (1-\alpha\lambda_i)^k e_i^0$). Entries after
    an overflow are NaN.
    """
    steps, lr, beta = _integer(steps, "steps"), _non_negative(lr, "lr"), _decay(beta, "beta")
    lams, e = np.asarray(lams, dtype=float), np.array(error0, dtype=float)
    if lams.shape != e.shape or lams.ndim != 1:
        raise ValueError(f"lams and error0 must be 1-D of the same length, got {lams.shape} and {e.shape}")
    out, state = np.full((steps + 1, len(e)), np.nan), {}
    out[0] = e
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(1, steps + 1):
            e = _momentum_step(e, lams, lr, beta, state)    # the rule of SGD.update, on all components at once
            if not np.all(np.abs(e) < 1e150):
                break
            out[k] = e
    return out


def component_rates(lams: Sequence[float], lr: float, beta: float) -> np.ndarray:
    r"""Per-component rate: the spectral radius of $\begin{pmatrix}1+\beta-\alpha\lambda_i & -\beta\\ 1 & 0\end{pmatrix}$, one per $\lambda_i$ (GD: $|1-\alpha\lambda_i|$)."""
    return np.array([float(heavy_ball_rate([lam], lr, beta)) for lam in lams])
