"""Full backward hooks of a Module: identity ``Function`` nodes around the module's tensor
inputs and outputs (named ``BackwardHookFunctionBackward``, as in PyTorch) catch the
gradients flowing out of and into the module."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ...autograd import Function, grad_mode
from ...tensor import Tensor


class BackwardHookFunction(Function):
    """Identity on tensors; its backward node is where the module hook is attached."""

    @staticmethod
    def forward(ctx: Any, *args: Tensor) -> Any:
        ctx.mark_non_differentiable(*[a for a in args if not a.requires_grad])
        return args

    @staticmethod
    def backward(ctx: Any, *grads: Tensor) -> Any:
        return grads


def _wrap(tensors: Sequence[Tensor]) -> tuple:
    out = BackwardHookFunction.apply(*tensors)
    return out if isinstance(out, tuple) else (out,)


class BackwardHook:
    """One forward call's bookkeeping for ``register_full_backward_hook``."""

    def __init__(self, module: Any, hooks: Sequence[Callable],
                 pre_hooks: Sequence[Callable] = ()) -> None:
        self.module = module
        self.hooks = hooks
        self.pre_hooks = pre_hooks
        self.grad_outputs: tuple | None = None
        self.n_inputs = 0
        self.input_index: list[int] = []
        self.has_input_node = False

    def _run(self, grad_inputs: tuple) -> tuple | None:
        result = None
        for hook in self.hooks:
            r = hook(self.module, grad_inputs, self.grad_outputs)
            if r is not None:
                r = tuple(r)
                if len(r) != len(grad_inputs):
                    raise RuntimeError(f"Backward hook returned an invalid number of grad_input, "
                                       f"got {len(r)}, but expected {len(grad_inputs)}")
                grad_inputs = result = r
        return result

    def setup_input_hook(self, args: tuple) -> tuple:
        self.n_inputs = len(args)
        if not self.hooks:  # (only pre-hooks: nothing to catch on the inputs)
            return args
        self.input_index = [i for i, a in enumerate(args)
                            if isinstance(a, Tensor) and a.requires_grad]
        if not self.input_index or not grad_mode.is_grad_enabled():
            return args
        wrapped = _wrap([args[i] for i in self.input_index])
        node = wrapped[0].grad_fn
        self.has_input_node = True

        def on_inputs(grad_ins: tuple, grad_outs: tuple) -> tuple | None:
            full: list = [None] * self.n_inputs
            for i, g in zip(self.input_index, grad_outs):
                full[i] = g
            r = self._run(tuple(full))
            if r is None:
                return None
            return tuple(r[i] for i in self.input_index)

        node.register_hook(on_inputs)
        new_args = list(args)
        for i, w in zip(self.input_index, wrapped):
            new_args[i] = w
        return tuple(new_args)

    def setup_output_hook(self, result: Any) -> Any:
        single = isinstance(result, Tensor)
        outs = (result,) if single else result
        if not isinstance(outs, tuple) or not grad_mode.is_grad_enabled():
            return result
        idx = [i for i, o in enumerate(outs) if isinstance(o, Tensor) and o.requires_grad]
        if not idx:
            return result
        wrapped = _wrap([outs[i] for i in idx])
        n_out = len(outs)

        def on_outputs(grad_ins: tuple, grad_outs: tuple) -> None:
            full: list = [None] * n_out
            for i, g in zip(idx, grad_outs):
                full[i] = g
            self.grad_outputs = tuple(full)
            if self.hooks and not self.has_input_node:
                self._run((None,) * self.n_inputs)
            return None

        def before_outputs(grad_outs: tuple) -> tuple | None:
            full: list = [None] * n_out
            for i, g in zip(idx, grad_outs):
                full[i] = g
            changed = False
            for hook in self.pre_hooks:
                r = hook(self.module, tuple(full))
                if r is not None:
                    r = tuple(r) if isinstance(r, (tuple, list)) else (r,)
                    if len(r) != n_out:
                        raise RuntimeError(f"Backward pre hook returned an invalid number of "
                                           f"grad_output, got {len(r)}, but expected {n_out}")
                    full, changed = list(r), True
            return tuple(full[i] for i in idx) if changed else None

        node = wrapped[0].grad_fn
        if self.pre_hooks:
            node.register_prehook(before_outputs)
        node.register_hook(on_outputs)
        new = list(outs)
        for i, w in zip(idx, wrapped):
            new[i] = w
        return new[0] if single else tuple(new)
