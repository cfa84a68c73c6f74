"""Plain data: what a check takes from student code, the same in the student's kernel and in the judge.

While grading, a student's value reaches the judge as plain data: an exact ``torch.Tensor`` (or
``nn.Parameter``, or one of the instruments' tensors), an exact ``np.ndarray``, a NumPy scalar, a Python
``bool``/``int``/``float``/``complex``/``str``/``bytes`` and exact lists, tuples, dicts and sets of
them. Anything else (an object of the student's own class) stays in the student's kernel as a handle.
A subclass of a tensor, an array, a number or a list can say anything about itself (a ``shape`` that
equals every shape, an ``__eq__`` that is always true), so the checks refuse it in both places with
the same message instead of asking it questions: ``plain`` runs first in every check that reads a
student's value. It decides by ``type(value)`` (which an object cannot fake) and the instruments'
tensor classes by identity (``instruments.TENSOR_CLASSES``), never by a name.

Private to ``utils.checks``.
"""
from __future__ import annotations

import functools
import numbers
import sys

import numpy as np
import torch
from torch import nn

from ._format import failure, is_tensor
from .instruments import TENSOR_CLASSES   # (with utils.checks: in a grading zygote's preload too)

MAX_DEPTH = 48     # nesting the judge carries (coursekit.judge.wire.MAX_DEPTH)

_CONTAINERS = (list, tuple, dict, set, frozenset)
_SCALARS = (bool, int, float, complex, str, bytes)

# (base class, what to call it, what to return instead), the first that a refused value is an instance of
_KINDS = (
    (nn.Parameter, "nn.Parameter", "a plain nn.Parameter"),
    (torch.Tensor, "torch.Tensor", "a plain tensor"),
    (np.ndarray, "numpy.ndarray", "a plain NumPy array"),
    (np.generic, "a NumPy scalar type", "a plain NumPy scalar or Python number"),
    (bool, "bool", "True or False"),
    (int, "int", "a plain int"),
    (float, "float", "a plain float"),
    (complex, "complex", "a plain complex number"),
    (str, "str", "a plain string"),
    (bytes, "bytes", "plain bytes"),
    (torch.Size, "torch.Size", "a plain torch.Size (x.shape)"),
    (tuple, "tuple", "a plain tuple"),
    (list, "list", "a plain list"),
    (dict, "dict", "a plain dict"),
    (set, "set", "a plain set"),
    (frozenset, "frozenset", "a plain frozenset"),
)
_DATA = tuple(base for base, _, _ in _KINDS)

_HINT = ("the checks (and the grader) take tensors, arrays, numbers, strings, lists and dicts as plain data only; "
         "build the value with torch/NumPy operations or plain Python, not with a class of your own.")


@functools.cache
def _tensor_classes() -> frozenset:
    return frozenset({torch.Tensor, nn.Parameter, *TENSOR_CLASSES})


def _class_name(cls: type) -> str:
    """``LyingTensor`` for a class of the student's; ``torch.return_types.max`` for a library's."""
    module = type.__getattribute__(cls, "__module__")
    name = type.__getattribute__(cls, "__name__")
    if isinstance(module, str) and module.split(".")[0] in _LIBRARIES - {"builtins"}:
        return f"{module}.{type.__getattribute__(cls, '__qualname__')}"
    return name


def _is_numpy_scalar_type(cls: type) -> bool:
    try:
        return np.dtype(cls).type is cls
    except TypeError:
        return False


def _refuse(value, name: str, hint: str | None):
    cls = type(value)
    base, label, instead = next(((b, l, i) for b, l, i in _KINDS if isinstance(value, b)),
                                (numbers.Number, "a number type", "a plain number"))
    kind = label if label.startswith("a ") else f"a subclass of {label}"
    return failure(name, f"{kind} ({_class_name(cls)}) is not accepted; return {instead}.",
                   f"{instead} (plain data)", f"an object of class {_class_name(cls)}, which is not plain data",
                   hint, _HINT)


def _remote_class(value) -> str | None:
    """The class name of a handle to an object that stayed in the student's kernel (in the judge), else None."""
    if not getattr(type(value), "__coursekit_remote__", False) or isinstance(value, nn.Module):
        return None
    try:
        info = object.__getattribute__(value, "_info")
    except AttributeError:
        return None
    if not (isinstance(info, list) and len(info) >= 2 and info[1] == "object"):
        return None       # a function or a class of the student: not a value, the checks say what it is
    return str(info[0]).rsplit(".", 1)[-1] if isinstance(info[0], str) else "?"


