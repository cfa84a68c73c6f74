"""The student's plain data a test cell reads (lists, dicts, sets, numbers, arrays, plain tensors) is a copy in
the judge's kernel; what the student's code changes in it during the cell, and what the cell changes in it
before calling the student's code or leaving it to the student's next cell, reaches the other side, in place,
as in one shared kernel (coursekit/judge/tracked.py). Each cell runs twice, in-process (the student's
namespace itself, as in JupyterLab, Validate and nbval) and through the protocol, and must observe the same."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from coursekit.judge import tracked
from coursekit.judge.namespace import JudgeNamespace
from coursekit.judge.wire import ProtocolError

STUDENT = '''
import numpy as np
import torch

history = []
weights = np.zeros(3)
counts = {"calls": 0}
seen = set()
calls = 0
w = torch.zeros(3, requires_grad=True)
grid = [[0, 0], [0, 0]]
big = np.zeros(200_000)


def train(n):
    global calls
    for i in range(n):
        history.append(i)
        weights[i % 3] += 1
        counts["calls"] += 1
        seen.add(i)
        grid[i % 2][0] += 1
    calls += 1
    return len(history)


def step(lr=1.0):
    w.grad = torch.ones(3)
    with torch.no_grad():
        w.sub_(lr * w.grad)


def fail_after_append():
    history.append("partial")
    raise ValueError("no")


def size():
    return len(history)


def set_cell(r, c, v):
    grid[r][c] = v


def replace_row(r, c, v):
    grid[r] = grid[r][:c] + [v] + grid[r][c + 1:]


def restart():
    global history
    history = ["fresh"]


def scaled(x):
    return x * SCALE


def total():
    return float(weights.sum())


def bump_big():
    big[0] += 1


def first_big():
    return float(big[0])


class Logger:
    """Student code run by attribute access and by len(): a property, a dunder."""
    @property
    def entry(self):
        history.append("read")
        return len(history)

    def __len__(self):
        global calls
        calls += 1
        return calls


logger = Logger()
'''

CELLS = {
    "a list cleared by the cell, filled by the student's code":
        "history.clear()\ntrain(5)\nresult = list(history)",
    "a list read before and after a call": "n = len(history)\ntrain(2)\nresult = (n, len(history))",
    "an alias of the list held by the cell": "h = history\ntrain(2)\nresult = (len(h), h is history)",
    "an array changed in place": "a = weights.copy()\ntrain(3)\nresult = (weights - a).tolist()",
    "a dict and a set": "c = counts['calls']\nk = len(seen)\ntrain(4)\nresult = (counts['calls'] - c, sorted(seen))",
    "nested lists": "g = grid[0][0]\ntrain(3)\nresult = (grid, grid[0][0] - g)",
    "an alias of an inner list": "row = grid[1]\nset_cell(1, 1, 9)\nresult = (list(row), row is grid[1])",
    "the cell's change through an inner alias": "row = grid[0]\nrow[1] = 7\nresult = size() + grid[0][1]",
    "an alias of an inner list the student's code replaced": "row = grid[1]\nreplace_row(1, 1, 9)\n"
                                                             "result = (list(row), list(grid[1]), row is grid[1])",
    "an alias of a list the student's code rebound": "h = history\nh.append(1)\nrestart()\n"
                                                     "result = (h is history, list(h), list(history), size())",
    "the cell replaces an inner list": "row = grid[0]\ngrid[0] = [5, 5]\nset_cell(1, 0, 2)\n"
                                       "result = (list(row), grid, row is grid[0])",
    "a number rebound with global": "before = calls\ntrain(1)\nresult = calls - before",
    "a plain tensor updated under no_grad": "v = w.detach().clone()\nstep()\nresult = (w - v).tolist()",
    "the cell's change seen by the student's code": "history.append('x')\nhistory.append('y')\nresult = size()",
    "the cell's array change seen by the student's code": "weights[:] = 2.0\nresult = total()",
    "the cell's tensor change seen by the student's code":
        "with torch.no_grad():\n    w.fill_(3.0)\nstep(0.5)\nresult = w.tolist()",
    "changed before an error": "try:\n    fail_after_append()\nexcept ValueError:\n    pass\nresult = history[-1:]",
    "a list changed by a student's property": "n = len(history)\ne = logger.entry\nresult = (n, e, list(history))",
    "a number rebound by a student's __len__": "before = calls\nk = len(logger)\nresult = (k, calls - before)",
    "a rebinding by the cell, then a call": "n = len(history)\nhistory = [1, 2, 3]\ntrain(1)\n"
                                            "result = (n, size(), history)",
}


def _in_process(cell: str):
    ns: dict = {}
    exec(compile(STUDENT, "<student>", "exec"), ns)
    exec(cell, ns)                  # (one kernel: the cell runs in the student's own namespace)
    return ns["result"], ns


def _judged(peer_pair, cell: str, shared=()):
    ns: dict = {}
    exec(compile(STUDENT, "<student>", "exec"), ns)
    judge, _ = peer_pair(ns)
    jns = JudgeNamespace("unused")
    jns.use(judge)
    jns.update(torch=torch, np=np)            # (the instructor's imports)
    jns.share(list(shared))
    exec(cell, jns)
    result = dict.__getitem__(jns, "result")
    jns.end_cell()
    return result, ns


@pytest.mark.parametrize("cell", list(CELLS), ids=list(CELLS))
def test_a_test_cell_sees_the_students_data_as_in_one_kernel(cell, peer_pair):
    expected, alone = _in_process(CELLS[cell])
    got, student = _judged(peer_pair, CELLS[cell])
    assert got == expected
    for name in ("history", "counts", "seen", "calls", "grid"):     # the student's next cell sees the same
        assert student[name] == alone[name], name
    for name in ("weights", "w"):
        assert student[name].tolist() == alone[name].tolist(), name


def test_a_value_too_large_to_follow_is_read_again_at_the_next_cell(peer_pair):
    """Over tracked.MAX_ELEMENTS a value is not digested after each call: the cell keeps the copy it read
    (the next cell reads it again); student code still sees the student's own object."""
    got, student = _judged(peer_pair, "b = big[0]\nbump_big()\nresult = (b, big[0], first_big())")
    assert got == (0.0, 0.0, 1.0) and student["big"][0] == 1.0
    assert tracked.digest(np.zeros(tracked.MAX_ELEMENTS + 1)) is None and tracked.digest(np.zeros(10)) is not None


