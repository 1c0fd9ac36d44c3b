"""Course navigation: prerequisites in every title, previous/next links at the end of every notebook,
the README's two chapter tables in agreement, and the glossary up to date with the notebooks."""
from __future__ import annotations

import pathlib
import re
import sys

import pytest

import helpers

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import glossary  # noqa: E402
import nb as nbtool  # noqa: E402

# The full course, in reading order: the names every link must use.
COURSE = [chapter.notebook for chapter in helpers.CHAPTERS.values()]

SOURCES = sorted((ROOT / "notebooks" / "src").glob("[0-9][0-9]_*.py"))
NOTEBOOK_LINK = re.compile(r"\]\(([^)\s]+\.ipynb)\)")


def _cells(src: pathlib.Path) -> list[tuple[str, str]]:
    return nbtool.parse_source(src.read_text(encoding="utf-8"))


def navigation_problems(stem: str, last_markdown: str) -> list[str]:
    """What is wrong with the links at the end of notebook ``stem`` (empty when right)."""
    if stem not in COURSE:
        return [f"{stem} is not in the course list {COURSE}"]
    i = COURSE.index(stem)
    expected = [f"{name}.ipynb" for name in (COURSE[i - 1] if i > 0 else None, COURSE[i + 1] if i + 1 < len(COURSE) else None)
                if name]
    links = NOTEBOOK_LINK.findall(last_markdown)
    problems = [f"links to {link}, which is not a course notebook" for link in links
                if link.removesuffix(".ipynb") not in COURSE]
    if links != expected:
        problems.append(f"the last markdown cell links {links}, expected exactly {expected} (previous, then next)")
    return problems


def test_course_list_is_in_number_order():
    assert [name[:2] for name in COURSE] == [f"{i:02d}" for i in range(11)]


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.stem)
def test_title_cell_states_prerequisites(src):
    kind, title = _cells(src)[0]
    assert kind == "markdown"
    assert re.search(r"^\*\*先修\*\*[:：]\s*\S", title, re.M), f"{src.name}: the title cell needs a '**先修**：…' line"


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.stem)
def test_notebook_ends_with_links_to_the_previous_and_next_chapter(src):
    markdown = [text for kind, text in _cells(src) if kind == "markdown"]
    assert not navigation_problems(src.stem, markdown[-1])


def test_navigation_check_catches_wrong_links():
    right = "[← 第4章 损失函数](04_losses.ipynb) · [第6章 学习率衰减 →](06_lr_schedules.ipynb)"
    assert navigation_problems("05_optimizers", right) == []
    assert navigation_problems("00_overview", "[第1章 张量 →](01_tensors.ipynb)") == []
    assert navigation_problems("10_dataloader", "[← 第9章](09_rnn.ipynb)") == []
    assert navigation_problems("05_optimizers", "[← 第4章](04_losses.ipynb)")  # next is missing
    assert navigation_problems("05_optimizers", "[→](06_lr_schedules.ipynb) [←](04_losses.ipynb)")  # order
    wrong_name = navigation_problems("05_optimizers", "[←](04_loss.ipynb) · [→](06_lr_schedules.ipynb)")
    assert any("not a course notebook" in p for p in wrong_name)
    assert navigation_problems("05_optim", right)


def test_overview_course_map_links_every_chapter():
    src = ROOT / "notebooks" / "src" / "00_overview.py"
    markdown = "\n".join(text for kind, text in _cells(src) if kind == "markdown")
    assert set(NOTEBOOK_LINK.findall(markdown)) >= {f"{name}.ipynb" for name in COURSE}


# ----------------------------------------------------------------------------- README
def readme_tables(text: str) -> list[list[str]]:
    """The notebook names of each markdown table whose first column lists notebooks, in order."""
    tables, current = [], None
    for line in text.splitlines():
        if not line.lstrip().startswith("|"):
            current = None
            continue
        first = line.strip().strip("|").split("|")[0]
        name = re.search(r"\b(\d\d_\w+\.ipynb)\b", first)
        if name:
            if current is None:
                current = []
                tables.append(current)
            current.append(name.group(1))
    return tables


def test_readme_tables_parser():
    text = ("| notebook | topic |\n|---|---|\n| `00_a.ipynb` | x |\n| `01_b.ipynb` | y |\n\ntext\n\n"
            "| 笔记本 | 主题 |\n|---|---|\n| [01_b.ipynb](notebooks/01_b.ipynb) | 乙 |\n| `00_a.ipynb` | 甲 |\n")
    assert readme_tables(text) == [["00_a.ipynb", "01_b.ipynb"], ["01_b.ipynb", "00_a.ipynb"]]


