"""grades.csv: nbgrader's export columns, written safely (quoted, no formulas) from the gradebook."""
from __future__ import annotations

import csv
import io
from pathlib import Path

from coursekit.grading import safeio
from coursekit.grading.sanitize import csv_cell

COLUMNS = ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
           "raw_score", "late_submission_penalty", "score", "max_score"]


def export_grades(db_url: str, course_id: str, path: Path) -> Path:
    """Every assignment x student of the gradebook, as ``nbgrader export`` writes it, except that
    every cell is CSV-quoted and a cell a spreadsheet would read as a formula starts with a quote."""
    from nbgrader.api import Gradebook, MissingEntry

    buf = io.StringIO()
    w = csv.writer(buf, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    w.writerow(COLUMNS)
    with Gradebook(db_url, course_id) as gb:
        for assignment in gb.assignments:
            for student in gb.students:
                row = {"assignment": assignment.name, "duedate": assignment.duedate, "student_id": student.id,
                       "last_name": student.last_name, "first_name": student.first_name, "email": student.email,
                       "max_score": assignment.max_score}
                try:
                    sub = gb.find_submission(assignment.name, student.id)
                except MissingEntry:
                    row.update(timestamp="", raw_score=0.0, late_submission_penalty=0.0, score=0.0)
                else:
                    penalty = sub.late_submission_penalty
                    row.update(timestamp=sub.timestamp, raw_score=sub.score, late_submission_penalty=penalty,
                               score=max(0.0, sub.score - penalty))
                w.writerow([csv_cell("" if row[c] is None else row[c]) for c in COLUMNS])
    safeio.write_atomic(Path(path), buf.getvalue().encode("utf-8"))
    return Path(path)
