"""The student's kernel's end: a thread that answers the judge on a Unix socket.

Started by kernel_start.py before any student code, when grading with the judge. It answers with
the notebook's variables and the results of calls (see peer.py); it decides nothing. Student code
could change what it answers, which only changes the student's own answers: every verdict is the
judge's.

Each request is answered on the kernel's main thread (its event loop is idle while the judge runs a
test cell), where a cell's code would run in one kernel: an interrupt of the kernel (its SIGINT) stops
the student's function a test cell called, as it stops a cell, and student code that needs the main
thread (``signal``, some GUI toolkits) works as in one kernel. This thread only reads the requests.
"""
from __future__ import annotations

import os
import signal
import socket
import threading


def serve(path: str, namespace: dict, main_loop=None) -> threading.Thread:
    """Answers the judge on the Unix socket ``path``; ``main_loop()`` gives the kernel's main-thread
    IOLoop once the kernel runs (None until then, and where there is none: answered on this thread)."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if os.path.lexists(path):
        os.unlink(path)
    server.bind(path)
    os.chmod(path, 0o777)          # the judge runs as another user of its own sandbox
    server.listen(1)

    def loop():
        while True:
            conn, _ = server.accept()
            from . import wire
            from .peer import Peer      # (torch and NumPy: imported when the judge first asks, not before)
            peer = Peer(conn, "student")
            peer.namespace = namespace
            try:
                while True:
                    msg = wire.receive(conn)
                    on_main_thread(main_loop() if main_loop is not None else None, peer.serve_one, msg)
            except Exception:      # noqa: BLE001 - a closed or broken connection; the judge may come back
                conn.close()

    thread = threading.Thread(target=loop, name="coursekit-judge-link", daemon=True)
    thread.start()
    return thread


def on_main_thread(loop, fn, *args) -> None:
    """``fn(*args)`` on the thread of ``loop`` (a tornado IOLoop) with SIGINT raising KeyboardInterrupt there,
    as while the kernel executes a cell; waits for it. Without a loop: here, as it is."""
    if loop is None:
        fn(*args)
        return
    done = threading.Event()
    failed: list = []

    def run():
        try:
            previous = signal.signal(signal.SIGINT, signal.default_int_handler)
            try:
                fn(*args)
            finally:
                signal.signal(signal.SIGINT, previous)
        except KeyboardInterrupt:       # an interrupt after the answer was sent: it has nothing left to stop
            pass
        except BaseException as exc:  # noqa: BLE001 - given to the reading thread
            failed.append(exc)
        finally:
            done.set()

    loop.add_callback(run)
    done.wait()
    if failed:
        raise failed[0]


# -- what the judge's proxies (proxies.Remote) ask of the student's objects beyond the protocol's requests: run
#    here on the student's own objects, called by the judge (``import`` of this module, then ``call``) ---------
def special(obj, name: str, *args):
    """``name`` of ``obj``'s class run on ``obj``, as Python's operator or builtin would (proxies.run_special)."""
    from .proxies import run_special
    return run_special(obj, name, args)


def operate(name: str, a, b):
    """A binary operator whose operands are both the student's (``a + b``, ``a == b``)."""
    from .proxies import run_operator
    return run_operator(name, a, b)


def set_attr(obj, name: str, value) -> None:
    setattr(obj, name, value)


def del_attr(obj, name: str) -> None:
    delattr(obj, name)


def is_instance(obj, cls) -> bool:
    return isinstance(obj, cls)


def is_subclass(cls, base) -> bool:
    return issubclass(cls, base)


def signature(obj) -> list:
    """``inspect.signature(obj)`` as data: ``["ok", [[name, kind, has default, default, annotation], ...],
    return annotation]`` (annotations as text), or ``["error", type, message]``."""
    import inspect

    def text(annotation):
        if annotation is inspect.Parameter.empty:
            return None
        return annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError) as exc:
        return ["error", type(exc).__name__, str(exc)]
    params = [[p.name, int(p.kind), p.default is not p.empty, None if p.default is p.empty else p.default,
               text(p.annotation)] for p in sig.parameters.values()]
    return ["ok", params, text(sig.return_annotation)]
