"""The course kit's own tooling: build, check and grade the course (``python -m coursekit ...``).

Instructors and CI use this package; notebooks and student kernels never import it (they import
``utils``, the student library). See docs/DESIGN.md for the layout and the data flow.
"""
