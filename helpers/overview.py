"""Chapter 0 (deep learning vs machine learning): classical models and small networks on the 8x8 digits.

One experiment: each model is trained on the first ``n`` images of a class-balanced order of the
training set (nested subsets, so a larger ``n`` only adds images) and scored on the fixed validation
set. ``learning_curves`` runs the whole grid once and caches it; figures and panels only read it.

Classical models come from scikit-learn (imported inside the functions that fit them); the networks
are trained with :func:`helpers.training.fit`. Nothing here imports matplotlib or ipywidgets.
"""
from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .checks import instance, integer, one_of

__all__ = [
    "CLASSICAL", "NETWORKS", "MODELS", "TRAIN_SIZES", "mlp", "small_cnn", "count_parameters", "balanced_order",
    "confusion_matrix", "Run", "LearningCurves", "non_default_settings", "network_steps", "fit_model", "run_model",
    "learning_curves",
]

CLASSICAL = ("logistic regression", "k-NN", "decision tree", "random forest")
NETWORKS = ("MLP", "CNN")
MODELS = CLASSICAL + NETWORKS
TRAIN_SIZES = (50, 100, 200, 400, 800, 1347)  # 1347 = the whole training split of helpers.data.digits()
NUM_CLASSES = 10


def mlp(hidden: int = 32) -> nn.Sequential:
    r"""A one-hidden-layer perceptron on the 64 pixels: $z = W_2\,\mathrm{ReLU}(W_1 x + b_1) + b_2$."""
    integer(hidden, "hidden", 1)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, NUM_CLASSES))


