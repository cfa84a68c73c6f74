"""Checks of the parts of a value and the decoders of plain values (values.py: the format)."""
from __future__ import annotations

import datetime
import decimal
import math
import re

from ._lazy import np, pd, torch
from .names import (_NUMPY_KINDS, _NUMPY_TEXT_KINDS, _PD_FREQ, _PD_ITEM_TAGS, _PD_LABEL_TAGS, _pd_dtypes,
                    _torch_dtypes)
from .wire import MAX_ITEMS, MAX_TEXT, ProtocolError

_COMPOUND = {"L", "T", "SET", "FS", "D", "TEN", "ND", "MOD", "OPT", "DL", "TDS", "SUB", "NT", "NDS", "PDS", "PDF",
             "PDI", "PRI"}


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


def _np_dtype(text, kinds=_NUMPY_KINDS):
    """A NumPy dtype of one of ``kinds`` (numeric, or ``+ _NUMPY_TEXT_KINDS``: fixed-width str or bytes)."""
    try:
        dt = np.dtype(text) if isinstance(text, str) and len(text) < 12 else None
    except (TypeError, ValueError):
        dt = None
    if dt is None or dt.kind not in kinds or dt.fields is not None or dt.subdtype is not None or not dt.itemsize \
            or dt.str != text:
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


def _ints(v, n):
    """The ``n`` fields after the tag, each a plain int."""
    _arity(v, n + 1)
    if not all(type(x) is int for x in v[1:]):
        raise ProtocolError(f"a malformed {v[0]} value")
    return v[1:]


def _int(v):
    """An int given as a value of its own (``I`` or ``BI``)."""
    if isinstance(v, list) and v and v[0] == "I":
        return _simple_int(v)
    if isinstance(v, list) and v and v[0] == "BI":
        return _big_int(v)
    raise ProtocolError("a malformed int")


def _built(kind, *args, **kwargs):
    try:
        return kind(*args, **kwargs)
    except (ValueError, OverflowError, TypeError, ArithmeticError):
        raise ProtocolError(f"a malformed {kind.__name__}") from None


_DECIMAL_TEXT = re.compile(r"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?|inf(?:inity)?|s?nan\d*)", re.I | re.A)
_STRICT = decimal.Context(traps=[decimal.InvalidOperation])     # (a malformed text raises, whatever the context)


def _decimal(v):
    _arity(v, 2)
    text = v[1]
    if not isinstance(text, str) or len(text) > MAX_TEXT or not _DECIMAL_TEXT.fullmatch(text):
        raise ProtocolError("a malformed Decimal")
    return _built(decimal.Decimal, text, _STRICT)


def _fraction(v):
    import fractions
    _arity(v, 3)
    num, den = _int(v[1]), _int(v[2])
    if den <= 0 or math.gcd(num, den) != 1:
        raise ProtocolError("a malformed Fraction")
    return _built(fractions.Fraction, num, den)


def _range(v):
    _arity(v, 4)
    start, stop, step = _int(v[1]), _int(v[2]), _int(v[3])
    if step == 0:
        raise ProtocolError("a malformed range")
    return range(start, stop, step)


def _timedelta(v):
    days, seconds, micro = _ints(v, 3)
    if not (0 <= seconds < 86400 and 0 <= micro < 1_000_000):
        raise ProtocolError("a malformed timedelta")
    return _built(datetime.timedelta, days=days, seconds=seconds, microseconds=micro)


def _tz(v):
    _arity(v, 3)
    name = v[2]
    if not isinstance(name, list) or not (name == ["N"] or len(name) == 2 and name[0] == "S"
                                          and type(name[1]) is str and len(name[1]) <= 500):
        raise ProtocolError("a malformed timezone")
    if not (isinstance(v[1], list) and v[1] and v[1][0] == "TD"):
        raise ProtocolError("a malformed timezone")
    offset = _timedelta(v[1])
    return _built(datetime.timezone, offset) if name == ["N"] else _built(datetime.timezone, offset, name[1])


