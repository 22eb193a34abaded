"""2-D max and average pooling on strided windows (no loops over pixels), NumPy or CuPy.

``MaxPool2DWithIndicesBackward0``: a running maximum over the kernel offsets (one vectorized
step per offset, keeping the offset of each maximum); backward adds the gradient at those
offsets with one masked strided add per offset (``MaxPoolScatter``; an array-level copy of
that backward, ``_fast_arrays``, serves a backward without graph, see ``ops/_fastgrad.py``).
``AvgPool2DBackward0``: window sums divided by PyTorch's divisor; backward is the adjoint
window sum (dilate, pad, sum).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ...autograd.function import Op
from ...ops import _cupy_fused as _fused
from ...ops._core import apply
from ...ops._fastgrad import tensor_level
from ...tensor import Tensor
from ._util import dilate, pad2d, pair, windows, wrap, xp_of


def out_size(n: int, k: int, pad: int, stride: int, dilation: int, ceil_mode: bool) -> int:
    """PyTorch's ``pooling_output_shape``."""
    out = (n + 2 * pad - dilation * (k - 1) - 1 + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= n + pad:
        out -= 1
    return out


class PoolParams:
    """Kernel, stride, padding, dilation, ceil_mode and the resulting output size."""

    __slots__ = ("kernel", "stride", "pad", "dilation", "ceil_mode", "out_hw", "in_hw")

    def __init__(self, kernel: tuple, stride: tuple, pad: tuple, dilation: tuple,
                 ceil_mode: bool, in_hw: tuple) -> None:
        self.kernel, self.stride, self.pad, self.dilation = kernel, stride, pad, dilation
        self.ceil_mode, self.in_hw = ceil_mode, in_hw
        self.out_hw = tuple(out_size(in_hw[i], kernel[i], pad[i], stride[i], dilation[i],
                                     ceil_mode) for i in range(2))

    def padded(self, x: Any, value: float) -> Any:
        """``x`` padded on the left by ``pad`` and on the right as far as windows reach."""
        pads = []
        for i in range(2):
            need = (self.out_hw[i] - 1) * self.stride[i] + self.dilation[i] * (
                self.kernel[i] - 1) + 1
            pads += [self.pad[i], need - self.in_hw[i] - self.pad[i]]
        return pad2d(x, tuple(pads), value)


def _check(input: Tensor, p: PoolParams, what: str) -> None:
    for i in range(2):
        if p.stride[i] <= 0:
            raise RuntimeError("stride should be greater than zero, but got "
                               f"dH: {p.stride[0]} dW: {p.stride[1]}")
        if p.pad[i] > (p.dilation[i] * (p.kernel[i] - 1) + 1) // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                               f"pad={p.pad[i]}, kernel_size={p.kernel[i]} and dilation="
                               f"{p.dilation[i]}")
    if p.out_hw[0] < 1 or p.out_hw[1] < 1:
        c = input.shape[-3]
        raise RuntimeError(f"Given input size: ({c}x{p.in_hw[0]}x{p.in_hw[1]}). Calculated "
                           f"output size: ({c}x{p.out_hw[0]}x{p.out_hw[1]}). Output size is "
                           "too small")


def _as4d(a: Any) -> Any:
    return a[None] if a.ndim == 3 else a


def _offset_views(a: Any, p: PoolParams) -> list:
    """One strided (N, C, Ho, Wo) view of the padded ``a`` per kernel offset, row-major: the
    view for offset (i, j) holds element (i, j) of every window."""
    (ho, wo), (sh, sw), (dh, dw) = p.out_hw, p.stride, p.dilation
    he, we = (ho - 1) * sh + 1, (wo - 1) * sw + 1
    return [a[:, :, i * dh:i * dh + he:sh, j * dw:j * dw + we:sw]
            for i in range(p.kernel[0]) for j in range(p.kernel[1])]


