"""Deprecated: the course-notebook model is coursekit.notebook (and coursekit.paths); import from there.

This shim stays only while test modules owned by others still import it.
"""
from coursekit.notebook import (exercises, nbgrader_meta, read, with_source,  # noqa: F401
                                is_answer_cell as is_solution, is_test_cell as is_test)
from coursekit.paths import (NOTEBOOKS, ROOT, SOLUTIONS, solution_notebook,  # noqa: F401
                             student_notebook, topics)
