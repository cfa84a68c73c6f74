"""Deadlines: due dates, extensions per student, submission times from LMS downloads, and late penalties
graded exactly as plain ``nbgrader autograde`` grades them (none, zero, a plugin of the course's own)."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from coursekit import synth
from coursekit.config import KitGrading
from coursekit.grading import collect, deadlines, plan

TOPIC = synth.TINY_TOPIC
NB = f"{TOPIC}.ipynb"
FAST = 'c.KitSandbox.preload_modules = ["math"]\n'
DUE = "2026-12-01 17:00 Europe/Berlin"            # 16:00 UTC
# nbgrader's documentation example of a custom late-penalty plugin (plugins/late-plugin.rst): 1 point per hour
SUBMARKS = '''from nbgrader.plugins import BasePlugin


class SubMarks(BasePlugin):
    def late_submission_penalty(self, student_id, score, total_seconds_late):
        """Penalty of 1 mark per hour late"""
        hours_late = total_seconds_late / 3600
        return round(hours_late, 0)
'''


def _nb(text: str) -> bytes:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(f"print({text!r})")]
    return nbformat.writes(nb).encode()


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _import(tmp_path, entries, settings=None, name="lms.zip"):
    (tmp_path / name).write_bytes(_zip(entries))
    course = tmp_path / f"course-{name}"
    course.mkdir()
    report = collect.import_download(course, TOPIC, tmp_path / name, [TOPIC], settings or KitGrading())
    return course / "submitted", report


def _stamp(sub: Path, student: str) -> str | None:
    path = sub / student / TOPIC / "timestamp.txt"
    return path.read_text() if path.exists() else None


def _deadline(course, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "coursekit", "deadline", TOPIC, "--root", str(course), *args],
                          capture_output=True, text=True)


# --------------------------------------------------------------------------------------------
# what the instructor writes
# --------------------------------------------------------------------------------------------
def test_due_dates_need_a_time_zone_and_are_stored_in_utc_as_nbgrader_does():
    from nbgrader.utils import parse_utc
    assert deadlines.parse_due(DUE) == parse_utc(DUE) == dt.datetime(2026, 12, 1, 16, 0)
    assert deadlines.parse_due("2026-07-01T17:00+02:00") == dt.datetime(2026, 7, 1, 15, 0)
    assert deadlines.parse_due("2026-07-01 17:00 +0200") == dt.datetime(2026, 7, 1, 15, 0)   # not 200 seconds
    for bad, why in [("2026-12-01 17:00", "has no time zone"), ("2026-12-01 17:00 Mars/Base", "unknown time zone"),
                     ("soon", "is not a date and time")]:
        with pytest.raises(SystemExit, match=why) as err:
            deadlines.parse_due(bad)
        assert "\n" not in str(err.value) and "Europe/Berlin" in str(err.value)


def test_extensions_are_durations():
    assert deadlines.parse_duration("48h") == 48 * 3600
    assert deadlines.parse_duration("1d12h") == deadlines.parse_duration("36 hours") == 36 * 3600
    assert deadlines.parse_duration("90min") == 5400 and deadlines.parse_duration("1w") == 7 * 86400
    assert deadlines.parse_duration("0") == 0
    for bad in ("48", "2x", "h", "1d junk"):
        with pytest.raises(SystemExit, match="is not a duration; write e.g. 48h"):
            deadlines.parse_duration(bad)
    assert deadlines.describe(2.5 * 3600) == "2 h 30 min" and deadlines.describe(3 * 86400 + 60) == "3 d 1 min"


# --------------------------------------------------------------------------------------------
# submission times from LMS downloads
# --------------------------------------------------------------------------------------------
def test_blackboard_times_are_read_in_the_lms_time_zone(tmp_path):
    entries = {f"HW1_alice_attempt_2026-12-01-17-30-00_{NB}": _nb("alice")}
    sub, report = _import(tmp_path, entries)
    assert _stamp(sub, "alice") == "2026-12-01 17:30:00" and report.name_times == 1       # UTC, as before
    sub, report = _import(tmp_path, entries, KitGrading(lms_time_zone="Europe/Berlin"), "berlin.zip")
    stamp = _stamp(sub, "alice")
    from nbgrader.utils import parse_utc
    assert stamp == "2026-12-01 17:30:00 Europe/Berlin" and parse_utc(stamp) == dt.datetime(2026, 12, 1, 16, 30)
    with pytest.raises(SystemExit, match="lms_time_zone = 'Mars/Base' is not a time zone"):
        _import(tmp_path, entries, KitGrading(lms_time_zone="Mars/Base"), "mars.zip")


def test_a_folder_per_student_brings_its_timestamp_txt(tmp_path):
    """nbgrader's own layout (submitted/<student>/<topic>/timestamp.txt) and a plain folder per student;
    a timestamp.txt in a Moodle folder is the student's own file, never a submission time."""
    sub, report = _import(tmp_path, {
        f"submitted/alice/{TOPIC}/{NB}": _nb("alice"),
        f"submitted/alice/{TOPIC}/timestamp.txt": b"2026-12-01 18:00:00.123456 Europe/Berlin\n",
        f"submitted/bob/{NB}": _nb("bob"), "submitted/bob/timestamp.txt": b"2026-11-30 09:00:00",
        f"submitted/carol/{NB}": _nb("carol"), "submitted/carol/timestamp.txt": b"tuesday",
        f"submitted/dave/{NB}": _nb("dave"), "submitted/dave/99_other/timestamp.txt": b"2026-11-30 09:00:00"})
    assert _stamp(sub, "alice") == "2026-12-01 18:00:00.123456 Europe/Berlin"
    assert _stamp(sub, "bob") == "2026-11-30 09:00:00"
    assert _stamp(sub, "carol") is None and _stamp(sub, "dave") is None
    assert any("'tuesday' is not a date and time" in p for p in report.problems), report.problems
    assert any("99_other/timestamp.txt" in p and "not the submission time" in p for p in report.problems)
    assert sorted(report.untimed) == ["carol", "dave"]

    sub, report = _import(tmp_path, {f"Ann Lee_12_assignsubmission_file_/{NB}": _nb("ann"),
                                     "Ann Lee_12_assignsubmission_file_/timestamp.txt": b"2020-01-01 00:00:00"},
                          name="moodle.zip")
    assert _stamp(sub, "Ann-Lee") is None and report.untimed == ["Ann-Lee"]


