"""Sorting and selection: ``sort``, ``argsort``, ``msort``, ``topk``, ``kthvalue``,
``median``, ``unique``, ``searchsorted``, ``bucketize``.

Value-selecting ops (sort, topk, kthvalue, median(dim)) return torch's named tuples of
``values`` and ``indices``; their nodes send the gradient of ``values`` to the chosen
positions (torch's ``value_selecting_reduction_backward``). Sorting is stable (as torch's CPU
sort), NaN sorts as the largest value.
"""
from __future__ import annotations

from collections import namedtuple
from typing import Any

import numpy as np

from .. import _backend as B
from ..autograd.function import RESULT, Op
from ..tensor import Tensor
from ._core import apply, apply_multi, register
from .reduce import SelectAlongDim

__all__ = ["sort", "argsort", "msort", "topk", "kthvalue", "median", "unique",
           "searchsorted", "bucketize"]


def _return_type(name: str) -> type:
    """A named tuple of (values, indices) named like ``torch.return_types.<name>``."""
    cls = namedtuple(name, ["values", "indices"])
    cls.__module__ = "autograd_viz.return_types"
    return cls


SortResult = _return_type("sort")
TopkResult = _return_type("topk")
KthvalueResult = _return_type("kthvalue")
MedianResult = _return_type("median")

_UNSET: Any = object()


# ----------------------------------------------------------------------------- arrays
def _argsort(a: Any, dim: int, descending: bool) -> Any:
    """Stable argsort along ``dim`` (NaN last ascending, first descending, as torch)."""
    xp = B.get_array_module(a)
    kw = {"kind": "stable"} if xp is np else {}
    if not descending:
        return xp.argsort(a, axis=dim, **kw).astype(np.int64, copy=False)
    # descending and stable: sort the reversed array ascending, reverse, map positions back
    n = a.shape[dim]
    r = xp.argsort(xp.flip(a, dim), axis=dim, **kw).astype(np.int64, copy=False)
    return (n - 1) - xp.flip(r, dim)


def _c(a: Any) -> Any:
    """``a`` C-contiguous (a copy when it is not; 0-d stays 0-d)."""
    return a if a.flags.c_contiguous else a.copy()


def _take_first(a: Any, dim: int, k: int) -> Any:
    return a[(slice(None),) * dim + (slice(0, k),)]


class _Indices(Op):
    """An integer result (indices, positions): no gradient, no node."""

    _differentiable = False

    def forward(self, *arrays, fn):
        return fn(*arrays)


# ----------------------------------------------------------------------------- nodes
class _ValueSelecting(SelectAlongDim):
    """(values, indices) picked along ``dim`` (``idx`` kept in keepdim form)."""

    def _setup(self, a: Any, dim: int, keepdim: bool, idx_k: Any) -> None:
        self.in_shape, self.dim, self.keepdim = a.shape, dim, keepdim
        self.idx = idx_k
        self.diff_outputs = (True, False)


def _zero_d(a: Any) -> tuple:
    xp = B.get_array_module(a)
    return a.copy(), xp.zeros((), dtype=np.int64)


class SortBackward0(_ValueSelecting):
    """``sort`` (``SortBackward1`` when ``stable=`` is given)."""

    def forward(self, a, dim, descending):
        xp = B.get_array_module(a)
        if a.ndim == 0:
            self._setup(a, 0, True, xp.zeros((), dtype=np.int64))
            return _zero_d(a)
        idx = _argsort(a, dim, descending)
        self._setup(a, dim, True, idx)
        return xp.take_along_axis(a, idx, axis=dim), idx


class SortBackward1(SortBackward0):
    pass


class TopkBackward0(_ValueSelecting):
    def forward(self, a, k, dim, largest):
        xp = B.get_array_module(a)
        if a.ndim == 0:
            self._setup(a, 0, True, xp.zeros((), dtype=np.int64))
            return _zero_d(a)
        idx = _take_first(_argsort(a, dim, largest), dim, k)
        idx = _c(idx)
        self._setup(a, dim, True, idx)
        return xp.take_along_axis(a, idx, axis=dim), idx


class KthvalueBackward0(_ValueSelecting):
    def forward(self, a, k, dim, keepdim):
        xp = B.get_array_module(a)
        if a.ndim == 0:
            self._setup(a, 0, True, xp.zeros((), dtype=np.int64))
            return _zero_d(a)
        order = _argsort(a, dim, False)
        idx = _c(order[(slice(None),) * dim + (slice(k - 1, k),)])
        return self._finish(a, dim, keepdim, idx)

    def _finish(self, a: Any, dim: int, keepdim: bool, idx_k: Any) -> tuple:
        xp = B.get_array_module(a)
        self._setup(a, dim, keepdim, idx_k)
        vals = xp.take_along_axis(a, idx_k, axis=dim)
        if keepdim:
            return vals, idx_k
        return _c(vals.squeeze(dim)), _c(idx_k.squeeze(dim))


