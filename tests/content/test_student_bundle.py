"""The student bundle holds what students need and nothing an instructor keeps to themselves."""
from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from coursekit import bundle, notebook
from coursekit.paths import ROOT, assignments, notebooks, solution_notebook, topics

TOPICS = topics()
#: Every notebook of every assignment in solutions/ (course topics and any other).
SOURCES = [p for a in assignments() for p in notebooks(a)]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    return bundle.build(tmp_path_factory.mktemp("bundle") / "student-bundle.zip")


def test_bundle_holds_what_students_need(built):
    names = set(zipfile.ZipFile(built).namelist())
    for assignment in assignments():   # every notebook of every assignment, and its other files (data/)
        for path in (ROOT / "solutions" / assignment).rglob("*"):
            if path.is_file() and not {"__pycache__", ".ipynb_checkpoints"} & set(path.parts):
                name = f"notebooks/{path.relative_to(ROOT / 'solutions').as_posix()}"
                assert name in names, f"{name} is missing from the bundle"
    for needed in ("utils/__init__.py", "utils/checks/__init__.py", "utils/checks/rules.py", "utils/plotting.py",
                   "utils/pyproject.toml", "utils/_data/mnist_sample.npz", "etc/jupyter-student/labconfig/page_config.json",
                   "etc/jupyter-student/jupyter_server_config.json",
                   "README.md", "LICENSE", "environment.yml", "pyproject.toml", "requirements.lock"):
        assert needed in names, f"{needed} is missing from the bundle"
    with zipfile.ZipFile(built) as zf:
        readme = zf.read("README.md").decode()
        assert "For students" in readme and "For instructors" not in readme and "make grade" not in readme
        assert "-e .[test]" not in zf.read("environment.yml").decode()


def test_bundle_holds_no_solution_no_hidden_test_no_tooling(built):
    """Every file is scanned: markers, every line of a solution or hidden test, instructor paths."""
    names = zipfile.ZipFile(built).namelist()
    top = {Path(n).parts[0] for n in names}
    assert not top & {"solutions", "tests", "coursekit", "benchmarks", "nbgrader_config.py", "docs", "Makefile"}
    assert not [n for n in names if n.startswith("utils/") and ("grading" in n or "sandbox" in n)]
    hidden, public = set(), set()
    for path in SOURCES:
        lines = notebook.split_lines(path)
        hidden |= lines[notebook.BEGIN_HIDDEN_TESTS]
        public |= lines["public"]
    for path in (ROOT / "utils").rglob("*.py"):   # the student library is public: a hidden test's generic
        public |= {line.strip() for line in path.read_text().splitlines()}   # line may also be one of its lines
    hidden = notebook.specific(hidden - public)  # lines of hidden tests that no topic shows openly
    assert len(hidden) > 100  # the scan below has something to find
    with zipfile.ZipFile(built) as zf:
        for name in names:
            data = zf.read(name)
            for marker in (b"BEGIN SOLUTION", b"END SOLUTION", b"BEGIN HIDDEN TESTS", b"END HIDDEN TESTS"):
                assert marker not in data, f"{name} contains {marker.decode()}"
            if name.endswith(".ipynb"):
                nb = nbformat.reads(data.decode(), as_version=4)
                lines = {line.strip() for c in nb.cells for line in c.source.splitlines()}
                source = ROOT / "solutions" / Path(name).relative_to("notebooks")
                solution = notebook.private_lines(source, kinds=(notebook.BEGIN_SOLUTION,))
                assert not (solution & lines), f"{name} shows its solutions: {sorted(solution & lines)[:3]}"
            elif name.endswith((".py", ".md", ".txt", ".toml", ".yml", ".json", ".lock")):
                lines = {line.strip() for line in data.decode().splitlines()}
            else:
                continue
            assert not (hidden & lines), f"{name} shows hidden tests: {sorted(hidden & lines)[:3]}"
    assert bundle.find_leaks(built) == []


def test_leaks_are_found_and_refused(tmp_path, monkeypatch):
    """The scanner finds a solution notebook, a hidden test line and an instructor path; build refuses."""
    folder = bundle.build(tmp_path / "folder")
    hidden = sorted(notebook.private_lines(solution_notebook(TOPICS[0])))[0]
    (folder / "utils" / "notes.py").write_text(f"# copied by mistake\n{hidden}\n")
    shutil.copy(solution_notebook(TOPICS[0]), folder / "notebooks" / "copy.ipynb")
    (folder / "tests").mkdir()
    (folder / "tests" / "x.txt").write_text("x")
    leaks = "\n".join(bundle.find_leaks(folder))
    assert "utils/notes.py: shows solution or hidden-test code" in leaks
    assert "notebooks/copy.ipynb: contains BEGIN SOLUTION" in leaks
    assert "tests/x.txt: instructor path" in leaks
    monkeypatch.setattr(bundle, "INCLUDED", bundle.INCLUDED + ("solutions",))
    with pytest.raises(ValueError, match="would leak"):
        bundle.build(tmp_path / "refused.zip")
    assert not (tmp_path / "refused.zip").exists()


@pytest.mark.slow
def test_bundle_installs_as_a_project(built, tmp_path):
    """The bundle's pyproject.toml builds: a wheel with utils (and no tooling) from the bundle alone."""
    src = tmp_path / "src"
    zipfile.ZipFile(built).extractall(src)
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           str(src), "-w", str(tmp_path / "dist")], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "utils/plotting.py" in names and "utils/_data/mnist_sample.npz" in names
    assert not [n for n in names if n.startswith("coursekit/")]


