"""Importing an LMS download into submitted/, entry by entry: one bad entry never stops a class.

The download is a zip (or a folder of files and zips). Each entry's *name* decides whose it is and
which notebook it is; its *content* is read (size-capped) and written by the grader to
``submitted/<student>/<topic>/<notebook>.ipynb``, so nothing of the archive's paths, links or mode
bits reaches the disk (no zip-slip, no setuid files). The archive itself is never copied into the
course and is not visible to student code.

* ``<student_id>_<anything>_<notebook>.ipynb`` or ``<student_id>_<notebook>.ipynb`` (any folders in
  front), e.g. ``jdoe42_12345_assignsubmission_file_01_tensors.ipynb``; ``--pattern`` replaces it
  (a regular expression with the groups ``student_id`` and ``file_id``, optionally ``timestamp``);
* ``<student_id>_<anything>.zip``: the student's own zip, searched (one level) for the topic's
  notebooks; it counts for that student only, whatever its entries are called;
* ``.gz`` of either form: decompressed (size-capped).

Student ids: letters, digits, ``_``, ``.``, ``-`` and ``@``, starting with a letter or digit, at most
``KitGrading.max_student_id_length`` characters (an id in an LMS file name ends at its first ``_``).
Every entry that is not imported is reported with the reason.
"""
from __future__ import annotations

import gzip
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from coursekit.grading import safeio
from coursekit.grading.sanitize import one_line

LMS_PATTERN_HELP = (
    "<student_id>_<anything>_<notebook>.ipynb or <student_id>_<notebook>.ipynb: the student id is "
    "everything before the first '_' and the file must end with the topic's notebook name, e.g. "
    "'jdoe42_12345_assignsubmission_file_01_tensors.ipynb'; a student's own zip "
    "'<student_id>_<anything>.zip' counts for that student only"
)
_ID_CHARS = re.compile(r"^[^\W_][\w.@-]*$")


def shown(name: str) -> str:
    return one_line(name, 80)


def invalid_student_id(sid: str, max_length: int = 64) -> str | None:
    """Why ``sid`` cannot be a student id, or None."""
    if not sid:
        return "empty student id"
    if len(sid) > max_length:
        return f"student id longer than {max_length} characters"
    if unicodedata.normalize("NFC", sid) != sid:
        return "student id not in Unicode normal form (NFC)"
    if not _ID_CHARS.match(sid):
        return (f"invalid student id {shown(sid)!r} (letters, digits, '_', '.', '-', '@'; starting with a letter "
                "or digit)")
    return None


def lms_regexp(notebooks: list[str]) -> str:
    names = "|".join(re.escape(n) for n in sorted(notebooks, key=len, reverse=True))
    return rf"^(?:.*/)?(?P<student_id>[^/_]+)_(?:[^/]*_)?(?P<file_id>(?:{names})\.ipynb)$"


@dataclass
class Found:
    student: str
    notebook: str                    # expected name, without .ipynb
    data: bytes
    date: tuple                      # the entry's date (to keep the newest of two)
    origin: str
    timestamp: str | None = None


@dataclass
class ImportReport:
    imported: dict[str, list[str]] = field(default_factory=dict)   # student -> notebooks written
    unchanged: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def problem(self, text: str) -> None:
        if len(self.problems) < 1000:
            self.problems.append(text)


