"""``autograd.backward`` and ``autograd.grad``, with PyTorch's checks and errors."""
from __future__ import annotations

from typing import Any

from .. import _backend as B
from . import engine


def _as_tuple(x: Any) -> tuple:
    if x is None:
        return ()
    if isinstance(x, engine.tensor_class()):
        return (x,)
    return tuple(x)


def _ones_seed(o: Any) -> Any:
    """``ones_like(o)`` for the implicit gradient of a scalar output (no op, no event)."""
    d = o._data
    return engine.tensor_class()._wrap(B.get_array_module(d).ones(d.shape, dtype=d.dtype))


def _make_grads(outputs: tuple, grads: tuple, is_grads_batched: bool = False) -> list:
    Tensor = engine.tensor_class()  # noqa: N806
    if len(grads) != len(outputs):
        raise RuntimeError("grad can be implicitly created only for scalar outputs"
                           if not grads else
                           f"Mismatch in number of gradients and outputs: {len(grads)} vs "
                           f"{len(outputs)}")
    out = []
    for o, g in zip(outputs, grads):
        if g is None:
            if o.requires_grad:
                if o.numel() != 1:
                    raise RuntimeError("grad can be implicitly created only for scalar outputs")
                if not o.dtype.is_floating_point:
                    raise RuntimeError(f"grad can be implicitly created only for real scalar "
                                       f"outputs but got {o.dtype!r}")
                out.append(_ones_seed(o))
            else:
                out.append(None)
            continue
        if not isinstance(g, Tensor):
            from ..ops.creation import tensor
            g = tensor(g, dtype=o.dtype, device=o.device)
        if tuple(g.shape) != tuple(o.shape):
            raise RuntimeError(f"Mismatch in shape: grad_output[{len(out)}] has a shape of "
                               f"{g.shape!r} and output[{len(out)}] has a shape of "
                               f"{o.shape!r}.")
        if g.dtype.is_floating_point != o.dtype.is_floating_point:
            raise RuntimeError(f"For complex Tensors, both grad_output and output are required "
                               f"to have the same dtype. Mismatch in dtype: grad_output[{len(out)}]"
                               f" has a dtype of {g.dtype!r} and output[{len(out)}] has a dtype "
                               f"of {o.dtype!r}.")
        out.append(g)
    return out


def _root(t: Any) -> tuple:
    if t.grad_fn is not None:
        return (t.grad_fn, t._output_nr)
    return (t._accumulator(), 0)


def backward(tensors: Any, grad_tensors: Any = None, retain_graph: bool | None = None,
             create_graph: bool = False, grad_variables: Any = None,
             inputs: Any = None) -> None:
    """Accumulate into ``.grad`` of graph leaves the gradients of ``tensors``.

    ``grad_tensors`` gives d(loss)/d(tensor) for non-scalar tensors. The graph is freed
    unless ``retain_graph`` (which defaults to ``create_graph``). With ``inputs``, only those
    tensors accumulate (non-leaf inputs too).
    """
    tensors = _as_tuple(tensors)
    if grad_variables is not None:
        grad_tensors = grad_variables
    grads = _as_tuple(grad_tensors) if grad_tensors is not None else (None,) * len(tensors)
    if retain_graph is None:
        retain_graph = create_graph
    inputs = _as_tuple(inputs)
    for t in tensors:
        if not t.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a "
                               "grad_fn")
    seeds = _make_grads(tensors, grads)
    pairs = [(_root(t), g) for t, g in zip(tensors, seeds) if g is not None]
    capture = None
    if inputs:
        for i in inputs:
            if not i.requires_grad:
                raise RuntimeError("One of the differentiated Tensors does not require grad")
        capture = [_root(i) for i in inputs]
    captured = engine.execute([p for p, _ in pairs], [g for _, g in pairs],
                              retain_graph=retain_graph, create_graph=create_graph,
                              capture=capture, accumulate_leaves=True, kind="backward",
                              root_tensors=tensors, input_tensors=inputs)
    if inputs:
        for t, g in zip(inputs, captured):
            if t.grad_fn is None or g is None:
                continue  # leaves were accumulated by the engine
            if t._grad is None:
                t._grad = g if create_graph else g.detach().clone()
            else:
                t._grad = t._grad + g


