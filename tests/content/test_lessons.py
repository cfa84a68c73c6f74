"""Lessons never show nonsense: a lesson cell that uses the student's functions (or what was computed
with them) runs only when the exercises it depends on are solved, and otherwise says which to solve.

The student version of 08_mnist runs with only exercise 5 solved (build_better_model, before 3 and 4):
the cell that trains the better model needs train_epoch and evaluate_accuracy, and the next one, which
counts the misclassified test digits, would count them for an untrained model ("945 of 1000 test
digits are misclassified"). Both must print the note instead, without an error."""
import pytest
from nbclient import NotebookClient

from coursekit.notebook import exercises, fill_stubs, nbgrader_meta, read
from coursekit.paths import solution_notebook, student_notebook


def _with_only_solved(topic: str, grade_id: str):
    """The student version of ``topic`` with only the answer cell ``grade_id`` filled in from the solution."""
    nb = read(student_notebook(topic))
    solution = {nbgrader_meta(c).get("grade_id"): c.source for c in read(solution_notebook(topic)).cells}
    cell = next(c for c in nb.cells if nbgrader_meta(c).get("grade_id") == grade_id)
    cell.source = fill_stubs(cell.source, solution[grade_id])
    return nb


def _printed(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")


@pytest.mark.slow
def test_a_lesson_cell_waits_for_the_exercises_it_depends_on(tmp_path):
    topic = "08_mnist"
    nb = _with_only_solved(topic, "ex5_better_model")
    trains = next(i for i, c in enumerate(nb.cells) if "better = build_better_model()" in c.source)
    counts = next(i for i, c in enumerate(nb.cells) if "test digits are misclassified" in c.source)
    assert trains < counts
    nb.cells = nb.cells[:counts + 1]
    NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(student_notebook(topic).parent)}}).execute()
    ex5 = next(e for e in exercises(nb) if e.grade_id == "ex5_better_model")
    assert "✓ exercise 5" in _printed(nb.cells[ex5.test_indices[0]]), "exercise 5's own tests must pass"
    for index in (counts, trains):     # the count first: it printed "945 of 1000 test digits are misclassified"
        cell = nb.cells[index]
        assert not [o for o in cell.outputs if o.output_type == "error"], cell.outputs
        printed = _printed(cell)
        assert printed.startswith("Solve exercises 3 and 4 first"), printed
        assert "misclassified" not in printed and "accuracy" not in printed.split(":")[0], printed
        assert len(printed.strip().splitlines()) == 1, printed
