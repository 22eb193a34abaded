"""Workloads (3)-(5): MLP and LeNet-like conv training steps (forward, softmax
cross-entropy, backward, SGD), the same program in every library, from the same data.

Every ``make_*`` returns ``step(probe=False)``; probing returns ``(loss, dL/dW1)`` (the
gradient of the first weight, before the SGD update) so the runner can check that all
implementations compute the same thing.

Layout: ``h = x @ W + b`` with ``W`` of shape (in, out) in every library (no fused addmm
for anyone); the conv is 6 filters 5x5 on 1x28x28, ReLU, 2x2 max-pool, flatten (NCHW
order), linear to 10 classes.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

LR = 0.01
Step = Callable[..., Any]


# ------------------------------------------------------------------------------- data
def mlp_data(sizes: tuple[int, ...], batch: int, seed: int = 0) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        params.append((rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in))
                      .astype(np.float32))
        params.append(np.zeros(fan_out, np.float32))
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], batch).astype(np.int64)
    return {"params": params, "x": x, "y": y}


def conv_data(batch: int = 32, seed: int = 0) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    wc = (rng.standard_normal((6, 1, 5, 5)) / 5.0).astype(np.float32)
    bc = np.zeros(6, np.float32)
    wf = (rng.standard_normal((864, 10)) / np.sqrt(864)).astype(np.float32)
    bf = np.zeros(10, np.float32)
    x = rng.standard_normal((batch, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, batch).astype(np.int64)
    return {"params": [wc, bc, wf, bf], "x": x, "y": y}


def _im2col_index() -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices (24, 24, 5, 5) of every 5x5 window of a 28x28 image."""
    o = np.arange(24)
    k = np.arange(5)
    rows = o[:, None, None, None] + k[None, None, :, None]
    cols = o[None, :, None, None] + k[None, None, None, :]
    shape = (24, 24, 5, 5)
    return np.broadcast_to(rows, shape).copy(), np.broadcast_to(cols, shape).copy()


def _copy(d: dict[str, Any]) -> list[np.ndarray]:
    return [p.copy() for p in d["params"]]


# ------------------------------------------------------------------------- autograd_viz
def av_functional() -> Any:
    """``autograd_viz.nn.functional`` when it exists (being written), else None."""
    try:
        from autograd_viz.nn import functional as F
    except Exception:  # noqa: BLE001 - absent or half-written: use raw ops
        return None
    return F


def _av_ce(F: Any, logits: Any, y: Any) -> Any:
    if F is not None and hasattr(F, "cross_entropy"):
        return F.cross_entropy(logits, y)
    return -logits.log_softmax(1).gather(1, y.unsqueeze(1)).mean()


def _av_sgd(av: Any, params: list) -> None:
    with av.no_grad():
        for p in params:
            p.sub_(p.grad, alpha=LR)
            p.grad = None


def av_mlp(d: dict[str, Any], device: str = "cpu") -> Step:
    import autograd_viz as av

    F = av_functional()
    params = [av.tensor(p, requires_grad=True, device=device) for p in _copy(d)]
    x = av.tensor(d["x"], device=device)
    y = av.tensor(d["y"], device=device)
    n = len(params) // 2

    def step(probe: bool = False):
        h = x
        for i in range(n):
            h = h @ params[2 * i] + params[2 * i + 1]
            if i < n - 1:
                h = h.relu()
        loss = _av_ce(F, h, y)
        loss.backward()
        out = (loss.item(), params[0].grad.cpu().numpy().copy()) if probe else None
        _av_sgd(av, params)
        return out

    return step


def av_conv_uses_functional() -> bool:
    F = av_functional()
    return F is not None and hasattr(F, "conv2d") and hasattr(F, "max_pool2d")


def av_conv(d: dict[str, Any], device: str = "cpu") -> Step:
    import autograd_viz as av

    F = av_functional()
    wc, bc, wf, bf = params = [av.tensor(p, requires_grad=True, device=device)
                               for p in _copy(d)]
    x = av.tensor(d["x"], device=device)
    y = av.tensor(d["y"], device=device)
    nb = d["x"].shape[0]
    fused = av_conv_uses_functional()
    ri, ci = (av.tensor(i, device=device) for i in _im2col_index())

    def features():
        if fused:
            h = F.conv2d(x, wc, bc).relu()
            return F.max_pool2d(h, 2).flatten(1)
        # no nn.functional yet: im2col by indexing, one matmul, max-pool by reshape + amax
        cols = x.reshape(nb, 28, 28)[:, ri, ci].reshape(nb * 576, 25)
        h = (cols @ wc.reshape(6, 25).t() + bc).relu()
        h = h.reshape(nb, 12, 2, 12, 2, 6).amax(dim=(2, 4))
        return h.permute(0, 3, 1, 2).reshape(nb, 864)

    def step(probe: bool = False):
        loss = _av_ce(F, features() @ wf + bf, y)
        loss.backward()
        out = (loss.item(), wc.grad.cpu().numpy().copy()) if probe else None
        _av_sgd(av, params)
        return out

    return step


