"""Build the static web edition of the course: one HTML page per notebook, every panel still working.

    python -m tools.site                                  # every notebook -> site/
    python -m tools.site --only 04 --max-frames 8 --out /tmp/site

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
A panel's named states (``states=``, the notebook's "试试：" buttons) are one-click presets above its controls;
each state's frame is its exact render, counted in the panel's frame cap. Their values are slider positions;
when they do not fit in the grid, they show only in their state, and the next change moves them to a rendered value.

Each page is one render job (two worker processes by default). Its panels share the page's budget:
each gets its smallest grid, and the rest is shared out by need. A panel called with literal
arguments (``loss_panel(loss="Huber")``) is rebuilt from its call; when an argument is a variable (a
model trained in the chapter), the notebook runs in a kernel up to its last panel and the panels
are rendered there, on the very objects the notebook shows (recorded through ``Panel.display_listeners``).
Nothing on a page comes from outside the site: formulas are typeset when the page is built, as MathML that
the browser lays out (:mod:`.tex`; drawn in STIX Two Math, cut down to the page's formulas and embedded in it),
the Colab badge becomes a text link, and the Colab setup cell is left out.

Also written: ``index.html`` (the chapter tables of README.md), ``glossary.html`` (GLOSSARY.md, when
it exists) and ``.site-build.json`` (what was built: frames per panel, sizes, times).

One module per job:

- :mod:`.discover`: which panel each widget output of a notebook shows (read from the cell's source);
- :mod:`.grid`: the pre-rendered control values of a panel, the order of its frames, a page's byte budget;
- :mod:`.render`: rendering the frames, in worker processes or in the notebook's kernel;
- :mod:`.page`: the HTML of a static panel, the navigation, the index page, the export of a notebook;
- :mod:`.tex`: formulas as MathML, and the math font a page embeds;
- :mod:`.build`: the whole build and the command line.

The heavy libraries (torch, matplotlib, nbconvert) are imported inside functions, so that a spawned
render worker sets its thread count before torch is loaded.
"""
