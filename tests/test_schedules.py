"""helpers.schedules: every formula against PyTorch's scheduler step by step, lr_curve on composite
schedulers, the ReduceLROnPlateau rule against torch's, and bad input."""
from __future__ import annotations

import io

import math
import warnings

import numpy as np
import pytest
import torch

from helpers import schedules as S

LS = torch.optim.lr_scheduler


def _torch_lrs(make_scheduler, n: int, lr: float) -> list[float]:
    """get_last_lr() after t = 0, 1, ..., n scheduler.step() calls (optimizer stepped first, PyTorch's order)."""
    w = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([w], lr=lr)
    sched = make_scheduler(opt)
    out = [sched.get_last_lr()[0]]
    for _ in range(n):
        w.grad = torch.zeros_like(w)
        opt.step()
        sched.step()
        out.append(sched.get_last_lr()[0])
    return out


def _assert_close_lists(ours: list[float], theirs: list[float], rel: float = 1e-12, abs_: float = 1e-15) -> None:
    assert len(ours) == len(theirs)
    for t, (a, b) in enumerate(zip(ours, theirs)):
        assert math.isclose(a, b, rel_tol=rel, abs_tol=abs_), f"t={t}: ours {a} vs torch {b}"


# ----------------------------------------------------------------------------- formulas vs PyTorch
@pytest.mark.parametrize("lr0,step_size,gamma", [(0.1, 30, 0.1), (1.0, 1, 0.5), (0.05, 7, 0.9), (2.0, 3, 1.5)])
def test_step_lr_matches_torch(lr0, step_size, gamma):
    n = 120
    theirs = _torch_lrs(lambda o: LS.StepLR(o, step_size=step_size, gamma=gamma), n, lr0)
    _assert_close_lists([S.step_lr(t, lr0, step_size, gamma) for t in range(n + 1)], theirs)


def test_step_lr_checklist_values():
    """C28: StepLR(30, 0.1) gives 0.1 for t < 30, 0.01 from 30, 0.001 from 60, 1e-4 from 90."""
    for t, expected in ((0, 0.1), (29, 0.1), (30, 0.01), (59, 0.01), (60, 0.001), (90, 1e-4)):
        assert math.isclose(S.step_lr(t, 0.1, 30), expected, rel_tol=1e-12)


@pytest.mark.parametrize("lr0,milestones,gamma", [
    (0.1, [20, 50, 80], 0.1), (1.0, [3, 3, 10], 0.5), (0.5, [10, 2, 6], 0.3), (0.2, [0, 4], 0.5), (0.1, [], 0.1),
])
def test_multistep_lr_matches_torch(lr0, milestones, gamma):
    n = 100
    theirs = _torch_lrs(lambda o: LS.MultiStepLR(o, milestones=milestones, gamma=gamma), n, lr0)
    _assert_close_lists([S.multistep_lr(t, lr0, milestones, gamma) for t in range(n + 1)], theirs)


@pytest.mark.parametrize("lr0,gamma", [(0.1, 0.95), (1.0, 0.5), (0.01, 0.999), (0.1, 1.02)])
def test_exponential_lr_matches_torch(lr0, gamma):
    n = 150
    theirs = _torch_lrs(lambda o: LS.ExponentialLR(o, gamma=gamma), n, lr0)
    _assert_close_lists([S.exponential_lr(t, lr0, gamma) for t in range(n + 1)], theirs, rel=1e-11)


@pytest.mark.parametrize("lr_max,T_max,lr_min", [(0.01, 100, 1e-5), (0.1, 10, 0.0), (1.0, 7, 0.1), (0.5, 1, 0.05)])
def test_cosine_lr_matches_torch_also_after_T_max(lr_max, T_max, lr_min):
    """The recursive CosineAnnealingLR follows the closed form for three full periods (E36: it rises again)."""
    n = 6 * T_max + 3
    theirs = _torch_lrs(lambda o: LS.CosineAnnealingLR(o, T_max=T_max, eta_min=lr_min), n, lr_max)
    ours = [S.cosine_lr(t, lr_max, T_max, lr_min) for t in range(n + 1)]
    _assert_close_lists(ours, theirs, rel=1e-9, abs_=1e-12 * lr_max)
    assert math.isclose(ours[T_max], lr_min, abs_tol=1e-15) and math.isclose(ours[2 * T_max], lr_max)


def test_cosine_checklist_values():
    """C29/C30 with eta_max = 0.01, T_max = 100, eta_min = 1e-5; past T_max it climbs back."""
    lrs = _torch_lrs(lambda o: LS.CosineAnnealingLR(o, T_max=100, eta_min=1e-5), 200, 0.01)
    for t in (0, 25, 50, 75, 100, 125, 150, 200):
        assert math.isclose(S.cosine_lr(t, 0.01, 100, 1e-5), lrs[t], rel_tol=1e-9)
    assert S.cosine_lr(125, 0.01, 100, 1e-5) > S.cosine_lr(100, 0.01, 100, 1e-5)
    drops = [S.cosine_lr(t, 0.01, 100, 1e-5) - S.cosine_lr(t + 25, 0.01, 100, 1e-5) for t in (0, 25, 50, 75)]
    assert drops[0] < drops[1] and drops[3] < drops[2]  # slow - fast - slow


