"""The mutation operators: each one, given a node of a solution's syntax tree, proposes mistakes this course's
students make (swapped arguments, another dim or reduction, a dropped zero_grad(), a sibling function, ...).

Registered with :func:`coursekit.mutation.generator.operator`; :func:`coursekit.mutation.generator.generate`
applies them to the solution regions of a cell. Split from the generator so that neither module does two jobs.
"""
from __future__ import annotations

import ast
import copy
from coursekit.mutation.generator import operator

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
