"""The C helper of the recorder's summaries (``autograd_viz/viz/_summary.c``) gives NumPy's
path's histogram counts and edge elements exactly and its statistics to ~1e-15, hands back
what it does not take (NaN, infinity, one repeated value, an overflowing range, other
dtypes), and is built wherever the package is installed with a C compiler at hand."""
from __future__ import annotations

import math
import shutil
import sysconfig
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd_viz as av
from autograd_viz import viz
from autograd_viz.viz import bulk, preview

C = preview._summarise_c
needs_c = pytest.mark.skipif(C is None, reason="the C helper was not built (no C compiler "
                                               "when the package was installed)")


def test_the_helper_is_built_where_a_compiler_is_at_hand():
    """`make install` builds it (setup.py): a silent build failure would leave every
    recording on the slower NumPy path."""
    if not (shutil.which("cc") or shutil.which("gcc")):
        pytest.skip("no C compiler on this machine: the package runs without the helper")
    if not Path(sysconfig.get_paths()["include"], "Python.h").exists():
        pytest.skip("no Python headers (Python.h) for this interpreter: the package runs "
                    "without the helper (Debian: apt-get install python3-dev)")
    assert preview.accelerated(), "autograd_viz/viz/_summary.c was not built"


@pytest.fixture
def numpy_path(monkeypatch):
    """Summaries by NumPy alone, as on a machine where the helper was not built."""
    monkeypatch.setattr(preview, "_summarise_c", None)


def _numpy_snapshot(a):
    saved, preview._summarise_c = preview._summarise_c, None
    try:
        return preview.snapshot(a)
    finally:
        preview._summarise_c = saved


def _assert_same_summary(c, n):
    assert (c.shape, c.dtype, c.cut) == (n.shape, n.dtype, n.cut)
    assert c.array.dtype == n.array.dtype and np.array_equal(c.array, n.array, equal_nan=True)
    for f in ("min", "max"):
        assert getattr(c.stats, f) == getattr(n.stats, f) or (
            math.isnan(getattr(c.stats, f)) and math.isnan(getattr(n.stats, f)))
    for f in ("mean", "std"):
        a, b = getattr(c.stats, f), getattr(n.stats, f)
        assert a == pytest.approx(b, rel=1e-12, abs=1e-300, nan_ok=True), f
    assert (c.hist is None) == (n.hist is None)
    if c.hist is not None:
        assert c.hist.counts == n.hist.counts
        assert c.hist.edges == n.hist.edges


@needs_c
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(65,), (64, 3), (3, 32), (20, 32), (2, 3, 20), (257,),
                                   (64, 128), (784, 128), (70000,)])
def test_snapshot_with_the_helper_equals_numpys(shape, dtype):
    rng = np.random.default_rng([math.prod(shape), np.dtype(dtype).itemsize])
    cases = [rng.standard_normal(shape) * 0.05,
             rng.standard_normal(shape) * 1e4 + 300,
             np.round(rng.uniform(-3, 3, shape)),  # values on the bins' edges
             rng.uniform(0, 1, shape) ** 8]  # crowded at one end
    for a in cases:
        a = a.astype(dtype)
        _assert_same_summary(preview.snapshot(a), _numpy_snapshot(a))


@needs_c
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_values_the_helper_hands_back(dtype):
    """NaN and infinity (NumPy's path bins the finite values), one repeated value (NumPy's
    path widens the range) and a range wider than the largest float64 (NumPy's path halves
    the values): the helper says so, and the snapshot is NumPy's."""
    big = np.finfo(dtype).max
    a = np.linspace(-1, 1, 100).astype(dtype)
    nan, inf, ninf, one, wide = (a.copy() for _ in range(5))
    nan[3], inf[-1], ninf[0] = np.nan, np.inf, -np.inf
    one[...] = 1.5
    wide[0], wide[1] = -big, big
    assert C(nan, 20) is None and C(inf, 20) is None and C(ninf, 20) is None
    assert C(one, 20)[4] is None
    # (float64's range overflows; float32's does not, in float64 arithmetic: the helper bins it)
    assert (C(wide, 20) is None) == (dtype is np.float64)
    assert C(np.zeros(0, dtype), 20) is None
    for v in (nan, inf, ninf, one, wide):
        _assert_same_summary(preview.snapshot(v), _numpy_snapshot(v))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_subnormal_range_is_binned_on_both_paths(dtype):
    """Values a subnormal apart: bins / (max - min) overflows. The helper hands them back
    (an infinite scale would have indexed outside its tables: a crash, not an error), and
    NumPy's path divides by the range instead (its bincount refused the NaN slots)."""
    tiny = np.nextafter(dtype(0), dtype(1))
    a = np.zeros(100, dtype)
    a[1] = a[7] = tiny
    if C is not None and dtype is np.float64:
        assert C(a, 20) is None
    for s in (preview.snapshot(a), _numpy_snapshot(a)):
        assert (s.stats.min, s.stats.max) == (0.0, float(tiny))
        assert s.hist.counts == [98] + [0] * 18 + [2]


