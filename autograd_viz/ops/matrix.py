"""Matrix and layout ops: ``tril``/``triu``, ``diag``/``diagonal``/``trace``, ``roll``,
``cumprod``, ``diff``, ``repeat_interleave``, ``tile``, ``take``, ``meshgrid``,
``atleast_1d/2d/3d``, ``vstack``/``hstack``/``dstack``, ``count_nonzero``.

Ops that torch decomposes into others (diff, tile, meshgrid, atleast_*, the stacks,
repeat_interleave with an int) are written with the same ops, so their graphs are torch's.
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import _backend as B
from ..autograd import grad_mode
from ..autograd.function import RESULT, Op
from ..tensor import Tensor
from ._core import _pretty, apply, inplace, not_implemented, register

__all__ = ["tril", "triu", "diag", "diagonal", "trace", "roll", "cumprod", "diff",
           "repeat_interleave", "tile", "take", "meshgrid", "atleast_1d", "atleast_2d",
           "atleast_3d", "vstack", "row_stack", "hstack", "dstack", "count_nonzero"]


class _NoGrad(Op):
    """An integer result (counts, indices): no gradient, no node."""

    _differentiable = False

    def forward(self, *arrays, fn):
        return fn(*arrays)


# ----------------------------------------------------------------------------- tril / triu
class TrilBackward0(Op):
    def forward(self, a, diagonal):
        self.diagonal = diagonal
        return B.get_array_module(a).tril(a, diagonal)

    def backward(self, g):
        return g.tril(self.diagonal)


class TriuBackward0(Op):
    def forward(self, a, diagonal):
        self.diagonal = diagonal
        return B.get_array_module(a).triu(a, diagonal)

    def backward(self, g):
        return g.triu(self.diagonal)


def _tri(cls: type, name: str, input: Tensor, diagonal: int) -> Tensor:
    if input.ndim < 2:
        raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")
    return apply(cls, (input,), diagonal=int(diagonal))


@register("tril")
def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dims (elements with ``j - i <= diagonal``)."""
    return _tri(TrilBackward0, "tril", input, diagonal)


@register("triu")
def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dims (elements with ``j - i >= diagonal``)."""
    return _tri(TriuBackward0, "triu", input, diagonal)


@register("tril_")
def tril_(input: Tensor, diagonal: int = 0) -> Tensor:
    """In-place ``tril``."""
    return inplace("tril_", tril)(input, diagonal)


@register("triu_")
def triu_(input: Tensor, diagonal: int = 0) -> Tensor:
    """In-place ``triu``."""
    return inplace("triu_", triu)(input, diagonal)


# ----------------------------------------------------------------------------- diagonals
def _diag_view(a: Any, offset: int, d1: int, d2: int) -> Any:
    """The diagonal of ``a`` over dims ``d1``, ``d2`` as a view (last dim), writable when
    ``a`` is (NumPy's ``diagonal`` is read-only)."""
    xp = B.get_array_module(a)
    if xp is not np:
        return a.diagonal(offset, d1, d2)
    s1, s2 = max(-offset, 0), max(offset, 0)
    n = max(0, min(a.shape[d1] - s1, a.shape[d2] - s2))
    sub = a
    if n:
        key = [slice(None)] * a.ndim
        key[d1], key[d2] = slice(s1, None), slice(s2, None)
        sub = a[tuple(key)]
    shape = tuple(s for i, s in enumerate(a.shape) if i not in (d1, d2)) + (n,)
    strides = tuple(s for i, s in enumerate(a.strides) if i not in (d1, d2)) + (
        a.strides[d1] + a.strides[d2],)
    return np.lib.stride_tricks.as_strided(sub, shape, strides, writeable=a.flags.writeable)


class _DiagonalScatter(Op):
    """Zeros of the input's shape with ``g`` on the diagonal (the backward of diagonal,
    diag and trace); its own backward takes the diagonal again."""

    _name = "DiagonalBackwardBackward0"

    def forward(self, g, shape, offset, d1, d2):
        self.offset, self.d1, self.d2 = offset, d1, d2
        out = B.get_array_module(g).zeros(shape, dtype=g.dtype)
        _diag_view(out, offset, d1, d2)[...] = g
        return out

    def backward(self, gg):
        return gg.diagonal(self.offset, self.d1, self.d2)


def _diag_scatter(g: Tensor, shape: tuple, offset: int, d1: int, d2: int) -> Tensor:
    return apply(_DiagonalScatter, (g,), shape=shape, offset=offset, d1=d1, d2=d2)


class DiagonalBackward0(Op):
    _is_view = True

    def forward(self, a, offset, dim1, dim2):
        self.self_sym_sizes, self.offset, self.dim1, self.dim2 = a.shape, offset, dim1, dim2
        return _diag_view(a, offset, dim1, dim2)

    def backward(self, g):
        return _diag_scatter(g, self.self_sym_sizes, self.offset, self.dim1, self.dim2)


class DiagonalBackward0Copy(DiagonalBackward0):
    """``diag`` of a matrix: the diagonal copied out (torch's ``diagonal_copy``)."""

    _name = "DiagonalBackward0_copy"
    _is_view = False

    def forward(self, a, offset, dim1, dim2):
        return super().forward(a, offset, dim1, dim2).copy()


class DiagEmbedBackward0(Op):
    def forward(self, a, offset):
        self.offset = offset
        n = a.shape[0] + abs(offset)
        out = B.get_array_module(a).zeros((n, n), dtype=a.dtype)
        _diag_view(out, offset, 0, 1)[...] = a
        return out

    def backward(self, g):
        return g.diagonal(self.offset, 0, 1)


@register("diagonal")
def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The diagonal over dims ``dim1`` and ``dim2`` (``offset`` above the main one when
    positive), appended as the last dim. A view: it shares ``input``'s memory."""
    d1, d2 = input._wrap_dim(dim1), input._wrap_dim(dim2)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return apply(DiagonalBackward0, (input,), offset=int(offset), dim1=d1, dim2=d2)


@register("diag")
def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """A 1-D tensor: the square matrix with it on the ``diagonal``-th diagonal. A matrix:
    that diagonal, as a new 1-D tensor (a copy)."""
    if input.ndim == 1:
        return apply(DiagEmbedBackward0, (input,), offset=int(diagonal))
    if input.ndim == 2:
        return apply(DiagonalBackward0Copy, (input,), offset=int(diagonal), dim1=0, dim2=1)
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.ndim}D")


