"""Correct work keeps its points under the defaults: the instructor's solution of every topic,
submitted as a student, gets full marks through the real grader with the default settings (limits,
isolation, the judge), without being flagged; the untouched student version gets 0.

This is the course's round trip through real nbgrader (generate_assignment, submit, nbgrader's own
Autograde converter, the gradebook). Plain `nbgrader autograde` without the kit is compared with it
by the fault suite (tests/grading/test_faults.py, a class of 01 submissions, identical scores), and
nbval runs every solution's test cells in a plain kernel, where the judge runs them while grading."""
from __future__ import annotations

import sys

import pytest

from coursekit import notebook, synth
from coursekit.config import KitSandbox
from coursekit.grading.pipeline import Options, grade
from coursekit.paths import ROOT, topics

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("topic", topics())
def test_solution_gets_full_marks_and_the_student_version_zero(topic, tmp_path):
    course = synth.make_course(tmp_path / "course", topic)
    nb = f"{topic}.ipynb"
    right = synth.correct_answers(ROOT / "solutions" / topic / nb)
    synth.submit(course, topic, "solution", {nb: synth.make_submission(course / "notebooks" / topic / nb, right)})
    synth.submit(course, topic, "untouched", {nb: (course / "notebooks" / topic / nb).read_bytes()})
    # one slot: its second kernel is forked from the zygote the first one paid for
    summary = grade(Options(topic=topic, root=course, workers=1, progress=False, feedback=False))
    total = notebook.total_points(ROOT / "solutions" / topic / nb)
    assert not summary.failed, summary.failed
    assert summary.scores == {"solution": (total, total), "untouched": (0.0, total)}, summary.text()
    assert not summary.flagged, summary.flagged
    assert_default_isolation(summary.isolation)


def assert_default_isolation(isolation: str) -> None:
    """The run was under the defaults the module's docstring claims, not a fallback: isolated with bubblewrap
    (on Linux), with the default limits, and (with a cgroup) with every kernel forked warm."""
    sandbox = KitSandbox()
    if sys.platform.startswith("linux"):
        assert isolation.startswith("bubblewrap:") and "NO isolation" not in isolation, isolation
    if "a cgroup" in isolation:
        assert f"{sandbox.memory_limit_mb} MiB of memory and {sandbox.max_processes} processes" in isolation, isolation
        assert "kernels forked warm" in isolation and "started cold" not in isolation, isolation
    else:
        assert "rlimits" in isolation, isolation
