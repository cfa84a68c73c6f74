"""The instruments' torch function modes: ``use(mode)`` around student code, the simulated GPU's
factories, and the recorders of training and of torch calls. Part of ``utils.checks.instruments``.
"""
from __future__ import annotations

import torch
from torch.overrides import TorchFunctionMode

from ._devices import on_gpu


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
