"""The course gradebook: health check and repair, backup, the per-topic template, and the one writer.

Only the trusted main process writes the course gradebook (:func:`merge`, one submission at a
time, one transaction each). Sandboxes get a throw-away SQLite copy of the topic's cells
(:func:`make_template`) and their scores come back as checked data.
"""
from __future__ import annotations

import datetime
import os
import shutil
import sqlite3
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from coursekit.grading.model import JobResult

BACKUPS_KEPT = 3


class GradebookError(SystemExit):
    pass


def sqlite_path(db_url: str) -> Path | None:
    return Path(db_url[len("sqlite:///"):]) if db_url.startswith("sqlite:///") else None


def head_revision() -> str:
    """nbgrader's newest gradebook schema revision, read with alembic's Python API (no command)."""
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import ALEMBIC_DIR
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", ALEMBIC_DIR)
    return ScriptDirectory.from_config(cfg).get_current_head()


def check_and_repair(db_url: str) -> str | None:
    """Detect a half-made SQLite gradebook (what an nbgrader that could not run ``alembic`` leaves:
    tables but no schema version) and repair it; returns what was done, for the log."""
    path = sqlite_path(db_url)
    if path is None or not path.exists():
        return None
    if path.is_symlink():
        raise GradebookError(f"the gradebook {path} is a symbolic link: refusing to use it")
    if path.stat().st_size == 0:
        path.unlink()
        return f"the gradebook {path.name} was an empty file (an interrupted start): removed, it is made again"
    try:
        con = sqlite3.connect(f"file:{path}?mode=rw", uri=True)
    except sqlite3.Error as exc:
        raise GradebookError(f"the gradebook {path} cannot be opened ({exc})") from None
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not tables:
            con.close()
            path.unlink()
            return f"the gradebook {path.name} was empty (an interrupted start): removed, it is made again"
        if "alembic_version" in tables and con.execute("SELECT count(*) FROM alembic_version").fetchone()[0]:
            return None
        head = head_revision()
        with con:
            if "alembic_version" not in tables:
                con.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
            con.execute("INSERT INTO alembic_version (version_num) VALUES (?)", (head,))
        return (f"the gradebook {path.name} was half-made (no schema version: nbgrader could not run `alembic` "
                f"when it was created, e.g. Formgrader started without the environment): repaired")
    except sqlite3.DatabaseError as exc:
        raise GradebookError(f"the gradebook {path} is damaged ({exc}); restore a backup "
                             f"({path.name}.bak-*) or move it away") from None
    finally:
        con.close()


def backup(db_url: str) -> Path | None:
    """A consistent copy of a SQLite gradebook (sqlite's backup API) before the run writes to it;
    the newest few are kept next to it."""
    path = sqlite_path(db_url)
    if path is None or not path.exists():
        return None
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    dest = path.with_name(f"{path.name}.bak-{stamp}")
    src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        out = sqlite3.connect(dest)
        with out:
            src.backup(out)
        out.close()
    finally:
        src.close()
    old = sorted(path.parent.glob(f"{path.name}.bak-*"))
    for stale in old[:-BACKUPS_KEPT]:
        stale.unlink(missing_ok=True)
    return dest


def ensure_assignment(root: Path, db_url: str, course_id: str, topic: str) -> None:
    """Make sure the course gradebook knows the topic (nbgrader generate_assignment records it)."""
    from nbgrader.api import Gradebook, MissingEntry
    from coursekit.nbgrader_run import nbgrader

    with Gradebook(db_url, course_id) as gb:
        try:
            if gb.find_assignment(topic).notebooks:
                return
        except MissingEntry:       # (an assignment made only to hold its due date has no notebooks yet)
            pass
    with tempfile.TemporaryDirectory(prefix="nbgrader-release-") as tmp:
        nbgrader("generate_assignment", topic, "--force", f"--CourseDirectory.release_directory={tmp}",
                 f"--CourseDirectory.db_url={db_url}", root=root)


@dataclass
class Template:
    path: Path
    notebooks: list[str]
    cells: dict[str, dict[str, float]]           # notebook -> graded cell (grade and task cells) -> max points
    comment_cells: dict[str, set[str]]
    kernelspecs: dict[str, dict | None] | None = None   # notebook -> the source notebook's kernelspec (nbgrader's)
    source_cells: dict[str, list] | None = None   # notebook -> [(grade_id, cell type, source, locked, kinds)] as nbgrader has them


