"""Fused CuPy kernels for the hot steps of a training loop on the GPU.

A small step on a GPU costs what its kernel launches cost the host (CuPy: 10-25 µs each on
an H100 machine, ``benchmarks/RESULTS.md``), so the formulas that NumPy runs as several
ufuncs run here as one kernel each. Each elementwise step does the same float operations
in the same order as the NumPy expression it replaces, compiled without FMA contraction
(``--fmad=false``), so it rounds as that expression does; sums (of rows, columns, all but
one axis) add in their own order, as any GPU reduction does. Built on first use; only
called with CuPy arrays (``tests/test_cuda_parity.py`` checks each against the CPU).
"""
from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np

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
        # a mean with a given count (nll_loss): ``x.sum() / d``
        sum_div = red("T x, T d", "T y", "x", "a + b", "y = a / d", "0", "av_sum_div",
                      options=_OPTS)
        # nll_loss (N, C) without weights: the flat indices ``idx`` of the targets ``t``
        # and ``-x.take(idx)``; then the gradient, ``v * g`` at the targets and zero
        # elsewhere. A target outside [0, C) (checked by the caller, so only one written
        # behind autograd_viz's back) reads nothing: NaN loss, index -1, a NaN grad row.
        nll_pick = ew("raw T x, I t, int64 c", "T y, int64 idx", """
            long long k = (long long)t;
            bool ok = k >= 0 && k < c;
            idx = ok ? (long long)i * c + k : -1;
            y = ok ? -x[idx] : (T)nan("");""", "av_nll_pick", options=_OPTS)
        nll_grad = ew("raw int64 idx, T v, T g, int64 c", "T o", """
            long long k = idx[i / c];
            o = k < 0 ? (T)nan("") : ((long long)i == k) ? v * g : (T)0;""", "av_nll_grad",
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
        # col2im for a convolution's input gradient: each input position (unpadded) adds
        # up, from zero and in the order of the kernel offsets, the patch gradients ``gc``
        # (C*kh*kw, N*Ho*Wo) of the windows that cover it
        col2im = ew(_COL2IM, "T gx", """
            int x = i % W; long long t = i / W; int y = t % H; t /= H; int c = t % C;
            long long n = t / C, P = (long long)Ho * Wo, NP = (long long)N * P;
            T s = (T)0;
            for (int ki = 0; ki < kh; ki++) {
                int hh = y + ph - ki * dh;
                if (hh < 0 || hh % sh != 0 || hh / sh >= Ho) continue;
                for (int kj = 0; kj < kw; kj++) {
                    int ww = x + pw - kj * dw;
                    if (ww < 0 || ww % sw != 0 || ww / sw >= Wo) continue;
                    s += gc[((long long)(c * kh + ki) * kw + kj) * NP + n * P
                            + (long long)(hh / sh) * Wo + ww / sw];
                }
            }
            gx = s;""", "av_col2im", options=_OPTS)
    return K


_COL2IM = ("raw T gc, int32 N, int32 C, int32 H, int32 W, int32 Ho, int32 Wo, int32 kh, "
           "int32 kw, int32 sh, int32 sw, int32 ph, int32 pw, int32 dh, int32 dw")

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


def col2im(gc: Any, nchw: tuple, out_hw: tuple, kernel: tuple, stride: tuple,
           pad_tl: tuple, dilation: tuple) -> Any:
    """The (N, C, H, W) input gradient from the patch gradients ``gc`` (C*kh*kw, N*Ho*Wo)
    of a convolution with ``stride``, top/left padding ``pad_tl`` and ``dilation``."""
    cp = B._import_cupy()
    out = cp.empty(nchw, dtype=gc.dtype)
    _k().col2im(cp.ascontiguousarray(gc), *nchw, *out_hw, *kernel, *stride, *pad_tl,
                *dilation, out)
    return out


def inplace_scaled(x: Any, g: Any, alpha: Any, subtract: bool) -> None:
    """``x ±= alpha * g`` in one kernel (``g`` an array of x's dtype and shape)."""
    k = _k()
    (k.sub_scaled if subtract else k.add_scaled)(g, x.dtype.type(alpha), x)


def relu_grad(g: Any, r: Any) -> Any:
    return _k().relu_grad(g, r)


def log_softmax(a: Any, dim: int) -> Any:
    f = _row_kernel("av_log_softmax_rows", a, dim)
    if f is not None:
        return _by_rows(f, a, a)
    k = _k()
    m = a.max(axis=dim, keepdims=True)
    return k.log_softmax(a, m, k.sum_exp(a, m, axis=dim, keepdims=True))


def log_softmax_grad(g: Any, r: Any, dim: int) -> Any:
    f = _row_kernel("av_log_softmax_grad_rows", g, dim)
    if f is not None and r.flags.c_contiguous and r.shape == g.shape:
        return _by_rows(f, g, g, r)
    return _k().log_softmax_grad(g, r, g.sum(axis=(dim,), keepdims=True, dtype=g.dtype))


# Along the last axis of a C-contiguous array, the (log-)softmax steps run as one kernel, a
# block of threads to a row: the three (two for the backward) launches of the kernels above
# cost ~60 µs of host time where this one costs ~15 (``benchmarks/OPTIMISATIONS.md``). The
# same formulas: ``m = max`` (NaN wins), ``s = sum(exp(x - m))``, ``(x - m) - log(s)``; and
# ``g - exp(r) * sum(g)``; the sums are taken in another order than CuPy's reduction.
_ROWS = r"""
template <typename T> __device__ T av_max(T a, T b) { return (b > a || b != b) ? b : a; }
__device__ float av_exp(float v) { return expf(v); }
__device__ double av_exp(double v) { return exp(v); }
__device__ float av_log(float v) { return logf(v); }
__device__ double av_log(double v) { return log(v); }

// the maximum (MAX) or the sum of one value per thread of the block, in every thread
template <typename T, bool MAX> __device__ T av_block(T v, T* part) {
    for (int o = 16; o > 0; o >>= 1) {
        T w = __shfl_xor_sync(0xffffffffu, v, o);
        v = MAX ? av_max(v, w) : v + w;
    }
    int nw = blockDim.x >> 5;
    if (nw == 1) return v;
    __syncthreads();  // (the previous call's partial results have been read)
    if ((threadIdx.x & 31) == 0) part[threadIdx.x >> 5] = v;
    __syncthreads();
    v = part[0];
    for (int k = 1; k < nw; k++) v = MAX ? av_max(v, part[k]) : v + part[k];
    return v;
}

template <typename T> __global__ void av_log_softmax_rows(const T* x, T* y, int cols) {
    __shared__ T part[32];
    long long base = (long long)blockIdx.x * cols;
    T m = x[base];
    for (int j = threadIdx.x; j < cols; j += blockDim.x) m = av_max(m, x[base + j]);
    m = av_block<T, true>(m, part);
    T s = 0;
    for (int j = threadIdx.x; j < cols; j += blockDim.x) s += av_exp(x[base + j] - m);
    T ls = av_log(av_block<T, false>(s, part));
    for (int j = threadIdx.x; j < cols; j += blockDim.x) y[base + j] = (x[base + j] - m) - ls;
}

// the sums of the columns of a (rows, cols) array: a block of 32 x 8 threads for 32
// columns, each thread summing every 8th row, then its column's 8 partial sums in order
template <typename T> __global__ void av_sum_cols(const T* g, T* out, int rows, int cols) {
    __shared__ T part[8][33];
    int j = blockIdx.x * 32 + threadIdx.x;
    T s = 0;
    if (j < cols)
        for (int i = threadIdx.y; i < rows; i += 8) s += g[(long long)i * cols + j];
    part[threadIdx.y][threadIdx.x] = s;
    __syncthreads();
    if (threadIdx.y == 0 && j < cols) {
        for (int k = 1; k < 8; k++) s += part[k][threadIdx.x];
        out[j] = s;
    }
}

// the sums over every axis but one of an array seen as (A, C, B): a block to each of the C
template <typename T>
__global__ void av_sum_mid(const T* x, T* out, long long A, int C, long long B) {
    __shared__ T part[32];
    T s = 0;
    for (long long k = threadIdx.x; k < A * B; k += blockDim.x) {
        long long a = k / B;
        s += x[(a * C + blockIdx.x) * B + (k - a * B)];
    }
    s = av_block<T, false>(s, part);
    if (threadIdx.x == 0) out[blockIdx.x] = s;
}

template <typename T>
__global__ void av_log_softmax_grad_rows(const T* g, T* o, const T* r, int cols) {
    __shared__ T part[32];
    long long base = (long long)blockIdx.x * cols;
    T s = 0;
    for (int j = threadIdx.x; j < cols; j += blockDim.x) s += g[base + j];
    s = av_block<T, false>(s, part);
    for (int j = threadIdx.x; j < cols; j += blockDim.x)
        o[base + j] = g[base + j] - av_exp(r[base + j]) * s;
}
"""
_ROW_TYPES = {"float32": "float", "float64": "double"}


@cache
def _rows_module() -> Any:
    names = [f"{k}<{t}>" for k in ("av_log_softmax_rows", "av_log_softmax_grad_rows",
                                   "av_sum_cols", "av_sum_mid") for t in _ROW_TYPES.values()]
    return B._import_cupy().RawModule(code=_ROWS, options=_OPTS, name_expressions=names)


def _row_kernel(name: str, a: Any, dim: int) -> Any:
    """The row kernel ``name`` for ``a``'s dtype, or None where it does not apply (not along
    the last axis of a C-contiguous float32/float64 array with rows of < 2**31)."""
    t = _ROW_TYPES.get(a.dtype.name)
    if t is None or dim % a.ndim != a.ndim - 1 or not a.flags.c_contiguous or a.size == 0 \
            or a.shape[-1] >= 1 << 31 or a.size // a.shape[-1] >= 1 << 31:
        return None
    return _row_fn(name, t)


@cache
def _row_fn(name: str, t: str) -> Any:
    return _rows_module().get_function(f"{name}<{t}>")


def _by_rows(f: Any, like: Any, *arrays: Any) -> Any:
    """A new array like ``like`` from row kernel ``f`` (args: the first array, the result,
    the others, the row length)."""
    cp = B._import_cupy()
    out = cp.empty_like(like)
    cols = like.shape[-1]
    threads = min(256, max(32, 1 << (cols - 1).bit_length()))
    f((like.size // cols,), (threads,), (arrays[0], out, *arrays[1:], np.int32(cols)))
    return out


def nll_pick(x: Any, target: Any) -> tuple[Any, Any]:
    """(``-x.take(idx)``, ``idx``) for a C-contiguous (N, C) ``x`` and its N class indices
    ``target``, with ``idx`` the flat indices of the targets (a new array): one kernel."""
    return _k().nll_pick(x, target, x.shape[1])


def nll_grad(idx: Any, val: Any, g: Any, shape: tuple) -> Any:
    """Zeros of ``shape`` (N, C) with ``val * g`` at the flat indices ``idx`` (one per row;
    ``g`` 0-d, or (N, 1))."""
    out = B._import_cupy().empty(shape, dtype=g.dtype)
    return _k().nll_grad(idx, g.dtype.type(val), g, shape[1], out)


#: The most rows ``sum_leading`` sums (each thread adds up at most 1/8 of them in turn;
#: CuPy's reduction spreads longer columns over more threads).
SUM_COLS_MAX_ROWS = 8192


def sum_leading(g: Any, lead: int) -> Any:
    """``g.sum(axis=range(lead), dtype=g.dtype)`` (a bias's gradient) in one kernel: the
    columns of a C-contiguous float32/float64 ``g`` seen as (rows, cols). None where that
    does not apply (other layouts or dtypes, more than ``SUM_COLS_MAX_ROWS`` rows)."""
    t = _ROW_TYPES.get(g.dtype.name)
    shape = g.shape[lead:]
    cols = 1
    for s in shape:
        cols *= s
    if t is None or not g.flags.c_contiguous or not cols or not 0 < g.size // cols \
            <= SUM_COLS_MAX_ROWS or cols >= 1 << 31:
        return None
    out = B._import_cupy().empty(shape, dtype=g.dtype)
    _row_fn("av_sum_cols", t)(((cols + 31) // 32,), (32, 8),
                              (g, out, np.int32(g.size // cols), np.int32(cols)))
    return out


#: The most values ``sum_except`` adds up for one output (at most 256 in turn per thread).
SUM_MID_MAX = 1 << 16


def sum_except(a: Any, axes: tuple) -> Any:
    """``a.sum(axis=axes, dtype=a.dtype)`` when ``axes`` are all of a's axes but one (a conv
    bias's gradient sums (0, 2, 3)): one kernel, a block for each kept index, on a
    C-contiguous float32/float64 array. None where that does not apply (other layouts or
    dtypes, more than ``SUM_MID_MAX`` values to an output)."""
    t = _ROW_TYPES.get(a.dtype.name)
    nd = a.ndim
    kept = set(range(nd)).difference(ax % nd for ax in axes) if t is not None and nd > 1 \
        and len(axes) == nd - 1 else ()
    if len(kept) != 1 or not a.flags.c_contiguous or not a.size:
        return None
    (k,) = kept
    c = a.shape[k]
    n = a.size // c
    if n > SUM_MID_MAX or c >= 1 << 31:
        return None
    out = B._import_cupy().empty((c,), dtype=a.dtype)
    lead = 1
    for s in a.shape[:k]:
        lead *= s
    _row_fn("av_sum_mid", t)((c,), (min(256, max(32, 1 << (n - 1).bit_length())),),
                             (a, out, np.int64(lead), np.int32(c), np.int64(n // lead)))
    return out


def sum_div(a: Any, d: Any) -> Any:
    """``a.sum() / d`` (a 0-d array) in one kernel, for a scalar ``d`` of a's dtype."""
    return _k().sum_div(a, d)
