"""Matrix products: ``mm``, ``bmm``, ``dot``, ``mv`` and ``matmul`` (which composes them the
way PyTorch does, so ``grad_fn`` names match), each one BLAS call forward."""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import _backend as B
from ..autograd.function import Op
from ..tensor import Tensor
from ._core import _pretty, apply, check_out, not_implemented, register, require_tensor


def _dtname(t: Tensor) -> str:
    from ._core import _pretty
    return _pretty(t.dtype)


def _check_same_dtype(a: Tensor, b: Tensor, what: str) -> None:
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {_long(a)} != "
                           f"{_long(b)}")


def _long(t: Tensor) -> str:
    return {"float32": "float", "float64": "double", "float16": "c10::Half",
            "int64": "long int", "int32": "int"}.get(t.dtype.name, t.dtype.name)


class _Product(Op):
    """A matrix/vector product ``a @ b``: saves each input only when the other needs grad
    (torch's names: ``self`` and ``_other``)."""

    _other = "other"

    def forward(self, a, b):
        n = self.needs
        if n:
            self.save_pair("self", self.inputs[0] if n[1] else None,
                           self._other, self.inputs[1] if n[0] else None)
        return a @ b


class MmBackward0(_Product):
    _out_rule = "mm"
    _other = "mat2"

    def backward(self, g):
        a, b = self.saved()
        return (g.mm(b.t()) if b is not None else None,
                a.t().mm(g) if a is not None else None)


class BmmBackward0(_Product):
    _other = "mat2"

    def backward(self, g):
        a, b = self.saved()
        return (g.bmm(b.transpose(1, 2)) if b is not None else None,
                a.transpose(1, 2).bmm(g) if a is not None else None)


class DotBackward0(_Product):
    _other = "tensor"

    def backward(self, g):
        a, b = self.saved()
        return (g * b if b is not None else None, g * a if a is not None else None)


class MvBackward0(_Product):
    _other = "vec"

    def backward(self, g):
        a, v = self.saved()
        return (g.unsqueeze(1) * v.unsqueeze(0) if v is not None else None,
                a.t().mv(g) if a is not None else None)


def _check_args(fn: str, names: tuple, a: Any, b: Any, kernel: str) -> None:
    require_tensor(fn, names[0], 1, a)
    require_tensor(fn, names[1], 2, b)
    if a.dtype is B.bool_ and b.dtype is B.bool_:
        raise not_implemented(kernel, B.bool_)


@register("mm")
def mm(input: Tensor, mat2: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Matrix product of two 2-D tensors."""
    _check_args("mm", ("input", "mat2"), input, mat2, "addmm_impl_cpu_")
    if input.ndim != 2:
        raise RuntimeError("self must be a matrix")
    if mat2.ndim != 2:
        raise RuntimeError("mat2 must be a matrix")
    if input.shape[1] != mat2.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({input.shape[0]}x"
                           f"{input.shape[1]} and {mat2.shape[0]}x{mat2.shape[1]})")
    _check_same_dtype(input, mat2, "mm")
    if out is not None:
        check_out(out, (input, mat2), "mm")
    return apply(MmBackward0, (input, mat2), out=out)


@register("bmm")
def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched matrix product of two 3-D tensors."""
    _check_args("bmm", ("input", "mat2"), input, mat2, "bmm")
    if input.ndim != 3 or mat2.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor" if input.ndim != 3
                           else "batch2 must be a 3D tensor")
    if input.shape[0] != mat2.shape[0] or input.shape[2] != mat2.shape[1]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{input.shape[0]}, {input.shape[2]}] but got: [{mat2.shape[0]}, "
                           f"{mat2.shape[1]}].")
    _check_same_dtype(input, mat2, "bmm")
    return apply(BmmBackward0, (input, mat2))


@register("dot")
def dot(input: Tensor, tensor: Tensor) -> Tensor:
    """Inner product of two 1-D tensors."""
    require_tensor("dot", "input", 1, input)
    require_tensor("dot", "tensor", 2, tensor)
    if input.ndim != 1 or tensor.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {tensor.ndim}D "
                           "tensors")
    if input.shape[0] != tensor.shape[0]:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{input.shape[0]}] and "
                           f"src [{tensor.shape[0]}] to have the same number of elements, but "
                           "got {} and {} elements respectively".format(input.shape[0],
                                                                        tensor.shape[0]))
    if input.dtype is B.bool_ and tensor.dtype is B.bool_:
        raise not_implemented("dot", B.bool_)
    if input._data.dtype != tensor._data.dtype:
        raise RuntimeError(f"dot : expected both vectors to have same dtype, but found "
                           f"{_pretty(input.dtype)} and {_pretty(tensor.dtype)}")
    return apply(DotBackward0, (input, tensor))


