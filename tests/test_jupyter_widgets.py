"""The explorer widget without a front end: traits, panels and comm messages.

A recording comm stands in for the kernel's: it keeps every message a widget would send to
the browser, and tests feed in the messages a browser would send (a click sets ``selected``).
"""
from __future__ import annotations

import re
from importlib import resources

import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("anywidget")

import comm  # noqa: E402
from comm.base_comm import BaseComm  # noqa: E402

import autograd_viz as av  # noqa: E402
from autograd_viz import viz  # noqa: E402
from autograd_viz.jupyter import Recording, ShowOptions  # noqa: E402
from autograd_viz.jupyter.widgets import Explorer, GraphCanvas, Histogram, panels  # noqa: E402

WIDGET = "application/vnd.jupyter.widget-view+json"


class RecordingComm(BaseComm):
    """A comm that records what would go to the front end."""

    log: list[tuple[str, dict]] = []

    def publish_msg(self, msg_type, data=None, metadata=None, buffers=None, **keys):
        RecordingComm.log.append((msg_type, {"comm_id": self.comm_id, "data": data or {}}))


@pytest.fixture
def sent(monkeypatch):
    """Messages sent to the (absent) front end: ``[(msg_type, {"comm_id", "data"})]``."""
    RecordingComm.log = []
    monkeypatch.setattr(comm, "create_comm", lambda **kw: RecordingComm(**kw))
    return RecordingComm.log


def updates(log, widget, key):
    """Values of ``key`` the kernel sent to the front end for ``widget``."""
    out = []
    for kind, m in log:
        state = m["data"].get("state", {})
        if kind == "comm_msg" and m["comm_id"] == widget.model_id and key in state:
            out.append(state[key])
    return out


def click(widget, **state):
    """What the front end sends when the user changes synced traits."""
    widget._handle_msg({"content": {"data": {"method": "update", "state": state}},
                        "buffers": []})


def record_seed(hook=False, big=False, fail=False) -> Recording:
    x = av.ones(5, requires_grad=True)
    w1 = av.tensor(2.0, requires_grad=True)
    w2 = av.tensor(3.0, requires_grad=True)
    b = av.tensor(4.0)
    big_w = av.arange(100.0).reshape(10, 10).requires_grad_() if big else None
    error = None
    with viz.record() as rec:
        try:
            l1 = x * w1
            l2 = l1 + b
            l1.retain_grad()
            if hook:
                l2.register_hook(lambda g: print("hook <b>$x$</b> got", g))
            l3 = l2 * w2
            y = l3.mean()
            if big:
                y = y + (big_w * 2).sum()
            if fail:
                raise ValueError("boom")
            y.backward(retain_graph=True)
            w1.grad.zero_()
            y.backward()
        except ValueError as exc:
            error = exc
            rec.mark_incomplete(exc)
    rec.name_from_namespace(locals())
    return Recording(rec.graph(), rec, ShowOptions(), error)


# --------------------------------------------------------------------------- package files


def test_front_end_files_ship_in_the_package_without_cdn():
    files = resources.files("autograd_viz.jupyter.widgets")
    js = (files / "explorer.js").read_text()
    css = (files / "explorer.css").read_text()
    assert "export default { render }" in js
    assert not re.search(r"^\s*import\b", js, re.M), "the ESM must not import anything"
    assert "http://" not in js + css and "https://" not in js + css
    # anywidget sends the file contents (not a URL) with the widget state
    c = GraphCanvas()
    assert c._esm == js and c._css == css


# --------------------------------------------------------------------------- explorer


