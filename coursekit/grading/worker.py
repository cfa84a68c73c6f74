"""One submission: its folder in a slot, its kernel's sandbox, and reading its results back as data.

:func:`precheck` looks at the submission before anything runs; :func:`prepare` writes the job's
input folder (only the expected notebooks, the topic's throw-away gradebook, a job description with
the kernel's sandbox command line); :func:`collect` reads back ``result.json`` and the executed
notebooks with :mod:`safeio` (no links, capped sizes), checks every number against the gradebook's
own cells, sanitises the notebooks, and removes the folder. A job's folder in its slot
(``slot.py``) is ``jobs/<name>/``::

    in/    root's, read-only for the sandbox: job.json, gradebook.db, submission/, source/
    out/   the sandbox uid's: result.json, <notebook>.ipynb
"""
from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from importlib.util import cache_from_source
from pathlib import Path

from coursekit import wire
from coursekit.config import KitGrading, KitSandbox
from coursekit.grading import bytecode, deadlines, diagnostics, nbcheck, safeio, sanitize
from coursekit.grading.model import Grade, Job, JobResult, NotebookResult
from coursekit.sandbox import Isolation, bwrap
from coursekit.sandbox.runs import Run

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
    scrub: list[str] = field(default_factory=list)          # host paths removed from outputs
    released_sources: set[str] = field(default_factory=set)  # the course's own cell sources
    kernelspec: dict | None = None                           # the released notebook's kernelspec
    judge_imports: list[str] = field(default_factory=list)   # the instructor's imports, bound in the judge first
    ignore: list[str] | None = None                          # CourseDirectory.ignore (files nbgrader skips)
    kernelspecs: dict[str, dict | None] = field(default_factory=dict)   # notebook -> kernelspec nbgrader recorded
    source_cells: dict[str, list] = field(default_factory=dict)  # notebook -> the gradebook's cells (tamper check)
    reference: dict[str, bytes] = field(default_factory=dict)    # notebook -> the instructor's version (judge only)
    deadlines: deadlines.Deadlines | None = None            # due date and extensions, read on the first job


def kernel_settings(ctx: Context, mpl_dir: str, cgroup: bool, link: str | None = "/link") -> str:
    """The kernel's settings (coursekit/kernel/start.py reads them from $COURSEKIT_KERNEL): its limits,
    matplotlib's font cache, and with the judge where to answer it."""
    sb = ctx.sandbox
    settings = {"fsize": sb.max_file_mb << 20, "mpl_cache": mpl_dir}
    if ctx.grading.judge and link is not None:
        settings["judge_socket"] = f"{link}/student.sock"
        settings["judge_dir"] = JUDGE_DIR if ctx.isolation.isolated else str(_JUDGE_SOURCE)
    if ctx.isolation.limiter.kind == "rlimit" or not cgroup:
        settings["address_space"] = sb.address_space_mb << 20
        if ctx.isolation.as_root:
            settings["nproc"] = sb.max_processes
    return json.dumps(wire.make("kernel_settings", **settings))


HOME = "/home/student"
JUDGE_DIR = bwrap.KIT_DIR + "/coursekit_judge"          # coursekit/judge, in both kernels' sandboxes
JUDGE_START = bwrap.KIT_DIR + "/judge_start.py"
WIRE_FILE = bwrap.KIT_DIR + "/coursekit_wire.py"              # coursekit/wire.py, beside JUDGE_DIR (judge/wire.py)
_JUDGE_SOURCE = Path(__file__).resolve().parent.parent / "judge"
# the instructor's notebooks (nbgrader's source version, outputs dropped), for hidden tests that call
# utils.checks.reference: read-only in the judge's sandbox only (judge = False: the student's kernel's,
# as plain nbgrader's hidden tests run there); $COURSEKIT_REFERENCE names the folder
REFERENCE_DIR = bwrap.KIT_DIR + "/reference"
REFERENCE_ENV = "COURSEKIT_REFERENCE"


def reference_notebook(data: bytes) -> bytes:
    """An instructor's notebook as the judge gets it: its cells' sources and metadata, without outputs."""
    nb = json.loads(data)
    for cell in nb.get("cells", []):
        cell.pop("attachments", None)
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
    return json.dumps(nb).encode()


def _job_in(work: str) -> str:
    """A job's in/ folder as the slot sees it, from its work folder (``BASE/work/NAME`` -> ``BASE/jobs/NAME/in``,
    as coursekit/slot/driver.py lays them out)."""
    path = Path(work)
    return str(path.parent.parent / "jobs" / path.name / "in")


