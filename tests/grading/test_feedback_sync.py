"""Feedback follows the instructor's hand, formulas render offline, and the LMS's names and times reach
the gradebook (issue 22).

* A run regenerates the feedback of every student whose grades or comments changed since their feedback
  was made (a manual grade or comment in Formgrader, a changed autograde), and only theirs; ``--force``
  keeps a manual grade's review state where the cell's autograde did not change
  (``test_feedback_follows_manual_grades_on_01_tensors``, a real run; ``test_merge_*`` on the gradebook).
* The feedback page carries MathJax from the environment, inline and allowed by its hash.
* Moodle's full name becomes a slug id and the student's name, Canvas's and Blackboard's login the
  name, Blackboard's attempt time the submission time (timestamp.txt, which nbgrader reads).

The browser half (Formgrader's own UI, rendered formulas, names in the list) is tests/e2e/test_browser.py.
"""
from __future__ import annotations

import html as htmllib
import io
import re
import zipfile
from pathlib import Path

import nbformat
import pytest

from coursekit import notebook, synth
from coursekit.config import KitGrading
from coursekit.grading import collect, gradebook, lms, mathjax, plan
from coursekit.grading.model import Grade, JobResult, NotebookResult
from coursekit.grading.pipeline import Options, grade
from coursekit.paths import ROOT

TINY = synth.TINY_TOPIC
FAST = 'c.KitSandbox.preload_modules = ["math"]\n'


def _text(path: Path) -> str:
    """What a feedback page shows: scripts and tags removed, entities decoded."""
    page = re.sub(r"<script\b.*?</script>", "", Path(path).read_text(), flags=re.S)
    return htmllib.unescape(re.sub(r"<[^>]+>", "", page))


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), data)
    return buf.getvalue()


def _nb(text: str = "x") -> bytes:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(f"print({text!r})")]
    return nbformat.writes(nb).encode()


# --------------------------------------------------------------------------------------------
# names and submission times from the LMS download
# --------------------------------------------------------------------------------------------
def test_moodle_ids_are_slugs_of_the_full_name():
    assert lms.slug("Jane Doe") == "Jane-Doe"
    assert lms.slug("Seán O'Brien") == "Seán-O-Brien"
    assert lms.slug("Sea\u0301n  O'Brien ") == "Seán-O-Brien"          # NFC first
    assert lms.slug("李 小龍") == "李-小龍" and lms.slug("?!") == ""
    assert lms.split_name("Mary  Ann Lee") == ("Mary Ann", "Lee") and lms.split_name("Cher") == (None, "Cher")
    assert lms.blackboard_time("2024-03-05-14-30-00") == "2024-03-05 14:30:00"
    for name in ("Jane Doe", "Seán O'Brien", "李 小龍"):
        assert collect.invalid_student_id(lms.slug(name)) is None, name


def downloads(folder: Path, notebook_name: str, data: dict[str, bytes]) -> Path:
    """One download per LMS in ``folder`` (a folder of downloads is one --source): ``data`` maps the
    students jane, sean, canvas, bb to their notebook."""
    folder.mkdir(parents=True, exist_ok=True)
    nb = f"{notebook_name}.ipynb"
    (folder / "moodle_folders.zip").write_bytes(_zip({f"Jane Doe_11_assignsubmission_file_/{nb}": data["jane"]}))
    (folder / "moodle_flat.zip").write_bytes(_zip({f"Seán O'Brien_12_assignsubmission_file_{nb}": data["sean"]}))
    (folder / "canvas.zip").write_bytes(_zip({f"doejane_LATE_345_678_{nb}": data["canvas"]}))
    (folder / "blackboard.zip").write_bytes(_zip({
        f"Homework 1_bbuser_attempt_2024-03-05-14-30-00_{nb}": data["bb"],
        "Homework 1_bbuser_attempt_2024-03-05-14-30-00.txt": b"receipt"}))
    return folder


EXPECTED_NAMES = {"Jane-Doe": ("Jane", "Doe"), "Seán-O-Brien": ("Seán", "O'Brien"),
                  "doejane": (None, "doejane"), "bbuser": (None, "bbuser")}