# ----------------------------------------------------------------------------- lr_curve
def _no_warnings(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn()


def test_lr_curve_reads_the_lr_used_before_each_step():
    """E37: step k uses the lr set by k scheduler.step() calls, i.e. the formula at t = k."""
    lrs = _no_warnings(lambda: S.lr_curve(lambda o: LS.StepLR(o, step_size=30, gamma=0.1), 100, lr=0.1))
    assert len(lrs) == 100
    _assert_close_lists(lrs, [S.step_lr(t, 0.1, 30) for t in range(100)])
    assert lrs[29] == 0.1 and math.isclose(lrs[30], 0.01)
    cos = S.lr_curve(lambda o: LS.CosineAnnealingLR(o, T_max=20, eta_min=0.001), 60, lr=0.05)
    _assert_close_lists(cos, [S.cosine_lr(t, 0.05, 20, 0.001) for t in range(60)], rel=1e-9, abs_=1e-14)
    assert S.lr_curve(lambda o: LS.StepLR(o, 5), 0) == []


def test_lr_curve_one_cycle():
    max_lr, div, final_div, total, pct = 0.5, 25.0, 1e4, 100, 0.3
    lrs = _no_warnings(lambda: S.lr_curve(
        lambda o: LS.OneCycleLR(o, max_lr=max_lr, total_steps=total, pct_start=pct, div_factor=div,
                                final_div_factor=final_div), total))
    assert len(lrs) == total
    assert math.isclose(lrs[0], max_lr / div, rel_tol=1e-12)
    peak = max(range(total), key=lrs.__getitem__)
    assert peak == round(pct * total) - 1 and math.isclose(lrs[peak], max_lr, rel_tol=1e-12)
    assert math.isclose(lrs[-1], max_lr / (div * final_div), rel_tol=1e-9)
    assert all(a < b for a, b in zip(lrs[:peak], lrs[1:peak + 1]))  # warm-up rises
    assert all(a > b for a, b in zip(lrs[peak:-1], lrs[peak + 1:]))  # then anneals


def test_lr_curve_warm_restarts():
    T_0, lr = 10, 0.1
    lrs = _no_warnings(lambda: S.lr_curve(lambda o: LS.CosineAnnealingWarmRestarts(o, T_0=T_0, eta_min=0.0), 35, lr=lr))
    for k in range(35):
        assert math.isclose(lrs[k], S.cosine_lr(k % T_0, lr, T_0), rel_tol=1e-9, abs_tol=1e-15)
    for restart in (10, 20, 30):
        assert lrs[restart] == lr and lrs[restart - 1] < 0.01  # jumps back up at every T_0


def test_lr_curve_sequential_warmup_then_cosine():
    warm, T_max, lr = 5, 20, 0.1
    lrs = _no_warnings(lambda: S.lr_curve(lambda o: LS.SequentialLR(
        o, [LS.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=warm), LS.CosineAnnealingLR(o, T_max=T_max)],
        milestones=[warm]), warm + T_max))
    for k in range(warm):  # linear warm-up from 0.1 lr to lr
        assert math.isclose(lrs[k], lr * (0.1 + 0.9 * k / warm), rel_tol=1e-9)
    for k in range(warm, warm + T_max):  # then the cosine restarted at the milestone
        assert math.isclose(lrs[k], S.cosine_lr(k - warm, lr, T_max), rel_tol=1e-9, abs_tol=1e-15)


def test_lr_curve_rejects_what_it_cannot_drive():
    with pytest.raises(TypeError, match="plateau_lrs"):
        S.lr_curve(lambda o: LS.ReduceLROnPlateau(o), 5)
    with pytest.raises(TypeError, match="make_scheduler"):
        S.lr_curve(lambda o: o, 5)
    with pytest.raises(TypeError, match="make_scheduler"):
        S.lr_curve("StepLR", 5)
    with pytest.raises(ValueError, match="steps"):
        S.lr_curve(lambda o: LS.StepLR(o, 5), -1)


# ----------------------------------------------------------------------------- ReduceLROnPlateau
def _torch_plateau(losses, lr0, **kwargs) -> list[float]:
    w = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([w], lr=lr0)
    sched = LS.ReduceLROnPlateau(opt, **kwargs)
    out = []
    for value in losses:
        w.grad = torch.zeros_like(w)
        opt.step()
        sched.step(value)
        out.append(opt.param_groups[0]["lr"])
    return out


