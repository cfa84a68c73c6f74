"""Objects of the other end (:class:`Remote`, and :class:`RemoteModule` for a student's own
``nn.Module`` subclass in the judge), and ``_RemoteGrad``, built on torch's autograd, which joins a remote
call's outputs to the caller's graph."""
from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from ._lazy import torch
from .errors import rebuild_error
from .values import Decoder, Encoder
from .wire import SPECIAL

if TYPE_CHECKING:
    from .peer import Peer


_CLASSES: dict = {}


def _torch_classes() -> dict:
    """The classes built on torch's (made on first use: see _lazy)."""
    if "RemoteGrad" in _CLASSES:
        return _CLASSES

    class _RemoteGrad(torch.autograd.Function):
        @staticmethod
        def forward(ctx, peer, graph, n_remote, outputs, *inputs):
            ctx.peer, ctx.graph = peer, graph
            ctx.n, ctx.extra = n_remote, len(inputs) - n_remote
            outs = tuple(o.detach().clone() for o in outputs)
            ctx.mark_non_differentiable(*[o for o in outs if not (o.is_floating_point() or o.is_complex())])
            return outs

        @staticmethod
        def backward(ctx, *grads):
            found = ctx.peer.backward(ctx.graph, list(grads), ctx.n)  # noqa
            return (None, None, None, None, *found, *[None] * ctx.extra)

    _CLASSES.update(RemoteGrad=_RemoteGrad)
    return _CLASSES


_BINARY = ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or", "xor", "lshift",
           "rshift", "divmod")
#: binary operators: ``__add__``, its reflection ``__radd__`` and in-place ``__iadd__`` (no ``__idivmod__``)
BINARY = frozenset([f"__{n}__" for n in _BINARY] + [f"__r{n}__" for n in _BINARY]
                   + [f"__i{n}__" for n in _BINARY if n != "divmod"])
COMPARE = frozenset({"__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__"})
#: special methods run by the builtin that calls them (its result checked there as Python checks it)
_BUILTIN = {"__len__": "len", "__iter__": "iter", "__next__": "next", "__bool__": "bool", "__hash__": "hash",
            "__repr__": "repr", "__str__": "str", "__contains__": None, "__neg__": "neg", "__pos__": "pos",
            "__abs__": "abs", "__invert__": "invert", "__float__": "float", "__int__": "int", "__complex__": "complex",
            "__index__": "index", "__round__": "round", "__reversed__": "reversed", "__trunc__": "trunc",
            "__floor__": "floor", "__ceil__": "ceil", "__getitem__": "getitem", "__setitem__": "setitem",
            "__delitem__": "delitem"}
#: what a Remote forwards to the object it stands for
FORWARDED = BINARY | COMPARE | frozenset(_BUILTIN) | {"__enter__", "__exit__"}
#: what the judge runs on its own objects for the student's code (no mutation, no context managers)
SERVED_BY_JUDGE = BINARY - {f"__i{n}__" for n in _BINARY} | COMPARE | {
    "__len__", "__iter__", "__next__", "__getitem__", "__contains__", "__bool__", "__hash__", "__repr__", "__str__",
    "__neg__", "__pos__", "__abs__", "__invert__", "__float__", "__int__", "__index__", "__round__"}


def run_special(obj, name: str, args: tuple | list):
    """``name`` of ``obj``'s class on ``obj`` where ``obj`` lives, as Python's operators run it: a binary
    operator the class lacks answers NotImplemented (the caller's Python then tries the other operand), a
    builtin protocol (``len``, ``bool``, ``hash``, ``float`` ...) runs as the builtin does, with its fallbacks
    (``bool`` through ``__len__``, ``in`` through ``__iter__``) and its checks of the result."""
    import builtins
    import math
    import operator
    if name not in FORWARDED:
        raise TypeError(f"{name!r:.60} is not a special method that crosses")
    args = tuple(args)
    if name in BINARY or name in COMPARE:
        if len(args) != 1:
            raise TypeError(f"{name} takes one operand")
        method = getattr(type(obj), name, None)
        return NotImplemented if method is None else method(obj, args[0])
    if name == "__contains__":
        if len(args) != 1:
            raise TypeError("__contains__ takes one operand")
        return args[0] in obj
    if name in ("__enter__", "__exit__"):
        method = getattr(type(obj), name, None)
        if method is None:
            raise TypeError(f"{type(obj).__name__!r} object does not support the context manager protocol")
        return method(obj, *args)
    fn = _BUILTIN[name]
    found = getattr(builtins, fn, None) if fn in ("len", "iter", "next", "bool", "hash", "repr", "str", "abs",
                                                  "float", "int", "complex", "round", "reversed") else \
        getattr(math, fn, None) if fn in ("trunc", "floor", "ceil") else getattr(operator, fn)
    return found(obj, *args)


_HELPERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_named: dict = {}           # a class's module.qualname -> Remote's subclass of that name
_LOCAL = frozenset({"_peer", "_hid", "_info", "_cache"})


class _Unserved(TypeError):
    """The other end does not answer this special method (the judge answers the student's few)."""


def _helper(peer, name: str) -> int:
    """The handle of ``student_side.<name>`` in the student's kernel (imported there once per connection)."""
    found = _HELPERS.setdefault(peer, {})
    if name not in found:
        if "module" not in found:
            module = _value(peer.request("import", name=__name__.rsplit(".", 1)[0] + ".student_side"), peer)
            found["module"] = module
        fn = getattr(found["module"], name)
        if not getattr(type(fn), "__coursekit_remote__", False):
            raise _Unserved(f"the student's kernel has no {name}")
        found[name] = fn._hid
    return found[name]


def _ask(peer, name: str, *args):
    """``student_side.<name>(*args)`` run in the student's kernel (the judge's end only)."""
    __tracebackhide__ = True
    if peer.side != "judge":
        raise _Unserved(name)
    return peer.call(_helper(peer, name), args, {})[0]


def _same_peer(a, b) -> bool:
    return isinstance(b, Remote) and b._peer is a._peer


def _binary(name: str):
    """An operator between two of the student's objects runs there, as the student's classes define it
    (``make_item() == Item('pen', 5)``). With a value of the test cell as the other operand it does not run
    (Python's own fallback: ``==`` is identity, arithmetic a TypeError): the test's values, its expected
    ones among them, never reach the student's operator methods, so an object that claims to equal
    anything, or to be 0 away from it (``abs(f(x) - expected) < tol``), gains nothing; values the test
    compares with its own are data (values.py)."""
    def op(self, other):
        __tracebackhide__ = True
        if not _same_peer(self, other) or self._peer.side != "judge":
            return NotImplemented
        if other._hid == self._hid and name in ("__eq__", "__ne__"):
            return name == "__eq__"
        if name.startswith("__r"):
            return NotImplemented               # (the left operand's own method ran the whole operator)
        try:
            # both operands live there: the whole operator runs there (reflection, subclass priority)
            return _ask(self._peer, "operate", name, self, other)
        except _Unserved:
            return NotImplemented
    op.__name__ = name
    return op


def _unary(name: str, check=None):
    def op(self, *args):
        __tracebackhide__ = True
        value = self._special(name, *args)
        if check is not None and type(value) is not check:
            raise TypeError(f"{name} of the student's object returned {type(value).__name__}, not {check.__name__}")
        return value
    op.__name__ = name
    return op


def run_operator(name: str, a, b):
    """The whole binary operator (``__add__``: ``a + b``) where both operands live, with Python's reflection and
    subclass priority."""
    import operator
    if name not in BINARY and name not in COMPARE or name.startswith("__r"):
        raise TypeError(f"{name!r:.60} is not an operator that crosses")
    short = name[2:-2]
    fn = divmod if short == "divmod" else getattr(operator, short + "_" if short in ("and", "or") else short)
    return fn(a, b)


