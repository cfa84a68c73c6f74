"""Benchmark: grade N synthetic submissions of one topic with plain sequential `nbgrader autograde`
and with this kit's grading (coursekit.grading: every submission in a sandbox of its own, several at
once, kernels forked warm into their sandboxes); print submissions per minute, CPU seconds per
submission and peak memory of each (the whole process tree: grader, sandboxes, kernels), and the
kit's speed-up over sequential nbgrader for each worker count. A second, short run of the kit (one
submission per slot) separates what starting a slot costs (its nbgrader and its zygote, once per
slot) from what each further submission costs.

    python -m benchmarks.grading [--n 32] [--workers 1,2,3] [--topic 01_tensors] [--no-sandbox] [--cold]
                                 [--skip-sequential] [--no-startup] [--cluster 1,2]

``--cluster 1,2 [--repeat 3]`` also grades the same class on a Dask cluster on this machine
(``--cluster`` of ``make grade``: a scheduler in this process, N worker processes with one slot each,
a ``distributed.LocalCluster``), each right after (or before) local slots of the same number, and
prints the medians: throughput and CPU per submission (the grader, the scheduler, the workers and
their sandboxes together), with identical scores.

The submissions are a realistic mix (coursekit.synth.mixed_submissions): about 70% of the answers
right, the rest wrong (tests/wrong_answers/<topic>.py) or left unanswered. Every run must give every
student the same scores as sequential nbgrader (checked, and printed). Sequential nbgrader runs as
it comes, with ordinary kernels (no warm provisioner, whatever the environment says). Each kit run
grades a fresh copy of the same course. CPU time comes from a cgroup (``CpuMeter``: v1 cpuacct, or
v2), never from resource usage, which cannot see the processes reaped inside a sandbox (on this
machine it showed 0.4 of 14 CPU-seconds); where no cgroup counts it, the kit's CPU is reported as
unknown. This is a measurement, not a timed test.
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

    def __init__(self, pid: int, interval: float = 0.2, meter: "CpuMeter | None" = None):
        self.pid, self.interval, self.peak, self.meter = pid, interval, 0, meter
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        if self.meter is not None:
            self.meter.leave()       # the sampling is the benchmark's work, not the grader's
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
    """CPU seconds used by this process and everything it starts meanwhile, sandboxes in pid namespaces
    of their own included: which process resource usage cannot see (a sandbox's processes are reaped
    inside it), so it is read from a cgroup.

    * cgroup v1 ``cpuacct``: a group of its own that this process moves into: exactly the run;
    * cgroup v2: the usage of this process's own cgroup, whose children the grader's sandboxes are
      made in: the run, plus whatever else runs in that cgroup meanwhile (``describe`` says which);
    * neither: ``seconds`` stays None and the benchmark says the CPU time is unknown.
    """

    def __init__(self):
        self.seconds = None
        self.dir = self.home = self.v2 = None
        self._start_usec = None
        try:
            lines = Path("/proc/self/cgroup").read_text().splitlines()
        except OSError:
            lines = []
        for line in lines:
            parts = line.split(":", 2)
            if len(parts) != 3:
                continue
            if "cpuacct" in parts[1].split(","):
                self.home = Path("/sys/fs/cgroup/cpuacct") / parts[2].lstrip("/")
            elif parts[0] == "0" and parts[1] == "":
                root = Path("/sys/fs/cgroup")
                base = root if (root / "cgroup.controllers").exists() else root / "unified"
                self.v2 = base / parts[2].lstrip("/")

    def describe(self) -> str:
        if self.home is not None:
            return "a cgroup v1 cpuacct group of the run's own"
        if self.v2 is not None:
            return f"cgroup v2 {self.v2} (everything in it, the run's sandboxes included)"
        return "nothing: no cgroup CPU accounting here, the kit's CPU is unknown"

    @staticmethod
    def _usage_usec(folder: Path) -> int:
        for line in (folder / "cpu.stat").read_text().splitlines():
            key, _, value = line.partition(" ")
            if key == "usage_usec":
                return int(value)
        raise OSError("no usage_usec in cpu.stat")

    def __enter__(self):
        if self.home is not None:
            try:
                self.dir = self.home / f"coursekit-bench-{os.getpid()}-{time.monotonic_ns()}"
                self.dir.mkdir()
                (self.dir / "cgroup.procs").write_text(str(os.getpid()))
                return self
            except OSError:
                self.dir = None
        if self.v2 is not None:
            try:
                self._start_usec = self._usage_usec(self.v2)
            except (OSError, ValueError):
                self._start_usec = None
        return self

    def usage(self) -> float | None:
        """CPU seconds counted so far (for a part of the measured run); None where nothing counts."""
        try:
            if self.dir is not None:
                return int((self.dir / "cpuacct.usage").read_text()) / 1e9
            if self._start_usec is not None:
                return (self._usage_usec(self.v2) - self._start_usec) / 1e6
        except (OSError, ValueError):
            pass
        return None

    def leave(self) -> None:
        """Takes the calling thread out of the measured group (cgroup v1 places threads one by one;
        in v2 a thread cannot leave its process's cgroup, so its little CPU is counted)."""
        if self.dir is not None:
            try:
                (self.home / "tasks").write_text(str(threading.get_native_id()))
            except OSError:
                pass

    def __exit__(self, *exc):
        if self.dir is not None:
            try:
                self.seconds = int((self.dir / "cpuacct.usage").read_text()) / 1e9
                (self.home / "cgroup.procs").write_text(str(os.getpid()))
                self.dir.rmdir()
            except OSError:
                pass
        elif self._start_usec is not None:
            try:
                self.seconds = (self._usage_usec(self.v2) - self._start_usec) / 1e6
            except (OSError, ValueError):
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


def _cpu(who) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def sequential(seq: Path, topic: str, n: int) -> tuple[float, float | None, float]:
    """(seconds, CPU seconds or None, peak memory in bytes) of plain `nbgrader autograde`."""
    env = tool_env()
    env.pop("JUPYTER_DEFAULT_PROVISIONER_NAME", None)   # nbgrader as it comes: ordinary kernels
    env["COURSEKIT_WARM"] = "0"
    c0 = _cpu(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with CpuMeter() as meter:
        proc = subprocess.Popen([sys.executable, "-m", "nbgrader", "autograde", topic, f"--CourseDirectory.root={seq}",
                                 "--log-level=ERROR"], cwd=seq, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                text=True, env=env)
        with PeakRSS(proc.pid, meter=meter) as mem:
            _, err = proc.communicate()
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        print(err[-2000:], file=sys.stderr)
    cpu = meter.seconds if meter.seconds is not None else _cpu(resource.RUSAGE_CHILDREN) - c0
    return seconds, cpu, mem.peak


def kit(course: Path, topic: str, workers: int, sandbox: str | None, cold: bool):
    from coursekit.grading.pipeline import Options, grade
    if cold:
        with open(course / "nbgrader_config.py", "a") as f:
            f.write("\nc.KitSandbox.warm_kernels = False\n")
    start = time.perf_counter()
    with CpuMeter() as meter, PeakRSS(os.getpid(), meter=meter) as mem:
        summary = grade(Options(topic=topic, root=course, workers=workers, feedback=False, export=False,
                                progress=False, sandbox=sandbox))
    seconds = time.perf_counter() - start
    # (no fallback on resource usage: it misses every process reaped inside a sandbox, most of the CPU)
    cpu = meter.seconds
    return seconds, cpu, mem.peak, summary


def on_cluster(course: Path, topic: str, workers: int, sandbox: str | None):
    """Grade on a Dask cluster of ``workers`` local processes (one slot each). The cluster starts
    before the clock, its workers with the kit's modules preloaded (``--preload
    coursekit.grading.remote``), as a cluster is up before `make grade` runs; the workers' checks and
    slots count, as a local run's slots do."""
    import dask
    from distributed import LocalCluster

    from coursekit.grading.pipeline import Options, grade
    # (Dask's statistical profiler samples every worker thread 100 times a second: 4% of a core for two idle
    # workers here; the README's worker commands switch it off too)
    with CpuMeter() as meter, PeakRSS(os.getpid(), meter=meter) as mem, \
            dask.config.set({"distributed.worker.profile.enabled": False}):
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                          host="127.0.0.1", preload=["coursekit.grading.remote"]) as cluster:
            c0 = meter.usage()
            start = time.perf_counter()
            summary = grade(Options(topic=topic, root=course, cluster=cluster.scheduler_address, feedback=False,
                                    export=False, progress=False, sandbox=sandbox))
            seconds = time.perf_counter() - start
            c1 = meter.usage()
    cpu = c1 - c0 if c0 is not None and c1 is not None else None
    return seconds, cpu, mem.peak, summary


def time_kit(args, tmp: Path, pristine: Path, workers: int, judged: bool, expected: dict, seq_scores, rate_seq,
             cpu_seq, startup: bool):
    """One timed run of the kit on a fresh copy of the course (with or without the judge where --judge asks
    for both); with ``startup``, also the short run that separates slot start-up from each further
    submission. Returns (submissions per minute, CPU seconds or None, scores as expected, the summary)."""
    run_course = tmp / f"kit-{workers}{'-judge' if judged else ''}"
    shutil.copytree(pristine, run_course)
    if args.judge:         # with the judge (graded test cells in a kernel of their own: coursekit/judge)
        with open(run_course / "nbgrader_config.py", "a", encoding="utf-8") as fh:    # and without
            fh.write(f"\nc.KitGrading.judge = {judged}\n")
    load0 = os.getloadavg()[0]
    t_kit, cpu_kit, peak, summary = kit(run_course, args.topic, workers,
                                        "off" if args.no_sandbox else None, args.cold)
    rate = args.n / t_kit * 60
    got = scores(run_course, args.topic)
    same = seq_scores is None or got == seq_scores
    right = all(got.get(s) == e for s, e in expected.items())
    speed = f"  {rate / rate_seq:.2f}x sequential" if rate_seq else ""
    cpu_text = f"CPU {cpu_kit / args.n:.2f} s/submission" + (
        f" ({cpu_kit / cpu_seq:.2f}x sequential's)" if cpu_seq else "") if cpu_kit is not None else \
        "CPU unknown (no cgroup counts it here: a sandbox's processes are invisible to resource usage)"
    print(f"this kit{(' with the judge' if judged else ' without the judge') if args.judge else ''}, {workers} worker(s): {t_kit:7.1f} s  {rate:6.1f} submissions/min  peak memory "
          f"{peak / 2**30:.2f} GiB  {cpu_text}{speed}  "
          f"(load average before: {load0:.1f})  scores {'identical to sequential nbgrader' if same else 'DIFFER from sequential nbgrader'}"
          f"{'' if right else ', NOT as expected from the answers'}", flush=True)
    if not same:
        diff = {s: (seq_scores.get(s), got.get(s)) for s in sorted(set(got) | set(seq_scores))
                if got.get(s) != seq_scores.get(s)}
        print(f"  differ (sequential, kit): {dict(list(diff.items())[:8])}")
    if startup and not args.no_startup and judged == args.judge and cpu_kit is not None and args.n > 2 * workers:
        # the same run with one submission per slot: what starting the slots costs, and so
        # what each further submission costs
        small = tmp / f"kit-{workers}-small"
        shutil.copytree(pristine, small)
        if args.judge:
            with open(small / "nbgrader_config.py", "a", encoding="utf-8") as fh:
                fh.write(f"\nc.KitGrading.judge = {judged}\n")
        for extra in sorted(expected)[workers:]:
            shutil.rmtree(small / "submitted" / extra)
        _, cpu_small, _, _ = kit(small, args.topic, workers, "off" if args.no_sandbox else None, args.cold)
        if cpu_small is not None:
            further = (cpu_kit - cpu_small) / (args.n - workers)
            print(f"  of which: {max(cpu_small / workers - further, 0.0):.1f} CPU-s to start each slot "
                  f"(its nbgrader and zygote), then {further:.2f} CPU-s per further submission")
        shutil.rmtree(small, ignore_errors=True)
    if summary.failed:
        print("  failed:", summary.failed)
    if summary.flagged:
        print("  flagged:", summary.flagged)
    shutil.rmtree(run_course, ignore_errors=True)
    return rate, cpu_kit, same and right, summary


def print_medians(args, variants, runs) -> None:
    """The medians of --repeat runs per variant; with --judge, the judge's cost as a ratio of medians
    measured in the same alternated runs."""
    import statistics
    print(f"medians of {args.repeat} alternated run(s):")
    med = {}
    for workers, judged in variants:
        rates = [r for r, _ in runs[(workers, judged)]]
        cpus = [c / args.n for _, c in runs[(workers, judged)] if c is not None]
        med[(workers, judged)] = (statistics.median(rates), statistics.median(cpus) if cpus else None)
        label = (" with the judge" if judged else " without the judge") if args.judge else ""
        cpu_text = f"CPU {med[(workers, judged)][1]:.2f} s/submission" if cpus else "CPU unknown"
        print(f"  {workers} worker(s){label}: {med[(workers, judged)][0]:.1f} submissions/min, {cpu_text}")
    if args.judge:
        for workers in sorted({w for w, _ in variants}):
            (r0, c0), (r1, c1) = med[(workers, False)], med[(workers, True)]
            cpu_ratio = f", CPU {c1 / c0:.2f}x" if c0 and c1 else ""
            print(f"  the judge at {workers} worker(s): throughput {r1 / r0:.2f}x{cpu_ratio} of the kit without it")


def compare_on_cluster(args, tmp: Path, pristine: Path, expected: dict, seq_scores: dict | None):
    """Local slots against Dask workers (one slot each) for each count of --cluster, run in pairs one
    right after the other (in alternating order, --repeat times: a shared machine's load drifts), then
    the medians. Returns (scores identical everywhere, the last summary)."""
    import statistics
    sandbox = "off" if args.no_sandbox else None
    counts = [int(w) for w in args.cluster.split(",")]
    runs: dict[tuple[str, int], list[tuple[float, float | None]]] = {}
    ok, summary = True, None
    for rep in range(args.repeat):
        for workers in counts:
            for where in (("local", "dask") if (rep + workers) % 2 == 0 else ("dask", "local")):
                run_course = tmp / f"{where}-{workers}-{rep}"
                shutil.copytree(pristine, run_course)
                load0 = os.getloadavg()[0]
                if where == "dask":
                    seconds, cpu, peak, summary = on_cluster(run_course, args.topic, workers, sandbox)
                else:
                    seconds, cpu, peak, summary = kit(run_course, args.topic, workers, sandbox, args.cold)
                got = scores(run_course, args.topic)
                same = (seq_scores is None or got == seq_scores) and all(got.get(s) == e for s, e in expected.items())
                ok &= same and not summary.failed
                runs.setdefault((where, workers), []).append((args.n / seconds * 60, cpu))
                who = (f"Dask, {workers} worker process(es) x 1 slot" if where == "dask" else
                       f"local, {workers} slot(s)")
                used = len({r.worker for r in summary.results.values() if r.worker})
                print(f"  {who}: {seconds:6.1f} s  {args.n / seconds * 60:6.1f} submissions/min  peak memory "
                      f"{peak / 2**30:.2f} GiB  CPU "
                      + (f"{cpu / args.n:.2f} s/submission" if cpu is not None else "unknown")
                      + f"  (load average before: {load0:.1f})  scores {'identical' if same else 'DIFFER'}"
                      + (f"; graded on {used} worker(s)" if where == "dask" else ""), flush=True)
                if summary.failed:
                    print("    failed:", summary.failed)
                shutil.rmtree(run_course, ignore_errors=True)
    print(f"medians of {args.repeat} run(s):")
    for workers in counts:
        med = {}
        for where in ("local", "dask"):
            rates = [r for r, _ in runs[(where, workers)]]
            cpus = [c / args.n for _, c in runs[(where, workers)] if c is not None]
            med[where] = (statistics.median(rates), statistics.median(cpus) if cpus else None)
        cpu_text = (f"CPU {med['local'][1]:.2f} -> {med['dask'][1]:.2f} s/submission"
                    if med["local"][1] is not None and med["dask"][1] is not None else "CPU unknown")
        print(f"  {workers} slot(s): local {med['local'][0]:.1f}, Dask {med['dask'][0]:.1f} submissions/min: Dask at "
              f"{med['dask'][0] / med['local'][0]:.2f}x local; {cpu_text}")
    return ok, summary


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.grading", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=32, help="number of submissions (default 32)")
    parser.add_argument("--workers", default=None,
                        help="worker counts to time, comma-separated (default: cores and cores + 1)")
    parser.add_argument("--topic", default="01_tensors")
    parser.add_argument("--skip-sequential", action="store_true", help="only time the kit")
    parser.add_argument("--no-sandbox", action="store_true", help="time the kit without isolation")
    parser.add_argument("--no-startup", action="store_true",
                        help="skip the short run (one submission per slot) that separates slot start-up from "
                             "the cost of each further submission")
    parser.add_argument("--cold", action="store_true", help="the kit with ordinary kernels (KitSandbox.warm_kernels = False)")
    parser.add_argument("--judge", action="store_true",
                        help="time the kit both without the judge (c.KitGrading.judge = False) and with it at each "
                             "worker count (without --judge: the course's own setting, the judge by default)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each configuration, in alternating order, then their medians (with --cluster: pairs of local and Dask runs per count)")
    parser.add_argument("--cluster", default=None,
                        help="also grade on a local Dask cluster of these worker counts, comma-separated (one slot "
                             "each), against local slots of the same number")
    args = parser.parse_args(argv)
    cores = os.cpu_count() or 1
    counts = [int(w) for w in args.workers.split(",")] if args.workers else [] if args.cluster else [cores, cores + 1]
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        course, seq, expected = build(Path(tmp), args.topic, args.n)
        pristine = Path(tmp) / "pristine"
        shutil.copytree(course, pristine)
        print(f"{args.n} submissions of {args.topic}, {cores} cores, "
              f"expected mean score {sum(expected.values()) / len(expected):.2f}; CPU counted by {CpuMeter().describe()}")
        rate_seq = seq_scores = cpu_seq = None
        if not args.skip_sequential:
            load0 = os.getloadavg()[0]
            t_seq, cpu_seq, peak = sequential(seq, args.topic, args.n)
            rate_seq = args.n / t_seq * 60
            seq_scores = scores(seq, args.topic)
            print(f"sequential nbgrader autograde: {t_seq:7.1f} s  {rate_seq:6.1f} submissions/min  peak memory "
                  f"{peak / 2**30:.2f} GiB  CPU {cpu_seq / args.n:.2f} s/submission  (load average before: {load0:.1f})")
        rows, runs, summary = [], {}, None
        variants = [(w, j) for w in counts for j in ((False, True) if args.judge else (False,))]
        for rep in range(args.repeat):       # alternating order: a shared machine's load drifts
            for workers, judged in (variants if rep % 2 == 0 else variants[::-1]):
                rate, cpu_kit, ok, summary = time_kit(args, Path(tmp), pristine, workers, judged, expected,
                                                      seq_scores, rate_seq, cpu_seq, startup=rep == 0)
                runs.setdefault((workers, judged), []).append((rate, cpu_kit))
                rows.append((workers, rate, ok))
        if args.repeat > 1 and variants:
            print_medians(args, variants, runs)
        if args.cluster:
            ok, summary = compare_on_cluster(args, Path(tmp), pristine, expected, seq_scores)
            rows.append(("dask", 0.0, ok))
        if summary is not None:
            print(f"  isolation: {summary.isolation}")
        import statistics
        local = [(w, statistics.median(r for r, _ in runs[(w, args.judge)])) for w in counts]
        if len(local) > 1:
            base_w, base_rate = local[0]
            print("scaling: " + ", ".join(f"{w} worker(s) {r / base_rate:.2f}x of {base_w}" for w, r in local[1:]))
        return 0 if all(ok for *_, ok in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
