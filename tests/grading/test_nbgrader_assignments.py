"""Assignments as nbgrader defines them, graded by the kit and by plain ``nbgrader autograde``, cell by
cell: any name and number of notebooks, files beside the notebooks (subfolders too), the students'
own files (``Autograde.exclude_overwriting``), task cells, late submissions, ``NBGRADER_EXECUTION``,
tests that call ``open()``, edited test cells; notebooks in another language refused with a reason;
``--notebook``, ``--no-execute`` and ``student_id_exclude`` honoured or refused.

Real nbgrader, real kernels, real sandboxes. nbgrader's own documentation course (``ps1``) is read
from the installed package.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from coursekit import synth
from coursekit.grading.pipeline import Options, grade

pytestmark = pytest.mark.slow
FAST = 'c.KitSandbox.preload_modules = ["math"]\n'
USER_GUIDE = Path(__import__("nbgrader").__file__).parent / "docs" / "source" / "user_guide"


def _rows(db: Path, topic: str) -> dict:
    """Every gradebook value nbgrader's autograde writes for ``topic``: per student, notebook and cell
    the automatic score, maximum and needs-manual-grade, the automatic comments, the late penalty."""
    from nbgrader.api import Gradebook
    out = {}
    with Gradebook(f"sqlite:///{db}") as gb:
        for sub in gb.find_assignment(topic).submissions:
            for snb in sub.notebooks:
                out[(sub.student.id, snb.name, "late penalty")] = snb.late_submission_penalty
                for g in snb.grades:
                    out[(sub.student.id, snb.name, g.name)] = (g.auto_score, g.max_score, bool(g.needs_manual_grade))
                for c in snb.comments:
                    out[(sub.student.id, snb.name, "comment " + c.name)] = c.auto_comment
    return out


def _plain_nbgrader(course: Path, dest: Path, topic: str) -> dict:
    """``nbgrader autograde`` on a copy of the course (the kit's settings left out), its gradebook rows."""
    shutil.copytree(course, dest, ignore=shutil.ignore_patterns("autograded", "feedback", "*.bak-*"))
    config = dest / "nbgrader_config.py"
    config.write_text("\n".join(line for line in config.read_text().splitlines()
                                if not line.startswith(("c.KitSandbox", "c.KitGrading"))))
    # the copy's db_url must be its own gradebook
    config.write_text(config.read_text() + f'\nc.CourseDirectory.db_url = "sqlite:///{dest}/gradebook.db"\n')
    done = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", topic, "--force"], cwd=dest,
                          capture_output=True, text=True, timeout=600)
    # (a kernel's own shutdown race may print an ipykernel traceback on stderr: not nbgrader's failure)
    assert done.returncode == 0 and "| ERROR]" not in done.stderr, done.stderr[-3000:]
    return _rows(dest / "gradebook.db", topic)


def _same_as_plain(kit: dict, plain: dict) -> dict:
    return {k: (kit.get(k), plain.get(k)) for k in sorted(set(kit) | set(plain), key=str) if kit.get(k) != plain.get(k)}


# -- nbgrader's documentation course: two notebooks, a task cell, an edited test cell ---------------

def test_docs_course_grades_as_plain_nbgrader(tmp_path):
    course = synth.make_course(tmp_path / "course", "ps1", source_dir=USER_GUIDE / "source" / "ps1", config_extra=FAST)
    for student in ("bitdiddle", "hacker"):
        shutil.copytree(USER_GUIDE / "submitted" / student / "ps1", course / "submitted" / student / "ps1")
    summary = grade(Options(topic="ps1", root=course, workers=2, progress=False))
    assert summary.graded == ["bitdiddle", "hacker"] and not summary.failed, summary.text()
    kit = _rows(course / "gradebook.db", "ps1")
    assert kit[("hacker", "problem1", "cell-938593c4a215c6cc")] == (None, 4.0, True)   # the task cell: by hand
    assert kit[("hacker", "problem1", "correct_squares")] == (1.0, 1.0, False)
    assert _same_as_plain(kit, _plain_nbgrader(course, tmp_path / "plain", "ps1")) == {}
    # bitdiddle commented out the tests of two locked cells: nbgrader restores them (its checksums), the kit
    # also flags; hacker changed nothing
    assert set(summary.flagged) == {"bitdiddle"}, summary.text()
    assert "locked cell correct_squares was edited" in " ".join(summary.results["bitdiddle"].flags)
    for student in ("bitdiddle", "hacker"):
        for nb in ("problem1", "problem2"):
            assert (course / "autograded" / student / "ps1" / f"{nb}.ipynb").is_file()


