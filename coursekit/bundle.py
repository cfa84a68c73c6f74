"""The student bundle: what students get, and nothing an instructor keeps to themselves.

    python -m coursekit student-bundle [DEST]     (default dist/student-bundle.zip; a folder if DEST has no .zip)

It holds notebooks/ (the generated student versions), utils/ (the student library, installable
on its own), the environment files (pyproject.toml and requirements.lock; an environment.yml
without the test extra), etc/jupyter-student/ (JupyterLab without instructor panels), LICENSE and
the student part of README.md. Before writing, every file is scanned: a bundle that holds a
solution or hidden-test marker, a line of a solution or hidden test, or a path of the
instructor's (solutions/, tests/, coursekit/, ...) is refused.
"""
from __future__ import annotations

import re
import shutil
import tempfile
import zipfile
from pathlib import Path

import nbformat

from coursekit import notebook
from coursekit.paths import ROOT, assignments, notebooks

#: Copied as they are (folders recursively, without caches and build output).
INCLUDED = ("notebooks", "utils", "etc/jupyter-student", "pyproject.toml", "requirements.lock", "LICENSE")
#: Never in a bundle, at any depth.
FORBIDDEN_PARTS = {"solutions", "tests", "coursekit", "benchmarks", "submitted", "autograded", "feedback",
                   "nbgrader_config.py", "gradebook.db", ".git"}
#: ... except these, inside an assignment's own folder notebooks/<assignment>/ (nbgrader releases an
#: assignment's files to its students, e.g. a tests/ folder of sample inputs).
ASSIGNMENT_PARTS = {"tests"}
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", "build", "*.egg-info")
# The student part of README.md lies between these two lines.
README_START = "<!-- student-bundle:start -->"
README_END = "<!-- student-bundle:end -->"
# Instructor tooling that still sits in utils/ while it moves to coursekit/ (never a student's).
_TOOLING_IN_UTILS = re.compile(r"^(grading.*|sandbox)\.py$")


def student_readme(readme: str) -> str:
    """The part of README.md between the student-bundle markers, under a title of its own."""
    start, end = readme.find(README_START), readme.find(README_END)
    if start < 0 or end < start:
        raise ValueError(f"README.md must mark its student part with {README_START} ... {README_END}")
    title = readme.splitlines()[0]
    return f"{title} (student edition)\n\n{readme[start + len(README_START):end].strip()}\n"


def student_environment(environment_yml: str) -> str:
    """environment.yml without the test extra (students need neither pytest nor a browser driver)."""
    if "-e .[test]" not in environment_yml:
        raise ValueError("environment.yml does not install the project with `-e .[test]`")
    return environment_yml.replace("-e .[test]", "-e .")


def _copy_tree(root: Path, out: Path) -> None:
    for name in INCLUDED:
        src = root / name
        if src.is_dir():
            shutil.copytree(src, out / name, ignore=_IGNORE)
        elif src.exists():
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, out / name)
    for path in (out / "utils").glob("*.py"):
        if _TOOLING_IN_UTILS.match(path.name):
            path.unlink()
    (out / "README.md").write_text(student_readme((root / "README.md").read_text()))
    (out / "environment.yml").write_text(student_environment((root / "environment.yml").read_text()))


def _files(bundle: Path) -> dict[str, bytes]:
    """Relative path -> content of every file in a bundle folder or zip."""
    if bundle.suffix == ".zip":
        with zipfile.ZipFile(bundle) as zf:
            return {n: zf.read(n) for n in zf.namelist() if not n.endswith("/")}
    return {str(p.relative_to(bundle)): p.read_bytes() for p in sorted(bundle.rglob("*")) if p.is_file()}


def _text_lines(name: str, data: bytes) -> set[str] | None:
    """The stripped lines of a text file (of a notebook: its cells' lines); None for binary files."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if name.endswith(".ipynb"):
        return {line.strip() for cell in nbformat.reads(text, as_version=4).cells for line in cell.source.splitlines()}
    return {line.strip() for line in text.splitlines()}


def find_leaks(bundle: Path, root: Path = ROOT) -> list[str]:
    """What in the bundle (folder or zip) students must not see; empty when it is clean.

    The source notebooks are every notebook of every assignment in solutions/ (course topics and any
    other). Every file: instructor paths, the markers, any line of a hidden test that no source
    notebook shows openly. A file under notebooks/<assignment>/ (its notebooks, its data): also any
    line of that assignment's own solutions and hidden tests. Any other file: also a whole solution
    region (three or more specific lines), since single lines of a solution (a training loop's header)
    may rightly appear in the library.
    """
    mine, hidden, public, regions = {}, set(), set(), []
    for topic in assignments(root):
        mine[topic] = set()
        for path in notebooks(topic, root):
            source = notebook.read(path)
            lines = notebook.split_lines(source)
            own_lines = notebook.private_lines(source)
            mine[topic] |= own_lines
            hidden |= lines[notebook.BEGIN_HIDDEN_TESTS]
            public |= lines["public"]
            for cell in source.cells:
                for region in notebook.marked_regions(cell.source):
                    own = {line.strip() for line in region} & own_lines
                    if len(own) >= 3:
                        regions.append(own)
    # a line some topic shows openly is public, and so is a line of the course's own student library
    # (a hidden test's `__tracebackhide__ = True` or `with torch.enable_grad():` is also a line of utils/)
    library = set()
    for path in sorted((root / "utils").rglob("*.py")):
        library |= _text_lines(path.name, path.read_bytes()) or set()
    hidden = notebook.specific(hidden - public - library)
    markers = [m.removeprefix("### ").encode() for m in notebook.MARKERS]
    leaks = []
    for name, data in _files(Path(bundle)).items():
        parts = Path(name).parts
        own = set(parts[2:-1]) & ASSIGNMENT_PARTS if parts[0] == "notebooks" else set()
        if (FORBIDDEN_PARTS - own) & set(parts):
            leaks.append(f"{name}: instructor path")
        found = [m.decode() for m in markers if m in data]
        if found:
            leaks.append(f"{name}: contains {', '.join(found)}")
        lines = _text_lines(name, data)
        if lines is None:
            continue
        topic_lines = mine.get(parts[1], set()) if len(parts) > 2 and parts[0] == "notebooks" else set()
        shown = sorted((hidden | topic_lines) & lines) or next((sorted(r) for r in regions if r <= lines), [])
        if shown:
            leaks.append(f"{name}: shows solution or hidden-test code, e.g. {shown[0]!r}")
    return leaks


def build(dest: Path, root: Path = ROOT) -> Path:
    """Write the bundle to ``dest`` (a .zip file, or a folder); ValueError if it would leak."""
    dest, root = Path(dest), Path(root)
    with tempfile.TemporaryDirectory(prefix="student-bundle-") as tmp:
        staging = Path(tmp) / "student-bundle"
        _copy_tree(root, staging)
        leaks = find_leaks(staging, root)
        if leaks:
            raise ValueError("the student bundle would leak:\n  " + "\n  ".join(leaks))
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.suffix == ".zip":
            dest.unlink(missing_ok=True)
            shutil.make_archive(str(dest.with_suffix("")), "zip", root_dir=staging)
        else:
            shutil.rmtree(dest, ignore_errors=True)
            shutil.copytree(staging, dest)
    return dest
