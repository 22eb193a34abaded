"""``Adadelta``."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import _backend as B
from ..ops.creation import zeros_like
from .optimizer import Optimizer, _use_no_grad, check, step_tensor, write_param


class Adadelta(Optimizer):
    """Adadelta, PyTorch 2's single-tensor update::

        g = grad (+ weight_decay * p); v = rho * v + (1 - rho) * g * g
        delta = sqrt(acc + eps) / sqrt(v + eps) * g
        acc = rho * acc + (1 - rho) * delta * delta; p -= lr * delta
    """

    def __init__(self, params: Any, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, foreach: bool | None = None, *,
                 capturable: bool = False, maximize: bool = False,
                 differentiable: bool = False) -> None:
        check(0.0 <= lr, f"Invalid learning rate: {lr}")
        check(0.0 <= rho <= 1.0, f"Invalid rho value: {rho}")
        check(0.0 <= eps, f"Invalid epsilon value: {eps}")
        check(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        defaults = {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay,
                    "maximize": maximize, "capturable": capturable, "foreach": foreach,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    def _init_state(self, state: dict[str, Any], p: Any, group: dict[str, Any]) -> None:
        state["step"] = step_tensor()
        state["square_avg"] = zeros_like(p)
        state["acc_delta"] = zeros_like(p)

    @_use_no_grad
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, rho, eps, wd = group["lr"], group["rho"], group["eps"], group["weight_decay"]
            for p, state, g in self._steps(group):
                if wd != 0:
                    g = g + wd * p._data
                v, acc = state["square_avg"]._data, state["acc_delta"]._data
                xp = B.get_array_module(v)
                v *= rho
                v += (1 - rho) * g * g
                std = xp.sqrt(v + eps)
                delta = xp.sqrt(acc + eps)
                delta /= std
                delta *= g
                acc *= rho
                acc += (1 - rho) * delta * delta
                p._data += -lr * delta
                write_param(p)
        return loss
