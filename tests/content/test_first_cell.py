"""The notebooks' first cell where the course environment is not: a JupyterHub or Colab with its own
PyTorch. It installs the course's library utils with the extra `course` (what the notebooks import
besides utils), keeps the host's torch, and finds utils in the course folder (../../utils) or at the
address the instructor set (c.KitAssignments.utils_url, stamped by `make assignments`).

The helpers that make a fresh environment standing for such a host, offline (host_site, fresh_venv,
offline_pip), are also used by tests/content/test_student_bundle.py.
"""
from __future__ import annotations

import ast
import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import threading
import tomllib
import zipfile
from importlib.metadata import distribution, packages_distributions
from pathlib import Path

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from coursekit import build
from coursekit.config import ConfigError
from coursekit.notebook import read
from coursekit.paths import ROOT, assignments, is_topic, not_a_topic, solution_notebook, student_notebook, topics

FIRST_PARTY = {"utils", "coursekit"}

UTILS_PROJECT = tomllib.loads((ROOT / "utils" / "pyproject.toml").read_text())["project"]
#: The extra of utils that brings what the notebooks import besides utils (the first cell installs it).
COURSE_EXTRA = "course"
#: What every Jupyter host has (the kernel itself); anything else a notebook imports must come with utils.
JUPYTER_HOST = {"ipython", "ipykernel", "matplotlib-inline", "traitlets"}
#: In the first cell's `%pip install`: the host's torch, pinned to the version it has.
KEEP_HOST_TORCH = '"torch=={torch.__version__.split(\'+\')[0]}"'


def test_first_cell_keeps_the_hosts_torch():
    """The first cell installs utils' extra (with torchvision, whose wheels pin one torch version) only
    with the host's torch pinned next to it, so that pip keeps the host's torch."""
    for topic in topics():
        install = _first_cell_install(topic)
        assert KEEP_HOST_TORCH in install, \
            f"{topic}: the first cell must install utils with the host's torch pinned: {install}"


def _first_cell(topic: str) -> str:
    return next(c for c in read(solution_notebook(topic)).cells if c.cell_type == "code").source


def _first_cell_install(topic: str) -> str:
    """The `%pip install` line of the topic's first code cell."""
    lines = [line.strip() for line in _first_cell(topic).splitlines() if line.strip().startswith("%pip install")]
    assert len(lines) == 1, f"{topic}: the first code cell must hold one `%pip install` line, found {lines}"
    return lines[0]


def _notebook_imports(topic: str, path=None) -> dict[str, set[int]]:
    """Top-level module -> the code cells (indices) of the topic's solution notebook that import it."""
    found: dict[str, set[int]] = {}
    code = [c for c in read(path or solution_notebook(topic)).cells if c.cell_type == "code"]
    for i, cell in enumerate(code):
        tree = ast.parse(TransformerManager().transform_cell(cell.source))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], set()).add(i)
    return found


def _first_cell_checks(topic: str) -> set[str]:
    """The modules the first cell's `try:` imports before deciding to install utils."""
    tree = ast.parse(TransformerManager().transform_cell(_first_cell(topic)))
    block = next(node for node in tree.body if isinstance(node, ast.Try))
    return {a.name.split(".")[0] for node in block.body if isinstance(node, ast.Import) for a in node.names}


@pytest.mark.parametrize("topic", assignments())
def test_every_notebook_import_comes_with_utils(topic):
    """On a JupyterHub or Colab the first cell installs utils and its extra `course`: everything the
    notebook imports must come with them (or with Jupyter itself), and a package of the extra that the
    notebook imports is checked by the first cell's `try:` (utils may be there without the extra).
    The course's topics only: another assignment has a first cell of its own."""
    if not is_topic(topic):
        pytest.skip(not_a_topic(topic))
    reqs = [Requirement(r) for r in UTILS_PROJECT["dependencies"]]
    extra = [Requirement(r) for r in UTILS_PROJECT.get("optional-dependencies", {}).get(COURSE_EXTRA, [])]
    brought = {canonicalize_name(r.name) for r in reqs + extra} | JUPYTER_HOST
    in_extra = {canonicalize_name(r.name) for r in extra}
    dists = packages_distributions()
    missing, unchecked = {}, []
    checked = _first_cell_checks(topic)
    # what only the hidden tests import (they run in the grader's judge and on the instructor's machine)
    # comes with the extra `grading`; what the student's version imports, with `course`
    grading = {canonicalize_name(Requirement(r).name)
               for r in UTILS_PROJECT.get("optional-dependencies", {}).get("grading", [])}
    students = _notebook_imports(topic, student_notebook(topic))
    for module, cells in _notebook_imports(topic).items():
        if module in sys.stdlib_module_names or module in FIRST_PARTY:
            continue
        names = {canonicalize_name(d) for d in dists.get(module, [])}
        if not names & (brought if module in students else brought | grading):
            missing[module] = (sorted(names) or ["not installed"], sorted(cells))
        if names & in_extra and module not in checked:
            unchecked.append(module)
    assert not missing, (f"{topic} imports packages that `pip install utils[{COURSE_EXTRA}]` does not bring "
                         f"(module: distributions, code cells): {missing}; add them to utils/pyproject.toml")
    assert not unchecked, \
        f"{topic}: the first cell's `try:` must import {unchecked} too (utils may be installed without them)"
    install = _first_cell_install(topic)
    assert f'"{UTILS_PROJECT["name"]}[{COURSE_EXTRA}] @ {{url}}"' in install, install


