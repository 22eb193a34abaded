"""Rendering hand-built graph models: DOT grammar, escaping, determinism, collapse of large
graphs, the text renderer, and draw() with and without Graphviz's ``dot``."""
from __future__ import annotations

import importlib
import re
import shutil

import numpy as np
import pytest

from autograd_viz import viz
from autograd_viz.viz.builder import derive_edges
from autograd_viz.viz.draw import INSTALL_HINT, Drawing
from autograd_viz.viz.model import (
    BackwardRun,
    BackwardStep,
    Graph,
    OpNode,
    SavedRef,
    TensorNode,
)
from autograd_viz.viz.preview import preview_array

EVIL = "<img src=x onerror=alert(1)>"
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` not installed")


def _t(i, role, name=None, grad_fn=None, value=1.0, **kw):
    return TensorNode(
        f"t{i}", name, [1], "float32", "cpu", role != "constant", role != "intermediate",
        role, grad_fn=grad_fn, value=preview_array(np.array([value], np.float32)), **kw)


def small_graph(name="x") -> Graph:
    """y = x * c (x a leaf, c a constant), with one backward run."""
    tensors = [
        _t(0, "leaf", name, grad=preview_array(np.array([3.0], np.float32))),
        _t(1, "constant", "c", value=3.0),
        _t(2, "intermediate", "y", grad_fn="op1", value=3.0, is_output=True,
           grad_note="non-leaf, no retain_grad", hooks=1),
    ]
    ops = [
        OpNode("op0", "AccumulateGrad", "accumulate", variable="t0"),
        OpNode("op1", "MulBackward0", next_functions=[("op0", 0), (None, 0)],
               inputs=["t0", "t1"], outputs=["t2"]),
    ]
    runs = [BackwardRun("run0", "backward", roots=["t2"],
                        steps=[BackwardStep(1, "op1"), BackwardStep(2, "op0")])]
    return Graph(tensors=tensors, ops=ops, edges=derive_edges(tensors, ops), runs=runs)


def chain_graph(n: int, shared_constant: bool = False) -> Graph:
    """x -> n ops in a chain (each also taking a constant) -> output."""
    tensors = [_t(0, "leaf", "x")]
    ops = [OpNode("op0", "AccumulateGrad", "accumulate", variable="t0")]
    prev_t, prev_op = "t0", "op0"
    const = None
    if shared_constant:
        tensors.append(_t(1, "constant", "c"))
        const = "t1"
    for i in range(n):
        if not shared_constant:
            tensors.append(_t(len(tensors), "constant"))
            const = tensors[-1].id
        oid = f"op{len(ops)}"
        out = _t(len(tensors), "intermediate", grad_fn=oid, is_output=(i == n - 1))
        tensors.append(out)
        ops.append(OpNode(oid, "MulBackward0", next_functions=[(prev_op, 0), (None, 0)],
                          inputs=[prev_t, const], outputs=[out.id]))
        prev_t, prev_op = out.id, oid
    return Graph(tensors=tensors, ops=ops, edges=derive_edges(tensors, ops))


def wide_graph(n: int) -> Graph:
    """s = sum of n products x_i * w_i (leaves), as a chain of adds."""
    tensors, ops = [], []

    def leaf(name):
        tensors.append(_t(len(tensors), "leaf", name))
        ops.append(OpNode(f"op{len(ops)}", "AccumulateGrad", "accumulate",
                          variable=tensors[-1].id))
        return tensors[-1].id, ops[-1].id

    def op(name, a, b):
        oid = f"op{len(ops)}"
        out = _t(len(tensors), "intermediate", grad_fn=oid)
        ops.append(OpNode(oid, name, next_functions=[(a[1], 0), (b[1], 0)],
                          inputs=[a[0], b[0]], outputs=[out.id]))
        tensors.append(out)
        return out.id, oid

    acc = None
    for i in range(n):
        p = op("MulBackward0", leaf(f"x{i}"), leaf(f"w{i}"))
        acc = p if acc is None else op("AddBackward0", acc, p)
    tensors[-1].is_output = True
    return Graph(tensors=tensors, ops=ops, edges=derive_edges(tensors, ops))


def _nodes(src: str) -> list[str]:
    return re.findall(r"^\t+(\w+) \[label=", src, flags=re.M)


# -- grammar ------------------------------------------------------------------------------
def test_dot_shows_names_values_grads_and_a_legend():
    src = viz.dot_source(small_graph())
    assert _nodes(src) == ["t0", "op0", "t1", "op1", "t2", "legend"]
    assert "<B>x</B>" in src and "tensor([1.])" in src and "grad: tensor([3.])" in src
    assert "grad: None (non-leaf, no retain_grad)" in src
    assert "MulBackward0" in src and "AccumulateGrad" in src
    assert "[hook ×1]" in src
    assert "backward #1" in src
    assert "\tt0 -> op0" in src and "\top0 -> op1" in src and "\top1 -> t2" in src
    assert re.search(r"\tt1 -> op1 \[style=dashed", src)  # constants: dashed
    legend = src[src.index("cluster_legend"):]
    for entry in ("leaf (requires grad)", "constant (no grad", "output", "AccumulateGrad",
                  "op (backward node)", "[hook ×n]"):
        assert entry in legend


def test_options_change_what_labels_show():
    g = small_graph()
    src = viz.dot_source(g, show_data=False, show_grad=False, show_shape=False,
                         show_hooks=False, rankdir="LR", legend=False)
    assert "tensor([1.])" not in src and "grad:" not in src and "float32" not in src
    assert "hook" not in src and "cluster_legend" not in src and "rankdir=LR" in src
    hl = viz.dot_source(g, highlight=["y", "op0"])
    assert len(re.findall(r'color="#e8000b" penwidth=3', hl)) == 2


def test_saved_tensors_only_when_asked():
    g = small_graph()
    g.ops[1].saved = [SavedRef("self", "t0"), SavedRef("other", "t1")]
    g.edges = derive_edges(g.tensors, g.ops)
    assert "style=dotted" not in viz.dot_source(g)
    src = viz.dot_source(g, show_saved=True)
    assert src.count("style=dotted") == 2 and "saved: self, other" in src


def test_to_dot_returns_a_digraph_with_the_same_source():
    graphviz = pytest.importorskip("graphviz")
    d = viz.to_dot(small_graph())
    assert isinstance(d, graphviz.Digraph)
    assert d.source == viz.dot_source(small_graph())


# -- escaping -----------------------------------------------------------------------------
def test_every_user_string_is_escaped():
    g = small_graph(name=EVIL)
    g.ops[1].name = EVIL
    g.error, g.incomplete = f"ValueError: {EVIL}", True
    g.notes = [EVIL]
    src = viz.dot_source(g)
    assert "<img" not in src
    assert "&lt;img src=x onerror=alert(1)&gt;" in src
    assert src.count("&lt;img") == 4  # tensor name, op name, error note, note
    txt = viz.to_text(g)
    assert EVIL in txt  # text output is plain text


@needs_dot
def test_escaped_names_render_as_text_in_svg():
    g = small_graph(name=EVIL + ' " & \\ \x07')
    svg = viz.draw(g).svg()
    assert svg is not None and "<img" not in svg
    assert "&lt;img src=x onerror=alert(1)&gt;" in svg


# -- determinism --------------------------------------------------------------------------
def test_dot_is_deterministic():
    assert viz.dot_source(chain_graph(50)) == viz.dot_source(chain_graph(50))
    assert viz.dot_source(wide_graph(200)) == viz.dot_source(wide_graph(200))


@needs_dot
def test_svg_is_deterministic_and_real():
    a, b = viz.draw(small_graph()).svg(), viz.draw(small_graph()).svg()
    assert a == b
    assert a.startswith("<?xml") and "<svg" in a and "MulBackward0" in a
    assert "Generated by graphviz" not in a  # no version stamp to differ between machines
    bundle = viz.draw(small_graph())._repr_mimebundle_()
    assert bundle["image/svg+xml"] == a and "MulBackward0" in bundle["text/plain"]


@needs_dot
def test_drawings_rendered_side_by_side_are_the_same_svgs():
    from autograd_viz.viz.draw import render_svgs

    ds = [viz.draw(small_graph()), viz.draw(chain_graph(30), rankdir="LR"),
          viz.draw(small_graph(), legend=False)]
    render_svgs(ds)
    assert [d._svg for d in ds] == [viz.draw(small_graph()).svg(),
                                    viz.draw(chain_graph(30), rankdir="LR").svg(),
                                    viz.draw(small_graph(), legend=False).svg()]
    assert len({d._svg for d in ds}) == 3


@needs_dot
@pytest.mark.parametrize("suffix, magic", [(".svg", b"<?xml"), (".png", b"\x89PNG"),
                                           (".pdf", b"%PDF"), (".dot", b"digraph")])
def test_save_formats(tmp_path, suffix, magic):
    d = viz.draw(small_graph())
    out = d.save(tmp_path / f"g{suffix}")
    assert out == tmp_path / f"g{suffix}"
    assert out.read_bytes().startswith(magic)


# -- no Graphviz ----------------------------------------------------------------------------
def test_without_dot_draw_falls_back_to_text(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` anywhere
    d = viz.draw(small_graph())
    assert isinstance(d, Drawing)
    assert d.svg() is None
    bundle = d._repr_mimebundle_()
    assert set(bundle) == {"text/plain"}
    text = bundle["text/plain"]
    assert text.splitlines()[0] == INSTALL_HINT and "apt-get install graphviz" in text
    assert "MulBackward0" in text and repr(d) == text
    with pytest.warns(RuntimeWarning, match="apt-get install graphviz"):
        out = d.save(tmp_path / "g.svg")
    assert out == tmp_path / "g.dot" and out.read_text().startswith("digraph")
    with pytest.warns(RuntimeWarning):
        assert d.save(tmp_path / "g.png").suffix == ".dot"
    assert d.save(tmp_path / "h.dot").read_text() == d.source


