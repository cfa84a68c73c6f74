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
"""
from __future__ import annotations

import contextlib
import inspect
import linecache
import math
import numbers
import os
import re
import sys
import traceback
from typing import Any

import numpy as np
import torch

from utils._arrays import to_numpy
from torch import nn
from torch.overrides import TorchFunctionMode

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
]

_MAX_REPR = 70  # characters of a value shown in a message


# ---------------------------------------------------------------------------
# Describing values
# ---------------------------------------------------------------------------

def _short(text: str, limit: int = _MAX_REPR) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _shape_str(shape) -> str:
    shape = tuple(int(s) if s is not None else None for s in shape)
    if len(shape) == 1:
        return f"({shape[0]},)"
    return "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"


def _fmt_num(x, digits: int = 6) -> str:
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


def _preview(arr: np.ndarray, limit: int = 6) -> str:
    """A few values of an array, e.g. '[0.1, 0.2, 0.3]'."""
    flat = np.asarray(arr).reshape(-1)
    items = ", ".join(_fmt_num(v, 4) for v in flat[:limit])
    return "[" + items + (", ..." if flat.size > limit else "") + "]"


def _is_tensor(x) -> bool:
    return isinstance(x, torch.Tensor)


def _is_array(x) -> bool:
    return isinstance(x, np.ndarray)


def _describe(value: Any) -> str:
    """A one-line, student-readable summary of any value."""
    if value is None:
        return "None"
    if value is NotImplemented:
        return "NotImplemented"
    if value is Ellipsis:
        return "... (Ellipsis)"
    if _is_tensor(value):
        kind = "a Parameter" if isinstance(value, nn.Parameter) else "a tensor"
        text = f"{kind} of shape {_shape_str(value.shape)}, dtype {value.dtype}"
        if value.device.type != "cpu":
            text += f" on {value.device}"
        if value.requires_grad:
            text += ", requires_grad=True"
        if 0 < value.numel() <= 6:
            try:
                text += ": " + _preview(_as_numpy(value))
            except Exception:  # pragma: no cover - exotic dtypes
                pass
        return text
    if _is_array(value):
        text = f"a NumPy array of shape {_shape_str(value.shape)}, dtype {value.dtype}"
        if 0 < value.size <= 6 and value.dtype.kind in "biufc":
            text += ": " + _preview(value)
        return text
    if isinstance(value, np.generic):
        return f"the NumPy {value.dtype} scalar {_fmt_num(value) if value.dtype.kind in 'biufc' else value!r}"
    if isinstance(value, bool):
        return f"the Python bool {value}"
    if isinstance(value, numbers.Integral):
        return f"the Python int {value}"
    if isinstance(value, float):
        return f"the Python float {_fmt_num(value)}"
    if isinstance(value, str):
        return f"the string {_short(repr(value))}"
    if isinstance(value, (list, tuple)):
        kind = type(value).__name__
        return f"a Python {kind} of length {len(value)}: {_short(repr(value))}"
    if isinstance(value, dict):
        return f"a dict with keys {_short(repr(list(value.keys())))}"
    if inspect.isclass(value):
        return f"the class {value.__name__} itself (not an instance)"
    if inspect.isroutine(value):
        return f"the function {getattr(value, '__name__', '?')} (not its result)"
    if isinstance(value, nn.Module):
        return f"a {type(value).__name__} module"
    if inspect.isgenerator(value):
        return "a generator"
    return f"an object of type {type(value).__name__}"


def _kind_hint(value: Any) -> str | None:
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


def _failure(name: str, problem: str, expected: str | None, got: str | None,
             hint: str | None, default_hint: str | None = None, extra: str | None = None) -> AssertionError:
    """Build (not raise) the AssertionError every check reports."""
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
    return AssertionError("\n".join(lines))


# ---------------------------------------------------------------------------
# Validating the instructor's arguments
# ---------------------------------------------------------------------------

def _check_name(func: str, name) -> None:
    if not isinstance(name, str):
        raise TypeError(f"{func}(): `name` must be a string (how the checked object is called "
                        f"in messages, e.g. 'y_hat'), got {type(name).__name__}.")


def _check_hint(func: str, hint) -> None:
    if hint is not None and not isinstance(hint, str):
        raise TypeError(f"{func}(): `hint` must be a string or None, got {type(hint).__name__}.")


def _check_tolerance(func: str, arg: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{func}(): `{arg}` must be a non-negative number, got {value!r}.")
    return float(value)


# ---------------------------------------------------------------------------
# Converting to NumPy
# ---------------------------------------------------------------------------

def _as_numpy(value) -> np.ndarray:
    """Tensors (any device, with or without grad), arrays, scalars and nested lists -> ndarray, through
    the library's one converter (utils._arrays.to_numpy), complex numbers allowed.

    Raises ValueError/TypeError when the value cannot be read as numbers.
    """
    return to_numpy(value, complex_ok=True)


def _numeric_or_fail(value, name: str, hint, what: str = "numbers") -> np.ndarray:
    """Student's value -> ndarray, or an AssertionError that says why not."""
    kind = _kind_hint(value)
    if kind is not None:
        raise _failure(name, f"expected {what}, but this is not a value.", what, _describe(value), hint, kind)
    try:
        return _as_numpy(value)
    except Exception:  # strings, dicts, ragged lists, meta tensors, ...
        default = "return a tensor, a NumPy array or a number."
        if isinstance(value, dict):
            default = "this is a dict: pick one entry, e.g. history['train_loss']."
        elif isinstance(value, (list, tuple)):
            default = "the list could not be read as numbers: are all its items numbers (or rows of equal length)?"
        raise _failure(name, f"could not read it as {what}.", what, _describe(value), hint, default) from None


# ---------------------------------------------------------------------------
# check_type
# ---------------------------------------------------------------------------

def _type_names(types: tuple) -> str:
    names = []
    for t in types:
        if t is torch.Tensor:
            names.append("torch.Tensor")
        elif t is np.ndarray:
            names.append("numpy.ndarray")
        elif t.__module__ in ("builtins",):
            names.append(t.__name__)
        elif t.__module__.startswith("torch.nn"):
            names.append(f"nn.{t.__name__}")
        else:
            names.append(t.__name__)
    return " or ".join(names)


def check_type(value, expected_type, name: str, hint: str | None = None) -> None:
    """Check ``isinstance(value, expected_type)``; ``expected_type`` is a class or a tuple of classes.

    ``True``/``False`` do not count as ``int`` here unless ``bool`` is expected too.
    """
    _check_name("check_type", name)
    _check_hint("check_type", hint)
    types = expected_type if isinstance(expected_type, tuple) else (expected_type,)
    if not types or not all(inspect.isclass(t) for t in types):
        raise TypeError("check_type(): `expected_type` must be a class such as torch.Tensor or int, "
                        f"or a tuple of classes, got {expected_type!r}.")
    ok = isinstance(value, types)
    if ok and isinstance(value, bool) and bool not in types and object not in types:
        ok = False  # True is an int to Python, but almost never what an exercise wants
    if ok:
        return
    default = _kind_hint(value)
    if default is None:
        wants_tensor = any(issubclass(t, torch.Tensor) for t in types)
        if wants_tensor and isinstance(value, (numbers.Number, np.generic)):
            default = ("this is a plain number, not a tensor: did you call .item() or float()? "
                       "Keep the tensor.")
        elif wants_tensor and _is_array(value):
            default = "this is a NumPy array: convert it with torch.from_numpy(...) or torch.tensor(...)."
        elif wants_tensor and isinstance(value, (list, tuple)) and value and all(_is_tensor(v) for v in value):
            default = "this is a list of tensors: combine them into one tensor with torch.stack(...)."
        elif wants_tensor and isinstance(value, (list, tuple)):
            default = "convert it with torch.tensor(...)."
        elif _is_tensor(value) and any(t in (float, int, bool) for t in types):
            default = "use .item() to turn a one-element tensor into a Python number."
        elif _is_tensor(value) and np.ndarray in types:
            default = "use .detach().cpu().numpy() to turn a tensor into a NumPy array."
        elif isinstance(value, (list, tuple)) and np.ndarray in types:
            default = "this is a Python list: return a NumPy array (for a tensor: .detach().cpu().numpy())."
        elif isinstance(value, bool) and int in types:
            default = "True/False is a bool; return a count or index as an int."
        elif isinstance(value, float) and int in types and float(value).is_integer():
            default = "use int(...) or integer division //."
        elif isinstance(value, (numbers.Number, np.generic)) and float in types:
            default = "use float(...) to get a Python float."
    raise _failure(name, "wrong type.", _type_names(types), _describe(value), hint, default)


