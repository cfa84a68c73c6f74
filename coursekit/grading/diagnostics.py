"""What went wrong, in words an instructor can act on: checks before grading, reasons after.

Reasons name what stopped a submission: a limit (with its setting), the cell during which the
kernel exited or was killed and how, a cell time limit, or the grader's own error.
"""
from __future__ import annotations

import json
import re
import signal

from coursekit.grading import assignment, integrity, nbcheck
from coursekit.grading.model import Job, JobResult, NotebookResult


def check_notebook(name: str, data: bytes) -> str | None:
    """Why a submitted notebook cannot be graded, or None (see :mod:`nbcheck`: valid JSON within
    limits, and the types nbgrader and the grader read; nbgrader validates the rest when it reads it)."""
    nb = nbcheck.read_notebook(name, data)
    return nb if isinstance(nb, str) else None


def unexpected(result: JobResult, during: str, exc: BaseException) -> str:
    """An error of the trusted grader itself while handling one submission: that submission fails,
    the traceback is kept for the problems file (never printed), the run goes on."""
    import traceback
    result.trace += f"{during}:\n" + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    words = str(exc).splitlines()[0][:200] if str(exc).strip() else ""
    return f"grader error while {during}: {type(exc).__name__}" + (f": {words}" if words else "") \
        + " (traceback in the problems file)"


def tamper_notes(submitted: dict | bytes, released: bytes | dict) -> tuple[list[str], list[str]]:
    """(flags, notes): what the student changed in locked cells, compared with the student version,
    or with the gradebook's record of its cells (:func:`gradebook_cells`), which is what nbgrader
    itself compares (its checksums) and restores the locked cells from."""
    try:
        sub = submitted if isinstance(submitted, dict) else nbcheck.load(submitted)
        rel = released if isinstance(released, dict) else json.loads(released)
    except ValueError:
        return [], []
    if nbcheck.notebook_problem(sub):
        return [], []

    def src(cell):
        s = cell.get("source", "")
        return ("".join(s) if isinstance(s, list) else str(s)).strip()

    by_id: dict[str, list] = {}
    for cell in sub.get("cells", []):
        gid = ((cell.get("metadata") or {}).get("nbgrader") or {}).get("grade_id")
        if gid:
            by_id.setdefault(str(gid), []).append(cell)
    flags, notes = [], []
    for cell in rel.get("cells", []):
        meta = (cell.get("metadata") or {}).get("nbgrader") or {}
        gid = meta.get("grade_id")
        if not gid:
            continue
        copies = by_id.get(gid, [])
        if len(copies) > 1:
            notes.append(f"cell {gid} appears {len(copies)} times (duplicate grade_id): only the last copy is graded")
        kinds = [k for k in ("grade", "solution", "task") if copies and k in meta
                 and bool(((copies[-1].get("metadata") or {}).get("nbgrader") or {}).get(k)) != bool(meta.get(k))]
        if kinds:
            flags.append(f"cell {gid}'s kind was edited ({', '.join(kinds)}): restored")
        if not meta.get("locked"):
            continue
        if not copies:
            notes.append(f"locked cell {gid} was deleted: restored")
        elif any(c.get("cell_type") != cell.get("cell_type") for c in copies):
            flags.append(f"locked cell {gid} was turned into {copies[-1].get('cell_type')}: restored")
        elif any(src(c) != src(cell) for c in copies):
            flags.append(f"locked cell {gid} was edited: restored")
    known = {((c.get("metadata") or {}).get("nbgrader") or {}).get("grade_id") for c in rel.get("cells", [])}
    for gid, copies in by_id.items():
        meta = ((copies[-1].get("metadata") or {}).get("nbgrader") or {})
        if gid not in known and isinstance(meta, dict) and any(meta.get(k) for k in ("grade", "solution", "task", "locked")):
            notes.append(f"cell {sanitize_line(gid)} is not one of the assignment's (pasted from another assignment or "
                         "version?): graded as a plain cell, for no points")
    return flags, notes


