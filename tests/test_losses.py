"""helpers.losses: every formula against PyTorch, bad input, the 1-D descent, line fits, panels."""
from __future__ import annotations

import functools
import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from helpers import losses as L
from helpers.panels import losses as LP
from helpers import panels as P
from helpers.panels import testing as T
from helpers.data import line_with_outliers
from support import close, pixels

ATOL = 1e-6


_close = functools.partial(close, atol=ATOL, rtol=1e-6)  # float32 results: a relative tolerance too


@pytest.fixture
def gen() -> torch.Generator:
    return torch.Generator().manual_seed(0)


# ----------------------------------------------------------------------------- classification
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_matches_pytorch(gen, reduction):
    logits = 3 * torch.randn(16, 5, generator=gen)
    target = torch.randint(0, 5, (16,), generator=gen)
    assert _close(L.cross_entropy(logits, target, reduction=reduction),
                  F.cross_entropy(logits, target, reduction=reduction))
    onehot = F.one_hot(target, 5).float()
    assert _close(L.cross_entropy_onehot(logits, onehot, reduction=reduction),
                  F.cross_entropy(logits, target, reduction=reduction))


def test_cross_entropy_checklist_numbers():
    """C14/C15 evidence: 1.234681 (mean), 6.173405 (sum), 1.066285 when probabilities are fed as logits."""
    torch.manual_seed(0)
    logits = torch.randn(5, 3)
    target = torch.tensor([1, 0, 2, 1, 1])
    assert abs(L.cross_entropy(logits, target).item() - 1.234681) < 1e-6
    assert abs(L.cross_entropy(logits, target, reduction="sum").item() - 6.173405) < 1e-5
    assert abs(L.cross_entropy(torch.softmax(logits, 1), target).item() - 1.066285) < 1e-6


def test_cross_entropy_is_stable_for_huge_logits():
    logits = torch.tensor([[1000.0, 0.0, -1000.0], [0.0, 1000.0, 0.0]])
    target = torch.tensor([2, 1])
    ours = L.cross_entropy(logits, target)
    assert torch.isfinite(ours) and _close(ours, F.cross_entropy(logits, target))
    assert _close(L.log_softmax(logits), F.log_softmax(logits, dim=-1))


def test_cross_entropy_gradient_is_softmax_minus_onehot_over_n(gen):
    logits = torch.randn(6, 4, generator=gen, requires_grad=True)
    target = torch.randint(0, 4, (6,), generator=gen)
    L.cross_entropy(logits, target).backward()
    expected = (torch.softmax(logits.detach(), 1) - F.one_hot(target, 4)) / 6
    assert _close(logits.grad, expected)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy_matches_pytorch(gen, reduction):
    p = torch.rand(50, generator=gen)
    y = (torch.rand(50, generator=gen) > 0.5).float()
    p[:3] = torch.tensor([0.0, 1.0, 1.0])  # log clamped at -100, as in PyTorch
    y[:3] = torch.tensor([1.0, 0.0, 1.0])
    assert _close(L.binary_cross_entropy(p, y, reduction=reduction),
                  F.binary_cross_entropy(p, y, reduction=reduction), atol=1e-5)
    z = 4 * torch.randn(50, generator=gen)
    assert _close(L.binary_cross_entropy_with_logits(z, y, reduction=reduction),
                  F.binary_cross_entropy_with_logits(z, y, reduction=reduction))


def test_bce_clamps_at_100_and_logits_version_stays_exact():
    assert L.binary_cross_entropy(torch.tensor([0.0]), torch.tensor([1.0])).item() == 100.0
    z, y = torch.tensor([-200.0]), torch.tensor([1.0])
    assert abs(L.binary_cross_entropy_with_logits(z, y).item() - 200.0) < 1e-4


def test_bce_with_logits_gradient_is_sigmoid_minus_y(gen):
    z = torch.randn(8, generator=gen, requires_grad=True)
    y = (torch.rand(8, generator=gen) > 0.5).float()
    L.binary_cross_entropy_with_logits(z, y, reduction="sum").backward()
    assert _close(z.grad, torch.sigmoid(z.detach()) - y)


# ----------------------------------------------------------------------------- regression
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_regression_losses_match_pytorch(gen, reduction):
    y_hat, y = 3 * torch.randn(40, 2, generator=gen), 3 * torch.randn(40, 2, generator=gen)
    assert _close(L.mae(y_hat, y, reduction=reduction), F.l1_loss(y_hat, y, reduction=reduction))
    assert _close(L.mse(y_hat, y, reduction=reduction), F.mse_loss(y_hat, y, reduction=reduction), atol=1e-5)
    for d in (0.3, 1.0, 2.0, 5.0):
        assert _close(L.huber(y_hat, y, d, reduction=reduction), F.huber_loss(y_hat, y, reduction=reduction, delta=d))
        assert _close(L.smooth_l1(y_hat, y, d, reduction=reduction),
                      F.smooth_l1_loss(y_hat, y, reduction=reduction, beta=d))


