"""Views (share memory, differentiable) and copies that change shape, dtype or device."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import _backend as B
from ..autograd.function import Op
from ..tensor import Size, Tensor
from ._core import apply, register


def _size_args(args: Sequence[Any]) -> tuple:
    if len(args) == 1 and isinstance(args[0], (tuple, list, Size)):
        args = tuple(args[0])
    return tuple(int(a) for a in args)


def infer_shape(shape: tuple, numel: int) -> tuple:
    """Resolve one ``-1`` in ``shape``; PyTorch's error when sizes don't match."""
    neg = [i for i, s in enumerate(shape) if s == -1]
    if len(neg) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise RuntimeError(f"invalid shape dimension {s}")
            known *= s
    if neg:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape = shape[:neg[0]] + (numel // known,) + shape[neg[0] + 1:]
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


def _try_view(a: Any, shape: tuple) -> Any:
    v = a.view()
    try:
        v.shape = shape
    except AttributeError:
        return None
    return v


class ViewBackward0(Op):
    _is_view = True

    def forward(self, a, shape):
        self.in_shape = a.shape
        v = _try_view(a, shape)
        if v is None:
            raise RuntimeError("view size is not compatible with input tensor's size and "
                               "stride (at least one dimension spans across two contiguous "
                               "subspaces). Use .reshape(...) instead.")
        return v

    def backward(self, g):
        return g.reshape(self.in_shape)


class ReshapeAliasBackward0(ViewBackward0):
    """``reshape`` of a non-contiguous tensor whose strides still allow a view."""


class UnsafeViewBackward0(Op):
    def forward(self, a, shape):
        self.in_shape = a.shape
        return a.reshape(shape)

    def backward(self, g):
        return g.reshape(self.in_shape)


@register("view")
def view(self: Tensor, *shape: Any) -> Tensor:
    """The same data seen with another shape (must be compatible with the strides)."""
    if len(shape) == 1 and isinstance(shape[0], (B.dtype, str)) or (
            len(shape) == 1 and not isinstance(shape[0], (int, tuple, list, Size))):
        raise TypeError("view(dtype) is not supported; use .to(dtype)")
    return apply(ViewBackward0, (self,), shape=infer_shape(_size_args(shape), self.numel()))


@register("reshape")
def reshape(self: Tensor, *shape: Any) -> Tensor:
    """A view when the strides allow it, else a copy."""
    shape = infer_shape(_size_args(shape), self.numel())
    if self._data.flags.c_contiguous:
        return apply(ViewBackward0, (self,), shape=shape)
    if _try_view(self._data, shape) is not None:  # strides allow a view: _reshape_alias
        return apply(ReshapeAliasBackward0, (self,), shape=shape)
    return apply(UnsafeViewBackward0, (contiguous(self),), shape=shape)


@register("view_as")
def view_as(self: Tensor, other: Tensor) -> Tensor:
    return view(self, tuple(other.shape))


@register("reshape_as")
def reshape_as(self: Tensor, other: Tensor) -> Tensor:
    return reshape(self, tuple(other.shape))


@register("flatten")
def flatten(self: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims ``start_dim..end_dim`` into one."""
    if self.ndim == 0:
        return reshape(self, (1,))
    s, e = self._wrap_dim(start_dim), self._wrap_dim(end_dim)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return self
    shp = self.shape
    return reshape(self, tuple(shp[:s]) + (-1,) + tuple(shp[e + 1:]))


