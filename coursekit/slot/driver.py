"""Inside a grading slot's sandbox: nbgrader autograde of one submission at a time, results as data.

    python -m coursekit.slot.driver      (started by the grader through bwrap; see slot.py)

It imports nbgrader once, then reads job names on stdin; for each it forks a fresh process that
grades that one submission and answers ``done <name>`` on stdout. A job sees ``/grade/jobs/<name>/in``
(``job.json``, the topic's throw-away gradebook, the submitted notebooks), builds a throw-away
course in ``/grade/work/<name>/course`` (a fresh size-limited tmpfs of the job's own, see
workspace.py), runs nbgrader's own Autograde converter on it with the kit's preprocessors (the student
kernel runs in a sandbox of its own, nested in this one, see ``kernel.json`` below), and writes to
``/grade/jobs/<name>/out``:

* ``result.json``: the scores, comments and late penalty of each notebook as nbgrader recorded them
  in the private gradebook, and how the run ended;
* ``<notebook>.ipynb``: each executed notebook.

The trusted grader reads those back as data (no links followed, sizes capped) and checks them;
nothing else leaves the sandbox.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import traceback
from pathlib import Path

from coursekit import wire
from coursekit.sandbox import workspace
from coursekit.slot import gradebooks

sys.modules.setdefault("rfc3987_syntax", None)   # jsonschema builds a large grammar on import otherwise

BASE = Path(os.environ.get("COURSEKIT_GRADE_DIR", "/grade"))   # another folder only without isolation
IN, WORK, OUT = BASE / "in", BASE / "work", BASE / "out"          # one job's (set by _paths)
WORK_MB = int(os.environ.pop("COURSEKIT_WORK_MB", "") or 0)        # each job's own tmpfs (workspace.py); 0: none
STUDENT = "student"   # the sandbox never learns who the student is
KERNEL_NAME = "coursekit-sandbox"
JUDGE_NAME = "coursekit-judge"
_ENGINES: gradebooks.Engines | None = None      # nbgrader's create_engine in this slot (_once_per_slot)


class _Records(logging.Handler):
    """nbgrader's warnings and errors, formatted when they are logged: their arguments may be ORM
    objects of a gradebook session that is closed later (nbgrader's "<submission> is N seconds late")."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.records: list[dict] = []

    def emit(self, record):
        if len(self.records) < 500:
            try:
                message = record.getMessage()
            except Exception as exc:       # a message that cannot be formatted is no reason to fail
                message = f"{record.msg} (not formatted: {type(exc).__name__})"
            self.records.append({"level": record.levelname, "message": message[:4000]})


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, default=str), encoding="utf-8")
    os.replace(tmp, path)


def _course(job: dict) -> Path:
    course = WORK / "course"
    topic = job["topic"]
    sub = course / "submitted" / STUDENT / topic
    sub.mkdir(parents=True)
    # the notebooks, timestamp.txt and the student's other files (nbgrader copies those next to the
    # notebooks, then the assignment's own files over them, but for Autograde.exclude_overwriting)
    shutil.copytree(IN / "submission", sub, dirs_exist_ok=True)
    source = course / "source" / topic
    source.mkdir(parents=True)
    if (IN / "source").is_dir():
        shutil.copytree(IN / "source", source, dirs_exist_ok=True)
    shutil.copyfile(IN / "gradebook.db", course / "gradebook.db")
    return course


