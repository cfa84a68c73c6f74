"""Grades into Canvas, Moodle and Blackboard: downloads named the way each LMS names its files are
imported (collect.import_download, which records each student's LMS identity), the gradebook is
filled as grading leaves it, and the LMS's gradebook-import CSV is read back with the csv module.

Students are matched only by the LMS's own id (Canvas user id, Moodle participant number, Blackboard
username); names with commas, quotes, non-ASCII letters and a formula come back as written (the formula
neutralised, as in grades.csv); failed, pending and unmatched submissions are listed, never exported.
The whole chain through the real grader is the last test (slow)."""
from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import nbformat
import pytest

from coursekit.config import KitGrading
from coursekit.grading import collect, gradebook, lms_export, lms_ids, plan

NB = "01_tensors"
TOPIC = NB
DATE = (2024, 1, 1, 0, 0, 0)


@pytest.fixture(autouse=True)
def _alembic_on_path(monkeypatch):
    from coursekit.paths import tool_env
    monkeypatch.setenv("PATH", tool_env()["PATH"])          # nbgrader runs alembic for a new gradebook


def _nb(text: str) -> bytes:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(f"print({text!r})")]
    return nbformat.writes(nb).encode()


def _zip(names: list[str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in names:
            zf.writestr(zipfile.ZipInfo(name, date_time=DATE), _nb(name))
    return buf.getvalue()


def _import(course: Path, names: list[str], upload: str = "download.zip"):
    archive = course.parent / upload
    archive.write_bytes(_zip(names))
    course.mkdir(exist_ok=True)
    report = collect.import_download(course, TOPIC, archive, [NB], KitGrading())
    _names_into_gradebook(course, report.names)
    return report


def _db(course: Path) -> str:
    return f"sqlite:///{course}/gradebook.db"


def _names_into_gradebook(course, names):
    from nbgrader.api import Gradebook
    with Gradebook(_db(course), "") as gb:      # as pipeline._record_names does after the import
        gradebook.record_names(gb, names)


def _fill(course: Path, grades: dict, max_score: float = 10.0) -> None:
    """The gradebook as grading leaves it: student -> score, (score, late penalty), or
    (score, penalty, 'pending'|'failed')."""
    from nbgrader.api import Gradebook
    from sqlalchemy.exc import SAWarning
    state = plan.State.load(course, TOPIC)
    with Gradebook(_db(course), "") as gb, warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)      # nbgrader's own add_submission
        if not any(a.name == TOPIC for a in gb.assignments):
            gb.add_assignment(TOPIC)
            gb.add_notebook(NB, TOPIC)
            gb.add_grade_cell("ex1", NB, TOPIC, max_score=max_score, cell_type="code")
        for student, value in grades.items():
            score, penalty, how = (value, 0.0, "") if not isinstance(value, tuple) else (value + ("",))[:3]
            gb.update_or_create_student(student)
            gb.add_submission(TOPIC, student)
            g = gb.find_grade("ex1", NB, TOPIC, student)
            g.auto_score, g.needs_manual_grade = score, how == "pending"
            gb.find_submission_notebook(NB, TOPIC, student).late_submission_penalty = penalty
            state.record(student, "digest", "failed" if how == "failed" else "graded",
                         "the kernel died" if how == "failed" else "")
        gb.db.commit()
    state.save()


def _export(course, fmt, **kw):
    return lms_export.export_lms(course, TOPIC, fmt, **kw)


def _read(result) -> list[list[str]]:
    text = Path(result.path).read_text(encoding="utf-8")
    return list(csv.reader(io.StringIO(text, newline="")))


def _template(tmp_path, rows, name="template.csv", delimiter=",", encoding="utf-8"):
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\n").writerows(rows)
    path = tmp_path / name
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


# --------------------------------------------------------------------------------------------
# Canvas: '<sortable name, lower-cased, non-word characters removed>_[late_]<user id>_<file id>_<file>'
# --------------------------------------------------------------------------------------------
def test_canvas_without_template_exports_by_user_id_with_late_penalty(tmp_path):
    course = tmp_path / "course"
    report = _import(course, [f"doejane_101_5001_{NB}.ipynb", f"núñezjosé_late_102_5002_{NB}.ipynb",
                              f"obrienseán_103_5003_{NB}.ipynb"])
    assert sorted(report.imported) == ["doejane", "núñezjosé", "obrienseán"], report.problems
    assert lms_ids.load(course, TOPIC)["doejane"] == ("canvas", "101", "doejane")
    _fill(course, {"doejane": 7.5, "núñezjosé": (9.0, 2.0), "obrienseán": (4.0, 0.0, "pending")})
    result = _export(course, "canvas")
    rows = _read(result)
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", TOPIC]
    assert rows[1][0] == "Points Possible" and rows[1][5] == "10"
    assert {r[1]: r[5] for r in rows[2:]} == {"101": "7.5", "102": "7"}      # 9 - 2 late
    assert {r[1]: r[0] for r in rows[2:]}["102"] == "núñezjosé"
    assert any("obrienseán" in n and "manual grading" in n for n in result.notes), result.notes
    pending = _read(_export(course, "canvas", include_pending=True))
    assert {r[1]: r[5] for r in pending[2:]}["103"] == "4"


def _canvas_template(tmp_path, points="10"):
    return _template(tmp_path, [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Homework 1 (555)", f"{TOPIC} (777)",
         "Current Score", "Final Score"],
        ["    Points Possible", "", "", "", "", "5", points, "(read only)", "(read only)"],
        ["Doe, Jane", "101", "s101", "jdoe", "Section A", "5", "", "80", "80"],
        ["Núñez, José", "102", "s102", "jnunez", "Section A", "4", "", "70", "70"],
        ["O'Brien, Seán", "103", "s103", "sobrien", "Section B", "3", "", "60", "60"],
        ["Roe, Max", "105", "s105", "mroe", "Section B", "3", "", "60", "60"],
    ])


