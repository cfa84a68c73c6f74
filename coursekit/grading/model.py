"""The grading pipeline's typed results, shared by its modules."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Job:
    """One submission to grade: a student's folder in submitted/ and what is in it."""

    student: str
    folder: Path                       # submitted/<student>/<topic>
    why: str                           # "new", "resubmitted", "forced", "failed before", ...
    digest: str                        # content hash of the notebooks (and timestamp) graded
    notebooks: dict[str, bytes] = field(default_factory=dict)   # expected name -> content
    timestamp: str | None = None
    notes: list[str] = field(default_factory=list)   # found while reading submitted/
    problem: str = ""                  # why it cannot be graded (a malformed notebook): fails without a sandbox
    trace: str = ""                    # the traceback of a grader error while reading it
    files: dict[str, bytes] = field(default_factory=dict)       # the student's other files: relative path -> content
    graded: list[str] | None = None    # the notebooks to grade (--notebook); None: all of the assignment's


@dataclass
class Grade:
    auto_score: float | None
    max_score: float
    needs_manual_grade: bool


@dataclass
class NotebookResult:
    grades: dict[str, Grade]
    comments: dict[str, str | None]
    penalty: float | None              # None: nbgrader assigned none (not late, or no due date)
    executed: bytes | None = None      # the sanitised executed notebook (JSON)


@dataclass
class JobResult:
    """What came back for one submission (from its sandbox, or from the checks before it)."""

    student: str
    digest: str
    status: str = "failed"             # "graded" or "failed"
    reason: str = ""
    notebooks: dict[str, NotebookResult] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    seconds: float = 0.0
    peak_mb: float = 0.0
    timestamp: str | None = None
    kernel: str = ""                   # "warm", "cold: why", or "" (isolation off, or not run)
    trace: str = ""                    # tracebacks of the grader's own errors (for the problems file)
    worker: str = ""                   # the Dask worker that graded it (--cluster); "" when graded here
    graded: list[str] | None = None    # the notebooks graded (--notebook); None: all (the others are left as they are)
    extension: float | None = None     # seconds of the student's extension (deadlines), for the gradebook
    late: float | None = None          # seconds late (nbgrader's total_seconds_late); None: no due date or time

    def note(self, text: str) -> None:
        if text and text not in self.notes:
            self.notes.append(text)

    def flag(self, text: str) -> None:
        if text and text not in self.flags:
            self.flags.append(text)


@dataclass
class StudentRow:
    """One line of the report: a student's outcome for the topic."""

    student: str
    status: str                        # graded, failed, skipped (already graded), not submitted
    score: float
    max_score: float
    reason: str = ""
    flags: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
