"""The autograder tests are part of the product: they must reject plausible wrong answers.

For every topic, tests/wrong_answers/<topic>.py lists, per exercise (keyed by the solution cell's
grade_id), WRONG answers that must make the exercise's test cells fail and RIGHT answers, written
differently from ours, that must pass. One kernel runs the solution notebook top to bottom; at each
exercise it first tries every WRONG and RIGHT source followed by the exercise's test cells (hidden
tests included, as the autograder runs them), then the real solution, so later cells see the
state the notebook was written for.
"""
from __future__ import annotations

import runpy

import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from notebook_tools import ROOT, exercises, read, solution_notebook, topics, with_source

WRONG_DIR = ROOT / "tests" / "wrong_answers"


def _answers(topic):
    path = WRONG_DIR / f"{topic}.py"
    if not path.exists():
        pytest.fail(f"{path.relative_to(ROOT)} is missing: every topic lists the wrong answers its tests must reject")
    ns = runpy.run_path(str(path))
    return ns.get("WRONG", {}), ns.get("RIGHT", {})


def _run(client, cell, index):
    """Execute one cell; return None on success or the error's last line."""
    try:
        client.execute_cell(cell, index)
    except CellExecutionError as err:
        lines = [line for line in str(err).strip().splitlines() if line.strip()]
        return lines[-1] if lines else "error"
    return None


@pytest.mark.slow
@pytest.mark.parametrize("topic", topics())
def test_wrong_answers_fail_and_right_answers_pass(topic):
    wrong, right = _answers(topic)
    path = solution_notebook(topic)
    nb = read(path)
    found = exercises(nb)
    ids = {ex.grade_id for ex in found}
    problems = []
    for key in sorted((set(wrong) | set(right)) - ids):
        problems.append(f"{key}: listed in wrong_answers/{topic}.py but no solution cell has that grade_id")
    for ex in found:
        if not wrong.get(ex.grade_id):
            problems.append(f"{ex.grade_id}: no WRONG answers listed")
        if not ex.test_indices:
            problems.append(f"{ex.grade_id}: solution cell has no graded test cell after it")
    by_start = {ex.solution_index: ex for ex in found}

    client = NotebookClient(nb, timeout=180, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            ex = by_start.get(index)
            if ex is not None:
                trials = [(False, why, src) for why, src in wrong.get(ex.grade_id, [])]
                trials += [(True, why, src) for why, src in right.get(ex.grade_id, [])]
                for should_pass, why, src in trials:
                    err = _run(client, with_source(cell, src), index)
                    if err is not None and should_pass:
                        problems.append(f"{ex.grade_id}: RIGHT answer ({why}) failed in its own cell: {err}")
                        continue
                    errors = [e for e in (_run(client, with_source(nb.cells[t], nb.cells[t].source), t)
                                          for t in ex.test_indices) if e is not None]
                    if should_pass and errors:
                        problems.append(f"{ex.grade_id}: RIGHT answer ({why}) was rejected: {errors[0]}")
                    if not should_pass and not errors and err is None:
                        problems.append(f"{ex.grade_id}: WRONG answer ({why}) passed every test")
            if cell.cell_type == "code":
                err = _run(client, cell, index)
                if err is not None:
                    problems.append(f"cell {index} of the solution notebook failed: {err}")
                    break
    assert not problems, f"{topic}:\n  " + "\n  ".join(problems)
