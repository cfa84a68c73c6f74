"""What one grading run holds on the machine, and cleaning up after runs that were killed.

A run owns a temporary folder ``<tmp>/coursekit-grade-<run>/`` with a lock file it holds (flock)
for its whole life, its cgroups ``coursekit-<run>-<n>``, and, as root, one unused uid per sandbox,
each locked in ``<locks>/uid-<n>`` while the sandbox runs. Locks held by flock vanish with the
process, even after ``kill -9``, so the next run can tell which folders and cgroups are leftovers
(their lock is free) and remove them, and two runs at once never pick the same uid.
"""
from __future__ import annotations

import fcntl
import os
import pwd
import random
import secrets
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from coursekit.sandbox import limits

RUN_PREFIX = "coursekit-grade-"


def _lock_dir() -> Path:
    for candidate in ("/run/coursekit", os.path.join(tempfile.gettempdir(), "coursekit-locks")):
        try:
            os.makedirs(candidate, mode=0o700, exist_ok=True)
            st = os.lstat(candidate)
            if st.st_uid == os.geteuid() and not os.path.islink(candidate):
                return Path(candidate)
        except OSError:
            continue
    raise RuntimeError("no folder for the grader's lock files")


def _try_lock(path: Path) -> int | None:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def _is_free(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


@dataclass
class Run:
    """This run's folder, lock and uids."""

    id: str
    dir: Path
    lock_fd: int
    uid_locks: dict[int, int] = field(default_factory=dict)

    @classmethod
    def start(cls) -> "Run":
        run_id = f"{os.getpid()}{secrets.token_hex(3)}"
        path = Path(tempfile.gettempdir()) / f"{RUN_PREFIX}{run_id}"
        path.mkdir(mode=0o711)
        os.chmod(path, 0o711)
        fd = _try_lock(path / "run.lock")
        assert fd is not None
        return cls(run_id, path, fd)

    def allocate_uid(self, base: int, count: int) -> int:
        """An unused uid of [base, base + count) that no other sandbox of any run holds now."""
        locks = _lock_dir()
        for _ in range(200):
            uid = random.randrange(base, base + count)
            if uid in self.uid_locks:
                continue
            try:
                pwd.getpwuid(uid)
                continue           # a real account: never used for a sandbox
            except KeyError:
                pass
            fd = _try_lock(locks / f"uid-{uid}")
            if fd is not None:
                self.uid_locks[uid] = fd
                return uid
        raise RuntimeError("no free uid for a sandbox")

    def release_uid(self, uid: int) -> None:
        fd = self.uid_locks.pop(uid, None)
        if fd is not None:
            os.close(fd)

    def close(self) -> None:
        for uid in list(self.uid_locks):
            self.release_uid(uid)
        shutil.rmtree(self.dir, ignore_errors=True)
        try:
            os.close(self.lock_fd)
        except OSError:
            pass


def clean_leftovers() -> list[str]:
    """Remove folders and cgroups of runs that ended without cleaning up (their lock is free);
    returns what was removed, for the log."""
    removed, live = [], set()
    for path in Path(tempfile.gettempdir()).glob(f"{RUN_PREFIX}*"):
        if path.is_symlink() or not path.is_dir():
            continue
        try:
            if path.stat().st_uid != os.geteuid():
                continue
        except OSError:
            continue
        run_id = path.name[len(RUN_PREFIX):]
        if _is_free(path / "run.lock"):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(str(path))
        else:
            live.add(run_id)
    for cg in limits.stale_cgroups(live):
        limits.Cgroup("v2" if (cg / "cgroup.controllers").exists() else "v1", [cg]).remove()
        removed.append(str(cg))
    return removed