def test_explorer_traits_and_panels(sent):
    rec = record_seed()
    ex = Explorer(rec)
    g = rec.graph
    assert rec.explorer is ex
    assert ex.canvas.svg.lstrip().startswith("<?xml") or "<svg" in ex.canvas.svg
    assert "MeanBackward0" in ex.canvas.svg and "legend" not in ex.canvas.svg  # HTML legend
    assert ex.canvas.names[g.tensor("w1").id] == "w1"
    assert ex.canvas.names[g.ops[0].id] == g.ops[0].name
    assert ex.step_max == len(ex.steps) == sum(len(r.steps) for r in g.runs) > 0
    assert ex.step == 0 and ex.canvas.step_node == ""
    assert "2 backward runs" in ex.header and "x, w1, w2" in ex.header
    assert "Click a node" in ex.inspector
    assert "replay backward" in ex.step_card
    tl = ex.timeline
    assert "w1" in tl and "zero_()" in tl and "run1 +=" in tl and "l1" in tl
    assert [t[1] for t in ex.toggles] == ["values", "grads", "shapes", "saved", "hooks"]
    assert [ex.show[k] for k in ("data", "grad", "shape", "saved", "hooks")] == [
        True, True, True, False, True]
    # the whole explorer reached the (absent) front end: one widget (and its layout), whose
    # open message carries the JavaScript text and every panel
    opens = [m["data"]["state"] for k, m in sent if k == "comm_open"]
    assert sorted(o["_model_name"] for o in opens) == ["AnyModel", "LayoutModel"]
    (state,) = [o for o in opens if o["_model_name"] == "AnyModel"]
    assert "export default { render }" in state["_esm"] and state["explorer"] is True
    assert state["header"] == ex.header and state["step_max"] == ex.step_max


def test_click_on_a_node_fills_the_inspector(sent):
    rec = record_seed(hook=True)
    ex = Explorer(rec)
    g = rec.graph
    w1 = g.tensor("w1").id
    click(ex.canvas, selected=w1)  # as the browser does when the node is clicked
    html = ex.inspector
    assert 'class="agv-name">w1<' in html and "tensor(3.)" in html
    assert "grad history" in html and "zero_()" in html and "run1 +=" in html
    for prop in ("shape", "dtype", "float32", "device", "cpu", "requires_grad", "is_leaf"):
        assert prop in html
    assert "saved for backward by" in html and "MulBackward0" in html
    # the kernel answered with the inspector's new HTML
    assert any("tensor(3.)" in v for v in updates(sent, ex, "inspector"))

    l2 = g.tensor("l2").id
    html = ex.select("l2")
    assert ex.canvas.selected == l2
    assert "hook calls" in html and "hook &lt;b&gt;$x$&lt;/b&gt; got" in html  # escaped
    assert "mathjax_ignore" in html  # "$x$" must not be typeset
    assert "<b>$x$</b>" not in html

    l1 = g.tensor("l1").id
    html = ex.select(l1)
    assert "retain_grad" in html and "run0 retained" in html and "run1 retained" in html

    op = g.tensor("l3").grad_fn
    html = ex.select(op)
    assert "MulBackward0" in html and "next_functions" in html and "saved tensors" in html
    assert "in backward" in html and "gradient in" in html and "gradient out" in html
    assert "step 2 of" in html  # executed 2nd in both runs

    note = next(n for n in re.findall(r"<title>(hooknote\d+)</title>", ex.canvas.svg))
    assert "hook calls" in ex.select(note)  # a note inspects as the node it is attached to
    assert "Unknown node" in ex.select("nope")
    assert "Click a node" in ex.select(None)


def test_stepper_highlights_each_executed_node(sent):
    rec = record_seed()
    ex = Explorer(rec)
    g = rec.graph
    seen = []
    for k in range(1, len(ex.steps) + 1):
        card = ex.step_to(k)
        fs = ex.steps[k - 1]
        assert ex.canvas.step_node == fs.step.op
        assert ex.canvas.visited == [s.op for s in fs.run.steps[: fs.number - 1]]
        assert g.op(fs.step.op).name in card and "gradient in" in card
        assert g.op(fs.step.op).name in ex.step_label
        seen.append(ex.canvas.step_node)
    assert len(set(seen[: len(g.runs[0].steps)])) == len(g.runs[0].steps)
    # the first step of backward(y) is MeanBackward0 with gradient 1 in, 0.2 out per element
    card = ex.step_to(1)
    assert "MeanBackward0" in card and "tensor(1.)" in card and "0.2000" in card
    assert ex.canvas.step_node == g.tensor("y").grad_fn
    assert updates(sent, ex.canvas, "step_node")[-1] == ex.canvas.step_node
    # the front end's slider (and its play button) drives it the same way
    click(ex, step=2)
    assert ex.canvas.step_node == ex.steps[1].step.op
    assert "step 2/" in updates(sent, ex, "step_label")[-1]
    ex.step_to(0)
    assert ex.canvas.step_node == "" and ex.canvas.visited == []
    assert "replay backward" in ex.step_card
    click(ex, step=10_000)  # out of range: clamped to the last step
    assert ex.step == ex.step_max and ex.canvas.step_node == ex.steps[-1].step.op