def _series(kind: str, seed: int) -> list[float]:
    gen = torch.Generator().manual_seed(seed)
    n = 120
    t = torch.arange(n, dtype=torch.float64)
    noise = torch.randn(n, generator=gen, dtype=torch.float64)
    if kind == "plateaus":  # drops, then flat stretches with noise
        return (1.0 / (1 + (t // 25)) + 0.01 * noise).tolist()
    if kind == "decaying":
        return (torch.exp(-t / 30) + 0.02 * noise).tolist()
    if kind == "rising":  # accuracy-like, for mode="max"
        return (1 - torch.exp(-t / 20) + 0.01 * noise).tolist()
    if kind == "tiny_steps":  # improvements of 5e-5 relative: below the default rel threshold
        return (1.0 * (1 - 5e-5) ** t).tolist()
    if kind == "negative":  # a metric below zero (e.g. a log-likelihood)
        return (-1.0 - 0.5 * torch.exp(-t / 40) + 0.05 * noise).tolist()
    raise ValueError(kind)


SETTINGS = [
    dict(),
    dict(factor=0.5, patience=3),
    dict(factor=0.5, patience=0, cooldown=2),
    dict(factor=0.3, patience=2, cooldown=4, min_lr=0.01),
    dict(factor=0.1, patience=5, threshold=1e-3, threshold_mode="abs"),
    dict(factor=0.5, patience=4, threshold=0.05),
    dict(factor=0.5, patience=1, mode="max"),
    dict(factor=0.7, patience=2, mode="max", threshold_mode="abs", threshold=0.01, cooldown=1),
    dict(factor=0.9, patience=0, min_lr=0.0999995),  # cut smaller than eps = 1e-8: skipped
]


@pytest.mark.parametrize("kind", ["plateaus", "decaying", "rising", "tiny_steps", "negative"])
@pytest.mark.parametrize("settings", SETTINGS, ids=lambda d: ",".join(f"{k}={v}" for k, v in d.items()) or "defaults")
def test_plateau_rule_matches_torch(kind, settings):
    losses = _series(kind, seed=len(kind))
    lrs, events = S.plateau_lrs(losses, 0.1, **settings)
    theirs = _torch_plateau(losses, 0.1, **settings)
    assert lrs == theirs
    before = [0.1] + lrs[:-1]
    assert events == [i for i in range(len(lrs)) if lrs[i] < before[i]]


def test_plateau_checklist_cases():
    """E38/C31: the cut comes on the (patience + 1)-th bad call; cooldown; min_lr; relative threshold."""
    const = [1.0] * 13
    lrs, events = S.plateau_lrs(const, 1.0, patience=3)
    assert lrs[:5] == [1.0, 1.0, 1.0, 1.0, 0.1] and events == [4, 8, 12]
    assert S.plateau_lrs([1.0] * 5, 1.0, factor=0.5, patience=0, cooldown=2)[0] == [1.0, 0.5, 0.5, 0.5, 0.25]
    assert S.plateau_lrs([1.0] * 40, 1.0, factor=0.5, patience=0, min_lr=0.1)[0][-1] == 0.1
    tiny = [1.0 * (1 - 5e-5) ** k for k in range(6)]
    # a 5e-5 relative improvement is below best * (1 - 1e-4): two bad calls, a cut (E38's evidence)
    assert S.plateau_lrs(tiny, 1.0, patience=1)[0][:3] == [1.0, 1.0, 0.1]
    assert S.plateau_lrs(tiny, 1.0, patience=1, threshold_mode="abs", threshold=1e-6)[0] == [1.0] * 6
    for case in ((const, dict(patience=3)), (tiny, dict(patience=1))):
        assert S.plateau_lrs(case[0], 1.0, **case[1])[0] == _torch_plateau(case[0], 1.0, **case[1])


def test_plateau_nan_is_a_bad_epoch_and_tensors_work():
    losses = [1.0, float("nan"), float("nan"), 0.5]
    assert S.plateau_lrs(losses, 1.0, patience=1)[0] == _torch_plateau(losses, 1.0, patience=1) == [1.0, 1.0, 0.1, 0.1]
    assert S.plateau_lrs(torch.tensor([1.0, 1.0, 1.0]), 1.0, patience=0)[1] == [1, 2]
    assert S.plateau_lrs([torch.tensor(1.0)] * 3, 1.0, patience=0)[1] == [1, 2]
    assert S.plateau_lrs([], 1.0) == ([], [])


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("call,name", [
    (lambda: S.step_lr(5, 0.1, 0), "step_size"),
    (lambda: S.step_lr(5, 0.1, -3), "step_size"),
    (lambda: S.step_lr(-1, 0.1, 10), "t"),
    (lambda: S.step_lr(5, 0.1, 10, gamma=0.0), "gamma"),
    (lambda: S.step_lr(5, -0.1, 10), "lr0"),
    (lambda: S.multistep_lr(-2, 0.1, [3]), "t"),
    (lambda: S.multistep_lr(5, 0.1, [3], gamma=-0.5), "gamma"),
    (lambda: S.multistep_lr(5, 0.1, [3, -1]), "milestones"),
    (lambda: S.exponential_lr(5, 0.1, 0.0), "gamma"),
    (lambda: S.exponential_lr(5, 0.1, -0.9), "gamma"),
    (lambda: S.exponential_lr(-5, 0.1, 0.9), "t"),
    (lambda: S.cosine_lr(5, 0.1, 0), "T_max"),
    (lambda: S.cosine_lr(5, 0.1, -10), "T_max"),
    (lambda: S.cosine_lr(-1, 0.1, 10), "t"),
    (lambda: S.cosine_lr(1, 0.1, 10, lr_min=-0.1), "lr_min"),
    (lambda: S.plateau_lrs([1.0], 0.1, factor=1.0), "factor"),
    (lambda: S.plateau_lrs([1.0], 0.1, factor=-0.1), "factor"),
    (lambda: S.plateau_lrs([1.0], 0.1, patience=-1), "patience"),
    (lambda: S.plateau_lrs([1.0], 0.1, cooldown=-1), "cooldown"),
    (lambda: S.plateau_lrs([1.0], 0.1, threshold=-1e-4), "threshold"),
    (lambda: S.plateau_lrs([1.0], 0.1, threshold_mode="relative"), "threshold_mode"),
    (lambda: S.plateau_lrs([1.0], 0.1, mode="minimum"), "mode"),
    (lambda: S.plateau_lrs([1.0], 0.1, min_lr=-1.0), "min_lr"),
    (lambda: S.plateau_lrs([1.0], 0.0), "lr0"),
])
def test_value_errors_name_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


@pytest.mark.parametrize("call,name", [
    (lambda: S.step_lr(2.5, 0.1, 10), "t"),
    (lambda: S.step_lr(True, 0.1, 10), "t"),
    (lambda: S.step_lr(5, 0.1, 2.0), "step_size"),
    (lambda: S.multistep_lr(5, 0.1, 30), "milestones"),
    (lambda: S.multistep_lr(5, 0.1, [1.5]), "milestones"),
    (lambda: S.cosine_lr(5, "0.1", 10), "lr_max"),
    (lambda: S.plateau_lrs(["1.0"], 0.1), "losses"),
    (lambda: S.plateau_lrs([1.0], 0.1, patience=1.5), "patience"),
])
def test_type_errors_name_the_argument(call, name):
    with pytest.raises(TypeError, match=name):
        call()


# ----------------------------------------------------------------------------- beyond the notes: formulas vs PyTorch
@pytest.mark.parametrize("warmup,T_max,lr_min,start", [(5, 20, 0.0, 0.1), (12, 100, 0.002, 1 / 3), (1, 7, 0.01, 0.5)])
def test_warmup_cosine_lr_is_sequential_linear_then_cosine(warmup, T_max, lr_min, start):
    theirs = _torch_lrs(lambda o: LS.SequentialLR(o, [LS.LinearLR(o, start_factor=start, total_iters=warmup),
                                                      LS.CosineAnnealingLR(o, T_max=T_max, eta_min=lr_min)],
                                                  milestones=[warmup]), warmup + 2 * T_max + 5, 0.1)
    _assert_close_lists([S.warmup_cosine_lr(t, 0.1, warmup, T_max, lr_min, start) for t in range(len(theirs))],
                        theirs, rel=1e-9, abs_=1e-14)


@pytest.mark.parametrize("total,pct", [(100, 0.3), (37, 0.25), (200, 0.05)])
def test_one_cycle_lr_matches_torch(total, pct):
    theirs = _torch_lrs(lambda o: LS.OneCycleLR(o, max_lr=0.5, total_steps=total, pct_start=pct), total - 1, 0.5)
    _assert_close_lists([S.one_cycle_lr(t, 0.5, total, pct) for t in range(total)], theirs, rel=1e-9, abs_=1e-15)
    with pytest.raises(ValueError, match="total_steps"):
        S.one_cycle_lr(total, 0.5, total, pct)


@pytest.mark.parametrize("T_0,T_mult,lr_min", [(10, 1, 0.0), (7, 2, 0.001), (3, 3, 0.0)])
def test_warm_restarts_lr_matches_torch(T_0, T_mult, lr_min):
    theirs = _torch_lrs(lambda o: LS.CosineAnnealingWarmRestarts(o, T_0=T_0, T_mult=T_mult, eta_min=lr_min), 150, 0.1)
    _assert_close_lists([S.warm_restarts_lr(t, 0.1, T_0, T_mult, lr_min) for t in range(151)], theirs,
                        rel=1e-9, abs_=1e-15)


@pytest.mark.parametrize("kind", ["plateaus", "decaying"])
@pytest.mark.parametrize("settings", [dict(factor=0.5, patience=3), dict(factor=0.3, patience=1, cooldown=3),
                                      dict(patience=2, threshold=0.02, threshold_mode="abs")])
def test_plateau_trace_follows_torch_call_by_call(kind, settings):
    losses = _series(kind, seed=3)
    trace = S.plateau_trace(losses, 0.1, **settings)
    assert (trace.lrs, trace.events) == S.plateau_lrs(losses, 0.1, **settings)
    w = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.1)
    sched = LS.ReduceLROnPlateau(opt, **settings)
    for i, value in enumerate(losses):
        sched.step(value)
        assert trace.best[i] == sched.best and trace.bad_epochs[i] == sched.num_bad_epochs, i
        assert math.isclose(trace.lrs[i], opt.param_groups[0]["lr"], rel_tol=1e-12)
    assert any(trace.cooldown) == (settings.get("cooldown", 0) > 0 and bool(trace.events))


def _range_problem():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(200, 3, generator=gen)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.1 * torch.randn(200, 1, generator=gen)
    torch.manual_seed(0)
    return torch.nn.Linear(3, 1), (x, y)


def test_lr_range_test_grows_the_lr_exponentially_and_restores_everything():
    model, data = _range_problem()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    before = [p.detach().clone() for p in model.parameters()]
    lrs, losses = S.lr_range_test(model, data, torch.nn.MSELoss(), opt, lr_min=1e-4, lr_max=10.0, steps=60,
                                  batch_size=20)
    assert len(lrs) == len(losses) < 60 and lrs[0] == 1e-4           # stopped early: the loss blew up
    ratios = [b / a for a, b in zip(lrs, lrs[1:])]
    assert all(math.isclose(r, (10.0 / 1e-4) ** (1 / 59), rel_tol=1e-9) for r in ratios)
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), before))
    assert opt.param_groups[0]["lr"] == 0.01 and not opt.state

    # the same run by hand: an ExponentialLR from lr_min and the same batches
    model2, _ = _range_problem()
    opt2 = torch.optim.SGD(model2.parameters(), lr=1e-4, momentum=0.9)
    sched = LS.ExponentialLR(opt2, gamma=(10.0 / 1e-4) ** (1 / 59))
    gen = torch.Generator().manual_seed(0)
    order = torch.randperm(200, generator=gen)
    for k, expected in enumerate(losses):
        if k % 10 == 0 and k > 0:
            order = torch.randperm(200, generator=gen)
        idx = order[(k % 10) * 20:(k % 10 + 1) * 20]
        opt2.zero_grad()
        loss = torch.nn.functional.mse_loss(model2(data[0][idx]), data[1][idx])
        loss.backward()
        opt2.step()
        sched.step()
        assert math.isclose(loss.item(), expected, rel_tol=1e-5), k


