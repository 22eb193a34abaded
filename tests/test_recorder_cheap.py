"""The recorder's cheap live path: small gradients copied once per run and shared between
events, one-element float values kept as Python floats, a flat log. What the graph shows
must not depend on it."""
from __future__ import annotations

import numpy as np
import pytest

import autograd_viz as av
from autograd_viz import viz


def _steps(g):
    return [(s.op, [p and p.values for p in s.grads_in], [p and p.values for p in s.grads_out])
            for s in g.runs[0].steps]


#: Values of two elements, of one (kept as a Python float while recording) and 0-d.
SHAPES = [[1.0, 2.0], [1.0], 1.0]


def _v(data, v):
    """``v`` as the preview of a tensor shaped like ``data`` shows each of its values."""
    return [v] * len(data) if isinstance(data, list) else v


@pytest.mark.parametrize("data", SHAPES)
def test_small_gradient_written_by_a_hook_keeps_what_was_recorded_before(data):
    x = av.tensor(data, requires_grad=True)
    with viz.record() as rec:
        y = x * 2
        z = y + y

        def h(g):
            g.mul_(10)  # in place, after the array was recorded as the grad of z * 3's node

        z.register_hook(h)
        (z * 3).sum().backward()
    steps = _steps(rec.graph())
    assert steps[1][2] == [_v(data, 3.0), None]  # z * 3: before the hook wrote
    assert steps[2][1] == [_v(data, 30.0)]  # y + y: after
    assert steps[2][2] == [_v(data, 30.0), _v(data, 30.0)]
    assert x.grad.tolist() == _v(data, 120.0)


@pytest.mark.parametrize("data", SHAPES)
def test_small_gradient_written_by_a_custom_backward_shows_each_value_in_its_step(data):
    class Triple(av.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 3

        @staticmethod
        def backward(ctx, g):
            g.mul_(7)  # writes into the grad it was handed
            return g * 3

    x = av.tensor(data, requires_grad=True)
    with viz.record() as rec:
        y = x + x
        ((Triple.apply(y) + y * 2) * 1.5).sum().backward()
    g = rec.graph()
    steps = g.runs[0].steps
    outs = [[p and p.values for p in s.grads_out] for s in steps]
    ins = [[p and p.values for p in s.grads_in] for s in steps]
    assert [_v(data, 1.5), _v(data, 1.5)] in outs  # the add's grads, recorded before the write
    assert [_v(data, 10.5)] in ins  # the custom node's grad, after its backward wrote to it


@pytest.mark.parametrize("data", SHAPES)
def test_forward_value_recorded_before_an_in_place_change_keeps_its_old_value(data):
    x = av.tensor(data, requires_grad=True)
    with viz.record() as rec:
        y = x * 2
        with av.no_grad():
            y.mul_(5)
            y.detach().numpy().reshape(-1)[0] = 123.0  # not even seen by the engine
    g = rec.graph()
    first = next(t for t in g.tensors if t.grad_fn is not None)
    assert first.value.values == ([2.0, 4.0] if data == SHAPES[0] else _v(data, 2.0))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(), (1,), (1, 1)])
def test_one_values_are_shown_exactly_as_the_general_path_shows_them(dtype, shape):
    """A one-element float32/float64 value is kept as a Python float while recording; what
    the graph shows of it (values, text, dtype, shape) is what a copy of the array shows."""
    import numpy as np

    from autograd_viz.viz.preview import preview_array

    dt = getattr(av, dtype)
    x = av.full(shape, 0.1, dtype=dt).requires_grad_()
    with viz.record() as rec:
        a = x * 3
        b = a.tanh()
        c = b - x
        c.sum().backward()
    g = rec.graph()
    for want in (a, b, c):  # (0.1 * 3 in float32 is not 0.3 in float64: exact or not)
        d = next(d for d in g.tensors
                 if d.grad_fn is not None and d.value.values == want.tolist())
        assert d.value == preview_array(want.detach().numpy(), dtype)
    previews = [p for s in g.runs[0].steps for p in s.grads_in + s.grads_out if p]
    assert previews
    for p in previews:
        assert p.dtype == dtype and tuple(p.shape) in (shape, ())  # (() : the sum's)
        assert p == preview_array(np.array(p.values, dtype=dtype).reshape(p.shape), dtype)
    # the grad x's AccumulateGrad got (the last step), to the last bit
    got = g.runs[0].steps[-1].grads_in[0].values
    assert np.array(got).reshape(-1)[0] == x.grad.detach().numpy().reshape(-1)[0].item()


