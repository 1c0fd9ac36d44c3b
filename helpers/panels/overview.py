"""Chapter 0 (deep learning vs machine learning): the learning-curve figure and panel.

The runs come from :func:`helpers.overview.learning_curves` (computed once, cached); everything here only draws.
"""
from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from ..overview import NETWORKS, LearningCurves, learning_curves
from ..plotting import COLORS, new_figure
from .base import Panel, dropdown, register
from .pieces import MAGNITUDE_CMAP, SIGNED_CMAP, HeatMap

__all__ = ["learning_curve_figure", "logistic_weights_figure", "learning_curve_panel"]

_MODEL_COLORS = {
    "logistic regression": COLORS["main"], "k-NN": COLORS["alt"], "decision tree": COLORS["muted"],
    "random forest": COLORS["purple"], "MLP": COLORS["accent"], "CNN": COLORS["grad"],
}


def _style(model_name: str) -> dict:
    """Networks dashed, classical models solid, one colour per model."""
    return {"color": _MODEL_COLORS.get(model_name, "black"), "ls": "--" if model_name in NETWORKS else "-"}


def _accuracy_axes(ax, curves: LearningCurves, *, lw: float = 1.6) -> None:
    """Validation accuracy against the training-set size, one line per model, on a log x-axis."""
    for name in curves.models:
        ax.plot(curves.sizes, curves.accuracy(name), marker="o", ms=3, lw=lw, label=name, **_style(name))
    _log_size_axis(ax, curves.sizes)
    ax.set(ylabel="validation accuracy", ylim=(0.4, 1.0))


def _log_size_axis(ax, sizes) -> None:
    ax.set_xscale("log")
    ax.set_xticks(sizes, [str(n) for n in sizes])
    ax.minorticks_off()
    ax.set_xlabel("training images (log scale)")


def learning_curve_figure(curves: LearningCurves | None = None):
    """Three plots from the grid of runs against the training-set size: validation accuracy, error rate (log), training accuracy."""
    curves = learning_curves() if curves is None else curves
    if not isinstance(curves, LearningCurves):
        raise TypeError(f"curves must be a LearningCurves (helpers.overview.learning_curves()), got {type(curves).__name__}")
    fig, (ax_acc, ax_err, ax_train) = new_figure((12.0, 3.4), ncols=3)
    _accuracy_axes(ax_acc, curves)
    ax_acc.set_title("validation accuracy")
    ax_acc.legend(fontsize=8, loc="lower right")
    for name in curves.models:
        error = 1.0 - np.asarray(curves.accuracy(name))
        ax_err.plot(curves.sizes, np.maximum(error, 1e-3), marker="o", ms=3, label=name, **_style(name))
        ax_train.plot(curves.sizes, curves.train_accuracy(name), marker="o", ms=3, label=name, **_style(name))
    _log_size_axis(ax_err, curves.sizes)
    ax_err.set_yscale("log")
    _log_size_axis(ax_train, curves.sizes)
    ticks = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5]
    ax_err.set_yticks(ticks, [f"{t:g}" for t in ticks])
    ax_err.minorticks_off()
    ax_err.set(ylabel="validation error rate (log scale)", title="error rate = 1 - accuracy")
    ax_train.set(ylabel="training accuracy", ylim=(0.8, 1.01), title="accuracy on the training images")
    return fig


def logistic_weights_figure(estimator):
    """The weights of a fitted multinomial logistic regression on 8x8 images, one 8x8 map per class."""
    coef = getattr(estimator, "coef_", None)
    if coef is None or np.asarray(coef).shape[1:] != (64,):
        raise TypeError(f"estimator must be a fitted LogisticRegression on 64 pixels, got {type(estimator).__name__}")
    coef = np.asarray(coef)
    limit = float(np.percentile(np.abs(coef), 98))  # a few extreme pixels would wash out the rest
    fig, axes = new_figure((10.0, 1.45), ncols=len(coef), constrained=False)  # fixed margins: faster than a layout engine
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.02, top=0.72, wspace=0.08)
    for digit, (ax, weights) in enumerate(zip(np.atleast_1d(axes), coef)):
        ax.imshow(weights.reshape(8, 8), cmap=SIGNED_CMAP, vmin=-limit, vmax=limit, interpolation="nearest")
        ax.set_title(f"class {digit}", fontsize=9)
        ax.set_axis_off()
    fig.suptitle("logistic regression: weight of each pixel per class (red = evidence for, blue = against)", fontsize=10)
    return fig


