"""Checks of conditions: any claim the test states itself, gradients switched on or off, and a
history (of losses) that goes down."""
from __future__ import annotations

import numbers

import numpy as np

from ._format import (at_caller, check_hint, check_name, describe, failure, fmt_num, is_array, is_tensor, kind_hint,
                      mark, numeric_or_fail, preview, short)
from ._plain import plain

__all__ = ["check_true", "check_requires_grad", "check_decreasing"]

# ---------------------------------------------------------------------------
# check_true
# ---------------------------------------------------------------------------

def check_true(condition, message: str, *, expected: str | None = None, got: str | None = None,
               hint: str | None = None) -> None:
    """Raise ``AssertionError`` unless ``condition`` is true.

    ``condition`` is a bool, a NumPy bool or a one-element tensor/array (e.g. ``(x >= 0).all()``).
    ``message`` says what is wrong; ``expected``, ``got`` and ``hint`` (strings) add the usual lines.

    A typical failure, as the student reads it:

    >>> model = nn.Linear(2, 1)
    >>> check_true(not model.training, "the model is still in training mode.", expected="model.training == False",
    ...            got=str(model.training), hint="call model.eval() before evaluating.")
    Traceback (most recent call last):
    ...
    AssertionError: the model is still in training mode.
      expected: model.training == False
      got:      True
      hint: call model.eval() before evaluating.
    """
    __tracebackhide__ = True   # IPython and pytest show the caller's line, not this one
    with at_caller():
        if not isinstance(message, str) or not message.strip():
            raise TypeError(f"check_true(): `message` must be a non-empty string, got {message!r}.")
        for arg, value in (("expected", expected), ("got", got), ("hint", hint)):
            if value is not None and not isinstance(value, str):
                raise TypeError(f"check_true(): `{arg}` must be a string or None, got {type(value).__name__}.")
        plain(condition, "the value this check tests", None, want="True or False")
        if isinstance(condition, (bool, np.bool_)):
            value = bool(condition)
        elif (is_tensor(condition) or is_array(condition)) and (
                condition.numel() if is_tensor(condition) else condition.size) == 1:
            value = bool(condition.item())
        elif is_tensor(condition) or is_array(condition):
            raise TypeError("check_true(): `condition` must be a single bool; this tensor/array has several "
                            "elements: use .all() or .any().")
        elif isinstance(condition, numbers.Integral):
            value = bool(condition)
        else:
            raise TypeError(f"check_true(): `condition` must be a bool, got {describe(condition)}.")
        if value:
            return
        if expected is None and got is None and hint is None:
            raise mark(AssertionError(message))
        lines = [message]
        if expected is not None:
            lines.append(f"  expected: {expected}")
        if got is not None:
            lines.append(f"  got:      {got}")
        if hint is not None:
            lines.append(f"  hint: {hint}")
        raise mark(AssertionError("\n".join(lines)))



# ---------------------------------------------------------------------------
# Autograd
# ---------------------------------------------------------------------------

