"""The static look at what a student wrote, run by the trusted grader: code that matches
``KitGrading.suspicious_code_patterns`` (ctypes, ``sys.modules``, ``get_ipython``, monkeypatching ...)
flags the submission for a human to read in Formgrader. A flag never changes a score: with the judge
(``c.KitGrading.judge``) the verdicts are computed where no student code runs, so what such code
changes in the student's own kernel changes nothing there; without it (plain nbgrader's way, kept
for comparison) nothing defends the verdicts and the flags are all there is.
"""
from __future__ import annotations

import re


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
