"""Scatter and index updates (``scatter``, ``scatter_add``, ``scatter_reduce``, ``index_add``,
``index_copy``, ``index_fill``, ``masked_scatter``, ``index_put``) with their in-place
methods, plus a few small torch functions (``detach``, ``dropout``, ``normal``,
``multinomial``, ``Tensor.ndimension``).

Each op is one ``Op`` (forward on arrays, backward in Tensor ops, named as torch's
``grad_fn``); the in-place methods are the out-of-place op written back through ``inplace``
(version counter, ``grad_fn``, leaf checks, ``CopySlices`` for views), as the other ops do.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import _backend as B
from ..autograd.function import RESULT, Op
from ..tensor import Tensor
from ._core import SCALARS, _pretty, apply, inplace, register

__all__ = ["detach", "dropout", "index_add", "index_copy", "index_fill", "index_put",
           "masked_scatter", "multinomial", "normal", "scatter", "scatter_add",
           "scatter_reduce"]

_wrap = Tensor._wrap


# ------------------------------------------------------------------------------ helpers
def _xp(a: Any) -> Any:
    return B.get_array_module(a)


def _as1d(a: Any) -> Any:
    """A 0-d array as a 1-element 1-d view (torch treats 0-d tensors as 1-d here)."""
    return a.reshape(1) if a.ndim == 0 else a


_grids = B.along_grids


def _head(src: Any, shape: tuple) -> Any:
    """The leading ``shape`` block of ``src`` (scatter uses only that part of src)."""
    return src[tuple(slice(0, n) for n in shape)]


def _pad(g: Tensor, shape: tuple) -> Tensor:
    """``g`` placed at the start of zeros of ``shape`` (differentiably)."""
    if tuple(g.shape) == tuple(shape):
        return g
    from .index import _embed
    return _embed(g, tuple(shape), tuple(slice(0, n) for n in g.shape))


def _long(index: Tensor) -> Tensor:
    return index if index.dtype is B.int64 else _wrap(index._data.astype(np.int64))


def _gather(g: Tensor, dim: int, idx: Any) -> Tensor:
    """``g.gather(dim, idx)``, 0-d tensors included."""
    if g.ndim == 0:
        return g
    from .index import gather
    if any(n != k for d, (n, k) in enumerate(zip(idx.shape, g.shape)) if d != dim):
        g = g[tuple(slice(None) if d == dim else slice(0, n) for d, n in enumerate(idx.shape))]
    return gather(g, dim, _wrap(idx))


def _fill_at(a: Any, dim: int, idx: Any, value: Any) -> Any:
    """A copy of ``a`` with ``value`` written at ``idx`` along ``dim`` (array level)."""
    out = a.copy()
    if idx.size:
        _as1d(out)[_grids(_as1d(idx), dim)] = value
    return out


# ---------------------------------------------------------------------------- checks
def _check_scatter(fn: str, input: Tensor, dim: int, index: Tensor, src: Tensor | None) -> int:
    """torch's scatter/scatter_add/scatter_reduce argument checks; returns the wrapped dim."""
    if index.dtype not in (B.int64, B.int32):
        raise RuntimeError(f"{fn}(): Expected dtype int32/int64 for index")
    if src is not None and src.dtype is not input.dtype:
        raise RuntimeError(f"{fn}(): Expected self.dtype to be equal to src.dtype")
    d = input._wrap_dim(dim)
    n = max(input.ndim, 1)
    if max(index.ndim, 1) != n:
        raise RuntimeError("Index tensor must have the same number of dimensions as self tensor")
    ish = tuple(index.shape) or (1,)
    ssh = tuple(input.shape) or (1,)
    if index.numel():
        bad = any(ish[k] > ssh[k] for k in range(n) if k != d)
        if src is not None:
            rsh = tuple(src.shape) or (1,)
            if src.ndim and src.ndim < n:  # torch reads src.size(k) for each of self's dims
                src._wrap_dim(n - 1)
            if bad or any(ish[k] > rsh[k] for k in range(n)):
                raise RuntimeError(f"Expected index {list(index.shape)} to be no larger than "
                                   f"self {list(input.shape)} apart from dimension {d} and to "
                                   f"be no larger size than src {list(src.shape)}")
        elif bad:
            raise RuntimeError(f"Expected index {list(index.shape)} to be no larger than self "
                               f"{list(input.shape)} apart from dimension {d}")
        if src is not None and max(src.ndim, 1) != n:
            raise RuntimeError("Index tensor must have the same number of dimensions as src "
                               "tensor")
        idx = index._data
        size = ssh[d]
        lo, hi = int(idx.min()), int(idx.max())
        if lo < 0 or hi >= size:
            raise RuntimeError(f"index {hi if hi >= size else lo} is out of bounds for "
                               f"dimension {d} with size {size}")
    return d


