r"""Formulas typeset at build time: the TeX of Markdown cells becomes MathML (no script, no network on the page).

The pages are exported by nbconvert, whose Markdown parser already finds the math (``$…$``, ``$$…$$``,
``\\(…\\)``, ``\\[…\\]``) and keeps Markdown away from it; the renderer of :func:`mathml_renderer` receives
each formula there and writes MathML instead of leaving the TeX for MathJax. The conversion is ``latex2mathml``
(pure Python), followed by a few fixes so that the result is MathML Core (what Chromium, Firefox and Safari render)
and looks as TeX would:

- in the TeX: ``\mathcal L`` without braces, ``\big\lVert`` and ``\xrightarrow{…}``, which the converter would
  leave as text or place with attributes MathML Core reads differently, and ``\mathrm{d}`` (one upright letter);
- in the MathML: named functions (``max``, ``\operatorname{sign}``) are identifiers set off by thin spaces,
  ``\mathrm{ReLU}`` is one word, relations and fences the converter marks as identifiers (``\sim``, ``\pm``,
  ``\lfloor``) are operators, a sign after ``=`` is unary, ``\hat``/``\bar``/``\tilde`` are accents, ``\lVert``
  and ``|`` keep their size and hug their contents, ``/`` has no space around it, ``\ell_\delta''`` has one
  superscript, named spaces are lengths, ``\_`` in ``\text`` is ``_``; in display math ``\max_i`` puts ``i``
  below.

A formula whose MathML still holds a backslash (a command the converter does not know) or a font variant that
MathML Core cannot show raises :class:`ValueError`: better a failed build than raw TeX on a page.

The formulas are drawn in STIX Two Math (SIL Open Font License), which the package ``ziamath`` ships: each page
embeds it cut down to the characters its formulas use (40–60 KB as base64 WOFF), so that sums, radicals and
fences are drawn with a real math font on every device, whether or not the reader has one (:func:`with_math_font`).
"""
from __future__ import annotations

import functools
import re
import xml.etree.ElementTree as ET

MATHML_NS = "http://www.w3.org/1998/Math/MathML"
_Q = f"{{{MATHML_NS}}}"

# identifiers the converter leaves as single glyphs but TeX spaces as binary operators, relations or fences
_AS_OPERATOR = {"~": "\u223c", "±": "±", "∓": "∓", ":": ":", "⟺": "⟺", "⟶": "⟶", "⟵": "⟵", "⟹": "⟹",
                "⌈": "⌈", "⌉": "⌉", "⌊": "⌊", "⌋": "⌋"}
# symbols the converter makes operators but TeX treats as ordinary symbols (no space around them)
_AS_IDENTIFIER = {"∂", "∇", "∞", "⊤", "∅"}
_FENCES = {"(", ")", "[", "]", "{", "}", "|", "‖", "⌊", "⌋", "⌈", "⌉", "⟨", "⟩"}
_ACCENTS = {"^", "ˆ", "~", "˜", "¯", "‾", "→", "˙", "¨", "ˇ", "˘", "´", "`", "\u20d7"}
_NAMED_SPACES = {"veryverythinmathspace": "0.056em", "verythinmathspace": "0.111em", "thinmathspace": "0.167em",
                 "mediummathspace": "0.222em", "thickmathspace": "0.278em", "verythickmathspace": "0.333em",
                 "veryverythickmathspace": "0.389em"}
_LIMITS_BELOW = {"max", "min", "lim", "sup", "inf", "argmax", "argmin"}  # in display math: \max_i puts i below
_FUNCTIONS = {"log", "ln", "lg", "exp", "sin", "cos", "tan", "sinh", "cosh", "tanh", "arcsin", "arccos", "arctan",
              "det", "dim", "arg", "deg", "gcd", "Pr", "ker"} | _LIMITS_BELOW  # TeX puts a thin space after these
_FUNCTION_MARK = "data-function"  # set on a function's name while fixing, removed before the MathML is written
_FONT_COMMANDS = r"mathcal|mathbb|mathbf|mathrm|mathit|mathsf|mathtt|mathfrak|mathscr"


