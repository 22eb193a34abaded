"""``gradcheck`` / ``gradgradcheck``: compare analytical gradients with central finite
differences (use float64 inputs)."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


class GradcheckError(RuntimeError):
    """Raised by gradcheck when analytical and numerical Jacobians differ."""


def _flat_outputs(out: Any) -> list:
    from ..tensor import Tensor
    if isinstance(out, Tensor):
        return [out]
    return [o for o in out if isinstance(o, Tensor)]


def _numerical(fn: Callable, inputs: Sequence[Any], i: int, eps: float) -> list[np.ndarray]:
    # fn runs with grad mode as it is: gradgradcheck's fn itself calls autograd.grad
    x = inputs[i]
    data = x._data
    flat = data.reshape(-1)
    n_out = [o.numel() for o in _flat_outputs(fn(*inputs))]
    jac = [np.zeros((flat.size, n)) for n in n_out]
    for k in range(flat.size):
        orig = float(flat[k])
        flat[k] = orig + eps
        plus = [np.asarray(o._data, dtype=np.float64).reshape(-1).copy()
                for o in _flat_outputs(fn(*inputs))]
        flat[k] = orig - eps
        minus = [np.asarray(o._data, dtype=np.float64).reshape(-1).copy()
                 for o in _flat_outputs(fn(*inputs))]
        flat[k] = orig
        for j in range(len(jac)):
            jac[j][k] = (plus[j] - minus[j]) / (2 * eps)
    return jac


def _analytical(fn: Callable, inputs: Sequence[Any], diff_idx: list[int]) -> dict:
    from ..ops.creation import zeros_like
    from . import functional
    outs = _flat_outputs(fn(*inputs))
    result = {i: [np.zeros((inputs[i].numel(), o.numel())) for o in outs] for i in diff_idx}
    for j, o in enumerate(outs):
        if not o.requires_grad:
            continue
        for m in range(o.numel()):
            seed = zeros_like(o)
            seed._data.reshape(-1)[m] = 1
            gs = functional.grad([o], [inputs[i] for i in diff_idx], [seed],
                                 retain_graph=True, allow_unused=True)
            for i, g in zip(diff_idx, gs):
                if g is not None:
                    result[i][j][:, m] = np.asarray(g._data, dtype=np.float64).reshape(-1)
    return result


def gradcheck(func: Callable, inputs: Any, *, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True, **_: Any) -> bool:
    """True when backward matches finite differences for every input requiring grad."""
    from ..tensor import Tensor
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    diff_idx = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    for i in diff_idx:
        if inputs[i].dtype.name != "float64":
            import warnings
            warnings.warn(f"Input #{i} requires gradient and is not a double precision floating "
                          "point. This check will likely fail if all the inputs are not of "
                          "double precision floating point.", UserWarning, stacklevel=2)
    ana = _analytical(func, inputs, diff_idx)
    for i in diff_idx:
        num = _numerical(func, inputs, i, eps)
        for j, (a, n) in enumerate(zip(ana[i], num)):
            if not np.allclose(a, n, rtol=rtol, atol=atol):
                if raise_exception:
                    raise GradcheckError(
                        f"Jacobian mismatch for output {j} with respect to input {i},\n"
                        f"numerical:{n}\nanalytical:{a}\n")
                return False
    return True


def gradgradcheck(func: Callable, inputs: Any, grad_outputs: Any = None, *,
                  eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
                  raise_exception: bool = True, **_: Any) -> bool:
    """gradcheck of the first derivatives (second derivatives checked numerically)."""
    from ..ops.creation import randn_like
    from ..tensor import Tensor
    from . import functional
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    diff = [x for x in inputs if isinstance(x, Tensor) and x.requires_grad]
    outs = _flat_outputs(func(*inputs))
    if grad_outputs is None:
        grad_outputs = [randn_like(o, dtype=o.dtype) for o in outs]

    def first(*xs):
        out = _flat_outputs(func(*xs))
        d = [x for x in xs if isinstance(x, Tensor) and x.requires_grad]
        return functional.grad(out, d, grad_outputs, create_graph=True, allow_unused=True)

    del diff
    return gradcheck(first, inputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
