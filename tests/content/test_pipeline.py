"""The solutions -> notebooks -> grades pipeline, checked end to end with real nbgrader."""
from __future__ import annotations

import pytest

from coursekit.build import generate
from coursekit.nbgrader_run import nbgrader
from coursekit.notebook import (BEGIN_HIDDEN_TESTS, MARKERS, exercises, is_test_cell, nbgrader_meta,
                                private_lines, read)
from coursekit.paths import solution_notebook, student_notebook, topics
from coursekit.synth import make_course, submit

TOPICS = topics()


def test_course_has_topics():
    assert TOPICS[:2] == ["01_tensors", "02_forward_pass"], f"solutions/ holds {TOPICS}"
    for topic in TOPICS:
        assert solution_notebook(topic).exists(), f"solutions/{topic}/ must hold {topic}.ipynb"
        assert student_notebook(topic).exists(), f"notebooks/{topic}/{topic}.ipynb is missing: run `make assignments`"


@pytest.mark.parametrize("topic", TOPICS)
def test_graded_cells_are_well_formed(topic):
    nb = read(solution_notebook(topic))
    ids = [nbgrader_meta(c)["grade_id"] for c in nb.cells if nbgrader_meta(c).get("grade_id")]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicated, f"{topic}: grade_id used twice: {duplicated}"
    graded = [c for c in nb.cells if nbgrader_meta(c).get("grade")]
    for cell in graded:
        meta = nbgrader_meta(cell)
        assert meta.get("points", 0) > 0, f"{topic}: graded cell {meta['grade_id']} has no points"
        assert meta.get("locked"), f"{topic}: graded test cell {meta['grade_id']} is not locked"
    found = exercises(nb)
    assert len(found) >= 4, f"{topic}: {len(found)} exercises, at least 4 expected"
    for ex in found:
        assert ex.test_indices, f"{topic}: exercise {ex.grade_id} has no graded test cell after it"
        src = nb.cells[ex.solution_index].source
        assert "### BEGIN SOLUTION" in src and "### END SOLUTION" in src, f"{topic}: {ex.grade_id} lacks solution markers"
    hidden = [c for c in nb.cells if is_test_cell(c) and BEGIN_HIDDEN_TESTS in c.source]
    assert len(hidden) >= len(found), f"{topic}: every exercise needs hidden tests ({len(hidden)} of {len(found)} have them)"
    total = sum(nbgrader_meta(c)["points"] for c in graded)
    assert total >= 10, f"{topic}: {total} points in all, at least 10 expected"


@pytest.mark.parametrize("topic", TOPICS)
def test_student_version_leaks_nothing(topic):
    text = student_notebook(topic).read_text()
    for marker in MARKERS:
        assert marker.removeprefix("### ") not in text, f"notebooks/{topic} contains '{marker}'"
    student = read(student_notebook(topic))
    student_lines = {line.strip() for c in student.cells for line in c.source.splitlines()}
    leaked = sorted(private_lines(solution_notebook(topic)) & student_lines)
    assert not leaked, f"notebooks/{topic} shows solution or hidden-test code: {leaked[:5]}"
    for cell in student.cells:
        if cell.cell_type == "code":
            assert not cell.outputs, f"notebooks/{topic}: the student version must have no stored outputs"


@pytest.mark.slow
def test_student_versions_are_current(tmp_path):
    """Regenerating every topic from solutions/ gives exactly the committed notebooks/."""
    stale = []
    for topic in TOPICS:
        fresh = read(generate(topic, tmp_path) / f"{topic}.ipynb")
        committed = read(student_notebook(topic))
        a = [(c.cell_type, c.source, c.metadata) for c in fresh.cells]
        b = [(c.cell_type, c.source, c.metadata) for c in committed.cells]
        if a != b:
            stale.append(topic)
    assert not stale, f"notebooks/ is out of date for {stale}: run `make assignments`"


# ---------------------------------------------------------------------------------------------
# The round trip through nbgrader: generate, submit, autograde, read the gradebook.

@pytest.mark.slow
@pytest.mark.parametrize("topic", TOPICS)
def test_round_trip_scores(tmp_path, topic):
    """Plain nbgrader (the instructor's own `nbgrader autograde`, Formgrader's button) gives the
    instructor's solution full marks. That the untouched student version scores 0 is checked through
    the kit's grader (tests/grading/test_all_topics.py), which runs this same nbgrader and can only
    take points away (its guard zeroes a graded cell without proof that it ran), never add them."""
    from nbgrader.api import Gradebook

    course = make_course(tmp_path / "course", topic)  # generate_assignment into its own gradebook
    name = f"{topic}.ipynb"
    nbgrader("db", "student", "add", "solver", root=course)
    submit(course, topic, "solver", {name: read(solution_notebook(topic, course))})
    nbgrader("autograde", topic, root=course)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        solver = gb.find_submission(topic, "solver")
        max_score = gb.find_assignment(topic).max_score
        assert max_score >= 10
        assert solver.score == max_score, f"{topic}: the solution scored {solver.score} of {max_score}"
