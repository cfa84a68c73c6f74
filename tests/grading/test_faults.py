"""Whatever students submit: one batch of honest, broken, cheating and hostile submissions of the real
topic 01_tensors, graded once by the kit with its default isolation and the judge (module-scoped fixture),
checked by many tests. Every defence the README claims has an attack here that fails without it.

Each submission has an expected score, status and flag: honest students keep their exact scores;
every cheat scores exactly what its answers deserve (the wrong answers it hides fail), and the same
cheats graded without the judge (``unjudged``: plain nbgrader's way) each get more, one class of
attack after another; broken submissions get 0 with a reason naming what stopped them; nothing outside a
submission changes. The table (student, score, status, reason, flags) is printed (-s) for the report.
"""
from __future__ import annotations

import copy
import hashlib
import html
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import mistune
import nbformat
import pytest

from coursekit import notebook, synth
from coursekit.grading.pipeline import Options, grade
from coursekit.paths import ROOT, tool_env

sys.path.insert(0, str(Path(__file__).parent))
from test_judge import LIAR  # noqa: E402  (a tensor that claims any shape and dtype and equals anything)

TOPIC = "01_tensors"
NB = f"{TOPIC}.ipynb"
SOURCE = ROOT / "solutions" / TOPIC / NB
CELL_TIMEOUT = 15          # per-cell limit in the test course (s)
SUBMISSION_TIMEOUT = 45    # per-submission limit (s); too_slow_overall sleeps 12 s in each of 01's 6 exercises
MEMORY_MB = 1536           # the test course's memory limit (the solution peaks below 800 MiB)

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:Non-unique cell id"),
              pytest.mark.skipif(not SOURCE.exists(), reason=f"{SOURCE} not written yet")]
IS_LINUX = sys.platform.startswith("linux")


def _hidden_line() -> str:
    """A line only exercise 1's hidden tests hold (what a reader of the hidden tests would show)."""
    cell = next(c for c in notebook.read(SOURCE).cells if notebook.grade_id(c) == notebook.exercises(SOURCE)[0].tests[0])
    return next(line.strip() for region in notebook.marked_regions(cell.source, notebook.BEGIN_HIDDEN_TESTS,
                                                                    notebook.END_HIDDEN_TESTS)
                for line in region if len(line.strip()) > 25 and not line.strip().startswith("#"))


class AtMost:
    """An expected score that may be lower: at most ``limit``."""

    def __init__(self, limit: float):
        self.limit = limit


