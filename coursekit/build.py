"""Building the course: student versions from solutions/, and solutions/ re-executed in place.

    python -m coursekit assignments [ASSIGNMENT ...]   solutions/ -> notebooks/ (nbgrader generate_assignment)
    python -m coursekit execute [ASSIGNMENT ...]       re-run solutions/ in place: fresh stored outputs

An assignment is any folder in solutions/ (a course topic NN_name, or any other name), with any number
of notebooks; its other files and folders (data/, images) go into the student version as nbgrader
copies them, and its notebooks run from their own folder, so they find them.

Executing records where the outputs were made in the notebook's metadata,
``nb.metadata["coursekit"]["executed_on"]`` (CPU, torch build and threads, ...), because the
stored outputs nbval compares depend on them; the student versions leave that record out.

The student versions of the course's topics get one setting of the course's ``nbgrader_config.py``
stamped into their first code cell, ``c.KitAssignments.utils_url``: where a notebook uploaded alone (Colab, a JupyterHub without
the course folder) installs the course's library ``utils`` from.
"""
from __future__ import annotations

import datetime
import difflib
import json
import os
import platform
import re
import shutil
import tempfile
import time
from pathlib import Path

import nbformat
from traitlets import TraitError, Unicode
from traitlets.config import Configurable

from coursekit import notebook
from coursekit.config import ConfigError, load_course_config
from coursekit.nbgrader_run import generate_assignment
from coursekit.paths import NOTEBOOKS, ROOT, is_topic, notebooks

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


class KitAssignments(Configurable):
    """What ``make assignments`` (``python -m coursekit assignments``) writes into the student versions."""

    utils_url = Unicode(
        "", help="Where a student notebook opened outside the course folder (uploaded alone to Colab or a "
                 "JupyterHub) installs the course's library from: any address pip accepts for the folder "
                 "utils/, e.g. 'git+https://github.com/ORG/COURSE@main#subdirectory=utils', or the URL of "
                 "its wheel or of a zip of the course (with '#subdirectory=utils'). `make assignments` "
                 "writes it into the first code cell of every student version (UTILS_URL = ...). Empty: "
                 "that cell tells the student to upload the course folder or to ask you for the "
                 "address.").tag(config=True)


#: The line of a notebook's first code cell that ``utils_url`` is written into.
UTILS_URL_LINE = re.compile(r'^(?P<head>\s*UTILS_URL = )(?P<value>"[^"\n]*"|\'[^\'\n]*\')', re.M)
# An address pip understands (scheme://...), with nothing a shell or IPython would expand inside the
# cell's `%pip install "...{url}..."` line.
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'`$\\{}]+")


def utils_url(root: Path = ROOT) -> str:
    """``c.KitAssignments.utils_url`` of the course's nbgrader_config.py ('' when unset); ConfigError
    (a one-line reason) for a misspelt setting or an address pip or the cell could not use."""
    cfg = load_course_config(root)
    known = set(KitAssignments.class_trait_names(config=True))
    for name in cfg.get("KitAssignments", {}):
        if name not in known:
            near = difflib.get_close_matches(name, sorted(known), n=1)
            hint = f"; did you mean KitAssignments.{near[0]}?" if near else ""
            raise ConfigError(f"nbgrader_config.py: c.KitAssignments.{name} is not a setting of the kit{hint}")
    try:
        url = KitAssignments(config=cfg).utils_url.strip()
    except TraitError as exc:
        raise ConfigError(f"nbgrader_config.py: c.KitAssignments.utils_url must be a string: {exc}") from None
    if url and not _URL.fullmatch(url):
        raise ConfigError(f"nbgrader_config.py: c.KitAssignments.utils_url = {url!r} is not an address pip "
                          "installs from (scheme://..., without spaces, quotes, $, {{ }} or backslashes), e.g. "
                          "'git+https://github.com/ORG/COURSE@main#subdirectory=utils'")
    return url


def stamp_utils_url(nb: nbformat.NotebookNode, url: str) -> bool:
    """Write ``url`` into the ``UTILS_URL = "..."`` line of the notebook's first code cell; True if
    that changed the cell. ValueError when the cell has no such line (the setting would be lost)."""
    cell = next((c for c in nb.cells if c.cell_type == "code"), None)
    match = UTILS_URL_LINE.search(cell.source) if cell is not None else None
    if match is None:
        raise ValueError('the first code cell has no `UTILS_URL = ""` line to write c.KitAssignments.utils_url into')
    source = cell.source[:match.start("value")] + json.dumps(url) + cell.source[match.end("value"):]
    changed = source != cell.source
    cell.source = source
    return changed


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


class ExecuteError(SystemExit):
    """A notebook that could not be executed to the end (one line: which notebook, which cell, why)."""


def _kernel_name(nb) -> str:
    """The kernel the notebook names (its kernelspec), python3 when it names none."""
    return (nb.metadata.get("kernelspec") or {}).get("name") or "python3"


