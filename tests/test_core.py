"""The cross-cutting helpers: seeding, device, fit/History, plotting, Feedback (data sets: test_data.py)."""
from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from torch import nn

import helpers
from helpers import exercises, plotting
from helpers.training import History, evaluate, fit


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


def _regression(n=64):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 3, generator=g)
    return x, x @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.1


def _train(epochs=5, batch_size=16, **kw):
    helpers.seed_everything(0)
    model = nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    return model, fit(model, _regression(), nn.MSELoss(), opt, epochs=epochs, batch_size=batch_size,
                      progress=False, **kw)


def test_fit_learns_and_is_reproducible():
    model, h1 = _train(epochs=30)
    _, h2 = _train(epochs=30)
    assert h1.train_loss == h2.train_loss
    assert h1.train_loss[-1] < 0.01 * h1.train_loss[0]
    assert torch.allclose(model.weight, torch.tensor([[1.0, -2.0, 0.5]]), atol=0.05)


def test_fit_epoch_loss_is_the_mean_over_samples_with_uneven_batches():
    """With lr=0 the weights never move, so every epoch's loss equals the full-data MSE."""
    helpers.seed_everything(0)
    model = nn.Linear(3, 1)
    x, y = _regression(n=50)  # batches of 16, 16, 16, 2
    h = fit(model, (x, y), nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.0), epochs=2,
            batch_size=16, progress=False)
    full = nn.functional.mse_loss(model(x), y).item()
    assert h.train_loss == pytest.approx([full, full], rel=1e-6)
    assert len(h.lrs) == 2 * 4


def test_fit_records_the_learning_rate_used_at_each_step():
    helpers.seed_everything(0)
    model = nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.1)
    h = fit(model, _regression(n=32), nn.MSELoss(), opt, epochs=4, batch_size=16, scheduler=sched, progress=False)
    assert h.lrs == pytest.approx([1.0] * 4 + [0.1] * 4)


def test_fit_reports_validation_loss_per_epoch():
    x, y = _regression(n=20)
    model, h = _train(epochs=3, val_data=(x, y))
    assert len(h.val_loss) == 3
    assert h.val_loss[-1] == pytest.approx(evaluate(model, torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x, y), batch_size=7), nn.MSELoss()), rel=1e-5)


class _RecordingPlateau(torch.optim.lr_scheduler.ReduceLROnPlateau):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen = []

    def step(self, metrics):
        self.seen.append(float(metrics))
        super().step(metrics)


@pytest.mark.parametrize("with_val", [False, True])
def test_fit_gives_reduce_on_plateau_the_monitored_loss(with_val):
    helpers.seed_everything(0)
    model = nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.0)  # nothing improves: a plateau
    sched = _RecordingPlateau(opt, patience=0, factor=0.5)
    x, y = _regression(n=20)
    h = fit(model, _regression(), nn.MSELoss(), opt, epochs=3, scheduler=sched, progress=False,
            val_data=(x, y + 1.0) if with_val else None)
    assert sched.seen == (h.val_loss if with_val else h.train_loss)


@pytest.mark.parametrize("kwargs, match", [
    ({"epochs": 0}, "epochs"),
    ({"epochs": 1.5}, "epochs"),
    ({"epochs": 1, "batch_size": 0}, "batch_size"),
])
def test_fit_rejects_bad_arguments(kwargs, match):
    model = nn.Linear(3, 1)
    with pytest.raises(ValueError, match=match):
        fit(model, _regression(), nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.1), progress=False, **kwargs)


def test_fit_rejects_empty_or_mismatched_data():
    model = nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="data is empty"):
        fit(model, (torch.zeros(0, 3), torch.zeros(0, 1)), nn.MSELoss(), opt, epochs=1, progress=False)
    with pytest.raises(ValueError, match="data: inputs have 4 rows but targets have 3"):
        fit(model, (torch.zeros(4, 3), torch.zeros(3, 1)), nn.MSELoss(), opt, epochs=1, progress=False)
    with pytest.raises(ValueError, match="val_data"):
        fit(model, _regression(), nn.MSELoss(), opt, epochs=1, progress=False,
            val_data=(torch.zeros(2, 3), torch.zeros(5, 1)))


def test_history_plot_draws_losses_and_learning_rates():
    h = History(train_loss=[3.0, 2.0, 1.0], val_loss=[3.5, 2.5, 1.5], lrs=[0.1] * 6)
    fig = h.plot()
    ax_loss, ax_lr = fig.axes
    assert [len(line.get_xdata()) for line in ax_loss.lines] == [3, 3]
    assert list(ax_lr.lines[0].get_ydata()) == [0.1] * 6
    assert plotting.figure_to_png(fig)[:8] == b"\x89PNG\r\n\x1a\n"


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
    bad = exercises.run_check(lambda: 1 / 0, "ok", "hint")
    assert not bad.ok and "ZeroDivisionError" in bad.message and "hint" in bad.message
    good = exercises.run_check(lambda: True, "well done", "hint")
    assert good.ok and repr(good).startswith("✅")


def test_fit_accepts_a_dataset_or_a_dataloader():
    x, y = _regression(n=40)
    ds = torch.utils.data.TensorDataset(x, y)
    for data_arg, bs in [(ds, 8), (torch.utils.data.DataLoader(ds, batch_size=8), None)]:
        helpers.seed_everything(0)
        model = nn.Linear(3, 1)
        h = fit(model, data_arg, nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.1), epochs=20,
                batch_size=bs, progress=False)
        assert len(h.lrs) == 20 * 5 and h.train_loss[-1] < 0.05 * h.train_loss[0]
    model = nn.Linear(3, 1)
    with pytest.raises(ValueError, match="already a DataLoader"):
        fit(model, torch.utils.data.DataLoader(ds), nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.1),
            epochs=1, batch_size=4, progress=False)


def test_an_untouched_placeholder_is_neither_right_nor_wrong():
    fb = exercises.not_answered()
    assert not fb.ok and not fb.answered
    assert repr(fb).startswith("✏️ 还没有作答")
    assert repr(exercises.Feedback(False, "hint")).startswith("❌")
