"""Elementwise unary ops, ``clamp`` and ``where``: forward on arrays, backward in Tensor ops."""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import _backend as B
from ..autograd.function import Op
from ..tensor import Tensor
from ._core import (
    NOKW,
    _pretty,
    apply,
    as_tensor,
    check_out,
    inplace,
    not_implemented,
    promote,
    register,
    require_tensor,
    runner,
    sum_to,
)

_xp = B.get_array_module  # (one call less per op)


def _float_in(t: Tensor) -> Tensor:
    """Integer inputs of float-valued functions (exp, sin, ...) become the default float."""
    if t._data.dtype.kind in "biu":
        return t.to(B.default_float())
    return t


class ExpBackward0(Op):
    def forward(self, a):
        self.save_result()
        return _xp(a).exp(a)

    def backward(self, g):
        (r,) = self.saved()
        return g * r


class LogBackward0(Op):
    def forward(self, a):
        self.save(self=self.inputs[0])
        return _xp(a).log(a)

    def backward(self, g):
        (a,) = self.saved()
        return g / a


class Log2Backward0(LogBackward0):
    def forward(self, a):
        self.save(self=self.inputs[0])
        return _xp(a).log2(a)

    def backward(self, g):
        (a,) = self.saved()
        return g / (a * float(np.log(2.0)))


class Log10Backward0(LogBackward0):
    def forward(self, a):
        self.save(self=self.inputs[0])
        return _xp(a).log10(a)

    def backward(self, g):
        (a,) = self.saved()
        return g / (a * float(np.log(10.0)))


class Log1PBackward0(Op):
    def forward(self, a):
        self.save(self=self.inputs[0])
        return _xp(a).log1p(a)

    def backward(self, g):
        (a,) = self.saved()
        return g / (a + 1)


class Expm1Backward0(Op):
    def forward(self, a):
        self.save_result()
        return _xp(a).expm1(a)

    def backward(self, g):
        (r,) = self.saved()
        return g * (r + 1)


class SqrtBackward0(Op):
    def forward(self, a):
        self.save_result()
        return _xp(a).sqrt(a)

    def backward(self, g):
        (r,) = self.saved()
        return g / (2 * r)


class RsqrtBackward0(Op):
    def forward(self, a):
        self.save_result()
        return 1 / _xp(a).sqrt(a)

    def backward(self, g):
        (r,) = self.saved()
        return -0.5 * g * r ** 3


class SinBackward0(Op):
    def forward(self, a):
        self.save(self=self.inputs[0])
        return _xp(a).sin(a)

    def backward(self, g):
        (a,) = self.saved()
        return g * a.cos()


class CosBackward0(Op):
    def forward(self, a):
        self.save(self=self.inputs[0])
        return _xp(a).cos(a)

    def backward(self, g):
        (a,) = self.saved()
        return g * -a.sin()


class TanBackward0(Op):
    def forward(self, a):
        self.save_result()
        return _xp(a).tan(a)

    def backward(self, g):
        (r,) = self.saved()
        return g * (1 + r * r)


class TanhBackward0(Op):
    def forward(self, a):
        self.save_result()
        return _xp(a).tanh(a)

    def backward(self, g):
        (r,) = self.saved()
        return g * (1 - r * r)


class SigmoidBackward0(Op):
    def forward(self, a):
        self.save_result()
        xp = _xp(a)
        # numerically stable for large |a|
        return (xp.tanh(a * 0.5) + 1) * 0.5 if a.dtype.kind == "f" else 1 / (1 + xp.exp(-a))

    def backward(self, g):
        (r,) = self.saved()
        return g * r * (1 - r)


class ReluBackward0(Op):
    def forward(self, a):
        if a.dtype == np.bool_:
            raise RuntimeError("Boolean inputs not supported for relu")
        self.save_result()
        return _xp(a).maximum(a, 0).astype(a.dtype, copy=False)

    def backward(self, g):
        (r,) = self.saved()
        return apply(ThresholdBackwardBackward0, (g, r))


