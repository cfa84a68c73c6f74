"""The course's pictures: regression fits, hidden-node features, activation curves,
decision regions, loss curves, digit grids, confusion matrices and gradient descent.

Every function follows matplotlib's "helper function" pattern:

* it draws on ``ax=`` when given and otherwise makes its own figure;
* it returns what it drew on: the ``Axes``, or the ``Figure`` when it needs several panels;
* it never calls ``plt.show()`` and never changes global matplotlib settings (``rcParams``);
* it accepts NumPy arrays, lists or PyTorch tensors on any device (CPU, CUDA, MPS), with or
  without ``requires_grad``;
* it evaluates a model in eval mode under ``torch.no_grad()`` on the model's own device and
  puts every sub-module back in the train/eval mode it was in;
* bad input raises ``ValueError`` with a message that says what was expected.

The keyword names of the DSCI 572 course notes keep working: ``plot_regression(X, y, y_hat,
y_range=[-25, 25], dy=5)``, ``plot_classification_2d(X, y, model, transform="Softmax",
title=...)``, ``plot_loss(train_loss, validation_loss, train_acc, valid_acc)`` and
``plot_activations(torch.linspace(-6, 6, 100), [nn.Sigmoid, nn.ReLU])``.

Inputs are converted and validated by ``utils._arrays`` and the course notes' keyword names are
translated by ``utils._course_notes``, the same modules ``utils.interactive`` uses.

In a notebook, end a line that returns a ``Figure`` with ``;`` so that Jupyter does not show
the picture twice.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.colors import ListedColormap
from torch import nn

from utils._arrays import as_class_labels, as_labels, as_vector, as_xy, check_same_length, to_numpy
from utils._course_notes import aliases, apply_ranges, check_output_width, normalise_transform, range_pair

__all__ = [
    "plot_regression",
    "plot_nodes",
    "plot_activations",
    "plot_classification_2d",
    "plot_loss",
    "plot_digits",
    "plot_confusion_matrix",
    "plot_gradient_descent",
    "plot_learning_rates",
    "gradient_descent_path",
    "predict",
]

# Colours are passed explicitly to every call: the global colour cycle is left alone.
CLASS_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
                "#17becf", "#e377c2", "#8c564b", "#bcbd22", "#7f7f7f"]
DATA_COLOR = "#1f77b4"
MODEL_COLOR = "#d62728"
WRONG_COLOR = "red"
RIGHT_COLOR = "black"


# ----------------------------------------------------------------------------------------
# Axes
# ----------------------------------------------------------------------------------------
def _get_ax(ax, figsize=(5.5, 4.2)):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    elif not hasattr(ax, "plot"):
        raise ValueError(f"ax should be a matplotlib Axes (e.g. from plt.subplots()), not {type(ax).__name__}.")
    return ax



# ----------------------------------------------------------------------------------------
# Evaluating models
# ----------------------------------------------------------------------------------------
def _model_device_dtype(model: nn.Module):
    for tensor in list(model.parameters()) + list(model.buffers()):
        if tensor.is_floating_point():
            return tensor.device, tensor.dtype
    for tensor in list(model.parameters()) + list(model.buffers()):
        return tensor.device, torch.get_default_dtype()
    return torch.device("cpu"), torch.get_default_dtype()


class _EvalMode:
    """Context: every sub-module in eval mode, restored one by one on exit."""

    def __init__(self, model: nn.Module):
        self.model = model

    def __enter__(self):
        self.modes = [(m, m.training) for m in self.model.modules()]
        self.model.eval()
        return self.model

    def __exit__(self, *exc):
        for module, mode in self.modes:
            module.training = mode
        return False


def predict(model, X) -> np.ndarray:
    """The model's outputs for inputs ``X`` as a NumPy array (N x outputs, or N for a flat output).

    An ``nn.Module`` is evaluated in eval mode under ``torch.no_grad()``, on its own device and
    in its own dtype; its previous train/eval mode is restored afterwards. An object with a
    ``predict`` method (a scikit-learn model) is called with the NumPy array.
    """
    X = to_numpy(X, "X").astype(float)
    if isinstance(model, nn.Module):
        device, dtype = _model_device_dtype(model)
        if device.type == "meta":
            raise ValueError("The model is on the 'meta' device and has no weights to evaluate; "
                             "move it to a real device first, e.g. model.to('cpu').")
        inputs = torch.as_tensor(X, dtype=dtype, device=device)
        with _EvalMode(model), torch.no_grad():
            try:
                out = model(inputs)
            except (RuntimeError, TypeError) as err:
                raise ValueError(
                    f"Calling the model on inputs of shape {tuple(inputs.shape)} failed. Check that the "
                    f"model's first layer expects {X.shape[1] if X.ndim == 2 else 1} input feature(s). "
                    f"PyTorch said: {err}"
                ) from err
        if not isinstance(out, torch.Tensor):
            raise ValueError(f"The model should return a tensor, but it returned {type(out).__name__}.")
        return to_numpy(out, "model output").astype(float)
    if hasattr(model, "predict"):
        return np.asarray(model.predict(X), dtype=float)
    if callable(model):
        with torch.no_grad():
            out = model(torch.as_tensor(X, dtype=torch.get_default_dtype()))
        return to_numpy(out, "model output").astype(float)
    raise ValueError(f"model should be a torch nn.Module (or an array of predictions), not {type(model).__name__}.")


def _is_model(obj) -> bool:
    return isinstance(obj, nn.Module) or (hasattr(obj, "predict") and not isinstance(obj, np.ndarray)) \
        or (callable(obj) and not isinstance(obj, (np.ndarray, torch.Tensor)))


# ----------------------------------------------------------------------------------------
# Regression
# ----------------------------------------------------------------------------------------
def plot_regression(X, y, model=None, *, ax=None, title=None, xlabel="x", ylabel="y",
                    y_hat=None, x_range=None, y_range=None, dx=None, dy=None, n_points=200):
    """Scatter the data ``(X, y)`` and draw the model's prediction curve.

    Parameters
    ----------
    X : array or tensor, shape (N,) or (N, 1)
        One input feature.
    y : array or tensor, shape (N,) or (N, 1)
        The targets.
    model : nn.Module, or an array of predictions, optional
        A model with 1 input and 1 output (its curve is drawn over ``n_points`` evenly spaced
        inputs covering the data), or the predictions for ``X`` themselves, as in the DSCI 572
        notes: ``plot_regression(X, y, y_p)``. ``y_hat=`` is the same as passing predictions.
    ax : matplotlib Axes, optional
    title, xlabel, ylabel : str
    x_range, y_range : (low, high), optional
        Axis limits. ``dx``, ``dy``: distance between ticks.

    Returns
    -------
    matplotlib.axes.Axes
    """
    x, yv = as_xy(X, y)
    if model is not None and y_hat is not None:
        raise ValueError("Pass either a model or y_hat (the predictions), not both.")
    ax = _get_ax(ax)
    ax.scatter(x, yv, s=18, color=DATA_COLOR, alpha=0.7, edgecolors="none", label="data", zorder=2)

    if y_hat is None and model is not None and not _is_model(model):
        y_hat, model = model, None
    if model is not None:
        lo, hi = (x.min(), x.max()) if x.size else (-1.0, 1.0)
        if x_range is not None:
            lo, hi = range_pair(x_range, "x_range")
        grid = np.linspace(lo, hi, n_points)
        out = predict(model, grid[:, None])
        if out.ndim == 2 and out.shape[1] != 1 or out.ndim > 2 or out.size != grid.size:
            raise ValueError(
                f"plot_regression needs a model with ONE output per input, but the model returned "
                f"shape {tuple(out.shape)} for {grid.size} inputs."
            )
        ax.plot(grid, out.reshape(-1), color=MODEL_COLOR, lw=2.5, label="model prediction", zorder=3)
    elif y_hat is not None:
        pred = as_vector(y_hat, "y_hat (the predictions)")
        check_same_length(x, pred, "X", "the predictions")
        order = np.argsort(x, kind="stable")
        ax.plot(x[order], pred[order], color=MODEL_COLOR, lw=2.5, label="model prediction", zorder=3)

    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", frameon=False)
    apply_ranges(ax, x_range, y_range, dx, dy)
    return ax


# ----------------------------------------------------------------------------------------
# Hidden-node decomposition
# ----------------------------------------------------------------------------------------
_NODES_STRUCTURE = (
    "plot_nodes needs a network with exactly three layers, in this order: nn.Linear(1, H), an "
    "activation (e.g. nn.Sigmoid() or nn.ReLU()), nn.Linear(H, 1)"
)


def _split_one_hidden_layer(model: nn.Module):
    if not isinstance(model, nn.Module):
        raise ValueError(f"{_NODES_STRUCTURE}; got a {type(model).__name__}, not an nn.Module.")
    leaves = [m for m in model.modules() if len(list(m.children())) == 0]
    # Dropout and Identity do nothing in eval mode, so they may sit anywhere.
    leaves = [m for m in leaves if not isinstance(m, (nn.Dropout, nn.Identity))]
    kinds = ", ".join(type(m).__name__ for m in leaves) or "no layers"
    if len(leaves) != 3 or not isinstance(leaves[0], nn.Linear) or not isinstance(leaves[2], nn.Linear) \
            or isinstance(leaves[1], nn.Linear):
        raise ValueError(f"{_NODES_STRUCTURE}. This model's layers are: {kinds}.")
    first, act, last = leaves
    if first.in_features != 1 or last.out_features != 1:
        raise ValueError(
            f"{_NODES_STRUCTURE}: one input and one output. This model has nn.Linear({first.in_features}, "
            f"{first.out_features}) first and nn.Linear({last.in_features}, {last.out_features}) last."
        )
    if first.out_features != last.in_features:
        raise ValueError(f"The first layer has {first.out_features} outputs but the last layer expects "
                         f"{last.in_features} inputs.")
    return first, act, last


def plot_nodes(X, y, model, *, ax=None, title=None, x_range=None, y_range=None, dx=None, dy=None,
               xlabel="x", ylabel="y", n_points=200):
    """Show how the hidden nodes of a one-hidden-layer network add up to its prediction.

    For a network ``Linear(1, H) -> activation -> Linear(H, 1)`` (an ``nn.Sequential`` or a
    custom ``nn.Module`` with any attribute names; the leaf modules are taken in the order they
    were registered) the prediction is

        y_hat(x) = b + sum_j  w_j * act(a_j * x + c_j)

    Each term ``w_j * act(h_j(x))`` is drawn as a thin line, the output bias ``b`` as a dotted
    line, their sum (the prediction) as a thick dashed line, and the data ``(X, y)`` as points.

    Returns
    -------
    matplotlib.axes.Axes
    """
    first, act, last = _split_one_hidden_layer(model)
    x, yv = as_xy(X, y)
    lo, hi = (x.min(), x.max()) if x.size else (-1.0, 1.0)
    if x_range is not None:
        lo, hi = range_pair(x_range, "x_range")
    grid = np.linspace(lo, hi, n_points)

    device, dtype = _model_device_dtype(model)
    inputs = torch.as_tensor(grid[:, None], dtype=dtype, device=device)
    with _EvalMode(model), torch.no_grad():
        hidden = act(first(inputs))                          # N x H
        contributions = hidden * last.weight[0]              # N x H: w_j * act(h_j(x))
        bias = last.bias[0] if last.bias is not None else torch.zeros((), dtype=dtype, device=device)
        total = contributions.sum(dim=1) + bias
        try:
            output = model(inputs).reshape(-1)
        except (RuntimeError, TypeError) as err:
            raise ValueError(f"Calling the model on inputs of shape {tuple(inputs.shape)} failed: {err}") from err
    contributions = to_numpy(contributions, "contributions").astype(float)
    total = to_numpy(total, "sum").astype(float)
    output = to_numpy(output, "output").astype(float)
    bias = float(to_numpy(bias, "bias"))
    if output.shape != total.shape or not np.allclose(output, total, rtol=1e-4, atol=1e-4 * (1 + np.abs(total).max())):
        raise ValueError(
            f"{_NODES_STRUCTURE}, and its forward() must apply them in that order and nothing else. "
            "This model's predictions differ from Linear -> activation -> Linear applied in "
            "registration order."
        )

    ax = _get_ax(ax, figsize=(6.5, 4.5))
    ax.scatter(x, yv, s=14, color="0.6", alpha=0.6, edgecolors="none", label="data", zorder=1)
    n_nodes = contributions.shape[1]
    cmap = plt.get_cmap("tab10" if n_nodes <= 10 else "viridis")
    for j in range(n_nodes):
        color = cmap(j % 10) if n_nodes <= 10 else cmap(j / max(n_nodes - 1, 1))
        ax.plot(grid, contributions[:, j], lw=1.3, color=color,
                label=f"node {j + 1}" if n_nodes <= 10 else None, zorder=2)
    ax.plot(grid, np.full_like(grid, bias), lw=1.3, ls=":", color="0.3", label="output bias", zorder=2)
    ax.plot(grid, total, lw=3, ls="--", color="black", label="sum = prediction", zorder=3)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title if title is not None else f"Hidden-node contributions ({n_nodes} nodes)")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False, fontsize="small")
    apply_ranges(ax, x_range, y_range, dx, dy)
    return ax


# ----------------------------------------------------------------------------------------
# Activation functions
# ----------------------------------------------------------------------------------------
_ACTIVATION_NAMES = ["Sigmoid", "Tanh", "ReLU", "LeakyReLU", "ELU", "SELU", "CELU", "GELU", "SiLU",
                     "Mish", "Softplus", "Softsign", "Hardtanh", "Hardsigmoid", "Hardswish", "ReLU6",
                     "LogSigmoid", "Tanhshrink", "Identity"]


def _activation(spec):
    """(display name, callable on tensors) from a name, an nn.Module class or instance, or a function."""
    if isinstance(spec, str):
        lookup = {name.lower(): name for name in _ACTIVATION_NAMES}
        key = spec.replace("_", "").replace(" ", "").lower()
        if key == "swish":
            key = "silu"
        if key not in lookup:
            raise ValueError(f"Unknown activation {spec!r}. Known names: {', '.join(_ACTIVATION_NAMES)} "
                             "(or pass an nn.Module such as nn.LeakyReLU(0.1)).")
        name = lookup[key]
        return name, getattr(nn, name)()
    if isinstance(spec, type) and issubclass(spec, nn.Module):
        try:
            return spec.__name__, spec()
        except TypeError as err:
            raise ValueError(f"Could not create {spec.__name__}() without arguments ({err}); "
                             f"pass an instance instead, e.g. nn.{spec.__name__}(...).") from None
    if isinstance(spec, nn.Module):
        return type(spec).__name__, spec
    if callable(spec):
        return getattr(spec, "__name__", type(spec).__name__), spec
    raise ValueError(f"An activation should be a name like 'ReLU', an nn.Module or a function; got {spec!r}.")


def plot_activations(activations, functions=None, *, x_range=(-5, 5), derivative=True, ncols=3,
                     n_points=400, title=None):
    """One panel per activation function, with its derivative dashed.

    ``activations`` is a name (``"ReLU"``), an ``nn.Module`` (class or instance, e.g.
    ``nn.LeakyReLU(0.1)``), a function on tensors (``torch.tanh``), or a list of these.
    The DSCI 572 call ``plot_activations(torch.linspace(-6, 6, 100), functions)`` also works:
    the first argument is then the x values.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if functions is not None:  # DSCI 572 order: (x, functions)
        xs = as_vector(activations, "x")
        activations = functions
    else:
        lo, hi = range_pair(x_range, "x_range")
        xs = np.linspace(lo, hi, n_points)
    if isinstance(activations, (str, nn.Module, type)) or (callable(activations) and not isinstance(activations, Sequence)):
        activations = [activations]
    activations = list(activations)
    if not activations:
        raise ValueError("Pass at least one activation, e.g. plot_activations(['Sigmoid', 'ReLU']).")
    specs = [_activation(a) for a in activations]

    n = len(specs)
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.4 * ncols, 2.8 * nrows), squeeze=False)
    x_t = torch.tensor(xs, dtype=torch.float32)
    for ax, (name, fn) in zip(axes.flat, specs):
        with torch.enable_grad():
            x_in = x_t.detach().clone().requires_grad_(True)
            try:
                out = fn(x_in)
            except Exception as err:
                raise ValueError(f"Applying the activation {name} to a tensor failed: {err}") from err
            if not isinstance(out, torch.Tensor) or out.shape != x_in.shape:
                raise ValueError(f"The activation {name} should return a tensor of the same shape as its input.")
            ax.plot(xs, to_numpy(out, name), lw=2.2, color="#1f77b4", label=name)
            if derivative:
                if out.requires_grad:
                    (grad,) = torch.autograd.grad(out.sum(), x_in)
                    ax.plot(xs, to_numpy(grad, name), lw=1.6, ls="--", color="#ff7f0e", label="derivative")
        ax.axhline(0, color="0.6", lw=0.8, zorder=0)
        ax.axvline(0, color="0.6", lw=0.8, zorder=0)
        ax.set_title(name)
        ax.set_xlabel("x")
        ax.grid(True, alpha=0.3)
        if derivative:
            ax.legend(loc="upper left", frameon=False, fontsize="small")
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    if title is not None:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------------------
# Classification in 2-D
# ----------------------------------------------------------------------------------------
def plot_classification_2d(X, y, model=None, *, transform="Sigmoid", ax=None, title=None, dx=None,
                           y_range=None, x_range=None, dy=None, resolution=200, xlabel="$x_1$",
                           ylabel="$x_2$", colorbar=True):
    """Scatter 2-D points coloured by class and, with a model, its predictions over the plane.

    * ``transform="Sigmoid"``: the model outputs ONE logit per point; the background is the
      probability of class 1, ``sigmoid(logit)``, with the 0.5 decision boundary drawn black.
    * ``transform="Softmax"``: the model outputs C logits per point (C >= 2); the background is
      the predicted class, the argmax of ``softmax(logits, dim=1)`` (one row per point).

    ``x_range``/``y_range`` set the area shown (default: the data plus a margin) and
    ``dx``/``dy`` the spacing between ticks. The model is evaluated on a
    ``resolution x resolution`` grid on its own device.

    Returns
    -------
    matplotlib.axes.Axes
    """
    transform = normalise_transform(transform)
    pts = to_numpy(X, "X")
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(
            f"X should have shape (N, 2): two input features per point, one per axis; "
            f"it has shape {tuple(pts.shape)}."
        )
    pts = pts.astype(float)
    labels = as_labels(y, "y")
    check_same_length(pts, labels, "X", "y")

    def limits(given, column, name, pad=0.1):  # the given range, else the data plus a margin
        if given is not None:
            return range_pair(given, name)
        lo, hi = (pts[:, column].min(), pts[:, column].max()) if len(pts) else (-1.0, 1.0)
        span = (hi - lo) or 1.0
        return lo - pad * span, hi + pad * span

    xr, yr = limits(x_range, 0, "x_range"), limits(y_range, 1, "y_range")

    n_classes = int(labels.max()) + 1 if labels.size else 1
    ax = _get_ax(ax, figsize=(6, 4.8) if model is not None and transform == "Sigmoid" and colorbar else (5, 4.8))

    if model is not None:
        g1, g2 = np.meshgrid(np.linspace(*xr, resolution), np.linspace(*yr, resolution))
        grid = np.column_stack([g1.ravel(), g2.ravel()])
        out = predict(model, grid)
        if out.ndim == 1:
            out = out[:, None]
        if out.ndim != 2 or out.shape[0] != grid.shape[0]:
            raise ValueError(f"The model should return one row of logits per input point; for "
                             f"{grid.shape[0]} points it returned shape {tuple(out.shape)}.")
        check_output_width(out.shape[1], transform)
        logits = torch.as_tensor(out)
        if transform == "Sigmoid":
            if labels.size and labels.max() > 1:
                raise ValueError(
                    f"y has {n_classes} classes but transform='Sigmoid' is for 2 classes (labels 0 and 1). "
                    "Use a model with one output per class and transform='Softmax'."
                )
            prob = torch.sigmoid(logits[:, 0]).numpy().reshape(g1.shape)
            levels = np.linspace(0, 1, 11)
            filled = ax.contourf(g1, g2, prob, levels=levels, cmap="RdBu_r", alpha=0.5, zorder=0)
            ax.contour(g1, g2, prob, levels=[0.5], colors="black", linewidths=1.5, zorder=1)
            if colorbar:
                cbar = ax.figure.colorbar(filled, ax=ax)
                cbar.set_label("P(class 1)")
        else:
            n_out = out.shape[1]
            if labels.size and labels.max() >= n_out:
                raise ValueError(
                    f"y contains class {labels.max()} but the model has only {n_out} outputs "
                    f"(classes 0 to {n_out - 1}); it needs one output per class."
                )
            probs = torch.softmax(logits, dim=1)        # one probability per class, in each row
            region = probs.argmax(dim=1).numpy().reshape(g1.shape)
            n_classes = max(n_classes, n_out)
            cmap = ListedColormap([CLASS_COLORS[k % len(CLASS_COLORS)] for k in range(n_classes)])
            ax.contourf(g1, g2, region, levels=np.arange(n_classes + 1) - 0.5, cmap=cmap, alpha=0.3, zorder=0)

    for k in np.unique(labels):
        mask = labels == k
        ax.scatter(pts[mask, 0], pts[mask, 1], s=24, color=CLASS_COLORS[k % len(CLASS_COLORS)],
                   edgecolors="black", linewidths=0.5, label=f"class {k}", zorder=2)
    ax.set_xlim(*xr)
    ax.set_ylim(*yr)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    if labels.size:
        ax.legend(loc="upper right", fontsize="small", framealpha=0.85, markerscale=1.3)
    apply_ranges(ax, None, None, dx, dy)
    return ax