def _kernel_spec(job: dict) -> None:
    kdir = WORK / "share" / "jupyter" / "kernels" / KERNEL_NAME
    kdir.mkdir(parents=True)
    # interrupts as messages: a signal to the kernel's process would reach bwrap, not Python
    spec = {"argv": job["kernel_argv"], "display_name": "Python 3 (grading sandbox)", "language": "python",
            "interrupt_mode": "message", "metadata": {"debugger": False}}
    warm = job.get("warm")
    if warm and _warm_kernels():
        # forked from the slot's zygote into the sandbox the argv describes (coursekit/warm/sandboxed.py);
        # the argv itself is the fallback
        spec["metadata"]["kernel_provisioner"] = {"provisioner_name": "coursekit-sandboxed",
                                                  "config": {"env": warm["env"], "cwd": warm["cwd"]}}
    elif job.get("kernel_env"):           # only without isolation (bwrap sets the kernel's environment)
        spec["env"] = job["kernel_env"]
    (kdir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    if job.get("judge_argv"):      # the graded test cells' kernel (preprocessors.JudgedExecute)
        jdir = WORK / "share" / "jupyter" / "kernels" / JUDGE_NAME
        jdir.mkdir(parents=True)
        judge = {**spec, "argv": job["judge_argv"], "display_name": "Judge (grading sandbox)",
                 "metadata": {"debugger": False}}
        judge.pop("env", None)
        if warm and warm.get("judge_env") and _warm_kernels():
            judge["metadata"]["kernel_provisioner"] = {"provisioner_name": "coursekit-sandboxed",
                                                       "config": {"env": warm["judge_env"], "cwd": warm["cwd"]}}
        elif job.get("judge_env"):
            judge["env"] = job["judge_env"]
        (jdir / "kernel.json").write_text(json.dumps(judge), encoding="utf-8")
        for folder in ("link", "rt-judge", "home"):
            (WORK / folder).mkdir(mode=0o700, exist_ok=True)
    os.environ["JUPYTER_PATH"] = str(WORK / "share" / "jupyter")
    os.environ["JUPYTER_RUNTIME_DIR"] = str(WORK / "rt")
    os.environ["JUPYTER_DATA_DIR"] = str(WORK / "share" / "jupyter")
    (WORK / "rt").mkdir(mode=0o700)


def _config(job: dict, course: Path):
    from traitlets.config import Config
    from nbgrader.converters import Autograde
    from coursekit.slot.preprocessors import READY_MANAGER, ClearWorkdir, JudgedExecute, KernelFolder, TrackedExecute

    cfg = Config(job["nbgrader_config"])
    cd = cfg.CourseDirectory
    cd.root = str(course)
    cd.db_url = f"sqlite:///{course / 'gradebook.db'}"
    cd.source_directory = "source"
    cd.submitted_directory = "submitted"
    cd.autograded_directory = "autograded"
    cd.course_id = job["course_id"]
    cd.assignment_id = job["topic"]
    cd.student_id = STUDENT
    cd.notebook_id = "*"
    if job.get("ignore") is not None:
        cd.ignore = list(job["ignore"])
    cfg.Execute.kernel_name = KERNEL_NAME
    # once every cell has run the notebook is complete: the kernel (and its sandbox) is ended, not
    # asked to save its history and run its exit handlers first
    cfg.Execute.shutdown_kernel = "immediate"
    # nbconvert validates the whole notebook once at the end of each of nbgrader's two passes instead
    # of after each of their sixteen preprocessors (a notebook nbformat finds invalid still fails)
    cfg.Exporter.optimistic_validation = True
    cfg.KernelManager.transport = "ipc"
    cfg.KernelManager.ip = str(WORK / "rt" / "k")
    cfg.KernelManager.connection_file = str(WORK / "rt" / "kernel.json")   # where the kernel can see it
    cfg.NotebookClient.kernel_manager_class = READY_MANAGER   # a kernel's start without jupyter_client's idle waits
    steps = list(cfg.Autograde.autograde_preprocessors) if "autograde_preprocessors" in cfg.get("Autograde", {}) \
        else list(Autograde.class_traits()["autograde_preprocessors"].default())
    names = [s if isinstance(s, str) else s.__name__ for s in steps]
    at = next(i for i, n in enumerate(names) if n.rsplit(".", 1)[-1] in ("Execute", "TrackedExecute"))
    # the kernel works in a fresh copy of the notebook's folder (KernelFolder: the folder its sandbox
    # binds), removed once it is gone (ClearWorkdir); nbgrader's own folder is never the kernel's
    cfg.KernelFolder.folder = str(WORK / "kernel")
    execute = TrackedExecute
    if job.get("judge_argv"):
        execute = JudgedExecute
        cfg.JudgedExecute.judge_kernel = JUDGE_NAME
        cfg.JudgedExecute.judge_runtime = str(WORK / "rt-judge")
        cfg.JudgedExecute.judge_imports = list(job.get("judge_imports") or [])
        cfg.KernelFolder.tmp = str(WORK / "tmp")      # (the two kernels' one /tmp: worker._kernel_mounts)
    # without the judge (c.KitGrading.judge = False) the test cells run in the student's kernel, as in plain
    # nbgrader: a comparison mode, with nothing to defend its verdicts
    steps[at:at + 1] = [KernelFolder, execute, ClearWorkdir]
    cfg.Autograde.autograde_preprocessors = steps
    cfg.Autograde.sanitize_preprocessors = _sanitize_steps(cfg)
    return cfg


def _sanitize_steps(cfg) -> list:
    """nbgrader's sanitizing steps as the course set them, with the kit's DropClearedGradingMetadata
    right after DeduplicateIds where the course did not name it (nbgrader's OverwriteCells fails a
    submission with a copied or unknown graded cell: KeyError 'grade_id')."""
    from nbgrader.converters import Autograde
    from coursekit.slot.preprocessors import DropClearedGradingMetadata
    steps = list(cfg.Autograde.sanitize_preprocessors) if "sanitize_preprocessors" in cfg.get("Autograde", {}) \
        else list(Autograde.class_traits()["sanitize_preprocessors"].default())
    names = [(s if isinstance(s, str) else s.__name__).rsplit(".", 1)[-1] for s in steps]
    if "DropClearedGradingMetadata" not in names:
        at = names.index("DeduplicateIds") + 1 if "DeduplicateIds" in names else 0
        steps.insert(at, DropClearedGradingMetadata)
    return steps


def _scores(course: Path, job: dict) -> dict:
    from nbgrader.api import Gradebook
    out = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", job["course_id"]) as gb:
        sub = gb.find_submission(job["topic"], STUDENT)
        for snb in sub.notebooks:
            out[snb.name] = {
                "grades": {g.name: [g.auto_score, g.max_score, bool(g.needs_manual_grade)] for g in snb.grades},
                "comments": {c.name: c.auto_comment for c in snb.comments},
                "penalty": snb.late_submission_penalty,
            }
    return out


def _deadline(job: dict, course: Path) -> None:
    """The anonymous student's extension in the job's gradebook copy, where nbgrader keeps it (on the
    submission: Gradebook.grant_extension), and the course's late-penalty plugin module importable
    (c.AssignLatePenalties.plugin_class; nbgrader imports it from the course root, which is not here)."""
    modules = job.get("modules") or {}
    for rel, text in modules.items():
        path = WORK / "modules" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    if modules:
        sys.path.insert(0, str(WORK / "modules"))
    seconds = job.get("extension_seconds")
    if seconds:
        from nbgrader.api import Gradebook
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}", job["course_id"]) as gb:
            gb.update_or_create_student(STUDENT)
            gb.update_or_create_submission(job["topic"], STUDENT)
            gb.grant_extension(job["topic"], STUDENT, minutes=seconds / 60)


