"""Tests for utils.interactive: build each widget, move its controls in code, check the picture."""
import base64

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from torch import nn

from utils.interactive import (
    Explorer,
    explore_gradient_descent,
    explore_network_size,
    explore_training_regions,
    make_mlp,
    train_regressor,
    train_snapshots,
)
from utils.plotting import gradient_descent_path


@pytest.fixture(autouse=True)
def _global_state_untouched(matplotlib_untouched):
    """Widgets must leave pyplot, the RNG and the thread count as they found them."""
    rng = torch.random.get_rng_state()
    threads = torch.get_num_threads()
    yield
    assert plt.get_fignums() == [], "widget figures must not be registered with pyplot"
    assert torch.equal(torch.random.get_rng_state(), rng), "training must not consume the global RNG"
    assert torch.get_num_threads() == threads


def _png(explorer):
    (out,) = explorer.output.outputs
    data = base64.b64decode(out["data"]["image/png"])
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return data


def _line(ax, label):
    return [ln for ln in ax.get_lines() if ln.get_label() == label][0]


X_LINE = np.linspace(-2, 2, 30)
Y_LINE = 2.5 * X_LINE + 0.1 * np.cos(7 * X_LINE)


# ------------------------------------------------------------------------------ gradient descent
def test_gradient_descent_widget_redraws_when_sliders_move():
    w = explore_gradient_descent(torch.tensor(X_LINE), Y_LINE, w_init=-1.0)
    assert isinstance(w, widgets.VBox) and isinstance(w, Explorer)
    assert isinstance(w.controls["lr"], widgets.FloatLogSlider)
    assert w.output in w.children
    first_png, first_title = _png(w), w.result.get_title()

    w.controls["lr"].value = 0.1          # what dragging the slider does
    assert w.result.get_title() != first_title and _png(w) != first_png
    expected, _ = gradient_descent_path(X_LINE, Y_LINE, w_init=-1.0, lr=0.1, steps=w.controls["steps"].value)
    np.testing.assert_allclose(_line(w.result, "gradient descent steps").get_xdata(), expected)

    ax = w.update(steps=5)
    assert ax is w.result and w.controls["steps"].value == 5
    assert len(_line(ax, "gradient descent steps").get_xdata()) == 6
    assert "learning rate 0.1, 5 steps" in ax.get_title()


def test_gradient_descent_widget_bad_input():
    with pytest.raises(ValueError, match="one entry per data point"):
        explore_gradient_descent(X_LINE, Y_LINE[:5])
    w = explore_gradient_descent(X_LINE, Y_LINE)
    with pytest.raises(ValueError, match="Unknown control 'learning_rate'"):
        w.update(learning_rate=0.1)


# ------------------------------------------------------------------------------ network size
X_WAVE = np.linspace(-3, 3, 60)
Y_WAVE = 5 * np.sin(2 * X_WAVE)


def test_make_mlp_structure():
    with torch.random.fork_rng():            # creating layers draws random weights, as nn.Linear does
        net = make_mlp(4, 2, "Tanh")
    assert [type(m) for m in net] == [nn.Linear, nn.Tanh, nn.Linear, nn.Tanh, nn.Linear]
    assert net[0].in_features == 1 and net[2].in_features == 4 and net[-1].out_features == 1
    with pytest.raises(ValueError, match="Unknown activation 'Relu'"):
        make_mlp(4, 1, "Relu")


def test_train_regressor_is_seeded_and_learns():
    model_a, mse_a = train_regressor(X_WAVE, Y_WAVE, width=16, depth=1, activation="Tanh", epochs=150)
    model_b, mse_b = train_regressor(X_WAVE, Y_WAVE, width=16, depth=1, activation="Tanh", epochs=150)
    assert mse_a == mse_b
    assert mse_a < 0.3 * Y_WAVE.var()
    xt = torch.tensor(X_WAVE, dtype=torch.float32)[:, None]
    with torch.no_grad():
        pred = model_a(xt)[:, 0].numpy()          # original units in, original units out
    assert np.mean((pred - Y_WAVE) ** 2) == pytest.approx(mse_a, rel=1e-4)


