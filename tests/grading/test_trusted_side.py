"""One submission only ever costs its own grade on the trusted side: a malformed notebook (nested too
deep, metadata of the wrong type ...) or an error of the grader's own while handling one submission
fails that submission with a one-line reason (its traceback goes to the problems file), and the
others are graded. After the run, grades.csv has a status column, `make grade` exits 1 when a
submission failed, every problem is written in full to grading_problems_<topic>.txt, and the
feedback step's worker pool ends without a SIGTERM traceback.

The fast tests attack each defence on its own; ``test_a_real_run_contains_malformed_notebooks``
grades 01_tensors through `python -m coursekit grade` with malformed and honest submissions.
The property-based fuzzing of the same code is test_trusted_fuzz.py.
"""
from __future__ import annotations

import copy
import csv
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

from coursekit import notebook, synth
from coursekit.grading import cli, diagnostics, export, pipeline, plan, worker
from coursekit.grading.model import Job, JobResult, NotebookResult
from coursekit.grading.report import Summary
from coursekit.paths import ROOT, tool_env

TOPIC = "01_tensors"
NB = f"{TOPIC}.ipynb"
SOURCE = ROOT / "solutions" / TOPIC / NB


def _released() -> dict:
    return json.loads(SOURCE.read_text())


def _deep(levels: int) -> str:
    return "[" * levels + "]" * levels


def _malformed() -> dict[str, tuple[bytes, str]]:
    """name -> (notebook bytes, words the reason must contain)."""
    good = _released()
    out = {}

    def changed(fn, words):
        nb = copy.deepcopy(good)
        fn(nb)
        return json.dumps(nb).encode(), words

    out["deep_1200"] = (('{"cells": [], "nbformat": 4, "metadata": {"x": ' + _deep(1200) + "}}").encode(),
                        "nested deeper than 100 levels")
    out["deep_150_in_a_cell"] = changed(lambda nb: nb["cells"][3]["metadata"].update(x=json.loads(_deep(150))),
                                        "nested deeper than 100 levels")
    out["nbgrader_string"] = changed(lambda nb: nb["cells"][27]["metadata"].update(nbgrader="x"),
                                     "cell 28: nbgrader metadata is a string, not an object")
    out["grade_id_number"] = changed(lambda nb: nb["cells"][27]["metadata"]["nbgrader"].update(grade_id=7),
                                     "cell 28: nbgrader grade_id is a number, not a string")
    out["points_string"] = changed(lambda nb: nb["cells"][27]["metadata"]["nbgrader"].update(points="2"),
                                   "nbgrader points is a string, not a number")
    out["cell_metadata_list"] = changed(lambda nb: nb["cells"][1].update(metadata=[]), "cell 2: its metadata is a list")
    out["kernelspec_string"] = changed(lambda nb: nb["metadata"].update(kernelspec="python3"),
                                       "kernelspec is a string, not an object")
    out["language_info_name"] = changed(lambda nb: nb["metadata"].update(language_info={"name": 3}),
                                        "language_info.name is a number")
    out["cell_id_number"] = changed(lambda nb: nb["cells"][0].update(id=5), "cell 1: its id is a number")
    out["source_number"] = changed(lambda nb: nb["cells"][0].update(source=5), "cell 1: its source is a number")
    out["output_string"] = changed(lambda nb: nb["cells"][1].update(outputs=["x"]), "cell 2: output 1 is a string")
    out["cell_type_null"] = changed(lambda nb: nb["cells"][0].update(cell_type=None), "cell 1: its cell_type is null")
    out["nan"] = (json.dumps(good).replace('"nbformat": 4,', '"nbformat": 4, "x": NaN,').encode(), "NaN")
    out["huge_float"] = (json.dumps(good).replace('"nbformat": 4,', '"nbformat": 4, "x": 1e999,').encode(),
                         "too large")
    out["surrogate"] = (json.dumps(good).replace('"nbformat": 4,', '"nbformat": 4, "x": "\\ud800",').encode(),
                        "unpaired surrogate")
    out["bom"] = (b"\xef\xbb\xbf" + json.dumps(good).encode(), "not valid JSON (Unexpected UTF-8 BOM")
    out["latin1"] = (json.dumps(good).encode()[:-2] + b"\xe9}", "not UTF-8 text")
    out["not_a_notebook"] = (b"[1, 2]", "not a notebook")
    return out


