"""Indexing: basic indexing as torch's chain of views (Select/Slice/Unsqueeze), advanced
and boolean indexing (``IndexBackward0``), ``__setitem__``, gather/scatter helpers."""
from __future__ import annotations

import sys
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
        return a[(slice(None),) * dim + (index, Ellipsis)]  # "...": a 0-d view, no copy

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


class AliasBackward0(Op):
    """``x[...]`` and keys that select everything: a new view of the same data."""

    _is_view = True

    def forward(self, a):
        return a.view()

    def backward(self, g):
        return g


_MAX = sys.maxsize
_BAD_INDEX = ("only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables "
              "are valid indices (got {})")


def _is_int(k: Any) -> bool:
    return isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_))


def _part(k: Any, xp: Any) -> tuple:
    """One key element as (kind, value): int, slice, none, ellipsis, or array (int/bool)."""
    if k is None:
        return ("none", None)
    if k is Ellipsis:
        return ("ellipsis", None)
    if isinstance(k, (bool, np.bool_)):
        return ("array", xp.asarray([bool(k)]), True)  # unsqueeze, then a mask of one
    if _is_int(k):
        return ("int", int(k))
    if isinstance(k, slice):
        return ("slice", k)
    if isinstance(k, Tensor):
        if k.dtype.is_floating_point:
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        a = k._data.astype(bool) if k.dtype in (B.bool_, B.uint8) else k._data
        if a.ndim == 0:
            return ("array", a.reshape(1), True) if a.dtype == bool else ("int", int(a))
        return ("array", a, False)
    if isinstance(k, (list, np.ndarray)) or (B._cupy is not None
                                             and isinstance(k, B._cupy.ndarray)):
        arr = np.asarray([x.item() if isinstance(x, Tensor) else x for x in k]) \
            if isinstance(k, list) else B.to_numpy(k)
        if arr.dtype.kind not in "iub" and arr.size:
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        arr = arr.astype(np.int64) if arr.dtype.kind != "b" else arr
        return ("array", xp.asarray(arr), False)
    raise IndexError(_BAD_INDEX.format(type(k).__name__))


def _specified(parts: list) -> int:
    n = 0
    for p in parts:
        if p[0] in ("int", "slice"):
            n += 1
        elif p[0] == "array" and not p[2]:
            n += p[1].ndim if p[1].dtype == bool else 1
    return n


def _select(t: Tensor, dim: int, i: int) -> Tensor:
    if t.ndim == 0:
        raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
                         "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number")
    size = t._data.shape[dim]
    if not -size <= i < size:
        raise IndexError(f"index {i} is out of bounds for dimension {dim} with size {size}")
    return apply(SelectBackward0, (t,), dim=dim, index=i % size)


def _slice(t: Tensor, dim: int, k: slice, optimize: bool) -> Tensor:
    """PyTorch's applySlice: a full slice inside a tuple key is skipped (no node)."""
    if t.ndim == 0:
        raise IndexError("too many indices for tensor of dimension 0")
    step = 1 if k.step is None else int(k.step)
    if step <= 0:
        raise ValueError("step must be greater than zero")
    start = 0 if k.start is None else int(k.start)
    stop = _MAX if k.stop is None else int(k.stop)
    size = t._data.shape[dim]
    if optimize and start == 0 and step == 1 and stop >= size:
        return t
    b, e, st = slice(start, stop, step).indices(size)
    return apply(SliceBackward0, (t,), dim=dim, sl=slice(b, max(e, b), st))


def apply_slicing(self: Tensor, key: Any) -> tuple[Tensor, tuple | None]:
    """PyTorch's applySlicing: the views for ints, slices and None (named as torch names
    them), and the numpy key of the remaining advanced (array / mask) part, or None."""
    xp = B.get_array_module(self._data)
    parts = [_part(k, xp) for k in (key if isinstance(key, tuple) else (key,))]
    n_spec = _specified(parts)
    if n_spec > self.ndim:
        raise IndexError(f"too many indices for tensor of dimension {self.ndim}")
    out, dim, adv = self, 0, {}
    for p in parts:
        kind = p[0]
        if kind == "int":
            out = _select(out, dim, p[1])
        elif kind == "slice":
            out = _slice(out, dim, p[1], optimize=True)
            dim += 1
        elif kind == "ellipsis":
            dim += self.ndim - n_spec
        elif kind == "none":
            out = out.unsqueeze(dim)
            dim += 1
        else:
            arr, new_dim = p[1], p[2]
            if new_dim:
                out = out.unsqueeze(dim)
            _check_array(out, dim, arr)
            adv[dim] = arr
            dim += arr.ndim if arr.dtype == bool else 1
    if not adv:
        return out, None
    nkey, d = [], 0
    last = max(adv)
    while d <= last:
        if d in adv:
            nkey.append(adv[d])
            d += adv[d].ndim if adv[d].dtype == bool else 1
        else:
            nkey.append(slice(None))
            d += 1
    return out, tuple(nkey)


