"""Elementwise special functions: inverse and hyperbolic trigonometry, the error function
family, ``atan2``, ``lerp``, ``addcmul``/``addcdiv``, ``logaddexp``, ``hypot``, ``xlogy``,
``sinc``, ``isclose``... Forward on arrays (NumPy or CuPy), backward in Tensor ops (so
``create_graph=True`` and higher-order gradients work), node names as PyTorch's."""
from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import numpy as np

from .. import _backend as B
from ..autograd.function import RESULT, Op
from ..tensor import Tensor
from ._core import (
    SCALARS,
    _cast_const,
    _pretty,
    apply,
    check_broadcast,
    inplace,
    not_implemented,
    promote,
    register,
    require_tensor,
    sum_to,
)
from .unary import _float_in, unary_op, where

__all__ = [
    "acos", "asin", "atan", "atan2", "sinh", "cosh", "asinh", "acosh", "atanh",
    "arccos", "arcsin", "arctan", "arctan2", "arcsinh", "arccosh", "arctanh",
    "erf", "erfc", "erfinv", "lerp", "addcmul", "addcdiv", "logaddexp", "logaddexp2",
    "hypot", "xlogy", "sinc", "isclose", "allclose", "deg2rad", "rad2deg",
]

_SQRT_PI = math.sqrt(math.pi)


def _xp(a: Any) -> Any:
    return B.get_array_module(a)


# ------------------------------------------------------------------ erf family on arrays
def _scipy_special(a: Any) -> Any:
    """scipy.special (CPU) or cupyx.scipy.special (GPU), imported lazily; None if absent."""
    try:
        if _xp(a) is np:
            from scipy import special
        else:
            from cupyx.scipy import special  # type: ignore[import-not-found]
    except ImportError:  # pragma: no cover - scipy is optional
        return None
    return special


def erf_array(a: Any) -> Any:
    """The error function on a NumPy or CuPy array, in its dtype (also used by gelu)."""
    sp = _scipy_special(a)
    if sp is not None:
        return sp.erf(a).astype(a.dtype, copy=False)
    return np.vectorize(math.erf, otypes=[a.dtype])(a)  # pragma: no cover


def _erfc_arr(a: Any) -> Any:
    sp = _scipy_special(a)
    if sp is not None:
        return sp.erfc(a).astype(a.dtype, copy=False)
    return np.vectorize(math.erfc, otypes=[a.dtype])(a)  # pragma: no cover


def _erfinv_arr(a: Any) -> Any:
    sp = _scipy_special(a)
    if sp is not None:
        return sp.erfinv(a).astype(a.dtype, copy=False)
    return _erfinv_newton(a)  # pragma: no cover


def _erfinv_newton(a: Any) -> Any:  # pragma: no cover - only without scipy
    """erfinv by Newton's method on erf (a fallback when scipy is not installed)."""
    x = np.asarray(a, dtype=np.float64)
    erf_v = np.vectorize(math.erf, otypes=[np.float64])
    with np.errstate(all="ignore"):
        y = np.sign(x) * np.sqrt(-np.log((1 - x) * (1 + x)) / 2)
        for _ in range(50):
            y = y - (erf_v(y) - x) / (2 / _SQRT_PI * np.exp(-y * y))
    y = np.where(np.abs(x) == 1, np.sign(x) * np.inf, y)
    return np.where(np.abs(x) > 1, np.nan, y).astype(a.dtype)


# --------------------------------------------------------------------------- unary ops
class _SelfUnary(Op):
    """A unary op whose backward needs its input (saved as ``self``, as in PyTorch)."""

    def forward(self, a):
        self.save(self=self.inputs[0])
        with np.errstate(all="ignore"):  # (torch gives nan/inf silently out of the domain)
            return self.fn(a)


class AcosBackward0(_SelfUnary):
    @staticmethod
    def fn(a):
        return _xp(a).arccos(a)

    def backward(self, g):
        (a,) = self.saved()
        return g * -((-a * a + 1).rsqrt())


class AsinBackward0(_SelfUnary):
    @staticmethod
    def fn(a):
        return _xp(a).arcsin(a)

    def backward(self, g):
        (a,) = self.saved()
        return g * (-a * a + 1).rsqrt()


