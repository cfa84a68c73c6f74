"""The autograder tests are part of the product: they must reject plausible wrong answers, tell the
student why, and accept right answers written in other styles.

For every topic, tests/wrong_answers/<topic>.py lists, per exercise (keyed by the solution cell's
grade_id):

- WRONG: ``(why, source, words)``: a plausible wrong answer, and the words its message must contain
  (case-insensitive), typically the cause (``"swapped"``, ``"zero_grad"``, ``"float32"``);
- RIGHT: ``(why, source)``: a correct answer written differently from ours.

One kernel runs the solution notebook top to bottom. At each exercise it first tries the student
version's placeholder (the message must say the exercise is not written yet), every WRONG and RIGHT
source followed by the exercise's test cells (hidden tests included, as the autograder runs them),
then the real solution, so later cells see the state the notebook was written for. Before each try
the names the solution cell defines are removed, so no try sees what an earlier one left behind.

A WRONG answer passes this test only when a test cell fails with an AssertionError raised by
utils.checks (never a raw torch/Python error), whose message contains "expected", "got" and all of
the listed words. A RIGHT answer (and the real solution) must pass every test cell, each printing its
one-line confirmation.
"""
from __future__ import annotations

import ast
import re
import runpy

import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbformat.v4 import new_code_cell

from coursekit.notebook import exercises, nbgrader_meta, read, with_source
from coursekit.paths import ROOT, assignments, is_topic, not_a_topic, solution_notebook, student_notebook

WRONG_DIR = ROOT / "tests" / "wrong_answers"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
FILE_LINE = re.compile(r"File (\S+?\.py)[:,]")
FRAME = re.compile(r"^(?:Cell In\[(\d+)\], line \d+|File \S+?[:,])", re.M)   # one per frame IPython shows
CONFIRMATION = "✓ exercise"


def load_answers(topic):
    """(WRONG, RIGHT) of a topic, validated: WRONG entries are (why, source, [words])."""
    path = WRONG_DIR / f"{topic}.py"
    if not path.exists():
        pytest.fail(f"{path.relative_to(ROOT)} is missing: every topic lists the wrong answers its tests must reject")
    ns = runpy.run_path(str(path))
    wrong, right = ns.get("WRONG", {}), ns.get("RIGHT", {})
    for key, entries in wrong.items():
        for entry in entries:
            if not (isinstance(entry, tuple) and len(entry) == 3 and isinstance(entry[2], (list, tuple))
                    and entry[2] and all(isinstance(w, str) and w for w in entry[2])):
                pytest.fail(f"wrong_answers/{topic}.py, {key}: every WRONG entry is (why, source, [words the "
                            f"message must contain]); this one is not: {str(entry)[:80]!r}")
    for key, entries in right.items():
        for entry in entries:
            if not (isinstance(entry, tuple) and len(entry) == 2):
                pytest.fail(f"wrong_answers/{topic}.py, {key}: every RIGHT entry is (why, source)")
    return wrong, right


def defined_names(source: str) -> list[str]:
    """Top-level names a cell defines (functions, classes, assignments)."""
    names = []
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names += [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]
    return names


class Outcome:
    """What one executed cell did: its error (if any) and what it printed."""

    def __init__(self, cell, error: CellExecutionError | None):
        self.error = error
        self.printed = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")
        if error is None:
            self.ename = self.message = self.raised_in = None
            return
        self.ename = error.ename
        self.message = error.evalue
        traceback = ANSI.sub("", "\n".join("\n".join(o.get("traceback", []))
                                           for o in cell.get("outputs", []) if o.get("output_type") == "error"))
        files = FILE_LINE.findall(traceback)
        self.raised_in = files[-1] if files else None
        self.cells = set(FRAME.findall(traceback))   # the cells of its frames ('' for a file's frame)

    @property
    def from_checks(self) -> bool:
        """A failed check of utils.checks: its traceback ends in the test cell itself, every frame in that
        one cell (the checks cut theirs there, utils/checks/_format.py; a helper the test cell defines
        adds a frame of the same cell), or, where it was not cut, in utils/checks/."""
        if self.ename != "AssertionError":
            return False
        if self.raised_in is None:
            return len(self.cells) == 1 and "" not in self.cells
        return "utils/checks/" in self.raised_in.replace("\\", "/")

    def summary(self) -> str:
        first = (self.message or "").strip().splitlines()
        return f"{self.ename}: {first[0] if first else ''}"


def run_cell(client, cell, index) -> Outcome:
    cell = with_source(cell, cell.source)
    try:
        client.execute_cell(cell, index)
    except CellExecutionError as err:
        return Outcome(cell, err)
    return Outcome(cell, None)


