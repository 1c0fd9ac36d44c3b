"""The whole build (:func:`build`) and the command line (``python -m tools.site``)."""
from __future__ import annotations

import argparse
import json
import pathlib
import shutil
import sys
import time

from .discover import prepare_notebook
from .page import (FRAMES_MARK, export, exporter, fill_page, index_markdown, markdown_notebook, nav_html,
                   rewrite_notebook_links)
from .render import PageJob, start_rendering

ROOT = pathlib.Path(__file__).resolve().parents[2]
NB_DIR = ROOT / "notebooks"
REPORT_NAME = ".site-build.json"  # also marks a folder this tool may clear and rebuild

MAX_FRAMES = 160      # distinct pictures per panel
PANEL_MB = 1.0        # the most a panel's frames may take of its page beyond its smallest grid
PAGE_MB = 7.0         # a whole page; its panels share what the rest of the page leaves (the site: <= 60 MB)
PAGE_BASE_MB = 0.5    # what a page weighs beyond its notebook file (CSS, markup)

def _clear(out: pathlib.Path) -> None:
    if out.exists():
        if any(out.iterdir()) and not (out / REPORT_NAME).exists():
            raise SystemExit(f"{out} exists and was not built by this tool (no {REPORT_NAME}); refusing to clear it")
        shutil.rmtree(out)
    out.mkdir(parents=True)


def _page_job(path: pathlib.Path, panels: list[dict], max_frames: int, png_level: int, panel_mb: float,
              page_mb: float, frame_format: str = "webp") -> PageJob:
    """The render job of one page: its panels, and what its frames may weigh (the page's budget less its notebook)."""
    return PageJob(page=path.stem, path=str(path.resolve()), panels=panels,
                   kernel=any(p["in_kernel"] for p in panels), last_cell=max(p["cell"] for p in panels),
                   max_frames=max_frames, png_level=png_level, panel_bytes=panel_mb * 1e6, frame_format=frame_format,
                   page_bytes=max(0.0, page_mb - PAGE_BASE_MB - page_text_bytes(path) / 1e6) * 1e6)


