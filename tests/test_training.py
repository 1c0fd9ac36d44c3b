"""helpers.training: fit, History, evaluate, accuracy and plot_histories."""
from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

import helpers
from helpers import plotting
from helpers.training import History, _to_device, accuracy, evaluate, fit, plot_histories


def _regression(n=64):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 3, generator=g)
    return x, x @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.1


def _classification(n=50, classes=3):
    g = torch.Generator().manual_seed(1)
    return torch.randn(n, 4, generator=g), torch.randint(0, classes, (n,), generator=g)


def _train(epochs=5, batch_size=16, **kw):
    helpers.seed_everything(0)
    model = nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    kw.setdefault("progress", False)
    return model, fit(model, _regression(), nn.MSELoss(), opt, epochs=epochs, batch_size=batch_size, **kw)


def _dropout_net(seed=0):
    helpers.seed_everything(seed)
    return nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 3))


# ----------------------------------------------------------------------------- the loop and its losses

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


def test_step_loss_has_every_batch_and_weights_to_the_epoch_loss():
    model, h = _train(epochs=3, batch_size=24)  # 64 samples: batches of 24, 24, 16
    assert len(h.step_loss) == 3 * 3 and h.grad_norm == [] and h.train_eval_loss == []
    for epoch in range(3):
        steps = h.step_loss[3 * epoch:3 * epoch + 3]
        assert h.train_loss[epoch] == pytest.approx((24 * steps[0] + 24 * steps[1] + 16 * steps[2]) / 64)
    _, full = _train(epochs=3, batch_size=None)
    assert full.step_loss == full.train_loss


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


def test_a_val_dataloader_works_beside_a_training_batch_size():
    x, y = _regression(n=20)
    model, h = _train(epochs=2, batch_size=16, val_data=DataLoader(TensorDataset(x, y), batch_size=6))
    assert h.val_loss[-1] == pytest.approx(nn.functional.mse_loss(model(x), y).item(), rel=1e-5)


def test_progress_bar_runs(capsys):
    _, h = _train(epochs=2, progress=True)
    assert len(h.train_loss) == 2


# ----------------------------------------------------------------------------- schedulers

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


def _one_cycle(model, max_lr=0.5):
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    return opt, torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=max_lr, total_steps=20)


def test_per_batch_scheduler_follows_the_manual_lr_curve():
    helpers.seed_everything(0)
    model = nn.Linear(3, 1)
    opt, sched = _one_cycle(model)
    h = fit(model, _regression(n=32), nn.MSELoss(), opt, epochs=5, batch_size=8, scheduler=sched,
            scheduler_step="batch", progress=False)  # 5 epochs x 4 batches = 20 steps
    _, manual_sched = _one_cycle(nn.Linear(3, 1))
    manual = []
    for _ in range(20):
        manual.append(manual_sched.optimizer.param_groups[0]["lr"])
        manual_sched.optimizer.step()
        manual_sched.step()
    assert h.lrs == pytest.approx(manual)
    assert max(h.lrs) == pytest.approx(0.5)
    assert h.lrs[-1] == pytest.approx(0.5 / 25 / 1e4) and h.lrs[-1] < h.lrs[0]


def test_per_epoch_scheduler_steps_once_per_epoch():
    helpers.seed_everything(0)
    model = nn.Linear(3, 1)
    opt, sched = _one_cycle(model)
    h = fit(model, _regression(n=32), nn.MSELoss(), opt, epochs=5, batch_size=8, scheduler=sched, progress=False)
    _, manual_sched = _one_cycle(nn.Linear(3, 1))
    manual = []
    for _ in range(5):
        manual += [manual_sched.optimizer.param_groups[0]["lr"]] * 4
        manual_sched.optimizer.step()
        manual_sched.step()
    assert h.lrs == pytest.approx(manual)
    assert max(h.lrs) < 0.95 * 0.5 and h.lrs[-1] > 0.1  # neither the peak nor the tiny final lr


def test_scheduler_arguments_are_checked():
    model = nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    data = _regression(n=8)
    with pytest.raises(ValueError, match="scheduler_step"):
        fit(model, data, nn.MSELoss(), opt, epochs=1, progress=False, scheduler_step="step")
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        fit(model, data, nn.MSELoss(), opt, epochs=1, progress=False, scheduler_step="batch",
            scheduler=torch.optim.lr_scheduler.ReduceLROnPlateau(opt))
    other = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="different optimizer"):
        fit(model, data, nn.MSELoss(), opt, epochs=1, progress=False,
            scheduler=torch.optim.lr_scheduler.StepLR(other, step_size=1))
    with pytest.raises(TypeError, match="scheduler"):
        fit(model, data, nn.MSELoss(), opt, epochs=1, progress=False, scheduler="cosine")