class AtanBackward0(_SelfUnary):
    @staticmethod
    def fn(a):
        return _xp(a).arctan(a)

    def backward(self, g):
        (a,) = self.saved()
        return g / (a * a + 1)


class SinhBackward0(_SelfUnary):
    @staticmethod
    def fn(a):
        return _xp(a).sinh(a)

    def backward(self, g):
        (a,) = self.saved()
        return g * a.cosh()


class CoshBackward0(_SelfUnary):
    @staticmethod
    def fn(a):
        return _xp(a).cosh(a)

    def backward(self, g):
        (a,) = self.saved()
        return g * a.sinh()


class AsinhBackward0(_SelfUnary):
    @staticmethod
    def fn(a):
        return _xp(a).arcsinh(a)

    def backward(self, g):
        (a,) = self.saved()
        return g * (a ** 2 + 1).rsqrt()


class AcoshBackward0(_SelfUnary):
    @staticmethod
    def fn(a):
        return _xp(a).arccosh(a)

    def backward(self, g):
        (a,) = self.saved()
        return g * (a ** 2 - 1).rsqrt()


class AtanhBackward0(_SelfUnary):
    @staticmethod
    def fn(a):
        return _xp(a).arctanh(a)

    def backward(self, g):
        (a,) = self.saved()
        return g * 1 / (1 - a ** 2)


class ErfBackward0(_SelfUnary):
    fn = staticmethod(erf_array)

    def backward(self, g):
        (a,) = self.saved()
        return 2.0 / _SQRT_PI * (-(a ** 2)).exp() * g


class ErfcBackward0(_SelfUnary):
    fn = staticmethod(_erfc_arr)

    def backward(self, g):
        (a,) = self.saved()
        return -2.0 / _SQRT_PI * (-(a ** 2)).exp() * g


class ErfinvBackward0(_SelfUnary):
    fn = staticmethod(_erfinv_arr)

    def backward(self, g):
        (a,) = self.saved()
        return 0.5 * _SQRT_PI * (erfinv(a) ** 2).exp() * g


class SincBackward0(_SelfUnary):
    @staticmethod
    def fn(a):
        xp = _xp(a)
        pa = a * a.dtype.type(math.pi)
        with np.errstate(all="ignore"):
            r = xp.sin(pa) / pa
        return xp.where(a == 0, a.dtype.type(1), r).astype(a.dtype, copy=False)

    def backward(self, g):
        # PyTorch's sinc_backward (the gradient is 0 at 0)
        (a,) = self.saved()
        api = a * math.pi
        sq = a * a * math.pi
        out = g * (api * api.cos() - api.sin()) / sq
        return where(sq == 0.0, g.new_zeros(()), out)


class _Scale(Op):
    def forward(self, a):
        return (a * a.dtype.type(self.k)).astype(a.dtype, copy=False)

    def backward(self, g):
        return g * self.k


class Deg2RadBackward0(_Scale):
    k = math.pi / 180.0


class Rad2DegBackward0(_Scale):
    k = 180.0 / math.pi


def _inplace_only_node(cls: type, name: str) -> type:
    """``<Name>Backward1``: the node of an in-place op that PyTorch cannot differentiate."""
    def backward(self, g):
        raise RuntimeError(f"the derivative for 'inplace version of {name}' is not "
                           "implemented.")
    new = type(cls.__name__.replace("Backward0", "Backward1"), (cls,), {"backward": backward})
    new.__module__ = __name__
    return new


acos = unary_op(AcosBackward0, "acos")
asin = unary_op(AsinBackward0, "asin")
atan = unary_op(AtanBackward0, "atan")
sinh = unary_op(SinhBackward0, "sinh")
cosh = unary_op(CoshBackward0, "cosh")
asinh = unary_op(AsinhBackward0, "asinh")
acosh = unary_op(AcoshBackward0, "acosh")
atanh = unary_op(AtanhBackward0, "atanh")
erf = unary_op(ErfBackward0, "erf")
erfc = unary_op(ErfcBackward0, "erfc")
erfinv = unary_op(ErfinvBackward0, "erfinv")
sinc = unary_op(SincBackward0, "sinc")
deg2rad = unary_op(Deg2RadBackward0, "deg2rad")
rad2deg = unary_op(Rad2DegBackward0, "rad2deg")
arccos, arcsin, arctan = acos, asin, atan
arcsinh, arccosh, arctanh = asinh, acosh, atanh