class ThresholdBackwardBackward0(Op):
    """relu's backward, ``threshold_backward(grad, result, 0)``, as a node of its own: the
    gradient passes where the result is positive, and the result gets a zero gradient (so
    higher-order backward reaches relu's node, with zeros, as in PyTorch)."""

    def forward(self, g, r):
        self.mask = r > 0
        return g * self.mask

    def backward(self, gg):
        n = self.needs
        return (gg * Tensor._wrap(self.mask) if n[0] else None,
                gg.new_zeros(tuple(gg.shape)) if n[1] else None)


class AbsBackward0(Op):
    def forward(self, a):
        if a.dtype == np.bool_:
            raise not_implemented("abs_cpu", B.bool_)
        self.save(self=self.inputs[0])
        return _xp(a).abs(a)

    def backward(self, g):
        (a,) = self.saved()
        return g * a.sign()


class NegBackward0(Op):
    def forward(self, a):
        if a.dtype == np.bool_:
            raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. "
                               "If you are trying to invert a mask, use the `~` or "
                               "`logical_not()` operator instead.")
        return -a

    def backward(self, g):
        return -g


class ReciprocalBackward0(Op):
    def forward(self, a):
        self.save_result()
        return 1 / a

    def backward(self, g):
        (r,) = self.saved()
        return -g * r * r


class _ZeroGrad(Op):
    """Piecewise-constant functions: the gradient is zero everywhere (as PyTorch gives)."""

    def forward(self, a):
        self.shape, self.dt = a.shape, a.dtype
        return self.fn(a)

    def backward(self, g):
        return g.new_zeros(tuple(g.shape))  # zeros_like(grad): no nan * 0, no graph


def _zg(name: str, fn: Any) -> type:
    return type(name, (_ZeroGrad,), {"fn": staticmethod(fn)})


SignBackward0 = _zg("SignBackward0", lambda a: _xp(a).sign(a))
FloorBackward0 = _zg("FloorBackward0", lambda a: _xp(a).floor(a))
CeilBackward0 = _zg("CeilBackward0", lambda a: _xp(a).ceil(a))
RoundBackward0 = _zg("RoundBackward0", lambda a: _xp(a).round(a))
TruncBackward0 = _zg("TruncBackward0", lambda a: _xp(a).trunc(a))


class ClampBackward1(Op):
    _out_rule = "exact"
    def forward(self, a, lo, hi):
        self.save(self=self.inputs[0])
        self.lo, self.hi = lo, hi
        if lo is None and hi is None:
            raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
        return _xp(a).clip(a, lo, hi).astype(a.dtype, copy=False)

    def backward(self, g):
        (a,) = self.saved()
        mask = None
        if self.lo is not None:
            mask = a >= self.lo
        if self.hi is not None:
            m2 = a <= self.hi
            mask = m2 if mask is None else mask.logical_and(m2)
        return where(mask, g, g.new_zeros(()))


class ClampMinBackward0(ClampBackward1):
    pass


class ClampMaxBackward0(ClampBackward1):
    pass


class ClampBackward0(Op):
    _out_rule = "exact"
    """clamp with tensor bounds."""

    def forward(self, a, lo, hi):
        self.save(self=self.inputs[0], min=self.inputs[1], max=self.inputs[2])
        self.meta = [(x.shape, x.dtype) for x in (a, lo, hi)]
        xp = _xp(a)
        return xp.minimum(xp.maximum(a, lo), hi)

    def backward(self, g):
        # PyTorch's clamp_backward_min_max: when min > max, max wins and min gets nothing
        a, lo, hi = self.saved()
        n = self.needs
        zero = g.new_zeros(())
        return (sum_to(where((a >= lo).logical_and(a <= hi), g, zero), *self.meta[0])
                if n[0] else None,
                sum_to(where((a < lo).logical_and(lo < hi), g, zero), *self.meta[1])
                if n[1] else None,
                sum_to(where((a > hi).logical_or(hi < lo), g, zero), *self.meta[2])
                if n[2] else None)


class WhereBackward0(Op):
    """``where(condition, a, b)``: the bool condition is saved, not a graph input."""

    def forward(self, a, b, condition):
        self.save(condition=condition)
        self.meta = [(x.shape, x.dtype) for x in (a, b)]
        return _xp(a).where(condition._data, a, b)

    def backward(self, g):
        (c,) = self.saved()
        n = self.needs
        z = g * 0
        return (sum_to(where(c, g, z), *self.meta[0]) if n[0] else None,
                sum_to(where(c, z, g), *self.meta[1]) if n[1] else None)


