"""Whatever students submit: one batch of hostile and good submissions of the real topic 01_tensors,
graded once by the kit (module-scoped fixture), checked by many tests.

Every bad submission must get a defined score and a stated reason, every good one exactly its
correct score, and nothing else in the course may change. Where the machine allows it (Linux +
root, as in CI) the isolation is checked for real: writes outside the working copy, a connection
to a server on the host's loopback, a huge allocation.
"""
from __future__ import annotations

import copy
import hashlib
import re
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import nbformat
import pytest

from utils import grading
from utils import grading_synth as gs

TOPIC = "01_tensors"
NB = f"{TOPIC}.ipynb"
SOURCE = gs.ROOT / "solutions" / TOPIC / NB
CELL_TIMEOUT = 15          # per-cell limit in the test course (s)
SUBMISSION_TIMEOUT = 60    # per-submission limit (s)

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:Non-unique cell id"),
              pytest.mark.skipif(not SOURCE.exists(), reason=f"{SOURCE} not written yet")]
IS_ROOT = sys.platform.startswith("linux") and os.geteuid() == 0


def _tree_hash(path: Path) -> dict[str, str]:
    out = {}
    for p in sorted(Path(path).rglob("*")):
        if p.is_file():
            out[str(p.relative_to(path))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _source_cells(db_url: str) -> dict[str, str]:
    from nbgrader.api import Gradebook
    with Gradebook(db_url) as gb:
        nb = gb.find_notebook(TOPIC, TOPIC)
        return {c.name: c.source + "|" + str(c.checksum) for c in nb.source_cells}


def _cell(nb, gid):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == gid)


def _wrong(ex) -> str:
    """The exercise's function, defined with the right name and arguments but returning None."""
    m = re.search(r"^def (\w+)\((.*?)\):", ex.solution, re.M)
    assert m, f"{ex.solution_id}: the fault suite expects the exercise to define a function"
    return f"def {m[1]}({m[2]}):\n    return None"


def _with_prefix(answer: str, prefix: str) -> str:
    return prefix + "\n" + answer


