"""Reductions (sum, mean, prod, var, std, max, min, ...) and softmax / log_softmax."""
from __future__ import annotations

import builtins
from collections import namedtuple
from typing import Any

import numpy as np

from .. import _backend as B
from ..autograd.function import RESULT, Op
from ..tensor import Tensor
from . import _cupy_fused
from ._core import _pretty, apply, apply_multi, check_out, register

ReturnTypes = namedtuple("ReturnTypes", ["values", "indices"])


def _dims(t: Tensor, dim: Any) -> tuple | None:
    if dim is None:
        return None
    if isinstance(dim, (list, tuple)):
        out = tuple(t._wrap_dim(d) for d in dim)
        return (() if t.ndim == 0 else out) if out else None
    d = t._wrap_dim(dim)
    return () if t.ndim == 0 else (d,)  # dim 0 / -1 of a 0-d tensor: nothing to reduce


def _expand_back(g: Tensor, in_shape: tuple, axes: tuple | None, keepdim: bool) -> Tensor:
    """Unsqueeze reduced dims (when not kept) and expand ``g`` to the input shape."""
    if axes is not None and not keepdim:
        for ax in sorted(axes):
            g = g.unsqueeze(ax)
    elif axes is None and g.ndim != len(in_shape):
        g = g.reshape((1,) * len(in_shape))
    return g.expand(in_shape)


def _c(a):
    """A C-contiguous result (NumPy keeps the input's layout; torch's reductions don't)."""
    return a if a.flags.c_contiguous else B.get_array_module(a).ascontiguousarray(a)


def _acc_dtype(a, dtype):
    if dtype is not None:
        return B.as_dtype(dtype).np
    if a.dtype.kind in "biu":
        return np.int64
    return a.dtype


class SumBackward0(Op):
    _out_rule = "any"  # the out's dtype is the accumulation dtype
    def forward(self, a, axes, keepdim, dtype):
        self.in_shape, self.axes, self.keepdim = a.shape, axes, keepdim
        self.in_dt = a.dtype
        dt = _acc_dtype(a, dtype)
        if type(a) is not np.ndarray and axes is not None and dt == a.dtype:
            s = _cupy_fused.sum_except(a, axes)  # (all axes but one: one kernel)
            if s is not None and keepdim:
                summed = {ax % a.ndim for ax in axes}
                s = s.reshape(tuple(1 if i in summed else d for i, d in enumerate(a.shape)))
            if s is not None:
                return s
        return _c(a.sum(axis=axes, keepdims=keepdim, dtype=dt))

    def backward(self, g):
        r = _expand_back(g, self.in_shape, self.axes, self.keepdim)
        return r if r._data.dtype == self.in_dt else r.to(B.from_np(self.in_dt))


class SumBackward1(SumBackward0):
    pass


class MeanBackward0(Op):
    def forward(self, a, axes, keepdim, dtype):
        if a.dtype.kind in "biu" and dtype is None:
            raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be "
                               f"either a floating point or complex dtype. Got: "
                               f"{_pretty(B.from_np(a.dtype))}")
        self.in_shape, self.axes, self.keepdim = a.shape, axes, keepdim
        n = a.size if axes is None else int(np.prod([a.shape[i] for i in axes]))
        self.n = n
        return _c(a.mean(axis=axes, keepdims=keepdim, dtype=_acc_dtype(a, dtype)))

    def backward(self, g):
        return _expand_back(g, self.in_shape, self.axes, self.keepdim) / self.n


class MeanBackward1(MeanBackward0):
    pass


class ProdBackward0(Op):
    """prod() over all elements (``ProdBackward1``: over one dim), PyTorch's prod_backward:
    ``grad * result / input`` without zeros, else the product of the other elements."""

    def forward(self, a, axes, keepdim):
        self.save(self=self.inputs[0], result=RESULT)
        self.axes, self.keepdim = axes, keepdim
        return _c(a.prod(axis=axes, keepdims=keepdim, dtype=_acc_dtype(a, None)))

    def backward(self, g):
        a, r = self.saved()
        if a.ndim == 0:
            return g
        if self.axes is not None and not self.keepdim:
            g, r = g.unsqueeze(self.axes[0]), r.unsqueeze(self.axes[0])
        if not bool((a._data == 0).any()):
            return g * (r / a)
        if self.axes is None:
            return (g * _prod_of_others(a.contiguous().view(-1), 0)).view_as(a)
        return g * _prod_of_others(a, self.axes[0])