class _Logical(Op):
    _differentiable = False

    def forward(self, a, fn):
        return fn(a)


# ------------------------------------------------------------------------- functional API
def unary_op(cls: type, name: str, floating: bool = True):
    """The function ``name(input, *, out=None)`` running op ``cls`` elementwise (``floating``:
    integer inputs give the default float dtype); a non-Tensor input is torch's TypeError."""
    run = runner(cls)

    def fn(input: Tensor, *, out: Tensor | None = None) -> Tensor:
        if not isinstance(input, Tensor):
            require_tensor(name, "input", 1, input)
        x = _float_in(input) if floating and input._data.dtype.kind != "f" else input
        if out is None:
            return run(cls, (x,), None, NOKW)
        check_out(out, (x,), name)
        return apply(cls, (x,), out=out)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise ``{name}``" + (
        " (integer inputs give the default float dtype)." if floating else ".")
    return fn



exp = unary_op(ExpBackward0, "exp")
log = unary_op(LogBackward0, "log")
log2 = unary_op(Log2Backward0, "log2")
log10 = unary_op(Log10Backward0, "log10")
log1p = unary_op(Log1PBackward0, "log1p")
expm1 = unary_op(Expm1Backward0, "expm1")
sqrt = unary_op(SqrtBackward0, "sqrt")
rsqrt = unary_op(RsqrtBackward0, "rsqrt")
sin = unary_op(SinBackward0, "sin")
cos = unary_op(CosBackward0, "cos")
tan = unary_op(TanBackward0, "tan")
tanh = unary_op(TanhBackward0, "tanh")
sigmoid = unary_op(SigmoidBackward0, "sigmoid")
relu = unary_op(ReluBackward0, "relu", floating=False)
abs = unary_op(AbsBackward0, "abs", floating=False)  # noqa: A001
neg = unary_op(NegBackward0, "neg", floating=False)
reciprocal = unary_op(ReciprocalBackward0, "reciprocal")
sign = unary_op(SignBackward0, "sign", floating=False)
floor = unary_op(FloorBackward0, "floor", floating=False)
ceil = unary_op(CeilBackward0, "ceil", floating=False)
round = unary_op(RoundBackward0, "round", floating=False)  # noqa: A001
trunc = unary_op(TruncBackward0, "trunc", floating=False)
negative, absolute, fix = neg, abs, trunc


def square(input: Tensor) -> Tensor:
    """``input ** 2``."""
    return input ** 2


def clamp(input: Tensor, min: Any = None, max: Any = None, *,  # noqa: A002
          out: Tensor | None = None) -> Tensor:
    """Limit values to ``[min, max]`` (the gradient passes where the value was inside);
    the result has the promoted dtype of the input and the bounds, as in PyTorch."""
    require_tensor("clamp", "input", 1, input)
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        dt = B.result_type(*(x for x in (input, min, max) if x is not None))
        lo = min if min is not None else _extreme(input, dt, -1)
        hi = max if max is not None else _extreme(input, dt, 1)
        a, lo = promote(input, lo)
        a, hi = promote(a, hi)
        if out is not None:
            check_out(out, (a, lo, hi), "clamp")
        return apply(ClampBackward0, (a, lo, hi), out=out)
    return _clamp_scalar(ClampBackward1, "clamp", input, min, max, out)


def _extreme(like: Tensor, dt: B.dtype, sign: int) -> Tensor:
    """A 0-d bound that clamps nothing (+-inf, or the integer limits)."""
    v = float("inf") if dt.is_floating_point else (
        np.iinfo(dt.np).max if dt is not B.bool_ else True)
    if sign < 0:
        v = -v if dt.is_floating_point else (np.iinfo(dt.np).min if dt is not B.bool_
                                             else False)
    return Tensor._wrap(B.get_array_module(like._data).asarray(v, dtype=dt.np))


def _clamp_scalar(cls: type, kernel: str, input: Tensor, lo: Any, hi: Any,
                  out: Tensor | None) -> Tensor:
    dt = B.result_type(*(x for x in (input, lo, hi) if x is not None))
    if dt is B.bool_:
        raise not_implemented(f"{kernel}_scalar_cpu" if lo is not None and hi is not None
                              else f"clamp_{'min' if hi is None else 'max'}_scalar_cpu", dt)
    x = input if dt.np == input._data.dtype else input.to(dt)
    if out is not None:
        check_out(out, (x,), kernel)
    return apply(cls, (x,), out=out, lo=lo, hi=hi)


