"""The recorder and the walker against the real engine, and against PyTorch (the oracle):
structure, grads, hooks, accumulation history, create_graph, no_grad, names, determinism."""
from __future__ import annotations

import numpy as np
import pytest

import autograd_viz as av
from autograd_viz import viz
from autograd_viz.autograd import events


def _vals(p):
    return None if p is None else np.asarray(p.values, dtype=np.float64).tolist()


def _record_simple():
    x = av.tensor([2.0], requires_grad=True)
    with viz.record(names={"x": x}) as rec:
        y = (x + 2) ** 2 + 3
        rec.set_names({"y": y})
        y.backward()
    return rec, x, y


# -- structure --------------------------------------------------------------------------
def test_records_ops_tensors_and_edges_in_torch_order():
    rec, x, y = _record_simple()
    g = rec.graph()
    assert [o.name for o in g.ops] == ["AccumulateGrad", "AddBackward0", "PowBackward0",
                                       "AddBackward0"]
    ty = g.tensor("y")
    assert ty.is_output and ty.role == "intermediate" and _vals(ty.value) == [19.0]
    assert ty.grad is None and ty.grad_note == "non-leaf, no retain_grad"
    root = g.op(ty.grad_fn)
    assert root.name == "AddBackward0"
    assert [g.label(r) for r, _ in root.next_functions] == ["PowBackward0", "None"]
    tx = g.tensor("x")
    assert tx.role == "leaf" and _vals(tx.value) == [2.0] and _vals(tx.grad) == [8.0]
    acc = g.op("op0")
    assert acc.kind == "accumulate" and acc.variable == tx.id
    assert rec.id_of(x) == tx.id and rec.id_of(y) == ty.id
    assert rec.id_of(y.grad_fn) == root.id
    constants = [t for t in g.tensors if t.role == "constant"]
    assert sorted(_vals(t.value) for t in constants) == [2.0, 3.0]
    kinds = {(e.src, e.dst): e.kind for e in g.edges}
    assert kinds[(tx.id, "op0")] == "variable"
    assert kinds[(root.id, ty.id)] == "output"


def test_backward_run_records_execution_order_and_grads():
    rec, x, y = _record_simple()
    (run,) = rec.graph().runs
    g = rec.graph()
    assert run.kind == "backward" and run.roots == [g.tensor("y").id] and run.finished
    assert run.freed and not run.retain_graph and not run.create_graph
    assert [g.label(s.op) for s in run.steps] == ["AddBackward0", "PowBackward0",
                                                  "AddBackward0", "AccumulateGrad"]
    assert [_vals(p) for p in run.steps[1].grads_in] == [[1.0]]
    assert [_vals(p) for p in run.steps[1].grads_out] == [[8.0]]
    assert run.steps[0].grads_out[1] is None  # the constant gets no gradient
    assert run.accumulated == [g.tensor("x").id]
    assert [_vals(p) for p in run.grad_roots] == [[1.0]]
    assert all(o.saved_freed for o in g.ops if o.saved)


# -- the oracle: same structure as PyTorch ---------------------------------------------------
def _torch_struct(fn, depth=0):
    if fn is None:
        return None
    return (type(fn).__name__,
            tuple((_torch_struct(f, depth + 1), nr) for f, nr in fn.next_functions))


def _graph_struct(g, op_id):
    if op_id is None:
        return None
    o = g.op(op_id)
    return (o.name, tuple((_graph_struct(g, r), nr) for r, nr in o.next_functions))


