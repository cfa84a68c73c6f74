"""The zygote: a process that has imported the course's heavy modules once and forks kernels from itself.

Standard library only. It is never imported as ``coursekit.warm.zygote`` in the zygote: the client
(``coursekit.warm.client``) runs it as ``python -c BOOT zygote.py CONTROL_FD PRELOAD_JSON`` in an empty
private folder, with the kernel's own environment, so that nothing of ``coursekit`` is in the zygote's
``sys.modules`` and no folder of the course shadows a module while the preload imports run.

What it does:

1. sets what a kernel sets before any user import (``MPLBACKEND`` as ipykernel does, and
   ``JPY_PARENT_PID`` to its own pid, so that the kernels' parent poller watches the zygote, which
   exits when its client does), imports the modules named in PRELOAD_JSON and notes what those imports
   changed in ``os.environ``;
2. stops the BLAS thread pools the imports started (OpenBLAS starts its threads when NumPy loads it;
   its own fork handler would stop them at every fork anyway), so that it is single-threaded when it
   forks: no OpenMP, MKL or torch intra-op pool is ever started here (it runs no computation);
3. answers the client on the control socket (a SOCK_SEQPACKET socketpair; requests are JSON, the
   kernel's stdin/stdout/stderr come as passed file descriptors): ``fork`` forks one kernel and answers
   its pid with a status pipe (one line with the exit code once it is reaped) and a pidfd; ``info``
   reports the zygote's threads and children. It exits when the client closes the socket.

The forked child, before any kernel code: a new session (so its own process group), the zygote's
descriptors closed and the client's stdio in place, the requested cwd and environment (plus what the
preload imports put into ``os.environ``), ``sys.argv``/``sys.orig_argv``/``sys.path[0]`` as
``python -m ipykernel_launcher -f FILE`` in that folder would have them, fresh seeds for every global
generator a fresh process seeds from the OS (torch's default generator, NumPy's legacy global
RandomState, Python's ``random`` via its own fork hook, multiprocessing's authkey), and then it runs
``ipykernel_launcher`` as ``__main__`` exactly as ``-m`` does. It ends like an interpreter does
(non-daemon threads joined, atexit handlers run, stdio flushed).
"""
import json
import os
import select
import signal
import socket
import sys
import time

MAX_MSG = 1 << 20
MPL_INLINE = "module://matplotlib_inline.backend_inline"


def thread_count() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return -1


def stop_blas_threads() -> list:
    """Stop the worker threads of every OpenBLAS loaded (``blas_thread_shutdown_``, the function its
    own pthread_atfork handler calls; the pool is started again on the next BLAS call)."""
    stopped = []
    try:
        with open("/proc/self/maps") as f:
            paths = sorted({line.split()[-1] for line in f if "openblas" in line.lower() and "/" in line})
    except OSError:
        return stopped
    if not paths:
        return stopped
    import ctypes
    for path in paths:
        try:
            lib = ctypes.CDLL(path, mode=os.RTLD_NOLOAD | os.RTLD_LAZY)
            lib.blas_thread_shutdown_()
            stopped.append(os.path.basename(path))
        except (OSError, AttributeError):
            pass
    return stopped


def preload(names: list) -> tuple:
    import importlib
    loaded, failed = [], {}
    for name in names:
        try:
            importlib.import_module(name)
            loaded.append(name)
        except BaseException as err:  # noqa: BLE001 - an optional module that is missing is not fatal
            failed[name] = f"{type(err).__name__}: {err}"
    return loaded, failed


def send(sock, obj, fds=()):
    socket.send_fds(sock, [json.dumps(obj).encode()], list(fds))


def main(argv):
    ctl = socket.socket(fileno=int(argv[1]))
    names = json.loads(argv[2])
    started = time.monotonic()
    os.environ["JPY_PARENT_PID"] = str(os.getpid())
    if not os.environ.get("MPLBACKEND"):   # what ipykernel does before any user code
        os.environ["MPLBACKEND"] = MPL_INLINE
    before = dict(os.environ)
    loaded, failed = preload(names)
    after = dict(os.environ)
    env_set = {k: v for k, v in after.items() if before.get(k) != v}
    env_unset = [k for k in before if k not in after]
    blas = stop_blas_threads()
    zygote = Zygote(ctl, env_set, env_unset)
    zmq = sys.modules.get("zmq")
    send(ctl, {"op": "hello", "pid": os.getpid(), "loaded": loaded, "failed": failed, "threads": thread_count(),
               "zmq_context": bool(zmq is not None and getattr(zmq.Context, "_instance", None) is not None),
               "blas_pools_stopped": blas, "seconds": round(time.monotonic() - started, 3),
               "modules": len(sys.modules)})
    zygote.serve()


