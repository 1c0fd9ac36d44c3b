"""Interactive panels: the shared machinery (``base``), the drawing pieces (``pieces``) and one module per
chapter (``helpers.panels.losses`` ...) holding that chapter's figures and panels. Tools for tests, benchmarks
and the static site (full redraws, control samples, timings) are in ``helpers.panels.testing``.

In a notebook: ``from helpers.panels.losses import loss_panel``, then ``loss_panel()`` in a cell.
"""
from __future__ import annotations

import importlib
from typing import Callable

from .. import TOPICS
from .base import (PANELS, PIXEL_RATIO, Panel, PanelMessage, check_finite, checkbox, dropdown, float_slider, int_slider,
                   log_slider, play_slider, swept,
                   one_thread, register)

__all__ = [
    "Panel", "PanelMessage", "register", "all_panels", "chapter_panels", "float_slider", "int_slider",
    "log_slider", "play_slider", "swept", "dropdown", "checkbox", "check_finite", "one_thread", "PANELS", "PIXEL_RATIO",
]


def chapter_panels(topic: str) -> dict[str, Callable[[], Panel]]:
    """``{name: builder}`` for the panels of one chapter (``topic`` as in ``helpers.TOPICS``)."""
    if topic not in TOPICS:
        raise ValueError(f"topic must be one of {list(TOPICS)}, got {topic!r}")
    module = importlib.import_module(f"{__name__}.{topic}")
    return {name: b for name, b in PANELS.items() if b.__module__ == module.__name__}


def all_panels() -> dict[str, Callable[[], Panel]]:
    """Import every chapter's panel module and return ``{name: builder}`` for all panels."""
    found = {}
    for topic in TOPICS:
        found.update(chapter_panels(topic))
    return found
