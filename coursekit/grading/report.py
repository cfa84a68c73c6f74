"""The run's summary (terminal) and per-student report (``grading_report_<topic>.csv``).

Flagged students (signs of cheating found by the integrity checks, suspicious code, edited locked
cells) come first in both, then the submissions that failed to grade, then the rest. Everything a
student could have chosen (ids, reasons quoting their code) is escaped for the terminal and for
spreadsheets.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from coursekit.grading import safeio
from coursekit.grading.model import JobResult, StudentRow
from coursekit.grading.sanitize import csv_cell, one_line


@dataclass
class Summary:
    topic: str
    results: dict[str, JobResult]                  # students graded (or failed) in this run
    skipped: list[str]                             # already graded, unchanged
    scores: dict[str, tuple[float, float]]         # every submission of the topic in the gradebook
    cell_fail_share: dict[str, float]
    seconds: float
    isolation: str
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    feedback_problems: dict[str, str] = field(default_factory=dict)
    interrupted: bool = False

    @property
    def graded(self) -> list[str]:
        return sorted(s for s, r in self.results.items() if r.status == "graded")

    @property
    def failed(self) -> dict[str, str]:
        return {s: r.reason for s, r in sorted(self.results.items()) if r.status != "graded"}

    @property
    def flagged(self) -> dict[str, list[str]]:
        return {s: r.flags for s, r in sorted(self.results.items()) if r.flags}

    @property
    def notes(self) -> dict[str, list[str]]:
        return {s: r.notes for s, r in sorted(self.results.items()) if r.notes}

    @property
    def mean_score(self) -> float:
        vals = [s for s, _ in self.scores.values()]
        return sum(vals) / len(vals) if vals else 0.0

    def rows(self) -> list[StudentRow]:
        """Every student of the topic, flagged first, then failed, then by id."""
        out = []
        for student in sorted(set(self.scores) | set(self.results)):
            r = self.results.get(student)
            score, max_score = self.scores.get(student, (0.0, 0.0))
            if r is None:
                out.append(StudentRow(student, "skipped (already graded)", score, max_score))
            else:
                out.append(StudentRow(student, r.status, score, max_score, r.reason, list(r.flags), list(r.notes)))
        return sorted(out, key=lambda row: (not row.flags, row.status != "failed", row.student))

    def text(self) -> str:
        max_score = max((m for _, m in self.scores.values()), default=0)
        lines = [f"{self.topic}: graded {len(self.graded)}, failed to grade {len(self.failed)}, "
                 f"skipped (already graded) {len(self.skipped)} in {self.seconds:.0f} s"
                 + (" (INTERRUPTED)" if self.interrupted else "")]
        if self.flagged:
            lines.append(f"FLAGGED for a human to read ({len(self.flagged)}):")
            for student, flags in self.flagged.items():
                score = self.scores.get(student, (0.0, 0.0))[0]
                lines.append(f"  FLAGGED {one_line(student, 64)} ({score:g}): " + one_line("; ".join(flags), 400))
        for student, reason in self.failed.items():
            lines.append(f"  FAILED {one_line(student, 64)}: {one_line(reason)}")
        lines.append(f"mean score over {len(self.scores)} submissions: {self.mean_score:.2f} / {max_score:g}")
        if self.cell_fail_share:
            lines.append("share of students who failed each graded cell:")
            for cell, share in self.cell_fail_share.items():
                lines.append(f"  {one_line(cell, 40):<30} {share:6.1%}")
        lines.append(f"isolation: {self.isolation}")
        for w in self.warnings:
            lines.append(f"warning: {one_line(w, 600)}")
        for student, problem in sorted(self.feedback_problems.items()):
            lines.append(f"warning: feedback for {one_line(student, 64)} failed: {one_line(problem)}")
        lines.append(f"per-student details: grading_report_{self.topic}.csv")
        if self.timings:
            lines.append("time: " + ", ".join(f"{k} {v:.1f} s" for k, v in self.timings.items()))
        return "\n".join(lines)

    def write_csv(self, root: Path) -> Path:
        path = Path(root) / f"grading_report_{self.topic}.csv"
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["student", "flagged", "status", "score", "max_score", "reason", "flags", "notes"])
        for row in self.rows():
            w.writerow([csv_cell(row.student), "yes" if row.flags else "", csv_cell(row.status), row.score,
                        row.max_score, csv_cell(row.reason), csv_cell("; ".join(row.flags)),
                        csv_cell("; ".join(row.notes))])
        safeio.write_atomic(path, buf.getvalue().encode("utf-8"))
        return path
