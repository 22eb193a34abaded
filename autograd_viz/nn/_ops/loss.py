"""Loss nodes with PyTorch's names: ``MseLossBackward0``, ``NllLossBackward0``,
``NllLoss2DBackward0``, ``BinaryCrossEntropyBackward0``,
``BinaryCrossEntropyWithLogitsBackward0``. Backward is written in Tensor ops."""
from __future__ import annotations

from typing import Any

import numpy as np

from ... import _backend as B
from ...autograd.function import Op
from ...ops import _cupy_fused as _fused
from ...ops._fastgrad import _one, saved_arrays, tensor_level
from ...tensor import Tensor
from ._util import wrap, xp_of


def _reduce_arr(a: Any, reduction: str) -> Any:
    if reduction == "mean":
        return a.mean()
    if reduction == "sum":
        return a.sum()
    return a


class MseLossBackward0(Op):
    def forward(self, x, t, reduction):
        self.red, self.n = reduction, x.size
        self.save(self=self.inputs[0], target=self.inputs[1])
        d = x - t
        return _reduce_arr(d * d, reduction)

    def backward(self, g):
        x, t = self.saved()
        norm = 2.0 / self.n if self.red == "mean" else 2.0
        gx = (x - t) * norm * g
        n = self.needs
        return (gx if n[0] else None, -gx if n[1] else None)


def _mse_fast(self: MseLossBackward0, gd: Any) -> tuple | None:
    """``backward`` on arrays (see ``ops._fastgrad``): the same subtraction and products,
    the constant in the input's dtype as the Tensor product makes it (other dtypes: None)."""
    x, t = saved_arrays(self)
    if x.dtype != gd.dtype or t.dtype != gd.dtype or type(gd) is not np.ndarray:
        return None
    gx = (x - t) * _one(x, 2.0 / self.n if self.red == "mean" else 2.0) * gd
    n = self.needs
    return (gx if n[0] else None, -gx if n[1] else None)


MseLossBackward0._fast_arrays = _mse_fast
MseLossBackward0._fast_backward = tensor_level(_mse_fast)


#: the plain case of NllLossBackward0: these input and target dtypes, at most this many rows
#: (the total weight ``n`` is then exact in float32, as the sum of the ``n`` weights 1 is)
_PLAIN_X = (np.dtype(np.float32), np.dtype(np.float64))
_PLAIN_T = (np.dtype(np.int64), np.dtype(np.uint8))
_PLAIN_MAX_N = 1 << 24


