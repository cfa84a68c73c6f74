"""A student's other files from an LMS download (data they made, a helper module, an image): imported
beside their notebooks as nbgrader's zip_collect would, subfolders kept where the layout has them, within
the student's budgets, names never trusted, and never in place of a notebook or the submission time;
then graded end to end as plain nbgrader grades them (``Autograde.exclude_overwriting`` included)."""
from __future__ import annotations

import csv
import gzip
import io
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from coursekit.config import KitGrading
from coursekit.grading import collect

from test_import import DATE, LATER, NB, _nb  # noqa: E402  (the import tests' names and notebooks)


def _zip(entries) -> bytes:
    """(name, data[, date[, mode]]) per entry; mode: the Unix mode bits stored with it (a link, a FIFO ...)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for entry in entries:
            info = zipfile.ZipInfo(entry[0], date_time=entry[2] if len(entry) > 2 and entry[2] else DATE)
            if len(entry) > 3:
                info.external_attr = entry[3] << 16
            zf.writestr(info, entry[1])
    return buf.getvalue()


def _run(tmp_path: Path, entries, settings=None, name="lms.zip"):
    archive = tmp_path / name
    archive.write_bytes(_zip(entries))
    course = tmp_path / "course"
    course.mkdir(exist_ok=True)
    report = collect.import_download(course, NB, archive, [NB], settings or KitGrading())
    return course / "submitted", report


def _tree(sub: Path) -> dict[str, bytes]:
    """Every file below submitted/ (relative path -> content) but the import's record of LMS ids; no links."""
    out = {}
    for path in sorted(sub.rglob("*")):
        rel = str(path.relative_to(sub))
        if rel.startswith(".coursekit-lms-"):
            continue
        assert not path.is_symlink(), rel
        if path.is_file():
            out[rel] = path.read_bytes()
    return out


def _others(tree: dict[str, bytes], student: str) -> dict[str, bytes]:
    prefix = f"{student}/{NB}/"
    return {k[len(prefix):]: v for k, v in tree.items()
            if k.startswith(prefix) and k[len(prefix):] not in (f"{NB}.ipynb", "timestamp.txt")}


# --------------------------------------------------------------------------------------------
# each layout: the student's files beside their notebook, subfolders where the layout has them
# --------------------------------------------------------------------------------------------
def test_each_layout_brings_the_students_files_with_their_folders(tmp_path):
    own = _zip([(f"proj/{NB}.ipynb", _nb("bob")), ("proj/helper.py", b"X = 1\n"), ("proj/data/mine.csv", b"b,2\n")])
    sub, report = _run(tmp_path, [
        (f"Ann Lee_11_assignsubmission_file_/work/{NB}.ipynb", _nb("ann")),        # Moodle, in folders
        ("Ann Lee_11_assignsubmission_file_/work/data/mine.csv", b"a,1\n"),
        ("Ann Lee_11_assignsubmission_file_/work/img/plot.png", b"\x89PNG"),
        ("Bob Roe_12_assignsubmission_file_/bob.zip", own),                         # a student's own zip
    ])
    tree = _tree(sub)
    assert _others(tree, "Ann-Lee") == {"data/mine.csv": b"a,1\n", "img/plot.png": b"\x89PNG"}, report.problems
    assert _others(tree, "Bob-Roe") == {"helper.py": b"X = 1\n", "data/mine.csv": b"b,2\n"}, report.problems
    assert report.files == {"Ann-Lee": 2, "Bob-Roe": 2} and not report.problems

    # nbgrader's own submitted/ re-zipped (a folder per student, the topic's folder inside), Canvas, Blackboard
    sub, report = _run(tmp_path, [
        (f"submitted/cid/{NB}/{NB}.ipynb", _nb("cid")), (f"submitted/cid/{NB}/data/mine.csv", b"c,3\n"),
        (f"submitted/cid/{NB}/timestamp.txt", b"2024-01-05 10:00:00"),
        (f"submitted/dee/{NB}.ipynb", _nb("dee")), ("submitted/dee/notes.md", b"# dee"),
    ], name="nbgrader.zip")
    tree = _tree(sub)
    assert _others(tree, "cid") == {"data/mine.csv": b"c,3\n"} and _others(tree, "dee") == {"notes.md": b"# dee"}
    assert tree[f"cid/{NB}/timestamp.txt"] == b"2024-01-05 10:00:00", report.problems
    sub, report = _run(tmp_path, [(f"doejane_101_5001_{NB}.ipynb", _nb("jane")), ("doejane_101_5002_mine.csv", b"j,4\n"),
                                  ("roemax_102_5003_notes.txt", b"max")], name="canvas.zip")
    assert report.layouts == ["canvas.zip: Canvas"] and _others(_tree(sub), "doejane") == {"mine.csv": b"j,4\n"}
    assert any("notes.txt: not a notebook, and roemax sent no notebook" in p for p in report.problems)
    sub, report = _run(tmp_path, [
        (f"HW_1_kim_attempt_2024-01-02-10-00-00_{NB}.ipynb", _nb("kim")),
        ("HW_1_kim_attempt_2024-01-02-10-00-00_mine.csv", b"k,5\n"),
        ("HW_1_kim_attempt_2024-01-02-10-00-00.txt", b"Name: Kim (kim)"),           # Blackboard's receipt
    ], name="blackboard.zip")
    assert report.layouts == ["blackboard.zip: Blackboard"] and _others(_tree(sub), "kim") == {"mine.csv": b"k,5\n"}
    assert report.quiet.get("an LMS receipt") == 1


