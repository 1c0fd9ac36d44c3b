"""Notebook hygiene (COURSE.md §6): one clean run committed, small, same setup cell, required sections."""
from __future__ import annotations

import json
import pathlib
import re
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import nb as nbtool  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SOURCES = sorted((ROOT / "notebooks" / "src").glob("[0-9][0-9]_*.py"))
MACHINE_PATH = re.compile(r"(/(work|root|tmp|home|Users|content)/|[A-Za-z]:\\\\Users)")
REQUIRED_HEADINGS = ["## 小结", "## 面试速答", "## 练习"]


def _load(path: pathlib.Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _text(cell) -> str:
    src = cell["source"]
    return src if isinstance(src, str) else "".join(src)


def test_every_source_has_its_notebook_and_back():
    assert [p.stem for p in SOURCES] == [p.stem for p in NOTEBOOKS]
    assert len(NOTEBOOKS) >= 1


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_matches_its_source(path):
    """The committed notebook was built from notebooks/src (run `make notebooks` after editing)."""
    built = nbtool.make_notebook(ROOT / "notebooks" / "src" / f"{path.stem}.py")
    committed = _load(path)["cells"]
    assert [(c.cell_type, c.source) for c in built.cells] == [(c["cell_type"], _text(c)) for c in committed]


CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")   # any control character but newline (a stray TAB from "\t" in "$2\times2$")


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.name)
def test_markdown_has_no_control_characters(src):
    for i, (kind, text) in enumerate(nbtool.parse_source(src.read_text(encoding="utf-8"))):
        if kind == "markdown":
            found = CONTROL.search(text)
            assert not found, f"markdown cell {i}: control character {found.group()!r} in {text[max(found.start() - 30, 0):found.end() + 30]!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_one_clean_top_to_bottom_run(path):
    cells = _load(path)["cells"]
    counts = [c["execution_count"] for c in cells if c["cell_type"] == "code"]
    assert counts == list(range(1, len(counts) + 1))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_errors_stderr_or_machine_paths_in_outputs(path):
    for i, cell in enumerate(_load(path)["cells"]):
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error", f"cell {i}: {out.get('ename')}: {out.get('evalue')}"
            assert not (out["output_type"] == "stream" and out["name"] == "stderr"), f"cell {i}: {out['text']!r:.200}"
            text = json.dumps(out.get("text", "")) + json.dumps(out.get("data", {}).get("text/plain", ""))
            text += json.dumps(out.get("data", {}).get("text/html", ""))
            assert not MACHINE_PATH.search(text), f"cell {i} shows a machine path"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_small_and_without_saved_widget_state(path):
    assert path.stat().st_size < 1_000_000
    meta = _load(path)["metadata"]
    assert "widgets" not in meta
    assert meta["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_title_badge_and_identical_setup_cell(path):
    cells = _load(path)["cells"]
    title = _text(cells[0])
    assert re.match(r"# 第\d+章 \S.*\(.+\)", title.splitlines()[0]), title.splitlines()[0]
    assert "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]" in title
    assert "学习目标" in title and "预计用时" in title
    assert cells[1]["cell_type"] == "code" and _text(cells[1]) == nbtool.setup_cell_source()
    assert cells[1]["outputs"] == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_required_sections(path):
    cells = _load(path)["cells"]
    markdown = "\n".join(_text(c) for c in cells if c["cell_type"] == "markdown")
    code = "\n".join(_text(c) for c in cells if c["cell_type"] == "code")
    for heading in REQUIRED_HEADINGS:
        assert re.search(rf"^{re.escape(heading)}\s*$", markdown, re.M), f"missing section {heading}"
    assert "验证" in markdown, "no 验证 (check) section"
    assert "⚠ 笔记勘误" in markdown, "no ⚠ 笔记勘误 (erratum) callout"
    assert "<details>" in markdown and "参考答案" in markdown, "exercises need collapsed solutions"
    assert re.search(r"exercises\.check_\w+\(", code), "exercises need helpers.exercises checkers"
    assert "assert " in code, "验证 cells check claims with assert"
    assert "# NBVAL_CHECK_OUTPUT" in code, "deterministic printed results are checked by nbval"
    order = [markdown.index(h) for h in REQUIRED_HEADINGS]
    assert order == sorted(order), "小结, 面试速答, 练习 come in this order"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_math_uses_dollar_delimiters_only(path):
    for cell in _load(path)["cells"]:
        if cell["cell_type"] == "markdown":
            assert not re.search(r"\\\(|\\\[", _text(cell)), _text(cell)[:120]


MAX_CODE_LINES = 15  # COURSE.md §3: a cell shows one idea; longer logic belongs in helpers


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_code_cells_are_short(path):
    cells = _load(path)["cells"]
    assert len(_text(cells[1]).splitlines()) <= MAX_CODE_LINES, "the shared setup cell grew past the limit"
    long = [(i, len(_text(c).splitlines())) for i, c in enumerate(cells)
            if c["cell_type"] == "code" and len(_text(c).splitlines()) > MAX_CODE_LINES]
    assert not long, f"code cells over {MAX_CODE_LINES} lines (cell index, lines): {long}"
