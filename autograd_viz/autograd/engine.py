"""The backward engine: iterative (no recursion), dependency counted, and ordered like
PyTorch's (among ready nodes the most recently created runs first; AccumulateGrad first).

It knows nothing of the recorder: it only emits events when ``events.enabled``.
"""
from __future__ import annotations

import heapq
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import events, grad_mode
from .function import _ACC_SEQ, AccumulateGrad, Node


def _add(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    return a + b


def _add_arrays(a: Any, b: Any) -> Any:
    """``_add`` without building a graph: the same ``a + b`` on the arrays (same dtype, device
    and shape), skipping the op dispatch; anything else goes through ``a + b``."""
    if a is None:
        return b
    if b is None:
        return a
    ad, bd = a._data, b._data
    if type(ad) is type(bd) and ad.dtype == bd.dtype and ad.shape == bd.shape:
        r = ad + bd
        if isinstance(r, np.generic):  # as ``apply`` does: keep 0-d arrays
            r = np.asarray(r)
        return _wrap(r)
    return a + b


def _wrap(data: Any) -> Any:
    """``Tensor._wrap`` (looked up on first use: the engine is imported before Tensor)."""
    global _wrap, _Tensor
    from ..tensor import Tensor
    _wrap, _Tensor = Tensor._wrap, Tensor
    return _wrap(data)


_Tensor: Any = None  # the Tensor class, set by the first ``_wrap``


def tensor_class() -> Any:
    """The Tensor class (autograd is imported before it exists: looked up on first use)."""
    if _Tensor is None:
        _wrap(np.zeros(0))
    return _Tensor

#: Keep grads as arrays between nodes when backward builds no graph (False: always Tensors,
#: the reference path the tests compare with).
ARRAY_GRADS = True


# -- grads as arrays: a backward without graph or listener keeps them so between nodes ------
def _as_grad(x: Any) -> Any:
    """A grad as a Tensor: arrays from ``_fast_arrays`` formulas are wrapped (NumPy scalars
    as 0-d arrays, as ``apply`` does); Tensors and None pass."""
    if x is None or isinstance(x, _Tensor):
        return x
    if isinstance(x, np.generic):
        x = np.asarray(x)
    return _wrap(x)


def _tensors(buf: Any) -> list:
    return [_as_grad(x) for x in buf]


def _payload(grads: Any, raw: bool) -> Any:
    """Grads for a ``node_executed`` event: as they are where every listener takes bare
    arrays, else as Tensors."""
    return grads if not raw or events.arrays_ok else _tensors(grads)


def _add_raw(a: Any, b: Any) -> Any:
    """``_add_arrays`` for a buffer that may hold arrays: two arrays of one dtype, device and
    shape are summed as arrays, anything else as Tensors."""
    if a is None:
        return b
    if b is None:
        return a
    if type(a) is type(b) and not isinstance(a, _Tensor) \
            and (a.dtype is b.dtype or a.dtype == b.dtype) and a.shape == b.shape:
        return a + b
    return _add_arrays(_as_grad(a), _as_grad(b))


_refcount = sys.getrefcount


def _sole_refs() -> int:
    """The reference count ``_accumulate_array`` sees for a grad array that only the
    engine's buffer holds (the list, the local name, the call's argument: 3 on CPython
    3.11; measured with the same steps rather than assumed, as an interpreter that borrows
    references counts fewer, and a steal on a wrong count would alias ``.grad``)."""
    buf = [np.empty(1)]
    gd = buf[0]
    return _refcount(gd)


_SOLE_REFS = _sole_refs()


def _accumulate_array(node: AccumulateGrad, buf: list) -> None:
    """``accumulate`` of the array grad in ``buf[0]``, without graph or listener: the same
    steps; like torch, the first ``.grad`` takes over (steals) an array that nothing else
    holds instead of copying it."""
    var = node.variable
    old = var._grad
    gd = buf[0]
    if isinstance(gd, np.generic):
        gd = np.asarray(gd)
    if old is None:
        # held only by buf, ``gd`` and getrefcount's argument (the engine drops its own
        # references after each node), owning its memory: no one else can see it
        own = getattr(gd, "base", 0) is None and _refcount(gd) <= _SOLE_REFS and (
            gd.__class__ is not np.ndarray or gd.flags.writeable)
        var._grad = _wrap(gd if own else gd.copy())
    elif old.requires_grad:
        var._grad = old + _wrap(gd)
    else:
        old._data += gd.astype(old._data.dtype, copy=False) \
            if old._data.dtype != gd.dtype else gd
        old._vc.v += 1


def _run_tensor_hooks(run: int, node: Node, nr: int, g: Any, tensor_hooks: dict | None,
                      retains: dict | None) -> Any:
    """Tensor hooks for output ``nr`` of ``node`` (then retain_grad, which runs last)."""
    if tensor_hooks is not None:
        hooks = tensor_hooks.get(nr)
        if hooks:
            target = node.variable if isinstance(node, AccumulateGrad) else None
            for fn in tuple(hooks.values()):
                if events.enabled:
                    events.emit("hook_begin", run=run,
                                target=target if target is not None else (node, nr),
                                kind="tensor", grad_in=g)
                r = fn(g)
                if events.enabled:
                    events.emit("hook_called", run=run,
                                target=target if target is not None else (node, nr),
                                kind="tensor", grad_in=g, grad_out=r, hook=fn)
                if r is not None:
                    _check_hook_value(fn, g, r)
                    g = r
    if retains is not None and g is not None:
        ref = retains.get(nr)
        t = ref() if ref is not None else None
        if t is not None:
            if t._grad is None:
                t._grad = g.detach().clone() if not g.requires_grad else g
            else:
                t._grad = t._grad + g
            if events.enabled:
                events.emit("retain_grad", run=run, tensor=t, grad=t._grad)
    return g


def accumulate(run: int, node: AccumulateGrad, g: Any, create_graph: bool) -> None:
    """Add ``g`` into ``node.variable.grad`` (stolen/cloned first time, summed after)."""
    var = node.variable
    old = var._grad
    before = _wrap(old._data.copy()) if (events.enabled and old is not None) else None
    if old is None:
        if not create_graph:
            var._grad = _wrap(g._data.copy())  # what g.detach().clone() gives, without ops
        else:
            # torch: with create_graph the first .grad is a copy that stays in the graph
            # (``CopyBackwards`` on g's node), else a copy cut from it
            var._grad = _graph_copy(g) if (create_graph and g.requires_grad) \
                else g.detach().clone()
    elif create_graph or old.requires_grad or g.requires_grad:
        var._grad = old + g
    else:
        old._data += g._data.astype(old._data.dtype, copy=False) \
            if old._data.dtype != g._data.dtype else g._data
        old._vc.v += 1
    if events.enabled:
        events.emit("grad_accumulated", run=run, tensor=var, before=before, after=var._grad,
                    grad=g)


def _graph_copy(g: Any) -> Any:
    """``empty_like(g).copy_(g)`` (differentiable: a ``CopyBackwards`` node)."""
    out = _wrap(g._data.copy())
    return out.copy_(g)


def execute(roots: Sequence[tuple[Node, int]], grads: Sequence[Any], *, retain_graph: bool,
            create_graph: bool, capture: Sequence[tuple[Node, int]] | None = None,
            accumulate_leaves: bool = True, kind: str = "backward",
            root_tensors: Sequence[Any] = (), input_tensors: Sequence[Any] = ()) -> list:
    """Run backward from ``roots`` (each a ``(node, output_nr)``) seeded with ``grads``.

    With ``capture``, returns the gradient reaching each ``(node, output_nr)`` in it (after
    tensor hooks) and runs only the part of the graph that leads there; leaves then get no
    ``.grad`` unless ``accumulate_leaves``.
    """
    run = events.next_run_id() if events.enabled else 0
    if events.enabled:
        events.emit("backward_begin", run=run, kind=kind, roots=tuple(root_tensors),
                    grad_roots=tuple(grads), inputs=tuple(input_tensors),
                    retain_graph=retain_graph, create_graph=create_graph)
    error = None
    try:
        return _execute(run, roots, grads, retain_graph, create_graph, capture,
                        accumulate_leaves)
    except BaseException as e:
        error = e
        raise
    finally:
        if events.enabled:
            events.emit("backward_end", run=run, freed=not retain_graph, error=error)


def _execute(run: int, roots: Sequence[tuple[Node, int]], grads: Sequence[Any],
             retain_graph: bool, create_graph: bool,
             capture: Sequence[tuple[Node, int]] | None, accumulate_leaves: bool) -> list:
    # 1. dependencies: how many edges point at each reachable node
    deps: dict[Node, int] = {}
    order: list[Node] = []
    stack = list(dict.fromkeys(n for n, _ in roots))  # one node may root several outputs
    root_set = set(stack)
    while stack:
        n = stack.pop()
        order.append(n)
        for nxt, _ in n.next_functions:
            if nxt is not None:
                c = deps.get(nxt)
                if c is None:  # first seen (roots are on the stack already)
                    deps[nxt] = 1
                    if nxt not in root_set:
                        stack.append(nxt)
                else:
                    deps[nxt] = c + 1

    # 2. with capture: only nodes from which a captured slot is reachable must run
    cap_slots: dict[tuple[Node, int], int] = {}
    needed: set[Node] | None = None
    if capture is not None:
        for i, key in enumerate(capture):
            cap_slots.setdefault(key, i)
        targets = {n for n, _ in capture}
        needed = set()
        # reverse topological sweep: children are decided before parents
        for n in _topo_order(order, deps):
            if n in targets or any(nx in needed for nx, _ in n.next_functions if nx is not None):
                needed.add(n)
        if not accumulate_leaves:
            targets_acc = {n for n in targets if isinstance(n, AccumulateGrad)}
        else:
            targets_acc = set()
    captured: list = [None] * (len(capture) if capture is not None else 0)

    # 3. seed buffers
    buffers: dict[Node, list] = {}
    for (n, nr), g in zip(roots, grads):
        buf = buffers.get(n)
        if buf is None:
            buf = buffers[n] = [None] * n.num_outputs()
        buf[nr] = _add(buf[nr], g)

    heap: list = []
    for n in {n for n, _ in roots}:
        if deps.get(n, 0) == 0:
            heapq.heappush(heap, _entry(n))

    step = 0
    if _Tensor is None:
        _wrap(np.zeros(0))  # (looks up the Tensor class)
    # Without create_graph or capture, grads travel between nodes as arrays (the nodes'
    # ``_fast_arrays`` formulas); they become Tensors only where one is needed: a hook,
    # retain_grad, a node without an array formula, .grad, a listener that wants Tensors.
    raw = ARRAY_GRADS and not create_graph and capture is None and (
        not events.enabled or events.arrays_ok)
    add = _add if create_graph else _add_raw if raw else _add_arrays
    heappop, heappush = heapq.heappop, heapq.heappush
    with grad_mode.set_grad_enabled(create_graph):
        while heap:
            node = heappop(heap)[2]
            if type(node) is _Box:
                node = node.n
            buf = buffers.pop(node, None)
            if buf is None:
                buf = [None] * node.num_outputs()
            if raw and not node._hooked and type(node) is not AccumulateGrad:
                # the common case (no hook, nothing captured; grads as arrays)
                fast, g0 = node._fast_arrays, buf[0]
                out = fast(g0._data if isinstance(g0, _Tensor) else g0) \
                    if fast is not None and g0 is not None else None  # (bound method)
                if out is None:
                    buf = _tensors(buf)
                    out = node.apply(buf)
            else:
                # tensor hooks and retain_grad, per output slot
                th, rt = node._tensor_hooks, node._retains
                if th is not None or rt is not None:
                    if raw:
                        buf = _tensors(buf)
                    for nr in range(len(buf)):
                        if buf[nr] is not None:
                            buf[nr] = _run_tensor_hooks(run, node, nr, buf[nr], th, rt)
                if cap_slots:
                    for nr in range(len(buf)):
                        i = cap_slots.get((node, nr))
                        if i is not None:
                            captured[i] = buf[nr]
                            for j, key in enumerate(capture):  # duplicates in inputs
                                if key == (node, nr):
                                    captured[j] = buf[nr]
                run_it = needed is None or node in needed
                if type(node) is AccumulateGrad:
                    if run_it and node not in (targets_acc if needed is not None else ()) \
                            and buf[0] is not None:
                        if node._pre_hooks:
                            if raw:
                                buf = _tensors(buf)
                            buf = _call_pre_hooks(run, node, buf)
                        if raw and not events.enabled and not isinstance(buf[0], _Tensor):
                            _accumulate_array(node, buf)
                        else:
                            accumulate(run, node, _as_grad(buf[0]), create_graph)
                        if node._post_acc:  # torch: post-accumulate-grad hooks, then post hooks
                            _call_post_acc_hooks(run, node)
                        if node._post_hooks:
                            _call_post_hooks(run, node, (), _tensors(buf) if raw else buf)
                        step += 1
                        if events.enabled:  # (a listener may have subscribed in a hook)
                            events.node_executed(run, step, node, _payload(buf, raw), ())
                    continue
                if not run_it:
                    _release_children(node, deps, heap, run_it=False)
                    continue
                if node._pre_hooks:
                    if raw:
                        buf = _tensors(buf)
                    buf = _call_pre_hooks(run, node, buf)
                if raw:
                    out = None
                    fast, g0 = node._fast_arrays, buf[0]
                    if fast is not None and g0 is not None and not node._post_hooks:
                        out = fast(g0._data if isinstance(g0, _Tensor) else g0)  # (bound)
                    if out is None:
                        buf = _tensors(buf)
                        out = node.apply(buf)
                else:
                    out = node.apply(buf)
                if node._post_hooks:
                    out = _call_post_hooks(run, node, out, buf)
            step += 1
            if events.enabled:
                if raw and not events.arrays_ok:  # (``_payload`` inlined)
                    events.node_executed(run, step, node, _tensors(buf), _tensors(out))
                else:
                    events.node_executed(run, step, node, buf, out)
            if not retain_graph:
                if node._plain_release:  # (``Node._release`` inlined)
                    if node._saved is not None:
                        node._saved = None
                        node._freed = True
                else:
                    node._release()
            for (nxt, nr), g in zip(node.next_functions, out):
                if nxt is None:
                    continue
                if g is not None and (needed is None or nxt in needed):
                    b = buffers.get(nxt)
                    if b is None:
                        if nxt._single_output:
                            buffers[nxt] = [g]
                        else:
                            b = buffers[nxt] = [None] * nxt.num_outputs()
                            b[nr] = g
                    else:
                        b[nr] = add(b[nr], g)
                d = deps[nxt] - 1
                deps[nxt] = d
                if d == 0:  # (``_entry`` inlined)
                    sq = nxt.sequence_nr
                    heappush(heap, (-sq, 0, _Box(nxt) if sq == _ACC_SEQ else nxt))
            out = g = g0 = None  # (so that only the buffers hold the grads: see above)
    return captured


def _entry(n: Node) -> tuple:
    """The heap entry of a ready node: most recent ``sequence_nr`` first. Only AccumulateGrad
    nodes share one (``_ACC_SEQ``); theirs are boxed so that ties never compare nodes."""
    s = n.sequence_nr
    return (-s, 0, _Box(n) if s == _ACC_SEQ else n)


class _Box:
    """Heap entry payload that never compares (ties are broken by insertion)."""

    __slots__ = ("n",)
    _count = 0

    def __init__(self, n: Node) -> None:
        self.n = n

    def __lt__(self, other: _Box) -> bool:
        return False


def _release_children(node: Node, deps: dict, heap: list, run_it: bool) -> None:
    for nxt, _ in node.next_functions:
        if nxt is None:
            continue
        d = deps[nxt] - 1
        deps[nxt] = d
        if d == 0:
            heapq.heappush(heap, _entry(nxt))


def _topo_order(nodes: list[Node], deps: dict[Node, int]) -> list[Node]:
    """Nodes ordered children-first (reverse of a topological order from the roots)."""
    indeg = {n: deps.get(n, 0) for n in nodes}
    ready = [n for n in nodes if indeg[n] == 0]
    topo = []
    while ready:
        n = ready.pop()
        topo.append(n)
        for nx, _ in n.next_functions:
            if nx is not None:
                indeg[nx] -= 1
                if indeg[nx] == 0:
                    ready.append(nx)
    topo.reverse()
    return topo


def _hook_name(fn: Any) -> str:
    return getattr(fn, "__name__", type(fn).__name__)


def _check_hook_value(fn: Any, g: Any, r: Any) -> None:
    """torch's checks on what a tensor hook returned in place of gradient ``g``."""
    if not isinstance(r, _Tensor):
        raise TypeError(f"expected Variable, but hook returned '{type(r).__name__}'")
    if r._data.shape != g._data.shape:
        raise RuntimeError(f"hook '{_hook_name(fn)}' has changed the size of value")
    if r._data.dtype != g._data.dtype or type(r._data) is not type(g._data):
        raise RuntimeError(f"hook '{_hook_name(fn)}' has changed the type of value (was "
                           f"{g._type_name()} got {r._type_name()})")


def _check_hook_tuple(fn: Any, r: Any, n: int) -> None:
    """torch's checks on what a node pre/post hook returned in place of ``n`` grads."""
    if not isinstance(r, tuple):
        raise TypeError(f"expected tuple, but hook returned '{type(r).__name__}'")
    if len(r) != n:
        raise RuntimeError(f"hook '{_hook_name(fn)}' has returned an incorrect number of "
                           f"values (got {len(r)}, but expected {n})")


def _call_pre_hooks(run: int, node: Node, buf: list) -> list:
    for fn in tuple(node._pre_hooks.values()):
        if events.enabled:
            events.emit("hook_begin", run=run, target=node, kind="pre", grad_in=tuple(buf))
        r = fn(tuple(buf))
        if events.enabled:
            events.emit("hook_called", run=run, target=node, kind="pre", grad_in=tuple(buf),
                        grad_out=r, hook=fn)
        if r is not None:
            _check_hook_tuple(fn, r, len(buf))
            buf = list(r)
    return buf


def _call_post_acc_hooks(run: int, node: AccumulateGrad) -> None:
    """``tensor.register_post_accumulate_grad_hook`` hooks: ``hook(tensor)`` once its
    ``.grad`` is accumulated (reported as tensor hooks of the leaf)."""
    var = node.variable
    for fn in tuple(node._post_acc.values()):
        if events.enabled:
            events.emit("hook_begin", run=run, target=var, kind="tensor", grad_in=var._grad)
        if fn(var) is not None:
            raise RuntimeError("Tensor post accumulate grad hooks should return None.")
        if events.enabled:
            events.emit("hook_called", run=run, target=var, kind="tensor", grad_in=var._grad,
                        grad_out=None, hook=fn)


def _call_post_hooks(run: int, node: Node, out: tuple, buf: list) -> tuple:
    for fn in tuple(node._post_hooks.values()):
        if events.enabled:
            events.emit("hook_begin", run=run, target=node, kind="post", grad_in=tuple(out))
        r = fn(tuple(out), tuple(buf))
        if events.enabled:
            events.emit("hook_called", run=run, target=node, kind="post", grad_in=tuple(out),
                        grad_out=r, hook=fn)
        if r is not None:
            _check_hook_tuple(fn, r, len(out))
            out = r
    return out
