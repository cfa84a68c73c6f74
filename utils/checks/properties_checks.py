"""The properties of ``check_against_reference`` (``properties.py``): each checks one thing about a generated
case (the student's result, the reference's, the inputs) and raises a failed check.
"""
from __future__ import annotations

import copy
import math
import numbers

import numpy as np
import torch

from ._format import failure, is_tensor
from .calling import call, student_code
from .compare import _join_causes, _matching_cause, check_close, check_equal
from .conditions import check_requires_grad
from .kinds import check_dtype, check_shape, check_type
from .properties_causes import clamped, kept_state, numbers_of

__all__ = ["same_kind", "same_values", "same_gradients", "inputs_unchanged", "repeatable", "DEFAULT"]


def _clone(value):
    if is_tensor(value):
        return value.detach().clone().requires_grad_(value.requires_grad) if value.is_leaf else value.clone()
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, (list, tuple)):
        return type(value)(_clone(v) for v in value)
    if isinstance(value, dict):
        return {k: _clone(v) for k, v in value.items()}
    return copy.deepcopy(value)


def _same(a, b) -> bool:
    try:
        x, y = np.asarray(_plain(a)), np.asarray(_plain(b))
        return x.shape == y.shape and bool(np.allclose(x.astype(float), y.astype(float), equal_nan=True))
    except Exception:
        return False


def _has_arrays(value) -> bool:
    """A tuple or list that holds tensors or arrays (compared part by part, each within its tolerance)."""
    return isinstance(value, (tuple, list)) and any(is_tensor(v) or isinstance(v, np.ndarray) for v in value)


def _same_length(got, exp, what: str) -> None:
    __tracebackhide__ = True
    check_type(got, (tuple, list), what)
    check_equal(len(got), len(exp), f"len({what})", hint=f"return {len(exp)} values, as the exercise asks.")


def _plain(value):
    return value.detach().cpu().numpy() if is_tensor(value) else value


# ---------------------------------------------------------------------------------------------------
# Properties: each checks one thing about a case and raises a failed check (AssertionError)
# ---------------------------------------------------------------------------------------------------

class same_kind:
    """The result is the same kind of value as the reference's: the same type (tensor, array, int ...),
    and for tensors and arrays the same shape and dtype.

    >>> from hypothesis import strategies as st
    >>> check_against_reference(lambda X: (2 * X).float(), lambda X: 2 * X, st.tuples(tensors((2,), torch.float64)),
    ...                         name="double(X)", properties=(same_kind(),))
    Traceback (most recent call last):
    ...
    AssertionError: double(X): wrong dtype.
      expected: torch.float64
      got:      torch.float32 (a tensor of shape (2,), dtype torch.float32: [3.082, -0.5869])
      input (the smallest generated input that shows it):
        X = a tensor of shape (2,), dtype torch.float64: [1.541, -0.2934]
      hint: keep the input's dtype (float64): no .float(), .double(), astype(...) or constants of another dtype on the way.
    """

    def __init__(self, hint: str | None = None):
        self.hint = hint          # for a wrong dtype, instead of the generic "keep the input's dtype"

    def check(self, ctx) -> None:
        __tracebackhide__ = True
        got, exp = ctx.got, ctx.expected
        cause = _known_cause(ctx)
        if is_tensor(exp):
            check_type(got, torch.Tensor, ctx.what, hint=cause)
        elif isinstance(exp, np.ndarray):
            check_type(got, np.ndarray, ctx.what, hint=cause)
        elif isinstance(exp, numbers.Integral) and not isinstance(exp, bool):
            check_type(got, int, ctx.what, hint=cause)
        if is_tensor(exp) or isinstance(exp, np.ndarray):
            check_shape(got, tuple(exp.shape), ctx.what, hint=cause)
            inputs = [_dtype_name(a.dtype) for a in ctx.args if is_tensor(a) or isinstance(a, np.ndarray)]
            hint = self.hint or (          # the values may be right: a known mistake's values are no evidence here
                f"keep the input's dtype ({_dtype_name(exp.dtype)}): no .float(), .double(), astype(...) or "
                "constants of another dtype on the way." if _dtype_name(exp.dtype) in inputs else None)
            check_dtype(got, exp.dtype, ctx.what, hint=hint)


