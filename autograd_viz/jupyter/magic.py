"""The ``%%autograd`` cell magic.

The cell runs in the user namespace through ``shell.run_cell`` (as IPython's own ``%%capture``
runs it), so variables, prints, ``display()`` calls, the value of the last expression and
tracebacks are exactly those of the cell without the magic. Meanwhile
:func:`autograd_viz.viz.record` records every op, backward run, hook call and ``.grad``
change. Afterwards the tensors are named after the namespace's variables and the cell shows
one explorer widget (or, with ``--static``, an SVG with a text alternative).

When the cell raises, its traceback is shown as usual, the graph recorded up to the error is
shown marked incomplete, and the cell still counts as failed (``Run All`` stops there).
"""
from __future__ import annotations

import argparse
import asyncio
import keyword
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, magics_class
from IPython.core.magic_arguments import argument, kwds, magic_arguments, parse_argstring
from IPython.display import display
from traitlets import Bool, CaselessStrEnum, Int

from autograd_viz import viz

from .render import RANKDIRS, Recording, ShowOptions

_DESCRIPTION = """\
Run the cell as usual, record its autograd graph, and show it: the graph with the cell's
variable names on their tensors, what hooks printed (next to the node they are registered
on), the grads kept by retain_grad(), and each leaf's .grad over the cell's backward calls.
By default in an explorer widget (click a node to inspect it, step through backward); with
--static as SVG + text. Each output also carries a static SVG and text, so a saved notebook
shows the graph without a kernel.
"""

_EPILOG = """\
Examples::

  %%autograd
  x = av.tensor([2.], requires_grad=True)
  y = (x + 2) ** 2 + 3
  y.backward()

  %%autograd --saved --rankdir LR --out rec      # saved tensors, left to right, keep it
  %%autograd --static --no-data                  # SVG + text only, no values in nodes
  %%autograd --step                              # open at the backward stepper

Defaults come from %config, e.g. ``%config AutogradMagics.max_nodes = 100`` or
``%config AutogradMagics.static = True`` (see ``%config AutogradMagics``).
"""