def test_lr_range_suggestions_find_the_steep_part_and_the_minimum():
    lrs = [1e-5 * 1.2 ** k for k in range(80)]
    # loss flat, then falling fastest around lr = 1e-3, lowest near 1e-2, then blowing up
    losses = [2.0 - 1.5 / (1 + math.exp(-3 * (math.log10(lr) + 3))) + (50 * lr) ** 2 for lr in lrs]
    found = S.lr_range_suggestions(lrs, losses, beta=0.0)
    assert 5e-4 < found["steepest"] < 2e-3
    best = lrs[min(range(80), key=losses.__getitem__)]
    assert math.isclose(found["minimum/10"], best / 10)
    with pytest.raises(ValueError, match="same length"):
        S.lr_range_suggestions([1.0, 2.0], [1.0])


@pytest.mark.parametrize("call,name", [
    (lambda: S.warmup_cosine_lr(0, 0.1, 0, 10), "warmup"),
    (lambda: S.warmup_cosine_lr(0, 0.1, 5, 10, start_factor=1.5), "start_factor"),
    (lambda: S.one_cycle_lr(0, 0.1, 100, pct_start=1.0), "pct_start"),
    (lambda: S.one_cycle_lr(0, 0.1, 1), "total_steps"),
    (lambda: S.warm_restarts_lr(0, 0.1, 0), "T_0"),
    (lambda: S.warm_restarts_lr(0, 0.1, 5, T_mult=0), "T_mult"),
    (lambda: S.lr_range_test(*_range_problem(), torch.nn.MSELoss(),
                             torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1), lr_min=1.0, lr_max=0.1),
     "lr_min"),
    (lambda: S.lr_range_test(*_range_problem(), torch.nn.MSELoss(),
                             torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1), beta=1.0), "beta"),
])
def test_new_value_errors_name_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_lr_range_test_type_errors():
    model, data = _range_problem()
    with pytest.raises(TypeError, match="optimizer"):
        S.lr_range_test(model, data, torch.nn.MSELoss(), "sgd")
    with pytest.raises(TypeError, match="data"):
        S.lr_range_test(model, data[0], torch.nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.1))


