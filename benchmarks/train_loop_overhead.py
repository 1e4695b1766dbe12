"""How much does the book's training loop cost on top of a bare PyTorch loop?

Both loops train the same LeNet from the same initial weights on the same batches in the same
order, and both evaluate on the test set after every epoch. The book's loop adds its progress
bar, train-accuracy bookkeeping, a checkpoint after every epoch and, in Jupyter, its live plot.
The script times the bare loop, the book's loop as a script runs it, and the book's loop with
the live plot rendered exactly as in Jupyter; it interleaves them, repeats, and prints the
ratios to the bare loop (goal: at most 1.05).

    .venv/bin/python benchmarks/train_loop_overhead.py [--repeats 7] [--epochs 3] [--images 6000]
"""

from __future__ import annotations

import argparse
import contextlib
import io
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

    def run_bare():
        model, optimizer = fresh()
        return timed(lambda: bare_loop(model, train_iter, data.test, args.epochs, optimizer, device))

    def run_book(plot, checkpoint):
        model, optimizer = fresh()
        with contextlib.redirect_stdout(io.StringIO()):     # its summary line, still printed
            return timed(lambda: train(model, train_iter, data.test, epochs=args.epochs,
                                       optimizer=optimizer, device=device, plot=plot,
                                       checkpoint=checkpoint))

    times = {"bare loop": [], "book loop, as in a script": [], "book loop with live plot": []}
    with tempfile.TemporaryDirectory() as folder:
        for repeat in range(args.repeats + 1):          # round 0 warms up and is dropped
            ckpt = lambda name: Path(folder) / f"{name}{repeat}.pt"
            round_times = [run_bare(), run_book(False, ckpt("script")), run_book(True, ckpt("plot"))]
            if repeat:
                for name, t in zip(times, round_times):
                    times[name].append(t)
            print(f"  round {repeat}{' (warm-up)' if not repeat else ''}: " +
                  ", ".join(f"{t:.2f} s" for t in round_times), flush=True)
    # This machine's timings are noisy (a shared virtual machine): the minimum over interleaved
    # repeats is the most stable estimate of what each loop costs; the median is shown too.
    best_bare = min(times["bare loop"])
    for name, values in times.items():
        print(f"{name:26s} min {min(values):.3f} s, median {statistics.median(values):.3f} s, "
              f"ratio to bare {min(values) / best_bare:.3f}")
    plot_cost = min(times["book loop with live plot"]) - min(times["book loop, as in a script"])
    print(f"the live plot's final drawing costs about {plot_cost * 1000:.0f} ms once per run")
    ratio = min(times["book loop with live plot"]) / best_bare
    print(f"ratio book / bare = {ratio:.3f} (goal <= 1.05)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