def _offset_dtype(p: PoolParams) -> Any:
    k = p.kernel[0] * p.kernel[1]
    return np.int8 if k <= 127 else np.int16 if k <= 32767 else np.int32


def maxpool_offsets(x: Any, params: PoolParams) -> tuple[Any, Any]:
    """Max pooling on arrays: (values, kernel offset ``i * kw + j`` of each maximum).

    A running maximum over the kernel offsets (``kh * kw`` vectorized steps), with PyTorch's
    CPU rule: a larger value or a NaN replaces the current maximum, so ties keep the first
    position and NaN the last."""
    xp = xp_of(x)
    x4 = _as4d(x)
    fill = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
    if xp is not np and x.dtype.kind in "fi":  # one fused kernel on CuPy
        best, arg = _fused.maxpool(x4, params, fill, _offset_dtype(params))
        return (best[0], arg[0]) if x.ndim == 3 else (best, arg)
    views = _offset_views(params.padded(x4, fill), params)
    best = views[0]
    arg = xp.zeros(best.shape, dtype=_offset_dtype(params))
    one = arg.dtype.type
    for k in range(1, len(views)):
        v = views[k]
        upd = v > best
        # (NaN propagates; the first step makes the copy that later steps update in place)
        best = xp.maximum(best, v) if k == 1 else xp.maximum(best, v, out=best)
        # offsets only grow: max(arg, k) is k where v took over, arg elsewhere
        xp.maximum(arg, upd * one(k), out=arg)
    if len(views) == 1:
        best = xp.array(best)
    elif x.dtype.kind == "f" and bool(xp.isnan(best).any()):
        arg = _nan_offsets(views, arg.dtype)  # (``v > best`` passed over NaN)
    if x.ndim == 3:
        best, arg = best[0], arg[0]
    return best, arg


def _nan_offsets(views: list, dtype: Any) -> Any:
    """The offsets of the maxima by PyTorch's rule when some window holds a NaN."""
    xp = xp_of(views[0])
    cur = views[0]
    arg = xp.zeros(cur.shape, dtype=dtype)
    for k in range(1, len(views)):
        v = views[k]
        upd = (v > cur) | xp.isnan(v)
        cur = xp.where(upd, v, cur)
        arg = xp.where(upd, dtype.type(k), arg)
    return arg


