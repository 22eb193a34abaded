"""A tiny event bus between the autograd engine and whoever listens (the recorder).

The engine never imports a listener. It guards every emission with the module flag
``events.enabled`` so that, with no listener, an emission costs one attribute check and
builds no object::

    from autograd_viz.autograd import events
    if events.enabled:
        events.emit("grad_reset", tensor=t, how="zero_")
        events.node_created(node, inputs, (out,))  # (the per-op events: see below)

Events and their payload (live engine objects; a listener copies what it keeps, because
arrays change in place later):

``tensor_created``   tensor  (made by a creation function: ``tensor``, ``ones``, ``from_numpy``,
                     ...; tensors made by ops arrive in ``node_created``/``op_untracked``)
``node_created``     node, inputs (tuple of Tensor|None), outputs (tuple of Tensor), grad_enabled
``op_untracked``     name, inputs, outputs  (an op that ran without building a node:
                     grad mode off, or no input requires grad)
``backward_begin``   run, kind ("backward"|"grad"), roots, grad_roots, inputs,
                     retain_graph, create_graph
``node_executed``    run, step, node, grads_in (tuple), grads_out (tuple): Tensors, or for
                     a listener subscribed with ``arrays=True`` possibly bare arrays (the
                     engine then keeps its faster array path while it listens)
``hook_begin``       run, target, kind ("tensor"|"pre"|"post"), grad_in
``hook_called``      run, target, kind, grad_in, grad_out (what the hook returned, or None), hook
                     target: the leaf Tensor for a hook on a leaf, ``(node, output_nr)`` for a
                     tensor hook on a non-leaf (the tensor whose grad_fn/output_nr they are),
                     the Node for "pre"/"post" node hooks
``grad_accumulated`` run, tensor, before (a copy of the old .grad, or None), after, grad
                     (the gradient added; with no old .grad, after is a copy of it)
``retain_grad``      run, tensor, grad
``backward_end``     run, freed (True when saved tensors were released), error (exception|None)
``grad_reset``       tensor, how ("zero_"|"none"|"assign")

The two events of every op and every backward step also have positional emitters,
:func:`node_created` and :func:`node_executed` (the engine calls these): with one listener
that was subscribed with ``fast=`` (an object with methods ``node_created(node, inputs,
outputs)`` and ``node_executed(run, step, node, grads_in, grads_out)``, as the recorder
is), they call its methods directly and build no payload dict; otherwise they call
:func:`emit` as above.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

Listener = Callable[[str, dict], None]

#: True while at least one listener is subscribed. Read it before building a payload.
enabled: bool = False
#: True while every listener accepts bare arrays for the grads of ``node_executed``.
arrays_ok: bool = True
_listeners: list[Listener] = []
_array_listeners: list[Listener] = []
_fast: dict[Any, Any] = {}  # listener -> its positional handler object (``fast=``)
_run_ids = itertools.count(1)


class Subscription:
    """Handle returned by :func:`subscribe`; ``remove()`` (or leaving a ``with``) unsubscribes."""

    __slots__ = ("_fn",)

    def __init__(self, fn: Listener) -> None:
        self._fn = fn

    def remove(self) -> None:
        unsubscribe(self._fn)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()


def subscribe(fn: Listener, *, arrays: bool = False, fast: Any = None) -> Subscription:
    """Call ``fn(kind, payload)`` for every event from now on. ``arrays=True``: ``fn``
    accepts bare NumPy/CuPy arrays among the grads of ``node_executed``. ``fast``: an
    object whose ``node_created(node, inputs, outputs)`` and ``node_executed(run, step,
    node, grads_in, grads_out)`` receive those two events instead of ``fn`` while it is the
    only listener (``grads_in``/``grads_out`` may then be lists)."""
    _listeners.append(fn)
    if arrays:
        _array_listeners.append(fn)
    if fast is not None:
        _fast[fn] = fast
    _update()
    return Subscription(fn)


def unsubscribe(fn: Listener) -> None:
    """Stop calling ``fn``; a no-op if it is not subscribed."""
    for lst in (_listeners, _array_listeners):
        try:
            lst.remove(fn)
        except ValueError:
            pass
    if fn not in _listeners:
        _fast.pop(fn, None)
    _update()


def _update() -> None:
    global enabled, arrays_ok, node_created, node_executed
    enabled = bool(_listeners)
    arrays_ok = len(_array_listeners) == len(_listeners)
    fast = _fast.get(_listeners[0]) if len(_listeners) == 1 else None
    node_created = _node_created if fast is None else fast.node_created
    node_executed = _node_executed if fast is None else fast.node_executed


def emit(event: str, /, **payload: Any) -> None:
    """Deliver one event to every listener (callers check ``enabled`` first)."""
    if len(_listeners) == 1:
        _listeners[0](event, payload)
        return
    for fn in tuple(_listeners):
        fn(event, payload)


def _node_created(node: Any, inputs: tuple, outputs: tuple) -> None:
    emit("node_created", node=node, inputs=inputs, outputs=outputs, grad_enabled=True)


def _node_executed(run: int, step: int, node: Any, grads_in: Any, grads_out: Any) -> None:
    emit("node_executed", run=run, step=step, node=node, grads_in=tuple(grads_in),
         grads_out=tuple(grads_out))


#: ``node_created(node, inputs, outputs)``: emit that event (callers check ``enabled``).
node_created: Callable[[Any, tuple, tuple], None] = _node_created
#: ``node_executed(run, step, node, grads_in, grads_out)``: emit that event (ditto).
node_executed: Callable[[int, int, Any, Any, Any], None] = _node_executed


def next_run_id() -> int:
    """A fresh counter id for a backward run."""
    return next(_run_ids)
