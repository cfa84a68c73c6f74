"""What one grading run holds on the machine, and cleaning up after runs that were killed.

Runs find each other in a *registry*, a folder fixed for the user whatever ``TMPDIR`` says
(:func:`registry_dir`: ``/run/coursekit`` for root, else ``/var/tmp/coursekit-<uid>``; mode 0700).
A run registers itself there first (``runs/<run>.lock``, holding a flock on it for its whole life
and naming its folder), then makes its folder ``<tmp>/coursekit-grade-<run>/`` (mode 0700), its
cgroups ``coursekit-<run>-<n>`` and, as root, takes one unused uid per sandbox, each locked in
``uid-<n>`` while the sandbox runs. A flock vanishes with its process, even after ``kill -9``: a
later run, whatever its ``TMPDIR``, finds a registered run whose lock is free, removes its cgroups
(stopping what is left in them) and its folder, then its entry. Nothing else is ever stopped or
removed: not the cgroups of a run whose lock is held (a live run, whatever its ``TMPDIR``), not
those of a run it does not find registered.
"""
from __future__ import annotations

import fcntl
import json
import os
import pwd
import random
import secrets
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from coursekit.sandbox import limits, workspace

RUN_PREFIX = "coursekit-grade-"
ROOT_REGISTRY = "/run/coursekit"          # root's registry (a tmpfs: emptied at boot)
USER_REGISTRY = "/var/tmp/coursekit-{uid}"  # everyone else's, and root's where /run cannot be written


def registry_dir() -> Path:
    """The registry of this user's runs (made here, mode 0700): the same folder for every run of the
    user whatever its environment. Refuses (one line) a folder someone else made or a link."""
    uid = os.geteuid()
    candidates = ([ROOT_REGISTRY] if uid == 0 else []) + [USER_REGISTRY.format(uid=uid)]
    problems = []
    for candidate in candidates:
        try:
            os.makedirs(candidate, mode=0o700, exist_ok=True)
            st = os.lstat(candidate)
        except OSError as exc:
            problems.append(f"{candidate}: {exc.strerror}")
            continue
        if os.path.islink(candidate) or st.st_uid != uid or st.st_mode & 0o077:
            problems.append(f"{candidate} is not a private folder of this user (uid {uid})")
            continue
        return Path(candidate)
    raise SystemExit("cannot grade: no folder for the registry of grading runs (" + "; ".join(problems) + ")")


def _runs_dir() -> Path:
    path = registry_dir() / "runs"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def _try_lock(path: Path, create: bool = True) -> int | None:
    flags = os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC | (os.O_CREAT if create else 0)
    try:
        fd = os.open(path, flags, 0o600)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


@dataclass
class Run:
    """This run's registry entry, folder and uids."""

    id: str
    dir: Path
    lock_fd: int
    entry: Path
    uid_locks: dict[int, int] = field(default_factory=dict)

    @classmethod
    def start(cls) -> "Run":
        runs = _runs_dir()
        for _ in range(20):
            run_id = f"{os.getpid()}{secrets.token_hex(3)}"
            entry = runs / f"{run_id}.lock"
            try:
                fd = os.open(entry, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            except FileExistsError:
                continue
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        else:
            raise SystemExit(f"cannot grade: no free run id in {runs}")
        path = Path(tempfile.gettempdir()).resolve() / f"{RUN_PREFIX}{run_id}"
        os.write(fd, json.dumps({"dir": str(path), "pid": os.getpid()}).encode())   # before the folder exists
        try:
            path.mkdir(mode=0o700)
            os.chmod(path, 0o700)
        except OSError as exc:
            os.unlink(entry)
            os.close(fd)
            raise SystemExit(f"cannot grade: the run's folder {path} could not be made ({exc.strerror})") from None
        return cls(run_id, path, fd, entry)

    def allocate_uid(self, base: int, count: int) -> int:
        """An unused uid of [base, base + count) that no other sandbox of any run holds now."""
        locks = registry_dir()
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
        workspace.remove_tree(self.dir)
        try:
            os.unlink(self.entry)         # while still locked: no other run takes it for a dead one's
        except OSError:
            pass
        try:
            os.close(self.lock_fd)
        except OSError:
            pass


def _recorded_dir(fd: int, run_id: str) -> Path | None:
    """The folder a registry entry names, where it is what a run of this user makes."""
    try:
        data = json.loads(os.pread(fd, 4096, 0).decode("utf-8"))
        path = Path(data["dir"])
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError):
        return None
    if not path.is_absolute() or path.name != f"{RUN_PREFIX}{run_id}":
        return None
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return path if stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid() else None


def clean_leftovers() -> list[str]:
    """Remove the cgroups and folders of this user's registered runs that ended without cleaning up
    (their lock is free), whatever TMPDIR each ran with; returns what was removed, for the log."""
    removed: list[str] = []
    runs = _runs_dir()
    dead: dict[str, tuple[int, Path]] = {}
    for entry in sorted(runs.glob("*.lock")):
        run_id = entry.name[:-len(".lock")]
        if not run_id.isalnum() or entry.is_symlink():
            continue
        fd = _try_lock(entry, create=False)
        if fd is not None:                 # held by no one: that run is gone
            dead[run_id] = (fd, entry)
    try:
        for cg in limits.cgroups_of(set(dead)):
            limits.Cgroup("v2" if (cg / "cgroup.controllers").exists() else "v1", [cg]).remove()
            removed.append(str(cg))
        for run_id, (fd, entry) in dead.items():
            folder = _recorded_dir(fd, run_id)
            if folder is not None:
                workspace.remove_tree(folder)
                removed.append(str(folder))
            try:
                os.unlink(entry)
            except OSError:
                pass
    finally:
        for fd, _ in dead.values():
            os.close(fd)
    return removed
