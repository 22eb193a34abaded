"""Widgets of the Jupyter layer: the explorer (ipywidgets) and its graph canvas (anywidget).

``explorer.js`` and ``explorer.css`` next to this file are the canvas's front end; they are
package data and are sent with the widget state (no CDN).
"""
from .canvas import CSS, ESM, GraphCanvas
from .explorer import Explorer
from .panels import Histogram

__all__ = ["CSS", "ESM", "Explorer", "GraphCanvas", "Histogram"]