def run(job: dict) -> dict:
    from nbgrader.converters import Autograde
    from nbgrader.coursedir import CourseDirectory
    from coursekit.slot.preprocessors import TrackedExecute

    course = _course(job)
    _kernel_spec(job)
    cfg = _config(job, course)
    _deadline(job, course)
    logger = logging.getLogger("coursekit.driver")
    logger.propagate = False
    handler = _Records()
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    for name in ("traitlets", "nbgrader"):
        logging.getLogger(name).setLevel(logging.ERROR)
    result: dict = {"status": "error", "notebooks": {}, "log": [], "failure": None}
    try:
        converter = Autograde(coursedir=CourseDirectory(config=cfg), config=cfg, log=logger)
        converter.force = True
        converter.start()
        result["status"] = "graded"
    except Exception as exc:  # nbgrader raises NbGraderException after logging the details
        result["failure"] = {"exception": f"{type(exc).__name__}: {exc}"[:2000]}
    if TrackedExecute.current is not None or TrackedExecute.kernel_exit is not None:
        result["execution"] = {"cell": TrackedExecute.current, "kernel_exit": TrackedExecute.kernel_exit}
    result["log"] = handler.records[-200:]
    if job.get("warm"):
        from coursekit.warm import sandboxed
        st = sandboxed.status()
        result["kernel"] = "cold: " + "; ".join(st["fallbacks"]) if st["fallbacks"] else \
            ("warm" if st["warm"] else f"cold: {st['why_not']}")
    if result["status"] == "graded":
        result["notebooks"] = _scores(course, job)
        done = course / "autograded" / STUDENT / job["topic"]
        for name in job["notebooks"]:
            if (done / f"{name}.ipynb").is_file() and not (done / f"{name}.ipynb").is_symlink():
                shutil.copyfile(done / f"{name}.ipynb", OUT / f"{name}.ipynb")
    return result


