"""Property-based fuzzing of the LMS import (Hypothesis): generated downloads (entry names with ../, absolute
paths, NUL, control characters, unicode, very long names; the LMS layouts; students' zips and .gz nested in
each other; corrupt bytes; zip and gzip bombs; duplicate names; many entries) go through import_download
into a temporary course, with small budgets. Whatever the input:

* it never raises (a bad --pattern is a SystemExit with a message, checked in test_import.py);
* nothing is written outside submitted/, and every file written is submitted/<valid id>/<topic>/<notebook>.ipynb,
  its timestamp.txt, or one of the student's other files under a safe name (``collect_files``);
* every entry is imported or accounted for in the problems (by name, or by a budget or a two-submitters line).

The suite runs a fixed, derandomised budget (COURSEKIT_FUZZ_EXAMPLES, default 150); a long run:
``COURSEKIT_FUZZ_EXAMPLES=20000 COURSEKIT_FUZZ_RANDOM=1 pytest tests/grading/test_import_fuzz.py``.
"""
from __future__ import annotations

import fnmatch
import gzip
import io
import os
import re
import tempfile
import warnings
import zipfile
from pathlib import Path

import nbformat
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coursekit.config import KitGrading
from coursekit.grading import collect, collect_files
from coursekit.grading.sanitize import one_line

NB, NB2 = "01_tensors", "02_forward_pass"
EXAMPLES = int(os.environ.get("COURSEKIT_FUZZ_EXAMPLES", "150"))
RANDOM = os.environ.get("COURSEKIT_FUZZ_RANDOM") == "1"
LOG = os.environ.get("COURSEKIT_FUZZ_LOG")          # the long run's progress, every 500 examples
BUDGET = dict(max_notebook_mb=0.05, max_student_entries=12, max_student_mb=0.3, max_download_entries=40,
              max_download_mb=1.0, max_archive_depth=3, max_name_length=120, max_student_id_length=16)
CAP = int(BUDGET["max_notebook_mb"] * 2**20)
IGNORE = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]     # nbgrader's CourseDirectory.ignore
TRIED = {"examples": 0, "entries": 0, "imported": 0, "problems": 0}


def _nb(text: str) -> bytes:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(f"print({text!r})")]
    return nbformat.writes(nb).encode()


def _gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)     # the same input gives the same bytes (Hypothesis replays)


NOTEBOOK = _nb("a notebook")

ids = st.one_of(st.sampled_from(["alice", "bob", "zoë", "Jane Doe", "=2+5", "..", ".", "", "a" * 40, "bob\n", "b\x00b",
                                 "\x1b[31mred", "a\u202eb", "e\u0301", "x\u2028y", "12345", "a/b", "a\\b", "_x"]),
                st.text(min_size=0, max_size=12))
files = st.sampled_from([f"{NB}.ipynb", f"{NB2}.ipynb", f"x_{NB}.ipynb", f"alice_{NB}.ipynb", f"{NB}-1.ipynb",
                         f"{NB}.ipynb.gz", f"{NB}.ipynb.gz.gz", "work.zip", "work.zip.gz", "notes.txt", "", ".hidden",
                         f"sub/dir/{NB}.ipynb", f"bob_1_assignsubmission_file_{NB}.ipynb",
                         f"HW_bob_attempt_2024-01-01-00-00-00_{NB}.ipynb"])


@st.composite
def names(draw):
    kind = draw(st.sampled_from(["generic", "moodle", "folders", "canvas", "blackboard", "plain", "raw", "nasty"]))
    sid, file = draw(ids), draw(files)
    num = draw(st.integers(0, 3))
    if kind == "generic":
        return f"{sid}_{file}"
    if kind == "moodle":
        return f"{sid}_{num}_assignsubmission_file_{draw(st.sampled_from(['', '/']))}{file}"
    if kind == "folders":
        return f"{draw(st.sampled_from(['', 'submitted/']))}{sid}/{draw(st.sampled_from(['', NB + '/']))}{file}"
    if kind == "canvas":
        return f"{sid}_{draw(st.sampled_from(['', 'LATE_']))}{num}_{draw(st.integers(0, 3))}_{file}"
    if kind == "blackboard":
        return f"HW_1_{sid}_attempt_2024-01-0{num + 1}-00-00-00{draw(st.sampled_from(['_' + file, '.txt']))}"
    if kind == "plain":
        return file
    if kind == "raw":
        return draw(st.text(min_size=0, max_size=40))
    prefix = draw(st.sampled_from(["../../", "/abs/", "a\\..\\", "x" * 130, "./", "//", "a/../../"]))
    return f"{prefix}{sid}_{file}"


def contents(depth: int):
    base = [st.just(NOTEBOOK), st.binary(max_size=64), st.builds(_nb, st.text(max_size=20)),
            st.just(_gz(NOTEBOOK)), st.just(_gz(_gz(NOTEBOOK))),
            st.integers(1, 3 * CAP).map(lambda n: _gz(b"\0" * n)),           # gzip bombs over the cap
            st.just(b"PK\x03\x04 not really"), st.just(b"\x1f\x8b\x08 not really")]
    if depth > 0:
        base.append(st.tuples(archives(depth - 1), st.one_of(st.none(), st.integers(0, 10**6))).map(_corrupt_or_not))
        base.append(archives(depth - 1).map(_gz))
    return st.one_of(*base)


