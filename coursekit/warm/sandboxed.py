"""Warm grading kernels: forked from a zygote in the grading slot, each inside a sandbox of its own.

A grading slot's driver (``coursekit/slot/driver.py``) starts one zygote (``zygote.py``) when it
starts: a process of the slot, outside every submission's sandbox, that imports the course's heavy
modules once (torch, NumPy, matplotlib, IPython/ipykernel, the student library)
and never runs student code. For each submission nbgrader asks this module's provisioner
(``coursekit-sandboxed``, named in the job's kernelspec) for a kernel, and it

1. starts the submission's sandbox with bubblewrap, exactly the command line of an ordinary grading
   kernel (``worker.kernel_argv``: its own user, pid, network, IPC, UTS and mount namespaces, a root
   file system that holds only the Python environment, ``utils/``, its working copy and private
   size-limited ``/tmp``, ``/dev/shm`` and home) but running, instead of the kernel, a small init
   (``INIT``, pid 1 of the sandbox's pid namespace) that holds the sandbox open;
2. asks the zygote for a kernel: the forked child joins every namespace of that sandbox (the user
   namespace that owns its mounts, the mount, pid, network, IPC, UTS and cgroup namespaces, then
   bwrap's inner user namespace; each checked afterwards), forks again to be pid 2 of the sandbox's
   pid namespace (as a cold kernel is), drops every capability (bounding, ambient, permitted, effective) and sets
   no_new_privs, then runs ``coursekit/kernel/start.py`` (limits, then the IPython kernel) in the
   kernel's own folder with the kernel's own environment: what a cold kernel runs, minus the imports;
3. ends the sandbox with the kernel: its init is ended, and the whole pid namespace with it.

A kernel forked this way cannot affect the next one: each is a separate process made from the
zygote's untouched state, with the RNG seeds and settings of a fresh kernel (``zygote.reseed``).

Where any of that is impossible (no zygote, a namespace that cannot be joined after the fork, a
zygote that died) the kernel starts the ordinary way, from the very same command line, and the run
says so (``status()``).
"""
from __future__ import annotations

import asyncio
import json
import os
import select
import signal
import subprocess
import sys
import time
from typing import Any

from jupyter_client.connect import KernelConnectionInfo
from jupyter_client.provisioning import LocalProvisioner
from traitlets import Dict, Unicode

from coursekit.warm import client

PROVISIONER_NAME = "coursekit-sandboxed"
# pid 1 of the sandbox (bwrap --as-pid-1) while the kernel lives: it says when the sandbox is complete,
# reaps what is reparented to it (as bwrap's own init does), and ends -- and the whole pid namespace
# with it -- when its stdin closes. Being the namespace's init, nothing inside can kill it.
INIT = ("import os, select, signal\n"
        "r, w = os.pipe(); os.set_blocking(w, False); signal.set_wakeup_fd(w)\n"
        "signal.signal(signal.SIGCHLD, lambda *a: None)\n"
        "os.write(1, b'ready\\n')\n"
        "while True:\n"
        "    try:\n"
        "        while os.waitpid(-1, os.WNOHANG)[0]: pass\n"
        "    except ChildProcessError: pass\n"
        "    ready = select.select([0, r], [], [])[0]\n"
        "    if r in ready: os.read(r, 512)\n"
        "    if 0 in ready and not os.read(0, 512): break\n")
READY_TIMEOUT_S = 30.0

#: What every grading zygote imports: the IPython kernel, what kernel_start.py and IPython's first
#: traceback (a failing test shows one) import. The course's own modules come from
#: KitSandbox.preload_modules.
KERNEL_PRELOAD = (
    "ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell", "IPython", "IPython.core.interactiveshell",
    "math", "json", "resource", "types", "sysconfig", "copy", "ctypes", "fcntl",
    "IPython.core.ultratb", "stack_data", "executing", "pure_eval", "asttokens", "pygments.lexers",
    "pygments.formatters", "pygments.styles", "bdb", "decimal", "fractions", "html",
    # what IPKernelApp.initialize imports (measured: 146 modules, 0.06 CPU-s per kernel otherwise)
    "ipykernel.debugger", "IPython.core.completerlib", "IPython.core.debugger", "IPython.core.oinspect",
    "IPython.utils.wildcard", "IPython.extensions", "faulthandler", "mimetypes", "pdb", "pydoc", "sqlite3",
    "tornado.gen", "tornado.locks", "tornado.queues", "code", "cmd", "encodings.idna", "http.server",
    # what the first cells import on the way (measured): the shell's input logger, the kernel's event loop
    "IPython.core.logger", "tornado.platform.asyncio",
    # what the first large message (a figure) imports: pyzmq's zero-copy garbage collector (its thread
    # starts in the kernel, on first use, as it would anyway)
    "zmq.utils.garbage")
