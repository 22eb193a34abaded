"""Drawings of recorded loops: the first and the last iterations drawn, the ones between
folded into one summary node (``viz.repeats``)."""
from __future__ import annotations

import re
import shutil

import pytest

import autograd_viz as av
from autograd_viz import viz
from autograd_viz.viz.repeats import MIN_RUNS


def _loop(steps: int, *, fresh_batch: bool = False, name_in: int = -1,
          metric: str | None = None):
    """A recorded training loop of a linear model: one backward run per step (``metric``:
    an accuracy computed from each step's output, "grad" or "no_grad")."""
    av.manual_seed(0)
    lin = av.nn.Linear(4, 3)
    x = av.randn(8, 4)
    y = av.randint(0, 3, (8,))
    names = {"lin": lin}
    with viz.record(names=names) as rec:
        for i in range(steps):
            lin.zero_grad()
            xb = av.randn(8, 4) if fresh_batch else x
            loss = av.nn.functional.cross_entropy(lin(xb), y)
            if i == name_in:
                rec.set_names({"picked": loss})
            loss.backward()
            if metric is not None:
                with av.set_grad_enabled(metric == "grad"):
                    out = lin(xb)
                    (out.argmax(1) == y).float().mean()
    return rec.graph()


def _run_ops(g, run_id):
    r = next(r for r in g.runs if r.id == run_id)
    return [s.op for s in r.steps if g.op(s.op).kind != "accumulate"]


def test_middle_iterations_of_a_loop_fold_into_one_summary():
    g = _loop(20)
    body = viz.dot_body(g)
    (s,) = body.summaries
    assert s.title == "18 more iterations like run0 (run1 … run18)"
    for k in range(1, 19):  # every op of the middle runs, and what they made, is in it
        for op in _run_ops(g, f"run{k}"):
            assert body.shown_as(op) == s.id
            made = [t.id for t in g.tensors if t.grad_fn == op]
            assert made and all(body.shown_as(t) == s.id for t in made)
    for op in _run_ops(g, "run0") + _run_ops(g, "run19"):  # first and last: drawn
        assert body.shown_as(op) == op
    for t in g.tensors:  # the parameters and the shared batch stay drawn
        if t.role != "intermediate":
            assert body.shown_as(t.id) == t.id, t
    per_run = len(_run_ops(g, "run0"))
    assert s.size == 18 * (2 * per_run)  # each op and the tensor it made
    assert dict(s.counts)["NllLossBackward0"] == 18
    src = viz.dot_source(g)
    assert "18 more iterations like run0 (run1 … run18)" in src
    assert "repeated iterations:" in src and "large graph" not in src


def test_a_batch_made_for_one_iteration_folds_with_it():
    g = _loop(8, fresh_batch=True)
    body = viz.dot_body(g)
    (s,) = body.summaries
    consts = [t.id for t in g.tensors if t.role == "constant" and t.shape == [8, 4]]
    assert len(consts) == 8
    assert [body.shown_as(t) for t in consts] == [consts[0]] + [s.id] * 6 + [consts[-1]]


@pytest.mark.parametrize("steps", [1, 2, MIN_RUNS - 1])
def test_a_few_iterations_are_all_drawn(steps):
    g = _loop(steps)
    body = viz.dot_body(g)
    assert body.summaries == [] and body.hidden == {}
    assert len(re.findall(r"NllLossBackward0", viz.dot_source(g))) >= steps


def test_max_nodes_0_draws_every_iteration():
    g = _loop(12)
    body = viz.dot_body(g, max_nodes=0)
    assert body.summaries == [] and len(body.drawn) == len(g.tensors) + len(g.ops)


def test_runs_through_one_graph_are_not_iterations():
    """backward() again through the same graph (retain_graph) runs the same ops: nothing
    of one run is its own, so nothing folds."""
    w = av.tensor([1.0, 2.0], requires_grad=True)
    with viz.record() as rec:
        y = (w * w).sum()
        for _ in range(8):
            y.backward(retain_graph=True)
    g = rec.graph()
    assert len(g.runs) == 8 and viz.dot_body(g).summaries == []


def test_alternating_losses_break_the_groups():
    """Iterations must be alike and consecutive: two losses taking turns are not folded."""
    w = av.tensor([1.0, 2.0], requires_grad=True)
    with viz.record() as rec:
        for i in range(12):
            ((w * w).sum() if i % 2 else (w + 1).exp().sum()).backward()
    g = rec.graph()
    assert len(g.runs) == 12 and viz.dot_body(g).summaries == []


def test_a_named_tensor_inside_the_folded_iterations_stays_drawn():
    g = _loop(10, name_in=4)
    body = viz.dot_body(g)
    (s,) = body.summaries
    picked = g.tensor("picked")
    assert body.shown_as(picked.id) == picked.id
    assert body.shown_as(picked.grad_fn) == s.id  # its op is folded, the tensor is not
    assert f"{s.id} -> {picked.id}" in viz.dot_source(g)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed")
def test_a_long_loop_draws_quickly_and_small():
    """200 iterations: three columns (first, summary, last) instead of 200 side by side."""
    g = _loop(200)
    body = viz.dot_body(g)
    assert len(body.drawn) + len(body.summaries) < 40
    svg = viz.draw(g).svg()
    width = float(re.search(r'<svg width="([\d.]+)pt"', svg).group(1))
    assert width < 2500


@pytest.mark.parametrize("metric", ["grad", "no_grad"])
def test_what_hangs_off_the_folded_iterations_folds_with_them(metric):
    """A metric computed from each step's model output (with grad on or off: ops that no
    backward runs) goes into the summary with its iteration; the first and last stay."""
    g = _loop(10, metric=metric)
    body = viz.dot_body(g)
    (s,) = body.summaries
    eqs = [o.id for o in g.ops if o.name == "eq"]
    assert len(eqs) == 10
    assert [body.shown_as(o) for o in eqs] == [eqs[0]] + [s.id] * 8 + [eqs[-1]]
    y = next(t for t in g.tensors if t.dtype == "int64" and t.role == "constant")
    assert body.shown_as(y.id) == y.id  # the labels every iteration uses stay drawn
    assert len(body.drawn) < (len(g.tensors) + len(g.ops)) / 4


def test_each_iteration_keeps_the_data_it_made():
    """Data made by ops at the top of each step (x = rand * 20) goes with its step: the first
    and the last step are drawn with theirs, and the summary touches only what all steps
    share (the parameters' AccumulateGrad nodes and the labels)."""
    av.manual_seed(0)
    lin = av.nn.Linear(4, 3)
    y = av.randint(0, 3, (8,))
    with viz.record(names={"lin": lin}) as rec:
        for _ in range(9):
            lin.zero_grad()
            xb = av.rand(8, 4) * 20 - 10
            av.nn.functional.cross_entropy(lin(xb), y).backward()
    g = rec.graph()
    body = viz.dot_body(g)
    (s,) = body.summaries
    data_ops = [o.id for o in g.ops if o.kind == "untracked"]
    assert len(data_ops) == 18  # a mul and a sub per step
    assert [body.shown_as(o) for o in data_ops] == data_ops[:2] + [s.id] * 14 + data_ops[-2:]
    src = viz.dot_source(g)
    touching = {a for a, b in re.findall(r"^\t(\w+) -> (\w+)", src, re.M) if b == s.id}
    touching |= {b for a, b in re.findall(r"^\t(\w+) -> (\w+)", src, re.M) if a == s.id}
    shared = {o.id for o in g.ops if o.kind == "accumulate"} | {
        t.id for t in g.tensors if t.dtype == "int64"}
    assert touching and touching <= shared, touching - shared
