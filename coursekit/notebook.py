"""One model of a course notebook: its exercises, its graded cells and nbgrader's markers.

An *exercise* is one autograded answer cell (nbgrader "solution", not graded; the instructor's
answer between ``### BEGIN SOLUTION`` and ``### END SOLUTION``) followed by its graded test cells
(nbgrader "grade", locked, with points; hidden tests between ``### BEGIN HIDDEN TESTS`` and
``### END HIDDEN TESTS``), up to the next answer cell. What a cell *is* (solution, grade, locked)
is decided by ``nbgrader.utils``, so it means here exactly what it means to nbgrader.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

import nbformat
from nbgrader import utils as nbg

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
BEGIN_HIDDEN_TESTS = "### BEGIN HIDDEN TESTS"
END_HIDDEN_TESTS = "### END HIDDEN TESTS"
#: Every marker nbgrader removes (with what is between) from the student version.
MARKERS = (BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN_TESTS, END_HIDDEN_TESTS)
#: What generate_assignment writes in place of a solution region (ClearSolutions.code_stub in
#: nbgrader_config.py), one line each.
CODE_STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")


# ------------------------------------------------------------------------------------------
# Reading and writing
# ------------------------------------------------------------------------------------------
def read(path) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=4)


def write(nb: nbformat.NotebookNode, path) -> None:
    nbformat.write(nb, str(path))


def as_notebook(nb_or_path) -> nbformat.NotebookNode:
    """A notebook node, read from disk when given a path."""
    return nb_or_path if isinstance(nb_or_path, nbformat.NotebookNode) else read(nb_or_path)


def with_source(cell, source: str):
    """A copy of ``cell`` holding ``source`` and no outputs."""
    new = copy.deepcopy(cell)
    new.source = source
    if new.get("cell_type") == "code":
        new.outputs = []
    return new


# ------------------------------------------------------------------------------------------
# Cells, as nbgrader sees them
# ------------------------------------------------------------------------------------------
def nbgrader_meta(cell) -> dict:
    """The cell's ``metadata.nbgrader`` (empty when there is none)."""
    return cell.get("metadata", {}).get("nbgrader") or {}


def grade_id(cell) -> str | None:
    return nbgrader_meta(cell).get("grade_id")


def is_answer_cell(cell) -> bool:
    """An autograded answer: a code cell nbgrader calls a solution and does not grade."""
    return cell.get("cell_type") == "code" and bool(nbg.is_solution(cell)) and not nbg.is_grade(cell)


def is_test_cell(cell) -> bool:
    """Autograder tests: a graded code cell that is not a solution (nbgrader locks it)."""
    return cell.get("cell_type") == "code" and bool(nbg.is_grade(cell)) and not nbg.is_solution(cell)


def is_locked(cell) -> bool:
    """nbgrader's own answer: graded and read-only cells are locked, solution cells never."""
    return bool(nbg.is_locked(cell))


def points(cell) -> float:
    """The points of a graded cell (0 for any other cell)."""
    return float(nbgrader_meta(cell).get("points", 0) or 0) if nbg.is_grade(cell) else 0.0


def total_points(nb_or_path) -> float:
    return sum(points(c) for c in as_notebook(nb_or_path).cells)


def new_answer_cell(source: str, grade_id: str):
    """An autograded answer cell, with the metadata nbgrader's Create Assignment writes."""
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade": False, "grade_id": grade_id, "locked": False, "schema_version": 3,
                                 "solution": True, "task": False}
    return cell


def new_test_cell(source: str, grade_id: str, points: float):
    """A locked autograder-tests cell worth ``points``, as nbgrader's Create Assignment writes it."""
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": grade_id, "locked": True, "points": points,
                                 "schema_version": 3, "solution": False, "task": False}
    return cell


# ------------------------------------------------------------------------------------------
# Exercises
# ------------------------------------------------------------------------------------------
@dataclass
class Exercise:
    """One answer cell and the graded test cells that follow it."""

    grade_id: str                      # the answer cell's grade_id
    solution_index: int                # index of the answer cell in nb.cells
    source: str                        # the answer cell's source (markers included, if any)
    test_indices: list[int] = field(default_factory=list)
    tests: list[str] = field(default_factory=list)     # the test cells' grade_ids
    points: float = 0.0                # the test cells' points together

    @property
    def answer(self) -> str:
        """The instructor's answer as a student would write it: the cell without its markers."""
        return strip_solution_markers(self.source)


