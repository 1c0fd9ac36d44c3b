"""Shared helpers for the interactive PyTorch course.

Layout (one list of chapters, ``CHAPTERS``, drives the panel registry, the tests and the benchmark):

- ``helpers/<topic>.py``: a chapter's math only, short functions written from the formulas
  (``helpers.losses.huber``, ``helpers.optim.Adam`` ...). Importing one loads neither ipywidgets nor matplotlib.
- ``helpers/panels/<topic>.py``: that chapter's figures and interactive panels, on the shared machinery
  in ``helpers/panels/base.py`` and the drawing pieces in ``helpers/panels/pieces.py``.
- ``helpers/exercises/<topic>.py``: that chapter's answer checkers.
- cross-cutting: ``training`` (``fit``, ``History``, ``evaluate``), ``data``, ``plotting``, ``figures`` (``pic/``),
  ``checks`` (the argument checks the math modules share).

Importing the package is cheap: only ``torch`` is loaded here; submodules load on first use.
"""
from __future__ import annotations

import importlib
import os
import random
from typing import NamedTuple

import torch

__all__ = ["CHAPTERS", "Chapter", "TOPICS", "seed_everything", "get_device", "show_source", "doctor"]


class Chapter(NamedTuple):
    """One chapter: its topic names helpers/<topic>.py, helpers/panels/<topic>.py and helpers/exercises/<topic>.py;
    its notebook is notebooks/<notebook>.ipynb (source notebooks/src/<notebook>.py)."""

    topic: str
    notebook: str


# chapter number -> Chapter: the one list of chapters that the registry, the tests, the tools and the benchmark use
CHAPTERS: dict[str, Chapter] = {
    "00": Chapter("overview", "00_overview"), "01": Chapter("tensors", "01_tensors"),
    "02": Chapter("activations", "02_activations"), "03": Chapter("init", "03_initialization"),
    "04": Chapter("losses", "04_losses"), "05": Chapter("optim", "05_optimizers"),
    "06": Chapter("schedules", "06_lr_schedules"), "07": Chapter("regularization", "07_regularization"),
    "08": Chapter("cnn", "08_cnn"), "09": Chapter("rnn", "09_rnn"), "10": Chapter("dataloader", "10_dataloader"),
}
TOPICS: tuple[str, ...] = tuple(chapter.topic for chapter in CHAPTERS.values())

_SUBMODULES = {*TOPICS, "data", "exercises", "figures", "panels", "plotting", "training"}


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


def show_source(obj) -> None:
    """Show the source code of a helper (function or class) highlighted, so a notebook can show the code it checks."""
    import inspect

    from IPython.display import Markdown, display

    try:
        source = inspect.getsource(obj)
    except (TypeError, OSError) as exc:
        raise TypeError(f"obj must be a function or class defined in Python source, got {obj!r}") from exc
    module = getattr(obj, "__module__", "")
    display(Markdown(f"`{module}.{obj.__qualname__}`\n\n```python\n{source.rstrip()}\n```"))


from .doctor import doctor  # noqa: E402  (``helpers.doctor()``: the environment self-check; stdlib imports only)


def __getattr__(name: str):
    """Import chapter modules lazily, so ``helpers.losses`` works after ``import helpers``."""
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