def _is_python(nb) -> bool:
    spec = nb.metadata.get("kernelspec") or {}
    language = spec.get("language") or (nb.metadata.get("language_info") or {}).get("name") or "python"
    return language.lower() == "python"


def execute(path: Path, timeout: int = 600) -> float:
    """Execute a notebook in place in a fresh kernel (the one its kernelspec names), from its own
    folder (so it finds the files beside it, such as data/), and record where.

    Returns the seconds the cells took. The notebook is written only when every cell ran; otherwise
    :class:`ExecuteError` says which cell failed and why.
    """
    from jupyter_client.kernelspec import NoSuchKernel
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    path = Path(path)
    nb = notebook.read(path)
    probe = _is_python(nb)
    if probe:
        nb.cells.append(nbformat.v4.new_code_cell(_KERNEL_PROBE))
    client = NotebookClient(nb, timeout=timeout, kernel_name=_kernel_name(nb),
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    try:
        client.execute()
    except NoSuchKernel:
        raise ExecuteError(f"{path}: its kernel {_kernel_name(nb)!r} (metadata.kernelspec) is not installed here; "
                           "install it or set the notebook's kernel to one `jupyter kernelspec list` shows") from None
    except (CellExecutionError, CellTimeoutError) as err:
        failed = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"
                       and any(o.get("output_type") == "error" for o in c.get("outputs", []))), None)
        where = f"cell {failed}" if failed is not None else "a cell"
        reason = f"{err.ename}: {err.evalue}" if isinstance(err, CellExecutionError) else f"timed out after {timeout} s"
        raise ExecuteError(f"{path}: {where} failed ({' '.join(reason.split())[:300]}); the notebook was not "
                           "written: fix the cell and execute it again") from None
    seconds = time.perf_counter() - start
    facts = _kernel_facts(nb.cells.pop()) if probe else {}
    nb.metadata.setdefault(METADATA_KEY, {})["executed_on"] = {
        "cpu": cpu_model(),
        "machine": platform.machine(),
        "system": platform.system(),
        **facts,
        "date": datetime.date.today().isoformat(),
    }
    notebook.write(nb, path)
    return seconds


def generate(topic: str, release_root: Path = NOTEBOOKS, root: Path = ROOT, db_url: str | None = None,
             url: str | None = None) -> Path:
    """The student version of one assignment (a topic or any other), written to ``release_root/<topic>/``;
    returns that folder.

    nbgrader generate_assignment with a throw-away gradebook (``db_url``: one to reuse, as
    ``generate_all`` does: nbgrader makes a new gradebook with a subprocess of its own, 2 CPU-s): every
    notebook of the assignment, and its other files and folders copied as nbgrader copies them; then
    what is not course material is dropped: checkpoints, and the record of the machine that executed
    the source notebook; and ``url`` (default: the course's ``c.KitAssignments.utils_url``) is written
    into the first code cell when it is set: of every notebook of a course topic (ConfigError when one
    has no ``UTILS_URL = ""`` line), of the notebooks of other assignments that have that line.
    """
    url = utils_url(root) if url is None else url
    if not notebooks(topic, root):
        raise ConfigError(f"solutions/{topic}/ holds no notebook (*.ipynb directly inside it): nothing to generate")
    topic_rules = is_topic(topic, root)
    out = generate_assignment(topic, root, release_root, db_url=db_url)
    shutil.rmtree(out / ".ipynb_checkpoints", ignore_errors=True)
    for path in sorted(out.glob("*.ipynb")):
        nb = notebook.read(path)
        changed = nb.metadata.pop(METADATA_KEY, None) is not None
        if url:
            try:
                changed |= stamp_utils_url(nb, url)
            except ValueError as exc:
                if topic_rules:
                    raise ConfigError(f"{os.path.relpath(path, root)}: {exc}") from None
        if changed:
            notebook.write(nb, path)
    return out


def generate_all(topics: list[str], release_root: Path, root: Path = ROOT):
    """``generate`` for each topic, all with one throw-away gradebook; yields (topic, folder)."""
    url = utils_url(root)
    with tempfile.TemporaryDirectory(prefix="nbgrader-gen-") as tmp:
        db_url = f"sqlite:///{Path(tmp) / 'gradebook.db'}"
        for topic in topics:
            yield topic, generate(topic, release_root, root, db_url=db_url, url=url)


def assignments(topics: list[str], root: Path = ROOT) -> None:
    """The student versions of the given assignments (course topics or any others) in notebooks/."""
    for topic, out in generate_all(topics, Path(root) / "notebooks", root):
        made = sorted(p.name for p in out.glob("*.ipynb"))
        print(f"{topic}: student version written to {os.path.relpath(out, root)} ({', '.join(made)})")


def execute_topics(topics: list[str], root: Path = ROOT) -> None:
    """Every notebook of the given assignments re-executed in place."""
    for topic in topics:
        for path in notebooks(topic, root):
            print(f"{os.path.relpath(path, root)}: executed in {execute(path):.1f} s", flush=True)