def _check_vector_index(fn: str, input: Tensor, dim: int, index: Tensor) -> int:
    d = input._wrap_dim(dim)
    if index.ndim > 1:
        raise IndexError(f"{fn}(): Index is supposed to be a vector, but got dim: {index.ndim} "
                         f"with type: {_pretty(index.dtype)} and size: {list(index.shape)}")
    return d


def _check_bounds(input: Tensor, d: int, idx: Any, negative_ok: bool, prefix: str = "",
                  exc: type = RuntimeError) -> Any:
    """Raise torch's out-of-bounds error; returns ``idx`` with negatives wrapped if allowed."""
    size = (tuple(input.shape) or (1,))[d]
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())
        low = -size if negative_ok else 0
        if lo < low or hi >= size:
            raise exc(f"{prefix}index {hi if hi >= size else lo} is out of bounds for "
                      f"dimension {d} with size {size}")
        if negative_ok and lo < 0:
            idx = idx % size
    return idx


def _check_source_shape(input: Tensor, source: Tensor, d: int) -> None:
    ss, ds = tuple(source.shape), tuple(input.shape)
    if len(ss) > 0 and len(ds) > 0 and (len(ss) != len(ds) or any(
            a != b for k, (a, b) in enumerate(zip(ss, ds)) if k != d)):
        raise RuntimeError(f"source tensor shape must match self tensor shape, excluding the "
                           f"specified dimension. Got self.shape = {list(ds)} source.shape = "
                           f"{list(ss)}")


# ------------------------------------------------------------------------------ scatter
class ScatterBackward0(Op):
    """``scatter(input, dim, index, src)``: src's values written at index along dim."""

    def forward(self, a, src, idx, dim):
        self.idx, self.dim, self.src_shape = idx, dim, src.shape
        out = a.copy()
        if idx.size:
            i = _as1d(idx)
            _as1d(out)[_grids(i, dim)] = _head(_as1d(src), i.shape)
        return out

    def backward(self, g):
        n = self.needs
        ga = apply(ScatterBackward1, (g,), idx=self.idx, dim=self.dim, value=0) if n[0] else None
        gs = _pad(_gather(g, self.dim, self.idx), self.src_shape) if n[1] else None
        return ga, gs


class ScatterBackward1(Op):
    """``scatter(input, dim, index, value)``: a number written at index along dim."""

    def forward(self, a, idx, dim, value):
        self.idx, self.dim = idx, dim
        return _fill_at(a, dim, idx, _xp(a).asarray(value).astype(a.dtype))

    def backward(self, g):
        return apply(ScatterBackward1, (g,), idx=self.idx, dim=self.dim, value=0)


class _ScatterLegacyReduce(Op):
    """``scatter(..., reduce='add'|'multiply')``: torch has no derivative for it."""

    _name = "NotImplemented"

    def forward(self, a, *src, idx, dim, reduce, value=None):
        out = a.copy()
        if idx.size:
            i = _as1d(idx)
            v = _head(_as1d(src[0]), i.shape) if src else _xp(a).asarray(value).astype(a.dtype)
            ufunc = _xp(a).add if reduce == "add" else _xp(a).multiply
            ufunc.at(_as1d(out), _grids(i, dim), v)
        return out

    def backward(self, g):
        raise RuntimeError("derivative for aten::scatter is not implemented")


@register("scatter")
def scatter(input: Tensor, dim: int, index: Tensor, src: Any = None, *, value: Any = None,
            reduce: str | None = None) -> Tensor:
    """Write ``src`` (a tensor, or a number ``value``) into a copy of ``input`` at ``index``
    along ``dim``: ``out[i][index[i][j]][k] = src[i][j][k]`` for dim 1 (``ScatterBackward0``,
    ``ScatterBackward1`` for a number). ``reduce='add'|'multiply'`` combines instead of
    overwriting (no derivative, as in torch)."""
    if src is None:
        src = value
    if src is None:
        raise TypeError("scatter() missing required argument 'src' or 'value'")
    tensor_src = isinstance(src, Tensor)
    if not tensor_src and not isinstance(src, SCALARS):
        raise TypeError(f"scatter(): argument 'src' must be Tensor or Number, not "
                        f"{type(src).__name__}")
    d = _check_scatter("scatter", input, dim, index, src if tensor_src else None)
    idx = _long(index)._data
    if reduce is not None:
        if reduce not in ("add", "multiply"):
            raise RuntimeError("reduce argument must be either add or multiply.")
        if tensor_src:
            return apply(_ScatterLegacyReduce, (input, src), idx=idx, dim=d, reduce=reduce)
        return apply(_ScatterLegacyReduce, (input,), idx=idx, dim=d, reduce=reduce, value=src)
    if tensor_src:
        return apply(ScatterBackward0, (input, src), idx=idx, dim=d)
    return apply(ScatterBackward1, (input,), idx=idx, dim=d, value=src)