#: What the judge kernel imports besides (coursekit/judge's msgpack, and Hypothesis, which the property
#: checks of hidden tests use: about 0.2 CPU-s per kernel otherwise; zygote.warm_caches fills its caches).
JUDGE_PRELOAD = ("msgpack", "hypothesis", "hypothesis.strategies", "hypothesis.errors")
#: Modules whose source a failing test's traceback shows (parsed once in the zygote, see zygote.parse_sources).
#: None now: utils.checks raises its failures with the traceback cut at the test cell (``_format.at_caller``)
#: and hides its frames otherwise, so kernels never parse its files, and parsing all of them cost each slot
#: 0.6 CPU-s.
TRACEBACK_SOURCES: tuple[str, ...] = ()

_zygote: client.Zygote | None = None
_why_not: str | None = "no zygote was started"
_fallbacks: list[str] = []


def start_zygote(python: str, env: dict, course_modules: list[str]) -> str | None:
    """In a slot's driver: start the zygote (``python -I``, the kernel's own flags) with the kernels'
    environment; it imports the kernel's own modules (KERNEL_PRELOAD) and the course's (``course_modules``). Returns None, or why kernels of this slot
    will start cold."""
    global _zygote, _why_not
    why = client.supported()
    if why:
        _why_not = why
        return why
    preload = tuple(dict.fromkeys((*KERNEL_PRELOAD, *JUDGE_PRELOAD, *course_modules)))
    options = {"watch_parent": False, "freeze": True, "warm_caches": True,
               "parse_sources": [m for m in TRACEBACK_SOURCES if m in preload]}
    try:
        _zygote = client.Zygote(python, env, preload, flags=("-I",), options=options)
    except client.ZygoteError as err:
        _zygote, _why_not = None, str(err)
        return _why_not
    _why_not = None   # a preload that failed (hello["failed"]) fails in the kernel too, the same way
    return None


def stop_zygote() -> None:
    global _zygote, _why_not
    if _zygote is not None:
        _zygote.close()
    _zygote, _why_not = None, "no zygote was started"
    _fallbacks.clear()


def zygote() -> client.Zygote | None:
    return _zygote


def status() -> dict:
    """Whether this process's kernels start warm, and why not where they do not."""
    return {"warm": _zygote is not None and _zygote.alive(), "why_not": _why_not, "fallbacks": list(_fallbacks)}


def _split(cmd: list[str]) -> tuple[list[str], list[str]] | None:
    """(bwrap and its options, the kernel's command) of an ordinary grading kernel's command line."""
    try:
        at = cmd.index("--")
    except ValueError:
        return None
    sandbox, kernel = cmd[:at], cmd[at + 1:]
    if not sandbox or os.path.basename(sandbox[0]) != "bwrap" or len(kernel) < 3 or kernel[1] != "-I":
        return None
    return sandbox, kernel


def start_sandbox(options: list[str], timeout: float = READY_TIMEOUT_S) -> tuple[subprocess.Popen, int]:
    """bwrap OPTIONS running INIT as the sandbox's pid 1; returns it and INIT's pid (outside the
    sandbox) once the sandbox is complete (INIT said so)."""
    info_r, info_w = os.pipe()
    try:
        proc = subprocess.Popen([*options, "--as-pid-1", "--info-fd", str(info_w), "--", sys.executable, "-I", "-S",
                                 "-c", INIT], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, pass_fds=[info_w],
                                start_new_session=True, close_fds=True)
    except OSError:
        os.close(info_r)
        raise
    finally:
        os.close(info_w)
    try:
        deadline = time.monotonic() + timeout
        line = b""
        while not line.endswith(b"\n"):
            r, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
            if not r:
                raise client.ZygoteError("the kernel's sandbox did not start in time")
            chunk = os.read(proc.stdout.fileno(), 64)
            if not chunk:
                raise client.ZygoteError(f"the kernel's sandbox did not start (bwrap exited {proc.poll()})")
            line += chunk
        info = b""
        os.set_blocking(info_r, False)
        try:
            while True:
                chunk = os.read(info_r, 4096)
                if not chunk:
                    break
                info += chunk
        except BlockingIOError:
            pass
        pid = int(json.loads(info.decode())["child-pid"])
    except (client.ZygoteError, ValueError, KeyError, OSError) as err:
        _end(proc)
        raise client.ZygoteError(str(err)) from None
    finally:
        os.close(info_r)
    return proc, pid


