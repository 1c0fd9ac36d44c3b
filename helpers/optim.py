r"""Chapter 5: gradient-descent optimizers written from their formulas.

Every optimizer here is a ``torch.optim.Optimizer`` subclass, so it drops into any training
loop (and works with any ``torch.optim.lr_scheduler``) in place of PyTorch's own. The shared
loop in ``_FormulaOptimizer.step`` visits every parameter that has a gradient; each class
then writes its formula in ``update``, a few lines that read like the notes:

- ``SGD``: $w \leftarrow w - \eta\, v$ with PyTorch's momentum buffer $v_1 = g_1$,
  $v_t = \mu v_{t-1} + (1-\tau) g_t$ (no $(1-\beta)$ factor on the first step);
- ``NotesMomentum``: the notes' EMA form $V_t = \beta V_{t-1} + (1-\beta) g_t$, $V_0 = 0$;
  it equals ``SGD(lr=\eta(1-\beta), momentum=\beta)`` exactly (erratum E30);
- ``Adagrad``, ``RMSprop``, ``Adam`` (``decoupled=True`` is AdamW).

Below the optimizers: the exponential moving average behind all of them (``ema``), the
best step size and momentum for a quadratic (Goh, "Why Momentum Really Works", Distill
2017), and a runner that records an optimizer's path on a 2-D surface.
"""
from __future__ import annotations

import math
import numbers
from typing import Callable, Iterable, Sequence

import torch

from .checks import flag as _flag, non_negative as _non_negative, positive as _positive, real as _real

__all__ = [
    "SGD", "NotesMomentum", "Adagrad", "RMSprop", "Adam", "ema",
    "gd_optimal", "momentum_optimal", "optimize_path", "steps_to_tolerance",
]


# ----------------------------------------------------------------------------- input checks
def _decay(value, name: str) -> float:
    """A decay factor such as beta or alpha: in [0, 1)."""
    value = _real(value, name)
    if not 0 <= value < 1:
        raise ValueError(f"{name} must be in [0, 1), got {value}")
    return value


def _curvatures(l_min, l_max) -> tuple[float, float]:
    l_min, l_max = _positive(l_min, "l_min"), _positive(l_max, "l_max")
    if l_min > l_max:
        raise ValueError(f"l_min must be <= l_max, got l_min={l_min} and l_max={l_max}")
    return l_min, l_max


# ----------------------------------------------------------------------------- the shared loop
class _FormulaOptimizer(torch.optim.Optimizer):
    """Calls ``update(w, g, state, group)`` for every parameter whose gradient is not None."""

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor | None:
        """One update of every parameter that has a gradient; ``closure`` re-evaluates the loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for w in group["params"]:
                if w.grad is None:  # not used in this loss: skipped, its state untouched (as in PyTorch)
                    continue
                if w.grad.is_sparse:
                    raise RuntimeError(f"{type(self).__name__} does not support sparse gradients")
                self.update(w, w.grad, self.state[w], group)
        return loss

    def update(self, w: torch.Tensor, g: torch.Tensor, state: dict, group: dict) -> None:
        """Apply the optimizer's formula to parameter ``w`` in place (``state``: its buffers; ``group``: its settings)."""
        raise NotImplementedError


