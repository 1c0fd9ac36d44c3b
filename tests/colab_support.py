"""Shared by the tests that run code under Google Colab's widget stack (.venv-colab, `make colab-venv`)."""
from __future__ import annotations

import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
COLAB_PYTHON = ROOT / ".venv-colab" / "bin" / "python"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def colab_python() -> pathlib.Path:
    """The interpreter of .venv-colab; skips the test when it is missing (fails it under CI)."""
    if COLAB_PYTHON.is_file():
        return COLAB_PYTHON
    reason = f"{COLAB_PYTHON.relative_to(ROOT)} is missing: `make colab-venv` creates it (`make test` does too)"
    if in_ci():
        pytest.fail(f"Colab stack test cannot run under CI: {reason}")
    pytest.skip(reason)


def clean_env(pythonpath: pathlib.Path | None, tmp: pathlib.Path) -> dict[str, str]:
    """This process's environment without anything that would leak the course or this venv into .venv-colab.

    ``PYTHONPATH`` becomes ``pythonpath`` only; IPython gets an empty profile directory under ``tmp``.
    """
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "MPLBACKEND", "IPYTHONDIR")}
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    env["IPYTHONDIR"] = str(tmp / "ipython")
    env.setdefault("OMP_NUM_THREADS", "1")
    # debugpy (imported by ipykernel) otherwise prints a note about Python's frozen modules at start-up.
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    return env
