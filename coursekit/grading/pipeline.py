"""The whole grading run of one topic: import, plan, sandboxes, gradebook, feedback, export, report."""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from coursekit.config import KitGrading, KitSandbox, kit_settings, load_course_config
from coursekit.grading import (assignment, cluster, collect, deadlines, diagnostics, export, feedback, gradebook,
                               plan, pool, safeio, similarity, worker)
from coursekit.grading.model import Job, JobResult
from coursekit.grading.report import Summary
from coursekit.grading.worker import Context
from coursekit.paths import tool_env
from coursekit.sandbox import probe
from coursekit.sandbox.runs import Run, clean_leftovers


@dataclass
class Options:
    topic: str
    root: Path
    source: Path | None = None            # LMS download (zip or folder)
    pattern: str | None = None
    workers: int | None = None
    submission_timeout: float | None = None
    memory_mb: int | None = None
    force: bool = False
    sandbox: str | None = None            # None: KitSandbox.mode
    feedback: bool = True
    export: bool = True
    progress: bool = True
    students: list[str] | None = None
    notebook: str | None = None           # grade only this notebook of the assignment (nbgrader's --notebook)
    no_execute: bool = False              # nbgrader's --no-execute: refused (see assignment.refused_options)
    cluster: str | None = None            # a Dask scheduler's address: grade on its workers (KitGrading.cluster)


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _sandbox_config(cfg) -> dict:
    """The course's nbgrader settings for the driver (JSON; the kit's own sections left out)."""
    out = {}
    for section, values in cfg.items():
        if section in ("KitGrading", "KitSandbox", "CourseDirectory") or not hasattr(values, "items"):
            continue
        out[section] = _jsonable(dict(values))
    return out