# ---------------------------------------------------------------------------
# check_shape
# ---------------------------------------------------------------------------

def _validate_shape(func: str, expected_shape) -> tuple:
    if isinstance(expected_shape, (list, torch.Size)):
        expected_shape = tuple(expected_shape)
    if not isinstance(expected_shape, tuple) or not all(
            (isinstance(s, numbers.Integral) and not isinstance(s, bool) and s >= 0) or s is None
            for s in expected_shape):
        raise TypeError(f"{func}(): `expected_shape` must be a tuple of non-negative ints such as (64, 10) "
                        f"(None for 'any size'), got {expected_shape!r}.")
    return tuple(None if s is None else int(s) for s in expected_shape)


def _shape_hint(got: tuple, expected: tuple) -> str | None:
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


def check_shape(value, expected_shape: tuple, name: str, hint: str | None = None) -> None:
    """Check the shape of a tensor or NumPy array; ``None`` in ``expected_shape`` matches any size."""
    _check_name("check_shape", name)
    _check_hint("check_shape", hint)
    expected = _validate_shape("check_shape", expected_shape)
    if not (_is_tensor(value) or _is_array(value)):
        default = _kind_hint(value)
        if default is None and isinstance(value, (numbers.Number, np.generic)):
            default = "this is a plain number, not a tensor: did you call .item() or float()? Keep the tensor."
        elif default is None and isinstance(value, (list, tuple)):
            default = "this is a Python list, not a tensor: convert it with torch.tensor(...)."
        raise _failure(name, "expected a tensor (or NumPy array) with a shape.",
                       f"shape {_shape_str(expected)}", _describe(value), hint, default)
    got = tuple(int(s) for s in value.shape)
    if len(got) == len(expected) and all(e is None or e == g for g, e in zip(got, expected)):
        return
    dtype = value.dtype
    kind = "tensor" if _is_tensor(value) else "NumPy array"
    raise _failure(name, "wrong shape.", _shape_str(expected), f"{_shape_str(got)}, a {kind} of dtype {dtype}",
                   hint, _shape_hint(got, expected))


# ---------------------------------------------------------------------------
# check_dtype
# ---------------------------------------------------------------------------

def _validate_dtype(expected_dtype):
    """-> ('torch', torch.dtype) or ('numpy', np.dtype)."""
    if isinstance(expected_dtype, torch.dtype):
        return "torch", expected_dtype
    if expected_dtype is None or isinstance(expected_dtype, bool):
        raise TypeError("check_dtype(): `expected_dtype` must be a torch dtype (torch.float32) or a NumPy dtype "
                        f"(np.float64), got {expected_dtype!r}.")
    try:
        return "numpy", np.dtype(expected_dtype)
    except TypeError:
        raise TypeError("check_dtype(): `expected_dtype` must be a torch dtype (torch.float32) or a NumPy dtype "
                        f"(np.float64), got {expected_dtype!r}.") from None


def _dtype_name(dtype) -> str:
    return str(dtype).replace("torch.", "")


def _dtype_hint(got, expected) -> str | None:
    g, e = _dtype_name(got), _dtype_name(expected)
    if g == "float64" and e == "float32":
        return ("NumPy arrays are float64 and torch.from_numpy keeps that, while torch defaults to float32: "
                "use .float() or dtype=torch.float32.")
    if g == "float32" and e == "float64":
        return "torch defaults to float32: use .double() or dtype=torch.float64."
    if e == "int64" and g.startswith("float"):
        return "class labels (e.g. for CrossEntropyLoss) must be int64 (torch.long): use .long()."
    if e.startswith("float") and g.startswith(("int", "uint")):
        return ("a tensor built from Python ints (or uint8 images) is an integer tensor: use .float(), "
                "write 1.0 instead of 1, or divide by 255.0.")
    if e.startswith("float") and g == "bool":
        return "a comparison gives a bool tensor: use .float() to turn it into 0.0/1.0."
    if e == "bool":
        return "a comparison such as (x > 0) gives a bool tensor."
    return None


def check_dtype(value, expected_dtype, name: str, hint: str | None = None) -> None:
    """Check the dtype of a tensor (``expected_dtype`` a torch dtype) or array (a NumPy dtype)."""
    _check_name("check_dtype", name)
    _check_hint("check_dtype", hint)
    family, expected = _validate_dtype(expected_dtype)
    if family == "torch" and not _is_tensor(value):
        default = _kind_hint(value)
        if default is None and _is_array(value):
            default = "this is a NumPy array: convert it with torch.from_numpy(...) or torch.tensor(...)."
        elif default is None and isinstance(value, (numbers.Number, np.generic)):
            default = "this is a plain number, not a tensor: did you call .item() or float()? Keep the tensor."
        elif default is None and isinstance(value, (list, tuple)):
            default = "convert it with torch.tensor(...)."
        raise _failure(name, "expected a tensor.", f"a tensor of dtype {expected}", _describe(value), hint, default)
    if family == "numpy":
        if isinstance(value, np.generic):
            got = value.dtype
        elif _is_array(value):
            got = value.dtype
        else:
            default = _kind_hint(value)
            if default is None and _is_tensor(value):
                default = "this is a tensor: use .detach().cpu().numpy() to get a NumPy array."
            elif default is None and isinstance(value, (numbers.Number, list, tuple)):
                default = "convert it with np.asarray(...)."
            raise _failure(name, "expected a NumPy array.", f"a NumPy array of dtype {expected}",
                           _describe(value), hint, default)
    else:
        got = value.dtype
    if got == expected:
        return
    raise _failure(name, "wrong dtype.", str(expected), f"{got} ({_describe(value)})", hint,
                   _dtype_hint(got, expected))


# ---------------------------------------------------------------------------
# check_close
# ---------------------------------------------------------------------------

def _index_str(index: tuple) -> str:
    if len(index) == 0:
        return ""
    return " at index " + ("[" + ", ".join(str(int(i)) for i in index) + "]")


def _close_hint(got: np.ndarray, exp: np.ndarray, atol: float, rtol: float) -> str | None:
    """Guess the mistake behind values that are not close."""
    if np.isnan(got).any() and not np.isnan(exp).any():
        return ("NaN (not a number) usually comes from log(0), 0/0, or a learning rate so large that "
                "training diverged.")
    if np.isinf(got).any() and not np.isinf(exp).any():
        return "inf usually comes from exp of a large number or a division by zero."
    if not (np.isfinite(got).all() and np.isfinite(exp).all()):
        return None
    if exp.size and np.allclose(got, -exp, atol=atol, rtol=rtol) and np.abs(exp).max() > atol:
        return ("the sign is flipped: probably a subtraction the wrong way round (y_hat - y vs y - y_hat) or a "
                "missing minus sign.")
    nonzero = np.abs(exp) > max(atol, 1e-12)
    # A common factor is evidence only when several different values share it.
    if nonzero.sum() >= 2 and np.unique(exp[nonzero]).size >= 2 and (np.abs(got[~nonzero]) <= atol).all():
        ratios = got[nonzero] / exp[nonzero]
        r = float(np.median(ratios))
        if abs(r) > 1e-12 and abs(r - 1) > 1e-3 and np.allclose(ratios, r, rtol=1e-3, atol=0):
            if r > 1 and abs(r - round(r)) < 1e-3:
                return (f"every value is {round(r)} times the expected one: probably a sum where a mean belongs, "
                        "or a missing division.")
            if 0 < r < 1 and abs(1 / r - round(1 / r)) < 1e-3:
                return (f"every value is 1/{round(1 / r)} of the expected one: probably a mean where a sum "
                        "belongs, or an extra division.")
            return f"every value is {r:.4g} times the expected one: probably a missing or extra factor."
    if got.ndim == 2 and exp.ndim == 2 and got.shape == exp.shape and got.shape[0] == got.shape[1] \
            and np.allclose(got, exp.T, atol=atol, rtol=rtol):
        return "this is the transpose of the expected matrix: probably the order of a matmul or a .T."
    if got.size > 1 and exp.size == got.size:
        if np.allclose(np.sort(got.ravel()), np.sort(exp.ravel()), atol=atol, rtol=rtol):
            return "the right values in the wrong places: probably the order or the dimension used is wrong."
        diff = got - exp
        if np.ptp(exp) > atol and np.allclose(diff, diff.ravel()[0], atol=atol, rtol=rtol):
            return (f"every value is off by the same amount ({diff.ravel()[0]:.4g}): probably a missing or extra "
                    "bias or offset.")
    return None


