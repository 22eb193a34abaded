"""``NAdam`` (Nesterov momentum in Adam, with momentum decay)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import _backend as B
from ..ops.creation import tensor as _tensor
from ..ops.creation import zeros_like
from .optimizer import (
    Optimizer,
    _use_no_grad,
    check,
    check_adam_args,
    lerp_,
    step_tensor,
    write_param,
)


class NAdam(Optimizer):
    """NAdam, PyTorch 2's single-tensor update::

        step += 1; g = grad (+ weight_decay * p, or p *= 1 - lr * wd when decoupled)
        mu_t = beta1 * (1 - 0.5 * 0.96^(step * momentum_decay)); mu_product *= mu_t
        m.lerp_(g, 1 - beta1); v = beta2 * v + (1 - beta2) * g * g
        denom = sqrt(v / (1 - beta2^step)) + eps
        p -= lr * (1 - mu_t) / (1 - mu_product) * g / denom
        p -= lr * mu_{t+1} / (1 - mu_product * mu_{t+1}) * m / denom

    ``mu_product`` is a float32 scalar tensor in the state, as in PyTorch.
    """

    def __init__(self, params: Any, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        check_adam_args(lr, eps, betas, weight_decay)
        check(0.0 <= momentum_decay, f"Invalid momentum_decay value: {momentum_decay}")
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "momentum_decay": momentum_decay,
                    "decoupled_weight_decay": decoupled_weight_decay, "maximize": maximize,
                    "foreach": foreach, "capturable": capturable,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    def _init_state(self, state: dict[str, Any], p: Any, group: dict[str, Any]) -> None:
        state["step"] = step_tensor()
        state["mu_product"] = _tensor(1.0, dtype=B.float32)
        state["exp_avg"] = zeros_like(p)
        state["exp_avg_sq"] = zeros_like(p)

    @_use_no_grad
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            lr, eps, wd = group["lr"], group["eps"], group["weight_decay"]
            momentum_decay = group["momentum_decay"]
            for p, state, g in self._steps(group):
                step = float(state["step"].item())
                bias_correction2 = 1 - beta2 ** step
                if wd != 0:
                    if group["decoupled_weight_decay"]:
                        p._data *= 1 - lr * wd
                    else:
                        g = g + wd * p._data
                mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
                mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
                mu_product = state["mu_product"]
                mu_product._data *= mu
                m, v = state["exp_avg"]._data, state["exp_avg_sq"]._data
                lerp_(m, g, 1 - beta1)
                v *= beta2
                v += (1 - beta2) * g * g
                xp = B.get_array_module(v)
                denom = xp.sqrt(v / bias_correction2)
                mu_prod = float(mu_product.item())
                mu_product_next = mu_prod * mu_next
                denom += eps
                p._data += (-lr * (1.0 - mu) / (1.0 - mu_prod)) * g / denom
                p._data += ((-lr * mu_next) / (1.0 - mu_product_next)) * m / denom
                write_param(p)
        return loss
