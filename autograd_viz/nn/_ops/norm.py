"""Batch normalisation as one node, ``NativeBatchNormBackward0`` (running statistics are
updated in place during training, outside the graph), and layer normalisation,
``NativeLayerNormBackward0``; both backwards are written in Tensor ops (double backward).
Batch normalisation's also runs on arrays (``_fast_arrays``, see ``ops/_fastgrad.py``) for a
backward without graph: the same NumPy calls in the same order."""
from __future__ import annotations

from typing import Any

import numpy as np

from ...autograd.function import Op
from ...ops._core import apply
from ...ops._fastgrad import _one, saved_arrays, tensor_level
from ...ops.reduce import _c
from ...tensor import Tensor
from ._util import wrap, xp_of


def _axes(ndim: int) -> tuple:
    return (0,) + tuple(range(2, ndim))


def _bshape(ndim: int, c: int) -> tuple:
    return (1, c) + (1,) * (ndim - 2)


class NativeBatchNormBackward0(Op):
    def forward(self, x, *wb, has_weight, running_mean, running_var, training, momentum,
                eps):
        xp = xp_of(x)
        c = x.shape[1]
        axes, shp = _axes(x.ndim), _bshape(x.ndim, c)
        self.axes, self.shp, self.eps, self.training = axes, shp, eps, training
        self.has_weight, self.n_wb = has_weight, len(wb)
        if training:
            mean = x.mean(axis=axes)
            var = x.var(axis=axes)
            n = x.size // c
            with_stats = [(running_mean, mean), (running_var, var * (n / max(n - 1, 1)))]
            for buf, stat in with_stats:
                if buf is not None:
                    d = buf._data
                    d[...] = momentum * stat.astype(d.dtype) + (1 - momentum) * d
                    buf._vc.v += 1
        else:
            mean, var = running_mean._data, running_var._data
        invstd = 1.0 / xp.sqrt(var + eps)
        self.mean_c, self.invstd_c = mean.reshape(shp), invstd.reshape(shp)
        y = (x - self.mean_c) * self.invstd_c
        if has_weight:
            y = y * wb[0].reshape(shp)
        if (has_weight and len(wb) == 2) or (not has_weight and len(wb) == 1):
            y = y + wb[-1].reshape(shp)
        self.save(input=self.inputs[0], weight=self.inputs[1] if has_weight else None)
        return y.astype(x.dtype, copy=False)

    def backward(self, g):
        x, w = self.saved()
        n = self.needs
        axes = self.axes
        if self.training:
            xmu = x - x.mean(dim=axes, keepdim=True)
            invstd = ((xmu * xmu).mean(dim=axes, keepdim=True) + self.eps).rsqrt()
        else:
            xmu = x - wrap(self.mean_c)
            invstd = wrap(self.invstd_c)
        xhat = xmu * invstd
        gxhat = g * w.reshape(self.shp) if w is not None else g
        gx = None
        if n[0]:
            if self.training:
                gx = invstd * (gxhat - gxhat.mean(dim=axes, keepdim=True)
                               - xhat * (gxhat * xhat).mean(dim=axes, keepdim=True))
            else:
                gx = gxhat * invstd
        out = [gx]
        if self.has_weight:
            out.append((g * xhat).sum(dim=axes) if n[1] else None)
        if len(out) < 1 + self.n_wb:
            out.append(g.sum(dim=axes) if n[len(out)] else None)
        return tuple(out)


def _mean(a: Any, axes: tuple) -> Any:
    """``Tensor.mean(dim=axes, keepdim=True)``'s array call (a C-contiguous result)."""
    return _c(a.mean(axis=axes, keepdims=True, dtype=a.dtype))


def _bn_fast(self: NativeBatchNormBackward0, gd: Any) -> tuple | None:
    """``backward`` on NumPy arrays of one dtype (anything else: None, back to it)."""
    x, w = saved_arrays(self)
    dt = gd.dtype
    if type(gd) is not np.ndarray or x.dtype != dt or (w is not None and w.dtype != dt):
        return None
    axes = self.axes
    if self.training:
        xmu = x - _mean(x, axes)
        v = _mean(xmu * xmu, axes)
        invstd = 1 / np.sqrt(v + _one(v, self.eps))
    else:
        if self.mean_c.dtype != dt or self.invstd_c.dtype != dt:
            return None
        xmu = x - self.mean_c
        invstd = self.invstd_c
    xhat = xmu * invstd
    gxhat = gd * w.reshape(self.shp) if w is not None else gd
    n = self.needs
    gx = None
    if n[0]:
        if self.training:
            gx = invstd * (gxhat - _mean(gxhat, axes) - xhat * _mean(gxhat * xhat, axes))
        else:
            gx = gxhat * invstd
    out = [gx]
    if self.has_weight:
        out.append(_c((gd * xhat).sum(axis=axes, dtype=dt)) if n[1] else None)
    if len(out) < 1 + self.n_wb:
        out.append(_c(gd.sum(axis=axes, dtype=dt)) if n[len(out)] else None)
    return tuple(out)


