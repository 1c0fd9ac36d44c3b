"""Every committed notebook, run top to bottom under Google Colab's widget stack the way Colab runs it.

The kernel comes from .venv-colab (ipywidgets 7.7.1, IPython 7.34, ipykernel 6.17; see
tools/colab-requirements.txt), where the course is not installed. As in Colab, ``google.colab`` is
imported before the first cell (here a stand-in package), the working directory holds nothing but the
repository "clone" under the name the setup cell derives from REPO_URL, and the setup cell has to put
that clone on ``sys.path``. The clone is a copy of this working tree (tracked and untracked, not ignored
files), so uncommitted changes are what runs; the real ``git clone`` is tested in test_project.py.

A notebook passes when no cell raises or writes to stderr, ``helpers`` comes from the clone, and every
cell that shows a panel in the committed notebook shows it here too, as an ipywidgets 7 widget view of the
panel's own widget, whose comm is open and whose picture changes when a control is moved in the kernel.

    make colab                                  # these tests only (builds .venv-colab first)
    pytest -m colab tests/test_colab_stack.py
"""
from __future__ import annotations

import json
import pathlib
import re
import shutil
import subprocess
import sys
import time

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import colab_support as cs  # noqa: E402

ROOT = cs.ROOT
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
CELL_TIMEOUT = 900  # seconds; a slow shared CI machine, and the chapters that train take the longest
# The @jupyter-widgets/controls model version that ipywidgets 7.x speaks (8.x speaks 2.0.0).
CONTROLS_VERSION_7 = "1.5.0"

pytestmark = pytest.mark.colab

# Colab starts its kernel through a launcher that imports google.colab first; this one does the same.
_LAUNCHER = "import google.colab  # noqa: F401\nfrom ipykernel import kernelapp\nkernelapp.launch_new_instance()\n"
_PROBE = """\
import json, sys, helpers, IPython, ipykernel, ipywidgets
print(json.dumps({"helpers": helpers.__file__, "colab": "google.colab" in sys.modules,
                  "versions": [ipywidgets.__version__, IPython.__version__, ipykernel.__version__]}))"""


# Run after the notebook's last cell: every panel the notebook made (shown as a cell's value, or kept in a
# variable) has its comm open in the kernel and answers a control moved from the kernel side.
_REACT = r"""
import json
from helpers.panels import Panel
from helpers.panels import testing as _T
from helpers.panels.base import png_data_url
_report = []
for _panel in {id(v): v for v in [*Out.values(), *globals().values()] if isinstance(v, Panel)}.values():
    _name, _values = _T.sweep_values(_panel)
    _control = _panel.controls[_name]
    _target = next(v for v in [_values[len(_values) // 2], _values[0], *_values] if v != _control.value)
    _before = _panel.png
    _control.value = _target
    _report.append({"model_id": _panel.widget.model_id, "moved": f"{_name} -> {_target!r}",
                    "comm_open": _panel.widget.model_id in get_ipython().kernel.comm_manager.comms,
                    "changed": _panel.png != _before and _panel.png[:4] == b"\x89PNG"
                               and bytes(_panel.image.value) == png_data_url(_panel.png)})
print("REACT " + json.dumps(_report))"""


def _fake_colab(root: pathlib.Path) -> pathlib.Path:
    """A directory holding a stand-in ``google.colab`` package and the kernel launcher.

    ``google`` stays a namespace package (no ``__init__.py``), as it is in Colab, so it hides no other
    ``google.*`` package installed in the venv.
    """
    package = root / "google" / "colab"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('"""Stand-in for Colab\'s google.colab (tests only)."""\n', encoding="utf-8")
    (root / "colab_kernel_launcher.py").write_text(_LAUNCHER, encoding="utf-8")
    return root


def _copy_working_tree(dest: pathlib.Path) -> None:
    """Copy the files git would put in a clone of this working tree (plus untracked, not ignored ones)."""
    out = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         capture_output=True, check=True).stdout.decode()
    for name in filter(None, out.split("\0")):
        src = ROOT / name
        if src.is_file():  # a tracked file deleted in the working tree is not copied
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)


def _clone_name(nb) -> str:
    """The directory the notebook's setup cell clones into: the last part of REPO_URL, without .git."""
    url = re.search(r'REPO_URL = "([^"]+)"', nb.cells[1].source).group(1)
    return url.rstrip("/").split("/")[-1].removesuffix(".git")


def _has_panel(cell) -> bool:
    return any(cs.WIDGET_VIEW in out.get("data", {}) for out in cell.get("outputs", []))


