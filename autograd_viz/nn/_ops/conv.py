"""2-D convolution (``ConvolutionBackward0``): strided windows of the padded input copied
once into a patch matrix, and one batched matrix multiply per direction, on NumPy or CuPy.

Three bilinear maps close under differentiation, so gradients of any order work:
``C(x, w)`` the convolution, ``Cx(g, w)`` its adjoint in ``x`` (a transposed convolution:
one matrix multiply to patch gradients, then col2im as ``kh * kw`` strided adds) and
``Cw(x, g)`` its adjoint in ``w`` (one matrix multiply against the patch matrix).

The patch matrix has the layout (N, G, Cg*kh*kw, Ho*Wo): its copy from the windows runs
along whole output rows (not along the short kernel rows), the forward product
``w @ cols`` comes out in NCHW order without a transpose, and the weight gradient is
``g @ cols^T``. The forward keeps it when the weight needs a gradient, so that backward does
not build it a second time (it is dropped with the node's saved tensors).

``ConvolutionBackward0`` has an array-level backward (``_fast_arrays``, see
``ops/_fastgrad.py``) for a backward without graph: it calls the very array functions that
the Tensor-level ``backward`` reaches through ``ConvInputGrad`` / ``ConvWeightGrad`` and
``sum``, so both give bit-identical gradients; ``backward`` stays the definition and serves
``create_graph=True``.
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ...autograd.function import Op
from ...ops import _cupy_fused as _fused
from ...ops._core import apply
from ...ops._fastgrad import saved_arrays, tensor_level
from ...tensor import Tensor
from ._util import pad2d, pair, short_name, windows, xp_of


class ConvParams:
    """Stride, padding (top, bottom, left, right), dilation and groups of one call."""

    __slots__ = ("stride", "pads", "dilation", "groups")

    def __init__(self, stride: tuple, pads: tuple, dilation: tuple, groups: int) -> None:
        self.stride, self.pads, self.dilation, self.groups = stride, pads, dilation, groups


def _im2col(xpad: Any, kernel: tuple, p: ConvParams, out_hw: tuple | None = None) -> Any:
    """(N, G, Cg*kh*kw, Ho*Wo) patches of an already padded input (one copy)."""
    n, c = xpad.shape[:2]
    g = p.groups
    kh, kw = kernel
    win = windows(xpad, kernel, p.stride, p.dilation, out_hw)  # (N, C, Ho, Wo, kh, kw)
    ho, wo = win.shape[2:4]
    cols = win.reshape(n, g, c // g, ho, wo, kh, kw).transpose(0, 1, 2, 5, 6, 3, 4)
    return cols.reshape(n, g, (c // g) * kh * kw, ho * wo), (ho, wo)


def _one_product(a: Any, p: ConvParams) -> bool:
    """Whether the convolutions of ``a`` run as single 2-D matrix products (CuPy, one group):
    on the GPU a batched product costs ~10x the host time of a plain one."""
    return p.groups == 1 and type(a) is not np.ndarray


def _im2col_2d(xpad: Any, kernel: tuple, p: ConvParams, out_hw: tuple | None = None) -> Any:
    """(C*kh*kw, N*Ho*Wo) patches of an already padded input (one copy): the patch matrix of
    the whole batch side by side, for one group."""
    n, c = xpad.shape[:2]
    win = windows(xpad, kernel, p.stride, p.dilation, out_hw)  # (N, C, Ho, Wo, kh, kw)
    ho, wo = win.shape[2:4]
    cols = win.transpose(1, 4, 5, 0, 2, 3).reshape(c * kernel[0] * kernel[1], n * ho * wo)
    return cols, (ho, wo)


def _corr(xpad: Any, w: Any, p: ConvParams) -> tuple[Any, Any]:
    """Cross-correlation of a padded input with ``w`` (O, Cg, kh, kw): (N, O, Ho, Wo), and
    the patch matrix it used (2-D where ``_one_product``; then the result is a transposed
    view, which the caller copies)."""
    n = xpad.shape[0]
    o, _, kh, kw = w.shape
    g = p.groups
    if _one_product(xpad, p):
        cols, (ho, wo) = _im2col_2d(xpad, (kh, kw), p)
        out = w.reshape(o, -1) @ cols  # (O, K) @ (K, N*P)
        return out.reshape(o, n, ho, wo).transpose(1, 0, 2, 3), cols
    cols, (ho, wo) = _im2col(xpad, (kh, kw), p)
    # (G, O/G, K) @ (N, G, K, P) -> (N, G, O/G, P): already NCHW
    out = w.reshape(g, o // g, -1) @ cols
    return out.reshape(n, o, ho, wo), cols


def conv_forward(x: Any, w: Any, p: ConvParams) -> Any:
    """``C(x, w)`` on arrays."""
    out = _corr(pad2d(x, p.pads), w, p)[0]
    return xp_of(out).ascontiguousarray(out)


def conv_input_grad(g: Any, w: Any, x_hw: tuple, p: ConvParams) -> Any:
    """``Cx(g, w)``: the gradient w.r.t. the input, for input spatial size ``x_hw``: patch
    gradients ``w^T @ g``, then col2im (a strided add per kernel offset; on the GPU one
    kernel that adds the same values in the same order)."""
    o, cg, kh, kw = w.shape
    gr = p.groups
    n, _, ho, wo = g.shape
    (sh, sw), (dh, dw), (t, b, l, r) = p.stride, p.dilation, p.pads
    h, wd = x_hw
    xp = xp_of(g)
    if _one_product(g, p):  # (K, O) @ (O, N*P), then one gathering kernel for col2im
        gcols = w.reshape(o, cg * kh * kw).T @ g.transpose(1, 0, 2, 3).reshape(o, n * ho * wo)
        return _fused.col2im(gcols, (n, cg, h, wd), (ho, wo), (kh, kw), p.stride, (t, l),
                             p.dilation)
    wt = w.reshape(gr, o // gr, cg * kh * kw).transpose(0, 2, 1)  # (G, K, O/G)
    gcols = wt @ g.reshape(n, gr, o // gr, ho * wo)  # (N, G, K, P)
    gcols = gcols.reshape(n, gr * cg, kh, kw, ho, wo)
    hp = max(h + t + b, (ho - 1) * sh + (kh - 1) * dh + 1)
    wp = max(wd + l + r, (wo - 1) * sw + (kw - 1) * dw + 1)
    gx = xp.zeros((n, gr * cg, hp, wp), dtype=gcols.dtype)
    he, we = (ho - 1) * sh + 1, (wo - 1) * sw + 1
    for i in range(kh):
        for j in range(kw):
            gx[:, :, i * dh:i * dh + he:sh, j * dw:j * dw + we:sw] += gcols[:, :, i, j]
    if hp == h and wp == wd:
        return gx
    return gx[:, :, t:t + h, l:l + wd]


def conv_weight_grad(x: Any, g: Any, w_shape: tuple, p: ConvParams,
                     cols: Any = None) -> Any:
    """``Cw(x, g)``: the gradient w.r.t. the weight (``cols``: the forward's patch matrix
    of ``x``, when kept)."""
    o, cg, kh, kw = w_shape
    n = x.shape[0]
    gr = p.groups
    ho, wo = g.shape[2:]
    if _one_product(x, p):
        if cols is None:
            cols, _ = _im2col_2d(pad2d(x, p.pads), (kh, kw), p, (ho, wo))
        # (O, N*P) @ (N*P, K): the batch summed inside the one product, written into an
        # array of the weight's shape (not a view, which ``.grad`` would have to copy)
        xp = xp_of(g)
        gw = xp.empty((o, cg, kh, kw), dtype=xp.result_type(g, cols))
        xp.matmul(g.transpose(1, 0, 2, 3).reshape(o, n * ho * wo), cols.T,
                  out=gw.reshape(o, cg * kh * kw))
        return gw
    if cols is None:
        cols, _ = _im2col(pad2d(x, p.pads), (kh, kw), p, (ho, wo))
    # (N, G, O/G, P) @ (N, G, P, K) -> (N, G, O/G, K), summed over the batch
    gw = g.reshape(n, gr, o // gr, ho * wo) @ cols.swapaxes(-1, -2)
    return gw.sum(axis=0).reshape(o, cg, kh, kw)


def _bias_grad(g: Any) -> Any:
    """``g.sum(dim=(0, 2, 3))`` on the array, as ``SumBackward1``'s forward computes it."""
    s = None if type(g) is np.ndarray else _fused.sum_except(g, (0, 2, 3))
    return g.sum(axis=(0, 2, 3), dtype=g.dtype) if s is None else s


