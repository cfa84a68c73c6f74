"""An assignment the course's authors did not write, as nbgrader defines one: any name, two notebooks,
a data folder beside them read by a notebook, plain-Python exercises with nbgrader solution and test
cells, a due date set with nbgrader's own `nbgrader db assignment add`.

The fast tests check the pieces: which folders of solutions/ are assignments and which are the course's
topics, the bundle's leak check over any assignment, and the summary's share of students failing each
cell. The slow test adds such an assignment ("ps1") to a copy of the course and runs the make targets on
it: `make assignments`, `make execute`, `make student-bundle`, `make mutate`, `make grade`, the notebook checks of
`make test` and the content tests, and checks what each one wrote.
"""
from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import nbformat
import pytest

from coursekit import bundle, paths
from coursekit.notebook import new_answer_cell, new_test_cell, read

ROOT = paths.ROOT
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
NUMBERS = "value\n3\n4\n5\n6\n7\n"          # data/numbers.csv: their total is 25

SQUARES = '''def squares(n):
    """The squares of the numbers from 1 to n."""
    ### BEGIN SOLUTION
    if n < 1:
        raise ValueError("n must be at least 1, got %d" % n)
    return [number ** 2 for number in range(1, n + 1)]
    ### END SOLUTION'''
SQUARES_TESTS = '''assert squares(1) == [1]
assert squares(3) == [1, 4, 9]
### BEGIN HIDDEN TESTS
assert squares(10)[-1] == 100 and len(squares(10)) == 10
### END HIDDEN TESTS'''
TOTAL = '''import csv

def column_total(path):
    """The sum of the 'value' column of a CSV file."""
    ### BEGIN SOLUTION
    with open(path, newline="") as handle:
        return sum(int(row["value"]) for row in csv.DictReader(handle))
    ### END SOLUTION'''
TOTAL_TESTS = '''total = column_total("data/numbers.csv")
print("total of data/numbers.csv:", total)
assert total == 25
### BEGIN HIDDEN TESTS
assert isinstance(total, int) and column_total("data/numbers.csv") == total
### END HIDDEN TESTS'''
#: Lines of the instructor's answers and hidden tests that no student version may show.
PRIVATE = ('return [number ** 2 for number in range(1, n + 1)]',
           'return sum(int(row["value"]) for row in csv.DictReader(handle))',
           'assert squares(10)[-1] == 100 and len(squares(10)) == 10')


def _notebook(title: str, cells: list) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {title}"), *cells]
    return nb


def add_ps1(course: Path) -> Path:
    """solutions/ps1/: problem1.ipynb, problem2.ipynb (reads data/numbers.csv) and data/numbers.csv."""
    folder = course / "solutions" / "ps1"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "numbers.csv").write_text(NUMBERS)
    nbformat.write(_notebook("Problem 1: squares", [
        new_answer_cell(SQUARES, "squares"), new_test_cell(SQUARES_TESTS, "correct_squares", 2)]),
        folder / "problem1.ipynb")
    explain = nbformat.v4.new_markdown_cell("### BEGIN SOLUTION\nThe file is read from the notebook's own folder.\n"
                                            "### END SOLUTION")
    explain.metadata["nbgrader"] = {"grade": True, "grade_id": "explain", "locked": False, "points": 1,
                                    "schema_version": 3, "solution": True, "task": False}
    nbformat.write(_notebook("Problem 2: a data file", [
        new_answer_cell(TOTAL, "total"), new_test_cell(TOTAL_TESTS, "correct_total", 3), explain]),
        folder / "problem2.ipynb")
    return folder


# --------------------------------------------------------------------------------------------
# Fast: the pieces
# --------------------------------------------------------------------------------------------
def test_any_folder_of_solutions_is_an_assignment_and_topics_are_the_courses(tmp_path):
    add_ps1(tmp_path)
    solutions = tmp_path / "solutions"
    for name in ("01_tensors/01_tensors.ipynb", "03_numpy/part1.ipynb", "03_numpy/part2.ipynb"):
        (solutions / name).parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(_notebook(name, []), solutions / name)
    for name in (".ipynb_checkpoints", "__pycache__", "empty"):
        (solutions / name).mkdir()
    assert paths.assignments(tmp_path) == ["01_tensors", "03_numpy", "empty", "ps1"]
    assert paths.topics(tmp_path) == ["01_tensors"]     # NN_name holding NN_name.ipynb: the course's layout
    assert [p.name for p in paths.notebooks("ps1", tmp_path)] == ["problem1.ipynb", "problem2.ipynb"]
    assert paths.check_assignments(["ps1", "03_numpy"], tmp_path) == ["ps1", "03_numpy"]
    for names, message in ((["ps2"], "unknown assignment(s) ps2; the assignments in solutions/ are: 01_tensors"),
                           (["empty"], "solutions/empty/ holds no notebook"), ([], "solutions/empty/ holds no notebook")):
        with pytest.raises(SystemExit, match=message.replace("(", r"\(").replace(")", r"\)")) as err:
            paths.check_assignments(names, tmp_path)
        assert "\n" not in str(err.value)
    assert "ps1 is not one of the course's topics" in paths.not_a_topic("ps1")


