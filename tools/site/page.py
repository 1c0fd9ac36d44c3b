"""The HTML of the site: static panels, a page's frame table, navigation, links, the index and glossary pages."""
from __future__ import annotations

import base64
import hashlib
import html
import json
import pathlib
import re

from .grid import Axis, index_steps

TEMPLATE = pathlib.Path(__file__).resolve().parents[1] / "site_template"
FRAMES_MARK = "<!--site:frames-->"  # where the template wants a page's frame table
SOLO_MARK = '<sup class="sp-solo" title="一次只改一个 · one at a time">†</sup>'


def to_json(data) -> str:
    """Compact JSON that is safe inside a ``<script>`` element."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")


# ----------------------------------------------------------------------------- static panels
def frame_uri(b64: str) -> str:
    """A data URI for one base64 frame of the page's table: WebP (it starts with "RIFF") or PNG."""
    return ("data:image/webp;base64," if b64.startswith("UklGR") else "data:image/png;base64,") + b64


def panel_title(name: str) -> str:
    """A human title for a panel: its builder's docstring, first sentence up to the first colon; else its name."""
    try:
        from helpers.panels import all_panels

        doc = (all_panels()[name].__doc__ or "").strip()
    except (ImportError, KeyError):
        doc = ""
    first = re.split(r"(?<=[.;:])\s|[:;]", " ".join(doc.split()))[0].strip().rstrip(".")
    return first if len(first) >= 8 else (first or name)


def alt_text(title: str, axes: list[Axis], positions: list[int], enabled: int | None = None) -> str:
    """What a picture shows: the panel's title and the value of every enabled control (static_panels.js says the same)."""
    parts = [f"{a.label} = {a.labels[p]}" for i, (a, p) in enumerate(zip(axes, positions))
             if enabled is None or enabled >> i & 1]
    return f"{title}: " + ", ".join(parts) if parts else title


def _play_button(i: int, a: Axis) -> str:
    """A ▶ button that steps the slider ``data-i = i`` through its positions (a Play slider of the notebook)."""
    if not a.play:
        return ""
    return (f'<button type="button" class="sp-play" data-play="{i}" data-interval="{max(a.play, 150)}" '
            f'aria-label="播放 · play {html.escape(a.label)}" title="播放 · play">▶</button>')


def _control_html(i: int, a: Axis) -> str:
    """One control of a static panel as an HTML input (``data-i``: its place in the panel)."""
    label, mark = html.escape(a.label), SOLO_MARK if a.solo else ""
    if a.kind == "range":
        return (f'<label class="sp-control"><span class="sp-label">{label}{mark}</span> {_play_button(i, a)}'
                f'<input type="range" data-i="{i}" min="0" max="{len(a.values) - 1}" step="1" value="{a.default}" '
                f'aria-label="{label}"> <output>{html.escape(a.labels[a.default])}</output></label>')
    if a.kind == "checkbox":
        checked = " checked" if a.values[a.default] else ""
        return (f'<label class="sp-control"><input type="checkbox" data-i="{i}"{checked}> '
                f'<span class="sp-label">{label}{mark}</span></label>')
    options = "".join(f'<option value="{k}"{" selected" if k == a.default else ""}>{html.escape(t)}</option>'
                      for k, t in enumerate(a.labels))
    return (f'<label class="sp-control"><span class="sp-label">{label}{mark}</span> '
            f'<select data-i="{i}" aria-label="{label}">{options}</select></label>')


def controls_html(axes: list[Axis], groups: list, shown: int) -> str:
    """The controls as the notebook lays them out: those in no group first, then one titled grid per group (a row
    per row of the panel's ``groups``). A control not in ``shown`` (bits) starts hidden, as does a group with none."""
    index = {a.name: i for i, a in enumerate(axes)}

    def one(i: int) -> str:
        cell = _control_html(i, axes[i])
        return cell if shown >> i & 1 else cell.replace('<label class="sp-control"', '<label class="sp-control" hidden', 1)

    grouped = {name for _, rows in groups for row in rows for name in row}
    parts = ["".join(one(i) for i, a in enumerate(axes) if a.name not in grouped)]
    for title, rows in groups:
        members = [[index[name] for name in row if name in index] for row in rows]
        columns = max((len(row) for row in members), default=1)
        cells = "".join("".join(f'<div class="sp-cell">{one(i)}</div>' for i in row)
                        + '<div class="sp-cell"></div>' * (columns - len(row)) for row in members)
        hidden = "" if any(shown >> i & 1 for row in members for i in row) else " hidden"
        parts.append(f'<fieldset class="sp-group"{hidden}><legend>{html.escape(title)}</legend>'
                     f'<div class="sp-grid" style="grid-template-columns: repeat({columns}, auto)">{cells}</div></fieldset>')
    return "".join(parts)