def _known_cause(ctx):
    """The explanation of the known mistakes (``causes``) that the student's result equals, if any."""
    try:
        got = np.asarray(_plain(ctx.got))
    except Exception:
        return None
    if got.dtype.kind not in "biufc":
        return None
    return _matching_cause(got, ctx.causes())


class same_values:
    """The result's values equal the reference's within ``atol + rtol * |expected|`` (exactly for ints and
    strings; tuples and lists holding floats part by part, within the tolerance); the exercise's ``causes`` name
    known mistakes, and so do, on their own evidence (``properties_causes``), a result of an earlier call, values
    cut off at a bound, and results that add up or change from call to call.

    >>> from hypothesis import strategies as st
    >>> check_against_reference(lambda X: X.sum(), lambda X: X.mean(), st.tuples(tensors((st.integers(1, 3),))),
    ...                         name="average(X)", properties=(same_values(),),
    ...                         causes=lambda X: [(X.sum(), "this is the sum: divide by the count.")])
    Traceback (most recent call last):
    ...
    AssertionError: average(X): values are not close to the expected ones.
      expected: 0.623784
      got:      1.24757
      difference: 0.623784 (allowed: atol=1e-06 + rtol=1e-05 × |expected|)
      input (the smallest generated input that shows it):
        X = a tensor of shape (2,), dtype torch.float32: [1.541, -0.2934]
      hint: this is the sum: divide by the count.
    """

    def __init__(self, rtol: float = 1e-5, atol: float = 1e-6):
        self.rtol, self.atol = rtol, atol

    def check(self, ctx) -> None:
        __tracebackhide__ = True
        exp = ctx.expected
        if _has_arrays(exp):                          # (X_train, X_val, y_train, y_val): part by part
            _same_length(ctx.got, exp, ctx.what)
            for i, (got, want) in enumerate(zip(ctx.got, exp)):
                if _has_arrays(want) or is_tensor(want) or isinstance(want, np.ndarray):
                    check_close(got, _plain(want) if not _has_arrays(want) else want, f"{ctx.what}[{i}]",
                                atol=self.atol, rtol=self.rtol, causes=ctx.causes())
                else:
                    self._parts(got, want, f"{ctx.what}[{i}]", ctx.causes())
        elif isinstance(exp, (tuple, list)) and _has_floats(exp):     # ([weights], [losses]): within the tolerance
            try:
                self._parts(ctx.got, exp, ctx.what, ctx.causes())
            except AssertionError:
                known = _join_causes([text for alt, text in ctx.causes() if _near(ctx.got, alt, self.atol, self.rtol)])
                if known is None:
                    raise
                check_equal(ctx.got, exp, ctx.what, hint=known)          # the whole result is a known mistake's
        elif isinstance(exp, (numbers.Integral, str, tuple, list)) and not is_tensor(exp):
            check_equal(ctx.got, exp, ctx.what, causes=ctx.causes())
        else:
            causes = ctx.causes()
            # a clamp that a larger case of this check showed explains the shrunk one-value case too
            cut = clamped(ctx.got, _plain(exp), self.atol, self.rtol, getattr(ctx.check, "clamp_bounds", None))
            if cut is not None and cut[2]:
                ctx.check.clamp_bounds = cut[3]
            if cut is not None and (cut[2] or _known_cause(ctx) is None):   # one value: weaker evidence
                causes = causes + [cut[:2]]
            try:
                check_close(ctx.got, _plain(exp), ctx.what, atol=self.atol, rtol=self.rtol, causes=causes)
            except AssertionError:
                state = None if _matching_cause(numbers_of(ctx.got), causes) else kept_state(ctx, _plain(exp))
                if state is None:
                    raise
                check_close(ctx.got, _plain(exp), ctx.what, atol=self.atol, rtol=self.rtol,
                            causes=[(ctx.got, state)])

    def _parts(self, got, exp, what: str, causes: list) -> None:
        """Floats within the tolerance, ints and strings exactly, containers part by part."""
        __tracebackhide__ = True
        if isinstance(exp, (tuple, list)) and _has_floats(exp):
            try:
                flat = np.asarray(exp, dtype=np.float64)          # a list (of lists) of numbers: one comparison
            except (TypeError, ValueError):
                flat = None
            if flat is not None:
                check_close(got, flat, what, atol=self.atol, rtol=self.rtol, causes=causes)
                return
            _same_length(got, exp, what)
            for i, (part, want) in enumerate(zip(got, exp)):
                self._parts(part, want, f"{what}[{i}]", causes)
        elif _has_floats(exp):
            check_close(got, exp, what, atol=self.atol, rtol=self.rtol, causes=causes)
        else:
            check_equal(got, exp, what, causes=causes)


