"""One place that turns what students pass (tensors on any device, arrays, lists) into NumPy
arrays and checks their shapes, with messages a student understands.

Used by ``utils.plotting``, ``utils.interactive`` and ``utils.checks``; every conversion goes
through ``.detach().cpu()``, so a tensor that requires grad or lives on a GPU is fine.
Errors are ``ValueError``s that name the argument (``name``) and say what was expected.
"""
from __future__ import annotations

import numpy as np
import torch

__all__ = ["to_numpy", "as_vector", "as_feature_column", "as_xy", "as_labels", "as_class_labels",
           "check_same_length"]

def to_numpy(values, name: str = "value", *, complex_ok: bool = False) -> np.ndarray:
    """A tensor (any device, with or without grad), ndarray, number or (nested) list as an ndarray.

    Floating tensors narrower than float32 (half, bfloat16, float8) become float32. Lists of tensors (e.g. losses whose ``.item()`` was
    forgotten) are stacked. ValueError for None, strings, dicts, ragged lists, 'meta' tensors,
    non-numeric arrays and, unless ``complex_ok``, complex numbers.
    """
    if values is None:
        raise ValueError(f"{name} is None; pass an array or a tensor.")
    if isinstance(values, torch.Tensor):
        t = values.detach()
        if t.device.type == "meta":
            raise ValueError(f"{name} is a tensor on the 'meta' device, which holds no values.")
        if t.is_complex():
            if not complex_ok:
                raise ValueError(f"{name} is a complex tensor; real numbers are needed here.")
            t = t.resolve_conj()
            if t.dtype == torch.complex32:  # NumPy has no complex half
                t = t.to(torch.complex64)
        elif t.is_floating_point() and t.dtype not in (torch.float32, torch.float64):
            t = t.float()  # half, bfloat16, float8: NumPy has none of them (or computes badly in them)
        return t.cpu().numpy()
    if isinstance(values, np.ndarray):
        arr = values
    elif isinstance(values, (str, bytes, dict, set)):
        raise ValueError(f"{name} is a {type(values).__name__}, not numbers; pass an array or a tensor.")
    elif isinstance(values, (list, tuple)) and any(isinstance(v, (torch.Tensor, np.ndarray, list, tuple))
                                                  for v in values):
        try:
            arr = np.array([to_numpy(v, name, complex_ok=complex_ok) for v in values])
        except ValueError as err:  # ragged rows
            raise ValueError(f"{name} could not be turned into an array: {err}") from None
    else:
        try:
            arr = np.asarray(values)
        except Exception as err:  # ragged lists and the like
            raise ValueError(f"{name} could not be turned into an array: {err}") from None
    if arr.dtype.kind not in ("biufc" if complex_ok else "biuf"):
        raise ValueError(f"{name} could not be turned into a numeric array (got {type(values).__name__}"
                         f"{' of ' + str(arr.dtype) if arr.dtype != object else ''}).")
    return arr


def as_vector(values, name: str = "value") -> np.ndarray:
    """One value per data point: shape (N,) or an (N, 1) column, as a float vector of length N."""
    arr = to_numpy(values, name)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(
            f"{name} should be one value per data point (shape (N,) or (N, 1)), "
            f"but it has shape {tuple(arr.shape)}."
        )
    return arr.astype(float)


def as_feature_column(X, name: str = "X") -> np.ndarray:
    """ONE input feature: shape (N,) or (N, 1), as a float vector of length N."""
    arr = to_numpy(X, name)
    if arr.ndim == 2 and arr.shape[1] != 1:
        raise ValueError(
            f"{name} has shape {tuple(arr.shape)}: this draws ONE input feature against the "
            f"target, so {name} must have shape (N,) or (N, 1)."
        )
    return as_vector(arr, name)


def as_xy(X, y, x_name: str = "X", y_name: str = "y") -> tuple[np.ndarray, np.ndarray]:
    """One input feature and one target per data point, as two float vectors of equal length."""
    x = as_feature_column(X, x_name)
    yv = as_vector(y, y_name)
    check_same_length(x, yv, x_name, y_name)
    return x, yv


def check_same_length(a, b, name_a: str, name_b: str) -> None:
    """ValueError unless ``a`` and ``b`` hold one entry per data point each."""
    if len(a) != len(b):
        raise ValueError(
            f"{name_a} and {name_b} must have one entry per data point, but {name_a} has "
            f"{len(a)} and {name_b} has {len(b)}."
        )


def as_labels(y, name: str = "y") -> np.ndarray:
    """Class labels 0, 1, 2, ... (floats such as 1.0 are fine) as an int vector."""
    arr = as_vector(y, name)
    if arr.size and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values; class labels must be 0, 1, 2, ...")
    as_int = np.rint(arr).astype(int)
    if not np.allclose(arr, as_int):
        raise ValueError(
            f"{name} should hold class labels 0, 1, 2, ... but it contains non-integer values "
            f"such as {arr[~np.isclose(arr, as_int)][0]!r}. Pass the labels, not probabilities."
        )
    if arr.size and as_int.min() < 0:
        raise ValueError(f"{name} should hold class labels 0, 1, 2, ... but it contains {as_int.min()}.")
    return as_int


def as_class_labels(values, name: str, n: int | None = None, per: str = "example") -> np.ndarray:
    """Class labels, or one row of logits/probabilities per example (its argmax is taken);
    with ``n``, there must be exactly ``n`` of them (one per ``per``: example, image, ...)."""
    arr = to_numpy(values, name)
    if arr.ndim == 2 and arr.shape[1] > 1:
        arr = arr.argmax(axis=1)
    labels = as_labels(arr, name)
    if n is not None and len(labels) != n:
        raise ValueError(f"There are {n} {per}s but {len(labels)} {name}; pass one per {per}.")
    return labels
