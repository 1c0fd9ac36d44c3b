"""Chapter 1 (tensors): formulas against PyTorch, bad inputs, exercise checkers and panels."""
from __future__ import annotations

import itertools
import math
import random

import pytest
import torch

from helpers import tensors as T
from helpers.panels import tensors as TP
from helpers.panels.testing import sample_values

# ----------------------------------------------------------------------------- broadcasting


def _torch_broadcast(a, b):
    try:
        return tuple(torch.broadcast_shapes(a, b))
    except RuntimeError:
        return "error"


def _ours(a, b):
    try:
        return T.broadcast_shape(a, b)
    except ValueError:
        return "error"


@pytest.mark.parametrize("a, b", [
    ((3, 1), (4,)), ((2, 1, 3), (4, 1)), ((), (2, 3)), ((5,), ()), ((0,), (1,)), ((1,), (0,)),
    ((3, 2), (4,)), ((2, 3), (3, 2)), ((1, 1, 1), (7,)), ((4, 1, 5), (1, 6, 1)), ((0, 3), (2, 1, 3)),
])
def test_broadcast_shape_matches_torch(a, b):
    assert _ours(a, b) == _torch_broadcast(a, b)


def test_broadcast_shape_matches_torch_on_random_shapes():
    rng = random.Random(0)
    n_error = 0
    for _ in range(300):
        a = tuple(rng.choice([1, 1, 2, 3]) for _ in range(rng.randint(0, 4)))
        b = tuple(rng.choice([1, 1, 2, 3]) for _ in range(rng.randint(0, 4)))
        assert _ours(a, b) == _torch_broadcast(a, b), (a, b)
        n_error += _ours(a, b) == "error"
    assert 0 < n_error < 300  # both outcomes were exercised


def test_broadcast_shape_agrees_with_real_addition():
    for a, b in [((3, 1), (4,)), ((2, 1, 3), (4, 1)), ((1, 4), (3, 1))]:
        assert T.broadcast_shape(a, b) == tuple((torch.ones(a) + torch.ones(b)).shape)


def test_broadcast_shape_accepts_torch_size_and_lists():
    assert T.broadcast_shape(torch.Size([3, 1]), [4]) == (3, 4)


def test_broadcast_shape_error_names_the_dim():
    with pytest.raises(ValueError, match=r"shapes \(3, 2\) and \(4,\) cannot broadcast: at dim -1 the sizes are 2 and 4"):
        T.broadcast_shape((3, 2), (4,))
    with pytest.raises(ValueError, match="at dim -2"):
        T.broadcast_shape((2, 3), (4, 3))


@pytest.mark.parametrize("bad, exc, match", [
    ((2.0, 3), TypeError, "a must hold ints"),
    ((True, 3), TypeError, "a must hold ints"),
    ("23", TypeError, "a must be a tuple"),
    ((-1, 3), ValueError, "a must hold sizes >= 0"),
])
def test_broadcast_shape_bad_input(bad, exc, match):
    with pytest.raises(exc, match=match):
        T.broadcast_shape(bad, (3,))


# ----------------------------------------------------------------------------- strides, slicing, numel


@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 4), (5,), (1, 1, 6), (2, 0, 3), ()])
def test_contiguous_strides_match_torch(shape):
    assert T.contiguous_strides(shape) == torch.empty(shape).stride()


def test_offset_formula_and_numel():
    x = torch.arange(60).reshape(3, 4, 5)
    for idx in itertools.product(range(3), range(4), range(5)):
        offset = sum(i * s for i, s in zip(idx, T.contiguous_strides(x.shape)))
        assert x[idx] == x.flatten()[offset]
    assert x.numel() == math.prod(x.shape) == 60


def test_slice_length_formula():
    z = torch.arange(30)
    for start, stop, step in itertools.product(range(0, 10, 3), range(11, 30, 6), range(1, 6)):
        assert len(z[start:stop:step]) == math.ceil((stop - start) / step)


