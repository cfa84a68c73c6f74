"""coursekit's core: paths, the notebook model, the nbgrader runner, the build and the CLI."""
from __future__ import annotations

import ast
import os
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader import utils as nbg

from coursekit import build, cli, notebook
from coursekit.paths import ROOT, check_topics, solution_notebook, tool_env, topics


def _toy():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# toy"),
        notebook.new_test_cell("assert True", "orphan_tests", 1),   # before any answer: belongs to none
        notebook.new_answer_cell("def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x  # twice as much, always\n"
                                 "    ### END SOLUTION", "ex1"),
        notebook.new_test_cell("assert f(1) == 2\n### BEGIN HIDDEN TESTS\nassert f(5) == 10 and f(-1) == -2\n"
                               "### END HIDDEN TESTS", "ex1_tests", 2),
        nbformat.v4.new_code_cell("print('lecture')"),
        notebook.new_test_cell("assert f(0) == 0", "ex1_more", 1.5),
        notebook.new_answer_cell("### BEGIN SOLUTION\ny = 1\n### END SOLUTION", "ex2"),
    ]
    return nb


def test_exercises_group_answer_and_test_cells():
    nb = _toy()
    ex1, ex2 = notebook.exercises(nb)
    assert (ex1.grade_id, ex1.solution_index, ex1.test_indices, ex1.tests, ex1.points) == \
        ("ex1", 2, [3, 5], ["ex1_tests", "ex1_more"], 3.5)
    assert ex1.answer == "def f(x):\n    return 2 * x  # twice as much, always"
    assert (ex2.test_indices, ex2.points) == ([], 0.0)
    assert notebook.total_points(nb) == 4.5


def test_cell_kinds_mean_what_nbgrader_means():
    nb = _toy()
    for cell in nb.cells:
        assert notebook.is_locked(cell) == nbg.is_locked(cell)
    assert [notebook.is_answer_cell(c) for c in nb.cells] == [False, False, True, False, False, False, True]
    assert [notebook.is_test_cell(c) for c in nb.cells] == [False, True, False, True, False, True, False]
    manual = notebook.new_answer_cell("x", "manual")
    manual.metadata["nbgrader"]["grade"] = True  # a manually graded answer is neither
    assert not notebook.is_answer_cell(manual) and not notebook.is_test_cell(manual)


def test_markers():
    nb = _toy()
    assert notebook.private_lines(nb) == {"return 2 * x  # twice as much, always",
                                          "assert f(5) == 10 and f(-1) == -2"}
    assert notebook.private_lines(nb, kinds=(notebook.BEGIN_HIDDEN_TESTS,)) == {"assert f(5) == 10 and f(-1) == -2"}
    assert notebook.marked_regions(nb.cells[3].source, notebook.BEGIN_HIDDEN_TESTS, notebook.END_HIDDEN_TESTS) == \
        [["assert f(5) == 10 and f(-1) == -2"]]
    student = 'def f(x):\n    """Twice."""\n    # YOUR CODE HERE\n    raise NotImplementedError()'
    assert notebook.fill_stubs(student, nb.cells[2].source) == \
        'def f(x):\n    """Twice."""\n    return 2 * x  # twice as much, always'
    with pytest.raises(ValueError, match="0 stub"):
        notebook.fill_stubs("def f(x):\n    pass", nb.cells[2].source)


def test_course_notebooks_follow_the_model():
    for topic in topics():
        found = notebook.exercises(solution_notebook(topic))
        assert found and all(ex.tests for ex in found), topic
        assert notebook.total_points(solution_notebook(topic)) == sum(ex.points for ex in found), topic


def test_paths_and_tool_env(monkeypatch):
    assert topics()[0] == "01_tensors" and check_topics([]) == topics()
    with pytest.raises(SystemExit, match="unknown topic"):
        check_topics(["99_nothing"])
    env = tool_env({"PATH": os.pathsep.join(["/usr/bin", str(Path(sys.executable).parent)])})
    assert env["PATH"].split(os.pathsep) == [str(Path(sys.executable).parent), "/usr/bin"]


def test_kernel_facts_are_read_from_the_probe_output():
    cell = nbformat.v4.new_code_cell("")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text='noise\n{"torch_threads": 1}\n')]
    assert build._kernel_facts(cell) == {"torch_threads": 1}
    assert build._kernel_facts(nbformat.v4.new_code_cell("")) == {}
    assert build.cpu_model()


@pytest.mark.slow
def test_execute_records_where_and_generate_leaves_it_out(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("print(6 * 7)")]
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, path)
    build.execute(path)
    done = notebook.read(path)
    assert len(done.cells) == 1 and done.cells[0].outputs[0]["text"] == "42\n"  # the probe is gone
    facts = done.metadata["coursekit"]["executed_on"]
    assert {"cpu", "machine", "python", "torch", "torch_threads", "torch_cpu_capability", "date"} <= set(facts)
    assert facts["env"].get("OMP_NUM_THREADS") == os.environ.get("OMP_NUM_THREADS")


def test_cli_delegates_and_explains(monkeypatch, capsys):
    monkeypatch.setitem(cli.DELEGATES, "grade", ("coursekit.not_written_yet", "grading"))
    with pytest.raises(SystemExit, match="needs coursekit.not_written_yet"):
        cli.main(["grade", "01_tensors"])
    with pytest.raises(SystemExit, match="name the benchmark"):
        cli.main(["bench", "--n", "3"])


def test_coursekit_imports_nothing_from_tests():
    for path in (ROOT / "coursekit").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            bad = [n for n in names if n.split(".")[0] in ("tests", "notebook_tools", "conftest")]
            assert not bad, f"{path.relative_to(ROOT)} imports {bad}"
