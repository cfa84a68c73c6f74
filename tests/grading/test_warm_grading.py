"""Warm grading kernels (coursekit/warm/sandboxed.py) are invisible in results.

The same submissions of 01_tensors are graded twice by the real grader, one slot (so every kernel of
the warm run is forked from the same zygote, one after the other): once with warm kernels (the
default) and once cold (``KitSandbox.warm_kernels = False``). Each submission's first answer prints
what its kernel looks like before any of its own code ran -- torch, NumPy and Python settings, RNG
state, environment, limits, capabilities, namespaces, open descriptors -- and then changes all of it
(seeds, default dtype, threads, flags, module attributes, builtins, files in /tmp). Then:

* scores are identical, warm and cold;
* every kernel, warm or cold, starts with the same settings (nothing one submission changed reaches
  the next), with RNG state of its own (a fresh kernel seeds from the OS), no capabilities,
  no_new_privs, pid 2 of a pid namespace of its own, in none of the grader's namespaces;
* where the sandbox cannot be entered after the fork, the provisioner starts the ordinary kernel
  from the very same command line and says why.
"""
from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import nbformat
import pytest

from coursekit import synth
from coursekit.grading.pipeline import Options, grade
from coursekit.paths import ROOT

TOPIC = "01_tensors"
NB = f"{TOPIC}.ipynb"
SOURCE = ROOT / "solutions" / TOPIC / NB
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux"),
              pytest.mark.filterwarnings("ignore:Non-unique cell id")]

FINGERPRINT = r'''
import json as _j, os as _o, sys as _s, random as _r, resource as _res, builtins as _b
import torch as _t, numpy as _n, matplotlib as _m, utils as _u, utils.checks as _uc
def _status():
    with open("/proc/self/status") as _f:
        return {k: v.strip() for k, _, v in (l.partition(":") for l in _f) if k.startswith(("Cap", "NoNewPrivs"))}
def _fds():   # what is open: files by name, sockets and pipes by number (a leaked one would show)
    kinds = []
    for _d in sorted(_o.listdir("/proc/self/fd"), key=int):
        try:
            kinds.append(_o.readlink(f"/proc/self/fd/{_d}").split(":")[0])
        except OSError:
            pass
    return {"files": sorted({k for k in kinds if k.startswith("/") and not k.endswith("-journal")}),
            "stdio": [_o.readlink(f"/proc/self/fd/{_d}").split(":")[0] for _d in (0, 1, 2)],
            "sockets": kinds.count("socket"), "pipes": kinds.count("pipe")}
_fp = {
    "dtype": str(_t.get_default_dtype()), "threads": _t.get_num_threads(),
    "deterministic": _t.are_deterministic_algorithms_enabled(), "grad": _t.is_grad_enabled(),
    "anomaly": _t.is_anomaly_enabled(), "matmul_precision": _t.get_float32_matmul_precision(),
    "relu": _t.nn.functional.relu(_t.tensor([-1.0, 2.0])).tolist(), "np_err": _n.geterr(),
    "np_print": {k: v for k, v in _n.get_printoptions().items() if isinstance(v, (int, float, str, bool))},
    "recursion": _s.getrecursionlimit(), "flags": list(_s.flags), "path": _s.path, "cwd": _o.getcwd(),
    "umask": _o.umask(0o022), "env": {k: v for k, v in _o.environ.items() if k != "COURSEKIT_KERNEL"},
    "rlimits": {k: _res.getrlimit(getattr(_res, k)) for k in ("RLIMIT_AS", "RLIMIT_FSIZE", "RLIMIT_NPROC",
                                                              "RLIMIT_CORE", "RLIMIT_NOFILE")},
    "mpl_backend": _m.get_backend(), "rc_linewidth": _m.rcParams["lines.linewidth"],
    "marker_builtins": getattr(_b, "kit_marker", None), "marker_utils": getattr(_uc, "kit_marker", None),
    "marker_env": _o.environ.get("KIT_MARKER"), "tmp": sorted(_o.listdir("/tmp")),
    "status": _status(), "pid": _o.getpid(), "pids": sorted(int(p) for p in _o.listdir("/proc") if p.isdigit()),
    "fds": _fds(), "history": get_ipython().history_manager.enabled,
    "namespaces": {k: _o.readlink(f"/proc/self/ns/{k}") for k in ("user", "mnt", "pid", "net", "ipc", "uts")},
}
print("FINGERPRINT " + _j.dumps(_fp, default=str))
_t.set_default_dtype(_t.float64); _t.manual_seed(0); _n.random.seed(0); _r.seed(0); _t.set_num_threads(2)
_t.use_deterministic_algorithms(True); _t.set_grad_enabled(False); _t.set_float32_matmul_precision("medium")
_n.seterr(all="raise"); _n.set_printoptions(precision=2); _s.setrecursionlimit(400); _s.path.append("/tmp")
_b.kit_marker = 1; _uc.kit_marker = 1; _o.environ["KIT_MARKER"] = "1"; _m.rcParams["lines.linewidth"] = 7
open("/tmp/left-by-a-student", "w").write("x")
_t.set_default_dtype(_t.float32); _t.set_grad_enabled(True)   # so that this notebook's own tests still run
'''

