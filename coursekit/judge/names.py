"""What may cross by name or be rebuilt by description: the allowed libraries, module and tensor
classes, torch dtypes, and the lookup of a function or class by its module and qualified name."""
from __future__ import annotations

import functools
import importlib
import math
import re

from ._lazy import nn, torch
from .wire import ProtocolError

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
_NUMPY_TEXT_KINDS = "US"     # fixed-width str and bytes: arrays and dtypes of these cross as data too (not digested)
_PD_LABEL_TAGS = frozenset({"N", "B", "I", "F", "S", "NS"})   # a pandas name or label as data
_PD_ITEM_TAGS = frozenset({"N", "B", "I", "F", "S"})          # an item of a pandas column of objects
_PD_FREQ = re.compile(r"[A-Za-z0-9+\-]{1,40}", re.A)          # a DatetimeIndex's / TimedeltaIndex's freq


@functools.cache
def _pd_dtypes() -> frozenset:
    """The NumPy dtypes (``dtype.str``, native order) of pandas columns and indexes that cross as data."""
    import numpy
    names = [f"{k}{b}" for k in ("int", "uint") for b in (8, 16, 32, 64)] + \
        ["float32", "float64", "complex64", "complex128", "bool"] + \
        [f"{k}64[{u}]" for k in ("datetime", "timedelta") for u in ("s", "ms", "us", "ns")]
    return frozenset(numpy.dtype(n).str for n in names)


_NAMEDTUPLE_KEYS = frozenset({"__doc__", "__getnewargs__", "__match_args__", "__module__", "__new__", "__repr__",
                              "__slots__", "_asdict", "_field_defaults", "_fields", "_make", "_replace",
                              "__annotations__", "__orig_bases__", "__qualname__", "__static_attributes__",
                              "__firstlineno__", "__annotate__", "__annotate_func__", "__annotations_cache__"})


class NotData(Exception):
    """The object cannot cross as data (the sender then hands it out as a handle)."""


def namedtuple_class(cls) -> bool:
    """Whether ``cls`` is a class as ``collections.namedtuple`` or ``typing.NamedTuple`` makes it, nothing
    added (no method, class attribute or other base: such a class crosses as a handle, its instances too)."""
    fields = cls.__dict__.get("_fields")
    if cls.__bases__ != (tuple,) or type(fields) is not tuple or not all(type(f) is str for f in fields):
        return False
    if not set(cls.__dict__) <= _NAMEDTUPLE_KEYS | set(fields):
        return False
    rep = cls.__dict__.get("__repr__")
    return getattr(rep, "__code__", None) is _namedtuple_repr()


@functools.cache
def _namedtuple_repr():
    import collections
    return collections.namedtuple("_", "a").__repr__.__code__


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

