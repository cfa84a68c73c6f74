"""Instruments for test cells: models that record how student code used them, and tensors that make a
device visible on a CPU. Test cells pass these into student code instead of classes of their own.

They are public library code, the same in every kernel: while grading, the graded test cells run in
a judge kernel of their own and student code in the student's kernel, and an instrument crosses
between the two as data (its class name, settings, weights and records) and is rebuilt there
(coursekit/judge). A class defined in a test cell cannot cross: its code would have to run where the
student's code runs.

Records are plain data (lists of tuples of booleans and numbers). A deep copy of a recorder shares
its record, so a correct answer that evaluates ``copy.deepcopy(model)`` is seen as well.
"""
from __future__ import annotations

import copy

import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten
from torch.utils.data import default_collate

__all__ = ["ModeRecorder", "Probe", "LookupModel", "TargetRecorder", "StandInGpuTensor", "NotMovedYet", "OnDevice",
           "DeviceModel", "unmoved_batches", "SimulatedGpuTensor", "on_gpu", "GpuFactories", "simulated_gpu",
           "active_modes", "InstrumentMode", "use", "TrainingRecorder", "TorchCalls"]


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


class StandInGpuTensor(torch.Tensor):
    """Behaves like a tensor on a GPU where it matters for NumPy: ``.numpy()`` refuses until ``.cpu()``
    (or ``.to("cpu")``) copies it."""

    def cpu(self, *args, **kwargs):
        return self.as_subclass(torch.Tensor).clone()

    def to(self, *args, **kwargs):
        return self.as_subclass(torch.Tensor).to(*args, **kwargs)

    def new_empty(self, *args, **kwargs):        # copy.deepcopy of a tensor on a GPU gives one on the GPU
        return self.as_subclass(torch.Tensor).new_empty(*args, **kwargs).as_subclass(type(self))

    def numpy(self, *args, force=False, **kwargs):
        if force:
            return self.as_subclass(torch.Tensor).numpy(force=True)
        raise TypeError("can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() to copy the tensor "
                        "to host memory first.")