# --------------------------------------------------------------------------------------------
# The first cell on a JupyterHub or Colab: a fresh environment with the host's packages, offline
# --------------------------------------------------------------------------------------------
def host_site(folder, without=()) -> Path:
    """A folder standing for a JupyterHub's or Colab's own packages (torch, numpy, Jupyter, ...): links
    to this environment's installed packages, without the course's own (utils, coursekit) and without
    the distributions named in ``without``."""
    left_out = set()
    for name in without:
        left_out |= {f.parts[0] for f in distribution(name).files}
    folder = Path(folder)
    folder.mkdir(parents=True)
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if (entry.name in left_out or entry.suffix == ".pth" or entry.name in ("utils", "coursekit")
                or entry.name.startswith(("__editable__", "pytorch_nn_course"))):
            continue
        (folder / entry.name).symlink_to(entry)
    return folder


def fresh_venv(path, host) -> Path:
    """A new virtual environment that sees ``host``'s packages as already installed (as a JupyterHub
    image or Colab has torch); its pip is the host's. Returns its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    python = Path(path) / "bin" / "python"
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    (Path(purelib) / "host-packages.pth").write_text(f"{host}\n")
    return python


def wheel_from_installed(name: str, folder) -> Path:
    """A wheel of an installed pure-Python distribution, packed from its installed files (no network)."""
    dist = distribution(name)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"{dist.metadata['Name']}-{dist.version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for f in dist.files:
            if "__pycache__" not in f.parts and f.name not in ("INSTALLER", "REQUESTED", "direct_url.json"):
                zf.write(dist.locate_file(f), str(f))
    return wheel


def offline_pip(wheels) -> dict:
    """pip settings for a test: no index (no network), build with the environment's setuptools, and the
    given folder of wheels standing for PyPI."""
    return {"PIP_NO_INDEX": "1", "PIP_NO_BUILD_ISOLATION": "0", "PIP_FIND_LINKS": str(wheels),
            "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


# Runs a notebook cell as IPython runs it (magics such as %pip included) and reports what it installed.
_RUN_CELL = """
import json, sys
from IPython.core.interactiveshell import InteractiveShell
result = InteractiveShell.instance().run_cell(open(sys.argv[1]).read())
err = result.error_before_exec or result.error_in_exec
out = {"error": f"{type(err).__name__}: {err}" if err else None}
if err is None:
    import torch, torchinfo, utils
    out.update(utils=utils.__file__, torch=torch.__file__, torchinfo=torchinfo.__file__)
