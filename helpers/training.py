"""One small training loop for every chapter: ``fit``, the ``History`` it returns, and ``evaluate``."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from .checks import instance, integer, one_of, positive

__all__ = ["fit", "evaluate", "accuracy", "History", "plot_histories"]

@dataclass
class History:
    """What ``fit`` measured: per-epoch losses and metrics, and the loss, lr and grad norm of every step."""

    train_loss: list[float] = field(default_factory=list)       # train mode, mean over the epoch's batches
    val_loss: list[float] = field(default_factory=list)         # eval mode, after each epoch
    lrs: list[float] = field(default_factory=list)              # lr of param_groups[0] used at each step
    train_eval_loss: list[float] = field(default_factory=list)  # eval mode on the training set (train_eval=True)
    step_loss: list[float] = field(default_factory=list)        # loss of every mini-batch
    grad_norm: list[float] = field(default_factory=list)        # total grad norm before clipping
    metrics: dict[str, list[float]] = field(default_factory=dict)  # "train_acc", "val_acc", ...

    def plot(self, title: str = "training"):
        """A figure with the loss curves (left) and the learning rate per step (right)."""
        from .plotting import COLORS, new_figure

        fig, (ax_loss, ax_lr) = new_figure((8.0, 3.0), ncols=2)
        epochs = range(1, len(self.train_loss) + 1)
        ax_loss.plot(epochs, self.train_loss, color=COLORS["main"], label="train")
        if self.train_eval_loss:
            ax_loss.plot(epochs, self.train_eval_loss, color=COLORS["main"], ls="--", label="train (eval mode)")
        if self.val_loss:
            ax_loss.plot(epochs, self.val_loss, color=COLORS["accent"], label="validation")
        ax_loss.set(xlabel="epoch", ylabel="loss", title=title)
        ax_loss.legend()
        ax_lr.plot(range(1, len(self.lrs) + 1), self.lrs, color=COLORS["grad"])
        ax_lr.set(xlabel="step", ylabel="learning rate", title="learning rate used")
        return fig


def accuracy(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    r"""Fraction of correct predictions $\frac1N\sum_i [\hat y_i = y_i]$, $\hat y_i = \arg\max_c z_{ic}$ (one logit: $z_i > 0$)."""
    if outputs.ndim == 2 and outputs.shape[1] > 1:
        predicted = outputs.argmax(dim=1)
    elif outputs.ndim == 1 or (outputs.ndim == 2 and outputs.shape[1] == 1):
        predicted = (outputs.reshape(-1) > 0).to(targets.dtype)
    else:
        raise ValueError(f"outputs must be (N, C) or (N,) / (N, 1) logits, got shape {tuple(outputs.shape)}")
    if targets.numel() != len(predicted) or len(predicted) == 0:
        raise ValueError(f"targets must hold one label per row of outputs {tuple(outputs.shape)}, "
                         f"got shape {tuple(targets.shape)}")
    return (predicted == targets.reshape(-1)).float().mean().item()


class _TensorBatches:
    """Mini-batches of ``(inputs, targets)`` tensors, reshuffled every pass (faster than a DataLoader)."""

    def __init__(self, x, y: torch.Tensor, batch_size: int, shuffle: bool) -> None:
        self.x, self.y, self.batch_size, self.shuffle = x, y, batch_size, shuffle
        if shuffle:  # one draw from the global seed; an unshuffled pass draws nothing
            self.generator = torch.Generator().manual_seed(int(torch.randint(0, 2**31 - 1, (1,)).item()))

    def __iter__(self):
        n = len(self.y)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        for start in range(0, n, self.batch_size):
            idx = order[start:start + self.batch_size]
            xb = tuple(t[idx] for t in self.x) if isinstance(self.x, (tuple, list)) else self.x[idx]
            yield xb, self.y[idx]


def _batches(data, batch_size: int | None, *, shuffle: bool, name: str):
    """Turn ``(inputs, targets)``, a ``Dataset`` or a ``DataLoader`` into an iterable of batches."""
    if isinstance(data, DataLoader):
        if batch_size is not None:
            raise ValueError(f"{name} is already a DataLoader: leave batch_size=None, got {batch_size!r}")
        if hasattr(data.dataset, "__len__") and len(data.dataset) == 0:
            raise ValueError(f"{name} is empty")
        return data
    if isinstance(data, (tuple, list)):
        if len(data) != 2:
            raise ValueError(f"{name} must be (inputs, targets), got a sequence of length {len(data)}")
        x, y = data
        parts = list(x) if isinstance(x, (tuple, list)) else [x]
        if not parts or not all(isinstance(t, torch.Tensor) for t in [*parts, y]):
            kinds = ", ".join(type(t).__name__ for t in [*parts, y])
            raise TypeError(f"{name} must hold tensors (inputs may be a tuple of tensors), got {kinds}")
        for t in parts:
            if len(t) != len(y):
                raise ValueError(f"{name}: inputs have {len(t)} rows but targets have {len(y)}")
        if len(y) == 0:
            raise ValueError(f"{name} is empty")
        return _TensorBatches(x, y, batch_size or len(y), shuffle)
    if not isinstance(data, Dataset):
        raise TypeError(f"{name} must be (inputs, targets), a Dataset or a DataLoader, got {type(data).__name__}")
    if len(data) == 0:
        raise ValueError(f"{name} is empty")
    generator = torch.Generator()  # a private generator: an unshuffled loader never touches the global one
    if shuffle:
        generator.manual_seed(int(torch.randint(0, 2**31 - 1, (1,)).item()))
    return DataLoader(data, batch_size=batch_size or len(data), shuffle=shuffle, generator=generator)


def _to_device(x, device: torch.device):
    """Move a tensor, or each tensor of a tuple/list, to ``device``."""
    if isinstance(x, (tuple, list)):
        moved = [_to_device(t, device) for t in x]
        return tuple(moved) if isinstance(x, tuple) else moved
    return x.to(device) if isinstance(x, torch.Tensor) else x


def _pairs(batches, device: torch.device, name: str):
    """Yield each batch as ``(inputs, targets)`` on ``device``."""
    for batch in batches:
        if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
            raise ValueError(f"each batch of {name} must be (inputs, targets), got {type(batch).__name__}")
        yield _to_device(batch[0], device), _to_device(batch[1], device)


def _forward(model: nn.Module, xb):
    """``model(xb)``, or ``model(*xb)`` when the inputs are a tuple/list of tensors."""
    return model(*xb) if isinstance(xb, (tuple, list)) else model(xb)


def _batch_values(loss: float, outputs, yb, metrics: dict) -> tuple[int, dict[str, float]]:
    """The batch size (``len(targets)``) and the batch's loss and metrics."""
    return len(yb), {"loss": loss, **{metric: float(fn(outputs, yb)) for metric, fn in metrics.items()}}