def precheck(ctx, job: Job, result: JobResult) -> str | None:
    """Checks before a sandbox is started; a reason when the submission cannot be graded."""
    expected = list(job.graded) if job.graded is not None else list(ctx.notebooks)
    present = [n for n in expected if n in job.notebooks]
    missing = [f"{n}.ipynb" for n in expected if n not in job.notebooks]
    if missing and present:
        result.note("missing notebook: " + ", ".join(missing))
    if not present:
        return "missing notebook " + ", ".join(missing)
    if job.problem:
        return job.problem
    late = timestamp_problem(job.timestamp)
    if late:
        return late
    for name in present:
        nb = nbcheck.read_notebook(f"{name}.ipynb", job.notebooks[name])
        if isinstance(nb, str):
            return nb
        # nbgrader runs the kernel its gradebook recorded for the notebook (OverwriteKernelspec), or
        # the submission's where it recorded none
        spec = (getattr(ctx, "kernelspecs", None) or {}).get(name)
        other = assignment.kernel_problem(f"{name}.ipynb", {"metadata": {"kernelspec": spec}} if spec else nb)
        if other:
            return other
        released = diagnostics_reference(ctx, name)
        if released:
            flags, notes = tamper_notes(nb, released)
            for f in flags:
                result.flag(f)
            for n in notes:
                result.note(n)
        for hit in integrity.suspicious(nb, list(ctx.grading.suspicious_code_patterns), ctx.released_sources):
            result.flag(f"suspicious code in {name}.ipynb: {hit}")
    return None


def gradebook_cells(cells: list[tuple], nbgrader_config: dict | None = None) -> dict:
    """The gradebook's source cells (grade_id, cell type, source, locked, and the kinds nbgrader records it
    as: "grade", "solution", "task") as a notebook for
    :func:`tamper_notes`, as students received them: nbgrader records a cell before it removes its
    hidden tests (SaveCells runs before ClearHiddenTests), so they are removed here with nbgrader's
    own ClearHiddenTests and the course's delimiters."""
    from nbformat.notebooknode import from_dict
    from nbgrader.preprocessors import ClearHiddenTests
    from traitlets.config import Config
    clear = ClearHiddenTests(config=Config({"ClearHiddenTests": dict((nbgrader_config or {}).get("ClearHiddenTests", {}))}))
    out = []
    for gid, kind, source, locked, *kinds in cells:
        meta = {"grade_id": gid, "locked": locked}
        if kinds:
            meta.update({k: k in kinds[0] for k in ("grade", "solution", "task")})
        cell = from_dict({"cell_type": kind, "source": source, "metadata": {"nbgrader": meta}})
        try:
            clear._remove_hidden_test_region(cell)
        except RuntimeError:          # unbalanced markers: nbgrader refused them when it generated the assignment
            pass
        out.append(dict(cell))
    return {"cells": out}


def timestamp_problem(timestamp: str | None) -> str | None:
    """Why nbgrader cannot read a submission's timestamp.txt (it fails the submission with
    "'CourseDirectory' object has no attribute 'fail'"), or None."""
    if not timestamp:
        return None
    from nbgrader.utils import parse_utc
    try:
        parse_utc(timestamp)
    except Exception:
        return (f"timestamp.txt holds {sanitize_line(timestamp)!r}, not a date and time nbgrader can read "
                "(e.g. 2024-05-01 14:30:00 UTC): correct or remove it")
    return None


def sanitize_line(text: str) -> str:
    from coursekit.grading.sanitize import one_line
    return one_line(text, 80)


def diagnostics_reference(ctx, name: str):
    """What a submitted notebook's locked cells are compared with: the gradebook's cells where the
    run has them (as nbgrader compares), else the released student version."""
    cells = (getattr(ctx, "source_cells", None) or {}).get(name)
    return gradebook_cells(cells, getattr(ctx, "nbgrader_config", None)) if cells else ctx.released.get(name)


def memory_error_note(ctx, cgroup: bool) -> str:
    """What a MemoryError raised in a cell means under this run's limits."""
    if ctx.isolation.limiter.kind == "rlimit" or not cgroup:
        return (f"MemoryError: the kernel's address space is limited to {ctx.sandbox.address_space_mb} MiB "
                "(KitSandbox.address_space_mb)")
    return (f"MemoryError: an allocation larger than the machine can give (the submission may use "
            f"{ctx.isolation.limiter.memory_mb} MiB, KitSandbox.memory_limit_mb)")