def make_template(db_url: str, course_id: str, topic: str, path: Path) -> Template:
    """Copy the topic's assignment, notebooks and cells (source, checksums, points) from the course
    gradebook into a fresh SQLite file for the sandboxes."""
    from nbgrader.api import Base, Gradebook
    from sqlalchemy import create_engine, select, text

    with Gradebook(db_url, course_id) as gb:
        assignment = gb.find_assignment(topic)
        aid, acourse = assignment.id, assignment.course_id
        nb_ids = [nb.id for nb in assignment.notebooks]
        names = [nb.name for nb in assignment.notebooks]
        # every cell nbgrader gives a grade: grade cells and task cells (graded by hand)
        cells = {nb.name: {c.name: float(c.max_score) for c in list(nb.grade_cells) + list(nb.task_cells)}
                 for nb in assignment.notebooks}
        kernelspecs = {nb.name: _json_or_none(nb.kernelspec) for nb in assignment.notebooks}
        kinds = {nb.name: {**{c.name: ["solution"] for c in nb.solution_cells},
                           **{c.name: ["task"] for c in nb.task_cells}} for nb in assignment.notebooks}
        for nb in assignment.notebooks:
            for c in nb.grade_cells:
                kinds[nb.name][c.name] = ["grade", *kinds[nb.name].get(c.name, [])]
        source_cells = {nb.name: [(c.name, c.cell_type, c.source or "", bool(c.locked), kinds[nb.name].get(c.name, []))
                                  for c in nb.source_cells] for nb in assignment.notebooks}
        comment_cells = {nb.name: {c.name for c in list(nb.grade_cells) + list(nb.solution_cells) + list(nb.task_cells)}
                         for nb in assignment.notebooks}
        t = Base.metadata.tables
        with gb.engine.connect() as conn:
            def rows(table, where):
                return [dict(r) for r in conn.execute(select(t[table]).where(where)).mappings()]
            data = [("course", rows("course", t["course"].c.id == acourse)),
                    ("assignment", rows("assignment", t["assignment"].c.id == aid)),
                    ("notebook", rows("notebook", t["notebook"].c.id.in_(nb_ids)))]
            base_cells = rows("base_cell", t["base_cell"].c.notebook_id.in_(nb_ids))
            cell_ids = [c["id"] for c in base_cells]
            data.append(("base_cell", base_cells))
            for table in ("grade_cells", "solution_cells", "task_cells"):
                data.append((table, rows(table, t[table].c.id.in_(cell_ids))))
            data.append(("source_cell", rows("source_cell", t["source_cell"].c.notebook_id.in_(nb_ids))))
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    path = Path(path)
    if path.exists():
        path.unlink()
    engine = create_engine(f"sqlite:///{path}", future=True)
    Base.metadata.create_all(bind=engine)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
        conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": version})
        for table, items in data:
            if items:
                conn.execute(t[table].insert(), items)
    engine.dispose()
    return Template(path, names, cells, comment_cells, kernelspecs, source_cells)


def _json_or_none(text):
    import json
    try:
        value = json.loads(text) if text else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def merge(gb, topic: str, result: JobResult, same_content: bool = False) -> None:
    """Write one submission's results into the course gradebook in one transaction. Manual grades
    and comments stay (as nbgrader's SaveAutoGrades does); a failed submission gets 0 points for its
    autograded cells, its manual cells stay listed for grading (see :func:`manual_cells`), and it
    is flagged; a flagged student is flagged in Formgrader too.

    The review state of a cell the instructor graded by hand (``needs_manual_grade``) is kept when
    ``same_content`` (the submission merged last time was this one: a forced regrade, a retry) and
    the cell's autograde did not change; otherwise (a resubmission, a changed autograde) the cell is
    marked for review again, as nbgrader does on every autograde."""
    from nbgrader import utils as nbu
    from sqlalchemy.exc import SAWarning
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)   # nbgrader's add_submission autoflush chatter
        try:
            gb.update_or_create_student(result.student)
            ts = None
            if result.timestamp:
                try:
                    ts = nbu.parse_utc(result.timestamp)
                except Exception:
                    ts = None
            sub = gb.update_or_create_submission(topic, result.student, **({"timestamp": ts} if ts else {}))
            if result.extension:        # a waiting extension (deadlines), where nbgrader keeps it
                sub.extension = datetime.timedelta(seconds=result.extension)
            by_nb = {snb.name: snb for snb in sub.notebooks}
            if result.status == "graded":
                for nb_name, data in result.notebooks.items():
                    snb = by_nb[nb_name]
                    grades = {g.name: g for g in snb.grades}
                    for name, grade in data.grades.items():
                        g = grades[name]
                        if g.manual_score is None:
                            g.needs_manual_grade = bool(grade.needs_manual_grade)
                        elif not (same_content and _same_score(g.auto_score, grade.auto_score)):
                            g.needs_manual_grade = True
                        g.auto_score = grade.auto_score
                    comments = {c.name: c for c in snb.comments}
                    for name, text in data.comments.items():
                        if name in comments:
                            comments[name].auto_comment = text
                    snb.late_submission_penalty = data.penalty
                    snb.flagged = bool(result.flags)
                for nb_name, snb in by_nb.items():   # a notebook missing from the submission: 0
                    if nb_name not in result.notebooks and (result.graded is None or nb_name in result.graded):
                        for g in snb.grades:
                            g.auto_score = 0
                            g.needs_manual_grade = g.manual_score is not None
            else:       # failed: 0 for what is autograded; manual cells still wait in Formgrader
                for snb in sub.notebooks:
                    if result.graded is not None and snb.name not in result.graded:
                        continue                      # not graded in this run (--notebook): left as it is
                    manual = manual_cells(snb.notebook)
                    for g in snb.grades:
                        if g.name in manual:
                            g.auto_score = None
                            g.needs_manual_grade = True
                        else:
                            g.auto_score = 0
                            g.needs_manual_grade = g.manual_score is not None
                    snb.flagged = True
            gb.db.commit()
        except BaseException:
            gb.db.rollback()
            raise