def test_bundle_leak_check_covers_every_notebook_of_any_assignment(tmp_path):
    """A student version of another assignment that shows its solution (pasted into a markdown cell,
    or an unmarked solution cell left whole), or a data file quoting a hidden test, is refused."""
    course = tmp_path / "course"
    folder = add_ps1(course)
    unmarked = read(folder / "problem1.ipynb")           # a solution cell without markers: all of it is the answer
    unmarked.cells.append(new_answer_cell("def cubes(n):\n    return [number ** 3 for number in range(1, n + 1)]",
                                          "cubes"))
    nbformat.write(unmarked, folder / "problem1.ipynb")
    student = tmp_path / "bundle" / "notebooks" / "ps1"
    (student / "data").mkdir(parents=True)
    clean = _notebook("Problem 2", [nbformat.v4.new_code_cell("def column_total(path):\n    pass")])
    nbformat.write(clean, student / "problem2.ipynb")
    (student / "tests").mkdir()                          # the assignment's own files, released by nbgrader
    (student / "tests" / "cases.txt").write_text("1 4 9\n")
    assert bundle.find_leaks(tmp_path / "bundle", course) == []
    (tmp_path / "bundle" / "tests").mkdir()                # the course's tests/ never
    (tmp_path / "bundle" / "tests" / "cases.txt").write_text("1 4 9\n")
    assert bundle.find_leaks(tmp_path / "bundle", course) == ["tests/cases.txt: instructor path"]
    shutil.rmtree(tmp_path / "bundle" / "tests")
    pasted = _notebook("Problem 1", [nbformat.v4.new_markdown_cell(f"Hint:\n\n    {PRIVATE[0]}"),
                                    nbformat.v4.new_code_cell("return [number ** 3 for number in range(1, n + 1)]")])
    nbformat.write(pasted, student / "problem1.ipynb")
    (student / "data" / "notes.txt").write_text(PRIVATE[2] + "\n")
    leaks = "\n".join(bundle.find_leaks(tmp_path / "bundle", course))
    assert "notebooks/ps1/problem1.ipynb: shows solution or hidden-test code" in leaks, leaks
    assert "notebooks/ps1/data/notes.txt: shows solution or hidden-test code" in leaks, leaks
    nbformat.write(_notebook("Problem 1", [nbformat.v4.new_code_cell(
        "return [number ** 3 for number in range(1, n + 1)]")]), student / "problem1.ipynb")
    assert "notebooks/ps1/problem1.ipynb: shows solution" in "\n".join(bundle.find_leaks(tmp_path / "bundle", course))


@pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")    # nbgrader's add_submission autoflush chatter
def test_cell_fail_share_leaves_out_manual_cells_awaiting_a_grade(tmp_path, monkeypatch):
    """Per graded cell of a two-notebook assignment (the same grade_id in both notebooks): a manual
    cell waiting for a human (never graded, or graded before and waiting for review again after a
    resubmission) is not counted as failed."""
    from nbgrader.api import Gradebook

    from coursekit.grading.gradebook import stats

    monkeypatch.setenv("PATH", paths.tool_env()["PATH"])      # nbgrader runs alembic by name
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gb:
        gb.add_assignment("ps1")
        for notebook_name, points in (("problem1", 1), ("problem2", 2)):
            gb.add_notebook(notebook_name, "ps1")
            gb.add_grade_cell("correct", notebook_name, "ps1", max_score=points, cell_type="code")
        gb.add_solution_cell("explain", "problem2", "ps1")
        gb.add_grade_cell("explain", "problem2", "ps1", max_score=1, cell_type="markdown")
        for student in ("ann", "bob", "cy"):
            gb.add_student(student)
            gb.add_submission("ps1", student)

        def grade(cell, notebook_name, student, auto=None, manual=None, review=False):
            g = gb.find_grade(cell, notebook_name, "ps1", student)
            g.auto_score, g.manual_score, g.needs_manual_grade = auto, manual, review

        grade("correct", "problem1", "ann", auto=1)
        grade("correct", "problem2", "ann", auto=0)
        grade("explain", "problem2", "ann", manual=0, review=True)     # resubmitted: waits for review again
        grade("correct", "problem1", "bob", auto=0)
        grade("correct", "problem2", "bob", auto=2)
        grade("explain", "problem2", "bob", manual=1)
        grade("correct", "problem1", "cy", auto=1)
        grade("correct", "problem2", "cy", auto=2)
        grade("explain", "problem2", "cy", review=True)                 # never graded yet
        gb.db.commit()
        share = stats(gb, "ps1").cell_fail_share
    assert share == {"problem1/correct": 1 / 3, "problem2/correct": 1 / 3, "problem2/explain": 0.0}


