"""helpers.optim: every optimizer's trajectory against torch.optim (every OPTIMIZERS record too), the notes'
momentum (E30), the EMA, Goh's optimal rates measured on a quadratic, the race engine, optimize_path, the double
well, and bad input; then the chapter's panels (which only draw)."""
from __future__ import annotations

import importlib
import math
import re

import numpy as np
import pytest
import torch

from helpers import data, optim as O

F64 = torch.float64
STEPS = 30


# ----------------------------------------------------------------------------- a small problem
def _params() -> list[torch.Tensor]:
    """W (4, 3), b (3,), and `extra` (3,), which only some steps use."""
    gen = torch.Generator().manual_seed(0)
    return [torch.randn(4, 3, generator=gen, dtype=F64).requires_grad_(),
            torch.randn(3, generator=gen, dtype=F64).requires_grad_(),
            torch.randn(3, generator=gen, dtype=F64).requires_grad_()]


def _loss(params: list[torch.Tensor], k: int) -> torch.Tensor:
    """Mini-batch k of a small regression. Some coordinates get exactly zero gradient:
    input feature 2 is zero on even steps (row 2 of W), output 1 is masked out on every third
    step; `extra` is used on odd steps only, so its grad is None on even steps (set_to_none)."""
    W, b, extra = params
    gen = torch.Generator().manual_seed(100 + k)
    x = torch.randn(8, 4, generator=gen, dtype=F64)
    y = torch.randn(8, 3, generator=gen, dtype=F64)
    if k % 2 == 0:
        x[:, 2] = 0.0
    out = torch.tanh(x @ W + b)
    if k % 2 == 1:
        out = out * extra
    mask = torch.ones(3, dtype=F64)
    if k % 3 == 0:
        mask[1] = 0.0
    return (((out - y) ** 2) * mask).mean()


def _trajectory(make_optimizer, steps: int = STEPS) -> list[list[torch.Tensor]]:
    params = _params()
    optimizer = make_optimizer(params)
    snapshots = []
    for k in range(steps):
        optimizer.zero_grad()  # set_to_none=True: unused parameters have grad None
        _loss(params, k).backward()
        optimizer.step()
        snapshots.append([p.detach().clone() for p in params])
    return snapshots


def _assert_same_trajectory(ours, theirs, atol: float = 1e-9) -> None:
    a, b = _trajectory(ours), _trajectory(theirs)
    for k, (pa, pb) in enumerate(zip(a, b)):
        for name, x, y in zip(("W", "b", "extra"), pa, pb):
            assert torch.allclose(x, y, rtol=0, atol=atol), f"{name} differs at step {k + 1}: {(x - y).abs().max()}"
    start = _params()
    assert all(not torch.equal(p, q) for p, q in zip(a[-1], start)), "every parameter should have moved"


CASES = {
    "sgd": (lambda p: O.SGD(p, lr=0.1), lambda p: torch.optim.SGD(p, lr=0.1)),
    "momentum": (lambda p: O.SGD(p, lr=0.05, momentum=0.9), lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9)),
    "dampening": (lambda p: O.SGD(p, lr=0.05, momentum=0.8, dampening=0.3),
                  lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.8, dampening=0.3)),
    "nesterov": (lambda p: O.SGD(p, lr=0.05, momentum=0.9, nesterov=True),
                 lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True)),
    "sgd_weight_decay": (lambda p: O.SGD(p, lr=0.1, weight_decay=0.05),
                         lambda p: torch.optim.SGD(p, lr=0.1, weight_decay=0.05)),
    "momentum_weight_decay": (lambda p: O.SGD(p, lr=0.05, momentum=0.5, weight_decay=0.05),
                              lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.5, weight_decay=0.05)),
    "nesterov_weight_decay": (lambda p: O.SGD(p, lr=0.05, momentum=0.7, nesterov=True, weight_decay=0.05),
                              lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.7, nesterov=True, weight_decay=0.05)),
    "adagrad": (lambda p: O.Adagrad(p, lr=0.1), lambda p: torch.optim.Adagrad(p, lr=0.1)),
    "adagrad_eps": (lambda p: O.Adagrad(p, lr=0.05, eps=0.1), lambda p: torch.optim.Adagrad(p, lr=0.05, eps=0.1)),
    "rmsprop_default": (lambda p: O.RMSprop(p), lambda p: torch.optim.RMSprop(p)),
    "rmsprop_notes": (lambda p: O.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-10),
                      lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-10)),
    "adam": (lambda p: O.Adam(p, lr=0.01), lambda p: torch.optim.Adam(p, lr=0.01)),
    "adam_betas_eps": (lambda p: O.Adam(p, lr=0.02, betas=(0.5, 0.9), eps=1e-3),
                       lambda p: torch.optim.Adam(p, lr=0.02, betas=(0.5, 0.9), eps=1e-3)),
    "adam_l2": (lambda p: O.Adam(p, lr=0.01, weight_decay=0.1),
                lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=0.1)),
    "adamw": (lambda p: O.Adam(p, lr=0.01, weight_decay=0.1, decoupled=True),
              lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1)),
    "adamw_class": (lambda p: O.AdamW(p, lr=0.01), lambda p: torch.optim.AdamW(p, lr=0.01)),
    "nadam": (lambda p: O.NAdam(p, lr=0.01), lambda p: torch.optim.NAdam(p, lr=0.01)),
    "nadam_settings": (lambda p: O.NAdam(p, lr=0.02, betas=(0.5, 0.9), eps=1e-3, weight_decay=0.1, momentum_decay=0.5),
                       lambda p: torch.optim.NAdam(p, lr=0.02, betas=(0.5, 0.9), eps=1e-3, weight_decay=0.1,
                                                   momentum_decay=0.5)),
}


@pytest.fixture
def float64_default():
    """torch.optim keeps some scalars (NAdam's product of momenta) in the default dtype: make it float64."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(F64)
    yield
    torch.set_default_dtype(before)


@pytest.mark.parametrize("case", list(CASES))
def test_trajectory_equals_torch(case, float64_default):
    ours, theirs = CASES[case]
    _assert_same_trajectory(ours, theirs)


# every record's hyper-parameters: values away from the defaults, so a record that drops one is caught
RECORD_HP = {"lr": {"lr_sgd": 0.05, "lr_adaptive": 0.01}, "beta1": 0.8, "beta2": 0.95, "weight_decay": 0.2}


def _record_hp(spec: O.OptimizerSpec) -> dict:
    return {h.name: RECORD_HP[h.name][h.key] if h.name == "lr" else RECORD_HP[h.name] for h in spec.hypers}


@pytest.mark.parametrize("name", list(O.OPTIMIZERS))
def test_every_record_runs_our_class_and_matches_its_torch_factory(name, float64_default):
    spec = O.OPTIMIZERS[name]
    hp = _record_hp(spec)
    made = spec.ours([torch.zeros(1, requires_grad=True)], **hp)
    assert type(made) is spec.cls and spec.cls.__module__ == "helpers.optim"
    assert r"\\" not in spec.formula and r"\leftarrow" in spec.formula    # one LaTeX line: the update of w
    _assert_same_trajectory(lambda p: spec.ours(p, **hp), lambda p: spec.torch(p, **hp))


def test_records_are_distinct_and_their_controls_are_consistent():
    names = list(O.OPTIMIZERS)
    assert names[:7] == ["SGD", "Momentum", "Nesterov", "AdaGrad", "RMSProp", "Adam", "AdamW"]
    assert all(spec.label == name for name, spec in O.OPTIMIZERS.items())
    by_key = {}
    for spec in O.OPTIMIZERS.values():
        assert len({h.name for h in spec.hypers}) == len(spec.hypers) and spec.hypers[0].name == "lr"
        for h in spec.hypers:
            assert by_key.setdefault(h.key, h) is h        # one range per key, shared by the records that use it
            value = h.default
            assert (h.low <= math.log10(value) <= h.high) if h.log else (h.low <= value <= h.high)
    # settings that differ between records give different paths: no record silently ignores a control
    fn, start = data.SURFACES["rosenbrock"].fn, (-1.2, 1.0)
    paths = {name: O.race_path(name, fn, start, 20, **_record_hp(spec))[0] for name, spec in O.OPTIMIZERS.items()}
    assert len({p.tobytes() for p in paths.values()}) == len(paths)


def test_l2_and_decoupled_weight_decay_differ():
    """Adam's L2 (wd inside the gradient) and AdamW (wd outside) are different rules."""
    l2 = _trajectory(lambda p: O.Adam(p, lr=0.01, weight_decay=0.1))
    decoupled = _trajectory(lambda p: O.Adam(p, lr=0.01, weight_decay=0.1, decoupled=True))
    assert (l2[-1][0] - decoupled[-1][0]).abs().max() > 1e-4


