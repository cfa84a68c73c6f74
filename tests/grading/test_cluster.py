"""Grading on a Dask cluster (``--cluster``, coursekit/grading/cluster.py and remote.py) with a real
``dask scheduler`` and real ``dask worker`` processes on localhost, started and stopped here.

The same class graded here and through the cluster gets the same scores, reasons and flags; a
worker whose machine cannot make a bubblewrap sandbox is refused before anything is sent to it; a
worker killed (SIGKILL, its whole process group: "the machine is lost") while it grades has its job
regraded on another, and every student ends with the local score, saved exactly once. Run with -s
for the fault test's timeline.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from coursekit import notebook, synth
from coursekit.grading import cluster, pipeline, pool
from coursekit.grading import cluster_data
from coursekit.grading.pipeline import Options, grade
from coursekit.paths import ROOT, tool_env

TOPIC = synth.TINY_TOPIC
NB = f"{TOPIC}.ipynb"
FAST = 'c.KitSandbox.preload_modules = ["math"]\n'
DASK = [sys.executable, "-m", "dask"]
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not sys.platform.startswith("linux"), reason="bubblewrap: Linux")]

# a class of the tiny topic: (answers replacing the right ones, expected score)
CLASS = {
    "ann": ({}, 5.0),
    "ben": ({"ex2_square": "def square(x):\n    return 9"}, 2.0),
    "cid": ({"ex1_double": "def double(x):\n    return x + 2"}, 3.0),                 # right for 2 only
    "dee": ({"ex1_double": "def double(x):\n    raise ValueError('no')"}, 3.0),
    "eve": ({"ex1_double": "def double(x):\n    return 2 * x", "ex2_square": None}, 2.0),
    "fay": ({"ex2_square": "import math\ndef square(x):\n    return math.pow(x, 2)"}, 5.0),
}


class Dask:
    """A scheduler and workers on localhost, each a process group of its own (stopped at the end)."""

    def __init__(self, base: Path):
        self.base, self.procs = base, {}
        base.mkdir(parents=True, exist_ok=True)
        info = base / "scheduler.json"
        self._start("scheduler", [*DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                  "--dashboard-address", "127.0.0.1:0", "--scheduler-file", str(info)])
        end = time.monotonic() + 120
        while not (info.exists() and info.stat().st_size):
            assert time.monotonic() < end and self.procs["scheduler"].poll() is None, self.log("scheduler")
            time.sleep(0.2)
        time.sleep(0.2)
        self.address = json.loads(info.read_text())["address"]

    def _start(self, name: str, argv: list[str]) -> None:
        env = tool_env()
        with open(self.base / f"{name}.log", "wb") as log:
            self.procs[name] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=self.base, env=env,
                                                start_new_session=True, preexec_fn=_die_with_the_tests)

    def worker(self, name: str, wrap: list[str] = ()) -> None:
        self._start(name, [*wrap, *DASK, "worker", self.address, "--name", name, "--nthreads", "1",
                           "--preload", "coursekit.grading.remote",
                           "--no-dashboard", "--local-directory", str(self.base / f"{name}-space")])

    def wait_for(self, names: list[str], timeout: float = 180) -> dict[str, str]:
        """name -> address of the given workers, once the scheduler has them all."""
        from distributed import Client
        with Client(self.address, timeout=60, set_as_default=False) as client:
            end = time.monotonic() + timeout
            while True:
                info = client.scheduler_info(n_workers=-1)["workers"]
                found = {str(w["name"]): a for a, w in info.items()}
                if all(n in found for n in names):
                    return {n: found[n] for n in names}
                for n in names:
                    assert self.procs[n].poll() is None, self.log(n)
                assert time.monotonic() < end, f"workers {names} did not join: {found}"
                time.sleep(0.3)

    def warm(self, name: str) -> None:
        """Imports in the worker what a run's opening imports (the earlier tests did it for w1 and w2)."""
        from distributed import Client
        with Client(self.address, timeout=60, set_as_default=False) as client:
            client.run(exec, "import coursekit.grading.pipeline", workers=[self.wait_for([name])[name]])

    def kill(self, name: str) -> None:
        os.killpg(self.procs[name].pid, signal.SIGKILL)
        self.procs[name].wait(30)

    def log(self, name: str) -> str:
        return (self.base / f"{name}.log").read_text(errors="replace")[-3000:]

    def close(self) -> None:
        for name, proc in reversed(list(self.procs.items())):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for name, proc in self.procs.items():
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)


