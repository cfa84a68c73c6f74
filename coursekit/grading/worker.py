"""One submission: its sandbox folder, the sandbox process, and reading its results back as data.

:func:`start` writes the job's input folder (only the expected notebooks, the topic's throw-away
gradebook, a job description), makes its cgroup and starts the sandbox; :func:`finish` reads back
``result.json`` and the executed notebooks with :mod:`safeio` (no links, capped sizes), checks every
number against the gradebook's own cells, sanitises the notebooks, and removes everything the
sandbox left. The sandbox folder of job ``n`` is ``<run dir>/j<n>/``::

    in/    root's, read-only in the sandbox: job.json, gradebook.db, submission/, source/, etc/, mpl/
    out/   the sandbox's uid's, writable in the sandbox: result.json, <notebook>.ipynb
    work/  only without isolation (with it, the sandbox's working space is a tmpfs)
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from coursekit.config import KitGrading, KitSandbox
from coursekit.grading import diagnostics, safeio, sanitize
from coursekit.grading.model import Grade, Job, JobResult, NotebookResult
from coursekit.sandbox import Isolation, bwrap, limits
from coursekit.sandbox.runs import Run

# the sandbox waits at this gate until it is in its cgroup (what it starts later inherits the cgroup)
# (on its stdin, a pipe from this process; the sandbox itself gets /dev/null)
GATE = 'read -r go && [ "$go" = go ] || exit 97; exec "$@" </dev/null'
RESULT_CAP = 4 << 20


@dataclass
class Context:
    """What every job of one run shares."""

    root: Path
    topic: str
    notebooks: list[str]                       # expected notebook names (without .ipynb)
    course_id: str
    template: Path                             # the topic's throw-away gradebook (SQLite)
    cells: dict[str, dict[str, float]]         # notebook -> graded cell -> max points
    comment_cells: dict[str, set[str]]         # notebook -> cells that may carry a comment
    released: dict[str, bytes]                 # notebook -> the student version (for tamper notes)
    source_files: dict[str, bytes]             # other files of the topic's source folder
    nbgrader_config: dict
    isolation: Isolation
    run: Run
    grading: KitGrading
    sandbox: KitSandbox
    cell_timeout: float
    mpl_cache: list[Path] = field(default_factory=list)
    guard: bool = True
    scrub: list[str] = field(default_factory=list)          # host paths removed from outputs
    released_sources: set[str] = field(default_factory=set)  # the course's own cell sources
    kernelspec: dict | None = None                           # the released notebook's kernelspec


@dataclass
class Running:
    job: Job
    result: JobResult
    dir: Path
    proc: subprocess.Popen
    cgroup: limits.Cgroup | None
    uid: int | None
    started: float


def _trusted_paths(ctx: Context) -> list[str]:
    return [*bwrap.python_paths(), bwrap.package_dir("utils"), bwrap.KIT_DIR, "/usr/"]


def _kernel_settings(ctx: Context, mpl_dir: str = bwrap.KIT_DIR + "/mpl", cgroup: bool = True) -> str:
    sb = ctx.sandbox
    trusted = _trusted_paths(ctx)
    if not ctx.isolation.isolated:
        trusted.append(str(Path(__file__).resolve().parent.parent / "sandbox"))
    settings = {"guard": ctx.guard, "guarded_modules": list(sb.guarded_modules), "trusted_paths": trusted,
                "fsize": sb.max_file_mb << 20, "mpl_cache": mpl_dir, "own_pid_namespace": ctx.isolation.isolated}
    if ctx.isolation.limiter.kind == "rlimit" or not cgroup:
        settings["address_space"] = sb.address_space_mb << 20
        if ctx.isolation.as_root:
            settings["nproc"] = sb.max_processes
    return json.dumps(settings)


def _kernel_argv(ctx: Context, home: str, workdir: str, rt: str, cgroup: bool) -> list[str]:
    """The student kernel's command line (run by nbgrader inside the submission's sandbox)."""
    py = sys.executable
    env = bwrap.kernel_env(home, ctx.sandbox.kernel_threads, _kernel_settings(ctx, cgroup=cgroup))
    if not ctx.isolation.isolated:
        return [py, "-I", str(Path(__file__).resolve().parent.parent / "sandbox" / "kernel_start.py"),
                "-f", "{connection_file}"]
    sb = ctx.sandbox
    m = bwrap.Mounts().system()
    for p in bwrap.python_paths():
        m.ro(p)
    m.ro(bwrap.package_dir("utils"))
    m.ro("/grade/in/kernel_start.py", bwrap.KERNEL_START).ro("/grade/in/mpl", bwrap.KIT_DIR + "/mpl")
    m.ro("/grade/in/etc/passwd", "/etc/passwd").ro("/grade/in/etc/group", "/etc/group")
    m.tmpfs("/tmp", sb.tmp_limit_mb, "1777").tmpfs("/dev/shm", sb.tmp_limit_mb, "1777")
    m.tmpfs(home, sb.tmp_limit_mb, "0700")
    m.rw(workdir, f"{home}/{ctx.topic}").rw(rt).read_only_root()
    return [ctx.isolation.bwrap, *bwrap.common(1000, "kernel"), *m.args, *bwrap.env_args(env),
            "--chdir", f"{home}/{ctx.topic}", "--", py, "-I", bwrap.KERNEL_START, "-f", "{connection_file}"]


def _write(path: Path, data: bytes, mode: int = 0o644) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def _inputs(ctx: Context, job: Job, jdir: Path, base: str, cgroup: bool) -> None:
    """The job's read-only input folder: nothing but data the trusted grader chose."""
    inp = jdir / "in"
    for d in (inp, inp / "submission", inp / "source", inp / "etc", inp / "mpl"):
        d.mkdir(mode=0o755)
    for name, data in job.notebooks.items():
        _write(inp / "submission" / f"{name}.ipynb", data)
    if job.timestamp:
        _write(inp / "submission" / "timestamp.txt", job.timestamp.encode())
    for name, data in ctx.source_files.items():
        _write(inp / "source" / name, data)
    shutil.copyfile(ctx.template, inp / "gradebook.db")
    os.chmod(inp / "gradebook.db", 0o644)
    shutil.copyfile(Path(__file__).resolve().parent.parent / "sandbox" / "kernel_start.py", inp / "kernel_start.py")
    _write(inp / "etc" / "passwd", b"student:x:1000:1000:student:/home/student:/bin/sh\n"
                                   b"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")
    _write(inp / "etc" / "group", b"student:x:1000:\nnogroup:x:65534:\n")
    for f in ctx.mpl_cache:
        shutil.copyfile(f, inp / "mpl" / f.name)
    home, rt = "/home/student", f"{base}/work/rt"
    workdir = f"{base}/work/course/autograded/student/{ctx.topic}"
    job_json = {"topic": ctx.topic, "notebooks": ctx.notebooks, "course_id": ctx.course_id,
                "nbgrader_config": ctx.nbgrader_config, "guard": ctx.guard,
                "kernel_argv": _kernel_argv(ctx, home, workdir, rt, cgroup)}
    if not ctx.isolation.isolated:
        kernel_env = bwrap.kernel_env(str(jdir / "work" / "home"), ctx.sandbox.kernel_threads,
                                      _kernel_settings(ctx, str(jdir / "in" / "mpl"), cgroup))
        job_json["kernel_env"] = kernel_env
    _write(inp / "job.json", json.dumps(job_json).encode())
    for dirpath, dirnames, filenames in os.walk(inp):
        for n in filenames:
            os.chmod(os.path.join(dirpath, n), 0o644)


