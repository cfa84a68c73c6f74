"""Reading a download: its uploads (a zip, a folder's files, each LMS zip in a folder), and archive entries
and files with a limit on every byte: zip entries, .gz layers, a zip's size declared in its end record
(checked before ``zipfile`` parses its central directory)."""
from __future__ import annotations

import io
import os
import stat
import struct
import time
import zipfile
import zlib
from pathlib import Path

from coursekit.grading import safeio
from coursekit.grading.lms import LAYOUTS, shown
from coursekit.grading.sanitize import one_line


class TooBig(Exception):
    """More than the limit; ``read``: the bytes read before stopping."""

    def __init__(self, read: int = 0):
        super().__init__(f"more than the limit after {read} bytes")
        self.read = read


class TooMany(Exception):
    """A zip declaring more entries than allowed (the count is the message)."""


class NotAFile(Exception):
    """A zip entry that is a link or a special file (its mode bits say so): never read, never written."""


def entry_kind(info: zipfile.ZipInfo) -> str | None:
    """Why a zip entry is not a plain file ('a link', ...), from the Unix mode bits its creator stored, or None.
    Entries from other systems carry no file type: they are plain files (their mode bits are never used)."""
    mode = info.external_attr >> 16
    if info.create_system != 3 or not stat.S_IFMT(mode) or stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    return "a link" if stat.S_ISLNK(mode) else "a special file (device, FIFO or socket), not a plain file"


def zip_reader(zf: zipfile.ZipFile, info: zipfile.ZipInfo):
    def read(limit: int) -> bytes:
        kind = entry_kind(info)
        if kind is not None:
            raise NotAFile(kind)
        if info.file_size > limit:
            raise TooBig(0)
        with zf.open(info) as fh:
            data = fh.read(limit + 1)
        if len(data) > limit:
            raise TooBig(len(data))
        return data
    return read


def file_reader(path: Path):
    def read(limit: int) -> bytes:
        try:
            return safeio.read_file(path.parent, path.name, limit)
        except safeio.Unsafe as exc:
            if "larger than" in str(exc):
                raise TooBig(limit) from None
            raise
    return read


def gunzip(data: bytes, limit: int) -> bytes:
    """Decompress one gzip layer (all its members), at most ``limit`` bytes, without a zip bomb's worth of
    memory: the output is produced in bounded steps."""
    out, total, rest = [], 0, data
    if not rest:
        raise ValueError("empty .gz file")
    while rest:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        chunk = d.decompress(rest, limit + 1 - total)
        while True:
            out.append(chunk)
            total += len(chunk)
            if total > limit:
                raise TooBig(total)
            if d.eof or not d.unconsumed_tail:
                break
            chunk = d.decompress(d.unconsumed_tail, limit + 1 - total)
        if not d.eof:
            raise ValueError("truncated .gz file")
        rest = d.unused_data.lstrip(b"\0")       # the next member (or padding)
    return b"".join(out)


def read_limited(read, limit: int, layers: int = 0) -> bytes:
    """``read(limit)`` then ``layers`` gzip layers removed, each at most ``limit`` bytes."""
    data = read(limit)
    for _ in range(layers):
        data = gunzip(data, limit)
    return data


def declared_entries(data: bytes) -> tuple[int, int]:
    """(entries, central directory size) from a zip's end record; ValueError when there is none."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 22 - 65535))
    if end < 0 or end + 22 > len(data):
        raise ValueError("no end of central directory record")
    total, size = struct.unpack_from("<HI", data, end + 10)
    if total == 0xFFFF or size == 0xFFFFFFFF:                  # zip64: the locator precedes the end record
        loc = end - 20
        if loc < 0 or data[loc:loc + 4] != b"PK\x06\x07":
            raise ValueError("zip64 locator missing")
        (offset,) = struct.unpack_from("<Q", data, loc + 8)
        if offset + 56 > len(data) or data[offset:offset + 4] != b"PK\x06\x06":
            raise ValueError("zip64 end record missing")
        total, size = struct.unpack_from("<QQ", data, offset + 32)
    return total, size


def zip_infos(data: bytes, max_entries: int, max_name: int) -> tuple[zipfile.ZipFile, list[zipfile.ZipInfo]]:
    """The zip in ``data`` and its entries; TooMany before parsing when its end record declares more entries
    (or a central directory larger) than ``max_entries`` allow."""
    total, size = declared_entries(data)
    if total > max_entries or size > max_entries * (46 + max_name + 1024):
        raise TooMany(str(max(total, size // 46)))
    zf = zipfile.ZipFile(io.BytesIO(data))
    infos = zf.infolist()
    if len(infos) > max_entries:
        zf.close()
        raise TooMany(str(len(infos)))
    return zf, infos


def read_source(source: Path, reader, report) -> None:
    """Hand each upload in ``source`` (a zip, a file, or a folder: its files, and each LMS zip in it) to
    ``reader.upload(name, [(path, read, date), ...])``."""
    if source.is_dir():
        items, downloads = [], set()
        for path in sorted(source.rglob("*")):
            rel = str(path.relative_to(source))
            if path.is_symlink():
                report.problem(f"{shown(rel)}: a link: skipped")
            elif path.is_file():
                items.append((rel, path))
        for rel, path in items:    # a zip right in the folder that no LMS layout names is a download of its own
            if "/" not in rel and rel.lower().endswith(".zip") and not _lms_named(rel, reader):
                downloads.add(path)
        rest = [(rel, file_reader(path), _mtime(path)) for rel, path in items if path not in downloads]
        if rest:
            reader.upload(source.name or ".", rest)
        for path in sorted(downloads):
            _top_zip(path, reader, report)
    elif source.is_file():
        if source.name.lower().endswith(".zip"):
            _top_zip(source, reader, report)
        else:
            reader.upload(source.parent.name or ".", [(source.name, file_reader(source), _mtime(source))])
    else:
        raise SystemExit(f"--from {source}: no such file or folder")


def _lms_named(rel: str, reader) -> bool:
    return reader.pattern is None and any(layout.parse(rel) for layout in LAYOUTS[:4])


def _mtime(path: Path) -> tuple:
    try:
        return tuple(time.gmtime(os.lstat(path).st_mtime)[:6])
    except OSError:
        return (0,)


def _top_zip(path: Path, reader, report) -> None:
    try:
        zf = zipfile.ZipFile(path)
    except Exception as exc:       # noqa: BLE001 - whatever a corrupt archive raises: this upload only
        report.problem(f"{shown(path.name)}: not a readable zip archive ({one_line(exc, 100)}): nothing imported "
                       "from it")
        return
    with zf:
        infos = zf.infolist()
        if reader.progress is not None:
            reader.progress.total = (reader.progress.total or 0) + len(infos)
            reader.progress.refresh()
        reader.upload(path.name, [(i.filename, zip_reader(zf, i), i.date_time) for i in infos])
