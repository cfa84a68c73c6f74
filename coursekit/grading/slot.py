"""A slot: one grading sandbox that runs nbgrader for one submission after another.

Each of the N slots of a run is a bubblewrap sandbox (see ``coursekit.sandbox``) in which a driver
has already imported nbgrader; for every submission it forks a fresh driver process that autogrades
that one submission, whose kernel runs in a sandbox of its own, made new for each submission (its
own user, pid, network, IPC and mount namespaces, its own /tmp and /dev/shm, only its working copy
writable). Starting Python and importing nbgrader once per slot instead of once per submission is
what keeps grading about twice as fast as sequential nbgrader on two cores.

The slot sees only ``/grade/jobs`` (one folder per job, written by the grader: the job's input
read-only by permissions, its output folder the slot's own), its working space ``/grade/work`` (where
each job mounts a fresh tmpfs of its own), and read-only the Python environment, ``utils/`` and
``coursekit/``. The grader removes each job's folders after reading its results. A slot that runs
over a submission's time limit, or dies, is stopped as a whole (its cgroup and process group; its pid
namespace dies with it) and replaced.

Files of slot k: ``<run dir>/s<k>-<generation>/`` (private to the grader, see :func:`folder`) holding
``jobs/``, ``work/`` (only without isolation), ``etc/`` (passwd and group naming only ``student``),
``mpl/`` (a warm matplotlib font cache). With isolation each job's working space is a fresh tmpfs of
its own (``coursekit/sandbox/workspace.py``), not a folder of the slot.
"""
from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from coursekit import wire
from coursekit.grading import bytecode, worker
from coursekit.grading.worker import Context
from coursekit.sandbox import bwrap, limits, workspace

# The sandbox waits at this gate, on its stdin (a pipe from the grader), until it is in its cgroup
# (what it starts later inherits the cgroup); then the same pipe brings it the names of its jobs.
GATE = 'read -r go && [ "$go" = go ] || exit 97; exec "$@"'      # wire.control_line("go")
ZYGOTE_HEADROOM_MB = 768      # the slot's own driver and kernel zygote, on top of a submission's memory limit
#: With isolation, every job of a slot works on a fresh tmpfs of its own (KitSandbox.disk_limit_mb), made
#: in the job's own namespaces and gone with its last process; False (tests): a folder of the slot's
#: /grade/work, removed by the driver after the job.
FRESH_WORKSPACE = True