def panel_data(axes: list[Axis], result: dict, page_ids: list[int]) -> dict:
    """What the page's script reads for one panel: each control's labels and index steps (the frame of the
    positions ``p`` is ``frames[sum(steps[i][p[i]])]``), the page frame of each state, and what changes with it."""
    sizes, defaults, solo = [len(a.values) for a in axes], [a.default for a in axes], [a.solo for a in axes]
    data = {"labels": [a.labels for a in axes], "steps": index_steps(sizes, defaults, solo),
            "frames": [page_ids[f] for f in result["frames"]]}
    if any(solo):
        data["defaults"], data["solo"] = defaults, [int(s) for s in solo]
    if result["enabled"] is not None:
        data["enabled"] = result["enabled"]
    if result.get("shown") is not None:  # per entry, the controls shown (another mode's are hidden, as in the notebook)
        data["shown"] = result["shown"]
    if result["readouts"] is not None:
        data["readouts"], data["readout"] = result["readouts"], result["readout"]
    if any(a.snap for a in axes):  # per control and position: the rendered position shown for a value only states use
        data["snap"] = [a.snap or list(range(len(a.values))) for a in axes]
    if result.get("states"):  # a named state's positions -> its own entry of frames, enabled and readout
        data["states"] = [{"positions": s["positions"], "index": s["index"]} for s in result["states"]]
    return data


def static_panel_html(name: str, result: dict, page_ids: list[int], frames: list[str]) -> str:
    """One static panel: its controls as HTML inputs, one <img>, a note on what was pre-rendered, its data."""
    axes = [Axis(**a) for a in result["axes"]]
    data = panel_data(axes, result, page_ids)
    data["title"], data["names"] = panel_title(name), [a.label for a in axes]  # the picture's alt text
    default = sum(steps[a.default] for steps, a in zip(data["steps"], axes))  # every control at its default
    readout = result["readouts"][result["readout"][default]] if result["readouts"] else ""
    note = prerendered_note(axes, len(result["pngs"])) + states_note(axes)
    shown = result["shown"][default] if result.get("shown") is not None else (1 << len(axes)) - 1
    alt = alt_text(data["title"], axes, [a.default for a in axes],
                   result["enabled"][default] if result["enabled"] is not None else None)
    return (f'<div class="static-panel" data-panel="{html.escape(name)}">'
            f'{presets_html(result.get("states") or [])}'
            f'{SOLO_NOTE if any(a.solo for a in axes) else ""}'
            f'<div class="sp-controls">{controls_html(axes, result.get("groups") or [], shown)}</div>'
            f'{picture_html(result, alt, frame_uri(frames[data["frames"][default]]))}'
            f'<div class="sp-readout">{readout}</div>'
            f'<p class="sp-note">{html.escape(note)}</p>'
            f'<script type="application/json" class="sp-data">{to_json(data)}</script></div>')


def picture_html(result: dict, alt: str, src: str) -> str:
    """The picture at its CSS size (the frames have 2 pixels per CSS pixel). On a phone (site.css) it stays
    large enough to read, in a strip that scrolls sideways and stops at the start of each pane; a bar under it
    says so and has a button that fits the whole picture to the screen and back (static_panels.js)."""
    size = result.get("size")
    img = f'<img class="sp-image" alt="{html.escape(alt)}" src="{src}"'
    if not size:
        return f'<div class="sp-view"><div class="sp-scroll"><div class="sp-strip">{img}></div></div></div>'
    width, height = size
    snaps = "".join(f'<span class="sp-snap" style="left:{100 * x / width:.2f}%"></span>' for x in result.get("panes") or [0])
    snaps += '<span class="sp-snap sp-snap-end"></span>'  # the right end: a last pane narrower than the screen
    return (f'<div class="sp-view" style="--sp-w:{width}px"><div class="sp-scroll"><div class="sp-strip">'
            f'{img} width="{width}" height="{height}">{snaps}</div></div>'
            f'<div class="sp-zoombar" hidden><span class="sp-swipe">{SWIPE_HINT}</span>'
            f'<button type="button" class="sp-zoom" data-fit="{ZOOM_LABELS[0]}" data-zoom="{ZOOM_LABELS[1]}" '
            f'aria-pressed="false">{ZOOM_LABELS[0]}</button></div></div>')


