"""Explaining an error raised in the student's code: what went wrong, and its likely cause.

Test cells call every function, class and model the student wrote through ``call`` (or inside
``with student_code(...)``). Whatever the student's code raises comes back as an AssertionError
whose message says what was being called, the error in one line, the student's own line(s) of
code and, where the error is a known one, what it usually means. Frames of torch, NumPy and
utils never appear in it.

``explain`` reads the errors whose meaning depends on where they happened (which loss, which layer,
which dtypes); every other known error is a row of the table in ``utils/checks/rules.py``.
"""
from __future__ import annotations

import linecache
import os
import re
import traceback

import numpy as np
import torch
from torch import nn

from ._format import is_tensor, shape_str
from .rules import MESSAGE_RULES

_LIBRARY_DIRS = tuple(sorted({os.path.dirname(os.path.dirname(os.__file__)),   # the standard library
                              os.path.dirname(os.path.dirname(torch.__file__)),  # site-packages
                              os.path.dirname(os.path.dirname(np.__file__)),
                              os.path.dirname(os.path.dirname(os.path.abspath(__file__)))}))  # utils/


def is_library_file(filename: str) -> bool:
    path = os.path.abspath(filename) if not filename.startswith("<") else filename
    return path.startswith(_LIBRARY_DIRS) or "site-packages" in path or "dist-packages" in path

def walk_frames(err: BaseException) -> list:
    """(frame, line number) of an error's traceback; for an error of student code that ran in the
    student's kernel while the judge ran the test (``__coursekit_frames__``), records of its frames."""
    records = getattr(err, "__coursekit_frames__", None)
    if records is not None:
        return [(r, r.f_lineno) for r in records]
    return list(traceback.walk_tb(err.__traceback__))


def library_frames(err: BaseException) -> list:
    return [frame for frame, _ in walk_frames(err)]


def in_function(frames: list, *names: str) -> bool:
    """Was one of the named library functions (e.g. 'cross_entropy') on the stack?"""
    return any(f.f_code.co_name in names and is_library_file(f.f_code.co_filename) for f in frames)


def _module_name(module: nn.Module, objects: tuple) -> str:
    for obj in objects:
        if isinstance(obj, nn.Module):
            for name, sub in obj.named_modules():
                if sub is module:
                    return f"layer {name!r} " if name else ""
    return ""


_LONG_NAMES = {"Long": "int64", "Int": "int32", "Byte": "uint8", "Bool": "bool", "Short": "int16",
               "Char": "int8", "Double": "float64", "Float": "float32", "Half": "float16"}


def dtype_word(name: str) -> str:
    return f"{_LONG_NAMES.get(name, name)} ({name})" if name in _LONG_NAMES else name


def _explain_matmul(message: str, frames: list, objects: tuple) -> tuple[str, str]:
    match = re.search(r"\((\d+)x(\d+) and (\d+)x(\d+)\)", message)
    a_rows, a_cols, b_rows, b_cols = (int(g) for g in match.groups()) if match else (0, 0, 0, 0)
    linear = next((f.f_locals.get("self") for f in frames
                   if isinstance(f.f_locals.get("self"), nn.Linear) and f.f_code.co_name == "forward"), None)
    if linear is not None:
        x = next((f.f_locals.get("input") for f in frames if f.f_locals.get("self") is linear
                  and is_tensor(f.f_locals.get("input"))), None)
        shape = f" of shape {shape_str(x.shape)}" if x is not None else ""
        width = x.shape[-1] if x is not None and x.ndim else a_cols
        problem = (f"the {_module_name(linear, objects)}Linear({linear.in_features}→{linear.out_features}) "
                   f"expects {linear.in_features} features per sample but receives {width} (an input{shape})")
        if x is not None and x.ndim > 2:
            return problem, (f"the input has {x.ndim} dimensions and a Linear layer only uses the last one: "
                             "flatten each sample first (nn.Flatten() or x.reshape(len(x), -1)).")
        return problem, (f"in_features of a layer must equal the number of features it receives ({width} here): "
                         "the first layer's in_features is the number of input features, and every later layer's "
                         "in_features is the out_features of the layer before it.")
    problem = (f"a matrix product of a {a_rows}×{a_cols} by a {b_rows}×{b_cols} matrix: the inner sizes "
               f"({a_cols} and {b_rows}) must be equal")
    if (a_rows, a_cols) == (b_rows, b_cols):
        return problem, (f"both matrices have the same shape ({a_rows}×{a_cols}): @ is the matrix product; to multiply "
                         "element by element use * (a * b), and for a matrix product transpose one of them "
                         "(a @ b.T).")
    if a_cols == b_cols:
        return problem, (f"the second matrix transposed ({b_cols}×{b_rows}) would fit: probably a .T is missing "
                         "(a weight W of shape (out_features, in_features) is applied as X @ W.T).")
    if b_cols == a_rows:
        return problem, ("the two matrices in the other order would fit: probably the operands of @ are the wrong way "
                         "round.")
    if a_rows == b_rows:
        return problem, "the first matrix transposed would fit: probably the operands or a .T are the wrong way round."
    return problem, "check the shapes of both operands (print them) before the @."


