"""Build the course's Chinese-English glossary, ``GLOSSARY.md``, from the notebook sources.

The course's style rule: a term's English name follows it in parentheses at first use, as
``中文术语（English term）`` or ``中文术语 (English term)``. This tool collects those pairs from the
markdown cells of ``notebooks/src/NN_*.py`` (code, inline code, math and fenced blocks are skipped)
and lists each Chinese term once, with the chapter where it first appears, in chapter order and
then in order of appearance.

    python tools/glossary.py            # write GLOSSARY.md
    python tools/glossary.py --check    # exit 1 if GLOSSARY.md is out of date
"""
from __future__ import annotations

import argparse
import pathlib
import re
import sys
from dataclasses import dataclass

ROOT = pathlib.Path(__file__).resolve().parents[1]
SRC_DIR = ROOT / "notebooks" / "src"
GLOSSARY = ROOT / "GLOSSARY.md"

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import nb as nbtool  # noqa: E402

_HAN = r"\u3400-\u4dbf\u4e00-\u9fff"
_EN = r"(?:（(?P<en1>[^（）]+)）|\((?P<en2>[^()]+)\))"
# a bold term: "**端到端学习**（end-to-end learning）" names exactly the bold words
BOLD_TERM = re.compile(rf"\*\*(?P<zh>[^*\n]{{1,20}})\*\*\s?{_EN}")
# otherwise: an optional single Latin letter ("k 近邻", "K-均值"), a run of Han characters, then the English
TERM = re.compile(rf"(?P<zh>(?<![A-Za-z0-9])(?:[A-Za-z][ -]?)?[{_HAN}]+)\s?{_EN}")
# the English side: Latin words (letters, digits, spaces, hyphens, apostrophes, commas, slashes, dots)
ENGLISH = re.compile(r"[A-Za-z][A-Za-z0-9 ,'./+-]*")
NOT_A_TERM = re.compile(r"^(?:[A-Z]\d+(?:\s*[,，].*)?|e\.g\..*|i\.e\..*)$")  # erratum ids (E5), asides
# words that end the phrase before a term: "……说明的交叉熵（cross-entropy）" -> "交叉熵". The first group
# (almost) never occurs inside a term; the second sometimes does ("对称性"), so a cut there must leave a
# term that the course also uses elsewhere without that particle in front.
PARTICLES = ("的", "了", "是", "即", "叫", "称为", "称作", "把", "被", "这", "那", "就是", "一种", "交给",
             "处于", "没有", "说清", "读懂", "可以用", "和", "与", "或")
RISKY_PARTICLES = ("在", "由", "靠", "要", "给", "让", "从", "用", "对", "个")
MAX_ZH = 12


@dataclass(frozen=True)
class Term:
    """One glossary entry: the Chinese term, its English name and the chapter that first uses it."""

    zh: str
    en: str
    chapter: str      # "00", "01", ...
    notebook: str     # "00_overview.ipynb"


