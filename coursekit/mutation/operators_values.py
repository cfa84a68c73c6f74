"""Mutation operators on values and control flow: constants, off-by-one, reversed or shortened lists, loops,
comparisons, arithmetic, dropped returns and conditions. The operators on calls are in operators.py.
"""
from __future__ import annotations

import ast

from coursekit.mutation.generator import operator
from coursekit.mutation.operators import _call_name, _change, _clone, _int_node, _int_value, _short, _u

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
# The operators for issue 20's classes of holes (in-place, narrowing, early exits, devices, shared layers)
# register themselves on import; generator.py imports this module last, so they follow the ones above.
from coursekit.mutation import operators_holes  # noqa: E402,F401
