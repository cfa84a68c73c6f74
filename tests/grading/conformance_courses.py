"""The courses of the conformance suite (tests/grading/test_conformance.py), built in a folder each.

nbgrader's own autograde fixtures, read from the installed nbgrader (``nbgrader/tests/apps/files/``) and
set up as ``nbgrader/tests/apps/test_nbgrader_autograde.py`` sets each one up (source, submissions,
timestamps, due date, configuration); its documentation course (``nbgrader/docs/source/user_guide/``);
and the kit's own scenarios for what those lack (three notebooks with data/ and images/ folders,
late and very late submissions with each penalty method, extensions per student, an R notebook).
Several of nbgrader's tests that share a source notebook and configuration share one course here,
each keeping its own students.
"""
from __future__ import annotations

import datetime
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import nbformat
import nbgrader

from coursekit.nbgrader_run import nbgrader as run_nbgrader

FILES = Path(nbgrader.__file__).parent / "tests" / "apps" / "files"
USER_GUIDE = Path(nbgrader.__file__).parent / "docs" / "source" / "user_guide"
DUE = "2015-02-02 14:58:23.948203 America/Los_Angeles"
A = "ps1"


def at(hours: float) -> str:
    """A submission time ``hours`` after the due date, written as nbgrader's tests write them."""
    due = datetime.datetime(2015, 2, 2, 14, 58, 23, 948203)
    return (due + datetime.timedelta(hours=hours)).strftime("%Y-%m-%d %H:%M:%S.%f") + " America/Los_Angeles"


@dataclass
class Course:
    root: Path
    config: list[str] = field(default_factory=list)

    def copy(self, name: str, *dest: str) -> None:
        path = self.root.joinpath(*dest)
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(FILES / name, path)

    def file(self, text: str | bytes, *dest: str) -> None:
        path = self.root.joinpath(*dest)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text) if isinstance(text, bytes) else path.write_text(text, encoding="utf-8")

    def source(self, name: str, notebook: str = "p1") -> None:
        self.copy(name, "source", A, f"{notebook}.ipynb")

    def submit(self, student: str, name: str | None = None, notebook: str = "p1", timestamp: str | None = None) -> None:
        if name is not None:
            self.copy(name, "submitted", student, A, f"{notebook}.ipynb")
        else:
            (self.root / "submitted" / student / A).mkdir(parents=True, exist_ok=True)
        if timestamp is not None:
            self.file(timestamp, "submitted", student, A, "timestamp.txt")

    def empty(self, *dest: str, kernel: str | None = None) -> None:
        """nbgrader's tests' ``_empty_notebook``."""
        nb = nbformat.v4.new_notebook()
        if kernel is not None:
            nb.metadata.kernelspec = {"display_name": "kernel", "language": kernel, "name": kernel}
        path = self.root.joinpath(*dest)
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, str(path))

    def generate(self, *args: str, duedate: str | None = DUE, extensions: dict[str, float] | None = None) -> None:
        """The configuration, ``nbgrader generate_assignment``, then the due date and the students'
        extensions in the gradebook (where nbgrader keeps them)."""
        self.file("c = get_config()  # noqa: F821\n" + "\n".join(self.config) + "\n", "nbgrader_config.py")
        run_nbgrader("generate_assignment", A, "--force", *args, root=self.root)
        from nbgrader.api import Gradebook
        from nbgrader.utils import parse_utc
        from sqlalchemy.exc import SAWarning
        with warnings.catch_warnings(), Gradebook(f"sqlite:///{self.root / 'gradebook.db'}") as gb:
            warnings.simplefilter("ignore", SAWarning)     # nbgrader's add_submission autoflush chatter
            if duedate:
                gb.update_or_create_assignment(A, duedate=parse_utc(duedate))
            for student, hours in (extensions or {}).items():
                gb.update_or_create_student(student)
                gb.update_or_create_submission(A, student, extension=datetime.timedelta(hours=hours))


# --- nbgrader's autograde fixtures, as its tests set them up ---------------------------------------

