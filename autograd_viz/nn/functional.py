"""``autograd_viz.nn.functional``: the stateless forms of the layers and losses, with
PyTorch's signatures, defaults, errors and ``grad_fn`` names."""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .. import _backend as B
from ..ops import creation as _creation
from ..ops._core import apply as _apply
from ..ops._core import require_tensor
from ..ops.unary import where
from ..tensor import Tensor
from ._ops._util import cap_name, check_reduction, reduce_loss, wrap
from ._ops.activation import (
    elu,
    gelu,
    glu,
    hardswish,
    hardtanh,
    leaky_relu,
    logsigmoid,
    mish,
    relu6,
    silu,
    softplus,
)
from ._ops.conv import conv1d, conv2d
from ._ops.distance import cosine_similarity, pairwise_distance
from ._ops.embedding import embedding
from ._ops.linear import bilinear, linear
from ._ops.loss import (
    BinaryCrossEntropyBackward0,
    BinaryCrossEntropyWithLogitsBackward0,
    MseLossBackward0,
    NllLoss2DBackward0,
    NllLossBackward0,
    classes_checked,
    target_dtype_ok,
)
from ._ops.norm import batch_norm, layer_norm
from ._ops.pad import pad
from ._ops.pooling import adaptive_avg_pool2d, avg_pool2d, max_pool2d, max_pool2d_with_indices

__all__ = [
    "linear", "bilinear", "conv2d", "max_pool2d", "max_pool2d_with_indices", "avg_pool2d",
    "adaptive_avg_pool2d", "relu", "relu_", "leaky_relu", "elu", "softplus", "hardtanh",
    "relu6", "silu", "logsigmoid", "sigmoid", "tanh", "softmax", "softmin", "log_softmax",
    "dropout", "batch_norm", "embedding", "one_hot", "pad", "normalize", "mse_loss",
    "l1_loss", "smooth_l1_loss", "huber_loss", "nll_loss", "cross_entropy",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div", "gelu", "mish",
    "hardswish", "glu", "layer_norm", "conv1d", "cosine_similarity", "pairwise_distance",
]


# ----------------------------------------------------------------------------- activations
def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """``max(x, 0)`` (``ReluBackward0``)."""
    return input.relu_() if inplace else input.relu()


def relu_(input: Tensor) -> Tensor:
    """In-place ``relu``."""
    return input.relu_()


def sigmoid(input: Tensor) -> Tensor:
    """``1 / (1 + exp(-x))``."""
    return input.sigmoid()


def tanh(input: Tensor) -> Tensor:
    """Hyperbolic tangent."""
    return input.tanh()


def _softmax_dim(name: str, ndim: int) -> int:
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call "
                  "to include dim=X as an argument.", stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
            dtype: Any = None) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim`` (``SoftmaxBackward0``)."""
    if dim is None:
        dim = _softmax_dim("softmax", input.ndim)
    return input.softmax(dim, dtype=dtype)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
            dtype: Any = None) -> Tensor:
    """``softmax(-x)``."""
    if dim is None:
        dim = _softmax_dim("softmin", input.ndim)
    return (-input).softmax(dim, dtype=dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
                dtype: Any = None) -> Tensor:
    """``log(softmax(x))`` computed stably (``LogSoftmaxBackward0``)."""
    if dim is None:
        dim = _softmax_dim("log_softmax", input.ndim)
    return input.log_softmax(dim, dtype=dtype)


# ----------------------------------------------------------------------------- dropout etc.
def dropout(input: Tensor, p: float = 0.5, training: bool = True,
            inplace: bool = False) -> Tensor:
    """Zero elements with probability ``p`` and scale the rest by ``1 / (1 - p)`` during
    training (``MulBackward0``); the input itself when not training."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0 or input.numel() == 0:
        return input
    xp = B.get_array_module(input._data)
    if p == 1:
        noise = xp.zeros((), dtype=input._data.dtype)
    else:
        u = _creation.rand(tuple(input.shape), dtype=B.float64, device=input.device)._data
        noise = (u < 1 - p).astype(input._data.dtype) / input._data.dtype.type(1 - p)
    out = input * wrap(noise)
    if inplace and out.grad_fn is None:
        input._data[...] = out._data
        input._vc.v += 1
        return input
    return out


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """Int64 one-hot encoding along a new last dim."""
    if tensor.dtype is not B.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    xp = B.get_array_module(tensor._data)
    idx = tensor._data
    n = int(idx.max()) + 1 if num_classes == -1 else num_classes
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= n):
        raise RuntimeError("Class values must be smaller than num_classes." if int(idx.max())
                           >= n else "Class values must be non-negative.")
    return wrap((idx[..., None] == xp.arange(n)).astype(np.int64))


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """``x / max(||x||_p, eps)`` along ``dim``."""
    denom = input.norm(p, dim, keepdim=True).clamp_min(eps).expand_as(input)
    return input / denom