# --------------------------------------------------------------------------------------------
# Slow: the make targets on a copy of the course with ps1 added
# --------------------------------------------------------------------------------------------
#: What the make targets read besides solutions/ and notebooks/ (the tests the course's content checks need).
TOOLING = ("coursekit", "utils", "etc", "Makefile", "nbgrader_config.py", "pyproject.toml", "requirements.lock",
           "environment.yml", "README.md", "LICENSE", "conftest.py", "solutions", "notebooks",
           "tests/conftest.py", "tests/content", "tests/wrong_answers", "tests/mutation_equivalents.yaml",
           "tests/sanitize.cfg")


def copy_course(dest: Path) -> Path:
    """The course's tooling and material in ``dest`` (its commands run with this environment, see make)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", "*.egg-info", "build")
    for name in TOOLING:
        src = ROOT / name
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=ignore)
        else:
            shutil.copy2(src, dest / name)
    return dest


def make(course: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """`make ARGS` in the copied course with this environment (BIN), which is never rebuilt there (-o its
    stamp); `python -m coursekit` there runs the copy's coursekit (the current folder comes first)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
    return subprocess.run(["make", "--no-print-directory", "-o", ".venv/.installed", f"BIN={Path(sys.executable).parent}",
                           *args], cwd=course, env=env, capture_output=True, text=True, timeout=timeout)


