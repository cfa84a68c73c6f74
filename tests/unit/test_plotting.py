"""Tests for utils.plotting: they render with the Agg backend and check what was drawn."""
import importlib

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.colors import to_rgb
from torch import nn

import utils.plotting as plotting
from utils.plotting import (
    gradient_descent_path,
    plot_activations,
    plot_classification_2d,
    plot_confusion_matrix,
    plot_digits,
    plot_gradient_descent,
    plot_learning_rates,
    plot_loss,
    plot_nodes,
    plot_regression,
)


pytestmark = pytest.mark.usefixtures("matplotlib_untouched")


def _regression_data(n=40):
    x = np.linspace(-2, 2, n)
    y = 3 * x + 1 + np.sin(3 * x)
    return x, y


def _one_hidden(hidden=4, act=None, seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(1, hidden), act or nn.Sigmoid(), nn.Linear(hidden, 1))


def _lines(ax):
    return [line for line in ax.get_lines()]


# ------------------------------------------------------------------------------ import & misc
def test_import_does_not_change_rcparams():
    before = dict(matplotlib.rcParams)
    importlib.reload(plotting)
    assert dict(matplotlib.rcParams) == before


def test_new_figure_only_when_no_ax_given():
    x, y = _regression_data()
    fig, ax = plt.subplots()
    n_before = len(plt.get_fignums())
    returned = plot_regression(x, y, ax=ax)
    assert returned is ax
    assert len(plt.get_fignums()) == n_before
    own = plot_regression(x, y)
    assert own is not ax and len(plt.get_fignums()) == n_before + 1


# ------------------------------------------------------------------------------ plot_regression
def test_regression_points_and_model_curve():
    x, y = _regression_data()
    model = _one_hidden()
    ax = plot_regression(torch.tensor(x[:, None]), torch.tensor(y), model, title="fit")
    offsets = ax.collections[0].get_offsets()
    np.testing.assert_allclose(offsets[:, 0], x)
    np.testing.assert_allclose(offsets[:, 1], y)
    (curve,) = _lines(ax)
    xs, ys = curve.get_xdata(), curve.get_ydata()
    assert xs.min() == pytest.approx(x.min()) and xs.max() == pytest.approx(x.max())
    with torch.no_grad():
        expected = model(torch.tensor(xs, dtype=torch.float32)[:, None]).squeeze(1).numpy()
    np.testing.assert_allclose(ys, expected, rtol=1e-5, atol=1e-6)
    assert ax.get_title() == "fit" and ax.get_xlabel() == "x" and ax.get_ylabel() == "y"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["data", "model prediction"]


def test_regression_accepts_predictions_like_the_course_notes():
    x, y = _regression_data()
    rng = np.random.default_rng(0)
    order = rng.permutation(len(x))
    xs, ys, pred = x[order], y[order], 3 * x[order] + 1
    pred_t = torch.tensor(pred, requires_grad=True)[:, None] * 1.0   # a tensor that needs .detach()
    ax = plot_regression(xs[:, None], ys, pred_t, y_range=[-25, 25], dy=5)
    (curve,) = _lines(ax)
    np.testing.assert_allclose(curve.get_xdata(), np.sort(xs))          # drawn left to right
    np.testing.assert_allclose(curve.get_ydata(), 3 * np.sort(xs) + 1)
    assert ax.get_ylim() == (-25, 25)
    ticks = ax.get_yticks()
    assert np.allclose(np.diff(ticks), 5)
    ax2 = plot_regression(xs, ys, y_hat=pred)
    np.testing.assert_allclose(_lines(ax2)[0].get_ydata(), 3 * np.sort(xs) + 1)


