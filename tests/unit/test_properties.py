"""utils/checks/reference.py and properties.py: exercises as properties against the instructor's
reference, over generated inputs (issue 20)."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch
from hypothesis import strategies as st

from coursekit.paths import ROOT
from utils.checks import (Args, arrays, check_against_reference, inputs_unchanged, reference, repeatable,
                          same_gradients, same_kind, same_values, tensors)
from utils.checks.reference import ENV, ReferenceNotFound, locate

MATRICES = st.tuples(tensors((st.integers(1, 5), st.integers(1, 4)), (torch.float32, torch.float64)))


def _centre(X):
    return X - X.mean(dim=0)


def _notebook(path, cells):
    path.parent.mkdir(parents=True, exist_ok=True)
    nb = {"cells": [{"cell_type": "code", "metadata": {"nbgrader": meta} if meta else {}, "source": src,
                     "outputs": [], "execution_count": None} for meta, src in cells],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb))
    return path


SOLUTION = {"solution": True, "grade": False, "grade_id": "ex1"}
TESTS = {"solution": False, "grade": True, "grade_id": "ex1_tests", "points": 1}


def _topic(tmp_path, name="07_demo", answer="return 2 * x"):
    return _notebook(tmp_path / "course" / "solutions" / name / f"{name}.ipynb", [
        (None, "import math\nSCALE = 2\nraise RuntimeError('a lecture cell must not run')"),
        (None, "%matplotlib inline\ndef helper(x):\n    return x + SCALE"),
        (SOLUTION, f"def double(x):\n    ### BEGIN SOLUTION\n    {answer}\n    ### END SOLUTION"),
        (TESTS, "raise AssertionError('a test cell must not run')"),
    ])


# ------------------------------------------------------------------------------------------------
# reference
# ------------------------------------------------------------------------------------------------

def test_reference_is_built_from_the_notebook_file_without_lecture_or_test_code(tmp_path, monkeypatch):
    path = _topic(tmp_path)
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.chdir(path.parent)
    assert locate() == path.resolve()
    assert reference("double")(21) == 42
    assert reference("helper")(1) == 3            # a lecture def and a constant assignment are kept
    with pytest.raises(LookupError, match=r"defines no 'triple' \(it defines: double, helper\)"):
        reference("triple")


def test_reference_reads_the_file_again_when_it_changes_and_follows_the_environment(tmp_path, monkeypatch):
    path = _topic(tmp_path)
    other = _topic(tmp_path / "judge", answer="return 3 * x")
    monkeypatch.chdir(path.parent)
    monkeypatch.delenv(ENV, raising=False)
    assert reference("double")(1) == 2
    monkeypatch.setenv(ENV, str(other))                       # a notebook
    assert reference("double")(1) == 3
    monkeypatch.setenv(ENV, str(other.parent.parent))         # a folder of <topic>/<topic>.ipynb
    assert reference("double")(1) == 3
    monkeypatch.setenv(ENV, str(tmp_path / "nowhere"))
    with pytest.raises(ReferenceNotFound, match="holds no notebook for the topic '07_demo'"):
        reference("double")


def test_a_submission_is_never_a_reference(tmp_path, monkeypatch):
    """A student's notebook has solution cells too (their own code): autograded/ folders are never read."""
    monkeypatch.delenv(ENV, raising=False)
    graded = _notebook(tmp_path / "autograded" / "alice" / "07_demo" / "07_demo.ipynb",
                       [(SOLUTION, "def double(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION")])
    monkeypatch.chdir(graded.parent)
    with pytest.raises(ReferenceNotFound, match="only available to the grader's judge and to the instructor"):
        reference("double")
    loose = _notebook(tmp_path / "instructor" / "07_demo" / "07_demo.ipynb",
                      [(SOLUTION, "def double(x):\n    ### BEGIN SOLUTION\n    return x + x\n    ### END SOLUTION")])
    monkeypatch.chdir(loose.parent)                   # the only notebook with solution markers in the folder
    assert reference("double")(4) == 8


def test_the_course_reference_is_the_instructors_code(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.chdir(ROOT / "solutions" / "01_tensors")
    X = torch.tensor([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]])
    assert torch.allclose(reference("standardize_columns")(X), (X - X.mean(dim=0)) / X.std(dim=0))


# ------------------------------------------------------------------------------------------------
# check_against_reference
# ------------------------------------------------------------------------------------------------

def _message(fn, inputs=MATRICES, **options) -> str:
    with pytest.raises(AssertionError) as info:
        check_against_reference(fn, _centre, inputs, name="centre(X)", exercise=2, **options)
    return str(info.value)


