"""The judge's package and the message tables reach both grading kernels compiled (coursekit/grading/bytecode.py)."""
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from coursekit.grading import bytecode, worker
from coursekit.sandbox import bwrap

LOAD = """
import importlib.util, os, sys
folder = %r
spec = importlib.util.spec_from_file_location("coursekit_judge", os.path.join(folder, "__init__.py"),
                                              submodule_search_locations=[folder])
module = importlib.util.module_from_spec(spec)
sys.modules["coursekit_judge"] = module
spec.loader.exec_module(module)
import coursekit_judge.namespace, coursekit_judge.student_side
print("wire from", sys.modules["coursekit_wire"].__file__)
""" % worker.JUDGE_DIR


def _sandbox_args(mounts: list[str], grade: Path) -> list[str]:
    """A kernel's mounts, as bwrap makes them in the slot's sandbox, made here: the slot's view of the
    kit (KIT_DIR/coursekit) is this checkout's coursekit, its /grade a folder of the test's."""
    (grade / "mpl").mkdir()
    (grade / "etc").mkdir()
    for path in ("etc/passwd", "etc/group"):
        (grade / path).write_text("")
    views = {bwrap.KIT_DIR + "/coursekit": str(bytecode.KIT), "/grade": str(grade)}
    out = []
    for arg in mounts:
        for view, here in views.items():
            if arg == view or arg.startswith(view + "/"):
                arg = here + arg[len(view):]
        out.append(arg)
    return out


@pytest.mark.skipif(not shutil.which("bwrap"), reason="needs bubblewrap")
def test_a_kernel_loads_the_judge_and_the_message_tables_from_bytecode_compiled_on_the_host(tmp_path):
    assert bytecode.compiled_wire() is not None
    ctx = SimpleNamespace(grading=SimpleNamespace(judge=True), sandbox=SimpleNamespace(tmp_limit_mb=64))
    m = worker._kernel_mounts(ctx)
    # (-B and PYTHONDONTWRITEBYTECODE: nothing is written; -v says where each module's code came from)
    cmd = ["bwrap", "--unshare-all", "--die-with-parent", *_sandbox_args(m.args, tmp_path), "--chdir", "/tmp",
           "--setenv", "PYTHONDONTWRITEBYTECODE", "1", "--", sys.executable, "-I", "-B", "-v", "-c", LOAD]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert f"wire from {worker.WIRE_FILE}" in out.stdout, out.stderr[-2000:]
    loaded = [line.split("'")[1] for line in out.stderr.splitlines() if line.startswith("# code object from")]
    ours = [p for p in loaded if p.startswith(bwrap.KIT_DIR + "/")]
    assert f"{worker.JUDGE_DIR}/namespace.py" not in ours          # not compiled from source
    assert f"{worker.JUDGE_DIR}/__pycache__/namespace.cpython-{sys.version_info[0]}{sys.version_info[1]}.pyc" in ours
    assert worker.cache_from_source(worker.WIRE_FILE) in ours
    assert all(p.endswith(".pyc") for p in ours), ours
