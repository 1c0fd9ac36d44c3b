"""Notebook hygiene (docs/design.md, section 5): one clean run committed, small, same setup cell, required sections."""
from __future__ import annotations

import json
import pathlib
import re
import sys

import pytest

from helpers import CHAPTERS

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


def test_every_chapter_has_its_source_and_notebook():
    chapters = [chapter.notebook for chapter in CHAPTERS.values()]
    assert [p.stem for p in SOURCES] == chapters
    assert [p.stem for p in NOTEBOOKS] == chapters


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


# An id of the errata/demo list ("E43", "C31") or a pointer to an internal document, in text a learner reads.
INTERNAL_REFERENCE = re.compile(r"(?<![A-Za-z0-9_])[EC][0-9]{1,2}(?![0-9A-Za-z_])|checklist|seed-checklist|COURSE\.md")
_MATH = re.compile(r"\$\$.*?\$\$|\$[^$]*\$|`[^`]*`", re.S)   # formulas and code spans may say "C1" or "E2"


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.name)
def test_learner_text_cites_no_internal_ids(src):
    for i, (kind, text) in enumerate(nbtool.parse_source(src.read_text(encoding="utf-8"))):
        if kind == "markdown":
            found = INTERNAL_REFERENCE.search(_MATH.sub(" ", text))
            assert not found, f"markdown cell {i} cites {found.group()!r}: learners cannot look it up"


def test_internal_id_pattern_catches_ids_and_spares_formulas():
    hits = [bool(INTERNAL_REFERENCE.search(_MATH.sub(" ", t))) for t in
            ("⚠ 笔记勘误（E30）", "见 checklist C31", "(E5)", "$C_1 = E2$", "`E2E`", "ResNet50", "E 步", "Conv2d")]
    assert hits == [True, True, True, False, False, False, False, False]


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


MAX_CODE_LINES = 15  # a cell shows one idea; longer logic belongs in helpers (docs/design.md, section 6)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_code_cells_are_short(path):
    cells = _load(path)["cells"]
    assert len(_text(cells[1]).splitlines()) <= MAX_CODE_LINES, "the shared setup cell grew past the limit"
    long = [(i, len(_text(c).splitlines())) for i, c in enumerate(cells)
            if c["cell_type"] == "code" and len(_text(c).splitlines()) > MAX_CODE_LINES]
    assert not long, f"code cells over {MAX_CODE_LINES} lines (cell index, lines): {long}"


QUICKEST = "01_tensors"  # the notebook that builds fastest (about 8 s): rebuilt twice below


def test_a_rebuild_from_unchanged_sources_writes_the_same_bytes(tmp_path):
    """Widget ids, the chunks of printed output and every printed number are the same on every run."""
    src = ROOT / "notebooks" / "src" / f"{QUICKEST}.py"
    built = []
    for run in ("first", "second"):
        (tmp_path / run).mkdir()
        path, _ = nbtool.build_one(src, tmp_path / run)
        built.append(path.read_bytes())
    assert built[0] == built[1], "two builds of the same source differ: an output carries a time, a path or a random id"


def test_stable_outputs_fix_widget_ids_and_merge_streams():
    import nbformat

    view = "application/vnd.jupyter.widget-view+json"
    first, second = "0f" * 16, "a1" * 16
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x"), nbformat.v4.new_code_cell("y")])
    nb.cells[0].outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="a\n"),
        nbformat.v4.new_output("stream", name="stdout", text="b\n"),
        nbformat.v4.new_output("display_data", data={view: {"model_id": second}, "text/plain": f"shows {second}"}),
    ]
    nb.cells[1].outputs = [nbformat.v4.new_output("display_data", data={view: {"model_id": first}}),
                           nbformat.v4.new_output("display_data", data={view: {"model_id": second}})]
    nbtool.stable_outputs(nb, "99_demo")
    outputs = nb.cells[0].outputs + nb.cells[1].outputs
    assert [o.output_type for o in outputs] == ["stream", "display_data", "display_data", "display_data"]
    assert outputs[0].text == "a\nb\n"
    ids = [o.data[view]["model_id"] for o in outputs[1:]]
    assert ids[0] == ids[2] != ids[1] and not {first, second} & set(ids)
    assert outputs[1].data["text/plain"] == f"shows {ids[0]}"
    again = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("z")])
    again.cells[0].outputs = [nbformat.v4.new_output("display_data", data={view: {"model_id": "ff" * 16}})]
    nbtool.stable_outputs(again, "99_demo")
    assert again.cells[0].outputs[0].data[view]["model_id"] == ids[0]  # the first widget of a notebook, every build
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)  # shaped like the ids ipywidgets makes