# ----------------------------------------------------------------------------- one record per schedule
EXPLORER_SETTINGS = {"step_size": 17, "gamma": 0.3, "milestones": (10, 40, 41), "gamma_exp": 0.97, "T_max": 45,
                     "eta_min": 0.2, "T_0": 9, "T_mult": 2, "warmup": 8, "pct_start": 0.25}


@pytest.mark.parametrize("name", S.SCHEDULES)
def test_each_record_formula_and_torch_scheduler_agree(name):
    """Off-default settings where EXPLORER_SETTINGS has them, the record's defaults for any other."""
    total, defaults = 120, S.SCHEDULES[name].defaults
    settings = {**defaults, **{k: v for k, v in EXPLORER_SETTINGS.items() if k in defaults}}
    theirs = S.lr_curve(lambda o: S.make_scheduler(name, o, settings, total), total, lr=0.1)
    assert S.scheduler_lrs(name, settings, total, 0.1) == theirs
    ours = [S.schedule_formula(name, t, 0.1, settings, total) for t in range(total)]
    _assert_close_lists(ours, theirs, rel=1e-9, abs_=1e-14)


@pytest.mark.parametrize("name", S.SCHEDULES)
def test_each_record_agrees_with_torch_at_its_defaults_and_over_its_parameter_ranges(name):
    """Every setting at its default, then each one at its low and high end (or every dropdown choice)."""
    spec, total = S.SCHEDULES[name], 150
    variants = [spec.defaults]
    for p in spec.params:
        values = [v for _, v in p.choices] if p.choices else [p.low, p.high]
        variants += [{**spec.defaults, p.name: v} for v in values]
    for settings in variants:
        theirs = S.scheduler_lrs(name, settings, total, 0.1)
        ours = [spec.formula(t, 0.1, settings, total) for t in range(total)]
        _assert_close_lists(ours, theirs, rel=1e-9, abs_=1e-14)


def test_records_share_a_setting_only_with_one_definition():
    """A setting used by several schedules (gamma, T_max, eta_min) is one control: its definitions must agree."""
    seen = {}
    for spec in S.SCHEDULES.values():
        for p in spec.params:
            assert seen.setdefault(p.name, p) == p, p.name
        assert spec.label and spec.latex and spec.text
    assert S.scheduler_class("warmup_cosine") is LS.SequentialLR and S.scheduler_class("step") is LS.StepLR