def test_import_records_names_and_times(tmp_path):
    src = downloads(tmp_path / "dl", "01_tensors", {s: _nb(s) for s in ("jane", "sean", "canvas", "bb")})
    course = tmp_path / "course"
    course.mkdir()
    report = collect.import_download(course, "01_tensors", src, ["01_tensors"], KitGrading())
    assert sorted(report.imported) == sorted(EXPECTED_NAMES), report.problems
    assert report.names == EXPECTED_NAMES
    assert (course / "submitted/bbuser/01_tensors/timestamp.txt").read_text() == "2024-03-05 14:30:00"
    assert not (course / "submitted/Jane-Doe/01_tensors/timestamp.txt").exists()   # Moodle's names carry no time


def test_two_moodle_participants_with_one_slug_are_refused_with_the_way_out(tmp_path):
    entries = {"Jane Doe_11_assignsubmission_file_01_tensors.ipynb": _nb("first"),
               "Jane-Doe_12_assignsubmission_file_01_tensors.ipynb": _nb("second"),
               "Ann Lee_13_assignsubmission_file_01_tensors.ipynb": _nb("ann")}
    (tmp_path / "lms.zip").write_bytes(_zip(entries))
    course = tmp_path / "c1"
    course.mkdir()
    report = collect.import_download(course, "01_tensors", tmp_path / "lms.zip", ["01_tensors"], KitGrading())
    assert sorted(report.imported) == ["Ann-Lee"]
    problem = next(p for p in report.problems if p.startswith("Jane-Doe: one id for 2 different submitters"))
    assert "participant 11" in problem and "participant 12" in problem and "--pattern" in problem
    pattern = re.search(r"--pattern '([^']+)'", problem).group(1)     # the way out it names works
    course = tmp_path / "c2"
    course.mkdir()
    report = collect.import_download(course, "01_tensors", tmp_path / "lms.zip", ["01_tensors"], KitGrading(), pattern)
    assert sorted(report.imported) == ["11", "12", "13"], report.problems


def test_a_name_without_letters_and_a_time_that_is_not_one_are_reported(tmp_path):
    (tmp_path / "lms.zip").write_bytes(_zip({"?!_11_assignsubmission_file_01_tensors.ipynb": _nb()}))
    course = tmp_path / "c"
    course.mkdir()
    report = collect.import_download(course, "01_tensors", tmp_path / "lms.zip", ["01_tensors"], KitGrading())
    assert not report.imported and any("has no letter or digit" in p for p in report.problems), report.problems
    (tmp_path / "p.zip").write_bytes(_zip({"ann__tuesday_01_tensors.ipynb": _nb()}))
    pattern = r"(?P<student_id>[^_]+)__(?P<timestamp>[^_]+)_(?P<file_id>01_tensors\.ipynb)"
    report = collect.import_download(course, "01_tensors", tmp_path / "p.zip", ["01_tensors"], KitGrading(), pattern)
    assert report.imported == {"ann": ["01_tensors.ipynb"]}
    assert any("the submission time 'tuesday' is not a date and time" in p for p in report.problems)
    assert not (course / "submitted/ann/01_tensors/timestamp.txt").exists()


# --------------------------------------------------------------------------------------------
# MathJax in the feedback page
# --------------------------------------------------------------------------------------------
def test_feedback_mathjax_is_inline_and_allowed_by_its_hash_only():
    text = mathjax.inline_script()
    assert "window.MathJax = {" in text[:2000] and len(text) > 1_000_000, "MathJax is not installed"
    assert "</script" not in text.lower() and "<!--" not in text
    csp = str(mathjax.feedback_csp())
    assert mathjax.script_hash() in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert "https:" not in csp.split("script-src")[1].split(";")[0] and "cdn" not in csp
    config = mathjax.CONFIG.read_text()
    for package in ("html", "require", "autoload", "bbox", "setoptions", "action", "unicode"):
        assert f'"{package}"' not in config, package     # no \href, \style, \require ...
    with_math = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("loss $\\ell(z)$")])
    without = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("no formula"),
                                              nbformat.v4.new_code_cell("x = '$'")])
    assert str(mathjax.feedback_script(with_math)).startswith("<script>// MathJax 3")
    assert str(mathjax.feedback_script(without)) == ""