# ----------------------------------------------------------------------------- the optimizers
class SGD(_FormulaOptimizer):
    r"""SGD with PyTorch's momentum: $v_1 = g_1$, $v_t = \mu v_{t-1} + (1-\tau) g_t$, $w \leftarrow w - \eta v_t$.

    With ``weight_decay`` $\lambda$ the gradient is $g + \lambda w$ first; with ``nesterov`` the
    step uses $g + \mu v_t$ instead of $v_t$. ``momentum=0`` is plain $w \leftarrow w - \eta g$.
    """

    def __init__(self, params: Iterable, lr: float, momentum: float = 0.0, dampening: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0) -> None:
        lr = _non_negative(lr, "lr")
        momentum = _non_negative(momentum, "momentum")
        dampening = _real(dampening, "dampening")
        if not 0 <= dampening <= 1:
            raise ValueError(f"dampening must be in [0, 1], got {dampening}")
        weight_decay = _non_negative(weight_decay, "weight_decay")
        if _flag(nesterov, "nesterov") and (momentum == 0 or dampening != 0):
            raise ValueError(f"nesterov=True needs momentum > 0 and dampening = 0, "
                             f"got momentum={momentum} and dampening={dampening}")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      nesterov=nesterov, weight_decay=weight_decay))

    def update(self, w, g, state, group):
        lr, mu, tau, wd = group["lr"], group["momentum"], group["dampening"], group["weight_decay"]
        if wd != 0:
            g = g + wd * w                                  # L2 penalty: g <- g + lambda w
        if mu != 0:
            if "momentum_buffer" not in state:
                v = g.clone()                               # first step: v_1 = g_1 (no dampening)
            else:
                v = mu * state["momentum_buffer"] + (1 - tau) * g   # v_t = mu v_{t-1} + (1 - tau) g_t
            state["momentum_buffer"] = v
            g = g + mu * v if group["nesterov"] else v      # Nesterov looks one step ahead
        w.sub_(lr * g)                                      # w <- w - lr * g


class NotesMomentum(_FormulaOptimizer):
    r"""The notes' momentum: $V_t = \beta V_{t-1} + (1-\beta) g_t$ with $V_0 = 0$, $w \leftarrow w - \eta V_t$.

    Since $V_t = (1-\beta)\,v_t$ for PyTorch's buffer $v_t = \beta v_{t-1} + g_t$, this is exactly
    ``SGD(lr=lr * (1 - beta), momentum=beta)``, from the first step on.
    """

    def __init__(self, params: Iterable, lr: float, beta: float = 0.9) -> None:
        super().__init__(params, dict(lr=_non_negative(lr, "lr"), beta=_decay(beta, "beta")))

    def update(self, w, g, state, group):
        lr, beta = group["lr"], group["beta"]
        V = beta * state.get("V", 0.0) + (1 - beta) * g    # EMA of the gradients, V_0 = 0
        state["V"] = V
        w.sub_(lr * V)                                       # w <- w - lr * V_t


class Adagrad(_FormulaOptimizer):
    r"""AdaGrad: $G_t = G_{t-1} + g_t \odot g_t$, $w \leftarrow w - \frac{\eta}{\sqrt{G_t} + \varepsilon} \odot g_t$."""

    def __init__(self, params: Iterable, lr: float = 0.01, eps: float = 1e-10) -> None:
        super().__init__(params, dict(lr=_non_negative(lr, "lr"), eps=_non_negative(eps, "eps")))

    def update(self, w, g, state, group):
        lr, eps = group["lr"], group["eps"]
        G = state.get("sum", 0.0) + g * g                   # sum of squared gradients, never shrinks
        state["sum"] = G
        w.sub_(lr * g / (G.sqrt() + eps))                   # per-coordinate step lr / (sqrt(G) + eps)


class RMSprop(_FormulaOptimizer):
    r"""RMSProp: $V_t = \alpha V_{t-1} + (1-\alpha)\, g_t \odot g_t$, $w \leftarrow w - \frac{\eta}{\sqrt{V_t} + \varepsilon} \odot g_t$."""

    def __init__(self, params: Iterable, lr: float = 0.01, alpha: float = 0.99, eps: float = 1e-8) -> None:
        super().__init__(params, dict(lr=_non_negative(lr, "lr"), alpha=_decay(alpha, "alpha"),
                                      eps=_non_negative(eps, "eps")))

    def update(self, w, g, state, group):
        lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
        V = alpha * state.get("square_avg", 0.0) + (1 - alpha) * g * g   # EMA of g^2: it forgets
        state["square_avg"] = V
        w.sub_(lr * g / (V.sqrt() + eps))