def _conv_fast(self: ConvolutionBackward0, gd: Any) -> tuple | None:
    """``ConvolutionBackward0.backward`` on arrays (same functions, same order)."""
    x, w = saved_arrays(self)
    n = self.needs
    dt = gd.dtype
    if gd.ndim != 4 or dt.kind != "f" or (x is not None and x.dtype != dt) \
            or (w is not None and w.dtype != dt):
        return None
    gx = conv_input_grad(gd, w, self.x_hw, self.p) if n[0] else None
    gw = conv_weight_grad(x, gd, self.w_shape, self.p, self._cols) if n[1] else None
    if not self.has_bias:
        return gx, gw
    return gx, gw, (_bias_grad(gd) if n[2] else None)


class ConvolutionBackward0(Op):
    """``conv2d(input, weight, bias)``."""

    _cols = None  # the forward's patch matrix, kept for the weight gradient

    def forward(self, x, w, *bias, params):
        self.p = params
        self.x_hw, self.w_shape = x.shape[2:], w.shape
        self.has_bias = bool(bias)
        n = self.needs
        if n:
            self.save(input=self.inputs[0] if n[1] else None,
                      weight=self.inputs[1] if n[0] else None)
        out, cols = _corr(pad2d(x, params.pads), w, params)
        if n and n[1]:
            self._cols = cols
        xp = xp_of(out)
        if xp is not np:  # (the transposed view of a one-product result: one copy, which
            b = bias[0].reshape(1, -1, 1, 1) if bias else None  # adds the bias)
            return xp.ascontiguousarray(out) if b is None else \
                xp.add(out, b, out=xp.empty(out.shape, dtype=out.dtype))
        if bias:
            out += bias[0].reshape(1, -1, 1, 1)
        return out

    def _release(self) -> None:
        super()._release()
        self._cols = None

    def backward(self, g):
        x, w = self.saved()
        n = self.needs
        gx = apply(ConvInputGrad, (g, w), x_hw=self.x_hw, params=self.p) if n[0] else None
        gw = apply(ConvWeightGrad, (x, g), w_shape=self.w_shape, params=self.p,
                   cols=self._cols) if n[1] else None
        if not self.has_bias:
            return gx, gw
        return gx, gw, (g.sum(dim=(0, 2, 3)) if n[2] else None)

    _fast_arrays = _conv_fast
    _fast_backward = tensor_level(_conv_fast)