def _near(got, alt, atol: float, rtol: float) -> bool:
    """Whether plain data ``got`` equals ``alt`` (a known mistake's result): floats within the tolerance."""
    if isinstance(alt, (tuple, list)):
        return isinstance(got, (tuple, list)) and len(got) == len(alt) and all(
            _near(g, a, atol, rtol) for g, a in zip(got, alt))
    if isinstance(alt, (float, np.floating)) and isinstance(got, numbers.Real) and not isinstance(got, bool):
        return math.isclose(got, alt, rel_tol=rtol, abs_tol=atol) or (math.isnan(got) and math.isnan(alt))
    try:
        return type(got) is type(alt) and bool(got == alt)
    except Exception:
        return False


def _has_floats(value) -> bool:
    """A float, or a tuple or list that holds one (at any depth)."""
    if isinstance(value, (tuple, list)):
        return any(_has_floats(v) for v in value)
    return isinstance(value, (float, np.floating))


def _dtype_name(dtype) -> str:
    return str(dtype).replace("torch.", "")


class inputs_unchanged:
    """The tensors, arrays and lists passed in are unchanged after the call (no in-place operations).

    >>> from hypothesis import strategies as st
    >>> check_against_reference(lambda X: X.mul_(2), lambda X: X * 2, st.tuples(tensors((2,))), name="double(X)",
    ...                         properties=(inputs_unchanged(),))
    Traceback (most recent call last):
    ...
    AssertionError: X after double(X): values differ.
      expected: a tensor of shape (2,), dtype torch.float32: [1.541, -0.2934]
      got:      a tensor of shape (2,), dtype torch.float32: [3.082, -0.5869]
      2 of 2 values differ; the first at index [0]: got 3.08199, expected 1.541
      input (the smallest generated input that shows it):
        X = a tensor of shape (2,), dtype torch.float32: [1.541, -0.2934]
      hint: X was changed in place (an operation ending in _ such as clamp_() or sub_(), -=, /=, X[...] = ..., or .data): compute a new tensor instead.
    """

    def check(self, ctx) -> None:
        __tracebackhide__ = True
        for name, now, before in zip(ctx.check.names, ctx.student_args, ctx.args):
            if is_tensor(before) or isinstance(before, (np.ndarray, list)):
                check_equal(now.detach() if is_tensor(now) else now, before.detach() if is_tensor(before) else before,
                            f"{name} after {ctx.what}",
                            hint=f"{name} was changed in place (an operation ending in _ such as clamp_() or "
                                 f"sub_(), -=, /=, {name}[...] = ..., or .data): compute a new tensor instead.")


class repeatable:
    """A second call with the same input gives the same result (no state kept between calls).

    >>> from hypothesis import strategies as st
    >>> calls = []
    >>> def noisy(X):
    ...     calls.append(1)
    ...     return X + len(calls)
    >>> check_against_reference(noisy, lambda X: X + 1, st.tuples(tensors((2,))), name="shift(X)",
    ...                         properties=(repeatable(),))
    Traceback (most recent call last):
    ...
    AssertionError: shift(X), called a second time with the same input: values are not close to the expected ones.
      expected: [6.541, 4.707]
      got:      [7.541, 5.707]
      2 of 2 values differ; the largest difference is 1.0 at index [0]: got 7.541, expected 6.541
      (allowed: atol=0 + rtol=0 × |expected|)
      input (the smallest generated input that shows it):
        X = a tensor of shape (2,), dtype torch.float32: [1.541, -0.2934]
      hint: the second call gave another result: something is kept between calls (a global, a cache, a default argument, or an input changed in place); compute everything from the arguments.
    """

    def check(self, ctx) -> None:
        __tracebackhide__ = True
        again, _, _ = ctx.call_student(f"{ctx.what}, called a second time with the same input")
        name = f"{ctx.what}, called a second time with the same input"
        hint = ("the second call gave another result: something is kept between calls (a global, a cache, a "
                "default argument, or an input changed in place); compute everything from the arguments.")
        if is_tensor(ctx.got) or isinstance(ctx.got, np.ndarray):
            check_close(again, _plain(ctx.got), name, atol=0.0, rtol=0.0, hint=hint)
        elif _has_arrays(ctx.got):
            _same_length(again, ctx.got, name)
            for i, (part, first) in enumerate(zip(again, ctx.got)):
                if is_tensor(first) or isinstance(first, np.ndarray):
                    check_close(part, _plain(first), f"{name}, part [{i}]", atol=0.0, rtol=0.0, hint=hint)
                else:
                    check_equal(part, first, f"{name}, part [{i}]", hint=hint)
        else:
            check_equal(again, ctx.got, name, hint=hint)