def test_readme_english_and_chinese_tables_list_the_same_notebooks():
    tables = readme_tables((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(tables) == 2, f"expected the English and the 中文 chapter tables, found {len(tables)} notebook tables"
    english, chinese = tables
    assert english == chinese, "the English and 中文 tables must list the same notebooks in the same order"
    assert english == sorted(english), "notebooks are listed in chapter order"
    notebooks = {p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    missing = sorted(notebooks - set(english))
    assert not missing, f"README does not list {missing}"
    assert all(name.removesuffix(".ipynb") in COURSE for name in english)


# ----------------------------------------------------------------------------- glossary
def _glossary_rows(text: str) -> set[tuple[str, str]]:
    rows = set()
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and line.startswith("|") and not set(cells[0]) <= {"-"}:
            rows.add((cells[0], cells[1]))
    return rows


def test_every_term_the_notebooks_define_is_in_the_glossary():
    listed = _glossary_rows((ROOT / "GLOSSARY.md").read_text(encoding="utf-8"))
    missing = [f"{t.zh} ({t.en}), {t.notebook}" for t in glossary.collect() if (t.zh, t.en) not in listed]
    assert not missing, "run `python tools/glossary.py`; GLOSSARY.md lacks: " + "; ".join(missing)


def test_glossary_extracts_terms_in_both_parenthesis_styles():
    text = ("损失函数（loss function）把误差压成一个数。模型的输出叫 logits，"
            "输入先缩放，归一化 (normalization) 之后再训练，见勘误（E5）和形状（N, C）。\n"
            "**端到端学习**（end-to-end learning）很方便；k 近邻（k-nearest neighbours）也行。\n"
            "代码 `张量（tensor）` 和公式 $均值（mean）$ 不算；第2章讲的是激活函数（activation function）。")
    assert glossary.terms_in_text(text) == [
        ("损失函数", "loss function"), ("归一化", "normalization"), ("端到端学习", "end-to-end learning"),
        ("k 近邻", "k-nearest neighbours"), ("激活函数", "activation function")]
    assert glossary.terms_in_text("# 第4章 损失函数 (Loss functions)") == []


def test_glossary_cuts_the_phrase_before_a_term():
    assert glossary.terms_in_text("这叫表示学习（representation learning）") == [("表示学习", "representation learning")]
    counts = "离群点很少。离群点多。对称性".count
    assert glossary.terms_in_text("它对离群点（outlier）稳健", counts) == [("离群点", "outlier")]
    assert glossary.terms_in_text("初始化会把对称性（symmetry）打破", counts) == [("对称性", "symmetry")]


def test_glossary_lists_each_chinese_term_once_in_chapter_order(tmp_path):
    (tmp_path / "00_a.py").write_text("# %% [markdown]\n# # 第0章 甲 (A)\n#\n# 张量（tensor）与梯度（gradient）\n",
                                      encoding="utf-8")
    (tmp_path / "01_b.py").write_text("# %% [markdown]\n# # 第1章 乙 (B)\n# %% [markdown]\n# 梯度（gradient）和广播（broadcasting）\n",
                                      encoding="utf-8")
    terms = glossary.collect(tmp_path)
    assert [(t.zh, t.chapter) for t in terms] == [("张量", "00"), ("梯度", "00"), ("广播", "01")]
    assert "| 广播 | broadcasting | [第1章](notebooks/01_b.ipynb) |" in glossary.render(terms)


def test_glossary_check_fails_when_out_of_date(tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    (src / "00_a.py").write_text("# %% [markdown]\n# # 第0章 甲 (A)\n#\n# 张量（tensor）\n", encoding="utf-8")
    out = tmp_path / "GLOSSARY.md"
    assert glossary.main(["--check"], src_dir=src, out=out) == 1  # no file yet
    assert glossary.main([], src_dir=src, out=out) == 0
    assert glossary.main(["--check"], src_dir=src, out=out) == 0
    (src / "01_b.py").write_text("# %% [markdown]\n# # 第1章 乙 (B)\n#\n# 广播（broadcasting）\n", encoding="utf-8")
    assert glossary.main(["--check"], src_dir=src, out=out) == 1
    capsys.readouterr()


def test_committed_glossary_is_up_to_date():
    assert glossary.main(["--check"]) == 0, "run `python tools/glossary.py`"
