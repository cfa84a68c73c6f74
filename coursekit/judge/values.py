"""Values as data between the judge and the student's kernel (see wire.py for the messages).

A value is a list ``[tag, ...]``:

* plain data: ``N`` None, ``B`` bool, ``I`` int, ``BI`` a large int as text, ``F`` float, ``C`` complex,
  ``S`` str, ``Y`` bytes, ``L``/``T``/``SET``/``FS`` list/tuple/set/frozenset, ``D`` dict (pairs);
* arrays: ``TEN`` a tensor (dtype, shape, bytes, requires_grad, device, grad, parameter?), rebuilt as a
  plain ``torch.Tensor`` (or ``nn.Parameter``); ``ND`` a NumPy array of a numeric or boolean dtype;
  ``NS`` a NumPy scalar; ``DT`` a torch dtype, ``NDT`` a NumPy dtype, ``DEV`` a device, ``SZ`` a
  ``torch.Size``, ``SL`` a slice, ``EL`` Ellipsis;
* by name, resolved by the receiver in its own imports: ``MODREF`` a Python module, ``FN`` a function
  or class of an allowed library (``torch``, ``numpy``, ``math`` ...), sent only when the name
  leads to the very same object on the sender's side;
* by description, rebuilt by the receiver from data: ``MOD`` an ``nn.Module`` whose every class is
  one of ``torch.nn``'s or the checks' instruments (``utils.checks.instruments``), with its plain
  attributes, parameters, buffers and children; ``OPT`` a ``torch.optim`` optimizer; ``DL`` a
  ``DataLoader`` over a ``TensorDataset`` (``TDS``) or a ``Subset`` (``SUB``);
* ``H`` a handle: any other object stays where it is and the receiver gets a proxy
  (``peer.Remote``) whose use becomes a request; ``REF`` an object sent earlier in the same message
  (shared objects stay shared), ``ARG`` an object the receiver itself sent in the request being
  answered (``return model`` gives the caller its own model back).

Every decoded value is checked: known tags, types, sizes within ``wire``'s caps, byte counts that
match dtype and shape, classes only from the allowed lists. Nothing is unpickled or evaluated.
"""
from __future__ import annotations

import builtins
import functools
import importlib
import math

from ._lazy import has_numpy, has_torch, is_array, is_module, is_optimizer, is_tensor, nn, np, torch
from .wire import MAX_DEPTH, MAX_ITEMS, ProtocolError

#: top-level packages whose functions, classes and modules cross by name
LIBRARIES = frozenset({"torch", "numpy", "math", "builtins", "operator", "functools", "itertools", "collections",
                       "random", "copy", "utils", "sklearn", "matplotlib", "scipy", "statistics", "typing",
                       "dataclasses", "string", "re", "json", "torchvision"})
INSTRUMENTS = "utils.checks.instruments"
_MODULE_INTERNALS = {"training", "_parameters", "_buffers", "_modules", "_non_persistent_buffers_set",
                     "_backward_pre_hooks", "_backward_hooks", "_is_full_backward_hook", "_forward_hooks",
                     "_forward_hooks_with_kwargs", "_forward_hooks_always_called", "_forward_pre_hooks",
                     "_forward_pre_hooks_with_kwargs", "_state_dict_hooks", "_state_dict_pre_hooks",
                     "_load_state_dict_pre_hooks", "_load_state_dict_post_hooks"}
@functools.cache
def _torch_dtypes() -> dict:
    return {str(d).removeprefix("torch."): d for d in (
        torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.complex64, torch.complex128, torch.uint8,
        torch.int8, torch.int16, torch.int32, torch.int64, torch.bool)}
_NUMPY_KINDS = "biufc"


class NotData(Exception):
    """The object cannot cross as data (the sender then hands it out as a handle)."""


def module_class(cls) -> str | None:
    """The name a module class crosses by (``torch.nn`` and the instruments only), else None."""
    name = cls.__name__
    if getattr(nn, name, None) is cls and cls.__module__.startswith("torch.nn."):
        return name
    if cls.__module__ == INSTRUMENTS:
        return f"instruments.{name}"
    return None


