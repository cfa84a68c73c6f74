"""What every check shares: describing a student's value in one line, building the message of a failed
check, validating the instructor's arguments, and cutting a failed check's traceback at the caller.

Private to ``utils.checks`` (its public names are for the package's own modules).
"""
from __future__ import annotations

import inspect
import math
import numbers
import reprlib
from typing import Any

import numpy as np
import torch
from torch import nn

from utils._arrays import to_numpy

_MARK = "_utils_checks_failure"   # set on every AssertionError a check raises
MAX_REPR = 70  # characters of a value shown in a message


# ---------------------------------------------------------------------------
# Describing values
# ---------------------------------------------------------------------------

_BRIEF = reprlib.Repr()       # (its keyword arguments are Python 3.12's)
_BRIEF.maxlevel, _BRIEF.maxtuple, _BRIEF.maxlist, _BRIEF.maxarray, _BRIEF.maxdict = 4, 8, 8, 8, 6
_BRIEF.maxset, _BRIEF.maxfrozenset, _BRIEF.maxdeque, _BRIEF.maxstring, _BRIEF.maxlong = 6, 6, 6, MAX_REPR, 40
_BRIEF.maxother = MAX_REPR


def brief(value) -> str:
    """repr(value) for a message: the whole repr of a value of up to a few hundred items, else a bounded one
    (a few items and levels of each container, reprlib), so that it takes time in proportion to what it shows
    whatever the value (a list nested 40 levels deep that shares its items has a full repr of 2**40 parts)."""
    try:
        return repr(value) if _small(value) else _BRIEF.repr(value)
    except Exception:  # noqa: BLE001 - a value whose own repr fails
        return f"<{type(value).__name__}>"


def _small(value, budget: int = 500) -> bool:
    """At most ``budget`` items in ``value``'s containers, counted as its repr would visit them."""
    stack = [value]
    while stack:
        item = stack.pop()
        budget -= 1
        if budget < 0:
            return False
        if type(item) in (list, tuple, set, frozenset):
            stack.extend(item)
        elif type(item) is dict:
            stack.extend(item.keys())
            stack.extend(item.values())
    return True


def short(text: str, limit: int = MAX_REPR) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def shape_str(shape) -> str:
    shape = tuple(int(s) if s is not None else None for s in shape)
    if len(shape) == 1:
        return f"({shape[0]},)"
    return "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"


def fmt_num(x, digits: int = 6) -> str:
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, numbers.Integral):
        return str(int(x))
    if isinstance(x, numbers.Complex) and not isinstance(x, numbers.Real):
        return str(complex(x))
    x = float(x)
    if math.isnan(x) or math.isinf(x):
        return str(x)
    text = f"{x:.{digits}g}"
    return text if any(c in text for c in ".e") else text + ".0"  # 3.0 reads as a float, 3 as an int


def preview(arr: np.ndarray, limit: int = 6) -> str:
    """A few values of an array, e.g. '[0.1, 0.2, 0.3]'."""
    flat = np.asarray(arr).reshape(-1)
    items = ", ".join(fmt_num(v, 4) for v in flat[:limit])
    return "[" + items + (", ..." if flat.size > limit else "") + "]"


def is_tensor(x) -> bool:
    return issubclass(type(x), torch.Tensor)     # type(x): an object's __class__ can lie, its type cannot


def is_array(x) -> bool:
    return issubclass(type(x), np.ndarray)


def describe(value: Any) -> str:
    """A one-line, student-readable summary of any value."""
    if value is None:
        return "None"
    if value is NotImplemented:
        return "NotImplemented"
    if value is Ellipsis:
        return "... (Ellipsis)"
    if is_tensor(value):
        kind = "a Parameter" if isinstance(value, nn.Parameter) else "a tensor"
        text = f"{kind} of shape {shape_str(value.shape)}, dtype {value.dtype}"
        if value.device.type != "cpu":
            text += f" on {value.device}"
        if value.requires_grad:
            text += ", requires_grad=True"
        if 0 < value.numel() <= 6:
            try:
                text += ": " + preview(as_numpy(value))
            except Exception:  # pragma: no cover - exotic dtypes
                pass
        return text
    if is_array(value):
        text = f"a NumPy array of shape {shape_str(value.shape)}, dtype {value.dtype}"
        if 0 < value.size <= 6 and value.dtype.kind in "biufc":
            text += ": " + preview(value)
        return text
    if isinstance(value, np.generic):
        return f"the NumPy {value.dtype} scalar {fmt_num(value) if value.dtype.kind in 'biufc' else value!r}"
    if isinstance(value, bool):
        return f"the Python bool {value}"
    if isinstance(value, numbers.Integral):
        return f"the Python int {value}"
    if isinstance(value, float):
        return f"the Python float {fmt_num(value)}"
    if isinstance(value, str):
        return f"the string {short(brief(value))}"
    if isinstance(value, (list, tuple)):
        kind = type(value).__name__
        return f"a Python {kind} of length {len(value)}: {short(brief(value))}"
    if isinstance(value, dict):
        return f"a dict with keys {short(brief(list(value.keys())))}"
    if inspect.isclass(value):
        return f"the class {value.__name__} itself (not an instance)"
    if inspect.isroutine(value):
        return f"the function {getattr(value, '__name__', '?')} (not its result)"
    if isinstance(value, nn.Module):
        return f"a {type(value).__name__} module"
    if inspect.isgenerator(value):
        return "a generator"
    return f"an object of type {type(value).__name__}"


