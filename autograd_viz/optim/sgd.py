"""``SGD`` with momentum, dampening, Nesterov, weight decay and ``maximize``."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..tensor import Tensor
from .optimizer import Optimizer, _use_no_grad, check, grad_array, write_param


class SGD(Optimizer):
    """Stochastic gradient descent, PyTorch 2's update::

        g = grad (+ weight_decay * p)
        buf = g (first step) else momentum * buf + (1 - dampening) * g
        g = g + momentum * buf (nesterov) else buf
        p -= lr * g
    """

    def __init__(self, params: Any, lr: float = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0, nesterov: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        check(lr >= 0.0, f"Invalid learning rate: {lr}")
        check(momentum >= 0.0, f"Invalid momentum value: {momentum}")
        check(weight_decay >= 0.0, f"Invalid weight_decay value: {weight_decay}")
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening,
                    "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize,
                    "foreach": foreach, "differentiable": differentiable, "fused": fused}
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    @_use_no_grad
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, wd, momentum = group["lr"], group["weight_decay"], group["momentum"]
            dampening, nesterov = group["dampening"], group["nesterov"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = grad_array(p, group["maximize"])
                if wd != 0:
                    g = g + wd * p._data
                if momentum != 0:
                    state = self.state[p]
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = state["momentum_buffer"] = Tensor._wrap(g.copy())
                    else:
                        b = buf._data
                        b *= momentum
                        b += (1 - dampening) * g
                    g = g + momentum * buf._data if nesterov else buf._data
                p._data += -lr * g
                write_param(p)
        return loss
