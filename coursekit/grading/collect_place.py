"""What an LMS import keeps and where it goes: the records of what the walk (``collect_walk``) found, the
choice between two files for one student's notebook, the ids refused (one id for two submitters, ids
that look alike, an id an earlier download gave to someone else), and the writing into
``submitted/<student>/<topic>/`` with the submission time (``timestamp.txt``). See ``collect``."""
from __future__ import annotations

import hashlib
import os
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from coursekit.grading import collect_files, lms_ids, safeio
from coursekit.grading.collect_files import Other
from coursekit.grading.lms import MOODLE_BY_NUMBER, shown, submission_time
from coursekit.grading.sanitize import one_line

MiB = 2**20


@dataclass
class Found:
    student: str
    notebook: str                    # expected name, without .ipynb
    path: Path                       # the content, spooled in a private temporary folder
    digest: str
    key: str                         # the LMS's identity of the submitter
    date: tuple                      # (the LMS's order, the entry's date): the newer of two is kept
    origin: str
    timestamp: str | None = None
    names: tuple | None = None       # (first, last) as the LMS wrote them
    lms: tuple | None = None         # (LMS, its id of the submitter, name): lms_ids, for the grade export


@dataclass
class ImportReport:
    imported: dict[str, list[str]] = field(default_factory=dict)   # student -> notebooks written
    unchanged: list[str] = field(default_factory=list)
    budget_problems: list[str] = field(default_factory=list)       # a budget ran out: shown first
    other_problems: list[str] = field(default_factory=list)
    quiet: dict[str, int] = field(default_factory=dict)            # skipped without a problem: reason -> count
    layouts: list[str] = field(default_factory=list)               # 'upload: layout' per upload
    names: dict[str, tuple] = field(default_factory=dict)          # student -> (first, last), from the LMS
    untimed: list[str] = field(default_factory=list)               # students imported without a submission time
    marked_late: list[str] = field(default_factory=list)           # the LMS says late, records no time (Canvas)
    name_times: int = 0                                            # students timed by the LMS's file names
    files: dict[str, int] = field(default_factory=dict)            # student -> their other files written

    @property
    def problems(self) -> list[str]:
        """Every problem, budget problems first (nothing is dropped)."""
        return self.budget_problems + self.other_problems

    def problem(self, text: str) -> None:
        self.other_problems.append(text)

    def budget(self, text: str) -> None:
        self.budget_problems.append(text)


class Kept:
    """Per student and notebook, the newest file found (spooled in a private folder), the students' other
    files, and what else the walk learnt about the students: their LMS identities, their folder's
    timestamp.txt, the LMS's 'late'."""

    def __init__(self, report: ImportReport, spool: Path, cap: int, notebooks: list[str] = ()):
        self.report = report
        self.spool = spool
        self.cap = cap                                   # the largest notebook read
        self.notebooks = list(notebooks)
        self.others: list[Other] = []                    # every other file read, in the download's order
        self.notebook_dirs: dict[str, set[str]] = {}     # part of the download -> folders of its notebooks
        self.sent: set[str] = set()                      # students who sent a notebook of the topic
        self.found: dict[tuple[str, str], Found] = {}
        self.keys: dict[str, dict[str, str]] = {}       # student -> LMS key -> an origin
        self.stamps: dict[str, str] = {}                 # student -> their folder's timestamp.txt
        self.late: set[str] = set()                      # students the LMS marks late without a time

    def keep(self, new: Found, data: bytes) -> None:
        seen = self.keys.setdefault(new.student, {})
        seen.setdefault(new.key, new.origin)
        key = (new.student, new.notebook)
        old = self.found.get(key)
        if old is not None and old.key != new.key:
            return          # reported once, at the end: one id, two submitters
        new.digest = hashlib.sha256(data).hexdigest()
        if old is not None:
            if old.digest == new.digest:
                return
            keep = new if new.date >= old.date else old
            self.report.problem(f"two files for {shown(new.student)}'s {new.notebook}.ipynb ({old.origin}; "
                                f"{new.origin}): kept the newer ({keep.origin})")
            if keep is old:
                return
            new.path = old.path
        else:
            new.path = self.spool / f"{len(self.found)}.ipynb"
        safeio.write_atomic(new.path, data, 0o600)
        self.found[key] = new

    def other(self, new: Other, data: bytes) -> None:
        """One of a student's other files (placed by ``collect_files.place`` once all is read)."""
        self.keys.setdefault(new.student, {}).setdefault(new.key, new.origin)
        new.digest = hashlib.sha256(data).hexdigest()
        new.spooled = self.spool / f"file-{len(self.others)}"
        safeio.write_atomic(new.spooled, data, 0o600)
        self.others.append(new)

    def conflicts(self) -> None:
        """One id for two submitters (two LMS keys): neither is imported."""
        for student, keys in sorted(self.keys.items()):
            if len(keys) > 1:
                listed = "; ".join(f"{k} ({o})" for k, o in list(keys.items())[:5])
                how = "use --pattern or rename in the LMS"
                if all(k.startswith("participant ") for k in keys):     # Moodle: two names, one slug
                    how = (f"Moodle participants whose names give the same id: rename one in Moodle, or use the "
                           f"participant numbers as ids with --pattern '{MOODLE_BY_NUMBER}'")
                self.report.problem(f"{shown(student)}: one id for {len(keys)} different submitters ({listed}): "
                                    f"none imported ({how})")
                for key in [k for k in self.found if k[0] == student]:
                    del self.found[key]

    def lookalikes(self, existing: list[str]) -> None:
        """Two ids that differ only in case or in a compatibility form of the same letters ('Alice' and
        'alice', fullwidth 'ａｌｉｃｅ', the ligature in 'ﬁona'), in this download or against a student
        already in submitted/: they would be one folder on a case-insensitive disk and look like one
        student to a person. The new ones are not imported."""
        def fold(sid: str) -> str:
            return unicodedata.normalize("NFKC", sid).casefold()

        known: dict[str, set[str]] = {}
        for sid in existing:
            known.setdefault(fold(sid), set()).add(sid)
        new: dict[str, set[str]] = {}
        for student, _ in self.found:
            new.setdefault(fold(student), set()).add(student)
        for key, ids in sorted(new.items()):
            others = known.get(key, set()) - ids
            if len(ids) > 1 or others:
                for student in sorted(ids):
                    like = sorted((ids | others) - {student})
                    self.report.problem(
                        f"{shown(student)}: an id that differs only in case or letter form from "
                        f"{', '.join(shown(o) for o in like[:3])}"
                        f"{' (already in submitted/)' if set(like) & others else ''}: not imported "
                        "(rename in the LMS, or use --pattern)")
                    for k in [k for k in self.found if k[0] == student]:
                        del self.found[k]


