"""Reused memory for the recorder's copies of large values.

A recording copies every large value it logs (values change in place later) and drops the
copy once it is summarised, or when the recording is dropped. Fresh memory for each copy is
costly out of proportion: the allocator maps new pages for it and the kernel zero-fills each
4 KiB page at its first write (measured on the project's CI-like VMs: ~2.8 µs a page, more
than half of a recorded 64x64 chain or MLP step). So copies of NumPy arrays of at least
:data:`MIN_BYTES` are written into buffers kept here, by exact byte size, and a buffer is
handed out again once nothing but this pool refers to it (its reference count says so: every
view of a copy, however derived, refers to the buffer). At most :data:`CAP_BYTES` are kept;
:func:`release` lets them go.
"""
from __future__ import annotations

import sys
from collections import deque
from typing import Any

import numpy as np

#: Copies smaller than this are plain ``ndarray.copy()`` (no page to save).
MIN_BYTES = 8 << 10
#: The most bytes the pool keeps (buffers past this are plain copies, never kept).
CAP_BYTES = 64 << 20

_free: dict[int, deque] = {}  # byte size -> buffers of that size (in use or not)
_kept = 0  # bytes held in ``_free``
_refcount = sys.getrefcount
_ndarray = np.ndarray
_u8 = np.uint8


def _free_refs() -> int:
    """The reference count :func:`copy` sees for a buffer that nothing else holds (the
    deque, its local name, the call's argument: 3 on CPython 3.11; measured with the same
    steps rather than assumed, as an interpreter that borrows references counts fewer)."""
    q = deque([np.empty(1, _u8)])
    b = q[0]
    q.rotate(-1)
    return _refcount(b)


_FREE_REFS = _free_refs()


def copy(d: Any) -> Any:
    """A copy of array ``d``: in pooled memory when ``d`` is a NumPy array of at least
    :data:`MIN_BYTES`, and then in ``d``'s own layout when that is Fortran-contiguous (a
    transposed matrix, such as ``W.t()``'s output, is copied as one block, ~4x faster than
    reordered), else C-contiguous (as ``d.copy()``)."""
    n = d.nbytes
    if n < MIN_BYTES or type(d) is not _ndarray:
        return d.copy()
    q = _free.get(n)
    if q is not None:
        # the oldest buffers are the likeliest to be free; when the first two are in use,
        # the rest are too (they are dropped together: a replay, or the recording's end)
        b = q[0]
        q.rotate(-1)
        if _refcount(b) > _FREE_REFS:  # (someone else holds it: a copy, or a view of one)
            b = q[0]
            q.rotate(-1)
            if _refcount(b) > _FREE_REFS:
                b = None
        if b is not None:
            out = _ndarray(d.shape, d.dtype, b, order=_order(d))
            out[...] = d
            return out
    return _fresh(d, n, q)


def _order(d: np.ndarray) -> str:
    """The memory order of ``d``'s copy: "F" for a Fortran- and not C-contiguous array."""
    f = d.flags
    return "F" if f.f_contiguous and not f.c_contiguous else "C"


def _fresh(d: Any, n: int, q: deque | None) -> Any:
    """``copy(d)`` into a new buffer, kept by the pool while it is under its cap."""
    global _kept
    b = np.empty(n, _u8)
    if _kept + n <= CAP_BYTES:
        _kept += n
        (q if q is not None else _free.setdefault(n, deque())).append(b)
    out = _ndarray(d.shape, d.dtype, b, order=_order(d))
    out[...] = d
    return out


def held() -> int:
    """Bytes the pool holds now."""
    return _kept


def release() -> None:
    """Let go of every buffer the pool keeps (``autograd_viz.viz.release_buffers``; those
    still in use live on in their copies)."""
    global _kept
    _free.clear()
    _kept = 0
