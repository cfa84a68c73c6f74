"""Warm kernels: IPython kernels forked from a process that has already imported the course's heavy
modules (torch, NumPy, matplotlib, IPython/ipykernel, the student library), so that a kernel is ready
in a fraction of a second instead of after seconds of imports, and behaves exactly like a fresh one.

- ``coursekit.warm.provisioner.WarmProvisioner``: the jupyter_client kernel provisioner
  (entry point ``coursekit-warm``), used by the ``python3-warm`` kernelspec or by any kernelspec without
  a provisioner when ``JUPYTER_DEFAULT_PROVISIONER_NAME=coursekit-warm``.
- ``coursekit.warm.zygote``: the process kernels are forked from; ``coursekit.warm.client``: starting
  it, asking it for kernels, watching them.
- ``enable()`` makes warm kernels the default of this process and its children (the test suite does
  so through ``coursekit.warm.pytest_plugin``; ``COURSEKIT_WARM=0`` turns it off everywhere).

What a kernel can tell (tests/unit/test_warm_kernels.py checks the rest is a fresh kernel's): before
its first cell the preloaded modules are already in ``sys.modules`` (after the course's setup cell and a
figure the set is the same); ``warnings.filters`` holds the same entries, the preloaded modules' after
the shell's own (none overlap); the hash seed of ``str`` is the zygote's, so kernels of one zygote
iterate sets of strings in the same order; ``/proc/PID/cmdline`` (``ps``) shows the zygote's command
line (``sys.argv`` and ``sys.orig_argv`` are the kernel's); ipykernel's parent poller watches the zygote,
which exits when its client does; anything the preload imports print goes to the client's stderr once,
not into a first cell's output.

Grading has its own provisioner, ``coursekit.warm.sandboxed.SandboxedProvisioner`` (entry point
``coursekit-sandboxed``): a zygote per grading slot whose forked kernels join their submission's own
bubblewrap sandbox and drop every capability before any student code (docs/DESIGN.md, "How grading
works").
"""
from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

PROVISIONER_NAME = "coursekit-warm"
KERNEL_NAME = "python3-warm"
DEFAULT_PROVISIONER_ENV = "JUPYTER_DEFAULT_PROVISIONER_NAME"


def supported() -> str | None:
    """None where kernels can be forked here, else why not."""
    from coursekit.warm.client import supported as why_not
    return why_not()


def kernelspec(python: str | None = None) -> dict:
    """kernel.json of the warm kernel: ipykernel's own, with this provisioner."""
    return {
        "argv": [python or sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (ipykernel, warm start)",
        "language": "python",
        "metadata": {"debugger": True, "kernel_provisioner": {"provisioner_name": PROVISIONER_NAME}},
        "kernel_protocol_version": "5.5",
    }


def ensure_kernelspec(prefix: str | os.PathLike | None = None) -> Path:
    """Install (or refresh) the ``python3-warm`` kernelspec under PREFIX/share/jupyter/kernels
    (default: this environment's prefix) and return its folder."""
    folder = Path(prefix or sys.prefix) / "share" / "jupyter" / "kernels" / KERNEL_NAME
    folder.mkdir(parents=True, exist_ok=True)
    spec = json.dumps(kernelspec(), indent=1) + "\n"
    target = folder / "kernel.json"
    if not target.exists() or target.read_text() != spec:
        target.write_text(spec)
    try:
        from ipykernel.kernelspec import RESOURCES
        for logo in Path(RESOURCES).glob("logo-*"):
            if not (folder / logo.name).exists():
                shutil.copyfile(logo, folder / logo.name)
    except ImportError:
        pass
    return folder


def enable(environ: dict | None = None) -> bool:
    """Make kernelspecs without a provisioner of their own (``python3``, nbval's current-env kernel)
    start warm in this process and the processes it starts with ``environ`` (default ``os.environ``).
    Does nothing (and returns False) where COURSEKIT_WARM=0 or forking is impossible."""
    env = os.environ if environ is None else environ
    if env.get("COURSEKIT_WARM", "1") == "0" or supported():
        return False
    env.setdefault(DEFAULT_PROVISIONER_ENV, PROVISIONER_NAME)
    return env.get(DEFAULT_PROVISIONER_ENV) == PROVISIONER_NAME


def shutdown() -> None:
    """Stop this process's zygotes (also done at exit)."""
    from coursekit.warm import client
    client.shutdown()