# -- an assignment of the instructor's own ----------------------------------------------------------

def _cell(kind, source, **nbgrader):
    cell = nbformat.v4.new_code_cell(source) if kind == "code" else nbformat.v4.new_markdown_cell(source)
    if nbgrader:
        cell.metadata["nbgrader"] = {"grade": False, "solution": False, "locked": False, "task": False,
                                     "schema_version": 3, **nbgrader}
    return cell


def _notebook(cells):
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                   "language_info": {"name": "python"}}
    nb.cells = cells
    return nb


def _write_hw(src: Path) -> None:
    """hw1: two notebooks (one with a dash in its name), a data folder, a file students hand in."""
    folder = src / "hw1"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "values.txt").write_text("3 4 5\n")
    (folder / "answer.txt").write_text("0\n")            # replaced by each student's own (exclude_overwriting)
    part1 = _notebook([
        _cell("markdown", "# Part 1"),
        _cell("code", "def total():\n    ### BEGIN SOLUTION\n    return 12\n    ### END SOLUTION",
              solution=True, grade_id="total"),
        _cell("code", "with open('data/values.txt') as f:\n    values = [int(v) for v in f.read().split()]\n"
                      "assert total() == sum(values)", grade=True, locked=True, points=2, grade_id="total_tests"),
        _cell("code", "import os\nassert os.environ.get('NBGRADER_EXECUTION') == 'autograde'",
              grade=True, locked=True, points=1, grade_id="env_tests"),
    ])
    part2 = _notebook([
        _cell("markdown", "Explain your plot (graded by hand).", task=True, locked=True, points=2, grade_id="explain"),
        _cell("code", "assert open('answer.txt').read().strip() == '42'", grade=True, locked=True, points=1,
              grade_id="answer_tests"),
        _cell("code", "assert open('notes/mine.txt').read() == 'mine'", grade=True, locked=True, points=1,
              grade_id="own_file_tests"),
    ])
    nbformat.write(part1, str(folder / "part1.ipynb"))
    nbformat.write(part2, str(folder / "part-2.ipynb"))


def _hw_submit(course: Path, student: str, *, wrong=False, cheat=False, timestamp=None) -> Path:
    src = course / "solutions" / "hw1"
    part1 = nbformat.read(str(src / "part1.ipynb"), as_version=4)
    if wrong:
        part1.cells[1].source = "def total():\n    return 11"
    if cheat:
        part1.cells[2].source = "# " + part1.cells[2].source.replace("\n", "\n# ")
    folder = synth.submit(course, "hw1", student, {"part1.ipynb": part1,
                                                  "part-2.ipynb": nbformat.read(str(src / "part-2.ipynb"), 4)},
                          timestamp=timestamp)
    (folder / "answer.txt").write_text("42\n")
    (folder / "notes").mkdir()
    (folder / "notes" / "mine.txt").write_text("mine")
    return folder


HW_CONFIG = FAST + ('c.Autograde.exclude_overwriting = {"hw1": ["answer.txt"]}\n'
                    'c.LateSubmissionPlugin.penalty_method = "zero"\n')


