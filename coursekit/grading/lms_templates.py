"""The LMS's own gradebook export, read as the template of the LMS grade export (lms_export): Canvas's
Grades > Export CSV, Moodle's grading worksheet, Blackboard's Grade Center download (comma CSV, or its
tab-separated UTF-16 '.xls'). Each gives the LMS's identity of every student, the column to fill (its
header with the LMS's id of the column) and, where the file says it, the column's maximum."""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

MOODLE_COLUMNS = ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade",
                  "Grade can be changed", "Last modified (submission)", "Last modified (grade)"]
BLACKBOARD_ID_COLUMNS = ["Last Name", "First Name", "Username", "Student ID"]
MAX_TEMPLATE = 64 << 20


class ExportError(SystemExit):
    """Bad input: one line saying what was wrong and what to do."""

def read_table(path: Path) -> list[list[str]]:
    """A CSV (or Blackboard's tab-separated UTF-16 '.xls') as rows of text."""
    try:
        data = Path(path).read_bytes()[:MAX_TEMPLATE + 1]
    except OSError as exc:
        raise ExportError(f"export-lms: cannot read the template {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_TEMPLATE:
        raise ExportError(f"export-lms: the template {path} is larger than {MAX_TEMPLATE >> 20} MiB")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        text = data.decode("utf-16", "replace")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ExportError(f"export-lms: the template {path} is not UTF-8 text: export it again from the LMS "
                              "(or save it as 'CSV UTF-8')") from None
    first = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first.count)
    rows = [[c.strip() for c in row] for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]
    rows = [r for r in rows if any(r)]
    if not rows:
        raise ExportError(f"export-lms: the template {path} is empty")
    return rows


def _number(text) -> float | None:
    m = re.fullmatch(r"\s*(\d+(?:[.,]\d+)?)\s*", str(text or ""))
    return float(m[1].replace(",", ".")) if m else None


def _title(header: str) -> str:
    """An LMS column's name without its id or points: 'HW 1 (123)', 'HW 1 [Total Pts: 10 Score] |45'."""
    return re.sub(r"\s*(\(\d+\)|\[[^\]]*\]\s*\|\s*\d+|\[[^\]]*\]|\|\s*\d+)\s*$", "", header).strip()


def _pick(headers: list[str], candidates: list[int], column: str | None, topic: str, lms: str) -> int:
    want = column or topic
    exact = [i for i in candidates if headers[i] == want]
    named = exact or [i for i in candidates if _title(headers[i]) == _title(want)]
    if len(named) == 1:
        return named[0]
    listed = "; ".join(headers[i] for i in candidates[:20]) or "none"
    if named:
        raise ExportError(f"export-lms: {len(named)} {lms} columns are named {want!r}: name one with --column "
                          f"(the full header, with its id): {listed}")
    raise ExportError(f"export-lms: the template has no column {want!r}: name the {lms} column with --column "
                      f"(one of: {listed})")


@dataclass
class Template:
    headers: list[str]
    key: int                              # the column of the LMS's identity
    column: int                           # the grade column
    rows: dict[str, list[str]]            # LMS id -> the row
    names: dict[str, str]                 # LMS id -> the name the LMS shows
    lms_max: float | None = None
    keep: list[int] = field(default_factory=list)   # the columns written back
    points_row: list[str] | None = None   # Canvas's "Points Possible" row
    duplicates: list[str] = field(default_factory=list)


def _rows(t: Template, body: list[list[str]], ident) -> None:
    width = len(t.headers)
    for row in body:
        row = row + [""] * (width - len(row))
        lms_id = ident(row[t.key])
        if not lms_id:
            continue
        if lms_id in t.rows:
            t.duplicates.append(lms_id)
        t.rows[lms_id] = row
    for lms_id in set(t.duplicates):
        del t.rows[lms_id]


def canvas_template(rows, column, topic) -> Template:
    h = rows[0]
    if len(h) < 3 or "Student" not in h[0] or h[1].strip() != "ID" or "Section" not in h:
        raise ExportError("export-lms: the template is not a Canvas gradebook export (Grades > Export): its first "
                          "columns must be Student, ID, ... Section")
    section = h.index("Section")
    skip = re.compile(r"(Unposted )?(Current|Final|Override) (Score|Points|Grade|Status)")
    candidates = [i for i in range(section + 1, len(h)) if h[i] and not skip.match(h[i])]
    t = Template(h, 1, _pick(h, candidates, column, topic, "Canvas"), {}, {}, keep=list(range(section + 1)))
    body = []
    for row in rows[1:]:
        if row[0].strip().startswith("Points Possible"):
            t.points_row = row
        elif not all(re.fullmatch(r"(Muted|Manual Posting.*)?", c.strip(), re.I) for c in row):
            body.append(row)
    if t.points_row is not None and len(t.points_row) > t.column:
        t.lms_max = _number(t.points_row[t.column])
    _rows(t, body, lambda v: v if v.isdigit() else "")
    t.names = {i: r[0] for i, r in t.rows.items()}
    return t


def moodle_template(rows, column, topic) -> Template:
    h = rows[0]
    need = ["Identifier", "Grade", "Last modified (grade)"]
    if not all(n in h for n in need):
        raise ExportError("export-lms: the template is not a Moodle grading worksheet (Assignment > View all "
                          "submissions > Download grading worksheet) in English: it needs the columns "
                          + ", ".join(need))
    keep = [i for i, name in enumerate(h) if name in MOODLE_COLUMNS]     # feedback columns are left out
    t = Template(h, h.index("Identifier"), h.index("Grade"), {}, {}, keep=keep)
    _rows(t, rows[1:], lambda v: (re.search(r"(\d+)\s*$", v) or [None, ""])[1])
    names = h.index("Full name") if "Full name" in h else None
    t.names = {i: (r[names] if names is not None else "") for i, r in t.rows.items()}
    if "Maximum Grade" in h:
        maxima = {_number(r[h.index("Maximum Grade")]) for r in t.rows.values()} - {None}
        t.lms_max = maxima.pop() if len(maxima) == 1 else None
    return t


def blackboard_template(rows, column, topic) -> Template:
    h = rows[0]
    if "Username" not in h:
        raise ExportError("export-lms: the template is not a Blackboard Grade Center download (Work Offline > "
                          "Download, full Grade Center): it has no Username column")
    first_grade = max(h.index(c) for c in BLACKBOARD_ID_COLUMNS if c in h) + 1
    skip = {"Last Access", "Availability", "Child Course ID"}
    candidates = [i for i in range(first_grade, len(h)) if h[i] and h[i] not in skip]
    t = Template(h, h.index("Username"), _pick(h, candidates, column, topic, "Blackboard"), {}, {},
                 keep=[h.index(c) for c in BLACKBOARD_ID_COLUMNS if c in h])
    m = re.search(r"Total Pts:\s*(?:up to\s*)?(\d+(?:[.,]\d+)?)", h[t.column])
    t.lms_max = _number(m[1]) if m else None
    _rows(t, rows[1:], lambda v: v)
    last, first = (h.index(c) if c in h else None for c in ("Last Name", "First Name"))
    t.names = {i: " ".join(r[k] for k in (first, last) if k is not None) for i, r in t.rows.items()}
    return t


TEMPLATES = {"canvas": canvas_template, "moodle": moodle_template, "blackboard": blackboard_template}