def _ok(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 0, f"{proc.args}: exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout + proc.stderr


@pytest.mark.slow
def test_make_targets_take_a_two_notebook_assignment_with_a_data_folder(tmp_path):
    course = copy_course(tmp_path / "course")
    add_ps1(course)
    python = sys.executable
    # the due date, with nbgrader's own command (the course's gradebook; `make assignments` leaves it alone)
    _ok(subprocess.run([python, "-m", "nbgrader", "db", "assignment", "add", "ps1",
                        "--duedate=2030-01-15 17:00:00 UTC", "--log-level=WARN"], cwd=course, capture_output=True,
                       text=True, timeout=120, env=paths.tool_env()))

    out = _ok(make(course, "assignments", "TOPICS=ps1"))
    assert "ps1: student version written to notebooks/ps1 (problem1.ipynb, problem2.ipynb)" in out, out
    student = course / "notebooks" / "ps1"
    assert (student / "data" / "numbers.csv").read_text() == NUMBERS
    text = (student / "problem1.ipynb").read_text() + (student / "problem2.ipynb").read_text()
    assert "raise NotImplementedError()" in text and "YOUR ANSWER HERE" in text
    assert not [line for line in PRIVATE if line in text] and "BEGIN SOLUTION" not in text

    out = _ok(make(course, "execute", "TOPICS=ps1"))
    assert "solutions/ps1/problem1.ipynb: executed in" in out and "solutions/ps1/problem2.ipynb: executed in" in out
    executed = read(course / "solutions" / "ps1" / "problem2.ipynb")
    printed = "".join(o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.outputs)
    assert "total of data/numbers.csv: 25" in printed       # ran from its own folder: found data/
    assert executed.metadata["coursekit"]["executed_on"]["python"]
    assert [c.execution_count for c in executed.cells if c.cell_type == "code"] == [1, 2]
    # its stored outputs are what `make test` compares (nbval over solutions/)
    _ok(subprocess.run([python, "-m", "pytest", "-q", "-p", "no:randomly", "solutions/ps1"], cwd=course,
                       capture_output=True, text=True, timeout=300))

    _ok(make(course, "student-bundle"))
    with zipfile.ZipFile(course / "dist" / "student-bundle.zip") as zf:
        names = set(zf.namelist())
        assert {"notebooks/ps1/problem1.ipynb", "notebooks/ps1/problem2.ipynb", "notebooks/ps1/data/numbers.csv",
                "notebooks/01_tensors/01_tensors.ipynb"} <= names
        assert not [n for n in names if n.startswith("solutions/")]
        shipped = b"".join(zf.read(n) for n in names if n.startswith("notebooks/ps1/")).decode()
    assert not [line for line in PRIVATE if line in shipped] and "BEGIN SOLUTION" not in shipped

    out = _ok(make(course, "mutate", "TOPICS=ps1"))
    assert "ps1: skipped: ps1 is not one of the course's topics" in out, out

    # make grade: a folder per student, one with the instructor's answers, one with the untouched version
    download = tmp_path / "download"
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for name in ("problem1", "problem2")
               for c in read(course / "solutions" / "ps1" / f"{name}.ipynb").cells
               if (c.metadata.get("nbgrader") or {}).get("solution")}
    for who, solve in (("ada", True), ("bob", False)):
        (download / who).mkdir(parents=True)
        for name in ("problem1", "problem2"):
            nb = read(student / f"{name}.ipynb")
            for cell in nb.cells:
                gid = (cell.metadata.get("nbgrader") or {}).get("grade_id")
                if solve and gid in answers:
                    cell.source = answers[gid]
            nbformat.write(nb, download / who / f"{name}.ipynb")
    proc = make(course, "grade", "TOPIC=ps1", f"SUBMISSIONS={download}", "GRADE_ARGS=--workers 2 --quiet", timeout=600)
    out = _ok(proc)
    assert "FLAGGED" not in out and "FAILED" not in out, out
    with open(course / "grades.csv", newline="") as fh:
        rows = {r["student_id"]: r for r in csv.DictReader(fh) if r["assignment"] == "ps1"}
    # 2 + 3 autograded points (the data file was found in the sandbox); the Markdown answer awaits a manual grade
    assert (float(rows["ada"]["raw_score"]), float(rows["ada"]["max_score"])) == (5.0, 6.0), rows["ada"]
    assert float(rows["bob"]["raw_score"]) == 0.0, rows["bob"]

    # the content tests: every check of ps1 passes, or skips saying why (the course's own conventions)
    report = tmp_path / "content.xml"
    proc = subprocess.run([python, "-m", "pytest", "-q", "-n", "0", "-p", "no:randomly", "tests/content",
                           "-k", "(ps1 or test_bundle_holds_no_solution or test_course_has_topics) and not test_foreign_assignment", f"--junitxml={report}"],
                          cwd=course, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:]
    cases = ET.parse(report).getroot().iter("testcase")
    outcome = {f"{c.get('classname')}::{c.get('name')}": (c.find("skipped").get("message", "")
                                                          if c.find("skipped") is not None else "passed")
               for c in cases}
    skipped = {k: v for k, v in outcome.items() if v != "passed"}
    assert all("ps1" in k and "ps1 is not one of the course's topics" in v for k, v in skipped.items()), skipped
    passed = sorted(k for k, v in outcome.items() if v == "passed" and "ps1" in k)
    for check in ("test_every_assignment_has_its_student_version[ps1]",
                  "test_graded_cells_have_unique_ids_and_points[ps1/problem2.ipynb]",
                  "test_student_version_leaks_nothing[ps1/problem1.ipynb]",
                  "test_student_version_leaks_nothing[ps1/problem2.ipynb]"):
        assert any(k.endswith(check) for k in passed), (check, passed)
    for check in ("test_exercises_follow_the_course[ps1]", "test_first_code_cell_seeds[ps1]",
                  "test_wrong_answers_fail_with_good_messages_and_right_answers_pass[ps1]",
                  "test_every_non_equivalent_mutant_is_killed[ps1]", "test_every_notebook_import_comes_with_utils[ps1]"):
        assert any(k.endswith(check) for k in skipped), (check, sorted(skipped))


@pytest.mark.slow
def test_execute_names_the_failing_cell_in_one_line(tmp_path):
    from coursekit import build

    nb = _notebook("broken", [nbformat.v4.new_code_cell("x = 1"),
                              nbformat.v4.new_code_cell("open('data/missing.csv')")])
    path = tmp_path / "broken.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(build.ExecuteError) as err:
        build.execute(path)
    message = str(err.value)
    assert "\n" not in message and "cell 2 failed (FileNotFoundError:" in message and "missing.csv" in message
    assert not read(path).cells[1].outputs          # not written
