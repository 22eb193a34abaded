"""``Adamax`` (Adam with the infinity norm)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import _backend as B
from ..ops.creation import zeros_like
from .optimizer import (
    Optimizer,
    _use_no_grad,
    check_adam_args,
    lerp_,
    step_tensor,
    write_param,
)


class Adamax(Optimizer):
    """Adamax, PyTorch 2's single-tensor update::

        step += 1; g = grad (+ weight_decay * p)
        m.lerp_(g, 1 - beta1); u = max(beta2 * u, |g| + eps)
        p -= lr / (1 - beta1^step) * m / u
    """

    def __init__(self, params: Any, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False,
                 capturable: bool = False) -> None:
        check_adam_args(lr, eps, betas, weight_decay)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "foreach": foreach, "maximize": maximize,
                    "differentiable": differentiable, "capturable": capturable}
        super().__init__(params, defaults)

    def _init_state(self, state: dict[str, Any], p: Any, group: dict[str, Any]) -> None:
        state["step"] = step_tensor()
        state["exp_avg"] = zeros_like(p)
        state["exp_inf"] = zeros_like(p)

    @_use_no_grad
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            lr, eps, wd = group["lr"], group["eps"], group["weight_decay"]
            for p, state, g in self._steps(group):
                if wd != 0:
                    g = g + wd * p._data
                m, u = state["exp_avg"]._data, state["exp_inf"]._data
                lerp_(m, g, 1 - beta1)
                u *= beta2
                xp = B.get_array_module(u)
                xp.maximum(u, xp.abs(g) + eps, out=u)
                clr = lr / (1 - beta1 ** float(state["step"].item()))
                p._data += -clr * m / u
                write_param(p)
        return loss
