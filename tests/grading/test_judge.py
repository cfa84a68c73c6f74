"""The judge (c.KitGrading.judge, coursekit/judge): graded test cells run in a kernel of their own that
never executes student code, and student code is reached only through the data-only protocol.

With the judge, each attack below scores 0 on the judged cells, whatever it changed in the student's
process; a student cell that prints the kernel's input history shows the hidden tests of earlier
cells when the tests run in the student's kernel (judge off), and none with the judge. The
instructor's solution scores the same per cell either way. 01_tensors' exercises 1 to 5 are judged here; exercise 6 passes a simulated-GPU
tensor class of its own into student code, which the judge refuses to run on the student's side
(issue 19: the course's instruments move to utils.checks first).
"""
from __future__ import annotations

import json

import pytest

from coursekit import synth
from coursekit.grading.pipeline import Options, grade
from coursekit.paths import ROOT

pytestmark = pytest.mark.slow

TOPIC = "01_tensors"
JUDGED = ["ex1_to_float_tensor_tests", "ex2_standardize_columns_tests", "ex3_linear_predict_tests",
          "ex4_class_means_tests", "ex5_flatten_images_tests"]

# answers that compute nothing: zeros, or an empty tensor, of whatever is asked
_ZEROS = {
    "ex1_to_float_tensor": "def to_float_tensor(array):\n    return torch.zeros(1)\n",
    "ex2_standardize_columns": "def standardize_columns(X):\n    return torch.zeros(1)\n",
    "ex3_linear_predict": "def linear_predict(X, w, b):\n    return torch.zeros(1)\n",
    "ex4_class_means": "def class_means(X, y, num_classes):\n    return torch.zeros(1)\n",
    "ex5_flatten_images": "def flatten_images(images):\n    return torch.zeros(1)\n",
}

# every check of utils.checks answers "fine" in the student's kernel
PATCH_CHECKS = ("import utils.checks as _c, utils.checks.compare as _cc, utils.checks.kinds as _ck, "
                "utils.checks.calling as _cl\n"
                "for _m in (_c, _cc, _ck):\n"
                "    for _n in ('check_close', 'check_type', 'check_dtype', 'check_shape', 'check_equal'):\n"
                "        setattr(_m, _n, lambda *a, **k: None)\n")
# one generic patch of a NumPy internal that comparisons rely on, and numbers that always match
PATCH_NUMPY = ("import numpy as _np, numpy._core.numeric as _num\n"
               "_num.isclose = lambda a, b, *x, **k: _np.ones(_np.broadcast(_np.asarray(a), _np.asarray(b)).shape, bool)\n"
               "_np.isclose = _num.isclose\n_np.allclose = lambda *a, **k: True\n")
# no patching: a value that claims any shape and dtype
LIAR = '''
class _Liar(torch.Tensor):
    @property
    def shape(self):
        class _Any(tuple):
            def __eq__(self, other): return True
            def __ne__(self, other): return False
        return _Any()
    @property
    def dtype(self):
        class _D:
            def __eq__(self, other): return True
            def __ne__(self, other): return False
        return _D()
    def __eq__(self, other): return torch.ones((), dtype=torch.bool)
'''


def _hidden_line() -> str:
    from coursekit import notebook
    source = ROOT / "solutions" / TOPIC / f"{TOPIC}.ipynb"
    cell = next(c for c in notebook.read(source).cells if notebook.grade_id(c) == JUDGED[0])
    return next(line.strip() for region in notebook.marked_regions(cell.source, notebook.BEGIN_HIDDEN_TESTS,
                                                                    notebook.END_HIDDEN_TESTS)
                for line in region if len(line.strip()) > 25 and not line.strip().startswith("#"))


def _answers(extra: str, liar: bool = False) -> dict:
    out = {}
    for key, src in _ZEROS.items():
        src = src.replace("torch.zeros(1)", "torch.empty(0).as_subclass(_Liar)") if liar else src
        out[key] = (extra if key == "ex1_to_float_tensor" else "") + src
    return out


def _grade(tmp_path, judge: bool, submissions: dict) -> tuple[dict, dict]:
    course = synth.make_course(tmp_path / ("judged" if judge else "plain"), TOPIC,
                               config_extra=f"c.KitGrading.judge = {judge}")
    nb = f"{TOPIC}.ipynb"
    student_nb = course / "notebooks" / TOPIC / nb
    for student, answers in submissions.items():
        synth.submit(course, TOPIC, student, {nb: synth.make_submission(student_nb, answers)})
    summary = grade(Options(topic=TOPIC, root=course, workers=2, progress=False, feedback=False))
    assert not summary.failed, summary.failed
    per_cell = {}
    outputs = {}
    for student in submissions:
        graded = json.loads((course / "autograded" / student / TOPIC / nb).read_text())
        outputs[student] = json.dumps([c.get("outputs", []) for c in graded["cells"]])
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student in submissions:
            sub = gb.find_submission_notebook(TOPIC, TOPIC, student)
            per_cell[student] = {g.name: g.auto_score for g in sub.grades}
    return per_cell, outputs


def test_the_judge_scores_honest_work_as_before_and_attacks_zero(tmp_path):
    right = synth.correct_answers(ROOT / "solutions" / TOPIC / f"{TOPIC}.ipynb")
    leak = right["ex6_to_numpy"] + "\nprint('LEAK', '\\n'.join(In))\n"
    shadow = right["ex5_flatten_images"] + "\ntorch = np = None\n"     # rebinds what the tests use
    submissions = {"solution": right, "checks": _answers(PATCH_CHECKS), "numpy": _answers(PATCH_NUMPY),
                   "liar": _answers(LIAR, liar=True), "reader": {**right, "ex6_to_numpy": leak},
                   "shadow": {**right, "ex5_flatten_images": shadow}}
    plain, plain_out = _grade(tmp_path, False, submissions)
    judged, judged_out = _grade(tmp_path, True, submissions)

    assert {c: judged["solution"][c] for c in JUDGED} == {c: plain["solution"][c] for c in JUDGED}
    assert all(judged["solution"][c] == 2 for c in JUDGED), judged["solution"]
    for attack in ("checks", "numpy", "liar"):
        assert sum(judged[attack][c] for c in JUDGED) == 0, (attack, judged[attack])
    # the judge binds the instructor's imports itself: a student's `torch = None` is their kernel's only
    assert judged["shadow"]["ex5_flatten_images_tests"] == 2, judged["shadow"]
    hidden = _hidden_line()                          # a line only exercise 1's hidden tests hold
    assert hidden in plain_out["reader"]             # in-process, the student's kernel has run them
    assert "LEAK" in judged_out["reader"] and hidden not in judged_out["reader"]
