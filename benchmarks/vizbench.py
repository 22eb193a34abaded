"""Workloads (7) and (8): the chain under ``viz.record()`` and under ``%%autograd`` against
the same chain run plainly, and DOT + SVG time for graphs of about 300 and 10,000 nodes.

Both the recorder and the Jupyter magic are optional here (other engineers are writing
them): when one is missing its rows say so instead of a number.
"""
from __future__ import annotations

import contextlib
import io
import itertools
import shutil
import subprocess
import time
from collections.abc import Callable
from typing import Any

from . import chain

CELL = """\
_y = x
for _ in range({cycles}):
    _y = (_y * a + b).tanh() - c
_loss = _y.sum()
_loss.backward()
x.grad = None; a.grad = None; b.grad = None; c.grad = None
"""


def viz_module() -> tuple[Any, str | None]:
    """``autograd_viz.viz`` with ``record``, or ``(None, why not)``."""
    try:
        from autograd_viz import viz
    except Exception as e:  # noqa: BLE001 - being written by others
        return None, f"autograd_viz.viz does not import ({type(e).__name__}: {e})"
    if not hasattr(viz, "record"):
        return None, "autograd_viz.viz.record does not exist yet"
    return viz, None


def record_pair(arrs: list) -> tuple[dict[str, Callable[[], object]] | None, str | None]:
    """``{"plain": step, "record": step under viz.record()}`` for the 1-element chain."""
    viz, why = viz_module()
    if viz is None:
        return None, why
    step, _ = chain.make_autograd_viz(arrs)

    def recorded():
        with viz.record():
            step()

    return {"plain": step, "record": recorded}, None


#: Steps of the recorded training loop (``loop_pair``), and of the long one.
LOOP_STEPS = 100
LONG_LOOP_STEPS = 1000
#: Layer sizes of the recorded training loop's MLP, and of the MNIST-sized one (28x28
#: inputs, 10 classes: large values, which the recorder copies and summarises each step).
LOOP_SIZES = (20, 32, 3)
MNIST_SIZES = (784, 128, 10)
LOOP_SETUP = """\
_bench_model = av.nn.Sequential(av.nn.Linear({i}, {h}), av.nn.ReLU(), av.nn.Linear({h}, {o}))
_bench_opt = av.optim.SGD(_bench_model.parameters(), lr=0.1)
_bench_x = av.randn(64, {i})
_bench_y = av.randint(0, {o}, (64,))
"""
LOOP_CELL = """\
for _ in range({steps}):
    _bench_opt.zero_grad()
    _loss = av.nn.functional.cross_entropy(_bench_model(_bench_x), _bench_y)
    _loss.backward()
    _bench_opt.step()
"""


def _magic_shell() -> tuple[Any, Callable[..., None] | None, str | None]:
    """A real ``InteractiveShell`` with the extension loaded, and ``run(src, cell_id)``
    (output swallowed; a failing cell raises); or ``(None, None, why not)``."""
    try:
        from IPython.core.interactiveshell import InteractiveShell
    except ImportError as e:
        return None, None, f"IPython missing ({e})"
    shell = InteractiveShell.instance()
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            shell.run_line_magic("load_ext", "autograd_viz")
    except Exception as e:  # noqa: BLE001 - the magic is being written by others
        return None, None, f"%load_ext autograd_viz failed ({type(e).__name__}: {e})"
    if "autograd" not in shell.magics_manager.magics.get("cell", {}):
        return None, None, "the %%autograd cell magic is not registered yet"

    def run(src: str, cell_id: str | None = None) -> None:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            r = shell.run_cell(src, store_history=False, cell_id=cell_id)
        if not r.success:
            raise RuntimeError(f"cell failed: {r.error_in_exec or r.error_before_exec}")

    return shell, run, None


_new_cells = itertools.count()


def _new_cell(run: Callable[..., None], code: str) -> Callable[[], None]:
    """Run ``code`` under ``%%autograd`` as a new cell each time."""
    import autograd_viz as av

    clear = getattr(av.viz, "clear_svg_cache", lambda: None)

    def new_cell() -> None:
        clear()  # a new cell draws a graph not drawn before: dot runs
        # a new cell id, as Jupyter sends one with each cell (the magic keeps the explorers
        # of the last ``max_explorers`` cells for their re-runs, and closes older ones)
        run("%%autograd\n" + code, cell_id=f"bench-new-{next(_new_cells)}")

    return new_cell


def magic_pair(arrs: list) -> tuple[dict[str, Callable[[], object]] | None, str | None]:
    """The chain as an IPython cell, plain and under ``%%autograd``, in a real
    ``InteractiveShell`` with the extension loaded (output swallowed for both)."""
    shell, run, why = _magic_shell()
    if run is None:
        return None, why
    import autograd_viz as av

    x, a, b, c = (av.tensor(v, requires_grad=True) for v in arrs)
    shell.user_ns.update({"av": av, "x": x, "a": a, "b": b, "c": c})
    code = CELL.format(cycles=chain.CYCLES)
    return {"plain": lambda: run(code), "magic": _new_cell(run, code),
            # as a kernel re-runs a cell (its id comes with the request): the cell's explorer
            # is updated in place, and its unchanged drawing comes from the SVG cache
            "magic_rerun": lambda: run("%%autograd\n" + code, cell_id="bench-cell")}, None


