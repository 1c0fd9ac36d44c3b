"""Rendering a page's frames: in worker processes, or in the notebook's kernel when a panel needs its objects.

A render job is one page (:class:`PageJob`). :func:`render_page` is what a worker runs; :func:`start_rendering`
starts the workers (spawned, one torch thread each). Panels built from variables of the notebook are
recorded as the notebook shows them, through the public hook ``Panel.display_listeners``.
"""
from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import multiprocessing
import os
import pathlib
import time

from .grid import Axis, choose_grid, frame_caps, frame_table, live, panel_states, shown_bits, state_positions

ROOT = pathlib.Path(__file__).resolve().parents[2]
BASE64 = 4 / 3
FRAME_MARGIN = 1.05  # a frame of a fuller grid may weigh a little more than the panel's first picture
WORKER_THREADS = 1   # torch threads per worker: the course's models are tiny and the workers run side by side


@dataclasses.dataclass
class PageJob:
    """What to render for one page: its panels (from :func:`tools.site.discover.prepare_notebook`) and budgets."""
    page: str
    path: str
    panels: list[dict]
    kernel: bool          # some panel needs the notebook's own objects: render in its kernel
    last_cell: int        # the notebook runs up to this cell in the kernel
    max_frames: int
    png_level: int
    panel_bytes: float
    page_bytes: float
    timeout: int = 600    # seconds the notebook may take in the kernel
    frame_format: str = "webp"  # "webp" (lossless, the same pixels) or "png" (palette PNG at ``png_level``)


# ----------------------------------------------------------------------------- frames
def recompress(png: bytes, level: int) -> bytes:
    """The same (palette) image, saved with zlib ``level`` (9: about a third smaller than the panels' fast level 1)."""
    from PIL import Image

    if level <= 1:
        return png
    out = io.BytesIO()
    Image.open(io.BytesIO(png)).save(out, format="png", compress_level=level)
    return out.getvalue()


FRAME_FORMATS = ("webp", "png")
WEBP_METHOD = 4  # libwebp's effort: 5 and 6 save under 1 % more at 4-20x the time


def encode_frame(png: bytes, png_level: int, fmt: str = "webp") -> bytes:
    """A frame as the page stores it: ``"webp"``, lossless WebP of the very same pixels (about a quarter smaller
    than the palette PNG at zlib level 9), or ``"png"``, the palette PNG at zlib ``png_level``."""
    from PIL import Image

    if fmt not in FRAME_FORMATS:
        raise ValueError(f"fmt must be one of {FRAME_FORMATS}, got {fmt!r}")
    if fmt == "png":
        return recompress(png, png_level)
    out = io.BytesIO()
    Image.open(io.BytesIO(png)).convert("RGB").save(out, format="webp", lossless=True, quality=100,
                                                     method=WEBP_METHOD)
    return out.getvalue()


def frame_bytes(panel, png_level: int, fmt: str = "png") -> float:
    """What one frame of ``panel`` weighs in its page: its current picture, base64, with a margin."""
    return len(encode_frame(panel.render(), png_level, fmt)) * BASE64 * FRAME_MARGIN


def picture_layout(panel) -> dict:
    """The picture's CSS size and where its panes (axes side by side) start, in CSS px from its left edge: a
    phone shows the picture large enough to read and swipes from pane to pane. Axes that overlap by more than
    a third of the narrower one (an inset, a colour bar on its plot) are one pane."""
    fig = panel.fig
    scale = panel.css_width / fig.bbox.width
    renderer = fig.canvas.get_renderer()
    spans = sorted((bb.x0 * scale, bb.x1 * scale) for bb in
                   (ax.get_tightbbox(renderer) for ax in fig.axes if ax.get_visible()) if bb is not None)
    panes: list[list[float]] = []
    for x0, x1 in spans:
        if panes and panes[-1][1] - x0 > min(panes[-1][1] - panes[-1][0], x1 - x0) / 3:
            panes[-1][1] = max(panes[-1][1], x1)
        else:
            panes.append([x0, x1])
    starts = [0] + [max(0, int(x0) - 4) for x0, _ in panes[1:]]
    return {"size": [panel.css_width, int(round(fig.bbox.height * scale))], "panes": starts}


