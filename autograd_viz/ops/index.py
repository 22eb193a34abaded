"""Indexing: basic indexing as torch's chain of views (Select/Slice/Unsqueeze), advanced
and boolean indexing (``IndexBackward0``), ``__setitem__``, gather/scatter helpers."""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import _backend as B
from ..autograd import grad_mode
from ..autograd.function import Op
from ..tensor import Tensor
from ._core import apply, check_inplace, register


class SelectBackward0(Op):
    _is_view = True

    def forward(self, a, dim, index):
        self.in_shape, self.dim, self.index = a.shape, dim, index
        return a[(slice(None),) * dim + (index,)]

    def backward(self, g):
        return _embed(g.unsqueeze(self.dim), self.in_shape,
                      (slice(None),) * self.dim + (slice(self.index, self.index + 1
                                                        if self.index != -1 else None),))


class SliceBackward0(Op):
    _is_view = True

    def forward(self, a, dim, sl):
        self.in_shape, self.key = a.shape, (slice(None),) * dim + (sl,)
        return a[self.key]

    def backward(self, g):
        return _embed(g, self.in_shape, self.key)


class IndexBackward0(Op):
    def forward(self, a, key):
        self.in_shape, self.key = a.shape, key
        self.dt = a.dtype
        return a[key]

    def backward(self, g):
        return IndexPutAcc.run(g, self.in_shape, self.key)


class _EmbedBackward(Op):
    """Gradient of a basic-index view: ``g`` written into zeros of the input's shape."""

    _name = "SliceBackwardBackward0"

    def forward(self, g, shape, key):
        self.key = key
        xp = B.get_array_module(g)
        out = xp.zeros(shape, dtype=g.dtype)
        out[key] = g
        return out

    def backward(self, gg):
        return gg[_key_tensorize(self.key)]


def _key_tensorize(key: Any) -> Any:
    return key


def _embed(g: Tensor, shape: tuple, key: Any) -> Tensor:
    return apply(_EmbedBackward, (g,), shape=shape, key=key)


class IndexPutAcc(Op):
    """Gradient of advanced indexing: ``g`` accumulated (np.add.at) into zeros."""

    _name = "IndexBackwardBackward0"

    @classmethod
    def run(cls, g: Tensor, shape: tuple, key: Any) -> Tensor:
        return apply(cls, (g,), shape=shape, key=key)

    def forward(self, g, shape, key):
        self.key = key
        xp = B.get_array_module(g)
        out = xp.zeros(shape, dtype=g.dtype)
        if xp is np:
            np.add.at(out, key, g)
        else:
            xp.add.at(out, key, g)
        return out

    def backward(self, gg):
        return apply(IndexBackward0, (gg,), key=self.key)


def _to_index(k: Any, xp: Any) -> Any:
    if isinstance(k, Tensor):
        if k.dtype is B.bool_ or k.dtype is B.uint8:
            return k._data.astype(bool)
        if k.dtype.is_floating_point:
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        return k._data
    if isinstance(k, (list, tuple)) and not isinstance(k, tuple):
        arr = np.asarray([x.item() if isinstance(x, Tensor) else x for x in k])
        if arr.dtype.kind == "f":
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        return xp.asarray(arr)
    if isinstance(k, np.ndarray):
        return xp.asarray(k)
    return k


def _normalize_key(self: Tensor, key: Any) -> tuple[tuple, bool]:
    if not isinstance(key, tuple):
        key = (key,)
    xp = B.get_array_module(self._data)
    out = []
    advanced = False
    for k in key:
        k = _to_index(k, xp)
        if isinstance(k, Tensor):
            k = k._data
        if hasattr(k, "ndim") and not isinstance(k, (int, np.integer)):
            if k.ndim == 0 and k.dtype.kind in "iu":
                k = int(k)
            else:
                advanced = True
        elif isinstance(k, (bool, np.bool_)):
            advanced = True
        out.append(k)
    return tuple(out), advanced