def page_text_bytes(path: pathlib.Path) -> int:
    """What a notebook brings to its page: its file less the saved pictures of its panels (the static panels replace them)."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    saved = sum(len(out.get("data", {}).get("image/png", "")) for cell in nb.get("cells", [])
                for out in cell.get("outputs", []) if "application/vnd.jupyter.widget-view+json" in out.get("data", {}))
    return path.stat().st_size - saved


def _export_pages(books: list, pages: list[tuple[str, str]], readme: pathlib.Path,
                  glossary: pathlib.Path) -> tuple[list[str], dict[str, str]]:
    """The exported chapter pages (with slots for their panels), and the index and glossary pages."""
    exp, has_glossary = exporter(), glossary.is_file()
    bodies = [export(exp, nb, path.stem, nav_html(pages, i, has_glossary)) for i, (path, nb, _) in enumerate(books)]
    text = readme.read_text(encoding="utf-8") if readme.is_file() else ""
    index = markdown_notebook("深度学习笔记 · 交互课程", index_markdown(text, pages, has_glossary))
    extra = {"index": export(exp, index, "index", nav_html(pages, None, has_glossary))}
    if has_glossary:
        notebook = markdown_notebook("术语表 · Glossary", [glossary.read_text(encoding="utf-8")])
        extra["glossary"] = export(exp, notebook, "glossary", nav_html(pages, None, True))
    return bodies, extra


def _collect(pending, entries: dict, log) -> tuple[dict, dict]:
    """Every panel's render result by key, and each page's render time, logged as they come."""
    results, page_seconds = {}, {}
    for done in pending:
        page_seconds[done["page"]] = round(done["seconds"], 1)
        log(f"  {done['page']}: {len(done['results'])} panel(s) in {done['seconds']:.1f} s")
        for result in done["results"]:
            results[result["key"]] = result
            log(f"    {entries[result['key']]['call']}: {len(result['pngs'])} frames "
                f"({result['rendered']} rendered, cap {result['cap']}) in {result['seconds']:.1f} s "
                f"(drawing {result['render_s']:.1f} s, PNG {result['encode_s']:.1f} s)")
    return results, page_seconds


def _write(out: pathlib.Path, name: str, body: str) -> int:
    (out / f"{name}.html").write_text(body, encoding="utf-8")
    return len(body.encode("utf-8"))


def _notebooks(folder: pathlib.Path, only: list[str] | None) -> list[pathlib.Path]:
    """The chapter notebooks of ``folder`` (those whose names start with one of ``only``, if given)."""
    paths = sorted(pathlib.Path(folder).glob("[0-9][0-9]_*.ipynb"))
    if only:
        paths = [p for p in paths if any(p.stem.startswith(o) for o in only)]
    if not paths:
        raise SystemExit(f"no notebook in {folder} matches {only}")
    return paths


def _prepare(paths: list[pathlib.Path], job_options: dict, log) -> tuple[list, list[PageJob], dict]:
    """The notebooks with a slot for each panel, one render job per page with panels, and every panel by key."""
    from helpers.panels import all_panels

    names, books, page_jobs, entries = set(all_panels()), [], [], {}
    for path in paths:
        nb, slots, panels = prepare_notebook(path, names, len(entries), log)
        entries.update({p["key"]: {**p, "page": path.stem} for p in panels})
        books.append((path, nb, slots))
        if panels:
            page_jobs.append(_page_job(path, panels, **job_options))
    return books, page_jobs, entries


def _write_pages(out: pathlib.Path, books: list, bodies: list[str], extra: dict[str, str], results: dict,
                 entries: dict, page_seconds: dict) -> list[dict]:
    """Write every page (slots replaced by static panels, each page's frames added once); what each holds."""
    built, written = {path.stem for path, _, _ in books}, []
    for (path, _, slots), body in zip(books, bodies):
        body, panels, n_frames = fill_page(body, slots, results, entries, built)
        written.append({"page": f"{path.stem}.html", "bytes": _write(out, path.stem, body),
                        "frames": n_frames, "panels": panels, "render_s": page_seconds.get(path.stem, 0.0)})
    for name, body in extra.items():
        body = rewrite_notebook_links(body.replace(FRAMES_MARK, "", 1), built)
        written.append({"page": f"{name}.html", "bytes": _write(out, name, body), "frames": 0, "panels": []})
    (out / ".nojekyll").write_text("", encoding="utf-8")
    return written


def build(out: pathlib.Path | str = ROOT / "site", *, only: list[str] | None = None, max_frames: int = MAX_FRAMES,
          panel_mb: float = PANEL_MB, page_mb: float = PAGE_MB, jobs: int = 2, png_level: int = 9,
          frame_format: str = "webp",
          notebooks: pathlib.Path = NB_DIR, readme: pathlib.Path = ROOT / "README.md",
          glossary: pathlib.Path = ROOT / "GLOSSARY.md", log=print) -> dict:
    """Build the site into ``out`` and return what was built (also written to ``out/.site-build.json``)."""
    if max_frames < 1:
        raise ValueError(f"max_frames must be >= 1, got {max_frames}")
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    start = time.perf_counter()
    out, readme, glossary = pathlib.Path(out), pathlib.Path(readme), pathlib.Path(glossary)
    paths = _notebooks(notebooks, only)
    _clear(out)
    books, page_jobs, entries = _prepare(paths, {"max_frames": max_frames, "png_level": png_level,
                                                 "panel_mb": panel_mb, "page_mb": page_mb,
                                                 "frame_format": frame_format}, log)
    pages = [(path.stem, nb.metadata["title"]) for path, nb, _ in books]
    log(f"{len(books)} notebook(s), {len(entries)} panel(s) to pre-render with {jobs} process(es); "
        f"in a kernel: {', '.join(j.page for j in page_jobs if j.kernel) or 'none'}")
    # render the panels (in worker processes; kernels first, they take longest) while this process exports the pages
    pool, pending = start_rendering(sorted(page_jobs, key=lambda j: (not j.kernel, -len(j.panels))), jobs)
    try:
        bodies, extra = _export_pages(books, pages, readme, glossary)
        results, page_seconds = _collect(pending, entries, log)
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    report = {"pages": _write_pages(out, books, bodies, extra, results, entries, page_seconds),
              "max_frames": max_frames, "panel_mb": panel_mb, "page_mb": page_mb,
              "seconds": round(time.perf_counter() - start, 1)}
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
    """``python -m tools.site [--only NN ...] [--out DIR] ...``: build the site and print its summary."""
    parser = argparse.ArgumentParser(prog="python -m tools.site", description=sys.modules[__package__].__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", metavar="NN", help="only the notebooks whose names start with these")
    parser.add_argument("--out", default=str(ROOT / "site"), help="output folder (default: site/)")
    parser.add_argument("--max-frames", type=int, default=MAX_FRAMES,
                        help=f"distinct pictures per panel (default {MAX_FRAMES}); every dropdown option and "
                             "two positions per slider are always kept")
    parser.add_argument("--panel-mb", type=float, default=PANEL_MB, help=f"MB of frames per panel (default {PANEL_MB})")
    parser.add_argument("--page-mb", type=float, default=PAGE_MB, help=f"MB per page, shared by its panels (default {PAGE_MB})")
    parser.add_argument("--jobs", type=int, default=2, help="render processes (default 2)")
    parser.add_argument("--png-level", type=int, default=9, choices=range(1, 10), metavar="1-9",
                        help="zlib level of PNG frames (default 9: smallest)")
    parser.add_argument("--frame-format", default="webp", choices=("webp", "png"),
                        help="frames as lossless WebP (default: the same pixels, about a quarter smaller) or palette PNG")
    args = parser.parse_args(argv)
    report = build(args.out, only=args.only, max_frames=args.max_frames, panel_mb=args.panel_mb,
                   page_mb=args.page_mb, jobs=args.jobs, png_level=args.png_level, frame_format=args.frame_format)
    print(summary(report))
    print(f"open {pathlib.Path(args.out) / 'index.html'}")
    return 0