def test_digest_follows_every_kind_of_change_and_refuses_what_is_not_plain_data():
    values = [[1, 2.0, "a", None, (True, b"x")], {"k": [1]}, {1, 2}, np.arange(4.0), torch.ones(3), 3, "s"]
    before = [tracked.digest(v) for v in values]
    assert None not in before
    values[0][4] = (False, b"x")
    values[1]["k"].append(2)
    values[2].add(3)
    values[3][0] = -1
    values[4].data[1] = 5             # (.data: the tensor's version does not move)
    after = [tracked.digest(v) for v in values]
    assert all(a != b for a, b in zip(after[:5], before[:5])) and after[5:] == before[5:]
    assert tracked.digest(1) != tracked.digest(1.0) != tracked.digest(True)
    loop: list = []
    loop.append(loop)
    assert tracked.digest(loop) is None                        # a container that holds itself
    assert tracked.digest([torch.nn.Linear(1, 1)]) is None     # modules keep their identity by origin
    assert tracked.digest(torch.nn.Parameter(torch.ones(1))) is None
    assert tracked.digest(object()) is None


def test_names_the_cell_did_not_read_or_malformed_are_refused_or_ignored(peer_pair):
    ns: dict = {}
    exec(compile(STUDENT, "<student>", "exec"), ns)
    judge, _ = peer_pair(ns)
    jns = JudgeNamespace("unused")
    jns.use(judge)
    jns._take_names([["history", ["L", [["I", 1]], 0]]])      # not read in this cell: nothing bound
    assert not dict.__contains__(jns, "history")
    for bad in ("x", [["history"]], [[1, ["N"]]]):
        with pytest.raises(ProtocolError):
            jns._take_names(bad)


SHARED = {
    "a global the student's function reads": ("SCALE = 3\nresult = scaled(2)", ["SCALE"]),
    "rebound in a loop, read after it": ("for SCALE in range(5):\n    pass\nresult = scaled(1)", ["SCALE"]),
    "set, changed, then read": ("SCALE = [1]\nSCALE.append(2)\nresult = scaled(2)", ["SCALE"]),
    "changed by the student's code after": ("history = [9]\ntrain(1)\nresult = (history, size())", ["history"]),
    "not shared: the judge's own": ("SCALE = 3\ntry:\n    result = scaled(2)\nexcept NameError:\n"
                                    "    result = 'NameError'", []),
}


@pytest.mark.parametrize("cell", list(SHARED), ids=list(SHARED))
def test_a_test_cells_shared_names_are_the_students_as_in_one_kernel(cell, peer_pair):
    """A name the cell's released part binds and the student's cells use (coursekit/slot/cellnames.py:
    JudgedExecute calls share) is bound in the student's kernel too, before the student's code next runs;
    any other name of the cell stays in the judge."""
    source, shared = SHARED[cell]
    got, student = _judged(peer_pair, source, shared)
    if shared:
        expected, alone = _in_process(source)
        assert got == expected
        assert student[shared[0]] == alone[shared[0]]
    else:
        assert got == "NameError" and "SCALE" not in student