def _check_array(t: Tensor, dim: int, arr: Any) -> None:
    shape = t._data.shape
    if arr.dtype == bool:
        if arr.shape != shape[dim:dim + arr.ndim]:
            raise IndexError(f"The shape of the mask {list(arr.shape)} at index {dim} does not "
                             f"match the shape of the indexed tensor {list(shape)} at index "
                             f"{dim}")
        return
    size = shape[dim]
    if arr.size and (int(arr.max()) >= size or int(arr.min()) < -size):
        bad = int(arr.max()) if int(arr.max()) >= size else int(arr.min())
        raise IndexError(f"index {bad} is out of bounds for dimension {dim} with size {size}")


@register("__getitem__")
def getitem(self: Tensor, key: Any) -> Tensor:
    """Indexing with ints, slices, None, Ellipsis, index tensors/lists and bool masks, with
    PyTorch's graph: views for the basic part (Select/Slice/Unsqueeze/Alias), then
    ``IndexBackward0`` for the advanced part."""
    if key is None:
        return self.unsqueeze(0)
    if key is Ellipsis:
        return apply(AliasBackward0, (self,))
    if _is_int(key):
        return _select(self, 0, int(key))
    if isinstance(key, slice):
        return _slice(self, 0, key, optimize=False)
    out, adv = apply_slicing(self, key)
    if adv is not None:
        return apply(IndexBackward0, (out,), key=adv)
    return apply(AliasBackward0, (out,)) if out is self else out


class CopySlices(Op):
    """``self[key] = value`` through a view of ``self``: the old ``self`` gets the gradient
    with the written region zeroed, ``value`` the gradient of that region."""

    def forward(self, a, v, key):
        self.key = key
        self.vshape, self.vdt = v.shape, v.dtype
        out = a.copy()
        _write_region(out, key, v)
        return out

    def backward(self, g):
        from ._core import sum_to
        from .unary import where
        n = self.needs
        ga = gv = None
        if n[0]:
            keep = Tensor._wrap(B.get_array_module(g._data).ones(g._data.shape, dtype=bool))
            _write_region(keep._data, self.key, np.False_)
            ga = where(keep, g, g.new_zeros(()))
        if n[1]:
            gv = sum_to(g[self.key], self.vshape, self.vdt)
        return ga, gv


class CopyBackwards(CopySlices):
    """``self[...] = value`` (and keys that select all of ``self``): ``self.copy_(value)``."""


class FillBackward3(CopySlices):
    """``self[...] = value`` with a 0-d ``value`` (``self.fill_(value)``)."""


class IndexPutBackward0(CopySlices):
    """``self[index] = value`` with an advanced index (``index_put_``) on ``self`` itself."""


def _write_region(arr: Any, key: Any, v: Any) -> None:
    """``arr[key] = v`` with PyTorch's key semantics (``key`` as ``_freeze`` made it)."""
    t = Tensor._wrap(arr)
    with grad_mode.no_grad():
        dst, adv = _destination(t, key)
    v = v.astype(arr.dtype, copy=False) if hasattr(v, "astype") else v
    if adv is None:
        dst._data[...] = v
    else:
        dst._data[adv] = v


def _destination(t: Tensor, key: Any) -> tuple[Tensor, tuple | None]:
    """The view written by ``t[key] = v`` and the advanced part of the key (torch's
    set_item: single keys without the slice-optimisation exception of get_item)."""
    if key is Ellipsis:
        return t, None
    if key is None or key is True:
        return t.unsqueeze(0), None
    if _is_int(key):
        return _select(t, 0, int(key)), None
    if isinstance(key, slice):
        return _slice(t, 0, key, optimize=True), None
    return apply_slicing(t, key)


def _freeze(key: Any) -> Any:
    """The key with tensors as arrays / Python numbers (kept by the node for backward)."""
    if isinstance(key, tuple):
        return tuple(_freeze(k) for k in key)
    if isinstance(key, Tensor):
        d = key._data
        if d.ndim == 0 and d.dtype.kind in "biu":
            return bool(d) if d.dtype == bool else int(d)
        return d
    return key


