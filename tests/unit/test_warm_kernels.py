"""Warm kernels (coursekit.warm): a kernel forked from the zygote is a fresh kernel in everything a
notebook can see, one kernel cannot affect the next, and the lifecycle (interrupt, restart, death,
shutdown) is an ordinary kernel's; where no zygote can serve, an ordinary kernel starts, with a warning.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import psutil
import pytest

from coursekit.paths import ROOT

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="kernels are forked on Linux only")]

from coursekit.warm import client, provisioner  # noqa: E402

NOTEBOOK_DIR = ROOT / "solutions" / "06_nonlinear_regression"

# What a notebook can see at the start, before any import of its own.
AT_START = r'''
import gc as _gc, json as _json, os as _os, resource as _res, signal as _sig, sys as _sys, warnings as _w
_p = {"cwd": _os.getcwd(), "path": _sys.path, "argv0": _sys.argv[0], "orig": _sys.orig_argv[1:3], "flags": repr(_sys.flags),
      "env": dict(_os.environ), "executable": _sys.executable,
      "signals": {s: repr(_sig.getsignal(getattr(_sig, s))) for s in ("SIGINT", "SIGTERM", "SIGCHLD", "SIGPIPE", "SIGHUP")},
      "own_session": [_os.getsid(0) == _os.getpid(), _os.getpgid(0) == _os.getpid()],
      "std_fds": sorted((fd, _os.readlink(f"/proc/self/fd/{fd}").split(":")[0]) for fd in ("0", "1", "2")),
      "rlimits": [_res.getrlimit(r) for r in (_res.RLIMIT_NOFILE, _res.RLIMIT_AS, _res.RLIMIT_STACK)],
      "recursion": _sys.getrecursionlimit(), "gc": [_gc.get_threshold(), _gc.isenabled()],
      "line_buffering": [_sys.__stdout__.line_buffering, _sys.__stderr__.line_buffering],
      "main": [_sys.modules["__main__"].__name__, sorted(k for k in vars(_sys.modules["__main__"]) if not k.startswith("_"))[:5]],
      "zygote_code_visible": any("coursekit" in m or "zygote" in m for m in _sys.modules)}
print(_json.dumps(_p))
'''
# Global generators and torch's settings, before the notebook's setup seeds or changes anything.
GENERATORS = r'''
import json, random, numpy as np, torch
_st = np.random.get_state()
print(json.dumps({
    "seeds": [torch.initial_seed(), int(np.random.randint(1 << 30)), random.random(), torch.rand(1).item()],
    "numpy_state": [_st[0], int(_st[2]), int(_st[3])],
    "mp_authkey": __import__("multiprocessing").current_process().authkey.hex(),
    "torch": [str(torch.get_default_dtype()), torch.get_num_threads(), torch.get_num_interop_threads(),
              torch.is_grad_enabled(), torch.are_deterministic_algorithms_enabled(), torch.get_float32_matmul_precision(),
              torch.backends.mkldnn.enabled, torch.is_anomaly_enabled(), torch.get_default_device().type,
              torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark]}))
'''
# After the course's first cell and a figure: the same modules, settings and environment.
AFTER_SETUP = r'''
from utils.training import setup_notebook
device = setup_notebook(seed=0)
import matplotlib, matplotlib.pyplot as plt, threadpoolctl, warnings, sys, os, json, numpy as np, torch
import utils.checks, utils.plotting
plt.plot([1, 2, 3]); plt.show()
print(json.dumps({"modules": sorted(m for m in sys.modules if not m.startswith("threadpoolctl")),
                  "rc": {k: str(v) for k, v in matplotlib.rcParams.items()}, "backend": matplotlib.get_backend(),
                  "pools": sorted((d["internal_api"], d["num_threads"]) for d in threadpoolctl.threadpool_info()),
                  "warnings": sorted(repr(f) for f in warnings.filters), "env": dict(os.environ),
                  "torch": [str(torch.get_default_dtype()), torch.get_num_threads(), torch.is_grad_enabled()],
                  "np": [np.geterr(), {k: str(v) for k, v in np.get_printoptions().items()}]}))
'''


@pytest.fixture(scope="module")
def kernels(tmp_path_factory):
    """start(name, cwd=..., env=...) -> (KernelManager, client): 'fresh' is jupyter_client's
    LocalProvisioner, 'warm' this package's; every kernel is shut down at the end."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    specs = tmp_path_factory.mktemp("kernelspecs")
    for name, prov in (("fresh", "local-provisioner"), ("warm", "coursekit-warm")):
        (specs / name).mkdir()
        (specs / name / "kernel.json").write_text(json.dumps({
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": name, "language": "python",
            "metadata": {"kernel_provisioner": {"provisioner_name": prov}}}))
    ksm = KernelSpecManager(kernel_dirs=[str(specs)])
    started = []

    def start(name, cwd=NOTEBOOK_DIR, env=None, **kwargs):
        km = KernelManager(kernel_name=name, kernel_spec_manager=ksm)
        km.start_kernel(cwd=str(cwd), **({"env": env} if env is not None else {}), **kwargs)
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=120)
        started.append((km, kc))
        return km, kc

    yield start
    for km, kc in started:
        kc.stop_channels()
        if km.has_kernel:
            km.shutdown_kernel(now=True)


