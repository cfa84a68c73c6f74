"""Checks of a student's values against expected ones: within a tolerance, or exactly.

``causes`` (both checks): what known mistakes compute, and what to tell the student when the answer
equals one of them.
"""
from __future__ import annotations

import math
import numbers

import numpy as np
import torch

from ._format import (as_numpy, at_caller, brief, check_hint, check_name, check_tolerance, describe, failure, fmt_num,
                      is_array, is_tensor, kind_hint, numeric_or_fail, preview, shape_hint, shape_str, short)
from ._plain import plain as plain_data

_NUMBERS = "plain numbers (a tensor, a NumPy array, a number or a list of numbers)"

__all__ = ["check_close", "check_equal"]

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
        return ("NaN (not a number) comes from 0/0, inf/inf, inf - inf or 0 × inf: usually an exp of a large "
                "number that overflowed to inf (torch.sigmoid, torch.softmax and torch.logsumexp avoid it), "
                "0 × log(0), or a learning rate so large that training diverged.")
    if np.isinf(got).any() and not np.isinf(exp).any():
        return ("inf usually comes from exp of a large number, the log of a probability that underflowed to 0 "
                "(take logs with torch.log_softmax or torch.logsumexp instead of log(softmax(...))), or a "
                "division by zero.")
    if not (np.isfinite(got).all() and np.isfinite(exp).all()):
        return None
    scale = float(np.abs(exp).max(initial=0.0))
    if scale > 0 and rtol < 1e-6:
        off = float(np.abs(got - exp).max()) / scale
        if 1e-9 < off < 1e-5:   # off by about float32's precision where float64's was asked for
            return ("the values agree to about 7 digits, float32's precision, where float64's was expected: part "
                    "of the computation ran in float32 (a float32 tensor, accumulator or constant on the way).")
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
            alt = as_numpy(alternative)
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
        return fmt_num(exp), fmt_num(got)

    def text(arr):
        parts = [f"{fmt_num(arr[p], 5)} at [{', '.join(map(str, p))}]" for p in positions]
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

    A typical failure, as the student reads it:

    >>> check_close(torch.tensor([2.0, 4.0, 6.0]), [1.0, 2.0, 3.0], "mse(y_hat, y)")
    Traceback (most recent call last):
    ...
    AssertionError: mse(y_hat, y): values are not close to the expected ones.
      expected: [1.0, 2.0, 3.0]
      got:      [2.0, 4.0, 6.0]
      3 of 3 values differ; the largest difference is 3.0 at index [2]: got 6.0, expected 3.0
      (allowed: atol=0.0001 + rtol=0.0001 × |expected|)
      hint: every value is 2 times the expected one: probably a sum where a mean belongs, or a missing division.

    With ``causes``, a known mistake is named:

    >>> y_hat, y = torch.tensor([1.0, 3.0]), torch.tensor([2.0, 2.0])
    >>> check_close(y - y_hat, y_hat - y, "residuals", causes=[(y - y_hat, "compute y_hat - y, not y - y_hat.")])
    Traceback (most recent call last):
    ...
    AssertionError: residuals: values are not close to the expected ones.
      expected: [-1.0, 1.0]
      got:      [1.0, -1.0]
      2 of 2 values differ; the largest difference is 2.0 at index [0]: got 1.0, expected -1.0
      (allowed: atol=0.0001 + rtol=0.0001 × |expected|)
      hint: compute y_hat - y, not y - y_hat.
    """
    __tracebackhide__ = True   # IPython and pytest show the caller's line, not this one
    with at_caller():
        check_name("check_close", name)
        check_hint("check_close", hint)
        atol = check_tolerance("check_close", "atol", atol)
        rtol = check_tolerance("check_close", "rtol", rtol)
        causes = _validate_causes("check_close", causes)
        try:
            exp = as_numpy(expected)
        except Exception:
            raise TypeError("check_close(): `expected` must be a number, a list of numbers, a NumPy array or a "
                            f"tensor, got {describe(expected)}.") from None
        got = numeric_or_fail(plain_data(actual, name, hint, want=_NUMBERS), name, hint)
        cause = _matching_cause(got, causes, atol, rtol)
        if got.shape != exp.shape:
            default = shape_hint(got.shape, exp.shape)
            if default is None and got.size == 1 and exp.size != 1:
                default = "one number came back where several were expected: did you reduce (sum/mean) too early?"
            if got.ndim == 0 and exp.ndim > 0:
                default = default or "expected several values, got a single number."
            if exp.ndim == 0 and got.size == 1:
                default = "expected a single number: use .item() or .squeeze() to drop the extra dimension(s)."
            elif exp.ndim == 0 and got.size > 1:
                default = "expected a single number: did you forget to reduce (e.g. .mean() or .sum())?"
            raise failure(name, "wrong shape.", shape_str(exp.shape), f"{shape_str(got.shape)} ({describe(actual)})",
                          cause or hint, default)
        if got.size == 0:
            return
        complex_ = np.iscomplexobj(got) or np.iscomplexobj(exp)
        try:
            ok = np.isclose(got.astype(np.complex128 if complex_ else np.float64),
                            exp.astype(np.complex128 if complex_ else np.float64),
                            atol=atol, rtol=rtol, equal_nan=True)
        except (TypeError, ValueError):  # pragma: no cover - as_numpy only returns numeric arrays
            raise failure(name, "could not compare the values.", describe(expected), describe(actual), hint) from None
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
            expected_text, got_text = fmt_num(e64), fmt_num(g64)
            extra = (f"difference: {fmt_num(largest)} {allowed}" if math.isfinite(float(largest)) else None)
        else:
            if exp.size <= 6:
                expected_text, got_text = preview(e64), preview(g64)
            else:
                expected_text, got_text = _differences(g64, e64, ~ok)
            g_worst, e_worst = fmt_num(g64[worst]), fmt_num(e64[worst])
            if g_worst == e_worst:
                g_worst, e_worst = f"{g64[worst]:.10g}", f"{e64[worst]:.10g}"
            extra = (f"{bad} of {got.size} values differ; the largest difference is {fmt_num(largest)}{where}: "
                     f"got {g_worst}, expected {e_worst}\n{allowed}")
        if expected_text == got_text:         # they differ below the shown precision: show them in full
            expected_text, got_text = _precise(e64, ~ok), _precise(g64, ~ok)
        raise failure(name, "values are not close to the expected ones.", expected_text, got_text, cause or hint,
                      _close_hint(g64, e64, atol, rtol), extra=extra)


def _precise(values: np.ndarray, differ: np.ndarray) -> str:
    """The differing values with every digit that tells them apart (at most 6 shown)."""
    if values.ndim == 0:
        return f"{complex(values) if np.iscomplexobj(values) else float(values):.10g}"
    flat, where = values.reshape(-1), np.flatnonzero(differ.reshape(-1))
    shown = ", ".join(f"{flat[i]:.10g}" + _index_str(np.unravel_index(int(i), values.shape)).replace(" index", "")
                      for i in where[:6])
    if values.size <= 6:
        return "[" + ", ".join(f"{v:.10g}" for v in flat) + "]"
    return shown + (f" (and {len(where) - 6} more)" if len(where) > 6 else "")


# ---------------------------------------------------------------------------
# check_equal
# ---------------------------------------------------------------------------

def _equal_cause(actual, causes: list) -> str | None:
    found = []
    for alternative, text in causes:
        try:
            if is_tensor(actual) or is_array(actual) or is_tensor(alternative) or is_array(alternative):
                a, b = as_numpy(actual), as_numpy(alternative)
                if a.shape == b.shape and bool(np.all(a == b)):
                    found.append(text)
            elif type(actual) is type(alternative) and actual == alternative:
                found.append(text)
        except Exception:
            continue
    return _join_causes(found)


def _repr_value(value) -> str:
    if is_tensor(value) or is_array(value):
        return describe(value)
    return short(brief(value))


def check_equal(actual, expected, name: str, hint: str | None = None, *, causes=None) -> None:
    """Exact equality: ints, strings, tuples, lists, dicts, ``torch.Size``, tensors and arrays (element-wise).

    For tensors/arrays the shapes and every element must agree (dtypes are not compared;
    use ``check_dtype`` for that). A one-element tensor equals the matching Python number.
    ``causes``: (value, explanation) pairs as in ``check_close``, compared exactly.

    A typical failure, as the student reads it:

    >>> check_equal(torch.tensor([0, 1, 2]), [0, 1, 1], "predictions")
    Traceback (most recent call last):
    ...
    AssertionError: predictions: values differ.
      expected: a NumPy array of shape (3,), dtype int64: [0, 1, 1]
      got:      a tensor of shape (3,), dtype torch.int64: [0, 1, 2]
      1 of 3 values differ; the first at index [2]: got 2, expected 1
    >>> check_equal([28, 28], (28, 28), "image_size")
    Traceback (most recent call last):
    ...
    AssertionError: image_size: not equal to the expected value.
      expected: (28, 28)
      got:      [28, 28]
      hint: the values are right but this is a list; return a tuple.
    """
    __tracebackhide__ = True   # IPython and pytest show the caller's line, not this one
    with at_caller():
        check_name("check_equal", name)
        check_hint("check_equal", hint)
        causes = _validate_causes("check_equal", causes)
        plain_data(actual, name, hint, want="plain data (a tensor, an array, a number, a string or a list)")
        hint = _equal_cause(actual, causes) or hint
        array_like_actual = is_tensor(actual) or is_array(actual)
        if array_like_actual and isinstance(expected, (list, tuple)) and not isinstance(expected, torch.Size):
            try:
                expected = as_numpy(expected)  # a tensor compared with a list of numbers: compare element-wise
            except (TypeError, ValueError):
                pass
        if is_tensor(expected) or is_array(expected):
            try:
                exp = as_numpy(expected)
            except Exception:
                raise TypeError("check_equal(): an `expected` array or tensor must hold numbers or bools; compare "
                                f"other values as lists, got {describe(expected)}.") from None
            got = numeric_or_fail(actual, name, hint, what="values")
            if got.shape != exp.shape:
                raise failure(name, "wrong shape.", shape_str(exp.shape), f"{shape_str(got.shape)} ({describe(actual)})",
                              hint, shape_hint(got.shape, exp.shape))
            try:
                same = np.asarray(got == exp) | (np.isnan(got.astype(float)) & np.isnan(exp.astype(float)))
            except (TypeError, ValueError):  # pragma: no cover
                same = np.asarray(got == exp)
            if same.all():
                return
            idx = np.unravel_index(int(np.argmin(same)), same.shape) if same.ndim else ()
            extra = (f"{int((~same).sum())} of {same.size} values differ; the first{_index_str(idx)}: "
                     f"got {fmt_num(got[idx])}, expected {fmt_num(exp[idx])}")
            if exp.size <= 6:
                expected_text, got_text = _repr_value(expected), _repr_value(actual)
            else:
                expected_text, got_text = _differences(got, exp, ~same)
            raise failure(name, "values differ.", expected_text, got_text, hint, None, extra=extra)

        default = kind_hint(actual)
        # A one-element tensor/array/NumPy scalar against a plain Python number: compare the number.
        plain = actual
        if isinstance(expected, numbers.Number) and array_like_actual:
            size = actual.numel() if is_tensor(actual) else actual.size
            if size != 1:
                raise failure(name, "expected a single number.", _repr_value(expected), describe(actual), hint,
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
                    bool(result.all()) if is_tensor(result) or is_array(result) else False)
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
        raise failure(name, "not equal to the expected value.", _repr_value(expected), _repr_value(actual), hint, default)