def test_dot_failure_falls_back_to_text(monkeypatch):
    draw_mod = importlib.import_module("autograd_viz.viz.draw")  # `viz.draw` is the function

    def broken(source, fmt):
        raise RuntimeError("dot failed (1): syntax error")

    monkeypatch.setattr(draw_mod, "run_dot", broken)
    d = viz.draw(small_graph())
    assert d.svg() is None
    assert "could not draw" in d._repr_mimebundle_()["text/plain"]


# -- large graphs ---------------------------------------------------------------------------
def test_long_chain_collapses_with_counts_and_a_note():
    g = chain_graph(2000)
    src = viz.dot_source(g, max_nodes=300)
    nodes = _nodes(src)
    assert len(nodes) <= 301  # + legend
    assert "sum0" in nodes
    assert "nodes collapsed" in src and "max_nodes=300" in src
    assert "MulBackward0 ×" in src
    # both ends stay visible: the leaf and the output
    assert "t0" in nodes and g.tensors[-1].id in nodes
    full = viz.dot_source(g, max_nodes=0)
    assert len(_nodes(full)) == len(g.tensors) + len(g.ops) + 1


def test_shared_constant_keeps_one_counted_edge_into_the_summary():
    g = chain_graph(1000, shared_constant=True)
    src = viz.dot_source(g, max_nodes=100)
    assert len(_nodes(src)) <= 101
    assert re.search(r"\tt1 -> sum\d+ \[style=dashed color=\"#999999\" label=<×\d", src)