# ----------------------------------------------------------------------------- losses
def _legacy_reduction(size_average: Any, reduce: Any, reduction: str) -> str:
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    ret = "mean" if size_average and reduce else ("sum" if reduce else "none")
    warnings.warn(f"size_average and reduce args will be deprecated, please use "
                  f"reduction='{ret}' instead.", stacklevel=3)
    return ret


def _broadcast_pair(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    sa, sb = tuple(a.shape), tuple(b.shape)
    if sa == sb:
        return a, b
    try:
        shape = np.broadcast_shapes(sa, sb)
    except ValueError:
        n = max(len(sa), len(sb))
        pa, pb = (1,) * (n - len(sa)) + sa, (1,) * (n - len(sb)) + sb
        i = next(i for i in range(n - 1, -1, -1) if pa[i] != pb[i] and 1 not in (pa[i], pb[i]))
        raise RuntimeError(f"The size of tensor a ({pa[i]}) must match the size of tensor b "
                           f"({pb[i]}) at non-singleton dimension {i}") from None
    return (a.expand(shape) if sa != shape else a), (b.expand(shape) if sb != shape else b)


def _warn_size(input: Tensor, target: Tensor) -> None:
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(f"Using a target size ({target.shape}) that is different to the input "
                      f"size ({input.shape}). This will likely lead to incorrect results due "
                      "to broadcasting. Please ensure they have the same size.", stacklevel=3)


def mse_loss(input: Tensor, target: Tensor, size_average: Any = None, reduce: Any = None,
             reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """Mean squared error (``MseLossBackward0``)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    check_reduction(reduction)
    _warn_size(input, target)
    x, t = _broadcast_pair(input, target)
    if t.dtype is not x.dtype:
        t = t.to(x.dtype)
    if weight is not None:
        return reduce_loss(weight * (x - t) ** 2, reduction)
    return _apply(MseLossBackward0, (x, t), reduction=reduction)


def l1_loss(input: Tensor, target: Tensor, size_average: Any = None, reduce: Any = None,
            reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """Mean absolute error (composed as PyTorch does: ``(x - t).abs()`` then the
    reduction, so ``MeanBackward0`` / ``AbsBackward0`` / ``SubBackward0``)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    check_reduction(reduction)
    _warn_size(input, target)
    x, t = _broadcast_pair(input, target)
    d = (x - t).abs()
    return reduce_loss(d * weight if weight is not None else d, reduction)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average: Any = None,
                   reduce: Any = None, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """``0.5 d^2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta``."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    check_reduction(reduction)
    _warn_size(input, target)
    x, t = _broadcast_pair(input, target)
    d = (x - t).abs()
    if beta == 0:
        return reduce_loss(d, reduction)
    loss = where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta)
    return reduce_loss(loss, reduction)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean",
               delta: float = 1.0, weight: Tensor | None = None) -> Tensor:
    """``0.5 d^2`` where ``|d| <= delta``, else ``delta (|d| - 0.5 delta)``."""
    check_reduction(reduction)
    _warn_size(input, target)
    x, t = _broadcast_pair(input, target)
    d = (x - t).abs()
    loss = where(d <= delta, 0.5 * d * d, delta * (d - 0.5 * delta))
    return reduce_loss(loss * weight if weight is not None else loss, reduction)


def kl_div(input: Tensor, target: Tensor, size_average: Any = None, reduce: Any = None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """Kullback-Leibler divergence with ``input`` given as log-probabilities;
    ``reduction='batchmean'`` divides the sum by the batch size."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        pos = target > 0
        safe = where(pos, target, target * 0 + 1)
        loss = where(pos, target * (safe.log() - input), input * 0)
    if reduction == "batchmean":
        return loss.sum() / input.shape[0] if input.ndim else loss.sum()
    if reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size.'batchmean' divides only by the batch size, and aligns "
                      "with the KL div math definition.'mean' will be changed to behave the "
                      "same as 'batchmean' in the next major release.", stacklevel=2)
    return reduce_loss(loss, reduction)


def _check_weight(weight: Tensor | None, n_classes: int) -> None:
    if weight is not None and (weight.ndim != 1 or weight.numel() != n_classes):
        raise RuntimeError(f"weight tensor should be defined either for all {n_classes} "
                           f"classes or no classes but got weight tensor of shape: "
                           f"{list(weight.shape)}")


def _check_target_dtype(target: Tensor) -> None:
    if not target_dtype_ok(target):
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got "
                           f"{cap_name(target)}")


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
             size_average: Any = None, ignore_index: int = -100, reduce: Any = None,
             reduction: str = "mean") -> Tensor:
    """Negative log likelihood of class indices ``target`` under log-probabilities ``input``
    (N, C) / (C,) / (N, C, d1, ...): ``NllLossBackward0`` (``NllLoss2DBackward0`` for
    4-D input; other ranks are viewed as 4-D, as in PyTorch)."""
    require_tensor("nll_loss_nd", "input", 1, input)
    require_tensor("nll_loss_nd", "target", 2, target)
    reduction = _legacy_reduction(size_average, reduce, reduction)
    check_reduction(reduction)
    if input.ndim < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {input.ndim})")
    if input.ndim != 1 and (target.ndim == 0 or input.shape[0] != target.shape[0]):
        tb = target.shape[0] if target.ndim else 1
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target "
                         f"batch_size ({tb}).")
    n_classes = input.shape[0] if input.ndim == 1 else input.shape[1]
    w = weight._data if weight is not None else None
    if input.ndim <= 2:
        if target.ndim > 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        if input.ndim == 1 and target.ndim != 0:
            raise RuntimeError(f"size mismatch (got input: {list(input.shape)}, target: "
                               f"{list(target.shape)})")
        _check_weight(weight, n_classes)
        _check_target_dtype(target)
        return _apply(NllLossBackward0, (input,), target=target._data, weight=w,
                      ignore_index=ignore_index, reduction=reduction,
                      checked=w is None and input.ndim == 2
                      and classes_checked(target, n_classes))
    if input.ndim == 4:
        if target.ndim != 3:
            raise RuntimeError("only batches of spatial targets supported (3D tensors) but got "
                               f"targets of dimension: {target.ndim}")
        if tuple(target.shape) != (input.shape[0],) + tuple(input.shape[2:]):
            raise RuntimeError(f"input and target batch or spatial sizes don't match: target "
                               f"{list(target.shape)}, input {list(input.shape)}")
        _check_weight(weight, n_classes)
        _check_target_dtype(target)
        return _apply(NllLoss2DBackward0, (input,), target=target._data, weight=w,
                      ignore_index=ignore_index, reduction=reduction)
    n, c = input.shape[0], input.shape[1]
    out_size = (n,) + tuple(input.shape[2:])
    if tuple(target.shape[1:]) != tuple(input.shape[2:]):
        raise RuntimeError(f"Expected target size {list(out_size)}, got {list(target.shape)}")
    x4 = input.contiguous().view(n, c, 1, -1)
    t3 = target.contiguous().view(n, 1, -1)
    out = nll_loss(x4, t3, weight, ignore_index=ignore_index, reduction=reduction)
    return out.view(out_size) if reduction == "none" else out