def test_a_download_without_times_is_said_once_when_a_due_date_is_set(tmp_path):
    _, report = _import(tmp_path, {f"doejane_101_5001_{NB}": _nb("jane"),
                                   f"roemax_late_102_5002_{NB}": _nb("max"),
                                   f"leeann_103_5003_{NB}": _nb("ann")})
    assert sorted(report.untimed) == ["doejane", "leeann", "roemax"] and report.marked_late == ["roemax"]
    assert deadlines.import_notes(report, deadlines.Deadlines(), "UTC") == []        # no due date: nothing to say
    notes = deadlines.import_notes(report, deadlines.Deadlines(due=dt.datetime(2026, 12, 1, 16)), "UTC")
    assert len(notes) == 2, notes
    assert "no submission time for 3" in notes[0] and "timestamp.txt" in notes[0]
    assert "marks 1 of them late (roemax)" in notes[1]

    _, report = _import(tmp_path, {f"HW1_alice_attempt_2026-12-01-17-30-00_{NB}": _nb("alice")}, name="bb.zip")
    notes = deadlines.import_notes(report, deadlines.Deadlines(due=dt.datetime(2026, 12, 1, 16)), "UTC")
    assert len(notes) == 1 and "as UTC (c.KitGrading.lms_time_zone)" in notes[0]
    assert deadlines.import_notes(report, deadlines.Deadlines(due=dt.datetime(2026, 12, 1, 16)), "Europe/Berlin") == []


# --------------------------------------------------------------------------------------------
# the deadline command: stored where nbgrader keeps it
# --------------------------------------------------------------------------------------------
@pytest.fixture
def course(tmp_path):
    synth.write_tiny_topic(tmp_path / "src")
    return synth.make_course(tmp_path / "course", TOPIC, source_dir=tmp_path / "src" / TOPIC, config_extra=FAST)


