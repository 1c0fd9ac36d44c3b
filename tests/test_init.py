"""Tests for helpers.init (chapter 3): formulas against torch.nn.init, bad inputs, the deep-MLP
forward/backward against autograd, the panels, and the chapter's exercise checkers."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from helpers import init as hi
from helpers.panels import init as hip
from helpers.panels import PANELS
from helpers.panels.testing import sample_values

SQRT2 = math.sqrt(2.0)


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ----------------------------------------------------------------------------- fan_in / fan_out
FAN_CASES = [
    nn.Linear(512, 256), nn.Linear(3, 1), nn.Conv1d(4, 8, 5), nn.Conv2d(3, 16, (5, 3)),
    nn.Conv2d(8, 4, 3, groups=2), nn.Conv3d(2, 4, (3, 2, 1)),
]


@pytest.mark.parametrize("module", FAN_CASES, ids=lambda m: type(m).__name__ + str(tuple(m.weight.shape)))
def test_fans_match_pytorch_for_modules_and_weights(module):
    expected = nn.init._calculate_fan_in_and_fan_out(module.weight)
    assert hi.fan_in_fan_out(module) == expected
    assert hi.fan_in_fan_out(module.weight) == expected
    assert hi.fan_in_fan_out(module.weight.detach()) == expected


@pytest.mark.parametrize("shape", [(7, 5), (6, 4, 3, 2), (1, 1), (2, 9, 1, 1, 4)])
def test_fans_match_pytorch_for_plain_tensors(shape):
    t = torch.empty(shape)
    assert hi.fan_in_fan_out(t) == nn.init._calculate_fan_in_and_fan_out(t)


def test_fans_closed_forms_from_the_checklist():
    assert hi.fan_in_fan_out(nn.Conv2d(3, 16, kernel_size=(5, 3))) == (3 * 5 * 3, 16 * 5 * 3) == (45, 240)
    assert hi.fan_in_fan_out(nn.Linear(512, 256)) == (512, 256)
    fi, fo = hi.fan_in_fan_out(nn.Conv2d(16, 32, (3, 5)))
    assert isinstance(fi, int) and isinstance(fo, int)


@pytest.mark.parametrize("bad", [torch.zeros(5), torch.tensor(3.0)])
def test_fans_reject_tensors_with_fewer_than_two_dims(bad):
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        hi.fan_in_fan_out(bad)


@pytest.mark.parametrize("bad", [[[1.0, 2.0]], np.zeros((3, 3)), "weight", nn.ReLU(), nn.BatchNorm1d(3), None])
def test_fans_reject_wrong_types(bad):
    with pytest.raises(TypeError, match="weight_or_module"):
        hi.fan_in_fan_out(bad)


# ----------------------------------------------------------------------------- std / bound formulas
def test_closed_forms_and_checklist_numbers():
    assert hi.kaiming_std(512) == pytest.approx(math.sqrt(2 / 512), rel=1e-12)
    assert hi.kaiming_bound(512) == pytest.approx(math.sqrt(6 / 512), rel=1e-12)
    assert round(hi.kaiming_bound(512), 5) == 0.10825
    assert hi.xavier_std(512, 256) == pytest.approx(math.sqrt(2 / 768), rel=1e-12)
    assert round(hi.xavier_std(512, 256), 5) == 0.05103
    assert round(hi.xavier_bound(512, 256), 5) == 0.08839
    # nn.Linear default: kaiming_uniform_(a=sqrt 5) -> gain sqrt(2/(1+5)) -> bound 1/sqrt(fan_in)
    gain = nn.init.calculate_gain("leaky_relu", math.sqrt(5))
    assert hi.kaiming_bound(512, gain=gain) == pytest.approx(1 / math.sqrt(512), rel=1e-12)
    assert round(1 / math.sqrt(512), 5) == 0.04419


def test_default_gain_is_the_relu_gain():
    assert math.isclose(nn.init.calculate_gain("relu"), SQRT2)
    assert math.isclose(nn.init.calculate_gain("leaky_relu", 0), SQRT2)
    assert hi.kaiming_std(100) == pytest.approx(nn.init.calculate_gain("relu") / 10)


@pytest.mark.parametrize("fan_in,fan_out", [(256, 4096), (64, 8192)])
@pytest.mark.parametrize("nonlinearity", ["relu", "tanh", "linear"])
def test_kaiming_normal_std_matches_sampled(fan_in, fan_out, nonlinearity):
    w = nn.init.kaiming_normal_(torch.empty(fan_out, fan_in), nonlinearity=nonlinearity, generator=_gen())
    gain = nn.init.calculate_gain(nonlinearity)
    assert w.std().item() == pytest.approx(hi.kaiming_std(fan_in, gain=gain), rel=0.01)
    assert abs(w.mean().item()) < 0.01 * hi.kaiming_std(fan_in, gain=gain)


def test_kaiming_normal_fan_out_mode_uses_fan_out():
    w = nn.init.kaiming_normal_(torch.empty(128, 4096), mode="fan_out", nonlinearity="relu", generator=_gen(1))
    assert w.std().item() == pytest.approx(hi.kaiming_std(128), rel=0.01)


@pytest.mark.parametrize("fan_in", [3, 45, 512])
@pytest.mark.parametrize("a", [0.0, math.sqrt(5)])
def test_kaiming_uniform_bound_is_exact(fan_in, a):
    w = nn.init.kaiming_uniform_(torch.empty(200_000 // fan_in + 1, fan_in), a=a, generator=_gen(2))
    bound = hi.kaiming_bound(fan_in, gain=nn.init.calculate_gain("leaky_relu", a))
    assert w.abs().max().item() <= bound
    assert w.abs().max().item() > 0.999 * bound
    assert w.var().item() == pytest.approx(bound**2 / 3, rel=0.02)


@pytest.mark.parametrize("fan_in,fan_out", [(512, 256), (30, 700)])
@pytest.mark.parametrize("gain", [1.0, 5 / 3])
def test_xavier_std_and_bound_match_sampled(fan_in, fan_out, gain):
    n = max(1, 300_000 // (fan_in * fan_out))
    normal = torch.stack([nn.init.xavier_normal_(torch.empty(fan_out, fan_in), gain=gain, generator=_gen(i))
                          for i in range(n)])
    assert normal.std().item() == pytest.approx(hi.xavier_std(fan_in, fan_out, gain), rel=0.01)
    uniform = torch.stack([nn.init.xavier_uniform_(torch.empty(fan_out, fan_in), gain=gain, generator=_gen(i))
                           for i in range(n)])
    bound = hi.xavier_bound(fan_in, fan_out, gain)
    assert uniform.abs().max().item() <= bound
    assert uniform.abs().max().item() > 0.999 * bound


def test_linear_default_init_is_not_he():
    torch.manual_seed(0)
    layer = nn.Linear(512, 256)
    assert layer.weight.abs().max().item() <= 1 / math.sqrt(512)
    assert layer.weight.abs().max().item() > 0.99 / math.sqrt(512)
    assert hi.kaiming_bound(512) / (1 / math.sqrt(512)) == pytest.approx(math.sqrt(6))


@pytest.mark.parametrize("func,args", [
    (hi.kaiming_std, ()), (hi.kaiming_bound, ()), (hi.xavier_std, (10,)), (hi.xavier_bound, (10,)),
])
@pytest.mark.parametrize("fan", [0, -3])
def test_formulas_reject_non_positive_fans(func, args, fan):
    with pytest.raises(ValueError, match="fan_in"):
        func(fan, *args)


@pytest.mark.parametrize("fan", [0, -1])
def test_xavier_rejects_non_positive_fan_out(fan):
    with pytest.raises(ValueError, match="fan_out"):
        hi.xavier_std(10, fan)
    with pytest.raises(ValueError, match="fan_out"):
        hi.xavier_bound(10, fan)


@pytest.mark.parametrize("fan", [2.5, 512.0, "512", None, True, torch.tensor(5)])
def test_formulas_reject_non_int_fans(fan):
    with pytest.raises(TypeError, match="fan_in must be an int"):
        hi.kaiming_std(fan)
    with pytest.raises(TypeError, match="fan_out must be an int"):
        hi.xavier_bound(10, fan)


def test_formulas_accept_numpy_ints():
    assert hi.kaiming_std(np.int64(512)) == pytest.approx(math.sqrt(2 / 512))


@pytest.mark.parametrize("gain", [0.0, -1.0, float("nan"), float("inf")])
def test_formulas_reject_bad_gain_values(gain):
    with pytest.raises(ValueError, match="gain"):
        hi.kaiming_std(10, gain=gain)
    with pytest.raises(ValueError, match="gain"):
        hi.xavier_std(10, 10, gain=gain)


@pytest.mark.parametrize("gain", ["relu", None, True])
def test_formulas_reject_bad_gain_types(gain):
    with pytest.raises(TypeError, match="gain"):
        hi.kaiming_bound(10, gain=gain)


# ----------------------------------------------------------------------------- uniform variance, ReLU moments
@pytest.mark.parametrize("low,high", [(0.0, 1.0), (-0.1, 0.1), (-2.0, 5.0)])
def test_uniform_variance_matches_sampled_and_closed_form(low, high):
    w = nn.init.uniform_(torch.empty(1_000_000), low, high, generator=_gen(3))
    assert w.var().item() == pytest.approx(hi.uniform_variance(low, high), rel=0.01)
    if low == -high:
        assert hi.uniform_variance(low, high) == pytest.approx(high**2 / 3, rel=1e-12)


def test_uniform_default_is_zero_one():
    w = nn.init.uniform_(torch.empty(100_000), generator=_gen(4))
    assert w.min().item() >= 0.0 and w.max().item() < 1.0 and w.mean().item() == pytest.approx(0.5, abs=0.01)


def test_kaiming_uniform_variance_is_two_over_fan_in():
    a = math.sqrt(6 / 512)
    assert hi.uniform_variance(-a, a) == pytest.approx(2 / 512, rel=1e-12)
    w = nn.init.kaiming_uniform_(torch.empty(2000, 512), nonlinearity="relu", generator=_gen(5))
    assert w.var().item() == pytest.approx(2 / 512, rel=0.01)


@pytest.mark.parametrize("low,high,exc", [(1.0, 1.0, ValueError), (2.0, 1.0, ValueError),
                                          ("0", 1.0, TypeError), (0.0, float("inf"), ValueError)])
def test_uniform_variance_rejects_bad_ranges(low, high, exc):
    with pytest.raises(exc):
        hi.uniform_variance(low, high)


@pytest.mark.parametrize("sigma", [1.0, 2.5])
def test_relu_moments_match_sampled(sigma):
    a = torch.relu(sigma * torch.randn(4_000_000, generator=_gen(6), dtype=torch.float64))
    assert (a**2).mean().item() == pytest.approx(hi.relu_second_moment(sigma), rel=0.005)
    assert a.var().item() == pytest.approx(hi.relu_variance(sigma), rel=0.005)


def test_relu_moments_checklist_numbers():
    assert hi.relu_second_moment() == 0.5
    assert hi.relu_variance() == pytest.approx(0.5 - 1 / (2 * math.pi), rel=1e-12)
    assert round(hi.relu_variance(), 4) == 0.3408


@pytest.mark.parametrize("sigma,exc", [(-1.0, ValueError), (float("nan"), ValueError), (float("inf"), ValueError),
                                       ("1", TypeError), (None, TypeError)])
def test_relu_moments_reject_bad_sigma(sigma, exc):
    with pytest.raises(exc, match="sigma"):
        hi.relu_variance(sigma)
    with pytest.raises(exc, match="sigma"):
        hi.relu_second_moment(sigma)


def test_linear_step_uses_the_second_moment_not_the_variance():
    # Var(z) = fan_in * Var(w) * E[x^2] for zero-mean weights independent of x (E17); ReLU inputs have E[x^2] != Var(x)
    g = _gen(11)
    x = torch.relu(torch.randn(2000, 256, generator=g))
    w = torch.randn(2048, 256, generator=g) * math.sqrt(2 / 256)
    z = x @ w.T
    second_moment_rule = 256 * w.var().item() * (x**2).mean().item()
    variance_rule = 256 * w.var().item() * x.var().item()
    assert z.var().item() == pytest.approx(second_moment_rule, rel=0.05)
    assert z.var().item() > 1.3 * variance_rule


def test_constant_init_keeps_hidden_units_identical_through_fit():
    from helpers.training import fit

    torch.manual_seed(0)
    x = torch.randn(32, 4)
    y = torch.tanh(2 * x[:, :1]) - torch.tanh(2 * x[:, 1:2])
    net = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 1))
    for p in net.parameters():
        nn.init.constant_(p, 0.5)
    fit(net, (x, y), nn.MSELoss(), torch.optim.SGD(net.parameters(), lr=0.3), epochs=20, progress=False)
    w = net[0].weight.detach()
    assert not torch.equal(w, torch.full_like(w, 0.5))  # it did train
    assert all(torch.equal(w[0], w[j]) for j in range(3))


# ----------------------------------------------------------------------------- init methods
TORCH_CALLS = {
    "kaiming_normal": lambda w, g: nn.init.kaiming_normal_(w, nonlinearity="relu", generator=g),
    "kaiming_uniform": lambda w, g: nn.init.kaiming_uniform_(w, nonlinearity="relu", generator=g),
    "xavier_normal": lambda w, g: nn.init.xavier_normal_(w, generator=g),
    "xavier_uniform": lambda w, g: nn.init.xavier_uniform_(w, generator=g),
    "linear_default": lambda w, g: nn.init.kaiming_uniform_(w, a=math.sqrt(5), generator=g),
    "normal_0.01": lambda w, g: nn.init.normal_(w, std=0.01, generator=g),
    "normal_1": lambda w, g: nn.init.normal_(w, generator=g),
    "uniform_default": lambda w, g: nn.init.uniform_(w, generator=g),
}


def test_every_method_is_listed():
    assert set(hi.INIT_METHODS.values()) == set(TORCH_CALLS)


@pytest.mark.parametrize("method", sorted(TORCH_CALLS))
def test_apply_init_is_the_torch_call(method):
    ours = hi.apply_init(torch.empty(64, 48), method, generator=_gen(7))
    theirs = TORCH_CALLS[method](torch.empty(64, 48), _gen(7))
    assert torch.equal(ours, theirs)


@pytest.mark.parametrize("method", sorted(TORCH_CALLS))
def test_init_distribution_matches_torch_samples(method):
    fan_in, fan_out = 96, 160
    w = torch.stack([TORCH_CALLS[method](torch.empty(fan_out, fan_in), _gen(i)) for i in range(20)])
    kind, a, b = hi.init_distribution(method, fan_in, fan_out)
    if kind == "normal":
        assert w.mean().item() == pytest.approx(a, abs=0.01 * b)
        assert w.std().item() == pytest.approx(b, rel=0.01)
    else:
        assert a <= w.min().item() < a + 0.001 * (b - a) and b - 0.001 * (b - a) < w.max().item() <= b
        assert w.var().item() == pytest.approx(hi.uniform_variance(a, b), rel=0.02)


def test_sample_init_gives_enough_whole_layers():
    w = hi.sample_init("xavier_uniform", 8, 8, n_min=1000)
    assert w.numel() == 16 * 64 and w.abs().max().item() <= hi.xavier_bound(8, 8)
    assert torch.equal(hi.sample_init("kaiming_normal", 20, 30), hi.sample_init("kaiming_normal", 20, 30))


def test_sample_init_bad_inputs():
    with pytest.raises(ValueError, match="fan_out"):
        hi.sample_init("xavier_normal", 8, 0)
    with pytest.raises(TypeError, match="fan_in"):
        hi.sample_init("xavier_normal", 8.0, 8)
    with pytest.raises(ValueError, match="method"):
        hi.sample_init("he", 8, 8)


@pytest.mark.parametrize("method", ["he", "kaiming", "", None])
def test_unknown_methods_raise(method):
    with pytest.raises(ValueError, match="method must be one of"):
        hi.init_distribution(method, 10, 10)
    with pytest.raises(ValueError, match="method must be one of"):
        hi.apply_init(torch.empty(3, 3), method)


def test_apply_init_rejects_1d():
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        hi.apply_init(torch.empty(5), "normal_1")


# ----------------------------------------------------------------------------- deep MLP vs autograd
def _autograd_stats(x, weights, activation, scale, upstream):
    f = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "linear": lambda z: z}[activation]
    net = nn.Sequential(*[nn.Linear(w.shape[1], w.shape[0], bias=False, dtype=w.dtype) for w in weights])
    with torch.no_grad():
        for layer, w in zip(net, weights):
            layer.weight.copy_(w * scale)
    h, zs, act = x, [], []
    for layer in net:
        z = layer(h)
        z.retain_grad()
        h = f(z)
        zs.append(z)
        act.append(h.std().item())
    (h * upstream).sum().backward()
    return np.array(act), np.array([z.grad.std().item() for z in zs])


@pytest.mark.parametrize("activation", hi.ACTIVATIONS)
def test_deep_signal_stats_matches_autograd(activation):
    g = _gen(8)
    widths = [24, 32, 32, 16, 20]
    x = torch.randn(40, widths[0], generator=g, dtype=torch.float64)
    weights = [torch.randn(o, i, generator=g, dtype=torch.float64) for i, o in zip(widths[:-1], widths[1:])]
    upstream = torch.randn(40, widths[-1], generator=g, dtype=torch.float64)
    act, grad = hi.deep_signal_stats(x, weights, activation, scale=0.3, upstream=upstream)
    act_ref, grad_ref = _autograd_stats(x, weights, activation, 0.3, upstream)
    assert np.allclose(act, act_ref, rtol=1e-10, atol=0) and np.allclose(grad, grad_ref, rtol=1e-10, atol=0)


def test_deep_signal_stats_kaiming_keeps_scale_and_matches_theory():
    g = _gen(9)
    width, depth = 512, 10
    x = torch.randn(256, width, generator=g)
    weights = [torch.randn(width, width, generator=g) for _ in range(depth)]
    std = math.sqrt(2 / width)
    act, grad = hi.deep_signal_stats(x, weights, "relu", scale=std, upstream=torch.randn(256, width, generator=g))
    theory_act, theory_grad = hi.predicted_signal_std(depth, width, std, "relu")
    assert np.allclose(act, theory_act, rtol=0.15) and np.allclose(grad, theory_grad, rtol=0.15)
    # closed form independent of the helper: Var(ReLU(z)) = (1/2 - 1/(2 pi)) Var(z)
    assert theory_act[0] == pytest.approx(math.sqrt(2 * (0.5 - 1 / (2 * math.pi))))  # Var(z_1) = n * 2/n * E[x^2] = 2
    assert np.allclose(theory_act, theory_act[0]) and np.allclose(theory_grad, math.sqrt(0.5))


def test_predicted_signal_std_linear_case():
    act, grad = hi.predicted_signal_std(5, 100, 0.2, "linear")  # n * var = 4 per layer
    assert np.allclose(act, [2.0, 4.0, 8.0, 16.0, 32.0]) and np.allclose(grad, [16.0, 8.0, 4.0, 2.0, 1.0])


def test_deep_signal_stats_xavier_relu_halves_each_layer():
    g = _gen(10)
    width = 512
    weights = [torch.randn(width, width, generator=g) for _ in range(6)]
    act, _ = hi.deep_signal_stats(torch.randn(256, width, generator=g), weights, "relu", scale=math.sqrt(1 / width))
    ratios = act[1:] / act[:-1]
    assert np.allclose(ratios, 1 / SQRT2, rtol=0.05)


@pytest.mark.parametrize("kwargs,match", [
    (dict(activation="gelu"), "activation must be one of"),
    (dict(x=torch.randn(8)), "x must be a 2-D tensor"),
    (dict(weights=[]), "at least one layer"),
    (dict(weights=[torch.randn(4, 5)]), r"weights\[0\] must have shape"),
    (dict(upstream=torch.randn(2, 2)), "upstream must have the output's shape"),
])
def test_deep_signal_stats_bad_inputs(kwargs, match):
    args = dict(x=torch.randn(8, 4), weights=[torch.randn(6, 4), torch.randn(3, 6)], activation="relu")
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        hi.deep_signal_stats(**args)


def test_predicted_signal_std_rejects_tanh():
    with pytest.raises(ValueError, match="closed form"):
        hi.predicted_signal_std(3, 10, 0.1, "tanh")


def test_one_thread_restores_threads():
    before = torch.get_num_threads()
    with hip.one_thread():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


# ----------------------------------------------------------------------------- panels
def test_panels_are_registered():
    assert PANELS["depth_panel"] is hip.depth_panel and PANELS["init_histogram_panel"] is hip.init_histogram_panel


@pytest.mark.parametrize("builder", [hip.depth_panel, hip.init_histogram_panel])
def test_panel_renders_every_sampled_combination(builder):
    panel = builder()
    for values in sample_values(panel, max_combos=24):
        png = panel.render(**values)
        assert panel.last_error is None, (values, panel.last_error)
        assert png.startswith(b"\x89PNG")


def _panel_texts(panel) -> str:
    from matplotlib.text import Text

    return " | ".join(t.get_text() for t in panel.fig.findobj(Text) if t.get_visible())


def test_depth_panel_reports_overflow_and_underflow():
    panel = hip.depth_panel()
    panel.render(depth=50, width=512, init="normal_1", activation="relu")
    assert panel.last_error is None and "inf/nan at layer" in _panel_texts(panel)
    assert "loss is nan, no usable gradient" in _panel_texts(panel)
    panel.render(depth=50, width=512, init="normal_0.01", activation="relu")
    assert "< 1e-12 at layer" in _panel_texts(panel)
    panel.render(depth=50, width=512, init="kaiming_normal", activation="relu")
    assert "at layer" not in _panel_texts(panel) and "layer 50: " in _panel_texts(panel)


def test_depth_panel_numbers_equal_deep_signal_stats():
    act, grad = hi.depth_stats(12, 64, "kaiming_uniform", "tanh")
    x, upstream, layers, std = hi.depth_inputs(64, "kaiming_uniform")
    ref_act, ref_grad = hi.deep_signal_stats(x, layers[:12], "tanh", scale=std, upstream=upstream)
    assert np.allclose(act, ref_act, rtol=1e-6) and np.allclose(grad, ref_grad, rtol=1e-6)
    # the layers really have the init's std: std * unit-variance base
    assert torch.cat([w.flatten() for w in layers[:12]]).std().item() * std == pytest.approx(
        hi.kaiming_std(64), rel=0.02)


def test_static_figures_build():
    from matplotlib.figure import Figure

    assert isinstance(hip.init_gallery_figure(64, 32), Figure)
    assert isinstance(hip.layer_std_figure({"a": [1.0, 0.5, float("nan")], "b": [1.0, 1.0, 1.0]}, "t"), Figure)


# ----------------------------------------------------------------------------- distance from the theory line
def test_worst_gap_is_one_on_the_theory_line_and_the_largest_factor_off_it():
    act, grad = hi.predicted_signal_std(30, 16, hi.init_std("kaiming_normal", 16, 16), "relu")
    assert hi.worst_gap(act, grad, 16, "kaiming_normal") == pytest.approx(1.0, abs=1e-12)
    act_off = act.copy()
    act_off[4] *= 3.0
    grad_off = grad.copy()
    grad_off[7] /= 5.0
    assert hi.worst_gap(act_off, grad_off, 16, "kaiming_normal") == pytest.approx(5.0)   # a factor below counts too
    assert hi.worst_gap(act_off, grad, 16, "kaiming_normal") == pytest.approx(3.0)


def test_random_net_gap_is_seeded_and_wide_nets_stay_near_the_line():
    assert hi.random_net_gap(16, 30, 3) == hi.random_net_gap(16, 30, 3) != hi.random_net_gap(16, 30, 4)
    assert hi.random_net_gap(256, 10, 0) < hi.random_net_gap(8, 10, 0)   # the mean field holds better when wide
    with pytest.raises(ValueError):
        hi.random_net_gap(16, 0, 0)