class Remote:
    """An object of the other end. Calling it, its attributes (served by the student's kernel; the judge serves
    the student's code plain attribute names of its objects only) and its special methods become requests: an
    operator runs the student's own method where the object lives, its NotImplemented makes Python fall back
    as it would for a local object."""
    __coursekit_remote__ = True

    def __new__(cls, peer: Peer, hid: int, info: list):
        """An instance of a subclass named as the object's class (``type(s).__name__ == 'Stack'``)."""
        if cls is Remote:
            cls = _named.get(info[0])
            if cls is None:
                name = info[0].rsplit(".", 1)[-1]
                if not name.isidentifier() or len(_named) >= 10_000:
                    return object.__new__(Remote)
                cls = _named[info[0]] = type(Remote)(name, (Remote,), {
                    "__module__": Remote.__dict__["__module__"], "__qualname__": name,
                    "__doc__": Remote.__dict__["__doc__"]})
        return object.__new__(cls)

    def __init__(self, peer: Peer, hid: int, info: list):
        object.__setattr__(self, "_peer", peer)
        object.__setattr__(self, "_hid", hid)
        object.__setattr__(self, "_info", info)
        object.__setattr__(self, "_cache", {})

    @property
    def __name__(self):
        return self._info[2] or self._info[0].rsplit(".", 1)[-1]

    # (in the class's own dict, these would be the proxy's: its docstring, its module)
    @property
    def __doc__(self):
        return self._dunder("__doc__")

    @property
    def __module__(self):
        cache = self._cache
        if "__module__" not in cache:       # (read for every handle sent: values.by_name)
            try:
                cache["__module__"] = self._dunder("__module__")
            except AttributeError:
                cache["__module__"] = _LOCAL        # (none)
        if cache["__module__"] is _LOCAL:
            raise AttributeError("__module__")
        return cache["__module__"]

    @property
    def __signature__(self):
        found = _ask(self._peer, "signature", self) if self._peer.side == "judge" else None
        if not (isinstance(found, list) and found and found[0] in ("ok", "error")):
            raise AttributeError("__signature__")
        if found[0] == "error":
            raise (ValueError if found[1] == "ValueError" else TypeError)(found[2])
        import inspect
        params = [inspect.Parameter(p[0], inspect._ParameterKind(p[1]),
                                    default=p[3] if p[2] else inspect.Parameter.empty,
                                    annotation=p[4] if p[4] is not None else inspect.Parameter.empty)
                  for p in found[1]]
        return inspect.Signature(params, return_annotation=found[2] if found[2] is not None
                                 else inspect.Signature.empty)

    def _dunder(self, name):
        """An attribute of the object that Python keeps under a special name (``__doc__``, ``__module__``):
        the student's, read where it lives (the judge gives the student's code none of its own)."""
        __tracebackhide__ = True
        if self._peer.side != "judge":
            raise AttributeError(name)
        return _value(self._peer.request("getattr", target=self._hid, name=name), self._peer)

    def __call__(self, *args, **kwargs):
        __tracebackhide__ = True      # (the student's error, as a test cell shows it: not the protocol's frames)
        return self._peer.call(self._hid, args, kwargs)[0]

    def __coursekit_call__(self, args, kwargs, autograd=True, forbid=()):
        return self._peer.call(self._hid, args, kwargs, {"autograd": autograd, "forbid": list(forbid)})

    def __getattr__(self, name):
        if name in ("__qualname__", "__wrapped__"):
            return self._dunder(name)
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return _value(self._peer.request("getattr", target=self._hid, name=name), self._peer)

    def __setattr__(self, name, value):
        __tracebackhide__ = True
        if name in _LOCAL or name.startswith("_coursekit") or self._peer.side != "judge":
            object.__setattr__(self, name, value)       # (the student's code: on its proxy, as before)
        else:
            _ask(self._peer, "set_attr", self, name, value)

    def __delattr__(self, name):
        __tracebackhide__ = True
        if name in _LOCAL or name.startswith("_coursekit") or self._peer.side != "judge":
            object.__delattr__(self, name)
        else:
            _ask(self._peer, "del_attr", self, name)

    def __instancecheck__(self, instance):
        """``isinstance(x, StudentClass)``: asked where the class lives (x as the student's own object, or a copy)."""
        __tracebackhide__ = True
        return self._check("is_instance", instance)

    def __subclasscheck__(self, subclass):
        __tracebackhide__ = True
        return self._check("is_subclass", subclass)

    def _check(self, helper, other):
        __tracebackhide__ = True
        try:
            value = _ask(self._peer, helper, other, self)
        except _Unserved:
            raise TypeError(f"{helper.replace('is_', 'is')}() arg 2 must be a type") from None
        if type(value) is not bool:
            raise TypeError(f"{helper} of the student's class answered {type(value).__name__}")
        return value

    def _special(self, name, *args):
        __tracebackhide__ = True
        if name in SPECIAL:
            enc = Encoder(self._peer.handle)
            return _value(self._peer.request("special", target=self._hid, name=name,
                                             args=[enc(a) for a in args]), self._peer)
        return _ask(self._peer, "special", self, name, *args)

    def __hash__(self):
        try:
            value = self._special("__hash__")
        except _Unserved:
            return object.__hash__(self)
        if type(value) is not int:
            raise TypeError("__hash__ method should return an integer")
        return value

    def __iter__(self):
        return self._special("__iter__")

    def __next__(self):
        return self._special("__next__")

    def __contains__(self, key):
        return self._special("__contains__", key)

    def __repr__(self):
        try:
            return self._special("__repr__")
        except Exception:  # noqa: BLE001
            return f"<{self._info[0]} of the student's kernel>"

    def __str__(self):
        return self._special("__str__")

    def __enter__(self):
        return self._special("__enter__")

    def __exit__(self, exc_type, exc, tb):
        # (the traceback stays here: its frames are the judge's)
        return self._special("__exit__", exc_type, exc, None)