def test_regression_bad_input_messages():
    x, y = _regression_data()
    with pytest.raises(ValueError, match="one entry per data point"):
        plot_regression(x, y[:-1])
    with pytest.raises(ValueError, match=r"ONE input feature.*\(N, 1\)"):
        plot_regression(np.c_[x, x], y)
    with pytest.raises(ValueError, match="ONE output"):
        plot_regression(x, y, nn.Linear(1, 3))
    with pytest.raises(ValueError, match="input feature"):
        plot_regression(x, y, nn.Linear(2, 1))
    with pytest.raises(ValueError, match="y_range"):
        plot_regression(x, y, y_range=[5, -5])
    with pytest.raises(ValueError, match="meta"):
        plot_regression(x, y, nn.Linear(1, 1, device="meta"))


def test_models_come_back_in_their_previous_mode():
    x, y = _regression_data()
    model = nn.Sequential(nn.Linear(1, 8), nn.ReLU(), nn.Dropout(0.9), nn.Linear(8, 1))
    model.train()
    model[2].eval()             # a sub-module deliberately in another mode
    ax = plot_regression(x, y, model)
    # dropout was off while plotting: the curve is the eval-mode prediction ...
    model.eval()
    with torch.no_grad():
        xs = torch.tensor(_lines(ax)[0].get_xdata(), dtype=torch.float32)[:, None]
        expected = model(xs).squeeze(1).numpy()
    np.testing.assert_allclose(_lines(ax)[0].get_ydata(), expected, rtol=1e-5, atol=1e-6)
    # ... and each module got its own mode back
    model.train()
    model[2].eval()
    plot_regression(x, y, model)
    assert model.training and model[0].training and not model[2].training
    model.eval()
    plot_nodes(x, y, _one_hidden())
    plot_regression(x, y, model)
    assert not model.training


def test_model_is_fed_inputs_in_its_own_dtype_and_device():
    seen = {}

    class Recorder(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(1, 1).double()

        def forward(self, x):
            seen["dtype"], seen["device"], seen["grad"] = x.dtype, x.device, torch.is_grad_enabled()
            return self.lin(x)

    x, y = _regression_data()
    model = Recorder()
    params_before = [p.detach().clone() for p in model.parameters()]
    plot_regression(torch.tensor(x, requires_grad=True), torch.tensor(y, dtype=torch.bfloat16), model)
    assert seen == {"dtype": torch.float64, "device": next(model.parameters()).device, "grad": False}
    for p, q in zip(params_before, model.parameters()):
        assert torch.equal(p, q)
        assert q.grad is None


# ------------------------------------------------------------------------------ plot_nodes
class OddNames(nn.Module):
    """A custom module with attribute names that are not 'main', '0', '2' ..."""

    def __init__(self, hidden=3):
        super().__init__()
        self.feature_maker = nn.Linear(1, hidden)
        self.squash = nn.Tanh()
        self.combine = nn.Linear(hidden, 1)

    def forward(self, x):
        return self.combine(self.squash(self.feature_maker(x)))


@pytest.mark.parametrize("model", [_one_hidden(4), OddNames(3), _one_hidden(2, nn.ReLU())],
                         ids=["sequential", "custom-names", "relu"])
def test_nodes_sum_to_prediction(model):
    x, y = _regression_data()
    ax = plot_nodes(torch.tensor(x[:, None], dtype=torch.float32), y, model)
    hidden = [m for m in model.modules() if isinstance(m, nn.Linear)][0].out_features
    node_lines = [ln for ln in _lines(ax) if ln.get_label().startswith("node ")]
    assert len(node_lines) == hidden
    (bias_line,) = [ln for ln in _lines(ax) if ln.get_label() == "output bias"]
    (total_line,) = [ln for ln in _lines(ax) if ln.get_label() == "sum = prediction"]
    xs = total_line.get_xdata()
    summed = np.sum([ln.get_ydata() for ln in node_lines], axis=0) + bias_line.get_ydata()
    np.testing.assert_allclose(summed, total_line.get_ydata(), rtol=1e-5, atol=1e-5)
    with torch.no_grad():
        pred = model(torch.tensor(xs, dtype=torch.float32)[:, None]).squeeze(1).numpy()
    np.testing.assert_allclose(total_line.get_ydata(), pred, rtol=1e-5, atol=1e-5)
    last = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    np.testing.assert_allclose(bias_line.get_ydata(), last.bias.item(), rtol=1e-6)
    np.testing.assert_allclose(ax.collections[0].get_offsets()[:, 1], y)


def test_nodes_rejects_other_structures():
    x, y = _regression_data()
    deep = nn.Sequential(nn.Linear(1, 4), nn.ReLU(), nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 1))
    with pytest.raises(ValueError, match=r"nn\.Linear\(1, H\).*Linear, ReLU, Linear, ReLU, Linear"):
        plot_nodes(x, y, deep)
    with pytest.raises(ValueError, match="one input and one output"):
        plot_nodes(x, y, nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1)))
    with pytest.raises(ValueError, match="exactly three layers"):
        plot_nodes(x, y, nn.Linear(1, 1))

    class Reordered(OddNames):
        def forward(self, x):           # not Linear -> activation -> Linear
            return self.combine(self.feature_maker(x)) * 2

    with pytest.raises(ValueError, match="forward"):
        plot_nodes(x, y, Reordered())
    with pytest.raises(ValueError, match="one entry per data point"):
        plot_nodes(x, y[:3], _one_hidden())