def flat_indices(arg: Any, params: PoolParams) -> Any:
    """The kernel offsets of ``maxpool_offsets`` as PyTorch's indices: ``h * W + w`` in
    each input plane (int64)."""
    xp = xp_of(arg)
    (ho, wo), kw = params.out_hw, params.kernel[1]
    a = arg.astype(np.int64)
    rows = (xp.arange(ho)[:, None] * params.stride[0] - params.pad[0]
            + (a // kw) * params.dilation[0])
    cols = (xp.arange(wo)[None, :] * params.stride[1] - params.pad[1]
            + (a % kw) * params.dilation[1])
    return rows * params.in_hw[1] + cols


def maxpool_arrays(x: Any, params: PoolParams) -> tuple[Any, Any]:
    """Max pooling on arrays: (values, flat h*W+w indices of the maxima)."""
    vals, arg = maxpool_offsets(x, params)
    return vals, flat_indices(arg, params)


def scatter_offsets(g: Any, arg: Any, params: PoolParams, in_shape: tuple) -> Any:
    """Zeros of ``in_shape`` (…, H, W) with each ``g`` added at its window's maximum (the
    offset ``arg``): one masked strided write per kernel offset, over the padded plane."""
    xp = xp_of(g)
    g4, a4 = _as4d(g), _as4d(arg)
    p = params
    (ho, wo), (sh, sw), (dh, dw) = p.out_hw, p.stride, p.dilation
    (kh, kw), (ph, pw), (h, w) = p.kernel, p.pad, p.in_hw
    eh, ew = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    disjoint = sh >= eh and sw >= ew  # every input position in at most one window
    if disjoint and xp is not np:  # one fused kernel on CuPy
        return _fused.maxpool_grad(g4, a4, p).reshape(in_shape)
    hp, wp = max((ho - 1) * sh + eh, ph + h), max((wo - 1) * sw + ew, pw + w)
    out = xp.zeros(g4.shape[:2] + (hp, wp), dtype=g.dtype)
    for k, v in enumerate(_offset_views(out, p)):
        hit = a4 == k
        if disjoint:
            xp.multiply(g4, hit, out=v)
        else:
            v += g4 * hit
    if (hp, wp) != (h, w):
        out = xp.ascontiguousarray(out[:, :, ph:ph + h, pw:pw + w])
    return out.reshape(in_shape)


def _maxpool_fast(self: MaxPool2DWithIndicesBackward0, gd: Any) -> tuple | None:
    """``MaxPool2DWithIndicesBackward0.backward`` on arrays (``MaxPoolScatter``'s forward)."""
    return (scatter_offsets(gd, self.arg, self.p, self.in_shape),)


class MaxPool2DWithIndicesBackward0(Op):
    """``max_pool2d_with_indices``: values and the flat (h*W + w) index of each max."""

    def forward(self, x, params):
        self.in_shape, self.p = x.shape, params
        vals, self.arg = maxpool_offsets(x, params)
        return vals

    @property
    def idx(self) -> Any:
        """PyTorch's indices of the maxima (``h * W + w``)."""
        return flat_indices(self.arg, self.p)

    def backward(self, g):
        return apply(MaxPoolScatter, (g,), arg=self.arg, params=self.p,
                     in_shape=self.in_shape)

    _fast_arrays = _maxpool_fast
    _fast_backward = tensor_level(_maxpool_fast)


class MaxPoolScatter(Op):
    """The gradient of max pooling (scatter to the argmax positions)."""

    _name = "MaxPool2DWithIndicesBackwardBackward0"

    def forward(self, g, arg, params, in_shape):
        self.arg, self.p, self.out_shape = arg, params, g.shape
        return scatter_offsets(g, arg, params, in_shape)

    def backward(self, gg):
        idx = flat_indices(self.arg, self.p)
        flat = gg.reshape(gg.shape[:-2] + (-1,))
        picked = flat.gather(-1, wrap(idx.reshape(idx.shape[:-2] + (-1,))))
        return picked.reshape(self.out_shape)


def _pool_params(input: Tensor, kernel_size: Any, stride: Any, padding: Any,
                 dilation: Any, ceil_mode: bool) -> PoolParams:
    if input.ndim not in (3, 4) or input.numel() == 0:
        raise RuntimeError("non-empty 3D or 4D (batch mode) tensor expected for input")
    k = pair(kernel_size, "kernel_size")
    s = pair(stride, "stride") if stride not in (None, (), []) else k
    return PoolParams(k, s, pair(padding, "padding"), pair(dilation, "dilation"),
                      bool(ceil_mode), tuple(input.shape[-2:]))


def max_pool2d_with_indices(input: Tensor, kernel_size: Any, stride: Any = None,
                            padding: Any = 0, dilation: Any = 1,
                            ceil_mode: bool = False) -> tuple[Tensor, Tensor]:
    """Max pooling returning ``(values, indices)`` (indices into each H*W plane)."""
    p = _pool_params(input, kernel_size, stride, padding, dilation, ceil_mode)
    _check(input, p, "max_pool2d")
    out = apply(MaxPool2DWithIndicesBackward0, (input,), params=p)
    if out.grad_fn is not None:
        return out, wrap(out.grad_fn.idx)
    return out, wrap(maxpool_arrays(input._data, p)[1])


def max_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               dilation: Any = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Any:
    """2-D max pooling over (N, C, H, W) or (C, H, W); ``stride`` defaults to the kernel."""
    if return_indices:
        return max_pool2d_with_indices(input, kernel_size, stride, padding, dilation,
                                       ceil_mode)
    p = _pool_params(input, kernel_size, stride, padding, dilation, ceil_mode)
    _check(input, p, "max_pool2d")
    return apply(MaxPool2DWithIndicesBackward0, (input,), params=p)


def _divisor(p: PoolParams, count_include_pad: bool, divisor_override: int | None,
             xp: Any, dtype: Any) -> Any:
    """PyTorch's per-output-position divisor of average pooling, shape (Ho, Wo)."""
    if divisor_override:
        return xp.asarray(divisor_override, dtype=dtype)
    sizes = []
    for i in range(2):
        start = np.arange(p.out_hw[i]) * p.stride[i] - p.pad[i]
        end = np.minimum(start + p.kernel[i], p.in_hw[i] + p.pad[i])
        pool = end - start
        clipped = np.minimum(end, p.in_hw[i]) - np.maximum(start, 0)
        sizes.append(pool if count_include_pad else clipped)
    return xp.asarray(np.outer(sizes[0], sizes[1]).astype(dtype))


class AvgPool2DBackward0(Op):
    """Average pooling: window sums over the zero-padded input, divided per position."""

    def forward(self, x, params, count_include_pad, divisor_override):
        self.p, self.in_shape = params, x.shape
        self.cip, self.dov = count_include_pad, divisor_override
        xp = xp_of(x)
        self.div = _divisor(params, count_include_pad, divisor_override, xp, x.dtype)
        win = windows(params.padded(_as4d(x), 0.0), params.kernel, params.stride,
                      params.dilation, params.out_hw)
        out = win.sum(axis=(-2, -1)) / self.div
        return out[0] if x.ndim == 3 else out

    def backward(self, g):
        return apply(AvgPoolGrad, (g,), params=self.p, div=self.div, in_shape=self.in_shape,
                     cip=self.cip, dov=self.dov)


class AvgPoolGrad(Op):
    """The adjoint of average pooling (its own adjoint is average pooling again)."""

    _name = "AvgPool2DBackwardBackward0"

    def forward(self, g, params, div, in_shape, cip, dov):
        self.p, self.cip, self.dov = params, cip, dov
        p = params
        gs = _as4d(g) / div
        kh, kw = p.kernel
        h, w = p.in_hw
        hp = max((p.out_hw[0] - 1) * p.stride[0] + kh, p.pad[0] + h)
        wp = max((p.out_hw[1] - 1) * p.stride[1] + kw, p.pad[1] + w)
        gd = dilate(gs, p.stride)
        gd = pad2d(gd, (kh - 1, hp - gd.shape[2], kw - 1, wp - gd.shape[3]))
        full = windows(gd, (kh, kw), (1, 1), (1, 1)).sum(axis=(-2, -1))
        out = full[:, :, p.pad[0]:p.pad[0] + h, p.pad[1]:p.pad[1] + w]
        out = xp_of(out).ascontiguousarray(out)
        return out[0] if len(in_shape) == 3 else out

    def backward(self, gg):
        return apply(AvgPool2DBackward0, (gg,), params=self.p, count_include_pad=self.cip,
                     divisor_override=self.dov)


def avg_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    """2-D average pooling over (N, C, H, W) or (C, H, W)."""
    p = _pool_params(input, kernel_size, stride, padding, 1, ceil_mode)
    _check(input, p, "avg_pool2d")
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    return apply(AvgPool2DBackward0, (input,), params=p, count_include_pad=count_include_pad,
                 divisor_override=divisor_override)


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    """Adaptive average pooling (input sizes divisible by the output size, or 1x1)."""
    oh, ow = pair(output_size, "output_size")
    h, w = input.shape[-2:]
    oh, ow = oh or h, ow or w
    if h % oh or w % ow:
        raise NotImplementedError("adaptive_avg_pool2d: only output sizes that divide the "
                                  "input size are supported")
    return avg_pool2d(input, (h // oh, w // ow))
