"""The pre-rendered control values of a panel, the order of its frames, and a page's byte budget.

A grid has one :class:`Axis` per control. Its frames are in the order of :func:`grid_states`; where a
combination of positions is in that order is given by :func:`index_steps`, a table the page's JavaScript
reads as data (the frame index is the sum of one entry per control), so the encoding is written once.
A panel's named states (``Panel.states``) are positions of their controls too; each is also rendered exactly,
as an entry after the grid's (see :func:`choose_grid` and :func:`tools.site.render.render_states`).
"""
from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass

DENSE_LIMIT = 50_000  # combinations of a full grid worth counting; a panel with more is rendered one-at-a-time
SWEPT_POSITIONS = 5   # positions a Play slider always keeps, and solo sliders get first while the cap allows
ALL_SOLO_ABOVE = 600  # a panel whose mode controls alone make more frames than this renders every control solo


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
    snap: list | None = None  # per position, the rendered position it stands for (a value only named states use)
    play: int = 0       # a slider with a Play button: its step interval in ms (0: none)


# ----------------------------------------------------------------------------- one control
def _label(w, value) -> str:
    if isinstance(value, bool) or isinstance(value, int):
        return str(value)
    try:
        return format(value, getattr(w, "readout_format", ".4g"))
    except (TypeError, ValueError):
        return f"{value:.4g}" if isinstance(value, float) else str(value)


def _slider_values(w) -> tuple[list, int]:
    """Every step of a slider and the index of the step nearest its value."""
    import ipywidgets as widgets

    if isinstance(w, widgets.FloatLogSlider):
        n = int(round((w.max - w.min) / w.step))
        exps = [w.min + k * w.step for k in range(n + 1)]
        default = min(range(n + 1), key=lambda k: abs(exps[k] - math.log(w.value, w.base)))
        return [w.base ** e for e in exps], default
    n = int(math.floor((w.max - w.min) / w.step + 1e-9))
    values = [w.min + k * w.step for k in range(n + 1)]
    values = [int(v) for v in values] if isinstance(w, widgets.IntSlider) else [round(v, 12) for v in values]
    return values, min(range(n + 1), key=lambda k: abs(values[k] - w.value))


def control_candidates(w) -> tuple[str, list, list[str], int]:
    """``(kind, values, labels, default index)``: every value one control can take (a slider: every step)."""
    import ipywidgets as widgets
    from helpers.panels.testing import control_samples

    if isinstance(w, (widgets.FloatLogSlider, widgets.FloatSlider, widgets.IntSlider)):
        values, default = _slider_values(w)
        values[default] = w.value  # the notebook's own value, exactly
        return "range", values, [_label(w, v) for v in values], default
    if isinstance(w, (widgets.Checkbox, widgets.ToggleButton)):
        return "checkbox", [False, True], ["off", "on"], int(bool(w.value))
    # dropdowns and anything else: a <select> over every option (or over a few samples)
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


def _axes(specs: list, counts: dict[int, int], solo: set[int] = frozenset(), required: dict | None = None,
          play: dict[int, int] | None = None) -> list[Axis]:
    axes = []
    for i, (name, label, (kind, values, labels, default)) in enumerate(specs):
        keep = spread(len(values), counts[i], default) if i in counts else list(range(len(values)))
        keep = sorted(set(keep) | (required or {}).get(i, set()))  # the values of the panel's named states
        axes.append(Axis(name, label, kind, [values[k] for k in keep], [labels[k] for k in keep],
                         keep.index(default), i in solo, play=(play or {}).get(i, 0)))
    return axes


def play_interval(w) -> int:
    """The step interval (ms) of a slider made by ``play_slider`` (it has a Play button), else 0."""
    return int(getattr(w, "play_interval", 0) or 0)


def swept_floor(count: int, play: bool) -> int:
    """The fewest positions a slider of ``count`` steps keeps: :data:`SWEPT_POSITIONS` with a Play button, else 2."""
    return min(count, SWEPT_POSITIONS if play else 2)


# ----------------------------------------------------------------------------- the order of the frames
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


