"""utils/checks/instruments: what test cells pass to student code in place of classes of their own.

The instruments must behave the same in the test's own kernel and, while grading with the judge,
where the student's code runs (coursekit/judge): these tests check both."""
from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from utils.checks.instruments import StandInGpuTensor, TorchCalls, on_gpu, simulated_gpu, use


def _by_library(X, W, b):
    return F.linear(X, W, b)


def _by_rows(X, W, b):
    return torch.stack([W @ x + b for x in X])


def _by_formula(X, W, b):
    return X @ W.T + b


def test_torch_calls_names_and_counts_the_functions_a_call_runs():
    W, b = torch.randn(3, 4), torch.randn(3)
    with use(TorchCalls()) as library:
        _by_library(torch.randn(2, 4), W, b)
    assert library.record.get("linear") == 1
    counts = {}
    for fn in (_by_formula, _by_rows):
        for n in (2, 40):
            with use(TorchCalls()) as calls:
                fn(torch.randn(n, 4), W, b)
            counts[fn.__name__, n] = sum(calls.record.values())
    assert counts["_by_formula", 2] == counts["_by_formula", 40]
    assert counts["_by_rows", 40] > counts["_by_rows", 2]
    with use(TorchCalls()) as built:
        nn.Linear(3, 2)
    assert "kaiming_uniform_" in built.record and "linear" not in built.record


def test_torch_calls_record_comes_from_where_the_code_ran(remote):
    """Under the judge the record is the student's side's, summed over the calls made in the block;
    the judge's own work on the values it receives is not counted."""
    X, W, b = torch.ones(5, 4), torch.randn(3, 4), torch.randn(3)
    with use(TorchCalls()) as here:
        for _ in range(2):
            _by_library(X, W, b)
    fn = remote(_by_library)
    with use(TorchCalls()) as there:
        for _ in range(2):
            fn(X, W, b)
    assert there.record == here.record and there.record["linear"] == 2


def test_a_stand_in_gpu_tensor_stays_on_the_gpu_when_copied():
    t = torch.tensor([[1.5, -2.0]]).as_subclass(StandInGpuTensor)
    copied = copy.deepcopy(t)
    assert type(copied) is StandInGpuTensor
    with pytest.raises(TypeError, match="cuda:0"):
        copied.numpy()
    assert copy.deepcopy(t.detach()).cpu().numpy().tolist() == [[1.5, -2.0]]


def test_a_simulated_gpu_tensor_takes_index_tensors_from_the_cpu_as_a_gpu_does():
    labels = on_gpu(torch.tensor([1, 0, 3]))
    with simulated_gpu():
        out = torch.zeros(3, 4, device=labels.device)
        out[torch.arange(3), labels] = 1.0
        picked = out[torch.tensor([2, 0])]
    assert out.device.type == "cuda" and picked.device.type == "cuda"
    assert out.as_subclass(torch.Tensor).argmax(dim=1).tolist() == [1, 0, 3]
    with pytest.raises(RuntimeError, match="cuda:0 and cpu"):
        torch.zeros(3, 4)[torch.arange(3), labels] = 1.0          # a CPU tensor indexed with GPU labels
    with pytest.raises(RuntimeError, match="cuda:0 and cpu"):
        labels.unsqueeze(1) == torch.arange(4)                      # noqa: B015 - mixing devices in an operation


def test_every_instrument_crosses_to_the_judge_by_the_packages_name():
    """The package is split by concern (_recorders, _devices, _modes); the judge rebuilds an instrument from
    utils.checks.instruments and its class name, so every public name must resolve there to itself."""
    from coursekit.judge import names
    from utils.checks import instruments
    for name in instruments.__all__:
        obj = getattr(instruments, name)
        assert obj.__module__ == names.INSTRUMENTS, name
        if isinstance(obj, type) and issubclass(obj, torch.Tensor):
            assert names._resolve_tensor_class(names.tensor_class(obj)) is obj
        elif isinstance(obj, type) and issubclass(obj, nn.Module):
            assert names._resolve_module_class(names.module_class(obj)) is obj
        elif callable(obj) and not isinstance(obj, type):
            assert names.by_name(obj) == ["FN", names.INSTRUMENTS, name]
    assert set(instruments.TENSOR_CLASSES) == {getattr(instruments, n) for n in instruments.__all__
                                               if isinstance(getattr(instruments, n), type)
                                               and issubclass(getattr(instruments, n), torch.Tensor)}