def run(kc, code, timeout=120, **kwargs):
    """(stdout, error or None, kinds of rich outputs) of one cell."""
    out = []
    reply = kc.execute_interactive(code, timeout=timeout, output_hook=out.append, **kwargs)
    text = "".join(m["content"]["text"] for m in out if m["msg_type"] == "stream" and m["content"]["name"] == "stdout")
    error = None if reply["content"]["status"] == "ok" else f"{reply['content'].get('ename')}: {reply['content'].get('evalue')}"
    rich = sorted({k for m in out if m["msg_type"] == "display_data" for k in m["content"]["data"]})
    return text, error, rich


def reply_to(kc, msg_id, timeout=60):
    """The shell reply to ``msg_id``; replies to earlier requests are skipped (on a loaded machine
    wait_for_ready may have sent several kernel_info requests, and their replies come later)."""
    deadline = time.monotonic() + timeout
    while True:
        reply = kc.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply


def printed(kc, msg_id, text, timeout=60):
    """Wait until the cell ``msg_id`` has printed ``text``."""
    deadline = time.monotonic() + timeout
    while True:
        msg = kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        if (msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "stream"
                and text in msg["content"]["text"]):
            return


def probe(kc, code):
    text, error, _ = run(kc, code)
    assert error is None, error
    return json.loads(text)


def provider(km):
    prov = km.provisioner
    return "forked" if isinstance(prov, provisioner.WarmProvisioner) and prov.fallback_reason is None else "ordinary"


@pytest.fixture(scope="module")
def fresh_and_warm(kernels):
    """The three probes in one fresh kernel and in two warm ones (the second one forked by a zygote
    that has already served the first)."""
    results = {}
    for label, name in (("fresh", "fresh"), ("warm1", "warm"), ("warm2", "warm")):
        km, kc = kernels(name)
        results[label] = {"provider": provider(km), "pid": km.provisioner.pid,
                          "start": probe(kc, AT_START), "generators": probe(kc, GENERATORS)}
        text, error, rich = run(kc, AFTER_SETUP)
        assert error is None, error
        results[label]["setup"] = json.loads(text)
        results[label]["figure"] = rich
        kc.stop_channels()
        km.shutdown_kernel(now=False)
    return results


def test_a_forked_kernel_starts_as_a_fresh_one(fresh_and_warm):
    fresh, warm = fresh_and_warm["fresh"], fresh_and_warm["warm1"]
    assert fresh["provider"] == "ordinary" and warm["provider"] == "forked"
    a, b = fresh["start"], warm["start"]
    assert not b["zygote_code_visible"]
    for key in a:
        if key == "env":   # one client, so even JPY_PARENT_PID and JPY_SESSION_NAME agree
            assert a[key] == b[key], {k: (a[key].get(k), b[key].get(k)) for k in set(a[key]) ^ set(b[key])}
        elif key == "orig":
            assert a[key] == b[key] == ["-m", "ipykernel_launcher"]
        else:
            assert a[key] == b[key], key
    assert a["own_session"] == [True, True]