@dataclass
class Slot:
    ctx: Context
    index: int
    dir: Path
    uid: int | None
    proc: subprocess.Popen
    cgroup: limits.Cgroup | None
    generation: int
    job: str | None = None                  # the job it is grading
    started: float = 0.0
    oom_before: int = 0
    pids_before: int = 0
    buffer: bytes = b""
    done: list[str] = field(default_factory=list)

    # -- life ------------------------------------------------------------------------------------
    @classmethod
    def open(cls, ctx: Context, index: int, generation: int = 0) -> "Slot":
        run = ctx.run
        uid = run.allocate_uid(ctx.sandbox.uid_base, ctx.sandbox.uid_count) if ctx.isolation.as_root else None
        sdir = folder(run.dir, f"s{index}-{generation}", uid, ctx.isolation.isolated, ctx.mpl_cache)
        cgroup = None
        try:
            memory = ctx.sandbox.memory_limit_mb + ZYGOTE_HEADROOM_MB if ctx.sandbox.memory_limit_mb else 0
            limiter = limits.Limiter(ctx.isolation.limiter.kind, memory, ctx.sandbox.max_processes,
                                     ctx.isolation.limiter.parents, ctx.isolation.limiter.systemd_user)
            cgroup = limiter.make(f"{limits.PREFIX}{run.id}-{index}x{generation}")
        except OSError:
            cgroup = None
        argv, env = _argv(ctx, sdir, uid, cgroup is not None)
        argv = (limiter.wrapper() if ctx.isolation.limiter.kind == "systemd" else []) + argv
        debug = os.environ.get("COURSEKIT_DEBUG")
        proc = subprocess.Popen(["/bin/sh", "-c", GATE, "sh", *argv], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=None if debug else subprocess.DEVNULL, cwd=str(sdir),
                                env=env if env is not None else {"PATH": "/usr/bin:/bin"}, start_new_session=True)
        slot = cls(ctx, index, sdir, uid, proc, cgroup, generation)
        try:
            if cgroup is not None:
                cgroup.add(proc.pid)
            slot._send(wire.control_line("go"))
        except OSError:
            slot.close()
            raise
        os.set_blocking(proc.stdout.fileno(), False)
        return slot

    def close(self) -> None:
        """Stop the whole sandbox (never by uid or name: its process group, its cgroup)."""
        try:
            os.killpg(self.proc.pid, 9)
        except OSError:
            pass
        if self.cgroup is not None:
            self.cgroup.remove()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
        for pipe in (self.proc.stdin, self.proc.stdout):
            try:
                pipe.close()
            except OSError:
                pass
        if self.uid is not None:
            self.ctx.run.release_uid(self.uid)
        workspace.remove_tree(self.dir)

    # -- jobs ------------------------------------------------------------------------------------
    @property
    def base(self) -> str:
        return "/grade" if self.ctx.isolation.isolated else str(self.dir)

    def start(self, name: str) -> None:
        self.job, self.started = name, time.monotonic()
        if self.cgroup is not None:
            self.oom_before, self.pids_before = self.cgroup.oom_kills(), self.cgroup.pids_max_hits()
        self._send(wire.control_line("grade", name))

    def _send(self, line: bytes) -> None:
        self.proc.stdin.write(line)
        self.proc.stdin.flush()

    def counters(self) -> tuple[int, int]:
        """(OOM kills, refused processes) since the current job started."""
        if self.cgroup is None:
            return 0, 0
        return self.cgroup.oom_kills() - self.oom_before, self.cgroup.pids_max_hits() - self.pids_before

    def finished(self) -> bool:
        """Whether the current job is done (reads what the driver said; never blocks)."""
        try:
            chunk = os.read(self.proc.stdout.fileno(), 4096)
        except BlockingIOError:
            chunk = None
        except OSError:
            chunk = b""
        if chunk:
            self.buffer = (self.buffer + chunk)[-65536:]
            *lines, self.buffer = self.buffer.split(b"\n")
            self.done += [name for name in map(lambda line: wire.parse_control(line, "done"), lines) if name]
        return self.job is not None and self.job in self.done

    def alive(self) -> bool:
        return self.proc.poll() is None

    def fileno(self) -> int:
        return self.proc.stdout.fileno()


def wait(slots: list[Slot], timeout: float) -> None:
    """Sleep until a slot has something to say or ``timeout`` seconds passed."""
    fds = [s.fileno() for s in slots if s.job is not None]
    if fds:
        try:
            select.select(fds, [], [], timeout)
        except (OSError, ValueError):
            time.sleep(timeout)
    else:
        time.sleep(timeout)


