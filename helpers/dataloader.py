r"""Chapter 10: what a ``DataLoader`` does with indices, written out: batches, shuffling, padding, averages.

A ``DataLoader`` is an *iterable*, not an iterator: ``next(iter(loader))``
gives the first batch. Per epoch it asks its batch sampler for lists of indices, fetches
those samples and merges them with ``collate_fn``. The functions here reproduce the
index lists exactly, so a learner can see which samples land in which batch.

Random order, and the one draw that surprises people: each ``iter(loader)`` first draws
one int64 from the loader's ``generator`` (the base seed its worker processes would use,
drawn even with ``num_workers=0``) and only then lets ``RandomSampler`` draw its
permutation from the same generator. So ``DataLoader(..., shuffle=True, generator=g)``
and ``batch_indices(..., shuffle=True, generator=g2)`` with ``g2`` seeded alike give
different orders; ``loader_order`` makes that one draw first and matches the loader.
"""
from __future__ import annotations

import functools
import math
import numbers
from typing import Sequence

import torch

from .checks import flag, instance, integer, positive

__all__ = ["batch_indices", "loader_order", "loader_epochs", "batch_map", "pad_collate", "num_batches",
           "epoch_mean_loss", "balanced_sample_weights", "linear_sgd_path", "line_data", "BATCH_SIZES",
           "LOADER_PARAMETERS"]

# What each parameter of ``DataLoader(dataset, ...)`` is for, in the signature's order (torch 2.13).
LOADER_PARAMETERS: dict[str, str] = {
    "batch_size": "samples per batch; None turns batching off (one sample at a time)",
    "shuffle": "a new random order every epoch (RandomSampler) instead of 0, 1, ..., N-1",
    "sampler": "your own order of indices (then leave shuffle unset)",
    "batch_sampler": "your own groups of indices (replaces batch_size, shuffle, sampler, drop_last)",
    "num_workers": "worker processes that load batches in parallel; 0 loads in the main process",
    "collate_fn": "merges a list of samples into one batch (default: stack into tensors)",
    "pin_memory": "puts batches in page-locked memory, so copying them to a GPU is faster",
    "drop_last": "drops the last batch when it has fewer than batch_size samples",
    "timeout": "seconds to wait for a batch from a worker before raising (0: wait forever)",
    "worker_init_fn": "called once in every worker process when it starts (e.g. to seed numpy)",
    "multiprocessing_context": "how worker processes start: 'fork', 'spawn' or 'forkserver'",
    "generator": "the random generator for shuffling and for the workers' base seed",
    "prefetch_factor": "batches each worker loads ahead of time (only with num_workers > 0)",
    "persistent_workers": "keeps the worker processes alive from one epoch to the next",
    "pin_memory_device": "the device whose memory pin_memory pins for",
    "in_order": "with workers: hand out batches in sampler order (False: as soon as one is ready)",
}


# ----------------------------------------------------------------------------- index batches
def _check_batching(n, batch_size, shuffle=False, drop_last=False, generator=None) -> tuple[int, int]:
    """The checked ``n >= 0`` and ``batch_size >= 1``; ``shuffle``/``drop_last`` bools, ``generator`` one or None."""
    flag(shuffle, "shuffle"), flag(drop_last, "drop_last"), instance(generator, torch.Generator, "generator", optional=True)
    return integer(n, "n"), integer(batch_size, "batch_size", 1)


def _random_permutation(n: int, generator: torch.Generator | None) -> list[int]:
    """The order ``RandomSampler(range(n), generator=generator)`` yields in one epoch."""
    if generator is None:                          # RandomSampler seeds a fresh generator from the global RNG
        seed = int(torch.empty((), dtype=torch.int64).random_().item())
        generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(n, generator=generator).tolist()
    torch.randperm(n, generator=generator)         # RandomSampler draws (and drops) one more permutation
    return order                                   # before it stops; this keeps g in step for the next epoch


