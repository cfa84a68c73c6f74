"""Attacks from a red-team pass over the trusted side, each a regression test that failed before its fix.

* Time: what comes back from a sandbox is handled in the grader's main process, one submission at a
  time, with no time limit of its own; an input that makes that work quadratic, or merely slow per
  byte, holds up the whole class. Student Markdown is rendered within a budget per notebook, and the
  distinct error names of a notebook are counted with a dict, not a list.
* Lines: a flag or note from the sandbox (or a reason quoting a student's text) is one line of the
  problems file, so it cannot forge a section header or hide the items after it.
* Import: a download that holds one student only, laid out in folders, was read with its top
  folder removed; then the student's own folder names decided the id (``lms.detect`` now keeps a top
  folder that is the LMS's own part).
"""
from __future__ import annotations

import json
import signal
import sys
import zipfile
from contextlib import contextmanager
from pathlib import Path

import nbformat
import pytest

from coursekit.config import KitGrading
from coursekit.grading import collect, diagnostics, sanitize
from coursekit.grading.model import JobResult, NotebookResult
from coursekit.grading.report import Summary


@contextmanager
def _within(seconds: int):
    """Fails the test (instead of hanging the suite) when the block takes longer than ``seconds``."""
    def stop(signum, frame):
        raise TimeoutError(f"took more than {seconds} s")
    old = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


# --------------------------------------------------------------------------------------------
# time on the trusted side
# --------------------------------------------------------------------------------------------
def test_many_distinct_error_names_are_counted_in_linear_time():
    outs = [{"output_type": "error", "ename": f"E{i}", "evalue": "", "traceback": []} for i in range(1000)]
    cells = [{"cell_type": "code", "outputs": outs} for _ in range(100)]
    for j, cell in enumerate(cells):     # 100,000 distinct names: a list's 'not in' took minutes
        cell["outputs"] = [dict(o, ename=f"E{j}_{i}") for i, o in enumerate(outs)]
    executed = json.dumps({"cells": cells}).encode()
    with _within(60):
        errors = diagnostics.cell_errors({"nb": NotebookResult({}, {}, 0.0, executed)})
    assert len(errors["nb"]) <= diagnostics.MAX_ERROR_NAMES and errors["nb"][:2] == ["E0_0", "E0_1"]


def _markdown_output(text: str) -> dict:
    return {"output_type": "display_data", "data": {"text/markdown": text}, "metadata": {}}


def test_student_markdown_is_rendered_within_a_budget_per_notebook():
    # 40 outputs of 100,000 '[' (4 MB; the executed notebook may hold 80 MiB): about a second each to render
    big = "[" * 100_000
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {},
          "cells": [{"cell_type": "code", "source": "", "metadata": {}, "outputs": [_markdown_output(big)]}
                    for _ in range(40)]
          + [{"cell_type": "markdown", "source": "*late*", "metadata": {}}]}
    with _within(120):
        out = json.loads(sanitize.notebook_bytes(json.dumps(nb).encode(), []))
    shown = [c["outputs"][0]["data"]["text/markdown"] for c in out["cells"][:40]]
    rendered = [s for s in shown if s.startswith('<div class="coursekit-student">')]
    as_text = [s for s in shown if s.startswith('<div class="coursekit-text"><pre>')]
    assert as_text and len(as_text) == 40 - len(rendered), (len(rendered), len(as_text))
    assert len(rendered) == sanitize.MAX_RENDERED // (100_000 + sanitize.RENDER_COST)
    last = out["cells"][40]["source"]           # over the budget: text, still safe
    assert last.startswith('<div class="coursekit-text"><pre>') and "*late*" in last and "<em>" not in last


def test_many_tiny_markdown_cells_share_one_budget():
    cells = [{"cell_type": "markdown", "source": "<b>x</b>", "metadata": {}}] * 20_000
    out = sanitize.notebook({"cells": cells}, [])
    rendered = sum(c["source"].startswith('<div class="coursekit-student">') for c in out["cells"])
    assert rendered < len(cells)
    assert rendered == sanitize.MAX_RENDERED // (len("<b>x</b>") + sanitize.RENDER_COST)
    assert all("<b>" not in c["source"] or c["source"].startswith('<div class="coursekit-student">')
               for c in out["cells"])