def _paths(name: str) -> None:
    global IN, WORK, OUT
    IN, OUT = BASE / "jobs" / name / "in", BASE / "jobs" / name / "out"
    WORK = BASE / "work" / name


def _workspace() -> None:
    """The job's working folder (WORK): a fresh tmpfs only this job sees, where the slot asked for one
    (see workspace.py), else a plain folder, removed after the job whatever it holds."""
    if WORK_MB:
        try:
            workspace.fresh_tmpfs(WORK, WORK_MB)
            return
        except workspace.Unchanged:
            pass                               # nothing changed: a plain folder will do
    WORK.mkdir(mode=0o700)


def grade_one() -> None:
    """In a forked process: grade the job at IN, write OUT/result.json."""
    try:
        _workspace()
        job = wire.read("job", json.loads((IN / "job.json").read_text(encoding="utf-8")))
        result = wire.make("result", **run(job))
    except Exception:
        result = wire.make("result", status="error", notebooks={}, log=[],
                           failure={"exception": "grader error: " + traceback.format_exc()[-2000:]})
    _write_json(OUT / "result.json", result)


def _warm_kernels() -> bool:
    from coursekit.warm import sandboxed
    return sandboxed.zygote() is not None


def _start_zygote() -> None:
    """The slot's zygote (warm kernels), when the grader asked for one: $COURSEKIT_WARM_KERNELS holds
    the kernels' environment and the course's modules to import. A zygote that cannot start leaves
    kernels cold (each result says why)."""
    spec = os.environ.pop("COURSEKIT_WARM_KERNELS", "")
    if not spec:
        return
    from coursekit.warm import sandboxed
    spec = json.loads(spec)
    env = spec["env"]
    env.pop("COURSEKIT_KERNEL", None)        # each kernel's own settings, not the zygote's
    mpl = BASE / "work" / ".zygote-mpl"      # matplotlib wants its font cache in a writable folder
    mpl.mkdir(mode=0o700)
    for src in Path(env.get("MPLCONFIGDIR", "/nonexistent")).glob("*.json"):
        shutil.copyfile(src, mpl / src.name)
    env["MPLCONFIGDIR"] = str(mpl)
    sandboxed.start_zygote(sys.executable, env, spec["preload"])


def _preload() -> None:
    """What every job needs, imported once (a forked job starts with it)."""
    import nbgrader.api  # noqa: F401
    import nbgrader.converters  # noqa: F401
    import nbclient  # noqa: F401
    import coursekit.slot.preprocessors  # noqa: F401
    # what grading a notebook imports on the way (measured): imported here once, not in every job
    import codeop  # noqa: F401
    import encodings.unicode_escape  # noqa: F401
    import IPython.core.interactiveshell  # noqa: F401
    import IPython.display  # noqa: F401
    import sqlalchemy.dialects.sqlite  # noqa: F401
    import sqlalchemy.orm
    import sqlite3  # noqa: F401
    sqlalchemy.orm.configure_mappers()   # the gradebook's ORM, configured on first use otherwise
    _once_per_slot()


