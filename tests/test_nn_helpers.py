"""Shared helpers for the nn/optim differential tests (imported by tests/test_nn_*.py and
tests/test_optim_*.py): moving tensors and weights between autograd_viz and torch, and
comparing a module's outputs and gradients with PyTorch's."""
from __future__ import annotations

from typing import Any

import numpy as np

import autograd_viz as av

RTOL, ATOL = 1e-10, 1e-12


def np_of(t: Any) -> np.ndarray:
    """A NumPy copy of an autograd_viz or torch tensor (or None)."""
    if t is None:
        return None
    if isinstance(t, av.Tensor):
        return np.array(t.detach().cpu().numpy())
    return t.detach().cpu().numpy().copy()


def av_of(t: Any, requires_grad: bool | None = None) -> av.Tensor:
    """An autograd_viz tensor with the values and dtype of the torch tensor ``t``."""
    a = np_of(t)
    rg = t.requires_grad if requires_grad is None else requires_grad
    return av.tensor(a, requires_grad=rg)


def assert_close(a: Any, b: Any, rtol: float = RTOL, atol: float = ATOL, what: str = "") -> None:
    """Values of two tensors (either library) agree."""
    x, y = np_of(a), np_of(b)
    assert x is not None and y is not None, f"{what}: one side is None ({x is None}, {y is None})"
    assert x.shape == y.shape, f"{what}: shape {x.shape} != {y.shape}"
    np.testing.assert_allclose(x, y, rtol=rtol, atol=atol, err_msg=what)


def copy_weights(av_module: Any, torch_module: Any) -> None:
    """Load the torch module's state into the autograd_viz module (same names)."""
    sd = {k: av.tensor(v.detach().numpy()) for k, v in torch_module.state_dict().items()}
    av_module.load_state_dict(sd)


def compare_module(torch: Any, av_mod: Any, t_mod: Any, *inputs: Any, rtol: float = RTOL,
                   atol: float = ATOL, seed: int = 0) -> tuple:
    """Run both modules (weights copied from torch) on the same float64 inputs, backpropagate
    the same random output gradient and compare outputs, input grads and parameter grads."""
    t_mod = t_mod.double()
    av_mod = av_mod.double()
    copy_weights(av_mod, t_mod)
    t_in = [x.detach().clone().requires_grad_(x.is_floating_point()) for x in inputs]
    a_in = [av_of(x) for x in t_in]
    t_out = t_mod(*t_in)
    a_out = av_mod(*a_in)
    t_flat, a_flat = _flatten(t_out), _flatten(a_out)
    assert len(t_flat) == len(a_flat)
    rng = np.random.default_rng(seed)
    t_loss, a_loss = 0, 0
    for i, (t, a) in enumerate(zip(t_flat, a_flat)):
        assert_close(a, t, rtol, atol, f"output {i}")
        g = rng.standard_normal(tuple(t.shape))
        t_loss = t_loss + (t * torch.tensor(g)).sum()
        a_loss = a_loss + (a * av.tensor(g)).sum()
    t_loss.backward()
    a_loss.backward()
    for i, (t, a) in enumerate(zip(t_in, a_in)):
        if t.requires_grad:
            assert_close(a.grad, t.grad, rtol, atol, f"input grad {i}")
    t_params = dict(t_mod.named_parameters())
    for name, p in av_mod.named_parameters():
        assert_close(p.grad, t_params[name].grad, rtol, atol, f"grad of {name}")
    return a_out, t_out


def _flatten(out: Any) -> list:
    if isinstance(out, (tuple, list)):
        res = []
        for o in out:
            res += _flatten(o)
        return res
    return [out] if out is not None else []


def chain_names(t: Any, depth: int = 4) -> list[str]:
    """Names along the first non-leaf path of ``t.grad_fn`` (both libraries)."""
    out = []
    node = t.grad_fn
    while node is not None and depth > 0:
        out.append(node.name())
        nxt = [f for f, _ in node.next_functions if f is not None
               and "AccumulateGrad" not in f.name()]
        node = nxt[0] if nxt else None
        depth -= 1
    return out


def test_helpers_roundtrip(torch):
    t = torch.randn(3, 2, dtype=torch.float64, requires_grad=True)
    a = av_of(t)
    assert a.requires_grad and a.dtype is av.float64
    assert_close(a, t)