def _die_with_the_tests() -> None:
    """(In the child) SIGTERM when the test process ends, however it ends: no cluster outlives it."""
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)      # PR_SET_PDEATHSIG


def _no_bwrap() -> list[str]:
    """A worker on a machine where bubblewrap cannot make a sandbox: its /usr/bin/bwrap is /dev/null."""
    return ["bwrap", "--die-with-parent", "--bind", "/", "/", "--dev-bind", "/dev", "/dev", "--proc", "/proc",
            "--ro-bind", "/dev/null", "/usr/bin/bwrap", "--"]


@pytest.fixture(scope="module")
def dask(tmp_path_factory):
    d = Dask(tmp_path_factory.mktemp("dask"))
    try:
        d.worker("w1")
        d.worker("w2")
        d.worker("nobwrap", wrap=_no_bwrap())
        d.addresses = d.wait_for(["w1", "w2", "nobwrap"])
        yield d
    finally:
        d.close()


def _course(base: Path, students: dict, extra: str = "", sleep: float = 0.0) -> Path:
    synth.write_tiny_topic(base / "src")
    course = synth.make_course(base / "course", TOPIC, source_dir=base / "src" / TOPIC, config_extra=FAST + extra)
    right = synth.correct_answers(course / "solutions" / TOPIC / NB)
    for student, (answers, _) in students.items():
        mine = {**right, **answers}
        if sleep:
            mine["ex1_double"] = f"import time\ntime.sleep({sleep})\n" + (mine["ex1_double"] or "")
        nb = synth.make_submission(course / "notebooks" / TOPIC / NB, mine)
        synth.submit(course, TOPIC, student, {NB: nb})
    return course


def _outcome(summary) -> dict:
    return {s: (summary.scores.get(s), r.status, r.reason, sorted(r.flags)) for s, r in summary.results.items()}


def test_same_scores_as_local_and_a_worker_without_bubblewrap_refused(dask, tmp_path):
    import shutil
    local_course = _course(tmp_path / "local", CLASS)
    on_dask = tmp_path / "dask" / "course"
    shutil.copytree(local_course, on_dask)
    local = grade(Options(topic=TOPIC, root=local_course, workers=2, progress=False))
    remote_run = grade(Options(topic=TOPIC, root=on_dask, cluster=dask.address, progress=False))

    assert {s: score for s, (score, *_) in _outcome(local).items()} == \
        {s: (expected, 5.0) for s, (_, expected) in CLASS.items()}, local.text()
    assert _outcome(remote_run) == _outcome(local), remote_run.text()
    workers = {s: r.worker for s, r in remote_run.results.items()}
    shown = {n: f"{n} ({a})" for n, a in dask.addresses.items()}
    assert set(workers.values()) == {shown["w1"], shown["w2"]}, workers     # both graded, the refused one none
    assert all(not r.worker for r in local.results.values())
    refused = [w for w in remote_run.warnings if "nobwrap" in w]
    assert len(refused) == 1 and "refused" in refused[0] and "bubblewrap" in refused[0], remote_run.warnings
    text = remote_run.text()
    assert f"{shown['w1']}: graded {sum(1 for w in workers.values() if w == shown['w1'])}, failed 0" in text, text
    assert remote_run.isolation.startswith("bubblewrap:"), remote_run.isolation
    # the course's files are written here, as by a local run: autograded notebooks, feedback, grades.csv
    for student in CLASS:
        assert (on_dask / "autograded" / student / TOPIC / NB).is_file()
        assert (on_dask / "feedback" / student / TOPIC / f"{TOPIC}.html").is_file()
    report = (on_dask / f"grading_report_{TOPIC}.csv").read_text()
    assert report.splitlines()[0].endswith(",worker") and shown["w2"] in report
    rows = [sorted((c / "grades.csv").read_text().splitlines()) for c in (on_dask, local_course)]
    assert rows[0] == rows[1]         # (in the order the submissions were saved)


