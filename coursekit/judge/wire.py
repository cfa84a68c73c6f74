"""The student-judge protocol: framing and checking of its messages (their tables are in coursekit/wire.py).

Both ends load this package: the judge kernel (graded test cells) and the student's kernel (which
serves the judge's requests). Nothing crosses as a pickle or as code: a message is one msgpack map
(strings, numbers, booleans, lists, maps and raw bytes only), framed by an 8-byte length, read
within caps, and checked against the table below before anything acts on it. A message that breaks
a rule raises :class:`ProtocolError`; on the judge's side that fails the one test that was waiting.

Requests (``op``) and what they carry besides ``v``, ``op`` and ``id``:

============  =================================================================================
``lookup``    ``name``: a notebook variable of the student's kernel (the reply's value, or MISSING)
``import``    ``name``: a module of the student's own files, imported in the student's kernel (a handle)
``call``      ``target`` (a handle of the receiver), ``args``, ``kwargs``, ``state`` (the caller's
              random generators and gradient mode), ``options`` (``autograd``, ``forbid``)
``getattr``   ``target``, ``name`` (served by the student's kernel only)
``special``   ``target``, ``name`` (one of SPECIAL: ``__len__``, ``__iter__`` ...), ``args``
``backward``  ``graph``, ``grads``: gradients of a remote call's outputs, for its inputs' gradients
``pull``      -- the student kernel's state at the start of a judge cell (generators, gradient
              mode, the last cell's error)
``push``      ``state``, ``names``, ``deleted``, ``sync``, ``writes``: the state and notebook names the judge
              leaves at a cell's end, a test cell's own ``del name`` and ``name = ...`` of the student's names,
              the student's modules the cell changed (also sent with each ``call``, in ``options``), and what
              it changed in the student's plain data it read (``[name, value]``, written in place: tracked.py)
============  =================================================================================

Replies: ``result`` (``id``, ``value``, ``state``, ``synced``, ``stdout``, ``info``: the graph of
outputs that need gradients, what ``call``'s spy saw, each instrument mode's ``record``, the plain-data
names the call changed) or ``error`` (``id``, ``error``: the exception's type, message and the student's
frames, the spy's and the modes' findings, the names the call changed before it failed).
"""
from __future__ import annotations

import struct

import msgpack

def _tables():
    """coursekit/wire.py, where every message of the kit is defined: imported on the host, loaded by path
    in the kernels (bound beside this package as ``coursekit_wire.py``; in the source tree it is
    ``../wire.py``)."""
    try:
        from coursekit import wire
        return wire
    except ImportError:
        pass
    import importlib.util
    import os
    import sys
    if "coursekit_wire" in sys.modules:
        return sys.modules["coursekit_wire"]
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for name in ("coursekit_wire.py", "wire.py"):
        path = os.path.join(top, name)
        if os.path.isfile(path):
            spec = importlib.util.spec_from_file_location("coursekit_wire", path)
            module = importlib.util.module_from_spec(spec)
            sys.modules["coursekit_wire"] = module
            spec.loader.exec_module(module)
            return module
    raise ImportError(f"coursekit/wire.py is not beside {os.path.dirname(os.path.abspath(__file__))}")


_wire = _tables()
VERSION = _wire.JUDGE_VERSION
REQUESTS = _wire.JUDGE_REQUESTS
REPLIES = _wire.JUDGE_REPLIES
SPECIAL = _wire.JUDGE_SPECIAL
ERROR_FIELDS = _wire.JUDGE_ERROR_FIELDS

MAX_FRAME = 768 << 20        # one message (a batch of MNIST images is 15 MB)
MAX_DEPTH = 48               # nesting of values
MAX_ITEMS = 2_000_000        # elements of one tensor or array, and items of one container
MAX_HANDLES = 100_000        # objects one side may hand out
MAX_TEXT = 1 << 20           # one string


class ProtocolError(Exception):
    """A message that breaks the protocol (too large, malformed, of an unknown type or version)."""


