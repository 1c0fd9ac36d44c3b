"""Shared pytest setup: markers, the Colab timing summary, and a fixture that reads a module's code and imports.

Plain helper functions the test files share (``close``, ``pixels``, the blit rule) are in ``support.py``.
"""
from __future__ import annotations

import ast
import importlib.util
import inspect

import pytest


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "browser: runs the notebooks in JupyterLab in headless chromium (slow; needs /usr/bin/chromium)")


# `make test` runs `pytest -n 2 --dist loadscope --no-loadscope-reorder`: xdist hands each worker one group
# of tests at a time, in collection order, and the next group to whichever worker is free first. A group is
# a test file (its module fixtures are made once), a notebook (nbval runs its cells in one kernel), one
# notebook under the Colab stack, or one panel in test_panels.py. The longest groups are collected first,
# so that the run does not end with one worker alone: the browser test (one JupyterLab for all notebooks,
# about a quarter of the run), the Colab runs, the static site (one build for the file), a panel in ipywidgets 7's
# front end (a classic notebook server), each panel's tests,
# the notebooks under nbval, then the other test files (short ones: the two workers finish close together).
_FIRST = ("tests/test_browser.py", "tests/test_colab_stack.py", "tests/test_site.py", "tests/test_classic_widgets.py",
          "tests/test_panels.py")
_SPLIT = ("tests/test_colab_stack.py", "tests/test_panels.py")  # one group per parameter (notebook, panel)
# Long tests that share no module fixture with their file: a group of their own, so the other worker can take them
_ALONE = ("tests/test_site.py::test_every_state_of_every_chapter_is_one_click_away",)


def _group(nodeid: str) -> str:
    if nodeid in _ALONE:
        return nodeid
    path = nodeid.split("::")[0]
    if path in _SPLIT and nodeid.endswith("]"):
        return f"{path}[{nodeid.rsplit('[', 1)[1]}"
    return path


def _rank(nodeid: str) -> int:
    path = nodeid.split("::")[0]
    if path in _FIRST:
        return _FIRST.index(path)
    return len(_FIRST) + (not path.startswith("notebooks/"))


def pytest_collection_modifyitems(items):
    # stable: within a rank, items keep their order (a test of its own group first: it is a long one)
    items.sort(key=lambda item: (_rank(item.nodeid), item.nodeid not in _ALONE))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """Under ``--dist loadscope``, schedule by the groups of ``_group`` instead of by file."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _group(nodeid)
    return GroupScheduling(config, log)


def pytest_terminal_summary(terminalreporter):
    """List how long each notebook took under Colab's widget stack (tests/test_colab_stack.py)."""
    rows = []
    for outcome in ("passed", "failed"):
        for report in terminalreporter.stats.get(outcome, []):
            seconds = dict(getattr(report, "user_properties", ())).get("colab_seconds")
            if seconds is not None and report.when == "call":
                rows.append((report.nodeid.split("[")[-1].rstrip("]"), seconds, outcome))
    if rows:
        terminalreporter.write_sep("-", "notebooks under Colab's widget stack (ipywidgets 7)")
        for name, seconds, outcome in sorted(rows):
            terminalreporter.write_line(f"{name:<24} {seconds:7.1f} s  {outcome}")


def _code_and_imports(module) -> tuple[str, set[str]]:
    """The source of ``module`` and of the course modules it imports relatively (``from .checks import x``),
    followed recursively, and the top-level names of all the other modules those sources import."""
    sources, imported, todo, seen = [], set(), [module.__name__], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        current = importlib.import_module(name)
        sources.append(inspect.getsource(current))
        for node in ast.walk(ast.parse(sources[-1])):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level:        # a course module: read it too
                base = importlib.util.resolve_name("." * node.level + (node.module or ""), current.__package__)
                todo += [base] if node.module else [f"{base}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                imported.add(node.module.split(".")[0])
    return "\n".join(sources), imported


@pytest.fixture
def code_and_imports():
    """``code_and_imports(module)`` -> (source, imported): what a module runs, for tests that limit what it may use."""
    return _code_and_imports


def _reached(functions) -> tuple[str, set[str]]:
    """The source of ``functions`` and of every course function they call by name, followed recursively, and the
    global names all of them read: what a from-scratch function really runs, whatever else its module holds."""
    sources, names, todo, seen = [], set(), list(functions), set()
    while todo:
        fn = todo.pop()
        if fn in seen:
            continue
        seen.add(fn)
        sources.append(inspect.getsource(fn))
        codes = [fn.__code__]
        while codes:
            code = codes.pop()
            names |= set(code.co_names)
            codes += [c for c in code.co_consts if inspect.iscode(c)]
            for name in code.co_names:
                target = fn.__globals__.get(name)
                if inspect.isfunction(target) and target.__module__.startswith("helpers"):
                    todo.append(target)
    return "\n".join(sources), names


@pytest.fixture
def reached_source():
    """``reached_source(functions)`` -> (source, global names): the code those functions run, for tests that limit it."""
    return _reached
