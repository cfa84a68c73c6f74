"""utils.training: seeding, device order, the fit loop and accuracy."""
import random

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from utils.training import accuracy, fit, get_device, set_seed


# ----------------------------------------------------------------------------- set_seed

def draw():
    return random.random(), float(np.random.rand()), float(torch.rand(1))


def test_set_seed_makes_every_generator_repeat():
    set_seed(123)
    first = draw()
    set_seed(123)
    assert draw() == first
    set_seed(124)
    assert draw() != first
    set_seed()  # default seed 0
    zero = draw()
    set_seed(0)
    assert draw() == zero


@pytest.mark.parametrize("bad, error", [(1.5, TypeError), ("0", TypeError), (True, TypeError), (None, TypeError),
                                        (-1, ValueError), (2**32, ValueError)])
def test_set_seed_bad_arguments(bad, error):
    with pytest.raises(error, match="seed"):
        set_seed(bad)


# ----------------------------------------------------------------------------- get_device

@pytest.mark.parametrize("cuda, mps, expected", [(True, True, "cuda"), (True, False, "cuda"),
                                                 (False, True, "mps"), (False, False, "cpu")])
def test_get_device_order(monkeypatch, cuda, mps, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    device = get_device()
    assert isinstance(device, torch.device)
    assert device.type == expected


def test_get_device_without_mps_backend(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.delattr(torch.backends, "mps")
    assert get_device() == torch.device("cpu")


def test_get_device_real():
    device = get_device()
    assert device.type in {"cuda", "mps", "cpu"}
    if torch.cuda.is_available():
        assert device.type == "cuda"
    torch.zeros(1, device=device)  # the chosen device works


# ----------------------------------------------------------------------------- fit

def regression_data(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 3, generator=g)
    y = X @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.3
    return X, y


def loader(X, y, batch_size=16, shuffle=False):
    return DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=shuffle)


def test_fit_reduces_loss_and_returns_histories():
    set_seed(0)
    X, y = regression_data()
    model = nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    history = fit(model, loader(X, y), nn.MSELoss(), optimizer, 8, val_loader=loader(X, y), progress=False)
    assert set(history) == {"train_loss", "val_loss"}
    assert len(history["train_loss"]) == len(history["val_loss"]) == 8
    assert all(isinstance(v, float) for v in history["train_loss"] + history["val_loss"])
    assert history["train_loss"][-1] < 0.1 * history["train_loss"][0]
    assert history["val_loss"][-1] < history["val_loss"][0]
    with torch.no_grad():
        assert nn.MSELoss()(model(X), y).item() == pytest.approx(history["val_loss"][-1], rel=1e-5)


def test_fit_without_val_loader_and_with_metric():
    set_seed(0)
    X = torch.randn(80, 2)
    y = (X[:, 0] > X[:, 1]).long()
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)  # Adam's first step costs seconds of imports
    history = fit(model, loader(X, y), nn.CrossEntropyLoss(), optimizer, 5, progress=False)
    assert history == {"train_loss": history["train_loss"], "val_loss": []}
    history = fit(model, loader(X, y), nn.CrossEntropyLoss(), optimizer, 3, val_loader=loader(X, y, 7),
                  metric=accuracy, progress=False)
    assert {k: len(v) for k, v in history.items()} == {"train_loss": 3, "val_loss": 3, "train_metric": 3,
                                                      "val_metric": 3}
    assert all(0.0 <= v <= 1.0 for v in history["train_metric"] + history["val_metric"])
    assert history["val_metric"][-1] == pytest.approx(accuracy(model(X), y))
    assert history["val_metric"][-1] > 0.8


def test_fit_is_the_plain_training_loop():
    """fit gives exactly the weights of the loop students write by hand."""
    X, y = regression_data(48)
    set_seed(1)
    by_hand = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    set_seed(1)
    with_fit = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    opt_hand = torch.optim.SGD(by_hand.parameters(), lr=0.05, momentum=0.9)
    opt_fit = torch.optim.SGD(with_fit.parameters(), lr=0.05, momentum=0.9)
    loss_fn = nn.MSELoss()
    for _ in range(3):
        for xb, yb in loader(X, y):
            opt_hand.zero_grad()
            loss_fn(by_hand(xb), yb).backward()
            opt_hand.step()
    fit(with_fit, loader(X, y), loss_fn, opt_fit, 3, progress=False)
    for a, b in zip(by_hand.parameters(), with_fit.parameters()):
        torch.testing.assert_close(a, b)