def test_global_generators_are_seeded_per_kernel_and_torch_settings_are_the_defaults(fresh_and_warm):
    fresh, w1, w2 = (fresh_and_warm[k]["generators"] for k in ("fresh", "warm1", "warm2"))
    assert fresh["torch"] == w1["torch"] == w2["torch"]
    assert fresh["numpy_state"][0] == w1["numpy_state"][0] == "MT19937"
    assert w1["numpy_state"][1:] == w2["numpy_state"][1:] == fresh["numpy_state"][1:]   # position, cached gauss
    # every generator a fresh process seeds from the OS differs between two kernels of one zygote
    for i, what in enumerate(("torch.initial_seed", "numpy", "random", "torch.rand")):
        assert w1["seeds"][i] != w2["seeds"][i], what
        assert w1["seeds"][i] != fresh["seeds"][i], what
    assert w1["mp_authkey"] != w2["mp_authkey"]


def test_after_the_course_setup_modules_settings_and_figures_are_those_of_a_fresh_kernel(fresh_and_warm):
    fresh, warm = fresh_and_warm["fresh"], fresh_and_warm["warm2"]
    a, b = fresh["setup"], warm["setup"]
    assert set(b["modules"]) - set(a["modules"]) == set(), "preloaded but not imported by the notebook"
    assert set(a["modules"]) - set(b["modules"]) == set()
    for key in ("rc", "backend", "pools", "warnings", "env", "torch", "np"):
        assert a[key] == b[key], key
    assert fresh["figure"] == warm["figure"] and "image/png" in warm["figure"]


def test_a_kernel_cannot_affect_the_next(kernels, fresh_and_warm):
    km, kc = kernels("warm")
    assert provider(km) == "forked"
    text, error, _ = run(kc, """
import os, sys, random, types, numpy as np, torch, utils.checks
torch.set_default_dtype(torch.float64); torch.manual_seed(123); np.random.seed(1); random.seed(2)
torch.set_num_threads(2); torch.set_grad_enabled(False); torch.use_deterministic_algorithms(True)
torch.sum = lambda *a, **k: 42
utils.checks.passed = lambda *a, **k: None
LEAKED = 1
sys.modules["leaked_module"] = types.ModuleType("leaked_module")
os.environ["LEAKED"] = "1"
os.chdir("/")
print(torch.initial_seed())
""")
    assert error is None and text.strip() == "123"
    kc.stop_channels()
    km.shutdown_kernel(now=False)
    km, kc = kernels("warm")
    assert provider(km) == "forked"
    state = probe(kc, """
import json, os, sys, numpy as np, torch, utils.checks
print(json.dumps({"dtype": str(torch.get_default_dtype()), "seed": torch.initial_seed(),
  "np": int(np.random.get_state()[1][0]), "threads": torch.get_num_threads(), "grad": torch.is_grad_enabled(),
  "det": torch.are_deterministic_algorithms_enabled(), "sum": torch.sum(torch.ones(3)).item(),
  "sum_builtin": type(torch.sum).__name__, "passed": utils.checks.passed.__module__,
  "leaked": ["LEAKED" in globals(), "leaked_module" in sys.modules, "LEAKED" in os.environ], "cwd": os.getcwd()}))
""")
    np_seed1 = int(__import__("numpy").random.RandomState(1).get_state()[1][0])
    assert state["dtype"] == "torch.float32" and state["seed"] != 123 and state["np"] != np_seed1
    assert state["threads"] == fresh_and_warm["fresh"]["generators"]["torch"][1]
    assert state["grad"] is True and state["det"] is False
    assert state["sum"] == 3.0 and state["sum_builtin"] == "builtin_function_or_method"
    assert state["passed"] == "utils.checks"
    assert state["leaked"] == [False, False, False]
    assert state["cwd"] == str(NOTEBOOK_DIR)


def test_kernel_options_after_the_command_reach_the_kernel(kernels):
    """nbgrader starts its kernels with ``--HistoryManager.hist_file=:memory:`` after the command."""
    km, kc = kernels("warm", extra_arguments=["--HistoryManager.hist_file=:memory:"])
    assert provider(km) == "forked"
    text, error, _ = run(kc, "import sys; print(get_ipython().history_manager.hist_file, sys.argv[1:] == "
                             "sys.orig_argv[3:], sys.orig_argv[-1])")
    assert error is None and text.split() == [":memory:", "True", "--HistoryManager.hist_file=:memory:"]


