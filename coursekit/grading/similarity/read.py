"""What one student's submitted notebooks hold for the similarity report: the code of each answer cell
and of the cells they added, and the traces only a notebook file carries.

Notebooks are read from ``submitted/<student>/<topic>/`` as the grader reads them (:mod:`..safeio`: no
links followed, at most a cap of bytes; :mod:`..nbcheck`: JSON within limits, field types checked);
one that cannot be read is left out with a one-line reason. Nothing is executed.

The traces, each compared later with the rest of the class (what much of the class shares is no
evidence):

* the ids of cells the student added: Jupyter gives a new cell a random id, so two students holding
  the same added-cell id hold copies of one file;
* outputs that differ from run to run (memory addresses, timings, dates, numbers printed by a cell
  that draws random numbers without setting a seed): equal only when one executed file was copied;
* errors (the exception and its message) shown in the notebook;
* the history of execution counts across the code cells, when it is not that of one "Run All";
* exercises whose visible tests show an error (failed when the student last ran them).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from coursekit import notebook
from coursekit.grading import nbcheck, safeio
from coursekit.grading.similarity.fingerprints import Fingerprint, fingerprints

ADDED = "(added cells)"       # the key of the code a student added, beside the exercises' grade_ids
MAX_SHOWN = 20_000            # characters of one cell kept to show in the report

_ADDRESS = re.compile(r"\b0x[0-9a-fA-F]{6,}\b")
_TIMING = re.compile(r"(wall time|cpu times|per loop|elapsed|took\s+[\d.]+|[\d.]+\s*(ns|µs|us|ms|sec|seconds)\b"
                     r"|\b\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2})", re.IGNORECASE)
_RANDOM_CALL = re.compile(r"\b(randn|rand|randint|randperm|rand_like|randn_like|normal_|uniform_|shuffle|"
                          r"random|permutation|choice|uuid4|time|perf_counter|now)\s*\(")
_SEED = re.compile(r"seed", re.IGNORECASE)
_FLOAT = re.compile(r"\d\.\d{3,}")


@dataclass
class Work:
    """One student's notebooks, as the similarity report sees them."""

    student: str
    code: dict[str, str] = field(default_factory=dict)                    # key -> source shown
    prints: dict[str, list[Fingerprint]] = field(default_factory=dict)    # key -> fingerprints
    added_ids: dict[str, str] = field(default_factory=dict)               # id -> where
    volatile: dict[str, str] = field(default_factory=dict)                # digest -> output shown
    errors: dict[str, str] = field(default_factory=dict)                  # digest -> error shown
    history: tuple[int, ...] | None = None                                # irregular execution counts
    failed: set[str] = field(default_factory=set)                         # exercises whose tests show an error

    def hashes(self, key: str) -> set[int]:
        return {f.hash for f in self.prints.get(key, ())}


@dataclass
class Base:
    """What no student wrote: the released notebooks and the instructor's."""

    hashes: set[int] = field(default_factory=set)
    cell_ids: set[str] = field(default_factory=set)
    outputs: set[str] = field(default_factory=set)
    exercises: list[str] = field(default_factory=list)            # keys, in notebook order
    grade_ids: dict[str, dict[str, str]] = field(default_factory=dict)   # notebook -> grade_id -> key
    keep: frozenset[str] = frozenset()                            # the stubs' function names


def _nbg(cell) -> dict:
    """The cell's nbgrader metadata (nbcheck has checked its fields' types); what the helpers of
    :mod:`coursekit.notebook` read, on plain JSON."""
    return (cell.get("metadata") or {}).get("nbgrader") or {}


def _is_answer(cell) -> bool:
    return cell.get("cell_type") == "code" and bool(_nbg(cell).get("solution")) and not _nbg(cell).get("grade")


def _is_test(cell) -> bool:
    return cell.get("cell_type") == "code" and bool(_nbg(cell).get("grade")) and not _nbg(cell).get("solution")


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "replace"), digest_size=12).hexdigest()


def _text(value) -> str:
    if isinstance(value, list):
        return "".join(v for v in value if isinstance(v, str))
    return value if isinstance(value, str) else ""


def _outputs(cell) -> list[tuple[str, str]]:
    """(kind, text) of a code cell's outputs: 'text' for streams and results, 'error' for errors."""
    out = []
    for o in cell.get("outputs") or []:
        kind = o.get("output_type")
        if kind == "stream":
            out.append(("text", _text(o.get("text"))))
        elif kind in ("execute_result", "display_data"):
            data = o.get("data") or {}
            out.append(("text", _text(data.get("text/plain"))))
        elif kind == "error":
            out.append(("error", f"{_text(o.get('ename'))[:200]}: {_text(o.get('evalue'))[:2000]}"))
    return [(k, t) for k, t in out if t.strip()]


def _is_volatile(source: str, text: str) -> bool:
    if _ADDRESS.search(text) or _TIMING.search(text):
        return True
    return bool(_RANDOM_CALL.search(source) and not _SEED.search(source) and _FLOAT.search(text))


def _irregular(counts: list[int | None]) -> tuple[int, ...] | None:
    """The history of execution counts, unless it is empty or that of one Run All (1, 2, 3, ...)."""
    run = [c for c in counts if c is not None]
    if len(run) < 2 or run == list(range(1, len(run) + 1)):
        return None
    return tuple(-1 if c is None else c for c in counts)


