"""Small synthetic data sets, made on the spot (no downloads), reproducible from a seed."""
from __future__ import annotations

import math

import torch

__all__ = ["two_moons", "spirals", "line_with_outliers", "blobs"]


def _check(n: int, noise: float) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ValueError(f"n must be an int >= 2, got {n!r}")
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise}")


def two_moons(n: int = 200, noise: float = 0.1, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Two interleaved half circles: ``X`` of shape (n, 2) float32, ``y`` of shape (n,) int64 in {0, 1}."""
    _check(n, noise)
    g = torch.Generator().manual_seed(seed)
    n0 = n // 2
    t0 = torch.rand(n0, generator=g) * math.pi
    t1 = torch.rand(n - n0, generator=g) * math.pi
    upper = torch.stack([torch.cos(t0), torch.sin(t0)], 1)
    lower = torch.stack([1 - torch.cos(t1), 0.5 - torch.sin(t1)], 1)
    x = torch.cat([upper, lower]) + noise * torch.randn(n, 2, generator=g)
    y = torch.cat([torch.zeros(n0, dtype=torch.long), torch.ones(n - n0, dtype=torch.long)])
    perm = torch.randperm(n, generator=g)
    return x[perm], y[perm]


def spirals(n: int = 300, classes: int = 3, noise: float = 0.2, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``classes`` interleaved spiral arms in 2-D: ``X`` (n, 2) float32, ``y`` (n,) int64."""
    _check(n, noise)
    if classes < 2:
        raise ValueError(f"classes must be >= 2, got {classes}")
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % classes
    r = torch.rand(n, generator=g)
    angle = 4.0 * r + y * (2 * math.pi / classes) + noise * torch.randn(n, generator=g)
    x = torch.stack([r * torch.sin(angle), r * torch.cos(angle)], 1)
    return x, y


def line_with_outliers(n: int = 50, n_outliers: int = 5, outlier_size: float = 10.0, slope: float = 2.0,
                       intercept: float = 1.0, noise: float = 0.5, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Points on ``y = slope*x + intercept`` plus noise; ``n_outliers`` of them, picked at random, shifted up by ``outlier_size``.

    Returns ``x`` and ``y`` of shape (n, 1), float32.
    """
    _check(n, noise)
    if not 0 <= n_outliers <= n:
        raise ValueError(f"n_outliers must be in [0, n={n}], got {n_outliers}")
    g = torch.Generator().manual_seed(seed)
    x = torch.linspace(-3, 3, n).unsqueeze(1)
    y = slope * x + intercept + noise * torch.randn(n, 1, generator=g)
    if n_outliers:
        idx = torch.randperm(n, generator=g)[:n_outliers]
        y[idx] += outlier_size
    return x, y


def blobs(n: int = 300, centers: int = 3, spread: float = 0.5, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Gaussian clusters around ``centers`` points on a circle of radius 2: ``X`` (n, 2), ``y`` (n,)."""
    _check(n, spread)
    if centers < 1:
        raise ValueError(f"centers must be >= 1, got {centers}")
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % centers
    angles = 2 * math.pi * y / centers
    means = 2.0 * torch.stack([torch.cos(angles), torch.sin(angles)], 1)
    return means + spread * torch.randn(n, 2, generator=g), y
