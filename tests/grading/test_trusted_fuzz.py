"""Property-based fuzzing (Hypothesis) of everything the trusted grader reads that a student or a
sandbox controls: a submitted notebook (plan.read_submission, then worker.precheck), what comes back
from a sandbox (result.json and the executed notebook, through worker.collect and the sanitiser),
and the gradebook write (pipeline.save_result: gradebook.merge into a throw-away gradebook, the
autograded/ folder, the state file, then grades.csv). Property: any input makes that one submission
graded, or failed with a one-line reason; nothing raises out of the grader's code.

Inputs are a valid notebook (and a valid result.json) with random mutations: any field replaced by any
JSON value (wrong types in every metadata field, cell ids duplicated or not strings, outputs of every
type with wrong field types, empty and huge values, NaN/Infinity, numbers too large for a double,
unpaired surrogates), nesting of 90 to 5000 levels anywhere, cells duplicated or removed, and byte-level
damage (a BOM, invalid UTF-8, truncation, duplicate keys, empty files).

The suite runs a fixed, reproducible budget (derandomized). A long run:
``COURSEKIT_FUZZ_EXAMPLES=5000 pytest tests/grading/test_trusted_fuzz.py --hypothesis-show-statistics``
(random seeds, 5000 inputs per property).
"""
from __future__ import annotations

import copy
import json
import os
import shutil
import tempfile
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from coursekit import synth
from coursekit.grading import export, nbcheck, pipeline, plan, sanitize, worker
from coursekit.grading.model import Grade, Job, JobResult, NotebookResult

TOPIC = synth.TINY_TOPIC
NB = f"{TOPIC}.ipynb"
CELLS = {TOPIC: {"ex1_double_tests": 2.0, "ex2_square_tests": 3.0}}

LONG = int(os.environ.get("COURSEKIT_FUZZ_EXAMPLES", "0"))
FUZZ = settings(max_examples=LONG or 40, derandomize=not LONG, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))


def _base_notebook() -> dict:
    """The tiny topic with outputs of every type (the notebook every example starts from)."""
    tmp = Path(tempfile.mkdtemp(prefix="fuzz-base-"))
    try:
        nb = json.loads((synth.write_tiny_topic(tmp) / NB).read_text())
    finally:
        shutil.rmtree(tmp)
    nb["cells"][1]["outputs"] = [
        {"output_type": "stream", "name": "stdout", "text": ["hello\n"]},
        {"output_type": "display_data", "metadata": {"image/png": {"width": 10}},
         "data": {"text/html": ["<b>x</b>"], "image/png": "iVBORw0KGgo=", "text/markdown": "*m*",
                  "application/javascript": "alert(1)", "text/plain": "x"}},
        {"output_type": "execute_result", "execution_count": 1, "metadata": {}, "data": {"text/plain": ["1"]}},
        {"output_type": "error", "ename": "ValueError", "evalue": "bad", "traceback": ["Traceback", "ValueError"]},
    ]
    return nb


BASE = _base_notebook()
BASE_RESULT = {
    "kind": "result", "v": 2, "status": "graded", "kernel": "warm",
    "notebooks": {TOPIC: {"grades": {"ex1_double_tests": [2, 2, False], "ex2_square_tests": [0, 3, False]},
                          "comments": {"ex1_double": None, "ex2_square": "ok"}, "penalty": 0}},
    "log": [{"message": "ValueError: x"}], "execution": {"cell": [3, "ex1_double"], "kernel_exit": -9},
    "failure": {"exception": "grader error: x"},
}

# ---- strategies ----------------------------------------------------------------------------
ODD_TEXT = (st.sampled_from(["", "\ud800", "a\udfffb", "\u202e\x1b[2J", "</script><img src=x onerror=alert(1)>",
                             "=cmd|'/C calc'!A0", "\n\n", "\ufeff"])
            | st.sampled_from([5000, 100_000]).map(lambda n: "x" * n))           # huge values
SCALARS = (st.none() | st.booleans() | st.integers() | st.integers(min_value=0, max_value=400).map(lambda e: -(10**e))
           | st.floats() | st.text(max_size=30) | ODD_TEXT)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=12) | st.sampled_from(["nbgrader", "grade_id", "\ud800"]),
                                        inner, max_size=4), max_leaves=12)
DEEP = st.integers(min_value=90, max_value=5000).map(lambda n: f"__DEEP_{n}__")


def _slots(value, path=()):
    """Every (container, key) of a JSON tree, for mutations."""
    out = []
    if isinstance(value, dict):
        for k, v in value.items():
            out.append((value, k))
            out += _slots(v)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.append((value, i))
            out += _slots(v)
    return out


@st.composite
def mutated(draw, base):
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        slots = _slots(doc)
        if not slots:
            break
        container, key = draw(st.sampled_from(slots))
        op = draw(st.sampled_from(["replace", "replace", "deep", "delete", "add", "duplicate"]))
        if op == "replace":
            container[key] = draw(VALUES)
        elif op == "deep":
            container[key] = draw(DEEP)
        elif op == "delete":
            del container[key]
        elif op == "add" and isinstance(container[key], dict):
            container[key][draw(st.text(max_size=10) | st.sampled_from(["nbgrader", "id", "kernelspec"]))] = draw(VALUES)
        elif op == "duplicate" and isinstance(container, list):
            container.append(copy.deepcopy(container[key]))           # duplicate cells: duplicate ids
    return doc


