"""Views share memory with their base, as in torch: a write to the base shows in the view,
a write through the view shows in the base; and which ops give views (``_base``)."""
from __future__ import annotations

import numpy as np
import pytest

import autograd_viz as av

VIEWS = {
    "view": lambda m, x: x.view(4, 3), "view_as": lambda m, x: x.view_as(m.ones(12)),
    "reshape": lambda m, x: x.reshape(2, 6), "flatten": lambda m, x: x.flatten(),
    "permute": lambda m, x: x.permute(1, 0), "transpose": lambda m, x: x.transpose(0, 1),
    "t": lambda m, x: x.t(), "T": lambda m, x: x.T, "unsqueeze": lambda m, x: x.unsqueeze(1),
    "squeeze": lambda m, x: x.unsqueeze(0).squeeze(0), "expand": lambda m, x: x[:1].expand(5, 4),
    "expand_as": lambda m, x: x[:, :1].expand_as(x), "select": lambda m, x: x[1],
    "slice": lambda m, x: x[:, 1:3], "step": lambda m, x: x[::2, ::3],
    "ellipsis": lambda m, x: x[..., 2], "none": lambda m, x: x[None, 1],
    "split": lambda m, x: x.split(2, 1)[1], "chunk": lambda m, x: x.chunk(3)[2],
    "unbind": lambda m, x: x.unbind(1)[3], "narrow": lambda m, x: x.narrow(1, 1, 2),
    "detach": lambda m, x: x.detach(), "contiguous": lambda m, x: x.contiguous(),
    "chain": lambda m, x: x.t()[1:].unsqueeze(0).transpose(0, 2)[0],
}
COPIES = {
    "reshape_copy": lambda m, x: x.t().reshape(12), "flatten_copy": lambda m, x: x.t().flatten(),
    "index_list": lambda m, x: x[[0, 2]], "mask": lambda m, x: x[x > 5],
    "contiguous_copy": lambda m, x: x.t().contiguous(), "clone": lambda m, x: x.clone(),
}


def _pair(m, fn):
    x = m.arange(12.0).reshape(3, 4)
    return x, fn(m, x)


@pytest.mark.parametrize("name", list(VIEWS))
def test_views_share_memory(torch, name) -> None:
    fn = VIEWS[name]
    bases = []
    for m in (torch, av):
        x, v = _pair(m, fn)
        x.add_(100)  # base -> view
        np.testing.assert_array_equal(v.numpy(), fn(m, x.clone()).numpy())
        if name not in ("expand", "expand_as"):  # (writing those overlaps itself)
            v.mul_(-1)  # view -> base
        bases.append(x.numpy())
    np.testing.assert_array_equal(bases[1], bases[0])


@pytest.mark.parametrize("name", list(COPIES))
def test_copies_do_not_share(torch, name) -> None:
    for m in (torch, av):
        x, c = _pair(m, COPIES[name])
        before = c.numpy().copy()
        x.add_(100)
        np.testing.assert_array_equal(c.numpy(), before)


@pytest.mark.parametrize("name", [n for n in list(VIEWS) + list(COPIES) if n != "detach"])
def test_is_view_like_torch(torch, name) -> None:
    """``_base`` is set exactly where torch sets it (the root tensor). (``detach()`` shares
    memory and the version counter but torch leaves its ``_base`` None; autograd_viz's
    ``Tensor.detach`` records the base.)"""
    fn = {**VIEWS, **COPIES}[name]
    (tx, tv), (ax, avv) = (_pair(m, fn) for m in (torch, av))
    assert (tv._base is not None) == (avv._base is not None)
    if tv._base is not None:
        assert (tv._base is tx) == (avv._base is ax)


def test_version_counter_is_shared(torch) -> None:
    """A write through any view invalidates tensors saved from the base (and vice versa)."""
    for m in (torch, av):
        x = m.ones(2, 3, requires_grad=True)
        y = x * 1
        z = y.t().sin()  # saves the view y.t()
        y[0, 0] = 5.0
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            z.sum().backward()


def test_view_made_under_no_grad_requires_grad_but_leads_nowhere(torch):
    """torch: a view taken under no_grad of a tensor that requires grad requires grad too,
    is a leaf without grad_fn, and ops on it have no edge back (no grad reaches anyone)."""
    def run(m):
        out = []
        for nonleaf in (False, True):
            x = m.ones(3, requires_grad=True)
            base = x * 1 if nonleaf else x
            with m.no_grad():
                v = base[:2]
            w = v * 2
            w.sum().backward()
            out.append((v.requires_grad, v.is_leaf, v.grad_fn is None, w.requires_grad,
                        [f is None for f, _ in w.grad_fn.next_functions], v.grad, x.grad,
                        v.detach().requires_grad, v.clone().requires_grad))
            with pytest.raises(RuntimeError, match="appears to not have been used"):
                m.autograd.grad((v * 2).sum(), v)
        with m.no_grad():
            plain = m.ones(3)[:2]
        out.append(plain.requires_grad)
        return out

    assert run(av) == run(torch)