def _prod_of_others(x: Tensor, dim: int) -> Tensor:
    """For each element along ``dim``, the product of the other elements: safe with zeros
    and written in Tensor ops (row k of an n x n stack is ``x`` with element k set to 1)."""
    n = x.shape[dim]
    if n == 1:
        return x.new_ones(tuple(x.shape))
    xt = x.transpose(dim, -1)
    stacked = xt.unsqueeze(-2).expand(*xt.shape[:-1], n, n)
    from .creation import eye
    from .unary import where
    eye_mask = eye(n, dtype=B.bool_, device=x.device)
    return where(eye_mask, x.new_ones(()), stacked).prod(-1).transpose(dim, -1)


class ProdBackward1(ProdBackward0):
    pass


class VarBackward0(Op):
    def forward(self, a, axes, correction, keepdim):
        self.save(self=self.inputs[0])
        self.axes, self.keepdim, self.corr = axes, keepdim, correction
        return _c(_var(a, axes, correction, keepdim))

    def backward(self, g):
        (a,) = self.saved()
        return _var_backward(g, a, self.axes, self.corr, self.keepdim)


def _var(a: Any, axes: tuple | None, correction: float, keepdim: bool) -> Any:
    """The variance with a corrected mean (two passes): equal values give exactly 0, as
    torch's Welford reduction does (NumPy's var leaves rounding noise there, which std's
    backward would turn into a finite gradient instead of torch's masked zero)."""
    xp = B.get_array_module(a)
    m = a.mean(axis=axes, keepdims=True)
    m = m + (a - m).mean(axis=axes, keepdims=True)
    d = a - m
    n = a.size if axes is None else int(np.prod([a.shape[i] for i in axes]))
    with np.errstate(divide="ignore", invalid="ignore"):
        return xp.true_divide((d * d).sum(axis=axes, keepdims=keepdim),
                              builtins.max(n - correction, 0))


def _var_backward(g: Tensor, a: Tensor, axes: tuple | None, corr: float,
                  keepdim: bool) -> Tensor:
    """PyTorch's ``var_backward`` (in Tensor ops, so it differentiates again)."""
    if axes is None or a.ndim == 0:
        dof = a.numel() - corr
        if dof <= 0:  # 2 / dof is infinite: nan where a equals its mean, else inf
            from .unary import where
            return g * where(a == a.mean(), float("nan"), float("inf")).to(a.dtype)
        return (2.0 / dof) * g * (a - a.mean())
    if not keepdim and a.ndim > 1:
        for ax in sorted(axes):
            g = g.unsqueeze(ax)
    n = int(np.prod([a.shape[i] for i in axes]))
    dof = n - corr
    return (2.0 / dof if dof else float("inf")) * g * (a - a.mean(dim=axes, keepdim=True))


class StdBackward0(Op):
    def forward(self, a, axes, correction, keepdim):
        self.save(self=self.inputs[0], result=RESULT)
        self.axes, self.keepdim, self.corr = axes, keepdim, correction
        return _c(B.get_array_module(a).sqrt(_var(a, axes, correction, keepdim)))

    def backward(self, g):
        a, r = self.saved()
        from .index import masked_fill
        gs = masked_fill(g / (r * 2), r == 0, 0)
        return _var_backward(gs, a, self.axes, self.corr, self.keepdim)


class MaxBackward1(Op):
    """max()/min() over all elements: ties share the gradient evenly."""

    def forward(self, a, is_max):
        if a.size == 0:
            raise RuntimeError("max(): Expected reduction dim to be specified for input.numel() "
                               "== 0. Specify the reduction dim with the 'dim' argument.")
        self.save(self=self.inputs[0], result=RESULT)
        return a.max() if is_max else a.min()

    def backward(self, g):
        a, r = self.saved()
        mask = a == r
        return mask * (g / mask.sum())


class MinBackward1(MaxBackward1):
    pass


