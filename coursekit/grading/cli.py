"""Grade a topic for a whole class: import, autograde in isolation, feedback, export.

    python -m coursekit grade TOPIC [--from LMS.zip|FOLDER] [--workers N] [--force] ...
    make grade TOPIC=01_tensors [SUBMISSIONS=lms.zip] [GRADE_ARGS="--workers 4"]

1. ``--from``: the LMS download (a zip, or a folder of files and zips) is imported entry by entry
   into ``submitted/<student>/<topic>/``; entries that cannot be used are reported and skipped.
   Without ``--from`` the existing ``submitted/`` tree is graded.
2. Every submission that is new, resubmitted (its content changed), failed before, or all with
   ``--force``, is autograded by nbgrader's own Autograde converter inside its own sandbox (see
   ``coursekit.sandbox``), several at once; scores come back as data and only this process writes
   the course gradebook. Manual grades and comments from Formgrader are kept.
3. Limits: ``ExecutePreprocessor.timeout`` per cell, ``KitGrading.submission_timeout`` per
   submission, ``KitSandbox.memory_limit_mb`` and friends (``--help-config``).
4. Feedback HTML (feedback/), grades.csv (with a status column), ``grading_report_<topic>.csv``,
   ``grading_problems_<topic>.txt`` (every problem in full) and a summary: import budgets and
   entries not imported first, flagged students, failures with their reasons, the mean score, the
   share failing each cell. The exit status is 1 when a submission could not be graded.

Ctrl-C or SIGTERM stops the run cleanly: what was graded is saved, the next run continues.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

sys.modules.setdefault("rfc3987_syntax", None)   # jsonschema builds a large grammar on import otherwise


def _parser() -> argparse.ArgumentParser:
    from coursekit.grading.collect import LMS_PATTERN_HELP
    from coursekit.paths import ROOT

    p = argparse.ArgumentParser(prog="python -m coursekit grade", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=f"LMS file names: {LMS_PATTERN_HELP}.")
    p.add_argument("topic", nargs="?", help="topic folder in solutions/, e.g. 01_tensors")
    p.add_argument("--from", dest="source", type=Path, help="LMS download to import: a zip, or a folder of files/zips")
    p.add_argument("--pattern", help="regular expression for the archive's file names, replacing the default "
                                     "(groups student_id and file_id; optional timestamp)")
    p.add_argument("--workers", type=int, help="submissions graded at once (default: KitGrading.workers, else cores)")
    p.add_argument("--cluster", metavar="tcp://HOST:8786",
                   help="grade on the workers of this Dask scheduler (default: KitGrading.cluster; none: here)")
    p.add_argument("--timeout", type=float, dest="submission_timeout",
                   help="seconds allowed per submission (default: KitGrading.submission_timeout)")
    p.add_argument("--memory-mb", type=int, help="memory per submission in MiB (default: KitSandbox.memory_limit_mb)")
    p.add_argument("--force", action="store_true", help="regrade submissions that are already graded")
    p.add_argument("--student", action="append", dest="students", help="grade only this student (repeatable)")
    p.add_argument("--notebook", help="grade only this notebook of the topic (as nbgrader's --notebook); the "
                                      "others keep their grades")
    p.add_argument("--no-execute", action="store_true",
                   help="nbgrader's --no-execute is refused: it would score the students' own saved outputs")
    p.add_argument("--no-sandbox", action="store_true",
                   help="no isolation (KitSandbox.mode = 'off'): only for notebooks you trust")
    p.add_argument("--no-feedback", action="store_true", help="skip the feedback HTML")
    p.add_argument("--no-export", action="store_true", help="skip grades.csv")
    p.add_argument("--root", type=Path, default=ROOT, help="course root (default: this repository)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--help-config", action="store_true", help="list the kit's settings for nbgrader_config.py")
    return p


_MAIN_PID: list[int] = []      # the grading process (set by install_sigterm)


def _terminate(signum, frame):
    """SIGTERM: stop as Ctrl-C does. An exception raised inside a weakref callback or a __del__ would
    only be printed and dropped by Python, so there the handler just sets the flag that the grading
    loop checks between two looks at its slots (pool.STOP).

    A process forked from the grader (the feedback step's worker pool) inherits this handler; there
    SIGTERM is how the pool ends its workers when it closes, so it gets the default action (the worker
    ends quietly) instead of a KeyboardInterrupt and its traceback."""
    if _MAIN_PID and os.getpid() != _MAIN_PID[0]:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
        return
    from coursekit.grading import pool
    pool.STOP.set()
    f = frame
    while f is not None:
        if f.f_code.co_name == "__del__" or f.f_code.co_filename.endswith("weakref.py"):
            return
        f = f.f_back
    raise KeyboardInterrupt("SIGTERM")


def install_sigterm():
    """Install :func:`_terminate` for this process (and only this one); returns the old handler.

    A process forked from this one (the feedback step's worker pool) gets SIGTERM's default action back
    as soon as it starts (an at-fork hook): SIGTERM is how a pool ends its workers, and a handler written
    in Python runs only when the worker's main thread next runs Python code, so a worker could outlive
    it and the pool's close wait for it forever (seen under load, about 1 run in 25)."""
    _MAIN_PID[:] = [os.getpid()]
    if not _AT_FORK:
        os.register_at_fork(after_in_child=_default_sigterm_in_child)
        _AT_FORK.append(True)
    return signal.signal(signal.SIGTERM, _terminate)


_AT_FORK: list[bool] = []


def _default_sigterm_in_child() -> None:
    if _MAIN_PID and os.getpid() != _MAIN_PID[0] and signal.getsignal(signal.SIGTERM) is _terminate:
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
        except ValueError:          # not the main thread: _terminate's own check still ends it
            pass


def main(argv: list[str] | None = None) -> int:
    from coursekit.config import help_text
    from coursekit.grading.pipeline import Options, grade

    a = _parser().parse_args(argv)
    if a.help_config:
        print(help_text())
        return 0
    if not a.topic:
        _parser().error("the topic is required, e.g. 01_tensors")
    try:
        import tqdm
        tqdm.tqdm.monitor_interval = 0     # no monitor thread: the feedback step forks
    except ImportError:
        pass
    old = install_sigterm()
    try:
        summary = grade(Options(topic=a.topic, root=a.root, source=a.source, pattern=a.pattern, workers=a.workers,
                                submission_timeout=a.submission_timeout, memory_mb=a.memory_mb, force=a.force,
                                sandbox="off" if a.no_sandbox else None, feedback=not a.no_feedback,
                                export=not a.no_export, progress=not a.quiet, students=a.students, cluster=a.cluster,
                                notebook=a.notebook, no_execute=a.no_execute))
    except KeyboardInterrupt as exc:
        detail = f": {exc}" if str(exc) and str(exc) != "SIGTERM" else ""
        print(f"\ngrading interrupted{detail}; run the same command again to continue", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, old)
    print(summary.text())
    return 1 if summary.failed else 0      # as plain nbgrader: a submission that could not be graded


if __name__ == "__main__":
    sys.exit(main())
