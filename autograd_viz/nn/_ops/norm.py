"""Batch normalisation as one node, ``NativeBatchNormBackward0`` (running statistics are
updated in place during training, outside the graph)."""
from __future__ import annotations

from ...autograd.function import Op
from ...ops._core import apply
from ...tensor import Tensor
from ._util import wrap, xp_of


def _axes(ndim: int) -> tuple:
    return (0,) + tuple(range(2, ndim))


def _bshape(ndim: int, c: int) -> tuple:
    return (1, c) + (1,) * (ndim - 2)


class NativeBatchNormBackward0(Op):
    def forward(self, x, *wb, has_weight, running_mean, running_var, training, momentum,
                eps):
        xp = xp_of(x)
        c = x.shape[1]
        axes, shp = _axes(x.ndim), _bshape(x.ndim, c)
        self.axes, self.shp, self.eps, self.training = axes, shp, eps, training
        self.has_weight, self.n_wb = has_weight, len(wb)
        if training:
            mean = x.mean(axis=axes)
            var = x.var(axis=axes)
            n = x.size // c
            with_stats = [(running_mean, mean), (running_var, var * (n / max(n - 1, 1)))]
            for buf, stat in with_stats:
                if buf is not None:
                    d = buf._data
                    d[...] = momentum * stat.astype(d.dtype) + (1 - momentum) * d
                    buf._vc.v += 1
        else:
            mean, var = running_mean._data, running_var._data
        invstd = 1.0 / xp.sqrt(var + eps)
        self.mean_c, self.invstd_c = mean.reshape(shp), invstd.reshape(shp)
        y = (x - self.mean_c) * self.invstd_c
        if has_weight:
            y = y * wb[0].reshape(shp)
        if (has_weight and len(wb) == 2) or (not has_weight and len(wb) == 1):
            y = y + wb[-1].reshape(shp)
        self.save(input=self.inputs[0], weight=self.inputs[1] if has_weight else None)
        return y.astype(x.dtype, copy=False)

    def backward(self, g):
        x, w = self.saved()
        n = self.needs
        axes = self.axes
        if self.training:
            xmu = x - x.mean(dim=axes, keepdim=True)
            invstd = ((xmu * xmu).mean(dim=axes, keepdim=True) + self.eps).rsqrt()
        else:
            xmu = x - wrap(self.mean_c)
            invstd = wrap(self.invstd_c)
        xhat = xmu * invstd
        gxhat = g * w.reshape(self.shp) if w is not None else g
        gx = None
        if n[0]:
            if self.training:
                gx = invstd * (gxhat - gxhat.mean(dim=axes, keepdim=True)
                               - xhat * (gxhat * xhat).mean(dim=axes, keepdim=True))
            else:
                gx = gxhat * invstd
        out = [gx]
        if self.has_weight:
            out.append((g * xhat).sum(dim=axes) if n[1] else None)
        if len(out) < 1 + self.n_wb:
            out.append(g.sum(dim=axes) if n[len(out)] else None)
        return tuple(out)


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise over all dims but 1 (batch statistics when ``training``, else the running
    ones), then scale by ``weight`` and shift by ``bias``."""
    if training:
        size = tuple(input.shape)
        n = 1
        for i, s in enumerate(size):
            if i != 1:
                n *= s
        if n == 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got "
                             f"input size {input.shape}")
    c = input.shape[1] if input.ndim > 1 else 0
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and t.numel() != c:
            raise RuntimeError(f"{name} should contain {c} elements not {t.numel()}")
    if not training and (running_mean is None or running_var is None):
        raise RuntimeError("running_mean and running_var must be defined in evaluation mode")
    wb = tuple(t for t in (weight, bias) if t is not None)
    return apply(NativeBatchNormBackward0, (input,) + wb, has_weight=weight is not None,
                 running_mean=running_mean, running_var=running_var, training=training,
                 momentum=momentum, eps=eps)