def test_huber_is_delta_times_smooth_l1_and_equal_only_at_one():
    e = torch.linspace(-6, 6, 25)
    zero = torch.zeros_like(e)
    for d in (0.5, 2.0):
        assert _close(F.huber_loss(e, zero, delta=d), d * F.smooth_l1_loss(e, zero, beta=d))
        assert not _close(F.huber_loss(e, zero, delta=d), F.smooth_l1_loss(e, zero, beta=d))
    assert _close(F.huber_loss(e, zero, delta=1.0), F.smooth_l1_loss(e, zero, beta=1.0))


def test_pointwise_gradients_match_autograd(gen):
    y = torch.randn(30, generator=gen)
    y_hat = (y + 3 * torch.randn(30, generator=gen)).requires_grad_()
    for ours, theirs in [(L.mae_grad(y_hat.detach(), y), lambda: F.l1_loss(y_hat, y, reduction="sum")),
                         (L.mse_grad(y_hat.detach(), y), lambda: F.mse_loss(y_hat, y, reduction="sum")),
                         (L.huber_grad(y_hat.detach(), y, 1.5),
                          lambda: F.huber_loss(y_hat, y, reduction="sum", delta=1.5))]:
        y_hat.grad = None
        theirs().backward()
        assert _close(ours, y_hat.grad)


def test_huber_gradient_checklist_values():
    """C18: HuberLoss(delta=1) gradients on errors [-10, -2, -0.5, -0.01, 0.01, 0.5, 2, 10]."""
    e = torch.tensor([-10.0, -2.0, -0.5, -0.01, 0.01, 0.5, 2.0, 10.0])
    expected = torch.tensor([-1.0, -1.0, -0.5, -0.01, 0.01, 0.5, 1.0, 1.0])
    assert _close(L.huber_grad(e, torch.zeros_like(e), 1.0), expected)
    assert L.mae_grad(torch.tensor([0.0]), torch.tensor([0.0])).item() == 0.0


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("fn", [L.mae, L.mse, L.huber, L.smooth_l1, L.binary_cross_entropy,
                                L.binary_cross_entropy_with_logits, L.mae_grad, L.mse_grad, L.huber_grad])
def test_shapes_must_match_exactly(fn):
    with pytest.raises(ValueError, match="same shape"):
        fn(torch.full((4, 1), 0.5), torch.full((4,), 0.5))


@pytest.mark.parametrize("fn", [L.mae, L.mse, L.huber, L.binary_cross_entropy, L.cross_entropy])
def test_non_tensors_raise_type_error(fn):
    with pytest.raises(TypeError, match="torch.Tensor"):
        fn([0.5, 0.5], torch.tensor([0.5, 0.5]))


def test_bad_values_raise_value_error():
    with pytest.raises(ValueError, match=r"p must hold probabilities in \[0, 1\]"):
        L.binary_cross_entropy(torch.tensor([1.2]), torch.tensor([1.0]))
    with pytest.raises(ValueError, match=r"y must hold probabilities in \[0, 1\]"):
        L.binary_cross_entropy(torch.tensor([0.2]), torch.tensor([2.0]))
    with pytest.raises(ValueError, match=r"p must hold probabilities"):
        L.binary_cross_entropy(torch.tensor([float("nan")]), torch.tensor([1.0]))
    for d in (0, -1.0, float("inf")):
        with pytest.raises(ValueError, match="delta must be a finite number > 0"):
            L.huber(torch.zeros(3), torch.zeros(3), d)
    with pytest.raises(ValueError, match="beta must be"):
        L.smooth_l1(torch.zeros(3), torch.zeros(3), 0.0)
    with pytest.raises(TypeError, match="delta must be a real number"):
        L.huber(torch.zeros(3), torch.zeros(3), "1")
    with pytest.raises(ValueError, match="reduction"):
        L.mse(torch.zeros(3), torch.zeros(3), reduction="avg")
    with pytest.raises(ValueError, match="must not be empty"):
        L.mae(torch.zeros(0), torch.zeros(0))
    with pytest.raises(TypeError, match="floating-point"):
        L.mse(torch.zeros(3, dtype=torch.long), torch.zeros(3, dtype=torch.long))


