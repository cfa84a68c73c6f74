"""Command lines for bubblewrap (``bwrap``): the submission's sandbox and, nested in it, the kernel's.

Both are made with ``--unshare-all`` (new user, pid, network, IPC, UTS and cgroup namespaces),
``--die-with-parent`` and ``--new-session``, a fresh ``/proc`` of their own pid namespace, a minimal
``/dev``, and a root file system that is an empty tmpfs holding only what is bound into it:

* read-only: the operating system (``/usr`` and its ``/bin``, ``/lib`` links), a few files of
  ``/etc``, the Python installation and the course environment (``.venv``), the student library
  ``utils/`` (the submission's sandbox also gets ``coursekit/``, which runs nbgrader there);
* writable: size-limited tmpfs for ``/tmp``, ``/dev/shm`` and the working space; in the
  submission's sandbox also ``/grade/out``, where the driver leaves its results.

The course (solutions/, submitted/, autograded/, the gradebook, the LMS download), other students
and the grading process are simply not there. No path in these command lines names the course or
the student: they only name the sandbox's own folders.
"""
from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime", "/etc/nsswitch.conf",
             "/etc/fonts", "/etc/alternatives", "/etc/mime.types")
READ_ONLY_SYS = ("/sys/devices/system/cpu",)   # the CPU count for torch/OpenMP
KERNEL_START = "/opt/kit/kernel_start.py"
DROPUID = "/opt/kit/dropuid.py"
DROPUID_SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dropuid.py")   # on this machine
KIT_DIR = "/opt/kit"


def bwrap_path() -> str | None:
    return shutil.which("bwrap") or (("/usr/bin/bwrap") if os.path.exists("/usr/bin/bwrap") else None)


def python_paths() -> list[str]:
    """Folders the course's Python needs read-only: the installation, the venv, and where they point."""
    paths = []
    for p in (sys.base_prefix, sys.prefix, os.path.dirname(os.path.realpath(sys.executable))):
        real = os.path.realpath(p)
        if real.startswith("/usr/") or real == "/usr":
            continue
        if not any(real == q or real.startswith(q + "/") for q in paths):
            paths = [q for q in paths if not q.startswith(real + "/")] + [real]
    return paths


def package_dir(name: str) -> str:
    """The folder of an importable package (``utils``, ``coursekit``) as found by this interpreter."""
    import importlib.util
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"cannot find the package {name}")
    return os.path.realpath(list(spec.submodule_search_locations)[0])


@dataclass
class Mounts:
    """What one sandbox sees, as bwrap options; built up by the methods below.

    ``open_parents``: create every missing parent of a mount point world-traversable (0755).
    bubblewrap run by root creates them 0700 otherwise, and the sandbox's own uid could then not
    reach e.g. a Python installed below /root.

    bwrap applies its options in order, so a mount hides whatever was mounted below it before: a
    tmpfs on /tmp added after binding a course that lives below /tmp (a clone in /tmp/...) would hide
    the course's Python. Each mount is therefore placed before the mounts already made below it."""

    args: list[str] = field(default_factory=list)
    open_parents: bool = False
    _made: set = field(default_factory=set)
    _ops: list = field(default_factory=list)   # (index in args where a mount's options start, its destination)

    def _add(self, dest: str, options: list[str]) -> None:
        dest = "/" + str(dest).strip("/")
        below = [i for i, d in self._ops if d.startswith(dest.rstrip("/") + "/")]
        at = min(below) if below else len(self.args)
        self.args[at:at] = options
        self._ops = [(i + len(options) if i >= at else i, d) for i, d in self._ops] + [(at, dest)]

    def _parents(self, dest: str) -> None:
        if not self.open_parents:
            return
        parts = str(dest).strip("/").split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/" + "/".join(parts[:i])
            if d not in self._made and d not in SYSTEM_DIRS:
                self._made.add(d)
                self._add(d, ["--perms", "0755", "--dir", d])

    def system(self, proc: bool = True) -> "Mounts":
        for d in SYSTEM_DIRS:
            if os.path.islink(d):
                self._add(d, ["--symlink", os.readlink(d), d])
            elif os.path.isdir(d):
                self._add(d, ["--ro-bind", d, d])
        for f in ETC_FILES + READ_ONLY_SYS:
            if os.path.exists(f):
                self.ro(f)
        if proc:
            self._add("/proc", ["--proc", "/proc"])
        self._add("/dev", ["--dev", "/dev"])
        return self

    def ro(self, src: str, dest: str | None = None) -> "Mounts":
        self._parents(str(dest or src))
        self._add(str(dest or src), ["--ro-bind", str(src), str(dest or src)])
        return self

    def rw(self, src: str, dest: str | None = None) -> "Mounts":
        self._parents(str(dest or src))
        self._add(str(dest or src), ["--bind", str(src), str(dest or src)])
        return self

    def tmpfs(self, dest: str, size_mb: int | None, mode: str = "0755") -> "Mounts":
        self._parents(dest)
        size = ["--size", str(max(1, size_mb) << 20)] if size_mb else []
        self._add(dest, ["--perms", mode, *size, "--tmpfs", dest])
        return self

    def dir(self, dest: str) -> "Mounts":
        self._add(dest, ["--dir", dest])
        return self

    def read_only_root(self) -> "Mounts":
        """Last: the sandbox's own root (a tmpfs holding the mount points) becomes read-only, so that
        only the writable mounts (working space, /tmp, /dev/shm, results) can be written."""
        self.args += ["--remount-ro", "/"]
        return self


