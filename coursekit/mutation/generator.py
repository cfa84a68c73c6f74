"""Mutants of one exercise's solution cell, generated on Python's ``ast``.

Why our own generator and not a mutation library's: mutmut (libcst) and cosmic-ray (parso) mutate
whole modules on disk and drive their own test runners (pytest, trampolines, per-mutant worker
processes); neither can mutate only the part of a *notebook cell* between ``### BEGIN SOLUTION``
and ``### END SOLUTION`` and hand the result to a Jupyter kernel that already holds the notebook's
state. Their operators are also generic (``+``/``-``, numbers, strings) where this course's
mistakes are PyTorch habits: a forgotten ``zero_grad()``, the wrong ``dim``, ``mean`` for
``sum``, a cut graph. The classic operators we do want (arithmetic, comparison, constant, loop
"zero iteration" from cosmic-ray) are a few lines each on ``ast``, so they are written here too.

How a mutant is made: the cell is parsed once; every node that lies wholly inside a solution region
is offered to each operator; an operator yields a replacement node (or statements). The replacement
is spliced into the cell *text* at the node's position, so the markers, the signature, the docstring
and comments elsewhere stay as they were. A mutant that does not compile, or whose code equals the
original, is dropped; mutants are deduplicated by their normalised code (``ast.unparse``), and each
gets a stable id: a hash of the token stream of its solution regions (comments and blank lines
ignored), so an id survives edits to the prose, the docstring or comments of the cell.
"""
from __future__ import annotations

import ast
import hashlib
import io
import tokenize
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"


# ------------------------------------------------------------------------------------------
# The result
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Mutant:
    id: str            # stable: hash of the mutated solution regions' tokens
    operator: str      # name of the operator that made it (see OPERATORS)
    description: str   # what changed, e.g. "`X.mean(dim=0)` -> `X.mean(dim=1)`"
    line: int          # 1-based line of the cell where the change starts
    source: str        # the whole mutated cell, markers included

    def diff(self, original: str, name: str = "solution") -> str:
        """Unified diff of the cell from ``original`` to this mutant."""
        import difflib

        return "".join(difflib.unified_diff(
            _ensure_nl(original).splitlines(keepends=True), _ensure_nl(self.source).splitlines(keepends=True),
            fromfile=f"{name} (original)", tofile=f"{name} (mutant {self.id}, {self.operator})", n=1))