def unchanged_source(c: Course):
    """Every test of nbgrader's whose source is submitted-unchanged.ipynb alone, each with its own students
    (prefixed where two tests use the same name): test_grade and test_showtraceback_exploit (foo, bar,
    spam, eggs), test_grade_timestamp, test_grade_empty_timestamp and test_late_submission_penalty_none
    (the default method: late_*, early_*, ontime, empty_ts, invalid_ts), test_grade_overwrite_files and
    _subdirs (overwrite), test_skip_extra_notebooks (extra), test_student_id_exclude (excluded_*); and the
    kit's own: very late, and two students with extensions, one of them still late."""
    c.config += ["c.Execute.timeout = None",
                 'c.Autograde.exclude_overwriting = {"ps1": ["helper.py", "subdir/helper.py"]}',
                 "c.CourseDirectory.student_id_exclude = 'excluded_bar,excluded_baz'"]
    c.source("submitted-unchanged.ipynb")
    for folder in ((), ("subdir",)):
        c.file("some,data\n", "source", A, *folder, "data.csv")
        c.file("print('hello!')\n", "source", A, *folder, "helper.py")
    c.generate(extensions={"extended": 4, "extended_late": 1})
    c.submit("foo", "submitted-unchanged.ipynb")
    c.submit("bar", "submitted-changed.ipynb")
    c.submit("spam", "submitted-cheat-attempt.ipynb")
    c.submit("eggs", "submitted-cheat-attempt-alternative.ipynb")
    c.submit("late_foo", "submitted-unchanged.ipynb", timestamp=at(1))
    c.submit("early_bar", "submitted-changed.ipynb", timestamp=at(-24))
    c.submit("ontime", "submitted-unchanged.ipynb", timestamp=DUE)
    c.submit("empty_ts", "submitted-unchanged.ipynb", timestamp="")
    c.submit("invalid_ts", "submitted-changed.ipynb", timestamp="But I want to be a timestamp string :(")
    _late_students(c)
    c.submit("overwrite", "submitted-unchanged.ipynb", timestamp=at(1))
    for folder in ((), ("subdir",)):
        c.file("some,other,data\n", "submitted", "overwrite", A, *folder, "data.csv")
        c.file("print('this is different!')\n", "submitted", "overwrite", A, *folder, "helper.py")
    c.submit("extra", "submitted-changed.ipynb")
    c.copy("submitted-unchanged.ipynb", "submitted", "extra", A, "p1 copy.ipynb")
    c.submit("excluded_foo", "submitted-unchanged.ipynb")
    c.submit("excluded_bar", "submitted-changed.ipynb")
    c.submit("excluded_baz", "submitted-changed.ipynb")


def _late_students(c: Course):
    c.submit("verylate", "submitted-changed.ipynb", timestamp=at(24 * 9 + 5))
    c.submit("extended", "submitted-changed.ipynb", timestamp=at(3))
    c.submit("extended_late", "submitted-changed.ipynb", timestamp=at(3))


def autotests(c: Course):
    """test_grade_autotest, test_grade_hashed_autotest, test_grade_complex_autotest and
    test_hidden_tests_autotest, one notebook each of one assignment (autotests.yml in the course root)."""
    c.config.append('c.ClearSolutions.code_stub = dict(python="# YOUR CODE HERE")')
    c.copy("autotests.yml", "autotests.yml")
    for nb in ("simple", "hashed", "multi", "hidden"):
        c.source(f"autotest-{nb}.ipynb", nb)
    c.generate()
    for nb in ("simple", "hashed", "multi"):
        c.submit("foo", f"autotest-{nb}-unchanged.ipynb", nb)
        c.submit("bar", f"autotest-{nb}-changed.ipynb", nb)
    c.submit("foo", "autotest-hidden-unchanged.ipynb", "hidden")
    c.submit("bar", "autotest-hidden-changed-wrong.ipynb", "hidden")
    c.submit("baz", "autotest-hidden-changed-right.ipynb", "hidden")


def hidden_tests_single_notebook(c: Course):
    c.config.append('c.ClearSolutions.code_stub = dict(python="# YOUR CODE HERE")')
    c.source("test-hidden-tests.ipynb")
    c.generate()
    (c.root / "submitted" / "foo" / A).mkdir(parents=True)
    shutil.copy(c.root / "release" / A / "p1.ipynb", c.root / "submitted" / "foo" / A / "p1.ipynb")


def late_zero(c: Course):
    """test_late_submission_penalty_zero, with the kit's own late students."""
    c.config.append("c.LateSubmissionPlugin.penalty_method = 'zero'")
    c.source("submitted-unchanged.ipynb")
    c.generate(extensions={"extended": 4, "extended_late": 1})
    c.submit("foo", "submitted-unchanged.ipynb", timestamp=DUE)
    c.submit("bar", "submitted-changed.ipynb", timestamp=at(1))
    _late_students(c)


LATE_PLUGIN = '''
from __future__ import division
from nbgrader.plugins import BasePlugin


class SubMarks(BasePlugin):
    def late_submission_penalty(self, student_id, score, total_seconds_late):
        """Penalty of 1 mark per hour late"""
        hours_late = total_seconds_late / 3600
        return round(hours_late, 0)
'''


def late_plugin(c: Course):
    """test_late_submission_penalty_plugin, with the plugin of nbgrader's documentation (late.SubMarks,
    in the course root) and the kit's own late students."""
    c.file(LATE_PLUGIN, "late.py")
    c.config.append("c.AssignLatePenalties.plugin_class = 'late.SubMarks'")
    c.source("submitted-unchanged.ipynb")
    c.generate(extensions={"extended": 4, "extended_late": 1})
    c.submit("foo", "submitted-unchanged.ipynb", timestamp=at(4))
    c.submit("bar", "submitted-changed.ipynb", timestamp=at(1))
    _late_students(c)


