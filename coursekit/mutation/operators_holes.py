"""Mutation operators for the classes of holes that wrong answers nobody on the project had seen got through
(issue 20): in-place edits of inputs (``p.clamp_``, ``p.data.clamp_``), dtype narrowing (an added
``.float()``/``.long()``/``.int()``), range narrowing (``.clamp(0, 1)``, a floor on a step size), early exits
in loops, device omissions and layers shared between calls.

Registered on import (operators_values.py imports this module last); the operators on calls are in
operators.py, those on values and control flow in operators_values.py.
"""
from __future__ import annotations

import ast

from coursekit.mutation.generator import operator
from coursekit.mutation.operators import NON_TENSOR_CALLS, _call_name, _change, _clone, _is_module_ref, _short, _u


def _function(node, ctx) -> ast.AST | None:
    return next((a for a in ctx.ancestors(node) if isinstance(a, (ast.FunctionDef, ast.AsyncFunctionDef))), None)


def _params(node, ctx) -> set[str]:
    """The parameters of the function around ``node`` (``self`` left out): the caller's objects."""
    fn = _function(node, ctx)
    if fn is None:
        return set()
    args = fn.args
    names = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
    return names - {"self", "cls"}


#: Parameters that are sizes, flags, step sizes, devices or settings, not the caller's tensors.
NON_TENSOR_PARAMS = {"device", "lr", "h", "eps", "epochs", "steps", "seed", "n", "batch_size", "num_classes",
                     "sizes", "hidden", "width", "task", "threshold", "shuffle", "drop_last", "w0", "val_frac",
                     "loss_fn", "optimizer", "criterion", "activation", "momentum", "dim"}
#: Methods that only models, optimizers and loaders have.
_OBJECT_METHODS = {"parameters", "zero_grad", "step", "train", "eval", "state_dict", "named_parameters", "modules"}


def _tensor_params(node, ctx) -> set[str]:
    """The parameters that may be tensors: not named like a setting, not called, iterated over, given a
    constant default, or used as a model/optimizer (``p.parameters()``)."""
    fn = _function(node, ctx)
    if fn is None:
        return set()
    args = fn.args
    positional = args.posonlyargs + args.args
    defaults = dict(zip([a.arg for a in positional][len(positional) - len(args.defaults):], args.defaults))
    defaults.update({a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None})
    names = _params(node, ctx) - NON_TENSOR_PARAMS
    names -= {n for n, d in defaults.items() if isinstance(d, ast.Constant) and d.value is not None}
    names = {n for n in names if not n.endswith(("_features", "_frac", "_size", "_fn")) and "model" not in n
             and "loader" not in n}
    for n in ast.walk(fn):
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name):
            names.discard(n.func.id)
        elif isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in _OBJECT_METHODS \
                and isinstance(n.func.value, ast.Name):
            names.discard(n.func.value.id)
        elif isinstance(n, (ast.For, ast.comprehension)) and isinstance(n.iter, ast.Name):
            names.discard(n.iter.id)
        elif isinstance(n, ast.Compare) and any(isinstance(c, ast.Constant) and isinstance(c.value, str)
                                                for c in n.comparators):
            names -= {c.id for c in [n.left, *n.comparators] if isinstance(c, ast.Name)}
    return names


def _root(node: ast.AST) -> ast.AST:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node


def _input_ref(node, ctx) -> bool:
    """``p`` or ``layer.weight`` where ``p``/``layer`` is a parameter of the enclosing function."""
    root = _root(node)
    return (isinstance(node, (ast.Name, ast.Attribute)) and isinstance(root, ast.Name)
            and root.id in _tensor_params(node, ctx) and not _is_module_ref(node))


def _method_call(value: ast.AST, name: str, args=(), keywords=()) -> ast.Call:
    return ast.Call(ast.Attribute(_clone(value), name, ast.Load()), [_clone(a) for a in args],
                    [_clone(k) for k in keywords])


# --- in-place edits of the caller's tensors ---------------------------------------------------------
#: Functions and methods with an in-place twin ``x.f_()``.
INPLACE = {"clamp", "clip", "sigmoid", "tanh", "relu", "exp", "log", "abs", "sqrt", "neg", "sub", "add",
           "mul", "div", "pow", "square", "floor", "ceil", "round", "log1p", "expm1", "reciprocal", "fill",
           "zero", "t", "squeeze", "unsqueeze"}
