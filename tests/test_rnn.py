"""helpers.rnn: the recurrent layer against nn.RNN, BPTT Jacobians against autograd, embeddings against nn.Embedding."""
from __future__ import annotations

import functools
import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from helpers import rnn
from support import close as _close

DT = torch.float64


def _layer_weights(layer: nn.RNN) -> tuple[torch.Tensor, ...]:
    """(W_ih, W_hh, b_ih, b_hh) of a one-layer nn.RNN (biases None when bias=False)."""
    return (layer.weight_ih_l0, layer.weight_hh_l0,
            getattr(layer, "bias_ih_l0", None), getattr(layer, "bias_hh_l0", None))


# ----------------------------------------------------------------------------- forward pass
@pytest.mark.parametrize("nonlinearity, batch_first, bias, with_h0",
                         list(itertools.product(["tanh", "relu"], [False, True], [True, False], [True, False])))
def test_rnn_forward_matches_nn_rnn(nonlinearity, batch_first, bias, with_h0):
    torch.manual_seed(0)
    for input_size, hidden, batch, length in [(3, 5, 2, 4), (1, 7, 3, 9), (6, 2, 1, 1)]:
        layer = nn.RNN(input_size, hidden, nonlinearity=nonlinearity, bias=bias, batch_first=batch_first).double()
        shape = (batch, length, input_size) if batch_first else (length, batch, input_size)
        x = torch.randn(*shape, dtype=DT)
        h0 = torch.randn(1, batch, hidden, dtype=DT) if with_h0 else None
        out_ref, h_ref = layer(x, h0)
        out, h_n = rnn.rnn_forward(x, h0, *_layer_weights(layer), nonlinearity=nonlinearity, batch_first=batch_first)
        assert _close(out, out_ref) and _close(h_n, h_ref)


def test_rnn_forward_unbatched_matches_nn_rnn():
    torch.manual_seed(1)
    layer = nn.RNN(3, 5).double()
    x, h0 = torch.randn(6, 3, dtype=DT), torch.randn(1, 5, dtype=DT)
    out_ref, h_ref = layer(x, h0)
    out, h_n = rnn.rnn_forward(x, h0, *_layer_weights(layer))
    assert _close(out, out_ref) and _close(h_n, h_ref)
    assert _close(out[-1], h_n[0])                                     # h_n is the last output


def test_rnn_forward_gradients_match_nn_rnn():
    torch.manual_seed(2)
    layer = nn.RNN(4, 6).double()
    x = torch.randn(7, 3, 4, dtype=DT)
    weights = [w.detach().clone().requires_grad_() for w in _layer_weights(layer)]
    out, h_n = rnn.rnn_forward(x, None, *weights)
    (out.sum() + h_n.pow(2).sum()).backward()
    out_ref, h_ref = layer(x)
    (out_ref.sum() + h_ref.pow(2).sum()).backward()
    for ours, ref in zip(weights, _layer_weights(layer)):
        assert _close(ours.grad, ref.grad)


def test_rnn_checklist_facts():
    """C46 / C47: two biases, batch_first shapes, shared weights, order matters."""
    torch.manual_seed(3)
    layer = nn.RNN(3, 5, batch_first=True)
    assert [tuple(p.shape) for p in layer.parameters()] == [(5, 3), (5, 5), (5,), (5,)]
    x = torch.randn(2, 4, 3)
    out, h_n = rnn.rnn_forward(x, None, *_layer_weights(layer), batch_first=True)
    assert out.shape == (2, 4, 5) and h_n.shape == (1, 2, 5)
    reversed_h = rnn.rnn_forward(x.flip(1), None, *_layer_weights(layer), batch_first=True)[1]
    assert not torch.allclose(reversed_h, h_n, atol=1e-4)
    assert rnn.rnn_params(3, 5) == sum(p.numel() for p in layer.parameters()) == 50


