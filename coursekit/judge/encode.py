"""The sending side of values as data (the format: values.py)."""
from __future__ import annotations

import datetime
import decimal
import fractions
import hashlib
import math

from ._lazy import has_numpy, has_pandas, has_torch, is_array, is_module, is_optimizer, is_tensor, nn, np, pd, torch
from .names import (_MODULE_INTERNALS, _NUMPY_KINDS, _NUMPY_TEXT_KINDS, _PD_FREQ, INSTRUMENTS, NotData, _pd_dtypes,
                    _torch_dtypes, by_name, module_class, namedtuple_class, tensor_class)
from .wire import MAX_DEPTH, MAX_ITEMS, MAX_TEXT

BIG_INT_TEXT = 4300         # digits: a larger int crosses as a handle (Python's own cap on int <-> str)
NAMEDTUPLE_TEXT = 500       # a namedtuple's type name, module, qualified name, each field name


DIGEST_MAX = 1_000_000      # elements: a larger tensor's values are not digested (changed through .data: not seen)


def fingerprint(obj) -> tuple:
    """What a test cell (or code on the other side) may change in a module or parameter that crossed: the
    identity of its parameters, children and plain attributes, its buffers (which cross as plain tensors,
    with their module), its mode; a tensor's version, storage, shape, dtype, gradient and values (a digest:
    ``p.data.fill_()``, ``p.data -= lr * g`` move nothing else)."""
    if is_module(obj):
        return (obj.training, tuple((k, id(v)) for k, v in vars(obj).items() if k not in _MODULE_INTERNALS),
                tuple((k, id(v)) for k, v in obj._parameters.items()),
                tuple((k, id(v), v is not None and fingerprint(v)) for k, v in obj._buffers.items()),
                tuple((k, id(v)) for k, v in obj._modules.items()))
    g = obj.grad
    real = obj.device.type != "meta" and obj.layout == torch.strided
    return (obj._version, obj.data_ptr() if real else 0, tuple(obj.shape), obj.dtype,
            obj.requires_grad, id(g), g._version if g is not None else None,
            _digest(obj) if real and obj.numel() <= DIGEST_MAX else None)


def _digest(t) -> bytes:
    t = t.detach()
    raw = None
    if t.device.type == "cpu" and t.is_contiguous() and not (t.is_conj() or t.is_neg()):
        try:
            raw = t.numpy()                  # (the tensor's own bytes; a 0-d, bool or int tensor as well)
        except TypeError:                    # a dtype NumPy has not (bfloat16, ...)
            pass
    if raw is None:
        raw = t.resolve_conj().resolve_neg().reshape(-1).contiguous().view(torch.uint8).cpu().numpy()
    return hashlib.blake2b(raw, digest_size=16).digest()


