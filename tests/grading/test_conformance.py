"""Conformance: every course of tests/grading/conformance_courses.py (nbgrader's own autograde fixtures,
its documentation course, the kit's own scenarios) graded by plain ``nbgrader autograde`` and by the
kit (``coursekit.grading.conformance``), compared cell by cell: status, auto_score, max_score,
needs_manual_grade, automatic comment, seconds late, late penalty.

They must be equal, except the deliberate differences in ``ALLOWED`` (each with its reason; the README
lists them): a difference not listed fails, and so does a listed one that no longer happens.

The courses are graded once per session, three at a time (plain nbgrader and the kit are subprocesses),
only those whose tests are selected. ``COURSEKIT_CONFORMANCE_TABLE=FILE`` writes every course's table
(student, score with plain nbgrader, score with the kit, differences) to FILE.
"""
from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import conformance_courses as courses  # noqa: E402

from coursekit.grading import conformance  # noqa: E402
from coursekit.paths import ROOT  # noqa: E402

pytestmark = pytest.mark.slow

# (scenario, student, notebook, cell, field) -> why the kit deliberately differs from plain nbgrader
ALLOWED: dict[tuple[str, str, str, str, str], str] = {
    ("failures", "empty", "", "", "status"):
        "a submission folder that holds none of the assignment's notebooks is reported as failed, naming the "
        "missing notebooks (0 points, exit status 1); plain nbgrader skips it with a log line and no grade",
    ("failures", "bar", "", "", "status"):
        "a cell carrying nbgrader metadata that the assignment does not have (here a notebook of another "
        "assignment submitted as p2) is graded as an ordinary cell and the rest of the submission is graded; "
        "plain nbgrader fails the whole submission ('nbgrader cell does not have a grade_id', or KeyError "
        "'grade_id' for a copied cell): one pasted cell must not cost every point",
}

# What nbgrader's own tests expect of plain nbgrader: per student (or student and notebook) the auto
# score, or the status where it is not graded. Checks that the suite sets each fixture up as nbgrader's
# tests do and reads the gradebooks right.
NBGRADER_EXPECTS = {
    "unchanged_source": {"foo": 1, "bar": 2, "spam": 1, "eggs": 1, "late_foo": 1, "early_bar": 2, "empty_ts": 1,
                         "invalid_ts": "failed", "excluded_foo": 1, "excluded_bar": "not graded",
                         "excluded_baz": "not graded"},
    "autotests": {("foo", "simple"): 0, ("bar", "simple"): 1, ("foo", "hashed"): 0, ("bar", "hashed"): 1,
                  ("foo", "multi"): 0, ("bar", "multi"): 3, ("foo", "hidden"): 0, ("bar", "hidden"): 0,
                  ("baz", "hidden"): 1},
    "hidden_tests_single_notebook": {"foo": 1.5},
    "late_zero": {"foo": 1, "bar": 2},
    "late_plugin": {"foo": 1, "bar": 2},
    "grade_missing_notebook": {("foo", "p1"): 2, ("foo", "p2"): 0},
    "execution": {("foo", "validating"): 0, ("foo", "timeout"): 0},
    "failures": {"foo": 0, "bar": "failed", "empty": "not graded"},
    "kernelspecs": {"foo": 0, "bar": "failed"},
    "torch_state": {"right": 4, "nostep": 2, "noeval": 2, "blank": 0},      # (the kit's own: as one kernel grades it)
    "globals": {"right": 5, "nocount": 2, "blank": 1},
    "test_cell_names": {"right": 3, "wrong": 1},
    "files": {"right": 3, "wrong": 1, "blank": 0},
    "values": {"right": 6, "wrong": 0, "blank": 0},
    "objects": {"right": 3, "wrong": 0, "blank": 0},
}

KIT_WORKERS = 2
PARALLEL = 3          # scenarios graded at once (each runs two subprocesses in turn)