def test_rnn_forward_errors():
    W_ih, W_hh, b = torch.randn(5, 3), torch.randn(5, 5), torch.randn(5)
    x = torch.randn(4, 2, 3)
    with pytest.raises(ValueError, match="nonlinearity must be one of"):
        rnn.rnn_forward(x, None, W_ih, W_hh, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match=r"x must have shape \(L, B, 3\)"):
        rnn.rnn_forward(torch.randn(4, 2, 4), None, W_ih, W_hh)
    with pytest.raises(ValueError, match=r"W_hh must have shape \(hidden_size, hidden_size\) = \(5, 5\)"):
        rnn.rnn_forward(x, None, W_ih, torch.randn(5, 4))
    with pytest.raises(ValueError, match=r"b_hh must have shape \(hidden_size,\) = \(5,\)"):
        rnn.rnn_forward(x, None, W_ih, W_hh, b, torch.randn(4))
    with pytest.raises(ValueError, match=r"h0 must have shape .* = \(1, 2, 5\), got \(2, 5\)"):
        rnn.rnn_forward(x, torch.randn(2, 5), W_ih, W_hh)
    with pytest.raises(ValueError, match="W_ih must have shape"):
        rnn.rnn_forward(x, None, torch.randn(5), W_hh)
    with pytest.raises(ValueError, match="at least one time step"):
        rnn.rnn_forward(torch.randn(0, 2, 3), None, W_ih, W_hh)
    with pytest.raises(TypeError, match="W_hh dtype"):
        rnn.rnn_forward(x, None, W_ih, W_hh.double())
    with pytest.raises(TypeError, match="floating-point"):
        rnn.rnn_forward(torch.ones(4, 2, 3, dtype=torch.long), None, W_ih, W_hh)


@pytest.mark.parametrize("input_size, hidden, bias, num_layers, bidirectional", [
    (3, 5, True, 1, False), (3, 5, False, 1, False), (10, 20, True, 2, False), (4, 6, True, 3, True),
    (1, 1, False, 2, True), (7, 3, True, 1, True),
])
def test_rnn_params_matches_nn_rnn(input_size, hidden, bias, num_layers, bidirectional):
    layer = nn.RNN(input_size, hidden, num_layers=num_layers, bias=bias, bidirectional=bidirectional)
    assert rnn.rnn_params(input_size, hidden, bias, num_layers=num_layers, bidirectional=bidirectional) == \
        sum(p.numel() for p in layer.parameters())


def test_rnn_params_errors():
    with pytest.raises(ValueError, match="hidden_size"):
        rnn.rnn_params(3, 0)
    with pytest.raises(TypeError, match="input_size"):
        rnn.rnn_params(3.0, 5)


# ----------------------------------------------------------------------------- gradients through time
def _autograd_norms(x, h0, W_ih, W_hh, b, nonlinearity, norm):
    """||dh_T/dh_t|| for t = 0..T from autograd: the Jacobian of 'run steps t+1..T starting from h_t'."""
    out, _ = rnn.rnn_forward(x, h0, W_ih, W_hh, b, nonlinearity=nonlinearity)
    states = torch.cat([h0, out])                                      # h_0 ... h_T
    steps = x.shape[0]
    norms = []
    for t in range(steps + 1):
        def tail(h, t=t):
            if t == steps:
                return h
            return rnn.rnn_forward(x[t:], h.unsqueeze(0), W_ih, W_hh, b, nonlinearity=nonlinearity)[1][0]
        jac = torch.autograd.functional.jacobian(tail, states[t])
        norms.append(torch.linalg.matrix_norm(jac, ord="fro" if norm == "fro" else 2))
    return out, torch.stack(norms)


@pytest.mark.parametrize("nonlinearity, norm", list(itertools.product(["tanh", "relu"], ["fro", "spectral"])))
def test_hidden_jacobian_norms_match_autograd(nonlinearity, norm):
    gen = torch.Generator().manual_seed(4)
    hidden, steps = 6, 12
    W_ih = torch.randn(hidden, 3, generator=gen, dtype=DT)
    W_hh = rnn.scaled_recurrent_matrix(hidden, 1.2, seed=4, dtype=DT)
    b = 0.5 * torch.randn(hidden, generator=gen, dtype=DT)
    x = torch.randn(steps, 3, generator=gen, dtype=DT)
    h0 = torch.randn(1, hidden, generator=gen, dtype=DT)
    out, expected = _autograd_norms(x, h0, W_ih, W_hh, b, nonlinearity, norm)
    ours = rnn.hidden_jacobian_norms(W_hh, out, nonlinearity=nonlinearity, norm=norm)
    assert ours.shape == (steps + 1,)
    assert torch.allclose(ours, expected, rtol=1e-9, atol=1e-12)


