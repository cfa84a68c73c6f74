"""pytest plugin (entry point ``pytest11``): the test suite's kernels start warm.

Every kernel the suite starts without a provisioner of its own -- nbval's over solutions/ (its
``--nbval-current-env`` kernelspec), the ``python3`` kernels of the wrong-answer and mutation harnesses,
``nbgrader autograde`` in the round trips (a child process: it inherits the variable) -- is started
by the ``coursekit-warm`` provisioner, through ``JUPYTER_DEFAULT_PROVISIONER_NAME``. The grader's
sandboxed kernels are not: the grader starts them with an environment of its own.
``COURSEKIT_WARM=0 pytest ...`` runs everything on ordinary kernels.
"""
from __future__ import annotations

import os


def pytest_configure(config):
    if os.environ.get("COURSEKIT_WARM", "1") == "0":
        return
    from coursekit.warm import enable
    enable()   # does nothing where forking is impossible: the kernels start the ordinary way
