"""Turns live engine objects into graph-model drafts with deterministic local ids.

Shared by the recorder (which feeds it events) and :func:`graph_from_tensors` (which walks
``grad_fn``). Tensors are keyed by their global ``uid`` and given ids ``t0, t1, ...`` in the
order they are first seen; nodes likewise get ``op0, op1, ...``. No strong reference to a
tensor is kept (only a weak one, to refresh hook counts when the graph is built).
"""
from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable
from typing import Any

from .model import Edge, GradEvent, Graph, OpNode, Preview, SavedRef, TensorNode
from .preview import Snapshot, as_snapshot, snapshot

#: ``hint`` not given: read ``t.grad_fn`` now.
MISSING: Any = object()


class TensorDraft:
    """What is known about one tensor version while recording."""

    __slots__ = (
        "id", "uid", "shape", "dtype", "device", "requires_grad", "is_leaf", "grad_fn",
        "producer", "output_nr", "retains_grad", "hooks", "value", "grad", "grad_tensor",
        "version", "created_in", "saved_only", "ref", "__weakref__",
    )

    def __init__(self, tid: str, t: Any, value: Snapshot | None) -> None:
        self.id = tid
        self.uid: int = t.uid
        self.shape = [int(s) for s in t.shape]
        self.dtype = _dtype(t)
        self.device = str(getattr(t, "device", "cpu"))
        self.requires_grad = bool(t.requires_grad)
        self.is_leaf = bool(t.is_leaf)
        self.grad_fn: str | None = None
        self.producer: str | None = None
        self.output_nr = int(getattr(t, "output_nr", 0) or 0)
        self.retains_grad = bool(getattr(t, "retains_grad", False))
        self.hooks = _hook_count(t)
        self.value = value
        self.grad: Snapshot | None = None
        self.grad_tensor: str | None = None
        self.version = 0
        self.created_in: str | None = None
        self.saved_only = False
        try:
            self.ref: Callable[[], Any] | None = weakref.ref(t)
        except TypeError:
            self.ref = None


class OpDraft:
    """What is known about one autograd node (or untracked op) while recording."""

    __slots__ = (
        "id", "uid", "name", "kind", "next", "inputs", "saved", "saved_freed", "variable",
        "grad_enabled", "recorded", "created_in",
    )

    def __init__(self, oid: str, uid: int | None, name: str, kind: str) -> None:
        self.id = oid
        self.uid = uid
        self.name = name
        self.kind = kind
        self.next: list[tuple[str | None, int]] = []
        self.inputs: list[str | None] = []
        self.saved: list[tuple[str, str | None]] = []
        self.saved_freed = False
        self.variable: str | None = None
        self.grad_enabled = True
        self.recorded = True
        self.created_in: str | None = None


def _output_nr(t: Any) -> int:
    return int(getattr(t, "output_nr", 0) or 0)


def _weak(t: Any) -> Callable[[], Any] | None:
    try:
        return weakref.ref(t)
    except TypeError:
        return None


def _dtype(t: Any) -> str:
    dt = getattr(t, "dtype", None)
    name = getattr(dt, "name", None)
    return name if isinstance(name, str) else str(dt)


def _hook_count(t: Any) -> int:
    hooks = getattr(t, "_backward_hooks", None)
    try:
        return len(hooks) if hooks else 0
    except TypeError:
        return 0


def _node_name(node: Any) -> str:
    name = getattr(node, "name", None)
    return str(name() if callable(name) else (name or type(node).__name__))