def test_wide_graph_collapses_far_from_the_outputs():
    g = wide_graph(1000)
    src = viz.dot_source(g, max_nodes=200)
    nodes = _nodes(src)
    assert len(nodes) <= 201
    assert g.tensors[-1].id in nodes  # the output is kept
    assert "nodes collapsed" in src and "AddBackward0 ×" in src


def test_layout_cost_breaks_cycles_as_dot_does():
    from autograd_viz.viz.collapse import _Graph

    # a chain x0 -> ... -> x20 (ranks 0..20) and a leaf L feeding x5, x10, x15 and x20: L
    # sits just below x5 and its other edges span 5, 10 and 15 virtual nodes
    chain = [(f"x{i}", f"x{i + 1}") for i in range(20)]
    feeds = [("L", f"x{i}") for i in (5, 10, 15, 20)]
    nodes = [f"x{i}" for i in range(21)] + ["L"]
    assert _Graph(nodes, chain + feeds).cost() == 22 + 30
    # an op that saved its own output draws an edge back to it: a two-node cycle, which dot
    # turns round; it must not hide the rest of the graph from the estimate
    assert _Graph(nodes, chain + feeds + [("x20", "x19")]).cost() == 22 + 30
    assert _Graph(nodes, chain + feeds + [("x20", "x0")]).cost() == 22 + 30 + 19