def _fix_tex(tex: str) -> str:
    r"""What the converter needs spelled out: ``\mathcal L`` -> ``\mathcal{L}``, ``\big\lVert`` -> ``\big‖``,
    ``\mathrm{d}`` -> ``\text{d}`` (it would lose the upright shape of a single letter)."""
    tex = re.sub(rf"\\({_FONT_COMMANDS})\s*([A-Za-z0-9])", r"\\\1{\2}", tex)
    tex = re.sub(r"\\mathrm\{\s*([A-Za-z])\s*\}", r"\\text{\1}", tex)  # one upright letter (the d of dx)
    tex = re.sub(r"\\(big|Big|bigg|Bigg)([lrm]?)\s*\\(?:lVert|rVert|Vert|\|)", "\\\\\\1\\2‖", tex)
    tex = re.sub(r"\\(big|Big|bigg|Bigg)([lrm]?)\s*\\(?:lvert|rvert|vert)", r"\\\1\2|", tex)
    return _arrows_with_text(tex)


def _arrows_with_text(tex: str) -> str:
    r"""``\xrightarrow{text}`` -> ``\overset{text}{\longrightarrow}``: the text centred over an arrow (the converter's
    own version shifts the text with ``mpadded`` attributes that MathML Core reads differently)."""
    pattern = re.compile(r"\\x(right|left)arrow\s*\{")
    while match := pattern.search(tex):
        depth, end = 1, match.end()
        while depth and end < len(tex):
            depth += {"{": 1, "}": -1}.get(tex[end], 0) if tex[end - 1] != "\\" else 0
            end += 1
        if depth:
            raise ValueError(f"cannot typeset {tex!r}: unbalanced braces after \\x{match.group(1)}arrow")
        label = tex[match.end():end - 1]
        arrow = "longrightarrow" if match.group(1) == "right" else "leftarrow"  # the font cannot stretch →, only ←
        tex = f"{tex[:match.start()]}\\overset{{{label}}}{{\\{arrow}}}{tex[end:]}"
    return tex


def _merge_upright_letters(parent: ET.Element) -> None:
    r"""``\mathrm{ReLU}`` comes as four upright one-letter identifiers: make it one identifier (upright by default)."""
    children, i = list(parent), 0
    while i < len(children):
        run = i
        while (run < len(children) and children[run].tag == _Q + "mi" and children[run].get("mathvariant") == "normal"
               and re.fullmatch(r"[A-Za-z]", children[run].text or "") and not len(children[run])):
            run += 1
        if run - i >= 2:
            first = children[i]
            first.text = "".join(c.text for c in children[i:run])
            del first.attrib["mathvariant"]
            for extra in children[i + 1:run]:
                parent.remove(extra)
            children = list(parent)
        i += 1