def batch_indices(n: int, batch_size: int, shuffle: bool = False, drop_last: bool = False,
                  generator: torch.Generator | None = None) -> list[list[int]]:
    r"""Split an order of $0..n-1$ into consecutive batches of $B$: $\lceil n/B \rceil$ batches, or $\lfloor n/B \rfloor$ with drop_last.

    The order is $0, 1, \dots, n-1$, or with ``shuffle`` the permutation ``RandomSampler``
    draws (``torch.randperm(n, generator=g)``), so the result equals
    ``list(BatchSampler(sampler, batch_size, drop_last))``. PyTorch's ``RandomSampler``
    refuses an empty dataset; here ``n = 0`` gives ``[]`` either way.
    """
    n, batch_size = _check_batching(n, batch_size, shuffle, drop_last, generator)
    if n == 0:
        return []
    order = _random_permutation(n, generator) if shuffle else list(range(n))
    end = n - n % batch_size if drop_last else n   # drop_last: leave out the short tail
    return [order[start:start + batch_size] for start in range(0, end, batch_size)]


def loader_order(n: int, batch_size: int, seed: int, drop_last: bool = False) -> list[list[int]]:
    r"""The first epoch of ``DataLoader(range(n), batch_size, shuffle=True, generator=torch.Generator().manual_seed(seed))``: one int64 draw, then ``randperm``."""
    g = torch.Generator().manual_seed(integer(seed, "seed"))
    torch.empty((), dtype=torch.int64).random_(generator=g)   # the loader's base seed for workers
    return batch_indices(n, batch_size, shuffle=True, drop_last=drop_last, generator=g)


def loader_epochs(n: int, batch_size: int, seed: int, epochs: int, shuffle: bool = True,
                  drop_last: bool = False) -> list[list[list[int]]]:
    r"""Index batches of ``epochs`` passes over ``DataLoader(range(n), batch_size, shuffle, drop_last, generator=torch.Generator().manual_seed(seed))``.

    Each pass (each ``iter(loader)``) draws one int64 from the generator, then, with ``shuffle``,
    the permutation; without ``shuffle`` the order is $0, \dots, n-1$ in every epoch.
    """
    epochs, shuffle = integer(epochs, "epochs"), flag(shuffle, "shuffle")
    g = torch.Generator().manual_seed(integer(seed, "seed"))
    passes = []
    for _ in range(epochs):
        torch.empty((), dtype=torch.int64).random_(generator=g)     # the base seed for worker processes
        passes.append(batch_indices(n, batch_size, shuffle=shuffle, drop_last=drop_last, generator=g))
    return passes


def batch_map(n: int, batch_size: int, shuffle: bool, drop_last: bool, seed: int, epochs: int = 4) -> torch.Tensor:
    """(epochs, n) int64 tensor: the batch number of every sample in every epoch of ``loader_epochs``, -1 where drop_last left it out."""
    out = torch.full((integer(epochs, "epochs"), integer(n, "n")), -1, dtype=torch.int64)
    for e, batches in enumerate(loader_epochs(n, batch_size, seed, epochs, shuffle=shuffle, drop_last=drop_last)):
        for k, batch in enumerate(batches):
            out[e, batch] = k
    return out


def num_batches(n: int, batch_size: int, drop_last: bool = False) -> int:
    r"""``len(loader)`` $= \lceil n/B \rceil$, or $\lfloor n/B \rfloor$ with drop_last (batches per epoch)."""
    n, batch_size = _check_batching(n, batch_size, drop_last=drop_last)
    return n // batch_size if drop_last else (n + batch_size - 1) // batch_size


# ----------------------------------------------------------------------------- class imbalance
def _check_labels(labels) -> None:
    """A non-empty 1-D tensor of integer class labels >= 0."""
    instance(labels, torch.Tensor, "labels")
    if labels.ndim != 1 or labels.numel() == 0 or labels.is_floating_point() or labels.is_complex():
        raise ValueError(f"labels must be a non-empty 1-D integer tensor, got shape {tuple(labels.shape)}, "
                         f"dtype {labels.dtype}")
    if labels.min() < 0:
        raise ValueError(f"labels must be >= 0, got {labels.min().item()}")


