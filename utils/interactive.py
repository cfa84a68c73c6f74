"""Widgets for exploring ideas with sliders (ipywidgets).

Each ``explore_*`` function returns one widget, so a notebook needs a single call::

    explore_gradient_descent(x, y)

All the logic lives here. The widgets redraw with ``matplotlib`` figures that are not
registered with pyplot (nothing leaks into the notebook's figures, no global settings change),
rendered to PNG and put into an ``Output`` widget. The pure functions the widgets call
(``make_mlp``, ``train_regressor``, ``train_snapshots``) are public so that they can be used
and tested without a browser. Training uses its own random seed inside
``torch.random.fork_rng`` and leaves the notebook's random state alone.

Each returned widget is an :class:`Explorer` (an ``ipywidgets.VBox``) with

* ``controls``: dict of the sliders and drop-downs by name,
* ``output``: the ``Output`` widget showing the current picture,
* ``update(**values)``: redraw for these values (what moving a slider calls); returns the Axes,
* ``result``: the Axes of the last picture, ``figure``: its Figure.
"""
from __future__ import annotations

import base64
import io

import ipywidgets as widgets
import torch
from matplotlib.figure import Figure
from torch import nn

from utils._arrays import as_labels, as_xy, check_same_length, to_numpy
from utils._course_notes import check_output_width, normalise_transform
from utils.plotting import plot_classification_2d, plot_gradient_descent, plot_regression

__all__ = [
    "Explorer",
    "explore_gradient_descent",
    "explore_network_size",
    "explore_training_regions",
    "make_mlp",
    "train_regressor",
    "train_snapshots",
    "ACTIVATIONS",
]

ACTIVATIONS = {"ReLU": nn.ReLU, "Tanh": nn.Tanh, "Sigmoid": nn.Sigmoid}


# ----------------------------------------------------------------------------------------
# The widget
# ----------------------------------------------------------------------------------------
def figure_png(fig: Figure, dpi: int = 90) -> bytes:
    """The figure rendered as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()


class Explorer(widgets.VBox):
    """Controls on top, the picture below; ``draw(ax, **values)`` draws one picture."""

    def __init__(self, controls: dict, draw, *, figsize=(6, 4.2), dpi=90):
        self.controls = dict(controls)
        self.output = widgets.Output()
        self._draw = draw
        self._figsize = figsize
        self._dpi = dpi
        self.result = None
        self.figure = None
        box = widgets.HBox(list(self.controls.values()), layout=widgets.Layout(flex_flow="row wrap"))
        super().__init__([box, self.output])
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        self.update()

    def __repr__(self):
        # What a static viewer (GitHub, nbval) shows instead of the live widget: short and stable.
        names = ", ".join(getattr(c, "description", "") or n for n, c in self.controls.items())
        return f"<interactive figure with controls: {names}; run the notebook in Jupyter to use it>"

    def values(self) -> dict:
        return {name: control.value for name, control in self.controls.items()}

    def _on_change(self, change):
        self.update()

    def update(self, **values):
        """Set the controls to ``values`` (if any), draw, show, and return the Axes."""
        for name, value in values.items():
            if name not in self.controls:
                raise ValueError(f"Unknown control {name!r}; this widget has {sorted(self.controls)}.")
        if values:
            # change the controls without triggering one redraw per control
            for control in self.controls.values():
                control.unobserve(self._on_change, names="value")
            try:
                for name, value in values.items():
                    self.controls[name].value = value
            finally:
                for control in self.controls.values():
                    control.observe(self._on_change, names="value")
        fig = Figure(figsize=self._figsize)
        ax = fig.add_subplot()
        self._draw(ax, **self.values())
        png = figure_png(fig, self._dpi)
        self.output.outputs = ({
            "output_type": "display_data",
            "data": {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": "<Figure>"},
            "metadata": {},
        },)
        self.figure, self.result = fig, ax
        return ax


_STYLE = {"description_width": "initial"}


class _one_thread:
    """Tiny networks train many times faster on one thread (no thread hand-offs, no fighting
    with other processes for cores); the previous setting is restored on exit."""

    def __enter__(self):
        self.previous = torch.get_num_threads()
        torch.set_num_threads(1)

    def __exit__(self, *exc):
        torch.set_num_threads(self.previous)
        return False


# ----------------------------------------------------------------------------------------
# Gradient descent
# ----------------------------------------------------------------------------------------
def explore_gradient_descent(x, y, *, w_init=1.0, lr=0.01, steps=20, max_steps=100):
    """Sliders for the learning rate (log scale, 1e-4 to 1) and the number of steps of gradient
    descent on the one-weight model y = w * x; shows ``plot_gradient_descent``."""
    xv, yv = as_xy(x, y, "x", "y")
    controls = {
        "lr": widgets.FloatLogSlider(value=lr, base=10, min=-4, max=0, step=0.1, description="learning rate",
                                     readout_format=".4f", continuous_update=False, style=_STYLE),
        "steps": widgets.IntSlider(value=steps, min=1, max=max_steps, description="steps",
                                   continuous_update=False, style=_STYLE),
    }

    def draw(ax, lr, steps):
        plot_gradient_descent(xv, yv, w_init=w_init, lr=lr, steps=steps, ax=ax)

    return Explorer(controls, draw)


# ----------------------------------------------------------------------------------------
# Network size
# ----------------------------------------------------------------------------------------
def make_mlp(width: int, depth: int, activation: str = "ReLU", in_features: int = 1,
             out_features: int = 1) -> nn.Sequential:
    """``depth`` hidden layers of ``width`` nodes, each followed by the activation."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"Unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}.")
    if int(width) < 1 or int(depth) < 1:
        raise ValueError(f"width and depth must be at least 1; got width={width}, depth={depth}.")
    layers, size = [], in_features
    for _ in range(int(depth)):
        layers += [nn.Linear(size, int(width)), ACTIVATIONS[activation]()]
        size = int(width)
    layers.append(nn.Linear(size, out_features))
    return nn.Sequential(*layers)


