"""Seeding, device choice and a reusable training loop.

``fit`` is introduced in the notebooks only after the students have written their own
loop; it does exactly what that loop does (zero_grad, forward, loss, backward, step),
plus a validation pass and a progress bar, and nothing else: no early stopping, no
restoring of "best" weights, no learning-rate schedule.
"""
from __future__ import annotations

import math
import numbers
import os
import random
import warnings
from typing import Callable

import numpy as np
import torch
from torch import nn

__all__ = ["set_seed", "get_device", "set_threads", "setup_notebook", "fit", "accuracy"]


def set_seed(seed: int = 0) -> None:
    """Seed Python's ``random``, NumPy's global generator and torch (CPU and every CUDA device)."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"set_seed(): `seed` must be an int, got {type(seed).__name__} {seed!r}.")
    if not 0 <= seed < 2**32:
        raise ValueError(f"set_seed(): `seed` must be between 0 and 2**32 - 1, got {seed}.")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds CUDA and MPS generators
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def get_device() -> torch.device:
    """The best available device: CUDA, then Apple's MPS, then the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


# The course's networks are tiny: with more than one thread per process, torch spends more time handing
# work between threads than computing, and a notebook beside another busy process slows down up to 50
# times (measured on 2 cores: 06 took 97 s with torch's default of one thread per core, 16 s with one).
# One thread is also what the stored outputs were written with. COURSE_THREADS overrides it.
DEFAULT_THREADS = 1


def set_threads(threads: int | None = None) -> int:
    """Set torch's intra-op thread count for the course's small models; returns the count in force.

    ``threads=None`` takes the ``COURSE_THREADS`` environment variable, else one thread: faster for these
    networks however the notebook was started (JupyterLab, a venv, conda, JupyterHub, Colab).
    """
    if threads is None:
        raw = os.environ.get("COURSE_THREADS", "").strip()
        try:
            threads = int(raw) if raw else DEFAULT_THREADS
        except ValueError:
            raise ValueError(f"COURSE_THREADS must be a whole number of threads, got {raw!r}.") from None
    if isinstance(threads, bool) or not isinstance(threads, numbers.Integral) or threads < 1:
        raise ValueError(f"set_threads(): `threads` must be a whole number >= 1, got {threads!r}.")
    if torch.get_num_threads() != threads:
        torch.set_num_threads(int(threads))
    return torch.get_num_threads()


_setup_done = False


def setup_done() -> bool:
    """Whether `setup_notebook` has run in this process (the kernel)."""
    return _setup_done


def setup_notebook(seed: int = 0, threads: int | None = None, sharp_figures: bool = True) -> torch.device:
    """The first cell of every course notebook: seed everything (`set_seed`), use a thread count suited to
    small models (`set_threads`), ask Jupyter for high-resolution figures, and return the device to use
    (`get_device`: CUDA, then Apple MPS, then the CPU).

    Nothing changes on import; figures are only made sharp when this runs inside IPython.
    """
    global _setup_done
    set_seed(seed)
    set_threads(threads)
    if sharp_figures:
        _sharp_figures()
    _setup_done = True
    return get_device()


def _sharp_figures() -> None:
    try:
        from IPython import get_ipython
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:  # plain Python: nothing to configure
        return
    if get_ipython() is not None:
        set_matplotlib_formats("retina")


def _model_device(model: nn.Module) -> torch.device:
    for tensor in model.parameters():
        return tensor.device
    for tensor in model.buffers():
        return tensor.device
    return torch.device("cpu")


def _to(x, device):
    if isinstance(x, torch.Tensor):
        return x.to(device)
    if isinstance(x, (list, tuple)):
        return type(x)(_to(v, device) for v in x)
    return x


def _unpack(batch, loader_name: str):
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        what = f"a {type(batch).__name__}" + (f" of length {len(batch)}" if isinstance(batch, (tuple, list)) else "")
        raise TypeError(f"fit(): `{loader_name}` must yield (inputs, targets) pairs, got {what}. "
                        "Use a DataLoader over a TensorDataset(X, y) or a dataset returning (x, y).")
    inputs, targets = batch
    if not isinstance(targets, torch.Tensor):
        raise TypeError(f"fit(): `{loader_name}` yielded targets of type {type(targets).__name__}; "
                        "expected tensors (a DataLoader turns numbers into tensors for you).")
    return inputs, targets


