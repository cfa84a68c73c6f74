"""Fixtures shared by the test suite (tests/unit, tests/content, tests/grading, tests/e2e).

Figures are drawn with Agg: no window opens, and what was drawn can be read back.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture
def matplotlib_untouched(monkeypatch):
    """The code under test must not call plt.show() nor change rcParams (the notebook's settings are
    the student's); the figures it made are closed afterwards."""
    rc = dict(matplotlib.rcParams)

    def no_show(*args, **kwargs):
        raise AssertionError("library functions must not call plt.show()")

    monkeypatch.setattr(plt, "show", no_show)
    yield
    plt.close("all")
    changed = sorted(k for k in rc if rc[k] != matplotlib.rcParams.get(k))
    assert not changed, f"rcParams changed: {changed}"


# --------------------------------------------------------------------------------------------
# A JupyterLab server of this environment (tests/e2e)
# --------------------------------------------------------------------------------------------
class LabServer:
    """``jupyter lab`` on a loopback port with a throw-away token, its root (and cwd: nbgrader's
    Validate reads nbgrader_config.py from there) ``course``, its settings and state under ``home``."""

    def __init__(self, course, home, *, settings: dict | None = None, env: dict | None = None):
        import json
        import os
        import socket
        import subprocess
        import sys

        from coursekit.paths import tool_env

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.token = os.urandom(16).hex()
        self.url = f"http://127.0.0.1:{self.port}"
        home.mkdir(parents=True, exist_ok=True)
        lab_settings = home / "lab-settings"
        for name, values in (settings or {}).items():
            (lab_settings / name).parent.mkdir(parents=True, exist_ok=True)
            (lab_settings / name).write_text(json.dumps(values))
        full_env = dict(tool_env(),
                        JUPYTERLAB_SETTINGS_DIR=str(lab_settings),
                        JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
                        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
                        JUPYTER_CONFIG_DIR=str(home / "config"),
                        PYDEVD_DISABLE_FILE_VALIDATION="1", **(env or {}))
        self.log_path = home / "jupyter.log"
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root",
             "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
             f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={course}"],
            cwd=course, env=full_env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)

    def get(self, path: str, method: str = "GET") -> tuple[int, bytes]:
        """(HTTP status, body) of a request to the server, authenticated with the token."""
        import urllib.error
        import urllib.request

        request = urllib.request.Request(f"{self.url}/{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()

    def api(self, path: str, method: str = "GET"):
        import json

        status, body = self.get(f"api/{path}", method)
        if status >= 400:
            raise RuntimeError(f"{method} /api/{path}: HTTP {status}")
        return json.loads(body) if body else None

    def wait_ready(self, timeout_s: float) -> None:
        import time
        import urllib.error

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.proc.returncode}:\n{self.log()}")
            try:
                self.api("status")
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError, RuntimeError):
                time.sleep(0.5)
        raise RuntimeError(f"JupyterLab did not answer within {timeout_s} s:\n{self.log()}")

    def shutdown_kernels(self) -> None:
        try:
            for kernel in self.api("kernels"):
                self.api(f"kernels/{kernel['id']}", method="DELETE")
        except Exception:  # the server may already be gone; stop() kills what is left
            pass

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text()[-5000:]

    def stop(self) -> None:
        import os
        import signal
        import subprocess

        import psutil

        self.shutdown_kernels()
        try:
            leftovers = [p.pid for p in psutil.Process(self.proc.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            leftovers = []
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        for pid in leftovers:  # kernels live in their own process groups
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._log.close()


@pytest.fixture(scope="module")
def start_lab():
    """start_lab(course, home, settings=..., env=..., start_s=90) -> a running LabServer, stopped
    when the module's tests are done."""
    servers = []

    def start(course, home, *, settings=None, env=None, start_s: float = 90) -> LabServer:
        server = LabServer(course, home, settings=settings, env=env)
        servers.append(server)
        server.wait_ready(start_s)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def peer_pair():
    """``peer_pair(namespace)``: the judge's end and the student's end of the judge's protocol
    (coursekit/judge), both in this process over a socket pair, the student's end serving
    ``namespace`` on a thread; closed when the test ends."""
    import socket
    import threading

    from coursekit.judge.peer import Peer
    from coursekit.judge.wire import ProtocolError
    sockets = []

    def make(namespace):
        a, b = socket.socketpair()
        sockets.extend((a, b))
        judge, student = Peer(a, "judge"), Peer(b, "student")
        student.namespace = namespace

        def serve():
            try:
                student.serve_forever()
            except (ProtocolError, OSError):
                pass
        threading.Thread(target=serve, daemon=True).start()
        return judge, student
    yield make
    for sock in sockets:
        sock.close()


@pytest.fixture
def remote(peer_pair):
    """``remote(fn)``: ``fn`` as the judge sees a function of the student's kernel."""
    from coursekit.judge.values import Decoder
    judge, student = peer_pair({})

    def lookup(fn):
        student.namespace["fn"] = fn
        return Decoder(judge.proxy, judge.own)(judge.request("lookup", name="fn")["value"])
    return lookup