class Encoder:
    """One message's values. ``handle(obj)`` gives out a handle id for an object that is not data;
    ``known`` maps id(obj) to the peer's own memo index (objects the peer sent in its request)."""

    def __init__(self, handle, known: dict | None = None, by_value_modules: bool = True, origins=None,
                 theirs: dict | None = None):
        self.handle = handle
        self.known = known or {}
        self.origins = origins        # (id -> origin, objects kept alive) of the sending peer, or None
        self.theirs = theirs          # the judge's session: the student's origins -> what was rebuilt here
        self._theirs_ids: dict | None = None
        self.memo: dict[int, int] = {}
        self.objects: list = []           # index -> object (kept alive; the peer's ARG refers to these)
        self.by_value_modules = by_value_modules

    def __call__(self, value, depth: int = 0):
        if depth > MAX_DEPTH:
            raise NotData(f"nested more than {MAX_DEPTH} levels")
        try:
            plain = self._plain(value, depth)
        except NotData:              # (a value of a plain type that cannot cross as data: a handle, as any other)
            plain = None
        if plain is not None:
            return plain
        key = id(value)
        if key in self.known:
            return ["ARG", self.known[key]]
        if key in self.memo:
            return ["REF", self.memo[key]]
        named = by_name(value) if callable(value) or isinstance(value, type(math)) else None
        if named is not None:
            return named
        index = len(self.objects)
        self.memo[key] = index
        self.objects.append(value)
        try:
            return [*self._compound(value, depth), index]
        except NotData:
            self.objects[index] = value
            return ["H", self.handle(value), _info(value), index]

    def _plain(self, value, depth):
        """The value of an immutable type that crosses as data (no memo: nothing refers to it), None for
        any other value; NotData where it cannot cross as data."""
        if value is None:
            return ["N"]
        if isinstance(value, bool):
            return ["B", value]
        if type(value) is int or isinstance(value, int) and type(value).__module__ == "builtins":
            return _int(value)
        if type(value) is float:
            return ["F", value]
        if type(value) is complex:
            return ["C", value.real, value.imag]
        if type(value) is str:
            return ["S", value]
        if type(value) is bytes:
            return ["Y", value]
        if value is Ellipsis:
            return ["EL"]
        if value is NotImplemented:         # (a special method's answer: the caller's operator tries the other side)
            return ["NI"]
        if type(value) is slice:
            return ["SL", self(value.start, depth + 1), self(value.stop, depth + 1), self(value.step, depth + 1)]
        t = type(value)
        if t is range:
            return ["RG", _int(value.start), _int(value.stop), _int(value.step)]
        if t is decimal.Decimal:
            text = str(value)                  # (exact; only the case of its exponent mark depends on a context)
            if len(text) > MAX_TEXT:
                raise NotData("a Decimal of too many digits")
            return ["DEC", text]
        if t is fractions.Fraction:
            return ["FR", _int(value.numerator), _int(value.denominator)]
        if t is datetime.timedelta:
            return _timedelta(value)
        if t is datetime.date:
            return ["DATE", value.year, value.month, value.day]
        if t is datetime.datetime:
            return ["DTM", value.year, value.month, value.day, value.hour, value.minute, value.second,
                    value.microsecond, value.fold, _tz(value.tzinfo)]
        if t is datetime.time:
            return ["TIME", value.hour, value.minute, value.second, value.microsecond, value.fold, _tz(value.tzinfo)]
        if t is datetime.timezone:
            return _tz(value)
        T, N = has_torch(), has_numpy()     # (objects of a library never imported here cannot exist)
        if T and isinstance(value, torch.dtype):
            return ["DT", str(value).removeprefix("torch.")]
        if T and isinstance(value, torch.device):
            return ["DEV", str(value)]
        if T and type(value) is torch.Size:
            return ["SZ", [int(s) for s in value]]
        if N and isinstance(value, np.dtype):
            if value.kind not in _NUMPY_KINDS + _NUMPY_TEXT_KINDS or value.fields is not None \
                    or value.subdtype is not None or not value.itemsize:
                raise NotData(f"NumPy dtype {value}")
            return ["NDT", value.str]
        if N and isinstance(value, np.generic) and type(value).__module__ == "numpy":
            if t is np.str_:
                return ["NU", str.__str__(value)]     # (its str() drops trailing NULs)
            if t is np.bytes_:
                return ["NB", bytes(value)]
            if value.dtype.kind not in _NUMPY_KINDS:
                raise NotData(f"NumPy scalar of dtype {value.dtype}")
            return ["NS", value.dtype.str, value.tobytes()]
        return None

    def _compound(self, value, depth):
        t = type(value)
        if t in (list, tuple, set, frozenset):
            if len(value) > MAX_ITEMS:
                raise NotData("too many items")
            tag = {list: "L", tuple: "T", set: "SET", frozenset: "FS"}[t]
            return [tag, [self(v, depth + 1) for v in value]]
        if t is dict:
            if len(value) > MAX_ITEMS:
                raise NotData("too many items")
            return ["D", [[self(k, depth + 1), self(v, depth + 1)] for k, v in value.items()]]
        if is_tensor(value):
            return self._tensor(value)
        if t is not tuple and isinstance(value, tuple) and namedtuple_class(t):
            names = [t.__name__, *t._fields, t.__module__, t.__qualname__]
            if len(value) != len(t._fields) or not all(type(n) is str and len(n) <= NAMEDTUPLE_TEXT for n in names):
                raise NotData(f"a namedtuple of class {t.__name__}")
            return ["NT", t.__name__, list(t._fields), t.__module__, t.__qualname__,
                    [self(v, depth + 1) for v in value]]
        if is_array(value) and type(value) is np.ndarray and value.dtype.fields is not None:
            if value.size > MAX_ITEMS:
                raise NotData("too many items")
            return ["NDS", _np_struct(value.dtype), list(value.shape), np.ascontiguousarray(value).tobytes()]
        if is_array(value) and type(value) is np.ndarray:
            dt = value.dtype
            if dt.kind not in _NUMPY_KINDS + _NUMPY_TEXT_KINDS or dt.fields is not None or not dt.itemsize \
                    or value.size > MAX_ITEMS:
                raise NotData(f"a NumPy array of dtype {value.dtype}")
            return ["ND", value.dtype.str, list(value.shape), np.ascontiguousarray(value).tobytes()]
        if has_pandas() and isinstance(t.__module__, str) and t.__module__.partition(".")[0] == "pandas":
            return _pandas(value)
        if not has_torch():
            raise NotData(type(value).__name__)
        if is_module(value) and self.by_value_modules:
            return self._module(value, depth)
        if is_optimizer(value):
            return self._optimizer(value, depth)
        if type(value) is torch.utils.data.DataLoader:
            return self._loader(value, depth)
        if type(value) is torch.utils.data.TensorDataset:
            return ["TDS", [self(t, depth + 1) for t in value.tensors]]
        if type(value) is torch.utils.data.Subset:
            return ["SUB", self(value.dataset, depth + 1), self(list(value.indices), depth + 1)]
        raise NotData(type(value).__name__)

    def _tensor(self, t: torch.Tensor):
        kind = "P" if type(t) is nn.Parameter else "" if type(t) is torch.Tensor else tensor_class(type(t))
        if kind is None or t.layout != torch.strided or t.is_quantized:
            raise NotData(f"a tensor of type {type(t).__name__}")
        name = str(t.dtype).removeprefix("torch.")
        if name not in _torch_dtypes() or t.numel() > MAX_ITEMS:
            raise NotData(f"a tensor of dtype {t.dtype}")
        data = t.detach()
        if data.device.type == "meta":
            raw = b""
        else:
            data = data.cpu().contiguous()
            raw = (data.view(torch.int16) if t.dtype == torch.bfloat16 else data).numpy().tobytes()
        grad = t.grad if t.is_leaf and t.grad is not None else None
        return ["TEN", name, list(t.shape), raw, bool(t.requires_grad), str(t.device),
                self(grad) if grad is not None else ["N"], kind, list(t.stride()), self._origin(t) if kind == "P" else -1]

    def _module(self, m: nn.Module, depth):
        name = module_class(type(m))
        if name is None or any(getattr(m, h, None) for h in ("_forward_hooks", "_forward_pre_hooks",
                                                              "_backward_hooks", "_backward_pre_hooks")):
            raise NotData(f"a module of class {type(m).__name__}")
        attrs = []
        for key, val in vars(m).items():
            if key in _MODULE_INTERNALS or key.startswith("__"):
                continue
            attrs.append([key, self(val, depth + 1)])
        return ["MOD", name, bool(m.training), attrs,
                [[k, self(p, depth + 1)] for k, p in m._parameters.items()],
                [[k, self(b, depth + 1), k in m._non_persistent_buffers_set] for k, b in m._buffers.items()],
                [[k, self(c, depth + 1)] for k, c in m._modules.items()], self._origin(m)]

    def _origin(self, obj) -> int:
        """The same number every time this side sends the same module or parameter, so that the receiver
        gives back the same object (a layer shared between two calls is one object there too). An object
        the judge rebuilt from the student's (``theirs``) goes back as the student's own: ``-2 - 2k`` (k its
        origin there) where a test cell changed it since it crossed (the student's kernel takes this state:
        ``layer.weight = ...`` on a student's model is made there too, as in one shared kernel), else
        ``-3 - 2k`` (the student's object as it is there; see state.dirty)."""
        if self.theirs is not None:
            if self._theirs_ids is None:
                self._theirs_ids = {id(v): k for k, v in self.theirs.items() if type(k) is int and k >= 0}
            k = self._theirs_ids.get(id(obj))
            if k is not None and self.theirs.get(k) is obj:
                now = fingerprint(obj)
                changed = self.theirs.get(~k) != now
                self.theirs[~k] = now              # the student's object will be in this state
                return -2 - 2 * k if changed else -3 - 2 * k
        if self.origins is None:
            return -1
        ids, kept = self.origins
        if id(obj) not in ids:
            ids[id(obj)] = len(kept)
            kept.append(obj)
        n = ids[id(obj)]
        ids[~n] = fingerprint(obj)          # the state the other side has of it now (state.resync_values)
        return n

    def _optimizer(self, opt, depth):
        cls = type(opt)
        if getattr(torch.optim, cls.__name__, None) is not cls:
            raise NotData(f"an optimizer of class {cls.__name__}")
        defaults = self(dict(opt.defaults), depth + 1)      # encoded in the order they are decoded
        groups = [[[self(p, depth + 1) for p in g["params"]],
                   self({k: v for k, v in g.items() if k != "params"}, depth + 1)] for g in opt.param_groups]
        state = [[self(p, depth + 1), self(dict(s), depth + 1)] for p, s in opt.state.items()]
        return ["OPT", cls.__name__, defaults, groups, state]

    def _loader(self, dl, depth):
        from torch.utils.data import RandomSampler, SequentialSampler
        from torch.utils.data._utils.collate import default_collate
        sampler = type(dl.sampler)
        collate = dl.collate_fn
        named = by_name(collate) if collate is not default_collate else ["N"]
        if dl.num_workers or named is None or (named[0] == "FN" and named[1] != INSTRUMENTS) \
                or sampler not in (RandomSampler, SequentialSampler) \
                or dl.batch_size is None or getattr(dl.sampler, "generator", None) is not None:
            raise NotData("a DataLoader with its own sampler, collate function or workers")
        return ["DL", self(dl.dataset, depth + 1), int(dl.batch_size), sampler is RandomSampler, bool(dl.drop_last),
                named]