def test_right_answers_in_other_styles_pass():
    def by_loop(X):
        return torch.stack([X[:, j] - X[:, j].mean() for j in range(X.shape[1])], dim=1)

    def in_float64(X):
        return (X.double() - X.double().mean(dim=0, keepdim=True)).to(X.dtype)
    for fn in (by_loop, in_float64, _centre):
        check_against_reference(fn, _centre, MATRICES, name="centre(X)",
                                properties=(same_kind(), same_values(), inputs_unchanged(), repeatable(),
                                            same_gradients()))


def test_a_failure_names_expected_got_the_cause_and_the_smallest_input():
    def whole_mean(X):
        return X - X.mean()
    text = _message(whole_mean, causes=lambda X: [(X - X.mean(), "one mean for the whole tensor: use dim=0.")])
    assert text.startswith("centre(X): values are not close to the expected ones.")
    assert "expected:" in text and "got:" in text and "hint: one mean for the whole tensor: use dim=0." in text
    # shrunk: the smallest failing shape has one row and two columns (one column, or one row of one, pass)
    assert "input (the smallest generated input that shows it):\n    X = a tensor of shape (1, 2), dtype torch.float32" \
        in text
    assert text == _message(whole_mean, causes=lambda X: [(X - X.mean(), "one mean for the whole tensor: use dim=0.")])


@pytest.mark.parametrize("fn, words", [
    (lambda X: (X - X.mean(dim=0)).float(), ["wrong dtype", "expected: torch.float64", "keep the input's dtype",
                                            "dtype torch.float64"]),
    (lambda X: X.sub_(X.mean(dim=0)), ["X after centre(X): values differ", "changed in place"]),
    (lambda X: (X - X.mean(dim=0)).squeeze(), ["wrong shape", "shape (1, 1)"]),
    (lambda X: X @ torch.ones(7, 1, dtype=X.dtype), ["your code raised an error", "mat1 and mat2",
                                                      "shape (1, 1), dtype torch.float32"]),
])
def test_each_property_names_its_cause(fn, words):
    text = _message(fn)
    assert all(w in text for w in words), text


def test_stale_state_and_cut_graphs_are_named():
    seen = []

    def cached(X):
        if not seen:
            seen.append(X - X.mean(dim=0))
        return seen[0] if seen[0].shape == X.shape else X - X.mean(dim=0)
    text = _message(cached, inputs=st.tuples(tensors((3, 2))))
    assert "a second call with the same input" not in text and "an earlier call with other inputs" in text

    def ignores_b(X, b):            # a listed mistake: shrinking b repeats earlier results, which is not kept state
        return X.clone()
    with pytest.raises(AssertionError) as info:
        check_against_reference(ignores_b, lambda X, b: X + b, st.tuples(tensors((3, 2)), st.floats(-5, 5)),
                                name="shift(X, b)", causes=lambda X, b: [(X.clone(), "b was left out: add it.")])
    assert "hint: b was left out" in str(info.value) and "an earlier call" not in str(info.value), str(info.value)

    def detached(X):
        return (X - X.mean(dim=0)).detach()
    text = _message(detached, properties=(same_values(), same_gradients()))
    assert "wrong requires_grad" in text and "cut from the inputs' graph" in text

    def by_numpy_noise(X, calls=[0]):                    # noqa: B006 - the mistake under test
        calls[0] += 1
        return X - X.mean(dim=0) + calls[0] * 1e-3
    assert "called a second time with the same input" in _message(by_numpy_noise, properties=(repeatable(),))


def test_examples_integers_and_keyword_arguments():
    def ref(a, scale=1):
        return a.astype(np.float32) * scale

    def wrong(a, scale=1):
        return a.astype(np.float32) * scale + (a.max() > 100)
    check_against_reference(ref, ref, st.builds(lambda a: Args(a, scale=2), arrays((st.integers(1, 3),), np.uint8)),
                            name="f(a)")
    with pytest.raises(AssertionError, match=re.escape("input:\n    a = a NumPy array of shape (1,), dtype uint8: [200]")):
        check_against_reference(wrong, ref, st.nothing(), name="f(a)", examples=[(np.array([200], np.uint8),)])


def test_the_instructors_mistakes_are_not_the_students():
    with pytest.raises(TypeError, match="`inputs` must be a Hypothesis strategy"):
        check_against_reference(_centre, _centre, [torch.ones(2, 2)], name="centre(X)")
    with pytest.raises(TypeError, match="`causes` must be a function"):
        check_against_reference(_centre, _centre, MATRICES, name="centre(X)", causes=[])
    with pytest.raises(RuntimeError, match="the reference raised .* outside the exercise's domain"):
        check_against_reference(_centre, lambda X: X @ torch.ones(7, 1), MATRICES, name="centre(X)")


