"""IPython extension: a cell run before the notebook's setup cell says so, instead of a bare NameError.

A student who opens a notebook (or restarts its kernel) and runs a cell in the middle gets
``NameError: name 'torch' is not defined``. While ``setup_notebook`` has not run in this kernel, this
extension adds one line under that traceback: run the setup cell (the first code cell) first. Once the
setup cell has run, NameErrors are shown exactly as IPython shows them.

The course environment loads it in every kernel through ``{sys.prefix}/etc/ipython/ipython_kernel_config.py``,
written by ``make setup`` (``python -m utils._setup_hint install``). Kernels that nbgrader runs to
autograde (``NBGRADER_EXECUTION=autograde``: plain nbgrader's and the kit's, the judge's included) are
left alone: their tracebacks are exactly IPython's.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

HINT = ("This notebook's setup cell has not run in this kernel yet: run the first code cell (the one that calls "
        "setup_notebook), then this cell again. After a kernel restart, run the cells above this one "
        "(Run > Run All Above Selected Cell).")
CONFIG_LINE = 'c.InteractiveShellApp.extensions.append("utils._setup_hint")  # written by make setup\n'


def _handler(shell, etype, value, tb, tb_offset=None):
    stb = shell.InteractiveTB.structured_traceback(etype, value, tb, tb_offset=tb_offset)
    from utils import training
    if not training.setup_done():
        stb = list(stb) + ["", HINT]
    shell._showtraceback(etype, value, stb)
    return stb


def load_ipython_extension(ip) -> None:
    if os.environ.get("NBGRADER_EXECUTION") == "autograde":     # a grading kernel: tracebacks as IPython's
        return
    ip.set_custom_exc((NameError,), _handler)


def install(prefix: str | None = None) -> Path:
    """Make every IPython kernel of this environment load the extension (idempotent); returns the config file."""
    path = Path(prefix or sys.prefix) / "etc" / "ipython" / "ipython_kernel_config.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = path.read_text() if path.exists() else ""
    if CONFIG_LINE not in text:
        path.write_text(text + ("" if not text or text.endswith("\n") else "\n") + CONFIG_LINE)
    return path


if __name__ == "__main__":
    if sys.argv[1:] != ["install"]:
        raise SystemExit("usage: python -m utils._setup_hint install")
    print(f"wrote {install()}")