def _prose(markdown: str) -> str:
    """Markdown without fenced code, inline code, math, link targets and HTML tags (bold markers stay)."""
    text = re.sub(r"```.*?```", " ", markdown, flags=re.S)
    text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.S)
    text = re.sub(r"\$[^$\n]*\$", " ", text)
    text = re.sub(r"`[^`\n]*`", " ", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    return re.sub(r"<[^>\n]+>", " ", text)


def _english(m: re.Match) -> str | None:
    """The parenthesised English of a match, or None when it is not a term (an id, a shape, Chinese)."""
    en = (m.group("en1") or m.group("en2")).strip()
    if not ENGLISH.fullmatch(en) or NOT_A_TERM.match(en) or re.search(r"[A-Za-z]{2}", en) is None:
        return None
    return en


def _cut(zh: str, counts) -> str:
    """The term at the end of a Han run: what follows the last particle before it."""
    cut = max((zh.rfind(p) + len(p) for p in PARTICLES if zh.rfind(p) >= 0), default=0)
    if len(zh) - cut >= 1:
        zh = zh[cut:]
    for p in RISKY_PARTICLES:
        at = zh.rfind(p)
        rest = zh[at + len(p):] if at >= 0 else ""
        if len(rest) >= 2 and counts is not None and counts(rest) > counts(p + rest):
            zh = rest
    return zh[-MAX_ZH:]


def terms_in_text(markdown: str, counts=None) -> list[tuple[str, str]]:
    """``[(中文, English), ...]`` in order of appearance in one markdown text.

    ``counts(s)`` (optional) says how often ``s`` occurs in the whole course: a cut at a particle that may
    also sit inside a term ("和", "对") is made only when the rest is a term used elsewhere too.
    """
    found = []
    for line in _prose(markdown).splitlines():
        if re.match(r"\s*#\s*第\s*\d+\s*章", line):  # the title line names the chapter, not a term
            continue
        hits = []
        for m in BOLD_TERM.finditer(line):
            en = _english(m)
            zh = m.group("zh").strip()
            if en and re.fullmatch(rf"[{_HAN}A-Za-z0-9 -]*[{_HAN}][{_HAN}A-Za-z0-9 -]*", zh):
                hits.append((m.start(), zh, en))
        plain = BOLD_TERM.sub(lambda m: " " * len(m.group(0)), line).replace("**", "  ")
        for m in TERM.finditer(plain):
            en = _english(m)
            if en:
                zh = _cut(m.group("zh").strip(), counts)
                if re.search(f"[{_HAN}]", zh):
                    hits.append((m.start(), zh, en))
        found.extend((zh, en) for _, zh, en in sorted(hits))
    return found


def _markdown_cells(src_dir: pathlib.Path) -> list[tuple[pathlib.Path, str]]:
    cells = []
    for src in sorted(src_dir.glob("[0-9][0-9]_*.py")):
        cells += [(src, text) for kind, text in nbtool.parse_source(src.read_text(encoding="utf-8")) if kind == "markdown"]
    return cells


def collect(src_dir: pathlib.Path = SRC_DIR) -> list[Term]:
    """Every term of the notebook sources in ``src_dir``, once per Chinese term (its first use)."""
    cells = _markdown_cells(src_dir)
    corpus = "\n".join(_prose(text).replace("**", "") for _, text in cells)
    seen: dict[str, Term] = {}
    for src, text in cells:
        if True:
            for zh, en in terms_in_text(text, corpus.count):
                if zh not in seen:
                    seen[zh] = Term(zh, en, src.stem[:2], f"{src.stem}.ipynb")
    return list(seen.values())


def render(terms: list[Term]) -> str:
    """The text of GLOSSARY.md: one table, chapter by chapter, terms in order of first appearance."""
    lines = [
        "# 中英术语表 (Glossary)",
        "",
        "Generated by `python tools/glossary.py` from the notebook sources (`notebooks/src/`); do not edit by hand.",
        "A term is listed where a chapter first writes it as `中文术语（English term）`.",
        "",
        "| 中文 | English | 章节 (chapter) |",
        "|---|---|---|",
    ]
    for t in terms:
        number = int(t.chapter)
        lines.append(f"| {t.zh} | {t.en} | [第{number}章](notebooks/{t.notebook}) |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None, *, src_dir: pathlib.Path = SRC_DIR, out: pathlib.Path = GLOSSARY) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 if the glossary file is out of date")
    args = parser.parse_args(argv)
    text = render(collect(src_dir))
    current = out.read_text(encoding="utf-8") if out.exists() else None
    if args.check:
        if current != text:
            print(f"{out.name} is out of date: run `python tools/glossary.py`", file=sys.stderr)
            return 1
        print(f"{out.name} is up to date")
        return 0
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out.name}: {text.count(chr(10)) - 7} terms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