def render_grid(panel, axes: list[Axis], png_level: int, fmt: str = "png") -> dict:
    """Render every distinct frame of the grid ``axes``; the pictures (deduplicated) and the lookup tables."""
    table = frame_table(panel, axes)
    panel.reuse_palettes = False  # each frame's bytes follow from its setting alone, whatever was drawn before
    pngs, by_digest, readouts, by_canon = [], {}, [], {}
    errors, render_s, encode_s = 0, 0.0, 0.0
    for canon, _ in table:
        if canon in by_canon:
            continue
        t0 = time.perf_counter()
        raw = panel.render(**{a.name: a.values[p] for a, p in zip(axes, canon)})
        t1 = time.perf_counter()
        png = encode_frame(raw, png_level, fmt)
        render_s, encode_s = render_s + t1 - t0, encode_s + time.perf_counter() - t1
        errors += panel.last_error is not None
        fid = by_digest.setdefault(hashlib.sha1(png).digest(), len(pngs))
        if fid == len(pngs):
            pngs.append(png)
        if panel.readout_text not in readouts:
            readouts.append(panel.readout_text)
        by_canon[canon] = (fid, readouts.index(panel.readout_text))
    all_on = (1 << len(axes)) - 1
    shown = [shown_bits(panel, axes, canon) for canon, _ in table]
    return {
        "axes": [dataclasses.asdict(a) for a in axes], "groups": getattr(panel, "groups", []),
        "shown": None if all(mask == all_on for mask in shown) else shown,
        "frames": [by_canon[canon][0] for canon, _ in table],
        "enabled": None if all(mask == all_on for _, mask in table) else [mask for _, mask in table],
        "readouts": None if readouts == [""] else readouts,
        "readout": [by_canon[canon][1] for canon, _ in table],
        "pngs": pngs, "rendered": len(by_canon), "errors": errors, "render_s": render_s, "encode_s": encode_s,
        **picture_layout(panel),
    }


def _plain(value):
    """A control's value as the build report can hold it (a number, text, a truth value; else its repr)."""
    return value if isinstance(value, (bool, int, float, str)) or value is None else repr(value)


def render_states(panel, axes: list[Axis], result: dict, png_level: int, fmt: str = "png") -> dict:
    """``result`` of :func:`render_grid` with every named state of ``panel`` rendered exactly, as extra frames.

    Each state (and the defaults, name None) gets one more entry in ``frames``, ``enabled`` and ``readout``,
    after the grid's; ``states`` lists them: name, every control's value (``Panel.state_values``), the positions
    of those values in ``axes`` (every one is there, see :func:`tools.site.grid.choose_grid`) and the entry's index.
    The page shows that entry whenever its controls are at those positions: a state's frame is its own render,
    also when it moves several solo controls at once. A picture the grid already has is stored once.
    """
    states = panel_states(panel)
    if not states:
        return result
    pngs = list(result["pngs"])
    frames, readout = list(result["frames"]), list(result["readout"])
    readouts = list(result["readouts"] or [""])
    all_on = (1 << len(axes)) - 1
    enabled = list(result["enabled"] or [all_on] * len(frames))
    shown = list(result.get("shown") or [all_on] * len(frames))
    by_digest = {hashlib.sha1(png).digest(): k for k, png in enumerate(pngs)}
    listed, added, render_s, errors = [], 0, result["render_s"], result["errors"]
    for name, values in states:
        t0 = time.perf_counter()
        png = encode_frame(panel.render(**values), png_level, fmt)
        render_s, errors = render_s + time.perf_counter() - t0, errors + (panel.last_error is not None)
        fid = by_digest.setdefault(hashlib.sha1(png).digest(), len(pngs))
        if fid == len(pngs):
            pngs.append(png)
            added += len(png)
        if panel.readout_text not in readouts:
            readouts.append(panel.readout_text)
        on = live(panel, values)
        listed.append({"name": name, "values": {k: _plain(v) for k, v in values.items()},
                       "positions": list(state_positions(axes, values)), "index": len(frames)})
        frames.append(fid)
        readout.append(readouts.index(panel.readout_text))
        enabled.append(sum(1 << i for i, a in enumerate(axes) if on[a.name]))
        shown.append(shown_bits(panel, axes, state_positions(axes, values)))
    return {**result, "pngs": pngs, "frames": frames, "readout": readout,
            "readouts": None if readouts == [""] else readouts,
            "enabled": None if all(mask == all_on for mask in enabled) else enabled,
            "shown": None if all(mask == all_on for mask in shown) else shown,
            "rendered": result["rendered"] + len(states), "states": listed, "render_s": render_s, "errors": errors,
            "state_frames": len(pngs) - len(result["pngs"]), "state_bytes": added}