_BINOP_INPLACE = {ast.Add: "add_", ast.Sub: "sub_", ast.Mult: "mul_", ast.Div: "div_"}


@operator("inplace", "edit an input in place: torch.clamp(p, a, b) -> p.clamp_(a, b) or p.data.clamp_(a, b), "
                     "x - y -> x.sub_(y) (changes the caller's tensor, may break autograd)")
def _inplace(node, ctx):
    edits = []
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in INPLACE:
        if _is_module_ref(node.func.value):            # torch.clamp(p, ...) / F.relu(p)
            if node.args and _input_ref(node.args[0], ctx):
                kws = [k for k in node.keywords if k.arg != "inplace"]
                edits.append((node.args[0], node.func.attr + "_", node.args[1:], kws))
        elif _input_ref(node.func.value, ctx):          # p.clamp(...)
            edits.append((node.func.value, node.func.attr + "_", node.args, node.keywords))
    elif isinstance(node, ast.BinOp) and type(node.op) in _BINOP_INPLACE and _input_ref(node.left, ctx):
        edits.append((node.left, _BINOP_INPLACE[type(node.op)], [node.right], []))
    for value, name, args, keywords in edits:
        for target in (value, ast.Attribute(_clone(value), "data", ast.Load())):
            if isinstance(value, ast.Attribute) and value.attr == "data" and target is not value:
                continue
            new = _method_call(target, name, args, keywords)
            yield node, new, f"in place on an input: {_change(node, new)}"


# --- dtype and range narrowing ------------------------------------------------------------------------
#: Calls whose result is already of a fixed dtype or range, or not a tensor.
_FIXED_RESULTS = {"float", "long", "int", "double", "half", "bool", "item", "tolist", "numpy", "sigmoid",
                  "softmax", "Sigmoid", "Softmax", "clamp", "clip"}


def _module_valued(node, ctx) -> bool:
    """A model, layer or loss (``nn.Linear(...)``, a name bound to one or called ``model``...): ``.float()``
    on it changes nothing, ``.clamp`` does not exist: no mistake a student makes."""
    def constructor(value):
        return isinstance(value, ast.Call) and (_call_name(value) or "a")[:1].isupper()
    if constructor(node):
        return True
    if isinstance(node, ast.Name):
        if "model" in node.id or node.id in ("net", "layer", "module"):
            return True
        fn = _function(node, ctx)
        values = [a.value for a in ast.walk(fn) if isinstance(a, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == node.id for t in a.targets)] if fn is not None else []
        return bool(values) and all(constructor(v) for v in values)
    return False


def _narrowable(node, ctx) -> bool:
    if isinstance(node, (ast.Constant, ast.Tuple, ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp,
                         ast.SetComp, ast.GeneratorExp, ast.Compare, ast.BoolOp, ast.Lambda, ast.JoinedStr,
                         ast.Starred)):
        return False
    if isinstance(node, ast.Call):
        name = _call_name(node) or ""
        if name in _FIXED_RESULTS or (isinstance(node.func, ast.Name) and name in NON_TENSOR_CALLS):
            return False
        if isinstance(node.func, ast.Attribute) and _u(_root(node.func)) == "math":
            return False
    loads = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    if loads and loads <= ctx.number_names | (_params(node, ctx) - _tensor_params(node, ctx)):
        return False                                  # Python numbers or a list: no .float() to narrow
    return not _module_valued(node, ctx)


def _already_float(node) -> bool:
    """``x.float() / 255`` or ``torch.tensor(a, dtype=torch.float32)``: a further .float() changes nothing."""
    return any((isinstance(n, ast.Call) and _call_name(n) == "float" and isinstance(n.func, ast.Attribute))
               or (isinstance(n, ast.Attribute) and n.attr == "float32") for n in ast.walk(node))