def test_linear_jacobian_is_a_power_of_w_hh():
    """The notes' picture: without tanh', dh_T/dh_t = W_hh^(T-t); for s * orthogonal its norm is s^(T-t) sqrt(H)."""
    hidden, steps, s = 8, 20, 1.1
    W_hh = rnn.scaled_recurrent_matrix(hidden, s, seed=5, kind="orthogonal", dtype=DT)
    states = torch.randn(steps, hidden, dtype=DT)                    # ignored when phi is linear
    norms = rnn.hidden_jacobian_norms(W_hh, states, nonlinearity="linear")
    for t in (0, 7, steps):
        assert math.isclose(norms[t].item(), torch.linalg.matrix_power(W_hh, steps - t).norm().item(), rel_tol=1e-9)
        assert math.isclose(norms[t].item(), s ** (steps - t) * math.sqrt(hidden), rel_tol=1e-9)
    spectral = rnn.hidden_jacobian_norms(W_hh, states, nonlinearity="linear", norm="spectral")
    assert math.isclose(spectral[-1].item(), 1.0) and math.isclose(spectral[0].item(), s**steps, rel_tol=1e-9)


def test_tanh_shrinks_the_gradient_compared_with_the_linear_product():
    """E57: with ||W_hh|| = 1 the linear product keeps its norm, tanh' <= 1 makes it vanish."""
    hidden, steps = 16, 50
    W_hh = rnn.scaled_recurrent_matrix(hidden, 1.0, seed=6, kind="orthogonal", dtype=DT)
    x = torch.randn(steps, hidden, generator=torch.Generator().manual_seed(6), dtype=DT)
    out, _ = rnn.rnn_forward(x, None, torch.eye(hidden, dtype=DT), W_hh)
    tanh_norm = rnn.hidden_jacobian_norms(W_hh, out)[0].item()
    linear_norm = rnn.hidden_jacobian_norms(W_hh, out, nonlinearity="linear")[0].item()
    assert math.isclose(linear_norm, math.sqrt(hidden), rel_tol=1e-9)
    assert tanh_norm < 1e-3 * linear_norm


def test_hidden_jacobian_norms_errors():
    W = torch.randn(4, 4)
    with pytest.raises(ValueError, match="W_hh must be square"):
        rnn.hidden_jacobian_norms(torch.randn(4, 3), torch.randn(5, 4))
    with pytest.raises(ValueError, match=r"hidden_states must have shape \(T, 4\)"):
        rnn.hidden_jacobian_norms(W, torch.randn(5, 2, 4))
    with pytest.raises(ValueError, match="hidden_states"):
        rnn.hidden_jacobian_norms(W, torch.randn(0, 4))
    with pytest.raises(ValueError, match="nonlinearity"):
        rnn.hidden_jacobian_norms(W, torch.randn(5, 4), nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="norm must be"):
        rnn.hidden_jacobian_norms(W, torch.randn(5, 4), norm="nuc")


@pytest.mark.parametrize("kind", ["gaussian", "orthogonal"])
@pytest.mark.parametrize("radius", [0.5, 1.0, 1.7])
def test_scaled_recurrent_matrix_has_the_requested_radius(kind, radius):
    W = rnn.scaled_recurrent_matrix(12, radius, seed=3, kind=kind, dtype=DT)
    assert W.shape == (12, 12) and W.dtype == DT
    assert math.isclose(torch.linalg.eigvals(W).abs().max().item(), radius, rel_tol=1e-9)
    if kind == "orthogonal":
        assert torch.allclose(torch.linalg.svdvals(W), torch.full((12,), radius, dtype=DT), atol=1e-12)
    assert torch.equal(W, rnn.scaled_recurrent_matrix(12, radius, seed=3, kind=kind, dtype=DT))
    assert not torch.equal(W, rnn.scaled_recurrent_matrix(12, radius, seed=4, kind=kind, dtype=DT))
    assert rnn.scaled_recurrent_matrix(4, radius).dtype == torch.float32


def test_scaled_recurrent_matrix_errors():
    with pytest.raises(ValueError, match="spectral_radius"):
        rnn.scaled_recurrent_matrix(4, -1.0)
    with pytest.raises(ValueError, match="spectral_radius"):
        rnn.scaled_recurrent_matrix(4, float("inf"))
    with pytest.raises(ValueError, match="kind"):
        rnn.scaled_recurrent_matrix(4, 1.0, kind="uniform")
    with pytest.raises(ValueError, match="hidden"):
        rnn.scaled_recurrent_matrix(0, 1.0)


