"""Build the static web edition of the course: one HTML page per notebook, every panel still working.

    python tools/site.py                                  # every notebook -> site/
    python tools/site.py --only 04 --max-frames 8 --out /tmp/site
    python tools/site.py --mathjax-dir node_modules/mathjax      # formulas without a CDN (MathJax 2.7)

Pages come from the executed notebooks through nbconvert's HTML exporter (its lab template, with
the site's navigation, CSS and a few lines of JavaScript added by ``tools/site_template/``).
A panel in a page becomes a *static panel*: the same controls as HTML inputs, and pictures
rendered in advance by the panel's own ``render(**values)`` over a grid of control values:
every option of a dropdown or checkbox, a few positions per slider (always its default; its two
ends while the frame cap allows). A panel with too many controls for a full grid (the optimizer
race, the nine weights of a custom kernel) has some *solo* controls, rendered one at a time while
the other solo controls stay at their defaults. A control change then only swaps the picture.
The frames are embedded in the page (PNG data URIs), so a page is one file that works offline once loaded.

Each page is one render job (two worker processes by default). Its panels share the page's budget:
each gets its smallest grid, and the rest is shared out by need. A panel called with literal
arguments (``loss_panel(loss="Huber")``) is rebuilt from its call; when an argument is a variable (a
model trained in the chapter), the notebook runs in a kernel up to its last panel and the panels
are rendered there, on the very objects the notebook shows.
Formulas are typeset by MathJax 2.7, loaded from nbconvert's default CDN (cdnjs), or from the site
itself with ``--mathjax-dir`` (a copy of the npm package ``mathjax@2``, about 5 MB), or from ``--mathjax-url``.

Also written: ``index.html`` (the chapter tables of README.md), ``glossary.html`` (GLOSSARY.md, when
it exists) and ``.site-build.json`` (what was built: frames per panel, sizes, times).
"""
from __future__ import annotations

import argparse
import ast
import base64
import hashlib
import html
import io
import itertools
import json
import math
import multiprocessing
import os
import pathlib
import re
import shutil
import sys
import time
from dataclasses import dataclass, field

ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # the helpers of this working tree, installed or not

NB_DIR = ROOT / "notebooks"
TEMPLATE = pathlib.Path(__file__).resolve().parent / "site_template"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
REPORT_NAME = ".site-build.json"  # also marks a folder this tool may clear and rebuild

MAX_FRAMES = 120      # distinct pictures per panel
PANEL_MB = 1.5        # the most a panel's frames may take of its page (beyond its smallest grid)
PAGE_MB = 7.5         # a whole page; its panels share what the rest of the page leaves
PAGE_BASE_MB = 0.5    # what a page weighs beyond its notebook file (CSS, markup)
BASE64 = 4 / 3


# ----------------------------------------------------------------------------- which panel a cell shows
@dataclass(frozen=True)
class PanelCall:
    """One call of a registered panel builder in a code cell; ``problem`` says why it cannot be repeated."""
    name: str
    args: tuple = ()
    kwargs: tuple = ()  # (name, value) pairs
    problem: str | None = None
    source: str = field(default="", compare=False)  # the call as written

    def __str__(self) -> str:
        parts = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs]
        return f"{self.name}({', '.join(parts)})"


def panel_calls(source: str, names) -> list[PanelCall]:
    """The calls of panel builders named in ``names`` in a cell's source, in source order."""
    code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        if name not in names:
            continue
        try:
            if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
                raise ValueError("* or ** arguments")
            call = PanelCall(name, tuple(ast.literal_eval(a) for a in node.args),
                             tuple((k.arg, ast.literal_eval(k.value)) for k in node.keywords), source=ast.unparse(node))
        except (ValueError, TypeError, SyntaxError):
            call = PanelCall(name, problem=f"its arguments are not literals: {ast.unparse(node)}", source=ast.unparse(node))
        found.append(((node.lineno, node.col_offset), call))
    return [call for _, call in sorted(found, key=lambda item: item[0])]


# ----------------------------------------------------------------------------- the grid of control values
DENSE_LIMIT = 50_000  # combinations of a full grid worth counting; a panel with more is rendered one-at-a-time


@dataclass
class Axis:
    """The pre-rendered values of one control."""
    name: str
    label: str
    kind: str       # "range", "checkbox" or "select"
    values: list
    labels: list
    default: int    # index of the control's own value in ``values``
    solo: bool = False  # pre-rendered one at a time: the other solo controls of the panel stay at their defaults


def _label(w, value) -> str:
    if isinstance(value, bool) or isinstance(value, int):
        return str(value)
    try:
        return format(value, getattr(w, "readout_format", ".4g"))
    except (TypeError, ValueError):
        return f"{value:.4g}" if isinstance(value, float) else str(value)