def _most_confused(confusion: np.ndarray) -> str:
    """The largest off-diagonal count of a confusion matrix, as readable text."""
    off = confusion.copy()
    np.fill_diagonal(off, 0)
    if off.max() == 0:
        return "no mistakes"
    true, predicted = np.unravel_index(np.argmax(off), off.shape)
    return f"most frequent mistake: true {true} predicted as {predicted} ({off[true, predicted]} of {confusion[true].sum()})"


@register
def learning_curve_panel(curves: LearningCurves | None = None, *, model: str = "CNN", n_train: int | None = None) -> Panel:
    """Training-set size and model against the learning curves and the validation confusion matrix (precomputed runs)."""
    curves = learning_curves() if curves is None else curves
    if not isinstance(curves, LearningCurves):
        raise TypeError(f"curves must be a LearningCurves (helpers.overview.learning_curves()), got {type(curves).__name__}")
    if model not in curves.models:
        raise ValueError(f"model must be one of {list(curves.models)}, got {model!r}")
    n_train = curves.sizes[1 if len(curves.sizes) > 1 else 0] if n_train is None else n_train
    if n_train not in curves.sizes:
        raise ValueError(f"n_train must be one of {list(curves.sizes)}, got {n_train!r}")
    controls = {
        "n_train": widgets.SelectionSlider(options=list(curves.sizes), value=n_train, description="training images",
                                           style={"description_width": "initial"}, layout=widgets.Layout(width="360px")),
        "model": dropdown("model", list(curves.models), model),
    }
    # row-normalised confusion matrices, computed once: the panel only looks them up
    fractions = {key: (run.confusion / run.confusion.sum(dim=1, keepdim=True).clamp(min=1)).numpy()
                 for key, run in curves.runs.items()}

    def setup(fig):
        ax_acc, ax_cm = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.7, 1.0]})
        _accuracy_axes(ax_acc, curves, lw=1.0)
        for line in ax_acc.lines:
            line.set_alpha(0.45)
        ax_acc.legend(fontsize=7, loc="lower right")
        ax_acc.set_title("validation accuracy (all models)")
        (chosen,) = ax_acc.plot(curves.sizes, curves.accuracy(curves.models[0]), lw=3.2, animated=True)
        (point,) = ax_acc.plot([curves.sizes[0]], [0.5], "o", ms=9, mfc="white", mew=2.5, animated=True)
        # a scale that ends at 0.2 keeps single mistakes (1 of ~45 images = 0.02) visible next to the diagonal
        heat = HeatMap(ax_cm, (10, 10), cmap=MAGNITUDE_CMAP, vmin=0.0, vmax=0.2, label="fraction of true class (cap 0.2)")
        ax_cm.set_xticks(range(10))
        ax_cm.set_yticks(range(10))
        ax_cm.set(xlabel="predicted digit", ylabel="true digit", title="confusion matrix (validation)")

        def update(n_train: int, model: str) -> str:
            run = curves.run(model, n_train)
            color = _style(model)["color"]
            chosen.set_ydata(curves.accuracy(model))
            chosen.set_color(color)
            point.set_data([n_train], [run.val_acc])
            point.set_markeredgecolor(color)
            heat.set_data(fractions[(model, n_train)])
            return (f"<b>{model}</b>, {n_train} training images: validation accuracy <b>{run.val_acc:.3f}</b> "
                    f"(training {run.train_acc:.3f})<br>"
                    f"{_most_confused(run.confusion.numpy())}")

        return update

    return Panel(controls, setup, figsize=(7.8, 3.0))
