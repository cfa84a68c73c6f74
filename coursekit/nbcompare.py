"""Notebook output checks that hold on any hardware: a pytest plugin beside nbval.

nbval compares every cell's new output with the output stored in the notebook, exactly. That is right
for cells whose output is determined exactly (tensor arithmetic, closed forms, shapes, the course's
seed figures), and wrong for cells that print numbers coming out of training: those depend on the
CPU's vector instructions, the BLAS library and the thread count, and differ in the last digits -- or
more, for small chaotic networks -- on every other machine.

A cell declares that its printed numbers come from training with a tolerance in its metadata::

    "metadata": {"coursekit": {"tolerance": {"rtol": 0.1, "atol": 0.01}}}

For such a cell the text outputs (stdout and ``text/plain``) are compared number by number: every
number must lie within ``atol + rtol * |stored|`` of the stored one, and the text around the numbers
(labels, words, ``True``/``False``) must be identical up to runs of spaces, which tensor printing and
format widths change with the numbers. Everything else of the cell (images are not compared by nbval
at all; other MIME types) keeps nbval's exact comparison. Cells without the metadata are compared
exactly, as before. The ``nbval-ignore-output`` tag stays for truly volatile output (progress bars).

The lesson a training cell shows is printed as a claim (``ReLU beats sigmoid: True``), which the
exact text comparison then checks on every machine.

When a comparison fails, the report says where the stored outputs came from
(``metadata.coursekit.executed_on``, written by ``python -m coursekit execute``) and, for a cell with a
tolerance, which number left its band.

``COURSEKIT_NBCOMPARE_RECORD=file.jsonl`` records every text output that still differs, which is how
the tolerances were chosen (see ``_record``).

Registered from the repository's conftest.py (``pytest_plugins``); ``-p coursekit.nbcompare`` loads it
elsewhere.
"""
from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w.])|\b(?:nan|inf)\b")
_SPACES = re.compile(r"[ \t]+")


@dataclass(frozen=True)
class Tolerance:
    rtol: float = 0.0
    atol: float = 0.0

    def allows(self, stored: float, new: float) -> bool:
        if math.isnan(stored) or math.isnan(new):
            return math.isnan(stored) and math.isnan(new)
        if math.isinf(stored) or math.isinf(new):
            return stored == new
        return abs(new - stored) <= self.atol + self.rtol * abs(stored)

    def __str__(self) -> str:
        return f"rtol={self.rtol:g}, atol={self.atol:g}"


def tolerance_of(cell) -> Tolerance | None:
    """The tolerance a cell declares in metadata.coursekit.tolerance, or None (exact comparison)."""
    meta = (cell.get("metadata") or {}).get("coursekit") or {}
    tol = meta.get("tolerance")
    if tol is None:
        return None
    unknown = set(tol) - {"rtol", "atol"}
    if unknown:
        raise ValueError(f"metadata.coursekit.tolerance has unknown key(s) {sorted(unknown)}; use rtol and atol")
    return Tolerance(rtol=float(tol.get("rtol", 0.0)), atol=float(tol.get("atol", 0.0)))


def split_numbers(text: str) -> tuple[list[str], list[float]]:
    """The text around the numbers (runs of spaces collapsed, padding beside numbers dropped) and the
    numbers, in order."""
    parts, numbers, last = [], [], 0
    for match in NUMBER.finditer(text):
        parts.append(text[last:match.start()])
        numbers.append(float(match.group()))
        last = match.end()
    parts.append(text[last:])
    # Padding sits next to numbers (format widths, tensor columns): drop it there, keep the words exact.
    return [_SPACES.sub(" ", p).strip(" \t") for p in parts], numbers


def compare_text(stored: str, new: str, tol: Tolerance) -> str | None:
    """None when `new` matches `stored` under `tol`; otherwise a sentence saying what differs."""
    if stored == new:
        return None
    stored_parts, stored_numbers = split_numbers(stored)
    new_parts, new_numbers = split_numbers(new)
    if len(stored_numbers) != len(new_numbers):
        return f"the output now has {len(new_numbers)} number(s) where {len(stored_numbers)} were stored"
    if stored_parts != new_parts:
        for i, (a, b) in enumerate(zip(stored_parts, new_parts)):
            if a != b:
                return (f"the text around the numbers changed (after number {i}): stored {a.strip()!r}, "
                        f"now {b.strip()!r}")
    for i, (a, b) in enumerate(zip(stored_numbers, new_numbers), start=1):
        if not tol.allows(a, b):
            return (f"number {i} of the output is {b:g}, stored {a:g}: outside the cell's tolerance ({tol}, "
                    f"a band of +/-{tol.atol + tol.rtol * abs(a):.3g})")
    return None


