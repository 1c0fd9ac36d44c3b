"""helpers.regularization: dropout statistics, batch norm against F.batch_norm, L2 vs weight decay, early stopping."""
from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from helpers import regularization as R
from support import close as _close

N_UNITS = 1_000_000


@pytest.fixture
def gen() -> torch.Generator:
    return torch.Generator().manual_seed(0)


def _zero_fraction_tolerance(p: float, n: int) -> float:
    """Six binomial standard deviations of the fraction of dropped units."""
    return 6 * math.sqrt(p * (1 - p) / n)


# ----------------------------------------------------------------------------- dropout
@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_dropout_drops_a_fraction_p_and_scales_survivors_by_one_over_one_minus_p(gen, p):
    x = torch.rand(N_UNITS, generator=gen) + 0.5          # never 0, so a 0 in y means "dropped"
    y = R.dropout(x, p, generator=gen)
    dropped = y == 0
    assert abs(dropped.double().mean().item() - p) < _zero_fraction_tolerance(p, N_UNITS)
    assert torch.equal(y[~dropped], x[~dropped] / (1 - p))   # exactly 1/(1-p), not 1/p (E41)


@pytest.mark.parametrize("p", [0.2, 0.8])
def test_dropout_statistics_match_nn_dropout(gen, p):
    """Same drop rate and the same survivor value as nn.Dropout (masks differ; statistics agree)."""
    torch.manual_seed(1)
    ours, theirs = R.dropout(torch.ones(N_UNITS), p, generator=gen), nn.Dropout(p)(torch.ones(N_UNITS))
    tol = _zero_fraction_tolerance(p, N_UNITS)
    for y in (ours, theirs):
        assert abs((y == 0).double().mean().item() - p) < tol
    assert torch.allclose(ours[ours != 0].unique(), theirs[theirs != 0].unique())


@pytest.mark.parametrize("p", [0.3, 0.6])
def test_dropout_keeps_the_expectation(gen, p):
    """C32: E[dropout(x)] = x, both for one big constant tensor and per element over many draws."""
    y = R.dropout(torch.full((N_UNITS,), 2.0, dtype=torch.float64), p, generator=gen)
    sigma = 2.0 * math.sqrt(p / (1 - p) / N_UNITS)            # std of the mean of N_UNITS draws
    assert abs(y.mean().item() - 2.0) < 6 * sigma
    x = torch.randn(100, dtype=torch.float64, generator=gen)
    draws = 5000
    mean = R.dropout(x.expand(draws, -1), p, generator=gen).mean(dim=0)
    assert bool((abs(mean - x) < 6 * x.abs() * math.sqrt(p / (1 - p) / draws)).all())


@pytest.mark.parametrize("p", [0.2, 0.8])
def test_the_notes_scalings_change_the_mean(gen, p):
    """E41: dividing survivors by p, or multiplying them by 1-p, does not keep E[y] = x."""
    kept = (R.dropout(torch.ones(N_UNITS, dtype=torch.float64), p, generator=gen) != 0).double()
    sigma = math.sqrt(p / (1 - p) / N_UNITS)
    assert abs((kept / (1 - p)).mean().item() - 1.0) < 6 * sigma                    # the right scaling
    assert abs((kept / p).mean().item() - (1 - p) / p) < 6 * sigma / p * (1 - p)    # E = (1-p)/p
    assert abs((kept / p).mean().item() - 1.0) > 0.2
    assert abs((kept * (1 - p)).mean().item() - (1 - p) ** 2) < 6 * sigma           # E = (1-p)^2
    assert abs((kept * (1 - p)).mean().item() - 1.0) > 0.2


def test_at_p_half_the_wrong_and_right_scalings_coincide():
    """Why the notes' example (p = 0.5) hides E41: 1/p = 1/(1-p) = 2 there."""
    y = R.dropout(torch.ones(1000), 0.5, generator=torch.Generator().manual_seed(3))
    assert set(y.unique().tolist()) == {0.0, 2.0}


def test_dropout_gradient_is_the_scaled_mask(gen):
    x = torch.randn(1000, dtype=torch.float64, generator=gen, requires_grad=True)
    y = R.dropout(x, 0.4, generator=gen)
    y.sum().backward()
    assert torch.equal(x.grad, (y != 0).double() / 0.6)