def _weighted_mean(rows: list[tuple[int, dict[str, float]]], name: str) -> dict[str, float]:
    r"""Sample-weighted mean of per-batch values, $\sum_b n_b v_b / \sum_b n_b$."""
    count = sum(n for n, _ in rows)
    if count == 0:
        raise ValueError(f"{name} yielded no batches")
    return {key: sum(n * values[key] for n, values in rows) / count for key in rows[0][1]}


def _run_epoch(model, batches, loss_fn, optimizer, history: History, *, metrics, clip_grad_norm,
               batch_scheduler, device) -> dict[str, float]:
    """One pass of mini-batch gradient descent; returns the sample-weighted mean loss and metrics."""
    model.train()
    rows = []
    for xb, yb in _pairs(batches, device, "data"):
        outputs = _forward(model, xb)
        loss = loss_fn(outputs, yb)
        optimizer.zero_grad()
        loss.backward()
        if clip_grad_norm is not None:  # clip_grad_norm_ returns the norm before clipping
            history.grad_norm.append(float(nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)))
        history.lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        if batch_scheduler is not None:
            batch_scheduler.step()
        history.step_loss.append(loss.item())
        with torch.no_grad():
            rows.append(_batch_values(loss.item(), outputs, yb, metrics))
    return _weighted_mean(rows, "data")