def test_canvas_with_its_export_as_template_matches_ids_and_lists_both_sides(tmp_path):
    course = tmp_path / "course"
    _import(course, [f"doejane_101_5001_{NB}.ipynb", f"núñezjosé_late_102_5002_{NB}.ipynb",
                     f"smithann_104_5004_{NB}.ipynb"])
    _fill(course, {"doejane": 7.5, "núñezjosé": (0.0, 0.0, "failed"), "smithann": 9.0})
    _import(course, [f"obrienseán_103_5003_{NB}.ipynb"], "late.zip")         # imported after grading
    template = _canvas_template(tmp_path)
    result = _export(course, "canvas", template=template)
    rows = _read(result)
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", f"{TOPIC} (777)"]
    assert rows[1][0] == "Points Possible" and rows[1][-1] == "10"
    assert rows[2:] == [["Doe, Jane", "101", "s101", "jdoe", "Section A", "7.5"]]   # only who the kit grades
    notes = "\n".join(result.notes)
    assert "núñezjosé (failed: the kernel died)" in notes and "a grader failure is not a 0" in notes
    assert "smithann (Canvas user 104)" in notes and "not in the template" in notes
    only_lms = next(n for n in result.notes if "gradebook only" in n)
    assert only_lms.endswith(": Roe, Max (105)"), only_lms                  # not O'Brien: imported, ungraded
    assert "not graded yet (python -m coursekit grade 01_tensors): obrienseán" in notes

    zero = _read(_export(course, "canvas", template=template, missing="zero"))
    assert {r[1]: r[-1] for r in zero[2:]} == {"101": "7.5", "105": "0"}   # imported, not graded: no 0
    _fill(course, {"obrienseán": 6.0})
    zero = _read(_export(course, "canvas", template=template, missing="zero"))
    assert {r[1]: r[-1] for r in zero[2:]} == {"101": "7.5", "103": "6", "105": "0"}   # the failed 102 gets no 0


