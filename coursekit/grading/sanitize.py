"""Nothing a student wrote runs where the instructor looks: notebooks, terminal, CSV.

* :func:`notebook_bytes` rebuilds an executed notebook from what may stay in it before it is saved
  to autograded/ (what Formgrader shows and feedback is made from): outputs keep only plain text,
  PNG/JPEG images (checked base64) and HTML/Markdown cleaned by bleach (nbconvert's SanitizeHTML
  settings: no scripts, event handlers, iframes, styles with URLs ...); JavaScript, SVG, LaTeX,
  widgets and every other type are dropped; Markdown the student wrote is escaped (raw HTML shown
  as text, ``javascript:``/``data:`` links disabled); cell and notebook metadata are cut down to
  what nbgrader needs; paths of the grading machine are removed from every text.
* :func:`terminal` escapes control characters (ANSI escapes cannot rewrite the instructor's
  terminal); :func:`csv_cell` escapes cells that a spreadsheet would run as a formula.
"""
from __future__ import annotations

import json
import re
import unicodedata

SAFE_MIME = ("text/plain", "image/png", "image/jpeg")
CLEANED_MIME = ("text/html", "text/markdown")
NBGRADER_KEYS = {"grade": bool, "solution": bool, "locked": bool, "task": bool, "points": (int, float),
                 "grade_id": str, "schema_version": int, "checksum": str, "cell_type": str}
_B64 = re.compile(r"^[A-Za-z0-9+/=\s]*$")
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SCHEME = re.compile(r"(?i)\b(javascript|vbscript|data|file)(\s*):")
_CODE = re.compile(r"(```.*?```|~~~.*?~~~|`[^`\n]*`)", re.S)


def _clean_html(text: str) -> str:
    from nbconvert.preprocessors.sanitize import SanitizeHTML
    return SanitizeHTML().sanitize_html_tags(text)


def markdown(text: str) -> str:
    """Student Markdown made inert: HTML outside code is shown as text, dangerous link schemes are
    broken (code spans and blocks are left alone: Markdown shows them literally anyway)."""
    parts = _CODE.split(text)
    for i in range(0, len(parts), 2):   # the parts outside code
        p = parts[i].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        parts[i] = _SCHEME.sub(lambda m: f"{m.group(1)}-blocked{m.group(2)}:", p)
    return "".join(parts)


def _scrub(text: str, scrub: list[str]) -> str:
    for s in scrub:
        if s:
            text = text.replace(s, "…")
    return text


def _text(value, scrub: list[str]) -> str:
    if isinstance(value, list):
        value = "".join(str(v) for v in value)
    return _scrub(str(value), scrub)


def _output(out: dict, scrub: list[str]) -> dict | None:
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
            data[mime] = _clean_html(_text(value, scrub))
        elif mime == "text/markdown":
            data[mime] = markdown(_text(value, scrub))
    if not data:
        return None
    meta = {}
    meta_in = out.get("metadata") if isinstance(out.get("metadata"), dict) else {}
    for mime in ("image/png", "image/jpeg"):
        m = meta_in.get(mime)
        if isinstance(m, dict):
            size = {k: int(v) for k, v in m.items() if k in ("width", "height") and isinstance(v, (int, float))}
            if size:
                meta[mime] = size
    if kind == "execute_result":
        count = out.get("execution_count")
        return {"output_type": "execute_result", "data": data, "metadata": meta,
                "execution_count": count if isinstance(count, int) else None}
    return {"output_type": "display_data", "data": data, "metadata": meta}


def _nbgrader_meta(meta) -> dict | None:
    if not isinstance(meta, dict):
        return None
    out = {}
    for key, kind in NBGRADER_KEYS.items():
        if key in meta and isinstance(meta[key], kind):
            out[key] = meta[key]
    return out or None


def notebook(nb_in: dict, scrub: list[str], released_sources: set[str] | None = None,
             kernelspec: dict | None = None) -> dict:
    """A new notebook (plain JSON data, nbformat 4.5) holding only the safe parts of ``nb_in``."""
    released_sources = released_sources or set()
    cells = []
    for i, cell in enumerate(nb_in.get("cells", [])):
        if not isinstance(cell, dict):
            continue
        kind = cell.get("cell_type")
        source = _text(cell.get("source", ""), [])
        if kind == "code":
            count = cell.get("execution_count")
            outs = cell.get("outputs") if isinstance(cell.get("outputs"), list) else []
            new = {"cell_type": "code", "source": _scrub(source, scrub), "metadata": {},
                   "execution_count": count if isinstance(count, int) else None,
                   "outputs": [o for o in (_output(o, scrub) for o in outs[:1000] if isinstance(o, dict)) if o]}
        elif kind in ("markdown", "raw"):
            keep = kind == "markdown" and source.strip() in released_sources
            new = {"cell_type": kind, "source": source if keep else markdown(source), "metadata": {}}
        else:
            continue
        meta = _nbgrader_meta((cell.get("metadata") or {}).get("nbgrader"))
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
    """:func:`notebook` from and to JSON bytes; ValueError when it is not a notebook."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not a notebook ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise ValueError("not a notebook (no cells)")
    nb = notebook(data, scrub, released_sources, kernelspec)
    return (json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


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