class AmaxBackward0(Op):
    def forward(self, a, axes, keepdim, is_max):
        self.save(self=self.inputs[0], result=RESULT)
        self.in_shape, self.axes, self.keepdim = a.shape, axes, keepdim
        return _c(a.max(axis=axes, keepdims=keepdim) if is_max else
                  a.min(axis=axes, keepdims=keepdim))

    def backward(self, g):
        a, r = self.saved()
        re = _expand_back(r, self.in_shape, self.axes, self.keepdim)
        mask = a == re
        count = mask.sum(dim=self.axes, keepdim=True) if self.axes else mask.sum()
        return mask * _expand_back(g, self.in_shape, self.axes, self.keepdim) / count


class AminBackward0(AmaxBackward0):
    pass


class SelectAlongDim(Op):
    """Base of the nodes of (values, indices) picked along ``dim`` (max/min(dim), kthvalue,
    median(dim), mode): the gradient of ``values`` goes to the positions ``indices`` name,
    zeros elsewhere. Forward sets ``in_shape``, ``dim``, ``keepdim`` and ``idx`` (keepdim
    form)."""

    def num_outputs(self) -> int:
        return 2

    def apply(self, grads):
        g = grads[0]
        if g is None:
            return (None,)
        if not self.in_shape:
            return (g,)
        if not self.keepdim:
            g = g.unsqueeze(self.dim)
        from .index import scatter_into_zeros
        return (scatter_into_zeros(g, Tensor._wrap(self.idx), self.dim, self.in_shape),)


class MaxBackward0(SelectAlongDim):
    """max(dim)/min(dim): values and indices; the gradient goes to the chosen index."""

    def forward(self, a, dim, keepdim, is_max):
        xp = B.get_array_module(a)
        self.in_shape, self.dim, self.keepdim = a.shape, dim, keepdim
        self.diff_outputs = (True, False)
        if a.ndim == 0:
            self.keepdim, self.idx = True, xp.zeros((), dtype=np.int64)
            return a.copy(), xp.zeros((), dtype=np.int64)
        idx = xp.argmax(a, axis=dim) if is_max else xp.argmin(a, axis=dim)
        idx_k = xp.expand_dims(idx, dim)
        vals = xp.take_along_axis(a, idx_k, axis=dim)
        self.in_shape, self.dim, self.keepdim = a.shape, dim, keepdim
        self.diff_outputs = (True, False)
        self.idx = idx_k
        if not keepdim:
            vals = vals.squeeze(dim)
            return _c(vals), _c(idx)
        return _c(vals), _c(idx_k)


class MinBackward0(MaxBackward0):
    pass


class SoftmaxBackward0(Op):
    def forward(self, a, dim):
        self.dim = dim
        self.save_result()
        xp = B.get_array_module(a)
        if a.size == 0:
            return a.copy()
        e = xp.exp(a - a.max(axis=dim, keepdims=True))
        return _c(e / e.sum(axis=dim, keepdims=True))

    def backward(self, g):
        (r,) = self.saved()
        return r * (g - (g * r).sum(dim=self.dim, keepdim=True))


class LogSoftmaxBackward0(Op):
    def forward(self, a, dim):
        self.dim = dim
        self.save_result()
        xp = B.get_array_module(a)
        if a.size == 0:
            return a.copy()
        if xp is not np and a.dtype.kind == "f":
            return _c(_cupy_fused.log_softmax(a, dim))
        s = a - a.max(axis=dim, keepdims=True)
        return _c(s - xp.log(xp.exp(s).sum(axis=dim, keepdims=True)))

    def backward(self, g):
        (r,) = self.saved()
        return g - r.exp() * g.sum(dim=self.dim, keepdim=True)


class LogsumexpBackward0(Op):
    def forward(self, a, axes, keepdim):
        self.save(self=self.inputs[0], result=RESULT)
        self.in_shape, self.axes, self.keepdim = a.shape, axes, keepdim
        xp = B.get_array_module(a)
        if a.size == 0:  # log(sum of nothing) = -inf
            return xp.log(a.sum(axis=axes, keepdims=keepdim))
        m = a.max(axis=axes, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)
        r = xp.log(xp.exp(a - m).sum(axis=axes, keepdims=True)) + m
        return _c(r if keepdim else r.squeeze(axis=axes))

    def backward(self, g):
        a, r = self.saved()
        return _expand_back(g, self.in_shape, self.axes, self.keepdim) * (
            a - _expand_back(r, self.in_shape, self.axes, self.keepdim)).exp()