# -------------------------------------------------------------------------- binary ops
class _Bin(Op):
    """A broadcasting binary op saving ``self`` and ``other`` (and maybe the result)."""

    def _meta(self, a, b):
        self.sa, self.da, self.sb, self.db = a.shape, a.dtype, b.shape, b.dtype

    def _grads(self, ga, gb):
        n = self.needs
        return (sum_to(ga, self.sa, self.da) if n[0] and ga is not None else None,
                sum_to(gb, self.sb, self.db) if n[1] and gb is not None else None)


class Atan2Backward0(_Bin):
    def forward(self, a, b):
        self._meta(a, b)
        self.save(self=self.inputs[0], other=self.inputs[1])
        return _xp(a).arctan2(a, b)

    def backward(self, g):
        a, b = self.saved()
        recip = (a * a + b * b).reciprocal()
        n = self.needs
        return self._grads(g * b * recip if n[0] else None,
                           g * -a * recip if n[1] else None)


class LogaddexpBackward0(_Bin):
    def forward(self, a, b):
        self._meta(a, b)
        self.save(self=self.inputs[0], other=self.inputs[1])
        return _xp(a).logaddexp(a, b)

    def backward(self, g):
        a, b = self.saved()
        n = self.needs
        return self._grads(g / (1 + (b - a).exp()) if n[0] else None,
                           g / (1 + (a - b).exp()) if n[1] else None)


class Logaddexp2Backward0(_Bin):
    def forward(self, a, b):
        self._meta(a, b)
        self.save(self=self.inputs[0], other=self.inputs[1])
        return _xp(a).logaddexp2(a, b)

    def backward(self, g):
        a, b = self.saved()
        n = self.needs
        return self._grads(g / (1 + 2 ** (b - a)) if n[0] else None,
                           g / (1 + 2 ** (a - b)) if n[1] else None)


class HypotBackward0(_Bin):
    def forward(self, a, b):
        self._meta(a, b)
        self.save(self=self.inputs[0], other=self.inputs[1], result=RESULT)
        return _xp(a).hypot(a, b)

    def backward(self, g):
        a, b, r = self.saved()
        n = self.needs
        return self._grads(g * a / r if n[0] else None, g * b / r if n[1] else None)


def _xlogy_arr(x: Any, y: Any) -> Any:
    xp = _xp(x)
    with np.errstate(all="ignore"):
        r = x * xp.log(y)
    r = xp.where(x == 0, r.dtype.type(0), r)
    return xp.where(xp.isnan(y), r.dtype.type(np.nan), r)


def _xlogy_self_grad(g: Tensor, a: Tensor, b: Any) -> Tensor:
    """PyTorch's ``xlogy(grad, other).masked_fill((self == 0) & (other <= 0), 0)``."""
    r = xlogy(g, b)
    mask = (a == 0).logical_and(b <= 0) if isinstance(b, Tensor) else (
        (a == 0) if b <= 0 else None)
    return r if mask is None else where(mask, g.new_zeros(()), r)


class XlogyBackward0(_Bin):
    """``xlogy(tensor, tensor)``."""

    def forward(self, a, b):
        self._meta(a, b)
        self.save(self=self.inputs[0], other=self.inputs[1])
        return _xlogy_arr(a, b)

    def backward(self, g):
        a, b = self.saved()
        n = self.needs
        return self._grads(_xlogy_self_grad(g, a, b) if n[0] else None,
                           g * a / b if n[1] else None)


class XlogyBackward1(Op):
    """``xlogy(scalar, tensor)``: the scalar is no graph input."""

    def forward(self, b, scalar):
        self.scalar = scalar
        self.save(other=self.inputs[0])
        return _xlogy_arr(_xp(b).asarray(scalar, dtype=b.dtype), b)

    def backward(self, g):
        (b,) = self.saved()
        return g * self.scalar / b


