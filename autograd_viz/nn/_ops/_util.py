"""Small helpers shared by the nn ops."""
from __future__ import annotations

from typing import Any

import numpy as np

from ... import _backend as B
from ...tensor import Tensor

_DT_SHORT = {"float32": "float", "float64": "double", "float16": "c10::Half",
             "int64": "long int", "int32": "int", "bool": "bool"}
_DT_CAP = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
           "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}


def xp_of(a: Any) -> Any:
    """numpy or cupy, whichever holds ``a``."""
    return B.get_array_module(a)


def cap_name(t: Tensor) -> str:
    """'Float', 'Double', 'Long', ... as in PyTorch's messages."""
    return _DT_CAP[t.dtype.name]


def short_name(t: Tensor) -> str:
    """'float', 'double', ... as in PyTorch's messages."""
    return _DT_SHORT.get(t.dtype.name, t.dtype.name)


def wrap(a: Any) -> Tensor:
    """A constant tensor around an array (outside the graph)."""
    return Tensor._wrap(a)


def pair(v: Any, name: str = "value") -> tuple[int, int]:
    """``2`` -> ``(2, 2)``; ``(2, 3)`` stays."""
    if isinstance(v, (tuple, list)):
        if len(v) == 1:
            return (int(v[0]), int(v[0]))
        if len(v) != 2:
            raise RuntimeError(f"expected {name} to be a single integer value or a list of 2 "
                               f"values to match the convolution dimensions, but got "
                               f"{name}={list(v)}")
        return (int(v[0]), int(v[1]))
    return (int(v), int(v))


def as_strided(a: Any, shape: tuple, strides: tuple) -> Any:
    """A strided view of ``a`` (NumPy's or CuPy's ``as_strided``)."""
    return xp_of(a).lib.stride_tricks.as_strided(a, shape=shape, strides=strides)


def windows(a: Any, kernel: tuple[int, int], stride: tuple[int, int],
            dilation: tuple[int, int], out_hw: tuple[int, int] | None = None) -> Any:
    """The view ``(N, C, Ho, Wo, kh, kw)`` of the sliding windows of ``a`` (N, C, H, W),
    without copying."""
    n, c, h, w = a.shape
    kh, kw = kernel
    sh, sw = stride
    dh, dw = dilation
    if out_hw is None:
        out_hw = ((h - dh * (kh - 1) - 1) // sh + 1, (w - dw * (kw - 1) - 1) // sw + 1)
    s0, s1, s2, s3 = a.strides
    return as_strided(a, (n, c, out_hw[0], out_hw[1], kh, kw),
                      (s0, s1, s2 * sh, s3 * sw, s2 * dh, s3 * dw))


def dilate(g: Any, stride: tuple[int, int]) -> Any:
    """Insert ``stride - 1`` zeros between the spatial elements of ``g`` (N, C, H, W)."""
    sh, sw = stride
    if sh == 1 and sw == 1:
        return g
    n, c, h, w = g.shape
    out = xp_of(g).zeros((n, c, (h - 1) * sh + 1, (w - 1) * sw + 1), dtype=g.dtype)
    out[:, :, ::sh, ::sw] = g
    return out


def pad2d(a: Any, pads: tuple[int, int, int, int], value: float = 0.0) -> Any:
    """Pad (top, bottom, left, right) on the last two dims; negative values crop."""
    t, b, l, r = pads
    if t < 0 or b < 0 or l < 0 or r < 0:
        h, w = a.shape[-2:]
        a = a[..., max(-t, 0):h - max(-b, 0), max(-l, 0):w - max(-r, 0)]
        t, b, l, r = max(t, 0), max(b, 0), max(l, 0), max(r, 0)
    if not (t or b or l or r):
        return a
    h, w = a.shape[-2:]
    out = xp_of(a).full(a.shape[:-2] + (h + t + b, w + l + r), value, dtype=a.dtype)
    out[..., t:t + h, l:l + w] = a
    return out


def scatter_add(out: Any, index: Any, values: Any) -> None:
    """``out[index] += values`` with repeated indices accumulated (NumPy ``add.at``, CuPy
    ``cupyx.scatter_add``)."""
    xp = xp_of(out)
    if xp is np:
        np.add.at(out, index, values)
    else:
        import cupyx  # type: ignore[import-not-found]
        cupyx.scatter_add(out, index, values)


def reduce_loss(losses: Tensor, reduction: str) -> Tensor:
    """``'none'`` / ``'mean'`` / ``'sum'`` of a loss tensor."""
    if reduction == "none":
        return losses
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    raise ValueError(f"{reduction} is not a valid value for reduction")


def check_reduction(reduction: str) -> None:
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