def refuse_other_people(root: Path, topic: str, reader: Kept, report: ImportReport) -> None:
    """A student id that an earlier download of this topic gave to another LMS identity (another Canvas
    user, Moodle participant): a different person, whose work would replace the first one's; not imported."""
    known = lms_ids.load(root, topic)
    other = {s: f for (s, _), f in sorted(reader.found.items(), reverse=True) if lms_ids.differs(known.get(s), f.lms)}
    for student, found in sorted(other.items()):
        report.problem(f"{shown(student)}: this download's {lms_ids.shown(found.lms)} ({found.origin}) is not the "
                       f"{lms_ids.shown(known[student])} an earlier download of {topic} imported as "
                       f"{shown(student)}: not imported (two people, one id; rename in the LMS, or use --pattern)")
        for key in [k for k in reader.found if k[0] == student]:
            del reader.found[key]



def write(root: Path, topic: str, reader: Kept, report: ImportReport) -> None:
    """submitted/<student>/<topic>/: the notebooks, and timestamp.txt with the LMS's submission time
    (the newest of the student's notebooks; nbgrader shows it in Formgrader and uses it for late
    penalties); a replaced notebook without a time removes the old time; then the student's other files
    (``collect_files``). The names the LMS gave go to ``report.names``."""
    base = root / "submitted"
    base.mkdir(exist_ok=True)
    times: dict[str, list] = {}
    for (student, notebook), found in sorted(reader.found.items()):
        folder = base / student / topic
        try:
            data = found.path.read_bytes()
            safeio.ensure_dir(folder, root)
            fname = f"{notebook}.ipynb"
            try:
                current = safeio.read_file(folder, fname, reader.cap + 1, below=base)
            except safeio.Unsafe:
                current = None
            if current == data:
                report.unchanged.append(student)
            else:
                safeio.write_atomic(folder / fname, data)
                report.imported.setdefault(student, []).append(fname)
            when = submission_time(found.timestamp)
            times.setdefault(student, [])
            if when is not None:
                times[student].append((when, found.timestamp))
            elif found.timestamp:
                report.problem(f"{found.origin}: the submission time {shown(found.timestamp)!r} is not a date and "
                               "time (YYYY-MM-DD ...): not recorded")
            if found.names and any(found.names):
                report.names[student] = found.names
        except (safeio.Unsafe, OSError, ValueError) as exc:
            report.problem(f"{shown(student)}: could not be written to submitted/ ({one_line(exc, 100)}): skipped")
    report.name_times = sum(1 for stamps in times.values() if stamps)
    for student, stamps in times.items():
        if student in reader.stamps:        # the folder's own timestamp.txt
            stamps.append((submission_time(reader.stamps[student]), reader.stamps[student]))
        if not stamps:
            report.untimed.append(student)
            if student in reader.late:
                report.marked_late.append(student)
    for student, stamps in times.items():
        path = base / student / topic / "timestamp.txt"
        try:
            if stamps:
                safeio.write_atomic(path, max(stamps)[1].strip().encode("utf-8"))
            elif student in report.imported and os.path.lexists(path):
                os.unlink(path)
        except (safeio.Unsafe, OSError) as exc:
            report.problem(f"{shown(student)}: the submission time could not be written ({one_line(exc, 100)})")
    students = set(report.imported) | set(report.unchanged)
    placed = collect_files.place(reader.others, reader.notebook_dirs, students, reader.sent, reader.notebooks, report)
    for student in sorted(students):
        try:
            n = collect_files.replace(root, base / student / topic, placed.get(student, {}), reader.notebooks, report,
                                      student)
        except (safeio.Unsafe, OSError) as exc:
            report.problem(f"{shown(student)}: their other files could not be written ({one_line(exc, 100)})")
            continue
        if n:
            report.files[student] = n
