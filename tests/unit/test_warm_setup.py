"""Warm kernels' wiring, without starting a kernel: the kernelspec, the provisioner's entry point, which
launches it forks and which it leaves to an ordinary start, and how the test suite turns it on."""
from __future__ import annotations

import json
import os
import sys

import pytest

import coursekit.warm as warm
from coursekit.warm import client
from coursekit.warm.provisioner import WarmProvisioner, shadowed


def test_kernelspec_is_ipykernels_own_with_the_provisioner(tmp_path):
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.provisioning import KernelProvisionerFactory

    folder = warm.ensure_kernelspec(tmp_path)
    assert folder == tmp_path / "share" / "jupyter" / "kernels" / warm.KERNEL_NAME
    assert warm.ensure_kernelspec(tmp_path) == folder           # idempotent
    spec = KernelSpecManager(kernel_dirs=[str(folder.parent)]).get_kernel_spec(warm.KERNEL_NAME)
    assert spec.argv == [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    assert spec.metadata["kernel_provisioner"]["provisioner_name"] == warm.PROVISIONER_NAME
    assert KernelProvisionerFactory.instance().is_provisioner_available(spec)
    assert (folder / "logo-64x64.png").exists()
    json.loads((folder / "kernel.json").read_text())


def test_enable_sets_the_default_provisioner_unless_turned_off(monkeypatch):
    monkeypatch.setattr(client, "supported", lambda: None)
    env = {}
    assert warm.enable(env) and env[warm.DEFAULT_PROVISIONER_ENV] == warm.PROVISIONER_NAME
    off = {"COURSEKIT_WARM": "0"}
    assert not warm.enable(off) and off == {"COURSEKIT_WARM": "0"}, off          # turned off: nothing set
    monkeypatch.setattr(client, "supported", lambda: "not Linux")
    unsupported = {}
    assert not warm.enable(unsupported) and unsupported == {}, unsupported      # cannot fork: nothing set


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="kernels are forked on Linux only")
def test_the_test_suite_runs_with_warm_kernels_by_default(pytestconfig):
    """The pytest plugin (entry point pytest11) set the default provisioner for this run."""
    if os.environ.get("COURSEKIT_WARM") == "0" or not pytestconfig.pluginmanager.has_plugin("coursekit_warm"):
        pytest.skip("COURSEKIT_WARM=0, or plugins are not loaded automatically")
    assert os.environ.get(warm.DEFAULT_PROVISIONER_ENV) == warm.PROVISIONER_NAME


STD = [sys.executable, "-m", "ipykernel_launcher", "-f", "/tmp/k.json"]


@pytest.mark.parametrize("cmd, kwargs, forks, why", [
    (STD, {}, True, None),
    (STD + ["--HistoryManager.hist_file=:memory:"], {}, True, None),
    ([sys.executable, "-I", "kernel_start.py", "-f", "/tmp/k.json"], {}, False, None),   # the grader's
    (["bwrap", "--unshare-all", "--", *STD], {}, False, None),
    (STD, {"independent": True}, False, "independent"),
    (STD, {"preexec_fn": print}, False, "preexec_fn"),
    (STD, {"env": {"COURSEKIT_WARM": "0"}}, True, None),          # only the client's own variable counts
])
def test_which_launches_fork(cmd, kwargs, forks, why, tmp_path, monkeypatch):
    monkeypatch.setattr(client, "supported", lambda: None)
    monkeypatch.delenv("COURSEKIT_WARM", raising=False)
    plan, reason = WarmProvisioner()._plan(cmd, {"cwd": str(tmp_path), **kwargs})
    assert (plan is not None) == forks
    if why:
        assert why in reason
    if plan:
        assert plan["cwd"] == str(tmp_path) and plan["env"]["JPY_PARENT_PID"] == str(os.getpid())
        assert plan["cmd"] == cmd


def test_turned_off_or_unsupported_means_ordinary(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSEKIT_WARM", "0")
    assert WarmProvisioner()._plan(STD, {"cwd": str(tmp_path)}) == (None, "COURSEKIT_WARM=0")
    monkeypatch.delenv("COURSEKIT_WARM")
    monkeypatch.setattr(client, "supported", lambda: "not Linux")
    assert WarmProvisioner()._plan(STD, {"cwd": str(tmp_path)}) == (None, "not Linux")


def test_a_folder_with_its_own_copy_of_a_preloaded_module_is_noticed(tmp_path):
    assert shadowed(str(tmp_path), client.DEFAULT_PRELOAD) is None
    (tmp_path / "numpy").mkdir()            # a folder without __init__.py: a namespace, numpy still wins
    assert shadowed(str(tmp_path), client.DEFAULT_PRELOAD) is None
    (tmp_path / "utils").mkdir()
    (tmp_path / "utils" / "__init__.py").write_text("")
    assert shadowed(str(tmp_path), client.DEFAULT_PRELOAD) == "utils"


def test_per_kernel_variables_do_not_need_another_zygote():
    a = {"PATH": "/bin", "JPY_PARENT_PID": "1", "JPY_SESSION_NAME": "a", "PYTEST_CURRENT_TEST": "x"}
    b = {"PATH": "/bin", "JPY_PARENT_PID": "2", "JPY_SESSION_NAME": "b"}
    assert client.fingerprint(a) == client.fingerprint(b)
    assert client.fingerprint(a) != client.fingerprint({**a, "OMP_NUM_THREADS": "1"})
