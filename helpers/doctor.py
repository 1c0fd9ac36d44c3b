"""The course's environment self-check, ``helpers.doctor()``: versions, device, Colab, and a live widget test.

Plain text first (it reads the same in a terminal, a notebook or a saved output), then, inside a
Jupyter kernel, a small slider: moving it rewrites a message next to it, which only happens when the
front end really runs widgets. Only the standard library is imported at module level.
"""
from __future__ import annotations

import importlib
import importlib.metadata
import platform
import sys

__all__ = ["PACKAGES", "package_version", "in_colab", "environment_report", "report_text", "doctor"]

# label -> (module to import, distribution name for the fallback)
PACKAGES: dict[str, tuple[str, str]] = {
    "torch": ("torch", "torch"),
    "ipywidgets": ("ipywidgets", "ipywidgets"),
    "matplotlib": ("matplotlib", "matplotlib"),
    "scikit-learn": ("sklearn", "scikit-learn"),
}

WIDGET_HELP = """\
下面应当出现一个滑块（slider）。拖动它：旁边的文字变成 "widgets work" 就说明交互面板能用。
如果看不到滑块（或只看到 "IntSlider(...)" 这样的文字，或一行说控件无法显示的提示）：
  - JupyterLab / Notebook 7：先信任这个笔记本（命令面板里的 "Trust Notebook"），确认内核所在环境装了 ipywidgets（7.7 或 8）和 jupyterlab_widgets，
    然后重启内核、刷新浏览器页面，再运行一次这一格；
  - Colab：什么都不用装，重新运行这一格即可（Colab 自带 ipywidgets）；
  - VS Code：安装 Jupyter 扩展（ms-toolsai.jupyter），右上角选中装有本课程依赖的内核，再运行这一格；
  - GitHub / nbviewer 上看到的是静态页面，控件不会运行：请在上面三种环境之一打开。
面板即使不能交互，也会显示一张当前设置下的静态图，课程照样能读。"""


def package_version(label: str) -> str:
    """The version of one of the course's packages (``PACKAGES``), ``'not installed'`` or why its import failed."""
    if label not in PACKAGES:
        raise ValueError(f"label must be one of {list(PACKAGES)}, got {label!r}")
    module_name, dist = PACKAGES[label]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        try:
            importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"
        return f"installed but fails to import ({type(exc).__name__}: {exc})"
    version = getattr(module, "__version__", None)
    return str(version) if version else importlib.metadata.version(dist)


def in_colab() -> bool:
    """True inside Google Colab (its ``google.colab`` module is loaded in every Colab kernel)."""
    return "google.colab" in sys.modules


def environment_report() -> dict[str, str]:
    """``{label: value}`` for Python, each package in ``PACKAGES``, the device and whether this is Colab."""
    from . import get_device

    report = {"Python": platform.python_version()}
    report.update({label: package_version(label) for label in PACKAGES})
    report["device"] = str(get_device())
    report["Colab"] = str(in_colab())
    return report


def report_text(report: dict[str, str] | None = None) -> str:
    """The report as aligned ``label : value`` lines."""
    report = environment_report() if report is None else report
    if not isinstance(report, dict) or not report:
        raise ValueError(f"report must be a non-empty dict {{label: value}}, got {report!r}")
    width = max(len(label) for label in report)
    return "\n".join(f"{label:<{width}} : {value}" for label, value in report.items())


def _in_kernel() -> bool:
    """True inside a Jupyter kernel (where widgets can be displayed), False in a plain interpreter."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and getattr(shell, "kernel", None) is not None


def _widget_check():
    """A slider and a message that changes when the slider moves (only a live front end can move it)."""
    import ipywidgets as widgets

    slider = widgets.IntSlider(value=0, min=0, max=10, description="move me")
    message = widgets.Label(value="⏳ 拖动左边的滑块")

    def on_move(change) -> None:
        message.value = f"✅ widgets work (slider = {change['new']})"

    slider.observe(on_move, names="value")
    return widgets.HBox([slider, message])


def doctor(*, widget: bool = True) -> None:
    """Print the environment report; in a Jupyter kernel, also show a slider that proves widgets work."""
    if not isinstance(widget, bool):
        raise TypeError(f"widget must be a bool, got {type(widget).__name__}")
    print("课程环境自检 (environment self-check)")
    print(report_text())
    if not widget:
        return
    if not _in_kernel():
        print("widgets : not checked (no Jupyter kernel here: run helpers.doctor() inside a notebook)")
        return
    from IPython.display import display

    print(WIDGET_HELP)
    box = _widget_check()
    # the widget view (ipywidgets 7 and 8 alike) plus a plain-text line for viewers without a kernel
    display({"application/vnd.jupyter.widget-view+json": {"version_major": 2, "version_minor": 0, "model_id": box.model_id},
             "text/plain": "Widget check: a slider shows here in a running notebook (see the text above)."}, raw=True)
