"""Isolation of each submission while it is graded: bubblewrap namespaces, limits, cleanup.

:func:`probe` finds out once per run what this machine allows and returns an :class:`Isolation`:

* ``bwrap`` works (Linux with user namespaces; Debian's ``bubblewrap`` package): nbgrader runs in
  a grading slot's sandbox (see ``bwrap.py`` and ``coursekit/grading/slot.py``) and every
  submission's kernel in a fresh sandbox nested in it; as root each slot runs as its own unused uid
  (``runs.py``), otherwise as you;
* otherwise grading still works, unisolated, with a loud warning (``KitSandbox.mode = "required"``
  refuses instead).

Limits come from ``limits.py`` (a cgroup where possible, rlimits otherwise).
"""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field

from coursekit.sandbox import bwrap, limits


@dataclass
class Isolation:
    """What the sandboxes of this run are made of."""

    bwrap: str | None                 # path of bwrap, or None: no namespaces
    as_root: bool                     # the grader is root: every sandbox gets its own uid
    limiter: limits.Limiter
    warnings: list[str] = field(default_factory=list)

    @property
    def isolated(self) -> bool:
        return self.bwrap is not None

    def describe(self) -> str:
        if self.isolated:
            who = "its own unprivileged uid" if self.as_root else "your uid, in a user namespace"
            where = ("bubblewrap: every submission's kernel in a fresh sandbox of its own, nested in a grading "
                     "slot's sandbox that runs nbgrader (own user, pid, network, IPC and mount namespaces; "
                     f"as {who}; only the Python environment and utils/ visible)")
        else:
            where = "NO isolation: student code runs as " + ("a throw-away uid" if self.as_root else "you") + \
                    ", can read your files and reach the network"
        return f"{where}; limits: {self.limiter.describe()}"


def _works(argv: list[str]) -> tuple[bool, str]:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd="/")
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, str(exc)
    return proc.returncode == 0, (proc.stderr or proc.stdout).strip()[-300:]


def unreachable_as(uid: int, python: str | None = None) -> str | None:
    """Without isolation, as root, each grading slot runs as a throw-away uid: why that uid cannot run
    this Python and import what grading needs (a Python under /root, say), or None."""
    python = python or sys.executable
    kit = os.path.dirname(bwrap.package_dir("coursekit"))
    ok, err = _works(bwrap.drop_to(uid, [python, "-I", "-c", f"import sys; sys.path.insert(0, {kit!r}); "
                                                               "import coursekit.slot.driver, ipykernel"]))
    if ok:
        return None
    last = (err.strip().splitlines() or ["no reason given"])[-1]
    real = os.path.realpath(python)
    shown = python if real == python else f"{python} (that is, {real})"
    return (f"grading without isolation as root runs each submission as a throw-away uid ({uid}), which cannot "
            f"run {shown} with the course kit ({last}). Install the Python environment where every user can "
            f"read it (not under /root, for example), or grade with isolation (bubblewrap)")


def probe(mode: str, memory_mb: int, max_processes: int, uid: int | None) -> Isolation:
    """What isolation this machine allows (each part tried for real). ``uid``: the uid to try as
    (root only; a locked one from runs.Run.allocate_uid)."""
    as_root = sys.platform.startswith("linux") and os.geteuid() == 0
    limiter = limits.probe(memory_mb, max_processes) if sys.platform.startswith("linux") else \
        limits.Limiter("rlimit", memory_mb, max_processes)
    if mode == "off":
        _check_unisolated(as_root, uid)
        return Isolation(None, as_root, limiter, ["isolation switched off (KitSandbox.mode = 'off'): student code "
                                                  "runs unconfined and can read your files and reach the network"])
    path = bwrap.bwrap_path()
    problem = ""
    if not sys.platform.startswith("linux"):
        problem = "not Linux: no namespaces for a sandbox"
    elif path is None:
        problem = ("bubblewrap (bwrap) is not installed: `apt-get install bubblewrap` (Debian/Ubuntu), "
                   "`dnf install bubblewrap` (Fedora)")
    else:
        # the real thing: a sandbox (as root: made from a privileged view, as its own uid) in which
        # a nested sandbox (the kernel's) imports ipykernel
        def layer() -> list[str]:
            m = bwrap.Mounts().system().tmpfs("/tmp", 16, "1777")
            for p in bwrap.python_paths():
                m.ro(p)
            return [path, *bwrap.common(1000), *m.args, "--"]
        argv = layer() + layer() + [sys.executable, "-I", "-c", "import ipykernel"]
        if as_root:
            argv = bwrap.privileged_view([(p, p, False) for p in bwrap.python_paths()], uid, argv)
        ok, err = _works(argv)
        if ok:
            return Isolation(path, as_root, limiter)
        problem = f"bubblewrap cannot make a sandbox here ({err or 'no reason given'}); unprivileged user " \
                  "namespaces may be disabled (sysctl kernel.unprivileged_userns_clone / " \
                  "user.max_user_namespaces, or an AppArmor restriction)"
    if mode == "required":
        raise SystemExit(f"cannot isolate submissions: {problem} (KitSandbox.mode = 'required')")
    _check_unisolated(as_root, uid)
    return Isolation(None, as_root, limiter, [
        f"SUBMISSIONS ARE NOT ISOLATED: {problem}. Student code runs unconfined"
        + (" as a throw-away uid" if as_root else " as you") + ": it can read your files and reach the network."])


def _check_unisolated(as_root: bool, uid: int | None) -> None:
    """Refuse, before anyone is graded, a run whose every submission would fail (see unreachable_as)."""
    if as_root and uid is not None:
        problem = unreachable_as(uid)
        if problem:
            raise SystemExit(f"cannot grade: {problem}")