def test_dropout_seeds_and_passes():
    """Same seed -> same output; C33: two training passes differ; eval is the identity."""
    x = torch.randn(2000)
    a = R.dropout(x, 0.5, generator=torch.Generator().manual_seed(7))
    b = R.dropout(x, 0.5, generator=torch.Generator().manual_seed(7))
    c = R.dropout(x, 0.5, generator=torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert not torch.equal(R.dropout(x, 0.5), R.dropout(x, 0.5))
    assert torch.equal(R.dropout(x, 0.5, training=False), x)
    assert torch.equal(R.dropout(x, 0.0), x)


def test_dropout_p_one_gives_zeros():
    x = torch.randn(3, 4, dtype=torch.float64)
    y = R.dropout(x, 1.0)
    assert torch.equal(y, torch.zeros_like(x)) and y.dtype == torch.float64
    assert torch.equal(R.dropout(x, 1.0, training=False), x)


@pytest.mark.parametrize("p", [-0.1, 1.1, float("nan")])
def test_dropout_rejects_p_outside_unit_interval(p):
    with pytest.raises(ValueError, match="p must be in"):
        R.dropout(torch.ones(3), p)


@pytest.mark.parametrize("kwargs, exc", [
    (dict(x=[1.0, 2.0], p=0.5), TypeError),
    (dict(x=torch.ones(3, dtype=torch.long), p=0.5), TypeError),
    (dict(x=torch.ones(3), p="0.5"), TypeError),
    (dict(x=torch.ones(3), p=0.5, training=1), TypeError),
    (dict(x=torch.ones(3), p=0.5, generator=0), TypeError),
])
def test_dropout_rejects_bad_types(kwargs, exc):
    with pytest.raises(exc):
        R.dropout(**kwargs)


# ----------------------------------------------------------------------------- batch norm
def _bn_inputs(shape, gen):
    c = shape[1]
    x = 3 * torch.randn(shape, dtype=torch.float64, generator=gen) + 1.5
    gamma = torch.rand(c, dtype=torch.float64, generator=gen) + 0.5
    beta = torch.randn(c, dtype=torch.float64, generator=gen)
    running_mean = torch.randn(c, dtype=torch.float64, generator=gen)
    running_var = torch.rand(c, dtype=torch.float64, generator=gen) + 0.5
    return x, gamma, beta, running_mean, running_var


@pytest.mark.parametrize("shape", [(16, 4), (2, 3), (5, 3, 7), (4, 3, 5, 6), (2, 3, 1, 1), (1, 2, 3, 3)])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("momentum", [0.0, 0.1, 0.5, 1.0])
def test_batch_norm_matches_f_batch_norm(gen, shape, training, momentum):
    x, gamma, beta, rm, rv = _bn_inputs(shape, gen)
    before = [t.clone() for t in (x, gamma, beta, rm, rv)]
    y, new_rm, new_rv = R.batch_norm(x, gamma, beta, rm, rv, training=training, momentum=momentum, eps=1e-3)
    ref_rm, ref_rv = rm.clone(), rv.clone()                 # F.batch_norm updates these in place
    ref = F.batch_norm(x, ref_rm, ref_rv, gamma, beta, training=training, momentum=momentum, eps=1e-3)
    assert _close(y, ref) and _close(new_rm, ref_rm) and _close(new_rv, ref_rv)
    assert all(torch.equal(a, b) for a, b in zip(before, (x, gamma, beta, rm, rv)))   # inputs untouched
    if not training:
        assert torch.equal(new_rm, rm) and torch.equal(new_rv, rv)


@pytest.mark.parametrize("shape", [(8, 3), (3, 2, 4, 4)])
def test_batch_norm_gradients_match_f_batch_norm(gen, shape):
    x, gamma, beta, rm, rv = _bn_inputs(shape, gen)
    weights = torch.randn(shape, dtype=torch.float64, generator=gen)
    grads = []
    for fn in (lambda *a: R.batch_norm(*a)[0], lambda x, g, b, m, v: F.batch_norm(x, m, v, g, b, training=True)):
        leaves = [t.clone().requires_grad_() for t in (x, gamma, beta)]
        (fn(*leaves, rm.clone(), rv.clone()) * weights).sum().backward()
        grads.append([t.grad for t in leaves])
    assert all(_close(a, b) for a, b in zip(*grads))
    _, new_rm, new_rv = R.batch_norm(x.requires_grad_(), gamma, beta, rm, rv)
    assert not new_rm.requires_grad and not new_rv.requires_grad      # running stats are buffers


def test_batch_norm_without_affine_matches_f_batch_norm(gen):
    x, _, _, rm, rv = _bn_inputs((6, 3, 2, 2), gen)
    y, _, _ = R.batch_norm(x, None, None, rm, rv)
    assert _close(y, F.batch_norm(x, rm.clone(), rv.clone(), training=True))


def test_batch_norm_over_several_batches_matches_the_module(gen):
    """Running statistics carried across 5 training batches, then eval, equal nn.BatchNorm2d's."""
    module = nn.BatchNorm2d(3, momentum=0.2).double()
    with torch.no_grad():
        module.weight.uniform_(0.5, 1.5, generator=gen)
        module.bias.normal_(generator=gen)
    gamma, beta = module.weight.detach().clone(), module.bias.detach().clone()
    rm, rv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    for _ in range(5):
        x = 2 * torch.randn(4, 3, 5, 5, dtype=torch.float64, generator=gen) - 1
        y, rm, rv = R.batch_norm(x, gamma, beta, rm, rv, momentum=0.2)
        assert _close(y, module(x).detach())
    assert _close(rm, module.running_mean) and _close(rv, module.running_var)
    x = torch.randn(7, 3, 5, 5, dtype=torch.float64, generator=gen)
    y, _, _ = R.batch_norm(x, gamma, beta, rm, rv, training=False)
    assert _close(y, module.eval()(x).detach())


def test_running_var_uses_the_unbiased_batch_variance(gen):
    """C35/E48: the running variance is updated with var * n/(n-1); normalisation uses the biased var."""
    x = torch.randn(5, 4, dtype=torch.float64, generator=gen)
    zeros, ones = torch.zeros(4, dtype=torch.float64), torch.ones(4, dtype=torch.float64)
    _, rm, rv = R.batch_norm(x, None, None, zeros, ones, momentum=0.1)
    biased = x.var(dim=0, correction=0)
    assert _close(rm, 0.1 * x.mean(dim=0))
    assert _close(rv, 0.9 * ones + 0.1 * biased * 5 / 4)
    assert _close(rv, 0.9 * ones + 0.1 * x.var(dim=0, correction=1))
    assert not _close(rv, 0.9 * ones + 0.1 * biased, atol=1e-3)


def test_batch_norm_training_output_is_gamma_z_hat_plus_beta(gen):
    """C34/E45: before the affine step each channel has mean 0 and biased variance 1; y = γ ẑ + β, not γ z + β."""
    x, gamma, beta, rm, rv = _bn_inputs((64, 3), gen)
    z_hat, _, _ = R.batch_norm(x, None, None, rm, rv, eps=1e-12)
    assert _close(z_hat.mean(dim=0), torch.zeros(3, dtype=torch.float64))
    assert _close(z_hat.var(dim=0, correction=0), torch.ones(3, dtype=torch.float64), atol=1e-9)
    y, _, _ = R.batch_norm(x, gamma, beta, rm, rv, eps=1e-12)
    assert _close(y, gamma * z_hat + beta)
    assert not _close(y, gamma * x + beta, atol=1e-3)


def test_a_bias_before_batch_norm_is_redundant(gen):
    """C36: adding a per-channel constant (a Linear bias) to x does not change the training output."""
    x, gamma, beta, rm, rv = _bn_inputs((8, 3, 4, 4), gen)
    shift = torch.tensor([100.0, -50.0, 7.0], dtype=torch.float64).view(1, 3, 1, 1)
    assert _close(R.batch_norm(x + shift, gamma, beta, rm, rv)[0], R.batch_norm(x, gamma, beta, rm, rv)[0], atol=1e-8)


@pytest.mark.parametrize("shape", [(1, 3), (1, 3, 1), (1, 3, 1, 1)])
def test_batch_norm_refuses_one_value_per_channel_when_training(shape):
    x, g, b, rm, rv = torch.randn(shape), torch.ones(3), torch.zeros(3), torch.zeros(3), torch.ones(3)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        R.batch_norm(x, g, b, rm, rv)
    with pytest.raises(ValueError):                       # PyTorch refuses too
        F.batch_norm(x, rm.clone(), rv.clone(), g, b, training=True)
    y, _, _ = R.batch_norm(x, g, b, rm, rv, training=False)   # eval is fine
    assert _close(y, F.batch_norm(x, rm, rv, g, b, training=False), atol=1e-6)


@pytest.mark.parametrize("change, message", [
    (dict(x=torch.ones(6)), "x must have shape"),
    (dict(x=torch.ones(2, 3, 2, 2, 2)), "x must have shape"),
    (dict(gamma=torch.ones(4)), "gamma must have shape"),
    (dict(beta=torch.ones(3, 1)), "beta must have shape"),
    (dict(running_mean=torch.zeros(2)), "running_mean must have shape"),
    (dict(running_var=torch.ones(4)), "running_var must have shape"),
    (dict(momentum=-0.1), "momentum must be in"),
    (dict(momentum=1.5), "momentum must be in"),
    (dict(eps=0.0), "eps must be"),
    (dict(eps=-1e-5), "eps must be"),
    (dict(eps=float("inf")), "eps must be"),
])
def test_batch_norm_value_errors(change, message):
    args = dict(x=torch.randn(4, 3), gamma=torch.ones(3), beta=torch.zeros(3),
                running_mean=torch.zeros(3), running_var=torch.ones(3))
    args.update(change)
    with pytest.raises(ValueError, match=message):
        R.batch_norm(**args)


def test_batch_norm_type_errors():
    ok = dict(gamma=torch.ones(3), beta=torch.zeros(3), running_mean=torch.zeros(3), running_var=torch.ones(3))
    with pytest.raises(TypeError, match="x must be"):
        R.batch_norm(torch.ones(4, 3, dtype=torch.long), **ok)
    with pytest.raises(TypeError, match="running_var must be"):
        R.batch_norm(torch.ones(4, 3), **{**ok, "running_var": [1.0, 1.0, 1.0]})
    with pytest.raises(TypeError, match="training must be"):
        R.batch_norm(torch.ones(4, 3), **ok, training="yes")
    with pytest.raises(TypeError, match="momentum must be"):
        R.batch_norm(torch.ones(4, 3), **ok, momentum=None)


# ----------------------------------------------------------------------------- L2 penalty and weight decay
def test_l2_penalty_value_and_gradient(gen):
    params = [torch.randn(4, 3, dtype=torch.float64, generator=gen, requires_grad=True),
              torch.randn(4, dtype=torch.float64, generator=gen, requires_grad=True)]
    penalty = R.l2_penalty(params, 0.3)
    flat = torch.cat([p.detach().flatten() for p in params])
    assert math.isclose(penalty.item(), 0.15 * torch.linalg.vector_norm(flat).item() ** 2, rel_tol=1e-12)
    penalty.backward()
    assert all(_close(p.grad, 0.3 * p.detach()) for p in params)
    assert R.l2_penalty([], 0.3).item() == 0.0


def _regression(gen):
    x = torch.randn(32, 5, dtype=torch.float64, generator=gen)
    y = torch.randn(32, 2, dtype=torch.float64, generator=gen)
    model = nn.Linear(5, 2).double()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(generator=gen)
    return x, y, model


def _trajectory(model, make_opt, loss_fn, x, y, steps=25):
    model = copy.deepcopy(model)
    opt = make_opt(model.parameters())
    path = []
    for _ in range(steps):
        opt.zero_grad()
        loss_fn(model, x, y).backward()
        opt.step()
        path.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    return torch.stack(path)


def _mse(model, x, y):
    return F.mse_loss(model(x), y)


def _mse_plus_l2(wd):
    return lambda model, x, y: F.mse_loss(model(x), y) + R.l2_penalty(model.parameters(), wd)


def test_sgd_weight_decay_equals_sgd_on_loss_plus_l2_penalty(gen):
    x, y, model = _regression(gen)
    wd = 0.1
    decayed = _trajectory(model, lambda p: torch.optim.SGD(p, lr=0.05, weight_decay=wd), _mse, x, y)
    penalised = _trajectory(model, lambda p: torch.optim.SGD(p, lr=0.05), _mse_plus_l2(wd), x, y)
    plain = _trajectory(model, lambda p: torch.optim.SGD(p, lr=0.05), _mse, x, y)
    assert _close(decayed, penalised)
    assert not _close(decayed, plain, atol=1e-3)


def test_adam_couples_weight_decay_and_adamw_decouples_it(gen):
    """Adam(weight_decay) = Adam on loss + L2 (coupled); AdamW shrinks w by (1 - lr·wd) outside the adaptive step."""
    x, y, model = _regression(gen)
    wd, lr = 0.1, 0.01
    adam_wd = _trajectory(model, lambda p: torch.optim.Adam(p, lr=lr, weight_decay=wd), _mse, x, y)
    adam_l2 = _trajectory(model, lambda p: torch.optim.Adam(p, lr=lr), _mse_plus_l2(wd), x, y)
    adamw = _trajectory(model, lambda p: torch.optim.AdamW(p, lr=lr, weight_decay=wd), _mse, x, y)
    assert _close(adam_wd, adam_l2)
    assert not _close(adamw, adam_l2, atol=1e-4)

    class ShrinkThenAdam(torch.optim.Adam):          # the decoupled rule written out
        def step(self, closure=None):
            with torch.no_grad():
                for p in self.param_groups[0]["params"]:
                    p.mul_(1 - lr * wd)
            return super().step(closure)

    assert _close(adamw, _trajectory(model, lambda p: ShrinkThenAdam(p, lr=lr), _mse, x, y))


def test_l2_penalty_rejects_bad_input():
    with pytest.raises(ValueError, match="weight_decay must be a finite number >= 0"):
        R.l2_penalty([torch.ones(2)], -0.1)
    with pytest.raises(TypeError, match=r"params\[1\] must be"):
        R.l2_penalty([torch.ones(2), [1.0]], 0.1)


# ----------------------------------------------------------------------------- early stopping
def test_early_stopping_hand_example():
    losses = [1.0, 0.8, 0.9, 0.85, 0.95, 0.7]
    assert R.early_stopping_epoch(losses, patience=2) == (3, 1)       # epochs 2 and 3 fail to beat 0.8
    assert R.early_stopping_epoch(losses, patience=4) == (5, 5)       # 0.7 arrives in time; runs to the end
    assert R.early_stopping_epoch([1.0, 0.95, 0.93], patience=1, min_delta=0.1) == (1, 0)
    assert R.early_stopping_epoch([2.0], patience=1) == (0, 0)
    assert R.early_stopping_epoch([1.0, 1.0, 1.0], patience=2) == (2, 0)  # an equal loss is no improvement


def _first_lr_cut(losses, patience, min_delta):
    """Epoch at which ReduceLROnPlateau(patience - 1, abs threshold) first lowers the lr, and its best value then."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=patience - 1, threshold=min_delta,
                                                       threshold_mode="abs")
    for epoch, loss in enumerate(losses):
        sched.step(loss)
        if opt.param_groups[0]["lr"] < 1.0:
            return epoch, sched.best
    return len(losses) - 1, sched.best


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("patience", [1, 2, 4])
@pytest.mark.parametrize("min_delta", [0.0, 0.05])
@pytest.mark.parametrize("decimals", [1, 8])
def test_early_stopping_matches_reduce_lr_on_plateau(seed, patience, min_delta, decimals):
    """Stopping after `patience` bad epochs is ReduceLROnPlateau's trigger with patience - 1 (it cuts when bad > patience).

    Rounding to 1 decimal makes ties, which count as bad epochs in both.
    """
    g = torch.Generator().manual_seed(seed)
    losses = [round(v, decimals) for v in (1 / torch.arange(1, 41) + 0.08 * torch.randn(40, generator=g)).tolist()]
    stop, best = R.early_stopping_epoch(losses, patience, min_delta)
    ref_stop, ref_best_value = _first_lr_cut(losses, patience, min_delta)
    assert stop == ref_stop
    assert losses[best] == ref_best_value and best <= stop


@pytest.mark.parametrize("kwargs, exc, message", [
    (dict(val_losses=[1.0, 0.5], patience=0), ValueError, "patience must be an int >= 1"),
    (dict(val_losses=[1.0, 0.5], patience=2, min_delta=-0.1), ValueError, "min_delta must be a finite number >= 0"),
    (dict(val_losses=[], patience=2), ValueError, "val_losses"),
    (dict(val_losses=[1.0], patience=1.5), TypeError, "patience must be an int"),
])
def test_early_stopping_rejects_bad_input(kwargs, exc, message):
    with pytest.raises(exc, match=message):
        R.early_stopping_epoch(**kwargs)


# ----------------------------------------------------------------------------- running statistics over steps
@pytest.mark.parametrize("momentum", [0.1, 0.5, 1.0, None])
def test_running_average_follows_batchnorm_buffers_step_by_step(gen, momentum):
    bn = nn.BatchNorm1d(3, momentum=momentum)
    batches = torch.randn(12, 8, 3, generator=gen) * 2 + 1
    means, unbiased_vars, buffers = [], [], []
    for xb in batches:
        bn(xb)
        means.append(xb.mean(0))
        unbiased_vars.append(xb.var(0, unbiased=True))
        buffers.append((bn.running_mean.clone(), bn.running_var.clone()))
    ours_mean = R.running_average(torch.stack(means), momentum, init=0.0)
    ours_var = R.running_average(torch.stack(unbiased_vars), momentum, init=1.0)
    assert torch.allclose(ours_mean, torch.stack([m for m, _ in buffers]), atol=1e-6)
    assert torch.allclose(ours_var, torch.stack([v for _, v in buffers]), atol=1e-5)


def test_running_average_memory_is_about_one_over_momentum():
    step = torch.cat([torch.zeros(1), torch.ones(200)])     # the value jumps from 0 to 1 at t = 1
    r = R.running_average(step, 0.1)
    assert torch.allclose(r[1:], 1 - 0.9 ** torch.arange(1, 201, dtype=torch.float32), atol=1e-6)
    assert int((r < 1 - math.exp(-1)).sum()) == 10           # e-folding after 1/momentum steps


def test_running_average_rejects_bad_input():
    with pytest.raises(ValueError, match="values must have shape"):
        R.running_average(torch.zeros(0), 0.1)
    with pytest.raises(ValueError, match="momentum must be in"):
        R.running_average(torch.zeros(3), 1.5)
    with pytest.raises(TypeError, match="values must be a torch.Tensor"):
        R.running_average([1.0, 2.0], 0.1)
    with pytest.raises(TypeError, match="init must be"):
        R.running_average(torch.zeros(3), 0.1, init="0")


# ----------------------------------------------------------------------------- building blocks
def test_mlp_layers_in_order_and_bias_dropped_before_batch_norm():
    plain = R.mlp([2, 8, 8, 3])
    assert [type(m).__name__ for m in plain] == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    full = R.mlp([2, 8, 3], dropout=0.25, batch_norm=True)
    assert [type(m).__name__ for m in full] == ["Linear", "BatchNorm1d", "ReLU", "Dropout", "Linear"]
    assert full[0].bias is None and full[-1].bias is not None and full[3].p == 0.25
    assert full(torch.randn(5, 2)).shape == (5, 3)
    assert [type(m).__name__ for m in R.mlp([2, 4, 2], activation="tanh")] == ["Linear", "Tanh", "Linear"]
    assert [type(m).__name__ for m in R.mlp([2, 4, 2], activation="linear")] == ["Linear", "Identity", "Linear"]


@pytest.mark.parametrize("kwargs, exc", [(dict(sizes=[4]), ValueError), (dict(sizes=[4, 0, 2]), ValueError),
                                         (dict(sizes=[4, 2.5, 2]), TypeError), (dict(sizes=[4, 2], dropout=1.5), ValueError),
                                         (dict(sizes=[4, 2], batch_norm=1), TypeError),
                                         (dict(sizes=[4, 2], activation="relu"), ValueError)])
def test_mlp_rejects_bad_arguments(kwargs, exc):
    with pytest.raises(exc):
        R.mlp(**kwargs)


def test_random_shift_moves_each_feature_in_training_and_is_identity_in_eval(gen):
    layer = R.RandomShift(0.5)
    x = torch.randn(64, 4, generator=gen)
    torch.manual_seed(0)
    y1, y2 = layer(x), layer(x)
    torch.manual_seed(0)
    a = torch.exp(0.5 * torch.randn(4))
    b = 0.5 * torch.randn(4)
    assert torch.allclose(y1, a * x + b)                     # one scale and shift per feature
    assert not torch.allclose(y1, y2)                        # drawn anew at every call
    layer.eval()
    assert torch.equal(layer(x), x)
    with pytest.raises(ValueError, match="scale must be a finite number >= 0"):
        R.RandomShift(-1.0)


# ----------------------------------------------------------------------------- the playground's data
@pytest.mark.parametrize("name", R.PLAYGROUND_SETS)
@pytest.mark.parametrize("n", [2, 7, 200])
def test_playground_points_have_shapes_and_balanced_labels(name, n):
    x, y = R.playground_points(name, n, noise=0.2, seed=1)
    assert x.shape == (n, 2) and x.dtype == torch.float32 and y.shape == (n,) and y.dtype == torch.int64
    assert set(y.tolist()) == {0, 1} and int((y == 0).sum()) - int((y == 1).sum()) in (0, 1)   # balanced
    assert torch.equal(y[:n // 2 * 2].view(-1, 2), torch.tensor([[0, 1]]).expand(n // 2, 2))   # any prefix is too


def _angle(x):
    return torch.atan2(x[:, 1], x[:, 0])


def test_playground_points_at_noise_0_lie_on_the_clean_shapes():
    sign = lambda y: (1 - 2 * y)[:, None]  # noqa: E731
    x, y = R.playground_points("moons", 500, 0.0, seed=2)            # half circles of radius 1 around (-0.5, -0.25)
    upper = sign(y.double()) * x.double() + torch.tensor([0.5, 0.25], dtype=torch.float64)  # class 1 turned back
    assert torch.allclose(upper.norm(dim=1), torch.ones(500, dtype=torch.float64), atol=1e-6) and (upper[:, 1] >= -1e-6).all()
    x, y = R.playground_points("circles", 500, 0.0, seed=2)
    assert torch.allclose(x.norm(dim=1), torch.where(y == 0, 0.6, 1.5), atol=1e-6)
    x, y = R.playground_points("XOR", 500, 0.0, seed=2)
    assert ((x.abs() >= 0.1 - 1e-6) & (x.abs() <= 1.5 + 1e-6)).all()
    assert torch.equal(x[:, 0] * x[:, 1] > 0, y == 0)                # class 0 where x1 x2 > 0
    x, y = R.playground_points("spiral", 500, 0.0, seed=2)
    r = x.double().norm(dim=1)
    assert (r >= 0.1 - 1e-6).all() and (r <= 1.6 + 1e-6).all()
    expected = 2.5 * math.pi * (r - 0.1) / 1.5 + math.pi * y          # angle of the arm at this radius
    wrapped = torch.remainder(_angle(x.double()) - expected + math.pi, 2 * math.pi) - math.pi
    assert wrapped.abs().max() < 1e-4
    x, y = R.playground_points("blobs", 20000, 0.0, seed=2)          # Gaussian blobs of std 0.35 at -+(0.8, 0.8)
    for c, centre in ((0, -0.8), (1, 0.8)):
        assert torch.allclose(x[y == c].mean(0), torch.full((2,), centre), atol=0.02)
        assert torch.allclose(x[y == c].std(0), torch.full((2,), 0.35), atol=0.02)


def test_playground_noise_moves_each_point_along_one_fixed_gaussian_jitter():
    clean, y = R.playground_points("moons", 4000, 0.0, seed=5)
    a, ya = R.playground_points("moons", 4000, 0.1, seed=5)
    b, _ = R.playground_points("moons", 4000, 0.4, seed=5)
    assert torch.equal(y, ya)
    assert torch.allclose((a - clean) / 0.1, (b - clean) / 0.4, atol=1e-4)   # the same jitter, scaled
    jitter = (b - clean) / 0.4
    assert abs(float(jitter.mean())) < 0.05 and abs(float(jitter.std()) - 1) < 0.05   # N(0, 1)


def test_playground_points_are_seeded():
    assert torch.equal(R.playground_points("XOR", 50, 0.3, 4)[0], R.playground_points("XOR", 50, 0.3, 4)[0])
    assert not torch.equal(R.playground_points("XOR", 50, 0.3, 4)[0], R.playground_points("XOR", 50, 0.3, 5)[0])


def test_playground_data_nests_training_sets_and_keeps_validation_apart():
    small, large = R.playground_data("spiral", 20, 0.2), R.playground_data("spiral", 60, 0.2)
    assert torch.equal(small[0], large[0][:20]) and torch.equal(small[1], large[1][:20])   # more points add points
    assert torch.equal(small[2], large[2]) and small[2].shape == (R.VAL_POINTS, 2)
    assert not torch.isin(small[2][:, 0], large[0][:, 0]).any()                           # validation never trained on


@pytest.mark.parametrize("call, exc, match", [
    (lambda: R.playground_points("rings", 10), ValueError, "name must be one of"),
    (lambda: R.playground_points("moons", 1), ValueError, "n must be an int >= 2"),
    (lambda: R.playground_points("moons", 10, noise=-0.1), ValueError, "noise must be a finite number >= 0"),
    (lambda: R.playground_points("moons", 10, seed=1.5), TypeError, "seed must be an int"),
    (lambda: R.playground_data("moons", 201), ValueError, "n_train must be an int in"),
    (lambda: R.playground_setting(activation="gelu"), ValueError, "activation must be one of"),
    (lambda: R.playground_setting(p=1.0), ValueError, "p must be in"),
    (lambda: R.playground_setting(lr=0), ValueError, "lr must be a finite number > 0"),
    (lambda: R.playground_map(3), ValueError, "epoch must be a multiple of 2"),
    (lambda: R.playground_map(202), ValueError, "epoch must be an int"),
])
def test_playground_rejects_bad_arguments(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# ----------------------------------------------------------------------------- the playground's training
def _reference_parameters(model) -> torch.Tensor:
    """``model``'s parameters in the playground's flat order (Linear weights as (in, out))."""
    linears = [m for m in model if isinstance(m, nn.Linear)]
    norms = [m for m in model if isinstance(m, nn.BatchNorm1d)]
    parts = []
    for i in range(2):
        parts.append(linears[i].weight.detach().T.flatten())
        parts += [norms[i].weight.detach(), norms[i].bias.detach()] if norms else [linears[i].bias.detach()]
    parts += [linears[2].weight.detach().T.flatten(), linears[2].bias.detach()]
    for bn in norms:
        parts += [bn.running_mean, bn.running_var]
    return torch.cat(parts)


@pytest.mark.parametrize("kwargs", [dict(), dict(activation="tanh", weight_decay=1e-2), dict(batch_norm=True),
                                    dict(batch_norm=True, activation="linear", lr=0.03, data="XOR", n_train=30)])
def test_hand_written_training_follows_mlp_with_torch_optim_adam(kwargs):
    """Without dropout the run is deterministic: the same step losses and weights as nn.Sequential + Adam (float64)."""
    setting = R.playground_setting(width=8, **kwargs)
    run = R.train_playground(setting, epochs=24, dtype=torch.float64)
    losses, model = R.train_reference(setting, epochs=24, dtype=torch.float64)
    assert np.allclose(run.step_loss, losses, rtol=1e-9, atol=1e-12)
    assert torch.allclose(run.states[-1], _reference_parameters(model), rtol=1e-8, atol=1e-8)
    xtr, ytr, xva, yva = R.playground_data(setting.data, setting.n_train, setting.noise)
    model.eval()
    with torch.no_grad():                                  # eval mode (BN's running statistics) on both sets
        assert math.isclose(run.train_loss[-1], F.cross_entropy(model(xtr.double()), ytr).item(), rel_tol=1e-9)
        assert math.isclose(run.val_loss[-1], F.cross_entropy(model(xva.double()), yva).item(), rel_tol=1e-9)
        assert math.isclose(run.val_acc[-1], (model(xva.double()).argmax(1) == yva).double().mean().item())


@pytest.mark.parametrize("batch_norm", [False, True])
def test_hand_written_gradient_with_dropout_equals_autograd(batch_norm):
    """One step with dropout: the masks drawn from the generator, applied in an nn.Sequential, give the same gradient."""
    setting = R.playground_setting(width=6, p=0.4, batch_norm=batch_norm, activation="tanh", data="moons")
    xtr, ytr, _, _ = R.playground_data(setting.data, setting.n_train, setting.noise)
    x = xtr.double()
    state = R._initial_state(setting, 3, torch.float64)
    grad = torch.zeros_like(state)
    w, g = R._unpack(state, 6, batch_norm), R._unpack(grad, 6, batch_norm)
    loss = R._forward_backward(w, g, x, F.one_hot(ytr, 2).double(), setting, 0.6, torch.Generator().manual_seed(9))
    masks = torch.Generator().manual_seed(9)                 # the same draws, in the same order (layer 0, layer 1)
    drawn = [torch.rand(len(x), 6, generator=masks, dtype=torch.float64) < 0.6 for _ in range(2)]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(3)
        model = R.mlp([2, 6, 6, 2], batch_norm=batch_norm, activation="tanh").double()
    acts = [m for m in model if isinstance(m, nn.Tanh)]
    for act, keep in zip(acts, drawn):
        act.register_forward_hook(lambda module, inputs, out, keep=keep: out * keep / 0.6)
    reference = F.cross_entropy(model(x), ytr)
    reference.backward()
    n_params = R._n_parameters(6, batch_norm)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    norms = [m for m in model if isinstance(m, nn.BatchNorm1d)]
    expected = []
    for i in range(2):
        expected.append(linears[i].weight.grad.T.flatten())
        expected += [norms[i].weight.grad, norms[i].bias.grad] if batch_norm else [linears[i].bias.grad]
    expected += [linears[2].weight.grad.T.flatten(), linears[2].bias.grad]
    assert math.isclose(loss.item(), reference.item(), rel_tol=1e-12)
    assert torch.allclose(grad[:n_params], torch.cat(expected), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kwargs", [dict(p=0.3), dict(p=0.2, batch_norm=True, weight_decay=1e-3)])
def test_a_snapshot_is_a_fresh_training_stopped_at_that_epoch(kwargs):
    setting = R.playground_setting(width=8, data="XOR", **kwargs)
    full = R.train_playground(setting, epochs=40)
    for epoch in (0, 2, 18, 40):
        short = R.train_playground(setting, epochs=epoch)
        assert torch.equal(full.states[epoch // R.SNAPSHOT_EVERY], short.states[-1]), epoch
        assert full.val_loss[epoch // R.SNAPSHOT_EVERY] == short.val_loss[-1]
    assert list(full.epochs) == list(range(0, 41, R.SNAPSHOT_EVERY)) and len(full.step_loss) == 40


def test_playground_map_is_the_eval_mode_probability_of_the_stored_snapshot():
    kwargs = dict(data="circles", width=16, p=0.2, batch_norm=True)
    run = R.playground_run(**kwargs)
    fresh = R.train_playground(R.playground_setting(**kwargs), epochs=60)
    prob = R.playground_map(60, **kwargs)
    gx, gy = torch.meshgrid(R.MAP_GRID, R.MAP_GRID, indexing="xy")
    with torch.no_grad():
        logits = R.playground_logits(fresh.states[-1:], torch.stack([gx, gy], -1).reshape(-1, 2), fresh.setting)[0]
    assert torch.equal(run.states[30], fresh.states[-1])
    assert np.allclose(prob, torch.softmax(logits, 1)[:, 1].reshape(gx.shape).numpy(), atol=1e-7)
    assert prob.shape == (len(R.MAP_GRID), len(R.MAP_GRID)) and 0 <= prob.min() and prob.max() <= 1
    xtr, _, xva, _ = R.playground_data("circles", 40, 0.3)
    for x in (xtr, xva):                                            # the map covers every point of the default set
        assert x.abs().max() <= R.VIEW


def test_playground_run_is_cached_and_rounds_slider_values():
    a = R.playground_run(data="moons", p=0.30000000000000004, width=4)
    assert a is R.playground_run(data="moons", p=0.3, width=4) and a.setting.p == 0.3


# ----------------------------------------------------------------------------- the playground panel
def _map_artists(panel):
    ax = panel.fig.axes[0]
    lines = [line for line in ax.get_lines() if len(line.get_xdata())]
    hollow = [line for line in lines if line.get_markerfacecolor() == "none"]
    filled = [line for line in lines if line.get_markerfacecolor() != "none"]
    return ax, hollow, filled


def test_playground_panel_draws_validation_hollow_training_filled_with_a_class_legend():
    from helpers.panels.regularization import overfitting_panel
    panel = overfitting_panel()
    panel.render(data="XOR", n_train=30, noise=0.2, epoch=20)
    ax, hollow, filled = _map_artists(panel)
    xtr, ytr, xva, yva = R.playground_data("XOR", 30, 0.2)
    points = lambda lines: sorted(zip(*[np.concatenate([line.get_xdata() for line in lines]),  # noqa: E731
                                        np.concatenate([line.get_ydata() for line in lines])]))
    assert points(hollow) == sorted(map(tuple, xva.numpy().tolist())) and len(hollow) == 2
    assert points(filled) == sorted(map(tuple, xtr.numpy().tolist())) and len(filled) == 2
    assert hollow[0].get_markeredgecolor() != hollow[1].get_markeredgecolor()          # one colour per class
    labels = [t.get_text() for legend in panel._pads for t in legend.get_texts()]
    assert {"class 0", "class 1", "training (filled)", "validation (hollow)"} <= set(labels)
    assert ax.get_xlabel() == "$x_1$" and ax.get_ylabel() == "$x_2$" and len(ax.get_xticks()) >= 3


def test_playground_panel_at_epoch_e_shows_a_fresh_training_stopped_at_e():
    from helpers.panels.regularization import overfitting_panel
    panel = overfitting_panel()
    kwargs = dict(data="moons", noise=0.2, n_train=30, activation="tanh", lr=0.03, width=16, p=0.2,
                  weight_decay=1e-3, batch_norm=False)
    panel.render(epoch=36, **kwargs)
    shown = panel.fig.axes[0].get_images()[0].get_array()
    fresh = R.train_playground(R.playground_setting(**kwargs), epochs=36)
    grid = torch.stack(torch.meshgrid(R.MAP_GRID, R.MAP_GRID, indexing="xy"), -1).reshape(-1, 2)
    with torch.no_grad():
        prob = torch.softmax(R.playground_logits(fresh.states[-1:], grid, fresh.setting)[0], 1)[:, 1]
    shown = np.asarray(shown)[::2, ::2]                    # drawn twice as fine: every 2nd pixel is a node of the map
    assert np.allclose(shown, prob.reshape(len(R.MAP_GRID), -1).numpy(), atol=1e-6)
    assert "epoch 36:" in panel.readout_text and f"{fresh.val_loss[-1]:.3f}" in panel.readout_text


def test_playground_panel_groups_its_controls_and_plays_the_epochs():
    from helpers.panels.regularization import overfitting_panel
    panel = overfitting_panel()
    parts = panel.widget.children
    controls_box = parts[parts.index(panel.image) - 1]                     # under the "试试" buttons, above the picture
    titles = [part.children[0].value for part in controls_box.children]
    assert titles == ["<b>data</b>", "<b>model and training</b>", "<b>regularization</b>"]
    [link] = panel.play_links
    assert link.target == (panel.controls["epoch"], "value") and panel.controls["epoch"].step == R.SNAPSHOT_EVERY
    assert panel.css_width >= 900


@pytest.mark.parametrize("batch_size, momentum, shift", [(2, 0.01, False), (16, 0.1, True), (128, 1.0, True)])
def test_bn_simulation_follows_batchnorm1d_buffers(batch_size, momentum, shift):
    """The simulated running estimates are nn.BatchNorm1d's buffers fed the same batches."""
    sim = R.simulate_bn_statistics(batch_size, momentum, shift)
    bn = nn.BatchNorm1d(1, momentum=momentum).double()
    pool = R._bn_pool()
    for t in range(R.BN_STEPS):
        bn(torch.from_numpy(sim.true_mean[t] + np.sqrt(sim.true_var[t]) * pool[t, :batch_size])[:, None])
        if t in (0, R.BN_STEPS // 2, R.BN_STEPS - 1):
            assert math.isclose(bn.running_mean.item(), sim.running_mean[t], rel_tol=1e-9, abs_tol=1e-12)
            assert math.isclose(bn.running_var.item(), sim.running_var[t], rel_tol=1e-9)
    first_half = sim.batch_mean[:R.BN_STEPS // 2]                              # before any shift: sigma = 2
    assert np.allclose(first_half.std(), 2 / math.sqrt(batch_size), rtol=0.35)    # sigma / sqrt(B)
    with pytest.raises(ValueError, match="batch_size"):
        R.simulate_bn_statistics(1, 0.1)
    with pytest.raises(ValueError, match="momentum"):
        R.simulate_bn_statistics(8, 1.5)


# ----------------------------------------------------------------------------- shared checks
@pytest.mark.parametrize("value, kwargs, ok", [(0.0, {}, True), (1.0, {}, True), (0.0, dict(open_low=True), False),
                                               (1.0, dict(open_high=True), False), (0.5, dict(open_low=True, open_high=True), True),
                                               (float("nan"), {}, False), (-1e-9, {}, False)])
def test_fraction_check(value, kwargs, ok):
    from helpers.checks import fraction
    if ok:
        assert fraction(value, "q", **kwargs) == value
    else:
        with pytest.raises(ValueError, match="q must be in"):
            fraction(value, "q", **kwargs)


def test_dropout_scalings_are_the_three_means_of_one_mask(gen):
    x = torch.rand(1000, generator=gen) + 0.5
    kept = (torch.rand(1000, generator=gen) >= 0.3).float()
    means = R.dropout_scalings(x, kept, 0.3)
    assert math.isclose(means["pytorch"], (x * kept / 0.7).mean().item(), rel_tol=1e-6)
    assert math.isclose(means["unscaled"], (x * kept).mean().item(), rel_tol=1e-6)
    assert math.isclose(means["notes"], (x * kept / 0.3).mean().item(), rel_tol=1e-6)
    assert math.isnan(R.dropout_scalings(x, kept, 0.0)["notes"]) and math.isnan(R.dropout_scalings(x, kept, 1.0)["pytorch"])


def test_the_panel_module_only_draws():
    """Public names defined in helpers/panels/regularization.py are *_panel / *_figure builders."""
    from helpers.panels import regularization as RP
    defined = [name for name, obj in vars(RP).items() if not name.startswith("_")
               and getattr(obj, "__module__", None) == RP.__name__]
    assert defined and all(name.endswith(("_panel", "_figure")) for name in defined), defined
    assert all(name.endswith(("_panel", "_figure")) for name in RP.__all__)