def control_candidates(w) -> tuple[str, list, list[str], int]:
    """``(kind, values, labels, default index)``: every value one control can take (a slider: every step)."""
    import ipywidgets as widgets
    from helpers.panels.testing import control_samples

    if isinstance(w, widgets.FloatLogSlider):
        n = int(round((w.max - w.min) / w.step))
        exps = [w.min + k * w.step for k in range(n + 1)]
        default = min(range(n + 1), key=lambda k: abs(exps[k] - math.log(w.value, w.base)))
        values = [w.base ** e for e in exps]
        kind = "range"
    elif isinstance(w, (widgets.FloatSlider, widgets.IntSlider)):
        n = int(math.floor((w.max - w.min) / w.step + 1e-9))
        values = [w.min + k * w.step for k in range(n + 1)]
        values = [int(v) for v in values] if isinstance(w, widgets.IntSlider) else [round(v, 12) for v in values]
        default = min(range(n + 1), key=lambda k: abs(values[k] - w.value))
        kind = "range"
    elif isinstance(w, (widgets.Checkbox, widgets.ToggleButton)):
        values, default, kind = [False, True], int(bool(w.value)), "checkbox"
        return kind, values, ["off", "on"], default
    else:  # dropdowns and anything else: a <select> over every option (or over a few samples)
        options = list(getattr(w, "options", ()) or ())
        if options:
            labels = [str(o[0]) if isinstance(o, tuple) else str(o) for o in options]
            values = [o[1] if isinstance(o, tuple) else o for o in options]
        else:
            values = list(control_samples(w))
            labels = [str(v) for v in values]
        if w.value not in values:
            values, labels = [w.value] + values, [str(w.value)] + labels
        return "select", values, labels, values.index(w.value)
    values[default] = w.value  # the notebook's own value, exactly
    return kind, values, [_label(w, v) for v in values], default


def spread(count: int, n: int, default: int) -> list[int]:
    """``n`` of the indices ``0..count-1``, evenly spread, always with ``default``; with both ends once ``n >= 3``."""
    if not 0 <= default < count:
        raise ValueError(f"default must be in [0, {count}), got {default}")
    if n >= count:
        return list(range(count))
    if n <= 1:
        return [default]
    if n == 2:
        if default in (0, count - 1):
            return [0, count - 1]
        return sorted({default, 0 if default > (count - 1) / 2 else count - 1})
    picks = sorted({int(i * (count - 1) / (n - 1) + 0.5) for i in range(n)})
    if default not in picks:
        inner = [p for p in picks if p not in (0, count - 1)]
        picks[picks.index(min(inner, key=lambda p: abs(p - default)))] = default
    return sorted(picks)


def _axes(specs: list, counts: dict[int, int], solo: set[int] = frozenset()) -> list[Axis]:
    axes = []
    for i, (name, label, (kind, values, labels, default)) in enumerate(specs):
        keep = spread(len(values), counts[i], default) if i in counts else list(range(len(values)))
        axes.append(Axis(name, label, kind, [values[k] for k in keep], [labels[k] for k in keep],
                         keep.index(default), i in solo))
    return axes


def grid_states(sizes: list[int], defaults: list[int], solo: list[bool]) -> list[tuple[int, ...]]:
    """Every pre-rendered combination of control positions, in the order of a panel's frame table.

    The free controls (``solo`` false) take every combination of their positions (row-major); within
    each, first all solo controls at their defaults, then each solo control at each of its other
    positions while the other solo controls stay at their defaults. Without solo controls: the full grid.
    """
    if not len(sizes) == len(defaults) == len(solo):
        raise ValueError("sizes, defaults and solo must have one entry per control")
    free = [i for i, s in enumerate(solo) if not s]
    singles = [None] + [(j, p) for j, s in enumerate(solo) if s for p in range(sizes[j]) if p != defaults[j]]
    states = []
    for combo in itertools.product(*(range(sizes[i]) for i in free)):
        base = list(defaults)
        for i, p in zip(free, combo):
            base[i] = p
        for single in singles:
            state = list(base)
            if single is not None:
                state[single[0]] = single[1]
            states.append(tuple(state))
    return states


def state_index(sizes: list[int], defaults: list[int], solo: list[bool], positions: list[int]) -> int:
    """Where the combination ``positions`` is in :func:`grid_states` (what the page's JavaScript computes)."""
    free, single = 0, 0
    offset = 1
    for i, (n, d, s, p) in enumerate(zip(sizes, defaults, solo, positions)):
        if not s:
            free = free * n + p
        else:
            if p != d:
                if single:
                    raise ValueError("at most one solo control may be away from its default")
                single = offset + (p if p < d else p - 1)
            offset += n - 1
    return free * offset + single


def frame_table(panel, axes: list[Axis], cache: dict | None = None) -> list[tuple[tuple, int]]:
    """For every combination of :func:`grid_states`: the combination to render and the enabled controls (bits).

    A disabled control has no effect (the panels' rule), so it is rendered at its default position:
    combinations that differ only in disabled controls share one frame. ``cache`` keeps
    ``panel.enabled`` answers between calls (by the values of the controls).
    """
    cache = {} if cache is None else cache

    def enabled(combo):
        values = tuple(a.values[p] for a, p in zip(axes, combo))
        if values not in cache:
            cache[values] = panel.enabled({a.name: v for a, v in zip(axes, values)})
        return cache[values]

    table = []
    for combo in grid_states([len(a.values) for a in axes], [a.default for a in axes], [a.solo for a in axes]):
        on = enabled(combo)
        canon = tuple(p if on[a.name] else a.default for a, p in zip(axes, combo))
        if canon != combo and enabled(canon) != on:
            canon = combo  # the default of a disabled control would change what is enabled: keep it as set
        table.append((canon, sum(1 << i for i, a in enumerate(axes) if on[a.name])))
    return table


def distinct_frames(panel, axes: list[Axis], cache: dict | None = None) -> int:
    """How many pictures the grid ``axes`` of ``panel`` needs (combinations that differ only in disabled controls share one)."""
    return len({canon for canon, _ in frame_table(panel, axes, cache)})


