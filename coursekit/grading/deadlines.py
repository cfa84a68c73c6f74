"""Deadlines: a due date per assignment, extensions per student, how late each submission was.

nbgrader keeps both in the course gradebook, and so does the kit: the due date on the assignment
(``Assignment.duedate``, what ``nbgrader db assignment add ps1 --duedate=...`` sets) and an extension
on the student's submission (``SubmittedAssignment.extension``, set with nbgrader's own
``Gradebook.grant_extension``). nbgrader's Autograde reads the submission time from ``timestamp.txt``,
computes how late it is against the due date plus the extension, and its ``AssignLatePenalties`` step
turns that into a penalty (``c.LateSubmissionPlugin.penalty_method``, or a plugin of your own named by
``c.AssignLatePenalties.plugin_class``). The grader runs exactly that inside each sandbox: the job's
gradebook copy holds the due date (the topic's template) and the anonymous student's extension
(``job.json``, applied by the driver before Autograde).

``python -m coursekit deadline TOPIC --due "2026-12-01 17:00 Europe/Berlin" --extend alice=48h``
sets them. An extension for a student whose submission is not in the gradebook yet (nbgrader keeps
extensions on submissions) waits in ``autograded/.coursekit-extensions-<topic>.json`` and is written to
the gradebook when that submission is graded. Changing a deadline marks the submissions it concerns
for grading again by the next ``make grade`` (a late penalty is computed when a submission is graded).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

STORE_VERSION = 1
_UNITS = {"w": 604800, "week": 604800, "weeks": 604800, "d": 86400, "day": 86400, "days": 86400,
          "h": 3600, "hour": 3600, "hours": 3600, "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60}
_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*")


class DeadlineError(SystemExit):
    """A due date, extension or plugin the kit cannot use: one line saying what and what to do."""


# -- reading what the instructor wrote -----------------------------------------------------------
def parse_due(text: str) -> dt.datetime:
    """A due date with its time zone, as nbgrader stores it: a naive UTC datetime. A date without a
    zone is refused (nbgrader would take it as UTC, which is rarely what was meant)."""
    import dateutil.parser
    import dateutil.tz
    from nbgrader.utils import parse_utc

    text = " ".join(str(text).split())
    example = "e.g. '2026-12-01 17:00 Europe/Berlin', '2026-12-01 17:00 UTC' or '2026-12-01T17:00+01:00'"
    parts = text.split(" ")
    try:
        if len(parts) == 3 and re.fullmatch(r"[+-]\d\d:?\d\d", parts[2]):
            text = f"{parts[0]} {parts[1]}{parts[2]}"       # an offset (nbgrader would read +0100 as seconds)
        elif len(parts) == 3:
            if dateutil.tz.gettz(parts[2]) is None:
                raise DeadlineError(f"--due: unknown time zone {parts[2]!r} ({example})")
            return parse_utc(text)
        when = dateutil.parser.parse(text)
    except DeadlineError:
        raise
    except (ValueError, OverflowError) as exc:
        raise DeadlineError(f"--due: {text!r} is not a date and time ({exc}); {example}") from None
    if when.tzinfo is None:
        raise DeadlineError(f"--due: {text!r} has no time zone; add one, {example}")
    return parse_utc(when)


def parse_duration(text: str) -> float:
    """An extension as seconds: '48h', '2d', '1d12h', '90min', '1 week', '0' (none)."""
    s = str(text).strip().lower()
    if re.fullmatch(r"0+(\.0*)?", s):
        return 0.0
    total, pos = 0.0, 0
    for m in _PART.finditer(s):
        if m.start() != pos or m.group(2) not in _UNITS:
            pos = -1
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos > 0 and pos == len(s):
        return total
    raise DeadlineError(f"--extend: {text!r} is not a duration; write e.g. 48h, 2d, 1d12h, 90min or 1w (0: none)")


def describe(seconds: float) -> str:
    """'2 d 3 h', '5 h 10 min', '45 s'."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        n, seconds = divmod(seconds, size)
        if n:
            out.append(f"{n} {unit}")
    return " ".join(out[:2])


def utc(when: dt.datetime | None) -> str:
    return "none" if when is None else when.strftime("%Y-%m-%d %H:%M:%S UTC")


