"""Integrity of the graded cells: nbgrader preprocessors run by the driver inside the sandbox, and
the static look at what a student wrote (run by the trusted grader).

``InsertGuards`` (before nbgrader's Execute) puts a guard cell before every graded test cell and
one at the end of the notebook. Each guard cell calls the kernel's trusted guard
(``coursekit/kernel/start.py``), which restores what graded cells rely on (IPython's input
transformers and exception handlers, builtins, sys.modules, the student library, torch and numpy
functions ...), kills processes the notebook left running, and publishes what it found. The guard
also arms a trusted ``post_run_cell`` callback that publishes, right after the graded cell, whether
that cell ran to its end without an exception.

``CheckGuards`` (right after Execute) reads those outputs and removes them and the guard cells:

* a graded cell counts only with that proof: one that shows no error but did not run to its end
  (its code was rewritten, its exception swallowed ...) gets an error output, hence 0 points;
* a graded cell that did run to its end keeps its points even when it wrote to stderr (a warning
  from the student's code, a debug print): its stderr becomes stdout, which nbgrader does not
  count as a failure;
* whatever the guards found is collected in ``FINDINGS`` (the driver reports it; the grader flags
  the student).
"""
from __future__ import annotations

import ast
import json
import re
import secrets
from dataclasses import dataclass, field

import nbformat
from nbgrader import utils as nbu
from nbgrader.preprocessors import NbGraderPreprocessor

MIME = "application/x-coursekit-guard+json"
GUARD_KEY = "coursekit_guard"


@dataclass
class Findings:
    """What the guards reported for one notebook (filled by CheckGuards)."""

    flags: list[str] = field(default_factory=list)      # signs of cheating: the student is flagged
    notes: list[str] = field(default_factory=list)      # worth knowing, not suspicious
    zeroed: list[str] = field(default_factory=list)     # graded cells without proof of completion
    stderr_kept: list[str] = field(default_factory=list)  # graded cells whose stderr became stdout

    def add(self, kind: str, text: str) -> None:
        items = getattr(self, kind)
        if text not in items and len(items) < 100:
            items.append(text)


FINDINGS: dict[str, Findings] = {}   # notebook name -> findings (one submission per driver process)


def is_test_cell(cell) -> bool:
    return cell.get("cell_type") == "code" and bool(nbu.is_grade(cell)) and not nbu.is_solution(cell)


