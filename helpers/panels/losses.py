"""Chapter 4 (losses): the chapter's panels. The math lives in ``helpers.losses``."""
from __future__ import annotations

import numpy as np
import torch
from matplotlib.ticker import NullLocator

from ..losses import LOSSES, fit_line, gd_1d
from ..plotting import COLORS
from .base import Panel, check_finite, checkbox, dropdown, float_slider, int_slider, log_slider, register

__all__ = ["loss_panel", "robust_regression_panel", "gd_1d_panel"]


# ----------------------------------------------------------------------------- panels
@register
def loss_panel(loss: str = "Huber") -> Panel:
    """One loss (and its derivative) against the error, with a delta / beta slider; ``loss`` is the first choice."""
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {list(LOSSES)}, got {loss!r}")
    controls = {
        "delta": float_slider("delta / beta", 0.1, 3.0, 0.05, 1.0),
        "loss": dropdown("loss", list(LOSSES), loss),
    }
    e = torch.linspace(-4, 4, 401, dtype=torch.float64)
    x = e.numpy()

    def setup(fig):
        ax_loss, ax_grad = fig.subplots(1, 2)
        ax_loss.plot(x, np.abs(x), color=COLORS["muted"], lw=1, ls=":", label="|e|")
        ax_loss.plot(x, x**2, color=COLORS["muted"], lw=1, ls="--", label="e^2")
        ax_loss.legend(loc="upper center")
        ax_loss.set(xlim=(-4, 4), ylim=(-0.2, 6), xlabel="error e = y_hat - y  (or logit z)", ylabel="loss")
        ax_grad.set(xlim=(-4, 4), ylim=(-4.2, 4.2), xlabel="error e  (or logit z)", ylabel="d loss / d y_hat",
                    title="derivative")
        for ax in (ax_loss, ax_grad):
            ax.axhline(0, color="black", lw=0.6)
            ax.axvline(0, color="black", lw=0.6)
        (loss_line,) = ax_loss.plot(x, x, color=COLORS["main"], animated=True)
        (grad_line,) = ax_grad.plot(x, x, color=COLORS["grad"], animated=True)
        marks = [ax.axvline(s, color=COLORS["accent"], lw=1, ls="--", animated=True)
                 for ax in (ax_loss, ax_grad) for s in (-1, 1)]
        note = fig.text(0.5, 0.005, "", ha="center", va="bottom", fontsize=9)
        if fig.get_layout_engine() is not None:  # leave room for the note under the axes
            fig.get_layout_engine().set(rect=(0, 0.12, 1, 0.88))

        def update(delta: float, loss: str) -> None:
            spec = LOSSES[loss]
            values, grads = spec.curve(e, delta)
            check_finite(values, grads, what=f"the {loss} curve")
            loss_line.set_ydata(values.numpy())
            grad_line.set_ydata(grads.numpy())
            if ax_loss.get_title() != loss:
                ax_loss.set_title(loss)
            for mark, s in zip(marks, (-1, 1, -1, 1)):
                mark.set_xdata([s * delta, s * delta])
                mark.set_visible(spec.width is not None)
            note.set_text(f"{spec.formula}\n{spec.note}")

        return update

    return Panel(controls, setup, figsize=(7.6, 3.4),
                 enabled_when={"delta": lambda v: LOSSES[v["loss"]].width is not None})