def execution(c: Course):
    """test_side_effects, test_grade_with_validating_envvar, test_autograde_timeout (the 2 s limit) and
    test_infinite_loop, one notebook each of one assignment, with a 2 s cell time limit."""
    c.config.append("c.Execute.timeout = 2")
    names = {"side_effects": "side-effects.ipynb", "validating": "validating-environment-variable.ipynb",
             "timeout": "timeout.ipynb", "infinite_loop": "infinite-loop.ipynb"}
    for nb, name in names.items():
        c.source(name, nb)
    c.generate()
    for nb, name in names.items():
        c.submit("foo", name, nb)


def grade_missing_notebook(c: Course):
    c.source("submitted-unchanged.ipynb", "p1")
    c.source("submitted-unchanged.ipynb", "p2")
    c.generate()
    c.submit("foo", "submitted-changed.ipynb")


def failures(c: Course):
    """test_handle_failure (foo, bar) and test_missing_files (only_p1; empty: a folder without notebooks)."""
    c.empty("source", A, "p1.ipynb")
    c.empty("source", A, "p2.ipynb")
    c.generate()
    c.empty("submitted", "bar", A, "p1.ipynb")
    c.copy("test.ipynb", "submitted", "bar", A, "p2.ipynb")
    c.empty("submitted", "foo", A, "p1.ipynb")
    c.empty("submitted", "foo", A, "p2.ipynb")
    c.empty("submitted", "only_p1", A, "p1.ipynb")
    c.submit("empty")


def kernelspecs(c: Course):
    """test_missing_source_kernelspec (p1: no kernelspec in the source; bar submits it as 'blarg') and
    test_incorrect_submitted_kernelspec (p2: 'python' in the source, submitted as 'blah')."""
    c.config.append("c.ClearSolutions.code_stub = {'python': '## Answer', 'blah': '## Answer'}")
    c.empty("source", A, "p1.ipynb")
    c.empty("source", A, "p2.ipynb", kernel="python")
    c.generate()
    c.empty("submitted", "foo", A, "p1.ipynb", kernel="python")
    c.empty("submitted", "foo", A, "p2.ipynb", kernel="blah")
    c.empty("submitted", "bar", A, "p1.ipynb", kernel="blarg")
    c.empty("submitted", "bar", A, "p2.ipynb", kernel="python")


# --- nbgrader's documentation course ---------------------------------------------------------------

DOCS_GENERATE = ("--IncludeHeaderFooter.header=source/header.ipynb",)


def docs_course(c: Course):
    """The user guide's ps1 with its two example students, generated as the guide does
    (``nbgrader generate_assignment "ps1" --IncludeHeaderFooter.header=source/header.ipynb --force``);
    the guide sets no due date."""
    shutil.copytree(USER_GUIDE / "source" / A, c.root / "source" / A)
    shutil.copy(USER_GUIDE / "source" / "header.ipynb", c.root / "source" / "header.ipynb")
    c.generate(*DOCS_GENERATE, duedate=None)
    for student in ("bitdiddle", "hacker"):
        shutil.copytree(USER_GUIDE / "submitted" / student / A, c.root / "submitted" / student / A)


# --- the kit's own scenarios -----------------------------------------------------------------------

def _cell(kind: str, source: str, gid: str | None = None, points: float | None = None, solution=False,
          locked=False, task=False):
    cell = nbformat.v4.new_code_cell(source) if kind == "code" else nbformat.v4.new_markdown_cell(source)
    if gid:
        cell.metadata["nbgrader"] = {"grade": points is not None and not task, "grade_id": gid, "locked": locked,
                                     "schema_version": 3, "solution": solution, "task": task}
        if points is not None:
            cell.metadata["nbgrader"]["points"] = points
    return cell


def _notebook(cells, kernel=("python3", "python", "Python 3 (ipykernel)")) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"name": kernel[0], "language": kernel[1], "display_name": kernel[2]},
                   "language_info": {"name": kernel[1]}}
    nb.cells = cells
    return nb


def _answers(c: Course, student: str, notebook: str, answers: dict[str, str], timestamp: str | None = None):
    """The released notebook with the answer cells ``answers`` (grade_id -> source) filled in."""
    nb = nbformat.read(str(c.root / "release" / A / f"{notebook}.ipynb"), as_version=4)
    for cell in nb.cells:
        gid = (cell.metadata.get("nbgrader") or {}).get("grade_id")
        if gid in answers:
            cell.source = answers[gid]
    path = c.root / "submitted" / student / A / f"{notebook}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    if timestamp is not None:
        c.file(timestamp, "submitted", student, A, "timestamp.txt")