@register("__setitem__")
def setitem(self: Tensor, key: Any, value: Any) -> None:
    """Write into the indexed part, in place, with PyTorch's graph: ``CopySlices`` when
    the target is a view of ``self``, ``CopyBackwards`` when it is all of ``self``,
    ``IndexPutBackward0`` for an advanced index on ``self`` itself."""
    if key is False or (isinstance(key, np.bool_) and not key):
        return
    if not isinstance(value, Tensor):
        xp = B.get_array_module(self._data)
        value = Tensor._wrap(xp.asarray(value, dtype=self._data.dtype))
    key = _freeze(key)
    probe = Tensor._wrap(self._data)
    with grad_mode.no_grad():
        dst, adv = _destination(probe, key)
    whole = dst is probe  # no view taken: the write is on self itself
    if adv is None and value.ndim:  # (a 0-d value is a fill_, which may write expanded)
        from ._inplace import check_overlap
        check_overlap(dst)
    root = self._base if self._base is not None else self
    if value._data.size and (value._base if value._base is not None else value) is root:
        from ._inplace import PARTIAL_MSG, partial_overlap
        if partial_overlap(dst._data, value._data):
            raise RuntimeError(PARTIAL_MSG)
    if grad_mode._state.enabled and "_nograd_view" in self.__dict__:
        from ._core import NOGRAD_VIEW_MSG
        last = None if whole or adv is not None else _last_view_op(key)
        raise RuntimeError(NOGRAD_VIEW_MSG if last is None else
                           f"Output 0 of {last} is a view of a view which was created in "
                           "no_grad mode" + NOGRAD_VIEW_MSG.split("no_grad mode", 1)[1])
    v = value
    if adv is None:
        if tuple(v.shape) != tuple(dst.shape) and v.ndim:  # copy_to: view, then expand
            v = v.view(_stripped(tuple(v.shape)))
            if tuple(v.shape) != tuple(dst.shape):
                v = v.expand(tuple(dst.shape))
    else:
        if value.dtype is not self.dtype:
            from ._core import _pretty
            raise RuntimeError(f"Index put requires the source and destination dtypes match, "
                               f"got {_pretty(self.dtype)} for the destination and "
                               f"{_pretty(value.dtype)} for the source.")
        if _stripped(tuple(v.shape)) != tuple(v.shape):
            v = v.view(_stripped(tuple(v.shape)))
        idx_shape = np.empty(dst._data.shape, dtype=bool)[tuple(
            B.to_numpy(k) if hasattr(k, "shape") else k for k in adv)].shape
        try:
            np.broadcast_shapes(tuple(v.shape), idx_shape)
        except ValueError:
            raise RuntimeError(f"shape mismatch: value tensor of shape {list(v.shape)} cannot "
                               f"be broadcast to indexing result of shape "
                               f"{list(idx_shape)}") from None
    if not (grad_mode._state.enabled and (self._rg or v._rg)):
        vd = B.move(v._data, self.device)
        if adv is None:
            dst._data[...] = vd
        else:
            dst._data[adv] = vd
        self._vc.v += 1
        return
    if grad_mode._state.enabled and self._rg and self.grad_fn is None and not whole:
        raise RuntimeError("a view of a leaf Variable that requires grad is being used in an "
                           "in-place operation.")
    check_inplace(self)
    if adv is not None:
        cls = IndexPutBackward0 if whole else CopySlices
    else:
        cls = CopySlices if not whole else (
            FillBackward3 if v.ndim == 0 and self.ndim else CopyBackwards)
    from ._inplace import rebase
    rebase(self, apply(cls, (self, v), key=key))  # (the node saves nothing of self)


def _stripped(shape: tuple) -> tuple:
    """The shape without its leading 1s (torch's slicePrefix1sSize)."""
    i = 0
    while i < len(shape) and shape[i] == 1:
        i += 1
    return shape[i:]


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
    out[B.along_grids(idx, dim)] = vals


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
        xp.add.at(out, B.along_grids(idx, dim), g)
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
    """``masked_fill(input, mask, number)``; ``MaskedFillBackward1`` when the value is a
    0-d tensor (then it is a graph input too)."""

    def forward(self, a, v=None, mask=None, value=None):
        self.mask = mask
        xp = B.get_array_module(a)
        if v is not None:
            self.vdt = v.dtype
            value = v
        return xp.where(mask, xp.asarray(value, dtype=a.dtype), a)

    def backward(self, g):
        from .unary import where
        m = Tensor._wrap(self.mask)
        zero = g.new_zeros(())
        ga = where(m, zero, g)
        if len(self.needs) == 1:
            return ga
        gv = where(m, g, zero).sum().to(B.from_np(self.vdt)) if self.needs[1] else None
        return (ga if self.needs[0] else None), gv


class MaskedFillBackward1(MaskedFillBackward0):
    pass


@register("masked_fill")
def masked_fill(input: Tensor, mask: Tensor, value: Any) -> Tensor:
    """``value`` where ``mask`` is True (``value`` a number or a 0-d tensor)."""
    if mask.dtype is not B.bool_:
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with "
                           f"dtype {mask.dtype.name}")
    m = mask._data
    if m.shape != input._data.shape:
        m = B.get_array_module(m).broadcast_to(m, input._data.shape)
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but "
                               f"got tensor with {value.ndim} dimension(s).")
        return apply(MaskedFillBackward1, (input, value), mask=m)
    return apply(MaskedFillBackward0, (input,), mask=m, value=value)


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


def _last_view_op(key: Any) -> str | None:
    """torch's name of the last view a basic index applies (``Select`` for an int, ``Slice``
    for a slice that is not the whole dim), as its errors name it; None if unsure."""
    for k in reversed(key if isinstance(key, tuple) else (key,)):
        if isinstance(k, slice) and k == slice(None):
            continue
        if isinstance(k, (int, np.integer)) and not isinstance(k, bool):
            return "Select"
        if isinstance(k, slice):
            return "Slice"
        return None
    return None
