"""Resource limits of one submission's sandbox: a cgroup where one can be made, rlimits otherwise.

A cgroup counts *real* memory (RAM used by the kernel, nbgrader and the sandbox's tmpfs together)
and processes, for the whole sandbox at once; the kernel's OOM killer stops the sandbox when it goes
over, and the grader can tell afterwards that it did (``oom_kills``). Tried in this order:

1. cgroup v2, a child of this process's cgroup (root, or a delegated subtree);
2. cgroup v1 ``memory`` and ``pids`` hierarchies (root);
3. ``systemd-run --scope`` (as root) or ``systemd-run --user --scope`` (a desktop session);
4. none: the kernel gets an address-space limit (RLIMIT_AS, counts reserved memory, hence the
   generous default ``KitSandbox.address_space_mb``) and, where its uid is its own, RLIMIT_NPROC.

Every cgroup is named ``coursekit-<run>-<n>`` so that a later run can remove what a killed one left
(only that: see runs.py).
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
PREFIX = "coursekit-"


def _own_cgroup(controller: str | None) -> Path | None:
    """This process's cgroup folder for a v1 controller, or for v2 (controller None)."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controller is None and parts[0] == "0" and controllers == "":
            base = CGROUP_ROOT if (CGROUP_ROOT / "cgroup.controllers").exists() else CGROUP_ROOT / "unified"
            return base / path.lstrip("/")
        if controller is not None and controller in controllers.split(","):
            return CGROUP_ROOT / controller / path.lstrip("/")
    return None


@dataclass
class Cgroup:
    """One submission's cgroup(s): made before the sandbox starts, removed after it ended."""

    kind: str                    # "v2" or "v1"
    dirs: list[Path]             # v2: one; v1: memory and pids folders

    def join_file(self) -> list[Path]:
        return [d / "cgroup.procs" for d in self.dirs]

    def add(self, pid: int) -> None:
        for f in self.join_file():
            f.write_text(str(pid))

    def oom_kills(self) -> int:
        try:
            if self.kind == "v2":
                events = (self.dirs[0] / "memory.events").read_text()
            else:
                events = (self.dirs[0] / "memory.oom_control").read_text()
        except OSError:
            return 0
        for line in events.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0

    def pids_max_hits(self) -> int:
        """How often a new process or thread was refused by the process limit."""
        for d in self.dirs:
            try:
                for line in (d / "pids.events").read_text().splitlines():
                    key, _, value = line.partition(" ")
                    if key == "max":
                        return int(value)
            except (OSError, ValueError):
                continue
        return 0

    def peak_bytes(self) -> int:
        for name in ("memory.peak", "memory.max_usage_in_bytes"):
            try:
                return int((self.dirs[0] / name).read_text())
            except (OSError, ValueError):
                continue
        return 0

    def pids(self) -> list[int]:
        out = []
        for d in self.dirs:
            try:
                out += [int(x) for x in (d / "cgroup.procs").read_text().split()]
            except (OSError, ValueError):
                pass
        return sorted(set(out))

    def kill_all(self) -> None:
        if self.kind == "v2" and (self.dirs[0] / "cgroup.kill").exists():
            try:
                (self.dirs[0] / "cgroup.kill").write_text("1")
            except OSError:
                pass
        for _ in range(50):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.02)

    def remove(self) -> None:
        self.kill_all()
        for d in self.dirs:
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)


