"""Importing an LMS download into submitted/, entry by entry: one upload never hides the rest of the class.

The download is a zip (or a folder of files and zips). Each entry's *name* decides whose it is (only
the part the LMS wrote, see ``lms``) and which notebook it is (the student's own file name); its
*content* is read (size-capped) and written by the grader to ``submitted/<student>/<topic>/<notebook>.ipynb``,
so nothing of the archive's paths, links or mode bits reaches the disk (no zip-slip, no setuid
files). The archive itself is never copied into the course and is not visible to student code.

* a student's own zip (``<LMS prefix>work.zip``) is searched for the topic's notebooks and counts
  for that student only, whatever its entries are called; a zip inside it is refused;
* ``.gz`` is decompressed (size-capped, at most ``KitGrading.max_archive_depth`` archives deep);
* a student's other files (data, helper modules, images) go beside their notebooks, subfolders kept,
  names checked, links and special files never read (``collect_files``).

The walk and its budgets are ``collect_walk``; what is kept and written, ``collect_place``.

Budgets (``KitGrading``): each upload (the download, each LMS zip in a folder) has its own
(``max_download_entries``, ``max_download_mb``), and each student their own (``max_student_entries``,
``max_student_mb``, a student's zip included): running out of one costs only that student's or that
upload's entries, and says so first (``ImportReport.budget_problems``). Two files for one student's
notebook from one submitter: the newer by the LMS's order (attempt time or id, then the entry's date)
is kept and both are named; one id for two submitters (two LMS keys): neither is imported. Every
entry that is not imported is reported with the reason (``ImportReport.problems``, nothing dropped).
What the LMS's part of a name says about the student goes on: the name (``ImportReport.names``, for
the gradebook) and the submission time (``timestamp.txt``, which nbgrader reads).
"""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from coursekit.grading import archive, lms_ids, safeio
from coursekit.grading.collect_place import Found, ImportReport, Kept, refuse_other_people, write  # noqa: F401
from coursekit.grading.collect_walk import Reader
from coursekit.grading.lms import (LMS_PATTERN_HELP, MOODLE_BY_NUMBER, Generic, Named, Pattern,  # noqa: F401
                                   detect, invalid_student_id, lms_regexp, notebook_of, shown, submission_time)
from coursekit.grading.sanitize import one_line


def import_download(root: Path, topic: str, source: Path, notebooks: list[str], settings,
                    pattern: str | None = None, progress=None, ignore: list[str] | None = None) -> ImportReport:
    """Import an LMS download into submitted/ (see the module's docstring). ``ignore``: the course's
    ``CourseDirectory.ignore`` (nbgrader's default when None), names never imported as a student's file."""
    if ignore is None:
        from nbgrader.coursedir import CourseDirectory
        ignore = list(CourseDirectory.class_traits()["ignore"].default())
    report = ImportReport()
    zone = str(getattr(settings, "lms_time_zone", "UTC")).strip()
    if zone.upper() != "UTC":
        import dateutil.tz
        if dateutil.tz.gettz(zone) is None:
            raise SystemExit(f"c.KitGrading.lms_time_zone = {zone!r} is not a time zone (e.g. 'Europe/Berlin', "
                             "'America/New_York', 'UTC')")
    if pattern:
        try:
            rx = re.compile(pattern)
        except re.error as exc:
            raise SystemExit(f"--pattern: not a regular expression ({exc})") from None
        if not {"student_id", "file_id"} <= set(rx.groupindex):
            raise SystemExit("--pattern must define the groups (?P<student_id>...) and (?P<file_id>...)")
    with tempfile.TemporaryDirectory(prefix="coursekit-import-") as spool:
        os.chmod(spool, 0o700)
        reader = Reader(notebooks, pattern, settings, report, Path(spool), progress)
        reader.topic, reader.ignore = topic, list(ignore)
        archive.read_source(Path(source), reader, report)
        reader.kept.conflicts()
        folder = Path(root) / "submitted"
        reader.kept.lookalikes(sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.is_symlink())
                               if folder.is_dir() else [])
        for b in reader.students.values():
            if b.skipped and b.reason:
                report.budget(f"{b.what}: {b.reason}: {b.skipped} more skipped")
        refuse_other_people(Path(root), topic, reader.kept, report)
        write(Path(root), topic, reader.kept, report)
        written = set(report.imported) | set(report.unchanged)
        try:
            lms_ids.record(Path(root), topic,
                           {s: f.lms for (s, _), f in reader.kept.found.items() if f.lms and s in written})
        except (safeio.Unsafe, OSError) as exc:
            report.problem(f"the students' LMS ids could not be recorded ({one_line(exc, 100)}): the LMS grade export "
                           "will not find them")
    return report