def tensor_class(cls) -> str | None:
    """The name a tensor subclass crosses by (the instruments' only), else None."""
    if cls.__module__ == INSTRUMENTS and issubclass(cls, torch.Tensor):
        return f"instruments.{cls.__name__}"
    return None


def _resolve_tensor_class(name: str):
    mod = importlib.import_module(INSTRUMENTS)
    cls = getattr(mod, name.split(".", 1)[1], None) if name.startswith("instruments.") else None
    if not (isinstance(cls, type) and issubclass(cls, torch.Tensor)) or tensor_class(cls) != name:
        raise ProtocolError(f"tensor class {name!r:.60} is not one the judge rebuilds")
    return cls


def _resolve_module_class(name: str):
    if name.startswith("instruments."):
        mod = importlib.import_module(INSTRUMENTS)
        cls = getattr(mod, name.split(".", 1)[1], None)
    else:
        cls = getattr(nn, name, None) if name.isidentifier() else None
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)) or module_class(cls) != name:
        raise ProtocolError(f"module class {name!r} is not one the judge rebuilds")
    return cls


def by_name(obj) -> list | None:
    """``[module, qualname]`` when ``obj`` is reachable under that name in an allowed library."""
    if isinstance(obj, type(math)):
        name = obj.__name__
        return ["MODREF", name] if name.split(".")[0] in LIBRARIES else None
    mod = getattr(obj, "__module__", None)
    qual = getattr(obj, "__qualname__", None)
    if not isinstance(mod, str) or not isinstance(qual, str) or mod.split(".")[0] not in LIBRARIES:
        return None
    if mod == "__main__" or "<" in qual:
        return None
    try:
        found = _walk(importlib.import_module(mod), qual)
    except Exception:
        return None
    return ["FN", mod, qual] if found is obj else None


def _walk(root, qual: str):
    obj = root
    for part in qual.split("."):
        if not part.isidentifier() or part.startswith("__"):
            raise ProtocolError(f"{qual!r} is not a plain name")
        obj = getattr(obj, part)
    return obj


def _resolve_name(mod: str, qual: str | None):
    if not isinstance(mod, str) or mod.split(".")[0] not in LIBRARIES or not all(p.isidentifier() for p in mod.split(".")):
        raise ProtocolError(f"module {mod!r} is not one that crosses by name")
    try:
        root = importlib.import_module(mod)
        return root if qual is None else _walk(root, qual)
    except ProtocolError:
        raise
    except Exception as exc:
        raise ProtocolError(f"{mod}.{qual or ''} is not importable here ({type(exc).__name__})") from None