def test_toggles_rerender_the_svg(sent):
    rec = record_seed()
    ex = Explorer(rec)
    before = ex.canvas.svg
    assert "tensor(18.)" in before
    click(ex, show={**ex.show, "data": False})  # as the "values" button does
    assert rec.options.data is False
    assert "tensor(18.)" not in ex.canvas.svg
    assert any("tensor(18.)" not in s for s in updates(sent, ex.canvas, "svg"))
    ex.show = {**ex.show, "saved": True}
    assert "self" in ex.canvas.svg  # saved-tensor edge labels
    click(ex, rankdir="LR")  # the layout menu
    assert rec.options.rankdir == "LR" and ex.canvas.rankdir == "LR"
    svg = ex.canvas.svg
    click(ex, rankdir="LR", show=dict(ex.show))  # nothing changed: nothing laid out again
    assert ex.canvas.svg is svg
    click(ex, rankdir="sideways", show={"grad": False})  # odd input: only what is valid
    assert rec.options.rankdir == "LR" and rec.options.grad is False
    assert (rec.options.data, rec.options.saved, rec.options.shape) == (False, True, True)
    # after a toggle only the canvas is laid out; the static bundle, when it is asked for
    # again, follows the options too
    assert rec.drawing()._svg is None
    assert "tensor(18.)" not in ex._repr_mimebundle_()[0]["image/svg+xml"]


def test_update_in_place_keeps_the_widget(sent):
    ex = Explorer(record_seed())
    model_ids = {ex.model_id, ex.layout.model_id}
    ex.canvas.selected = "t0"
    ex.step_to(3)
    n_open = sum(1 for k, _ in sent if k == "comm_open")
    with viz.record() as r:
        a = av.tensor([1.0, 2.0], requires_grad=True)
        s = (a * a).sum()
        s.backward()
    r.name_from_namespace({"a": a, "s": s})
    ex.update(Recording(r.graph(), r), step=True)
    assert {ex.model_id, ex.layout.model_id} == model_ids
    assert sum(1 for k, _ in sent if k == "comm_open") == n_open  # no new widgets, no JS resent
    assert "SumBackward0" in ex.canvas.svg and "MeanBackward0" not in ex.canvas.svg
    assert ex.canvas.selected == "" and ex.step == 1 and ex.step_max == len(ex.steps)
    assert ex.canvas.step_node == ex.graph.tensor("s").grad_fn


def test_the_explorer_is_one_widget_and_updates_in_one_message(sent):
    """The explorer is one comm (and its layout's), not one per box, button and pane; an
    update sends every changed part in one message; without a backward the timeline is
    empty (the front end hides it) and it comes back with the next backward."""
    ex = Explorer(record_seed())
    assert ex.timeline and [k for k, _ in sent].count("comm_open") == 2
    n = len(sent)
    with viz.record() as r:
        (av.tensor([1.0, 2.0], requires_grad=True) * 2).sum()  # no backward: no timeline
    ex.update(Recording(r.graph(), r))
    assert ex.timeline == "" and ex.step_max == 0
    msgs = [m for k, m in sent[n:] if k == "comm_msg"]
    assert len(msgs) == 1 and {"svg", "header", "timeline", "step_max"} <= set(
        msgs[0]["data"]["state"])
    ex.update(record_seed())
    assert ex.timeline and [k for k, _ in sent].count("comm_open") == 2