def _batch_size(targets: torch.Tensor) -> int:
    return int(targets.shape[0]) if targets.ndim > 0 else 1


def _check_loss(loss) -> torch.Tensor:
    if not isinstance(loss, torch.Tensor):
        raise TypeError(f"fit(): `loss_fn` must return a tensor, got {type(loss).__name__}. "
                        "Pass a loss such as nn.MSELoss() or nn.CrossEntropyLoss() (an instance, with ()).")
    if loss.numel() != 1:
        raise ValueError(f"fit(): `loss_fn` must return a single number, got a tensor of shape {tuple(loss.shape)}; "
                         "did you use reduction='none'?")
    return loss


def _run_epoch(model, loader, loss_fn, optimizer, metric, device, loader_name):
    """One pass over ``loader``; trains when ``optimizer`` is given. -> (mean loss, mean metric or None)."""
    total_loss, total_metric, count = 0.0, 0.0, 0
    for batch in loader:
        inputs, targets = _unpack(batch, loader_name)
        inputs, targets = _to(inputs, device), targets.to(device)
        if optimizer is not None:
            optimizer.zero_grad()
        outputs = model(inputs)
        loss = _check_loss(loss_fn(outputs, targets))
        if optimizer is not None:
            loss.backward()
            optimizer.step()
        n = _batch_size(targets)
        total_loss += loss.item() * n
        if metric is not None:
            value = metric(outputs.detach(), targets)
            total_metric += float(value.item() if isinstance(value, torch.Tensor) else value) * n
        count += n
    if count == 0:
        raise ValueError(f"fit(): `{loader_name}` yielded no batches; is the dataset empty?")
    return total_loss / count, (total_metric / count if metric is not None else None)


def _is_loader(obj) -> bool:
    return hasattr(obj, "__iter__") and not isinstance(obj, (torch.Tensor, np.ndarray, str, bytes, dict))