class Adam(_FormulaOptimizer):
    r"""Adam: $m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t$, $v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2$, $w \leftarrow w - \eta\,\frac{\hat m_t}{\sqrt{\hat v_t} + \varepsilon}$.

    Bias correction: $\hat m_t = m_t / (1-\beta_1^t)$, $\hat v_t = v_t / (1-\beta_2^t)$.
    Weight decay $\lambda$: ``decoupled=False`` adds $\lambda w$ to the gradient (L2 inside Adam, like
    ``torch.optim.Adam``); ``decoupled=True`` is AdamW, $w \leftarrow w - \eta\lambda w$ before the Adam step.
    """

    def __init__(self, params: Iterable, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, decoupled: bool = False) -> None:
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        decoupled = _flag(decoupled, "decoupled")
        super().__init__(params, dict(lr=_non_negative(lr, "lr"),
                                      betas=(_decay(betas[0], "betas[0]"), _decay(betas[1], "betas[1]")),
                                      eps=_non_negative(eps, "eps"),
                                      weight_decay=_non_negative(weight_decay, "weight_decay"),
                                      decoupled=decoupled))

    def update(self, w, g, state, group):
        lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        t = state["step"] = state.get("step", 0) + 1
        if wd != 0 and group["decoupled"]:
            w.mul_(1 - lr * wd)                             # AdamW: shrink the weights directly
        elif wd != 0:
            g = g + wd * w                                  # L2: the penalty's gradient joins g
        m = beta1 * state.get("exp_avg", 0.0) + (1 - beta1) * g        # first moment (momentum)
        v = beta2 * state.get("exp_avg_sq", 0.0) + (1 - beta2) * g * g  # second moment (RMSProp)
        state["exp_avg"], state["exp_avg_sq"] = m, v
        m_hat = m / (1 - beta1 ** t)                        # bias correction: the EMA weights
        v_hat = v / (1 - beta2 ** t)                        # sum to 1 - beta^t, not to 1
        w.sub_(lr * m_hat / (v_hat.sqrt() + eps))


# ----------------------------------------------------------------------------- EMA
def ema(values: torch.Tensor | Sequence[float], beta: float, *, bias_correction: bool = False) -> torch.Tensor:
    r"""$v_t = \beta v_{t-1} + (1-\beta) x_t$ with $v_0 = 0$ (so $v_t = \sum_k (1-\beta)\beta^k x_{t-k}$); optionally $v_t / (1-\beta^t)$."""
    beta = _decay(beta, "beta")
    if isinstance(values, torch.Tensor):
        x = values if values.is_floating_point() else values.to(torch.float64)
    else:
        x = torch.tensor(list(values), dtype=torch.float64)
    if x.ndim != 1:
        raise ValueError(f"values must be 1-D, got shape {tuple(x.shape)}")
    out = torch.empty_like(x)
    v = 0.0
    for t in range(1, len(x) + 1):
        v = beta * v + (1 - beta) * x[t - 1]
        out[t - 1] = v / (1 - beta ** t) if bias_correction else v
    return out


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


# ----------------------------------------------------------------------------- paths on a surface
def optimize_path(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], start: Sequence[float],
                  make_optimizer: Callable[[list[torch.Tensor]], torch.optim.Optimizer],
                  steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Run ``make_optimizer([w])`` on $f(x, y)$ from ``start`` (float64): path $(w_0, \dots, w_T)$ and $f(w_k)$; NaN once $f$ is not finite."""
    if not callable(fn):
        raise TypeError(f"fn must be callable as fn(x, y), got {type(fn).__name__}")
    if not callable(make_optimizer):
        raise TypeError(f"make_optimizer must be callable as make_optimizer(params), got {type(make_optimizer).__name__}")
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 0:
        raise ValueError(f"steps must be an int >= 0, got {steps!r}")
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