def clamp_min(input: Tensor, min: Any) -> Tensor:  # noqa: A002
    if isinstance(min, Tensor):
        return clamp(input, min=min)
    return _clamp_scalar(ClampMinBackward0, "clamp_min", input, min, None, None)


def clamp_max(input: Tensor, max: Any) -> Tensor:  # noqa: A002
    if isinstance(max, Tensor):
        return clamp(input, max=max)
    return _clamp_scalar(ClampMaxBackward0, "clamp_max", input, None, max, None)


clip = clamp


def where(condition: Tensor, input: Any = None, other: Any = None) -> Tensor:
    """Pick from ``input`` where ``condition`` holds, else from ``other``."""
    if input is None and other is None:
        return condition.nonzero(as_tuple=True)
    if not isinstance(condition, Tensor):
        from .creation import tensor
        condition = tensor(condition)
    if condition.dtype is not B.bool_:
        if condition.dtype is B.uint8:
            condition = condition.bool()
        else:
            raise RuntimeError(f"where expected condition to be a boolean tensor, but got a "
                               f"tensor with dtype {_pretty(condition.dtype)}")
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        input = as_tensor(input, condition)  # two scalars: on the condition's device
    a, b = promote(input, other)
    return apply(WhereBackward0, (a, b), condition=condition)


def logical_not(input: Tensor) -> Tensor:
    """Elementwise not (a bool tensor)."""
    return apply(_Logical, (input,), fn=np.logical_not)


def isnan(input: Tensor) -> Tensor:
    return apply(_Logical, (input,), fn=lambda a: _xp(a).isnan(a))


def isinf(input: Tensor) -> Tensor:
    return apply(_Logical, (input,), fn=lambda a: _xp(a).isinf(a))


def isfinite(input: Tensor) -> Tensor:
    return apply(_Logical, (input,), fn=lambda a: _xp(a).isfinite(a))


for _fn in (exp, log, log2, log10, log1p, expm1, sqrt, rsqrt, sin, cos, tan, tanh, sigmoid,
            relu, abs, neg, reciprocal, sign, floor, ceil, round, trunc, clamp, clamp_min,
            clamp_max, square):
    register(_fn.__name__)(_fn)
    setattr(Tensor, _fn.__name__ + "_", inplace(_fn.__name__ + "_", _fn))
for _alias, _fn in (("negative", neg), ("absolute", abs), ("clip", clamp), ("fix", trunc)):
    register(_alias)(_fn)
register("logical_not")(logical_not)
register("isnan")(isnan)
register("isinf")(isinf)
register("isfinite")(isfinite)
Tensor.__neg__ = neg
Tensor.__pos__ = lambda self: self
Tensor.__abs__ = abs
Tensor.__invert__ = lambda self: logical_not(self) if self.dtype is B.bool_ else apply(
    _Logical, (self,), fn=np.invert)


@register("where")
def _where_method(self: Tensor, condition: Tensor, other: Any) -> Tensor:
    return where(condition, self, other)


@register("new_full")
def new_full(self: Tensor, size: Any, fill_value: Any, *, dtype: Any = None,
             requires_grad: bool = False) -> Tensor:
    from .creation import full
    return full(size, fill_value, dtype=dtype or self.dtype, device=self.device,
                requires_grad=requires_grad)