# ------------------------------------------------------------------------------ plot_activations
def test_activations_panels_curves_and_derivatives():
    fig = plot_activations(["Sigmoid", "relu", nn.LeakyReLU(0.1), nn.Tanh], x_range=(-4, 4))
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == ["Sigmoid", "ReLU", "LeakyReLU", "Tanh"]
    assert len(fig.axes) == 6 and sum(ax.get_visible() for ax in fig.axes) == 4
    sig, deriv = [ln for ln in axes[0].get_lines() if ln.get_label() in ("Sigmoid", "derivative")]
    xs = sig.get_xdata()
    assert xs[0] == -4 and xs[-1] == 4
    s = 1 / (1 + np.exp(-xs))
    np.testing.assert_allclose(sig.get_ydata(), s, atol=1e-6)
    np.testing.assert_allclose(deriv.get_ydata(), s * (1 - s), atol=1e-6)
    assert deriv.get_linestyle() == "--"
    leaky = axes[2].get_lines()[0]
    np.testing.assert_allclose(leaky.get_ydata(), np.where(xs > 0, xs, 0.1 * xs), atol=1e-6)


def test_activations_dsci_call_and_no_derivative():
    fig = plot_activations(torch.linspace(-6, 6, 100), [nn.Sigmoid, nn.ReLU])
    assert [ax.get_title() for ax in fig.axes] == ["Sigmoid", "ReLU"]
    assert fig.axes[1].get_lines()[0].get_xdata()[0] == pytest.approx(-6)
    fig = plot_activations("ReLU", derivative=False)
    assert len([ln for ln in fig.axes[0].get_lines() if ln.get_label() == "derivative"]) == 0


def test_activations_unknown_name():
    with pytest.raises(ValueError, match=r"Unknown activation 'Sigmod'.*Sigmoid"):
        plot_activations(["Sigmod"])
    with pytest.raises(ValueError, match="at least one"):
        plot_activations([])


# ------------------------------------------------------------------------------ plot_classification_2d
def _pixels(ax, points):
    """The rendered RGB colour at each data point (x, y)."""
    fig = ax.figure
    fig.canvas.draw()
    buf = np.asarray(fig.canvas.buffer_rgba())[..., :3] / 255
    result = []
    for x, y in points:
        px, py = ax.transData.transform((x, y))
        result.append(buf[int(round(buf.shape[0] - py)), int(round(px))])
    return result


def _closest_class(rgb, alpha=0.3):
    blends = [alpha * np.array(to_rgb(c)) + (1 - alpha) for c in plotting.CLASS_COLORS]
    return int(np.argmin([np.abs(rgb - b).sum() for b in blends]))