class MedianBackward1(KthvalueBackward0):
    """``median(dim)``: the lower median; a NaN in the slice is the median (its first NaN)."""

    def forward(self, a, dim, keepdim):
        xp = B.get_array_module(a)
        if a.ndim == 0:
            self._setup(a, 0, True, xp.zeros((), dtype=np.int64))
            return _zero_d(a)
        order = _argsort(a, dim, False)
        n = a.shape[dim]
        pos = xp.full(a.shape[:dim] + (1,) + a.shape[dim + 1:], (n - 1) // 2, dtype=np.int64)
        if a.dtype.kind == "f":
            nans = xp.isnan(a)
            has = nans.any(axis=dim, keepdims=True)
            if bool(has.any()):  # NaN sorts last: the first NaN is at position n - #NaN
                pos = xp.where(has, n - nans.sum(axis=dim, keepdims=True), pos)
        idx = xp.take_along_axis(order, pos, axis=dim)
        return self._finish(a, dim, keepdim, idx)


class MedianBackward0(Op):
    """``median()`` of all elements: the gradient is shared evenly by the elements equal to
    the median (torch's ``evenly_distribute_backward``)."""

    def forward(self, a):
        self.save(self=self.inputs[0], result=RESULT)
        xp = B.get_array_module(a)
        flat = a.reshape(-1)
        if flat.size == 0:
            return xp.asarray(np.nan if a.dtype.kind == "f" else np.iinfo(np.int64).min,
                              dtype=a.dtype)
        order = _argsort(flat, 0, False)
        n = flat.size
        pos = (n - 1) // 2
        if a.dtype.kind == "f":
            nn = int(xp.isnan(flat).sum())
            if nn:
                pos = n - nn
        return flat[order[pos]].copy()

    def backward(self, g):
        a, r = self.saved()
        mask = a.isnan() if bool(r.isnan()) else a == r
        return mask * (g / mask.sum())


class Unique2Backward0(Op):
    """``unique`` (dim=None): the values carry a node whose backward is torch's error."""

    _fn = "_unique2"

    def num_outputs(self) -> int:
        return 3

    def forward(self, a, sorted, return_inverse, return_counts, dim):
        self.diff_outputs = (True, False, False)
        xp = B.get_array_module(a)
        h = B.to_numpy(a)
        if dim is None:
            vals, inv, cnt = np.unique(h.reshape(-1), return_inverse=True, return_counts=True,
                                       equal_nan=False)
            inv = inv.reshape(h.shape)
        else:
            vals, inv, cnt = np.unique(h, axis=dim, return_inverse=True, return_counts=True,
                                       equal_nan=False)
            inv = inv.reshape(-1)
        outs = (np.ascontiguousarray(vals), inv.astype(np.int64), cnt.astype(np.int64))
        return tuple(o if xp is np else xp.asarray(o) for o in outs)

    def apply(self, grads: list) -> tuple:
        raise NotImplementedError(f"the derivative for '{self._fn}' is not implemented.")


class UniqueDimBackward0(Unique2Backward0):
    _fn = "unique_dim"


# ----------------------------------------------------------------------------- functions
def _check_dim(input: Tensor, dim: int) -> int:
    return input._wrap_dim(dim)


@register("sort")
def sort(input: Tensor, dim: int = -1, descending: bool = False, *,
         stable: Any = _UNSET) -> Any:
    """``(values, indices)`` of ``input`` sorted along ``dim`` (stable: equal values keep
    their order; NaN is the largest). ``SortBackward1`` when ``stable=`` is passed."""
    d = _check_dim(input, dim)
    cls = SortBackward0 if stable is _UNSET else SortBackward1
    vals, idx = apply_multi(cls, (input,), dim=d, descending=bool(descending))
    return SortResult(vals, idx)


@register("argsort")
def argsort(input: Tensor, dim: int = -1, descending: bool = False, *,
            stable: bool = False) -> Tensor:
    """The indices that sort ``input`` along ``dim`` (int64, no gradient)."""
    d = _check_dim(input, dim)

    def fn(a):
        if a.ndim == 0:
            return B.get_array_module(a).zeros((), dtype=np.int64)
        return _argsort(a, d, bool(descending))
    return apply(_Indices, (input,), fn=fn)


@register("msort")
def msort(input: Tensor) -> Tensor:
    """``input`` sorted along its first dimension (``sort(input, dim=0).values``)."""
    return sort(input, dim=0).values


@register("topk")
def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True,
         sorted: bool = True) -> Any:
    """The ``k`` largest (or smallest) elements along ``dim``: ``(values, indices)``. The
    result is always in sorted order (torch leaves the order unspecified for sorted=False)."""
    d = _check_dim(input, dim)
    size = input._data.shape[d] if input.ndim else 1
    if not 0 <= k <= size:
        raise RuntimeError("selected index k out of range")
    vals, idx = apply_multi(TopkBackward0, (input,), k=int(k), dim=d, largest=bool(largest))
    return TopkResult(vals, idx)