class Zygote:
    def __init__(self, ctl, env_set, env_unset):
        self.ctl = ctl
        self.env_set = env_set
        self.env_unset = env_unset
        self.children = {}  # pid -> write end of its status pipe
        self.sig_r, self.sig_w = os.pipe()
        os.set_blocking(self.sig_r, False)
        os.set_blocking(self.sig_w, False)

    def serve(self):
        signal.set_wakeup_fd(self.sig_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        while True:
            ready, _, _ = select.select([self.ctl, self.sig_r], [], [])
            if self.sig_r in ready:
                try:
                    while os.read(self.sig_r, 512):
                        pass
                except BlockingIOError:
                    pass
                self.reap()
            if self.ctl in ready:
                try:
                    msg, fds, _, _ = socket.recv_fds(self.ctl, MAX_MSG, 8)
                except (ConnectionError, OSError):
                    break
                if not msg:
                    break  # the client is gone: so are the kernels' managers
                try:
                    req = json.loads(msg)
                    op = req.get("op")
                    if op == "fork":
                        reply, out = self.fork(req, fds)
                    elif op == "info":
                        reply, out = self.info(), []
                        self._close(fds)
                    else:
                        reply, out = {"error": f"unknown op {op!r}"}, []
                        self._close(fds)
                except Exception as err:  # noqa: BLE001 - the zygote answers errors, it does not die of them
                    self._close(fds)
                    reply, out = {"error": f"{type(err).__name__}: {err}"}, []
                try:
                    send(self.ctl, reply, out)
                except OSError:
                    break
                finally:
                    self._close(out)
        self.ctl.close()

    @staticmethod
    def _close(fds):
        for fd in fds:
            try:
                os.close(fd)
            except OSError:
                pass

    def info(self):
        return {"pid": os.getpid(), "threads": thread_count(), "children": sorted(self.children),
                "modules": len(sys.modules)}

    def reap(self):
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            w = self.children.pop(pid, None)
            if w is not None:
                try:
                    os.write(w, b"%d\n" % os.waitstatus_to_exitcode(status))
                except OSError:
                    pass
                os.close(w)

    def fork(self, req, fds):
        if len(fds) != 3:
            self._close(fds)
            return {"error": "a fork request needs stdin, stdout and stderr"}, []
        status_r, status_w = os.pipe()
        ready_r, ready_w = os.pipe()
        threads = thread_count()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (AttributeError, OSError, ValueError):
                pass
        pid = os.fork()
        if pid == 0:  # never returns
            os.close(ready_r)
            os.close(status_r)
            os.close(status_w)
            child(req, fds, ready_w, self)
        os.close(ready_w)
        self._close(fds)
        self.children[pid] = status_w
        answer = b""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            r, _, _ = select.select([ready_r], [], [], max(0.0, deadline - time.monotonic()))
            if not r:
                break
            chunk = os.read(ready_r, 4096)
            if not chunk:
                break
            answer += chunk
        os.close(ready_r)
        if answer != b"ok":
            os.close(status_r)
            return {"error": answer.decode(errors="replace") or "the child exited before it was ready",
                    "pid": pid}, []
        out = [status_r]
        try:
            out.append(os.pidfd_open(pid))
        except (AttributeError, OSError):
            pass
        return {"pid": pid, "threads_at_fork": threads}, out


# ------------------------------------------------------------------------------------------------
# The child

def child(req, stdio, ready_w, zygote):
    code = 1
    ready = False
    try:
        os.setsid()
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        zygote.ctl.close()
        for fd in (zygote.sig_r, zygote.sig_w, *zygote.children.values()):
            os.close(fd)
        for target, fd in enumerate(stdio):
            os.dup2(fd, target)
        for fd in stdio:
            if fd > 2:
                os.close(fd)
        become(req, zygote.env_set, zygote.env_unset)
        os.write(ready_w, b"ok")
        os.close(ready_w)
        ready = True
        import runpy
        runpy._run_module_as_main("ipykernel_launcher")
        code = 0
    except SystemExit as exc:
        code = exit_code(exc.code)
    except BaseException as err:  # noqa: BLE001
        if not ready:
            try:
                os.write(ready_w, f"{type(err).__name__}: {err}".encode())
            except OSError:
                pass
        else:
            import traceback
            traceback.print_exc()
        code = 1
    finally:
        finish(code)


def become(req, env_set, env_unset):
    """Turn the zygote's copy into what `python -m ipykernel_launcher -f FILE` started fresh would be."""
    cwd = req["cwd"]
    os.chdir(cwd)
    env = dict(req["env"])
    for k in env_unset:       # what the preload imports removed from os.environ
        env.pop(k, None)
    env.update(env_set)       # and what they set (MPLBACKEND is set by ipykernel itself, as in a fresh kernel)
    if req["env"].get("MPLBACKEND") is None:
        env.pop("MPLBACKEND", None)
    os.environ.clear()
    os.environ.update(env)
    cmd = req["cmd"]
    sys.orig_argv = list(cmd)
    sys.argv = ["-m", *cmd[3:]]
    if not sys.flags.safe_path:   # -m puts the current folder (absolute) first; -c put ''
        old = sys.path[0]
        sys.path[0] = os.getcwd()
        sys.path_importer_cache.pop(old, None)
    import importlib
    importlib.invalidate_caches()
    reseed()
    for fd, stream in ((0, sys.stdin), (1, sys.stdout)):
        try:
            stream.reconfigure(line_buffering=os.isatty(fd))
        except (AttributeError, OSError, ValueError):
            pass


def reseed():
    """Every generator a fresh process seeds from the OS gets a new seed (Python's ``random`` is
    reseeded by its own at-fork hook)."""
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "default_generator"):
        torch.default_generator.seed()     # the CPU generator; other devices are seeded when first used
    if "numpy.random" in sys.modules:
        sys.modules["numpy.random"].seed()  # the legacy global RandomState (np.random.rand ...)
    mp = sys.modules.get("multiprocessing.process")
    if mp is not None:
        try:
            mp.current_process().authkey = os.urandom(32)
        except Exception:  # noqa: BLE001
            pass


def exit_code(code) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    try:
        print(code, file=sys.stderr)
    except Exception:  # noqa: BLE001
        pass
    return 1


def finish(code: int):
    """End like the interpreter does: join non-daemon threads, run atexit handlers, flush stdio."""
    try:
        threading = sys.modules.get("threading")
        if threading is not None:
            threading._shutdown()
    except BaseException:  # noqa: BLE001
        pass
    try:
        import atexit
        atexit._run_exitfuncs()
    except BaseException:  # noqa: BLE001
        pass
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001
            pass
    os._exit(code)


if __name__ == "__coursekit_zygote__":
    main(sys.argv[1:])