def _ensure_nl(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


# ------------------------------------------------------------------------------------------
# Solution regions
# ------------------------------------------------------------------------------------------
def solution_regions(source: str) -> list[tuple[int, int]]:
    """1-based (first, last) line numbers strictly between each BEGIN/END SOLUTION marker pair."""
    regions, start = [], None
    for number, line in enumerate(source.splitlines(), start=1):
        text = line.strip()
        if text == BEGIN_SOLUTION:
            start = number + 1
        elif text == END_SOLUTION and start is not None:
            if number - 1 >= start:
                regions.append((start, number - 1))
            start = None
    return regions


def region_fingerprint(source: str) -> str:
    """Tokens of the solution regions (no comments, no blank lines), one string: what ids hash."""
    regions = solution_regions(source)
    if not regions:
        return ""
    lines = set()
    for first, last in regions:
        lines.update(range(first, last + 1))
    parts = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.start[0] not in lines or tok.type in (tokenize.COMMENT, tokenize.NL):
                continue
            if tok.type == tokenize.INDENT:
                parts.append("<INDENT>")
            elif tok.type == tokenize.DEDENT:
                parts.append("<DEDENT>")
            elif tok.type == tokenize.NEWLINE:
                parts.append("<NL>")
            else:
                parts.append(tok.string)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return "\n".join(source.splitlines()[a - 1:b] for a, b in regions)  # type: ignore[arg-type]
    return " ".join(parts)


def mutant_id(source: str) -> str:
    return hashlib.sha1(region_fingerprint(source).encode()).hexdigest()[:12]


def normalised(source: str) -> str:
    """The code of a cell without comments and layout (what deduplication compares)."""
    return ast.unparse(ast.parse(source))


# ------------------------------------------------------------------------------------------
# Operators
# ------------------------------------------------------------------------------------------
# An operator is a function (node, context) -> iterable of (target, replacement, description):
# target is the node that is replaced (an expression or a statement), replacement an expression
# node, or a list of statements when target is a statement (an empty list means `pass`).
Edit = tuple[ast.AST, "ast.AST | list[ast.stmt]", str]
OperatorFn = Callable[[ast.AST, "Context"], Iterable[Edit]]


@dataclass
class Operator:
    name: str
    doc: str
    fn: OperatorFn


OPERATORS: dict[str, Operator] = {}


def operator(name: str, doc: str):
    def register(fn: OperatorFn) -> OperatorFn:
        OPERATORS[name] = Operator(name, doc, fn)
        return fn
    return register


@dataclass
class Context:
    parents: dict[int, ast.AST] = field(default_factory=dict)
    #: names the cell binds to number, list or dict literals (``total, count = 0.0, 0``, ``layers = []``):
    #: local Python accumulators, for which ``x += y`` and ``x = x + y`` are the same
    number_names: set[str] = field(default_factory=set)
    #: names every assignment of the cell binds to a tensor that cannot require grad (torch.zeros(...))
    no_grad_names: set[str] = field(default_factory=set)

    def parent(self, node: ast.AST) -> ast.AST | None:
        return self.parents.get(id(node))

    def ancestors(self, node: ast.AST) -> Iterator[ast.AST]:
        node = self.parent(node)
        while node is not None:
            yield node
            node = self.parent(node)

    def under_no_grad(self, node: ast.AST) -> bool:
        """Inside ``with torch.no_grad():`` (or inference_mode), where .detach() changes nothing."""
        return any(isinstance(a, ast.With) and any(
            isinstance(item.context_expr, ast.Call) and _call_name(item.context_expr) in ("no_grad", "inference_mode")
            for item in a.items) for a in self.ancestors(node))

    @classmethod
    def of(cls, tree: ast.AST) -> "Context":
        ctx = cls()
        bound: dict[str, list[ast.AST]] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                bound.setdefault(node.targets[0].id, []).append(node.value)
            elif isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.For, ast.comprehension, ast.NamedExpr)):
                for name in ast.walk(node.target):
                    if isinstance(name, ast.Name) and isinstance(name.ctx, ast.Store):
                        bound.setdefault(name.id, []).append(node)
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    for name in ast.walk(target):
                        if isinstance(name, ast.Name) and isinstance(name.ctx, ast.Store):
                            bound.setdefault(name.id, []).append(node)
            elif isinstance(node, ast.arg):
                bound.setdefault(node.arg, []).append(node)
        ctx.no_grad_names = {name for name, values in bound.items() if all(_never_requires_grad(v) for v in values)}
        for parent in ast.walk(tree):
            for child in ast.iter_child_nodes(parent):
                ctx.parents[id(child)] = parent
            if isinstance(parent, ast.Assign):
                for target in parent.targets:
                    pairs = []
                    if isinstance(target, ast.Name):
                        pairs = [(target, parent.value)]
                    elif isinstance(target, ast.Tuple) and isinstance(parent.value, ast.Tuple) \
                            and len(target.elts) == len(parent.value.elts):
                        pairs = list(zip(target.elts, parent.value.elts))
                    for name, value in pairs:
                        if isinstance(name, ast.Name) and (
                                (isinstance(value, ast.Constant) and type(value.value) in (int, float))
                                or isinstance(value, (ast.List, ast.Dict, ast.ListComp))):
                            ctx.number_names.add(name.id)
        return ctx


class _Text:
    """Cell text addressed the way ``ast`` addresses it (1-based lines, UTF-8 byte columns)."""

    def __init__(self, source: str):
        self.source = source
        self.lines = source.splitlines(keepends=True)
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line))

    def offset(self, lineno: int, col: int) -> int:
        line = self.lines[lineno - 1] if lineno - 1 < len(self.lines) else ""
        return self.starts[lineno - 1] + len(line.encode("utf-8")[:col].decode("utf-8", errors="ignore"))

    def line(self, lineno: int) -> str:
        return self.lines[lineno - 1] if lineno - 1 < len(self.lines) else ""