def test_state_knows_stale_feedback(tmp_path):
    state = plan.State(tmp_path / "s.json")
    state.record("ann", "d1", "graded")
    assert state.feedback_stale("ann", "g1")                 # never made
    state.feedback_done("ann", "d1", "g1")
    assert not state.feedback_stale("ann", "g1")
    assert state.feedback_stale("ann", "g2")                 # a manual grade since
    state.record("ann", "d2", "graded")
    assert state.feedback_stale("ann", "g1")                 # resubmitted


# --------------------------------------------------------------------------------------------
# the gradebook: review state, fingerprints, names
# --------------------------------------------------------------------------------------------
@pytest.fixture
def tiny_course(tmp_path):
    synth.write_tiny_topic(tmp_path / "src")
    return synth.make_course(tmp_path / "course", TINY, source_dir=tmp_path / "src" / TINY, config_extra=FAST)


def _result(student, digest, square_tests: float) -> JobResult:
    grades = {"ex1_double_tests": Grade(2.0, 2.0, False), "ex2_square_tests": Grade(square_tests, 3.0, False)}
    return JobResult(student, digest, "graded", notebooks={TINY: NotebookResult(grades, {}, 0.0)})


def test_merge_keeps_the_review_state_of_a_manual_grade_whose_autograde_did_not_change(tiny_course):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{tiny_course / 'gradebook.db'}") as gb:
        gradebook.merge(gb, TINY, _result("ben", "d1", 0.0))
        before = gradebook.fingerprints(gb, TINY)["ben"]
        g = gb.find_grade("ex2_square_tests", TINY, TINY, "ben")
        g.manual_score, g.needs_manual_grade = 1.5, False             # what Formgrader does
        gb.find_comment("ex2_square", TINY, TINY, "ben").manual_comment = "almost"
        gb.db.commit()
        assert gradebook.fingerprints(gb, TINY)["ben"] != before       # the feedback is stale now

        def state():
            g = gb.find_grade("ex2_square_tests", TINY, TINY, "ben")
            return g.manual_score, bool(g.needs_manual_grade)

        gradebook.merge(gb, TINY, _result("ben", "d1", 0.0), same_content=True)      # --force, same autograde
        assert state() == (1.5, False)
        gradebook.merge(gb, TINY, _result("ben", "d1", 3.0), same_content=True)      # the autograde changed
        assert state() == (1.5, True)
        g = gb.find_grade("ex2_square_tests", TINY, TINY, "ben")
        g.needs_manual_grade = False
        gb.db.commit()
        gradebook.merge(gb, TINY, _result("ben", "d2", 3.0), same_content=False)     # resubmitted
        assert state() == (1.5, True)
        assert gb.find_comment("ex2_square", TINY, TINY, "ben").manual_comment == "almost"


def test_names_go_where_the_gradebook_has_none(tiny_course):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{tiny_course / 'gradebook.db'}") as gb:
        gb.update_or_create_student("kept", first_name="Given", last_name="ByHand")
        n = gradebook.record_names(gb, {"Jane-Doe": ("Jane", "Doe"), "kept": ("LMS", "Name"), "none": (None, None)})
        assert n == 1
        jane, kept = gb.find_student("Jane-Doe"), gb.find_student("kept")
        assert (jane.first_name, jane.last_name) == ("Jane", "Doe")
        assert (kept.first_name, kept.last_name) == ("Given", "ByHand")