def test_view_shares_memory_and_transpose_is_not_contiguous():
    m = torch.arange(12).view(3, 4)
    assert m.view(4, 3).data_ptr() == m.data_ptr()
    assert not m.t().is_contiguous()
    with pytest.raises(RuntimeError):
        m.t().view(12)
    assert torch.equal(m.t().reshape(12), torch.tensor([0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]))


# ----------------------------------------------------------------------------- element-wise, matmul, reductions


def test_elementwise_product_is_hadamard():
    a, b = torch.randn(3, 4), torch.randn(3, 4)
    loop = torch.tensor([[a[i, j] * b[i, j] for j in range(4)] for i in range(3)])
    assert torch.allclose(a * b, loop, atol=1e-6)


@pytest.mark.parametrize("n, k, m", [(2, 2, 2), (5, 3, 4), (1, 7, 1), (4, 1, 6)])
def test_matmul_matches_torch(n, k, m):
    g = torch.Generator().manual_seed(n * 100 + k * 10 + m)
    a = torch.randn(n, k, generator=g, dtype=torch.float64)
    b = torch.randn(k, m, generator=g, dtype=torch.float64)
    assert torch.allclose(T.matmul(a, b), a @ b, atol=1e-6)


def test_matmul_by_hand():
    a = torch.tensor([[1., 2.], [3., 4.]])
    b = torch.tensor([[5., 6.], [7., 8.]])
    assert torch.equal(T.matmul(a, b), torch.tensor([[19., 22.], [43., 50.]]))


def test_matmul_bad_input():
    with pytest.raises(ValueError, match="a has 3 columns but b has 2 rows"):
        T.matmul(torch.ones(2, 3), torch.ones(2, 3))
    with pytest.raises(ValueError, match="a must be 2-D"):
        T.matmul(torch.ones(3), torch.ones(3, 2))
    with pytest.raises(TypeError, match="b must be a torch.Tensor"):
        T.matmul(torch.ones(2, 2), [[1, 2], [3, 4]])


def test_reductions_match_loops():
    x = torch.arange(1., 13.).reshape(3, 4)
    assert torch.allclose(x.sum(dim=0), torch.tensor([sum(x[i, j].item() for i in range(3)) for j in range(4)]))
    assert torch.allclose(x.mean(dim=1), torch.tensor([sum(x[i, j].item() for j in range(4)) / 4 for i in range(3)]))
    assert x.mean(dim=1, keepdim=True).shape == (3, 1)
    assert torch.equal(x.max(dim=1).indices, torch.tensor([3, 3, 3]))


# ----------------------------------------------------------------------------- sqrt / exp / log


def test_log_base_matches_torch():
    x = torch.linspace(0.01, 100, 1000, dtype=torch.float64)
    assert torch.allclose(T.log_base(x, 2), torch.log2(x), atol=1e-6)
    assert torch.allclose(T.log_base(x, 10), torch.log10(x), atol=1e-6)
    assert torch.allclose(T.log_base(x, math.e), torch.log(x), atol=1e-6)


@pytest.mark.parametrize("base", [1, 0, -2, 1.0, "2", True])
def test_log_base_bad_base(base):
    with pytest.raises(ValueError, match="base must be a number > 0 and != 1"):
        T.log_base(torch.ones(2), base)


def test_log_base_bad_x():
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        T.log_base([1.0, 2.0], 2)


def test_inverse_identities():
    x = torch.linspace(0.1, 10, 100, dtype=torch.float64)
    assert torch.allclose(torch.exp(torch.log(x)), x, atol=1e-6)
    assert torch.allclose(torch.sqrt(x) ** 2, x, atol=1e-6)
    assert torch.allclose(torch.sqrt(x), x ** 0.5, atol=1e-6)


def test_notes_erratum_e3_facts():
    data = torch.IntTensor([4, 9, 2])
    assert data.sqrt().dtype == torch.float32
    assert torch.allclose(data.sqrt(), torch.tensor([2.0, 3.0, math.sqrt(2)]), atol=1e-6)
    with pytest.raises(RuntimeError, match="can't be cast"):
        data.sqrt_()
    edge = torch.tensor([-1.0, 0.0])
    assert torch.isnan(edge.sqrt()[0]) and edge.sqrt()[1] == 0
    assert torch.isnan(edge.log()[0]) and torch.isneginf(edge.log()[1])


