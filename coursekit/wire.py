"""Every message that crosses a process boundary while grading: typed, versioned, validated, defined once.

The boundaries (docs/DESIGN.md, "How grading works") and what crosses each:

==================  ==========================  ===============================================================
from -> to          carried as                  messages (this module's tables)
==================  ==========================  ===============================================================
host -> slot        ``in/job.json``             ``job``: one submission's job for the slot's driver
slot -> host        ``out/result.json``         ``result``: its scores, flags and log, as data
host <-> slot       lines on stdin / stdout     :func:`control_line` / :func:`parse_control`: ``go``,
                                                ``grade NAME``, ``done NAME``
slot -> kernels     ``$COURSEKIT_KERNEL``,      ``kernel_settings`` (the student's kernel), ``judge_settings``
                    ``$COURSEKIT_JUDGE``        (the judge's)
client <-> worker   Dask task arguments and     ``cluster_run`` (a run, sent once), ``cluster_job`` (one
(``--cluster``)     replies                     submission), ``cluster_reply`` (what its sandbox wrote)
student <-> judge   msgpack frames              ``REQUESTS`` / ``REPLIES`` (``coursekit/judge/wire.py`` frames
                                                them; the tables are here)
==================  ==========================  ===============================================================

Each message is a JSON/msgpack map with ``kind`` and ``v`` (its table's version) besides its fields.
:func:`make` builds one (the sender's own mistakes are found before anything is written) and
:func:`read` checks one that arrived: unknown kind, another version, a missing or unexpected field, a
field of the wrong type raise :class:`MessageError`, whose text says which, in one line. The receiver
treats that as the sender's failure (one submission's, never the run's).

Standard library only: the judge and the student's kernel load this file by path (it is bound into
their sandboxes beside ``coursekit/judge``), where the ``coursekit`` package is not importable.
"""
from __future__ import annotations

import re


class MessageError(ValueError):
    """A message that breaks its table: what is wrong, in one line."""


# -- field types: a type, a tuple of types, or one of these ----------------------------------------
class ListOf:
    def __init__(self, item):
        self.item = item

    def __repr__(self):
        return f"list of {_name(self.item)}"


class MapOf:
    def __init__(self, value):
        self.value = value

    def __repr__(self):
        return f"map of {_name(self.value)}"


class Optional:
    def __init__(self, kind):
        self.kind = kind

    def __repr__(self):
        return f"{_name(self.kind)} (optional)"


NUMBER = (int, float)
ANY = object
STRINGS = ListOf(str)


def _name(kind) -> str:
    if isinstance(kind, tuple):
        return " or ".join(_name(k) for k in kind)
    return kind.__name__ if isinstance(kind, type) else repr(kind)


def _fits(value, kind) -> bool:
    if kind is ANY:
        return True
    if isinstance(kind, Optional):
        return value is None or _fits(value, kind.kind)
    if isinstance(kind, ListOf):
        return isinstance(value, list) and all(_fits(v, kind.item) for v in value)
    if isinstance(kind, MapOf):
        return isinstance(value, dict) and all(isinstance(k, str) and _fits(v, kind.value) for k, v in value.items())
    if isinstance(kind, tuple):
        return any(_fits(value, k) for k in kind)
    if isinstance(value, bool) and kind is not bool:
        return kind is ANY
    return isinstance(value, kind)


# -- the tables: name -> (version, {field: type}); Optional fields may be absent ------------------
MESSAGES: dict[str, tuple[int, dict]] = {
    # host -> slot (coursekit/grading/worker.prepare writes it, coursekit/slot/driver reads it)
    "job": (2, {
        "topic": str, "notebooks": STRINGS, "course_id": str, "ignore": Optional(STRINGS),
        "nbgrader_config": dict, "kernel_argv": STRINGS,
        "extension_seconds": Optional(NUMBER), "modules": MapOf(str),
        "judge_argv": Optional(STRINGS), "judge_imports": Optional(STRINGS),
        "warm": Optional(dict), "kernel_env": Optional(MapOf(str)), "judge_env": Optional(MapOf(str)),
    }),
    # slot -> host (the driver writes it; worker.collect reads it, and checks every score against the gradebook)
    "result": (2, {
        "status": str, "notebooks": dict, "log": list, "failure": Optional(dict),
        "execution": Optional(dict), "kernel": Optional(str),
    }),
    # slot -> the student's kernel ($COURSEKIT_KERNEL, read by coursekit/kernel/start.py)
    "kernel_settings": (1, {
        "fsize": int, "mpl_cache": str,
        "judge_socket": Optional(str), "judge_dir": Optional(str),
        "address_space": Optional(int), "nproc": Optional(int),
    }),
    # slot -> the judge's kernel ($COURSEKIT_JUDGE, read by coursekit/judge/judge_start.py)
    "judge_settings": (1, {"socket": str, "judge_dir": str}),
    # client -> Dask worker (coursekit/grading/cluster.py -> remote.py)
    "cluster_run": (1, {"run": str, "template": bytes, "grading": dict, "sandbox": dict, "fields": dict}),
    "cluster_job": (1, {"job": dict, "timeout": NUMBER}),
    # Dask worker -> client
    "cluster_reply": (1, {
        "status": str, "worker": str, "address": Optional(str), "timed_out": Optional(bool), "ended": Optional(str),
        "oom": Optional(int), "pids_hit": Optional(int), "seconds": Optional(NUMBER), "files": Optional(dict),
        "reason": Optional(str),
    }),
}


