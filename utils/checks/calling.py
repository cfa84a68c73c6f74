"""Calling the student's code from a test cell: ``call``, ``with student_code(...)``, ``check_raises``
and ``defined``. What the student's code raises comes back as a failed check that says what was
called, the error in one line, the student's own lines and the likely cause (``explain.py``).
"""
from __future__ import annotations

import contextlib
import inspect
import linecache
import sys
import traceback
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from ._format import at_caller, describe, failure, is_failure, is_tensor, kind_hint, mark, short
from ._plain import plain
from .explain import explain, is_library_file, library_frames, walk_frames

__all__ = ["call", "student_code", "check_raises", "defined", "Spy"]

_STUB_TEXT = "raise NotImplementedError()"


def _student_frames(err: BaseException, test_file: str | None) -> list[tuple[Any, int]]:
    """(frame, line number) of the traceback that belong to the student's code: not a library,
    not utils, not the test cell that made the call."""
    frames = []
    for frame, lineno in walk_frames(err):
        filename = frame.f_code.co_filename
        if is_library_file(filename) or filename == test_file:
            continue
        frames.append((frame, lineno))
    return frames


def _frame_lines(frames: list, limit: int = 3) -> str | None:
    if not frames:
        return None
    lines = []
    for frame, lineno in frames[-limit:]:
        source = linecache.getline(frame.f_code.co_filename, lineno, frame.f_globals).strip()
        where = frame.f_code.co_name
        where = "the cell" if where == "<module>" else where
        lines.append(f"  line {lineno} in {where}: {short(source, 100) if source else '(source not available)'}")
    return "your code:\n" + "\n".join(lines)


def _stub_error(err: BaseException, frames: list) -> bool:
    """The untouched exercise cell: ``raise NotImplementedError()`` on a line of the notebook.

    NotImplementedErrors that torch raises from C code (``"... not implemented for 'Long'"``,
    meta tensors) also end in a notebook frame, so the line itself is read."""
    if not isinstance(err, NotImplementedError):
        return False
    last = None
    for frame, lineno in walk_frames(err):
        last = (frame, lineno)
    if last is None or is_library_file(last[0].f_code.co_filename):
        return False
    line = linecache.getline(last[0].f_code.co_filename, last[1], last[0].f_globals)
    return "raise" in line and "NotImplementedError" in line


def _translate(err: BaseException, what: str, exercise, test_file: str | None, objects: tuple) -> AssertionError:
    frames = _student_frames(err, test_file)
    label = f"exercise {exercise}" if exercise is not None else "this exercise"
    if _stub_error(err, frames):
        return failure(what, f"{label} is not written yet.",
                       f"your code in place of `{_STUB_TEXT}`",
                       "NotImplementedError" + (f": {short(str(err), 80)}" if str(err) else
                                                 " (the exercise cell is still the placeholder)"),
                       None, f"write your solution in {label}'s cell (where it says YOUR CODE HERE), "
                              "run that cell, then run this test cell again.")
    problem, hint = explain(err, library_frames(err), objects)
    first_line = (str(err).strip().splitlines() or [""])[0]
    got = (getattr(err, "__coursekit_type__", None) or type(err).__name__) + (
        f": {short(first_line, 150)}" if first_line else "")
    return failure(what, f"your code raised an error: {problem}.", "a result, without an error", got,
                   None, hint, extra=_frame_lines(frames))


def _caller_file(depth: int = 2) -> str | None:
    try:
        return sys._getframe(depth).f_code.co_filename
    except ValueError:  # pragma: no cover
        return None


class Spy(TorchFunctionMode):
    """Notices torch functions a call must not use: autograd (``backward()``, ``autograd.grad()``) where
    the exercise asks for the chain rule by hand, or the library function the exercise re-implements.

    ``with Spy(autograd=False, forbid=("mse_loss",)) as spy: ...`` runs code under the spy; afterwards
    ``spy.used`` is the name of the first watched function it called (``"backward"``, ``"mse_loss"``), or
    None. ``autograd=False`` watches the autograd functions (``Spy.AUTOGRAD``); ``forbid`` adds names
    of torch functions (matched by ``func.__name__``, so ``nn.MSELoss`` is seen through ``mse_loss``).
    It only watches: every call goes on as without it. ``call(..., autograd=False, forbid=...)`` uses
    it in the student's kernel; the judge's student side uses it where a judged call runs.

    >>> from utils.checks.calling import Spy
    >>> with Spy(autograd=True, forbid=("mse_loss",)) as spy:
    ...     _ = torch.nn.MSELoss()(torch.zeros(2), torch.ones(2))
    >>> spy.used
    'mse_loss'
    """

    AUTOGRAD = ("backward", "grad", "vjp", "jvp", "jacobian", "hessian")
    _AUTOGRAD = AUTOGRAD

    def __init__(self, autograd: bool = True, forbid: tuple = ()):
        super().__init__()
        if isinstance(forbid, str) or not all(isinstance(f, str) for f in forbid):
            raise TypeError(f"Spy(): `forbid` must be a tuple of torch function names, got {forbid!r}.")
        self.watch = tuple(forbid) + (() if autograd else self.AUTOGRAD)
        self.used = None

    def __enter__(self) -> "Spy":
        super().__enter__()
        return self

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        if name in self.watch and self.used is None:
            self.used = name
        return func(*args, **(kwargs or {}))


