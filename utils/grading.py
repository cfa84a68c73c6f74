"""Grade a topic for a whole class: collect, autograde in parallel, feedback, export.

    python -m utils.grading TOPIC [--from LMS.zip|FOLDER] [--workers N] [--force] ...
    make grade TOPIC=01_tensors [SUBMISSIONS=lms.zip] [GRADE_ARGS="--workers 4"]

Steps, all on top of nbgrader and its gradebook:
1. ``--from``: the LMS download (a zip, or a folder of files and zips) is imported with
   ``nbgrader zip_collect`` into ``submitted/<student>/<topic>/``. Each file name must look like
   ``<student_id>_<anything>_<notebook>.ipynb`` or ``<student_id>_<notebook>.ipynb``, e.g.
   ``jdoe42_12345_assignsubmission_file_01_tensors.ipynb`` -> student ``jdoe42``, notebook
   ``01_tensors.ipynb``; the student id is everything before the first ``_`` (see ``--pattern``).
   Without ``--from`` the existing ``submitted/`` tree is graded.
2. Every submission not graded yet (or newer than its grade, or all with ``--force``) is
   autograded by nbgrader's own Autograde converter on N worker processes (default: the number
   of cores), each submission in a fresh kernel, each kernel sandboxed where the machine allows:
   an unprivileged user that can write only its working copy, a memory limit and no network.
   Workers write to private throw-away gradebooks; only this process writes the course gradebook,
   one submission at a time, so writes never collide (SQLite or any SQLAlchemy URL).
   Manual grades and comments from the formgrader are kept.
3. A per-cell time limit (``ExecutePreprocessor.timeout``) and a per-submission limit
   (``KitGrading.submission_timeout``, both in nbgrader_config.py): a submission over its limit gets
   0 points and the reason "timed out after N s".
4. ``nbgrader generate_feedback`` (HTML in feedback/) and ``nbgrader export`` (grades.csv), then a
   summary: graded, failed (with the reason each), mean score, the share failing each graded cell.
   Per-student outcomes are also written to ``grading_report_<topic>.csv``.
"""
from __future__ import annotations

import argparse
import csv
import datetime
import json
import logging
import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from multiprocessing.connection import wait as mp_wait
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SANDBOX_PY = Path(__file__).resolve().parent / "sandbox.py"
SANDBOX_UID_BASE = 62000          # worker i runs its kernels as uid/gid 62000 + i (no passwd entry needed)
SANDBOX_KERNEL = "pytorch-nn-sandbox"

LMS_PATTERN_HELP = (
    "<student_id>_<anything>_<notebook>.ipynb or <student_id>_<notebook>.ipynb: the student id is "
    "everything before the first '_' and the file must end with the topic's notebook name, e.g. "
    "'jdoe42_12345_assignsubmission_file_01_tensors.ipynb'"
)

log = logging.getLogger("utils.grading")


def ensure_venv_on_path() -> None:
    """nbgrader runs the `alembic` command when it creates a gradebook: make sure this interpreter's
    bin folder (the venv's) is on PATH even when the venv is not activated (e.g. from make)."""
    bindir = os.path.dirname(sys.executable)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


# --------------------------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------------------------
@dataclass
class Options:
    topic: str
    root: Path = ROOT
    source: Path | None = None            # LMS zip or folder for zip_collect
    pattern: str | None = None            # zip_collect named_regexp (default: lms_regexp())
    workers: int | None = None            # default: KitGrading.workers, else os.cpu_count()
    submission_timeout: float | None = None
    memory_mb: int | None = None
    force: bool = False
    sandbox: str = "auto"                 # "auto" (use what the machine allows) or "off"
    feedback: bool = True
    export: bool = True
    progress: bool = True
    students: list[str] | None = None     # grade only these (default: all in submitted/)


def load_config(root: Path):
    """The course's nbgrader_config.py as a traitlets Config (CourseDirectory.root = root)."""
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    cfg = Config()
    if (Path(root) / "nbgrader_config.py").exists():
        cfg = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    cfg.CourseDirectory.root = str(Path(root).resolve())
    return cfg


def kit_setting(cfg, name: str, default):
    """A KitGrading.<name> value from nbgrader_config.py, or default."""
    section = cfg.get("KitGrading", {})
    return section[name] if name in section else default


def coursedir_for(cfg):
    from nbgrader.coursedir import CourseDirectory
    return CourseDirectory(config=cfg)


# --------------------------------------------------------------------------------------------
# collecting an LMS download with nbgrader zip_collect
# --------------------------------------------------------------------------------------------
def lms_regexp(notebook_names: list[str]) -> str:
    """zip_collect's FileNameCollector.named_regexp for the documented LMS file-name pattern."""
    names = "|".join(re.escape(n) for n in sorted(notebook_names, key=len, reverse=True))
    return rf"^(?:.*/)?(?P<student_id>[^/_]+)_(?:[^/]*_)?(?P<file_id>(?:{names})\.ipynb)$"


