"""Copies of tensor values taken at event time, and torch-like formatting of them.

:func:`snapshot` is called on the hot path while recording: it copies a small array (or
the edge elements of a large one plus its statistics) and does nothing else. Formatting
into a :class:`~autograd_viz.viz.model.Preview` happens later, once, in :meth:`Snapshot.preview`.
"""
from __future__ import annotations

import math
import threading
from typing import Any

import numpy as np

from autograd_viz._tensor_str import (
    PRINT_OPTS,
    _Formatter,
    _str_fmt,
    _summarized,
    sci_needed,
)

from . import _pool
from .model import Hist, Preview, Stats

try:  # the optional C helper (built with the package where a C compiler is at hand)
    from ._summary import summarise as _summarise_c
except ImportError:  # pragma: no cover - depends on the build
    _summarise_c = None

#: Tensors with at most this many elements are kept (and printed) in full.
SMALL_NUMEL = 64
#: Bins of the histogram kept for larger tensors.
HIST_BINS = 20
#: Block size (elements) of the passes that summarise a large value (statistics, histogram).
EXACT_HIST_NUMEL = 1 << 16
#: A GPU value of at most this many elements is copied to the host and summarised there, as
#: a NumPy value is: a summary on the GPU costs ~1 ms of kernel launches and reads whatever
#: the size (a recorded 100-step loop: 3.7 s of ``graph()`` on an H100 where the CPU run
#: took 0.05 s), NumPy ~12 ns an element. Larger values are summarised where they are.
HOST_SUMMARY_NUMEL = 1 << 16


_new_preview = object.__new__


class Snapshot:
    """The values of one tensor at one moment (host numpy, possibly summarised)."""

    __slots__ = ("shape", "dtype", "array", "cut", "stats", "hist", "_preview")

    def __init__(
        self,
        shape: tuple[int, ...],
        dtype: str,
        array: np.ndarray,
        cut: tuple[bool, ...],
        stats: Stats | None,
        hist: Hist | None = None,
    ) -> None:
        self.shape = shape
        self.dtype = dtype
        self.array = array
        self.cut = cut
        self.stats = stats
        self.hist = hist
        self._preview: Preview | None = None

    def preview(self) -> Preview:
        """The (cached) :class:`Preview` of these values."""
        p = self._preview
        if p is None and self.array.size == 1:
            p = self._preview = one_value_preview(self.array, self.dtype)
        if p is None:  # (formatted when first read: see Preview)
            a = self.array
            p = self._preview = _new_preview(Preview)
            p.shape = list(self.shape)
            p.dtype = self.dtype
            p.values = a.tolist() if a.size <= SMALL_NUMEL and not any(self.cut) else None
            p.stats = self.stats
            p.hist = self.hist
            # (what makes the text, without this snapshot: a preview pointing back at the
            # snapshot that keeps it would be a cycle, which only the collector frees)
            p._lazy = (a, self.cut)
        return p


def _dtype_name(t: Any, data: Any) -> str:
    dt = getattr(t, "dtype", None)
    if type(t) is np.ndarray:  # (a recorder's copy: NumPy's dtype.name is slow)
        name = _DTYPE_NAMES.get(dt)
        if name is None:
            name = _DTYPE_NAMES[dt] = dt.name
        return name
    name = getattr(dt, "name", None)
    if isinstance(name, str):
        return name
    return str(getattr(data, "dtype", dt))


def _to_host(a: Any) -> np.ndarray:
    if isinstance(a, np.ndarray):
        return np.array(a, copy=True)
    try:
        from autograd_viz._backend import to_numpy
    except ImportError:  # pragma: no cover - the engine is always there in practice
        return np.asarray(a).copy()
    return np.array(to_numpy(a), copy=True)