_REDUCTIONS = ("mean", "sum", "none")
_TARGET_DTYPES = (np.dtype(np.int64), np.dtype(np.uint8))  # (as target_dtype_ok)


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  size_average: Any = None, ignore_index: int = -100, reduce: Any = None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """``nll_loss(log_softmax(input, 1), target)`` for class indices; for class
    probabilities (``target`` shaped like ``input``) ``-(log_softmax * target).sum(1)``;
    ``weight``, ``ignore_index``, ``reduction`` and ``label_smoothing`` as in PyTorch."""
    require_tensor("cross_entropy_loss", "input", 1, input)
    require_tensor("cross_entropy_loss", "target", 2, target)
    if weight is None and size_average is None and reduce is None \
            and label_smoothing == 0.0 and reduction in _REDUCTIONS:
        # the usual case, (N, C) logits and N class indices: nll_loss's checks done here
        td = target._data
        if td.ndim == 1 and input._data.ndim == 2 \
                and td.shape[0] == input._data.shape[0] and td.dtype in _TARGET_DTYPES:
            return _apply(NllLossBackward0, (input.log_softmax(1),), target=td, weight=None,
                          ignore_index=ignore_index, reduction=reduction,
                          checked=classes_checked(target, input._data.shape[1]))
    reduction = _legacy_reduction(size_average, reduce, reduction)
    check_reduction(reduction)
    class_dim = 0 if input.ndim == 1 else 1
    if tuple(input.shape) == tuple(target.shape):
        if not target.is_floating_point():
            raise RuntimeError(f"Expected floating point type for target with class "
                               f"probabilities, got {cap_name(target)}")
        if ignore_index >= 0:
            raise RuntimeError("ignore_index is not supported for floating point target")
        return _ce_probs(input, target, weight, reduction, label_smoothing, class_dim)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: "
                           f"{label_smoothing}")
    logp = input.log_softmax(class_dim)
    nll = nll_loss(logp, target, weight, ignore_index=ignore_index, reduction=reduction)
    if label_smoothing <= 0.0:
        return nll
    n_classes = input.shape[class_dim]
    ignore = wrap(target._data == ignore_index)
    if weight is not None:
        shape = [1] * input.ndim
        shape[class_dim] = n_classes
        smooth = -(logp * weight.view(shape)).sum(class_dim)
    else:
        smooth = -logp.sum(class_dim)
    smooth = smooth.masked_fill(ignore, 0.0)
    if reduction == "mean":
        if weight is not None:
            kept = target._data[~ignore._data].reshape(-1)
            ret = smooth.sum() / wrap(weight._data[kept]).sum()
        else:
            ret = smooth.sum() / (~ignore).sum()
    elif reduction == "sum":
        ret = smooth.sum()
    else:
        ret = smooth
    return (1 - label_smoothing) * nll + ret * (label_smoothing / n_classes)