def _nbgrader(args: list[str], root: Path, check: bool = True) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={root}"]
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise RuntimeError(f"nbgrader {args[0]} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def collect(root: Path, topic: str, source: Path, notebook_names: list[str], pattern: str | None = None) -> str:
    """Import an LMS download (zip or folder) into submitted/ with nbgrader zip_collect."""
    root, source = Path(root), Path(source)
    archive = root / "downloaded" / topic / "archive"
    shutil.rmtree(archive, ignore_errors=True)
    archive.mkdir(parents=True)
    if source.is_dir():
        for path in source.rglob("*"):
            if path.is_file():
                shutil.copy2(path, archive / path.name)
    elif source.is_file():
        shutil.copy2(source, archive / source.name)
    else:
        raise SystemExit(f"--from {source}: no such file or folder")
    regexp = pattern or lms_regexp(notebook_names)
    proc = _nbgrader(["zip_collect", topic, "--force", f"--FileNameCollectorPlugin.named_regexp={regexp}"],
                     root, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"nbgrader zip_collect failed:\n{proc.stdout}\n{proc.stderr}")
    skipped = [line.split(": ", 1)[-1] for line in (proc.stdout + proc.stderr).splitlines()
               if "Skipped submission with no match" in line]
    return "\n".join(f"not collected (file name does not match the pattern): {Path(s).name}" for s in skipped)


# --------------------------------------------------------------------------------------------
# gradebook helpers
# --------------------------------------------------------------------------------------------
def ensure_assignment(root: Path, cfg, topic: str) -> None:
    """Make sure the course gradebook knows the topic (nbgrader generate_assignment records it)."""
    from nbgrader.api import Gradebook, MissingEntry

    cd = coursedir_for(cfg)
    with Gradebook(cd.db_url, cd.course_id) as gb:
        try:
            gb.find_assignment(topic)
            return
        except MissingEntry:
            pass
    with tempfile.TemporaryDirectory(prefix="nbgrader-release-") as tmp:
        _nbgrader(["generate_assignment", topic, "--force", "--log-level=WARN",
                   f"--CourseDirectory.release_directory={tmp}"], Path(root))


def make_template(db_url: str, course_id: str, topic: str, path: Path) -> list[str]:
    """Copy the topic's assignment, notebooks and cells (source, checksums, points) from the course
    gradebook (any SQLAlchemy URL) into a fresh SQLite file; returns the notebook names."""
    from nbgrader.api import Base, Gradebook
    from sqlalchemy import create_engine, select, text

    with Gradebook(db_url, course_id) as gb:
        assignment = gb.find_assignment(topic)
        aid, acourse = assignment.id, assignment.course_id
        nb_ids = [nb.id for nb in assignment.notebooks]
        nb_names = [nb.name for nb in assignment.notebooks]
        t = Base.metadata.tables
        with gb.engine.connect() as conn:
            def rows(table, where):
                return [dict(r) for r in conn.execute(select(t[table]).where(where)).mappings()]
            data = [("course", rows("course", t["course"].c.id == acourse)),
                    ("assignment", rows("assignment", t["assignment"].c.id == aid)),
                    ("notebook", rows("notebook", t["notebook"].c.id.in_(nb_ids)))]
            cells = rows("base_cell", t["base_cell"].c.notebook_id.in_(nb_ids))
            cell_ids = [c["id"] for c in cells]
            data.append(("base_cell", cells))
            for table in ("grade_cells", "solution_cells", "task_cells"):
                data.append((table, rows(table, t[table].c.id.in_(cell_ids))))
            data.append(("source_cell", rows("source_cell", t["source_cell"].c.notebook_id.in_(nb_ids))))
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    path = Path(path)
    if path.exists():
        path.unlink()
    # the schema and the alembic version row, as nbgrader's Gradebook() would create them (without
    # running the `alembic` command it uses for that)
    engine = create_engine(f"sqlite:///{path}", future=True)
    Base.metadata.create_all(bind=engine)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
        conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": version})
        for table, items in data:
            if items:
                conn.execute(t[table].insert(), items)
    engine.dispose()
    return nb_names


# --------------------------------------------------------------------------------------------
# planning: what needs grading
# --------------------------------------------------------------------------------------------
@dataclass
class Job:
    student: str
    submitted: Path
    why: str


def _timestamp(folder: Path):
    ts = folder / "timestamp.txt"
    if ts.exists():
        from nbgrader import utils as nbu
        text = ts.read_text().strip()
        if text:
            try:
                return nbu.parse_utc(text)
            except Exception:
                return None
    return None


def _latest_mtime(folder: Path) -> float:
    return max([folder.stat().st_mtime] + [p.stat().st_mtime for p in folder.rglob("*")])


def plan(root: Path, cfg, topic: str, force: bool, students: list[str] | None = None):
    """(jobs, skipped): submissions to grade now and those already graded."""
    cd = coursedir_for(cfg)
    submitted = Path(cd.root) / cd.submitted_directory
    autograded = Path(cd.root) / cd.autograded_directory
    jobs, skipped = [], []
    for folder in sorted(submitted.glob(f"*/{topic}")):
        if not folder.is_dir():
            continue
        student = folder.parent.name
        if students and student not in students:
            continue
        dest = autograded / student / topic
        if force:
            jobs.append(Job(student, folder, "forced"))
        elif not dest.exists():
            jobs.append(Job(student, folder, "new"))
        else:
            new_ts, old_ts = _timestamp(folder), _timestamp(dest)
            if (new_ts and old_ts and new_ts > old_ts) or _latest_mtime(folder) > dest.stat().st_mtime:
                jobs.append(Job(student, folder, "newer submission"))
            else:
                skipped.append(student)
    return jobs, skipped


# --------------------------------------------------------------------------------------------
# sandbox
# --------------------------------------------------------------------------------------------
@dataclass
class Sandbox:
    drop_user: bool = False
    no_net: bool = False
    private_mounts: bool = False
    memory_bytes: int | None = None
    fsize_bytes: int | None = 1 << 30
    nproc: int | None = 1024
    masks: list[str] = field(default_factory=list)
    exposes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def uid(self, wid: int) -> int | None:
        return SANDBOX_UID_BASE + wid if self.drop_user else None

    def launcher_args(self, uid: int | None, home: str | None) -> list[str]:
        argv = [sys.executable, "-I", "-S", str(SANDBOX_PY)]
        if self.memory_bytes:
            argv += ["--mem", str(self.memory_bytes)]
        if self.fsize_bytes:
            argv += ["--fsize", str(self.fsize_bytes)]
        if self.nproc:
            argv += ["--nproc", str(self.nproc)]
        if self.no_net:
            argv += ["--no-net"]
        if self.private_mounts:
            for m in self.masks:
                argv += ["--mask", m]
            for e in self.exposes:
                argv += ["--expose", e]
        if uid is not None:
            argv += ["--uid", str(uid), "--gid", str(uid)]
        if home:
            argv += ["--home", home]
        return argv

    def describe(self) -> str:
        parts = [f"kernels as unprivileged uids {SANDBOX_UID_BASE}+worker" if self.drop_user
                 else "kernels run as the grading user",
                 "no network" if self.no_net else "network NOT isolated",
                 "course files hidden" if self.private_mounts else "course files visible",
                 f"memory limit {self.memory_bytes >> 20} MiB" if self.memory_bytes else "no memory limit"]
        return ", ".join(parts)


# top-level entries of the course root a student kernel may see (everything else is masked)
VISIBLE_IN_SANDBOX = {".venv", "utils", "notebooks", "data", "pyproject.toml", "README.md", "Makefile",
                      "environment.yml", "nbgrader_config.py", "LICENSE"}


def _course_masks(root: Path, db_url: str) -> list[str]:
    masks = [str(p) for p in sorted(Path(root).iterdir())
             if p.name not in VISIBLE_IN_SANDBOX and not p.name.endswith(".egg-info")]
    if db_url.startswith("sqlite:///"):
        db = Path(db_url[len("sqlite:///"):])
        if db.exists() and str(db) not in masks:
            masks.append(str(db))
    return masks


def probe_sandbox(memory_mb: int | None, mode: str = "auto", root: Path | None = None, db_url: str = "") -> Sandbox:
    """What isolation this machine allows: a user switch, a private mount namespace and a new
    network namespace need root on Linux; each is tried for real before it is used."""
    box = Sandbox(memory_bytes=(memory_mb << 20) if memory_mb else None)
    if mode == "off":
        box.warnings.append("sandbox switched off: student code runs as you, with network access")
        box.fsize_bytes = box.nproc = None
        return box
    if not sys.platform.startswith("linux"):
        box.warnings.append("not Linux: student kernels run as you, with network access (only limits applied)")
        return box
    if os.geteuid() != 0:
        box.warnings.append("not root: student kernels run as you, can read the course files and reach the "
                            "network; grade as root (e.g. in a container) for full isolation")
        return box
    box.masks = _course_masks(root, db_url) if root else []
    box.exposes = sorted({os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix)})
    with tempfile.TemporaryDirectory(prefix="sandbox-probe-") as home:
        os.chmod(home, 0o755)
        check = ["--", sys.executable, "-c", "import ipykernel, utils"]

        def works(**flags) -> bool:
            trial = Sandbox(drop_user=flags.get("drop_user", False), no_net=flags.get("no_net", False),
                            private_mounts=flags.get("private_mounts", False), masks=box.masks, exposes=box.exposes)
            uid = SANDBOX_UID_BASE if trial.drop_user else None
            proc = subprocess.run(trial.launcher_args(uid, home) + check, capture_output=True, timeout=120)
            return proc.returncode == 0

        if works(drop_user=True, no_net=True, private_mounts=True):
            box.drop_user = box.no_net = box.private_mounts = True
            return box
        box.private_mounts = works(private_mounts=True)
        box.drop_user = works(drop_user=True, private_mounts=box.private_mounts)
        box.no_net = works(no_net=True)
    if not box.drop_user:
        box.warnings.append("could not run kernels as an unprivileged user: student kernels run as root")
    if not box.private_mounts:
        box.warnings.append("could not create a private mount namespace: student kernels can read the course files")
    if not box.no_net:
        box.warnings.append("could not create a network namespace: student kernels can reach the network")
    return box


