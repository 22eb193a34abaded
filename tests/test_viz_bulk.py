"""Snapshots made in bulk (``viz.bulk``) are the snapshots ``preview.snapshot`` makes one by
one, bit for bit, and a recording shows the same values whichever path summarised them."""
from __future__ import annotations

import math

import numpy as np
import pytest

import autograd_viz as av
from autograd_viz import viz
from autograd_viz.viz import bulk, preview
from autograd_viz.viz.preview import snapshot


@pytest.fixture(autouse=True, params=["numpy", "helper"])
def summaries(request, monkeypatch):
    """Every test twice: summaries by NumPy alone, and by the C helper (``_summary.c``)."""
    if request.param == "numpy":
        monkeypatch.setattr(preview, "_summarise_c", None)
    elif preview._summarise_c is None:
        pytest.skip("the C helper was not built (no C compiler when the package was installed)")
    return request.param


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is b

    def eq(u, v):  # (NaN equals NaN here)
        return u == v or (isinstance(u, float) and isinstance(v, float)
                          and math.isnan(u) and math.isnan(v))

    sa, sb = a.stats, b.stats
    stats_eq = sa is sb or all(eq(getattr(sa, f), getattr(sb, f))
                               for f in ("min", "max", "mean", "std"))
    return (a.shape == b.shape and a.dtype == b.dtype and a.cut == b.cut and stats_eq
            and a.hist == b.hist and a.array.dtype == b.array.dtype
            and np.array_equal(a.array, b.array, equal_nan=True))


SHAPES = [(65,), (64, 3), (20, 32), (3, 32), (2, 3, 20), (5, 1, 70), (64, 64), (9, 9)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
def test_bulk_snapshots_equal_one_by_one(shape, dtype):
    rng = np.random.default_rng([SHAPES.index(shape), np.dtype(dtype).itemsize])
    arrs = [(rng.standard_normal(shape) * rng.uniform(1e-3, 1e4) + rng.uniform(-50, 50))
            .astype(dtype) for _ in range(9)]
    arrs[1][...] = 1.5  # one repeated value
    arrs[2].flat[0] = np.nan
    arrs[3].flat[-1] = np.inf
    arrs[4].flat[1] = -np.inf
    arrs[5] = np.round(arrs[5])  # values on bin edges
    big = np.finfo(dtype).max
    arrs[6].flat[0], arrs[6].flat[1] = -big, big  # a range that overflows
    arrs[7][...] = 0
    arrs[7].flat[2] = np.nextafter(dtype(0), dtype(1))  # a range bins / range overflows in
    got = bulk.snapshots(arrs)
    assert len(got) == len(arrs)
    for a, g in zip(arrs, got):
        assert _same(g, snapshot(a)), (shape, dtype, a)


def test_groups_take_each_copy_once_by_shape_and_dtype():
    a = np.ones((10, 10), np.float32)
    b, c = a.copy(), a.astype(np.float64)
    small, huge = np.ones(8, np.float32), np.ones(bulk.MAX_NUMEL + 1, np.float32)
    ints = np.ones((10, 10), np.int64)
    gs = bulk.groups([a, b, a, c, small, small, huge, huge.copy(), ints, ints.copy()])
    assert [[id(x) for x in g] for g in gs] == [[id(a), id(b)]]


def _mlp(classes: int):
    """A seeded 20-32-``classes`` MLP, its SGD and a batch of 64 with targets."""
    av.manual_seed(0)
    model = av.nn.Sequential(av.nn.Linear(20, 32), av.nn.ReLU(), av.nn.Linear(32, classes))
    opt = av.optim.SGD(model.parameters(), lr=0.1)
    return model, opt, av.randn(64, 20), av.randint(0, classes, (64,))


def test_a_recorded_training_loop_shows_the_same_summaries_as_one_by_one(monkeypatch):
    """The recorder summarises its copies in bulk before a replay; the graph must be the
    same as when every copy is summarised alone (bulk switched off)."""
    def run():
        model, opt, x, y = _mlp(3)
        with viz.record() as rec:
            for _ in range(4):
                opt.zero_grad()
                av.nn.functional.cross_entropy(model(x), y).backward()
                opt.step()
        g = rec.graph()
        vals = [(t.id, t.value and (t.value.stats, t.value.hist, t.value.text),
                 t.grad and (t.grad.stats, t.grad.hist, t.grad.text)) for t in g.tensors]
        steps = [(s.op, [p and (p.stats, p.hist, p.text) for p in s.grads_in],
                  [p and (p.stats, p.hist, p.text) for p in s.grads_out])
                 for r in g.runs for s in r.steps]
        return vals, steps

    calls = []
    real = bulk.snapshots
    monkeypatch.setattr(bulk, "snapshots", lambda arrs: calls.append(len(arrs)) or real(arrs))
    with_bulk = run()
    assert calls and max(calls) >= 4  # the loop's shapes recur: summarised in groups
    monkeypatch.setattr(bulk, "groups", lambda copies: [])
    assert run() == with_bulk


def test_a_failing_bulk_pass_leaves_the_graph_whole(monkeypatch):
    """If summarising in bulk fails, replay summarises one by one and notes why."""
    def run():
        x = av.ones(10, 10, requires_grad=True)
        with viz.record() as rec:
            y = x
            for _ in range(3):
                y = (y * 2).tanh()
            y.sum().backward()
        return rec.graph()

    good = run()

    def broken(arrs):
        raise MemoryError("no room")

    monkeypatch.setattr(bulk, "snapshots", broken)
    g = run()
    assert [t.value.stats for t in g.tensors] == [t.value.stats for t in good.tensors]
    assert any("bulk" in n and "MemoryError" in n for n in g.notes)


def test_every_large_copy_of_a_recorded_loop_is_summarised_in_bulk(monkeypatch):
    """The recorder notes each large copy as it makes it (the forward values, the grads a
    node hands on, a first .grad, retained grads, grads seen by hooks, .grad before a
    reset, the outputs of a multi-output op), so that replay summarises them in bulk: in a
    loop whose shapes recur, none is left to be summarised alone."""
    from autograd_viz.viz import preview

    model, opt, x, y = _mlp(4)
    with viz.record() as rec:
        for i in range(4):
            opt.zero_grad(set_to_none=bool(i % 2))
            h = model[1](model[0](x))
            h.retain_grad()
            h.register_hook(lambda g: None)
            a, b = h.chunk(2, dim=1)
            out = model[2]((a.tanh() + b).repeat(1, 2))
            av.nn.functional.cross_entropy(out, y).backward()
            opt.step()
    alone = []
    real = preview.snapshot
    monkeypatch.setattr(preview, "snapshot",
                        lambda a, *k: alone.append((a.shape, str(a.dtype))) or real(a, *k))
    calls = []
    real_bulk = bulk.snapshots
    monkeypatch.setattr(bulk, "snapshots", lambda arrs: calls.append(len(arrs)) or real_bulk(arrs))
    g = rec.graph()
    assert sum(calls) >= 4 * 10
    # only x, copied once (a group of one: nothing to share), is summarised alone
    assert [s for s in alone if math.prod(s[0]) <= bulk.MAX_NUMEL] == [((64, 20), "float32")]
    assert all(t.value is not None for t in g.tensors if t.role != "note")