class _Standardized(nn.Module):
    """Wraps a network trained on standardised data so that it takes and returns original units."""

    def __init__(self, net, x_mean, x_std, y_mean, y_std):
        super().__init__()
        self.net = net
        for name, value in (("x_mean", x_mean), ("x_std", x_std), ("y_mean", y_mean), ("y_std", y_std)):
            self.register_buffer(name, torch.tensor(float(value)))

    def forward(self, x):
        return self.net((x - self.x_mean) / self.x_std) * self.y_std + self.y_mean


def train_regressor(X, y, *, width=8, depth=1, activation="ReLU", epochs=300, lr=0.05, seed=0):
    """Train ``make_mlp(width, depth, activation)`` on (X, y) with full-batch Adam and MSE.

    Inputs and targets are standardised for training; the returned model takes and returns
    the original units. Returns ``(model, train_mse)``. Seeded, and the global random state is
    left untouched.
    """
    xv, yv = as_xy(X, y)
    x_mean, x_std = xv.mean(), xv.std() or 1.0
    y_mean, y_std = yv.mean(), yv.std() or 1.0
    xt = torch.tensor((xv - x_mean) / x_std, dtype=torch.float32)[:, None]
    yt = torch.tensor((yv - y_mean) / y_std, dtype=torch.float32)[:, None]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = make_mlp(width, depth, activation)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    loss_fn = nn.MSELoss()
    with _one_thread():
        for _ in range(int(epochs)):
            optimizer.zero_grad()
            loss = loss_fn(net(xt), yt)
            loss.backward()
            optimizer.step()
    net.eval()
    model = _Standardized(net, x_mean, x_std, y_mean, y_std).eval()
    with torch.no_grad():
        mse = float(((model(torch.tensor(xv, dtype=torch.float32)[:, None])[:, 0].double().numpy() - yv) ** 2).mean())
    return model, mse


def explore_network_size(X, y, *, epochs=300, lr=0.05, widths=(1, 2, 4, 8, 16, 32), max_depth=4,
                         activations=("ReLU", "Tanh", "Sigmoid"), seed=0):
    """Sliders for the hidden width and depth and a drop-down for the activation; each setting
    trains a small MLP (seeded, full-batch Adam, cached per setting) and shows
    ``plot_regression`` with its number of parameters and training error.

    The trained models are in ``widget.cache``, keyed by ``(width, depth, activation)``.
    """
    xv, yv = as_xy(X, y)
    for name in activations:
        if name not in ACTIVATIONS:
            raise ValueError(f"Unknown activation {name!r}; choose from {', '.join(ACTIVATIONS)}.")
    widths = [int(w) for w in widths]
    cache: dict = {}

    def trained(width, depth, activation):
        key = (int(width), int(depth), activation)
        if key not in cache:
            cache[key] = train_regressor(xv, yv, width=width, depth=depth, activation=activation,
                                         epochs=epochs, lr=lr, seed=seed)
        return cache[key]

    controls = {
        "width": widgets.SelectionSlider(options=widths, value=widths[min(3, len(widths) - 1)],
                                         description="nodes per layer", continuous_update=False, style=_STYLE),
        "depth": widgets.IntSlider(value=1, min=1, max=max_depth, description="hidden layers",
                                   continuous_update=False, style=_STYLE),
        "activation": widgets.Dropdown(options=list(activations), value=activations[0],
                                       description="activation", style=_STYLE),
    }

    def draw(ax, width, depth, activation):
        model, mse = trained(width, depth, activation)
        n_params = sum(p.numel() for p in model.parameters())
        layers = f"{depth} hidden layer{'s' if depth > 1 else ''} of {width} ({activation})"
        plot_regression(xv, yv, model, ax=ax, title=f"{layers}: {n_params} parameters, train MSE {mse:.3g}")

    explorer = Explorer(controls, draw)
    explorer.cache = cache
    return explorer