def grad(outputs: Any, inputs: Any, grad_outputs: Any = None, retain_graph: bool | None = None,
         create_graph: bool = False, only_inputs: bool = True, allow_unused: bool | None = None,
         is_grads_batched: bool = False, materialize_grads: bool = False) -> tuple:
    """The gradients of ``outputs`` with respect to ``inputs`` (nothing goes into ``.grad``).

    Returns a tuple with one gradient per input; an input the outputs don't depend on raises
    unless ``allow_unused=True`` (then its gradient is None, or zeros with
    ``materialize_grads``).
    """
    from ..ops.creation import zeros_like
    if is_grads_batched:
        return _batched_grad(outputs, inputs, grad_outputs, retain_graph, create_graph,
                             allow_unused, materialize_grads)
    outputs = _as_tuple(outputs)
    inputs_t = _as_tuple(inputs)
    if not inputs_t:
        raise RuntimeError("grad requires non-empty inputs.")
    if allow_unused is None:
        allow_unused = materialize_grads
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when "
                         "materialize_grads=True, but got: allow_unused=False.")
    grads = _as_tuple(grad_outputs) if grad_outputs is not None else (None,) * len(outputs)
    if retain_graph is None:
        retain_graph = create_graph
    for t in outputs:
        if not t.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a "
                               "grad_fn")
    for t in inputs_t:
        if not t.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    seeds = _make_grads(outputs, grads)
    pairs = [(_root(t), g) for t, g in zip(outputs, seeds) if g is not None]
    capture = [_root(i) for i in inputs_t]
    result = engine.execute([p for p, _ in pairs], [g for _, g in pairs],
                            retain_graph=retain_graph, create_graph=create_graph,
                            capture=capture, accumulate_leaves=False, kind="grad",
                            root_tensors=outputs, input_tensors=inputs_t)
    out = []
    for i, (t, g) in enumerate(zip(inputs_t, result)):
        if g is None:
            if not allow_unused:
                raise RuntimeError(f"The differentiated Tensor at index {i} appears to not have "
                                   "been used in the graph. Set allow_unused=True if this is "
                                   "the desired behavior.")
            if materialize_grads:
                g = zeros_like(t)
        elif not create_graph:
            g = g.detach()
        out.append(g)
    return tuple(out)


def _batched_grad(outputs: Any, inputs: Any, grad_outputs: Any, retain_graph: bool | None,
                  create_graph: bool, allow_unused: bool | None,
                  materialize_grads: bool) -> tuple:
    """``grad(..., is_grads_batched=True)``: the first dimension of every grad_output is a
    batch; one vector-Jacobian product per entry (torch vmaps them), results stacked."""
    from ..ops.join import stack
    outs = _as_tuple(outputs)
    if grad_outputs is None:
        raise RuntimeError("is_grads_batched=True requires grad_outputs")
    gos = _as_tuple(grad_outputs)
    n = {int(g.shape[0]) for g in gos if g is not None and g.ndim}
    if len(n) != 1 or any(g is not None and not g.ndim for g in gos):
        raise RuntimeError("If `is_grads_batched=True`, every grad_output needs the same "
                           "batch size in its first dimension")
    size = n.pop()
    keep = create_graph if retain_graph is None else retain_graph
    rows = []
    for k in range(size):
        rows.append(grad(outs, inputs, tuple(None if g is None else g[k] for g in gos),
                         retain_graph=True if k < size - 1 else keep,
                         create_graph=create_graph, allow_unused=allow_unused,
                         materialize_grads=materialize_grads))
    return tuple(None if col[0] is None else stack(list(col)) for col in zip(*rows))
