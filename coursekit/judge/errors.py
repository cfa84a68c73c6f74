"""Exceptions as data between the judge and the student's kernel: an exception of one end becomes
Python's own type (or :class:`RemoteError`) on the other, with the other end's frames as records."""
from __future__ import annotations

import builtins
import linecache
import os
import traceback
import types

#: the files of the connection's own code, whose frames an error's traceback leaves out
_OWN_FILES = frozenset(os.path.join(os.path.dirname(os.path.abspath(__file__)), name)
                       for name in ("peer.py", "errors.py", "state.py", "rng.py", "proxies.py"))


class RemoteError(Exception):
    """An exception of student code whose type is not one of Python's own."""


class FrameRecord:
    """A frame of the other end's traceback, shaped as utils.checks reads frames."""

    def __init__(self, filename: str, lineno: int, name: str, line: str, library: bool):
        self.f_code = types.SimpleNamespace(co_filename=filename, co_name=name)
        self.f_globals: dict = {}
        self.f_locals: dict = {}          # (what crossed of the other end's locals: see _frame_locals)
        self.f_lineno = lineno
        self.library = library
        if line and not filename.startswith("<"):
            entry = linecache.cache.get(filename)
            lines = list(entry[2]) if entry and len(entry) == 4 and entry[3] == "coursekit-remote" else []
            lines += [""] * max(0, lineno - len(lines))
            lines[lineno - 1] = line + "\n"
            linecache.cache[filename] = (0, None, lines, "coursekit-remote")


_LIBRARY_MARKERS = ("site-packages", "dist-packages", os.sep + "lib" + os.sep + "python")


def _is_library(filename: str) -> bool:
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return filename.startswith(("<frozen",)) or any(m in filename for m in _LIBRARY_MARKERS) or \
        filename.startswith(here) or "/utils/" in filename


MAX_LOCALS = 8                   # locals of one frame that cross (see _frame_locals)
MAX_LOCAL_ELEMENTS = 1_000_000   # elements of a layer's parameters that cross as a frame's ``self``


def _frame_locals(frame) -> dict:
    """What utils.checks.explain reads of a torch.nn layer's ``forward``/``__init__`` frame: the layer
    itself (``self``: a layer of torch.nn without children, by value, as the layer it is on the judge's
    side where it came from there) and its tensor arguments as their dtype and shape only (meta tensors)."""
    from ._lazy import is_module, is_tensor, torch
    from .names import module_class
    found: dict = {}
    for name, value in list(frame.f_locals.items())[:64]:
        if len(found) >= MAX_LOCALS:
            break
        if name == "self" and is_module(value) and module_class(type(value)) is not None and not value._modules \
                and sum(p.numel() for p in value._parameters.values() if p is not None) <= MAX_LOCAL_ELEMENTS:
            found[name] = value
        elif is_tensor(value):
            found[name] = torch.empty(value.shape, dtype=value.dtype, device="meta")
        elif type(value) in (tuple, list) and any(is_tensor(v) for v in value[:MAX_LOCALS]):
            found[name] = tuple(torch.empty(v.shape, dtype=v.dtype, device="meta") for v in value[:MAX_LOCALS]
                                if is_tensor(v))
    return found


def error_info(exc: BaseException, peer=None) -> dict:
    """An exception as data; where ``peer`` is the student's end, with what crosses of the locals of
    torch.nn's frames in it (``locals``: [frame index, value of a dict] pairs)."""
    frames, local = [], []
    walked = [(f, n) for f, n in traceback.walk_tb(exc.__traceback__) if f.f_code.co_filename not in _OWN_FILES]
    for frame, lineno in walked[-40:]:
        code = frame.f_code
        line = linecache.getline(code.co_filename, lineno, frame.f_globals).rstrip("\n")
        frames.append([code.co_filename[:500], int(lineno), code.co_name[:200], line[:500],
                       _is_library(code.co_filename)])
        if peer is not None and code.co_name in ("forward", "__init__") and "torch" in code.co_filename \
                and frames[-1][4]:
            try:
                found = _frame_locals(frame)
                if found:
                    from .values import Encoder
                    enc = Encoder(peer.handle, origins=peer.origins, theirs=peer.session)
                    local.append([len(frames) - 1, enc(found)])
            except Exception:  # noqa: BLE001 - locals are an extra: an error's own information goes on
                pass
    try:
        text = str(exc)
    except Exception:  # noqa: BLE001
        text = "<unprintable>"
    cls = type(exc)
    return {"type": cls.__name__[:100], "module": cls.__module__[:100], "message": text[:4000],
            "frames": frames, "stub": False, **({"locals": local} if local else {}),
            **({"spy": exc.__coursekit_spy__} if isinstance(getattr(exc, "__coursekit_spy__", None), str) else {}),
            **({"mode_records": exc.__coursekit_modes__} if isinstance(getattr(exc, "__coursekit_modes__", None), list)
               else {})}


_NOT_REBUILT = (SystemExit, KeyboardInterrupt, GeneratorExit)


def rebuild_error(info: dict, peer=None) -> BaseException:
    """The other end's exception as one of this side's: Python's own type where the name is one of
    its exceptions, else RemoteError; with the other end's frames (``__coursekit_frames__``) and, where
    ``peer`` is the judge's end, what crossed of their locals."""
    cls = getattr(builtins, info["type"], None) if info["module"] == "builtins" else None
    if not (isinstance(cls, type) and issubclass(cls, BaseException)) or issubclass(cls, _NOT_REBUILT):
        cls = RemoteError
    try:
        exc = cls(info["message"])
    except Exception:  # noqa: BLE001 - exception types whose constructor wants more
        exc = RemoteError(info["message"])
    if cls is RemoteError and info["type"] != "RemoteError":
        exc.__coursekit_type__ = info["type"]
    exc.__coursekit_frames__ = [FrameRecord(*f) for f in info["frames"]]
    if peer is not None and "locals" in info:
        _set_locals(exc.__coursekit_frames__, info["locals"], peer)
    if isinstance(info.get("spy"), str):
        exc.__coursekit_spy__ = info["spy"]
    return exc


def _set_locals(records: list, local, peer) -> None:
    """Checked like every value (a malformed one is a ProtocolError: the one test fails with it); the
    judge's own objects referred to come as they are here, never changed by what the student sent."""
    from ._lazy import is_module, is_tensor
    from .values import Decoder
    from .wire import ProtocolError
    if not isinstance(local, list) or len(local) > len(records):
        raise ProtocolError("error: locals must be a list of [frame, locals], one at most per frame")
    for entry in local:
        if not (isinstance(entry, list) and len(entry) == 2 and type(entry[0]) is int
                and 0 <= entry[0] < len(records)):
            raise ProtocolError("error: locals are [frame index, value] pairs")
        found = Decoder(peer.proxy, peer.own, session=peer.session, mine=peer.origins, as_is=True)(entry[1])

        def meta(v):
            return is_tensor(v) and v.device.type == "meta"
        if not (isinstance(found, dict) and len(found) <= MAX_LOCALS and all(
                isinstance(k, str) and (meta(v) or k == "self" and is_module(v)
                                        or type(v) is tuple and all(map(meta, v))) for k, v in found.items())):
            raise ProtocolError("error: a frame's locals are its layer and meta tensors")
        records[entry[0]].f_locals = found