def _corrupt_or_not(data_and_cut):
    data, cut = data_and_cut
    if cut is None or not data:
        return data
    cut %= len(data)
    return data[:cut] + bytes([data[cut] ^ 0xFF]) + data[cut + 1:]


def archives(depth: int):
    entry = st.tuples(names(), contents(depth), st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]),
                      st.integers(1980, 2030))
    return st.tuples(st.lists(entry, max_size=12 if depth else 30), st.integers(0, 3)).map(_build)


def _build(spec):
    entries, many = spec
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")            # duplicate names are part of the input
        with zipfile.ZipFile(buf, "w") as zf:
            for name, data, method, year in entries:
                info = zipfile.ZipInfo(name, date_time=(year, 1, 1, 0, 0, 0))
                info.compress_type = method
                zf.writestr(info, data)
            for i in range(many * 20):              # many tiny entries: budgets
                zf.writestr(zipfile.ZipInfo(f"many_{i}_{NB}.ipynb.txt", date_time=(2000, 1, 1, 0, 0, 0)), b"")
    return buf.getvalue()


@st.composite
def downloads(draw):
    data = draw(archives(2))
    cut = draw(st.one_of(st.none(), st.integers(0, 10**6)))
    return (data, entries_of(data)) if cut is None else (_corrupt_or_not((data, cut)), None)


def entries_of(data: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [(i.filename, zf.read(i)) for i in zf.infolist()]


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file() and not p.is_symlink()}


@settings(max_examples=EXAMPLES, deadline=None, derandomize=not RANDOM, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
@given(downloads())
def test_any_download_is_imported_or_reported(download):
    data, entries = download
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "lms.zip").write_bytes(data)
        course = tmp / "course"
        course.mkdir()
        (course / "keep.txt").write_text("the instructor's file")
        report = collect.import_download(course, NB, tmp / "lms.zip", [NB, NB2], KitGrading(**BUDGET))
        tree = _tree(tmp)
    assert tree.pop("lms.zip") == data and tree.pop("course/keep.txt") == b"the instructor's file"
    written = {}
    for rel, content in tree.items():
        parts = rel.split("/")
        if parts == ["course", "submitted", f".coursekit-lms-{NB}.json"]:
            continue                           # the import's record of the students' LMS identities
        assert len(parts) >= 5 and parts[:2] == ["course", "submitted"] and parts[3] == NB, rel
        assert collect.invalid_student_id(parts[2], BUDGET["max_student_id_length"]) is None, rel
        if len(parts) > 5 or parts[4] not in (f"{NB}.ipynb", f"{NB2}.ipynb", "timestamp.txt"):
            other = "/".join(parts[4:])        # a student's other file: never a notebook or the submission time
            assert collect_files.name_problem(other, []) is None and not other.lower().endswith(".ipynb"), rel
            assert parts[4].casefold() not in ("timestamp.txt", f"{NB}.ipynb", f"{NB2}.ipynb"), rel
            assert len(content) <= BUDGET["max_student_mb"] * 2**20
            written[rel] = content
            continue
        if parts[4] == "timestamp.txt":        # Blackboard's attempt time, as nbgrader reads it (issue 22)
            assert re.fullmatch(rb"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", content), content
            continue
        assert len(content) <= CAP
        written[rel] = content
    TRIED["examples"] += 1
    if LOG and TRIED["examples"] % 500 == 0:
        with open(LOG, "a") as fh:
            print(TRIED, file=fh)
    TRIED["imported"] += len(written)
    TRIED["problems"] += len(report.problems)
    text = "\n".join(report.problems)
    if entries is None:
        return
    TRIED["entries"] += len(entries)
    values = set(written.values())
    shared = any(w in text for w in ("not read", "max_student", "max_download", "one id for", "archives deep"))
    for name, content in entries:
        path = name.replace("\\", "/")
        parts = path.rstrip("/").split("/")
        receipt = path.endswith(".txt") and "_attempt_" in path
        hidden = any(p.startswith(".") and p not in (".", "..") for p in parts[:-1]) or parts[-1].startswith(".")
        ignored = any(fnmatch.fnmatchcase(p, pat) for p in parts for pat in IGNORE)    # CourseDirectory.ignore
        if path.endswith("/") or hidden or "__MACOSX" in path or receipt or ignored:
            continue
        # the student's own hidden or ignored file (after the LMS's part of the name)
        quiet = sum(report.quiet.values()) and re.search(r"(^|/|_)(\.|feedback(/|$)|__pycache__(/|$))", path)
        accounted = (one_line(path, 80) in text or content in values or shared or quiet
                     or any(_gunzip(content, n) in values for n in (1, 2))
                     or (path.lower().endswith((".zip", ".zip.gz")) and (written or "zip" in text)))
        assert accounted, (name, report.problems[:5])


def _gunzip(data: bytes, layers: int) -> bytes | None:
    try:
        for _ in range(layers):
            data = gzip.decompress(data)
        return data
    except Exception:   # noqa: BLE001
        return None


def teardown_module(module):
    print(f"\nimport fuzz: {TRIED}")