def test_cross_entropy_rejects_bad_targets():
    logits = torch.zeros(4, 3)
    with pytest.raises(ValueError, match=r"class indices must be in \[0, C-1\] = \[0, 2\]"):
        L.cross_entropy(logits, torch.tensor([0, 1, 3, 0]))
    with pytest.raises(ValueError, match=r"class indices must be in"):
        L.cross_entropy(logits, torch.tensor([0, -1, 2, 0]))
    with pytest.raises(ValueError, match=r"target must have shape \(N,\)"):
        L.cross_entropy(logits, torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match=r"logits must have shape \(N, C\)"):
        L.cross_entropy(torch.zeros(3), torch.tensor([0, 1, 2]))
    with pytest.raises(TypeError, match="integer class indices"):
        L.cross_entropy(logits, torch.zeros(4))
    with pytest.raises(ValueError, match="same shape"):
        L.cross_entropy_onehot(logits, torch.zeros(4, 2))


# ----------------------------------------------------------------------------- 1-D descent and line fits
def _torch_descent(loss, lr: float, steps: int) -> list[float]:
    w = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([w], lr=lr)
    out = [0.0]
    for _ in range(steps):
        opt.zero_grad()
        loss(2 * w - 3).backward()
        opt.step()
        out.append(w.item())
    return out


def test_gd_1d_matches_torch_sgd_and_the_checklist():
    mae_path = L.gd_1d("mae", 0.1, 12)
    np.testing.assert_allclose(mae_path, _torch_descent(lambda e: e.abs().sum(), 0.1, 12), atol=1e-12)
    np.testing.assert_allclose(mae_path[7:], [1.4, 1.6, 1.4, 1.6, 1.4, 1.6], atol=1e-9)  # C17: stuck around 1.5
    mse_path = L.gd_1d("mse", 0.1, 12)
    np.testing.assert_allclose(mse_path, _torch_descent(lambda e: (e**2).sum(), 0.1, 12), atol=1e-12)
    np.testing.assert_allclose(mse_path[1:4], [1.2, 1.44, 1.488], atol=1e-12)
    huber_path = L.gd_1d("huber", 0.1, 30, delta=1.0)
    torch_huber = _torch_descent(lambda e: F.huber_loss(e, torch.zeros_like(e), reduction="sum"), 0.1, 30)
    np.testing.assert_allclose(huber_path, torch_huber, atol=1e-12)


def test_gd_1d_mse_diverges_above_a_quarter():
    assert abs(2 * L.gd_1d("mse", 0.24, 200)[-1] - 3) < 1e-3
    assert abs(2 * L.gd_1d("mse", 0.26, 200)[-1] - 3) > 1e3
    with pytest.raises(ValueError, match="loss must be one of"):
        L.gd_1d("l3", 0.1)
    with pytest.raises(ValueError, match="lr must be"):
        L.gd_1d("mae", 0.0)


def _xy(n_outliers: int, size: float) -> tuple[np.ndarray, np.ndarray]:
    x, y = line_with_outliers(n_outliers=n_outliers, outlier_size=size)
    return x.numpy().ravel().astype(float), y.numpy().ravel().astype(float)


@pytest.mark.parametrize("n_outliers,size", [(0, 0.0), (5, 10.0), (12, 20.0), (8, -15.0)])
def test_fit_line_minimises_each_loss(n_outliers, size):
    x, y = _xy(n_outliers, size)
    a, b = L.fit_line(x, y, "mse")
    np.testing.assert_allclose([a, b], np.polyfit(x, y, 1), atol=1e-9)
    # an L1 optimum passes through two data points: brute force over all pairs
    a1, b1 = L.fit_line(x, y, "mae")
    best = min(np.abs(y - (y[j] - (y[j] - y[i]) / (x[j] - x[i]) * (x[j] - x))).mean()
               for i, j in itertools.combinations(range(len(x)), 2))
    assert np.abs(y - a1 * x - b1).mean() <= best * (1 + 1e-4)
    # the Huber optimum has zero gradient (autograd on PyTorch's huber_loss)
    for d in (0.5, 1.0, 3.0):
        theta = torch.tensor(L.fit_line(x, y, "huber", d), dtype=torch.float64, requires_grad=True)
        F.huber_loss(theta[0] * torch.tensor(x) + theta[1], torch.tensor(y), delta=d).backward()
        assert theta.grad.abs().max() < 1e-8