class GraphBuilder:
    """Registers tensors and nodes, and builds :class:`Graph` objects from what it knows."""

    def __init__(self) -> None:
        self.tensors: list[TensorDraft] = []
        self.ops: list[OpDraft] = []
        self._tid: dict[int, TensorDraft] = {}
        self._oid: dict[int, OpDraft] = {}
        self._ops_by_id: dict[str, OpDraft] = {}
        self._outputs: dict[tuple[str, int], TensorDraft] = {}
        self._grad_owner: dict[int, TensorDraft] = {}

    # -- tensors ------------------------------------------------------------------------
    def draft(self, t: Any) -> TensorDraft | None:
        """The current draft of tensor ``t`` (None if never seen)."""
        return self._tid.get(t.uid)

    def tensor_id(self, t: Any) -> str | None:
        """The id of the current version of tensor ``t`` if it was seen."""
        d = self._tid.get(t.uid)
        return None if d is None else d.id

    def tensor(
        self,
        t: Any,
        *,
        snap: Any = None,
        hint: Any = MISSING,
        producer: str | None = None,
        created_in: str | None = None,
        saved_only: bool = False,
    ) -> str:
        """Id of ``t``, registering it the first time (with ``snap``, the copy of its value
        taken when it was seen, or a copy taken now).

        ``hint`` is ``t.grad_fn`` as it was when the event happened (replayed events must not
        read the live one): a different node than the known version's means ``t`` was
        changed in place by a tracked op. ``producer`` is the op that has just made ``t``: if
        ``t`` was already known from another op (an in-place change), a new version starts.
        """
        d = self._tid.get(t.uid)
        if d is not None:
            if producer is not None:
                if d.producer != producer:
                    return self._new_version(t, d, producer, created_in, snap).id
            elif hint is not MISSING and hint is not None:
                o = self._oid.get(hint.uid)
                if o is None or d.grad_fn != o.id:
                    return self._rebased(t, d, self.op_for(hint)).id
            if not saved_only:
                d.saved_only = False
            return d.id
        if producer is None:  # another tensor object for a known graph position: an alias
            fn = getattr(t, "grad_fn", None) if hint is MISSING else hint
            o = None if fn is None else self._oid.get(fn.uid)
            alias = None if o is None else self._outputs.get((o.id, _output_nr(t)))
            if alias is not None:
                self._tid[t.uid] = alias
                return alias.id
        d = self._new_tensor(t, producer, created_in, snap, hint)
        d.saved_only = saved_only
        return d.id

    def _new_version(
        self, t: Any, old: TensorDraft, producer: str, created_in: str | None, snap: Any
    ) -> TensorDraft:
        new = self._new_tensor(t, producer, created_in, snap, MISSING)
        new.version = old.version + 1
        new.grad, new.grad_tensor = old.grad, old.grad_tensor
        return new

    def _rebased(self, t: Any, old: TensorDraft, op: str) -> TensorDraft:
        """``t`` was changed in place by a tracked op whose result the engine handed over
        to ``t`` (torch's rebase): that result, seen as the op's output, becomes ``t``'s next
        version."""
        out = self._outputs.get((op, _output_nr(t)))
        if out is None or out.uid == t.uid:
            return self._new_version(t, old, op, None, None)
        self._tid.pop(out.uid, None)
        out.uid = t.uid
        out.version = old.version + 1
        out.ref = _weak(t)
        self._tid[t.uid] = out
        return out

    def _new_tensor(
        self, t: Any, producer: str | None, created_in: str | None, snap: Any, hint: Any
    ) -> TensorDraft:
        value = as_snapshot(snap) if snap is not None else snapshot(t)
        d = TensorDraft(f"t{len(self.tensors)}", t, value)
        d.created_in = created_in
        self.tensors.append(d)
        self._tid[d.uid] = d
        fn = getattr(t, "grad_fn", None) if hint is MISSING else hint
        if producer is not None:
            d.producer = producer
            if self._ops_by_id[producer].kind != "untracked":
                d.grad_fn = producer
            else:
                d.is_leaf = True
        elif fn is not None:
            d.grad_fn = d.producer = self.op_for(fn)
        if d.grad_fn is not None:
            d.is_leaf = False
            self._outputs[(d.grad_fn, d.output_nr)] = d
        elif hint is not MISSING:
            d.is_leaf = True
        g = getattr(t, "_grad", None)
        if g is not None:
            d.grad = snapshot(g)
        return d

    def output_of(self, node: Any, nr: int) -> str | None:
        """Id of the tensor last seen as output ``nr`` of ``node``."""
        o = self._oid.get(node.uid)
        d = None if o is None else self._outputs.get((o.id, int(nr)))
        return None if d is None else d.id

    def set_grad(self, t: Any, grad: Any, snap: Snapshot | None) -> TensorDraft:
        """Record that ``t.grad`` is now ``grad`` (copied in ``snap``)."""
        self.tensor(t)
        d = self._tid[t.uid]
        d.grad = snap
        d.grad_tensor = None
        if grad is not None:
            self._grad_owner[grad.uid] = d
            g = self._tid.get(grad.uid)
            d.grad_tensor = None if g is None else g.id
        return d

    def grad_owner(self, grad: Any) -> TensorDraft | None:
        """The tensor whose ``.grad`` is ``grad``, if known."""
        return self._grad_owner.get(grad.uid)

    # -- ops ----------------------------------------------------------------------------
    def op_id(self, node: Any) -> str | None:
        """Id of a known node, or None."""
        o = self._oid.get(node.uid)
        return None if o is None else o.id

    def op_for(self, node: Any) -> str:
        """Id of ``node``; unknown nodes (and everything behind them) are walked."""
        o = self._oid.get(node.uid)
        if o is not None:
            return o.id
        self.walk(node)
        return self._oid[node.uid].id

    def _new_op(self, uid: int | None, name: str, kind: str) -> OpDraft:
        o = OpDraft(f"op{len(self.ops)}", uid, name, kind)
        self.ops.append(o)
        self._ops_by_id[o.id] = o
        if uid is not None:
            self._oid[uid] = o
        return o

    def walk(self, root: Any) -> None:
        """Register ``root`` and every node reachable through ``next_functions`` (preorder,
        in ``next_functions`` order), as torchviz's ``make_dot`` walks them."""
        new: list[tuple[OpDraft, Any]] = []
        stack = [root]
        while stack:
            node = stack.pop()
            if node.uid in self._oid:
                continue
            name = _node_name(node)
            kind = "accumulate" if name == "AccumulateGrad" else "function"
            o = self._new_op(node.uid, name, kind)
            o.recorded = False
            new.append((o, node))
            nexts = tuple(getattr(node, "next_functions", ()) or ())
            stack.extend(fn for fn, _ in reversed(nexts) if fn is not None)
        for o, node in new:
            o.next = [
                (None if fn is None else self._oid[fn.uid].id, int(nr))
                for fn, nr in (getattr(node, "next_functions", ()) or ())
            ]
        for o, node in new:
            self._attach(o, node)

    def _attach(self, o: OpDraft, node: Any, saved: list[tuple[str, Any]] | None = None) -> None:
        """Register an op's leaf variable and saved tensors (``saved``: as taken earlier)."""
        if o.kind == "accumulate":
            var = getattr(node, "variable", None)
            if var is not None:
                o.variable = self.tensor(var)
        items = saved_items(node) if saved is None else _clean(saved)
        o.saved = [(name, self.tensor(t, saved_only=True)) for name, t in items]

    def add_node(
        self,
        node: Any,
        inputs: Iterable[Any],
        outputs: Iterable[Any],
        grad_enabled: bool = True,
        created_in: str | None = None,
        in_snaps: list[Any] | None = None,
        out_snaps: list[Any] | None = None,
        saved: list[tuple[str, Any]] | None = None,
    ) -> str:
        """Register a node the engine created, with its input/output tensors; ``in_snaps`` /
        ``out_snaps`` are the value copies taken then, ``saved`` its ``saved_items()`` then."""
        fns = tuple(getattr(node, "next_functions", ()) or ())
        in_ids: list[str | None] = []
        for i, t in enumerate(inputs):
            if t is None:
                in_ids.append(None)
                continue
            fn = fns[i][0] if i < len(fns) else None
            hint = None if fn is None or hasattr(fn, "variable") else fn
            snap = in_snaps[i] if in_snaps is not None and i < len(in_snaps) else None
            in_ids.append(self.tensor(t, snap=snap, hint=hint))
        nexts = [(None if fn is None else self.op_for(fn), int(nr)) for fn, nr in fns]
        o = self._oid.get(node.uid)
        if o is None:
            name = _node_name(node)
            kind = "accumulate" if name == "AccumulateGrad" else "function"
            o = self._new_op(node.uid, name, kind)
        o.recorded = True
        o.next, o.inputs = nexts, in_ids
        o.grad_enabled, o.created_in = bool(grad_enabled), created_in
        for i, t in enumerate(outputs):
            if t is not None:
                snap = out_snaps[i] if out_snaps is not None and i < len(out_snaps) else None
                self.tensor(t, producer=o.id, created_in=created_in, snap=snap)
        self._attach(o, node, saved)
        return o.id

    def add_untracked(
        self,
        name: str,
        inputs: Iterable[Any],
        outputs: Iterable[Any],
        in_snaps: list[Any] | None = None,
        out_snaps: list[Any] | None = None,
    ) -> str:
        """Register an op that ran without building a node (no_grad, or no input needs grad).

        An in-place op reported as ``(self,) -> (self,)`` right after the out-of-place op
        that computed it (how the engine runs ``x.sub_(y)`` without grad) is merged into
        that op: its result becomes the next version of ``self``.
        """
        ins = _tensors(inputs)
        outs = _tensors(outputs)
        if len(ins) == 1 and len(outs) == 1 and ins[0] is outs[0] and ins[0] is not None:
            merged = self._merge_inplace(str(name), ins[0])
            if merged is not None:
                return merged
        in_ids = [
            None if t is None else self.tensor(t, snap=_at(in_snaps, i)) for i, t in enumerate(ins)
        ]
        o = self._new_op(None, str(name) or "op", "untracked")
        o.inputs = in_ids
        o.grad_enabled = False
        for i, t in enumerate(outs):
            if t is not None:
                self.tensor(t, producer=o.id, snap=_at(out_snaps, i))
        return o.id

    def _merge_inplace(self, name: str, t: Any) -> str | None:
        d = self._tid.get(t.uid)
        last = self.ops[-1] if self.ops else None
        if d is None or last is None or last.kind != "untracked" or not last.inputs:
            return None
        r = self.tensors[-1] if self.tensors else None
        if last.inputs[0] != d.id or r is None or r.producer != last.id or r.uid == t.uid:
            return None
        last.name = name
        self._tid.pop(r.uid, None)
        r.uid, r.ref, r.version = t.uid, _weak(t), d.version + 1
        r.requires_grad, r.is_leaf = d.requires_grad, d.is_leaf
        r.grad, r.grad_tensor = d.grad, d.grad_tensor
        self._tid[t.uid] = r
        return last.id

    def free_saved(self, op_ids: Iterable[str]) -> None:
        """Mark the saved tensors of these ops as released."""
        for oid in op_ids:
            o = self._ops_by_id.get(oid)
            if o is not None and o.saved:
                o.saved_freed = True

    # -- building -----------------------------------------------------------------------
    def _name(self, d: TensorDraft, names: dict[int, str]) -> str | None:
        """The user's name for ``d``; a named tensor's gradient is called ``name.grad``."""
        name = names.get(d.uid)
        if name is None:
            owner = self._grad_owner.get(d.uid)
            if owner is not None and owner.uid in names:
                name = names[owner.uid] + ".grad"
        return name

    def build(
        self,
        *,
        names: dict[int, str],
        roots: Iterable[str] = (),
        source: str = "record",
        runs: list | None = None,
        history: dict[str, list[GradEvent]] | None = None,
        hook_calls: dict[str, int] | None = None,
    ) -> Graph:
        """A fresh :class:`Graph` of everything registered so far."""
        roots = set(roots)
        history = history or {}
        hook_calls = hook_calls or {}
        consumed: set[str] = set()
        for o in self.ops:
            if o.kind != "untracked":
                consumed.update(i for i in o.inputs if i is not None)
        latest: dict[int, TensorDraft] = self._tid
        tensors = []
        for d in self.tensors:
            t_obj = d.ref() if d.ref is not None else None
            if t_obj is not None and latest.get(d.uid) is d:
                d.hooks = max(d.hooks, _hook_count(t_obj))
                d.retains_grad = d.retains_grad or bool(getattr(t_obj, "retains_grad", False))
            role = "constant" if not d.requires_grad else ("leaf" if d.is_leaf else "intermediate")
            is_output = d.id in roots or (
                source == "record" and role == "intermediate" and d.id not in consumed
            )
            grad = d.grad.preview() if d.grad is not None else None
            tensors.append(
                TensorNode(
                    id=d.id,
                    name=self._name(d, names),
                    shape=list(d.shape),
                    dtype=d.dtype,
                    device=d.device,
                    requires_grad=d.requires_grad,
                    is_leaf=d.is_leaf,
                    role=role,
                    is_output=is_output,
                    grad_fn=d.grad_fn,
                    output_nr=d.output_nr,
                    retains_grad=d.retains_grad,
                    hooks=max(d.hooks, hook_calls.get(d.id, 0)),
                    value=d.value.preview() if d.value is not None else None,
                    grad=grad,
                    grad_note=None if grad is not None else _grad_note(d, role, history),
                    grad_tensor=d.grad_tensor,
                    version=d.version,
                    created_in=d.created_in,
                    saved_only=d.saved_only,
                )
            )
        made: dict[str, list[str]] = {}
        for d in self.tensors:
            if d.producer is not None:
                made.setdefault(d.producer, []).append(d.id)
        ops = [
            OpNode(
                id=o.id,
                name=o.name,
                kind=o.kind,
                next_functions=list(o.next),
                inputs=list(o.inputs),
                outputs=made.get(o.id, []),
                saved=[SavedRef(n, t) for n, t in o.saved],
                saved_freed=o.saved_freed,
                variable=o.variable,
                grad_enabled=o.grad_enabled,
                recorded=o.recorded,
                created_in=o.created_in,
            )
            for o in self.ops
        ]
        return Graph(
            tensors=tensors,
            ops=ops,
            edges=derive_edges(tensors, ops),
            runs=list(runs or []),
            grad_history={k: list(v) for k, v in history.items()},
            source=source,
        )


