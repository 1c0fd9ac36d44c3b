"""pic/ holds the notes' figures, exactly as `python -m helpers.figures` regenerates them."""
from __future__ import annotations

import base64
import json
import pathlib
import re
import subprocess
import sys

import pytest
from matplotlib.testing.compare import compare_images

from helpers import figures

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTES = ROOT.parent / "shared" / "seed" / "notes.md"
EXPECTED = [
    "sigmoid.png", "sigmoid_derivative.png", "tanh.png", "tanh_derivative.png", "relu.png",
    "relu_derivative.png", "Cross_Entropy.png", "Binary_Entropy.png", "MAE_LOSS.png", "MSE_LOSS.png",
    "Huber_LOSS.png",
]
# Which notebook shows which figures.
SHOWN_IN = {"02_activations.ipynb": EXPECTED[:6], "04_losses.ipynb": EXPECTED[6:]}


def test_the_registry_names_exactly_the_notes_figures():
    assert list(figures.FIGURES) == EXPECTED
    if NOTES.exists():  # the notes travel beside the repository in this project's workspace
        assert re.findall(r'src="pic/([^"]+)"', NOTES.read_text(encoding="utf-8")) == EXPECTED


def test_pic_folder_holds_exactly_the_figures():
    assert sorted(p.name for p in (ROOT / "pic").iterdir()) == sorted(EXPECTED)


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> pathlib.Path:
    out = tmp_path_factory.mktemp("pic")
    subprocess.run([sys.executable, "-m", "helpers.figures", "--out", str(out)], check=True, cwd=ROOT,
                   capture_output=True, timeout=300)
    return out


@pytest.mark.parametrize("name", EXPECTED)
def test_regenerated_figure_matches_the_committed_one(regenerated, name):
    assert compare_images(str(ROOT / "pic" / name), str(regenerated / name), tol=1.0) is None


def test_regeneration_is_byte_for_byte_deterministic(regenerated):
    for name in EXPECTED:
        assert (regenerated / name).read_bytes() == figures.render(name), name


@pytest.mark.parametrize("notebook", sorted(SHOWN_IN))
def test_notebook_shows_the_same_figures_as_pic(notebook, tmp_path):
    path = ROOT / "notebooks" / notebook
    if not path.exists():
        pytest.skip(f"{notebook} not written yet")
    shown = []
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        for out in cell.get("outputs", []):
            png = out.get("data", {}).get("image/png")
            if png:
                shown.append(base64.b64decode(png))
    for name in SHOWN_IN[notebook]:
        committed = (ROOT / "pic" / name).read_bytes()
        if committed in shown:
            continue
        # Same code, possibly another matplotlib build: compare as pictures.
        candidates = [b for b in shown if len(b) > 1000]
        ok = False
        for i, data in enumerate(candidates):
            p = tmp_path / f"{i}.png"
            p.write_bytes(data)
            try:
                ok = compare_images(str(ROOT / "pic" / name), str(p), tol=1.0) is None
            except Exception:  # different size: not this figure
                ok = False
            if ok:
                break
        assert ok, f"{notebook} does not show pic/{name}"


def test_unknown_figure_name_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown figure 'nope.png'"):
        figures.make_figure("nope.png")