def three_notebooks(c: Course):
    """Three notebooks that read files of the assignment's data/ and images/ folders (in answers and in
    test cells), with a manually graded answer and a task cell; students: all right, partly right with a
    notebook missing, the released versions untouched, and one whose own settings.txt is kept
    (Autograde.exclude_overwriting) and read by a test cell."""
    png = (USER_GUIDE / "source" / A / "jupyter.png").read_bytes()
    width = int.from_bytes(png[16:20], "big")
    c.config.append('c.Autograde.exclude_overwriting = {"ps1": ["settings.txt"]}')
    c.file("1,2\n3,4\n5,6\n", "source", A, "data", "values.csv")
    c.file("1\n", "source", A, "settings.txt")
    c.file(png, "source", A, "images", "logo.png")
    load = "def load():\n    ### BEGIN SOLUTION\n    with open('data/values.csv') as f:\n" \
           "        return [[int(v) for v in line.split(',')] for line in f]\n    ### END SOLUTION"
    nbformat.write(_notebook([
        _cell("markdown", "# Loading data"),
        _cell("code", load, "load", solution=True),
        _cell("code", "assert load()[0] == [1, 2]", "load_visible", 1, locked=True),
        _cell("code", "with open('settings.txt') as f:\n    assert f.read().strip() == '1'", "settings", 1, locked=True),
        _cell("code", "with open('data/values.csv') as f:\n    rows = f.read().split()\n"
                      "assert load() == [[int(v) for v in r.split(',')] for r in rows]", "load_hidden", 2, locked=True),
    ]), str(c.root / "source" / A / "loading.ipynb"))
    nbformat.write(_notebook([
        _cell("code", "def png_width(path):\n    ### BEGIN SOLUTION\n    with open(path, 'rb') as f:\n"
                      "        return int.from_bytes(f.read()[16:20], 'big')\n    ### END SOLUTION", "width", solution=True),
        _cell("code", f"assert png_width('images/logo.png') == {width}", "width_test", 3, locked=True),
        _cell("markdown", "Describe the image.\n\n### BEGIN SOLUTION\nThe Jupyter logo.\n### END SOLUTION",
              "describe", 2, solution=True),
    ]), str(c.root / "source" / A / "images.ipynb"))
    nbformat.write(_notebook([
        _cell("code", "import os\ntotal = None\n### BEGIN SOLUTION\ntotal = sum(map(len, os.listdir('data')))\n"
                      "### END SOLUTION", "total", solution=True),
        _cell("code", "assert total == len('values.csv')", "total_test", 1, locked=True),
        _cell("markdown", "Plot the values (graded by hand).", "plot_task", 2, locked=True, task=True),
    ]), str(c.root / "source" / A / "summary.ipynb"))
    c.generate()
    right_load = load.replace("    ### BEGIN SOLUTION\n", "").replace("\n    ### END SOLUTION", "")
    right_width = "def png_width(path):\n    with open(path, 'rb') as f:\n        return int.from_bytes(f.read()[16:20], 'big')"
    _answers(c, "right", "loading", {"load": right_load})
    _answers(c, "right", "images", {"width": right_width, "describe": "The Jupyter logo."})
    _answers(c, "right", "summary", {"total": "import os\ntotal = sum(map(len, os.listdir('data')))"})
    _answers(c, "partial", "loading", {"load": right_load.replace("int(v)", "v")})
    _answers(c, "partial", "images", {"width": "def png_width(path):\n    return 0"})
    for nb in ("loading", "images", "summary"):
        _answers(c, "blank", nb, {})
    # files that exclude_overwriting keeps are the students' own (nbgrader never copies them from the
    # source): one student submits the released settings.txt, another a changed one
    c.file("1\n", "submitted", "right", A, "settings.txt")
    # a student's own version of a file that exclude_overwriting keeps (nbgrader grades with it)
    _answers(c, "ownfiles", "loading", {"load": right_load})
    c.file("2\n", "submitted", "ownfiles", A, "settings.txt")


TORCH_SETUP = """import torch
from torch import nn

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3), nn.ReLU(), nn.Linear(3, 1))
X = torch.randn(16, 2)
y = X.sum(1, keepdim=True)"""

TORCH_TRAIN = """def train(steps, lr=0.1):
    ### BEGIN SOLUTION
    for _ in range(steps):
        model.zero_grad()
        loss = ((model(X) - y) ** 2).mean()
        loss.backward()
        for p in model.parameters():
            p.data -= lr * p.grad
    return loss.item()
    ### END SOLUTION"""

TORCH_PREDICT = """def predict(x):
    ### BEGIN SOLUTION
    model.eval()
    with torch.no_grad():
        return model(x)
    ### END SOLUTION"""


