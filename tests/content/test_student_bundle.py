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
from coursekit.paths import solution_notebook, topics

TOPICS = topics()


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    return bundle.build(tmp_path_factory.mktemp("bundle") / "student-bundle.zip")


def test_bundle_holds_what_students_need(built):
    names = set(zipfile.ZipFile(built).namelist())
    for topic in TOPICS:
        assert f"notebooks/{topic}/{topic}.ipynb" in names
    for needed in ("utils/__init__.py", "utils/checks.py", "utils/plotting.py", "utils/pyproject.toml",
                   "utils/_data/mnist_sample.npz", "etc/jupyter-student/labconfig/page_config.json",
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
    for topic in TOPICS:
        lines = notebook.split_lines(solution_notebook(topic))
        hidden |= lines[notebook.BEGIN_HIDDEN_TESTS]
        public |= lines["public"]
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
                topic = Path(name).parts[1]
                solution = notebook.private_lines(solution_notebook(topic), kinds=(notebook.BEGIN_SOLUTION,))
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
