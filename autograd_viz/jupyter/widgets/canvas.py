"""The graph canvas: an anywidget showing server-rendered SVG with zoom, pan and click.

Its JavaScript and CSS are files in this package (``explorer.js``, ``explorer.css``):
anywidget reads them and sends their text with the widget state, so nothing is fetched
from a CDN and saved notebooks carry everything they need.
"""
from __future__ import annotations

from pathlib import Path

import anywidget
import traitlets

HERE = Path(__file__).resolve().parent
ESM = HERE / "explorer.js"
CSS = HERE / "explorer.css"


class GraphCanvas(anywidget.AnyWidget):
    """Shows ``svg`` (Graphviz output) in a zoomable, pannable viewport.

    Traits (all synced):

    * ``svg``: the drawing; nodes are ``<g class="node">`` whose ``<title>`` is the graph id.
    * ``names``: graph id → display name (set as ``data-name`` on each node, for tooltips
      and tests).
    * ``selected``: the id of the node the user clicked (set by the front end).
    * ``step_node``: the op the backward stepper is at (outlined, its edges coloured);
      ``visited``: the ops executed before it in the same run.
    * ``max_height``: the viewport's largest height in pixels; ``rankdir``: the drawing's
      direction (the first view of a large graph shows its outputs' end).
    """

    _esm = ESM
    _css = CSS

    svg = traitlets.Unicode("").tag(sync=True)
    names = traitlets.Dict(default_value={}).tag(sync=True)
    selected = traitlets.Unicode("").tag(sync=True)
    step_node = traitlets.Unicode("").tag(sync=True)
    visited = traitlets.List(traitlets.Unicode(), default_value=[]).tag(sync=True)
    max_height = traitlets.Int(600).tag(sync=True)
    rankdir = traitlets.Unicode("BT").tag(sync=True)

    def __repr__(self) -> str:  # deterministic: no memory address
        return f"GraphCanvas(selected={self.selected!r}, step_node={self.step_node!r})"