def common(inner_uid: int, hostname: str = "sandbox") -> list[str]:
    """Namespaces and process options of an unprivileged sandbox (made by bwrap as a normal user)."""
    return ["--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--uid", str(inner_uid), "--gid", str(inner_uid), "--hostname", hostname]


def privileged_view(binds: list[tuple[str, str, bool]], uid: int, command: list[str]) -> list[str]:
    """As root: a first bwrap that only prepares the file system the sandbox is made from (a mount
    namespace holding exactly ``binds``, host /proc for the next bwrap to set itself up, nothing of
    /root or the course besides), then drops to ``uid`` for good (dropuid.py) and runs ``command``
    (the unprivileged bwrap that makes the sandbox proper, as that uid). Root's bwrap cannot give a
    sandbox its own unprivileged uid itself: its user namespace would map to root."""
    m = Mounts(open_parents=True).system(proc=False)
    for src, dest, rw in binds:
        (m.rw if rw else m.ro)(src, dest)
    m.ro(DROPUID_SOURCE, DROPUID)
    m.rw("/proc", "/proc").tmpfs("/tmp", None, "1777")
    return [bwrap_path(), "--die-with-parent", "--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add",
            "CAP_SETGID", *m.args, "--", sys.executable, "-I", "-S", DROPUID, str(uid), "--", *command]


def drop_to(uid: int, command: list[str]) -> list[str]:
    """As root, without a sandbox: ``command`` run as ``uid`` for good (dropuid.py)."""
    return [sys.executable, "-I", "-S", DROPUID_SOURCE, str(uid), "--", *command]


def env_args(env: dict[str, str]) -> list[str]:
    out = ["--clearenv"]
    for k, v in env.items():
        out += ["--setenv", k, str(v)]
    return out


def kernel_env(home: str, threads: int, settings_json: str) -> dict[str, str]:
    """The whole environment of a student kernel (nothing of the grader's is passed on)."""
    venv_bin = os.path.dirname(sys.executable)
    return {
        "PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin", "HOME": home, "USER": "student", "LOGNAME": "student",
        "LANG": "C.UTF-8", "TMPDIR": "/tmp", "PYTHONSAFEPATH": "1", "PYTHONDONTWRITEBYTECODE": "1",
        "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads), "OPENBLAS_NUM_THREADS": str(threads),
        "MPLCONFIGDIR": f"{home}/.config/matplotlib", "IPYTHONDIR": f"{home}/.ipython",
        "JUPYTER_CONFIG_DIR": f"{home}/.jupyter", "COURSEKIT_KERNEL": settings_json,
    }