class ConvInputGrad(Op):
    """``Cx(g, w)``, the input gradient (appears in double backward)."""

    _name = "ConvolutionBackwardBackward0"

    def forward(self, g, w, x_hw, params):
        self.p, self.x_hw = params, x_hw
        self.save(grad_output=self.inputs[0], weight=self.inputs[1])
        return conv_input_grad(g, w, x_hw, params)

    def backward(self, gg):
        g, w = self.saved()
        n = self.needs
        return (apply(ConvolutionBackward0, (gg, w), params=self.p) if n[0] else None,
                apply(ConvWeightGrad, (gg, g), w_shape=tuple(w.shape), params=self.p)
                if n[1] else None)


class ConvWeightGrad(Op):
    """``Cw(x, g)``, the weight gradient (appears in double backward)."""

    _name = "ConvolutionBackwardBackward0"

    def forward(self, x, g, w_shape, params, cols=None):
        self.p, self.w_shape = params, w_shape
        self.save(input=self.inputs[0], grad_output=self.inputs[1])
        return conv_weight_grad(x, g, w_shape, params, cols)

    def backward(self, gg):
        x, g = self.saved()
        n = self.needs
        return (apply(ConvInputGrad, (g, gg), x_hw=tuple(x.shape[2:]), params=self.p)
                if n[0] else None,
                apply(ConvolutionBackward0, (x, gg), params=self.p) if n[1] else None)


