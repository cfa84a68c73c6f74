"""grades.csv: nbgrader's export columns, written safely (quoted, no formulas) from the gradebook,
and a ``status`` column at the end: ``graded``, ``failed: <reason>`` or ``not submitted``."""
from __future__ import annotations

import csv
import io
from pathlib import Path

from coursekit.grading import plan, safeio
from coursekit.grading.sanitize import csv_cell, one_line

COLUMNS = ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
           "raw_score", "late_submission_penalty", "score", "max_score"]
STATUS = "status"


def status(state: plan.State | None, student: str) -> str:
    """A submitted assignment's status as the last grading run of its topic left it."""
    entry = state.students.get(student) if state is not None else None
    if not isinstance(entry, dict) or entry.get("status") in (None, "graded"):
        return "graded"
    reason = entry.get("reason")
    return "failed: " + one_line(reason, 300) if isinstance(reason, str) and reason else "failed"


def export_grades(db_url: str, course_id: str, path: Path, root: Path | None = None) -> Path:
    """Every assignment x student of the gradebook, as ``nbgrader export`` writes it, except that
    every cell is CSV-quoted and a cell a spreadsheet would read as a formula starts with a quote;
    then the status (from each topic's grading state under ``root``/autograded)."""
    from nbgrader.api import Gradebook, MissingEntry

    buf = io.StringIO()
    w = csv.writer(buf, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    w.writerow(COLUMNS + [STATUS])
    with Gradebook(db_url, course_id) as gb:
        for assignment in gb.assignments:
            state = plan.State.load(root, assignment.name) if root is not None else None
            for student in gb.students:
                row = {"assignment": assignment.name, "duedate": assignment.duedate, "student_id": student.id,
                       "last_name": student.last_name, "first_name": student.first_name, "email": student.email,
                       "max_score": assignment.max_score}
                try:
                    sub = gb.find_submission(assignment.name, student.id)
                except MissingEntry:
                    row.update(timestamp="", raw_score=0.0, late_submission_penalty=0.0, score=0.0,
                               status="not submitted")
                else:
                    penalty = sub.late_submission_penalty
                    row.update(timestamp=sub.timestamp, raw_score=sub.score, late_submission_penalty=penalty,
                               score=max(0.0, sub.score - penalty), status=status(state, student.id))
                w.writerow([csv_cell("" if row[c] is None else row[c]) for c in COLUMNS + [STATUS]])
    safeio.write_atomic(Path(path), buf.getvalue().encode("utf-8", "backslashreplace"))
    return Path(path)
