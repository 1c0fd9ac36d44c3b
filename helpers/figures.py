"""The notes' figures, regenerated with their exact file names.

    python -m helpers.figures [--out DIR]     # default: pic/ beside the notebooks

The notebooks display the same figures with ``plotting.show(make_figure(name))`` (same code, same bytes).
"""
from __future__ import annotations

import argparse
import pathlib
from typing import Callable

import matplotlib
import numpy as np
import torch
from matplotlib.figure import Figure

from . import activations as act
from .losses import LOSSES, LossSpec
from .plotting import COLORS, STYLE, curve_figure, figure_to_png, new_figure

__all__ = ["FIGURES", "make_figure", "render", "write_all"]

DEFAULT_OUT = pathlib.Path(__file__).resolve().parents[1] / "pic"


def _np(fn: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[np.ndarray], np.ndarray]:
    return lambda x: fn(torch.as_tensor(x, dtype=torch.float64)).numpy()


def _activation(fn, title: str, label: str, color: str = COLORS["main"]) -> Callable[[], Figure]:
    return lambda: curve_figure(_np(fn), x_range=(-10, 10), title=title, label=label, color=color)


def _cross_entropy() -> Figure:
    fig, ax = new_figure((6.0, 4.0))
    p = np.linspace(0.005, 1.0, 1000)
    ax.plot(p, -np.log(p), color=COLORS["main"], label="L = -log(p)")
    ax.set(xlabel="p (predicted probability of the true class)", ylabel="loss",
           title="Cross-entropy of one sample")
    ax.legend()
    return fig


def _binary_entropy() -> Figure:
    fig, ax = new_figure((6.0, 4.0))
    p = np.linspace(0.005, 0.995, 1000)
    ax.plot(p, -np.log(p), color=COLORS["main"], label="y = 1:  -log(p)")
    ax.plot(p, -np.log(1 - p), color=COLORS["accent"], label="y = 0:  -log(1 - p)")
    ax.set(xlabel="p (predicted probability of class 1)", ylabel="loss", title="Binary cross-entropy")
    ax.legend(loc="upper center")
    return fig


def _regression_loss(spec: LossSpec, title: str, label: str, color: str) -> Callable[[], Figure]:
    """The loss of one record along the error, drawn from PyTorch's module (width 1 where it has one)."""
    def make() -> Figure:
        fig, ax = new_figure((6.0, 4.0))
        e = np.linspace(-3, 3, 1001)
        ax.plot(e, spec.torch_curve(torch.as_tensor(e)).numpy(), color=color, label=label)
        ax.set(xlabel="error  y_hat - y", ylabel="loss", title=title)
        ax.axvline(0, color="black", linewidth=0.6)
        ax.legend(loc="upper center")
        return fig
    return make


def _huber_figure() -> Figure:
    fig = _regression_loss(LOSSES["Huber"], "Huber loss (delta = 1)", "Huber, delta = 1", COLORS["purple"])()
    ax = fig.axes[0]
    e = np.linspace(-3, 3, 1001)
    ax.plot(e, 0.5 * e**2, color=COLORS["muted"], linestyle=":", linewidth=1.2, label="0.5 e^2 (MSE-like)")
    for x in (-1.0, 1.0):
        ax.axvline(x, color=COLORS["muted"], linestyle="--", linewidth=0.8)
    ax.set_ylim(-0.1, 3.0)
    ax.legend(loc="lower right")
    return fig


FIGURES: dict[str, Callable[[], Figure]] = {
    "sigmoid.png": _activation(act.sigmoid, "Sigmoid", "sigmoid(x)"),
    "sigmoid_derivative.png": _activation(act.sigmoid_grad, "Sigmoid derivative", "sigmoid'(x)", COLORS["grad"]),
    "tanh.png": _activation(act.tanh, "Tanh", "tanh(x)"),
    "tanh_derivative.png": _activation(act.tanh_grad, "Tanh derivative", "tanh'(x)", COLORS["grad"]),
    "relu.png": _activation(act.relu, "ReLU", "ReLU(x)"),
    "relu_derivative.png": _activation(act.relu_grad, "ReLU derivative", "ReLU'(x)", COLORS["grad"]),
    "Cross_Entropy.png": _cross_entropy,
    "Binary_Entropy.png": _binary_entropy,
    "MAE_LOSS.png": _regression_loss(LOSSES["MAE (L1)"], "MAE (L1) loss", "|e|", COLORS["main"]),
    "MSE_LOSS.png": _regression_loss(LOSSES["MSE (L2)"], "MSE (L2) loss", "e^2", COLORS["alt"]),
    "Huber_LOSS.png": _huber_figure,
}


def make_figure(name: str) -> Figure:
    """The figure called ``name`` (one of :data:`FIGURES`)."""
    if name not in FIGURES:
        raise ValueError(f"unknown figure {name!r}; choose one of {sorted(FIGURES)}")
    with matplotlib.rc_context(STYLE):
        return FIGURES[name]()


def render(name: str) -> bytes:
    """PNG bytes of figure ``name``, exactly as written to ``pic/``."""
    return figure_to_png(make_figure(name))


def write_all(out: pathlib.Path = DEFAULT_OUT, names: list[str] | None = None) -> list[pathlib.Path]:
    """Write the figures (all by default) into ``out``; return the paths written."""
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in names or FIGURES:
        path = out / name
        path.write_bytes(render(name))
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Regenerate the notes' figures.")
    parser.add_argument("--out", type=pathlib.Path, default=DEFAULT_OUT, help="output folder (default: pic/)")
    args = parser.parse_args(argv)
    for path in write_all(args.out):
        print(path.name)


if __name__ == "__main__":
    main()