@register("new_zeros")
def new_zeros(self: Tensor, *size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    from .creation import zeros
    return zeros(*size, dtype=dtype or self.dtype, device=self.device,
                 requires_grad=requires_grad)


@register("new_ones")
def new_ones(self: Tensor, *size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    from .creation import ones
    return ones(*size, dtype=dtype or self.dtype, device=self.device,
                requires_grad=requires_grad)


@register("new_tensor")
def new_tensor(self: Tensor, data: Any, *, dtype: Any = None,
               requires_grad: bool = False) -> Tensor:
    from .creation import tensor
    return tensor(data, dtype=dtype or self.dtype, device=self.device,
                  requires_grad=requires_grad)


@register("new_empty")
def new_empty(self: Tensor, *size: Any, dtype: Any = None,
              requires_grad: bool = False) -> Tensor:
    from .creation import empty
    return empty(*size, dtype=dtype or self.dtype, device=self.device,
                 requires_grad=requires_grad)


class _Write(Op):
    """An in-place write's node: the old value gets a zero gradient, the source (if a
    tensor) the gradient summed back to its shape and dtype."""

    def forward(self, a, src=None, value=None):
        self.sa = a.shape
        xp = _xp(a)
        out = xp.empty_like(a)
        if src is not None:
            self.src_meta = (src.shape, src.dtype)
            out[...] = B.move(src, B.device_of(a)) if type(src) is not type(a) else src
        else:
            out[...] = value
        return out

    def backward(self, g):
        n = self.needs
        ga = g.new_zeros(tuple(self.sa)) if n[0] else None
        if len(n) == 1:
            return ga
        gs = sum_to(g, *self.src_meta) if n[1] else None
        if gs is not None and gs.device != g.device:
            gs = gs.to(g.device)
        return ga, gs


class ZeroBackward0(_Write):
    pass


class FillBackward2(_Write):
    """``fill_(number)``."""


class FillBackward3(_Write):
    """``fill_(0-d tensor)``."""


class CopyBackwards(_Write):
    """``copy_(src)``."""


def _write(self: Tensor, cls: type, src: Tensor | None, value: Any) -> Tensor:
    from ..autograd import events, grad_mode
    from ._core import check_inplace
    from ._inplace import rebase
    check_inplace(self)
    if cls is CopyBackwards:  # (fill_ and zero_ may write an expanded tensor)
        from ._inplace import check_overlap, check_partial_overlap
        check_overlap(self)
        check_partial_overlap(self, (src,))
    tracked = grad_mode._state.enabled and (self._rg or (src is not None and src._rg))
    if not tracked:
        if src is not None:
            self._data[...] = B.move(src._data, self.device)
        else:
            self._data[...] = value
        self._vc.v += 1
        if events.enabled and cls is ZeroBackward0:
            events.emit("grad_reset", tensor=self, how="zero_")
        return self
    from ._inplace import _pre_write_alias_of
    inputs = (_pre_write_alias_of(self),) if src is None else (_pre_write_alias_of(self), src)
    r = apply(cls, inputs, src=src._data if src is not None else None, value=value) \
        if src is None else apply(cls, inputs)
    return rebase(self, r)


@register("zero_")
def zero_(self: Tensor) -> Tensor:
    """Fill with zeros in place."""
    return _write(self, ZeroBackward0, None, 0)


@register("fill_")
def fill_(self: Tensor, value: Any) -> Tensor:
    """Fill with ``value`` (a number or a 0-d tensor) in place."""
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor "
                               f"with {value.ndim} dimensions.")
        return _write(self, FillBackward3, value, None)
    return _write(self, FillBackward2, None, value)


@register("copy_")
def copy_(self: Tensor, src: Any, non_blocking: bool = False) -> Tensor:
    """Copy ``src`` (broadcast, cast to this tensor's dtype and device) into this tensor."""
    if not isinstance(src, Tensor):
        from .creation import tensor
        src = tensor(src)
    _check_broadcast_into(self, src)
    return _write(self, CopyBackwards, src, None)


def _check_broadcast_into(dst: Tensor, src: Tensor) -> None:
    """PyTorch's errors when ``src`` does not broadcast to ``dst``'s shape."""
    ds, ss = tuple(dst.shape), tuple(src.shape)
    try:
        full = np.broadcast_shapes(ds, ss)
    except ValueError:
        for k in range(1, max(len(ds), len(ss)) + 1):
            a = ds[-k] if k <= len(ds) else 1
            b = ss[-k] if k <= len(ss) else 1
            if a != b and 1 not in (a, b):
                raise RuntimeError(f"The size of tensor a ({a}) must match the size of tensor "
                                   f"b ({b}) at non-singleton dimension "
                                   f"{max(len(ds), len(ss)) - k}") from None
        raise
    if full != ds:
        raise RuntimeError(f"output with shape {list(ds)} doesn't match the broadcast shape "
                           f"{list(full)}")