@pytest.mark.parametrize("flush", [1, 2, 3, 7])
@pytest.mark.parametrize("data", [([1.0, 2.0], [0.5, 0.25]), ([1.0], [0.5])])
def test_a_flat_log_flushed_anywhere_gives_the_same_graph(monkeypatch, flush, data):
    def run():
        x = av.tensor(data[0], requires_grad=True)
        c = av.tensor(data[1], requires_grad=True)
        with viz.record(names={"x": x}) as rec:
            y = x
            for _ in range(5):
                y = (y * c + x).tanh() - c
            y.retain_grad()
            y.sum().backward()
            (x * x).sum().backward()
        return rec.graph()

    a = run()
    monkeypatch.setattr(viz.Recorder, "FLUSH_EVENTS", flush)
    b = run()
    assert a == b and len(a.runs) == 2


def test_replays_run_with_the_collector_paused(monkeypatch):
    """A replay (here every 50 events) makes many long-lived objects at once: it runs with
    automatic garbage collection off, and leaves it as the user had it."""
    import gc

    from autograd_viz.viz.recorder import Recorder

    seen = []
    real = Recorder._replay_log

    def spy(self):
        seen.append(gc.isenabled())
        return real(self)

    monkeypatch.setattr(Recorder, "_replay_log", spy)
    for user_on in (True, False):
        (gc.enable if user_on else gc.disable)()
        try:
            seen.clear()
            x = av.tensor([1.0, 2.0], requires_grad=True)
            with viz.record() as rec:
                rec.FLUSH_EVENTS = 50
                y = x
                for _ in range(40):
                    y = (y * 2).tanh()
                y.sum().backward()
            g = rec.graph()
            assert len(seen) >= 3 and not any(seen)
            assert gc.isenabled() is user_on
            assert len(g.ops) == 82  # 80 ops, the sum and the leaf's AccumulateGrad
        finally:
            gc.enable()


def test_a_graph_goes_straight_to_the_oldest_generation_and_its_garbage_still_goes():
    """``graph()`` builds its model with the collector paused and then moves it to the oldest
    generation, so young collections do not walk it again; a cycle made meanwhile is still
    garbage to the next full collection, and objects the user froze stay frozen."""
    import gc
    import weakref

    if gc.get_freeze_count():
        pytest.skip("this interpreter starts with objects frozen (CPython 3.12): graphs are "
                    "not promoted there, since gc.unfreeze() would undo that")

    class Cell:
        pass

    x = av.tensor([1.0, 2.0], requires_grad=True)
    with viz.record() as rec:
        for _ in range(3):
            (x * 2).tanh().sum().backward()
    gc.collect()
    a, b = Cell(), Cell()  # (young garbage made before graph(): collected, not promoted)
    a.other, b.other = b, a
    before = weakref.ref(a)
    del a, b
    g = rec.graph()
    assert before() is None
    oldest = {id(o) for o in gc.get_objects(generation=2)}
    assert id(g) in oldest and id(g.runs) in oldest and id(g.runs[-1].steps[0]) in oldest
    assert not gc.get_objects(generation=0) or id(g.ops) not in {
        id(o) for o in gc.get_objects(generation=0)}

    from autograd_viz.viz._gc import paused
    with paused():
        a, b = Cell(), Cell()
        a.other, b.other = b, a
        gone = weakref.ref(a)
        del a, b
    assert gone() is not None and id(gone()) in {id(o) for o in gc.get_objects(generation=2)}
    gc.collect()
    assert gone() is None

    young = Cell()  # (a drawing makes only temporaries: what is young stays young)
    assert "digraph" in viz.dot_source(g)
    assert id(young) not in {id(o) for o in gc.get_objects(generation=2)}

    kept = Cell()
    gc.freeze()  # (a process that froze what it has, e.g. before forking: left as it is)
    try:
        g = rec.graph()
        assert gc.get_freeze_count() > 0
        assert id(kept) not in {id(o) for o in gc.get_objects()}  # (still frozen)
        assert id(g) not in {id(o) for o in gc.get_objects(generation=2)}  # (not promoted)
    finally:
        gc.unfreeze()


