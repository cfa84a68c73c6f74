"""Conformance: grade a course's submissions with plain ``nbgrader autograde`` and with the kit, each in
a throw-away copy of the course, and compare the two gradebooks cell by cell.

    python -m coursekit conformance TOPIC [--root COURSE] [--trust] [--workers N] [--keep DIR]

What is compared, per student: whether the submission was graded (``graded``, ``failed`` or ``not
graded``) and how many seconds late it was; per notebook: the late-submission penalty; per graded
cell: ``auto_score``, ``max_score``, ``needs_manual_grade``; per commented cell: nbgrader's automatic
comment ("No response."). Cells are compared only where both sides graded the submission.

Plain nbgrader runs the submissions' code without any isolation, exactly as ``nbgrader autograde``
does, so the command refuses to start without ``--trust`` (use it on your own test submissions, or on
submissions you would grade with plain nbgrader anyway). The course itself is never written: both
runs work on copies (the gradebook included), removed afterwards unless ``--keep`` names a folder.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from coursekit.nbgrader_run import nbgrader
from coursekit.paths import ROOT, tool_env

# folders of a course that are run state or tooling, not course material: never copied
SKIPPED = (".git", ".venv", "venv", "node_modules", "autograded", "feedback", "dist", "__pycache__",
           ".ipynb_checkpoints", ".pytest_cache", "gradebook.db.bak-*", "grades.csv", "grading_*",
           "similarity_*.html", "*.egg-info")
FAILED_LINE = re.compile(r"There was an error processing assignment '(?P<a>.*?)' for student '(?P<s>.*?)'")

Key = tuple[str, str, str, str]          # (student, notebook, cell, field)


class ConformanceError(SystemExit):
    """A course the comparison cannot be run on; the message says why and what to do."""


@dataclass
class Side:
    """What one way of grading left: its exit status and output, the status of every submission
    (``graded``, ``failed``, ``not graded``; the reason where the grader gave one) and the values
    read back from its gradebook."""
    name: str
    course: Path | None = None           # the copy it graded
    returncode: int = 0
    output: str = ""
    status: dict[str, str] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    values: dict[Key, object] = field(default_factory=dict)

    def score(self, student: str, notebook: str | None = None) -> float:
        return sum(v for (s, n, _, f), v in self.values.items()
                   if s == student and f == "auto_score" and v and notebook in (None, n))

    def penalty(self, student: str) -> float:
        return sum(v for (s, _, _, f), v in self.values.items() if s == student and f == "late_penalty" and v)


@dataclass(frozen=True)
class Difference:
    student: str
    notebook: str
    cell: str
    field: str
    nbgrader: object
    kit: object

    @property
    def key(self) -> Key:
        return (self.student, self.notebook, self.cell, self.field)


@dataclass
class Result:
    assignment: str
    nbgrader: Side
    kit: Side
    differences: list[Difference]

    @property
    def students(self) -> list[str]:
        return sorted(set(self.nbgrader.status) | set(self.kit.status))

    def cell(self, side: Side, student: str) -> str:
        """One side's verdict on a student, as the table shows it: the score or the status."""
        status = side.status.get(student, "not graded")
        if status != "graded":
            return status
        penalty = side.penalty(student)
        return f"{side.score(student):g}" + (f" (-{penalty:g} late)" if penalty else "")

    def table(self) -> str:
        rows = [("student", "plain nbgrader", "the kit", "")]
        for s in self.students:
            a, b = self.cell(self.nbgrader, s), self.cell(self.kit, s)
            rows.append((s, a, b, "" if not any(d.student == s for d in self.differences) else "differs"))
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in rows]
        if self.differences:
            lines += ["", f"{len(self.differences)} difference(s):"]
            for d in self.differences:
                where = "/".join(p for p in (d.student, d.notebook, d.cell) if p)
                lines.append(f"  {where} {d.field}: nbgrader {d.nbgrader!r}, kit {d.kit!r}")
        for s, why in sorted(self.kit.reasons.items()):
            lines.append(f"  the kit on {s}: {why[:300]}")
        return "\n".join(lines)


def copy_course(src: Path, dest: Path) -> Path:
    """The course at ``src`` copied to ``dest`` without run state and tooling (see SKIPPED), its
    gradebook copied in, and ``nbgrader_config.py`` pointed at the copy (root and gradebook), so that
    nothing run in the copy can write to the original."""
    from nbgrader.coursedir import CourseDirectory

    from coursekit.config import load_course_config

    src, dest = Path(src).resolve(), Path(dest).resolve()
    cd = CourseDirectory(config=load_course_config(src))
    if not cd.db_url.startswith("sqlite:///"):
        raise ConformanceError(f"conformance copies the gradebook, which needs a SQLite gradebook; this course's is "
                               f"{cd.db_url.split('://')[0]}: copy the course to a SQLite one first")
    db = Path(cd.db_url[len("sqlite:///"):])
    shutil.copytree(src, dest, symlinks=True, ignore=shutil.ignore_patterns(*SKIPPED, db.name))
    if db.is_file():
        shutil.copy2(db, dest / "gradebook.db")
    _point_config(dest)
    return dest


