"""``Parameter`` (a leaf tensor that a Module registers) and ``Buffer`` (state that is not
trained), as in ``torch.nn.parameter``."""
from __future__ import annotations

from typing import Any

from ..tensor import Tensor

__all__ = ["Parameter", "Buffer"]


def _empty() -> Tensor:
    from ..ops.creation import empty
    return empty(0)


class Parameter(Tensor):
    """A tensor that is a module parameter: assigning it to a Module attribute registers it.

    ``Parameter(data)`` shares memory (and the version counter) with ``data`` and requires
    grad by default. Operations on a Parameter give plain tensors, as in PyTorch.
    """

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True) -> Parameter:
        if data is None:
            data = _empty()
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter data must be a Tensor, got {type(data).__name__}")
        p = cls._wrap(data._data)
        p._vc = data._vc
        if requires_grad:
            if data._data.dtype.kind != "f":
                raise RuntimeError("Only Tensors of floating point and complex dtype can "
                                   "require gradients")
            p._rg = True
        return p

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, proto: int) -> Any:
        from .. import _backend as B
        return (_rebuild_parameter, (B.to_numpy(self._data), self._rg))

    def __deepcopy__(self, memo: dict) -> Parameter:
        if id(self) in memo:
            return memo[id(self)]
        new = Parameter(Tensor._wrap(self._data.copy()), self._rg)
        if self._grad is not None:
            new._grad = Tensor._wrap(self._grad._data.copy())
        memo[id(self)] = new
        return new


def _rebuild_parameter(arr: Any, requires_grad: bool) -> Parameter:
    return Parameter(Tensor._wrap(arr.copy()), requires_grad)


class Buffer(Tensor):
    """Marks a tensor as a buffer when assigned to a Module attribute (``persistent``
    buffers go into ``state_dict``). The module stores a plain tensor sharing its data."""

    def __new__(cls, data: Tensor | None = None, *, persistent: bool = True) -> Buffer:
        if data is None:
            data = _empty()
        b = cls._wrap(data._data, data._rg)
        b._vc = data._vc
        b.persistent = persistent
        return b
