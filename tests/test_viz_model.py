"""The graph model on its own: previews formatted like torch, JSON round trips, look-ups."""
from __future__ import annotations

import contextlib
import json
import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd_viz as av
from autograd_viz import _tensor_str
from autograd_viz.viz.model import (
    BackwardRun,
    BackwardStep,
    Edge,
    GradEvent,
    Graph,
    Hist,
    HookCall,
    OpNode,
    Preview,
    RetainCapture,
    SavedRef,
    TensorNode,
)
from autograd_viz.viz.preview import (
    HIST_BINS,
    SMALL_NUMEL,
    format_tensor,
    preview_array,
    snapshot,
)

finite32 = st.floats(-1e9, 1e9, allow_nan=False, width=32)
any32 = st.floats(width=32)


@settings(max_examples=200)
@given(hnp.arrays(np.float32, hnp.array_shapes(min_dims=0, max_dims=3, max_side=4), elements=any32))
def test_small_preview_prints_like_the_engine(a):
    """Small tensors print exactly as the engine prints them (which equals torch)."""
    assert preview_array(a).text == repr(av.tensor(a))


@given(st.lists(finite32, min_size=0, max_size=12))
def test_fast_vector_path_matches_engine_printer(vals):
    a = np.array(vals, dtype=np.float32)
    assert format_tensor(a) == repr(av.tensor(a))


special32 = any32 | st.sampled_from([0.0, -0.0, 1e8, 1e8 + 8, 1e-4, 9.9e-5, 123.0, 7.0])


@settings(max_examples=300)
@given(hnp.arrays(st.sampled_from([np.float32, np.float64]),
                  hnp.array_shapes(min_dims=2, max_dims=2, max_side=9), elements=special32))
def test_fast_matrix_path_matches_engine_printer(a):
    """Matrices (most weight and gradient previews) print as the engine prints them."""
    assert format_tensor(a) == _engine_print(a)


@settings(max_examples=150, deadline=None)
@given(hnp.arrays(st.sampled_from([np.float32, np.float64]),
                  st.tuples(st.integers(1, 40), st.integers(1, 40)) | st.tuples(
                      st.integers(65, 300)), elements=special32))
def test_summarised_matrix_preview_matches_engine_printer(a):
    """Above SMALL_NUMEL a vector or matrix preview prints its edges as the engine prints a tensor
    above its threshold (edges around ``...``, the format measured on the edges only)."""
    if a.size <= SMALL_NUMEL:
        return
    with _threshold(SMALL_NUMEL):
        want = _engine_print(a)
    assert preview_array(a).text == want


def _engine_print(a):
    """The engine's print of ``a`` without the dtype suffix float64 tensors carry."""
    return re.sub(r",\s*dtype=autograd_viz\.float64\)$", ")", repr(av.tensor(a)))


@contextlib.contextmanager
def _threshold(n):
    old = _tensor_str.PRINT_OPTS.threshold
    _tensor_str.PRINT_OPTS.threshold = n
    try:
        yield
    finally:
        _tensor_str.PRINT_OPTS.threshold = old


@given(st.floats(width=32) | st.sampled_from([0.0, -0.0, 1e8, 1e8 + 8, 1e-4, 9.9e-5, 123.0]),
       st.sampled_from([np.float32, np.float64]), st.booleans())
def test_one_value_prints_like_the_engine(v, dtype, zero_d):
    """A tensor of one value (most recorded previews) prints as the engine prints it:
    ints with a dot, sci above 1e8 and below 1e-4, inf/nan bare, for 0-d and 1-d."""
    a = np.array(v if zero_d else [v], dtype=dtype)
    want = repr(av.tensor(a)).replace(", dtype=autograd_viz.float64", "")
    assert format_tensor(a) == want


@given(st.floats(width=32), st.sampled_from([np.float32, np.float64]),
       st.sampled_from([(), (1,)]))
