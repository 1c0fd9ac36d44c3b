"""Which panel each widget output of a notebook shows: found in its cell's source, without running it."""
from __future__ import annotations

import ast
import pathlib
from dataclasses import dataclass, field

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


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


def _called_name(node: ast.Call) -> str | None:
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def _call(node: ast.Call, name: str) -> PanelCall:
    """The call ``node`` with its arguments as values, or with the ``problem`` that they are not literals."""
    source = ast.unparse(node)
    try:
        if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
            raise ValueError("* or ** arguments")
        return PanelCall(name, tuple(ast.literal_eval(a) for a in node.args),
                         tuple((k.arg, ast.literal_eval(k.value)) for k in node.keywords), source=source)
    except (ValueError, TypeError, SyntaxError):
        return PanelCall(name, problem=f"its arguments are not literals: {source}", source=source)


def panel_calls(source: str, names) -> list[PanelCall]:
    """The calls of panel builders named in ``names`` in a cell's source, in source order."""
    code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    found = [((node.lineno, node.col_offset), _call(node, _called_name(node))) for node in ast.walk(tree)
             if isinstance(node, ast.Call) and _called_name(node) in names]
    return [call for _, call in sorted(found, key=lambda item: item[0])]


def notebook_title(nb, fallback: str) -> str:
    """The first Markdown heading of the notebook."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return fallback


def prepare_notebook(path: pathlib.Path, names: set[str], first_key: int, log=print):
    """Read one notebook and put a slot where each panel's output was; returns it, its slots and its panels.

    A panel is rebuilt from its call when the call's arguments are literals; when one is not (a model
    trained in the chapter), the page's panels are rendered in the notebook's kernel instead.
    """
    import nbformat

    nb = nbformat.read(path, as_version=4)
    nb.metadata["title"] = notebook_title(nb, path.stem)
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