def read_base(root: Path, topic: str, notebooks: list[str], release_dir: str = "notebooks",
              source_dir: str = "solutions") -> tuple[Base, list[str]]:
    """The base code, ids and outputs of the topic's released and source notebooks, and problems."""
    base, problems = Base(), []
    several = len(notebooks) > 1
    read: list[tuple[str, str, dict]] = []
    for name in notebooks:
        for folder in (release_dir, source_dir):
            path = Path(root) / folder / topic / f"{name}.ipynb"
            try:
                nb = nbcheck.read_notebook(f"{folder}/{topic}/{name}.ipynb", path.read_bytes())
            except OSError as exc:
                problems.append(f"{folder}/{topic}/{name}.ipynb cannot be read ({exc.strerror})")
                continue
            if isinstance(nb, str):
                problems.append(nb)
            else:
                read.append((name, folder, nb))
    for name, folder, nb in read:
        if folder == release_dir:
            for cell in nb["cells"]:
                if _is_answer(cell):              # the stubs' function names
                    base.keep |= set(re.findall(r"^\s*def\s+(\w+)", _text(cell.get("source")), re.M))
    for name, folder, nb in read:
        ids = base.grade_ids.setdefault(name, {})
        for cell in nb["cells"]:
            if isinstance(cell.get("id"), str):
                base.cell_ids.add(cell["id"])
            if cell.get("cell_type") != "code":
                continue
            source = _text(cell.get("source"))
            for code in [notebook.strip_solution_markers(source)] + ["\n".join(r) for r in notebook.marked_regions(
                    source) + notebook.marked_regions(source, notebook.BEGIN_HIDDEN_TESTS, notebook.END_HIDDEN_TESTS)]:
                base.hashes |= {f.hash for f in fingerprints(code, base.keep)}
            for _, text in _outputs(cell):
                base.outputs.add(_digest(text))
            gid = _nbg(cell).get("grade_id")
            if folder == release_dir and gid and _is_answer(cell) and gid not in ids:
                ids[gid] = f"{name}/{gid}" if several else gid
                base.exercises.append(ids[gid])
    return base, problems


def read_work(student: str, files: dict[str, dict], base: Base) -> Work:
    """A student's parsed notebooks (name -> notebook JSON checked by nbcheck) as a :class:`Work`."""
    work = Work(student)
    added: list[str] = []
    counts: list[int | None] = []
    for name, nb in files.items():
        keys = base.grade_ids.get(name, {})
        current = None                # the exercise whose test cells follow
        for i, cell in enumerate(nb["cells"], 1):
            if cell.get("cell_type") != "code":
                continue
            source = _text(cell.get("source"))
            gid = _nbg(cell).get("grade_id")
            count = cell.get("execution_count")
            counts.append(count if isinstance(count, int) and not isinstance(count, bool) else None)
            where = f"{name}, cell {i}"
            if gid in keys and _is_answer(cell) and keys[gid] not in work.code:
                current = keys[gid]
                work.code[current] = source[:MAX_SHOWN]
                work.prints[current] = fingerprints(source, base.keep)
            elif _is_test(cell):
                if current and any(k == "error" for k, _ in _outputs(cell)):
                    work.failed.add(current)
            elif not gid and cell.get("id") not in base.cell_ids:     # a cell the student added
                if isinstance(cell.get("id"), str):
                    work.added_ids.setdefault(cell["id"], where)
                added.append(source)
            for kind, text in _outputs(cell):
                digest = _digest(text)
                if digest in base.outputs:
                    continue
                if kind == "error" and _is_test(cell):
                    continue              # a wrong answer's failing test: see `failed`
                if kind == "error":
                    work.errors[digest] = text[:300]
                elif _is_volatile(source, text):
                    work.volatile[digest] = f"{where}: {text.strip()[:300]}"
    if added:
        text = "\n\n".join(added)
        work.code[ADDED] = text[:MAX_SHOWN]
        work.prints[ADDED] = fingerprints(text, base.keep)
    work.history = _irregular(counts)
    return work


def read_submissions(root: Path, topic: str, notebooks: list[str], cap: int,
                     max_id: int = 64) -> tuple[dict[str, dict[str, dict]], list[str]]:
    """student -> notebook name -> parsed notebook, from submitted/<student>/<topic>/; and the
    one-line reasons for what was left out."""
    from coursekit.grading import collect

    base_dir = Path(root) / "submitted"
    out: dict[str, dict[str, dict]] = {}
    problems: list[str] = []
    try:
        entries = safeio.list_dir(base_dir) if base_dir.is_dir() and not base_dir.is_symlink() else []
    except safeio.Unsafe as exc:
        return out, [f"submitted/ cannot be read safely ({exc})"]
    for student, kind in entries:
        if kind != "dir" or collect.invalid_student_id(student, max_id):
            continue                  # the grading run reports these
        folder = base_dir / student / topic
        try:
            names = dict(safeio.list_dir(folder, below=base_dir))
        except safeio.Unsafe:
            continue                  # no submission of this topic (or a link: reported by the grading run)
        files = {}
        for name in notebooks:
            fname = f"{name}.ipynb"
            if names.get(fname) is None:
                continue
            shown = f"submitted/{collect.shown(student)}/{topic}/{fname}"
            try:
                data = safeio.read_file(folder, fname, cap, below=base_dir)
            except safeio.Unsafe as exc:
                problems.append(f"similarity: {shown} skipped: {exc}")
                continue
            nb = nbcheck.read_notebook(shown, data)
            if isinstance(nb, str):
                problems.append(f"similarity: skipped: {nb}")
                continue
            files[name] = nb
        if files:
            out[student] = files
    return out, problems