def torch_state(c: Course):
    """A PyTorch notebook in an older tutorial's style: the student's functions train and use a global
    model (not passed to them) with manual SGD through ``p.data``; the test cells read the model after
    training and set its weights and running statistics through ``.data`` before calling the student's
    code. In one kernel each side sees the other's changes; so must the kit's two. Students: right, a
    training step that changes nothing, a prediction that skips eval(), the released version untouched."""
    (c.root / "source" / A).mkdir(parents=True)
    nbformat.write(_notebook([
        _cell("code", TORCH_SETUP),
        _cell("code", TORCH_TRAIN, "train", solution=True),
        _cell("code", "before = [p.detach().clone() for p in model.parameters()]\nfirst = train(1)\n"
                      "later = train(30)\nassert later < first\n"
                      "assert all(not torch.equal(a, p) for a, p in zip(before, model.parameters()))\n"
                      "assert model[1].running_mean.abs().sum() > 0", "train_test", 2, locked=True),
        _cell("code", TORCH_PREDICT, "predict", solution=True),
        _cell("code", "x = torch.ones(1, 2)\nmodel[3].weight.data.fill_(1.0)\nmodel[3].bias.data.zero_()\n"
                      "model[1].running_var.data.fill_(4.0)\nmodel.train()\ngot = predict(x)\nmodel.eval()\n"
                      "assert torch.allclose(got, model(x))", "predict_test", 2, locked=True),
    ]), str(c.root / "source" / A / "p1.ipynb"))
    c.generate()

    def solution(text):
        return "\n".join(line for line in text.splitlines() if "### " not in line)
    train, predict = solution(TORCH_TRAIN), solution(TORCH_PREDICT)
    _answers(c, "right", "p1", {"train": train, "predict": predict})
    _answers(c, "nostep", "p1", {"train": train.replace("p.data -= lr * p.grad", "p.data - lr * p.grad"),
                                 "predict": predict})
    _answers(c, "noeval", "p1", {"train": train, "predict": predict.replace("    model.eval()\n", "")})
    _answers(c, "blank", "p1", {})


GLOBALS_SOLUTION = """log = []
totals = {"n": 0}
count = 0


def record(x):
    ### BEGIN SOLUTION
    global count
    log.append(x)
    totals["n"] += x
    count += 1
    ### END SOLUTION


class Tally:
    @property
    def total(self):        # (given code that changes a global when the test reads an attribute)
        global count
        count += 1
        return sum(log)"""


def globals_course(c: Course):
    """Plain Python in an introductory course's style: the student's function changes module-level
    data (a list, a dict, a counter with ``global``); the test cells read it before and after calling
    it (or reading a property that changes it), and clear it for the student's code to fill. Students: right, one that forgets the counter, the
    released version untouched."""
    (c.root / "source" / A).mkdir(parents=True)
    nbformat.write(_notebook([
        _cell("code", GLOBALS_SOLUTION, "record", solution=True),
        _cell("code", "n = len(log)\nrecord(2)\nrecord(3)\nassert len(log) == n + 2\n"
                      "assert totals['n'] >= 5\nassert count == 2", "record_test", 2, locked=True),
        _cell("code", "log.clear()\ntotals['n'] = 0\nrecord(7)\nassert log == [7] and totals == {'n': 7}",
              "clear_test", 1, locked=True),
        _cell("code", "assert log == [7] and count == 3", "next_cell_test", 1, locked=True),
        _cell("code", "c = count\nt = Tally().total\nassert count == c + 1 and t == sum(log)", "property_test", 1,
              locked=True),
    ]), str(c.root / "source" / A / "p1.ipynb"))
    c.generate()
    right = "\n".join(line for line in GLOBALS_SOLUTION.splitlines() if "### " not in line)
    _answers(c, "right", "p1", {"record": right})
    _answers(c, "nocount", "p1", {"record": right.replace("    count += 1", "    pass", 1)})
    _answers(c, "blank", "p1", {})


def test_cell_names(c: Course):
    """Names a visible test cell binds (an import, a constant, a helper function) used by the student's
    later answers without importing or defining them again, and a global the student's function reads
    that the test cell sets before calling it: they worked in the student's own kernel, where the test
    cells ran too. Students: right, and one whose later answers are wrong."""
    (c.root / "source" / A).mkdir(parents=True)
    nbformat.write(_notebook([
        _cell("code", "def f():\n    ### BEGIN SOLUTION\n    return 2\n    ### END SOLUTION", "f", solution=True),
        _cell("code", "import math\nfrom math import sqrt as root\nOFFSET = 10\nTABLE = {'a': [1, 2]}\n\n\n"
                      "def double(x):\n    return 2 * x\n\n\nassert f() == 2\n"
                      "### BEGIN HIDDEN TESTS\nassert f() + 1 == 3\n### END HIDDEN TESTS", "f_test", 1, locked=True),
        _cell("code", "def g():\n    ### BEGIN SOLUTION\n    return math.floor(root(16)) + OFFSET + double(TABLE['a'][1])\n"
                      "    ### END SOLUTION", "g", solution=True),
        _cell("code", "assert g() == 18", "g_test", 1, locked=True),
        _cell("code", "def scaled(x):\n    ### BEGIN SOLUTION\n    return x * SCALE\n    ### END SOLUTION", "scaled",
              solution=True),
        _cell("code", "SCALE = 3\nassert scaled(2) == 6\nfor SCALE in (1, 5):\n    pass\nassert scaled(2) == 10",
              "scaled_test", 1, locked=True),
    ]), str(c.root / "source" / A / "p1.ipynb"))
    c.generate()
    g = "def g():\n    return math.floor(root(16)) + OFFSET + double(TABLE['a'][1])"
    scaled = "def scaled(x):\n    return x * SCALE"
    _answers(c, "right", "p1", {"f": "def f():\n    return 2", "g": g, "scaled": scaled})
    _answers(c, "wrong", "p1", {"f": "def f():\n    return 2", "g": g.replace("OFFSET", "OFFSET + 1"),
                                "scaled": scaled.replace("SCALE", "3")})