def _validate_causes(func: str, causes) -> list:
    if causes is None:
        return []
    if not isinstance(causes, (list, tuple)) or not all(
            isinstance(c, (list, tuple)) and len(c) == 2 and isinstance(c[1], str) for c in causes):
        raise TypeError(f"{func}(): `causes` must be a list of (value, explanation) pairs, got {causes!r}.")
    return list(causes)


def _join_causes(texts: list) -> str | None:
    """One hint from the explanations of every known mistake the answer equals (several when ambiguous)."""
    unique = list(dict.fromkeys(texts))
    if not unique:
        return None
    if len(unique) == 1:
        return unique[0]
    return "probably one of these: " + " Or: ".join(unique)


def _matching_cause(got: np.ndarray, causes: list, atol: float = 1e-4, rtol: float = 1e-4) -> str | None:
    """The explanation(s) of the alternatives (what known mistakes compute) that the answer equals."""
    found = []
    for alternative, text in causes:
        try:
            alt = _as_numpy(alternative)
        except Exception:
            continue
        if alt.shape != got.shape:
            continue
        try:
            if alt.dtype.kind in "biufc" and got.dtype.kind in "biufc" and np.allclose(
                    got.astype(np.complex128 if np.iscomplexobj(got) or np.iscomplexobj(alt) else np.float64),
                    alt.astype(np.complex128 if np.iscomplexobj(got) or np.iscomplexobj(alt) else np.float64),
                    atol=atol, rtol=rtol, equal_nan=True):
                found.append(text)
        except (TypeError, ValueError):  # pragma: no cover
            continue
    return _join_causes(found)


def _differences(got: np.ndarray, exp: np.ndarray, bad: np.ndarray, limit: int = 3) -> tuple[str, str]:
    """'expected' and 'got' texts for arrays too long to print: the first differing positions."""
    positions = [tuple(int(i) for i in idx) for idx in np.argwhere(bad)[:limit]]
    if got.ndim == 0:
        return _fmt_num(exp), _fmt_num(got)

    def text(arr):
        parts = [f"{_fmt_num(arr[p], 5)} at [{', '.join(map(str, p))}]" for p in positions]
        more = int(bad.sum()) - len(positions)
        return ", ".join(parts) + (f" (and {more} more)" if more > 0 else "")
    return text(exp), text(got)


def check_close(actual, expected, name: str, *, atol: float = 1e-4, rtol: float = 1e-4,
                hint: str | None = None, causes=None) -> None:
    """Check that ``actual`` equals ``expected`` up to ``atol + rtol * |expected|`` element-wise.

    Numbers, (nested) lists, NumPy arrays and tensors on any device are accepted on both sides;
    shapes must match exactly (checked first); NaN matches NaN.

    ``causes`` is an optional list of ``(value, explanation)`` pairs: what a known mistake would
    compute, and what to tell the student when the answer equals it. A matching cause is the
    strongest evidence and replaces ``hint``; without one, ``hint`` (or the built-in guess) is shown.
    """
    _check_name("check_close", name)
    _check_hint("check_close", hint)
    atol = _check_tolerance("check_close", "atol", atol)
    rtol = _check_tolerance("check_close", "rtol", rtol)
    causes = _validate_causes("check_close", causes)
    try:
        exp = _as_numpy(expected)
    except Exception:
        raise TypeError("check_close(): `expected` must be a number, a list of numbers, a NumPy array or a "
                        f"tensor, got {_describe(expected)}.") from None
    got = _numeric_or_fail(actual, name, hint)
    cause = _matching_cause(got, causes, atol, rtol)
    if got.shape != exp.shape:
        default = _shape_hint(got.shape, exp.shape)
        if default is None and got.size == 1 and exp.size != 1:
            default = "one number came back where several were expected: did you reduce (sum/mean) too early?"
        if got.ndim == 0 and exp.ndim > 0:
            default = default or "expected several values, got a single number."
        if exp.ndim == 0 and got.size == 1:
            default = "expected a single number: use .item() or .squeeze() to drop the extra dimension(s)."
        elif exp.ndim == 0 and got.size > 1:
            default = "expected a single number: did you forget to reduce (e.g. .mean() or .sum())?"
        raise _failure(name, "wrong shape.", _shape_str(exp.shape), f"{_shape_str(got.shape)} ({_describe(actual)})",
                       cause or hint, default)
    if got.size == 0:
        return
    complex_ = np.iscomplexobj(got) or np.iscomplexobj(exp)
    try:
        ok = np.isclose(got.astype(np.complex128 if complex_ else np.float64),
                        exp.astype(np.complex128 if complex_ else np.float64),
                        atol=atol, rtol=rtol, equal_nan=True)
    except (TypeError, ValueError):  # pragma: no cover - _as_numpy only returns numeric arrays
        raise _failure(name, "could not compare the values.", _describe(expected), _describe(actual), hint) from None
    if ok.all():
        return
    g64 = got.astype(np.float64) if not np.iscomplexobj(got) else got
    e64 = exp.astype(np.float64) if not np.iscomplexobj(exp) else exp
    with np.errstate(invalid="ignore"):
        diff = np.abs(g64 - e64)
    # NaN/inf mismatches count as infinitely far apart
    diff = np.where(ok, 0.0, np.where(np.isfinite(diff), diff, np.inf))
    worst = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.ndim else ()
    bad = int((~ok).sum())
    where = _index_str(worst)
    largest = diff[worst] if diff.ndim else diff
    allowed = f"(allowed: atol={atol:g} + rtol={rtol:g} × |expected|)"
    if got.ndim == 0:
        expected_text, got_text = _fmt_num(e64), _fmt_num(g64)
        extra = (f"difference: {_fmt_num(largest)} {allowed}" if math.isfinite(float(largest)) else None)
    else:
        if exp.size <= 6:
            expected_text, got_text = _preview(e64), _preview(g64)
        else:
            expected_text, got_text = _differences(g64, e64, ~ok)
        extra = (f"{bad} of {got.size} values differ; the largest difference is {_fmt_num(largest)}{where}: "
                 f"got {_fmt_num(g64[worst])}, expected {_fmt_num(e64[worst])}\n{allowed}")
    raise _failure(name, "values are not close to the expected ones.", expected_text, got_text, cause or hint,
                   _close_hint(g64, e64, atol, rtol), extra=extra)


# ---------------------------------------------------------------------------
# check_equal
# ---------------------------------------------------------------------------

def _equal_cause(actual, causes: list) -> str | None:
    found = []
    for alternative, text in causes:
        try:
            if _is_tensor(actual) or _is_array(actual) or _is_tensor(alternative) or _is_array(alternative):
                a, b = _as_numpy(actual), _as_numpy(alternative)
                if a.shape == b.shape and bool(np.all(a == b)):
                    found.append(text)
            elif type(actual) is type(alternative) and actual == alternative:
                found.append(text)
        except Exception:
            continue
    return _join_causes(found)


def _repr_value(value) -> str:
    if _is_tensor(value) or _is_array(value):
        return _describe(value)
    return _short(repr(value))


