"""What needs grading: the submissions in submitted/, read safely, against what was graded before.

A submission is identified by a hash of its content (the expected notebooks and its timestamp),
not by file times: re-importing the same download regrades nothing, a resubmission is graded
again, and a run killed at any moment leaves every student either recorded with the digest of what
was merged into the gradebook or not recorded at all (then graded again). The record is
``autograded/.coursekit-grading-<topic>.json``, written atomically by the main process only.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from coursekit.grading import collect, nbcheck, safeio
from coursekit.grading.model import Job

STATE_VERSION = 1


@dataclass
class State:
    """Per student: the digest last merged into the gradebook, its status, the digest of its feedback
    and the fingerprint of the gradebook rows it was made from."""

    path: Path
    students: dict[str, dict] = field(default_factory=dict)

    @classmethod
    def load(cls, root: Path, topic: str) -> "State":
        folder = Path(root) / "autograded"
        path = folder / f".coursekit-grading-{topic}.json"
        state = cls(path)
        try:
            raw = safeio.read_file(folder, path.name, 64 << 20)
            data = json.loads(raw)
            if data.get("version") == STATE_VERSION and isinstance(data.get("students"), dict):
                state.students = {k: v for k, v in data["students"].items() if isinstance(v, dict)}
        except (safeio.Unsafe, ValueError, OSError, RecursionError):
            pass
        return state

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps({"version": STATE_VERSION, "students": self.students}, indent=0, sort_keys=True)
        safeio.write_atomic(self.path, data.encode("utf-8"))

    def record(self, student: str, digest: str, status: str, reason: str = "") -> None:
        entry = self.students.setdefault(student, {})
        entry.update(digest=digest, status=status)
        if status != "graded":
            entry.pop("feedback", None)
            entry["reason"] = reason[:1000]
        else:
            entry.pop("reason", None)

    def feedback_done(self, student: str, digest: str, grades: str | None = None) -> None:
        """The student's feedback was made from the submission ``digest`` and the gradebook rows
        whose fingerprint is ``grades`` (:func:`gradebook.fingerprints`)."""
        entry = self.students.setdefault(student, {})
        entry["feedback"] = digest
        if grades is None:
            entry.pop("feedback_grades", None)
        else:
            entry["feedback_grades"] = grades

    def feedback_stale(self, student: str, grades: str | None) -> bool:
        """Whether a graded student's feedback is older than their submission or than their grades
        and comments in the gradebook (a manual grade or comment given since, a regrade)."""
        entry = self.students.get(student) or {}
        return entry.get("feedback") != entry.get("digest") or entry.get("feedback_grades") != grades


def digest(notebooks: dict[str, bytes], timestamp: str | None, others: dict[str, bytes] | None = None) -> str:
    h = hashlib.sha256()
    for name in sorted(notebooks):
        h.update(name.encode() + b"\0" + str(len(notebooks[name])).encode() + b"\0" + notebooks[name])
    h.update(b"timestamp\0" + (timestamp or "").encode())
    for name in sorted(others or {}):         # the student's other files (assignment.submitted_files)
        h.update(b"file\0" + name.encode() + b"\0" + str(len(others[name])).encode() + b"\0" + others[name])
    return h.hexdigest()


@dataclass
class Plan:
    jobs: list[Job]
    skipped: list[str]                       # already graded, unchanged
    problems: list[str]                      # entries of submitted/ that were not used


def read_submission(root: Path, student: str, topic: str, notebooks: list[str], cap: int,
                    others=None) -> Job | str | None:
    """The expected notebooks of submitted/<student>/<topic>/ (None: no such folder; str: why not).
    A notebook that is not one the grader can read (:mod:`nbcheck`: not JSON within the limits,
    metadata of the wrong type) makes the job's ``problem``: it fails with that reason, no sandbox."""
    base = Path(root) / "submitted"
    folder = base / student / topic
    try:
        entries = safeio.list_dir(folder, below=base)
    except safeio.Unsafe as exc:
        if not os.path.lexists(folder):
            return None
        return f"submitted/{student}/{topic} cannot be read safely ({exc})"
    files, notes = {}, []
    kinds = dict(entries)
    for name in notebooks:
        fname = f"{name}.ipynb"
        kind = kinds.get(fname)
        if kind is None:
            continue
        if kind != "file":
            notes.append(f"{fname} is a {kind}, not a file: ignored")
            continue
        try:
            files[name] = safeio.read_file(folder, fname, cap, below=base)
        except safeio.Unsafe as exc:
            notes.append(f"{fname} ignored: {exc}")
    timestamp = None
    if kinds.get("timestamp.txt") == "file":
        try:
            timestamp = safeio.read_file(folder, "timestamp.txt", 1024, below=base).decode("utf-8", "replace").strip()
        except safeio.Unsafe:
            pass
    expected = {f"{n}.ipynb" for n in notebooks} | {"timestamp.txt", ".ipynb_checkpoints"}
    extra = [n for n, _ in entries if n not in expected]
    if [n for n in extra if n.endswith(".ipynb")]:
        notes.append("extra notebook ignored: " + ", ".join(sorted(n for n in extra if n.endswith(".ipynb"))[:10]))
    other_files = {}
    if others is not None:        # (folder, base, skip) -> (the student's other files, notes)
        other_files, more = others(folder, base, expected)
        notes += more
    job = Job(student, folder, "", digest(files, timestamp, other_files), files, timestamp or None, notes)
    job.files = other_files
    for name in notebooks:
        if name in files:
            nb = nbcheck.read_notebook(f"{name}.ipynb", files[name])
            if isinstance(nb, str):
                job.problem = nb
                break
    return job


def plan(root: Path, topic: str, notebooks: list[str], state: State, *, force: bool = False,
         students: list[str] | None = None, cap: int = 20 << 20, max_id: int = 64, others=None) -> Plan:
    """Jobs for every submission that is new, changed, failed before, or forced."""
    base = Path(root) / "submitted"
    jobs, skipped, problems = [], [], []
    if not base.is_dir() or base.is_symlink():
        return Plan(jobs, skipped, problems)
    for name, kind in safeio.list_dir(base):
        if kind == "link":
            problems.append(f"submitted/{name} is a link: ignored")
            continue
        if kind != "dir":
            continue
        why_not = collect.invalid_student_id(name, max_id)
        if why_not:
            problems.append(f"submitted/{collect.shown(name)}: {why_not}: ignored")
            continue
        if students and name not in students:
            continue
        try:
            job = read_submission(root, name, topic, notebooks, cap, others)
        except Exception as exc:      # the grader's own error: this student fails, the others are graded
            import traceback
            job = Job(name, base / name / topic, "", "", problem=f"grader error while reading the submission: "
                      f"{type(exc).__name__}: {str(exc)[:200]} (traceback in the problems file)",
                      trace="".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
        if job is None:
            continue
        if isinstance(job, str):
            problems.append(job)
            continue
        before = state.students.get(name)
        done = (Path(root) / "autograded" / name / topic).is_dir()
        if force:
            job.why = "forced"
        elif before is None:
            job.why = "new"
        elif before.get("status") != "graded":
            job.why = "failed before"
        elif before.get("digest") != job.digest:
            job.why = "resubmitted"
        elif not done:
            job.why = "graded output missing"
        else:
            skipped.append(name)
            continue
        jobs.append(job)
    return Plan(jobs, skipped, problems)
