"""The fast conv / max-pool paths (``nn/_ops/conv.py``, ``nn/_ops/pooling.py``): the array-level
backward (``_fast_arrays``, used when backward builds no graph) gives bit-for-bit the gradients
of the Tensor-level ``backward`` (the ``create_graph=True`` path), the forward's kept patch
matrix is used and dropped, and values, indices and gradients agree with PyTorch, float32
and float64, for strides, padding, dilation, groups, overlapping windows, ties and NaN."""
from __future__ import annotations

import numpy as np
import pytest
from test_nn_helpers import assert_close

import autograd_viz as av

F = av.nn.functional
RNG = np.random.default_rng(11)

CONV_CASES = [
    dict(),
    dict(stride=2, padding=1),
    dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2)),
    dict(padding="same", dilation=2),
    dict(groups=2, padding=1),
    dict(stride=3, groups=2, dilation=(2, 1)),
]
POOL_CASES = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=1, padding=1),
    dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 1), ceil_mode=True),
    dict(kernel_size=3, stride=2, dilation=2),
    dict(kernel_size=2, stride=3),
    dict(kernel_size=1),
]


def _bits(t):
    if t is None:
        return None
    d = t._data if isinstance(t, av.Tensor) else t
    return d.dtype, d.shape, np.ascontiguousarray(d).tobytes()


def _arr(shape, dt):
    return RNG.standard_normal(shape).astype(dt)


def _check_fast(out):
    """``_fast_backward`` (the array formula) == ``backward`` on the same incoming grad."""
    node = out.grad_fn
    assert type(node)._fast_arrays is not None
    g = av.tensor(_arr(out.shape, out._data.dtype))
    with av.no_grad():
        got = node._fast_backward(g)
        want = node.backward(g)
    want = want if isinstance(want, tuple) else (want,)
    assert got is not None and len(got) == len(want)
    for a, b in zip(got, want):
        assert _bits(a) == _bits(b), node.name()


