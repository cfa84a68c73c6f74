"""Where the course lives: the course root, its topics, and the tool PATH for subprocesses."""
from __future__ import annotations

import os
import sys
from pathlib import Path

#: The repository root, which is also nbgrader's course root (nbgrader_config.py).
ROOT = Path(__file__).resolve().parent.parent
#: nbgrader's source folder: the instructor's notebooks, with solutions and hidden tests.
SOLUTIONS = ROOT / "solutions"
#: nbgrader's release folder: the generated student versions.
NOTEBOOKS = ROOT / "notebooks"


def topics(root: Path = ROOT) -> list[str]:
    """The topic folders (``NN_name``) in ``root/solutions/``, in course order."""
    return sorted(p.name for p in (Path(root) / "solutions").glob("[0-9][0-9]_*") if p.is_dir())


def check_topics(names: list[str], root: Path = ROOT) -> list[str]:
    """``names`` if every one is a topic (all topics when empty); SystemExit naming the unknown ones."""
    known = topics(root)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"unknown topic(s) {', '.join(unknown)}; the topics in solutions/ are: {', '.join(known)}")
    return list(names) or known


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
