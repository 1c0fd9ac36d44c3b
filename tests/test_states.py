"""Every experiment a notebook's "可以试试" (things to try) text suggests is a named state of a panel shown in
that notebook: the learner gets it in one click ("试试：…" buttons), and the static site renders it exactly.

A suggestion is one item of the list that follows "可以试试" (or its paragraph, when there is no list). It names
its state(s) in corner brackets, 「SGD 发散」, exactly as the panel declares them in ``states=``.
"""
from __future__ import annotations

import functools
import pathlib
import re
import sys

import pytest

from helpers import panels as P

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import nb as nbtool  # noqa: E402

SOURCES = sorted((ROOT / "notebooks" / "src").glob("[0-9][0-9]_*.py"))
ITEM = re.compile(r"^(?:\d+\.|[-*])\s+")
NAMED = re.compile(r"「([^」]+)」")
HEADING = re.compile(r"可以试试\**\s*[：:（(]")  # "可以试试：", "**可以试试**（…）：", not a mention in quotes


def _items(text: str) -> list[str]:
    """The items of a Markdown list, each with its continuation lines."""
    items: list[list[str]] = []
    for line in text.split("\n"):
        if ITEM.match(line.strip()):
            items.append([line.strip()])
        elif line.strip() and items:
            items[-1].append(line.strip())
    return [" ".join(item) for item in items]


def suggestions(markdown: str) -> list[str]:
    """The suggestions of every "可以试试" block in one Markdown cell: the items of the list that follows it
    (in its paragraph or the next ones), or else its own paragraph."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", markdown.strip())]
    found, i = [], 0
    while i < len(paragraphs):
        lines = paragraphs[i].split("\n")
        i += 1
        if not HEADING.search(paragraphs[i - 1]):
            continue
        listed = "\n".join(lines[1:]) if len(lines) > 1 and ITEM.match(lines[1].strip()) else ""
        while len(lines) == 1 and i < len(paragraphs) and ITEM.match(paragraphs[i]) or listed and i < len(
                paragraphs) and ITEM.match(paragraphs[i]):
            listed += "\n" + paragraphs[i]
            i += 1
        found += _items(listed) if listed else [" ".join(line.strip() for line in lines)]
    return found


@functools.cache
def _states(name: str) -> frozenset[str]:
    return frozenset(P.all_panels()[name]().states)


def notebook_states(cells: list[tuple[str, str]]) -> set[str]:
    """The states of every registered panel the notebook's code cells call."""
    registered = P.all_panels()
    called = {m for kind, text in cells if kind == "code" for m in re.findall(r"\b(\w+_panel)\(", text)}
    return set().union(*(_states(name) for name in called if name in registered))


def test_suggestions_are_read_from_lists_and_paragraphs():
    listed = "可以试试：\n\n1. 「甲」第一条；\n2. 「乙」第二条，\n   接着说；\n\n后面的段落。"
    assert suggestions(listed) == ["1. 「甲」第一条；", "2. 「乙」第二条， 接着说；"]
    para = "可以试试：把 「丙」打开，看曲线。\n\n下一段。"
    assert suggestions(para) == ["可以试试：把 「丙」打开，看曲线。"]
    assert suggestions("没有建议。") == [] and suggestions('上面"可以试试"里第 1 条说的结果') == []


CHAPTERS_WITH_SUGGESTIONS = [src for src in SOURCES if "可以试试" in src.read_text(encoding="utf-8")]


@pytest.mark.parametrize("src", CHAPTERS_WITH_SUGGESTIONS, ids=lambda p: p.stem)
def test_every_suggested_experiment_is_a_named_state(src):
    cells = nbtool.parse_source(src.read_text(encoding="utf-8"))
    states = notebook_states(cells)
    items = [item for kind, text in cells if kind == "markdown" for item in suggestions(text)]
    assert items, f"{src.name}: no suggestion found after 可以试试"
    problems = []
    for item in items:
        names = NAMED.findall(item)
        if not names:
            problems.append(f"names no state in 「」: {item[:60]}…")
        problems += [f"「{n}」 is not a state of a panel this notebook shows ({sorted(states)})"
                     for n in names if n not in states]
    assert not problems, f"{src.name}:\n" + "\n".join(problems)