def _kill_uid(uid: int) -> None:
    """SIGKILL every process left running as the sandbox uid (never anything else)."""
    for _ in range(3):
        found = False
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/status") as fh:
                    for line in fh:
                        if line.startswith("Uid:"):
                            if int(line.split()[1]) == uid:
                                found = True
                                os.kill(int(entry), signal.SIGKILL)
                            break
            except (OSError, ValueError):
                continue
        if not found:
            return
        time.sleep(0.05)


def _kill_leftovers(uid: int | None) -> None:
    """After a submission: kill what its kernel left behind (daemons included: this worker is a
    child subreaper, so orphans of the kernel become its children)."""
    for pid in descendants(os.getpid()):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    if uid is not None:
        _kill_uid(uid)
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


def descendants(pid: int) -> list[int]:
    """Process ids below pid, read from /proc (kernels run in their own session, so killing the
    process group misses them). Used by the grader, its benchmark and the browser test."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
            except (OSError, ValueError, IndexError):
                continue
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


# --------------------------------------------------------------------------------------------
# worker side
# --------------------------------------------------------------------------------------------
_NOTE_PATTERNS = [
    (re.compile(r"Attribute 'points' for cell (\S+) has changed"), "points of cell {0} were edited: restored"),
    (re.compile(r"Attribute 'locked' for cell (\S+) has changed"), "lock of cell {0} was changed: restored"),
    (re.compile(r"Cell with id '([^']+)' exists multiple times"), "duplicate cell id {0}: only the last copy is graded"),
    (re.compile(r"Skipping unknown notebook: (.+)"), "extra notebook ignored: {0}"),
]


class _ListHandler(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


def _notes_from_log(records) -> list[str]:
    notes = []
    for rec in records:
        msg = rec.getMessage()
        for pat, fmt in _NOTE_PATTERNS:
            m = pat.search(msg)
            if m:
                arg = m.group(1).strip("'")
                if fmt.startswith("extra notebook"):
                    arg = Path(arg).name
                note = fmt.format(arg)
                if note not in notes:
                    notes.append(note)
    return notes


def _cell_errors(nb_path: Path) -> list[str]:
    """Distinct error names raised by cells of the executed notebook (for the report)."""
    try:
        nb = json.loads(Path(nb_path).read_text(encoding="utf-8"))
    except Exception:
        return []
    names = []
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            if out.get("output_type") == "error" and out.get("ename") not in names:
                names.append(out.get("ename"))
    return names


def _tamper_notes(submitted: Path, released: Path) -> list[str]:
    """What the student changed in locked cells, compared with the released student version
    (nbgrader restores them all from the gradebook; this only says what was found)."""
    try:
        sub = json.loads(Path(submitted).read_text(encoding="utf-8"))
        rel = json.loads(Path(released).read_text(encoding="utf-8"))
    except Exception:
        return []

    def src(cell):
        s = cell.get("source", "")
        return ("".join(s) if isinstance(s, list) else s).strip()

    by_id: dict[str, list] = {}
    for cell in sub.get("cells", []):
        gid = (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id")
        if gid:
            by_id.setdefault(gid, []).append(cell)
    notes = []
    for cell in rel.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader") or {}
        gid = meta.get("grade_id")
        if not gid:
            continue
        copies = by_id.get(gid, [])
        if len(copies) > 1:
            notes.append(f"cell {gid} appears {len(copies)} times (duplicate grade_id)")
        if not meta.get("locked"):
            continue
        if not copies:
            notes.append(f"locked cell {gid} was deleted: restored")
        elif any(c.get("cell_type") != cell.get("cell_type") for c in copies):
            notes.append(f"locked cell {gid} was turned into {copies[-1].get('cell_type')}: restored")
        elif any(src(c) != src(cell) for c in copies):
            notes.append(f"locked cell {gid} was edited: restored")
    return notes


def _failure_reason(records, error, cfg) -> str:
    """A one-line reason from what nbgrader logged when it gave up on a submission."""
    messages = [r.getMessage() for r in records if r.levelno >= logging.ERROR]
    text = "\n".join(messages)
    if os.environ.get("GRADING_DEBUG"):
        sys.stderr.write(text + "\n")
    exc_line = ""
    for line in text.splitlines():
        if re.match(r"^[\w.]*(Error|Exception|Interrupt)\b", line.strip()):
            exc_line = line.strip()
    cell_timeout = cfg.get("ExecutePreprocessor", {}).get("timeout") or cfg.get("Execute", {}).get("timeout")
    if "DeadKernelError" in text or "Kernel died" in text:
        return "the kernel died (killed for memory, or crashed)"
    if "CellTimeoutError" in exc_line or "unresponsive" in text or "Kernel didn't respond" in text:
        return (f"a cell ran past the {cell_timeout} s cell time limit and could not be interrupted "
                "(kernel unresponsive)")
    return "nbgrader could not grade it: " + (exc_line or str(error))[-300:]


def _check_notebook(path: Path) -> str | None:
    """Why a submitted notebook cannot be graded, or None."""
    import nbformat
    if path.stat().st_size == 0:
        return f"{path.name} is an empty file"
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return f"{path.name} is not text (not a notebook)"
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return f"{path.name} is not valid JSON ({exc.msg} at line {exc.lineno})"
    try:
        nbformat.reads(text, as_version=4)  # (nbgrader validates it again when it reads it)
    except Exception as exc:
        return f"{path.name} is not a valid notebook ({str(exc).splitlines()[0][:120]})"
    return None


@dataclass
class WorkerSetup:
    root: Path               # the course
    topic: str
    base: Path               # temp folder holding the workers' private course copies
    template: Path           # SQLite gradebook with the topic's cells only
    notebooks: list[str]
    course_id: str
    source_dir: Path         # absolute path of the course's source (solutions/) folder
    release_dir: Path        # the topic's student version (notebooks/<topic>/)
    sandbox: Sandbox
    threads: int
    cfg_dict: dict


def _prepare_worker(setup: WorkerSetup, wid: int) -> Path:
    wdir = setup.base / f"w{wid}"
    wdir.mkdir(parents=True, exist_ok=True)
    os.chmod(wdir, 0o711)
    uid = setup.sandbox.uid(wid)
    home, rt = wdir / "home", wdir / "rt"
    argv = setup.sandbox.launcher_args(uid, str(home)) + [
        "--", sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
        "--HistoryManager.hist_file=:memory:"]  # as nbclient passes to python3 kernels
    threads = str(setup.threads)
    spec = {
        "argv": argv, "display_name": "Python 3 (sandboxed grading)", "language": "python",
        "env": {"HOME": str(home), "IPYTHONDIR": str(home / ".ipython"), "MPLCONFIGDIR": str(home / ".matplotlib"),
                "TMPDIR": str(home / "tmp"), "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads,
                "PYTHONDONTWRITEBYTECODE": "1"},
        "metadata": {"debugger": False},
    }
    kdir = wdir / "share" / "kernels" / SANDBOX_KERNEL
    kdir.mkdir(parents=True, exist_ok=True)
    (kdir / "kernel.json").write_text(json.dumps(spec, indent=1))
    os.environ["JUPYTER_PATH"] = str(wdir / "share")
    os.environ["JUPYTER_RUNTIME_DIR"] = str(rt)
    return wdir


def _fresh_dirs(wdir: Path, uid: int | None, mpl_cache: list[Path]) -> None:
    for name in ("home", "rt", "submitted", "autograded"):
        shutil.rmtree(wdir / name, ignore_errors=True)
    home, rt = wdir / "home", wdir / "rt"
    (home / "tmp").mkdir(parents=True)
    (home / ".matplotlib").mkdir()
    for f in mpl_cache:  # a warm font cache: matplotlib would otherwise rebuild it in every kernel
        shutil.copy2(f, home / ".matplotlib" / f.name)
    rt.mkdir(mode=0o700)
    (wdir / "submitted").mkdir(mode=0o700)  # the pristine copy: root only
    for d in (home, rt):
        os.chmod(d, 0o700)
        if uid is not None:
            for dirpath, dirnames, filenames in os.walk(d):
                os.chown(dirpath, uid, uid)
                for fn in filenames:
                    os.chown(os.path.join(dirpath, fn), uid, uid)


def _worker_config(setup: WorkerSetup, wdir: Path, student: str, uid: int | None):
    from traitlets.config import Config
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute
    from utils.grading_preprocessors import SandboxWorkdir

    cfg = Config(setup.cfg_dict)
    cfg.CourseDirectory.root = str(wdir)
    cfg.CourseDirectory.db_url = f"sqlite:///{wdir / 'gradebook.db'}"
    cfg.CourseDirectory.source_directory = str(setup.source_dir)
    cfg.CourseDirectory.submitted_directory = "submitted"
    cfg.CourseDirectory.autograded_directory = "autograded"
    cfg.CourseDirectory.course_id = setup.course_id
    cfg.CourseDirectory.assignment_id = setup.topic
    cfg.CourseDirectory.student_id = student
    cfg.CourseDirectory.notebook_id = "*"
    # the student kernel: the sandbox kernel spec, over Unix sockets (works without a network)
    cfg.Execute.kernel_name = SANDBOX_KERNEL
    cfg.KernelManager.transport = "ipc"
    cfg.KernelManager.ip = str(wdir / "rt" / "k")
    preprocessors = list(Autograde.class_traits()["autograde_preprocessors"].default())
    if "Autograde" in cfg and "autograde_preprocessors" in cfg.Autograde:
        preprocessors = list(cfg.Autograde.autograde_preprocessors)
    if uid is not None:
        names = [p if isinstance(p, str) else f"{p.__module__}.{p.__name__}" for p in preprocessors]
        at = next(i for i, n in enumerate(names) if n.rsplit(".", 1)[-1] == "Execute")
        preprocessors.insert(at, SandboxWorkdir)
        cfg.SandboxWorkdir.uid = uid
    cfg.Autograde.autograde_preprocessors = preprocessors
    return cfg


def _read_results(wdir: Path, setup: WorkerSetup, student: str) -> dict:
    from nbgrader.api import Gradebook
    out = {}
    with Gradebook(f"sqlite:///{wdir / 'gradebook.db'}", setup.course_id) as gb:
        sub = gb.find_submission(setup.topic, student)
        for snb in sub.notebooks:
            out[snb.name] = {
                "grades": {g.name: [g.auto_score, g.max_score, g.needs_manual_grade] for g in snb.grades},
                "comments": {c.name: c.auto_comment for c in snb.comments},
                "penalty": snb.late_submission_penalty,
            }
    return out


def grade_in_worker(setup: WorkerSetup, wid: int, wdir: Path, job: Job, mpl_cache: list[Path]) -> dict:
    """Autograde one submission in this worker's private course copy; copy the result to the course."""
    from nbgrader.converters import Autograde

    start = time.perf_counter()
    uid = setup.sandbox.uid(wid)
    result = {"student": job.student, "status": "failed", "reason": None, "notes": [], "notebooks": {}}
    _fresh_dirs(wdir, uid, mpl_cache)
    shutil.copy2(setup.template, wdir / "gradebook.db")
    os.chmod(wdir / "gradebook.db", 0o600)
    sub = wdir / "submitted" / job.student / setup.topic
    shutil.copytree(job.submitted, sub, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    expected = [f"{n}.ipynb" for n in setup.notebooks]
    present = sorted(p.name for p in sub.glob("*.ipynb"))
    extra = [n for n in present if n not in expected]
    missing = [n for n in expected if n not in present]
    if extra:
        result["notes"].append("extra notebook ignored: " + ", ".join(extra))
    if missing:
        result["notes"].append("missing notebook: " + ", ".join(missing))
    if not [n for n in expected if n in present]:
        result["reason"] = "missing notebook " + ", ".join(missing) + (
            f" (found {', '.join(extra)})" if extra else "")
        result["seconds"] = time.perf_counter() - start
        return result
    for name in expected:
        if name in present:
            problem = _check_notebook(sub / name)
            if problem:
                result["reason"] = problem
                result["seconds"] = time.perf_counter() - start
                return result
    for name in extra:  # nbgrader would still try to read them: keep only what is graded
        (sub / name).unlink()
    for name in expected:
        released = setup.release_dir / name
        if name in present and released.exists():
            result["notes"] += _tamper_notes(sub / name, released)

    cfg = _worker_config(setup, wdir, job.student, uid)
    logger = logging.getLogger(f"utils.grading.worker{wid}")
    logger.propagate = False
    logger.handlers[:] = []
    handler = _ListHandler()
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    from nbgrader.coursedir import CourseDirectory
    error = None
    try:
        converter = Autograde(coursedir=CourseDirectory(config=cfg), config=cfg, log=logger)
        converter.force = True
        converter.start()
    except Exception as exc:  # nbgrader raises NbGraderException after logging the details
        error = exc
    finally:
        _kill_leftovers(uid)  # whatever the student left running
    result["notes"] += [n for n in _notes_from_log(handler.records) if n not in result["notes"]]
    if error is not None:
        result["reason"] = _failure_reason(handler.records, error, cfg)
        result["seconds"] = time.perf_counter() - start
        return result
    result["notebooks"] = _read_results(wdir, setup, job.student)
    out = wdir / "autograded" / job.student / setup.topic
    errors = []
    for name in expected:
        if (out / name).exists():
            errors += [e for e in _cell_errors(out / name) if e not in errors]
    if errors:
        result["notes"].append("errors raised: " + ", ".join(errors))
    dest = Path(setup.root) / "autograded" / job.student / setup.topic
    tmp_dest = dest.parent / f".{setup.topic}.tmp-{os.getpid()}"
    shutil.rmtree(tmp_dest, ignore_errors=True)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(out, tmp_dest, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"),
                    symlinks=True)
    if dest.exists():
        _rmtree_force(dest)
    os.rename(tmp_dest, dest)
    os.utime(dest, None)
    result["status"] = "graded"
    result["seconds"] = time.perf_counter() - start
    return result


def _rmtree_force(path: Path) -> None:
    def onerror(func, p, exc):
        os.chmod(os.path.dirname(p), 0o755)
        func(p)
    for dirpath, dirnames, filenames in os.walk(path):
        os.chmod(dirpath, 0o755)
    shutil.rmtree(path, onerror=onerror)


def _worker_main(conn, setup: WorkerSetup, wid: int) -> None:
    os.setsid()  # own process group: the parent can kill this worker and its kernel together
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
        except Exception:
            pass
    import warnings
    from sqlalchemy.exc import SAWarning
    warnings.simplefilter("ignore", SAWarning)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.getLogger("traitlets").setLevel(logging.ERROR)
    wdir = _prepare_worker(setup, wid)
    mpl_cache = []
    try:
        import matplotlib
        mpl_cache = [p for p in Path(matplotlib.get_cachedir()).glob("fontlist*.json")]
    except Exception:
        pass
    import nbgrader.converters  # noqa: F401  (import once, before the first job)
    while True:
        try:
            job = conn.recv()
        except EOFError:
            break
        if job is None:
            break
        try:
            result = grade_in_worker(setup, wid, wdir, job, mpl_cache)
        except Exception:
            tb = traceback.format_exc()
            sys.stderr.write(f"grading {job.student}: internal error\n{tb}\n")
            result = {"student": job.student, "status": "failed", "notes": [], "notebooks": {},
                      "reason": "grader error: " + tb.strip().splitlines()[-1]}
        conn.send(result)


# --------------------------------------------------------------------------------------------
# parent side: the pool, the merge into the course gradebook, the summary
# --------------------------------------------------------------------------------------------
class _Slot:
    def __init__(self, ctx, setup, wid):
        self.ctx, self.setup, self.wid = ctx, setup, wid
        self.start_process()

    def start_process(self):
        parent, child = self.ctx.Pipe()
        self.conn = parent
        self.proc = self.ctx.Process(target=_worker_main, args=(child, self.setup, self.wid), daemon=True,
                                     name=f"grading-worker-{self.wid}")
        self.proc.start()
        child.close()
        self.job, self.started = None, None

    def submit(self, job):
        self.job, self.started = job, time.monotonic()
        self.conn.send(job)

    def kill(self):
        pid = self.proc.pid
        victims = descendants(pid)
        for p in [pid] + victims:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        uid = self.setup.sandbox.uid(self.wid)
        if uid is not None:
            _kill_uid(uid)
        self.proc.join(5)
        self.conn.close()


def run_jobs(jobs: list[Job], setup: WorkerSetup, workers: int, timeout: float, on_result, progress=True):
    """Grade the jobs on `workers` long-lived processes; calls on_result(result) in this process."""
    from tqdm.auto import tqdm

    ctx = multiprocessing.get_context("fork")
    queue = list(jobs)
    slots = [_Slot(ctx, setup, i) for i in range(min(workers, len(jobs)))]
    bar = tqdm(total=len(jobs), desc=f"grading {setup.topic}", unit="sub", disable=not progress,
               dynamic_ncols=True, file=sys.stderr)
    try:
        for slot in slots:
            if queue:
                slot.submit(queue.pop(0))
        while any(s.job is not None for s in slots):
            busy = {s.conn: s for s in slots if s.job is not None}
            ready = mp_wait(list(busy), timeout=0.5)
            now = time.monotonic()
            for conn in ready:
                slot = busy[conn]
                try:
                    result = conn.recv()
                except (EOFError, OSError):
                    code = slot.proc.exitcode
                    result = {"student": slot.job.student, "status": "failed", "notes": [], "notebooks": {},
                              "reason": f"grading process died (exit code {code})"}
                    slot.kill()
                    slot.start_process()
                slot.job = None
                if queue:  # the worker already copied its output: give it the next job first
                    slot.submit(queue.pop(0))
                on_result(result)
                bar.update(1)
            for slot in slots:
                if slot.job is not None and slot not in [busy.get(c) for c in ready] \
                        and now - slot.started > timeout:
                    student = slot.job.student
                    slot.kill()
                    slot.start_process()
                    on_result({"student": student, "status": "failed", "notes": [], "notebooks": {},
                               "reason": f"timed out after {timeout:g} s"})
                    bar.update(1)
                    if queue:
                        slot.submit(queue.pop(0))
    finally:
        bar.close()
        for slot in slots:
            if slot.job is not None:
                slot.kill()
            else:
                try:
                    slot.conn.send(None)
                except OSError:
                    pass
                slot.proc.join(10)
                if slot.proc.is_alive():
                    slot.kill()


def merge_result(gb, topic: str, result: dict, root: Path, notebooks: list[str]) -> None:
    """Write one submission's autograder results into the course gradebook (manual grades and
    comments are left untouched, as nbgrader's SaveAutoGrades does); failures get 0 points."""
    import warnings
    from sqlalchemy.exc import SAWarning
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)  # nbgrader's add_submission autoflush chatter
        _merge_result(gb, topic, result, root)


