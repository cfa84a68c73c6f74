"""torch, torch.nn and NumPy, imported on first use: a kernel whose notebook never imports torch (an
assignment of plain Python) answers the judge without loading it (an address-space limit counts it)."""
from __future__ import annotations

import importlib
import sys


class _Lazy:
    def __init__(self, name: str):
        object.__setattr__(self, "_name", name)

    def __getattr__(self, attr):
        # (the module once imported: sys.modules, as import_module would find it, without its machinery:
        # every tensor that crosses asks several times)
        module = sys.modules.get(self._name)
        if module is None:
            module = importlib.import_module(self._name)
        return getattr(module, attr)


torch = _Lazy("torch")
nn = _Lazy("torch.nn")
np = _Lazy("numpy")
pd = _Lazy("pandas")


def has_torch() -> bool:
    return "torch" in sys.modules


def has_numpy() -> bool:
    return "numpy" in sys.modules


def has_pandas() -> bool:
    return "pandas" in sys.modules


def is_tensor(x) -> bool:
    t = sys.modules.get("torch")
    return t is not None and isinstance(x, t.Tensor)


def is_array(x) -> bool:
    n = sys.modules.get("numpy")
    return n is not None and isinstance(x, n.ndarray)


def is_module(x) -> bool:
    t = sys.modules.get("torch")
    return t is not None and isinstance(x, t.nn.Module)


def is_optimizer(x) -> bool:
    t = sys.modules.get("torch")
    return t is not None and isinstance(x, t.optim.Optimizer)
