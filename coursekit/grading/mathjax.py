"""MathJax 3 from the environment (the ``django-static-mathjax`` wheel, MathJax's own ``es5`` build),
never from a CDN: formulas render offline in the feedback HTML and in Formgrader.

* Feedback HTML is opened from a file or from the LMS, so it carries MathJax inline: the
  configuration (``formgrader_templates/static/mathjax-config.js``) and ``tex-svg-full.js`` (SVG
  output: no font files to load; every TeX package built in: nothing is fetched) as one script,
  allowed by the page's Content-Security-Policy by its SHA-256 hash (still no other inline script
  runs). Only pages that hold a formula get it (about 2.2 MB).
* Formgrader serves the same files from its guarded static route ``/formgrader/coursekit/``
  (:mod:`.formgrader_guard`), the configuration as a static file (its CSP allows no inline script).

The configuration leaves out the TeX packages that can make links, styles, classes or ids, or load
more code (``\\href``, ``\\style``, ``\\require`` ...): what a student wrote between ``$...$`` is
typeset as mathematics, nothing else.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import re
from pathlib import Path

from markupsafe import Markup

STATIC = Path(__file__).parent / "formgrader_templates" / "static"
CONFIG = STATIC / "mathjax-config.js"
BUNDLE = "tex-svg-full.js"
# Where a formula may be: TeX delimiters MathJax looks for (see mathjax-config.js).
_MATH = re.compile(r"\$|\\\(|\\\[|\\begin\{")


def es5_dir() -> Path | None:
    """MathJax's es5 folder in this environment, or None when the package is missing."""
    try:
        import mathjax      # django-static-mathjax: the package holds MathJax's own build as static files
    except ImportError:
        return None
    folder = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    return folder if (folder / BUNDLE).is_file() else None


@functools.lru_cache(maxsize=1)
def inline_script() -> str:
    """The feedback page's MathJax: configuration and bundle as one script's text ('' without MathJax)."""
    folder = es5_dir()
    if folder is None:
        return ""
    code = (folder / BUNDLE).read_text("utf-8")
    # HTML ends a script at '</script' and changes state at '<!--' and '<script': none may be in the text.
    code = code.replace("<!--", "\\x3C!--")
    if re.search(r"</?script", code, re.I):
        raise RuntimeError(f"{BUNDLE} contains a script tag: it cannot be inlined")
    return CONFIG.read_text("utf-8").strip() + "\n" + code.replace("\r\n", "\n")


def script_hash() -> str | None:
    """The CSP source for :func:`inline_script` ('sha256-...'), or None without MathJax."""
    text = inline_script()
    if not text:
        return None
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def has_math(nb) -> bool:
    """Whether a notebook node may show a formula: its Markdown cells, Markdown outputs and the
    instructor's comments (what MathJax typesets; code and its outputs it leaves alone)."""
    for cell in nb.get("cells", []):
        texts = []
        if cell.get("cell_type") == "markdown":
            texts.append(cell.get("source", ""))
        nbg = (cell.get("metadata") or {}).get("nbgrader") or {}
        if isinstance(nbg, dict) and isinstance(nbg.get("comment"), str):
            texts.append(nbg["comment"])
        for out in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            data = out.get("data") or {}
            texts += [data.get(m, "") for m in ("text/markdown", "text/html")]
        for text in texts:
            if isinstance(text, list):
                text = "".join(t for t in text if isinstance(t, str))
            if isinstance(text, str) and _MATH.search(text):
                return True
    return False


# -- nbconvert filters for the feedback template (formgrader_templates/nbconvert/coursekit_feedback) --
FEEDBACK_CSP = ("default-src 'none'; script-src {script}; style-src 'unsafe-inline'; font-src data:; "
                "img-src data: https: http:; base-uri 'none'; form-action 'none'; frame-src 'none'; "
                "object-src 'none'")


def feedback_csp(_=None) -> Markup:
    """The feedback page's policy: no script but the inline MathJax (by hash)."""
    policy = FEEDBACK_CSP.format(script=script_hash() or "'none'")    # the kit's own text: no '"' or '<'
    return Markup(f'<meta http-equiv="Content-Security-Policy" content="{policy}">')


def feedback_script(nb) -> Markup:
    """The inline MathJax, where the notebook may show a formula; else nothing."""
    text = inline_script()
    if not text or not has_math(nb):
        return Markup("")
    return Markup("<script>") + Markup(text) + Markup("</script>")


FILTERS = {"coursekit_mathjax_csp": feedback_csp, "coursekit_mathjax": feedback_script}
