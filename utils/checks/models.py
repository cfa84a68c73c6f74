"""Checks of a model's structure: its number of trainable parameters and its layers."""
from __future__ import annotations

import inspect
import numbers

import torch
from torch import nn

from ._format import at_caller, check_hint, check_name, describe, failure, kind_hint
from ._plain import plain

__all__ = ["check_param_count", "check_layers"]

# ---------------------------------------------------------------------------
# Models: parameters and layers
# ---------------------------------------------------------------------------

def _require_module(value, name: str, hint) -> None:
    if issubclass(type(value), nn.Module):      # type(value): an object's __class__ can lie, its type cannot
        return
    default = kind_hint(value)
    if default is None and inspect.isclass(value):
        default = f"create an instance first, e.g. `{value.__name__}()`."
    raise failure(name, "expected a PyTorch model (an nn.Module).", "an nn.Module", describe(value),
                  hint, default or "build the model with nn.Sequential(...) or a class deriving from nn.Module.")


def _layer_summary(module: nn.Module) -> str:
    if isinstance(module, nn.Linear):
        return f"Linear({module.in_features}→{module.out_features}{'' if module.bias is not None else ', no bias'})"
    if isinstance(module, nn.modules.conv._ConvNd):
        return f"{type(module).__name__}({module.in_channels}→{module.out_channels}, kernel {tuple(module.kernel_size)})"
    return type(module).__name__


def _named_parameters(model: nn.Module, name: str, recurse: bool = True) -> list:
    """``(name, parameter)`` of ``model``, each parameter plain data (an exact nn.Parameter or tensor).

    Read through nn.Module's own method, so that a model cannot report other parameters than it has;
    the judge's stand-in for a model that stayed in the student's kernel reads them from there, as data."""
    remote = getattr(type(model), "__coursekit_remote__", False)
    named = list(model.named_parameters(recurse=recurse) if remote else nn.Module.named_parameters(model, recurse=recurse))
    for pname, p in named:
        if not issubclass(type(p), nn.parameter.UninitializedParameter):
            plain(p, f"{name}'s parameter {pname}", None, want="a plain nn.Parameter")
    return named


def _modules(model: nn.Module, remove_duplicate: bool = True) -> list:
    """``(name, module)`` of ``model`` and its submodules, read as ``_named_parameters`` reads parameters."""
    remote = getattr(type(model), "__coursekit_remote__", False)
    return list(model.named_modules(remove_duplicate=remove_duplicate) if remote
                else nn.Module.named_modules(model, remove_duplicate=remove_duplicate))


def _count(params) -> int:
    total = 0
    for p in params:
        if issubclass(type(p), nn.parameter.UninitializedParameter):
            raise failure("model", "has lazy layers whose size is not known yet.", None, None, None,
                          "run one forward pass (model(x)) before counting parameters, or give the layer its input size.")
        total += torch.Tensor.numel(p)
    return total


def _param_breakdown(model: nn.Module, name: str) -> list[str]:
    lines = []
    for mod_name, module in _modules(model):
        own = [p for _, p in _named_parameters(module, name, recurse=False)]
        if not own:
            continue
        trainable = _count(p for p in own if p.requires_grad)
        frozen = _count(p for p in own if not p.requires_grad)
        label = mod_name or "(the model itself)"
        text = f"{label}: {_layer_summary(module)} -> {trainable:,}"
        if frozen:
            text += f" (+{frozen:,} frozen)"
        lines.append(text)
    return lines


def check_param_count(model, expected: int, hint: str | None = None, *, name: str = "model") -> None:
    """Check the number of trainable parameters (``requires_grad=True``) of ``model``.

    A typical failure, as the student reads it:

    >>> check_param_count(nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1, bias=False)), 13)
    Traceback (most recent call last):
    ...
    AssertionError: model: wrong number of trainable parameters.
      expected: 13
      got:      12
      per layer:
        0: Linear(2→3) -> 9
        1: Linear(3→1, no bias) -> 3
      hint: some Linear layers have no bias: did you pass bias=False?
    """
    __tracebackhide__ = True   # IPython and pytest show the caller's line, not this one
    with at_caller():
        check_name("check_param_count", name)
        check_hint("check_param_count", hint)
        if isinstance(expected, bool) or not isinstance(expected, numbers.Integral) or expected < 0:
            raise TypeError(f"check_param_count(): `expected` must be a non-negative int, got {expected!r}.")
        _require_module(model, name, hint)
        params = [p for _, p in _named_parameters(model, name)]
        got = _count(p for p in params if p.requires_grad)
        if got == int(expected):
            return
        lines = _param_breakdown(model, name)
        if len(lines) > 12:
            lines = lines[:11] + [f"... and {len(lines) - 11} more"]
        extra = "per layer:\n" + "\n".join("  " + line for line in lines) if lines else "the model has no parameters"
        frozen = _count(p for p in params if not p.requires_grad)
        default = "check in_features/out_features of each layer (inputs × outputs weights + outputs biases)."
        biases = sum(m.out_features for _, m in _modules(model) if isinstance(m, nn.Linear) and m.bias is None)
        if frozen and got + frozen == expected:
            default = "some parameters have requires_grad=False (frozen) and are not counted."
        elif biases and got + biases == expected:
            default = "some Linear layers have no bias: did you pass bias=False?"
        elif got == 0:
            default = "the model has no trainable parameters: were the layers created in __init__ and stored as attributes?"
        raise failure(name, "wrong number of trainable parameters.", f"{int(expected):,}", f"{got:,}", hint, default,
                      extra=extra)