class _Reader:
    """Walks an archive (or folder) entry by entry and keeps, per student and notebook, the newest."""

    def __init__(self, notebooks: list[str], pattern: str | None, settings, report: ImportReport, progress=None):
        self.notebooks = notebooks
        self.rx = re.compile(pattern or lms_regexp(notebooks))
        self.own_zip = re.compile(r"^(?:.*/)?(?P<student_id>[^/_]+)_[^/]*\.zip$")
        self.cap = int(settings.max_notebook_mb * 2**20)
        self.max_name = settings.max_name_length
        self.max_id = settings.max_student_id_length
        self.max_entries = settings.max_archive_entries
        self.entries = 0
        self.report = report
        self.found: dict[tuple[str, str], Found] = {}
        self.progress = progress

    # -- one entry --------------------------------------------------------------------------
    def entry(self, name: str, read, date: tuple, origin: str, owner: str | None = None) -> None:
        self.entries += 1
        if self.progress is not None:
            self.progress.update(1)
        if self.entries > self.max_entries:
            if self.entries == self.max_entries + 1:
                self.report.problem(f"more than {self.max_entries} entries: the rest was not read")
            return
        where = f"{origin}: {shown(name)}"
        if len(name) > self.max_name or "\0" in name:
            self.report.problem(f"{origin}: an entry name longer than {self.max_name} characters or with NUL: skipped")
            return
        path = name.replace("\\", "/")
        if path.endswith("/"):
            return
        base = path.rsplit("/", 1)[-1]
        if base.startswith(".") or "__MACOSX/" in path:
            return
        if base.lower().endswith(".gz"):
            data = self._read(read, where, gz=True)
            if data is not None:
                self.entry(path[:-3], lambda: data, date, origin, owner)
            return
        if base.lower().endswith(".zip"):
            self._nested(path, read, date, origin, owner, where)
            return
        if not base.endswith(".ipynb"):
            self.report.problem(f"{where}: not a notebook: skipped")
            return
        if owner is not None:         # inside a student's own zip: only the notebook's name counts
            stem = base[:-len(".ipynb")]
            notebook = next((n for n in self.notebooks if stem == n or stem.endswith("_" + n)), None)
            m = self.rx.match(path)
            if m and m.group("student_id") != owner:
                self.report.problem(f"{where}: a file named for {shown(m.group('student_id'))} inside "
                                    f"{shown(owner)}'s zip: skipped")
                return
            if notebook is None:
                self.report.problem(f"{where}: not one of the topic's notebooks: skipped")
                return
            student, timestamp = owner, None
        else:
            m = self.rx.match(path)
            if not m:
                self.report.problem(f"{where}: file name does not match the pattern: skipped")
                return
            student = m.group("student_id")
            notebook = m.group("file_id")
            notebook = notebook[:-len(".ipynb")] if notebook.endswith(".ipynb") else notebook
            timestamp = m.groupdict().get("timestamp")
            if notebook not in self.notebooks:
                self.report.problem(f"{where}: not one of the topic's notebooks: skipped")
                return
        student = unicodedata.normalize("NFC", student)
        bad = invalid_student_id(student, self.max_id)
        if bad:
            self.report.problem(f"{where}: {bad}: skipped")
            return
        data = self._read(read, where)
        if data is None:
            return
        key = (student, notebook)
        old = self.found.get(key)
        new = Found(student, notebook, data, date, where, timestamp)
        if old is not None:
            keep = new if new.date >= old.date else old
            self.report.problem(f"two files for {shown(student)}'s {notebook}.ipynb ({old.origin}; {where}): "
                                f"kept the newer ({keep.origin})")
            new = keep
        self.found[key] = new

    def _read(self, read, where: str, gz: bool = False) -> bytes | None:
        try:
            data = read()
            if gz:
                with gzip.GzipFile(fileobj=io.BytesIO(data)) as fh:
                    data = fh.read(self.cap + 1)
            if len(data) > self.cap:
                self.report.problem(f"{where}: larger than {self.cap >> 20} MiB: skipped")
                return None
            return data
        except _TooBig:
            self.report.problem(f"{where}: larger than {self.cap >> 20} MiB: skipped")
        except (OSError, EOFError, zipfile.BadZipFile, zipfile.LargeZipFile, RuntimeError, ValueError,
                safeio.Unsafe) as exc:
            self.report.problem(f"{where}: unreadable ({one_line(exc, 100)}): skipped")
        return None

    def _nested(self, path, read, date, origin, owner, where) -> None:
        if owner is not None:
            self.report.problem(f"{where}: a zip inside a student's zip: skipped")
            return
        m = self.own_zip.match(path)
        if not m:
            self.report.problem(f"{where}: zip name does not start with a student id: skipped")
            return
        student = unicodedata.normalize("NFC", m.group("student_id"))
        bad = invalid_student_id(student, self.max_id)
        if bad:
            self.report.problem(f"{where}: {bad}: skipped")
            return
        data = self._read_zip_bytes(read, where)
        if data is None:
            return
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                for info in zf.infolist():
                    self.entry(info.filename, _reader(zf, info, self.cap), info.date_time, where, owner=student)
        except (zipfile.BadZipFile, OSError, RuntimeError, ValueError) as exc:
            self.report.problem(f"{where}: not a readable zip ({one_line(exc, 100)}): skipped")

    def _read_zip_bytes(self, read, where) -> bytes | None:
        try:
            return read(limit=self.cap * 8)
        except TypeError:
            return self._read(read, where)
        except _TooBig:
            self.report.problem(f"{where}: larger than {self.cap * 8 >> 20} MiB: skipped")
        except (OSError, zipfile.BadZipFile, RuntimeError, ValueError, safeio.Unsafe) as exc:
            self.report.problem(f"{where}: unreadable ({one_line(exc, 100)}): skipped")
        return None


