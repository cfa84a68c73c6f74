"""The grading pipeline on a tiny topic (no torch: fast kernels): re-runs, resubmissions by content,
manual grades, feedback, a configured gradebook URL, Ctrl-C/SIGTERM, kill -9 and two runs at once.

The hostile-submission suite on a real topic is test_faults.py; every topic's solution through
the grader is test_all_topics.py.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from coursekit import synth
from coursekit.grading.pipeline import Options, grade
from coursekit.paths import tool_env

TOPIC = synth.TINY_TOPIC
NB = f"{TOPIC}.ipynb"
pytestmark = pytest.mark.slow
# the tiny topic needs no torch in its kernels: the slots' zygotes need not import it
FAST = 'c.KitSandbox.preload_modules = ["math"]\n'


def _course(tmp_path, extra=""):
    synth.write_tiny_topic(tmp_path / "src")
    return synth.make_course(tmp_path / "course", TOPIC, source_dir=tmp_path / "src" / TOPIC, config_extra=FAST + extra)


def _submit(course, student, answers=None, **changes):
    right = synth.correct_answers(course / "solutions" / TOPIC / NB)
    nb = synth.make_submission(course / "notebooks" / TOPIC / NB, {**right, **(answers or {})})
    return synth.submit(course, TOPIC, student, {NB: nb})


def _text(path) -> str:
    """What an HTML page shows (tags removed, entities decoded): syntax highlighting splits code."""
    import html
    import re
    return html.unescape(re.sub(r"<[^>]+>", "", Path(path).read_text()))


def _grade(course, **kw):
    return grade(Options(topic=TOPIC, root=course, workers=2, progress=False, **kw))


def _cli(course, *args):
    return [sys.executable, "-m", "coursekit", "grade", TOPIC, "--root", str(course), "--quiet", "--workers", "2", *args]


def test_rerun_resubmission_force_manual_grades_and_feedback(tmp_path):
    from nbgrader.api import Gradebook

    db = tmp_path / "elsewhere" / "grades.sqlite"
    db.parent.mkdir()
    course = _course(tmp_path, f'c.CourseDirectory.db_url = "sqlite:///{db}"\n')
    db_url = f"sqlite:///{db}"
    _submit(course, "ann")
    _submit(course, "ben", {"ex2_square": "def square(x):\n    return 9"})
    first = _grade(course)
    assert first.graded == ["ann", "ben"] and not first.failed and not first.flagged
    assert first.scores == {"ann": (5.0, 5.0), "ben": (2.0, 5.0)}
    assert first.cell_fail_share == {"ex1_double_tests": 0.0, "ex2_square_tests": 0.5}
    feedback = course / "feedback" / "ben" / TOPIC / f"{TOPIC}.html"
    html = _text(feedback)
    assert "isclose(square(-4), 16)" not in html, "hidden tests must not be in the feedback"
    assert "isclose(square(3), 9)" in html and (course / "grades.csv").exists()
    assert not (course / "gradebook.db").exists(), "the configured db_url must be used"
    assert list(db.parent.glob("grades.sqlite.bak-*")), "the gradebook is backed up before a run"

    with Gradebook(db_url) as gb:           # the instructor's manual grade and comment
        g = gb.find_grade("ex2_square_tests", TOPIC, TOPIC, "ben")
        g.manual_score = 2.5
        gb.find_comment("ex2_square", TOPIC, TOPIC, "ben").manual_comment = "close"
        gb.db.commit()

    os.utime(course / "submitted" / "ann" / TOPIC / NB)   # touched, same content: not regraded
    second = _grade(course)
    assert second.graded == [] and sorted(second.skipped) == ["ann", "ben"]

    ann_feedback = course / "feedback" / "ann" / TOPIC / f"{TOPIC}.html"
    assert re.search(r"Score: 5\.0 / 5\.0", _text(ann_feedback))
    _submit(course, "ann", {"ex2_square": "def square(x):\n    return 9"})   # resubmitted, worse
    _submit(course, "ben", {"ex2_square": "def square(x):\n    return x ** 2"})  # resubmitted, right
    third = _grade(course)
    assert third.graded == ["ann", "ben"] and third.scores["ann"] == (2.0, 5.0)
    assert re.search(r"Score: 2\.0 / 5\.0", _text(ann_feedback)), "feedback regenerated"

    fourth = _grade(course, force=True, feedback=False)
    assert fourth.graded == ["ann", "ben"]
    assert "Score: 4.5 / 5.0" in _text(feedback)   # ben: auto 2 + manual 2.5
    assert fourth.graded == ["ann", "ben"]
    with Gradebook(db_url) as gb:
        g = gb.find_grade("ex2_square_tests", TOPIC, TOPIC, "ben")
        assert g.auto_score == 3.0 and g.manual_score == 2.5 and g.needs_manual_grade
        assert gb.find_comment("ex2_square", TOPIC, TOPIC, "ben").manual_comment == "close"


def test_hidden_tests_in_feedback_only_when_asked(tmp_path):
    """Both halves, on a student who passes the visible test and fails the hidden one: asked for, the
    feedback shows the hidden tests and the traceback through them; by default, neither (the failing
    cell's message only), for the same submissions regraded."""
    course = _course(tmp_path, "c.KitGrading.feedback_hidden_tests = True\n")
    _submit(course, "ann")
    _submit(course, "bob", {"ex2_square": "def square(x):\n    return x * abs(x)"})   # square(-4) == -16
    hidden = "isclose(square(-4), 16)"
    asked = _grade(course)
    assert asked.scores == {"ann": (5.0, 5.0), "bob": (2.0, 5.0)}, asked.text()
    ann, bob = (course / "feedback" / s / TOPIC / f"{TOPIC}.html" for s in ("ann", "bob"))
    assert hidden in _text(ann)
    assert _text(bob).count(hidden) >= 2 and "AssertionError" in _text(bob)     # the test, and the traceback through it

    config = course / "nbgrader_config.py"
    config.write_text(config.read_text().replace("c.KitGrading.feedback_hidden_tests = True\n", ""))
    default = _grade(course, force=True)                  # feedback regenerated with the default
    assert default.scores == asked.scores
    assert hidden not in _text(ann) and "square(-4)" not in _text(bob), _text(bob)
    assert "isclose(square(3), 9)" in _text(bob) and "AssertionError" in _text(bob)   # visible test, and the message


def _wait_for(predicate, timeout=240):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def _graded_count(course) -> int:
    path = course / "autograded" / f".coursekit-grading-{TOPIC}.json"
    try:
        return len(json.loads(path.read_text())["students"])
    except (OSError, ValueError, KeyError):
        return 0


def _sandboxes_of(pid) -> list:
    import psutil
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def test_sigterm_stops_cleanly_and_the_next_run_continues(tmp_path):
    course = _course(tmp_path)
    for i in range(6):
        _submit(course, f"s{i}")
    proc = subprocess.Popen(_cli(course), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=tool_env())
    assert _wait_for(lambda: _graded_count(course) >= 1)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "grading interrupted" in err
    assert len([line for line in err.splitlines() if line.strip()]) == 1, err
    rerun = _grade(course)
    assert set(rerun.scores) == {f"s{i}" for i in range(6)} and all(s == (5.0, 5.0) for s in rerun.scores.values())


def test_kill_9_midway_then_every_student_ends_with_the_latest_submission(tmp_path):
    import psutil
    course = _course(tmp_path)
    for i in range(6):
        _submit(course, f"s{i}", {"ex2_square": "def square(x):\n    return 0"})   # 2 points each
    proc = subprocess.Popen(_cli(course), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=tool_env())
    assert _wait_for(lambda: _graded_count(course) >= 2)
    children = _sandboxes_of(proc.pid)
    if os.geteuid() == 0:                # as root each sandbox runs as its own unprivileged uid
        from coursekit.config import KitSandbox
        base = KitSandbox().uid_base
        uids = {p.uids().real for p in children if p.is_running()}
        assert any(base <= u < base + KitSandbox().uid_count for u in uids), uids
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    _, alive = psutil.wait_procs(children, timeout=20)
    assert not alive, f"sandboxes outlived the grader: {[p.pid for p in alive]}"
    for i in (0, 5):                     # two students resubmit, correctly, before the next run
        _submit(course, f"s{i}")
    rerun = _grade(course)
    expected = {f"s{i}": (5.0 if i in (0, 5) else 2.0, 5.0) for i in range(6)}
    assert rerun.scores == expected
    import tempfile
    assert not list(Path(tempfile.gettempdir()).glob(f"coursekit-grade-{proc.pid}*")), "leftovers not removed"


def test_two_runs_at_once_do_not_touch_each_other(tmp_path):
    courses = [_course(tmp_path / name) for name in ("a", "b")]
    for course in courses:
        for i in range(3):
            _submit(course, f"s{i}")
    procs = [subprocess.Popen(_cli(c), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=tool_env())
             for c in courses]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
        assert "graded 3, failed to grade 0" in out, out
        assert "mean score over 3 submissions: 5.00 / 5" in out, out


def test_without_a_cgroup_the_address_space_limit_applies(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSEKIT_NO_CGROUP", "1")
    course = _course(tmp_path, "c.KitSandbox.address_space_mb = 2048\n")
    _submit(course, "hog", {"ex1_double": "_big = bytearray(3 * 2**30)\ndef double(x):\n    return 2 * x"})
    s = _grade(course, feedback=False)
    r = s.results["hog"]
    assert s.scores["hog"] == (3.0, 5.0), s.text()
    assert any("address space is limited to 2048 MiB (KitSandbox.address_space_mb)" in n for n in r.notes), r.notes
    assert "address-space" in s.isolation
