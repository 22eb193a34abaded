"""``record()``: listen to the engine's events and keep what the graph model needs.

Inside ``with record() as rec:`` every op, backward run, hook call and ``.grad`` change is
recorded; ``rec.graph()`` turns it into a :class:`~autograd_viz.viz.model.Graph`. Outside it
nothing is subscribed, so nothing is recorded and nothing costs.
"""
from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import Any

import numpy as np

from autograd_viz._backend import cupy_ndarray, get_array_module, to_numpy
from autograd_viz.autograd import events
from autograd_viz.autograd.function import BackwardCFunction

from . import bulk, capture
from ._gc import paused, relax, unrelax
from ._pool import copy as _pooled_copy
from .builder import GraphBuilder
from .model import (
    BackwardRun,
    BackwardStep,
    GradEvent,
    Graph,
    HookCall,
    Preview,
    RetainCapture,
)
from .names import names_from_mapping, names_from_namespace
from .preview import (
    HOST_SUMMARY_NUMEL,
    SMALL_NUMEL,
    Snapshot,
    as_snapshot,
    grab,
    one_value_preview,
    rearranged,
    rearranges,
    scalar_preview,
)

_ndarray = np.ndarray
_weakref = weakref.ref
#: The dtypes whose one-element values the recorder keeps as Python floats (see ``_one``).
_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)


class _Run:
    """A backward run being replayed (values as snapshots)."""

    __slots__ = (
        "id", "kind", "roots", "grad_roots", "inputs", "retain_graph", "create_graph",
        "steps", "hooks", "retained", "accumulated", "freed", "finished", "error",
    )

    def __init__(self, rid: str, p: dict[str, Any], b: GraphBuilder, grad_roots: list) -> None:
        self.id = rid
        self.kind = str(p.get("kind", "backward"))
        self.roots = [None if t is None else b.tensor(t) for t in _seq(p.get("roots"))]
        self.grad_roots = grad_roots
        self.inputs = [None if t is None else b.tensor(t) for t in _seq(p.get("inputs"))]
        self.retain_graph = bool(p.get("retain_graph"))
        self.create_graph = bool(p.get("create_graph"))
        self.steps: list[tuple[int, str, list, list]] = []
        self.hooks: list[tuple] = []
        self.retained: list[tuple[str, Any]] = []
        self.accumulated: list[str] = []
        self.freed = False
        self.finished = False
        self.error: str | None = None


def _seq(x: Any) -> list[Any]:
    if x is None:
        return []
    if isinstance(x, (list, tuple)):
        return list(x)
    return [x]


def _grabs(x: Any) -> list[Any]:
    """Copies of the values of a tensor or a sequence of tensors (None kept); bare arrays
    are taken as the values themselves."""
    if x is None:
        return []
    if isinstance(x, (list, tuple)):
        return [None if t is None else grab(t) for t in x]
    return [grab(x)]


def _saved_items(saved: Any) -> list[tuple[str, Any]]:
    """``Node.saved_items()`` from the saved list as it was when the node was made (the
    engine replaces a node's list, never edits it, once the node exists)."""
    if not saved:
        return []
    return [(s.name, s.tensor) for s in saved if s is not None and not isinstance(s, str)]


def _kept(x: Any) -> Any:
    """What replay keeps of a value copied while recording: a large copy is summarised now
    (a :class:`Snapshot`: statistics, histogram, edges), so that a long recording holds no
    full copies once replayed; small copies are kept as they are."""
    if x is None or type(x) is Snapshot or getattr(x, "size", 0) <= SMALL_NUMEL:
        return x
    memo = _KEPT
    if memo is None:
        return as_snapshot(x)
    s = memo.get(id(x))  # (x is alive: the log being replayed holds it)
    if s is None:
        s = memo[id(x)] = as_snapshot(x)
    return s


#: While a replay runs: copy id -> its summary (one Snapshot per copy).
_KEPT: dict[int, Any] | None = None


def _kept_all(xs: Any) -> list[Any]:
    return [_kept(x) for x in xs]


def _summarised(xs: list[Any]) -> list[Any]:
    """``xs`` with each copy that :func:`_summarise_ahead` summarised replaced by its
    Snapshot (the others left for the builder to summarise if it keeps them)."""
    memo = _KEPT
    assert memo is not None
    arrays = _ARRAYS
    return [memo.get(id(x), x) if type(x) in arrays else x for x in xs]


