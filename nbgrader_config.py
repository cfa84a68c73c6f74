"""nbgrader configuration: the repository root is the course root (see docs/DESIGN.md)."""
import os

c = get_config()  # noqa: F821  (injected by traitlets when nbgrader loads this file)

c.CourseDirectory.course_id = "pytorch-nn"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
# Instructors write topics in solutions/; generate_assignment writes the student versions to notebooks/.
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"

# Where a student notebook uploaded alone (Colab, a JupyterHub without the course folder) installs the
# course's library utils from: any address pip accepts for the folder utils/. `make assignments` writes
# it into the first code cell of the student versions (coursekit/build.py); unset, that cell tells the
# student to upload the course folder or to ask for the address.
# c.KitAssignments.utils_url = "git+https://github.com/ORG/COURSE@main#subdirectory=utils"

# What a student sees in place of the solution.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Per-cell time limit when nbgrader executes a notebook (autograde, validate).
# CPU training cells in this course take a few seconds; 120 s leaves room on slow laptops
# while still stopping a runaway loop.
c.ExecutePreprocessor.timeout = 120
c.ExecutePreprocessor.interrupt_on_timeout = True

# A graded test cell a student deleted is put back from the gradebook (and run), instead of
# silently scoring nothing; edited or retyped locked cells are always restored by nbgrader.
c.OverwriteCells.add_missing_cells = True

# `make grade` (python -m coursekit grade) has its own settings, c.KitGrading.* and c.KitSandbox.*
# (workers, time and memory limits, isolation, feedback): their defaults and help live in
# coursekit/config.py; `python -m coursekit grade --help-config` lists them. Set one here to change
# it, e.g. c.KitGrading.workers = 4. A misspelt name stops `make grade` with a message.

# nbgrader's own sanitizing steps, plus one (coursekit/slot/preprocessors.py) that works around
# an nbgrader 0.9.6 bug: with add_missing_cells, a submission holding a copied cell (duplicate
# grade_id) failed to grade at all.
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "coursekit.slot.preprocessors.DropClearedGradingMetadata",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "nbgrader.preprocessors.OverwriteCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]