class _NoGrad(Op):
    _differentiable = False

    def forward(self, a, fn):
        return fn(a)


# ------------------------------------------------------------------------- functional API
@register("sum")
def sum(input: Tensor, dim: Any = None, keepdim: bool = False, *,  # noqa: A001
        dtype: Any = None, out: Tensor | None = None) -> Tensor:
    """Sum of all elements, or over ``dim`` (an int or a tuple)."""
    axes = _dims(input, dim)
    if out is not None:
        check_out(out, (input,), "sum")
    cls = SumBackward0 if axes is None else SumBackward1
    return apply(cls, (input,), out=out, axes=axes, keepdim=keepdim, dtype=dtype)


@register("mean")
def mean(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None,
         out: Tensor | None = None) -> Tensor:
    """Mean of all elements, or over ``dim`` (floating tensors only)."""
    axes = _dims(input, dim)
    cls = MeanBackward0 if axes is None else MeanBackward1
    return apply(cls, (input,), out=out, axes=axes, keepdim=keepdim, dtype=dtype)


@register("prod")
def prod(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """Product of all elements, or over ``dim``."""
    x = input.to(dtype) if dtype is not None else input
    axes = _dims(x, dim)
    return apply(ProdBackward0 if axes is None else ProdBackward1, (x,), axes=axes,
                 keepdim=keepdim)


def _check_floating(input: Tensor) -> None:
    if not input.dtype.is_floating_point:
        raise RuntimeError("std and var only support floating point and complex dtypes")


def _correction(unbiased: Any, correction: Any) -> int:
    if correction is not None:
        return int(correction)
    if unbiased is None:
        return 1
    return 1 if unbiased else 0


@register("var")
def var(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
        correction: Any = None) -> Tensor:
    """Variance (Bessel-corrected by default, like PyTorch)."""
    if isinstance(dim, bool):
        unbiased, dim = dim, None
    _check_floating(input)
    return apply(VarBackward0, (input,), axes=_dims(input, dim),
                 correction=_correction(unbiased, correction), keepdim=keepdim)


@register("std")
def std(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
        correction: Any = None) -> Tensor:
    """Standard deviation (Bessel-corrected by default, like PyTorch)."""
    if isinstance(dim, bool):
        unbiased, dim = dim, None
    _check_floating(input)
    return apply(StdBackward0, (input,), axes=_dims(input, dim),
                 correction=_correction(unbiased, correction), keepdim=keepdim)


def _maxmin(input: Any, dim: Any, keepdim: bool, is_max: bool) -> Any:
    if isinstance(dim, Tensor):
        from .arith import maximum, minimum
        return maximum(input, dim) if is_max else minimum(input, dim)
    if dim is None:
        _check_nonempty(input, None, "max" if is_max else "min", RuntimeError)
        return apply(MaxBackward1 if is_max else MinBackward1, (input,), is_max=is_max)
    d = input._wrap_dim(dim)
    if input._data.shape and input._data.shape[d] == 0:
        raise IndexError(f"{'max' if is_max else 'min'}(): Expected reduction dim {d} to have "
                         "non-zero size.")
    vals, idx = apply_multi(MaxBackward0 if is_max else MinBackward0, (input,), dim=d,
                            keepdim=keepdim, is_max=is_max)
    return ReturnTypes(vals, idx)


@register("max")
def max(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:  # noqa: A001
    """Largest element; with ``dim``, ``(values, indices)``; with a tensor, elementwise."""
    return _maxmin(input, dim, keepdim, True)


@register("min")
def min(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:  # noqa: A001
    """Smallest element; with ``dim``, ``(values, indices)``; with a tensor, elementwise."""
    return _maxmin(input, dim, keepdim, False)


def _check_nonempty(input: Tensor, axes: tuple | None, name: str, exc: type) -> None:
    """PyTorch's errors for max-like reductions over nothing."""
    shape = input._data.shape
    if not axes:
        if input._data.size == 0:
            extra = "" if exc is IndexError else \
                " Specify the reduction dim with the 'dim' argument."
            raise exc(f"{name}(): Expected reduction dim to be specified for input.numel() == 0."
                      + extra)
        return
    for d in axes:
        if shape and shape[d] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")


@register("amax")
def amax(input: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
    axes = _dims(input, dim)
    _check_nonempty(input, axes, "amax", RuntimeError)
    return apply(AmaxBackward0, (input,), axes=axes, keepdim=keepdim, is_max=True)


@register("amin")
def amin(input: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
    _check_nonempty(input, _dims(input, dim), "amin", RuntimeError)
    return apply(AminBackward0, (input,), axes=_dims(input, dim), keepdim=keepdim,
                 is_max=False)


def _arg(input: Tensor, dim: Any, keepdim: bool, is_max: bool) -> Tensor:
    if input.dtype is B.bool_:
        raise RuntimeError(f"arg{'max' if is_max else 'min'}(): does not support bool input")
    if dim is not None:
        input._wrap_dim(dim)  # IndexError when out of range
    _check_nonempty(input, _dims(input, dim), f"arg{'max' if is_max else 'min'}", IndexError)

    def fn(a):
        xp = B.get_array_module(a)
        f = xp.argmax if is_max else xp.argmin
        if dim is None or a.ndim == 0:
            r = xp.asarray(f(a), dtype=np.int64)
            return r.reshape((1,) * a.ndim) if keepdim else r
        d = input._wrap_dim(dim)
        r = f(a, axis=d).astype(np.int64)
        return xp.expand_dims(r, d) if keepdim else r
    return apply(_NoGrad, (input,), fn=fn)


@register("argmax")
def argmax(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Index of the largest element (flattened without ``dim``)."""
    return _arg(input, dim, keepdim, True)


@register("argmin")
def argmin(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Index of the smallest element (flattened without ``dim``)."""
    return _arg(input, dim, keepdim, False)


@register("softmax")
def softmax(input: Tensor, dim: int, dtype: Any = None) -> Tensor:
    """``exp(x) / exp(x).sum(dim)``, computed stably."""
    return _softmax(SoftmaxBackward0, "softmax", input, dim, dtype)


@register("log_softmax")
def log_softmax(input: Tensor, dim: int, dtype: Any = None) -> Tensor:
    """``log(softmax(x))``, computed stably."""
    return _softmax(LogSoftmaxBackward0, "log_softmax", input, dim, dtype)


def _softmax(cls: type, name: str, input: Tensor, dim: int, dtype: Any) -> Tensor:
    x = input.to(dtype) if dtype is not None else input
    d = x._wrap_dim(dim)
    if x._data.dtype.kind != "f":
        from ._core import not_implemented
        last = "lastdim_" if d == x.ndim - 1 or x.ndim == 0 else ""
        raise not_implemented(f"{name}_{last}kernel_impl", x.dtype)
    return apply(cls, (x,), dim=d if x.ndim else None)


@register("logsumexp")
def logsumexp(input: Tensor, dim: Any, keepdim: bool = False) -> Tensor:
    return apply(LogsumexpBackward0, (input,), axes=_dims(input, dim), keepdim=keepdim)


@register("all")
def all(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A001
    axes = _dims(input, dim)
    return apply(_NoGrad, (input,), fn=lambda a: a.all(axis=axes, keepdims=keepdim))


@register("any")
def any(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A001
    axes = _dims(input, dim)
    return apply(_NoGrad, (input,), fn=lambda a: a.any(axis=axes, keepdims=keepdim))


@register("norm")
def norm(input: Tensor, p: Any = "fro", dim: Any = None, keepdim: bool = False) -> Tensor:
    """The p-norm (2-norm by default) of all elements or over ``dim``."""
    if p in ("fro", 2, 2.0, None):
        return (input * input).sum(dim=dim, keepdim=keepdim).sqrt()
    if p == 1:
        return input.abs().sum(dim=dim, keepdim=keepdim)
    if p == float("inf"):
        return input.abs().amax(dim=dim if dim is not None else (), keepdim=keepdim)
    return (input.abs() ** p).sum(dim=dim, keepdim=keepdim) ** (1.0 / p)


class CumsumBackward0(Op):
    def forward(self, a, dim):
        self.dim = dim
        xp = B.get_array_module(a)
        return xp.cumsum(a, axis=dim, dtype=_acc_dtype(a, None))

    def backward(self, g):
        return g.flip((self.dim,)).cumsum(self.dim).flip((self.dim,))


@register("cumsum")
def cumsum(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    x = input.to(dtype) if dtype is not None else input
    return apply(CumsumBackward0, (x,), dim=x._wrap_dim(dim))