class _TooBig(Exception):
    pass


def _reader(zf: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int):
    def read(limit: int | None = None) -> bytes:
        limit = limit or cap
        if info.file_size > limit:
            raise _TooBig()
        with zf.open(info) as fh:
            data = fh.read(limit + 1)
        if len(data) > limit:
            raise _TooBig()
        return data
    return read


def _file_reader(path: Path, cap: int):
    def read(limit: int | None = None) -> bytes:
        return safeio.read_file(path.parent, path.name, limit or cap)
    return read


def read_source(source: Path, reader: _Reader, report: ImportReport) -> None:
    source = Path(source)
    if source.is_dir():
        for path in sorted(source.rglob("*")):
            if path.is_symlink():
                report.problem(f"{shown(str(path.relative_to(source)))}: a link: skipped")
                continue
            if not path.is_file():
                continue
            rel = str(path.relative_to(source))
            if rel.lower().endswith(".zip"):     # an LMS archive (students' own zips are inside it)
                _top_zip(path, reader, report)
                continue
            reader.entry(rel, _file_reader(path, reader.cap), (0,), source.name)
    elif source.is_file():
        if source.name.lower().endswith(".zip"):
            _top_zip(source, reader, report)
        else:
            reader.entry(source.name, _file_reader(source, reader.cap), (0,), source.parent.name or ".")
    else:
        raise SystemExit(f"--from {source}: no such file or folder")


def _top_zip(path: Path, reader: _Reader, report: ImportReport) -> None:
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if reader.progress is not None:
                reader.progress.total = (reader.progress.total or 0) + len(infos)
                reader.progress.refresh()
            for info in infos:
                reader.entry(info.filename, _reader(zf, info, reader.cap), info.date_time, path.name)
    except (zipfile.BadZipFile, OSError) as exc:
        report.problem(f"{path.name}: not a readable zip archive ({one_line(exc, 100)}): nothing imported from it")


def import_download(root: Path, topic: str, source: Path, notebooks: list[str], settings,
                    pattern: str | None = None, progress=None) -> ImportReport:
    """Import an LMS download into submitted/ (see the module's docstring)."""
    report = ImportReport()
    if pattern:
        try:
            rx = re.compile(pattern)
        except re.error as exc:
            raise SystemExit(f"--pattern: not a regular expression ({exc})") from None
        if not {"student_id", "file_id"} <= set(rx.groupindex):
            raise SystemExit("--pattern must define the groups (?P<student_id>...) and (?P<file_id>...)")
    reader = _Reader(notebooks, pattern, settings, report, progress)
    read_source(source, reader, report)
    base = Path(root) / "submitted"
    base.mkdir(exist_ok=True)
    for (student, notebook), found in sorted(reader.found.items()):
        folder = base / student / topic
        try:
            safeio.ensure_dir(folder, Path(root))
            fname = f"{notebook}.ipynb"
            try:
                current = safeio.read_file(folder, fname, reader.cap + 1, below=base)
            except safeio.Unsafe:
                current = None
            if current == found.data:
                report.unchanged.append(student)
            else:
                safeio.write_atomic(folder / fname, found.data)
                report.imported.setdefault(student, []).append(fname)
            if found.timestamp:
                safeio.write_atomic(folder / "timestamp.txt", found.timestamp.encode("utf-8"))
        except (safeio.Unsafe, OSError) as exc:
            report.problem(f"{shown(student)}: could not be written to submitted/ ({one_line(exc, 100)}): skipped")
    return report
