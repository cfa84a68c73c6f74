"""What a graded test cell leaves behind for the student's later cells, as one shared kernel would.

Under the judge a test cell runs in the judge's kernel, so the names it binds (``import math``,
``helper = 10``) are not in the student's kernel, where the student's later cells run; in the student's
own run (JupyterLab, Validate) and in plain nbgrader they are. The names of the cell's *released* part
(its source less the hidden test regions, as ``nbgrader generate_assignment`` cut them: the student's
own kernel ran exactly that) that a cell of the student's kernel uses are shared with it: the cell's
assignments of them reach the student's kernel before the cell next reads the student's state or runs
the student's code (a global a student's function reads), as plain data (coursekit/judge/namespace.py
``JudgeNamespace.share``; anything else, a judge's object, stays in the judge), and after the cell its
import statements and its functions' and classes' definitions run there (the student's kernel's own
modules; functions over the student's names, as in one kernel). A name the hidden part binds or may change (a store into it, a call of one
of its methods) is not left, nor is anything only the hidden part binds: the hidden tests' data never
reaches the student's kernel. (Not seen: a hidden test that passes a left name to a function of its own
that changes it.)
"""
from __future__ import annotations

import ast
from collections import Counter


class _Bindings(ast.NodeVisitor):
    """Names bound at a cell's top level (in its if/for/while/with/try blocks too, not in the bodies
    of its functions, classes, lambdas or comprehensions), counted per binding site; and its import
    statements."""

    def __init__(self):
        self.names: Counter = Counter()
        self.imports: list[str] = []

    def _target(self, node) -> None:
        if isinstance(node, ast.Name):
            self.names[node.id] += 1
        elif isinstance(node, (ast.Tuple, ast.List)):
            for elt in node.elts:
                self._target(elt)
        elif isinstance(node, ast.Starred):
            self._target(node.value)

    def visit_Assign(self, node):
        for target in node.targets:
            self._target(target)
        self.generic_visit(node)

    def _one_target(self, node):          # x += 1, x: int = 1, (x := 1), for x in ...
        self._target(node.target)
        self.generic_visit(node)

    visit_AugAssign = visit_AnnAssign = visit_NamedExpr = visit_For = visit_AsyncFor = _one_target

    def visit_withitem(self, node):
        if node.optional_vars is not None:
            self._target(node.optional_vars)
        self.generic_visit(node)

    def _import(self, node):
        for alias in node.names:
            if alias.name != "*":
                self.names[alias.asname or alias.name.split(".")[0]] += 1
        if not getattr(node, "level", 0):
            line = ast.unparse(node)
            if line not in self.imports:
                self.imports.append(line)

    visit_Import = visit_ImportFrom = _import

    def _scope(self, node):          # a function's or class's own name; not what its body binds
        self.names[node.name] += 1
        for decorator in node.decorator_list:
            self.visit(decorator)

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _scope

    def visit_Lambda(self, node):
        pass

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = visit_Lambda


def _parse(source: str):
    from IPython.core.inputtransformer2 import TransformerManager
    try:
        return ast.parse(TransformerManager().transform_cell(source))
    except (SyntaxError, ValueError, RecursionError):
        return None


def _base(node):
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _names(tree, changes: bool) -> Counter:
    """Every identifier a cell mentions anywhere (a name read or bound, an import, a def), counted; with
    ``changes``, only where it binds or may change the name's object: a binding, a ``del``, a store into
    its items or attributes, an augmented assignment, a call of one of its methods (``shared.append(x)``),
    a ``global``. Reading it (``f(x)``, ``x * 2``) is not one."""
    found: Counter = Counter()
    for node in ast.walk(tree):
        name = None
        if isinstance(node, ast.Name):
            name = node.id if not changes or not isinstance(node.ctx, ast.Load) else None
        elif isinstance(node, (ast.Attribute, ast.Subscript)):
            name = _base(node) if changes and not isinstance(node.ctx, ast.Load) else None
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name = _base(node.func.value) if changes else None
        elif isinstance(node, ast.alias):
            name = node.asname or node.name.split(".")[0]
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            name = node.name
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            found.update(node.names)
        if name:
            found[name] += 1
    return found


def used_names(source: str) -> set[str]:
    """The identifiers a cell that runs in the student's kernel mentions (nothing if it is not Python)."""
    tree = _parse(source)
    return set(_names(tree, changes=False)) if tree is not None else set()


def left_for_the_student(full: str, released: str, used: set[str]) -> tuple[list[str], list[str]]:
    """(code to run in the student's kernel: import statements and top-level function and class
    definitions; names whose values cross as data) to leave in the student's kernel after the test cell
    ``full`` ran in the judge: those its released part binds, that a cell of the student's kernel mentions
    (``used``), and that its hidden part neither binds nor may change (:func:`_names`: so it
    cannot have put hidden data in them; reading them is fine)."""
    shown_tree, full_tree = _parse(released), _parse(full)
    if shown_tree is None or full_tree is None:
        return [], []
    shown = _Bindings()
    shown.visit(shown_tree)
    in_shown, in_full = _names(shown_tree, changes=True), _names(full_tree, changes=True)
    keep = {n for n in shown.names if n in used and in_full[n] == in_shown[n] and not n.startswith("__")}
    code, done = [], set()
    for line in shown.imports:
        bound = {a.asname or a.name.split(".")[0] for a in ast.parse(line).body[0].names}
        if bound and bound <= keep:
            code.append(line)
            done |= bound
    for node in shown_tree.body:          # a function or class the released part defines: defined there too
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name in keep \
                and shown.names[node.name] == 1:
            code.append(ast.unparse(node))
            done.add(node.name)
    return code, sorted(keep - done)
