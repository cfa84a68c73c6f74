"""Feedback HTML for the students graded in a run (nbgrader's GenerateFeedback, made safe).

* regenerated (``force``) for every student graded in the run and for every graded student whose
  feedback is missing or older than their grade (a run killed during feedback is completed by the
  next one);
* made from the sanitised autograded notebooks, and rendered the kit's way on top of that
  (template ``formgrader_templates/nbconvert/coursekit_feedback``): Markdown and HTML cleaned with
  the kit's allow-list (:mod:`.safehtml`), no JavaScript or widget outputs
  (``HTMLExporter.sanitize_html``), and a Content-Security-Policy in the page's head that forbids
  inline script and event handlers: no script a student wrote runs in the instructor's or the
  student's browser; formulas are typeset by MathJax 3 from the environment, inline and allowed by
  its hash (:mod:`.mathjax`), so they render offline;
* hidden tests are left out (``ClearHiddenTests``), and the tracebacks of the cells that held them
  are cut to their last line (the message); ``KitGrading.feedback_hidden_tests = True`` shows them.
"""
from __future__ import annotations

import logging
import multiprocessing
import re
import sys

from nbgrader.preprocessors import ClearHiddenTests


class HideHiddenTests(ClearHiddenTests):
    """ClearHiddenTests for feedback: also cut the traceback of a cell that held hidden tests to its
    last line, which would otherwise show the hidden test's code."""

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code" and self.begin_test_delimeter in cell.source:
            cell, resources = super().preprocess_cell(cell, resources, cell_index)
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    out["traceback"] = [f"{out.get('ename', 'Error')}: {out.get('evalue', '')}"]
            return cell, resources
        return cell, resources


def _logger() -> logging.Logger:
    log = logging.getLogger("coursekit.feedback")
    log.propagate = False
    if not log.handlers:
        log.addHandler(logging.NullHandler())
    return log


def _one(args) -> tuple[str, str | None]:
    cfg_dict, topic, student, hidden = args
    from traitlets.config import Config
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.converters import GenerateFeedback
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.preprocessors import GetGrades
    from nbgrader.server_extensions.formgrader.handlers import template_path as nbgrader_templates

    from coursekit.grading.formgrader_guard import FILTERS, TEMPLATES
    from coursekit.grading.mathjax import FILTERS as MATHJAX_FILTERS

    c = Config(cfg_dict)
    c.CourseDirectory.assignment_id = topic
    c.CourseDirectory.student_id = re.sub(r"([*?\[])", r"[\1]", student)   # nbgrader takes a glob
    c.HTMLExporter.sanitize_html = True
    c.HTMLExporter.template_name = "coursekit_feedback"
    c.HTMLExporter.extra_template_basedirs = [str(TEMPLATES / "nbconvert"), nbgrader_templates]
    c.HTMLExporter.template_file = "page.html.j2"      # coursekit_feedback's page: nbgrader's, and MathJax
    c.HTMLExporter.filters = dict(FILTERS, **MATHJAX_FILTERS)
    if not hidden:
        c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, CSSHTMLHeaderPreprocessor]
    for name in ("traitlets", "nbgrader"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        converter = GenerateFeedback(coursedir=CourseDirectory(config=c), config=c, log=_logger())
        converter.force = True
        converter.start()
        return student, None
    except BaseException as exc:  # one broken notebook must not stop the others
        return student, f"{type(exc).__name__}: {str(exc)[:200]}"


def generate(cfg_dict: dict, topic: str, students: list[str], hidden_tests: bool, workers: int = 1,
             progress: bool = True) -> dict[str, str | None]:
    """Feedback for ``students``; returns student -> problem (None when it worked)."""
    from tqdm.auto import tqdm

    tasks = [(cfg_dict, topic, s, hidden_tests) for s in students]
    if tasks:
        from coursekit.grading import mathjax
        mathjax.inline_script()       # read (2.2 MB) once, before the pool forks
    out: dict[str, str | None] = {}
    bar = tqdm(total=len(tasks), desc=f"feedback {topic}", unit="student", disable=not progress or not tasks,
               dynamic_ncols=True, file=sys.stderr)
    try:
        if workers <= 1 or len(tasks) <= 1:
            for t in tasks:
                student, problem = _one(t)
                out[student] = problem
                bar.update(1)
        else:
            ctx = multiprocessing.get_context("fork")
            with ctx.Pool(min(workers, len(tasks))) as pool:
                for student, problem in pool.imap_unordered(_one, tasks):
                    out[student] = problem
                    bar.update(1)
    finally:
        bar.close()
    return out