def index_steps(sizes: list[int], defaults: list[int], solo: list[bool]) -> list[list[int]]:
    """``steps[i][p]``: what control ``i`` at position ``p`` adds to the frame index in :func:`grid_states`.

    index = sum_i steps[i][p_i]. A free control adds ``p * stride`` (row-major over the free controls,
    each free combination spanning ``1 + sum(size - 1 over solo controls)`` states); a solo control adds
    0 at its default, else its state's place after the defaults' state. The page's JavaScript reads this table.
    """
    if not len(sizes) == len(defaults) == len(solo):
        raise ValueError("sizes, defaults and solo must have one entry per control")
    steps: list[list[int]] = [[] for _ in sizes]
    offset = 1
    for i, (n, d, s) in enumerate(zip(sizes, defaults, solo)):
        if s:
            steps[i] = [0 if p == d else offset + (p if p < d else p - 1) for p in range(n)]
            offset += n - 1
    stride = offset
    for i in reversed(range(len(sizes))):
        if not solo[i]:
            steps[i] = [p * stride for p in range(sizes[i])]
            stride *= sizes[i]
    return steps


def state_index(sizes: list[int], defaults: list[int], solo: list[bool], positions: list[int]) -> int:
    """Where the combination ``positions`` is in :func:`grid_states`: the sum of its :func:`index_steps`."""
    if sum(p != d for p, d, s in zip(positions, defaults, solo) if s) > 1:
        raise ValueError("at most one solo control may be away from its default")
    steps = index_steps(sizes, defaults, solo)
    return sum(steps[i][p] for i, p in enumerate(positions))


# ----------------------------------------------------------------------------- frames of a grid
def live(panel, values: dict) -> dict[str, bool]:
    """The controls that act for ``values``: enabled and shown (a hidden control belongs to another mode and
    has no effect there, so the grid treats it as disabled; the page hides it, see ``shown_bits``)."""
    on, shown = panel.enabled(values), panel.shown(values)
    return {name: on[name] and shown[name] for name in on}


def shown_bits(panel, axes: list[Axis], positions) -> int:
    """The controls shown at ``positions`` (bit i: ``axes[i]``)."""
    shown = panel.shown({a.name: a.values[p] for a, p in zip(axes, positions)})
    return sum(1 << i for i, a in enumerate(axes) if shown[a.name])


def _frame_rows(panel, axes: list[Axis], cache: dict):
    """The rows of :func:`frame_table`, one at a time."""
    def enabled(combo):
        values = tuple(a.values[p] for a, p in zip(axes, combo))
        if values not in cache:
            cache[values] = live(panel, {a.name: v for a, v in zip(axes, values)})
        return cache[values]

    for combo in grid_states([len(a.values) for a in axes], [a.default for a in axes], [a.solo for a in axes]):
        combo = tuple(a.snap[p] if a.snap else p for a, p in zip(axes, combo))  # a state's own value: its stand-in
        on = enabled(combo)
        canon = tuple(p if on[a.name] else a.default for a, p in zip(axes, combo))
        if canon != combo and enabled(canon) != on:
            canon = combo  # the default of a disabled control would change what is enabled: keep it as set
        yield canon, sum(1 << i for i, a in enumerate(axes) if on[a.name])


def frame_table(panel, axes: list[Axis], cache: dict | None = None) -> list[tuple[tuple, int]]:
    """For every combination of :func:`grid_states`: the combination to render and the enabled controls (bits).

    A disabled control has no effect (the panels' rule), so it is rendered at its default position:
    combinations that differ only in disabled controls share one frame. ``cache`` keeps
    ``panel.enabled`` answers between calls (by the values of the controls).
    """
    return list(_frame_rows(panel, axes, {} if cache is None else cache))


def distinct_frames(panel, axes: list[Axis], cache: dict | None = None, stop: float = math.inf) -> int:
    """How many pictures the grid ``axes`` of ``panel`` needs (combinations that differ only in disabled
    controls share one); counting ends once the count passes ``stop`` (it is then ``stop + 1``)."""
    seen = set()
    for canon, _ in _frame_rows(panel, axes, {} if cache is None else cache):
        seen.add(canon)
        if len(seen) > stop:
            break
    return len(seen)