def _fix_element(el: ET.Element, display: bool) -> None:
    """Turn what the converter writes into MathML Core that renders as TeX would (see the module's docstring)."""
    tag, text = el.tag.removeprefix(_Q), el.text or ""
    if tag == "mo" and re.fullmatch(r"[A-Za-z]{2,}", text):
        el.tag, el.attrib = _Q + "mi", {_FUNCTION_MARK: "1"}  # max, min, lim, \operatorname{sign}: a function's name
    elif tag == "mi" and text in _FUNCTIONS:
        el.set(_FUNCTION_MARK, "1")
    elif tag == "mo" and text in _AS_IDENTIFIER:
        el.tag, el.attrib = _Q + "mi", ({"mathvariant": "normal"} if text == "∂" else {})
    elif tag == "mi" and text in _AS_OPERATOR:
        el.tag, el.text = _Q + "mo", _AS_OPERATOR[text]
    elif tag in ("mtext", "mi"):
        el.text = re.sub(r"\\([_%#&$])", r"\1", text)
    elif tag == "mover" and len(el) == 2 and el[1].tag == _Q + "mo" and (el[1].text or "") in _ACCENTS:
        el.set("accent", "true")
        if el[1].text == "^" and "stretchy" not in el[1].attrib:  # \hat: the modifier letter, as wide as one letter
            el[1].text = "\u02c6"
            el[1].set("stretchy", "false")
    elif tag in ("mover", "munder") and len(el) == 2 and el[0].tag == _Q + "mrow" and len(el[0]) == 1:
        el[0] = el[0][0]  # \overset{text}{\rightarrow}: the arrow itself is the base, so that it stretches
    elif tag == "mo" and text == "/" and "stretchy" not in el.attrib:
        el.set("lspace", "0")  # a/b: an ordinary symbol in TeX, no space around it
        el.set("rspace", "0")
    elif tag == "mo" and text in _FENCES and not {"stretchy", "minsize", "maxsize"} & set(el.attrib):
        el.set("stretchy", "false")  # \lVert, |: as tall as the text; only \left, \right and \big resize
    if tag == "mo" and text in ("|", "‖") and el.get("fence") != "true":
        el.set("lspace", "0")  # |e| and \lVert w \rVert: the bars hug what they enclose (TeX spaces them as ordinary
        el.set("rspace", "0")  # symbols; MathML would space a bar in the middle of a row as a relation)
    elif tag == "mspace" and el.get("width") in _NAMED_SPACES:
        el.set("width", _NAMED_SPACES[el.get("width")])
    elif tag == "mspace" and el.get("width") == "negativethinmathspace":
        el.set("width", "-0.167em")
    if display and tag == "msub" and el[0].tag in (_Q + "mo", _Q + "mi") and (el[0].text or "") in _LIMITS_BELOW:
        el.tag = _Q + "munder"
    for child in el:
        _fix_element(child, display)
    _merge_upright_letters(el)
    _merge_primes(el)
    _space_after_functions(el)
    _unary_signs(el)


_PRIMES = {"′": 1, "″": 2, "‴": 3}


def _merge_primes(parent: ET.Element) -> None:
    r"""``\ell_\delta''`` comes as a prime on a subscripted letter that already has one: one superscript ``″``."""
    for k, child in enumerate(list(parent)):
        if (child.tag == _Q + "msup" and len(child) == 2 and child[0].tag in (_Q + "msup", _Q + "msubsup")
                and (child[1].text or "") in _PRIMES and (child[0][-1].text or "") in _PRIMES):
            base = child[0]
            count = _PRIMES[base[-1].text] + _PRIMES[child[1].text]
            if count <= 3:
                base[-1].text = {1: "′", 2: "″", 3: "‴"}[count]
                parent[k] = base


def _unary_signs(parent: ET.Element) -> None:
    r"""A sign that starts a row or follows an operator (``= -\frac{1}{N}``) is unary: no space after it, as in TeX."""
    if parent.tag not in (_Q + "mrow", _Q + "math", _Q + "msqrt", _Q + "mtd", _Q + "mstyle", _Q + "mpadded"):
        return
    children = list(parent)
    for k, child in enumerate(children):
        if child.tag != _Q + "mo" or child.text not in ("−", "+", "±", "∓") or "form" in child.attrib:
            continue
        before = next((c for c in reversed(children[:k]) if not _is_space(c)), None)  # ",\ +\sqrt{…}": unary too
        if before is None or (before.tag == _Q + "mo" and before.text not in (")", "]", "|", "‖", "}", "⌋", "⌉")
                              and before.get("form") != "postfix"):
            child.set("form", "prefix")


def _is_function(el: ET.Element) -> bool:
    """A function's name (``\\log``), also with limits or scripts (``\\max_i``, ``\\log^2``)."""
    if el.tag in (_Q + "msub", _Q + "msup", _Q + "msubsup", _Q + "munder", _Q + "munderover") and len(el):
        el = el[0]
    return el.get(_FUNCTION_MARK) == "1"


