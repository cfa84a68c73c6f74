"""Untrusted JSON (submitted notebooks, what comes back from a sandbox) read by the trusted grader
within limits, with a one-line reason when it cannot be used.

:func:`load` parses bytes as strict JSON (UTF-8, no NaN/Infinity or numbers too large for a double),
nested at most :data:`MAX_DEPTH` levels (deeper input would exhaust Python's recursion limit in the
parser or in any code that walks it) and with no unpaired surrogate escapes (``"\\ud800"`` cannot be
written back as UTF-8, to the gradebook, a CSV or the terminal). :func:`notebook_problem` checks the
types of everything the grader and nbgrader read from a notebook: cells, their type, source,
metadata, id and outputs, ``nbgrader`` cell metadata, ``kernelspec`` and ``language_info``. What
passes can be walked with plain ``dict.get``, ``str`` and ``isinstance`` checks without raising.
"""
from __future__ import annotations

import json
import math

MAX_DEPTH = 100               # a notebook is about 7 levels deep; widget state in metadata about 20

_NUMBER = "number"
NBGRADER_TYPES = {"grade": bool, "solution": bool, "locked": bool, "task": bool, "points": _NUMBER,
                  "grade_id": str, "schema_version": int, "checksum": str, "cell_type": str}
CELL_TYPES = ("code", "markdown", "raw")


class Invalid(ValueError):
    """Why untrusted JSON cannot be used (one line, for the instructor)."""


def kind(value) -> str:
    """What a JSON value is, in words."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise Invalid(f"has the number {text[:30]}, too large for a number")
    return value


def _constant(name: str):
    raise Invalid(f"has {name}, which is not a JSON value")


def load(data: bytes, *, replace_surrogates: bool = False):
    """Parse untrusted bytes as JSON within the limits above; :class:`Invalid` says why not. With
    ``replace_surrogates`` an unpaired surrogate becomes U+FFFD instead (what a sandbox reports may
    quote a student's text; a submitted notebook holding one is refused, as nbgrader could not save it)."""
    if not isinstance(data, (bytes, bytearray)):
        raise Invalid("is not bytes")
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Invalid(f"is not UTF-8 text (invalid byte at position {exc.start})") from None
    try:
        value = json.loads(text, parse_constant=_constant, parse_float=_finite)
    except Invalid:
        raise
    except json.JSONDecodeError as exc:
        raise Invalid(f"is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise Invalid(f"is nested deeper than {MAX_DEPTH} levels") from None
    except (ValueError, OverflowError) as exc:      # e.g. an integer of more than 4300 digits
        raise Invalid(f"is not valid JSON ({str(exc)[:120]})") from None
    return _walk(value, replace_surrogates)


def _text_ok(text: str) -> bool:
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def _fixed(text: str, replace: bool) -> str:
    if _text_ok(text):
        return text
    if not replace:
        raise Invalid("contains an unpaired surrogate escape (\\ud800-\\udfff), which is not text")
    return "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in text)


def _walk(value, replace: bool):
    """Depth and strings checked (or mended), without recursion; returns the value."""
    if isinstance(value, str):
        return _fixed(value, replace)
    stack = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise Invalid(f"is nested deeper than {MAX_DEPTH} levels")
        if isinstance(v, dict):
            for k in list(v):
                x = v[k]
                if isinstance(x, str):
                    x = v[k] = _fixed(x, replace)
                if not _text_ok(k):
                    del v[k]
                    v[_fixed(k, replace)] = x
                if isinstance(x, (dict, list)):
                    stack.append((x, depth + 1))
        elif isinstance(v, list):
            for i, x in enumerate(v):
                if isinstance(x, str):
                    v[i] = _fixed(x, replace)
                elif isinstance(x, (dict, list)):
                    stack.append((x, depth + 1))
    return value


def _typed(value, want) -> bool:
    if want is _NUMBER:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if want is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, want)


_WANT = {bool: "true or false", _NUMBER: "a number", int: "an integer", str: "a string", dict: "an object",
         list: "a list"}


def _expect(value, want, what: str) -> None:
    if not _typed(value, want):
        raise Invalid(f"{what} is {kind(value)}, not {_WANT[want]}")


def _text(value, what: str) -> None:
    if isinstance(value, str):
        return
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Invalid(f"{what} is {kind(value)}, not text")


def _cell(i: int, cell) -> None:
    where = f"cell {i}"
    _expect(cell, dict, where)
    ctype = cell.get("cell_type")
    if ctype not in CELL_TYPES:
        raise Invalid(f"{where}: unknown cell type {str(ctype)[:30]!r}" if isinstance(ctype, str)
                      else f"{where}: its cell_type is {kind(ctype)}, not a string")
    if "source" in cell:
        _text(cell["source"], f"{where}: its source")
    if "id" in cell:
        _expect(cell["id"], str, f"{where}: its id")
    meta = cell.get("metadata", {})
    _expect(meta, dict, f"{where}: its metadata")
    if "nbgrader" in meta:
        nbg = meta["nbgrader"]
        _expect(nbg, dict, f"{where}: nbgrader metadata")
        for key, want in NBGRADER_TYPES.items():
            if key in nbg:
                _expect(nbg[key], want, f"{where}: nbgrader {key}")
    if "outputs" in cell:
        outs = cell["outputs"]
        _expect(outs, list, f"{where}: its outputs")
        for j, out in enumerate(outs, 1):
            _expect(out, dict, f"{where}: output {j}")
            _expect(out.get("output_type"), str, f"{where}: output {j}'s output_type")
            for key, want in (("data", dict), ("metadata", dict), ("traceback", list)):
                if key in out:
                    _expect(out[key], want, f"{where}: output {j}'s {key}")
            if "text" in out:
                _text(out["text"], f"{where}: output {j}'s text")


def notebook_problem(nb) -> str | None:
    """Why parsed JSON is not a notebook in format 4 that the grader can read, or None."""
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        return "is not a notebook (no list of cells)"
    if not _typed(nb.get("nbformat"), int) or nb.get("nbformat") != 4:
        return f"is not a notebook in format 4 (nbformat {repr(nb.get('nbformat'))[:20]})"
    try:
        meta = nb.get("metadata", {})
        _expect(meta, dict, "the notebook's metadata")
        for key, fields in (("kernelspec", ("name", "display_name", "language")), ("language_info", ("name",))):
            if key in meta:
                _expect(meta[key], dict, f"the notebook's {key}")
                for f in fields:
                    if f in meta[key]:
                        _expect(meta[key][f], str, f"the notebook's {key}.{f}")
        for i, cell in enumerate(nb["cells"], 1):
            _cell(i, cell)
    except Invalid as exc:
        return str(exc)
    return None


def reason(name: str, problem: str) -> str:
    """``problem`` (from :class:`Invalid` or :func:`notebook_problem`) about the file ``name``."""
    return f"{name} {problem}" if problem.startswith(("is ", "has ", "contains ")) else f"{name}: {problem}"


def read_notebook(name: str, data: bytes):
    """The parsed notebook, or a one-line reason (``str``) naming ``name`` and what is wrong."""
    if not data.strip():
        return f"{name} is an empty file"
    try:
        nb = load(data)
    except Invalid as exc:
        return reason(name, str(exc))
    problem = notebook_problem(nb)
    return reason(name, problem) if problem else nb