def test_interrupt_and_restart(kernels):
    km, kc = kernels("warm")
    assert provider(km) == "forked"
    old_pid = km.provisioner.pid
    # stop_on_error=False: the KeyboardInterrupt must not make the kernel abort the requests that follow
    # (ipykernel aborts those that arrive while it handles an error: status "aborted", no output).
    msg_id = kc.execute("import time\nprint('looping', flush=True)\nwhile True:\n    time.sleep(0.01)", stop_on_error=False)
    printed(kc, msg_id, "looping")          # the loop runs (however loaded the machine): interrupt it now
    km.interrupt_kernel()
    reply = reply_to(kc, msg_id)
    assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "KeyboardInterrupt", reply["content"]
    seen = []
    for _ in range(3):                      # on a loaded machine SIGINT can land after the reply, once
        out, error, _ = run(kc, "print(6 * 7)", stop_on_error=False)
        seen.append((out.strip(), error))
        if not (error or "").startswith("KeyboardInterrupt"):
            break
    assert seen[-1] == ("42", None) and len(seen) <= 2, seen
    km.restart_kernel(now=True)
    kc.wait_for_ready(timeout=60)
    assert provider(km) == "forked" and km.provisioner.pid != old_pid, (provider(km), km.provisioner.pid, old_pid)
    deadline = time.monotonic() + 30        # (SIGKILLed: on a loaded machine its exit may outlast the restart)
    while psutil.pid_exists(old_pid) and _status(old_pid) != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not psutil.pid_exists(old_pid) or _status(old_pid) == psutil.STATUS_ZOMBIE, _status(old_pid)
    out, error, _ = run(kc, "print(6 * 7)")
    assert (out.strip(), error) == ("42", None)


def _status(pid: int) -> str | None:
    try:
        return psutil.Process(pid).status()
    except psutil.NoSuchProcess:
        return None


def test_a_kernel_that_exits_is_reported_dead_with_its_code(kernels):
    km, kc = kernels("warm")
    assert provider(km) == "forked"
    kc.execute("import os; os._exit(3)")
    deadline = time.monotonic() + 30
    while km.is_alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not km.is_alive()
    assert km.provisioner.process.poll() == 3


def test_the_zygote_forks_single_threaded_and_its_kernels_compute_with_threads(kernels):
    """Without OMP_NUM_THREADS, NumPy's OpenBLAS starts threads when it loads: the zygote stops them
    before it serves; the kernels start their pools when they compute (no deadlock)."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    env["COURSEKIT_WARM_TEST"] = "threads"   # a zygote of its own
    km, kc = kernels("warm", env=env)
    assert provider(km) == "forked"
    zygote = zygote_of(km)
    assert zygote.hello["threads"] == 1
    assert zygote.hello["blas_pools_stopped"] and not zygote.hello["failed"]
    assert zygote.hello["zmq_context"] is False          # ZMQ contexts are made in the kernels only
    assert km.provisioner.process.threads_at_fork == 1
    text, error, _ = run(kc, """
import numpy as np, torch
torch.set_num_threads(2)
a = np.ones((400, 400)); t = torch.ones(400, 400)
print(float((a @ a).sum()), float((t @ t).sum()), torch.get_num_threads())
""", timeout=60)
    assert error is None and text.split() == ["64000000.0", "64000000.0", "2"]


def test_leaves_no_process_behind(kernels):
    env = dict(os.environ, COURSEKIT_WARM_TEST="leftovers")
    pids = []
    for _ in range(2):
        km, kc = kernels("warm", env=env)
        assert provider(km) == "forked"
        zygote = zygote_of(km)
        pids.append(km.provisioner.pid)
        kc.stop_channels()
        km.shutdown_kernel(now=False)
    assert zygote.info()["children"] == []
    assert [p for p in pids if psutil.pid_exists(p)] == []
    zygote.close()
    assert zygote.proc.poll() is not None


def zygote_of(km):
    ppid = psutil.Process(km.provisioner.pid).ppid()
    return next(z for z in client.zygotes() if z.pid == ppid)


# --------------------------------------------------------------------------------------------------
# Fallback: an ordinary kernel, said once

@pytest.fixture
def own_registry(monkeypatch):
    """A registry of zygotes and warnings of this test's own."""
    monkeypatch.setattr(client, "_zygotes", {})
    monkeypatch.setattr(provisioner, "_warned", set())
    yield
    for z in client.zygotes():
        z.close()