def _merge_result(gb, topic: str, result: dict, root: Path) -> None:
    student = result["student"]
    gb.update_or_create_student(student)
    ts = _timestamp(Path(root) / "submitted" / student / topic)
    if ts:
        sub = gb.update_or_create_submission(topic, student, timestamp=ts)
    else:
        sub = gb.update_or_create_submission(topic, student)
    by_nb = {snb.name: snb for snb in sub.notebooks}
    if result["status"] == "graded":
        for nb_name, data in result["notebooks"].items():
            snb = by_nb[nb_name]
            grades = {g.name: g for g in snb.grades}
            for name, (auto, _max, needs_manual) in data["grades"].items():
                g = grades[name]
                g.auto_score = auto
                g.needs_manual_grade = bool(needs_manual) or (g.manual_score is not None)
            comments = {c.name: c for c in snb.comments}
            for name, text in data["comments"].items():
                comments[name].auto_comment = text
            snb.late_submission_penalty = data["penalty"]
            snb.flagged = False
    else:
        for snb in sub.notebooks:
            for g in snb.grades:
                g.auto_score = 0
                g.needs_manual_grade = g.manual_score is not None
            snb.flagged = True  # shows up flagged in the formgrader
        stale = Path(root) / "autograded" / student / topic
        if stale.exists():
            _rmtree_force(stale)
    gb.db.commit()


