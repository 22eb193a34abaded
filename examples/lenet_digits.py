"""Train the seed's LeNet, adapted to 8x8 images, on scikit-learn's bundled digits data set
(no download) with autograd_viz; report held-out accuracy and time.

Run: .venv/bin/python examples/lenet_digits.py [--epochs 12] [--lr 0.01] [--seed 0]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import autograd_viz as av
from autograd_viz import nn, optim
from autograd_viz.nn import functional as F


class LeNet(nn.Module):
    """The seed's LeNet (conv-relu-pool twice, three linear layers) for 1x8x8 inputs:
    3x3 kernels with padding 1 instead of 5x5, so 8x8 -> 4x4 -> 2x2 before the classifier."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 3, padding=1)
        self.conv2 = nn.Conv2d(6, 16, 3, padding=1)
        self.fc1 = nn.Linear(16 * 2 * 2, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x: av.Tensor) -> av.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(x.size()[0], -1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def load_digits_split(seed: int = 0, test_fraction: float = 0.25) -> tuple:
    """(x_train, y_train, x_test, y_test) as float32 (N, 1, 8, 8) in [0, 1] and int64."""
    from sklearn.datasets import load_digits
    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None]
    y = digits.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(y))
    n_test = int(len(y) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]


def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    model.eval()
    with av.no_grad():
        pred = model(av.from_numpy(x)).argmax(1).numpy()
    model.train()
    return float((pred == y).mean())


def train(epochs: int = 12, batch_size: int = 32, lr: float = 0.01, seed: int = 0,
          limit: int | None = None, verbose: bool = True) -> tuple[nn.Module, float, float]:
    """Train; returns (model, held-out accuracy, seconds)."""
    av.manual_seed(seed)
    xtr, ytr, xte, yte = load_digits_split(seed)
    if limit is not None:
        xtr, ytr = xtr[:limit], ytr[:limit]
    model = LeNet()
    opt = optim.Adam(model.parameters(), lr=lr)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    for epoch in range(epochs):
        order = rng.permutation(len(ytr))
        total = 0.0
        for i in range(0, len(order), batch_size):
            idx = order[i:i + batch_size]
            opt.zero_grad()
            loss = loss_fn(model(av.from_numpy(xtr[idx])), av.from_numpy(ytr[idx]))
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        sched.step()
        if verbose:
            print(f"epoch {epoch + 1:2d}  loss {total / len(ytr):.4f}  "
                  f"held-out accuracy {accuracy(model, xte, yte):.4f}")
    seconds = time.perf_counter() - start
    return model, accuracy(model, xte, yte), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    model, acc, seconds = train(args.epochs, lr=args.lr, seed=args.seed)
    print(model)
    print(f"held-out accuracy {acc:.4f} after {args.epochs} epochs in {seconds:.1f} s")


if __name__ == "__main__":
    main()
