"""Build, execute and maintain the course notebooks.

Each notebook is written as a plain-text source ``notebooks/src/NN_topic.py``
(cells start with ``# %%``; markdown cells with ``# %% [markdown]`` and every line
commented). ``build`` turns a source into ``notebooks/NN_topic.ipynb``, adds the
Colab badge and the shared setup cell, and executes it top to bottom. A rebuild from
unchanged sources writes the same bytes: consecutive stream outputs are merged and each
widget gets a fixed id (see ``stable_outputs``).

    python tools/nb.py build                 # every notebook
    python tools/nb.py build 02 04           # the ones whose names start with 02 / 04
    python tools/nb.py sync-url              # rewrite badge + repo URL from pyproject.toml
    python tools/nb.py sync-url --check      # exit 1 if any notebook disagrees
"""
from __future__ import annotations

import argparse
import pathlib
import re
import sys
import time
import tomllib
import uuid

ROOT = pathlib.Path(__file__).resolve().parents[1]
NB_DIR = ROOT / "notebooks"
SRC_DIR = NB_DIR / "src"
BADGE_IMG = "https://colab.research.google.com/assets/colab-badge.svg"
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

SETUP_TEMPLATE = '''\
# 准备环境（每一章的第一个代码格都相同）：在 Colab 里自动下载课程代码，在本地什么也不做
import importlib.util, os, subprocess, sys
REPO_URL = "{url}"
if "google.colab" in sys.modules and importlib.util.find_spec("helpers") is None:
    repo_dir = os.path.abspath(REPO_URL.rstrip("/").split("/")[-1].removesuffix(".git"))
    if not os.path.isdir(repo_dir):
        subprocess.run(["git", "clone", "--depth", "1", REPO_URL, repo_dir], check=True)
    sys.path.insert(0, repo_dir)
import helpers
helpers.seed_everything(0)'''