def write_reference(ctx: Context, inp: Path) -> None:
    """The instructor's notebooks into the job's in/reference/ (the slot's, root-owned, read-only; bound
    into the judge's sandbox only, see REFERENCE_DIR)."""
    if ctx.reference:
        (inp / "reference").mkdir(mode=0o755)
        for nb_name, data in ctx.reference.items():
            _write(inp / "reference" / f"{nb_name}.ipynb", data)


def _reference_env(ctx: Context, judge: bool, work: str | None = None) -> dict[str, str]:
    """$COURSEKIT_REFERENCE for the judge's kernel (``judge``), or for the student's without the judge."""
    if not ctx.reference or judge != ctx.grading.judge:
        return {}
    return {REFERENCE_ENV: REFERENCE_DIR if work is None else _job_in(work) + "/reference"}


# what nbgrader sets while it autogrades (nbgrader.utils.setenv): notebooks may test for it
NBGRADER_ENV = {"NBGRADER_EXECUTION": "autograde"}


def kernel_environment(ctx: Context, cgroup: bool) -> dict[str, str]:
    """The whole environment of a sandboxed student kernel (cold, and warm: see warm_kernels)."""
    env = bwrap.kernel_env(HOME, ctx.sandbox.kernel_threads, kernel_settings(ctx, bwrap.KIT_DIR + "/mpl", cgroup))
    return {**env, **NBGRADER_ENV, **_reference_env(ctx, judge=False)}


def warm_kernels(ctx: Context, cgroup: bool) -> bool:
    """Whether a slot's kernels are forked from its zygote (coursekit/warm/sandboxed.py): with isolation,
    unless switched off, and only where a cgroup counts memory. The fallback, an address-space limit,
    would count what a forked kernel inherits (torch and the rest, mapped) as if it had used it."""
    return ctx.isolation.isolated and ctx.sandbox.warm_kernels and cgroup     # (no cgroup with rlimits)


def zygote_environment(ctx: Context, cgroup: bool) -> dict[str, str]:
    """The environment a slot's zygote imports the course's modules in: the kernels' own, but with
    the slot's warm matplotlib font cache (the driver removes the per-kernel settings)."""
    env = kernel_environment(ctx, cgroup)
    env["MPLCONFIGDIR"] = "/grade/mpl"
    return env


def _kernel_mounts(ctx: Context, work: str | None = None) -> bwrap.Mounts:
    """What both kernels' sandboxes (the student's and the judge's) see alike: the system, the Python
    environment, the course library, the slot's matplotlib font cache, its passwd and group files, private
    size-limited /dev/shm and home, /tmp (with the judge the job's ``tmp`` folder, shared by the two kernels
    as one kernel has one /tmp: a test cell's temporary file reaches the student's code; made afresh for
    each notebook, preprocessors.KernelFolder; else private and size-limited), and with the judge the
    judge's package and the message tables."""
    sb = ctx.sandbox
    m = bwrap.Mounts().system()
    for p in bwrap.python_paths():
        m.ro(p)
    m.ro(bwrap.package_dir("utils")).ro("/grade/mpl", bwrap.KIT_DIR + "/mpl")
    m.ro("/grade/etc/passwd", "/etc/passwd").ro("/grade/etc/group", "/etc/group")
    if ctx.grading.judge and work is not None:
        m.rw(f"{work}/tmp", "/tmp")
    else:
        m.tmpfs("/tmp", sb.tmp_limit_mb, "1777")
    m.tmpfs("/dev/shm", sb.tmp_limit_mb, "1777")
    m.tmpfs(HOME, sb.tmp_limit_mb, "0700")
    if ctx.grading.judge:
        m.ro(bwrap.KIT_DIR + "/coursekit/judge", JUDGE_DIR).ro(bwrap.KIT_DIR + "/coursekit/wire.py", WIRE_FILE)
        pyc = bytecode.compiled_wire()     # (and the judge's package: its __pycache__ comes with JUDGE_DIR)
        if pyc and Path(pyc).is_relative_to(bytecode.KIT):
            m.ro(f"{bwrap.KIT_DIR}/coursekit/{Path(pyc).relative_to(bytecode.KIT)}", cache_from_source(WIRE_FILE))
    return m


