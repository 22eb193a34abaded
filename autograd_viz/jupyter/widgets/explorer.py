"""The explorer: one long-lived widget per ``%%autograd`` cell, updated in place.

One anywidget (a :class:`GraphCanvas` with the explorer's other parts as traits), drawn by
``explorer.js``::

    header      what the cell built; a red banner when the recording is incomplete
    toolbar     label toggles (values, grads, shapes, saved, hooks) and the layout direction
    main        graph column                                  | inspector (wraps below
                  the graph: SVG, zoom, pan, click            |  when the cell is narrow)
                  stepper: play/stop and a slider over the executed nodes of every
                  backward run
                  step card: the node at the current step, gradients flowing in and out
    timeline    .grad of each leaf (and retain_grad tensor) over the cell's backward calls

One widget is one comm to open and one view to make, where the same parts as ipywidgets
(boxes, buttons, a slider, a Play widget, HTML panes, their layouts and styles) were 26.
All panel HTML is made in Python (see :mod:`.panels`), so it is testable without a front end:
set ``explorer.selected = "t0"`` and read ``explorer.inspector``.
Displayed, the explorer also carries ``image/svg+xml`` and ``text/plain`` in its mimebundle,
so a saved notebook shows the graph without a kernel or widget state.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import traitlets

from ...viz.draw import Drawing, render_svgs
from ..render import Recording, ShowOptions, drawing
from . import panels
from .canvas import GraphCanvas

#: The label toggles: option key, button text, tooltip.
TOGGLES = (
    ("data", "values", "show tensor values in the nodes"),
    ("grad", "grads", "show .grad in the nodes"),
    ("shape", "shapes", "show shape and dtype in the nodes"),
    ("saved", "saved", "show the tensors ops saved for backward"),
    ("hooks", "hooks", "show hook badges and what hooks printed"),
)
#: The layout directions: menu text, Graphviz rankdir.
RANKDIRS = (("inputs at bottom", "BT"), ("inputs on top", "TB"), ("left to right", "LR"),
            ("right to left", "RL"))
_RANKDIR_VALUES = frozenset(v for _, v in RANKDIRS)


def drawings_of(rec: Recording) -> tuple[Drawing, Drawing]:
    """The canvas's drawing and the static one of ``rec``: the static drawing (with its
    legend) is what the cell's saved output carries; the canvas has its own HTML legend, so
    it shows the same drawing without Graphviz's (made once per static drawing)."""
    full = rec.drawing()
    return full.with_legend(False), full


def start_layout(rec: Recording) -> None:
    """Have Graphviz start laying out ``rec``'s two drawings now, in long-lived ``dot``
    processes, while the explorer is built (``%%autograd`` calls this first); the explorer
    reads them when it renders. No thread: ``dot`` works in its own processes. Meanwhile
    the text of the cell's saved output is made (``text/plain`` beside the static SVG)."""
    canvas, full = drawings_of(rec)
    canvas.start()
    full.start()
    full.prepare_text()