def _recipe(readme: str) -> list[str]:
    """The command lines of the student README's first shell block (the recipe for one's own machine)."""
    import re

    block = re.search(r"```bash\n(.*?)```", readme, re.S)
    assert block, "the student README has no ```bash block with the recipe"
    return [line for line in block.group(1).splitlines() if line.strip() and not line.startswith("#")]


def _http(url: str, token: str, method: str = "GET", body: bytes | None = None):
    import json
    import urllib.request

    request = urllib.request.Request(url, data=body, method=method, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        data = response.read()
    return json.loads(data) if data else None


def _run_in_kernel(connection_file: Path, code: str, timeout_s: float = 60) -> list[dict]:
    """The iopub messages (type, content) of one execution in a running kernel."""
    from jupyter_client import BlockingKernelClient

    client = BlockingKernelClient()
    client.load_connection_file(str(connection_file))
    client.start_channels()
    try:
        client.wait_for_ready(timeout=timeout_s)
        msg_id = client.execute(code)
        messages = []
        while True:
            msg = client.get_iopub_msg(timeout=timeout_s)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            messages.append({"type": msg["msg_type"], **msg["content"]})
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                return messages
    finally:
        client.stop_channels()


@pytest.mark.slow
def test_bundle_recipe_works_as_a_student_runs_it(built, tmp_path):
    """The student README's recipe, run line by line exactly as written, in the unpacked bundle, as the
    user this runs as (root here, as in a container): the environment builds, the setup hint is
    installed, JupyterLab starts (root or not), offers one Python kernel, and a cell run before the setup
    cell shows the hint rather than a bare NameError.

    Offline: the machine's packages stand for what pip would download (PYTHONPATH, no index), so that
    pip installs only the bundle's own project; Jupyter's shared files (JupyterLab's assets, kernelspecs,
    the python3-warm one included) are the environment's, as a system-wide Jupyter would provide them.
    """
    import json
    import os
    import signal
    import socket
    import sysconfig
    import time
    import urllib.error

    from test_first_cell import host_site, offline_pip  # tests/content is on sys.path (rootdir layout)
    from utils._setup_hint import CONFIG_LINE, HINT

    course = tmp_path / "student-bundle"
    zipfile.ZipFile(built).extractall(course)
    setup_line, lab_line = _recipe((course / "README.md").read_text())
    assert "--allow-root" not in lab_line  # one command for everyone; the student configuration allows root

    bin_dir = tmp_path / "bin"  # the student's `python3`: this Python
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(getattr(sys, "_base_executable", sys.executable))
    share = Path(sysconfig.get_paths()["data"]) / "share" / "jupyter"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = os.urandom(16).hex()
    home = tmp_path / "home"
    (home / ".jupyter").mkdir(parents=True)
    # the student's own settings: where to listen (not allow_root: that must come from the recipe)
    (home / ".jupyter" / "jupyter_server_config.json").write_text(json.dumps({
        "ServerApp": {"ip": "127.0.0.1", "port": port, "port_retries": 0, "open_browser": False},
        "IdentityProvider": {"token": token}}))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "PIP_", "VIRTUAL_ENV", "PYTHON"))}
    env.update(offline_pip(tmp_path / "no-wheels"), PATH=f"{bin_dir}{os.pathsep}{env['PATH']}",
               PYTHONPATH=str(host_site(tmp_path / "host")), HOME=str(home),
               JUPYTER_CONFIG_DIR=str(home / ".jupyter"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               JUPYTER_PATH=str(share), JUPYTERLAB_DIR=str(share / "lab"))

    proc = subprocess.run(["bash", "-c", setup_line], cwd=course, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{setup_line}\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    assert CONFIG_LINE in (course / ".venv" / "etc" / "ipython" / "ipython_kernel_config.py").read_text()

    log = open(tmp_path / "lab.log", "w")
    lab = subprocess.Popen(["bash", "-c", lab_line], cwd=course, env=env, stdout=log, stderr=subprocess.STDOUT,
                           start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert lab.poll() is None, f"`{lab_line}` stopped:\n{(tmp_path / 'lab.log').read_text()[-3000:]}"
            try:
                _http(f"{url}/api/status", token)
                break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline, (tmp_path / "lab.log").read_text()[-3000:]
                time.sleep(0.5)
        specs = _http(f"{url}/api/kernelspecs", token)["kernelspecs"]
        assert sorted(specs) == ["python3"], f"the launcher offers {sorted(specs)}"
        kernel = _http(f"{url}/api/kernels", token, "POST", json.dumps({"name": "python3"}).encode())
        connection = home / "runtime" / f"kernel-{kernel['id']}.json"
        # the first cell after the setup cell of the first notebook, run before the setup cell
        nb = nbformat.read(course / "notebooks" / TOPICS[0] / f"{TOPICS[0]}.ipynb", as_version=4)
        later = [c.source for c in nb.cells if c.cell_type == "code"][1]
        messages = _run_in_kernel(connection, later)
        errors = [m for m in messages if m["type"] == "error"]
        assert errors and errors[0]["ename"] == "NameError", messages
        assert HINT in "\n".join(errors[0]["traceback"]), errors[0]["traceback"]
        _http(f"{url}/api/kernels/{kernel['id']}", token, "DELETE")
    finally:
        if lab.poll() is None:
            os.killpg(lab.pid, signal.SIGTERM)
            try:
                lab.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(lab.pid, signal.SIGKILL)
        log.close()
