"""Every exercise's tests kill every non-equivalent mutant of its solution (coursekit.mutation).

The slow test runs, per topic, one kernel over the solution notebook and, at each exercise, mutants
of the solution followed by the exercise's graded test cells (hidden tests included). It fails when
a mutant survives that tests/mutation_equivalents.yaml does not list as equivalent, when a listed
equivalent is killed (the tests reject a right answer, or the entry is wrong), or when a real
solution fails its own tests.

It runs every mutant (about 5.5 CPU-minutes for the eight topics), so that CI proves every exercise;
COURSEKIT_MUTATION_SAMPLE=N runs a deterministic sample of N mutants per exercise instead, spread over
the operators, for a quicker local run. `make mutate` writes the full report to artifacts/mutation/.
The fast tests check the reviewed equivalents file itself.
"""
from __future__ import annotations

import os

import pytest

from coursekit.mutation.generator import generate
from coursekit.mutation.report import EQUIVALENTS_FILE, load_equivalents, summarise, text_report, write_reports
from coursekit.mutation.runner import run_topic
from coursekit.notebook import exercises, read
from coursekit.paths import ROOT, assignments, is_topic, not_a_topic, solution_notebook, topics

SAMPLE = int(os.environ.get("COURSEKIT_MUTATION_SAMPLE", "0"))


def _equivalents():
    return load_equivalents(ROOT / EQUIVALENTS_FILE)


def test_equivalents_file_is_reviewed_and_current():
    """Every entry has a reason (load_equivalents checks) and names a mutant generated today."""
    equivalents = _equivalents()
    problems = []
    for topic, by_exercise in equivalents.items():
        if topic not in topics():
            problems.append(f"{topic}: no such topic")
            continue
        found = {ex.grade_id: ex for ex in exercises(read(solution_notebook(topic)))}
        for grade_id, entries in by_exercise.items():
            if grade_id not in found:
                problems.append(f"{topic}/{grade_id}: no such exercise")
                continue
            ids = {m.id for m in generate(found[grade_id].source)}
            for mutant_id in entries:
                if str(mutant_id) not in ids:
                    problems.append(f"{topic}/{grade_id}/{mutant_id}: no such mutant any more (stale entry; the "
                                    f"solution changed: re-review it with `python -m coursekit.mutation {topic} "
                                    f"--list`)")
    assert not problems, f"{EQUIVALENTS_FILE}:\n  " + "\n  ".join(problems)


@pytest.mark.slow
@pytest.mark.parametrize("topic", assignments())
def test_every_non_equivalent_mutant_is_killed(topic):
    if not is_topic(topic):
        pytest.skip(not_a_topic(topic) + "; mutation testing runs on the course's topics")
    equivalents = _equivalents()
    listed = {g: {str(i) for i in ids} for g, ids in (equivalents.get(topic) or {}).items()}
    result = run_topic(topic, solution_notebook(topic), max_per_exercise=SAMPLE or None, always=listed)
    data = summarise(result, equivalents)
    write_reports(data, ROOT / "artifacts" / "mutation" / "pytest")
    assert not data["problems"], text_report(data)