# ----------------------------------------------------------------------------- metrics and accuracy

def test_accuracy_matches_a_hand_count():
    logits = torch.tensor([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [0.0, 0.0, 1.0], [5.0, 0.0, 0.0]])
    assert accuracy(logits, torch.tensor([0, 1, 1, 2])) == pytest.approx(2 / 4)
    one_logit = torch.tensor([1.5, -0.5, 0.2, -2.0])
    assert accuracy(one_logit, torch.tensor([1.0, 0.0, 0.0, 1.0])) == pytest.approx(2 / 4)
    assert accuracy(one_logit[:, None], torch.tensor([[1.0], [0.0], [1.0], [0.0]])) == pytest.approx(1.0)
    assert accuracy(one_logit, torch.tensor([1, 0, 1, 0])) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="outputs"):
        accuracy(torch.zeros(2, 3, 4), torch.zeros(2))
    with pytest.raises(ValueError, match="targets"):
        accuracy(torch.zeros(4, 3), torch.zeros(3))


def test_fit_metrics_are_sample_weighted_and_measured_in_the_right_mode():
    """With lr=0 nothing moves, so each epoch's accuracy is the accuracy on the whole set."""
    x, y = _classification(n=50)
    xv, yv = _classification(n=20)
    helpers.seed_everything(0)
    model = nn.Linear(4, 3).eval()  # fit must switch it to train mode itself
    metrics = {"acc": accuracy, "mean_target": lambda out, t: t.float().mean(),
               "training": lambda out, t: float(model.training)}
    h = fit(model, (x, y), nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.0), epochs=2,
            batch_size=16, val_data=(xv, yv), metrics=metrics, progress=False)
    with torch.no_grad():
        assert h.metrics["train_acc"] == pytest.approx([accuracy(model(x), y)] * 2)
        assert h.metrics["val_acc"] == pytest.approx([accuracy(model(xv), yv)] * 2)
    assert h.metrics["train_mean_target"] == pytest.approx([y.float().mean().item()] * 2)
    assert h.metrics["val_mean_target"] == pytest.approx([yv.float().mean().item()] * 2)
    assert h.metrics["train_training"] == [1.0, 1.0] and h.metrics["val_training"] == [0.0, 0.0]
    assert set(h.metrics) == {f"{p}_{m}" for p in ("train", "val") for m in metrics}


@pytest.mark.parametrize("metrics, error, match", [
    ([accuracy], TypeError, "metrics must be a dict"),
    ({"acc": 1.0}, TypeError, r"metrics\['acc'\]"),
    ({"train_acc": accuracy}, ValueError, "train_acc"),
    ({"val_acc": accuracy}, ValueError, "val_acc"),
    ({"loss": accuracy}, ValueError, "'loss'"),
    ({"": accuracy}, ValueError, "metrics name"),
])
def test_bad_metrics_are_rejected_by_fit_and_evaluate(metrics, error, match):
    model = nn.Linear(3, 1)
    with pytest.raises(error, match=match):
        fit(model, _regression(8), nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.1), epochs=1,
            metrics=metrics, progress=False)
    with pytest.raises(error, match=match):
        evaluate(model, _regression(8), nn.MSELoss(), metrics=metrics)


# ----------------------------------------------------------------------------- train_eval and RNG

def test_train_eval_loss_is_the_eval_mode_loss_on_the_training_set():
    x, y = _classification(n=40)
    model = _dropout_net()
    h = fit(model, (x, y), nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), lr=0.01), epochs=3,
            batch_size=16, train_eval=True, metrics={"acc": accuracy}, progress=False)
    assert len(h.train_eval_loss) == 3 and h.val_loss == []
    assert h.train_eval_loss[-1] == pytest.approx(evaluate(model, (x, y), nn.CrossEntropyLoss()), rel=1e-6)
    with torch.no_grad():
        model.eval()
        assert h.metrics["train_eval_acc"][-1] == pytest.approx(accuracy(model(x), y))
    assert h.train_eval_loss[-1] != pytest.approx(h.train_loss[-1], rel=1e-3)  # dropout's gap is visible


