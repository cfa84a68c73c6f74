"""Course maintenance: regenerate the student notebooks and re-execute the solution notebooks.

    python -m utils.course assignments [TOPIC ...]   solutions/ -> notebooks/ (nbgrader generate_assignment)
    python -m utils.course execute [TOPIC ...]       re-run solutions/ in place so nbval has fresh outputs

With no topic, every topic in solutions/ is processed.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
NOTEBOOKS = ROOT / "notebooks"


def topics() -> list[str]:
    """The topic folders in solutions/, in course order."""
    return sorted(p.name for p in SOLUTIONS.glob("[0-9][0-9]_*") if p.is_dir())


def _check_topics(names: list[str]) -> list[str]:
    known = topics()
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"unknown topic(s) {', '.join(unknown)}; the topics in solutions/ are: {', '.join(known)}")
    return names or known


def tool_env() -> dict:
    """The environment for running nbgrader as a subprocess.

    nbgrader starts helper programs (alembic, for the gradebook) by name, so the folder holding this
    interpreter's scripts must be on PATH even when the virtual environment is not activated.
    """
    env = dict(os.environ)
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    return env


def generate(topic: str, release_root: Path) -> Path:
    """Run nbgrader generate_assignment for one topic, writing into release_root/<topic>/.

    A throw-away gradebook is used so that regenerating never touches the course's gradebook.db.
    """
    release_root = Path(release_root)
    with tempfile.TemporaryDirectory(prefix="nbgrader-gen-") as tmp:
        cmd = [
            sys.executable, "-m", "nbgrader", "generate_assignment", topic,
            "--force", "--log-level=WARN",
            f"--CourseDirectory.root={ROOT}",
            f"--CourseDirectory.release_directory={release_root}",
            f"--CourseDirectory.db_url=sqlite:///{Path(tmp) / 'gradebook.db'}",
        ]
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=tool_env())
    if proc.returncode != 0:
        raise RuntimeError(f"nbgrader generate_assignment {topic} failed:\n{proc.stdout}\n{proc.stderr}")
    return release_root / topic


def execute(notebook: Path, timeout: int = 600) -> float:
    """Execute a notebook in place in a fresh kernel, from its own folder; returns the seconds it took."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(notebook, as_version=4)
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3",
        resources={"metadata": {"path": str(notebook.parent)}},
    )
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    nbformat.write(nb, notebook)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m utils.course", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["assignments", "execute"])
    parser.add_argument("topics", nargs="*", help="topic folders in solutions/ (default: all)")
    args = parser.parse_args(argv)
    names = _check_topics(args.topics)
    for topic in names:
        if args.action == "assignments":
            out = generate(topic, NOTEBOOKS)
            # nbgrader copies everything in the source folder; checkpoints are not course material.
            shutil.rmtree(out / ".ipynb_checkpoints", ignore_errors=True)
            print(f"{topic}: student version written to {out.relative_to(ROOT)}")
        else:
            for nb in sorted((SOLUTIONS / topic).glob("*.ipynb")):
                print(f"{nb.relative_to(ROOT)}: executed in {execute(nb):.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
