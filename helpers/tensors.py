"""Chapter 1: tensors. The broadcasting rule, strides, matmul and logs written from their formulas,
and the domain of sqrt/exp/log. (The chapter's figures and panels: ``helpers.panels.tensors``.)
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import torch

from .checks import instance, one_of, positive

__all__ = [
    "broadcast_shape", "contiguous_strides", "matmul", "log_base", "domain_grid", "count_special", "autograd_slope",
    "DOMAIN_FUNCTIONS", "MAKERS", "MAKER_ARGS", "make_tensor",
]


# ----------------------------------------------------------------------------- formulas
def _check_shape(shape, name: str) -> tuple[int, ...]:
    if isinstance(shape, torch.Size):
        return tuple(shape)
    if not isinstance(shape, (tuple, list)):
        raise TypeError(f"{name} must be a tuple, list or torch.Size of ints, got {type(shape).__name__}")
    for s in shape:
        if isinstance(s, bool) or not isinstance(s, int):
            raise TypeError(f"{name} must hold ints, got {s!r} in {tuple(shape)}")
        if s < 0:
            raise ValueError(f"{name} must hold sizes >= 0, got {tuple(shape)}")
    return tuple(shape)


def broadcast_shape(a: Sequence[int], b: Sequence[int]) -> tuple[int, ...]:
    r"""Broadcast two shapes: pad the shorter with 1s on the left, then per dim $n_i = a_i$ if $a_i = b_i$ or $b_i = 1$, $n_i = b_i$ if $a_i = 1$."""
    a, b = _check_shape(a, "a"), _check_shape(b, "b")
    n = max(len(a), len(b))
    pa, pb = (1,) * (n - len(a)) + a, (1,) * (n - len(b)) + b
    out = []
    for i, (x, y) in enumerate(zip(pa, pb)):
        if x == y or y == 1:
            out.append(x)
        elif x == 1:
            out.append(y)
        else:
            raise ValueError(f"shapes {a} and {b} cannot broadcast: at dim {i - n} the sizes are {x} and {y}; "
                             "they must be equal or one of them must be 1")
    return tuple(out)


def contiguous_strides(shape: Sequence[int]) -> tuple[int, ...]:
    r"""Strides of a contiguous (row-major) tensor: $s_k = \prod_{j > k} d_j$, so element $(i_0, \dots)$ sits at $\sum_k i_k s_k$."""
    shape = _check_shape(shape, "shape")
    sizes = [max(d, 1) for d in shape]  # an empty (size-0) dim counts as 1, as in PyTorch
    return tuple(math.prod(sizes[k + 1:]) for k in range(len(sizes)))


def _check_matrices(a, b) -> None:
    """Two 2-D tensors whose inner sizes agree: (n, k) and (k, m)."""
    for name, t in (("a", a), ("b", b)):
        if instance(t, torch.Tensor, name).ndim != 2:
            raise ValueError(f"{name} must be 2-D (a matrix), got shape {tuple(t.shape)}")
    if a.shape[1] != b.shape[0]:
        raise ValueError(f"a has {a.shape[1]} columns but b has {b.shape[0]} rows; they must be equal "
                         f"(shapes {tuple(a.shape)} and {tuple(b.shape)})")


def matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    r"""$C_{ij} = \sum_k A_{ik} B_{kj}$, computed by broadcasting $(n,k,1) \cdot (1,k,m)$ and summing over $k$."""
    _check_matrices(a, b)
    return (a[:, :, None] * b[None, :, :]).sum(dim=1)


def _check_base(base) -> None:
    """A log base: a real number > 0 and != 1 (ValueError for anything else, bools and strings included)."""
    if isinstance(base, bool) or not isinstance(base, (int, float)) or not base > 0 or base == 1:
        raise ValueError(f"base must be a number > 0 and != 1, got {base!r}")


def log_base(x: torch.Tensor, base: float) -> torch.Tensor:
    r"""$\log_b x = \frac{\ln x}{\ln b}$ (so $\log_2$ and $\log_{10}$ are $\ln$ rescaled)."""
    instance(x, torch.Tensor, "x"), _check_base(base)
    return torch.log(x) / math.log(base)


def domain_grid(low: float, high: float, step: float = 0.05) -> torch.Tensor:
    r"""The float32 points $x_k = k \cdot \mathrm{step}$ in $[\mathrm{low}, \mathrm{high}]$ ($k$ integer, so $x = 0$ is hit exactly)."""
    positive(step, "step")
    if not low < high:
        raise ValueError(f"need low < high, got low={low}, high={high}")
    k0, k1 = math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9)
    return torch.arange(k0, k1 + 1, dtype=torch.float32) * step


def count_special(y: torch.Tensor) -> dict[str, int]:
    """Count the ``nan``, ``-inf``, ``inf`` and finite entries of ``y``."""
    instance(y, torch.Tensor, "y")
    return {"nan": int(torch.isnan(y).sum()), "-inf": int(torch.isneginf(y).sum()),
            "inf": int(torch.isposinf(y).sum()), "finite": int(torch.isfinite(y).sum())}


def autograd_slope(f: Callable[[torch.Tensor], torch.Tensor], x0: float) -> float:
    r"""$f'(x_0)$ by autograd: make $x_0$ a leaf with ``requires_grad=True``, call ``backward()``, read ``.grad``."""
    x = torch.tensor(float(x0), dtype=torch.float64, requires_grad=True)
    y = f(x)
    if y.ndim != 0:
        raise ValueError(f"f must return a scalar (0-d tensor), got shape {tuple(y.shape)}")
    y.backward()
    return float(x.grad)