def test_grad_none_is_skipped_but_zero_grad_still_moves_with_momentum():
    w = torch.ones(2, dtype=F64, requires_grad=True)
    opt = O.SGD([w], lr=0.1, momentum=0.9)
    w.grad = torch.ones(2, dtype=F64)
    opt.step()
    after_first = w.detach().clone()
    w.grad = None
    opt.step()  # skipped: no change, buffer untouched
    assert torch.equal(w.detach(), after_first)
    assert torch.equal(opt.state[w]["momentum_buffer"], torch.ones(2, dtype=F64))
    w.grad = torch.zeros(2, dtype=F64)
    opt.step()  # a zero gradient is a real step: the buffer 0.9 * 1 still moves w
    assert torch.allclose(w.detach(), after_first - 0.1 * 0.9)


def test_adam_step_count_is_per_parameter_like_torch():
    """A parameter first used at step 3 starts its own bias correction at t = 1."""
    def run(make):
        a = torch.zeros(2, dtype=F64, requires_grad=True)
        b = torch.zeros(2, dtype=F64, requires_grad=True)
        opt = make([a, b])
        for k in range(6):
            opt.zero_grad()
            loss = (a * torch.tensor([1.0, -2.0], dtype=F64) * (k + 1)).sum()
            if k >= 2:
                loss = loss + (b * torch.tensor([3.0, 0.5], dtype=F64)).sum()
            loss.backward()
            opt.step()
        return a.detach(), b.detach(), opt
    a1, b1, ours = run(lambda p: O.Adam(p, lr=0.1))
    a2, b2, _ = run(lambda p: torch.optim.Adam(p, lr=0.1))
    assert torch.allclose(a1, a2, atol=1e-12) and torch.allclose(b1, b2, atol=1e-12)
    assert ours.state[ours.param_groups[0]["params"][1]]["step"] == 4
    assert torch.allclose(b1, torch.full((2,), -0.4, dtype=F64), atol=1e-9)  # constant g: exactly lr per step (C27)


def test_step_returns_the_closure_loss_and_works_with_torch_schedulers():
    w = torch.tensor([1.0, -1.0], dtype=F64, requires_grad=True)
    opt = O.Adam([w], lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)

    def closure():
        opt.zero_grad()
        loss = (w ** 2).sum()
        loss.backward()
        return loss
    lrs = []
    for _ in range(5):
        lrs.append(opt.param_groups[0]["lr"])
        loss = opt.step(closure)
        sched.step()
    assert isinstance(loss, torch.Tensor) and loss.item() > 0
    assert lrs == [0.1, 0.1, 0.05, 0.05, 0.025]


def test_param_groups_keep_their_own_settings():
    a = torch.ones(2, dtype=F64, requires_grad=True)
    b = torch.ones(2, dtype=F64, requires_grad=True)
    opt = O.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    (a.sum() + b.sum()).backward()
    opt.step()
    assert torch.allclose(a.detach(), torch.full((2,), 0.9, dtype=F64))
    assert torch.allclose(b.detach(), torch.full((2,), 0.5, dtype=F64))


def test_no_torch_update_code_is_called(monkeypatch):
    """The formulas are ours: with torch.optim's update functions and steps broken, ours still run."""
    def broken(*args, **kwargs):
        raise AssertionError("torch.optim's own update code was called")
    for name in ("sgd", "adam", "adagrad", "rmsprop", "adamw", "nadam"):  # the functional forms, e.g. torch.optim.sgd.sgd
        monkeypatch.setattr(importlib.import_module(f"torch.optim.{name}"), name, broken)
    for cls in (torch.optim.SGD, torch.optim.Adam, torch.optim.AdamW, torch.optim.Adagrad, torch.optim.RMSprop,
                torch.optim.NAdam):
        monkeypatch.setattr(cls, "step", broken)
    with pytest.raises(AssertionError, match="own update code"):  # the patch really bites
        _trajectory(lambda p: torch.optim.Adam(p, lr=0.01), steps=1)
    for make in (lambda p: O.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01), lambda p: O.Adagrad(p),
                 lambda p: O.RMSprop(p), lambda p: O.Adam(p, weight_decay=0.1, decoupled=True),
                 lambda p: O.Adam(p, weight_decay=0.1), lambda p: O.NotesMomentum(p, lr=0.1), lambda p: O.AdamW(p),
                 lambda p: O.NAdam(p, weight_decay=0.1)):
        _trajectory(make, steps=3)


# ----------------------------------------------------------------------------- the notes' momentum (E30)
G_SEQ = [1.0, 1.0, 1.0, 1.0, 1.0, -0.5, 2.0, 0.3]  # the checklist's gradient sequence


def _linear_path(make_optimizer, grads=G_SEQ) -> torch.Tensor:
    """Positions after each step on the loss g_k * w, whose gradient is g_k wherever w is."""
    w = torch.zeros(1, dtype=F64, requires_grad=True)
    opt = make_optimizer([w])
    out = []
    for g in grads:
        opt.zero_grad()
        (g * w).sum().backward()
        opt.step()
        out.append(w.item())
    return torch.tensor(out, dtype=F64)


def test_notes_momentum_equals_torch_sgd_with_scaled_lr_from_the_first_step():
    """Notes' V_t = beta V + (1 - beta) g with lr eta  ==  SGD(lr = eta (1 - beta), momentum = beta), every step."""
    eta, beta = 0.1, 0.9
    notes = _linear_path(lambda p: O.NotesMomentum(p, lr=eta, beta=beta))
    scaled = _linear_path(lambda p: torch.optim.SGD(p, lr=eta * (1 - beta), momentum=beta))
    assert torch.allclose(notes, scaled, rtol=0, atol=1e-12)
    _assert_same_trajectory(lambda p: O.NotesMomentum(p, lr=0.5, beta=0.8),
                            lambda p: torch.optim.SGD(p, lr=0.5 * (1 - 0.8), momentum=0.8))


def test_notes_momentum_vs_pytorch_default_momentum():
    """E30/C23: the first step is eta(1 - beta) g_1 vs eta g_1; the notes' path is (1 - beta) times PyTorch's here."""
    eta, beta = 0.1, 0.9
    notes = _linear_path(lambda p: O.NotesMomentum(p, lr=eta, beta=beta))
    pytorch = _linear_path(lambda p: torch.optim.SGD(p, lr=eta, momentum=beta))
    assert math.isclose(pytorch[0].item(), -eta * G_SEQ[0]) and math.isclose(notes[0].item(), -eta * (1 - beta) * G_SEQ[0])
    assert torch.allclose(notes, (1 - beta) * pytorch, atol=1e-12)  # from w_0 = 0 with w-independent gradients
    const = [1.0] * 120  # steady state: PyTorch's step is eta / (1 - beta), the notes' is eta
    steps_torch = _linear_path(lambda p: torch.optim.SGD(p, lr=eta, momentum=beta), const).diff()
    steps_notes = _linear_path(lambda p: O.NotesMomentum(p, lr=eta, beta=beta), const).diff()
    assert math.isclose(steps_torch[-1].item(), -eta / (1 - beta), rel_tol=1e-5)
    assert math.isclose(steps_notes[-1].item(), -eta, rel_tol=1e-5)


