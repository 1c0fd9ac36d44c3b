"""Chapter 2: the activation formulas against PyTorch, the experiments and the panels."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

import helpers.activations as act
import helpers.panels.activations as actp
from helpers.panels.testing import sample_values

DTYPES = [torch.float32, torch.float64]
X_VALUES = [-100.0, -50.0, -17.0, -6.0, -3.0, -1.0, -1e-3, 0.0, 1e-3, 1.0, 3.0, 6.0, 17.0, 50.0, 100.0]


def grid(dtype: torch.dtype) -> torch.Tensor:
    """Large |x| (±50, ±100), x = 0, small |x| and a dense grid in between."""
    return torch.cat([torch.tensor(X_VALUES, dtype=dtype), torch.linspace(-12, 12, 2001, dtype=dtype)])


def autograd_derivative(fn, x: torch.Tensor) -> torch.Tensor:
    """Element-wise derivative of PyTorch's ``fn`` at ``x`` via autograd."""
    x = x.clone().requires_grad_(True)
    fn(x).sum().backward()
    return x.grad


# ----------------------------------------------------------------------------- formulas vs PyTorch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ours, theirs", [(act.sigmoid, torch.sigmoid), (act.tanh, torch.tanh), (act.relu, torch.relu)])
def test_activation_matches_pytorch(ours, theirs, dtype):
    x = grid(dtype)
    out = ours(x)
    assert out.dtype == dtype and out.shape == x.shape
    assert torch.allclose(out, theirs(x), atol=1e-6, rtol=0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ours, theirs", [(act.sigmoid_grad, torch.sigmoid), (act.tanh_grad, torch.tanh),
                                          (act.relu_grad, torch.relu)])
def test_derivative_matches_autograd(ours, theirs, dtype):
    x = grid(dtype)
    assert torch.allclose(ours(x), autograd_derivative(theirs, x), atol=1e-6, rtol=0)


def test_activations_keep_shape_of_nd_input():
    x = torch.randn(3, 4, 5, generator=torch.Generator().manual_seed(1))
    for ours, theirs in [(act.sigmoid, torch.sigmoid), (act.tanh, torch.tanh), (act.relu, torch.relu)]:
        assert torch.allclose(ours(x), theirs(x), atol=1e-6)


def test_relu_derivative_at_zero_is_zero_like_pytorch():
    x = torch.tensor([-1.0, 0.0, 1.0])
    assert autograd_derivative(torch.relu, x).tolist() == [0.0, 0.0, 1.0]  # C5
    assert act.relu_grad(x).tolist() == [0.0, 0.0, 1.0]


def test_sigmoid_and_tanh_derivative_maxima():
    """C4 / E8: max sigmoid' = 0.25 and max tanh' = 1, both at x = 0 (closed form values)."""
    x = torch.linspace(-10, 10, 200001, dtype=torch.float64)
    for fn, peak in [(act.sigmoid_grad, 0.25), (act.tanh_grad, 1.0)]:
        d = fn(x)
        assert d.max().item() == pytest.approx(peak, abs=1e-12)
        assert abs(x[d.argmax()].item()) < 1e-3
        assert (d > 0).all()


def test_saturation_values_from_the_checklist():
    """E9 / E11 evidence: sigmoid(±3), sigmoid(±6), sigmoid(17) == 1 in float32, tanh = 2 sigmoid(2x) - 1."""
    s = act.sigmoid(torch.tensor([-3.0, 3.0, -6.0, 6.0], dtype=torch.float64))
    assert torch.allclose(s, torch.tensor([0.0474, 0.9526, 0.00247, 0.99753], dtype=torch.float64), atol=1e-4)
    assert act.sigmoid(torch.tensor(17.0)).item() == 1.0
    assert act.sigmoid(torch.tensor(-100.0)).item() == 0.0
    x = torch.linspace(-8, 8, 1001, dtype=torch.float64)
    assert torch.allclose(act.tanh(x), 2 * torch.sigmoid(2 * x) - 1, atol=1e-12)
    assert act.tanh_grad(torch.tensor([2.0, 3.0], dtype=torch.float64)).tolist() == pytest.approx([0.0707, 0.0099], abs=1e-4)


