"""``RAdam`` (rectified Adam)."""
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


class RAdam(Optimizer):
    """RAdam, PyTorch 2's single-tensor update::

        step += 1; g = grad (+ weight_decay * p, or p *= 1 - lr * wd when decoupled)
        m.lerp_(g, 1 - beta1); v = beta2 * v + (1 - beta2) * g * g
        rho_inf = 2 / (1 - beta2) - 1; rho_t = rho_inf - 2 step beta2^step / (1 - beta2^step)
        rho_t > 5:  p -= m / (1 - beta1^step) * lr * sqrt(1 - beta2^step) / (sqrt(v) + eps)
                         * sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
        otherwise:  p -= m / (1 - beta1^step) * lr
    """

    def __init__(self, params: Any, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        check_adam_args(lr, eps, betas, weight_decay)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "maximize": maximize, "foreach": foreach, "capturable": capturable,
                    "decoupled_weight_decay": decoupled_weight_decay,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    def _init_state(self, state: dict[str, Any], p: Any, group: dict[str, Any]) -> None:
        state["step"] = step_tensor()
        state["exp_avg"] = zeros_like(p)
        state["exp_avg_sq"] = zeros_like(p)

    @_use_no_grad
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            lr, eps, wd = group["lr"], group["eps"], group["weight_decay"]
            for p, state, g in self._steps(group):
                step = float(state["step"].item())
                if wd != 0:
                    if group["decoupled_weight_decay"]:
                        p._data *= 1 - lr * wd
                    else:
                        g = g + wd * p._data
                m, v = state["exp_avg"]._data, state["exp_avg_sq"]._data
                lerp_(m, g, 1 - beta1)
                v *= beta2
                v += (1 - beta2) * g * g
                bias_correction1 = 1 - beta1 ** step
                bias_correction2 = 1 - beta2 ** step
                corrected = m / bias_correction1
                rho_inf = 2 / (1 - beta2) - 1
                rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
                if rho_t > 5.0:
                    rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                            / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
                    adaptive = (bias_correction2 ** 0.5) / (B.get_array_module(v).sqrt(v) + eps)
                    p._data -= corrected * lr * adaptive * rect
                else:
                    p._data -= corrected * lr
                write_param(p)
        return loss