class ScatterAddBackward0(Op):
    """``scatter_add(input, dim, index, src)``: src's values added at index (duplicates
    accumulate)."""

    def forward(self, a, src, idx, dim):
        self.idx, self.dim, self.src_shape = idx, dim, src.shape
        out = a.copy()
        if idx.size:
            i = _as1d(idx)
            _xp(a).add.at(_as1d(out), _grids(i, dim), _head(_as1d(src), i.shape))
        return out

    def backward(self, g):
        n = self.needs
        gs = _pad(_gather(g, self.dim, self.idx), self.src_shape) if n[1] else None
        return (g if n[0] else None), gs


@register("scatter_add")
def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """Add ``src`` into a copy of ``input`` at ``index`` along ``dim`` (repeated indices
    accumulate): ``ScatterAddBackward0``."""
    d = _check_scatter("scatter", input, dim, index, src)
    return apply(ScatterAddBackward0, (input, src), idx=_long(index)._data, dim=d)


_REDUCES = ("sum", "prod", "mean", "amax", "amin")


def _reduce_arrays(a: Any, src: Any, idx: Any, dim: int, reduce: str, include_self: bool
                   ) -> Any:
    xp = _xp(a)
    out = a.copy()
    if not idx.size:
        return out
    i = _as1d(idx)
    o, gr, v = _as1d(out), _grids(i, dim), _head(_as1d(src), i.shape)
    if reduce in ("sum", "mean"):
        if not include_self:
            o[gr] = 0
        xp.add.at(o, gr, v)
        if reduce == "mean":
            cnt = xp.ones(o.shape, dtype=o.dtype) if include_self else \
                xp.zeros(o.shape, dtype=o.dtype)
            xp.add.at(cnt, gr, 1)
            cnt[cnt == 0] = 1
            o[...] = o / cnt if o.dtype.kind == "f" else o // cnt
        return out
    if reduce == "prod":
        if not include_self:
            o[gr] = 1
        xp.multiply.at(o, gr, v)
        return out
    if not include_self:
        if o.dtype.kind == "f":
            o[gr] = -np.inf if reduce == "amax" else np.inf
        else:
            info = np.iinfo(o.dtype) if o.dtype.kind in "iu" else None
            o[gr] = (info.min if reduce == "amax" else info.max) if info else \
                (reduce != "amax")
    (xp.maximum if reduce == "amax" else xp.minimum).at(o, gr, v)
    return out


class ScatterReduceBackward0(Op):
    """``scatter_reduce(input, dim, index, src, reduce, include_self)``."""

    def forward(self, a, src, idx, dim, reduce, include_self):
        self.idx, self.dim, self.reduce, self.include_self = idx, dim, reduce, include_self
        self.src_shape = src.shape
        self.save(self=self.inputs[0], src=self.inputs[1], result=RESULT)
        return _reduce_arrays(a, src, idx, dim, reduce, include_self)

    def backward(self, g):
        from .unary import where
        a, src, result = self.saved()
        dim, reduce, include_self = self.dim, self.reduce, self.include_self
        idx = _wrap(self.idx)
        src_h = _head_t(src, self.idx.shape)
        if reduce == "sum":
            ga, gs = g, _gather(g, dim, self.idx)
        elif reduce == "mean":
            ones = g.new_ones(tuple(src_h.shape))
            cnt = (g.new_ones(tuple(g.shape)) if include_self else g.new_zeros(tuple(g.shape)))
            cnt = scatter_add(cnt, dim, idx, ones)
            cnt = cnt.masked_fill(cnt == 0, 1)
            ga = g / cnt
            gs = _gather(ga, dim, self.idx)
        elif reduce == "prod":
            masked_self = a.masked_fill(a == 0, 1)
            masked_self_result = scatter_reduce(masked_self, dim, idx, src, reduce,
                                                include_self=include_self)
            ga = g * masked_self_result / masked_self
            src_zero = src_h == 0
            nz = scatter_add(g.new_zeros(tuple(g.shape)), dim, idx, src_zero.to(g.dtype))
            single = src_zero & (_gather(nz, dim, self.idx) == 1)
            masked_src = src_h.masked_fill(single, 1)
            msr = scatter_reduce(a, dim, idx, masked_src, reduce, include_self=include_self)
            gs = where(single, _gather(g * msr, dim, self.idx),
                       _gather(g * result, dim, self.idx) / src_h.masked_fill(src_zero, 1))
        else:  # amax / amin: the gradient is shared evenly among the tied extremes
            value = _gather(result, dim, self.idx)
            self_is = (a == result).to(g.dtype)
            src_is = (src_h == value).to(g.dtype)
            n_dist = scatter_add(self_is, dim, idx, src_is)
            gd = g / n_dist
            ga = self_is * gd
            gs = src_is * _gather(gd, dim, self.idx)
        if not include_self:
            ga = apply(ScatterBackward1, (ga,), idx=self.idx, dim=dim, value=0)
        n = self.needs
        return (ga if n[0] else None), (_pad(gs, self.src_shape) if n[1] else None)


