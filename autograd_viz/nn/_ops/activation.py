"""Activations the core lacks, each one node with PyTorch's name."""
from __future__ import annotations

import math
from typing import Any

from ...autograd.function import RESULT, Op
from ...ops._core import apply
from ...ops._fastgrad import saved_arrays, tensor_level
from ...ops.join import cat
from ...ops.special import erf_array
from ...ops.unary import where
from ...tensor import Tensor
from ._util import xp_of


class LeakyReluBackward0(Op):
    def forward(self, a, slope):
        self.slope = slope
        self.save(self=self.inputs[0])
        return xp_of(a).where(a > 0, a, a * slope)

    def backward(self, g):
        (a,) = self.saved()
        return where(a > 0, g, g * self.slope)


class EluBackward0(Op):
    def forward(self, a, alpha):
        self.alpha = alpha
        self.save(self=self.inputs[0])
        xp = xp_of(a)
        return xp.where(a > 0, a, alpha * xp.expm1(xp.minimum(a, 0)))

    def backward(self, g):
        (a,) = self.saved()
        neg = (a.clamp(max=0).exp() * self.alpha) * (a <= 0)
        return g * ((a > 0) + neg)


class SoftplusBackward0(Op):
    def forward(self, a, beta, threshold):
        self.beta, self.threshold = beta, threshold
        self.save(self=self.inputs[0])
        xp = xp_of(a)
        bx = a * beta
        return xp.where(bx > threshold, a, xp.log1p(xp.exp(xp.minimum(bx, threshold))) / beta)

    def backward(self, g):
        (a,) = self.saved()
        bx = a * self.beta
        return g * ((bx > self.threshold) + (bx <= self.threshold) * bx.sigmoid())


class HardtanhBackward0(Op):
    def forward(self, a, lo, hi):
        self.lo, self.hi = lo, hi
        self.save(self=self.inputs[0])
        return xp_of(a).clip(a, lo, hi)

    def backward(self, g):
        (a,) = self.saved()
        return g * (a > self.lo).logical_and(a < self.hi)


class SiluBackward0(Op):
    def forward(self, a):
        self.save(self=self.inputs[0])
        xp = xp_of(a)
        return a * ((xp.tanh(a * 0.5) + 1) * 0.5)

    def backward(self, g):
        (a,) = self.saved()
        s = a.sigmoid()
        return g * (s * (1 + a * (1 - s)))


class LogSigmoidBackward0(Op):
    def forward(self, a):
        self.save(self=self.inputs[0], result=RESULT)
        xp = xp_of(a)
        return xp.minimum(a, 0) - xp.log1p(xp.exp(-xp.abs(a)))

    def backward(self, g):
        a, _ = self.saved()
        return g * (-a).sigmoid()


_SQRT1_2 = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_K_BETA = math.sqrt(2.0 / math.pi)  # GELU's tanh approximation
_K_KAPPA = 0.044715


def _gelu_grad_arr(a: Any, approximate: str) -> Any:
    """``d gelu / dx`` on an array."""
    xp = xp_of(a)
    if approximate == "tanh":
        inner = _K_BETA * (a + _K_KAPPA * a * a * a)
        t = xp.tanh(inner)
        left_d = 0.5 * (1 + t)
        right_d = 0.5 * a * (1 - t * t) * (_K_BETA * (1 + 3 * _K_KAPPA * a * a))
        return left_d + right_d
    cdf = 0.5 * (1 + erf_array(a * _SQRT1_2))
    pdf = xp.exp(-0.5 * a * a) * _INV_SQRT_2PI
    return cdf + a * pdf


class GeluBackward0(Op):
    def forward(self, a, approximate):
        self.approximate = approximate
        self.save(self=self.inputs[0])
        if approximate == "tanh":
            xp = xp_of(a)
            return 0.5 * a * (1 + xp.tanh(_K_BETA * (a + _K_KAPPA * a * a * a)))
        return a * 0.5 * (1 + erf_array(a * _SQRT1_2))

    def backward(self, g):
        (a,) = self.saved()
        return apply(GeluBackwardBackward0, (g, a), approximate=self.approximate)


def _gelu_fast(self: GeluBackward0, gd: Any) -> tuple | None:
    """``backward`` on arrays (see ``ops._fastgrad``): what ``GeluBackwardBackward0``'s
    forward computes, without its node (another dtype for the grad: None)."""
    (a,) = saved_arrays(self)
    if a.dtype != gd.dtype or type(a) is not type(gd):
        return None
    return ((gd * _gelu_grad_arr(a, self.approximate)).astype(gd.dtype, copy=False),)


GeluBackward0._fast_arrays = _gelu_fast
GeluBackward0._fast_backward = tensor_level(_gelu_fast)