def _driver_argv(ctx: Context, jdir: Path, uid: int | None) -> tuple[list[str], dict | None]:
    """The command that runs the driver: in its sandbox, or (no isolation) as a plain process."""
    py = sys.executable
    kit_parent = str(Path(bwrap.package_dir("coursekit")).parent)
    if not ctx.isolation.isolated:
        env = {"PATH": f"{os.path.dirname(py)}:/usr/bin:/bin", "HOME": str(jdir / "work" / "home"),
               "LANG": "C.UTF-8", "PYTHONPATH": kit_parent, "PYTHONSAFEPATH": "1", "PYTHONDONTWRITEBYTECODE": "1",
               "COURSEKIT_GRADE_DIR": str(jdir), "TMPDIR": str(jdir / "work" / "tmp"), "OMP_NUM_THREADS": "1"}
        cmd = [py, "-m", "coursekit.sandbox.driver"]
        if uid is not None:
            cmd = [py, "-I", "-S", str(Path(bwrap.__file__).parent / "dropuid.py"), str(uid), "--", *cmd]
        return cmd, env
    sb = ctx.sandbox
    # what the sandbox is made of: (source on this machine, place in the sandbox, writable)
    binds = [(p, p, False) for p in bwrap.python_paths()]
    binds += [(bwrap.package_dir("utils"), bwrap.package_dir("utils"), False),
              (bwrap.package_dir("coursekit"), bwrap.KIT_DIR + "/coursekit", False),
              (str(jdir / "in"), "/grade/in", False), (str(jdir / "out"), "/grade/out", True)]
    m = bwrap.Mounts().system()
    for src, dest, rw in binds:
        source = dest if uid is not None else src      # as root, the privileged view already holds it
        (m.rw if rw else m.ro)(source, dest)
    inp = "/grade/in" if uid is not None else str(jdir / "in")
    m.ro(f"{inp}/etc/passwd", "/etc/passwd").ro(f"{inp}/etc/group", "/etc/group")
    m.tmpfs("/grade/work", sb.disk_limit_mb, "0755")
    m.tmpfs("/tmp", sb.tmp_limit_mb, "1777").tmpfs("/dev/shm", sb.tmp_limit_mb, "1777").read_only_root()
    env = {"PATH": f"{os.path.dirname(py)}:/usr/bin:/bin", "HOME": "/grade/work/home", "LANG": "C.UTF-8",
           "PYTHONPATH": bwrap.KIT_DIR, "PYTHONSAFEPATH": "1", "PYTHONDONTWRITEBYTECODE": "1", "TMPDIR": "/tmp",
           "OMP_NUM_THREADS": "1", "USER": "student"}
    argv = [ctx.isolation.bwrap, *bwrap.common(1000), *m.args, *bwrap.env_args(env), "--chdir", "/grade/work",
            "--", py, "-m", "coursekit.sandbox.driver"]
    if uid is not None:
        argv = bwrap.privileged_view(binds, uid, argv)
    return argv, None