def repo_url() -> str:
    """The repository URL, from ``[project.urls] Repository`` in pyproject.toml."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return data["project"]["urls"]["Repository"].rstrip("/")


def setup_cell_source(url: str | None = None) -> str:
    return SETUP_TEMPLATE.format(url=url or repo_url())


def badge(nb_name: str, url: str | None = None) -> str:
    path = (url or repo_url()).removeprefix("https://github.com/")
    link = f"https://colab.research.google.com/github/{path}/blob/main/notebooks/{nb_name}"
    return f"[![Open In Colab]({BADGE_IMG})]({link})"


def parse_source(text: str) -> list[tuple[str, str]]:
    """Split a percent-format source into ``[(cell_type, source), ...]``."""
    cells: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("# %%"):
            kind = "markdown" if "[markdown]" in line else "code"
            cells.append((kind, []))
            continue
        if not cells:
            continue  # a module docstring or blank lines before the first cell
        kind, lines = cells[-1]
        if kind == "markdown":
            if line.strip() and not line.startswith("#"):
                raise ValueError(f"markdown line does not start with '#': {line!r}")
            line = line[2:] if line.startswith("# ") else line[1:]
        lines.append(line)
    return [(kind, "\n".join(lines).strip("\n")) for kind, lines in cells]


def make_notebook(src: pathlib.Path):
    import nbformat

    cells = parse_source(src.read_text(encoding="utf-8"))
    if not cells or cells[0][0] != "markdown":
        raise ValueError(f"{src}: the first cell must be the markdown title")
    name = src.with_suffix(".ipynb").name
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}}
    title, _, rest = cells[0][1].partition("\n")
    nb.cells.append(nbformat.v4.new_markdown_cell(f"{title}\n\n{badge(name)}\n{rest}".rstrip()))
    nb.cells.append(nbformat.v4.new_code_cell(setup_cell_source()))
    for kind, source in cells[1:]:
        new = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
        nb.cells.append(new(source))
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{src.stem[:2]}-{i:03d}"
    return nb


def execute(nb, timeout: int = 300) -> float:
    from nbclient import NotebookClient

    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": str(NB_DIR)}})
    start = time.perf_counter()
    client.execute()
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}}
    return time.perf_counter() - start


def stable_outputs(nb, name: str) -> None:
    """Make the executed ``nb`` the same on every run: merge consecutive stream outputs (how a print is cut
    into chunks depends on flush timing), and replace each widget's random ``model_id`` with one made from
    ``name`` and the order in which the widgets first appear. A saved widget view names a model of a kernel
    that is gone anyway: the frontend shows the PNG beside it until the cell runs again."""
    from nbconvert.preprocessors import CoalesceStreamsPreprocessor

    CoalesceStreamsPreprocessor().preprocess(nb, {})
    outputs = [out for cell in nb.cells for out in cell.get("outputs", [])]
    stable: dict[str, str] = {}
    for out in outputs:
        model_id = out.get("data", {}).get(WIDGET_VIEW, {}).get("model_id")
        if model_id and model_id not in stable:
            stable[model_id] = uuid.uuid5(uuid.NAMESPACE_URL, f"{name}#widget-{len(stable)}").hex
    for out in outputs:
        _replace_strings(out, stable)


def _replace_strings(node, new: dict[str, str]) -> None:
    """Replace, inside the dicts and lists of ``node``, every occurrence of each key of ``new`` in a string."""
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in list(items):
        if isinstance(value, str):
            for old, replacement in new.items():
                value = value.replace(old, replacement)
            node[key] = value
        elif isinstance(value, (dict, list)):
            _replace_strings(value, new)


def build_one(src: pathlib.Path, out_dir: pathlib.Path = NB_DIR) -> tuple[pathlib.Path, float]:
    """Build and execute the notebook of source ``src`` into ``out_dir``: (its path, seconds it ran)."""
    import nbformat

    nb = make_notebook(src)
    seconds = execute(nb)
    stable_outputs(nb, src.stem)
    out = out_dir / f"{src.stem}.ipynb"
    nbformat.write(nb, out)
    return out, seconds


def build(prefixes: list[str]) -> None:
    sources = sorted(SRC_DIR.glob("*.py"))
    if prefixes:
        sources = [s for s in sources if any(s.stem.startswith(p) for p in prefixes)]
    if not sources:
        sys.exit(f"no notebook source matches {prefixes}")
    for src in sources:
        out, seconds = build_one(src)
        print(f"{out.relative_to(ROOT)}: executed in {seconds:.1f} s, {out.stat().st_size / 1e3:.0f} kB")


def sync_url(check: bool) -> int:
    """Rewrite (or with ``check``, verify) the badge and REPO_URL of every notebook."""
    import nbformat

    url = repo_url()
    stale = []
    for path in sorted(NB_DIR.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        changed = False
        first, setup = nb.cells[0], nb.cells[1]
        new_first = re.sub(r"\[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)", badge(path.name, url).replace("\\", r"\\"),
                           first.source)
        new_setup = re.sub(r'REPO_URL = "[^"]*"', f'REPO_URL = "{url}"', setup.source)
        if new_first != first.source or new_setup != setup.source:
            changed = True
            first.source, setup.source = new_first, new_setup
        if changed:
            stale.append(path.name)
            if not check:
                nbformat.write(nb, path)
    if check and stale:
        print("badge or REPO_URL out of date in:", ", ".join(stale))
        return 1
    print(("up to date" if not stale else f"rewrote {len(stale)} notebook(s)") + f" for {url}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build and execute notebooks from notebooks/src")
    b.add_argument("prefixes", nargs="*")
    s = sub.add_parser("sync-url", help="rewrite the Colab badge and REPO_URL from pyproject.toml")
    s.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "build":
        build(args.prefixes)
        return 0
    return sync_url(args.check)


if __name__ == "__main__":
    sys.exit(main())