def test_under_the_judge_the_proxy_is_checked_the_same_way(remote):
    """The student's function in its own kernel: arguments cross as data, in-place changes come back,
    gradients flow through the remote call."""
    check_against_reference(remote(_centre), _centre, MATRICES, name="centre(X)",
                            properties=(same_kind(), same_values(), inputs_unchanged(), repeatable(), same_gradients()))

    def in_place(X):
        return X.sub_(X.mean(dim=0))
    text = _message(remote(in_place))
    assert "X after centre(X): values differ" in text and "changed in place" in text

    def whole_mean(X):
        return X - X.mean()
    assert _message(remote(whole_mean)) == _message(whole_mean)


def test_known_causes_explain_a_wrong_shape_and_clamped_values():
    def hard_coded(X):
        return torch.tensor([[0.5, -0.5]])
    text = _message(hard_coded, causes=lambda X: [(torch.tensor([[0.5, -0.5]]), "this is the visible example's answer.")])
    assert "wrong shape" in text and "hint: this is the visible example's answer." in text

    def clamped(X):
        return (X - X.mean(dim=0)).clamp(-0.5, 0.5)
    text = _message(clamped, inputs=st.tuples(tensors((4, 2), scale=10.0)))
    assert "hint: the values were clamped to [-0.5, 0.5]" in text, text


def test_a_model_is_compared_with_the_reference_model_holding_its_weights():
    from torch import nn

    class Detached(nn.Module):          # the student's: cuts the input's gradient
        def __init__(self):
            super().__init__()
            self.layer = nn.Linear(3, 2)

        def forward(self, x):
            return self.layer(x.detach())
    net = Detached()
    ref = nn.Sequential()
    ref.layer = nn.Linear(3, 2)
    ref.load_state_dict(net.state_dict())
    inputs = st.tuples(tensors((st.integers(1, 4), 3)))
    check_against_reference(net, ref, inputs, name="net(X)")
    with pytest.raises(AssertionError, match=r"(?s)input.grad after backward\(\) through net\(X\): no gradient"):
        check_against_reference(net, ref, inputs, name="net(X)", properties=(same_gradients(),))


def _drawn(inputs):
    seen = []

    def record(n):
        seen.append(n)
        return n

    check_against_reference(record, lambda n: n, inputs, name="same(n)", properties=())
    return seen


def test_generated_inputs_do_not_depend_on_the_modules_loaded(tmp_path, monkeypatch):
    """Hypothesis would draw constants from the source of every local module (utils/, the judge's package, a
    student's helper.py): the judge, nbgrader and Validate would try different inputs. They must not."""
    import importlib
    import sys

    before = _drawn(st.tuples(st.integers(0, 10**6)))
    (tmp_path / "helper_with_constants.py").write_text(
        "TABLE = [" + ", ".join(str(7919 * k) for k in range(1, 120)) + "]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("helper_with_constants")
    try:
        assert _drawn(st.tuples(st.integers(0, 10**6))) == before
    finally:
        sys.modules.pop(module.__name__, None)


def test_tuples_of_tensors_are_compared_part_by_part():
    def split(X):
        return X[:2], X[2:]

    check_against_reference(split, split, st.tuples(tensors((st.integers(3, 5), 2))), name="split(X)",
                            properties=(same_values(), repeatable()))
    with pytest.raises(AssertionError, match=r"split\(X\)\[1\]"):
        check_against_reference(lambda X: (X[:2], X[2:] + 1), split, st.tuples(tensors((3, 2))), name="split(X)",
                                properties=(same_values(),))


def test_a_lecture_import_is_run_only_where_the_reference_needs_it(tmp_path):
    """A lecture's plotting imports cost a second in the judge: the reference imports what it uses."""
    def cell(source, solution=False):
        meta = {"nbgrader": {"solution": True, "grade": False, "grade_id": "a"}} if solution else {}
        return {"cell_type": "code", "metadata": meta, "source": source, "outputs": [], "execution_count": None}
    nb = {"cells": [cell("import math\nimport json as lecture_json\nimport string as for_show"),
                    cell("def show(x):\n    return for_show.ascii_letters[:x]"),
                    cell("def helper(x):\n    return math.sqrt(x)"),
                    cell("def answer(x):\n    ### BEGIN SOLUTION\n    return helper(x) * 2\n    ### END SOLUTION", True)],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "demo.ipynb"
    path.write_text(json.dumps(nb))
    assert reference("answer", notebook=path)(16.0) == 8.0          # helper's math.sqrt came along
    from utils.checks.reference import build
    names = build(path)
    assert "math" in names and "lecture_json" not in names and "for_show" not in names
    assert reference("show", notebook=path)(3) == "abc"             # asked for: built with its import
