"""Benchmark: grade N synthetic submissions of one topic with plain sequential `nbgrader autograde`
and with this kit's parallel grading (utils.grading); print submissions per minute for each,
their ratio, and the peak memory of each (the grading process tree: grader, workers, kernels).

    python -m benchmarks.grading [--n 16] [--workers W] [--topic 01_tensors]

The submissions are a realistic mix (utils.grading_synth.mixed_submissions): about 70% of the
answers right, the rest wrong (tests/wrong_answers/<topic>.py) or left unanswered. Both runs must
give every student the same scores (checked). This is a measurement, not a timed test.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from utils import grading
from utils import grading_synth as gs


class PeakRSS:
    """Samples the summed resident memory of a process and all its descendants."""

    def __init__(self, pid: int, interval: float = 0.2):
        self.pid, self.interval, self.peak = pid, interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _rss(pid: int) -> int:
        try:
            with open(f"/proc/{pid}/statm") as fh:
                return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            return 0

    def _run(self):
        while not self._stop.is_set():
            pids = [self.pid] + grading.descendants(self.pid)
            self.peak = max(self.peak, sum(self._rss(p) for p in pids))
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def build(base: Path, topic: str, n: int):
    course = gs.make_course(base / "parallel", topic)
    source = course / "solutions" / topic / f"{topic}.ipynb"
    student_nb = course / "notebooks" / topic / f"{topic}.ipynb"
    expected = {}
    for i, (answers, score) in enumerate(gs.mixed_submissions(topic, source, n, seed=1)):
        student = f"s{i:03d}"
        gs.submit(course, topic, student, {f"{topic}.ipynb": gs.make_submission(student_nb, answers)})
        expected[student] = score
    seq = base / "sequential"
    shutil.copytree(course, seq)
    return course, seq, expected


def scores(course: Path, topic: str) -> dict[str, float]:
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {s.student.id: float(s.score) for s in gb.find_assignment(topic).submissions}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.grading", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=16, help="number of submissions (default 16)")
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="parallel workers (default: cores)")
    parser.add_argument("--topic", default="01_tensors")
    parser.add_argument("--skip-sequential", action="store_true", help="only time the parallel path")
    args = parser.parse_args(argv)
    grading.ensure_venv_on_path()
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        course, seq, expected = build(Path(tmp), args.topic, args.n)
        print(f"{args.n} submissions of {args.topic}, {os.cpu_count()} cores, "
              f"expected mean score {sum(expected.values()) / len(expected):.2f}")

        def cpu_children():
            r = resource.getrusage(resource.RUSAGE_CHILDREN)
            return r.ru_utime + r.ru_stime

        def cpu_self():
            r = resource.getrusage(resource.RUSAGE_SELF)
            return r.ru_utime + r.ru_stime

        rate_seq = peak_seq = None
        if not args.skip_sequential:
            c0 = cpu_children()
            load0 = os.getloadavg()[0]
            start = time.perf_counter()
            proc = subprocess.Popen([sys.executable, "-m", "nbgrader", "autograde", args.topic,
                                     f"--CourseDirectory.root={seq}", "--log-level=ERROR"],
                                    cwd=seq, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            with PeakRSS(proc.pid) as mem:
                _, err = proc.communicate()
            t_seq = time.perf_counter() - start
            if proc.returncode != 0:
                print(err[-2000:], file=sys.stderr)
            rate_seq, peak_seq = args.n / t_seq * 60, mem.peak
            cpu_seq = (cpu_children() - c0) / args.n
            print(f"sequential nbgrader autograde: {t_seq:7.1f} s  {rate_seq:6.1f} submissions/min  "
                  f"peak memory {peak_seq / 2**30:.2f} GiB  CPU {cpu_seq:.2f} s/submission  "
                  f"(load average before: {load0:.1f})")

        c0, s0, load0 = cpu_children(), cpu_self(), os.getloadavg()[0]
        start = time.perf_counter()
        with PeakRSS(os.getpid()) as mem:
            summary = grading.grade(grading.Options(topic=args.topic, root=course, workers=args.workers,
                                                    feedback=False, export=False, progress=False))
        t_par = time.perf_counter() - start
        rate_par = args.n / t_par * 60
        cpu_par = (cpu_children() - c0 + cpu_self() - s0) / args.n
        print(f"parallel kit ({args.workers} workers):    {t_par:7.1f} s  {rate_par:6.1f} submissions/min  "
              f"peak memory {mem.peak / 2**30:.2f} GiB  CPU {cpu_par:.2f} s/submission  "
              f"(load average before: {load0:.1f})")
        print(f"  isolation: {summary.sandbox}")
        if rate_seq:
            print(f"speed-up: {rate_par / rate_seq:.2f}x")
            same = scores(seq, args.topic) == scores(course, args.topic)
            print("scores identical to sequential nbgrader:", same)
        got = scores(course, args.topic)
        wrong = {s: (got.get(s), e) for s, e in expected.items() if got.get(s) != e}
        print("scores as expected from the answers:", not wrong, wrong or "")
        if summary.failed:
            print("failed:", summary.failed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
