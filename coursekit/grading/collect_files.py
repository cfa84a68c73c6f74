"""A student's other files from an LMS download (a data file they made, a helper module, an image their
notebook opens): imported into ``submitted/<student>/<topic>/`` beside the notebooks, as nbgrader's
zip_collect does with ``FileNameCollectorPlugin.valid_ext`` widened, so that ``nbgrader autograde`` copies
them into the grading folder (``Autograde.exclude_overwriting`` decides which of them the assignment's own
files replace).

Names are never trusted: each path is the student's own (after the part the LMS wrote), NFC-normalised,
refused with a reason when absolute, with ``.``/``..``, control or format characters, a name over 255
bytes or folders deeper than the grader reads; hidden files and folders (``.DS_Store``,
``.ipynb_checkpoints/``), ``__MACOSX/`` and names matching ``CourseDirectory.ignore`` are skipped
quietly. Links and special files are never read (``archive.entry_kind``), mode bits never used.

Where the layout has folders (a folder per student, Moodle's folders, a student's own zip), paths are
kept relative to the folder holding the student's notebooks in the same part of the download
(``alice/hw1/data/x.csv`` with ``alice/hw1/hw1.ipynb`` is ``data/x.csv``); a file outside that folder is
reported. A student's files are imported only with a notebook of theirs from this download, and then
replace the other files an earlier import gave them. A file can never take the place of a notebook or of
the submission time: ``.ipynb`` files are only ever notebooks, and ``timestamp.txt`` (any case) or a
folder named like a notebook at the top of the student's folder is refused.
"""
from __future__ import annotations

import fnmatch
import os
import posixpath
import shutil
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from coursekit.grading import safeio
from coursekit.grading.assignment import MAX_DEPTH
from coursekit.grading.lms import shown

# controls, format characters (bidi overrides, zero-width), surrogates, private use, unassigned, line and
# paragraph separators; spaces are allowed in file names
_BAD_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
HIDDEN = "a hidden or macOS metadata file"
IGNORED = "ignored by CourseDirectory.ignore"


@dataclass
class Other:
    """One of a student's other files, spooled (the content in a private temporary folder)."""
    student: str
    path: str                        # the student's own path (NFC), folders included, from their part
    box: str                         # the part of the download it came from: an LMS folder, a student's zip
    key: str                         # the LMS's identity of the submitter
    date: tuple                      # (the LMS's order, the entry's date): the newer of two is kept
    origin: str
    spooled: Path
    digest: str = ""


def name_problem(path: str, ignore: list[str]) -> tuple[str, str] | None:
    """Why a student's own path cannot be one of their files: ('quiet', reason) for what is not theirs
    (hidden, OS metadata, ignored names), ('problem', reason) for a name refused, or None."""
    parts = path.split("/")
    if path.startswith("/") or (len(path) > 1 and path[1] == ":" and path[0].isalpha()):
        return "problem", "an absolute path"
    if any(p in ("", ".", "..") for p in parts):
        return "problem", "a path with an empty, '.' or '..' part"
    for ch in path:
        if unicodedata.category(ch) in _BAD_CATEGORIES:
            return "problem", f"a name with the character U+{ord(ch):04X} (control or format)"
    if any(len(p.encode("utf-8")) > 255 for p in parts):
        return "problem", "a name longer than 255 bytes"
    if any(p.startswith(".") or p == "__MACOSX" for p in parts):
        return "quiet", HIDDEN
    if any(fnmatch.fnmatchcase(p, pat) for p in parts for pat in ignore):
        return "quiet", IGNORED
    if len(parts) - 1 > MAX_DEPTH:
        return "problem", f"folders nested more than {MAX_DEPTH} deep"
    return None


def _base(dirs: set[str]) -> str:
    """The folder holding the notebooks of one part of the download ('' for its top)."""
    if not dirs:
        return ""
    common = posixpath.commonpath(sorted(dirs)) if all(dirs) else ""
    return common + "/" if common else ""


def place(others: list[Other], notebook_dirs: dict[str, set[str]], students: set[str], sent: set[str],
          notebooks: list[str], report) -> dict[str, dict[str, Other]]:
    """student -> relative path in submitted/<student>/<topic>/ -> the file kept there. ``students``:
    those whose notebooks are imported; ``sent``: those who sent a notebook at all. Every file not
    placed is reported."""
    reserved = {f"{n}.ipynb".casefold() for n in notebooks} | {"timestamp.txt"}
    out: dict[str, dict[str, Other]] = {}
    for other in others:
        where = other.origin
        if other.student not in sent:
            report.problem(f"{where}: not a notebook, and {shown(other.student)} sent no notebook of this "
                           "assignment: skipped")
            continue
        if other.student not in students:
            report.problem(f"{where}: not imported, as no notebook of {shown(other.student)} was: skipped")
            continue
        base = _base(notebook_dirs.get(other.box, set()))
        if not other.path.startswith(base):
            report.problem(f"{where}: outside the folder of {shown(other.student)}'s notebooks "
                           f"({shown(base.rstrip('/'))}): skipped")
            continue
        rel = other.path[len(base):]
        top = rel.split("/", 1)[0].casefold()
        if top in reserved:
            what = "the submission time comes from the LMS or the import, never from a student's file" \
                if top == "timestamp.txt" else "a folder named like one of the assignment's notebooks"
            report.problem(f"{where}: {what}: skipped")
            continue
        mine = out.setdefault(other.student, {})
        old = mine.get(rel)
        if old is not None and old.digest != other.digest:
            keep = other if other.date >= old.date else old
            report.problem(f"two files for {shown(other.student)}'s {shown(rel)} ({old.origin}; {other.origin}): "
                           f"kept the newer ({keep.origin})")
            mine[rel] = keep
        elif old is None:
            mine[rel] = other
    for student, files in out.items():       # a file where another needs a folder: the folder's files win
        folders = {posixpath.dirname(rel) for rel in files}
        folders = {"/".join(f.split("/")[:i + 1]) for f in folders if f for i in range(f.count("/") + 1)}
        for rel in sorted(set(files) & folders):
            report.problem(f"{files[rel].origin}: {shown(student)} has a folder of the same name: skipped")
            del files[rel]
    return out


def replace(root: Path, folder: Path, files: dict[str, Other], notebooks: list[str], report, student: str) -> int:
    """submitted/<student>/<topic>/ gets exactly ``files`` besides its notebooks and timestamp.txt: the
    other files an earlier import wrote there go. Returns how many were written."""
    base = Path(root) / "submitted"
    keep = {f"{n}.ipynb" for n in notebooks} | {"timestamp.txt"}
    for name, kind in safeio.list_dir(folder, below=base):
        if name in keep:
            continue
        path = folder / name
        if kind == "dir":
            shutil.rmtree(path)
        else:
            os.unlink(path)
    written = 0
    for rel, other in sorted(files.items()):
        try:
            target = folder / rel
            safeio.ensure_dir(target.parent, Path(root))
            safeio.write_atomic(target, other.spooled.read_bytes())
            written += 1
        except (safeio.Unsafe, OSError) as exc:
            report.problem(f"{other.origin}: could not be written to {shown(student)}'s folder "
                           f"({shown(str(exc))}): skipped")
    return written