# --------------------------------------------------------------------------------------------
# names are never trusted; nothing of the student's takes a notebook's place or the submission time
# --------------------------------------------------------------------------------------------
HOSTILE = [
    ("proj/../../evil.py", b"x"), ("/etc/cron.d/evil", b"x"), ("C:/evil.py", b"x"), ("proj//twice.py", b"x"),
    ("proj/\x1b[31mred.py", b"x"), ("proj/bi\u202edi.txt", b"x"), ("proj/" + "n" * 300, b"x"),
    ("proj/link.csv", b"/etc/passwd", None, stat.S_IFLNK | 0o777),
    ("proj/fifo", b"", None, stat.S_IFIFO | 0o644),
    ("proj/setuid.sh", b"#!/bin/sh\n", None, stat.S_IFREG | 0o4755),
    ("proj/.DS_Store", b"junk"), ("__MACOSX/proj/._helper.py", b"junk"),
    (f"proj/.ipynb_checkpoints/{NB}-checkpoint.ipynb", _nb("old")), ("proj/__pycache__/helper.cpython-311.pyc", b"pyc"),
    ("proj/timestamp.txt", b"2020-01-01 00:00:00"), ("proj/TIMESTAMP.TXT", b"2020-01-01 00:00:00"),
    (f"proj/{NB}.ipynb/data.csv", b"a folder named like the notebook"),
    ("proj/scratch.ipynb", _nb("scratch")), ("proj/deep/" + "d/" * 20 + "x.txt", b"x"),
    ("proj/Cafe\u0301.txt", b"nfc"), ("proj/data.csv.gz", gzip.compress(b"g,1\n", mtime=0)),
]


