r"""Chapter 10: what a ``DataLoader`` does with indices, written out: batches, shuffling, padding, averages.

A ``DataLoader`` is an *iterable*, not an iterator (erratum E65): ``next(iter(loader))``
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

import math
import numbers
from typing import Sequence

import torch

__all__ = ["batch_indices", "loader_order", "pad_collate", "num_batches", "epoch_mean_loss"]


# ----------------------------------------------------------------------------- input checks
def _int(value, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    return int(value)


def _flag(value, name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


# ----------------------------------------------------------------------------- index batches
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
    n = _int(n, "n", 0)
    batch_size = _int(batch_size, "batch_size", 1)
    _flag(shuffle, "shuffle")
    _flag(drop_last, "drop_last")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    if n == 0:
        return []
    order = _random_permutation(n, generator) if shuffle else list(range(n))
    end = n - n % batch_size if drop_last else n   # drop_last: leave out the short tail
    return [order[start:start + batch_size] for start in range(0, end, batch_size)]


def loader_order(n: int, batch_size: int, seed: int, drop_last: bool = False) -> list[list[int]]:
    r"""The first epoch of ``DataLoader(range(n), batch_size, shuffle=True, generator=torch.Generator().manual_seed(seed))``: one int64 draw, then ``randperm``."""
    seed = _int(seed, "seed", 0)
    g = torch.Generator().manual_seed(seed)
    torch.empty((), dtype=torch.int64).random_(generator=g)   # the loader's base seed for workers
    return batch_indices(n, batch_size, shuffle=True, drop_last=drop_last, generator=g)


def num_batches(n: int, batch_size: int, drop_last: bool = False) -> int:
    r"""``len(loader)`` $= \lceil n/B \rceil$, or $\lfloor n/B \rfloor$ with drop_last (batches per epoch, E68)."""
    n = _int(n, "n", 0)
    batch_size = _int(batch_size, "batch_size", 1)
    _flag(drop_last, "drop_last")
    return n // batch_size if drop_last else (n + batch_size - 1) // batch_size


# ----------------------------------------------------------------------------- collate
def _stack_targets(targets: list) -> torch.Tensor:
    if all(isinstance(t, torch.Tensor) for t in targets):
        return torch.stack(targets)
    if all(isinstance(t, numbers.Number) and not isinstance(t, torch.Tensor) for t in targets):
        return torch.tensor(targets)
    raise TypeError("targets must be all tensors or all numbers, got "
                    f"{sorted({type(t).__name__ for t in targets})}")


def pad_collate(batch: Sequence[tuple[torch.Tensor, object]],
                padding_value: float = 0) -> tuple[tuple[torch.Tensor, torch.Tensor], torch.Tensor]:
    r"""Pad sequences of lengths $L_i$ to $(B, \max_i L_i, \dots)$ with ``padding_value``; return ((padded, lengths), targets). A ``collate_fn``."""
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
    sequences = [seq for seq, _ in batch]
    lengths = torch.tensor([len(seq) for seq in sequences], dtype=torch.int64)
    first = sequences[0]
    padded = first.new_full((len(sequences), int(lengths.max()), *first.shape[1:]), padding_value)
    for i, seq in enumerate(sequences):
        padded[i, :len(seq)] = seq                 # row i: the sequence, then padding
    return (padded, lengths), _stack_targets([target for _, target in batch])


# ----------------------------------------------------------------------------- epoch average
def epoch_mean_loss(batch_losses: Sequence[float], batch_sizes: Sequence[int]) -> float:
    r"""$\bar\ell = \sum_b n_b\,\ell_b \,/\, \sum_b n_b$: batch means weighted by batch size, = the mean over all samples (C50)."""
    losses = [float(v) for v in batch_losses]
    sizes = [_int(s, f"batch_sizes[{i}]", 1) for i, s in enumerate(batch_sizes)]
    if len(losses) != len(sizes):
        raise ValueError(f"batch_losses and batch_sizes must have the same length, got {len(losses)} and {len(sizes)}")
    if not losses:
        raise ValueError("batch_losses must hold at least one value, got an empty sequence")
    return math.fsum(n * loss for n, loss in zip(sizes, losses)) / sum(sizes)