@dataclass
class Summary:
    topic: str
    graded: list[str]
    failed: dict[str, str]
    skipped: list[str]
    notes: dict[str, list[str]]
    scores: dict[str, tuple[float, float]]       # every submission of the topic in the gradebook
    cell_fail_share: dict[str, float]
    seconds: float
    sandbox: str
    warnings: list[str]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def mean_score(self) -> float:
        vals = [s for s, _ in self.scores.values()]
        return sum(vals) / len(vals) if vals else 0.0

    def text(self) -> str:
        max_score = max((m for _, m in self.scores.values()), default=0)
        lines = [f"{self.topic}: graded {len(self.graded)}, failed to grade {len(self.failed)}, "
                 f"skipped (already graded) {len(self.skipped)} in {self.seconds:.0f} s"]
        for student, reason in sorted(self.failed.items()):
            lines.append(f"  FAILED {student}: {reason}")
        lines.append(f"mean score over {len(self.scores)} submissions: {self.mean_score:.2f} / {max_score:g}")
        if self.cell_fail_share:
            lines.append("share of students who failed each graded cell:")
            for cell, share in self.cell_fail_share.items():
                lines.append(f"  {cell:<30} {share:6.1%}")
        lines.append(f"isolation: {self.sandbox}")
        for w in self.warnings:
            lines.append(f"warning: {w}")
        lines.append(f"per-student details: grading_report_{self.topic}.csv")
        if self.timings:
            lines.append("time: " + ", ".join(f"{k} {v:.1f} s" for k, v in self.timings.items()))
        return "\n".join(lines)


