"""The similarity report: which students of a topic share more rare code and notebook traces than
independent work explains, for the instructor to read (nothing here changes a score).

:func:`report` reads ``submitted/<student>/<topic>/*.ipynb`` (the students' originals, as hostile
input: :mod:`.read`), fingerprints each answer cell and the cells a student added (winnowing over
normalised Python tokens: :mod:`.fingerprints`), with the released stubs and the instructor's
solution as base code, and ranks pairs (:mod:`.score`): rare shared code per exercise plus the traces
only notebooks carry (added-cell ids, outputs that differ between runs, errors, execution-count
histories). Pairs at or above ``KitGrading.similarity_threshold`` are reported, linked pairs form
clusters; :meth:`SimilarityReport.write_html` writes the evidence side by side (:mod:`.page`).
``python -m coursekit similarity TOPIC`` runs it alone.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from coursekit.grading.sanitize import one_line
from coursekit.grading.similarity.read import ADDED, read_base, read_submissions, read_work
from coursekit.grading.similarity.score import COMMON_SHARE, Pair, clusters, pairs

__all__ = ["ADDED", "DEFAULT_THRESHOLD", "Pair", "SimilarityReport", "report", "html_name"]

DEFAULT_THRESHOLD = 2.0
SHOWN = 10                 # pairs listed in the summary (all are on the page)


def html_name(topic: str) -> str:
    return f"similarity_{topic}.html"


@dataclass
class SimilarityReport:
    topic: str
    threshold: float
    students: list[str]
    pairs: list[Pair]                          # at or above the threshold, best first
    clusters: list[list[str]]                  # students linked by those pairs, largest first
    problems: list[str] = field(default_factory=list)
    code: dict[str, dict[str, str]] = field(default_factory=dict)     # student -> key -> source
    exercises: list[str] = field(default_factory=list)
    below: int = 0                             # pairs with some shared evidence, under the threshold

    def by_student(self) -> dict[str, str]:
        """student -> the students they are paired with and the scores (a line of the per-student CSV)."""
        out: dict[str, list[str]] = {}
        for p in self.pairs:
            out.setdefault(p.a, []).append(f"{p.b} ({p.score:g})")
            out.setdefault(p.b, []).append(f"{p.a} ({p.score:g})")
        return {s: ", ".join(v) for s, v in out.items()}

    def text_lines(self, shown: int = SHOWN) -> list[str]:
        """The section of the grading summary (student text escaped for the terminal)."""
        head = (f"similarity: {len(self.pairs)} pair(s) of {len(self.students)} students at or above "
                f"{self.threshold:g}")
        if not self.pairs:
            lines = [head + (f" ({self.below} weaker pair(s) on the page)" if self.below else "")]
        else:
            lines = [head + f", in {len(self.clusters)} group(s) (for a human to read; scores unchanged):"]
            for p in self.pairs[:shown]:
                lines.append(f"  {one_line(p.a, 64)} ~ {one_line(p.b, 64)}  {p.score:.1f}: "
                             + one_line(p.summary(), 300))
            if len(self.pairs) > shown:
                lines.append(f"  ... and {len(self.pairs) - shown} more")
            big = [g for g in self.clusters if len(g) > 2]
            for g in big[:shown]:
                lines.append(f"  group of {len(g)}: " + one_line(", ".join(g), 300))
        for problem in self.problems[:shown]:
            lines.append(f"  {one_line(problem, 300)}")
        if len(self.problems) > shown:
            lines.append(f"  ... and {len(self.problems) - shown} more notebook(s) not read")
        lines.append(f"  evidence side by side: {html_name(self.topic)}")
        return lines

    def write_html(self, path: Path) -> Path:
        from coursekit.grading.similarity import page

        return page.write(self, Path(path))


def report(root: Path, topic: str, notebooks: list[str], settings=None, *, release_dir: str = "notebooks",
           source_dir: str = "solutions", threshold: float | None = None) -> SimilarityReport:
    """The similarity report of ``topic`` (``notebooks``: the topic's notebook names, without
    ``.ipynb``); ``settings``: the course's ``KitGrading`` (threshold, size caps), or None for the
    defaults. Never raises on what a student submitted: what cannot be read is in ``problems``."""
    if threshold is None:
        threshold = float(getattr(settings, "similarity_threshold", DEFAULT_THRESHOLD))
    cap = int(float(getattr(settings, "max_notebook_mb", 20.0)) * 2**20)
    max_id = int(getattr(settings, "max_student_id_length", 64))
    base, problems = read_base(root, topic, notebooks, release_dir, source_dir)
    submitted, skipped = read_submissions(root, topic, notebooks, cap, max_id)
    problems += skipped
    works = {}
    for student, files in sorted(submitted.items()):
        try:
            works[student] = read_work(student, files, base)
        except (ValueError, TypeError, AttributeError, RecursionError) as exc:   # not expected after nbcheck
            problems.append(f"similarity: submitted/{one_line(student, 64)}/{topic} skipped "
                            f"({type(exc).__name__}: {one_line(exc, 120)})")
    found = pairs(works, base.exercises, base.hashes, COMMON_SHARE)
    above = [p for p in found if p.score >= threshold]
    return SimilarityReport(topic, threshold, sorted(works), above, clusters(above), problems,
                            {s: w.code for s, w in works.items()}, list(base.exercises),
                            below=len(found) - len(above))