def snapshot(t: Any) -> Snapshot | None:
    """Copy what a preview of tensor ``t`` needs (``None`` for ``None``)."""
    if t is None:
        return None
    data = getattr(t, "_data", t)
    shape = tuple(int(s) for s in data.shape)
    dtype = _dtype_name(t, data)
    size = int(data.size)
    moved = type(data) is not np.ndarray and size <= HOST_SUMMARY_NUMEL
    if moved:
        data = _to_host(data)  # (one transfer; then the very steps of a NumPy value)
    if size <= SMALL_NUMEL:  # (kept whole: a copy, unless the transfer just made one)
        return Snapshot(shape, dtype, data if moved else _to_host(data), (False,) * len(shape),
                        None)
    part, cut = _edges(data, shape)  # large tensors are summarised; small ones kept whole
    if _summarise_c is not None and type(data) is np.ndarray and data.dtype in _C_DTYPES:
        r = summarise_c(data)
        if r is not None:
            mn, mx, mean, std, counts = r
            stats = Stats(min=mn, max=mx, mean=mean, std=std)
            hist = Hist.binned(counts, mn, mx) if counts is not None else _hist(data, stats)
            return Snapshot(shape, dtype, _to_host(part), cut, stats, hist)
    stats = _stats(data)
    return Snapshot(shape, dtype, _to_host(part), cut, stats, _hist(data, stats))


#: The dtypes the C helper summarises (others: NumPy's path).
_C_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def summarise_c(a: np.ndarray) -> tuple | None:
    """The C helper's ``(min, max, mean, std, counts | None)`` of NumPy float32/float64
    array ``a``, or None where it hands ``a`` to NumPy's steps (see ``_summary.c``), where
    ``a`` is neither C- nor Fortran-contiguous, or where the helper was not built. A
    Fortran-contiguous ``a`` (a recorded copy of a transposed matrix) is read in its memory
    order, so its mean is summed in that order, as a rearranged view's is (``rearranged``)."""
    fn = _summarise_c
    if fn is None:
        return None
    f = a.flags
    if f.c_contiguous:
        return fn(a, HIST_BINS)
    if f.f_contiguous:
        return fn(a.T, HIST_BINS)
    return None


def accelerated() -> bool:
    """Whether large values are summarised by the C helper (``viz/_summary.c``, built
    with the package where a C compiler is at hand) rather than by NumPy calls alone."""
    return _summarise_c is not None


def _edges(data: Any, shape: tuple[int, ...]) -> tuple[Any, tuple[bool, ...]]:
    """The edge elements a snapshot keeps for printing, and which axes were cut."""
    cut = []
    part = data
    e = PRINT_OPTS.edgeitems
    for axis, n in enumerate(shape):
        if n > 2 * e:
            part = part.take(_edge_index(n, e), axis=axis)
            cut.append(True)
        else:
            cut.append(False)
    return part, tuple(cut)


def rearranges(d: np.ndarray, b: np.ndarray) -> bool:
    """Whether view ``d`` of C-contiguous array ``b`` (``d.base is b``) holds each of
    ``b``'s elements once: a reshape or a permutation of axes (``b.T``), as the backward of
    ``t()``, ``transpose``, ``permute`` and ``view`` hands a grad on."""
    if d.base is not b or d.size != b.size or d.dtype != b.dtype or not b.flags.c_contiguous:
        return False
    # the axes, by stride, must tile the memory from its start: positive strides that tile
    # b.nbytes bytes span all of b, so d (which lies within b) starts where b starts (no
    # need to read the addresses: ``ndarray.ctypes`` costs more than the rest together)
    step = d.itemsize
    for stride, n in sorted((st, n) for st, n in zip(d.strides, d.shape) if n > 1):
        if stride != step:
            return False
        step *= n
    return True


def rearranged(a: np.ndarray, base: Snapshot | None) -> Snapshot | None:
    """The snapshot of ``a``, whose values are those ``base`` summarises (see
    :func:`rearranges`): ``base``'s statistics and histogram (its mean summed in ``base``'s
    order), ``a``'s own shape and edge elements."""
    if base is None or base.stats is None:  # (kept whole, or nothing to share)
        return snapshot(a)
    shape = tuple(int(s) for s in a.shape)
    part, cut = _edges(a, shape)
    return Snapshot(shape, base.dtype, _to_host(part), cut, base.stats, base.hist)