def test_dampening_does_not_reproduce_the_notes():
    """SGD(lr=eta, momentum=beta, dampening=beta) has buffer V_t + beta^t g_1: its first step skips the dampening,
    so it trails the notes by eta * g_1 * (beta + ... + beta^t) on this loss."""
    eta, beta = 0.1, 0.9
    notes = _linear_path(lambda p: O.NotesMomentum(p, lr=eta, beta=beta))
    damped = _linear_path(lambda p: torch.optim.SGD(p, lr=eta, momentum=beta, dampening=beta))
    t = torch.arange(1, len(G_SEQ) + 1, dtype=F64)
    extra = -eta * G_SEQ[0] * beta * (1 - beta ** t) / (1 - beta)  # -eta g_1 sum_{s=1}^t beta^s
    assert torch.allclose(damped - notes, extra, atol=1e-12)
    assert not torch.allclose(damped, notes, atol=1e-3)
    one_minus = _linear_path(lambda p: torch.optim.SGD(p, lr=eta, momentum=beta, dampening=1 - beta))
    assert not torch.allclose(one_minus, notes, atol=1e-3)


def test_adagrad_step_only_shrinks_rmsprop_recovers_and_adam_starts_at_lr():
    """E31/C24: effective lr |dw|/|g| after the gradient drops from 10 to 0.1; E33/C26: RMSprop's first
    step is lr/sqrt(1 - alpha); C27: Adam's first step is lr whatever the gradient's scale."""
    grads = [10.0] * 30 + [0.1] * 100
    def effective_lr(make):
        path = _linear_path(make, grads)
        return (torch.cat([path[:1], path.diff()]).abs() / torch.tensor(grads, dtype=F64))
    ada = effective_lr(lambda p: O.Adagrad(p, lr=0.1))
    rms = effective_lr(lambda p: O.RMSprop(p, lr=0.1, alpha=0.9, eps=1e-10))
    assert bool((ada.diff() <= 1e-15).all())  # never increases, even when the gradient gets small
    assert math.isclose(ada[-1].item(), 0.1 / math.sqrt(30 * 100 + 100 * 0.01), rel_tol=1e-9)
    v_final = (1 - 0.9 ** 30) * 0.9 ** 100 * 100 + (1 - 0.9 ** 100) * 0.01  # the EMA of g^2 forgets the 10s
    assert rms[-1] > 50 * rms[29] and math.isclose(rms[-1].item(), 0.1 / (math.sqrt(v_final) + 1e-10), rel_tol=1e-9)
    for alpha in (0.9, 0.99):
        first = _linear_path(lambda p: O.RMSprop(p, lr=0.1, alpha=alpha, eps=0.0), [3.0])
        assert math.isclose(-first[0].item(), 0.1 / math.sqrt(1 - alpha), rel_tol=1e-12)
    for scale in (1e-3, 1.0, 1e3):
        assert math.isclose(_linear_path(lambda p: O.Adam(p, lr=0.1, eps=0.0), [scale])[0].item(), -0.1, rel_tol=1e-12)


# ----------------------------------------------------------------------------- EMA
def test_ema_matches_a_loop_and_the_closed_form_weights():
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(40, generator=gen, dtype=F64)
    for beta in (0.0, 0.5, 0.9, 0.99):
        v, loop = 0.0, []
        for x_t in x.tolist():
            v = beta * v + (1 - beta) * x_t
            loop.append(v)
        assert torch.allclose(O.ema(x, beta), torch.tensor(loop, dtype=F64), atol=1e-12)
        t, k = torch.meshgrid(torch.arange(40), torch.arange(40), indexing="ij")
        weights = torch.where(k <= t, (1 - beta) * torch.tensor(beta, dtype=F64) ** (t - k), 0.0)
        assert torch.allclose(O.ema(x, beta), weights @ x, atol=1e-12)


def test_ema_weights_sum_to_one_minus_beta_t_and_bias_correction_fixes_it():
    """C20: EMA of a constant c is c (1 - beta^t); dividing by 1 - beta^t makes it c from step 1."""
    t = torch.arange(1, 51, dtype=F64)
    for beta in (0.9, 0.99):
        assert torch.allclose(O.ema(torch.ones(50, dtype=F64), beta), 1 - beta ** t, atol=1e-12)
        assert torch.allclose(O.ema([2.5] * 50, beta, bias_correction=True), torch.full((50,), 2.5, dtype=F64), atol=1e-12)
    assert math.isclose(O.ema([4.0], 0.9)[0].item(), 0.4)  # v_1 = (1 - beta) x_1


def test_ema_is_what_torch_adam_and_rmsprop_keep():
    """torch.optim.Adam's exp_avg is ema(g, beta1); RMSprop's square_avg is ema(g^2, alpha)."""
    gen = torch.Generator().manual_seed(5)
    g = torch.randn(12, generator=gen, dtype=F64)
    for make, key, series, beta in (
        (lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.95)), "exp_avg", g, 0.8),
        (lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.95)), "exp_avg_sq", g ** 2, 0.95),
        (lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.7), "square_avg", g ** 2, 0.7),
    ):
        w = torch.zeros(1, dtype=F64, requires_grad=True)
        opt = make([w])
        kept = []
        for g_t in g:
            opt.zero_grad()
            (g_t * w).sum().backward()
            opt.step()
            kept.append(opt.state[w][key].item())
        assert torch.allclose(torch.tensor(kept, dtype=F64), O.ema(series, beta), atol=1e-12)


def test_ema_accepts_sequences_and_integer_tensors():
    assert O.ema([1, 2, 3], 0.5).dtype == F64
    assert torch.allclose(O.ema(torch.tensor([1, 2, 3]), 0.5), O.ema([1.0, 2.0, 3.0], 0.5))
    assert O.ema([], 0.5).numel() == 0


# ----------------------------------------------------------------------------- Goh's optimal rates
def _quadratic(l_min, l_max):
    return lambda x, y: 0.5 * (l_min * x ** 2 + l_max * y ** 2)


def _measured_rates(l_min, l_max, settings, steps=300) -> list[float]:
    """Run heavy ball (our SGD with momentum) for every (lr, momentum) in `settings` at once, one param
    group each, on f = (l_min x^2 + l_max y^2) / 2 from (1, 1); return each per-step contraction of |w_k|
    over the second half of the run (inf if it diverged)."""
    ws = [torch.ones(2, dtype=F64, requires_grad=True) for _ in settings]
    opt = O.SGD([{"params": [w], "lr": lr, "momentum": mu} for w, (lr, mu) in zip(ws, settings)], lr=0.0)
    curvature = torch.tensor([l_min, l_max], dtype=F64)
    half = steps // 2
    for k in range(steps):
        if k == half:
            norms_half = [w.detach().norm() for w in ws]
        opt.zero_grad()
        (0.5 * curvature * torch.stack(ws) ** 2).sum().backward()
        opt.step()
    rates = [(w.detach().norm() / n) ** (1 / (steps - half)) for w, n in zip(ws, norms_half)]
    return [r.item() if torch.isfinite(r) else math.inf for r in rates]


@pytest.mark.parametrize("l_min,l_max", [(1.0, 50.0), (0.5, 8.0)])
def test_gd_optimal_rate_is_measured_and_cannot_be_beaten_nearby(l_min, l_max):
    lr, rate = O.gd_optimal(l_min, l_max)
    factors = (1.0, 0.9, 0.97, 1.03, 1.1)
    measured, *nearby = _measured_rates(l_min, l_max, [(lr * f, 0.0) for f in factors])
    assert math.isclose(measured, rate, rel_tol=1e-6)  # both directions shrink by exactly (kappa-1)/(kappa+1)
    assert all(r > measured + 1e-3 for r in nearby), nearby


@pytest.mark.parametrize("l_min,l_max", [(1.0, 50.0), (0.5, 8.0)])
def test_momentum_optimal_rate_is_measured_and_cannot_be_beaten_nearby(l_min, l_max):
    lr, beta, rate = O.momentum_optimal(l_min, l_max)
    moves = [(1.0, 0.0)] + [(f, d) for f in (0.95, 1.0, 1.05) for d in (-0.03, 0.0, 0.03) if (f, d) != (1.0, 0.0)]
    measured, *nearby = _measured_rates(l_min, l_max, [(lr * f, beta + d) for f, d in moves])
    assert math.isclose(measured, rate, rel_tol=1e-2)  # critically damped: |w_k| ~ k rate^k
    assert all(r > measured for r in nearby), nearby
    assert rate < O.gd_optimal(l_min, l_max)[1]  # momentum: sqrt(kappa) instead of kappa


