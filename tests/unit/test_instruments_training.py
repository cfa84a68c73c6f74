"""utils/checks/instruments: TrainingRecorder (what training code does with the network and optimizer it
makes itself), TargetRecorder's gradient mode and DeviceModel's message, in the test's own kernel and,
as while grading with the judge, where the student's code runs (coursekit/judge)."""
from __future__ import annotations

import copy

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from utils.checks.instruments import DeviceModel, ModeRecorder, NotMovedYet, TargetRecorder, TrainingRecorder, \
    unmoved_batches, use


def _train(X, y, epochs, lr, stop_below=None):
    """Full-batch Adam on a network it builds itself; stops early when the loss falls below stop_below."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(1, 4), nn.Tanh(), nn.Linear(4, 1)).to(X.device)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    for _ in range(epochs):
        opt.zero_grad()
        loss = nn.functional.mse_loss(net(X), y)
        loss.backward()
        opt.step()
        if stop_below is not None and loss.item() < stop_below:
            break
    with torch.no_grad():
        net(X)                                   # an evaluation pass: no gradients, not a step
    return net


def _left_on_cpu(X, y):
    """Builds its network on the CPU whatever X's device, then reads a loss value (fails on 'meta')."""
    net = nn.Sequential(nn.Linear(1, 3), nn.ReLU(), nn.Linear(3, 1))
    return nn.functional.mse_loss(net(X.cpu()), y.cpu()).item()


X = torch.linspace(-1, 1, 12).reshape(-1, 1)
Y = 0.5 * X + 0.2


@pytest.mark.parametrize("where", ["here", "judge"])
def test_training_recorder_counts_steps_and_learning_rates_where_the_code_runs(where, remote):
    run = _train if where == "here" else remote(_train)
    with use(TrainingRecorder(shape=X.shape)) as seen:
        run(X, Y, 7, 0.03)
    assert max(seen.record["forwards"]) == 7              # the outermost module's passes with gradients
    assert seen.record["optimizers"] == [["Adam", [0.03]]]
    assert seen.record["built"] == 2 and seen.record["devices"] == ["cpu"]
    with use(TrainingRecorder(shape=X.shape)) as early:
        run(X, Y, 200, 0.05, stop_below=0.01)
    assert 0 < max(early.record["forwards"]) < 200
    with use(TrainingRecorder(shape=(5, 1))) as other_shape:
        run(X, Y, 3, 0.03)
    assert other_shape.record["forwards"] == []


@pytest.mark.parametrize("where", ["here", "judge"])
def test_training_recorder_shows_where_the_network_was_when_the_code_raised(where, remote):
    run = _left_on_cpu if where == "here" else remote(_left_on_cpu)
    with use(TrainingRecorder(shape=(4, 1))) as seen:
        with pytest.raises(Exception, match="meta"):
            run(torch.randn(4, 1).to("meta"), torch.randn(4, 1).to("meta"))
    assert seen.record["built"] == 2 and seen.record["devices"] == ["cpu"]
    with use(TrainingRecorder(shape=(4, 1))) as moved:
        net = (_train if where == "here" else remote(_train))(torch.randn(4, 1).to("meta"),
                                                             torch.randn(4, 1).to("meta"), 1, 0.1)
    assert moved.record["devices"] == ["meta"] and {p.device.type for p in net.parameters()} == {"meta"}


def _train_and_validate(model, loader, loss_fn):
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for xb, yb in loader:
        opt.zero_grad()
        loss_fn(model(xb.to("cpu")), yb.to("cpu")).backward()
        opt.step()
    frozen = copy.deepcopy(model).eval()                  # validation on a copy: the model's own flag stays True
    with torch.no_grad():
        return [loss_fn(frozen(xb.to("cpu")), yb).item() for xb, yb in loader]


@pytest.mark.parametrize("where", ["here", "judge"])
def test_target_recorder_tells_validation_by_the_gradient_mode(where, remote):
    run = _train_and_validate if where == "here" else remote(_train_and_validate)
    model = ModeRecorder(nn.Linear(2, 1)).train()
    loss_fn = TargetRecorder(nn.MSELoss(), model)
    loader = DataLoader(TensorDataset(torch.ones(5, 2), torch.zeros(5, 1)), batch_size=2, collate_fn=unmoved_batches)
    run(model, loader, loss_fn)
    assert loss_fn.grad_enabled == [True] * 3 + [False] * 3
    assert [training for training, _ in loss_fn.seen] == [True] * 6      # the copy's eval() is not the model's
    assert [moved for _, moved in loss_fn.seen] == [True] * 3 + [False] * 3


def test_device_model_says_how_to_move_a_batch():
    with pytest.raises(RuntimeError, match=r"same device.*returns a moved copy: keep it, x = x.to\(device\)"):
        DeviceModel(nn.Linear(2, 1))(torch.ones(3, 2).as_subclass(NotMovedYet))
    out = DeviceModel(nn.Linear(2, 1))(torch.ones(3, 2))
    with pytest.raises(RuntimeError, match="returns a moved copy"):
        out + torch.ones(3, 1).as_subclass(NotMovedYet)