class Encoder:
    """One message's values. ``handle(obj)`` gives out a handle id for an object that is not data;
    ``known`` maps id(obj) to the peer's own memo index (objects the peer sent in its request)."""

    def __init__(self, handle, known: dict | None = None, by_value_modules: bool = True, origins=None):
        self.handle = handle
        self.known = known or {}
        self.origins = origins        # (id -> origin, objects kept alive) of the sending peer, or None
        self.memo: dict[int, int] = {}
        self.objects: list = []           # index -> object (kept alive; the peer's ARG refers to these)
        self.by_value_modules = by_value_modules

    def __call__(self, value, depth: int = 0):
        if depth > MAX_DEPTH:
            raise NotData(f"nested more than {MAX_DEPTH} levels")
        if value is None:
            return ["N"]
        if isinstance(value, bool):
            return ["B", value]
        if type(value) is int or isinstance(value, int) and type(value).__module__ == "builtins":
            return ["I", int(value)] if -2**63 <= value < 2**63 else ["BI", str(int(value))]
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
        if type(value) is slice:
            return ["SL", self(value.start, depth + 1), self(value.stop, depth + 1), self(value.step, depth + 1)]
        T, N = has_torch(), has_numpy()     # (objects of a library never imported here cannot exist)
        if T and isinstance(value, torch.dtype):
            return ["DT", str(value).removeprefix("torch.")]
        if T and isinstance(value, torch.device):
            return ["DEV", str(value)]
        if T and type(value) is torch.Size:
            return ["SZ", [int(s) for s in value]]
        if N and isinstance(value, np.dtype):
            if value.kind not in _NUMPY_KINDS:
                raise NotData(f"NumPy dtype {value}")
            return ["NDT", value.str]
        if N and isinstance(value, np.generic) and type(value).__module__ == "numpy":
            if value.dtype.kind not in _NUMPY_KINDS:
                raise NotData(f"NumPy scalar of dtype {value.dtype}")
            return ["NS", value.dtype.str, value.tobytes()]
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
        if is_array(value) and type(value) is np.ndarray:
            if value.dtype.kind not in _NUMPY_KINDS or value.size > MAX_ITEMS:
                raise NotData(f"a NumPy array of dtype {value.dtype}")
            return ["ND", value.dtype.str, list(value.shape), np.ascontiguousarray(value).tobytes()]
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
        gives back the same object (a layer shared between two calls is one object there too)."""
        if self.origins is None:
            return -1
        ids, kept = self.origins
        if id(obj) not in ids:
            ids[id(obj)] = len(kept)
            kept.append(obj)
        return ids[id(obj)]

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


def _info(obj) -> list:
    """What a handle tells about its object: class name, kind, a name to show."""
    cls = type(obj)
    kind = "module" if is_module(obj) else "class" if isinstance(obj, type) else \
        "callable" if callable(obj) else "object"
    name = getattr(obj, "__name__", None)
    return [f"{cls.__module__}.{cls.__qualname__}"[:200], kind, name[:200] if isinstance(name, str) else ""]


class Decoder:
    """One message's values. ``proxy(id, info)`` makes a proxy for the peer's handle; ``own(id)`` is
    this side's object behind a handle it gave out; ``sent`` is the list of objects this side sent
    in the request being answered (for ``ARG``)."""

    def __init__(self, proxy, own, sent: list | None = None, session: dict | None = None):
        self.proxy = proxy
        self.own = own
        self.sent = sent or []
        self.memo: dict[int, object] = {}
        self.session = session        # the peer's origin -> the object rebuilt for it, or None

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
        if old is not None and old.shape == t.shape and old.dtype == t.dtype:
            with torch.no_grad():
                old.data = t.data
            old.requires_grad_(t.requires_grad)
            old.grad = t.grad
            t = old
        self._remember(origin, t)
        return self._keep(index, t)

    def _seen(self, origin, kind):
        if type(origin) is not int:
            raise ProtocolError("a malformed origin")
        old = self.session.get(origin) if self.session is not None and origin >= 0 else None
        return old if isinstance(old, kind) else None

    def _remember(self, origin, obj):
        if self.session is not None and origin >= 0:
            if len(self.session) >= 100_000 and origin not in self.session:
                raise ProtocolError("too many objects")
            self.session[origin] = obj

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
        _, dtype, shape, raw, index = v
        dt = _np_dtype(dtype)
        shape = _shape(shape)
        if not isinstance(raw, bytes) or len(raw) != math.prod(shape) * dt.itemsize:
            raise ProtocolError("a NumPy array whose bytes do not match its dtype and shape")
        return self._keep(index, np.frombuffer(raw, dtype=dt).reshape(shape).copy())

    def _MOD(self, v, depth):
        _arity(v, 9)
        _, name, training, attrs, params, buffers, children, origin, index = v
        if not isinstance(name, str) or not isinstance(training, bool):
            raise ProtocolError("a malformed module")
        cls = _resolve_module_class(name)
        m = self._seen(origin, cls)
        if m is None or type(m) is not cls:
            m = cls.__new__(cls)
            nn.Module.__init__(m)
        else:                          # the same module as before: rebuilt in place, its identity kept
            m._parameters.clear()
            m._buffers.clear()
            m._modules.clear()
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
           "DT": _dtype, "DEV": _device, "SZ": _size, "NDT": lambda v: (_arity(v, 2), _np_dtype(v[1]))[1],
           "NS": _np_scalar}
assert builtins   # (builtins is one of LIBRARIES: len, sum ... cross by name)
