r"""Chapter 9: a recurrent layer and an embedding lookup written from their formulas.

Read top to bottom:

1. ``rnn_forward``: $h_t = \phi(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})$, the same layer as
   ``nn.RNN`` (two biases, tanh or ReLU), one time step per loop iteration.
2. ``rnn_params``: the parameter count, which does not depend on the sequence length.
3. ``hidden_jacobian_norms``: back-propagation through time. The notes skip the derivation;
   it is the chain rule over the steps,
   $\frac{\partial h_T}{\partial h_t} = \prod_{k=T}^{t+1} \mathrm{diag}(\phi'(z_k))\, W_{hh}$,
   so what grows or shrinks is this product of $W_{hh}$ *and* $\phi'$, not $W_{hh}$ alone.
   ``scaled_recurrent_matrix`` makes a $W_{hh}$ with a chosen spectral radius to try it with.
4. ``embedding_lookup``: row $i$ of the weight for id $i$, like ``nn.Embedding``; ``one_hot_matmul``
   shows it is the same as multiplying a one-hot vector by the weight, and the
   ``padding_idx`` / ``scale_grad_by_freq`` gradient rules are reproduced;
   ``embedding_renorm`` is what ``max_norm`` does to the looked-up rows, in place.
5. ``clip_grad_norm``: the practical answer to exploding gradients,
   $g \leftarrow g \cdot \min(1, c / \lVert g \rVert)$ over all parameters together.
6. ``cosine_neighbours`` and ``pca_2d``: reading a trained embedding (nearest words, a 2-D picture).
7. The chapter's models and data: ``SineForecaster`` (nn.RNN + linear head) on ``sine_data``,
   ``RecallNet`` (RNN / GRU / LSTM) on ``recall_data`` ("which token came first?"), ``NextWordModel``
   (embedding + nn.RNN + linear) on ``word_data``, and cached trained copies for the panels.

Shapes follow ``nn.RNN``: x is (L, B, H_in), or (B, L, H_in) with ``batch_first=True``, or
(L, H_in) for one unbatched sequence; h0 and h_n are (1, B, H) (one layer, one direction).
"""
from __future__ import annotations

import functools
import math

import numpy as np
import torch
from torch import nn

from .checks import float_tensor as _float_tensor, integer as _int, non_negative as _non_negative, positive as _positive
from .data import (TOY_GRAMMAR_CLASSES, TOY_GRAMMAR_FUNCTION_WORDS, build_vocab, next_word_pairs, noisy_sine,
                   sliding_windows, toy_corpus)
from .training import fit

__all__ = [
    "rnn_forward", "rnn_params", "hidden_jacobian_norms", "scaled_recurrent_matrix",
    "embedding_lookup", "one_hot_matmul", "embedding_renorm", "clip_grad_norm", "cosine_neighbours", "pca_2d",
    "NONLINEARITIES", "tanh_rnn_jacobian_norms", "gradient_demo",
    "SineForecaster", "NextWordModel", "RecallNet", "SINE_RECIPE", "WORD_RECIPE", "sine_data", "word_data",
    "recall_data", "word_class", "best_possible_accuracy", "probe_signals", "trained_sine_forecaster",
    "trained_next_word_model",
]

NONLINEARITIES = ("tanh", "relu")


# ----------------------------------------------------------------------------- input checks
def _shape(t: torch.Tensor, shape: tuple[int, ...], name: str, what: str) -> None:
    if tuple(t.shape) != shape:
        raise ValueError(f"{name} must have shape {what} = {shape}, got {tuple(t.shape)}")


def _ids(ids, weight) -> tuple[torch.Tensor, torch.Tensor]:
    """Check an id tensor against an embedding weight (V, d); name the first bad id and the valid range."""
    if not isinstance(ids, torch.Tensor):
        raise TypeError(f"ids must be a torch.Tensor of integer ids, got {type(ids).__name__}")
    if ids.is_floating_point() or ids.is_complex() or ids.dtype == torch.bool:
        raise TypeError(f"ids must hold integer ids (torch.long or torch.int), got dtype {ids.dtype}")
    _float_tensor(weight, "weight")
    if weight.ndim != 2:
        raise ValueError(f"weight must have shape (num_embeddings, embedding_dim), got {tuple(weight.shape)}")
    vocab = weight.shape[0]
    bad = (ids < 0) | (ids >= vocab)
    if bool(bad.any()):
        where = tuple(int(i) for i in bad.nonzero()[0])
        raise ValueError(f"ids contains {int(ids[where])} at position {where}, but weight has {vocab} rows: "
                         f"valid ids are 0 ... {vocab - 1}")
    return ids, weight