# ----------------------------------------------------------------------------- embeddings
def test_embedding_lookup_and_one_hot_match_f_embedding():
    """C44: (batch, seq_len) ids -> (batch, seq_len, d), and the lookup equals one_hot(ids) @ W."""
    gen = torch.Generator().manual_seed(7)
    weight = torch.randn(10, 4, generator=gen, dtype=DT)
    for shape in [(2, 4), (7,), (3, 2, 5), ()]:
        ids = torch.randint(0, 10, shape, generator=gen)
        ref = F.embedding(ids, weight)
        assert torch.equal(rnn.embedding_lookup(ids, weight), ref)
        assert _close(rnn.one_hot_matmul(ids, weight), ref)
        assert _close(rnn.one_hot_matmul(ids, weight), F.one_hot(ids, 10).to(DT) @ weight)
    assert rnn.embedding_lookup(torch.randint(0, 10, (2, 4)), weight).shape == (2, 4, 4)
    assert torch.equal(rnn.embedding_lookup(torch.tensor([1, 2], dtype=torch.int32), weight), weight[1:3])


def _grads(ids, weight, g_out, **kwargs):
    """Gradient of sum(out * g_out) w.r.t. the weight: ours vs nn.Embedding with the same weight."""
    layer = nn.Embedding(*weight.shape, **kwargs).double()
    with torch.no_grad():
        layer.weight.copy_(weight)
    (layer(ids) * g_out).sum().backward()
    w = weight.clone().requires_grad_()
    (rnn.embedding_lookup(ids, w, kwargs.get("padding_idx"), scale_grad_by_freq=kwargs.get("scale_grad_by_freq", False))
     * g_out).sum().backward()
    return w.grad, layer.weight.grad


@pytest.mark.parametrize("kwargs", [{}, {"padding_idx": 0}, {"padding_idx": -1}, {"scale_grad_by_freq": True},
                                    {"padding_idx": 2, "scale_grad_by_freq": True}])
def test_embedding_gradients_match_nn_embedding(kwargs):
    """E62 / E63 / C45: padding row gets zero gradient, repeats add up, scale_grad_by_freq divides by the count."""
    gen = torch.Generator().manual_seed(8)
    weight = torch.randn(6, 3, generator=gen, dtype=DT)
    ids = torch.tensor([[0, 2, 2, 5], [1, 0, 2, 5]])
    g_out = torch.randn(2, 4, 3, generator=gen, dtype=DT)
    ours, ref = _grads(ids, weight, g_out, **kwargs)
    assert _close(ours, ref)
    if "padding_idx" in kwargs:
        assert torch.equal(ours[kwargs["padding_idx"]], torch.zeros(3, dtype=DT))


def test_embedding_repeated_id_gradient_counts():
    """E62 evidence: an id seen twice gets gradient 2 (summed); with scale_grad_by_freq it gets 1."""
    ids = torch.tensor([2, 2, 3])
    ones = torch.ones(3, 4, dtype=DT)
    for scale, expected in [(False, 2.0), (True, 1.0)]:
        ours, ref = _grads(ids, torch.randn(5, 4, dtype=DT), ones, scale_grad_by_freq=scale)
        assert torch.equal(ours[2], ref[2]) and torch.equal(ours[2], torch.full((4,), expected, dtype=DT))


def test_padding_idx_does_not_change_the_forward_values():
    weight = torch.randn(5, 3, dtype=DT, requires_grad=True)
    ids = torch.tensor([0, 1, 0, 4])
    assert torch.equal(rnn.embedding_lookup(ids, weight, padding_idx=0), F.embedding(ids, weight, padding_idx=0))


def test_embedding_errors():
    weight = torch.randn(10, 4)
    with pytest.raises(ValueError, match=r"ids contains 12 at position \(1,\), but weight has 10 rows: valid ids are 0 \.\.\. 9"):
        rnn.embedding_lookup(torch.tensor([3, 12, 1]), weight)
    with pytest.raises(ValueError, match=r"ids contains -1 at position \(0, 2\)"):
        rnn.one_hot_matmul(torch.tensor([[3, 4, -1]]), weight)
    with pytest.raises(TypeError, match="integer ids"):
        rnn.embedding_lookup(torch.tensor([1.0, 2.0]), weight)
    with pytest.raises(TypeError, match="ids must be a torch.Tensor"):
        rnn.embedding_lookup([1, 2], weight)
    with pytest.raises(ValueError, match="weight must have shape"):
        rnn.embedding_lookup(torch.tensor([1]), torch.randn(10))
    with pytest.raises(ValueError, match=r"padding_idx must be in \[-10, 9\], got 10"):
        rnn.embedding_lookup(torch.tensor([1]), weight, padding_idx=10)
    with pytest.raises(ValueError, match="padding_idx"):
        rnn.embedding_lookup(torch.tensor([1]), weight, padding_idx=-11)


