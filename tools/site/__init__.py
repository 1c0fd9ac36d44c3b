"""Build the static web edition of the course: one HTML page per notebook, every panel still working.

    python -m tools.site                                  # every notebook -> site/
    python -m tools.site --only 04 --max-frames 8 --out /tmp/site
    python -m tools.site --mathjax-dir node_modules/mathjax      # formulas without a CDN (MathJax 2.7)

Pages come from the executed notebooks through nbconvert's HTML exporter (its lab template, with
the site's navigation, CSS and a few lines of JavaScript added by ``tools/site_template/``).
A panel in a page becomes a *static panel*: the same controls as HTML inputs, and pictures
rendered in advance by the panel's own ``render(**values)`` over a grid of control values:
every option of a dropdown or checkbox, a few positions per slider (always its default; its two
ends while the frame cap allows). A panel with too many controls for a full grid (the optimizer
race, the nine weights of a custom kernel) has some *solo* controls, rendered one at a time while
the other solo controls stay at their defaults. A control change then only swaps the picture.
A slider with a Play button in the notebook (``play_slider``) keeps at least five positions and gets a ▶
button that steps through them; solo sliders grow to five positions before any slider grows further.
The frames are embedded in the page as lossless WebP data URIs (the very pixels of ``Panel.render``, about a
quarter smaller than its palette PNG; ``--frame-format png`` keeps PNG), so a page is one file that works
offline once loaded. Each picture's alt text names the panel (its docstring's first words) and the value of
every enabled control, and follows the controls. On a phone the picture is pinned above the controls at the
full screen width, and tables wider than the screen say that they scroll.

Each page is one render job (two worker processes by default). Its panels share the page's budget:
each gets its smallest grid, and the rest is shared out by need. A panel called with literal
arguments (``loss_panel(loss="Huber")``) is rebuilt from its call; when an argument is a variable (a
model trained in the chapter), the notebook runs in a kernel up to its last panel and the panels
are rendered there, on the very objects the notebook shows (recorded through ``Panel.display_listeners``).
Formulas are typeset by MathJax 2.7, loaded from nbconvert's default CDN (cdnjs), or from the site
itself with ``--mathjax-dir`` (a copy of the npm package ``mathjax@2``, about 5 MB), or from ``--mathjax-url``.

Also written: ``index.html`` (the chapter tables of README.md), ``glossary.html`` (GLOSSARY.md, when
it exists) and ``.site-build.json`` (what was built: frames per panel, sizes, times).

One module per job:

- :mod:`.discover`: which panel each widget output of a notebook shows (read from the cell's source);
- :mod:`.grid`: the pre-rendered control values of a panel, the order of its frames, a page's byte budget;
- :mod:`.render`: rendering the frames, in worker processes or in the notebook's kernel;
- :mod:`.page`: the HTML of a static panel, the navigation, the index page;
- :mod:`.build`: the whole build and the command line.

The heavy libraries (torch, matplotlib, nbconvert) are imported inside functions, so that a spawned
render worker sets its thread count before torch is loaded.
"""