@magics_class
class AutogradMagics(Magics):
    """``%%autograd``: run a cell, record its autograd graph, and show it.

    The options' defaults are these configurable traits (``%config AutogradMagics``).
    """

    show_data = Bool(True, help="Show tensor values in the nodes.").tag(config=True)
    show_grad = Bool(True, help="Show .grad (and retained grads) in the nodes.").tag(config=True)
    show_shape = Bool(True, help="Show shape and dtype in the nodes.").tag(config=True)
    show_saved = Bool(False, help="Show the tensors ops saved for backward.").tag(config=True)
    show_hooks = Bool(True, help="Show hook badges and what hooks printed.").tag(config=True)
    show_timeline = Bool(
        True, help="Attach each leaf's .grad timeline (2+ changes) to it in the drawing."
    ).tag(config=True)
    max_nodes = Int(300, help="Collapse drawings above this many nodes.").tag(config=True)
    rankdir = CaselessStrEnum(
        RANKDIRS, default_value="BT", help="Graph direction: BT (inputs at the bottom), TB, LR, RL."
    ).tag(config=True)
    static = Bool(False, help="Show SVG + text only, never the explorer widget.").tag(config=True)
    max_explorers = Int(
        64, help="Explorer widgets kept alive (one per cell, reused when the cell re-runs)."
    ).tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self._explorers: OrderedDict[str, Any] = OrderedDict()
        #: The last cell's :class:`Recording` (also what ``--out`` stores).
        self.last: Recording | None = None

    # ------------------------------------------------------------------ the magic
    @magic_arguments(name="%%autograd")
    @kwds(description=_DESCRIPTION, epilog=_EPILOG,
          formatter_class=argparse.RawDescriptionHelpFormatter)
    @argument("--data", action=argparse.BooleanOptionalAction, default=None,
              help="show (or hide) tensor values in the nodes")
    @argument("--grad", action=argparse.BooleanOptionalAction, default=None,
              help="show (or hide) .grad and retained grads in the nodes")
    @argument("--shape", action=argparse.BooleanOptionalAction, default=None,
              help="show (or hide) shape and dtype in the nodes")
    @argument("--saved", action=argparse.BooleanOptionalAction, default=None,
              help="show (or hide) the tensors saved for backward")
    @argument("--hooks", action=argparse.BooleanOptionalAction, default=None,
              help="show (or hide) hook badges and hook output")
    @argument("--max-nodes", type=int, default=None, metavar="N",
              help="collapse the drawing above N nodes")
    @argument("--rankdir", type=str.upper, choices=RANKDIRS, default=None,
              help="direction: BT (inputs at the bottom, default), TB, LR or RL")
    @argument("--static", dest="static", action="store_const", const=True, default=None,
              help="show the SVG (and text) only, no explorer widget")
    @argument("--widget", dest="static", action="store_const", const=False,
              help="show the explorer widget even if static is the configured default")
    @argument("--step", action="store_true",
              help="open the explorer at the first step of the backward stepper")
    @argument("--out", metavar="NAME", default=None,
              help="store the Recording (graph, drawing, explorer) as NAME in the namespace")
    @cell_magic
    def autograd(self, line: str, cell: str) -> None:
        """Replaced by the help text that magic_arguments builds from _DESCRIPTION."""
        args = self._parse(line)
        opts = self._options(args)
        static = self.static if args.static is None else args.static
        shell = self.shell
        assert shell is not None
        if _needs_running_loop(shell, cell):
            raise UsageError(
                "%%autograd: this cell uses top-level `await`, which IPython cannot run inside "
                "a cell magic while the kernel's event loop is running. Move the awaits into a "
                "separate cell (or an async function you await there) and record the rest.")

        outer = getattr(shell.displayhook, "exec_result", None)
        cell_id = _cell_id(outer)
        rec = viz.record()
        with rec, _numbered_as(shell, outer):
            result = shell.run_cell(cell, store_history=False)
        if outer is not None:
            shell.displayhook.exec_result = outer  # the nested run_cell reset it
        error = None
        if result is not None:
            error = result.error_before_exec or result.error_in_exec
        if error is not None:
            rec.mark_incomplete(error)
        rec.name_from_namespace(shell.user_ns)
        graph = rec.graph()
        recording = Recording(graph, rec if args.out else None, opts, error)
        self.last = recording
        if args.out:
            shell.user_ns[args.out] = recording

        ran = result is not None and result.error_before_exec is None
        if ran:
            self._show(recording, static=static, step=args.step, cell_id=cell_id)
        if error is not None:
            _fail_outer_cell(shell, outer, error)

    # ------------------------------------------------------------------ helpers
    def _parse(self, line: str) -> argparse.Namespace:
        """Parse the options; on a mistake raise UsageError with the usage (runs nothing)."""
        parser = self.autograd.parser
        try:
            args = parse_argstring(self.autograd, line)
        except UsageError as exc:
            raise UsageError(f"%%autograd: {exc}\n{parser.format_usage()}"
                             "See %%autograd? for the options.") from None
        if args.out is not None and (not args.out.isidentifier() or keyword.iskeyword(args.out)):
            raise UsageError(f"%%autograd: --out needs a Python name, got {args.out!r}\n"
                             f"{parser.format_usage()}")
        if args.max_nodes is not None and args.max_nodes < 1:
            raise UsageError(f"%%autograd: --max-nodes must be at least 1, got {args.max_nodes}\n"
                             f"{parser.format_usage()}")
        return args

    def _options(self, args: argparse.Namespace) -> ShowOptions:
        def pick(value: Any, default: Any) -> Any:
            return default if value is None else value

        return ShowOptions(
            data=pick(args.data, self.show_data),
            grad=pick(args.grad, self.show_grad),
            shape=pick(args.shape, self.show_shape),
            saved=pick(args.saved, self.show_saved),
            hooks=pick(args.hooks, self.show_hooks),
            timeline=self.show_timeline,
            max_nodes=pick(args.max_nodes, self.max_nodes),
            rankdir=pick(args.rankdir, self.rankdir).upper(),
        )

    def _show(self, recording: Recording, *, static: bool, step: bool,
              cell_id: str | None) -> None:
        g = recording.graph
        if not g.tensors and not g.ops and not g.runs:
            display(_Note("%%autograd: no autograd operations were recorded in this cell."))
            return
        if not static:
            try:
                from .widgets.explorer import Explorer, start_layout
            except ImportError as exc:  # ipywidgets/anywidget missing: fall back to SVG
                display(_Note(f"%%autograd: the explorer needs ipywidgets and anywidget ({exc}); "
                              "showing the static graph."))
                static = True
        if static:
            display(recording)
            return
        start_layout(recording)  # Graphviz works while the explorer is built
        explorer = self._explorers.pop(cell_id, None) if cell_id else None
        if explorer is not None and getattr(explorer, "comm", None) is not None:
            explorer.update(recording, step=step)
        else:  # (its comm opens with the recording shown: one message)
            explorer = Explorer(recording, step=step)
        if cell_id:
            self._explorers[cell_id] = explorer
            while len(self._explorers) > max(self.max_explorers, 1):
                _, old = self._explorers.popitem(last=False)
                _close(old)
        display(explorer)

    def close_explorers(self) -> None:
        """Close every kept explorer widget (``%unload_ext`` does this)."""
        while self._explorers:
            _, w = self._explorers.popitem()
            _close(w)


