"""The student's notebook names a test cell read that hold plain data (lists, dicts, sets, numbers,
strings, NumPy arrays, plain tensors, dtypes and devices, nested): the judge holds copies of them, so what either side's
code changes in them must reach the other side's object, in place, as it would in one shared kernel
(``history.clear(); train(5); assert len(history) == 5``, ``w0 = w.clone(); step(); w != w0``).

Each side keeps, per name, the object and a digest of its state (:func:`digest`); the student's kernel
sends the names a call changed with the call's reply (``info["names"]``, or the error's ``names``),
the judge sends the names a test cell changed before its next request that reads the student's state
or runs the student's code (``push``'s ``writes``) and at the cell's end. Both write the new state into
their own object where its type allows (:func:`write`), else bind the name to the new value. Modules
and parameters are not plain data: they keep their own identity across the two kernels (state.py).
"""
from __future__ import annotations

import hashlib
import struct

from ._lazy import has_numpy, has_torch, np, torch
from .names import _NUMPY_KINDS

MAX_ELEMENTS = 100_000      # items and array elements of one name's value; a larger value is not followed
MAX_DEPTH = 20
_ATOMS = {type(None): b"N", bool: b"B", int: b"I", float: b"F", complex: b"C", str: b"S", bytes: b"Y"}
_CONTAINERS = {list: b"L", tuple: b"T", set: b"E", frozenset: b"Z", dict: b"D"}
_FLAT = frozenset({type(None), bool, int, float, str})       # (their repr is exact and their type's own)


class _NotPlain(Exception):
    pass


_MISSING = object()


def digest(value, limit: int = MAX_ELEMENTS) -> bytes | None:
    """A digest of ``value``'s state if it is plain data of at most ``limit`` elements, else None."""
    h = hashlib.blake2b(digest_size=16)
    try:
        _feed(h, value, [limit], 0, set())
    except (_NotPlain, RecursionError):
        return None
    return h.digest()


def _feed(h, value, budget: list, depth: int, seen: set) -> None:
    t = type(value)
    budget[0] -= 1
    if budget[0] < 0 or depth > MAX_DEPTH:
        raise _NotPlain
    tag = _ATOMS.get(t)
    if tag is not None:
        raw = value.encode("utf-8", "surrogatepass") if t is str else value if t is bytes else repr(value).encode()
        h.update(tag + struct.pack("!Q", len(raw)) + raw)
        return
    if has_torch() and t in (torch.dtype, torch.device) or has_numpy() and isinstance(value, np.dtype):
        raw = str(value).encode()
        h.update(b"V" + t.__name__.encode() + struct.pack("!Q", len(raw)) + raw)
        return
    tag = _CONTAINERS.get(t) or (b"Q" if has_torch() and t is torch.Size else None)
    if tag is not None:
        if id(value) in seen:
            raise _NotPlain            # (a container that holds itself)
        seen.add(id(value))
        h.update(tag + struct.pack("!Q", len(value)))
        if t not in (dict, set, frozenset) and all(type(x) in _FLAT for x in value):   # (numbers: at C speed)
            budget[0] -= len(value)
            if budget[0] < 0:
                raise _NotPlain
            seen.discard(id(value))
            h.update(repr(value).encode("utf-8", "surrogatepass"))
            return
        items = value.items() if t is dict else value
        for item in items:
            if t is dict:
                _feed(h, item[0], budget, depth + 1, seen)
                _feed(h, item[1], budget, depth + 1, seen)
            else:
                _feed(h, item, budget, depth + 1, seen)
        seen.discard(id(value))
        return
    if has_numpy() and t is np.ndarray or has_numpy() and isinstance(value, np.generic) and t.__module__ == "numpy":
        if value.dtype.kind not in _NUMPY_KINDS or value.size > budget[0]:
            raise _NotPlain
        budget[0] -= value.size
        h.update(b"A" + value.dtype.str.encode() + repr(value.shape).encode())
        h.update(np.ascontiguousarray(value).reshape(-1).view(np.uint8).data)
        return
    if has_torch() and t is torch.Tensor:
        if value.layout != torch.strided or value.device.type == "meta" or value.is_quantized \
                or value.numel() > budget[0]:
            raise _NotPlain
        from .encode import _digest
        budget[0] -= value.numel()
        h.update(b"X" + str(value.dtype).encode() + repr(tuple(value.shape)).encode()
                 + bytes([value.requires_grad, value.grad is not None]) + _digest(value))
        return
    raise _NotPlain


def follow(table: dict, name: str, value) -> None:
    """``table[name]`` = [value, its digest, where its inner objects are] where ``value`` is plain data; else the
    name is not followed."""
    d = digest(value)
    if d is None:
        table.pop(name, None)
    else:
        table[name] = [value, d, _places(value)]