def test_saved_tensors_of_a_long_recorded_chain_stay_within_the_layout_budget():
    # each tanh saves its output (a cycle in the drawing) and the three shared leaves feed
    # every step: the drawing with saved tensors once kept 299 nodes whose layout took
    # Graphviz minutes; it must be collapsed as far as its (labelled) budget says
    import autograd_viz as av
    from autograd_viz.viz.collapse import _Graph, default_max_cost

    a, b, c = (av.tensor(v, requires_grad=True) for v in (0.5, 0.1, 0.2))
    x = av.tensor([1.0], requires_grad=True)
    with viz.record() as rec:
        y = x
        for _ in range(50):
            y = (y * a + b).tanh() - c
        y.sum().backward()
    g = rec.graph()
    for saved in (False, True):
        src = viz.dot_source(g, show_saved=saved, legend=False)
        nodes = _nodes(src)
        edges = re.findall(r"^\t(\w+) -> (\w+)", src, re.M)
        assert _Graph(nodes, edges).cost() <= default_max_cost(300, labelled=saved)
        assert "nodes collapsed" in src and len(nodes) < 100
    assert 'label=<result>' in src  # the saved outputs are still drawn


def test_named_and_hooked_tensors_survive_collapse():
    g = chain_graph(3000)
    g.tensors[3001].name = "middle"
    g.tensors[4001].hooks = 2
    src = viz.dot_source(g, max_nodes=300, highlight=["t2501"])
    nodes = _nodes(src)
    assert {"t3001", "t4001", "t2501"} <= set(nodes) and len(nodes) <= 301
    assert "<B>middle</B>" in src and "[hook ×2]" in src


def test_drawing_tells_which_summary_hides_which_node():
    g = chain_graph(2000)
    d = viz.draw(g, max_nodes=300)
    ids = {s.id for s in d.summaries}
    assert d.hidden and set(d.hidden.values()) == ids
    assert sum(s.size for s in d.summaries) == len(d.hidden)
    nodes = set(_nodes(d.source))
    for nid, sid in d.hidden.items():
        assert nid not in nodes and sid in nodes and d.shown_as(nid) == sid
    assert d.shown_as("t0") == "t0" and d.shown_as("nope") is None and d.shown_as(None) is None
    mid = next(iter(d.hidden))
    assert mid in d.body.members(d.hidden[mid])
    assert set(d.body.drawn) == nodes - {"legend"}
    assert viz.draw(chain_graph(40)).hidden == {}
    # the body is what dot_body gives, and the source is built from it
    assert viz.dot_body(g, max_nodes=300).hidden == d.hidden
    assert d.source == viz.dot_source(g, max_nodes=300)


def test_extra_dot_statements():
    g = small_graph()
    base = viz.dot_source(g)
    src = viz.dot_source(g, extra=['n1 [label="a note"]', "\tt2 -> n1\n", ""])
    assert src == base[:-2] + '\tn1 [label="a note"]\n\tt2 -> n1\n}\n'
    assert viz.dot_source(g, extra="n1 [shape=note]").endswith("\tn1 [shape=note]\n}\n")
    seen = []

    def attach(body):
        seen.append(body)
        return [f"{n}_n [label=\"{n}\"]" for n in body.drawn if n.startswith("t")]

    src = viz.to_dot(g, extra=attach).source
    assert seen[0].graph is g and seen[0].hidden == {} and "op1" in seen[0].drawn
    assert '\tt0_n [label="t0"]\n' in src and "t2_n" in src
    d = viz.draw(g, extra=attach)
    assert d.source.endswith('\tt2_n [label="t2"]\n}\n') and d.source == src


