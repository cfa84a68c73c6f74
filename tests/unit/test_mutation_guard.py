"""The kernel-side state guard of coursekit.mutation, exercised on a plain namespace (no kernel):
whatever a mutant leaves behind is put back, in place, so objects that refer to it still do."""
from __future__ import annotations

import os

import numpy as np
import torch
from torch import nn

from coursekit.mutation.kernel_guard import make_guard


def test_restore_undoes_rebinding_new_names_and_in_place_changes(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    loss_fn = nn.MSELoss()
    data = torch.randn(4, 2)
    history = [1.0, 2.0]
    table = {"a": 1}
    array = np.arange(4.0)
    ns = {"model": model, "optimizer": optimizer, "loss_fn": loss_fn, "data": data, "history": history,
          "table": table, "array": array, "f": len}
    weights = [p.detach().clone() for p in model.parameters()]
    data_before = data.clone()
    guard = make_guard(ns)
    guard.snapshot()
    rng_before = torch.get_rng_state()

    # what a wrong answer (or the tests it fails half-way) may leave behind
    model.eval()
    loss_fn.reduction = "sum"
    loss = loss_fn(model(data), torch.zeros(4, 1))
    loss.backward()
    optimizer.step()
    data.mul_(2)
    history.append(3.0)
    table["b"] = 2
    array[0] = 99
    model[2] = nn.Linear(3, 5)
    ns["f"] = max
    ns["leftover"] = 1
    torch.randn(3)
    torch.set_grad_enabled(False)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        repaired = guard.restore()
    finally:
        os.chdir(cwd)
        torch.set_grad_enabled(True)

    assert ns["f"] is len and "leftover" not in ns
    assert ns["model"] is model and model.training and all(m.training for m in model.modules())
    assert model[2].out_features == 1
    for p, w in zip(model.parameters(), weights):
        assert torch.equal(p.detach(), w) and p.grad is None
    assert loss_fn.reduction == "mean"
    assert torch.equal(data, data_before)
    assert history == [1.0, 2.0] and table == {"a": 1} and array[0] == 0
    assert optimizer.state_dict()["state"] == {}
    assert optimizer.param_groups[0]["params"][0] is next(model.parameters())   # aliasing kept
    assert torch.equal(torch.get_rng_state(), rng_before)
    assert {"model", "loss_fn", "data", "history", "table", "array", "optimizer"} <= set(repaired)
    assert "torch grad mode" in repaired and "working directory" in repaired


def test_restore_reports_nothing_when_nothing_changed():
    ns = {"x": torch.ones(2), "m": nn.Linear(1, 1), "items": [1]}
    guard = make_guard(ns)
    guard.snapshot()
    ns["m"](torch.ones(1, 1))          # reading is not changing
    assert guard.restore() == []
