"""The grading slot: what runs inside a slot's sandbox, one submission after another.

``driver`` reads job names from the trusted host (``coursekit/grading/slot.py``), runs nbgrader's
autograde for each in a forked process and writes its results as data; ``preprocessors`` are the
kit's nbgrader preprocessors that run there (the student's kernel, the judge's, the working folder).
The student's kernel (``coursekit/kernel``) and the judge (``coursekit/judge``) run in sandboxes of
their own inside the slot; the sandbox primitives are in ``coursekit/sandbox``.
"""
