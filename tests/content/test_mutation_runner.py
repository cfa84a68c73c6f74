"""The mutation runner on a small notebook of its own: kills by a failing test, by the mutant cell
itself, by a timeout and by a dead kernel; survivors; state put back between mutants; the real
notebook carries on afterwards."""
from __future__ import annotations

import nbformat
import pytest

from coursekit.mutation.report import summarise
from coursekit.mutation.runner import run_topic

SOLUTION = '''\
def f(n):
    """n + 1; records n in `calls`."""
    ### BEGIN SOLUTION
    if n > 5:
        os._exit(1)
    time.sleep(n * 0 * 60)
    calls.append(n)
    return n + 1
    ### END SOLUTION
'''
TESTS = "assert f(5) == 6\nassert f(2) == 3\n"


def _notebook(path):
    nb = nbformat.v4.new_notebook()
    solution = nbformat.v4.new_code_cell(SOLUTION)
    solution.metadata["nbgrader"] = {"solution": True, "grade": False, "locked": False, "grade_id": "ex1_f",
                                     "schema_version": 3}
    test = nbformat.v4.new_code_cell(TESTS)
    test.metadata["nbgrader"] = {"solution": False, "grade": True, "locked": True, "grade_id": "test_f",
                                 "points": 1, "schema_version": 3}
    nb.cells = [
        nbformat.v4.new_code_cell("import os, time\ncalls = []"),
        solution,
        test,
        # the real notebook carries on with the state the real solution left, and nothing else
        nbformat.v4.new_code_cell("assert calls == [5, 2], calls"),
    ]
    nbformat.write(nb, str(path))


@pytest.mark.slow
def test_runner_kills_survives_times_out_restarts_and_carries_on(tmp_path):
    path = tmp_path / "01_demo.ipynb"
    _notebook(path)
    result = run_topic("01_demo", path, max_per_exercise=None, min_timeout=3, timeout_factor=1)
    assert result.errors == [], result.errors
    (ex,) = result.exercises
    assert ex.baseline_passed is True
    by_code = {}
    for m in ex.mutants:
        by_code[ex.all_mutants[m.id].source.split("### BEGIN SOLUTION")[1]] = m
    assert len(ex.mutants) == ex.generated > 10

    def find(fragment):
        return next(m for code, m in by_code.items() if fragment in code)

    slow = find("time.sleep(n * 1 * 60)")                               # 5 minutes unless interrupted
    assert slow.killed_by == "timeout" and slow.seconds < 30
    assert all(m.seconds < 3 for m in ex.mutants if m is not slow and m.killed_by != "kernel died"), \
        "a mutant after the timeout was slow: the kernel was not left clean"
    assert find("if n >= 5:").killed_by == "kernel died"
    assert result.restarts >= 1
    assert find("return n + 2").status == "killed" and find("return n + 2").killed_by == "test_f"
    assert find("time.sleep((n / 0) * 60)").killed_by == "test_f"           # ZeroDivisionError inside the test cell
    dropped = find("    pass\n    return n + 1")                       # calls.append(n) dropped
    assert dropped.status == "survived"
    assert all(m.repaired in ([], ["calls"]) for m in ex.mutants)
    data = summarise(result, {})
    assert data["exercises"][0]["survived"] >= 1 and data["problems"]