# ----------------------------------------------------------------------------- the recurrent layer
def _rnn_inputs(x, h0, W_ih, W_hh, b_ih, b_hh, nonlinearity: str, batch_first: bool):
    """Check ``rnn_forward``'s arguments; return (x as (L, B, H_in), h_0 as (B, H), whether x came batched)."""
    _float_tensor(x, "x")
    _float_tensor(W_ih, "W_ih")
    _float_tensor(W_hh, "W_hh")
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"nonlinearity must be one of {NONLINEARITIES}, got {nonlinearity!r}")
    if W_ih.ndim != 2:
        raise ValueError(f"W_ih must have shape (hidden_size, input_size), got {tuple(W_ih.shape)}")
    hidden, input_size = W_ih.shape
    _shape(W_hh, (hidden, hidden), "W_hh", "(hidden_size, hidden_size)")
    for name, b in (("b_ih", b_ih), ("b_hh", b_hh)):
        if b is not None:
            _float_tensor(b, name)
            _shape(b, (hidden,), name, "(hidden_size,)")
    batched = x.ndim == 3
    if x.ndim not in (2, 3) or x.shape[-1] != input_size:
        raise ValueError(f"x must have shape (L, B, {input_size}), (B, L, {input_size}) with batch_first, "
                         f"or (L, {input_size}) unbatched, to match W_ih {tuple(W_ih.shape)}; got {tuple(x.shape)}")
    if not batched:
        x = x.unsqueeze(1)                                  # (L, 1, H_in)
    elif batch_first:
        x = x.transpose(0, 1)                               # (B, L, H_in) -> (L, B, H_in)
    length, batch = x.shape[:2]
    if length == 0:
        raise ValueError("x must hold at least one time step, got sequence length 0")
    for name, t in (("W_ih", W_ih), ("W_hh", W_hh), ("b_ih", b_ih), ("b_hh", b_hh), ("h0", h0)):
        if t is not None and t.dtype != x.dtype:
            raise TypeError(f"{name} dtype {t.dtype} must match x dtype {x.dtype}")
    if h0 is None:
        h = x.new_zeros(batch, hidden)
    else:
        _float_tensor(h0, "h0")
        expected = (1, batch, hidden) if batched else (1, hidden)
        _shape(h0, expected, "h0", "(num_layers=1, batch, hidden_size)" if batched else "(1, hidden_size)")
        h = h0.reshape(batch, hidden)
    return x, h, batched


