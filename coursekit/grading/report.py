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
from coursekit.grading.sanitize import csv_cell, one_line, terminal


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
    budget_problems: list[str] = field(default_factory=list)    # import: uploads or students over a budget
    import_problems: list[str] = field(default_factory=list)    # import: entries not imported
    problems: list[str] = field(default_factory=list)           # entries of submitted/ that were not used
    similarity: object | None = None                            # similarity.SimilarityReport (or None)
    late: list[str] = field(default_factory=list)               # deadlines.summary_lines: who was late

    @property
    def problems_file(self) -> str:
        return f"grading_problems_{self.topic}.txt"

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
        lines += _listed("import: over a budget, NOT (fully) imported", self.budget_problems, self.problems_file)
        lines += _listed("import: not imported", self.import_problems, self.problems_file)
        if self.flagged:
            lines.append(f"FLAGGED for a human to read ({len(self.flagged)}):")
            for student, flags in self.flagged.items():
                score = self.scores.get(student, (0.0, 0.0))[0]
                lines.append(f"  FLAGGED {one_line(student, 64)} ({score:g}): " + one_line("; ".join(flags), 400))
        for student, reason in self.failed.items():
            lines.append(f"  FAILED {one_line(student, 64)}: {one_line(reason)}")
        lines += [one_line(line, 300) for line in self.late]
        lines.append(f"mean score over {len(self.scores)} submissions: {self.mean_score:.2f} / {max_score:g}")
        if self.cell_fail_share:
            lines.append("share of students who failed each graded cell (of those it has a score for; "
                         "manual cells awaiting a grade are not counted):")
            for cell, share in self.cell_fail_share.items():
                lines.append(f"  {one_line(cell, 40):<30} {share:6.1%}")
        if self.similarity is not None:
            lines += self.similarity.text_lines()
        lines.append(f"isolation: {self.isolation}")
        lines += self.worker_lines()
        for w in self.warnings:
            lines.append(f"warning: {one_line(w, 600)}")
        lines += _listed("submitted/: not used", self.problems, self.problems_file)
        for student, problem in sorted(self.feedback_problems.items()):
            lines.append(f"warning: feedback for {one_line(student, 64)} failed: {one_line(problem)}")
        if self.has_problems:
            lines.append(f"every problem in full: {self.problems_file}")
        lines.append(f"per-student details: grading_report_{self.topic}.csv")
        if self.timings:
            lines.append("time: " + ", ".join(f"{k} {v:.1f} s" for k, v in self.timings.items()))
        return _printable("\n".join(lines))

    def worker_lines(self) -> list[str]:
        """On a Dask cluster (--cluster): per worker, how many it graded and how many failed there, with
        their commonest reason, so that a bad worker stands out; who graded whom is in the report."""
        per: dict[str, list[JobResult]] = {}
        for r in self.results.values():
            if r.worker:
                per.setdefault(r.worker, []).append(r)
        if not per:
            return []
        lines = [f"graded on {len(per)} Dask worker(s) (who graded whom: grading_report_{self.topic}.csv, "
                 "column worker):"]
        for name, done in sorted(per.items()):
            failed = [r.reason for r in done if r.status != "graded"]
            line = f"  {one_line(name, 120)}: graded {len(done) - len(failed)}, failed {len(failed)}"
            if failed:
                common = max(set(failed), key=failed.count)
                line += f" (most often: {one_line(common, 200)})"
            lines.append(line)
        return lines

    @property
    def has_problems(self) -> bool:
        return bool(self.budget_problems or self.import_problems or self.problems or self.warnings
                    or self.failed or self.feedback_problems or any(r.trace for r in self.results.values()))

    def problems_text(self) -> str:
        """Everything that went wrong, in full (the summary cuts it): budgets and entries not imported,
        failures with their reasons and the tracebacks of the grader's own errors, flags, feedback
        problems, warnings, entries of submitted/ not used."""
        out = [f"Problems of the grading run of {self.topic} (every one in full; `make grade` rewrites this file)."]

        def section(title, items):
            out.append(f"\n== {title}: {len(items)} ==")
            out.extend(_one_line(item) for item in items)   # a student's text cannot start a line of its own

        section("import: over a budget, not (fully) imported", self.budget_problems)
        section("import: entries not imported", self.import_problems)
        failed = []
        for student, r in sorted(self.results.items()):
            if r.status != "graded":
                failed.append(f"{student}: {r.reason}")
        section("failed to grade", failed)
        section("flagged", [f"{s}: " + "; ".join(flags) for s, flags in self.flagged.items()])
        section("feedback failed", [f"{s}: {p}" for s, p in sorted(self.feedback_problems.items())])
        section("warnings", list(self.warnings))
        section("submitted/: not used", list(self.problems))
        section("similarity report: notebooks not read", list(self.similarity.problems) if self.similarity else [])
        traces = [f"{s}:\n" + _indent(r.trace) for s, r in sorted(self.results.items()) if r.trace]
        section("errors of the grader itself (tracebacks)", traces)
        return terminal("\n".join(out) + "\n")

    def write_problems(self, root: Path) -> Path:
        path = Path(root) / self.problems_file
        safeio.write_atomic(path, self.problems_text().encode("utf-8", "backslashreplace"))
        return path

    def write_csv(self, root: Path) -> Path:
        path = Path(root) / f"grading_report_{self.topic}.csv"
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        similar = self.similarity.by_student() if self.similarity is not None else {}
        w.writerow(["student", "flagged", "status", "score", "max_score", "reason", "flags", "notes", "similar_to",
                    "worker"])
        for row in self.rows():
            w.writerow([csv_cell(row.student), "yes" if row.flags else "", csv_cell(row.status), row.score,
                        row.max_score, csv_cell(row.reason), csv_cell("; ".join(row.flags)),
                        csv_cell("; ".join(row.notes)), csv_cell(similar.get(row.student, "")),
                        csv_cell(getattr(self.results.get(row.student), "worker", ""))])
        safeio.write_atomic(path, buf.getvalue().encode("utf-8", "backslashreplace"))
        return path


SHOWN = 10          # problems of one kind listed in the summary (all of them are in the problems file)


def _listed(title: str, items: list[str], where: str) -> list[str]:
    if not items:
        return []
    lines = [f"{title} ({len(items)}):"] + [f"  {one_line(item, 300)}" for item in items[:SHOWN]]
    if len(items) > SHOWN:
        lines.append(f"  ... and {len(items) - SHOWN} more, in {where}")
    return lines


def _one_line(text) -> str:
    """An item of the problems file on one line, in full (line breaks shown as ⏎)."""
    return str(text).replace("\r\n", "\n").replace("\n", " ⏎ ").replace("\r", " ⏎ ")


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.rstrip().splitlines())


def _printable(text: str) -> str:
    """Text that can be printed and written as UTF-8 (an unpaired surrogate is shown escaped)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
