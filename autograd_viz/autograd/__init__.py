"""Automatic differentiation: ``backward``, ``grad``, ``Function``, grad modes, gradcheck."""
from __future__ import annotations

from typing import Any

from . import events
from .anomaly import (
    detect_anomaly,
    is_anomaly_check_nan_enabled,
    is_anomaly_enabled,
    set_detect_anomaly,
)
from .function import Function, FunctionCtx, Node, once_differentiable
from .functional import backward, grad
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .hooks import RemovableHandle


def Variable(data: Any, requires_grad: bool = False, volatile: bool = False) -> Any:  # noqa: N802
    """Kept for old code: ``Variable(t)`` is just ``t`` (with ``requires_grad`` set)."""
    from ..tensor import Tensor
    if not isinstance(data, Tensor):
        raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
    if requires_grad and not data.requires_grad:
        data.requires_grad_(True)
    return data


__all__ = ["Function", "FunctionCtx", "Node", "Variable", "backward", "grad", "no_grad",
           "enable_grad", "set_grad_enabled", "is_grad_enabled", "inference_mode",
           "gradcheck", "gradgradcheck", "GradcheckError", "RemovableHandle", "events",
           "once_differentiable", "detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled",
           "is_anomaly_check_nan_enabled"]