def _programs(m):
    """Programs written once for both libraries (m is torch or autograd_viz)."""
    def scalar(m):
        x = m.tensor([2.0], requires_grad=True)
        return (x + 2) ** 2 + 3

    def walkthrough(m):
        x, b = m.tensor([1.0]), m.tensor([2.0])
        w1 = m.tensor([2.0], requires_grad=True)
        w2 = m.tensor([3.0], requires_grad=True)
        return (x * w1 + b * w2).mean()

    def matmul(m):
        x = m.tensor([[1.0, 2.0]], requires_grad=True)
        w = m.tensor([[1.0, 0.0], [2.0, -1.0]], requires_grad=True)
        y = m.tensor([[1.0, 1.0]])
        return (y - m.matmul(x, w)).sum()

    def mixed(m):
        a = m.tensor([[0.5, -1.0], [2.0, 3.0]], requires_grad=True)
        h = (a.exp().sin() * a).relu()
        z = h.t().reshape(-1)[1:] * a.sum(dim=0).repeat(2)[:3]
        return (z.clamp(-1, 1) + z.cos() % 2).pow(2).sum() / a.mean()

    def shared(m):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        y = x * x
        return (y + y.sigmoid() * x).tanh().sum()

    return {"scalar": scalar, "walkthrough": walkthrough, "matmul": matmul, "mixed": mixed,
            "shared": shared}


def _leaves_of(g):
    return [t for t in g.tensors if t.role == "leaf"]


@pytest.mark.parametrize("prog", list(_programs(None)))
def test_recorded_grads_equal_engine_and_torch(prog, torch):
    t_root = _programs(torch)[prog](torch)
    t_leaves = []

    def collect(fn):
        for f, _ in fn.next_functions:
            if f is None:
                continue
            if hasattr(f, "variable"):
                if all(f.variable is not v for v in t_leaves):
                    t_leaves.append(f.variable)
            else:
                collect(f)

    collect(t_root.grad_fn)
    t_root.backward()
    with viz.record() as rec:
        root = _programs(av)[prog](av)
        root.backward()
    g = rec.graph()
    leaves = _leaves_of(g)
    assert len(leaves) == len(t_leaves)
    by_value = sorted((_vals(t.value), _vals(t.grad)) for t in leaves)
    expected = sorted((v.detach().numpy().astype(np.float64).tolist(),
                       v.grad.numpy().astype(np.float64).tolist()) for v in t_leaves)
    for (v, gr), (ev, egr) in zip(by_value, expected):
        assert v == ev
        scale = max(1.0, float(np.max(np.abs(egr))))  # float32 sums: engine and torch differ
        np.testing.assert_allclose(gr, egr, rtol=1e-4, atol=2e-5 * scale)
    (run,) = g.runs
    assert sorted(run.accumulated) == sorted(t.id for t in leaves)


@pytest.mark.parametrize("prog", list(_programs(None)))
def test_structure_equals_torch(prog, torch):
    t_root = _programs(torch)[prog](torch)
    expected = _torch_struct(t_root.grad_fn)
    with viz.record() as rec:
        root = _programs(av)[prog](av)
    g = rec.graph()
    assert _graph_struct(g, g.tensor(rec.id_of(root)).grad_fn) == expected
    walked = viz.graph_from_tensors(root)
    assert walked.source == "walk"
    assert _graph_struct(walked, walked.tensors[0].grad_fn) == expected
    # the walk assigns ids in preorder along next_functions, like torchviz visits nodes
    assert [o.id for o in walked.ops] == [f"op{i}" for i in range(len(walked.ops))]


# -- grads, history, hooks ---------------------------------------------------------------------
def test_grad_history_across_repeated_backward_and_resets():
    x = av.ones(3, requires_grad=True)
    with viz.record(names={"x": x}) as rec:
        y = (x * 2).sum()
        y.backward(retain_graph=True)
        y.backward()
        x.grad.zero_()
        (x * 3).sum().backward()
        x.grad = None
    g = rec.graph()
    tid = g.tensor("x").id
    hist = g.grad_history[tid]
    assert [(e.kind, e.run, e.how) for e in hist] == [
        ("accumulate", "run0", None), ("accumulate", "run1", None), ("reset", None, "zero_"),
        ("accumulate", "run2", None), ("reset", None, "none")]
    assert [_vals(e.value) for e in hist] == [[2, 2, 2], [4, 4, 4], [0, 0, 0], [3, 3, 3], None]
    tx = g.tensor("x")
    assert tx.grad is None and tx.grad_note == "set to None"
    assert [r.retain_graph for r in g.runs] == [True, False, False]


