"""The package layout: one list of chapters; math modules free of widgets and plotting; every panel a
notebook calls is found by the registry under its chapter."""
from __future__ import annotations

import pathlib
import re
import subprocess
import sys

import pytest

import helpers
from helpers import panels as P

ROOT = pathlib.Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "notebooks" / "src").glob("[0-9][0-9]_*.py"))
MATH_MODULES = sorted(topic for topic in helpers.TOPICS if (ROOT / "helpers" / f"{topic}.py").exists())


def test_chapters_list_matches_the_notebooks():
    """helpers.CHAPTERS names exactly the notebook sources, each under its own number, each with its math module."""
    assert [c.notebook for c in helpers.CHAPTERS.values()] == [src.stem for src in SOURCES]
    for number, chapter in helpers.CHAPTERS.items():
        assert chapter.notebook.startswith(number + "_"), chapter
        assert (ROOT / "helpers" / f"{chapter.topic}.py").exists(), f"{chapter}: no math module helpers/{chapter.topic}.py"


def test_math_modules_load_neither_widgets_nor_plotting():
    """One fresh interpreter imports every chapter's math module; none of them may pull in the drawing stack."""
    code = ("import importlib, sys\n"
            f"for topic in {MATH_MODULES!r}:\n"
            "    importlib.import_module('helpers.' + topic)\n"
            "    loaded = [m for m in ('matplotlib', 'ipywidgets', 'PIL', 'IPython') if m in sys.modules]\n"
            "    if loaded:\n"
            "        sys.exit(f'helpers.{topic} imports {loaded}')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr + out.stdout
    assert MATH_MODULES == sorted(helpers.TOPICS), "a topic without its math module was left out"


def test_every_chapter_module_is_reachable_from_import_helpers():
    for topic in helpers.TOPICS:
        if (ROOT / "helpers" / f"{topic}.py").exists():
            assert getattr(helpers, topic).__name__ == f"helpers.{topic}"


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.name)
def test_every_panel_a_notebook_calls_is_registered_under_its_chapter(src):
    called = set(re.findall(r"\b(\w+_panel)\(", src.read_text(encoding="utf-8")))
    number = src.stem[:2]
    registered = P.all_panels()
    missing = sorted(called - set(registered))
    assert not missing, f"{src.name} calls panels the registry does not find: {missing}"
    if number in helpers.CHAPTERS:
        own = P.chapter_panels(helpers.CHAPTERS[number].topic)
        assert set(own) == called, f"{src.name} calls {sorted(called)}; helpers/panels/{helpers.CHAPTERS[number].topic}.py registers {sorted(own)}"


def test_chapter_panels_rejects_an_unknown_topic():
    with pytest.raises(ValueError, match="topic"):
        P.chapter_panels("quantum")