def test_falls_back_where_forking_is_impossible(kernels, own_registry, monkeypatch):
    monkeypatch.setattr(client, "supported", lambda: "forking kernels needs Linux (this is plan9)")
    with pytest.warns(RuntimeWarning, match="ordinary kernels.*plan9"):
        km, kc = kernels("warm")
    assert provider(km) == "ordinary" and isinstance(km.provisioner.process, subprocess.Popen)
    assert psutil.Process(km.provisioner.pid).ppid() == os.getpid()
    assert run(kc, "print(6 * 7)")[0].strip() == "42"


def test_falls_back_when_the_zygote_fails_and_does_not_retry(kernels, own_registry, monkeypatch):
    monkeypatch.setattr(client, "BOOT", "import sys; sys.exit(7)")
    with pytest.warns(RuntimeWarning, match="zygote failed to start"):
        km, kc = kernels("warm")
    assert provider(km) == "ordinary"
    assert "failed to start" in km.provisioner.fallback_reason
    assert run(kc, "print(6 * 7)")[0].strip() == "42"
    started = time.monotonic()
    km2, _ = kernels("warm")            # the failure is remembered: no second attempt, no second warning
    assert provider(km2) == "ordinary" and time.monotonic() - started < 60


def test_a_folder_that_shadows_a_preloaded_module_gets_an_ordinary_kernel(kernels, tmp_path):
    (tmp_path / "torch.py").write_text("SHADOW = True\n")
    with pytest.warns(RuntimeWarning, match="torch"):
        km, kc = kernels("warm", cwd=tmp_path)
    assert provider(km) == "ordinary"
    assert run(kc, "import torch; print(torch.SHADOW)")[0].strip() == "True"


PROBE_HYPOTHESIS = r'''
import json, os, sys
import hypothesis.configuration as conf
from hypothesis.internal.conjecture import providers
consts = providers._get_local_constants()
print(json.dumps({"storage": str(conf.storage_directory("constants").path), "cwd": os.getcwd(),
                  "constants": sorted(repr(c) for c in consts), "modules": "hypothesis.core" in sys.modules}))
'''


def test_a_grading_zygote_preloads_hypothesis_as_a_fresh_process_imports_it(tmp_path):
    """What the grading zygote preloads for the judge (coursekit.warm.sandboxed.JUDGE_PRELOAD): Hypothesis,
    whose storage folder is the current folder when it is imported. A process forked from it stores in
    its own folder and sees the same local constants as a fresh one started there."""
    from coursekit.warm import sandboxed
    script = tmp_path / "probe_hypothesis.py"
    script.write_text(PROBE_HYPOTHESIS)
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COV_", "COVERAGE"))}
    fresh = subprocess.run([sys.executable, "-I", str(script)], cwd=work, env=env, capture_output=True, text=True,
                           timeout=120)
    assert fresh.returncode == 0, fresh.stderr
    zygote = client.Zygote(sys.executable, env, sandboxed.JUDGE_PRELOAD, flags=("-I",),
                           options={"watch_parent": False, "warm_caches": True, "freeze": True})
    try:
        assert "hypothesis" in zygote.hello["loaded"], zygote.hello
        r, w = os.pipe()
        with open(os.devnull, "rb") as null:
            kernel = zygote.fork([sys.executable, "-I", str(script)], env, str(work), [null.fileno(), w, w],
                                 extra={"script": str(script)})
        os.close(w)
        with os.fdopen(r) as out:
            text = out.read()
        assert kernel.wait(60) == 0, text
    finally:
        zygote.close()
    warm, cold = json.loads(text.strip().splitlines()[-1]), json.loads(fresh.stdout.strip().splitlines()[-1])
    assert warm["storage"] == cold["storage"] == str(work / ".hypothesis" / "constants")
    assert warm["constants"] == cold["constants"] and warm["cwd"] == cold["cwd"]
