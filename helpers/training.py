"""One small training loop for every chapter: ``fit`` and the ``History`` it returns."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

__all__ = ["fit", "evaluate", "History"]


@dataclass
class History:
    """Per-epoch losses and the learning rate actually used at every optimisation step."""

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    lrs: list[float] = field(default_factory=list)

    def plot(self, title: str = "training"):
        """A figure with the loss curves (left) and the learning rate per step (right)."""
        from .plotting import COLORS, new_figure

        fig, (ax_loss, ax_lr) = new_figure((8.0, 3.0), ncols=2)
        epochs = range(1, len(self.train_loss) + 1)
        ax_loss.plot(epochs, self.train_loss, color=COLORS["main"], label="train")
        if self.val_loss:
            ax_loss.plot(epochs, self.val_loss, color=COLORS["accent"], label="validation")
        ax_loss.set(xlabel="epoch", ylabel="loss", title=title)
        ax_loss.legend()
        ax_lr.plot(range(1, len(self.lrs) + 1), self.lrs, color=COLORS["grad"])
        ax_lr.set(xlabel="step", ylabel="learning rate", title="learning rate used")
        return fig


class _TensorBatches:
    """Mini-batches of two tensors, reshuffled every pass (much faster than a DataLoader over samples)."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, batch_size: int, shuffle: bool) -> None:
        self.x, self.y, self.batch_size, self.shuffle = x, y, batch_size, shuffle
        seed = int(torch.randint(0, 2**31 - 1, (1,)).item())  # drawn from the global seed
        self.generator = torch.Generator().manual_seed(seed)

    def __iter__(self):
        n = len(self.x)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        for start in range(0, n, self.batch_size):
            idx = order[start:start + self.batch_size]
            yield self.x[idx], self.y[idx]


def _as_loader(data, batch_size: int | None, shuffle: bool, name: str):
    """Turn ``(X, y)``, a ``Dataset`` or a ``DataLoader`` into an iterable of ``(xb, yb)`` batches."""
    if isinstance(data, DataLoader):
        if batch_size is not None:
            raise ValueError(f"{name} is already a DataLoader: leave batch_size=None")
        if len(data.dataset) == 0:
            raise ValueError(f"{name} is empty")
        return data
    if isinstance(data, (tuple, list)):
        if len(data) != 2:
            raise ValueError(f"{name} must be (inputs, targets), got a sequence of length {len(data)}")
        x, y = data
        if not (isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor)):
            raise TypeError(f"{name} must hold two tensors, got {type(x).__name__} and {type(y).__name__}")
        if len(x) != len(y):
            raise ValueError(f"{name}: inputs have {len(x)} rows but targets have {len(y)}")
        if len(x) == 0:
            raise ValueError(f"{name} is empty")
        return _TensorBatches(x, y, batch_size or len(x), shuffle)
    if not isinstance(data, Dataset):
        raise TypeError(f"{name} must be (inputs, targets), a Dataset or a DataLoader, got {type(data).__name__}")
    n = len(data)
    if n == 0:
        raise ValueError(f"{name} is empty")
    generator = torch.Generator().manual_seed(int(torch.randint(0, 2**31 - 1, (1,)).item()))
    return DataLoader(data, batch_size=batch_size or n, shuffle=shuffle, generator=generator, num_workers=0)


def evaluate(model: nn.Module, loader, loss_fn: Callable) -> float:
    """Mean loss of ``model`` over the batches of ``loader``, each batch weighted by its size."""
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for xb, yb in loader:
            total += loss_fn(model(xb), yb).item() * len(xb)
            count += len(xb)
    model.train(was_training)
    return total / count


def fit(
    model: nn.Module,
    data,
    loss_fn: Callable,
    optimizer: torch.optim.Optimizer,
    *,
    epochs: int,
    batch_size: int | None = None,
    scheduler=None,
    val_data=None,
    progress: bool = True,
) -> History:
    """Train ``model`` for ``epochs`` passes over ``data`` and return its :class:`History`.

    ``data`` (and ``val_data``) is ``(inputs, targets)``, a ``Dataset`` or a ``DataLoader``.
    ``batch_size=None`` means one full batch per epoch. The epoch loss is the mean over
    samples (each batch weighted by its size). ``scheduler`` is stepped once per epoch;
    ``ReduceLROnPlateau`` is given the validation loss (the training loss without ``val_data``).
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be an int >= 1, got {epochs!r}")
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1):
        raise ValueError(f"batch_size must be None or an int >= 1, got {batch_size!r}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    loader = _as_loader(data, batch_size, shuffle=True, name="data")
    val_loader = None if val_data is None else _as_loader(val_data, None, shuffle=False, name="val_data")

    history = History()
    bar = range(epochs)
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(bar, desc="epochs", leave=True)
    model.train()
    for _ in bar:
        total, count = 0.0, 0
        for xb, yb in loader:
            history.lrs.append(optimizer.param_groups[0]["lr"])
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(xb)
            count += len(xb)
        history.train_loss.append(total / count)
        if val_loader is not None:
            history.val_loss.append(evaluate(model, val_loader, loss_fn))
        if scheduler is not None:
            if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                scheduler.step(history.val_loss[-1] if val_loader is not None else history.train_loss[-1])
            else:
                scheduler.step()
        if progress:
            bar.set_postfix(loss=f"{history.train_loss[-1]:.4f}")
    return history
