"""The grading pipeline on a tiny topic (fast kernels, no torch): LMS file names, re-runs that skip
what is graded, --force, manual grades and comments that survive a regrade, a gradebook URL from
the configuration. The hostile-submission suite on a real topic is tests/test_grading_faults.py."""
from __future__ import annotations

import os
import re
import time

import pytest

from utils import grading
from utils import grading_synth as gs

TOPIC = gs.TINY_TOPIC
NB = f"{TOPIC}.ipynb"


def test_lms_pattern_matches_the_documented_file_names():
    rx = re.compile(grading.lms_regexp(["01_tensors"]))
    cases = {
        "/x/extracted/jdoe42_12345_assignsubmission_file_01_tensors.ipynb": ("jdoe42", "01_tensors.ipynb"),
        "/x/extracted/jdoe42_01_tensors.ipynb": ("jdoe42", "01_tensors.ipynb"),
        "/x/extracted/zoë_Prüfung_01_tensors.ipynb": ("zoë", "01_tensors.ipynb"),
        "/x/extracted/smith_late_2_01_tensors.ipynb": ("smith", "01_tensors.ipynb"),
    }
    for path, (student, file_id) in cases.items():
        m = rx.match(path)
        assert m and (m["student_id"], m["file_id"]) == (student, file_id), path
    for bad in ("/x/extracted/01_tensors.ipynb", "/x/extracted/jdoe_notes.ipynb", "/x/jdoe_02_mlp.ipynb"):
        assert not rx.match(bad), bad


def test_cli_help_documents_the_pattern(capsys):
    with pytest.raises(SystemExit):
        grading.main(["--help"])
    out = capsys.readouterr().out
    assert "<student_id>_<anything>_<notebook>.ipynb" in out and "--force" in out


def test_sandbox_off_warns():
    box = grading.probe_sandbox(1024, mode="off")
    assert box.warnings and not box.drop_user and not box.no_net
    assert "network NOT isolated" in box.describe()


@pytest.fixture
def tiny_course(tmp_path):
    gs.write_tiny_topic(tmp_path / "src")
    db = tmp_path / "elsewhere" / "grades.sqlite"
    db.parent.mkdir()
    course = gs.make_course(tmp_path / "course", TOPIC, source_dir=tmp_path / "src" / TOPIC,
                            config_extra=f'c.CourseDirectory.db_url = "sqlite:///{db}"')
    return course, f"sqlite:///{db}"


def _submit(course, student, answers):
    nb = gs.make_submission(course / "notebooks" / TOPIC / NB, answers)
    return gs.submit(course, TOPIC, student, {NB: nb})


def _grade(course, **kw):
    return grading.grade(grading.Options(topic=TOPIC, root=course, workers=2, progress=False, **kw))


@pytest.mark.slow
def test_rerun_skips_force_regrades_and_manual_grades_survive(tiny_course):
    from nbgrader.api import Gradebook

    course, db_url = tiny_course
    src = course / "solutions" / TOPIC / NB
    right = gs.correct_answers(src)
    _submit(course, "ann", right)
    _submit(course, "ben", {**right, "ex2_square": "def square(x):\n    return 9"})
    first = _grade(course)
    assert sorted(first.graded) == ["ann", "ben"] and not first.failed
    assert first.scores == {"ann": (5.0, 5.0), "ben": (2.0, 5.0)}
    assert first.cell_fail_share == {"ex1_double_tests": 0.0, "ex2_square_tests": 0.5}
    assert (course / "grades.csv").exists() and (course / "feedback" / "ann" / TOPIC / f"{TOPIC}.html").exists()
    assert not (course / "gradebook.db").exists(), "the configured db_url must be used"

    # the instructor overrides ben's ex2 in the formgrader and leaves a comment
    with Gradebook(db_url) as gb:
        grade = gb.find_grade("ex2_square_tests", TOPIC, TOPIC, "ben")
        grade.manual_score = 2.5
        comment = gb.find_comment("ex2_square", TOPIC, TOPIC, "ben")
        comment.manual_comment = "close: check the hidden test"
        gb.db.commit()

    second = _grade(course, feedback=False)
    assert second.graded == [] and sorted(second.skipped) == ["ann", "ben"]

    time.sleep(1.1)  # ben resubmits: newer than his grade
    _submit(course, "ben", {**right, "ex2_square": "def square(x):\n    return x ** 2"})
    third = _grade(course, feedback=False)
    assert third.graded == ["ben"] and third.skipped == ["ann"]

    fourth = _grade(course, force=True, feedback=False)
    assert sorted(fourth.graded) == ["ann", "ben"]
    with Gradebook(db_url) as gb:
        grade = gb.find_grade("ex2_square_tests", TOPIC, TOPIC, "ben")
        assert grade.auto_score == 3.0 and grade.manual_score == 2.5 and grade.score == 2.5
        assert grade.needs_manual_grade  # the autograder changed its mind: the instructor should look
        assert gb.find_comment("ex2_square", TOPIC, TOPIC, "ben").manual_comment == "close: check the hidden test"
        assert gb.find_submission(TOPIC, "ann").score == 5.0
