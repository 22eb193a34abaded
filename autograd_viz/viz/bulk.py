"""Snapshots of many large copies of one shape and dtype at once.

A recorded training loop copies the same few shapes every step (activations, weights,
their gradients), and :func:`~autograd_viz.viz.preview.snapshot` summarises each copy with
about a dozen NumPy calls whose fixed cost is most of the work for a few hundred elements.
:func:`snapshots` stacks a group of copies and makes every call once for the whole group.
The results are the same, bit for bit, as ``snapshot(a)`` for each ``a``: the statistics
are the same reductions along each row (NumPy reduces each row of a stacked array as it
reduces the row alone), and the histogram is the same elementwise arithmetic (tested).
Copies this path does not cover (NaN or infinity, a single repeated value, a range that
overflows) go through ``snapshot`` one by one.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from autograd_viz._tensor_str import PRINT_OPTS

from . import preview
from .model import Hist, Stats
from .preview import (
    EXACT_HIST_NUMEL,
    HIST_BINS,
    SMALL_NUMEL,
    Snapshot,
    _buffers,
    _dtype_name,
    _edge_index,
    bin_counts,
    fold_top,
    snapshot,
)

#: The dtypes summarised in bulk (others go one by one).
DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
#: Copies of at most this many elements are summarised in bulk: above it the arithmetic
#: over the elements, not the calls, is the cost.
MAX_NUMEL = 4096
#: Elements stacked at most per pass: the float64 buffers of :mod:`.preview` hold them
#: (they stay in the CPU's cache).
BLOCK = EXACT_HIST_NUMEL


def groups(copies: Sequence[Any]) -> list[list[np.ndarray]]:
    """The copies :func:`snapshots` takes (NumPy arrays of a bulk dtype with more than
    ``SMALL_NUMEL`` and at most ``MAX_NUMEL`` elements, each once), grouped by shape and
    dtype; groups of one left out (nothing to share)."""
    by: dict[tuple, list[np.ndarray]] = {}
    seen: set[int] = set()
    for a in copies:
        if type(a) is np.ndarray and SMALL_NUMEL < a.size <= MAX_NUMEL \
                and a.dtype in DTYPES and id(a) not in seen:
            seen.add(id(a))
            by.setdefault((a.shape, a.dtype), []).append(a)
    return [g for g in by.values() if len(g) > 1]


def snapshots(arrays: Sequence[np.ndarray]) -> list[Snapshot | None]:
    """``[snapshot(a) for a in arrays]`` for NumPy arrays of one shape and one dtype of
    :data:`DTYPES` with more than ``SMALL_NUMEL`` elements, made together."""
    n = arrays[0].size
    per = max(1, BLOCK // n)
    out: list[Snapshot | None] = []
    for i in range(0, len(arrays), per):
        out += _block(arrays[i:i + per])
    return out


def _block(arrays: Sequence[np.ndarray]) -> list[Snapshot | None]:
    if preview._summarise_c is not None:
        return _block_c(arrays)
    a0 = arrays[0]
    shape = tuple(int(s) for s in a0.shape)
    dtype = _dtype_name(a0, a0)
    k, n = len(arrays), a0.size
    # the copies stacked as float64 (exact), in this thread's buffers (at most BLOCK values)
    xb, fb = _buffers()[:2]
    x = xb[:k * n].reshape(k, n)
    np.stack(arrays, out=x.reshape((k,) + shape))
    with np.errstate(all="ignore"):  # (as preview._stats: rows with NaN or inf go one by one)
        # statistics as preview._stats computes them for one flat array, row by row
        lo, hi = x.min(axis=1), x.max(axis=1)
        mean = np.add.reduce(x, axis=1) / n
        dev = np.subtract(x, mean[:, None], out=fb[:k * n].reshape(k, n))
        np.multiply(dev, dev, out=dev)
        std = np.sqrt(np.add.reduce(dev, axis=1) / n)
        # the histogram as preview._binned bins one array (rows it cannot take: one by one)
        span = hi - lo
        scale = HIST_BINS / np.where(span > 0, span, 1.0)
        # (rows one by one: NaN, inf, one value, a range that overflows or is so small that
        # bins / range does)
        ok = np.isfinite(lo) & np.isfinite(hi) & np.isfinite(span) & (lo != hi) \
            & np.isfinite(scale)
        scale = np.where(ok, scale, 0.0)
        f = np.subtract(x, np.where(ok, lo, 0.0)[:, None], out=dev)
        f *= scale[:, None]
    if not ok.all():
        f[~ok] = 0.0  # (rows left to the one-by-one path may hold anything: NaN, inf)
    # each row's last slot (the values at its top edge) folded into its last bin
    counts = fold_top(bin_counts(f, HIST_BINS + 1))
    # the edge elements kept for printing (exact in a0's dtype: the values came from it)
    part, cut_t = _edges(x.reshape((k,) + shape), shape)
    part = part.astype(a0.dtype)
    out: list[Snapshot | None] = []
    for i, (mn, mx, mu, sd, good) in enumerate(zip(
            lo.tolist(), hi.tolist(), mean.tolist(), std.tolist(), ok.tolist())):
        if not good:
            out.append(snapshot(arrays[i]))
            continue
        out.append(Snapshot(shape, dtype, part[i].copy(), cut_t,
                            Stats(min=mn, max=mx, mean=mu, std=sd),
                            Hist.binned(counts[i], mn, mx)))
    return out


def _edges(stacked: np.ndarray, shape: tuple[int, ...]) -> tuple[np.ndarray, tuple[bool, ...]]:
    """The edge elements of each of the ``stacked`` values (as ``preview._edges`` takes them
    from one), and which axes were cut."""
    part = stacked
    e = PRINT_OPTS.edgeitems
    cut = []
    for axis, m in enumerate(shape):
        if m > 2 * e:
            part = part.take(_edge_index(m, e), axis=axis + 1)
            cut.append(True)
        else:
            cut.append(False)
    return part, tuple(cut)


def _block_c(arrays: Sequence[np.ndarray]) -> list[Snapshot | None]:
    """``_block`` with the C helper (``preview.accelerated()``): each copy's statistics and
    histogram counts from it, the edge elements of all taken at once."""
    a0 = arrays[0]
    shape = tuple(int(s) for s in a0.shape)
    dtype = _dtype_name(a0, a0)
    part, cut = _edges(np.stack(arrays), shape)
    summarise = preview.summarise_c
    out: list[Snapshot | None] = []
    for i, a in enumerate(arrays):
        r = summarise(a)
        if r is None or r[4] is None:  # (NaN, infinity, one value, an overflowing range)
            out.append(snapshot(a))
            continue
        mn, mx, mean, std, counts = r
        out.append(Snapshot(shape, dtype, part[i].copy(), cut,
                            Stats(min=mn, max=mx, mean=mean, std=std),
                            Hist.binned(counts, mn, mx)))
    return out