FILES_SOLUTION = """import json


def save(data, path):
    ### BEGIN SOLUTION
    with open(path, "w") as f:
        json.dump(data, f)
    ### END SOLUTION


def load(path):
    ### BEGIN SOLUTION
    with open(path) as f:
        return json.load(f)
    ### END SOLUTION"""


def files_course(c: Course):
    """File input and output in an introductory course's style: the student's code writes a file the test
    reads; the test writes a fixture (in the notebook's folder, in a subfolder, with ``tempfile``) that the
    student's code reads. Students: right, one whose load is wrong, the released version untouched."""
    (c.root / "source" / A).mkdir(parents=True)
    nbformat.write(_notebook([
        _cell("code", FILES_SOLUTION, "files", solution=True),
        _cell("code", "save({'a': [1, 2]}, 'out.json')\nwith open('out.json') as f:\n    assert json.load(f) == {'a': [1, 2]}",
              "save_test", 1, locked=True),
        _cell("code", "import os\nwith open('in.json', 'w') as f:\n    f.write('{\"b\": 3}')\nassert load('in.json') == {'b': 3}\n"
                      "os.makedirs('sub', exist_ok=True)\nsave([1], os.path.join('sub', 'x.json'))\n"
                      "assert load(os.path.join('sub', 'x.json')) == [1]", "fixture_test", 1, locked=True),
        _cell("code", "import tempfile\nwith tempfile.TemporaryDirectory() as d:\n    p = os.path.join(d, 't.json')\n"
                      "    with open(p, 'w') as f:\n        f.write('[4, 5]')\n    assert load(p) == [4, 5]",
              "tempfile_test", 1, locked=True),
    ]), str(c.root / "source" / A / "p1.ipynb"))
    c.generate()
    right = "\n".join(line for line in FILES_SOLUTION.splitlines() if "### " not in line)
    _answers(c, "right", "p1", {"files": right})
    _answers(c, "wrong", "p1", {"files": right.replace("return json.load(f)", "return f.read()")})
    _answers(c, "blank", "p1", {})


VALUES = {   # grade_id -> (the answer cell, its test cell): values of Python's and NumPy's types beyond numbers
    "money": ("from decimal import Decimal\n\n\ndef total(prices):\n    ### BEGIN SOLUTION\n"
              "    return sum((Decimal(p) for p in prices), Decimal('0'))\n    ### END SOLUTION",
              "from decimal import Decimal\nassert total(['0.1', '0.2']) == Decimal('0.3')\n"
              "assert isinstance(total(['1']), Decimal)\nassert total(['1.10', '2.20']) + Decimal('0.70') == Decimal('4.00')\n"
              "assert str(total(['1.10', '2.20'])) == '3.30'"),
    "frac": ("from fractions import Fraction\n\n\ndef harmonic(n):\n    ### BEGIN SOLUTION\n"
             "    return sum(Fraction(1, k) for k in range(1, n + 1))\n    ### END SOLUTION",
             "from fractions import Fraction\nh = harmonic(3)\nassert h == Fraction(11, 6)\nassert h.denominator == 6\n"
             "assert type(h).__name__ == 'Fraction'\nassert h < 2 and float(h) > 1.8"),
    "dates": ("import datetime\n\n\ndef next_monday(d):\n    ### BEGIN SOLUTION\n"
              "    return d + datetime.timedelta(days=(7 - d.weekday()) % 7 or 7)\n    ### END SOLUTION",
              "import datetime\nd = next_monday(datetime.date(2024, 1, 3))\nassert d == datetime.date(2024, 1, 8), d\n"
              "assert d.weekday() == 0\nassert (d - datetime.date(2024, 1, 3)).days == 5\n"
              "assert sorted([next_monday(datetime.date(2024, 1, 9)), d])[0] == d\n"
              "assert next_monday(datetime.date(2024, 1, 8)) == datetime.date(2024, 1, 15)"),
    "nt": ("from collections import namedtuple\nPoint = namedtuple('Point', 'x y')\n\n\ndef midpoint(p, q):\n"
           "    ### BEGIN SOLUTION\n    return Point((p.x + q.x) / 2, (p.y + q.y) / 2)\n    ### END SOLUTION",
           "m = midpoint(Point(0, 0), Point(2, 4))\nassert m == Point(1, 2)\nassert m.y == 2 and m[0] == 1\n"
           "assert m == (1.0, 2.0)\nassert isinstance(m, Point) and isinstance(m, tuple)\n"
           "assert m._asdict() == {'x': 1.0, 'y': 2.0}"),
    "struct": ("import numpy as np\n\n\ndef people():\n    ### BEGIN SOLUTION\n"
               "    return np.array([('ann', 31, 1.6), ('bob', 25, 1.8)], dtype=[('name', 'U10'), ('age', 'i4'), ('h', 'f8')])\n"
               "    ### END SOLUTION",
               "import numpy as np\np = people()\nassert p['age'].sum() == 56\nassert list(p['name']) == ['ann', 'bob']\n"
               "assert p.dtype.names == ('name', 'age', 'h')\nassert np.sort(p, order='age')[0]['name'] == 'bob'"),
    "pd": ("import pandas as pd\n\n\ndef summary(rows):\n    ### BEGIN SOLUTION\n"
           "    df = pd.DataFrame(rows, columns=['k', 'v'])\n    return df.groupby('k')['v'].sum()\n    ### END SOLUTION",
           "import pandas as pd\ns = summary([('a', 1), ('b', 2), ('a', 3)])\nassert isinstance(s, pd.Series)\n"
           "assert s['a'] == 4 and s.loc['b'] == 2\n"
           "pd.testing.assert_series_equal(s, pd.Series({'a': 4, 'b': 2}, name='v').rename_axis('k'))\n"
           "df = pd.DataFrame({'x': range(4)})\nadd_square(df)\nassert (df.sq == df.x ** 2).all()"),
}
VALUES["pd"] = (VALUES["pd"][0] + "\n\n\ndef add_square(df):\n    ### BEGIN SOLUTION\n    df['sq'] = df['x'] ** 2\n"
                "    ### END SOLUTION", VALUES["pd"][1])