@pytest.mark.parametrize("val_form", ["tensors", "dataset", "dataloader"])
def test_measuring_does_not_change_the_training_run(val_form):
    x, y = _classification(n=48)
    xv, yv = _classification(n=20)
    val = {"tensors": (xv, yv), "dataset": TensorDataset(xv, yv),
           "dataloader": DataLoader(TensorDataset(xv, yv), batch_size=8)}[val_form]
    runs = []
    for extra in [{}, {"val_data": val, "train_eval": True, "metrics": {"acc": accuracy}}]:
        model = _dropout_net()
        h = fit(model, (x, y), nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1), epochs=3,
                batch_size=16, progress=False, **extra)
        runs.append((h.train_loss, [p.detach().clone() for p in model.parameters()], torch.rand(1)))
    (loss_a, params_a, next_a), (loss_b, params_b, next_b) = runs
    assert loss_a == loss_b
    assert all(torch.equal(a, b) for a, b in zip(params_a, params_b))
    assert torch.equal(next_a, next_b)  # the global generator ends in the same state


# ----------------------------------------------------------------------------- clipping

def test_clipping_bounds_the_update_and_records_the_norm_before_clipping():
    x, y = _regression(n=32)
    y = 50.0 * y  # a big loss, so the raw gradient is much longer than max_norm
    changes = {}
    for clip in (None, 0.1):
        helpers.seed_everything(0)
        model = nn.Linear(3, 1)
        start = torch.cat([p.detach().flatten() for p in model.parameters()])
        loss = nn.functional.mse_loss(model(x), y)
        raw_norm = torch.cat([g.flatten() for g in torch.autograd.grad(loss, list(model.parameters()))]).norm()
        h = fit(model, (x, y), nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=1.0), epochs=1,
                clip_grad_norm=clip, progress=False)
        changes[clip] = (torch.cat([p.detach().flatten() for p in model.parameters()]) - start).norm().item()
        assert h.grad_norm == ([] if clip is None else [pytest.approx(raw_norm.item(), rel=1e-5)])
    assert changes[0.1] <= 0.1 + 1e-6 and changes[0.1] == pytest.approx(0.1, rel=1e-4)
    assert changes[None] > 10 * 0.1


@pytest.mark.parametrize("bad, error", [(0, ValueError), (-1.0, ValueError), (float("inf"), ValueError),
                                        (float("nan"), ValueError), (True, TypeError), ("1", TypeError)])
def test_bad_clip_grad_norm_is_rejected(bad, error):
    model = nn.Linear(3, 1)
    with pytest.raises(error, match="clip_grad_norm"):
        fit(model, _regression(8), nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.1), epochs=1,
            clip_grad_norm=bad, progress=False)


# ----------------------------------------------------------------------------- tuple inputs

