"""The sandboxes' Python code compiled once, on this machine, before any slot starts.

The slots and both grading kernels import ``coursekit`` and the course library (``utils``) from folders
bound read-only into their sandboxes, with ``PYTHONDONTWRITEBYTECODE`` set; the kernels load the
judge's package (``coursekit/judge``) and the message tables (``coursekit/wire.py``) by path. Without
a ``.pyc`` beside the source each of them compiles it again: the judge's package alone costs about
0.02 CPU-s in each kernel, two kernels per submission. Here they are compiled where Python looks for
them (``__pycache__`` beside the source, as an import on this machine writes them); a sandbox reads
them as any import does (checked against the source's time stamp and size: a stale one is ignored and
the source compiled, as before). Where a folder cannot be written, nothing changes. Up to date, this
costs a few milliseconds.
"""
from __future__ import annotations

import compileall
import functools
import importlib.util
from pathlib import Path

KIT = Path(__file__).resolve().parent.parent        # coursekit/
WIRE = KIT / "wire.py"


@functools.cache
def compiled_wire() -> str | None:
    """Compile coursekit (the judge's package and wire.py with it) and utils, once per process; the
    path of wire.py's ``.pyc`` (bound beside the judge's package in the kernels' sandboxes, where
    wire.py is ``coursekit_wire.py``), or None where there is none."""
    try:
        compileall.compile_dir(str(KIT), quiet=2)
        utils = importlib.util.find_spec("utils")
        for folder in (utils.submodule_search_locations or []) if utils else []:
            compileall.compile_dir(folder, quiet=2)
        pyc = Path(importlib.util.cache_from_source(str(WIRE)))
    except (OSError, ValueError, NotImplementedError):
        return None
    return str(pyc) if pyc.is_file() else None
