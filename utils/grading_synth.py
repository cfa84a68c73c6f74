"""Synthetic submissions and throw-away courses, for the grading tests and benchmark.

A submission is the student version of a topic (what generate_assignment wrote) with each
solution cell replaced by an answer: the instructor's solution (markers removed), a wrong answer
from ``tests/wrong_answers/<topic>.py`` (WRONG dict), or left as the stub. The expected score
follows the course convention: each exercise is one solution cell followed by its graded test
cell(s), which pass exactly when the answer is right.
"""
from __future__ import annotations

import importlib.util
import random
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Exercise:
    solution_id: str
    solution: str                 # instructor's answer with the BEGIN/END SOLUTION markers removed
    tests: list[str]              # grade_ids of the graded test cells that follow
    points: float


def strip_markers(source: str) -> str:
    lines = [l for l in source.splitlines()
             if l.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")]
    return "\n".join(lines)


def exercises(source_nb_path: Path) -> list[Exercise]:
    nb = nbformat.read(str(source_nb_path), as_version=4)
    out: list[Exercise] = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":
            out.append(Exercise(meta["grade_id"], strip_markers(cell.source), [], 0.0))
        elif meta.get("grade") and not meta.get("solution") and out:
            out[-1].tests.append(meta["grade_id"])
            out[-1].points += float(meta.get("points", 0))
    return out


def total_points(source_nb_path: Path) -> float:
    nb = nbformat.read(str(source_nb_path), as_version=4)
    return sum(float(c.metadata["nbgrader"].get("points", 0)) for c in nb.cells
               if c.metadata.get("nbgrader", {}).get("grade"))


def wrong_answers(topic: str, root: Path = ROOT) -> dict:
    path = Path(root) / "tests" / "wrong_answers" / f"{topic}.py"
    if not path.exists():
        path = ROOT / "tests" / "wrong_answers" / f"{topic}.py"
    if not path.exists():
        return {}
    spec = importlib.util.spec_from_file_location(f"_wrong_{topic}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return getattr(mod, "WRONG", {})


def make_submission(student_nb_path: Path, answers: dict[str, str | None]) -> nbformat.NotebookNode:
    """The student version with solution cells replaced: answers[grade_id] = source (None: stub)."""
    nb = nbformat.read(str(student_nb_path), as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.metadata.get("nbgrader", {}).get("solution") and answers.get(gid) is not None:
            cell.source = answers[gid]
    return nb


def correct_answers(source_nb_path: Path) -> dict[str, str]:
    return {ex.solution_id: ex.solution for ex in exercises(source_nb_path)}


def mixed_submissions(topic: str, source_nb_path: Path, n: int, seed: int = 0, root: Path = ROOT):
    """n (answers, expected_score) pairs, a realistic mix: most exercises right, some wrong
    (from the WRONG dict when there is one), some left unanswered."""
    rng = random.Random(seed)
    exs = exercises(source_nb_path)
    wrong = wrong_answers(topic, root)
    out = []
    for _ in range(n):
        answers, score = {}, 0.0
        for ex in exs:
            r = rng.random()
            if r < 0.7:
                answers[ex.solution_id] = ex.solution
                score += ex.points
            elif r < 0.9 and wrong.get(ex.solution_id):
                answers[ex.solution_id] = rng.choice(wrong[ex.solution_id])[1]
            else:
                answers[ex.solution_id] = None  # unanswered stub
        out.append((answers, score))
    return out


# ------------------------------------------------------------------------------------------
# throw-away courses
# ------------------------------------------------------------------------------------------
def make_course(dest: Path, topic: str, *, source_dir: Path | None = None, config_extra: str = "") -> Path:
    """A course at dest with the project's nbgrader_config.py (plus config_extra), the topic's
    solutions folder and its generated student version in notebooks/; returns dest."""
    dest = Path(dest)
    (dest / "solutions").mkdir(parents=True, exist_ok=True)
    shutil.copytree(source_dir or (ROOT / "solutions" / topic), dest / "solutions" / topic,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    config = (ROOT / "nbgrader_config.py").read_text()
    (dest / "nbgrader_config.py").write_text(config + "\n" + config_extra + "\n")
    from utils.grading import ensure_venv_on_path
    ensure_venv_on_path()
    cmd = [sys.executable, "-m", "nbgrader", "generate_assignment", topic, "--log-level=WARN",
           f"--CourseDirectory.root={dest}"]
    proc = subprocess.run(cmd, cwd=dest, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"generate_assignment failed:\n{proc.stdout}\n{proc.stderr}")
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


# A tiny topic (no torch, fast kernels) with the course's exercise structure, for unit tests.
TINY_TOPIC = "00_tiny"


def write_tiny_topic(dest_solutions: Path) -> Path:
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