#: While a replay runs: the array types whose copies may be in ``_KEPT`` (NumPy's, and
#: CuPy's when the recording made GPU copies).
_ARRAYS: tuple = (_ndarray,)


def _summarise_ahead(copies: list[Any], memo: dict[int, Any],
                     views: dict[int, tuple[Any, Any]], gpu: list[Any] = ()) -> None:
    """Summarise the log's large copies before replaying it, each group of one shape and
    dtype at once (:mod:`.bulk`: a training loop copies the same shapes every step), into
    ``memo`` (copy id -> Snapshot), where :func:`_kept` finds them. ``copies`` are the
    copies the recorder noted as it made them (``Recorder._large``; a copy it missed is
    summarised on its own at replay). A view of a copy (``views``: see
    ``Recorder._copy_big``) takes the copy's statistics and histogram, and its own edge
    elements. ``gpu``: the GPU copies noted (see :func:`_summarise_on_host`)."""
    _in_bulk(copies, memo)
    if gpu:
        _summarise_on_host(gpu, memo)
    for vid, (v, c) in views.items():
        s = memo.get(id(c))
        if s is None:
            s = memo[id(c)] = as_snapshot(c)
        memo[vid] = rearranged(v, s)


def _in_bulk(copies: list[Any], memo: dict[int, Any]) -> None:
    """The Snapshots of the NumPy ``copies`` that group by shape and dtype (:mod:`.bulk`),
    into ``memo`` under the copies' ids (None where bulk leaves one to ``snapshot``)."""
    if len(copies) >= 2:
        for group in bulk.groups(copies):
            for a, snap in zip(group, bulk.snapshots(group)):
                memo[id(a)] = snap


def _summarise_on_host(copies: list[Any], memo: dict[int, Any]) -> None:
    """Summarise GPU copies of up to ``HOST_SUMMARY_NUMEL`` elements on the host (as
    ``snapshot`` would, one by one: see it) with one transfer per dtype rather than one per
    copy, then in bulk where they group, into ``memo`` under the GPU copies' ids."""
    by_dtype: dict[Any, list[Any]] = {}
    seen: set[int] = set()
    for a in copies:
        if SMALL_NUMEL < a.size <= HOST_SUMMARY_NUMEL and id(a) not in seen:
            seen.add(id(a))
            by_dtype.setdefault(a.dtype, []).append(a)
    for arrays in by_dtype.values():
        flat = to_numpy(get_array_module(arrays[0]).concatenate([a.reshape(-1) for a in arrays]))
        hosts, at = [], 0
        for a in arrays:
            hosts.append(flat[at:at + a.size].reshape(a.shape))
            at += a.size
        snaps: dict[int, Any] = {}
        _in_bulk(hosts, snaps)
        for a, h in zip(arrays, hosts):
            snap = snaps.get(id(h))
            memo[id(a)] = snap if snap is not None else as_snapshot(h)


def _large_in(entry: tuple, large: list[Any], views: dict[int, Any]) -> None:
    """Append to ``large`` the large NumPy copies among ``entry``'s items, bare or in a list
    (the tensors are in tuples), views of copies left out (see ``Recorder._copy_big``)."""
    for item in entry:
        if type(item) is _ndarray:
            if item.size > SMALL_NUMEL and id(item) not in views:
                large.append(item)
        elif type(item) is list:
            for x in item:
                if type(x) is _ndarray and x.size > SMALL_NUMEL and id(x) not in views:
                    large.append(x)


def _one(v: float, d: Any) -> np.ndarray:
    """The copy of a one-element float32/float64 array ``d`` whose value ``v`` the recorder
    took as a Python float (``d.item()``: exact for these dtypes, and a third of the cost of
    ``d.copy()``); ``d`` itself is kept only for its dtype and shape, which never change."""
    return np.array(v, dtype=d.dtype).reshape(d.shape)


def _paired(xs: list[Any]) -> list[Any]:
    """A logged list of grads with each one value (a float followed by its array: see
    ``_live_node_executed``) as one ``(value, array)`` pair, which :func:`_pv` previews."""
    out: list[Any] = []
    it = iter(xs)
    for x in it:
        out.append((x, next(it)) if type(x) is float else x)
    return out