_MUTABLE = (list, dict, set)


def _places(value, limit: int = 10_000) -> dict:
    """{path: id} of the lists, dicts, sets, arrays and tensors inside ``value``, the value itself at ``()``
    (paths of list indices and int or str dict keys), so that the other side can tell an inner object changed
    in place (an alias of it sees the change) from one replaced by another (an alias keeps the old one)."""
    out = {(): id(value)}
    stack = [((), value)]
    while stack and len(out) < limit:
        path, v = stack.pop()
        items = enumerate(v) if type(v) in (list, tuple) else \
            ((k, x) for k, x in v.items() if type(k) in (int, str)) if type(v) is dict else ()
        for k, x in items:
            t = type(x)
            if t in _MUTABLE or has_numpy() and t is np.ndarray or has_torch() and t is torch.Tensor:
                out[path + (k,)] = id(x)
            if t in (list, tuple, dict):
                stack.append((path + (k,), x))
    return out


def changed(table: dict, get, encode, rebound: bool) -> list:
    """[name, encode(value)] for each name of ``table`` (from :func:`follow`) whose object changed since,
    looked up with ``get(name, default)``; with ``rebound``, a name bound to another object counts as
    changed (``global n`` in the student's code), else it stops being followed (the judge sent it as a
    rebinding already). A name deleted or no longer plain data stops being followed (read again at the
    next cell)."""
    out = []
    for name, (obj, d, places) in list(table.items()):
        now = get(name, _MISSING)
        new = digest(now) if now is not _MISSING and (rebound or now is obj) else None
        if new is None:
            del table[name]
        elif now is not obj or new != d:
            places_now = _places(now)
            # the objects still where they were (the value itself at []): the other side writes into its own
            # objects there, and takes the others as new objects
            kept = [list(p) for p, i in places_now.items() if places.get(p) == i]
            try:
                out.append([name, encode(now), kept])
            except Exception:      # (not expected of plain data)
                del table[name]
                continue
            table[name] = [now, new, places_now]
    return out


def kept_paths(kept) -> set | None:
    """The paths of an entry's third item (:func:`changed`) as a set of tuples; None where the entry has none."""
    if kept is None:
        return None
    if not isinstance(kept, list) or not all(isinstance(p, list) and all(type(k) in (int, str) for k in p)
                                             for p in kept):
        from .wire import ProtocolError
        raise ProtocolError("the places kept are lists of int and str keys")
    return {tuple(p) for p in kept}


def take(table: dict, get, bind, name: str, new, keep: set | None = None) -> None:
    """The other side's state ``new`` of the followed name: written into this side's object where its type
    allows and the other side still has the same object (``()`` in ``keep``: the paths of :func:`changed`),
    else bound (``bind(name, new)``); followed from here on."""
    old = get(name, _MISSING)
    if old is _MISSING or keep is not None and () not in keep or not write(old, new, keep):
        bind(name, new)
        old = new
    follow(table, name, old)


def write(old, new, keep: set | None = None, path: tuple = (), depth: int = 0) -> bool:
    """``old`` takes ``new``'s state in place (True) where both are of one type that can; else False (the
    name is bound to ``new`` instead: a number, a string, a tuple, an array of another shape). The lists,
    dicts, arrays and tensors inside a list or dict are written in place as well, item by item, where the
    other side changed its object there in place (its path in ``keep``; None: everywhere), so that an
    alias of an inner one (``row = grid[1]``) sees the change, and keeps the old one where the other side
    put another object there, as in one kernel."""
    t = type(old)
    if t is not type(new):
        return False
    if t is list:
        old[:] = [_inner(a, b, keep, path + (i,), depth) for i, (a, b) in enumerate(zip(old, new))] + new[len(old):]
    elif t is dict:
        merged = {k: (_inner(old[k], v, keep, path + (k,), depth) if k in old else v) for k, v in new.items()}
        old.clear()
        old.update(merged)          # (in the other side's order)
    elif t is set:
        old.clear()
        old.update(new)
    elif has_numpy() and t is np.ndarray:
        if old.shape != new.shape or old.dtype != new.dtype or not old.flags.writeable:
            return False
        old[...] = new
    elif has_torch() and t is torch.Tensor:
        if not old.is_leaf:
            return False
        from .state import _write
        _write(old, "td", new)
    else:
        return False
    return True


def _inner(old, new, keep: set | None, path: tuple, depth: int):
    """The item to keep at one place of a list or dict: ``old`` written with ``new``'s state where it can be
    (a list, dict, set, array or tensor of the same kind, the same object on the other side), else ``new``."""
    if old is new or depth >= MAX_DEPTH or type(old) is not type(new) or type(old) in _ATOMS \
            or keep is not None and path not in keep:
        return new
    return old if write(old, new, keep, path, depth + 1) else new
