"""``%load_ext autograd_viz`` and ``%%autograd`` in a real, in-process IPython shell.

The shell is ``IPython.core.interactiveshell.InteractiveShell`` (what a kernel subclasses);
cells go through ``shell.run_cell`` exactly as typed, and outputs are captured with IPython's
own ``capture_output`` (stdout, stderr and rich ``display`` bundles).
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("IPython")

from IPython.core.interactiveshell import InteractiveShell  # noqa: E402
from IPython.utils.capture import capture_output  # noqa: E402

WIDGET = "application/vnd.jupyter.widget-view+json"
SVG = "image/svg+xml"
ADDRESS = re.compile(r"0x[0-9a-fA-F]{4,}")

SEED = """\
x = av.ones(5, requires_grad=True)
w1 = av.tensor(2.0, requires_grad=True)
w2 = av.tensor(3.0, requires_grad=True)
b = av.tensor(4.0)
l1 = x * w1
l2 = l1 + b
l3 = l2 * w2
y = l3.mean()
y.backward()
"""


@pytest.fixture(scope="session")
def _shell():
    from traitlets.config import Config

    cfg = Config()
    cfg.HistoryManager.hist_file = ":memory:"
    sh = InteractiveShell.instance(config=cfg)
    sh.colors = "nocolor"
    return sh


@pytest.fixture
def ip(_shell):
    """The shell with a fresh namespace, ``av`` imported and the extension loaded."""
    sh = _shell
    sh.reset(new_session=False)
    sh.run_cell("import autograd_viz as av", store_history=False)
    sh.run_line_magic("load_ext", "autograd_viz")
    yield sh
    sh.run_line_magic("unload_ext", "autograd_viz")


def run(ip, src: str, **kw):
    """Run a cell; returns (result, captured)."""
    with capture_output() as cap:
        res = ip.run_cell(src, **kw)
    return res, cap


def bundles(cap, mime: str | None = None) -> list[dict]:
    out = [o.data for o in cap.outputs]
    return [d for d in out if mime is None or mime in d]


def magics(ip):
    return ip.magics_manager.registry["AutogradMagics"]


# --------------------------------------------------------------------------- extension


def test_import_does_not_import_ipython_or_widgets():
    code = textwrap.dedent("""
        import sys, autograd_viz, autograd_viz.viz
        bad = [m for m in ("IPython", "ipywidgets", "anywidget", "ipykernel") if m in sys.modules]
        assert not bad, bad
        assert callable(autograd_viz.load_ipython_extension)
    """)
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_load_ext_imports_the_explorer_and_works_without_widgets():
    """``%load_ext`` imports the explorer's modules (ipywidgets, anywidget), so the first
    ``%%autograd`` cell does not wait for them; without ipywidgets it still loads, and the
    magic shows the static graph with a note saying what is missing."""
    code = textwrap.dedent("""
        import sys
        if sys.argv[1] == "without":
            sys.modules["ipywidgets"] = None  # (import ipywidgets raises ImportError)
        from IPython.core.interactiveshell import InteractiveShell
        sh = InteractiveShell.instance()
        sh.run_line_magic("load_ext", "autograd_viz")
        loaded = "autograd_viz.jupyter.widgets.explorer" in sys.modules
        assert loaded == (sys.argv[1] == "with"), loaded
        sh.run_cell("import autograd_viz as av; x = av.tensor([2.0], requires_grad=True)")
        r = sh.run_cell("%%autograd --widget\\n(x * x).sum().backward()")
        assert r.success and sh.user_ns["x"].grad.tolist() == [4.0]
    """)
    for case in ("with", "without"):
        out = subprocess.run([sys.executable, "-c", code, case], capture_output=True,
                             text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        if case == "without":
            assert "the explorer needs ipywidgets and anywidget" in out.stdout


def test_load_and_unload_extension(_shell):
    sh = _shell
    sh.run_line_magic("unload_ext", "autograd_viz")  # whatever an earlier test left
    assert "autograd" not in sh.magics_manager.magics["cell"]
    sh.run_line_magic("load_ext", "autograd_viz")
    assert "autograd" in sh.magics_manager.magics["cell"]
    m = magics(sh)
    assert m in sh.configurables  # so %config sees it
    import autograd_viz.jupyter as J

    J.load_ipython_extension(sh)  # twice: harmless, still one instance
    assert magics(sh) is m and sh.configurables.count(m) == 1
    sh.run_line_magic("unload_ext", "autograd_viz")
    assert "autograd" not in sh.magics_manager.magics["cell"]
    assert m not in sh.configurables
    res, cap = run(sh, "%%autograd\nq = 1")
    assert "q" not in sh.user_ns and "UsageError" in cap.stderr + cap.stdout
    sh.run_line_magic("load_ext", "autograd_viz")
    assert "autograd" in sh.magics_manager.magics["cell"]


def test_help_lists_the_options(ip):
    res, cap = run(ip, "%%autograd?")
    text = cap.stdout
    assert "usage: %%autograd" in text
    for opt in ("--no-data", "--no-grad", "--no-shape", "--saved", "--no-hooks", "--max-nodes N",
                "--rankdir", "--static", "--out NAME", "--step", "%config AutogradMagics"):
        assert opt in text, opt
    assert "x" not in ip.user_ns


# --------------------------------------------------------------------------- running the cell


def test_cell_runs_exactly_as_without_the_magic(ip):
    body = SEED + "print('w1.grad', w1.grad)\ndisplay('shown')\ny\n"
    plain_res, plain = run(ip, body)
    plain_ns = {k: ip.user_ns[k] for k in ("x", "w1", "w2", "b", "l1", "l2", "l3", "y")}
    ip.run_cell("del x, w1, w2, b, l1, l2, l3, y")
    res, cap = run(ip, "%%autograd --static\n" + body)
    assert res.success and plain_res.success
    # same variables, same values
    for k, v in plain_ns.items():
        assert repr(ip.user_ns[k]) == repr(v), k
    assert ip.user_ns["w1"].grad.item() == 3.0 and ip.user_ns["w2"].grad.item() == 6.0
    # same prints, same display() calls, same last-expression value, in the same order
    assert cap.stdout.startswith(plain.stdout.rstrip("\n")), (plain.stdout, cap.stdout)
    assert "w1.grad tensor(3.)" in cap.stdout
    assert "Out[" in cap.stdout and "tensor(18., grad_fn=<MeanBackward0>)" in cap.stdout
    assert bundles(plain) == bundles(cap)[:1] == [{"text/plain": "'shown'"}]
    # then one graph output, after the cell's own outputs
    assert len(cap.outputs) == 2 and SVG in cap.outputs[1].data


def test_graph_output_static_svg_and_text(ip):
    res, cap = run(ip, "%%autograd --static\n" + SEED)
    (bundle,) = bundles(cap, SVG)
    assert set(bundle) == {SVG, "text/plain"}
    svg, text = bundle[SVG], bundle["text/plain"]
    for op in ("MulBackward0", "AddBackward0", "MeanBackward0", "AccumulateGrad"):
        assert op in svg and op in text
    for name in ("x", "w1", "w2", "l1", "l2", "l3", "y"):
        assert "<text" in svg and re.search(rf">{name}<", svg), name
        assert re.search(rf"^\W*{name} \[", text, re.M), name
    assert svg.count('class="node"') >= 11
    assert not ADDRESS.search(text) and not ADDRESS.search(svg)
    assert "tensor(3.)" in text and "1.2000" in text  # w1.grad, x.grad
    rec = magics(ip).last
    assert rec.graph.tensor("w1").grad.text == "tensor(3.)"


def test_text_and_svg_are_deterministic(ip):
    outs = []
    for _ in range(2):
        ip.run_cell("for k in ('x','w1','w2','b','l1','l2','l3','y'): globals().pop(k, None)")
        res, cap = run(ip, "%%autograd --static\n" + SEED)
        outs.append(bundles(cap, SVG)[0])
    assert outs[0]["text/plain"] == outs[1]["text/plain"]
    assert outs[0][SVG] == outs[1][SVG]


def test_default_output_is_the_explorer_with_static_fallbacks(ip):
    from autograd_viz.jupyter.widgets import Explorer

    res, cap = run(ip, "%%autograd --out rec\n" + SEED)
    (bundle,) = bundles(cap, WIDGET)
    assert SVG in bundle and "MeanBackward0" in bundle[SVG]
    assert "MeanBackward0" in bundle["text/plain"] and not ADDRESS.search(bundle["text/plain"])
    rec = ip.user_ns["rec"]
    assert isinstance(rec.explorer, Explorer)
    assert bundle[WIDGET]["model_id"] == rec.explorer.model_id
    assert rec.explorer.step == 0 and rec.explorer.step_max == len(rec.explorer.steps)


def test_out_stores_the_recording(ip):
    from autograd_viz.jupyter import Recording

    run(ip, "%%autograd --static --out rec\n" + SEED)
    rec = ip.user_ns["rec"]
    assert isinstance(rec, Recording) and rec.explorer is None and not rec.incomplete
    assert rec.graph.tensor("y").value.text == "tensor(18.)"
    assert "MeanBackward0" in rec.svg() and rec.text() == rec.drawing().text()
    assert '"MeanBackward0"' in rec.to_json()
    assert "rankdir=LR" in rec.draw(rankdir="LR").source
    assert repr(rec).startswith("Recording(") and not ADDRESS.search(repr(rec))


def test_only_out_keeps_the_recorder(ip):
    from autograd_viz import viz

    run(ip, "%%autograd --static --out rec\n" + SEED)
    assert isinstance(ip.user_ns["rec"].recorder, viz.Recorder)
    assert ip.user_ns["rec"].recorder.graph().to_json() == ip.user_ns["rec"].graph.to_json()
    run(ip, "%%autograd\n" + SEED, cell_id="kept-cell")
    kept = magics(ip)._explorers["kept-cell"].recording
    # the explorer kept for this cell's re-runs holds the graph, not every recorded event
    assert kept is magics(ip).last and kept.recorder is None
    assert kept.graph.tensor("y").value.text == "tensor(18.)"


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` not installed")
def test_a_new_cell_is_laid_out_by_the_running_dot_processes(ip, monkeypatch):
    import importlib

    from autograd_viz import viz
    from autograd_viz.viz import _dotpipe

    if not _dotpipe.enabled:
        pytest.skip("long-lived dot processes need POSIX pipes")
    draw_mod = importlib.import_module("autograd_viz.viz.draw")
    monkeypatch.setattr(_dotpipe, "PROBE_TIMEOUT_S", 30.0)  # (a loaded CI machine)
    _dotpipe._unusable.clear()
    _dotpipe.warm_up(shutil.which("dot")).join(60)  # (what %load_ext started)
    started = []
    real = draw_mod.subprocess.run
    monkeypatch.setattr(draw_mod.subprocess, "run",
                        lambda cmd, *a, **k: started.append(cmd) or real(cmd, *a, **k))
    viz.clear_svg_cache()
    res, cap = run(ip, "%%autograd\n" + SEED, cell_id="pipes-cell")
    (bundle,) = bundles(cap, WIDGET)
    ex = magics(ip)._explorers["pipes-cell"]
    assert "MeanBackward0" in bundle[SVG] and "MeanBackward0" in ex.canvas.svg
    assert started == []  # both drawings came from the long-lived processes


def test_hooks_that_print(ip):
    src = SEED.replace(
        "l3 = l2 * w2",
        "h = l2.register_hook(lambda g: print('hook on l2 got', g))\nl3 = l2 * w2",
    )
    res, cap = run(ip, "%%autograd --static\n" + src)
    # printed once, where the user expects it (the cell's stdout)
    assert cap.stdout.count("hook on l2 got tensor([0.6000") == 1
    g = magics(ip).last.graph
    (call,) = [h for r in g.runs for h in r.hooks]
    assert call.target == g.tensor("l2").id and "hook on l2 got" in call.printed
    bundle = bundles(cap, SVG)[0]
    # attached to its node in the drawing (a note joined to l2) and in the text
    assert "hook on l2 got" in bundle[SVG]
    assert re.search(rf"{g.tensor('l2').id}&#45;&gt;hooknote\d+", bundle[SVG])
    assert "| hook on l2 got" in bundle["text/plain"]
    # --no-hooks hides the note
    res, cap = run(ip, "%%autograd --static --no-hooks\n" + src)
    assert "hook on l2 got" not in bundles(cap, SVG)[0][SVG]


def test_retain_grad_and_grad_timeline_with_reset(ip):
    src = """\