class XlogyBackward2(Op):
    """``xlogy(tensor, scalar)``: the scalar is no graph input."""

    def forward(self, a, scalar):
        self.scalar = scalar
        self.save(self=self.inputs[0])
        return _xlogy_arr(a, _xp(a).asarray(scalar, dtype=a.dtype))

    def backward(self, g):
        (a,) = self.saved()
        return _xlogy_self_grad(g, a, self.scalar)


def _float_pair(name: str, input: Any, other: Any, kernel: str | None) -> tuple:
    """Both operands as Tensors of the promoted dtype; integer results become the default
    float (``kernel`` given: integer dtypes are refused with PyTorch's error instead)."""
    require_tensor(name, "input", 1, input)
    require_tensor(name, "other", 2, other)
    a, b = promote(input, other)
    if not a.dtype.is_floating_point:
        if kernel is not None:
            raise not_implemented(kernel, a.dtype)
        a, b = _float_in(a), _float_in(b)
    return a, b


def atan2(input: Tensor, other: Tensor) -> Tensor:
    """Elementwise ``atan2(input, other)`` (the angle of the point ``(other, input)``)."""
    return apply(Atan2Backward0, _float_pair("atan2", input, other, None))


def logaddexp(input: Tensor, other: Tensor) -> Tensor:
    """``log(exp(input) + exp(other))``, computed stably."""
    return apply(LogaddexpBackward0, _float_pair("logaddexp", input, other, "logaddexp_cpu"))


def logaddexp2(input: Tensor, other: Tensor) -> Tensor:
    """``log2(2**input + 2**other)``, computed stably."""
    return apply(Logaddexp2Backward0,
                 _float_pair("logaddexp2", input, other, "logaddexp2_cpu"))


def hypot(input: Tensor, other: Tensor) -> Tensor:
    """``sqrt(input**2 + other**2)``."""
    return apply(HypotBackward0, _float_pair("hypot", input, other, "hypot_cpu"))