def _describe_call(fn) -> str:
    name = getattr(fn, "__name__", None) or type(fn).__name__
    return f"{name}(...)"


def call(fn, *args, what: str | None = None, exercise: int | None = None, autograd: bool = True,
         forbid: tuple = (), **kwargs):
    """Call the student's ``fn(*args, **kwargs)`` and return its result.

    Whatever it raises becomes an ``AssertionError`` that names ``what`` was called (e.g.
    ``"linear_forward(X, W, b)"``), the error in one line, the student's own lines of code and,
    for errors this module knows, the likely cause. The placeholder ``raise NotImplementedError()``
    reads "exercise N is not written yet".

    ``autograd=False``: the call runs under ``torch.no_grad()`` and fails if the code uses autograd
    anyway (``backward()``, ``torch.autograd.grad``, or a graph recorded under ``torch.enable_grad()``).
    ``forbid``: names of torch functions the exercise asks not to use (e.g. ``("mse_loss",)``; the
    ``nn`` loss modules call them too).

    What comes back must be plain data where it is data (``_plain``): a subclass of a tensor, an array,
    a number or a container, of the student's own making, fails here, as it cannot reach the judge.

    A typical failure, as the student reads it:

    >>> def double(X):
    ...     return X @ X
    >>> call(double, torch.ones(2, 3), what="double(X)", exercise=2)
    Traceback (most recent call last):
    ...
    AssertionError: double(X): your code raised an error: a matrix product of a 2×3 by a 2×3 matrix: the inner sizes (3 and 2) must be equal.
      expected: a result, without an error
      got:      RuntimeError: mat1 and mat2 shapes cannot be multiplied (2x3 and 2x3)
      your code:
        line 2 in double: return X @ X
      hint: both matrices have the same shape (2×3): @ is the matrix product; to multiply element by element use * (a * b), and for a matrix product transpose one of them (a @ b.T).

    The untouched exercise cell:

    >>> def forward(x):
    ...     # YOUR CODE HERE
    ...     raise NotImplementedError()
    >>> call(forward, 1, what="forward(1)", exercise=4)
    Traceback (most recent call last):
    ...
    AssertionError: forward(1): exercise 4 is not written yet.
      expected: your code in place of `raise NotImplementedError()`
      got:      NotImplementedError (the exercise cell is still the placeholder)
      hint: write your solution in exercise 4's cell (where it says YOUR CODE HERE), run that cell, then run this test cell again.
    """
    __tracebackhide__ = True   # IPython and pytest show the caller's line, not this one
    with at_caller():
        if what is None:
            what = _describe_call(fn)
        if not isinstance(what, str):
            raise TypeError(f"call(): `what` must be a string describing the call, got {what!r}.")
        if exercise is not None and (isinstance(exercise, bool) or not isinstance(exercise, (int, str))):
            raise TypeError(f"call(): `exercise` must be the exercise number, got {exercise!r}.")
        if isinstance(forbid, str) or not all(isinstance(f, str) for f in forbid):
            raise TypeError(f"call(): `forbid` must be a tuple of torch function names, got {forbid!r}.")
        label = f"exercise {exercise}" if exercise is not None else "the exercise"
        if inspect.isclass(fn) and issubclass(fn, nn.Module) and args and is_tensor(args[0]):
            raise failure(what, "this is a class, not a model.", "a model (an instance, e.g. nn.Linear(3, 1))",
                          describe(fn), None,
                          f"create the model by calling the class with its sizes, e.g. model = {fn.__name__}(...), "
                          "then train and use that instance.")
        if not callable(fn):
            raise failure(what, "this is not a function or model.", "something to call", describe(fn), None,
                          kind_hint(fn) or f"check what {label}'s cell assigns to this name.")
        test_file = _caller_file()
        objects = (fn,) + args + tuple(kwargs.values())
        grad_mode = torch.is_grad_enabled()
        saved = []
        spy = Spy(autograd, forbid) if (forbid or not autograd) else None
        remote = getattr(type(fn), "__coursekit_remote__", False)
        try:
            if remote:     # the judge: fn runs in the student's kernel, which reports what the spy saw
                result, used, n_saved = fn.__coursekit_call__(args, kwargs, autograd=autograd, forbid=tuple(forbid))
                if spy is None:
                    return result
                spy.used = used
                saved.extend([1] * int(n_saved or 0))
            elif spy is None:
                return plain(fn(*args, **kwargs), what, handles=False, library=True)
            else:
                with contextlib.ExitStack() as stack:
                    if not autograd:
                        stack.enter_context(torch.no_grad())
                        stack.enter_context(torch.autograd.graph.saved_tensors_hooks(
                            lambda t: (saved.append(1), t)[1], lambda t: t))
                    stack.enter_context(spy)
                    result = fn(*args, **kwargs)
        except AssertionError as err:
            if is_failure(err):
                raise
            translated = _translate(err, what, exercise, test_file, objects)
            torch.set_grad_enabled(grad_mode)      # do not leave the kernel without gradients
            raise translated from None
        except Exception as err:
            translated = _translate(err, what, exercise, test_file, objects)
            torch.set_grad_enabled(grad_mode)
            if remote and spy is not None and isinstance(getattr(err, "__coursekit_spy__", None), str):
                spy.used = err.__coursekit_spy__
            if spy is not None and spy.used is not None:   # e.g. backward() under no_grad: the cause is using it
                hint = (f"write the formula yourself; the test compares your result with {spy.used}."
                        if spy.used in forbid else _AUTOGRAD_HINT)
                raise failure(what, f"uses {spy.used}, which this exercise asks you not to use"
                              + ("" if spy.used in forbid else " (it used autograd)") + ".",
                              "a result computed without it", f"a call of {spy.used}, which then raised "
                              f"{type(err).__name__}", None, hint,
                              extra=_frame_lines(_student_frames(err, test_file))) from None
            raise translated from None
        if spy.used in forbid:
            raise failure(what, f"uses {spy.used}, which this exercise asks you not to use.",
                          "your own computation with tensor operations", f"a call of {spy.used} (directly or through "
                          "an nn loss module)", None, "write the formula yourself; the test compares your result with "
                          f"{spy.used}.")
        if spy.used or saved:
            used = f"it called {spy.used}()" if spy.used else "it recorded a graph for autograd (torch.enable_grad?)"
            raise failure(what, "used autograd, which this exercise asks you not to use.",
                          "a result computed from the formula, without autograd", used, None, _AUTOGRAD_HINT)
        return result if remote else plain(result, what, handles=False, library=True)