FROM_SCRATCH = (rnn.rnn_forward, rnn.rnn_params, rnn.hidden_jacobian_norms, rnn.scaled_recurrent_matrix,
                rnn.embedding_lookup, rnn.one_hot_matmul, rnn.embedding_renorm, rnn.clip_grad_norm,
                rnn.cosine_neighbours, rnn.pca_2d)


def test_rnn_formulas_are_written_without_nn_layers(reached_source):
    """The from-scratch functions and everything they call use no torch.nn (the chapter's models below them may)."""
    source, names = reached_source(FROM_SCRATCH)
    assert "_rnn_inputs" in source and "_ids" in source                 # the walk follows private helpers
    for forbidden in ("torch.nn", "nn.RNN(", "RNNCell(", "F.embedding(", "F.one_hot(", "nn.Embedding("):
        assert forbidden not in source, forbidden
    assert not {"nn", "F", "functional"} & names, names & {"nn", "F", "functional"}


# ----------------------------------------------------------------------------- max_norm, clipping, reading an embedding
@pytest.mark.parametrize("max_norm, norm_type", [(1.0, 2.0), (0.5, 1.0), (2.0, 3.0)])
def test_embedding_renorm_matches_nn_embedding_max_norm(max_norm, norm_type):
    torch.manual_seed(0)
    layer = nn.Embedding(10, 4, max_norm=max_norm, norm_type=norm_type)
    weight = layer.weight.detach().clone()
    ids = torch.tensor([[5, 2, 5], [9, 0, 2]])
    before = layer.weight.detach().clone()
    out = layer(ids)
    assert rnn.embedding_renorm(weight, ids, max_norm, norm_type) is weight
    assert _close(weight, layer.weight.detach(), atol=1e-6)
    assert _close(out, weight[ids], atol=1e-6)
    untouched = torch.tensor([i not in (0, 2, 5, 9) for i in range(10)])
    assert torch.equal(layer.weight.detach()[untouched], before[untouched])   # only looked-up rows change
    norms = torch.linalg.vector_norm(weight[ids.unique()], ord=norm_type, dim=1)
    assert bool((norms <= max_norm + 1e-5).all())


def test_clip_grad_norm_matches_torch_utils():
    torch.manual_seed(0)
    for scale, max_norm in [(10.0, 1.0), (0.01, 1.0), (3.0, 0.5)]:
        model = nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 2)).double()
        (scale * model(torch.randn(8, 5, dtype=DT)).sum()).backward()
        grads = [p.grad.clone() for p in model.parameters()]
        clipped, total = rnn.clip_grad_norm(grads, max_norm)
        torch_total = nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        assert abs(total - float(torch_total)) < 1e-9
        for mine, p in zip(clipped, model.parameters()):
            assert _close(mine, p.grad)
        new_total = math.sqrt(sum(float((g ** 2).sum()) for g in clipped))
        assert new_total <= max_norm + 1e-6 and (total > max_norm or abs(new_total - total) < 1e-9)


def test_clip_grad_norm_errors():
    with pytest.raises(ValueError, match="non-empty list"):
        rnn.clip_grad_norm([], 1.0)
    with pytest.raises(TypeError, match="grads\\[0\\] must be a torch.Tensor"):
        rnn.clip_grad_norm([[1.0]], 1.0)
    with pytest.raises(ValueError, match="max_norm"):
        rnn.clip_grad_norm([torch.ones(2)], 0.0)
    with pytest.raises(ValueError, match="max_norm"):
        rnn.embedding_renorm(torch.ones(3, 2), torch.tensor([0]), float("inf"))


