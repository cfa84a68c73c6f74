"""The Dask worker's side of grading on a cluster (``coursekit/grading/cluster.py`` is the client's).

Three tasks, each sent by the client to one named worker and answered with plain data (str, int,
float, bytes, lists and dicts of them; never an object that came from a sandbox):

* :func:`check`: is this worker's machine the course environment (the same Python, the same version
  of every package of requirements.lock, the same ``coursekit/`` and ``utils/``) and does bubblewrap
  make a sandbox here? Sent before anything of the course; a worker that fails is never sent more.
* :func:`open_run`: the run's description (the template gradebook's bytes, the kit's settings as
  values, the Context's other data fields: ``cluster.spec``), from which the worker builds its own
  :class:`~coursekit.grading.worker.Context` around a :class:`~coursekit.sandbox.runs.Run` of its
  own machine.
* :func:`grade`: one submission's notebooks, graded in one of this worker's slots exactly as a local
  run grades it (``worker.prepare``, ``Slot.start``, the same time limit, the same stop and
  replacement of a slot that dies or overruns); what comes back is what the sandbox wrote in
  ``out/`` (see :func:`cluster_data.outputs`), for the client to check as it checks a local slot's results.

Start workers with ``--preload coursekit.grading.remote``: this module imports what grading needs
(nbgrader's parts, about 3 CPU-seconds) when the worker starts instead of on its first job.

A worker keeps one slot per thread, opened on its first job and reused (warm kernels and the slot's
nbgrader stay warm); slots are started from one long-lived thread of the worker process so that
bubblewrap's ``--die-with-parent`` ties them to the process. A run's slots close on
:func:`close_run`, or after ``IDLE_CLOSE_S`` without a job (a client that died); a later job of the
same run is answered ``no-run`` and the client sends the run again.
"""
from __future__ import annotations

import os
import shutil
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from coursekit.config import KitGrading, KitSandbox
from coursekit import wire as messages
from coursekit.grading import cluster_data, worker
from coursekit.grading.model import Job
from coursekit.grading.slot import Slot, wait
from coursekit.paths import ROOT
from coursekit.sandbox import probe
from coursekit.sandbox.runs import Run, clean_leftovers

IDLE_CLOSE_S = 600.0
_LOCK = threading.Lock()
_RUNS: dict[str, "_RunState"] = {}
_PROBED: dict[str, tuple] = {}             # run id -> (Run, Isolation, when) found by check, for open_run
_OPENER: list[ThreadPoolExecutor] = []      # the one thread that starts this process's slots
_REAPER: list[threading.Thread] = []


# -- what a machine is ---------------------------------------------------------------------------
def _where() -> tuple[str, str]:
    """(address, shown name) of the worker this runs on."""
    try:
        from distributed import get_worker
        w = get_worker()
        name = str(w.name)
        return w.address, (w.address if name == w.address else f"{name} ({w.address})")
    except (ImportError, ValueError):
        return "", socket.gethostname()


def check(expected: dict) -> dict:
    """Task: whether this worker may grade (see the module's docstring). ``problems`` empty: yes."""
    address, shown = _where()
    report = {"worker": shown, "host": socket.gethostname(), "problems": [], "isolation": None}
    try:
        report["problems"] = cluster_data.differences(expected, cluster_data.environment(sorted(expected["packages"])))
    except Exception as exc:       # anything unreadable here is a reason to refuse, with what it was
        report["problems"] = [f"its environment could not be read ({type(exc).__name__}: {exc})"]
    if report["problems"]:
        return report
    run = None
    try:
        clean_leftovers()
        run = Run.start()
        isolation = _probe(expected["sandbox"], run)
    except BaseException as exc:   # (probe refuses with SystemExit)
        if run is not None:
            run.close()
        why = str(exc).replace("(KitSandbox.mode = 'required')", "(a Dask worker must isolate them unless "
                                                                  "KitSandbox.mode = 'off')")
        report["problems"] = [why or type(exc).__name__]
        return report
    lim = isolation.limiter
    report["isolation"] = {"bwrap": isolation.bwrap, "as_root": isolation.as_root, "warnings": list(isolation.warnings),
                           "limiter": {"kind": lim.kind, "memory_mb": lim.memory_mb,
                                       "max_processes": lim.max_processes}}
    report["scrub"] = [str(run.dir), os.path.realpath(sys.prefix) + "/", os.path.realpath(sys.base_prefix) + "/",
                       sys.prefix + "/", str(ROOT) + "/"]
    with _LOCK:
        old = _PROBED.pop(expected["run"], None)
        _PROBED[expected["run"]] = (run, isolation, time.monotonic())
    if old is not None:
        old[0].close()
    _start_reaper()
    return report


def _probe(sb: dict, run):
    """This machine's isolation for the run's sandbox settings. A worker isolates unless isolation is
    switched off: where the grader's "auto" would fall back to none, a worker is refused instead."""
    uid = run.allocate_uid(sb["uid_base"], sb["uid_count"]) if os.geteuid() == 0 else None
    try:
        return probe("off" if sb["mode"] == "off" else "required", sb["memory_limit_mb"], sb["max_processes"], uid)
    finally:
        if uid is not None:
            run.release_uid(uid)


# -- a run on this worker ------------------------------------------------------------------------
@dataclass
class _RunState:
    ctx: object
    free: list = field(default_factory=list)       # idle slots
    busy: int = 0
    opened: int = 0
    jobs: int = 0
    closed: bool = False
    last: float = field(default_factory=time.monotonic)

    def close(self) -> None:
        """Stop its idle slots now, a busy one when its job returns (and then the run's folder)."""
        with _LOCK:
            self.closed = True
            free, self.free = self.free, []
            idle = self.busy == 0
        for slot in free:
            slot.close()
        if idle:
            self.ctx.run.close()