def test_training_schedules_are_the_records_with_training_settings():
    with_training = [k for k, s in S.SCHEDULES.items() if s.for_training]
    assert list(S.TRAINING_SCHEDULES) == ["constant", *with_training, "plateau"]
    for name in with_training:    # every one ends at the last step: nothing restarts inside the run
        lrs = S.scheduler_lrs(name, S.SCHEDULES[name].for_training(320), 320, 0.1)
        assert all(b <= a + 1e-12 for a, b in zip(lrs[lrs.index(max(lrs)):], lrs[lrs.index(max(lrs)) + 1:]))
        assert lrs[-1] < 0.1 / 5


def test_unknown_schedule_ids_are_refused():
    with pytest.raises(ValueError, match="schedule"):
        S.schedule_formula("StepLR", 0, 0.1, {}, 10)
    with pytest.raises(ValueError, match="schedule"):
        S.train_with_schedule("linear", 0.1)


# ----------------------------------------------------------------------------- training with a schedule
@pytest.mark.parametrize("schedule", ["constant", "cosine", "plateau"])
def test_training_run_is_torch_sgd_on_nn_linear(schedule):
    at, losses, lrs = S.train_with_schedule(schedule, 0.05, epochs=4)
    X, y = (t.double() for t in S.regression_task())
    torch.manual_seed(0)
    model = torch.nn.Linear(8, 1).double()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    gen = torch.Generator().manual_seed(0)
    step, seen = 0, []
    for epoch in range(4):
        order = torch.randperm(len(X), generator=gen)
        for k in range(16):
            if step % 4 == 0:
                seen.append(torch.nn.functional.mse_loss(model(X), y).item())
            for group in opt.param_groups:
                group["lr"] = float(lrs[step])          # the lr the scheduler chose
            opt.zero_grad()
            torch.nn.functional.mse_loss(model(X[order[16 * k:16 * k + 16]]), y[order[16 * k:16 * k + 16]]).backward()
            opt.step()
            step += 1
    assert torch.allclose(torch.tensor(seen, dtype=torch.float64), torch.from_numpy(losses), rtol=1e-9)
    total = 64
    if schedule == "cosine":
        _assert_close_lists(list(lrs), [S.cosine_lr(t, 0.05, total) for t in range(total)], rel=1e-9, abs_=1e-15)
    if schedule == "plateau":   # constant within an epoch
        assert all(len(set(lrs[16 * e:16 * e + 16])) == 1 for e in range(4))


def test_a_decaying_schedule_ends_closer_to_the_minimum_than_a_constant_lr():
    _, constant, _ = S.train_with_schedule("constant", 0.1)
    _, cosine, _ = S.train_with_schedule("cosine", 0.1)
    assert cosine[-10:].mean() < constant[-10:].mean() - 1e-3
    assert constant.min() > S.least_squares_loss() - 1e-9


def test_plateau_series_has_a_plateau_that_the_default_rule_cuts_on():
    losses = S.plateau_series()
    trace = S.plateau_trace(losses, 1.0, factor=0.5, patience=3)
    assert trace.events and min(trace.events) > 20
    assert S.torch_plateau_lrs(losses, 1.0, factor=0.5, patience=3) == trace.lrs


# ----------------------------------------------------------------------------- the chapter's figures
from helpers.panels import schedules as SP  # noqa: E402


def test_lr_range_figure_marks_both_suggestions():
    model, data = _range_problem()
    lrs, losses = S.lr_range_test(model, data, torch.nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.1),
                                  lr_min=1e-4, lr_max=10.0, steps=60, batch_size=20)
    fig = SP.lr_range_figure(lrs, losses)
    assert len(fig.axes[0].lines) == 4


_PEAKS = [round(10 ** (-2.5 + 0.25 * k), 8) for k in range(9)]          # the training panel's lr slider


@pytest.mark.parametrize("seed", range(4))
def test_decay_helps_at_a_large_peak_lr_and_hurts_at_a_small_one(seed):
    """What chapter 6 section 11 says, for several seeds (initial weights and batch order), at every slider value."""
    table = {lr: S.final_excess(lr, seed) for lr in _PEAKS}
    for lr, row in table.items():
        decaying = {name: v for name, v in row.items() if name != "constant"}
        if lr >= 0.05:
            assert max(decaying.values()) < row["constant"] / 40, (lr, row)
        if lr <= 0.01:
            assert all(v >= 2 * row["constant"] for name, v in decaying.items() if name != "plateau"), row
            assert row["plateau"] == row["constant"]
    mid, upper = table[_PEAKS[3]], table[_PEAKS[4]]                     # 0.018 and 0.032: some win, some lose
    assert mid["step"] > mid["constant"] and mid["exponential"] > mid["constant"]
    assert all(mid[k] < mid["constant"] for k in ("cosine", "warmup_cosine", "one_cycle", "polynomial", "plateau"))
    assert all(v < upper["constant"] / 10 for k, v in upper.items() if k not in ("constant", "exponential"))
    assert 0.5 < upper["exponential"] / upper["constant"] < 2
    high = [lr for lr in _PEAKS if lr >= 0.03]
    floors = [table[lr]["constant"] for lr in high]
    assert all(b / hi > a / lo for a, b, lo, hi in zip(floors, floors[1:], high, high[1:]))   # faster than proportional
    assert 1.5 < math.log10(floors[-1] / floors[0]) < 2.2                                     # closer to lr^2 than to lr