def _grad_note(d: TensorDraft, role: str, history: dict[str, list[GradEvent]]) -> str:
    if role == "constant":
        return "requires_grad=False"
    if role == "intermediate" and not d.retains_grad:
        return "non-leaf, no retain_grad"
    events = history.get(d.id)
    if events and events[-1].kind == "reset" and events[-1].how == "none":
        return "set to None"
    return "not computed yet"


def _at(xs: list[Any] | None, i: int) -> Any:
    return xs[i] if xs is not None and i < len(xs) else None


def saved_items(node: Any) -> list[tuple[str, Any]]:
    """``node.saved_items()`` made safe: [] when missing, freed or failing."""
    fn = getattr(node, "saved_items", None)
    if fn is None:
        return []
    try:
        items = fn()
    except Exception:  # noqa: BLE001 - a freed or odd node simply has nothing to show
        return []
    return _clean(items)


def _clean(items: Any) -> list[tuple[str, Any]]:
    return [(str(n), t) for n, t in (items or ()) if t is not None and hasattr(t, "uid")]


def _tensors(xs: Any) -> list[Any]:
    if xs is None:
        return []
    if hasattr(xs, "uid"):
        return [xs]
    return [x for x in xs if x is None or hasattr(x, "uid")]


def derive_edges(tensors: list[TensorNode], ops: list[OpNode]) -> list[Edge]:
    """The drawn edges of a graph, in a deterministic order (see :class:`Edge`)."""
    by_id = {t.id: t for t in tensors}
    op_kind = {o.id: o.kind for o in ops}
    producer: dict[str, list[TensorNode]] = {}
    for t in tensors:
        if t.grad_fn is not None:
            producer.setdefault(t.grad_fn, []).append(t)
    var_of = {o.id: o.variable for o in ops if o.kind == "accumulate"}
    edges: list[Edge] = []
    seen_var: set[tuple[str, str]] = set()
    for o in ops:
        if o.kind == "untracked":
            edges.extend(Edge(i, o.id, "untracked", k) for k, i in enumerate(o.inputs) if i)
            edges.extend(Edge(o.id, t, "untracked") for t in o.outputs)
            continue
        if o.kind == "accumulate" and o.variable is not None:
            edges.append(Edge(o.variable, o.id, "variable"))
            seen_var.add((o.variable, o.id))
        for slot, (ref, _nr) in enumerate(o.next_functions):
            tid = o.inputs[slot] if slot < len(o.inputs) else None
            t = by_id.get(tid) if tid is not None else None
            if ref is None:
                if t is not None:
                    edges.append(Edge(t.id, o.id, "constant", slot))
            elif op_kind.get(ref) == "accumulate":
                var = var_of.get(ref)
                if t is not None and var not in (None, t.id) and (t.id, ref) not in seen_var:
                    seen_var.add((t.id, ref))
                    edges.append(Edge(t.id, ref, "variable"))
                edges.append(Edge(ref, o.id, "next", slot))
            elif t is not None and t.grad_fn == ref:
                edges.append(Edge(t.id, o.id, "input", slot))
            else:
                edges.append(Edge(ref, o.id, "next", slot))
        for slot in range(len(o.next_functions), len(o.inputs)):
            tid = o.inputs[slot]
            if tid is not None:
                edges.append(Edge(tid, o.id, "constant", slot))
        for t in producer.get(o.id, ()):
            edges.append(Edge(o.id, t.id, "output", t.output_nr))
        for ref in o.saved:
            if ref.tensor is not None:
                edges.append(Edge(ref.tensor, o.id, "saved", label=ref.name))
    return edges


def preview(s: Snapshot | None) -> Preview | None:
    """The preview of a snapshot, or None."""
    return None if s is None else s.preview()