def _tensor_inputs(node, ctx):
    """Arguments of a tensor call that are the caller's tensors: ``loss_fn(pred, y)`` -> pred, y."""
    if not isinstance(node, ast.Call) or (_call_name(node) or "") in NON_TENSOR_CALLS | _FIXED_RESULTS:
        return []
    first_is_range = (_call_name(node) or "") in ("clamp", "clip")
    return [a for i, a in enumerate(node.args) if isinstance(a, ast.Name) and _input_ref(a, ctx)
            and not (i == 0 and first_is_range) and not _module_valued(a, ctx)]


@operator("narrow_dtype", "narrow a dtype: return ....float() / .long() / .int(); an input argument y -> y.long() "
                          "or y.float()")
def _narrow_dtype(node, ctx):
    if isinstance(node, ast.Return) and node.value is not None and _narrowable(node.value, ctx):
        for name in ("float", "long", "int"):
            if name == "float" and _already_float(node.value):
                continue
            new = _method_call(node.value, name)
            yield node.value, new, f"return ...{name}(): {_change(node.value, new)}"
    for arg in _tensor_inputs(node, ctx):
        for name in ("float", "long"):
            new = _method_call(arg, name)
            yield arg, new, f"input .{name}(): {_change(arg, new)}"


#: Names of step sizes and tolerances a student floors (``max(lr, 1e-3)``).
STEP_NAMES = {"lr", "h", "eps", "step", "step_size", "learning_rate", "alpha", "tol", "delta"}


@operator("narrow_range", "narrow a range: return ....clamp(0, 1), an input p -> p.clamp(0, 1), a floor on a step "
                          "size (lr -> max(lr, 0.001))")
def _narrow_range(node, ctx):
    clamp = dict(args=[ast.Constant(0), ast.Constant(1)])
    if isinstance(node, ast.Return) and node.value is not None and _narrowable(node.value, ctx):
        new = _method_call(node.value, "clamp", **clamp)
        yield node.value, new, f"return ...clamp(0, 1): {_change(node.value, new)}"
    for arg in _tensor_inputs(node, ctx):
        new = _method_call(arg, "clamp", **clamp)
        yield arg, new, f"input .clamp(0, 1): {_change(arg, new)}"
    if (isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in STEP_NAMES
            and isinstance(ctx.parent(node), (ast.BinOp, ast.Call, ast.keyword, ast.UnaryOp))):
        new = ast.Call(ast.Name("max", ast.Load()), [_clone(node), ast.Constant(0.001)], [])
        yield node, new, f"floor on a step size: {_change(node, new)}"


# --- early exits --------------------------------------------------------------------------------------
def _appended_lists(body) -> list[ast.AST]:
    """Receivers of ``L.append(...)`` in a loop body (``history``, ``history["val_loss"]``), once each."""
    found: dict[str, ast.AST] = {}
    for stmt in body:
        for n in ast.walk(stmt):
            if (isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "append"
                    and isinstance(n.func.value, (ast.Name, ast.Subscript))):
                found.setdefault(_u(n.func.value), n.func.value)
    return list(found.values())


def _stmt(code: str) -> ast.stmt:
    return ast.parse(code).body[0]


def _exit_stmts(node, ctx) -> list[tuple[str, str]]:
    """(statement, why) for ``break`` and, where it differs, ``return <the function's result>``."""
    exits = [("break", "break")]
    fn = _function(node, ctx)
    if fn is not None and fn.body and isinstance(fn.body[-1], ast.Return) and fn.body[-1].value is not None:
        outer_loop = any(isinstance(a, (ast.For, ast.While)) for a in ctx.ancestors(node))
        parent = ctx.parent(node)
        siblings = getattr(parent, "body", [])
        followed_by_return = node in siblings and siblings.index(node) + 1 < len(siblings) and \
            siblings[siblings.index(node) + 1] is fn.body[-1]
        if outer_loop or not followed_by_return:
            exits.append((f"return {_u(fn.body[-1].value)}", "return"))
    return exits


@operator("early_exit", "exit a loop early: at the top of its body `if <the loss rose / the gradient is tiny>: "
                        "break` (or return); after `loss = ...`, `if float(loss) < 0.01: break`")