def test_canvas_points_that_differ_are_refused_unless_rescaled(tmp_path):
    course = tmp_path / "course"
    _import(course, [f"doejane_101_5001_{NB}.ipynb"])
    _fill(course, {"doejane": 7.5})
    template = _canvas_template(tmp_path, points="100")
    with pytest.raises(SystemExit, match="out of 100.*out of 10.*--rescale"):
        _export(course, "canvas", template=template)
    rows = _read(_export(course, "canvas", template=template, rescale=True))
    assert rows[2][-1] == "75"
    with pytest.raises(SystemExit, match="no column 'HW 9'.*Homework 1 \\(555\\)"):
        _export(course, "canvas", template=template, column="HW 9")
    picked = _read(_export(course, "canvas", template=template, column="Homework 1 (555)", rescale=True))
    assert picked[0][-1] == "Homework 1 (555)" and picked[2][-1] == "3.75"


def test_a_student_without_this_lms_identity_is_never_exported(tmp_path):
    course = tmp_path / "course"
    _import(course, [f"alice/{NB}.ipynb", f"bob/{NB}.ipynb"])          # a folder per student: no LMS id
    _fill(course, {"alice": 8.0, "bob": 6.0})
    result = _export(course, "canvas")
    assert _read(result)[2:] == [] and result.exported == 0
    assert any("no Canvas identity recorded" in n and "alice, bob" in n for n in result.notes), result.notes
    with pytest.raises(SystemExit, match="--missing zero refused: 2 submission"):
        _export(course, "canvas", template=_canvas_template(tmp_path), missing="zero")


def test_a_later_download_giving_the_id_to_another_person_is_refused(tmp_path):
    course = tmp_path / "course"
    _import(course, [f"doejane_101_5001_{NB}.ipynb"], "first.zip")
    report = _import(course, [f"doejane_109_5009_{NB}.ipynb", f"roemax_110_5010_{NB}.ipynb"], "second.zip")
    assert sorted(report.imported) == ["roemax"], report.problems
    assert any("Canvas user 109" in p and "Canvas user 101" in p and "not imported" in p for p in report.problems)
    sub = course / "submitted" / "doejane" / TOPIC / f"{NB}.ipynb"
    assert f"doejane_101_5001_{NB}.ipynb" in sub.read_text()        # the first person's work stays
    assert lms_ids.load(course, TOPIC)["doejane"][:2] == ("canvas", "101")


# --------------------------------------------------------------------------------------------
# Moodle: '<Full name>_<participant>_assignsubmission_file_[/]<file>'; the grading worksheet
# --------------------------------------------------------------------------------------------
FORMULA = "=HYPERLINK(evil.example) Doe"


def test_moodle_worksheet_names_with_commas_quotes_non_ascii_and_a_formula(tmp_path):
    course = tmp_path / "course"
    report = _import(course, [f"Jane Doe_45_assignsubmission_file_/{NB}.ipynb",
                              f"John Smith, Jr._46_assignsubmission_file_/work/{NB}.ipynb",
                              f"Seán \"Shay\" O'Brien_47_assignsubmission_file_/{NB}.ipynb",
                              f"{FORMULA}_48_assignsubmission_file_/{NB}.ipynb"])
    assert len(report.imported) == 4, report.problems
    ids = {ident[1]: s for s, ident in lms_ids.load(course, TOPIC).items()}
    _fill(course, {ids["45"]: 10.0, ids["46"]: (8.0, 1.5), ids["47"]: 6.25, ids["48"]: 2.0})
    result = _export(course, "moodle")
    rows = _read(result)
    assert rows[0] == lms_export.MOODLE_COLUMNS
    got = {r[0]: dict(zip(rows[0], r)) for r in rows[1:]}
    assert sorted(got) == ["Participant 45", "Participant 46", "Participant 47", "Participant 48"]
    assert got["Participant 46"]["Full name"] == "John Smith, Jr." and got["Participant 46"]["Grade"] == "6.5"
    assert got["Participant 47"]["Full name"] == "Seán \"Shay\" O'Brien" and got["Participant 47"]["Grade"] == "6.25"
    assert got["Participant 48"]["Full name"] == "'" + FORMULA, "a formula must not reach the spreadsheet"
    assert all(r["Maximum Grade"] == "10" and r["Last modified (grade)"] for r in got.values())


