"""The receiving side of values as data (the format: values.py): every value checked before it is
rebuilt, nothing unpickled or evaluated."""
from __future__ import annotations

import collections
import keyword
import math

from ._lazy import nn, np, torch
from .decode_plain import (_COMPOUND, _SIMPLE, _arity, _hashable, _np_dtype, _pairs, _pd_frame, _pd_index, _pd_series,
                           _shape, _strided)
from .encode import fingerprint
from .names import (_MODULE_INTERNALS, _NUMPY_KINDS, _NUMPY_TEXT_KINDS, INSTRUMENTS, _resolve_module_class,
                    _resolve_name, _resolve_tensor_class, _torch_dtypes)
from .wire import MAX_DEPTH, MAX_ITEMS, ProtocolError


_NAMEDTUPLES: dict[tuple, type] = {}     # (module, qualname, typename, fields) -> the class made here for them
_NAMEDTUPLES_MAX = 4096
_NAME_MAX = 500


def _namedtuple_class(typename, fields, module, qualname) -> type:
    """A namedtuple class made on this side for the sender's (one per sender's class: two values of one class
    there are of one class here); its methods are namedtuple's own, nothing of the sender's."""
    if not all(isinstance(x, str) and len(x) <= _NAME_MAX for x in (typename, module, qualname)) \
            or not typename.isidentifier() or keyword.iskeyword(typename) \
            or not isinstance(fields, list) or len(fields) > 1000 or len(set(map(str, fields))) != len(fields) \
            or not all(isinstance(f, str) and len(f) <= _NAME_MAX and f.isidentifier() and not keyword.iskeyword(f)
                       and not f.startswith("_") for f in fields):
        raise ProtocolError("a malformed namedtuple class")
    key = (module, qualname, typename, tuple(fields))
    cls = _NAMEDTUPLES.get(key)
    if cls is None:
        cls = collections.namedtuple(typename, fields, module=module)
        cls.__qualname__ = qualname
        if len(_NAMEDTUPLES) < _NAMEDTUPLES_MAX:
            _NAMEDTUPLES[key] = cls
    return cls


def _own_namedtuple(module: str, qualname: str, fields: tuple):
    """The student's kernel's own namedtuple class ``module.qualname`` with these fields, if it has one (a value
    of the student's ``Point`` that crossed to the judge and back is a ``Point`` again: ``isinstance(p, Point)``);
    never used in the judge, which makes its own."""
    import sys
    from .names import namedtuple_class
    obj = sys.modules.get(module)
    for part in qualname.split("."):
        obj = vars(obj).get(part) if isinstance(obj, type) or type(obj).__name__ == "module" else None
    if isinstance(obj, type) and namedtuple_class(obj) and obj._fields == fields:
        return obj
    return None


def _np_struct(desc, depth: int = 0):
    """A structured dtype from its description (encode._np_struct), checked: fields of numeric, str or
    bytes dtypes or structures of their own, within the caps, nothing of objects."""
    if depth > 8 or not (isinstance(desc, list) and len(desc) == 3):
        raise ProtocolError("a malformed structured dtype")
    fields, itemsize, aligned = desc
    if not isinstance(fields, list) or not 0 < len(fields) <= 1000 or type(itemsize) is not int \
            or not 0 < itemsize <= 1 << 20 or type(aligned) is not bool:
        raise ProtocolError("a malformed structured dtype")
    names, formats, offsets = [], [], []
    for field in fields:
        if not (isinstance(field, list) and len(field) == 4):
            raise ProtocolError("a malformed structured dtype")
        name, fmt, shape, offset = field
        if not isinstance(name, str) or len(name) > _NAME_MAX or type(offset) is not int or offset < 0:
            raise ProtocolError("a malformed structured dtype")
        base = _np_struct(fmt, depth + 1) if isinstance(fmt, list) else _np_dtype(fmt, _NUMPY_KINDS + _NUMPY_TEXT_KINDS)
        shape = _shape(shape)
        names.append(name)
        formats.append((base, tuple(shape)) if shape else base)
        offsets.append(offset)
    try:
        dt = np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": itemsize,
                       "aligned": aligned})
    except (TypeError, ValueError):
        raise ProtocolError("a malformed structured dtype") from None
    if dt.hasobject or dt.itemsize != itemsize:
        raise ProtocolError("a malformed structured dtype")
    return dt


