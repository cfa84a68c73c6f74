"""Importing an LMS download into submitted/, entry by entry: one upload never hides the rest of the class.

The download is a zip (or a folder of files and zips). Each entry's *name* decides whose it is (only
the part the LMS wrote, see ``lms``) and which notebook it is (the student's own file name); its
*content* is read (size-capped) and written by the grader to ``submitted/<student>/<topic>/<notebook>.ipynb``,
so nothing of the archive's paths, links or mode bits reaches the disk (no zip-slip, no setuid
files). The archive itself is never copied into the course and is not visible to student code.

* a student's own zip (``<LMS prefix>work.zip``) is searched for the topic's notebooks and counts
  for that student only, whatever its entries are called; a zip inside it is refused;
* ``.gz`` is decompressed (size-capped, at most ``KitGrading.max_archive_depth`` archives deep).

Budgets (``KitGrading``): each upload (the download, each LMS zip in a folder) has its own
(``max_download_entries``, ``max_download_mb``), and each student their own (``max_student_entries``,
``max_student_mb``, a student's zip included): running out of one costs only that student's or that
upload's entries, and says so first (``ImportReport.budget_problems``). Two files for one student's
notebook from one submitter: the newer by the LMS's order (attempt time or id, then the entry's date)
is kept and both are named; one id for two submitters (two LMS keys): neither is imported. Every
entry that is not imported is reported with the reason (``ImportReport.problems``, nothing dropped).
What the LMS's part of a name says about the student goes on: the name (``ImportReport.names``, for
the gradebook) and the submission time (``timestamp.txt``, which nbgrader reads).
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from coursekit.grading import archive, lms_ids, safeio
from coursekit.grading.lms import (LMS_PATTERN_HELP, MOODLE_BY_NUMBER, Generic, Named, Pattern,  # noqa: F401
                                   detect, invalid_student_id, lms_regexp, notebook_of, shown, submission_time)
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

    @property
    def problems(self) -> list[str]:
        """Every problem, budget problems first (nothing is dropped)."""
        return self.budget_problems + self.other_problems

    def problem(self, text: str) -> None:
        self.other_problems.append(text)

    def budget(self, text: str) -> None:
        self.budget_problems.append(text)


class _Budget:
    def __init__(self, what: str, setting: str, entries: int, mb: float):
        self.what, self.setting = what, setting
        self.max_entries, self.max_bytes = entries, int(mb * MiB)
        self.entries = self.bytes = 0
        self.skipped = 0                 # entries not read once the budget ran out
        self.reason: str | None = None   # why it ran out

    def left(self) -> int:
        return max(0, self.max_bytes - self.bytes)


class _Reader:
    """Walks uploads entry by entry and keeps, per student and notebook, the newest."""

    def __init__(self, notebooks, pattern, settings, report: ImportReport, spool: Path, progress=None):
        self.notebooks = notebooks
        self.pattern = Pattern(pattern) if pattern else None
        self.s = settings
        self.cap = int(settings.max_notebook_mb * MiB)
        self.report = report
        self.spool = spool
        self.progress = progress
        self.found: dict[tuple[str, str], Found] = {}
        self.keys: dict[str, dict[str, str]] = {}       # student -> LMS key -> an origin
        self.students: dict[str, _Budget] = {}
        self.topic = ""
        self.stamps: dict[str, str] = {}                 # student -> their folder's timestamp.txt
        self.late: set[str] = set()                      # students the LMS marks late without a time

    # -- budgets ----------------------------------------------------------------------------
    def student_budget(self, student: str) -> _Budget:
        if student not in self.students:
            self.students[student] = _Budget(f"{shown(student)}'s entries", "max_student", self.s.max_student_entries,
                                             self.s.max_student_mb)
        return self.students[student]

    def count(self, budgets: list[_Budget]) -> bool:
        """One more entry for each budget; False (and counted as skipped) when one has run out."""
        for b in budgets:
            b.entries += 1
        for b in budgets:
            if b.reason is None and b.entries > b.max_entries:
                b.reason = f"more than {b.max_entries} entries (KitGrading.{b.setting}_entries)"
            if b.reason is not None:
                b.skipped += 1
                return False
        return True

    def spend(self, budgets: list[_Budget], n: int) -> None:
        for b in budgets:
            b.bytes += n

    def limit(self, budgets: list[_Budget], cap: int) -> tuple[int, _Budget | None]:
        """How much the next read may take, and the budget that sets it (None: the size cap)."""
        low, who = cap, None
        for b in budgets:
            if b.left() < low:
                low, who = b.left(), b
        return low, who

    # -- an upload --------------------------------------------------------------------------
    def upload(self, name: str, items: list[tuple[str, object, tuple]]) -> None:
        """Read one upload: (path, read, date) per entry, in order."""
        budget = _Budget(f"the upload {shown(name)}", "max_download", self.s.max_download_entries,
                         self.s.max_download_mb)
        real = [(p.replace("\\", "/"), r, d) for p, r, d in items]
        if self.pattern is not None:
            layout, top = self.pattern, ""
        else:
            layout, top = detect([p for p, _, _ in real if not self._quiet(p, count=False) and not self._bad_name(p)])
        self.report.layouts.append(f"{shown(name)}: {layout.name}" + (f" (in {shown(top)})" if top else ""))
        late: set[str] = set()
        for path, read, date in real:
            if self.progress is not None:
                self.progress.update(1)
            if self._quiet(path):
                continue
            rel = path[len(top):] if top and path.startswith(top) else path
            bad = self._bad_name(path)
            named, rest, layers = (None, rel, 0) if bad else self._name(layout, rel)
            if budget.reason is not None or budget.entries >= budget.max_entries:
                self.count([budget])
                if named is not None:
                    late.add(named.student)
                continue
            if named is None:
                budget.entries += 1
                if bad:
                    self.report.problem(f"{name}: {shown(path)}: {bad}: skipped")
                    continue
                kind = rest.lower().endswith((".ipynb", ".zip"))
                self.report.problem(f"{name}: {shown(path)}: " + ("the name does not match the layout "
                                    f"({layout.name})" if kind else "not a notebook") + ": skipped")
                continue
            sb = self.student_budget(named.student)
            if not self.count([budget, sb]):
                continue
            self.entry(named, rest, layers, read, date, f"{name}: {shown(path)}", [budget, sb], depth=1)
        if budget.reason is not None or budget.skipped:
            who = ", ".join(shown(s) for s in sorted(late)[:50]) + (" …" if len(late) > 50 else "")
            self.report.budget(f"{name}: {budget.reason or 'budget ran out'}: {budget.skipped} entr"
                               f"{'y' if budget.skipped == 1 else 'ies'} not read"
                               + (f" (students: {who})" if who else ""))

    def _quiet(self, path: str, count: bool = True) -> bool:
        base = path.rstrip("/").rsplit("/", 1)[-1]
        why = ("a folder" if path.endswith("/") else "a hidden or macOS metadata file"
               if base.startswith(".") or "__MACOSX/" in path or path.startswith("__MACOSX") else None)
        if why and count:
            self.report.quiet[why] = self.report.quiet.get(why, 0) + 1
        return why is not None

    def _bad_name(self, path: str) -> str | None:
        if len(path) > self.s.max_name_length or "\0" in path:
            return f"an entry name longer than {self.s.max_name_length} characters or with NUL"
        return None

    def _name(self, layout, path: str) -> tuple[Named | None, str, int]:
        """The entry's name read by ``layout`` once its '.gz' layers are removed."""
        layers = 0
        while path.lower().endswith(".gz") and layers <= self.s.max_archive_depth:
            path, layers = path[:-3], layers + 1
        try:
            return layout.parse(path), path, layers
        except (re.error, RecursionError, IndexError) as exc:     # a --pattern gone wrong
            self.report.problem(f"{shown(path)}: the pattern failed ({one_line(exc, 80)})")
            return None, path, layers

    # -- one entry --------------------------------------------------------------------------
    def entry(self, named: Named, path, layers, read, date, where, budgets, depth, owner=None) -> None:
        if named.receipt:
            self.report.quiet["an LMS receipt"] = self.report.quiet.get("an LMS receipt", 0) + 1
            return
        if layers + depth > self.s.max_archive_depth:
            self.report.budget(f"{where}: more than {self.s.max_archive_depth} archives deep "
                               "(KitGrading.max_archive_depth): skipped")
            return
        student = unicodedata.normalize("NFC", named.student)
        bad = invalid_student_id(student, self.s.max_student_id_length)
        if bad and named.names and not student:
            bad = f"the name {shown(' '.join(filter(None, named.names)))!r} has no letter or digit to make an id of"
        if bad:
            self.report.problem(f"{where}: {bad}: skipped")
            return
        file = path if owner is not None else (named.file if named.file else path)
        if named.stamp_file and owner is None:
            self._stamp(student, file, read, where, budgets, layers)
            return
        if file.lower().endswith(".zip"):
            if owner is not None:
                self.report.problem(f"{where}: a zip inside a student's zip: skipped")
                return
            self._own_zip(named, student, read, layers, where, budgets, depth + layers + 1)
            return
        if named.notebook is not None and owner is None:
            notebook = named.notebook if named.notebook in self.notebooks else None
        else:
            notebook = notebook_of(file, self.notebooks)
        if notebook is None:
            base = file.rsplit("/", 1)[-1]
            why = "not a notebook" if not base.endswith(".ipynb") else "not one of the topic's notebooks"
            self.report.problem(f"{where}: {why}: skipped")
            return
        if owner is not None:
            other = Generic().parse(file.rsplit("/", 1)[-1])
            if other is not None and other.student != owner and notebook_of(other.file, self.notebooks):
                self.report.problem(f"{where}: a file named for {shown(other.student)} inside {shown(owner)}'s zip: "
                                    "skipped")
                return
        data = self._read(read, where, budgets, layers)
        if data is None:
            return
        key = unicodedata.normalize("NFC", named.key)
        if named.late:
            self.late.add(student)
        self._keep(Found(student, notebook, Path(), "", key, (named.order, tuple(date)), where,
                         self._zoned(named.timestamp), named.names, named.lms), data)

    def _zoned(self, text: str | None) -> str | None:
        """A time from the LMS's file names ('2024-01-02 10:00:00', Blackboard's) in the LMS's time zone
        (KitGrading.lms_time_zone), written as nbgrader's timestamp.txt reads a zone."""
        zone = str(getattr(self.s, "lms_time_zone", "UTC")).strip()
        if text and zone.upper() != "UTC" and re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", text.strip()):
            return f"{text.strip()} {zone}"
        return text

    def _stamp(self, student: str, file: str, read, where: str, budgets, layers: int) -> None:
        """nbgrader's timestamp.txt in a folder per student ('<student>/timestamp.txt' or, as nbgrader's
        submitted/ has it, '<student>/<topic>/timestamp.txt'): the submission time."""
        if file not in ("timestamp.txt", f"{self.topic}/timestamp.txt"):
            self.report.problem(f"{where}: not the submission time of {shown(self.topic)} (a timestamp.txt belongs "
                                f"in <student>/ or <student>/{shown(self.topic)}/): skipped")
            return
        data = self._read(read, where, budgets, layers, cap=4096)
        if data is None:
            return
        text = data.decode("utf-8", "replace").strip()
        if submission_time(text) is None:
            self.report.problem(f"{where}: the submission time {shown(text)!r} is not a date and time "
                                "(YYYY-MM-DD ...): not recorded")
            return
        self.stamps[student] = text

    def _read(self, read, where: str, budgets, layers: int = 0, cap: int | None = None) -> bytes | None:
        cap = self.cap if cap is None else cap
        limit, who = self.limit(budgets, cap)
        try:
            data = archive.read_limited(read, limit, layers)
        except archive.TooBig as exc:
            self.spend(budgets, exc.read)
            if who is None:
                self.report.problem(f"{where}: larger than {cap / MiB:g} MiB: skipped")
            else:
                self.report.budget(f"{where}: {who.what} would exceed {who.max_bytes / MiB:g} MiB "
                                   f"(KitGrading.{who.setting}_mb): skipped")
            return None
        except Exception as exc:       # noqa: BLE001 - corrupt data, any codec error: this entry only
            self.report.problem(f"{where}: unreadable ({one_line(f'{type(exc).__name__}: {exc}', 120)}): skipped")
            return None
        self.spend(budgets, len(data))
        return data

    def _own_zip(self, named: Named, student: str, read, layers, where, budgets, depth) -> None:
        data = self._read(read, where, budgets, layers, cap=int(self.s.max_student_mb * MiB))
        if data is None:
            return
        try:
            infos = archive.zip_infos(data, self.s.max_student_entries, self.s.max_name_length)
        except archive.TooMany as exc:
            self.report.budget(f"{where}: {shown(student)}'s zip has {exc} entries, more than the "
                               f"{self.s.max_student_entries} a student may have (KitGrading.max_student_entries): "
                               "nothing imported from it")
            return
        except Exception as exc:       # noqa: BLE001
            self.report.problem(f"{where}: not a readable zip ({one_line(f'{type(exc).__name__}: {exc}', 120)}): "
                                "skipped")
            return
        zf, infos = infos
        with zf:
            for info in infos:
                if self._quiet(info.filename):
                    continue
                if not self.count(budgets):
                    continue
                bad = self._bad_name(info.filename)
                if bad:
                    self.report.problem(f"{where} › {shown(info.filename)}: {bad}: skipped")
                    continue
                inner, inner_path, inner_layers = self._name(Generic(), info.filename)
                self.entry(named, inner_path, inner_layers, archive.zip_reader(zf, info), info.date_time,
                           f"{where} › {shown(info.filename)}", budgets, depth, owner=student)

    def _keep(self, new: Found, data: bytes) -> None:
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


