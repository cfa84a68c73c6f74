"""Building the course: student versions from solutions/, and solutions/ re-executed in place.

    python -m coursekit assignments [TOPIC ...]   solutions/ -> notebooks/ (nbgrader generate_assignment)
    python -m coursekit execute [TOPIC ...]       re-run solutions/ in place: fresh stored outputs

Executing records where the outputs were made in the notebook's metadata,
``nb.metadata["coursekit"]["executed_on"]`` (CPU, torch build and threads, ...), because the
stored outputs nbval compares depend on them; the student versions leave that record out.
"""
from __future__ import annotations

import datetime
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import nbformat

from coursekit import notebook
from coursekit.nbgrader_run import generate_assignment
from coursekit.paths import NOTEBOOKS, ROOT

METADATA_KEY = "coursekit"
#: Environment variables that change what the CPU kernels of torch compute or how fast.
NUMERIC_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "COURSE_THREADS", "ATEN_CPU_CAPABILITY", "MKL_CBWR")

# Run as the last cell of the notebook, in its kernel, then removed: what the kernel really used.
_KERNEL_PROBE = """\
import json as _j, os as _o, platform as _p
_info = {"python": _p.python_version(), "env": {k: _o.environ[k] for k in %r if k in _o.environ}}
try:
    import torch as _t
    _info.update(torch=_t.__version__, torch_cuda=_t.version.cuda, torch_threads=_t.get_num_threads(),
                 torch_cpu_capability=_t.backends.cpu.get_cpu_capability(),
                 cuda_device=_t.cuda.get_device_name(0) if _t.cuda.is_available() else None)
except ImportError:
    pass
print(_j.dumps(_info))
""" % (NUMERIC_ENV,)


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _kernel_facts(cell) -> dict:
    for output in cell.get("outputs", []):
        if output.get("name") == "stdout":
            try:
                return json.loads(output["text"].strip().splitlines()[-1])
            except (ValueError, IndexError):
                pass
    return {}


def execute(path: Path, timeout: int = 600) -> float:
    """Execute a notebook in place in a fresh kernel, from its own folder, and record where.

    Returns the seconds the cells took. The notebook is written only when every cell ran.
    """
    from nbclient import NotebookClient

    path = Path(path)
    nb = notebook.read(path)
    nb.cells.append(nbformat.v4.new_code_cell(_KERNEL_PROBE))
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    facts = _kernel_facts(nb.cells.pop())
    nb.metadata.setdefault(METADATA_KEY, {})["executed_on"] = {
        "cpu": cpu_model(),
        "machine": platform.machine(),
        "system": platform.system(),
        **facts,
        "date": datetime.date.today().isoformat(),
    }
    notebook.write(nb, path)
    return seconds


def generate(topic: str, release_root: Path = NOTEBOOKS, root: Path = ROOT, db_url: str | None = None) -> Path:
    """The student version of one topic, written to ``release_root/<topic>/``; returns that folder.

    nbgrader generate_assignment with a throw-away gradebook (``db_url``: one to reuse, as
    ``generate_all`` does: nbgrader makes a new gradebook with a subprocess of its own, 2 CPU-s);
    then what is not course material is dropped: checkpoints, and the record of the machine that
    executed the source notebook.
    """
    out = generate_assignment(topic, root, release_root, db_url=db_url)
    shutil.rmtree(out / ".ipynb_checkpoints", ignore_errors=True)
    for path in out.glob("*.ipynb"):
        nb = notebook.read(path)
        if nb.metadata.pop(METADATA_KEY, None) is not None:
            notebook.write(nb, path)
    return out


def generate_all(topics: list[str], release_root: Path, root: Path = ROOT):
    """``generate`` for each topic, all with one throw-away gradebook; yields (topic, folder)."""
    with tempfile.TemporaryDirectory(prefix="nbgrader-gen-") as tmp:
        db_url = f"sqlite:///{Path(tmp) / 'gradebook.db'}"
        for topic in topics:
            yield topic, generate(topic, release_root, root, db_url=db_url)


def assignments(topics: list[str], root: Path = ROOT) -> None:
    for topic, out in generate_all(topics, Path(root) / "notebooks", root):
        print(f"{topic}: student version written to {os.path.relpath(out, root)}")


def execute_topics(topics: list[str], root: Path = ROOT) -> None:
    for topic in topics:
        for path in sorted((Path(root) / "solutions" / topic).glob("*.ipynb")):
            print(f"{os.path.relpath(path, root)}: executed in {execute(path):.1f} s")
