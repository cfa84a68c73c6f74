"""Reading what students (or their code) could have written, without following links.

The grader may run as root, and submitted/ and a sandbox's output folder hold files that a student
chose or that student code wrote. Every path below such a folder is opened one component at a time
relative to the folder (``openat``) with ``O_NOFOLLOW``; only regular files are read (``fstat``, and
``O_NONBLOCK`` so that a FIFO cannot block the grader), and never more than a cap. Nothing here
changes permissions, follows a symlink or copies a tree.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class Unsafe(Exception):
    """A path that is a link, not a regular file or folder, or too large."""


def open_dir(path: Path, below: Path | None = None) -> int:
    """A file descriptor of the folder ``path``; when ``below`` is given, every component of path
    under it is opened without following links (``below`` itself is trusted)."""
    path = Path(path)
    if below is None:
        try:
            return os.open(path, _DIR_FLAGS)
        except OSError as exc:
            raise Unsafe(f"{path.name}: not a folder ({exc.strerror})") from None
    rel = path.relative_to(below)
    fd = os.open(below, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in rel.parts:
            try:
                nfd = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                raise Unsafe(f"{part}: not a folder or a link ({exc.strerror})") from None
            os.close(fd)
            fd = nfd
        return fd
    except BaseException:
        os.close(fd)
        raise


def read_at(dir_fd: int, name: str, cap: int) -> bytes:
    """The content of the regular file ``name`` in the folder ``dir_fd`` (at most ``cap`` bytes)."""
    if "/" in name or name in (".", ".."):
        raise Unsafe(f"{name!r}: not a plain file name")
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        raise Unsafe(f"{name}: cannot be opened ({exc.strerror}; links are not followed)") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Unsafe(f"{name}: not a regular file")
        if st.st_size > cap:
            raise Unsafe(f"{name}: larger than {cap >> 20} MiB")
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, min(1 << 20, cap + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > cap:
                raise Unsafe(f"{name}: larger than {cap >> 20} MiB")
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_file(folder: Path, name: str, cap: int, below: Path | None = None) -> bytes:
    fd = open_dir(folder, below)
    try:
        return read_at(fd, name, cap)
    finally:
        os.close(fd)


def list_dir(folder: Path, below: Path | None = None) -> list[tuple[str, str]]:
    """(name, kind) of the entries of a folder, kind in 'file', 'dir', 'link', 'other' (lstat)."""
    fd = open_dir(folder, below)
    try:
        out = []
        for name in os.listdir(fd):
            try:
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except OSError:
                continue
            kind = ("link" if stat.S_ISLNK(st.st_mode) else "dir" if stat.S_ISDIR(st.st_mode)
                    else "file" if stat.S_ISREG(st.st_mode) else "other")
            out.append((name, kind))
        return sorted(out)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write a file the trusted grader owns: a fresh temporary file in the same folder, then rename
    (a link planted at ``path`` is replaced, never followed)."""
    path = Path(path)
    tmp = path.parent / f".{path.name}.tmp-{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def ensure_dir(path: Path, base: Path) -> Path:
    """Make ``path`` (below the trusted ``base``) a real folder: components that are links or files
    are refused, never followed."""
    path, base = Path(path), Path(base)
    current = base
    for part in path.relative_to(base).parts:
        current = current / part
        try:
            st = os.lstat(current)
        except FileNotFoundError:
            os.mkdir(current, 0o755)
            continue
        if not stat.S_ISDIR(st.st_mode):
            raise Unsafe(f"{current}: a link or a file where a folder belongs")
    return path