class TraceBackward0(Op):
    def forward(self, a):
        self.self_sym_sizes = a.shape
        dt = np.int64 if a.dtype.kind in "iu" else a.dtype
        return B.get_array_module(a).asarray(a.trace(dtype=dt))

    def backward(self, g):
        n = min(self.self_sym_sizes)
        return _diag_scatter(g.expand(n), self.self_sym_sizes, 0, 0, 1)


@register("trace")
def trace(input: Tensor) -> Tensor:
    """The sum of the main diagonal of a matrix (int64 for integer matrices)."""
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.ndim}")
    if input.dtype is B.bool_:
        raise not_implemented("trace", input.dtype)
    return apply(TraceBackward0, (input,))


# ----------------------------------------------------------------------------- roll
class RollBackward0(Op):
    def forward(self, a, shifts, dims):
        self.shifts, self.dims = shifts, dims
        xp = B.get_array_module(a)
        if not dims:
            return xp.roll(a, shifts[0])
        return xp.roll(a, shifts, axis=dims)

    def backward(self, g):
        return g.roll(tuple(-s for s in self.shifts), self.dims)


def _ints(x: Any) -> tuple:
    if x is None:
        return ()
    if isinstance(x, (int, np.integer)):
        return (int(x),)
    return tuple(int(v) for v in x)


@register("roll")
def roll(input: Tensor, shifts: Any, dims: Any = None) -> Tensor:
    """Shift elements along ``dims`` (cyclically); without ``dims``, along the flattened
    tensor, keeping its shape."""
    sh, ds = _ints(shifts), _ints(dims)
    if (not ds and len(sh) != 1) or (ds and len(sh) != len(ds)):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(sh)}, dims:"
                           f"{len(ds)}")
    ds = tuple(input._wrap_dim(d) for d in ds)
    return apply(RollBackward0, (input,), shifts=sh, dims=ds)


# ----------------------------------------------------------------------------- cumprod
class CumprodBackward0(Op):
    """``cumprod``; the backward is ``reverse_cumsum(g * result) / input`` without zeros,
    else the exact sum of products of the other elements (torch handles zeros too)."""

    def forward(self, a, dim, dt):
        self.save(self=self.inputs[0], result=RESULT)
        self.dim = dim
        self.in_dt = a.dtype
        xp = B.get_array_module(a)
        if a.ndim == 0:
            return xp.cumprod(a.reshape(1), dtype=dt).reshape(())
        return xp.cumprod(a, axis=dim, dtype=dt)

    def backward(self, g):
        x, r = self.saved()
        if x.ndim == 0 or x.numel() == 0:
            res = g
        else:
            xc = x if x._data.dtype == g._data.dtype else x.to(g.dtype)
            d = self.dim
            if not bool((x._data == 0).any()):
                res = (g * r).flip((d,)).cumsum(d).flip((d,)) / xc
            else:
                res = _cumprod_grad_zeros(xc, g, d)
        return res if res._data.dtype == self.in_dt else res.to(B.from_np(self.in_dt))


