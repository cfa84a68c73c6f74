"""Helpers the pipeline tests share: reading course notebooks and finding their exercises."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from utils.course import NOTEBOOKS, ROOT, SOLUTIONS, topics  # noqa: F401  (re-exported for the tests)


def solution_notebook(topic: str) -> Path:
    return SOLUTIONS / topic / f"{topic}.ipynb"


def student_notebook(topic: str) -> Path:
    return NOTEBOOKS / topic / f"{topic}.ipynb"


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def is_solution(cell) -> bool:
    meta = nbgrader_meta(cell)
    return cell.cell_type == "code" and meta.get("solution", False) and not meta.get("grade", False)


def is_test(cell) -> bool:
    meta = nbgrader_meta(cell)
    return cell.cell_type == "code" and meta.get("grade", False) and not meta.get("solution", False)


@dataclass
class Exercise:
    grade_id: str
    solution_index: int
    test_indices: list[int] = field(default_factory=list)


def exercises(nb) -> list[Exercise]:
    """Each exercise is one solution cell followed by its graded test cells, up to the next solution cell."""
    found: list[Exercise] = []
    for i, cell in enumerate(nb.cells):
        if is_solution(cell):
            found.append(Exercise(nbgrader_meta(cell)["grade_id"], i))
        elif is_test(cell) and found:
            found[-1].test_indices.append(i)
    return found


def read(path: Path):
    return nbformat.read(path, as_version=4)


def with_source(cell, source: str):
    new = copy.deepcopy(cell)
    new.source = source
    new.outputs = []
    return new