@register("unflatten")
def unflatten(self: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:
    d = self._wrap_dim(dim)
    shp = tuple(self.shape)
    return view(self, shp[:d] + tuple(sizes) + shp[d + 1:])


class PermuteBackward0(Op):
    _is_view = True

    def forward(self, a, dims):
        self.dims = dims
        return a.transpose(dims)

    def backward(self, g):
        return g.permute(tuple(np.argsort(self.dims).tolist()))


@register("permute")
def permute(self: Tensor, *dims: Any) -> Tensor:
    """Reorder the dimensions (a view)."""
    dims = tuple(self._wrap_dim(d) for d in _size_args(dims))
    if len(dims) != self.ndim:
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input "
                           f"does not match the length of the desired ordering of dimensions "
                           f"i.e. input.dim() = {self.ndim} is not equal to len(dims) = "
                           f"{len(dims)}")
    if len(set(dims)) != len(dims):
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return apply(PermuteBackward0, (self,), dims=dims)


class TransposeBackward0(Op):
    _is_view = True

    def forward(self, a, d0, d1):
        self.d = (d0, d1)
        return a.swapaxes(d0, d1)

    def backward(self, g):
        return g.transpose(*self.d)


class TBackward0(Op):
    _is_view = True

    def forward(self, a):
        return a.T

    def backward(self, g):
        return g.t()