def _end(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """End a sandbox and wait until every process in it is gone: its init reads the end of its stdin
    and exits; the kernel takes its pid namespace with it, and bwrap exits only once that namespace is
    empty (so the next submission of the slot never meets what this one left, e.g. a fork bomb's
    processes still counted by the slot's process limit). bwrap is killed if that takes too long."""
    try:
        proc.stdin.close()
    except OSError:
        pass
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
    try:
        proc.stdout.close()
    except OSError:
        pass


class SandboxedKernel:
    """The Popen look-alike of a kernel forked into a sandbox: its status is the zygote's child's
    (which exits with the kernel's status); killing or terminating it ends the whole sandbox."""

    stdin = stdout = stderr = None

    def __init__(self, forked: client.ForkedKernel, sandbox: subprocess.Popen):
        self.forked, self.sandbox = forked, sandbox
        self.pid = forked.pid

    @property
    def returncode(self) -> int | None:
        return self.forked.returncode

    def _ended(self, code: int | None) -> int | None:
        if code is not None and self.sandbox.returncode is None:
            _end(self.sandbox)
        return code

    def poll(self) -> int | None:
        return self._ended(self.forked.poll())

    def wait(self, timeout: float | None = None) -> int:
        return self._ended(self.forked.wait(timeout))

    def send_signal(self, sig: int) -> None:
        if sig in (signal.SIGKILL, signal.SIGTERM):
            _end(self.sandbox)
        self.forked.send_signal(sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class SandboxedProvisioner(LocalProvisioner):
    """jupyter_client provisioner of warm grading kernels (see the module doc). Its kernelspec's argv
    is the ordinary grading kernel's command line, which it falls back to."""

    env = Dict(config=True, help="The kernel's whole environment (the sandbox's --setenv ones).")
    cwd = Unicode(config=True, help="The kernel's folder inside its sandbox.")

    #: why the last kernel started cold (None: it was forked), for tests and logs
    fallback_reason: str | None = None

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> KernelConnectionInfo:
        parts = _split(cmd)
        reason = None
        if parts is None:
            reason = "not a sandboxed kernel command line"
        elif _zygote is None or not _zygote.alive():
            reason = _why_not or "the zygote exited"
        if reason is None:
            sandbox, kernel = parts
            loop = asyncio.get_running_loop()
            try:
                process = await loop.run_in_executor(None, self._fork, sandbox, kernel)
            except client.ZygoteError as err:
                reason = str(err)
        if reason is not None:
            self.fallback_reason = reason
            if reason not in _fallbacks:
                _fallbacks.append(reason)
            self.log.warning("coursekit-sandboxed: a cold kernel: %s", reason)
            return await super().launch_kernel(cmd, **kwargs)
        self.fallback_reason = None
        self.process = process
        self.pid = process.pid
        self.pgid = None            # signals go to the sandbox as a whole (SandboxedKernel.send_signal)
        self.cwd = self.cwd or kwargs.get("cwd")
        return self.connection_info

    def _fork(self, sandbox: list[str], kernel: list[str]) -> SandboxedKernel:
        env = dict(self.env)
        env["PWD"] = self.cwd          # as bwrap --chdir sets it
        box, init_pid = start_sandbox(sandbox)
        stdin, w = os.pipe()           # a pipe at end of file, as jupyter_client's launcher gives a kernel
        os.close(w)
        try:
            forked = _zygote.fork(kernel, env, self.cwd, [stdin, 1, 2],
                                  extra={"join": {"pid": init_pid}, "script": kernel[2]})
        except BaseException:
            _end(box)
            raise
        finally:
            os.close(stdin)
        return SandboxedKernel(forked, box)

    async def kill(self, restart: bool = False) -> None:
        """As LocalProvisioner's (which ends the whole sandbox, SandboxedKernel.send_signal), then until
        the zygote has reaped the kernel: jupyter_client's manager polls a killed kernel every 0.1 s,
        and the first poll, right after the kill, always found it still there (measured: 0.1 s of a
        slot's time idle per kernel)."""
        await super().kill(restart)
        process = self.process
        if isinstance(process, SandboxedKernel):
            loop = asyncio.get_running_loop()
            try:
                await loop.run_in_executor(None, process.wait, 5)
            except subprocess.TimeoutExpired:
                pass                  # jupyter_client's own wait carries on, and warns

    async def wait(self) -> int | None:
        """Until the kernel has ended (without LocalProvisioner's 0.1 s polling)."""
        if not isinstance(self.process, SandboxedKernel):
            return await super().wait()
        process = self.process
        loop = asyncio.get_running_loop()
        try:
            code = await loop.run_in_executor(None, process.wait, 30)
        except subprocess.TimeoutExpired:
            process.kill()
            code = await loop.run_in_executor(None, process.wait, 10)
        self.process = None
        return code

    async def cleanup(self, restart: bool = False) -> None:
        if isinstance(self.process, SandboxedKernel):
            _end(self.process.sandbox)
        await super().cleanup(restart)