def kernel_argv(ctx: Context, workdir: str, rt: str, cgroup: bool) -> list[str]:
    """The student kernel's command line, run by nbgrader in the driver's sandbox: a sandbox of
    its own (fresh for every submission) that sees only its working copy."""
    py = sys.executable
    home = HOME
    if not ctx.isolation.isolated:
        return [py, "-I", str(Path(__file__).resolve().parent.parent / "kernel" / "start.py"),
                "-f", "{connection_file}"]
    env = kernel_environment(ctx, cgroup)
    m = _kernel_mounts(ctx, str(Path(workdir).parent))
    m.ro(bwrap.KIT_DIR + "/coursekit/kernel/start.py", bwrap.KERNEL_START)
    m.rw(workdir, f"{home}/{ctx.topic}").rw(rt)
    if ctx.grading.judge:
        m.rw(str(Path(workdir).parent / "link"), "/link")
    elif ctx.reference:          # without the judge the hidden tests run here, as in plain nbgrader
        m.ro(_job_in(str(Path(workdir).parent)) + "/reference", REFERENCE_DIR)
    m.read_only_root()
    return [ctx.isolation.bwrap, *bwrap.common(1000, "kernel"), *m.args, *bwrap.env_args(env),
            "--chdir", f"{home}/{ctx.topic}", "--", py, "-I", bwrap.KERNEL_START, "-f", "{connection_file}"]


def judge_environment(ctx: Context, cgroup: bool, link: str = "/link", mpl_dir: str | None = None,
                      home: str = HOME) -> dict[str, str]:
    """The judge kernel's environment: a student kernel's, where to find the student's kernel, and
    $COURSEKIT_REFERENCE (the instructor's notebooks, see REFERENCE_DIR)."""
    env = bwrap.kernel_env(home, ctx.sandbox.kernel_threads,
                           kernel_settings(ctx, mpl_dir or bwrap.KIT_DIR + "/mpl", cgroup, None))
    env["COURSEKIT_JUDGE"] = json.dumps(wire.make("judge_settings", socket=f"{link}/student.sock",
                                                  judge_dir=JUDGE_DIR if ctx.isolation.isolated else str(_JUDGE_SOURCE)))
    work = None if ctx.isolation.isolated else str(Path(link).parent)
    return {**env, **NBGRADER_ENV, **_reference_env(ctx, judge=True, work=work)}


def judge_argv(ctx: Context, work: str, cgroup: bool) -> list[str]:
    """The judge kernel's command line: a sandbox of its own that sees the assignment's files (the
    kernel's working copy, writable as in one kernel: a test cell's fixture file reaches the student's
    code), the kernels' shared /tmp and the student kernel's socket, never the student's kernel's
    connection files (``rt/``), so that nothing there can reach the judge."""
    py = sys.executable
    if not ctx.isolation.isolated:
        return [py, "-I", str(_JUDGE_SOURCE / "judge_start.py"), "-f", "{connection_file}"]
    env = judge_environment(ctx, cgroup)
    m = _kernel_mounts(ctx, work).ro(bwrap.KIT_DIR + "/coursekit/judge/judge_start.py", JUDGE_START)
    m.ro(bwrap.KIT_DIR + "/coursekit/kernel/start.py", bwrap.KERNEL_START)     # (judge_start.kernel_start)
    m.rw(f"{work}/kernel", f"{HOME}/{ctx.topic}").rw(f"{work}/rt-judge").rw(f"{work}/link", "/link")
    if ctx.reference:
        m.ro(_job_in(work) + "/reference", REFERENCE_DIR)
    m.read_only_root()
    return [ctx.isolation.bwrap, *bwrap.common(1000, "judge"), *m.args, *bwrap.env_args(env),
            "--chdir", f"{HOME}/{ctx.topic}", "--", py, "-I", JUDGE_START, "-f", "{connection_file}"]


def _write(path: Path, data: bytes, mode: int = 0o644) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(path, mode)


def _write_below(top: Path, rel: str, data: bytes) -> None:
    """A file at the relative path ``rel`` (plain names only) under ``top``, its folders made."""
    parts = rel.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"bad relative path {rel!r}")
    folder = top
    for part in parts[:-1]:
        folder = folder / part
        if not os.path.isdir(folder) or os.path.islink(folder):
            os.mkdir(folder, 0o755)
    _write(folder / parts[-1], data)