def test_exp_float32_overflow_threshold():
    limit = math.log(torch.finfo(torch.float32).max)
    assert 88.72 < limit < 88.73
    assert torch.isfinite(torch.exp(torch.tensor(88.7))) and torch.isinf(torch.exp(torch.tensor(88.8)))


def test_domain_grid_hits_zero_exactly():
    x = T.domain_grid(-2.0, 4.0)
    assert x.dtype == torch.float32 and len(x) == 121
    assert int((x == 0).sum()) == 1
    assert math.isclose(x[0].item(), -2.0, abs_tol=1e-6) and math.isclose(x[-1].item(), 4.0, abs_tol=1e-6)
    assert len(T.domain_grid(0.01, 0.04)) == 0  # no multiple of 0.05 in between


@pytest.mark.parametrize("low, high, step", [(1.0, 1.0, 0.05), (2.0, 1.0, 0.05), (0.0, 1.0, 0.0)])
def test_domain_grid_bad_input(low, high, step):
    with pytest.raises(ValueError):
        T.domain_grid(low, high, step)


def test_count_special():
    y = torch.log(torch.tensor([-2.0, -1.0, 0.0, 1.0, 2.0]))
    assert T.count_special(y) == {"nan": 2, "-inf": 1, "inf": 0, "finite": 2}
    assert T.count_special(torch.exp(torch.tensor([100.0, 0.0]))) == {"nan": 0, "-inf": 0, "inf": 1, "finite": 1}
    with pytest.raises(TypeError, match="y must be a torch.Tensor"):
        T.count_special([1.0])


# ----------------------------------------------------------------------------- creation


def test_make_tensor_matches_notes_errata():
    t, uninit = T.make_tensor("torch.Tensor", "2, 3")
    assert t.shape == (2, 3) and t.dtype == torch.float32 and uninit
    t, uninit = T.make_tensor("torch.Tensor", "[3]")
    assert torch.equal(t, torch.tensor([3.0])) and not uninit
    t, uninit = T.make_tensor("torch.tensor", "3")
    assert t.shape == () and t.dtype == torch.int64 and not uninit
    t, _ = T.make_tensor("torch.IntTensor", "[2.7, -2.7]")
    assert torch.equal(t, torch.tensor([2, -2], dtype=torch.int32))
    assert T.make_tensor("torch.empty", "[2, 3]")[1] and not T.make_tensor("torch.zeros", "2, 3")[1]
    with pytest.raises(TypeError, match="takes 1 positional argument"):
        T.make_tensor("torch.tensor", "2, 3")


def test_make_tensor_bad_names():
    with pytest.raises(ValueError, match="maker must be one of"):
        T.make_tensor("torch.ones", "3")
    with pytest.raises(ValueError, match="args must be one of"):
        T.make_tensor("torch.tensor", "(3)")


# ----------------------------------------------------------------------------- autograd and parameters


@pytest.mark.parametrize("x0", [-1.5, 0.0, 1.0, 2.0, 3.0])
def test_autograd_slope_matches_analytic_derivative(x0):
    assert math.isclose(T.autograd_slope(lambda t: t ** 3 + 2 * t, x0), 3 * x0 ** 2 + 2, abs_tol=1e-9)
    assert math.isclose(T.autograd_slope(torch.sin, x0), math.cos(x0), abs_tol=1e-9)
    assert math.isclose(T.autograd_slope(lambda t: t ** 2 * torch.exp(t), x0), (2 * x0 + x0 ** 2) * math.exp(x0),
                        rel_tol=1e-9)


def test_autograd_slope_needs_scalar_output():
    with pytest.raises(ValueError, match="f must return a scalar"):
        T.autograd_slope(lambda t: torch.stack([t, t]), 1.0)


def test_gradient_accumulates():
    x = torch.tensor(2.0, requires_grad=True)
    for _ in range(2):
        (x ** 3 + 2 * x).backward()
    assert x.grad.item() == 28.0