DOMAIN_FUNCTIONS: dict[str, tuple[Callable[[torch.Tensor], torch.Tensor], tuple[float, float], str]] = {
    "sqrt": (torch.sqrt, (-0.4, 2.6), "domain: x >= 0\nx < 0  -> nan"),
    "exp": (torch.exp, (-10.0, 160.0), "domain: every x\n(float32 overflows to\ninf for x > 88.7)"),
    "log": (torch.log, (-4.0, 2.0), "domain: x > 0\nx < 0  -> nan\nx = 0  -> -inf"),
    "log2": (torch.log2, (-6.0, 3.0), "domain: x > 0\nx < 0  -> nan\nx = 0  -> -inf"),
    "log10": (torch.log10, (-2.0, 1.0), "domain: x > 0\nx < 0  -> nan\nx = 0  -> -inf"),
}


# ----------------------------------------------------------------------------- tensor makers
MAKERS: dict[str, Callable] = {
    "torch.tensor": torch.tensor, "torch.Tensor": torch.Tensor, "torch.IntTensor": torch.IntTensor,
    "torch.FloatTensor": torch.FloatTensor, "torch.zeros": torch.zeros, "torch.empty": torch.empty,
}
MAKER_ARGS: dict[str, tuple] = {
    "2, 3": (2, 3), "3": (3,), "[3]": ([3],), "[2, 3]": ([2, 3],),
    "[2.7, -2.7]": ([2.7, -2.7],), "[[1, 2, 3], [4, 5, 6]]": ([[1, 2, 3], [4, 5, 6]],),
}


def make_tensor(maker: str, args: str) -> tuple[torch.Tensor, bool]:
    """Call ``MAKERS[maker](*MAKER_ARGS[args])``; return the tensor and whether its values are uninitialised."""
    one_of(maker, MAKERS, "maker"), one_of(args, MAKER_ARGS, "args")
    values = MAKER_ARGS[args]
    t = MAKERS[maker](*values)
    sizes_only = all(isinstance(v, int) for v in values)
    uninitialised = maker == "torch.empty" or (sizes_only and maker not in ("torch.tensor", "torch.zeros"))
    return t, uninitialised