def _deep_text(n: int) -> str:
    return ('{"a": [' * (n // 2)) + "0" + ("]}" * (n // 2))


@st.composite
def as_bytes(draw, doc):
    """A JSON document serialised, then perhaps damaged as bytes."""
    text = json.dumps(doc, ensure_ascii=draw(st.booleans()), allow_nan=True)
    while "__DEEP_" in text:
        start = text.index('"__DEEP_')
        end = text.index('__"', start) + 3
        text = text[:start] + _deep_text(int(text[start + 8:end - 3])) + text[end:]
    data = text.encode("utf-8", "surrogatepass")                     # unpaired surrogates: invalid UTF-8
    op = draw(st.sampled_from(["none"] * 5 + ["bom", "invalid_byte", "truncate", "duplicate_key", "empty"]))
    if op == "bom":
        data = b"\xef\xbb\xbf" + data
    elif op == "invalid_byte":
        at = draw(st.integers(min_value=0, max_value=len(data)))
        data = data[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00"])) + data[at:]
    elif op == "truncate":
        data = data[:draw(st.integers(min_value=0, max_value=len(data)))]
    elif op == "duplicate_key" and data.startswith(b"{"):
        data = b'{"cells": 5, "nbformat": "x", "metadata": [], ' + data[1:]
    elif op == "empty":
        data = draw(st.sampled_from([b"", b" \n", b"null", b"{}", b"[]"]))
    return data


NOTEBOOKS = mutated(BASE).flatmap(as_bytes)
RESULTS = mutated(BASE_RESULT).flatmap(as_bytes)


def _outcome(reason: str) -> str:
    """A reason's kind, for the statistics (--hypothesis-show-statistics)."""
    if not reason:
        return "accepted"
    words = reason.split(": ")[1] if reason.startswith(NB + ": cell") else reason.removeprefix(NB).strip(" :")
    return "failed: " + " ".join(w for w in words.split()[:4] if not w.isdigit())[:40]


def _one_line(reason: str) -> bool:
    return bool(reason.strip()) and "\n" not in reason and len(reason) < 2000


def _ctx(root: Path) -> SimpleNamespace:
    return SimpleNamespace(
        root=root, topic=TOPIC, notebooks=[TOPIC], cells=CELLS,
        comment_cells={TOPIC: {"ex1_double", "ex2_square", "ex1_double_tests", "ex2_square_tests"}},
        released={TOPIC: json.dumps(BASE).encode()}, released_sources={"import math"}, kernelspec=None,
        scrub=[str(root)], cell_timeout=30.0,
        grading=SimpleNamespace(suspicious_code_patterns=[r"\bctypes\b", r"sys\.modules"], max_notebook_mb=20,
                                submission_timeout=600),
        sandbox=SimpleNamespace(max_processes=256, address_space_mb=12288),
        isolation=SimpleNamespace(limiter=SimpleNamespace(kind="cgroup", memory_mb=4096)))


# ---- properties ----------------------------------------------------------------------------
@FUZZ
@given(data=NOTEBOOKS)
def test_any_submitted_notebook_is_graded_or_fails_with_a_reason(data):
    with tempfile.TemporaryDirectory(prefix="fuzz-sub-") as tmp:
        root = Path(tmp)
        synth.submit(root, TOPIC, "stu", {NB: data})
        job = plan.read_submission(root, "stu", TOPIC, [TOPIC], 20 << 20)
        result = worker.precheck(_ctx(root), job)
        assert not result.trace, result.trace                       # no error of the grader itself
        event("submitted: " + _outcome(result.reason))
        if result.reason:
            assert _one_line(result.reason), result.reason
        else:                                                        # what is sent to a sandbox is a notebook
            assert isinstance(nbcheck.load(data), dict)
        shown = worker.read_executed(_ctx(root), data)               # the same bytes as an executed notebook
        assert isinstance(shown, bytes) or _one_line(shown)
        if isinstance(shown, bytes):
            nbformat.validate(nbformat.reads(shown.decode("utf-8"), as_version=4))   # Formgrader, feedback read it


@FUZZ
@given(data=NOTEBOOKS)
def test_the_sanitiser_never_raises_on_what_the_grader_lets_through(data):
    """sanitize.notebook_bytes' contract, for every input nbcheck accepts: bytes, or ValueError."""
    try:
        nb = nbcheck.load(data, replace_surrogates=True)
    except nbcheck.Invalid:
        return
    if nbcheck.notebook_problem(nb):
        return
    try:
        out = sanitize.notebook_bytes(json.dumps(nb).encode(), [], set(), None)
    except ValueError:
        return
    json.loads(out)


def _collect(root: Path, result_json: bytes, executed: bytes) -> JobResult:
    jdir = root / "jobs" / "j1"
    (jdir / "out").mkdir(parents=True)
    (jdir / "out" / "result.json").write_bytes(result_json)
    (jdir / "out" / NB).write_bytes(executed)
    job = Job("stu", root, "", "digest", {TOPIC: json.dumps(BASE).encode()})
    result = worker.collect(_ctx(root), job, JobResult("stu", "digest"), jdir)
    assert not jdir.exists()
    return result


@FUZZ
@given(result_json=RESULTS, executed=NOTEBOOKS)
def test_anything_a_sandbox_returns_is_graded_or_fails_with_a_reason(result_json, executed):
    with tempfile.TemporaryDirectory(prefix="fuzz-res-") as tmp:
        result = _collect(Path(tmp), result_json, executed)
        assert not result.trace, result.trace
        event("sandbox's result: " + (_outcome(result.reason) if result.status != "graded" else "graded"))
        if result.status == "graded":
            for name, nb in result.notebooks.items():
                assert set(nb.grades) == set(CELLS[name])
                assert all(g.auto_score is None or 0 <= g.auto_score <= g.max_score for g in nb.grades.values())
                nbformat.validate(nbformat.reads(nb.executed.decode("utf-8"), as_version=4))
        else:
            assert _one_line(result.reason), result.reason


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    base = tmp_path_factory.mktemp("fuzz-course")
    synth.write_tiny_topic(base / "src")
    return synth.make_course(base / "course", TOPIC, source_dir=base / "src" / TOPIC)


TIMESTAMPS = st.none() | st.text(max_size=40) | st.sampled_from(
    ["2024-01-01 10:00:00", "9999-12-31 23:59:59.999999 UTC", "0000-00-00", "2024-02-30", "1e400", "\ud800"])


@st.composite
def job_results(draw):
    """What reaches the gradebook: a sandbox's checked result (worker.collect), or a result of any shape
    (kernel says which)."""
    student = draw(st.sampled_from(["ann", "bob", "b.o-b@x"]))
    if draw(st.booleans()):
        with tempfile.TemporaryDirectory(prefix="fuzz-res-") as tmp:
            result = _collect(Path(tmp), draw(RESULTS), draw(NOTEBOOKS))
        result.student, result.kernel = student, "from a sandbox"
        result.timestamp = draw(TIMESTAMPS.filter(lambda t: t is None or nbcheck._text_ok(t)))  # as plan reads it
        return result
    names = st.sampled_from(["ex1_double_tests", "ex2_square_tests", "nope", "\ud800"])
    scores = st.none() | st.floats() | st.integers(min_value=-(10**30), max_value=10**30) | st.text(max_size=5)
    grades = draw(st.dictionaries(names, st.builds(Grade, scores, st.floats(), st.booleans()), max_size=3))
    comments = draw(st.dictionaries(st.text(max_size=12) | names, st.none() | ODD_TEXT | st.text(), max_size=3))
    executed = worker.read_executed(_ctx(Path("/nonexistent")), draw(NOTEBOOKS))    # always sanitised
    nb = NotebookResult(grades, comments, draw(st.floats() | st.integers()),
                        executed if isinstance(executed, bytes) else None)
    status = draw(st.sampled_from(["graded", "failed"]))
    result = JobResult(student, draw(st.text(max_size=20)), status=status,
                       reason="" if status == "graded" else "the kernel died", flags=draw(st.lists(ODD_TEXT, max_size=2)),
                       notebooks=draw(st.dictionaries(st.sampled_from([TOPIC, "other"]), st.just(nb), max_size=2)))
    result.timestamp, result.kernel = draw(TIMESTAMPS), "any shape"
    return result


@FUZZ
@given(result=job_results(), submitted=NOTEBOOKS)
def test_any_result_reaches_the_gradebook_or_fails_that_submission(course, result, submitted):
    from nbgrader.api import Gradebook
    state = plan.State.load(course, TOPIC)
    db_url = f"sqlite:///{course / 'gradebook.db'}"
    job = Job(result.student, course, "", "d", {TOPIC: submitted})
    before = result.status
    with Gradebook(db_url, "pytorch-nn") as gb:
        pipeline.save_result(gb, course, TOPIC, state, result, _ctx(course), job)
        sub = gb.find_submission(TOPIC, result.student)              # the gradebook is still whole
        sub.score
    event(f"saved ({result.kernel}): {before} -> "
          + (result.status if before == result.status else _outcome(result.reason)))
    if result.kernel == "from a sandbox":                   # what the grader itself produced is always saved
        assert before == result.status, result.trace
    entry = plan.State.load(course, TOPIC).students[result.student]
    assert entry["status"] == result.status in ("graded", "failed")
    if result.status == "failed":
        assert _one_line(result.reason), result.reason
        assert before == "failed" or result.reason.startswith("grader error while saving the results")
    shown = course / "autograded" / result.student / TOPIC / NB
    if shown.exists():
        nbformat.reads(shown.read_text(encoding="utf-8"), as_version=4)
    export.export_grades(db_url, "pytorch-nn", course / "grades.csv", course)