def _conv_inputs(kw, dt, bias=True, needs=(True, True, True)):
    groups = kw.get("groups", 1)
    x = av.tensor(_arr((2, 4, 9, 8), dt), requires_grad=needs[0])
    w = av.tensor(_arr((6, 4 // groups, 3, 2), dt), requires_grad=needs[1])
    b = av.tensor(_arr((6,), dt), requires_grad=needs[2]) if bias else None
    return x, w, b


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("kw", CONV_CASES)
@pytest.mark.parametrize("needs", [(True, True, True), (False, True, True),
                                   (True, False, False), (False, False, True)])
def test_conv_fast_backward_is_bitwise_backward(kw, dt, needs):
    for bias in (True, False):
        if not bias and not (needs[0] or needs[1]):
            continue
        x, w, b = _conv_inputs(kw, dt, bias, needs)
        _check_fast(F.conv2d(x, w, b, **kw))


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("kw", POOL_CASES)
@pytest.mark.parametrize("shape", [(2, 3, 9, 7), (3, 8, 8)])
def test_maxpool_fast_backward_is_bitwise_backward(kw, dt, shape):
    x = av.tensor(_arr(shape, dt), requires_grad=True)
    _check_fast(F.max_pool2d(x, **kw))


def _grads(create_graph, kw, dt):
    x, w, b = _conv_inputs(kw, dt)
    h = F.max_pool2d(F.conv2d(x, w, b, **kw).relu(), 2, 1)
    loss = (h * av.tensor(_arr(h.shape, dt))).sum()
    return av.autograd.grad(loss, (x, w, b), create_graph=create_graph)


@pytest.mark.parametrize("kw", CONV_CASES)
def test_engine_array_path_equals_create_graph_path(kw):
    """A whole conv -> relu -> pool chain: the engine's array path (no graph) and the
    Tensor-level path (``create_graph=True``) give the same bits."""
    for dt in (np.float32, np.float64):
        state = RNG.bit_generator.state
        fast = _grads(False, kw, dt)
        RNG.bit_generator.state = state
        slow = _grads(True, kw, dt)
        assert all(s.grad_fn is not None for s in slow)
        for a, b in zip(fast, slow):
            assert _bits(a) == _bits(b)


def test_patch_matrix_kept_for_weight_grad_and_released():
    x = av.tensor(_arr((2, 3, 8, 8), np.float32))
    w = av.tensor(_arr((4, 3, 3, 3), np.float32), requires_grad=True)
    y = F.conv2d(x, w)
    node = y.grad_fn
    assert node._cols is not None and node._cols.shape == (2, 1, 27, 36)
    y.sum().backward(retain_graph=True)
    assert node._cols is not None
    g1 = w.grad.numpy().copy()
    w.grad = None
    y.sum().backward()  # the kept patches serve a second backward too
    assert np.array_equal(w.grad.numpy(), g1)
    assert node._cols is None
    # no kept patches when the weight needs no grad
    y2 = F.conv2d(av.tensor(_arr((2, 3, 8, 8), np.float32), requires_grad=True), w.detach())
    assert y2.grad_fn._cols is None


def test_in_place_change_of_input_still_raises():
    x = av.tensor(_arr((1, 2, 5, 5), np.float64))
    w = av.tensor(_arr((3, 2, 3, 3), np.float64), requires_grad=True)
    y = F.conv2d(x, w)
    x.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


# ---------------------------------------------------------------------------- vs torch
def _torch_pair(torch, arr, rg=True):
    return av.tensor(arr, requires_grad=rg), torch.tensor(arr, requires_grad=rg)


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("kw", CONV_CASES)
def test_conv_matches_torch(torch, kw, dt):
    groups = kw.get("groups", 1)
    (xa, xt), (wa, wt), (ba, bt) = (_torch_pair(torch, _arr(s, dt)) for s in
                                    [(2, 4, 9, 8), (6, 4 // groups, 3, 2), (6,)])
    ya, yt = F.conv2d(xa, wa, ba, **kw), torch.nn.functional.conv2d(xt, wt, bt, **kw)
    g = _arr(tuple(yt.shape), dt)
    (ya * av.tensor(g)).sum().backward()
    (yt * torch.tensor(g)).sum().backward()
    tol = dict(rtol=1e-4, atol=1e-4) if dt == np.float32 else dict(rtol=1e-10, atol=1e-12)
    assert_close(ya, yt, **tol)
    for a, t in ((xa, xt), (wa, wt), (ba, bt)):
        assert_close(a.grad, t.grad, **tol)


@pytest.mark.parametrize("kw", CONV_CASES)
def test_conv_double_backward_matches_torch(torch, kw):
    groups = kw.get("groups", 1)
    (xa, xt), (wa, wt) = (_torch_pair(torch, _arr(s, np.float64)) for s in
                          [(2, 4, 9, 8), (6, 4 // groups, 3, 2)])
    outs = []
    for lib, f, x, w in ((av, F, xa, wa), (torch, torch.nn.functional, xt, wt)):
        y = f.conv2d(x, w, **kw)
        gx, gw = lib.autograd.grad((y ** 2).sum(), (x, w), create_graph=True)
        ((gx ** 2).sum() + (gw ** 3).sum()).backward()
        outs.append((x.grad, w.grad))
    for a, t in zip(*outs):
        assert_close(a, t, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("kw", POOL_CASES)
def test_maxpool_matches_torch_with_ties(torch, kw, dt):
    # small integers: many ties inside windows (PyTorch keeps the first)
    arr = RNG.integers(-2, 3, (2, 3, 9, 7)).astype(dt)
    xa, xt = _torch_pair(torch, arr)
    va, ia = F.max_pool2d(xa, return_indices=True, **kw)
    vt, it = torch.nn.functional.max_pool2d(xt, return_indices=True, **kw)
    assert np.array_equal(va.detach().numpy(), vt.detach().numpy())
    assert ia.dtype is av.int64 and np.array_equal(ia.numpy(), it.numpy())
    g = _arr(tuple(vt.shape), dt)
    (va * av.tensor(g)).sum().backward()
    (vt * torch.tensor(g)).sum().backward()
    assert_close(xa.grad, xt.grad, rtol=1e-6, atol=1e-6)


def test_maxpool_nan_follows_torch(torch):
    arr = _arr((1, 2, 6, 6), np.float64)
    arr[0, 0, 0, 0] = arr[0, 0, 1, 1] = np.nan  # two NaN in one window: the last one wins
    arr[0, 1, 2, 3] = np.nan
    arr[0, 1, 5, 5] = np.inf
    for kw in (dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1)):
        xa, xt = _torch_pair(torch, arr)
        va, ia = F.max_pool2d(xa, return_indices=True, **kw)
        vt, it = torch.nn.functional.max_pool2d(xt, return_indices=True, **kw)
        np.testing.assert_array_equal(va.detach().numpy(), vt.detach().numpy())
        assert np.array_equal(ia.numpy(), it.numpy())
        va.sum().backward()
        vt.sum().backward()
        np.testing.assert_array_equal(xa.grad.numpy(), xt.grad.numpy())


def test_maxpool_double_backward_matches_torch(torch):
    arr, garr = _arr((2, 2, 7, 7), np.float64), _arr((2, 2, 4, 4), np.float64)
    outs = []
    for lib, f in ((av, F), (torch, torch.nn.functional)):
        x = lib.tensor(arr, requires_grad=True)
        g = lib.tensor(garr, requires_grad=True)
        (gx,) = lib.autograd.grad(f.max_pool2d(x, 3, 2, 1), x, g, create_graph=True)
        (gx * lib.tensor(arr)).sum().backward()
        outs.append(g.grad)
    assert_close(outs[0], outs[1], rtol=1e-12, atol=0)


def test_lenet_step_matches_torch(torch):
    """The benchmark's LeNet-like step (float32): loss and every gradient."""
    x = _arr((8, 1, 28, 28), np.float32)
    y = RNG.integers(0, 10, 8)
    ps = [_arr((6, 1, 5, 5), np.float32) * 0.2, _arr((6,), np.float32) * 0.1,
          _arr((864, 10), np.float32) * 0.03, np.zeros(10, np.float32)]
    res = []
    for lib, f in ((av, F), (torch, torch.nn.functional)):
        wc, bc, wf, bf = (lib.tensor(p, requires_grad=True) for p in ps)
        h = f.max_pool2d(f.conv2d(lib.tensor(x), wc, bc).relu(), 2).flatten(1)
        loss = f.cross_entropy(h @ wf + bf, lib.tensor(y))
        loss.backward()
        res.append([loss] + [p.grad for p in (wc, bc, wf, bf)])
    for a, t in zip(*res):
        assert_close(a, t, rtol=1e-4, atol=1e-5)