def _point_config(course: Path) -> None:
    """``nbgrader_config.py`` of a copy: the course's own settings, then its root and gradebook."""
    config = course / "nbgrader_config.py"
    text = config.read_text(encoding="utf-8") if config.exists() else "c = get_config()  # noqa: F821\n"
    config.write_text(text + "\n# conformance: this copy only\n"
                      f"c.CourseDirectory.root = {str(course)!r}\n"
                      f"c.CourseDirectory.db_url = {'sqlite:///' + str(course / 'gradebook.db')!r}\n", encoding="utf-8")


def prepare(course: Path, assignment: str, generate_args: tuple[str, ...] = ()) -> None:
    """``nbgrader generate_assignment`` when the gradebook does not know the assignment yet (as an
    instructor does before autograding), with ``generate_args`` (e.g. a header notebook)."""
    from nbgrader.api import Gradebook, MissingEntry
    known = False
    if (Path(course) / "gradebook.db").is_file():
        with Gradebook(f"sqlite:///{Path(course) / 'gradebook.db'}") as gb:
            try:
                gb.find_assignment(assignment)
                known = True
            except MissingEntry:
                pass
    if not known or generate_args:
        nbgrader("generate_assignment", assignment, "--force", *generate_args, root=course)


def submitted_students(course: Path, assignment: str) -> list[str]:
    folder = Path(course) / "submitted"
    return sorted(p.name for p in folder.iterdir() if (p / assignment).is_dir()) if folder.is_dir() else []


def run_nbgrader(course: Path, assignment: str, args: tuple[str, ...] = (), timeout: float = 900) -> Side:
    """Plain ``nbgrader autograde ASSIGNMENT --force`` in ``course``."""
    proc = nbgrader("autograde", assignment, "--force", *args, root=course, check=False, log_level="INFO",
                    timeout=timeout)
    side = Side("nbgrader", Path(course), proc.returncode, proc.stdout + proc.stderr)
    failed = {m["s"] for m in FAILED_LINE.finditer(side.output) if m["a"] == assignment}
    for s in submitted_students(course, assignment):
        if s in failed:
            side.status[s] = "failed"
        elif (Path(course) / "autograded" / s / assignment).is_dir():
            side.status[s] = "graded"
        else:
            side.status[s] = "not graded"
    side.values = read_gradebook(course, assignment, {s for s, v in side.status.items() if v == "graded"})
    return side


def kit_command(course: Path, assignment: str, workers: int, args: tuple[str, ...] = ()) -> list[str]:
    return [sys.executable, "-m", "coursekit", "grade", assignment, "--root", str(course), "--force", "--quiet",
            "--no-feedback", "--workers", str(workers), *args]


def run_kit(course: Path, assignment: str, workers: int = 2, args: tuple[str, ...] = (), timeout: float = 900,
            command: list[str] | None = None) -> Side:
    """The kit's ``python -m coursekit grade ASSIGNMENT --force`` in ``course`` (or ``command``, e.g.
    through ``make grade``), from the kit's own folder."""
    from coursekit.grading.plan import State
    proc = subprocess.run(command or kit_command(course, assignment, workers, args), cwd=ROOT, env=tool_env(),
                          capture_output=True, text=True, timeout=timeout)
    side = Side("kit", Path(course), proc.returncode, proc.stdout + proc.stderr)
    state = State.load(course, assignment)
    for s in submitted_students(course, assignment):
        entry = state.students.get(s) or {}
        side.status[s] = {"graded": "graded", None: "not graded"}.get(entry.get("status"), "failed")
        if entry.get("reason"):
            side.reasons[s] = str(entry["reason"])
    side.values = read_gradebook(course, assignment, {s for s, v in side.status.items() if v == "graded"})
    return side