def names_used(source: str) -> list[str]:
    """The plain names a cell reads (what the guard checks in the notebook's namespace)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):      # a name read, or the base of an attribute read or written
            if isinstance(node.ctx, ast.Load):
                names.add(node.id)
        elif isinstance(node, ast.Attribute):
            base = node.value
            while isinstance(base, ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name):
                names.add(base.id)
    return sorted(names)


def _guard_cell(nonce: str, done: str, names: list[str], before: str | None) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(f"__kit_guard__.check({nonce!r}, {names!r}, {done!r})")
    cell.metadata[GUARD_KEY] = {"nonce": nonce, "done": done, "before": before}
    return cell


class InsertGuards(NbGraderPreprocessor):
    """A guard cell before each graded test cell and one at the end (see the module's docstring)."""

    def preprocess(self, nb, resources):
        cells = []
        for cell in nb.cells:
            if is_test_cell(cell):
                nonce, done = secrets.token_hex(16), secrets.token_hex(16)
                cells.append(_guard_cell(nonce, done, names_used(cell.source), cell.metadata["nbgrader"]["grade_id"]))
                cell.metadata[GUARD_KEY] = {"done": done}
            cells.append(cell)
        cells.append(_guard_cell(secrets.token_hex(16), "", [], None))
        nb.cells = cells
        return nb, resources


def _payloads(cell, key: str):
    for out in cell.get("outputs", []):
        if out.get("output_type") == "display_data" and MIME in out.get("data", {}):
            data = out["data"][MIME]
            if isinstance(data, str):
                try:
                    data = json.loads(data)
                except ValueError:
                    continue
            if isinstance(data, dict) and key in data:
                yield data


def _places(wheres: list[str]) -> str:
    names = [w if w == "the end" else f"cell {w}" for w in dict.fromkeys(wheres)]
    return ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")


def _strip_markers(cell) -> None:
    cell.outputs = [o for o in cell.get("outputs", [])
                    if not (o.get("output_type") == "display_data" and MIME in o.get("data", {}))]


class CheckGuards(NbGraderPreprocessor):
    """Reads and removes the guards' outputs (see the module's docstring)."""

    def preprocess(self, nb, resources):
        name = resources.get("unique_key") or "notebook"
        found = FINDINGS.setdefault(name, Findings())
        cells = []
        seen: dict[str, list[str]] = {}      # what a guard found -> where (in order)
        missing: list[str] = []
        for cell in nb.cells:
            meta = cell.get("metadata", {}).get(GUARD_KEY)
            if meta and "nonce" in meta:          # a guard cell: read it, drop it
                reports = [p for p in _payloads(cell, "guard") if p.get("guard") == meta["nonce"]]
                where = meta.get("before") or "the end"
                if not reports:
                    missing.append(where)
                for report in reports:
                    for item in report.get("found", [])[:30]:
                        seen.setdefault(str(item)[:300], []).append(where)
                    for item in report.get("notes", [])[:20]:
                        found.add("notes", str(item)[:300])
                continue
            if meta and "done" in meta:            # a graded cell: did it run to its end?
                self._judge(cell, meta["done"], found)
                del cell.metadata[GUARD_KEY]
            cells.append(cell)
        nb.cells = cells
        if missing:
            found.add("flags", "the integrity check did not run before " + _places(missing)
                      + " (the notebook stopped or rewrote it)")
        for item, wheres in seen.items():
            found.add("flags", f"{item}: found before {_places(wheres)}"
                               + ("" if "killed" in item or "running" in item else ", and undone"))
        return nb, resources

    @staticmethod
    def _judge(cell, done: str, found: Findings) -> None:
        gid = cell.metadata["nbgrader"]["grade_id"]
        proofs = [p for p in _payloads(cell, "done") if p.get("done") == done]
        _strip_markers(cell)
        errors = [o for o in cell.outputs if o.get("output_type") == "error"]
        completed = any(p.get("ok") is True for p in proofs)
        if errors:
            return
        if not completed:
            found.add("zeroed", gid)
            found.add("flags", f"the tests in cell {gid} did not run to their end, but no error was shown "
                               "(their code was changed or their exception hidden): 0 points for it")
            cell.outputs.append(nbformat.v4.new_output(
                "error", ename="IntegrityError",
                evalue="these tests did not run to their end (see the grader's report)",
                traceback=["IntegrityError: these tests did not run to their end"]))
            return
        for out in cell.outputs:
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                out["name"] = "stdout"
                found.add("stderr_kept", gid)


# ------------------------------------------------------------------------------------------
# the static look (trusted side)
# ------------------------------------------------------------------------------------------
def student_code(nb) -> list[tuple[int, str]]:
    """(index, source) of the code cells a student could write: every code cell that is not locked."""
    out = []
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        meta = (cell.get("metadata") or {}).get("nbgrader") or {}
        if meta.get("locked") and not meta.get("solution"):
            continue
        source = cell.get("source", "")
        out.append((i, "".join(source) if isinstance(source, list) else str(source)))
    return out


def suspicious(nb, patterns: list[str], released_sources: set[str] | None = None) -> list[str]:
    """What in the student's code matches a pattern: 'cell 7 uses ctypes', at most one per pattern.
    Cells identical to the released student version (the course's own code) are not searched."""
    hits = []
    compiled = []
    for pat in patterns:
        try:
            compiled.append((pat, re.compile(pat)))
        except re.error:
            continue
    for index, source in student_code(nb):
        if released_sources and source.strip() in released_sources:
            continue
        code = _without_comments(source)
        for pat, rx in compiled:
            m = rx.search(code)
            if m and not any(h.endswith(f"({pat})") for h in hits):
                hits.append(f"cell {index + 1} uses {m.group(0).strip()!r} ({pat})")
    return hits


def _without_comments(source: str) -> str:
    lines = []
    for line in source.splitlines():
        stripped = line.lstrip()
        if stripped.startswith("#"):
            continue
        lines.append(line)
    return "\n".join(lines)