def _ce_probs(input: Tensor, target: Tensor, weight: Tensor | None, reduction: str,
              label_smoothing: float, class_dim: int) -> Tensor:
    n_classes = input.shape[class_dim]
    if label_smoothing > 0:
        target = target * (1 - label_smoothing) + label_smoothing / n_classes
    logp = input.log_softmax(class_dim)
    prod = logp * target
    if weight is not None:
        shape = [1] * input.ndim
        shape[class_dim] = n_classes
        prod = prod * weight.view(shape) if input.ndim > 1 else prod * weight
    if reduction == "mean":
        if input.numel() == 0:
            return -prod.sum() * float("nan")
        return -prod.sum() / (input.numel() / n_classes)
    if reduction == "sum":
        return -prod.sum()
    return -prod.sum(class_dim)


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         size_average: Any = None, reduce: Any = None,
                         reduction: str = "mean") -> Tensor:
    """``-(t log x + (1 - t) log(1 - x))`` with logs clamped at -100
    (``BinaryCrossEntropyBackward0``)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    check_reduction(reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Using a target size ({target.shape}) that is different to the input "
                         f"size ({input.shape}) is deprecated. Please ensure they have the same "
                         "size.")
    w = np.broadcast_to(B.to_numpy(weight._data), tuple(input.shape)) if weight is not None \
        else None
    if w is not None and input.is_cuda:
        w = B.move(np.ascontiguousarray(w), input.device)
    return _apply(BinaryCrossEntropyBackward0, (input, target), weight=w, reduction=reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor,
                                     weight: Tensor | None = None, size_average: Any = None,
                                     reduce: Any = None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """``binary_cross_entropy(sigmoid(x), t)`` computed stably from logits, with optional
    ``pos_weight`` for positives (``BinaryCrossEntropyWithLogitsBackward0``)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    check_reduction(reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Target size ({target.shape}) must be the same as input size "
                         f"({input.shape})")
    return _apply(BinaryCrossEntropyWithLogitsBackward0, (input, target),
                  weight=weight._data if weight is not None else None,
                  pos_weight=pos_weight._data if pos_weight is not None else None,
                  reduction=reduction)
