"""``cosine_similarity`` and ``pairwise_distance``, composed as ATen composes them, with the
nodes PyTorch records: ``LinalgVectorNormBackward0`` (the 2-norm), ``NormBackward1`` (the
p-norm over one dim) and ``AddBackward1`` (a tensor plus a scalar)."""
from __future__ import annotations

import math

from ...autograd import grad_mode
from ...autograd.function import RESULT, Op
from ...ops._core import apply
from ...ops.unary import where
from ...tensor import Tensor
from ._util import xp_of


class LinalgVectorNormBackward0(Op):
    """``linalg.vector_norm(x, 2, dim, keepdim=True)``."""

    def forward(self, a, dim):
        self.dim = dim
        self.save(self=self.inputs[0], result=RESULT)
        xp = xp_of(a)
        return xp.sqrt((a * a).sum(axis=dim, keepdims=True))

    def backward(self, g):
        a, r = self.saved()
        return a * where(r == 0, g * 0, g / r)


class NormBackward1(Op):
    """``norm(x, p, dim, keepdim)`` for a finite ``p > 0``."""

    def forward(self, a, p, dim, keepdim):
        self.p, self.dim, self.keepdim = p, dim, keepdim
        self.save(self=self.inputs[0], result=RESULT)
        xp = xp_of(a)
        if p == 2:
            return xp.sqrt((a * a).sum(axis=dim, keepdims=keepdim))
        if p == 1:
            return xp.abs(a).sum(axis=dim, keepdims=keepdim)
        return (xp.abs(a) ** p).sum(axis=dim, keepdims=keepdim) ** (1.0 / p)

    def backward(self, g):
        a, r = self.saved()
        if not self.keepdim:
            g, r = g.unsqueeze(self.dim), r.unsqueeze(self.dim)
        p = self.p
        if p == 1:
            return a.sign() * g
        if p == 2:
            return a * where(r == 0, g * 0, g / r)
        scale = a * a.abs() ** (p - 2) if p >= 2 else a.sign() * a.abs() ** (p - 1)
        return where(r == 0, g * 0, scale * g / r ** (p - 1))


class AddBackward1(Op):
    """``x + scalar``."""

    def forward(self, a, other):
        self.alpha = 1
        return a + a.dtype.type(other) if a.dtype.kind in "fc" else a + other

    def backward(self, g):
        return g


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """``sum(x1 / max(||x1||, eps) * x2 / max(||x2||, eps), dim)`` after broadcasting, as
    ATen computes it (the norms are clamped outside the graph)."""
    from ..functional import _broadcast_pair
    a, b = _broadcast_pair(x1, x2)
    nd = max(a.ndim, 1)
    d = dim + nd if dim < 0 else dim
    if not 0 <= d < nd:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-nd}, "
                         f"{nd - 1}], but got {dim})")
    d = d if a.ndim else None

    def unit(t: Tensor) -> Tensor:
        n = apply(LinalgVectorNormBackward0, (t,), dim=d).clone()
        with grad_mode.no_grad():
            n.clamp_min_(eps)
        return t / n

    return (unit(a) * unit(b)).sum(d) if d is not None else (unit(a) * unit(b)).sum()


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """``norm(x1 - x2 + eps, p, dim=-1, keepdim)`` (``NormBackward1``)."""
    diff = apply(AddBackward1, (x1 - x2,), other=eps)
    nd = diff.ndim
    if nd == 0 or not (isinstance(p, (int, float)) and math.isfinite(p) and p > 0):
        return diff.norm(p, -1, keepdim=keepdim)
    return apply(NormBackward1, (diff,), p=float(p), dim=nd - 1, keepdim=keepdim)