class same_gradients:
    """Gradients through ``backward()`` reach the floating-point tensor arguments (or those at the
    positions ``wrt``) and equal the reference's, within the tolerance.

    >>> from hypothesis import strategies as st
    >>> check_against_reference(lambda X: (X ** 2).detach(), lambda X: X ** 2, st.tuples(tensors((2,))),
    ...                         name="square(X)", properties=(same_gradients(),))
    Traceback (most recent call last):
    ...
    AssertionError: square(X) with X requiring grad: wrong requires_grad.
      expected: requires_grad=True
      got:      requires_grad=False (a tensor of shape (2,), dtype torch.float32: [2.375, 0.0861])
      input (the smallest generated input that shows it):
        X = a tensor of shape (2,), dtype torch.float32: [1.541, -0.2934]
      hint: the result was cut from the inputs' graph (.detach(), .data, torch.tensor(...), .item() or NumPy on the way): compute it with tensor operations.
    """

    def __init__(self, wrt=None, rtol: float = 1e-4, atol: float = 1e-5):
        self.wrt, self.rtol, self.atol = wrt, rtol, atol

    def check(self, ctx) -> None:
        __tracebackhide__ = True
        positions = [i for i, a in enumerate(ctx.args) if is_tensor(a) and a.is_floating_point()
                     and (self.wrt is None or i in self.wrt)]
        if not positions or not is_tensor(ctx.expected) or not ctx.expected.is_floating_point():
            return
        ref_args, ref_kw = ctx.fresh()
        stu_args, stu_kw = ctx.fresh()
        for i in positions:
            ref_args[i].requires_grad_(True)
            stu_args[i].requires_grad_(True)
        ref_args, stu_args = tuple(ref_args), tuple(stu_args)
        with torch.enable_grad():
            expected = ctx.call_reference(ref_args, ref_kw)
            weights = torch.randn(expected.shape, generator=torch.Generator().manual_seed(0),
                                  dtype=torch.float64).to(expected.dtype)
            (expected * weights).sum().backward()
            what = f"{ctx.what} with {_names(ctx, positions)} requiring grad"
            ctx.check.calls += 1
            got = call(ctx.check.fn, *stu_args, what=what, exercise=ctx.check.exercise, **stu_kw)
            check_requires_grad(got, True, what, hint="the result was cut from the inputs' graph (.detach(), .data, "
                                "torch.tensor(...), .item() or NumPy on the way): compute it with tensor operations.")
            with student_code(f"backward() through {what}", exercise=ctx.check.exercise):
                (got * weights.to(got.dtype)).sum().backward()
        for i in positions:
            name = f"{ctx.check.names[i]}.grad after backward() through {ctx.what}"
            if stu_args[i].grad is None:
                raise failure(name, "no gradient reached this input.", "a gradient of the same shape as "
                              f"{ctx.check.names[i]}", "None", None, "the result is not computed from this input "
                              "with tensor operations (a .detach(), .data or a copy on the way).")
            check_close(stu_args[i].grad, ref_args[i].grad, name, atol=self.atol, rtol=self.rtol)


DEFAULT = (same_kind(), same_values(), inputs_unchanged(), repeatable())


def _names(ctx, positions) -> str:
    names = [ctx.check.names[i] for i in positions]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