def start(ctx: Context, job: Job, n: int) -> Running | JobResult:
    """Check the submission, prepare its sandbox folder and start the sandbox (or return the
    result at once when the submission cannot be graded)."""
    result = JobResult(job.student, job.digest, timestamp=job.timestamp, notes=list(job.notes))
    early = diagnostics.precheck(ctx, job, result)
    if early:
        result.reason = early
        return result
    jdir = ctx.run.dir / f"j{n}"
    jdir.mkdir(mode=0o711)
    uid = ctx.run.allocate_uid(ctx.sandbox.uid_base, ctx.sandbox.uid_count) if ctx.isolation.as_root else None
    base = "/grade" if ctx.isolation.isolated else str(jdir)
    cgroup = None
    try:
        cgroup = ctx.isolation.limiter.make(f"{limits.PREFIX}{ctx.run.id}-{n}")
    except OSError as exc:
        result.note(f"no cgroup for this submission ({exc.strerror}): the address-space limit applies instead")
    _inputs(ctx, job, jdir, base, cgroup is not None)
    (jdir / "out").mkdir(mode=0o700)
    if not ctx.isolation.isolated:
        for d in ("work", "work/home", "work/tmp"):
            (jdir / d).mkdir(mode=0o700)
    if uid is not None:
        for d in ("out", "work", "work/home", "work/tmp"):
            if (jdir / d).exists():
                os.chown(jdir / d, uid, uid)
    argv, env = _driver_argv(ctx, jdir, uid)
    argv = ctx.isolation.limiter.wrapper() + argv
    r, w = os.pipe()
    kwargs = {}
    debug = os.environ.get("COURSEKIT_DEBUG")
    proc = subprocess.Popen(["/bin/sh", "-c", GATE, "sh", *argv], stdin=r,
                            stdout=None if debug else subprocess.DEVNULL, stderr=None if debug else subprocess.DEVNULL,
                            cwd=str(jdir), env=env if env is not None else {"PATH": "/usr/bin:/bin"},
                            start_new_session=True, **kwargs)
    os.close(r)
    try:
        if cgroup is not None:
            cgroup.add(proc.pid)
        os.write(w, b"go\n")
    except OSError as exc:
        result.note(f"the sandbox could not be put in its cgroup ({exc.strerror})")
    finally:
        os.close(w)      # without "go" the gate exits: nothing runs outside its limits
    return Running(job, result, jdir, proc, cgroup, uid, time.monotonic())


def kill(running: Running) -> None:
    """Stop a sandbox at once: the sandbox's own process (its namespace dies with it), then the
    cgroup's processes. Never a uid-wide or name-based kill."""
    try:
        os.killpg(running.proc.pid, 9)
    except OSError:
        pass
    if running.cgroup is not None:
        running.cgroup.kill_all()
    try:
        running.proc.wait(10)
    except subprocess.TimeoutExpired:
        pass