def _space_after_functions(parent: ET.Element) -> None:
    r"""``\log p`` has a thin space between ``log`` and ``p`` (none before an operator or a bracket: ``\max(a, b)``)."""
    if parent.tag in (_Q + "msub", _Q + "msup", _Q + "msubsup", _Q + "munder", _Q + "munderover", _Q + "mfrac",
                      _Q + "mover", _Q + "msqrt", _Q + "mroot"):
        return  # fixed-arity elements: their children are arguments, not a row
    children = list(parent)
    for k in range(len(children) - 1, -1, -1):
        nxt = children[k + 1] if k + 1 < len(children) else None
        before = children[k - 1] if k else None
        if not _is_function(children[k]):
            continue
        if nxt is not None and nxt.tag not in (_Q + "mo", _Q + "mspace"):
            parent.insert(k + 1, ET.Element(_Q + "mspace", {"width": "0.167em"}))
        if before is not None and before.tag not in (_Q + "mo", _Q + "mspace") and not _is_space(before):
            parent.insert(k, ET.Element(_Q + "mspace", {"width": "0.167em"}))  # p_i \log p_i: after a symbol too


def _is_space(el: ET.Element) -> bool:
    r"""An ``mspace``, or the ``mtext`` of a TeX space (``\ ``, ``~``)."""
    return el.tag == _Q + "mspace" or (el.tag == _Q + "mtext" and not (el.text or "").strip())


def _check(root: ET.Element, tex: str) -> None:
    """Raise if the MathML shows raw TeX, or a font variant that MathML Core ignores."""
    for el in root.iter():
        if "\\" in (el.text or "") or "\\" in (el.tail or ""):
            raise ValueError(f"cannot typeset {tex!r}: the MathML still holds TeX ({el.text!r})")
        variant = el.get("mathvariant")
        tag = el.tag.removeprefix(_Q)
        if variant not in (None, "normal") and not (tag == "mtext" and variant == "monospace"):
            raise ValueError(f"cannot typeset {tex!r}: MathML Core has no mathvariant={variant!r} "
                             "(write the letter in braces: \\mathcal{L}, \\mathbf{W})")


def tex_to_mathml(tex: str, display: bool = False) -> str:
    """One formula as a ``<math>`` element (``display="block"`` for display math); ValueError if it cannot be."""
    from latex2mathml.converter import convert

    try:
        converted = convert(_fix_tex(tex.strip()), display="block" if display else "inline")
        root = ET.fromstring(converted)
    except Exception as exc:  # the converter raises its own exception types, or writes malformed XML
        raise ValueError(f"cannot typeset {tex!r}: {exc}") from exc
    _fix_element(root, display)
    for el in root.iter():
        el.attrib.pop(_FUNCTION_MARK, None)
    _check(root, tex)
    for el in root.iter():  # an HTML page needs no namespace: the parser knows <math>
        el.tag = el.tag.removeprefix(_Q)
    return ET.tostring(root, encoding="unicode", short_empty_elements=True)


def math_html(tex: str, display: bool = False) -> str:
    """A formula as it goes into a page: display math in a block of its own that scrolls sideways on a phone."""
    mathml = tex_to_mathml(tex, display)
    return f'<span class="math-display">{mathml}</span>' if display else mathml


_PUNCTUATION_AFTER = "，。、；：！？）》」』】,.;:!?)"


def keep_punctuation_with_math(html_text: str) -> str:
    """A line never starts with the comma after an inline formula: the formula and its punctuation are kept together
    (also where nbconvert wrote the punctuation as a character reference, as in a heading: ``&#65292;``)."""
    one = "|".join([re.escape(c) for c in _PUNCTUATION_AFTER] + [f"&#{ord(c)};" for c in _PUNCTUATION_AFTER])
    return re.sub(rf'(<math\b[^>]*display="inline"[^>]*>(?:(?!</math>).)*</math>)((?:{one})+)',
                  r'<span class="math-nobr">\1\2</span>', html_text, flags=re.S)


def markdown_formulas(markdown: str) -> list[tuple[str, bool]]:
    """Every formula of a Markdown text, found by the parser the pages use: ``(tex, display)`` pairs."""
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

    found = []

    class Collector(IPythonRenderer):
        def block_math(self, body: str) -> str:
            found.append((body, True))
            return ""

        def inline_math(self, body: str) -> str:
            found.append((body, False))
            return ""

        def latex_environment(self, name: str, body: str) -> str:
            found.append((f"\\begin{{{name}}}{body}\\end{{{name}}}", True))
            return ""

    MarkdownWithMath(renderer=Collector(escape=False)).render(markdown)
    return found


