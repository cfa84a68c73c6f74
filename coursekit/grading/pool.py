"""Running the sandboxes: up to N at once, each under the per-submission time limit.

Every sandbox is a child process of this (main) thread, so bubblewrap's ``--die-with-parent``
ties it to this process: if the grader dies, even by ``kill -9``, every sandbox dies with it.
Results are handled here, in the main process, one at a time (``on_result``).
"""
from __future__ import annotations

import sys
import time

from coursekit.grading import worker
from coursekit.grading.model import Job, JobResult


def run(ctx: worker.Context, jobs: list[Job], workers: int, timeout: float, on_result, progress: bool = True) -> None:
    from tqdm.auto import tqdm

    queue = list(jobs)
    running: dict[int, worker.Running] = {}
    n = 0
    bar = tqdm(total=len(jobs), desc=f"grading {ctx.topic}", unit="sub", disable=not progress or not jobs,
               dynamic_ncols=True, file=sys.stderr)
    try:
        while queue or running:
            while queue and len(running) < workers:
                job = queue.pop(0)
                n += 1
                try:
                    started = worker.start(ctx, job, n)
                except Exception as exc:  # the grader's own problem with this one submission
                    started = JobResult(job.student, job.digest, reason=f"grader error: {type(exc).__name__}: {exc}")
                if isinstance(started, JobResult):
                    on_result(started)
                    bar.update(1)
                    continue
                running[started.proc.pid] = started
            done = []
            now = time.monotonic()
            for pid, r in list(running.items()):
                if r.proc.poll() is not None:
                    done.append((pid, r, False))
                elif now - r.started > timeout:
                    worker.kill(r)
                    done.append((pid, r, True))
            for pid, r, timed_out in done:
                del running[pid]
                on_result(worker.finish(ctx, r, timed_out=timed_out))
                bar.update(1)
            if not done:
                time.sleep(0.05)
    finally:
        for r in running.values():
            worker.kill(r)
            try:
                worker.finish(ctx, r, timed_out=True)
            except Exception:
                pass
        bar.close()