VALUES_WRONG = {"pd": (".sum()", ".max()"), "money": ("Decimal(p)", "Decimal(float(p))"), "frac": ("Fraction(1, k)", "1 / k"),
                "dates": ("or 7", "or 0"), "nt": ("return Point(", "return ("), "struct": ("('bob', 25", "('bob', 26")}


def values_course(c: Course):
    """Answers that return values of Python's, NumPy's and pandas' types beyond numbers and containers
    (Decimal, Fraction, dates, a namedtuple of the student's, a structured array, a Series, a DataFrame the
    student's function changes in place), compared, sorted, added and checked with isinstance by the tests. Students: right, one wrong in every answer, blank."""
    (c.root / "source" / A).mkdir(parents=True)
    cells = []
    for gid, (answer, test) in VALUES.items():
        cells += [_cell("code", answer, gid, solution=True), _cell("code", test, gid + "_test", 1, locked=True)]
    nbformat.write(_notebook(cells), str(c.root / "source" / A / "p1.ipynb"))
    c.generate()
    right = {gid: "\n".join(line for line in answer.splitlines() if "### " not in line)
             for gid, (answer, _) in VALUES.items()}
    _answers(c, "right", "p1", right)
    _answers(c, "wrong", "p1", {gid: right[gid].replace(*VALUES_WRONG[gid]) for gid in right})
    _answers(c, "blank", "p1", {})


OBJECTS_SOLUTION = '''class Stack:
    """A last-in, first-out stack."""

    def __init__(self):
        ### BEGIN SOLUTION
        self.items = []
        ### END SOLUTION

    def push(self, x):
        ### BEGIN SOLUTION
        self.items.append(x)
        ### END SOLUTION

    def pop(self):
        ### BEGIN SOLUTION
        return self.items.pop()
        ### END SOLUTION

    def __len__(self):
        return len(self.items)

    def __eq__(self, other):
        return isinstance(other, Stack) and self.items == other.items


def walk(tree, visitor):
    ### BEGIN SOLUTION
    visitor.enter(tree["name"])
    for child in tree.get("children", []):
        walk(child, visitor)
    return visitor.count
    ### END SOLUTION'''