@functools.lru_cache(maxsize=None)
def mathml_renderer():
    """nbconvert's Markdown renderer for HTML, with the formulas written as MathML (the class, made on first use)."""
    from nbconvert.filters.markdown_mistune import IPythonRenderer

    class MathMLRenderer(IPythonRenderer):
        """IPythonRenderer whose math is MathML rather than TeX left for MathJax."""

        def block_math(self, body: str) -> str:
            return math_html(body, display=True)

        def inline_math(self, body: str) -> str:
            return math_html(body, display=False)

        def latex_environment(self, name: str, body: str) -> str:
            return math_html(f"\\begin{{{name}}}{body}\\end{{{name}}}", display=True)

    return MathMLRenderer


# ----------------------------------------------------------------------------- the math font, in the page
MATH_FONT_FAMILY = "Course Math"  # the name site.css gives the embedded font


def math_font_file():
    """STIX Two Math (SIL Open Font License), as shipped in the PyPI package ``ziamath``: a font with a MATH table."""
    import importlib.util
    import pathlib

    spec = importlib.util.find_spec("ziamath")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("the site's math font comes from the package ziamath: pip install -e '.[dev]'")
    return pathlib.Path(next(iter(spec.submodule_search_locations))) / "fonts" / "STIXTwoMath-Regular.ttf"


def _math_italic(char: str) -> str | None:
    """The mathematical italic letter a browser shows for a one-letter identifier (x -> U+1D465), if any."""
    code = ord(char)
    if "A" <= char <= "Z":
        return chr(0x1D434 + code - ord("A"))
    if "a" <= char <= "z":
        return "\u210e" if char == "h" else chr(0x1D44E + code - ord("a"))
    if "\u0391" <= char <= "\u03a9" and code != 0x03A2:
        return chr(0x1D6E2 + code - 0x0391)
    if "\u03b1" <= char <= "\u03c9":
        return chr(0x1D6FC + code - 0x03B1)
    return {"\u03d5": "\U0001D719", "\u03f5": "\U0001D716", "\u03d1": "\U0001D717", "\u2202": "\U0001D715"}.get(char)


def math_characters(page: str) -> set[str]:
    """Every character the formulas of a page may show (with the italic forms of letters)."""
    import html

    chars = set()
    for formula in re.findall(r"<math\b.*?</math>", page, flags=re.S):
        chars |= set(html.unescape(re.sub(r"<[^>]*>", "", formula)))
    chars |= {italic for c in chars if (italic := _math_italic(c))}
    chars |= {"√"} if "<msqrt" in page or "<mroot" in page else set()  # the radical sign is drawn from the font
    return {c for c in chars if not c.isspace()}


def math_font_css(chars: set[str]) -> str:
    """An ``@font-face`` rule: STIX Two Math cut down to ``chars`` (and the larger forms of its operators), as WOFF."""
    import base64
    import io

    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    options.flavor, options.hinting, options.layout_features = "woff", False, ["*"]
    options.drop_tables += ["DSIG"]
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6, 13, 14]  # with its copyright and its license (SIL Open Font License)
    font = TTFont(math_font_file(), recalcTimestamp=False)  # the same bytes at every build
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(ord(c) for c in chars))
    subsetter.subset(font)
    data = io.BytesIO()
    font.flavor = "woff"
    font.save(data)
    woff = base64.b64encode(data.getvalue()).decode("ascii")
    return (f'@font-face {{ font-family: "{MATH_FONT_FAMILY}"; font-display: block; '
            f'src: url(data:font/woff;base64,{woff}) format("woff"); }}')


def with_math_font(page: str) -> str:
    """The page with its math font embedded in its head (unchanged when it has no formula)."""
    chars = math_characters(page)
    if not chars or "</head>" not in page:
        return page
    return page.replace("</head>", f'<style id="math-font">{math_font_css(chars)}</style>\n</head>', 1)
