"""One submission never harms its slot, other runs, or the secrecy of the hidden tests.

* Slot poisoning: submissions that fill their writable space and then make it hard to remove (mode-000
  and search-less folders, a very deep tree, many files, a FIFO and a socket, a file held open by a
  process that outlives the cell, the kernel's runtime folder, /tmp and /dev/shm) are graded in the
  same slot (one worker) before honest ones; the honest ones keep their exact scores, in a rerun too.
* Concurrent runs: a run started with another TMPDIR keeps its slots (processes, cgroups, folder)
  when another run cleans up; a run killed with ``kill -9`` still has its leftovers removed by a later
  run whatever its TMPDIR; nothing that no dead run of ours registered is ever touched.
* Private run files: during a run, another local user can read nothing under the run's folder or the
  run registry that holds the hidden tests.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from coursekit import synth
from coursekit.grading.pipeline import Options, grade
from coursekit.paths import tool_env
from coursekit.sandbox import limits, runs

TOPIC = synth.TINY_TOPIC
NB = f"{TOPIC}.ipynb"
IS_LINUX = sys.platform.startswith("linux")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not IS_LINUX, reason="needs Linux")]
FAST = 'c.KitSandbox.preload_modules = ["math"]\n'
SMALL = "c.KitSandbox.disk_limit_mb = 24\nc.KitSandbox.tmp_limit_mb = 16\n"
HIDDEN = (b"isclose(double(5), 10)", b"isclose(square(-4), 16)")   # the tiny topic's hidden tests
NOBODY = 65534

# Each poison runs in the first answer cell (after a right answer): it fills what it can write until the
# disk is full, then makes what it made hard to remove.
FILL = '''
import os as _o, socket as _s, stat as _st, time as _t
def _fill(path):
    try:
        with open(path, "wb") as f:
            while True:
                f.write(b"x" * (1 << 20))
    except OSError:
        pass
'''
POISONS = {
    "mode000": FILL + '''
_o.makedirs("p/a/b/c")
for _i in range(50):
    open(f"p/a/b/c/f{_i}", "w").write("x")
_fill("p/a/b/c/blob")
for _d in ("p/a/b/c", "p/a/b", "p/a", "p"):
    _o.chmod(_d, 0)
''',
    "noexec": FILL + '''
_o.mkdir("q")
_fill("q/blob")
_o.mkdir("q/inner")
_o.chmod("q/inner", 0o600)
_o.chmod("q", 0o600)        # readable and writable, but not searchable
''',
    "deep": FILL + '''
_home = _o.open(".", _o.O_RDONLY)
_fd = _o.open(".", _o.O_RDONLY)
for _i in range(3000):       # far deeper than PATH_MAX and Python's recursion limit
    _o.mkdir("d", dir_fd=_fd)
    _n = _o.open("d", _o.O_RDONLY, dir_fd=_fd)
    _o.close(_fd)
    _fd = _n
_o.chdir(_fd)
_fill("blob")
_o.chmod(".", 0)
_o.fchdir(_home)
''',
    "manyfiles": FILL + '''
_o.mkdir("m")
for _i in range(20000):
    try:
        open(f"m/{_i}", "w").close()
    except OSError:
        break
_fill("m/blob")
_o.chmod("m", 0)
''',
    "special": FILL + '''
_o.mkdir("s")
_o.mkfifo("s/fifo")
_sock = _s.socket(_s.AF_UNIX); _sock.bind("s/sock")
_fill("s/blob")
_o.chmod("s", 0)
''',
    "held_open": FILL + '''
if _o.fork() == 0:           # outlives the cell, holding a deleted file that fills the space
    _o.setsid()
    _f = open("held", "wb"); _o.unlink("held")
    try:
        while True:
            _f.write(b"x" * (1 << 20)); _f.flush()
    except OSError:
        pass
    _t.sleep(3600)
_t.sleep(2)
''',
    "runtime_dir": FILL + '''
from ipykernel.connect import get_connection_file as _gcf
_rt = _o.path.dirname(_gcf())
try:
    _o.mkdir(_o.path.join(_rt, "r")); _fill(_o.path.join(_rt, "r", "blob")); _o.chmod(_o.path.join(_rt, "r"), 0)
except OSError:
    pass
_fill("rest")
''',
    "tmp_and_shm": FILL + '''
for _d in ("/tmp", "/dev/shm", _o.path.expanduser("~")):
    try:
        _o.mkdir(_d + "/z"); _fill(_d + "/z/blob"); _o.chmod(_d + "/z", 0)
    except OSError:
        pass
_fill("rest")
''',
}


def _course(base, extra=""):
    synth.write_tiny_topic(base / "src")
    return synth.make_course(base / "course", TOPIC, source_dir=base / "src" / TOPIC, config_extra=FAST + extra)


def _submit(course, student, first_cell_extra=""):
    right = synth.correct_answers(course / "solutions" / TOPIC / NB)
    if first_cell_extra:
        right["ex1_double"] = right["ex1_double"] + "\n" + first_cell_extra
    nb = synth.make_submission(course / "notebooks" / TOPIC / NB, right)
    return synth.submit(course, TOPIC, student, {NB: nb})


# the folder of its file system the kernel's working copy is (mountinfo's 4th field): its job's own tmpfs
# holds the throw-away course at its top, a slot-wide one in a folder per job
WORKROOT = ('import os as _o\nprint("WORKROOT", [l.split()[3] for l in open("/proc/self/mountinfo") '
            'if l.split()[4] == _o.getcwd()][-1])\n')


def _printed(course, student, marker):
    import nbformat
    nb = nbformat.read(str(course / "autograded" / student / TOPIC / NB), as_version=4)
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    return [line.split(" ", 1)[1] for line in text.splitlines() if line.startswith(marker + " ")]


@pytest.mark.parametrize("fresh", [True, False], ids=["fresh-tmpfs-per-job", "removed-after-each-job"])
def test_a_poisoned_working_space_never_reaches_the_next_submission(tmp_path, monkeypatch, fresh):
    from coursekit.grading import slot
    monkeypatch.setattr(slot, "FRESH_WORKSPACE", fresh)
    course = _course(tmp_path, SMALL)
    honest = []
    for i, (name, code) in enumerate(POISONS.items()):
        _submit(course, f"s{i:02d}a_{name}", code)
        _submit(course, f"s{i:02d}b_honest", WORKROOT)
        honest.append(f"s{i:02d}b_honest")
    for force in (False, True) if fresh else (False,):   # a rerun (--force) regrades everyone, poisoners first
        summary = grade(Options(topic=TOPIC, root=course, workers=1, progress=False, force=force,
                                submission_timeout=60))
        wrong = {s: (summary.scores.get(s), summary.results[s].reason) for s in honest
                 if summary.scores.get(s, (None,))[0] != 5.0}
        assert not wrong, f"honest submissions graded after a poisoner lost points (rerun: {force}): {wrong}"
        roots = {_printed(course, s, "WORKROOT")[0] for s in honest}
        assert all((root == "/kernel") == fresh for root in roots), roots   # the kernel works in a copy (KernelFolder)


# -- removing whatever a submission left, as the uid that made it -----------------------------------

def _as_user(uid, fn, *args):
    """fn(*args) in a forked child running as ``uid`` (no groups); returns what it returned (JSON)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        code = 0
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            out = json.dumps({"ok": fn(*args)})
        except BaseException as exc:       # noqa: BLE001 - reported to the parent
            out, code = json.dumps({"error": f"{type(exc).__name__}: {exc}"}), 1
        with os.fdopen(w, "w") as fh:
            fh.write(out)
        os._exit(code)
    os.close(w)
    with os.fdopen(r) as fh:
        data = fh.read()
    os.waitpid(pid, 0)
    result = json.loads(data)
    assert "error" not in result, result["error"]
    return result["ok"]