def _head_t(t: Tensor, shape: tuple) -> Tensor:
    """The leading ``shape`` block of ``t`` as a differentiable slice."""
    if tuple(t.shape) == tuple(shape) or t.ndim == 0:
        return t
    return t[tuple(slice(0, n) for n in shape)]


@register("scatter_reduce")
def scatter_reduce(input: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                   include_self: bool = True) -> Tensor:
    """Reduce ``src`` into a copy of ``input`` at ``index`` along ``dim`` with ``reduce`` in
    ``'sum' | 'prod' | 'mean' | 'amax' | 'amin'`` (``include_self=False``: the values of
    ``input`` at scattered positions are left out): ``ScatterReduceBackward0``."""
    if reduce not in _REDUCES:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, "
                           f"got {reduce}")
    d = _check_scatter("scatter", input, dim, index, src)
    return apply(ScatterReduceBackward0, (input, src), idx=_long(index)._data, dim=d,
                 reduce=reduce, include_self=bool(include_self))


# ---------------------------------------------------------------------------- index_*
def _key(dim: int, idx: Any) -> tuple:
    return (slice(None),) * dim + (idx,)


def _index_select(g: Tensor, dim: int, idx: Any) -> Tensor:
    """``g.index_select(dim, idx)`` (0-d ``g``: itself)."""
    if g.ndim == 0:
        return g
    from .index import index_select
    return index_select(g, dim, _wrap(idx))


class IndexAddBackward0(Op):
    """``index_add(input, dim, index, source, alpha=1)``."""

    def forward(self, a, src, dim, idx, alpha):
        self.dim, self.idx, self.alpha, self.src_shape = dim, idx, alpha, src.shape
        out = a.copy()
        v = _as1d(src) if alpha == 1 else _as1d(src) * _xp(a).asarray(alpha, dtype=a.dtype)
        _xp(a).add.at(_as1d(out), _key(dim, _as1d(idx)), v)
        return out

    def backward(self, g):
        n = self.needs
        gs = None
        if n[1]:
            gs = _index_select(g, self.dim, self.idx)
            if tuple(gs.shape) != tuple(self.src_shape):
                gs = gs.reshape(self.src_shape)
            if self.alpha != 1:
                gs = gs * self.alpha
        return (g if n[0] else None), gs


@register("index_add")
def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *,
              alpha: Any = 1) -> Tensor:
    """Add ``alpha * source`` into a copy of ``input`` at the entries ``index`` (a vector)
    along ``dim``; repeated indices accumulate (``IndexAddBackward0``)."""
    if index.dtype not in (B.int64, B.int32):
        raise RuntimeError(f"index_add_(): Expected dtype int32/int64 for index but got: "
                           f"{_pretty(index.dtype)}")
    d = _check_vector_index("index_add_", input, dim, index)
    if source.dtype is not input.dtype:
        raise RuntimeError(f"index_add_(): self ({_pretty(input.dtype)}) and source "
                           f"({_pretty(source.dtype)}) must have the same scalar type")
    nsrc = (tuple(source.shape) or (1,))[d] if source.ndim else 1
    if index.numel() != nsrc:
        raise RuntimeError(f"index_add_(): Number of indices ({index.numel()}) should be equal "
                           f"to source.size(dim): ({nsrc}), for dim: {d}")
    _check_source_shape(input, source, d)
    idx = _check_bounds(input, d, _long(index)._data.reshape(-1), negative_ok=False)
    return apply(IndexAddBackward0, (input, source), dim=d, idx=idx, alpha=alpha)