class _Server:
    """A TCP server on the host's loopback: the student kernel must not reach it."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
                self.connections += 1
                conn.close()
            except OSError:
                continue

    def close(self):
        self.stop = True
        self.thread.join(2)
        self.sock.close()


PROBE = '''
import json, os, socket
_r = {{}}
def _try(name, fn):
    try:
        fn()
        _r[name] = "ok"
    except BaseException as e:
        _r[name] = type(e).__name__
def _write(p):
    with open(p, "a") as f:
        f.write("pwned")
_try("write_gradebook", lambda: _write({gradebook!r}))
_try("write_solutions", lambda: _write({solutions!r}))
_try("write_other_student", lambda: _write({other!r}))
_try("write_course_utils", lambda: _write({utils!r}))
_try("read_hidden_tests", lambda: open({source!r}).read(1))
_try("write_own_folder", lambda: _write("probe.txt"))
def _net():
    s = socket.create_connection(("127.0.0.1", {port}), timeout=3)
    s.close()
_try("connect_loopback", _net)
_try("allocate_64GiB", lambda: bytearray(64 * 2**30))
_r["secret_env"] = os.environ.get("GRADING_TEST_SECRET", "absent")
print("PROBE " + json.dumps(_r))
'''


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    base = tmp_path_factory.mktemp("faults")
    course = gs.make_course(base / "course", TOPIC, config_extra=(
        f"c.ExecutePreprocessor.timeout = {CELL_TIMEOUT}\n"
        f"c.KitGrading.submission_timeout = {SUBMISSION_TIMEOUT}\n"
        "c.KitGrading.memory_limit_mb = 4096\n"))
    student_nb = course / "notebooks" / TOPIC / NB
    exs = gs.exercises(SOURCE)
    assert len(exs) >= 3, "the fault suite needs at least three exercises"
    total = gs.total_points(SOURCE)
    right = gs.correct_answers(SOURCE)
    e1, e2, e3 = exs[0], exs[1], exs[2]
    wrong = gs.wrong_answers(TOPIC)

    def sub(answers=None, **changes):
        a = dict(right)
        a.update(answers or {})
        return gs.make_submission(student_nb, a)

    expected: dict[str, tuple] = {}   # student -> (score, status, text expected in reason/notes)
    files: dict[str, dict] = {}

    def add(student, content, score, status="graded", text=None, extra=None):
        files[student] = {NB: content, **(extra or {})}
        expected[student] = (score, status, text)

    add("good_full", sub(), total)
    add("good_blank", gs.make_submission(student_nb, {}), 0.0)
    add("good_one_wrong", sub({e2.solution_id: _wrong(e2)}), total - e2.points)
    add("infinite_loop", sub({e1.solution_id: _with_prefix(e1.solution, "while True:\n    pass")}),
        total - e1.points, text="CellTimeoutError")
    add("uninterruptible_loop", sub({e1.solution_id: _with_prefix(
        e1.solution, "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass")}),
        0.0, status="failed", text="")
    add("too_slow_overall", sub({ex.solution_id: _with_prefix(ex.solution, f"import time\ntime.sleep({CELL_TIMEOUT - 3})")
                                 for ex in exs}),
        0.0, status="failed", text=f"timed out after {SUBMISSION_TIMEOUT} s")
    add("ten_million_lines", sub({e1.solution_id: e1.solution + "\nfor _i in range(10_000_000):\n    print(_i)"}),
        total, text="")
    add("calls_input", sub({e1.solution_id: _with_prefix(e1.solution, "answer = input('your name? ')")}),
        total - e1.points, text="StdinNotImplementedError")

    nb = sub()
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != e1.tests[0]]
    add("deleted_test_cell", nb, total, text=f"locked cell {e1.tests[0]} was deleted")

    nb = sub({e2.solution_id: _wrong(e2)})
    _cell(nb, e2.tests[0]).source = "pass  # always passes"
    add("edited_test_cell", nb, total - e2.points, text=f"locked cell {e2.tests[0]} was edited")

    nb = sub({e3.solution_id: _wrong(e3)})
    c = _cell(nb, e3.tests[0])
    md = nbformat.v4.new_markdown_cell(c.source)
    md.metadata = copy.deepcopy(c.metadata)
    nb.cells[nb.cells.index(c)] = md
    add("test_cell_to_markdown", nb, total - e3.points, text=f"locked cell {e3.tests[0]} was turned into markdown")

    nb = sub()
    sol = _cell(nb, e1.solution_id)
    nb.cells.insert(nb.cells.index(sol) + 1, copy.deepcopy(sol))
    add("duplicate_grade_id", nb, total, text=f"cell {e1.solution_id} appears 2 times")

    add("invalid_json", '{"cells": [', 0.0, "failed", "not valid JSON")
    add("empty_file", "", 0.0, "failed", "empty file")
    files["missing_notebook"] = {"README.txt": "I forgot to attach it"}
    expected["missing_notebook"] = (0.0, "failed", f"missing notebook {NB}")
    add("extra_notebook", sub(), total, text="extra notebook ignored: scratch.ipynb",
        extra={"scratch.ipynb": gs.make_submission(student_nb, {})})

    add("file_vandal", sub({e1.solution_id: e1.solution + (
        "\nimport os, glob\nopen('junk.bin', 'wb').write(b'x' * 1000)\n"
        "for _f in glob.glob('*'):\n    try:\n        os.rename(_f, _f + '.moved')\n    except OSError:\n        pass\n"
        "for _f in glob.glob('*.moved'):\n    try:\n        os.remove(_f)\n    except OSError:\n        pass")}),
        total)

    add("redefines_helper", sub({e2.solution_id: (
        _wrong(e2) + "\n"
        "def check_close(*args, **kwargs):\n    return None\n"
        "def check_shape(*args, **kwargs):\n    return None\n"
        "def check_dtype(*args, **kwargs):\n    return None\n"
        "def check_type(*args, **kwargs):\n    return None\n")}), total - e2.points, text="")

    hard = [src for why, src in wrong.get(e3.solution_id, []) if "hard" in why.lower()]
    if not hard and e3.solution_id == "ex3_linear_predict":
        hard = ["def linear_predict(X, w, b):\n    import torch\n    return torch.tensor([0.5, -0.5, -1.5])"]
    if hard:
        add("hard_coded", sub({e3.solution_id: hard[0]}), total - e3.points, text="")

    add("memory_hog", sub({e1.solution_id: _with_prefix(e1.solution, "_big = bytearray(64 * 2**30)")}),
        total - e1.points, text="MemoryError")

    server = _Server()
    main_gradebook = course / "gradebook.db"
    add("intruder", sub({e1.solution_id: e1.solution + PROBE.format(
        gradebook=str(main_gradebook), solutions=str(course / "solutions" / TOPIC / "x.txt"),
        other=str(course / "submitted" / "good_full" / TOPIC / NB), utils=str(gs.ROOT / "utils" / "pwned.py"),
        source=str(course / "solutions" / TOPIC / NB), port=server.port)}), total)

    for student, content in files.items():
        gs.submit(course, TOPIC, student, content)

    # the non-ASCII student arrives through an LMS zip (nbgrader zip_collect)
    lms = base / "lms.zip"
    with zipfile.ZipFile(lms, "w") as zf:
        zf.writestr(f"zoë_Prüfung_{NB}", nbformat.writes(sub()))
        zf.writestr("no-pattern-here.ipynb", nbformat.writes(sub()))
    expected["zoë"] = (total, "graded", None)

    # a copy for sequential nbgrader autograde (deterministic submissions only)
    seq_students = ["good_full", "good_one_wrong", "edited_test_cell", "duplicate_grade_id", "redefines_helper"]
    seq = base / "seq"
    shutil.copytree(course, seq)
    for d in (seq / "submitted").iterdir():
        if d.name not in seq_students:
            shutil.rmtree(d)

    before = {
        "solutions": _tree_hash(course / "solutions"),
        "notebooks": _tree_hash(course / "notebooks"),
        "submitted": _tree_hash(course / "submitted"),
        "source_cells": _source_cells(f"sqlite:///{main_gradebook}"),
    }
    os.environ["GRADING_TEST_SECRET"] = "s3cret"  # a CI token the student code must not see
    try:
        summary = grading.grade(grading.Options(topic=TOPIC, root=course, source=lms, workers=2, progress=False))
    finally:
        server.close()
        os.environ.pop("GRADING_TEST_SECRET", None)
    print(summary.text())
    yield {"course": course, "summary": summary, "expected": expected, "before": before, "server": server,
           "total": total, "seq": seq, "seq_students": seq_students, "box": summary.sandbox}


def _scores(db_url):
    from nbgrader.api import Gradebook
    with Gradebook(db_url) as gb:
        out = {}
        for s in gb.find_assignment(TOPIC).submissions:
            out[s.student.id] = {g.name: g.auto_score for nb in s.notebooks for g in nb.grades}
        return out


def test_every_submission_gets_its_defined_score_and_reason(batch):
    summary, expected = batch["summary"], batch["expected"]
    problems = []
    for student, (score, status, text) in expected.items():
        got = summary.scores.get(student, (None, None))[0]
        got_status = "failed" if student in summary.failed else "graded" if student in summary.graded else "?"
        said = (summary.failed.get(student) or "") + " | " + "; ".join(summary.notes.get(student, []))
        if got != pytest.approx(score) or got_status != status or (text and text not in said):
            problems.append(f"{student}: expected {score} {status} {text!r}, got {got} {got_status} {said!r}")
    assert not problems, "\n".join(problems)


def test_failures_have_reasons_and_are_flagged(batch):
    from nbgrader.api import Gradebook
    summary = batch["summary"]
    assert set(summary.failed) >= {"invalid_json", "empty_file", "missing_notebook", "uninterruptible_loop"}
    assert "timed out after" in summary.failed["uninterruptible_loop"] or \
        "could not be interrupted" in summary.failed["uninterruptible_loop"]
    assert all(summary.failed.values())
    with Gradebook(f"sqlite:///{batch['course'] / 'gradebook.db'}") as gb:
        for student in summary.failed:
            sub = gb.find_submission(TOPIC, student)
            assert sub.score == 0
            assert all(nb.flagged for nb in sub.notebooks)
    report = (batch["course"] / f"grading_report_{TOPIC}.csv").read_text(encoding="utf-8")
    assert "zoë" in report and "not valid JSON" in report


def test_nothing_else_in_the_course_changed(batch):
    course, before = batch["course"], batch["before"]
    assert _tree_hash(course / "solutions") == before["solutions"]
    assert _tree_hash(course / "notebooks") == before["notebooks"]
    assert not (gs.ROOT / "utils" / "pwned.py").exists()
    after = _tree_hash(course / "submitted")
    assert {k: v for k, v in after.items() if not k.startswith("zoë/")} == before["submitted"]
    assert _source_cells(f"sqlite:///{course / 'gradebook.db'}") == before["source_cells"]


def test_lms_zip_collected_non_ascii_student(batch):
    course = batch["course"]
    assert (course / "submitted" / "zoë" / TOPIC / NB).exists()
    assert not (course / "submitted" / "no-pattern-here.ipynb").exists()
    assert (course / "feedback" / "zoë" / TOPIC / f"{TOPIC}.html").exists()
    grades = (course / "grades.csv").read_text(encoding="utf-8")
    assert "zoë" in grades and "good_full" in grades


def test_summary_reports_cells_and_mean(batch):
    summary = batch["summary"]
    text = summary.text()
    assert "failed to grade" in text and "mean score" in text
    assert set(summary.cell_fail_share) == set(g for ex in gs.exercises(SOURCE) for g in ex.tests)
    assert 0 < summary.mean_score < batch["total"]


@pytest.mark.skipif(not IS_ROOT, reason="isolation needs Linux and root")
def test_isolation_probe(batch):
    assert "unprivileged" in batch["box"] and "no network" in batch["box"]
    out = batch["course"] / "autograded" / "intruder" / TOPIC / NB
    nb = nbformat.read(str(out), as_version=4)
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    line = next(l for l in text.splitlines() if l.startswith("PROBE "))
    probe = json.loads(line[len("PROBE "):])
    assert probe["write_own_folder"] == "ok"
    for key in ("write_gradebook", "write_solutions", "write_other_student", "write_course_utils",
                "read_hidden_tests", "connect_loopback"):
        assert probe[key] != "ok", f"student code could {key}: {probe}"
    assert probe["allocate_64GiB"] == "MemoryError"
    assert probe["secret_env"] == "absent"
    assert batch["server"].connections == 0
    assert not (gs.ROOT / "utils" / "pwned.py").exists()


def test_same_scores_as_sequential_nbgrader(batch):
    seq = batch["seq"]
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    proc = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", TOPIC, f"--CourseDirectory.root={seq}"],
                          cwd=seq, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    sequential = _scores(f"sqlite:///{seq / 'gradebook.db'}")
    parallel = _scores(f"sqlite:///{batch['course'] / 'gradebook.db'}")
    for student in batch["seq_students"]:
        assert parallel[student] == sequential[student], student
