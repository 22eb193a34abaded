"""A small RNN learns a toy memory task with autograd_viz: read a sequence of +-1 values and,
at the end, say whether the *first* one was +1 (the later ones are distractors).

Run: .venv/bin/python examples/rnn_toy.py [--steps 300] [--cell RNN|LSTM|GRU]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import autograd_viz as av
from autograd_viz import nn, optim


class Recaller(nn.Module):
    """A recurrent layer (RNN, LSTM or GRU) and a linear read-out of the last hidden state."""

    def __init__(self, cell: str = "RNN", hidden: int = 16) -> None:
        super().__init__()
        self.rnn = getattr(nn, cell)(1, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 2)

    def forward(self, x: av.Tensor) -> av.Tensor:
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


def batch(rng: np.random.Generator, n: int = 64, length: int = 6) -> tuple:
    """(x (n, length, 1) of +-1 values, y = 1 where x[:, 0] is +1)."""
    x = rng.choice([-1.0, 1.0], size=(n, length, 1)).astype(np.float32)
    return av.from_numpy(x), av.from_numpy((x[:, 0, 0] > 0).astype(np.int64))


def train(steps: int = 300, cell: str = "RNN", lr: float = 0.01, seed: int = 0,
          verbose: bool = True) -> tuple[nn.Module, float, float]:
    """Train; returns (model, accuracy on fresh sequences, seconds)."""
    av.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = Recaller(cell)
    opt = optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    start = time.perf_counter()
    for step in range(steps):
        x, y = batch(rng)
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        if verbose and (step + 1) % 50 == 0:
            print(f"step {step + 1:4d}  loss {loss.item():.4f}")
    seconds = time.perf_counter() - start
    x, y = batch(np.random.default_rng(seed + 1), n=1000)
    with av.no_grad():
        acc = float((model(x).argmax(1).numpy() == y.numpy()).mean())
    return model, acc, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--cell", default="RNN", choices=["RNN", "LSTM", "GRU"])
    args = parser.parse_args()
    model, acc, seconds = train(args.steps, args.cell)
    print(model)
    print(f"accuracy on 1000 fresh sequences {acc:.3f} after {args.steps} steps "
          f"in {seconds:.1f} s")


if __name__ == "__main__":
    main()