class NllLossBackward0(Op):
    """``-weight[t] * input[..., t, ...]`` over the class dim 1 (input (N, C, ...)).

    The gradient is ``coef * g`` with ``coef`` (input's shape) zero but at the targets, where
    it is ``-weight[t]`` (divided by the total weight for ``'mean'``). The plain case (NumPy
    (N, C) input, no ``weight``, every target in range, ``ignore_index`` outside the classes)
    picks the targets with one fancy index in forward and builds ``coef`` only when backward
    runs; the general case builds it in forward. Same values either way."""

    coef: Any = None

    def forward(self, x, target, weight, ignore_index, reduction, checked=False):
        self.red, self.in_shape = reduction, x.shape
        if type(target) is not type(x):
            raise RuntimeError(
                f"Expected all tensors to be on the same device, but found at least two "
                f"devices, {B.device_of(x)} and {B.device_of(target)}! (when checking "
                f"argument for argument target in method nll_loss_forward)")
        if weight is None and x.ndim == 2 and x.dtype in _PLAIN_X and target.dtype in _PLAIN_T \
                and 0 < x.shape[0] <= _PLAIN_MAX_N and not 0 <= ignore_index < x.shape[1]:
            out = self._forward_plain(x, target, reduction, checked)
            if out is not None:
                return out
        return self._forward_general(x, target, weight, ignore_index, reduction)

    def _forward_plain(self, x, target, reduction, checked):
        n, c = x.shape
        xp = xp_of(x)
        if not checked and _max_class(target) >= c:
            return None  # (the general path raises torch's error)
        self.dt = dt = x.dtype
        # (idx: flat indices of the targets, a new array, so writing target later changes
        # nothing; the picked values as the general path's -(1 * picked))
        if xp is np or not x.flags.c_contiguous:
            self.idx = idx = xp.arange(0, n * c, c) + target
            losses = -x.take(idx)
        else:  # (one fused kernel on CuPy)
            losses, self.idx = _fused.nll_pick(x, target)
        self.val = -dt.type(1)  # (coef at the targets: -weight, / total weight for 'mean')
        if reduction == "mean":
            total = dt.type(n)  # (the weights' sum: n ones, exact)
            out = losses.sum() / total if xp is np else _fused.sum_div(losses, total)
            self.val = self.val / total
        elif reduction == "sum":
            out = losses.sum()
        else:
            out = losses
        return xp.asarray(out, dtype=x.dtype)

    def _coef(self) -> Any:
        """``coef``; in the plain case a new array each time (backward may hand it on)."""
        if self.coef is not None:
            return self.coef
        xp = xp_of(self.idx)
        if xp is not np:  # (the fused backward's kernel: the same values, NaN rows alike)
            return _fused.nll_grad(self.idx, self.val, xp.ones((), self.dt), self.in_shape)
        coef = xp.zeros(self.in_shape, dtype=self.dt)
        coef.ravel()[self.idx] = self.val
        return coef

    def _forward_general(self, x, target, weight, ignore_index, reduction):
        xp = xp_of(x)
        squeeze = x.ndim == 1
        if squeeze:
            x, target = x[None], target.reshape(1)
        c = x.shape[1]
        valid = target != ignore_index
        bad = valid & ((target < 0) | (target >= c))
        if bool(bad.any()):
            raise IndexError(f"Target {int(target[bad].ravel()[0])} is out of bounds.")
        t_safe = xp.where(valid, target, 0)
        w = (xp.asarray(weight)[t_safe] if weight is not None
             else xp.ones(t_safe.shape, dtype=x.dtype)) * valid
        w = w.astype(x.dtype, copy=False)
        picked = xp.take_along_axis(x, t_safe[:, None], axis=1)[:, 0]
        losses = -(w * picked)
        coef = xp.zeros(x.shape, dtype=x.dtype)
        xp.put_along_axis(coef, t_safe[:, None], -w[:, None], axis=1) if xp is np else \
            _cp_put_targets(coef, t_safe, -w)
        if reduction == "mean":
            total = w.sum()
            with np.errstate(invalid="ignore", divide="ignore"):
                out = losses.sum() / total
                coef = coef / total
        elif reduction == "sum":
            out = losses.sum()
        else:
            out = losses[0] if squeeze else losses
        self.coef = coef.reshape(self.in_shape) if squeeze else coef
        return xp.asarray(out, dtype=x.dtype)

    def backward(self, g):
        if self.red == "none" and len(self.in_shape) > 1:
            g = g.unsqueeze(1)
        return wrap(self._coef()) * g


def _nll_fast(self: NllLossBackward0, gd: Any) -> tuple | None:
    """``backward`` on arrays (see ``ops._fastgrad``): ``coef * g``, the same multiply."""
    coef = self.coef
    if coef is None:
        if gd.dtype != self.dt or type(gd) is not type(self.idx):
            return None
        if type(gd) is np.ndarray:
            coef = self._coef()
    elif coef.dtype != gd.dtype or type(coef) is not type(gd):
        return None
    if self.red == "none" and len(self.in_shape) > 1:
        gd = gd[:, None]
    if coef is None:
        return (_fused.nll_grad(self.idx, self.val, gd, self.in_shape),)
    return (coef * gd,)


def _max_class(target: Any) -> int:
    """The largest of the class indices ``target`` (a non-empty array) as an int; a negative
    int64 index counts as larger than any class (viewed as uint64)."""
    return int((target.view(np.uint64) if target.dtype == np.int64 else target).max())