def make(kind: str, **fields) -> dict:
    """A checked message of ``kind`` (absent optional fields are left out)."""
    if kind not in MESSAGES:
        raise MessageError(f"unknown message kind {kind!r}")
    msg = {"kind": kind, "v": MESSAGES[kind][0], **{k: v for k, v in fields.items() if v is not None}}
    return read(kind, msg)


def read(kind: str, msg) -> dict:
    """``msg`` checked against the table of ``kind``; :class:`MessageError` says what is wrong."""
    version, table = MESSAGES[kind]
    if not isinstance(msg, dict):
        raise MessageError(f"{kind}: a message must be a map, got {type(msg).__name__}")
    if msg.get("kind") != kind:
        raise MessageError(f"expected a {kind!r} message, got {str(msg.get('kind'))[:40]!r}")
    if msg.get("v") != version:
        raise MessageError(f"{kind}: version {str(msg.get('v'))[:20]}, this end reads version {version} "
                           "(the grader and the sandbox come from different versions of the kit)")
    extra = set(msg) - set(table) - {"kind", "v"}
    if extra:
        raise MessageError(f"{kind}: unexpected fields {sorted(map(str, extra))[:10]}")
    for name, field in table.items():
        if name not in msg:
            if isinstance(field, Optional):
                continue
            raise MessageError(f"{kind}: missing field {name!r}")
        if not _fits(msg[name], field):
            raise MessageError(f"{kind}: field {name!r} must be {_name(field)}, got {type(msg[name]).__name__}")
    return msg


# -- host <-> slot: one line each ----------------------------------------------------------------
#: ``go`` (host -> slot: its sandbox starts, once it is in its cgroup; read by slot.GATE), ``grade NAME``
#: (host -> slot: grade the job in jobs/NAME), ``done NAME`` (slot -> host)
CONTROL = {"go": False, "grade": True, "done": True}
_JOB_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def control_line(op: str, name: str | None = None) -> bytes:
    """One control line, checked."""
    if op not in CONTROL or CONTROL[op] != (name is not None) or name is not None and not _JOB_NAME.fullmatch(name):
        raise MessageError(f"bad control line {op!r} {name!r}")
    return (f"{op} {name}\n" if name is not None else f"{op}\n").encode("ascii")


def parse_control(line: bytes | str, op: str) -> str | None:
    """The job name of a well-formed ``op NAME`` line, else None (anything else on the pipe is ignored)."""
    if isinstance(line, bytes):
        line = line.decode("ascii", "replace")
    parts = line.strip().split(" ")
    if len(parts) == 2 and parts[0] == op and CONTROL.get(op) and _JOB_NAME.fullmatch(parts[1]):
        return parts[1]
    return None


# -- student <-> judge (coursekit/judge/wire.py frames and checks them) ---------------------------
JUDGE_VERSION = 3          # 2: push carries ``sync`` (the student's modules a test cell changed); 3: ``writes``
JUDGE_REQUESTS = {
    "lookup": {"name": str},
    "import": {"name": str},
    "call": {"target": int, "args": list, "kwargs": list, "state": dict, "options": dict},
    "getattr": {"target": int, "name": str},
    "special": {"target": int, "name": str, "args": list},
    "backward": {"graph": int, "grads": list},
    "pull": {},
    "push": {"state": dict, "names": list, "deleted": list, "sync": list, "writes": list},
}
JUDGE_REPLIES = {
    "result": {"value": object, "state": dict, "synced": list, "stdout": str, "info": dict},
    "error": {"error": dict},
}
JUDGE_SPECIAL = ("__len__", "__iter__", "__next__", "__getitem__", "__repr__", "__str__", "__bool__", "__contains__")
JUDGE_ERROR_FIELDS = {"type": str, "module": str, "message": str, "frames": list, "stub": bool}
