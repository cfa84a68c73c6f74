"""The walk through an LMS download, entry by entry, within its budgets: each upload's layout, whose each
entry is and which notebook, a student's own zip, .gz layers, every byte read size-capped. What is found
goes to ``collect_place.Kept``; every entry not imported is reported. See ``collect``."""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from coursekit.grading import archive, collect_files
from coursekit.grading.collect_files import Other
from coursekit.grading.collect_place import Found, ImportReport, Kept
from coursekit.grading.lms import (Generic, Named, Pattern, detect, invalid_student_id, notebook_of, shown,
                                   submission_time)
from coursekit.grading.sanitize import one_line

MiB = 2**20


class _Budget:
    def __init__(self, what: str, setting: str, entries: int, mb: float):
        self.what, self.setting = what, setting
        self.max_entries, self.max_bytes = entries, int(mb * MiB)
        self.entries = self.bytes = 0
        self.skipped = 0                 # entries not read once the budget ran out
        self.reason: str | None = None   # why it ran out

    def left(self) -> int:
        return max(0, self.max_bytes - self.bytes)


class Reader:
    """Walks uploads entry by entry; what it finds goes to ``self.kept`` (the newest per student and notebook)."""

    def __init__(self, notebooks, pattern, settings, report: ImportReport, spool: Path, progress=None):
        self.notebooks = notebooks
        self.pattern = Pattern(pattern) if pattern else None
        self.s = settings
        self.cap = int(settings.max_notebook_mb * MiB)
        self.report = report
        self.progress = progress
        self.kept = Kept(report, spool, self.cap, notebooks)
        self.students: dict[str, _Budget] = {}
        self.topic = ""
        self.ignore: list[str] = []                      # CourseDirectory.ignore: names never a student's file

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
            self.entry(named, rest, layers, read, date, f"{name}: {shown(path)}", [budget, sb], depth=1,
                       box=f"{name}\0{named.key}", raw=rel)
        if budget.reason is not None or budget.skipped:
            who = ", ".join(shown(s) for s in sorted(late)[:50]) + (" …" if len(late) > 50 else "")
            self.report.budget(f"{name}: {budget.reason or 'budget ran out'}: {budget.skipped} entr"
                               f"{'y' if budget.skipped == 1 else 'ies'} not read"
                               + (f" (students: {who})" if who else ""))

    def _quiet(self, path: str, count: bool = True) -> bool:
        parts = path.rstrip("/").split("/")
        hidden = any(p.startswith(".") and p not in (".", "..") for p in parts[:-1])      # .ipynb_checkpoints/
        why = ("a folder" if path.endswith("/") else collect_files.HIDDEN
               if parts[-1].startswith(".") or hidden or "__MACOSX" in parts[:-1] else None)
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
    def entry(self, named: Named, path, layers, read, date, where, budgets, depth, owner=None, box="",
              raw="") -> None:
        """One entry: ``path`` its name once ``layers`` '.gz' are removed (``raw``: as it came), ``box`` the
        part of the download it is in (an LMS folder, a student's zip), ``owner`` the zip's student."""
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
            if file.rsplit("/", 1)[-1].lower().endswith(".ipynb"):
                self.report.problem(f"{where}: not one of the topic's notebooks: skipped")
            else:       # the student's own file, as it came (a .gz stays one)
                suffix = raw[len(path):] if raw.startswith(path) else ""
                self._other(named, student, file + suffix, read, date, where, budgets, box)
            return
        if owner is not None:
            other = Generic().parse(file.rsplit("/", 1)[-1])
            if other is not None and other.student != owner and notebook_of(other.file, self.notebooks):
                self.report.problem(f"{where}: a file named for {shown(other.student)} inside {shown(owner)}'s zip: "
                                    "skipped")
                return
        self.kept.sent.add(student)     # the student's other files in this part are read from its folder
        self.kept.notebook_dirs.setdefault(box, set()).add(unicodedata.normalize("NFC", file.rpartition("/")[0]))
        data = self._read(read, where, budgets, layers)
        if data is None:
            return
        key = unicodedata.normalize("NFC", named.key)
        if named.late:
            self.kept.late.add(student)
        self.kept.keep(Found(student, notebook, Path(), "", key, (named.order, tuple(date)), where,
                         self._zoned(named.timestamp), named.names, named.lms), data)

    def _other(self, named: Named, student: str, file: str, read, date, where: str, budgets, box: str) -> None:
        """One of the student's other files (``collect_files``): its name checked, its content read raw."""
        path = unicodedata.normalize("NFC", file)
        why = collect_files.name_problem(path, self.ignore)
        if why is not None:
            if why[0] == "quiet":
                self.report.quiet[why[1]] = self.report.quiet.get(why[1], 0) + 1
            else:
                self.report.problem(f"{where}: {why[1]}: skipped")
            return
        data = self._read(read, where, budgets, 0, cap=int(self.s.max_student_mb * MiB))
        if data is None:
            return
        self.kept.other(Other(student, path, box, unicodedata.normalize("NFC", named.key), (named.order, tuple(date)),
                              where, Path()), data)

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
        self.kept.stamps[student] = text

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
        except archive.NotAFile as exc:
            self.report.problem(f"{where}: {exc}: skipped")
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
                fname = info.filename.replace("\\", "/")
                if self._quiet(fname):
                    continue
                if not self.count(budgets):
                    continue
                bad = self._bad_name(fname)
                if bad:
                    self.report.problem(f"{where} › {shown(fname)}: {bad}: skipped")
                    continue
                inner, inner_path, inner_layers = self._name(Generic(), fname)
                self.entry(named, inner_path, inner_layers, archive.zip_reader(zf, info), info.date_time,
                           f"{where} › {shown(fname)}", budgets, depth, owner=student, box=f"zip {where}", raw=fname)