class _MetadataSchema:
    """Stands in for the ``jsonschema`` module in nbgrader's cell-metadata check
    (``nbgrader.nbgraderformat.common``), which calls ``jsonschema.validate`` for every cell:
    that checks nbgrader's schema against the meta-schema each time, about 5% of a job's own CPU.
    This checks each schema once, then validates exactly as ``jsonschema.validate`` does (the same
    validator class, the same best-matching error raised)."""

    def __init__(self, jsonschema):
        self._jsonschema = jsonschema
        self._validators: dict[str, object] = {}

    def __getattr__(self, name):
        return getattr(self._jsonschema, name)

    def validate(self, instance, schema, *args, **kwargs):
        if args or kwargs:
            return self._jsonschema.validate(instance, schema, *args, **kwargs)
        key = json.dumps(schema, sort_keys=True)
        validator = self._validators.get(key)
        if validator is None:
            cls = self._jsonschema.validators.validator_for(schema)
            cls.check_schema(schema)
            validator = self._validators[key] = cls(schema)
        error = self._jsonschema.exceptions.best_match(validator.iter_errors(instance))
        if error is not None:
            raise error


def _once_per_slot() -> None:
    """Work that nbgrader repeats in every job, done once here (a forked job inherits it; results are
    unchanged): the compiled notebook validators nbformat builds on first use, nbgrader's metadata
    schema, checked once (_MetadataSchema), and one gradebook engine for every job (gradebooks.py)."""
    import jsonschema
    import nbformat
    import nbgrader.nbgraderformat.common as common
    from nbformat.validator import get_validator
    current = nbformat.v4.nbformat_minor
    for minor in sorted({4, current}):
        for relax in (True, False):
            get_validator(4, minor, relax_add_props=relax)
    common.jsonschema = _MetadataSchema(jsonschema)
    import nbgrader.api
    global _ENGINES
    _ENGINES = nbgrader.api.create_engine = gradebooks.Engines(nbgrader.api.create_engine)


def _rehearse() -> None:
    """Before the slot's first job is forked: the gradebook's SQL compiled once, on a scratch copy of
    that job's gradebook (gradebooks.rehearse), so that no job compiles it again."""
    if _ENGINES is None:
        return
    try:
        job = json.loads((IN / "job.json").read_text(encoding="utf-8"))
        topic, course_id = str(job["topic"]), str(job["course_id"])
    except (OSError, ValueError, KeyError, TypeError):
        return                  # the job itself says what is wrong with it
    scratch = BASE / "work" / ".rehearsal"
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")       # (nbgrader's own, when it makes a submission)
        gradebooks.rehearse(_ENGINES, IN / "gradebook.db", scratch / "gradebook.db", course_id, topic, STUDENT)
    shutil.rmtree(scratch, ignore_errors=True)


def main() -> int:
    global WORK_MB
    os.umask(0o077)
    if WORK_MB and not workspace.works(BASE / "work" / ".probe"):
        WORK_MB = 0            # no fresh tmpfs per job here: plain folders, removed after each job
    import threading
    zygote = threading.Thread(target=_start_zygote)   # it imports torch meanwhile, in a process of its own
    zygote.start()
    _preload()
    zygote.join()
    import gc
    gc.collect()
    gc.freeze()      # jobs are forked from here: their collector never walks (and copies) what the preload made
    out = os.fdopen(os.dup(1), "w")
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 1)                    # only "done" lines go to the grader
    rehearsed = False
    for line in sys.stdin:
        name = wire.parse_control(line, "grade")
        if name is None:
            continue
        _paths(name)
        if not rehearsed:
            rehearsed = True
            _rehearse()
        pid = os.fork()
        if pid == 0:
            try:
                os.dup2(devnull, 0)
                grade_one()
            finally:
                os._exit(0)
        _, status = os.waitpid(pid, 0)
        workspace.remove_tree(WORK)       # (only the mount point, where the job had a tmpfs of its own)
        out.write(wire.control_line("done", name).decode("ascii"))
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