def plain(value, name: str, hint: str | None = None, *, handles: bool = True, want: str = "plain data",
          library: bool = False):
    """``value`` itself when it is plain data or no data at all (a model, a function, None); else the
    ``AssertionError`` a check raises for it (a subclass of a tensor, array, number, string or container,
    anywhere inside lists, tuples and dicts; a tensor whose own attributes replace the tensor's methods).

    ``handles``: also refuse a handle to an object that stayed in the student's kernel (the judge),
    saying that it is not ``want``. ``library``: let pass the subclasses that torch, NumPy and the standard
    library define themselves (``torch.return_types.max``, ``OrderedDict``), as the judge lets them pass
    as handles: for what ``call`` returns, which a test cell may still unpack."""
    __tracebackhide__ = True
    _walk(value, name, hint, handles, want, 0, set(), library)
    return value


_LIBRARIES = frozenset({"torch", "numpy", "collections", "builtins"})


def _library_class(cls: type) -> bool:
    """Whether ``cls`` is the very class that its module (of torch, NumPy, the standard library) names."""
    try:
        module = type.__getattribute__(cls, "__module__")
        qualname = type.__getattribute__(cls, "__qualname__")
        if not isinstance(module, str) or module.split(".")[0] not in _LIBRARIES:
            return False
        obj = sys.modules.get(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
        return obj is cls
    except Exception:  # noqa: BLE001 - anything odd about the class: not a library's
        return False


def _walk(value, name, hint, handles, want, depth, seen, library=False) -> None:
    __tracebackhide__ = True
    cls = type(value)
    if cls in _SCALARS or value is None:
        return
    if cls in _tensor_classes():
        shadowed = sorted(k for k in vars(value) if isinstance(k, str) and hasattr(torch.Tensor, k))
        if shadowed:
            raise failure(name, f"a tensor whose own attributes replace the tensor's ({', '.join(shadowed[:3])}) is "
                          "not accepted; return a plain tensor.", "a plain tensor (plain data)",
                          f"a tensor with its own {', '.join(shadowed[:3])}", hint, _HINT)
        return
    if cls is np.ndarray or cls is torch.Size:
        return
    container = cls in _CONTAINERS or (library and isinstance(value, _CONTAINERS) and _library_class(cls))
    if container:
        if id(value) in seen:
            return
        if depth >= MAX_DEPTH:
            raise failure(name, f"nested more than {MAX_DEPTH} levels deep.", f"at most {MAX_DEPTH} levels of lists",
                          f"a {cls.__name__} nested deeper", hint, "flatten it, or return a tensor.")
        seen.add(id(value))
        if isinstance(value, dict):
            for key, item in dict.items(value):
                _walk(key, f"{name} (a key)", hint, handles, want, depth + 1, seen, library)
                _walk(item, f"{name}[{key!r:.30}]", hint, handles, want, depth + 1, seen, library)
        else:
            items = list.__iter__(value) if isinstance(value, list) else tuple.__iter__(value) \
                if isinstance(value, tuple) else iter(value)
            for i, item in enumerate(items):
                _walk(item, f"{name}[{i}]" if isinstance(value, (list, tuple)) else f"{name} (an item)", hint,
                      handles, want, depth + 1, seen, library)
        return
    if isinstance(value, np.generic) and _is_numpy_scalar_type(cls):
        return
    if library and _library_class(cls):
        return
    if isinstance(value, _DATA) or isinstance(value, numbers.Number):
        raise _refuse(value, name, hint)
    if handles:
        remote = _remote_class(value)
        if remote is not None:
            raise failure(name, f"an object of class {remote} is not plain data, so it is not accepted; return "
                          f"{want}.", want, f"an object of class {remote} (it stays in your kernel)", hint, _HINT)


DATA_TYPES = _DATA   # the classes whose subclasses ``plain`` refuses (with numbers.Number's)


def shape_of(value) -> tuple:
    """The shape of a tensor or array, read through its class's own descriptor (``torch.Tensor.shape``),
    so that an attribute of the object cannot answer instead."""
    if is_tensor(value):
        return tuple(torch.Tensor.shape.__get__(value))
    return tuple(np.ndarray.shape.__get__(value))


def dtype_of(value):
    """The dtype of a tensor, array or NumPy scalar, read through its class's own descriptor."""
    if is_tensor(value):
        return torch.Tensor.dtype.__get__(value)
    if isinstance(value, np.generic):
        return np.generic.dtype.__get__(value)
    return np.ndarray.dtype.__get__(value)