def open_run(spec: dict) -> str:
    """Task: this worker's Context for the run ``spec`` describes (see cluster.spec)."""
    from coursekit.grading.pipeline import _mpl_cache
    spec = messages.read("cluster_run", spec)
    run_id = spec["run"]
    with _LOCK:
        if run_id in _RUNS and not _RUNS[run_id].closed:
            return "open"
        probed = _PROBED.pop(run_id, None)
    if probed is None:          # (the run was closed as idle: probe again)
        run = Run.start()
        try:
            isolation = _probe(spec["sandbox"], run)
        except BaseException:
            run.close()
            raise
    else:
        run, isolation, _ = probed
    template = run.dir / "template.db"
    fd = os.open(template, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(spec["template"])
    ctx = worker.Context(**spec["fields"], root=run.dir, template=template, isolation=isolation, run=run,
                  grading=KitGrading(**spec["grading"]), sandbox=KitSandbox(**spec["sandbox"]),
                  mpl_cache=_mpl_cache(), released={})
    with _LOCK:
        _RUNS[run_id] = _RunState(ctx)
    _start_reaper()
    return "opened"


def close_run(run_id: str) -> int:
    """Task: close the run's slots and its folder on this worker; returns how many jobs it graded."""
    with _LOCK:
        state = _RUNS.pop(run_id, None)
        probed = _PROBED.pop(run_id, None)
    if probed is not None:
        probed[0].close()
    if state is None:
        return 0
    state.close()
    return state.jobs


def _start_reaper() -> None:
    with _LOCK:
        if _REAPER:
            return
        t = threading.Thread(target=_reap, name="coursekit-reaper", daemon=True)
        _REAPER.append(t)
    t.start()


def _reap() -> None:
    while True:
        time.sleep(30)
        with _LOCK:
            idle = [rid for rid, s in _RUNS.items() if s.busy == 0 and time.monotonic() - s.last > IDLE_CLOSE_S]
            states = [_RUNS.pop(rid) for rid in idle]
            stale = [rid for rid, p in _PROBED.items() if time.monotonic() - p[2] > IDLE_CLOSE_S]
            runs = [_PROBED.pop(rid)[0] for rid in stale]
        for state in states:
            state.close()
        for run in runs:
            run.close()


# -- one submission ------------------------------------------------------------------------------
def grade(run_id: str, payload: dict) -> dict:
    """Task: grade one submission (``payload``: the job without its folder, and the time limit) in a slot of this
    worker, as pool.run grades one locally; returns plain data (a ``cluster_reply``: see
    :func:`cluster_data.outputs`)."""
    try:
        payload = messages.read("cluster_job", payload)
    except messages.MessageError as exc:
        return messages.make("cluster_reply", status="error", worker=_where()[1], reason=str(exc))
    return messages.make("cluster_reply", **_grade(run_id, payload))


def _grade(run_id: str, payload: dict) -> dict:
    address, shown = _where()
    with _LOCK:
        state = _RUNS.get(run_id)
        if state is None or state.closed:
            return {"status": "no-run", "worker": shown}
        state.busy += 1
        state.last = time.monotonic()
        slot = state.free.pop() if state.free else None
        index = None
        if slot is None:
            index, state.opened = state.opened, state.opened + 1
        state.jobs += 1
        name = f"j{state.jobs}"
    ctx = state.ctx
    reply = {"status": "done", "worker": shown, "address": address, "timed_out": False, "ended": "", "oom": 0,
             "pids_hit": 0, "seconds": 0.0, "files": {}}
    try:
        if slot is None:
            slot = _on_opener(Slot.open, ctx, index)
        job = Job(**payload["job"], folder=Path("."))
        try:
            jdir = worker.prepare(ctx, job, name, slot.dir / "jobs", slot.base, slot.uid,
                                  cgroup=slot.cgroup is not None)
        except Exception as exc:       # as pool.run: it costs only this submission
            return {**reply, "status": "error", "reason": f"the job's folder could not be written ({exc})"}
        slot.start(name)
        timeout = float(payload["timeout"])
        while True:
            wait([slot], 0.5)
            if state.closed:
                return {**reply, "status": "closed"}
            if slot.finished():
                break
            if not slot.alive():
                reply["ended"] = f"its sandbox ended with status {slot.proc.returncode}"
                break
            if time.monotonic() - slot.started > timeout:
                reply["timed_out"] = True
                break
        reply["oom"], reply["pids_hit"] = slot.counters()
        reply["seconds"] = time.monotonic() - slot.started
        if not reply["timed_out"]:
            reply["files"] = cluster_data.outputs(ctx, jdir)
        shutil.rmtree(jdir, ignore_errors=True)
        slot.job = None
        if reply["timed_out"] or reply["ended"]:     # the whole sandbox stopped; a fresh slot takes its place
            old, slot = slot, None
            old.close()
            slot = _on_opener(Slot.open, ctx, old.index, old.generation + 1)
        return reply
    finally:
        with _LOCK:
            state.busy -= 1
            state.last = time.monotonic()
            keep = slot is not None and slot.job is None and not state.closed
            if keep:
                state.free.append(slot)
            last = state.closed and state.busy == 0
        if slot is not None and not keep:
            slot.close()
        if last:
            ctx.run.close()


def _on_opener(fn, *args):
    """``fn(*args)`` on this process's one long-lived slot-starting thread (bubblewrap's
    --die-with-parent follows the thread that started the sandbox)."""
    with _LOCK:
        if not _OPENER:
            _OPENER.append(ThreadPoolExecutor(1, thread_name_prefix="coursekit-slots"))
    return _OPENER[0].submit(fn, *args).result()