class GeluBackwardBackward0(Op):
    """``grad * gelu'(x)``: GELU's backward as a node of its own, so that gradients of any
    order work (its ``grad`` input gets ``gelu'(x)`` again, its ``x`` input ``gelu''(x)``)."""

    def forward(self, g, a, approximate):
        self.approximate = approximate
        self.save(grad_output=self.inputs[0], self=self.inputs[1])
        return (g * _gelu_grad_arr(a, approximate)).astype(g.dtype, copy=False)

    def backward(self, gg):
        g, a = self.saved()
        n = self.needs
        gg_g = apply(GeluBackwardBackward0, (gg, a), approximate=self.approximate) \
            if n[0] else None
        gg_a = None
        if n[1]:
            if self.approximate == "tanh":
                u_d = (1 + 3 * _K_KAPPA * a * a) * _K_BETA
                t = ((a + _K_KAPPA * a * a * a) * _K_BETA).tanh()
                sech2 = 1 - t * t
                second = sech2 * (u_d + 0.5 * a * (6 * _K_KAPPA * _K_BETA * a - 2 * t * u_d * u_d))
            else:
                second = (a * a * -0.5).exp() * _INV_SQRT_2PI * (2 - a * a)
            gg_a = gg * g * second
        return gg_g, gg_a


class MishBackward0(Op):
    def forward(self, a):
        self.save(self=self.inputs[0])
        xp = xp_of(a)
        return a * xp.tanh(xp.logaddexp(a.dtype.type(0), a))

    def backward(self, g):
        (a,) = self.saved()
        s = a.sigmoid()
        tsp = apply(SoftplusBackward0, (a,), beta=1.0, threshold=20.0).tanh()
        return g * (tsp + a * s * (1 - tsp * tsp))


class HardswishBackward0(Op):
    def forward(self, a):
        self.save(self=self.inputs[0])
        xp = xp_of(a)
        return a * xp.minimum(xp.maximum(a + 3, 0), 6) / 6

    def backward(self, g):
        (a,) = self.saved()
        return where(a <= -3, g * 0, where(a < 3, g * (a / 3 + 0.5), g))


class GluBackward0(Op):
    def forward(self, a, dim):
        self.dim = dim
        self.save(self=self.inputs[0])
        h = a.shape[dim] // 2
        xp = xp_of(a)
        first = xp.take(a, xp.arange(h), axis=dim)
        second = xp.take(a, xp.arange(h, 2 * h), axis=dim)
        return first * (1 / (1 + xp.exp(-second)))

    def backward(self, g):
        (a,) = self.saved()
        first, second = a.chunk(2, self.dim)
        s = second.sigmoid()
        return cat([g * s, g * first * s * (1 - s)], self.dim)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """``x * Phi(x)`` (``Phi`` the standard normal CDF), or with ``approximate='tanh'``
    ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`` (``GeluBackward0``)."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    return apply(GeluBackward0, (input,), approximate=approximate)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * tanh(softplus(x))`` (``MishBackward0``)."""
    return _maybe_inplace(input, apply(MishBackward0, (input,)), inplace)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * relu6(x + 3) / 6`` (``HardswishBackward0``)."""
    return _maybe_inplace(input, apply(HardswishBackward0, (input,)), inplace)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """Gated linear unit: ``a * sigmoid(b)`` with ``a, b`` the halves of ``input`` along
    ``dim`` (``GluBackward0``)."""
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    d = dim + input.ndim if dim < 0 else dim
    if not 0 <= d < input.ndim:
        raise IndexError(f"Dimension out of range (expected to be in range of "
                         f"[{-input.ndim}, {input.ndim - 1}], but got {dim})")
    if input.shape[d] % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {d} is size "
                           f"{input.shape[d]}")
    return apply(GluBackward0, (input,), dim=d)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``x`` where positive, ``negative_slope * x`` elsewhere (``LeakyReluBackward0``)."""
    out = apply(LeakyReluBackward0, (input,), slope=negative_slope)
    return _maybe_inplace(input, out, inplace)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` where positive, ``alpha * (exp(x) - 1)`` elsewhere."""
    return _maybe_inplace(input, apply(EluBackward0, (input,), alpha=alpha), inplace)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta * x)) / beta`` (linear above ``threshold``)."""
    return apply(SoftplusBackward0, (input,), beta=beta, threshold=threshold)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """``x`` clipped to ``[min_val, max_val]``."""
    return _maybe_inplace(input, apply(HardtanhBackward0, (input,), lo=min_val, hi=max_val),
                          inplace)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """``hardtanh(x, 0, 6)``."""
    return hardtanh(input, 0.0, 6.0, inplace)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * sigmoid(x)``."""
    return _maybe_inplace(input, apply(SiluBackward0, (input,)), inplace)


def logsigmoid(input: Tensor) -> Tensor:
    """``log(sigmoid(x))``, computed stably."""
    return apply(LogSigmoidBackward0, (input,))


def _maybe_inplace(input: Tensor, out: Tensor, inplace: bool) -> Any:
    """Write ``out`` into ``input`` when ``inplace`` and no graph is recorded; with a graph
    the out-of-place result is returned (its backward needs the unmodified input)."""
    if not inplace or out.grad_fn is not None:
        return out
    from ...ops._core import check_inplace
    check_inplace(input)
    input._data[...] = out._data
    input._vc.v += 1
    return input