def mode_controls(panel, specs: list | None = None) -> set[str]:
    """The controls that turn other controls on or off (a value of theirs changes what is enabled)."""
    specs = specs or [(name, name, control_candidates(w)) for name, w in panel.controls.items()]
    defaults = {name: values[d] for name, _, (_, values, _, d) in specs}
    base = panel.enabled(defaults)
    modes = set()
    for name, _, (_, values, _, _) in specs:
        for value in values:
            on = panel.enabled({**defaults, name: value})
            if any(on[k] != base[k] for k in on if k != name):
                modes.add(name)
                break
    return modes


def _enabled_share(panel, specs: list, modes: set[str]) -> dict[str, float]:
    """How often each control is enabled: over the defaults and each value of each mode control alone."""
    defaults = {name: values[d] for name, _, (_, values, _, d) in specs}
    settings = [defaults] + [{**defaults, name: v} for name, _, (_, values, _, _) in specs if name in modes
                             for v in values]
    states = [panel.enabled(s) for s in settings]
    return {name: sum(on[name] for on in states) / len(states) for name in panel.controls}


def choose_grid(panel, max_frames: int) -> list[Axis]:
    """The pre-rendered values of each control of ``panel``.

    Every option of a dropdown or checkbox; for sliders, as many evenly spread positions as keep the
    distinct frames within ``max_frames`` (at least two per slider, its default always among them,
    both ends from three positions on). When even the full grid of those does not fit, controls that
    turn no other control on or off become *solo* (sliders first, then checkboxes, then dropdowns,
    until it fits): they are pre-rendered one at a time, the other solo controls at their defaults,
    which costs a sum of positions instead of a product.
    """
    if max_frames < 1:
        raise ValueError(f"max_frames must be >= 1, got {max_frames}")
    specs = [(name, w.description or name, control_candidates(w)) for name, w in panel.controls.items()]
    counts = {i: min(2, len(s[2][1])) for i, s in enumerate(specs) if s[2][0] == "range"}
    cache: dict = {}

    def frames(c: dict[int, int], solo: set[int]) -> float:
        axes = _axes(specs, c, solo)
        if not solo and math.prod(len(a.values) for a in axes) > DENSE_LIMIT:
            return math.inf  # not worth counting: a grid that large is far over any cap
        return distinct_frames(panel, axes, cache)

    solo: set[int] = set()
    if frames(counts, solo) > max_frames:
        # solo controls until the smallest grid fits: first those that are off most of the time, then
        # sliders, checkboxes, dropdowns, a group of alike controls at a time; then a checkbox or a short
        # dropdown goes back to free if the grid still fits
        modes = mode_controls(panel, specs)
        share = _enabled_share(panel, specs, modes)
        order = {"range": 0, "checkbox": 1, "select": 2}
        rank = {i: (share[s[0]], order[s[2][0]]) for i, s in enumerate(specs) if s[0] not in modes}
        added = []
        for group in sorted(set(rank.values())):  # alike controls (nine kernel weights) go solo together
            members = [i for i in rank if rank[i] == group]
            solo.update(members)
            added += members
            if len(solo) > 1 and frames(counts, solo) <= max_frames:
                break
        for i in reversed(added):
            kind, values = specs[i][2][0], specs[i][2][1]
            if len(solo) > 2 and (kind == "checkbox" or kind == "select" and len(values) <= 3) \
                    and frames(counts, solo - {i}) <= max_frames:
                solo.discard(i)
        if len(solo) < 2:
            solo = set()  # one solo control alone saves nothing
    grew = True
    while grew:
        grew = False
        for i in counts:
            if counts[i] < len(specs[i][2][1]):
                trial = {**counts, i: counts[i] + 1}
                if frames(trial, solo) <= max_frames:
                    counts, grew = trial, True
    return _axes(specs, counts, solo)


# ----------------------------------------------------------------------------- rendering (in worker processes)
def recompress(png: bytes, level: int) -> bytes:
    """The same (palette) image, saved with zlib ``level`` (9: about a third smaller than the panels' fast level 1)."""
    from PIL import Image

    if level <= 1:
        return png
    out = io.BytesIO()
    Image.open(io.BytesIO(png)).save(out, format="png", compress_level=level)
    return out.getvalue()


def share_out(floors: list[float], wants: list[float], budget: float) -> list[float]:
    """Each item's share of ``budget``: at least its floor; what is left goes out in equal parts, none beyond its want."""
    if len(floors) != len(wants):
        raise ValueError("floors and wants must have one entry per item")
    shares = list(floors)
    left = budget - sum(floors)
    active = [i for i, w in enumerate(wants) if w > shares[i]]
    while left > 1e-9 and active:
        part = left / len(active)
        for i in active:
            give = min(part, wants[i] - shares[i])
            shares[i] += give
            left -= give
        active = [i for i in active if wants[i] - shares[i] > 1e-9]
    return shares