_AUTOGRAD_HINT = "compute the derivatives yourself with the chain rule, using plain tensor operations."


class student_code:
    """``with student_code("model3(X)", exercise=6): ...`` translates errors like ``call`` does.

    For a few lines that use the student's objects (a model's forward pass, a training loop
    written in the test). Failed checks inside the block pass through unchanged.

    A typical failure, as the student reads it:

    >>> def forward(X):
    ...     return X @ torch.ones(2, 2)
    >>> with student_code("forward(X)", exercise=3):
    ...     y = forward(torch.ones(4, 3))
    Traceback (most recent call last):
    ...
    AssertionError: forward(X): your code raised an error: a matrix product of a 4×3 by a 2×2 matrix: the inner sizes (3 and 2) must be equal.
      expected: a result, without an error
      got:      RuntimeError: mat1 and mat2 shapes cannot be multiplied (4x3 and 2x2)
      your code:
        line 2 in forward: return X @ torch.ones(2, 2)
      hint: check the shapes of both operands (print them) before the @.
    """

    def __init__(self, what: str, exercise: int | None = None, objects: tuple = ()):
        if not isinstance(what, str):
            raise TypeError(f"student_code(): `what` must be a string, got {what!r}.")
        self.what, self.exercise, self.objects = what, exercise, tuple(objects)
        self.test_file = _caller_file()

    def __enter__(self):
        self.grad_mode = torch.is_grad_enabled()
        return self

    def __exit__(self, etype, err, tb):
        __tracebackhide__ = True
        if err is None or not isinstance(err, Exception) or is_failure(err):
            return False          # a failed check inside the block: as it is (its traceback ends in the cell)
        with at_caller():
            translated = _translate(err, self.what, self.exercise, self.test_file, self.objects)
            torch.set_grad_enabled(self.grad_mode)
            raise translated from None