def test_moodle_flat_download_and_its_worksheet_as_template(tmp_path):
    course = tmp_path / "course"
    _import(course, [f"Jane Doe_45_assignsubmission_file_{NB}.ipynb",
                     f"Ann Lee_49_assignsubmission_file_{NB}.ipynb"])
    ids = {ident[1]: s for s, ident in lms_ids.load(course, TOPIC).items()}
    _fill(course, {ids["45"]: 10.0, ids["49"]: 7.0})
    header = ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade", "Grade can be changed",
              "Last modified (submission)", "Last modified (grade)", "Feedback comments"]
    template = _template(tmp_path, [
        header,
        ["Participant 45", "Jane Doe", "jane@example.org", "Submitted for grading", "", "10.00", "Yes",
         "Monday, 15 January 2024, 10:00 AM", "-", "Good start"],
        ["Participant 50", "Max Roe", "max@example.org", "No submission", "", "10.00", "Yes", "-", "-", ""],
    ])
    result = _export(course, "moodle", template=template)
    rows = _read(result)
    assert rows[0] == header[:-1], "feedback columns are left out: the kit never overwrites a comment"
    assert rows[1:] == [["Participant 45", "Jane Doe", "jane@example.org", "Submitted for grading", "10", "10.00",
                         "Yes", "Monday, 15 January 2024, 10:00 AM", "'-"]]
    notes = "\n".join(result.notes)
    assert "Ann-Lee (Moodle participant 49)" in notes and "Max Roe (50)" in notes
    bad = _template(tmp_path, [["Kennung", "Bewertung"], ["Teilnehmer/in 45", ""]], name="de.csv")
    with pytest.raises(SystemExit, match="not a Moodle grading worksheet"):
        _export(course, "moodle", template=bad)


# --------------------------------------------------------------------------------------------
# Blackboard: '<assignment>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>_<file>'; the Grade Center upload
# --------------------------------------------------------------------------------------------
def test_blackboard_upload_every_cell_quoted(tmp_path):
    course = tmp_path / "course"
    _import(course, [f"Homework 1_jdoe_attempt_2024-01-02-10-00-00_{NB}.ipynb",
                     "Homework 1_jdoe_attempt_2024-01-02-10-00-00.txt",
                     f"Homework 1_bitdiddle_attempt_2024-01-03-10-00-00_{NB}.ipynb"])
    _fill(course, {"jdoe": 9.0, "bitdiddle": (5.0, 1.0)})
    result = _export(course, "blackboard")
    text = Path(result.path).read_text(encoding="utf-8")
    assert text.splitlines()[0] == '"Last Name","First Name","Username","Student ID","01_tensors"'
    rows = _read(result)
    assert {r[2]: r[4] for r in rows[1:]} == {"bitdiddle": "4", "jdoe": "9"}


def test_blackboard_grade_center_download_as_template_utf16_tabs(tmp_path):
    course = tmp_path / "course"
    _import(course, [f"Homework 1_jdoe_attempt_2024-01-02-10-00-00_{NB}.ipynb",
                     f"Homework 1_ghost_attempt_2024-01-02-10-00-00_{NB}.ipynb"])
    _fill(course, {"jdoe": 9.0, "ghost": 3.0})
    column = f"{TOPIC} [Total Pts: 10 Score] |1234"
    template = _template(tmp_path, [
        ["Last Name", "First Name", "Username", "Student ID", "Last Access", "Availability",
         "Quiz [Total Pts: 5 Score] |1200", column],
        ["Doe", "Jane", "jdoe", "S1", "2024-01-01", "Available", "4", ""],
        ["Ng", "Zoë", "zng", "S2", "2024-01-01", "Available", "5", ""],
    ], name="gc_course_fullgc.xls", delimiter="\t", encoding="utf-16")
    result = _export(course, "blackboard", template=template)
    rows = _read(result)
    assert rows == [["Last Name", "First Name", "Username", "Student ID", column], ["Doe", "Jane", "jdoe", "S1", "9"]]
    notes = "\n".join(result.notes)
    assert "ghost (Blackboard user ghost)" in notes and "Zoë Ng (zng)" in notes