@register
def robust_regression_panel() -> Panel:
    """A line fitted under MSE, MAE and Huber to data with outliers (count, size and delta sliders)."""
    from ..data import line_with_outliers

    controls = {
        "n_outliers": int_slider("outliers", 0, 20, 5),
        "outlier_size": float_slider("outlier size", 0.5, 20.0, 0.5, 10.0),
        "delta": float_slider("Huber delta", 0.2, 5.0, 0.1, 1.0),
    }
    xs = np.linspace(-3, 3, 2)
    x_clean, y_clean = (t.numpy().ravel() for t in line_with_outliers(n_outliers=0))
    styles = {"mse": ("MSE", COLORS["alt"]), "mae": ("MAE", COLORS["main"]), "huber": ("Huber", COLORS["purple"])}
    box = {"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1.0}
    rows = [0.96 - 0.07 * i for i in range(5)]  # a small table: header, true line, one row per loss

    def setup(fig):
        ax = fig.subplots()
        ax.plot(xs, 2 * xs + 1, color="black", lw=1, ls="--")
        ax.set(xlim=(-3.2, 3.2), ylim=(-7, 34), xlabel="x", ylabel="y",
               title="line fit with outliers (red points = outliers)")
        table = {"transform": ax.transAxes, "va": "top", "family": "monospace", "fontsize": 9}
        ax.text(0.12, rows[0], "slope  intercept", color=COLORS["muted"], **table)
        ax.text(0.02, rows[1], "true", **table)
        ax.text(0.12, rows[1], " 2.00     1.00", **table)
        (inliers,) = ax.plot(x_clean, y_clean, "o", ms=4, color=COLORS["muted"], animated=True)
        (outliers,) = ax.plot([], [], "o", ms=5, color=COLORS["grad"], animated=True)
        fits = {}
        for row, (key, (label, color)) in zip(rows[2:], styles.items()):
            ax.text(0.02, row, label, color=color, **table)
            line = ax.plot(xs, xs, color=color, animated=True)[0]
            numbers = ax.text(0.12, row, "", color=color, bbox=box, animated=True, **table)
            fits[key] = (line, numbers)

        def update(n_outliers: int, outlier_size: float, delta: float) -> None:
            x, y = (t.numpy().ravel() for t in line_with_outliers(n_outliers=int(n_outliers),
                                                                    outlier_size=float(outlier_size)))
            moved = y != y_clean
            inliers.set_data(x[~moved], y[~moved])
            outliers.set_data(x[moved], y[moved])
            for key, (line, numbers) in fits.items():
                a, b = fit_line(x, y, key, delta)
                check_finite([a, b], what=f"the {styles[key][0]} fit")
                line.set_ydata(a * xs + b)
                numbers.set_text(f"{a:5.2f}   {b:6.2f}")

        return update

    return Panel(controls, setup, figsize=(7.0, 4.0),
                 enabled_when={"outlier_size": lambda v: v["n_outliers"] > 0},
                 states={"δ = 5：Huber 像 MSE": {"delta": 5.0}, "20 个离群点": {"n_outliers": 20}})


@register
def gd_1d_panel() -> Panel:
    """Gradient descent on |2w-3|, (2w-3)^2 and Huber: w over the steps and the error, for a learning rate."""
    steps = 40
    controls = {
        "lr": log_slider("learning rate", -2, 0, 0.1, step=0.05),
        "w0": float_slider("start w0", -3.0, 6.0, 0.5, 0.0),
        "decay": checkbox("decay lr / sqrt(t+1)", False),
    }
    t = np.arange(steps + 1)
    styles = {"mae": ("MAE |2w-3|", COLORS["main"]), "mse": ("MSE (2w-3)^2", COLORS["alt"]),
              "huber": ("Huber (delta=1)", COLORS["purple"])}

    def setup(fig):
        ax_w, ax_e = fig.subplots(1, 2)
        ax_w.axhline(1.5, color="black", lw=1, ls="--", label="optimum w* = 1.5")
        ax_w.set(xlim=(0, steps), ylim=(-3.5, 6.5), xlabel="step t", ylabel="w_t", title="parameter w")
        ax_e.set(xlim=(0, steps), ylim=(1e-8, 1e3), yscale="log", xlabel="step t", ylabel="|2 w_t - 3|",
                 title="distance to the optimum")
        lines = {}
        for key, (label, color) in styles.items():
            lines[key] = (ax_w.plot(t, t, ".-", ms=3, lw=1.2, color=color, label=label, animated=True)[0],
                          ax_e.plot(t, t + 1.0, lw=1.5, color=color, animated=True)[0])
        ax_w.legend(loc="upper right", fontsize=8)
        ax_e.yaxis.set_minor_locator(NullLocator())  # fewer tick artists to walk on every update
        # static texts (cached backgrounds, one per message), so moving the slider stays cheap
        warnings = {
            "fixed": ax_w.text(0.03, 0.04, "MSE diverges at this learning rate", visible=False),
            "decay": ax_w.text(0.03, 0.04, "MSE blows up: its first steps are too large", visible=False),
        }
        for text in warnings.values():
            text.set(transform=ax_w.transAxes, color="#b00020", fontsize=9)

        def update(lr: float, w0: float, decay: bool) -> None:
            for key, (line_w, line_e) in lines.items():
                w = gd_1d(key, float(lr), steps, w0=float(w0), decay=bool(decay))
                dist = np.nan_to_num(np.abs(2 * w - 3), nan=np.inf)
                line_w.set_ydata(np.where(dist < 25, w, np.nan))  # hide points far outside the axes
                line_e.set_ydata(np.clip(dist, 1e-12, 1e6))
                if key == "mse":
                    diverged = dist[-1] > dist[0] + 1.0
                    blew_up = dist.max() > 10 * max(dist[0], 0.1)
            warnings["fixed"].set_visible(diverged and not decay)
            warnings["decay"].set_visible(blew_up and bool(decay))

        return update

    # started at the optimum w* = 1.5, gradient descent has nothing to do: lr and decay have no effect there
    return Panel(controls, setup, figsize=(7.6, 3.1),
                 enabled_when={"lr": lambda v: v["w0"] != 1.5, "decay": lambda v: v["w0"] != 1.5},
                 states={"衰减：从 -3 出发": {"w0": -3.0, "decay": True}})
