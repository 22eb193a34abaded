"""Long-lived ``dot -Tsvg`` processes (``viz/_dotpipe.py``): the same SVG bytes as one
``dot`` run per drawing, processes reused and bounded, and every failure handed back to the
one-shot run (Graphviz's own error message) instead of a hang or a wrong drawing."""
from __future__ import annotations

import importlib
import multiprocessing
import shutil
import subprocess
import threading

import pytest
from test_viz_render import EVIL, chain_graph, small_graph, wide_graph

import autograd_viz as av
from autograd_viz import viz
from autograd_viz.viz import _dotpipe
from autograd_viz.viz.model import Graph

draw_mod = importlib.import_module("autograd_viz.viz.draw")
DOT = shutil.which("dot")
pytestmark = pytest.mark.skipif(DOT is None or not _dotpipe.enabled,
                                reason="Graphviz `dot` not installed (or not POSIX)")


@pytest.fixture(autouse=True)
def fresh_pool(monkeypatch):
    """Each test starts and ends with no idle process and an empty SVG cache (and a probe
    allowed 30 s: a loaded CI machine must not turn pipes off where a test wants them)."""
    monkeypatch.setattr(_dotpipe, "PROBE_TIMEOUT_S", 30.0)
    _dotpipe.shutdown()
    _dotpipe._unusable.clear()
    viz.clear_svg_cache()
    yield
    _dotpipe.shutdown()
    _dotpipe._unusable.clear()
    viz.clear_svg_cache()


def one_shot(source: str) -> bytes:
    return subprocess.run([DOT, "-Tsvg"], input=source.encode(), capture_output=True,
                          check=True).stdout


def idle_pids() -> list[int]:
    return [w.proc.pid for w in _dotpipe._idle.get(DOT, [])]


def recorded_graph() -> Graph:
    x = av.tensor([1.0, -2.0], requires_grad=True)
    w = av.tensor(0.5, requires_grad=True)
    with viz.record() as rec:
        y = x
        for _ in range(12):
            y = (y * w + 1).tanh() - 0.25
        y.retain_grad()
        y.register_hook(lambda g: g * 2)
        y.sum().backward()
    return rec.graph()


def sources() -> list[str]:
    g = recorded_graph()
    named = small_graph(EVIL)
    out = [viz.draw(g, **o).source for o in
           ({}, {"rankdir": "LR"}, {"legend": False}, {"show_saved": True})]
    out += [viz.draw(named).source, viz.draw(chain_graph(400)).source,
            viz.draw(wide_graph(60)).source, "digraph named { a -> b; { rank=same; b; c } }"]
    return out


def test_every_drawing_is_the_one_shot_svg_byte_for_byte():
    srcs = sources()
    for _ in range(2):  # each process's first graph and later ones
        for s in srcs:
            assert _dotpipe.render_svg(DOT, s, 60) == one_shot(s if s.endswith("\n")
                                                               else s + "\n")
    assert 1 <= len(idle_pids()) <= _dotpipe.MAX_PROCESSES


def test_an_anonymous_graph_is_drawn_by_a_one_shot_run():
    # its title is a counter that runs on from graph to graph in one process
    s = "digraph { a -> b }"
    assert _dotpipe.render_svg(DOT, s, 60) is None
    assert draw_mod.run_dot(s, "svg") == one_shot(s)
    assert draw_mod.run_dot(s, "svg") == one_shot(s)


def test_run_dot_reuses_one_process():
    srcs = sources()
    svgs = [draw_mod.run_dot(s, "svg") for s in srcs]
    pids = idle_pids()
    assert len(pids) == 1
    viz.clear_svg_cache()
    assert [draw_mod.run_dot(s, "svg") for s in srcs] == svgs
    assert idle_pids() == pids


def test_a_syntax_error_gives_dots_message_and_the_next_drawing_still_works():
    good = viz.draw(small_graph()).source
    first = draw_mod.run_dot(good, "svg")
    (pid,) = idle_pids()
    with pytest.raises(RuntimeError, match="syntax error"):
        draw_mod.run_dot("digraph g { a -> ; }", "svg")
    assert idle_pids() == []  # the process that read it is gone
    viz.clear_svg_cache()
    assert draw_mod.run_dot(good, "svg") == first
    assert idle_pids() and idle_pids() != [pid]


def test_drawing_falls_back_to_text_on_bad_extra_statements():
    d = viz.draw(small_graph(), extra=["a -> ;"])
    assert d.svg() is None and "could not draw" in d.text()
    assert viz.draw(small_graph()).svg() is not None