def _cumprod_grad_zeros(x: Tensor, g: Tensor, d: int) -> Tensor:
    """``grad_i = sum_{j >= i} g_j * prod_{k <= j, k != i} x_k`` along ``d``, in Tensor ops
    (n x n products per slice: exact with zeros, and differentiable again)."""
    from .unary import where
    n = x.shape[d]
    xt, gt = x.transpose(d, -1), g.transpose(d, -1)
    xp = B.get_array_module(x._data)
    eye = Tensor._wrap(xp.eye(n, dtype=bool))
    later = Tensor._wrap(xp.triu(xp.ones((n, n), dtype=x._data.dtype)))  # [i, j]: j >= i
    others = where(eye, x.new_ones(()), xt.unsqueeze(-2).expand(*xt.shape[:-1], n, n))
    prods = others.cumprod(-1)  # [..., i, j] = prod_{k <= j, k != i} x_k
    return (prods * later * gt.unsqueeze(-2)).sum(-1).transpose(d, -1)


def _cumprod_dtype(input: Tensor, dtype: Any) -> Any:
    if dtype is not None:
        return B.as_dtype(dtype).np
    return np.int64 if input._data.dtype.kind in "biu" else input._data.dtype


@register("cumprod")
def cumprod(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """Cumulative product along ``dim`` (integers and bools accumulate in int64)."""
    d = input._wrap_dim(dim)
    dt = _cumprod_dtype(input, dtype)
    if grad_mode._state.enabled and input._rg and np.dtype(dt).kind != "f":
        raise RuntimeError(f"Autograd not support dtype: {_pretty(B.from_np(dt))}")
    return apply(CumprodBackward0, (input,), dim=d, dt=dt)


@register("cumprod_")
def cumprod_(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """In-place ``cumprod``."""
    return inplace("cumprod_", cumprod)(input, dim, dtype=dtype)


# ----------------------------------------------------------------------------- diff
def _diff_check(input: Tensor, n: int, dim: int, other: Tensor | None) -> None:
    if other is None:
        return
    if other.ndim != input.ndim:
        raise RuntimeError("diff expects prepend or append to be the same dimension as input")
    for i in range(input.ndim):
        if i != dim and other.shape[i] != input.shape[i]:
            raise RuntimeError(
                "diff expects the shape of tensor to prepend or append to match that of input "
                f"except along the differencing dimension; input.size({i}) = {input.shape[i]}, "
                f"but got tensor.size({i}) = {other.shape[i]}")


@register("diff")
def diff(input: Tensor, n: int = 1, dim: int = -1, prepend: Tensor | None = None,
         append: Tensor | None = None) -> Tensor:
    """The ``n``-th forward difference along ``dim`` (``out[i] = x[i + 1] - x[i]``, logical
    xor for bools), after concatenating ``prepend`` / ``append`` along ``dim``."""
    if input.ndim < 1:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    d = input._wrap_dim(dim)
    _diff_check(input, n, d, prepend)
    _diff_check(input, n, d, append)
    if n == 0:
        from .creation import zeros_like
        return zeros_like(input).copy_(input)
    x = input
    if prepend is not None or append is not None:
        from .join import cat
        x = cat([t for t in (prepend, input, append) if t is not None], d)
    size = x.shape[d]
    n = min(n, size)
    out_len = size - 1
    for _ in range(n):
        hi, lo = x.narrow(d, 1, out_len), x.narrow(d, 0, out_len)
        if x.dtype is B.bool_:
            from .arith import logical_xor
            x = logical_xor(hi, lo)
        else:
            x = hi - lo
        out_len -= 1
    return x


# ----------------------------------------------------------------------------- repeats
class IndexSelectBackward0(Op):
    def forward(self, a, dim, index):
        self.dim, self.self_sym_sizes, self.index = dim, a.shape, index
        return B.get_array_module(a).take(a, index, axis=dim)

    def backward(self, g):
        from .index import IndexPutAcc
        return IndexPutAcc.run(g, self.self_sym_sizes,
                               (slice(None),) * self.dim + (self.index,))


def _repeats_index(r: Any) -> Any:
    """``arange(len(r))`` with element i repeated ``r[i]`` times (on ``r``'s device)."""
    h = B.to_numpy(r)
    idx = np.repeat(np.arange(h.shape[0], dtype=np.int64), h)
    return idx if B.get_array_module(r) is np else B.get_array_module(r).asarray(idx)


def _check_repeats(repeats: Tensor) -> None:
    if repeats.dtype.is_floating_point or repeats.dtype is B.bool_:
        raise not_implemented("repeat_interleave_cpu", repeats.dtype)
    if repeats.numel() and int(repeats._data.min()) < 0:
        raise RuntimeError("repeats can not be negative")


@register("repeat_interleave")
def repeat_interleave(input: Tensor, repeats: Any = None, dim: int | None = None, *,
                      output_size: int | None = None) -> Tensor:
    """Repeat each element (or each slice along ``dim``) ``repeats`` times (an int, or a
    tensor with one count per slice); without ``dim`` the input is flattened first.
    ``repeat_interleave(counts)`` alone gives ``arange(len(counts))`` repeated by counts."""
    if repeats is None:  # torch.repeat_interleave(repeats)
        if input.ndim != 1:
            raise RuntimeError("repeat_interleave only accept 1D vector as repeat")
        _check_repeats(input)
        return apply(_NoGrad, (input,), fn=_repeats_index)
    x = input if dim is not None else input.flatten()
    d = input._wrap_dim(dim) if dim is not None else 0
    if isinstance(repeats, Tensor):
        if repeats.ndim > 1:
            raise RuntimeError("repeats must be 0-dim or 1-dim tensor")
        _check_repeats(repeats)
        r = repeats._data.astype(np.int64)
        size = x.shape[d]
        if r.ndim == 0 or r.shape[0] == 1:
            r = B.get_array_module(r).broadcast_to(r.reshape(1), (size,))
        elif r.shape[0] != size:
            raise RuntimeError(f"repeats must have the same size as input along dim, but got "
                               f"repeats.size(0) = {r.shape[0]} and input.size({d}) = {size}")
        return apply(IndexSelectBackward0, (x,), dim=d, index=_repeats_index(r))
    r = int(repeats)
    if r < 0:
        raise RuntimeError("Repeats must be non-negative")
    shape = tuple(x.shape)
    y = x.unsqueeze(d + 1).expand(*shape[:d + 1], r, *shape[d + 1:])
    return y.clone().flatten(d, d + 1)


@register("tile")
def tile(input: Tensor, dims: Sequence[int]) -> Tensor:
    """Repeat the whole tensor ``dims[i]`` times along each dim (``dims`` is padded with
    leading 1s to ``input.ndim``): ``input.repeat(dims)``."""
    if not isinstance(dims, (tuple, list)):
        raise TypeError(f"tile(): argument 'dims' (position 2) must be tuple of ints, not "
                        f"{type(dims).__name__}")
    dims = tuple(int(v) for v in dims)
    dims = (1,) * (input.ndim - len(dims)) + dims
    return input.repeat(dims)


class TakeBackward0(Op):
    def forward(self, a, index):
        self.in_shape = a.shape
        flat = a.reshape(-1)
        n = flat.shape[0]
        if index.size:
            lo, hi = int(index.min()), int(index.max())
            bad = hi if hi >= n else lo if lo < -n else None
            if bad is not None:
                raise IndexError(f"out of range: tried to access index {bad} on a tensor of "
                                 f"{n} elements.")
        self.index = index % max(n, 1)
        return flat[self.index]

    def backward(self, g):
        if not self.in_shape:
            return g.sum()
        from .index import IndexPutAcc
        xp = B.get_array_module(self.index)
        return IndexPutAcc.run(g, self.in_shape, xp.unravel_index(self.index, self.in_shape))


@register("take")
def take(input: Tensor, index: Tensor) -> Tensor:
    """The elements of ``input`` seen as 1-D at ``index`` (int64), in ``index``'s shape."""
    if index.dtype is not B.int64:
        raise RuntimeError(f"take(): Expected a long tensor for index, but got "
                           f"{_pretty(index.dtype)}")
    return apply(TakeBackward0, (input,), index=index._data)


# ----------------------------------------------------------------------------- grids, stacks
def _tensors(args: tuple) -> tuple[list, bool]:
    """The tensors of ``f(t)``, ``f(t1, t2, ...)`` or ``f([t1, t2])``; and whether a single
    tensor was passed (then one tensor is returned, not a tuple)."""
    if len(args) == 1 and isinstance(args[0], Tensor):
        return [args[0]], True
    if len(args) == 1 and isinstance(args[0], (list, tuple)):
        return list(args[0]), False
    return list(args), False


def meshgrid(*tensors: Any, indexing: str | None = None) -> tuple:
    """Coordinate grids from 0-D / 1-D tensors: ``indexing='ij'`` (matrix, the default)
    gives grids of shape ``(len(t0), len(t1), ...)``; ``'xy'`` (Cartesian) swaps the first
    two. Each grid is a view of its tensor expanded (``view`` then ``expand``)."""
    ts, _ = _tensors(tensors)
    if not ts:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    if indexing is None:
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the "
                      "indexing argument.", UserWarning)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f'torch.meshgrid: indexing must be one of "xy" or "ij", but '
                           f"received: {indexing}")
    for t in ts:
        if t.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list "
                               f"but got: {t}")
        if t.dtype is not ts[0].dtype:
            raise RuntimeError("meshgrid expects all tensors to have the same dtype")
        if t.device != ts[0].device:
            raise RuntimeError("meshgrid expects all tensors to have the same device")
    swap = indexing == "xy" and len(ts) >= 2
    if swap:
        ts[0], ts[1] = ts[1], ts[0]
    shape = tuple(t.numel() for t in ts)
    grids = []
    for i, t in enumerate(ts):
        view_shape = [1] * len(ts)
        view_shape[i] = -1
        grids.append(t.view(tuple(view_shape)).expand(shape))
    if swap:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