def _measure(model, batches, loss_fn, metrics, device, name: str) -> dict[str, float]:
    """Sample-weighted mean loss and metrics in eval mode, without gradients or global RNG draws."""
    was_training = model.training
    model.eval()
    rows = []
    try:
        with torch.no_grad(), torch.random.fork_rng(devices=[]):  # a DataLoader may draw a seed
            for xb, yb in _pairs(batches, device, name):
                outputs = _forward(model, xb)
                rows.append(_batch_values(float(loss_fn(outputs, yb)), outputs, yb, metrics))
    finally:
        model.train(was_training)
    return _weighted_mean(rows, name)


def _check_fit_options(optimizer, epochs, scheduler, scheduler_step, clip_grad_norm) -> bool:
    """Validate ``fit``'s own arguments; return whether the scheduler is a ReduceLROnPlateau."""
    instance(optimizer, torch.optim.Optimizer, "optimizer"), integer(epochs, "epochs", 1)
    one_of(scheduler_step, ("epoch", "batch"), "scheduler_step")
    if clip_grad_norm is not None:
        positive(clip_grad_norm, "clip_grad_norm")
    plateau = isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
    if scheduler is not None:
        if not callable(getattr(scheduler, "step", None)):
            raise TypeError(f"scheduler must have a step() method, got {type(scheduler).__name__}")
        if getattr(scheduler, "optimizer", optimizer) is not optimizer:
            raise ValueError("scheduler was built for a different optimizer than the one given to fit")
        if plateau and scheduler_step == "batch":
            raise ValueError("scheduler_step='batch' does not work with ReduceLROnPlateau: use 'epoch'")
    return plateau


def _check_common(model, loss_fn, metrics, batch_size, device) -> tuple[dict, torch.device]:
    """Validate the arguments ``fit`` and ``evaluate`` share; return the metrics dict and the device."""
    instance(model, nn.Module, "model")
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
    if batch_size is not None:
        integer(batch_size, "batch_size", 1)
    metrics = {} if metrics is None else metrics
    if not isinstance(metrics, dict):
        raise TypeError(f"metrics must be a dict {{name: fn(outputs, targets)}}, got {type(metrics).__name__}")
    for metric, fn in metrics.items():
        if not isinstance(metric, str) or not metric or metric == "loss" or metric.startswith(("train_", "val_")):
            raise ValueError(f"metrics name {metric!r} must be a non-empty str other than 'loss', "
                             "not starting with 'train_' or 'val_' (fit adds those prefixes)")
        if not callable(fn):
            raise TypeError(f"metrics[{metric!r}] must be callable, got {type(fn).__name__}")
    if device is None:
        first = next(model.parameters(), None)
        return metrics, first.device if first is not None else torch.device("cpu")
    if not isinstance(device, (str, torch.device)):
        raise TypeError(f"device must be None, a str or a torch.device, got {type(device).__name__}")
    try:
        return metrics, torch.device(device)
    except RuntimeError as err:
        raise ValueError(f"device {device!r} is not a valid device") from err


def evaluate(model: nn.Module, data, loss_fn: Callable, *, metrics: dict | None = None,
             batch_size: int | None = None, device=None) -> float | dict[str, float]:
    r"""Mean loss $\frac1N\sum_i \ell(f(x_i), y_i)$ over ``data`` in eval mode (a dict with ``metrics`` too)."""
    metrics, device = _check_common(model, loss_fn, metrics, batch_size, device)
    batches = _batches(data, batch_size, shuffle=False, name="data")
    means = _measure(model.to(device), batches, loss_fn, metrics, device, "data")
    return means if metrics else means["loss"]


def _record(history: History, prefix: str, means: dict[str, float]) -> None:
    """Append ``means["loss"]`` to ``<prefix>_loss`` and every metric to ``metrics["<prefix>_<name>"]``."""
    getattr(history, f"{prefix}_loss").append(means["loss"])
    for metric, value in means.items():
        if metric != "loss":
            history.metrics.setdefault(f"{prefix}_{metric}", []).append(value)