def test_retain_graph_accumulates_one_then_two():
    x = av.tensor([1.0, 1.0, 1.0], requires_grad=True)
    with viz.record(names={"x": x}) as rec:
        y = x.sum()
        y.backward(retain_graph=True)
        y.backward()
    hist = rec.graph().grad_history[rec.id_of(x)]
    assert [_vals(e.value) for e in hist] == [[1, 1, 1], [2, 2, 2]]


def test_hooks_record_grads_and_printed_text(capsys):
    x = av.tensor([2.0], requires_grad=True)
    with viz.record(names={"x": x}) as rec:
        y = x * 3
        rec.set_names({"y": y})
        y.register_hook(lambda g: print("y grad", g.tolist()))
        x.register_hook(lambda g: g * 10)
        y.grad_fn.register_prehook(lambda gs: print("pre", len(gs)))
        y.sum().backward()
    out = capsys.readouterr().out
    assert "y grad [1.0]" in out and "pre 1" in out  # still printed for real
    g = rec.graph()
    (run,) = g.runs
    by_target = {(g.label(h.target), h.kind): h for h in run.hooks}
    hy = by_target[("y", "tensor")]
    assert hy.target_type == "tensor" and hy.printed == "y grad [1.0]\n"
    assert _vals(hy.grad_in[0]) == [1.0] and hy.grad_out is None
    hx = by_target[("x", "tensor")]
    assert hx.target_type == "tensor"
    assert _vals(hx.grad_in[0]) == [3.0] and _vals(hx.grad_out[0]) == [30.0]
    assert hx.printed == ""
    hp = by_target[("MulBackward0", "pre")]
    assert hp.target_type == "op" and hp.printed == "pre 1\n"
    assert [h.index for h in run.hooks] == sorted(h.index for h in run.hooks)
    assert g.tensor("y").hooks == 1 and g.tensor("x").hooks == 1
    assert _vals(g.tensor("x").grad) == [30.0] == x.grad.tolist()
    assert "[hook ×1]" in viz.dot_source(g)
    import sys

    assert type(sys.stdout).__name__ != "_Tee"


@pytest.mark.parametrize("value", [[0.0], [1.0], [0.0, 0.0]])
def test_hooks_on_leaves_name_the_leaf(value):
    x = av.tensor(value, requires_grad=True)
    with viz.record(names={"x": x}) as rec:
        x.register_hook(lambda g: None)
        (x * 2).sum().backward()
    (h,) = rec.graph().runs[0].hooks
    assert (h.target, h.target_type) == (rec.id_of(x), "tensor")


def test_a_hook_that_raises_leaves_stdout_alone(capsys):
    import sys

    x = av.tensor([1.0], requires_grad=True)
    before = sys.stdout

    def bad(g):
        print("about to fail")
        raise ValueError("nope")

    with viz.record(names={"x": x}) as rec:
        y = x * 2
        y.register_hook(bad)
        with pytest.raises(ValueError):
            y.backward()
    assert sys.stdout is before
    (run,) = rec.graph().runs
    (h,) = run.hooks
    assert h.printed == "about to fail\n" and "ValueError: nope" in h.error
    assert run.error == "ValueError: nope" and run.finished


def test_retain_grad_captures():
    x = av.tensor([1.0, 2.0], requires_grad=True)
    with viz.record() as rec:
        y = x * x
        y.retain_grad()
        rec.set_names({"y": y})
        y.sum().backward()
    g = rec.graph()
    ty = g.tensor("y")
    assert ty.retains_grad and _vals(ty.grad) == [1.0, 1.0] and ty.grad_note is None
    (cap,) = g.runs[0].retained
    assert cap.tensor == ty.id and _vals(cap.grad) == [1.0, 1.0]
    assert "[retain_grad]" in viz.dot_source(g)