def _file(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    os.chmod(path, 0o644)


def folder(run_dir: Path, name: str, uid: int | None, isolated: bool, mpl_cache: list[Path] = ()) -> Path:
    """The slot's folder in the run's (see the module's docstring), private to the grader: 0700, so no
    other local user can read a job's input (its gradebook holds the hidden tests). With isolation the
    sandbox gets its parts bound into it (as root, by root) and never needs to open the folder itself.
    Without isolation, as root, the slot's own uid opens it by its path: the run's folder is then
    searchable but not listable (0711) and the slot's folder is root's, of the slot uid's group, 0710
    (dropuid.py gives the slot that group and no other)."""
    sdir = run_dir / name
    sdir.mkdir(mode=0o700)
    if not isolated and uid is not None:
        os.chmod(run_dir, 0o711)
        os.chown(sdir, 0, uid)
        os.chmod(sdir, 0o710)
    for d in ("jobs", "etc", "mpl"):
        (sdir / d).mkdir(mode=0o711 if d == "jobs" else 0o755)
    _file(sdir / "etc" / "passwd", b"student:x:1000:1000:student:/home/student:/bin/sh\n"
                                   b"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")
    _file(sdir / "etc" / "group", b"student:x:1000:\nnogroup:x:65534:\n")
    for f in mpl_cache:
        shutil.copyfile(f, sdir / "mpl" / f.name)
        os.chmod(sdir / "mpl" / f.name, 0o644)
    if not isolated:
        (sdir / "work").mkdir(mode=0o700)
        if uid is not None:
            os.chown(sdir / "work", uid, uid)
    return sdir


def _argv(ctx: Context, sdir: Path, uid: int | None, cgroup: bool) -> tuple[list[str], dict | None]:
    """The command that runs the slot's driver: in its sandbox, or (no isolation) as a plain process."""
    bytecode.compiled_wire()        # what the slot and its kernels import, compiled once (bytecode.py)
    py = sys.executable
    if not ctx.isolation.isolated:
        kit_parent = str(Path(bwrap.package_dir("coursekit")).parent)
        env = {"PATH": f"{os.path.dirname(py)}:/usr/bin:/bin", "HOME": str(sdir / "work"), "LANG": "C.UTF-8",
               "PYTHONPATH": kit_parent, "PYTHONSAFEPATH": "1", "PYTHONDONTWRITEBYTECODE": "1",
               "COURSEKIT_GRADE_DIR": str(sdir), "TMPDIR": str(sdir / "work"), "OMP_NUM_THREADS": "1"}
        cmd = [py, "-m", "coursekit.slot.driver"]
        if uid is not None:
            cmd = bwrap.drop_to(uid, cmd)
        return cmd, env
    sb = ctx.sandbox
    # what the sandbox is made of: (source on this machine, place in the sandbox, writable)
    binds = [(p, p, False) for p in bwrap.python_paths()]
    binds += [(bwrap.package_dir("utils"), bwrap.package_dir("utils"), False),
              (bwrap.package_dir("coursekit"), bwrap.KIT_DIR + "/coursekit", False),
              (str(sdir / "jobs"), "/grade/jobs", True), (str(sdir / "etc"), "/grade/etc", False),
              (str(sdir / "mpl"), "/grade/mpl", False)]
    m = bwrap.Mounts().system()
    for src, dest, rw in binds:
        source = dest if uid is not None else src      # as root, the privileged view already holds it
        (m.rw if rw else m.ro)(source, dest)
    m.ro("/grade/etc/passwd" if uid is not None else str(sdir / "etc" / "passwd"), "/etc/passwd")
    m.ro("/grade/etc/group" if uid is not None else str(sdir / "etc" / "group"), "/etc/group")
    m.tmpfs("/grade/work", sb.disk_limit_mb, "0755")
    m.tmpfs("/tmp", sb.tmp_limit_mb, "1777").tmpfs("/dev/shm", sb.tmp_limit_mb, "1777").read_only_root()
    env = {"PATH": f"{os.path.dirname(py)}:/usr/bin:/bin", "HOME": "/grade/work", "LANG": "C.UTF-8",
           "PYTHONPATH": bwrap.KIT_DIR, "PYTHONSAFEPATH": "1", "PYTHONDONTWRITEBYTECODE": "1", "TMPDIR": "/tmp",
           "OMP_NUM_THREADS": "1", "USER": "student"}
    if FRESH_WORKSPACE:       # each job's working space a tmpfs of its own (coursekit/sandbox/workspace.py)
        env["COURSEKIT_WORK_MB"] = str(sb.disk_limit_mb)
    if worker.warm_kernels(ctx, cgroup):
        env["COURSEKIT_WARM_KERNELS"] = json.dumps({"env": worker.zygote_environment(ctx, cgroup),
                                                    "preload": list(ctx.sandbox.preload_modules)})
    argv = [ctx.isolation.bwrap, *bwrap.common(1000), *m.args, *bwrap.env_args(env), "--chdir", "/grade/work",
            "--", py, "-m", "coursekit.slot.driver"]
    if uid is not None:
        argv = bwrap.privileged_view(binds, uid, argv)
    return argv, None
