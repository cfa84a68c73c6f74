"""Grading on the Dask workers of a scheduler (``--cluster tcp://HOST:8786``, ``c.KitGrading.cluster``).

The process that ran ``make grade`` stays the trusted side: it plans, prechecks, writes the
gradebook, ``autograded/``, feedback and grades.csv, exactly as a local run. The Dask workers only
run grading slots (``coursekit/grading/remote.py``): each job is one Dask task that carries a
submission's notebooks and returns what its sandbox wrote, as plain data, which is rebuilt here in a
folder of the run and read by the same ``worker.collect`` as a local slot's results.

Every worker is checked before anything of the course is sent to it (:func:`remote.check`: the
same Python, packages, ``coursekit/`` and ``utils/`` as here, and a working bubblewrap unless
``KitSandbox.mode = 'off'``); a worker that fails is refused with the reason, in the summary and
its warnings, and never sent a submission. Workers that join later are checked when they appear.

This side schedules: every task is pinned to one checked worker (``workers=[address]``,
``allow_other_workers=False``), at most one per thread of that worker (one slot per thread). A
worker that leaves the scheduler (killed, its machine lost, restarted by its nanny after running
over its memory limit) has its unfinished jobs sent to other workers; a job's result is used once,
whichever copy comes back first; a job whose workers were lost ``MAX_ATTEMPTS`` times fails with
that reason (the next run grades it again). Ctrl-C or SIGTERM stops as a local run does: what was
graded is saved, the rest is graded by the next run.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import sys
import threading
import time
from collections import deque

from coursekit import wire as messages
from coursekit.grading import cluster_data, pool, worker
from coursekit.grading.model import Job, JobResult
from coursekit.grading.sanitize import one_line

LOG = logging.getLogger("coursekit.cluster")
MAX_ATTEMPTS = 3            # a job's tries on workers that were lost while grading it
WAIT_FOR_WORKER_S = 300.0   # how long the run waits for a first worker that passes the checks
POLL_S = 1.0                # how often the scheduler is asked which workers it has
CONNECT_S = 30              # connecting to the scheduler
REFUSED_WAIT_S = 30.0       # when every worker was refused, how long to wait for another
STUCK_S = 180.0             # past its time limit by this, a job's worker is taken for lost (it hangs, or its network)


class _Worker:
    def __init__(self, address: str, nthreads: int):
        self.address, self.nthreads = address, max(1, int(nthreads or 1))
        self.name = address
        self.state = "checking"           # checking, opening, ready, refused, lost
        self.future = None                # its check or open_run task
        self.report: dict = {}
        self.ctx: worker.Context | None = None
        self.running: set = set()         # its job tasks
        self.vanished = False             # the scheduler no longer has it


class _Attempt:
    def __init__(self, job: Job, result: JobResult, seq: int):
        self.job, self.result, self.seq, self.tries = job, result, seq, 0
        self.worker: _Worker | None = None
        self.sent = 0.0


class Farm:
    """A connection to a Dask scheduler and the checked workers it has (see the module's docstring)."""

    def __init__(self, address: str, client, expected: dict):
        self.address, self.client, self.expected = address, client, expected
        self.workers: dict[str, _Worker] = {}
        self.warnings: list[str] = []
        self.isolation = None
        self.spec: dict | None = None
        self.event = threading.Event()
        self.bar = None
        self._polled = 0.0

    # -- connecting and checking ------------------------------------------------------------------
    @classmethod
    def connect(cls, address: str, run_id: str, sandbox) -> "Farm":
        """Connect, check every worker the scheduler has, and wait for a first one that passes."""
        try:
            from distributed import Client
        except ImportError:
            raise SystemExit("grading on a Dask cluster needs dask's distributed package (pinned in pyproject.toml): "
                             "`make setup`") from None
        try:
            client = Client(address, timeout=CONNECT_S, set_as_default=False)
        except (OSError, TimeoutError, ValueError, TypeError) as exc:
            raise SystemExit(f"cannot reach the Dask scheduler at {one_line(address, 200)} ({one_line(exc, 200)}): "
                             "start it there with `dask scheduler`, or check the address "
                             "(--cluster / KitGrading.cluster, e.g. tcp://HOST:8786)") from None
        farm = cls(address, client, cluster_data.expected_environment(run_id, sandbox))
        try:
            farm._wait_for_first()
        except BaseException:
            farm.close()
            raise
        return farm

    def _wait_for_first(self) -> None:
        start = time.monotonic()
        deadline = start + WAIT_FOR_WORKER_S
        said = False
        while self.isolation is None:
            self._poll(force=True)
            self._handle_checks()
            if self.isolation is not None:
                break
            refused = [f"{w.name}: {'; '.join(w.report.get('problems', []))}" for w in self.workers.values()
                       if w.state == "refused"]
            if refused and len(refused) == len(self.workers) and deadline - time.monotonic() > REFUSED_WAIT_S:
                deadline = time.monotonic() + REFUSED_WAIT_S      # every worker refused: a little longer, then stop
            if time.monotonic() > deadline:
                raise SystemExit(f"no Dask worker of {one_line(self.address, 200)} passed the checks within "
                                 f"{time.monotonic() - start:.0f} s"
                                 + (": refused " + " | ".join(refused) if refused else ": it has no workers"))
            if not said and not any(w.state == "checking" for w in self.workers.values()):
                print(f"waiting for Dask workers at {one_line(self.address, 200)} ...", file=sys.stderr)
                said = True
            if pool.STOP.is_set():
                raise KeyboardInterrupt("stop requested")
            self.event.wait(0.5)
            self.event.clear()

    def _poll(self, force: bool = False) -> None:
        """Which workers the scheduler has now: new ones are checked, vanished ones are lost."""
        if not force and time.monotonic() - self._polled < POLL_S:
            return
        self._polled = time.monotonic()
        try:
            # (the scheduler's own answer: Client.scheduler_info returns a cache that the client's periodic
            # refresh may have just replaced with one listing no workers at all)
            info = self.client.sync(self.client.scheduler.identity, n_workers=-1)["workers"]
        except Exception as exc:
            raise SystemExit(f"lost the Dask scheduler at {one_line(self.address, 200)} ({one_line(exc, 200)}); "
                             "what was graded is saved: run the same command again to continue") from None
        for address, winfo in info.items():
            old = self.workers.get(address)
            if old is None or old.vanished:         # (new, or back at the same address: a new process)
                w = self.workers[address] = _Worker(address, winfo.get("nthreads", 1))
                name = str(winfo.get("name", address))
                w.name = address if name == address else f"{name} ({address})"
                w.future = self._submit(w, "check", self._remote().check, self.expected)
        for w in self.workers.values():
            if w.address not in info and not w.vanished:
                w.vanished = True
                if w.state not in ("refused", "lost"):
                    self._lost(w)

    @staticmethod
    def _remote():
        from coursekit.grading import remote
        return remote

    def _submit(self, w: _Worker, what: str, fn, *args):
        fut = self.client.submit(fn, *args, key=f"coursekit-{what}-{self.expected['run']}-{os.urandom(6).hex()}",
                                 workers=[w.address], allow_other_workers=False, pure=False, retries=0)
        fut.add_done_callback(lambda _f: self.event.set())
        return fut

    def _handle_checks(self) -> None:
        for w in self.workers.values():
            if w.future is None or not w.future.done():
                continue
            fut, w.future = w.future, None
            try:
                answer = fut.result()
            except Exception as exc:
                if w.state != "lost":
                    self._refuse(w, f"its check failed ({type(exc).__name__}: {one_line(exc, 300)})")
                continue
            if w.state == "checking":
                w.report = answer
                if answer.get("problems"):
                    self._refuse(w, "; ".join(answer["problems"]))
                    continue
                w.name = answer.get("worker") or w.name
                w.state = "opening"
                if self.isolation is None:
                    self.isolation = cluster_data.isolation(answer)
                self._say(f"worker {w.name} passed the checks ({answer.get('host', '?')})")
            elif w.state == "opening":
                w.state = "ready"
                self._say(f"worker {w.name} ready")
        for w in self.workers.values():
            if w.state == "opening" and w.future is None and self.spec is not None:
                w.future = self._submit(w, "open", self._remote().open_run, self.spec)

    def _refuse(self, w: _Worker, why: str) -> None:
        w.state = "refused"
        text = f"Dask worker {w.name} refused (nothing was sent to it): {why}"
        self.warnings.append(text)
        self._say(text, warn=True)

    def _lost(self, w: _Worker, why: str = "was lost mid-run") -> None:
        was = w.state
        w.state = "lost"
        if was in ("checking", "opening"):
            if w.future is not None:
                w.future.cancel()
                w.future = None
            self._say(f"worker {w.name} left before it was ready")
            return
        if w.future is not None:
            w.future.cancel()
            w.future = None
        finished = {a for f, a in self.futures.items() if a.worker is w and f.status == "finished"}
        unfinished = [a for a in w.running if a not in finished]    # (a finished one's result is used)
        n = len(unfinished)
        for attempt in unfinished:
            w.running.discard(attempt)
            self._requeue(attempt, front=True, lost=True)
        text = f"Dask worker {w.name} {why}" + (f"; its {n} unfinished job(s) were sent to other workers"
                                                if n else "")
        self.warnings.append(text)
        self._say(text, warn=True)

    def _say(self, text: str, warn: bool = False) -> None:
        LOG.log(logging.WARNING if warn else logging.INFO, text)
        if self.bar is not None and not self.bar.disable:
            self.bar.write(text, file=sys.stderr)

    # -- grading ----------------------------------------------------------------------------------
    def run(self, ctx: worker.Context, jobs: list[Job], timeout: float, on_result, progress: bool = True) -> None:
        """Grade ``jobs`` on the workers; ``on_result`` once per job, here, as pool.run does."""
        from tqdm.auto import tqdm
        self.spec = cluster_data.spec(ctx)
        self.ctx = ctx
        self.timeout = timeout
        self.on_result = on_result
        self.queue: deque[_Attempt] = deque()
        self.futures: dict = {}                # job task -> its attempt
        self.done: set[str] = set()
        self.duplicates = 0
        self.counts: dict[str, int] = {}
        self.seq = 0
        self.bar = tqdm(total=len(jobs), desc=f"grading {ctx.topic} on Dask", unit="sub",
                        disable=not progress or not jobs, dynamic_ncols=True, file=sys.stderr)
        pending = deque(jobs)
        try:
            self._handle_checks()
            while pending or self.queue or self.futures:
                self._poll()
                self._handle_checks()
                self._dispatch(pending)
                self.event.wait(0.5)
                self.event.clear()
                if pool.STOP.is_set():
                    raise KeyboardInterrupt("stop requested")
                for fut in [f for f in self.futures if f.done()]:
                    self._finished(fut, self.futures.pop(fut))
                now = time.monotonic()
                late = 2 * self.timeout + STUCK_S          # (a job may wait behind one on its worker)
                for w in {a.worker for f, a in self.futures.items() if now - a.sent > late}:
                    self._lost(w, f"gave no answer {late:g} s after it was sent a job (not used again in this run)")
                if not any(w.state in ("checking", "opening", "ready") for w in self.workers.values()):
                    self._wait_for_any()
        finally:
            for fut in list(self.futures):
                fut.cancel()
            self.bar.close()

    def _wait_for_any(self) -> None:
        deadline = time.monotonic() + WAIT_FOR_WORKER_S
        self._say(f"no usable Dask worker left at {self.address}: waiting up to {WAIT_FOR_WORKER_S:g} s for one",
                  warn=True)
        while not any(w.state in ("checking", "opening", "ready") for w in self.workers.values()):
            if time.monotonic() > deadline:
                raise SystemExit(f"no usable Dask worker at {one_line(self.address, 200)} for {WAIT_FOR_WORKER_S:g} s; "
                                 "what was graded is saved: run the same command again to continue")
            if pool.STOP.is_set():
                raise KeyboardInterrupt("stop requested")
            time.sleep(0.5)
            self._poll(force=True)

    def _dispatch(self, pending: deque) -> None:
        """Send jobs to workers with a free slot. While more jobs wait than there are slots, each worker
        also holds one more, queued on it, so that a slot never waits for the round trip to this side."""
        workers = [w for w in self.workers.values() if w.state == "ready"]
        slots = sum(w.nthreads for w in workers)

        def room(w: _Worker) -> int:
            return w.nthreads + (len(self.queue) + len(pending) > slots) - len(w.running)
        ready = [w for w in workers if room(w) > 0]
        while ready and (self.queue or pending):
            if self.queue:
                attempt = self.queue.popleft()
            else:
                job = pending.popleft()
                result = worker.precheck(self.ctx, job)
                if result.reason:                 # nothing to run
                    self._record(result)
                    continue
                self.seq += 1
                attempt = _Attempt(job, result, self.seq)
            w = max(ready, key=lambda w: (room(w), -self.counts.get(w.name, 0)))
            attempt.tries += 1
            attempt.worker, attempt.sent = w, time.monotonic()
            payload = messages.make("cluster_job", job=cluster_data.job_description(attempt.job), timeout=self.timeout)
            fut = self._submit(w, f"grade{attempt.seq}", self._remote().grade, self.ctx.run.id, payload)
            self.futures[fut] = attempt
            w.running.add(attempt)
            LOG.info("%s -> %s", attempt.job.student, w.name)
            ready = [w for w in ready if room(w) > 0]

    def _requeue(self, attempt: _Attempt, front: bool, lost: bool = False) -> None:
        for fut, a in list(self.futures.items()):
            if a is attempt:
                fut.cancel()
                del self.futures[fut]
        if attempt.job.student in self.done:
            return
        if lost and attempt.tries >= MAX_ATTEMPTS:
            attempt.result.reason = (f"grader error: the Dask workers grading it were lost {attempt.tries} times "
                                     f"(last: {attempt.worker.name if attempt.worker else '?'})")
            attempt.result.worker = attempt.worker.name if attempt.worker else ""
            self._record(attempt.result)
            return
        (self.queue.appendleft if front else self.queue.append)(attempt)

    def _finished(self, fut, attempt: _Attempt) -> None:
        w = attempt.worker
        w.running.discard(attempt)
        if fut.cancelled():
            return
        if fut.status != "finished":
            if w.state == "lost":
                return                            # (requeued when the worker was found lost)
            try:
                fut.result()
            except Exception as exc:
                attempt.result.reason = (f"grader error on Dask worker {w.name}: {type(exc).__name__}: "
                                         f"{one_line(exc, 300)}")
            attempt.result.worker = w.name
            self._record(attempt.result)
            return
        try:
            reply = messages.read("cluster_reply", fut.result())
        except messages.MessageError as exc:      # (another version of the kit on the worker, or a broken one)
            reply = {"status": "error", "reason": f"Dask worker {w.name} sent a malformed reply ({exc})"}
        status = reply.get("status")
        if status in ("no-run", "closed"):        # the worker forgot the run (idle, restarted): send it again
            w.state = "opening"
            self._requeue(attempt, front=True)
            return
        result = attempt.result
        result.worker = w.name
        if status == "error":
            result.reason = f"grader error: {one_line(reply.get('reason', ''), 400)}"
        elif status != "done":
            result.reason = f"grader error: Dask worker {w.name} gave no result"
        else:
            result = self._read_back(w, attempt, reply)
        self._record(result)

    def _read_back(self, w: _Worker, attempt: _Attempt, reply: dict) -> JobResult:
        """The worker's reply rebuilt as a job folder of this run and read by worker.collect."""
        ctx = self.ctx
        if w.ctx is None:
            scrub = [p for p in w.report.get("scrub", []) if isinstance(p, str) and p.startswith("/") and len(p) > 1]
            w.ctx = dataclasses.replace(ctx, isolation=cluster_data.isolation(w.report),
                                        scrub=sorted(set(ctx.scrub) | set(scrub), key=len, reverse=True))
        jdir = ctx.run.dir / f"r{attempt.seq}-{attempt.tries}"
        cluster_data.rebuild(reply.get("files"), jdir, ctx.notebooks)
        return worker.collect(w.ctx, attempt.job, attempt.result, jdir, timed_out=bool(reply.get("timed_out")),
                              ended=str(reply.get("ended") or ""), oom=int(reply.get("oom") or 0),
                              pids_hit=int(reply.get("pids_hit") or 0), seconds=float(reply.get("seconds") or 0.0))

    def _record(self, result: JobResult) -> None:
        if result.student in self.done:           # a second copy of a job: used once
            self.duplicates += 1
            return
        self.done.add(result.student)
        self.on_result(result)
        if result.worker:
            self.counts[result.worker] = self.counts.get(result.worker, 0) + 1
            LOG.info("%s %s on %s", result.student, result.status, result.worker)
        self.bar.update(1)
        if self.counts:
            self.bar.set_postfix_str(", ".join(f"{k.split(' (')[0]} {v}" for k, v in sorted(self.counts.items())),
                                     refresh=False)

    # -- the end ----------------------------------------------------------------------------------
    def close(self) -> None:
        """Close the run on every worker that has it, then the connection (never raises)."""
        try:
            futs = [self._submit(w, "close", self._remote().close_run, self.expected["run"])
                    for w in self.workers.values() if w.state in ("checking", "opening", "ready")]
            if futs:
                from distributed import wait
                wait(futs, timeout=30)
        except Exception:
            pass
        try:
            self.client.close(timeout=10)
        except Exception:
            pass


def run(ctx: worker.Context, jobs: list[Job], timeout: float, on_result, farm: Farm, progress: bool = True) -> None:
    farm.run(ctx, jobs, timeout, on_result, progress)
