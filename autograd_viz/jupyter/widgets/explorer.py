"""The explorer: one long-lived widget per ``%%autograd`` cell, updated in place.

Layout (an ``ipywidgets.VBox`` with class ``agv-explorer``)::

    header      what the cell built; a red banner when the recording is incomplete
    toolbar     label toggles (values, grads, shapes, saved, hooks) and the layout direction
    main        graph column                                  | inspector (HTML; wraps below
                  GraphCanvas (anywidget: SVG, zoom, pan, click) |  when the cell is narrow)
                  stepper: Play + IntSlider over the executed nodes of every backward run
                  step card: the node at the current step, gradients flowing in and out
    timeline    .grad of each leaf (and retain_grad tensor) over the cell's backward calls

All panel HTML is made in Python (see :mod:`.panels`), so it is testable without a front end:
set ``explorer.canvas.selected = "t0"`` and read ``explorer.inspector.value``.
Displayed, the explorer also carries ``image/svg+xml`` and ``text/plain`` in its mimebundle,
so a saved notebook shows the graph without a kernel or widget state.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ipywidgets as W
from ipywidgets.widgets.widget_bool import ToggleButtonStyle
from ipywidgets.widgets.widget_description import DescriptionStyle
from ipywidgets.widgets.widget_string import HTMLStyle

from ...viz.draw import Drawing, render_svgs
from ..render import Recording, ShowOptions, drawing
from . import panels
from .canvas import GraphCanvas

_TOGGLES = (
    ("data", "values", "show tensor values in the nodes"),
    ("grad", "grads", "show .grad in the nodes"),
    ("shape", "shapes", "show shape and dtype in the nodes"),
    ("saved", "saved", "show the tensors ops saved for backward"),
    ("hooks", "hooks", "show hook badges and what hooks printed"),
)
_RANKDIRS = (("inputs at bottom", "BT"), ("inputs on top", "TB"), ("left to right", "LR"),
             ("right to left", "RL"))


def drawings_of(rec: Recording) -> tuple[Drawing, Drawing]:
    """The canvas's drawing and the static one of ``rec``: the static drawing (with its
    legend) is what the cell's saved output carries; the canvas has its own HTML legend, so
    it shows the same drawing without Graphviz's (made once per static drawing)."""
    full = rec.drawing()
    return full.with_legend(False), full


def start_layout(rec: Recording) -> None:
    """Have Graphviz start laying out ``rec``'s two drawings now, in long-lived ``dot``
    processes, while the explorer is built (``%%autograd`` calls this first); the explorer
    reads them when it renders. No thread: ``dot`` works in its own processes."""
    for d in drawings_of(rec):
        d.start()


