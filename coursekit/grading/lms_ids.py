"""Who each imported student is in the LMS, per topic: written by the import, read by the LMS export.

``submitted/.coursekit-lms-<topic>.json`` maps a student id to the identity the LMS's own part of the
download's names gave: ``[lms, id, name]`` with the LMS (``canvas``, ``moodle``, ``blackboard``), its
own id of the submitter (Canvas's user id, the gradebook's "ID"; Moodle's participant number of this
assignment, the grading worksheet's "Participant N"; Blackboard's username) and the name it wrote.
An id is never reassigned: a later download of the topic that gives the same student id to another
LMS identity is refused by the import (two people, one folder in submitted/), and the record is
never overwritten. Layouts without an LMS identity (a folder per student, ``--pattern``) record nothing.
"""
from __future__ import annotations

import json
from pathlib import Path

from coursekit.grading import safeio

VERSION = 1
LMS_NAMES = {"canvas": "Canvas user", "moodle": "Moodle participant", "blackboard": "Blackboard user"}


def path(root: Path, topic: str) -> Path:
    return Path(root) / "submitted" / f".coursekit-lms-{topic}.json"


def load(root: Path, topic: str) -> dict[str, tuple[str, str, str]]:
    """student -> (lms, id, name); {} when nothing was recorded (or the file cannot be read)."""
    p = path(root, topic)
    try:
        data = json.loads(safeio.read_file(p.parent, p.name, 64 << 20))
    except (safeio.Unsafe, ValueError, OSError, RecursionError):
        return {}
    if not isinstance(data, dict) or data.get("version") != VERSION or not isinstance(data.get("students"), dict):
        return {}
    out = {}
    for student, ident in data["students"].items():
        if isinstance(ident, list) and len(ident) == 3 and all(isinstance(x, str) for x in ident):
            out[student] = (ident[0], ident[1], ident[2])
    return out


def shown(ident: tuple) -> str:
    return f"{LMS_NAMES.get(ident[0], ident[0])} {ident[1]}"


def differs(known: tuple | None, new: tuple | None) -> bool:
    """Two identities of two different people (a name the LMS spells differently is the same person)."""
    return known is not None and new is not None and tuple(known[:2]) != tuple(new[:2])


def record(root: Path, topic: str, identities: dict[str, tuple]) -> None:
    """Add the students of one import (student -> (lms, id, name)); a recorded identity is kept (the
    import has refused a different one), its name is updated."""
    if not identities:
        return
    current = load(root, topic)
    for student, ident in identities.items():
        if not differs(current.get(student), ident):
            current[student] = tuple(str(x) for x in ident)
    data = {"version": VERSION, "students": {s: list(i) for s, i in sorted(current.items())}}
    p = path(root, topic)
    safeio.write_atomic(p, json.dumps(data, indent=0, ensure_ascii=False).encode("utf-8"), 0o600)