def test_own_assignment_files_late_and_options_as_plain_nbgrader(tmp_path):
    from nbgrader.api import Gradebook
    _write_hw(tmp_path / "src")
    course = synth.make_course(tmp_path / "course", "hw1", source_dir=tmp_path / "src" / "hw1", config_extra=HW_CONFIG)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        gb.update_or_create_assignment("hw1", duedate="2024-03-01 12:00:00 UTC")
    _hw_submit(course, "ann", timestamp="2024-03-01 11:00:00 UTC")
    _hw_submit(course, "ben", timestamp="2024-03-02 12:00:00 UTC")            # a day late: 0 (method "zero")
    _hw_submit(course, "cid", wrong=True, cheat=True)                          # edited a locked test cell
    summary = grade(Options(topic="hw1", root=course, workers=2, progress=False))
    assert summary.graded == ["ann", "ben", "cid"] and not summary.failed, summary.text()
    kit = _rows(course / "gradebook.db", "hw1")
    assert kit[("ann", "part1", "total_tests")] == (2.0, 2.0, False)          # data/ reached the kernel
    assert kit[("ann", "part1", "env_tests")] == (1.0, 1.0, False)            # NBGRADER_EXECUTION=autograde
    assert kit[("ann", "part-2", "answer_tests")] == (1.0, 1.0, False)        # the student's answer.txt kept
    assert kit[("ann", "part-2", "own_file_tests")] == (1.0, 1.0, False)      # the student's own folder
    assert kit[("ann", "part-2", "explain")] == (None, 2.0, True)             # the task cell: by hand
    assert kit[("ben", "part1", "late penalty")] == 3.0
    assert kit[("cid", "part1", "total_tests")] == (0.0, 2.0, False)          # the restored test fails
    assert _same_as_plain(kit, _plain_nbgrader(course, tmp_path / "plain", "hw1")) == {}
    assert set(summary.flagged) == {"cid"}, summary.text()                    # open() in a test flags nobody
    assert "locked cell total_tests was edited" in " ".join(summary.results["cid"].flags)

    # --notebook: only that notebook is graded again; the other keeps its grades and executed notebook
    _hw_submit(course, "ann", wrong=True, timestamp="2024-03-01 11:00:00 UTC")
    (course / "submitted" / "ann" / "hw1" / "answer.txt").write_text("41\n")
    again = grade(Options(topic="hw1", root=course, workers=1, progress=False, students=["ann"], notebook="part1"))
    assert again.graded == ["ann"], again.text()
    kit = _rows(course / "gradebook.db", "hw1")
    assert kit[("ann", "part1", "total_tests")] == (0.0, 2.0, False)
    assert kit[("ann", "part-2", "answer_tests")] == (1.0, 1.0, False)
    assert (course / "autograded" / "ann" / "hw1" / "part-2.ipynb").is_file()
    then = grade(Options(topic="hw1", root=course, workers=1, progress=False, students=["ann"]))
    assert then.graded == ["ann"], "after --notebook, the next run grades the whole submission"
    assert _rows(course / "gradebook.db", "hw1")[("ann", "part-2", "answer_tests")] == (0.0, 1.0, False)

    with pytest.raises(SystemExit, match="no such notebook"):
        grade(Options(topic="hw1", root=course, progress=False, notebook="part3"))
    with pytest.raises(SystemExit, match="--no-execute is not available"):
        grade(Options(topic="hw1", root=course, progress=False, no_execute=True))
    config = course / "nbgrader_config.py"
    config.write_text(config.read_text() + '\nc.CourseDirectory.student_id_exclude = "ben,cid"\n')
    excluded = grade(Options(topic="hw1", root=course, workers=1, progress=False, force=True))
    assert excluded.graded == ["ann"], excluded.text()
    assert any("student_id_exclude" in w and "ben, cid" in w for w in excluded.warnings), excluded.warnings


# -- a notebook in another language -------------------------------------------------------------------

def test_a_notebook_in_another_language_is_refused_with_its_reason(tmp_path):
    src = tmp_path / "src" / "rstats"
    src.mkdir(parents=True)
    nb = _notebook([_cell("code", "x <- 1", solution=True, grade_id="x"),
                    _cell("code", "stopifnot(x == 1)", grade=True, locked=True, points=1, grade_id="x_tests")])
    nb.metadata = {"kernelspec": {"display_name": "R", "language": "R", "name": "ir"}, "language_info": {"name": "R"}}
    nbformat.write(nb, str(src / "rstats.ipynb"))
    stubs = 'c.ClearSolutions.code_stub = {"python": "raise NotImplementedError()", "R": "stop(\'no answer\')"}\n'
    course = synth.make_course(tmp_path / "course", "rstats", source_dir=src, config_extra=FAST + stubs)
    synth.submit(course, "rstats", "ann", {"rstats.ipynb": nbformat.read(str(src / "rstats.ipynb"), 4)})
    summary = grade(Options(topic="rstats", root=course, workers=1, progress=False))
    reason = summary.results["ann"].reason
    assert list(summary.failed) == ["ann"] and "another language" in reason and "'R'" in reason, summary.text()
    assert (course / "autograded" / "ann" / "rstats" / "rstats.ipynb").is_file(), "Formgrader still shows it"
    assert "another language" in (course / "grades.csv").read_text()