def objects_course(c: Course):
    """Object-oriented answers: the student's class used by the tests (its methods, len, == between two of
    its instances, isinstance, its docstring, an attribute the test sets), and the student's function
    driving a visitor object the test defines. Students: right, one wrong in each, blank."""
    (c.root / "source" / A).mkdir(parents=True)
    nbformat.write(_notebook([
        _cell("code", OBJECTS_SOLUTION, "objects", solution=True),
        _cell("code", "s = Stack()\ns.push(1)\ns.push(2)\nassert len(s) == 2 and s.pop() == 2 and len(s) == 1\n"
                      "assert isinstance(s, Stack) and type(s).__name__ == 'Stack'\nassert 'last-in' in Stack.__doc__\n"
                      "t = Stack()\nt.push(1)\nassert s == t and not (s == 1) and s != Stack()", "stack_test", 1,
              locked=True),
        _cell("code", "s = Stack()\ns.items = [5, 6]\nassert s.pop() == 6 and len(s) == 1", "attr_test", 1, locked=True),
        _cell("code", "import inspect\nassert list(inspect.signature(walk).parameters) == ['tree', 'visitor']\n\n\n"
                      "class Recorder:\n    def __init__(self):\n        self.seen = []\n        self.count = 0\n\n"
                      "    def enter(self, name):\n        self.seen.append(name)\n        self.count += 1\n\n\n"
                      "r = Recorder()\nassert walk({'name': 'a', 'children': [{'name': 'b'}, {'name': 'c'}]}, r) == 3\n"
                      "assert r.seen == ['a', 'b', 'c']", "visit_test", 1, locked=True),
    ]), str(c.root / "source" / A / "p1.ipynb"))
    c.generate()
    right = "\n".join(line for line in OBJECTS_SOLUTION.splitlines() if "### " not in line)
    _answers(c, "right", "p1", {"objects": right})
    _answers(c, "wrong", "p1", {"objects": right.replace("self.items.pop()", "self.items.pop(0)")
                                .replace("        walk(child, visitor)", "        visitor.enter(child['name'])\n"
                                         "        visitor.enter(child['name'])")})
    _answers(c, "blank", "p1", {})


def r_kernel(c: Course):
    """An assignment written in R (kernel ``ir``); nbgrader generates it with its R code stub."""
    nb = _notebook([
        _cell("code", "square <- function(x) {\n  ### BEGIN SOLUTION\n  x * x\n  ### END SOLUTION\n}", "square",
              solution=True),
        _cell("code", "stopifnot(square(3) == 9)", "square_test", 2, locked=True),
    ], kernel=("ir", "R", "R"))
    (c.root / "source" / A).mkdir(parents=True)
    nbformat.write(nb, str(c.root / "source" / A / "p1.ipynb"))
    c.generate()
    _answers(c, "foo", "p1", {"square": "square <- function(x) {\n  x * x\n}"})


@dataclass(frozen=True)
class Scenario:
    build: Callable[[Course], None]
    origin: str                          # where it comes from: an nbgrader test, its docs, or the kit's own


SCENARIOS: dict[str, Scenario] = {
    "unchanged_source": Scenario(unchanged_source, "nbgrader: test_grade, test_showtraceback_exploit, "
                                 "test_grade_timestamp, test_grade_empty_timestamp, test_late_submission_penalty_none, "
                                 "test_grade_overwrite_files(_subdirs), test_skip_extra_notebooks, "
                                 "test_student_id_exclude; the kit's: very late, extensions"),
    "autotests": Scenario(autotests, "nbgrader: test_grade_autotest, test_grade_hashed_autotest, "
                                     "test_grade_complex_autotest, test_hidden_tests_autotest"),
    "hidden_tests_single_notebook": Scenario(hidden_tests_single_notebook, "nbgrader: test_hidden_tests_single_notebook"),
    "late_zero": Scenario(late_zero, "nbgrader: test_late_submission_penalty_zero; the kit's: very late, extensions"),
    "late_plugin": Scenario(late_plugin, "nbgrader: test_late_submission_penalty_plugin with its docs' plugin; "
                                         "the kit's: very late, extensions"),
    "execution": Scenario(execution, "nbgrader: test_side_effects, test_grade_with_validating_envvar, "
                                     "test_autograde_timeout, test_infinite_loop"),
    "grade_missing_notebook": Scenario(grade_missing_notebook, "nbgrader: test_grade_missing_notebook"),
    "failures": Scenario(failures, "nbgrader: test_handle_failure, test_missing_files"),
    "kernelspecs": Scenario(kernelspecs, "nbgrader: test_missing_source_kernelspec, "
                                         "test_incorrect_submitted_kernelspec"),
    "docs_course": Scenario(docs_course, "nbgrader's user guide: ps1, bitdiddle and hacker"),
    "three_notebooks": Scenario(three_notebooks, "the kit's: three notebooks, data/ and images/"),
    "torch_state": Scenario(torch_state, "the kit's: a global PyTorch model changed through .data on both sides"),
    "globals": Scenario(globals_course, "the kit's: the student's module-level data changed by both sides"),
    "values": Scenario(values_course, "the kit's: Decimal, Fraction, dates, a namedtuple, a structured array, "
                                      "pandas Series and DataFrames returned, changed and compared"),
    "objects": Scenario(objects_course, "the kit's: the student's class used by the tests, and a visitor of the "
                                        "test's driven by the student's function"),
    "files": Scenario(files_course, "the kit's: files the student's code writes and the test cells read, and "
                                    "fixtures the test cells write (beside the notebook, with tempfile) for it"),
    "test_cell_names": Scenario(test_cell_names, "the kit's: a visible test cell's imports, constants and "
                                                 "helpers used by later answers"),
    "r_kernel": Scenario(r_kernel, "the kit's: a notebook in R"),
}


def build(name: str, root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    SCENARIOS[name].build(Course(root))
    return root