def check_requires_grad(tensor, expected: bool, name: str, hint: str | None = None) -> None:
    """Check ``tensor.requires_grad`` (a tensor or an ``nn.Parameter``).

    A typical failure, as the student reads it:

    >>> check_requires_grad(torch.ones(3), True, "w")
    Traceback (most recent call last):
    ...
    AssertionError: w: wrong requires_grad.
      expected: requires_grad=True
      got:      requires_grad=False (a tensor of shape (3,), dtype torch.float32: [1.0, 1.0, 1.0])
      hint: create it with requires_grad=True or call .requires_grad_(); note that .detach(), torch.no_grad(), .item() and .numpy() all leave the graph.
    """
    __tracebackhide__ = True   # IPython and pytest show the caller's line, not this one
    with at_caller():
        check_name("check_requires_grad", name)
        check_hint("check_requires_grad", hint)
        if not isinstance(expected, (bool, np.bool_)):
            raise TypeError(f"check_requires_grad(): `expected` must be True or False, got {expected!r}.")
        expected = bool(expected)
        plain(tensor, name, hint, want="a plain tensor")
        if not is_tensor(tensor):
            default = kind_hint(tensor)
            if default is None and isinstance(tensor, (numbers.Number, np.generic)):
                default = ".item() and float() give a plain number, which has no gradient: keep the tensor."
            elif default is None and is_array(tensor):
                default = "NumPy arrays have no gradients: keep a torch tensor."
            raise failure(name, "expected a tensor.", f"a tensor with requires_grad={expected}", describe(tensor),
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
        raise failure(name, "wrong requires_grad.", f"requires_grad={expected}",
                      f"requires_grad={tensor.requires_grad} ({describe(tensor)})", hint, default)


# ---------------------------------------------------------------------------
# Training histories
# ---------------------------------------------------------------------------

def check_decreasing(values, name: str, hint: str | None = None, *, strictly: bool = False) -> None:
    """Check that a history (e.g. of losses) ends lower than it starts.

    ``values`` is a list, a 1-d array or a 1-d tensor with at least two finite numbers.
    With ``strictly=True`` every step must go down.

    A typical failure, as the student reads it:

    >>> check_decreasing([1.0, 1.2, 1.5], "losses")
    Traceback (most recent call last):
    ...
    AssertionError: losses: does not decrease.
      expected: the last value lower than the first
      got:      first 1.0, last 1.5, lowest 1.0 at position 0
      hint: probably the learning rate is too large, or the gradients add up because optimizer.zero_grad() is missing; the order is zero_grad(), backward(), step().
    """
    __tracebackhide__ = True   # IPython and pytest show the caller's line, not this one
    with at_caller():
        check_name("check_decreasing", name)
        check_hint("check_decreasing", hint)
        if not isinstance(strictly, bool):
            raise TypeError(f"check_decreasing(): `strictly` must be True or False, got {strictly!r}.")
        plain(values, name, hint, want="a plain list of numbers")
        if isinstance(values, (numbers.Number, np.generic)) or (is_tensor(values) and values.ndim == 0):
            raise failure(name, "expected a history of several values.", "a list of numbers, one per step",
                          describe(values), hint,
                          "append each epoch's value (e.g. loss.item()) to a list and return the list.")
        arr = numeric_or_fail(values, name, hint, what="a list of numbers")
        if arr.ndim != 1 or np.iscomplexobj(arr):
            raise failure(name, "expected a flat list of numbers.", "a 1-d list of numbers", describe(values), hint,
                          "record one number per step, e.g. losses.append(loss.item()).")
        arr = arr.astype(np.float64)
        if arr.size < 2:
            raise failure(name, "too short to tell whether it decreases.", "at least 2 values", describe(values),
                          hint, "record a value at every step or epoch, not only the last one.")
        if not np.isfinite(arr).all():
            i = int(np.argmin(np.isfinite(arr)))
            raise failure(name, f"contains {fmt_num(arr[i])} at position {i}.", "finite numbers", preview(arr, 8), hint,
                          "NaN/inf usually means training diverged: try a smaller learning rate, and check for log(0).")
        first, last = float(arr[0]), float(arr[-1])
        summary = f"first {fmt_num(first)}, last {fmt_num(last)}, lowest {fmt_num(arr.min())} at position {int(arr.argmin())}"
        if strictly:
            steps = np.diff(arr)
            if (steps < 0).all():
                return
            i = int(np.argmax(steps >= 0))
            raise failure(name, "does not go down at every step.", "every value lower than the one before",
                          f"position {i + 1} ({fmt_num(arr[i + 1])}) is not lower than position {i} "
                          f"({fmt_num(arr[i])})", hint, "is the learning rate too large?", extra=summary)
        if last < first:
            return
        if np.allclose(arr, first, rtol=1e-7, atol=0):
            default = ("the values never change: is optimizer.step() called after loss.backward(), and was the "
                       "optimizer given model.parameters()?")
        else:
            default = ("probably the learning rate is too large, or the gradients add up because "
                       "optimizer.zero_grad() is missing; the order is zero_grad(), backward(), step().")
        raise failure(name, "does not decrease.", "the last value lower than the first", summary, hint, default)