@needs_c
def test_the_helper_refuses_what_it_cannot_read():
    with pytest.raises(TypeError, match="float32 or float64"):
        C(np.ones(100, np.float16), 20)
    with pytest.raises(TypeError, match="float32 or float64"):
        C(np.ones(100, np.int64), 20)
    with pytest.raises((ValueError, BufferError)):
        C(np.ones((100, 100))[:, ::2], 20)  # not C-contiguous
    with pytest.raises(ValueError, match="bins"):
        C(np.ones(100), 0)
    # (what snapshot hands it: C-contiguous float32/float64 only; the rest takes NumPy's path)
    for a in (np.arange(200, dtype=np.float16), np.arange(200), np.ones((30, 30)).T[::2],
              np.arange(100) > 50):
        _assert_same_summary(preview.snapshot(a), _numpy_snapshot(a))


@needs_c
def test_a_transposed_copy_is_summarised_in_its_memory_order():
    """The recorder copies a transposed matrix (``W.t()``'s output) in its own layout; the
    helper reads it as stored: the same min, max and counts, the mean summed in memory
    order (as a rearranged view's is), and the edge elements of the logical array."""
    w = np.random.default_rng(3).standard_normal((128, 784)).astype(np.float32)
    t = np.asfortranarray(w.T)
    assert t.flags.f_contiguous and not t.flags.c_contiguous
    _assert_same_summary(preview.snapshot(t), _numpy_snapshot(t))
    assert preview.summarise_c(t) == preview.summarise_c(w)  # (w's memory: the same order)
    assert preview.summarise_c(w[:, ::2]) is None  # (neither layout: NumPy's steps)
    _assert_same_summary(preview.snapshot(w[:, ::2]), _numpy_snapshot(w[:, ::2]))


@needs_c
@settings(max_examples=60, deadline=None)
@given(hnp.arrays(st.sampled_from([np.float32, np.float64]),
                  hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=40),
                  elements=st.floats(-1e6, 1e6, width=32)))
def test_any_finite_values_give_numpys_counts(a):
    if a.size <= preview.SMALL_NUMEL:
        a = np.concatenate([a.reshape(-1)] * (preview.SMALL_NUMEL // a.size + 1))
    _assert_same_summary(preview.snapshot(a), _numpy_snapshot(a))


@needs_c
@pytest.mark.parametrize("shape", [(65,), (64, 3), (20, 32), (64, 64)])
def test_bulk_with_the_helper_equals_one_by_one(shape):
    """``bulk.snapshots`` takes each copy's summary from the helper and the edge elements
    of all at once: the snapshots ``snapshot`` makes one by one, bit for bit."""
    rng = np.random.default_rng(len(shape))
    arrs = [rng.standard_normal(shape).astype(np.float32) for _ in range(6)]
    arrs[1][...] = 2.0
    arrs[2].flat[0] = np.nan
    for a, s in zip(arrs, bulk.snapshots(arrs)):
        o = preview.snapshot(a)
        assert (s.stats, s.hist.counts, s.cut) == (o.stats, o.hist.counts, o.cut) or (
            a is arrs[2] and s.stats.mean != s.stats.mean)
        assert np.array_equal(s.array, o.array, equal_nan=True)


def _recorded_loop(monkeypatch, helper: bool):
    """A recorded 3-step loop of an MLP 300-90-10 (batch 32): its weights (and ``W.t()``'s
    transposed copies) are summarised one by one, its activations in bulk."""
    monkeypatch.setattr(preview, "_summarise_c", C if helper else None)
    av.manual_seed(0)
    model = av.nn.Sequential(av.nn.Linear(300, 90), av.nn.ReLU(), av.nn.Linear(90, 10))
    opt = av.optim.SGD(model.parameters(), lr=0.1)
    x, y = av.randn(32, 300), av.randint(0, 10, (32,))
    with viz.record() as rec:
        for _ in range(3):
            opt.zero_grad()
            av.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
    g = rec.graph()
    previews = [p for t in g.tensors for p in (t.value, t.grad) if p is not None]
    previews += [p for r in g.runs for s in r.steps for p in (*s.grads_in, *s.grads_out)
                 if p is not None]
    return viz.to_text(g), previews


@needs_c
def test_a_recording_reads_the_same_with_and_without_the_helper(monkeypatch):
    text, with_c = _recorded_loop(monkeypatch, True)
    assert sum(p.hist is not None and p.shape == [300, 90] for p in with_c) >= 3
    text_np, without = _recorded_loop(monkeypatch, False)
    assert text == text_np and len(with_c) == len(without)
    for a, b in zip(with_c, without):
        assert (a.shape, a.dtype, a.values) == (b.shape, b.dtype, b.values)
        assert (a.hist and a.hist.counts) == (b.hist and b.hist.counts)
        if a.stats is not None:
            assert (a.stats.min, a.stats.max) == (b.stats.min, b.stats.max)
            assert a.stats.mean == pytest.approx(b.stats.mean, rel=1e-12, abs=1e-300)
            assert a.stats.std == pytest.approx(b.stats.std, rel=1e-12, abs=1e-300)
