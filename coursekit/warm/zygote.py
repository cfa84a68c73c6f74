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

Grading (``coursekit.warm.sandboxed``) starts it with ``python -I`` and a fourth argument, OPTIONS_JSON:
``watch_parent`` false (no ``JPY_PARENT_PID``), ``parse_sources`` (see ``parse_sources``), ``warm_caches``
(see ``warm_caches``) and ``freeze``
(``gc.freeze()`` before serving). Its fork requests carry ``join`` (the pid of a waiting bubblewrap
sandbox: the child enters it with ``enter_sandbox`` before anything else) and ``script`` (run as
``__main__`` instead of ``ipykernel_launcher``: the grading kernel's ``kernel_start.py``).
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


def parse_sources(names: list) -> list:
    """Parse, once, the source of these modules the way IPython's tracebacks do (stack_data, cached by
    file name): the first failing check in a kernel otherwise spends 0.25 s of CPU parsing
    utils/checks to show one frame of it. A package's loaded submodules are parsed too. Only a cache is
    filled; nothing a kernel can tell."""
    if not names:
        return []
    try:
        import stack_data
    except ImportError:
        return []
    done = []
    for name in names:
        paths = [getattr(module, "__file__", None) for sub, module in list(sys.modules.items())
                 if sub == name or sub.startswith(name + ".")]
        try:
            for path in filter(None, paths):
                source = stack_data.Source.for_filename(path)
                source.tree, source.asttokens(), source.pieces, source.tokens_by_lineno
            if any(paths):
                done.append(name)
        except Exception:  # noqa: BLE001 - a cache we could not fill is filled in the kernel, as usual
            pass
    return done


def warm_caches() -> list:
    """Fill, once, caches that every grading kernel would otherwise fill for itself, all of them
    invisible in results (measured on 01_tensors: about 0.03 CPU-s per kernel with a failing test):

    * ``inspect``'s module-by-file tables, which IPython's tracebacks look every frame up in (each
      kernel otherwise walks all of ``sys.modules`` for its first traceback);
    * Pillow's image plugins, which the first PNG figure imports (``PIL.Image.preinit``);
    * one IPython traceback, formatted as a kernel formats them (``Context`` mode, the ``neutral``
      theme): pygments' lexer and formatter, their compiled regular expressions and stack_data's
      machinery. The exception is a stdlib one (``json``), raised and formatted here, then gone."""
    done = []
    try:
        import inspect
        inspect.getmodule(compile("", "<zygote>", "exec"))
        done.append("inspect")
    except Exception:  # noqa: BLE001 - a cache we could not fill is filled in the kernel, as usual
        pass
    image = sys.modules.get("PIL.Image")
    if image is not None:
        try:
            image.preinit()
            done.append("PIL")
        except Exception:  # noqa: BLE001
            pass
    ultratb = sys.modules.get("IPython.core.ultratb")
    if ultratb is not None:
        try:
            try:
                json.loads("{")
            except ValueError as err:
                ultratb.AutoFormattedTB(mode="Context", theme_name="neutral").structured_traceback(
                    type(err), err, err.__traceback__)
            done.append("traceback")
        except Exception:  # noqa: BLE001
            pass
    return done


def send(sock, obj, fds=()):
    socket.send_fds(sock, [json.dumps(obj).encode()], list(fds))


def main(argv):
    ctl = socket.socket(fileno=int(argv[1]))
    names = json.loads(argv[2])
    options = json.loads(argv[3]) if len(argv) > 3 else {}
    started = time.monotonic()
    if options.get("watch_parent", True):   # grading kernels are ended with their sandbox instead
        os.environ["JPY_PARENT_PID"] = str(os.getpid())
    if not os.environ.get("MPLBACKEND"):   # what ipykernel does before any user code
        os.environ["MPLBACKEND"] = MPL_INLINE
    before = dict(os.environ)
    loaded, failed = preload(names)
    parsed = parse_sources(options.get("parse_sources", []))
    warmed = warm_caches() if options.get("warm_caches", False) else []
    after = dict(os.environ)
    env_set = {k: v for k, v in after.items() if before.get(k) != v}
    env_unset = [k for k in before if k not in after]
    blas = stop_blas_threads()
    zygote = Zygote(ctl, env_set, env_unset)
    zmq = sys.modules.get("zmq")
    send(ctl, {"op": "hello", "pid": os.getpid(), "loaded": loaded, "failed": failed, "threads": thread_count(),
               "zmq_context": bool(zmq is not None and getattr(zmq.Context, "_instance", None) is not None),
               "blas_pools_stopped": blas, "seconds": round(time.monotonic() - started, 3),
               "modules": len(sys.modules), "parsed_sources": parsed,
               "warmed": warmed})
    if options.get("freeze", False):
        import gc
        gc.collect()
        gc.freeze()      # what the preload made is never traversed by a kernel's collector: no copy-on-write
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
        if req.get("join") is not None:
            enter_sandbox(req["join"], ready_w)   # returns in the sandbox only (a grandchild, no capabilities)
        become(req, zygote.env_set, zygote.env_unset)
        os.write(ready_w, b"ok")
        os.close(ready_w)
        ready = True
        import runpy
        if req.get("script"):
            runpy.run_path(req["script"], run_name="__main__")
        else:
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


# ------------------------------------------------------------------------------------------------
# Entering a sandbox after the fork (grading; see coursekit/warm/sandboxed.py)

CLONE = {"mnt": 0x00020000, "cgroup": 0x02000000, "uts": 0x04000000, "ipc": 0x08000000, "user": 0x10000000,
         "pid": 0x20000000, "net": 0x40000000}
NAMESPACES = ("mnt", "pid", "net", "ipc", "uts", "cgroup")   # joined in this order, the user namespace around them
NS_GET_USERNS = 0xB701          # ioctl: the user namespace that owns a namespace
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT = 1, 24, 38, 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
CAP_VERSION_3 = 0x20080522


class SandboxError(OSError):
    pass


def _libc():
    import ctypes
    return ctypes, ctypes.CDLL(None, use_errno=True)


def _check(ctypes, ok, what):
    if not ok:
        err = ctypes.get_errno()
        raise SandboxError(err, f"{what}: {os.strerror(err)}")


def enter_sandbox(join, ready_w):
    """Join every namespace of the sandbox whose first process is ``join["pid"]`` (a bubblewrap sandbox
    made for this kernel, waiting), then fork: the grandchild, pid 2 of the sandbox's pid namespace,
    drops every capability and returns; this process stays outside that pid namespace, holds
    nothing, waits for it and exits with its status (128 + N when signal N killed it, as bwrap does).

    The user namespace that owns the sandbox's mount namespace is joined first (bwrap makes a second
    one inside it, to map the sandbox's uid, when it mounts a devpts), then the others, then the
    innermost user namespace. Every joined namespace is checked against the target's afterwards."""
    import fcntl
    ctypes, libc = _libc()
    pid = int(join["pid"])
    fds = {}
    try:
        for kind in ("user",) + NAMESPACES:
            fds[kind] = os.open(f"/proc/{pid}/ns/{kind}", os.O_RDONLY | os.O_CLOEXEC)
        want = {kind: os.fstat(fd).st_ino for kind, fd in fds.items()}
        mine = {kind: os.stat(f"/proc/self/ns/{kind}").st_ino for kind in fds}
        if want["user"] == mine["user"] or want["mnt"] == mine["mnt"] or want["pid"] == mine["pid"]:
            raise SandboxError(0, "the target is not in a sandbox of its own")
        owner = fcntl.ioctl(fds["mnt"], NS_GET_USERNS)
        try:
            if os.fstat(owner).st_ino != mine["user"]:
                _check(ctypes, libc.setns(owner, CLONE["user"]) == 0, "setns(user, owner of the mounts)")
            outer_user = os.fstat(owner).st_ino
        finally:
            os.close(owner)
        for kind in NAMESPACES:
            if want[kind] != mine[kind]:
                _check(ctypes, libc.setns(fds[kind], CLONE[kind]) == 0, f"setns({kind})")
        if want["user"] != outer_user:
            _check(ctypes, libc.setns(fds["user"], CLONE["user"]) == 0, "setns(user)")
    finally:
        for fd in fds.values():
            os.close(fd)
    kernel = os.fork()
    if kernel:       # outside the sandbox's pid namespace: the kernel cannot see or signal this process
        os.close(ready_w)
        os.closerange(0, 1 << 16)
        try:
            drop_capabilities()
        except OSError:
            pass
        while True:
            try:
                _, status = os.waitpid(kernel, 0)
                break
            except InterruptedError:
                continue
        code = os.waitstatus_to_exitcode(status)
        os._exit(code if code >= 0 else 128 - code)
    _check(ctypes, libc.prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0) == 0, "prctl(PR_SET_PDEATHSIG)")
    for kind, ino in want.items():
        if os.stat(f"/proc/self/ns/{kind}").st_ino != ino:
            raise SandboxError(0, f"not in the sandbox's {kind} namespace after joining it")
    drop_capabilities()
    os.setsid()


