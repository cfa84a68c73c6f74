"""One environment: pyproject.toml holds the pins, requirements.lock the transitive set, and
everything else (environment.yml, the Makefile, utils/pyproject.toml, the README) agrees with them."""
from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, packages_distributions, version

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from coursekit.paths import ROOT

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
FIRST_PARTY = {"utils", "coursekit", "benchmarks", "tests", "conftest", "wrong_answers",
               "coursekit_judge"}   # coursekit/judge, loaded by path under this name in the grading kernels


def _requirements(project=PROJECT) -> list[Requirement]:
    reqs = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        reqs += extra
    return [Requirement(r) for r in reqs]


def _pins() -> dict[str, str]:
    return {canonicalize_name(r.name): str(r.specifier) for r in _requirements()}


def _lock() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            req = Requirement(line)
            name = canonicalize_name(req.name)
            assert name not in pins, f"requirements.lock lists {name} twice"
            pins[name] = str(req.specifier)
    return pins


def test_every_dependency_is_pinned_exactly():
    loose = {name: spec for name, spec in _pins().items() if not spec.startswith("==")}
    assert not loose, f"pyproject.toml has unpinned dependencies: {loose}"


def test_lock_pins_everything_and_agrees_with_pyproject():
    lock = _lock()
    loose = {name: spec for name, spec in lock.items() if not re.fullmatch(r"==[^+,]+", spec)}
    assert not loose, f"requirements.lock: every line must be name==version (no local label): {loose}"
    disagree = {name: (spec, lock.get(name)) for name, spec in _pins().items() if lock.get(name) != spec}
    assert not disagree, f"pyproject.toml and requirements.lock disagree (pin, lock): {disagree}; run `make lock`"


def test_environment_yml_installs_from_the_lock_and_repeats_no_pin():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert pip_section == ["-c requirements.lock", "-e .[test]"], pip_section
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python="))
    minimum = SpecifierSet(PROJECT["requires-python"])
    major_minor = python.split("=", 1)[1]
    assert any(f"{major_minor}.{patch}" in minimum for patch in range(30)), \
        f"environment.yml asks for {python}, outside requires-python {minimum}"


def test_make_setup_installs_with_the_lock():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"pip install .*-c requirements\.lock .*-e \"\.\[test\]\"", makefile)
    assert re.search(r"^\$\(STAMP\):.*requirements\.lock", makefile, re.M), "the venv must be rebuilt when the lock changes"


def test_installed_versions_match_the_lock():
    wrong = {}
    for name, spec in _lock().items():
        try:
            installed = version(name)
        except PackageNotFoundError:  # a platform-specific package (constraints install only what is needed)
            continue
        if installed.split("+")[0] != spec.removeprefix("=="):
            wrong[name] = (spec, installed)
    assert not wrong, f"installed versions differ from requirements.lock (lock, installed): {wrong}; run `make setup`"


def test_requires_python_is_what_installs_and_the_readme_agrees():
    spec = SpecifierSet(PROJECT["requires-python"])
    here = ".".join(map(str, sys.version_info[:3]))
    assert here in spec, f"this environment runs Python {here}, outside requires-python {spec}"
    minimum = re.fullmatch(r">=([\d.]+)", PROJECT["requires-python"]).group(1)
    assert f"Python {minimum}" in (ROOT / "README.md").read_text(), f"README must say Python {minimum}"


def _imported_modules(folders) -> dict[str, set[str]]:
    """Top-level module name -> the files that import it (absolute imports only)."""
    found: dict[str, set[str]] = {}
    for folder in folders:
        for path in (ROOT / folder).rglob("*.py"):
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                for name in names:
                    found.setdefault(name.split(".")[0], set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_import_is_declared():
    """Each third-party module imported by the kit comes from a distribution pyproject.toml names."""
    declared = set(_pins())
    dists = packages_distributions()
    undeclared = {}
    test_modules = {p.stem for p in (ROOT / "tests").rglob("*.py")}  # one test file importing another's helpers
    for module, files in _imported_modules(["utils", "coursekit", "tests", "benchmarks"]).items():
        if module in sys.stdlib_module_names or module in FIRST_PARTY | test_modules or module.startswith("_"):
            continue
        names = {canonicalize_name(d) for d in dists.get(module, [])}
        if not names & declared:
            undeclared[module] = (sorted(names) or ["not installed"], sorted(files)[:3])
    assert not undeclared, f"imported but not declared in pyproject.toml: {undeclared}"


def test_utils_alone_has_loose_requirements_and_keeps_the_hosts_torch():
    """utils/pyproject.toml (JupyterHub, Colab): a subset of the course's packages, none pinned;
    torchvision (whose wheels pin one torch version) only in the extra `course`, which the notebooks'
    first cell installs with the host's torch pinned next to it (tests/content/test_first_cell.py)."""
    project = tomllib.loads((ROOT / "utils" / "pyproject.toml").read_text())["project"]
    reqs = _requirements(project)
    pinned = [str(r) for r in reqs if any(s.operator in ("==", "===", "~=") for s in r.specifier)]
    assert not pinned, f"utils/pyproject.toml must not pin: {pinned}"
    names = {canonicalize_name(r.name) for r in reqs}
    assert names <= set(_pins()), f"utils needs packages the course does not declare: {names - set(_pins())}"
    core = {canonicalize_name(Requirement(r).name) for r in project["dependencies"]}
    assert "torch" in core and "torchvision" not in core
    assert project["version"] == PROJECT["version"]


def test_utils_and_coursekit_importable_from_anywhere(tmp_path):
    proc = subprocess.run([sys.executable, "-c", "import utils, coursekit; print(utils.__file__)"],
                          cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().startswith(str(ROOT / "utils")), proc.stdout


@pytest.mark.slow
def test_utils_builds_on_its_own(tmp_path):
    """utils/ is a project of its own: its wheel holds the library and the MNIST sample, nothing else."""
    import shutil
    import zipfile

    src = tmp_path / "src"
    shutil.copytree(ROOT / "utils", src, ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           str(src), "-w", str(tmp_path / "dist")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"utils/__init__.py", "utils/plotting.py", "utils/_data/mnist_sample.npz"} <= names
    assert not {n for n in names if n.startswith("utils/") and n.endswith(".toml")}