def _same_pads(kernel: tuple, dilation: tuple) -> tuple:
    pads = []
    for k, d in zip(kernel, dilation):
        total = d * (k - 1)
        pads += [total // 2, total - total // 2]
    return tuple(pads)


def _check_groups(x: Any, weight: Any, groups: int) -> None:
    """torch's errors when the input's channels or the weight's out-channels do not fit
    ``groups`` (conv1d and conv2d)."""
    c = x.shape[1]
    if weight.shape[1] * groups != c:
        raise RuntimeError(f"Given groups={groups}, weight of size {list(weight.shape)}, "
                           f"expected input{list(x.shape)} to have {weight.shape[1] * groups} "
                           f"channels, but got {c} channels instead")
    if weight.shape[0] % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by "
                           f"{groups} at dimension 0, but got weight of size "
                           f"{list(weight.shape)} instead")


def _check_ranks(input: Tensor, weight: Tensor, nd: int) -> bool:
    """torch's rank errors of conv{nd}d; returns whether ``input`` is unbatched."""
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to "
                           f"conv{nd}d, but got input of size: {list(input.shape)}")
    if weight.ndim != nd + 2:
        raise RuntimeError(f"weight should have at least three dimensions, got {weight.ndim}"
                           if weight.ndim < 3 else f"Expected {nd + 2}-dimensional weight for "
                           f"{nd + 2}-dimensional input, but got weight of size "
                           f"{list(weight.shape)}")
    return input.ndim == nd + 1


def _check_operands(x: Tensor, weight: Tensor, bias: Tensor | None) -> None:
    """torch's dtype, device and bias-shape errors of a convolution (1-D or 2-D)."""
    if bias is not None:
        if bias.dtype is not x.dtype:
            raise RuntimeError(f"Input type ({short_name(x)}) and bias type "
                               f"({short_name(bias)}) should be the same")
        if bias.ndim != 1 or bias.shape[0] != weight.shape[0]:
            raise RuntimeError(f"Given weight of size {list(weight.shape)}, expected bias to "
                               f"be 1-dimensional with {weight.shape[0]} elements, but got "
                               f"bias of size {list(bias.shape)} instead")
    if weight.dtype is not x.dtype:
        raise RuntimeError(f"expected scalar type {_cap(x)} but found {_cap(weight)}")
    if x.device != weight.device:
        raise RuntimeError(f"Input type ({x.device}) and weight type ({weight.device}) should "
                           "be the same")


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,
           padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    """2-D cross-correlation of ``input`` (N, C, H, W) or (C, H, W) with ``weight``
    (O, C/groups, kh, kw); ``padding`` may be an int, a pair, ``'valid'`` or ``'same'``."""
    unbatched = _check_ranks(input, weight, 2)
    x = input.unsqueeze(0) if unbatched else input
    stride, dilation = pair(stride, "stride"), pair(dilation, "dilation")
    kh, kw = weight.shape[2:]
    if isinstance(padding, str):
        if padding == "valid":
            pads = (0, 0, 0, 0)
        elif padding == "same":
            if stride != (1, 1):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            pads = _same_pads((kh, kw), dilation)
        else:
            raise RuntimeError(f"Invalid padding string: '{padding}'")
    else:
        ph, pw = pair(padding, "padding")
        pads = (ph, ph, pw, pw)
    _check_groups(x, weight, groups)
    hp, wp = x.shape[2] + pads[0] + pads[1], x.shape[3] + pads[2] + pads[3]
    ekh, ekw = dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1
    if hp < ekh or wp < ekw:
        raise RuntimeError(f"Calculated padded input size per channel: ({hp} x {wp}). Kernel "
                           f"size: ({ekh} x {ekw}). Kernel size can't be greater than actual "
                           "input size")
    _check_operands(x, weight, bias)
    params = ConvParams(stride, pads, dilation, int(groups))
    inputs = (x, weight) if bias is None else (x, weight, bias)
    out = apply(ConvolutionBackward0, inputs, params=params)
    return out.squeeze(0) if unbatched else out