def fit(model: nn.Module, train_loader, loss_fn: Callable, optimizer: torch.optim.Optimizer, epochs: int, *,
        val_loader=None, metric: Callable | None = None, device=None, progress: bool = True,
        desc: str = "training") -> dict:
    """Train ``model`` for ``epochs`` passes over ``train_loader`` and return the per-epoch history.

    Each epoch: ``model.train()``, then for every ``(inputs, targets)`` batch: move it to the
    device, ``optimizer.zero_grad()``, ``loss_fn(model(inputs), targets)``, ``backward()``,
    ``optimizer.step()``. With ``val_loader`` the model is then evaluated in ``model.eval()``
    mode under ``torch.no_grad()``. Losses (and ``metric(outputs, targets) -> float``) are
    averaged over the samples of the epoch.

    ``device=None`` uses the device the model's parameters are on; a given device moves the
    model there first (the optimizer keeps working: ``.to`` moves parameters in place).
    The model is left in the train/eval mode it had when ``fit`` was called.

    Returns ``{"train_loss": [...], "val_loss": [...]}`` (``val_loss`` empty without
    ``val_loader``), plus ``"train_metric"`` and ``"val_metric"`` when ``metric`` is given;
    one float per epoch.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"fit(): `model` must be an nn.Module, got {type(model).__name__}.")
    if not _is_loader(train_loader):
        raise TypeError(f"fit(): `train_loader` must be a DataLoader (or another iterable of (inputs, targets) "
                        f"batches), got {type(train_loader).__name__}.")
    if val_loader is not None and not _is_loader(val_loader):
        raise TypeError(f"fit(): `val_loader` must be a DataLoader or None, got {type(val_loader).__name__}.")
    if not callable(loss_fn) or isinstance(loss_fn, type):
        raise TypeError("fit(): `loss_fn` must be a loss function or module instance such as nn.MSELoss(), "
                        f"got {loss_fn!r}.")
    if not (hasattr(optimizer, "zero_grad") and hasattr(optimizer, "step")) or isinstance(optimizer, type):
        raise TypeError("fit(): `optimizer` must be an optimizer such as torch.optim.SGD(model.parameters(), lr=0.1), "
                        f"got {type(optimizer).__name__}.")
    if isinstance(epochs, bool) or not isinstance(epochs, numbers.Integral):
        raise TypeError(f"fit(): `epochs` must be a positive int, got {type(epochs).__name__} {epochs!r}.")
    if epochs < 1:
        raise ValueError(f"fit(): `epochs` must be a positive int, got {epochs!r}.")
    if metric is not None and (not callable(metric) or isinstance(metric, type)):
        raise TypeError(f"fit(): `metric` must be a function metric(outputs, targets) -> float, or None, got {metric!r}.")
    if not isinstance(desc, str):
        raise TypeError(f"fit(): `desc` must be a string, got {type(desc).__name__}.")
    if device is None:
        device = _model_device(model)
    else:
        try:
            device = torch.device(device)
        except (TypeError, RuntimeError):
            raise ValueError(f"fit(): `device` must be a torch.device or a name like 'cpu' or 'cuda', got {device!r}.") from None
        model.to(device)

    from tqdm.auto import trange

    history = {"train_loss": [], "val_loss": []}
    if metric is not None:
        history["train_metric"], history["val_metric"] = [], []
    was_training = model.training
    warned = False
    bar = trange(int(epochs), desc=desc, disable=not progress, unit="epoch")
    try:
        for epoch in bar:
            model.train()
            loss, score = _run_epoch(model, train_loader, loss_fn, optimizer, metric, device, "train_loader")
            history["train_loss"].append(loss)
            if metric is not None:
                history["train_metric"].append(score)
            postfix = {"train_loss": f"{loss:.4f}"}
            if val_loader is not None:
                model.eval()
                with torch.no_grad():
                    v_loss, v_score = _run_epoch(model, val_loader, loss_fn, None, metric, device, "val_loader")
                history["val_loss"].append(v_loss)
                if metric is not None:
                    history["val_metric"].append(v_score)
                postfix["val_loss"] = f"{v_loss:.4f}"
            if not math.isfinite(loss) and not warned:
                warnings.warn(f"fit(): the training loss became {loss} at epoch {epoch + 1}; "
                              "the learning rate is probably too large.", RuntimeWarning, stacklevel=2)
                warned = True
            bar.set_postfix(postfix, refresh=False)
    finally:
        bar.close()
        model.train(was_training)
    return history


def accuracy(output, target, *, threshold: float = 0.0) -> float:
    """Fraction of correct predictions.

    ``output`` holds logits: N×C (the prediction is the argmax over dim 1) or, for a binary
    problem, N or N×1 (class 1 when the logit is above ``threshold``; use 0.5 for probabilities).
    ``target`` holds class indices (N, or N×1; floats 0.0/1.0 are fine for binary).
    """
    output = torch.as_tensor(output.detach() if isinstance(output, torch.Tensor) else output)
    target = torch.as_tensor(target.detach() if isinstance(target, torch.Tensor) else target)
    if output.ndim == 0 or output.ndim > 2:
        raise ValueError(f"accuracy(): `output` must have shape (N, C), (N, 1) or (N,), got {tuple(output.shape)}.")
    n = output.shape[0]
    if n == 0:
        raise ValueError("accuracy(): `output` is empty.")
    if target.ndim == 2 and target.shape[1] == 1:
        target = target[:, 0]
    if target.ndim != 1 or target.shape[0] != n:
        raise ValueError(f"accuracy(): `target` must hold one class per row of `output` ({n}), "
                         f"got shape {tuple(target.shape)}.")
    if output.ndim == 2 and output.shape[1] > 1:
        predicted = output.argmax(dim=1)
    else:
        predicted = (output.reshape(n) > threshold).long()
    target = target.to(predicted.device)
    if target.is_floating_point():
        target = target.round()
    return float((predicted == target.long()).float().mean().item())
