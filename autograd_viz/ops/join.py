"""Joining and splitting: ``cat``, ``stack``, ``split``, ``chunk``, ``unbind``."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import _backend as B
from ..autograd.function import Op
from ..tensor import Tensor
from ._core import apply, apply_multi, register


class CatBackward0(Op):
    """``cat``; 1-D empty tensors among others are inputs too (torch's legacy rule: they
    are skipped in the concatenation and get an empty gradient)."""

    _out_rule = "cat"

    def forward(self, *arrays, dim, skip=()):
        self.dim = dim
        self.skip = skip
        self.sizes = [a.shape[dim] if not sk else 0 for a, sk in zip(arrays, skip or
                                                                     (False,) * len(arrays))]
        self.dts = [a.dtype for a in arrays]
        xp = B.get_array_module(arrays[0])
        kept = [a for k, a in enumerate(arrays) if not (skip and skip[k])]
        return xp.ascontiguousarray(xp.concatenate(kept, axis=dim))

    def backward(self, g):
        outs = []
        start = 0
        for k, (s, dt) in enumerate(zip(self.sizes, self.dts)):
            if self.skip and self.skip[k]:
                outs.append(g.new_zeros((0,)).to(B.from_np(dt)))
                continue
            piece = g.narrow(self.dim, start, s)
            outs.append(piece if piece._data.dtype == dt else piece.to(B.from_np(dt)))
            start += s
        return tuple(outs)


class StackBackward0(Op):
    def forward(self, *arrays, dim):
        self.dim = dim
        self.dts = [a.dtype for a in arrays]
        xp = B.get_array_module(arrays[0])
        return xp.ascontiguousarray(xp.stack(arrays, axis=dim))

    def backward(self, g):
        return tuple(p if p._data.dtype == dt else p.to(B.from_np(dt))
                     for p, dt in zip(g.unbind(self.dim), self.dts))


def _promote_all(tensors: Sequence[Tensor]) -> list[Tensor]:
    from ._core import _cast_const
    dt = B.result_type(*tensors)
    return [_cast_const(t, dt) for t in tensors]


def _tensor_list(tensors: Any, fn: str) -> list:
    if isinstance(tensors, Tensor):
        raise TypeError(f"{fn}(): argument 'tensors' (position 1) must be tuple of Tensors, "
                        "not Tensor")
    tensors = list(tensors)
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got "
                            f"{type(t).__name__}")
    return tensors


def cat(tensors: Sequence[Tensor], dim: int = 0, *, out: Tensor | None = None) -> Tensor:
    """Concatenate along an existing dimension."""
    tensors = _tensor_list(tensors, "cat")
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    ref = next((t for t in tensors if t.ndim and tuple(t.shape) != (0,)), None)
    if ref is None:
        ref = next((t for t in tensors if t.ndim), tensors[0])
    if ref.ndim == 0:
        raise RuntimeError("zero-dimensional tensor (at position 0) cannot be concatenated")
    d = ref._wrap_dim(dim)
    skip = tuple(t.ndim == 1 and t.shape[0] == 0 and ref.ndim != 1 for t in tensors)
    for i, t in enumerate(tensors):
        if skip[i]:
            continue
        if t.ndim != ref.ndim:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {ref.ndim} "
                               f"and {t.ndim}")
        for k in range(ref.ndim):
            if k != d and t.shape[k] != ref.shape[k]:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {d}. "
                                   f"Expected size {ref.shape[k]} but got size {t.shape[k]} "
                                   f"for tensor number {i} in the list.")
    return apply(CatBackward0, tuple(_promote_all(tensors)), out=out, dim=d,
                 skip=skip if any(skip) else ())


def stack(tensors: Sequence[Tensor], dim: int = 0, *, out: Tensor | None = None) -> Tensor:
    """Join along a new dimension (all tensors the same shape)."""
    tensors = _tensor_list(tensors, "stack")
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    for i, t in enumerate(tensors):
        if tuple(t.shape) != tuple(tensors[0].shape):
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(tensors[0].shape)} at entry 0 and {list(t.shape)} at "
                               f"entry {i}")
    d = tensors[0]._wrap_dim(dim, tensors[0].ndim + 1)
    return apply(StackBackward0, tuple(_promote_all(tensors)), out=out, dim=d)


class SplitBackward0(Op):
    _is_view = True

    def forward(self, a, sizes, dim):
        self.dim, self.sizes, self.in_shape, self.dt = dim, sizes, a.shape, a.dtype
        outs, start = [], 0
        for s in sizes:
            outs.append(a[(slice(None),) * dim + (slice(start, start + s),)])
            start += s
        return tuple(outs)

    def num_outputs(self) -> int:
        return len(self.sizes)

    def apply(self, grads):
        from .creation import zeros
        if all(g is None for g in grads):
            return (None,)
        dev = next(g for g in grads if g is not None).device
        parts = []
        for g, s in zip(grads, self.sizes):
            if g is None:
                shp = list(self.in_shape)
                shp[self.dim] = s
                g = zeros(shp, dtype=B.from_np(self.dt), device=dev)
            parts.append(g)
        return (cat(parts, self.dim),)


class SplitWithSizesBackward0(SplitBackward0):
    pass


class UnbindBackward0(SplitBackward0):
    def forward(self, a, sizes, dim):
        self.dim, self.sizes, self.in_shape, self.dt = dim, sizes, a.shape, a.dtype
        return tuple(a[(slice(None),) * dim + (i,)] for i in range(a.shape[dim]))

    def apply(self, grads):
        from .creation import zeros
        if all(g is None for g in grads):
            return (None,)
        ref = next(g for g in grads if g is not None)
        parts = [g if g is not None else zeros(tuple(ref.shape), dtype=ref.dtype,
                                               device=ref.device) for g in grads]
        return (stack(parts, self.dim),)


@register("split")
def split(tensor: Tensor, split_size_or_sections: Any, dim: int = 0) -> tuple:
    """Pieces of ``split_size`` along ``dim`` (the last may be smaller), or given sizes."""
    d = tensor._wrap_dim(dim)
    n = tensor.shape[d]
    if isinstance(split_size_or_sections, int):
        s = split_size_or_sections
        if s <= 0 and n:
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got "
                               f"dimension size of {n}")
        sizes = [s] * (n // s) + ([n % s] if n % s else []) if s else [0]
        cls = SplitBackward0
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} "
                               f"(input tensor's size at dimension {d}), but got "
                               f"split_sizes={sizes}")
        cls = SplitWithSizesBackward0
    return apply_multi(cls, (tensor,), sizes=sizes, dim=d)


@register("chunk")
def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """Split into ``chunks`` nearly equal pieces."""
    if chunks <= 0:
        raise RuntimeError("chunk expects `chunks` to be greater than 0, got: " + str(chunks))
    n = input.shape[input._wrap_dim(dim)]
    size = -(-n // chunks) if n else 1
    return split(input, max(size, 1), dim)


@register("unbind")
def unbind(input: Tensor, dim: int = 0) -> tuple:
    """Remove a dimension, returning the slices along it."""
    d = input._wrap_dim(dim)
    return apply_multi(UnbindBackward0, (input,), sizes=[1] * input.shape[d], dim=d)


Tensor.cat = None  # torch has no Tensor.cat
del Tensor.cat