class IndexCopyBackward0(Op):
    """``index_copy(input, dim, index, source)``."""

    def forward(self, a, src, dim, idx):
        self.dim, self.idx, self.src_shape = dim, idx, src.shape
        out = a.copy()
        _as1d(out)[_key(dim, _as1d(idx))] = _as1d(src)
        return out

    def backward(self, g):
        n = self.needs
        ga = apply(IndexFillBackward0, (g,), dim=self.dim, idx=self.idx, value=0) \
            if n[0] else None
        gs = None
        if n[1]:
            gs = _index_select(g, self.dim, self.idx)
            if tuple(gs.shape) != tuple(self.src_shape):
                gs = gs.reshape(self.src_shape)
        return ga, gs


@register("index_copy")
def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """A copy of ``input`` whose entries ``index`` along ``dim`` are ``source``'s slices
    (``IndexCopyBackward0``)."""
    if index.dtype is not B.int64:
        raise RuntimeError(f"index_copy_(): Expected a long tensor for index, but got "
                           f"{_pretty(index.dtype)}")
    d = input._wrap_dim(dim)
    if index.ndim > 1:
        raise IndexError(f"index_copy_(): Index should have dimension 1 or 0 (got "
                         f"{index.ndim})")
    if source.ndim and input.ndim:
        if source.ndim != input.ndim:
            raise IndexError("index_copy_(): When source and destination are not scalars, "
                             "their dimensionality must match. Source dimensionality "
                             f"({source.ndim}), destination dimensionality ({input.ndim})")
        pairs = [(a, b) for k, (a, b) in enumerate(zip(input.shape, source.shape)) if k != d]
        for k, (a, b) in enumerate(pairs):  # (k counts the slice's dims, as torch's message)
            if a != b:
                raise RuntimeError(f"index_copy_(): Source/destination tensor must have same "
                                   f"slice shapes. Destination slice shape: {a} at dimension "
                                   f"{k} and source slice shape: {b} at dimension {k}.")
    nsrc = source.shape[d] if source.ndim else 1
    if index.numel() != nsrc:
        raise IndexError(f"index_copy_(): Number of indices ({index.numel()}) should be equal "
                         f"to source.size(dim) ({nsrc})")
    if source.dtype is not input.dtype:
        raise RuntimeError(f"index_copy_(): self and source expected to have the same dtype, "
                           f"but got (self) {_pretty(input.dtype)} and (source) "
                           f"{_pretty(source.dtype)}")
    idx = _check_bounds(input, d, index._data.reshape(-1), negative_ok=False,
                        prefix="index_copy_(): ", exc=IndexError)
    return apply(IndexCopyBackward0, (input, source), dim=d, idx=idx)


class IndexFillBackward0(Op):
    """``index_fill(input, dim, index, number)``; ``IndexFillBackward1`` when the value is a
    0-d tensor (then a graph input too)."""

    def forward(self, a, v=None, dim=0, idx=None, value=None):
        self.dim, self.idx = dim, idx
        if v is not None:
            self.vdt = v.dtype
            value = v
        out = a.copy()
        _as1d(out)[_key(dim, idx)] = _xp(a).asarray(value).astype(a.dtype)
        return out

    def backward(self, g):
        ga = apply(IndexFillBackward0, (g,), dim=self.dim, idx=self.idx, value=0)
        if len(self.needs) == 1:
            return ga
        gv = None
        if self.needs[1]:
            uniq = _xp(self.idx).unique(self.idx)  # a repeated index is filled once
            gv = _index_select(g, self.dim, uniq).sum().to(B.from_np(self.vdt))
        return (ga if self.needs[0] else None), gv


class IndexFillBackward1(IndexFillBackward0):
    pass


@register("index_fill")
def index_fill(input: Tensor, dim: int, index: Tensor, value: Any) -> Tensor:
    """A copy of ``input`` with ``value`` (a number or a 0-d tensor) at the entries
    ``index`` along ``dim`` (``IndexFillBackward0`` / ``IndexFillBackward1``)."""
    if index.dtype is not B.int64:
        raise IndexError("index_fill_(): Expected dtype int64 for index.")
    d = input._wrap_dim(dim)
    if index.ndim > 1:
        raise RuntimeError("Index has to be a vector/scalar")
    idx = _check_bounds(input, d, index._data.reshape(-1), negative_ok=True, exc=IndexError)
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(f"index_fill_ only supports a 0-dimensional value tensor, but "
                               f"got tensor with {value.ndim} dimension(s).")
        return apply(IndexFillBackward1, (input, value), dim=d, idx=idx)
    return apply(IndexFillBackward0, (input,), dim=d, idx=idx, value=value)