@register("kthvalue")
def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False) -> Any:
    """The ``k``-th smallest element along ``dim`` (1-based) and its index."""
    d = _check_dim(input, dim)
    size = input._data.shape[d] if input.ndim else 1
    if not 1 <= k <= size:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
    vals, idx = apply_multi(KthvalueBackward0, (input,), k=int(k), dim=d, keepdim=keepdim)
    return KthvalueResult(vals, idx)


@register("median")
def median(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    """The lower median of all elements; with ``dim``, ``(values, indices)`` along it. A NaN
    makes the median NaN."""
    if dim is None:
        return apply(MedianBackward0, (input,))
    d = _check_dim(input, dim)
    if input.ndim and input._data.shape[d] == 0:
        raise IndexError(f"median(): Expected reduction dim {d} to have non-zero size.")
    vals, idx = apply_multi(MedianBackward1, (input,), dim=d, keepdim=keepdim)
    return MedianResult(vals, idx)


@register("unique")
def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False,
           return_counts: bool = False, dim: int | None = None) -> Any:
    """The distinct values (sorted; NaNs are not merged), optionally with the inverse
    indices and the counts; with ``dim``, the distinct slices along it. The values have a
    node whose backward raises torch's NotImplementedError (not differentiable)."""
    cls = Unique2Backward0
    d = None
    if dim is not None:
        d = _check_dim(input, dim)
        shape = input._data.shape
        if any(s == 0 for i, s in enumerate(shape) if i != d):
            raise RuntimeError("There are 0 sized dimensions, and they aren't selected, so "
                               "unique cannot be applied")
        cls = UniqueDimBackward0
    vals, inv, cnt = apply_multi(cls, (input,), sorted=sorted, return_inverse=return_inverse,
                                 return_counts=return_counts, dim=d)
    if return_inverse and return_counts:
        return vals, inv, cnt
    if return_inverse:
        return vals, inv
    if return_counts:
        return vals, cnt
    return vals


def _as_values(x: Any, like: Tensor) -> Tensor:
    if isinstance(x, Tensor):
        return x
    xp = B.get_array_module(like._data)
    return Tensor._wrap(xp.asarray(x))


def searchsorted(sorted_sequence: Tensor, input: Any, *, out_int32: bool = False,
                 right: bool = False, side: str | None = None,
                 sorter: Tensor | None = None) -> Tensor:
    """For each value of ``input``, the index in ``sorted_sequence`` (along its last dim)
    where it would be inserted to keep the order: the first such index, or the last with
    ``right=True`` / ``side='right'``. ``sorted_sequence`` is 1-D or has ``input``'s leading
    dims. int64 (int32 with ``out_int32``), no gradient."""
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but "
                               f"got {side}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to "
                               "opposites, got side of left while right was True")
        right = side == "right"
    values = _as_values(input, sorted_sequence)
    seq_shape, v_shape = tuple(sorted_sequence.shape), tuple(values.shape)
    if len(seq_shape) != 1 and (len(seq_shape) != len(v_shape)
                                or seq_shape[:-1] != v_shape[:-1]):
        raise RuntimeError(
            f"torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
            f"dimensions of boundaries tensor and input value tensor must match, but we got "
            f"boundaries tensor {list(seq_shape)} and input value tensor {list(v_shape)}")
    if sorter is not None and tuple(sorter.shape) != seq_shape:
        raise RuntimeError("torch.searchsorted(): boundary and sorter must have the same size, "
                           f"but got boundary tensor {list(seq_shape)}and got sorter tensor "
                           f"{list(sorter.shape)}")
    srt = sorter._data if sorter is not None else None
    out_dt = np.int32 if out_int32 else np.int64
    how = "right" if right else "left"

    def fn(seq, v):
        xp = B.get_array_module(seq)
        if srt is not None:
            seq = xp.take_along_axis(seq, srt, axis=-1)
        if seq.ndim == 1:
            return xp.asarray(xp.searchsorted(seq, v, side=how), dtype=out_dt)
        s2 = seq.reshape(-1, seq.shape[-1])
        v2 = v.reshape(-1, v.shape[-1])
        out = xp.stack([xp.searchsorted(s2[i], v2[i], side=how) for i in range(s2.shape[0])])
        return out.astype(out_dt).reshape(v.shape)
    return apply(_Indices, (sorted_sequence, values), fn=fn)


def bucketize(input: Any, boundaries: Tensor, *, out_int32: bool = False,
              right: bool = False) -> Tensor:
    """The bucket of each value of ``input`` given 1-D increasing ``boundaries``:
    ``searchsorted(boundaries, input, right=right)``."""
    if boundaries.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim"
                           f"({boundaries.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)