def explain(err: BaseException, frames: list, objects: tuple) -> tuple[str, str | None]:
    """(what went wrong, the likely cause or None) for an error raised in the student's code."""
    message = str(err)
    low = message.lower()
    cls = getattr(err, "__coursekit_type__", None) or type(err).__name__   # (the judge: the student's own type)
    if cls == "KeyboardInterrupt":     # the judge's cell ran past its time limit while the student's code ran
        return ("it was stopped: the test ran past the cell's time limit while your code was running",
                "probably a loop that never ends for this input (its condition stays true), or far more work "
                "than the input needs: call it on this input yourself, with a print inside the loop.")

    match = re.search(r"not implemented for '(\w+)'", message)
    if match:
        kind = dtype_word(match.group(1))
        if in_function(frames, "cross_entropy", "nll_loss", "binary_cross_entropy",
                       "binary_cross_entropy_with_logits", "kl_div"):
            return (f"the loss received an integer tensor, {kind}, where the model's output (float logits) belongs",
                    "the loss arguments are probably swapped: call loss_fn(output, target), the model's output "
                    "first and the class labels second; class indices are targets, never logits.")
        return (f"an operation that needs floating-point numbers received an integer tensor, {kind}",
                "probably integer data reached it: class indices where logits or probabilities belong, or "
                "arguments swapped; convert real data with .float().")

    if "shapes cannot be multiplied" in message:
        return _explain_matmul(message, frames, objects)

    match = (re.search(r"must have the same dtype, but got (\w+) and (\w+)", message)
             or re.search(r"to have the same dtype, but got:? (\w+) != (\w+)", message)
             or re.search(r"expected scalar type (\w+) but found (\w+)", message, re.I)
             or re.search(r"Found dtype (\w+) but expected (\w+)", message))
    if match:
        a, b = (g.capitalize() for g in match.groups())
        pair = f"{dtype_word(a)} and {dtype_word(b)}"
        if "Double" in (a, b) and "Float" in (a, b):
            return (f"two tensors with different dtypes met: {pair}",
                    "float64 (Double) data usually comes from NumPy: torch.tensor(array) and torch.from_numpy keep "
                    "float64 while the layers are float32; convert the data with .float() or "
                    "dtype=torch.float32.")
        if {a, b} & {"Long", "Int", "Byte", "Short", "Char", "Bool"}:
            if in_function(frames, "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"):
                return (f"a loss received tensors with different dtypes: {pair}",
                        "the targets are integers: convert them with .float() (regression targets are floats).")
            return (f"two tensors with different dtypes met: {pair}",
                    "integer data (labels, uint8 pixels, torch.tensor of Python ints) meets float weights: "
                    "convert the data with .float() (divide pixels by 255).")
        return f"two tensors with different dtypes met: {pair}", "convert one of them with .to(other.dtype)."

    if "can't be cast to the desired output type" in message:
        if in_function(frames, "binary_cross_entropy_with_logits", "binary_cross_entropy"):
            return ("BCEWithLogitsLoss received integer targets",
                    "binary targets must be floats of the output's shape: use y.float().")
        return ("an integer tensor was asked to hold a floating-point result in place",
                "create the tensor as float (dtype=torch.float32) or compute out of place with .float().")

    init = next((f for f in frames if f.f_code.co_name == "__init__" and is_library_file(f.f_code.co_filename)
                 and isinstance(f.f_locals.get("self"), nn.Module)
                 and any(is_tensor(v) or (isinstance(v, (tuple, list)) and any(is_tensor(x) for x in v))
                         for v in f.f_locals.values())), None)
    if init is not None or re.search(r"^\w+\.__init__\(\) (missing|takes|got)", message):
        name = type(init.f_locals["self"]).__name__ if init is not None else message.split(".", 1)[0]
        if init is not None and isinstance(init.f_locals["self"], nn.modules.loss._Loss):
            return (f"the class nn.{name} was called with tensors",
                    f"create the loss first (loss_fn = nn.{name}()), then call it: loss_fn(output, target).")
        if init is not None or name in dir(nn):
            return (f"the class nn.{name} was called with data",
                    f"nn.{name}(...) creates a layer from its sizes; create it once (layer = nn.{name}(...)) and "
                    "then call the instance on the tensors, layer(x).")

    match = re.search(r"(\S+) is not a Module subclass", message)
    if match:
        name = match.group(1).rsplit(".", 1)[-1]
        if name[:1].islower():
            return (f"nn.Sequential received the function {name}, not a layer",
                    f"nn.Sequential holds layers (modules): use nn.{name.capitalize() if name != 'relu' else 'ReLU'}() "
                    "instead of the function, or apply the function in a forward() of your own.")
        return (f"nn.Sequential received the class {name} itself, not a layer",
                f"create the layer by calling the class: {name}() with parentheses.")

    if "does not require grad and does not have a grad_fn" in message and not torch.is_grad_enabled():
        return ("backward() was called while gradients were switched off for everything",
                "something switched gradients off globally (torch.set_grad_enabled(False)); compute what must not "
                "be recorded inside a `with torch.no_grad():` block instead, which switches them back on at its end.")
    if "boolean value of tensor with more than one" in low:
        if in_function(frames, "legacy_get_string", "legacy_get_enum"):
            return ("a loss class was called with tensors",
                    "create the loss first (loss_fn = nn.MSELoss()), then call it: loss_fn(output, target).")
        return ("`if`, `and`, `or` or `not` on a tensor with several values",
                "use .all() or .any() (or compare single numbers with .item()).")
    match = re.search(r"Dimension out of range \(expected to be in range of \[(-?\d+), (-?\d+)\], but got (-?\d+)\)",
                      message)
    if match:
        ndim = int(match.group(2)) + 1
        return (f"dim={match.group(3)} was used on a tensor with {ndim} dimension{'s' if ndim != 1 else ''}",
                "check the tensor's shape: a dimension you expect is not there (squeezed away or never added?).")
    if re.search(r"expected all tensors to be on the same device", message, re.IGNORECASE) and not any(
            isinstance(v, nn.Module) for v in objects) and not any(
            isinstance(v, nn.Module) for f in frames for v in dict(getattr(f, "f_locals", None) or {}).values()):
        # no model anywhere (neither given nor made): the tensors were given on one device, so one the code made
        # (or moved) is elsewhere; with a model, the rule's "move the data to the model's device" applies
        return ("tensors on different devices met",
                "no model is involved: probably a tensor your code created is on the CPU while the tensors you were "
                "given are not (torch.zeros, torch.tensor, torch.arange, ... make CPU tensors unless given a "
                "device): create it with device=x.device (or torch.zeros_like(x)), and keep the given tensors where "
                "they are (no .cpu()).")
    for pattern, problem, hint in MESSAGE_RULES:
        match = re.search(pattern, message, re.IGNORECASE)
        if match:
            return problem.format(*match.groups()), hint
    if isinstance(err, (TypeError, AttributeError)) and "nonetype" in low:
        line = last_student_line(err)
        if ".grad" in line:
            return ("a .grad was None",
                    "a tensor's .grad is None until backward() has run on a loss computed from it; and after "
                    "`w = w - ...` the name w is a new tensor without a gradient: update in place (w -= ...) "
                    "inside torch.no_grad().")
        return ("a value was None", "a function without `return` gives None.")
    if isinstance(err, (TypeError, ValueError)) and re.search(r"unpack|values to unpack", low):
        return "the number of values does not match", "check how many values your function returns or unpacks."
    match = re.search(r"'(\w+)' object is not callable", message)
    if match:
        return (f"a {match.group(1)} was called like a function",
                "probably a name was reused: e.g. `loss = loss(...)` replaces the loss function by its result.")
    match = re.search(r"'(\w+)' object has no attribute '(\w+)'", message)
    if match:
        return f"a {match.group(1)} has no attribute {match.group(2)!r}", None
    if isinstance(err, AssertionError):
        return "an assert in your code failed", None
    if isinstance(err, NameError):
        return f"{message}", "define it (run the cell that defines it) or check the spelling."
    if isinstance(err, RecursionError):
        return "infinite recursion", "a function (or forward) calls itself; call the layers instead."
    return f"{cls} in your code", None


def last_student_line(err: BaseException) -> str:
    """The source of the last line outside the libraries that the error went through ('' if none)."""
    line = ""
    for frame, lineno in walk_frames(err):
        if not is_library_file(frame.f_code.co_filename):
            line = linecache.getline(frame.f_code.co_filename, lineno, frame.f_globals).strip()
    return line
