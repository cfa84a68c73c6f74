"""The instructor's reference (utils.checks.reference) while grading: the assignment's source notebooks are
bound read-only into the judge's sandbox only, and $COURSEKIT_REFERENCE names them there; the student's
kernel has neither. Without the judge (c.KitGrading.judge = False, plain nbgrader's way) the hidden tests
run in the student's kernel, which then gets the reference as plain nbgrader's would.

A tiny topic (no torch in the student's kernel) whose hidden test opens the file the variable names and
calls ``reference("square")``; a student cell looks for the reference in every way it could.
"""
from __future__ import annotations

import json

import nbformat
import pytest

from coursekit import synth
from coursekit.grading.pipeline import Options, grade

TOPIC = synth.TINY_TOPIC
NB = f"{TOPIC}.ipynb"
pytestmark = pytest.mark.slow
FAST = 'c.KitSandbox.preload_modules = ["math"]\n'

HIDDEN = ('import json, os\n'
          'with open(os.path.join(os.environ["COURSEKIT_REFERENCE"], "00_tiny.ipynb")) as _f:\n'
          '    _cells = json.load(_f)["cells"]\n'
          'assert any("return x * x" in "".join(c["source"]) for c in _cells)\n'
          'from utils.checks.reference import reference\n'
          'assert reference("square")(-4) == 16 and isclose(square(-4), reference("square")(-4))\n')

# what a student's cell can find of the reference: the variable, the folder, the instructor's notebook
PROBE = '''
import json as _json, os as _os
_where = _os.environ.get("COURSEKIT_REFERENCE") or "/opt/kit/reference"
_found = {"variable": "COURSEKIT_REFERENCE" in _os.environ, "folder": _os.path.isdir(_where),
          "jobs": _os.path.exists("/grade/jobs")}
try:
    _found["listed"] = sorted(_os.listdir(_where))
except OSError as _e:
    _found["listed"] = type(_e).__name__
try:
    from utils.checks.reference import reference as _reference
    _found["reference"] = _reference("square")(3)
except Exception as _e:
    _found["reference"] = type(_e).__name__
print("REFPROBE " + _json.dumps(_found))
'''


def _course(tmp_path, judge: bool):
    src = tmp_path / "src"
    synth.write_tiny_topic(src)
    path = src / TOPIC / NB
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "ex2_square_tests")
    cell.source = cell.source.replace("### END HIDDEN TESTS", HIDDEN + "### END HIDDEN TESTS")
    nbformat.write(nb, str(path))
    return synth.make_course(tmp_path / "course", TOPIC, source_dir=src / TOPIC,
                             config_extra=FAST + f"c.KitGrading.judge = {judge}\n")


def _graded(tmp_path, judge: bool) -> tuple[dict, dict]:
    course = _course(tmp_path / ("judged" if judge else "plain"), judge)
    right = synth.correct_answers(course / "solutions" / TOPIC / NB)
    student_nb = course / "notebooks" / TOPIC / NB
    synth.submit(course, TOPIC, "ann", {NB: synth.make_submission(
        student_nb, {**right, "ex1_double": right["ex1_double"] + "\n" + PROBE})})
    summary = grade(Options(topic=TOPIC, root=course, workers=1, progress=False, feedback=False))
    assert not summary.failed, summary.failed
    graded = json.loads((course / "autograded" / "ann" / TOPIC / NB).read_text(encoding="utf-8"))
    text = "".join("".join(o.get("text", "")) for c in graded["cells"] for o in c.get("outputs", []))
    line = next(line for line in text.splitlines() if line.startswith("REFPROBE "))
    return summary.scores["ann"], json.loads(line[len("REFPROBE "):])


def test_the_reference_is_the_judges_only(tmp_path):
    score, found = _graded(tmp_path, judge=True)
    assert score == (5.0, 5.0), "the hidden test that reads the reference must pass in the judge"
    assert found == {"variable": False, "folder": False, "jobs": False, "listed": "FileNotFoundError",
                     "reference": "ReferenceNotFound"}, found


def test_without_the_judge_the_students_kernel_has_it_as_in_plain_nbgrader(tmp_path):
    score, found = _graded(tmp_path, judge=False)
    assert score == (5.0, 5.0)
    assert found["variable"] and found["folder"] and found["listed"] == [NB] and found["reference"] == 9, found