def memory_reason(ctx, cell) -> str:
    where = f" during {cell}" if cell else ""
    limiter = ctx.isolation.limiter
    if limiter.kind == "rlimit":
        return (f"stopped{where}: it reached the {ctx.sandbox.address_space_mb} MiB address-space limit "
                "(KitSandbox.address_space_mb)")
    return f"stopped{where}: it used more than the {limiter.memory_mb} MiB memory limit (KitSandbox.memory_limit_mb)"


def _cell_words(execution) -> str | None:
    if not isinstance(execution, dict) or not isinstance(execution.get("cell"), list):
        return None
    position, gid = (execution["cell"] + [None, None])[:2]
    if not isinstance(position, int):
        return None
    return f"cell {position}" + (f" ({gid})" if isinstance(gid, str) and re.match(r"^[\w.-]{1,80}$", gid) else "")


def _exit_words(code) -> str:
    if not isinstance(code, int):
        return "ended"
    signum = -code if code < 0 else code - 128 if code > 128 else None
    if signum:
        try:
            name = signal.Signals(signum).name
        except ValueError:
            name = f"signal {signum}"
        return f"was killed ({name})" if signum == 9 else f"crashed ({name})"
    return f"exited with code {code} (os._exit, sys.exit in a thread, or a crash)"


def failure_reason(ctx, data: dict, oom: int, pids_hit: int = 0) -> str:
    """A one-line reason from the driver's report of a submission nbgrader could not grade."""
    execution = data.get("execution") if isinstance(data.get("execution"), dict) else {}
    cell = _cell_words(execution)
    log = data.get("log") if isinstance(data.get("log"), list) else []
    text = "\n".join(str(r.get("message", "")) for r in log if isinstance(r, dict))
    failure = data.get("failure") if isinstance(data.get("failure"), dict) else {}
    exc = str(failure.get("exception", ""))
    if oom:
        return memory_reason(ctx, cell)
    if pids_hit:
        return (f"stopped" + (f" during {cell}" if cell else "") + f": it reached the {ctx.sandbox.max_processes}-"
                "process limit (KitSandbox.max_processes)")
    if "DeadKernelError" in text or "Kernel died" in text or "DeadKernelError" in exc:
        code = execution.get("kernel_exit")
        if ctx.isolation.limiter.kind == "rlimit" and ("MemoryError" in text or code in (137, -9)):
            return memory_reason(ctx, cell) + " (or the kernel was killed)"
        return f"the kernel {_exit_words(code)}" + (f" during {cell}" if cell else "")
    if "CellTimeoutError" in text or "unresponsive" in text or "Kernel didn't respond" in text \
            or "TimeoutError" in exc:
        return (f"{cell or 'a cell'} ran past the {ctx.cell_timeout:g} s cell time limit "
                "(ExecutePreprocessor.timeout) and could not be interrupted")
    if "grader error" in exc:
        return exc.splitlines()[-1][:300] if exc.strip() else "grader error"
    last = ""
    for line in text.splitlines():
        line = line.strip()
        if re.match(r"^[\w.]*(Error|Exception|Interrupt)\b", line) and "NbGraderException" not in line:
            last = line
    return "nbgrader could not grade it: " + (last or exc or "no reason given")[-300:]


def no_result_reason(ctx, ended: str, oom: int, detail: str) -> str:
    if oom:
        return memory_reason(ctx, None)
    return f"grader error: no result came back ({ended or 'the job ended'}; {detail[:120]})"


MAX_ERROR_NAMES = 100     # distinct error names kept per notebook (the report shows 8)


def cell_errors(notebooks: dict[str, NotebookResult]) -> dict[str, list[str]]:
    """Distinct error names raised by cells of each executed notebook (for the report)."""
    out = {}
    for name, nb in notebooks.items():
        if not nb.executed:
            continue
        try:
            data = json.loads(nb.executed)
        except ValueError:
            continue
        names: dict[str, None] = {}       # (a dict: a list's 'not in' made this quadratic in the outputs)
        for cell in data.get("cells", []):
            for o in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
                if o.get("output_type") == "error" and len(names) < MAX_ERROR_NAMES:
                    names.setdefault(str(o.get("ename")), None)
        if names:
            out[name] = list(names)
    return out
