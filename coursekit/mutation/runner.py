"""Run the mutants of every exercise of one topic against that exercise's graded test cells.

One kernel (nbclient) runs the solution notebook top to bottom, exactly like the wrong-answer
harness (tests/content/test_exercises.py). When it reaches an exercise's solution cell it

1. records the kernel's state (kernel_guard.snapshot),
2. runs the real solution and the exercise's graded test cells, hidden tests included, as nbgrader
   runs them (the solution notebook's test cells *are* the graded source), and times them: the
   baseline, which must pass, and the yardstick for the per-mutant timeout,
3. for each mutant: runs the mutant solution cell, then the test cells until one fails; the mutant
   is KILLED when the mutant cell or any test cell raises (or runs past the timeout, or kills the
   kernel), SURVIVED otherwise; after each, kernel_guard.restore puts the kernel back,
4. and then carries on with the real notebook (the real solution cell, its test cells, the
   lecture cells), so later exercises meet the state the notebook was written for.

A mutant that runs past the timeout, or kills the kernel, is killed; the kernel is then replaced by a
fresh one that re-runs the real notebook up to the current exercise (not merely interrupted: an
interrupted kernel was seen to answer every later cell only after nbclient's 4 s IOPub timeout).
"""
from __future__ import annotations

import copy
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

from .generator import Mutant, generate, sample

try:                                    # the kit's one notebook model, when this checkout has it
    from coursekit.notebook import exercises as _exercises
except ImportError:                     # pragma: no cover - only before coursekit.notebook existed
    _exercises = None

GUARD_SOURCE = (Path(__file__).with_name("kernel_guard.py")).read_text()
GUARD_NAME = "__coursekit_mutation__"


# ------------------------------------------------------------------------------------------
# Results
# ------------------------------------------------------------------------------------------
@dataclass
class MutantResult:
    id: str
    operator: str
    description: str
    line: int
    status: str = "pending"            # killed | survived (equivalence is decided by the report)
    killed_by: str | None = None       # "mutant cell", a test cell's grade_id, "timeout", "kernel died"
    error: str | None = None           # the error's last line
    seconds: float = 0.0
    repaired: list[str] = field(default_factory=list)   # state the guard had to put back afterwards


@dataclass
class ExerciseResult:
    grade_id: str
    solution_index: int
    tests: list[str]
    generated: int = 0
    sampled: int = 0
    baseline_passed: bool | None = None
    baseline_error: str | None = None
    baseline_seconds: float = 0.0
    timeout: float = 0.0
    seconds: float = 0.0
    mutants: list[MutantResult] = field(default_factory=list)
    source: str = ""                   # the solution cell (diffs are made against it)
    all_mutants: dict[str, Mutant] = field(default_factory=dict, repr=False)


@dataclass
class TopicResult:
    topic: str
    notebook: str
    max_per_exercise: int | None
    min_timeout: float
    seconds: float = 0.0
    restarts: int = 0
    errors: list[str] = field(default_factory=list)
    exercises: list[ExerciseResult] = field(default_factory=list)


# ------------------------------------------------------------------------------------------
# Exercises of a notebook
# ------------------------------------------------------------------------------------------
@dataclass
class _Exercise:
    grade_id: str
    solution_index: int
    test_indices: list[int]
    tests: list[str]


def find_exercises(nb) -> list[_Exercise]:
    """Each answer cell and the graded test cells after it (coursekit.notebook's model when present)."""
    if _exercises is not None:
        return [_Exercise(ex.grade_id, ex.solution_index, list(ex.test_indices), list(ex.tests))
                for ex in _exercises(nb)]
    found: list[_Exercise] = []       # pragma: no cover - fallback, same rule as coursekit.notebook
    for i, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("nbgrader", {}) or {}
        if cell.cell_type != "code":
            continue
        if meta.get("solution") and not meta.get("grade"):
            found.append(_Exercise(meta["grade_id"], i, [], []))
        elif meta.get("grade") and not meta.get("solution") and found:
            found[-1].test_indices.append(i)
            found[-1].tests.append(meta.get("grade_id"))
    return found


# ------------------------------------------------------------------------------------------
# The kernel
# ------------------------------------------------------------------------------------------
class _KernelGone(Exception):
    """The kernel died, or a cell ran past its timeout: the kernel has to be replaced."""

    def __init__(self, message: str, timeout: bool = False):
        super().__init__(message)
        self.timeout = timeout


def _error_line(err: CellExecutionError) -> str:
    ename, evalue = getattr(err, "ename", None), getattr(err, "evalue", None)
    if ename:
        text = f"{ename}: {evalue}".strip()
    else:
        lines = [line for line in str(err).strip().splitlines() if line.strip()]
        text = lines[-1] if lines else "error"
    text = " ".join(text.split())
    return text if len(text) <= 300 else text[:297] + "..."