# a cell of the student's own before the notebook's setup cell (which seeds every generator)
RANDOM_CELL = r'''
import json as _j, random as _r, torch as _t, numpy as _n
print("RANDOM " + _j.dumps({"torch_seed": _t.initial_seed(), "torch": _t.rand(2).tolist(),
                            "numpy": _n.random.rand(2).tolist(), "python": _r.random()}))
'''

STUDENTS = ("a_first", "b_second", "c_third")
RANDOM = "random"
PER_KERNEL = ("pid", "namespaces", RANDOM)


def _fingerprint(course: Path, student: str) -> dict:
    nb = nbformat.read(str(course / "autograded" / student / TOPIC / NB), as_version=4)
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    found = {}
    for marker in ("FINGERPRINT", "RANDOM"):
        line = next(line for line in text.splitlines() if line.startswith(marker + " "))
        found[marker] = json.loads(line[len(marker) + 1:])
    return {**found["FINGERPRINT"], RANDOM: found["RANDOM"]}


def _grade(base: Path, warm: bool):
    extra = "" if warm else "c.KitSandbox.warm_kernels = False"
    course = synth.make_course(base, TOPIC, config_extra=extra)
    exs = synth.exercises(SOURCE)
    student_nb = course / "notebooks" / TOPIC / NB
    answers = synth.correct_answers(SOURCE)
    first = exs[0].grade_id
    for i, student in enumerate(STUDENTS):
        mine = dict(answers)
        mine[first] = answers[first] + "\n" + FINGERPRINT
        if i == 2:
            mine[exs[1].grade_id] = None      # one wrong answer: scores must differ where answers do
        nb = synth.make_submission(student_nb, mine)
        nb.cells.insert(0, nbformat.v4.new_code_cell(RANDOM_CELL))
        synth.submit(course, TOPIC, student, {NB: nb})
    summary = grade(Options(topic=TOPIC, root=course, workers=1, feedback=False, export=False, progress=False))
    return course, summary


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    if not SOURCE.exists():
        pytest.skip(f"{SOURCE} not written yet")
    out = {}
    for warm in (True, False):
        course, summary = _grade(tmp_path_factory.mktemp("warm" if warm else "cold"), warm)
        out[warm] = {"course": course, "summary": summary,
                     "fp": {s: _fingerprint(course, s) for s in STUDENTS}}
    return out


def test_the_warm_run_forked_every_kernel(runs):
    summary = runs[True]["summary"]
    if "bubblewrap" not in summary.isolation:
        pytest.skip("no bubblewrap isolation on this machine: grading kernels are cold by design")
    assert {r.kernel for r in summary.results.values()} == {"warm"}, \
        {s: r.kernel for s, r in summary.results.items()}
    assert "forked" in summary.isolation, summary.isolation
    assert {r.kernel for r in runs[False]["summary"].results.values()} == {""}


def test_scores_are_identical_warm_and_cold(runs):
    warm, cold = runs[True]["summary"], runs[False]["summary"]
    assert warm.scores == cold.scores
    assert len(set(warm.scores.values())) == 2, warm.scores     # the wrong answer counted


def test_every_kernel_starts_like_a_fresh_one(runs):
    reference = {k: v for k, v in runs[False]["fp"][STUDENTS[0]].items() if k not in PER_KERNEL}
    for warm in (True, False):
        for student, fp in runs[warm]["fp"].items():
            same = {k: v for k, v in fp.items() if k not in PER_KERNEL}
            diff = {k: (same.get(k), reference.get(k)) for k in set(same) | set(reference)
                    if same.get(k) != reference.get(k)}
            assert not diff, f"{'warm' if warm else 'cold'} kernel of {student} differs from a fresh cold one: {diff}"