_EDGE_INDEX: dict[tuple[int, int], np.ndarray] = {}


def _edge_index(n: int, e: int) -> np.ndarray:
    """Indices of an axis of ``n`` kept by a snapshot: the ``e`` first and last and one
    placeholder after the first ones, which the printer skips."""
    idx = _EDGE_INDEX.get((n, e))
    if idx is None:
        if len(_EDGE_INDEX) > 4096:
            _EDGE_INDEX.clear()
        idx = _EDGE_INDEX[(n, e)] = np.array(list(range(e + 1)) + list(range(n - e, n)))
    return idx


def grab(t: Any) -> Any:
    """The cheapest copy that :func:`as_snapshot` can turn into a Snapshot later: a plain
    copy of the array (on its own device; a memory copy, whatever the size), summarised only
    by ``as_snapshot``. Used on the hot path."""
    if t is None:
        return None
    data = getattr(t, "_data", t)  # a Tensor, or a bare array
    if type(data) is np.ndarray:
        return _pool.copy(data)
    copy = getattr(data, "copy", None)
    return snapshot(t) if copy is None else copy()


def as_snapshot(x: Any) -> Snapshot | None:
    """A :class:`Snapshot` from what :func:`grab` returned (a large array is summarised
    now: statistics, histogram and edge values)."""
    if x is None or isinstance(x, Snapshot):
        return x
    if type(x) is np.ndarray and x.size <= SMALL_NUMEL:
        dt = x.dtype
        name = _DTYPE_NAMES.get(dt)
        if name is None:
            name = _DTYPE_NAMES[dt] = dt.name
        return Snapshot(x.shape, name, x, (False,) * x.ndim, None)
    return snapshot(x)


_DTYPE_NAMES: dict = {}  # NumPy dtype -> its name (``dtype.name`` is slow, asked by the 1000)
_FLOATS = {np.dtype(np.float32): "float32", np.dtype(np.float64): "float64"}


def one_value_preview(x: np.ndarray, dtype: str | None = None) -> Preview | None:
    """The :class:`Preview` of a 0-d or 1-d float32/float64 array of one element, made
    directly (the usual case: every gradient of a scalar chain); None for any other array.
    Equal to ``as_snapshot(x).preview()`` made the general way (``dtype``: the tensor's
    dtype name, where it is known)."""
    name = _FLOATS.get(x.dtype)
    if name is None:
        return None
    return scalar_preview(x.item(), dtype or name, x.ndim)


def scalar_preview(v: float, dtype: str, ndim: int) -> Preview | None:
    """:func:`one_value_preview` of the value ``v`` of a float32/float64 array of ``ndim``
    (0 or 1) dimensions, without the array; None where the general way is needed."""
    if ndim > 1 or PRINT_OPTS.sci_mode is not None:
        return None
    if ndim:
        return Preview(shape=[1], dtype=dtype, text=f"tensor([{_fast_one(v)}])", values=[v])
    return Preview(shape=[], dtype=dtype, text=f"tensor({_fast_one(v)})", values=v)


def preview_array(a: Any, dtype: str | None = None) -> Preview:
    """A :class:`Preview` of a plain array (handy for hand-built graphs and tests)."""
    arr = np.asarray(a)
    s = snapshot(arr)
    assert s is not None
    if dtype is not None:
        s.dtype = dtype
    return s.preview()