@dataclass
class Limiter:
    """How limits are applied on this machine (found once per run by :func:`probe`)."""

    kind: str                                  # "cgroup-v2", "cgroup-v1", "systemd", "rlimit"
    memory_mb: int
    max_processes: int
    parents: list[Path] = field(default_factory=list)
    systemd_user: bool = False

    def describe(self) -> str:
        if self.kind.startswith("cgroup") or self.kind == "systemd":
            how = {"cgroup-v2": "a cgroup", "cgroup-v1": "a cgroup (v1)", "systemd": "a systemd scope"}[self.kind]
            mem = f"{self.memory_mb} MiB of memory" if self.memory_mb else "no memory limit"
            return f"{mem} and {self.max_processes} processes per submission ({how})"
        return "address-space and process limits per kernel (rlimits; no cgroup available)"

    def make(self, name: str) -> Cgroup | None:
        if self.kind == "cgroup-v2":
            d = self.parents[0] / name
            d.mkdir()
            if self.memory_mb:
                (d / "memory.max").write_text(str(self.memory_mb << 20))
                if (d / "memory.swap.max").exists():
                    (d / "memory.swap.max").write_text("0")
            if self.max_processes and (d / "pids.max").exists():
                (d / "pids.max").write_text(str(self.max_processes))
            return Cgroup("v2", [d])
        if self.kind == "cgroup-v1":
            dirs = []
            for i, parent in enumerate(self.parents):   # [memory, pids]
                d = parent / name
                d.mkdir()
                dirs.append(d)
                if i == 0:
                    if self.memory_mb:
                        (d / "memory.limit_in_bytes").write_text(str(self.memory_mb << 20))
                        sw = d / "memory.memsw.limit_in_bytes"
                        if sw.exists():
                            try:
                                sw.write_text(str(self.memory_mb << 20))
                            except OSError:
                                pass
                elif self.max_processes:
                    (d / "pids.max").write_text(str(self.max_processes))
            return Cgroup("v1", dirs)
        return None

    def wrapper(self) -> list[str]:
        """A command prefix that starts the sandbox in its own scope (systemd), else nothing."""
        if self.kind != "systemd":
            return []
        cmd = ["systemd-run", "--quiet", "--scope", "--collect"]
        if self.systemd_user:
            cmd.insert(1, "--user")
        if self.memory_mb:
            cmd += ["-p", f"MemoryMax={self.memory_mb}M", "-p", "MemorySwapMax=0"]
        if self.max_processes:
            cmd += ["-p", f"TasksMax={self.max_processes}"]
        return cmd + ["--"]


def _try_v2(memory_mb: int, max_processes: int) -> Limiter | None:
    own = _own_cgroup(None)
    if own is None or not (own / "cgroup.controllers").exists():
        return None
    wanted = [c for c in ("memory", "pids") if c in (own / "cgroup.controllers").read_text().split()]
    if "memory" not in wanted:
        return None
    try:
        enabled = (own / "cgroup.subtree_control").read_text().split()
        missing = [c for c in wanted if c not in enabled]
        if missing:
            (own / "cgroup.subtree_control").write_text(" ".join("+" + c for c in missing))
        probe = own / f"{PREFIX}probe-{os.getpid()}"
        probe.mkdir()
        probe.rmdir()
    except OSError:
        return None
    return Limiter("cgroup-v2", memory_mb, max_processes, [own])


def _try_v1(memory_mb: int, max_processes: int) -> Limiter | None:
    mem, pids = _own_cgroup("memory"), _own_cgroup("pids")
    if mem is None or not mem.is_dir():
        return None
    parents = [mem] + ([pids] if pids is not None and pids.is_dir() else [])
    try:
        for parent in parents:
            probe = parent / f"{PREFIX}probe-{os.getpid()}"
            probe.mkdir()
            probe.rmdir()
    except OSError:
        return None
    return Limiter("cgroup-v1", memory_mb, max_processes, parents)


def _try_systemd(memory_mb: int, max_processes: int) -> Limiter | None:
    if not shutil.which("systemd-run"):
        return None
    for user in ((False,) if os.geteuid() == 0 else (True,)):
        cmd = ["systemd-run", "--quiet", "--scope", "--collect", "-p", "MemoryMax=64M", "--", "true"]
        if user:
            cmd.insert(1, "--user")
        try:
            if subprocess.run(cmd, capture_output=True, timeout=20).returncode == 0:
                return Limiter("systemd", memory_mb, max_processes, systemd_user=user)
        except (OSError, subprocess.TimeoutExpired):
            pass
    return None


def probe(memory_mb: int, max_processes: int) -> Limiter:
    """The best way this machine offers to limit a sandbox (see the module's docstring)."""
    if os.environ.get("COURSEKIT_NO_CGROUP"):
        return Limiter("rlimit", memory_mb, max_processes)
    for attempt in (_try_v2, _try_v1, _try_systemd):
        found = attempt(memory_mb, max_processes)
        if found is not None:
            return found
    return Limiter("rlimit", memory_mb, max_processes)


def cgroups_of(runs: set[str]) -> list[Path]:
    """The coursekit-<run>-* cgroups below this process's cgroups of the given runs (and of no other)."""
    found = []
    if not runs:
        return found
    for parent in filter(None, (_own_cgroup(None), _own_cgroup("memory"), _own_cgroup("pids"))):
        if not parent.is_dir():
            continue
        for d in parent.glob(f"{PREFIX}*"):
            run = d.name[len(PREFIX):].rsplit("-", 1)[0]
            if run in runs and d.is_dir() and not d.is_symlink():
                found.append(d)
    return found
