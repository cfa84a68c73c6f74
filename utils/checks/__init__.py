"""Assertion helpers for the exercise test cells.

Every check either returns ``None`` quietly or raises ``AssertionError`` with a short
message written for a student::

    y_hat: wrong shape.
      expected: (64, 10)
      got:      (10, 64), a tensor of dtype torch.float32
      hint: did you swap the dimensions?

``name`` is how the student's object is called in the message; ``hint`` is an optional
sentence that replaces the built-in guess at the likely mistake.

Who is at fault decides the exception: a student's value that is wrong (including the
wrong *kind* of value, such as ``None`` or a function that was never called) is a
failed check, ``AssertionError``. A test cell that calls a helper with bad arguments
(``expected_shape="3x4"``, ``hint=5``) is the instructor's mistake and raises
``TypeError`` or ``ValueError`` naming the argument and what it accepts.

A failed check's traceback ends on the line of the test cell that called it: the student sees
that line and the message, none of this package's lines (``_format.at_caller``; its frames also
carry ``__tracebackhide__``).

The package, by concept (every public name is imported from here, ``from utils.checks import ...``):

- ``kinds``: ``check_type``, ``check_shape``, ``check_dtype``;
- ``compare``: ``check_close``, ``check_equal`` (with the known mistakes' ``causes``);
- ``conditions``: ``check_true``, ``check_requires_grad``, ``check_decreasing``;
- ``models``: ``check_param_count``, ``check_layers``;
- ``calling``: ``call``, ``student_code``, ``check_raises``, ``defined`` (calling the student's code),
  with ``explain`` and the table of known errors in ``rules`` (``MESSAGE_RULES``: content authors add
  rows there);
- ``progress``: ``passed`` (the end of a test cell) and ``solved`` (a lesson cell's dependencies);
- ``properties``: ``check_against_reference`` and its properties (``same_kind``, ``same_values``,
  ``same_gradients``, ``inputs_unchanged``, ``repeatable``), over inputs generated with ``tensors``,
  ``arrays`` and ``Args`` (``properties_inputs``), against the instructor's ``reference`` (``reference``);
- ``_format``: what they share (describing values, building messages, validating arguments).
"""
from __future__ import annotations

from .calling import call, check_raises, defined, student_code
from .compare import check_close, check_equal
from .conditions import check_decreasing, check_requires_grad, check_true
from .kinds import check_dtype, check_shape, check_type
from .models import check_layers, check_param_count
from .progress import passed, solved
from .properties import check_against_reference
from .properties_checks import inputs_unchanged, repeatable, same_gradients, same_kind, same_values
from .properties_inputs import Args, arrays, tensors
from .reference import reference

__all__ = [
    "check_type",
    "check_shape",
    "check_dtype",
    "check_close",
    "check_equal",
    "check_true",
    "check_param_count",
    "check_layers",
    "check_requires_grad",
    "check_decreasing",
    "check_raises",
    "call",
    "student_code",
    "defined",
    "passed",
    "solved",
    "check_against_reference",
    "same_kind",
    "same_values",
    "same_gradients",
    "inputs_unchanged",
    "repeatable",
    "tensors",
    "arrays",
    "Args",
    "reference",
]

# One public module, as before the split: utils.checks.check_close is what messages, the grading guard's
# reports and help() call it.
for _name in __all__:
    globals()[_name].__module__ = __name__
del _name
