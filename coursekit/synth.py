"""Synthetic submissions and throw-away courses, for the grading tests and benchmark.

A submission is the student version of a topic with each answer cell replaced: the instructor's
answer (markers removed), a wrong answer from a wrong-answers file (its ``WRONG`` dict: answer
cell grade_id -> [(why, source), ...]), or left as the stub. The expected score follows the
course convention: each exercise is one answer cell followed by its graded test cells, which pass
exactly when the answer is right. Nothing here imports the test suite: the caller passes the
wrong-answers file.
"""
from __future__ import annotations

import importlib.util
import random
import shutil
from pathlib import Path

import nbformat

from coursekit import notebook
from coursekit.nbgrader_run import nbgrader
from coursekit.paths import ROOT

TINY_TOPIC = "00_tiny"


def exercises(source_nb: Path) -> list[notebook.Exercise]:
    return notebook.exercises(source_nb)


def correct_answers(source_nb: Path) -> dict[str, str]:
    return {ex.grade_id: ex.answer for ex in notebook.exercises(source_nb)}


def wrong_answers(path: Path | None) -> dict:
    """The ``WRONG`` dict of a wrong-answers file (empty when there is none)."""
    if path is None or not Path(path).exists():
        return {}
    spec = importlib.util.spec_from_file_location(f"_wrong_{Path(path).stem}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return getattr(mod, "WRONG", {})


def make_submission(student_nb: Path, answers: dict[str, str | None]) -> nbformat.NotebookNode:
    """The student version with answer cells replaced: answers[grade_id] = source (None: stub)."""
    nb = notebook.read(student_nb)
    for cell in nb.cells:
        gid = notebook.grade_id(cell)
        if notebook.is_answer_cell(cell) and answers.get(gid) is not None:
            cell.source = answers[gid]
    return nb


def mixed_submissions(source_nb: Path, n: int, wrong: dict | None = None, seed: int = 0):
    """n (answers, expected score) pairs: most exercises right, some wrong, some unanswered."""
    rng = random.Random(seed)
    exs = notebook.exercises(source_nb)
    wrong = wrong or {}
    out = []
    for _ in range(n):
        answers, score = {}, 0.0
        for ex in exs:
            r = rng.random()
            if r < 0.7:
                answers[ex.grade_id] = ex.answer
                score += ex.points
            elif r < 0.9 and wrong.get(ex.grade_id):
                answers[ex.grade_id] = rng.choice(wrong[ex.grade_id])[1]
            else:
                answers[ex.grade_id] = None
        out.append((answers, score))
    return out


def make_course(dest: Path, topic: str, *, source_dir: Path | None = None, config_extra: str = "") -> Path:
    """A course at ``dest`` with the project's nbgrader_config.py (plus ``config_extra``), the topic's
    source folder and its generated student version in notebooks/; returns dest."""
    dest = Path(dest)
    (dest / "solutions").mkdir(parents=True, exist_ok=True)
    shutil.copytree(source_dir or (ROOT / "solutions" / topic), dest / "solutions" / topic,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    config = (ROOT / "nbgrader_config.py").read_text()
    (dest / "nbgrader_config.py").write_text(config + "\n" + config_extra + "\n")
    nbgrader("generate_assignment", topic, "--force", root=dest)   # into the course's own gradebook
    return dest


def submit(course: Path, topic: str, student: str, files: dict[str, object], timestamp: str | None = None) -> Path:
    """Put files (name -> NotebookNode, str or bytes) into submitted/<student>/<topic>/."""
    folder = Path(course) / "submitted" / student / topic
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name, content in files.items():
        path = folder / name
        if isinstance(content, nbformat.NotebookNode):
            nbformat.write(content, str(path))
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    if timestamp:
        (folder / "timestamp.txt").write_text(timestamp)
    return folder


def write_tiny_topic(dest_solutions: Path) -> Path:
    """A tiny topic (no torch, fast kernels) with the course's exercise structure."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
                   "language_info": {"name": "python"}}

    def sol(gid, src):
        c = nbformat.v4.new_code_cell(src)
        c.metadata["nbgrader"] = {"grade": False, "grade_id": gid, "locked": False, "schema_version": 3,
                                  "solution": True, "task": False}
        return c

    def test(gid, src, points):
        c = nbformat.v4.new_code_cell(src)
        c.metadata["nbgrader"] = {"grade": True, "grade_id": gid, "locked": True, "points": points,
                                  "schema_version": 3, "solution": False, "task": False}
        return c

    nb.cells = [
        nbformat.v4.new_markdown_cell("# Tiny topic\nTwo exercises."),
        nbformat.v4.new_code_cell("import math"),
        sol("ex1_double", 'def double(x):\n    """Return 2 * x."""\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION'),
        test("ex1_double_tests", "from math import isclose\nassert isclose(double(2), 4)\n"
             "### BEGIN HIDDEN TESTS\nassert isclose(double(5), 10)\n### END HIDDEN TESTS", 2),
        sol("ex2_square", 'def square(x):\n    """Return x squared."""\n    ### BEGIN SOLUTION\n    return x * x\n    ### END SOLUTION'),
        test("ex2_square_tests", "from math import isclose\nassert isclose(square(3), 9)\n"
             "### BEGIN HIDDEN TESTS\nassert isclose(square(-4), 16)\n### END HIDDEN TESTS", 3),
        nbformat.v4.new_markdown_cell("## Summary"),
    ]
    folder = Path(dest_solutions) / TINY_TOPIC
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(folder / f"{TINY_TOPIC}.ipynb"))
    return folder