# -- what applies -----------------------------------------------------------------------------
def store_path(root: Path, topic: str) -> Path:
    return Path(root) / "autograded" / f".coursekit-extensions-{topic}.json"


def read_store(root: Path, topic: str) -> dict[str, float]:
    """Extensions granted with ``coursekit deadline`` (student -> seconds)."""
    from coursekit.grading import safeio
    path = store_path(root, topic)
    try:
        data = json.loads(safeio.read_file(path.parent, path.name, 8 << 20))
    except (safeio.Unsafe, ValueError, OSError, RecursionError):
        return {}
    items = data.get("extensions") if isinstance(data, dict) else None
    if not isinstance(items, dict):
        return {}
    return {str(k): float(v) for k, v in items.items() if isinstance(v, (int, float)) and v > 0}


def write_store(root: Path, topic: str, extensions: dict[str, float]) -> None:
    from coursekit.grading import safeio
    path = store_path(root, topic)
    safeio.ensure_dir(path.parent, Path(root))
    data = json.dumps({"version": STORE_VERSION, "extensions": dict(sorted(extensions.items()))}, indent=1)
    safeio.write_atomic(path, data.encode("utf-8"), 0o600)


@dataclass
class Deadlines:
    """A topic's due date (naive UTC, or None) and extensions (student -> seconds)."""

    due: dt.datetime | None = None
    extensions: dict[str, float] = field(default_factory=dict)
    modules: dict[str, str] = field(default_factory=dict)      # the late-penalty plugin's (plugin_modules)

    def extension(self, student: str) -> float | None:
        return self.extensions.get(student)

    def due_for(self, student: str) -> dt.datetime | None:
        if self.due is None:
            return None
        return self.due + dt.timedelta(seconds=self.extensions.get(student, 0.0))

    def seconds_late(self, student: str, timestamp: str | None) -> float | None:
        """How late nbgrader finds the submission (``SubmittedAssignment.total_seconds_late``); None
        without a due date or a readable time."""
        due = self.due_for(student)
        if due is None or not timestamp:
            return None
        from nbgrader.utils import parse_utc
        try:
            when = parse_utc(timestamp.strip())
        except Exception:      # noqa: BLE001 - nbgrader refuses it too (the reason comes from the sandbox)
            return None
        return max(0.0, (when - due).total_seconds())


def load(root: Path, db_url: str, course_id: str, topic: str) -> Deadlines:
    """The topic's deadlines: the gradebook's due date and extensions, then the waiting ones."""
    from nbgrader.api import Gradebook, MissingEntry
    out = Deadlines()
    with Gradebook(db_url, course_id) as gb:
        try:
            assignment = gb.find_assignment(topic)
        except MissingEntry:
            assignment = None
        if assignment is not None:
            out.due = assignment.duedate
            for sub in assignment.submissions:
                if sub.extension is not None and sub.extension.total_seconds() > 0:
                    out.extensions[sub.student.id] = sub.extension.total_seconds()
    out.extensions.update(read_store(root, topic))
    return out


def for_context(ctx) -> Deadlines:
    """The run's deadlines (read once, on the first job). A stand-in for the run's context without the
    field (the trusted side's tests) has none."""
    if not hasattr(ctx, "deadlines"):
        return Deadlines()
    if ctx.deadlines is None:
        from nbgrader.coursedir import CourseDirectory
        from coursekit.config import load_course_config
        cfg = load_course_config(ctx.root)
        dl = load(ctx.root, CourseDirectory(config=cfg).db_url, ctx.course_id, ctx.topic)
        dl.modules = plugin_modules(ctx.root, ctx.nbgrader_config)
        ctx.deadlines = dl
    return ctx.deadlines


def plugin_modules(root: Path, nbgrader_config: dict) -> dict[str, str]:
    """The source of the late-penalty plugin's module (``c.AssignLatePenalties.plugin_class``) where it
    lives in the course root, as nbgrader imports it there (the course root is nbgrader's first import
    path): relative path -> text, for the sandbox, which does not see the course. {} for nbgrader's own
    plugin or an installed one (the sandbox sees the environment)."""
    name = (nbgrader_config.get("AssignLatePenalties") or {}).get("plugin_class")
    if not isinstance(name, str) or "." not in name:
        return {}
    top = name.split(".", 1)[0]
    root = Path(root)
    if (root / f"{top}.py").is_file():
        return {f"{top}.py": (root / f"{top}.py").read_text(encoding="utf-8")}
    if (root / top / "__init__.py").is_file():
        return {str(p.relative_to(root)): p.read_text(encoding="utf-8")
                for p in sorted((root / top).rglob("*.py")) if "__pycache__" not in p.parts}
    import importlib.util
    try:
        found = importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise DeadlineError(f"the late-penalty plugin {name!r} (c.AssignLatePenalties.plugin_class) cannot be "
                            f"imported: put {top}.py in the course root, as nbgrader's docs say")
    return {}


