"""The student's kernel during grading: ``start.py`` is bound into the kernel's sandbox as a single file
(``/opt/kit/kernel_start.py``) and runs there before any student code; nothing else of ``coursekit``
is visible in that sandbox except the judge's protocol package (``coursekit/judge``, which it serves).
"""