def _text_fields(outputs) -> dict:
    """Text fields of a list of outputs keyed so that stored and new outputs pair up: streams by their
    name (nbval has merged each stream into one output), rich outputs' text/plain by their order."""
    fields, rich = {}, 0
    for out in outputs:
        if out.get("output_type") == "stream":
            fields[("stream", out.get("name"))] = (out, "text")
        elif "text/plain" in (out.get("data") or {}):
            fields[("data", rich)] = (out, "text/plain")
            rich += 1
    return fields


def _get(out, key) -> str:
    value = out["text"] if key == "text" else out["data"][key]
    return "".join(value) if isinstance(value, list) else value


def _set(out, key, value: str) -> None:
    if key == "text":
        out["text"] = value
    else:
        out["data"][key] = value


def align(stored_outputs, new_outputs, tol: Tolerance) -> list[str]:
    """Replace, in `new_outputs`, each text field that matches its stored twin under `tol` by the stored
    text, so that nbval's exact comparison passes; return what did not match (empty when all did)."""
    problems = []
    stored_fields = _text_fields(stored_outputs)
    for where, (new_out, key) in _text_fields(new_outputs).items():
        if where not in stored_fields:
            continue
        stored = _get(*stored_fields[where])
        why = compare_text(stored, _get(new_out, key), tol)
        if why is None:
            _set(new_out, key, stored)
        else:
            problems.append(why)
    return problems


def provenance(nb) -> str:
    """Where a notebook's stored outputs came from, in one line."""
    meta = ((nb or {}).get("metadata") or {}).get("coursekit") or {}
    info = meta.get("executed_on")
    if not info:
        return ("the notebook records no provenance for its stored outputs; refresh them with "
                "`make execute TOPICS=<topic>`")
    parts = [f"{info.get('cpu', 'unknown CPU')} ({info.get('machine', '?')})",
             f"torch {info.get('torch', '?')}" + (f" CUDA {info['torch_cuda']}" if info.get("torch_cuda") else ""),
             f"{info.get('torch_threads', '?')} torch thread(s)",
             f"CPU capability {info.get('torch_cpu_capability', '?')}"]
    parts += [f"{k}={v}" for k, v in (info.get("env") or {}).items()]
    if info.get("date"):
        parts.append(f"on {info['date']}")
    return "stored outputs were written on " + ", ".join(parts)


# --- the pytest side ---------------------------------------------------------------------------------------------

def _record(path: str, item, stored_outputs, new_outputs) -> None:
    """Append every text field that still differs from its stored twin to a JSON-lines file.

    How tolerances were chosen: run the notebook checks with ``COURSEKIT_NBCOMPARE_RECORD=diffs.jsonl``
    under another numeric setting (``ATEN_CPU_CAPABILITY=default``, two threads, ...) or with every
    learning rate perturbed by 1e-4 or 1e-2, and read which cells move and by how much."""
    stored_fields = _text_fields(stored_outputs)
    with open(path, "a", encoding="utf-8") as fh:
        for where, (out, key) in _text_fields(new_outputs).items():
            if where in stored_fields and _get(*stored_fields[where]) != _get(out, key):
                first_line = (item.cell.source.splitlines() or [""])[0][:60]
                fh.write(json.dumps({"notebook": Path(str(item.fspath)).name, "cell": item.cell_num, "source": first_line,
                                     "stored": _get(*stored_fields[where]), "new": _get(out, key)}) + "\n")


def _patch_nbval() -> None:
    from nbval import plugin as nbval_plugin

    cls = nbval_plugin.IPyNbCell
    if getattr(cls, "_coursekit_patched", False):
        return
    original = cls.compare_outputs

    def compare_outputs(self, test, ref, skip_compare=None):
        tol = tolerance_of(self.cell)
        notes = []
        if tol is not None:
            notes = align(ref, test, tol)
        record = os.environ.get("COURSEKIT_NBCOMPARE_RECORD")
        if record:
            _record(record, self, ref, test)
        ok = original(self, test, ref, skip_compare)
        if not ok:
            extra = [f"coursekit.nbcompare: {n}" for n in notes]
            extra.append(f"coursekit.nbcompare: {provenance(getattr(self.parent, 'nb', None))}")
            if tol is None:
                extra.append("coursekit.nbcompare: this cell is compared exactly; if its numbers come out of "
                             "training, declare metadata.coursekit.tolerance on it (see coursekit/nbcompare.py)")
            self.comparison_traceback.extend(extra)
        return ok

    cls.compare_outputs = compare_outputs
    cls._coursekit_patched = True


def pytest_configure(config):
    _patch_nbval()