class _ScaledLinear(nn.Module):
    """``forward(x, scale)``: two inputs, so it only works when called as ``model(*xb)``."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 1)
        self.rows = []

    def forward(self, x, scale):
        self.rows.append((len(x), len(scale)))
        return self.linear(x) * scale[:, None]


class _PairDataset(Dataset):
    def __init__(self, x, s, y):
        self.x, self.s, self.y = x, s, y

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return (self.x[i], self.s[i]), self.y[i]


@pytest.mark.parametrize("form", ["tensors", "list", "dataset", "dataloader"])
def test_tuple_inputs_reach_the_model_as_separate_arguments(form):
    x, y = _regression(n=20)
    s = torch.linspace(0.5, 2.0, 20)
    data = {"tensors": ((x, s), y), "list": ([x, s], y), "dataset": _PairDataset(x, s, y),
            "dataloader": DataLoader(_PairDataset(x, s, y), batch_size=8)}[form]
    helpers.seed_everything(0)
    model = _ScaledLinear()
    h = fit(model, data, nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.0), epochs=1,
            batch_size=None if form == "dataloader" else 8, progress=False)
    expected = nn.functional.mse_loss(model.linear(x) * s[:, None], y).item()
    assert h.train_loss == [pytest.approx(expected, rel=1e-6)]
    assert sorted(model.rows) == [(4, 4), (8, 8), (8, 8)]
    assert evaluate(model, data if form == "dataloader" else _PairDataset(x, s, y), nn.MSELoss()) == \
        pytest.approx(expected, rel=1e-6)


def test_tuple_inputs_must_match_the_targets():
    model = _ScaledLinear()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = _regression(n=10)
    with pytest.raises(ValueError, match="inputs have 9 rows but targets have 10"):
        fit(model, ((x, torch.ones(9)), y), nn.MSELoss(), opt, epochs=1, progress=False)
    with pytest.raises(TypeError, match="tensors"):
        fit(model, ((x, [1.0] * 10), y), nn.MSELoss(), opt, epochs=1, progress=False)


def test_batches_that_are_not_pairs_are_rejected():
    x, y = _regression(n=10)
    loader = DataLoader(TensorDataset(x, y, y), batch_size=5)
    model = nn.Linear(3, 1)
    with pytest.raises(ValueError, match=r"\(inputs, targets\)"):
        fit(model, loader, nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.1), epochs=1, progress=False)


# ----------------------------------------------------------------------------- evaluate

@pytest.mark.parametrize("form", ["tensors", "dataset", "dataloader"])
def test_evaluate_accepts_every_form_and_restores_the_mode(form):
    x, y = _classification(n=30)
    data = {"tensors": (x, y), "dataset": TensorDataset(x, y),
            "dataloader": DataLoader(TensorDataset(x, y), batch_size=7)}[form]
    model = _dropout_net()
    with torch.no_grad():
        expected = nn.functional.cross_entropy(model.eval()(x), y).item()
        expected_acc = accuracy(model(x), y)
    for mode in (True, False):
        model.train(mode)
        assert evaluate(model, data, nn.CrossEntropyLoss()) == pytest.approx(expected, rel=1e-6)
        assert model.training is mode
    result = evaluate(model, data, nn.CrossEntropyLoss(), metrics={"acc": accuracy})
    assert result == {"loss": pytest.approx(expected, rel=1e-6), "acc": pytest.approx(expected_acc)}
    if form != "dataloader":
        assert evaluate(model, data, nn.CrossEntropyLoss(), batch_size=4) == pytest.approx(expected, rel=1e-6)


def test_evaluate_uses_no_gradients_and_no_global_randomness():
    x, y = _regression(n=12)
    model = nn.Linear(3, 1)
    seen = []
    evaluate(model, DataLoader(TensorDataset(x, y), batch_size=5, shuffle=True),
             lambda out, t: seen.append(out.requires_grad) or nn.functional.mse_loss(out, t))
    assert seen == [False, False, False]
    torch.manual_seed(3)
    evaluate(model, DataLoader(TensorDataset(x, y), batch_size=5, shuffle=True), nn.MSELoss())
    after = torch.rand(1)
    torch.manual_seed(3)
    assert torch.equal(after, torch.rand(1))


def test_evaluate_rejects_bad_data():
    model = nn.Linear(3, 1)
    with pytest.raises(TypeError, match="data must be"):
        evaluate(model, torch.zeros(4, 3), nn.MSELoss())
    with pytest.raises(ValueError, match="data is empty"):
        evaluate(model, (torch.zeros(0, 3), torch.zeros(0, 1)), nn.MSELoss())
    with pytest.raises(ValueError, match="batch_size"):
        evaluate(model, _regression(8), nn.MSELoss(), batch_size=0)
    with pytest.raises(TypeError, match="loss_fn"):
        evaluate(model, _regression(8), "mse")


# ----------------------------------------------------------------------------- devices

def test_to_device_moves_nested_inputs_and_keeps_their_shape():
    a, b = torch.zeros(2), torch.ones(2)
    moved = _to_device(((a, [b, 3]), b), torch.device("cpu"))
    assert isinstance(moved, tuple) and isinstance(moved[0], tuple) and isinstance(moved[0][1], list)
    assert torch.equal(moved[0][1][0], b) and moved[0][1][1] == 3


@pytest.mark.parametrize("device", [None, "cpu", torch.device("cpu")])
def test_an_explicit_cpu_device_gives_the_same_run(device):
    _, reference = _train(epochs=3)
    _, h = _train(epochs=3, device=device)
    assert h.train_loss == reference.train_loss


def test_bad_devices_are_rejected():
    model = nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="device 'nonsense'"):
        fit(model, _regression(8), nn.MSELoss(), opt, epochs=1, device="nonsense", progress=False)
    with pytest.raises(TypeError, match="device"):
        evaluate(model, _regression(8), nn.MSELoss(), device=0.5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_fit_moves_the_model_and_every_batch_to_the_device():
    x, y = _regression(n=20)
    s = torch.ones(20)
    model = _ScaledLinear()
    h = fit(model, ((x, s), y), nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.1), epochs=2,
            batch_size=8, val_data=((x, s), y), device="cuda", progress=False)
    assert model.linear.weight.is_cuda and len(h.val_loss) == 2


# ----------------------------------------------------------------------------- argument checks

@pytest.mark.parametrize("kwargs, match", [
    ({"epochs": 0}, "epochs"),
    ({"epochs": 1, "batch_size": 0}, "batch_size"),
])
def test_fit_rejects_bad_arguments(kwargs, match):
    model = nn.Linear(3, 1)
    with pytest.raises(ValueError, match=match):
        fit(model, _regression(), nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.1), progress=False, **kwargs)


def test_fit_rejects_bad_types():
    model = nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError, match="optimizer"):
        fit(model, _regression(8), nn.MSELoss(), "sgd", epochs=1, progress=False)
    with pytest.raises(TypeError, match="model"):
        fit(lambda x: x, _regression(8), nn.MSELoss(), opt, epochs=1, progress=False)
    with pytest.raises(TypeError, match="batch_size"):
        fit(model, _regression(8), nn.MSELoss(), opt, epochs=1, batch_size=True, progress=False)
    with pytest.raises(TypeError, match="epochs"):
        fit(model, _regression(8), nn.MSELoss(), opt, epochs=1.5, progress=False)
    with pytest.raises(ValueError, match="length 3"):
        fit(model, (*_regression(8), None), nn.MSELoss(), opt, epochs=1, progress=False)
    with pytest.raises(TypeError, match="data must hold tensors"):
        fit(model, (torch.zeros(4, 3).tolist(), torch.zeros(4, 1)), nn.MSELoss(), opt, epochs=1, progress=False)
    with pytest.raises(TypeError, match="val_data must be"):
        fit(model, _regression(8), nn.MSELoss(), opt, epochs=1, val_data=3, progress=False)


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
    with pytest.raises(ValueError, match="data is empty"):
        fit(model, TensorDataset(torch.zeros(0, 3), torch.zeros(0, 1)), nn.MSELoss(), opt, epochs=1, progress=False)
    with pytest.raises(ValueError, match="no batches"):
        fit(model, DataLoader(TensorDataset(*_regression(4)), batch_size=8, drop_last=True), nn.MSELoss(), opt,
            epochs=1, progress=False)


# ----------------------------------------------------------------------------- plots and imports

def test_history_plot_draws_losses_and_learning_rates():
    h = History(train_loss=[3.0, 2.0, 1.0], val_loss=[3.5, 2.5, 1.5], lrs=[0.1] * 6)
    fig = h.plot()
    ax_loss, ax_lr = fig.axes
    assert [len(line.get_xdata()) for line in ax_loss.lines] == [3, 3]
    assert list(ax_lr.lines[0].get_ydata()) == [0.1] * 6
    assert plotting.figure_to_png(fig)[:8] == b"\x89PNG\r\n\x1a\n"
    h.train_eval_loss = [3.2, 2.2, 1.2]
    assert [list(line.get_ydata()) for line in h.plot().axes[0].lines][1] == [3.2, 2.2, 1.2]


def test_plot_histories_draws_one_axes_per_key_and_one_line_per_run():
    runs = {"sgd": History(train_loss=[3.0, 2.0], val_loss=[3.1, 2.5], step_loss=[4.0, 3.0, 2.0, 1.0],
                           metrics={"val_acc": [0.5, 0.7]}),
            "adam": History(train_loss=[2.0, 1.0], val_loss=[2.2, 1.4], step_loss=[3.0, 1.0, 1.0, 0.5])}
    fig = plot_histories(runs)
    assert [ax.get_title() for ax in fig.axes] == ["train_loss", "val_loss"]
    ax_val = fig.axes[1]
    assert [list(line.get_ydata()) for line in ax_val.lines] == [[3.1, 2.5], [2.2, 1.4]]
    assert list(ax_val.lines[0].get_xdata()) == [1, 2]
    assert [t.get_text() for t in ax_val.get_legend().get_texts()] == ["sgd", "adam"]
    steps, acc = plot_histories(runs, ("step_loss", "val_acc"), title="compare", logy=True).axes
    assert steps.get_xlabel() == "step" and list(steps.lines[0].get_xdata()) == [1, 2, 3, 4]
    assert steps.get_yscale() == "log" and len(acc.lines) == 1 and acc.get_xlabel() == "epoch"
    assert len(plot_histories(runs, "lrs").axes) == 1
    with pytest.raises(ValueError, match="keys"):
        plot_histories(runs, ("train_los",))
    with pytest.raises(ValueError, match="histories"):
        plot_histories({})
    with pytest.raises(TypeError, match="histories"):
        plot_histories({"a": [1.0, 2.0]})


def test_importing_training_loads_no_plotting_widgets_or_progress_bar():
    code = ("import sys, torch; before = set(sys.modules); import helpers.training\n"
            "new = set(sys.modules) - before\n"
            "print(sorted(x for x in new if x.split('.')[0] in ('matplotlib', 'ipywidgets', 'tqdm', 'IPython')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_tqdm_is_imported_only_for_a_progress_bar(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # any import of tqdm.auto now fails
    _, h = _train(epochs=1, progress=False)
    assert len(h.train_loss) == 1
    with pytest.raises(ImportError):
        _train(epochs=1, progress=True)
