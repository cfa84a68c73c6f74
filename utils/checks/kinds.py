"""Checks of what kind a student's value is: its type, shape and dtype."""
from __future__ import annotations

import inspect
import math
import numbers

import numpy as np
import torch
from torch import nn

from ._format import (at_caller, check_hint, check_name, describe, failure, is_array, is_tensor, kind_hint,
                      shape_hint, shape_str)
from ._plain import DATA_TYPES, dtype_of, plain, shape_of

__all__ = ["check_type", "check_shape", "check_dtype"]

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

    A typical failure, as the student reads it:

    >>> check_type(3.5, torch.Tensor, "loss")
    Traceback (most recent call last):
    ...
    AssertionError: loss: wrong type.
      expected: torch.Tensor
      got:      the Python float 3.5
      hint: this is a plain number, not a tensor: did you call .item() or float()? Keep the tensor.
    """
    __tracebackhide__ = True   # IPython and pytest show the caller's line, not this one
    with at_caller():
        check_name("check_type", name)
        check_hint("check_type", hint)
        types = expected_type if isinstance(expected_type, tuple) else (expected_type,)
        if not types or not all(inspect.isclass(t) for t in types):
            raise TypeError("check_type(): `expected_type` must be a class such as torch.Tensor or int, "
                            f"or a tuple of classes, got {expected_type!r}.")
        wants_data = any(issubclass(t, DATA_TYPES) for t in types)
        plain(value, name, hint, handles=wants_data, want=f"a plain {_type_names(types)}")
        ok = issubclass(type(value), types)
        if ok and isinstance(value, bool) and bool not in types and object not in types:
            ok = False  # True is an int to Python, but almost never what an exercise wants
        if ok:
            return
        default = kind_hint(value)
        if default is None:
            wants_tensor = any(issubclass(t, torch.Tensor) for t in types)
            if wants_tensor and isinstance(value, (numbers.Number, np.generic)):
                default = ("this is a plain number, not a tensor: did you call .item() or float()? "
                           "Keep the tensor.")
            elif wants_tensor and is_array(value):
                default = "this is a NumPy array: convert it with torch.from_numpy(...) or torch.tensor(...)."
            elif wants_tensor and isinstance(value, (list, tuple)) and value and all(is_tensor(v) for v in value):
                default = "this is a list of tensors: combine them into one tensor with torch.stack(...)."
            elif wants_tensor and isinstance(value, (list, tuple)):
                default = "convert it with torch.tensor(...)."
            elif is_tensor(value) and any(t in (float, int, bool) for t in types):
                default = "use .item() to turn a one-element tensor into a Python number."
            elif is_tensor(value) and np.ndarray in types:
                default = "use .detach().cpu().numpy() to turn a tensor into a NumPy array."
            elif isinstance(value, (list, tuple)) and np.ndarray in types:
                default = "this is a Python list: return a NumPy array (for a tensor: .detach().cpu().numpy())."
            elif isinstance(value, bool) and int in types:
                default = "True/False is a bool; return a count or index as an int."
            elif isinstance(value, float) and int in types and float(value).is_integer():
                default = "use int(...) or integer division //."
            elif isinstance(value, (numbers.Number, np.generic)) and float in types:
                default = "use float(...) to get a Python float."
            elif any(issubclass(t, nn.Sequential) for t in types) and isinstance(value, (nn.ModuleList, list, tuple)) \
                    and all(isinstance(v, nn.Module) for v in value):
                default = ("this only holds the layers and has no forward() that applies them: return "
                           "nn.Sequential(*layers), which calls them in order.")
        raise failure(name, "wrong type.", _type_names(types), describe(value), hint, default)



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


def check_shape(value, expected_shape: tuple, name: str, hint: str | None = None) -> None:
    """Check the shape of a tensor or NumPy array; ``None`` in ``expected_shape`` matches any size.

    A typical failure, as the student reads it:

    >>> check_shape(torch.zeros(10, 64), (64, 10), "y_hat")
    Traceback (most recent call last):
    ...
    AssertionError: y_hat: wrong shape.
      expected: (64, 10)
      got:      (10, 64), a tensor of dtype torch.float32
      hint: did you swap the dimensions? (a transpose, or a reshape/view in the wrong order)
    """
    __tracebackhide__ = True   # IPython and pytest show the caller's line, not this one
    with at_caller():
        check_name("check_shape", name)
        check_hint("check_shape", hint)
        expected = _validate_shape("check_shape", expected_shape)
        plain(value, name, hint, want="a plain tensor or NumPy array")
        if not (is_tensor(value) or is_array(value)):
            default = kind_hint(value)
            if default is None and isinstance(value, (numbers.Number, np.generic)):
                default = "this is a plain number, not a tensor: did you call .item() or float()? Keep the tensor."
            elif default is None and isinstance(value, (list, tuple)):
                default = "this is a Python list, not a tensor: convert it with torch.tensor(...)."
            raise failure(name, "expected a tensor (or NumPy array) with a shape.",
                          f"shape {shape_str(expected)}", describe(value), hint, default)
        got = tuple(int(s) for s in shape_of(value))
        if len(got) == len(expected) and all(e is None or e == g for g, e in zip(got, expected)):
            return
        dtype = dtype_of(value)
        kind = "tensor" if is_tensor(value) else "NumPy array"
        raise failure(name, "wrong shape.", shape_str(expected), f"{shape_str(got)}, a {kind} of dtype {dtype}",
                      hint, shape_hint(got, expected))


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
    """Check the dtype of a tensor (``expected_dtype`` a torch dtype) or array (a NumPy dtype).

    A typical failure, as the student reads it:

    >>> check_dtype(torch.tensor([0.5, 1.5], dtype=torch.float64), torch.float32, "X")
    Traceback (most recent call last):
    ...
    AssertionError: X: wrong dtype.
      expected: torch.float32
      got:      torch.float64 (a tensor of shape (2,), dtype torch.float64: [0.5, 1.5])
      hint: NumPy arrays are float64 and torch.from_numpy keeps that, while torch defaults to float32: use .float() or dtype=torch.float32.
    """
    __tracebackhide__ = True   # IPython and pytest show the caller's line, not this one
    with at_caller():
        check_name("check_dtype", name)
        check_hint("check_dtype", hint)
        family, expected = _validate_dtype(expected_dtype)
        plain(value, name, hint, want="a plain tensor or NumPy array")
        if family == "torch" and not is_tensor(value):
            default = kind_hint(value)
            if default is None and is_array(value):
                default = "this is a NumPy array: convert it with torch.from_numpy(...) or torch.tensor(...)."
            elif default is None and isinstance(value, (numbers.Number, np.generic)):
                default = "this is a plain number, not a tensor: did you call .item() or float()? Keep the tensor."
            elif default is None and isinstance(value, (list, tuple)):
                default = "convert it with torch.tensor(...)."
            raise failure(name, "expected a tensor.", f"a tensor of dtype {expected}", describe(value), hint, default)
        if family == "numpy":
            if isinstance(value, np.generic) or is_array(value):
                got = dtype_of(value)
            else:
                default = kind_hint(value)
                if default is None and is_tensor(value):
                    default = "this is a tensor: use .detach().cpu().numpy() to get a NumPy array."
                elif default is None and isinstance(value, (numbers.Number, list, tuple)):
                    default = "convert it with np.asarray(...)."
                raise failure(name, "expected a NumPy array.", f"a NumPy array of dtype {expected}",
                              describe(value), hint, default)
        else:
            got = dtype_of(value)
        if got == expected:
            return
        raise failure(name, "wrong dtype.", str(expected), f"{got} ({describe(value)})", hint,
                      _dtype_hint(got, expected))
