"""The gradebook's database engine of a slot's jobs: one, its compiled SQL made once per slot.

nbgrader opens the job's gradebook about ten times (a ``Gradebook`` per preprocessor), each with an
engine of its own, and SQLAlchemy compiles every query again for each engine (its cache of compiled
statements belongs to the engine and its dialect). :class:`Engines` stands in for nbgrader's
``create_engine``: every job of a slot gets the one engine the slot made before it forked the job,
pointed at the job's own gradebook file. Its compiled statements were made once, in the driver,
by :func:`rehearse`: the gradebook calls an autograde makes, on a scratch copy of the first job's
gradebook, which is then removed. A job only reads that cache; what it runs and writes is its own,
and a statement the rehearsal did not make is compiled in the job, as before.

``Gradebook.close`` disposes of the engine's connections, as before; the engine opens new ones
when the next ``Gradebook`` asks. No connection is open when a job is forked.
"""
from __future__ import annotations

import datetime
import os
import shutil
from pathlib import Path


NBGRADER_OPTIONS = {"echo": False, "future": True}     # nbgrader.api.Gradebook's create_engine(db_url, ...)


class Engines:
    """nbgrader's ``create_engine`` for a slot's jobs (see the module's docstring). A gradebook that
    is not a plain SQLite file, or asked for with other options than nbgrader's, gets an engine of
    its own, made as nbgrader makes it (one per database and options within a job)."""

    def __init__(self, create_engine):
        self._create_engine = create_engine
        self._own: dict = {}
        self._shared = None
        self._path: str | None = None       # the file the shared engine opens
        self._url = None

    def __call__(self, url, *args, **kwargs):
        path = _sqlite_file(url) if not args and kwargs == NBGRADER_OPTIONS else None
        if path is not None and (self._path is None or self._path == path):
            if self._shared is None:
                self._shared = self._create_engine(url, *args, creator=self._connect, **kwargs)
            self._path, self._url = path, url
            return self._shared
        key = (str(url), repr(args), repr(sorted(kwargs.items())))
        if key not in self._own:
            self._own[key] = self._create_engine(url, *args, **kwargs)
        return self._own[key]

    def _connect(self):
        """A connection to the current gradebook, made as the engine's dialect makes one for its URL."""
        from sqlalchemy.engine import make_url
        dialect = self._shared.dialect
        cargs, cparams = dialect.create_connect_args(make_url(self._url))
        return dialect.connect(*cargs, **cparams)

    def release(self) -> None:
        """Before a fork: no connection open, the next gradebook asked for gets the shared engine."""
        if self._shared is not None:
            self._shared.dispose()
        self._path = self._url = None


def _sqlite_file(url) -> str | None:
    from sqlalchemy.engine import make_url
    try:
        u = make_url(url)
    except Exception:  # noqa: BLE001 - not ours to judge: nbgrader's own create_engine says what is wrong
        return None
    if u.drivername not in ("sqlite", "sqlite+pysqlite") or u.query or not u.database \
            or u.database == ":memory:" or u.database.startswith("file:"):
        return None
    return u.database


def rehearse(engines: Engines, gradebook: Path, scratch: Path, course_id: str, topic: str, student: str) -> bool:
    """Make the engine's compiled statements: the gradebook calls of an autograde of ``topic`` and
    of reading its scores back, on a scratch copy of ``gradebook``, removed afterwards. False where
    it did not get through (the job compiles what it needs, as before)."""
    from nbgrader.api import Gradebook
    scratch.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(gradebook, scratch)
    url = f"sqlite:///{scratch}"
    try:
        with Gradebook(url, course_id) as gb:
            gb.update_or_create_student(student)
        with Gradebook(url, course_id) as gb:
            gb.find_student(student)
            gb.find_assignment(topic)
        with Gradebook(url, course_id) as gb:
            sub = gb.update_or_create_submission(topic, student, timestamp=datetime.datetime(2000, 1, 1))
            sub.total_seconds_late
        with Gradebook(url, course_id) as gb:
            for nb in gb.find_assignment(topic).notebooks:
                notebook = gb.find_notebook(nb.name, topic)
                notebook.kernelspec
                for cell in notebook.source_cells:
                    gb.find_source_cell(cell.name, nb.name, topic)
                for cell in [*notebook.grade_cells, *notebook.task_cells]:
                    gb.find_graded_cell(cell.name, nb.name, topic)
                for cell in notebook.grade_cells:
                    grade = gb.find_grade(cell.name, nb.name, topic, student)
                    grade.auto_score, grade.needs_manual_grade = grade.max_score, False
                    gb.db.commit()
                for cell in notebook.solution_cells:
                    comment = gb.find_comment(cell.name, nb.name, topic, student)
                    comment.auto_comment = "."
                    gb.db.commit()
                snb = gb.find_submission_notebook(nb.name, topic, student)
                gb.find_submission(topic, student).total_seconds_late
                snb.late_submission_penalty = None
                snb.score, snb.max_score
                gb.db.commit()
                for g in snb.grades:
                    g.name, g.auto_score, g.max_score, g.needs_manual_grade
                for c in snb.comments:
                    c.name, c.auto_comment
        with Gradebook(url, course_id) as gb:
            for snb in gb.find_submission(topic, student).notebooks:
                for g in snb.grades:
                    g.name, g.auto_score, g.max_score, g.needs_manual_grade
                for c in snb.comments:
                    c.name, c.auto_comment
                snb.late_submission_penalty
        return True
    except Exception:  # noqa: BLE001 - a rehearsal that fails changes nothing a job does
        return False
    finally:
        engines.release()
        for suffix in ("", "-journal", "-wal", "-shm"):
            try:
                os.unlink(f"{scratch}{suffix}")
            except OSError:
                pass