@register("mv")
def mv(input: Tensor, vec: Tensor) -> Tensor:
    """Matrix-vector product."""
    _check_args("mv", ("input", "vec"), input, vec, "addmv_impl_cpu")
    if input.ndim != 2 or vec.ndim != 1 or input.shape[1] != vec.shape[0]:
        mat = "x".join(map(str, input.shape))
        raise RuntimeError(f"size mismatch, got input ({input.shape[0] if input.ndim else 0}), "
                           f"mat ({mat}), vec ({vec.shape[0] if vec.ndim else 0})")
    return apply(MvBackward0, (input, vec))


@register("matmul")
def matmul(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:
    """Matrix product with PyTorch's rules for 1-D, 2-D and batched (broadcast) inputs,
    composed from dot/mv/mm/bmm exactly as ``at::native::_matmul_impl`` does (so the
    ``grad_fn`` graph matches PyTorch's)."""
    a, b = input, other
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError(f"matmul(): argument 'other' (position 2) must be Tensor, not "
                        f"{type(b if isinstance(a, Tensor) else a).__name__}")
    da, db = a.ndim, b.ndim
    if da == 0 or db == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are "
                           f"{da}D and {db}D")
    if out is not None:
        check_out(out, (a, b), "matmul")
        r = matmul(a, b)
        from ._core import _write_out, check_out_dtype
        check_out_dtype(out, r._data.dtype, "mm")
        return _write_out(out, r._data, False, None)
    if da == 1 and db == 1:
        return dot(a, b)
    if da == 2 and db == 1:
        return mv(a, b)
    if da == 1 and db == 2:
        return _squeeze_(mm(a.unsqueeze(0), b), 0)
    if da == 2 and db == 2:
        return mm(a, b)
    if _should_fold(a, b):
        transpose = db > da
        t1 = b.mT if transpose else a
        t2 = (a.t() if da == 2 else a) if transpose else b
        shape = tuple(t1.shape[:-1])
        folded = t1.reshape(int(np.prod(shape)), t1.shape[-1])
        if t2.ndim == 2:
            r = _unsafe_view(mm(folded, t2), shape + (t2.shape[1],))
            return r.mT.contiguous() if transpose else r
        return _unsafe_view(mv(folded, t2), shape)
    n = a.shape[-2] if da > 1 else 1
    m1 = a.shape[-1]
    m2 = b.shape[-2] if db > 1 else b.shape[0]
    p = b.shape[-1] if db > 1 else 1
    ba, bb = tuple(a.shape[:max(da - 2, 0)]), tuple(b.shape[:max(db - 2, 0)])
    if da == 3 and db == 3 and ba[0] != bb[0]:
        if ba[0] == 1 and a.requires_grad:
            return matmul(a.squeeze(0), b)
        if bb[0] == 1 and b.requires_grad:
            return matmul(a, b.squeeze(0))
    from ._core import check_broadcast
    check_broadcast(Tensor._wrap(np.empty(ba, dtype=bool)), Tensor._wrap(np.empty(bb, dtype=bool)))
    batch = np.broadcast_shapes(ba, bb)
    if m1 != m2:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{int(np.prod(batch))}, {m1}] but got: [{int(np.prod(batch))}, "
                           f"{m2}].")
    nb = int(np.prod(batch))
    ae = a.expand(batch + (n, m1)).reshape(nb, n, m1)
    if db == 1:
        be = b.expand(batch + (m2,)).reshape(nb, m2).unsqueeze(2)
    else:
        be = b.expand(batch + (m2, p)).reshape(nb, m2, p)
    shape = batch + ((n,) if da > 1 else ()) + ((p,) if db > 1 else ())
    r = bmm(ae, be)
    return _unsafe_view(r.squeeze(-1) if db == 1 else r, shape)


def _should_fold(a: Tensor, b: Tensor) -> bool:
    """PyTorch's ``should_fold``: fold the batch of the larger operand into an mm/mv."""
    larger = a.ndim >= b.ndim
    t1 = a if larger else b.mT
    dim_t2 = b.ndim if larger else a.ndim
    if not (t1.ndim >= 3 and dim_t2 <= 2):
        return False
    if (b if larger else a).requires_grad:
        return True
    if a.ndim == 2:
        return False
    if t1.numel() == 0:
        return True
    shp, st = tuple(t1.shape), t1.stride()
    return all(st[i] == st[i + 1] * shp[i + 1] for i in range(t1.ndim - 2))


def _squeeze_(t: Tensor, dim: int) -> Tensor:
    """``t.squeeze_(dim)`` on a fresh result (PyTorch's node is ``SqueezeBackward4``)."""
    from .shape import SqueezeBackward4  # (not a view: squeeze_ keeps the same tensor)
    return apply(SqueezeBackward4, (t,), axes=(dim,) if t.shape[dim] == 1 else ())


def _unsafe_view(t: Tensor, shape: tuple) -> Tensor:
    from .shape import UnsafeViewBackward0
    return apply(UnsafeViewBackward0, (t,), shape=shape)


@register("outer")
def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """Outer product of two vectors."""
    return input.unsqueeze(1) * vec2.unsqueeze(0)


Tensor.__matmul__ = lambda self, other: matmul(self, other)
Tensor.__rmatmul__ = lambda self, other: matmul(other, self)