def check_equal(actual, expected, name: str, hint: str | None = None, *, causes=None) -> None:
    """Exact equality: ints, strings, tuples, lists, dicts, ``torch.Size``, tensors and arrays (element-wise).

    For tensors/arrays the shapes and every element must agree (dtypes are not compared;
    use ``check_dtype`` for that). A one-element tensor equals the matching Python number.
    ``causes``: (value, explanation) pairs as in ``check_close``, compared exactly.
    """
    _check_name("check_equal", name)
    _check_hint("check_equal", hint)
    causes = _validate_causes("check_equal", causes)
    hint = _equal_cause(actual, causes) or hint
    array_like_actual = _is_tensor(actual) or _is_array(actual)
    if array_like_actual and isinstance(expected, (list, tuple)) and not isinstance(expected, torch.Size):
        try:
            expected = _as_numpy(expected)  # a tensor compared with a list of numbers: compare element-wise
        except (TypeError, ValueError):
            pass
    if _is_tensor(expected) or _is_array(expected):
        try:
            exp = _as_numpy(expected)
        except Exception:
            raise TypeError("check_equal(): an `expected` array or tensor must hold numbers or bools; compare "
                            f"other values as lists, got {_describe(expected)}.") from None
        got = _numeric_or_fail(actual, name, hint, what="values")
        if got.shape != exp.shape:
            raise _failure(name, "wrong shape.", _shape_str(exp.shape), f"{_shape_str(got.shape)} ({_describe(actual)})",
                           hint, _shape_hint(got.shape, exp.shape))
        try:
            same = np.asarray(got == exp) | (np.isnan(got.astype(float)) & np.isnan(exp.astype(float)))
        except (TypeError, ValueError):  # pragma: no cover
            same = np.asarray(got == exp)
        if same.all():
            return
        idx = np.unravel_index(int(np.argmin(same)), same.shape) if same.ndim else ()
        extra = (f"{int((~same).sum())} of {same.size} values differ; the first{_index_str(idx)}: "
                 f"got {_fmt_num(got[idx])}, expected {_fmt_num(exp[idx])}")
        if exp.size <= 6:
            expected_text, got_text = _repr_value(expected), _repr_value(actual)
        else:
            expected_text, got_text = _differences(got, exp, ~same)
        raise _failure(name, "values differ.", expected_text, got_text, hint, None, extra=extra)

    default = _kind_hint(actual)
    # A one-element tensor/array/NumPy scalar against a plain Python number: compare the number.
    plain = actual
    if isinstance(expected, numbers.Number) and array_like_actual:
        size = actual.numel() if _is_tensor(actual) else actual.size
        if size != 1:
            raise _failure(name, "expected a single number.", _repr_value(expected), _describe(actual), hint,
                           default or "did you forget to reduce (e.g. .sum(), .argmax()) or to pick one element?")
        plain = actual.item()
    elif isinstance(actual, np.generic):
        plain = actual.item()
    if isinstance(expected, bool) != isinstance(plain, bool) and isinstance(expected, (bool, numbers.Number)):
        equal = False  # True == 1 in Python; an exercise asking for a bool wants a bool
    else:
        try:
            result = plain == expected
            equal = bool(result) if isinstance(result, (bool, np.bool_)) else (
                bool(result.all()) if _is_tensor(result) or _is_array(result) else False)
        except Exception:
            equal = False
    if equal:
        return
    if default is None:
        if isinstance(expected, tuple) and isinstance(actual, list) and list(expected) == actual:
            default = "the values are right but this is a list; return a tuple."
        elif isinstance(expected, list) and isinstance(actual, tuple) and tuple(expected) == actual:
            default = "the values are right but this is a tuple; return a list."
        elif isinstance(expected, str) and isinstance(actual, str):
            if actual.strip() == expected.strip():
                default = "they differ only in spaces or newlines at the ends."
            elif actual.lower() == expected.lower():
                default = "they differ only in upper/lower case."
        elif isinstance(expected, bool) and not isinstance(plain, bool):
            default = "return True or False (a bool)."
        elif isinstance(expected, numbers.Number) and isinstance(plain, numbers.Number) \
                and not isinstance(plain, bool) and not isinstance(expected, bool):
            if isinstance(expected, numbers.Integral) and not isinstance(plain, numbers.Integral) \
                    and math.isfinite(float(plain)) and round(float(plain)) == expected:
                default = "use int(...) or integer division //."
    raise _failure(name, "not equal to the expected value.", _repr_value(expected), _repr_value(actual), hint, default)


# ---------------------------------------------------------------------------
# check_true
# ---------------------------------------------------------------------------

def check_true(condition, message: str, *, expected: str | None = None, got: str | None = None,
               hint: str | None = None) -> None:
    """Raise ``AssertionError`` unless ``condition`` is true.

    ``condition`` is a bool, a NumPy bool or a one-element tensor/array (e.g. ``(x >= 0).all()``).
    ``message`` says what is wrong; ``expected``, ``got`` and ``hint`` (strings) add the usual lines.
    """
    if not isinstance(message, str) or not message.strip():
        raise TypeError(f"check_true(): `message` must be a non-empty string, got {message!r}.")
    for arg, value in (("expected", expected), ("got", got), ("hint", hint)):
        if value is not None and not isinstance(value, str):
            raise TypeError(f"check_true(): `{arg}` must be a string or None, got {type(value).__name__}.")
    if isinstance(condition, (bool, np.bool_)):
        value = bool(condition)
    elif (_is_tensor(condition) or _is_array(condition)) and (
            condition.numel() if _is_tensor(condition) else condition.size) == 1:
        value = bool(condition.item())
    elif _is_tensor(condition) or _is_array(condition):
        raise TypeError("check_true(): `condition` must be a single bool; this tensor/array has several "
                        "elements: use .all() or .any().")
    elif isinstance(condition, numbers.Integral):
        value = bool(condition)
    else:
        raise TypeError(f"check_true(): `condition` must be a bool, got {_describe(condition)}.")
    if value:
        return
    if expected is None and got is None and hint is None:
        raise AssertionError(message)
    lines = [message]
    if expected is not None:
        lines.append(f"  expected: {expected}")
    if got is not None:
        lines.append(f"  got:      {got}")
    if hint is not None:
        lines.append(f"  hint: {hint}")
    raise AssertionError("\n".join(lines))


# ---------------------------------------------------------------------------
# Models: parameters and layers
# ---------------------------------------------------------------------------

def _require_module(value, name: str, hint) -> None:
    if isinstance(value, nn.Module):
        return
    default = _kind_hint(value)
    if default is None and inspect.isclass(value):
        default = f"create an instance first, e.g. `{value.__name__}()`."
    raise _failure(name, "expected a PyTorch model (an nn.Module).", "an nn.Module", _describe(value),
                   hint, default or "build the model with nn.Sequential(...) or a class deriving from nn.Module.")


def _layer_summary(module: nn.Module) -> str:
    if isinstance(module, nn.Linear):
        return f"Linear({module.in_features}→{module.out_features}{'' if module.bias is not None else ', no bias'})"
    if isinstance(module, nn.modules.conv._ConvNd):
        return f"{type(module).__name__}({module.in_channels}→{module.out_channels}, kernel {tuple(module.kernel_size)})"
    return type(module).__name__


def _count(params) -> int:
    total = 0
    for p in params:
        if isinstance(p, nn.parameter.UninitializedParameter):
            raise _failure("model", "has lazy layers whose size is not known yet.", None, None, None,
                           "run one forward pass (model(x)) before counting parameters, or give the layer its input size.")
        total += p.numel()
    return total


def _param_breakdown(model: nn.Module) -> list[str]:
    lines = []
    for mod_name, module in model.named_modules():
        own = [p for p in module.parameters(recurse=False)]
        if not own:
            continue
        trainable = _count(p for p in own if p.requires_grad)
        frozen = _count(p for p in own if not p.requires_grad)
        label = mod_name or "(the model itself)"
        text = f"{label}: {_layer_summary(module)} -> {trainable:,}"
        if frozen:
            text += f" (+{frozen:,} frozen)"
        lines.append(text)
    return lines


def check_param_count(model, expected: int, hint: str | None = None, *, name: str = "model") -> None:
    """Check the number of trainable parameters (``requires_grad=True``) of ``model``."""
    _check_name("check_param_count", name)
    _check_hint("check_param_count", hint)
    if isinstance(expected, bool) or not isinstance(expected, numbers.Integral) or expected < 0:
        raise TypeError(f"check_param_count(): `expected` must be a non-negative int, got {expected!r}.")
    _require_module(model, name, hint)
    got = _count(p for p in model.parameters() if p.requires_grad)
    if got == int(expected):
        return
    lines = _param_breakdown(model)
    if len(lines) > 12:
        lines = lines[:11] + [f"... and {len(lines) - 11} more"]
    extra = "per layer:\n" + "\n".join("  " + line for line in lines) if lines else "the model has no parameters"
    frozen = _count(p for p in model.parameters() if not p.requires_grad)
    default = "check in_features/out_features of each layer (inputs × outputs weights + outputs biases)."
    biases = sum(m.out_features for m in model.modules() if isinstance(m, nn.Linear) and m.bias is None)
    if frozen and got + frozen == expected:
        default = "some parameters have requires_grad=False (frozen) and are not counted."
    elif biases and got + biases == expected:
        default = "some Linear layers have no bias: did you pass bias=False?"
    elif got == 0:
        default = "the model has no trainable parameters: were the layers created in __init__ and stored as attributes?"
    raise _failure(name, "wrong number of trainable parameters.", f"{int(expected):,}", f"{got:,}", hint, default,
                   extra=extra)


_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)


def _leaf_modules(model: nn.Module) -> list[nn.Module]:
    """Modules without children, in registration order (empty containers do not count).

    A module used twice (one ReLU instance shared by two places of an nn.Sequential) is listed
    at each place, as the forward pass uses it."""
    return [m for _, m in model.named_modules(remove_duplicate=False)
            if next(m.children(), None) is None and not (isinstance(m, _CONTAINERS) and m is not model)
            and not (isinstance(m, nn.Identity) and m is not model)]


def _type_list(types) -> str:
    return "[" + ", ".join(t.__name__ for t in types) + "]"