def precheck(ctx: Context, job: Job) -> JobResult:
    """The result so far: notes from reading submitted/, flags from the static look, and a reason
    when the submission cannot be graded at all (then no sandbox is needed)."""
    result = JobResult(job.student, job.digest, timestamp=job.timestamp, notes=list(job.notes), trace=job.trace,
                       graded=job.graded)
    try:
        early = diagnostics.precheck(ctx, job, result)
    except Exception as exc:     # the grader's own error: this submission fails, the run goes on
        early = diagnostics.unexpected(result, "checking the submission", exc)
    if early:
        result.reason = early
    try:            # the student's extension (for the gradebook), and the late-penalty plugin's module
        result.extension = deadlines.for_context(ctx).extension(job.student)
    except deadlines.DeadlineError as exc:
        result.reason = result.reason or str(exc)
    except Exception as exc:
        result.reason = result.reason or diagnostics.unexpected(result, "reading the deadlines", exc)
    return result


def prepare(ctx: Context, job: Job, name: str, jobs_dir: Path, base: str, uid: int | None, cgroup: bool) -> Path:
    """The job's folder in its slot: in/ (root's, read-only for the sandbox: the expected notebooks,
    the topic's throw-away gradebook, job.json) and out/ (the sandbox's, for its results)."""
    jdir = jobs_dir / name
    jdir.mkdir(mode=0o711)
    inp = jdir / "in"
    for d in (inp, inp / "submission", inp / "source"):
        d.mkdir(mode=0o755)
    for nb_name, data in job.notebooks.items():
        _write(inp / "submission" / f"{nb_name}.ipynb", data)
    for rel, data in job.files.items():           # the student's other files (checked when read)
        _write_below(inp / "submission", rel, data)
    if job.timestamp:
        _write(inp / "submission" / "timestamp.txt", job.timestamp.encode())
    for rel, data in ctx.source_files.items():
        _write_below(inp / "source", rel, data)
    shutil.copyfile(ctx.template, inp / "gradebook.db")
    os.chmod(inp / "gradebook.db", 0o644)
    write_reference(ctx, inp)
    work = f"{base}/work/{name}"
    job_json = {"topic": ctx.topic, "notebooks": ctx.notebooks, "course_id": ctx.course_id, "ignore": ctx.ignore,
                "nbgrader_config": ctx.nbgrader_config,
                "kernel_argv": kernel_argv(ctx, f"{work}/kernel", f"{work}/rt", cgroup)}
    dl = deadlines.for_context(ctx)
    job_json["extension_seconds"] = dl.extension(job.student)    # of the anonymous student (driver.py)
    job_json["modules"] = dl.modules                             # the late-penalty plugin's, if the course's
    if ctx.grading.judge:
        job_json["judge_argv"] = judge_argv(ctx, work, cgroup)
        job_json["judge_imports"] = list(ctx.judge_imports)
    if warm_kernels(ctx, cgroup):
        job_json["warm"] = {"env": kernel_environment(ctx, cgroup), "cwd": f"{HOME}/{ctx.topic}"}
        if ctx.grading.judge:
            job_json["warm"]["judge_env"] = judge_environment(ctx, cgroup)
    if not ctx.isolation.isolated:
        job_json["kernel_env"] = {**bwrap.kernel_env(f"{work}/home", ctx.sandbox.kernel_threads,
                                                     kernel_settings(ctx, f"{base}/mpl", cgroup, f"{work}/link")),
                                  **NBGRADER_ENV, **_reference_env(ctx, judge=False, work=work)}
        if ctx.grading.judge:
            job_json["judge_env"] = judge_environment(ctx, cgroup, f"{work}/link", f"{base}/mpl", f"{work}/home")
    _write(inp / "job.json", json.dumps(wire.make("job", **job_json)).encode())
    (jdir / "out").mkdir(mode=0o700)
    if uid is not None:
        os.chown(jdir / "out", uid, uid)
    return jdir


def collect(ctx: Context, job: Job, result: JobResult, jdir: Path, *, timed_out: bool = False, ended: str = "",
            oom: int = 0, pids_hit: int = 0, seconds: float = 0.0) -> JobResult:
    """Read a finished (or stopped) job's results back as data, then remove its folder."""
    result.seconds = seconds
    try:
        if timed_out:
            result.reason = (diagnostics.memory_reason(ctx, None) if oom else
                             f"timed out after {ctx.grading.submission_timeout:g} s (KitGrading.submission_timeout)")
            return result
        try:
            raw = safeio.read_file(jdir / "out", "result.json", RESULT_CAP, below=jdir)
            data = wire.read("result", nbcheck.load(raw, replace_surrogates=True))
        except (safeio.Unsafe, ValueError) as exc:          # (wire.MessageError is a ValueError)
            result.reason = diagnostics.no_result_reason(ctx, ended, oom, str(exc))
            return result
        read_result(ctx, job, jdir, data, result, oom, pids_hit)
        return result
    finally:
        shutil.rmtree(jdir, ignore_errors=True)


