"""The instructor's reference: ``reference(name)`` is the function or class ``name`` of the instructor's
solution notebook, for hidden tests that compare a student's answer with it (``properties``).

The reference is built from the notebook's source, in a namespace of its own (never the notebook's
globals, never the student's): from every code cell that is not a graded test cell, its top-level
imports, ``def``s, ``class``es and assignments of constants; from every solution cell (nbgrader
``solution: true``), all of it (falling back to its imports and definitions when the whole cell cannot
run on its own). Lecture code, plots and training loops do not run, and a lecture cell's import only
where the definitions kept need it. One namespace per notebook, cached.

Which notebook, in this order:

1. ``reference(name, notebook=path)``;
2. the environment variable ``COURSEKIT_REFERENCE``: a notebook, or a folder of notebooks
   (``<topic>.ipynb`` or ``<topic>/<topic>.ipynb``, the topic being the current folder's name). The
   grader sets it in the judge's sandbox: there the student's kernel cannot read it;
3. the instructor's checkout: from the current folder upwards, ``solutions/<topic>/<topic>.ipynb`` or
   nbgrader's ``source/<topic>/<topic>.ipynb`` (a notebook run from ``solutions/01_tensors/``, by
   nbval, the mutation runner or tests/content/test_exercises.py, finds its own file on disk, which
   those tools never modify: they change cells in the kernel only);
4. the only notebook in the current folder, when it carries nbgrader's solution markers and the folder
   is not a student's (``submitted/``, ``autograded/``, ``feedback/``, ``release/``): a submission's
   solution cells are the student's code, never a reference.

Students never have it: the student version of a notebook has no hidden tests, and a student's
machine has no solutions (``reference`` then says so).
"""
from __future__ import annotations

import ast
import json
import os
import re
from pathlib import Path

__all__ = ["reference", "ReferenceNotFound"]

ENV = "COURSEKIT_REFERENCE"
_STUDENT_FOLDERS = {"submitted", "autograded", "feedback", "release"}
_SOLUTION_MARK = "### BEGIN " + "SOLUTION"     # (not written whole: the student bundle refuses the markers)
_CACHE: dict = {}


class ReferenceNotFound(LookupError):
    """No instructor's notebook here: the reference exists only for the grader's judge and the instructor."""


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _nbgrader(cell: dict) -> dict:
    meta = (cell.get("metadata") or {}).get("nbgrader") or {}
    return meta if isinstance(meta, dict) else {}


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ReferenceNotFound(f"reference: could not read the instructor's notebook {path}: {err}") from None


def _has_solutions(path: Path) -> bool:
    try:
        nb = _read(path)
    except ReferenceNotFound:
        return False
    return any(c.get("cell_type") == "code" and _nbgrader(c).get("solution") and _SOLUTION_MARK in _source(c)
               for c in nb.get("cells", []))


def _in_student_folder(folder: Path) -> bool:
    return any(part in _STUDENT_FOLDERS for part in folder.resolve().parts)


def locate(notebook=None, cwd=None) -> Path:
    """The instructor's notebook the reference comes from (see the module docstring), or ReferenceNotFound."""
    if notebook is not None:
        path = Path(notebook)
        if not path.is_file():
            raise ReferenceNotFound(f"reference: no notebook at {path}.")
        return path.resolve()
    here = Path(cwd or os.getcwd()).resolve()
    topic = here.name
    looked = []
    env = os.environ.get(ENV)
    if env:
        base = Path(env)
        if base.is_file():
            return base.resolve()
        candidates = [base / f"{topic}.ipynb", base / topic / f"{topic}.ipynb"]
        for c in candidates:
            if c.is_file():
                return c.resolve()
        found = sorted(base.glob("*.ipynb")) if base.is_dir() else []
        if len(found) == 1:
            return found[0].resolve()
        raise ReferenceNotFound(f"reference: {ENV}={env} holds no notebook for the topic {topic!r} (looked for "
                                f"{', '.join(str(c) for c in candidates)}).")
    for folder in (here, *here.parents):
        for kind in ("solutions", "source"):
            c = folder / kind / topic / f"{topic}.ipynb"
            looked.append(str(c.parent.parent))
            if c.is_file() and not _in_student_folder(c.parent):
                return c.resolve()
    if not _in_student_folder(here):
        found = [p for p in sorted(here.glob("*.ipynb")) if _has_solutions(p)]
        if len(found) == 1:
            return found[0].resolve()
    raise ReferenceNotFound(
        f"reference: the instructor's solution notebook for {topic!r} was not found (looked in ${ENV}, for "
        f"solutions/{topic}/{topic}.ipynb and source/{topic}/{topic}.ipynb from {here} upwards, and for a "
        f"notebook with solution cells in {here}). The reference is only available to the grader's judge and "
        "to the instructor; hidden tests that use it do not run on a student's machine.")


_MAGIC = re.compile(r"^(\s*)[%!].*$", re.M)