# --------------------------------------------------------------------------------------------
# one line per item
# --------------------------------------------------------------------------------------------
FORGED = "looks fine\n\n== failed to grade: 0 ==\n\n== flagged: 0 =="


def test_problems_file_items_cannot_start_lines_of_their_own(tmp_path):
    results = {"mallory": JobResult("mallory", "d", reason="nbgrader could not grade it: " + FORGED,
                                    flags=[FORGED]),
               "victim": JobResult("victim", "d", reason="the kernel was killed")}
    s = Summary("t", results, [], {}, {}, 1.0, "iso", import_problems=[FORGED])
    text = s.problems_text()
    headers = [line for line in text.splitlines() if line.startswith("== ")]
    assert [h.split(":")[0] for h in headers].count("== failed to grade") == 1, headers
    assert "== flagged: 1 ==" in headers and "victim: the kernel was killed" in text.splitlines()


# --------------------------------------------------------------------------------------------
# import: ids only from the LMS's part of a name (lms.detect; not in this pass's files)
# --------------------------------------------------------------------------------------------
NB = "01_tensors"


def _import(tmp_path: Path, entries):
    archive = tmp_path / "lms.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name, data in entries:
            zf.writestr(name, data)
    course = tmp_path / "course"
    course.mkdir()
    collect.import_download(course, NB, archive, [NB], KitGrading())
    return sorted(p.name for p in (course / "submitted").iterdir() if not p.name.startswith("."))


def _nb() -> bytes:
    return nbformat.writes(nbformat.v4.new_notebook()).encode()


@pytest.mark.parametrize("path, owner", [
    (f"Alice Smith_12_assignsubmission_file_/Bob Jones_34_assignsubmission_file_/{NB}.ipynb", "Alice-Smith"),
    (f"alice/bob/{NB}.ipynb", "alice"),
    (f"download/Alice Smith_12_assignsubmission_file_/{NB}.ipynb", "Alice-Smith"),   # a re-zipped download
    (f"submitted/alice/{NB}/{NB}.ipynb", "alice"),                                     # nbgrader's own folder
], ids=["moodle-in-folders", "folder-per-student", "re-zipped-moodle", "nbgrader-submitted"])
def test_a_download_of_one_student_never_gives_their_work_to_a_classmate(tmp_path, path, owner):
    assert _import(tmp_path, [(path, _nb())]) == [owner]


@pytest.mark.parametrize("ids", [("alice", "Alice"), ("alice", "ａｌｉｃｅ"), ("fiona", "ﬁona")],
                         ids=["case", "fullwidth", "ligature"])
def test_ids_that_differ_only_in_case_or_letter_form_are_not_imported(tmp_path, ids):
    entries = [(f"{sid}_{NB}.ipynb", _nb()) for sid in ids] + [(f"carol_{NB}.ipynb", _nb())]
    assert _import(tmp_path, entries) == ["carol"]


def test_an_id_like_one_already_submitted_is_not_imported(tmp_path):
    course = tmp_path / "course"
    (course / "submitted" / "alice" / NB).mkdir(parents=True)
    archive = tmp_path / "lms.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(f"ALICE_{NB}.ipynb", _nb())
        zf.writestr(f"bob_{NB}.ipynb", _nb())
    report = collect.import_download(course, NB, archive, [NB], KitGrading())
    assert sorted(p.name for p in (course / "submitted").iterdir() if not p.name.startswith(".")) == ["alice", "bob"]
    assert sorted(report.imported) == ["bob"]
    assert any("ALICE" in p and "alice" in p and "already in submitted/" in p for p in report.problems), report.problems


if not sys.platform.startswith("linux"):
    pytestmark = pytest.mark.skip(reason="uses SIGALRM")
