"""``Adamax`` (Adam with the infinity norm)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import _backend as B
from ..ops.creation import zeros_like
from .optimizer import (
    Optimizer,
    _use_no_grad,
    check,
    grad_array,
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
        check(0.0 <= lr, f"Invalid learning rate: {lr}")
        check(0.0 <= eps, f"Invalid epsilon value: {eps}")
        check(0.0 <= betas[0] < 1.0, f"Invalid beta parameter at index 0: {betas[0]}")
        check(0.0 <= betas[1] < 1.0, f"Invalid beta parameter at index 1: {betas[1]}")
        check(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "foreach": foreach, "maximize": maximize,
                    "differentiable": differentiable, "capturable": capturable}
        super().__init__(params, defaults)

    @_use_no_grad
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            lr, eps, wd = group["lr"], group["eps"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = step_tensor()
                    state["exp_avg"] = zeros_like(p)
                    state["exp_inf"] = zeros_like(p)
                g = grad_array(p, group["maximize"])
                state["step"]._data += 1
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