def test_autograd_grad_and_create_graph():
    x = av.tensor([3.0], requires_grad=True)
    with viz.record(names={"x": x}) as rec:
        y = x ** 3
        (gx,) = av.autograd.grad(y, x, create_graph=True)
        rec.set_names({"y": y, "gx": gx})
        gx.backward()
    g = rec.graph()
    first, second = g.runs
    assert first.kind == "grad" and first.create_graph and first.inputs == [g.tensor("x").id]
    assert first.accumulated == []  # autograd.grad does not touch .grad
    made = [o for o in g.ops if o.created_in == "run0"]
    assert made and all(o.recorded for o in made)
    tgx = g.tensor("gx")
    assert tgx.created_in == "run0" and _vals(tgx.value) == [27.0]
    assert _vals(g.tensor("x").grad) == [18.0] == x.grad.tolist()
    assert "create_graph run0" in viz.dot_source(g)


def test_no_grad_ops_are_marked_and_in_place_updates_make_versions():
    w = av.tensor([1.0, 2.0], requires_grad=True)
    with viz.record(names={"w": w}) as rec:
        (w * w).sum().backward()
        with av.no_grad():
            w -= 0.5 * w.grad
        loss = (w * 3).sum()
    g = rec.graph()
    untracked = [o for o in g.ops if o.kind == "untracked"]
    assert [o.name for o in untracked][-1] == "sub_"
    assert all(not o.grad_enabled for o in untracked)
    versions = [t for t in g.tensors if t.name == "w"]
    assert [t.version for t in versions] == [0, 1]
    assert _vals(versions[0].value) == [1.0, 2.0] and _vals(versions[1].value) == [0.0, 0.0]
    assert versions[1].role == "leaf"
    mul = g.op(g.tensor(rec.id_of(loss)).grad_fn)
    mul = g.op(mul.next_functions[0][0])
    assert mul.inputs[0] == versions[1].id  # the second product uses the updated w
    assert any(t.name == "w.grad" for t in g.tensors)
    assert "no grad" in viz.dot_source(g)


def test_tracked_in_place_op_continues_the_tensor():
    a = av.tensor([1.0, 2.0], requires_grad=True)
    with viz.record() as rec:
        h = a * 2
        h.add_(1)
        rec.set_names({"h": h})
        out = (h * h).sum()
    g = rec.graph()
    hv = [t for t in g.tensors if t.name == "h"]
    assert [t.version for t in hv] == [0, 1]
    assert _vals(hv[0].value) == [2.0, 4.0] and g.op(hv[0].grad_fn).name == "MulBackward0"
    assert _vals(hv[1].value) == [3.0, 5.0] and g.op(hv[1].grad_fn).name == "AddBackward0"
    assert g.op(hv[1].grad_fn).inputs[0] == hv[0].id  # the engine's pre-write alias is h v0
    top = g.op(g.tensor(rec.id_of(out)).grad_fn)
    assert g.op(top.next_functions[0][0]).inputs == [hv[1].id, hv[1].id]
    assert "h (v1)" in viz.dot_source(g)
    assert [t.id for t in g.outputs] == [rec.id_of(out)]


# -- recorder behaviour ------------------------------------------------------------------------
def test_flushing_the_log_early_changes_nothing(monkeypatch):
    def run():
        x = av.tensor([1.0, 2.0], requires_grad=True)
        with viz.record(names={"x": x}) as rec:
            y = x
            for _ in range(20):
                y = (y * 1.5).sin()
            y.sum().backward()
            mid = rec.graph()  # graph() in the middle replays; recording goes on
            with av.no_grad():
                x.mul_(2)
            (x * x).sum().backward()
        return mid, rec.graph()

    mid_a, a = run()
    monkeypatch.setattr(viz.Recorder, "FLUSH_EVENTS", 7)
    mid_b, b = run()
    assert a == b and mid_a == mid_b
    assert len(a.runs) == 2 and len(mid_a.runs) == 1
    assert [t.version for t in a.tensors if t.name == "x"] == [0, 1]