def _linear_model(weight, bias):
    model = nn.Linear(len(weight[0]), len(weight))
    with torch.no_grad():
        model.weight.copy_(torch.tensor(weight, dtype=torch.float32))
        model.bias.copy_(torch.tensor(bias, dtype=torch.float32))
    return model


CORNERS = np.array([[-4.0, -4.0], [4.0, 4.0], [-4.0, 4.0]])


def test_softmax_regions_are_argmax_over_classes():
    # logits (x1, x2, -x1 - x2): class 2 wins near the origin only if softmax is taken per row
    model = _linear_model([[1, 0], [0, 1], [-1, -1]], [0, 0, 0])
    fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
    out = plot_classification_2d(CORNERS, [0, 1, 2], model, transform="Softmax", ax=ax,
                                 title="Multiclass")
    assert out is ax and ax.get_title() == "Multiclass"
    probes = {(3.0, -1.0): 0, (-1.0, 3.0): 1, (-3.0, -3.0): 2, (-0.5, -0.4): 2}
    for (point, expected), rgb in zip(probes.items(), _pixels(ax, probes)):
        assert _closest_class(rgb) == expected, point
    filled = [c for c in ax.collections if hasattr(c, "levels")]
    np.testing.assert_allclose(filled[0].levels, [-0.5, 0.5, 1.5, 2.5])


def test_sigmoid_probability_contour_and_boundary():
    model = _linear_model([[2.0, 0.0]], [0.0])           # P(class 1) = sigmoid(2 x1)
    ax = plot_classification_2d(torch.tensor(CORNERS[:2], requires_grad=True), torch.tensor([0.0, 1.0]), model,
                                x_range=(-4, 4), y_range=(-4, 4), dx=2)
    contours = [c for c in ax.collections if hasattr(c, "levels")]
    np.testing.assert_allclose(contours[0].levels, np.linspace(0, 1, 11))
    boundary = [c for c in contours if list(c.levels) == [0.5]][0]
    segs = np.concatenate([s for s in boundary.allsegs[0]])
    np.testing.assert_allclose(segs[:, 0], 0, atol=0.05)     # the decision boundary is x1 = 0
    red, blue = _pixels(ax, [(3, 0), (-3, 0)])
    assert red[0] > red[2] and blue[2] > blue[0]
    assert ax.get_xlim() == (-4, 4) and ax.get_ylim() == (-4, 4)
    assert np.allclose(np.diff(ax.get_xticks()), 2)
    assert ax.figure.axes[-1].get_ylabel() == "P(class 1)"     # the colour bar
    scatter = [c for c in ax.collections if not hasattr(c, "levels")]
    np.testing.assert_allclose(scatter[0].get_offsets(), CORNERS[:1])


def test_classification_without_model_and_string_transforms():
    ax = plot_classification_2d(CORNERS, [0, 1, 1], title="data")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["class 0", "class 1"]
    np.testing.assert_allclose(ax.collections[1].get_offsets(), CORNERS[1:])
    plot_classification_2d(CORNERS, [0, 1, 1], nn.Linear(2, 1), transform="sigmoid")


def test_classification_output_width_errors():
    with pytest.raises(ValueError, match=r"'Sigmoid' needs a model with 1 output.*3 outputs.*Softmax"):
        plot_classification_2d(CORNERS, [0, 1, 2], nn.Linear(2, 3))
    with pytest.raises(ValueError, match="softmax over a single output is always 1"):
        plot_classification_2d(CORNERS, [0, 1, 1], nn.Linear(2, 1), transform="Softmax")
    with pytest.raises(ValueError, match="transform should be 'Sigmoid'"):
        plot_classification_2d(CORNERS, [0, 1, 1], nn.Linear(2, 1), transform="tanh")
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        plot_classification_2d(np.arange(3.0), [0, 1, 1])
    with pytest.raises(ValueError, match="one entry per data point"):
        plot_classification_2d(CORNERS, [0, 1])
    with pytest.raises(ValueError, match="only 2 outputs"):
        plot_classification_2d(CORNERS, [0, 1, 2], nn.Linear(2, 2), transform="Softmax")
    with pytest.raises(ValueError, match="class labels"):
        plot_classification_2d(CORNERS, [0.2, 0.9, 0.5])


