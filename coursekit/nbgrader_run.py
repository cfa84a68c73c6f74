"""The one way the kit runs nbgrader: ``python -m nbgrader`` of this interpreter, as a subprocess.

A subprocess (not nbgrader's Python API) because nbgrader's apps keep global state (logging,
singletons, the traitlets config) that must not leak between commands or into the caller.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from coursekit.paths import tool_env


class NbgraderError(RuntimeError):
    """An nbgrader command exited with a non-zero status; the message holds its output."""

    def __init__(self, args: list[str], proc: subprocess.CompletedProcess):
        self.proc = proc
        super().__init__(f"nbgrader {' '.join(args[:1])} failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


def nbgrader(*args: str, root: Path, check: bool = True, log_level: str | None = "WARN",
             db_url: str | None = None, timeout: float | None = None, env: dict | None = None
             ) -> subprocess.CompletedProcess:
    """Run ``nbgrader <args>`` for the course at ``root`` (cwd and ``CourseDirectory.root``).

    ``db_url``: another gradebook (e.g. a throw-away SQLite file) instead of the course's.
    ``env``: the base environment (default: this process's); the tool PATH is always added.
    ``check``: raise :class:`NbgraderError` when the command fails. Output is captured as text.
    """
    root = Path(root).resolve()
    cmd = [sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={root}"]
    if log_level:
        cmd.append(f"--log-level={log_level}")
    if db_url:
        cmd.append(f"--CourseDirectory.db_url={db_url}")
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=timeout, env=tool_env(env))
    if check and proc.returncode != 0:
        raise NbgraderError(list(args), proc)
    return proc


def generate_assignment(topic: str, root: Path, release_dir: Path | None = None, *,
                        db_url: str | None = None) -> Path:
    """``nbgrader generate_assignment --force`` of one topic; returns the folder it wrote.

    ``release_dir``: where the student version goes (default: the course's release folder,
    notebooks/). ``db_url``: the gradebook that records the assignment; by default a throw-away
    one, so that building never touches the course's gradebook.db.
    """
    args = ["generate_assignment", topic, "--force"]
    if release_dir is not None:
        args.append(f"--CourseDirectory.release_directory={Path(release_dir).resolve()}")
    if db_url is not None:
        nbgrader(*args, root=root, db_url=db_url)
    else:
        with tempfile.TemporaryDirectory(prefix="nbgrader-gen-") as tmp:
            nbgrader(*args, root=root, db_url=f"sqlite:///{Path(tmp) / 'gradebook.db'}")
    return Path(release_dir if release_dir is not None else Path(root) / "notebooks") / topic