def test_hostile_names_links_and_special_files_never_reach_the_disk(tmp_path):
    own = _zip([(f"proj/{NB}.ipynb", _nb("mallory")), ("proj/helper.py", b"X = 1\n")] + HOSTILE)
    sub, report = _run(tmp_path, [(f"HW_1_mallory_attempt_2024-01-02-10-00-00_{NB}.ipynb", _nb("mallory")),
                                  ("HW_1_mallory_attempt_2024-01-02-10-00-00_work.zip", own)])
    tree = _tree(sub)
    assert set(tree) == {f"mallory/{NB}/{n}" for n in (f"{NB}.ipynb", "timestamp.txt", "helper.py", "setuid.sh",
                                                       "Café.txt", "data.csv.gz")}, (sorted(tree), report.problems)
    assert tree[f"mallory/{NB}/timestamp.txt"] == b"2024-01-02 10:00:00"          # Blackboard's, never the zip's
    assert tree[f"mallory/{NB}/data.csv.gz"] == gzip.compress(b"g,1\n", mtime=0)   # the student's .gz, as it came
    assert stat.S_IMODE(os.stat(sub / "mallory" / NB / "setuid.sh").st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["course", "lms.zip"]
    assert sorted(p.name for p in (tmp_path / "course").iterdir()) == ["submitted"]
    text = "\n".join(report.problems)
    for name, why in [("evil.py", "'..'"), ("/etc/cron.d/evil", "absolute"), ("C:/evil.py", "absolute"),
                      ("twice.py", "empty"), ("red.py", "U+001B"), ("di.txt", "U+202E"), ("nnnn", "255"),
                      ("link.csv", "a link"), ("fifo", "special file"), ("proj/timestamp.txt", "submission time"),
                      ("TIMESTAMP.TXT", "submission time"), (f"{NB}.ipynb/data.csv", "named like one of the"),
                      ("scratch.ipynb", "not one of the topic's notebooks"), ("x.txt", "nested more than")]:
        assert any(name in p and why in p for p in report.problems), (name, why, text)
    assert report.quiet.get("a hidden or macOS metadata file") == 3 and report.quiet.get(
        "ignored by CourseDirectory.ignore") == 1, report.quiet


def test_a_students_files_without_a_notebook_or_outside_its_folder_are_reported(tmp_path):
    own = _zip([(f"proj/{NB}.ipynb", _nb("bob")), ("proj/data/mine.csv", b"in"), ("elsewhere/x.csv", b"out")])
    sub, report = _run(tmp_path, [("eve_data.csv", b"eve"), ("README_first.txt", b"not a student"),
                                  ("bob_work.zip", own)])
    tree = _tree(sub)
    assert sorted(tree) == [f"bob/{NB}/{NB}.ipynb", f"bob/{NB}/data/mine.csv"], (sorted(tree), report.problems)
    assert any("eve_data.csv: not a notebook, and eve sent no notebook" in p for p in report.problems)
    assert any("README_first.txt: not a notebook" in p for p in report.problems)
    assert any("elsewhere/x.csv: outside the folder of bob's notebooks (proj)" in p for p in report.problems)


def test_the_students_files_cost_their_own_budget_only(tmp_path):
    entries = [(f"Ann Lee_11_assignsubmission_file_/{NB}.ipynb", _nb("ann")),
               ("Ann Lee_11_assignsubmission_file_/big.bin", b"\0" * (2 * 2**20)),
               ("Ann Lee_11_assignsubmission_file_/small.txt", b"ok")]
    entries += [(f"Ann Lee_11_assignsubmission_file_/many/{i}.txt", b"") for i in range(10)]
    entries += [(f"Bob Roe_12_assignsubmission_file_/{NB}.ipynb", _nb("bob")),
                ("Bob Roe_12_assignsubmission_file_/data.bin", b"\1" * (2**20))]
    sub, report = _run(tmp_path, entries, settings=KitGrading(max_student_mb=1.5, max_student_entries=8))
    tree = _tree(sub)
    ann = _others(tree, "Ann-Lee")
    assert "big.bin" not in ann and ann["small.txt"] == b"ok" and len(ann) == 8 - 2, sorted(ann)
    assert _others(tree, "Bob-Roe") == {"data.bin": b"\1" * 2**20}
    assert f"Ann-Lee/{NB}/{NB}.ipynb" in tree
    assert any("big.bin" in p and "max_student_mb" in p for p in report.budget_problems), report.problems
    assert any("Ann-Lee's entries: more than 8 entries" in p for p in report.budget_problems), report.problems


def test_a_new_download_replaces_the_students_earlier_files_and_the_newer_of_two_is_kept(tmp_path):
    sub, report = _run(tmp_path, [(f"alice/{NB}.ipynb", _nb("alice")), ("alice/data/old.csv", b"old"),
                                  ("alice/keep.txt", b"v1")])
    assert _others(_tree(sub), "alice") == {"data/old.csv": b"old", "keep.txt": b"v1"}
    sub, report = _run(tmp_path, [(f"alice/{NB}.ipynb", _nb("alice")), ("alice/keep.txt", b"v2", LATER),
                                  ("alice/work.zip", _zip([("keep.txt", b"older", DATE)]))])
    assert _others(_tree(sub), "alice") == {"keep.txt": b"v2"}, report.problems
    assert any("two files for alice's keep.txt" in p and "kept the newer" in p for p in report.problems)


def test_one_id_for_two_submitters_counts_their_files_too(tmp_path):
    sub, report = _run(tmp_path, [(f"smith_101_9001_{NB}.ipynb", _nb("smith one")),
                                  ("smith_102_9002_data.csv", b"smith two"),
                                  (f"jones_103_9003_{NB}.ipynb", _nb("jones"))])
    assert sorted(_tree(sub)) == [f"jones/{NB}/{NB}.ipynb"]
    assert any("one id for 2 different submitters" in p for p in report.problems), report.problems


# --------------------------------------------------------------------------------------------
# end to end: `python -m coursekit grade --from download.zip`, as plain nbgrader grades it
# --------------------------------------------------------------------------------------------
def _assignment(src: Path) -> None:
    from test_nbgrader_assignments import _cell, _notebook
    folder = src / "hw9"
    folder.mkdir(parents=True)
    (folder / "answer.txt").write_text("0\n")          # exclude_overwriting: the student's own stays
    (folder / "shared.txt").write_text("instructor\n")   # not listed: the instructor's replaces the student's
    nb = _notebook([
        _cell("code", "def mean():\n    ### BEGIN SOLUTION\n    import csv\n    rows = list(csv.reader(open('data/mine.csv')))\n"
                      "    return sum(float(r[1]) for r in rows) / len(rows)\n    ### END SOLUTION",
              solution=True, grade_id="mean"),
        _cell("code", "assert mean() == float(open('answer.txt').read())", grade=True, locked=True, points=2,
              grade_id="mean_tests"),
        _cell("code", "assert open('shared.txt').read() == 'instructor\\n'", grade=True, locked=True, points=1,
              grade_id="shared_tests"),
        _cell("code", "import helper                 # the student's own module beside the notebook\n"
                      "assert helper.SCALE == 3", grade=True, locked=True, points=1, grade_id="helper_tests"),
    ])
    nbformat.write(nb, str(folder / "hw9.ipynb"))


@pytest.mark.slow
def test_files_from_a_download_grade_as_plain_nbgrader_grades_them(tmp_path):
    from coursekit import synth
    from test_nbgrader_assignments import FAST, _plain_nbgrader, _rows, _same_as_plain
    _assignment(tmp_path / "src")
    course = synth.make_course(tmp_path / "course", "hw9", source_dir=tmp_path / "src" / "hw9",
                               config_extra=FAST + 'c.Autograde.exclude_overwriting = {"hw9": ["answer.txt"]}\n')
    solution = (course / "solutions" / "hw9" / "hw9.ipynb").read_bytes()
    own = _zip([("hw9/hw9.ipynb", solution), ("hw9/data/mine.csv", b"a,4\nb,8\n"), ("hw9/answer.txt", b"6\n"),
                ("hw9/helper.py", b"SCALE = 3\n"), ("hw9/shared.txt", b"student\n")])
    download = tmp_path / "download.zip"
    download.write_bytes(_zip([
        ("Ann Lee_11_assignsubmission_file_/ann.zip", own),                               # all of it: 4/4
        ("Bob Roe_12_assignsubmission_file_/hw9.ipynb", solution),                        # no data, no helper
        ("Bob Roe_12_assignsubmission_file_/answer.txt", b"6\n"),
    ]))
    done = subprocess.run([sys.executable, "-m", "coursekit", "grade", "hw9", "--from", str(download), "--root",
                           str(course), "--workers", "2", "--quiet", "--no-feedback"],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert (course / "submitted" / "Ann-Lee" / "hw9" / "data" / "mine.csv").read_bytes() == b"a,4\nb,8\n"
    assert (course / "submitted" / "Ann-Lee" / "hw9" / "helper.py").read_bytes() == b"SCALE = 3\n"
    kit = _rows(course / "gradebook.db", "hw9")
    assert kit[("Ann-Lee", "hw9", "mean_tests")] == (2.0, 2.0, False), kit          # read its own data/mine.csv
    assert kit[("Ann-Lee", "hw9", "shared_tests")] == (1.0, 1.0, False)             # the instructor's shared.txt
    assert kit[("Ann-Lee", "hw9", "helper_tests")] == (1.0, 1.0, False)             # imported its own helper.py
    assert kit[("Bob-Roe", "hw9", "mean_tests")] == (0.0, 2.0, False)               # no data file of his own
    assert kit[("Bob-Roe", "hw9", "helper_tests")] == (0.0, 1.0, False)
    grades = {r["student_id"]: r for r in csv.DictReader((course / "grades.csv").open())}
    assert set(grades) == {"Ann-Lee", "Bob-Roe"}
    assert _same_as_plain(kit, _plain_nbgrader(course, tmp_path / "plain", "hw9")) == {}


# --------------------------------------------------------------------------------------------
# a failed `--notebook` regrade changes that notebook's results only
# --------------------------------------------------------------------------------------------
def test_removing_a_failed_notebooks_outputs_keeps_the_other_notebooks(tmp_path):
    from coursekit.grading import gradebook
    for area in ("autograded", "feedback"):
        folder = tmp_path / area / "ann" / "hw1"
        folder.mkdir(parents=True)
        for name in ("part1", "part-2"):
            (folder / f"{name}.{'ipynb' if area == 'autograded' else 'html'}").write_text(name)
        (folder / "timestamp.txt").write_text("2024-03-01 11:00:00")
    gradebook.remove_stale_outputs(tmp_path, "ann", "hw1", ["part1"])
    assert sorted(p.name for p in (tmp_path / "autograded" / "ann" / "hw1").iterdir()) == ["part-2.ipynb",
                                                                                            "timestamp.txt"]
    assert sorted(p.name for p in (tmp_path / "feedback" / "ann" / "hw1").iterdir()) == ["part-2.html",
                                                                                          "timestamp.txt"]
    gradebook.remove_stale_outputs(tmp_path, "ann", "hw1")          # the whole submission failed: all of it
    assert not (tmp_path / "autograded" / "ann" / "hw1").exists() and not (tmp_path / "feedback" / "ann").joinpath(
        "hw1").exists()


@pytest.mark.slow
def test_a_failed_notebook_regrade_keeps_the_other_notebooks_results(tmp_path):
    from nbgrader.api import Gradebook
    from test_nbgrader_assignments import HW_CONFIG, _hw_submit, _rows, _write_hw

    from coursekit import synth
    from coursekit.grading.pipeline import Options, grade
    _write_hw(tmp_path / "src")
    course = synth.make_course(tmp_path / "course", "hw1", source_dir=tmp_path / "src" / "hw1", config_extra=HW_CONFIG)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        gb.update_or_create_assignment("hw1")
    _hw_submit(course, "ann")
    first = grade(Options(topic="hw1", root=course, workers=1, progress=False, feedback=False))
    assert first.graded == ["ann"], first.text()
    out = course / "autograded" / "ann" / "hw1"
    kept = (out / "part-2.ipynb").read_bytes()
    (course / "submitted" / "ann" / "hw1" / "part1.ipynb").write_text("{ not json")
    again = grade(Options(topic="hw1", root=course, workers=1, progress=False, feedback=False, notebook="part1"))
    assert list(again.failed) == ["ann"], again.text()
    assert (out / "part-2.ipynb").read_bytes() == kept                  # the other notebook's executed file
    assert _rows(course / "gradebook.db", "hw1")[("ann", "part-2", "answer_tests")] == (1.0, 1.0, False)
    assert not (out / "part1.ipynb").exists()                         # no stale result of the failed one