def test_notes_beside_nodes_escaped_and_following_collapse():
    g = small_graph()
    src = viz.dot_source(g, notes={"y": EVIL + "\nline 2", "op1": "the product", "zz": "gone"})
    assert EVIL not in src and "&lt;img src=x onerror=alert(1)&gt;" in src
    assert "\tt2 -> note0 [style=dotted" in src and "{rank=same; t2; note0}" in src
    assert "\top1 -> note1 " in src and "note2" not in src  # unknown node: no note
    big = chain_graph(2000)
    d = viz.draw(big, max_nodes=300, notes={"t3001": "folded"})
    sid = d.hidden["t3001"]
    assert f"\t{sid} -> note0 [style=dotted" in d.source


def test_small_graphs_never_collapse():
    src = viz.dot_source(chain_graph(40), max_nodes=300)
    assert "collapsed" not in src


def test_dot_of_a_10000_op_graph_collapses_to_max_nodes():
    # how long this takes is measured in benchmarks/ (never asserted in tests)
    g = chain_graph(10_000)  # 10,000 ops and 20,001 tensors
    src = viz.dot_source(g)
    assert len(_nodes(src)) <= 301
    assert "collapsed" in src


# -- text --------------------------------------------------------------------------------
def test_text_tree():
    txt = viz.to_text(small_graph())
    lines = txt.splitlines()
    assert lines[0].startswith("autograd graph (record): 3 tensors, 2 ops, 1 backward run")
    assert lines[1].startswith("y [output, hook ×1] (1,) float32 = tensor([3.])")
    assert "└── MulBackward0 (op1)" in txt and "x [leaf]" in txt and "grad: tensor([3.])" in txt
    assert "run0: backward(y)" in txt and "1. MulBackward0 (op1)" in txt


def test_text_of_huge_graphs_is_bounded():
    txt = viz.to_text(chain_graph(5000), max_lines=100)
    assert len(txt.splitlines()) < 130
    assert "more nodes not shown" in txt
    assert "not indented further" in viz.to_text(chain_graph(60))


# -- the cache of SVG renders ---------------------------------------------------------------
@pytest.fixture
def dot_runs(monkeypatch):
    """Count the ``dot`` processes started (each still runs the real Graphviz; one per
    drawing: the long-lived processes are tested in test_dotpipe.py)."""
    draw_mod = importlib.import_module("autograd_viz.viz.draw")
    monkeypatch.setattr(draw_mod._dotpipe, "enabled", False)
    started = []
    real = draw_mod.subprocess.run

    def counting(cmd, *args, **kwargs):
        started.append(cmd[1])
        return real(cmd, *args, **kwargs)

    monkeypatch.setattr(draw_mod.subprocess, "run", counting)
    viz.clear_svg_cache()
    yield started
    viz.clear_svg_cache()


@needs_dot
def test_the_same_source_is_rendered_once(dot_runs):
    first = viz.draw(small_graph()).svg()
    assert dot_runs == ["-Tsvg"]
    again = viz.draw(small_graph()).svg()  # a new Drawing of the same graph: same source
    assert again == first and dot_runs == ["-Tsvg"]
    other = viz.draw(small_graph(), rankdir="LR").svg()
    assert other != first and len(dot_runs) == 2
    viz.clear_svg_cache()
    assert viz.draw(small_graph()).svg() == first and len(dot_runs) == 3


@needs_dot
def test_png_and_pdf_are_not_cached(dot_runs, tmp_path):
    d = viz.draw(small_graph())
    d.save(tmp_path / "a.png")
    d.save(tmp_path / "b.png")
    assert dot_runs == ["-Tpng", "-Tpng"]


@needs_dot
def test_the_cache_drops_the_least_recently_used_render(dot_runs, monkeypatch):
    draw_mod = importlib.import_module("autograd_viz.viz.draw")

    def drawing(k):  # five drawings of (almost) the same size
        return viz.draw(small_graph(), notes={"t0": "note" + "abcde"[k]})

    sizes = []
    for k in range(5):
        viz.clear_svg_cache()
        drawing(k).svg()
        sizes.append(draw_mod._svg_cache_size)  # source + SVG as dot wrote it
    assert 5 * min(sizes) > 4 * max(sizes) + 1
    viz.clear_svg_cache()
    dot_runs.clear()
    monkeypatch.setattr(draw_mod, "SVG_CACHE_BYTES", 4 * max(sizes) + 1)  # room for four
    for k in range(4):
        drawing(k).svg()
    drawing(0).svg()  # used again: 1 is now the oldest
    assert len(dot_runs) == 4
    drawing(4).svg()  # over the limit: 1 goes
    assert len(dot_runs) == 5
    for k in (0, 2, 3, 4):
        drawing(k).svg()
    assert len(dot_runs) == 5  # still cached
    drawing(1).svg()
    assert len(dot_runs) == 6  # was dropped