def test_cosine_neighbours_against_f_cosine_similarity():
    torch.manual_seed(1)
    weight = torch.randn(12, 5, dtype=DT)
    order, values = rnn.cosine_neighbours(weight, 4, k=3)
    sims = F.cosine_similarity(weight, weight[4:5], dim=1)
    sims[4] = -2.0
    expected = torch.argsort(sims, descending=True)[:3]
    assert torch.equal(order, expected) and _close(values, sims[expected])
    assert bool((values[:-1] >= values[1:]).all()) and 4 not in order.tolist()
    with pytest.raises(ValueError, match="index must be in"):
        rnn.cosine_neighbours(weight, 12)
    with pytest.raises(ValueError, match="k must be at most 11"):
        rnn.cosine_neighbours(weight, 0, k=12)


def test_pca_2d_matches_svd_and_pca_lowrank():
    torch.manual_seed(2)
    weight = torch.randn(30, 6, dtype=DT) @ torch.diag(torch.tensor([5.0, 3.0, 1.0, 0.5, 0.2, 0.1], dtype=DT))
    z, ratio = rnn.pca_2d(weight)
    _, s, v = torch.pca_lowrank(weight, q=6, center=True)
    reference = (weight - weight.mean(0)) @ v[:, :2]
    assert _close(z.abs(), reference.abs(), atol=1e-8)                 # equal up to the sign of each axis
    assert _close(ratio, s[:2] ** 2 / (s ** 2).sum(), atol=1e-8)
    assert _close(z.mean(0), torch.zeros(2, dtype=DT), atol=1e-10)
    assert float(z[:, 0].var()) >= float(z[:, 1].var())
    with pytest.raises(ValueError, match="rows >= 2"):
        rnn.pca_2d(torch.ones(1, 3))


# ----------------------------------------------------------------------------- models, data and panels
from helpers import panels as P  # noqa: E402
from helpers.panels import rnn as RP  # noqa: E402


def test_rnn_panels_are_registered():
    assert set(P.chapter_panels("rnn")) == {"gradient_through_time_panel", "hidden_state_panel",
                                            "embedding_space_panel"}


def test_recall_data_and_models():
    x, first = rnn.recall_data(6, 5, tokens=3, seed=1)
    assert x.shape == (6, 5, 3) and torch.equal(x[:, 0].argmax(1), first)
    assert torch.equal(x[:, 0].sum(1), torch.ones(6)) and not x[:, 1:].any()
    for cell in ("RNN", "GRU", "LSTM"):
        model = rnn.RecallNet(cell, tokens=3, hidden=4, gate_bias=2.0)
        assert model(x).shape == (6, 3)
        if cell != "RNN":
            assert torch.allclose(model.rnn.bias_ih_l0[4:8] + model.rnn.bias_hh_l0[4:8], torch.full((4,), 2.0))
    with pytest.raises(ValueError, match="cell must be one of"):
        rnn.RecallNet("Transformer")
    with pytest.raises(ValueError, match="length must be an int >= 1"):
        rnn.recall_data(3, 0)


def test_word_data_and_word_classes():
    word_to_id, id_to_word, (x_train, y_train), (x_val, y_val) = rnn.word_data(200, context=3)
    assert id_to_word[:2] == ["<pad>", "<unk>"] and x_train.shape[1] == 3 and len(x_train) == len(y_train)
    assert len(x_val) > 0 and int(y_train.max()) < len(id_to_word)
    assert rnn.word_class("cat") == "animals" and rnn.word_class("the") == "function"
    assert rnn.word_class("<pad>") == "special"
    model = rnn.NextWordModel(len(id_to_word))
    assert torch.equal(model.embed.weight[0], torch.zeros(16))                      # padding row
    assert model(x_train[:5]).shape == (5, len(id_to_word))


def test_trained_forecaster_beats_repeating_the_last_value():
    state = torch.random.get_rng_state()
    model = rnn.trained_sine_forecaster()
    assert torch.equal(state, torch.random.get_rng_state())
    _, _, (x_val, y_val) = rnn.sine_data()
    with torch.no_grad():
        mse = float(((model(x_val) - y_val) ** 2).mean())
    naive = float(((x_val[:, -1] - y_val) ** 2).mean())
    assert mse < 0.8 * naive and mse < 0.03