def _make_grade(course: Path) -> list[str]:
    """The documentation course goes through ``make grade``, as an instructor runs it."""
    args = f"--root {course} --force --quiet --no-feedback --workers {KIT_WORKERS}"
    return ["make", "--no-print-directory", "-C", str(ROOT), "grade", f"TOPIC={courses.A}", f"GRADE_ARGS={args}"]


def _grade(name: str, base: Path) -> conformance.Result:
    course = courses.build(name, base / "course")
    workers = min(KIT_WORKERS, len(conformance.submitted_students(course, courses.A)))
    return conformance.conform(course, courses.A, workdir=base, workers=workers,
                               kit_command_for=_make_grade if name == "docs_course" else None, timeout=600)


@pytest.fixture(scope="module")
def graded(request, tmp_path_factory):
    """scenario -> Future of its Result; only the scenarios of selected tests, graded in parallel."""
    wanted = []
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        name = callspec.params.get("scenario") if callspec else None
        if name in courses.SCENARIOS and name not in wanted:
            wanted.append(name)
    pool = ThreadPoolExecutor(PARALLEL)
    futures = {name: pool.submit(_grade, name, tmp_path_factory.mktemp(name)) for name in wanted}
    yield futures
    pool.shutdown(wait=True, cancel_futures=True)
    table = os.environ.get("COURSEKIT_CONFORMANCE_TABLE")     # every course's table, e.g. for a CI artifact
    if table:
        with open(table, "w", encoding="utf-8") as f:
            for name, future in futures.items():
                if future.done() and not future.cancelled() and future.exception() is None:
                    f.write(f"== {name} ({courses.SCENARIOS[name].origin})\n{future.result().table()}\n\n")


def _result(graded, scenario) -> conformance.Result:
    return graded[scenario].result()


@pytest.mark.parametrize("scenario", list(courses.SCENARIOS))
def test_kit_grades_as_nbgrader(graded, scenario):
    result = _result(graded, scenario)
    found = {(scenario, *d.key) for d in result.differences}
    allowed = {k for k in ALLOWED if k[0] == scenario}
    report = (f"{scenario} ({courses.SCENARIOS[scenario].origin}):\n{result.table()}\n"
              f"--- kit output (end) ---\n{result.kit.output[-2000:]}")
    assert found - allowed == set(), f"differences from plain nbgrader not listed in ALLOWED:\n{report}"
    assert allowed - found == set(), f"listed differences that no longer happen (update ALLOWED and the README):\n{report}"


@pytest.mark.parametrize("scenario", list(NBGRADER_EXPECTS))
def test_fixtures_set_up_as_nbgrader_tests_them(graded, scenario):
    plain = _result(graded, scenario).nbgrader

    def seen(key):
        student, notebook = key if isinstance(key, tuple) else (key, None)
        status = plain.status.get(student, "not submitted")
        return plain.score(student, notebook) if status == "graded" else status
    got = {key: seen(key) for key in NBGRADER_EXPECTS[scenario]}
    assert got == NBGRADER_EXPECTS[scenario], plain.output[-3000:]


@pytest.mark.parametrize("scenario", ["docs_course"])
def test_docs_course_grades_as_nbgrader_docs_say(graded, scenario):
    """``make grade`` on the user guide's ps1 writes grades.csv with the scores of the guide's own
    grades.csv (raw score, late penalty, score; the guide's max_score, 23, counts cells that its ps1 no
    longer has: plain nbgrader 0.9.6 gives the assignment's max_score from its gradebook, as the kit)."""
    from nbgrader.api import Gradebook
    result = _result(graded, scenario)
    columns = ("student_id", "raw_score", "late_submission_penalty", "score")

    def rows(path):
        with open(path, newline="") as f:
            return {r["student_id"]: tuple(float(r[c]) for c in columns[1:]) + (float(r["max_score"]),)
                    for r in csv.DictReader(f) if r["assignment"] == courses.A}
    kit, docs = rows(result.kit.course / "grades.csv"), rows(courses.USER_GUIDE / "grades.csv")
    with Gradebook(f"sqlite:///{result.nbgrader.course / 'gradebook.db'}") as gb:
        max_score = float(gb.find_assignment(courses.A).max_score)
    assert {s: v[:3] for s, v in kit.items()} == {s: v[:3] for s, v in docs.items()}, result.table()
    assert {v[3] for v in kit.values()} == {max_score}
    assert result.kit.returncode == 0, result.kit.output[-3000:]
    original = result.kit.course.parent / "course"
    assert not (original / "autograded").exists() and not (original / "grades.csv").exists()


