"""The shared drawing pieces: each inside a small panel follows the redraw rule and reacts to its controls."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers import data
from helpers import panels as P
from helpers.panels import testing as T
from helpers.panels.pieces import ContourPaths, HeatMap, ImageGrid
from support import assert_matches_full_redraw, differing_pixels


def _gd_path(surface, lr: float, steps: int = 40) -> np.ndarray:
    p = torch.tensor(surface.start, dtype=torch.float64, requires_grad=True)
    path = [p.detach().clone()]
    for _ in range(steps):
        loss = surface.fn(p[0], p[1])
        (g,) = torch.autograd.grad(loss, p)
        with torch.no_grad():
            p -= lr * g
        path.append(p.detach().clone())
    return torch.stack(path).numpy()


def contour_panel() -> P.Panel:
    controls = {"surface": P.dropdown("surface", ["quadratic", "saddle"], "quadratic"),
                "lr": P.log_slider("lr", -3, -1, 0.01), "show": P.checkbox("second path", True)}

    def setup(fig):
        piece = ContourPaths(fig.subplots(), ["gd", "slow"])
        shown = {"surface": None}

        def update(surface, lr, show):
            s = data.SURFACES[surface]
            if shown["surface"] != surface:
                shown["surface"] = surface
                piece.set_surface(s)
            piece.set_paths({"gd": _gd_path(s, lr), "slow": _gd_path(s, lr / 4) if show else None})
        return update
    return P.Panel(controls, setup, redraw_on=("surface",))


def grid_panel() -> P.Panel:
    controls = {"n": P.int_slider("images", 1, 6, 4), "size": P.dropdown("size", [8, 5], 8)}
    g = torch.Generator().manual_seed(0)
    pictures = torch.rand(6, 8, 8, generator=g)

    def setup(fig):
        grid = ImageGrid(fig, 2, 3)

        def update(n, size):
            grid.set_images([pictures[i, :size, :size] for i in range(n)], vmin=0.0, vmax=1.0,
                            titles=[f"#{i}" for i in range(n)])
        return update
    return P.Panel(controls, setup)


def heat_panel() -> P.Panel:
    controls = {"phase": P.float_slider("phase", 0.0, 6.0, 0.5, 0.0), "rows": P.int_slider("rows", 4, 12, 8)}

    def setup(fig):
        heat = HeatMap(fig.subplots(), (8, 30), label="value")

        def update(phase, rows):
            t = torch.linspace(0, 6, 30)
            heat.set_data(torch.sin(t[None, :] + phase + torch.arange(rows)[:, None] * 0.4))
        return update
    return P.Panel(controls, setup)


@pytest.mark.parametrize("build", [contour_panel, grid_panel, heat_panel], ids=lambda b: b.__name__)
def test_piece_follows_the_redraw_rule_and_reacts(build):
    panel = build()
    for state in T.sample_values(panel, max_combos=4, seed=1):
        for control, w in panel.controls.items():
            values = T.control_samples(w)
            images = set()
            for value in values:
                T.render_pixels(panel, **state)  # back to the state (no PNG needed)
                fast = assert_matches_full_redraw(panel, **{**state, control: value})
                assert panel.last_error is None, panel.last_error
                images.add(fast.tobytes())
            assert len(images) > 1, f"{control} changed nothing from {state}"
    assert panel.unexpected_redraws == 0


def test_contour_paths_hide_missing_paths_and_reject_bad_input():
    panel = contour_panel()
    with_second = panel.render(show=True)
    assert differing_pixels(with_second, panel.render(show=False)) > 0
    piece = ContourPaths(panel.fig.axes[0], ["a"])
    with pytest.raises(ValueError, match="unknown path"):
        piece.set_paths({"b": np.zeros((3, 2))})
    with pytest.raises(ValueError, match=r"\(T, 2\)"):
        piece.set_paths({"a": np.zeros((3, 3))})
    with pytest.raises(ValueError, match="names"):
        ContourPaths(panel.fig.axes[0], [])


def test_image_grid_hides_unused_places_and_rejects_too_many_images():
    panel = grid_panel()
    panel.render(n=2)
    grid_axes = panel.fig.axes
    assert [ax.get_visible() for ax in grid_axes] == [True, True, False, False, False, False]
    with pytest.raises(ValueError, match="rows"):
        ImageGrid(panel.fig, 0, 2)


def test_heat_map_validates_its_input():
    panel = heat_panel()
    heat = HeatMap(panel.fig.axes[0], (2, 2), colorbar=False)
    with pytest.raises(ValueError, match="2-D"):
        heat.set_data(np.zeros(5))
    with pytest.raises(ValueError, match="vmin"):
        heat.set_clim(1.0, 0.0)
    with pytest.raises(ValueError, match="shape"):
        HeatMap(panel.fig.axes[0], (0, 3))