def _unicode(a) -> None:
    """A str array's (or field's: a subarray field reads as an array of its base dtype) characters are within
    Unicode's range (else reading one fails later)."""
    dt = a.dtype
    if dt.fields is not None:
        for name in dt.names:
            _unicode(a[name])
    elif dt.kind == "U" and a.size:
        flat = np.ascontiguousarray(a).reshape(-1).view(dt.str[0] + "u4")
        if int(flat.max()) > 0x10FFFF:
            raise ProtocolError("a NumPy array of str with characters out of Unicode's range")


def _as_it_is(origin) -> bool:
    """-3 - 2k: the receiver's own object k, not changed where it was sent from (keep it as it is)."""
    return origin <= -3 and origin % 2 == 1


class Decoder:
    """One message's values. ``proxy(id, info)`` makes a proxy for the peer's handle; ``own(id)`` is
    this side's object behind a handle it gave out; ``sent`` is the list of objects this side sent
    in the request being answered (for ``ARG``)."""

    def __init__(self, proxy, own, sent: list | None = None, session: dict | None = None, mine: list | None = None,
                 as_is: bool = False):
        self.proxy = proxy
        self.own = own
        self.sent = sent or []
        self.memo: dict[int, object] = {}
        self.session = session        # the peer's origin -> the object rebuilt for it (~origin -> its fingerprint)
        self.stale: set[int] = set()
        self.as_is = as_is            # this side's own objects come as they are, whatever the other side says
        self.mine = mine              # the student's kernel only: its own origins (encode.Encoder.origins), whose
        #                               objects come back as -2 - 2k / -3 - 2k, updated in place or as they are

    def __call__(self, v, depth: int = 0):
        if depth:
            return self._value(v, depth)
        try:
            return self._value(v, 0)
        except ProtocolError:
            raise
        except Exception as exc:     # anything else a malformed value makes a decoder raise
            raise ProtocolError(f"a malformed value ({type(exc).__name__}: {str(exc)[:200]})") from None

    def _value(self, v, depth: int):
        if depth > MAX_DEPTH:
            raise ProtocolError(f"a value nested more than {MAX_DEPTH} levels")
        if not isinstance(v, list) or not v or not isinstance(v[0], str):
            raise ProtocolError("a value must be a list starting with its tag")
        tag = v[0]
        simple = _SIMPLE.get(tag)
        if simple is not None:
            return simple(v)
        if tag == "SL":
            _arity(v, 4)
            return slice(self(v[1], depth + 1), self(v[2], depth + 1), self(v[3], depth + 1))
        if tag == "REF":
            _arity(v, 2)
            if not isinstance(v[1], int) or v[1] not in self.memo:
                raise ProtocolError("a reference to an object not sent before")
            return self.memo[v[1]]
        if tag == "ARG":
            _arity(v, 2)
            if not isinstance(v[1], int) or not 0 <= v[1] < len(self.sent):
                raise ProtocolError("a reference to an argument that was not sent")
            return self.sent[v[1]]
        if tag == "H":
            _arity(v, 4)
            hid, info, index = v[1], v[2], v[3]
            if not isinstance(hid, int) or not (isinstance(info, list) and len(info) == 3
                                                and all(isinstance(x, str) for x in info)):
                raise ProtocolError("a malformed handle")
            obj = self.own(-hid) if hid < 0 else self.proxy(hid, info)
            return self._keep(index, obj)
        if tag == "MODREF":
            _arity(v, 2)
            return _resolve_name(v[1], None)
        if tag == "FN":
            _arity(v, 3)
            if not isinstance(v[2], str):
                raise ProtocolError("a malformed name")
            return _resolve_name(v[1], v[2])
        maker = getattr(self, "_" + tag, None) if tag in _COMPOUND else None
        if maker is None:
            raise ProtocolError(f"unknown value tag {tag!r}")
        return maker(v, depth)

    def _keep(self, index, obj):
        if not isinstance(index, int) or index in self.memo or index < 0:
            raise ProtocolError("a malformed object index")
        self.memo[index] = obj
        return obj

    def _items(self, items, depth):
        if not isinstance(items, list) or len(items) > MAX_ITEMS:
            raise ProtocolError("a malformed container")
        return [self(x, depth + 1) for x in items]

    def _L(self, v, depth):
        _arity(v, 3)
        out = self._keep(v[2], [])
        out.extend(self._items(v[1], depth))
        return out

    def _T(self, v, depth):
        _arity(v, 3)
        return self._keep(v[2], tuple(self._items(v[1], depth)))

    def _NT(self, v, depth):
        _arity(v, 7)
        _, typename, fields, module, qualname, items, index = v
        cls = _namedtuple_class(typename, fields, module, qualname)
        if self.mine is not None:       # the student's kernel: its own class of that name where it has one
            cls = _own_namedtuple(module, qualname, tuple(fields)) or cls
        if not isinstance(items, list) or len(items) != len(fields):
            raise ProtocolError("a namedtuple of another number of items than its fields")
        return self._keep(index, cls._make(self._items(items, depth)))

    def _SET(self, v, depth):
        _arity(v, 3)
        return self._keep(v[2], set(_hashable(self._items(v[1], depth))))

    def _FS(self, v, depth):
        _arity(v, 3)
        return self._keep(v[2], frozenset(_hashable(self._items(v[1], depth))))

    def _D(self, v, depth):
        _arity(v, 3)
        out = self._keep(v[2], {})
        if not isinstance(v[1], list) or len(v[1]) > MAX_ITEMS:
            raise ProtocolError("a malformed dict")
        for pair in v[1]:
            if not isinstance(pair, list) or len(pair) != 2:
                raise ProtocolError("a malformed dict item")
            key = self(pair[0], depth + 1)
            _hashable([key])
            out[key] = self(pair[1], depth + 1)
        return out

    def _TEN(self, v, depth):
        _arity(v, 11)
        _, name, shape, raw, requires_grad, device, grad, param, stride, origin, index = v
        t = self.tensor(name, shape, raw, requires_grad, device, grad, param, depth, stride)
        old = self._seen(origin, nn.Parameter)
        if old is not None and (_as_it_is(origin) or self.as_is and origin <= -2):
            if old.shape != t.shape or old.dtype != t.dtype or old.requires_grad != t.requires_grad \
                    or not torch.equal(old.detach(), t.detach()):
                self.stale.add(index)      # newer here than there: sent back after the call (state.snapshots)
            t = old
        elif old is not None and (old.shape == t.shape and old.dtype == t.dtype or type(t) is nn.Parameter):
            with torch.no_grad():
                old.data = t.data          # (another shape or dtype too: `p.data = ...` keeps the parameter)
            old.requires_grad_(t.requires_grad)
            old.grad = t.grad
            t = old
        self._remember(origin, t)
        self._mark(origin, t, index)
        return self._keep(index, t)

    def _seen(self, origin, kind):
        if type(origin) is not int:
            raise ProtocolError("a malformed origin")
        if origin <= -2:          # one of this side's own objects, sent before (encode.Encoder._origin)
            n = (-2 - origin) // 2
            if self.mine is None or n >= len(self.mine[1]):
                raise ProtocolError("a reference to an object this side did not send")
            old = self.mine[1][n]
            return old if isinstance(old, kind) else None
        old = self.session.get(origin) if self.session is not None and origin >= 0 else None
        return old if isinstance(old, kind) else None

    def _remember(self, origin, obj):
        if self.session is not None and origin >= 0:
            if len(self.session) >= 200_000 and origin not in self.session:
                raise ProtocolError("too many objects")
            self.session[origin] = obj

    def _mark(self, origin, obj, index=None):
        """The state the other side's object has now: what a test cell changes after is sent back; and for
        this side's own objects, the state the other side now has of them (state.resync_values)."""
        if self.session is not None and origin >= 0:
            self.session[~origin] = fingerprint(obj)
        elif origin <= -2 and self.mine is not None and index not in self.stale:
            self.mine[0][~((-2 - origin) // 2)] = fingerprint(obj)

    def tensor(self, name, shape, raw, requires_grad, device, grad, param, depth, stride=None):
        dtype = _torch_dtypes().get(name) if isinstance(name, str) else None
        shape = _shape(shape)
        if dtype is None or not isinstance(raw, bytes) or not isinstance(requires_grad, bool) \
                or not isinstance(device, str) or not isinstance(param, str):
            raise ProtocolError("a malformed tensor")
        subclass = _resolve_tensor_class(param) if param not in ("", "P") else None
        if device.startswith("meta"):
            t = torch.empty(shape, dtype=dtype, device="meta")
        else:
            n = math.prod(shape)
            width = torch.empty((), dtype=dtype).element_size()
            if len(raw) != n * width:
                raise ProtocolError(f"a tensor of shape {tuple(shape)} and dtype {name} with {len(raw)} bytes")
            if dtype == torch.bfloat16:
                t = torch.frombuffer(bytearray(raw), dtype=torch.int16).view(torch.bfloat16) if n else \
                    torch.empty(0, dtype=dtype)
            else:
                t = torch.frombuffer(bytearray(raw), dtype=dtype) if n else torch.empty(0, dtype=dtype)
            t = t.reshape(shape)
            t = _strided(t, stride)
        if requires_grad and not (dtype.is_floating_point or dtype.is_complex):
            raise ProtocolError("an integer tensor that requires grad")
        t = nn.Parameter(t, requires_grad=requires_grad) if param == "P" else t.requires_grad_(requires_grad)
        if subclass is not None:
            t = t.as_subclass(subclass)
        g = self(grad, depth + 1)
        if g is not None:
            if not isinstance(g, torch.Tensor) or g.shape != t.shape:
                raise ProtocolError("a gradient of another shape than its tensor")
            t.grad = g
        return t

    def _ND(self, v, depth):
        _arity(v, 5)
        return self._array(_np_dtype(v[1], _NUMPY_KINDS + _NUMPY_TEXT_KINDS), v)

    def _NDS(self, v, depth):
        _arity(v, 5)
        return self._array(_np_struct(v[1]), v)       # (a structured dtype, from its description)

    def _array(self, dt, v):
        """An array of dtype ``dt`` from ``[tag, dtype, shape, bytes, index]``, its bytes checked."""
        _, _, shape, raw, index = v
        shape = _shape(shape)
        if not isinstance(raw, bytes) or len(raw) != math.prod(shape) * dt.itemsize:
            raise ProtocolError("a NumPy array whose bytes do not match its dtype and shape")
        a = np.frombuffer(raw, dtype=dt).reshape(shape).copy()
        _unicode(a)
        return self._keep(index, a)

    def _PDS(self, v, depth):
        _arity(v, 6)
        return self._keep(v[5], _pd_series(v[:5]))

    def _PDF(self, v, depth):
        _arity(v, 6)
        return self._keep(v[5], _pd_frame(v[:5]))

    def _PDI(self, v, depth):
        _arity(v, 6)
        return self._keep(v[5], _pd_index(v[:5]))

    _PRI = _PDI

    def _MOD(self, v, depth):
        _arity(v, 9)
        _, name, training, attrs, params, buffers, children, origin, index = v
        if not isinstance(name, str) or not isinstance(training, bool):
            raise ProtocolError("a malformed module")
        cls = _resolve_module_class(name)
        m = self._seen(origin, cls)
        if m is not None and type(m) is cls and (_as_it_is(origin) or self.as_is and origin <= -2):
            self._keep(index, m)           # this side's own module, unchanged there: kept as it is here
            for part in (attrs, params, buffers, children):
                for pair in _pairs(part, 3 if part is buffers else 2):
                    self(pair[1], depth + 1)           # (read and checked all the same)
            self._mark(origin, m)
            return m
        if m is None or type(m) is not cls:
            m = cls.__new__(cls)
            nn.Module.__init__(m)
        else:                          # the same module as before: rebuilt in place, its identity kept
            m._parameters.clear()
            m._buffers.clear()
            m._modules.clear()
            m._non_persistent_buffers_set.clear()
        self._remember(origin, m)
        self._keep(index, m)
        for pair in _pairs(attrs, 2):
            key = pair[0]
            if key in _MODULE_INTERNALS or key.startswith("__"):
                raise ProtocolError(f"module attribute {key!r}")
            object.__setattr__(m, key, self(pair[1], depth + 1))
        for key, p in (_pairs(params, 2)):
            value = self(p, depth + 1)
            if value is not None and not isinstance(value, nn.Parameter):
                raise ProtocolError(f"parameter {key!r} is not a parameter")
            m._parameters[key] = value
        for key, b, transient in _pairs(buffers, 3):
            value = self(b, depth + 1)
            if value is not None and not isinstance(value, torch.Tensor):
                raise ProtocolError(f"buffer {key!r} is not a tensor")
            m._buffers[key] = value
            if transient is True:
                m._non_persistent_buffers_set.add(key)
        for key, c in _pairs(children, 2):
            value = self(c, depth + 1)
            if value is not None and not isinstance(value, nn.Module):
                raise ProtocolError(f"child {key!r} is not a module")
            m._modules[key] = value
        m.training = training
        self._mark(origin, m)
        return m

    def _OPT(self, v, depth):
        _arity(v, 6)
        _, name, defaults, groups, state, index = v
        cls = getattr(torch.optim, name, None) if isinstance(name, str) and name.isidentifier() else None
        if not (isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)):
            raise ProtocolError(f"optimizer class {name!r} is not one the judge rebuilds")
        defaults = self(defaults, depth + 1)
        param_groups = []
        for params, hyper in _pairs(groups, 2):
            ps = self._items(params, depth)
            hyper = self(hyper, depth + 1)
            if not isinstance(hyper, dict) or not all(isinstance(p, torch.Tensor) for p in ps):
                raise ProtocolError("a malformed optimizer group")
            param_groups.append({"params": ps, **hyper})
        opt = cls(param_groups, **{k: val for k, val in defaults.items() if k not in ("params",)})
        for group, (params, hyper) in zip(opt.param_groups, _pairs(groups, 2)):
            group.update({k: val for k, val in param_groups[opt.param_groups.index(group)].items() if k != "params"})
        for p, s in _pairs(state, 2):
            param, st = self(p, depth + 1), self(s, depth + 1)
            if not isinstance(param, torch.Tensor) or not isinstance(st, dict):
                raise ProtocolError("a malformed optimizer state")
            opt.state[param] = st
        return self._keep(index, opt)

    def _DL(self, v, depth):
        _arity(v, 7)
        _, dataset, batch_size, shuffle, drop_last, collate, index = v
        ds = self(dataset, depth + 1)
        if not isinstance(ds, torch.utils.data.Dataset) or not isinstance(batch_size, int) or batch_size < 1 \
                or not isinstance(shuffle, bool) or not isinstance(drop_last, bool):
            raise ProtocolError("a malformed DataLoader")
        if collate != ["N"] and not (isinstance(collate, list) and len(collate) == 3 and collate[0] == "FN"
                                     and collate[1] == INSTRUMENTS):
            raise ProtocolError("a DataLoader's collate function must be one of the instruments'")
        fn = None if collate == ["N"] else self(collate, depth + 1)
        return self._keep(index, torch.utils.data.DataLoader(ds, batch_size=batch_size, shuffle=shuffle,
                                                             drop_last=drop_last, collate_fn=fn))

    def _TDS(self, v, depth):
        _arity(v, 3)
        ts = self._items(v[1], depth)
        if not ts or not all(isinstance(t, torch.Tensor) for t in ts) or len({t.shape[:1] for t in ts}) != 1:
            raise ProtocolError("a malformed TensorDataset")
        return self._keep(v[2], torch.utils.data.TensorDataset(*ts))

    def _SUB(self, v, depth):
        _arity(v, 4)
        ds, idx = self(v[1], depth + 1), self(v[2], depth + 1)
        if not isinstance(ds, torch.utils.data.Dataset) or not isinstance(idx, list) \
                or not all(isinstance(i, int) for i in idx):
            raise ProtocolError("a malformed Subset")
        return self._keep(v[3], torch.utils.data.Subset(ds, idx))