# ----------------------------------------------------------------------------- choosing the grid
def mode_controls(panel, specs: list | None = None) -> set[str]:
    """The controls that turn other controls on or off, or show and hide them (a value of theirs changes what is live)."""
    specs = specs or [(name, name, control_candidates(w)) for name, w in panel.controls.items()]
    defaults = {name: values[d] for name, _, (_, values, _, d) in specs}
    base = live(panel, defaults)
    modes = set()
    for name, _, (_, values, _, _) in specs:
        for value in values:
            on = live(panel, {**defaults, name: value})
            if any(on[k] != base[k] for k in on if k != name):
                modes.add(name)
                break
    return modes


def _enabled_share(panel, specs: list, modes: set[str]) -> dict[str, float]:
    """How often each control is enabled: over the defaults and each value of each mode control alone."""
    defaults = {name: values[d] for name, _, (_, values, _, d) in specs}
    settings = [defaults] + [{**defaults, name: v} for name, _, (_, values, _, _) in specs if name in modes
                             for v in values]
    states = [live(panel, s) for s in settings]
    return {name: sum(on[name] for on in states) / len(states) for name in panel.controls}


def _solo_controls(panel, specs: list, fits) -> set[int]:
    """The controls to render one at a time so that the smallest grid fits (``fits(solo)``).

    First those that are off most of the time, then sliders, checkboxes, dropdowns, a group of alike
    controls at a time (nine kernel weights go solo together); then a checkbox or a short dropdown
    goes back to free if the grid still fits. Mode controls are never solo.
    """
    modes = mode_controls(panel, specs)
    share = _enabled_share(panel, specs, modes)
    order = {"range": 0, "checkbox": 1, "select": 2}
    rank = {i: (share[s[0]], order[s[2][0]]) for i, s in enumerate(specs) if s[0] not in modes}
    solo: set[int] = set()
    added = []
    for group in sorted(set(rank.values())):
        members = [i for i in rank if rank[i] == group]
        solo.update(members)
        added += members
        if len(solo) > 1 and fits(solo):
            break
    for i in reversed(added):
        kind, values = specs[i][2][0], specs[i][2][1]
        if len(solo) > 2 and (kind == "checkbox" or kind == "select" and len(values) <= 3) and fits(solo - {i}):
            solo.discard(i)
    return solo if len(solo) >= 2 else set()  # one solo control alone saves nothing


def choose_grid(panel, max_frames: int, states_in_grid: bool = True) -> list[Axis]:
    """The pre-rendered values of each control of ``panel``.

    Every option of a dropdown or checkbox; for sliders, as many evenly spread positions as keep the
    distinct frames within ``max_frames`` (at least two per slider, its default always among them,
    both ends from three positions on). When even the full grid of those does not fit, controls that
    turn no other control on or off become *solo* (sliders first, then checkboxes, then dropdowns,
    until it fits): they are pre-rendered one at a time, the other solo controls at their defaults,
    which costs a sum of positions instead of a product. If the controls that stay free still make a grid
    too large to count, or over :data:`ALL_SOLO_ABOVE` frames (many controls that switch others on and off),
    every control goes solo. A Play slider, or one marked ``swept``, keeps at least :data:`SWEPT_POSITIONS` positions; then sliders
    grow one position at a time while the grid fits: first the swept ones (solo or Play) enabled at the
    defaults, then the other swept ones, each up to :data:`SWEPT_POSITIONS`, then every slider.

    Named states (``Panel.states``): every value a state gives a control is one of its positions, and each state's
    frame is rendered exactly (its frames beyond the grid count against ``max_frames``). Their values are
    rendered like the others when the grid still fits with them; else (``states_in_grid`` False) they are
    positions of the states only: the grid renders them as the nearest other value (:func:`with_state_positions`).
    """
    if max_frames < 1:
        raise ValueError(f"max_frames must be >= 1, got {max_frames}")
    specs = [(name, w.description or name, control_candidates(w)) for name, w in panel.controls.items()]
    states = panel_states(panel)
    specs, required = with_state_candidates(panel, specs, states) if states_in_grid else (specs, {})
    play = {i: play_interval(w) for i, w in enumerate(panel.controls.values()) if play_interval(w)}
    marked = {i for i, w in enumerate(panel.controls.values()) if getattr(w, "swept", False)}  # ``swept(slider)``
    counts = {i: swept_floor(len(s[2][1]), i in play or i in marked) for i, s in enumerate(specs) if s[2][0] == "range"}
    cache: dict = {}

    def frames(c: dict[int, int], solo: set[int]) -> float:
        axes = _axes(specs, c, solo, required, play)
        if math.prod(len(a.values) for a in axes if not a.solo) > DENSE_LIMIT:
            return math.inf  # not worth counting: a grid that large is far over any cap
        extra = state_frames(panel, axes if states_in_grid else with_state_positions(panel, axes, states), states)
        return distinct_frames(panel, axes, cache, stop=max_frames - extra) + extra  # only whether it fits matters

    def frames_over(c: dict[int, int], solo: set[int], limit: int) -> bool:
        axes = _axes(specs, c, solo, required, play)
        return distinct_frames(panel, axes, cache, stop=limit) > limit

    solo: set[int] = set()
    if frames(counts, solo) > max_frames:
        solo = _solo_controls(panel, specs, lambda s: frames(counts, s) <= max_frames)
        if math.isinf(frames(counts, solo)) or frames_over(counts, solo, ALL_SOLO_ABOVE):
            solo = set(range(len(specs)))  # the mode controls alone make a grid far over any cap (the race's
            # optimizer switches and surfaces): every control goes solo
    on = live(panel, {name: values[d] for name, _, (_, values, _, d) in specs})
    swept = [i for i in counts if i in play or i in marked or i in solo]  # solo: a position adds frames, never multiplies
    first = [i for i in swept if on[specs[i][0]]]          # those the learner sees working at the defaults first
    for growing, limit in ((first, SWEPT_POSITIONS), (swept, SWEPT_POSITIONS), (list(counts), math.inf)):
        grew = True
        while grew:  # one more position for each slider in turn (swept sliders first, up to 5), while the grid fits
            grew = False
            for i in growing:
                if counts[i] < min(limit, len(specs[i][2][1])):
                    trial = {**counts, i: counts[i] + 1}
                    if frames(trial, solo) <= max_frames:
                        counts, grew = trial, True
    if not states_in_grid:
        return with_state_positions(panel, _axes(specs, counts, solo, play=play), states)
    if states and frames(counts, solo) > max_frames:  # the states' values do not fit in the grid
        return choose_grid(panel, max_frames, states_in_grid=False)
    return _axes(specs, counts, solo, required, play)