# ----------------------------------------------------------------------------- softmax
@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_matches_pytorch_along_every_dim(dtype):
    z = torch.randn(3, 4, 5, generator=torch.Generator().manual_seed(0), dtype=dtype) * 10
    for dim in (0, 1, 2, -1, -2, -3):
        assert torch.allclose(act.softmax(z, dim=dim), torch.softmax(z, dim=dim), atol=1e-6, rtol=0)
    assert torch.allclose(act.softmax(z), torch.softmax(z, dim=-1), atol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_is_stable_for_large_logits(dtype):
    z = torch.tensor([1000.0, 0.0], dtype=dtype)
    assert act.softmax(z).tolist() == [1.0, 0.0]
    z = torch.tensor([[1000.0, 999.0, -1000.0], [-1000.0, -1001.0, -1002.0]], dtype=dtype)
    out = act.softmax(z, dim=1)
    assert torch.isfinite(out).all()
    assert torch.allclose(out, torch.softmax(z, dim=1), atol=1e-6, rtol=0)


def test_softmax_is_a_distribution_and_shift_invariant():
    """C8b: rows sum to 1, entries in (0, 1), softmax(z + c) = softmax(z)."""
    z = torch.randn(8, 6, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    p = act.softmax(z, dim=1)
    assert torch.allclose(p.sum(1), torch.ones(8, dtype=torch.float64))
    assert ((p > 0) & (p < 1)).all()
    assert torch.allclose(act.softmax(z + 100, dim=1), p)


def test_softmax_jacobian_matches_autograd():
    z = torch.tensor([2.0, 1.0, 0.5, -0.5, -1.5], dtype=torch.float64)
    expected = torch.autograd.functional.jacobian(lambda v: torch.softmax(v, dim=0), z)
    assert torch.allclose(act.softmax_jacobian(z), expected, atol=1e-12)
    with pytest.raises(ValueError, match="1-D"):
        act.softmax_jacobian(torch.zeros(2, 3))


def test_entropy_matches_torch_distributions():
    p = torch.softmax(torch.randn(4, 7, generator=torch.Generator().manual_seed(5), dtype=torch.float64), dim=1)
    assert torch.allclose(act.entropy(p), torch.distributions.Categorical(probs=p).entropy(), atol=1e-12)
    assert act.entropy(torch.tensor([1.0, 0.0, 0.0])).item() == 0.0  # 0 log 0 = 0
    assert act.entropy(torch.full((5,), 0.2, dtype=torch.float64)).item() == pytest.approx(math.log(5))


def test_temperature_limits():
    z = torch.tensor([2.0, 1.0, 0.5, -0.5, -1.5], dtype=torch.float64)
    assert act.softmax(z / 0.01).tolist() == pytest.approx([1.0, 0.0, 0.0, 0.0, 0.0], abs=1e-12)
    assert torch.allclose(act.softmax(z / 1e6), torch.full((5,), 0.2, dtype=torch.float64), atol=1e-5)


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("fn", [act.sigmoid, act.tanh, act.relu, act.softmax, act.sigmoid_grad, act.tanh_grad,
                                act.relu_grad, act.entropy, act.softmax_jacobian, act.dead_fraction])
@pytest.mark.parametrize("bad", [[1.0, 2.0], 3.0, np.array([1.0, 2.0]), None])
def test_non_tensor_input_raises_type_error(fn, bad):
    with pytest.raises(TypeError, match="must be a torch.Tensor"):
        fn(bad)


# ----------------------------------------------------------------------------- C3: linear layers collapse
def test_merge_linear_equals_the_composition():
    torch.manual_seed(0)
    first, second = nn.Linear(3, 5), nn.Linear(5, 2)
    x = torch.randn(10, 3)
    w, b = act.merge_linear(first, second)
    assert w.shape == (2, 3) and b.shape == (2,)
    assert torch.allclose(second(first(x)), x @ w.T + b, atol=1e-6)
    assert torch.allclose(w, second.weight @ first.weight)


def test_merge_linear_bad_input():
    with pytest.raises(ValueError, match="in_features"):
        act.merge_linear(nn.Linear(3, 5), nn.Linear(4, 2))
    with pytest.raises(TypeError, match="nn.Linear"):
        act.merge_linear(nn.Linear(3, 5), nn.ReLU())


# ----------------------------------------------------------------------------- dying ReLU
def test_dead_fraction_counts_units_never_active():
    z = torch.tensor([[-1.0, 2.0, 0.0, -3.0], [-2.0, -1.0, 0.0, 0.5]])
    assert act.dead_fraction(z) == pytest.approx(0.5)  # units 0 and 2 never > 0 (ReLU'(0) = 0)
    with pytest.raises(ValueError, match="2-D"):
        act.dead_fraction(torch.zeros(5))


def test_very_negative_bias_kills_every_unit():
    """C8: Linear(5, 1) with bias -100 on N(0, 1) inputs: never active, zero gradients."""
    torch.manual_seed(0)
    layer = nn.Linear(5, 1)
    nn.init.constant_(layer.bias, -100.0)
    x = torch.randn(1000, 5)
    torch.relu(layer(x)).sum().backward()
    assert act.dead_fraction(layer(x).detach()) == 1.0
    assert layer.weight.grad.abs().max().item() == 0.0 and layer.bias.grad.item() == 0.0


def test_relu_step_preactivations_equal_an_sgd_step():
    """The helper's z_after equals a real torch.optim.SGD step on the same layer and loss."""
    bias, lr = -0.5, 3.0
    z_before, z_after = act.relu_step_preactivations(bias, lr, inputs="relu")
    g = torch.Generator().manual_seed(0)
    x = torch.relu(torch.randn(256, 16, generator=g, dtype=torch.float64))
    layer = nn.Linear(16, 64).double()
    with torch.no_grad():
        layer.weight.copy_(torch.randn(64, 16, generator=g, dtype=torch.float64) / 4.0)
        layer.bias.fill_(bias)
    readout = torch.randn(64, generator=g, dtype=torch.float64) / 8.0
    target = x @ (torch.randn(16, generator=g, dtype=torch.float64) / 4.0)
    assert torch.allclose(z_before, layer(x).detach(), atol=1e-12)
    optimizer = torch.optim.SGD(layer.parameters(), lr=lr)
    loss = ((torch.relu(layer(x)) @ readout - target) ** 2).mean()
    loss.backward()
    optimizer.step()
    assert torch.allclose(z_after, layer(x).detach(), atol=1e-9)


def test_large_learning_rate_kills_units_with_nonnegative_inputs():
    z0, small = act.relu_step_preactivations(0.0, 1e-3)
    _, large = act.relu_step_preactivations(0.0, 30.0)
    assert act.dead_fraction(z0) == 0.0 and act.dead_fraction(small) == 0.0
    assert act.dead_fraction(large) > 0.2


def test_relu_step_bad_input():
    with pytest.raises(ValueError, match="inputs"):
        act.relu_step_preactivations(0.0, 1.0, inputs="uniform")
    for lr in (-1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="lr"):
            act.relu_step_preactivations(0.0, lr)
    with pytest.raises(ValueError, match="bias_shift"):
        act.relu_step_preactivations(float("nan"), 1.0)


def test_relu_step_returns_fresh_tensors():
    z, _ = act.relu_step_preactivations(0.25, 1.0)
    z.fill_(-1.0)  # must not corrupt the cached experiment
    z_again, _ = act.relu_step_preactivations(0.25, 1.0)
    assert act.dead_fraction(z_again) < 1.0


# ----------------------------------------------------------------------------- vanishing gradient
def test_sigmoid_chain_gradient_bound():
    """C7: the derivative of sigmoid composed n times at 0 is <= 0.25**n (values from the checklist)."""
    observed = {1: 0.25, 5: 6.76e-4, 10: 3.88e-7, 20: 1.27e-13}
    for n, value in observed.items():
        x = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
        h = x
        for _ in range(n):
            h = act.sigmoid(h)
        h.backward()
        assert x.grad.item() == pytest.approx(value, rel=5e-3)
        assert x.grad.item() <= 0.25 ** n


def test_layer_gradient_norms_match_an_nn_sequential():
    depth, width, batch = 6, 8, 5
    norms = act.layer_gradient_norms("tanh", depth, init="kaiming", width=width, batch=batch, seed=3)
    g = torch.Generator().manual_seed(3)
    x = torch.randn(batch, width, generator=g, dtype=torch.float64)
    target = torch.randn(batch, width, generator=g, dtype=torch.float64)
    weights = torch.randn(depth, width, width, generator=g, dtype=torch.float64) * math.sqrt(2 / width)
    layers = []
    for w in weights:
        linear = nn.Linear(width, width, bias=False).double()
        with torch.no_grad():
            linear.weight.copy_(w)
        layers += [linear, nn.Tanh()]
    model = nn.Sequential(*layers)
    nn.functional.mse_loss(model(x), target).backward()
    expected = torch.stack([m.weight.grad.norm() for m in model if isinstance(m, nn.Linear)])
    assert torch.allclose(norms, expected, rtol=1e-10)


def test_sigmoid_gradients_vanish_and_relu_kaiming_ones_do_not():
    sig = act.layer_gradient_norms("sigmoid", 30)
    relu = act.layer_gradient_norms("relu", 30, init="kaiming")
    assert (sig[0] / sig[-1]).item() < 1e-10
    assert 1e-2 < (relu[0] / relu[-1]).item() < 1e2
    # a deeper network only adds layers on top: the first layers' weights are the same
    assert act.layer_gradient_norms("relu", 3, init="kaiming").shape == (3,)


@pytest.mark.parametrize("kwargs, match", [
    (dict(activation="gelu", depth=3), "activation"),
    (dict(activation="relu", depth=0), "depth"),
    (dict(activation="relu", depth=3, init="orthogonal"), "init"),
])
def test_layer_gradient_norms_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        act.layer_gradient_norms(**kwargs)


# ----------------------------------------------------------------------------- decision boundary figure
def test_decision_boundary_figure():
    from helpers.data import two_moons

    x, y = two_moons(60)
    torch.manual_seed(0)
    fig = actp.decision_boundary_figure({"a": nn.Linear(2, 2), "b": nn.Sequential(nn.Linear(2, 4), nn.ReLU(),
                                                                                  nn.Linear(4, 2))}, x, y)
    assert len(fig.axes) == 2 and "accuracy" in fig.axes[0].get_title()
    with pytest.raises(ValueError, match="at least one"):
        actp.decision_boundary_figure({}, x, y)
    with pytest.raises(ValueError, match="shape"):
        actp.decision_boundary_figure({"a": nn.Linear(3, 2)}, torch.zeros(4, 3), y[:4])


# ----------------------------------------------------------------------------- panels
PANELS = [actp.activation_panel, actp.vanishing_gradient_panel, actp.dying_relu_panel, actp.softmax_panel]


@pytest.fixture(scope="module", params=PANELS, ids=lambda b: b.__name__)
def panel(request):
    return request.param()


def test_panel_renders_every_sampled_combination(panel):
    for values in sample_values(panel, max_combos=24):
        png = panel.render(**values)
        assert png.startswith(b"\x89PNG")
        assert panel.last_error is None, (values, panel.last_error)


def test_activation_panel_rejects_unknown_activation():
    with pytest.raises(ValueError, match="activation"):
        actp.activation_panel("gelu")


def test_softmax_panel_shows_a_message_for_a_bad_temperature():
    p = actp.softmax_panel()
    p.render(temperature=0.0)
    assert p.last_error is not None and "temperature" in p.last_error


def test_activation_panel_x_range_only_relabels_ticks():
    """Moving the x-range slider must not change the cached background (fast path)."""
    p = actp.activation_panel()
    p.render(x_max=2.0)
    cached = len(p._backgrounds)
    for x_max in (3.5, 8.0, 15.0, 20.0):
        p.render(x_max=x_max)
    assert len(p._backgrounds) == cached == 1


def test_panels_leave_the_thread_setting_alone():
    before = torch.get_num_threads()
    actp.vanishing_gradient_panel().render(depth=7)
    actp.dying_relu_panel().render(bias_shift=-0.3)
    assert torch.get_num_threads() == before
