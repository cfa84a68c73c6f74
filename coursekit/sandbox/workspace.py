"""A job's working space in its slot, and removing it whatever a submission left in it.

Each job of a slot gets a fresh tmpfs of its own (:func:`fresh_tmpfs`): the job's process (forked by
the slot's driver, see driver.py) makes a user and mount namespace of its own, mounts a size-limited
tmpfs on its working folder there and drops the capabilities that took. Everything the job and its
kernel write (the throw-away course, the kernel's working copy and runtime folder) is on that tmpfs,
which nothing outside the job's namespaces can see and which the kernel frees when the job's last
process is gone: what a submission leaves behind (folders of mode 000, a tree deeper than any path,
FIFOs, sockets, files held open by a process that outlived its cell) is simply never seen by the next
job of the slot, and the space it filled is given back without anyone having to remove it.

Where that mount cannot be made (no isolation, or nested user namespaces refused) the job works in a
plain folder, and :func:`remove_tree` removes it afterwards: as the uid that owns everything in it
(the only uid a sandbox has), it makes every folder searchable and writable again before it empties
it, walks without recursion and with one descriptor at a time (any depth), and never follows a link.
Standard library only.
"""
from __future__ import annotations

import ctypes
import os
import stat
from pathlib import Path

CLONE_NEWNS, CLONE_NEWUSER = 0x00020000, 0x10000000
MS_NOSUID, MS_NODEV, MS_REC, MS_PRIVATE = 0x2, 0x4, 0x4000, 0x40000
PR_CAPBSET_DROP, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 24, 47, 4
CAP_VERSION_3 = 0x20080522
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class Unchanged(OSError):
    """The fresh tmpfs could not be made, and nothing was changed: a plain folder can be used instead."""


def _fail(what: str, error=OSError) -> None:
    err = ctypes.get_errno()
    raise error(err, f"{what}: {os.strerror(err)}")


def _write(path: str, text: str) -> None:
    with open(path, "w") as fh:
        fh.write(text)


def fresh_tmpfs(path: Path, size_mb: int) -> None:
    """Make ``path`` (created here, mode 0700) a fresh tmpfs of ``size_mb`` MiB that only this process
    and its children see (a user and mount namespace of their own, made here); this process keeps its
    uid and ends with no capability. Raises :class:`Unchanged` where namespaces cannot be made (nothing
    was changed), OSError where a later step failed (this process is then of no use for grading).
    Call it in a single-threaded process (after fork) that only grades one job."""
    libc = ctypes.CDLL(None, use_errno=True)
    uid, gid = os.geteuid(), os.getegid()
    if libc.unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0:
        _fail("unshare(user, mount)", Unchanged)
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"{uid} {uid} 1")
    _write("/proc/self/gid_map", f"{gid} {gid} 1")
    os.mkdir(path, 0o700)
    if libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        _fail("mount --make-rprivate /")
    options = f"size={max(1, size_mb) << 20},mode=0700".encode()
    if libc.mount(b"tmpfs", str(path).encode(), b"tmpfs", MS_NOSUID | MS_NODEV, options) != 0:
        _fail("mount tmpfs")
    _drop_capabilities(libc)


def works(path: Path, size_mb: int = 1) -> bool:
    """Whether :func:`fresh_tmpfs` works here (tried in a forked child, on ``path``, removed after):
    where it does not, jobs work in plain folders rather than fail one after the other."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            fresh_tmpfs(path, size_mb)
            with open(path / "probe", "wb") as fh:
                fh.write(b"x")
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    remove_tree(path)
    return os.waitstatus_to_exitcode(status) == 0


def _drop_capabilities(libc) -> None:
    """No capability left in any set (what the new user namespace gave this process)."""
    with open("/proc/sys/kernel/cap_last_cap") as fh:
        last = int(fh.read())
    for cap in range(last + 1):
        libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(CAP_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()
    if libc.capset(header, data) != 0:
        _fail("capset")
    with open("/proc/self/status") as fh:
        left = [line for line in fh if line.startswith(("CapPrm", "CapEff")) and int(line.split()[1], 16)]
    if left:
        raise OSError(0, f"capabilities left after dropping them: {left}")


def remove_tree(path: Path | str) -> bool:
    """Remove ``path`` and everything below it that this uid owns, whatever its modes, depth or kinds
    (links are removed, never followed). Returns whether it is gone; never raises for what is in it."""
    path = str(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    try:
        if not stat.S_ISDIR(st.st_mode):
            os.unlink(path)
            return True
        os.chmod(path, 0o700)
        fd = os.open(path, _DIR_FLAGS)
    except OSError:
        return False
    _empty(fd)
    try:
        os.rmdir(path)
        return True
    except OSError:
        return False


def _empty(top: int) -> None:
    """Empty the folder open at ``top`` (closed here): depth first, one open folder at a time."""
    fd, names, stuck = top, [], set()       # names: the path from top to fd, to climb back
    while True:
        child = _files_out(fd, stuck)
        if child is not None:
            try:
                new = os.open(child[0], _DIR_FLAGS, dir_fd=fd)
            except OSError:
                stuck.add(child[1])
                continue
            os.close(fd)
            fd = new
            names.append(child[0])
            continue
        if not names:
            os.close(fd)
            return
        here = os.fstat(fd)
        try:
            parent = os.open("..", _DIR_FLAGS, dir_fd=fd)
        except OSError:
            os.close(fd)
            return
        os.close(fd)
        fd = parent
        try:
            os.rmdir(names.pop(), dir_fd=fd)
        except OSError:
            stuck.add((here.st_dev, here.st_ino))


def _files_out(fd: int, stuck: set) -> tuple[str, tuple[int, int]] | None:
    """Remove the folder's entries that are not folders; the first folder in it (made searchable and
    writable), or None when none is left (but those that could not be removed: ``stuck``)."""
    try:
        with os.scandir(fd) as entries:
            for entry in entries:
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                key = (st.st_dev, st.st_ino)
                if key in stuck:
                    continue
                try:
                    if stat.S_ISDIR(st.st_mode):
                        os.chmod(entry.name, 0o700, dir_fd=fd)    # its owner may always open it up
                        return entry.name, key
                    os.unlink(entry.name, dir_fd=fd)
                except FileNotFoundError:
                    continue
                except OSError:
                    stuck.add(key)
    except OSError:
        pass
    return None