def test_parameter_counts():
    assert sum(p.numel() for p in torch.nn.Linear(3, 2).parameters()) == 3 * 2 + 2 == 8
    assert sum(p.numel() for p in torch.nn.Conv2d(3, 8, 3).parameters()) == 8 * 3 * 3 * 3 + 8 == 224
    assert sum(p.numel() for p in torch.nn.RNN(3, 5).parameters()) == 5 * 3 + 5 * 5 + 5 + 5 == 50


# ----------------------------------------------------------------------------- figures


@pytest.mark.parametrize("make", [
    lambda: TP.domain_figure(), lambda: TP.broadcast_figure(), lambda: TP.broadcast_figure((2, 3), (1, 3)),
    lambda: TP.reduction_figure(), lambda: TP.tangent_figure(torch.sin, 0.5),
])
def test_static_figures_render(make):
    from helpers.plotting import figure_to_png

    assert figure_to_png(make()).startswith(b"\x89PNG")


def test_broadcast_figure_bad_shapes():
    with pytest.raises(ValueError, match="at most 2 dims of size <= 4"):
        TP.broadcast_figure((5, 1), (4,))
    with pytest.raises(ValueError, match="cannot broadcast"):
        TP.broadcast_figure((3, 2), (4,))


# ----------------------------------------------------------------------------- panels

PANELS = [TP.domain_panel, TP.broadcast_panel, TP.creation_panel]
EXPECTED_MESSAGES = ("empty range", "cannot broadcast", "raises TypeError")


@pytest.fixture(scope="module", params=PANELS, ids=lambda b: b.__name__)
def panel(request):
    return request.param()


def test_panel_renders_every_sampled_combo(panel):
    for values in sample_values(panel):
        png = panel.render(**values)
        assert png.startswith(b"\x89PNG")
        if panel.last_error is not None:
            assert any(m in panel.last_error for m in EXPECTED_MESSAGES), (values, panel.last_error)


def test_domain_panel_counts_nan_and_neg_inf():
    p = TP.domain_panel()
    p.render(x_min=-2.0, x_max=4.0, func="log")
    assert p.last_error is None
    readout = [t for t in p.fig.findobj(lambda a: hasattr(a, "get_text") and a.get_animated())
               if "%" in t.get_text()][0].get_text()
    x = torch.arange(-40, 81) * 0.05  # the same 121 points, made independently
    assert int((x < 0).sum()) == 40 and int((x == 0).sum()) == 1
    assert readout.split() == [f"{100 * 40 / 121:.0f}%", "1", f"{100 * 80 / 121:.0f}%"]
    p.render(x_min=0.5, x_max=4.0, func="sqrt")
    assert p.last_error is None
    p.render(x_min=3.0, x_max=1.0)
    assert p.last_error.startswith("empty range")
    p.render(x_min=0.01, x_max=0.04)
    assert p.last_error.startswith("no grid point")


def test_broadcast_panel_messages():
    p = TP.broadcast_panel()
    p.render(a_rows=3, a_cols=2, b_rows=0, b_cols=4)
    assert "shapes (3, 2) and (4,) cannot broadcast" in p.last_error
    p.render(a_rows=3, a_cols=1, b_rows=0, b_cols=4)
    assert p.last_error is None
    combos = list(itertools.product(range(1, 5), range(1, 5), range(0, 5), range(1, 5)))
    for a_rows, a_cols, b_rows, b_cols in random.Random(0).sample(combos, 40):
        p.render(a_rows=a_rows, a_cols=a_cols, b_rows=b_rows, b_cols=b_cols)
        b_shape = (b_cols,) if b_rows == 0 else (b_rows, b_cols)
        ok = _torch_broadcast((a_rows, a_cols), b_shape) != "error"
        assert (p.last_error is None) == ok, (a_rows, a_cols, b_shape, p.last_error)


def test_creation_panel_every_combo():
    p = TP.creation_panel()
    for maker, args in itertools.product(T.MAKERS, T.MAKER_ARGS):
        p.render(maker=maker, args=args)
        try:
            T.MAKERS[maker](*T.MAKER_ARGS[args])
            raised = False
        except TypeError:
            raised = True
        assert (p.last_error is not None) == raised, (maker, args, p.last_error)