def xlogy(input: Any, other: Any) -> Tensor:
    """``input * log(other)``, 0 where ``input`` is 0 (unless ``other`` is NaN). Either
    operand may be a Python number."""
    if isinstance(input, SCALARS) and not isinstance(other, Tensor) or (
            not isinstance(input, (Tensor, *SCALARS))):
        raise TypeError(f"xlogy(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    if isinstance(input, SCALARS):
        dt = B.result_type(input, other)
        dt = dt if dt.is_floating_point else B.default_float()
        return apply(XlogyBackward1, (_cast_const(other, dt),), scalar=input)
    if isinstance(other, SCALARS):
        dt = B.result_type(input, other)
        dt = dt if dt.is_floating_point else B.default_float()
        return apply(XlogyBackward2, (_cast_const(input, dt),), scalar=other)
    return apply(XlogyBackward0, _float_pair("xlogy", input, other, None))


arctan2 = atan2


# ---------------------------------------------------------------- lerp, addcmul, addcdiv
def _bcast_shape(*ts: Tensor) -> tuple:
    """The broadcast shape of the tensors (PyTorch's error when they do not broadcast)."""
    shape = ts[0]._data.shape
    for t in ts[1:]:
        check_broadcast(SimpleNamespace(_data=SimpleNamespace(shape=shape)), t)
        shape = np.broadcast_shapes(shape, t._data.shape)
    return tuple(shape)


def _lerp_arr(a: Any, b: Any, w: Any) -> Any:
    xp = _xp(a)
    d = b - a
    return xp.where(xp.abs(w) < 0.5, a + w * d, b - d * (1 - w)).astype(a.dtype, copy=False)


class LerpBackward0(Op):
    """``lerp(start, end, weight)`` with a Python-number weight."""

    def forward(self, a, b, weight):
        self.meta = [(x.shape, x.dtype) for x in (a, b)]
        self.weight = weight
        return _lerp_arr(a, b, a.dtype.type(weight))

    def backward(self, g):
        n, w = self.needs, self.weight
        return (sum_to(g * (1 - float(w)), *self.meta[0]) if n[0] else None,
                sum_to(g * w, *self.meta[1]) if n[1] else None)


class LerpBackward1(Op):
    """``lerp(start, end, weight)`` with a tensor weight."""

    def forward(self, a, b, w):
        self.meta = [(x.shape, x.dtype) for x in (a, b, w)]
        i = self.inputs
        self.save(self=i[0], end=i[1], weight=i[2])
        return _lerp_arr(a, b, w)

    def backward(self, g):
        a, b, w = self.saved()
        n = self.needs
        return (sum_to(g * (1 - w), *self.meta[0]) if n[0] else None,
                sum_to(g * w, *self.meta[1]) if n[1] else None,
                sum_to(g * (b - a), *self.meta[2]) if n[2] else None)


def _torch_dtname(d: B.dtype) -> str:
    return {"float32": "float", "float64": "double", "float16": "c10::Half",
            "int64": "long int", "int32": "int", "bool": "bool"}.get(d.name, d.name)


def lerp(input: Tensor, end: Tensor, weight: Any) -> Tensor:
    """``input + weight * (end - input)``; ``weight`` is a number or a tensor (all three
    broadcast; ``end`` and a tensor ``weight`` must have ``input``'s dtype)."""
    require_tensor("lerp", "input", 1, input)
    require_tensor("lerp", "end", 2, end)
    if end.dtype is not input.dtype:
        raise RuntimeError(f"expected dtype {_torch_dtname(input.dtype)} for `end` but got "
                           f"dtype {_torch_dtname(end.dtype)}")
    if isinstance(weight, Tensor):
        if weight.dtype is not input.dtype:
            if weight.ndim == 0 and weight.dtype.is_floating_point:
                weight = _cast_const(weight, input.dtype)
            else:
                raise RuntimeError(f"expected dtype {_torch_dtname(input.dtype)} for `weight` "
                                   f"but got dtype {_torch_dtname(weight.dtype)}")
        if not input.dtype.is_floating_point:
            raise not_implemented("lerp_kernel_tensor", input.dtype)
        _bcast_shape(input, end, weight)
        return apply(LerpBackward1, (input, end, weight))
    if not input.dtype.is_floating_point:
        raise not_implemented("lerp_kernel_scalar", input.dtype)
    _bcast_shape(input, end)
    return apply(LerpBackward0, (input, end), weight=weight)


def _promote3(a: Tensor, b: Tensor, c: Tensor) -> tuple:
    dt = B.result_type(a, b, c)
    _bcast_shape(a, b, c)
    return tuple(_cast_const(t, dt) for t in (a, b, c))


class AddcmulBackward0(Op):
    def forward(self, a, t1, t2, value=1):
        self.meta = [(x.shape, x.dtype) for x in (a, t1, t2)]
        self.value = value
        n, i = self.needs, self.inputs
        if n:
            self.save(tensor1=i[1] if n[2] else None, tensor2=i[2] if n[1] else None)
        r = a + a.dtype.type(value) * t1 * t2 if a.dtype.kind == "f" else a + value * t1 * t2
        return r.astype(a.dtype, copy=False)

    def backward(self, g):
        t1, t2 = self.saved()
        n, v = self.needs, self.value
        return (sum_to(g, *self.meta[0]) if n[0] else None,
                sum_to(g * (t2 * v), *self.meta[1]) if n[1] else None,
                sum_to(g * (t1 * v), *self.meta[2]) if n[2] else None)


class AddcdivBackward0(Op):
    def forward(self, a, t1, t2, value=1):
        self.meta = [(x.shape, x.dtype) for x in (a, t1, t2)]
        self.value = value
        n, i = self.needs, self.inputs
        if n:
            self.save(tensor1=i[1] if n[2] else None, tensor2=i[2] if n[1] or n[2] else None)
        with np.errstate(all="ignore"):
            return (a + a.dtype.type(value) * t1 / t2).astype(a.dtype, copy=False)

    def backward(self, g):
        t1, t2 = self.saved()
        n, v = self.needs, self.value
        return (sum_to(g, *self.meta[0]) if n[0] else None,
                sum_to(g * (v / t2), *self.meta[1]) if n[1] else None,
                sum_to(-g * (v * t1 / (t2 * t2)), *self.meta[2]) if n[2] else None)


_ADDCDIV_INT = (
    "Integer division with addcdiv is no longer supported, and in a future  release addcdiv "
    "will perform a true division of tensor1 and tensor2. The historic addcdiv behavior can "
    "be implemented as (input + value * torch.trunc(tensor1 / tensor2)).to(input.dtype) for "
    "integer inputs and as (input + value * tensor1 / tensor2) for float inputs. The future "
    "addcdiv behavior is just the latter implementation: (input + value * tensor1 / "
    "tensor2), for all dtypes.")


def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1) -> Tensor:
    """``input + value * tensor1 * tensor2`` (broadcast, promoted)."""
    require_tensor("addcmul", "input", 1, input)
    require_tensor("addcmul", "tensor1", 2, tensor1)
    require_tensor("addcmul", "tensor2", 3, tensor2)
    return apply(AddcmulBackward0, _promote3(input, tensor1, tensor2), value=value)