# --------------------------------------------------------------------------------------------
# early: a malformed notebook fails with its reason before it costs a sandbox
# --------------------------------------------------------------------------------------------
def test_malformed_notebooks_fail_early_with_a_reason(tmp_path):
    ctx = SimpleNamespace(notebooks=[TOPIC], released={TOPIC: SOURCE.read_bytes()}, released_sources=set(),
                          grading=SimpleNamespace(suspicious_code_patterns=["ctypes"]))
    for student, (data, words) in _malformed().items():
        synth.submit(tmp_path, TOPIC, student, {NB: data})
        job = plan.read_submission(tmp_path, student, TOPIC, [TOPIC], 20 << 20)
        assert words in job.problem and "\n" not in job.problem, (student, job.problem)
        result = worker.precheck(ctx, job)                      # what the pool does before any sandbox
        assert result.status == "failed" and result.reason == job.problem
        job.problem = ""                                        # and precheck finds it on its own too
        assert words in worker.precheck(ctx, job).reason, student
    synth.submit(tmp_path, TOPIC, "honest", {NB: SOURCE.read_bytes()})
    job = plan.read_submission(tmp_path, "honest", TOPIC, [TOPIC], 20 << 20)
    assert not job.problem and not worker.precheck(ctx, job).reason


def test_an_error_of_the_grader_itself_fails_only_that_submission(tmp_path, monkeypatch):
    """The catch-alls: checking, reading back and saving one submission."""
    ctx = SimpleNamespace(notebooks=[TOPIC], released={}, released_sources=set(),
                          grading=SimpleNamespace(suspicious_code_patterns=[]))
    job = Job("ann", tmp_path, "", "d", {TOPIC: SOURCE.read_bytes()})

    def boom(*a, **k):
        raise AttributeError("'str' object has no attribute 'get'")

    monkeypatch.setattr(diagnostics, "precheck", boom)
    r = worker.precheck(ctx, job)
    assert r.reason.startswith("grader error while checking the submission: AttributeError") and "\n" not in r.reason
    assert "Traceback" in r.trace and "boom" in r.trace

    monkeypatch.setattr(worker, "_apply", boom)
    r = JobResult("ann", "d")
    worker.read_result(ctx, job, tmp_path, {"status": "graded"}, r)
    assert r.status == "failed" and "while reading the results back: AttributeError" in r.reason

    # saving: the gradebook write fails for this submission only; it is recorded as failed, with a reason
    calls = []

    def merge(gb, topic, result, **options):
        calls.append(result.status)
        if result.status == "graded":
            raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(pipeline.gradebook, "merge", merge)
    state = plan.State(tmp_path / "state.json")
    graded = JobResult("ann", "d", status="graded", notebooks={TOPIC: NotebookResult({}, {}, 0.0, b"{}")})
    pipeline.save_result(None, tmp_path, TOPIC, state, graded)
    assert calls == ["graded", "failed"] and graded.status == "failed"
    assert graded.reason.startswith("grader error while saving the results: RecursionError")
    assert state.students["ann"]["status"] == "failed" and "RecursionError" in state.students["ann"]["reason"]
    assert not (tmp_path / "autograded" / "ann" / TOPIC).exists()


# --------------------------------------------------------------------------------------------
# after the run: exit status, problems file, status column, SIGTERM, .gitignore
# --------------------------------------------------------------------------------------------
def _summary(failed: bool, **kw) -> Summary:
    results = {"ann": JobResult("ann", "d", status="graded")}
    if failed:
        results["bob"] = JobResult("bob", "d", reason="nb.ipynb is nested deeper than 100 levels")
    return Summary(TOPIC, results, [], {"ann": (5.0, 5.0)}, {}, 1.0, "bubblewrap", **kw)


@pytest.mark.parametrize("failed", [False, True])
def test_make_grade_exits_1_when_a_submission_failed(failed, monkeypatch, capsys):
    monkeypatch.setattr(pipeline, "grade", lambda opts: _summary(failed))
    assert cli.main([TOPIC, "--quiet"]) == (1 if failed else 0)
    out = capsys.readouterr().out
    assert ("FAILED bob: nb.ipynb is nested deeper than 100 levels" in out) == failed
    assert "graded 1, failed to grade" in out


