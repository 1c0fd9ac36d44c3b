"""Packaging and set-up: dependency lists agree, the Colab setup cell works, badges name the repo."""
from __future__ import annotations

import json
import pathlib
import re
import subprocess
import sys
import tomllib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import nb as nbtool  # noqa: E402

CONDA_NAMES = {"torch": "pytorch", "isal": "python-isal"}  # PyPI name -> conda-forge name where they differ


def _split(req: str) -> tuple[str, str]:
    m = re.match(r"\s*([A-Za-z0-9_.\-]+)\s*(.*)", req)
    return m.group(1).lower(), m.group(2).replace(" ", "")


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    project = _pyproject()["project"]
    wanted = dict(_split(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"])
    wanted = {CONDA_NAMES.get(k, k): v for k, v in wanted.items()}
    conda = {}
    text = (ROOT / "environment.yml").read_text(encoding="utf-8")
    for line in text.split("dependencies:", 1)[1].splitlines():
        m = re.match(r"^  - ([A-Za-z0-9_.\-]+)(.*)$", line)
        if m and m.group(1) not in ("python", "pip"):
            conda[m.group(1).lower()] = m.group(2).replace(" ", "")
    assert conda == wanted


def test_dependencies_are_ranges_not_pins():
    project = _pyproject()["project"]
    for req in project["dependencies"] + project["optional-dependencies"]["dev"]:
        assert "==" not in req, f"{req}: use a version range so Colab's own packages are accepted"


def test_every_notebook_names_the_repository_from_pyproject():
    assert nbtool.sync_url(check=True) == 0
    url = _pyproject()["project"]["urls"]["Repository"]
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        assert f"colab.research.google.com/github/{url.removeprefix('https://github.com/')}/blob/main/notebooks/{path.name}" in "".join(cells[0]["source"])
        assert f'REPO_URL = "{url}"' in "".join(cells[1]["source"])


def test_sync_url_rewrites_badge_and_url(tmp_path, monkeypatch):
    nb_dir = tmp_path / "notebooks"
    nb_dir.mkdir()
    src = sorted((ROOT / "notebooks").glob("*.ipynb"))
    if not src:
        pytest.skip("no notebooks yet")
    (nb_dir / src[0].name).write_text(src[0].read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setattr(nbtool, "NB_DIR", nb_dir)
    monkeypatch.setattr(nbtool, "repo_url", lambda: "https://github.com/someone-else/fork")
    assert nbtool.sync_url(check=True) == 1
    assert nbtool.sync_url(check=False) == 0
    assert nbtool.sync_url(check=True) == 0
    text = (nb_dir / src[0].name).read_text(encoding="utf-8")
    assert "github/someone-else/fork/blob/main/notebooks/" in text
    assert 'REPO_URL = \\"https://github.com/someone-else/fork\\"' in text


_RUNNER = r'''
import sys, types, importlib.util
# Simulate Colab: google.colab is loaded, and the course is not installed.
sys.modules["google"] = types.ModuleType("google")
sys.modules["google.colab"] = types.ModuleType("google.colab")
repo_root = sys.argv[1]
sys.path[:] = [p for p in sys.path if p not in ("", repo_root)]
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f).lower()]
sys.path_hooks[:] = [h for h in sys.path_hooks if "editable" not in repr(h).lower()]
sys.path_importer_cache.clear()
assert importlib.util.find_spec("helpers") is None, "helpers is still importable"
code = open(sys.argv[2], encoding="utf-8").read()
exec(compile(code, "setup-cell", "exec"))
import helpers
print("HELPERS_FROM", helpers.__file__)
'''


def test_setup_cell_clones_the_repository_in_colab(tmp_path):
    """The first code cell, run as in Colab against a local clone, makes helpers importable."""
    if subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True).returncode:
        pytest.skip("not a git checkout with commits")
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(ROOT), str(origin)], check=True)
    cell = nbtool.setup_cell_source(url=str(origin))
    (tmp_path / "cell.py").write_text(cell, encoding="utf-8")
    (tmp_path / "runner.py").write_text(_RUNNER, encoding="utf-8")
    work = tmp_path / "content"
    work.mkdir()
    for attempt in range(2):  # the second run finds the clone already there
        out = subprocess.run([sys.executable, str(tmp_path / "runner.py"), str(ROOT), str(tmp_path / "cell.py")],
                             cwd=work, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        assert f"HELPERS_FROM {work / 'origin' / 'helpers' / '__init__.py'}" in out.stdout


def test_setup_cell_does_nothing_outside_colab(tmp_path):
    """Outside Colab the setup cell clones nothing: the working directory stays empty."""
    cell = nbtool.setup_cell_source()
    out = subprocess.run([sys.executable, "-c", cell + "\nimport os; print(sorted(os.listdir('.')))"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]" and not any(tmp_path.iterdir())


def test_import_helpers_is_light():
    code = "import sys, helpers; print(sorted(m for m in ('matplotlib', 'ipywidgets', 'jupyterlab', 'IPython') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