class _Note:
    """A one-line message displayed as an output (plain text and a quiet HTML line)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        import html

        return {
            "text/plain": self.text,
            "text/html": '<div style="color:#667085;font-size:12px">'
            f"{html.escape(self.text)}</div>",
        }

    def __repr__(self) -> str:
        return self.text


def _cell_id(outer: Any) -> str | None:
    info = getattr(outer, "info", None)
    cid = getattr(info, "cell_id", None)
    return str(cid) if cid else None


def _needs_running_loop(shell: Any, cell: str) -> bool:
    """True when the cell has top-level ``await`` and an event loop is already running (a
    kernel): the nested ``run_cell`` would fail with "This event loop is already running"."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False  # a terminal IPython runs such cells on its own loop
    try:
        return bool(shell.should_run_async(cell, transformed_cell=shell.transform_cell(cell),
                                           preprocessing_exc_tuple=None))
    except Exception:  # noqa: BLE001 - let run_cell report whatever is wrong with the cell
        return False


@contextmanager
def _numbered_as(shell: Any, outer: Any) -> Iterator[None]:
    """Compile the nested run under the outer cell's number, so that tracebacks say
    ``Cell In[4], line 3`` for cell [4] (the outer cell already moved the counter on).
    Output prompts need nothing: the display hook numbers them from the counter."""
    number = getattr(outer, "execution_count", None)
    compiler = getattr(shell, "compile", None)
    if number is None or compiler is None or "cache" in vars(compiler):
        yield
        return
    original = compiler.cache

    def cache(transformed_code: str, n: int = 0, raw_code: str | None = None) -> str:
        return original(transformed_code, number, raw_code)

    compiler.cache = cache
    try:
        yield
    finally:
        del compiler.cache


def _fail_outer_cell(shell: Any, outer: Any, error: BaseException) -> None:
    """Make the ``%%autograd`` cell count as failed, as the cell itself did.

    The nested ``run_cell`` already showed the traceback; raising again would show a second
    one. Instead the outer cell's ExecutionResult gets the error (ipykernel replies
    ``status: error`` from it, so "Run All" stops), and ``last_execution_succeeded`` is
    cleared once the outer cell has finished.
    """
    if outer is None:
        return
    if outer.error_in_exec is None and outer.error_before_exec is None:
        outer.error_in_exec = error

    def _after(result: Any = None) -> None:
        shell.last_execution_succeeded = False
        try:
            shell.events.unregister("post_run_cell", _after)
        except ValueError:
            pass

    shell.events.register("post_run_cell", _after)


def _close(widget: Any) -> None:
    try:
        widget.close()
    except Exception:  # noqa: BLE001 - closing a widget whose comm is gone
        pass