for _name in sorted(BINARY | COMPARE):
    setattr(Remote, _name, _binary(_name))
for _name, _check in (("__len__", int), ("__bool__", bool), ("__float__", float), ("__int__", int),
                      ("__index__", int), ("__complex__", complex), ("__neg__", None), ("__pos__", None),
                      ("__abs__", None), ("__invert__", None), ("__round__", None), ("__reversed__", None),
                      ("__trunc__", None), ("__floor__", None), ("__ceil__", None), ("__getitem__", None),
                      ("__setitem__", None), ("__delitem__", None)):
    setattr(Remote, _name, _unary(_name, _check))
del _name, _check


def _value(reply, peer):
    __tracebackhide__ = True
    if reply["op"] == "error":
        raise rebuild_error(reply["error"], peer)
    return Decoder(peer.proxy, peer.own, session=peer.session)(reply["value"])


def remote_module_class():
    """RemoteModule, made on first use (its base class is torch's)."""
    if "RemoteModule" in _CLASSES:
        return _CLASSES["RemoteModule"]
    from torch import nn

    class RemoteModule(nn.Module):
        """A model of a class the judge does not rebuild (the student's own nn.Module subclass): its
        forward passes run in the student's kernel, with gradients back through _RemoteGrad; its
        parameters are read as data."""
        __coursekit_remote__ = True

        def __init__(self, peer: Peer, hid: int, info: list):
            super().__init__()
            object.__setattr__(self, "_peer", peer)
            object.__setattr__(self, "_hid", hid)
            object.__setattr__(self, "_info", info)
            object.__setattr__(self, "_remote", Remote(peer, hid, info))
            # (made while a reply is decoded: read without first sending a test cell's changes, see Peer.request)
            reply = peer.request("getattr", changes_first=False, target=hid, name="training")
            object.__setattr__(self, "training", bool(_value(reply, peer)))

        def forward(self, *args, **kwargs):
            return self._peer.call(self._hid, args, kwargs)[0]

        def __coursekit_call__(self, args, kwargs, autograd=True, forbid=()):
            return self._peer.call(self._hid, args, kwargs, {"autograd": autograd, "forbid": list(forbid)})

        def train(self, mode: bool = True):
            self._remote.train(mode)
            object.__setattr__(self, "training", mode)
            return self

        def named_parameters(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
            return iter(list(self._remote.named_parameters(prefix, recurse)))

        def parameters(self, recurse: bool = True):
            return iter([p for _, p in self.named_parameters(recurse=recurse)])

        def named_children(self):
            return iter(list(self._remote.named_children()))

        def children(self):
            return iter([c for _, c in self.named_children()])

        def named_modules(self, memo=None, prefix: str = "", remove_duplicate: bool = True):
            return iter([(prefix, self)] + [(f"{prefix}.{n}" if prefix else n, m)
                                             for n, m in list(self._remote.named_modules())[1:]])

        def modules(self):
            return iter([m for _, m in self.named_modules()])

        def state_dict(self, *args, **kwargs):
            return dict(self._remote.state_dict())

        def to(self, *args, **kwargs):
            self._remote.to(*args, **kwargs)
            return self

        def __getattr__(self, name):
            if name.startswith("_"):
                return super().__getattr__(name)
            return getattr(self._remote, name)

        def __repr__(self):
            return repr(self._remote)

    _CLASSES["RemoteModule"] = RemoteModule
    return RemoteModule