class _FakeDevice(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        flat, _ = tree_flatten((args, kwargs or {}))
        with torch._C.DisableTorchFunctionSubclass():
            mixed = (any(isinstance(t, NotMovedYet) and t.dim() > 0 for t in flat)
                     and any(isinstance(t, OnDevice) and t.dim() > 0 for t in flat))
        if mixed:
            raise RuntimeError("Expected all tensors to be on the same device: a batch not moved met the "
                               "model's output (x.to(device) returns a moved copy: keep it, x = x.to(device))")
        return super().__torch_function__(func, types, args, kwargs)


class NotMovedYet(_FakeDevice):
    """A batch as a DataLoader yields it, before ``.to(device)``: ``.to(...)`` returns a plain tensor."""

    def to(self, *args, **kwargs):
        return self.as_subclass(torch.Tensor).to(*args, **kwargs)


class OnDevice(_FakeDevice):
    """A model's output on the device: ``.cpu()`` (or ``.to("cpu")``) returns a plain tensor; mixing it
    with a ``NotMovedYet`` batch fails as mixing devices does."""

    def cpu(self, *args, **kwargs):
        return self.as_subclass(torch.Tensor).cpu(*args, **kwargs)

    def to(self, *args, **kwargs):
        out = self.as_subclass(torch.Tensor).to(*args, **kwargs)
        target = kwargs.get("device", args[0] if args and isinstance(args[0], (str, torch.device)) else None)
        return out if target is not None and torch.device(target).type == "cpu" else out.as_subclass(OnDevice)


class DeviceModel(nn.Module):
    """``net`` on the device: refuses batches that were not moved, and marks its outputs as on it."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x):
        if isinstance(x, NotMovedYet):
            raise RuntimeError("Expected all tensors to be on the same device: a batch not moved met the model "
                               "(x.to(device) returns a moved copy: keep it, x = x.to(device))")
        return self.net(x).as_subclass(OnDevice)


def unmoved_batches(batch):
    """A DataLoader's ``collate_fn`` whose batches are ``NotMovedYet`` until moved with ``.to(device)``."""
    return [t.as_subclass(NotMovedYet) for t in default_collate(batch)]


_CUDA0 = torch.device("cuda", 0)


class SimulatedGpuTensor(torch.Tensor):
    """A CPU tensor that plays one on a GPU: ``.device`` says cuda:0, ``.numpy()`` refuses, and mixing
    it with a CPU tensor of one or more dimensions fails as it does on a GPU (``on_gpu`` makes one)."""

    @property
    def device(self):
        return _CUDA0

    def numpy(self, *args, **kwargs):
        raise TypeError("can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() to copy the tensor to "
                        "host memory first.")

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        from torch.utils._pytree import tree_leaves
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        checked = (args, kwargs)
        if name in ("__getitem__", "__setitem__") and args and isinstance(args[0], cls):
            checked = (args[0], args[2:], kwargs)     # index tensors may stay on the CPU, as on a GPU
        if name not in ("__get__", "__set__", "cpu") and any(
                isinstance(t, torch.Tensor) and not isinstance(t, cls) and t.dim() > 0
                for t in tree_leaves(checked)):
            raise RuntimeError("Expected all tensors to be on the same device, but found at least two devices, "
                               "cuda:0 and cpu!")
        out = super().__torch_function__(func, types, args, kwargs)
        if name == "cpu" and isinstance(out, cls):
            out = out.as_subclass(torch.Tensor)
        elif name == "__get__" and type(out) is torch.Tensor:         # .grad and .data live on the GPU too
            out = out.as_subclass(cls)
        return out


def on_gpu(t: torch.Tensor) -> torch.Tensor:
    """``t`` as a SimulatedGpuTensor (a leaf stays a leaf)."""
    plain = t.as_subclass(torch.Tensor) if isinstance(t, SimulatedGpuTensor) else t
    if plain.is_leaf:
        return torch.Tensor._make_subclass(SimulatedGpuTensor, plain.detach(), plain.requires_grad)
    return plain.as_subclass(SimulatedGpuTensor)


class InstrumentMode(TorchFunctionMode):
    """Base of the instruments' torch function modes: student code called inside ``with use(mode):``
    runs under the mode, in this kernel and, while grading, in the student's kernel (the judge sends
    each active mode's class name and ``settings()``, rebuilds it there, and brings its ``record`` back
    as data into this object with ``absorb``). A subclass keeps what it observed in ``record`` (plain
    data: numbers, strings, lists, dicts), takes its settings as keyword arguments, and is registered
    in ``_MODES``."""

    record = None

    def settings(self) -> dict:
        return {}

    def absorb(self, record) -> None:
        """What the same mode observed in the student's kernel during one call (default: replace)."""
        self.record = record


class GpuFactories(InstrumentMode):
    """While active: tensors made for cuda:0 (``device=...``, ``.to(...)``, ``.cuda()``) come out as
    SimulatedGpuTensor on the CPU."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        from torch.utils._pytree import tree_map
        kwargs = kwargs or {}
        if func is torch.device:
            return func(*args, **kwargs)
        found = []

        def to_cpu(v):
            if isinstance(v, (str, torch.device)):
                try:
                    dev = v if isinstance(v, torch.device) else torch.device(v)
                except (RuntimeError, TypeError):
                    return v
                if dev.type == "cuda":
                    found.append(v)
                    return torch.device("cpu")
            return v
        if getattr(func, "__name__", "") == "cuda":
            found.append("cuda")
            func, args, kwargs = torch.Tensor.clone, args[:1], {}
        args, kwargs = tree_map(to_cpu, (args, kwargs))
        out = func(*args, **kwargs)
        return on_gpu(out) if found and type(out) is torch.Tensor else out


_ACTIVE: list[InstrumentMode] = []
_MODES: dict[str, type] = {"GpuFactories": GpuFactories}


class use:
    """``with use(SomeInstrumentMode(...)) as m:`` -- the mode is active around student code called
    inside, wherever that code runs; afterwards ``m.record`` holds what it observed."""

    def __init__(self, mode: InstrumentMode):
        if type(mode).__name__ not in _MODES or _MODES[type(mode).__name__] is not type(mode):
            raise TypeError(f"use(): {type(mode).__name__} is not one of the instruments' modes ({sorted(_MODES)})")
        self.mode = mode

    def __enter__(self):
        self.mode.__enter__()
        _ACTIVE.append(self.mode)
        return self.mode

    def __exit__(self, *exc):
        _ACTIVE.remove(self.mode)
        return self.mode.__exit__(*exc)


def simulated_gpu() -> use:
    """``with simulated_gpu():`` -- student code called inside makes tensors for cuda:0 as
    SimulatedGpuTensor (GpuFactories)."""
    return use(GpuFactories())


def active_modes() -> list[InstrumentMode]:
    """The instruments' modes active now, outermost first."""
    return list(_ACTIVE)


def mode(name: str, settings: dict) -> InstrumentMode:
    """A fresh instance of the instruments' mode called ``name`` (KeyError for any other name)."""
    return _MODES[name](**settings)


class TrainingRecorder(InstrumentMode):
    """While active (``with use(TrainingRecorder(shape=X.shape)) as seen:``), records what training
    code does with the models and optimizers it makes itself. ``seen.record`` is a dict:

    * ``forwards``: for each module that ran forward passes on an input of ``shape`` with gradients
      on, how many (largest first: the outermost module's count is the number of full-batch steps);
    * ``optimizers``: ``[class name, [learning rate of each parameter group]]`` of the optimizers'
      steps, each pair once;
    * ``built``: how many modules got parameters; ``devices``: the devices of their parameters, read
      when the record is (so a call that raised still shows where its network was)."""

    def __init__(self, shape=None):
        super().__init__()
        self.shape = None if shape is None else [int(s) for s in shape]
        self._forwards: dict = {}
        self._optimizers: list = []
        self._built: list = []
        self._hooks: list = []
        self._absorbed = None

    def settings(self) -> dict:
        return {"shape": self.shape}

    @property
    def record(self) -> dict:
        if self._absorbed is not None:
            return self._absorbed
        return {"forwards": sorted(self._forwards.values(), reverse=True),
                "optimizers": [[name, list(lrs)] for name, lrs in self._optimizers], "built": len(self._built),
                "devices": sorted({str(p.device) for m in self._built for p in m.parameters()})}

    @record.setter
    def record(self, value) -> None:
        self._absorbed = value

    def absorb(self, record) -> None:
        self._absorbed = record

    def _forward(self, module, args, output):
        x = args[0] if args else None
        if torch.is_grad_enabled() and isinstance(x, torch.Tensor) and (self.shape is None or list(x.shape) == self.shape):
            self._forwards[module] = self._forwards.get(module, 0) + 1

    def _registered(self, module, name, param):
        if not any(m is module for m in self._built):
            self._built.append(module)

    def _step(self, optimizer, args, kwargs):
        seen = (type(optimizer).__name__, tuple(float(g["lr"]) for g in optimizer.param_groups))
        if seen not in self._optimizers:
            self._optimizers.append(seen)

    def __enter__(self):
        from torch.nn.modules import module as _module
        from torch.optim.optimizer import register_optimizer_step_pre_hook
        self._hooks = [_module.register_module_forward_hook(self._forward),
                       _module.register_module_parameter_registration_hook(self._registered),
                       register_optimizer_step_pre_hook(self._step)]
        return super().__enter__()

    def __exit__(self, *exc):
        for hook in self._hooks:
            hook.remove()
        self._hooks = []
        return super().__exit__(*exc)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        return func(*args, **(kwargs or {}))


_MODES["TrainingRecorder"] = TrainingRecorder


class TorchCalls(InstrumentMode):
    """While active (``with use(TorchCalls()) as calls:``), counts the torch functions that run, by
    name: ``calls.record`` is a dict such as ``{"matmul": 1, "add": 1}``, summed over the calls of
    student code made inside the block (``"linear"`` for F.linear, ``"kaiming_uniform_"`` when an
    nn.Linear is created)."""

    def __init__(self):
        super().__init__()
        self._counts: dict = {}
        self._absorbed = None

    @property
    def record(self) -> dict:
        return dict(self._counts if self._absorbed is None else self._absorbed)

    def absorb(self, record) -> None:
        """Counts from where the code ran replace those seen here (the judge's own operations)."""
        if self._absorbed is None:
            self._absorbed = {}
        for name, count in (record.items() if isinstance(record, dict) else ()):
            if isinstance(name, str) and type(count) is int:
                self._absorbed[name] = self._absorbed.get(name, 0) + count

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", None) or type(func).__name__
        self._counts[name] = self._counts.get(name, 0) + 1
        return func(*args, **(kwargs or {}))


_MODES["TorchCalls"] = TorchCalls
