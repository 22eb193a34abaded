"""Activations the core lacks, each one node with PyTorch's name."""
from __future__ import annotations

from typing import Any

from ...autograd.function import RESULT, Op
from ...ops._core import apply
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
