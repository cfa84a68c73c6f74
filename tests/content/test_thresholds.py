"""Graded thresholds on trained results hold with margin, whatever the seed and the CPU.

A graded test that compares a trained result with a threshold (06: validation MSE below 1.5; 08: test
accuracy of at least 0.90; ...) must not fail a correct answer because the grading machine rounds
differently. So the instructor's solution has to clear each threshold by a stated margin, for five
seeds: the seed stands in for the other CPUs, whose rounding sends training along another path of
the same kind. `make test-numerics` runs this test under the other numeric settings too.

One kernel runs the solution notebook up to the exercise; then, per seed, the answer cell and the
exercise's graded test cells (hidden tests included) run with that seed, and the statistics the
test cells compare are read back from the kernel.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest
from nbclient import NotebookClient

from coursekit import notebook
from coursekit.paths import solution_notebook

SEEDS = range(5)
HIDDEN = "### BEGIN HIDDEN TESTS"


@dataclass
class Stat:
    expr: str          # evaluated in the kernel after the visible (or hidden) part of the test cell
    op: str            # "<" or ">="
    limit: float       # what the graded test requires
    required: float    # what the instructor's solution must reach: the limit plus the stated margin
    cell: str          # text of the graded test cell that computes it
    hidden: bool = False


@dataclass
class Threshold:
    topic: str
    answer_contains: str                         # identifies the exercise by its answer cell
    stats: list[Stat]
    seed_in_answer: tuple[str, str] | None = None   # (old, new with {seed}) replaced in the answer cell
    seed_in_tests: list[tuple[str, str]] = field(default_factory=list)
    prelude: str = ""                            # run before the answer cell, with {seed}


THRESHOLDS = [
    Threshold(
        "05_training_loops", "model3 = nn.Linear(3, 1)",
        seed_in_answer=("set_seed(0)", "set_seed({seed})"),
        stats=[Stat("float((pred.detach().cpu().reshape(-1) - torch.tensor(reference.predict(X_c), dtype=torch.float32)).abs().max())", "<", 1.0, 0.5,
                    "reference = LinearRegression()"),
               Stat("float((pred.detach().cpu().reshape(-1) - torch.tensor(reference.predict(X_new), dtype=torch.float32)).abs().max())", "<", 1.5, 0.75,
                    "reference = LinearRegression()", hidden=True)]),
    Threshold(
        "06_nonlinear_regression", "def fit_best(",
        prelude=("import functools\n_train_mlp_original = globals().get('_train_mlp_original', train_mlp)\n"
                 "train_mlp = functools.partial(_train_mlp_original, seed={seed})"),
        stats=[Stat("_val_mse", "<", 1.5, 1.3, "_val_mse"), Stat("_err", "<", 2.0, 1.0, "_err", hidden=True),
               Stat("_new_mse", "<", 0.06, 0.04, "_new_mse", hidden=True)]),
    Threshold(
        "07_classification", "def train_and_evaluate(",
        seed_in_tests=[("set_seed(0)", "set_seed({seed})"), ("set_seed(1)", "set_seed({seed} + 1)")],
        stats=[Stat("history['train_loss'][-1] / history['train_loss'][0]", "<", 0.5, 0.4, "train_and_evaluate("),
               Stat("history['train_loss'][-1] / history['train_loss'][0]", "<", 0.8, 0.6, "train_and_evaluate(",
                    hidden=True)]),
    Threshold(
        "08_mnist", "def build_better_model(",
        seed_in_tests=[("set_seed(0)", "set_seed({seed})")],
        stats=[Stat("test_acc", ">=", 0.90, 0.91, "test_acc")]),
]


def _exercise(nb, contains: str):
    found = [ex for ex in notebook.exercises(nb) if contains in ex.source]
    assert len(found) == 1, f"{len(found)} exercises have an answer cell containing {contains!r}"
    return found[0]


def _run(client, nb, index, source):
    cell = notebook.with_source(nb.cells[index], source)
    client.execute_cell(cell, index)
    return cell


def _values(client, nb, index, stats) -> list[float]:
    if not stats:
        return []
    probe = "import json as _json\nprint(_json.dumps([" + ", ".join(f"float({s.expr})" for s in stats) + "]))"
    cell = _run(client, nb, index, probe)
    text = "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stdout")
    return json.loads(text.strip().splitlines()[-1])


def _meets(value: float, op: str, bound: float) -> bool:
    return value < bound if op == "<" else value >= bound


@pytest.mark.slow
@pytest.mark.parametrize("spec", THRESHOLDS, ids=lambda s: s.topic)
def test_graded_thresholds_are_met_with_margin_for_every_seed(spec: Threshold):
    path = solution_notebook(spec.topic)
    nb = notebook.read(path)
    ex = _exercise(nb, spec.answer_contains)
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    rows, problems = [], []
    # nbclient stores each executed cell back into the notebook: keep the test cells' own sources.
    tests = {t: nb.cells[t].source for t in ex.test_indices}
    with client.setup_kernel():
        for index in range(ex.solution_index):
            if nb.cells[index].cell_type == "code":
                client.execute_cell(nb.cells[index], index)
        for seed in SEEDS:
            if spec.prelude:
                _run(client, nb, ex.solution_index, spec.prelude.format(seed=seed))
            answer = ex.source
            if spec.seed_in_answer:
                old, new = spec.seed_in_answer
                assert old in answer, f"{old!r} not in the answer cell of {spec.topic}"
                answer = answer.replace(old, new.format(seed=seed))
            _run(client, nb, ex.solution_index, answer)
            values, ordered = [], []
            for t in ex.test_indices:
                source = tests[t]
                for old, new in spec.seed_in_tests:
                    source = source.replace(old, new.format(seed=seed))
                visible, _, hidden = source.partition(HIDDEN)
                here = [s for s in spec.stats if s.cell in tests[t] and not any(s is o for o in ordered)]
                _run(client, nb, t, visible)
                values += _values(client, nb, t, [s for s in here if not s.hidden])
                if hidden:
                    _run(client, nb, t, visible + HIDDEN + hidden)
                    values += _values(client, nb, t, [s for s in here if s.hidden])
                ordered += [s for s in here if not s.hidden] + [s for s in here if s.hidden]
            assert len(ordered) == len(spec.stats), f"{spec.topic}: a statistic's test cell was not found"
            rows.append((seed, values))
            for stat, value in zip(ordered, values):
                if not _meets(value, stat.op, stat.required):
                    problems.append(f"seed {seed}: {stat.expr} = {value:.4g}, the graded test needs {stat.op} {stat.limit} "
                                    f"and the solution must reach {stat.op} {stat.required} (the margin)")
    report = "\n".join(f"  seed {seed}: " + ", ".join(f"{v:.4g}" for v in values) for seed, values in rows)
    print(f"{spec.topic} {[s.expr for s in spec.stats]}\n{report}")
    assert not problems, f"{spec.topic}: the instructor's solution does not clear the threshold with margin:\n  " + \
        "\n  ".join(problems) + f"\nall seeds:\n{report}"
