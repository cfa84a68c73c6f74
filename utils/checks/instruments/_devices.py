"""The instruments' devices on a CPU: tensors that behave as on a GPU where it matters (``.numpy()``,
mixing devices), batches not moved yet, and a model on the device. Part of ``utils.checks.instruments``.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.utils._pytree import tree_flatten
from torch.utils.data import default_collate


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


#: the instruments' tensor classes: the only tensor subclasses the checks and the judge take as data
TENSOR_CLASSES = (StandInGpuTensor, NotMovedYet, OnDevice, SimulatedGpuTensor)