class _Lock:
    """One grading run per course and topic at a time (a second one waits)."""

    def __init__(self, root: Path, topic: str):
        folder = Path(root) / "autograded"
        safeio.ensure_dir(folder, Path(root))
        self.fd = os.open(folder / f".coursekit-grading-{topic}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            print(f"another grading run of {topic} in this course is in progress: waiting for it", file=sys.stderr)
            fcntl.flock(self.fd, fcntl.LOCK_EX)

    def release(self) -> None:
        os.close(self.fd)


def install(root: Path, topic: str, result: JobResult, notebooks: dict[str, bytes] | None = None) -> None:
    """autograded/<student>/<topic>/: the sanitised executed notebooks (or ``notebooks``: name ->
    sanitised JSON) and the timestamp, replacing whatever was there in one rename; nothing of it
    ever came from the sandbox as a path."""
    if notebooks is None:
        notebooks = {name: nb.executed for name, nb in result.notebooks.items() if nb.executed is not None}
    parent = Path(root) / "autograded" / result.student
    safeio.ensure_dir(parent, Path(root))
    dest = parent / topic
    new = parent / f".{topic}.new-{os.getpid()}"
    if os.path.lexists(new):
        shutil.rmtree(new)
    new.mkdir(mode=0o755)
    for name, data in notebooks.items():
        safeio.write_atomic(new / f"{name}.ipynb", data)
    if result.graded is not None and dest.is_dir() and not dest.is_symlink():   # --notebook: the others stay
        for fname, kind in safeio.list_dir(dest, below=parent):
            if kind == "file" and fname.endswith(".ipynb") and fname[:-6] not in notebooks:
                safeio.write_atomic(new / fname, safeio.read_file(dest, fname, 1 << 30, below=parent))
    if result.timestamp:
        safeio.write_atomic(new / "timestamp.txt", result.timestamp.encode("utf-8"))
    old = parent / f".{topic}.old-{os.getpid()}"
    if os.path.lexists(dest):
        if dest.is_symlink() or not dest.is_dir():
            dest.unlink()
        else:
            os.rename(dest, old)
    os.rename(new, dest)
    if os.path.lexists(old):
        shutil.rmtree(old)


def save_result(gb, root: Path, topic: str, state: plan.State, result: JobResult, ctx: Context | None = None,
                job: Job | None = None) -> None:
    """One submission into the course: the gradebook (:func:`gradebook.merge`), autograded/ and the
    state file. A graded submission's executed notebooks are installed; a failed one's submitted
    notebooks, sanitised, where they can be read (Formgrader still shows its manual cells), and its
    feedback is removed. Any error of the grader's own here fails this one submission, with a reason
    and its traceback kept for the problems file; the run goes on."""
    try:
        same = (state.students.get(result.student) or {}).get("digest") == result.digest
        gradebook.merge(gb, topic, result, same_content=same)
        if result.status == "graded":
            install(root, topic, result)
        else:
            gradebook.remove_stale_outputs(root, result.student, topic, result.graded)
            try:
                shown = _submitted_shown(ctx, job) if ctx is not None and job is not None else {}
            except Exception as exc:      # not shown in Formgrader; the failure's own reason stays
                shown = {}
                diagnostics.unexpected(result, "rebuilding the submitted notebooks for Formgrader", exc)
            if shown:
                install(root, topic, result, shown)
    except Exception as exc:
        why = diagnostics.unexpected(result, "saving the results", exc)
        result.reason = why if result.status == "graded" else f"{result.reason}; {why}"
        result.status, result.notebooks = "failed", {}
        try:
            gradebook.merge(gb, topic, result)
            gradebook.remove_stale_outputs(root, result.student, topic, result.graded)
        except Exception as again:       # the next run grades this student again (not recorded as graded)
            diagnostics.unexpected(result, "saving the failure", again)
    state.record(result.student, result.digest, result.status, result.reason)
    state.save()


def _submitted_shown(ctx: Context, job: Job) -> dict[str, bytes]:
    """A failed submission's notebooks as Formgrader may show them (rebuilt like executed ones)."""
    out = {}
    for name, data in job.notebooks.items():
        shown = worker.read_executed(ctx, data)
        if isinstance(shown, bytes):
            out[name] = shown
    return out


def judge_imports(released: dict[str, bytes]) -> list[str]:
    """The import statements of the instructor's code cells (not answer cells) of the released notebooks:
    the judge binds these names to its own imports before any test cell runs, so a student who rebinds
    ``torch`` or ``np`` in the notebook changes only their own kernel's (coursekit/judge/namespace.py)."""
    import ast

    from IPython.core.inputtransformer2 import TransformerManager
    python = TransformerManager().transform_cell       # %pip and !commands become Python calls
    found: list[str] = []
    for data in released.values():
        try:
            cells = json.loads(data).get("cells", [])
        except ValueError:
            continue
        for cell in cells:
            meta = (cell.get("metadata") or {}).get("nbgrader") or {}
            if cell.get("cell_type") != "code" or meta.get("solution"):
                continue
            src = cell.get("source", "")
            src = "".join(src) if isinstance(src, list) else src
            try:
                tree = ast.parse(python(src))
            except (SyntaxError, ValueError):
                continue
            for node in ast.walk(tree):          # the first cell imports inside `try:` blocks too
                if isinstance(node, (ast.Import, ast.ImportFrom)) and not getattr(node, "level", 0):
                    line = ast.unparse(node)
                    if line not in found:
                        found.append(line)
    return found


def _released(root: Path, release_dir: str, topic: str, notebooks: list[str]):
    released, sources, kernelspec = {}, set(), None
    for name in notebooks:
        path = Path(root) / release_dir / topic / f"{name}.ipynb"
        if path.is_file():
            data = path.read_bytes()
            released[name] = data
            nb = json.loads(data)
            kernelspec = kernelspec or (nb.get("metadata") or {}).get("kernelspec")
            for cell in nb.get("cells", []):
                src = cell.get("source", "")
                sources.add(("".join(src) if isinstance(src, list) else src).strip())
    return released, sources, kernelspec


def _reference(folder: Path, notebooks: list[str]) -> dict[str, bytes]:
    """The instructor's version of each notebook (nbgrader's source/, the course's solutions/), outputs
    dropped: what ``utils.checks.reference`` reads in the judge (worker.REFERENCE_DIR)."""
    out = {}
    for name in notebooks:
        path = folder / f"{name}.ipynb"
        if path.is_file() and not path.is_symlink():
            try:
                out[name] = worker.reference_notebook(path.read_bytes())
            except ValueError:      # not JSON: nbgrader's own steps report the notebook
                continue
    return out


def _scrub_paths(root: Path, run: Run) -> list[str]:
    """Paths of this machine removed from what students and the instructor read (longest first)."""
    from coursekit.paths import ROOT
    paths = {str(run.dir), str(root) + "/", str(ROOT) + "/", "/grade/work/course/", "/grade/",
             os.path.realpath(sys.prefix) + "/", os.path.realpath(sys.base_prefix) + "/", sys.prefix + "/"}
    return sorted(paths, key=len, reverse=True)


def _mpl_cache() -> list[Path]:
    """matplotlib's font lists (``fontlist-*.json``, copied into each sandbox so that kernels do not
    rebuild them), from the cache folder matplotlib itself uses on Linux (``$MPLCONFIGDIR``, else
    ``$XDG_CACHE_HOME/matplotlib`` or ``~/.cache/matplotlib``), found without importing matplotlib
    (half a CPU-second in the grader)."""
    folders = []
    if os.environ.get("MPLCONFIGDIR"):
        folders.append(Path(os.environ["MPLCONFIGDIR"]))
    else:
        try:
            folders.append(Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "matplotlib")
        except RuntimeError:      # no home folder
            pass
    for folder in folders:
        try:
            found = sorted(folder.resolve().glob("fontlist*.json"))
        except OSError:
            continue
        if found:
            return found
    return []


def grade(opts: Options) -> Summary:
    """Grade one topic (see coursekit.grading.cli for the steps as the instructor sees them)."""
    from nbgrader.api import Gradebook
    from nbgrader.coursedir import CourseDirectory

    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    mark = [t0]

    def lap(name):
        now = time.perf_counter()
        timings[name] = timings.get(name, 0.0) + now - mark[0]
        mark[0] = now

    root = Path(opts.root).resolve()
    os.environ["PATH"] = tool_env()["PATH"]
    cfg = load_course_config(root)
    grading, sandbox = kit_settings(cfg)
    if opts.memory_mb is not None:
        sandbox.memory_limit_mb = opts.memory_mb
    if opts.sandbox:
        sandbox.mode = opts.sandbox
    cd = CourseDirectory(config=cfg)
    if not (root / cd.source_directory / opts.topic).is_dir():
        raise SystemExit(f"unknown topic {opts.topic!r}: no folder {cd.source_directory}/{opts.topic}")
    assignment.refuse_options(cfg, opts.no_execute)
    source_files, source_warnings = assignment.source_files(root / cd.source_directory / opts.topic, list(cd.ignore),
                                                            sandbox.disk_limit_mb / 4)
    warnings: list[str] = []
    imported = ([], [])                 # (budget problems, entries not imported)
    lock = _Lock(root, opts.topic)
    run = farm = None
    results: dict[str, JobResult] = {}
    interrupted = False
    try:
        leftovers = clean_leftovers()
        if leftovers:
            warnings.append(f"removed {len(leftovers)} leftover(s) of an earlier grading run that was killed")
        repaired = gradebook.check_and_repair(cd.db_url)
        if repaired:
            print(f"note: {repaired}", file=sys.stderr)
            warnings.append(repaired)
        gradebook.backup(cd.db_url)
        gradebook.ensure_assignment(root, cd.db_url, cd.course_id, opts.topic)
        run = Run.start()
        template = gradebook.make_template(cd.db_url, cd.course_id, opts.topic, run.dir / "template.db")
        os.chmod(template.path, 0o600)     # root copies it into each job; no sandbox reads it
        notebooks = template.notebooks
        graded = assignment.only_notebook(opts.notebook or (cd.notebook_id if cd.notebook_id != "*" else None),
                                          notebooks)
        lap("prepare")
        if opts.source:
            report = _import(root, opts, notebooks, grading, list(cd.ignore))
            _record_names(cd.db_url, cd.course_id, report.names)
            imported = (list(report.budget_problems), list(report.other_problems))
            warnings += deadlines.import_notes(report, deadlines.load(root, cd.db_url, cd.course_id, opts.topic),
                                               grading.lms_time_zone)
            lap("import")
        state = plan.State.load(root, opts.topic)
        p = plan.plan(root, opts.topic, notebooks, state, force=opts.force, students=opts.students,
                      cap=int(grading.max_notebook_mb * 2**20), max_id=grading.max_student_id_length,
                      others=assignment.others_reader(list(cd.ignore), grading))
        warnings += source_warnings + assignment.restrict(p, cd.student_id_exclude, graded)
        if opts.cluster or grading.cluster:      # its workers, checked; they probe their own isolation
            farm = cluster.Farm.connect(opts.cluster or grading.cluster, run.id, sandbox)
        probe_uid = run.allocate_uid(sandbox.uid_base, sandbox.uid_count) if os.geteuid() == 0 and not farm else None
        isolation = farm.isolation if farm else probe(sandbox.mode, sandbox.memory_limit_mb, sandbox.max_processes,
                                                      probe_uid)
        if probe_uid is not None:
            run.release_uid(probe_uid)
        for w in isolation.warnings:
            print(f"WARNING: {w}", file=sys.stderr)
        warnings += isolation.warnings
        released, sources, kernelspec = _released(root, cd.release_directory, opts.topic, notebooks)
        cell_timeout = cfg.get("ExecutePreprocessor", {}).get("timeout") or cfg.get("Execute", {}).get("timeout") or 30
        ctx = Context(root=root, topic=opts.topic, notebooks=notebooks, course_id=cd.course_id, template=template.path,
                      cells=template.cells, comment_cells=template.comment_cells, released=released,
                      source_files=source_files, ignore=list(cd.ignore), kernelspecs=template.kernelspecs or {},
                      source_cells=template.source_cells or {},
                      nbgrader_config=_sandbox_config(cfg), isolation=isolation, run=run, grading=grading,
                      sandbox=sandbox, cell_timeout=float(cell_timeout), mpl_cache=_mpl_cache(),
                      scrub=_scrub_paths(root, run),
                      released_sources=sources, kernelspec=kernelspec, judge_imports=judge_imports(released),
                      reference=_reference(root / cd.source_directory / opts.topic, notebooks))
        lap("plan")
        # one more slot than cores: each slot idles while its kernel starts and nbgrader reads and writes
        workers = opts.workers or grading.workers or (os.cpu_count() or 1) + 1
        timeout = opts.submission_timeout or grading.submission_timeout
        jobs = {job.student: job for job in p.jobs}
        with Gradebook(cd.db_url, cd.course_id) as gb:
            def on_result(result: JobResult) -> None:
                save_result(gb, root, opts.topic, state, result, ctx, jobs.get(result.student))
                results[result.student] = result
            try:
                if farm is not None:
                    farm.run(ctx, p.jobs, timeout, on_result, progress=opts.progress)
                else:
                    pool.run(ctx, p.jobs, workers, timeout, on_result, progress=opts.progress)
            except KeyboardInterrupt:
                interrupted = True
            st = gradebook.stats(gb, opts.topic)
        lap("autograde")
        kernel_words, kernel_warnings = _kernels(ctx, results)
        for w in kernel_warnings:
            print(f"WARNING: {w}", file=sys.stderr)
        warnings += kernel_warnings
    finally:
        if farm is not None:
            farm.close()
            warnings += farm.warnings
        if run is not None:
            run.close()
        lock.release()
    if interrupted:
        raise KeyboardInterrupt(f"{len(results)} of {len(p.jobs)} submissions graded and saved")
    fb_problems = {}
    if opts.feedback:
        fb_problems = _feedback(cfg, root, opts, state, results, grading, workers)
        lap("feedback")
    if opts.export:
        export.export_grades(cd.db_url, cd.course_id, root / "grades.csv", root)
        lap("export")
    similar = None
    try:
        similar = similarity.report(root, opts.topic, notebooks, grading, release_dir=cd.release_directory,
                                    source_dir=cd.source_directory)
        similar.write_html(root / similarity.html_name(opts.topic))
    except Exception as exc:      # an extra: it never costs the run its grades
        warnings.append(f"similarity report not made: {type(exc).__name__}: {str(exc)[:200]}")
    lap("similarity")
    summary = Summary(opts.topic, results, p.skipped, st.scores, st.cell_fail_share, time.perf_counter() - t0,
                      isolation.describe() + kernel_words, warnings, timings, fb_problems,
                      budget_problems=imported[0], import_problems=imported[1], problems=p.problems,
                      similarity=similar, late=deadlines.summary_lines(results))
    summary.write_csv(root)
    summary.write_problems(root)
    return summary


def _kernels(ctx: Context, results: dict[str, JobResult]) -> tuple[str, list[str]]:
    """How the run's kernels started (for the isolation line), and a warning where some that should
    have been forked into their sandbox started cold instead."""
    if not ctx.isolation.isolated:
        return "", []
    if not ctx.sandbox.warm_kernels:
        return "; kernels start cold (KitSandbox.warm_kernels = False)", []
    if ctx.isolation.limiter.kind == "rlimit":
        return ("; kernels start cold (without a cgroup, the address-space limit would count the modules a "
                "warm kernel inherits)", [])
    ran = [r.kernel or "cold: its slot has no cgroup" for r in results.values() if r.status == "graded" or r.kernel]
    cold = [k for k in ran if k != "warm"]
    words = ("; kernels forked warm from a process of each slot that has imported the course's modules, "
             "each entering its submission's sandbox before any student code")
    if not cold:
        return words, []
    reasons = sorted({k.removeprefix("cold: ") for k in cold})
    return (f"{words} ({len(cold)} of {len(ran)} started cold)",
            [f"{len(cold)} of {len(ran)} kernels started cold (ordinary kernels in the same sandbox, slower): "
             + "; ".join(reasons[:3])])


def _import(root: Path, opts: Options, notebooks: list[str], grading: KitGrading, ignore: list[str]):
    from tqdm.auto import tqdm
    bar = tqdm(total=0, desc="importing", unit="entry", disable=not opts.progress, dynamic_ncols=True, file=sys.stderr)
    try:
        return collect.import_download(root, opts.topic, Path(opts.source), notebooks, grading, opts.pattern, bar,
                                       ignore)
    finally:
        bar.close()


def _record_names(db_url: str, course_id: str, names: dict) -> None:
    """The names the LMS download gave, into the gradebook (where it has none: Formgrader shows them)."""
    from nbgrader.api import Gradebook
    if names:
        with Gradebook(db_url, course_id) as gb:
            gradebook.record_names(gb, names)


def _feedback(cfg, root: Path, opts: Options, state: plan.State, results: dict[str, JobResult],
              grading: KitGrading, workers: int) -> dict[str, str]:
    """Feedback for everyone graded in this run and everyone whose feedback is stale: made from an
    older submission, or from other grades and comments than the gradebook has now (a manual grade
    or comment given in Formgrader since, a changed autograde), or missing."""
    from nbgrader.api import Gradebook
    from nbgrader.coursedir import CourseDirectory
    cd = CourseDirectory(config=cfg)
    with Gradebook(cd.db_url, cd.course_id) as gb:
        grades = gradebook.fingerprints(gb, opts.topic)
    graded_now = {s for s, r in results.items() if r.status == "graded"}
    stale = {s for s, e in state.students.items()
             if e.get("status") == "graded" and (root / "autograded" / s / opts.topic).is_dir()
             and (state.feedback_stale(s, grades.get(s))
                  or not (root / cd.feedback_directory / s / opts.topic).is_dir())}
    students = sorted(graded_now | stale)
    if opts.students:
        students = [s for s in students if s in opts.students]
    cfg_dict = json.loads(json.dumps(_jsonable({k: dict(v) for k, v in cfg.items() if hasattr(v, "items")})))
    cfg_dict.pop("KitGrading", None)
    cfg_dict.pop("KitSandbox", None)
    out = feedback.generate(cfg_dict, opts.topic, students, grading.feedback_hidden_tests, workers, opts.progress)
    problems = {}
    for student, problem in out.items():
        if problem is None:
            state.feedback_done(student, state.students[student]["digest"], grades.get(student))
        else:
            problems[student] = problem
    state.save()
    return problems