def finish(ctx: Context, running: Running, timed_out: bool = False) -> JobResult:
    """Read a finished (or killed) sandbox's results back as data, then remove its traces."""
    result = running.result
    result.seconds = time.monotonic() - running.started
    oom = pids_hit = 0
    try:
        if running.cgroup is not None:
            oom = running.cgroup.oom_kills()
            pids_hit = running.cgroup.pids_max_hits()
            result.peak_mb = running.cgroup.peak_bytes() / 2**20
            running.cgroup.remove()
        if timed_out:
            result.reason = f"timed out after {ctx.grading.submission_timeout:g} s (KitGrading.submission_timeout)"
            if oom:
                result.reason = diagnostics.memory_reason(ctx, None)
            return result
        try:
            raw = safeio.read_file(running.dir / "out", "result.json", RESULT_CAP, below=running.dir)
            data = json.loads(raw.decode("utf-8"))
            if not isinstance(data, dict):
                raise ValueError("not an object")
        except (safeio.Unsafe, ValueError, UnicodeDecodeError) as exc:
            result.reason = diagnostics.no_result_reason(ctx, running.proc.returncode, oom, str(exc))
            return result
        _apply(ctx, running, data, result, oom, pids_hit)
        return result
    finally:
        if running.uid is not None:
            ctx.run.release_uid(running.uid)
        shutil.rmtree(running.dir, ignore_errors=True)


def _apply(ctx: Context, running: Running, data: dict, result: JobResult, oom: int, pids_hit: int) -> None:
    integrity = data.get("integrity") if isinstance(data.get("integrity"), dict) else {}
    for found in integrity.values():
        if isinstance(found, dict):
            for item in _strings(found.get("flags"))[:30]:
                result.flag(item)
            for item in _strings(found.get("notes"))[:30]:
                result.note(item)
            kept = _strings(found.get("stderr_kept"))
            if kept:
                result.note("output on stderr in graded cells that passed (kept their points): " + ", ".join(kept[:10]))
    if pids_hit:
        result.note(f"it reached the {ctx.sandbox.max_processes}-process limit (KitSandbox.max_processes)")
    if data.get("status") != "graded":
        result.reason = diagnostics.failure_reason(ctx, data, oom, pids_hit)
        return
    notebooks = data.get("notebooks") if isinstance(data.get("notebooks"), dict) else {}
    cap = int(ctx.grading.max_notebook_mb * 4 * 2**20)
    for name in ctx.notebooks:
        if name not in job_notebooks(running):
            continue
        raw = notebooks.get(name)
        if not isinstance(raw, dict):
            result.reason = f"grader error: no scores came back for {name}.ipynb"
            return
        checked = _checked_scores(ctx, name, raw)
        if isinstance(checked, str):
            result.reason = f"grader error: {checked}"
            result.flag(f"the sandbox returned impossible scores for {name}.ipynb ({checked})")
            return
        try:
            executed = safeio.read_file(running.dir / "out", f"{name}.ipynb", cap, below=running.dir)
            checked.executed = sanitize.notebook_bytes(executed, ctx.scrub, ctx.released_sources, ctx.kernelspec)
        except (safeio.Unsafe, ValueError) as exc:
            result.reason = f"grader error: the executed {name}.ipynb could not be read back ({exc})"
            return
        result.notebooks[name] = checked
    for name, errors in diagnostics.cell_errors(result.notebooks).items():
        result.note(f"errors raised in {name}: " + ", ".join(errors[:8]))
        if "MemoryError" in errors:
            result.note(diagnostics.memory_error_note(ctx, running.cgroup is not None))
    if oom:
        result.note(diagnostics.memory_reason(ctx, None) + " (a process of the submission was stopped)")
    result.status = "graded"


def job_notebooks(running: Running) -> set[str]:
    return set(running.job.notebooks)


def _strings(value) -> list[str]:
    if not isinstance(value, list):
        return []
    return [str(v)[:500] for v in value if isinstance(v, (str, int, float))]


def _checked_scores(ctx: Context, name: str, raw: dict) -> NotebookResult | str:
    """The sandbox's scores, only where they fit the gradebook's own cells and points."""
    cells = ctx.cells.get(name, {})
    grades_in = raw.get("grades")
    if not isinstance(grades_in, dict) or set(grades_in) != set(cells):
        return "graded cells differ from the gradebook's"
    grades = {}
    for cell, max_points in cells.items():
        value = grades_in[cell]
        if not isinstance(value, list) or len(value) != 3:
            return f"bad score record for {cell}"
        auto, _, manual = value
        if auto is not None:
            if not isinstance(auto, (int, float)) or not (0 <= float(auto) <= max_points):
                return f"score {auto!r} of {cell} outside 0..{max_points:g}"
            auto = float(auto)
        grades[cell] = Grade(auto, max_points, bool(manual))
    comments = {}
    comments_in = raw.get("comments") if isinstance(raw.get("comments"), dict) else {}
    for cell, text in comments_in.items():
        if cell in ctx.comment_cells.get(name, set()):
            comments[cell] = None if text is None else sanitize.markdown(str(text)[:5000])
    penalty = raw.get("penalty") or 0.0
    total = sum(cells.values())
    if not isinstance(penalty, (int, float)) or not (0 <= float(penalty) <= total):
        return "impossible late penalty"
    return NotebookResult(grades, comments, float(penalty))
