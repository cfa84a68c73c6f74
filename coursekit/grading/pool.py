"""Grading the jobs on N slots (see slot.py), each job under the per-submission time limit.

Every slot is a child process of this (main) thread, so bubblewrap's ``--die-with-parent`` ties it
to this process: if the grader dies, even by ``kill -9``, every sandbox dies with it. Results are
read back and handled here, in the main process, one at a time (``on_result``).
"""
from __future__ import annotations

import sys
import threading
import time

from coursekit.grading import worker
from coursekit.grading.model import Job, JobResult
from coursekit.grading.sanitize import one_line
from coursekit.grading.slot import Slot, wait


#: Set by a SIGTERM handler (coursekit.grading.cli): stop as if interrupted, whatever the handler's
#: own exception met.
STOP = threading.Event()


class _Pending:
    def __init__(self, job: Job, result: JobResult, name: str, jdir):
        self.job, self.result, self.name, self.jdir = job, result, name, jdir


def run(ctx: worker.Context, jobs: list[Job], workers: int, timeout: float, on_result, progress: bool = True) -> None:
    from tqdm.auto import tqdm

    queue = list(jobs)
    slots: list[Slot] = []
    pending: dict[int, _Pending] = {}             # slot index -> its job
    generations: dict[int, int] = {}
    n = 0
    bar = tqdm(total=len(jobs), desc=f"grading {ctx.topic}", unit="sub", disable=not progress or not jobs,
               dynamic_ncols=True, file=sys.stderr)

    def finish(slot: Slot, timed_out: bool = False, ended: str = "") -> None:
        p = pending.pop(slot.index)
        oom, pids = slot.counters()
        seconds = time.monotonic() - slot.started
        if timed_out:
            slot.close()                          # stops the whole sandbox: the job's processes with it
        slot.job = None
        on_result(worker.collect(ctx, p.job, p.result, p.jdir, timed_out=timed_out, ended=ended, oom=oom,
                                 pids_hit=pids, seconds=seconds))
        bar.update(1)

    def replace(slot: Slot) -> Slot:
        slot.close()
        generations[slot.index] = generations.get(slot.index, 0) + 1
        new = Slot.open(ctx, slot.index, generations[slot.index])
        slots[slots.index(slot)] = new
        return new

    try:
        while queue or pending:
            while queue and (len(slots) < workers or any(s.job is None for s in slots)):
                job = queue.pop(0)
                result = worker.precheck(ctx, job)
                if result.reason:                 # nothing to run
                    on_result(result)
                    bar.update(1)
                    continue
                slot = next((s for s in slots if s.job is None), None)
                if slot is None:
                    slot = Slot.open(ctx, len(slots))
                    slots.append(slot)
                n += 1
                name = f"j{n}"
                try:
                    jdir = worker.prepare(ctx, job, name, slot.dir / "jobs", slot.base, slot.uid,
                                          cgroup=slot.cgroup is not None)
                except Exception as exc:       # whatever it was, it costs only this submission
                    result.reason = f"grader error: the job's folder could not be written ({one_line(exc, 200)})"
                    on_result(result)
                    bar.update(1)
                    continue
                pending[slot.index] = _Pending(job, result, name, jdir)
                slot.start(name)
            wait(slots, 0.5)
            if STOP.is_set():
                raise KeyboardInterrupt("stop requested")
            now = time.monotonic()
            for slot in list(slots):
                if slot.job is None:
                    continue
                if slot.finished():
                    finish(slot)
                elif not slot.alive():
                    finish(slot, ended=f"its sandbox ended with status {slot.proc.returncode}")
                    replace(slot)
                elif now - slot.started > timeout:
                    finish(slot, timed_out=True)
                    replace(slot)
    finally:
        bar.close()
        for slot in slots:
            slot.close()                          # (also removes the folders of unfinished jobs)