@register("__getitem__")
def getitem(self: Tensor, key: Any) -> Tensor:
    """Indexing with ints, slices, None, Ellipsis, index tensors/lists and bool masks."""
    key, advanced = _normalize_key(self, key)
    if advanced:
        _check_bounds_adv(self, key)
        return apply(IndexBackward0, (self,), key=key)
    # basic indexing: a chain of views, named as PyTorch names them
    n_real = sum(1 for k in key if k is not None and k is not Ellipsis)
    if n_real > self.ndim:
        raise IndexError(f"too many indices for tensor of dimension {self.ndim}")
    out = self
    dim = 0
    for k in key:
        if k is Ellipsis:
            dim += self.ndim - n_real
        elif k is None:
            out = out.unsqueeze(dim)
            dim += 1
        elif isinstance(k, slice):
            size = out._data.shape[dim]
            if k.step is not None and k.step <= 0:
                raise ValueError("step must be greater than zero")
            start, stop, step = k.indices(size)
            if not (start == 0 and stop >= size and step == 1):
                out = apply(SliceBackward0, (out,), dim=dim, sl=slice(start, max(stop, start),
                                                                      step))
            dim += 1
        else:
            k = int(k)
            size = out._data.shape[dim]
            if not -size <= k < size:
                raise IndexError(f"index {k} is out of bounds for dimension {dim} with size "
                                 f"{size}")
            out = apply(SelectBackward0, (out,), dim=dim, index=k % size)
    if out is self:
        out = self.view_as(self) if self._rg and grad_mode._state.enabled else \
            self.view(tuple(self.shape))
    return out


def _check_bounds_adv(self: Tensor, key: tuple) -> None:
    dim = 0
    for k in key:
        if k is None:
            continue
        if hasattr(k, "dtype") and hasattr(k, "ndim"):
            if k.dtype == bool:
                if k.shape != self._data.shape[dim:dim + k.ndim]:
                    raise IndexError(f"The shape of the mask {list(k.shape)} at index {dim} "
                                     f"does not match the shape of the indexed tensor "
                                     f"{list(self._data.shape[dim:dim + k.ndim])} at index "
                                     f"{dim}")
                dim += k.ndim
                continue
            size = self._data.shape[dim]
            if k.size and (int(k.max()) >= size or int(k.min()) < -size):
                bad = int(k.max()) if int(k.max()) >= size else int(k.min())
                raise IndexError(f"index {bad} is out of bounds for dimension {dim} with size "
                                 f"{size}")
        dim += 1 if k is not Ellipsis else 0


class CopySlices(Op):
    """``self[key] = value``: the gradient for the old self is zero where written."""

    def forward(self, a, v, key):
        self.key = key
        self.vshape, self.vdt = v.shape, v.dtype
        out = a.copy()
        out[key] = v
        return out

    def backward(self, g):
        n = self.needs
        ga = gv = None
        if n[0]:
            ga = g.clone()
            with grad_mode.no_grad():
                ga._data[self.key] = 0
            if g._rg:
                mask = Tensor._wrap(np.ones(g._data.shape, dtype=g._data.dtype)
                                    if B.get_array_module(g._data) is np
                                    else B._cupy.ones(g._data.shape, dtype=g._data.dtype))
                mask._data[self.key] = 0
                ga = g * mask
        if n[1]:
            from ._core import sum_to
            gv = sum_to(apply(IndexBackward0, (g,), key=self.key), self.vshape, self.vdt)
        return ga, gv


class IndexPutBackward0(CopySlices):
    pass


@register("__setitem__")
def setitem(self: Tensor, key: Any, value: Any) -> None:
    """Write into the indexed part (in place; differentiable for non-leaf tensors)."""
    nkey, advanced = _normalize_key(self, key)
    if advanced:
        _check_bounds_adv(self, nkey)
    if not isinstance(value, Tensor):
        xp = B.get_array_module(self._data)
        v = Tensor._wrap(xp.asarray(value, dtype=self._data.dtype))
    else:
        v = value if value.dtype is self.dtype else value.to(self.dtype)
    tracked = grad_mode._state.enabled and (self._rg or v._rg)
    if not tracked:
        self._data[nkey] = B.move(v._data, self.device)
        self._version.v += 1
        return
    check_inplace(self)
    cls = IndexPutBackward0 if advanced else CopySlices
    apply(cls, (self, v), out=self, key=nkey)


def scatter_into_zeros(g: Tensor, idx: Tensor, dim: int, shape: tuple) -> Tensor:
    """Zeros of ``shape`` with ``g`` placed at ``idx`` along ``dim`` (backward of max(dim))."""
    return apply(_ScatterZeros, (g,), idx=idx._data, dim=dim, shape=shape)