def exercises(nb_or_path) -> list[Exercise]:
    """The notebook's exercises in order; test cells before the first answer cell belong to none."""
    found: list[Exercise] = []
    for i, cell in enumerate(as_notebook(nb_or_path).cells):
        if is_answer_cell(cell):
            found.append(Exercise(grade_id(cell), i, cell.source))
        elif is_test_cell(cell) and found:
            found[-1].test_indices.append(i)
            found[-1].tests.append(grade_id(cell))
            found[-1].points += points(cell)
    return found


# ------------------------------------------------------------------------------------------
# Markers
# ------------------------------------------------------------------------------------------
def strip_solution_markers(source: str) -> str:
    """``source`` without its ``### BEGIN/END SOLUTION`` lines (what is between them stays)."""
    return "\n".join(line for line in source.splitlines() if line.strip() not in (BEGIN_SOLUTION, END_SOLUTION))


def marked_regions(source: str, begin: str = BEGIN_SOLUTION, end: str = END_SOLUTION) -> list[list[str]]:
    """The lines strictly between each ``begin`` marker line and the next ``end`` marker line."""
    regions, current = [], None
    for line in source.splitlines():
        text = line.strip()
        if text == begin:
            current = []
        elif text == end and current is not None:
            regions.append(current)
            current = None
        elif current is not None:
            current.append(line)
    return regions


def split_lines(nb_or_path) -> dict[str, set[str]]:
    """The notebook's stripped lines by where they stand: inside solution regions (``BEGIN_SOLUTION``),
    inside hidden-test regions (``BEGIN_HIDDEN_TESTS``), or anywhere else (``"public"``). A solution
    cell without solution markers is a solution region whole (nbgrader replaces all of it)."""
    ends = {BEGIN_SOLUTION: END_SOLUTION, BEGIN_HIDDEN_TESTS: END_HIDDEN_TESTS}
    found: dict[str, set[str]] = {BEGIN_SOLUTION: set(), BEGIN_HIDDEN_TESTS: set(), "public": set()}
    for cell in as_notebook(nb_or_path).cells:
        if nbg.is_solution(cell) and not any(line.strip() == BEGIN_SOLUTION for line in cell.source.splitlines()):
            found[BEGIN_SOLUTION] |= {line.strip() for line in cell.source.splitlines()}
            continue
        region = None
        for line in cell.source.splitlines():
            text = line.strip()
            if text in ends:
                region = text
            elif region is not None and text == ends[region]:
                region = None
            else:
                found[region or "public"].add(text)
    return found


def specific(lines: set[str], min_length: int = 21) -> set[str]:
    """The lines that say something: not short (a stub, ``return x``), not comments."""
    return {t for t in lines if len(t) >= min_length and not t.startswith("#")}


def private_lines(nb_or_path, kinds: tuple[str, ...] = (BEGIN_SOLUTION, BEGIN_HIDDEN_TESTS)) -> set[str]:
    """Specific lines only the instructor may see: inside the regions that open with one of ``kinds``
    (solution, hidden tests) of a source notebook and shown nowhere else in it."""
    lines = split_lines(nb_or_path)
    private = set().union(*(lines[k] for k in kinds))
    return specific(private - lines["public"])


def fill_stubs(student_source: str, solution_source: str) -> str:
    """The student's cell with its k-th code stub replaced by the k-th solution region.

    What surrounds the stubs (the ``def`` line, the docstring) is kept from the student version.
    ValueError when the numbers of stubs and solution regions differ.
    """
    bodies = marked_regions(solution_source)
    student = student_source.split("\n")
    stubs = [i for i in range(len(student) - 1)
             if (student[i].strip(), student[i + 1].strip()) == CODE_STUB]
    if not bodies or len(stubs) != len(bodies):
        raise ValueError(f"{len(stubs)} stub(s) in the student cell but {len(bodies)} solution region(s)")
    answer, start = [], 0
    for stub, body in zip(stubs, bodies):
        answer += student[start:stub] + body
        start = stub + 2
    return "\n".join(answer + student[start:])