def _problems(cell, index: int) -> list[str]:
    found = []
    first_line = cell.source.splitlines()[0][:80] if cell.source else ""
    for out in cell.get("outputs", []):
        if out["output_type"] == "error":
            found.append(f"cell {index} ({first_line}): {out['ename']}: {out['evalue']}")
        elif out["output_type"] == "stream" and out["name"] == "stderr":
            found.append(f"cell {index} ({first_line}) wrote to stderr: {out['text'][:300]!r}")
    return found


@pytest.fixture(scope="module")
def colab_kernel(tmp_path_factory):
    """(kernelspec directory, stand-in google.colab directory) for kernels from .venv-colab."""
    python = cs.colab_python()
    root = tmp_path_factory.mktemp("colab-stack")
    fake = _fake_colab(root / "fake-colab")
    spec = root / "kernels" / "colab-stack"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "colab_kernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (Colab widget stack)", "language": "python"}), encoding="utf-8")
    return root / "kernels", fake


def test_there_are_notebooks_to_run():
    assert NOTEBOOKS, "no notebooks/NN_*.ipynb found"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_under_colab_widget_stack(path, colab_kernel, tmp_path, record_property):
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a git checkout to copy the working tree")
    kernel_dirs, fake = colab_kernel
    committed = nbformat.read(path, as_version=4)
    nb = nbformat.read(path, as_version=4)
    content = tmp_path / "content"  # Colab's working directory: empty apart from the clone
    clone = content / _clone_name(nb)
    clone.mkdir(parents=True)
    _copy_working_tree(clone)
    nb.cells.insert(2, nbformat.v4.new_code_cell(_PROBE))  # right after the setup cell
    nb.cells.append(nbformat.v4.new_code_cell(_REACT))

    km = KernelManager(kernel_name="colab-stack", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernel_dirs)]))
    client = NotebookClient(nb, km=km, timeout=CELL_TIMEOUT, startup_timeout=180, allow_errors=True,
                            shutdown_kernel="immediate", resources={"metadata": {"path": str(content)}})
    start = time.perf_counter()
    client.execute(env=cs.clean_env(fake, tmp_path), cleanup_kc=True)
    seconds = time.perf_counter() - start
    record_property("colab_seconds", round(seconds, 1))

    problems = [p for i, cell in enumerate(nb.cells) if cell.cell_type == "code" for p in _problems(cell, i)]
    assert not problems, "\n".join(problems)

    probe = json.loads(nb.cells[2].outputs[0]["text"])
    assert probe["colab"], "google.colab was not imported in the kernel"
    assert probe["versions"][0].startswith("7.") and probe["versions"][1].startswith("7."), probe["versions"]
    assert pathlib.Path(probe["helpers"]).resolve() == (clone / "helpers" / "__init__.py").resolve(), \
        f"helpers came from {probe['helpers']}, not from the clone the setup cell should use"

    executed = nb.cells[:2] + nb.cells[3:-1]
    panel_cells = [i for i, cell in enumerate(committed.cells) if _has_panel(cell)]
    assert panel_cells, f"{path.name} shows no panel in its committed outputs"
    printed = "".join(out.get("text", "") for out in nb.cells[-1].outputs if out["output_type"] == "stream")
    reacted = {row["model_id"]: row for row in json.loads(printed.split("REACT ", 1)[1])}
    shown = set()
    for i in panel_cells:
        views = [out["data"][cs.WIDGET_VIEW] for out in executed[i].get("outputs", []) if cs.WIDGET_VIEW in out.get("data", {})]
        assert views, f"cell {i} showed a panel when committed but no widget view under ipywidgets 7"
        shown |= {view["model_id"] for view in views}
        for view in views:
            state = client.widget_state.get(view["model_id"])
            assert state is not None, f"cell {i}: the widget view names model {view['model_id']}, which the kernel never opened"
            assert (state["_model_module"], state["_model_module_version"]) == ("@jupyter-widgets/controls", CONTROLS_VERSION_7), \
                f"cell {i}: {state['_model_module']} {state['_model_module_version']} is not an ipywidgets 7 model"
    called = {name for cell in committed.cells if cell.cell_type == "code" for name in re.findall(r"\b(\w+_panel)\(", cell.source)}
    # a cell shows a panel's own widget, at least one panel per panel function the notebook calls (验证 cells
    # also make panels that they do not show); every panel in the kernel answers a control
    assert len(shown & set(reacted)) >= len(called), \
        f"the notebook calls {sorted(called)}, but the cells show {len(shown & set(reacted))} panel widget(s)"
    for row in reacted.values():
        assert row["comm_open"], f"the panel's widget ({row['moved']}) has no open comm in the kernel"
        assert row["changed"], f"moving {row['moved']} did not change the panel's picture under ipywidgets 7"
