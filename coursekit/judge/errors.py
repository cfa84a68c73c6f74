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
        self.f_locals: dict = {}          # (the other end's locals do not cross)
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


def error_info(exc: BaseException) -> dict:
    frames = []
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        code = frame.f_code
        if code.co_filename in _OWN_FILES:
            continue
        line = linecache.getline(code.co_filename, lineno, frame.f_globals).rstrip("\n")
        frames.append([code.co_filename[:500], int(lineno), code.co_name[:200], line[:500],
                       _is_library(code.co_filename)])
    try:
        text = str(exc)
    except Exception:  # noqa: BLE001
        text = "<unprintable>"
    cls = type(exc)
    return {"type": cls.__name__[:100], "module": cls.__module__[:100], "message": text[:4000],
            "frames": frames[-40:], "stub": False,
            **({"spy": exc.__coursekit_spy__} if isinstance(getattr(exc, "__coursekit_spy__", None), str) else {}),
            **({"mode_records": exc.__coursekit_modes__} if isinstance(getattr(exc, "__coursekit_modes__", None), list)
               else {})}


_NOT_REBUILT = (SystemExit, KeyboardInterrupt, GeneratorExit)


def rebuild_error(info: dict) -> BaseException:
    """The other end's exception as one of this side's: Python's own type where the name is one of
    its exceptions, else RemoteError; with the other end's frames (``__coursekit_frames__``)."""
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
    if isinstance(info.get("spy"), str):
        exc.__coursekit_spy__ = info["spy"]
    return exc