# ----------------------------------------------------------------------------- a page's budget
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


def frame_caps(panels: list, frame_bytes: list[float], max_frames: int, page_bytes: float,
               panel_bytes: float) -> list[int]:
    """The frame cap of each panel of a page (``frame_bytes``: what one of its frames weighs in the page).

    Every panel gets its smallest grid (two positions per slider); the rest of the page's budget is
    shared out, no panel taking more than ``panel_bytes`` beyond that or more frames than ``max_frames``
    or than its grid can use.
    """
    floors = [planned_frames(p, 1) for p in panels]
    wants = [planned_frames(p, max_frames) for p in panels]
    shares = share_out([f * s for f, s in zip(floors, frame_bytes)],
                       [min(w * s, f * s + panel_bytes) for f, w, s in zip(floors, wants, frame_bytes)],
                       page_bytes)
    return [max(f, min(max_frames, int(share / s))) for f, share, s in zip(floors, shares, frame_bytes)]


# ----------------------------------------------------------------------------- named states
def panel_states(panel) -> list[tuple[str | None, dict]]:
    """``(name, every control's value)`` for each named state of ``panel`` (``Panel.state_values``), then the
    defaults (name None, the "↺ 默认" button); empty for a panel without states."""
    names = list(getattr(panel, "states", None) or {})
    return [(name, panel.state_values(name)) for name in names + [None]] if names else []


def state_frames(panel, axes: list[Axis], states: list[tuple[str | None, dict]]) -> int:
    """The frames the named ``states`` (of :func:`panel_states`) may add beyond the grid ``axes``: one for each
    combination of positions that the grid does not render as it is, because two or more solo controls are away
    from their defaults, or a disabled control is (the grid renders it at its default; the state is rendered exactly),
    or a value only states use is set (:func:`with_state_positions`)."""
    extra = set()
    for _, values in states:
        positions = state_positions(axes, values)
        on = live(panel, values)
        away = [p != a.default for p, a in zip(positions, axes)]
        if sum(a.solo and off for a, off in zip(axes, away)) > 1 or any(
                off and not on[a.name] for a, off in zip(axes, away)) or any(
                a.snap and a.snap[p] != p for a, p in zip(axes, positions)):
            extra.add(positions)
    return len(extra)