def _atleast(args: tuple, fn: Any) -> Any:
    ts, single = _tensors(args)
    out = tuple(fn(t) for t in ts)
    return out[0] if single else out


def _at1(t: Tensor) -> Tensor:
    return t.reshape((1,)) if t.ndim == 0 else t


def _at2(t: Tensor) -> Tensor:
    if t.ndim == 0:
        return t.reshape((1, 1))
    return t.unsqueeze(0) if t.ndim == 1 else t


def _at3(t: Tensor) -> Tensor:
    if t.ndim == 0:
        return t.reshape((1, 1, 1))
    if t.ndim == 1:
        return t.unsqueeze(0).unsqueeze(-1)
    return t.unsqueeze(-1) if t.ndim == 2 else t


def atleast_1d(*tensors: Any) -> Any:
    """Each tensor with at least 1 dim (a 0-d one reshaped to ``(1,)``); one tensor gives a
    tensor, several (or a list) a tuple."""
    return _atleast(tensors, _at1)


def atleast_2d(*tensors: Any) -> Any:
    """Each tensor with at least 2 dims (``(n,)`` becomes ``(1, n)``)."""
    return _atleast(tensors, _at2)


def atleast_3d(*tensors: Any) -> Any:
    """Each tensor with at least 3 dims (``(n,)`` becomes ``(1, n, 1)``, ``(m, n)``
    becomes ``(m, n, 1)``)."""
    return _atleast(tensors, _at3)


