"""``autograd_viz.linalg``: the ``torch.linalg`` functions the library has."""
from __future__ import annotations

from .ops.contract import linalg_cross as cross
from .ops.contract import multi_dot

__all__ = ["cross", "multi_dot"]
