"""Array-level backward formulas for the hottest ops, used when backward builds no graph.

Each op's ``backward`` (beside its ``forward``) is the definition: it is written in Tensor ops
so that ``create_graph=True`` works. Run without a graph, those Tensor ops cost a dispatch
each (promotion, a node object, a Tensor) around a tiny NumPy call. The functions here compute
*the same NumPy operations in the same order* directly on arrays, so the gradients are
bit-for-bit those of ``backward`` (``tests/test_fastgrad.py`` checks every one against it).

A formula returns the tuple of input gradients as arrays (None where ``backward`` gives
None), or None to hand over to ``backward`` — it does so whenever dtypes are mixed (PyTorch's
promotion rules then apply) or a case is not covered. The engine uses them only for a
backward without ``create_graph`` and without listeners, keeping grads as arrays between
nodes; ``Op.apply`` uses the Tensor-level version (``tensor_level``) while grad mode is off.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import _backend as B
from ..autograd.function import FREED_MSG, Op, SavedOutput, SavedTensor
from ..tensor import Tensor
from . import _cupy_fused, arith, join, linalg, reduce, shape, unary

_wrap = Tensor._wrap
_generic = np.generic


def _w(x: Any) -> Tensor:
    """A result array as a Tensor (NumPy scalars become 0-d arrays, as ``apply`` does)."""
    if isinstance(x, _generic):
        x = np.asarray(x)
    return _wrap(x)


def saved_arrays(node: Op) -> list:
    """The arrays of ``node``'s saved tensors, with ``saved()``'s checks and errors."""
    if node._freed:
        raise RuntimeError(FREED_MSG)
    saved = node._saved
    if saved is None:
        return []
    return [None if s is None else _saved_array(node, s) for s in saved]


def saved_pair(node: Op) -> tuple:
    """``saved_arrays`` of a binary op (two saved tensors, either None)."""
    if node._freed:
        raise RuntimeError(FREED_MSG)
    sa, sb = node._saved
    return (None if sa is None else sa.tensor._data
            if type(sa) is SavedTensor and sa.tensor._vc.v == sa.version
            else _saved_array(node, sa),
            None if sb is None else sb.tensor._data
            if type(sb) is SavedTensor and sb.tensor._vc.v == sb.version
            else _saved_array(node, sb))


def _saved_array(node: Op, s: Any) -> Any:
    """The array of one saved tensor (checked against in-place changes)."""
    if type(s) is SavedOutput:  # (the op's own output: data and version kept)
        if s.vc.v != s.version:
            s.unpack(node)  # raises the in-place modification error
        return s.data
    t = s.tensor
    if t._vc.v != s.version:
        s.unpack(node)  # raises the in-place modification error
    return t._data


def saved_output(node: Op) -> Any:
    """The array of the one saved output of a unary op (``saved_arrays(node)[0]``)."""
    if node._freed:
        raise RuntimeError(FREED_MSG)
    s = node._saved[0]
    if type(s) is not SavedOutput:  # (rewritten by an in-place op: a SavedTensor)
        return _saved_array(node, s)
    if s.vc.v != s.version:
        s.unpack(node)  # raises the in-place modification error
    return s.data


def sum_to(g: Any, shape: tuple, dt: Any) -> Any:
    """``_core.sum_to`` on an array."""
    if g.shape == shape and (dt is None or g.dtype is dt):  # (NumPy's dtypes are singletons)
        return g
    gshape = g.shape
    if gshape != shape:
        lead = len(gshape) - len(shape)
        axes = tuple(range(lead)) + tuple(
            i + lead for i, s in enumerate(shape) if s == 1 and gshape[i + lead] != 1)
        if shape and len(axes) == lead:  # (a bias: leading axes only, summed straight to
            s = None if type(g) is np.ndarray else _cupy_fused.sum_leading(g, lead)
            g = g.sum(axis=axes, dtype=g.dtype) if s is None else s  # ``shape``: an array
        else:                              # of its own, which ``.grad`` can take over as is)
            if axes:
                g = g.sum(axis=axes, keepdims=True, dtype=g.dtype)
            if lead or g.shape != shape:
                g = g.reshape(shape)
    if dt is not None and g.dtype != dt:
        g = g.astype(dt)
    return g


# Every formula takes the node and the incoming grad's array and returns the input grads as
# arrays (None where backward gives None), or None to hand over to backward.

# ---------------------------------------------------------------------------- binary
# (the hottest formulas skip the sum_to call when nothing was broadcast or cast: every
# elementwise op of a chain runs one)
def _add(self: Any, gd: Any) -> tuple | None:
    if self.alpha != 1:
        return None
    n = self.needs
    shape, dt = gd.shape, gd.dtype
    return ((gd if shape == self.sa and dt is self.da else sum_to(gd, self.sa, self.da))
            if n[0] else None,
            (gd if shape == self.sb and dt is self.db else sum_to(gd, self.sb, self.db))
            if n[1] else None)


def _sub(self: Any, gd: Any) -> tuple | None:
    if self.alpha != 1:
        return None
    n = self.needs
    shape, dt = gd.shape, gd.dtype
    if n[1]:
        ng = -gd
        gb = ng if shape == self.sb and dt is self.db else sum_to(ng, self.sb, self.db)
    else:
        gb = None
    return ((gd if shape == self.sa and dt is self.da else sum_to(gd, self.sa, self.da))
            if n[0] else None, gb)


def _mul(self: Any, gd: Any) -> tuple | None:
    a, b = saved_pair(self)
    dt = gd.dtype
    if (a is not None and a.dtype is not dt and a.dtype != dt) or \
            (b is not None and b.dtype is not dt and b.dtype != dt):
        return None
    if self.sa is None:  # (both inputs saved: their shapes and dtypes are theirs)
        return _times(gd, b, a.shape, a.dtype), _times(gd, a, b.shape, b.dtype)
    return (None if b is None else _times(gd, b, self.sa, self.da),
            None if a is None else _times(gd, a, self.sb, self.db))


def _times(gd: Any, other: Any, shape: tuple, dt: Any) -> Any:
    """``gd * other`` reduced to an input's ``shape`` and dtype (``sum_to`` only where the
    product was broadcast or promoted)."""
    g = gd * other
    return g if g.shape == shape and g.dtype is dt else sum_to(g, shape, dt)


def _div(self: Any, gd: Any) -> tuple | None:
    a, b = saved_pair(self)
    dt = gd.dtype
    if dt.kind != "f" or b.dtype != dt or (a is not None and a.dtype != dt):
        return None
    n = self.needs
    return (sum_to(gd / b, self.sa, self.da) if n[0] else None,
            sum_to(-gd * a / (b * b), self.sb, self.db) if n[1] else None)


# ----------------------------------------------------------------------------- unary
def _unary(formula: Any, result: bool = False) -> Any:
    """A one-input op whose backward is ``formula(grad, saved)`` on same-dtype arrays
    (``result``: what it saved is its own output)."""
    def fast(self: Any, gd: Any) -> tuple | None:
        (s,) = (saved_output(self),) if result else saved_arrays(self)
        dt = gd.dtype
        if (s.dtype is not dt and s.dtype != dt) or dt.kind != "f":
            return None
        return (formula(gd, s),)
    return fast


_CONST: dict = {}


def _one(x: Any, v: Any) -> Any:
    """The constant ``v`` in ``x``'s dtype, for an expression with the array ``x``: a 0-d
    NumPy array made once per dtype and value (read-only; NumPy's fastest operand), or a
    NumPy scalar for a CuPy ``x`` (CuPy takes no NumPy arrays)."""
    key = (x.dtype, v)
    c = _CONST.get(key)
    if c is None:
        c = _CONST[key] = np.asarray(v, dtype=x.dtype)
        c.flags.writeable = False
    return c if x.__class__ is np.ndarray else c[()]


def _neg(self: Any, gd: Any) -> tuple:
    return (-gd,)


def _pow_scalar(self: Any, gd: Any) -> tuple | None:
    (a,) = saved_arrays(self)
    p = self.exponent
    if a.dtype != gd.dtype or gd.dtype.kind != "f" or not isinstance(p, (int, float)) \
            or isinstance(p, bool) or p == 0:
        return None
    ap = a ** (p - 1)
    if isinstance(p - 1, (int, float)):
        ap = ap.astype(a.dtype, copy=False)
    return (gd * _one(gd, p) * ap,)


# -------------------------------------------------------------------------- reductions
def _expand_back(gd: Any, in_shape: tuple, axes: Any, keepdim: bool) -> Any:
    if axes is not None and not keepdim:
        gd = gd.reshape(tuple(_unsqueezed(gd.shape, axes)))
    elif axes is None and gd.ndim != len(in_shape):
        gd = gd.reshape((1,) * len(in_shape))
    return B.get_array_module(gd).broadcast_to(gd, in_shape)


def _unsqueezed(shape: tuple, axes: tuple) -> list:
    out = list(shape)
    for ax in sorted(axes):
        out.insert(ax, 1)
    return out


def _sum(self: Any, gd: Any) -> tuple:
    r = _expand_back(gd, self.in_shape, self.axes, self.keepdim)
    if r.dtype != self.in_dt:
        r = r.astype(self.in_dt)
    return (r,)


def _mean(self: Any, gd: Any) -> tuple | None:
    if gd.dtype.kind != "f":
        return None
    r = _expand_back(gd, self.in_shape, self.axes, self.keepdim)
    return (r / _one(gd, self.n),)


def _softmax_dim(self: Any, gd: Any, r: Any) -> int | None:
    if r.dtype != gd.dtype or gd.dtype.kind != "f" or gd.ndim == 0:
        return None
    return self.dim % gd.ndim  # what Tensor.sum's dim check makes of it


def _log_softmax(self: Any, gd: Any) -> tuple | None:
    (r,) = saved_arrays(self)
    d = _softmax_dim(self, gd, r)
    if d is None:
        return None
    if r.__class__ is not np.ndarray:
        return (_cupy_fused.log_softmax_grad(gd, r, d),)
    return (gd - np.exp(r) * gd.sum(axis=(d,), keepdims=True, dtype=gd.dtype),)


def _softmax(self: Any, gd: Any) -> tuple | None:
    (r,) = saved_arrays(self)
    d = _softmax_dim(self, gd, r)
    if d is None:
        return None
    return (r * (gd - (gd * r).sum(axis=(d,), keepdims=True, dtype=gd.dtype)),)


# ----------------------------------------------------------------------------- linalg
def _mm(self: Any, gd: Any) -> tuple | None:
    a, b = saved_arrays(self)
    dt = gd.dtype
    if (a is not None and a.dtype != dt) or (b is not None and b.dtype != dt):
        return None
    return (gd @ b.T if b is not None else None,
            a.T @ gd if a is not None else None)


# ----------------------------------------------------------------------------- shape
def _t(self: Any, gd: Any) -> tuple:
    return (gd.T,)  # (``g.t()``: the same view; ``.grad`` copies a view it is handed)


def _view(self: Any, gd: Any) -> tuple:  # (and squeeze: its backward is this reshape)
    return (gd.reshape(self.in_shape),)


def _transpose(self: Any, gd: Any) -> tuple:
    return (gd.swapaxes(*self.d),)


def _permute(self: Any, gd: Any) -> tuple:
    return (gd.transpose(tuple(np.argsort(self.dims).tolist())),)


def _unsqueeze(self: Any, gd: Any) -> tuple:
    return (gd.squeeze(axis=(self.dim,)),)


def _expand(self: Any, gd: Any) -> tuple:
    return (sum_to(gd, tuple(self.in_shape), None),)


def _cat(self: Any, gd: Any) -> tuple | None:
    """Each input's slice of the grad along ``dim`` (``narrow``'s view); None where an input
    had another dtype (a cast) or was a skipped empty tensor."""
    if self.skip or any(dt != gd.dtype for dt in self.dts):
        return None
    index = [slice(None)] * gd.ndim
    out = []
    start = 0
    for s in self.sizes:
        index[self.dim] = slice(start, start + s)
        out.append(gd[tuple(index)])
        start += s
    return tuple(out)


def _stack(self: Any, gd: Any) -> tuple | None:
    """``unbind``: each input's index along ``dim`` (a view); None where dtypes differ."""
    if any(dt != gd.dtype for dt in self.dts):
        return None
    lead = (slice(None),) * self.dim
    return tuple(gd[lead + (i,)] for i in range(len(self.dts)))


