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
import copy
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


def _u(node: ast.AST) -> str:
    return ast.unparse(node)


def _clone(node):
    return copy.deepcopy(node)


def _call_name(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return None


#: Names under which the course's code reaches PyTorch's (and NumPy's) functions.
MODULE_NAMES = {"torch", "F", "nn", "np", "numpy", "functional", "math", "optim", "init"}


def _is_module_ref(node: ast.AST) -> bool:
    """``torch``, ``torch.nn``, ``F``, ``nn.functional`` ...: a module, not a tensor."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name) and node.id in MODULE_NAMES


def _is_function_call(call: ast.Call) -> bool:
    """``torch.f(x, ...)`` or ``F.f(x, ...)`` rather than the method ``x.f(...)``."""
    return isinstance(call.func, ast.Attribute) and _is_module_ref(call.func.value)


def _int_value(node: ast.AST) -> int | None:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
            and isinstance(node.operand, ast.Constant) and type(node.operand.value) is int):
        return -node.operand.value
    return None


def _int_node(value: int) -> ast.AST:
    return ast.UnaryOp(ast.USub(), ast.Constant(-value)) if value < 0 else ast.Constant(value)


def _short(node: ast.AST, limit: int = 60) -> str:
    text = _u(node)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _change(old: ast.AST, new: ast.AST) -> str:
    return f"`{_short(old)}` -> `{_short(new)}`"


# --- calls ------------------------------------------------------------------------------------
@operator("swap_args", "swap two adjacent positional arguments of a call (loss_fn(target, pred))")
def _swap_args(node, ctx):
    if not isinstance(node, ast.Call) or any(isinstance(a, ast.Starred) for a in node.args):
        return
    for i in range(len(node.args) - 1):
        if _u(node.args[i]) == _u(node.args[i + 1]):
            continue
        new = _clone(node)
        new.args[i], new.args[i + 1] = new.args[i + 1], new.args[i]
        yield node, new, f"swap arguments {i + 1} and {i + 2}: {_change(node, new)}"


#: Calls whose (keyword or positional) dim selects the axis; where the positional dim sits.
DIM_CALLS = {"sum", "mean", "std", "var", "max", "min", "argmax", "argmin", "softmax", "log_softmax",
             "cat", "stack", "squeeze", "unsqueeze", "cumsum", "prod", "norm", "logsumexp", "all", "any",
             "median", "amax", "amin", "Softmax", "LogSoftmax", "count_nonzero", "nansum", "nanmean"}
REDUCTIONS = {"sum", "mean", "std", "var", "max", "min", "argmax", "argmin", "prod", "norm", "logsumexp",
              "all", "any", "median", "amax", "amin", "nansum", "nanmean"}
#: dim -> the dims a mistaken answer would use instead. dim=1 <-> dim=-1 is left out: on the
#: course's 2-D tensors they are the same axis, and a student who writes -1 is right.
DIM_ALTERNATIVES = {0: [1, -1], 1: [0], -1: [0], 2: [1], -2: [-1]}


def _positional_dim_index(call: ast.Call) -> int:
    name = _call_name(call)
    if name in ("Softmax", "LogSoftmax"):
        return 0
    return 1 if _is_function_call(call) else 0


@operator("dim", "change the dim of a reduction/softmax/cat (0 <-> 1, -1), or add keepdim=True")
def _dim(node, ctx):
    if not isinstance(node, ast.Call) or _call_name(node) not in DIM_CALLS:
        return
    has_dim = False
    for k, kw in enumerate(node.keywords):
        if kw.arg in ("dim", "axis"):
            has_dim = True
            value = _int_value(kw.value)
            if value is None:
                continue
            for alt in DIM_ALTERNATIVES.get(value, [value - 1]):
                new = _clone(node)
                new.keywords[k].value = _int_node(alt)
                yield node, new, f"{kw.arg}={value} -> {kw.arg}={alt}: {_change(node, new)}"
    index = _positional_dim_index(node)
    if len(node.args) > index:
        value = _int_value(node.args[index])
        if value is not None:
            has_dim = True
            for alt in DIM_ALTERNATIVES.get(value, [value - 1]):
                new = _clone(node)
                new.args[index] = _int_node(alt)
                yield node, new, f"dim {value} -> {alt}: {_change(node, new)}"
    if has_dim and _call_name(node) in REDUCTIONS and not any(kw.arg == "keepdim" for kw in node.keywords):
        new = _clone(node)
        new.keywords.append(ast.keyword("keepdim", ast.Constant(True)))
        yield node, new, f"add keepdim=True: {_change(node, new)}"


REDUCTION_VALUES = ("mean", "sum", "none")


@operator("reduction", "change a loss's reduction (mean <-> sum <-> none)")
def _reduction(node, ctx):
    if not isinstance(node, ast.Call):
        return
    for k, kw in enumerate(node.keywords):
        if kw.arg == "reduction" and isinstance(kw.value, ast.Constant) and kw.value.value in REDUCTION_VALUES:
            for alt in REDUCTION_VALUES:
                if alt != kw.value.value:
                    new = _clone(node)
                    new.keywords[k].value = ast.Constant(alt)
                    yield node, new, f"reduction={kw.value.value!r} -> {alt!r}: {_change(node, new)}"
            return
    name = _call_name(node) or ""
    if name.endswith("Loss") or name in ("mse_loss", "l1_loss", "cross_entropy", "binary_cross_entropy",
                                         "binary_cross_entropy_with_logits", "nll_loss"):
        for alt in ("sum", "none"):
            new = _clone(node)
            new.keywords.append(ast.keyword("reduction", ast.Constant(alt)))
            yield node, new, f"add reduction={alt!r}: {_change(node, new)}"


@operator("drop_call", "drop a call statement (optimizer.zero_grad(), model.train(), loss.backward() ...)")
def _drop_call(node, ctx):
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        yield node, [], f"drop `{_short(node.value)}`"


@operator("drop_with", "remove a `with` block's context manager, keeping its body (with torch.no_grad():)")
def _drop_with(node, ctx):
    if isinstance(node, ast.With):
        managers = ", ".join(_short(item.context_expr) for item in node.items)
        yield node, list(node.body), f"remove `with {managers}:` (body kept)"


#: Keywords that take a flag; a flag passed through from a parameter is replaced by a constant.
BOOL_KEYWORDS = {"shuffle", "drop_last", "keepdim", "requires_grad", "bias", "inplace", "pin_memory",
                 "descending", "largest", "sorted", "unbiased", "batch_first", "non_blocking", "set_to_none"}


@operator("flip_bool", "flip a True/False constant; a flag keyword fed from a parameter becomes a constant")
def _flip_bool(node, ctx):
    if isinstance(node, ast.Constant) and type(node.value) is bool:
        new = ast.Constant(not node.value)
        yield node, new, f"{node.value} -> {not node.value}"
    elif isinstance(node, ast.keyword) and node.arg in BOOL_KEYWORDS and not isinstance(node.value, ast.Constant):
        for value in (True, False):
            yield node.value, ast.Constant(value), f"{node.arg}={_short(node.value)} -> {node.arg}={value}"


@operator("drop_keyword", "drop a keyword argument (dtype=, device=, shuffle=, dim=, lr= ...)")
def _drop_keyword(node, ctx):
    if not isinstance(node, ast.Call):
        return
    for k, kw in enumerate(node.keywords):
        if kw.arg is None:
            continue
        new = _clone(node)
        del new.keywords[k]
        yield node, new, f"drop {kw.arg}=: {_change(node, new)}"


#: attribute or function name -> its siblings (the mistaken neighbours).
SIBLINGS = {
    "mean": ["sum"], "sum": ["mean"], "nanmean": ["nansum"], "nansum": ["nanmean"],
    "std": ["var"], "var": ["std"],
    "max": ["min"], "min": ["max"], "amax": ["amin"], "amin": ["amax"],
    "argmax": ["argmin"], "argmin": ["argmax"],
    "sigmoid": ["softmax", "tanh", "relu"], "tanh": ["sigmoid"], "relu": ["sigmoid"],
    "softmax": ["log_softmax", "sigmoid"], "log_softmax": ["softmax"],
    "Sigmoid": ["Softmax", "Tanh", "ReLU"], "Tanh": ["Sigmoid"], "ReLU": ["Sigmoid"],
    "Softmax": ["LogSoftmax", "Sigmoid"], "LogSoftmax": ["Softmax"],
    "MSELoss": ["L1Loss"], "L1Loss": ["MSELoss"], "mse_loss": ["l1_loss"], "l1_loss": ["mse_loss"],
    "BCEWithLogitsLoss": ["BCELoss"], "BCELoss": ["BCEWithLogitsLoss"],
    "binary_cross_entropy_with_logits": ["binary_cross_entropy"],
    "binary_cross_entropy": ["binary_cross_entropy_with_logits"],
    "CrossEntropyLoss": ["NLLLoss"], "NLLLoss": ["CrossEntropyLoss"], "cross_entropy": ["nll_loss"],
    "nll_loss": ["cross_entropy"],
    "SGD": ["Adam"], "Adam": ["SGD"],
    "ceil": ["floor"], "floor": ["ceil"],
    "no_grad": ["enable_grad"], "inference_mode": ["enable_grad"],
    "train": ["eval"], "eval": ["train"],
    "float": ["double", "long"], "double": ["float"], "long": ["int", "float"], "int64": ["int32"],
    "float32": ["float64"], "float64": ["float32"],
    "zeros": ["ones"], "ones": ["zeros"], "zeros_like": ["ones_like"], "ones_like": ["zeros_like"],
    "stack": ["cat"], "cat": ["stack"],
    "unsqueeze": ["squeeze"], "squeeze": ["unsqueeze"],
    "log": ["log1p"], "exp": ["expm1"],
    "randn": ["rand"], "rand": ["randn"], "randperm": ["arange"],
    "tensor": ["as_tensor"],
}
#: bare names (builtins) that have siblings; only when called.
NAME_SIBLINGS = {"round": ["int"], "int": ["round"], "max": ["min"], "min": ["max"], "any": ["all"], "all": ["any"]}


@operator("sibling", "replace an operation with its sibling (mean/sum, sigmoid/softmax, MSELoss/L1Loss, eval/train ...)")
def _sibling(node, ctx):
    if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
        for alt in SIBLINGS.get(node.attr, []):
            new = _clone(node)
            new.attr = alt
            yield node, new, f"{node.attr} -> {alt}: {_change(node, new)}"
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        for alt in NAME_SIBLINGS.get(node.func.id, []):
            new = _clone(node)
            new.func.id = alt
            yield node, new, f"{node.func.id} -> {alt}: {_change(node, new)}"


#: Functions of torch/F whose call can be replaced by their first argument (an identity).
IDENTITY_FUNCS = {"relu", "sigmoid", "tanh", "softmax", "log_softmax", "clamp", "clip", "abs", "exp", "log",
                  "sqrt", "square", "flatten", "squeeze", "unsqueeze", "detach", "round"}
#: Methods whose call can be dropped (x.m(...) -> x).
DROPPABLE_METHODS = {"float", "double", "long", "int", "detach", "cpu", "to", "clone", "contiguous", "squeeze",
                     "unsqueeze", "mean", "sum", "item", "numpy", "tolist", "abs", "exp", "log", "sqrt",
                     "sigmoid", "relu", "tanh", "softmax", "log_softmax", "t", "flatten", "reshape", "view",
                     "clamp", "manual_seed", "requires_grad_", "argmax", "round"}
#: Module constructors that an identity replaces (nn.ReLU() -> nn.Identity()).
ACTIVATION_MODULES = {"ReLU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "LeakyReLU", "GELU", "ELU", "Softplus",
                      "Dropout", "Flatten"}


@operator("identity", "replace an operation by an identity (relu(x) -> x, nn.ReLU() -> nn.Identity(), x.float() -> x, W.T -> W)")
def _identity(node, ctx):
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        name = node.func.attr
        if _is_function_call(node):
            if name in ACTIVATION_MODULES:
                new = ast.Call(ast.Attribute(_clone(node.func.value), "Identity", ast.Load()), [], [])
                yield node, new, f"{_change(node, new)}"
            elif name in IDENTITY_FUNCS and node.args and not isinstance(node.args[0], ast.Starred):
                yield node, _clone(node.args[0]), f"{_change(node, node.args[0])}"
        elif name in DROPPABLE_METHODS:
            yield node, _clone(node.func.value), f"drop .{name}(): {_change(node, node.func.value)}"
    elif (isinstance(node, ast.Attribute) and node.attr in ("T", "mT") and isinstance(node.ctx, ast.Load)):
        yield node, _clone(node.value), f"drop .{node.attr}: {_change(node, node.value)}"


_AUG_OPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.MatMult)


@operator("augassign", "in-place for out-of-place and back (x = x - y <-> x -= y), or drop the accumulation (x += y -> x = y)")
def _augassign(node, ctx):
    if (isinstance(node, ast.Assign) and len(node.targets) == 1
            and isinstance(node.targets[0], (ast.Name, ast.Attribute, ast.Subscript))
            and isinstance(node.value, ast.BinOp) and isinstance(node.value.op, _AUG_OPS)
            and _u(node.value.left) == _u(node.targets[0])):
        target = _clone(node.targets[0])
        target.ctx = ast.Store()
        new = ast.copy_location(ast.AugAssign(target, _clone(node.value.op), _clone(node.value.right)), node)
        yield node, [new], f"out-of-place -> in-place: {_change(node, new)}"
    elif isinstance(node, ast.AugAssign):
        load = _clone(node.target)
        load.ctx = ast.Load()
        new = ast.copy_location(ast.Assign([_clone(node.target)], ast.BinOp(load, _clone(node.op), _clone(node.value))), node)
        # a Python number has no in-place operator (`total += x` already rebinds `total`), a local list
        # is seen by no one else, and `t[i] += v` is `t[i] = t[i] + v` (one __setitem__ either way)
        if not ((isinstance(node.target, ast.Name) and node.target.id in ctx.number_names)
                or isinstance(node.target, ast.Subscript)):
            yield node, [new], f"in-place -> out-of-place: {_change(node, new)}"
        new = ast.copy_location(ast.Assign([_clone(node.target)], _clone(node.value)), node)
        yield node, [new], f"drop the accumulation: {_change(node, new)}"


#: Calls whose arguments are sizes, flags or Python objects rather than tensors (no .detach() there).
NON_TENSOR_CALLS = {"range", "len", "zip", "enumerate", "print", "float", "int", "round", "sum", "isinstance",
                    "list", "tuple", "dict", "set", "str", "repr", "min", "max", "abs", "append", "extend",
                    "Linear", "Sequential", "DataLoader", "TensorDataset", "Generator", "manual_seed", "set_seed",
                    "zeros", "ones", "empty", "full", "arange", "randperm", "randn", "rand", "tensor", "SGD",
                    "Adam", "parameters", "ValueError", "TypeError", "super", "format", "sorted", "reversed",
                    "getattr", "setattr", "hasattr", "type", "ceil", "floor", "sqrt", "log", "exp"}


def _valueish(node: ast.AST) -> bool:
    """A returned or assigned expression that may be a tensor: not a literal, container or comparison."""
    return not isinstance(node, (ast.Constant, ast.Tuple, ast.List, ast.Dict, ast.Set, ast.ListComp,
                                 ast.DictComp, ast.SetComp, ast.GeneratorExp, ast.Compare, ast.BoolOp,
                                 ast.Lambda, ast.JoinedStr))


def _tensorish(node: ast.AST) -> bool:
    """An argument that may well be a tensor (not a literal, not a container, not a comparison)."""
    if isinstance(node, ast.Call):
        return (_call_name(node) or "") not in NON_TENSOR_CALLS and not (
            isinstance(node.func, ast.Attribute) and _call_name(node) in ACTIVATION_MODULES | {"Identity"})
    return isinstance(node, (ast.Name, ast.Subscript, ast.BinOp, ast.Attribute)) and not (
        isinstance(node, ast.Attribute) and _is_module_ref(node))


#: Calls whose result never requires grad (new tensors, integer results): .detach() on them changes nothing.
NO_GRAD_RESULTS = {"zeros", "ones", "empty", "full", "arange", "randperm", "randn", "rand", "randint", "eye",
                   "linspace", "zeros_like", "ones_like", "argmax", "argmin", "long", "int", "bool", "tolist",
                   "item", "numel", "size", "Generator", "manual_seed"}
#: Reductions that, called without a dim, give a 0-dimensional tensor (.squeeze() changes nothing).
FULL_REDUCTIONS = {"sum", "mean", "std", "var", "max", "min", "prod", "norm", "logsumexp", "median", "item"}


def _never_requires_grad(node: ast.AST) -> bool:
    if isinstance(node, ast.Compare):
        return True
    if isinstance(node, ast.Call) and _call_name(node) in NO_GRAD_RESULTS:
        return not any(kw.arg == "requires_grad" for kw in node.keywords)
    return False


def _zero_dim(node: ast.AST) -> bool:
    """A full reduction (``x.mean()``), a loss (``loss_fn(a, b)``) or arithmetic of one with constants."""
    if isinstance(node, ast.UnaryOp):
        return _zero_dim(node.operand)
    if isinstance(node, ast.BinOp):
        sides = [node.left, node.right]
        return any(_zero_dim(x) for x in sides) and all(_zero_dim(x) or isinstance(x, ast.Constant) for x in sides)
    if isinstance(node, ast.Call):
        name = _call_name(node) or ""
        no_dim = not any(kw.arg in ("dim", "axis") for kw in node.keywords)
        if name in FULL_REDUCTIONS and isinstance(node.func, ast.Attribute) and no_dim and (
                (not node.args and not _is_function_call(node))            # x.mean()
                or (len(node.args) == 1 and _is_function_call(node))):     # torch.mean(x)
            return True
        if isinstance(node.func, ast.Name) and ("loss" in name.lower() or name == "criterion"):
            return True
    return False


def _method(value: ast.AST, name: str) -> ast.Call:
    return ast.Call(ast.Attribute(_clone(value), name, ast.Load()), [], [])


@operator("insert_method", "insert .detach(), .item(), .squeeze() or .double() on a returned or used tensor")
def _insert_method(node, ctx):
    # .detach() only where it can cut a graph: not under no_grad, and not on a plain input name
    # (inputs that need no gradient are a right answer with or without it)
    # .squeeze() only where a dimension can be lost (not on a 0-dimensional loss or full reduction)
    no_grad = ctx.under_no_grad(node)

    def useful(name, value):
        if name == "detach":
            return not no_grad and not _never_requires_grad(value) and not (
                isinstance(value, ast.Name) and value.id in ctx.no_grad_names)
        if name == "squeeze":
            return not _zero_dim(value)
        return True

    if isinstance(node, ast.Return) and node.value is not None and _valueish(node.value):
        for name in ("detach", "item", "squeeze", "double"):
            if useful(name, node.value):
                new = _method(node.value, name)
                yield node.value, new, f"return ...{name}(): {_change(node.value, new)}"
    elif (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
          and _valueish(node.value)):
        for name in ("detach", "squeeze"):
            if useful(name, node.value):
                new = _method(node.value, name)
                yield node.value, new, f"assign ...{name}(): {_change(node.value, new)}"
    elif isinstance(node, ast.Call) and (_call_name(node) or "") not in NON_TENSOR_CALLS:
        if isinstance(node.func, ast.Attribute) and _call_name(node) in ACTIVATION_MODULES:
            return
        for i, arg in enumerate(node.args):
            if isinstance(arg, ast.Starred) or not _tensorish(arg):
                continue
            computed = isinstance(arg, (ast.Call, ast.BinOp))
            for name in ("detach", "squeeze") if computed else ("squeeze",):
                if not useful(name, arg):
                    continue
                new = _method(arg, name)
                yield arg, new, f"argument {i + 1} ...{name}(): {_change(arg, new)}"


def _parent_is_fstring(node, ctx) -> bool:
    parent = ctx.parent(node)
    while parent is not None:
        if isinstance(parent, ast.JoinedStr):
            return True
        parent = ctx.parent(parent)
    return False


@operator("constant", "change a numeric constant (int +1/-1, 0 -> 1; float *2, /2)")
def _constant(node, ctx):
    if not isinstance(node, ast.Constant) or _parent_is_fstring(node, ctx):
        return
    value = node.value
    if type(value) is int:
        for alt in (value + 1, value - 1):
            yield node, _int_node(alt), f"{value} -> {alt}"
    elif type(value) is float:
        alts = [1.0] if value == 0 else [value * 2, value / 2]
        for alt in alts:
            yield node, ast.Constant(alt), f"{value!r} -> {alt!r}"


#: Calls whose positional arguments are sizes (an off-by-one there is a plausible mistake).
SIZE_CALLS = {"range", "Linear", "zeros", "ones", "empty", "full", "arange", "randperm", "reshape", "view",
              "randn", "rand", "Conv2d", "Embedding"}


def _plus(node: ast.AST, delta: int) -> ast.BinOp:
    return ast.BinOp(_clone(node), ast.Add() if delta > 0 else ast.Sub(), ast.Constant(1))


@operator("off_by_one", "off-by-one (+1/-1) on a range() bound, a slice bound, a size argument or len()")
def _off_by_one(node, ctx):
    targets = []
    if isinstance(node, ast.Call):
        name = _call_name(node)
        if name in SIZE_CALLS:
            targets += [a for a in node.args if not isinstance(a, (ast.Starred, ast.Constant))
                        and _int_value(a) is None]
        if name == "len" and isinstance(node.func, ast.Name):
            targets.append(node)
    elif isinstance(node, ast.Slice):
        targets += [b for b in (node.lower, node.upper) if b is not None and not isinstance(b, ast.Constant)
                    and _int_value(b) is None]
    for target in targets:
        for delta in (1, -1):
            new = _plus(target, delta)
            yield target, new, f"off by one: {_change(target, new)}"


@operator("reverse", "reverse a list or tuple literal (layer sizes, (x, y) pairs, indices)")
def _reverse(node, ctx):
    if (isinstance(node, (ast.List, ast.Tuple)) and isinstance(node.ctx, ast.Load) and len(node.elts) >= 2
            and not any(isinstance(e, ast.Starred) for e in node.elts)
            and len({_u(e) for e in node.elts}) > 1
            and not (all(isinstance(e, ast.Constant) for e in node.elts)
                     and len({e.value for e in node.elts}) == 1)):      # (0.0, 0): same values
        new = _clone(node)
        new.elts.reverse()
        yield node, new, f"reverse: {_change(node, new)}"


@operator("drop_element", "drop one element of a list/tuple literal or one module of nn.Sequential(...)")
def _drop_element(node, ctx):
    if (isinstance(node, (ast.List, ast.Tuple)) and isinstance(node.ctx, ast.Load) and len(node.elts) >= 2
            and not any(isinstance(e, ast.Starred) for e in node.elts)):
        for i in range(len(node.elts)):
            new = _clone(node)
            del new.elts[i]
            yield node, new, f"drop element {i + 1}: {_change(node, new)}"
    elif isinstance(node, ast.Call) and _call_name(node) == "Sequential" and len(node.args) >= 2 \
            and not any(isinstance(a, ast.Starred) for a in node.args):
        for i in range(len(node.args)):
            new = _clone(node)
            del new.args[i]
            yield node, new, f"drop module {i + 1}: {_change(node, new)}"


@operator("loop", "iterate in reverse order, or not at all (cosmic-ray's zero-iteration loop)")
def _loop(node, ctx):
    if isinstance(node, (ast.For, ast.comprehension)):
        bound = {n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)}
        scope = node.body if isinstance(node, ast.For) else [ctx.parent(node)]
        used = {n.id for stmt in scope for n in ast.walk(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        if bound & used:              # `for epoch in range(n)` with `epoch` unused: the order cannot matter
            rev = ast.Call(ast.Name("reversed", ast.Load()), [ast.Call(ast.Name("list", ast.Load()),
                                                                        [_clone(node.iter)], [])], [])
            yield node.iter, rev, f"reverse the iteration: {_change(node.iter, rev)}"
        empty = ast.List([], ast.Load())
        yield node.iter, empty, f"zero iterations: {_change(node.iter, empty)}"


_COMPARE_SWAPS = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
                  ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is}


@operator("compare", "swap a comparison operator (< <=, > >=, == !=)")
def _compare(node, ctx):
    if not isinstance(node, ast.Compare):
        return
    for i, op in enumerate(node.ops):
        alt = _COMPARE_SWAPS.get(type(op))
        if alt is not None:
            new = _clone(node)
            new.ops[i] = alt()
            yield node, new, f"{_change(node, new)}"


_ARITH_SWAPS = {ast.Add: [ast.Sub], ast.Sub: [ast.Add], ast.Mult: [ast.Div], ast.Div: [ast.Mult, ast.FloorDiv],
                ast.FloorDiv: [ast.Div], ast.Pow: [ast.Mult], ast.MatMult: [ast.Mult], ast.Mod: [ast.FloorDiv]}
_NON_COMMUTATIVE = (ast.Sub, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.MatMult)


@operator("arith", "replace an arithmetic operator (+ -, * /, / //, @ *), swap non-commutative operands, drop a unary minus")
def _arith(node, ctx):
    if isinstance(node, ast.BinOp):
        for alt in _ARITH_SWAPS.get(type(node.op), []):
            new = _clone(node)
            new.op = alt()
            yield node, new, _change(node, new)
        if isinstance(node.op, _NON_COMMUTATIVE) and _u(node.left) != _u(node.right):
            new = _clone(node)
            new.left, new.right = new.right, new.left
            yield node, new, f"swap operands: {_change(node, new)}"
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and not isinstance(node.operand, ast.Constant):
        yield node, _clone(node.operand), f"drop unary minus: {_change(node, node.operand)}"


@operator("drop_return", "return nothing instead of the value (return x -> return)")
def _drop_return(node, ctx):
    if isinstance(node, ast.Return) and node.value is not None:
        yield node, [ast.copy_location(ast.Return(None), node)], f"`{_short(node)}` -> `return`"


@operator("condition", "make an if always or never true; drop a raise")
def _condition(node, ctx):
    if isinstance(node, ast.If):
        for value in (True, False):
            yield node.test, ast.Constant(value), f"if {_short(node.test)} -> if {value}"
    elif isinstance(node, ast.Raise):
        yield node, [], f"drop `{_short(node)}`"


# ------------------------------------------------------------------------------------------
# Generation
# ------------------------------------------------------------------------------------------
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