# ----------------------------------------------------------------------------------------
# Training curves
# ----------------------------------------------------------------------------------------
def _history_list(values, name):
    if values is None:
        return None
    arr = as_vector(values, name) if not (isinstance(values, (list, tuple)) and len(values) == 0) else np.array([])
    return arr if arr.size else None


@aliases(validation_loss="val_loss", train_acc="train_metric", valid_acc="val_metric")
def plot_loss(train_loss, val_loss=None, *, train_metric=None, val_metric=None, metric_name="accuracy",
              title=None, logy=False):
    """Training (and validation) loss per epoch; with a metric, a second panel for it.

    ``train_loss`` is a list of numbers (one per epoch) or the history dict returned by
    ``utils.training.fit`` (keys ``train_loss``, ``val_loss``, ``train_metric``, ``val_metric``).
    The DSCI 572 names ``validation_loss``, ``train_acc`` and ``valid_acc`` work too.

    Returns
    -------
    matplotlib.figure.Figure with 1 panel, or 2 when a metric is given.
    """
    if isinstance(train_loss, Mapping):
        history = train_loss
        if "train_loss" not in history:
            raise ValueError(f"The history dict should have a 'train_loss' key; it has {sorted(history)}.")
        train_loss = history["train_loss"]
        val_loss = val_loss if val_loss is not None else history.get("val_loss")
        train_metric = train_metric if train_metric is not None else history.get("train_metric")
        val_metric = val_metric if val_metric is not None else history.get("val_metric")

    train = _history_list(train_loss, "train_loss")
    if train is None:
        raise ValueError("train_loss is empty: pass one loss value per epoch.")
    val = _history_list(val_loss, "val_loss")
    tm = _history_list(train_metric, "train_metric")
    vm = _history_list(val_metric, "val_metric")
    for arr, name in ((val, "val_loss"), (tm, "train_metric"), (vm, "val_metric")):
        if arr is not None and len(arr) != len(train):
            raise ValueError(f"{name} has {len(arr)} values but train_loss has {len(train)}; "
                             "both should hold one value per epoch.")
    if vm is not None and tm is None:
        tm, vm = vm, None
        train_label = "validation"
    else:
        train_label = "training"

    has_metric = tm is not None
    fig, axes = plt.subplots(1, 2 if has_metric else 1, figsize=(10.5 if has_metric else 5.5, 4), squeeze=False)
    axes = axes[0]
    epochs = np.arange(1, len(train) + 1)
    marker = "o" if len(train) <= 30 else None
    ax = axes[0]
    ax.plot(epochs, train, marker=marker, ms=3, lw=2, color="#1f77b4", label="training loss")
    if val is not None:
        ax.plot(epochs, val, marker=marker, ms=3, lw=2, color="#ff7f0e", label="validation loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title("Loss")
    if logy:
        ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    ax.legend(frameon=False)
    if has_metric:
        ax = axes[1]
        ax.plot(epochs, tm, marker=marker, ms=3, lw=2, color="#1f77b4", label=f"{train_label} {metric_name}")
        if vm is not None:
            ax.plot(epochs, vm, marker=marker, ms=3, lw=2, color="#ff7f0e", label=f"validation {metric_name}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric_name)
        ax.set_title(metric_name.capitalize())
        ax.grid(True, alpha=0.3)
        ax.legend(frameon=False)
    for ax in axes:
        ax.xaxis.get_major_locator().set_params(integer=True)
    if title is not None:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------------------
# Images
# ----------------------------------------------------------------------------------------
def _as_images(images) -> np.ndarray:
    arr = to_numpy(images, "images").astype(float)
    if arr.ndim == 4 and arr.shape[1] == 1:
        arr = arr[:, 0]
    elif arr.ndim == 2 and arr.shape[1] == 784:
        arr = arr.reshape(-1, 28, 28)
    elif arr.ndim == 2 and arr.shape == (28, 28):
        arr = arr[None]
    elif arr.ndim == 3 and arr.shape[0] == 1 and arr.shape[1:] != (28, 28):
        raise ValueError(f"images has shape {tuple(arr.shape)}; expected N x 28 x 28 digits.")
    if arr.ndim != 3:
        raise ValueError(
            f"images should be a batch of grey-scale pictures: shape (N, 28, 28), (N, 1, 28, 28) or "
            f"(N, 784); got shape {tuple(arr.shape)}."
        )
    return arr


def plot_digits(images, labels=None, predictions=None, *, ncols=8, title=None, max_images=64,
                class_names=None, cmap="gray"):
    """A grid of 28 x 28 images with their true label and, if given, the prediction.

    ``predictions`` may be class indices or one row of logits per image (argmax is taken).
    A wrong prediction is written in red. At most ``max_images`` images are drawn.

    Returns
    -------
    matplotlib.figure.Figure
    """
    imgs = _as_images(images)
    n_all = len(imgs)
    if n_all == 0:
        raise ValueError("images is empty: pass at least one image.")
    true = None if labels is None else as_class_labels(labels, "labels", n_all, per="image")
    pred = None if predictions is None else as_class_labels(predictions, "predictions", n_all, per="image")
    n = min(n_all, int(max_images))
    if not (isinstance(ncols, int) and ncols > 0):
        raise ValueError(f"ncols should be a positive integer; got {ncols!r}.")
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    row_h = 1.55 if (true is not None and pred is not None) else 1.35
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.3 * ncols, row_h * nrows + (0.4 if title else 0)),
                             squeeze=False)

    def name(k):
        return str(class_names[k]) if class_names is not None else str(k)

    for i, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if i >= n:
            ax.set_visible(False)
            continue
        ax.imshow(imgs[i], cmap=cmap, interpolation="nearest")
        for spine in ax.spines.values():
            spine.set_visible(False)
        if true is not None and pred is not None:
            wrong = true[i] != pred[i]
            ax.set_title(f"true {name(true[i])}\npred {name(pred[i])}", fontsize=9,
                         color=WRONG_COLOR if wrong else RIGHT_COLOR,
                         fontweight="bold" if wrong else "normal")
        elif true is not None:
            ax.set_title(f"label {name(true[i])}", fontsize=9)
        elif pred is not None:
            ax.set_title(f"pred {name(pred[i])}", fontsize=9)
    if title is not None:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_confusion_matrix(y_true, y_pred, *, ax=None, labels=None, display_labels=None, title=None,
                          cmap="Blues"):
    """Counts of (true class, predicted class) pairs, with the counts written in the cells.

    ``labels``: the classes to show, in order (default: every class in ``y_true`` or
    ``y_pred``), as in scikit-learn; ``display_labels``: names to print for them.
    ``y_pred`` may also be one row of logits per example (argmax is taken).

    Returns
    -------
    matplotlib.axes.Axes
    """
    from sklearn.metrics import confusion_matrix  # here: importing scikit-learn takes a second

    t = as_class_labels(y_true, "y_true")
    p = as_class_labels(y_pred, "y_pred")
    check_same_length(t, p, "y_true", "y_pred")
    if len(t) == 0:
        raise ValueError("y_true is empty.")
    classes = np.unique(np.concatenate([t, p])) if labels is None else to_numpy(labels, "labels")
    if classes.ndim != 1 or len(classes) == 0:
        raise ValueError("labels should be a list of the classes to show, e.g. labels=range(10).")
    k = len(classes)
    if np.isin(t, classes).any():
        matrix = confusion_matrix(t, p, labels=classes)
    else:  # scikit-learn refuses labels none of which occur; the picture is then all zeros
        matrix = np.zeros((k, k), dtype=int)
    if display_labels is None:
        display_labels = [str(int(c)) if float(c).is_integer() else str(c) for c in classes]
    elif len(display_labels) != k:
        raise ValueError(f"display_labels has {len(display_labels)} names for {k} classes.")

    ax = _get_ax(ax, figsize=(0.5 * k + 2.6, 0.5 * k + 2.2))
    ax.imshow(matrix, cmap=cmap, vmin=0)
    threshold = matrix.max() / 2 if matrix.max() else 1
    fontsize = 10 if k <= 10 else 7
    for i in range(k):
        for j in range(k):
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=fontsize,
                    color="white" if matrix[i, j] > threshold else "black")
    ax.set_xticks(range(k), display_labels)
    ax.set_yticks(range(k), display_labels)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    acc = np.trace(matrix) / matrix.sum() if matrix.sum() else 0.0
    ax.set_title(title if title is not None else f"Confusion matrix (accuracy {acc:.3f})")
    return ax


