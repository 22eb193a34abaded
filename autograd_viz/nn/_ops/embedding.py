"""``embedding`` (``EmbeddingBackward0``): rows of a weight matrix picked by indices; the
gradient is scattered back with ``add.at``."""
from __future__ import annotations

from typing import Any

from ... import _backend as B
from ...autograd.function import Op
from ...ops._core import apply
from ...tensor import Tensor
from ._util import scatter_add, wrap, xp_of


class EmbeddingBackward0(Op):
    def forward(self, w, idx, padding_idx, scale_grad_by_freq):
        self.idx, self.num = idx, w.shape[0]
        self.pad, self.scale = padding_idx, scale_grad_by_freq
        return w[idx]

    def backward(self, g):
        return apply(EmbeddingDenseBackward, (g,), idx=self.idx, num=self.num, pad=self.pad,
                     scale=self.scale)


class EmbeddingDenseBackward(Op):
    _name = "EmbeddingDenseBackwardBackward0"

    def forward(self, g, idx, num, pad, scale):
        xp = xp_of(g)
        d = g.shape[-1]
        flat = idx.reshape(-1)
        out = xp.zeros((num, d), dtype=g.dtype)
        scatter_add(out, flat, g.reshape(-1, d))
        factor = xp.ones((num,), dtype=g.dtype)
        if scale:
            counts = xp.bincount(flat, minlength=num)
            factor = factor / xp.maximum(counts, 1)
        if pad is not None:
            factor[pad] = 0
        self.row_factor = factor[idx][..., None]
        self.idx = idx
        return out * factor[:, None]

    def backward(self, gg):
        return apply(EmbeddingBackward0, (gg,), idx=self.idx, padding_idx=None,
                     scale_grad_by_freq=False) * wrap(self.row_factor)


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Any:
    """Rows of ``weight`` at the integer indices ``input`` (any shape)."""
    if input.dtype not in (B.int64, B.int32):
        raise RuntimeError("Expected tensor for argument #1 'indices' to have one of the "
                           "following scalar types: Long, Int; but got "
                           f"{input._type_name()} instead (while checking arguments for "
                           "embedding)")
    num = weight.shape[0]
    idx = input._data
    if idx.size and (int(idx.max()) >= num or int(idx.min()) < -num):
        raise IndexError("index out of range in self")
    idx = idx % num if idx.size and int(idx.min()) < 0 else idx
    if padding_idx is not None and padding_idx < 0:
        padding_idx += num
    if max_norm is not None:
        _renorm_rows(weight, idx, max_norm, norm_type)
    return apply(EmbeddingBackward0, (weight,), idx=idx, padding_idx=padding_idx,
                 scale_grad_by_freq=scale_grad_by_freq)


def _renorm_rows(weight: Tensor, idx: Any, max_norm: float, norm_type: float) -> None:
    """Rescale (in place, outside the graph) the used rows whose norm exceeds max_norm."""
    xp = xp_of(weight._data)
    rows = xp.unique(idx.reshape(-1))
    w = weight._data
    norms = (xp.abs(w[rows]) ** norm_type).sum(axis=1) ** (1.0 / norm_type)
    scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
    w[rows] = w[rows] * scale[:, None]
    weight._vc.v += 1