_ACTIVATIONS = (nn.ReLU, nn.Sigmoid, nn.Tanh, nn.LeakyReLU, nn.ELU, nn.GELU, nn.Softmax, nn.LogSoftmax,
                nn.SiLU, nn.Softplus)


def check_layers(model, expected_types: list, hint: str | None = None, *, name: str = "model") -> None:
    """Check the sequence of leaf modules' types (in registration order), e.g. ``[nn.Linear, nn.ReLU, nn.Linear]``.

    A leaf is a module without children; a subclass counts as its parent type (isinstance).
    ``nn.Identity`` computes nothing and is skipped. This checks structure only: where the exercise
    text does not ask for specific modules, judge the model by what it computes instead.
    """
    _check_name("check_layers", name)
    _check_hint("check_layers", hint)
    if not isinstance(expected_types, (list, tuple)) or not all(
            inspect.isclass(t) and issubclass(t, nn.Module) for t in expected_types):
        raise TypeError("check_layers(): `expected_types` must be a list of nn.Module classes such as "
                        f"[nn.Linear, nn.ReLU, nn.Linear], got {expected_types!r}.")
    _require_module(model, name, hint)
    leaves = _leaf_modules(model)
    got_types = [type(m) for m in leaves]
    if len(leaves) == len(expected_types) and all(isinstance(m, t) for m, t in zip(leaves, expected_types)):
        return
    first = next((i for i, (m, t) in enumerate(zip(leaves, expected_types)) if not isinstance(m, t)),
                 min(len(leaves), len(expected_types)))
    if first < min(len(leaves), len(expected_types)):
        extra = f"first difference at position {first}: expected {expected_types[first].__name__}, " \
                f"got {got_types[first].__name__}"
    elif len(leaves) < len(expected_types):
        extra = f"missing from position {first}: {_type_list(expected_types[first:])}"
    else:
        extra = f"unexpected from position {first}: {_type_list(got_types[first:])}"
    default = None
    missing_acts = [t for t in expected_types if issubclass(t, _ACTIVATIONS)
                    and sum(issubclass(g, t) for g in got_types) < sum(e is t for e in expected_types)]
    if sorted(t.__name__ for t in got_types) == sorted(t.__name__ for t in expected_types):
        default = ("the right layers in a different order; layers are listed in the order they are "
                   "created in __init__ (or passed to nn.Sequential).")
    elif missing_acts:
        default = (f"{missing_acts[0].__name__} is missing: an activation applied as a function in forward() "
                   f"(torch.relu, F.relu) is not a layer; use an nn.{missing_acts[0].__name__}() module.")
    elif len(leaves) != len(expected_types):
        default = f"expected {len(expected_types)} layers, found {len(leaves)}."
    raise _failure(name, "wrong layers.", _type_list(expected_types), _type_list(got_types), hint, default,
                   extra=extra)


# ---------------------------------------------------------------------------
# Autograd
# ---------------------------------------------------------------------------

def check_requires_grad(tensor, expected: bool, name: str, hint: str | None = None) -> None:
    """Check ``tensor.requires_grad`` (a tensor or an ``nn.Parameter``)."""
    _check_name("check_requires_grad", name)
    _check_hint("check_requires_grad", hint)
    if not isinstance(expected, (bool, np.bool_)):
        raise TypeError(f"check_requires_grad(): `expected` must be True or False, got {expected!r}.")
    expected = bool(expected)
    if not _is_tensor(tensor):
        default = _kind_hint(tensor)
        if default is None and isinstance(tensor, (numbers.Number, np.generic)):
            default = ".item() and float() give a plain number, which has no gradient: keep the tensor."
        elif default is None and _is_array(tensor):
            default = "NumPy arrays have no gradients: keep a torch tensor."
        raise _failure(name, "expected a tensor.", f"a tensor with requires_grad={expected}", _describe(tensor),
                       hint, default)
    if tensor.requires_grad == expected:
        return
    if expected:
        default = ("create it with requires_grad=True or call .requires_grad_(); note that .detach(), "
                   "torch.no_grad(), .item() and .numpy() all leave the graph.")
        if not (tensor.dtype.is_floating_point or tensor.is_complex()):
            default = f"only float tensors can require gradients; this one is {tensor.dtype}: use .float()."
    else:
        default = "use .detach() (or compute it inside `with torch.no_grad():`)."
    raise _failure(name, "wrong requires_grad.", f"requires_grad={expected}",
                   f"requires_grad={tensor.requires_grad} ({_describe(tensor)})", hint, default)


# ---------------------------------------------------------------------------
# Training histories
# ---------------------------------------------------------------------------

def check_decreasing(values, name: str, hint: str | None = None, *, strictly: bool = False) -> None:
    """Check that a history (e.g. of losses) ends lower than it starts.

    ``values`` is a list, a 1-d array or a 1-d tensor with at least two finite numbers.
    With ``strictly=True`` every step must go down.
    """
    _check_name("check_decreasing", name)
    _check_hint("check_decreasing", hint)
    if not isinstance(strictly, bool):
        raise TypeError(f"check_decreasing(): `strictly` must be True or False, got {strictly!r}.")
    if isinstance(values, (numbers.Number, np.generic)) or (_is_tensor(values) and values.ndim == 0):
        raise _failure(name, "expected a history of several values.", "a list of numbers, one per step",
                       _describe(values), hint,
                       "append each epoch's value (e.g. loss.item()) to a list and return the list.")
    arr = _numeric_or_fail(values, name, hint, what="a list of numbers")
    if arr.ndim != 1 or np.iscomplexobj(arr):
        raise _failure(name, "expected a flat list of numbers.", "a 1-d list of numbers", _describe(values), hint,
                       "record one number per step, e.g. losses.append(loss.item()).")
    arr = arr.astype(np.float64)
    if arr.size < 2:
        raise _failure(name, "too short to tell whether it decreases.", "at least 2 values", _describe(values),
                       hint, "record a value at every step or epoch, not only the last one.")
    if not np.isfinite(arr).all():
        i = int(np.argmin(np.isfinite(arr)))
        raise _failure(name, f"contains {_fmt_num(arr[i])} at position {i}.", "finite numbers", _preview(arr, 8), hint,
                       "NaN/inf usually means training diverged: try a smaller learning rate, and check for log(0).")
    first, last = float(arr[0]), float(arr[-1])
    summary = f"first {_fmt_num(first)}, last {_fmt_num(last)}, lowest {_fmt_num(arr.min())} at position {int(arr.argmin())}"
    if strictly:
        steps = np.diff(arr)
        if (steps < 0).all():
            return
        i = int(np.argmax(steps >= 0))
        raise _failure(name, "does not go down at every step.", "every value lower than the one before",
                       f"position {i + 1} ({_fmt_num(arr[i + 1])}) is not lower than position {i} "
                       f"({_fmt_num(arr[i])})", hint, "is the learning rate too large?", extra=summary)
    if last < first:
        return
    if np.allclose(arr, first, rtol=1e-7, atol=0):
        default = ("the values never change: is optimizer.step() called after loss.backward(), and was the "
                   "optimizer given model.parameters()?")
    else:
        default = ("probably the learning rate is too large, or the gradients add up because "
                   "optimizer.zero_grad() is missing; the order is zero_grad(), backward(), step().")
    raise _failure(name, "does not decrease.", "the last value lower than the first", summary, hint, default)


# ---------------------------------------------------------------------------
# Calling the student's code
# ---------------------------------------------------------------------------
#
# Test cells call every function, class and model the student wrote through ``call`` (or inside
# ``with student_code(...)``). Whatever the student's code raises comes back as an AssertionError
# whose message says what was being called, the error in one line, the student's own line(s) of
# code and, where the error is a known one, what it usually means. Frames of torch, NumPy and
# utils never appear in it.

_LIBRARY_DIRS = tuple(sorted({os.path.dirname(os.path.dirname(os.__file__)),   # the standard library
                              os.path.dirname(os.path.dirname(torch.__file__)),  # site-packages
                              os.path.dirname(os.path.dirname(np.__file__)),
                              os.path.dirname(os.path.abspath(__file__))}))     # utils/
_STUB_TEXT = "raise NotImplementedError()"


def _is_library_file(filename: str) -> bool:
    path = os.path.abspath(filename) if not filename.startswith("<") else filename
    return path.startswith(_LIBRARY_DIRS) or "site-packages" in path or "dist-packages" in path


