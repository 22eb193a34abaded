"""The plain path of ``NllLossBackward0`` (NumPy (N, C) input, no weight, targets in range:
one fancy index in forward, ``coef`` built in backward), its array-level backward
``_fast_arrays``, and ``cross_entropy``'s shortcut for class-index targets: the same bits as
the general path and as the Tensor-level ``backward``, torch's graph, torch's values."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import autograd_viz as av
from autograd_viz.autograd import engine
from autograd_viz.nn import functional as F
from autograd_viz.nn._ops import loss as L

RNG = np.random.default_rng(11)
REDUCTIONS = ("mean", "sum", "none")


def _bits(a):
    return a.dtype, a.shape, np.ascontiguousarray(a).tobytes()


def _logits(shape=(6, 5), dt=np.float32):
    return RNG.standard_normal(shape).astype(dt)


def _run(x, y, reduction, general, fn="cross_entropy", create_graph=False, **kw):
    """(loss, input grad) as arrays; ``general`` forces NllLoss's general path."""
    old = L._PLAIN_MAX_N
    if general:
        L._PLAIN_MAX_N = 0
    try:
        xt = av.tensor(x, requires_grad=True)
        out = getattr(F, fn)(xt, av.tensor(y), reduction=reduction, **kw)
        plain = getattr(_nll_node(out), "idx", None) is not None
        out.backward(av.ones_like(out), create_graph=create_graph)
    finally:
        L._PLAIN_MAX_N = old
    assert plain == (not general)
    return out._data.copy(), xt.grad._data.copy()


def _nll_node(out):
    node = out.grad_fn
    assert type(node).__name__ == "NllLossBackward0"
    return node


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("tdt", [np.int64, np.uint8])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("create_graph", [False, True])
def test_plain_path_gives_the_general_paths_bits(dt, tdt, reduction, fn, create_graph):
    x = _logits(dt=dt)
    y = RNG.integers(0, 5, 6).astype(tdt)
    fast = _run(x, y, reduction, False, fn, create_graph)
    slow = _run(x, y, reduction, True, fn, create_graph)
    for a, b in zip(fast, slow):
        assert _bits(a) == _bits(b)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(6, 5), (1, 3), (300, 10)])
def test_fast_arrays_match_tensor_backward(reduction, shape):
    """``_fast_arrays`` (engine, no graph) is ``backward`` (Tensor ops) on the same grad, for
    the plain path and for the general one (weight, ignore_index among the classes)."""
    x = av.tensor(_logits(shape), requires_grad=True)
    y = RNG.integers(0, shape[1], shape[0])
    w = av.tensor(RNG.uniform(0.5, 2, shape[1]).astype(np.float32))
    outs = [F.nll_loss(x, av.tensor(y), reduction=reduction),
            F.nll_loss(x, av.tensor(y), weight=w, reduction=reduction),
            F.nll_loss(x, av.tensor(y), ignore_index=int(y[0]), reduction=reduction)]
    for out in outs:
        node = _nll_node(out)
        g = RNG.uniform(-1, 1, out.shape).astype(np.float32)
        (fast,) = node._fast_arrays(g)
        with av.no_grad():
            want = node.backward(av.tensor(g))
            (fast_t,) = node._fast_backward(av.tensor(g))
        assert _bits(fast) == _bits(want._data) == _bits(fast_t._data)


def test_fast_arrays_hand_mixed_dtypes_back():
    x = av.tensor(_logits(), requires_grad=True)
    out = F.nll_loss(x, av.tensor(RNG.integers(0, 5, 6)))
    assert _nll_node(out)._fast_arrays(np.ones((), np.float64)) is None


def test_spatial_nll_keeps_its_fast_backward():
    x = av.tensor(_logits((2, 3, 4, 5)), requires_grad=True)
    out = F.nll_loss(x, av.tensor(RNG.integers(0, 3, (2, 4, 5))), reduction="none")
    node = out.grad_fn
    assert type(node).__name__ == "NllLoss2DBackward0"
    g = RNG.uniform(-1, 1, out.shape).astype(np.float32)
    with av.no_grad():
        want = node.backward(av.tensor(g))
    assert _bits(node._fast_arrays(g)[0]) == _bits(want._data)