ZOOM_LABELS = ("看全图", "放大看")  # the phone's button: fit the whole picture to the screen / back to a readable size
SWIPE_HINT = "← 左右滑动看整张图 →"
# Above the controls of a panel with solo controls: what † means, where a touch screen can read it (no hover)
SOLO_NOTE = ('<p class="sp-solo-note"><span class="sp-solo">†</span> 一次只改一个：改动一个 † 控件，其余 † 控件回到默认值'
             '（组合太多，网页只预渲染了这些情形；“试试”按钮的状态除外）。</p>')  # beside it, while the picture is wider than the screen


def presets_html(states: list[dict]) -> str:
    """One-click buttons for a panel's named states, labelled as in the notebook: "试试：", the names, "↺ 默认"
    (``data-state``: the state's place in the panel's data; the defaults, name None, come last)."""
    if not states:
        return ""
    order = [k for k, s in enumerate(states) if s["name"] is not None] + [k for k, s in enumerate(states) if s["name"] is None]
    buttons = "".join(f'<button type="button" class="sp-state" data-state="{k}">'
                      f'{html.escape(states[k]["name"] if states[k]["name"] is not None else "↺ 默认")}</button>'
                      for k in order)
    return f'<div class="sp-presets"><b>试试：</b>{buttons}</div>'


def states_note(axes: list[Axis]) -> str:
    """What the page says about values only the "试试" states use (positions that snap to a rendered value)."""
    only = [f"{a.label} = {a.labels[p]}" for a in axes if a.snap for p, q in enumerate(a.snap) if p != q]
    if not only:
        return ""
    return (f" “试试”按钮用到的 {', '.join(only)} 只在按钮的状态里渲染；之后改动任何控件，它们回到最近的已渲染值。"
            " (Values only the presets use show in their state; moving a control afterwards puts them at the nearest rendered value.)")


def _value_list(labels: list[str], most: int = 12) -> str:
    """The pre-rendered values of a slider; a long list as its first and last few."""
    if len(labels) <= most:
        return ", ".join(labels)
    return ", ".join(labels[:3]) + " … " + ", ".join(labels[-2:])


def prerendered_note(axes: list[Axis], frames: int) -> str:
    """What the page says about its pre-rendered values: every slider position, every option, solo controls."""
    parts = [f"{a.label} 取 {len(a.values)} 个值：{_value_list(a.labels)}" for a in axes if a.kind == "range"]
    if any(a.kind != "range" for a in axes):
        parts.append("下拉框和复选框的每个选项都已渲染")
    solo = ""
    if any(a.solo for a in axes):
        parts.append("标 † 的控件组合太多，只预先渲染了“一次改一个”的情形：改动其中一个，其余标 † 的控件回到默认值")
        solo = " Controls marked † were rendered one at a time: moving one puts the other † controls back to their defaults."
    return (f"静态网页版：这些图由面板自己的代码预先渲染，共 {frames} 帧；" + "；".join(parts)
            + "。要连续调节，请在 Jupyter 或 Colab 中运行本章。"
            f" (Static edition: {frames} frames pre-rendered by the panel's code; sliders snap to the values listed.{solo})")


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
        panels.append(panel_report(entry, result))
    table = f'<script type="application/json" id="sp-frames">{to_json(frames)}</script>' if frames else ""
    return rewrite_notebook_links(body.replace(FRAMES_MARK, table, 1), built), panels, len(frames)


def panel_report(entry: dict, result: dict) -> dict:
    """What ``.site-build.json`` says about one panel: its call, grid, frames, bytes and times."""
    return {"name": entry["name"], "call": entry["call"], "in_kernel": entry["in_kernel"],
            "frames": len(result["pngs"]), "rendered": result["rendered"], "cap": result["cap"],
            "errors": result["errors"], "solo": [a["name"] for a in result["axes"] if a["solo"]],
            "grid": {a["name"]: a["labels"] for a in result["axes"]},
            "bytes": sum(len(p) for p in result["pngs"]), "seconds": round(result["seconds"], 2),
            "states": [s["name"] for s in result.get("states", []) if s["name"] is not None],
            "state_frames": result.get("state_frames", 0), "state_bytes": result.get("state_bytes", 0),
            "render_s": round(result["render_s"], 2), "encode_s": round(result["encode_s"], 2)}


# ----------------------------------------------------------------------------- navigation and links
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


# ----------------------------------------------------------------------------- nbconvert
COLAB_LINK_TEXT = "在 Colab 中打开 · Open in Colab"