def _student_frames(err: BaseException, test_file: str | None) -> list[tuple[Any, int]]:
    """(frame, line number) of the traceback that belong to the student's code: not a library,
    not utils, not the test cell that made the call."""
    frames = []
    for frame, lineno in traceback.walk_tb(err.__traceback__):
        filename = frame.f_code.co_filename
        if _is_library_file(filename) or filename == test_file:
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
        lines.append(f"  line {lineno} in {where}: {_short(source, 100) if source else '(source not available)'}")
    return "your code:\n" + "\n".join(lines)


def _library_frames(err: BaseException) -> list:
    return [frame for frame, _ in traceback.walk_tb(err.__traceback__)]


def _in_function(frames: list, *names: str) -> bool:
    """Was one of the named library functions (e.g. 'cross_entropy') on the stack?"""
    return any(f.f_code.co_name in names and _is_library_file(f.f_code.co_filename) for f in frames)


def _module_name(module: nn.Module, objects: tuple) -> str:
    for obj in objects:
        if isinstance(obj, nn.Module):
            for name, sub in obj.named_modules():
                if sub is module:
                    return f"layer {name!r} " if name else ""
    return ""


_LONG_NAMES = {"Long": "int64", "Int": "int32", "Byte": "uint8", "Bool": "bool", "Short": "int16",
               "Char": "int8", "Double": "float64", "Float": "float32", "Half": "float16"}


def _dtype_word(name: str) -> str:
    return f"{_LONG_NAMES.get(name, name)} ({name})" if name in _LONG_NAMES else name


def _explain_matmul(message: str, frames: list, objects: tuple) -> tuple[str, str]:
    match = re.search(r"\((\d+)x(\d+) and (\d+)x(\d+)\)", message)
    a_rows, a_cols, b_rows, b_cols = (int(g) for g in match.groups()) if match else (0, 0, 0, 0)
    linear = next((f.f_locals.get("self") for f in frames
                   if isinstance(f.f_locals.get("self"), nn.Linear) and f.f_code.co_name == "forward"), None)
    if linear is not None:
        x = next((f.f_locals.get("input") for f in frames if f.f_locals.get("self") is linear
                  and _is_tensor(f.f_locals.get("input"))), None)
        shape = f" of shape {_shape_str(x.shape)}" if x is not None else ""
        width = x.shape[-1] if x is not None and x.ndim else a_cols
        problem = (f"the {_module_name(linear, objects)}Linear({linear.in_features}→{linear.out_features}) "
                   f"expects {linear.in_features} features per sample but receives {width} (an input{shape})")
        if x is not None and x.ndim > 2:
            return problem, (f"the input has {x.ndim} dimensions and a Linear layer only uses the last one: "
                             "flatten each sample first (nn.Flatten() or x.reshape(len(x), -1)).")
        return problem, (f"in_features of a layer must equal the number of features it receives ({width} here): "
                         "the first layer's in_features is the number of input features, and every later layer's "
                         "in_features is the out_features of the layer before it.")
    problem = (f"a matrix product of a {a_rows}×{a_cols} by a {b_rows}×{b_cols} matrix: the inner sizes "
               f"({a_cols} and {b_rows}) must be equal")
    if a_cols == b_cols:
        return problem, (f"the second matrix transposed ({b_cols}×{b_rows}) would fit: probably a .T is missing "
                         "(a weight W of shape (out_features, in_features) is applied as X @ W.T).")
    if b_cols == a_rows:
        return problem, ("the two matrices in the other order would fit: probably the operands of @ are the wrong way "
                         "round.")
    if a_rows == b_rows:
        return problem, "the first matrix transposed would fit: probably the operands or a .T are the wrong way round."
    return problem, "check the shapes of both operands (print them) before the @."


# Errors recognised from their message alone: (pattern, what went wrong, the likely cause). {0}, {1}, ...
# in the problem are the pattern's groups. Errors whose meaning depends on where they happened (which loss,
# which layer, which dtypes) are explained in _explain itself.
_MESSAGE_RULES = [
    (r"1D tensors expected", "torch.dot received a tensor that is not a vector",
     "torch.dot multiplies two vectors; for a matrix times a vector use X @ w (or torch.mv)."),
    (r"stack expects each tensor to be equal size, but got \[([\d, ]*)\] at entry \d+ and \[([\d, ]*)\] at entry \d+",
     "torch.stack received tensors of different shapes ([{0}] and [{1}])",
     "every piece must have the same shape: probably a reduction over the wrong dim, which leaves one value per row "
     "instead of one per column."),
    (r"expected target dtype to be long|expected scalar type long",
     "the loss expects class indices (int64) as its target but received floats",
     "pass the model's output first and the labels second, and keep the labels int64 (.long())."),
    (r"could not infer output dtype", "mean() of an integer tensor", "convert it first: .float().mean()."),
    (r"one_hot is only applicable to index tensor", "F.one_hot received a non-integer tensor",
     "one_hot takes int64 labels: use .long()."),
    (r"leaf variable that requires grad is being used in an in-place operation",
     "a tensor that requires grad (a parameter) was changed in place while autograd was recording",
     "do the update inside `with torch.no_grad():` (for example `p -= lr * p.grad`)."),
    (r"can't call numpy\(\) on tensor that requires grad", ".numpy() on a tensor that requires grad",
     "use t.detach().cpu().numpy(): detach() leaves the graph, cpu() brings it off a GPU."),
    (r"can't convert (\w+)(?::\d+)? device type tensor to numpy", ".numpy() on a tensor on the {0} device",
     "use t.detach().cpu().numpy(): only CPU tensors can become NumPy arrays."),
    (r"cannot assign (?:module|parameters) before module\.__init__\(\) call",
     "a layer was stored before nn.Module was set up", "call super().__init__() as the first line of __init__."),
    (r"cannot assign '[\w.]+' as parameter '(\w+)'", "a plain tensor was assigned to the parameter '{0}'",
     "wrap it in nn.Parameter(...), or copy the values into the existing parameter with .copy_(...) inside "
     "torch.no_grad()."),
    (r"does not require grad and does not have a grad_fn",
     "backward() was called on a value that is not connected to anything that requires grad",
     "the graph was cut: .item(), .detach(), .numpy(), torch.tensor(value) or computing under torch.no_grad() all "
     "leave the graph; keep the loss a tensor computed from the parameters."),
    (r"grad can be implicitly created only for scalar outputs", "backward() was called on a tensor with several values",
     "reduce the loss to a single number first (for example with .mean())."),
    (r"'(?:float|int)' object has no attribute 'backward'", "backward() was called on a plain Python number",
     ".item() and float() turn the loss into a number without a graph: call backward() on the loss tensor and use "
     ".item() only to record the value."),
    (r"backward through the graph a second time", "backward() went through the same graph twice",
     "probably an output computed once (before the loop) is reused: compute the forward pass and the loss again "
     "inside the loop, for every step."),
    (r"modified by an inplace operation", "a value that autograd still needed was changed in place",
     "use the out-of-place form (x = x + 1, torch.relu(x)) instead of +=, relu_() or x[...] = ...."),
    (r"a tensor with \d+ elements cannot be converted to scalar|only one element tensors can be converted",
     ".item() (or float()) on a tensor with several values",
     ".item() works on one-element tensors only: reduce first (.sum(), .mean())."),
    (r"meta tensor|meta device|meta\b.*\bdevice|device\b.*\bmeta\b",
     "tensors on the 'meta' device (which holds shapes but no values) met tensors on another device",
     "create new tensors and layers on the device of the ones you were given (device=layer.weight.device, or "
     ".to(x.device))."),
    (r"expected all tensors to be on the same device|is not on the expected device", "tensors on different devices met",
     "move the data to the model's device with .to(device) (both the inputs and the targets)."),
    (r"view size is not compatible with input tensor's size and stride",
     ".view() on a tensor whose memory layout does not allow it", "use .reshape(...) instead."),
    (r"shape '\[([-\d, ]+)\]' is invalid for input of size (\d+)",
     "reshape/view to [{0}] for a tensor of {1} elements",
     "the sizes must multiply to the number of elements: use -1 for one size and take the others from the tensor "
     "(e.g. images.shape[0]), not fixed numbers."),
    (r"size of tensor a \((\d+)\) must match the size of tensor b \((\d+)\) at non-singleton dimension (\d+)",
     "two tensors do not broadcast: sizes {0} and {1} in dimension {2}",
     "print both shapes: probably a reduction without keepdim=True, a missing .T or a missing .unsqueeze()."),
    (r"Target size \(torch\.Size\((\[[\d, ]*\])\)\) must be the same as input size \(torch\.Size\((\[[\d, ]*\])\)\)",
     "the targets have shape {0} but the outputs {1}",
     "the loss compares element by element: give the targets the output's shape (e.g. y.reshape(-1, 1) or "
     "y.unsqueeze(1))."),
    (r"Expected input batch_size \((\d+)\) to match target batch_size \((\d+)\)",
     "the output has {0} rows but there are {1} targets",
     "keep the batch dimension: reshape each batch to (N, features), e.g. x.reshape(len(x), -1)."),
    (r"0D or 1D target tensor expected|multi-target not supported",
     "CrossEntropyLoss received targets with an extra dimension",
     "class labels must have shape (N,): use y.reshape(-1) (or pass the arguments in the order output, target)."),
    (r"index (-?\d+) is out of bounds for dimension \d+ with size (\d+)", "index {0} used on a dimension of size {1}",
     "an index is too large: check which dimension you index and the size you created (num_classes? the number of "
     "rows?)."),
    (r"list index out of range", "an index past the end of a list",
     "probably an empty list (e.g. no hidden layers) or an off-by-one in a loop over indices."),
    (r"argument '(\w+)' \(position \d+\) must be ([\w ,]+), not (\w+)",
     "argument '{0}' of a torch function must be {1}, not {2}", "convert it: int(...) or round(...) for sizes and counts."),
]


