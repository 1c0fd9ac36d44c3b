"""Interactive panels: the shared machinery (``base``), the drawing pieces (``pieces``) and one module per
chapter (``helpers.panels.losses`` ...) holding that chapter's figures and panels.

In a notebook: ``from helpers.panels.losses import loss_panel``, then ``loss_panel()`` in a cell.
"""
from __future__ import annotations

import importlib
import importlib.util
from typing import Callable

from .. import CHAPTERS
from .base import (PANELS, Panel, PanelMessage, check_finite, checkbox, control_samples, dropdown, float_slider, int_slider,
                   log_slider, one_thread, register, sample_values, sweep_values, time_updates)

__all__ = [
    "Panel", "PanelMessage", "register", "all_panels", "chapter_panels", "float_slider", "int_slider",
    "log_slider", "dropdown", "checkbox", "control_samples", "sample_values", "sweep_values", "time_updates", "check_finite",
    "one_thread", "PANELS",
]


def chapter_panels(topic: str) -> dict[str, Callable[[], Panel]]:
    """``{name: builder}`` for the panels of one chapter (``topic`` as in ``helpers.CHAPTERS``); {} if it has none yet."""
    if topic not in CHAPTERS.values():
        raise ValueError(f"topic must be one of {list(CHAPTERS.values())}, got {topic!r}")
    if importlib.util.find_spec(f"{__name__}.{topic}") is None:
        return {}
    module = importlib.import_module(f"{__name__}.{topic}")
    return {name: b for name, b in PANELS.items() if b.__module__ == module.__name__}


def all_panels() -> dict[str, Callable[[], Panel]]:
    """Import every chapter's panel module that exists and return ``{name: builder}`` for all panels."""
    found = {}
    for topic in CHAPTERS.values():
        found.update(chapter_panels(topic))
    return found