def _pv(x: Any) -> Preview | None:
    if type(x) is tuple:  # (a one value: see _paired)
        v, d = x
        p = scalar_preview(v, "float32" if d.dtype is _F32 else "float64", d.ndim)
        return p if p is not None else _pv(_one(v, d))
    if type(x) is _ndarray and x.size == 1:
        p = one_value_preview(x)
        if p is not None:
            return p
    s = as_snapshot(x)
    return None if s is None else s.preview()


def _err(exc: BaseException | None) -> str | None:
    if exc is None:
        return None
    msg = str(exc)
    return f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__


class _Fast:
    """The recorder's positional handlers for the engine's two frequent events (see
    ``events.subscribe(fast=)``)."""

    __slots__ = ("node_created", "node_executed")

    def __init__(self, rec: Recorder) -> None:
        self.node_created = rec._live_node_created
        self.node_executed = rec._live_node_executed


class Recorder:
    """Records the engine's events; use through :func:`record`.

    While recording, each event is only logged with copies of the values it carries (the
    cheap part); :meth:`graph` replays the log into the graph model (the expensive part).
    ``names`` maps user names to tensors (or module-like objects with ``named_parameters()``);
    more can be given later with :meth:`set_names` or :meth:`name_from_namespace`.
    While recording, the garbage collector's young generation is collected less often
    (``viz._gc.relax``: the log keeps what it would scan alive anyway); the user's
    thresholds come back at :meth:`stop`.
    """

    #: Replay the log into the model once it holds this many events, or copies of large
    #: values of this many bytes (summarised at replay), whichever comes first: this bounds
    #: the memory a long recording takes.
    FLUSH_EVENTS = 20_000
    FLUSH_BYTES = 64 << 20

    def __init__(self, names: Mapping[Any, Any] | None = None) -> None:
        self._b = GraphBuilder()
        self._log: list[tuple] = []
        self._bytes = 0  # bytes of large values copied into the log (see FLUSH_BYTES)
        self._large: list[Any] = []  # the log's large NumPy copies (see _summarise_ahead)
        self._large_gpu: list[Any] = []  # and its large GPU copies
        self._memo: dict[int, tuple[Any, Any]] = {}  # see _copy_big
        self._prev_d: Any = None  # see _live_node_executed
        self._prev_c: Any = None
        self._kept_memo: dict[int, Any] = {}  # copy id -> its summary, during a replay
        self._views: dict[int, tuple[Any, Any]] = {}  # view id -> (view, copy): _copy_big
        self._seen: set[Any] = set()  # see _first_seen
        self._live: list[tuple[Any, bool]] = []  # backward runs in flight: (key, create_graph)
        self._pending: list[tuple[Any, Any, Any, int]] = []  # hooks in flight
        self._names: dict[int, str] = {}
        self._ns_names: dict[int, str] = {}
        self._runs: list[_Run] = []
        self._by_key: dict[Any, _Run] = {}
        self._active: list[_Run] = []
        self._history: dict[str, list[tuple[str, str | None, str | None, Any]]] = {}
        self._hook_index = 0
        self._sub: events.Subscription | None = None
        self._depth = 0
        self._incomplete = False
        self._error: str | None = None
        self._notes: list[str] = []
        if names:
            self.set_names(names)

    # -- lifetime -----------------------------------------------------------------------
    def start(self) -> Recorder:
        """Begin (or resume) recording; :meth:`stop` ends it. Re-entrant."""
        self._depth += 1
        if self._sub is None:
            self._sub = events.subscribe(self._on_event, arrays=True, fast=_Fast(self))
            relax()
        return self

    def stop(self) -> None:
        """Stop recording (the outermost matching :meth:`start`)."""
        self._depth = max(0, self._depth - 1)
        if self._depth == 0 and self._sub is not None:
            self._sub.remove()
            self._sub = None
            unrelax()
            while self._pending:  # never leave stdout captured
                capture.end(self._pending.pop()[3])

    @property
    def recording(self) -> bool:
        """True while subscribed to the engine's events."""
        return self._sub is not None

    def __enter__(self) -> Recorder:
        return self.start()

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        self.stop()
        if exc is not None:
            self.mark_incomplete(exc)

    def mark_incomplete(self, exc: BaseException | None = None) -> None:
        """Flag the recording as incomplete (the recorded code raised ``exc``)."""
        self._incomplete = True
        if exc is not None:
            self._error = _err(exc)

    # -- names --------------------------------------------------------------------------
    def set_names(self, mapping: Mapping[Any, Any]) -> None:
        """Name tensors: ``{"x": x, "model": model}`` (modules name their parameters
        ``model.fc1.weight``) or ``{tensor_uid: "x"}``. Explicit names win over found ones."""
        self._names.update(names_from_mapping(mapping))

    def name_from_namespace(self, ns: Mapping[str, Any]) -> None:
        """Name tensors after the variables (and module parameters) of a namespace."""
        self._ns_names.update(names_from_namespace(ns))

    # -- look-ups -----------------------------------------------------------------------
    def id_of(self, obj: Any) -> str | None:
        """The graph id of a recorded tensor (its current version) or node, else None."""
        self._replay()
        if hasattr(obj, "next_functions"):
            return self._b.op_id(obj)
        return self._b.tensor_id(obj) if hasattr(obj, "uid") else None

    def graph(self) -> Graph:
        """The graph model of everything recorded so far (a fresh object each call)."""
        with paused():
            return self._graph()

    def _graph(self) -> Graph:
        self._replay()
        names = dict(self._ns_names)
        names.update(self._names)
        history = {
            tid: [GradEvent(tid, k, r, h, _pv(s)) for k, r, h, s in evs]
            for tid, evs in self._history.items()
        }
        runs = [self._run_model(r) for r in self._runs]
        hook_calls: dict[str, int] = {}
        for r in runs:
            per: dict[str, int] = {}
            for h in r.hooks:
                if h.target_type == "tensor":
                    per[h.target] = per.get(h.target, 0) + 1
            for k, v in per.items():
                hook_calls[k] = max(hook_calls.get(k, 0), v)
        roots = [t for r in self._runs for t in r.roots if t is not None]
        g = self._b.build(
            names=names, roots=roots, source="record", runs=runs, history=history,
            hook_calls=hook_calls,
        )
        g.incomplete = self._incomplete
        g.error = self._error
        g.notes = list(self._notes)
        return g

    def _run_model(self, r: _Run) -> BackwardRun:
        return BackwardRun(
            id=r.id,
            kind=r.kind,
            roots=list(r.roots),
            grad_roots=[_pv(s) for s in r.grad_roots],
            inputs=list(r.inputs),
            retain_graph=r.retain_graph,
            create_graph=r.create_graph,
            steps=[
                BackwardStep(i, op, [_pv(s) for s in gi], [_pv(s) for s in go])
                for i, op, gi, go in r.steps
            ],
            hooks=[
                HookCall(
                    index=idx, run=r.id, target=target, target_type=ttype, kind=kind,
                    grad_in=[_pv(s) for s in gin],
                    grad_out=None if gout is None else [_pv(s) for s in gout],
                    printed=printed, error=error,
                )
                for idx, target, ttype, kind, gin, gout, printed, error in r.hooks
            ],
            retained=[RetainCapture(r.id, t, _pv(s)) for t, s in r.retained],
            accumulated=list(r.accumulated),
            freed=r.freed,
            finished=r.finished,
            error=r.error,
        )

    # -- live: log each event with copies of its values ---------------------------------
    #
    # This runs for every op and every backward step while recording, so the two frequent
    # events take a short path: no call that can be inlined, one tuple per event, values
    # copied (they may change in place later) but nothing else computed. ``_seen`` holds
    # the tensors whose values are already copied since the last replay (hashed by
    # identity; the log references them all until then anyway).
    def _on_event(self, kind: str, p: dict[str, Any]) -> None:
        try:
            if kind == "node_created":
                self._live_node_created(p["node"], p["inputs"], p["outputs"],
                                        p.get("grad_enabled", True))
                return
            if kind == "node_executed":
                self._live_node_executed(p["run"], p["step"], p["node"], p["grads_in"],
                                         p["grads_out"])
                return
            if kind == "tensor_created":
                return
            logged = len(self._log)
            if kind == "op_untracked":
                if self._live:
                    return
                outs = _seq(p.get("outputs"))
                self._log.append((kind, p, None, self._first_seen(_seq(p.get("inputs"))),
                                  _grabs(outs)))
                self._seen.update(t for t in outs if t is not None)
            elif kind == "hook_begin":
                self._memo.clear()  # (user code: it may write to any gradient it sees)
                self._prev_d = self._prev_c = None
                pos = capture.begin()
                self._pending.append((p.get("run"), p.get("target"), p.get("kind"), pos))
            elif kind == "hook_called":
                text = ""
                for i in range(len(self._pending) - 1, -1, -1):
                    run, target, hk, pos = self._pending[i]
                    if run == p.get("run") and hk == p.get("kind") \
                            and _same(target, p.get("target")):
                        del self._pending[i]
                        text = capture.end(pos)
                        break
                gout = p.get("grad_out")
                self._log.append((kind, p, text, _grabs(p.get("grad_in")),
                                  None if gout is None else _grabs(gout)))
            elif kind == "backward_begin":
                self._live.append((p.get("run"), bool(p.get("create_graph"))))
                self._first_seen(_seq(p.get("roots")))
                self._log.append((kind, p, None, _grabs(p.get("grad_roots"))))
            elif kind == "backward_end":
                self._memo.clear()
                self._prev_d = self._prev_c = None
                key = p.get("run")
                self._live = [r for r in self._live if r[0] != key]
                left = [x for x in self._pending if x[0] == key]
                self._pending = [x for x in self._pending if x[0] != key]
                unfinished = [(target, hk, capture.end(pos)) for _, target, hk, pos in left]
                self._log.append((kind, p, unfinished))
            elif kind == "grad_accumulated":
                after = p.get("after")
                d = getattr(after, "_data", None)
                if type(d) is _ndarray and d.size > SMALL_NUMEL:
                    # a first .grad is a copy of the grad added, which was most often copied
                    # already, when a node handed it on: that copy is shared (``_memo``)
                    g = None if p.get("before") is not None else p.get("grad")
                    g = getattr(g, "_data", None)
                    if type(g) is _ndarray and g.shape == d.shape and g.dtype == d.dtype:
                        d = g
                    self._log.append((kind, p, self._copy_big(d, self._memo, True)))
                else:
                    self._log.append((kind, p, grab(after)))
            elif kind == "retain_grad":
                self._log.append((kind, p, grab(p.get("grad"))))
            elif kind == "grad_reset":
                t = p["tensor"]
                self._log.append((kind, p, grab(t if p.get("how") == "zero_" else t._grad)))
            else:
                return
            if len(self._log) > logged:
                _large_in(self._log[-1], self._large, self._views)
            if (len(self._log) >= self.FLUSH_EVENTS or self._bytes > self.FLUSH_BYTES) \
                    and not self._live:
                self._replay()
        except Exception as exc:  # noqa: BLE001 - recording must never break user code
            self._note(f"recorder could not log {kind}: {_err(exc)}")

    def _live_node_created(self, node: Any, ins: Any, outs: Any,
                           grad_enabled: bool = True) -> None:
        try:
            live = self._live
            if live and not live[-1][1]:
                return  # the engine's own work inside backward
            seen = self._seen
            in_snaps = None
            grew = False  # (whether self._bytes may have grown: see FLUSH_BYTES)
            for t in ins:
                if t is not None and t not in seen:  # rare: most inputs were outputs
                    in_snaps = self._first_seen(ins)
                    grew = True
                    break
            if len(outs) == 1:  # kept bare, not in a list (see _node_created)
                t = outs[0]
                seen.add(t)
                d = t._data
                n = d.size
                if n == 1 and type(d) is _ndarray and ((dt := d.dtype) is _F32 or dt is _F64):
                    out_snaps = d.item()  # (a one value: see _one)
                else:  # (``d`` is logged for a one value only: replay would summarise it)
                    if n > SMALL_NUMEL:  # (summarised at replay)
                        out_snaps = _pooled_copy(d)
                        (self._large if type(d) is _ndarray else self._large_gpu).append(
                            out_snaps)
                        self._bytes += out_snaps.nbytes
                        grew = True
                    else:
                        out_snaps = d.copy()
                    d = None
            else:
                seen.update(outs)
                out_snaps = [grab(t) for t in outs]
                _large_in((out_snaps,), self._large, self._views)
                d = None
                grew = True
            log = self._log  # (a node's saved list is replaced, never edited, once made)
            log.append(("node_created", node, ins, outs, grad_enabled,
                        live[-1][0] if live else None, in_snaps, out_snaps, node._saved, d))
            if (len(log) >= self.FLUSH_EVENTS or grew and self._bytes > self.FLUSH_BYTES) \
                    and not live:
                self._replay()
        except Exception as exc:  # noqa: BLE001 - recording must never break user code
            self._note(f"recorder could not log node_created: {_err(exc)}")

    def _live_node_executed(self, run: Any, step: int, node: Any, grads_in: Any,
                            grads_out: Any) -> None:
        # grab() inlined, in loops (a comprehension would make a function each time);
        # large values are summarised at replay, their bytes counted for the flush.
        # The engine hands the same gradient array on from one node to the next:
        # within a run a large array is copied once (``_memo``), unless user code
        # (a custom Function's backward) may have written to it since.
        try:
            memo = None if isinstance(node, BackwardCFunction) else self._memo
            # the grad this node got is most often the one the node run before it handed
            # on: that copy is shared (``_prev``: that array and its copy; forgotten like
            # ``_memo``, and never for a custom Function, whose backward may write to it)
            prev_d = self._prev_d if memo is not None else None
            gin: list[Any] = []
            gout: list[Any] = []
            try:
                for t in grads_in:
                    if t is None:
                        gin.append(None)
                        continue
                    # (a Tensor, or a bare array: NumPy's, or CuPy's)
                    d = t if type(t) is _ndarray else getattr(t, "_data", t)
                    if d is prev_d:
                        c = self._prev_c
                        gin.append(c)
                        if type(c) is float:
                            gin.append(d)
                    elif d.size == 1 and type(d) is _ndarray \
                            and ((dt := d.dtype) is _F32 or dt is _F64):
                        gin.append(d.item())
                        gin.append(d)
                    else:
                        gin.append(d.copy() if d.size <= SMALL_NUMEL else self._copy_big(d, memo))
                views = memo is not None  # (see _copy_big; not for a custom Function's grads)
                memo = self._memo
                first = True
                for t in grads_out:
                    if t is None:
                        gout.append(None)
                        continue
                    d = t if type(t) is _ndarray else getattr(t, "_data", t)
                    if d.size == 1 and type(d) is _ndarray \
                            and ((dt := d.dtype) is _F32 or dt is _F64):
                        c = d.item()
                        gout.append(c)
                        gout.append(d)
                    else:
                        c = d.copy() if d.size <= SMALL_NUMEL \
                            else self._copy_big(d, memo, views)
                        gout.append(c)
                    if first:
                        self._prev_d, self._prev_c, first = d, c, False
            except AttributeError:  # (anything else without .size: the general path)
                gin, gout = _grabs(list(grads_in)), _grabs(list(grads_out))
                self._prev_d = self._prev_c = None
            self._log.append(("node_executed", run, step, node, gin, gout))
        except Exception as exc:  # noqa: BLE001 - recording must never break user code
            self._note(f"recorder could not log node_executed: {_err(exc)}")

    def _copy_big(self, d: Any, memo: dict | None, views: bool = False) -> Any:
        """A copy of large array ``d`` for the log, shared with an earlier copy of the same,
        still unchanged, array (``memo``: id -> (weak ref, copy), emptied whenever user code
        runs or a run ends). With ``views``, a ``d`` that rearranges such an array (the
        ``g.T`` that ``t()``'s backward hands on, a reshape, a permutation of axes) is logged
        as the same view of that copy: no copy, and replay summarises it from the copy's
        summary (``_views``)."""
        if memo is not None:
            hit = memo.get(id(d))
            if hit is not None and hit[0]() is d:
                return hit[1]
            b = d.base
            if views and b is not None and type(d) is _ndarray:  # (NumPy: see rearranges)
                hit = memo.get(id(b))
                if hit is not None and hit[0]() is b and rearranges(d, b) \
                        and hit[1].flags.c_contiguous:  # (b's copy: b's layout)
                    c = hit[1]
                    v = _ndarray(d.shape, d.dtype, c, 0, d.strides)
                    self._views[id(v)] = (v, c)
                    self._memo[id(d)] = (_weakref(d), v)
                    return v
        c = _pooled_copy(d)
        (self._large if type(c) is _ndarray else self._large_gpu).append(c)
        self._bytes += c.nbytes
        try:
            self._memo[id(d)] = (_weakref(d), c)
        except TypeError:  # (an array type without weak references)
            pass
        return c

    def _first_seen(self, tensors: Any) -> list[Any] | None:
        """Copies of the values of tensors not seen before (None for the others); the set of
        seen tensors is emptied whenever the log is replayed (the builder knows them then)."""
        seen = self._seen
        out = None
        for i, t in enumerate(tensors):
            if t is not None and t not in seen:
                seen.add(t)
                if out is None:
                    out = [None] * len(tensors)
                out[i] = snap = grab(t)
                if getattr(snap, "size", 0) > SMALL_NUMEL:
                    self._bytes += snap.nbytes
                    (self._large if type(snap) is _ndarray else self._large_gpu).append(snap)
        return out

    def _note(self, note: str) -> None:
        if note not in self._notes:
            self._notes.append(note)

    # -- replay: turn the log into the model ----------------------------------------------
    def _replay(self) -> None:
        # (the collector paused: a replay makes tens of thousands of objects that all live
        # on; collected in one pass afterwards they also count as one young collection, not
        # hundreds, so the full collections that walk the whole heap come far less often)
        with paused():
            self._replay_log()

    def _replay_log(self) -> None:
        log, self._log = self._log, []
        large, self._large = self._large, []
        gpu, self._large_gpu = self._large_gpu, []
        self._bytes = 0
        self._seen.clear()
        global _KEPT, _ARRAYS
        _KEPT = self._kept_memo  # one summary per copy (copies are shared: see _copy_big)
        _ARRAYS = (_ndarray, cupy_ndarray()) if gpu else (_ndarray,)
        views, self._views = self._views, {}
        try:
            _summarise_ahead(large, _KEPT, views, gpu)
        except Exception as exc:  # noqa: BLE001 - the handlers summarise one by one instead
            self._note(f"recorder could not summarise values in bulk: {_err(exc)}")
        handlers = _REPLAY
        for entry in log:
            handler = handlers.get(entry[0])
            if handler is None:
                continue
            try:
                handler(self, *entry[1:])
            except Exception as exc:  # noqa: BLE001 - one odd event must not lose the rest
                self._note(f"recorder could not handle {entry[0]}: {_err(exc)}")
        _KEPT = None
        _ARRAYS = (_ndarray,)
        self._kept_memo.clear()

    def _run_of(self, p: dict[str, Any]) -> _Run | None:
        return self._by_key.get(p.get("run"))

    def _node_created(self, node: Any, inputs: Any, outputs: Any, grad_enabled: Any,
                      run_key: Any, in_snaps: Any, out_snaps: Any, saved: Any,
                      out_data: Any = None) -> None:
        run = self._by_key.get(run_key) if run_key is not None else None
        if type(out_snaps) is float:  # (a one value: see _one)
            out_snaps = _one(out_snaps, out_data)
        if _KEPT:  # (copies summarised ahead: the builder takes those summaries)
            in_snaps = None if in_snaps is None else _summarised(in_snaps)
            out_snaps = _summarised(out_snaps if type(out_snaps) is list else [out_snaps])
        self._b.add_node(
            node, _seq(inputs), _seq(outputs), grad_enabled=grad_enabled,
            created_in=None if run is None else run.id, in_snaps=in_snaps,
            out_snaps=out_snaps if type(out_snaps) is list else [out_snaps],
            saved=_saved_items(saved),
        )

    def _op_untracked(self, p: dict, _: Any, in_snaps: Any, out_snaps: Any) -> None:
        self._b.add_untracked(p.get("name", "op"), p.get("inputs"), p.get("outputs"),
                              in_snaps=in_snaps, out_snaps=out_snaps)

    def _backward_begin(self, p: dict, _: Any, grad_roots: list) -> None:
        run = _Run(f"run{len(self._runs)}", p, self._b, _kept_all(grad_roots))
        self._runs.append(run)
        self._by_key[p.get("run")] = run
        self._active.append(run)

    def _node_executed(self, run_key: Any, step: Any, node: Any, gin: list, gout: list) -> None:
        run = self._by_key.get(run_key)
        if run is None:
            return
        op = self._b.op_for(node)
        run.steps.append((int(step if step is not None else len(run.steps)), op,
                          _kept_all(_paired(gin)), _kept_all(_paired(gout))))

    def _target(self, target: Any) -> tuple[str, str]:
        if isinstance(target, tuple):  # a non-leaf's hook: (its grad_fn, its output_nr)
            node, nr = target
            var = getattr(node, "variable", None)
            if var is not None:  # a leaf's hook, reported through its AccumulateGrad
                return self._b.tensor(var), "tensor"
            tid = self._b.output_of(node, nr)
            return (tid, "tensor") if tid is not None else (self._b.op_for(node), "op")
        if hasattr(target, "next_functions"):
            return self._b.op_for(target), "op"
        return self._b.tensor(target), "tensor"

    def _hook_called(self, p: dict, printed: str, gin: list, gout: Any) -> None:
        run = self._run_of(p)
        if run is not None:
            self._add_hook(run, p.get("target"), p.get("kind"), gin, gout, printed, None)

    def _add_hook(self, run: _Run, target: Any, kind: Any, gin: list, gout: Any,
                  printed: str, error: str | None) -> None:
        tid, ttype = self._target(target)
        run.hooks.append((self._hook_index, tid, ttype, str(kind), _kept_all(gin),
                          None if gout is None else _kept_all(gout), printed, error))
        self._hook_index += 1

    def _grad_accumulated(self, p: dict, snap: Any) -> None:
        snap = _kept(snap)
        run = self._run_of(p)
        tid = self._b.set_grad(p["tensor"], p.get("after"), as_snapshot(snap)).id
        rid = None if run is None else run.id
        self._history.setdefault(tid, []).append(("accumulate", rid, None, snap))
        if run is not None:
            run.accumulated.append(tid)

    def _retain_grad(self, p: dict, snap: Any) -> None:
        snap = _kept(snap)
        run = self._run_of(p)
        d = self._b.set_grad(p["tensor"], p.get("grad"), as_snapshot(snap))
        d.retains_grad = True
        if run is not None:
            run.retained.append((d.id, snap))

    def _backward_end(self, p: dict, unfinished: list) -> None:
        run = self._run_of(p)
        if run is None:
            return
        run.finished = True
        run.freed = bool(p.get("freed"))
        run.error = _err(p.get("error"))
        for target, kind, printed in unfinished:
            self._add_hook(run, target, kind, [], None, printed, run.error or "raised")
        if run in self._active:
            self._active.remove(run)
        if run.freed:
            self._b.free_saved(op for _, op, _, _ in run.steps)

    def _grad_reset(self, p: dict, snap: Any) -> None:
        snap = _kept(snap)
        t, how = p["tensor"], str(p.get("how", "none"))
        if how == "zero_":  # ``x.grad.zero_()``: the tensor is the grad; find its owner
            owner = self._b.grad_owner(t)
            if owner is None:
                return
            owner.grad = as_snapshot(snap)
            tid = owner.id
        else:  # ``x.grad = None`` or ``x.grad = g``: the tensor is the owner
            if how == "none":
                snap = None
            tid = self._b.set_grad(t, getattr(t, "_grad", None) if snap is not None else None,
                                   as_snapshot(snap)).id
        rid = self._active[-1].id if self._active else None
        self._history.setdefault(tid, []).append(("reset", rid, how, snap))


#: Replay handlers by event kind (functions, not bound methods: a Recorder holds no cycle,
#: so it and everything its log references go as soon as it is dropped).
_REPLAY = {
    "node_created": Recorder._node_created,
    "op_untracked": Recorder._op_untracked,
    "backward_begin": Recorder._backward_begin,
    "node_executed": Recorder._node_executed,
    "hook_called": Recorder._hook_called,
    "grad_accumulated": Recorder._grad_accumulated,
    "retain_grad": Recorder._retain_grad,
    "backward_end": Recorder._backward_end,
    "grad_reset": Recorder._grad_reset,
}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(x is y for x, y in zip(a, b))
    return a is b


def record(names: Mapping[Any, Any] | None = None) -> Recorder:
    """A :class:`Recorder` to use as a context manager::

        with record(names={"x": x}) as rec:
            y = (x + 2) ** 2
            y.backward()
        graph = rec.graph()
    """
    return Recorder(names)