class Explorer(GraphCanvas):
    """Interactive view of one :class:`~autograd_viz.jupyter.render.Recording`.

    Traits (all synced), besides the canvas's (``svg``, ``names``, ``selected``,
    ``step_node``, ``visited``, ``rankdir``, ``max_height``):

    * ``show``: the label toggles, ``{"data": bool, "grad": ..., "shape": ..., "saved":
      ..., "hooks": ...}``; the front end's buttons set it, and the drawing follows.
      ``rankdir`` (the menu) re-lays the drawing out the same way.
    * ``step`` (0: before backward) and ``step_max`` (the executed nodes of every backward
      run): the stepper. Setting ``step`` moves the highlight and the step card.
    * ``header``, ``inspector``, ``step_card``, ``step_label``, ``timeline``: the panels'
      HTML (``timeline`` is empty, and hidden, when the cell ran no backward).
    """

    explorer = traitlets.Bool(True).tag(sync=True)  # (the front end draws the whole explorer)
    toggles = traitlets.List(default_value=[list(t) for t in TOGGLES]).tag(sync=True)
    rankdirs = traitlets.List(default_value=[list(r) for r in RANKDIRS]).tag(sync=True)
    show = traitlets.Dict(default_value={k: False for k, _, _ in TOGGLES}).tag(sync=True)
    step = traitlets.Int(0).tag(sync=True)
    step_max = traitlets.Int(0).tag(sync=True)
    header = traitlets.Unicode("").tag(sync=True)
    inspector = traitlets.Unicode("").tag(sync=True)
    step_card = traitlets.Unicode("").tag(sync=True)
    step_label = traitlets.Unicode("").tag(sync=True)
    timeline = traitlets.Unicode("").tag(sync=True)

    def __init__(self, recording: Recording | None = None, *, step: bool = False,
                 **kwargs: Any) -> None:
        self._recording: Recording | None = None
        self._steps: Sequence[panels.FlatStep] = ()
        self._drawing: Any = None  # the canvas's Drawing: which summary hides which node
        self._busy = False
        self._unopened = True  # (see open)
        super().__init__(**kwargs)
        self.add_class("agv-explorer")
        self.observe(self._on_toggle, ["show", "rankdir"])
        self.observe(self._on_select, "selected")
        self.observe(self._on_step, "step")
        if recording is not None:
            self.update(recording, step=step)
        self._unopened = False
        self.open()

    def open(self) -> None:
        """Open the comm to the front end (ipywidgets does it at the end of ``Widget``'s
        ``__init__``): the explorer opens it once it shows its recording, so that the
        first message carries the whole explorer rather than an empty one and an update."""
        if not self._unopened:
            super().open()

    # ------------------------------------------------------------------ state
    @property
    def recording(self) -> Recording | None:
        return self._recording

    @property
    def graph(self):  # noqa: ANN201 - Graph | None
        return None if self._recording is None else self._recording.graph

    @property
    def options(self) -> ShowOptions:
        return self._recording.options if self._recording is not None else ShowOptions()

    @property
    def canvas(self) -> Explorer:
        """The graph canvas: the explorer draws it itself (kept for code that reads
        ``explorer.canvas.selected``, ``.svg``, ``.step_node``)."""
        return self

    def update(self, recording: Recording, *, step: bool = False) -> None:
        """Show ``recording`` in this (already displayed) widget: every view updates, in
        one message to the front end."""
        self._recording = recording
        recording.explorer = self
        g = recording.graph
        self._steps = panels.flat_steps(g)
        opts = recording.options
        with self.hold_sync():
            self._busy = True
            try:
                self.show = {key: bool(getattr(opts, key)) for key, _, _ in TOGGLES}
                n = len(self._steps)
                # (max before value: the front end's slider never clamps the value)
                self.step_max = n
                self.step = 1 if (step and n) else 0
                self.selected = ""
            finally:
                self._busy = False
            names = [t.name for t in g.tensors if t.name and t.role == "leaf"]
            self.header = panels.header_html(g, names=names)
            self.timeline = panels.timeline_html(g)
            self._use_drawing()  # (Graphviz lays it out meanwhile: the panels first)
            self._show_step(self.step)
            self.inspector = panels.inspector_html(g, None)
            self._show_svg()

    def _use_drawing(self) -> None:
        """Take the recording's drawing for the canvas (which node each summary hides, the
        names of the drawn nodes) and have Graphviz start laying it out, without waiting
        (``start_layout`` may have started it already)."""
        rec = self._recording
        if rec is None:
            return
        d, _ = drawings_of(rec)
        d.start()
        self._drawing = d
        busy, self._busy = self._busy, True
        try:
            self.rankdir = rec.options.rankdir if rec.options.rankdir in _RANKDIR_VALUES \
                else "BT"
        finally:
            self._busy = busy
        # names of the drawn nodes only (a recorded loop has tens of thousands of nodes)
        g = rec.graph
        tensors, ops = {t.id: t for t in g.tensors}, {o.id: o for o in g.ops}
        self.names = {
            n: ops[n].name if n in ops else tensors[n].name or n
            for n in d.body.drawn if n in ops or n in tensors}

    def _show_svg(self, static_too: bool = True) -> None:
        """Wait for the canvas's SVG and show it. Before the explorer is displayed both
        drawings are laid out at once; after a toggle only the canvas changes (the static
        one is laid out if the explorer is displayed again)."""
        rec, d = self._recording, self._drawing
        if rec is None or d is None:
            return
        render_svgs([d, drawings_of(rec)[1]] if static_too else [d])
        svg = d.svg()
        if svg is None:  # no Graphviz: show the text rendering instead
            import html

            svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="640" height="40">'
                   '<text x="8" y="24" font-size="12">' + html.escape(d.text().split("\n")[0])
                   + "</text></svg>")
        self.svg = svg

    # ------------------------------------------------------------------ events
    def _on_toggle(self, change: dict) -> None:
        if self._busy or self._recording is None:
            return
        rec = self._recording
        shown = self.show
        changes: dict[str, Any] = {k: bool(shown.get(k, getattr(rec.options, k)))
                                   for k, _, _ in TOGGLES}
        if self.rankdir in _RANKDIR_VALUES:
            changes["rankdir"] = self.rankdir
        new = rec.options.replace(**changes)
        if new == rec.options:
            return
        rec.options = new
        rec._drawing = None
        with self.hold_sync():
            self._use_drawing()
            self._show_step(self.step)  # what is collapsed may have changed
            self._show_svg(static_too=False)

    def _on_select(self, change: dict) -> None:
        g = self.graph
        if g is None:
            return
        body = None if self._drawing is None else self._drawing.body
        self.inspector = panels.inspector_html(g, change["new"] or None, body)

    def _on_step(self, change: dict) -> None:
        if self._busy:
            return
        k = max(0, min(int(change["new"]), len(self._steps)))
        if k != change["new"]:  # (out of range: clamped, which calls this again)
            self.step = k
            return
        with self.hold_sync():
            self._show_step(k)

    def _show_step(self, k: int) -> None:
        g = self.graph
        if g is None:
            return
        steps = self._steps
        folded = None
        if 1 <= k <= len(steps):
            fs = steps[k - 1]
            # a node folded into a summary is shown by its summary node
            now = self.shown_as(fs.step.op)
            visited: list[str] = []
            for s in fs.run.steps[: fs.number - 1]:
                v = self.shown_as(s.op)
                if v and v != now and v not in visited:
                    visited.append(v)
            self.visited = visited
            self.step_node = now or ""
            if now and now != fs.step.op:
                folded = now
        else:
            self.visited = []
            self.step_node = ""
        self.step_label = (f'<span class="agv-step-text">'
                           f"{panels.e(panels.step_label(g, steps, k))}</span>")
        self.step_card = panels.step_html(g, steps, k, folded_into=self._summary(folded))

    def shown_as(self, node_id: str) -> str | None:
        """The node drawn for ``node_id`` on the canvas: itself, or the summary node that
        hides it in a collapsed drawing (None when it is not drawn)."""
        if self._drawing is None:
            return node_id
        return self._drawing.shown_as(node_id)

    def _summary(self, sid: str | None) -> Any:
        if sid is None or self._drawing is None:
            return None
        return next((s for s in self._drawing.summaries if s.id == sid), None)

    # ------------------------------------------------------------------ API
    def select(self, node: str | None) -> str:
        """Select a node by id or by name (as a click does); returns the inspector HTML."""
        g = self.graph
        nid = ""
        if node and g is not None:
            try:
                nid = g.node(node).id
            except KeyError:
                nid = node
        self.selected = nid
        return self.inspector

    def step_to(self, k: int) -> str:
        """Move the backward stepper to step ``k`` (0: before backward); returns the card."""
        self.step = max(0, min(int(k), self.step_max))
        return self.step_card

    @property
    def steps(self) -> list[panels.FlatStep]:
        """The executed nodes, numbered across the cell's backward runs."""
        return list(self._steps)

    # ------------------------------------------------------------------ display
    def _static_bundle(self) -> dict[str, str]:
        if self._recording is None:
            return {"text/plain": "Explorer(empty)"}
        bundle = dict(self._recording.drawing()._repr_mimebundle_())
        return bundle

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        bundle = super()._repr_mimebundle_(**kwargs) or ({}, {})
        data, meta = bundle if isinstance(bundle, tuple) else (bundle, {})
        data = dict(data)
        data.update(self._static_bundle())
        return data, dict(meta)

    def __repr__(self) -> str:
        g = self.graph
        if g is None:
            return "Explorer(empty)"
        return f"Explorer({panels.summary_line(g)}{', incomplete' if g.incomplete else ''})"


def explorer_for(recording: Recording, **kwargs: Any) -> Explorer:
    """A new explorer showing ``recording``."""
    return Explorer(recording, **kwargs)


__all__ = ["RANKDIRS", "TOGGLES", "Explorer", "GraphCanvas", "drawing", "explorer_for"]
