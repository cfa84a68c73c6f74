"""nbgrader configuration: the repository root is the course root (see DESIGN.md)."""
import os

c = get_config()  # noqa: F821  (injected by traitlets when nbgrader loads this file)

c.CourseDirectory.course_id = "pytorch-nn"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
# Instructors write topics in solutions/; generate_assignment writes the student versions to notebooks/.
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"

# What a student sees in place of the solution.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Per-cell time limit when nbgrader executes a notebook (autograde, validate).
# CPU training cells in this course take a few seconds; 120 s leaves room on slow laptops
# while still stopping a runaway loop.
c.ExecutePreprocessor.timeout = 120
c.ExecutePreprocessor.interrupt_on_timeout = True