def test_one_value_preview_is_the_general_preview(v, dtype, shape):
    """The direct path for one-element previews makes the Preview the general path makes."""
    from autograd_viz.viz.preview import Snapshot, one_value_preview

    a = np.full(shape, v, dtype=dtype)
    general = Snapshot(a.shape, a.dtype.name, a, (False,) * a.ndim, None)
    general._preview = None
    text = repr(av.tensor(a)).replace(", dtype=autograd_viz.float64", "")  # the engine's
    want = Preview(shape=list(shape), dtype=a.dtype.name, text=text, values=a.tolist())
    # (compared by repr: a NaN value is never == another NaN object)
    assert repr(one_value_preview(a)) == repr(want)
    assert repr(snapshot(a).preview()) == repr(want) == repr(general.preview())


def test_one_value_preview_leaves_other_arrays_to_the_general_path():
    from autograd_viz.viz.preview import one_value_preview

    for a in (np.ones((1, 1), np.float32), np.ones(1, np.float16), np.ones(1, np.int64),
              np.ones(1, bool), np.ones(1, np.complex64)):
        assert one_value_preview(a) is None
        assert snapshot(a).preview().text == format_tensor(a)


@pytest.mark.parametrize("shape", [(100,), (10, 30), (3, 40, 2), (7, 7, 7), (65,)])
def test_large_preview_is_summarised_like_the_engine(shape, monkeypatch):
    """Above SMALL_NUMEL a preview keeps the edges and the statistics, and its text is the
    engine's summarised print (torch's, with a smaller threshold)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal(shape).astype(np.float32)
    p = preview_array(a)
    monkeypatch.setattr(_tensor_str.PRINT_OPTS, "threshold", SMALL_NUMEL)
    assert p.text == repr(av.tensor(a))
    assert p.values is None
    assert p.shape == list(shape)
    assert p.stats is not None
    assert p.stats.min == pytest.approx(float(a.min()))
    assert p.stats.max == pytest.approx(float(a.max()))
    assert p.stats.mean == pytest.approx(float(a.astype(np.float64).mean()))
    assert p.stats.std == pytest.approx(float(a.astype(np.float64).std()))


def test_small_preview_keeps_values_and_other_dtypes():
    p = preview_array(np.arange(6, dtype=np.float32).reshape(2, 3))
    assert p.values == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert p.dtype == "float32" and p.shape == [2, 3] and p.stats is None
    assert preview_array(np.array([1, 2, 3])).text == "tensor([1, 2, 3])"
    assert preview_array(np.array([True, False])).text == "tensor([ True, False])"
    assert preview_array(np.zeros((0, 3), np.float32)).text == "tensor([], size=(0, 3))"
    assert preview_array(np.array(3.0, np.float32)).text == "tensor(3.)"


def test_snapshot_is_a_copy():
    a = np.array([1.0, 2.0], np.float32)
    s = snapshot(a)
    a[0] = 99
    assert s.preview().values == [1.0, 2.0]


def test_large_preview_has_a_histogram_taken_at_snapshot_time():
    a = np.arange(100, dtype=np.float32)
    s = snapshot(a)
    a[:] = 0  # later in-place changes do not reach the copy
    h = s.preview().hist
    assert h.counts == [5] * HIST_BINS and h.total == 100
    assert h.edges[0] == 0.0 and h.edges[-1] == 99.0 and len(h.edges) == HIST_BINS + 1
    assert preview_array(np.ones(SMALL_NUMEL, np.float32)).hist is None  # kept in full
    b = np.arange(100, dtype=np.float64)
    b[:3] = [math.nan, math.inf, -math.inf]  # counted: the finite values only
    h = preview_array(b).hist
    assert h.total == 97 and (h.edges[0], h.edges[-1]) == (3.0, 99.0)
    assert preview_array(np.full(100, math.nan)).hist is None
    h = preview_array(np.full(100, 7.0)).hist  # all equal: one bin in the middle
    assert (h.edges[0], h.edges[-1], h.counts[HIST_BINS // 2]) == (6.5, 7.5, 100)
    assert preview_array(np.arange(100) % 2 == 0).hist.counts[::HIST_BINS - 1] == [50, 50]
    assert preview_array(np.ones(100, np.complex64)).hist is None


def _full_graph() -> Graph:
    val = preview_array(np.array([2.0], np.float32))
    big = preview_array(np.arange(200, dtype=np.float32))
    nanp = preview_array(np.array([math.nan, math.inf, -math.inf], np.float32))
    return Graph(
        tensors=[
            TensorNode("t0", "x", [1], "float32", "cpu", True, True, "leaf", value=val, grad=val),
            TensorNode("t1", None, [200], "float32", "cpu", False, True, "constant", value=big),
            TensorNode("t2", "y", [3], "float32", "cpu", True, False, "intermediate",
                       is_output=True, grad_fn="op1", value=nanp,
                       grad_note="non-leaf, no retain_grad"),
        ],
        ops=[
            OpNode("op0", "AccumulateGrad", "accumulate", variable="t0"),
            OpNode("op1", "MulBackward0", next_functions=[("op0", 0), (None, 0)],
                   inputs=["t0", "t1"], outputs=["t2"], saved=[SavedRef("self", "t0")]),
        ],
        edges=[Edge("t0", "op0", "variable"), Edge("op0", "op1", "next", 0),
               Edge("t1", "op1", "constant", 1), Edge("op1", "t2", "output", 0),
               Edge("t0", "op1", "saved", label="self")],
        runs=[BackwardRun(
            "run0", "backward", roots=["t2"], grad_roots=[val],
            steps=[BackwardStep(1, "op1", [val], [val, None])],
            hooks=[HookCall(0, "run0", "t2", "tensor", "tensor", [val], None, "hi\n")],
            retained=[RetainCapture("run0", "t2", val)], accumulated=["t0"], finished=True,
        )],
        grad_history={"t0": [GradEvent("t0", "accumulate", "run0", None, val),
                             GradEvent("t0", "reset", None, "zero_", val)]},
        incomplete=True, error="ValueError: boom", notes=["a note"],
    )


def test_json_round_trip_is_exact_and_strict():
    g = _full_graph()
    text = g.to_json()
    data = json.loads(text)  # strict JSON: NaN/inf are strings
    assert data["tensors"][2]["value"]["values"] == ["nan", "inf", "-inf"]
    back = Graph.from_json(text)
    assert back.to_dict().keys() == g.to_dict().keys()
    assert back.tensors[2].value.values[0] != back.tensors[2].value.values[0]  # nan again
    assert back.tensors[2].value.values[1:] == [math.inf, -math.inf]
    back.tensors[2].value.values = g.tensors[2].value.values = None
    assert back == g
    assert back.ops[1].next_functions == [("op0", 0), (None, 0)]
    assert Graph.from_dict(g.to_dict()) == g


def test_json_is_deterministic_and_plain():
    assert _full_graph().to_json() == _full_graph().to_json()
    d = _full_graph().to_dict()
    assert isinstance(d["tensors"][0], dict) and d["tensors"][0]["id"] == "t0"
    json.dumps(d, allow_nan=True)


def test_lookups():
    g = _full_graph()
    assert g.tensor("x").id == "t0" and g.tensor("t2").name == "y"
    assert g.op("op1").name == "MulBackward0"
    assert g.node("op0").kind == "accumulate"
    assert [t.id for t in g.outputs] == ["t2"]
    assert g.label("t2") == "y" and g.label("op1") == "MulBackward0" and g.label(None) == "None"
    with pytest.raises(KeyError):
        g.op("t0")
    with pytest.raises(KeyError):
        g.tensor("nope")
    g.tensors.append(TensorNode("t3", "z", [1], "float32", "cpu", False, True, "constant"))
    assert g.tensor("z").id == "t3"  # the index follows changes


@pytest.mark.parametrize("kind", ["normal32", "ints32", "arange64", "uniform16"])
def test_histogram_of_large_arrays_counts_like_numpy(kind):
    """Above EXACT_HIST_NUMEL the preview bins (and sums) in blocks of its own; the counts
    and edges are NumPy's on data with values on the bin edges too, the statistics NumPy's."""
    from autograd_viz.viz.preview import EXACT_HIST_NUMEL, preview_array

    rng = np.random.default_rng(1)
    n = EXACT_HIST_NUMEL * 3 + 17
    a = {"normal32": rng.standard_normal(n).astype(np.float32),
         "ints32": rng.integers(-3, 4, n).astype(np.float32),
         "arange64": np.arange(n, dtype=np.float64),
         "uniform16": rng.uniform(-1, 1, n).astype(np.float16)}[kind]
    h = preview_array(a.reshape(-1, 7) if n % 7 == 0 else a).hist
    d = a.astype(np.float64)
    counts, edges = np.histogram(d, bins=len(h.counts), range=(d.min(), d.max()))
    assert h.counts == counts.tolist() and sum(h.counts) == n
    np.testing.assert_allclose(h.edges, edges)
    st = preview_array(a).stats
    assert (st.min, st.max) == (d.min(), d.max())
    assert st.mean == pytest.approx(d.mean(), rel=1e-12, abs=1e-12)
    assert st.std == pytest.approx(d.std(), rel=1e-12)


@pytest.mark.parametrize("a", [
    np.full((10, 10), 4.5036e15, np.float32),  # one value whose ulp is above 0.5
    np.full(100, 3.4e38, np.float32),  # near float32's largest
    np.array([-1.7e308, 1.7e308] * 40),  # max - min overflows float64
    np.full(100, 1e-300),
])
def test_histograms_of_extreme_values(a):
    """Large tensors of one huge value, or spanning float64's whole range, still preview
    (their histogram once divided by a zero or infinite range)."""
    p = preview_array(a)
    h = p.hist
    assert sum(h.counts) == a.size and len(h.edges) == HIST_BINS + 1
    assert all(math.isfinite(x) for x in h.edges) and h.edges == sorted(h.edges)
    assert h.edges[0] <= float(a.min()) and float(a.max()) <= h.edges[-1]
    assert p.text.startswith("tensor([")


@given(st.floats(-1e30, 1e30), st.floats(1e-30, 1e30))
def test_histogram_edges_are_numpys(lo, width):
    """The edges are ``np.linspace(lo, hi, bins + 1)``, bit for bit."""
    from autograd_viz.viz.preview import _binned

    hi = lo + width
    if not hi > lo:
        return
    h = _binned(np.array([lo, hi]), lo, hi, HIST_BINS)
    assert h.edges == np.linspace(lo, hi, HIST_BINS + 1).tolist()
    assert sum(h.counts) == 2 and all(type(c) is int for c in h.counts)


def _recorded_previews() -> list[Preview]:
    """Every preview of a small recorded MLP step (vectors, matrices, one-value grads)."""
    from autograd_viz import viz

    av.manual_seed(0)
    lin = av.nn.Linear(20, 6)
    x = av.randn(16, 20)
    with viz.record() as rec:
        y = lin(x).relu()
        y.retain_grad()
        (y * y).mean().backward()
    g = rec.graph()
    out = [t.value for t in g.tensors] + [t.grad for t in g.tensors]
    out += [p for r in g.runs for s in r.steps for p in s.grads_in + s.grads_out]
    return [p for p in out if p is not None]


def test_recorded_previews_are_formatted_when_first_read():
    """A recording formats a preview's text only when something reads it; the preview then
    equals one made eagerly from the same fields, and the source is let go."""
    previews = _recorded_previews()
    lazy = list({id(p): p for p in previews if "text" not in p.__dict__}.values())
    assert len(lazy) >= 8 and any(p.values is None for p in lazy)  # large ones too
    for p in lazy:
        array, cut = p.__dict__["_lazy"]
        text = p.text
        assert text == format_tensor(array, cut)
        assert "_lazy" not in p.__dict__ and p.__dict__["text"] is text
        eager = Preview(shape=p.shape, dtype=p.dtype, text=text, values=p.values,
                        stats=p.stats, hist=p.hist)
        assert p == eager and repr(p) == repr(eager)
        assert list(p.__dict__) == list(eager.__dict__)  # (so JSON keys come in one order)


def test_a_recorded_graph_needs_no_collector_to_be_freed_and_keeps_no_instance_dicts():
    """Lazy previews and histograms keep their attributes inline (no ``__dict__`` made: a
    few hundred bytes and one more object for the collector each), and nothing of a
    recording's graph is a reference cycle: dropped, it goes at once, by reference counting
    alone (with the collector off)."""
    import gc
    import sys
    import weakref

    from autograd_viz import viz

    av.manual_seed(0)
    lin = av.nn.Linear(20, 6)
    x = av.randn(16, 20)
    gc.collect()
    was = gc.isenabled()
    gc.disable()
    try:
        with viz.record() as rec:
            for _ in range(3):
                lin.zero_grad()
                (lin(x).relu() ** 2).mean().backward()
        g = rec.graph()
        previews = [t.value for t in g.tensors] + [p for r in g.runs for s in r.steps
                                                   for p in s.grads_in + s.grads_out]
        lazy = [p for p in previews if p is not None and hasattr(p, "_lazy")]
        hists = [p.hist for p in lazy if p.hist is not None]
        assert len(lazy) >= 8 and len(hists) >= 4
        for o in lazy + hists:  # (attribute values inline: CPython 3.11 and later)
            assert sys.version_info < (3, 11) or dict not in map(type, gc.get_referents(o)), o
        gc.collect()  # (it untracks tuples that hold no container: a lazy source holds none;
        gc.collect()  # a tuple in a tuple takes two passes)
        assert not any(gc.is_tracked(o._lazy) for o in lazy + hists)
        refs = [weakref.ref(o) for o in (g, g.tensors[0], *lazy, *hists)]
        del g, rec, previews, lazy, hists, o
        assert [r for r in refs if r() is not None] == []
    finally:
        if was:
            gc.enable()


def test_lazy_previews_compare_copy_pickle_and_serialise_as_formatted_ones():
    import copy
    import pickle

    def unread():
        return list({id(p): p for p in _recorded_previews() if "_lazy" in p.__dict__}.values())

    a, b, c, d = unread(), unread(), unread(), unread()
    assert a == [Preview(**{k: getattr(p, k) for k in ("shape", "dtype", "text", "values",
                                                        "stats", "hist")}) for p in b]
    for p, q in zip(c, d):
        assert pickle.loads(pickle.dumps(p)) == q  # (pickling formats it first)
        assert "_lazy" not in pickle.loads(pickle.dumps(q)).__dict__
    p = unread()[0]
    assert copy.deepcopy(p).text == p.text
    g = Graph(tensors=[TensorNode("t0", None, p.shape, p.dtype, "cpu", True, True, "leaf",
                                  value=p) for p in unread()[:1]])
    assert json.loads(g.to_json())["tensors"][0]["value"]["text"].startswith("tensor(")
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        unread()[0].nothing  # noqa: B018 - the attribute read is the test


def test_recorded_histograms_are_made_when_first_read():
    """A recording keeps a histogram's counts as a NumPy row and makes its lists when
    something reads them: then it equals one made eagerly (edges ``np.linspace``), and
    equality, pickling, copying and JSON read it as usual."""
    import copy
    import pickle

    def unread():
        hists = [p.hist for p in _recorded_previews() if p.hist is not None]
        return list({id(h): h for h in hists if "_lazy" in h.__dict__}.values())

    hists = unread()
    assert len(hists) >= 4
    for h in hists:
        counts, lo, hi, times = h.__dict__["_lazy"]
        assert times == 1.0 and len(counts) == HIST_BINS
        eager = Hist(counts=[int(c) for c in counts],
                     edges=np.linspace(lo, hi, HIST_BINS + 1).tolist())
        assert h == eager and repr(h) == repr(eager) and h.total == sum(eager.counts)
        assert list(h.__dict__) == ["counts", "edges"]  # (filled; JSON keys in one order)
        assert all(type(c) is int for c in h.counts)
    for h, again in zip(unread(), unread()):
        assert pickle.loads(pickle.dumps(h)) == again and copy.deepcopy(again) == h
    h = unread()[0]
    p = Preview(shape=[2], dtype="float32", text="tensor([1., 2.])", hist=h)
    g = Graph(tensors=[TensorNode("t0", None, [2], "float32", "cpu", True, True, "leaf",
                                  value=p)])
    assert json.loads(g.to_json())["tensors"][0]["value"]["hist"] == {
        "counts": h.counts, "edges": h.edges}
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        unread()[0].nothing  # noqa: B018 - the attribute read is the test