@needs_dot
def test_a_render_larger_than_a_quarter_of_the_cache_is_not_kept(dot_runs, monkeypatch):
    draw_mod = importlib.import_module("autograd_viz.viz.draw")
    viz.draw(small_graph()).svg()
    size = draw_mod._svg_cache_size
    monkeypatch.setattr(draw_mod, "SVG_CACHE_BYTES", 4 * size - 4)
    viz.clear_svg_cache()
    viz.draw(small_graph()).svg()
    viz.draw(small_graph()).svg()
    assert len(dot_runs) == 3


@needs_dot
def test_side_by_side_rendering_uses_the_cache(dot_runs):
    from autograd_viz.viz.draw import render_svgs

    viz.draw(small_graph()).svg()
    ds = [viz.draw(small_graph()), viz.draw(small_graph(), legend=False)]
    render_svgs(ds)
    assert len(dot_runs) == 2  # only the drawing without a legend was new
    assert ds[0].svg() == viz.draw(small_graph()).svg() and ds[1].svg() is not None


@pytest.mark.parametrize("options", [{}, {"rankdir": "LR", "show_saved": True},
                                     {"max_nodes": 5}, {"notes": {"t0": "input"}},
                                     {"show_data": False, "show_hooks": False}])
def test_a_drawing_with_or_without_its_legend_is_the_drawing_made_so(options):
    """``with_legend`` reuses the layout work of a drawing: its source is exactly the one a
    fresh drawing with that ``legend=`` option has (both ways, and back)."""
    for g in (small_graph(), chain_graph(12)):
        for on in (True, False):
            d = viz.draw(g, legend=on, **options)
            for want in (True, False):
                other = d.with_legend(want)
                assert other.source == viz.draw(g, legend=want, **options).source
                assert other.options["legend"] is want and other.graph is g
                assert other.with_legend(on).source == d.source
            assert d.with_legend(on) is d
    assert "cluster_legend" in viz.draw(small_graph(), legend=False).with_legend(True).source


def test_find_dot_follows_the_path_and_a_new_install(monkeypatch, tmp_path):
    from autograd_viz.viz.draw import find_dot

    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_dot() is None
    fake = tmp_path / "dot"  # Graphviz "installed" while the kernel runs
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    assert find_dot() == str(fake)
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.setenv("PATH", str(other))
    assert find_dot() is None  # a new PATH is searched again
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_dot() == str(fake)
    fake.unlink()  # uninstalled
    assert find_dot() is None


def _training_loop_graph(steps: int) -> Graph:
    import autograd_viz as av

    w = av.tensor([0.5, -0.5], requires_grad=True)
    with viz.record(names={"w": w}) as rec:
        for _ in range(steps):
            w.grad = None
            (w * w).sum().backward()
    return rec.graph()


def test_text_of_many_backward_runs_keeps_the_first_and_last_ones():
    """A recorded training loop makes a backward run per step: the text lists the first and
    the last five and counts the others, instead of growing with the loop."""
    g = _training_loop_graph(30)
    txt = viz.to_text(g)
    listed = re.findall(r"^(run\d+): backward", txt, re.M)
    assert listed == [f"run{i}" for i in (*range(5), *range(25, 30))]
    assert "… (20 more backward runs)" in txt
    assert txt.index("run4:") < txt.index("… (20 more") < txt.index("run25:")
    few = viz.to_text(_training_loop_graph(10))
    assert len(re.findall(r"^run\d+: backward", few, re.M)) == 10 and "more backward" not in few
    wide = viz.to_text(g, max_lines=1000)  # (a larger budget lists more of them)
    assert len(re.findall(r"^run\d+: backward", wide, re.M)) == 24