_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)


def _leaf_modules(model: nn.Module) -> list[nn.Module]:
    """Modules without children, in registration order (empty containers do not count).

    A module used twice (one ReLU instance shared by two places of an nn.Sequential) is listed
    at each place, as the forward pass uses it."""
    return [m for _, m in _modules(model, remove_duplicate=False)
            if not any(True for _ in _children(m)) and not (isinstance(m, _CONTAINERS) and m is not model)
            and not (isinstance(m, nn.Identity) and m is not model)]


def _children(module: nn.Module) -> list:
    remote = getattr(type(module), "__coursekit_remote__", False)
    return list(module.children() if remote else nn.Module.children(module))


def _type_list(types) -> str:
    return "[" + ", ".join(t.__name__ for t in types) + "]"


_ACTIVATIONS = (nn.ReLU, nn.Sigmoid, nn.Tanh, nn.LeakyReLU, nn.ELU, nn.GELU, nn.Softmax, nn.LogSoftmax,
                nn.SiLU, nn.Softplus)


def check_layers(model, expected_types: list, hint: str | None = None, *, name: str = "model") -> None:
    """Check the sequence of leaf modules' types (in registration order), e.g. ``[nn.Linear, nn.ReLU, nn.Linear]``.

    A leaf is a module without children; a subclass counts as its parent type (isinstance).
    ``nn.Identity`` computes nothing and is skipped. This checks structure only: where the exercise
    text does not ask for specific modules, judge the model by what it computes instead.

    A typical failure, as the student reads it:

    >>> check_layers(nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1)), [nn.Linear, nn.ReLU, nn.Linear])
    Traceback (most recent call last):
    ...
    AssertionError: model: wrong layers.
      expected: [Linear, ReLU, Linear]
      got:      [Linear, Linear]
      first difference at position 1: expected ReLU, got Linear
      hint: ReLU is missing: an activation applied as a function in forward() (torch.relu, F.relu) is not a layer; use an nn.ReLU() module.
    """
    __tracebackhide__ = True   # IPython and pytest show the caller's line, not this one
    with at_caller():
        check_name("check_layers", name)
        check_hint("check_layers", hint)
        if not isinstance(expected_types, (list, tuple)) or not all(
                inspect.isclass(t) and issubclass(t, nn.Module) for t in expected_types):
            raise TypeError("check_layers(): `expected_types` must be a list of nn.Module classes such as "
                            f"[nn.Linear, nn.ReLU, nn.Linear], got {expected_types!r}.")
        _require_module(model, name, hint)
        leaves = _leaf_modules(model)
        got_types = [type(m) for m in leaves]
        if len(leaves) == len(expected_types) and all(isinstance(m, t) for m, t in zip(leaves, expected_types)):
            return
        first = next((i for i, (m, t) in enumerate(zip(leaves, expected_types)) if not isinstance(m, t)),
                     min(len(leaves), len(expected_types)))
        if first < min(len(leaves), len(expected_types)):
            extra = f"first difference at position {first}: expected {expected_types[first].__name__}, " \
                    f"got {got_types[first].__name__}"
        elif len(leaves) < len(expected_types):
            extra = f"missing from position {first}: {_type_list(expected_types[first:])}"
        else:
            extra = f"unexpected from position {first}: {_type_list(got_types[first:])}"
        default = None
        missing_acts = [t for t in expected_types if issubclass(t, _ACTIVATIONS)
                        and sum(issubclass(g, t) for g in got_types) < sum(e is t for e in expected_types)]
        if sorted(t.__name__ for t in got_types) == sorted(t.__name__ for t in expected_types):
            default = ("the right layers in a different order; layers are listed in the order they are "
                       "created in __init__ (or passed to nn.Sequential).")
        elif missing_acts:
            default = (f"{missing_acts[0].__name__} is missing: an activation applied as a function in forward() "
                       f"(torch.relu, F.relu) is not a layer; use an nn.{missing_acts[0].__name__}() module.")
        elif len(leaves) != len(expected_types):
            default = f"expected {len(expected_types)} layers, found {len(leaves)}."
        raise failure(name, "wrong layers.", _type_list(expected_types), _type_list(got_types), hint, default,
                      extra=extra)
