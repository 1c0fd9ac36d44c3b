"""Panel latency: the kept-figure fast path vs the naive `interact` way, for every panel.

    python benchmarks/panels.py [--steps 15] [--naive 8] [--only NAME ...] [--fit-times]

For each registered panel, drags its first slider up and back down its range and
times each change from `control.value = v` to the new PNG bytes being in the
Image widget (kernel side). The naive way is what `ipywidgets.interact` does with
a fresh inline figure per change: build a pyplot figure, draw it, encode it with
`bbox_inches="tight"` (IPython's `print_figure`). Both run in this one process,
one after the other, so their ratio is meaningful even on a noisy machine.
Also times `import helpers` after `import torch` (fresh interpreters, median of 5), and for every control
with a Play button, the frames per second the kernel can give it (each step of its whole range timed).
``--fit-times`` also prints how long each model of chapter 0's learning curves took to fit (notebooks
print no timings, so that a rebuild does not change them).
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

import matplotlib

matplotlib.use("Agg")

from helpers import panels as P  # noqa: E402
from helpers.panels import testing as T  # noqa: E402
from helpers.panels.testing import naive_render  # noqa: E402

BUDGET_MS = {"curve": 20.0, "training": 60.0}
PLAY_FPS = 10.0  # a Play button must animate at least this fast in the kernel
# Panels that run an optimisation or a short training on every change get the larger budget; the rest draw curves.
TRAINING_PANELS = {"dying_relu_panel", "depth_panel", "robust_regression_panel", "optimizer_race_panel", "momentum_panel",
                   "schedule_training_panel", "overfitting_panel", "batch_noise_panel"}


def _import_seconds(setup: str, code: str, repeats: int = 5) -> float:
    """Median seconds that ``code`` takes in a fresh interpreter, after ``setup`` has run."""
    times = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", f"import time; {setup}; t=time.perf_counter(); {code}; "
                              "print(time.perf_counter()-t)"], capture_output=True, text=True, check=True)
        times.append(float(out.stdout))
    return statistics.median(times)


def bench_panel(name: str, steps: int, naive_count: int) -> dict:
    panel = P.all_panels()[name]()
    control, values = T.sweep_values(panel, steps)
    fast = T.time_updates(panel, control, values)
    naive = []
    for v in values[:naive_count]:
        start = time.perf_counter()
        naive_render(panel, **{control: v})
        naive.append(time.perf_counter() - start)
    fast_ms, naive_ms = statistics.median(fast) * 1e3, statistics.median(naive) * 1e3
    kind = "training" if name in TRAINING_PANELS else "curve"
    return {
        "panel": name, "kind": kind, "control": control, "n": len(values),
        "fast_ms": fast_ms, "p90_ms": sorted(fast)[int(0.9 * (len(fast) - 1))] * 1e3,
        "naive_ms": naive_ms, "ratio": naive_ms / fast_ms,
        "ok": fast_ms <= BUDGET_MS[kind] and naive_ms / fast_ms >= 4.0,
    }


def bench_play(name: str) -> list[dict]:
    """Frames per second a Play button gets from the kernel: every control with a Play button stepped once
    through its whole range (from the panel's default state), each step timed to new PNG bytes."""
    panel = P.all_panels()[name]()
    rows = []
    for control, w in panel.controls.items():
        if getattr(w, "play_interval", None) is None:
            continue
        values = list(range(w.min, w.max + 1, w.step))
        seconds = T.time_updates(panel, control, values)
        median = statistics.median(seconds)
        rows.append({"panel": name, "control": control, "n": len(values), "median_ms": median * 1e3,
                     "p90_ms": sorted(seconds)[int(0.9 * (len(seconds) - 1))] * 1e3, "fps": 1 / median,
                     "interval_ms": w.play_interval, "ok": 1 / median >= PLAY_FPS})
    return rows


def print_fit_times() -> None:
    """Seconds each model of chapter 0's learning curves took to fit, per training-set size (one torch thread)."""
    from helpers.overview import learning_curves

    curves = learning_curves()
    print(f"{'fit time (s)':20s}" + "".join(f"{n:>7d}" for n in curves.sizes))
    for name in curves.models:
        print(f"{name:20s}" + "".join(f"{s:7.2f}" for s in curves.seconds(name)))
    print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=15, help="slider positions on the way up")
    parser.add_argument("--naive", type=int, default=8, help="changes timed the naive way")
    parser.add_argument("--only", nargs="*", help="panel names to run (default: all)")
    parser.add_argument("--fit-times", action="store_true", help="also time chapter 0's learning-curve fits")
    args = parser.parse_args(argv)
    if args.fit_times:
        print_fit_times()

    names = sorted(P.all_panels())
    unknown = TRAINING_PANELS - set(names)
    if unknown:
        raise SystemExit(f"TRAINING_PANELS names panels that are not registered: {sorted(unknown)}")
    if args.only:
        names = [n for n in names if n in args.only]
    rows = [bench_panel(n, args.steps, args.naive) for n in names]

    header = f"{'panel':28} {'kind':9} {'slider':12} {'n':>3} {'median ms':>9} {'p90 ms':>7} {'naive ms':>9} {'ratio':>6}  budget"
    print(header)
    print("-" * len(header))
    for r in rows:
        budget = f"<= {BUDGET_MS[r['kind']]:.0f} ms, >= 4x: {'ok' if r['ok'] else 'MISSED'}"
        print(f"{r['panel']:28} {r['kind']:9} {r['control']:12} {r['n']:3d} {r['fast_ms']:9.1f} {r['p90_ms']:7.1f} "
              f"{r['naive_ms']:9.1f} {r['ratio']:5.1f}x  {budget}")

    plays = [row for n in names for row in bench_play(n)]
    if plays:
        header = f"\n{'Play':28} {'control':12} {'n':>4} {'median ms':>9} {'p90 ms':>7} {'fps':>6}  budget"
        print(header)
        print("-" * len(header))
        for r in plays:
            print(f"{r['panel']:28} {r['control']:12} {r['n']:4d} {r['median_ms']:9.1f} {r['p90_ms']:7.1f} {r['fps']:6.1f}"
                  f"  >= {PLAY_FPS:.0f} fps (button steps every {r['interval_ms']} ms): {'ok' if r['ok'] else 'MISSED'}")

    torch_s = _import_seconds("pass", "import torch")
    helpers_s = _import_seconds("import torch", "import helpers")
    print(f"\nimport torch: {torch_s:.3f} s; then import helpers: {helpers_s:.3f} s more (budget 0.5 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