def plan_page(panels: list, max_frames: int, page_bytes: float, panel_bytes: float, png_level: int) -> list[int]:
    """The frame cap of each panel of a page: every panel gets its smallest grid (two positions per slider);
    the rest of the page's budget is shared out, no panel taking more than ``panel_bytes`` beyond that
    or more frames than ``max_frames`` or than its grid can use."""
    sizes = [len(recompress(p.render(), png_level)) * BASE64 * 1.15 for p in panels]  # one frame, base64, a margin
    floors = [distinct_frames(p, choose_grid(p, 1)) for p in panels]
    wants = [distinct_frames(p, choose_grid(p, max_frames)) for p in panels]
    shares = share_out([f * s for f, s in zip(floors, sizes)],
                       [max(f * s, min(w * s, panel_bytes)) for f, w, s in zip(floors, wants, sizes)], page_bytes)
    return [max(f, min(max_frames, int(share / s))) for f, share, s in zip(floors, shares, sizes)]


def render_grid(panel, axes: list[Axis], png_level: int) -> dict:
    """Render every distinct frame of the grid ``axes``; the pictures (deduplicated) and the lookup tables."""
    table = frame_table(panel, axes)
    pngs, by_digest, readouts, by_canon = [], {}, [], {}
    errors, render_s, encode_s = 0, 0.0, 0.0
    for canon, _ in table:
        if canon in by_canon:
            continue
        t0 = time.perf_counter()
        raw = panel.render(**{a.name: a.values[p] for a, p in zip(axes, canon)})
        t1 = time.perf_counter()
        png = recompress(raw, png_level)
        render_s, encode_s = render_s + t1 - t0, encode_s + time.perf_counter() - t1
        errors += panel.last_error is not None
        fid = by_digest.setdefault(hashlib.sha1(png).digest(), len(pngs))
        if fid == len(pngs):
            pngs.append(png)
        if panel.readout_text not in readouts:
            readouts.append(panel.readout_text)
        by_canon[canon] = (fid, readouts.index(panel.readout_text))
    all_on = (1 << len(axes)) - 1
    return {
        "axes": [a.__dict__ for a in axes],
        "frames": [by_canon[canon][0] for canon, _ in table],
        "enabled": None if all(mask == all_on for _, mask in table) else [mask for _, mask in table],
        "readouts": None if readouts == [""] else readouts,
        "readout": [by_canon[canon][1] for canon, _ in table],
        "pngs": pngs, "rendered": len(by_canon), "errors": errors, "render_s": render_s, "encode_s": encode_s,
    }


def render_page_panels(panels: list, job: dict) -> list[dict]:
    """Plan and render the panels of one page (built, in the order of ``job["panels"]``)."""
    if len(panels) != len(job["panels"]):
        raise RuntimeError(f"{job['page']}: {len(panels)} panel(s) shown, {len(job['panels'])} panel output(s) saved")
    start = time.perf_counter()
    caps = plan_page(panels, job["max_frames"], job["page_bytes"], job["panel_bytes"], job["png_level"])
    plan_s = time.perf_counter() - start
    results = []
    for panel, entry, cap in zip(panels, job["panels"], caps):
        t0 = time.perf_counter()
        result = render_grid(panel, choose_grid(panel, cap), job["png_level"])
        results.append({**result, "key": entry["key"], "cap": cap,
                        "seconds": time.perf_counter() - t0 + plan_s / len(panels)})
    return results


# In a kernel: record every panel the notebook shows, with its control values at that moment.
SHOWN: list = []


def record_panels() -> None:
    """Make ``Panel`` displays also append ``(panel, its values)`` to :data:`SHOWN` (run in the notebook's kernel)."""
    from helpers.panels.base import Panel

    show = Panel._ipython_display_

    def recorded(self):
        SHOWN.append((self, self.values()))
        return show(self)

    Panel._ipython_display_ = recorded


def render_shown(job: dict, out: str) -> None:
    """Render the recorded panels at the values they were shown with; pickle the results to ``out``."""
    import pickle

    for panel, values in SHOWN:
        for name, value in values.items():
            panel.controls[name].value = value
    results = render_page_panels([panel for panel, _ in SHOWN], job)
    pathlib.Path(out).write_bytes(pickle.dumps(results))


_KERNEL_SETUP = """\
import importlib.util as _u, sys as _s
_spec = _u.spec_from_file_location("_site_build", {path!r})
_site_build = _u.module_from_spec(_spec)
_s.modules["_site_build"] = _site_build
_spec.loader.exec_module(_site_build)
_site_build.record_panels()
"""


