"""The judge kernel: an IPython kernel whose namespace is a JudgeNamespace (namespace.py).

    python -I judge_start.py -f CONNECTION_FILE     (with $COURSEKIT_JUDGE: {"socket", "judge_dir"})

Run by nbgrader's kernel manager for the graded test cells only (preprocessors.JudgedExecute), in a
sandbox of its own that sees the assignment's files read-only and the socket of the student's kernel,
never student code.
"""
from __future__ import annotations

import importlib.util
import json
import os
import sys


def load_package(folder: str):
    """This package under the name ``coursekit_judge`` (both kernels load it by path)."""
    if "coursekit_judge" in sys.modules:
        return sys.modules["coursekit_judge"]
    spec = importlib.util.spec_from_file_location("coursekit_judge", os.path.join(folder, "__init__.py"),
                                                  submodule_search_locations=[folder])
    module = importlib.util.module_from_spec(spec)
    sys.modules["coursekit_judge"] = module
    spec.loader.exec_module(module)
    return module


def kernel_start():
    """The student kernel's start module (kernel/start.py: bound beside this file as ``kernel_start.py``;
    in the source tree ``../kernel/start.py``), for what both kernels do alike."""
    if "coursekit_kernel_start" in sys.modules:
        return sys.modules["coursekit_kernel_start"]
    here = os.path.dirname(os.path.abspath(__file__))
    for path in (os.path.join(here, "kernel_start.py"), os.path.join(os.path.dirname(here), "kernel", "start.py")):
        if os.path.isfile(path):
            spec = importlib.util.spec_from_file_location("coursekit_kernel_start", path)
            module = importlib.util.module_from_spec(spec)
            sys.modules["coursekit_kernel_start"] = module
            spec.loader.exec_module(module)
            return module
    raise ImportError(f"coursekit/kernel/start.py is not beside {here}")


def main() -> None:
    cfg = json.loads(os.environ.pop("COURSEKIT_JUDGE", "") or "{}")
    here = os.path.realpath(os.getcwd())
    sys.path[:] = [p for p in sys.path if p not in ("", ".") and os.path.realpath(p) != here]
    load_package(cfg.get("judge_dir") or os.path.dirname(os.path.abspath(__file__)))
    from coursekit_judge.namespace import JudgeNamespace
    from ipykernel.kernelapp import IPKernelApp

    ns = JudgeNamespace(cfg["socket"])
    app = IPKernelApp.instance()
    app.user_ns = ns
    app.initialize([*sys.argv[1:], "--HistoryManager.enabled=False"])
    # what the shell keeps of a cell's exception for %notebook (never read here): as the student's kernel
    app.shell._format_exception_for_storage = kernel_start().stored_exception
    ns.attach(app.shell)
    app.start()


if __name__ == "__main__":
    main()