def test_momentum_reaches_a_tolerance_in_fewer_steps_than_gd():
    """C22-style count on f = (x^2 + 50 y^2)/2: each method at its best settings, steps until f < 1e-4."""
    fn = _quadratic(1.0, 50.0)
    lr_gd, _ = O.gd_optimal(1.0, 50.0)
    lr_hb, beta, _ = O.momentum_optimal(1.0, 50.0)
    _, loss_gd = O.optimize_path(fn, (1.0, 1.0), lambda p: O.SGD(p, lr=lr_gd), 200)
    _, loss_hb = O.optimize_path(fn, (1.0, 1.0), lambda p: O.SGD(p, lr=lr_hb, momentum=beta), 200)
    n_gd, n_hb = O.steps_to_tolerance(loss_gd, 0.0, 1e-4), O.steps_to_tolerance(loss_hb, 0.0, 1e-4)
    assert n_gd is not None and n_hb is not None and n_hb < n_gd / 3
    _, loss_slow = O.optimize_path(fn, (1.0, 1.0), lambda p: O.SGD(p, lr=lr_gd * 0.1), 50)
    assert O.steps_to_tolerance(loss_slow, 0.0, 1e-4) is None


def test_optimal_formulas():
    lr, rate = O.gd_optimal(1.0, 9.0)
    assert math.isclose(lr, 0.2) and math.isclose(rate, 0.8)
    lr, beta, rate = O.momentum_optimal(1.0, 9.0)
    assert math.isclose(lr, 0.25) and math.isclose(beta, 0.25) and math.isclose(rate, 0.5)
    assert O.gd_optimal(2.0, 2.0)[1] == 0.0 and O.momentum_optimal(2.0, 2.0)[1:] == (0.0, 0.0)


# ----------------------------------------------------------------------------- optimize_path
def test_optimize_path_records_start_and_every_step():
    fn = lambda x, y: (x - 1) ** 2 + 2 * (y + 0.5) ** 2
    path, losses = O.optimize_path(fn, (0.0, 0.0), lambda p: torch.optim.SGD(p, lr=0.1), 5)
    assert path.shape == (6, 2) and losses.shape == (6,) and path.dtype == F64
    assert torch.equal(path[0], torch.zeros(2, dtype=F64))
    assert torch.allclose(path[1], torch.tensor([0.2, -0.2], dtype=F64))  # w - 0.1 * grad
    assert torch.allclose(losses, fn(path[:, 0], path[:, 1]))
    path0, losses0 = O.optimize_path(fn, (0.0, 0.0), lambda p: torch.optim.SGD(p, lr=0.1), 0)
    assert path0.shape == (1, 2) and losses0.tolist() == [1.5]


@pytest.mark.parametrize("make", [lambda p: O.SGD(p, lr=1.0), lambda p: O.SGD(p, lr=0.5, momentum=0.99),
                                  lambda p: O.NotesMomentum(p, lr=1.0, beta=0.5)])
def test_optimize_path_turns_divergence_into_nan(make):
    fn = lambda x, y: x ** 4 + 50 * y ** 2
    path, losses = O.optimize_path(fn, (3.0, 1.0), make, 200)
    bad = ~torch.isfinite(losses)
    assert bad.any(), "this setting should diverge"
    first = int(bad.nonzero()[0])
    assert bool(torch.isfinite(losses[:first]).all()) and bool(torch.isnan(losses[first:]).all())
    assert bool(torch.isnan(path[first:]).all()) and bool(torch.isfinite(path[:first]).all())
    assert O.steps_to_tolerance(losses, 0.0, 1e-3) is None


def test_steps_to_tolerance():
    assert O.steps_to_tolerance([5.0, 3.0, 1.05, 1.2, 0.5], 1.0, 0.1) == 2
    assert O.steps_to_tolerance(torch.tensor([5.0, float("nan"), 0.0]), 0.0, 0.1) == 2
    assert O.steps_to_tolerance([5.0, 3.0], 0.0, 0.1) is None


# ----------------------------------------------------------------------------- bad input
def _w():
    return [torch.zeros(2, requires_grad=True)]