def _stack_list(tensors: Any, name: str) -> list:
    ts = list(tensors)
    if not ts:
        raise RuntimeError(f"{name} expects a non-empty TensorList")
    return ts


def vstack(tensors: Sequence[Tensor]) -> Tensor:
    """Stack row-wise: ``cat(atleast_2d(tensors), 0)``."""
    from .join import cat
    return cat(atleast_2d(_stack_list(tensors, "vstack")), 0)


def row_stack(tensors: Sequence[Tensor]) -> Tensor:
    """Alias of ``vstack``."""
    return vstack(tensors)


def hstack(tensors: Sequence[Tensor]) -> Tensor:
    """Stack column-wise: 1-D tensors are concatenated, others joined along dim 1."""
    from .join import cat
    ts = atleast_1d(_stack_list(tensors, "hstack"))
    return cat(ts, 0 if ts[0].ndim == 1 else 1)


def dstack(tensors: Sequence[Tensor]) -> Tensor:
    """Stack depth-wise: ``cat(atleast_3d(tensors), 2)``."""
    from .join import cat
    return cat(atleast_3d(_stack_list(tensors, "dstack")), 2)


# ----------------------------------------------------------------------------- counting
@register("count_nonzero")
def count_nonzero(input: Tensor, dim: Any = None) -> Tensor:
    """The number of non-zero elements (int64), overall or over ``dim`` (int or tuple)."""
    axes = None
    if dim is not None:
        dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
        axes = tuple(input._wrap_dim(d) for d in dims)
        seen = set()
        for a in axes:
            if a in seen:
                raise RuntimeError(f"dim {a} appears multiple times in the list of dims")
            seen.add(a)
        if input.ndim == 0:
            axes = None

    def fn(a):
        xp = B.get_array_module(a)
        return xp.asarray((a != 0).sum(axis=axes), dtype=np.int64)
    return apply(_NoGrad, (input,), fn=fn)