# --------------------------------------------------------------------------------------------
# the command
# --------------------------------------------------------------------------------------------
def test_the_command_and_its_one_line_errors(tmp_path):
    course = tmp_path / "course"
    _import(course, [f"doejane_101_5001_{NB}.ipynb"])
    _fill(course, {"doejane": 7.5})

    def run(*args):
        return subprocess.run([sys.executable, "-m", "coursekit", "export-lms", *args, "--root", str(course)],
                              capture_output=True, text=True, timeout=120)

    ok = run(TOPIC, "--format", "canvas")
    assert ok.returncode == 0, ok.stderr
    assert "1 grade(s) written to" in ok.stdout and (course / f"grades_canvas_{TOPIC}.csv").is_file()
    for args, says in [(("02_missing", "--format", "canvas"), "not in the gradebook"),
                       ((TOPIC, "--format", "canvas", "--template", str(tmp_path / "none.csv")), "cannot read"),
                       ((TOPIC, "--format", "canvas", "--missing", "zero"), "needs --template")]:
        bad = run(*args)
        assert bad.returncode != 0 and says in bad.stderr and "Traceback" not in bad.stderr, bad.stderr
    not_canvas = _template(tmp_path, [["Name", "Score"], ["x", "1"]])
    bad = run(TOPIC, "--format", "canvas", "--template", str(not_canvas))
    assert "not a Canvas gradebook export" in bad.stderr and "Traceback" not in bad.stderr
    assert json.loads(lms_ids.path(course, TOPIC).read_text())["version"] == lms_ids.VERSION


# --------------------------------------------------------------------------------------------
# the whole chain: a Moodle download graded by the real grader, then the worksheet
# --------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_moodle_download_graded_by_the_kit_then_exported(tmp_path):
    from coursekit import synth
    from coursekit.grading.pipeline import Options, grade

    tiny = synth.TINY_TOPIC
    synth.write_tiny_topic(tmp_path / "src")
    course = synth.make_course(tmp_path / "course", tiny, source_dir=tmp_path / "src" / tiny,
                               config_extra='c.KitSandbox.preload_modules = ["math"]\n')
    student_nb = course / "notebooks" / tiny / f"{tiny}.ipynb"
    right = synth.correct_answers(course / "solutions" / tiny / f"{tiny}.ipynb")
    wrong = {**right, "ex2_square": "def square(x):\n    return 9"}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, uid, answers in (("Zoë Ng", 7, right), ("Seán O'Brien, Jr.", 8, wrong)):
            zf.writestr(f"{name}_{uid}_assignsubmission_file_/{tiny}.ipynb",
                        nbformat.writes(synth.make_submission(student_nb, answers)))
    (tmp_path / "moodle.zip").write_bytes(buf.getvalue())
    summary = grade(Options(topic=tiny, root=course, source=tmp_path / "moodle.zip", workers=2, progress=False,
                            feedback=False))
    assert sorted(summary.graded) == ["Seán-O-Brien-Jr", "Zoë-Ng"], summary.text()
    with open(course / "grades.csv", newline="", encoding="utf-8") as f:
        kit = {r["student_id"]: r["score"] for r in csv.DictReader(f)}
    result = lms_export.export_lms(course, tiny, "moodle")
    rows = _read(result)
    got = {r[0]: (r[1], r[4], r[5]) for r in rows[1:]}
    assert got == {"Participant 7": ("Zoë Ng", lms_export._fmt(float(kit["Zoë-Ng"])), "5"),
                   "Participant 8": ("Seán O'Brien, Jr.", lms_export._fmt(float(kit["Seán-O-Brien-Jr"])), "5")}
    assert got["Participant 8"][1] != got["Participant 7"][1], "the wrong answer must cost points"