@pytest.mark.parametrize("make,name", [
    (lambda: O.SGD(_w(), lr=-0.1), "lr"),
    (lambda: O.SGD(_w(), lr=0.1, momentum=-0.5), "momentum"),
    (lambda: O.SGD(_w(), lr=0.1, momentum=0.9, dampening=1.5), "dampening"),
    (lambda: O.SGD(_w(), lr=0.1, momentum=0.9, dampening=-0.1), "dampening"),
    (lambda: O.SGD(_w(), lr=0.1, weight_decay=-1e-4), "weight_decay"),
    (lambda: O.SGD(_w(), lr=0.1, nesterov=True), "nesterov"),
    (lambda: O.SGD(_w(), lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "nesterov"),
    (lambda: O.SGD(_w(), lr=float("nan")), "lr"),
    (lambda: O.NotesMomentum(_w(), lr=0.1, beta=1.0), "beta"),
    (lambda: O.NotesMomentum(_w(), lr=0.1, beta=-0.1), "beta"),
    (lambda: O.Adagrad(_w(), lr=-1.0), "lr"),
    (lambda: O.Adagrad(_w(), eps=-1e-10), "eps"),
    (lambda: O.RMSprop(_w(), alpha=1.0), "alpha"),
    (lambda: O.RMSprop(_w(), alpha=-0.1), "alpha"),
    (lambda: O.RMSprop(_w(), eps=-1.0), "eps"),
    (lambda: O.Adam(_w(), betas=(1.0, 0.999)), "betas[0]"),
    (lambda: O.Adam(_w(), betas=(0.9, 1.5)), "betas[1]"),
    (lambda: O.Adam(_w(), eps=-1e-8), "eps"),
    (lambda: O.Adam(_w(), weight_decay=-0.1), "weight_decay"),
    (lambda: O.ema([1.0, 2.0], 1.0), "beta"),
    (lambda: O.ema([1.0, 2.0], -0.5), "beta"),
    (lambda: O.ema(torch.ones(2, 2), 0.5), "values"),
    (lambda: O.gd_optimal(0.0, 1.0), "l_min"),
    (lambda: O.momentum_optimal(2.0, 1.0), "l_min"),
    (lambda: O.momentum_optimal(1.0, -1.0), "l_max"),
    (lambda: O.optimize_path(lambda x, y: x, (0.0, 0.0), lambda p: O.SGD(p, lr=0.1), -1), "steps"),
    (lambda: O.optimize_path(lambda x, y: x, (0.0, 0.0, 0.0), lambda p: O.SGD(p, lr=0.1), 3), "start"),
    (lambda: O.steps_to_tolerance([1.0], 0.0, 0.0), "tol"),
    (lambda: O.heavy_ball_run((0.1, 1.0), (1.0, 1.0), 0.5, 0.5, -1, 0.0), "steps"),
    (lambda: O.heavy_ball_steps((0.1, 1.0), (1.0, 1.0), 0.5, [0.5], 0.0, -3), "max_steps"),
    (lambda: O.heavy_ball_steps((0.1, 1.0), (1.0, 1.0), 0.5, [0.5], -1e-6, 10), "tol"),
    (lambda: O.quiet_gradients(0.0), "quiet"),
    (lambda: O.quiet_gradients(0.1, n=0), "n"),
    (lambda: O.effective_lr(O.Adagrad, [1.0, 0.0], lr=0.1), "grads"),
    (lambda: O.effective_lr(O.RMSprop, [1.0], lr=0.1, alpha=1.5), "alpha"),
    (lambda: O.noisy_wave(noise=-1.0), "noise"),
    (lambda: O.double_well(0.5, tilt=float("inf")), "tilt"),
])
def test_value_errors_name_the_argument(make, name):
    with pytest.raises(ValueError, match=name.replace("[", r"\[").replace("]", r"\]")):
        make()


@pytest.mark.parametrize("make,name", [
    (lambda: O.SGD(_w(), lr="0.1"), "lr"),
    (lambda: O.SGD(_w(), lr=0.1, momentum=0.9, nesterov=1), "nesterov"),
    (lambda: O.Adam(_w(), betas=0.9), "betas"),
    (lambda: O.Adam(_w(), decoupled="yes"), "decoupled"),
    (lambda: O.ema([1.0], True), "beta"),
    (lambda: O.optimize_path(lambda x, y: x, (0.0, 0.0), lambda p: "not an optimizer", 3), "make_optimizer"),
    (lambda: O.optimize_path("f", (0.0, 0.0), lambda p: O.SGD(p, lr=0.1), 3), "fn"),
])
def test_type_errors_name_the_argument(make, name):
    with pytest.raises(TypeError, match=name):
        make()


# ----------------------------------------------------------------------------- the chapter's panels
from helpers.panels import optim as OP  # noqa: E402

def _race_hp(name: str) -> dict:
    """Every record's race settings: half its lr slider's default (no table per optimizer), betas off their defaults."""
    values = {"beta1": 0.8, "beta2": 0.95, "weight_decay": 0.3}
    return {h.name: h.default / 2 if h.name == "lr" else values[h.name] for h in O.OPTIMIZERS[name].hypers}


@pytest.mark.parametrize("surface", list(data.SURFACES))
def test_complex_step_gradient_equals_autograd(surface):
    fn = data.SURFACES[surface].fn
    gen = torch.Generator().manual_seed(1)
    for x, y in (2 * torch.rand(5, 2, generator=gen, dtype=F64) - 1).tolist():
        w = torch.tensor([x, y], dtype=F64, requires_grad=True)
        f = fn(w[0], w[1])
        (g,) = torch.autograd.grad(f, w)
        value, gx, gy = O.surface_gradient(fn, x, y)
        assert math.isclose(value, f.item(), rel_tol=1e-12, abs_tol=1e-12)
        assert torch.allclose(torch.tensor([gx, gy], dtype=F64), g, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", list(O.OPTIMIZERS))
def test_race_path_equals_torch_optim_on_every_surface(name, float64_default):
    spec, hp = O.OPTIMIZERS[name], _race_hp(name)
    for surface in data.SURFACES.values():
        ours, our_losses = O.race_path(name, surface.fn, surface.start, 60, **hp)
        theirs, their_losses = O.optimize_path(surface.fn, surface.start, lambda p: spec.torch(p, **hp), 60)
        assert torch.isfinite(theirs).all(), f"{name} diverged on {surface.name}: pick a smaller lr"
        assert torch.allclose(torch.from_numpy(ours), theirs, rtol=1e-9, atol=1e-10), (name, surface.name)
        assert torch.allclose(torch.from_numpy(our_losses), their_losses, rtol=1e-9, atol=1e-10)


def test_race_runs_the_chapters_own_update_rules(monkeypatch):
    """The race calls the classes' ``update``: break one rule and that optimizer's race breaks."""
    fn, start = data.SURFACES["quadratic"].fn, (-3.5, 2.0)
    before, _ = O.race_path("RMSProp", fn, start, 5, lr=0.1, beta2=0.9)
    monkeypatch.setattr(O.RMSprop, "update", staticmethod(lambda w, g, state, **s: w))
    frozen, _ = O.race_path("RMSProp", fn, start, 5, lr=0.1, beta2=0.9)
    assert (frozen == frozen[0]).all() and not (before == before[0]).all()


def test_adam_and_adamw_differ_in_the_race_only_with_weight_decay():
    fn, start = data.SURFACES["quadratic"].fn, (-3.5, 2.0)
    same = [O.race_path(n, fn, start, 50, lr=0.1, beta1=0.9, beta2=0.999, weight_decay=0.0)[0] for n in ("Adam", "AdamW")]
    differ = [O.race_path(n, fn, start, 50, lr=0.1, beta1=0.9, beta2=0.999, weight_decay=0.5)[0]
              for n in ("Adam", "AdamW")]
    assert (same[0] == same[1]).all()
    assert abs(differ[0] - differ[1]).max() > 0.05


def test_race_path_marks_divergence_with_nan_and_rejects_bad_input():
    fn = data.SURFACES["rosenbrock"].fn
    path, losses = O.race_path("SGD", fn, (-1.2, 1.0), 40, lr=0.5)
    finite = int(torch.isfinite(torch.from_numpy(losses)).sum())
    assert 0 < finite < 41 and bool(torch.isnan(torch.from_numpy(path[finite:])).all())
    with pytest.raises(ValueError, match="optimizer"):
        O.race_path("Lion", fn, (0.0, 0.0), 3, lr=0.1)
    with pytest.raises(ValueError, match="steps"):
        O.race_path("SGD", fn, (0.0, 0.0), -1, lr=0.1)
    with pytest.raises(ValueError, match="lr"):
        O.race_path("SGD", fn, (0.0, 0.0), 3, lr=-0.1)
    with pytest.raises(ValueError, match="betas"):
        O.race_path("Adam", fn, (0.0, 0.0), 3, lr=0.1, beta1=1.0, beta2=0.9, weight_decay=0.0)


def test_heavy_ball_steps_match_torch_sgd_with_momentum():
    lams, start, lr = (0.05, 1.0), (-2.0, 1.0), 0.5
    fn = lambda x, y: 0.5 * (lams[0] * x ** 2 + lams[1] * y ** 2)  # noqa: E731
    betas = [0.0, 0.5, 0.9, 0.97]
    ours = O.heavy_ball_steps(lams, start, lr, betas, 1e-6, 600)
    assert (ours > 0).all()
    for beta, n in zip(betas, ours):
        make = (lambda p: torch.optim.SGD(p, lr=lr)) if beta == 0 else (
            lambda p, b=beta: torch.optim.SGD(p, lr=lr, momentum=b))
        _, losses = O.optimize_path(fn, start, make, 600)
        assert n == O.steps_to_tolerance(losses, 0.0, 1e-6 * losses[0].item()), beta
        _, run_losses, hit = O.heavy_ball_run(lams, start, lr, beta, 600, 1e-6)
        assert hit == n and torch.allclose(torch.from_numpy(run_losses), losses[:len(run_losses)], rtol=1e-9)
    assert O.heavy_ball_steps(lams, start, 5.0, [0.0], 1e-6, 200)[0] == -1   # diverges: never reached


def test_heavy_ball_rate_is_goh_and_is_what_a_run_measures():
    lams = (0.01, 1.0)
    lr, beta, rate = O.momentum_optimal(*lams)
    assert math.isclose(float(O.heavy_ball_rate(lams, lr, beta)), rate, rel_tol=1e-6)
    lr_gd, rate_gd = O.gd_optimal(*lams)
    assert math.isclose(float(O.heavy_ball_rate(lams, lr_gd, 0.0)), rate_gd, rel_tol=1e-9)
    for lr, beta in ((0.5, 0.5), (1.0, 0.8), (0.2, 0.95)):   # measured contraction of |w| over late steps
        path, _, _ = O.heavy_ball_run(lams, (-2.0, 1.0), lr, beta, 800, 0.0)
        norms = torch.from_numpy(path).norm(dim=1)
        measured = (norms[700:800].max() / norms[400:500].max()).item() ** (1 / 300)
        assert abs(measured - float(O.heavy_ball_rate(lams, lr, beta))) < 0.01, (lr, beta)


def test_effective_lr_is_what_torch_steps_show():
    grads = O.quiet_gradients(0.01)
    ada, rms = O.effective_lr(O.Adagrad, grads, lr=0.01), O.effective_lr(O.RMSprop, grads, lr=0.01, alpha=0.9)
    for make, ours in ((lambda p: torch.optim.Adagrad(p, lr=0.01), ada),
                       (lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9), rms)):
        w = torch.zeros(1, dtype=F64, requires_grad=True)
        opt, before, measured = make([w]), 0.0, []
        for g in grads:
            w.grad = torch.tensor([g], dtype=F64)
            opt.step()
            measured.append(abs(w.item() - before) / g)
            before = w.item()
        assert torch.allclose(torch.tensor(measured, dtype=F64), torch.from_numpy(ours), rtol=1e-9)
    assert math.isclose(ada[0], 0.01 / (1 + 1e-10)) and math.isclose(rms[0], 0.01 / (math.sqrt(0.1) + 1e-8))
    assert (ada[1:] <= ada[:-1]).all() and ada[159] == pytest.approx(ada[59], rel=0.02)
    assert rms[159] > 50 * rms[59]


def test_noisy_wave_is_seeded_and_its_noise_has_the_asked_size():
    signal, x = O.noisy_wave(3000, seed=3, noise=0.5)
    assert signal.shape == x.shape == (3000,) and abs((x - signal).std() - 0.5) < 0.03
    assert (O.noisy_wave(10, seed=1)[1] == O.noisy_wave(10, seed=1)[1]).all()
    assert not (O.noisy_wave(10, seed=1)[1] == O.noisy_wave(10, seed=2)[1]).all()


def test_double_well_has_a_deep_and_a_shallow_minimum():
    """Stationary points from the roots of f'(x) = 4x^3 - 4x + c, checked by autograd and on a fine grid."""
    for tilt in (0.1, 0.3, 1.0):
        roots = sorted(r.real for r in np.roots([4.0, 0.0, -4.0, tilt]) if abs(r.imag) < 1e-12)
        deep, top, shallow = roots
        assert -1.5 < deep < -1 < 0 < top < shallow < 1
        xs = torch.tensor([deep, top, shallow], dtype=F64, requires_grad=True)
        (grad,) = torch.autograd.grad(O.double_well(xs, tilt).sum(), xs)
        assert grad.abs().max() < 1e-9
        f = O.double_well(torch.tensor([deep, top, shallow], dtype=F64), tilt)
        assert f[0] < f[2] < f[1]
        grid = torch.linspace(-2, 2, 40001, dtype=F64)
        assert math.isclose(O.double_well(grid, tilt).min().item(), f[0].item(), abs_tol=1e-8)
    assert O.double_well(2.0) == 9.6 and O.double_well(0.0) == 1.0


def test_gd_limits_figure_has_four_surfaces():
    fig = OP.gd_limits_figure(steps=20)
    assert len(fig.axes) == 4 and all(ax.get_title() for ax in fig.axes)


def test_the_panel_module_only_draws():
    """Its public names are panels and figures; the race's controls and colours come from the records."""
    public = [n for n in vars(OP) if not n.startswith("_") and callable(getattr(OP, n))
              and getattr(getattr(OP, n), "__module__", "") == OP.__name__]
    assert public and all(n.endswith(("_panel", "_figure")) for n in public), public
    assert all(n.endswith(("_panel", "_figure")) for n in OP.__all__)
    panel = OP.optimizer_race_panel()
    assert [n for n in O.OPTIMIZERS if n in panel.controls] == list(O.OPTIMIZERS)
    # one row per optimizer: its checkbox and one control per setting its record lists
    assert {f"{n}_{h.name}" for n, spec in O.OPTIMIZERS.items() for h in spec.hypers} <= set(panel.controls)
    assert len(set(OP._COLORS.values())) == len(O.OPTIMIZERS)


def test_race_losses_never_dip_below_the_minimum():
    """Re f(x + ih, y) = f - h^2 f_xx / 2: the race takes f from real inputs, so f - f* is never negative."""
    surf = data.SURFACES["quadratic"]
    assert O.surface_gradient(surf.fn, 0.0, 0.0) == (0.0, 0.0, 0.0)
    _, losses = O.race_path("RMSProp", surf.fn, surf.start, 300, lr=0.1, beta2=0.99)
    assert losses[-1] < 1e-100 and (losses - O.lowest_value(surf) >= 0).all()   # it ends at the minimum


def test_adaptive_lr_readout_says_whether_rmsprop_recovers():
    panel = OP.adaptive_lr_panel()
    panel.render(quiet=0.01, alpha=0.9)
    assert "(rises)" in panel.readout_text and "3.2 x eta" in panel.readout_text
    panel.render(quiet=1.0, alpha=0.999)
    assert "(does not rise)" in panel.readout_text and "(never rises)" in panel.readout_text


# ----------------------------------------------------------------------------- the race: named starts, chaos
def test_named_starts_are_inside_the_view_and_are_what_their_names_say():
    assert list(O.NAMED_STARTS) == list(data.SURFACES)
    for name, starts in O.NAMED_STARTS.items():
        surf = data.SURFACES[name]
        assert next(iter(starts.values())) == surf.start          # the first one is the surface's default
        assert len(starts) >= 3
        for label, (x, y) in starts.items():
            assert surf.xlim[0] < x < surf.xlim[1] and surf.ylim[0] < y < surf.ylim[1], (name, label)
            assert math.isfinite(O.surface_gradient(surf.fn, x, y)[0])
            distances = [math.dist((x, y), m) for m in surf.minima]
            if "near the minimum" in label or "near a minimum" in label:
                assert min(distances) < 0.5, (name, label)
            if "second minimum" in label:
                assert distances[1] < 0.5 and distances[1] == min(distances)
            if "plateau" in label:
                assert O.surface_gradient(surf.fn, x, y)[0] - O.lowest_value(surf) > 0.99
    ridge = O.NAMED_STARTS["saddle"]["saddle ridge"]
    assert O.surface_gradient(data.SURFACES["saddle"].fn, *ridge)[2] == 0.0      # no push off the ridge, ever
    assert O.NAMED_STARTS["quadratic"]["on the shallow eigenvector"][1] == 0.0   # the eigenvectors are the axes
    assert O.NAMED_STARTS["quadratic"]["on the steep eigenvector"][0] == 0.0
    x, y = O.NAMED_STARTS["rosenbrock"]["far end of the valley"]
    assert y == x * x                                                            # on the valley floor y = x^2


def test_view_point_maps_fractions_of_the_view_to_the_surface():
    surf = data.SURFACES["rosenbrock"]                                  # x in (-2, 2), y in (-1, 3)
    assert O.view_point(surf, 0, 0) == (0.0, 1.0)
    assert O.view_point(surf, -1, 1) == (-2.0, 3.0) and O.view_point(surf, 1, -1) == (2.0, -1.0)
    assert O.view_point(data.SURFACES["multi_minima"], 0.5, 0.5) == (1.25, 1.25)
    with pytest.raises(ValueError, match="edges of the view"):
        O.view_point(surf, 1.5, 0)


def test_race_chaotic_flags_rmsprop_on_rosenbrock_and_not_a_converging_run():
    """The issue's case: beta2 changed in its 16th digit moves RMSProp's Rosenbrock result by a factor of 2."""
    surf = data.SURFACES["rosenbrock"]
    f_min = O.lowest_value(surf)
    finals = [O.race_path("RMSProp", surf.fn, surf.start, 300, lr=0.1, beta2=b)[1][-1] - f_min
              for b in (0.99, float(np.nextafter(0.99, 1.0)))]
    assert abs(finals[0] - finals[1]) > 0.2 * max(finals)
    assert O.race_chaotic("RMSProp", surf.fn, surf.start, 300, f_min, lr=0.1, beta2=0.99)
    assert not O.race_chaotic("SGD", surf.fn, surf.start, 300, f_min, lr=1e-3)
    assert not O.race_chaotic("Adam", surf.fn, surf.start, 300, f_min, lr=0.1, beta1=0.9, beta2=0.99,
                              weight_decay=0.0)
    quad = data.SURFACES["quadratic"]
    assert not O.race_chaotic("Momentum", quad.fn, quad.start, 300, 0.0, lr=0.1, beta1=0.5)
    assert not O.outcomes_differ(1.0, 1.0005) and O.outcomes_differ(1.0, 1.002)
    assert not O.outcomes_differ(1e-13, 1e-15)                  # both below 1e-12: the same printed result
    assert O.outcomes_differ(math.nan, 1.0) and not O.outcomes_differ(math.nan, math.nan)


# ----------------------------------------------------------------------------- Distill's component view
def test_surface_hessian_of_the_quadratic_is_its_curvatures():
    H = O.surface_hessian(data.SURFACES["quadratic"].fn, 0.7, -1.3)
    assert np.allclose(H, np.diag([1.0, 10.0]), atol=1e-7)      # data.quadratic(1, 10): Hessian diag(1, 10)
    w = torch.tensor([0.3, 0.8], dtype=F64)
    exact = torch.autograd.functional.hessian(lambda v: data.SURFACES["rosenbrock"].fn(v[0], v[1]), w).numpy()
    assert np.allclose(O.surface_hessian(data.SURFACES["rosenbrock"].fn, 0.3, 0.8), exact, rtol=1e-6, atol=1e-5)


@pytest.mark.parametrize("beta", [0.0, 0.6])
def test_eigen_errors_are_torch_sgd_on_a_diagonal_quadratic(beta, float64_default):
    lams, start, lr = (1.0, 10.0), (-3.5, 2.0), 0.15
    w = torch.tensor(start, requires_grad=True)
    opt = torch.optim.SGD([w], lr=lr, momentum=beta)
    theirs = [w.detach().clone()]
    for _ in range(40):
        opt.zero_grad()
        (0.5 * (lams[0] * w[0] ** 2 + lams[1] * w[1] ** 2)).backward()
        opt.step()
        theirs.append(w.detach().clone())
    ours = O.eigen_errors(lams, start, lr, beta, 40)
    assert ours.shape == (41, 2) and np.allclose(ours, torch.stack(theirs).numpy(), rtol=1e-12, atol=1e-300)
    if beta == 0:   # plain GD, closed form: e_i^k = (1 - lr lambda_i)^k e_i^0
        k = np.arange(41)[:, None]
        assert np.allclose(ours, (1 - lr * np.array(lams)) ** k * np.array(start), rtol=1e-10)


def _spectral_radius(lam: float, lr: float, beta: float) -> float:
    """max |eigenvalue| of the heavy ball's 2x2 iteration (e_{k+1}, e_k) = M (e_k, e_{k-1}), by numpy."""
    return float(np.abs(np.linalg.eigvals(np.array([[1 + beta - lr * lam, -beta], [1.0, 0.0]]))).max())


@pytest.mark.parametrize("l_min, l_max", [(1.0, 10.0), (0.5, 20.0), (1.0, 100.0)])
def test_component_rates_at_the_optimal_settings_match_the_closed_form(l_min, l_max):
    kappa = l_max / l_min
    gd_rate = (kappa - 1) / (kappa + 1)
    hb_rate = (math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)
    lams = (l_min, l_max)
    lr, rate = O.gd_optimal(l_min, l_max)
    assert math.isclose(lr, 2 / (l_min + l_max)) and math.isclose(rate, gd_rate)
    e = np.abs(O.eigen_errors(lams, (1.0, 1.0), lr, 0.0, 60))
    assert np.allclose(e[1:] / e[:-1], gd_rate, rtol=1e-9)        # every step, both components: the same rate
    lr, beta, rate = O.momentum_optimal(l_min, l_max)
    assert math.isclose(lr, (2 / (math.sqrt(l_min) + math.sqrt(l_max))) ** 2)
    assert math.isclose(beta, hb_rate ** 2) and math.isclose(rate, hb_rate)
    # at beta* the 2x2 iteration has a repeated eigenvalue: e_k = (c1 + c2 k) r^k, so compare over K steps,
    # from step K to 2K: the measured rate is r ((c1 + 2K c2)/(c1 + K c2))^(1/K) <= r 2^(1/K)
    K = 300
    e = np.abs(O.eigen_errors(lams, (1.0, 1.0), lr, beta, 2 * K))
    measured = (e[2 * K] / e[K]) ** (1 / K)
    assert np.allclose(measured, hb_rate, rtol=3e-3) and (measured >= hb_rate * (1 - 1e-9)).all()
    for lam in lams:
        assert math.isclose(_spectral_radius(lam, lr, beta), hb_rate, rel_tol=1e-6)
    assert np.allclose(O.component_rates(lams, lr, beta), hb_rate, rtol=1e-6)
    # away from the optimum the slowest component is slower
    for lr_, beta_ in ((lr * 1.1, beta), (lr * 0.9, beta), (lr, beta * 1.2), (lr, beta * 0.8)):
        assert O.component_rates(lams, lr_, beta_).max() > hb_rate


def test_component_rates_are_the_spectral_radius_of_the_iteration():
    gen = np.random.default_rng(0)
    for lam, lr, beta in zip(gen.uniform(0.1, 10, 20), gen.uniform(0.01, 0.5, 20), gen.uniform(0, 0.99, 20)):
        assert math.isclose(O.component_rates([lam], lr, beta)[0], _spectral_radius(lam, lr, beta), rel_tol=1e-6)
    with pytest.raises(ValueError, match="same length"):
        O.eigen_errors([1.0, 2.0], [1.0], 0.1, 0.0, 5)
    with pytest.raises(ValueError, match="beta"):
        O.eigen_errors([1.0], [1.0], 0.1, 1.0, 5)


# ----------------------------------------------------------------------------- the race panel
def _race_panel():
    panel = OP.optimizer_race_panel()
    return panel, {ax.get_title().split(";")[0]: ax for ax in panel.fig.axes}


def _alone(name: str) -> dict:
    return {n: n == name for n in O.OPTIMIZERS}


def _rgb(png: bytes) -> np.ndarray:
    from PIL import Image
    import io
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def _disc_has_colour(img: np.ndarray, ax, xy, colour, radius: float) -> bool:
    """Every pixel within ``radius`` picture pixels of data point ``xy`` (through the axes transform) is ``colour``."""
    px, py = ax.transData.transform(xy)
    row, col = img.shape[0] - py, px                         # display y counts from the bottom
    rr, cc = np.mgrid[0:img.shape[0], 0:img.shape[1]]
    inside = (rr + 0.5 - row) ** 2 + (cc + 0.5 - col) ** 2 <= radius ** 2
    return bool(inside.sum() > 10 and (np.abs(img[inside] - colour).max(axis=1) <= 6).all())


@pytest.mark.parametrize("name", list(O.OPTIMIZERS))
def test_race_puts_each_iterate_at_step_t_where_the_optimizer_takes_it(name, float64_default):
    """The iterate marked at step t is torch.optim's, after t steps from the panel's start, on the contour and
    on the loss curve: the marker artist's data, and its colour on the rendered pixels at that place."""
    from matplotlib.colors import to_rgb
    panel, axes = _race_panel()
    ax_path, ax_loss = axes["surface: rosenbrock  (o: start, dots: step t)"], axes["loss against step"]
    spec, surf, t = O.OPTIMIZERS[name], data.SURFACES["rosenbrock"], 37
    hp = {h.name: h.default for h in spec.hypers}
    theirs, losses = O.optimize_path(surf.fn, surf.start, lambda p: spec.torch(p, **hp), t + 40)
    img = _rgb(panel.render(**_alone(name), t=t, steps=300, surface="rosenbrock"))
    colour = np.array(to_rgb(OP._COLORS[name])) * 255
    dots = [line for line in ax_path.lines if line.get_visible() and line.get_marker() == "o"
            and line.get_markersize() == 10]
    assert len(dots) == 1
    assert np.allclose(np.ravel(dots[0].get_data()), theirs[t].numpy(), rtol=0, atol=1e-9)
    scale = panel.fig.dpi / 72                                # picture pixels per point
    inner = (dots[0].get_markersize() / 2 - dots[0].get_markeredgewidth()) * scale
    assert _disc_has_colour(img, ax_path, theirs[t].numpy(), colour, 0.7 * inner)
    later = theirs[t + 40].numpy()                            # a control: the same disc where the dot is not
    if math.dist(ax_path.transData.transform(later), ax_path.transData.transform(theirs[t].numpy())) > 3 * inner:
        assert not _disc_has_colour(img, ax_path, later, colour, 0.7 * inner)
    gap = losses[t].item() - O.lowest_value(surf)
    (on_loss,) = [line for line in ax_loss.lines if line.get_visible() and line.get_marker() == "o"]
    assert np.allclose(np.ravel(on_loss.get_data()), [t, gap], rtol=1e-9)
    inner = (on_loss.get_markersize() / 2 - on_loss.get_markeredgewidth()) * scale
    assert _disc_has_colour(img, ax_loss, (t, gap), colour, 0.7 * inner)


def test_race_step_t_moves_only_markers():
    """Moving t reuses the cached race (no new run) and the cached background (no full redraw)."""
    panel, _ = _race_panel()
    panel.render(t=10)
    runs, backgrounds = OP._race_run.cache_info().misses, len(panel._backgrounds)
    first = panel.render(t=11)
    assert panel.render(t=12) != first
    assert OP._race_run.cache_info().misses == runs and len(panel._backgrounds) == backgrounds
    assert panel.unexpected_redraws == 0


def test_race_steps_slider_carries_t_and_play_along():
    panel, _ = _race_panel()
    t, steps = panel.controls["t"], panel.controls["steps"]
    assert t.value == t.max == steps.value                     # opens at the end of the run
    steps.value = 100
    assert t.max == 100 and t.value == 100                     # at the end it stays at the end
    t.value = 40
    steps.value = 200
    assert t.max == 200 and t.value == 40
    play = panel.play_links[0].source[0]                      # Play's range follows t's
    assert play.max == 200


def test_race_legend_lists_exactly_the_optimizers_switched_on():
    panel, axes = _race_panel()
    ax_loss = axes["loss against step"]
    for on in (["SGD", "Adam"], ["Momentum", "RMSProp", "AdamW", "NAdam"], list(O.OPTIMIZERS), ["Nesterov"]):
        panel.render(**{n: n in on for n in O.OPTIMIZERS})
        assert [t.get_text() for t in ax_loss.get_legend().get_texts()] == on
    assert panel.unexpected_redraws == 0
    panel.render(**{n: False for n in O.OPTIMIZERS})
    assert panel.last_error == "Switch on at least one optimizer."


def test_race_readout_clamps_f_minus_f_star_and_flags_chaos():
    panel, _ = _race_panel()
    panel.render(surface="quadratic", start_quadratic="default", **_alone("RMSProp"))
    assert "&lt; 1e-12" in panel.readout_text                  # RMSProp reaches the minimum of the bowl exactly
    assert not re.search(r"-\d\.\d\de", panel.readout_text)   # never a negative f - f*
    panel.render(surface="rosenbrock", **{n: n in ("SGD", "RMSProp") for n in O.OPTIMIZERS})
    rows = {row.split("</b>")[0].rsplit(">", 1)[1]: row for row in panel.readout_text.split("<tr>")[2:]}
    assert "(chaotic)" in rows["RMSProp"] and "(chaotic)" not in rows["SGD"]
    assert "3.10e+00" in rows["SGD"]          # a stable result keeps three figures (SGD on Rosenbrock, 300 steps)


def test_race_start_controls_follow_the_surface():
    panel, _ = _race_panel()
    for surface in data.SURFACES:
        values = {**panel.values(), "surface": surface}
        shown, enabled = panel.shown(values), panel.enabled(values)
        assert [s for s in O.NAMED_STARTS if shown[f"start_{s}"]] == [surface]
        assert [s for s in O.NAMED_STARTS if enabled[f"start_{s}"]] == [surface]
        assert not shown["x0"] and not enabled["x0"]
        values["free_start"] = True
        assert panel.shown(values)["x0"] and panel.enabled(values)["y0"]
        assert panel.shown(values)[f"start_{surface}"] and not panel.enabled(values)[f"start_{surface}"]
    panel.render(surface="saddle", start_saddle="saddle ridge")
    assert "start = (-2.00, 0.00)" in panel.readout_text


def test_race_component_view_shows_on_the_quadratic_at_the_closed_form_rates():
    panel, axes = _race_panel()
    gd_ax = [ax for ax in panel.fig.axes if ax.get_ylabel().startswith("|error|")][0]   # the upper one
    assert not gd_ax.get_visible()
    panel.render(surface="quadratic", start_quadratic="default", SGD=True, SGD_lr=0.1, steps=100)
    assert gd_ax.get_visible() and "α* = 0.182" in gd_ax.get_title()          # 2/(1 + 10)
    yours = [l for l in gd_ax.lines if l.get_visible() and l.get_color() == OP._COLORS["SGD"]]
    best = [l for l in gd_ax.lines if l.get_visible() and l.get_color() == OP.COLORS["muted"]]
    assert len(yours) == 2 and len(best) == 2
    k = np.arange(101)
    for line, lam, e0 in zip(yours, (1.0, 10.0), (3.5, 2.0)):   # solid: lambda = 1 (x), dashed: lambda = 10 (y)
        assert np.allclose(line.get_ydata(), np.clip(np.abs(1 - 0.1 * lam) ** k * e0, 1e-15, None), rtol=1e-9)
    for line in best:
        y = np.asarray(line.get_ydata())
        y = y[y > 1e-14]
        assert np.allclose(y[1:] / y[:-1], 9 / 11, rtol=1e-9)          # (kappa - 1)/(kappa + 1), kappa = 10
    assert "rate (kappa-1)/(kappa+1) = 0.8182" in panel.readout_text
    assert "rate (sqrt(kappa)-1)/(sqrt(kappa)+1) = 0.5195" in panel.readout_text


def _rows(readout: str) -> dict[str, str]:
    """The race readout's table rows, by optimizer name."""
    return {row.split("</b>")[0].rsplit(">", 1)[1]: row.split("</tr>")[0] for row in readout.split("<tr>")[2:]}


def test_race_states_show_what_the_chapter_says_they_show():
    """The one-click experiments of chapter 05's list, as the panel draws them (the notebook checks the runs)."""
    panel, axes = _race_panel()
    shown = lambda ax: [l for l in ax.lines if l.get_visible() and l.get_color() == OP._COLORS["SGD"]]  # noqa: E731
    gd_ax = [ax for ax in panel.fig.axes if ax.get_ylabel().startswith("|error|")][0]
    panel.apply_state("SGD 不发散")
    assert "diverged" not in _rows(panel.readout_text)["SGD"] and "lr=0.00501" in _rows(panel.readout_text)["SGD"]
    panel.apply_state("SGD 发散")
    assert "diverged at step" in _rows(panel.readout_text)["SGD"] and "lr=0.00631" in _rows(panel.readout_text)["SGD"]
    panel.apply_state("Adam lr=1")
    assert "diverged" not in _rows(panel.readout_text)["Adam"] and "lr=1," in _rows(panel.readout_text)["Adam"]
    panel.apply_state("鞍点山脊")
    assert "start = (-2.00, 0.00)" in panel.readout_text
    panel.apply_state("自选起点")
    assert "start = (1.25, 1.25)" in panel.readout_text and panel.shown()["x0"]
    panel.apply_state("wd=0")
    rows = _rows(panel.readout_text)
    assert rows["Adam"].split("</td>", 2)[2] == rows["AdamW"].split("</td>", 2)[2]   # the same run, to the digit
    panel.apply_state("wd=0.5")
    rows = _rows(panel.readout_text)
    assert "wd=0.50" in rows["Adam"] and "wd=0.50" in rows["AdamW"]
    assert rows["Adam"].split("</td>", 2)[2] != rows["AdamW"].split("</td>", 2)[2]
    panel.apply_state("动量最快")
    assert "your momentum rate 0.5568" in panel.readout_text   # the text: about 0.557
    panel.apply_state("刚过 α*")
    assert "your GD rate 0.9953" in panel.readout_text
    panel.apply_state("浅特征向量")
    assert "eigenvectors (-3.50, 0.00)" in panel.readout_text
    solid, dashed = shown(gd_ax)                     # lambda = 10's error is 0: drawn at the floor, below the view
    assert np.all(np.asarray(dashed.get_ydata()) < gd_ax.get_ylim()[0]) and solid.get_ydata()[0] == 3.5
    panel.apply_state("平原 t=2")
    assert panel.values()["t"] == 2 and "step t = 2" in panel.readout_text
    assert panel.unexpected_redraws == 0