def _explain(err: BaseException, frames: list, objects: tuple) -> tuple[str, str | None]:
    """(what went wrong, the likely cause or None) for an error raised in the student's code."""
    message = str(err)
    low = message.lower()
    cls = type(err).__name__

    match = re.search(r"not implemented for '(\w+)'", message)
    if match:
        kind = _dtype_word(match.group(1))
        if _in_function(frames, "cross_entropy", "nll_loss", "binary_cross_entropy",
                        "binary_cross_entropy_with_logits", "kl_div"):
            return (f"the loss received an integer tensor, {kind}, where the model's output (float logits) belongs",
                    "the loss arguments are probably swapped: call loss_fn(output, target), the model's output "
                    "first and the class labels second; class indices are targets, never logits.")
        return (f"an operation that needs floating-point numbers received an integer tensor, {kind}",
                "probably integer data reached it: class indices where logits or probabilities belong, or "
                "arguments swapped; convert real data with .float().")

    if "shapes cannot be multiplied" in message:
        return _explain_matmul(message, frames, objects)

    match = (re.search(r"must have the same dtype, but got (\w+) and (\w+)", message)
             or re.search(r"to have the same dtype, but got:? (\w+) != (\w+)", message)
             or re.search(r"expected scalar type (\w+) but found (\w+)", message, re.I)
             or re.search(r"Found dtype (\w+) but expected (\w+)", message))
    if match:
        a, b = (g.capitalize() for g in match.groups())
        pair = f"{_dtype_word(a)} and {_dtype_word(b)}"
        if "Double" in (a, b) and "Float" in (a, b):
            return (f"two tensors with different dtypes met: {pair}",
                    "float64 (Double) data usually comes from NumPy: torch.tensor(array) and torch.from_numpy keep "
                    "float64 while the layers are float32; convert the data with .float() or "
                    "dtype=torch.float32.")
        if {a, b} & {"Long", "Int", "Byte", "Short", "Char", "Bool"}:
            if _in_function(frames, "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"):
                return (f"a loss received tensors with different dtypes: {pair}",
                        "the targets are integers: convert them with .float() (regression targets are floats).")
            return (f"two tensors with different dtypes met: {pair}",
                    "integer data (labels, uint8 pixels, torch.tensor of Python ints) meets float weights: "
                    "convert the data with .float() (divide pixels by 255).")
        return f"two tensors with different dtypes met: {pair}", "convert one of them with .to(other.dtype)."

    if "can't be cast to the desired output type" in message:
        if _in_function(frames, "binary_cross_entropy_with_logits", "binary_cross_entropy"):
            return ("BCEWithLogitsLoss received integer targets",
                    "binary targets must be floats of the output's shape: use y.float().")
        return ("an integer tensor was asked to hold a floating-point result in place",
                "create the tensor as float (dtype=torch.float32) or compute out of place with .float().")

    init = next((f for f in frames if f.f_code.co_name == "__init__" and _is_library_file(f.f_code.co_filename)
                 and isinstance(f.f_locals.get("self"), nn.Module)
                 and any(_is_tensor(v) or (isinstance(v, (tuple, list)) and any(_is_tensor(x) for x in v))
                         for v in f.f_locals.values())), None)
    if init is not None or re.search(r"^\w+\.__init__\(\) (missing|takes|got)", message):
        name = type(init.f_locals["self"]).__name__ if init is not None else message.split(".", 1)[0]
        if init is not None and isinstance(init.f_locals["self"], nn.modules.loss._Loss):
            return (f"the class nn.{name} was called with tensors",
                    f"create the loss first (loss_fn = nn.{name}()), then call it: loss_fn(output, target).")
        if init is not None or name in dir(nn):
            return (f"the class nn.{name} was called with data",
                    f"nn.{name}(...) creates a layer from its sizes; create it once (layer = nn.{name}(...)) and "
                    "then call the instance on the tensors, layer(x).")

    match = re.search(r"(\S+) is not a Module subclass", message)
    if match:
        name = match.group(1).rsplit(".", 1)[-1]
        if name[:1].islower():
            return (f"nn.Sequential received the function {name}, not a layer",
                    f"nn.Sequential holds layers (modules): use nn.{name.capitalize() if name != 'relu' else 'ReLU'}() "
                    "instead of the function, or apply the function in a forward() of your own.")
        return (f"nn.Sequential received the class {name} itself, not a layer",
                f"create the layer by calling the class: {name}() with parentheses.")

    if "does not require grad and does not have a grad_fn" in message and not torch.is_grad_enabled():
        return ("backward() was called while gradients were switched off for everything",
                "something switched gradients off globally (torch.set_grad_enabled(False)); compute what must not "
                "be recorded inside a `with torch.no_grad():` block instead, which switches them back on at its end.")
    if "boolean value of tensor with more than one" in low:
        if _in_function(frames, "legacy_get_string", "legacy_get_enum"):
            return ("a loss class was called with tensors",
                    "create the loss first (loss_fn = nn.MSELoss()), then call it: loss_fn(output, target).")
        return ("`if`, `and`, `or` or `not` on a tensor with several values",
                "use .all() or .any() (or compare single numbers with .item()).")
    match = re.search(r"Dimension out of range \(expected to be in range of \[(-?\d+), (-?\d+)\], but got (-?\d+)\)",
                      message)
    if match:
        ndim = int(match.group(2)) + 1
        return (f"dim={match.group(3)} was used on a tensor with {ndim} dimension{'s' if ndim != 1 else ''}",
                "check the tensor's shape: a dimension you expect is not there (squeezed away or never added?).")
    for pattern, problem, hint in _MESSAGE_RULES:
        match = re.search(pattern, message, re.IGNORECASE)
        if match:
            return problem.format(*match.groups()), hint
    if isinstance(err, (TypeError, AttributeError)) and "nonetype" in low:
        line = _last_student_line(err)
        if ".grad" in line:
            return ("a .grad was None",
                    "a tensor's .grad is None until backward() has run on a loss computed from it; and after "
                    "`w = w - ...` the name w is a new tensor without a gradient: update in place (w -= ...) "
                    "inside torch.no_grad().")
        return ("a value was None", "a function without `return` gives None.")
    if isinstance(err, (TypeError, ValueError)) and re.search(r"unpack|values to unpack", low):
        return "the number of values does not match", "check how many values your function returns or unpacks."
    match = re.search(r"'(\w+)' object is not callable", message)
    if match:
        return (f"a {match.group(1)} was called like a function",
                "probably a name was reused: e.g. `loss = loss(...)` replaces the loss function by its result.")
    match = re.search(r"'(\w+)' object has no attribute '(\w+)'", message)
    if match:
        return f"a {match.group(1)} has no attribute {match.group(2)!r}", None
    if isinstance(err, AssertionError):
        return "an assert in your code failed", None
    if isinstance(err, NameError):
        return f"{message}", "define it (run the cell that defines it) or check the spelling."
    if isinstance(err, RecursionError):
        return "infinite recursion", "a function (or forward) calls itself; call the layers instead."
    return f"{cls} in your code", None


def _last_student_line(err: BaseException) -> str:
    """The source of the last line outside the libraries that the error went through ('' if none)."""
    line = ""
    for frame, lineno in traceback.walk_tb(err.__traceback__):
        if not _is_library_file(frame.f_code.co_filename):
            line = linecache.getline(frame.f_code.co_filename, lineno, frame.f_globals).strip()
    return line