def balanced_sample_weights(labels: torch.Tensor) -> torch.Tensor:
    r"""Per-sample weights $w_i = 1 / n_{y_i}$ ($n_c$: samples of class $c$): every class gets total weight 1, so ``WeightedRandomSampler`` draws the classes equally often."""
    _check_labels(labels)
    counts = torch.bincount(labels)                  # n_c for every class c
    return 1.0 / counts[labels].double()


# ----------------------------------------------------------------------------- batch size and SGD
def _check_sgd_inputs(x, y, batches, lr) -> list[list[int]]:
    """1-D float x, y of one length, lr > 0, and non-empty batches of valid indices (returned as lists)."""
    for name, t in (("x", x), ("y", y)):
        if not isinstance(t, torch.Tensor) or t.ndim != 1 or not t.is_floating_point():
            raise TypeError(f"{name} must be a 1-D floating-point tensor, got {t!r:.60}")
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"x and y must be non-empty and of equal length, got {len(x)} and {len(y)}")
    positive(lr, "lr")
    batches = [list(b) for b in batches]
    if any(len(b) == 0 for b in batches):
        raise ValueError("batches must not contain an empty batch")
    if any(not 0 <= i < len(x) for b in batches for i in b):
        raise ValueError(f"batch indices must lie in [0, {len(x) - 1}]")
    return batches


def linear_sgd_path(x: torch.Tensor, y: torch.Tensor, batches: Sequence[Sequence[int]], lr: float,
                    w0: float = 0.0, b0: float = 0.0) -> torch.Tensor:
    r"""Mini-batch SGD on $L_B = \frac{1}{|B|}\sum_{i \in B}(w x_i + b - y_i)^2$: $w \leftarrow w - \eta \frac{2}{|B|}\sum_{i \in B} e_i x_i$, $b \leftarrow b - \eta \frac{2}{|B|}\sum_{i \in B} e_i$, $e_i = w x_i + b - y_i$.

    ``batches`` lists the index batches in the order they are used (e.g. ``sum(loader_epochs(...), [])``).
    Returns $(w, b)$ before the first step and after every step: shape (len(batches) + 1, 2), float64.
    The gradient needs only the batch means of $x$, $x^2$, $y$ and $xy$, computed for all batches at once.
    """
    batches = _check_sgd_inputs(x, y, batches, lr)
    flat = torch.tensor([i for b in batches for i in b], dtype=torch.int64)
    which = torch.repeat_interleave(torch.arange(len(batches)), torch.tensor([len(b) for b in batches]))
    x64, y64 = x.double()[flat], y.double()[flat]
    sizes = torch.bincount(which, minlength=len(batches)).double()

    def batch_mean(v: torch.Tensor) -> list[float]:
        return (torch.zeros(len(batches), dtype=torch.float64).index_add_(0, which, v) / sizes).tolist()

    mx, mxx, my, mxy = batch_mean(x64), batch_mean(x64 * x64), batch_mean(y64), batch_mean(x64 * y64)
    w, b = float(w0), float(b0)
    path = [(w, b)]
    for k in range(len(batches)):
        grad_w = 2 * (w * mxx[k] + b * mx[k] - mxy[k])        # (2/|B|) sum e_i x_i
        grad_b = 2 * (w * mx[k] + b - my[k])                  # (2/|B|) sum e_i
        w, b = w - lr * grad_w, b - lr * grad_b
        path.append((w, b))
    return torch.tensor(path, dtype=torch.float64)


BATCH_SIZES = (1, 2, 5, 10, 20, 50, 100, 200)   # the batch sizes the noise panel offers (all divide 200)


@functools.lru_cache(maxsize=1)
def line_data() -> tuple[torch.Tensor, torch.Tensor]:
    r"""200 points of $y = 2x - 1 + 0.8\,\epsilon$, $x, \epsilon \sim \mathcal N(0, 1)$ (float64, fixed seed)."""
    g = torch.Generator().manual_seed(4)
    x = torch.randn(200, generator=g, dtype=torch.float64)
    return x, 2 * x - 1 + 0.8 * torch.randn(200, generator=g, dtype=torch.float64)