def _tree_hash(path: Path) -> dict[str, str]:
    out = {}
    for p in sorted(Path(path).rglob("*")):
        if p.is_file() and not p.is_symlink():
            out[str(p.relative_to(path))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _stub(ex) -> str:
    """The exercise's function with the right name and arguments, returning None (a wrong answer)."""
    m = re.search(r"^def (\w+)\((.*?)\):", ex.answer, re.M)
    assert m, f"{ex.grade_id}: the fault suite expects the exercise to define a function"
    return f"def {m[1]}({m[2]}):\n    return None"


class _Server:
    """A TCP server on the host's loopback: no student kernel may reach it."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
                self.connections += 1
                conn.close()
            except OSError:
                continue

    def close(self):
        self.stop = True
        self.thread.join(2)
        self.sock.close()


PROBE = '''
import json as _json, os as _os, socket as _socket
_r = {{}}
def _try(name, fn):
    try:
        _r[name] = fn()
    except BaseException as e:
        _r[name] = type(e).__name__
def _write(p):
    with open(p, "a") as f:
        f.write("pwned")
    return "ok"
for _k, _p in {paths!r}.items():
    _try("write_" + _k, lambda _p=_p: _write(_p))
    _try("read_" + _k, lambda _p=_p: open(_p, "rb").read(1) and "ok")
_try("write_own_folder", lambda: _write("probe.txt"))
_try("connect_loopback", lambda: _socket.create_connection(("127.0.0.1", {port}), timeout=3).close() or "ok")
_try("allocate_64GiB", lambda: bytearray(64 * 2**30) and "ok")
_try("fill_tmp_600MB", lambda: open("/tmp/fill", "wb").write(b"x" * (600 << 20)) and "ok")
_try("file_300MB", lambda: open("big.bin", "wb").write(b"x" * (300 << 20)) and "ok")
_try("remove_big", lambda: _os.remove("big.bin") or "ok")
_try("shm_marker", lambda: open("/dev/shm/marker-from-intruder", "w").write("x") and "ok")
_try("tmp_marker", lambda: open("/tmp/marker-from-intruder", "w").write("x") and "ok")
_r["processes_visible"] = sorted(int(p) for p in _os.listdir("/proc") if p.isdigit())
_r["cmdlines"] = " ".join(open(f"/proc/{{p}}/cmdline", "rb").read().decode(errors="replace")
                          for p in _os.listdir("/proc") if p.isdigit())
_r["secret_env"] = _os.environ.get("GRADING_TEST_SECRET", "absent")
_r["uid"] = _os.getuid()
_sp = [p if p not in ("", ".") else _os.getcwd() for p in __import__("sys").path]
_r["cwd_shadows_library"] = _os.getcwd() in _sp and _sp.index(_os.getcwd()) != len(_sp) - 1
_try("symlink_secret", lambda: _os.symlink({secret!r}, "leak.txt") or "ok")
_try("symlink_etc", lambda: _os.symlink("/etc/passwd", "passwd.txt") or "ok")
print("PROBE " + _json.dumps(_r))
'''

SEES_MARKERS = '''
import os as _os
print("MARKERS", _os.path.exists("/tmp/marker-from-intruder"), _os.path.exists("/dev/shm/marker-from-intruder"),
      len(_os.listdir("/tmp")))
'''

LURKER = '''
import os as _os, time as _time, signal as _signal
_kernel = _os.getpid()
if _os.fork() == 0:                       # a daemon that keeps changing its pid and attacks what it sees
    _os.setsid()
    for _i in range(100000):
        if _os.fork():
            _os._exit(0)
        for _p in _os.listdir("/proc"):
            if _p.isdigit() and int(_p) not in (1, _kernel, _os.getpid()):
                try:
                    _os.kill(int(_p), _signal.SIGKILL)
                except OSError:
                    pass
        try:
            open("/tmp/lurker", "w").write(str(_i))
        except OSError:
            pass
        _time.sleep(0.05)
import subprocess as _sp
_procs = []
try:
    for _i in range(40):
        _procs.append(_sp.Popen(["sleep", "300"]))
except OSError:
    pass
'''



def _zeros(ex, value: str = "") -> str:
    """The exercise's function returning zeros shaped like its first argument (or ``value``): answered, and wrong."""
    m = re.search(r"^def (\w+)\(((\w+).*?)\):", ex.answer, re.M)
    assert m, f"{ex.grade_id}: the fault suite expects the exercise to define a function"
    value = value or f"torch.zeros_like(torch.as_tensor({m[3]}), dtype=torch.float32)"
    return f"def {m[1]}({m[2]}):\n    return {value}"


NOOP_CHECKS = "(lambda *a, **k: None)"
FAKE_CHECKS = ("import types as _t, utils.checks as _real\n"
               "_fake = _t.ModuleType('utils.checks')\n_fake.__dict__.update(vars(_real))\n"
               "for _n in dir(_real):\n"
               "    if _n.startswith('check_'):\n"
               f"        setattr(_fake, _n, {NOOP_CHECKS})\n")


def _cheats(exs, right: dict, total: float) -> dict[str, tuple]:
    """Every class of attack on the verdicts: student -> (answers, deserved score, class, extra files).

    Each answers the first three exercises with zeros (wrong; ``w3`` is what the rest deserve) or not at all,
    and attacks the test cells that judge them. Without the judge (plain nbgrader's way, test cells in the
    student's kernel) each gets more than it deserves (the reader: shows the hidden tests); with the judge
    each gets exactly what it deserves. The answers' order: a prefix runs first in exercise 1's cell."""
    e1, e2, e3 = exs[0], exs[1], exs[2]
    zeros = {e.grade_id: _zeros(e) for e in (e1, e2, e3)}
    w3 = total - e1.points - e2.points - e3.points

    def prefixed(prefix: str, answers=None):
        a = {**right, **zeros, **(answers or {})}
        a[e1.grade_id] = prefix + "\n" + a[e1.grade_id]
        return a

    zero_all = {e.grade_id: None for e in exs[1:]}
    out = {
        # -- state patched in a module the checks use --------------------------------------------------
        "cheat_checks_helpers": (prefixed("import utils.checks as _c\nfor _n in dir(_c):\n    if _n.startswith('check_'):\n"
                                          f"        setattr(_c, _n, {NOOP_CHECKS})"), w3, "patched state"),
        "cheat_checks_code": (prefixed("import utils.checks as _c\nfor _n in dir(_c):\n    if _n.startswith('check_'):\n"
                                       f"        getattr(_c, _n).__code__ = {NOOP_CHECKS}.__code__"), w3, "patched state"),
        "cheat_builtins": (prefixed(FAKE_CHECKS + "import builtins as _b\n_imp = _b.__import__\n"
                                    "def _hook(name, *a, **k):\n"
                                    "    return _fake if name == 'utils.checks' else _imp(name, *a, **k)\n"
                                    "_b.__import__ = _hook"), w3, "patched state"),
        "cheat_numpy_torch": (prefixed("import numpy, numpy._core.numeric as _num, torch\n"
                                       "_num.isclose = lambda a, b, *x, **k: numpy.ones(numpy.broadcast(numpy.asarray(a), "
                                       "numpy.asarray(b)).shape, bool)\n"
                                       "numpy.isclose = _num.isclose\nnumpy.allclose = lambda *a, **k: True\n"
                                       "torch.allclose = lambda *a, **k: True\ntorch.equal = lambda *a, **k: True"),
                              w3, "patched state"),
        "cheat_sys_modules": (prefixed(FAKE_CHECKS + "import sys\nsys.modules['utils.checks'] = _fake"), w3,
                              "patched state"),
        "cheat_written_utils": (prefixed("import os, sys\nos.makedirs('utils', exist_ok=True)\n"
                                         "open('utils/__init__.py', 'w').close()\n"
                                         "open('utils/checks.py', 'w').write('def __getattr__(n):\\n    return lambda *a, **k: None\\n')\n"
                                         "sys.path.insert(0, os.getcwd())\n"
                                         "for _m in [m for m in sys.modules if m == 'utils' or m.startswith('utils.')]:\n"
                                         "    del sys.modules[_m]"), w3, "patched state"),
        # -- IPython's input transformers and exception handlers -----------------------------------------
        "cheat_transformer": (prefixed("get_ipython().input_transformers_post.append(lambda lines: ['pass\\n'])",
                                       {**zero_all, e1.grade_id: right[e1.grade_id]}), e1.points, "input transformers"),
        "cheat_ast": (prefixed("import ast\nclass _Drop(ast.NodeTransformer):\n    def visit_Expr(self, node):\n"
                               "        return ast.Pass()\nget_ipython().ast_transformers.append(_Drop())"), w3,
                      "input transformers"),
        # (ipykernel 7 reports an exception itself when no traceback was shown: these fail without the judge too)
        "cheat_custom_exc": (prefixed("get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)"), w3, None),
        "cheat_showtraceback": (prefixed("get_ipython().showtraceback = lambda *a, **k: None\n"
                                         "get_ipython()._showtraceback = lambda *a, **k: None"), w3, None),
        # -- values that lie ------------------------------------------------------------------------------
        # (utils.checks refuses a value that is not plain data in both places, so this fails without the judge
        # too; what the judge adds is that no patch of that refusal in the student's kernel reaches the verdict)
        "cheat_liar": (prefixed(LIAR, {e.grade_id: _zeros(e, "torch.empty(0).as_subclass(_Liar)")
                                       for e in (e1, e2, e3)}), w3, None),
        # -- reading or printing the hidden tests ---------------------------------------------------------
        "cheat_reader": ({**right, exs[-1].grade_id: right[exs[-1].grade_id] + "\nprint('LEAK', '\\n'.join(In))\n"},
                         total, "reading the hidden tests"),
        # -- forging the outputs of graded cells ----------------------------------------------------------
        "cheat_forged_outputs": (prefixed("_shell = get_ipython()\n"
                                          "for _s in {id(s): s for s in (_shell.kernel.session, _shell.displayhook.session,\n"
                                          "                              _shell.display_pub.session)}.values():\n"
                                          "    def _send(stream, msg, content=None, *a, _orig=_s.send, **k):\n"
                                          "        kind = msg if isinstance(msg, str) else msg.get('header', {}).get('msg_type')\n"
                                          "        if kind == 'error':\n"
                                          "            return None\n"
                                          "        if kind == 'execute_reply' and (content or {}).get('status') == 'error':\n"
                                          "            content = {'status': 'ok', 'execution_count': content.get('execution_count'),\n"
                                          "                       'user_expressions': {}, 'payload': []}\n"
                                          "        return _orig(stream, msg, content, *a, **k)\n"
                                          "    _s.send = _send"), w3, "forged outputs"),
        # -- threads, tracing, ctypes ------------------------------------------------------------------------
        "cheat_thread": (prefixed("import threading, time, utils.checks as _c\ndef _loop():\n    while True:\n"
                                  "        for _n in dir(_c):\n            if _n.startswith('check_'):\n"
                                  f"                setattr(_c, _n, {NOOP_CHECKS})\n        time.sleep(0.001)\n"
                                  "threading.Thread(target=_loop, daemon=True).start()"), w3, "threads, tracing, ctypes"),
        "cheat_settrace": (prefixed("import sys\n_noop, _ns = (lambda *a, **k: None), globals()\n"
                                    "def _local(frame, event, arg):\n"
                                    "    for _n in [n for n in _ns if n.startswith('check_')]:\n"
                                    "        _ns[_n] = _noop\n    return _local\n"
                                    "def _global(frame, event, arg):\n"
                                    "    return _local if frame.f_globals is _ns else None\n"
                                    "sys.settrace(_global)"), w3, "threads, tracing, ctypes"),
        "cheat_ctypes": (prefixed("import ctypes, utils.checks as _c\n"
                                  "_d = ctypes.cast(id(vars(_c)), ctypes.py_object).value\n"
                                  "for _n in [n for n in _d if n.startswith('check_')]:\n"
                                  f"    _d[_n] = {NOOP_CHECKS}"), w3, "threads, tracing, ctypes"),
    }
    return {k: (answers, score, kind, {}) for k, (answers, score, kind) in out.items()}


def _config(judge: bool) -> str:
    return (f"c.ExecutePreprocessor.timeout = {CELL_TIMEOUT}\n"
            f"c.KitGrading.submission_timeout = {SUBMISSION_TIMEOUT}\n"
            f"c.KitSandbox.memory_limit_mb = {MEMORY_MB}\n"
            f"c.KitGrading.judge = {judge}\n")


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    base = tmp_path_factory.mktemp("faults")
    course = synth.make_course(base / "course", TOPIC, config_extra=_config(judge=True))
    student_nb = course / "notebooks" / TOPIC / NB
    exs = notebook.exercises(SOURCE)
    assert len(exs) >= 3, "the fault suite needs at least three exercises"
    total = notebook.total_points(SOURCE)
    right = synth.correct_answers(SOURCE)
    e1, e2, e3 = exs[0], exs[1], exs[2]
    three_wrong = {e.grade_id: _stub(e) for e in (e1, e2, e3)}
    w3 = total - e1.points - e2.points - e3.points       # the score of three wrong answers

    def sub(answers=None):
        return synth.make_submission(student_nb, {**right, **(answers or {})})

    def prefixed(prefix: str, answers=None, ex=None):
        """Right answers (or ``answers``), with ``prefix`` run first in the first exercise's cell."""
        a = {**right, **(answers or {})}
        ex = ex or e1
        a[ex.grade_id] = prefix + "\n" + a[ex.grade_id]
        return synth.make_submission(student_nb, a)

    expected: dict[str, tuple] = {}   # student -> (score, status, flagged, text in reason/flags/notes)
    files: dict[str, dict] = {}

    def add(student, content, score, status="graded", flagged=False, text=None, extra=None):
        files[student] = {NB: content, **(extra or {})}
        expected[student] = (score, status, flagged, text)

    # -- honest students keep their exact scores ------------------------------------------------
    add("good_full", sub(), total)
    add("good_blank", synth.make_submission(student_nb, {}), 0.0)
    add("good_one_wrong", sub({e2.grade_id: _stub(e2)}), total - e2.points)
    warns = {ex.grade_id: ex.answer.replace(":\n", ":\n    import sys, warnings\n    warnings.warn('careful', "
             "UserWarning)\n    print('debug', file=sys.stderr)\n", 1) for ex in exs}
    add("good_warns", sub(warns), total)      # (what student code writes to stderr stays in its kernel)

    # -- cheats: with the judge each scores exactly what its answers deserve (test_cheats_succeed_without_the_judge:
    # each gets more in plain nbgrader's way); the static look may flag them for a human, which is not required
    for student, (answers, deserved, _, extra) in _cheats(exs, right, total).items():
        add(student, synth.make_submission(student_nb, answers), deserved, flagged=None, extra=extra)
    # a student's own utils/ in place of the library breaks their own kernel's instruments too (exercise 6 passes
    # a simulated-GPU tensor, rebuilt there from utils.checks.instruments): at most what the answers deserve
    expected["cheat_written_utils"] = (AtMost(w3), "graded", None, None)
    # a student's utils/ beside the notebook, put first on sys.path: the library is imported already
    local_utils = {"utils/__init__.py": "", "utils/checks.py": "def __getattr__(name):\n    return lambda *a, **k: None\n"}
    add("cheat_local_utils", prefixed("import sys\nsys.path.insert(0, '.')\nsys.path.insert(0, '')", three_wrong),
        w3, extra=local_utils)
    # rebinding the names the tests use: the judge binds the instructor's imports itself; the student's own later
    # answers break in their kernel (torch is gone there), so at most what the first three deserve
    add("cheat_shadow_names", prefixed("import types\ntorch = types.SimpleNamespace(tensor=lambda *a, **k: 0)\n"
                                       "np = types.SimpleNamespace(array=lambda *a, **k: 0)", three_wrong),
        AtMost(w3), flagged=None)
    # processes left running that kill what they see: they end with the kernel's sandbox (its pid namespace)
    add("cheat_lurker", prefixed(LURKER), total, flagged=None)
    add("fork_bomb", prefixed("import os, time\nfor _i in range(5000):\n    try:\n        if os.fork() == 0:\n"
                              "            time.sleep(300)\n            os._exit(0)\n    except OSError:\n        break"),
        None, None, True, text="process")   # stopped by the process limit (KitSandbox.max_processes)

    nb = sub({e2.grade_id: _stub(e2)})
    notebook_cell = next(c for c in nb.cells if notebook.grade_id(c) == e2.tests[0])
    notebook_cell.source = "pass  # always passes"
    add("edited_test_cell", nb, total - e2.points, flagged=True, text=f"locked cell {e2.tests[0]} was edited")
    nb = sub({e2.grade_id: _stub(e2)})      # an answer cell made a graded cell, a test cell made an ungraded one
    for c in nb.cells:
        if notebook.grade_id(c) == e1.grade_id:
            c.metadata["nbgrader"].update(grade=True, points=5)
        if notebook.grade_id(c) == e2.tests[0]:
            c.metadata["nbgrader"]["grade"] = False
    add("edited_cell_kinds", nb, total - e2.points, flagged=True, text=f"cell {e1.grade_id}'s kind was edited")
    nb = sub()
    nb.cells = [c for c in nb.cells if notebook.grade_id(c) != e1.tests[0]]
    add("deleted_test_cell", nb, total, text=f"locked cell {e1.tests[0]} was deleted")
    nb = sub({e3.grade_id: _stub(e3)})
    c = next(c for c in nb.cells if notebook.grade_id(c) == e3.tests[0])
    md = nbformat.v4.new_markdown_cell(c.source)
    md.metadata = copy.deepcopy(c.metadata)
    nb.cells[nb.cells.index(c)] = md
    add("test_cell_to_markdown", nb, total - e3.points, flagged=True, text="was turned into markdown")
    nb = sub()
    sol = next(c for c in nb.cells if notebook.grade_id(c) == e1.grade_id)
    nb.cells.insert(nb.cells.index(sol) + 1, copy.deepcopy(sol))
    add("duplicate_grade_id", nb, total, text=f"cell {e1.grade_id} appears 2 times")

    # -- broken submissions: 0 and a reason naming what stopped them --------------------------
    add("invalid_json", '{"cells": [', 0.0, "failed", text="not valid JSON")
    add("empty_file", "", 0.0, "failed", text="empty file")
    nb = sub()      # JSON that nbformat's schema refuses (checked once per pass: still refused)
    nb.cells[3].metadata["tags"] = "not-a-list"
    add("invalid_notebook", nb, 0.0, "failed", text="'not-a-list' is not of type 'array'")
    files["missing_notebook"] = {"README.txt": "I forgot to attach it"}
    expected["missing_notebook"] = (0.0, "failed", False, f"missing notebook {NB}")
    add("extra_notebook", sub(), total, text="extra notebook ignored: scratch.ipynb",
        extra={"scratch.ipynb": synth.make_submission(student_nb, {})})
    add("infinite_loop", prefixed("while True:\n    pass"), total - e1.points, text="CellTimeoutError")
    # the same in the student's function, run when a (judged) test cell calls it: the student's kernel is
    # interrupted too, and only that test cell fails, with the student's line (test_a_judged_call_past_the_limit)
    add("loop_in_call", sub({e1.grade_id: e1.answer.replace(":\n", ":\n    while True:\n        pass\n", 1)}),
        total - e1.points, text="CellTimeoutError")
    add("sleep_in_call", sub({e1.grade_id: e1.answer.replace(":\n", f":\n    import time\n    time.sleep({CELL_TIMEOUT * 4})\n", 1)}),
        total - e1.points, text="CellTimeoutError")
    # a result whose items are shared, 40 levels deep (a repr of 2**40 parts): its check fails in bounded time
    add("shared_items_bomb", sub({e2.grade_id: e2.answer.replace(":\n", ":\n    x = 0\n    for _ in range(40):\n"
                                                                  "        x = [x, x]\n    return x\n", 1)}),
        total - e2.points)
    add("uninterruptible_loop", prefixed("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                                         "while True:\n    pass"), 0.0, "failed", text="")
    add("too_slow_overall", sub({ex.grade_id: f"import time\ntime.sleep({CELL_TIMEOUT - 3})\n" + ex.answer
                                 for ex in exs}),
        0.0, "failed", text=f"timed out after {SUBMISSION_TIMEOUT} s (KitGrading.submission_timeout)")
    add("exits_kernel", prefixed("import os\nos._exit(3)"), 0.0, "failed",
        text="the kernel exited with code 3")
    add("memory_huge_request", prefixed("_big = bytearray(64 * 2**30)"), total - e1.points, text="MemoryError")
    add("memory_real", prefixed(f"_big = bytearray({MEMORY_MB * 2} * 2**20)"), 0.0, "failed",
        text=f"more than the {MEMORY_MB} MiB memory limit (KitSandbox.memory_limit_mb)")
    add("calls_input", prefixed("answer = input('your name? ')"), total - e1.points, text="StdinNotImplementedError")
    add("many_lines", sub({e1.grade_id: e1.answer + "\nfor _i in range(1_000_000):\n    print(_i)"}), total)

    # -- what the instructor looks at never runs student code -----------------------------------
    xss = ("from IPython.display import HTML, Javascript, SVG, Markdown, display\n"
           "display(HTML('<b>hi</b><script>window.KITXSS=1</script><img src=x onerror=\"window.KITXSS=2\">'))\n"
           "display(Javascript('window.KITXSS=3'))\n"
           "display(SVG('<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"window.KITXSS=4\"></svg>'))\n"
           "display(Markdown('[click](javascript:window.KITXSS=5)'))\n"
           "from IPython.display import Latex\ndisplay(Latex(r'$\\href{javascript:window.KITXSS=8}{x}$'))")
    nb = prefixed(xss)
    nb.cells.append(nbformat.v4.new_markdown_cell("<script>window.KITXSS=6</script> [x](javascript:window.KITXSS=7)"))
    add("html_and_js", nb, total)

    # -- isolation ----------------------------------------------------------------------------
    secret = base / "root_only_secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    os.chmod(secret, 0o600)
    server = _Server()
    gradebook = course / "gradebook.db"
    paths = {"gradebook": str(gradebook), "solutions": str(course / "solutions" / TOPIC / NB),
             "other_student": str(course / "submitted" / "good_full" / TOPIC / NB),
             "course_utils": str(ROOT / "utils" / "pwned.py"), "secret": str(secret),
             "lms_zip": str(base / "lms.zip"), "home": os.path.expanduser("~/.bashrc"),
             "coursekit": str(ROOT / "coursekit" / "config.py"), "git": str(ROOT / ".git" / "HEAD")}
    add("intruder", sub({e1.grade_id: e1.answer + PROBE.format(paths=paths, port=server.port, secret=str(secret))}),
        total, flagged=None)
    add("intruder_next", sub({e1.grade_id: e1.answer + SEES_MARKERS}), total)
    # (the kernel's folder holds no notebook any more: removing one is tried, not required)
    add("symlinker", prefixed("import os, contextlib\nos.symlink('/grade/work/course/gradebook.db', 'x.db')\n"
                              "with contextlib.suppress(FileNotFoundError): os.remove('01_tensors.ipynb')\n"
                              "os.symlink('/grade/work/course/gradebook.db', "
                              "'01_tensors.ipynb')\nos.symlink('/etc/passwd', 'passwd')"),
        total)   # its links are removed before nbgrader writes anything: nothing else changes (checked below)

    for student, content in files.items():
        folder = synth.submit(course, TOPIC, student, {k: v for k, v in content.items() if "/" not in k})
        for name, text in content.items():
            if "/" in name:
                (folder / name).parent.mkdir(parents=True, exist_ok=True)
                (folder / name).write_text(text)
    # a submission that is a link to a root-only notebook: never followed
    linker = course / "submitted" / "linker" / TOPIC
    linker.mkdir(parents=True)
    target = base / "root_only.ipynb"
    target.write_text(nbformat.writes(sub()))
    os.chmod(target, 0o600)
    (linker / NB).symlink_to(target)
    expected["linker"] = (0.0, "failed", False, "missing notebook")

    # zoë and a few broken entries arrive through an LMS zip, imported entry by entry
    lms = base / "lms.zip"
    with zipfile.ZipFile(lms, "w") as zf:
        zf.writestr(f"zoë_Prüfung_{NB}", nbformat.writes(sub()))
        zf.writestr("no-pattern-here.ipynb", nbformat.writes(sub()))
        zf.writestr(f"../../slip_{NB}", nbformat.writes(sub()))
        zf.writestr(f"=2+5_{NB}", nbformat.writes(sub()))
        zf.writestr("broken_submission.zip", b"PK\x03\x04 not really")
    expected["zoë"] = (total, "graded", False, None)
    expected["slip"] = (total, "graded", False, None)

    seq_students = ["good_full", "good_one_wrong", "edited_test_cell", "duplicate_grade_id"]
    seq = base / "seq"
    shutil.copytree(course, seq, symlinks=True)
    for d in (seq / "submitted").iterdir():
        if d.name not in seq_students:
            shutil.rmtree(d)

    before = {"solutions": _tree_hash(course / "solutions"), "notebooks": _tree_hash(course / "notebooks"),
              "submitted": _tree_hash(course / "submitted"),
              "secret_mode": stat.S_IMODE(secret.stat().st_mode)}
    os.environ["GRADING_TEST_SECRET"] = "s3cret"      # a CI token student code must not see
    try:
        summary = grade(Options(topic=TOPIC, root=course, source=lms, workers=3, progress=False))
    finally:
        server.close()
        os.environ.pop("GRADING_TEST_SECRET", None)
    print(summary.text())
    print("\nstudent | score | status | reason | flags")
    for row in summary.rows():
        print(f"{row.student} | {row.score:g} | {row.status} | {row.reason} | {'; '.join(row.flags)[:300]}")
    yield {"course": course, "summary": summary, "expected": expected, "before": before, "server": server,
           "total": total, "seq": seq, "seq_students": seq_students, "secret": secret, "base": base}


def _said(summary, student) -> str:
    r = summary.results.get(student)
    return "" if r is None else " | ".join([r.reason, "; ".join(r.flags), "; ".join(r.notes)])


def test_every_submission_gets_its_defined_score_reason_and_flag(batch):
    summary, expected = batch["summary"], batch["expected"]
    problems = []
    for student, (score, status, flagged, text) in expected.items():
        r = summary.results.get(student)
        if r is None:
            problems.append(f"{student}: not graded")
            continue
        got = summary.scores.get(student, (None, None))[0]
        said = _said(summary, student)
        if isinstance(score, AtMost) and not (got is not None and got <= score.limit):
            problems.append(f"{student}: score {got}, expected at most {score.limit} ({said})")
        elif score is not None and not isinstance(score, AtMost) and got != pytest.approx(score):
            problems.append(f"{student}: score {got}, expected {score} ({said})")
        if status is not None and r.status != status:
            problems.append(f"{student}: {r.status}, expected {status} ({said})")
        if flagged is not None and bool(r.flags) != flagged:
            problems.append(f"{student}: flagged={bool(r.flags)}, expected {flagged} ({said})")
        if text and text not in said:
            problems.append(f"{student}: {text!r} not in {said!r}")
    assert not problems, "\n".join(problems)


def _outputs(course: Path, student: str) -> str:
    """What the cells of a student's executed notebook showed (their outputs, not their sources)."""
    nb = json.loads((course / "autograded" / student / TOPIC / NB).read_text(encoding="utf-8"))
    text = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            for part in (out.get("text", ""), out.get("data", {}).get("text/plain", ""), out.get("traceback", [])):
                text.append("".join(part) if isinstance(part, list) else part)
    return "\n".join(text)


@pytest.fixture(scope="module")
def unjudged(tmp_path_factory):
    """The same cheats graded without the judge (c.KitGrading.judge = False: plain nbgrader's way, test cells in
    the student's own kernel, nothing to defend them)."""
    base = tmp_path_factory.mktemp("unjudged")
    course = synth.make_course(base / "course", TOPIC, config_extra=_config(judge=False))
    cheats = _cheats(notebook.exercises(SOURCE), synth.correct_answers(SOURCE), notebook.total_points(SOURCE))
    student_nb = course / "notebooks" / TOPIC / NB
    for student, (answers, _, _, extra) in cheats.items():
        synth.submit(course, TOPIC, student, {NB: synth.make_submission(student_nb, answers), **extra})
    summary = grade(Options(topic=TOPIC, root=course, workers=3, progress=False, feedback=False))
    return {"course": course, "summary": summary, "cheats": cheats}


def test_cheats_succeed_without_the_judge(unjudged):
    """Each attack class gets more than its answers deserve when the test cells run in the student's kernel
    (the reader: shows the hidden tests), so the judge's exact scores above are its doing."""
    summary, course = unjudged["summary"], unjudged["course"]
    failed, classes, hidden = [], {}, _hidden_line()
    for student, (_, deserved, kind, _) in unjudged["cheats"].items():
        if kind is None:
            continue
        got = summary.scores.get(student, (None, None))[0]
        succeeded = (hidden in _outputs(course, student)) if kind == "reading the hidden tests" else \
            (got is not None and got > deserved)
        classes.setdefault(kind, []).append(succeeded)
        print(f"without the judge: {student} ({kind}): {got} for work that deserves {deserved:g}")
        if not succeeded:
            failed.append(f"{student} ({kind}): {got}, deserves {deserved} ({_said(summary, student)})")
    assert not failed, "attacks that did not work without the judge:\n" + "\n".join(failed)
    assert len(classes) == 5, classes


def test_a_judged_call_past_the_limit_fails_its_test_cell_only_and_names_the_line(batch):
    """The judge waits on the student's kernel while the student's function runs there: the cell's time limit
    interrupts both (as one kernel's interrupt stops the cell), so the rest of the notebook is graded (scores
    above), and the student reads where their code was stopped (or, where the student's kernel answers the
    interrupt too late on a loaded machine, the KeyboardInterrupt at the test's line), never the protocol's
    frames."""
    for student, line in (("loop_in_call", "while True:"), ("sleep_in_call", "time.sleep(")):
        shown = _outputs(batch["course"], student)
        assert "CellTimeoutError" in shown and "coursekit_judge" not in shown, shown[-3000:]
        if "ran past the cell's time limit while your code was running" in shown:
            assert line in shown, shown[-3000:]
        else:
            assert "KeyboardInterrupt" in shown, shown[-3000:]


def test_with_the_judge_the_hidden_tests_stay_out_of_the_students_kernel(batch):
    shown = _outputs(batch["course"], "cheat_reader")
    assert "LEAK" in shown and _hidden_line() not in shown


def test_honest_students_are_not_flagged_and_flagged_come_first(batch):
    summary = batch["summary"]
    honest = [s for s, (_, status, flagged, _) in batch["expected"].items() if flagged is False and status == "graded"]
    assert not [s for s in honest if summary.results[s].flags]
    rows = summary.rows()
    first_unflagged = next(i for i, r in enumerate(rows) if not r.flags)
    assert all(not r.flags for r in rows[first_unflagged:])
    report = (batch["course"] / f"grading_report_{TOPIC}.csv").read_text(encoding="utf-8")
    assert report.splitlines()[1].split(",")[1] == "yes"
    text = summary.text()
    assert text.index("FLAGGED") < text.index("FAILED")


def test_failures_are_flagged_in_the_gradebook_with_zero(batch):
    from nbgrader.api import Gradebook
    summary = batch["summary"]
    assert all(summary.failed.values())
    with Gradebook(f"sqlite:///{batch['course'] / 'gradebook.db'}") as gb:
        for student in summary.failed:
            sub = gb.find_submission(TOPIC, student)
            assert sub.score == 0 and all(nb.flagged for nb in sub.notebooks)


def test_nothing_else_changed(batch):
    course, before = batch["course"], batch["before"]
    assert _tree_hash(course / "solutions") == before["solutions"]
    assert _tree_hash(course / "notebooks") == before["notebooks"]
    assert not (ROOT / "utils" / "pwned.py").exists()
    after = {k: v for k, v in _tree_hash(course / "submitted").items()
             if not k.startswith(("zoë/", "slip/"))}
    assert after == before["submitted"]
    secret = batch["secret"]
    assert secret.read_text() == "TOP-SECRET-CONTENT" and stat.S_IMODE(secret.stat().st_mode) == before["secret_mode"]
    for area in ("autograded", "feedback"):
        for p in (course / area).rglob("*"):
            assert not p.is_symlink(), p
            if p.is_file():
                data = p.read_bytes()
                assert b"TOP-SECRET-CONTENT" not in data and b"root:x:0:0" not in data, p
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        assert len(gb.find_assignment(TOPIC).submissions) == len(batch["summary"].scores)


def _probe(course, student, marker):
    nb = nbformat.read(str(course / "autograded" / student / TOPIC / NB), as_version=4)
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    line = next(l for l in text.splitlines() if l.startswith(marker + " "))
    return line[len(marker) + 1:]


@pytest.mark.skipif(not IS_LINUX, reason="isolation needs Linux")
def test_isolation_holds(batch):
    summary = batch["summary"]
    assert "bubblewrap" in summary.isolation and "NO isolation" not in summary.isolation
    probe = json.loads(_probe(batch["course"], "intruder", "PROBE"))
    assert probe["write_own_folder"] == "ok"
    for key, value in probe.items():
        if key.startswith(("write_", "read_")) and key != "write_own_folder":
            assert value != "ok", f"student code could {key}: {probe}"
    assert probe["connect_loopback"] != "ok" and batch["server"].connections == 0
    assert probe["allocate_64GiB"] == "MemoryError"
    assert probe["fill_tmp_600MB"] == "OSError", "the sandbox's /tmp must be size-limited"
    assert probe["file_300MB"] == "OSError", "files are limited to KitSandbox.max_file_mb"
    assert probe["secret_env"] == "absent"
    assert probe["processes_visible"] == [1, 2], "only the kernel's own pid namespace is visible"
    assert "lms.zip" not in probe["cmdlines"] and str(batch["course"]) not in probe["cmdlines"]
    # the notebook's folder is last on sys.path: a student's utils/ or numpy.py never shadows the library
    assert probe["uid"] == 1000 and not probe["cwd_shadows_library"]
    markers = _probe(batch["course"], "intruder_next", "MARKERS").split()
    assert markers[:2] == ["False", "False"], "/tmp and /dev/shm must be private to each submission"


def test_nothing_a_student_wrote_runs_where_the_instructor_looks(batch):
    course = batch["course"]
    nb = json.loads((course / "autograded" / "html_and_js" / TOPIC / NB).read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            assert set(data) <= {"text/plain", "text/html", "text/markdown", "image/png", "image/jpeg"}, data.keys()
            for value in data.values():
                value = "".join(value) if isinstance(value, list) else value
                assert "<script" not in value and not re.search(r"<[^>]+\son\w+=", value) and "javascript:" not in value
        if cell["cell_type"] == "markdown":
            source = "".join(cell["source"])
            assert "<script" not in source and "KITXSS=6" not in source
            # what a renderer makes of it (text may still read "javascript:", but no link or handler has it)
            assert not _active_attributes(mistune.html(source)), source
    page = (course / "feedback" / "html_and_js" / TOPIC / f"{TOPIC}.html").read_text(encoding="utf-8")
    assert "KITXSS" not in _scripts(page), "a student's script made it into a <script> element"
    assert not re.search(r"<[^>]+\son\w+=[\"']?[^>]*KITXSS", page), "a student's event handler made it into a tag"
    assert not re.search(r"href=[\"']?\s*javascript:", page, re.I)


def _active_attributes(page: str) -> list[tuple[str, str, str]]:
    """(tag, attribute, value) of every event handler and every link or source with a script scheme."""
    from html.parser import HTMLParser
    found = []

    class Parser(HTMLParser):
        def handle_starttag(self, tag, attrs):
            for name, value in attrs:
                squeezed = re.sub(r"[\x00-\x20]", "", value or "").lower()
                if name.startswith("on") or squeezed.startswith(("javascript:", "vbscript:", "data:text/html")):
                    found.append((tag, name, value))

    Parser().feed(page)
    return found


def _scripts(page: str) -> str:
    return "\n".join(re.findall(r"<script[^>]*>(.*?)</script>", page, re.S))


def test_feedback_hides_hidden_tests_and_internal_paths(batch):
    course = batch["course"]
    nb = notebook.read(SOURCE)
    hidden = [line.strip() for c in nb.cells for region in notebook.marked_regions(
        c.source, notebook.BEGIN_HIDDEN_TESTS, notebook.END_HIDDEN_TESTS) for line in region if len(line.strip()) > 25]
    page = html.unescape(re.sub(r"<[^>]+>", "", (course / "feedback" / "good_one_wrong" / TOPIC / f"{TOPIC}.html")
                                .read_text(encoding="utf-8")))
    assert hidden and not [line for line in hidden if line in page]
    for path in (course / "feedback").rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        for internal in ("coursekit-grade-", "/grade/work", str(ROOT), str(batch["course"])):
            assert internal not in text, (internal, path)


def test_lms_zip_imported_entry_by_entry(batch):
    course, summary = batch["course"], batch["summary"]
    assert (course / "submitted" / "zoë" / TOPIC / NB).exists()
    assert not (course / "submitted" / "no-pattern-here.ipynb").exists()
    assert not (batch["base"] / f"slip_{NB}").exists() and not (course / f"slip_{NB}").exists()
    assert not list((course / "submitted").glob("=*"))
    assert not (course / "downloaded").exists(), "the archive is never copied into the course"
    grades = (course / "grades.csv").read_text(encoding="utf-8")
    assert "zoë" in grades and not re.search(r"(^|,)[=+@]", grades, re.M)
    assert any("=2+5" in w and "invalid student id" in w for w in summary.import_problems)
    assert "=2+5" in summary.text() and "=2+5" in (course / f"grading_problems_{TOPIC}.txt").read_text(encoding="utf-8")


def test_same_scores_as_sequential_nbgrader(batch):
    seq = batch["seq"]
    proc = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", TOPIC, f"--CourseDirectory.root={seq}"],
                          cwd=seq, capture_output=True, text=True, env=tool_env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    from nbgrader.api import Gradebook

    def scores(db):
        with Gradebook(db) as gb:
            return {s.student.id: {g.name: g.auto_score for nb in s.notebooks for g in nb.grades}
                    for s in gb.find_assignment(TOPIC).submissions}
    sequential = scores(f"sqlite:///{seq / 'gradebook.db'}")
    kit = scores(f"sqlite:///{batch['course'] / 'gradebook.db'}")
    for student in batch["seq_students"]:
        assert kit[student] == sequential[student], student