class Explorer(W.VBox):
    """Interactive view of one :class:`~autograd_viz.jupyter.render.Recording`."""

    def __init__(self, recording: Recording | None = None, *, step: bool = False,
                 **kwargs: Any) -> None:
        self._recording: Recording | None = None
        self._steps: Sequence[panels.FlatStep] = ()
        self._drawing: Any = None  # the canvas's Drawing: which summary hides which node
        self._svg = ""
        self._busy = False
        # Layouts and styles are widgets too (a comm each, opened with all their traits):
        # every child shares one Layout that is never changed (sizes and flex come from
        # classes in explorer.css; the timeline hides with a class), and children that
        # look the same share a style (55 -> 26 comms).
        plain = W.Layout()
        html_style = HTMLStyle()
        toggle_style = ToggleButtonStyle()
        described = DescriptionStyle()

        def html(value: str = "", **kw: Any) -> W.HTML:
            return W.HTML(value, style=html_style, layout=plain, **kw)

        self.header = html()
        self.header.add_class("agv-header-box")

        self.toggles: dict[str, W.ToggleButton] = {}
        for key, text, tip in _TOGGLES:
            b = W.ToggleButton(value=False, description=text, tooltip=tip,
                               layout=plain, style=toggle_style)
            b.add_class("agv-toggle")
            b.add_class(f"agv-toggle-{key}")
            b.observe(self._on_toggle, "value")
            self.toggles[key] = b
        self.rankdir = W.Dropdown(options=_RANKDIRS, value="BT", layout=plain,
                                  style=described)
        self.rankdir.add_class("agv-rankdir")
        self.rankdir.observe(self._on_toggle, "value")
        label = html('<span class="agv-toolbar-label">show</span>')
        self.toolbar = W.HBox([label, *self.toggles.values(), self.rankdir], layout=plain)
        self.toolbar.add_class("agv-toolbar")

        self.canvas = GraphCanvas(layout=plain)
        self.canvas.add_class("agv-canvas-box")
        self.canvas.observe(self._on_select, "selected")
        self.inspector = html()
        self.inspector.add_class("agv-inspector-box")

        self.play = W.Play(value=0, min=0, max=1, step=1, interval=1100,
                           description="play backward", show_repeat=False, layout=plain,
                           style=described)
        self.play.add_class("agv-play")
        self.slider = W.IntSlider(value=0, min=0, max=1, step=1, description="backward",
                                  continuous_update=True, layout=plain)
        self.slider.add_class("agv-step-slider")
        self._link = W.jslink((self.play, "value"), (self.slider, "value"))
        self.slider.observe(self._on_step, "value")
        self.step_label = html()
        self.step_label.add_class("agv-step-label")
        self.stepper = W.HBox([self.play, self.slider, self.step_label], layout=plain)
        self.stepper.add_class("agv-stepper")
        self.step_card = html()
        self.step_card.add_class("agv-step-box")
        self.timeline = html()  # (class agv-hidden while there is no timeline)
        self.timeline.add_class("agv-timeline-box")

        # The graph with its stepper, and the inspector: side by side where the cell is wide
        # enough, else the inspector wraps below the step card.
        self.graph_column = W.VBox([self.canvas, self.stepper, self.step_card],
                                   layout=plain)
        self.graph_column.add_class("agv-graph-column")
        self.main = W.HBox([self.graph_column, self.inspector], layout=plain)
        self.main.add_class("agv-main")

        kwargs.setdefault("layout", plain)
        super().__init__([self.header, self.toolbar, self.main, self.timeline], **kwargs)
        self.add_class("agv-explorer")
        if recording is not None:
            self.update(recording, step=step)

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

    def update(self, recording: Recording, *, step: bool = False) -> None:
        """Show ``recording`` in this (already displayed) widget: every view updates."""
        self._recording = recording
        recording.explorer = self
        g = recording.graph
        self._steps = panels.flat_steps(g)
        opts = recording.options
        self._busy = True
        try:
            for key, b in self.toggles.items():
                b.value = bool(getattr(opts, key))
            self.rankdir.value = opts.rankdir if opts.rankdir in dict(
                (v, v) for _, v in _RANKDIRS) else "BT"
            n = len(self._steps)
            # set max before value so that the value is never clamped
            self.slider.max = self.play.max = max(n, 1)
            start = 1 if (step and n) else 0
            self.slider.value = self.play.value = start
            self.slider.disabled = self.play.disabled = n == 0
            self.canvas.selected = ""
        finally:
            self._busy = False
        names = [t.name for t in g.tensors if t.name and t.role == "leaf"]
        self.header.value = panels.header_html(g, names=names)
        self.timeline.value = panels.timeline_html(g)
        if self.timeline.value:
            self.timeline.remove_class("agv-hidden")
        else:
            self.timeline.add_class("agv-hidden")
        self._render()
        self._show_step(self.slider.value)
        self.inspector.value = panels.inspector_html(g, None)

    def _render(self, static_too: bool = True) -> None:
        rec = self._recording
        if rec is None:
            return
        # before the explorer is displayed both are laid out at once (or were started by
        # ``start_layout``); after a toggle only the canvas changes (the static one is laid
        # out if the explorer is displayed again)
        d, full = drawings_of(rec)
        render_svgs([d, full] if static_too else [d])
        svg = d.svg()
        if svg is None:  # no Graphviz: show the text rendering instead
            import html

            svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="640" height="40">'
                   '<text x="8" y="24" font-size="12">' + html.escape(d.text().split("\n")[0])
                   + "</text></svg>")
        self._svg = svg
        self._drawing = d
        self.canvas.rankdir = rec.options.rankdir
        # names of the drawn nodes only (a recorded loop has tens of thousands of nodes)
        g = rec.graph
        tensors, ops = {t.id: t for t in g.tensors}, {o.id: o for o in g.ops}
        self.canvas.names = {
            n: ops[n].name if n in ops else tensors[n].name or n
            for n in d.body.drawn if n in ops or n in tensors}
        self.canvas.svg = svg

    # ------------------------------------------------------------------ events
    def _on_toggle(self, change: dict) -> None:
        if self._busy or self._recording is None:
            return
        changes = {key: b.value for key, b in self.toggles.items()}
        changes["rankdir"] = self.rankdir.value
        rec = self._recording
        rec.options = rec.options.replace(**changes)
        rec._drawing = None
        self._render(static_too=False)
        self._show_step(self.slider.value)  # what is collapsed may have changed

    def _on_select(self, change: dict) -> None:
        g = self.graph
        if g is None:
            return
        body = None if self._drawing is None else self._drawing.body
        self.inspector.value = panels.inspector_html(g, change["new"] or None, body)

    def _on_step(self, change: dict) -> None:
        if self._busy:
            return
        self._show_step(change["new"])

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
            self.canvas.visited = visited
            self.canvas.step_node = now or ""
            if now and now != fs.step.op:
                folded = now
        else:
            self.canvas.visited = []
            self.canvas.step_node = ""
        self.step_label.value = (f'<span class="agv-step-text">'
                                 f"{panels.e(panels.step_label(g, steps, k))}</span>")
        self.step_card.value = panels.step_html(g, steps, k, folded_into=self._summary(folded))

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
        self.canvas.selected = nid
        return self.inspector.value

    def step_to(self, k: int) -> str:
        """Move the backward stepper to step ``k`` (0: before backward); returns the card."""
        self.slider.value = max(0, min(int(k), self.slider.max))
        return self.step_card.value

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

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        data = super()._repr_mimebundle_(**kwargs) or {}
        data = dict(data)
        data.update(self._static_bundle())
        return data

    def __repr__(self) -> str:
        g = self.graph
        if g is None:
            return "Explorer(empty)"
        return f"Explorer({panels.summary_line(g)}{', incomplete' if g.incomplete else ''})"


def explorer_for(recording: Recording, **kwargs: Any) -> Explorer:
    """A new explorer showing ``recording``."""
    return Explorer(recording, **kwargs)


__all__ = ["Explorer", "GraphCanvas", "drawing", "explorer_for"]
