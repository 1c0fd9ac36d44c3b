"""Shared helpers for the interactive PyTorch course.

Importing the package is cheap: only ``torch`` is loaded here. Chapter modules
(``helpers.activations``, ``helpers.losses`` ...) and the plotting / widget
machinery are imported on first use.
"""
from __future__ import annotations

import importlib
import os
import random

import torch

__all__ = ["seed_everything", "get_device"]

_SUBMODULES = {
    "activations", "data", "exercises", "figures", "init", "losses", "panels",
    "plotting", "tensors", "training",
}


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, PyTorch and (if installed) NumPy with ``seed``."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be in [0, 2**32), got {seed}")
    random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    torch.manual_seed(seed)
    try:
        import numpy as np
    except ImportError:  # numpy is optional for the core package
        return
    np.random.seed(seed)


def get_device() -> torch.device:
    """Return the best available device: ``cuda``, then ``mps``, then ``cpu``."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def __getattr__(name: str):
    """Import chapter modules lazily, so ``helpers.losses`` works after ``import helpers``."""
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