def test_recording_collects_young_objects_less_often_and_puts_thresholds_back():
    """While recording, the log keeps every node alive; the collector's young threshold is
    raised meanwhile and put back as the user had it: after nesting, after an error, and
    not over a change the user made meanwhile."""
    import gc

    from autograd_viz.viz._gc import RECORDING_THRESHOLD

    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        x = av.tensor([1.0], requires_grad=True)
        with viz.record() as outer:
            assert gc.get_threshold() == (RECORDING_THRESHOLD, 10, 10)
            with viz.record():
                (x * 2).sum().backward()
            assert gc.get_threshold() == (RECORDING_THRESHOLD, 10, 10)
            (x * 3).sum().backward()
        assert gc.get_threshold() == (700, 10, 10)
        assert len(outer.graph().runs) == 2

        with pytest.raises(ZeroDivisionError):
            with viz.record():
                1 / 0
        assert gc.get_threshold() == (700, 10, 10)

        with viz.record():
            gc.set_threshold(500, 5, 5)  # the user's own choice wins
        assert gc.get_threshold() == (500, 5, 5)

        gc.set_threshold(0)  # automatic collection off: left off
        with viz.record():
            assert gc.get_threshold()[0] == 0
        assert gc.get_threshold()[0] == 0
    finally:
        gc.set_threshold(*before)


def test_cyclic_garbage_made_while_recording_is_still_collected_automatically():
    """Young collections are rarer while recording, not gone: a cycle made by the recorded
    code goes once enough new objects follow it, with no explicit ``gc.collect()``."""
    import gc
    import weakref

    from autograd_viz.viz._gc import RECORDING_THRESHOLD

    class Cell:
        pass

    assert gc.isenabled()
    gc.collect()
    with viz.record():
        a, b = Cell(), Cell()
        a.other, b.other = b, a
        gone = weakref.ref(a)
        del a, b
        assert gone() is not None  # (a cycle: reference counting alone cannot free it)
        kept = [[] for _ in range(2 * RECORDING_THRESHOLD)]
        assert gone() is None
    del kept


def test_a_first_large_grad_shows_the_grad_it_got_even_when_a_hook_wrote_to_it():
    """A leaf's first ``.grad`` is a copy of the grad it got, so the recorder shares the copy
    it made when a node handed that grad on, unless user code (a hook) ran in between."""
    w = av.ones(8, 16, requires_grad=True)  # (summarised: above SMALL_NUMEL elements)
    v = av.ones(8, 16, requires_grad=True)

    def tenfold(g):
        g.mul_(10)  # in place, after TBackward0 handed the grad on (and it was recorded)

    with viz.record(names={"w": w, "v": v}) as rec:
        handle = w.register_hook(tenfold)
        (w.t() * 2 + v.t() * 4).sum().backward()
        handle.remove()
        (w.t() * 3).sum().backward()
        shared = [e for e in rec._log if e[0] == "grad_accumulated"]
        handed = {id(c) for e in rec._log if e[0] == "node_executed" for c in e[5]}
        assert [id(e[2]) in handed for e in shared] == [True, False, False]  # v, w, w
    g = rec.graph()
    t_steps = [s for s in g.runs[0].steps if g.op(s.op).name == "TBackward0"]
    assert sorted(s.grads_out[0].stats.mean for s in t_steps) == [2.0, 4.0]  # as handed on
    hist = g.grad_history
    assert [(e.value.shape, e.value.stats.min, e.value.stats.max)
            for e in hist[g.tensor("w").id]] == [([8, 16], 20.0, 20.0), ([8, 16], 23.0, 23.0)]
    assert [(e.value.stats.min, e.value.stats.max) for e in hist[g.tensor("v").id]] == [
        (4.0, 4.0)]
    assert w.grad.tolist() == [[23.0] * 16] * 8


