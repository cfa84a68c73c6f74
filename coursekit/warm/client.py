"""The client side of warm kernels: start a zygote per environment, ask it for kernels, watch them.

One zygote per (python, preload list, environment) per client process, started on the first kernel
that needs it and kept until the process exits (or `shutdown()`): the zygote ends when this process
closes its end of the control socket, and its kernels then end as ordinary kernels do when their
client dies (ipykernel's parent poller). `ForkedKernel` is the `subprocess.Popen` look-alike the
provisioner keeps as its ``process``.
"""
from __future__ import annotations

import atexit
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ZYGOTE_PY = str(Path(__file__).with_name("zygote.py"))
BOOT = ("import sys; p = sys.argv[1]; "
        "exec(compile(open(p, encoding='utf-8').read(), p, 'exec'), {'__name__': '__coursekit_zygote__'})")

#: What the zygote imports: what every course notebook imports by its end (the kernel itself, torch,
#: NumPy, matplotlib's pyplot and Agg, the student library's core). Nothing whose import looks for a
#: running IPython shell (matplotlib_inline.backend_inline, ipywidgets, tqdm.auto) and nothing only
#: some notebooks use (scikit-learn, torchvision): those are imported in the kernel, as usual.
DEFAULT_PRELOAD = (
    "ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell", "IPython",
    "numpy", "numpy.random", "torch", "torch.nn", "torch.nn.functional", "torch.utils.data",
    "matplotlib", "matplotlib.pyplot", "matplotlib.backends.backend_agg",
    "utils", "utils._arrays", "utils._course_notes", "utils.training", "utils.checks", "utils.plotting",
)

#: Variables that differ from kernel to kernel but that no import reads: they do not need another zygote.
PER_KERNEL_ENV = frozenset({"JPY_PARENT_PID", "JPY_SESSION_NAME", "PYTEST_CURRENT_TEST"})

START_TIMEOUT_S = float(os.environ.get("COURSEKIT_WARM_START_TIMEOUT", "180"))
MAX_ZYGOTES = 4


class ZygoteError(RuntimeError):
    """No warm kernel this time: the caller starts an ordinary one."""


def supported() -> str | None:
    """None where kernels can be forked, else the reason why not."""
    if not sys.platform.startswith("linux"):
        return f"forking kernels needs Linux (this is {sys.platform})"
    if not hasattr(os, "fork") or not hasattr(socket, "send_fds") or not hasattr(socket, "AF_UNIX"):
        return "this Python cannot fork or pass file descriptors"
    return None


def fingerprint(env: dict) -> tuple:
    return tuple(sorted((k, v) for k, v in env.items() if k not in PER_KERNEL_ENV))


def _recv(sock: socket.socket, timeout: float) -> tuple[dict, list[int]]:
    r, _, _ = select.select([sock], [], [], timeout)
    if not r:
        raise ZygoteError(f"the zygote did not answer within {timeout:.0f} s")
    msg, fds, _, _ = socket.recv_fds(sock, 1 << 20, 8)
    if not msg:
        raise ZygoteError("the zygote exited")
    return json.loads(msg), fds


class Zygote:
    """One zygote process and its control socket."""

    def __init__(self, python: str, env: dict, preload: tuple[str, ...], timeout: float = START_TIMEOUT_S,
                 flags: tuple[str, ...] = (), options: dict | None = None):
        self.python = python
        self.preload = preload
        self.lock = threading.Lock()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        home = tempfile.mkdtemp(prefix="coursekit-zygote-")   # empty: nothing in it shadows a module
        zenv = {k: v for k, v in env.items() if k not in PER_KERNEL_ENV}
        try:
            self.proc = subprocess.Popen(
                [python, *flags, "-c", BOOT, ZYGOTE_PY, str(theirs.fileno()), json.dumps(list(preload)),
                 *([json.dumps(options)] if options else [])],
                cwd=home, env=zenv, stdin=subprocess.DEVNULL, pass_fds=[theirs.fileno()],
                start_new_session=True)   # Ctrl-C in a terminal reaches the kernels' client, not the zygote
        except OSError as err:
            ours.close()
            raise ZygoteError(f"the zygote could not start: {err}") from None
        finally:
            theirs.close()
        self.sock = ours
        try:
            self.hello, _ = _recv(ours, timeout)
        except (ZygoteError, OSError, ValueError) as err:
            self.close()
            raise ZygoteError(f"the zygote failed to start: {err}") from None
        finally:
            shutil.rmtree(home, ignore_errors=True)
        if self.hello.get("op") != "hello":
            self.close()
            raise ZygoteError(f"unexpected first message from the zygote: {self.hello}")
        self.pid = self.proc.pid
        self.owner = os.getpid()

    def request(self, req: dict, fds: list[int] = (), timeout: float = 60) -> tuple[dict, list[int]]:
        with self.lock:
            if not self.alive():
                raise ZygoteError(f"the zygote exited with {self.proc.returncode}")
            try:
                socket.send_fds(self.sock, [json.dumps(req).encode()], list(fds))
                return _recv(self.sock, timeout)
            except OSError as err:
                raise ZygoteError(f"the zygote is unreachable: {err}") from None

    def info(self) -> dict:
        return self.request({"op": "info"})[0]

    def fork(self, cmd: list[str], env: dict, cwd: str, stdio: list[int], extra: dict | None = None) -> ForkedKernel:
        reply, fds = self.request({"op": "fork", "cmd": cmd, "env": env, "cwd": cwd, **(extra or {})}, stdio)
        if "error" in reply:
            for fd in fds:
                os.close(fd)
            raise ZygoteError(f"the zygote could not start a kernel: {reply['error']}")
        return ForkedKernel(reply["pid"], fds[0], fds[1] if len(fds) > 1 else None,
                            threads_at_fork=reply.get("threads_at_fork"))

    def alive(self) -> bool:
        if os.getpid() == self.owner:
            return self.proc.poll() is None
        try:                 # a forked copy of the process that started it (a grading slot's job)
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
        return True

    def close(self, timeout: float = 5) -> None:
        try:
            self.sock.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout)