print("RESULT " + json.dumps(out))
"""


def _run_first_cell(python, source: str, cwd, env: dict) -> dict:
    (cwd / "cell.py").write_text(source)
    proc = subprocess.run([python, "-c", _RUN_CELL, "cell.py"], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=300)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, f"the cell did not run:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return {**json.loads(lines[-1][len("RESULT "):]), "output": proc.stdout + proc.stderr}


class _GitServer:
    """A git repository of the course served over plain HTTP on loopback (git's 'dumb' protocol), standing
    for the instructor's repository: pip clones it as it would clone git+https://github.com/..."""

    def __init__(self, folder):
        repo = folder / "course"
        shutil.copytree(ROOT / "utils", repo / "utils",
                        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build"))
        git = ["git", "-c", "user.name=instructor", "-c", "user.email=instructor@example.org", "-C", str(repo)]
        for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "course"], ["update-server-info"]):
            subprocess.run(git + args, check=True, capture_output=True)
        handler = functools.partial(type("Quiet", (http.server.SimpleHTTPRequestHandler,),
                                         {"log_message": lambda *a: None}), directory=str(folder))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"git+http://127.0.0.1:{self.httpd.server_address[1]}/course/.git#subdirectory=utils"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_utils_url_setting_is_checked(tmp_path):
    """A misspelt setting or an address the cell could not use stops `make assignments` with one line."""
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")
    assert build.utils_url(tmp_path) == ""
    for line, reason in (('c.KitAssignments.utils_uri = "x"', "did you mean KitAssignments.utils_url"),
                         ('c.KitAssignments.utils_url = "github.com/me/course"', "is not an address pip"),
                         ('c.KitAssignments.utils_url = "git+https://h/x$(id)#subdirectory=utils"',
                          "is not an address"),
                         ("c.KitAssignments.utils_url = 3", "must be a string")):
        (tmp_path / "nbgrader_config.py").write_text(f"c = get_config()\n{line}\n")
        with pytest.raises(ConfigError, match=re.escape(reason)) as err:
            build.utils_url(tmp_path)
        assert "\n" not in str(err.value)


@pytest.mark.slow
def test_first_cell_installs_utils_where_it_is_missing(tmp_path):
    """A notebook on a JupyterHub or Colab (torch there, utils and torchinfo not), offline:

    * opened alone, with the address the instructor set (c.KitAssignments.utils_url in nbgrader_config.py,
      stamped by `make assignments`), its first cell installs utils and the packages the notebooks import
      from the instructor's repository, and leaves the host's torch as it is;
    * opened alone without that setting, it says what to do (and installs nothing);
    * opened from the course folder (the bundle uploaded whole), it installs them from ../../utils.
    """
    topic = "02_forward_pass"  # the notebook that imports torchinfo
    host = host_site(tmp_path / "host", without=("torchinfo",))
    pypi = tmp_path / "pypi"
    wheel_from_installed("torchinfo", pypi)
    server = _GitServer(tmp_path / "served")
    try:
        # the instructor: one line in nbgrader_config.py, then `make assignments`
        course = tmp_path / "course"
        shutil.copytree(ROOT / "solutions" / topic, course / "solutions" / topic)
        config = (ROOT / "nbgrader_config.py").read_text()
        (course / "nbgrader_config.py").write_text(f"{config}\nc.KitAssignments.utils_url = {server.url!r}\n")
        (out,) = [folder for _, folder in build.generate_all([topic], course / "notebooks", root=course)]
        stamped = next(c for c in nbformat.read(out / f"{topic}.ipynb", 4).cells if c.cell_type == "code")
        assert f'UTILS_URL = "{server.url}"' in stamped.source
        committed = _first_cell(topic)
        assert stamped.source == committed.replace('UTILS_URL = ""', f'UTILS_URL = "{server.url}"')

        # a student uploads that notebook alone
        alone = tmp_path / "hub" / "home" / "me"
        alone.mkdir(parents=True)
        assert not (alone / ".." / ".." / "utils").exists()
        python = fresh_venv(tmp_path / "hub-env", host)
        env = offline_pip(pypi)
        ran = _run_first_cell(python, stamped.source, alone, env)
        assert ran["error"] is None, ran["output"][-3000:]
        assert ran["utils"].startswith(str(tmp_path / "hub-env")), ran      # installed, not the repository's
        assert ran["torchinfo"].startswith(str(tmp_path / "hub-env")), ran  # the extra came with it
        assert ran["torch"].startswith(str(host)), ran                       # the host's torch stayed

        # the same without the setting: a clear message, nothing installed
        python = fresh_venv(tmp_path / "hub-env-2", host)
        ran = _run_first_cell(python, committed, alone, env)
        assert ran["error"].startswith("ModuleNotFoundError: This notebook needs the course's library"), ran["error"]
        assert "ask your instructor" in ran["error"]
        assert not list((tmp_path / "hub-env-2").rglob("utils/__init__.py")), "installed something anyway"

        # the course folder uploaded whole: from ../../utils
        folder = tmp_path / "upload" / "course"
        shutil.copytree(ROOT / "utils", folder / "utils", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        (folder / "notebooks" / topic).mkdir(parents=True)
        ran = _run_first_cell(python, committed, folder / "notebooks" / topic, env)
        assert ran["error"] is None, ran["output"][-3000:]
        env_2 = str(tmp_path / "hub-env-2")
        assert ran["utils"].startswith(env_2) and ran["torchinfo"].startswith(env_2), ran
        assert ran["torch"].startswith(str(host)), ran
    finally:
        server.close()
