"""``Tensor``: an n-dimensional array (NumPy or CuPy) with PyTorch's autograd semantics.

Only the core lives here (storage, autograd state, conversions, repr); the operations are
attached by ``autograd_viz.ops`` — each op module adds its own methods.
"""
from __future__ import annotations

import itertools
import warnings
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from . import _backend as B
from .autograd import events
from .autograd.function import AccumulateGrad
from .autograd.hooks import RemovableHandle, add_hook

_uids = itertools.count()
_new = object.__new__

NONLEAF_GRAD_WARNING = (
    "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
    "attribute won't be populated during autograd.backward(). If you indeed want the .grad "
    "field to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. "
    "If you access the non-leaf Tensor by mistake, make sure you access the leaf Tensor "
    "instead.")


class _Version:
    """A version counter shared by a tensor and its views (bumped by in-place writes).
    Made as ``_Version()`` and then given ``v = 0``: no ``__init__``, as a class without one
    is called faster than ``object.__new__`` (this runs for every op's result)."""

    __slots__ = ("v",)


class Size(tuple):
    """The shape of a tensor: a tuple that prints like ``autograd_viz.Size([2, 3])``."""

    def __repr__(self) -> str:
        return f"autograd_viz.Size({list(self)})"

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n


class Tensor:
    """A multi-dimensional array that can record operations for automatic differentiation.

    ``Tensor(2, 3)`` makes an uninitialised float32 tensor of that shape and
    ``Tensor([1, 2])`` a float32 tensor from data, as ``torch.Tensor`` does; prefer
    :func:`autograd_viz.tensor`, which infers the dtype.
    """

    __slots__ = ("_data", "_rg", "grad_fn", "_output_nr", "_grad", "_vc", "_base",
                 "_uid", "_acc", "_backward_hooks", "__weakref__", "__dict__")
    __array_priority__ = 1000

    def __new__(cls, *args: Any, device: Any = None) -> Tensor:
        dev = B.as_device(device)
        xp = B.xp_for(dev)
        dt = B.default_float().np
        if len(args) == 1 and not isinstance(args[0], int):
            a = args[0]
            if isinstance(a, Tensor):
                data = a._data.astype(dt, copy=False)
            else:
                data = xp.asarray(B.to_numpy(a) if not isinstance(a, (list, tuple))
                                  else np.asarray(a), dtype=dt)
        else:
            shape = tuple(args[0]) if len(args) == 1 and isinstance(args[0], Size) else args
            data = xp.empty(tuple(int(s) for s in shape), dtype=dt)
        return cls._wrap(data)

    # ------------------------------------------------------------------ construction
    @classmethod
    def _wrap(cls, data: Any, requires_grad: bool = False) -> Tensor:
        t = _new(cls)
        t._data = data
        t._rg = requires_grad
        t.grad_fn = None
        t._output_nr = 0
        t._grad = None
        version = _Version()
        version.v = 0
        t._vc = version
        t._base = None
        t._uid = None
        t._acc = None
        t._backward_hooks = None
        return t

    @staticmethod
    def _zeros_like_meta(meta: tuple) -> Tensor:
        shape, dt, dev = meta
        return Tensor._wrap(B.xp_for(dev).zeros(shape, dtype=dt.np))

    def _set_grad_fn(self, node: Any, output_nr: int) -> None:
        self.grad_fn = node
        self._output_nr = output_nr
        self._rg = True

    def _accumulator(self) -> AccumulateGrad | None:
        acc = self._acc
        if acc is None:
            if "_nograd_view" in self.__dict__:  # torch: requires grad, yet no edge
                return None
            acc = self._acc = AccumulateGrad(self)
            if self._backward_hooks is not None:
                acc._add_tensor_hook_dict(0, self._backward_hooks)
        return acc

    # ------------------------------------------------------------------ identity
    @property
    def uid(self) -> int:
        """A stable counter id for this tensor object (assigned on first use)."""
        u = self._uid
        if u is None:
            u = self._uid = next(_uids)
        return u

    @property
    def output_nr(self) -> int:
        return self._output_nr

    @property
    def dtype(self) -> B.dtype:
        return B.from_np(self._data.dtype)

    @property
    def device(self) -> B.device:
        return B.device_of(self._data)

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: int | None = None) -> Size | int:
        """The shape, or the length of one dimension."""
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[self._wrap_dim(dim)]

    def _wrap_dim(self, dim: int, ndim: int | None = None) -> int:
        n = self._data.ndim if ndim is None else ndim
        lo, hi = (-1, 0) if n == 0 else (-n, n - 1)
        if not isinstance(dim, (int, np.integer)) or not lo <= dim <= hi:
            raise IndexError(f"Dimension out of range (expected to be in range of [{lo}, "
                             f"{hi}], but got {dim})")
        return int(dim) % max(n, 1)

    def dim(self) -> int:
        return self._data.ndim

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    def element_size(self) -> int:
        return self._data.itemsize

    def is_contiguous(self) -> bool:
        return bool(self._data.flags.c_contiguous)

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f"

    def data_ptr(self) -> int:
        d = self._data
        return d.ctypes.data if isinstance(d, np.ndarray) else d.data.ptr

    def stride(self, dim: int | None = None) -> tuple | int:
        st = tuple(s // self._data.itemsize for s in self._data.strides)
        return st if dim is None else st[self._wrap_dim(dim)]

    def storage_offset(self) -> int:
        base = self._base
        if base is None:
            return 0
        return (self.data_ptr() - base.data_ptr()) // self._data.itemsize

    def untyped_storage(self) -> Any:
        base = self._base if self._base is not None else self
        return base._data

    def _type_name(self) -> str:
        names = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
                 "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor",
                 "int8": "CharTensor", "uint8": "ByteTensor", "bool": "BoolTensor"}
        prefix = "torch.cuda." if self.is_cuda else "torch."
        return prefix + names[self.dtype.name]

    def type(self, dtype: Any = None) -> Any:
        if dtype is None:
            return self._type_name()
        return self.to(dtype)

    # ------------------------------------------------------------------ autograd state
    @property
    def requires_grad(self) -> bool:
        return self._rg

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        value = bool(value)
        if self.grad_fn is not None:
            if not value:
                raise RuntimeError(
                    "you can only change requires_grad flags of leaf variables. If you want "
                    "to use a computed variable in a subgraph that doesn't require "
                    "differentiation use var_no_grad = var.detach().")
            return
        if value and self._data.dtype.kind != "f":
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        self._rg = value

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place and return self."""
        self.requires_grad = requires_grad
        return self

    @property
    def _version(self) -> int:
        """The version counter (as torch's ``t._version``): how many in-place writes this
        tensor's memory has seen (shared by the views of one base)."""
        return self._vc.v

    @property
    def is_leaf(self) -> bool:
        """True for tensors made by the user (not by an op that records grad)."""
        return self.grad_fn is None

    @property
    def grad(self) -> Tensor | None:
        """The accumulated gradient (leaves, and non-leaves after ``retain_grad()``)."""
        if self.grad_fn is not None and not self.retains_grad and self._grad is None:
            warnings.warn(NONLEAF_GRAD_WARNING, UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad "
                                f"of type {type(value).__name__}")
            if value.dtype is not self.dtype:
                raise RuntimeError("assigned grad has data of a different type")
            if tuple(value.shape) != tuple(self.shape):
                raise RuntimeError("assigned grad has data of a different size")
            if value.device != self.device:
                raise RuntimeError("assigned grad has data located on a different device")
        self._grad = value
        if events.enabled:
            events.emit("grad_reset", tensor=self, how="none" if value is None else "assign")

    @grad.deleter
    def grad(self) -> None:
        self.grad = None

    @property
    def retains_grad(self) -> bool:
        """True after ``retain_grad()`` on a non-leaf."""
        fn = self.grad_fn
        if fn is None or fn._retains is None:
            return False
        ref = fn._retains.get(self._output_nr)
        return ref is not None and ref() is self

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor during backward (a no-op on leaves)."""
        if not self._rg:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        fn = self.grad_fn
        if fn is None:
            return
        if fn._retains is None:
            fn._retains = {}
            fn._hooked = True
        fn._retains[self._output_nr] = weakref.ref(self)

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> RemovableHandle:
        """Call ``hook(grad)`` when the gradient for this tensor is computed.

        The hook may return a Tensor that replaces the gradient. Returns a handle whose
        ``remove()`` takes the hook away (also usable as a context manager).
        """
        if not self._rg:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require "
                               "gradient")
        if self._backward_hooks is None:
            self._backward_hooks = {}
        if self.grad_fn is not None:
            self.grad_fn._add_tensor_hook_dict(self._output_nr, self._backward_hooks)
        elif self._acc is not None:
            self._acc._add_tensor_hook_dict(0, self._backward_hooks)
        return add_hook(self._backward_hooks, hook)

    def register_post_accumulate_grad_hook(self, hook: Callable) -> RemovableHandle:
        """Call ``hook(tensor)`` after ``.grad`` of this leaf was accumulated."""
        if self.grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf "
                               "tensors")
        if not self._rg:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require "
                               "gradient")
        acc = self._accumulator()
        if acc is None:  # a view taken under no_grad: no .grad is ever accumulated
            raise RuntimeError("post accumulate grad hooks cannot be registered on a view "
                               "made in no_grad mode; register it on its base")
        if acc._post_acc is None:
            acc._post_acc = {}
        return add_hook(acc._post_acc, hook)

    def backward(self, gradient: Tensor | None = None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs: Any = None) -> None:
        """Compute the gradient of this tensor w.r.t. graph leaves (see autograd.backward)."""
        from .autograd.functional import backward
        backward((self,), None if gradient is None else (gradient,), retain_graph,
                 create_graph, inputs=inputs)

    def detach(self) -> Tensor:
        """A tensor sharing this one's data (and version counter) cut from the graph."""
        t = Tensor._wrap(self._data)
        t._vc = self._vc
        t._base = self._base if self._base is not None else self
        return t

    def detach_(self) -> Tensor:
        """Cut this tensor from the graph in place."""
        if self._base is not None and self._base._rg:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self.grad_fn = None
        self._rg = False
        self._output_nr = 0
        return self

    @property
    def data(self) -> Tensor:
        """The same data, outside autograd (changes to it are not tracked)."""
        t = Tensor._wrap(self._data)
        return t

    @data.setter
    def data(self, value: Tensor) -> None:
        if not isinstance(value, Tensor):
            raise TypeError("data must be a Tensor")
        self._data = value._data

    # ------------------------------------------------------------------ conversions
    def numpy(self, *, force: bool = False) -> np.ndarray:
        """A NumPy array sharing memory with this (CPU) tensor."""
        if not force:
            if self._rg:
                raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                                   "tensor.detach().numpy() instead.")
            if self.is_cuda:
                raise TypeError(f"can't convert {self.device} device type tensor to numpy. "
                                "Use Tensor.cpu() to copy the tensor to host memory first.")
        return B.to_numpy(self._data)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        a = self.numpy()
        return a if dtype is None else a.astype(dtype, copy=False)

    def item(self) -> Any:
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted "
                               "to Scalar")
        return self._data.reshape(()).item()

    def tolist(self) -> Any:
        return B.to_numpy(self._data).tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an "
                            "index")
        return int(self.item())

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is "
                               "ambiguous")
        return bool(self.item())

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    #: Hashed by identity, as ``object`` (``__eq__`` is elementwise): the C function itself,
    #: not a Python method calling it (5x faster for sets and dicts of tensors).
    __hash__ = object.__hash__

    def __repr__(self) -> str:
        from ._tensor_str import tensor_repr
        return tensor_repr(self)

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0:
            return self.item().__format__(spec)
        return repr(self)

    def __reduce_ex__(self, proto: int) -> Any:
        return (_rebuild, (B.to_numpy(self._data), self._rg))

    def __deepcopy__(self, memo: dict) -> Tensor:
        if self.grad_fn is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) "
                               "support the deepcopy protocol at the moment.")
        t = type(self).__new__(type(self)) if type(self) is not Tensor else None
        new = Tensor._wrap(self._data.copy(), self._rg)
        if t is not None and hasattr(type(self), "_from_tensor"):
            new = type(self)._from_tensor(new, self._rg)
        if self._grad is not None:
            new._grad = Tensor._wrap(self._grad._data.copy())
        memo[id(self)] = new
        return new


def _rebuild(arr: np.ndarray, requires_grad: bool) -> Tensor:
    return Tensor._wrap(arr.copy(), requires_grad)