def _stats(data: Any) -> Stats | None:
    if data.size == 0 or data.dtype.kind not in "biuf":
        return None
    with np.errstate(all="ignore"):
        d = data.astype("float64") if data.dtype.kind == "b" else data
        if type(d) is not np.ndarray:  # CuPy: its own mean/std
            return Stats(min=float(d.min()), max=float(d.max()),
                         mean=float(d.mean(dtype="float64")),
                         std=float(d.std(dtype="float64")))
        # NumPy's mean and std (dtype float64) step by step, the mean computed once, in
        # blocks of float64 that stay in the CPU's cache (one block: converted once)
        flat = d.reshape(-1)
        n = flat.size
        x = _buffers()[0]
        block = len(x)
        if n <= block:
            x = x[:n]
            x[...] = flat
            mean = np.add.reduce(x) / n
            x -= mean
            x *= x
            ss = np.add.reduce(x)
        else:
            mean = sum(np.add.reduce(flat[i:i + block], dtype=np.float64)
                       for i in range(0, n, block)) / n
            ss = 0.0
            for i in range(0, n, block):
                part = flat[i:i + block]
                xp = x[:part.size]
                np.subtract(part, mean, out=xp, dtype=np.float64)
                xp *= xp
                ss += np.add.reduce(xp)
        return Stats(min=float(flat.min()), max=float(flat.max()), mean=float(mean),
                     std=float(np.sqrt(ss / n)))


def _hist(data: Any, stats: Stats | None, bins: int = HIST_BINS) -> Hist | None:
    """The histogram of ``data``'s finite values (on the array's own device), or None."""
    if stats is None:
        return None
    lo, hi = stats.min, stats.max
    xp = np if type(data) is np.ndarray else _module_of(data)
    with np.errstate(all="ignore"):
        d = data.astype("float64") if data.dtype.kind == "b" else data
        if not (math.isfinite(lo) and math.isfinite(hi)):  # NaN/inf: count the finite ones
            d = d[xp.isfinite(d)]
            if d.size == 0:
                return None
            lo, hi = float(d.min()), float(d.max())
        if lo == hi:  # one value: a bin range around it (wider than its ulp when large)
            pad = max(0.5, abs(lo) * 2.0**-20)
            lo, hi = lo - pad, hi + pad
        # values near both ends of the float64 range: hi - lo overflows, so bin the halves
        # (exact) and double the edges
        halve = not math.isfinite(hi - lo)
        if halve:
            d, lo, hi = d * 0.5, lo * 0.5, hi * 0.5
        if xp is np:
            return _binned(d, lo, hi, bins, 2.0 if halve else 1.0)
        counts, edges = xp.histogram(d, bins=bins, range=(lo, hi))
    if xp is not np:
        counts, edges = xp.asnumpy(counts), xp.asnumpy(edges)
    scale = 2.0 if halve else 1.0
    return Hist(counts=[int(c) for c in counts.tolist()],
                edges=[scale * float(x) for x in edges.tolist()])


def _module_of(data: Any) -> Any:
    try:
        from autograd_viz._backend import get_array_module
    except ImportError:  # pragma: no cover - the engine is always there in practice
        return np
    return get_array_module(data)


_BUFFERS = threading.local()


def _buffers() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """This thread's buffers of ``EXACT_HIST_NUMEL`` elements (two float64, an int32 and an
    intp) for values summarised in blocks: they stay in the CPU's cache, and no pass
    allocates (fresh memory for a temporary of a few hundred KiB costs a page fault per
    4 KiB on these machines, more than the arithmetic)."""
    bufs = getattr(_BUFFERS, "fk", None)
    if bufs is None:
        n = EXACT_HIST_NUMEL
        bufs = _BUFFERS.fk = (np.empty(n, np.float64), np.empty(n, np.float64),
                              np.empty(n, np.int32), np.empty(n, np.intp))
    return bufs


def bin_counts(f: np.ndarray, slots: int) -> np.ndarray:
    """For each row of 2-D float64 array ``f`` (values in ``[0, slots)``, at most
    ``EXACT_HIST_NUMEL`` in all), how many of its values truncate to each of ``0 .. slots -
    1``: an array of shape ``(rows, slots)``, made in this thread's buffers."""
    _, _, k32, kp = _buffers()
    rows, n = f.shape[0], f.size
    k = k32[:n].reshape(f.shape)
    k[...] = f  # (truncation; float64 to int32 is a vector instruction, to intp is not)
    if rows > 1:  # (row i counts into slots i * slots ...)
        k += (np.arange(rows, dtype=np.int32) * slots)[:, None]
    kp = kp[:n]
    kp[...] = k.reshape(-1)  # (bincount's own type: else it converts into fresh memory)
    return np.bincount(kp, minlength=rows * slots).reshape(rows, slots)


