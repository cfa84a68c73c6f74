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

import inspect
import math
import numbers
from typing import Any

import numpy as np
import torch
from torch import nn

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
    """Tensors (any device, with or without grad), arrays, scalars and nested lists -> ndarray.

    Raises ValueError/TypeError when the value cannot be read as numbers.
    """
    if _is_tensor(value):
        t = value.detach()
        if t.is_complex():
            return t.resolve_conj().cpu().numpy()
        if t.dtype in (torch.bfloat16, torch.float16) or not t.dtype.is_floating_point and t.dtype not in (
                torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64):
            t = t.float()
        return t.cpu().numpy()
    if _is_array(value):
        return value
    if isinstance(value, (list, tuple)):
        if any(_is_tensor(v) or _is_array(v) or isinstance(v, (list, tuple)) for v in value):
            parts = [_as_numpy(v) for v in value]
            return np.array(parts)
    if isinstance(value, (str, bytes, dict, set)) or value is None:
        raise TypeError(f"cannot read {type(value).__name__} as numbers")
    arr = np.asarray(value)
    if arr.dtype == object or arr.dtype.kind not in "biufc":
        raise TypeError(f"cannot read {type(value).__name__} as numbers")
    return arr


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
        elif wants_tensor and isinstance(value, (list, tuple)):
            default = "convert it with torch.tensor(...)."
        elif _is_tensor(value) and any(t in (float, int, bool) for t in types):
            default = "use .item() to turn a one-element tensor into a Python number."
        elif _is_tensor(value) and np.ndarray in types:
            default = "use .detach().cpu().numpy() to turn a tensor into a NumPy array."
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
                return "there is an extra dimension of size 1: use .squeeze(dim) or .view(...)."
            return "a dimension of size 1 is missing: use .unsqueeze(dim) (e.g. y.unsqueeze(1) for N×1)."
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
        return "the sign is flipped: check a subtraction's order (e.g. y_hat - y vs y - y_hat) or a minus sign."
    nonzero = np.abs(exp) > max(atol, 1e-12)
    if nonzero.any() and (np.abs(got[~nonzero]) <= atol).all():
        ratios = got[nonzero] / exp[nonzero]
        r = float(np.median(ratios))
        if abs(r) > 1e-12 and abs(r - 1) > 1e-3 and np.allclose(ratios, r, rtol=1e-3, atol=0):
            if r > 1 and abs(r - round(r)) < 1e-3:
                return (f"every value is {round(r)} times the expected one: a sum instead of a mean, "
                        "or a missing division?")
            if r < 1 and abs(1 / r - round(1 / r)) < 1e-3:
                return (f"every value is 1/{round(1 / r)} of the expected one: a mean instead of a sum, "
                        "or an extra division?")
            return f"every value is {r:.4g} times the expected one: a missing or extra factor?"
    if got.ndim == 2 and exp.ndim == 2 and got.shape == exp.shape and got.shape[0] == got.shape[1] \
            and np.allclose(got, exp.T, atol=atol, rtol=rtol):
        return "you got the transpose of the expected matrix: check the order of a matmul or a .T."
    if got.size > 1 and exp.size == got.size:
        if np.allclose(np.sort(got.ravel()), np.sort(exp.ravel()), atol=atol, rtol=rtol):
            return "the right values in the wrong places: check the order or the dimension you used."
        diff = got - exp
        if np.allclose(diff, diff.ravel()[0], atol=atol, rtol=rtol):
            return f"every value is off by the same amount ({diff.ravel()[0]:.4g}): a missing or extra bias/offset?"
    return None