def test_the_training_panel_readout_says_which_way_it_went():
    """No "1x closer" and no verdict against the numbers it prints, at every slider value and schedule."""
    import re

    panel = SP.schedule_training_panel()
    for lr in _PEAKS:
        for schedule in S.TRAINING_SCHEDULES:
            panel.render(lr=lr, schedule=schedule)
            text = panel.readout_text
            const, ours = (float(v) for v in re.findall(r" ([0-9.]+e[-+][0-9]+)", text)[:2])
            times = re.search(r"ends (\d+)x closer", text)
            if times:
                assert int(times.group(1)) >= 2, text
            if "The schedule ends" in text:
                assert ours * 2 <= const * 1.01, text
            if "constant lr ends" in text:
                assert const * 2 <= ours * 1.01, text
            if schedule == "constant":
                assert ("still falling" in text) == (lr <= 0.01), text


def test_the_plateau_readout_counts_in_english():
    panel = SP.plateau_panel()
    for patience, word in ((0, "1st"), (1, "2nd"), (2, "3rd"), (3, "4th"), (10, "11th")):
        panel.render(patience=patience, threshold=0.1)
        assert f"on the {word} bad epoch" in panel.readout_text, panel.readout_text


def test_the_panel_module_only_draws():
    """Public names defined in helpers/panels/schedules.py are *_panel / *_figure builders; the math lives in helpers.schedules."""
    defined = [name for name, obj in vars(SP).items() if not name.startswith("_")
               and getattr(obj, "__module__", None) == SP.__name__]
    assert defined and all(name.endswith(("_panel", "_figure")) for name in defined), defined
    assert all(name.endswith(("_panel", "_figure")) for name in SP.__all__)


def test_a_new_record_is_all_the_explorer_needs(monkeypatch):
    """LinearLR as one ScheduleSpec, added at run time: the explorer offers it, builds its sliders, and its
    formula matches torch (max gap in the readout)."""
    import re

    from helpers.panels.testing import render_full

    linear = S.ScheduleSpec(
        "LinearLR", (S.Param("start_factor", "start_factor", 0.05, 1.0, 0.05, 0.25),
                     S.Param("total_iters", "total_iters", 1, 200, 1, 40, integer=True)),
        make=lambda o, p, total: LS.LinearLR(o, start_factor=p["start_factor"], total_iters=p["total_iters"]),
        formula=lambda t, lr0, p, total: lr0 * (p["start_factor"] + (1 - p["start_factor"])
                                                * min(t, p["total_iters"]) / p["total_iters"]),
        latex=r"\eta_t = \eta_0\,(f + (1 - f)\min(t, T)/T)", text="lr_t = lr0 (f + (1 - f) min(t, T) / T)")
    monkeypatch.setitem(S.SCHEDULES, "linear", linear)
    panel = SP.schedule_explorer_panel("linear")
    assert ("LinearLR", "linear") in panel.controls["schedule"].options
    assert {"start_factor", "total_iters"} <= set(panel.controls)
    for values in ({}, {"start_factor": 0.05, "total_iters": 200}, {"start_factor": 1.0, "total_iters": 1}):
        render_full(panel, **values)
        gap = float(re.search(r"max \|formula - torch\| = ([0-9.e+-]+)", panel.readout_text).group(1))
        assert gap < 1e-12 and "LinearLR(optimizer" in panel.readout_text, panel.readout_text
    assert panel.enabled({**panel.values(), "schedule": "step"})["start_factor"] is False
    assert set(panel.states) == set(SP._EXPLORER_STATES)  # the chapter's buttons stay (a state off a range fails loudly)


def _explorer():
    return SP.schedule_explorer_panel()


def test_the_explorer_shows_only_the_settings_of_the_schedule_drawn():
    """One schedule: exactly its own settings are shown (and on); compare: the settings of every ticked schedule."""
    panel = _explorer()
    settings = {p.name for spec in S.SCHEDULES.values() for p in spec.params}
    ticks = {f"show_{key}" for key in S.SCHEDULES}
    for key, spec in S.SCHEDULES.items():
        values = {**panel.values(), "view": "single", "schedule": key}
        own = {p.name for p in spec.params}
        shown, enabled = panel.shown(values), panel.enabled(values)
        assert {name for name in settings if shown[name]} == own, key
        assert {name for name in settings if enabled[name]} == own, key
        assert not any(shown[name] for name in ticks) and shown["schedule"]
    values = {**panel.values(), "view": "compare", **{name: False for name in ticks},
              "show_step": True, "show_cosine": True}
    shown = panel.shown(values)
    assert {name for name in settings if shown[name]} == {"gamma", "step_size", "T_max", "eta_min"}
    assert all(shown[name] for name in ticks) and not shown["schedule"]
    panel.controls["view"].value = "compare"                    # what the browser sees: the cells are hidden
    try:
        assert panel._cells["schedule"].layout.display == "none" and panel._cells["show_step"].layout.display is None
    finally:
        panel.controls["view"].value = "single"
    assert panel._cells["schedule"].layout.display is None and panel._cells["show_step"].layout.display == "none"


@pytest.mark.parametrize("ticked", [("step", "cosine"), tuple(S.SCHEDULES), ("warm_restarts",), ("one_cycle", "polynomial",
                                    "warmup_cosine")])