# ------------------------------------------------------------------------------- torch
def _torch_sgd(torch: Any, params: list) -> None:
    with torch.no_grad():
        for p in params:
            p.sub_(p.grad, alpha=LR)
            p.grad = None


def torch_mlp(d: dict[str, Any], device: str = "cpu") -> Step:
    import torch
    import torch.nn.functional as F

    params = [torch.tensor(p, requires_grad=True, device=device) for p in _copy(d)]
    x = torch.tensor(d["x"], device=device)
    y = torch.tensor(d["y"], device=device)
    n = len(params) // 2

    def step(probe: bool = False):
        h = x
        for i in range(n):
            h = h @ params[2 * i] + params[2 * i + 1]
            if i < n - 1:
                h = h.relu()
        loss = F.cross_entropy(h, y)
        loss.backward()
        out = (loss.item(), params[0].grad.cpu().numpy().copy()) if probe else None
        _torch_sgd(torch, params)
        return out

    return step


def torch_conv(d: dict[str, Any], device: str = "cpu") -> Step:
    import torch
    import torch.nn.functional as F

    wc, bc, wf, bf = params = [torch.tensor(p, requires_grad=True, device=device)
                               for p in _copy(d)]
    x = torch.tensor(d["x"], device=device)
    y = torch.tensor(d["y"], device=device)

    def step(probe: bool = False):
        h = F.max_pool2d(F.conv2d(x, wc, bc).relu(), 2).flatten(1)
        loss = F.cross_entropy(h @ wf + bf, y)
        loss.backward()
        out = (loss.item(), wc.grad.cpu().numpy().copy()) if probe else None
        _torch_sgd(torch, params)
        return out

    return step


# ------------------------------------------------------------------------------ MyGrad
def mygrad_mlp(d: dict[str, Any]) -> Step:
    import mygrad as mg
    from mygrad.nnet.activations import relu
    from mygrad.nnet.losses import softmax_crossentropy

    params = [mg.tensor(p) for p in _copy(d)]
    x, y = d["x"], d["y"]
    n = len(params) // 2

    def step(probe: bool = False):
        h = x
        for i in range(n):
            h = mg.matmul(h, params[2 * i]) + params[2 * i + 1]
            if i < n - 1:
                h = relu(h)
        loss = softmax_crossentropy(h, y)
        loss.backward()
        out = (loss.item(), np.array(params[0].grad)) if probe else None
        for p in params:
            p.data -= LR * p.grad
        return out

    return step


def mygrad_conv(d: dict[str, Any]) -> Step:
    import mygrad as mg
    from mygrad.nnet.activations import relu
    from mygrad.nnet.layers import conv_nd, max_pool
    from mygrad.nnet.losses import softmax_crossentropy

    wc, bc, wf, bf = params = [mg.tensor(p) for p in _copy(d)]
    x, y = d["x"], d["y"]
    nb = x.shape[0]

    def step(probe: bool = False):
        h = relu(conv_nd(x, wc, stride=1) + bc.reshape(1, 6, 1, 1))
        h = max_pool(h, (2, 2), 2).reshape(nb, 864)
        loss = softmax_crossentropy(mg.matmul(h, wf) + bf, y)
        loss.backward()
        out = (loss.item(), np.array(wc.grad)) if probe else None
        for p in params:
            p.data -= LR * p.grad
        return out

    return step


# ------------------------------------------------------------------------ HIPS autograd
def _hips_ce(anp: Any, logits: Any, y: np.ndarray) -> Any:
    m = anp.max(logits, axis=1, keepdims=True)
    lse = anp.log(anp.sum(anp.exp(logits - m), axis=1, keepdims=True)) + m
    return -anp.mean((logits - lse)[np.arange(len(y)), y])


def hips_mlp(d: dict[str, Any]) -> Step:
    import autograd.numpy as anp
    from autograd import value_and_grad

    state = {"params": _copy(d)}
    x, y = d["x"], d["y"]

    def loss_fn(params):
        h = x
        n = len(params) // 2
        for i in range(n):
            h = anp.dot(h, params[2 * i]) + params[2 * i + 1]
            if i < n - 1:
                h = anp.maximum(h, 0.0)
        return _hips_ce(anp, h, y)

    vg = value_and_grad(loss_fn)

    def step(probe: bool = False):
        loss, grads = vg(state["params"])
        state["params"] = [p - LR * g for p, g in zip(state["params"], grads)]
        return (float(loss), np.array(grads[0])) if probe else None

    return step


