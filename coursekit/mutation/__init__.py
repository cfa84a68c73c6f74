"""Mutation testing of the exercises' tests: every plausible wrong answer must lose points.

    python -m coursekit.mutation [TOPIC ...] [--max-per-exercise K] [--json] [--timeout S]
    python -m coursekit mutate ...            (the same; `make mutate [TOPICS=...]`)

For each topic, mutants of each exercise's solution (only the code between ``### BEGIN SOLUTION``
and ``### END SOLUTION``; operators in generator.py) run against that exercise's graded test cells,
hidden tests included, in one kernel per notebook (runner.py). The report (report.py) goes to
artifacts/mutation/<topic>.json and .txt: per exercise the mutants generated, run, killed, survived
and equivalent (reviewed in tests/mutation_equivalents.yaml), and every survivor with its diff.
The exit status is 1 when a non-equivalent mutant survives or a real solution fails its tests.
"""
from __future__ import annotations

from .cli import main  # noqa: F401
from .generator import OPERATORS, Mutant, generate, sample  # noqa: F401
