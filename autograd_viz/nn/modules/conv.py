"""``Conv1d`` and ``Conv2d``."""
from __future__ import annotations

import math
from typing import Any

from ...tensor import Tensor
from .. import functional as F
from .. import init
from .._ops._util import pair
from ._factory import param
from .module import Module

__all__ = ["Conv1d", "Conv2d"]


def _single(v: Any) -> tuple[int]:
    """``3`` -> ``(3,)``; ``(3,)`` stays."""
    if isinstance(v, (tuple, list)):
        return (int(v[0]),)
    return (int(v),)


class _ConvNd(Module):
    """What ``Conv1d`` and ``Conv2d`` share: argument checks, parameters, initialisation and
    ``extra_repr``."""

    _ntuple = staticmethod(pair)

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any,
                 padding: Any, dilation: Any, groups: int, bias: bool, padding_mode: str,
                 device: Any, dtype: Any) -> None:
        super().__init__()
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        nt = self._ntuple
        valid_padding_strings = {"same", "valid"}
        if isinstance(padding, str):
            if padding not in valid_padding_strings:
                raise ValueError(f"Invalid padding string {padding!r}, should be one of "
                                 f"{valid_padding_strings}")
            if padding == "same" and any(s != 1 for s in nt(stride)):
                raise ValueError("padding='same' is not supported for strided convolutions")
        if padding_mode != "zeros":
            raise NotImplementedError(f"padding_mode={padding_mode!r} is not supported "
                                      "(only 'zeros')")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = nt(kernel_size)
        self.stride = nt(stride)
        self.padding = padding if isinstance(padding, str) else nt(padding)
        self.dilation = nt(dilation)
        self.transposed = False
        self.output_padding = nt(0)
        self.groups = groups
        self.padding_mode = padding_mode
        self.weight = param(out_channels, in_channels // groups, *self.kernel_size,
                            device=device, dtype=dtype)
        if bias:
            self.bias = param(out_channels, device=device, dtype=dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-draw the weights and bias with PyTorch's default initialisation."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * len(self.padding):
            s += f", padding={self.padding}"
        if self.dilation != (1,) * len(self.dilation):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class Conv1d(_ConvNd):
    """1-D convolution over (N, C_in, L) (or unbatched (C_in, L)).

    ``weight`` is (C_out, C_in / groups, k), initialised like PyTorch
    (``kaiming_uniform_(a=sqrt(5))``; bias U(-1/sqrt(fan_in), 1/sqrt(fan_in))).
    ``padding`` is an int, a 1-tuple, ``'valid'`` or ``'same'``; only ``padding_mode='zeros'``.
    """

    _ntuple = staticmethod(_single)

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", device: Any = None, dtype: Any = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device, dtype)

    def forward(self, input: Tensor) -> Tensor:
        return F.conv1d(input, self.weight, self.bias, self.stride, self.padding,
                        self.dilation, self.groups)


class Conv2d(_ConvNd):
    """2-D convolution over (N, C_in, H, W) (or unbatched (C_in, H, W)).

    ``weight`` is (C_out, C_in / groups, kh, kw), initialised like PyTorch
    (``kaiming_uniform_(a=sqrt(5))``; bias U(-1/sqrt(fan_in), 1/sqrt(fan_in))).
    ``padding`` is an int, a pair, ``'valid'`` or ``'same'``; only ``padding_mode='zeros'``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", device: Any = None, dtype: Any = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device, dtype)

    def forward(self, input: Tensor) -> Tensor:
        return F.conv2d(input, self.weight, self.bias, self.stride, self.padding,
                        self.dilation, self.groups)