def drop_capabilities():
    """No capability left in any set (bounding, ambient, permitted, effective, inheritable) and
    no_new_privs, as bwrap's --cap-drop ALL leaves a sandboxed process; checked in /proc/self/status."""
    ctypes, libc = _libc()
    with open("/proc/sys/kernel/cap_last_cap") as f:
        last = int(f.read())
    for cap in range(last + 1):
        libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)   # EPERM only where it is already gone
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(CAP_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()
    _check(ctypes, libc.capset(header, data) == 0, "capset")
    _check(ctypes, libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0, "prctl(PR_SET_NO_NEW_PRIVS)")
    with open("/proc/self/status") as f:
        caps = {k: v.strip() for k, _, v in (line.partition(":") for line in f) if k.startswith("Cap")}
    if any(int(v, 16) for v in caps.values()):
        raise SandboxError(0, f"capabilities left after dropping them: {caps}")


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
    if req.get("script"):      # python [options] SCRIPT args...
        at = cmd.index(req["script"]) if req["script"] in cmd else len(cmd)
        sys.argv = cmd[at:] if at < len(cmd) else [req["script"]]
    else:
        sys.argv = ["-m", *cmd[3:]]
    if not sys.flags.safe_path:   # -m puts the current folder (absolute) first; -c put ''
        old = sys.path[0]
        sys.path[0] = os.getcwd()
        sys.path_importer_cache.pop(old, None)
    import importlib
    importlib.invalidate_caches()
    hypothesis = sys.modules.get("hypothesis.configuration")
    if hypothesis is not None:       # its default storage folder: the cwd when imported, as in a fresh kernel
        from pathlib import Path
        setattr(hypothesis, "__hypothesis_home_directory_default", Path.cwd() / ".hypothesis")
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