# ----------------------------------------------------------------------------------------
# Gradient descent on a one-weight model y = w * x
# ----------------------------------------------------------------------------------------
def _xy_for_descent(x, y):
    xv, yv = as_xy(x, y, "x", "y")
    if len(xv) == 0:
        raise ValueError("x is empty.")
    return xv, yv


def _mse(w, x, y):
    w = np.asarray(w, dtype=float)
    return ((w[..., None] * x - y) ** 2).mean(axis=-1)


def gradient_descent_path(x, y, *, w_init=1.0, lr=0.01, steps=20):
    """Gradient descent on the MSE of y = w * x: returns (weights, losses), ``steps + 1`` each.

    The gradient is d/dw mean((w x - y)^2) = 2 mean(x (w x - y)). A run that diverges is
    stopped when the weight stops being finite (the lists are then shorter).
    """
    xv, yv = _xy_for_descent(x, y)
    if not (isinstance(steps, (int, np.integer)) and steps >= 0):
        raise ValueError(f"steps should be a whole number >= 0; got {steps!r}.")
    lr, w = float(lr), float(w_init)
    weights, losses = [w], [float(_mse(w, xv, yv))]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(int(steps)):
            grad = 2 * np.mean(xv * (w * xv - yv))
            w = w - lr * grad
            loss = float(_mse(w, xv, yv))
            if not (np.isfinite(w) and np.isfinite(loss)):
                break
            weights.append(w)
            losses.append(loss)
    return np.array(weights), np.array(losses)


