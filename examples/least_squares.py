"""The seed's least-squares fit (``get_fake_data``: y = 2x + 3 + noise) with autograd_viz:
first by hand, as in the tutorial (``w.data.sub_(lr * w.grad.data)``), then with
``nn.Linear``, ``nn.MSELoss`` and ``optim.SGD``. Both end near w = 2, b = 3.

Run: .venv/bin/python examples/least_squares.py
"""
from __future__ import annotations

import autograd_viz as t
from autograd_viz import nn, optim
from autograd_viz.autograd import Variable as V


def get_fake_data(batch_size: int = 8) -> tuple[t.Tensor, t.Tensor]:
    """x uniform in [0, 20), y = 2x + 3 + 3 * N(0, 1) (the seed's generator)."""
    x = t.rand(batch_size, 1) * 20
    y = x * 2 + 3 + 3 * t.randn(batch_size, 1)
    return x, y


def fit_by_hand(steps: int = 8000, lr: float = 0.001) -> tuple[float, float]:
    """The tutorial's loop: manual updates through ``.data`` and zeroing ``.grad.data``."""
    t.manual_seed(1000)
    w = V(t.rand(1, 1), requires_grad=True)
    b = V(t.zeros(1, 1), requires_grad=True)
    for _ in range(steps):
        x, y = get_fake_data()
        x, y = V(x), V(y)
        y_pred = x.mm(w) + b.expand_as(y)
        loss = 0.5 * (y_pred - y) ** 2
        loss = loss.sum()
        loss.backward()
        w.data.sub_(lr * w.grad.data)
        b.data.sub_(lr * b.grad.data)
        w.grad.data.zero_()
        b.grad.data.zero_()
    return w.item(), b.item()


def fit_with_nn(steps: int = 3000, lr: float = 0.002) -> tuple[float, float]:
    """The same fit with a Linear layer, MSELoss, SGD with momentum and a StepLR decay
    (the noisy mini-batches need a shrinking step to settle)."""
    t.manual_seed(1000)
    model = nn.Linear(1, 1)
    opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    sched = optim.lr_scheduler.StepLR(opt, step_size=steps // 3, gamma=0.3)
    loss_fn = nn.MSELoss()
    for _ in range(steps):
        x, y = get_fake_data()
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        sched.step()
    return model.weight.item(), model.bias.item()


def main() -> None:
    w, b = fit_by_hand()
    print(f"by hand:         w = {w:.3f}, b = {b:.3f}")
    w, b = fit_with_nn()
    print(f"Linear + SGD:    w = {w:.3f}, b = {b:.3f}")


if __name__ == "__main__":
    main()