def loop_pair(_arrs: list, steps: int | None = None, key: str = "magic_loop",
              sizes: tuple[int, int, int] = LOOP_SIZES
              ) -> tuple[dict[str, Callable[[], object]] | None, str | None]:
    """A training loop as one cell (``steps`` SGD steps, ``LOOP_STEPS`` by default, of an
    MLP of ``sizes``, 20-32-3 by default, on a batch of 64, cross-entropy), plain and under
    ``%%autograd`` (a new cell each time): what a person who records a few epochs of a
    small model waits for."""
    shell, run, why = _magic_shell()
    if run is None:
        return None, why
    import autograd_viz as av

    av.manual_seed(0)
    shell.user_ns["av"] = av
    run(LOOP_SETUP.format(i=sizes[0], h=sizes[1], o=sizes[2]))
    code = LOOP_CELL.format(steps=LOOP_STEPS if steps is None else steps)
    return {"plain": lambda: run(code), key: _new_cell(run, code)}, None


def long_loop_pair(arrs: list) -> tuple[dict[str, Callable[[], object]] | None, str | None]:
    """:func:`loop_pair` with ``LONG_LOOP_STEPS`` steps: whether a recording's cost per
    step stays flat as it grows (the graph model of a long loop is hundreds of thousands of
    objects, which the garbage collector may walk again and again)."""
    return loop_pair(arrs, LONG_LOOP_STEPS, "magic_loop_long")


def mnist_loop_pair(arrs: list) -> tuple[dict[str, Callable[[], object]] | None, str | None]:
    """:func:`loop_pair` with an MNIST-sized MLP (784-128-10): every step's weights,
    activations and gradients are large values, which the recording copies and summarises."""
    return loop_pair(arrs, LOOP_STEPS, "magic_loop_mnist", MNIST_SIZES)


# ------------------------------------------------------------------------------ DOT+SVG
def recorded_chain_graph(viz: Any, cycles: int) -> Any:
    import autograd_viz as av

    x, a, b, c = (av.tensor(v, requires_grad=True) for v in chain.arrays((1,)))
    with viz.record() as rec:
        y = x
        for _ in range(cycles):
            y = (y * a + b).tanh() - c
        y.sum().backward()
    return rec.graph()


def _n_nodes(g: Any) -> int:
    return len(g.tensors) + len(g.ops)


def graph_with_nodes(viz: Any, target: int) -> tuple[Any, float]:
    """A recorded chain graph of about ``target`` nodes, and the seconds ``graph()`` took."""
    n2, n12 = (_n_nodes(recorded_chain_graph(viz, k)) for k in (2, 12))
    per_cycle = (n12 - n2) / 10
    cycles = max(1, round((target - _n_nodes(recorded_chain_graph(viz, 1)) + per_cycle)
                          / per_cycle))
    t0 = time.perf_counter()
    g = recorded_chain_graph(viz, cycles)
    return g, time.perf_counter() - t0


def dot_svg_times(viz: Any, target: int, repeats: int, timeout_s: float) -> dict[str, Any]:
    """Median seconds to build the DOT text and to render it to SVG with ``dot`` (a render
    slower than ``timeout_s`` is stopped and reported as such)."""
    from .timing import Stat

    g, t_graph = graph_with_nodes(viz, target)
    dot_t, svg_t = Stat(), Stat()  # wall clock: dot runs in a child process
    src = ""
    for _ in range(repeats):
        t0 = time.perf_counter()
        src = viz.dot_source(g)
        dot_t.wall_samples.append(time.perf_counter() - t0)
    svg_note = None
    exe = shutil.which("dot")
    if exe is None:
        svg_note = "Graphviz `dot` not installed"
    else:
        for _ in range(repeats):
            t0 = time.perf_counter()
            try:
                subprocess.run([exe, "-Tsvg"], input=src.encode(), capture_output=True,
                               timeout=timeout_s, check=True)
            except subprocess.TimeoutExpired:
                svg_note = f"> {timeout_s:.0f} s (dot stopped)"
                svg_t.wall_samples.clear()
                break
            svg_t.wall_samples.append(time.perf_counter() - t0)
    return {"nodes": _n_nodes(g), "dot_lines": src.count("\n"), "record_and_graph_s": t_graph,
            "dot_s": dot_t.wall_median,
            "svg_s": svg_t.wall_median if svg_t.wall_samples else None,
            "svg_pipe_s": _pipe_median(exe, src, repeats, timeout_s) if svg_note is None
            else None,
            "svg_note": svg_note}


def _pipe_median(exe: str, src: str, repeats: int, timeout_s: float) -> float | None:
    """Median seconds for the same SVG from a long-lived ``dot`` process (what drawings use
    since ``viz._dotpipe``), the process started before timing; None where there is none."""
    try:
        from autograd_viz.viz import _dotpipe
    except ImportError:
        return None
    if _dotpipe.render_svg(exe, src, timeout_s) is None:  # (starts the process)
        return None
    t = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        _dotpipe.render_svg(exe, src, timeout_s)
        t.append(time.perf_counter() - t0)
    return sorted(t)[len(t) // 2]