def judge_wrong(why: str, words, own: Outcome, tests: list[Outcome]) -> str | None:
    """None when the wrong answer was rejected with a good message, else what is wrong."""
    failed = [t for t in tests if t.error is not None]
    if not failed:
        return f"WRONG answer ({why}) passed every test"
    raw = [t for t in failed if not t.from_checks]
    if raw:
        return f"WRONG answer ({why}) ended in a raw error, not a utils.checks message: {raw[0].summary()}"
    if words is None:
        return None
    for t in failed:
        low = t.message.lower()
        if all(w.lower() in low for w in list(words) + ["expected", "got"]):
            return None
    missing = [w for w in list(words) + ["expected", "got"] if w.lower() not in failed[0].message.lower()]
    return (f"WRONG answer ({why}): the message lacks {missing}:\n      "
            + "\n      ".join(failed[0].message.splitlines()))


def stub_sources(topic) -> dict[str, str]:
    """grade_id -> the student version's placeholder cell."""
    path = student_notebook(topic)
    if not path.exists():
        return {}
    return {nbgrader_meta(c).get("grade_id"): c.source for c in read(path).cells
            if c.cell_type == "code" and nbgrader_meta(c).get("solution") and not nbgrader_meta(c).get("grade")}


@pytest.mark.slow
@pytest.mark.parametrize("topic", assignments())
def test_wrong_answers_fail_with_good_messages_and_right_answers_pass(topic):
    if not is_topic(topic):
        pytest.skip(not_a_topic(topic) + "; the wrong-answer lists of tests/wrong_answers/ are the course's")
    wrong, right = load_answers(topic)
    path = solution_notebook(topic)
    nb = read(path)
    found = exercises(nb)
    stubs = stub_sources(topic)
    ids = {ex.grade_id for ex in found}
    problems = []
    for key in sorted((set(wrong) | set(right)) - ids):
        problems.append(f"{key}: listed in wrong_answers/{topic}.py but no solution cell has that grade_id")
    for ex in found:
        if len(wrong.get(ex.grade_id, [])) < 3:
            problems.append(f"{ex.grade_id}: fewer than 3 WRONG answers listed")
        if len(right.get(ex.grade_id, [])) < 3:
            problems.append(f"{ex.grade_id}: fewer than 3 RIGHT answers listed")
        if not ex.test_indices:
            problems.append(f"{ex.grade_id}: solution cell has no graded test cell after it")
    by_start = {ex.solution_index: ex for ex in found}

    client = NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            ex = by_start.get(index)
            if ex is not None:
                forget = new_code_cell(   # each try stands for another student: no names or grad mode left over
                    f"for _name in {defined_names(cell.source)!r}:\n    globals().pop(_name, None)\n"
                    "if 'torch' in globals():\n    torch.set_grad_enabled(True)\n")
                trials = []
                if ex.grade_id in stubs:
                    trials.append((False, "the unchanged placeholder", stubs[ex.grade_id], ["not written yet"]))
                trials += [(False, why, src, words) for why, src, words in wrong.get(ex.grade_id, [])]
                trials += [(True, why, src, None) for why, src in right.get(ex.grade_id, [])]
                for should_pass, why, src, words in trials:
                    run_cell(client, forget, index)
                    own = run_cell(client, with_source(cell, src), index)
                    if own.error is not None and should_pass:
                        problems.append(f"{ex.grade_id}: RIGHT answer ({why}) failed in its own cell: {own.summary()}")
                        continue
                    tests = [run_cell(client, nb.cells[t], t) for t in ex.test_indices]
                    if should_pass:
                        failed = [t for t in tests if t.error is not None]
                        if failed:
                            problems.append(f"{ex.grade_id}: RIGHT answer ({why}) was rejected: {failed[0].summary()}")
                        elif not all(CONFIRMATION in t.printed for t in tests):
                            problems.append(f"{ex.grade_id}: a passing test cell printed no '{CONFIRMATION} ...' line")
                        continue
                    verdict = judge_wrong(why, words, own, tests)
                    if verdict:
                        problems.append(f"{ex.grade_id}: {verdict}")
                run_cell(client, forget, index)
            if cell.cell_type == "code":
                outcome = run_cell(client, cell, index)
                if outcome.error is not None:
                    problems.append(f"cell {index} of the solution notebook failed: {outcome.summary()}")
                    break
                graded = nbgrader_meta(cell).get("grade") and not nbgrader_meta(cell).get("solution")
                if graded and CONFIRMATION not in outcome.printed:
                    problems.append(f"cell {index} (a test cell) printed no '{CONFIRMATION} ...' line")
    assert not problems, f"{topic}:\n  " + "\n  ".join(problems)