@pytest.mark.slow
def test_names_and_times_reach_the_gradebook_and_formgraders_list(tiny_course, tmp_path):
    """A grading run with four LMS downloads: the names, the Blackboard time as the submission's time,
    and Formgrader's API lists the Blackboard student as graded (its timestamp.txt and the gradebook agree)."""
    from nbgrader.api import Gradebook
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.utils import parse_utc
    from traitlets.config import Config

    student_nb = tiny_course / "notebooks" / TINY / f"{TINY}.ipynb"
    right = nbformat.writes(synth.make_submission(student_nb, synth.correct_answers(
        tiny_course / "solutions" / TINY / f"{TINY}.ipynb"))).encode()
    src = downloads(tmp_path / "dl", TINY, {s: right for s in ("jane", "sean", "canvas", "bb")})
    summary = grade(Options(topic=TINY, root=tiny_course, source=src, workers=2, progress=False))
    assert sorted(summary.graded) == sorted(EXPECTED_NAMES), summary.text()
    with Gradebook(f"sqlite:///{tiny_course / 'gradebook.db'}") as gb:
        for sid, (first, last) in EXPECTED_NAMES.items():
            s = gb.find_student(sid)
            assert (s.first_name, s.last_name) == (first, last), sid
        assert gb.find_submission(TINY, "bbuser").timestamp == parse_utc("2024-03-05 14:30:00")
    c = Config()
    c.CourseDirectory.root = str(tiny_course)
    api = NbGraderAPI(CourseDirectory(config=c), config=c)
    listed = {s["student"]: s for s in api.get_submissions(TINY)}
    assert listed["bbuser"]["autograded"] and listed["bbuser"]["display_timestamp"].startswith("2024-03-05 14:30:00")
    assert listed["Jane-Doe"]["first_name"] == "Jane" and listed["Jane-Doe"]["autograded"]


# --------------------------------------------------------------------------------------------
# a real run: the feedback follows a manual grade and comment, and --force keeps them reviewed
# --------------------------------------------------------------------------------------------
TOPIC = "01_tensors"
NB = f"{TOPIC}.ipynb"
SOURCE = ROOT / "solutions" / TOPIC / NB


@pytest.mark.slow
def test_feedback_follows_manual_grades_on_01_tensors(tmp_path):
    from nbgrader.api import Gradebook

    course = synth.make_course(tmp_path / "course", TOPIC)
    exs = notebook.exercises(SOURCE)
    first = exs[0]
    source_nb = nbformat.read(SOURCE, as_version=4)
    test_id = notebook.grade_id(source_nb.cells[first.test_indices[0]])
    right = synth.correct_answers(SOURCE)
    student_nb = course / "notebooks" / TOPIC / NB
    synth.submit(course, TOPIC, "ann", {NB: synth.make_submission(student_nb, right)})
    synth.submit(course, TOPIC, "ben", {NB: synth.make_submission(student_nb, {**right, first.grade_id: "pass"})})

    def run(**kw):
        return grade(Options(topic=TOPIC, root=course, workers=2, progress=False, **kw))

    s1 = run()
    assert sorted(s1.graded) == ["ann", "ben"], s1.text()
    total = s1.scores["ann"][1]
    ben_score = s1.scores["ben"][0]
    ann_fb = course / "feedback" / "ann" / TOPIC / f"{TOPIC}.html"
    ben_fb = course / "feedback" / "ben" / TOPIC / f"{TOPIC}.html"
    assert "Broadcast first" not in _text(ben_fb)
    ann_before = (ann_fb.read_bytes(), ann_fb.stat().st_mtime_ns)

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:     # as Formgrader saves them
        g = gb.find_grade(test_id, TOPIC, TOPIC, "ben")
        assert g.auto_score == 0
        g.manual_score, g.needs_manual_grade = 1.0, False
        gb.find_comment(first.grade_id, TOPIC, TOPIC, "ben").manual_comment = "Broadcast first, then add."
        gb.db.commit()

    s2 = run()                                                        # no --force: nothing to regrade
    assert s2.graded == [] and sorted(s2.skipped) == ["ann", "ben"]
    text = _text(ben_fb)
    assert "Broadcast first, then add." in text, "the comment is not in the feedback"
    assert f"Score: {ben_score + 1.0:.1f} / {total:.1f}" in text, re.findall(r"Score: [\d.]+ / [\d.]+", text)[:3]
    assert (ann_fb.read_bytes(), ann_fb.stat().st_mtime_ns) == ann_before, "unchanged feedback was rewritten"

    s3 = run(force=True)
    assert sorted(s3.graded) == ["ann", "ben"] and s3.scores["ben"][0] == ben_score + 1.0
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        g = gb.find_grade(test_id, TOPIC, TOPIC, "ben")
        assert (g.auto_score, g.manual_score, bool(g.needs_manual_grade)) == (0, 1.0, False)
        assert gb.find_submission(TOPIC, "ben").needs_manual_grade is False
    assert "Broadcast first, then add." in _text(ben_fb)