def kind_hint(value: Any) -> str | None:
    """The likely mistake when a value is not the kind of thing that was expected."""
    if value is None:
        return "did your function forget to `return` its result?"
    if value is NotImplemented or value is Ellipsis:
        return "replace the placeholder with your own code."
    if inspect.isclass(value):
        return f"create an instance first, e.g. `{value.__name__}(...)`."
    if inspect.isroutine(value):
        return "did you forget to call it (with parentheses and arguments)?"
    if inspect.isgenerator(value):
        return "turn it into a list or a tensor first."
    return None


def failure(name: str, problem: str, expected: str | None, got: str | None,
            hint: str | None, default_hint: str | None = None, extra: str | None = None) -> AssertionError:
    """Build (not raise) the AssertionError every check reports, marked as a failed check."""
    lines = [f"{name}: {problem}"]
    if expected is not None:
        lines.append(f"  expected: {expected}")
    if got is not None:
        lines.append(f"  got:      {got}")
    if extra:
        lines.extend("  " + line for line in extra.splitlines())
    chosen = hint if hint is not None else default_hint
    if chosen:
        lines.append(f"  hint: {chosen}")
    return mark(AssertionError("\n".join(lines)))


def mark(error: AssertionError) -> AssertionError:
    """Mark ``error`` as a failed check (a verdict on the student's value, not an error in their code)."""
    setattr(error, _MARK, True)
    return error


def is_failure(err: BaseException) -> bool:
    """Whether ``err`` is a failed check of this package: a test inside student code, or nested calls,
    which ``call`` and ``student_code`` pass through unchanged."""
    return isinstance(err, AssertionError) and getattr(err, _MARK, False) is True


class at_caller:
    """``with at_caller():`` around the body of a public check: a failed check leaves it with its
    traceback cut there, so that the traceback ends on the caller's line (the test cell's), and IPython,
    nbgrader's Validate and the notebook show that line and the message, none of this package's lines.

    Python 3.11+ re-raises the exception with the traceback it now has (3.10 keeps the original: the
    helpers' frames then are only hidden by ``__tracebackhide__``). Other errors (a test cell calling a
    check with bad arguments) keep their whole traceback."""

    __slots__ = ()

    def __enter__(self) -> "at_caller":
        return self

    def __exit__(self, etype, err, tb) -> bool:
        if err is not None and is_failure(err):
            err.__traceback__ = None
        return False


# ---------------------------------------------------------------------------
# Validating the instructor's arguments
# ---------------------------------------------------------------------------

def check_name(func: str, name) -> None:
    if not isinstance(name, str):
        raise TypeError(f"{func}(): `name` must be a string (how the checked object is called "
                        f"in messages, e.g. 'y_hat'), got {type(name).__name__}.")


def check_hint(func: str, hint) -> None:
    if hint is not None and not isinstance(hint, str):
        raise TypeError(f"{func}(): `hint` must be a string or None, got {type(hint).__name__}.")


def check_tolerance(func: str, arg: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{func}(): `{arg}` must be a non-negative number, got {value!r}.")
    return float(value)


# ---------------------------------------------------------------------------
# Converting to NumPy
# ---------------------------------------------------------------------------

def as_numpy(value) -> np.ndarray:
    """Tensors (any device, with or without grad), arrays, scalars and nested lists -> ndarray, through
    the library's one converter (utils._arrays.to_numpy), complex numbers allowed.

    Raises ValueError/TypeError when the value cannot be read as numbers.
    """
    return to_numpy(value, complex_ok=True)


def numeric_or_fail(value, name: str, hint, what: str = "numbers") -> np.ndarray:
    """Student's value -> ndarray, or an AssertionError that says why not."""
    __tracebackhide__ = True
    kind = kind_hint(value)
    if kind is not None:
        raise failure(name, f"expected {what}, but this is not a value.", what, describe(value), hint, kind)
    try:
        return as_numpy(value)
    except Exception:  # strings, dicts, ragged lists, meta tensors, ...
        default = "return a tensor, a NumPy array or a number."
        if isinstance(value, dict):
            default = "this is a dict: pick one entry, e.g. history['train_loss']."
        elif isinstance(value, (list, tuple)):
            default = "the list could not be read as numbers: are all its items numbers (or rows of equal length)?"
        raise failure(name, f"could not read it as {what}.", what, describe(value), hint, default) from None



def shape_hint(got: tuple, expected: tuple) -> str | None:
    concrete = None not in expected
    if len(got) == len(expected) and len(got) > 1 and concrete and tuple(reversed(got)) == expected:
        return "did you swap the dimensions? (a transpose, or a reshape/view in the wrong order)"
    if concrete and math.prod(got) == math.prod(expected):
        squeezed_got = tuple(s for s in got if s != 1)
        squeezed_exp = tuple(s for s in expected if s != 1)
        if squeezed_got == squeezed_exp:
            if len(got) > len(expected):
                return "there is an extra dimension of size 1: remove it with .squeeze(dim) or .reshape(...)."
            return ("a dimension of size 1 is missing: probably a .squeeze() (it drops every size-1 dimension, the "
                    "batch dimension too when N = 1) or an index such as [:, 0]; keep it, e.g. with .unsqueeze(dim).")
        return "same number of elements, arranged differently: check your reshape/view."
    if len(got) != len(expected):
        return (f"expected {len(expected)} dimension(s), got {len(got)}: check any reshape, flatten, "
                "squeeze or reduction (sum/mean over which dim?).")
    return None