# ------------------------------------------------------------------------------ plot_loss
def test_loss_one_panel_from_lists():
    train = [1.0, 0.6, 0.4]
    val = [torch.tensor(1.1, requires_grad=True) * 1, torch.tensor(0.8), torch.tensor(0.7)]
    fig = plot_loss(train, val, title="run 1")
    assert len(fig.axes) == 1
    tr, va = fig.axes[0].get_lines()
    np.testing.assert_allclose(tr.get_xdata(), [1, 2, 3])
    np.testing.assert_allclose(tr.get_ydata(), train)
    np.testing.assert_allclose(va.get_ydata(), [1.1, 0.8, 0.7], rtol=1e-6)
    assert fig.axes[0].get_xlabel() == "epoch" and fig.axes[0].get_ylabel() == "loss"
    assert fig._suptitle.get_text() == "run 1"


def test_loss_two_panels_from_fit_history_and_dsci_names():
    history = {"train_loss": [0.9, 0.5], "val_loss": [1.0, 0.7],
               "train_metric": [0.6, 0.8], "val_metric": [0.5, 0.7]}
    fig = plot_loss(history)
    assert len(fig.axes) == 2
    np.testing.assert_allclose(fig.axes[1].get_lines()[1].get_ydata(), [0.5, 0.7])
    assert fig.axes[1].get_ylabel() == "accuracy"
    fig = plot_loss([0.9, 0.5], validation_loss=[1.0, 0.7], train_acc=[0.6, 0.8], valid_acc=[0.5, 0.7])
    assert len(fig.axes) == 2
    fig = plot_loss({"train_loss": [0.9, 0.5], "val_loss": []})
    assert len(fig.axes) == 1 and len(fig.axes[0].get_lines()) == 1