def render_in_kernel(job: dict) -> list[dict]:
    """Run the notebook in a kernel up to its last panel and render the panels there, on the very
    objects the notebook shows (for panels built from variables, e.g. a model trained in the chapter)."""
    import pickle
    import tempfile

    import nbformat
    from nbclient import NotebookClient

    path = pathlib.Path(job["path"])
    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp) / "results.pickle"
        setup = _KERNEL_SETUP.format(path=str(pathlib.Path(__file__).resolve()))
        render = f"_site_build.render_shown(__import__('json').loads({json.dumps(job)!r}), {str(out)!r})"
        nb.cells = ([nbformat.v4.new_code_cell(setup)] + nb.cells[:job["last_cell"] + 1]
                    + [nbformat.v4.new_code_cell(render)])
        NotebookClient(nb, timeout=job.get("timeout", 600), kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        return pickle.loads(out.read_bytes())


def render_page(job: dict) -> dict:
    """Worker: build and render every panel of one page, in the notebook's kernel when a panel needs one."""
    from helpers.panels import all_panels

    start = time.perf_counter()
    if job["kernel"]:
        results = render_in_kernel(job)
    else:
        builders = all_panels()
        panels = [builders[p["name"]](*p["args"], **dict(p["kwargs"])) for p in job["panels"]]
        results = render_page_panels(panels, job)
    return {"page": job["page"], "results": results, "seconds": time.perf_counter() - start}


# A spawned worker must unpickle ``render_page``: when this file was loaded under another name than
# ``__main__`` (by a test), the worker loads it under that name first. ``exec`` itself pickles by name.
_WORKER_SETUP = """
import importlib.util, sys
if {name!r} not in sys.modules:
    spec = importlib.util.spec_from_file_location({name!r}, {path!r})
    module = importlib.util.module_from_spec(spec)
    sys.modules[{name!r}] = module
    spec.loader.exec_module(module)
"""


# ----------------------------------------------------------------------------- HTML
def _json(data) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")


def static_panel_html(name: str, result: dict, page_ids: list[int], frames: list[str]) -> str:
    """One static panel: its controls as HTML inputs, one <img>, a note on what was pre-rendered, its data."""
    axes = [Axis(**a) for a in result["axes"]]
    controls = []
    for i, a in enumerate(axes):
        label, mark = html.escape(a.label), SOLO_MARK if a.solo else ""
        if a.kind == "range":
            controls.append(
                f'<label class="sp-control"><span class="sp-label">{label}{mark}</span> '
                f'<input type="range" data-i="{i}" min="0" max="{len(a.values) - 1}" step="1" value="{a.default}" '
                f'aria-label="{label}"> <output>{html.escape(a.labels[a.default])}</output></label>')
        elif a.kind == "checkbox":
            checked = " checked" if a.values[a.default] else ""
            controls.append(f'<label class="sp-control"><input type="checkbox" data-i="{i}"{checked}> '
                            f'<span class="sp-label">{label}{mark}</span></label>')
        else:
            options = "".join(f'<option value="{k}"{" selected" if k == a.default else ""}>{html.escape(t)}</option>'
                              for k, t in enumerate(a.labels))
            controls.append(f'<label class="sp-control"><span class="sp-label">{label}{mark}</span> '
                            f'<select data-i="{i}" aria-label="{label}">{options}</select></label>')
    sizes, defaults, solo = [len(a.values) for a in axes], [a.default for a in axes], [a.solo for a in axes]
    default = state_index(sizes, defaults, solo, defaults)
    data = {"sizes": sizes, "labels": [a.labels for a in axes], "frames": [page_ids[f] for f in result["frames"]]}
    if any(solo):
        data["defaults"], data["solo"] = defaults, [int(s) for s in solo]
    if result["enabled"] is not None:
        data["enabled"] = result["enabled"]
    if result["readouts"] is not None:
        data["readouts"], data["readout"] = result["readouts"], result["readout"]
    note = prerendered_note(axes, len(result["pngs"]))
    readout = result["readouts"][result["readout"][default]] if result["readouts"] else ""
    return (f'<div class="static-panel" data-panel="{html.escape(name)}">'
            f'<div class="sp-controls">{"".join(controls)}</div>'
            f'<img class="sp-image" alt="{html.escape(name)}" '
            f'src="data:image/png;base64,{frames[page_ids[result["frames"][default]]]}">'
            f'<div class="sp-readout">{readout}</div>'
            f'<p class="sp-note">{html.escape(note)}</p>'
            f'<script type="application/json" class="sp-data">{_json(data)}</script></div>')


SOLO_MARK = '<sup class="sp-solo" title="一次只改一个 · one at a time">†</sup>'


def prerendered_note(axes: list[Axis], frames: int) -> str:
    """What the page says about its pre-rendered values: every slider position, every option, solo controls."""
    parts = []
    for a in axes:
        if a.kind == "range":
            parts.append(f"{a.label} 取 {len(a.values)} 个值：{', '.join(a.labels)}")
    if any(a.kind != "range" for a in axes):
        parts.append("下拉框和复选框的每个选项都已渲染")
    solo = ""
    if any(a.solo for a in axes):
        parts.append("标 † 的控件组合太多，只预先渲染了“一次改一个”的情形：改动其中一个，其余标 † 的控件回到默认值")
        solo = " Controls marked † were rendered one at a time: moving one puts the other † controls back to their defaults."
    return (f"静态网页版：这些图由面板自己的代码预先渲染，共 {frames} 帧；" + "；".join(parts)
            + "。要连续调节，请在 Jupyter 或 Colab 中运行本章。"
            f" (Static edition: {frames} frames pre-rendered by the panel's code; sliders snap to the values listed.{solo})")


def nav_html(pages: list[tuple[str, str]], current: int | None, glossary: bool) -> str:
    """Links to the contents, the previous and next chapter, and the glossary."""
    items = ['<a href="index.html">目录 · Contents</a>']
    if current is not None and current > 0:
        items.append(f'<a href="{pages[current - 1][0]}.html" rel="prev">← {html.escape(pages[current - 1][1])}</a>')
    if current is not None and current + 1 < len(pages):
        items.append(f'<a href="{pages[current + 1][0]}.html" rel="next">{html.escape(pages[current + 1][1])} →</a>')
    if glossary:
        items.append('<a href="glossary.html">术语表 · Glossary</a>')
    return f'<nav class="site-nav">{"".join(items)}</nav>'


def rewrite_notebook_links(text: str, built: set[str]) -> str:
    """``href="04_losses.ipynb"`` (also ``notebooks/…``, ``../…``) -> ``href="04_losses.html"`` for built pages."""
    def sub(m: re.Match) -> str:
        return f'href="{m.group(1)}.html{m.group(2) or ""}"' if m.group(1) in built else m.group(0)
    return re.sub(r'href="(?:\.\.?/)?(?:notebooks/)?(\d\d_[\w-]+)\.ipynb(#[^"]*)?"', sub, text)


def _title(nb, fallback: str) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return fallback


def _exporter(mathjax_url: str | None):
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(extra_template_basedirs=[str(TEMPLATE.parent)], template_name=TEMPLATE.name)
    exporter.language_code = "zh-CN"
    if mathjax_url:
        exporter.mathjax_url = mathjax_url
    return exporter


def _export(exporter, nb, name: str, nav: str) -> str:
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": name}, "site_nav": nav})
    return body


def _markdown_page(title: str, markdown: list[str]):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata = {"title": title, "language_info": {"name": "python"}}
    nb.cells = [nbformat.v4.new_markdown_cell(text) for text in markdown]
    return nb


def readme_sections(readme: str, headings: list[str]) -> list[str]:
    """The sections of README.md that start with one of ``headings`` (up to the next heading of that level or above)."""
    lines, found = readme.splitlines(), []
    for heading in headings:
        level = len(heading) - len(heading.lstrip("#"))
        for i, line in enumerate(lines):
            if line.strip() == heading:
                end = next((j for j in range(i + 1, len(lines)) if re.match(rf"#{{1,{level}}} ", lines[j])), len(lines))
                found.append("\n".join(lines[i:end]).strip())
                break
    return found


def index_markdown(readme: str, pages: list[tuple[str, str]], glossary: bool) -> list[str]:
    """The index page: an introduction and README's chapter tables, each notebook linked to its page."""
    built = {stem for stem, _ in pages}
    intro = ("# 深度学习笔记 · 交互课程（静态网页版）\n\n"
             "这是课程的静态网页版：每一章都是一页，公式、代码、输出和中文讲解都在；每个交互面板仍然可以拖动，"
             "图片由面板自己的代码预先渲染，不需要 Python，也不需要 Colab。要运行代码、连续调节，"
             "请在 Jupyter 或 Colab 中打开笔记本。\n\n"
             "*Static web edition of the course: every chapter as one page, every panel still answers its "
             "controls (pictures pre-rendered by the panel code), no Python or kernel needed.*")
    sections = readme_sections(readme, ["## Chapters", "### 各章内容"])

    def link(m: re.Match) -> str:
        stem = m.group(1)
        return f"[{stem}]({stem}.html)" if stem in built else f"`{stem}`"

    sections = [re.sub(r"`(\d\d_[\w-]+)\.ipynb`", link, s) for s in sections]
    chapters = "## 章节 · Chapters\n\n" + "\n".join(f"- [{title}]({stem}.html)" for stem, title in pages)
    cells = [intro, chapters] + sections
    if glossary:
        cells.append("## 术语表 · Glossary\n\n[术语表 (glossary.html)](glossary.html)")
    return cells


def page_frames(results: list[dict]) -> tuple[list[str], list[list[int]]]:
    """One table of base64 frames for a page (a picture shared by panels is stored once) and each panel's ids in it."""
    frames, by_digest, ids = [], {}, []
    for result in results:
        local = []
        for png in result["pngs"]:
            digest = hashlib.sha1(png).digest()
            if digest not in by_digest:
                by_digest[digest] = len(frames)
                frames.append(base64.b64encode(png).decode("ascii"))
            local.append(by_digest[digest])
        ids.append(local)
    return frames, ids


# ----------------------------------------------------------------------------- MathJax on the site itself
MATHJAX_PARTS = ["MathJax.js", "config/TeX-AMS_CHTML-full.js", "config/Safe.js", "extensions", "jax/input/TeX",
                 "jax/output/CommonHTML", "jax/element", "fonts/HTML-CSS/TeX/woff"]
MATHJAX_URL = "mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe"


def copy_mathjax(source: pathlib.Path | str, out: pathlib.Path | str) -> str:
    """Copy what the pages use of MathJax 2.7 (the npm package ``mathjax@2``) into ``out/mathjax``; returns the URL."""
    source = pathlib.Path(source)
    missing = [part for part in MATHJAX_PARTS if not (source / part).exists()]
    if missing:
        raise ValueError(f"mathjax_dir must be a MathJax 2.7 folder (npm package mathjax@2); {source} lacks {missing}")
    for part in MATHJAX_PARTS:
        target = pathlib.Path(out) / "mathjax" / part
        target.parent.mkdir(parents=True, exist_ok=True)
        if (source / part).is_dir():
            shutil.copytree(source / part, target)
        else:
            shutil.copy2(source / part, target)
    return MATHJAX_URL


# ----------------------------------------------------------------------------- the whole build
def _clear(out: pathlib.Path) -> None:
    if out.exists():
        if any(out.iterdir()) and not (out / REPORT_NAME).exists():
            raise SystemExit(f"{out} exists and was not built by this tool (no {REPORT_NAME}); refusing to clear it")
        shutil.rmtree(out)
    out.mkdir(parents=True)


def prepare_notebook(path: pathlib.Path, names: set[str], first_key: int, log=print):
    """Read one notebook and put a slot where each panel's output was; returns it, its slots and its panels.

    A panel is rebuilt from its call when the call's arguments are literals; when one is not (a model
    trained in the chapter), the page's panels are rendered in the notebook's kernel instead.
    """
    import nbformat

    nb = nbformat.read(path, as_version=4)
    nb.metadata["title"] = _title(nb, path.stem)
    slots, entries = [], []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        calls = panel_calls(cell.source, names)
        for k, output in enumerate(o for o in cell.outputs if WIDGET_MIME in o.get("data", {})):
            call = calls[k] if k < len(calls) else None
            if call is None:
                log(f"  {path.stem}: a widget output is left as its saved picture (no panel call found in the cell)")
                del output["data"][WIDGET_MIME]
                continue
            key = first_key + len(entries)
            slot = f'<div id="sp-slot-{key}"></div>'
            output["data"], output["metadata"] = {"text/html": slot}, {}
            slots.append((slot, key))
            entries.append({"key": key, "name": call.name, "args": call.args, "kwargs": call.kwargs,
                            "call": str(call) if not call.problem else call.source,
                            "in_kernel": bool(call.problem), "cell": index})
    return nb, slots, entries


def _start_rendering(jobs: list[dict], processes: int):
    """The render results of the pages, as they come (from a pool of ``processes`` spawned workers when more than one)."""
    if processes <= 1 or not jobs:
        return None, map(render_page, jobs)
    os.environ["OMP_NUM_THREADS"] = "1"  # the workers inherit it: one torch thread each
    name = render_page.__module__
    setup = _WORKER_SETUP.format(name=name, path=str(pathlib.Path(sys.modules[name].__file__).resolve()))
    pool = multiprocessing.get_context("spawn").Pool(min(processes, len(jobs)), initializer=exec, initargs=(setup,))
    slow_first = sorted(jobs, key=lambda job: (not job["kernel"], -len(job["panels"])))  # kernels take longest
    return pool, pool.imap_unordered(render_page, slow_first)


def fill_page(body: str, slots: list, results: dict, entries: dict, built: set[str]) -> tuple[str, list[dict], int]:
    """Put the static panels into an exported page and the page's frames once; returns it, its panels, its frames."""
    panel_results = [results[key] for _, key in slots]
    frames, ids = page_frames(panel_results)
    panels = []
    for (slot, key), result, page_ids in zip(slots, panel_results, ids):
        entry = entries[key]
        if body.count(slot) != 1:
            raise RuntimeError(f"{entry['page']}: the slot for {entry['call']} is not in the exported page once")
        body = body.replace(slot, static_panel_html(entry["name"], result, page_ids, frames))
        panels.append({"name": entry["name"], "call": entry["call"], "in_kernel": entry["in_kernel"],
                       "frames": len(result["pngs"]), "rendered": result["rendered"], "cap": result["cap"],
                       "errors": result["errors"], "solo": [a["name"] for a in result["axes"] if a["solo"]],
                       "grid": {a["name"]: a["labels"] for a in result["axes"]},
                       "bytes": sum(len(p) for p in result["pngs"]), "seconds": round(result["seconds"], 2),
                       "render_s": round(result["render_s"], 2), "encode_s": round(result["encode_s"], 2)})
    table = f'<script type="application/json" id="sp-frames">{_json(frames)}</script>' if frames else ""
    return rewrite_notebook_links(body.replace("<!--site:frames-->", table, 1), built), panels, len(frames)


def build(out: pathlib.Path | str = ROOT / "site", *, only: list[str] | None = None, max_frames: int = MAX_FRAMES,
          panel_mb: float = PANEL_MB, page_mb: float = PAGE_MB, jobs: int = 2, png_level: int = 9,
          mathjax_url: str | None = None, mathjax_dir: pathlib.Path | str | None = None,
          notebooks: pathlib.Path = NB_DIR, readme: pathlib.Path = ROOT / "README.md",
          glossary: pathlib.Path = ROOT / "GLOSSARY.md", log=print) -> dict:
    """Build the site into ``out`` and return what was built (also written to ``out/.site-build.json``)."""
    from helpers.panels import all_panels

    if max_frames < 1:
        raise ValueError(f"max_frames must be >= 1, got {max_frames}")
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    start = time.perf_counter()
    out, readme, glossary = pathlib.Path(out), pathlib.Path(readme), pathlib.Path(glossary)
    paths = sorted(pathlib.Path(notebooks).glob("[0-9][0-9]_*.ipynb"))
    if only:
        paths = [p for p in paths if any(p.stem.startswith(o) for o in only)]
    if not paths:
        raise SystemExit(f"no notebook in {notebooks} matches {only}")
    _clear(out)
    if mathjax_dir:
        mathjax_url = copy_mathjax(mathjax_dir, out)
    names, has_glossary = set(all_panels()), glossary.is_file()

    # 1. the notebooks, each panel's output replaced by a slot; one render job per page
    books, page_jobs, entries = [], [], {}
    for path in paths:
        nb, slots, panels = prepare_notebook(path, names, len(entries), log)
        entries.update({p["key"]: {**p, "page": path.stem} for p in panels})
        books.append((path, nb, slots))
        if panels:
            page_jobs.append({
                "page": path.stem, "path": str(path.resolve()), "panels": panels,
                "kernel": any(p["in_kernel"] for p in panels), "last_cell": max(p["cell"] for p in panels),
                "max_frames": max_frames, "png_level": png_level, "panel_bytes": panel_mb * 1e6,
                "page_bytes": max(0.0, page_mb - PAGE_BASE_MB - path.stat().st_size / 1e6) * 1e6})
    pages = [(path.stem, nb.metadata["title"]) for path, nb, _ in books]
    built = {stem for stem, _ in pages}
    log(f"{len(books)} notebook(s), {len(entries)} panel(s) to pre-render with {jobs} process(es); "
        f"in a kernel: {', '.join(j['page'] for j in page_jobs if j['kernel']) or 'none'}")

    # 2. render the panels (in worker processes) while this process exports the pages
    pool, pending = _start_rendering(page_jobs, jobs)
    try:
        exporter = _exporter(mathjax_url)
        bodies = [_export(exporter, nb, path.stem, nav_html(pages, i, has_glossary))
                  for i, (path, nb, _) in enumerate(books)]
        text = readme.read_text(encoding="utf-8") if readme.is_file() else ""
        extra = {"index": _export(exporter, _markdown_page("深度学习笔记 · 交互课程", index_markdown(
            text, pages, has_glossary)), "index", nav_html(pages, None, has_glossary))}
        if has_glossary:
            extra["glossary"] = _export(exporter, _markdown_page("术语表 · Glossary", [
                glossary.read_text(encoding="utf-8")]), "glossary", nav_html(pages, None, True))
        results, page_seconds = {}, {}
        for done in pending:
            page_seconds[done["page"]] = round(done["seconds"], 1)
            log(f"  {done['page']}: {len(done['results'])} panel(s) in {done['seconds']:.1f} s")
            for result in done["results"]:
                results[result["key"]] = result
                log(f"    {entries[result['key']]['call']}: {len(result['pngs'])} frames "
                    f"({result['rendered']} rendered, cap {result['cap']}) in {result['seconds']:.1f} s "
                    f"(drawing {result['render_s']:.1f} s, PNG {result['encode_s']:.1f} s)")
    finally:
        if pool is not None:
            pool.close()
            pool.join()

    # 3. the pages: slots replaced by static panels, each page's frames added once
    report = {"pages": [], "max_frames": max_frames, "panel_mb": panel_mb, "page_mb": page_mb}
    for (path, _, slots), body in zip(books, bodies):
        body, panels, n_frames = fill_page(body, slots, results, entries, built)
        (out / f"{path.stem}.html").write_text(body, encoding="utf-8")
        report["pages"].append({"page": f"{path.stem}.html", "bytes": len(body.encode("utf-8")),
                                "frames": n_frames, "panels": panels, "render_s": page_seconds.get(path.stem, 0.0)})
    for name, body in extra.items():
        body = rewrite_notebook_links(body.replace("<!--site:frames-->", "", 1), built)
        (out / f"{name}.html").write_text(body, encoding="utf-8")
        report["pages"].append({"page": f"{name}.html", "bytes": len(body.encode("utf-8")), "frames": 0, "panels": []})
    (out / ".nojekyll").write_text("", encoding="utf-8")
    report["seconds"] = round(time.perf_counter() - start, 1)
    report["site_bytes"] = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    (out / REPORT_NAME).write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    return report


def summary(report: dict, page_mb: float = 8.0) -> str:
    """A table of the pages: weight, panels, frames."""
    lines = [f"{'page':32s} {'MB':>6s} {'panels':>6s} {'frames':>6s}"]
    for p in report["pages"]:
        flag = "  over budget" if p["bytes"] > page_mb * 1e6 else ""
        lines.append(f"{p['page']:32s} {p['bytes'] / 1e6:6.2f} {len(p['panels']):6d} {p['frames']:6d}{flag}")
    lines.append(f"site: {report['site_bytes'] / 1e6:.1f} MB in {report['seconds']:.0f} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", metavar="NN", help="only the notebooks whose names start with these")
    parser.add_argument("--out", default=str(ROOT / "site"), help="output folder (default: site/)")
    parser.add_argument("--max-frames", type=int, default=MAX_FRAMES,
                        help=f"distinct pictures per panel (default {MAX_FRAMES}); every dropdown option and "
                             "two positions per slider are always kept")
    parser.add_argument("--panel-mb", type=float, default=PANEL_MB, help=f"MB of frames per panel (default {PANEL_MB})")
    parser.add_argument("--page-mb", type=float, default=PAGE_MB, help=f"MB per page, shared by its panels (default {PAGE_MB})")
    parser.add_argument("--jobs", type=int, default=2, help="render processes (default 2)")
    parser.add_argument("--png-level", type=int, default=9, choices=range(1, 10), metavar="1-9",
                        help="zlib level of the frames (default 9: smallest)")
    parser.add_argument("--mathjax-url", help="MathJax 2.7 script to load instead of nbconvert's default CDN")
    parser.add_argument("--mathjax-dir", help="a MathJax 2.7 folder (npm package mathjax@2) to copy into the site, "
                                              "so that formulas need no CDN either")
    args = parser.parse_args(argv)
    report = build(args.out, only=args.only, max_frames=args.max_frames, panel_mb=args.panel_mb,
                   page_mb=args.page_mb, jobs=args.jobs, png_level=args.png_level, mathjax_url=args.mathjax_url,
                   mathjax_dir=args.mathjax_dir)
    print(summary(report))
    print(f"open {pathlib.Path(args.out) / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
