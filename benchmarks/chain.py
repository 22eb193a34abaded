"""Workloads (1), (2), (6): a 200-op elementwise chain ``y = tanh(y * a + b) - c`` repeated
50 times, then ``sum`` and backward; the gradients of all four leaves are computed.

Every ``make_*`` returns ``(step, forward)``: ``step(probe=False)`` runs forward+backward
(returning ``(loss, dL/dx)`` when probing) and ``forward(grad)`` runs the forward only, with
grad recording on or off.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

CYCLES = 50
N_OPS = 4 * CYCLES  # mul, add, tanh, sub per cycle


def arrays(shape: tuple[int, ...], seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.5, 1.0, shape)
    a = rng.uniform(0.9, 1.1, shape)
    b = rng.uniform(-0.1, 0.1, shape)
    c = rng.uniform(-0.05, 0.05, shape)
    return [v.astype(np.float32) for v in (x, a, b, c)]


Pair = tuple[Callable[..., object], Callable[[bool], object]]


def make_autograd_viz(arrs: list[np.ndarray]) -> Pair:
    import autograd_viz as av

    x, a, b, c = leaves = [av.tensor(v, requires_grad=True) for v in arrs]

    def fwd():
        y = x
        for _ in range(CYCLES):
            y = (y * a + b).tanh() - c
        return y

    def step(probe: bool = False):
        loss = fwd().sum()
        loss.backward()
        out = (loss.item(), x.grad.numpy().copy()) if probe else None
        for t in leaves:
            t.grad = None
        return out

    def forward(grad: bool):
        if grad:
            return fwd()
        with av.no_grad():
            return fwd()

    return step, forward


def make_torch(arrs: list[np.ndarray]) -> Pair:
    import torch

    x, a, b, c = leaves = [torch.tensor(v, requires_grad=True) for v in arrs]

    def fwd():
        y = x
        for _ in range(CYCLES):
            y = (y * a + b).tanh() - c
        return y

    def step(probe: bool = False):
        loss = fwd().sum()
        loss.backward()
        out = (loss.item(), x.grad.numpy().copy()) if probe else None
        for t in leaves:
            t.grad = None
        return out

    def forward(grad: bool):
        if grad:
            return fwd()
        with torch.no_grad():
            return fwd()

    return step, forward


def make_mygrad(arrs: list[np.ndarray]) -> Pair:
    import mygrad as mg

    x, a, b, c = [mg.tensor(v) for v in arrs]

    def fwd():
        y = x
        for _ in range(CYCLES):
            y = mg.tanh(y * a + b) - c
        return y

    def step(probe: bool = False):
        loss = mg.sum(fwd())
        loss.backward()
        return (loss.item(), np.array(x.grad)) if probe else None

    def forward(grad: bool):
        if grad:
            return fwd()
        with mg.no_autodiff:
            return fwd()

    return step, forward


def make_hips(arrs: list[np.ndarray]) -> Pair:
    import autograd.numpy as anp
    from autograd import value_and_grad

    params = tuple(arrs)

    def f(p):
        x, a, b, c = p
        y = x
        for _ in range(CYCLES):
            y = anp.tanh(y * a + b) - c
        return anp.sum(y)

    vg = value_and_grad(f)

    def step(probe: bool = False):
        loss, grads = vg(params)
        return (float(loss), np.array(grads[0])) if probe else None

    def forward(grad: bool):  # HIPS traces only inside grad(); plain calls are no-grad
        return f(params)

    return step, forward


def make_numpy(arrs: list[np.ndarray]) -> Pair:
    """Forward keeping what backward needs, and a hand-written backward: no engine at all."""
    x, a, b, c = arrs
    tanh = np.tanh

    def step(probe: bool = False):
        ys, ts = [], []
        y = x
        for _ in range(CYCLES):
            ys.append(y)
            t = tanh(y * a + b)
            ts.append(t)
            y = t - c
        loss = y.sum()
        g = np.ones_like(y)
        ga, gb, gc = np.zeros_like(a), np.zeros_like(b), np.zeros_like(c)
        for i in range(CYCLES - 1, -1, -1):
            gc -= g
            t = ts[i]
            g = g * (1 - t * t)
            gb += g
            ga += g * ys[i]
            g = g * a
        return (float(loss), g) if probe else None

    def forward(grad: bool):
        y = x
        for _ in range(CYCLES):
            y = tanh(y * a + b) - c
        return y

    return step, forward


MAKERS = {
    "autograd_viz": make_autograd_viz,
    "torch": make_torch,
    "mygrad": make_mygrad,
    "hips": make_hips,
    "numpy": make_numpy,
}