# -- what the run says ---------------------------------------------------------------------------
def late_note(dl: Deadlines, student: str, timestamp: str | None, penalty: float) -> tuple[float | None, str]:
    """(seconds late or None, a note for the student's report row, or '')."""
    late = dl.seconds_late(student, timestamp)
    if not late:
        return late, ""
    ext = dl.extension(student)
    due = f"due {utc(dl.due)}" + (f" + extension {describe(ext)}" if ext else "")
    return late, f"submitted {describe(late)} late ({due}): late penalty {penalty:g}"


def import_notes(report, dl: Deadlines, zone: str) -> list[str]:
    """What an import means for the due date, said once per run (nothing without a due date)."""
    if dl.due is None:
        return []
    out = []
    if report.untimed:
        who = ", ".join(report.untimed[:10]) + (" …" if len(report.untimed) > 10 else "")
        out.append(f"no submission time for {len(report.untimed)} imported student(s) ({who}): the download records "
                   "none (Moodle's and Canvas's file names carry no time), so the due date cannot apply to them; give "
                   "each one's time in submitted/<student>/<topic>/timestamp.txt (nbgrader's format, e.g. "
                   "'2026-12-01 17:05:00 Europe/Berlin'), or import a folder per student with its timestamp.txt")
    if report.marked_late:
        who = ", ".join(report.marked_late[:10]) + (" …" if len(report.marked_late) > 10 else "")
        out.append(f"the LMS marks {len(report.marked_late)} of them late ({who}) but records no time: no late "
                   "penalty is applied to them")
    if report.name_times and zone.strip().upper() == "UTC":
        out.append(f"{report.name_times} submission time(s) read from the LMS's file names as UTC "
                   "(c.KitGrading.lms_time_zone): set it if your LMS shows times in another zone")
    return out


def summary_lines(results: dict) -> list[str]:
    """The run's late submissions, for the summary: who, how late, the penalty."""
    late = [(s, r) for s, r in sorted(results.items()) if r.status == "graded" and r.late]
    if not late:
        return []
    lines = [f"late submissions ({len(late)}):"]
    for student, r in late:
        penalty = sum(nb.penalty or 0.0 for nb in r.notebooks.values())
        lines.append(f"  {student}: {describe(r.late)} late, late penalty {penalty:g}")
    return lines


# -- the command ------------------------------------------------------------------------------
def _regrade(root: Path, topic: str, students: set[str] | None) -> list[str]:
    """Mark graded submissions (all, or ``students``) for grading again by the next run."""
    from coursekit.grading import plan
    state = plan.State.load(root, topic)
    marked = []
    for student, entry in state.students.items():
        if (students is None or student in students) and entry.get("digest"):
            entry["digest"] = ""
            marked.append(student)
    if marked:
        state.save()
    return sorted(marked)


def _extensions(items: list[str]) -> dict[str, float]:
    from coursekit.grading.lms import invalid_student_id
    out = {}
    for item in items:
        student, sep, length = item.partition("=")
        student = student.strip()
        if not sep:
            raise DeadlineError(f"--extend {item!r}: write STUDENT=DURATION, e.g. alice=48h")
        bad = invalid_student_id(student)
        if bad:
            raise DeadlineError(f"--extend {item!r}: {bad}")
        out[student] = parse_duration(length)
    return out


