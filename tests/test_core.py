"""The cross-cutting helpers: seeding, device, plotting, Feedback (data: test_data.py; training: test_training.py)."""
from __future__ import annotations

import random

import numpy as np
import pytest
import torch

import helpers
from helpers import exercises, plotting


def test_seed_everything_makes_torch_random_and_numpy_repeat():
    helpers.seed_everything(123)
    a = (torch.rand(3), random.random(), np.random.rand())
    helpers.seed_everything(123)
    b = (torch.rand(3), random.random(), np.random.rand())
    assert torch.equal(a[0], b[0]) and a[1] == b[1] and a[2] == b[2]


@pytest.mark.parametrize("bad", [-1, 2**32, 1.5, "0", True])
def test_seed_everything_rejects_bad_seeds(bad):
    with pytest.raises((ValueError, TypeError), match="seed"):
        helpers.seed_everything(bad)


def test_get_device_picks_an_available_device():
    device = helpers.get_device()
    expected = "cuda" if torch.cuda.is_available() else ("mps" if torch.backends.mps.is_available() else "cpu")
    assert device.type == expected
    torch.zeros(1, device=device)




def test_figure_to_png_is_deterministic():
    def make():
        fig, ax = plotting.new_figure((3, 2))
        plotting.plot_curve(ax, np.linspace(-2, 2, 50), np.tanh, lambda x: 1 - np.tanh(x) ** 2)
        return plotting.figure_to_png(fig)
    assert make() == make()
    with pytest.raises(ValueError, match="x must be"):
        plotting.plot_curve(plotting.new_figure()[1], np.zeros(1), np.tanh)


def test_feedback_and_checks_never_raise():
    assert exercises.close_to([1.0, 2.0], torch.tensor([1.0, 2.00001]))
    assert not exercises.close_to("abc", 1.0)
    assert not exercises.close_to([1.0], [1.0, 2.0])
    assert repr(exercises.Feedback(True, "well done")).startswith("✅")


def test_run_answer_runs_the_answer_with_the_builtins_refused():
    forbid = exercises.Forbid(ops=r"^tanh$")
    value, failed = exercises.run_answer(lambda: torch.sigmoid(torch.zeros(1)).item(), forbid, "refused {what}")
    assert value == 0.5 and failed is None
    value, failed = exercises.run_answer(lambda: torch.tanh(torch.zeros(1)), forbid, "no {what} here")
    assert value is None and not failed.ok and failed.message == "no aten::tanh here"
    _, failed = exercises.run_answer(lambda: 1 / 0, forbid, "refused", "divide by something else")
    assert not failed.ok and "ZeroDivisionError" in failed.message and "divide by something else" in failed.message


def test_an_untouched_placeholder_is_neither_right_nor_wrong():
    fb = exercises.not_answered()
    assert not fb.ok and not fb.answered
    assert repr(fb).startswith("✏️ 还没有作答")
    assert repr(exercises.Feedback(False, "hint")).startswith("❌")