_ATOMIC = (ast.Name, ast.Attribute, ast.Call, ast.Subscript, ast.List, ast.Tuple, ast.Dict, ast.Set,
           ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _needs_no_parens(target: ast.AST, parent: ast.AST | None) -> bool:
    """True where any expression fits without parentheses: a call argument, a keyword value, an element
    of a list or tuple, a returned or assigned value, an index."""
    if isinstance(parent, ast.Call):
        return target is not parent.func
    if isinstance(parent, (ast.keyword, ast.List, ast.Set, ast.Return, ast.Expr)):
        return True
    if isinstance(parent, (ast.If, ast.While)):
        return target is parent.test
    if isinstance(parent, (ast.For, ast.comprehension)):
        return target is parent.iter
    if isinstance(parent, ast.Tuple):
        return not isinstance(target, ast.Tuple)
    if isinstance(parent, (ast.Assign, ast.AugAssign)):
        return target is parent.value
    if isinstance(parent, ast.Subscript):
        return target is parent.slice
    return False


def _expression_text(node: ast.AST, bare: bool = False) -> str:
    text = _u(node)
    if bare and not isinstance(node, (ast.Tuple, ast.NamedExpr, ast.Lambda, ast.IfExp)):
        return text
    if isinstance(node, _ATOMIC):
        return text
    if isinstance(node, ast.Constant) and not (isinstance(node.value, (int, float)) and node.value < 0):
        return text
    return f"({text})"


def _splice(text: _Text, target: ast.AST, replacement, parent: ast.AST | None = None) -> str | None:
    """The cell with ``target`` replaced, or None when the edit cannot be placed cleanly."""
    if isinstance(target, ast.stmt):
        start_line = text.line(target.lineno)
        indent = start_line[: len(start_line) - len(start_line.lstrip())]
        if text.offset(target.lineno, target.col_offset) != text.starts[target.lineno - 1] + len(indent):
            return None                      # another statement before it on the line (a; b)
        end = text.offset(target.end_lineno, target.end_col_offset)
        rest = text.line(target.end_lineno)[end - text.starts[target.end_lineno - 1]:]
        if rest.strip() and not rest.strip().startswith("#"):
            return None                      # another statement after it on the line
        body = replacement or [ast.Pass()]
        code = "\n".join(ast.unparse(ast.Module(body=list(body), type_ignores=[])).splitlines())
        new = "\n".join(indent + line if line.strip() else line for line in code.splitlines())
        start = text.starts[target.lineno - 1]
        return text.source[:start] + new + text.source[end:]
    start = text.offset(target.lineno, target.col_offset)
    end = text.offset(target.end_lineno, target.end_col_offset)
    bare = _needs_no_parens(target, parent)
    return text.source[:start] + _expression_text(replacement, bare) + text.source[end:]


def _inside(node: ast.AST, regions: list[tuple[int, int]]) -> bool:
    lineno, end = getattr(node, "lineno", None), getattr(node, "end_lineno", None)
    if lineno is None or end is None:
        return False
    return any(first <= lineno and end <= last for first, last in regions)


def _mutable_nodes(tree: ast.AST, regions) -> Iterator[tuple[ast.AST, ast.AST]]:
    """(node, position) pairs: nodes inside a region; ``keyword`` and ``comprehension`` nodes carry no
    position of their own, so their value (iter) tells where they are."""
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword):
            where = node.value
        elif isinstance(node, ast.comprehension):
            where = node.iter
        else:
            where = node
        if _inside(where, regions):
            yield node, where


def generate(source: str, operators: Iterable[str] | None = None) -> list[Mutant]:
    """Every distinct, compilable mutant of the solution regions of ``source``, in source order.

    Nothing is generated for a cell without solution markers or that does not parse (IPython magics).
    """
    regions = solution_regions(source)
    if not regions:
        return []
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    chosen = [OPERATORS[name] for name in (operators or OPERATORS)]
    ctx = Context.of(tree)
    text = _Text(source)
    original = normalised(source)
    seen = {original}
    found: list[tuple[tuple[int, int], int, Mutant]] = []
    for node, where in _mutable_nodes(tree, regions):
        for rank, op in enumerate(chosen):
            for target, replacement, description in op.fn(node, ctx):
                if not _inside(target, regions):
                    continue
                new_source = _splice(text, target, replacement, ctx.parent(target))
                if new_source is None:
                    continue
                try:
                    compile(new_source, "<mutant>", "exec")
                    key = normalised(new_source)
                except (SyntaxError, ValueError):
                    continue
                if key in seen:
                    continue
                seen.add(key)
                mutant = Mutant(mutant_id(new_source), op.name, description, target.lineno, new_source)
                found.append(((target.lineno, target.col_offset), rank, mutant))
    found.sort(key=lambda item: (item[0], item[1]))
    return [m for _, _, m in found]


def sample(mutants: list[Mutant], limit: int | None) -> list[Mutant]:
    """At most ``limit`` mutants (all when limit is None or 0), deterministic and spread over operators:
    round-robin over the operators (in OPERATORS order), each operator's mutants ordered by id."""
    if not limit or len(mutants) <= limit:
        return list(mutants)
    by_op: dict[str, list[Mutant]] = {}
    for m in mutants:
        by_op.setdefault(m.operator, []).append(m)
    queues = [sorted(by_op[name], key=lambda m: m.id) for name in OPERATORS if name in by_op]
    chosen: list[Mutant] = []
    while len(chosen) < limit:
        for queue in queues:
            if queue and len(chosen) < limit:
                chosen.append(queue.pop(0))
    keep = {m.id for m in chosen}
    return [m for m in mutants if m.id in keep]


# The operators register themselves on import; the generator's Context and text helpers use three of their
# AST helpers. Imported last: operators.py needs Context and operator from this module.
from coursekit.mutation.operators import _call_name, _never_requires_grad, _u  # noqa: E402
from coursekit.mutation import operators_values  # noqa: E402,F401  (registers the value operators)