def _early_exit(node, ctx):
    if not isinstance(node, (ast.For, ast.While)) or not node.body:
        return
    params = _params(node, ctx)
    loop_vars = {n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)} if isinstance(node, ast.For) else set()
    conditions = []
    for lst in _appended_lists(node.body):
        name = _u(lst)
        if not any(word in name for word in ("loss", "hist", "acc", "err", "cost", "score")):
            continue                                 # a list of layers or weights: no "it rose" to stop on
        conditions.append((f"len({name}) > 1 and {name}[-1] > {name}[-2]", f"{name} rose"))
    grads = {}
    for n in ast.walk(node):
        if (isinstance(n, ast.Attribute) and n.attr == "grad" and isinstance(n.value, ast.Name)
                and n.value.id in loop_vars | params):
            grads.setdefault(n.value.id, n)
    for name in grads:
        conditions.append((f"{name}.grad is not None and float({name}.grad.abs().max()) < 0.001",
                           f"{name}.grad tiny"))
    first = node.body[0]
    for condition, why in conditions:
        for code, kind in _exit_stmts(node, ctx):
            guard = _stmt(f"if {condition}:\n    {code}")
            new = [ast.copy_location(guard, first), _clone(first)]
            shown = _short(ast.parse(condition).body[0].value)
            yield first, new, f"early {kind} at the top of the loop when {why}: `if {shown}: {kind}`"
    for stmt in node.body:
        if (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
                and "loss" in stmt.targets[0].id):
            name = stmt.targets[0].id
            for code, kind in _exit_stmts(node, ctx):
                guard = ast.copy_location(_stmt(f"if float({name}) < 0.01:\n    {code}"), stmt)
                why = f"early {kind} when the loss is small: `if float({name}) < 0.01: {kind}`"
                yield stmt, [_clone(stmt), guard], why


# --- device omissions ---------------------------------------------------------------------------------
def _is_device_expr(node: ast.AST) -> bool:
    text = _u(node)
    return "device" in text or text in ("'cuda'", '"cuda"')


@operator("device", "forget the device: drop device=, device=x.device -> device='cpu', x.to(device) -> x, "
                    "x.to(device) -> x.cpu()")
def _device(node, ctx):
    if not isinstance(node, ast.Call):
        return
    for k, kw in enumerate(node.keywords):
        if kw.arg == "device" and not (isinstance(kw.value, ast.Constant) and kw.value.value == "cpu"):
            new = _clone(node)
            del new.keywords[k]
            yield node, new, f"drop device=: {_change(node, new)}"
            new = _clone(node)
            new.keywords[k].value = ast.Constant("cpu")
            yield node, new, f"device='cpu': {_change(node, new)}"
    if isinstance(node.func, ast.Attribute) and not _is_module_ref(node.func.value) and (
            (node.func.attr == "to" and node.args and _is_device_expr(node.args[0])) or node.func.attr == "cuda"):
        yield node, _clone(node.func.value), f"drop .{node.func.attr}(...): {_change(node, node.func.value)}"
        new = _method_call(node.func.value, "cpu")
        yield node, new, f".{node.func.attr}(...) -> .cpu(): {_change(node, new)}"


# --- shared layers ------------------------------------------------------------------------------------
#: Layers with parameters: sharing one between two models (or two places of one model) ties their weights.
PARAM_LAYERS = {"Linear", "Bilinear", "Conv1d", "Conv2d", "Conv3d", "Embedding", "BatchNorm1d", "BatchNorm2d",
                "LayerNorm", "RNN", "LSTM", "GRU"}


@operator("shared_layer", "share a layer: nn.Linear(a, b) -> one nn.Linear(a, b) kept in the notebook's globals and "
                          "reused by every call (and every place) that asks for the same shape")
def _shared_layer(node, ctx):
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in PARAM_LAYERS
            and _is_module_ref(node.func.value) and not any(isinstance(a, ast.Starred) for a in node.args)
            and all(k.arg is not None for k in node.keywords)):
        return
    key = ast.Tuple([ast.Constant(node.func.attr), *[_clone(a) for a in node.args],
                     *[_clone(k.value) for k in node.keywords]], ast.Load())
    cache = ast.parse("globals().setdefault('_shared_layers', {})", mode="eval").body
    new = ast.Call(ast.Attribute(cache, "setdefault", ast.Load()), [key, _clone(node)], [])
    yield node, new, f"layer shared between calls: `{_short(node)}` -> one `{node.func.attr}` kept in globals()"
