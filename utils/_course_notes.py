"""The keyword names students know from the course notes (DSCI 572), in one place.

The plotting and widget functions have one canonical signature; what the notes call things is
translated here:

* axis keywords ``x_range``/``y_range`` (limits) and ``dx``/``dy`` (tick spacing): :func:`apply_ranges`;
* ``transform="Sigmoid"``/``"Softmax"`` (or ``nn.Sigmoid()``/``nn.Softmax()``) for how a classifier's
  outputs are read: :func:`normalise_transform`, :func:`check_output_width`;
* other names for canonical keywords (``validation_loss`` for ``val_loss``, ``alpha`` for ``lr``, ...):
  the :func:`aliases` decorator.
"""
from __future__ import annotations

import functools
import inspect

from matplotlib.ticker import MultipleLocator
from torch import nn

__all__ = ["aliases", "range_pair", "apply_ranges", "normalise_transform", "check_output_width"]


def aliases(**names: str):
    """Decorator: accept ``alias=value`` for the keyword ``names[alias]`` (the canonical name).

    Giving both (by keyword or position, with a value that is not None) is a ValueError.
    """
    def decorate(func):
        signature = inspect.signature(func)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            given = {alias: kwargs.pop(alias) for alias in names if alias in kwargs}
            if not given:
                return func(*args, **kwargs)
            bound = signature.bind_partial(*args, **kwargs)
            for alias, value in given.items():
                canonical = names[alias]
                if bound.arguments.get(canonical) is not None:
                    raise ValueError(f"Pass {canonical} once: {canonical} or {alias} (its name in the "
                                     "course notes), not both.")
                bound.arguments[canonical] = value
            return func(*bound.args, **bound.kwargs)

        wrapper.__doc__ = (func.__doc__ or "") + "\n    Course-notes names accepted: " + ", ".join(
            f"``{a}`` for ``{c}``" for a, c in names.items()) + ".\n"
        return wrapper
    return decorate


def range_pair(value, name: str):
    """``(low, high)`` as floats, or None; ValueError unless low < high."""
    if value is None:
        return None
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} should be a pair (low, high), e.g. {name}=[-25, 25]; got {value!r}.") from None
    if not lo < hi:
        raise ValueError(f"{name} should be (low, high) with low < high; got {value!r}.")
    return lo, hi


def apply_ranges(ax, x_range=None, y_range=None, dx=None, dy=None) -> None:
    """Axis limits (``x_range``, ``y_range``) and tick spacing (``dx``, ``dy``) on ``ax``."""
    x_range = range_pair(x_range, "x_range")
    y_range = range_pair(y_range, "y_range")
    if x_range is not None:
        ax.set_xlim(*x_range)
    if y_range is not None:
        ax.set_ylim(*y_range)
    for step, axis, name in ((dx, ax.xaxis, "dx"), (dy, ax.yaxis, "dy")):
        if step is None:
            continue
        if not (isinstance(step, (int, float)) and step > 0):
            raise ValueError(f"{name} is the spacing between ticks and must be a positive number; got {step!r}.")
        lo, hi = (ax.get_xlim() if axis is ax.xaxis else ax.get_ylim())
        if abs(hi - lo) / step > 200:
            raise ValueError(
                f"{name}={step} would put more than 200 ticks on an axis that spans {lo:g} to {hi:g}; "
                f"choose a larger {name}."
            )
        axis.set_major_locator(MultipleLocator(step))


def normalise_transform(transform) -> str:
    """``"Sigmoid"`` or ``"Softmax"`` from any spelling of either, or an ``nn.Sigmoid``/``nn.Softmax``."""
    if isinstance(transform, nn.Module):
        transform = type(transform).__name__
    if not isinstance(transform, str) or transform.lower() not in ("sigmoid", "softmax"):
        raise ValueError(
            f"transform should be 'Sigmoid' (binary classification, model outputs 1 logit) or "
            f"'Softmax' (C classes, model outputs C logits); got {transform!r}."
        )
    return "Sigmoid" if transform.lower() == "sigmoid" else "Softmax"


def check_output_width(n_outputs: int, transform) -> None:
    """ValueError if a model with ``n_outputs`` outputs cannot be read with ``transform``."""
    transform = normalise_transform(transform)
    if transform == "Sigmoid" and n_outputs != 1:
        raise ValueError(
            f"transform='Sigmoid' needs a model with 1 output (one logit per point, the score of "
            f"class 1), but this model has {n_outputs} outputs. For {n_outputs} classes use "
            f"transform='Softmax'."
        )
    if transform == "Softmax" and n_outputs < 2:
        raise ValueError(
            "transform='Softmax' needs a model with one output per class (at least 2), but this "
            "model has 1 output: softmax over a single output is always 1. For a binary model "
            "with one logit use transform='Sigmoid'."
        )