def _tzinfo(v):
    if v == ["N"]:
        return None
    if not (isinstance(v, list) and v and v[0] == "TZ"):
        raise ProtocolError("a malformed tzinfo")
    return _tz(v)


def _date(v):
    return _built(datetime.date, *_ints(v, 3))


def _datetime(v):
    _arity(v, 10)
    fields = _ints(v[:9], 8)
    if fields[-1] not in (0, 1):
        raise ProtocolError("a malformed datetime")
    return _built(datetime.datetime, *fields[:7], fold=fields[7], tzinfo=_tzinfo(v[9]))


def _time(v):
    _arity(v, 7)
    fields = _ints(v[:6], 5)
    if fields[-1] not in (0, 1):
        raise ProtocolError("a malformed time")
    return _built(datetime.time, *fields[:4], fold=fields[4], tzinfo=_tzinfo(v[6]))


def _np_text(kind, make):
    def decode(v):
        _arity(v, 2)
        if type(v[1]) is not kind:
            raise ProtocolError(f"a malformed NumPy {kind.__name__} scalar")
        return make()(v[1])
    return decode


_SIMPLE = {"N": lambda v: _arity(v, 1), "B": _typed(bool), "I": _simple_int, "BI": _big_int, "F": _float,
           "C": _complex, "S": _typed(str), "Y": _typed(bytes), "EL": lambda v: (_arity(v, 1), Ellipsis)[1],
           "NI": lambda v: (_arity(v, 1), NotImplemented)[1],
           "DT": _dtype, "DEV": _device, "SZ": _size,
           "NS": _np_scalar, "NDT": lambda v: (_arity(v, 2), _np_dtype(v[1], _NUMPY_KINDS + _NUMPY_TEXT_KINDS))[1],
           "DEC": _decimal, "FR": _fraction, "RG": _range, "TD": _timedelta, "TZ": _tz, "DATE": _date,
           "DTM": _datetime, "TIME": _time, "NU": _np_text(str, lambda: np.str_),
           "NB": _np_text(bytes, lambda: np.bytes_)}


# -- pandas (encode._pandas): pandas imported only when one of its values arrives ---------------------------
def _pd_count(n):
    if type(n) is not int or not 0 <= n <= MAX_ITEMS:
        raise ProtocolError("a malformed pandas length")
    return n


def _pd_dtype(text):
    if not isinstance(text, str) or text not in _pd_dtypes():
        raise ProtocolError(f"pandas column dtype {text!r:.40} is not one that crosses as data")
    return np.dtype(text)


def _pd_label(v):
    if not (isinstance(v, list) and v and v[0] in _PD_LABEL_TAGS):
        raise ProtocolError("a malformed pandas name")
    return _SIMPLE[v[0]](v)


def _pd_items(items, n, tags):
    if not isinstance(items, list) or len(items) != n:
        raise ProtocolError("a pandas column of another length than its frame, series or index")
    out = np.empty(n, dtype=object)
    for i, v in enumerate(items):
        if not (isinstance(v, list) and v and v[0] in tags):
            raise ProtocolError("a malformed item of a pandas column")
        out[i] = _SIMPLE[v[0]](v)
    return out


def _pd_bytes(dt, raw, n):
    if not isinstance(raw, bytes) or len(raw) != n * dt.itemsize:
        raise ProtocolError("a pandas column whose bytes do not match its dtype and length")
    return np.frombuffer(raw, dtype=dt).copy()