def test_every_problem_is_written_in_full_and_budgets_come_first(tmp_path):
    long_reason = "nb.ipynb " + "x" * 2000 + " END-OF-REASON"
    budget = [f"upload{i}.zip: over the 1000-entry budget per upload: students after it ... {'y' * 700} END{i}"
              for i in range(12)]
    s = _summary(True, warnings=["w" * 900 + " END-OF-WARNING"], budget_problems=budget,
                 import_problems=["bad.zip: corrupt"], problems=["submitted/x: a link"])
    s.results["bob"].reason = long_reason
    s.results["bob"].trace = "checking the submission:\nTraceback (most recent call last):\n  boom\nKeyError: 'x'\n"
    text = s.text()
    lines = text.splitlines()
    assert lines[1].startswith("import: over a budget") and lines[2].startswith("  upload0.zip")
    assert "... and 2 more, in grading_problems_01_tensors.txt" in text
    assert "every problem in full: grading_problems_01_tensors.txt" in text
    assert "END-OF-REASON" not in text and "Traceback" not in text     # cut in the terminal ...
    full = Path(s.write_problems(tmp_path)).read_text()
    for words in ["END-OF-REASON", "END-OF-WARNING", "END11", "bad.zip: corrupt", "submitted/x: a link",
                  "Traceback (most recent call last)", "KeyError: 'x'"]:
        assert words in full, words                                     # ... and in full in the file
    assert full.index("END11") < full.index("END-OF-REASON")
    clean = _summary(False)
    assert "every problem" not in clean.text()
    assert "failed to grade: 0" in clean.problems_text()


def test_grades_csv_status_comes_from_the_last_run(tmp_path, monkeypatch):
    from nbgrader.api import Gradebook
    monkeypatch.setenv("PATH", tool_env()["PATH"])                   # nbgrader runs alembic for a new gradebook
    db_url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(db_url) as gb:
        gb.add_assignment(TOPIC)
        for student in ("ann", "bob", "cid"):
            gb.add_student(student)
        for student in ("ann", "bob"):
            gb.add_submission(TOPIC, student)
    state = plan.State.load(tmp_path, TOPIC)
    state.record("ann", "d1", "graded")
    state.record("bob", "d2", "failed", "=cmd|' /C calc'!A0\nnested deeper than 100 levels")
    state.save()
    export.export_grades(db_url, "default_course", tmp_path / "grades.csv", tmp_path)
    with open(tmp_path / "grades.csv") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
                       "raw_score", "late_submission_penalty", "score", "max_score", "status"]   # nbgrader's, in order
    status = {r[3]: r[-1] for r in rows[1:]}
    assert status == {"ann": "graded", "bob": "failed: =cmd|' /C calc'!A0 nested deeper than 100 levels",
                      "cid": "not submitted"}, status
    state.record("bob", "d3", "graded")                                 # regraded: the reason goes
    state.save()
    assert "reason" not in plan.State.load(tmp_path, TOPIC).students["bob"]


