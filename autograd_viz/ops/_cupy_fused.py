"""Fused CuPy kernels for the hot steps of a training loop on the GPU.

A small step on a GPU costs what its kernel launches cost the host (CuPy: 10-25 µs each on
an H100 machine, ``benchmarks/RESULTS.md``), so the formulas that NumPy runs as several
ufuncs run here as one kernel each. Each kernel does the same float operations in the same
order as the NumPy expression it replaces, compiled without FMA contraction
(``--fmad=false``), so it rounds as that expression does. Built on first use; only called
with CuPy arrays.
"""
from __future__ import annotations

from functools import cache
from typing import Any

from .. import _backend as B

_OPTS = ("--fmad=false",)


@cache
def _k() -> Any:
    cp = B._import_cupy()
    ew, red = cp.ElementwiseKernel, cp.ReductionKernel

    class K:
        # x.add_(g, alpha=a) / x.sub_(g, alpha=a): ``x = x ± (a * g)``
        add_scaled = ew("T g, T a", "T x", "x = x + a * g", "av_add_scaled", options=_OPTS)
        sub_scaled = ew("T g, T a", "T x", "x = x - a * g", "av_sub_scaled", options=_OPTS)
        # relu's backward from its result: ``g * (r > 0)``
        relu_grad = ew("T g, T r", "T o", "o = g * (T)(r > (T)0)", "av_relu_grad",
                       options=_OPTS)
        # log_softmax: ``s = x - max``, ``s - log(sum(exp(s)))``
        sum_exp = red("T x, T m", "T s", "exp(x - m)", "a + b", "s = a", "0", "av_sum_exp",
                      options=_OPTS)
        log_softmax = ew("T x, T m, T s", "T y", "y = (x - m) - log(s)", "av_log_softmax",
                         options=_OPTS)
        # its backward: ``g - exp(r) * sum(g)``
        log_softmax_grad = ew("T g, T r, T s", "T o", "o = g - exp(r) * s",
                              "av_log_softmax_grad", options=_OPTS)
        # nll_loss (N, C) without weights, from the flat indices ``idx`` of the targets:
        # ``-x.take(idx)``, and the gradient: ``v * g`` at the targets, zero elsewhere
        nll_pick = ew("raw T x, int64 idx", "T y", "y = -x[idx]", "av_nll_pick",
                      options=_OPTS)
        nll_grad = ew("raw int64 idx, T v, T g, int64 c", "T o",
                      "o = ((long long)i == idx[i / c]) ? v * g : (T)0", "av_nll_grad",
                      options=_OPTS)
        # max pooling over (N*C, H, W) planes: the maximum of each window and its kernel
        # offset, by the rule of pooling.maxpool_offsets (a larger value or a NaN takes
        # over; positions in the padding read ``fill``); and its gradient for windows that
        # do not overlap (each input position gets the grad of at most one window)
        maxpool = ew(_POOL + ", T fill", "T best, A arg", """
            int wo = i % Wo; long long t = i / Wo; int ho = t % Ho; long long nc = t / Ho;
            for (int ki = 0; ki < kh; ki++) {
                for (int kj = 0; kj < kw; kj++) {
                    int h = ho * sh - ph + ki * dh, w = wo * sw - pw + kj * dw;
                    T v = (h >= 0 && h < H && w >= 0 && w < W) ? x[(nc * H + h) * W + w]
                                                                : fill;
                    int k = ki * kw + kj;
                    if (k == 0 || v > best || v != v) { best = v; arg = (A)k; }
                }
            }""", "av_maxpool", options=_OPTS)
        maxpool_grad = ew(_POOL.replace("raw T x", "T g, A arg"), "raw T out", """
            int wo = i % Wo; long long t = i / Wo; int ho = t % Ho; long long nc = t / Ho;
            int k = arg;
            int h = ho * sh - ph + (k / kw) * dh, w = wo * sw - pw + (k % kw) * dw;
            if (h >= 0 && h < H && w >= 0 && w < W) out[(nc * H + h) * W + w] = g;""",
                          "av_maxpool_grad", options=_OPTS)
    return K


_POOL = ("raw T x, int32 H, int32 W, int32 Ho, int32 Wo, int32 kh, int32 kw, int32 sh, "
         "int32 sw, int32 ph, int32 pw, int32 dh, int32 dw")


def _pool_args(p: Any) -> tuple:
    return (*p.in_hw, *p.out_hw, *p.kernel, *p.stride, *p.pad, *p.dilation)


def maxpool(x4: Any, p: Any, fill: Any, arg_dtype: Any) -> tuple[Any, Any]:
    """(values, kernel offsets) of max pooling a (N, C, H, W) array with ``PoolParams`` p."""
    cp = B._import_cupy()
    x4 = cp.ascontiguousarray(x4)
    shape = x4.shape[:2] + tuple(p.out_hw)
    best, arg = cp.empty(shape, dtype=x4.dtype), cp.empty(shape, dtype=arg_dtype)
    _k().maxpool(x4, *_pool_args(p), x4.dtype.type(fill), best, arg)
    return best, arg


def maxpool_grad(g4: Any, a4: Any, p: Any) -> Any:
    """Zeros of the input's (N, C, H, W) shape with each window's grad at its maximum, for
    windows that do not overlap."""
    cp = B._import_cupy()
    out = cp.zeros(g4.shape[:2] + tuple(p.in_hw), dtype=g4.dtype)
    _k().maxpool_grad(g4, a4, *_pool_args(p), out)
    return out


def inplace_scaled(x: Any, g: Any, alpha: Any, subtract: bool) -> None:
    """``x ±= alpha * g`` in one kernel (``g`` an array of x's dtype and shape)."""
    k = _k()
    (k.sub_scaled if subtract else k.add_scaled)(g, x.dtype.type(alpha), x)


def relu_grad(g: Any, r: Any) -> Any:
    return _k().relu_grad(g, r)


def log_softmax(a: Any, dim: int) -> Any:
    k = _k()
    m = a.max(axis=dim, keepdims=True)
    return k.log_softmax(a, m, k.sum_exp(a, m, axis=dim, keepdims=True))


def log_softmax_grad(g: Any, r: Any, dim: int) -> Any:
    return _k().log_softmax_grad(g, r, g.sum(axis=(dim,), keepdims=True, dtype=g.dtype))


def nll_pick(x: Any, idx: Any) -> Any:
    """``-x.take(idx)`` for a C-contiguous ``x`` and int64 flat indices."""
    return _k().nll_pick(x, idx)


def nll_grad(idx: Any, val: Any, g: Any, shape: tuple) -> Any:
    """Zeros of ``shape`` (N, C) with ``val * g`` at the flat indices ``idx`` (one per row;
    ``g`` 0-d, or (N, 1))."""
    out = B._import_cupy().empty(shape, dtype=g.dtype)
    return _k().nll_grad(idx, g.dtype.type(val), g, shape[1], out)
