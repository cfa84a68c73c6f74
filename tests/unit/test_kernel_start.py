"""Both grading kernels keep a cell's exception for %notebook the same way, from one definition
(coursekit/kernel/start.py; the judge's start loads it by path, as its sandbox binds it)."""
import shutil
import subprocess
import sys
from pathlib import Path

KIT = Path(__file__).resolve().parents[2] / "coursekit"
PROBE = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("judge_start", sys.argv[1])
judge_start = importlib.util.module_from_spec(spec)
spec.loader.exec_module(judge_start)
start = judge_start.kernel_start()

class Unprintable(Exception):
    def __str__(self):
        raise RuntimeError("no")

print(start.__file__)
print(start.stored_exception(ValueError("bad value"), None))
print(start.stored_exception(Unprintable()))
"""


def _probe(judge_start: Path) -> list[str]:
    out = subprocess.run([sys.executable, "-I", "-c", PROBE, str(judge_start)], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.splitlines()


def test_the_judges_kernel_keeps_exceptions_as_the_students_in_the_source_tree_and_in_its_sandbox(tmp_path):
    here = _probe(KIT / "judge" / "judge_start.py")
    # the sandbox's layout: both start files side by side (worker.judge_argv binds them so)
    shutil.copyfile(KIT / "judge" / "judge_start.py", tmp_path / "judge_start.py")
    shutil.copyfile(KIT / "kernel" / "start.py", tmp_path / "kernel_start.py")
    sandbox = _probe(tmp_path / "judge_start.py")
    assert here[0] == str(KIT / "kernel" / "start.py") and sandbox[0] == str(tmp_path / "kernel_start.py")
    for lines in (here, sandbox):
        assert lines[1] == "{'ename': 'ValueError', 'evalue': 'bad value', 'traceback': []}"
        assert lines[2] == "{'ename': 'Unprintable', 'evalue': '<unprintable>', 'traceback': []}"