def classes_checked(target: Tensor, c: int) -> bool:
    """Whether the class indices of the CuPy tensor ``target`` are known to lie in [0, c)
    without reading the GPU again. Reading a value waits for all the GPU work queued before
    it (~0.35 ms of a 1 ms training step on an H100), so the largest index is read once per
    tensor and kept with it until the tensor is written (its version counter moves) or given
    other data. False for NumPy tensors (the op's own check waits for nothing)."""
    d = target._data
    if type(d) is np.ndarray or not d.size:
        return False
    vc = target._vc
    seen = target.__dict__.get("_av_max_class")
    if seen is None or seen[0] is not d or seen[1] is not vc or seen[2] != vc.v:
        seen = target.__dict__["_av_max_class"] = (d, vc, vc.v, _max_class(d))
    return seen[3] < c


class NllLoss2DBackward0(NllLossBackward0):
    pass


NllLossBackward0._fast_arrays = _nll_fast  # (NllLoss2DBackward0 inherits both)
NllLossBackward0._fast_backward = tensor_level(_nll_fast)


def _cp_put_targets(coef: Any, t: Any, vals: Any) -> None:
    """``coef[n, t[n, ...], ...] = vals`` without ``put_along_axis`` (for CuPy)."""
    coef[B.along_grids(t[:, None], 1)] = vals[:, None]


class BinaryCrossEntropyBackward0(Op):
    def forward(self, x, t, weight, reduction):
        xp = xp_of(x)
        if bool(((x < 0) | (x > 1)).any()):
            raise RuntimeError("all elements of input should be between 0 and 1")
        self.red, self.n, self.w = reduction, x.size, weight
        self.save(self=self.inputs[0], target=self.inputs[1])
        with np.errstate(divide="ignore"):
            loss = (t - 1) * xp.maximum(xp.log1p(-x), -100) - t * xp.maximum(xp.log(x), -100)
        if weight is not None:
            loss = loss * weight
        return xp.asarray(_reduce_arr(loss, self.red), dtype=x.dtype)

    def backward(self, g):
        x, t = self.saved()
        n = self.needs
        scale = g / self.n if self.red == "mean" else g
        w = wrap(self.w) if self.w is not None else None
        gx = gt = None
        if n[0]:
            gx = (x - t) / ((1 - x) * x).clamp_min(1e-12) * scale
            gx = gx * w if w is not None else gx
        if n[1]:
            gt = ((-x).log1p().clamp_min(-100) - x.log().clamp_min(-100)) * scale
            gt = gt * w if w is not None else gt
        return gx, gt


def _log_sigmoid(x: Any) -> Any:
    xp = xp_of(x)
    return xp.minimum(x, 0) - xp.log1p(xp.exp(-xp.abs(x)))


class BinaryCrossEntropyWithLogitsBackward0(Op):
    def forward(self, x, t, weight, pos_weight, reduction):
        self.red, self.n, self.w, self.pw = reduction, x.size, weight, pos_weight
        self.save(self=self.inputs[0], target=self.inputs[1])
        ls = _log_sigmoid(x)
        if pos_weight is not None:
            ls = ls * ((pos_weight - 1) * t + 1)
        loss = (1 - t) * x - ls
        if weight is not None:
            loss = loss * weight
        return xp_of(x).asarray(_reduce_arr(loss, self.red), dtype=x.dtype)

    def backward(self, g):
        x, t = self.saved()
        n = self.needs
        scale = g / self.n if self.red == "mean" else g
        w = wrap(self.w) if self.w is not None else None
        gx = gt = None
        if n[0]:
            if self.pw is not None:
                pt = wrap(self.pw) * t
                gx = ((pt + 1 - t) * x.sigmoid() - pt) * scale
            else:
                gx = (x.sigmoid() - t) * scale
            gx = gx * w if w is not None else gx
        if n[1]:
            if self.pw is not None:
                s = x.sigmoid()
                gt = ((1 - s).log() - wrap(self.pw) * s.log()) * scale
            else:
                gt = -x * scale
            gt = gt * w if w is not None else gt
        return gx, gt


def target_dtype_ok(target: Tensor) -> bool:
    return target.dtype in (B.int64, B.uint8)