@register("transpose", "swapaxes", "swapdims")
def transpose(self: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dimensions (a view)."""
    return apply(TransposeBackward0, (self,), d0=self._wrap_dim(dim0), d1=self._wrap_dim(dim1))


@register("t")
def t(self: Tensor) -> Tensor:
    """Transpose a tensor of at most 2 dimensions."""
    if self.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                           f"{self.ndim}D")
    return apply(TBackward0, (self,))


Tensor.T = property(lambda self: permute(self, tuple(range(self.ndim - 1, -1, -1))),
                    doc="Dimensions reversed (a permute, as in PyTorch).")
Tensor.mT = property(lambda self: transpose(self, -2, -1), doc="Last two dims swapped.")


class SqueezeBackward0(Op):
    _is_view = True

    def forward(self, a, axes):
        self.in_shape = a.shape
        return a.squeeze(axis=axes) if axes else a.view()

    def backward(self, g):
        return g.reshape(self.in_shape)


class SqueezeBackward1(SqueezeBackward0):
    pass


class SqueezeBackward2(SqueezeBackward0):
    pass


class SqueezeBackward4(SqueezeBackward0):
    """``squeeze_(dim)`` (in place on a fresh result, as matmul's 1-D @ 2-D does: the
    result is that tensor itself, not a view of it)."""

    _is_view = False


@register("squeeze")
def squeeze(self: Tensor, dim: Any = None) -> Tensor:
    """Drop dimensions of size 1 (all, or only ``dim``)."""
    shp = self._data.shape
    if dim is None:
        return apply(SqueezeBackward0, (self,), axes=tuple(i for i, s in enumerate(shp)
                                                           if s == 1))
    if isinstance(dim, (tuple, list)):
        dims = tuple(self._wrap_dim(d) for d in dim)
        return apply(SqueezeBackward2, (self,), axes=tuple(d for d in dims if shp[d] == 1))
    d = self._wrap_dim(dim)
    return apply(SqueezeBackward1, (self,), axes=(d,) if self.ndim and shp[d] == 1 else ())


class UnsqueezeBackward0(Op):
    _is_view = True

    def forward(self, a, dim):
        self.dim = dim
        return np.expand_dims(a, dim) if isinstance(a, np.ndarray) else a[(slice(None),) * dim
                                                                          + (None,)]

    def backward(self, g):
        return g.squeeze(self.dim)


@register("unsqueeze")
def unsqueeze(self: Tensor, dim: int) -> Tensor:
    """Insert a dimension of size 1 at ``dim``."""
    return apply(UnsqueezeBackward0, (self,), dim=self._wrap_dim(dim, self.ndim + 1))


class ExpandBackward0(Op):
    _is_view = True

    def forward(self, a, shape):
        self.in_shape = a.shape
        xp = B.get_array_module(a)
        if xp is not np:
            return xp.broadcast_to(a, shape)
        # a writable view (np.broadcast_to's is read-only): torch lets one write through
        # e.g. expanded[0]; writes that hit one element twice are refused by the op
        lead = len(shape) - a.ndim
        strides = (0,) * lead + tuple(0 if n == 1 and m != 1 else st for n, m, st in
                                      zip(a.shape, shape[lead:], a.strides))
        return np.lib.stride_tricks.as_strided(a, shape, strides, writeable=a.flags.writeable)

    def backward(self, g):
        from ._core import sum_to
        return sum_to(g, self.in_shape)


@register("expand")
def expand(self: Tensor, *sizes: Any) -> Tensor:
    """Broadcast size-1 dims to larger sizes without copying (-1 keeps a size)."""
    sizes = _size_args(sizes)
    shp = self._data.shape
    if len(sizes) < len(shp):
        raise RuntimeError(f"expand({self._type_name()}{{{list(shp)}}}, size={list(sizes)}): "
                           f"the number of sizes provided ({len(sizes)}) must be greater or "
                           f"equal to the number of dimensions in the tensor ({len(shp)})")
    lead = len(sizes) - len(shp)
    out = []
    for i, s in enumerate(sizes):
        if i < lead:
            if s < 0:
                raise RuntimeError(f"The expanded size of the tensor ({s}) isn't allowed in a "
                                   "leading, non-existing dimension 0")
            out.append(s)
            continue
        cur = shp[i - lead]
        if s == -1:
            s = cur
        if cur != s and cur != 1:
            raise RuntimeError(f"The expanded size of the tensor ({s}) must match the existing "
                               f"size ({cur}) at non-singleton dimension {i}.  Target sizes: "
                               f"{list(sizes)}.  Tensor sizes: {list(shp)}")
        out.append(s)
    return apply(ExpandBackward0, (self,), shape=tuple(out))


@register("expand_as")
def expand_as(self: Tensor, other: Tensor) -> Tensor:
    return expand(self, tuple(other.shape))


@register("broadcast_to")
def broadcast_to(self: Tensor, shape: Sequence[int]) -> Tensor:
    return expand(self, tuple(shape))


class CloneBackward0(Op):
    def forward(self, a):
        return a.copy()

    def backward(self, g):
        return g


@register("clone")
def clone(self: Tensor, *, memory_format: Any = None) -> Tensor:
    """A copy that stays in the graph."""
    return apply(CloneBackward0, (self,))


@register("contiguous")
def contiguous(self: Tensor, memory_format: Any = None) -> Tensor:
    """Self when already C-contiguous, else a contiguous copy."""
    if self._data.flags.c_contiguous:
        return self
    return apply(CloneBackward0, (self,))


class ToCopyBackward0(Op):
    def forward(self, a, dt, dev):
        self.src = (B.from_np(a.dtype), B.device_of(a))
        out = B.move(a, dev) if dev is not None else a
        if dt is not None and out.dtype != dt.np:
            out = out.astype(dt.np)
        elif out is a:
            out = a.copy()
        return out

    def backward(self, g):
        return g.to(device=self.src[1], dtype=self.src[0])


def to_dtype(t: Tensor, dt: B.dtype, promotion: bool = False) -> Tensor:
    """Cast (``ToCopyBackward0`` when grad is recorded)."""
    if dt is not None and not dt.is_floating_point and t._rg:
        from ..autograd import grad_mode
        with grad_mode.no_grad():
            return apply(ToCopyBackward0, (t,), dt=dt, dev=None)
    return apply(ToCopyBackward0, (t,), dt=dt, dev=None)


@register("to")
def to(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
    """Change dtype and/or device: ``to(dtype)``, ``to(device)``, ``to(device, dtype)``,
    ``to(other)``. Returns self when nothing changes (unless ``copy=True``)."""
    dev = kwargs.pop("device", None)
    dt = kwargs.pop("dtype", None)
    copy = kwargs.pop("copy", False)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"to() got an unexpected keyword argument {next(iter(kwargs))!r}")
    for a in args:
        if isinstance(a, Tensor):
            dev, dt = a.device, a.dtype
        elif isinstance(a, (B.dtype, type)) or (isinstance(a, np.dtype)):
            dt = a
        elif isinstance(a, (str, B.device, int)):
            if isinstance(a, str) and a.replace("torch.", "").replace("autograd_viz.", "") in \
                    ("float32", "float64", "float16", "int64", "int32", "bool", "float",
                     "double", "half", "long", "int"):
                dt = a
            else:
                dev = a
        elif a is not None and not isinstance(a, bool):
            raise TypeError(f"to() received an invalid combination of arguments: {a!r}")
    dt = B.as_dtype(dt) if dt is not None else None
    dev = B.as_device(dev) if dev is not None else None
    if dev is not None and dev.type == "cuda":
        B.xp_for(dev)  # raises a clear error without CuPy/GPU
    same_dt = dt is None or dt.np == self._data.dtype
    same_dev = dev is None or dev == self.device
    if same_dt and same_dev and not copy:
        return self
    if dt is not None and not dt.is_floating_point and self._rg:
        from ..autograd import grad_mode
        with grad_mode.no_grad():
            return apply(ToCopyBackward0, (self,), dt=dt, dev=dev)
    return apply(ToCopyBackward0, (self,), dt=dt, dev=dev)


def _caster(name: str, dt: B.dtype):
    def method(self: Tensor, memory_format: Any = None) -> Tensor:
        return to(self, dt)
    method.__name__ = name
    method.__doc__ = f"``self.to({dt!r})``."
    return method


for _n, _d in (("float", B.float32), ("double", B.float64), ("half", B.float16),
               ("long", B.int64), ("int", B.int32), ("short", B.int16), ("bool", B.bool_),
               ("byte", B.uint8), ("char", B.int8)):
    setattr(Tensor, _n, _caster(_n, _d))


@register("cpu")
def cpu(self: Tensor) -> Tensor:
    """A copy on the CPU (self when already there)."""
    return to(self, "cpu")


@register("cuda")
def cuda(self: Tensor, device: Any = None, non_blocking: bool = False) -> Tensor:
    """A copy on the GPU (CuPy); a clear RuntimeError where there is none."""
    return to(self, B.device("cuda", device if isinstance(device, int) else 0))


@register("type_as")
def type_as(self: Tensor, other: Tensor) -> Tensor:
    return to(self, other.dtype)


class RepeatBackward0(Op):
    def forward(self, a, reps):
        self.in_shape = a.shape
        self.reps = reps
        xp = B.get_array_module(a)
        lead = len(reps) - a.ndim
        return xp.tile(a.reshape((1,) * lead + a.shape), reps)

    def backward(self, g):
        shp = (1,) * (len(self.reps) - len(self.in_shape)) + tuple(self.in_shape)
        split = []
        for r, s in zip(self.reps, shp):
            split += [r, s]
        g = g.reshape(split)
        return g.sum(dim=tuple(range(0, len(split), 2))).reshape(self.in_shape)


@register("repeat")
def repeat(self: Tensor, *reps: Any) -> Tensor:
    """Tile the tensor ``reps`` times along each dim (a copy)."""
    reps = _size_args(reps)
    if len(reps) < self.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than "
                           "number of dimensions of tensor")
    return apply(RepeatBackward0, (self,), reps=reps)


class FlipBackward0(Op):
    def forward(self, a, dims):
        self.dims = dims
        xp = B.get_array_module(a)
        return xp.flip(a, dims).copy()

    def backward(self, g):
        return g.flip(self.dims)


@register("flip")
def flip(self: Tensor, dims: Sequence[int]) -> Tensor:
    if isinstance(dims, int):
        dims = (dims,)
    return apply(FlipBackward0, (self,), dims=tuple(self._wrap_dim(d) for d in dims))