def test_a_real_topic_through_the_cluster(dask, tmp_path):
    """01_tensors (torch in the slots' zygotes and the kernels): the solution full marks, the student
    version 0, as test_all_topics.py asks of a local run."""
    topic = "01_tensors"
    nb = f"{topic}.ipynb"
    course = synth.make_course(tmp_path / "course", topic)
    right = synth.correct_answers(ROOT / "solutions" / topic / nb)
    synth.submit(course, topic, "solution", {nb: synth.make_submission(course / "notebooks" / topic / nb, right)})
    synth.submit(course, topic, "untouched", {nb: (course / "notebooks" / topic / nb).read_bytes()})
    summary = grade(Options(topic=topic, root=course, cluster=dask.address, progress=False, feedback=False))
    total = notebook.total_points(ROOT / "solutions" / topic / nb)
    assert not summary.failed, summary.text()     # (flags come from the checks here, the same as a local run's)
    assert summary.scores == {"solution": (total, total), "untouched": (0.0, total)}, summary.text()
    assert "kernels forked warm" in summary.isolation and "started cold" not in summary.isolation, summary.isolation


class _Timeline(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.t0 = time.monotonic()
        self.lines: list[tuple[float, str]] = []

    def emit(self, record):
        self.lines.append((time.monotonic() - self.t0, record.getMessage()))

    def add(self, text):
        self.lines.append((time.monotonic() - self.t0, text))


def test_a_worker_killed_mid_run(dask, tmp_path, monkeypatch):
    """A third worker joins, grades, and is killed with a job in its sandbox: that job is regraded on
    another worker; every student ends with the local score, saved once."""
    students = {f"s{i}": CLASS[name] for i, name in enumerate(list(CLASS) * 2)}
    course = _course(tmp_path, students, sleep=2.0)
    dask.worker("w3")
    w3 = f"w3 ({dask.wait_for(['w3'])['w3']})"
    dask.warm("w3")           # (as w1 and w2 are by the earlier tests: it joins at the start, not after most jobs)
    saved: dict[str, int] = {}
    real_save = pipeline.save_result

    def counting_save(gb, root, topic, state, result, *args, **kw):
        saved[result.student] = saved.get(result.student, 0) + 1
        return real_save(gb, root, topic, state, result, *args, **kw)
    monkeypatch.setattr(pipeline, "save_result", counting_save)
    timeline = _Timeline()
    log = logging.getLogger("coursekit.cluster")
    log.addHandler(timeline)
    log.setLevel(logging.INFO)
    killed = threading.Event()

    def killer():
        """Once w3 has graded one and holds another: kill it, its whole process group. The job it holds
        began in w3's slot when the graded one ended (a slot takes the job queued on it at once), and cannot
        end within 2 s of that (it sleeps 2 s): killed 0.3 s after the graded one came back, it is mid-run."""
        end = time.monotonic() + 240
        while time.monotonic() < end:
            lines = [text for _, text in timeline.lines]
            graded = sum(1 for t in lines if t.endswith(f" on {w3}"))
            sent = sum(1 for t in lines if t.endswith(f"-> {w3}"))
            if graded and sent > graded:
                time.sleep(0.3)
                timeline.add(f"test: SIGKILL to w3's process group (nanny, worker, its sandboxes)")
                dask.kill("w3")
                killed.set()
                return
            time.sleep(0.02)
    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    try:
        summary = grade(Options(topic=TOPIC, root=course, cluster=dask.address, progress=False, feedback=False))
    finally:
        log.removeHandler(timeline)
        thread.join(5)
    print("\ntimeline of the fault test (seconds from the start):")
    for t, text in timeline.lines:
        print(f"  {t:6.1f}  {text}")
    print(summary.text())
    assert killed.is_set(), "w3 was never seen grading"
    assert {s: summary.scores[s][0] for s in students} == {s: e for s, (_, e) in students.items()}, summary.text()
    assert saved == {s: 1 for s in students}, saved            # never counted twice
    assert not summary.failed, summary.failed
    lost = [w for w in summary.warnings if "w3" in w and "lost mid-run" in w]
    assert lost and "sent to other workers" in lost[0], summary.warnings
    sent = [t.split(" -> ")[0] for _, t in timeline.lines if " -> " in t]
    again = {s for s in sent if sent.count(s) > 1}           # w3's job when it died: sent again, elsewhere
    assert again and all(summary.results[s].worker != w3 for s in again), (again, timeline.lines)
    assert any(r.worker == w3 for r in summary.results.values()), "what w3 graded before it died stays"


def test_interrupted_on_the_client_side_resumes(dask, tmp_path, monkeypatch):
    """Ctrl-C / SIGTERM (pool.STOP) during a cluster run: what was graded is saved; the next run grades
    the rest, nobody twice."""
    course = _course(tmp_path, CLASS, sleep=0.5)
    saved: list[str] = []
    real_save = pipeline.save_result

    def stop_after_two(gb, root, topic, state, result, *args, **kw):
        saved.append(result.student)
        real_save(gb, root, topic, state, result, *args, **kw)
        if len(saved) == 2:
            pool.STOP.set()
    monkeypatch.setattr(pipeline, "save_result", stop_after_two)
    try:
        with pytest.raises(KeyboardInterrupt):
            grade(Options(topic=TOPIC, root=course, cluster=dask.address, progress=False, feedback=False))
    finally:
        pool.STOP.clear()
    first = list(saved)
    assert 2 <= len(first) < len(CLASS)
    second = grade(Options(topic=TOPIC, root=course, cluster=dask.address, progress=False, feedback=False))
    assert sorted(second.graded) == sorted(set(CLASS) - set(first)) and sorted(second.skipped) == sorted(first)
    assert {s: second.scores[s][0] for s in CLASS} == {s: e for s, (_, e) in CLASS.items()}


def test_unreachable_scheduler_and_a_different_environment_are_refused(tmp_path, monkeypatch):
    """One line for a scheduler that is not there; a worker whose course kit or packages differ from
    the grader's is told which."""
    course = _course(tmp_path, {"ann": CLASS["ann"]})
    monkeypatch.setattr(cluster, "CONNECT_S", 2)
    with pytest.raises(SystemExit) as exc:
        grade(Options(topic=TOPIC, root=course, cluster="tcp://127.0.0.1:9", progress=False))
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in str(exc.value), exc.value
    assert "\n" not in str(exc.value)
    from coursekit.config import KitSandbox
    expected = cluster_data.expected_environment("r", KitSandbox())
    here = cluster_data.environment(sorted(expected["packages"]))
    assert cluster_data.differences(expected, here) == []
    other = {**here, "coursekit": "0" * 16, "packages": {**here["packages"], "torch": "0.0.1"}}
    found = cluster_data.differences(expected, other)
    assert any("torch 0.0.1 (grader: " in f for f in found) and any("coursekit/ differs" in f for f in found), found


def test_what_a_sandbox_left_is_rebuilt_for_the_same_checks(tmp_path):
    """cluster_data.outputs (worker) then cluster_data.rebuild (grader): every kind of thing a sandbox can leave in out/
    reads back with the same bytes or the same refusal as it does where it was written."""
    from types import SimpleNamespace

    from coursekit.grading import safeio, worker
    ctx = SimpleNamespace(notebooks=["a", "b", "c", "d"], grading=SimpleNamespace(max_notebook_mb=0.25))
    cap = int(0.25 * 4 * 2**20)
    src = tmp_path / "job"
    (src / "out").mkdir(parents=True)
    (src / "out" / "result.json").write_bytes(b'{"kind": "result", "v": 2, "status": "graded"}')
    (src / "out" / "a.ipynb").write_bytes(b"x" * cap)                 # at the cap: read
    (src / "out" / "b.ipynb").write_bytes(b"x" * (cap + 1))           # over it
    os.symlink("/etc/passwd", src / "out" / "c.ipynb")                # a link
    os.mkfifo(src / "out" / "d.ipynb")                                # not a regular file
    (src / "out" / "extra.txt").write_text("not asked for")

    def read(jdir: Path) -> dict:
        out = {}
        for name in ["result.json", "a.ipynb", "b.ipynb", "c.ipynb", "d.ipynb", "extra.txt", "missing.ipynb"]:
            try:
                out[name] = safeio.read_file(jdir / "out", name, worker.RESULT_CAP if name == "result.json" else cap,
                                             below=jdir)
            except safeio.Unsafe as exc:
                out[name] = str(exc)
        return out
    sent = cluster_data.outputs(ctx, src)
    assert set(sent) == {"result.json", "a.ipynb", "b.ipynb", "c.ipynb", "d.ipynb"}
    cluster_data.rebuild(sent, tmp_path / "here", ctx.notebooks)
    there, here = read(src), read(tmp_path / "here")
    del there["extra.txt"]        # never sent: here it is missing, as a file no check reads
    assert here.pop("extra.txt").startswith("extra.txt: cannot be opened")
    assert here == there, (here, there)
    assert here["a.ipynb"] == b"x" * cap and "larger than" in here["b.ipynb"] and "not a regular file" in here["d.ipynb"]