def test_a_program_that_never_answers_is_given_up_quickly(tmp_path, monkeypatch):
    fake = tmp_path / "dot"
    fake.write_text("#!/bin/sh\nexec cat >/dev/null\n")
    fake.chmod(0o755)
    monkeypatch.setattr(_dotpipe, "PROBE_TIMEOUT_S", 0.3)
    assert _dotpipe.render_svg(str(fake), "digraph g { a }", 60) is None
    assert str(fake) in _dotpipe._unusable and _dotpipe._live.get(str(fake), 0) == 0
    started = []
    real = _dotpipe._Process

    class Counting(real):
        def __init__(self, exe):
            started.append(exe)
            super().__init__(exe)

    monkeypatch.setattr(_dotpipe, "_Process", Counting)
    assert _dotpipe.render_svg(str(fake), "digraph g { a }", 60) is None
    assert started == []  # not tried again at once...
    # ...but after RETRY_AFTER_S (a first run may be slow building the font cache, say)
    _dotpipe._unusable[str(fake)] = _dotpipe.time.monotonic() - 1
    assert _dotpipe.render_svg(str(fake), "digraph g { a }", 60) is None
    assert started == [str(fake)]


def test_output_that_differs_from_a_one_shot_run_turns_pipes_off(monkeypatch):
    # without the page-id repair a second graph's SVG is not the first's: the probe sees it
    monkeypatch.setattr(_dotpipe, "_PAGE_ID", _dotpipe.re.compile(rb"never matches"))
    assert _dotpipe.render_svg(DOT, "digraph g { a }", 60) is None
    assert _dotpipe._unusable[DOT] == float("inf")  # for good: its output differs
    s = viz.draw(small_graph()).source
    assert draw_mod.run_dot(s, "svg") == one_shot(s)  # one dot per drawing, as before


def test_a_timeout_kills_the_process_and_raises():
    big = viz.draw(chain_graph(2000), max_nodes=3000).source
    with pytest.raises(subprocess.TimeoutExpired):
        _dotpipe.render_svg(DOT, big, 0.001)
    assert idle_pids() == [] and _dotpipe._live.get(DOT, 0) == 0
    assert _dotpipe.render_svg(DOT, "digraph g { a }", 60) == one_shot("digraph g { a }\n")


def test_side_by_side_renders_take_one_process_each():
    srcs = sources()[:4]
    want = [one_shot(s) for s in srcs]
    got: dict[int, bytes] = {}

    def work(i: int) -> None:
        got[i] = _dotpipe.render_svg(DOT, srcs[i], 60)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # a render finds every process busy only when MAX_PROCESSES are: None, then one-shot
    assert all(got[i] in (want[i], None) for i in range(4))
    assert sum(v is not None for v in got.values()) >= 1
    assert len(idle_pids()) <= _dotpipe.MAX_PROCESSES


def test_processes_are_replaced_after_their_quota(monkeypatch):
    monkeypatch.setattr(_dotpipe, "RENDERS_PER_PROCESS", 4)  # the probe renders twice
    _dotpipe.render_svg(DOT, "digraph g { a }", 60)
    (pid,) = idle_pids()
    _dotpipe.render_svg(DOT, "digraph g { b }", 60)  # 4th render: closed after it
    assert idle_pids() == []
    assert _dotpipe.render_svg(DOT, "digraph g { c }", 60) == one_shot("digraph g { c }\n")
    assert idle_pids() != [pid]


def test_warm_up_starts_the_processes_before_the_first_drawing(monkeypatch):
    started = []
    real = draw_mod.subprocess.run
    monkeypatch.setattr(draw_mod.subprocess, "run",
                        lambda cmd, *a, **k: started.append(cmd) or real(cmd, *a, **k))
    _dotpipe.warm_up(DOT).join(30)
    assert len(idle_pids()) == _dotpipe.MAX_PROCESSES
    pids = set(idle_pids())
    viz.draw(small_graph()).svg()
    assert started == [] and set(idle_pids()) == pids


def test_shutdown_ends_the_processes():
    _dotpipe.warm_up(DOT).join(30)
    procs = [w.proc for w in _dotpipe._idle[DOT]]
    _dotpipe.shutdown()
    assert all(p.poll() is not None for p in procs)
    assert _dotpipe._live.get(DOT, 0) == 0


def _child_render(q) -> None:
    q.put(_dotpipe.render_svg(DOT, "digraph g { forked }", 60))


def test_a_forked_child_starts_its_own_processes():
    _dotpipe.render_svg(DOT, "digraph g { a }", 60)
    parent = idle_pids()
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_child_render, args=(q,))
    p.start()
    got = q.get(timeout=60)
    p.join(60)
    assert got == one_shot("digraph g { forked }\n")
    assert idle_pids() == parent  # the parent's process was not used by the child
    assert _dotpipe.render_svg(DOT, "digraph g { b }", 60) == one_shot("digraph g { b }\n")


def test_a_source_with_two_graphs_never_shifts_output_onto_the_next_drawing():
    two = "digraph g { a -> b }\ndigraph h { c -> d }\n"
    assert _dotpipe.render_svg(DOT, two, 60) is None  # (a one-shot run draws it)
    d = viz.draw(small_graph(), extra=["}", "digraph injected { z"])
    d.svg()  # whatever Graphviz makes of it, one-shot
    nxt = viz.draw(small_graph(), rankdir="LR")
    assert nxt.svg().encode() == draw_mod._GENERATED.sub(
        "", one_shot(nxt.source).decode()).encode()
    assert _dotpipe.render_svg(DOT, "digraph g { q }", 60) == one_shot("digraph g { q }\n")