def test_a_dropped_recorder_goes_at_once():
    """No reference cycle: the recorder (and the graph its log keeps alive) is freed by
    reference counting, not left to the cyclic garbage collector."""
    import gc
    import weakref

    x = av.tensor([1.0, 2.0], requires_grad=True)
    gc.disable()
    try:
        with viz.record() as rec:
            y = (x * 3).sum()
            y.backward()
        refs = weakref.ref(rec), weakref.ref(y.grad_fn)
        del rec, y
        assert [r() for r in refs] == [None, None]
    finally:
        gc.enable()


def test_values_are_copied_when_heard_even_if_changed_in_place_later():
    x = av.tensor([1.0], requires_grad=True)
    with viz.record() as rec:
        y = x * 2
        z = y * 3
        y.register_hook(lambda g: g.mul_(10))  # changes the flowing gradient in place
        z.backward()
        with av.no_grad():
            x.mul_(5)  # and the leaf's value afterwards
    g = rec.graph()
    steps = g.runs[0].steps
    assert [g.label(s.op) for s in steps[:2]] == ["MulBackward0", "MulBackward0"]
    assert _vals(steps[0].grads_out[0]) == [3.0]  # as it left the first node
    assert _vals(steps[1].grads_in[0]) == [30.0]  # after the hook
    assert _vals(g.tensors[0].value) == [1.0]


def test_gradients_given_as_bare_arrays_are_recorded_alike():
    """The engine may hand the recorder its gradient arrays instead of Tensors."""
    bare = viz.Recorder()

    def as_arrays(kind, p):
        if kind == "node_executed":
            p = dict(p)
            for key in ("grads_in", "grads_out"):
                p[key] = tuple(None if t is None else t._data for t in p[key])
        bare._on_event(kind, p)

    x = av.tensor([1.0, 2.0], requires_grad=True)
    big = av.ones(100, requires_grad=True)
    with viz.record() as rec, events.subscribe(as_arrays):
        ((x * x).sum() + (big * 2).sum()).backward()
    a, b = rec.graph(), bare.graph()
    assert a.runs == b.runs and a.runs[0].steps and not b.notes
    assert any(p is not None and p.hist is not None
               for s in b.runs[0].steps for p in s.grads_out)


def test_recording_on_each_device(device):
    x = av.tensor([[1.0, -2.0], [3.0, 4.0]], requires_grad=True, device=device)
    big = av.ones(1000, device=device) * 2
    with viz.record(names={"x": x, "big": big}) as rec:
        y = (x * x).sum() + (big * 1).sum()
        y.backward()
    g = rec.graph()
    tx = g.tensor("x")
    assert tx.device == str(x.device)
    assert _vals(tx.value) == [[1.0, -2.0], [3.0, 4.0]]
    assert _vals(tx.grad) == [[2.0, -4.0], [6.0, 8.0]]
    tb = g.tensor("big")
    assert tb.value.values is None and tb.value.stats.mean == 2.0 and tb.value.stats.std == 0
    assert "tensor([2., 2., 2.,  ..., 2., 2., 2.])" == tb.value.text
    assert viz.dot_source(g) == viz.dot_source(rec.graph())


def test_nothing_is_recorded_outside_and_events_switch_off():
    assert not events.enabled
    rec = viz.record()
    x = av.tensor([1.0], requires_grad=True)
    (x * 2).backward()
    with rec:
        assert events.enabled and rec.recording
    assert not events.enabled and not rec.recording
    g = rec.graph()
    assert g.tensors == [] and g.ops == [] and g.runs == []