def test_the_feedback_pool_ends_without_a_sigterm_traceback():
    """Pool.__exit__ ends its workers with SIGTERM; forked from the grader, they inherited its handler."""
    script = textwrap.dedent("""
        import multiprocessing, time
        from coursekit.grading import cli
        cli.install_sigterm()
        with multiprocessing.get_context("fork").Pool(3) as pool:       # as feedback.generate does
            print(sorted(pool.imap_unordered(abs, range(-4, 0))))
        with multiprocessing.get_context("fork").Pool(3) as pool:       # the race lost: workers still busy
            pool.map_async(time.sleep, [3, 3, 3])
            time.sleep(1)
        time.sleep(0.5)
        print("done")
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, env=tool_env())
    assert proc.returncode == 0 and proc.stdout.split() == ["[1,", "2,", "3,", "4]", "done"], proc.stdout
    assert "Traceback" not in proc.stderr and "KeyboardInterrupt" not in proc.stderr, proc.stderr


def test_a_process_forked_from_the_grader_gets_sigterms_default_action():
    """A Python-level handler runs only when the worker's main thread runs Python code again: a pool's
    worker must die on SIGTERM at once, or the pool's close can wait for it forever."""
    script = textwrap.dedent("""
        import os, signal
        from coursekit.grading import cli
        cli.install_sigterm()
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.write(w, b"default" if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL else b"handler")
            os._exit(0)
        os.waitpid(pid, 0)
        print(os.read(r, 16).decode(), signal.getsignal(signal.SIGTERM) is cli._terminate)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          cwd=ROOT, env=tool_env())
    assert proc.stdout.split() == ["default", "True"], proc.stdout + proc.stderr


def test_gradebook_backups_and_problem_files_are_not_committed():
    names = ["gradebook.db.bak-20250101-120000", "grading_problems_01_tensors.txt"]
    proc = subprocess.run(["git", "check-ignore", *names], cwd=ROOT, capture_output=True, text=True)
    assert proc.stdout.split() == names, proc.stdout + proc.stderr


# --------------------------------------------------------------------------------------------
# a real run through `python -m coursekit grade`
# --------------------------------------------------------------------------------------------
MANUAL = "written_answer"
WRITTEN = "Tensors are arrays that remember how they were computed."


def _course_with_a_manual_cell(tmp_path) -> Path:
    src = tmp_path / "src" / TOPIC
    src.mkdir(parents=True)
    nb = nbformat.read(str(SOURCE), as_version=4)
    cell = nbformat.v4.new_markdown_cell("### BEGIN SOLUTION\nAn instructor's answer.\n### END SOLUTION")
    cell.metadata["nbgrader"] = {"grade": True, "solution": True, "locked": False, "points": 1,
                                 "grade_id": MANUAL, "schema_version": 3, "task": False}
    nb.cells.append(cell)
    nbformat.write(nb, str(src / NB))
    return synth.make_course(tmp_path / "course", TOPIC, source_dir=src, config_extra=(
        "c.ExecutePreprocessor.timeout = 30\nc.KitGrading.submission_timeout = 120\n"
        "c.KitSandbox.memory_limit_mb = 1536\n"))


@pytest.mark.slow
@pytest.mark.skipif(not SOURCE.exists(), reason=f"{SOURCE} not written yet")
def test_a_real_run_contains_malformed_notebooks(tmp_path):
    from nbgrader.api import Gradebook

    course = _course_with_a_manual_cell(tmp_path)
    student_nb = course / "notebooks" / TOPIC / NB
    exs = notebook.exercises(SOURCE)
    right = synth.correct_answers(SOURCE)
    autograded_total = sum(e.points for e in exs)

    def sub(answers=None):
        nb = synth.make_submission(student_nb, {**right, **(answers or {})})
        for cell in nb.cells:
            if notebook.grade_id(cell) == MANUAL:
                cell.source = WRITTEN
        return nbformat.writes(nb).encode()

    bad = _malformed()
    files = {"honest_full": sub(), "honest_one_wrong": sub({exs[1].grade_id: "pass"}),
             "deep": bad["deep_1200"][0], "meta_string": bad["nbgrader_string"][0],
             "dies": sub({exs[0].grade_id: "import os\nos._exit(3)"})}
    for student, data in files.items():
        synth.submit(course, TOPIC, student, {NB: data})
    proc = subprocess.run([sys.executable, "-m", "coursekit", "grade", TOPIC, "--root", str(course), "--quiet",
                           "--workers", "2"], capture_output=True, text=True, timeout=900, env=tool_env(), cwd=ROOT)
    out, err = proc.stdout, proc.stderr
    print(out)
    assert proc.returncode == 1, out + err                      # some failed: as plain nbgrader, 1
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert "graded 2, failed to grade 3" in out, out
    assert "FAILED deep: 01_tensors.ipynb is nested deeper than 100 levels" in out
    assert "FAILED meta_string: 01_tensors.ipynb: cell 28: nbgrader metadata is a string, not an object" in out
    assert "FAILED dies: the kernel exited with code 3" in out
    assert "every problem in full: grading_problems_01_tensors.txt" in out
    assert f"  {MANUAL}" not in out, out            # not graded by anyone yet: not counted as failed by everyone
    problems = (course / "grading_problems_01_tensors.txt").read_text()
    assert "meta_string: 01_tensors.ipynb: cell 28: nbgrader metadata is a string" in problems

    with open(course / "grading_report_01_tensors.csv") as fh:
        report = {row["student"]: row for row in csv.DictReader(fh)}
    total = autograded_total + 1
    assert float(report["honest_full"]["score"]) == autograded_total and float(report["honest_full"]["max_score"]) == total
    assert float(report["honest_one_wrong"]["score"]) == autograded_total - exs[1].points
    with open(course / "grades.csv") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == export.COLUMNS + ["status"]
    status = {r[3]: r[-1] for r in rows[1:]}
    assert status["honest_full"] == "graded" and status["honest_one_wrong"] == "graded"
    assert status["deep"] == "failed: 01_tensors.ipynb is nested deeper than 100 levels"
    assert status["dies"].startswith("failed: the kernel exited with code 3")

    # a failed submission's manual cell is still listed for grading in Formgrader, with its notebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student in ("dies", "deep", "honest_full"):
            g = gb.find_grade(MANUAL, NB.removesuffix(".ipynb"), TOPIC, student)
            assert g.auto_score is None and g.needs_manual_grade, student
        tests = gb.find_grade(exs[0].tests[0], TOPIC, TOPIC, "dies")
        assert tests.auto_score == 0 and not tests.needs_manual_grade
    shown = course / "autograded" / "dies" / TOPIC / NB
    assert WRITTEN in shown.read_text() and not (course / "feedback" / "dies").exists()
    assert not (course / "autograded" / "deep").exists()
    assert (course / "feedback" / "honest_full" / TOPIC / f"{TOPIC}.html").exists()