def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1) -> Tensor:
    """``input + value * tensor1 / tensor2`` (broadcast, promoted; integer ``tensor1`` and
    ``tensor2`` are refused, as in PyTorch)."""
    require_tensor("addcdiv", "input", 1, input)
    require_tensor("addcdiv", "tensor1", 2, tensor1)
    require_tensor("addcdiv", "tensor2", 3, tensor2)
    if not tensor1.dtype.is_floating_point and not tensor2.dtype.is_floating_point:
        raise RuntimeError(_ADDCDIV_INT)
    return apply(AddcdivBackward0, _promote3(input, tensor1, tensor2), value=value)


# ---------------------------------------------------------------------- isclose/allclose
class _IsClose(Op):
    _differentiable = False

    def forward(self, a, b, rtol, atol, equal_nan):
        xp = _xp(a)
        if a.dtype == np.bool_:
            return a == b
        close = a == b
        if equal_nan:
            close = close | (xp.isnan(a) & xp.isnan(b))
        if a.dtype.kind != "f":
            a, b = a.astype(np.float64), b.astype(np.float64)
        with np.errstate(all="ignore"):
            allowed = atol + xp.abs(rtol * b)
            actual = xp.abs(a - b)
        return close | (xp.isfinite(actual) & (actual <= allowed))


def isclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Tensor:
    """Elementwise ``|input - other| <= atol + rtol * |other|`` (a bool tensor)."""
    require_tensor("isclose", "input", 1, input)
    require_tensor("isclose", "other", 2, other)
    if input.dtype is not other.dtype:
        raise RuntimeError(f"{_pretty(input.dtype)} did not match {_pretty(other.dtype)}")
    if rtol < 0:
        raise RuntimeError(f"rtol must be greater than or equal to zero, but got {rtol:g}")
    if atol < 0:
        raise RuntimeError(f"atol must be greater than or equal to zero, but got {atol:g}")
    _bcast_shape(input, other)
    return apply(_IsClose, (input, other), rtol=rtol, atol=atol, equal_nan=equal_nan)


def allclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:
    """True when ``isclose`` holds everywhere."""
    return bool(isclose(input, other, rtol, atol, equal_nan)._data.all())


# ------------------------------------------------------------------------ Tensor methods
for _fn in (acos, asin, atan, sinh, cosh, asinh, acosh, atanh, erf, erfc, erfinv, sinc,
            deg2rad, rad2deg, atan2, hypot, xlogy, lerp, addcmul, addcdiv):
    register(_fn.__name__)(_fn)
    setattr(Tensor, _fn.__name__ + "_", inplace(_fn.__name__ + "_", _fn))
for _alias, _fn in (("arccos", acos), ("arcsin", asin), ("arctan", atan), ("arctan2", atan2),
                    ("arcsinh", asinh), ("arccosh", acosh), ("arctanh", atanh)):
    register(_alias)(_fn)
    setattr(Tensor, _alias + "_", inplace(_alias + "_", _fn))
# PyTorch has no derivative for asinh_/acosh_/atanh_: their node (``...Backward1``) raises
for _name, _cls in (("asinh", AsinhBackward0), ("acosh", AcoshBackward0),
                    ("atanh", AtanhBackward0)):
    _node = _inplace_only_node(_cls, _name)
    _fn = unary_op(_node, _name)
    setattr(Tensor, _name + "_", inplace(_name + "_", _fn))
    setattr(Tensor, "arc" + _name[1:] + "_", inplace("arc" + _name[1:] + "_", _fn))
for _fn in (logaddexp, logaddexp2, isclose, allclose):
    register(_fn.__name__)(_fn)
del _fn, _alias, _name, _cls, _node