def _int(n: int) -> list:
    n = int(n)
    if -2**63 <= n < 2**63:
        return ["I", n]
    if n.bit_length() > BIG_INT_TEXT * 3.32:
        raise NotData("an int of too many digits")
    try:
        return ["BI", str(n)]
    except ValueError:                     # (over Python's cap on the digits of an int's text)
        raise NotData("an int of too many digits") from None


def _pandas(value) -> list:
    """A pandas Series, DataFrame or Index as data (values.py: ``PDS``, ``PDF``, ``PDI``, ``PRI``); NotData for any
    other object of pandas's, or one of a dtype, index, name or metadata that does not cross as data."""
    t = type(value)
    if t is pd.Series or t is pd.DataFrame:
        if value.attrs or not value.flags.allows_duplicate_labels:
            raise NotData(f"a pandas {t.__name__} with attrs or flags")
    if t is pd.Series:
        return ["PDS", len(value), _pd_column(value), _pd_index(value.index), _pd_label(value.name)]
    if t is pd.DataFrame:
        rows, ncols = value.shape
        if ncols > MAX_ITEMS or rows * ncols > MAX_ITEMS:
            raise NotData("too many items")
        index, columns = _pd_index(value.index), _pd_index(value.columns)
        return ["PDF", rows, [_pd_column(value.iloc[:, i]) for i in range(ncols)], columns, index]
    return _pd_index(value)


