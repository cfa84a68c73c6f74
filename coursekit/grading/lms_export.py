"""Grades for the LMS: one topic's scores in the gradebook-import CSV of Canvas, Moodle or Blackboard.

    python -m coursekit export-lms TOPIC --format canvas|moodle|blackboard [--template LMS_EXPORT.csv]

Students are matched only by the LMS's own identity of the submitter, which the import recorded from
the download's names (``lms_ids``): Canvas's user id (the gradebook's "ID"), Moodle's participant number
("Participant N" of the assignment's grading worksheet), Blackboard's username. Never by a name.
With ``--template`` (the LMS's own export: Canvas's Grades > Export, Moodle's "Download grading
worksheet", Blackboard's Work Offline > Download) the file keeps the LMS's identity columns and column
header (with its id), the maximum is checked against the topic's, and students on one side only are
listed. Only students the kit gives a grade to get a row: the LMS leaves everyone else as they are.

The score is the gradebook's after the late penalty (as grades.csv). Not exported, each listed with
its reason: a submission that failed to grade (a grader failure is not a 0), one that waits for manual
grading in Formgrader (``--include-pending`` exports the score so far), one without an identity from
this LMS, and students who did not submit (``--missing zero`` writes 0 for those the template lists).
"""
from __future__ import annotations

import argparse
import csv
import io
import re
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from coursekit.grading import export, lms_ids, plan, safeio
from coursekit.grading.lms_templates import (BLACKBOARD_ID_COLUMNS, MOODLE_COLUMNS, TEMPLATES,  # noqa: F401
                                             ExportError, Template, read_table)
from coursekit.grading.sanitize import csv_cell, one_line

FORMATS = ("canvas", "moodle", "blackboard")
LMS_TITLE = {"canvas": "Canvas", "moodle": "Moodle", "blackboard": "Blackboard"}
CANVAS_ID_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


@dataclass
class KitEntry:
    student: str
    status: str                          # graded, failed: ..., not submitted
    score: float | None = None           # after the late penalty
    pending: bool = False                # a manual grade is still to be given in Formgrader
    first: str | None = None
    last: str | None = None
    email: str | None = None
    timestamp: str = ""


@dataclass
class Result:
    path: Path
    exported: int = 0
    notes: list[str] = field(default_factory=list)

    def text(self) -> str:
        lines = [f"{self.exported} grade(s) written to {self.path}"]
        return "\n".join(lines + [f"  {n}" for n in self.notes])


def kit_grades(db_url: str, course_id: str, root: Path, topic: str) -> tuple[float, dict[str, KitEntry]]:
    """The topic's maximum and every gradebook student's entry, as grades.csv computes them."""
    import os

    from nbgrader.api import Gradebook, MissingEntry

    from coursekit.paths import tool_env
    if db_url.startswith("sqlite:///") and not Path(db_url[len("sqlite:///"):]).is_file():
        raise ExportError(f"export-lms: no gradebook at {db_url[len('sqlite:///'):]}: grade {topic} first "
                          f"(python -m coursekit grade {topic} --from DOWNLOAD)")
    os.environ["PATH"] = tool_env()["PATH"]       # nbgrader's Gradebook runs `alembic` of this environment
    state = plan.State.load(root, topic)
    out = {}
    with Gradebook(db_url, course_id) as gb:
        try:
            assignment = gb.find_assignment(topic)
        except MissingEntry:
            raise ExportError(f"export-lms: {topic!r} is not in the gradebook: grade it first "
                              f"(python -m coursekit grade {topic} --from DOWNLOAD)") from None
        max_score = float(assignment.max_score or 0.0)
        for student in gb.students:
            entry = KitEntry(student.id, "not submitted", first=student.first_name, last=student.last_name,
                             email=student.email)
            try:
                sub = gb.find_submission(topic, student.id)
            except MissingEntry:
                out[student.id] = entry
                continue
            entry.status = export.status(state, student.id)
            entry.score = max(0.0, float(sub.score or 0.0) - float(sub.late_submission_penalty or 0.0))
            entry.pending = bool(sub.needs_manual_grade)
            entry.timestamp = str(sub.timestamp or "")
            out[student.id] = entry
    return max_score, out



# -- the export ---------------------------------------------------------------------------------
def _fmt(score: float) -> str:
    return f"{round(score, 2):.2f}".rstrip("0").rstrip(".")


def _listed(items: list[str], limit: int = 30) -> str:
    return ", ".join(items[:limit]) + (f" … ({len(items)} in all)" if len(items) > limit else "")