def test_loss_bad_input():
    with pytest.raises(ValueError, match="val_loss has 2 values but train_loss has 3"):
        plot_loss([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="empty"):
        plot_loss([])
    with pytest.raises(ValueError, match="'train_loss' key"):
        plot_loss({"loss": [1, 2]})


# ------------------------------------------------------------------------------ plot_digits
def test_digits_titles_and_red_for_wrong():
    images = torch.rand(10, 1, 28, 28)
    labels = torch.arange(10)
    preds = labels.clone()
    preds[[2, 7]] = 0
    fig = plot_digits(images, labels, preds, ncols=4, title="sample")
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(fig.axes) == 12 and len(visible) == 10
    for i, ax in enumerate(visible):
        assert ax.get_title() == f"true {i}\npred {preds[i].item()}"
        wrong = i in (2, 7)
        assert (to_rgb(ax.title.get_color()) == to_rgb("red")) == wrong
    np.testing.assert_allclose(visible[3].images[0].get_array(), images[3, 0].numpy(), rtol=1e-6)


def test_digits_logits_flat_images_and_errors():
    logits = torch.zeros(3, 10)
    logits[torch.arange(3), torch.tensor([4, 5, 6])] = 1
    fig = plot_digits(np.zeros((3, 784)), [4, 5, 0], logits)
    assert [ax.get_title() for ax in fig.axes] == ["true 4\npred 4", "true 5\npred 5", "true 0\npred 6"]
    fig = plot_digits(np.zeros((2, 28, 28)), labels=[1, 2])
    assert [ax.get_title() for ax in fig.axes] == ["label 1", "label 2"]
    with pytest.raises(ValueError, match="3 images but 2 labels"):
        plot_digits(np.zeros((3, 28, 28)), [1, 2])
    with pytest.raises(ValueError, match=r"\(N, 28, 28\)"):
        plot_digits(np.zeros((3, 5)))


# ------------------------------------------------------------------------------ confusion matrix
def test_confusion_matrix_counts():
    y_true = [0, 0, 1, 1, 2, 2, 2]
    y_pred = torch.tensor([0, 1, 1, 1, 2, 0, 2])
    fig, ax = plt.subplots()
    assert plot_confusion_matrix(y_true, y_pred, ax=ax) is ax
    counts = np.array([int(t.get_text()) for t in ax.texts]).reshape(3, 3)
    np.testing.assert_array_equal(counts, [[1, 1, 0], [0, 2, 0], [1, 0, 2]])
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"
    ax = plot_confusion_matrix(y_true, y_pred, labels=range(4))
    assert len(ax.texts) == 16
    with pytest.raises(ValueError, match="one entry per data point"):
        plot_confusion_matrix([0, 1], [0])


# ------------------------------------------------------------------------------ gradient descent
def test_gradient_descent_path_and_drawing():
    x = np.array([1.0, 2.0, 3.0])
    y = 2 * x
    w, lr = 0.0, 0.05
    expected_w = [w]
    for _ in range(5):
        w = w - lr * 2 * np.mean(x * (w * x - y))
        expected_w.append(w)
    weights, losses = gradient_descent_path(x, y, w_init=0.0, lr=lr, steps=5)
    np.testing.assert_allclose(weights, expected_w)
    np.testing.assert_allclose(losses, [np.mean((v * x - y) ** 2) for v in expected_w])

    ax = plot_gradient_descent(torch.tensor(x), torch.tensor(y), w_init=0.0, lr=lr, steps=5)
    curve = [ln for ln in ax.get_lines() if ln.get_label() == "MSE loss"][0]
    np.testing.assert_allclose(curve.get_ydata(), [np.mean((v * x - y) ** 2) for v in curve.get_xdata()])
    path = [ln for ln in ax.get_lines() if ln.get_label() == "gradient descent steps"][0]
    np.testing.assert_allclose(path.get_xdata(), expected_w)
    assert "diverging" not in ax.get_title()
    ax = plot_gradient_descent(x, y, w_init=0.0, lr=0.5, steps=5)        # lr too large
    assert "diverging" in ax.get_title()


def test_learning_rates_lines_and_errors():
    x = np.array([1.0, 2.0, 3.0])
    y = 2 * x
    fig, ax = plt.subplots()
    assert plot_learning_rates(x, y, [0.01, 0.05, 0.5], steps=4, ax=ax) is ax
    lines = ax.get_lines()
    assert [ln.get_label() for ln in lines] == ["lr = 0.01", "lr = 0.05", "lr = 0.5"]
    np.testing.assert_allclose(lines[1].get_ydata(), gradient_descent_path(x, y, lr=0.05, steps=4)[1])
    assert ax.get_yscale() == "log"             # lr = 0.5 diverges: losses span many decades
    with pytest.raises(ValueError, match="one entry per data point"):
        plot_learning_rates(x, y[:2], [0.1])
    with pytest.raises(ValueError, match="one entry per data point"):
        plot_gradient_descent(x, y[:2])


# ------------------------------------------------------------------------------ course-notes models
def test_regression_with_sklearn_model_and_notes_style_module():
    class SklearnLike:                       # anything with .predict(X) -> array, e.g. LinearRegression
        def predict(self, X):
            return 2 * X[:, 0] - 1

    x, y = _regression_data()
    curve = _lines(plot_regression(x[:, None], y, SklearnLike()))[0]
    np.testing.assert_allclose(curve.get_ydata(), 2 * curve.get_xdata() - 1)

    class NotesStyle(nn.Module):            # the course notes keep their layers in `self.main`
        def __init__(self):
            super().__init__()
            self.main = nn.Sequential(nn.Linear(1, 3), nn.Sigmoid(), nn.Linear(3, 1))

        def forward(self, x):
            return self.main(x)

    ax = plot_nodes(x[:, None], y, NotesStyle())
    assert len([ln for ln in ax.get_lines() if ln.get_label().startswith("node ")]) == 3
