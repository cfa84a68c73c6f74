"""The causes that ``check_against_reference``'s properties name on their own evidence, with no ``causes`` of
the exercise: values cut off at a bound (a clamp, clip or floor), and results that depend on earlier calls
(state kept between calls, or randomness), shown by calling the student's code again with the same input.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from ._format import is_tensor

__all__ = ["clamped", "kept_state", "numbers_of"]


def _plain(value):
    return value.detach().cpu().numpy() if is_tensor(value) else value


_LIMITS = {float(np.finfo(t).max) for t in (np.float16, np.float32)} | {float(torch.finfo(torch.bfloat16).max)} | {
    float(v) for t in (np.int8, np.uint8, np.int16, np.int32, np.uint16) for v in (np.iinfo(t).min, np.iinfo(t).max)}


def _written(bound: float) -> bool:
    """Whether ``bound`` looks like a constant in code (two significant digits, or one minus such) or is a
    dtype's limit (an overflow cut it off: float16's 65504, uint8's 255 ...)."""
    def short(x):
        return x == 0 or math.isclose(x, float(f"{x:.2g}"), rel_tol=1e-6)
    bound = float(bound)
    return bool(short(bound) or short(1.0 - bound) or any(math.isclose(bound, v, rel_tol=1e-6) for v in _LIMITS))


def clamped(got, exp, atol: float, rtol: float, seen=None):
    """(got, explanation, strong, (lower, upper) bound or None) when ``got`` is the expected values cut off at its
    own smallest and largest value; strong when more than one value shows it. ``seen``: the bounds an earlier,
    larger case of the same check showed (strong evidence): a result of one value cut off there is named too.

    >>> from utils.checks.properties_causes import clamped
    >>> clamped([-10.0], [-395.3], 1e-3, 1e-4) is None      # one value alone: no evidence of a clamp
    True
    >>> clamped([-10.0], [-395.3], 1e-3, 1e-4, seen=(-10.0, 10.0))[1:]
    ('the values were clamped to [-10, 10]: return them as they are (no clamp, clip or floor).', True, (-10.0, 10.0))
    """
    try:
        g = np.asarray(_plain(got), dtype=np.float64)
        e = np.asarray(exp, dtype=np.float64)
        if g.shape != e.shape or g.size == 0 or not np.isfinite(g).all() or not np.isfinite(e).all():
            return None
        if g.size > 1 and g.min() < g.max():          # every value the same: a constant, no evidence of a clamp
            lo, hi = g.min(), g.max()
            below, above = e < lo - atol - rtol * abs(lo), e > hi + atol + rtol * abs(hi)
            # a clamp's bound is a number someone wrote (0, 1, 1e-7, 1 - 1e-7): equal values at the result's
            # own maximum are otherwise common in a shrunk input (every value the same), and no evidence
            below &= _written(lo)
            above &= _written(hi)
            if (below.any() or above.any()) and np.allclose(g, np.clip(e, lo, hi), atol=atol, rtol=rtol):
                strong = bool((~(below | above)).any()) or int((below | above).sum()) > 1
                bounds = (float(lo) if below.any() else None, float(hi) if above.any() else None)
                return got, _clamp_text(bounds), strong, bounds
        if seen is not None:
            lo, hi = (-np.inf if seen[0] is None else seen[0]), (np.inf if seen[1] is None else seen[1])
            below, above = e < lo - atol - rtol * abs(lo), e > hi + atol + rtol * abs(hi)
            if (below.any() or above.any()) and np.allclose(g, np.clip(e, lo, hi), atol=atol, rtol=rtol):
                return got, _clamp_text(seen), True, seen
    except (TypeError, ValueError):
        return None
    return None


def _clamp_text(bounds) -> str:
    lo, hi = bounds
    where = (f"clamped to [{lo:.4g}, {hi:.4g}]" if lo is not None and hi is not None else
             f"cut off at {hi:.4g} (larger ones)" if hi is not None else f"cut off at {lo:.4g} (smaller ones)")
    return f"the values were {where}: return them as they are (no clamp, clip or floor)."


def numbers_of(value):
    try:
        got = np.asarray(_plain(value))
        return got if got.dtype.kind in "biufc" else np.zeros(0)
    except Exception:
        return np.zeros(0)


_ADDS_UP = ("the results add up from call to call: a second call with the same input gave this result plus the "
            "expected one. A total, list or buffer kept between calls is never reset: start from zero (a new "
            "tensor) in every call.")
_KEPT = ("a second call with the same input gave another result: something is kept between calls (a global, a "
         "cache, a buffer that is never cleared, a default argument) or the result is random (an unseeded random "
         "number, dropout left in training mode); compute everything from the arguments.")


def kept_state(ctx, expected):
    """The cause of wrong values shown by calling the student's code again with the same input: the results
    add up (state accumulated between calls), or differ at all. None when the second call gives the same: then the
    code is taken for stateless for the rest of the check (one extra call, not one per case Hypothesis shrinks)."""
    if getattr(ctx.check, "stateless", False):
        return None
    try:
        again, _, _ = ctx.call_student(f"{ctx.what}, called a second time with the same input")
        first, second = numbers_of(ctx.got).astype(np.float64), numbers_of(again).astype(np.float64)
        want = np.asarray(expected, dtype=np.float64)
    except (AssertionError, TypeError, ValueError):
        return None
    if first.shape != second.shape or first.size == 0 or np.array_equal(first, second, equal_nan=True):
        ctx.check.stateless = True
        return None
    if want.shape == first.shape and np.abs(want).max(initial=0.0) > 0 and np.isfinite(second - first).all() \
            and np.allclose(second - first, want, rtol=1e-4, atol=1e-6 * np.abs(want).max()):
        return _ADDS_UP
    return _KEPT