def rnn_forward(x: torch.Tensor, h0: torch.Tensor | None, W_ih: torch.Tensor, W_hh: torch.Tensor,
                b_ih: torch.Tensor | None = None, b_hh: torch.Tensor | None = None, *,
                nonlinearity: str = "tanh", batch_first: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    r"""$h_t = \phi(x_t W_{ih}^\top + b_{ih} + h_{t-1} W_{hh}^\top + b_{hh})$, $\phi \in \{\tanh, \mathrm{ReLU}\}$; returns (output $= h_1 \dots h_L$, $h_n = h_L$).

    ``W_ih`` (H, H_in), ``W_hh`` (H, H), biases (H,) or None, ``h0`` (1, B, H) or None for zeros
    ((1, H) for an unbatched x of shape (L, H_in)). The same weights are used at every step.
    """
    x, h, batched = _rnn_inputs(x, h0, W_ih, W_hh, b_ih, b_hh, nonlinearity, batch_first)   # (L, B, H_in), (B, H)
    phi = torch.tanh if nonlinearity == "tanh" else torch.relu
    outputs = []
    for x_t in x:                                           # one step at a time: h_t needs h_{t-1}
        z = x_t @ W_ih.T + h @ W_hh.T
        if b_ih is not None:
            z = z + b_ih
        if b_hh is not None:
            z = z + b_hh
        h = phi(z)
        outputs.append(h)
    output = torch.stack(outputs)                           # (L, B, H)
    if not batched:
        return output[:, 0], h                              # (L, H), and h is (batch=1, H) = (1, H)
    if batch_first:
        output = output.transpose(0, 1)
    return output, h.unsqueeze(0)


def rnn_params(input_size: int, hidden_size: int, bias: bool = True, *, num_layers: int = 1,
               bidirectional: bool = False) -> int:
    r"""$\#\theta = H\cdot H_{in} + H\cdot H + 2H$ per layer and direction (two biases, as in ``nn.RNN``); no dependence on the sequence length."""
    input_size = _int(input_size, "input_size", 1)
    hidden = _int(hidden_size, "hidden_size", 1)
    num_layers = _int(num_layers, "num_layers", 1)
    directions = 2 if bidirectional else 1
    total = 0
    for layer in range(num_layers):
        layer_input = input_size if layer == 0 else directions * hidden   # upper layers read h of all directions
        total += directions * (hidden * layer_input + hidden * hidden + (2 * hidden if bias else 0))
    return total


# ----------------------------------------------------------------------------- gradients through time
def hidden_jacobian_norms(W_hh: torch.Tensor, hidden_states: torch.Tensor, *, nonlinearity: str = "tanh",
                          norm: str = "fro") -> torch.Tensor:
    r"""$\left\|\frac{\partial h_T}{\partial h_t}\right\|$ for $t = 0 \dots T$, where $\frac{\partial h_T}{\partial h_t} = J_T J_{T-1}\cdots J_{t+1}$ and $J_k = \mathrm{diag}(\phi'(z_k))\,W_{hh}$.

    ``hidden_states`` is the output $h_1 \dots h_T$ of one sequence, shape (T, H) (for example
    ``rnn_forward(x, h0, ...)[0]`` with an unbatched x). $\phi'$ is read off $h_k$:
    $1 - h_k^2$ for tanh, $[h_k > 0]$ for ReLU, and 1 for ``"linear"`` (the notes' pure $\prod W_{hh}$).
    ``norm``: ``"fro"`` (Frobenius, the default) or ``"spectral"`` (largest singular value).
    Entry $T$ is $\|I\|$: $\sqrt{H}$ (Frobenius) or 1 (spectral).
    """
    _float_tensor(W_hh, "W_hh")
    _float_tensor(hidden_states, "hidden_states")
    if W_hh.ndim != 2 or W_hh.shape[0] != W_hh.shape[1]:
        raise ValueError(f"W_hh must be square (hidden_size, hidden_size), got {tuple(W_hh.shape)}")
    hidden = W_hh.shape[0]
    if hidden_states.ndim != 2 or hidden_states.shape[1] != hidden or hidden_states.shape[0] == 0:
        raise ValueError(f"hidden_states must have shape (T, {hidden}) with T >= 1 (one sequence h_1 ... h_T), "
                         f"got {tuple(hidden_states.shape)}")
    if nonlinearity not in (*NONLINEARITIES, "linear"):
        raise ValueError(f"nonlinearity must be one of {(*NONLINEARITIES, 'linear')}, got {nonlinearity!r}")
    if norm not in ("fro", "spectral"):
        raise ValueError(f"norm must be 'fro' or 'spectral', got {norm!r}")
    h = hidden_states.detach()
    if nonlinearity == "tanh":
        slopes = 1 - h**2                                   # tanh'(z_k) = 1 - tanh(z_k)^2 = 1 - h_k^2
    elif nonlinearity == "relu":
        slopes = (h > 0).to(h.dtype)                        # ReLU'(z_k) = 1 where h_k > 0
    else:
        slopes = torch.ones_like(h)
    ord_ = "fro" if norm == "fro" else 2
    steps = h.shape[0]
    product = torch.eye(hidden, dtype=h.dtype, device=h.device)   # dh_T/dh_T = I
    norms = [torch.linalg.matrix_norm(product, ord=ord_)]
    for k in range(steps, 0, -1):                           # k = T ... 1
        J_k = slopes[k - 1][:, None] * W_hh.detach()        # diag(phi'(z_k)) W_hh
        product = product @ J_k                             # dh_T/dh_{k-1} = dh_T/dh_k . J_k
        norms.append(torch.linalg.matrix_norm(product, ord=ord_))
    return torch.stack(norms[::-1])                         # index t holds ||dh_T/dh_t||


def scaled_recurrent_matrix(hidden: int, spectral_radius: float, seed: int = 0, *, kind: str = "gaussian",
                            dtype: torch.dtype = torch.float32) -> torch.Tensor:
    r"""$W_{hh} = \rho \cdot W / \max_i |\lambda_i(W)|$ for a random $W$ (``"gaussian"``, or ``"orthogonal"`` so every singular value is $\rho$ too)."""
    hidden = _int(hidden, "hidden", 1)
    spectral_radius = _non_negative(spectral_radius, "spectral_radius")
    seed = _int(seed, "seed", 0)
    if kind not in ("gaussian", "orthogonal"):
        raise ValueError(f"kind must be 'gaussian' or 'orthogonal', got {kind!r}")
    gen = torch.Generator().manual_seed(seed)
    w = torch.randn(hidden, hidden, generator=gen, dtype=torch.float64)
    if kind == "orthogonal":
        q, r = torch.linalg.qr(w)
        w = q * torch.sign(torch.diagonal(r))               # an orthogonal matrix: all |eigenvalues| = 1
    radius = torch.linalg.eigvals(w).abs().max()
    return (spectral_radius * w / radius).to(dtype)


# ----------------------------------------------------------------------------- embeddings
def embedding_lookup(ids: torch.Tensor, weight: torch.Tensor, padding_idx: int | None = None, *,
                     scale_grad_by_freq: bool = False) -> torch.Tensor:
    r"""$e = W[\text{ids}]$: row $i$ of $W \in \mathbb{R}^{V\times d}$ for each id $i$; output shape ids.shape + (d,).

    Gradient rules of ``nn.Embedding``: positions holding ``padding_idx`` send zero gradient, so that
    row is never updated (``nn.Embedding`` also fills it with zeros when it is created; a lookup does
    not). Repeated ids add up their gradients; ``scale_grad_by_freq=True`` divides each row's
    gradient by how often its id occurs in ``ids``.
    """
    ids, weight = _ids(ids, weight)
    vocab = weight.shape[0]
    if padding_idx is not None:
        padding_idx = _int(padding_idx, "padding_idx", -vocab)
        if padding_idx >= vocab:
            raise ValueError(f"padding_idx must be in [-{vocab}, {vocab - 1}], got {padding_idx}")
        padding_idx %= vocab                                 # -1 means the last row, as in nn.Embedding
    out = weight[ids]                                        # the whole lookup: pick rows
    if out.requires_grad and (padding_idx is not None or scale_grad_by_freq):
        factor = torch.ones(ids.shape, dtype=weight.dtype, device=weight.device)
        if scale_grad_by_freq:
            counts = torch.bincount(ids.reshape(-1), minlength=vocab)
            factor = factor / counts[ids].to(weight.dtype)
        if padding_idx is not None:
            factor = factor.masked_fill(ids == padding_idx, 0.0)
        out.register_hook(lambda grad: grad * factor.unsqueeze(-1))   # changes the gradient, not the values
    return out


def one_hot_matmul(ids: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    r"""$e = \mathrm{onehot}(\text{ids})\, W$: a one-hot row vector times $W$ picks one row, so this equals the lookup."""
    ids, weight = _ids(ids, weight)
    vocab = weight.shape[0]
    one_hot = (ids.unsqueeze(-1) == torch.arange(vocab, device=ids.device)).to(weight.dtype)   # ids.shape + (V,)
    return one_hot @ weight


def embedding_renorm(weight: torch.Tensor, ids: torch.Tensor, max_norm: float, norm_type: float = 2.0) -> torch.Tensor:
    r"""In place, for each row $i$ in ``ids``: $W_i \leftarrow W_i \cdot \frac{c}{\lVert W_i \rVert_p + 10^{-7}}$ if $\lVert W_i \rVert_p > c$ (what an embedding layer with ``max_norm=c`` does in forward).

    Only the rows that are looked up change, and they change in the weight itself, not just in the
    output. Returns ``weight``.
    """
    ids, weight = _ids(ids, weight)
    max_norm, norm_type = _positive(max_norm, "max_norm"), _positive(norm_type, "norm_type")
    with torch.no_grad():
        rows = torch.unique(ids.reshape(-1))
        norms = torch.linalg.vector_norm(weight[rows], ord=norm_type, dim=1)
        too_long = norms > max_norm
        scale = max_norm / (norms[too_long] + 1e-7)
        weight[rows[too_long]] *= scale[:, None]
    return weight


def _gradients(grads) -> list[torch.Tensor]:
    """A non-empty list or tuple of floating-point tensors, as a list."""
    if not isinstance(grads, (list, tuple)) or not grads:
        raise ValueError("grads must be a non-empty list of gradient tensors")
    return [_float_tensor(g, f"grads[{i}]") for i, g in enumerate(grads)]


def clip_grad_norm(grads: list[torch.Tensor], max_norm: float) -> tuple[list[torch.Tensor], float]:
    r"""$\lVert g \rVert = \sqrt{\sum_p \lVert g_p \rVert^2}$; every $g_p \leftarrow g_p \cdot \min\big(1, \frac{c}{\lVert g \rVert + 10^{-6}}\big)$: returns (clipped grads, $\lVert g \rVert$ before clipping).

    One factor for all parameters together, so the direction of the whole gradient is kept and only
    its length is capped at ``max_norm`` $= c$ (PyTorch's ``clip_grad_norm_`` does this in place).
    """
    grads, max_norm = _gradients(grads), _positive(max_norm, "max_norm")
    total = torch.sqrt(sum((g.double() ** 2).sum() for g in grads))
    factor = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    return [g * factor.to(g.dtype) for g in grads], float(total)


def cosine_neighbours(weight: torch.Tensor, index: int, k: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The ``k`` rows most similar to row ``index`` by $\cos(u, v) = \frac{u \cdot v}{\lVert u \rVert \lVert v \rVert}$, the row itself left out: (indices, similarities), most similar first."""
    _float_tensor(weight, "weight")
    if weight.ndim != 2:
        raise ValueError(f"weight must have shape (num_embeddings, embedding_dim), got {tuple(weight.shape)}")
    vocab = weight.shape[0]
    index = _int(index, "index", 0)
    if index >= vocab:
        raise ValueError(f"index must be in [0, {vocab - 1}], got {index}")
    k = _int(k, "k", 1)
    if k > vocab - 1:
        raise ValueError(f"k must be at most {vocab - 1} (the other rows), got {k}")
    w = weight.detach()
    unit = w / torch.linalg.vector_norm(w, dim=1, keepdim=True).clamp_min(1e-12)
    similarity = unit @ unit[index]
    similarity[index] = -float("inf")                       # leave the word itself out
    values, order = torch.topk(similarity, k)
    return order, values


def pca_2d(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Project the centred rows onto the top two principal directions: $Z = (W - \bar W) V_{:, :2}$ with $W - \bar W = U S V^\top$; returns (Z (V, 2), explained variance ratio of the two)."""
    _float_tensor(weight, "weight")
    if weight.ndim != 2 or weight.shape[0] < 2 or weight.shape[1] < 2:
        raise ValueError(f"weight must have shape (rows >= 2, dim >= 2), got {tuple(weight.shape)}")
    centred = weight.detach() - weight.detach().mean(dim=0)
    _, s, vh = torch.linalg.svd(centred, full_matrices=False)
    z = centred @ vh[:2].T
    z = z * torch.sign(z[torch.argmax(z.abs(), dim=0), torch.arange(2)])   # a fixed sign for each axis
    ratio = (s[:2] ** 2) / (s ** 2).sum()
    return z, ratio


# ----------------------------------------------------------------------------- a tanh RNN's Jacobians in NumPy
def tanh_rnn_jacobian_norms(w: np.ndarray, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Run $h_t = \tanh(W h_{t-1} + u_t)$ from $h_0 = 0$; return (states (T, H), $\lVert\partial h_T/\partial h_t\rVert_F$ for t = 0..T).

    The same product as ``hidden_jacobian_norms`` (a test checks they agree), written with NumPy because
    a panel redraws it on every slider move and small NumPy products cost less than torch calls.
    """
    hidden = w.shape[0]
    h = np.zeros(hidden)
    states = np.empty((len(inputs), hidden))
    for t, u in enumerate(inputs):
        h = np.tanh(w @ h + u)
        states[t] = h
    slopes = 1.0 - states ** 2                              # tanh'(z_t) = 1 - h_t^2
    product = np.eye(hidden)
    norms = [math.sqrt(hidden)]
    for k in range(len(inputs), 0, -1):                     # dh_T/dh_{k-1} = dh_T/dh_k diag(tanh'(z_k)) W
        product = (product * slopes[k - 1]) @ w
        norms.append(np.linalg.norm(product))
    return states, np.array(norms[::-1])


def gradient_demo(hidden: int = 32, steps: int = 100, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A fixed (Q, inputs) draw for gradient-through-time pictures: Q (H, H) orthogonal, inputs (steps, H) ~ N(0, 1), float64."""
    q = scaled_recurrent_matrix(hidden, 1.0, seed=seed, kind="orthogonal", dtype=torch.float64).numpy()
    g = torch.Generator().manual_seed(_int(seed, "seed", 0))
    return q, torch.randn(_int(steps, "steps", 1), hidden, generator=g, dtype=torch.float64).numpy()


# ----------------------------------------------------------------------------- models
class SineForecaster(nn.Module):
    r"""$h_t = \tanh(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})$ over a window, then $\hat y = W_{hy} h_L + b_y$: the next value."""

    def __init__(self, hidden: int = 16, nonlinearity: str = "tanh") -> None:
        super().__init__()
        self.rnn = nn.RNN(input_size=1, hidden_size=hidden, nonlinearity=nonlinearity, batch_first=True)
        self.head = nn.Linear(hidden, 1)                  # regression: no activation on the output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        output, h_n = self.rnn(x)                         # x (N, L, 1); output (N, L, H); h_n (1, N, H)
        return self.head(h_n[0])                          # (N, 1)


class NextWordModel(nn.Module):
    r"""ids (N, context) → embedding (N, context, d) → nn.RNN → $W_{hy} h_L + b_y$: one logit per word of the vocabulary."""

    def __init__(self, vocab_size: int, dim: int = 16, hidden: int = 32) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, dim, padding_idx=0)   # id 0 is <pad>: a zero row, never updated
        with torch.no_grad():           # start near 0 (default N(0, 1)): what training learns is not buried in noise
            self.embed.weight[1:].normal_(0.0, 0.1)
        self.rnn = nn.RNN(dim, hidden, batch_first=True)
        self.head = nn.Linear(hidden, vocab_size)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        _, h_n = self.rnn(self.embed(ids))
        return self.head(h_n[0])                          # logits (N, V): CrossEntropyLoss applies softmax


class RecallNet(nn.Module):
    """A recurrent cell (``nn.RNN``, ``nn.GRU`` or ``nn.LSTM``) read out at the last step: which token came first?"""

    def __init__(self, cell: str = "RNN", tokens: int = 2, hidden: int = 16, gate_bias: float = 2.0) -> None:
        super().__init__()
        layers = {"RNN": nn.RNN, "GRU": nn.GRU, "LSTM": nn.LSTM}
        if cell not in layers:
            raise ValueError(f"cell must be one of {list(layers)}, got {cell!r}")
        self.rnn = layers[cell](tokens, hidden, batch_first=True)
        self.head = nn.Linear(hidden, tokens)
        if cell != "RNN":     # bias the keep-gate open (LSTM forget gate, GRU update gate): memory by default
            with torch.no_grad():
                for bias in (self.rnn.bias_ih_l0, self.rnn.bias_hh_l0):
                    bias[hidden:2 * hidden] = gate_bias / 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        output, _ = self.rnn(x)
        return self.head(output[:, -1])


# ----------------------------------------------------------------------------- data
SINE_RECIPE = {"window": 20, "train_windows": 280, "hidden": 16, "epochs": 30, "batch_size": 32, "lr": 1e-2}
WORD_RECIPE = {"sentences": 2000, "context": 3, "dim": 16, "hidden": 32, "epochs": 8, "batch_size": 128, "lr": 1e-2}


def sine_data(window: int = 20, train_windows: int = 280) -> tuple[torch.Tensor, tuple, tuple]:
    """``helpers.data.noisy_sine()`` (400 steps) cut into windows: (series, (X_train, y_train), (X_val, y_val)), split in time."""
    series = noisy_sine()
    x, y = sliding_windows(series, window)
    if not 0 < train_windows < len(y):
        raise ValueError(f"train_windows must be in [1, {len(y) - 1}], got {train_windows}")
    return series, (x[:train_windows], y[:train_windows]), (x[train_windows:], y[train_windows:])


def word_data(sentences: int = 2000, context: int = 3, val_fraction: float = 0.2):
    """The toy-grammar corpus as next-word pairs: (word_to_id, id_to_word, (X_train, y_train), (X_val, y_val))."""
    corpus = toy_corpus(sentences)
    word_to_id, id_to_word = build_vocab(corpus)
    cut = int(len(corpus) * (1 - val_fraction))                    # whole sentences on each side
    train = next_word_pairs(corpus[:cut], word_to_id, context)
    val = next_word_pairs(corpus[cut:], word_to_id, context)
    return word_to_id, id_to_word, train, val


def recall_data(n: int, length: int, tokens: int = 2, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Sequences whose first step is a one-hot token and whose other ``length - 1`` steps are zeros; the target is that token."""
    n, length, tokens = _int(n, "n", 1), _int(length, "length", 1), _int(tokens, "tokens", 2)
    g = torch.Generator().manual_seed(seed)
    first = torch.randint(0, tokens, (n,), generator=g)
    x = torch.zeros(n, length, tokens)
    x[torch.arange(n), 0, first] = 1.0
    return x, first


def word_class(word: str) -> str:
    """The toy grammar's class of ``word`` ("function" for the/to, "special" for <pad>/<unk>)."""
    for name, words in TOY_GRAMMAR_CLASSES.items():
        if word in words:
            return name
    return "function" if word in TOY_GRAMMAR_FUNCTION_WORDS else "special"


def best_possible_accuracy(contexts: torch.Tensor, labels: list) -> float:
    r"""$\frac{1}{N}\sum_{c} \max_y n(c, y)$: on these N pairs, the accuracy of the best rule that sees only the context $c$.

    ``contexts`` (N, context) ids, ``labels`` N hashable labels (a word's class, say); $n(c, y)$ counts the pairs
    with context $c$ and label $y$. No model that reads only the context can score higher on the same pairs.
    """
    if not isinstance(contexts, torch.Tensor) or contexts.ndim != 2 or len(contexts) != len(labels) or not len(labels):
        raise ValueError(f"contexts must be a 2-D tensor with one row per label, got "
                         f"{tuple(getattr(contexts, 'shape', ()))} for {len(labels)} labels")
    counts: dict = {}
    for context, label in zip(map(tuple, contexts.tolist()), labels):
        counts.setdefault(context, {}).setdefault(label, 0)
        counts[context][label] += 1
    return sum(max(by_label.values()) for by_label in counts.values()) / len(labels)


# ----------------------------------------------------------------------------- cached training
@functools.lru_cache(maxsize=1)
def trained_sine_forecaster() -> SineForecaster:
    """``SineForecaster`` trained with ``SINE_RECIPE`` (Adam, seed 0) through ``helpers.training.fit``; cached, eval mode."""
    _, train, _ = sine_data(SINE_RECIPE["window"], SINE_RECIPE["train_windows"])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = SineForecaster(SINE_RECIPE["hidden"])
        optimizer = torch.optim.Adam(model.parameters(), lr=SINE_RECIPE["lr"])
        fit(model, train, nn.MSELoss(), optimizer, epochs=SINE_RECIPE["epochs"], batch_size=SINE_RECIPE["batch_size"],
            progress=False)
    return model.eval()


@functools.lru_cache(maxsize=1)
def trained_next_word_model() -> tuple[NextWordModel, list[str]]:
    """``NextWordModel`` trained with ``WORD_RECIPE`` (Adam, seed 0) on the toy corpus; cached: (model in eval mode, id_to_word)."""
    _, id_to_word, train, _ = word_data(WORD_RECIPE["sentences"], WORD_RECIPE["context"])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = NextWordModel(len(id_to_word), WORD_RECIPE["dim"], WORD_RECIPE["hidden"])
        optimizer = torch.optim.Adam(model.parameters(), lr=WORD_RECIPE["lr"])
        fit(model, train, nn.CrossEntropyLoss(), optimizer, epochs=WORD_RECIPE["epochs"],
            batch_size=WORD_RECIPE["batch_size"], progress=False)
    return model.eval(), id_to_word


# ----------------------------------------------------------------------------- inputs to probe the forecaster with
def probe_signals(length: int = 400) -> dict[str, torch.Tensor]:
    """The training series and a few other inputs to feed the trained forecaster, by name."""
    t = torch.arange(length, dtype=torch.float64)
    return {
        "noisy sine (training data)": noisy_sine(length),
        "clean sine, period 40": torch.sin(2 * math.pi * t / 40).float(),
        "clean sine, period 20": torch.sin(2 * math.pi * t / 20).float(),
        "square wave, period 40": torch.sign(torch.sin(2 * math.pi * (t + 0.5) / 40)).float(),
        "a single step": (t >= length // 2).float(),
    }