def test_fit_line_is_robust_with_mae_and_huber_but_not_mse():
    x, y = _xy(10, 20.0)
    assert abs(L.fit_line(x, y, "mse")[1] - 1.0) > 3.0  # intercept pulled up by the outliers
    for loss in ("mae", "huber"):
        a, b = L.fit_line(x, y, loss)
        assert abs(a - 2.0) < 0.3 and abs(b - 1.0) < 0.5


def test_fit_line_rejects_bad_input():
    with pytest.raises(ValueError, match="same number"):
        L.fit_line([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="loss must be"):
        L.fit_line([1.0, 2.0], [1.0, 2.0], "l3")
    with pytest.raises(ValueError, match="two different values"):
        L.fit_line([1.0, 1.0, 1.0], [1.0, 2.0, 3.0])


# ----------------------------------------------------------------------------- panels
LOSS_PANELS = [LP.loss_panel, LP.robust_regression_panel, LP.gd_1d_panel]


def test_panels_are_registered():
    names = set(P.all_panels())
    assert {b.__name__ for b in LOSS_PANELS} <= names


@pytest.mark.parametrize("builder", LOSS_PANELS, ids=lambda b: b.__name__)
def test_panel_renders_all_sampled_values(builder):
    panel = builder()
    for values in T.sample_values(panel, max_combos=24):
        img = pixels(panel.render(**values))
        assert img.std() > 1.0, values
        assert panel.last_error is None, (values, panel.last_error)


@pytest.mark.parametrize("spec", list(L.LOSSES.values()), ids=lambda spec: spec.label)
def test_every_loss_record_matches_torch(spec):
    """Each record's loss (helpers.losses) equals its torch module, and its derivative torch's autograd, along x."""
    x = torch.linspace(-4, 4, 397, dtype=torch.float64, requires_grad=True)   # no grid point on a kink
    for width in (0.2, 1.0, 2.7):
        values, grads = spec.curve(x.detach(), width)
        reference = spec.torch_curve(x, width)
        (torch_grads,) = torch.autograd.grad(reference.sum(), x)
        assert values.shape == grads.shape == (len(x),)
        assert _close(values, reference.detach()), (spec.label, width)
        assert _close(grads, torch_grads), (spec.label, width)


def test_loss_records_are_complete_and_the_panel_offers_each():
    panel = LP.loss_panel()
    assert list(panel.controls["loss"].options) == list(L.LOSSES)
    for label, spec in L.LOSSES.items():
        assert spec.label == label and spec.formula.startswith("$") and spec.note
        assert panel.enabled({**panel.values(), "loss": label})["delta"] == (spec.width is not None)
        assert L.loss_curve(label, torch.zeros(3, dtype=torch.float64))[0].shape == (3,)
    with pytest.raises(ValueError, match="loss must be one of"):
        L.loss_curve("Hinge", torch.zeros(3))


def test_huber_record_uses_the_width_and_cross_entropy_has_a_closed_form():
    e = torch.linspace(-4, 4, 9, dtype=torch.float64)
    values, grads = L.loss_curve("Huber", e, 0.5)
    assert _close(values, F.huber_loss(e, torch.zeros_like(e), reduction="none", delta=0.5))
    assert _close(grads, torch.clamp(e, -0.5, 0.5))
    values, _ = L.loss_curve("Cross-entropy (3 classes)", e)
    assert _close(values, -e + torch.log(torch.exp(e) + 2))


@pytest.mark.parametrize("margin", [0.5, 1.0, 2.0])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_multi_margin_matches_torch(margin, reduction):
    g = torch.Generator().manual_seed(0)
    logits, target = torch.randn(6, 5, generator=g, dtype=torch.float64), torch.randint(0, 5, (6,), generator=g)
    ours = L.multi_margin(logits, target, margin, reduction=reduction)
    assert _close(ours, F.multi_margin_loss(logits, target, margin=margin, reduction=reduction))
    with pytest.raises(ValueError, match="margin"):
        L.multi_margin(logits, target, 0.0)
    with pytest.raises(ValueError, match="target class indices"):
        L.multi_margin(logits, target + 5)


def test_gd_panel_warns_when_mse_diverges():
    panel = LP.gd_1d_panel()

    def shown() -> list[str]:
        return [t.get_text() for t in panel.fig.axes[0].texts if t.get_visible() and t.get_text().startswith("MSE")]

    panel.render(lr=0.1, decay=False)
    assert shown() == []
    panel.render(lr=0.5)
    assert shown() == ["MSE diverges at this learning rate"]
    panel.render(lr=0.2, decay=True)
    assert shown() == []
    panel.render(lr=1.0, decay=True)
    assert shown() == ["MSE blows up: its first steps are too large"]
    assert panel.last_error is None