def _binned(d: np.ndarray, lo: float, hi: float, bins: int, times: float = 1.0) -> Hist:
    """``np.histogram(d, bins, (lo, hi))`` for an array of finite values in [lo, hi],
    binned in float64 in blocks (2-4x faster: no edge search); a value within an ulp of an
    inner edge may land in the bin beside the one NumPy picks. The edges are multiplied by
    ``times`` (values halved to keep ``hi - lo`` finite: 2)."""
    flat = d.reshape(-1)
    span = hi - lo
    scale = bins / span
    # (a range so small, subnormal, that bins / range overflows: divided by the range, then
    # times bins; the differences are exact there, so the values still fall in [0, bins])
    tiny = not math.isfinite(scale)
    buf = _buffers()[0]
    block = len(buf)
    counts = None
    for i in range(0, flat.size, block):
        part = flat[i:i + block] if i or flat.size > block else flat
        fn = buf[:part.size]
        np.subtract(part, lo, out=fn, dtype=np.float64)
        if tiny:
            fn /= span
            fn *= bins
        else:
            fn *= scale
        c = bin_counts(fn.reshape(1, -1), bins + 1)[0]  # (the values are in [0, bins])
        counts = c if counts is None else counts + c
    assert counts is not None  # (callers pass a non-empty array)
    return Hist.binned(fold_top(counts), lo, hi, times)


def fold_top(counts: np.ndarray) -> np.ndarray:
    """Counts of ``bins + 1`` slots (last axis) as ``bins`` bins: the last slot holds the
    values at the top edge (``hi`` itself), which belong to the last bin. Binning into one
    slot more than bins, rather than clamping every index, saves a pass over the values."""
    out = counts[..., :-1]
    out[..., -1] += counts[..., -1]
    return out


def format_tensor(a: np.ndarray, cut: tuple[bool, ...] | None = None) -> str:
    """Format ``a`` the way torch prints a tensor (without ``dtype=``/``grad_fn`` suffixes),
    using the engine's own printer.

    ``cut[axis]`` says that axis was summarised at snapshot time to its first and last
    elements around one placeholder; it is printed as ``...``, as torch does for large tensors.
    """
    if a.size == 0:
        return "tensor([])" if a.ndim <= 1 else f"tensor([], size={tuple(a.shape)})"
    if a.dtype.kind not in "biuf":  # complex and friends: readable, not torch-exact
        return f"tensor({np.array2string(a, separator=', ')})"
    if a.dtype == np.float16:
        a = a.astype(np.float32)
    summarize = bool(cut) and any(cut)
    if a.dtype.kind == "f" and PRINT_OPTS.sci_mode is None:
        if a.ndim == 0 or (a.ndim == 1 and not summarize):
            return _fast_vector(a.tolist())
        if a.ndim == 1:
            return _fast_edges(a.tolist())
        if a.ndim == 2:
            return _fast_matrix(a.tolist(), summarize)
    fmt = _Formatter(_summarized(a) if summarize else a, a.dtype.kind == "f")
    return "tensor(" + _str_fmt(a, 7, summarize, fmt) + ")"


def _fast_vector(vals: Any) -> str:
    """The engine's printer for a 0-d or 1-d float array given as Python floats, without
    numpy calls (previews are made by the thousand). Tested equal to the engine's output."""
    scalar = not isinstance(vals, list)
    if scalar or len(vals) == 1:  # one value: its own width, no padding (most previews)
        one = _fast_one(vals if scalar else vals[0])
        return f"tensor({one})" if scalar else f"tensor([{one}])"
    strs, width = _float_strings(vals)
    return "tensor(" + _row(strs, width, 7) + ")"