# ----------------------------------------------------------------------------- collate
def _stack_targets(targets: list) -> torch.Tensor:
    if all(isinstance(t, torch.Tensor) for t in targets):
        return torch.stack(targets)
    if all(isinstance(t, numbers.Number) and not isinstance(t, torch.Tensor) for t in targets):
        return torch.tensor(targets)
    raise TypeError("targets must be all tensors or all numbers, got "
                    f"{sorted({type(t).__name__ for t in targets})}")


def _check_pad_batch(batch, padding_value) -> None:
    """A non-empty list of (tensor, target) pairs whose tensors share dtype and trailing shape; a real padding value."""
    if isinstance(batch, (str, bytes)) or not isinstance(batch, Sequence):
        raise TypeError(f"batch must be a list of (sequence, target) pairs, got {type(batch).__name__}")
    if len(batch) == 0:
        raise ValueError("batch must hold at least one (sequence, target) pair, got an empty batch")
    if isinstance(padding_value, bool) or not isinstance(padding_value, numbers.Real):
        raise TypeError(f"padding_value must be a real number, got {type(padding_value).__name__}")
    for i, item in enumerate(batch):
        if not (isinstance(item, (tuple, list)) and len(item) == 2):
            raise TypeError(f"batch[{i}] must be a (sequence, target) pair, got {item!r}")
        if not isinstance(item[0], torch.Tensor):
            raise TypeError(f"batch[{i}][0] (the sequence) must be a torch.Tensor, got {type(item[0]).__name__}")
        if item[0].dtype != batch[0][0].dtype:
            raise TypeError(f"batch[{i}][0] must have dtype {batch[0][0].dtype} like batch[0][0], got {item[0].dtype}")
        if item[0].ndim == 0 or item[0].shape[1:] != batch[0][0].shape[1:]:
            raise ValueError(f"batch[{i}][0] must have shape (L, *{tuple(batch[0][0].shape[1:])}), "
                             f"got {tuple(item[0].shape)}")


def pad_collate(batch: Sequence[tuple[torch.Tensor, object]],
                padding_value: float = 0) -> tuple[tuple[torch.Tensor, torch.Tensor], torch.Tensor]:
    r"""Pad sequences of lengths $L_i$ to $(B, \max_i L_i, \dots)$ with ``padding_value``; return ((padded, lengths), targets). A ``collate_fn``."""
    _check_pad_batch(batch, padding_value)
    sequences = [seq for seq, _ in batch]
    lengths = torch.tensor([len(seq) for seq in sequences], dtype=torch.int64)
    first = sequences[0]
    padded = first.new_full((len(sequences), int(lengths.max()), *first.shape[1:]), padding_value)
    for i, seq in enumerate(sequences):
        padded[i, :len(seq)] = seq                 # row i: the sequence, then padding
    return (padded, lengths), _stack_targets([target for _, target in batch])


# ----------------------------------------------------------------------------- epoch average
def _check_epoch_inputs(batch_losses, batch_sizes) -> tuple[list[float], list[int]]:
    """Equally long, non-empty lists: batch losses as floats, batch sizes as ints >= 1."""
    losses = [float(v) for v in batch_losses]
    sizes = [integer(s, f"batch_sizes[{i}]", 1) for i, s in enumerate(batch_sizes)]
    if len(losses) != len(sizes):
        raise ValueError(f"batch_losses and batch_sizes must have the same length, got {len(losses)} and {len(sizes)}")
    if not losses:
        raise ValueError("batch_losses must hold at least one value, got an empty sequence")
    return losses, sizes


def epoch_mean_loss(batch_losses: Sequence[float], batch_sizes: Sequence[int]) -> float:
    r"""$\bar\ell = \sum_b n_b\,\ell_b \,/\, \sum_b n_b$: batch means weighted by batch size, = the mean over all samples."""
    losses, sizes = _check_epoch_inputs(batch_losses, batch_sizes)
    return math.fsum(n * loss for n, loss in zip(sizes, losses)) / sum(sizes)