def _gradebook_stats(gb, topic: str):
    scores, fails, totals = {}, {}, {}
    assignment = gb.find_assignment(topic)
    order = [gc.name for nb in assignment.notebooks for gc in nb.grade_cells]
    for sub in assignment.submissions:
        scores[sub.student.id] = (float(sub.score), float(sub.max_score))
        for snb in sub.notebooks:
            for g in snb.grades:
                totals[g.name] = totals.get(g.name, 0) + 1
                fails[g.name] = fails.get(g.name, 0) + (1 if (g.score or 0) < g.max_score else 0)
    share = {name: fails.get(name, 0) / totals[name] for name in order if totals.get(name)}
    return scores, share


def grade(opts: Options) -> Summary:
    """The whole pipeline for one topic; returns the summary (also printed by main())."""
    from nbgrader.api import Gradebook

    t0 = time.perf_counter()
    ensure_venv_on_path()
    root = Path(opts.root).resolve()
    cfg = load_config(root)
    cd = coursedir_for(cfg)
    if not (root / cd.source_directory / opts.topic).is_dir():
        raise SystemExit(f"unknown topic {opts.topic!r}: no folder {cd.source_directory}/{opts.topic}")
    timings: dict[str, float] = {}
    mark = time.perf_counter()

    def lap(name):
        nonlocal mark
        now = time.perf_counter()
        timings[name] = timings.get(name, 0.0) + now - mark
        mark = now

    ensure_assignment(root, cfg, opts.topic)
    warnings_: list[str] = []
    base = Path(tempfile.mkdtemp(prefix="grade-", dir="/tmp"))
    os.chmod(base, 0o711)
    try:
        template = base / "template.db"
        notebooks = make_template(cd.db_url, cd.course_id, opts.topic, template)
        os.chmod(template, 0o600)
        if opts.source:
            msg = collect(root, opts.topic, Path(opts.source), [f"{n}" for n in notebooks], opts.pattern)
            if msg:
                warnings_.append(msg)
        lap("prepare")
        jobs, skipped = plan(root, cfg, opts.topic, opts.force, opts.students)
        workers = opts.workers or kit_setting(cfg, "workers", 0) or os.cpu_count() or 1
        timeout = opts.submission_timeout or kit_setting(cfg, "submission_timeout", 600)
        memory_mb = opts.memory_mb if opts.memory_mb is not None else kit_setting(cfg, "memory_limit_mb", 4096)
        box = probe_sandbox(memory_mb, opts.sandbox, root, cd.db_url)
        warnings_ += box.warnings
        for w in box.warnings:
            print(f"WARNING: {w}", file=sys.stderr)
        lap("sandbox check")
        setup = WorkerSetup(root=root, topic=opts.topic, base=base, template=template, notebooks=notebooks,
                            course_id=cd.course_id, source_dir=(root / cd.source_directory).resolve(),
                            release_dir=(root / cd.release_directory / opts.topic).resolve(),
                            sandbox=box, threads=max(1, (os.cpu_count() or 1) // max(1, min(workers, len(jobs) or 1))),
                            cfg_dict=_plain(cfg))
        graded, failed, notes = [], {}, {}
        with Gradebook(cd.db_url, cd.course_id) as gb:
            def on_result(result):
                merge_result(gb, opts.topic, result, root, notebooks)
                if result["notes"]:
                    notes[result["student"]] = result["notes"]
                if result["status"] == "graded":
                    graded.append(result["student"])
                else:
                    failed[result["student"]] = result["reason"]
            if jobs:
                run_jobs(jobs, setup, workers, timeout, on_result, progress=opts.progress)
            scores, share = _gradebook_stats(gb, opts.topic)
        lap("autograde")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    if opts.feedback and graded:
        for problem in generate_feedback(cfg, opts.topic, workers=workers):
            warnings_.append(f"feedback: {problem}")
        lap("feedback")
    if opts.export:
        export_grades(cfg)
        lap("export")
    summary = Summary(opts.topic, graded, failed, skipped, notes, scores, share,
                      time.perf_counter() - t0, box.describe(), warnings_, timings)
    _write_report(root, summary)
    return summary


def _quiet_logger(name: str) -> logging.Logger:
    logger = logging.getLogger(name)
    logger.propagate = False
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("[%(name)s] %(levelname)s %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.ERROR)
    return logger


def _feedback_chunk(cfg_dict: dict, topic: str, students: list[str]) -> list[str]:
    from traitlets.config import Config
    from nbgrader.converters import GenerateFeedback

    problems = []
    for student in students:
        c = Config(cfg_dict)
        c.CourseDirectory.assignment_id = topic
        c.CourseDirectory.student_id = student
        converter = GenerateFeedback(coursedir=coursedir_for(c), config=c, log=_quiet_logger("nbgrader.feedback"))
        try:
            converter.start()
        except Exception as exc:  # one broken notebook must not stop the others
            problems.append(f"{student}: {exc}")
    return problems


def generate_feedback(cfg, topic: str, students: list[str] | None = None, workers: int = 1) -> list[str]:
    """nbgrader generate_feedback (HTML in feedback/) for the topic, split over `workers` processes
    (it only reads the gradebook); returns the problems met."""
    cd = coursedir_for(cfg)
    if students is None:
        students = sorted(p.parent.name for p in (Path(cd.root) / cd.autograded_directory).glob(f"*/{topic}"))
    # nbgrader's GenerateFeedback takes a glob as the student id: escape the glob characters
    students = [re.sub(r"([*?\[])", r"[\1]", s) for s in students]
    chunks = [students[i::workers] for i in range(max(1, workers))]
    chunks = [c for c in chunks if c]
    if len(chunks) <= 1:
        return _feedback_chunk(_plain(cfg), topic, students)
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(len(chunks)) as pool:
        results = pool.starmap(_feedback_chunk, [(_plain(cfg), topic, c) for c in chunks])
    return [p for r in results for p in r]


def export_grades(cfg) -> Path:
    """nbgrader export (CsvExportPlugin) to <course root>/grades.csv, in this process."""
    from nbgrader.api import Gradebook
    from nbgrader.plugins import CsvExportPlugin

    cd = coursedir_for(cfg)
    path = Path(cd.root) / "grades.csv"
    plugin = CsvExportPlugin(config=cfg, log=_quiet_logger("nbgrader.export"))
    plugin.to = str(path)
    with Gradebook(cd.db_url, cd.course_id) as gb:
        plugin.export(gb)
    return path


def _plain(cfg) -> dict:
    """A picklable deep copy of a traitlets Config (classes kept as they are)."""
    from traitlets.config import Config
    out = {}
    for key, value in cfg.items():
        out[key] = _plain(value) if isinstance(value, (Config, dict)) else value
    return out


def _write_report(root: Path, summary: Summary) -> Path:
    path = Path(root) / f"grading_report_{summary.topic}.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["student", "status", "score", "max_score", "reason", "notes"])
        students = sorted(set(summary.scores) | set(summary.failed) | set(summary.graded))
        for s in students:
            status = ("failed" if s in summary.failed else "graded" if s in summary.graded
                      else "skipped (already graded)")
            score, max_score = summary.scores.get(s, (0.0, 0.0))
            w.writerow([s, status, score, max_score, summary.failed.get(s, ""), "; ".join(summary.notes.get(s, []))])
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m utils.grading", formatter_class=argparse.RawDescriptionHelpFormatter,
        description=__doc__,
        epilog=f"LMS file names: {LMS_PATTERN_HELP}.")
    parser.add_argument("topic", help="topic folder in solutions/, e.g. 01_tensors")
    parser.add_argument("--from", dest="source", type=Path,
                        help="LMS download (zip, or folder of files/zips) to import with nbgrader zip_collect")
    parser.add_argument("--pattern", help="zip_collect FileNameCollector.named_regexp replacing the default "
                                          "(must define the groups student_id and file_id)")
    parser.add_argument("--workers", type=int, help="worker processes (default: number of cores)")
    parser.add_argument("--timeout", type=float, dest="submission_timeout",
                        help="seconds allowed per submission (default: KitGrading.submission_timeout or 600)")
    parser.add_argument("--memory-mb", type=int, help="address-space limit per student kernel in MiB "
                                                      "(default: KitGrading.memory_limit_mb or 4096; 0: none)")
    parser.add_argument("--force", action="store_true", help="regrade submissions that are already graded")
    parser.add_argument("--student", action="append", dest="students", help="grade only this student (repeatable)")
    parser.add_argument("--no-sandbox", action="store_true", help="run student kernels without isolation")
    parser.add_argument("--no-feedback", action="store_true", help="skip nbgrader generate_feedback")
    parser.add_argument("--no-export", action="store_true", help="skip nbgrader export (grades.csv)")
    parser.add_argument("--root", type=Path, default=ROOT, help="course root (default: this repository)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    a = parser.parse_args(argv)
    summary = grade(Options(topic=a.topic, root=a.root, source=a.source, pattern=a.pattern, workers=a.workers,
                            submission_timeout=a.submission_timeout, memory_mb=a.memory_mb, force=a.force,
                            sandbox="off" if a.no_sandbox else "auto", feedback=not a.no_feedback,
                            export=not a.no_export, progress=not a.quiet, students=a.students))
    print(summary.text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
