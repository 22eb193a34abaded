"""``empty`` with the ``device=`` / ``dtype=`` factory arguments layers accept."""
from __future__ import annotations

from typing import Any

from ...ops.creation import empty as _empty
from ...tensor import Tensor
from ..parameter import Parameter


def empty(*shape: int, device: Any = None, dtype: Any = None) -> Tensor:
    """An uninitialised tensor of ``shape`` (then filled by an ``nn.init`` function)."""
    return _empty(*shape, device=device, dtype=dtype)


def param(*shape: int, device: Any = None, dtype: Any = None) -> Parameter:
    """An uninitialised Parameter of ``shape``."""
    return Parameter(empty(*shape, device=device, dtype=dtype))
