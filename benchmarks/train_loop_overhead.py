"""How much does the book's training loop cost on top of a bare PyTorch loop?

Both loops train the same LeNet from the same initial weights on the same batches in the same
order, and both evaluate on the test set after every epoch. The book's loop adds its progress
bar, its live plot (rendered to PNG after every epoch, exactly as in Jupyter), train-accuracy
bookkeeping and a checkpoint after every epoch. The script alternates the two loops, repeats,
and prints the median time of each and their ratio (goal: at most 1.05).

    .venv/bin/python benchmarks/train_loop_overhead.py [--repeats 7] [--epochs 3] [--images 6000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import TensorDataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from utils.data import fast_loader, load_fashion_mnist  # noqa: E402
from utils.runtime import device_name, get_device, seed_everything  # noqa: E402
from utils.train import train  # noqa: E402


def lenet() -> nn.Module:
    """LeNet-5 as in Dive into Deep Learning, Chapter 7 (sigmoid activations, average pooling)."""
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(), nn.AvgPool2d(2, 2),
        nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(), nn.AvgPool2d(2, 2),
        nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(),
        nn.Linear(120, 84), nn.Sigmoid(), nn.Linear(84, 10))


def bare_loop(model, train_iter, test_iter, epochs, optimizer, device):
    """The minimum: forward, loss, backward, step; then test accuracy once per epoch."""
    loss_fn = nn.CrossEntropyLoss()
    model.to(device)
    for _ in range(epochs):
        model.train()
        for X, y in train_iter:
            X, y = X.to(device), y.to(device)
            loss = loss_fn(model(X), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        model.eval()
        correct = 0
        with torch.no_grad():
            for X, y in test_iter:
                correct += (model(X.to(device)).argmax(1) == y.to(device)).sum().item()
    return correct / len(test_iter.dataset)


def timed(fn) -> float:
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    tic = time.perf_counter()
    fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - tic


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--images", type=int, default=6000)
    args = parser.parse_args()

    data = load_fashion_mnist(batch_size=256, n_train=args.images, n_test=2000)
    train_set = data.train.dataset
    if len(train_set) < args.images:
        # Offline, the fallback has fewer images than asked for. For timing, what matters is
        # how many images each loop processes, so the available ones are repeated; say so.
        index = torch.arange(args.images) % len(train_set)
        train_set = TensorDataset(*(t[index] for t in train_set.tensors))
        print(f"timing only: the {len(data.train.dataset):,} available training images are "
              f"repeated to make {args.images:,}")
    train_iter = fast_loader(train_set, 256, shuffle=True)
    device = get_device()
    print(f"data: {data}\ndevice: {device_name(device)}; {len(train_set):,} training images, "
          f"{args.epochs} epochs, {args.repeats} repeats")

    def fresh():
        seed_everything(0)
        model = lenet()
        return model, torch.optim.SGD(model.parameters(), lr=0.9)

    bare, book = [], []
    with tempfile.TemporaryDirectory() as folder:
        for repeat in range(args.repeats + 1):          # the first pair warms up and is dropped
            model, optimizer = fresh()
            t_bare = timed(lambda: bare_loop(model, train_iter, data.test, args.epochs, optimizer, device))
            model, optimizer = fresh()
            checkpoint = Path(folder) / f"bench{repeat}.pt"
            t_book = timed(lambda: train(model, train_iter, data.test, epochs=args.epochs,
                                         optimizer=optimizer, device=device, plot=True,
                                         checkpoint=checkpoint))
            if repeat:
                bare.append(t_bare)
                book.append(t_book)
            print(f"  run {repeat}{' (warm-up)' if not repeat else ''}: bare {t_bare:.2f} s, book {t_book:.2f} s")
    ratio = statistics.median(book) / statistics.median(bare)
    print(f"median bare loop {statistics.median(bare):.2f} s, median book loop {statistics.median(book):.2f} s")
    print(f"ratio book / bare = {ratio:.3f} (goal <= 1.05)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