def check_raises(expected_error, fn, *args, what: str | None = None, exercise: int | None = None, **kwargs) -> None:
    """The student's ``fn(*args, **kwargs)`` must raise ``expected_error`` (an exception class).

    Any other error is explained as ``call`` explains it.

    A typical failure, as the student reads it:

    >>> def positive(x):
    ...     return x
    >>> check_raises(ValueError, positive, -1, what="positive(-1)")
    Traceback (most recent call last):
    ...
    AssertionError: positive(-1): did not raise an error.
      expected: ValueError with a helpful message
      got:      it returned the Python int -1
      hint: check the argument yourself and raise ValueError("...") for values you do not handle.
    """
    __tracebackhide__ = True   # IPython and pytest show the caller's line, not this one
    with at_caller():
        if not (inspect.isclass(expected_error) and issubclass(expected_error, BaseException)):
            raise TypeError(f"check_raises(): `expected_error` must be an exception class, got {expected_error!r}.")
        what = what if what is not None else _describe_call(fn)
        test_file = _caller_file()
        try:
            result = fn(*args, **kwargs)
        except expected_error:
            return
        except Exception as err:
            if _stub_error(err, []) or not isinstance(err, Exception):
                raise _translate(err, what, exercise, test_file, (fn,) + args) from None
            raise failure(what, f"raised the wrong kind of error.", expected_error.__name__,
                          f"{type(err).__name__}: {short(str(err), 120)}", None,
                          f"raise {expected_error.__name__}(\"...\") yourself, with a message that says what is "
                          "wrong.", extra=_frame_lines(_student_frames(err, test_file))) from None
        raise failure(what, "did not raise an error.", f"{expected_error.__name__} with a helpful message",
                      f"it returned {describe(result)}", None,
                      f"check the argument yourself and raise {expected_error.__name__}(\"...\") for values you do "
                      "not handle.")


def _previous_cell_error() -> BaseException | None:
    """The error that stopped the cell run just before this one (in a notebook), if any."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    if hasattr(shell, "coursekit_previous_error"):    # the judge: the student kernel's last error, as data
        err = shell.coursekit_previous_error
    else:
        result = getattr(shell, "last_execution_result", None)
        err = getattr(result, "error_in_exec", None)
    if err is None or is_failure(err):
        return None
    return err


def defined(name: str, exercise: int | None = None):
    """The value of the notebook variable ``name`` (e.g. ``"model3"``) that an exercise cell creates.

    Fails with a message when the name is missing, or when the cell run just before this test
    cell (the exercise cell) stopped with an error: then the student sees that error explained,
    not a misleading verdict on a half-built object.

    A typical failure, as the student reads it:

    >>> defined("model3", exercise=6)
    Traceback (most recent call last):
    ...
    AssertionError: model3: is not defined.
      expected: model3, created by exercise 6's cell
      got:      no variable of that name
      hint: write exercise 6 so that it creates `model3`, run that cell, then this one.
    """
    __tracebackhide__ = True   # IPython and pytest show the caller's line, not this one
    with at_caller():
        if not isinstance(name, str):
            raise TypeError(f"defined(): `name` must be a string, got {name!r}.")
        namespace = sys._getframe(1).f_globals
        label = f"exercise {exercise}" if exercise is not None else "the exercise"
        err = _previous_cell_error()
        if err is not None:
            if _stub_error(err, []):
                raise _translate(err, name, exercise, None, ())
            what = f"{name} ({label}'s cell)"
            translated = _translate(err, what, exercise, None, ())
            lines = str(translated).splitlines()
            lines[0] = (f"{what}: the cell stopped with an error, so {name} is "
                        f"{'missing' if name not in namespace else 'not finished'}: "
                        + lines[0].split("your code raised an error: ", 1)[-1])
            raise mark(AssertionError("\n".join(lines)))
        if name in namespace:
            return plain(namespace[name], name, handles=False, library=True)
        raise failure(name, "is not defined.", f"{name}, created by {label}'s cell", "no variable of that name",
                      None, f"write {label} so that it creates `{name}`, run that cell, then this one.")
