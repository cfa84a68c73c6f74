"""Benchmark: grade N synthetic submissions of one topic with plain sequential `nbgrader autograde`
and with this kit's grading (coursekit.grading: one sandbox per submission, several at once); print
submissions per minute for each, their ratio, and the peak memory of each (the whole process tree:
grader, sandboxes, kernels).

    python -m benchmarks.grading [--n 16] [--workers W] [--topic 01_tensors] [--no-sandbox]

The submissions are a realistic mix (coursekit.synth.mixed_submissions): about 70% of the answers
right, the rest wrong (tests/wrong_answers/<topic>.py) or left unanswered. Both runs must give every
student the same scores (checked). This is a measurement, not a timed test.
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

import psutil

from coursekit import synth
from coursekit.paths import ROOT, tool_env


class PeakRSS:
    """Samples the summed resident memory of a process and all its descendants."""

    def __init__(self, pid: int, interval: float = 0.2):
        self.pid, self.interval, self.peak = pid, interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            total = 0
            try:
                procs = [psutil.Process(self.pid)] + psutil.Process(self.pid).children(recursive=True)
            except psutil.NoSuchProcess:
                procs = []
            for p in procs:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


class CpuMeter:
    """CPU seconds used by this process and everything it starts meanwhile (sandboxes in their own pid
    namespaces included), from a cgroup v1 cpuacct group it moves itself into; None where there is none."""

    def __init__(self):
        self.seconds = None
        self.dir = self.home = None
        try:
            for line in Path("/proc/self/cgroup").read_text().splitlines():
                _, controllers, path = line.split(":", 2)
                if "cpuacct" in controllers.split(","):
                    self.home = Path("/sys/fs/cgroup/cpuacct") / path.lstrip("/")
        except (OSError, ValueError):
            pass

    def __enter__(self):
        if self.home is not None:
            try:
                self.dir = self.home / f"coursekit-bench-{os.getpid()}-{time.monotonic_ns()}"
                self.dir.mkdir()
                (self.dir / "cgroup.procs").write_text(str(os.getpid()))
            except OSError:
                self.dir = None
        return self

    def __exit__(self, *exc):
        if self.dir is not None:
            try:
                self.seconds = int((self.dir / "cpuacct.usage").read_text()) / 1e9
                (self.home / "cgroup.procs").write_text(str(os.getpid()))
                self.dir.rmdir()
            except OSError:
                pass


def build(base: Path, topic: str, n: int):
    course = synth.make_course(base / "parallel", topic)
    source = course / "solutions" / topic / f"{topic}.ipynb"
    student_nb = course / "notebooks" / topic / f"{topic}.ipynb"
    wrong = synth.wrong_answers(ROOT / "tests" / "wrong_answers" / f"{topic}.py")
    expected = {}
    for i, (answers, score) in enumerate(synth.mixed_submissions(source, n, wrong, seed=1)):
        student = f"s{i:03d}"
        synth.submit(course, topic, student, {f"{topic}.ipynb": synth.make_submission(student_nb, answers)})
        expected[student] = score
    seq = base / "sequential"
    shutil.copytree(course, seq)
    return course, seq, expected


def scores(course: Path, topic: str) -> dict[str, float]:
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {s.student.id: float(s.score) for s in gb.find_assignment(topic).submissions}


def main(argv=None) -> int:
    from coursekit.grading.pipeline import Options, grade

    parser = argparse.ArgumentParser(prog="python -m benchmarks.grading", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=16, help="number of submissions (default 16)")
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="parallel sandboxes (default: cores)")
    parser.add_argument("--topic", default="01_tensors")
    parser.add_argument("--skip-sequential", action="store_true", help="only time the kit")
    parser.add_argument("--no-sandbox", action="store_true", help="time the kit without isolation")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        course, seq, expected = build(Path(tmp), args.topic, args.n)
        print(f"{args.n} submissions of {args.topic}, {os.cpu_count()} cores, "
              f"expected mean score {sum(expected.values()) / len(expected):.2f}")

        def cpu(who):
            r = resource.getrusage(who)
            return r.ru_utime + r.ru_stime

        rate_seq = None
        if not args.skip_sequential:
            c0, load0 = cpu(resource.RUSAGE_CHILDREN), os.getloadavg()[0]
            start = time.perf_counter()
            with CpuMeter() as meter_seq:
                proc = subprocess.Popen([sys.executable, "-m", "nbgrader", "autograde", args.topic,
                                         f"--CourseDirectory.root={seq}", "--log-level=ERROR"],
                                        cwd=seq, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                        env=tool_env())
                with PeakRSS(proc.pid) as mem:
                    _, err = proc.communicate()
            t_seq = time.perf_counter() - start
            if proc.returncode != 0:
                print(err[-2000:], file=sys.stderr)
            rate_seq = args.n / t_seq * 60
            cpu_seq = meter_seq.seconds if meter_seq.seconds is not None else cpu(resource.RUSAGE_CHILDREN) - c0
            print(f"sequential nbgrader autograde: {t_seq:7.1f} s  {rate_seq:6.1f} submissions/min  "
                  f"peak memory {mem.peak / 2**30:.2f} GiB  CPU {cpu_seq / args.n:.2f} "
                  f"s/submission  (load average before: {load0:.1f})")

        c0, s0, load0 = cpu(resource.RUSAGE_CHILDREN), cpu(resource.RUSAGE_SELF), os.getloadavg()[0]
        start = time.perf_counter()
        with CpuMeter() as meter_kit, PeakRSS(os.getpid()) as mem:
            summary = grade(Options(topic=args.topic, root=course, workers=args.workers, feedback=False,
                                    export=False, progress=False, sandbox="off" if args.no_sandbox else None))
        t_kit = time.perf_counter() - start
        rate_kit = args.n / t_kit * 60
        cpu_kit = (meter_kit.seconds if meter_kit.seconds is not None else
                   cpu(resource.RUSAGE_CHILDREN) - c0 + cpu(resource.RUSAGE_SELF) - s0) / args.n
        print(f"this kit ({args.workers} sandboxes at once): {t_kit:7.1f} s  {rate_kit:6.1f} submissions/min  "
              f"peak memory {mem.peak / 2**30:.2f} GiB  CPU {cpu_kit:.2f} s/submission  (load average before: {load0:.1f})")
        print(f"  isolation: {summary.isolation}")
        if rate_seq:
            print(f"speed-up: {rate_kit / rate_seq:.2f}x")
            if meter_kit.seconds is not None and meter_seq.seconds is not None:
                busy = min(args.workers, os.cpu_count() or 1)
                print(f"  CPU per submission: sequential {meter_seq.seconds / args.n:.2f} s, this kit "
                      f"{meter_kit.seconds / args.n:.2f} s: on {busy} otherwise idle cores, where CPU is the "
                      f"limit, {busy * meter_seq.seconds / meter_kit.seconds:.2f}x (the measured ratio above "
                      f"depends on what else runs on the machine)")
            print("scores identical to sequential nbgrader:", scores(seq, args.topic) == scores(course, args.topic))
        got = scores(course, args.topic)
        wrong = {s: (got.get(s), e) for s, e in expected.items() if got.get(s) != e}
        print("scores as expected from the answers:", not wrong, wrong or "")
        if summary.failed:
            print("failed:", summary.failed)
        if summary.flagged:
            print("flagged:", summary.flagged)
    return 0


if __name__ == "__main__":
    sys.exit(main())
