"""Lessons never show nonsense: a lesson cell that uses the student's functions (or what was computed
with them) runs only when the exercises it depends on are solved, and otherwise says which to solve.

The student version of 08_mnist runs with only exercise 5 solved (build_better_model, before 3 and 4):
the cell that trains the better model needs train_epoch and evaluate_accuracy, and the next one, which
counts the misclassified test digits, would count them for an untrained model ("945 of 1000 test
digits are misclassified"). Both must print the note instead, without an error.

Topics 04 to 07 get one case each (``CASES``): the student version with some exercises solved (or
one answered wrongly), run up to the last cell of interest. Every lesson cell of the run must end
without an error, and each watched cell must print nothing but its one-line note; before the gates,
each of these cells printed nonsense or half its output and then the note."""
import pytest
from nbclient import NotebookClient

from coursekit.notebook import exercises, fill_stubs, is_answer_cell, is_test_cell, nbgrader_meta, read
from coursekit.paths import solution_notebook, student_notebook


def _with_solved(topic: str, *grade_ids: str, wrong: dict | None = None):
    """The student version of ``topic`` with the answer cells ``grade_ids`` filled in from the solution;
    ``wrong`` maps a grade_id to (text, replacement), a slip made in its solution before filling it in."""
    nb = read(student_notebook(topic))
    solution = {nbgrader_meta(c).get("grade_id"): c.source for c in read(solution_notebook(topic)).cells}
    for grade_id in grade_ids:
        cell = next(c for c in nb.cells if nbgrader_meta(c).get("grade_id") == grade_id)
        answer = solution[grade_id]
        if wrong and grade_id in wrong:
            text, replacement = wrong[grade_id]
            assert text in answer, f"{grade_id}: {text!r} is not in the solution any more"
            answer = answer.replace(text, replacement)
        cell.source = fill_stubs(cell.source, answer)
    return nb


def _with_only_solved(topic: str, grade_id: str):
    """The student version of ``topic`` with only the answer cell ``grade_id`` filled in from the solution."""
    return _with_solved(topic, grade_id)


def _printed(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")


def _run(topic: str, nb) -> None:
    NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(student_notebook(topic).parent)}}).execute()


def _tests_printed(nb, grade_id: str) -> str:
    ex = next(e for e in exercises(nb) if e.grade_id == grade_id)
    return _printed(nb.cells[ex.test_indices[0]])


@pytest.mark.slow
def test_a_lesson_cell_waits_for_the_exercises_it_depends_on(tmp_path):
    topic = "08_mnist"
    nb = _with_only_solved(topic, "ex5_better_model")
    trains = next(i for i, c in enumerate(nb.cells) if "better = build_better_model()" in c.source)
    counts = next(i for i, c in enumerate(nb.cells) if "test digits are misclassified" in c.source)
    assert trains < counts
    nb.cells = nb.cells[:counts + 1]
    _run(topic, nb)
    ex5 = next(e for e in exercises(nb) if e.grade_id == "ex5_better_model")
    assert "✓ exercise 5" in _printed(nb.cells[ex5.test_indices[0]]), "exercise 5's own tests must pass"
    for index in (counts, trains):     # the count first: it printed "945 of 1000 test digits are misclassified"
        cell = nb.cells[index]
        assert not [o for o in cell.outputs if o.output_type == "error"], cell.outputs
        printed = _printed(cell)
        assert printed.startswith("Solve exercises 3 and 4 first"), printed
        assert "misclassified" not in printed and "accuracy" not in printed.split(":")[0], printed
        assert len(printed.strip().splitlines()) == 1, printed


# topic: (answers filled in, a slip made in one of them, {text of a watched cell: the start of its note})
CASES = {
    # a wrong two_layer_grads (the loss's 1/N forgotten): its test fails, and the cell comparing it with
    # autograd printed "autograd agrees: False" four times
    "04_autograd_backprop": (("ex3_two_layer_grads",),
                             {"ex3_two_layer_grads": ("2 * (y_hat - y) / n", "2 * (y_hat - y)")},
                             {"autograd agrees": "Solve exercise 3 first"}),
    # evaluate before trainer: the model of cell 22 (one step of training) was drawn as "fitted with
    # mini-batch SGD", and the target-shape pitfall printed the losses of that untrained model
    "05_training_loops": (("ex5_evaluate",), None,
                          {"fitted with mini-batch SGD": "Solve exercise 4 first",
                           "with y of shape (N,)": "Solve exercise 4 first"}),
    # make_mlp before make_shallow: the deep sigmoid network was built, trained and reported, then the
    # comparison with exercise 1's network broke off with the note
    "06_nonlinear_regression": (("ex3_make_mlp",), None,
                                {"deep_sigmoid = make_mlp": "Solve exercise 1 first",
                                 "deep_relu = make_mlp": "Solve exercise 1 first"}),
    # the classifier before predict_proba and predict_class: the logits were printed before the note, and
    # the four-class cell drew the regions of a network whose training had stopped at multiclass_accuracy
    "07_classification": (("ex3_binary_classifier",), None,
                          {'"probabilities:", predict_proba': "Solve exercises 1 and 2 first",
                           "Four classes: softmax regions": "Solve exercise 4 first"}),
}


@pytest.mark.slow
@pytest.mark.parametrize("topic", sorted(CASES))
def test_lesson_cells_print_only_their_note_until_the_exercises_pass(topic):
    answers, slip, watched = CASES[topic]
    nb = _with_solved(topic, *answers, wrong=slip)
    cells = {text: next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and text in c.source
                        and not is_answer_cell(c) and not is_test_cell(c)) for text in watched}
    nb.cells = nb.cells[:max(cells.values()) + 1]
    _run(topic, nb)
    for grade_id in answers:
        done = "✓ exercise" in _tests_printed(nb, grade_id)
        assert done != bool(slip and grade_id in slip), f"{grade_id}: its tests must {'fail' if slip else 'pass'}"
    lessons = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and not is_answer_cell(c)
               and not is_test_cell(c)]
    errors = {i: o.get("ename") for i in lessons for o in nb.cells[i].outputs if o.output_type == "error"}
    assert not errors, f"lesson cells that raised (cell: error): {errors}"
    for text, index in cells.items():
        printed = _printed(nb.cells[index])
        assert printed.startswith(watched[text]), (text, printed)
        assert len(printed.strip().splitlines()) == 1, (text, printed)
        assert not [o for o in nb.cells[index].outputs if o.output_type == "display_data"], (text, "drew a figure")