def read_gradebook(course: Path, assignment: str, graded: set[str]) -> dict[Key, object]:
    """The compared values of every submission in ``graded``, from the copy's gradebook."""
    from nbgrader.api import Gradebook, MissingEntry
    out: dict[Key, object] = {}
    with Gradebook(f"sqlite:///{Path(course) / 'gradebook.db'}") as gb:
        for student in sorted(graded):
            try:
                sub = gb.find_submission(assignment, student)
            except MissingEntry:
                out[(student, "", "", "in gradebook")] = False
                continue
            out[(student, "", "", "seconds_late")] = round(float(sub.total_seconds_late or 0), 3)
            for nb in sub.notebooks:
                out[(student, nb.name, "", "late_penalty")] = nb.late_submission_penalty
                for g in nb.grades:
                    out[(student, nb.name, g.name, "auto_score")] = g.auto_score
                    out[(student, nb.name, g.name, "max_score")] = g.max_score
                    out[(student, nb.name, g.name, "needs_manual_grade")] = bool(g.needs_manual_grade)
                for c in nb.comments:
                    out[(student, nb.name, c.name, "comment")] = c.auto_comment
    return out


def compare(a: Side, b: Side) -> list[Difference]:
    """Every difference between the two sides: statuses, then values of submissions both graded."""
    diffs = []
    for s in sorted(set(a.status) | set(b.status)):
        sa, sb = a.status.get(s, "not graded"), b.status.get(s, "not graded")
        if sa != sb:
            diffs.append(Difference(s, "", "", "status", sa, sb))
    both = {s for s in a.status if a.status[s] == "graded" and b.status.get(s) == "graded"}
    keys = sorted(k for k in set(a.values) | set(b.values) if k[0] in both)
    missing = object()
    for k in keys:
        va, vb = a.values.get(k, missing), b.values.get(k, missing)
        if va != vb:
            diffs.append(Difference(*k, None if va is missing else va, None if vb is missing else vb))
    return diffs


def conform(course: Path, assignment: str, *, workdir: Path | None = None, workers: int = 2,
            generate_args: tuple[str, ...] = (), nbgrader_args: tuple[str, ...] = (), kit_args: tuple[str, ...] = (),
            kit_command_for=None, timeout: float = 900) -> Result:
    """Grade ``assignment`` of ``course`` both ways, each in its own copy under ``workdir`` (a temporary
    folder, removed afterwards, when None), and compare. ``kit_command_for(copy)``: another command
    line for the kit's run (e.g. ``make grade``)."""
    os.environ["PATH"] = tool_env()["PATH"]     # nbgrader's Gradebook runs `alembic` of this environment
    own = workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="coursekit-conformance-")) if own else Path(workdir)
    try:
        plain = copy_course(course, workdir / "nbgrader")
        prepare(plain, assignment, generate_args)
        kit = workdir / "kit"
        shutil.copytree(plain, kit, symlinks=True)
        _point_config(kit)
        a = run_nbgrader(plain, assignment, nbgrader_args, timeout)
        b = run_kit(kit, assignment, workers, kit_args, timeout, kit_command_for(kit) if kit_command_for else None)
        return Result(assignment, a, b, compare(a, b))
    finally:
        if own:
            shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m coursekit conformance", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("assignment", help="the assignment (topic) to grade both ways, e.g. 01_tensors")
    p.add_argument("--root", type=Path, default=ROOT, help="course root (default: this repository)")
    p.add_argument("--trust", action="store_true",
                   help="confirm that the submissions may run without isolation (plain nbgrader runs them so)")
    p.add_argument("--workers", type=int, default=2, help="the kit's workers (default 2)")
    p.add_argument("--keep", type=Path, help="keep both graded copies in this (new) folder")
    p.add_argument("--timeout", type=float, default=3600, help="seconds allowed to each whole run (default 3600)")
    a = p.parse_args(argv)
    if not a.trust:
        p.error("plain nbgrader runs the submissions' code without isolation; pass --trust if they are your own "
                "test submissions or ones you would grade with plain nbgrader anyway")
    root = a.root.resolve()
    if not (root / "submitted").is_dir() or not submitted_students(root, a.assignment):
        p.error(f"no submissions of {a.assignment} in {root / 'submitted'}: nothing to compare")
    if a.keep is not None:
        if a.keep.exists():
            p.error(f"--keep {a.keep}: it exists already; name a new folder")
        a.keep.mkdir(parents=True)
    try:
        result = conform(root, a.assignment, workdir=a.keep, workers=a.workers, timeout=a.timeout)
    except subprocess.TimeoutExpired as exc:
        print(f"conformance: a run took longer than {exc.timeout:g} s; raise --timeout", file=sys.stderr)
        return 2
    print(result.table())
    if a.keep is not None:
        print(f"\nthe graded copies: {a.keep / 'nbgrader'} and {a.keep / 'kit'}")
    return 1 if result.differences else 0


if __name__ == "__main__":
    sys.exit(main())