def import_download(root: Path, topic: str, source: Path, notebooks: list[str], settings,
                    pattern: str | None = None, progress=None) -> ImportReport:
    """Import an LMS download into submitted/ (see the module's docstring)."""
    report = ImportReport()
    zone = str(getattr(settings, "lms_time_zone", "UTC")).strip()
    if zone.upper() != "UTC":
        import dateutil.tz
        if dateutil.tz.gettz(zone) is None:
            raise SystemExit(f"c.KitGrading.lms_time_zone = {zone!r} is not a time zone (e.g. 'Europe/Berlin', "
                             "'America/New_York', 'UTC')")
    if pattern:
        try:
            rx = re.compile(pattern)
        except re.error as exc:
            raise SystemExit(f"--pattern: not a regular expression ({exc})") from None
        if not {"student_id", "file_id"} <= set(rx.groupindex):
            raise SystemExit("--pattern must define the groups (?P<student_id>...) and (?P<file_id>...)")
    with tempfile.TemporaryDirectory(prefix="coursekit-import-") as spool:
        os.chmod(spool, 0o700)
        reader = _Reader(notebooks, pattern, settings, report, Path(spool), progress)
        reader.topic = topic
        archive.read_source(Path(source), reader, report)
        reader.conflicts()
        folder = Path(root) / "submitted"
        reader.lookalikes(sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.is_symlink())
                          if folder.is_dir() else [])
        for b in reader.students.values():
            if b.skipped and b.reason:
                report.budget(f"{b.what}: {b.reason}: {b.skipped} more skipped")
        _refuse_other_people(Path(root), topic, reader, report)
        _write(Path(root), topic, reader, report)
        written = set(report.imported) | set(report.unchanged)
        try:
            lms_ids.record(Path(root), topic,
                           {s: f.lms for (s, _), f in reader.found.items() if f.lms and s in written})
        except (safeio.Unsafe, OSError) as exc:
            report.problem(f"the students' LMS ids could not be recorded ({one_line(exc, 100)}): the LMS grade export "
                           "will not find them")
    return report


def _refuse_other_people(root: Path, topic: str, reader: _Reader, report: ImportReport) -> None:
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


def _write(root: Path, topic: str, reader: _Reader, report: ImportReport) -> None:
    """submitted/<student>/<topic>/: the notebooks, and timestamp.txt with the LMS's submission time
    (the newest of the student's files; nbgrader shows it in Formgrader and uses it for late
    penalties); a replaced notebook without a time removes the old time. The names the LMS gave go
    to ``report.names``."""
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
