"""Build a graph model from tensors without recording, by walking ``grad_fn`` and
``next_functions`` (like torchviz's ``make_dot``, with values, grads and saved tensors)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._gc import paused
from .builder import GraphBuilder
from .model import Graph
from .names import names_from_mapping


def graph_from_tensors(*tensors: Any, names: Mapping[Any, Any] | None = None) -> Graph:
    """The autograd graph behind ``tensors`` as it is now.

    Roots are registered first (``t0``, ``t1``, ...), then nodes in preorder along
    ``next_functions``, so the ids are deterministic. ``names`` is ``{name: tensor}`` (or
    ``{name: module}``) as for :func:`~autograd_viz.viz.record`. Intermediate tensors are not
    known to a walk (only roots, leaves behind ``AccumulateGrad`` and saved tensors are).
    """
    roots: list[Any] = []
    for t in tensors:
        roots.extend(t if isinstance(t, (list, tuple)) else [t])
    with paused():
        b = GraphBuilder()
        root_ids = [b.tensor(t) for t in roots]
        return b.build(
            names=names_from_mapping(names) if names else {},
            roots=root_ids,
            source="walk",
        )