def export_lms(root: Path, topic: str, fmt: str, output: Path | None = None, template: Path | None = None,
               column: str | None = None, missing: str = "blank", rescale: bool = False,
               include_pending: bool = False, db_url: str | None = None, course_id: str | None = None) -> Result:
    """Write ``output`` (default ``<root>/grades_<fmt>_<topic>.csv``); see the module's docstring."""
    if fmt not in FORMATS:
        raise ExportError(f"export-lms: unknown format {fmt!r} (one of {', '.join(FORMATS)})")
    if missing == "zero" and template is None:
        raise ExportError("export-lms: --missing zero needs --template: only the LMS's own gradebook lists the "
                          "students who did not submit")
    root = Path(root)
    if db_url is None or course_id is None:
        from nbgrader.coursedir import CourseDirectory

        from coursekit.config import load_course_config
        cd = CourseDirectory(config=load_course_config(root))
        db_url, course_id = db_url or cd.db_url, course_id or cd.course_id
    kit_max, entries = kit_grades(db_url, course_id, root, topic)
    lms = LMS_TITLE[fmt]
    result = Result(Path(output) if output else root / f"grades_{fmt}_{topic}.csv")
    tpl = TEMPLATES[fmt](read_table(Path(template)), column, topic) if template is not None else None

    factor = 1.0
    if tpl is not None and tpl.lms_max is not None and abs(tpl.lms_max - kit_max) > 1e-9:
        if not rescale or tpl.lms_max <= 0 or kit_max <= 0:
            raise ExportError(f"export-lms: the {lms} column {tpl.headers[tpl.column]!r} is out of "
                              f"{_fmt(tpl.lms_max)}, {topic} out of {_fmt(kit_max)}: set the points in {lms} to {_fmt(kit_max)}, or pass "
                              "--rescale to write each score scaled to the LMS's maximum")
        factor = tpl.lms_max / kit_max
    elif tpl is not None and tpl.lms_max is None:
        result.notes.append(f"the template does not say the {lms} column's maximum: check it is {_fmt(kit_max)}")

    # the LMS identity of each student with a submission (or everyone, for --missing zero)
    idents = {s: i for s, i in lms_ids.load(root, topic).items() if i[0] == fmt}
    owners: dict[str, list[str]] = {}
    for student, ident in idents.items():
        owners.setdefault(ident[1], []).append(student)
    scores: dict[str, tuple[str, float]] = {}          # LMS id -> (student, score)
    skipped: dict[str, list[str]] = {}

    def skip(why: str, who: str) -> None:
        skipped.setdefault(why, []).append(who)

    for student in sorted(set(idents) - {s for s, e in entries.items() if e.status != "not submitted"}):
        skip(f"imported, not graded yet (python -m coursekit grade {topic})", student)
    for student, e in sorted(entries.items()):
        if e.status == "not submitted":
            continue
        ident = idents.get(student)
        if ident is None:
            skip(f"no {lms} identity recorded (not imported from a {lms} download of {topic})", student)
        elif len(owners[ident[1]]) > 1:
            skip(f"one {lms_ids.shown(ident)} for several students ({', '.join(owners[ident[1]])})", student)
        elif e.status != "graded":
            skip("failed to grade (see grades.csv; a grader failure is not a 0)", f"{student} ({e.status})")
        elif e.pending and not include_pending:
            skip("waiting for manual grading in Formgrader (--include-pending exports the score so far)", student)
        else:
            scores[ident[1]] = (student, e.score * factor)

    if tpl is not None:
        for lms_id in sorted(set(scores) - set(tpl.rows)):
            student = scores.pop(lms_id)[0]
            why = "listed twice in the template" if lms_id in tpl.duplicates else "not in the template"
            skip(f"{why}: the {lms} gradebook has no such student (dropped the course? another section?)",
                 f"{student} ({lms_ids.shown((fmt, lms_id))})")
        for lms_id, (student, _) in sorted(scores.items()):
            ours, theirs = idents[student][2], tpl.names.get(lms_id, "")
            if ours and theirs and not _same_name(fmt, ours, theirs):
                result.notes.append(f"{student}: {lms_ids.shown((fmt, lms_id))} is {theirs!r} in the template but "
                                    f"{ours!r} in the download: exported by the id")
        known = {i[1] for i in idents.values()}
        only_lms = [lms_id for lms_id in sorted(tpl.rows) if lms_id not in scores and lms_id not in known]
        if missing == "zero":
            unmatched = [s for s, e in entries.items() if e.status != "not submitted" and s not in idents]
            if unmatched:
                raise ExportError(f"export-lms: --missing zero refused: {len(unmatched)} submission(s) have no {lms} "
                                  f"identity ({_listed(sorted(unmatched), 10)}) and would get 0; import them from the "
                                  f"{lms} download first")
            for lms_id in only_lms:
                scores[lms_id] = ("", 0.0)
        elif only_lms:
            result.notes.append(f"in the {lms} gradebook only, no submission in the kit (left as they are; "
                                f"--missing zero writes 0): " + _listed([_who(tpl, i) for i in only_lms]))
    for why, who in skipped.items():
        result.notes.append(f"not exported, {why}: {_listed(who)}")

    rows = WRITERS[fmt](tpl, scores, entries, idents, column or topic, kit_max * factor)
    buf = io.StringIO()
    w = csv.writer(buf, quoting=csv.QUOTE_ALL if fmt == "blackboard" else csv.QUOTE_MINIMAL, lineterminator="\r\n")
    for row in rows:
        w.writerow(["" if c is None else csv_cell(str(c)) for c in row])
    safeio.write_atomic(result.path, buf.getvalue().encode("utf-8"))
    result.exported = len(scores)
    return result


