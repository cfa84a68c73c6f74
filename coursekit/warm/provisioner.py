"""``coursekit-warm``: a jupyter_client kernel provisioner that forks kernels from a zygote.

It is jupyter_client's LocalProvisioner except for how the process starts: a kernelspec whose argv is
the standard ``PYTHON -m ipykernel_launcher -f {connection_file}`` (with any options for the kernel
after it, such as nbgrader's ``--HistoryManager.hist_file=:memory:``) gets a kernel forked from the
zygote of that Python and environment (``coursekit.warm.client``), whose `ForkedKernel` stands in for
the Popen object, so that polling, waiting, interrupting (SIGINT to the kernel's process group),
killing and restarting are LocalProvisioner's own code. Anything else starts an ordinary kernel,
exactly as LocalProvisioner does: another command line, extra Popen arguments, ``independent=True``,
a stream asked for as a pipe, a working folder holding a module the zygote preloaded (a fresh kernel
would import that one), ``COURSEKIT_WARM=0``, not Linux, or a zygote that failed to start (said once
per process, as a warning).
"""
from __future__ import annotations

import asyncio
import importlib.machinery
import os
import pathlib
import shutil
import subprocess
import warnings
from typing import Any

from jupyter_client.connect import KernelConnectionInfo
from jupyter_client.provisioning import LocalProvisioner
from traitlets import List, Unicode

from coursekit.warm import client

_warned: set[str] = set()


def warn_once(reason: str, log=None) -> None:
    if reason in _warned:
        return
    _warned.add(reason)
    message = f"coursekit-warm: starting ordinary kernels: {reason}"
    if log is not None:
        log.warning(message)
    warnings.warn(message, RuntimeWarning, stacklevel=3)


def _std_fd(value, default: int, opened: list[int]) -> int | None:
    """The descriptor a Popen stream argument stands for (None: not something we can pass)."""
    if value is None:
        return default
    if value == subprocess.DEVNULL:
        fd = os.open(os.devnull, os.O_RDWR)
        opened.append(fd)
        return fd
    if isinstance(value, int) and value >= 0:
        return value
    if hasattr(value, "fileno"):
        try:
            return value.fileno()
        except (OSError, ValueError):
            return None
    return None   # subprocess.PIPE, STDOUT: the caller wants to read it


def shadowed(cwd: str, names) -> str | None:
    """A preloaded top-level module that the kernel's folder (first on a fresh kernel's sys.path)
    would provide instead."""
    for top in sorted({n.split(".")[0] for n in names}):
        spec = importlib.machinery.PathFinder.find_spec(top, [cwd])
        if spec is not None and spec.has_location:   # a namespace folder does not win over a package
            return top
    return None


class WarmProvisioner(LocalProvisioner):
    """Kernels forked from a zygote that has imported the course's heavy modules (see the module doc)."""

    preload = List(Unicode(), default_value=list(client.DEFAULT_PRELOAD), config=True,
                   help="Modules the zygote imports before it forks kernels.")

    #: Why the last kernel is an ordinary one (None: it was forked), for tests and logs.
    fallback_reason: str | None = None

    def _plan(self, cmd: list[str], kwargs: dict) -> tuple[dict | None, str | None]:
        if os.environ.get("COURSEKIT_WARM", "1") == "0":
            return None, "COURSEKIT_WARM=0"
        why = client.supported()
        if why:
            return None, why
        if len(cmd) < 5 or cmd[1:4] != ["-m", "ipykernel_launcher", "-f"]:
            return None, None   # another kernel: not ours to speed up, and nothing to warn about
        extra = set(kwargs) - {"env", "cwd", "stdin", "stdout", "stderr", "independent", "kernel_id",
                               "extra_arguments"}
        if extra:
            return None, f"launch arguments {sorted(extra)}"
        if kwargs.get("independent"):
            return None, "an independent kernel outlives its client"
        python = os.path.expanduser(cmd[0])
        if not os.path.isabs(python):
            found = shutil.which(python, path=(kwargs.get("env") or os.environ).get("PATH"))
            if not found:
                return None, None
            python = found
        cwd = str(kwargs.get("cwd") or os.getcwd())
        if not os.path.isdir(cwd):
            return None, None   # the ordinary start reports the missing folder
        env = dict(kwargs.get("env") if kwargs.get("env") is not None else os.environ)
        if not env.get("PYTHONSAFEPATH"):
            shadow = shadowed(cwd, self.preload)
            if shadow:
                return None, f"{cwd} has its own {shadow!r}"
        env["JPY_PARENT_PID"] = str(os.getpid())   # as jupyter_client's launch_kernel sets it
        return {"python": python, "cmd": [os.path.expanduser(c) for c in cmd], "env": env, "cwd": cwd}, None

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> KernelConnectionInfo:
        plan, reason = self._plan(cmd, kwargs)
        if plan is not None:
            opened: list[int] = []
            r, w = os.pipe()         # stdin: a pipe at end of file, as launch_kernel gives kernels
            os.close(w)
            opened.append(r)
            stdin = _std_fd(kwargs.get("stdin"), r, opened)
            stdout = _std_fd(kwargs.get("stdout"), 1, opened)
            stderr = _std_fd(kwargs.get("stderr"), 2, opened)
            try:
                if None in (stdin, stdout, stderr):
                    raise client.ZygoteError("a kernel stream was asked for as a pipe")
                loop = asyncio.get_running_loop()
                zygote = await loop.run_in_executor(
                    None, client.get_zygote, plan["python"], plan["env"], tuple(self.preload))
                process = await loop.run_in_executor(
                    None, zygote.fork, plan["cmd"], plan["env"], plan["cwd"], [stdin, stdout, stderr])
            except client.ZygoteError as err:
                reason = str(err)
                plan = None
            finally:
                for fd in opened:
                    os.close(fd)
        if plan is None:
            self.fallback_reason = reason or "not a standard IPython kernel command"
            if reason:
                warn_once(reason, self.log)
            return await super().launch_kernel(cmd, **kwargs)
        self.fallback_reason = None
        self.process = process
        self.pid = process.pid
        try:
            self.pgid = os.getpgid(process.pid)
        except OSError:
            self.pgid = None
        self.cwd = kwargs.get("cwd", pathlib.Path.cwd())
        self.log.debug("coursekit-warm: kernel %s forked from zygote %s", process.pid, zygote.pid)
        return self.connection_info
