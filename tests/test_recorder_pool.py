"""The recorder writes copies of large values into reused memory (``viz/_pool.py``): a copy
must equal ``ndarray.copy()``, memory still referenced by any copy or view is never handed
out again, and what a recording shows never depends on the reuse."""
from __future__ import annotations

import numpy as np
import pytest

import autograd_viz as av
from autograd_viz import viz
from autograd_viz.viz import _pool


@pytest.fixture(autouse=True)
def _empty_pool():
    _pool.release()
    yield
    _pool.release()


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "complex64", "bool",
                                   "int64", "uint8"])
@pytest.mark.parametrize("layout", ["c", "transposed", "strided"])
def test_a_pooled_copy_is_a_plain_copy(dtype, layout):
    base = (np.arange(96 * 128) % 7 - 3).astype(dtype).reshape(96, 128)
    a = {"c": base, "transposed": base.T, "strided": base[::2, 1::3]}[layout]
    a = a if a.nbytes >= _pool.MIN_BYTES else np.tile(a, (8, 8))
    c = _pool.copy(a)
    assert c.dtype == a.dtype and c.shape == a.shape
    # (a transposed matrix keeps its layout: one block copied, not reordered)
    assert c.flags.f_contiguous if layout == "transposed" else c.flags.c_contiguous
    assert np.array_equal(c, a) and not np.shares_memory(c, a)
    assert c.flags.writeable


def test_small_and_non_numpy_values_are_plain_copies():
    small = np.ones(4, np.float32)
    assert _pool.copy(small).base is None
    assert _pool.held() == 0


def test_memory_in_use_is_never_handed_out_again():
    a = np.random.default_rng(0).standard_normal((64, 64))
    copies = [_pool.copy(a * k) for k in range(6)]
    views = [_pool.copy(a - k)[1:, ::2].T for k in range(3)]  # only a view of each is kept
    more = [_pool.copy(a + 100 * k) for k in range(6)]
    held = copies + views + more
    for i, x in enumerate(held):
        for y in held[i + 1:]:
            assert not np.shares_memory(x, y)
    for k, c in enumerate(copies):
        assert np.array_equal(c, a * k)
    for k, v in enumerate(views):
        assert np.array_equal(v, (a - k)[1:, ::2].T)


def test_dropped_copies_are_reused():
    a = np.ones((64, 64), np.float32)
    c = _pool.copy(a)
    first = c.__array_interface__["data"][0]
    held = _pool.held()
    del c
    d = _pool.copy(a * 2)
    assert d.__array_interface__["data"][0] == first and _pool.held() == held
    assert np.array_equal(d, a * 2)


def test_the_pool_keeps_at_most_its_cap(monkeypatch):
    monkeypatch.setattr(_pool, "CAP_BYTES", 3 * 64 * 64 * 4)
    a = np.ones((64, 64), np.float32)
    live = [_pool.copy(a) for _ in range(10)]  # past the cap: plain copies, not kept
    assert _pool.held() == 3 * a.nbytes
    assert all(np.array_equal(x, a) for x in live)
    _pool.release()
    assert _pool.held() == 0 and all(np.array_equal(x, a) for x in live)


def _record_chain(x):
    with viz.record() as rec:
        y = x
        for _ in range(3):
            y = (y * 2).tanh()
        y.sum().backward()
    return rec


def test_recordings_show_their_own_values_whatever_was_reused():
    x1 = av.full((64, 64), 0.1, requires_grad=True)
    rec1 = _record_chain(x1)
    x2 = av.full((64, 64), -0.3, requires_grad=True)
    rec2 = _record_chain(x2)  # rec1's copies are alive: none of their memory is reused
    g1, g2 = rec1.graph(), rec2.graph()
    for g, x, leaf in ((g1, 0.1, x1), (g2, -0.3, x2)):
        values, want = [x], np.float32(x)
        for _ in range(3):
            values.append(want * 2)
            want = np.tanh(want * 2)
            values.append(want)
        means = {round(t.value.stats.mean, 4) for t in g.tensors
                 if t.value is not None and t.value.stats is not None}
        assert {round(float(v), 4) for v in values} <= means
        names = {o.id: o.name for o in g.ops}
        acc = [s for s in g.runs[0].steps if names[s.op] == "AccumulateGrad"]
        assert acc and acc[0].grads_in[0].stats.mean == pytest.approx(
            float(leaf.grad.mean()), rel=1e-6)
    # once replayed, later recordings reuse the memory and stay right
    held = _pool.held()
    for _ in range(3):
        _record_chain(av.full((64, 64), 0.5, requires_grad=True)).graph()
    assert _pool.held() == held
