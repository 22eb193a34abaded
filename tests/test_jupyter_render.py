"""Static rendering of a recorded cell: hook and ``.grad`` timeline notes, Recording."""
from __future__ import annotations

import re

import autograd_viz as av
from autograd_viz import viz
from autograd_viz.jupyter import Recording, ShowOptions, drawing
from autograd_viz.jupyter import render as R


def _record(n_backward: int = 2, hook: bool = True):
    a = av.tensor([2.0], requires_grad=True)
    with viz.record() as rec:
        c = (a + 2) ** 2
        if hook:
            c.register_hook(lambda g: print("seen", g) or g * 2)
        for i in range(n_backward):
            c.backward(retain_graph=True)
            if i == 0 and n_backward > 1:
                a.grad = None
    rec.name_from_namespace({"a": a, "c": c})
    return rec.graph()


def test_hook_note_is_attached_to_its_tensor():
    g = _record()
    d = drawing(g)
    cid = g.tensor("c").id
    assert re.search(rf"{cid} -> hooknote0 \[style=dotted", d.source)
    assert f"{{rank=same; {cid}; hooknote0}}" in d.source
    svg = d.svg()
    assert "seen tensor([1.])" in svg and "returned tensor([2.])" in svg
    # the text rendering carries the same facts (for nbval, terminals, no-dot machines)
    assert "| seen tensor([1.])" in d.text()


def test_notes_come_through_extra_not_by_editing_the_source():
    g = _record()
    opts = ShowOptions()
    d = drawing(g, opts)
    assert d.source == viz.dot_source(g, **opts.dot_options(),
                                      extra=lambda body: R.note_lines(g, opts, body))
    plain = viz.draw(g, **opts.dot_options())
    assert d.body.drawn == plain.body.drawn and "hooknote" not in plain.source
    assert d.source.startswith(plain.source[:-2]) and d.source.endswith("}\n")


def test_timeline_note_needs_two_changes_and_shows_resets():
    g = _record(n_backward=2, hook=False)
    entries = dict(R.timelines(g))[g.tensor("a").id]
    assert [w for w, _, _ in entries] == ["run0 +=", "= None", "run1 +="]
    src = drawing(g).source
    assert "gradnote" in src and "a.grad over this cell" in src and "= None" in src
    one = _record(n_backward=1, hook=False)
    assert "gradnote" not in drawing(one).source
    assert "gradnote" not in drawing(g, ShowOptions(timeline=False)).source
    assert "gradnote" not in drawing(g, ShowOptions(grad=False)).source


def test_notes_skip_collapsed_nodes_and_options_reach_dot():
    g = _record()
    d = drawing(g, ShowOptions(max_nodes=2, hooks=True))
    assert "collapsed" in d.source
    for target in re.findall(r"(\w+) -> hooknote\d+", d.source):
        assert target in R.drawn_nodes(d.source)
    d = drawing(g, ShowOptions(rankdir="LR", legend=False, hooks=False))
    assert "rankdir=LR" in d.source and "cluster_legend" not in d.source
    assert "hooknote" not in d.source
    assert ShowOptions(rankdir="bogus").dot_options()["rankdir"] == "BT"


def test_recording_object():
    g = _record()
    r = Recording(g)
    assert r.svg() == r.drawing().svg() and "PowBackward0" in r.svg()
    assert set(r._repr_mimebundle_()) == {"image/svg+xml", "text/plain"}
    assert repr(r) == "Recording(5 tensors, 4 ops, 2 backward run(s))" or repr(r).startswith(
        "Recording(")
    assert r.draw(data=False).source != r.drawing().source
    assert R.summary_line(g).endswith("2 backward runs")


def test_one_line_previews():
    from autograd_viz.viz.preview import preview_array

    assert R.one_line(None) == "None"
    assert R.one_line(preview_array([[1.0, 2.0], [3.0, 4.0]])) == "tensor([[1., 2.], [3., 4.]])"
    big = preview_array(list(range(1000)))
    assert R.one_line(big).startswith("<1000 mean 499.5")
