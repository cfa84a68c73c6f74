"""coursekit/wire.py: every message that crosses a process boundary is checked against its one table."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from coursekit import wire
from coursekit.judge import wire as judge_wire

ROOT = Path(__file__).resolve().parents[2]

JOB = dict(topic="01_tensors", notebooks=["01_tensors"], course_id="course", ignore=None, nbgrader_config={},
           kernel_argv=["python", "-I", "kernel_start.py"], extension_seconds=None, modules={})


def test_a_message_is_made_and_read_back_with_its_kind_and_version():
    msg = wire.make("job", **JOB)
    assert msg["kind"] == "job" and msg["v"] == wire.MESSAGES["job"][0]
    assert "ignore" not in msg                          # absent optional fields are left out
    assert wire.read("job", json.loads(json.dumps(msg))) == msg


@pytest.mark.parametrize("change, words", [
    (lambda m: m.update(v=m["v"] + 1), "version"),
    (lambda m: m.update(kind="result"), "expected a 'job' message"),
    (lambda m: m.pop("topic"), "missing field 'topic'"),
    (lambda m: m.update(surprise=1), "unexpected fields ['surprise']"),
    (lambda m: m.update(kernel_argv="python"), "field 'kernel_argv' must be list of str"),
    (lambda m: m.update(kernel_argv=["python", 3]), "field 'kernel_argv' must be list of str"),
    (lambda m: m.update(extension_seconds=True), "field 'extension_seconds'"),
    (lambda m: m.update(modules={"late.py": b"x"}), "field 'modules' must be map of str"),
])
def test_a_message_that_breaks_its_table_says_what_in_one_line(change, words):
    msg = wire.make("job", **JOB)
    change(msg)
    with pytest.raises(wire.MessageError) as err:
        wire.read("job", msg)
    assert words in str(err.value) and "\n" not in str(err.value)


def test_the_sender_cannot_make_a_malformed_message():
    with pytest.raises(wire.MessageError, match="missing field 'status'"):
        wire.make("result", notebooks={}, log=[])
    with pytest.raises(wire.MessageError, match="unknown message kind"):
        wire.make("jobb", **JOB)


def test_control_lines_carry_only_well_formed_job_names():
    assert wire.control_line("go") == b"go\n"
    assert wire.parse_control(wire.control_line("grade", "j12"), "grade") == "j12"
    assert wire.parse_control(b"done j12\n", "grade") is None          # another op
    for bad in (b"done ../x\n", b"done a b\n", b"done \n", "done " + "x" * 65):
        assert wire.parse_control(bad, "done") is None
    for op, name in (("grade", "../x"), ("grade", None), ("go", "j1"), ("stop", "j1")):
        with pytest.raises(wire.MessageError):
            wire.control_line(op, name)


def test_the_judge_protocol_takes_its_tables_from_the_one_module():
    assert judge_wire.REQUESTS is wire.JUDGE_REQUESTS and judge_wire.VERSION == wire.JUDGE_VERSION
    with pytest.raises(judge_wire.ProtocolError, match="version"):
        judge_wire.validate({"v": wire.JUDGE_VERSION + 1, "op": "pull", "id": 1})


def test_the_judge_package_loads_the_tables_by_path_where_coursekit_is_not_importable(tmp_path):
    """As in the kernels' sandboxes: coursekit/judge bound as coursekit_judge, coursekit/wire.py beside it."""
    import shutil
    shutil.copytree(ROOT / "coursekit" / "judge", tmp_path / "coursekit_judge",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "coursekit" / "wire.py", tmp_path / "coursekit_wire.py")
    code = ("import sys; sys.modules['coursekit'] = None;"      # (not importable, as in the sandbox)
            "import importlib.util as u, os;"
            f"d = {str(tmp_path / 'coursekit_judge')!r};"
            "s = u.spec_from_file_location('coursekit_judge', os.path.join(d, '__init__.py'), "
            "submodule_search_locations=[d]); m = u.module_from_spec(s); sys.modules['coursekit_judge'] = m;"
            "s.loader.exec_module(m); from coursekit_judge import wire;"
            "print(wire.VERSION, sorted(wire.REQUESTS)[:2], sys.modules['coursekit_wire'].__file__)")
    out = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[0] == str(wire.JUDGE_VERSION)
    assert out.stdout.strip().endswith(str(tmp_path / "coursekit_wire.py"))


def test_a_result_of_another_version_fails_that_submission_with_the_reason(tmp_path):
    from types import SimpleNamespace

    from coursekit.grading import worker
    from coursekit.grading.model import Job, JobResult
    jdir = tmp_path / "j1"
    (jdir / "out").mkdir(parents=True)
    old = {"version": 1, "status": "graded", "notebooks": {}, "log": [], "failure": None}
    (jdir / "out" / "result.json").write_text(json.dumps(old))
    ctx = SimpleNamespace(grading=SimpleNamespace(max_notebook_mb=1, submission_timeout=60),
                          isolation=SimpleNamespace(limiter=SimpleNamespace(kind="cgroup")))
    result = worker.collect(ctx, Job("stu", tmp_path, "", "d", {}), JobResult("stu", "d"), jdir)
    assert result.status != "graded"
    assert "expected a 'result' message" in result.reason and "\n" not in result.reason