def _parse(source: str):
    try:
        return ast.parse(_MAGIC.sub(r"\1pass", source))
    except SyntaxError:
        return None


def _is_constant(node) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _definitions(tree) -> list:
    keep = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            keep.append(node)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None \
                and all(isinstance(t, ast.Name) for t in (node.targets if isinstance(node, ast.Assign) else [node.target])) \
                and _is_constant(node.value):
            keep.append(node)
    return keep


def _run(nodes: list, namespace: dict, filename: str) -> None:
    module = ast.Module(body=nodes, type_ignores=[])
    exec(compile(module, filename, "exec"), namespace)  # noqa: S102 - the instructor's own notebook


def _bound(node) -> set:
    """The names a kept top-level statement binds."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
    return {t.id for t in targets if isinstance(t, ast.Name)}


def _used(nodes) -> set:
    return {n.id for node in nodes for n in ast.walk(node) if isinstance(n, ast.Name)}


def _plan(path: Path, roots) -> list:
    """(index, solution?, nodes) in notebook order: every solution cell, and the lecture cells'
    definitions; a lecture cell's import only where what the solutions (and ``roots``) use needs it, so
    that a lecture's matplotlib or widgets are not imported for a reference that does not plot."""
    cells = []
    for index, cell in enumerate(_read(path).get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        meta = _nbgrader(cell)
        if meta.get("grade") and not meta.get("solution"):
            continue                                   # a graded test cell
        tree = _parse(_source(cell))
        if tree is not None:
            cells.append((index, bool(meta.get("solution")), tree))
    needed = set(roots) | _used(t for _, solution, t in cells if solution)
    lecture = [node for _, solution, t in cells if not solution for node in _definitions(t)]
    grew = True
    while grew:                                       # what the needed definitions need, and so on
        grew = False
        for node in lecture:
            if not isinstance(node, (ast.Import, ast.ImportFrom)) and _bound(node) & needed:
                more = _used([node]) - needed
                if more:
                    needed |= more
                    grew = True
    return [(index, solution, tree, needed) for index, solution, tree in cells]


def build(path: Path, roots=()) -> dict:
    """The reference namespace of the notebook at ``path`` (see the module docstring)."""
    namespace: dict = {"__name__": f"coursekit_reference_{path.stem}", "__builtins__": __builtins__}
    plan = _plan(path, roots)
    namespace["__reference_needs__"] = frozenset(plan[0][3]) if plan else frozenset(roots)
    for index, solution, tree, needed in plan:
        filename = f"<reference {path.stem} cell {index}>"
        if solution:
            try:
                _run(list(tree.body), namespace, filename)
                continue
            except Exception:       # it needs the lecture's state: its imports and definitions still count
                tree = _parse(ast.unparse(tree))
        for node in _definitions(tree):
            if not solution and isinstance(node, (ast.Import, ast.ImportFrom)) and not _bound(node) & needed:
                continue
            try:
                _run([node], namespace, filename)
            except Exception as err:
                if solution:
                    raise RuntimeError(f"reference: cell {index} of {path} failed while building the reference: "
                                       f"{type(err).__name__}: {err}") from None
                # a lecture cell's import or definition that cannot run on its own: not the reference's
    return namespace


def reference(name: str, notebook=None):
    """The instructor's ``name`` (a function or class of the solution notebook), for hidden tests.

    >>> import json, tempfile, pathlib
    >>> cells = [{"cell_type": "code", "metadata": {"nbgrader": {"solution": True, "grade": False}},
    ...           "source": "def double(x):\\n    return 2 * x"},
    ...          {"cell_type": "code", "metadata": {}, "source": "print('a lecture cell, not run')"}]
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "demo.ipynb"
    >>> _ = path.write_text(json.dumps({"cells": cells}))
    >>> reference("double", notebook=path)(21)
    42
    >>> reference("triple", notebook=path)
    Traceback (most recent call last):
    ...
    LookupError: reference: the instructor's notebook ... defines no 'triple' (it defines: double).
    """
    if not isinstance(name, str):
        raise TypeError(f"reference(): `name` must be the name of a function or class, got {name!r}.")
    path = locate(notebook)
    stamp = path.stat().st_mtime_ns
    cached = _CACHE.get(path)
    if cached is None or cached[0] != stamp:
        cached = (stamp, build(path))
        _CACHE[path] = cached
    namespace = cached[1]
    if name in namespace and name not in namespace["__reference_needs__"]:
        # a lecture's own definition: built again with the imports it needs
        cached = (stamp, build(path, roots=namespace["__reference_needs__"] | {name}))
        _CACHE[path] = cached
        namespace = cached[1]
    if name not in namespace:
        defined = sorted(k for k, v in namespace.items() if not k.startswith("_") and callable(v)
                         and getattr(v, "__module__", None) == namespace["__name__"])
        raise LookupError(f"reference: the instructor's notebook {path} defines no {name!r} (it defines: "
                          f"{', '.join(defined) or 'nothing'}).")
    return namespace[name]