@pytest.mark.parametrize("scenario", ["r_kernel"])
def test_other_kernel_languages_refused_with_the_reason(graded, scenario):
    """The kit does not run an R notebook in Python: it fails the submission and says why (plain nbgrader
    fails too here, as no R kernel is installed)."""
    kit = _result(graded, scenario).kit
    assert kit.status == {"foo": "failed"}, kit.output[-3000:]
    reason = kit.reasons.get("foo", "")
    assert "kernel" in reason and re.search(r"\bR\b|\bir\b", reason), reason


def test_hidden_tests_names_never_reach_the_students_kernel(tmp_path):
    """A test cell's names are left for the student's later cells (the test_cell_names course), but
    never a name its hidden part binds or changes: a later answer that looks for them finds them
    under plain nbgrader (0 points here) and not under the kit (1 point)."""
    from coursekit.slot.cellnames import left_for_the_student, used_names
    c = courses.Course(tmp_path / "course")
    (c.root / "source" / courses.A).mkdir(parents=True)
    cell = ("shared = []\nshown = 3\nassert f() == 1\n### BEGIN HIDDEN TESTS\nSECRET = 42\n"
            "shared.append(SECRET)\n### END HIDDEN TESTS")
    spy = ("def g():\n    ns = globals()\n    return (shown, 'SECRET' in ns, ns.get('shared'))")
    import nbformat
    nbformat.write(courses._notebook([
        courses._cell("code", "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION", "f", solution=True),
        courses._cell("code", cell, "f_test", 1, locked=True),
        courses._cell("code", "### BEGIN SOLUTION\n" + spy + "\n### END SOLUTION", "g", solution=True),
        courses._cell("code", "assert g() == (3, False, None), g()", "g_test", 1, locked=True),
    ]), str(c.root / "source" / courses.A / "p1.ipynb"))
    c.generate()
    courses._answers(c, "spy", "p1", {"f": "def f():\n    return 1", "g": spy})
    released = "shared = []\nshown = 3\nassert f() == 1"
    assert left_for_the_student(cell, released, used_names(spy)) == ([], ["shown"])
    result = conformance.conform(c.root, courses.A, workdir=tmp_path, workers=1, timeout=600)
    assert result.nbgrader.score("spy", None) == 1 and result.kit.score("spy", None) == 2, result.table()


def test_compare_reports_every_kind_of_difference():
    a = conformance.Side("nbgrader", status={"s1": "graded", "s2": "graded", "s3": "failed"},
                         values={("s1", "p1", "c1", "auto_score"): 1.0, ("s1", "p1", "c1", "comment"): "No response.",
                                 ("s2", "p1", "c1", "auto_score"): 2.0, ("s1", "p1", "", "late_penalty"): None})
    b = conformance.Side("kit", status={"s1": "graded", "s2": "failed", "s3": "failed"},
                         values={("s1", "p1", "c1", "auto_score"): 0.0, ("s1", "p1", "", "late_penalty"): 0.0,
                                 ("s2", "p1", "c1", "auto_score"): 0.0})
    diffs = {(d.key, d.nbgrader, d.kit) for d in conformance.compare(a, b)}
    assert diffs == {(("s2", "", "", "status"), "graded", "failed"),
                     (("s1", "p1", "c1", "auto_score"), 1.0, 0.0),
                     (("s1", "p1", "c1", "comment"), "No response.", None),
                     (("s1", "p1", "", "late_penalty"), None, 0.0)}


def test_cli_refuses_without_trust(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "coursekit", "conformance", courses.A, "--root", str(tmp_path)],
                          capture_output=True, text=True, cwd=ROOT, env={**os.environ})
    assert proc.returncode == 2 and "--trust" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