def _pd_index(idx) -> list:
    """``["PRI", start, stop, step, name]`` a RangeIndex; ``["PDI", length, column, name, freq]`` an Index (a
    DatetimeIndex, TimedeltaIndex, CategoricalIndex by its dtype; freq ``N`` or ``["S", its text]``)."""
    t = type(idx)
    if t is pd.RangeIndex:
        return ["PRI", _i64(idx.start), _i64(idx.stop), _i64(idx.step), _pd_label(idx.name)]
    if t not in (pd.Index, pd.DatetimeIndex, pd.TimedeltaIndex, pd.CategoricalIndex):
        raise NotData(f"a pandas index of class {t.__name__}")
    freq = ["N"]
    if t in (pd.DatetimeIndex, pd.TimedeltaIndex) and idx.freq is not None:
        text = idx.freqstr
        from pandas.tseries.frequencies import to_offset
        if type(text) is not str or not _PD_FREQ.fullmatch(text) or to_offset(text) != idx.freq:
            raise NotData(f"a pandas index of freq {text!r:.40}")
        freq = ["S", text]
    return ["PDI", len(idx), _pd_column(idx), _pd_label(idx.name), freq]


def _pd_column(obj) -> list:
    """A Series' or Index's values: ``["A", NumPy dtype, bytes]`` (numbers, bools, datetimes, timedeltas),
    ``["O", items]`` (objects: each None, bool, int, float or str), ``["STR", storage, NaN for missing?, items]``
    (pandas's str dtype: each str or None for missing), ``["CAT", ordered, categories (an index), codes' dtype,
    codes' bytes]``."""
    n = len(obj)
    if n > MAX_ITEMS:
        raise NotData("too many items")
    dt = obj.dtype
    if isinstance(dt, np.dtype):
        if dt.str in _pd_dtypes():
            a = obj.to_numpy()
            if type(a) is not np.ndarray or a.dtype != dt or a.shape != (n,):
                raise NotData(f"a pandas column of dtype {dt}")
            return ["A", dt.str, np.ascontiguousarray(a).tobytes()]
        if dt.kind == "O":
            return ["O", [_pd_item(x) for x in obj.to_numpy()]]
        raise NotData(f"a pandas column of dtype {dt}")
    if type(dt) is pd.StringDtype and dt.storage in ("python", "pyarrow"):
        nan = dt.na_value is not pd.NA
        items = []
        for x in obj.to_numpy(dtype=object, na_value=None):
            if type(x) is str and len(x) <= MAX_TEXT:
                items.append(["S", x])
            elif x is None:
                items.append(["N"])
            else:
                raise NotData("a pandas column of str with another object")
        return ["STR", dt.storage, nan, items]
    if type(dt) is pd.CategoricalDtype and dt.categories is not None:
        codes = np.asarray(obj.array.codes)
        if codes.dtype.kind != "i" or codes.dtype.str not in _pd_dtypes() or codes.shape != (n,):
            raise NotData("a pandas column of categories")
        return ["CAT", bool(dt.ordered), _pd_index(dt.categories), codes.dtype.str, codes.tobytes()]
    raise NotData(f"a pandas column of dtype {dt}")