@aliases(alpha="lr", w="w_init")
def plot_gradient_descent(x, y, *, w_init=1.0, lr=0.01, steps=20, ax=None, title=None):
    """The MSE loss of y = w * x as a curve over w, and the path gradient descent takes on it.

    Returns
    -------
    matplotlib.axes.Axes
    """
    xv, yv = _xy_for_descent(x, y)
    weights, losses = gradient_descent_path(xv, yv, w_init=w_init, lr=lr, steps=steps)
    denom = float(np.sum(xv * xv))
    w_best = float(np.sum(xv * yv) / denom) if denom > 0 else 0.0

    span_pts = np.concatenate([weights, [w_best]])
    lo, hi = span_pts.min(), span_pts.max()
    margin = max(0.15 * (hi - lo), 0.5 * max(abs(w_best - w_init), 1e-3), 0.1)
    grid = np.linspace(lo - margin, hi + margin, 400)

    ax = _get_ax(ax, figsize=(6, 4.2))
    ax.plot(grid, _mse(grid, xv, yv), color="#2ca02c", lw=2.2, label="MSE loss", zorder=1)
    ax.plot(weights, losses, "-o", color="#ff7f0e", ms=4, lw=1.2, alpha=0.9, label="gradient descent steps", zorder=2)
    ax.scatter([weights[0]], [losses[0]], s=90, color="#d62728", edgecolors="black", zorder=3, label=f"start w = {weights[0]:.3g}")
    ax.scatter([weights[-1]], [losses[-1]], s=90, color="#9acd32", edgecolors="black", zorder=3, label=f"end w = {weights[-1]:.3g}")
    ax.axvline(w_best, color="0.4", ls=":", lw=1.2, label=f"best w = {w_best:.3g}", zorder=0)
    diverged = len(weights) < steps + 1 or (len(losses) > 1 and losses[-1] > losses[0])
    ax.set_xlabel("weight w")
    ax.set_ylabel("MSE loss")
    if title is None:
        title = f"learning rate {lr:g}, {len(weights) - 1} steps: loss {losses[-1]:.4g}"
        if diverged:
            title += " (diverging!)"
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(frameon=False, fontsize="small")
    return ax