class _ScatterZeros(Op):
    _name = "ScatterBackward0"

    def forward(self, g, idx, dim, shape):
        self.idx, self.dim = idx, dim
        xp = B.get_array_module(g)
        out = xp.zeros(shape, dtype=g.dtype)
        xp.put_along_axis(out, idx, g, axis=dim) if xp is np else _cp_put(out, idx, g, dim)
        return out

    def backward(self, gg):
        return gather(gg, self.dim, Tensor._wrap(self.idx))


def _cp_put(out: Any, idx: Any, vals: Any, dim: int) -> None:
    xp = B.get_array_module(out)
    grids = list(xp.indices(idx.shape, sparse=True))
    grids[dim] = idx
    out[tuple(grids)] = vals


class GatherBackward0(Op):
    def forward(self, a, idx, dim):
        self.in_shape, self.idx, self.dim = a.shape, idx, dim
        xp = B.get_array_module(a)
        return xp.take_along_axis(a, idx, axis=dim)

    def backward(self, g):
        return apply(_ScatterAdd, (g,), idx=self.idx, dim=self.dim, shape=self.in_shape)


class _ScatterAdd(Op):
    _name = "ScatterAddBackward0"

    def forward(self, g, idx, dim, shape):
        self.idx, self.dim = idx, dim
        xp = B.get_array_module(g)
        out = xp.zeros(shape, dtype=g.dtype)
        grids = list(xp.indices(idx.shape, sparse=True))
        grids[dim] = idx
        xp.add.at(out, tuple(grids), g)
        return out

    def backward(self, gg):
        return gather(gg, self.dim, Tensor._wrap(self.idx))


@register("gather")
def gather(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """Pick values along ``dim`` at ``index`` (same number of dims)."""
    if index.dtype is not B.int64:
        raise RuntimeError("gather(): Expected dtype int64 for index")
    return apply(GatherBackward0, (input,), idx=index._data, dim=input._wrap_dim(dim))


@register("index_select")
def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """Rows (or slices along ``dim``) picked by a 1-D index tensor."""
    d = input._wrap_dim(dim)
    key = (slice(None),) * d + (index._data,)
    r = apply(IndexBackward0, (input,), key=key)
    return r


class MaskedFillBackward0(Op):
    def forward(self, a, mask, value):
        self.mask = mask
        xp = B.get_array_module(a)
        return xp.where(mask, xp.asarray(value, dtype=a.dtype), a)

    def backward(self, g):
        return g * Tensor._wrap(~self.mask)


@register("masked_fill")
def masked_fill(input: Tensor, mask: Tensor, value: Any) -> Tensor:
    """``value`` where ``mask`` is True."""
    if mask.dtype is not B.bool_:
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with "
                           f"dtype {mask.dtype.name}")
    v = value.item() if isinstance(value, Tensor) else value
    return apply(MaskedFillBackward0, (input,), mask=mask._data, value=v)


@register("masked_fill_")
def masked_fill_(input: Tensor, mask: Tensor, value: Any) -> Tensor:
    from ._core import inplace
    return inplace("masked_fill_", masked_fill)(input, mask, value)


@register("masked_select")
def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    from .shape import expand
    m = mask._data if tuple(mask.shape) == tuple(input.shape) else \
        B.get_array_module(mask._data).broadcast_to(mask._data, input._data.shape)
    del expand
    return apply(IndexBackward0, (input,), key=(m,))


@register("nonzero")
def nonzero(input: Tensor, *, as_tuple: bool = False) -> Any:
    xp = B.get_array_module(input._data)
    idx = xp.nonzero(input._data)
    if as_tuple:
        return tuple(Tensor._wrap(i.astype(np.int64)) for i in idx)
    return Tensor._wrap(xp.stack(idx, axis=1).astype(np.int64))


@register("narrow")
def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    d = input._wrap_dim(dim)
    return apply(SliceBackward0, (input,), dim=d, sl=slice(start, start + length, 1))


@register("select")
def select(input: Tensor, dim: int, index: int) -> Tensor:
    d = input._wrap_dim(dim)
    return apply(SelectBackward0, (input,), dim=d, index=index % input._data.shape[d])