class ForkedKernel:
    """A kernel forked by a zygote, with the part of `subprocess.Popen`'s interface that jupyter_client's
    LocalProvisioner uses (pid, poll, wait, send_signal, kill, terminate, returncode, std streams).
    The zygote writes the exit code to the status pipe when it reaps the kernel; signals go through a
    pidfd where the kernel has one, so they can never reach a recycled pid."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int, status_fd: int, pidfd: int | None, threads_at_fork: int | None = None):
        self.pid = pid
        self.returncode: int | None = None
        self.threads_at_fork = threads_at_fork
        self._status = status_fd
        self._pidfd = pidfd
        self._buf = b""
        self._lock = threading.Lock()

    def _collect(self, timeout: float | None) -> int | None:
        with self._lock:
            if self.returncode is not None:
                return self.returncode
            deadline = None if timeout is None else time.monotonic() + timeout
            while True:
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                r, _, _ = select.select([self._status], [], [], left)
                if not r:
                    return None
                chunk = os.read(self._status, 64)
                if chunk:
                    self._buf += chunk
                    if b"\n" not in self._buf:
                        continue
                    self._done(int(self._buf.split(b"\n")[0]))
                else:   # the zygote went away without reaping it: ask the kernel itself
                    if self._exited(left):
                        self._done(255)   # its exit code went with the zygote
                    else:
                        return None
                return self.returncode

    def _exited(self, timeout: float | None) -> bool:
        if self._pidfd is not None:
            r, _, _ = select.select([self._pidfd], [], [], timeout if timeout is not None else None)
            return bool(r)
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        if timeout:
            time.sleep(min(timeout, 0.1))
        return False

    def _done(self, code: int) -> None:
        self.returncode = code
        for fd in (self._status, self._pidfd):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._status = self._pidfd = None

    def poll(self) -> int | None:
        return self._collect(0)

    def wait(self, timeout: float | None = None) -> int:
        code = self._collect(timeout)
        if code is None:
            raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout)
        return code

    def send_signal(self, sig: int) -> None:
        if self.returncode is not None:
            return
        pidfd = self._pidfd
        if pidfd is not None and hasattr(signal, "pidfd_send_signal"):
            try:
                signal.pidfd_send_signal(pidfd, sig)
                return
            except ProcessLookupError:
                return
            except OSError:
                pass
        try:
            os.kill(self.pid, sig)
        except ProcessLookupError:
            pass

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def __del__(self):
        if self.returncode is None:
            for fd in (self._status, self._pidfd):
                if fd is not None:
                    try:
                        os.close(fd)
                    except OSError:
                        pass


# ------------------------------------------------------------------------------------------------
# The zygotes of this process

_zygotes: dict[tuple, Zygote | ZygoteError] = {}
_registry_lock = threading.Lock()
_key_locks: dict[tuple, threading.Lock] = {}


def get_zygote(python: str, env: dict, preload: tuple[str, ...] = DEFAULT_PRELOAD) -> Zygote:
    """The zygote for this interpreter, preload list and environment, started if needed.
    Raises ZygoteError where none can be had (a failed start is remembered: no retry per kernel)."""
    why = supported()
    if why:
        raise ZygoteError(why)
    key = (python, tuple(preload), fingerprint(env))
    with _registry_lock:
        lock = _key_locks.setdefault(key, threading.Lock())
    with lock:
        found = _zygotes.get(key)
        if isinstance(found, ZygoteError):
            raise found
        if isinstance(found, Zygote):
            if found.alive():
                return found
            found.close()
            del _zygotes[key]
        if sum(isinstance(z, Zygote) for z in _zygotes.values()) >= MAX_ZYGOTES:
            raise ZygoteError(f"already {MAX_ZYGOTES} zygotes in this process (kernels in as many environments)")
        try:
            zygote = Zygote(python, env, tuple(preload))
        except ZygoteError as err:
            _zygotes[key] = err
            raise
        _zygotes[key] = zygote
        return zygote


def zygotes() -> list[Zygote]:
    return [z for z in _zygotes.values() if isinstance(z, Zygote)]


def shutdown() -> None:
    """Stop every zygote of this process (their kernels end when they notice, as when a client dies)."""
    with _registry_lock:
        found = list(_zygotes.items())
        _zygotes.clear()
    for _, z in found:
        if isinstance(z, Zygote):
            z.close()


atexit.register(shutdown)
