"""Elementwise binary ops with broadcasting and PyTorch's type promotion: forward on
arrays, backward in Tensor ops right beside it (so ``create_graph=True`` works)."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import _backend as B
from ..autograd.function import RESULT, Op
from ..tensor import Tensor
from ._core import (
    NOKW,
    SCALARS,
    apply,
    check_out,
    grad_for,
    inplace,
    not_implemented,
    promote,
    register,
    require_tensor,
    runner,
    sum_to,
)


class _Binary(Op):
    __slots__ = ("sa", "da", "sb", "db", "alpha")  # no per-node __dict__ on the hot path

    def _meta(self, a, b):
        self.sa, self.da, self.sb, self.db = a.shape, a.dtype, b.shape, b.dtype

    def _ga(self, g):
        return sum_to(g, self.sa, self.da)

    def _gb(self, g):
        return sum_to(g, self.sb, self.db)


class AddBackward0(_Binary):
    def forward(self, a, b, alpha=1):
        if self.needs:  # (shapes and dtypes for backward: not read without grad)
            self.sa, self.da, self.sb, self.db = a.shape, a.dtype, b.shape, b.dtype
        self.alpha = alpha
        return a + b if alpha == 1 else (a + alpha * b).astype(a.dtype, copy=False)

    def backward(self, g):
        n = self.needs
        return (self._ga(g) if n[0] else None,
                self._gb(g if self.alpha == 1 else g * self.alpha) if n[1] else None)


class SubBackward0(_Binary):
    def forward(self, a, b, alpha=1):
        if self.needs:
            self.sa, self.da, self.sb, self.db = a.shape, a.dtype, b.shape, b.dtype
        self.alpha = alpha
        return a - b if alpha == 1 else (a - alpha * b).astype(a.dtype, copy=False)

    def backward(self, g):
        n = self.needs
        return (self._ga(g) if n[0] else None,
                self._gb(-g if self.alpha == 1 else g * -self.alpha) if n[1] else None)


class RsubBackward1(Op):
    """``scalar - alpha * tensor`` (the scalar is no graph input, as in PyTorch)."""

    def forward(self, a, other, alpha=1):
        self.sa, self.da, self.alpha = a.shape, a.dtype, alpha
        c = B.get_array_module(a).asarray(other, dtype=a.dtype)
        return c - a if alpha == 1 else c - alpha * a

    def backward(self, g):
        return -g if self.alpha == 1 else g * -self.alpha


class MulBackward0(_Binary):
    def forward(self, a, b):
        n = self.needs
        if n:
            i = self.inputs
            if n[0] and n[1]:  # both inputs saved: backward reads their shapes and dtypes
                self.sa = None
                self.save_pair("self", i[0], "other", i[1])
            else:
                self.sa, self.da, self.sb, self.db = a.shape, a.dtype, b.shape, b.dtype
                self.save_pair("self", i[0] if n[1] else None,
                               "other", i[1] if n[0] else None)
        return a * b

    def backward(self, g):
        a, b = self.saved()
        if self.sa is None:  # (both saved)
            ad, bd = a._data, b._data
            return sum_to(g * b, ad.shape, ad.dtype), sum_to(g * a, bd.shape, bd.dtype)
        return (self._ga(g * b) if b is not None else None,
                self._gb(g * a) if a is not None else None)


class DivBackward0(_Binary):
    def forward(self, a, b):
        n = self.needs
        if n:
            self._meta(a, b)
            i = self.inputs
            self.save_pair("self", i[0] if n[1] else None,
                           "other", i[1] if n[0] or n[1] else None)
        if a.dtype.kind != "f" and b.dtype.kind != "f":
            dt = B.default_float().np
            return (a.astype(dt) / b.astype(dt)).astype(dt)
        return a / b

    def backward(self, g):
        a, b = self.saved()
        n = self.needs
        return (self._ga(g / b) if n[0] else None,
                self._gb(-g * a / (b * b)) if n[1] else None)


class PowBackward0(Op):
    """``tensor ** scalar``."""

    def forward(self, a, exponent):
        self.exponent = exponent
        self.save(self=self.inputs[0])
        self.da = a.dtype
        if a.dtype.kind in "iu" and isinstance(exponent, int) and exponent < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        return (a ** exponent).astype(a.dtype, copy=False)

    def backward(self, g):
        (a,) = self.saved()
        p = self.exponent
        if p == 0:
            return a.new_zeros(tuple(a.shape))  # zeros_like(self), as PyTorch
        return g * p * a ** (p - 1)


class PowBackward1(_Binary):
    """``tensor ** tensor``."""

    def forward(self, a, b):
        self._meta(a, b)
        self.save(self=self.inputs[0], exponent=self.inputs[1], result=RESULT)
        return a ** b

    def backward(self, g):
        # PyTorch's pow_backward_self / pow_backward_exponent, masks included
        from .unary import where
        a, b, r = self.saved()
        n = self.needs
        ga = gb = None
        if n[0]:
            ga = self._ga(where(b == 0.0, g.new_zeros(()), g * (b * a ** (b - 1))))
        if n[1]:
            zero = (a == 0).logical_and(b >= 0)
            gb = self._gb(g * where(zero, g.new_zeros(()), r * a.log()))
        return ga, gb


class PowBackward2(Op):
    """``scalar ** tensor`` (the scalar base is no graph input, as in PyTorch)."""

    def forward(self, b, base):
        self.base = base
        self.save(exponent=self.inputs[0], result=RESULT)
        xp = B.get_array_module(b)
        return xp.power(xp.asarray(base, dtype=b.dtype), b)

    def backward(self, g):
        b, r = self.saved()
        base = float(self.base)
        if base == 0:  # PyTorch masks 0 ** b for b >= 0 to a zero gradient
            from .unary import where
            return where(b >= 0, g * 0, g * r * float("-inf"))
        return g * r * (math.log(base) if base > 0 else float("nan"))


class RemainderBackward0(_Binary):
    def forward(self, a, b=None, scalar=None):
        """``remainder(a, b)``; with ``scalar`` (a Python number) ``a`` is the only input."""
        xp = B.get_array_module(a)
        if b is None:
            self.sa, self.da = a.shape, a.dtype
            return self._fn(xp)(a, xp.asarray(scalar, dtype=a.dtype))
        self._meta(a, b)
        n = self.needs
        if n and n[1]:
            i = self.inputs
            self.save(self=i[0], other=i[1])
        return self._fn(xp)(a, b)

    @staticmethod
    def _fn(xp):
        return xp.remainder

    @staticmethod
    def _round(q):
        return q.floor()

    def backward(self, g):
        n = self.needs
        if len(n) == 1:
            return self._ga(g)
        gb = None
        if n[1]:
            a, b = self.saved()
            gb = self._gb(-g * self._round(a / b))
        return (self._ga(g) if n[0] else None), gb


class FmodBackward0(RemainderBackward0):
    @staticmethod
    def _fn(xp):
        return xp.fmod

    @staticmethod
    def _round(q):
        return q.trunc()


class RemainderBackward1(RemainderBackward0):
    """``remainder(tensor, tensor)`` (``RemainderBackward0`` is the Python-scalar form)."""


class FmodBackward1(FmodBackward0):
    """``fmod(tensor, tensor)``."""


class NotImplementedBackward(Op):
    """A node whose derivative PyTorch does not implement (``scalar % tensor``)."""

    _name = "NotImplemented"

    def forward(self, a, fn, what):
        self.what = what
        return fn(a)

    def backward(self, g):
        raise RuntimeError(f"derivative for aten::{self.what} is not implemented")


class _Compare(Op):
    _differentiable = False

    def forward(self, a, b, fn):
        return fn(a, b)


class FloorDivide(Op):
    _name = "FloorDivideBackward0"
    _differentiable = False

    def forward(self, a, b):
        xp = B.get_array_module(a)
        return xp.floor_divide(a, b)


class _MaxMin(_Binary):
    def forward(self, a, b):
        self._meta(a, b)
        self.save(self=self.inputs[0], other=self.inputs[1])
        xp = B.get_array_module(a)
        return xp.maximum(a, b) if self._max else xp.minimum(a, b)

    def backward(self, g):
        # PyTorch: where(self == other, grad / 2, grad).masked_fill_(self < other, 0)
        from .index import masked_fill
        from .unary import where
        a, b = self.saved()
        n = self.needs
        half = where(a == b, g / 2, g)
        lose_a, lose_b = (a < b, a > b) if self._max else (a > b, a < b)
        return (self._ga(masked_fill(half, lose_a, 0)) if n[0] else None,
                self._gb(masked_fill(half, lose_b, 0)) if n[1] else None)


class MaximumBackward0(_MaxMin):
    _max = True


class MinimumBackward0(_MaxMin):
    _max = False


# ------------------------------------------------------------------------- functional API
# each hot op calls its own copy of ``apply`` (see ``_core.runner``)
_run_add, _run_sub = runner(AddBackward0), runner(SubBackward0)
_run_mul, _run_div = runner(MulBackward0), runner(DivBackward0)


def add(input: Any, other: Any, *, alpha: Any = 1, out: Tensor | None = None) -> Tensor:
    """``input + alpha * other`` with broadcasting."""
    a, b = promote(input, other)
    if type(alpha) is int and alpha == 1 and out is None:  # (the hot path: no **kw call)
        return _run_add(AddBackward0, (a, b), None, NOKW)
    _check_alpha(a, alpha)
    if out is not None:
        check_out(out, (a, b), "add")
    return apply(AddBackward0, (a, b), out=out, alpha=alpha)


def sub(input: Any, other: Any, *, alpha: Any = 1, out: Tensor | None = None) -> Tensor:
    """``input - alpha * other`` with broadcasting."""
    _check_sub(input, other)
    a, b = promote(input, other)
    if type(alpha) is int and alpha == 1 and out is None:  # (the hot path: no **kw call)
        return _run_sub(SubBackward0, (a, b), None, NOKW)
    _check_alpha(a, alpha)
    if out is not None:
        check_out(out, (a, b), "sub")
    return apply(SubBackward0, (a, b), out=out, alpha=alpha)


def _is_bool(x: Any) -> bool:
    return x._data.dtype.kind == "b" if isinstance(x, Tensor) \
        else isinstance(x, (bool, np.bool_))


def _check_sub(a: Any, b: Any) -> None:
    ba, bb = _is_bool(a), _is_bool(b)  # (every subtraction checks: keep it to two calls)
    if ba and bb:
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not "
                           "supported. Use the `^` or `logical_xor()` operator instead.")
    if ba or bb:
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not "
                           "supported. If you are trying to invert a mask, use the `~` or "
                           "`logical_not()` operator instead.")


def _check_alpha(a: Tensor, alpha: Any) -> None:
    if alpha != 1 and not a.dtype.is_floating_point and isinstance(alpha, float):
        raise RuntimeError("For integral input tensors, argument alpha must not be a floating "
                           "point number.")


def rsub(input: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    """``other - alpha * input``."""
    _check_sub(other, input)
    if isinstance(other, SCALARS):
        x, c = _with_scalar(input, other)
        _check_alpha(x, alpha)
        return apply(RsubBackward1, (x,), other=c, alpha=alpha)
    b, a = promote(other, input)
    return sub(b, a, alpha=alpha)


def _with_scalar(t: Tensor, c: Any) -> tuple[Tensor, Any]:
    """``t`` cast to the dtype of ``t (op) c`` for a Python scalar ``c``, and ``c``."""
    dt = B.result_type(t, c)
    return (t if dt.np == t._data.dtype else t.to(dt)), c


def mul(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:
    """Elementwise product with broadcasting."""
    a, b = promote(input, other)
    if out is None:
        return _run_mul(MulBackward0, (a, b), None, NOKW)
    check_out(out, (a, b), "mul")
    return apply(MulBackward0, (a, b), out=out)


def div(input: Any, other: Any, *, rounding_mode: str | None = None,
        out: Tensor | None = None) -> Tensor:
    """True division (integers give floats); ``rounding_mode`` 'trunc' or 'floor'."""
    a, b = promote(input, other)
    if rounding_mode == "floor":
        return floor_divide(a, b)
    if rounding_mode == "trunc":
        r = apply(DivBackward0, (a, b))
        return r.trunc() if a.dtype.is_floating_point else r.trunc().to(a.dtype)
    if out is None:
        return _run_div(DivBackward0, (a, b), None, NOKW)
    check_out(out, (a, b), "div")
    return apply(DivBackward0, (a, b), out=out)


def pow(input: Any, exponent: Any, *, out: Tensor | None = None) -> Tensor:  # noqa: A001
    """``input ** exponent`` (tensor or scalar on either side)."""
    if out is not None:
        check_out(out, tuple(t for t in (input, exponent) if isinstance(t, Tensor)), "pow")
    if isinstance(input, Tensor) and isinstance(exponent, SCALARS):
        x, c = _with_scalar(input, exponent)
        return apply(PowBackward0, (x,), out=out, exponent=c)
    if not isinstance(input, Tensor) and isinstance(input, SCALARS):
        x, c = _with_scalar(exponent, input)
        if x.dtype is B.bool_:
            raise not_implemented("pow", x.dtype)
        return apply(PowBackward2, (x,), out=out, base=c)
    a, b = promote(input, exponent)
    if a.dtype is B.bool_:
        raise not_implemented("pow", a.dtype)
    return apply(PowBackward1, (a, b), out=out)


def remainder(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:
    """Python-style modulus (the result has the divisor's sign)."""
    return _mod(RemainderBackward0, input, other, out, "remainder")


def fmod(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:
    """C-style modulus (the result has the dividend's sign)."""
    return _mod(FmodBackward0, input, other, out, "fmod")


def _mod(cls: type, input: Any, other: Any, out: Tensor | None, name: str) -> Tensor:
    tensor_cls = RemainderBackward1 if cls is RemainderBackward0 else FmodBackward1
    if out is not None:
        check_out(out, tuple(t for t in (input, other) if isinstance(t, Tensor)), name)
    if isinstance(input, Tensor) and isinstance(other, SCALARS):
        x, c = _with_scalar(input, other)
        if x.dtype is B.bool_:
            raise not_implemented(f"{name}_cpu", x.dtype)
        return apply(cls, (x,), out=out, scalar=c)
    if isinstance(other, Tensor) and isinstance(input, SCALARS):
        if name == "fmod":
            raise TypeError(f"fmod() received an invalid combination of arguments - got "
                            f"({type(input).__name__}, Tensor), but expected (Tensor input, "
                            "Tensor other) or (Tensor input, Number other)")
        x, c = _with_scalar(other, input)
        if x.dtype is B.bool_:
            raise not_implemented(f"{name}_cpu", x.dtype)
        xp = B.get_array_module(x._data)
        return apply(NotImplementedBackward, (x,), out=out, what=name, fn=lambda b: getattr(
            xp, name if name == "fmod" else "remainder")(xp.asarray(c, dtype=b.dtype), b))
    a, b = promote(input, other)
    if a.dtype is B.bool_:
        raise not_implemented(f"{name}_cpu", a.dtype)
    return apply(tensor_cls, (a, b), out=out)


def floor_divide(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:
    a, b = promote(input, other)
    if a.dtype is B.bool_:
        raise not_implemented("div_floor_cpu", a.dtype)
    return apply(FloorDivide, (a, b), out=out)


def maximum(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Elementwise maximum (ties share the gradient equally)."""
    return _maxmin(MaximumBackward0, "maximum", input, other, out)


def minimum(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Elementwise minimum (ties share the gradient equally)."""
    return _maxmin(MinimumBackward0, "minimum", input, other, out)


def _maxmin(cls: type, name: str, input: Any, other: Any, out: Tensor | None) -> Tensor:
    require_tensor(name, "input", 1, input)
    require_tensor(name, "other", 2, other)
    a, b = promote(input, other)
    if out is not None:
        check_out(out, (a, b), name)
    return apply(cls, (a, b), out=out)


def _cmp(name: str, fn: Any):
    cls = type(f"{name.capitalize()}Backward0", (_Compare,), {"_name": f"{name}"})

    def op(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:
        a, b = promote(input, other)
        return apply(cls, (a, b), out=out, fn=fn)
    op.__name__ = name
    op.__doc__ = f"Elementwise ``{name}`` comparison (a bool tensor, no gradient)."
    return op


eq = _cmp("eq", np.equal)
ne = _cmp("ne", np.not_equal)
lt = _cmp("lt", np.less)
le = _cmp("le", np.less_equal)
gt = _cmp("gt", np.greater)
ge = _cmp("ge", np.greater_equal)
logical_and = _cmp("logical_and", np.logical_and)
logical_or = _cmp("logical_or", np.logical_or)
logical_xor = _cmp("logical_xor", np.logical_xor)
bitwise_and = _cmp("bitwise_and", np.bitwise_and)
bitwise_or = _cmp("bitwise_or", np.bitwise_or)
bitwise_xor = _cmp("bitwise_xor", np.bitwise_xor)
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


def equal(input: Tensor, other: Tensor) -> bool:
    """True when both have the same shape and values."""
    return tuple(input.shape) == tuple(other.shape) and bool(eq(input, other).all())


def _rev(fn):
    return lambda self, other: fn(other, self)


# ------------------------------------------------------------------------- Tensor methods
for _name, _fn in (("add", add), ("sub", sub), ("mul", mul), ("div", div), ("pow", pow),
                   ("remainder", remainder), ("fmod", fmod), ("floor_divide", floor_divide),
                   ("maximum", maximum), ("minimum", minimum), ("eq", eq), ("ne", ne),
                   ("lt", lt), ("le", le), ("gt", gt), ("ge", ge), ("true_divide", div),
                   ("subtract", sub), ("multiply", mul), ("divide", div),
                   ("logical_and", logical_and), ("logical_or", logical_or),
                   ("logical_xor", logical_xor), ("greater", gt), ("less", lt),
                   ("greater_equal", ge), ("less_equal", le), ("not_equal", ne)):
    register(_name)(_fn)
    if _name not in ("eq", "ne", "lt", "le", "gt", "ge", "greater", "less", "greater_equal",
                     "less_equal", "not_equal", "maximum", "minimum", "logical_and",
                     "logical_or", "logical_xor"):
        setattr(Tensor, _name + "_", inplace(_name + "_", _fn))
Tensor.equal = equal

Tensor.__add__ = add  # (no lambda in between: one call less on every op)
Tensor.__radd__ = lambda self, other: add(other, self) if not isinstance(other, SCALARS) \
    else add(self, other)
Tensor.__iadd__ = Tensor.add_
Tensor.__sub__ = sub
Tensor.__rsub__ = lambda self, other: rsub(self, other)
Tensor.__isub__ = Tensor.sub_
Tensor.__mul__ = mul
Tensor.__rmul__ = lambda self, other: mul(self, other) if isinstance(other, SCALARS) \
    else mul(other, self)
Tensor.__imul__ = Tensor.mul_
Tensor.__truediv__ = div
Tensor.__rtruediv__ = lambda self, other: self.reciprocal() * other
Tensor.__itruediv__ = Tensor.div_
Tensor.__pow__ = lambda self, other: pow(self, other)
Tensor.__rpow__ = lambda self, other: pow(other, self)
Tensor.__ipow__ = Tensor.pow_
Tensor.__mod__ = lambda self, other: remainder(self, other)
Tensor.__rmod__ = lambda self, other: remainder(other, self)
Tensor.__imod__ = Tensor.remainder_
Tensor.__floordiv__ = lambda self, other: floor_divide(self, other)
Tensor.__rfloordiv__ = lambda self, other: floor_divide(other, self)
Tensor.__ifloordiv__ = Tensor.floor_divide_
Tensor.__eq__ = lambda self, other: eq(self, other)
Tensor.__ne__ = lambda self, other: ne(self, other)
Tensor.__lt__ = lambda self, other: lt(self, other)
Tensor.__le__ = lambda self, other: le(self, other)
Tensor.__gt__ = lambda self, other: gt(self, other)
Tensor.__ge__ = lambda self, other: ge(self, other)
Tensor.__and__ = lambda self, other: bitwise_and(self, other)
Tensor.__or__ = lambda self, other: bitwise_or(self, other)
Tensor.__xor__ = lambda self, other: bitwise_xor(self, other)
Tensor.__rand__ = Tensor.__and__
Tensor.__ror__ = Tensor.__or__
Tensor.__rxor__ = Tensor.__xor__

__all__ = ["add", "sub", "rsub", "mul", "div", "pow", "remainder", "fmod", "floor_divide",
           "maximum", "minimum", "eq", "ne", "lt", "le", "gt", "ge", "equal", "logical_and",
           "logical_or", "logical_xor", "grad_for"]