# ------------------------------------------------------------------------ masked_scatter
class MaskedScatterBackward0(Op):
    """``masked_scatter(input, mask, source)``: source's leading elements, in order, written
    where mask is True."""

    def forward(self, a, src, mask):
        self.mask, self.src_shape, self.src_numel = mask, src.shape, src.size
        out = a.copy()
        n = int(mask.sum())
        out[mask] = src.reshape(-1)[:n]
        return out

    def backward(self, g):
        n = self.needs
        m = _wrap(self.mask)
        ga = g.masked_fill(m, 0) if n[0] else None
        gs = None
        if n[1]:
            from .index import IndexPutAcc
            sel = g.masked_select(m)
            k = int(self.mask.sum())
            key = (_xp(self.mask).arange(k),)
            gs = IndexPutAcc.run(sel, (self.src_numel,), key).reshape(self.src_shape)
        return ga, gs


@register("masked_scatter")
def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """A copy of ``input`` with ``source``'s elements (in row-major order) written where
    ``mask`` (bool, broadcast) is True (``MaskedScatterBackward0``)."""
    if mask.dtype is not B.bool_:
        raise RuntimeError(f"masked_scatter_ only supports boolean masks, but got mask with "
                           f"dtype {_pretty(mask.dtype)}")
    if source.dtype is not input.dtype:
        raise RuntimeError(f"masked_scatter: expected self and source to have same dtypes but "
                           f"got{_pretty(input.dtype)} and {_pretty(source.dtype)}")
    shape = tuple(np.broadcast_shapes(tuple(input.shape), tuple(mask.shape)))
    if tuple(input.shape) != shape:
        input = input.expand(shape)
    m = mask._data
    if m.shape != shape:
        m = _xp(m).broadcast_to(m, shape)
    if int(m.sum()) > source.numel():
        raise RuntimeError("Number of elements of source < number of ones in mask")
    return apply(MaskedScatterBackward0, (input, source), mask=m)


# ----------------------------------------------------------------------------- index_put
class IndexPutBackward0(Op):
    """``index_put(input, indices, values, accumulate)``: ``input[indices] = values``
    (``+=`` with repeated indices accumulating when ``accumulate``) on a copy."""

    def forward(self, a, v, key, accumulate):
        self.key, self.accumulate = key, accumulate
        self.vshape, self.vdt = v.shape, v.dtype
        out = a.copy()
        if accumulate:
            shape = out[key].shape
            _xp(a).add.at(out, key, _xp(a).broadcast_to(v, shape))
        else:
            out[key] = v
        return out

    def backward(self, g):
        from ._core import sum_to
        from .index import IndexBackward0
        n = self.needs
        ga = gv = None
        if n[0]:
            ga = g if self.accumulate else apply(
                IndexPutBackward0, (g, g.new_zeros(())), key=self.key, accumulate=False)
        if n[1]:
            gv = sum_to(apply(IndexBackward0, (g,), key=self.key), self.vshape, self.vdt)
        return ga, gv


def _index_key(input: Tensor, indices: Any) -> tuple:
    """``indices`` (tensors or None) as a NumPy key, with torch's checks."""
    if not isinstance(indices, (tuple, list)):
        raise TypeError(f"index_put(): argument 'indices' must be tuple of Tensors, not "
                        f"{type(indices).__name__}")
    key, d = [], 0
    for k in indices:
        if k is None:
            key.append(slice(None))
            d += 1
            continue
        if k.dtype.is_floating_point:
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        a = k._data
        if a.dtype == np.uint8 or a.dtype == bool:
            a = a.astype(bool)
            if a.shape != tuple(input.shape[d:d + a.ndim]):
                raise IndexError(f"The shape of the mask {list(a.shape)} at index {d} does not "
                                 f"match the shape of the indexed tensor {list(input.shape)} "
                                 f"at index {d}")
            key.append(a)
            d += a.ndim
            continue
        if d >= input.ndim:
            raise IndexError(f"too many indices for tensor of dimension {input.ndim}")
        size = input.shape[d]
        if a.size and (int(a.max()) >= size or int(a.min()) < -size):
            bad = int(a.max()) if int(a.max()) >= size else int(a.min())
            raise IndexError(f"index {bad} is out of bounds for dimension {d} with size {size}")
        key.append(a.astype(np.int64))
        d += 1
    if d > input.ndim:
        raise IndexError(f"too many indices for tensor of dimension {input.ndim}")
    return tuple(key)


