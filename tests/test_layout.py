"""The package layout: one list of chapters; math modules free of widgets and plotting; every panel a
notebook calls is found by the registry under its chapter."""
from __future__ import annotations

import ast
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


PANEL_ENDINGS = ("_panel", "_figure")


def _public_names(path: pathlib.Path) -> list[str]:
    """Public names defined at the top level of a module: defs, classes and assignment targets without a leading "_"."""
    names = []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names += [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]
    return [name for name in names if not name.startswith("_")]


@pytest.mark.parametrize("topic", helpers.TOPICS)
def test_panel_modules_only_draw(topic):
    """Panels only draw: a panel module's public top-level names end in _panel or _figure; models, data makers and
    tables live in helpers/<topic>.py."""
    path = ROOT / "helpers" / "panels" / f"{topic}.py"
    if not path.exists():
        pytest.skip(f"no helpers/panels/{topic}.py")
    offending = [name for name in _public_names(path) if not name.endswith(PANEL_ENDINGS)]
    assert not offending, f"helpers/panels/{topic}.py defines public names that are not panels or figures: {offending}"


def test_public_names_sees_every_kind_of_definition(tmp_path):
    """The parser behind the layer rule finds defs, classes, plain, annotated and tuple assignments, and skips privates."""
    module = tmp_path / "m.py"
    module.write_text("import os\nfrom x import y\ndef f(): pass\nclass C: pass\nA = 1\nB: int = 2\nD, E = 3, 4\n"
                      "_P = 5\ndef _g(): pass\nif True:\n    inner = 6\n", encoding="utf-8")
    assert _public_names(module) == ["f", "C", "A", "B", "D", "E"]


def _panel_names_used(source: str) -> list[str]:
    """Every name a notebook takes from helpers.panels.*: imported by name, or read as an attribute of an imported
    panel module (``from helpers.panels import tensors as TP`` ... ``TP.domain_panel``)."""
    tree = ast.parse(source)
    used, modules = [], {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "helpers.panels":
            modules.update({a.asname or a.name: a.name for a in node.names})
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("helpers.panels."):
            used += [f"{node.module}.{a.name}" for a in node.names]
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules:
            used.append(f"helpers.panels.{modules[node.value.id]}.{node.attr}")
    return used


def test_panel_names_used_sees_both_import_forms():
    source = ("from helpers.panels.losses import loss_panel, LOSSES\nfrom helpers.panels import tensors as TP\n"
              "TP.domain_panel()\nTP.make_data()\n")
    assert sorted(_panel_names_used(source)) == ["helpers.panels.losses.LOSSES", "helpers.panels.losses.loss_panel",
                                                 "helpers.panels.tensors.domain_panel", "helpers.panels.tensors.make_data"]


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.name)
def test_notebooks_import_only_panels_and_figures_from_panel_modules(src):
    """A notebook takes its models and data from helpers/<topic>.py; from helpers.panels.* it uses only drawing."""
    used = _panel_names_used(src.read_text(encoding="utf-8"))
    offending = sorted({name for name in used if not name.endswith(PANEL_ENDINGS)})
    assert not offending, f"{src.name} takes non-drawing names from panel modules: {offending}"