def test_nothing_carries_over_and_every_kernel_has_its_own_seeds(runs):
    fps = [fp for warm in (True, False) for fp in runs[warm]["fp"].values()]
    for fp in fps:      # each kernel after the first ran after one that changed all of this
        assert fp["dtype"] == "torch.float32" and fp["deterministic"] is False and fp["grad"] is True
        assert fp["marker_builtins"] is None and fp["marker_utils"] is None and fp["marker_env"] is None
        # (/tmp holds only mount points: a course cloned below /tmp shows its folder there)
        assert "left-by-a-student" not in fp["tmp"]
        assert fp["rc_linewidth"] != 7 and fp["recursion"] != 400 and fp["threads"] == 1
        assert fp["history"] is False          # a grading kernel keeps no SQLite history (kernel_start.py)
    for key in ("torch_seed", "python"):
        values = [f[RANDOM][key] for f in fps]
        assert len(set(values)) == len(values), f"{key}: two kernels started with the same RNG state {values}"
    numpy_draws = [tuple(f[RANDOM]["numpy"]) for f in fps]
    assert len(set(numpy_draws)) == len(numpy_draws)
    for kind in ("user", "mnt", "pid", "net", "ipc", "uts"):
        # (a namespace's number is reused once it is gone, so kernels one after the other may show the
        # same one; pids == [1, 2] below shows each has a pid namespace of its own)
        host = os.readlink(f"/proc/self/ns/{kind}")
        assert all(f["namespaces"][kind] != host for f in fps), f"a kernel shares the grader's {kind} namespace"


def test_a_failing_test_still_shows_its_whole_traceback(runs):
    """Grading kernels format each traceback once (not a second time for %notebook's history): the
    output of the wrong answer's test still holds the whole coloured traceback, warm and cold."""
    for warm in (True, False):
        nb = nbformat.read(str(runs[warm]["course"] / "autograded" / STUDENTS[2] / TOPIC / NB), as_version=4)
        errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
        assert errors, "the wrong answer's test raised nothing"
        tb = "\n".join(errors[0].traceback)
        assert errors[0].ename and "\x1b[" in tb and "Traceback" in tb and len(errors[0].traceback) > 1, tb


def test_the_grading_zygote_fills_its_caches_and_still_forks_single_threaded(tmp_path):
    from coursekit.warm import client
    if client.supported():
        pytest.skip(client.supported())
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "LANG": "C.UTF-8", "OMP_NUM_THREADS": "1"}
    zygote = client.Zygote(sys.executable, env, ("IPython.core.ultratb", "stack_data", "PIL.Image"), flags=("-I",),
                           options={"watch_parent": False, "warm_caches": True, "freeze": True})
    try:
        assert zygote.hello["warmed"] == ["inspect", "PIL", "traceback"], zygote.hello
        assert zygote.hello["threads"] == 1 and not zygote.hello["failed"]
        assert zygote.info()["threads"] == 1
    finally:
        zygote.close()


def test_no_capabilities_and_pid_2_of_its_own_namespace(runs):
    if "bubblewrap" not in runs[True]["summary"].isolation:
        pytest.skip("no bubblewrap isolation on this machine")
    for warm in (True, False):
        for student, fp in runs[warm]["fp"].items():
            caps = {k: int(v, 16) for k, v in fp["status"].items() if k.startswith("Cap")}
            assert caps and not any(caps.values()), (warm, student, fp["status"])
            assert fp["status"]["NoNewPrivs"] == "1"
            assert fp["pid"] == 2 and fp["pids"] == [1, 2], (warm, student, fp["pids"])


def test_a_sandbox_that_cannot_be_entered_gives_an_ordinary_kernel(tmp_path):
    """The provisioner on its own, with a real zygote: a 'sandbox' without namespaces of its own
    cannot be joined, so the kernel starts from the command line itself, and the reason is kept."""
    from jupyter_client.connect import write_connection_file
    from coursekit.warm import sandboxed
    from coursekit.sandbox import bwrap

    if bwrap.bwrap_path() is None:
        pytest.skip("bubblewrap is not installed")
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "LANG": "C.UTF-8", "OMP_NUM_THREADS": "1"}
    assert sandboxed.start_zygote(sys.executable, env, ["json"]) is None
    try:
        conn = str(tmp_path / "kernel.json")
        # bwrap that shares every namespace with us (no --unshare-*): not a sandbox of its own
        cmd = [bwrap.bwrap_path(), "--unshare-pid", "--bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--", sys.executable,
               "-I", str(ROOT / "coursekit" / "kernel" / "start.py"), "-f", conn]
        prov = sandboxed.SandboxedProvisioner(kernel_id="k", kernel_spec=None, parent=None,
                                              env={**env, "COURSEKIT_KERNEL": "{}"},
                                              cwd=str(tmp_path))
        write_connection_file(conn, transport="ipc", ip=str(tmp_path / "k"))
        prov.connection_info = json.loads(Path(conn).read_text())

        async def go():
            await prov.launch_kernel(cmd, cwd=str(tmp_path), env=env)
            try:
                assert prov.fallback_reason and "sandbox of its own" in prov.fallback_reason, prov.fallback_reason
                assert sandboxed.status()["fallbacks"] == [prov.fallback_reason]
                assert not isinstance(prov.process, sandboxed.SandboxedKernel)
                assert await prov.poll() is None        # the ordinary kernel is running
            finally:
                await prov.kill()
                await prov.wait()
        asyncio.run(go())
    finally:
        sandboxed.stop_zygote()
