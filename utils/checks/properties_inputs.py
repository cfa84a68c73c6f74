"""Generated inputs for ``check_against_reference``: Hypothesis strategies of tensors and arrays whose
shapes, dtypes and value ranges shrink towards the simplest case (the smallest shape, the first dtype,
the first value range), so that a failure is reported on the smallest input that shows it.

Values come from a seeded ``torch.Generator`` (the seed is drawn too): cheap for any size, the same on
every machine, and plain tensors that cross to the student's kernel as data under the judge.

Hypothesis is imported when a strategy is made (hidden tests only; a student's ``utils`` needs none).
"""
from __future__ import annotations

import numpy as np
import torch

from ._format import describe, fmt_num, preview, shape_str

__all__ = ["tensors", "arrays", "Args", "FLOATS", "describe_input"]

FLOATS = (torch.float32, torch.float64)


def _st():
    from hypothesis import strategies
    return strategies


class Args:
    """Positional and keyword arguments of one generated call (a strategy may also yield a plain tuple).

    >>> Args(torch.ones(2), scale=2)
    Args(a tensor of shape (2,), dtype torch.float32: [1.0, 1.0], scale=the Python int 2)
    """

    __slots__ = ("args", "kwargs")

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs

    def __repr__(self) -> str:
        parts = [describe(a) for a in self.args] + [f"{k}={describe(v)}" for k, v in self.kwargs.items()]
        return f"Args({', '.join(parts)})"


def _as_strategy(value, what: str):
    st = _st()
    if isinstance(value, st.SearchStrategy):
        return value
    if isinstance(value, (tuple, list)) and what in ("dtype", "scale", "offset"):
        if not value:
            raise ValueError(f"tensors(): `{what}` must not be empty.")
        return st.sampled_from(list(value))
    return st.just(value)


def _shape(shape):
    st = _st()
    if isinstance(shape, st.SearchStrategy):
        return shape
    if not isinstance(shape, (tuple, list)):
        raise TypeError(f"tensors(): `shape` must be a tuple of sizes (ints or strategies), got {shape!r}.")
    parts = []
    for size in shape:
        if isinstance(size, st.SearchStrategy):
            parts.append(size)
        elif isinstance(size, int) and not isinstance(size, bool) and size >= 0:
            parts.append(st.just(size))
        else:
            raise TypeError(f"tensors(): every size in `shape` must be an int >= 0 or a strategy, got {size!r}.")
    return st.tuples(*parts)


def _values(shape, dtype, scale, offset, integer_valued, low, high, seed) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    if not dtype.is_floating_point:
        lo = 0 if low is None else int(low)
        hi = (lo + 10 if dtype != torch.uint8 else 256) if high is None else int(high)
        return torch.randint(lo, hi, shape, generator=gen, dtype=torch.int64).to(dtype)
    if low is not None and high is not None:
        t = torch.rand(shape, generator=gen, dtype=torch.float64) * (high - low) + low
    else:
        t = (torch.randn(shape, generator=gen, dtype=torch.float64) + offset) * scale
    if integer_valued:
        t = t.round()
    return t.to(dtype)


def tensors(shape, dtype=torch.float32, *, scale=1.0, offset=0.0, integer_valued=False, low=None, high=None):
    """A strategy of tensors of ``shape`` (sizes or strategies of sizes, e.g. ``(st.integers(1, 6), 3)``)
    and ``dtype`` (one, or a tuple to pick from: ``FLOATS``).

    Floats are normal with standard deviation ``scale`` (a number, or a tuple of scales to pick from,
    e.g. ``(1.0, 1e-3, 1e4)`` for extremes) around ``offset * scale`` (``offset``, a number or a tuple, is
    in standard deviations: ``offset=10.0`` puts the mean 10 spreads away from 0), or uniform in ``[low, high)``;
    ``integer_valued=True`` rounds them (targets that happen to be whole numbers); integer dtypes draw
    from ``[low, high)`` (default 0 to 9, uint8 0 to 255).

    The simplest float64 matrix it makes (what a failure shrinks towards):

    >>> from hypothesis import find, settings, strategies as st
    >>> find(tensors((st.integers(1, 3), 2), (torch.float32, torch.float64)), lambda t: t.dtype == torch.float64,
    ...      settings=settings(database=None, derandomize=True))
    tensor([[ 1.5410, -0.2934]], dtype=torch.float64)
    """
    st = _st()
    dtypes, scales, offsets = _as_strategy(dtype, "dtype"), _as_strategy(scale, "scale"), _as_strategy(offset, "offset")
    return st.builds(lambda s, d, k, o, seed: _values(tuple(s), d, k, o, integer_valued, low, high, seed),
                     _shape(shape), dtypes, scales, offsets, st.integers(0, 2 ** 16))


def arrays(shape, dtype=np.float64, **options):
    """``tensors(...)`` as NumPy arrays (``dtype`` a NumPy dtype or a tuple of them).

    >>> from hypothesis import find, settings, strategies as st
    >>> find(arrays((st.integers(1, 3),), np.uint8), lambda a: a.size > 1, settings=settings(database=None,
    ...      derandomize=True))
    array([..., ...], dtype=uint8)
    """
    st = _st()
    dtypes = dtype if isinstance(dtype, st.SearchStrategy) else \
        st.sampled_from(list(dtype)) if isinstance(dtype, (tuple, list)) else st.just(dtype)
    torch_dtypes = dtypes.map(lambda d: torch.from_numpy(np.zeros(0, dtype=d)).dtype)
    return tensors(shape, torch_dtypes, **options).map(lambda t: t.numpy())


def describe_input(value) -> str:
    """One line for a generated argument: kind, shape, dtype and its values (a few, with the range)."""
    if isinstance(value, torch.Tensor) or isinstance(value, np.ndarray):
        kind = "a tensor" if isinstance(value, torch.Tensor) else "a NumPy array"
        arr = value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else value
        text = f"{kind} of shape {shape_str(arr.shape)}, dtype {value.dtype}"
        if isinstance(value, torch.Tensor) and value.requires_grad:
            text += ", requires_grad=True"
        if arr.size == 0 or arr.dtype.kind not in "biuf":
            return text
        if arr.size <= 12:
            return f"{text}: " + _nested(arr)
        return (f"{text}: {preview(arr)}, values from {fmt_num(arr.min(), 4)} to {fmt_num(arr.max(), 4)}")
    return describe(value) if not isinstance(value, (int, float, str)) or isinstance(value, bool) else repr(value)


def _nested(arr: np.ndarray) -> str:
    if arr.ndim == 0:
        return fmt_num(arr.item(), 4)
    return "[" + ", ".join(_nested(a) for a in arr) + "]"