def test_the_deadline_command_stores_due_dates_and_extensions_as_nbgrader_does(course):
    from nbgrader.api import Gradebook
    db = f"sqlite:///{course / 'gradebook.db'}"
    with Gradebook(db) as gb:                       # bob was graded before
        gb.update_or_create_student("bob")
        gb.update_or_create_submission(TOPIC, "bob", timestamp="2026-12-01 19:00:00")
    state = plan.State.load(course, TOPIC)
    state.record("bob", "digest-of-bob", "graded")
    state.record("carol", "digest-of-carol", "graded")
    state.save()

    done = _deadline(course, "--due", DUE, "--extend", "alice=48h", "--extend", "bob=1d12h")
    assert done.returncode == 0, done.stderr
    with Gradebook(db) as gb:
        assert gb.find_assignment(TOPIC).duedate == dt.datetime(2026, 12, 1, 16, 0)
        bob = gb.find_submission(TOPIC, "bob")
        assert bob.extension == dt.timedelta(hours=36) and bob.total_seconds_late == 0    # nbgrader's own reading
        assert [s.id for s in gb.students] == ["bob"]          # alice has no submission: nothing made up for her
    assert deadlines.read_store(course, TOPIC) == {"alice": 48 * 3600, "bob": 36 * 3600}
    dl = deadlines.load(course, db, "pytorch-nn", TOPIC)
    assert dl.due_for("alice") == dt.datetime(2026, 12, 3, 16) and dl.seconds_late("alice", "2026-12-03 17:00:00") == 3600
    # a changed deadline: everyone graded is graded again by the next run (their penalties change)
    assert {s: e["digest"] for s, e in plan.State.load(course, TOPIC).students.items()} == {"bob": "", "carol": ""}
    assert "extension alice: 2 d" in done.stdout and "graded again" in done.stdout

    state = plan.State.load(course, TOPIC)
    state.record("bob", "again", "graded")
    state.record("carol", "again", "graded")
    state.save()
    done = _deadline(course, "--extend", "bob=0")                 # taken back: only bob is graded again
    assert done.returncode == 0, done.stderr
    assert {s: e["digest"] for s, e in plan.State.load(course, TOPIC).students.items()} == {"bob": "", "carol": "again"}
    with Gradebook(db) as gb:
        assert gb.find_submission(TOPIC, "bob").extension is None
        assert gb.find_submission(TOPIC, "bob").total_seconds_late == 3 * 3600
    assert deadlines.read_store(course, TOPIC) == {"alice": 48 * 3600}

    for args, why in [(["--due", "2026-12-01 17:00"], "has no time zone"), (["--extend", "alice"], "STUDENT=DURATION"),
                      (["--extend", "al ice=2d"], "invalid student id"), (["--extend", "alice=2"], "not a duration")]:
        bad = _deadline(course, *args)
        assert bad.returncode != 0 and why in bad.stderr and "Traceback" not in bad.stderr, (args, bad.stderr)
    bad = subprocess.run([sys.executable, "-m", "coursekit", "deadline", "99_nothing", "--root", str(course)],
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "unknown topic" in bad.stderr and "Traceback" not in bad.stderr


# --------------------------------------------------------------------------------------------
# late penalties: the kit grades as plain nbgrader does
# --------------------------------------------------------------------------------------------
# student -> (submission time, extension, answers): due 16:00 UTC
STUDENTS = {
    "ann": ("2026-12-01 16:59:00 Europe/Berlin", None, {}),                     # on time
    "ben": ("2026-12-01 18:30:00", None, {}),                                   # 2 h 30 min late
    "cat": ("2026-12-04 16:00:00", None, {"ex2_square": "def square(x):\n    return 9"}),   # 3 days late, 2 points
    "dan": ("2026-12-02 22:00:00", "48h", {}),                                  # 30 h late, but 48 h extension
    "eve": ("2026-12-01 20:00:00 Europe/Berlin", "1h", {}),                     # 3 h late, 1 h extension: 2 h
}


def _submit_all(course):
    right = synth.correct_answers(course / "solutions" / TOPIC / NB)
    for student, (stamp, _, answers) in STUDENTS.items():
        nb = synth.make_submission(course / "notebooks" / TOPIC / NB, {**right, **answers})
        synth.submit(course, TOPIC, student, {NB: nb}, timestamp=stamp)


def _plain_nbgrader(course: Path, dest: Path) -> dict[str, tuple[float, float]]:
    """The same course graded by plain `nbgrader autograde` (extensions granted with nbgrader's API):
    student -> (score, late penalty)."""
    from nbgrader.api import Gradebook
    from coursekit.nbgrader_run import nbgrader
    shutil.copytree(course, dest, ignore=shutil.ignore_patterns("autograded", "feedback"))
    db = f"sqlite:///{dest / 'gradebook.db'}"
    with Gradebook(db) as gb:
        for student, (_, ext, _) in STUDENTS.items():
            gb.update_or_create_student(student)
            if ext:
                gb.update_or_create_submission(TOPIC, student)
                gb.grant_extension(TOPIC, student, minutes=deadlines.parse_duration(ext) / 60)
    nbgrader("autograde", TOPIC, "--force", root=dest, db_url=db)
    return _gradebook_scores(db)


def _gradebook_scores(db: str) -> dict[str, tuple[float, float]]:
    from nbgrader.api import Gradebook
    with Gradebook(db) as gb:
        return {s.student.id: (float(s.score), float(s.late_submission_penalty))
                for s in gb.find_assignment(TOPIC).submissions}


@pytest.mark.slow
@pytest.mark.parametrize("method", ["none", "zero", "plugin"])
def test_late_penalties_grade_as_plain_nbgrader(course, tmp_path, method):
    from coursekit.grading.pipeline import Options, grade
    config = {"none": "", "zero": "c.LateSubmissionPlugin.penalty_method = 'zero'\n",
              "plugin": "c.AssignLatePenalties.plugin_class = 'late.SubMarks'\n"}[method]
    if method == "plugin":
        (course / "late.py").write_text(SUBMARKS)          # in the course root, as nbgrader's docs say
    (course / "nbgrader_config.py").write_text((course / "nbgrader_config.py").read_text() + config)
    _submit_all(course)
    extend = [f"--extend={s}={ext}" for s, (_, ext, _) in STUDENTS.items() if ext]
    done = _deadline(course, "--due", DUE, *extend)
    assert done.returncode == 0, done.stderr
    expected = _plain_nbgrader(course, tmp_path / "plain")
    penalties = {"none": {}, "zero": {"ben": 5.0, "cat": 2.0, "eve": 5.0},
                 "plugin": {"ben": 2.0, "cat": 2.0, "eve": 2.0}}[method]
    assert expected == {s: (2.0 if s == "cat" else 5.0, penalties.get(s, 0.0)) for s in STUDENTS}, expected

    summary = grade(Options(topic=TOPIC, root=course, workers=2, progress=False, feedback=False))
    assert not summary.failed, summary.text()
    db = f"sqlite:///{course / 'gradebook.db'}"
    assert _gradebook_scores(db) == expected
    from nbgrader.api import Gradebook
    with Gradebook(db) as gb:        # the extensions are where nbgrader keeps them, and it reads them there
        late = {s.student.id: (s.extension, s.total_seconds_late) for s in gb.find_assignment(TOPIC).submissions}
    assert late == {"ann": (None, 0), "ben": (None, 9000), "cat": (None, 3 * 86400),
                    "dan": (dt.timedelta(hours=48), 0), "eve": (dt.timedelta(hours=1), 7200)}
    rows = {r["student_id"]: r for r in csv.DictReader((course / "grades.csv").open())}
    for student, (score, penalty) in expected.items():
        assert float(rows[student]["late_submission_penalty"]) == penalty
        assert float(rows[student]["score"]) == max(0.0, score - penalty)
    report = {r["student"]: r["notes"] for r in csv.DictReader((course / f"grading_report_{TOPIC}.csv").open())}
    assert "submitted 2 h 30 min late" in report["ben"] and f"late penalty {penalties.get('ben', 0.0):g}" in report["ben"]
    assert "extension 1 h" in report["eve"] and "late" not in report["dan"] and "late" not in report["ann"]
    lines = deadlines.summary_lines(summary.results)
    assert lines[0] == "late submissions (3):" and any(line.startswith("  ben: 2 h 30 min late") for line in lines)

    # an extension granted after grading: only that student is graded again, and is no longer late
    done = _deadline(course, "--extend", "ben=3h")
    assert done.returncode == 0 and "graded again" in done.stdout, done.stdout
    again = grade(Options(topic=TOPIC, root=course, workers=2, progress=False, feedback=False))
    assert again.graded == ["ben"] and _gradebook_scores(db)["ben"] == (5.0, 0.0), again.text()


@pytest.mark.slow
def test_a_plugin_that_cannot_be_imported_is_refused_with_the_way_out(course):
    from coursekit.grading.pipeline import Options, grade
    (course / "nbgrader_config.py").write_text((course / "nbgrader_config.py").read_text()
                                               + "c.AssignLatePenalties.plugin_class = 'nolate.SubMarks'\n")
    _submit_all(course)
    summary = grade(Options(topic=TOPIC, root=course, workers=1, progress=False, feedback=False, export=False))
    assert sorted(summary.failed) == sorted(STUDENTS)
    assert all("put nolate.py in the course root" in why for why in summary.failed.values()), summary.failed


def test_the_store_and_the_job_carry_the_extension(tmp_path):
    """What worker.prepare hands the sandbox (job.json), and the plugin module it ships."""
    deadlines.write_store(tmp_path, TOPIC, {"alice": 7200.0})
    assert json.loads(deadlines.store_path(tmp_path, TOPIC).read_text())["extensions"] == {"alice": 7200.0}
    (tmp_path / "late.py").write_text(SUBMARKS)
    mods = deadlines.plugin_modules(tmp_path, {"AssignLatePenalties": {"plugin_class": "late.SubMarks"}})
    assert mods == {"late.py": SUBMARKS}
    assert deadlines.plugin_modules(tmp_path, {}) == {}
    assert deadlines.plugin_modules(tmp_path, {"AssignLatePenalties": {
        "plugin_class": "nbgrader.plugins.latesubmission.LateSubmissionPlugin"}}) == {}