FAST = {
    arith.AddBackward0: _add,
    arith.SubBackward0: _sub,
    arith.MulBackward0: _mul,
    arith.DivBackward0: _div,
    arith.PowBackward0: _pow_scalar,
    unary.NegBackward0: _neg,
    unary.ExpBackward0: _unary(lambda g, r: g * r, result=True),
    unary.LogBackward0: _unary(lambda g, a: g / a),
    unary.SqrtBackward0: _unary(lambda g, r: g / (r * _one(r, 2)), result=True),
    unary.TanhBackward0: _unary(lambda g, r: g * (_one(r, 1) - r * r), result=True),
    unary.SigmoidBackward0: _unary(lambda g, r: g * r * (_one(r, 1) - r), result=True),
    # (NumPy casts the bool mask to g's dtype inside the multiply: the same 1.0/0.0 factors
    # as backward's explicit cast, one pass less)
    unary.ReluBackward0: _unary(lambda g, r: g * (r > _one(r, 0)) if r.__class__ is np.ndarray
                                else _cupy_fused.relu_grad(g, r), result=True),
    reduce.SumBackward0: _sum,
    reduce.SumBackward1: _sum,
    reduce.MeanBackward0: _mean,
    reduce.MeanBackward1: _mean,
    reduce.LogSoftmaxBackward0: _log_softmax,
    reduce.SoftmaxBackward0: _softmax,
    linalg.MmBackward0: _mm,
    shape.TBackward0: _t,
    shape.ViewBackward0: _view,  # (ReshapeAliasBackward0 inherits it: nothing of its own)
    shape.UnsafeViewBackward0: _view,
    shape.SqueezeBackward0: _view,  # (its subclasses inherit it)
    shape.TransposeBackward0: _transpose,
    shape.PermuteBackward0: _permute,
    shape.UnsqueezeBackward0: _unsqueeze,
    shape.ExpandBackward0: _expand,
    join.CatBackward0: _cat,
    join.StackBackward0: _stack,
}


def tensor_level(fn: Any) -> Any:
    """The ``Op._fast_backward`` method made from an array formula: Tensors in and out (the
    incoming grad itself where the formula passes its array through, as backward does)."""
    def fast(self: Any, g: Tensor) -> tuple | None:
        gd = g._data
        r = fn(self, gd)
        if r is None:
            return None
        return tuple(None if x is None else g if x is gd else _w(x) for x in r)
    fast.__name__ = fast.__qualname__ = f"fast_{fn.__name__.strip('_')}"
    return fast


def install() -> None:
    """Attach every formula to its op class: ``_fast_arrays`` (used by the engine, which keeps
    the grads of a backward without graph as arrays) and ``_fast_backward`` (``Op.apply``).
    Subclasses with their own ``forward`` or ``backward`` (e.g. ``Log2Backward0(LogBackward0)``)
    keep None: ``Op.__init_subclass__`` gives them their own when they are created."""
    for cls, fn in FAST.items():
        cls._fast_arrays = fn
        cls._fast_backward = tensor_level(fn)


install()