def test_trained_embedding_puts_words_of_a_class_together():
    model, id_to_word = rnn.trained_next_word_model()
    weight = model.embed.weight.detach()
    train_ids = rnn.word_data(rnn.WORD_RECIPE["sentences"], rnn.WORD_RECIPE["context"])[2][0]
    used = set(train_ids.unique().tolist())
    words = [w for w in id_to_word if rnn.word_class(w) not in ("special", "function") and id_to_word.index(w) in used]
    same = 0
    for w in words:
        order, _ = rnn.cosine_neighbours(weight, id_to_word.index(w), 3)
        same += sum(rnn.word_class(id_to_word[j]) == rnn.word_class(w) for j in order.tolist())
    assert same / (3 * len(words)) > 0.8                                              # chance is about 3 / 47
    torch.manual_seed(0)
    start = rnn.NextWordModel(len(id_to_word), rnn.WORD_RECIPE["dim"], rnn.WORD_RECIPE["hidden"]).embed.weight
    never = [i for i in range(len(id_to_word)) if i not in used]
    assert torch.equal(weight[never], start.detach()[never])          # never an input: no gradient, never moved
    assert {rnn.word_class(id_to_word[i]) for i in never} == {"special", "foods", "places", "rest_verbs"}
    assert torch.equal(weight[0], torch.zeros(weight.shape[1]))                       # <pad>


def test_embedding_panel_flags_words_that_never_were_an_input():
    panel = RP.embedding_space_panel()
    panel.render(word="bread", k=3)
    assert "never an input" in panel.readout_text
    panel.render(word="cat", k=3)
    assert "never an input" not in panel.readout_text and "3/3 from the same class" in panel.readout_text


def test_panel_jacobian_products_equal_hidden_jacobian_norms():
    torch.manual_seed(5)
    w = rnn.scaled_recurrent_matrix(8, 1.2, seed=3, kind="orthogonal", dtype=DT)
    inputs = 0.7 * torch.randn(12, 8, dtype=DT)
    states, norms = rnn.tanh_rnn_jacobian_norms(w.numpy(), inputs.numpy())
    h, expected_states = torch.zeros(8, dtype=DT), []
    for u in inputs:
        h = torch.tanh(w @ h + u)
        expected_states.append(h)
    expected_states = torch.stack(expected_states)
    assert np.allclose(states, expected_states.numpy(), atol=1e-12)
    assert np.allclose(norms, rnn.hidden_jacobian_norms(w, expected_states).numpy(), rtol=1e-10)


def test_gradient_panel_reports_the_notes_product_and_a_smaller_tanh_norm():
    panel = RP.gradient_through_time_panel()
    panel.render(length=50, radius=1.1, input_scale=0.5)
    text = panel.readout_text
    linear = float(text.split("pure product of W_hh ")[1].split(" ")[0])
    tanh = float(text.split("tanh RNN ")[1].split(",")[0])
    assert abs(linear - 1.1 ** 50) / 1.1 ** 50 < 5e-3 and tanh < linear                  # 3 digits shown
    panel.render(length=50, radius=1.0, input_scale=0.0)                               # zero input: tanh' = 1
    text = panel.readout_text
    assert "tanh RNN 1.00e+00" in text and "mean tanh'(z) = 1.00" in text


def test_panel_module_only_draws():
    """Models, data and training live in helpers.rnn; the panel module's public names are panels and figures."""
    own = [n for n, v in vars(RP).items() if not n.startswith("_") and getattr(v, "__module__", None) == RP.__name__]
    assert own and all(n.endswith(("_panel", "_figure")) for n in own), own
    assert all(n.endswith(("_panel", "_figure")) for n in RP.__all__), RP.__all__


def test_best_possible_accuracy_counts_the_most_common_label_per_context():
    contexts = torch.tensor([[1, 2], [1, 2], [1, 2], [3, 4], [3, 4]])
    assert rnn.best_possible_accuracy(contexts, ["a", "a", "b", "c", "d"]) == 3 / 5
    assert rnn.best_possible_accuracy(contexts, list(range(5))) == 2 / 5
    with pytest.raises(ValueError, match="one row per label"):
        rnn.best_possible_accuracy(contexts, ["a"])
    _, id_to_word, _, (x_val, y_val) = rnn.word_data(rnn.WORD_RECIPE["sentences"], rnn.WORD_RECIPE["context"])
    model, _ = rnn.trained_next_word_model()
    with torch.no_grad():
        predicted = model(x_val).argmax(1)
    classes = [rnn.word_class(id_to_word[t]) for t in y_val.tolist()]
    right = sum(rnn.word_class(id_to_word[p]) == c for p, c in zip(predicted.tolist(), classes)) / len(classes)
    ceiling = rnn.best_possible_accuracy(x_val, classes)
    assert ceiling - 0.05 < right <= ceiling                          # a rule on the context can't beat the ceiling