# ----------------------------------------------------------------------------------------
# Decision regions during training
# ----------------------------------------------------------------------------------------
def train_snapshots(X, y, model_fn, *, epochs=100, lr=0.05, every=10, transform="Sigmoid", seed=0):
    """Train ``model_fn()`` with full-batch Adam and keep its weights every ``every`` epochs.

    ``transform="Sigmoid"``: one output, ``BCEWithLogitsLoss``; ``"Softmax"``: one output per
    class, ``CrossEntropyLoss``. Returns a list of ``(epoch, state_dict, loss, accuracy)``
    starting with epoch 0 (the untrained model) and ending with ``epochs``.
    """
    transform = normalise_transform(transform)
    pts = to_numpy(X, "X").astype(float)
    if pts.ndim != 2:
        raise ValueError(f"X should have shape (N, features); it has shape {tuple(pts.shape)}.")
    labels = as_labels(y, "y")
    check_same_length(pts, labels, "X", "y")
    if int(every) < 1 or int(epochs) < 1:
        raise ValueError(f"epochs and every must be at least 1; got epochs={epochs}, every={every}.")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = model_fn()
    if not isinstance(model, nn.Module):
        raise ValueError(f"model_fn() should return a fresh nn.Module; it returned {type(model).__name__}.")
    model = model.cpu().float().train()
    xt = torch.tensor(pts, dtype=torch.float32)
    with torch.no_grad():
        try:
            out = model(xt)
        except (RuntimeError, TypeError) as err:
            raise ValueError(f"Calling model_fn() 's model on X of shape {tuple(xt.shape)} failed: {err}") from err
    n_out = 1 if out.ndim == 1 else out.shape[1]
    check_output_width(n_out, transform)
    if transform == "Sigmoid":
        target = torch.tensor(labels, dtype=torch.float32).reshape(out.shape)
        loss_fn = nn.BCEWithLogitsLoss()

        def correct(o):
            return float(((o.reshape(-1) > 0).long() == torch.as_tensor(labels)).float().mean())
    else:
        if labels.max() >= n_out:
            raise ValueError(f"y contains class {labels.max()} but the model has only {n_out} outputs.")
        target = torch.tensor(labels, dtype=torch.long)
        loss_fn = nn.CrossEntropyLoss()

        def correct(o):
            return float((o.argmax(dim=1) == target).float().mean())

    optimizer = torch.optim.Adam(model.parameters(), lr=lr)

    def snapshot(epoch):
        with torch.no_grad():
            o = model(xt)
            return (epoch, {k: v.detach().clone() for k, v in model.state_dict().items()},
                    float(loss_fn(o, target)), correct(o))

    snapshots = [snapshot(0)]
    with _one_thread():
        for epoch in range(1, int(epochs) + 1):
            optimizer.zero_grad()
            loss = loss_fn(model(xt), target)
            loss.backward()
            optimizer.step()
            if epoch % int(every) == 0 or epoch == int(epochs):
                snapshots.append(snapshot(epoch))
    return snapshots


def explore_training_regions(X, y, model_fn, *, epochs=100, lr=0.05, every=10, transform="Sigmoid", seed=0):
    """A slider over training epochs: the decision regions of the model at that epoch.

    ``model_fn()`` returns a fresh model (e.g. ``lambda: nn.Sequential(nn.Linear(2, 8),
    nn.ReLU(), nn.Linear(8, 1))``). It is trained once, up front (full-batch Adam), keeping its
    weights every ``every`` epochs; the slider shows ``plot_classification_2d`` of each snapshot.
    The snapshots are in ``widget.snapshots``.
    """
    pts = to_numpy(X, "X").astype(float)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f"X should have shape (N, 2) to be drawn in the plane; it has shape {tuple(pts.shape)}.")
    labels = as_labels(y, "y")
    snapshots = train_snapshots(pts, labels, model_fn, epochs=epochs, lr=lr, every=every,
                                transform=transform, seed=seed)
    by_epoch = {s[0]: s for s in snapshots}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = model_fn().cpu().float()
    epochs_list = [s[0] for s in snapshots]
    controls = {
        "epoch": widgets.SelectionSlider(options=epochs_list, value=epochs_list[-1], description="epoch",
                                         continuous_update=False, style=_STYLE),
    }

    def draw(ax, epoch):
        _, state, loss, acc = by_epoch[epoch]
        model.load_state_dict(state)
        plot_classification_2d(pts, labels, model, transform=transform, ax=ax, resolution=120,
                               title=f"epoch {epoch}: loss {loss:.3f}, accuracy {acc:.2f}")

    explorer = Explorer(controls, draw, figsize=(6, 4.8))
    explorer.snapshots = snapshots
    return explorer
