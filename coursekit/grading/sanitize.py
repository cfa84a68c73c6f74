"""Nothing a student wrote runs where the instructor looks: notebooks, terminal, CSV.

* :func:`notebook_bytes` rebuilds an executed notebook from what may stay in it before it is saved
  to autograded/ (what Formgrader shows and feedback is made from): outputs keep only plain text,
  PNG/JPEG images (checked base64) and HTML cleaned with an allow-list (:mod:`.safehtml`, nh3);
  Markdown outputs and the Markdown cells the student wrote are rendered with nbconvert's own Markdown
  renderer, cleaned, and stored as one HTML block that every Markdown renderer passes through as it is
  (cells equal to a released cell, the course's own text, are kept as they are); raw cells are stored
  as text; JavaScript, SVG, LaTeX, widgets and every other type are dropped, and so are attachments
  (PNG/JPEG ones are embedded as ``data:`` images); cell and notebook metadata are cut down to what
  nbgrader needs, with checked values; paths of the grading machine are removed from every text.
  Whatever the input, the result is a notebook or a ValueError with a reason.
* :func:`markdown` makes a short text (a comment) Markdown that renders as that literal text.
* :func:`terminal` escapes control characters (ANSI escapes cannot rewrite the instructor's
  terminal); :func:`csv_cell` escapes cells that a spreadsheet would run as a formula.
"""
from __future__ import annotations

import json
import math
import re
import unicodedata

from coursekit.grading import safehtml

SAFE_MIME = ("text/plain", "image/png", "image/jpeg")
CLEANED_MIME = ("text/html", "text/markdown")
NBGRADER_KEYS = {"grade": bool, "solution": bool, "locked": bool, "task": bool, "points": (int, float),
                 "grade_id": str, "schema_version": int, "checksum": str, "cell_type": str}
_B64 = re.compile(r"^[A-Za-z0-9+/=\s]*$")
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_GRADE_ID = re.compile(r"^[A-Za-z0-9_.-]{1,200}$")
_CHECKSUM = re.compile(r"^[0-9a-fA-F]{1,128}$")
# Student Markdown rendered per notebook, in characters, each rendering counted RENDER_COST more (the
# renderer's own start-up): past it, Markdown is shown as text. Rendering takes about 10 µs a
# character, so without it one notebook of the executed size cap (80 MiB of Markdown cells or
# outputs) held the trusted process, and with it every other submission, for minutes.
MAX_RENDERED = 1_000_000
RENDER_COST = 200


class _Budget:
    def __init__(self, left: int = MAX_RENDERED):
        self.left = left

    def markdown(self, source: str, attached: dict | None = None) -> str:
        """:func:`safehtml.markdown`, or the text as text once the notebook's budget is spent."""
        self.left -= len(source) + RENDER_COST
        if self.left < 0:
            return safehtml.plain(source)
        return safehtml.markdown(source, attached)


def markdown(text) -> str:
    """A short text (a comment) as Markdown that renders as exactly that text: no HTML, links or
    code, whatever it holds."""
    return safehtml.literal_markdown(text)


def _scrub(text: str, scrub: list[str]) -> str:
    for s in scrub:
        if s:
            text = text.replace(s, "…")
    return text


def _text(value, scrub: list[str]) -> str:
    """A str or a list of str (nbformat's two ways) as one str; anything else is not text."""
    if isinstance(value, list):
        value = "".join(v for v in value if isinstance(v, str))
    elif not isinstance(value, (str, int, float)) or isinstance(value, bool):
        value = ""
    return _scrub(safehtml.text(value), scrub)


def _size(value) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return int(value) if 0 < value <= 100_000 else None


def _output(out: dict, scrub: list[str], budget: _Budget) -> dict | None:
    kind = out.get("output_type")
    if kind == "stream":
        name = out.get("name") if out.get("name") in ("stdout", "stderr") else "stdout"
        return {"output_type": "stream", "name": name, "text": _text(out.get("text", ""), scrub)}
    if kind == "error":
        tb = out.get("traceback") if isinstance(out.get("traceback"), list) else []
        return {"output_type": "error", "ename": _text(out.get("ename", ""), scrub)[:200],
                "evalue": _text(out.get("evalue", ""), scrub)[:5000], "traceback": [_text(t, scrub) for t in tb[:200]]}
    if kind not in ("display_data", "execute_result"):
        return None
    data_in = out.get("data") if isinstance(out.get("data"), dict) else {}
    data = {}
    for mime, value in data_in.items():
        if mime == "text/plain":
            data[mime] = _text(value, scrub)
        elif mime in ("image/png", "image/jpeg"):
            text = _text(value, [])
            if _B64.match(text):
                data[mime] = text
        elif mime == "text/html":
            data[mime] = safehtml.clean(_text(value, scrub))
        elif mime == "text/markdown":
            data[mime] = budget.markdown(_text(value, scrub))
    if not data:
        return None
    meta = {}
    meta_in = out.get("metadata") if isinstance(out.get("metadata"), dict) else {}
    for mime in ("image/png", "image/jpeg"):
        m = meta_in.get(mime)
        if isinstance(m, dict):
            size = {k: _size(m.get(k)) for k in ("width", "height")}
            size = {k: v for k, v in size.items() if v is not None}
            if size:
                meta[mime] = size
    if kind == "execute_result":
        count = out.get("execution_count")
        return {"output_type": "execute_result", "data": data, "metadata": meta,
                "execution_count": _count(count)}
    return {"output_type": "display_data", "data": data, "metadata": meta}


