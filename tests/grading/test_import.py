"""The LMS import under attack: one upload never hides the rest of the class, ids come only from the part of
a name the LMS wrote, a file never silently replaces another; and each supported layout imports correctly."""
from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

import nbformat
import pytest

from coursekit.config import KitGrading
from coursekit.grading import collect

NB = "01_tensors"
DATE = (2024, 1, 1, 0, 0, 0)
LATER = (2024, 2, 1, 0, 0, 0)


def _nb(text: str) -> bytes:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(f"print({text!r})")]
    return nbformat.writes(nb).encode()


def _zip(entries, compression=zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for entry in entries:
            name, data = entry[0], entry[1]
            zf.writestr(zipfile.ZipInfo(name, date_time=entry[2] if len(entry) > 2 else DATE), data)
    return buf.getvalue()


def _run(tmp_path: Path, entries, notebooks=(NB,), settings=None, pattern=None):
    archive = tmp_path / "lms.zip"
    archive.write_bytes(_zip(entries))
    course = tmp_path / "course"
    course.mkdir(exist_ok=True)
    report = collect.import_download(course, NB, archive, list(notebooks), settings or KitGrading(), pattern)
    return course / "submitted", report


def _got(sub: Path) -> dict[str, str]:
    """student -> the text its notebook prints."""
    out = {}
    for path in sorted(sub.glob(f"*/{NB}/{NB}.ipynb")):
        nb = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
        out[path.parent.parent.name] = nb.cells[0].source.removeprefix("print('").removesuffix("')")
    return out


# --------------------------------------------------------------------------------------------
# one upload never hides the rest of the class
# --------------------------------------------------------------------------------------------
def test_a_zip_of_20000_tiny_files_costs_only_its_owner(tmp_path):
    bomb = _zip([(f"junk/{i}.txt", b"") for i in range(20000)])
    entries = [(f"aaron_{NB}.ipynb", _nb("aaron")), ("mallory_submission.zip", bomb)]
    entries += [(f"s{i:03d}_{NB}.ipynb", _nb(f"s{i:03d}")) for i in range(50)]
    sub, report = _run(tmp_path, entries)
    got = _got(sub)
    assert len(got) == 51 and got["s049"] == "s049" and got["aaron"] == "aaron", sorted(got)
    assert "mallory" in report.problems[0] and "max_student_entries" in report.problems[0], report.problems[:3]
    assert report.budget_problems == report.problems[:len(report.budget_problems)]


def test_one_students_many_files_cost_only_their_own_entries(tmp_path):
    entries = [(f"mallory_{i}_{NB}.ipynb.txt", b"") for i in range(1200)]
    entries += [(f"s{i:03d}_{NB}.ipynb", _nb(f"s{i:03d}")) for i in range(20)]
    sub, report = _run(tmp_path, entries, settings=KitGrading(max_student_entries=100))
    assert len(_got(sub)) == 20
    assert report.problems[0].startswith("mallory's entries: more than 100 entries"), report.problems[0]
    assert "1100 more skipped" in report.problems[0]


def test_the_download_budget_names_the_students_it_left_out(tmp_path):
    entries = [(f"s{i:03d}_{NB}.ipynb", _nb(f"s{i:03d}")) for i in range(30)]
    sub, report = _run(tmp_path, entries, settings=KitGrading(max_download_entries=10))
    assert len(_got(sub)) == 10
    assert "max_download_entries" in report.problems[0] and "20 entries not read" in report.problems[0]
    assert "s029" in report.problems[0]


def test_a_gzip_bomb_costs_only_its_owner(tmp_path):
    bomb = gzip.compress(b" " * (30 * 2**20))      # 30 MiB of spaces in 30 KiB, over the 20 MiB cap
    entries = [(f"mallory_{NB}.ipynb.gz", bomb), (f"alice_{NB}.ipynb", _nb("alice"))]
    sub, report = _run(tmp_path, entries)
    assert _got(sub) == {"alice": "alice"}
    assert any("mallory" in p and "larger than 20 MiB" in p for p in report.problems), report.problems


def test_every_problem_is_kept(tmp_path):
    entries = [(f"=bad{i}_{NB}.ipynb", b"x") for i in range(1500)] + [(f"alice_{NB}.ipynb", _nb("alice"))]
    sub, report = _run(tmp_path, entries)
    assert _got(sub) == {"alice": "alice"}
    assert len(report.problems) == 1500


# --------------------------------------------------------------------------------------------
# ids come only from the part of a name the LMS controls
# --------------------------------------------------------------------------------------------
def test_moodle_folders_a_file_named_for_a_classmate_stays_its_authors(tmp_path):
    entries = [(f"alice_11_assignsubmission_file_/{NB}.ipynb", _nb("alice")),
               (f"mallory_12_assignsubmission_file_/alice_{NB}.ipynb", _nb("mallory"), LATER),
               ("mallory_12_assignsubmission_file_/alice_work.zip", _zip([(f"{NB}.ipynb", _nb("mallory zip"))]), LATER)]
    sub, report = _run(tmp_path, entries)
    got = _got(sub)
    assert got["alice"] == "alice", got
    assert got["mallory"] in ("mallory", "mallory zip")
    assert any("two files for mallory" in p for p in report.problems), report.problems


def test_an_id_with_a_newline_or_control_is_refused(tmp_path):
    sub, report = _run(tmp_path, [(f"bob\n_{NB}.ipynb", _nb("nl")), (f"bob_{NB}.ipynb", _nb("bob")),
                                  (f"bo\u200bb_{NB}.ipynb", _nb("zw"))])
    assert sorted(p.name for p in sub.iterdir()) == ["bob"]
    assert sum("U+000A" in p or "U+200B" in p for p in report.problems) == 2, report.problems


@pytest.mark.parametrize("bad", ["bob\n", "bob\r", "a\u2028b", "a\u2029", "a\u00a0b", "a\u3000b", "a\x85", "a\u200bb",
                                 "a\u202eb", "a\ufeff", "e\u0301", "a\ue000", "a\U000e0041", "a\tb", "bob "])
def test_invalid_student_id_refuses_controls_separators_and_unnormalised(bad):
    assert collect.invalid_student_id(bad), repr(bad)


def test_a_students_zip_never_speaks_for_a_classmate(tmp_path):
    own = _zip([(f"alice_{NB}.ipynb", _nb("for alice")), (f"{NB}.ipynb", _nb("bob"))])
    sub, report = _run(tmp_path, [(f"alice_{NB}.ipynb", _nb("alice")), ("bob_work.zip", own, LATER)])
    assert _got(sub) == {"alice": "alice", "bob": "bob"}
    assert any("named for alice inside bob's zip" in p for p in report.problems), report.problems


def test_one_id_for_two_submitters_imports_neither(tmp_path):
    entries = [(f"smith_101_9001_{NB}.ipynb", _nb("smith one")),
               (f"smith_LATE_102_9002_{NB}.ipynb", _nb("smith two"), LATER),
               (f"jones_103_9003_{NB}.ipynb", _nb("jones"))]
    sub, report = _run(tmp_path, entries)
    assert _got(sub) == {"jones": "jones"}
    assert any("one id for 2 different submitters" in p and "Canvas user 101" in p for p in report.problems)


# --------------------------------------------------------------------------------------------
# each layout
# --------------------------------------------------------------------------------------------
def test_moodle_flat(tmp_path):
    entries = [(f"alice_11_assignsubmission_file_{NB}.ipynb", _nb("alice")),
               # the student's own file name may repeat Moodle's text and name a classmate: still bob's
               (f"bob_12_assignsubmission_file_carol_13_assignsubmission_file_{NB}.ipynb", _nb("bob")),
               (f"carol_13_assignsubmission_file_{NB}.ipynb", _nb("carol")),
               ("dave_14_assignsubmission_file_notes.pdf", b"%PDF")]
    sub, report = _run(tmp_path, entries)
    assert _got(sub) == {"alice": "alice", "bob": "bob", "carol": "carol"}
    assert report.layouts == ["lms.zip: Moodle"] and any("notes.pdf: not a notebook" in p for p in report.problems)


def test_moodle_in_folders_with_subfolders_and_a_zip(tmp_path):
    entries = [(f"alice_11_assignsubmission_file_/work/{NB}.ipynb", _nb("alice")),
               ("bob_12_assignsubmission_file/bob.zip", _zip([(f"x/{NB}.ipynb", _nb("bob"))])),
               (f"carol_13_assignsubmission_file_/{NB}-1.ipynb", _nb("carol"))]
    sub, report = _run(tmp_path, entries)
    assert _got(sub) == {"alice": "alice", "bob": "bob", "carol": "carol"}, report.problems
    assert report.layouts == ["lms.zip: Moodle, in folders"]


def test_canvas_late_and_resubmitted(tmp_path):
    entries = [(f"doejane_101_5001_{NB}.ipynb", _nb("jane")),
               (f"roemax_LATE_102_5002_{NB}-1.ipynb", _nb("max")),
               # the student's file names a classmate: still roemax's
               (f"roemax_102_5003_doejane_{NB}.ipynb", _nb("max again"), DATE),
               ("smithann_103_5004_ann.zip", _zip([(f"{NB}.ipynb", _nb("ann"))]))]
    sub, report = _run(tmp_path, entries)
    assert _got(sub) == {"doejane": "jane", "roemax": "max again", "smithann": "ann"}, report.problems
    assert report.layouts == ["lms.zip: Canvas"]
    assert any("two files for roemax" in p and "kept the newer" in p for p in report.problems)


def test_blackboard_attempts_receipts_and_a_forged_attempt_in_a_file_name(tmp_path):
    entries = [(f"HW_1_alice_attempt_2024-01-02-10-00-00_{NB}.ipynb", _nb("alice late"), DATE),
               (f"HW_1_alice_attempt_2024-01-01-10-00-00_{NB}.ipynb", _nb("alice early"), LATER),
               ("HW_1_alice_attempt_2024-01-02-10-00-00.txt", b"Name: Alice (alice)"),
               (f"HW_1_mallory_attempt_2024-01-03-10-00-00_HW_1_bob_attempt_2024-01-09-10-00-00_{NB}.ipynb",
                _nb("mallory")),
               (f"HW_1_bob_attempt_2024-01-01-09-00-00_{NB}.ipynb", _nb("bob"))]
    sub, report = _run(tmp_path, entries)
    assert _got(sub) == {"alice": "alice late", "bob": "bob", "mallory": "mallory"}, report.problems
    assert report.layouts == ["lms.zip: Blackboard"] and report.quiet.get("an LMS receipt") == 1


def test_a_folder_per_student_zip_and_nbgraders_submitted_folder(tmp_path):
    sub, report = _run(tmp_path, [(f"alice/{NB}.ipynb", _nb("alice")), (f"bob/bob_{NB}.ipynb", _nb("bob")),
                                  (f"carol/carol_{NB}.ipynb", _nb("carol"))])
    assert _got(sub) == {"alice": "alice", "bob": "bob", "carol": "carol"}, report.problems

    src = tmp_path / "dl" / "submitted"
    for student in ("dave", "erin"):
        (src / student / NB).mkdir(parents=True)
        (src / student / NB / f"{NB}.ipynb").write_bytes(_nb(student))
    (src / "erin" / NB / f"frank_{NB}.ipynb").write_bytes(_nb("erin's copy named for frank"))
    course = tmp_path / "course2"
    course.mkdir()
    report = collect.import_download(course, NB, tmp_path / "dl", [NB], KitGrading())
    got = _got(course / "submitted")
    assert set(got) == {"dave", "erin"} and got["dave"] == "dave", (got, report.problems)
    assert any("two files for erin" in p for p in report.problems)


def test_pattern_still_overrides(tmp_path):
    sub, report = _run(tmp_path, [(f"x-alice-{NB}.ipynb", _nb("alice"))],
                       pattern=rf"x-(?P<student_id>[a-z]+)-(?P<file_id>{NB}\.ipynb)")
    assert _got(sub) == {"alice": "alice"} and report.layouts == ["lms.zip: --pattern"]
    with pytest.raises(SystemExit):
        _run(tmp_path, [], pattern="(")


def test_a_folder_of_downloads_reads_each_with_its_own_layout_and_budget(tmp_path):
    dl = tmp_path / "dl"
    dl.mkdir()
    (dl / "moodle.zip").write_bytes(_zip([(f"alice_11_assignsubmission_file_/bob_{NB}.ipynb", _nb("alice"))]))
    (dl / "canvas.zip").write_bytes(_zip([(f"carol_101_5001_{NB}.ipynb", _nb("carol"))]
                                         + [(f"carol_101_5001_{i}.txt", b"") for i in range(30)]))
    (dl / f"dave_12_assignsubmission_file_{NB}.ipynb").write_bytes(_nb("dave"))
    course = tmp_path / "course"
    course.mkdir()
    report = collect.import_download(course, NB, dl, [NB], KitGrading(max_download_entries=20))
    assert _got(course / "submitted") == {"alice": "alice", "carol": "carol", "dave": "dave"}, report.problems
    assert sorted(report.layouts) == ["canvas.zip: Canvas", "dl: Moodle", "moodle.zip: Moodle, in folders"]
    assert report.problems[0].startswith("canvas.zip: more than 20 entries"), report.problems[0]