def test_gradient_demo_and_probe_signals():
    q, noise = rnn.gradient_demo(8, 12)
    assert q.shape == (8, 8) and noise.shape == (12, 8) and np.allclose(q @ q.T, np.eye(8), atol=1e-12)
    again = rnn.gradient_demo(8, 12)
    assert np.array_equal(q, again[0]) and np.array_equal(noise, again[1])
    signals = rnn.probe_signals()
    assert all(s.shape == (400,) and s.dtype == torch.float32 for s in signals.values())
    assert set(signals["square wave, period 40"].unique().tolist()) == {-1.0, 1.0}


def test_bptt_panel_labels_the_norm_it_plots():
    panel = RP.gradient_through_time_panel()
    panel.render(length=30, radius=1.0, input_scale=0.0)
    assert panel.readout_text.startswith("‖∂h_T/∂h_0‖_F / √H after T = 30 steps")
    assert panel.fig.axes[0].get_ylabel() == "||dh_T / dh_t||_F / sqrt(H)"


@functools.cache
def _embedding_panel():
    return RP.embedding_space_panel()


@functools.cache
def _map_words() -> tuple[list[str], torch.Tensor]:
    """The words on the map (all but <pad> and <unk>) and their embedding rows, as the panel takes them."""
    model, id_to_word = rnn.trained_next_word_model()
    words = [w for w in id_to_word if rnn.word_class(w) != "special"]
    return words, model.embed.weight.detach()[[id_to_word.index(w) for w in words]]


def _drawn_labels(panel) -> list:
    """The word labels the embedding map shows now (glyph outlines), with their ink boxes in picture pixels."""
    renderer = panel.fig.canvas.get_renderer()
    ax = panel.fig.axes[0]
    labels = [p for p in ax.patches if p.get_gid() == "word label" and p.get_visible()]
    assert not [t for t in ax.texts if t.get_visible() and t.get_text()]              # no other words on the map
    return [(p.get_label(), p.get_window_extent(renderer)) for p in labels]


@pytest.mark.parametrize("word", ["cat", "man", "city", "sleeps", "bread", "the", "eats", "red", "runs", "young"])
def test_embedding_map_labels_never_overlap(word):
    """The chosen word and its k nearest neighbours are labelled (and only they), with no two label boxes meeting."""
    panel = _embedding_panel()
    for k in (1, 8):
        panel.render(word=word, k=k)
        labels = _drawn_labels(panel)
        words, weight = _map_words()
        order, _ = rnn.cosine_neighbours(weight, words.index(word), k)
        assert [text for text, _ in labels] == [word] + [words[j] for j in order.tolist()]
        inside = panel.fig.axes[0].bbox
        for n, (text, box) in enumerate(labels):
            assert inside.x0 <= box.x0 and box.x1 <= inside.x1 and inside.y0 <= box.y0 and box.y1 <= inside.y1, text
            for other, box2 in labels[n + 1:]:
                assert not box.overlaps(box2), f"{word}, k={k}: labels {text!r} and {other!r} overlap"


def test_embedding_map_uses_at_most_ten_colours():
    from matplotlib.colors import to_hex

    panel = _embedding_panel()
    ax = panel.fig.axes[0]
    colours = {to_hex(c) for coll in ax.collections for c in coll.get_facecolors()}
    assert 2 <= len(colours) <= 10, colours
    points = sum(len(coll.get_offsets()) for coll in ax.collections)
    assert points == len(_map_words()[0]) == 46                    # every word is a point, none left out


def test_embedding_map_first_picture_places_labels_like_any_later_one():
    """The picture shown as soon as the panel is built (the one a saved notebook keeps) has its labels where a
    later redraw of the same setting puts them: placing them needs the final layout of the axes."""
    from helpers.panels.testing import render_full
    from support import pixels

    panel = RP.embedding_space_panel()
    first = pixels(panel.png)
    from helpers.panels.base import _PALETTE_TOLERANCE

    # the two PNGs may carry different palettes (a frame reuses one that fits): equal up to that tolerance,
    # while a misplaced label differs by up to 255
    assert np.abs(first - pixels(render_full(panel))).max() <= _PALETTE_TOLERANCE, "the first picture's labels are out of place"
    labels = _drawn_labels(panel)
    assert [text for text, _ in labels][0] == panel.controls["word"].value