def _same_name(fmt: str, ours: str, theirs: str) -> bool:
    if fmt == "canvas":    # the download's name is Canvas's sortable name, non-word characters removed
        return re.sub(r"[\W_]", "", theirs).lower() == ours.lower()
    return " ".join(ours.split()).casefold() == " ".join(theirs.split()).casefold()


def _who(tpl: Template, lms_id: str) -> str:
    name = tpl.names.get(lms_id, "")
    return f"{one_line(name, 60)} ({lms_id})" if name else lms_id


def _display(e: KitEntry | None, fallback: str) -> str:
    if e is not None and (e.first or e.last) and e.last != fallback:
        return ", ".join(x for x in (e.last, e.first) if x)
    return fallback


def canvas_rows(tpl, scores, entries, idents, column, points):
    by_id = {i[1]: (s, i) for s, i in idents.items()}
    if tpl is not None:
        width = len(tpl.keep)
        yield [tpl.headers[i] for i in tpl.keep] + [tpl.headers[tpl.column]]
        pp = tpl.points_row or []
        yield ["Points Possible"] + [""] * (width - 1) + [pp[tpl.column] if len(pp) > tpl.column else ""]
        for lms_id, (_, score) in sorted(scores.items()):
            yield [tpl.rows[lms_id][i] for i in tpl.keep] + [_fmt(score)]
        return
    yield CANVAS_ID_COLUMNS + [column]
    yield ["Points Possible", "", "", "", "", _fmt(points)]
    for lms_id, (student, score) in sorted(scores.items()):
        name = _display(entries.get(student), by_id[lms_id][1][2] or student)
        yield [name, lms_id, "", "", "", _fmt(score)]


def moodle_rows(tpl, scores, entries, idents, column, points):
    if tpl is not None:
        yield [tpl.headers[i] for i in tpl.keep]
        for lms_id, (_, score) in sorted(scores.items(), key=lambda kv: int(kv[0])):
            row = list(tpl.rows[lms_id])
            row[tpl.column] = _fmt(score)
            yield [row[i] for i in tpl.keep]
        return
    now = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    yield MOODLE_COLUMNS
    by_id = {i[1]: (s, i) for s, i in idents.items()}
    for lms_id, (student, score) in sorted(scores.items(), key=lambda kv: int(kv[0])):
        e, ident = entries.get(student), by_id[lms_id][1]
        yield [f"Participant {lms_id}", ident[2], (e.email if e else "") or "", "Graded by coursekit", _fmt(score),
               _fmt(points), "Yes", (e.timestamp if e else ""), now]


def blackboard_rows(tpl, scores, entries, idents, column, points):
    if tpl is not None:
        yield [tpl.headers[i] for i in tpl.keep] + [tpl.headers[tpl.column]]
        for lms_id, (_, score) in sorted(scores.items()):
            yield [tpl.rows[lms_id][i] for i in tpl.keep] + [_fmt(score)]
        return
    yield BLACKBOARD_ID_COLUMNS + [column]
    by_id = {i[1]: s for s, i in idents.items()}
    for lms_id, (_, score) in sorted(scores.items()):
        e = entries.get(by_id[lms_id])
        last = e.last if e is not None and e.last and e.last != lms_id else ""
        yield [last, (e.first if e else "") or "", lms_id, "", _fmt(score)]


WRITERS = {"canvas": canvas_rows, "moodle": moodle_rows, "blackboard": blackboard_rows}


def main(argv: list[str] | None = None) -> int:
    from coursekit.paths import ROOT
    p = argparse.ArgumentParser(prog="python -m coursekit export-lms", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("topic", help="the graded topic, e.g. 01_tensors")
    p.add_argument("--format", required=True, choices=FORMATS, help="the LMS whose gradebook import reads the file")
    p.add_argument("--template", type=Path, help="the LMS's own gradebook export (Canvas: Grades > Export; Moodle: "
                   "the assignment's grading worksheet; Blackboard: Work Offline > Download)")
    p.add_argument("--column", help="the LMS column to fill (Canvas 'HW 1 (1234)', Blackboard 'HW 1 [Total Pts: 10 "
                   "Score] |56'); default: the one named like the topic, or a new column named after it")
    p.add_argument("--output", type=Path, help="default: grades_<format>_<topic>.csv in the course root")
    p.add_argument("--missing", choices=("blank", "zero"), default="blank",
                   help="students of the template who did not submit: left as they are (blank, default) or 0")
    p.add_argument("--rescale", action="store_true", help="scale scores to the LMS column's maximum when it differs")
    p.add_argument("--include-pending", action="store_true",
                   help="also export submissions still waiting for manual grading (their score so far)")
    p.add_argument("--root", type=Path, default=ROOT, help="course root (default: this repository)")
    a = p.parse_args(argv)
    if a.format == "moodle" and a.column:
        p.error("--column is for Canvas and Blackboard: Moodle's worksheet has one Grade column")
    result = export_lms(a.root, a.topic, a.format, a.output, a.template, a.column, a.missing, a.rescale,
                        a.include_pending)
    print(result.text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