def small_cnn(channels: int = 8) -> nn.Sequential:
    r"""One 3x3 convolution (padding 1), ReLU, 2x2 max-pooling, then a linear layer: $8\times8 \to 4\times4$ maps $\to$ 10 logits."""
    integer(channels, "channels", 1)
    return nn.Sequential(nn.Conv2d(1, channels, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(channels * 16, NUM_CLASSES))


def count_parameters(model: nn.Module) -> int:
    r"""Number of learned numbers in a network, $\sum_{p} \mathrm{numel}(p)$ over ``model.parameters()``."""
    instance(model, nn.Module, "model")
    return sum(p.numel() for p in model.parameters())


def balanced_order(labels: torch.Tensor) -> torch.Tensor:
    r"""Indices that take the classes in turn (first of each class, then second of each ...): every prefix is balanced to $\pm 1$ per class."""
    if not isinstance(labels, torch.Tensor) or labels.ndim != 1 or labels.dtype != torch.long:
        raise TypeError(f"labels must be a 1-D int64 tensor, got {getattr(labels, 'dtype', type(labels).__name__)}")
    per_class = [torch.nonzero(labels == c).squeeze(1) for c in torch.unique(labels).tolist()]
    rank = torch.empty_like(labels)
    for idx in per_class:
        rank[idx] = torch.arange(len(idx))
    # sort by (rank inside its class, class): stable, so the classes take turns
    key = rank * (int(labels.max()) + 1) + labels
    return torch.argsort(key, stable=True)


def confusion_matrix(y_true: torch.Tensor, y_pred: torch.Tensor, num_classes: int = NUM_CLASSES) -> torch.Tensor:
    r"""Counts $C_{ij} = \#\{k : y_k = i,\ \hat y_k = j\}$ (rows: true class, columns: predicted class)."""
    integer(num_classes, "num_classes", 1)
    y_true, y_pred = torch.as_tensor(y_true).long().reshape(-1), torch.as_tensor(y_pred).long().reshape(-1)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred must have the same length, got {len(y_true)} and {len(y_pred)}")
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if len(y) and (int(y.min()) < 0 or int(y.max()) >= num_classes):
            raise ValueError(f"{name} must hold labels in [0, {num_classes}), got range [{int(y.min())}, {int(y.max())}]")
    flat = torch.bincount(y_true * num_classes + y_pred, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes)


@dataclass(frozen=True)
class Run:
    """One model trained on ``n_train`` images: its validation/training accuracy, fit time and confusion matrix."""

    model_name: str
    n_train: int
    val_acc: float
    train_acc: float
    seconds: float                # wall-clock time of the fit alone
    confusion: torch.Tensor       # (10, 10) counts on the validation set, rows = true class
    model: Any                    # the fitted scikit-learn estimator or nn.Module


@dataclass(frozen=True)
class LearningCurves:
    """The grid of runs, ``runs[(model_name, n_train)]``, with the sizes and models it covers."""

    sizes: tuple[int, ...]
    models: tuple[str, ...]
    runs: dict

    def run(self, model_name: str, n_train: int) -> Run:
        """The run of one model at one training-set size."""
        if (model_name, n_train) not in self.runs:
            raise ValueError(f"no run for model {model_name!r} at n_train={n_train!r}; "
                             f"models {list(self.models)}, sizes {list(self.sizes)}")
        return self.runs[(model_name, n_train)]

    def accuracy(self, model_name: str) -> list[float]:
        """Validation accuracy of one model at every size (the learning curve)."""
        return [self.run(model_name, n).val_acc for n in self.sizes]

    def train_accuracy(self, model_name: str) -> list[float]:
        """Training accuracy of one model at every size (1.0: it gets every image it was trained on right)."""
        return [self.run(model_name, n).train_acc for n in self.sizes]

    def seconds(self, model_name: str) -> list[float]:
        """Fit time in seconds of one model at every size (it varies from run to run: benchmarks print it, notebooks do not)."""
        return [self.run(model_name, n).seconds for n in self.sizes]


def _classical(name: str, seed: int):
    """A scikit-learn classifier: defaults except max_iter, the number of trees and the seed (see non_default_settings)."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.tree import DecisionTreeClassifier

    return {
        "logistic regression": lambda: LogisticRegression(max_iter=1000),
        "k-NN": lambda: KNeighborsClassifier(),
        "decision tree": lambda: DecisionTreeClassifier(random_state=seed),
        "random forest": lambda: RandomForestClassifier(n_estimators=50, random_state=seed),
    }[name]()


def non_default_settings(model_name: str, seed: int = 0) -> dict[str, tuple[Any, Any]]:
    """The settings of a classical model that differ from scikit-learn's defaults: ``{name: (ours, default)}``."""
    if one_of(model_name, MODELS, "model_name") not in CLASSICAL:
        raise ValueError(f"model_name must be a classical model {list(CLASSICAL)}, got {model_name!r}")
    ours = _classical(model_name, seed).get_params()
    default = type(_classical(model_name, seed))().get_params()
    return {key: (value, default[key]) for key, value in ours.items() if value != default[key]}


def network_steps(n_train: int, steps: int = 100, batch_size: int = 128) -> int:
    r"""Optimizer steps a network takes in ``fit_model``: whole epochs of $\lceil n/B \rceil$ batches, at least ``steps`` in all."""
    batches = math.ceil(integer(n_train, "n_train", 1) / integer(batch_size, "batch_size", 1))
    return math.ceil(integer(steps, "steps", 1) / batches) * batches


def fit_model(model_name: str, x: torch.Tensor, y: torch.Tensor, *, seed: int = 0, steps: int = 100,
              batch_size: int = 128, lr: float = 3e-2):
    r"""Fit one model on images ``x`` (N, 1, 8, 8) and labels ``y``; networks take ``steps`` Adam steps on $\mathrm{CE}(f(x), y)$.

    Returns ``predict``, a function from images to labels, and the fitted model.
    """
    one_of(model_name, MODELS, "model_name"), integer(steps, "steps", 1)
    if not isinstance(x, torch.Tensor) or x.ndim != 4 or tuple(x.shape[1:]) != (1, 8, 8):
        raise ValueError(f"x must be a tensor of shape (N, 1, 8, 8), got {tuple(getattr(x, 'shape', ()))}")
    if not isinstance(y, torch.Tensor) or y.shape != (len(x),):
        raise ValueError(f"y must be a tensor of shape ({len(x)},), got {tuple(getattr(y, 'shape', ()))}")
    if model_name in CLASSICAL:
        estimator = _classical(model_name, seed).fit(x.reshape(len(x), -1).numpy(), y.numpy())
        return (lambda images: torch.as_tensor(estimator.predict(images.reshape(len(images), -1).numpy()))), estimator
    from .training import accuracy, fit

    torch.manual_seed(seed)
    net = mlp() if model_name == "MLP" else small_cnn()
    epochs = network_steps(len(x), steps, batch_size) // math.ceil(len(x) / batch_size)  # about `steps` at every size
    fit(net, (x, y), nn.CrossEntropyLoss(), torch.optim.Adam(net.parameters(), lr=lr), epochs=epochs,
        batch_size=batch_size, metrics={"acc": accuracy}, progress=False)
    net.eval()

    def predict(images: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return net(images).argmax(dim=1)
    return predict, net


def run_model(model_name: str, n_train: int, data=None, *, seed: int = 0) -> Run:
    """Train ``model_name`` on the first ``n_train`` images of the balanced order and score it on the validation set."""
    one_of(model_name, MODELS, "model_name")
    (x_train, y_train), (x_val, y_val) = data if data is not None else _digits()
    integer(n_train, "n_train", 10, len(y_train))
    subset = balanced_order(y_train)[:n_train]
    x, y = x_train[subset], y_train[subset]
    start = time.perf_counter()
    predict, model = fit_model(model_name, x, y, seed=seed)
    seconds = time.perf_counter() - start
    predicted = predict(x_val)
    return Run(model_name, int(n_train), float((predicted == y_val).float().mean()),
               float((predict(x) == y).float().mean()), seconds, confusion_matrix(y_val, predicted), model)


@functools.lru_cache(maxsize=1)
def _digits():
    from .data import digits

    return digits()


def learning_curves(sizes=TRAIN_SIZES, models=MODELS, *, seed: int = 0) -> LearningCurves:
    """Every model at every training-set size, run once per process (cached) on one torch thread."""
    try:
        sizes, models = tuple(int(n) for n in sizes), tuple(models)
    except (TypeError, ValueError) as err:
        raise TypeError(f"sizes must be a sequence of ints, got {sizes!r}") from err
    if not sizes or list(sizes) != sorted(set(sizes)):
        raise ValueError(f"sizes must be increasing and without repeats, got {sizes!r}")
    if not models:
        raise ValueError("models must name at least one model")
    for name in models:
        one_of(name, MODELS, "model_name")
    return _learning_curves(sizes, models, seed)


def _warm_up(models: tuple[str, ...]) -> None:
    """Pay the one-time costs (imports, the optimizer's first step) before anything is timed."""
    (x, y), _ = _digits()
    for name in models:
        if name in CLASSICAL:
            _classical(name, 0)
    if any(name in NETWORKS for name in models):
        fit_model("MLP", x[:20], y[:20], steps=1)


@functools.lru_cache(maxsize=4)
def _learning_curves(sizes: tuple[int, ...], models: tuple[str, ...], seed: int) -> LearningCurves:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models: one thread is faster and the timings are comparable
    try:
        _warm_up(models)
        runs = {(name, n): run_model(name, n, seed=seed) for name in models for n in sizes}
    finally:
        torch.set_num_threads(threads)
    return LearningCurves(sizes, models, runs)
