"""Checks of the parts of a value and the decoders of plain values (values.py: the format)."""
from __future__ import annotations

import math

from ._lazy import np, torch
from .names import _NUMPY_KINDS, _torch_dtypes
from .wire import MAX_ITEMS, ProtocolError

_COMPOUND = {"L", "T", "SET", "FS", "D", "TEN", "ND", "MOD", "OPT", "DL", "TDS", "SUB"}


def _arity(v, n):
    if len(v) != n:
        raise ProtocolError(f"a {v[0]} value has {len(v)} fields, not {n}")


def _pairs(items, n):
    if not isinstance(items, list) or len(items) > MAX_ITEMS or \
            not all(isinstance(p, list) and len(p) == n and isinstance(p[0], (str, list)) for p in items):
        raise ProtocolError("a malformed list of pairs")
    return items


def _shape(shape):
    if not isinstance(shape, list) or len(shape) > 32 or not all(type(s) is int and s >= 0 for s in shape) \
            or math.prod(shape) > MAX_ITEMS:
        raise ProtocolError(f"a malformed shape {shape!r:.80}")
    return shape


def _strided(t: torch.Tensor, stride) -> torch.Tensor:
    """``t`` laid out with the sender's strides (a transposed tensor stays one: ``.view`` fails on it
    here as it did there), where they describe a layout without overlaps within the caps."""
    if not isinstance(stride, list) or len(stride) != t.dim() or not all(type(s) is int and s >= 0 for s in stride):
        raise ProtocolError("a malformed stride")
    if tuple(stride) == t.stride() or t.numel() <= 1:
        return t
    span = 1 + sum((n - 1) * s for n, s in zip(t.shape, stride))
    if span > MAX_ITEMS or span < t.numel():
        return t                      # expanded or overlapping views cross as plain copies
    out = torch.empty_strided(tuple(t.shape), tuple(stride), dtype=t.dtype)
    try:
        out.copy_(t)
    except RuntimeError:
        return t
    return out


def _np_dtype(text):
    try:
        dt = np.dtype(text) if isinstance(text, str) and len(text) < 8 else None
    except (TypeError, ValueError):
        dt = None
    if dt is None or dt.kind not in _NUMPY_KINDS:
        raise ProtocolError(f"NumPy dtype {text!r:.40} is not a numeric one")
    return dt


def _hashable(items):
    for x in items:
        try:
            hash(x)
        except TypeError:
            raise ProtocolError("an unhashable key") from None
    return items


def _simple_int(v):
    _arity(v, 2)
    if type(v[1]) is not int:
        raise ProtocolError("a malformed int")
    return v[1]


def _big_int(v):
    _arity(v, 2)
    if not isinstance(v[1], str) or len(v[1]) > 5000:
        raise ProtocolError("a malformed int")
    try:
        return int(v[1])
    except ValueError:
        raise ProtocolError("a malformed int") from None


def _typed(kind):
    def make(v):
        _arity(v, 2)
        if type(v[1]) is not kind:
            raise ProtocolError(f"a malformed {kind.__name__}")
        return v[1]
    return make


def _float(v):
    _arity(v, 2)
    if type(v[1]) not in (float, int):
        raise ProtocolError("a malformed float")
    return float(v[1])


def _complex(v):
    _arity(v, 3)
    if type(v[1]) is not float or type(v[2]) is not float:
        raise ProtocolError("a malformed complex")
    return complex(v[1], v[2])


def _dtype(v):
    _arity(v, 2)
    if not isinstance(v[1], str) or v[1] not in _torch_dtypes():
        raise ProtocolError(f"torch dtype {v[1]!r:.40}")
    return _torch_dtypes()[v[1]]


def _device(v):
    _arity(v, 2)
    try:
        if not isinstance(v[1], str) or len(v[1]) >= 32:
            raise RuntimeError("not a device name")
        return torch.device(v[1])
    except RuntimeError:
        raise ProtocolError(f"device {v[1]!r:.40}") from None


def _size(v):
    _arity(v, 2)
    return torch.Size(_shape(v[1]) if isinstance(v[1], list) and all(type(s) is int for s in v[1]) else _shape(None))


def _np_scalar(v):
    _arity(v, 3)
    dt = _np_dtype(v[1])
    if not isinstance(v[2], bytes) or len(v[2]) != dt.itemsize:
        raise ProtocolError("a malformed NumPy scalar")
    return np.frombuffer(v[2], dtype=dt)[0]


_SIMPLE = {"N": lambda v: _arity(v, 1), "B": _typed(bool), "I": _simple_int, "BI": _big_int, "F": _float,
           "C": _complex, "S": _typed(str), "Y": _typed(bytes), "EL": lambda v: (_arity(v, 1), Ellipsis)[1],
           "NI": lambda v: (_arity(v, 1), NotImplemented)[1],
           "DT": _dtype, "DEV": _device, "SZ": _size, "NDT": lambda v: (_arity(v, 2), _np_dtype(v[1]))[1],
           "NS": _np_scalar}