def _count(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**9 else None


def _nbgrader_meta(meta) -> dict | None:
    """The nbgrader fields of a cell's metadata with values of the right type and form (a grade id
    or checksum that could not have come from nbgrader drops the whole record)."""
    if not isinstance(meta, dict):
        return None
    out = {}
    for key, kind in NBGRADER_KEYS.items():
        if key in meta and isinstance(meta[key], kind) and (kind is bool or not isinstance(meta[key], bool)):
            out[key] = meta[key]
    if ("grade_id" in out and not _GRADE_ID.match(out["grade_id"])
            or "checksum" in out and not _CHECKSUM.match(out["checksum"])
            or "points" in out and not (math.isfinite(out["points"]) and 0 <= out["points"] <= 10**6)
            or out.get("cell_type", "code") not in ("code", "markdown")):
        return None
    return out or None


def _markdown_cell(cell: dict, source: str, released_sources: set[str], budget: _Budget) -> str:
    """What a Markdown cell shows: the released text as it is, anything else rendered and cleaned."""
    if source.strip() in released_sources and "attachment:" not in source:
        return source
    return budget.markdown(source, safehtml.attachments(cell.get("attachments")))


def notebook(nb_in: dict, scrub: list[str], released_sources: set[str] | None = None,
             kernelspec: dict | None = None) -> dict:
    """A new notebook (plain JSON data, nbformat 4.5) holding only the safe parts of ``nb_in``."""
    released_sources = released_sources or set()
    budget = _Budget()
    cells = []
    for i, cell in enumerate(nb_in.get("cells", [])):
        if not isinstance(cell, dict):
            continue
        kind = cell.get("cell_type")
        source = _text(cell.get("source", ""), [])
        if kind == "code":
            outs = cell.get("outputs") if isinstance(cell.get("outputs"), list) else []
            new = {"cell_type": "code", "source": _scrub(source, scrub), "metadata": {},
                   "execution_count": _count(cell.get("execution_count")),
                   "outputs": [o for o in (_output(o, scrub, budget) for o in outs[:1000] if isinstance(o, dict)) if o]}
        elif kind == "markdown":
            shown = _markdown_cell(cell, source, released_sources, budget)
            new = {"cell_type": "markdown", "source": shown, "metadata": {}}
        elif kind == "raw":   # nbconvert would copy a raw cell's text into the page as it is
            new = {"cell_type": "markdown", "source": safehtml.plain(source), "metadata": {}}
        else:
            continue
        metadata = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
        meta = _nbgrader_meta(metadata.get("nbgrader"))
        if meta:
            new["metadata"]["nbgrader"] = meta
        cell_id = cell.get("id")
        new["id"] = cell_id if isinstance(cell_id, str) and _ID.match(cell_id) else f"cell-{i}"
        cells.append(new)
    ids = [c["id"] for c in cells]
    if len(set(ids)) != len(ids):
        for i, c in enumerate(cells):
            c["id"] = f"cell-{i}"
    return {"cells": cells, "nbformat": 4, "nbformat_minor": 5,
            "metadata": {"kernelspec": kernelspec or {"name": "python3", "display_name": "Python 3",
                                                      "language": "python"},
                         "language_info": {"name": "python"}}}


def notebook_bytes(raw: bytes, scrub: list[str], released_sources: set[str] | None = None,
                   kernelspec: dict | None = None) -> bytes:
    """:func:`notebook` from and to JSON bytes; ValueError (with a one-line reason) when it is not a
    notebook, whatever the bytes hold."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except RecursionError:
        raise ValueError("not a notebook (nested too deeply)") from None
    except ValueError as exc:   # JSONDecodeError, UnicodeDecodeError, integers too long to read
        raise ValueError(f"not a notebook ({str(exc)[:200]})") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise ValueError("not a notebook (no cells)")
    try:
        nb = notebook(data, scrub, released_sources, kernelspec)
        text = json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    except RecursionError:
        raise ValueError("not a notebook (nested too deeply)") from None
    return text.encode("utf-8", "replace")


# ------------------------------------------------------------------------------------------
# terminal and CSV
# ------------------------------------------------------------------------------------------
def terminal(text) -> str:
    """Text safe to print: control characters (ANSI escapes, carriage returns, bidi overrides)
    shown as escapes."""
    out = []
    for ch in str(text):
        cat = unicodedata.category(ch)
        if ch in ("\n", "\t"):
            out.append(ch)
        elif cat in ("Cc", "Cf", "Zl", "Zp"):
            out.append(ch.encode("unicode_escape").decode("ascii"))
        else:
            out.append(ch)
    return "".join(out)


def one_line(text, limit: int = 300) -> str:
    """terminal() on one line, shortened."""
    flat = terminal(str(text).replace("\n", " ").replace("\t", " "))
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"


def csv_cell(value):
    """A CSV cell a spreadsheet shows as text: a leading = + - @ (or tab/CR) gets a quote in front.
    Numbers are left alone."""
    if isinstance(value, (int, float)) or value is None:
        return value
    text = terminal(str(value)).replace("\n", " ")
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        text = "'" + text
    return text