def _is_ours(err: BaseException) -> bool:
    """An AssertionError raised by a check of this module (a test inside student code, or nested calls)."""
    if not isinstance(err, AssertionError):
        return False
    last = None
    for frame, _ in traceback.walk_tb(err.__traceback__):
        last = frame
    return last is not None and os.path.abspath(last.f_code.co_filename) == os.path.abspath(__file__)


def _stub_error(err: BaseException, frames: list) -> bool:
    """The untouched exercise cell: ``raise NotImplementedError()`` on a line of the notebook.

    NotImplementedErrors that torch raises from C code (``"... not implemented for 'Long'"``,
    meta tensors) also end in a notebook frame, so the line itself is read."""
    if not isinstance(err, NotImplementedError):
        return False
    last = None
    for frame, lineno in traceback.walk_tb(err.__traceback__):
        last = (frame, lineno)
    if last is None or _is_library_file(last[0].f_code.co_filename):
        return False
    line = linecache.getline(last[0].f_code.co_filename, last[1], last[0].f_globals)
    return "raise" in line and "NotImplementedError" in line


def _translate(err: BaseException, what: str, exercise, test_file: str | None, objects: tuple) -> AssertionError:
    frames = _student_frames(err, test_file)
    label = f"exercise {exercise}" if exercise is not None else "this exercise"
    if _stub_error(err, frames):
        return _failure(what, f"{label} is not written yet.",
                        f"your code in place of `{_STUB_TEXT}`",
                        "NotImplementedError" + (f": {_short(str(err), 80)}" if str(err) else
                                                 " (the exercise cell is still the placeholder)"),
                        None, f"write your solution in {label}'s cell (where it says YOUR CODE HERE), "
                              "run that cell, then run this test cell again.")
    problem, hint = _explain(err, _library_frames(err), objects)
    first_line = (str(err).strip().splitlines() or [""])[0]
    got = f"{type(err).__name__}" + (f": {_short(first_line, 150)}" if first_line else "")
    return _failure(what, f"your code raised an error: {problem}.", "a result, without an error", got,
                    None, hint, extra=_frame_lines(frames))


def _caller_file(depth: int = 2) -> str | None:
    try:
        return sys._getframe(depth).f_code.co_filename
    except ValueError:  # pragma: no cover
        return None


class _Spy(TorchFunctionMode):
    """Notices torch functions a call must not use: autograd (backward(), autograd.grad()) where the
    exercise asks for the chain rule by hand, or the library function the exercise re-implements."""

    _AUTOGRAD = ("backward", "grad", "vjp", "jvp", "jacobian", "hessian")

    def __init__(self, autograd: bool, forbid: tuple):
        super().__init__()
        self.watch = tuple(forbid) + (() if autograd else self._AUTOGRAD)
        self.used = None

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
    """
    if what is None:
        what = _describe_call(fn)
    if not isinstance(what, str):
        raise TypeError(f"call(): `what` must be a string describing the call, got {what!r}.")
    if exercise is not None and (isinstance(exercise, bool) or not isinstance(exercise, (int, str))):
        raise TypeError(f"call(): `exercise` must be the exercise number, got {exercise!r}.")
    if isinstance(forbid, str) or not all(isinstance(f, str) for f in forbid):
        raise TypeError(f"call(): `forbid` must be a tuple of torch function names, got {forbid!r}.")
    label = f"exercise {exercise}" if exercise is not None else "the exercise"
    if inspect.isclass(fn) and issubclass(fn, nn.Module) and args and _is_tensor(args[0]):
        raise _failure(what, "this is a class, not a model.", "a model (an instance, e.g. nn.Linear(3, 1))",
                       _describe(fn), None,
                       f"create the model by calling the class with its sizes, e.g. model = {fn.__name__}(...), "
                       "then train and use that instance.")
    if not callable(fn):
        raise _failure(what, "this is not a function or model.", "something to call", _describe(fn), None,
                       _kind_hint(fn) or f"check what {label}'s cell assigns to this name.")
    test_file = _caller_file()
    objects = (fn,) + args + tuple(kwargs.values())
    grad_mode = torch.is_grad_enabled()
    saved = []
    spy = _Spy(autograd, forbid) if (forbid or not autograd) else None
    try:
        if spy is None:
            return fn(*args, **kwargs)
        with contextlib.ExitStack() as stack:
            if not autograd:
                stack.enter_context(torch.no_grad())
                stack.enter_context(torch.autograd.graph.saved_tensors_hooks(
                    lambda t: (saved.append(1), t)[1], lambda t: t))
            stack.enter_context(spy)
            result = fn(*args, **kwargs)
    except AssertionError as err:
        if _is_ours(err):
            raise
        translated = _translate(err, what, exercise, test_file, objects)
        torch.set_grad_enabled(grad_mode)      # do not leave the kernel without gradients
        raise translated from None
    except Exception as err:
        translated = _translate(err, what, exercise, test_file, objects)
        torch.set_grad_enabled(grad_mode)
        if spy is not None and spy.used is not None:   # e.g. backward() under no_grad: the cause is using it
            hint = (f"write the formula yourself; the test compares your result with {spy.used}."
                    if spy.used in forbid else _AUTOGRAD_HINT)
            raise _failure(what, f"uses {spy.used}, which this exercise asks you not to use"
                           + ("" if spy.used in forbid else " (it used autograd)") + ".",
                           "a result computed without it", f"a call of {spy.used}, which then raised "
                           f"{type(err).__name__}", None, hint,
                           extra=_frame_lines(_student_frames(err, test_file))) from None
        raise translated from None
    if spy.used in forbid:
        raise _failure(what, f"uses {spy.used}, which this exercise asks you not to use.",
                       "your own computation with tensor operations", f"a call of {spy.used} (directly or through "
                       "an nn loss module)", None, "write the formula yourself; the test compares your result with "
                       f"{spy.used}.")
    if spy.used or saved:
        used = f"it called {spy.used}()" if spy.used else "it recorded a graph for autograd (torch.enable_grad?)"
        raise _failure(what, "used autograd, which this exercise asks you not to use.",
                       "a result computed from the formula, without autograd", used, None, _AUTOGRAD_HINT)
    return result


_AUTOGRAD_HINT = "compute the derivatives yourself with the chain rule, using plain tensor operations."


class student_code:
    """``with student_code("model3(X)", exercise=6): ...`` translates errors like ``call`` does.

    For a few lines that use the student's objects (a model's forward pass, a training loop
    written in the test). Failed checks inside the block pass through unchanged.
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
        if err is None or not isinstance(err, Exception) or _is_ours(err):
            return False
        translated = _translate(err, self.what, self.exercise, self.test_file, self.objects)
        torch.set_grad_enabled(self.grad_mode)
        raise translated from None


def check_raises(expected_error, fn, *args, what: str | None = None, exercise: int | None = None, **kwargs) -> None:
    """The student's ``fn(*args, **kwargs)`` must raise ``expected_error`` (an exception class).

    Any other error is explained as ``call`` explains it.
    """
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
        raise _failure(what, f"raised the wrong kind of error.", expected_error.__name__,
                       f"{type(err).__name__}: {_short(str(err), 120)}", None,
                       f"raise {expected_error.__name__}(\"...\") yourself, with a message that says what is "
                       "wrong.", extra=_frame_lines(_student_frames(err, test_file))) from None
    raise _failure(what, "did not raise an error.", f"{expected_error.__name__} with a helpful message",
                   f"it returned {_describe(result)}", None,
                   f"check the argument yourself and raise {expected_error.__name__}(\"...\") for values you do "
                   "not handle.")


def _previous_cell_error() -> BaseException | None:
    """The error that stopped the cell run just before this one (in a notebook), if any."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    result = getattr(shell, "last_execution_result", None)
    err = getattr(result, "error_in_exec", None)
    if err is None or _is_ours(err):
        return None
    return err


def defined(name: str, exercise: int | None = None):
    """The value of the notebook variable ``name`` (e.g. ``"model3"``) that an exercise cell creates.

    Fails with a message when the name is missing, or when the cell run just before this test
    cell (the exercise cell) stopped with an error: then the student sees that error explained,
    not a misleading verdict on a half-built object.
    """
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
        raise AssertionError("\n".join(lines))
    if name in namespace:
        return namespace[name]
    raise _failure(name, "is not defined.", f"{name}, created by {label}'s cell", "no variable of that name",
                   None, f"write {label} so that it creates `{name}`, run that cell, then this one.")


def passed(exercise, part: str | None = None) -> None:
    """Print the one-line confirmation at the end of a test cell."""
    label = f"exercise {exercise}" + (f" ({part})" if part else "")
    print(f"✓ {label}: all visible tests passed.")
