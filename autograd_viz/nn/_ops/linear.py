"""``addmm`` (AddmmBackward0) and ``linear`` composed as PyTorch composes it.

``AddmmBackward0`` has an array-level backward (``_fast_arrays``, see ``ops/_fastgrad.py``)
for a backward without graph: the same NumPy calls as its ``backward`` in the same order."""
from __future__ import annotations

from typing import Any

from ...autograd.function import Op
from ...ops import _fastgrad
from ...ops._core import apply, sum_to
from ...tensor import Tensor
from ._util import cap_name


class AddmmBackward0(Op):
    """``bias + mat1 @ mat2`` (bias broadcast)."""

    def forward(self, bias, m1, m2):
        n = self.needs
        self.bias_meta = (bias.shape, bias.dtype)
        if n:
            self.save(mat1=self.inputs[1] if n[2] else None,
                      mat2=self.inputs[2] if n[1] else None)
        out = m1 @ m2
        out += bias
        return out

    def backward(self, g):
        m1, m2 = self.saved()
        n = self.needs
        return (sum_to(g, *self.bias_meta) if n[0] else None,
                g.mm(m2.t()) if n[1] else None,
                m1.t().mm(g) if n[2] else None)


def _addmm_fast(self: Any, gd: Any) -> tuple | None:
    """``backward`` on arrays: the bias grad summed to its shape, then ``_fastgrad._mm``'s
    two products (the same saved pair: ``mat1``, ``mat2``; None, back to ``backward``,
    where the dtypes differ)."""
    mm = _fastgrad._mm(self, gd)
    if mm is None:
        return None
    return (_fastgrad.sum_to(gd, *self.bias_meta) if self.needs[0] else None, *mm)


AddmmBackward0._fast_arrays = _addmm_fast
AddmmBackward0._fast_backward = _fastgrad.tensor_level(_addmm_fast)


def addmm(bias: Tensor, mat1: Tensor, mat2: Tensor) -> Tensor:
    """``bias + mat1 @ mat2`` with PyTorch's shape and dtype errors."""
    if mat1.ndim != 2:
        raise RuntimeError("mat1 must be a matrix, got " + f"{mat1.ndim}-D tensor")
    if mat2.ndim != 2:
        raise RuntimeError("mat2 must be a matrix, got " + f"{mat2.ndim}-D tensor")
    if mat1.shape[1] != mat2.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({mat1.shape[0]}x"
                           f"{mat1.shape[1]} and {mat2.shape[0]}x{mat2.shape[1]})")
    if mat1.dtype is not mat2.dtype:
        raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got {cap_name(mat1)} "
                           f"and {cap_name(mat2)}")
    if bias.dtype is not mat1.dtype:
        raise RuntimeError(f"self and mat2 must have the same dtype, but got {cap_name(bias)} "
                           f"and {cap_name(mat2)}")
    return apply(AddmmBackward0, (bias, mat1, mat2))


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias``: ``AddmmBackward0`` for 2-D input with a bias (a view of
    it for other ranks), ``MmBackward0`` & co. (via matmul) without one, as in PyTorch."""
    if bias is None:
        if input.ndim >= 2 and input.shape[-1] != weight.shape[-1]:
            m = input.numel() // input.shape[-1] if input.shape[-1] else 0
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({m}x"
                               f"{input.shape[-1]} and {weight.shape[-1]}x{weight.shape[0]})")
        if input.ndim == 2 and input.dtype is not weight.dtype:
            raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got "
                               f"{cap_name(input)} and {cap_name(weight)}")
        return input.matmul(weight.t())
    if input.ndim == 2:
        return addmm(bias, input, weight.t())
    if input.ndim == 0:
        raise RuntimeError("both arguments to linear need to be at least 1D, but they are 0D "
                           "and 2D")
    lead = tuple(input.shape[:-1])
    out = addmm(bias, input.reshape(-1, input.shape[-1]), weight.t())
    return out.view(lead + (out.shape[1],))


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor,
             bias: Tensor | None = None) -> Tensor:
    """``y_k = x1^T W_k x2 + b_k`` (composed of core ops)."""
    y = ((input1.unsqueeze(-2).unsqueeze(-2) @ weight).squeeze(-2)
         * input2.unsqueeze(-2)).sum(-1)
    return y + bias if bias is not None else y