def read_result(ctx: Context, job: Job, jdir: Path, data: dict, result: JobResult, oom: int = 0,
                pids_hit: int = 0) -> None:
    """:func:`_apply`, where any error of the grader's own fails this one submission with a reason."""
    try:
        _apply(ctx, job, jdir, data, result, oom, pids_hit)
    except Exception as exc:
        result.status, result.notebooks = "failed", {}
        result.reason = diagnostics.unexpected(result, "reading the results back", exc)


def read_executed(ctx: Context, raw: bytes) -> bytes | str:
    """An executed notebook from a sandbox, checked (:mod:`nbcheck`) and rebuilt from what may stay
    (:func:`sanitize.notebook_bytes`); a reason (str) when it cannot be used."""
    try:
        nb = nbcheck.load(raw, replace_surrogates=True)
    except nbcheck.Invalid as exc:
        return f"it {exc}"
    problem = nbcheck.notebook_problem(nb)
    if problem:
        return nbcheck.reason("it", problem)
    try:
        return sanitize.notebook_bytes(json.dumps(nb, ensure_ascii=False).encode("utf-8"), ctx.scrub,
                                       ctx.released_sources, ctx.kernelspec)
    except ValueError as exc:
        return str(exc)


def _apply(ctx: Context, job: Job, jdir: Path, data: dict, result: JobResult, oom: int, pids_hit: int) -> None:
    if isinstance(data.get("kernel"), str):
        result.kernel = data["kernel"][:300]
    if pids_hit:
        result.note(f"it reached the {ctx.sandbox.max_processes}-process limit (KitSandbox.max_processes)")
    if data.get("status") != "graded":
        result.reason = diagnostics.failure_reason(ctx, data, oom, pids_hit)
        return
    notebooks = data.get("notebooks") if isinstance(data.get("notebooks"), dict) else {}
    cap = int(ctx.grading.max_notebook_mb * 4 * 2**20)
    for name in ctx.notebooks:
        if name not in job.notebooks:
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
            executed = read_executed(ctx, safeio.read_file(jdir / "out", f"{name}.ipynb", cap, below=jdir))
        except safeio.Unsafe as exc:
            executed = str(exc)
        if isinstance(executed, str):
            result.reason = f"grader error: the executed {name}.ipynb could not be read back ({executed})"
            return
        checked.executed = executed
        result.notebooks[name] = checked
    for name, errors in diagnostics.cell_errors(result.notebooks).items():
        result.note(f"errors raised in {name}: " + ", ".join(errors[:8]))
        if "MemoryError" in errors:
            result.note(diagnostics.memory_error_note(ctx, ctx.isolation.limiter.kind != "rlimit"))
    if oom:
        result.note(diagnostics.memory_reason(ctx, None) + " (a process of the submission was stopped)")
    result.late, late = deadlines.late_note(deadlines.for_context(ctx), job.student, job.timestamp,
                                            sum(nb.penalty or 0.0 for nb in result.notebooks.values()))
    result.note(late)
    result.status = "graded"


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
            if not isinstance(auto, (int, float)):
                return f"the score of {cell} is not a number"
            if not 0 <= auto <= max_points:
                return f"score {auto:.6g} of {cell} outside 0..{max_points:g}"
            auto = float(auto)
        grades[cell] = Grade(auto, max_points, bool(manual))
    comments = {}
    comments_in = raw.get("comments") if isinstance(raw.get("comments"), dict) else {}
    for cell, text in comments_in.items():
        if cell in ctx.comment_cells.get(name, set()):
            comments[cell] = None if text is None else sanitize.markdown(str(text)[:5000])
    penalty = raw.get("penalty")         # None as nbgrader leaves it where no penalty applies
    total = sum(cells.values())
    if penalty is not None and (isinstance(penalty, bool) or not isinstance(penalty, (int, float))
                                or not (0 <= penalty <= total)):
        return "impossible late penalty"
    return NotebookResult(grades, comments, None if penalty is None else float(penalty))