def _fast_edges(vals: list[float]) -> str:
    """:func:`_fast_vector` of a summarised vector: its edges around ``...`` (its middle,
    such as a snapshot's placeholder, neither printed nor measured)."""
    e = PRINT_OPTS.edgeitems
    if len(vals) <= 2 * e:
        return _fast_vector(vals)
    strs, width = _float_strings(vals[:e] + vals[-e:])
    return "tensor(" + _row(strs[:e] + [" ..."] + strs[e:], width, 7) + ")"


def _fast_matrix(rows: list[list[float]], summarize: bool) -> str:
    """The engine's printer for a 2-d float array given as nested Python floats; with
    ``summarize``, a dimension longer than twice ``edgeitems`` is printed as its edges around
    ``...`` (its middle entries, such as a snapshot's placeholder, are neither printed nor
    measured). Tested equal to the engine's output."""
    e = PRINT_OPTS.edgeitems
    cut_rows = summarize and len(rows) > 2 * e
    if cut_rows:
        rows = rows[:e] + rows[-e:]
    n = len(rows[0])
    cut_cols = summarize and n > 2 * e
    flat: list[float] = []
    for r in rows:
        flat += r[:e] + r[-e:] if cut_cols else r
    strs, width = _float_strings(flat)
    k = 2 * e if cut_cols else n
    text = []
    for i in range(0, len(strs), k):
        row = strs[i : i + k]
        text.append(_row(row[:e] + [" ..."] + row[e:] if cut_cols else row, width, 8))
    if cut_rows:
        text.insert(e, "...")
    return "tensor([" + (",\n" + " " * 8).join(text) + "])"


def _row(strs: list[str], width: int, indent: int) -> str:
    """One bracketed row of printed values (``_vector_str``), wrapped at the line width."""
    per_line = max(1, (PRINT_OPTS.linewidth - indent) // (width + 2))
    if len(strs) <= per_line:
        return "[" + ", ".join(strs) + "]"
    lines = [", ".join(strs[i : i + per_line]) for i in range(0, len(strs), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _float_strings(vals: list[float]) -> tuple[list[str], int]:
    """Each value as the engine's float formatter (``_Formatter``) prints it in a tensor of
    these values, padded to their common width, and that width (each value formatted once)."""
    p = PRINT_OPTS.precision
    finite = math.isfinite
    nz = [v for v in vals if v != 0 and finite(v)]
    if nz:
        mn, mx = min(map(abs, nz)), max(map(abs, nz))
        int_mode = all(map(float.is_integer, nz))
        if sci_needed(mn, mx, int_mode):
            strs = [f"{v:.{p}e}" for v in vals]
        elif int_mode:
            strs = [f"{v:.0f}." if finite(v) else f"{v:.0f}" for v in vals]
        else:
            strs = [f"{v:.{p}f}" for v in vals]
        # (the width is measured on the finite non-zero values only, as the engine does)
        width = max(map(len, strs)) if len(nz) == len(vals) else max(
            len(t) for t, v in zip(strs, vals) if v != 0 and finite(v))
        return [t.rjust(width) for t in strs], width
    # no finite non-zero value: integer mode, width 1
    return [f"{v:.0f}." if finite(v) else f"{v:.0f}" for v in vals], 1


def _fast_one(v: float) -> str:
    """One value as :func:`_fast_vector` prints it in a tensor of one element (the width is
    its own, so this is the general rule without the widths)."""
    if v == 0 or not math.isfinite(v):  # torch's formatter ignores these when choosing
        return f"{v:.0f}." if v == 0 else f"{v:.0f}"
    a = abs(v)
    integer = v.is_integer()
    if sci_needed(a, a, integer):
        return f"{v:.{PRINT_OPTS.precision}e}"
    return f"{v:.0f}." if integer else f"{v:.{PRINT_OPTS.precision}f}"


Preview.format_lazy = staticmethod(format_tensor)  # (see Preview: a lazy preview's text)