def planned_frames(panel, max_frames: int) -> int:
    """The distinct frames of ``panel``'s grid for the cap ``max_frames``, with the frames its named states add."""
    axes = choose_grid(panel, max_frames)
    return distinct_frames(panel, axes) + state_frames(panel, axes, panel_states(panel))


def _same_value(a, b) -> bool:
    """Equal, or two floats equal to 9 digits (a slider's computed step and a state's literal, 0.30000000000000004 and 0.3)."""
    if type(a) is bool or type(b) is bool:
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def with_state_candidates(panel, specs: list, states: list | None = None) -> tuple[list, dict[int, set[int]]]:
    """``specs`` (one ``(name, label, control_candidates)`` per control) with every value a named state sets among
    its control's candidates, and for each control the indices of those values (kept in any grid).

    A state's value replaces a candidate equal to it to 9 digits (the state's value is then rendered exactly);
    one that is no candidate (a slider value off its steps) is inserted in order; the default index follows.
    ``states``: those of :func:`panel_states`, when already known.
    """
    states = panel_states(panel) if states is None else states
    required: dict[int, set[int]] = {}
    if not states:
        return specs, required
    out = []
    for i, (name, label, (kind, values, labels, default)) in enumerate(specs):
        values, labels = list(values), list(labels)
        for _, state in states:
            value = state[name]
            if any(v is value or type(v) is type(value) and v == value for v in values):
                continue
            near = [k for k, v in enumerate(values) if _same_value(v, value)]
            if near and near[0] != default:
                values[near[0]] = value  # the label stays: the same number
                continue
            if kind == "range":
                k = next((k for k, v in enumerate(values) if v > value), len(values))
                if k <= default:
                    default += 1
                labels.insert(k, _label(panel.controls[name], value))
                values.insert(k, value)
            else:
                labels.append(str(value))
                values.append(value)
        required[i] = {_value_index(values, state[name]) for _, state in states}
        out.append((name, label, (kind, values, labels, default)))
    return out, required


def _value_index(values: list, value) -> int:
    """Where ``value`` is in ``values``: the same object, else an equal value of the same type."""
    for k, v in enumerate(values):
        if v is value:
            return k
    for k, v in enumerate(values):
        if type(v) is type(value) and v == value:
            return k
    raise ValueError(f"{value!r} is not among the pre-rendered values {values}")


def state_positions(axes: list[Axis], values: dict) -> tuple[int, ...]:
    """The position of each control's value in its axis (a state's values: every one is there, see :func:`choose_grid`)."""
    return tuple(_value_index(a.values, values[a.name]) for a in axes)


def with_state_positions(panel, axes: list[Axis], states: list[tuple[str | None, dict]]) -> list[Axis]:
    """``axes`` with each value a named state gives a control among its positions, as a position of the states only.

    Such a position is not rendered in the grid: ``snap`` maps it to the nearest rendered value (a slider's, by
    value; another control's default), whose frame the grid shows there; the page moves the control to that value
    unless the positions are a state's. A state's value equal to a rendered one to 9 digits takes its place.
    """
    out = []
    for a in axes:
        values, labels, default = list(a.values), list(a.labels), a.default
        snap = list(range(len(values)))
        for _, state in states:
            value = state[a.name]
            if any(v is value or type(v) is type(value) and v == value for v in values):
                continue
            near = [k for k, v in enumerate(values) if _same_value(v, value) and k != default and snap[k] == k]
            if near:
                values[near[0]] = value
                continue
            rendered = [k for k in range(len(values)) if snap[k] == k]
            if a.kind == "range":
                k = next((k for k, v in enumerate(values) if v > value), len(values))
                target = min(rendered, key=lambda r: abs(values[r] - value))
                label = _label(panel.controls[a.name], value)
            else:
                k, target, label = len(values), default, str(value)
            snap = [t + (t >= k) for t in snap[:k]] + [target + (target >= k)] + [t + (t >= k) for t in snap[k:]]
            default += k <= default
            values.insert(k, value)
            labels.insert(k, label)
        changed = len(values) != len(a.values)
        out.append(dataclasses.replace(a, values=values, labels=labels, default=default, snap=snap if changed else a.snap))
    return out