def test_explorer_css_lays_out_the_parts():
    """The shipped stylesheet lays the explorer's parts out (graph and inspector side by
    side, wrapping below when narrow) and keeps hidden parts hidden."""
    css = resources.files("autograd_viz.jupyter.widgets").joinpath("explorer.css").read_text()
    for rule in (".agv-explorer .agv-inspector-box { flex: 2 1 300px; min-width: 0; }",
                 ".agv-explorer .agv-main { display: flex; flex-flow: row wrap; }",
                 ".agv-explorer .agv-canvas-box { width: 100%; box-sizing: border-box; }",
                 ".agv-explorer [hidden] { display: none !important; }"):
        assert rule in css
    assert "flex: 3 1 560px" in css


def test_mimebundle_has_widget_svg_and_deterministic_text(sent):
    a, b = Explorer(record_seed(hook=True)), Explorer(record_seed(hook=True))
    (ba, meta), (bb, _) = a._repr_mimebundle_(), b._repr_mimebundle_()
    assert meta == {}  # (anywidget adds metadata in Colab only)
    assert {WIDGET, "image/svg+xml", "text/plain"} <= set(ba)
    assert ba[WIDGET]["model_id"] == a.model_id
    assert ba["text/plain"] == bb["text/plain"] == a.recording.text()
    assert ba["image/svg+xml"] == bb["image/svg+xml"]
    assert "legend" in ba["image/svg+xml"]  # the static drawing keeps Graphviz's legend
    assert not re.search(r"0x[0-9a-f]{6,}", ba["text/plain"])
    assert repr(a).startswith("Explorer(") and "2 backward runs" in repr(a)
    assert "0x" not in repr(a) and "0x" not in repr(a.canvas)


def test_incomplete_recording_banner_and_no_steps(sent):
    ex = Explorer(record_seed(fail=True))
    assert ex.graph.incomplete
    assert "Incomplete recording" in ex.header and "ValueError: boom" in ex.header
    assert ex.step_max == 0 and "No backward call" in ex.step_card
    assert "MulBackward0" in ex.canvas.svg


def test_histograms_for_larger_tensors(sent):
    rec = record_seed(big=True)
    g = rec.graph
    big = next(t for t in g.tensors if t.shape == [10, 10] and t.role == "leaf")
    assert big.value.values is None  # summarised in the model, with a histogram
    assert big.value.hist.total == 100 and big.value.hist.counts == [5] * 20
    ex = Explorer(rec)
    html = ex.select(big.id)
    assert html.count('class="agv-hist"') == 2 and "histogram of 100 values" in html
    assert "min 0" in html  # the statistics stay
    # an unnamed intermediate (big_w * 2) and its gradient get theirs from the recording
    mid = next(t for t in g.tensors if t.shape == [10, 10] and t.role == "intermediate")
    assert mid.name is None and mid.value.hist is not None
    html = ex.select(mid.id)
    assert 'class="agv-hist"' in html and "histogram of 100 values" in html
    h = Histogram.from_hist(mid.value.hist)
    assert (h.lo, h.hi, sum(h.counts)) == (0.0, 198.0, 100)
    h = Histogram.of(list(range(100)))
    assert sum(h.counts) == 100 and h.lo == 0 and h.hi == 99
    # small tensors with 16..64 elements: from the preview's values
    p = viz.model.Preview(shape=[4, 4], dtype="float32", text="t",
                          values=[[float(i + 4 * j) for i in range(4)] for j in range(4)])
    assert panels.histogram_of(p).numel == 16
    p.shape = [3]
    assert panels.histogram_of(p) is None
    # a large preview without a histogram (e.g. complex values): statistics only
    p = viz.model.Preview(shape=[100], dtype="complex64", text="t")
    assert panels.histogram_of(p) is None


def test_escaping_in_every_panel():
    from autograd_viz.viz.model import Graph, TensorNode

    evil = "<img src=x onerror=alert(1)>"
    g = Graph(tensors=[TensorNode(id="t0", name=evil, shape=[1], dtype="float32", device="cpu",
                                  requires_grad=True, is_leaf=True, role="leaf",
                                  grad_note=evil)],
              incomplete=True, error=evil, notes=[evil])
    for html in (panels.inspector_html(g, "t0"), panels.header_html(g, names=[evil]),
                 panels.timeline_html(g), panels.step_html(g, [], 0)):
        assert "<img" not in html


