"""Which exercises a student has solved in this session, so that a lesson's cells never show nonsense.

Every exercise's test cell ends with ``passed(N)``: it prints the confirmation and records exercise N
as solved in the notebook's namespace (never in this package: the grading guard restores the
package's data before every graded cell). A lesson cell that uses the student's functions, or what
was computed with them, runs its code only when the exercises it depends on are solved::

    if solved(3, 4, uses="your train_epoch and evaluate_accuracy"):
        model = ...

otherwise it prints one line saying which exercises to solve first, and the cell ends quietly
(no error: "Run All" goes on, and nbgrader grades as before). "Solved" means that the exercise's
visible tests passed in this kernel; after a restart, run the test cells again.
"""
from __future__ import annotations

import sys

__all__ = ["passed", "solved"]

SOLVED_NAME = "__exercises_passed__"   # the notebook variable holding the solved exercises, as strings


def passed(exercise, part: str | None = None) -> None:
    """Print the one-line confirmation at the end of a test cell, and record the exercise as solved.

    >>> passed(3)
    ✓ exercise 3: all visible tests passed.
    >>> passed(2, "the loss")
    ✓ exercise 2 (the loss): all visible tests passed.
    """
    label = f"exercise {exercise}" + (f" ({part})" if part else "")
    namespace = sys._getframe(1).f_globals
    record = namespace.get(SOLVED_NAME)
    if not isinstance(record, set):
        record = namespace[SOLVED_NAME] = set()
    record.add(str(exercise))
    print(f"✓ {label}: all visible tests passed.")


def _numbers(items: list) -> str:
    """'3', '3 and 4', '3, 4 and 5'."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def solved(*exercises, uses: str | None = None) -> bool:
    """Whether the exercises a lesson cell depends on are solved (their test cells passed in this kernel).

    When one is not, print which to solve first, and what the cell uses (``uses``, e.g. "your trainer",
    "the model trained above"), in one line, and return False: the cell puts its code under
    ``if solved(...):``.

    >>> solved(3, 4, uses="your train_epoch and evaluate_accuracy")
    Solve exercises 3 and 4 first (until their test cells pass): this cell uses your train_epoch and evaluate_accuracy.
    False
    >>> passed(3)
    ✓ exercise 3: all visible tests passed.
    >>> solved(3, 4, uses="your train_epoch and evaluate_accuracy")
    Solve exercise 4 first (until its test cell passes): this cell uses your train_epoch and evaluate_accuracy.
    False
    >>> passed(4)
    ✓ exercise 4: all visible tests passed.
    >>> solved(3, 4)
    True
    """
    if not exercises or not all(isinstance(e, (int, str)) and not isinstance(e, bool) for e in exercises):
        raise TypeError("solved(): pass the numbers of the exercises the cell depends on, e.g. solved(3, 4), "
                        f"got {exercises!r}.")
    if uses is not None and not isinstance(uses, str):
        raise TypeError(f"solved(): `uses` must be a string saying what the cell uses (e.g. 'your trainer'), "
                        f"got {uses!r}.")
    record = sys._getframe(1).f_globals.get(SOLVED_NAME)
    record = record if isinstance(record, set) else set()
    missing = [str(e) for e in exercises if str(e) not in record]
    if not missing:
        return True
    several = len(missing) > 1
    note = (f"Solve exercise{'s' if several else ''} {_numbers(missing)} first "
            f"(until {'their test cells pass' if several else 'its test cell passes'})")
    print(note + (f": this cell uses {uses}." if uses else "."))
    return False