@register("index_put")
def index_put(input: Tensor, indices: Any, values: Tensor, accumulate: bool = False) -> Tensor:
    """A copy of ``input`` with ``values`` put at ``input[indices]`` (a tuple of index
    tensors; ``accumulate=True`` adds, repeated indices included): ``IndexPutBackward0``."""
    key = _index_key(input, indices)
    if not isinstance(values, Tensor):
        raise TypeError(f"index_put(): argument 'values' must be Tensor, not "
                        f"{type(values).__name__}")
    if values.dtype is not input.dtype:
        raise RuntimeError(f"Index put requires the source and destination dtypes match, got "
                           f"{_pretty(input.dtype)} for the destination and "
                           f"{_pretty(values.dtype)} for the source.")
    shape = np.empty(tuple(input.shape), dtype=bool)[tuple(
        B.to_numpy(k) if hasattr(k, "shape") else k for k in key)].shape
    try:
        np.broadcast_shapes(tuple(values.shape), shape)
    except ValueError:
        raise RuntimeError(f"shape mismatch: value tensor of shape {list(values.shape)} cannot "
                           f"be broadcast to indexing result of shape {list(shape)}") from None
    return apply(IndexPutBackward0, (input, values), key=key, accumulate=bool(accumulate))


# ------------------------------------------------------------------------- in-place
_scatter_ip = inplace("scatter_", scatter)
_scatter_add_ip = inplace("scatter_add_", scatter_add)
_scatter_reduce_ip = inplace("scatter_reduce_", scatter_reduce)
_index_add_ip = inplace("index_add_", index_add)
_index_copy_ip = inplace("index_copy_", index_copy)
_index_fill_ip = inplace("index_fill_", index_fill)
_masked_scatter_ip = inplace("masked_scatter_", masked_scatter)
_index_put_ip = inplace("index_put_", index_put)


@register("scatter_")
def scatter_(self: Tensor, dim: int, index: Tensor, src: Any = None, *, value: Any = None,
             reduce: str | None = None) -> Tensor:
    """In-place ``scatter``."""
    return _scatter_ip(self, dim, index, src, value=value, reduce=reduce)