def test_histogram_is_taken_when_recorded():
    """The histogram is the values' as they were when recorded, not at the end of the cell
    (in-place changes later do not alter it), for values and grads alike."""
    with viz.record() as rec:
        w = av.randn(20, 20, requires_grad=True)
        small = av.tensor([1.0], requires_grad=True)
        (w.sum() * small).backward()
        with av.no_grad():
            w.mul_(0)
    g = rec.graph()
    versions = [x for x in g.tensors if x.shape == [20, 20]]
    first, last = versions[0], versions[-1]
    assert first.role == "leaf" and first.value.hist.total == 400
    assert max(first.value.hist.counts) < 400  # randn values, spread over the bins
    assert last.version == 1 and last.value.hist.counts[10] == 400  # after mul_(0): all 0
    assert first.grad.hist.total == 400 and max(first.grad.hist.counts) == 400  # all ones


def test_stepper_highlights_the_summary_of_a_collapsed_node(sent):
    a = av.tensor([1.0, 2.0], requires_grad=True)
    with viz.record() as rec:
        h = a
        for _ in range(60):
            h = h * 1.5
        y = h.sum()
        y.backward()
    rec.set_names({"a": a, "y": y})
    ex = Explorer(Recording(rec.graph(), rec, ShowOptions(max_nodes=30)))
    d = ex._drawing
    assert d.summaries and "<title>sum0</title>" in ex.canvas.svg
    drawn = set(d.body.drawn)
    folded_steps = 0
    for k in range(1, len(ex.steps) + 1):
        card = ex.step_to(k)
        op = ex.steps[k - 1].step.op
        assert ex.canvas.step_node in drawn  # always a node the canvas has
        assert set(ex.canvas.visited) <= drawn and ex.canvas.step_node not in ex.canvas.visited
        if op in d.hidden:
            folded_steps += 1
            assert ex.canvas.step_node == d.hidden[op] == ex.shown_as(op)
            assert "drawn inside the collapsed box" in card and d.hidden[op] in card
        else:
            assert ex.canvas.step_node == op and "collapsed box" not in card
    assert folded_steps > 10
    # the summary node's inspector lists what it hides (links select them)
    html = ex.select("sum0")
    assert "collapsed nodes" in html and "MulBackward0" in html
    member = d.body.members("sum0")[0]
    assert f'data-node="{member}"' in html
    # toggles re-render and re-map the current step
    ex.step_to(len(ex.steps) // 2)
    click(ex, show={**ex.show, "data": False})
    assert ex.canvas.step_node in set(ex._drawing.body.drawn)


def test_flat_steps_are_made_on_demand_and_number_every_run_in_order():
    """The stepper's steps (one per executed node of every backward run, tens of thousands
    in a recorded loop) are made when asked for, and are what numbering the runs' steps one
    after the other gives: with indexing from the end, slices, and runs that executed
    nothing."""
    x = av.tensor([1.0, 2.0], requires_grad=True)
    with viz.record() as rec:
        (x * 2).sum().backward()
        av.autograd.grad((x * x).sum(), [x])
        with av.no_grad():
            pass
        (x.exp() * 3).sum().backward()
    g = rec.graph()
    eager = [panels.FlatStep(r, k, s) for r in g.runs for k, s in enumerate(r.steps, 1)]
    steps = panels.flat_steps(g)
    assert len(steps) == len(eager) >= 9 and len(g.runs) == 3
    assert list(steps) == eager and steps[-1] == eager[-1] and steps[-len(eager)] == eager[0]
    assert steps[2:7] == eager[2:7] and steps[::-3] == eager[::-3]
    for bad in (len(eager), -len(eager) - 1):
        with pytest.raises(IndexError):
            steps[bad]
    g.runs[1].steps = []  # (a run that executed nothing numbers nothing)
    assert list(panels.flat_steps(g)) == [f for f in eager if f.run is not g.runs[1]]
    g.runs = []
    assert len(panels.flat_steps(g)) == 0 and list(panels.flat_steps(g)) == []


def test_grad_timeline_of_a_long_loop_keeps_its_first_and_last_events():
    """The explorer's ``.grad`` timeline shows at most MAX_TIMELINE_PANEL events per tensor
    (a recorded training loop makes two per step): the first and the last halves, with the
    number left out between them."""
    from autograd_viz.jupyter.render import MAX_TIMELINE_PANEL, timelines

    w = av.tensor([0.5, -0.5], requires_grad=True)
    with viz.record(names={"w": w}) as rec:
        for _ in range(60):
            w.grad = None
            (w * w).sum().backward()
    g = rec.graph()
    (_, entries), = timelines(g)
    html = panels.timeline_html(g)
    shown = re.findall(r'agv-ev agv-ev-(\w+)"', html)
    assert len(entries) > MAX_TIMELINE_PANEL
    assert len(shown) == MAX_TIMELINE_PANEL + 1 and shown.count("cut") == 1
    assert shown.index("cut") == MAX_TIMELINE_PANEL // 2
    assert f"… {len(entries) - MAX_TIMELINE_PANEL} more" in html
    words = re.findall(r'agv-ev-w">([^<]*)<', html)
    assert words[0] == entries[0][0] and words[-1] == entries[-1][0] == "run59 +="


def test_explorer_of_a_recorded_loop_draws_first_and_last_iterations(sent):
    """A 12-step loop: the canvas has one summary for the ten middle iterations; its
    inspector says so, and stepping through a middle run highlights that summary."""
    w = av.tensor([0.5, -0.5], requires_grad=True)
    with viz.record() as rec:
        for _ in range(12):
            w.grad = None
            (w * w).sum().backward()
    rec.set_names({"w": w})
    ex = Explorer(Recording(rec.graph(), rec))
    (s,) = ex._drawing.summaries
    assert s.title == "10 more iterations like run0 (run1 … run10)"
    g = ex.graph  # the front end gets the names of the drawn nodes, not of every node
    assert set(ex.canvas.names) == set(ex._drawing.body.drawn) - {s.id}
    assert len(ex.canvas.names) < (len(g.tensors) + len(g.ops)) / 3
    assert "10 more iterations like run0" in ex.canvas.svg
    assert "w → (SumBackward0) ×12" in ex.header  # one output per step, counted
    html = ex.select(s.id)
    assert "This box stands for 10 more iterations like run0 (run1 … run10)" in html
    middle = next(k for k, f in enumerate(ex.steps, 1) if f.run.id == "run5")
    ex.step_to(middle)
    assert ex.canvas.step_node == s.id


def test_work_is_done_while_graphviz_lays_out(sent, monkeypatch):
    """``start_layout`` starts both layouts and makes the saved output's text without
    waiting for an SVG; the explorer fills its panels before it waits for the canvas's."""
    import importlib

    from autograd_viz.jupyter.widgets import explorer as explorer_mod

    draw_mod = importlib.import_module("autograd_viz.viz.draw")
    calls = []
    real_text, real_svg = draw_mod.to_text, draw_mod.Drawing.svg
    monkeypatch.setattr(draw_mod, "to_text", lambda g: calls.append("text") or real_text(g))
    monkeypatch.setattr(draw_mod.Drawing, "svg",
                        lambda self: calls.append("svg") or real_svg(self))
    rec = record_seed()
    explorer_mod.start_layout(rec)
    assert calls == ["text"]

    seen = {}
    real_render = explorer_mod.render_svgs

    def render(drawings):
        seen.update(card=ex.step_card, inspector=ex.inspector, names=dict(ex.names),
                    svg=ex.svg)
        return real_render(drawings)

    monkeypatch.setattr(explorer_mod, "render_svgs", render)
    ex = Explorer()
    ex.update(rec)
    assert "replay backward" in seen["card"] and "Click a node" in seen["inspector"]
    assert seen["names"] and seen["svg"] == ""  # panels first, then the wait for the SVG
    assert "MeanBackward0" in ex.svg
    assert rec.drawing()._repr_mimebundle_()["text/plain"] == real_text(rec.graph)