def test_network_size_widget_trains_once_per_setting():
    w = explore_network_size(X_WAVE, Y_WAVE, epochs=40)
    start = (w.controls["width"].value, w.controls["depth"].value, w.controls["activation"].value)
    assert list(w.cache) == [start]
    first_png = _png(w)

    w.controls["width"].value = 2
    assert len(w.cache) == 2 and _png(w) != first_png
    model, mse = w.cache[(2, 1, "ReLU")]
    curve = _line(w.result, "model prediction")
    with torch.no_grad():
        expected = model(torch.tensor(curve.get_xdata(), dtype=torch.float32)[:, None])[:, 0].numpy()
    np.testing.assert_allclose(curve.get_ydata(), expected, rtol=1e-5, atol=1e-5)
    n_params = sum(p.numel() for p in model.parameters())
    assert f"{n_params} parameters" in w.result.get_title()
    assert "1 hidden layer of 2 (ReLU)" in w.result.get_title()

    first_model = w.cache[start][0]
    w.update(width=start[0])                     # back to a setting seen before: no new training
    assert len(w.cache) == 2 and w.cache[start][0] is first_model
    w.update(depth=2, activation="Tanh")
    assert (start[0], 2, "Tanh") in w.cache and len(w.cache) == 3
    assert "2 hidden layers" in w.result.get_title()


# ------------------------------------------------------------------------------ training regions
def _rings(n=80):
    rng = np.random.default_rng(0)
    angle = rng.uniform(0, 2 * np.pi, n)
    radius = np.where(np.arange(n) % 2 == 0, 0.4, 1.0)
    X = np.c_[radius * np.cos(angle), radius * np.sin(angle)]
    return X, (np.arange(n) % 2)


def test_train_snapshots_records_training():
    X, y = _rings()
    snaps = train_snapshots(X, y, lambda: nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1)),
                            epochs=60, every=20)
    assert [s[0] for s in snaps] == [0, 20, 40, 60]
    losses = [s[2] for s in snaps]
    assert losses[-1] < losses[0]
    assert set(snaps[0][1]) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    assert not torch.equal(snaps[0][1]["0.weight"], snaps[-1][1]["0.weight"])


def test_training_regions_widget_follows_the_epoch_slider():
    X, y = _rings()
    w = explore_training_regions(X, y, lambda: nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1)),
                                 epochs=30, every=10)
    assert list(w.controls["epoch"].options) == [0, 10, 20, 30]
    assert w.result.get_title().startswith("epoch 30:")
    first_png = _png(w)
    w.controls["epoch"].value = 10
    epoch, _, loss, acc = w.snapshots[1]
    assert w.result.get_title() == f"epoch 10: loss {loss:.3f}, accuracy {acc:.2f}"
    assert _png(w) != first_png
    offsets = np.concatenate([c.get_offsets() for c in w.result.collections if not hasattr(c, "levels")])
    assert len(offsets) == len(X)


def test_training_regions_softmax_and_width_errors():
    X, y = _rings()
    y3 = np.arange(len(X)) % 3
    w = explore_training_regions(X, y3, lambda: nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 3)),
                                 epochs=10, every=5, transform="Softmax")
    assert [s[0] for s in w.snapshots] == [0, 5, 10]
    with pytest.raises(ValueError, match="softmax over a single output is always 1"):
        explore_training_regions(X, y, lambda: nn.Linear(2, 1), epochs=5, transform="Softmax")
    with pytest.raises(ValueError, match="'Sigmoid' needs a model with 1 output"):
        explore_training_regions(X, y, lambda: nn.Linear(2, 3), epochs=5)
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        explore_training_regions(X[:, 0], y, lambda: nn.Linear(1, 1), epochs=5)


def test_static_text_of_a_widget_is_short_and_stable():
    w = explore_gradient_descent(X_LINE, Y_LINE)
    assert repr(w) == ("<interactive figure with controls: learning rate, steps; "
                       "run the notebook in Jupyter to use it>")