def test_a_node_named_like_the_end_marker_is_drawn_right():
    s = "digraph g { __autograd_viz_end__ -> b }"
    got = _dotpipe.render_svg(DOT, s, 60)
    assert got in (None, one_shot(s + "\n"))
    assert draw_mod.run_dot(s, "svg") == one_shot(s + "\n")


def test_an_interrupt_mid_drawing_kills_that_process(monkeypatch):
    _dotpipe.render_svg(DOT, "digraph g { a }", 60)
    (w,) = _dotpipe._idle[DOT]

    class Interrupted(_dotpipe.selectors.DefaultSelector):
        def select(self, timeout=None):
            raise KeyboardInterrupt

    monkeypatch.setattr(_dotpipe.selectors, "DefaultSelector", Interrupted)
    with pytest.raises(KeyboardInterrupt):
        _dotpipe.render_svg(DOT, "digraph g { b }", 60)
    monkeypatch.undo()
    assert w.proc.poll() is not None  # killed, not left half-way through a drawing
    assert idle_pids() == [] and _dotpipe._live.get(DOT, 0) == 0
    assert _dotpipe.render_svg(DOT, "digraph g { c }", 60) == one_shot("digraph g { c }\n")


FAKE_DOT = r'''#!{python}
import re, sys
# a stand-in for a Graphviz that ends its SVG without a newline: one graph per line in
for line in sys.stdin:
    name = re.match(r"\s*digraph (\w+)", line).group(1)
    sys.stdout.write('<?xml version="1.0"?>\n<svg><title>%s</title></svg>' % name)
    sys.stdout.flush()
'''


def test_output_without_a_final_newline_is_cut_right(tmp_path):
    import sys

    fake = tmp_path / "dot"
    fake.write_text(FAKE_DOT.format(python=sys.executable))
    fake.chmod(0o755)
    for name in ("g", "h", "g"):
        got = _dotpipe.render_svg(str(fake), f"digraph {name} {{ a }}", 30)
        assert got == f'<?xml version="1.0"?>\n<svg><title>{name}</title></svg>'.encode()
    assert str(fake) not in _dotpipe._unusable


def test_a_started_drawing_is_laid_out_while_the_caller_goes_on(monkeypatch):
    started = []
    real = draw_mod.subprocess.run
    monkeypatch.setattr(draw_mod.subprocess, "run",
                        lambda cmd, *a, **k: started.append(cmd) or real(cmd, *a, **k))
    g = recorded_graph()
    want = [viz.draw(g, legend=on).source for on in (True, False)]
    full = viz.draw(g)
    bare = full.with_legend(False)
    assert full.with_legend(False) is bare and bare.with_legend(False) is bare
    full.start()
    bare.start()
    assert full._job is not None and bare._job is not None  # one process each
    assert len(_dotpipe._idle.get(DOT, [])) == 0
    draw_mod.render_svgs([bare, full])
    assert started == [] and len(idle_pids()) == 2
    for d, src in zip((full, bare), want):
        assert d.source == src
        assert d.svg().encode() == draw_mod._GENERATED.sub("", one_shot(src).decode()).encode()
    full.start()  # known now: nothing to do
    assert full._job is None


def test_a_started_drawing_dropped_unread_closes_its_process():
    d = viz.draw(small_graph())
    d.start()
    proc = d._job[1]._w.proc
    del d
    import gc

    gc.collect()
    assert proc.poll() is not None  # its output would have been the next drawing's
    assert _dotpipe._live.get(DOT, 0) == 0 and idle_pids() == []
    s = viz.draw(small_graph(), rankdir="LR").source
    assert draw_mod.run_dot(s, "svg") == one_shot(s)


def test_a_job_is_read_once():
    job = _dotpipe.start(DOT, "digraph g { a }")
    assert job.result(60) == one_shot("digraph g { a }\n")
    assert job.result(60) is None  # (whoever asks again runs dot once)


def test_the_processes_are_out_of_reach_of_a_kernel_interrupt():
    """Interrupting a kernel signals its process group; the dot helpers are not in it (they
    end when their input closes, with the kernel)."""
    import os

    _dotpipe.warm_up(DOT).join(30)
    for w in _dotpipe._idle[DOT]:
        assert os.getpgid(w.proc.pid) != os.getpgid(0)


def test_idle_processes_killed_from_outside_are_replaced():
    _dotpipe.warm_up(DOT).join(30)
    for w in _dotpipe._idle[DOT]:
        w.proc.kill()
        w.proc.wait()
    s = viz.draw(small_graph()).source
    for _ in range(3):  # each dead process fails once (one-shot run instead), then new ones
        viz.clear_svg_cache()
        assert draw_mod.run_dot(s, "svg") == one_shot(s)
    assert all(w.proc.poll() is None for w in _dotpipe._idle[DOT])