@register("scatter_add_")
def scatter_add_(self: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """In-place ``scatter_add``."""
    return _scatter_add_ip(self, dim, index, src)


@register("scatter_reduce_")
def scatter_reduce_(self: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                    include_self: bool = True) -> Tensor:
    """In-place ``scatter_reduce``."""
    return _scatter_reduce_ip(self, dim, index, src, reduce, include_self=include_self)


@register("index_add_")
def index_add_(self: Tensor, dim: int, index: Tensor, source: Tensor, *,
               alpha: Any = 1) -> Tensor:
    """In-place ``index_add``."""
    return _index_add_ip(self, dim, index, source, alpha=alpha)


@register("index_copy_")
def index_copy_(self: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """In-place ``index_copy``."""
    return _index_copy_ip(self, dim, index, source)


@register("index_fill_")
def index_fill_(self: Tensor, dim: int, index: Tensor, value: Any) -> Tensor:
    """In-place ``index_fill``."""
    return _index_fill_ip(self, dim, index, value)


@register("masked_scatter_")
def masked_scatter_(self: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """In-place ``masked_scatter`` (``mask`` must broadcast to ``self``'s shape)."""
    if mask.dtype is B.bool_ and tuple(np.broadcast_shapes(
            tuple(self.shape), tuple(mask.shape))) != tuple(self.shape):
        raise RuntimeError(f"expand(CPUBoolType{{{list(mask.shape)}}}, size={list(self.shape)}"
                           f"): the number of sizes provided ({self.ndim}) must be greater or "
                           f"equal to the number of dimensions in the tensor ({mask.ndim})")
    return _masked_scatter_ip(self, mask, source)


@register("index_put_")
def index_put_(self: Tensor, indices: Any, values: Tensor, accumulate: bool = False) -> Tensor:
    """In-place ``index_put``."""
    return _index_put_ip(self, indices, values, accumulate)


# ------------------------------------------------------------------------ small extras
@register("ndimension")
def ndimension(self: Tensor) -> int:
    """The number of dimensions (``dim()``)."""
    return self._data.ndim


def detach(input: Tensor) -> Tensor:
    """``input.detach()``: the same data, cut from the graph."""
    return input.detach()


def dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """``torch.dropout``: zero elements with probability ``p`` and scale the rest by
    ``1 / (1 - p)`` when ``train`` (``MulBackward0``); ``input`` itself otherwise."""
    if p < 0.0 or p > 1.0:
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {p}")
    from ..nn import functional as F
    return F.dropout(input, p, bool(train))


class _NormalBackward(Op):
    """The node of ``normal`` with tensor mean and/or std: samples have zero gradient."""

    def forward(self, *arrs, sample):
        self.shapes = [a.shape for a in arrs]
        self.dts = [a.dtype for a in arrs]
        return sample

    def backward(self, g):
        out = tuple(g.new_zeros(s).to(B.from_np(d)) if need else None
                    for s, d, need in zip(self.shapes, self.dts, self.needs))
        return out if len(out) > 1 else out[0]


class NormalBackward1(_NormalBackward):
    """``normal(mean: Tensor, std: float)``."""


class NormalBackward2(_NormalBackward):
    """``normal(mean: float, std: Tensor)``."""


class NormalBackward3(_NormalBackward):
    """``normal(mean: Tensor, std: Tensor)``."""


def normal(mean: Any = 0.0, std: Any = 1.0, size: Any = None, *, generator: Any = None,
           dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Samples from N(mean, std²): ``mean`` and/or ``std`` tensors (broadcast; zero
    gradient, ``NormalBackward1/2/3``), or two numbers and a ``size``."""
    from .creation import _RNG, _finish, _shape
    tm, ts = isinstance(mean, Tensor), isinstance(std, Tensor)
    if not (tm or ts):
        if size is None:
            raise TypeError("normal() received an invalid combination of arguments - got "
                            f"({type(mean).__name__}, {type(std).__name__}), but expected "
                            "a size with float mean and float std")
        if std < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
        dt = B.as_dtype(dtype) if dtype is not None else B.default_float()
        shape = _shape((size,))
        arr = _RNG.gen.normal(float(mean), float(std), shape).astype(dt.np)
        if device is not None and B.as_device(device).type != "cpu":
            arr = B.move(arr, B.as_device(device))
        return _finish(arr, requires_grad)
    if size is not None:
        raise TypeError("normal() received an invalid combination of arguments - got "
                        "(Tensor, Tensor, size=tuple): size is only accepted with float mean "
                        "and float std")
    ref = mean if tm else std
    m = mean._data if tm else np.asarray(mean)
    s = std._data if ts else np.asarray(std)
    if tm and ts:
        from ._core import check_broadcast
        check_broadcast(mean, std)
    xs = B.to_numpy(s)
    if xs.size and float(xs.min()) < 0:
        raise RuntimeError("normal expects all elements of std >= 0.0" if ts else
                           f"normal expects std >= 0.0, but found std {std}")
    shape = np.broadcast_shapes(np.shape(m), np.shape(s))
    dt = ref._data.dtype if not (tm and ts) else np.result_type(mean._data, std._data)
    z = _RNG.gen.standard_normal(shape)
    sample = (B.to_numpy(m) + B.to_numpy(s) * z).astype(dt)
    sample = B.move(sample, ref.device)
    inputs = tuple(t for t in (mean, std) if isinstance(t, Tensor))
    cls = NormalBackward3 if tm and ts else NormalBackward1 if tm else NormalBackward2
    return apply(cls, inputs, sample=sample)


@register("multinomial")
def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,
                generator: Any = None) -> Tensor:
    """``num_samples`` category indices (int64) per row of ``input`` (weights, 1-D or 2-D),
    drawn with or without replacement from the repo's RNG."""
    from .creation import _RNG
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: "
                           f"{_pretty(input.dtype)}")
    if input.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    p = B.to_numpy(input._data).astype(np.float64)
    rows = p.reshape(-1, p.shape[-1])
    n_cat = rows.shape[1]
    if not replacement and num_samples > n_cat:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                           "replacement")
    if not np.isfinite(rows).all() or (rows < 0).any():
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if (rows.sum(axis=1) <= 0).any():
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    g = _RNG.gen
    out = np.empty((rows.shape[0], num_samples), dtype=np.int64)
    for r, w in enumerate(rows):
        if replacement:
            out[r] = g.choice(n_cat, size=num_samples, replace=True, p=w / w.sum())
        else:  # torch's trick: the top-k of w / Exp(1) (zero weights come last)
            keys = w / g.exponential(1.0, n_cat)
            out[r] = np.argsort(-keys, kind="stable")[:num_samples]
    res = out.reshape(p.shape[:-1] + (num_samples,))
    return _wrap(B.move(res, input.device))