def fit(model: nn.Module, data, loss_fn: Callable, optimizer: torch.optim.Optimizer, *, epochs: int,
        batch_size: int | None = None, scheduler=None, scheduler_step: str = "epoch", val_data=None,
        metrics: dict | None = None, train_eval: bool = False, clip_grad_norm: float | None = None,
        device=None, progress: bool = True) -> History:
    r"""Train ``model`` with $\theta \leftarrow \mathrm{step}(\theta, \nabla_\theta \ell)$ for ``epochs`` passes over ``data``.

    ``data`` (and ``val_data``) is ``(inputs, targets)``, a ``Dataset`` or a ``DataLoader``; inputs that
    are a tuple of tensors reach the model as ``model(*inputs)``. ``batch_size=None`` means one full
    batch. ``scheduler`` is stepped after every optimiser step (``scheduler_step="batch"``) or every
    epoch; ``ReduceLROnPlateau`` gets the validation loss (the training loss without ``val_data``).
    Measuring (``val_data``, ``train_eval``, ``metrics``) never changes the training run.
    """
    metrics, device = _check_common(model, loss_fn, metrics, batch_size, device)
    plateau = _check_fit_options(optimizer, epochs, scheduler, scheduler_step, clip_grad_norm)

    train_batches = _batches(data, batch_size, shuffle=True, name="data")
    val_size = None if isinstance(val_data, DataLoader) else batch_size
    val_batches = None if val_data is None else _batches(val_data, val_size, shuffle=False, name="val_data")
    eval_batches = _batches(data, batch_size, shuffle=False, name="data") if train_eval else None
    model.to(device)
    history = History()
    epoch_range = range(epochs)
    if progress:
        from tqdm.auto import tqdm

        epoch_range = tqdm(epoch_range, desc="epochs", leave=True)
    for _ in epoch_range:
        _record(history, "train", _run_epoch(
            model, train_batches, loss_fn, optimizer, history, metrics=metrics, clip_grad_norm=clip_grad_norm,
            batch_scheduler=scheduler if scheduler_step == "batch" else None, device=device))
        if val_batches is not None:
            _record(history, "val", _measure(model, val_batches, loss_fn, metrics, device, "val_data"))
        if eval_batches is not None:
            _record(history, "train_eval", _measure(model, eval_batches, loss_fn, metrics, device, "data"))
        if scheduler is not None and scheduler_step == "epoch":
            if plateau:
                scheduler.step((history.val_loss or history.train_loss)[-1])
            else:
                scheduler.step()
        if progress:
            epoch_range.set_postfix(loss=f"{history.train_loss[-1]:.4f}")
    return history


def plot_histories(histories: dict[str, History], keys=("train_loss", "val_loss"), *,
                   title: str | None = None, logy: bool = False):
    """One figure comparing runs: one axes per key of ``History`` (or of its metrics), one line per run."""
    if not isinstance(histories, dict) or not histories:
        raise ValueError(f"histories must be a non-empty dict {{label: History}}, got {histories!r}")
    for label, h in histories.items():
        if not isinstance(h, History):
            raise TypeError(f"histories[{label!r}] must be a History, got {type(h).__name__}")
    keys = (keys,) if isinstance(keys, str) else tuple(keys)
    series = [f for f in History.__dataclass_fields__ if f != "metrics"]
    known = set(series).union(*(h.metrics for h in histories.values()))
    if not keys or any(key not in known for key in keys):
        raise ValueError(f"keys must be some of {sorted(known)}, got {keys!r}")
    from .plotting import COLORS, new_figure

    fig, axes = new_figure((4.0 * len(keys), 3.0), ncols=len(keys), squeeze=False)
    colors = list(COLORS.values())
    for ax, key in zip(axes[0], keys):
        for i, (label, h) in enumerate(histories.items()):
            values = getattr(h, key) if key in series else h.metrics.get(key, [])
            if values:
                ax.plot(range(1, len(values) + 1), values, color=colors[i % len(colors)], label=str(label))
        per_step = key in ("step_loss", "lrs", "grad_norm")
        ax.set(xlabel="step" if per_step else "epoch", title=key, yscale="log" if logy else "linear")
        if ax.lines:
            ax.legend()
    if title is not None:
        fig.suptitle(title)
    return fig