def hips_conv(d: dict[str, Any]) -> Step:
    import autograd.numpy as anp
    from autograd import value_and_grad

    state = {"params": _copy(d)}
    x, y = d["x"], d["y"]
    nb = x.shape[0]
    ri, ci = _im2col_index()

    def loss_fn(params):
        wc, bc, wf, bf = params
        cols = x.reshape(nb, 28, 28)[:, ri, ci].reshape(nb * 576, 25)
        h = anp.maximum(anp.dot(cols, anp.reshape(wc, (6, 25)).T) + bc, 0.0)
        h = anp.max(anp.reshape(h, (nb, 12, 2, 12, 2, 6)), axis=(2, 4))
        h = anp.reshape(anp.transpose(h, (0, 3, 1, 2)), (nb, 864))
        return _hips_ce(anp, anp.dot(h, wf) + bf, y)

    vg = value_and_grad(loss_fn)

    def step(probe: bool = False):
        loss, grads = vg(state["params"])
        state["params"] = [p - LR * g for p, g in zip(state["params"], grads)]
        return (float(loss), np.array(grads[0])) if probe else None

    return step


# ------------------------------------------------------------------------- plain NumPy
def _np_softmax_ce(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    m = logits.max(axis=1, keepdims=True)
    e = np.exp(logits - m)
    s = e.sum(axis=1, keepdims=True)
    rows = np.arange(len(y))
    loss = float(np.mean(np.log(s[:, 0]) + m[:, 0] - logits[rows, y]))
    g = e / s
    g[rows, y] -= 1
    return loss, g / len(y)


def numpy_mlp(d: dict[str, Any]) -> Step:
    """Hand-written forward, backward and SGD: the no-engine limit."""
    params = _copy(d)
    x, y = d["x"], d["y"]
    n = len(params) // 2

    def step(probe: bool = False):
        acts = [x]
        h = x
        for i in range(n):
            h = h @ params[2 * i] + params[2 * i + 1]
            if i < n - 1:
                h = np.maximum(h, 0)
                acts.append(h)
        loss, g = _np_softmax_ce(h, y)
        grads = [None] * len(params)
        for i in range(n - 1, -1, -1):
            grads[2 * i] = acts[i].T @ g
            grads[2 * i + 1] = g.sum(axis=0)
            if i:
                g = (g @ params[2 * i].T) * (acts[i] > 0)
        out = (loss, grads[0].copy()) if probe else None
        for p, gp in zip(params, grads):
            p -= LR * gp
        return out

    return step


def numpy_conv(d: dict[str, Any]) -> Step:
    from numpy.lib.stride_tricks import sliding_window_view

    wc, bc, wf, bf = params = _copy(d)
    x, y = d["x"], d["y"]
    nb = x.shape[0]

    def step(probe: bool = False):
        cols = sliding_window_view(x[:, 0], (5, 5), axis=(1, 2)).reshape(nb * 576, 25)
        z = cols @ wc.reshape(6, 25).T + bc
        r = np.maximum(z, 0).reshape(nb, 12, 2, 12, 2, 6)
        p = r.max(axis=(2, 4))
        mask = r == p[:, :, None, :, None, :]
        flat = p.transpose(0, 3, 1, 2).reshape(nb, 864)
        loss, g = _np_softmax_ce(flat @ wf + bf, y)
        gwf, gbf = flat.T @ g, g.sum(axis=0)
        dp = (g @ wf.T).reshape(nb, 6, 12, 12).transpose(0, 2, 3, 1)
        dz = (mask * dp[:, :, None, :, None, :]).reshape(nb * 576, 6) * (z > 0)
        gwc = (dz.T @ cols).reshape(6, 1, 5, 5)
        gbc = dz.sum(axis=0)
        out = (loss, gwc.copy()) if probe else None
        for q, gq in zip(params, (gwc, gbc, gwf, gbf)):
            q -= LR * gq
        return out

    return step


MLP_MAKERS = {"autograd_viz": av_mlp, "torch": torch_mlp, "mygrad": mygrad_mlp,
              "hips": hips_mlp, "numpy": numpy_mlp}
CONV_MAKERS = {"autograd_viz": av_conv, "torch": torch_conv, "mygrad": mygrad_conv,
               "hips": hips_conv, "numpy": numpy_conv}
