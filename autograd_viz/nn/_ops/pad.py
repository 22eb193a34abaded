"""Constant padding (``ConstantPadNdBackward0``); negative amounts crop."""
from __future__ import annotations

from collections.abc import Sequence

from ...autograd.function import Op
from ...ops._core import apply
from ...tensor import Tensor
from ._util import xp_of


def _widths(ndim: int, pad: Sequence[int]) -> list[tuple[int, int]]:
    widths = [(0, 0)] * ndim
    for i in range(len(pad) // 2):
        widths[ndim - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    return widths


class ConstantPadNdBackward0(Op):
    def forward(self, a, pad, value):
        self.pad = tuple(pad)
        widths = _widths(a.ndim, pad)
        key = tuple(slice(max(-lo, 0), a.shape[d] - max(-hi, 0))
                    for d, (lo, hi) in enumerate(widths))
        a = a[key]
        pos = [(max(lo, 0), max(hi, 0)) for lo, hi in widths]
        if any(lo or hi for lo, hi in pos):
            a = xp_of(a).pad(a, pos, mode="constant", constant_values=value)
        return xp_of(a).ascontiguousarray(a)

    def backward(self, g):
        return apply(ConstantPadNdBackward0, (g,), pad=tuple(-p for p in self.pad), value=0)


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant",
        value: float | None = None) -> Tensor:
    """Pad the last ``len(pad) // 2`` dims: ``pad = (left, right, top, bottom, ...)``,
    starting from the last dim. Only ``mode='constant'`` is supported."""
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > input.ndim:
        raise RuntimeError("Padding length should be less than or equal to two times the "
                           "input dimension but got padding length "
                           f"{len(pad)} and input of dimension {input.ndim}")
    if mode != "constant":
        raise NotImplementedError(f"pad mode {mode!r} is not supported (only 'constant')")
    return apply(ConstantPadNdBackward0, (input,), pad=tuple(pad), value=value or 0)
