"""See autograd: record the engine's events into a graph model and draw it.

``record`` (a context manager) records ops, backward runs, hooks and ``.grad`` history;
``graph_from_tensors`` walks ``grad_fn`` instead; ``to_dot``/``draw``/``to_text`` render.
Nothing here depends on Jupyter.
"""
from ._pool import release as release_buffers
from .dot import DotBody, dot_body, dot_source, note_statements, to_dot
from .draw import Drawing, clear_svg_cache, draw
from .model import Graph
from .recorder import Recorder, record
from .text import to_text
from .walk import graph_from_tensors

__all__ = [
    "DotBody",
    "Drawing",
    "Graph",
    "Recorder",
    "clear_svg_cache",
    "dot_body",
    "dot_source",
    "draw",
    "graph_from_tensors",
    "note_statements",
    "record",
    "release_buffers",
    "to_dot",
    "to_text",
]