def _pd_item(x) -> list:
    t = type(x)
    if x is None:
        return ["N"]
    if t is bool:
        return ["B", x]
    if t is int and -2**63 <= x < 2**63:
        return ["I", x]
    if t is float:
        return ["F", x]
    if t is str and len(x) <= MAX_TEXT:
        return ["S", x]
    raise NotData(f"a pandas column of objects holding a {t.__name__}")


def _pd_label(x) -> list:
    """A Series' or index's name: an item of a column of objects, or a NumPy number."""
    if has_numpy() and isinstance(x, np.generic) and type(x).__module__ == "numpy" and x.dtype.kind in "biuf":
        return ["NS", x.dtype.str, x.tobytes()]
    return _pd_item(x)


def _i64(n) -> int:
    if type(n) is not int or not -2**63 <= n < 2**63:
        raise NotData("a RangeIndex beyond 64 bits")
    return n


def _np_struct(dt, depth: int = 0) -> list:
    """A structured NumPy dtype: [[name, format, subarray shape, offset] per field, itemsize, aligned?], a
    format a dtype's text (numeric, str, bytes) or a structure of its own; NotData for titles, objects,
    datetimes and the like."""
    if depth > 8 or len(dt.names) > 1000:
        raise NotData("a structured dtype too deep or wide")
    fields = []
    for name in dt.names:
        info = dt.fields[name]
        if len(info) != 2 or type(name) is not str:
            raise NotData("a structured dtype with titles")
        f, offset = info
        base, shape = f.subdtype if f.subdtype is not None else (f, ())
        if base.fields is not None:
            fmt = _np_struct(base, depth + 1)
        elif base.kind in _NUMPY_KINDS + _NUMPY_TEXT_KINDS and base.itemsize and base.subdtype is None:
            fmt = base.str
        else:
            raise NotData(f"a structured dtype with a field of dtype {base}")
        fields.append([name, fmt, [int(n) for n in shape], int(offset)])
    return [fields, int(dt.itemsize), bool(dt.isalignedstruct)]


def _timedelta(td) -> list:
    return ["TD", td.days, td.seconds, td.microseconds]


def _tz(tz) -> list:
    """A datetime's or time's tzinfo: None or a fixed offset (``datetime.timezone``, its name if it was given
    one); any other tzinfo (zoneinfo, pytz, dateutil: rules, not data) makes the value a handle."""
    if tz is None:
        return ["N"]
    if type(tz) is not datetime.timezone:
        raise NotData(f"a tzinfo of class {type(tz).__name__}")
    args = tz.__getinitargs__()
    name = args[1] if len(args) > 1 else None
    if name is not None and (type(name) is not str or len(name) > NAMEDTUPLE_TEXT):
        raise NotData("a timezone's name")
    return ["TZ", _timedelta(args[0]), ["N"] if name is None else ["S", name]]


def _info(obj) -> list:
    """What a handle tells about its object: class name, kind, a name to show."""
    cls = type(obj)
    kind = "module" if is_module(obj) else "class" if isinstance(obj, type) else \
        "callable" if callable(obj) else "object"
    name = getattr(obj, "__name__", None)
    return [f"{cls.__module__}.{cls.__qualname__}"[:200], kind, name[:200] if isinstance(name, str) else ""]
