"""The instruments' recording models: a wrapper, a probe, a lookup model and a loss wrapper that
record how student code used them (modes, gradients, devices). Records are plain data (lists of tuples
of booleans and numbers); a deep copy of a recorder shares its record, so a correct answer that
evaluates ``copy.deepcopy(model)`` is seen as well. Part of ``utils.checks.instruments``.
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from ._devices import NotMovedYet


class _SharedRecord:
    """Mixin: the record lists are shared with deep copies."""
    _records: tuple[str, ...] = ()

    def __deepcopy__(self, memo):
        for name in self._records:
            memo[id(getattr(self, name))] = getattr(self, name)
        cls = type(self)
        clone = cls.__new__(cls)
        memo[id(self)] = clone
        for key, value in self.__dict__.items():
            clone.__dict__[key] = copy.deepcopy(value, memo)
        return clone


def _moved(x) -> bool:
    return not isinstance(x, NotMovedYet)


class ModeRecorder(_SharedRecord, nn.Module):
    """Wraps ``net``; at every forward pass records ``(training, grad_enabled)`` of the wrapper in
    ``modes``, whether every layer (the wrapper included) was in training mode in ``all_training``
    and whether any was in ``any_training`` (modes are read on every layer, not on the wrapper only),
    and whether the input was moved to the device (``NotMovedYet`` batches are not) in ``moved``."""
    _records = ("modes", "all_training", "any_training", "moved")

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net
        self.modes: list = []
        self.all_training: list = []
        self.any_training: list = []
        self.moved: list = []

    def forward(self, x):
        flags = [m.training for m in self.modules()]
        self.modes.append((self.training, torch.is_grad_enabled()))
        self.all_training.append(all(flags))
        self.any_training.append(any(flags))
        self.moved.append(_moved(x))
        return self.net(x)


class Probe(_SharedRecord, nn.Module):
    """Dropout (``drop``, probability ``p``) and a linear layer (``linear``); every forward pass, of the
    probe or of a deep copy of it, appends ``(grad_enabled, training, any layer training)`` to
    ``forwards``."""
    _records = ("forwards",)

    def __init__(self, n_in: int, n_out: int = 1, p: float = 0.0):
        super().__init__()
        self.drop = nn.Dropout(p)
        self.linear = nn.Linear(n_in, n_out)
        self.forwards: list = []

    def forward(self, x):
        self.forwards.append((torch.is_grad_enabled(), self.training, any(m.training for m in self.modules())))
        return self.linear(self.drop(x))


class LookupModel(_SharedRecord, nn.Module):
    """Input row i holds the number i in its first column; the output is row i of ``logits``.
    Records ``(training, grad_enabled)`` in ``modes``."""
    _records = ("modes",)

    def __init__(self, logits: torch.Tensor):
        super().__init__()
        self.register_buffer("table", logits)
        self.dummy = nn.Parameter(torch.zeros(1))
        self.modes: list = []

    def forward(self, x):
        self.modes.append((self.training, torch.is_grad_enabled()))
        return self.table[x[:, 0].long()] + 0 * self.dummy


class TargetRecorder(_SharedRecord, nn.Module):
    """Wraps a loss function; records ``(the model's training flag, target moved to the device?)`` in
    ``seen`` and whether gradients were on in ``grad_enabled`` (a copy of the model validated in
    evaluation mode leaves the model's own flag as it was; gradients tell validation apart)."""
    _records = ("seen", "grad_enabled")

    def __init__(self, loss_fn: nn.Module, model: nn.Module):
        super().__init__()
        self.loss_fn, self.model = loss_fn, model
        self.seen: list = []
        self.grad_enabled: list = []

    def forward(self, output, target):
        self.seen.append((self.model.training, _moved(target)))
        self.grad_enabled.append(torch.is_grad_enabled())
        return self.loss_fn(output, target)