def test_the_compare_view_overlays_torchs_lrs_of_the_ticked_schedules(ticked):
    """Each curve drawn in compare mode is PyTorch's scheduler (``scheduler_lrs``) with the sliders' settings, in its
    own colour; the legend lists exactly the schedules drawn."""
    from matplotlib.colors import to_hex

    from helpers.panels.testing import render_full

    panel = _explorer()
    values = {"view": "compare", **{f"show_{key}": key in ticked for key in S.SCHEDULES},
              "T_max": 60, "eta_min": 0.1, "gamma": 0.5, "T_0": 20, "T_mult": 2}
    render_full(panel, **values)
    ax, ax_key = panel.fig.axes
    drawn = [line for line in ax.get_lines() if line.get_visible() and line.get_label() in
             {spec.label for spec in S.SCHEDULES.values()}]
    assert [line.get_label() for line in drawn] == [S.SCHEDULES[key].label for key in S.SCHEDULES if key in ticked]
    for line in drawn:
        key = next(k for k, spec in S.SCHEDULES.items() if spec.label == line.get_label())
        settings = {p.name: {**panel.values(), **values}[p.name] for p in S.SCHEDULES[key].params}
        expected = S.scheduler_lrs(key, settings, 200, 0.1)
        assert np.array_equal(line.get_ydata(), np.array(expected)), key
        assert np.allclose(expected, [S.schedule_formula(key, t, 0.1, settings, 200) for t in range(200)],
                           rtol=1e-12, atol=1e-15), key
    assert len({to_hex(line.get_color()) for line in drawn}) == len(drawn)          # a colour each
    assert [t.get_text() for t in ax_key.get_legend().get_texts()] == [line.get_label() for line in drawn]


def test_the_legend_follows_what_is_drawn_in_both_views():
    from helpers.panels.testing import render_full

    panel = _explorer()
    render_full(panel, view="single", schedule="cosine")
    texts = [t.get_text() for t in panel.fig.axes[1].get_legend().get_texts()]
    assert texts == ["formula (helpers.schedules)", "torch.optim.lr_scheduler", "end of the cosine"]
    render_full(panel, view="single", schedule="step")
    texts = [t.get_text() for t in panel.fig.axes[1].get_legend().get_texts()]
    assert texts == ["formula (helpers.schedules)", "torch.optim.lr_scheduler"]


def test_the_explorer_dropdowns_fit_their_longest_option():
    """The widths base.dropdown gives: the longest labels, "Warm-up + cosine (SequentialLR)" and
    "CosineAnnealingWarmRestarts", fit with their description (the browser test checks the rendered controls)."""
    from helpers.panels.base import _text_px

    panel = _explorer()
    dd = panel.controls["schedule"]
    width = int(dd.layout.width.rstrip("px"))
    for label in ("Warm-up + cosine (SequentialLR)", "CosineAnnealingWarmRestarts"):
        assert (label, next(k for k, s in S.SCHEDULES.items() if s.label == label)) in dd.options
        assert width >= _text_px(dd.description) + _text_px(label) + 20


def test_the_plateau_panel_tells_best_from_the_threshold_line():
    """At the default threshold (1e-4) the two lines are a hair apart: both colours must still show in the picture."""
    from helpers.panels.testing import render_full
    from PIL import Image

    panel = SP.plateau_panel()
    picture = np.asarray(Image.open(io.BytesIO(render_full(panel))).convert("RGB")).reshape(-1, 3)
    for colour in (SP._BEST_COLOR, SP._MUST_COLOR):
        rgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
        assert (np.abs(picture - rgb).max(axis=1) <= 8).sum() > 300, colour
    best, must = [line for line in panel.fig.axes[0].get_lines() if line.get_label().startswith(("best", "must"))]
    assert best.get_linewidth() >= 3 * must.get_linewidth() and must.get_linestyle() != best.get_linestyle()


_RENDER_IN_A_FRESH_PROCESS = """
import hashlib, sys
import numpy as np
heap = [np.empty(n, dtype=np.uint8) for n in range(int(sys.argv[1]))]   # shifts where later arrays land
from helpers import schedules
from helpers.panels.schedules import schedule_training_panel
panel = schedule_training_panel()
print(repr(schedules.least_squares_loss()))
print(hashlib.sha256(panel.png).hexdigest())
print(panel.readout_text)
"""


def test_the_training_panel_draws_the_same_picture_in_every_process():
    """Two fresh interpreters (other thread counts, other heap layouts) give the same floor to the last bit and the
    same PNG bytes. torch.linalg.lstsq (MKL) gave a floor whose last bits changed between processes; in float32
    that moved the curves, so rebuilding the notebook changed its picture."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[1])
    outputs = []
    for threads, heap in (("1", "3"), ("2", "41")):
        env = {**os.environ, "PYTHONPATH": root, "OMP_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads,
               "MKL_NUM_THREADS": threads}
        out = subprocess.run([sys.executable, "-c", _RENDER_IN_A_FRESH_PROCESS, heap], capture_output=True,
                             text=True, timeout=300, cwd=root, env=env)
        assert out.returncode == 0, out.stderr
        outputs.append(out.stdout.splitlines())
    first, second = outputs
    assert first[0] == second[0], f"least_squares_loss differs between processes: {first[0]} vs {second[0]}"
    assert first[1] == second[1], "the panel's default PNG differs between two fresh processes"
    assert first[2:] == second[2:] and "constant lr" in first[2]