class Recorder(nn.Module):
    """Records, for every forward call, (batch size, training mode, grad enabled, input device)."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 1)
        self.dropout = nn.Dropout(0.5)
        self.calls = []

    def forward(self, x):
        self.calls.append((x.shape[0], self.training, torch.is_grad_enabled(), x.device))
        return self.linear(self.dropout(x))


def test_fit_validates_in_eval_mode_without_grad_and_restores_mode():
    X, y = regression_data(12)
    model = Recorder()
    model.eval()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    fit(model, loader(X, y, 4), nn.MSELoss(), optimizer, 2, val_loader=loader(X, y, 6), progress=False)
    train_calls = [c for c in model.calls if c[0] == 4]
    val_calls = [c for c in model.calls if c[0] == 6]
    assert len(train_calls) == 6 and len(val_calls) == 4
    assert all(training and grad for _, training, grad, _ in train_calls)
    assert not any(training or grad for _, training, grad, _ in val_calls)
    assert not model.training  # left as it was
    model.train()
    fit(model, loader(X, y, 4), nn.MSELoss(), optimizer, 1, val_loader=loader(X, y, 6), progress=False)
    assert model.training


def test_fit_moves_batches_to_the_model_device():
    X, y = regression_data(8)
    model = Recorder()
    fit(model, loader(X, y), nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.01), 1, progress=False)
    assert {c[3] for c in model.calls} == {torch.device("cpu")}
    fit(model, loader(X, y), nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.01), 1, device="cpu",
        progress=False)
    if torch.cuda.is_available():  # pragma: no cover - only on a GPU machine
        model.calls.clear()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
        history = fit(model, loader(X, y), nn.MSELoss(), optimizer, 2, val_loader=loader(X, y),
                      metric=lambda out, t: 0.0, device=torch.device("cuda"), progress=False)
        assert {c[3].type for c in model.calls} == {"cuda"}
        assert next(model.parameters()).device.type == "cuda" and len(history["val_loss"]) == 2
        model.calls.clear()
        fit(model, loader(X, y), nn.MSELoss(), optimizer, 1, progress=False)  # device=None: the model's
        assert {c[3].type for c in model.calls} == {"cuda"}


def test_fit_progress_bar(capsys):
    X, y = regression_data(8)
    model = nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    fit(model, loader(X, y), nn.MSELoss(), optimizer, 2, progress=False)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    fit(model, loader(X, y), nn.MSELoss(), optimizer, 2, desc="epochs of the demo")
    err = capsys.readouterr().err
    assert "epochs of the demo" in err and "2/2" in err and "train_loss" in err


def test_fit_warns_when_the_loss_diverges():
    X, y = regression_data(16)
    model = nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e6)
    with pytest.warns(RuntimeWarning, match="learning rate"):
        history = fit(model, loader(X, y, 4), nn.MSELoss(), optimizer, 4, progress=False)
    assert len(history["train_loss"]) == 4


def make_args():
    X, y = regression_data(8)
    model = nn.Linear(3, 1)
    return dict(model=model, train_loader=loader(X, y), loss_fn=nn.MSELoss(),
                optimizer=torch.optim.SGD(model.parameters(), lr=0.1), epochs=1, progress=False)


@pytest.mark.parametrize("change, error, words", [
    ({"epochs": 0}, ValueError, "`epochs` must be a positive int"),
    ({"epochs": -3}, ValueError, "`epochs` must be a positive int"),
    ({"epochs": 2.0}, TypeError, "`epochs` must be a positive int"),
    ({"epochs": True}, TypeError, "`epochs`"),
    ({"model": lambda x: x}, TypeError, "`model` must be an nn.Module"),
    ({"train_loader": torch.zeros(4, 3)}, TypeError, "`train_loader` must be a DataLoader"),
    ({"train_loader": [torch.zeros(4, 3)]}, TypeError, "(inputs, targets)"),
    ({"train_loader": [(torch.zeros(4, 3), torch.zeros(4, 1), torch.zeros(4))]}, TypeError, "(inputs, targets)"),
    ({"train_loader": []}, ValueError, "no batches"),
    ({"val_loader": 5}, TypeError, "`val_loader`"),
    ({"val_loader": [torch.zeros(4, 3)]}, TypeError, "`val_loader` must yield (inputs, targets)"),
    ({"loss_fn": nn.MSELoss}, TypeError, "`loss_fn`"),
    ({"loss_fn": nn.MSELoss(reduction="none")}, ValueError, "reduction='none'"),
    ({"loss_fn": lambda out, target: 0.5}, TypeError, "`loss_fn` must return a tensor"),
    ({"optimizer": torch.optim.SGD}, TypeError, "`optimizer`"),
    ({"optimizer": None}, TypeError, "`optimizer`"),
    ({"metric": "accuracy"}, TypeError, "`metric`"),
    ({"device": 3.5}, ValueError, "`device`"),
])
def test_fit_bad_arguments(change, error, words):
    args = make_args()
    args.update(change)
    with pytest.raises(error) as info:
        fit(**args)
    assert words in str(info.value)


# ----------------------------------------------------------------------------- accuracy

def test_accuracy_multiclass():
    logits = torch.tensor([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [0.0, 0.0, 5.0], [1.0, 0.0, 0.0]], requires_grad=True)
    assert accuracy(logits, torch.tensor([0, 1, 2, 2])) == 0.75
    assert isinstance(accuracy(logits, torch.tensor([0, 1, 2, 2])), float)
    assert accuracy(logits.detach().numpy(), np.array([0, 1, 2, 0])) == 1.0


def test_accuracy_binary_logits():
    logits = torch.tensor([2.0, -1.0, 0.5, -3.0])
    assert accuracy(logits, torch.tensor([1, 0, 0, 0])) == 0.75
    assert accuracy(logits.unsqueeze(1), torch.tensor([[1.0], [0.0], [1.0], [0.0]])) == 1.0
    assert accuracy(torch.sigmoid(logits), torch.tensor([1, 0, 1, 0]), threshold=0.5) == 1.0
    assert accuracy(torch.tensor([[0.0]]), torch.tensor([0])) == 1.0  # exactly 0 is class 0


@pytest.mark.parametrize("output, target", [
    (torch.zeros(4, 3), torch.zeros(5, dtype=torch.long)),
    (torch.zeros(4, 3), torch.zeros(4, 2, dtype=torch.long)),
    (torch.zeros(2, 3, 4), torch.zeros(2, dtype=torch.long)),
    (torch.tensor(1.0), torch.tensor(1)),
    (torch.zeros(0, 3), torch.zeros(0, dtype=torch.long)),
])
def test_accuracy_bad_shapes(output, target):
    with pytest.raises(ValueError, match="accuracy"):
        accuracy(output, target)