def _pd_values(col, n, categories=True):
    """A column's ``n`` values (encode._pd_column): a NumPy array, or pandas's array of str or categories."""
    if not (isinstance(col, list) and col and isinstance(col[0], str)):
        raise ProtocolError("a malformed pandas column")
    kind = col[0]
    if kind == "A":
        _arity(col, 3)
        return _pd_bytes(_pd_dtype(col[1]), col[2], n)
    if kind == "O":
        _arity(col, 2)
        return _pd_items(col[1], n, _PD_ITEM_TAGS)
    if kind == "STR":
        _arity(col, 4)
        storage, nan = col[1], col[2]
        if storage not in ("python", "pyarrow") or type(nan) is not bool:
            raise ProtocolError("a malformed pandas column of str")
        items = _pd_items(col[3], n, ("S", "N"))
        return pd.array(items, dtype=pd.StringDtype(storage, na_value=np.nan if nan else pd.NA))
    if kind == "CAT" and categories:
        _arity(col, 5)
        _, ordered, cats, codes_dtype, raw = col
        if type(ordered) is not bool:
            raise ProtocolError("a malformed pandas column of categories")
        cats = _pd_index(cats, categories=False)
        dt = _pd_dtype(codes_dtype)
        if dt.kind != "i":
            raise ProtocolError("a malformed pandas column of categories")
        return pd.Categorical.from_codes(_pd_bytes(dt, raw, n), dtype=pd.CategoricalDtype(cats, ordered=ordered))
    raise ProtocolError(f"pandas column kind {kind!r:.20}")


def _pd_index(v, categories=True):
    """An index (encode._pd_index, without the memo index)."""
    if not (isinstance(v, list) and v and v[0] in ("PRI", "PDI")):
        raise ProtocolError("a malformed pandas index")
    _arity(v, 5)
    if v[0] == "PRI":
        start, stop, step = v[1:4]
        if not all(type(x) is int and -2**63 <= x < 2**63 for x in (start, stop, step)) or step == 0:
            raise ProtocolError("a malformed RangeIndex")
        return pd.RangeIndex(start, stop, step, name=_pd_label(v[4]))
    _, n, col, name, freq = v
    values = _pd_values(col, _pd_count(n), categories)
    name = _pd_label(name)
    if freq == ["N"]:
        return pd.Index(values, dtype=values.dtype, name=name, copy=False)
    if not (isinstance(freq, list) and len(freq) == 2 and freq[0] == "S" and isinstance(freq[1], str)
            and _PD_FREQ.fullmatch(freq[1]) and isinstance(values, np.ndarray) and values.dtype.kind in "Mm"):
        raise ProtocolError("a malformed pandas index freq")
    from pandas.tseries.frequencies import to_offset
    cls = pd.DatetimeIndex if values.dtype.kind == "M" else pd.TimedeltaIndex
    return cls(values, freq=to_offset(freq[1]), name=name)


def _pd_series(v):
    """``["PDS", length, column, index, name]`` (the memo index taken off)."""
    _arity(v, 5)
    n = _pd_count(v[1])
    values = _pd_values(v[2], n)
    index = _pd_index(v[3])
    if len(index) != n:
        raise ProtocolError("a pandas Series of another length than its index")
    return pd.Series(values, index=index, name=_pd_label(v[4]), dtype=values.dtype, copy=False)


def _pd_frame(v):
    """``["PDF", rows, [column, ...], columns (an index), index]`` (the memo index taken off)."""
    _arity(v, 5)
    rows, cols = _pd_count(v[1]), v[2]
    if not isinstance(cols, list) or len(cols) > MAX_ITEMS or len(cols) * rows > MAX_ITEMS:
        raise ProtocolError("a malformed pandas DataFrame")
    index, columns = _pd_index(v[4]), _pd_index(v[3])
    if len(index) != rows or len(columns) != len(cols):
        raise ProtocolError("a pandas DataFrame of another shape than its index and columns")
    data = {}
    for i, col in enumerate(cols):
        values = _pd_values(col, rows)
        data[i] = pd.Series(values, index=index, dtype=values.dtype, copy=False)
    df = pd.DataFrame(data, copy=False) if data else pd.DataFrame(index=index)
    df.columns = columns
    return df