def render_page_panels(panels: list, job: PageJob) -> list[dict]:
    """Plan and render the panels of one page (built, in the order of ``job.panels``)."""
    if len(panels) != len(job.panels):
        raise RuntimeError(f"{job.page}: {len(panels)} panel(s) shown, {len(job.panels)} panel output(s) saved")
    start = time.perf_counter()
    sizes = [frame_bytes(p, job.png_level, job.frame_format) for p in panels]
    caps = frame_caps(panels, sizes, job.max_frames, job.page_bytes, job.panel_bytes)
    plan_s = time.perf_counter() - start
    results = []
    for panel, entry, cap in zip(panels, job.panels, caps):
        t0 = time.perf_counter()
        axes = choose_grid(panel, cap)
        result = render_states(panel, axes, render_grid(panel, axes, job.png_level, job.frame_format), job.png_level,
                               job.frame_format)
        results.append({**result, "key": entry["key"], "cap": cap,
                        "seconds": time.perf_counter() - t0 + plan_s / len(panels)})
    return results


# ----------------------------------------------------------------------------- in the notebook's kernel
SHOWN: list = []  # in a kernel: (panel, its control values) for every panel the notebook showed


def _record(panel) -> None:
    SHOWN.append((panel, panel.values()))


def record_displays() -> None:
    """Record every panel the notebook shows from now on, with its values then, in :data:`SHOWN` (run in the kernel)."""
    from helpers.panels.base import Panel

    if _record not in Panel.display_listeners:
        Panel.display_listeners.append(_record)


def render_shown(job_json: str, out: str) -> None:
    """Render the recorded panels at the values they were shown with; pickle the results to ``out`` (run in the kernel)."""
    import pickle

    for panel, values in SHOWN:
        for name, value in values.items():
            panel.controls[name].value = value
    results = render_page_panels([panel for panel, _ in SHOWN], PageJob(**json.loads(job_json)))
    pathlib.Path(out).write_bytes(pickle.dumps(results))


def kernel_cells(job: PageJob, out: str) -> tuple[str, str]:
    """The two cells the build adds to a notebook: before it, start recording; after its last panel, render."""
    setup = (f"import sys\nsys.path.insert(0, {str(ROOT)!r})\n"
             "from tools.site import render as _site_render\n_site_render.record_displays()")
    render = f"_site_render.render_shown({json.dumps(dataclasses.asdict(job))!r}, {out!r})"
    return setup, render


def render_in_kernel(job: PageJob) -> list[dict]:
    """Run the notebook in a kernel up to its last panel and render the panels there, on the very
    objects the notebook shows (for panels built from variables, e.g. a model trained in the chapter)."""
    import pickle
    import tempfile

    import nbformat
    from nbclient import NotebookClient

    path = pathlib.Path(job.path)
    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp) / "results.pickle"
        setup, render = kernel_cells(job, str(out))
        nb.cells = ([nbformat.v4.new_code_cell(setup)] + nb.cells[:job.last_cell + 1]
                    + [nbformat.v4.new_code_cell(render)])
        NotebookClient(nb, timeout=job.timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        return pickle.loads(out.read_bytes())


# ----------------------------------------------------------------------------- workers
def render_page(job: PageJob) -> dict:
    """Worker: build and render every panel of one page, in the notebook's kernel when a panel needs one."""
    from helpers.panels import all_panels

    start = time.perf_counter()
    if job.kernel:
        results = render_in_kernel(job)
    else:
        builders = all_panels()
        panels = [builders[p["name"]](*p["args"], **dict(p["kwargs"])) for p in job.panels]
        results = render_page_panels(panels, job)
    return {"page": job.page, "results": results, "seconds": time.perf_counter() - start}


def init_worker(threads: int) -> None:
    """Set up a spawned worker: ``threads`` torch/OpenMP threads (before torch is imported; a kernel it starts inherits it)."""
    os.environ["OMP_NUM_THREADS"] = str(threads)


def start_rendering(jobs: list, processes: int, work=render_page):
    """``(pool, results)``: ``work`` applied to each job, results in the order they finish; in a pool of
    ``processes`` spawned workers (each with :data:`WORKER_THREADS` threads) when more than one, else here,
    lazily. The pool is the caller's to close; this process's environment is left as it was."""
    if processes <= 1 or not jobs:
        return None, map(work, jobs)
    pool = multiprocessing.get_context("spawn").Pool(min(processes, len(jobs)), initializer=init_worker,
                                                     initargs=(WORKER_THREADS,))
    return pool, pool.imap_unordered(work, jobs)