def test_a_transposed_large_grad_is_summarised_from_the_grad_it_rearranges():
    """``t()``'s backward hands on ``g.T``: the recorder logs it as the same view of its copy
    of ``g`` (no copy) and summarises it from that copy's summary. What the step shows is
    what a summary of its own would show (the mean up to summation order)."""
    from autograd_viz.viz.preview import snapshot

    av.manual_seed(0)
    lin = av.nn.Linear(20, 30)  # weight (30, 20): its grad arrives as the (20, 30) grad's .T
    x = av.randn(8, 20)
    with viz.record() as rec:
        lin(x).pow(2).sum().backward()
        executed = [e for e in rec._log if e[0] == "node_executed"]
        t_entry = next(e for e in executed if type(e[3]).__name__ == "TBackward0")
        handed, shown = t_entry[4][0], t_entry[5][0]
        assert shown.base is handed and shown.shape == (30, 20)  # a view, not a copy
    g = rec.graph()
    step = next(s for s in g.runs[0].steps if g.op(s.op).name == "TBackward0")
    got, own = step.grads_out[0], snapshot(lin.weight.grad.numpy()).preview()
    assert (got.shape, got.dtype, got.text) == (own.shape, own.dtype, own.text)
    assert got.hist == own.hist  # (counts and edges: the same values, binned alike)
    assert (got.stats.min, got.stats.max) == (own.stats.min, own.stats.max)
    assert got.stats.mean == pytest.approx(own.stats.mean, rel=1e-12, abs=1e-15)
    assert got.stats.std == pytest.approx(own.stats.std, rel=1e-12)


def test_rearranges_takes_only_views_that_hold_each_element_once():
    """A transposed, reshaped or permuted view of a C-contiguous array holds each of its
    elements once (and starts where it starts); reversed, sliced, strided or broadcast
    views do not, nor does a view of another array."""
    from autograd_viz.viz.preview import rearranges

    b = np.arange(24.0, dtype=np.float32)
    m = b.reshape(4, 6)
    assert m.base is b
    for v in (m, m.T, b.reshape(2, 3, 4).transpose(2, 0, 1), b.reshape(1, 24, 1)):
        assert rearranges(v, b), v.strides
    bad = (b[::-1], b[1:], b[::2], m[:, ::-1], m[::-1].T, m[:, :3],
           np.broadcast_to(b[:1], (24,)), np.arange(24.0, dtype=np.float32)[:],
           b.view(np.int32))
    for v in bad:
        assert not rearranges(v, b), v.strides


def test_a_custom_backward_that_writes_then_transposes_shows_what_it_wrote():
    class Doubled(av.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a.t()

        @staticmethod
        def backward(ctx, g):
            g.mul_(2)  # in place, then handed on as a view
            return g.t()

    w = av.ones(30, 20, requires_grad=True)
    with viz.record() as rec:
        (Doubled.apply(w * 3) * 5).sum().backward()
    g = rec.graph()
    step = next(s for s in g.runs[0].steps if g.op(s.op).name == "DoubledBackward")
    assert step.grads_out[0].shape == [30, 20]
    assert (step.grads_out[0].stats.min, step.grads_out[0].stats.max) == (10.0, 10.0)
    assert w.grad.tolist() == [[30.0] * 20] * 30


def test_views_of_copies_show_what_copies_of_their_own_show(monkeypatch):
    """Grads handed on as reshapes, transposes and permutations of large grads: the graph
    is the one recorded with every grad copied and summarised on its own (the means up to
    summation order)."""
    import autograd_viz.viz.recorder as recorder

    def run():
        av.manual_seed(1)
        w = av.randn(12, 10, 6, requires_grad=True)
        with viz.record() as rec:
            y = w.permute(2, 0, 1).reshape(6, 120).t().unsqueeze(0).transpose(1, 2)
            (y.squeeze(0).pow(2) * av.randn(6, 120)).sum().backward()
        g = rec.graph()
        return [(g.op(s.op).name, [p and (p.shape, p.text, p.hist, p.stats) for p in
                                   s.grads_in + s.grads_out]) for s in g.runs[0].steps]

    shared = run()
    monkeypatch.setattr(recorder, "rearranges", lambda d, b: False)
    own = run()
    assert [n for n, _ in shared] == [n for n, _ in own]
    assert len(shared) >= 7
    for (_, a), (_, b) in zip(shared, own):
        for pa, pb in zip(a, b):
            assert (pa is None) == (pb is None)
            if pa is not None:
                assert pa[:3] == pb[:3]  # shape, text, histogram
                sa, sb = pa[3], pb[3]
                if sa is None:  # (a one value, kept whole)
                    assert sb is None
                    continue
                assert (sa.min, sa.max) == (sb.min, sb.max)
                assert sa.mean == pytest.approx(sb.mean, rel=1e-9, abs=1e-12)
                assert sa.std == pytest.approx(sb.std, rel=1e-9)