def _hostile_tree(w):
    """What a submission can leave in its working space (as its own uid)."""
    import socket
    os.mkdir(w)
    os.makedirs(f"{w}/p/a/b/c")
    open(f"{w}/p/a/b/c/f", "w").write("x")
    for d in ("p/a/b/c", "p/a/b", "p/a", "p"):
        os.chmod(f"{w}/{d}", 0)
    os.makedirs(f"{w}/q/i")
    open(f"{w}/q/i/x", "w").close()
    os.chmod(f"{w}/q/i", 0o600)
    os.chmod(f"{w}/q", 0o600)
    fd = os.open(w, os.O_RDONLY)
    for _ in range(3000):
        os.mkdir("d", dir_fd=fd)
        new = os.open("d", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = new
    os.close(os.open("f", os.O_CREAT | os.O_WRONLY, 0o600, dir_fd=fd))
    os.fchmod(fd, 0)
    os.close(fd)
    os.mkdir(f"{w}/s")
    os.mkfifo(f"{w}/s/fifo")
    socket.socket(socket.AF_UNIX).bind(f"{w}/s/sock")
    os.symlink("/etc/passwd", f"{w}/s/link")
    os.symlink(f"{w}/p", f"{w}/s/loop")
    os.mkdir(f"{w}/m")
    for i in range(5000):
        open(f"{w}/m/{i}", "w").close()
    os.chmod(f"{w}/m", 0)
    os.chmod(w, 0)
    return True


def _remove(w, how):
    import shutil
    from coursekit.sandbox import workspace
    if how == "shutil":
        try:
            shutil.rmtree(w, ignore_errors=True)
        except RecursionError:
            pass
    else:
        workspace.remove_tree(w)
    return os.path.lexists(w)


@pytest.fixture
def open_dir():
    """A folder every local user may write in (pytest's own are private to root), on a tmpfs where there is one."""
    import shutil
    path = Path(tempfile.mkdtemp(prefix="slot-safety-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
    os.chmod(path, 0o777)
    yield path
    from coursekit.sandbox import workspace
    workspace.remove_tree(path)
    shutil.rmtree(path, ignore_errors=True)


def test_what_a_submission_left_is_removed_by_its_own_uid(open_dir):
    base = open_dir
    passwd = Path("/etc/passwd").read_bytes()
    for how in ("shutil", "remove_tree"):
        _as_user(NOBODY, _hostile_tree, str(base / how))
        left = _as_user(NOBODY, _remove, str(base / how), how)
        assert left == (how == "shutil"), f"{how}: what was left is {'still there' if left else 'gone'}"
    assert Path("/etc/passwd").read_bytes() == passwd, "no link was followed"


# -- runs find each other whatever their TMPDIR, and stop only what a dead run of theirs left ------

RUN = r"""
import json, subprocess, sys, time
from coursekit.sandbox import limits, runs
run = runs.Run.start()
cg = limits.probe(64, 16).make(f"{limits.PREFIX}{run.id}-0x0")
sleeper = subprocess.Popen(["sleep", "600"], start_new_session=True)
cg.add(sleeper.pid)
print(json.dumps({"id": run.id, "dir": str(run.dir), "cgroup": [str(d) for d in cg.dirs], "sleeper": sleeper.pid}),
      flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _cgroups_work() -> bool:
    return limits.probe(64, 16).kind.startswith("cgroup")


@pytest.mark.skipif(not _cgroups_work(), reason="needs cgroups")
def test_runs_with_other_tmpdirs_survive_cleanup_and_a_killed_ones_leftovers_do_not(tmp_path, monkeypatch):
    for name in "ABC":
        (tmp_path / name).mkdir()
    proc = subprocess.Popen([sys.executable, "-c", RUN], stdout=subprocess.PIPE, text=True,
                            env=dict(tool_env(), TMPDIR=str(tmp_path / "A")))
    stranger = limits.probe(64, 16).make(f"{limits.PREFIX}0unregistered0-0x0")   # a cgroup no run registered
    other = subprocess.Popen(["sleep", "600"], start_new_session=True)
    try:
        stranger.add(other.pid)
        first = json.loads(proc.stdout.readline())
        assert Path(first["dir"]).parent == tmp_path / "A"
        monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "B"))
        removed = runs.clean_leftovers()                         # another run starts, with another TMPDIR
        assert _alive(first["sleeper"]), "a live run's sandbox was stopped by another run's cleanup"
        assert all(Path(d).is_dir() for d in first["cgroup"]) and Path(first["dir"]).is_dir(), removed
        assert not [r for r in removed if first["id"] in r]
        proc.kill()                                              # kill -9: the run leaves everything behind
        proc.wait(10)
        assert _alive(first["sleeper"]) and Path(first["dir"]).is_dir()
        monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "C"))
        removed = runs.clean_leftovers()                         # the next run, with a third TMPDIR
        time.sleep(0.2)
        assert not _alive(first["sleeper"]), "what a killed run left running was not stopped"
        assert not any(Path(d).exists() for d in first["cgroup"]) and not Path(first["dir"]).exists(), removed
        assert not (runs.registry_dir() / "runs" / f"{first['id']}.lock").exists()
        assert _alive(other.pid) and all(d.is_dir() for d in stranger.dirs), "an unregistered cgroup was touched"
    finally:
        proc.kill()
        other.kill()
        other.wait()
        stranger.remove()


def test_a_grading_run_with_another_tmpdir_is_not_stopped_by_the_next_run(tmp_path, monkeypatch):
    from nbgrader.api import Gradebook
    first, second = _course(tmp_path / "one"), _course(tmp_path / "two")
    _submit(first, "slow", "import time\ntime.sleep(10)")
    _submit(second, "quick")
    (tmp_path / "A").mkdir()
    (tmp_path / "B").mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "coursekit", "grade", TOPIC, "--root", str(first), "--quiet",
                             "--workers", "1"], env=dict(tool_env(), TMPDIR=str(tmp_path / "A")),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while not list((tmp_path / "A").glob("coursekit-grade-*/s0-0/jobs/*")) and proc.poll() is None:
        assert time.monotonic() < deadline, "the first run never started grading"
        time.sleep(0.2)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "B"))
    summary = grade(Options(topic=TOPIC, root=second, workers=1, progress=False))
    assert summary.scores["quick"][0] == 5.0
    out, _ = proc.communicate(timeout=300)
    with Gradebook(f"sqlite:///{first / 'gradebook.db'}") as gb:
        assert gb.find_submission(TOPIC, "slow").score == 5.0, out[-2000:]


def _registry_of_nobody(tmpdirs):
    seen = set()
    for t in tmpdirs:
        tempfile.tempdir = t
        seen.add(str(runs.registry_dir()))
    run = runs.Run.start()                  # registered in the fallback, its folder in the last TMPDIR
    os.close(run.lock_fd)                    # as after kill -9: the lock is free, the entry stays
    tempfile.tempdir = tmpdirs[0]
    removed = runs.clean_leftovers()
    return {"registries": sorted(seen), "removed": removed, "dir": str(run.dir), "left": run.dir.exists()}


def test_the_registry_outside_root_is_fixed_whatever_tmpdir(open_dir, monkeypatch):
    fallback = Path(runs.USER_REGISTRY.format(uid=NOBODY))
    existed = fallback.exists()
    a, b = open_dir / "a", open_dir / "b"
    for d in (a, b):
        d.mkdir()
        os.chmod(d, 0o777)
    try:
        got = _as_user(NOBODY, _registry_of_nobody, [str(a), str(b)])
    finally:
        if not existed:
            from coursekit.sandbox import workspace
            workspace.remove_tree(fallback)
    assert got["registries"] == [str(fallback)], got
    assert got["removed"] == [got["dir"]] and not got["left"] and got["dir"].startswith(str(b)), got
    # where /run cannot be written, root falls back to the same kind of fixed folder
    monkeypatch.setattr(runs, "ROOT_REGISTRY", str(open_dir / "not-a-folder" / "coursekit"))
    (open_dir / "not-a-folder").write_text("")
    monkeypatch.setattr(runs, "USER_REGISTRY", str(open_dir / "var-tmp" / "coursekit-{uid}"))
    assert runs.registry_dir() == open_dir / "var-tmp" / f"coursekit-{os.geteuid()}"
    # a folder someone else made there is refused, with one line
    (open_dir / "var-tmp" / f"coursekit-{os.geteuid()}").rename(open_dir / "var-tmp" / "x")
    (open_dir / "var-tmp" / f"coursekit-{os.geteuid()}").mkdir(mode=0o755)
    os.chown(open_dir / "var-tmp" / f"coursekit-{os.geteuid()}", NOBODY, NOBODY)
    with pytest.raises(SystemExit, match="^cannot grade: no folder for the registry") as exc:
        runs.registry_dir()
    assert "\n" not in str(exc.value)


# -- run files are private -------------------------------------------------------------------------

def _readable(paths):
    """The paths of ``paths`` this process can read, and those holding a hidden test."""
    readable, secret = [], []
    for p in paths:
        try:
            with open(p, "rb") as fh:
                data = fh.read(1 << 24)
        except OSError:
            continue
        readable.append(p)
        if any(h in data for h in HIDDEN):
            secret.append(p)
    return {"readable": readable, "secret": secret}


def _all_files(roots):
    out = []
    for root in roots:
        for folder, _, files in os.walk(root):
            out += [os.path.join(folder, f) for f in files]
    return out


def test_no_other_local_user_reads_a_runs_files(tmp_path, monkeypatch):
    from coursekit.grading import worker
    course = _course(tmp_path)
    _submit(course, "ann")
    seen = {}
    real = worker.collect

    def spy(ctx, job, result, jdir, **kw):      # while the run and its slot hold every file they make
        if not seen:
            files = _all_files([ctx.run.dir, runs.registry_dir()])
            seen["root"] = _readable(files)
            seen["nobody"] = _as_user(NOBODY, _readable, files)
        return real(ctx, job, result, jdir, **kw)
    monkeypatch.setattr(worker, "collect", spy)
    summary = grade(Options(topic=TOPIC, root=course, workers=1, progress=False))
    assert summary.scores["ann"][0] == 5.0
    assert len(seen["root"]["secret"]) >= 2, seen["root"]      # the run's gradebook copy and the job's
    assert not seen["nobody"]["secret"], f"another user can read the hidden tests in {seen['nobody']['secret']}"


def test_without_isolation_as_root_only_the_slots_uid_reaches_its_folder(open_dir):
    from coursekit.grading import slot
    slot_uid = 400000 + os.getpid() % 50000
    run_dir = open_dir / "run"
    run_dir.mkdir(mode=0o700)
    found = []
    for isolated in (True, False):
        sdir = slot.folder(run_dir, f"s{int(isolated)}-0", slot_uid, isolated)
        inp = sdir / "jobs" / "j1" / "in"             # as worker.prepare makes a job's input
        inp.mkdir(parents=True)
        os.chmod(inp.parent, 0o711)
        os.chmod(inp, 0o755)
        (inp / "gradebook.db").write_bytes(HIDDEN[0])
        os.chmod(inp / "gradebook.db", 0o644)
        found.append(str(inp / "gradebook.db"))
    assert not _as_user(NOBODY, _readable, found)["readable"]
    assert _as_user(slot_uid, _readable, found)["readable"] == found[1:], "the unisolated slot reads its own job"