NativeBatchNormBackward0._fast_arrays = _bn_fast
NativeBatchNormBackward0._fast_backward = tensor_level(_bn_fast)


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise over all dims but 1 (batch statistics when ``training``, else the running
    ones), then scale by ``weight`` and shift by ``bias``."""
    if training:
        size = tuple(input.shape)
        n = 1
        for i, s in enumerate(size):
            if i != 1:
                n *= s
        if n == 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got "
                             f"input size {input.shape}")
    c = input.shape[1] if input.ndim > 1 else 0
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and t.numel() != c:
            raise RuntimeError(f"{name} should contain {c} elements not {t.numel()}")
    if not training and (running_mean is None or running_var is None):
        raise RuntimeError("running_mean and running_var must be defined in evaluation mode")
    wb = tuple(t for t in (weight, bias) if t is not None)
    return apply(NativeBatchNormBackward0, (input,) + wb, has_weight=weight is not None,
                 running_mean=running_mean, running_var=running_var, training=training,
                 momentum=momentum, eps=eps)


class NativeLayerNormBackward0(Op):
    """``layer_norm(input, normalized_shape, weight, bias)``: the inputs are always
    ``(input, weight, bias)``, an absent weight or bias given as an empty constant (its edge
    is ``(None, 0)``, as in PyTorch)."""

    def forward(self, x, w, b, normalized_shape, has_weight, has_bias, eps):
        xp = xp_of(x)
        k = len(normalized_shape)
        axes = tuple(range(x.ndim - k, x.ndim))
        self.normalized_shape, self.eps, self.axes = list(normalized_shape), eps, axes
        self.has_weight, self.has_bias = has_weight, has_bias
        mean = x.mean(axis=axes, keepdims=True)
        xmu = x - mean
        var = (xmu * xmu).mean(axis=axes, keepdims=True)
        rstd = 1.0 / xp.sqrt(var + eps)
        y = xmu * rstd
        if has_weight:
            y = y * w
        if has_bias:
            y = y + b
        self.save(input=self.inputs[0], weight=self.inputs[1] if has_weight else None,
                  bias=self.inputs[2] if has_bias else None)
        self.result1, self.result2 = wrap(mean), wrap(rstd)
        return y.astype(x.dtype, copy=False)

    def backward(self, g):
        x, w, _ = self.saved()
        n = self.needs
        axes = self.axes
        batch_axes = tuple(range(x.ndim - len(axes)))
        xmu = x - x.mean(dim=axes, keepdim=True)
        rstd = ((xmu * xmu).mean(dim=axes, keepdim=True) + self.eps).rsqrt()
        xhat = xmu * rstd
        gx = gw = gb = None
        if n[0]:
            gxhat = g * w if w is not None else g
            gx = rstd * (gxhat - gxhat.mean(dim=axes, keepdim=True)
                         - xhat * (gxhat * xhat).mean(dim=axes, keepdim=True))
        if self.has_weight and n[1]:
            gw = (g * xhat).sum(dim=batch_axes) if batch_axes else g * xhat
        if self.has_bias and n[2]:
            gb = g.sum(dim=batch_axes) if batch_axes else g
        return gx, gw, gb


def _shape_msg(t: Tensor) -> str:
    return str(list(t.shape))


def layer_norm(input: Tensor, normalized_shape: Any, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalise over the last ``len(normalized_shape)`` dims (mean 0, variance 1, biased
    variance plus ``eps``), then scale by ``weight`` and shift by ``bias``
    (``NativeLayerNormBackward0``)."""
    shape = (int(normalized_shape),) if isinstance(normalized_shape, int) \
        else tuple(int(s) for s in normalized_shape)
    if not shape:
        raise RuntimeError("Expected normalized_shape to be at least 1-dimensional, i.e., "
                           "containing at least one element, but got normalized_shape = []")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but "
                               f"got {name} of shape {_shape_msg(t)} and normalized_shape = "
                               f"{list(shape)}")
    k = len(shape)
    if input.ndim < k or tuple(input.shape[input.ndim - k:]) != shape:
        raise RuntimeError(f"Given normalized_shape={list(shape)}, expected input with shape "
                           f"[*, {', '.join(str(s) for s in shape)}], but got input of size"
                           f"{_shape_msg(input)}")
    xp = xp_of(input._data)
    empty = wrap(xp.empty(0, dtype=input._data.dtype))
    return apply(NativeLayerNormBackward0, (input, weight if weight is not None else empty,
                                            bias if bias is not None else empty),
                 normalized_shape=shape, has_weight=weight is not None,
                 has_bias=bias is not None, eps=eps)