def colab_text_link(markdown: str) -> str:
    """The Colab badge (an image from Colab's site) as a plain text link to the same notebook in Colab."""
    from tools.nb import BADGE_IMG

    return re.sub(rf"\[!\[[^\]]*\]\({re.escape(BADGE_IMG)}\)\]\(([^)\s]+)\)",
                  lambda m: f"[{COLAB_LINK_TEXT}]({m.group(1)})", markdown)


def is_colab_setup(cell) -> bool:
    """The setup cell ``tools/nb.py`` puts in every notebook (in Colab it clones the course; whatever its REPO_URL)."""
    from tools.nb import SETUP_TEMPLATE

    return (cell.cell_type == "code"
            and re.sub(r'REPO_URL = "[^"]*"', 'REPO_URL = "{url}"', cell.source, count=1) == SETUP_TEMPLATE)


def for_the_site(nb):
    """A copy of the notebook as the static page shows it: no Colab setup cell, the badge a text link."""
    import copy

    nb = copy.deepcopy(nb)
    nb.cells = [cell for cell in nb.cells if not is_colab_setup(cell)]
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = colab_text_link(cell.source)
    return nb


def exporter():
    """nbconvert's HTML exporter with the site's template (``tools/site_template``) and formulas as MathML."""
    from jinja2 import pass_context
    from nbconvert import HTMLExporter
    from nbconvert.filters.markdown_mistune import MarkdownWithMath
    from nbconvert.preprocessors import Preprocessor

    from .tex import keep_punctuation_with_math, mathml_renderer

    class SitePreprocessor(Preprocessor):
        def preprocess(self, nb, resources):
            return for_the_site(nb), resources

    class SiteExporter(HTMLExporter):
        @pass_context
        def markdown2html(self, context, source):
            """nbconvert's Markdown filter, with the math typeset as MathML at build time (no MathJax on the page)."""
            cell = context.get("cell", {})
            renderer = mathml_renderer()(escape=False, attachments=cell.get("attachments", {}),
                                         embed_images=self.embed_images,
                                         path=context.get("resources", {}).get("metadata", {}).get("path", ""),
                                         anchor_link_text=self.anchor_link_text,
                                         exclude_anchor_links=self.exclude_anchor_links, **self.lexer_options)
            return keep_punctuation_with_math(MarkdownWithMath(renderer=renderer).render(source))

    exp = SiteExporter(extra_template_basedirs=[str(TEMPLATE.parent)], template_name=TEMPLATE.name)
    exp.language_code = "zh-CN"
    exp.register_preprocessor(SitePreprocessor(), enabled=True)
    return exp


def export(exp, nb, name: str, nav: str) -> str:
    """One notebook as a page of the site, with the navigation ``nav`` at its top and bottom, and its math font."""
    from .tex import with_math_font

    body, _ = exp.from_notebook_node(nb, resources={"metadata": {"name": name}, "site_nav": nav})
    return with_math_font(body)


def markdown_notebook(title: str, markdown: list[str]):
    """A notebook of Markdown cells only (the index and glossary pages)."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata = {"title": title, "language_info": {"name": "python"}}
    nb.cells = [nbformat.v4.new_markdown_cell(text, id=f"site-{i}") for i, text in enumerate(markdown)]
    return nb  # fixed cell ids (nbformat's are random): a rebuild writes the same page


# ----------------------------------------------------------------------------- the index page
INTRO = ("# 深度学习笔记 · 交互课程（静态网页版）\n\n"
         "这是课程的静态网页版：每一章都是一页，公式、代码、输出和中文讲解都在；每个交互面板仍然可以拖动，"
         "图片由面板自己的代码预先渲染，不需要 Python，也不需要 Colab。要运行代码、连续调节，"
         "请在 Jupyter 或 Colab 中打开笔记本。\n\n"
         "*Static web edition of the course: every chapter as one page, every panel still answers its "
         "controls (pictures pre-rendered by the panel code), no Python or kernel needed.*")


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

    def link(m: re.Match) -> str:
        stem = m.group(1)
        return f"[{stem}]({stem}.html)" if stem in built else f"`{stem}`"

    sections = [re.sub(r"`(\d\d_[\w-]+)\.ipynb`", link, s) for s in readme_sections(readme, ["## Chapters", "### 各章内容"])]
    chapters = "## 章节 · Chapters\n\n" + "\n".join(f"- [{title}]({stem}.html)" for stem, title in pages)
    cells = [INTRO, chapters] + sections
    if glossary:
        cells.append("## 术语表 · Glossary\n\n[术语表 (glossary.html)](glossary.html)")
    return cells
