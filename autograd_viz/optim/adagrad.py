"""``Adagrad`` (learning-rate decay, initial accumulator, weight decay, ``maximize``)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import _backend as B
from ..ops.creation import full_like
from ..tensor import Tensor
from .optimizer import Optimizer, _use_no_grad, check, grad_array, step_tensor, write_param


class Adagrad(Optimizer):
    """Adagrad, PyTorch 2's single-tensor update::

        step += 1; g = grad (+ weight_decay * p)
        clr = lr / (1 + (step - 1) * lr_decay)
        sum += g * g; p -= clr * g / (sqrt(sum) + eps)

    As in PyTorch, the state (``step``, ``sum`` filled with ``initial_accumulator_value``) is
    created for every parameter at construction.
    """

    def __init__(self, params: Any, lr: float = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0,
                 eps: float = 1e-10, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        check(0.0 <= lr, f"Invalid learning rate: {lr}")
        check(0.0 <= lr_decay, f"Invalid lr_decay value: {lr_decay}")
        check(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        check(0.0 <= initial_accumulator_value,
              f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
        check(0.0 <= eps, f"Invalid epsilon value: {eps}")
        defaults = {"lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value,
                    "foreach": foreach, "maximize": maximize,
                    "differentiable": differentiable, "fused": fused}
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p)

    def _init_state(self, p: Tensor) -> dict[str, Any]:
        state = self.state[p]
        if len(state) == 0:
            state["step"] = step_tensor()
            state["sum"] = full_like(p, self.defaults["initial_accumulator_value"])
        return state

    @_use_no_grad
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, lr_decay, eps = group["lr"], group["lr_decay"], group["eps"]
            wd = group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self._init_state(p)
                state["step"]._data += 1
                step = float(state["step"].item())
                g = grad_array(p, group["maximize"])
                if wd != 0:
                    g = g + wd * p._data
                clr = lr / (1 + (step - 1) * lr_decay)
                s = state["sum"]._data
                s += g * g
                std = B.get_array_module(s).sqrt(s) + eps
                p._data += -clr * g / std
                write_param(p)
        return loss