def plot_learning_rates(x, y, lrs, *, w_init=1.0, steps=20, ax=None, title=None, logy=None):
    """Loss against step of gradient descent on y = w * x, one line per learning rate.

    The y axis is logarithmic when the losses span more than three orders of magnitude
    (``logy=True``/``False`` forces it).

    Returns
    -------
    matplotlib.axes.Axes
    """
    xv, yv = _xy_for_descent(x, y)
    if isinstance(lrs, (int, float)):
        lrs = [lrs]
    lrs = [float(v) for v in to_numpy(lrs, "lrs").reshape(-1)]
    if not lrs:
        raise ValueError("lrs is empty: pass a list of learning rates, e.g. [0.001, 0.01, 0.1].")
    ax = _get_ax(ax, figsize=(6, 4.2))
    cmap = plt.get_cmap("viridis")
    all_losses = []
    for i, lr in enumerate(lrs):
        _, losses = gradient_descent_path(xv, yv, w_init=w_init, lr=lr, steps=steps)
        all_losses.append(losses)
        ax.plot(np.arange(len(losses)), losses, "-o", ms=3, lw=1.8,
                color=cmap(i / max(len(lrs) - 1, 1) * 0.9), label=f"lr = {lr:g}")
    values = np.concatenate(all_losses)
    positive = values[values > 0]
    if logy is None:
        logy = positive.size > 0 and positive.max() / positive.min() > 1e3
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("MSE loss")
    ax.set_title(title if title is not None else "Gradient descent with different learning rates")
    ax.grid(True, alpha=0.3)
    ax.legend(frameon=False, fontsize="small")
    ax.xaxis.get_major_locator().set_params(integer=True)
    return ax