def check_close(actual, expected, name: str, *, atol: float = 1e-4, rtol: float = 1e-4,
                hint: str | None = None) -> None:
    """Check that ``actual`` equals ``expected`` up to ``atol + rtol * |expected|`` element-wise.

    Numbers, (nested) lists, NumPy arrays and tensors on any device are accepted on both sides;
    shapes must match exactly (checked first); NaN matches NaN.
    """
    _check_name("check_close", name)
    _check_hint("check_close", hint)
    atol = _check_tolerance("check_close", "atol", atol)
    rtol = _check_tolerance("check_close", "rtol", rtol)
    try:
        exp = _as_numpy(expected)
    except Exception:
        raise TypeError("check_close(): `expected` must be a number, a list of numbers, a NumPy array or a "
                        f"tensor, got {_describe(expected)}.") from None
    got = _numeric_or_fail(actual, name, hint)
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
                       hint, default)
    if got.size == 0:
        return
    try:
        ok = np.isclose(got.astype(np.complex128 if np.iscomplexobj(got) or np.iscomplexobj(exp) else np.float64),
                        exp.astype(np.complex128 if np.iscomplexobj(got) or np.iscomplexobj(exp) else np.float64),
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
    if got.ndim == 0:
        expected_text, got_text = _fmt_num(e64), _fmt_num(g64)
        extra = (f"difference: {_fmt_num(largest)} (allowed: atol={atol:g} + rtol={rtol:g} × |expected|)"
                 if math.isfinite(float(largest)) else None)
    else:
        expected_text = _preview(e64) if exp.size <= 6 else f"values like {_preview(e64)}"
        got_text = _preview(g64) if got.size <= 6 else f"values like {_preview(g64)}"
        extra = (f"{bad} of {got.size} values differ; the largest difference is {_fmt_num(largest)}{where}: "
                 f"got {_fmt_num(g64[worst])}, expected {_fmt_num(e64[worst])}\n"
                 f"(allowed: atol={atol:g} + rtol={rtol:g} × |expected|)")
    raise _failure(name, "values are not close to the expected ones.", expected_text, got_text, hint,
                   _close_hint(g64, e64, atol, rtol), extra=extra)


# ---------------------------------------------------------------------------
# check_equal
# ---------------------------------------------------------------------------

def _repr_value(value) -> str:
    if _is_tensor(value) or _is_array(value):
        return _describe(value)
    return _short(repr(value))


def check_equal(actual, expected, name: str, hint: str | None = None) -> None:
    """Exact equality: ints, strings, tuples, lists, dicts, ``torch.Size``, tensors and arrays (element-wise).

    For tensors/arrays the shapes and every element must agree (dtypes are not compared;
    use ``check_dtype`` for that). A one-element tensor equals the matching Python number.
    """
    _check_name("check_equal", name)
    _check_hint("check_equal", hint)
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
        raise _failure(name, "values differ.", _repr_value(expected), _repr_value(actual), hint, None, extra=extra)

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

def check_true(condition, message: str) -> None:
    """Raise ``AssertionError(message)`` unless ``condition`` is true.

    ``condition`` is a bool, a NumPy bool or a one-element tensor/array (e.g. ``(x >= 0).all()``).
    """
    if not isinstance(message, str) or not message.strip():
        raise TypeError(f"check_true(): `message` must be a non-empty string, got {message!r}.")
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
    if not value:
        raise AssertionError(message)


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
            if next(m.children(), None) is None and not (isinstance(m, _CONTAINERS) and m is not model)]


def _type_list(types) -> str:
    return "[" + ", ".join(t.__name__ for t in types) + "]"


_ACTIVATIONS = (nn.ReLU, nn.Sigmoid, nn.Tanh, nn.LeakyReLU, nn.ELU, nn.GELU, nn.Softmax, nn.LogSoftmax,
                nn.SiLU, nn.Softplus)


def check_layers(model, expected_types: list, hint: str | None = None, *, name: str = "model") -> None:
    """Check the sequence of leaf modules' types (in registration order), e.g. ``[nn.Linear, nn.ReLU, nn.Linear]``.

    A leaf is a module without children; a subclass counts as its parent type (isinstance).
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
        default = ("did you forget optimizer.zero_grad() (gradients add up), or is the learning rate too large? "
                   "Check the order: zero_grad(), backward(), step().")
    raise _failure(name, "does not decrease.", "the last value lower than the first", summary, hint, default)