def _same_score(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return abs(float(a) - float(b)) < 1e-9


def fingerprints(gb, topic: str) -> dict[str, str]:
    """Per student, a hash of what their feedback shows from the gradebook for ``topic``: every grade
    (automatic, manual, extra credit, waiting for review), every comment (automatic, manual) and the
    late penalty. Feedback made when the hash was X is stale when it is no longer X."""
    import hashlib
    import json

    out = {}
    try:
        assignment = gb.find_assignment(topic)
    except Exception:      # MissingEntry: nothing graded yet
        return out
    for sub in assignment.submissions:
        rows = []
        for snb in sub.notebooks:
            rows.append(["notebook", snb.name, snb.late_submission_penalty])
            rows += [["grade", snb.name, g.name, g.auto_score, g.manual_score, g.extra_credit,
                      bool(g.needs_manual_grade)] for g in snb.grades]
            rows += [["comment", snb.name, c.name, c.auto_comment, c.manual_comment] for c in snb.comments]
        rows.sort(key=lambda r: json.dumps(r, default=str))
        out[sub.student.id] = hashlib.sha256(json.dumps(rows, default=str).encode()).hexdigest()
    return out


def record_names(gb, names: dict[str, tuple[str | None, str | None]]) -> int:
    """The students' names as the LMS download gave them (student -> (first, last)), written where
    the gradebook has none: a name the instructor entered in Formgrader is never replaced. Returns
    how many students got a name."""
    from sqlalchemy.exc import SAWarning
    done = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)
        try:
            for student, (first, last) in sorted(names.items()):
                if not (first or last):
                    continue
                row = gb.update_or_create_student(student)
                if row.first_name or row.last_name:
                    continue
                row.first_name, row.last_name = first or None, last or None
                done += 1
            gb.db.commit()
        except BaseException:
            gb.db.rollback()
            raise
    return done


def manual_cells(nb) -> set[str]:
    """The graded cells of a gradebook notebook that a human grades (nbgrader's ``determine_grade``
    gives them no automatic score): written answers (grade and solution cells), markdown grade cells
    and tasks."""
    solutions = {c.name for c in nb.solution_cells}
    out = {c.name for c in nb.task_cells}
    for c in nb.grade_cells:
        if c.name in solutions or c.cell_type == "markdown":
            out.add(c.name)
    return out


@dataclass
class Stats:
    scores: dict[str, tuple[float, float]]         # student -> (score, max score)
    cell_fail_share: dict[str, float]              # graded cell -> share of students who failed it


def stats(gb, topic: str) -> Stats:
    """Every submission's score, and per graded cell the share of students who failed it among those
    whose cell has a score. A cell awaiting a human's grade (a manual cell not graded yet, or graded
    before and waiting for review again) is left out, not counted as failed. Cells are named by their
    grade_id, prefixed with the notebook's name when the assignment has several notebooks (grade_ids
    are unique only within a notebook)."""
    scores, fails, totals = {}, {}, {}
    assignment = gb.find_assignment(topic)
    several = len(assignment.notebooks) > 1

    def key(notebook: str, cell: str) -> str:
        return f"{notebook}/{cell}" if several else cell

    order = [key(nb.name, gc.name) for nb in assignment.notebooks for gc in nb.grade_cells]
    for sub in assignment.submissions:
        scores[sub.student.id] = (float(sub.score), float(sub.max_score))
        for snb in sub.notebooks:
            for g in snb.grades:
                if g.auto_score is None and (g.manual_score is None or g.needs_manual_grade):
                    continue                                    # a manual cell awaiting a grade
                name = key(snb.name, g.name)
                totals[name] = totals.get(name, 0) + 1
                fails[name] = fails.get(name, 0) + (1 if (g.score or 0) < g.max_score else 0)
    share = {name: fails.get(name, 0) / totals[name] for name in order if totals.get(name)}
    return Stats(scores, share)


def remove_stale_outputs(root: Path, student: str, topic: str, notebooks: list[str] | None = None) -> None:
    """autograded/ and feedback/ of a submission that failed: no stale notebook or HTML survives.
    ``notebooks`` (a ``--notebook`` regrade): only those notebooks' files go, the others' stay."""
    for area in ("autograded", "feedback"):
        folder = Path(root) / area / student / topic
        if notebooks is not None and folder.is_dir() and not folder.is_symlink():
            for path in (folder / f"{name}.{ext}" for name in notebooks for ext in ("ipynb", "html")):
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                elif os.path.lexists(path):
                    path.unlink()
        elif os.path.lexists(folder):
            if folder.is_symlink() or not folder.is_dir():
                folder.unlink()
            else:
                shutil.rmtree(folder)
