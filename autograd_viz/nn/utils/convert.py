"""``parameters_to_vector`` and ``vector_to_parameters``."""
from __future__ import annotations

from collections.abc import Iterable

from ...autograd import grad_mode
from ...ops.join import cat
from ...tensor import Tensor


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and concatenated into one vector."""
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of ``vec`` into the parameters (in place)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    pointer = 0
    with grad_mode.no_grad():
        for p in parameters:
            n = p.numel()
            p._data[...] = vec._data[pointer:pointer + n].reshape(p._data.shape)
            p._vc.v += 1
            pointer += n