def apply(root: Path, db_url: str, course_id: str, topic: str, due=None, clear_due: bool = False,
          extend: dict[str, float] | None = None) -> tuple[Deadlines, list[str]]:
    """Set the due date and extensions in the gradebook (extensions of students without a submission
    there wait in the store); returns the deadlines now and the students marked for grading again."""
    from nbgrader.api import Gradebook, MissingEntry
    extend = extend or {}
    changed: set[str] | None = set()
    with Gradebook(db_url, course_id) as gb:
        assignment = gb.find_assignment(topic)
        if due is not None or clear_due:
            if assignment.duedate != due:
                changed = None
            assignment.duedate = due
            gb.db.commit()
        store = read_store(root, topic)
        for student, seconds in extend.items():
            try:
                sub = gb.find_submission(topic, student)
            except MissingEntry:
                sub = None
            before = store.get(student) or (sub.extension.total_seconds() if sub is not None and sub.extension else 0)
            if sub is not None:
                gb.grant_extension(topic, student, minutes=seconds / 60)
            if seconds > 0:
                store[student] = seconds
            else:
                store.pop(student, None)
            if changed is not None and before != seconds:
                changed.add(student)
        if extend:
            write_store(root, topic, store)
    return load(root, db_url, course_id, topic), _regrade(root, topic, changed) if changed != set() else []


def status_lines(root: Path, db_url: str, course_id: str, topic: str, dl: Deadlines) -> list[str]:
    from nbgrader.api import Gradebook
    lines = [f"{topic}: due {utc(dl.due)}"]
    if dl.due is None:
        lines[0] += " (no due date: no submission is late; set one with --due)"
    for student, seconds in sorted(dl.extensions.items()):
        until = dl.due_for(student)
        lines.append(f"  extension {student}: {describe(seconds)}" + (f" (until {utc(until)})" if until else ""))
    with Gradebook(db_url, course_id) as gb:
        subs = list(gb.find_assignment(topic).submissions)
        untimed = sorted(s.student.id for s in subs if s.timestamp is None)
        for sub in sorted(subs, key=lambda s: s.student.id):
            late = dl.seconds_late(sub.student.id, str(sub.timestamp) if sub.timestamp else None)
            if late:
                penalty = sum(nb.late_submission_penalty or 0 for nb in sub.notebooks)
                lines.append(f"  late: {sub.student.id} {describe(late)} (as last graded: late penalty {penalty:g})")
    if untimed:
        lines.append(f"  no submission time for {len(untimed)} of {len(subs)} submissions "
                     f"({', '.join(untimed[:10])}{' …' if len(untimed) > 10 else ''}): the due date cannot apply to them")
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m coursekit deadline", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("topic", help="the assignment (topic folder in the source folder)")
    p.add_argument("--due", help="the due date with its time zone, e.g. '2026-12-01 17:00 Europe/Berlin'; "
                                 "'none' removes it")
    p.add_argument("--extend", action="append", default=[], metavar="STUDENT=DURATION",
                   help="an extension for one student, e.g. alice=48h, bob=2d, carol=1d12h; 0 removes it "
                        "(repeatable)")
    from coursekit.paths import ROOT
    p.add_argument("--root", type=Path, default=ROOT, help="course root (default: this repository)")
    a = p.parse_args(argv)
    from nbgrader.coursedir import CourseDirectory
    from coursekit.config import load_course_config
    from coursekit.grading import gradebook
    from coursekit.grading.pipeline import _Lock
    root = Path(a.root).resolve()
    cfg = load_course_config(root)
    cd = CourseDirectory(config=cfg)
    if not (root / cd.source_directory / a.topic).is_dir():
        raise DeadlineError(f"unknown topic {a.topic!r}: no folder {cd.source_directory}/{a.topic}")
    clear = a.due is not None and a.due.strip().lower() == "none"
    due = parse_due(a.due) if a.due is not None and not clear else None
    extend = _extensions(a.extend)
    lock = _Lock(root, a.topic)          # not while a grading run of the topic saves its results
    try:
        gradebook.check_and_repair(cd.db_url)
        gradebook.ensure_assignment(root, cd.db_url, cd.course_id, a.topic)
        dl, marked = apply(root, cd.db_url, cd.course_id, a.topic, due, clear, extend)
        lines = status_lines(root, cd.db_url, cd.course_id, a.topic, dl)
    finally:
        lock.release()
    if marked:
        lines.append(f"{len(marked)} graded submission(s) will be graded again by the next `make grade "
                     f"TOPIC={a.topic}` (their deadline changed): {', '.join(marked[:10])}"
                     + (" …" if len(marked) > 10 else ""))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
