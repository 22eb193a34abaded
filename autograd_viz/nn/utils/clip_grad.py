"""``clip_grad_norm_`` and ``clip_grad_value_``."""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ... import _backend as B
from ...tensor import Tensor


def _grads(parameters: Tensor | Iterable[Tensor]) -> list[Tensor]:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach: bool | None = None) -> Tensor:
    """Scale all gradients in place so that their joint ``norm_type``-norm is at most
    ``max_norm``; returns the norm before clipping."""
    grads = _grads(parameters)
    if not grads:
        return Tensor._wrap(np.asarray(0.0, dtype=np.float32))
    norm_type = float(norm_type)
    norms = []
    for g in grads:
        a = B.to_numpy(g._data).astype(np.float64)
        norms.append(np.abs(a).max() if norm_type == np.inf else
                     (np.abs(a) ** norm_type).sum() ** (1.0 / norm_type))
    total = max(norms) if norm_type == np.inf else \
        float(np.sum(np.asarray(norms) ** norm_type) ** (1.0 / norm_type))
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from "
                           "`parameters` is non-finite, so it cannot be clipped. To disable "
                           "this error and scale the gradients by the non-finite norm anyway, "
                           "set `error_if_nonfinite=False`")
    coef = min(max_norm / (total + 1e-6), 1.0)
    for g in grads:
        g._data *= g._data.dtype.type(coef)
        g._vc.v += 1
    dt = grads[0]._data.dtype
    return Tensor._wrap(B.move(np.asarray(total, dtype=dt), grads[0].device))


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float,
                     foreach: bool | None = None) -> None:
    """Clamp all gradients in place to ``[-clip_value, clip_value]``."""
    for g in _grads(parameters):
        xp = B.get_array_module(g._data)
        xp.clip(g._data, -clip_value, clip_value, out=g._data)
        g._vc.v += 1
