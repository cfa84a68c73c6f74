"""coursekit/slot/cellnames.py: what a judged test cell leaves for the student's later cells: the names its
released part binds that those cells use, never one its hidden part binds or may change."""
from __future__ import annotations

from coursekit.slot.cellnames import left_for_the_student, used_names

FULL = """import math
from math import sqrt
import numpy as np
import os.path
helper = 10
results = []
x, (y, *rest) = 1, (2, 3)
for i in range(2):
    pass
with open(__file__) as fh:
    pass
def fn(a):
    local = 3
    return a
class Box:
    inner = 1
squares = [k * k for k in range(3)]
if (n := 4):
    total: int = n
### BEGIN HIDDEN TESTS
SECRET = 42
assert helper * 2 == 20 and len(x) if False else True
results.append(SECRET)
y = 5
import os
### END HIDDEN TESTS
assert fn(1) == 1"""
RELEASED = "\n".join(line for line in FULL.split("\n")[:19]) + "\nassert fn(1) == 1"
LATER = ("def g():\n    return (math.floor(sqrt(16)), helper, x, y, rest, i, fh, len(results), SECRET, fn(1), np.pi,"
         " os.sep, local, Box.inner, squares, n, total, k)")


def test_the_released_names_later_cells_use_and_never_what_the_hidden_part_changes():
    code, names = left_for_the_student(FULL, RELEASED, used_names(LATER))
    assert code == ["import math", "from math import sqrt", "import numpy as np",
                    "def fn(a):\n    local = 3\n    return a", "class Box:\n    inner = 1"]
    # results: changed by the hidden part (a method call); y: rebound there; os: imported there; SECRET:
    # only there; local, k: not the cell's own names (a function's, a comprehension's); helper and x: only
    # read by the hidden part, left
    assert names == ["fh", "helper", "i", "n", "rest", "squares", "total", "x"]


def test_only_what_later_cells_use():
    code, names = left_for_the_student(FULL, RELEASED, {"helper"})
    assert (code, names) == ([], ["helper"])
    assert left_for_the_student(FULL, RELEASED, set()) == ([], [])


def test_a_cell_that_is_not_python_leaves_nothing():
    assert left_for_the_student("%%R\nx <- 1", "%%R\nx <- 1", {"x"}) == ([], [])
    assert left_for_the_student("def (:", "def (:", {"x"}) == ([], [])
    assert used_names("def (:") == set()
    assert left_for_the_student("!ls\nx = 1", "!ls\nx = 1", {"x"}) == ([], ["x"])      # (IPython's syntax)


def test_every_way_the_hidden_part_may_change_a_name_keeps_it_back():
    later = {"a"}
    for hidden in ("a = 1", "a += [1]", "a[0] = 1", "a.x = 1", "del a[0]", "a.append(1)", "a.x.update({})",
                   "a[0].append(1)", "for a in []: pass", "import a", "def a(): pass", "global a"):
        full = f"a = [0]\n### BEGIN HIDDEN TESTS\n{hidden}\n### END HIDDEN TESTS"
        assert left_for_the_student(full, "a = [0]", later) == ([], []), hidden
    for hidden in ("print(a)", "assert a == [0]", "f(a)", "b = a[0]", "len(a.x)"):
        full = f"a = [0]\n### BEGIN HIDDEN TESTS\n{hidden}\n### END HIDDEN TESTS"
        assert left_for_the_student(full, "a = [0]", later) == ([], ["a"]), hidden