class Kernel:
    """One nbclient kernel running one notebook's cells, one at a time, with a timeout each."""

    def __init__(self, nb, path: Path, timeout: float):
        self.nb = copy.deepcopy(nb)
        self.scratch = len(self.nb.cells)          # where the runner's own code cells run
        self.nb.cells.append(nbformat.v4.new_code_cell(""))
        self.path = path
        self.default_timeout = timeout
        self.client: NotebookClient | None = None
        self._context = None

    def start(self):
        self.client = NotebookClient(self.nb, timeout=int(self.default_timeout), kernel_name="python3",
                                     shutdown_kernel="immediate",
                                     resources={"metadata": {"path": str(self.path.parent)}})
        self._context = self.client.setup_kernel()
        self._context.__enter__()
        self.run_code(f"__coursekit_g = {{}}\nexec(compile({GUARD_SOURCE!r}, 'coursekit-mutation-guard', 'exec'), "
                      f"__coursekit_g)\n__coursekit_make_guard = __coursekit_g['make_guard']\n"
                      f"del __coursekit_g", timeout=60)

    def stop(self):
        if self._context is not None:
            try:
                self._context.__exit__(None, None, None)
            except Exception:
                pass
        self._context = None
        self.client = None

    def run(self, cell, index: int, timeout: float | None = None) -> tuple[str | None, list]:
        """Execute a copy of ``cell`` at position ``index``: (None or the error's last line, outputs).

        _KernelGone when the kernel dies or the cell runs past ``timeout``.
        """
        assert self.client is not None
        cell = copy.deepcopy(cell)
        cell.outputs = []
        self.client.timeout = int(timeout or self.default_timeout)
        try:
            self.client.execute_cell(cell, index)
        except CellExecutionError as err:
            return _error_line(err), cell.outputs
        except CellTimeoutError:
            # Replaced rather than interrupted: after an interrupt the kernel was seen to answer every
            # later cell only after nbclient's IOPub timeout (4 s each), and a fresh kernel is clean.
            raise _KernelGone("timeout", timeout=True) from None
        except DeadKernelError as err:
            raise _KernelGone(str(err)) from None
        finally:
            self.client.timeout = int(self.default_timeout)
        return None, cell.outputs

    def run_code(self, source: str, timeout: float = 60) -> list:
        cell = nbformat.v4.new_code_cell(source)
        err, outputs = self.run(cell, self.scratch, timeout)
        if err is not None:
            raise RuntimeError(f"the mutation runner's own code failed in the kernel: {err}")
        return outputs

    def guard(self, method: str) -> list[str]:
        """``snapshot`` (a new guard over the namespace as it is now) or ``restore``; what was repaired."""
        make = f"{GUARD_NAME} = __coursekit_make_guard(get_ipython().user_ns)\n" if method == "snapshot" else ""
        outputs = self.run_code(f"import json as __coursekit_json\n{make}"
                                f"print(__coursekit_json.dumps({GUARD_NAME}.{method}()))", timeout=120)
        text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
        try:
            value = json.loads(text.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return []
        return value if isinstance(value, list) else []


# ------------------------------------------------------------------------------------------
# The run
# ------------------------------------------------------------------------------------------
def _with_source(cell, source: str):
    new = copy.deepcopy(cell)
    new.source = source
    new.outputs = []
    return new


def run_topic(topic: str, notebook: Path, *, max_per_exercise: int | None = 40, min_timeout: float = 30.0,
              timeout_factor: float = 5.0, only: set[str] | None = None, always: dict[str, set[str]] | None = None,
              progress=None) -> TopicResult:
    """Mutation-test every exercise of one notebook (see the module docstring).

    ``max_per_exercise``: the sample size per exercise (None or 0: every mutant); ``always``: per
    grade_id, mutant ids run whether sampled or not (the reviewed equivalents); ``only``: grade_ids
    to test (the others' real solutions still run). The per-cell timeout of a mutant is the larger
    of ``min_timeout`` and ``timeout_factor`` times the baseline's total time.
    """
    say = progress or (lambda message: None)
    nb = nbformat.read(str(notebook), as_version=4)
    originals = copy.deepcopy(nb.cells)
    found = {ex.solution_index: ex for ex in find_exercises(nb)}
    try:
        shown = str(Path(notebook).resolve().relative_to(Path.cwd()))
    except ValueError:
        shown = str(notebook)
    result = TopicResult(topic, shown, max_per_exercise, min_timeout)
    always = always or {}
    started = time.perf_counter()

    # per exercise: its result, its mutants still to run
    plans: dict[int, tuple[ExerciseResult, list[Mutant]]] = {}
    for index, ex in found.items():
        source = originals[index].source
        every = generate(source)
        chosen = sample(every, max_per_exercise)
        extra = [m for m in every if m.id in always.get(ex.grade_id, set()) and m not in chosen]
        chosen = [m for m in every if m in chosen or m in extra]
        exr = ExerciseResult(ex.grade_id, index, ex.tests, generated=len(every), sampled=len(chosen),
                             source=source, all_mutants={m.id: m for m in every})
        result.exercises.append(exr)
        if only is not None and ex.grade_id not in only:
            exr.sampled = 0
            chosen = []
        plans[index] = (exr, list(chosen))

    kernel_timeout = 600.0
    position = 0                         # next cell of the real notebook to run
    kernel: Kernel | None = None

    def replay(upto: int):
        for i in range(upto):
            if originals[i].cell_type == "code":
                err, _ = kernel.run(originals[i], i)
                if err is not None:
                    raise RuntimeError(f"cell {i} failed while re-running the notebook after a restart: {err}")

    try:
        while position < len(originals):
            if kernel is None:
                kernel = Kernel(nb, notebook, kernel_timeout)
                kernel.start()
                if position:
                    result.restarts += 1
                    say(f"  kernel restarted; re-running cells 0-{position - 1}")
                    replay(position)
            try:
                index = position
                cell = originals[index]
                if index in plans:
                    _exercise(kernel, index, found[index], plans[index], originals, min_timeout, timeout_factor, say)
                if cell.cell_type == "code":
                    err, _ = kernel.run(cell, index)
                    if err is not None:
                        ex = next((e for e in found.values() if index in e.test_indices), None)
                        if ex is not None:
                            exr = plans[ex.solution_index][0]
                            exr.baseline_passed = False
                            exr.baseline_error = exr.baseline_error or f"test cell {index}: {err}"
                        result.errors.append(f"cell {index} of the solution notebook failed: {err}")
                        if ex is None:
                            break            # a lecture cell failed: later cells cannot be trusted
                position = index + 1
            except _KernelGone as gone:
                say(f"  kernel gone at cell {position}: {gone}")
                kernel.stop()
                kernel = None
                if result.restarts >= 20:
                    result.errors.append("the kernel died more than 20 times; giving up")
                    break
    except RuntimeError as err:
        result.errors.append(str(err))
    finally:
        if kernel is not None:
            kernel.stop()
    result.seconds = round(time.perf_counter() - started, 1)
    return result


def _exercise(kernel: Kernel, index: int, ex: _Exercise, plan, originals, min_timeout, timeout_factor, say):
    """Baseline and mutants of one exercise; mutants already done (before a restart) are skipped."""
    exr, pending = plan
    if not pending and exr.baseline_passed is not None:
        return
    started = time.perf_counter()
    kernel.guard("snapshot")
    if exr.baseline_passed is None:
        t0 = time.perf_counter()
        error = None
        for i in [index, *ex.test_indices]:
            try:
                err, _ = kernel.run(originals[i], i)
            except _KernelGone as gone:
                exr.baseline_passed = False
                exr.baseline_error = f"{'solution cell' if i == index else f'test cell {i}'}: {gone}"
                exr.timeout = min_timeout
                raise
            if err is not None:
                error = f"{'solution cell' if i == index else f'test cell {i}'}: {err}"
                break
        exr.baseline_seconds = round(time.perf_counter() - t0, 2)
        exr.baseline_passed = error is None
        exr.baseline_error = error
        exr.timeout = round(max(min_timeout, timeout_factor * exr.baseline_seconds), 1)
        kernel.guard("restore")
        say(f"  {ex.grade_id}: baseline {'passed' if error is None else 'FAILED: ' + error} "
            f"({exr.baseline_seconds:.1f} s); {len(pending)} of {exr.generated} mutants")
    while pending:
        mutant = pending[0]
        res = MutantResult(mutant.id, mutant.operator, mutant.description, mutant.line)
        t0 = time.perf_counter()
        try:
            err, _ = kernel.run(_with_source(originals[index], mutant.source), index, exr.timeout)
            if err is not None:
                res.status, res.killed_by, res.error = "killed", "mutant cell", err
            else:
                for i, grade in zip(ex.test_indices, ex.tests):
                    err, _ = kernel.run(originals[i], i, exr.timeout)
                    if err is not None:
                        res.status, res.killed_by, res.error = "killed", grade or f"cell {i}", err
                        break
                else:
                    res.status = "survived"
            res.seconds = round(time.perf_counter() - t0, 2)
            res.repaired = kernel.guard("restore")
        except _KernelGone as gone:
            if gone.timeout:
                res.status, res.killed_by = "killed", "timeout"
                res.error = f"a cell ran longer than {exr.timeout:.0f} s (the kernel was replaced)"
            else:
                res.status, res.killed_by, res.error = "killed", "kernel died", str(gone)
            res.seconds = round(time.perf_counter() - t0, 2)
            exr.mutants.append(res)
            pending.pop(0)
            exr.seconds += time.perf_counter() - started
            raise
        exr.mutants.append(res)
        pending.pop(0)
    exr.seconds = round(exr.seconds + time.perf_counter() - started, 1)


def result_dict(result: TopicResult) -> dict:
    data = asdict(result)
    for ex in data["exercises"]:
        ex.pop("all_mutants", None)
    return data