a = av.tensor([2.], requires_grad=True)
c = (a + 2) ** 2 + 3
m = c * 1
c.retain_grad()
m.backward(retain_graph=True)
a.grad.zero_()
m.backward(retain_graph=True)
m.backward()
"""
    res, cap = run(ip, "%%autograd --out rec\n" + src)
    g = ip.user_ns["rec"].graph
    kinds = [(ev.kind, ev.how) for ev in g.grad_history[g.tensor("a").id]]
    assert kinds == [("accumulate", None), ("reset", "zero_"), ("accumulate", None),
                     ("accumulate", None)]
    assert ip.user_ns["a"].grad.item() == 16.0
    bundle = bundles(cap, WIDGET)[0]
    # the timeline note on the leaf, and the retained grads of c (1, then 2, then 3)
    assert "a.grad over this cell" in bundle[SVG] and "zero_()" in bundle[SVG]
    assert "c.grad over this cell" in bundle[SVG]
    assert "reset zero_" in bundle["text/plain"] and "retain_grad c" in bundle["text/plain"]
    ex = ip.user_ns["rec"].explorer
    tl = ex.timeline
    assert "zero_()" in tl and "run0 +=" in tl and "run2 +=" in tl and "run2 retained" in tl
    assert g.tensor("c").grad.text == "tensor([3.])"


def test_error_shows_traceback_and_partial_graph(ip):
    src = "p = av.tensor([1., 2.], requires_grad=True)\nq = p * 3\nr = q.sum() / undefined_name\n"
    plain_res, plain = run(ip, src)
    res, cap = run(ip, "%%autograd --out rec\n" + src)
    # the same exception, the traceback shown once, as without the magic
    assert type(res.error_in_exec) is type(plain_res.error_in_exec) is NameError
    assert not res.success and ip.last_execution_succeeded is False
    assert cap.stdout.count("Traceback") == plain.stdout.count("Traceback") == 1
    assert "----> 3 r = q.sum() / undefined_name" in cap.stdout
    assert "run_cell_magic" not in cap.stdout  # no magic frames in the traceback
    # what ran before the error is there; the graph is marked incomplete
    assert "q" in ip.user_ns and "r" not in ip.user_ns
    rec = ip.user_ns["rec"]
    assert rec.incomplete and "NameError" in rec.graph.error and rec.error is res.error_in_exec
    bundle = bundles(cap, WIDGET)[0]
    assert "incomplete" in bundle[SVG] and "MulBackward0" in bundle[SVG]
    assert "Incomplete recording" in rec.explorer.header
    # the shell is healthy: the next cells run, with and without the magic
    res2, cap2 = run(ip, "%%autograd --static\nz = (p * 2).sum()\nz.backward()\nprint(p.grad)")
    assert res2.success and "tensor([2., 2.])" in cap2.stdout
    assert ip.last_execution_succeeded is True
    assert run(ip, "1 + 1")[0].result == 2


def test_traceback_names_the_cell_by_its_own_number(ip):
    # as in a kernel: the cell is stored in history and moves the counter on
    n = ip.execution_count
    res, cap = run(ip, "%%autograd --static\nt = av.tensor([1.], requires_grad=True)\n1/0",
                   store_history=True)
    assert f"Cell In[{n}], line 2" in cap.stdout, cap.stdout
    res, cap = run(ip, "%%autograd --static\n41 + 1", store_history=True)
    assert f"Out[{n + 1}]: 42" in cap.stdout
    assert ip.user_ns["_"] == 42 and ip.user_ns["Out"][n + 1] == 42


def test_top_level_await_under_a_running_loop_is_refused_clearly(ip):
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    async def in_kernel():  # a kernel runs cells while its event loop is running
        return run(ip, "%%autograd\nimport asyncio\nawait asyncio.sleep(0)\nran = 1")

    def body():  # a thread of its own: the browser tests' Playwright loop may run here
        res, cap = asyncio.run(in_kernel())
        assert "ran" not in ip.user_ns and "top-level `await`" in cap.stderr
        # without a running loop (terminal IPython) the same cell runs and is recorded
        res, cap = run(ip, "%%autograd --static\nimport asyncio\nawait asyncio.sleep(0)\n"
                       "t = av.tensor([1.], requires_grad=True)\n(t * 2).sum().backward()")
        assert res.success and "MulBackward0" in bundles(cap, SVG)[0][SVG]

    with ThreadPoolExecutor(1) as pool:
        pool.submit(body).result()


def test_syntax_error_runs_nothing_and_draws_nothing(ip):
    res, cap = run(ip, "%%autograd\nok = 1\nx = = 1")
    assert isinstance(res.error_in_exec, SyntaxError) or isinstance(
        res.error_before_exec, SyntaxError)
    assert "SyntaxError" in cap.stdout and "ok" not in ip.user_ns
    assert bundles(cap, SVG) == [] and bundles(cap, WIDGET) == []


@pytest.mark.parametrize("line", [
    "--bogus", "--max-nodes", "--max-nodes many", "--max-nodes 0", "--rankdir XX",
    "--out 1bad", "--out class", "extra",
])
def test_bad_options_print_usage_and_run_nothing(ip, line):
    res, cap = run(ip, f"%%autograd {line}\nran = True")
    assert "ran" not in ip.user_ns
    assert "UsageError" in cap.stderr and "usage: %%autograd" in cap.stderr
    assert not res.success and cap.outputs == []


def test_options_change_the_drawing(ip):
    run(ip, "%%autograd --static\n" + SEED)
    base = magics(ip).last.drawing()
    res, cap = run(ip, "%%autograd --static --no-data --no-grad --no-shape --saved --rankdir lr\n"
                   + SEED)
    rec = magics(ip).last
    o = rec.options
    assert (o.data, o.grad, o.shape, o.saved, o.rankdir) == (False, False, False, True, "LR")
    d = rec.drawing()
    assert "rankdir=LR" in d.source and "rankdir=BT" in base.source
    assert "tensor(18.)" in base.svg() and "tensor(18.)" not in d.svg()
    assert "float32" in base.svg() and "float32" not in d.svg()
    assert "grad: " in base.svg() and "grad: " not in d.svg()
    assert "style=dotted" in d.source  # saved-tensor edges
    res, cap = run(ip, "%%autograd --static --max-nodes 4\n" + SEED)
    assert "collapsed" in bundles(cap, SVG)[0][SVG]


def test_config_defaults(ip):
    ip.run_line_magic("config", "AutogradMagics.max_nodes = 4")
    ip.run_line_magic("config", "AutogradMagics.static = True")
    ip.run_line_magic("config", "AutogradMagics.show_data = False")
    try:
        m = magics(ip)
        assert m.max_nodes == 4 and m.static
        res, cap = run(ip, "%%autograd\n" + SEED)
        assert bundles(cap, WIDGET) == [] and "collapsed" in bundles(cap, SVG)[0][SVG]
        assert m.last.options.data is False
        res, cap = run(ip, "%%autograd --widget --data --max-nodes 50\n" + SEED)
        assert bundles(cap, WIDGET) and m.last.options.data is True
        assert "collapsed" not in bundles(cap, SVG)[0][SVG]
        with capture_output() as c:
            ip.run_line_magic("config", "AutogradMagics")
        assert "max_nodes" in c.stdout and "rankdir" in c.stdout
    finally:
        ip.run_line_magic("config", "AutogradMagics.max_nodes = 300")
        ip.run_line_magic("config", "AutogradMagics.static = False")
        ip.run_line_magic("config", "AutogradMagics.show_data = True")


def test_step_opens_the_stepper(ip):
    run(ip, "%%autograd --step --out rec\n" + SEED)
    ex = ip.user_ns["rec"].explorer
    assert ex.step == 1
    first = ex.steps[0].step.op
    assert ex.canvas.step_node == first and ex.graph.op(first).name == "MeanBackward0"
    assert "MeanBackward0" in ex.step_card


def test_one_explorer_per_cell_updated_in_place(ip, monkeypatch):
    import comm
    from comm.base_comm import BaseComm

    sent: list[str] = []

    class Recorded(BaseComm):  # what would go to the front end
        def publish_msg(self, msg_type, data=None, metadata=None, buffers=None, **keys):
            sent.append(msg_type)

    monkeypatch.setattr(comm, "create_comm", lambda **kw: Recorded(**kw))
    r1, c1 = run(ip, "%%autograd --out r1\n" + SEED, cell_id="cell-A")
    ex = ip.user_ns["r1"].explorer
    assert sent == ["comm_open", "comm_open"]  # its layout, then the explorer, shown at once
    sent.clear()
    r2, c2 = run(ip, "%%autograd --out r2\nz = (x * 5).sum()\nz.backward()", cell_id="cell-A")
    assert ip.user_ns["r2"].explorer is ex  # the same widget (and model), new content
    assert sent == ["comm_msg"]  # in one message
    assert bundles(c2, WIDGET)[0][WIDGET]["model_id"] == ex.model_id
    assert "SumBackward0" in ex.canvas.svg and "MeanBackward0" not in ex.canvas.svg
    r3, c3 = run(ip, "%%autograd --out r3\n" + SEED, cell_id="cell-B")
    assert ip.user_ns["r3"].explorer is not ex
    r4, c4 = run(ip, "%%autograd --out r4\n" + SEED)  # no cell id: a new one each time
    assert ip.user_ns["r4"].explorer not in (ex, ip.user_ns["r3"].explorer)


def test_no_autograd_ops_shows_a_note(ip):
    res, cap = run(ip, "%%autograd\nv = 41 + 1\nprint(v)")
    assert res.success and "42" in cap.stdout
    (b,) = bundles(cap)
    assert "no autograd operations" in b["text/plain"] and WIDGET not in b


def test_names_come_from_the_namespace(ip):
    src = "ps = [av.tensor([1.], requires_grad=True), av.tensor([2.], requires_grad=True)]\n" \
          "d = {'k': av.tensor([3.], requires_grad=True)}\n" \
          "s = (ps[0] * ps[1] + d['k']).sum()\ns.backward()\n"
    run(ip, "%%autograd --static\n" + src)
    names = {t.name for t in magics(ip).last.graph.tensors}
    assert {"ps[0]", "ps[1]", "d['k']", "s"} <= names


def test_line_magics_inside_the_cell_still_work(ip):
    res, cap = run(ip, "%%autograd --static\nt = av.tensor([1.], requires_grad=True)\n"
                   "%time u = (t * 2).sum()\nu.backward()")
    assert res.success and "Wall time" in cap.stdout
    assert "MulBackward0" in bundles(cap, SVG)[0][SVG]


def test_without_graphviz_falls_back_to_text(ip, monkeypatch):
    vdraw = sys.modules["autograd_viz.viz.draw"]  # (viz.draw is also the function)
    monkeypatch.setattr(vdraw, "find_dot", lambda: None)
    res, cap = run(ip, "%%autograd --out rec\n" + SEED)
    (b,) = bundles(cap, WIDGET)
    assert SVG not in b and "Graphviz" in b["text/plain"] and "MeanBackward0" in b["text/plain"]
    assert "<svg" in ip.user_ns["rec"].explorer.canvas.svg  # a one-line notice