def test_same_code_twice_gives_identical_models_dot_and_json():
    def run():
        x = av.tensor([[1.0, -2.0], [0.5, 4.0]], requires_grad=True)
        with viz.record(names={"x": x}) as rec:
            y = (x.relu() * x).sum(dim=1)
            y.register_hook(lambda g: print("g", g.tolist()))
            y.sum().backward()
        return rec.graph()

    a, b = run(), run()
    assert a == b
    assert a.to_json() == b.to_json()
    assert viz.dot_source(a) == viz.dot_source(b)
    assert viz.to_text(a) == viz.to_text(b)


def test_nested_and_repeated_recorders():
    x = av.tensor([1.0, 2.0], requires_grad=True)
    with viz.record(names={"x": x}) as outer:
        a = x * 2
        with viz.record(names={"x": x}) as inner:
            b = (a + 1).sum()
            b.register_hook(lambda g: print("nested hook"))
            b.backward(retain_graph=True)
        c = a.sum()
    with outer:  # resume
        c.backward()
    go, gi = outer.graph(), inner.graph()
    assert [o.name for o in go.ops] == ["AccumulateGrad", "MulBackward0", "AddBackward0",
                                        "SumBackward0", "SumBackward0"]
    assert [o.name for o in gi.ops if o.recorded] == ["AddBackward0", "SumBackward0"]
    assert [o.name for o in gi.ops if not o.recorded] == ["MulBackward0", "AccumulateGrad"]
    assert len(go.runs) == 2 and len(gi.runs) == 1
    assert go.runs[0].hooks[0].printed == gi.runs[0].hooks[0].printed == "nested hook\n"
    assert "made before recording" in viz.dot_source(gi)
    again = viz.record(names={"x": x})
    with again:
        (x * 2).sum().backward()
    assert again.graph().tensors[0].name == "x"


def test_exception_marks_the_recording_incomplete():
    x = av.tensor([1.0], requires_grad=True)
    with pytest.raises(ZeroDivisionError):
        with viz.record() as rec:
            y = x * 2
            1 / 0
    g = rec.graph()
    assert g.incomplete and g.error == "ZeroDivisionError: division by zero"
    assert "incomplete recording: ZeroDivisionError" in viz.dot_source(g)
    other = viz.record()
    other.mark_incomplete(RuntimeError("<b>cell</b>"))
    assert other.graph().error == "RuntimeError: <b>cell</b>"
    assert y.grad_fn is not None


class _FakeModule:
    """Anything with named_parameters() names its parameters like an nn.Module."""

    def __init__(self, **params):
        self._p = params

    def named_parameters(self):
        return list(self._p.items())


def test_names_from_namespace_and_modules():
    w = av.tensor([1.0, 2.0], requires_grad=True)
    b = av.tensor([0.5], requires_grad=True)
    model = _FakeModule(**{"fc1.weight": w, "fc1.bias": b})
    inp = av.tensor([3.0, 4.0])
    ns = {"model": model, "inp": inp, "_": inp, "params": [w], "In": ["code"]}
    with viz.record() as rec:
        out = (model._p["fc1.weight"] * inp).sum() + b
    rec.name_from_namespace({**ns, "out": out})
    g = rec.graph()
    names = {t.name for t in g.tensors}
    assert {"model.fc1.bias", "inp", "out"} <= names
    assert g.tensor(rec.id_of(w)).name == "params[0]"  # containers before module params
    rec.set_names({"weight": w})  # explicit names win
    assert rec.graph().tensor(rec.id_of(w)).name == "weight"
    rec.set_names({"m": model})
    assert rec.graph().tensor(rec.id_of(b)).name == "m.fc1.bias"


def test_draw_walks_a_tensor_without_recording():
    x = av.tensor([2.0], requires_grad=True)
    y = (x + 2) ** 2 + 3
    y.backward()
    g = viz.graph_from_tensors(y, names={"x": x, "y": y})
    assert g.tensor("x").grad is not None and _vals(g.tensor("x").grad) == [8.0]
    assert g.tensor("y").is_output and g.runs == []
    d = viz.draw(y)
    assert "PowBackward0" in d.source and "AccumulateGrad" in d.source
    assert "PowBackward0" in viz.to_text(viz.graph_from_tensors(y))
    assert "saved:" not in viz.dot_source(y, show_saved=True)  # freed by backward
    fresh = x * x
    src = viz.dot_source(fresh, show_saved=True)
    assert "saved: self, other" in src and "style=dotted" in src


