"""Where the course lives: the course root, its assignments and topics, and the tool PATH for subprocesses."""
from __future__ import annotations

import fnmatch
import os
import re
import sys
from pathlib import Path

#: The repository root, which is also nbgrader's course root (nbgrader_config.py).
ROOT = Path(__file__).resolve().parent.parent
#: nbgrader's source folder: the instructor's notebooks, with solutions and hidden tests.
SOLUTIONS = ROOT / "solutions"
#: nbgrader's release folder: the generated student versions.
NOTEBOOKS = ROOT / "notebooks"


#: The name of a course topic: a two-digit number (the course order), an underscore, a name.
TOPIC_NAME = re.compile(r"[0-9][0-9]_.+")
#: What nbgrader leaves out of an assignment folder (nbgrader's default ``CourseDirectory.ignore``).
IGNORED = (".ipynb_checkpoints", "__pycache__", "*.pyc", "feedback")


def _ignored(name: str) -> bool:
    return name.startswith(".") or any(fnmatch.fnmatch(name, pattern) for pattern in IGNORED)


def assignments(root: Path = ROOT) -> list[str]:
    """Every assignment folder in ``root/solutions/`` (nbgrader's source folder), sorted by name: the
    course's topics and any other assignment as nbgrader defines one (any name, any notebooks)."""
    folder = Path(root) / "solutions"
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not _ignored(p.name))


def is_topic(name: str, root: Path = ROOT) -> bool:
    """Whether the assignment ``name`` is one of the course's own topics, written to the course's
    conventions (docs/DESIGN.md): a folder ``NN_name`` holding the notebook ``NN_name.ipynb``. The
    checks that only make sense for those (first cell, style, wrong answers, mutants) skip the others."""
    return bool(TOPIC_NAME.fullmatch(name)) and solution_notebook(name, root).is_file()


def not_a_topic(name: str) -> str:
    """Why a check of the course's conventions skips the assignment ``name`` (one line)."""
    return (f"{name} is not one of the course's topics (solutions/NN_name/NN_name.ipynb): the course's own "
            f"conventions are not checked for it, nbgrader's are")


def topics(root: Path = ROOT) -> list[str]:
    """The course's own topics in ``root/solutions/`` (see :func:`is_topic`), in course order."""
    return [name for name in assignments(root) if is_topic(name, root)]


def check_assignments(names: list[str], root: Path = ROOT) -> list[str]:
    """``names`` if every one is an assignment folder in solutions/ holding a notebook (all of them when
    empty); SystemExit naming what is wrong otherwise."""
    known = assignments(root)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"unknown assignment(s) {', '.join(unknown)}; the assignments in solutions/ are: "
                         f"{', '.join(known) or 'none'}")
    chosen = list(dict.fromkeys(names)) or known
    empty = [n for n in chosen if not notebooks(n, root)]
    if empty:
        raise SystemExit(f"solutions/{empty[0]}/ holds no notebook (*.ipynb directly inside it); add one or "
                         "remove the folder")
    return chosen


def check_topics(names: list[str], root: Path = ROOT) -> list[str]:
    """``names`` if every one is a topic (all topics when empty); SystemExit naming the unknown ones."""
    known = topics(root)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"unknown topic(s) {', '.join(unknown)}; the topics in solutions/ are: {', '.join(known)}")
    return list(names) or known


def notebooks(assignment: str, root: Path = ROOT, area: str = "solutions") -> list[Path]:
    """The notebooks of an assignment, sorted by name: ``root/<area>/<assignment>/*.ipynb`` (nbgrader's
    notebooks of an assignment lie directly in its folder; ``area``: "solutions" or "notebooks")."""
    folder = Path(root) / area / assignment
    return sorted(p for p in folder.glob("*.ipynb") if p.is_file()) if folder.is_dir() else []


def solution_notebook(topic: str, root: Path = ROOT) -> Path:
    """The instructor's notebook of a topic: solutions/<topic>/<topic>.ipynb."""
    return Path(root) / "solutions" / topic / f"{topic}.ipynb"


def student_notebook(topic: str, root: Path = ROOT) -> Path:
    """The generated student notebook of a topic: notebooks/<topic>/<topic>.ipynb."""
    return Path(root) / "notebooks" / topic / f"{topic}.ipynb"


def tool_env(base: dict | None = None) -> dict:
    """A copy of ``base`` (default: ``os.environ``) with this interpreter's scripts folder first on PATH.

    nbgrader starts helper programs by name (``alembic`` for the gradebook) and JupyterLab starts
    kernels by name, so the environment's ``bin/`` must be on PATH even when it is not activated
    (make, cron, an IDE). Use it as ``env=`` of every subprocess that runs the course's tools, or
    ``os.environ["PATH"] = tool_env()["PATH"]`` before calling nbgrader's API in-process.
    """
    env = dict(os.environ if base is None else base)
    bindir = str(Path(sys.executable).parent)
    parts = [p for p in env.get("PATH", "").split(os.pathsep) if p and p != bindir]
    env["PATH"] = os.pathsep.join([bindir, *parts])
    return env