def test_engine_array_and_tensor_modes_agree():
    """Grads as arrays between nodes (``_fast_arrays``) or as Tensors (``backward``)."""
    x = np.linspace(-2, 2, 32, dtype=np.float32).reshape(8, 4)
    got = []
    old = engine.ARRAY_GRADS
    try:
        for arrays in (True, False):
            engine.ARRAY_GRADS = arrays
            got.append(_run(x, np.arange(8) % 4, "mean", False))
    finally:
        engine.ARRAY_GRADS = old
    assert [_bits(a) for a in got[0]] == [_bits(a) for a in got[1]]


def test_graph_and_values_match_torch():
    x = _logits((16, 7))
    y = RNG.integers(0, 7, 16)
    xt = av.tensor(x, requires_grad=True)
    out = F.cross_entropy(xt, av.tensor(y))
    node = out.grad_fn
    assert node.name() == "NllLossBackward0"
    (lsm, _), = node.next_functions
    assert lsm.name() == "LogSoftmaxBackward0"
    assert lsm.next_functions[0][0].name() == "AccumulateGrad"
    out.backward()
    tx = torch.tensor(x, requires_grad=True)
    tout = torch.nn.functional.cross_entropy(tx, torch.tensor(y))
    tout.backward()
    assert [f[0].name() if f[0] else None for f in tout.grad_fn.next_functions] == \
        ["LogSoftmaxBackward0"]
    np.testing.assert_allclose(out._data, tout.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(xt.grad._data, tx.grad.numpy(), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("bad", [-1, 5, 7])
def test_target_out_of_range_raises_as_before(bad):
    y = np.zeros(6, np.int64)
    y[3] = bad
    with pytest.raises(IndexError, match=f"Target {bad} is out of bounds."):
        F.cross_entropy(av.tensor(_logits(), requires_grad=True), av.tensor(y))


def test_ignore_index_among_the_classes_takes_the_general_path():
    x = _logits()
    y = np.array([0, 1, 2, 2, 3, 4])
    xt = av.tensor(x, requires_grad=True)
    out = F.cross_entropy(xt, av.tensor(y), ignore_index=2)
    assert _nll_node(out).coef is not None  # (general: coef built in forward)
    out.backward()
    tx = torch.tensor(x, requires_grad=True)
    tout = torch.nn.functional.cross_entropy(tx, torch.tensor(y), ignore_index=2)
    tout.backward()
    np.testing.assert_allclose(out._data, tout.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(xt.grad._data, tx.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_writing_target_after_forward_changes_no_gradient():
    x = _logits()
    y = np.array([0, 1, 2, 3, 4, 0])
    want = _run(x, y.copy(), "mean", False)[1]
    xt = av.tensor(x, requires_grad=True)
    yt = av.tensor(y.copy())
    out = F.cross_entropy(xt, yt)
    yt._data[:] = 4
    out.backward()
    assert _bits(xt.grad._data) == _bits(want)


def test_double_backward_through_the_plain_path():
    x = av.tensor(_logits(), requires_grad=True)
    (g,) = av.autograd.grad(F.cross_entropy(x, av.tensor(np.arange(6) % 5)), x,
                            create_graph=True)
    (gg,) = av.autograd.grad((g * g).sum(), x)
    tx = torch.tensor(x._data, requires_grad=True)
    (tg,) = torch.autograd.grad(torch.nn.functional.cross_entropy(
        tx, torch.tensor(np.arange(6) % 5)), tx, create_graph=True)
    (tgg,) = torch.autograd.grad((tg * tg).sum(), tx)
    np.testing.assert_allclose(gg._data, tgg.numpy(), rtol=1e-4, atol=1e-7)