def _cap(t: Tensor) -> str:
    from ._util import cap_name
    return cap_name(t)


class Convolution1dBackward0(Op):
    """``conv1d(input, weight, bias)``, named ``ConvolutionBackward0`` as in PyTorch: the 2-D
    convolution on arrays with a height of 1; backward views the tensors as 4-D and reuses
    ``ConvInputGrad`` / ``ConvWeightGrad`` (so gradients of any order work). An absent bias
    is an empty constant input, so the edges are ``(input, weight, None)`` like PyTorch's."""

    _name = "ConvolutionBackward0"

    def forward(self, x, w, b, params, has_bias):
        self.p, self.has_bias = params, has_bias
        self.x_hw, self.w_shape = (1, x.shape[2]), (w.shape[0], w.shape[1], 1, w.shape[2])
        n = self.needs
        if n:
            self.save(input=self.inputs[0] if n[1] else None,
                      weight=self.inputs[1] if n[0] else None)
        out = conv_forward(x[:, :, None, :], w[:, :, None, :], params)[:, :, 0, :]
        if has_bias:
            out += b.reshape(1, -1, 1)
        return out

    def backward(self, g):
        x, w = self.saved()
        n = self.needs
        g4 = g.unsqueeze(2)
        gx = apply(ConvInputGrad, (g4, w.unsqueeze(2)), x_hw=self.x_hw,
                   params=self.p).squeeze(2) if n[0] else None
        gw = apply(ConvWeightGrad, (x.unsqueeze(2), g4), w_shape=self.w_shape,
                   params=self.p).squeeze(2) if n[1] else None
        gb = g.sum(dim=(0, 2)) if self.has_bias and n[2] else None
        return gx, gw, gb


def _single(v: Any, name: str) -> int:
    if isinstance(v, (tuple, list)):
        if len(v) != 1:
            raise RuntimeError(f"expected {name} to be a single integer value or a list of 1 "
                               f"values to match the convolution dimensions, but got "
                               f"{name}={list(v)}")
        return int(v[0])
    return int(v)


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,
           padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    """1-D cross-correlation of ``input`` (N, C, L) or (C, L) with ``weight``
    (O, C/groups, k); ``padding`` may be an int, a 1-tuple, ``'valid'`` or ``'same'``
    (``ConvolutionBackward0``)."""
    unbatched = _check_ranks(input, weight, 1)
    x = input.unsqueeze(0) if unbatched else input
    s, d = _single(stride, "stride"), _single(dilation, "dilation")
    k = weight.shape[2]
    if isinstance(padding, str):
        if padding == "valid":
            left = right = 0
        elif padding == "same":
            if s != 1:
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            _, _, left, right = _same_pads((1, k), (1, d))
            if right != left:  # as ATen: pad the extra column explicitly, then symmetric
                warnings.warn("Using padding='same' with even kernel lengths and odd dilation "
                              "may require a zero-padded copy of the input be created",
                              UserWarning, stacklevel=2)
                from .pad import pad
                x = pad(x, (0, right - left))
                right = left
        else:
            raise RuntimeError(f"Invalid padding string: '{padding}'")
    else:
        left = right = _single(padding, "padding")
    _check_groups(x, weight, groups)
    lp, ek = x.shape[2] + left + right, d * (k - 1) + 1
    if lp < ek:
        raise RuntimeError(f"Calculated padded input size per channel: ({lp}). Kernel size: "
                           f"({ek}). Kernel size can't be greater than actual input size")
    _check_operands(x, weight, bias)
    params = ConvParams((1, s), (0, 0, left, right), (1, d), int(groups))
    b = bias if bias is not None else Tensor._wrap(xp_of(x._data).empty(0, dtype=x._data.dtype))
    out = apply(Convolution1dBackward0, (x, weight, b), params=params,
                has_bias=bias is not None)
    return out.squeeze(0) if unbatched else out