def test_large_values_are_copied_then_summarised_at_replay(monkeypatch):
    """Large values are only copied while recording (summarised at replay); the copies are
    bounded: past FLUSH_BYTES the log is replayed into the model between ops."""
    monkeypatch.setattr(viz.Recorder, "FLUSH_BYTES", 100_000)
    w = av.ones(5000, requires_grad=True)  # 20 kB per float32 value
    with viz.record(names={"w": w}) as rec:
        y = w
        for _ in range(12):
            y = y * 2
            assert rec._bytes <= 100_000 + 20_000  # flushed as soon as it is over
        y.sum().backward()
    g = rec.graph()
    last = g.tensor(rec.id_of(y))
    assert last.value.values is None and last.value.stats.mean == 4096.0
    assert last.value.hist.total == 5000
    assert g.tensor("w").grad.stats.max == 4096.0
    steps = g.runs[0].steps
    assert len(steps) == 14  # sum, 12 muls, w's AccumulateGrad: all but sum's 0-d grad large
    assert all(p.stats is not None and p.values is None for s in steps[1:] for p in s.grads_in)


def test_replayed_values_keep_no_large_copies():
    """Once replayed, a recording keeps summaries of large values, not the copies (a long
    training loop under record() must not hold every gradient it saw)."""
    from autograd_viz.viz.preview import SMALL_NUMEL

    w = av.ones(300, 10, requires_grad=True)
    x = av.ones(8, 300)
    with viz.record() as rec:
        for _ in range(3):
            h = (x @ w).tanh()
            h.retain_grad()
            h.register_hook(lambda g: g * 1)
            h.sum().backward()
            w.grad = None
    rec.graph()
    kept = []
    for r in rec._runs:
        kept += r.grad_roots + [v for s in r.steps for v in s[2] + s[3]]
        kept += [v for h in r.hooks for v in h[4] + (h[5] or [])] + [s for _, s in r.retained]
    kept += [e[3] for evs in rec._history.values() for e in evs]
    large = [v for v in kept if isinstance(v, np.ndarray) and v.size > SMALL_NUMEL]
    assert kept and not large


@pytest.mark.parametrize("mutate", ["hook", "function"])
def test_shared_copies_never_hide_a_write_by_user_code(mutate):
    """Large gradients handed from node to node are copied once per run; a hook or a custom
    Function's backward that writes into a gradient in place does not change what was
    recorded before the write, and what follows shows the written values."""

    class Triple(av.autograd.Function):
        @staticmethod
        def forward(ctx, t):
            return t * 1

        @staticmethod
        def backward(ctx, g):
            return g.mul_(3)

    x = av.ones(100, requires_grad=True)
    with viz.record() as rec:
        y = x * 2
        if mutate == "hook":
            y.register_hook(lambda g: g.mul_(3))
            z = (y * 1) * 1
        else:
            z = Triple.apply(y) * 1
        z.sum().backward()
    steps = rec.graph().runs[0].steps

    def means(ps):
        return [p.stats.mean for p in ps if p is not None]

    # sum -> z's "* 1" -> (y * 1, or Triple) -> x * 2 -> x's AccumulateGrad
    assert means(steps[1].grads_out) == [1.0]  # copied before anything wrote to it
    mid = steps[2]
    if mutate == "hook":
        assert (means(mid.grads_in), means(mid.grads_out)) == ([1.0], [1.0])
    else:  # (the node's grads are taken after its backward ran: the write shows there)
        assert (means(mid.grads_in), means(mid.grads_out)) == ([3.0], [3.0])
    assert (means(steps[3].grads_in), means(steps[3].grads_out)) == ([3.0], [6.0])
    assert x.grad.tolist() == [6.0] * 100