def message(op: str, id: int, **fields) -> dict:
    """A checked message (the sender's own mistakes are found before the bytes leave)."""
    msg = {"v": VERSION, "op": op, "id": id, **fields}
    validate(msg)
    return msg


def validate(msg) -> dict:
    if not isinstance(msg, dict):
        raise ProtocolError(f"a message must be a map, got {type(msg).__name__}")
    if msg.get("v") != VERSION:
        raise ProtocolError(f"protocol version {msg.get('v')!r}, this end speaks {VERSION}")
    op = msg.get("op")
    table = REQUESTS.get(op) if isinstance(op, str) else None
    if table is None:
        table = REPLIES.get(op) if isinstance(op, str) else None
    if table is None:
        raise ProtocolError(f"unknown message type {op!r}")
    if not isinstance(msg.get("id"), int) or isinstance(msg.get("id"), bool):
        raise ProtocolError(f"{op}: the id must be an integer")
    extra = set(msg) - set(table) - {"v", "op", "id"}
    if extra:
        raise ProtocolError(f"{op}: unexpected fields {sorted(extra)}")
    for name, kind in table.items():
        if name not in msg:
            raise ProtocolError(f"{op}: missing field {name!r}")
        if kind is not object and (not isinstance(msg[name], kind) or isinstance(msg[name], bool) and kind is int):
            raise ProtocolError(f"{op}: field {name!r} must be {kind.__name__}, got {type(msg[name]).__name__}")
    if op == "special" and msg["name"] not in SPECIAL:
        raise ProtocolError(f"special: {msg['name']!r} is not one of {SPECIAL}")
    if op == "error":
        check_error_info(msg["error"])
    return msg


def check_error_info(err) -> dict:
    """An exception as data: its type's name and module, its message, its frames."""
    if not isinstance(err, dict):
        raise ProtocolError("an error must be a map")
    for name, kind in ERROR_FIELDS.items():
        if not isinstance(err.get(name), kind):
            raise ProtocolError(f"error: field {name!r} must be {kind.__name__}")
    if len(err["frames"]) > 100:
        raise ProtocolError("error: more than 100 frames")
    for frame in err["frames"]:
        if not (isinstance(frame, list) and len(frame) == 5 and isinstance(frame[0], str)
                and type(frame[1]) is int and 0 < frame[1] < 10**7 and isinstance(frame[2], str)
                and isinstance(frame[3], str) and isinstance(frame[4], bool)):
            raise ProtocolError("error: a frame is [file, line, function, source, library]")
    return err


def send(sock, msg: dict) -> None:
    data = msgpack.packb(msg, use_bin_type=True)
    if len(data) > MAX_FRAME:
        raise ProtocolError(f"a message of {len(data) >> 20} MB is over the cap of {MAX_FRAME >> 20} MB")
    sock.sendall(struct.pack("!Q", len(data)))
    sock.sendall(data)


def _exactly(sock, n: int) -> bytes:
    __tracebackhide__ = True      # (an interrupt while waiting shows the test cell's line, not these)
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        k = sock.recv_into(view[got:], n - got)
        if not k:
            raise ProtocolError("the other end closed the connection")
        got += k
    return bytes(buf)


def receive(sock) -> dict:
    __tracebackhide__ = True
    (n,) = struct.unpack("!Q", _exactly(sock, 8))
    if n > MAX_FRAME:
        raise ProtocolError(f"a message of {n >> 20} MB is over the cap of {MAX_FRAME >> 20} MB")
    try:
        msg = msgpack.unpackb(_exactly(sock, n), raw=False, strict_map_key=False, use_list=True,
                              max_str_len=MAX_TEXT, max_bin_len=MAX_FRAME, max_array_len=MAX_ITEMS,
                              max_map_len=MAX_ITEMS, max_ext_len=0)
    except ProtocolError:
        raise
    except Exception as exc:
        raise ProtocolError(f"not a well-formed message ({type(exc).__name__}: {str(exc)[:200]})") from None
    return validate(msg)
