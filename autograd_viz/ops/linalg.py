"""Matrix products: ``mm``, ``bmm``, ``dot``, ``mv`` and ``matmul`` (which composes them the
way PyTorch does, so ``grad_fn`` names match), each one BLAS call forward."""
from __future__ import annotations

from typing import Any

from ..autograd.function import Op
from ..tensor import Tensor
from ._core import apply, check_out, promote, register


def _dtname(t: Tensor) -> str:
    from ._core import _pretty
    return _pretty(t.dtype)


def _check_same_dtype(a: Tensor, b: Tensor, what: str) -> None:
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"{what}: expected m1 and m2 to have the same dtype, but got: "
                           f"{a.dtype.name} != {b.dtype.name}".replace(
                               a.dtype.name, _long(a)).replace(b.dtype.name, _long(b)))


def _long(t: Tensor) -> str:
    return {"float32": "float", "float64": "double", "float16": "c10::Half",
            "int64": "long int", "int32": "int"}.get(t.dtype.name, t.dtype.name)


class MmBackward0(Op):
    def forward(self, a, b):
        n = self.needs
        if n:
            self.save(self=self.inputs[0] if n[1] else None,
                      mat2=self.inputs[1] if n[0] else None)
        return a @ b

    def backward(self, g):
        a, b = self.saved()
        return (g.mm(b.t()) if b is not None else None,
                a.t().mm(g) if a is not None else None)


class BmmBackward0(Op):
    def forward(self, a, b):
        n = self.needs
        if n:
            self.save(self=self.inputs[0] if n[1] else None,
                      mat2=self.inputs[1] if n[0] else None)
        return a @ b

    def backward(self, g):
        a, b = self.saved()
        return (g.bmm(b.transpose(1, 2)) if b is not None else None,
                a.transpose(1, 2).bmm(g) if a is not None else None)


class DotBackward0(Op):
    def forward(self, a, b):
        n = self.needs
        if n:
            self.save(self=self.inputs[0] if n[1] else None,
                      tensor=self.inputs[1] if n[0] else None)
        return a @ b

    def backward(self, g):
        a, b = self.saved()
        return (g * b if b is not None else None, g * a if a is not None else None)


class MvBackward0(Op):
    def forward(self, a, v):
        n = self.needs
        if n:
            self.save(self=self.inputs[0] if n[1] else None,
                      vec=self.inputs[1] if n[0] else None)
        return a @ v

    def backward(self, g):
        a, v = self.saved()
        return (g.unsqueeze(1) * v.unsqueeze(0) if v is not None else None,
                a.t().mv(g) if a is not None else None)


@register("mm")
def mm(input: Tensor, mat2: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Matrix product of two 2-D tensors."""
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
    if input.ndim != 1 or tensor.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {tensor.ndim}D "
                           "tensors")
    if input.shape[0] != tensor.shape[0]:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{input.shape[0]}] and "
                           f"src [{tensor.shape[0]}] to have the same number of elements, but "
                           "got {} and {} elements respectively".format(input.shape[0],
                                                                        tensor.shape[0]))
    if input._data.dtype != tensor._data.dtype:
        raise RuntimeError(f"dot : expected both vectors to have same dtype, but found "
                           f"{input.dtype.name.capitalize()} and "
                           f"{tensor.dtype.name.capitalize()}")
    return apply(DotBackward0, (input, tensor))


@register("mv")
def mv(input: Tensor, vec: Tensor) -> Tensor:
    """Matrix-vector product."""
    if input.ndim != 2 or vec.ndim != 1 or input.shape[1] != vec.shape[0]:
        mat = "x".join(map(str, input.shape))
        raise RuntimeError(f"size mismatch, got input ({input.shape[0] if input.ndim else 0}), "
                           f"mat ({mat}), vec ({vec.shape[0] if vec.ndim else 0})")
    return apply(MvBackward0, (input, vec))


@register("matmul")
def matmul(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:
    """Matrix product with PyTorch's rules for 1-D, 2-D and batched (broadcast) inputs."""
    a, b = input, other
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        a, b = promote(a, b)
    da, db = a.ndim, b.ndim
    if da == 0 or db == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are "
                           f"{da}D and {db}D")
    if da == 1 and db == 1:
        return dot(a, b)
    if da == 2 and db == 1:
        return mv(a, b)
    if da == 1 and db == 2:
        return mm(a.unsqueeze(0), b).squeeze(0)
    if da == 2 and db == 2:
        return mm(a, b, out=out)
    if da >= 3 and db in (1, 2):
        lead = tuple(a.shape[:-1])
        folded = a.reshape(-1, a.shape[-1])
        if db == 1:
            r = folded.mv(b)
            return r.view(lead) if r.ndim else r
        r = mm(folded, b)
        return _unsafe_view(r, lead + (b.shape[-1],))
    if da in (1, 2) and db >= 3:
        at = a.unsqueeze(0) if da == 1 else a
        r = matmul(b.transpose(-1, -2), at.t()).transpose(-1, -2)
        return r.squeeze(-2) if da == 1 else r
    # batched with broadcasting
    a2 = a.unsqueeze(0) if da == 1 else a
    b2 = b.unsqueeze(-1) if db == 1 else b
    import numpy as np
    batch = np.broadcast_shapes(tuple(a2.shape[:-2]), tuple(b2.shape[:-2]))
    if a2.shape[-1] != b2.shape[-2]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{int(np.prod(batch))}, {a2.shape[-1]}] but got: "
                           f"[{int(np.prod(batch))}, {b2.shape[-2]}].")
    ae = a2.expand(batch + tuple(a2.shape[-2:])).reshape(-1, *a2.shape[-2:])
    be = b2.expand(batch + tuple(b2.shape[-2:])).reshape(-1, *b2.shape[-2:])
    r = bmm(ae, be)
    shape = batch + (a2.shape[-2], b2.shape[-1])
    r = r.view(shape) if da >= 3 and db >= 3 else _unsafe_view(r, shape)
    if da == 1:
        r = r.squeeze(-2)
    if db == 1:
        r = r.squeeze(-1)
    return r


def _unsafe_view(t: Tensor, shape: tuple) -> Tensor:
    from .shape import UnsafeViewBackward0
    return apply(UnsafeViewBackward0, (t,), shape=shape)


@register("outer")
def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """Outer product of two vectors."""
    return input.unsqueeze(1) * vec2.unsqueeze(0)


Tensor.__matmul__ = lambda self, other: matmul(self, other)
Tensor.__rmatmul__ = lambda self, other: matmul(other, self)
