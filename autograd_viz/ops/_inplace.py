"""In-place writes with PyTorch's autograd semantics, views included.

A view made while grad is enabled is registered with its root (the tensor that owns the
memory). When a tensor is written in place (``x.mul_(2)``, ``x[i] = v``, ``x.copy_(y)``):

- not a view: the write's node becomes ``x.grad_fn``;
- a view of a root in the graph: the root's ``grad_fn`` becomes ``CopySlices``, which runs
  the write's node on the written region of the root's gradient (as PyTorch's CopySlices
  does, so ``next_functions`` are the root's old node and the write's other inputs);
- either way every live view of the root gets ``AsStridedBackward0`` on the root's new node,
  as PyTorch regenerates them, so gradients through old views see the write.
"""
from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from .. import _backend as B
from ..autograd import grad_mode
from ..autograd.function import Op, SavedTensor
from ..autograd.function import edge_of as _edge
from ..tensor import Tensor

_state = grad_mode._state

OVERLAP_MSG = ("unsupported operation: more than one element of the written-to tensor refers "
               "to a single memory location. Please clone() the tensor before performing the "
               "operation.")


def register_view(root: Tensor, view: Tensor) -> None:
    """Remember ``view`` (made by a view op with grad enabled) as a view of ``root``."""
    d = root.__dict__
    views = d.get("_views")
    if views is None:  # (by id: a WeakSet would compare tensors with ==)
        views = d["_views"] = weakref.WeakValueDictionary()
    views[id(view)] = view


def is_tracked_view(t: Tensor) -> bool:
    base = t._base
    if base is None:
        return False
    views = base.__dict__.get("_views")
    return views is not None and views.get(id(t)) is t


def mark_multi_output(view: Tensor, name: str, nr: int) -> None:
    """``view`` is output ``nr`` of a multi-output view op (split, chunk, unbind)."""
    view.__dict__["_multi_view"] = (name, nr)


def _check_multi_output_view(t: Tensor) -> None:
    info = t.__dict__.get("_multi_view")
    if info is not None:
        raise RuntimeError(
            f"Output {info[1]} of {info[0]} is a view and is being modified inplace. This view "
            "is the output of a function that returns multiple views. Such functions do not "
            "allow the output views to be modified inplace. You should replace the inplace "
            "operation by an out-of-place one.")


class _StaleMultiOutputView(Tensor):
    """An output of split/chunk/unbind (or a view of one) whose base was written in place:
    reading its ``grad_fn`` (any op on it) raises, as in PyTorch."""

    __slots__ = ()

    @property
    def grad_fn(self):
        name, nr = self.__dict__["_multi_view"]
        raise RuntimeError(
            f"Output {nr} of {name} is a view and its base or another view of its base has "
            "been modified inplace. This view is the output of a function that returns "
            "multiple views. Such functions do not allow the output views to be modified "
            "inplace. You should replace the inplace operation by an out-of-place one.")


def _overlaps(d: Any) -> bool:
    """Whether two elements of array ``d`` share memory (a stride-0 dim, as ``expand``)."""
    st = d.strides
    return 0 in st and bool(d.size) and any(s == 0 and n > 1 for s, n in zip(st, d.shape))


def check_overlap(t: Tensor) -> None:
    """PyTorch's internal-overlap check before writing into ``t`` (e.g. an expanded view)."""
    if _overlaps(t._data):
        raise RuntimeError(OVERLAP_MSG)


PARTIAL_MSG = ("unsupported operation: some elements of the input tensor and the written-to "
               "tensor refer to a single memory location. Please clone() the tensor before "
               "performing the operation.")


def check_partial_overlap(self: Tensor, args: Any) -> None:
    """PyTorch's error when an operand of an in-place op overlaps the written tensor without
    being exactly it (``x.add_(x[0])``); only tensors of the same root can overlap."""
    root = self._base if self._base is not None else self
    for a in args:
        if not isinstance(a, Tensor) or a is self:
            continue
        if (a._base if a._base is not None else a) is not root:
            continue
        if partial_overlap(self._data, a._data):
            raise RuntimeError(PARTIAL_MSG)


def partial_overlap(d: Any, o: Any) -> bool:
    """torch's overlap status PARTIAL: arrays ``d`` and ``o`` share memory without being the
    same view (torch only decides this for non-overlapping-and-dense layouts)."""
    if _ptr(d) == _ptr(o) and d.shape == o.shape and d.strides == o.strides:
        return False
    if not d.size or not o.size or not (_dense(d) and _dense(o)):
        return False
    (s0, s1), (o0, o1) = _span(d), _span(o)
    return s0 < o1 and o0 < s1


def _dense(a: Any) -> bool:
    """Non-overlapping and dense: the elements fill one block in some dimension order."""
    expected = a.itemsize
    for st, n in sorted((st, n) for st, n in zip(a.strides, a.shape) if n != 1):
        if st != expected:
            return False
        expected *= n
    return True


def _span(a: Any) -> tuple:
    if a.size == 0:
        return (0, 0)
    p = _ptr(a)
    lo = sum(min(0, (n - 1) * st) for n, st in zip(a.shape, a.strides))
    hi = sum(max(0, (n - 1) * st) for n, st in zip(a.shape, a.strides))
    return (p + lo, p + hi + a.itemsize)


def _ptr(a: Any) -> int:
    return a.ctypes.data if isinstance(a, np.ndarray) else a.data.ptr


def region(root: Tensor, view: Tensor) -> np.ndarray:
    """Flat (C-order) indices into ``root`` of each element of ``view`` (view's shape),
    from the two arrays' memory offsets, whatever the root's strides."""
    rd, vd = root._data, view._data
    size = rd.itemsize
    r_off = _offsets(rd, size)
    v_off = _offsets(vd, size) + (_ptr(vd) - _ptr(rd)) // size
    if rd.flags.c_contiguous:
        return v_off
    lo = int(r_off.min()) if r_off.size else 0
    pos = np.full(int(r_off.max()) - lo + 1 if r_off.size else 0, -1, dtype=np.int64)
    pos[(r_off - lo).reshape(-1)] = np.arange(r_off.size, dtype=np.int64)
    return pos[v_off - lo]


def _offsets(a: Any, size: int) -> np.ndarray:
    """Each element's offset from ``a``'s first element, in elements."""
    idx = np.zeros(a.shape, dtype=np.int64)
    for k, (n, st) in enumerate(zip(a.shape, a.strides)):
        shape = [1] * a.ndim
        shape[k] = n
        idx += (np.arange(n, dtype=np.int64) * (st // size)).reshape(shape)
    return idx


def _take(g: Tensor, idx: np.ndarray) -> Tensor:
    """``g.flatten()[idx]`` (differentiable)."""
    from ._core import apply
    from .index import IndexBackward0
    flat = g.reshape(-1)
    key = (B.move(idx, g.device),)
    return apply(IndexBackward0, (flat,), key=key)


def _put(v: Tensor, idx: np.ndarray, shape: tuple) -> Tensor:
    """Zeros of ``shape`` with ``v`` added at flat positions ``idx`` (differentiable)."""
    from .index import IndexPutAcc
    n = int(np.prod(shape))
    return IndexPutAcc.run(v.reshape(-1), (n,), (B.move(idx.reshape(-1), v.device),)) \
        .view(shape)


class AsStridedBackward0(Op):
    """The node of a view whose root was written in place: the view's gradient is scattered
    into the root's shape."""

    def backward(self, g):
        return _put(g, self.idx, self.root_shape)


class CopySlices(Op):
    """The root's node after an in-place write through one of its views: ``fn`` (the
    write's own node) runs on the written region of the gradient."""

    def backward(self, g):
        from .unary import where
        fn, idx = self.fn, self.idx
        grads = fn.apply([_take(g, idx).view(self.view_shape)]) if fn is not None else ()
        keep = np.ones(self.root_shape, dtype=bool)
        keep.reshape(-1)[idx.reshape(-1)] = False
        keep_t = Tensor._wrap(B.move(keep, g.device))
        rest = where(keep_t, g, g.new_zeros(()))
        g_self = grads[0] if grads else None
        if self.overlap and self.needs[0] and (g_self is not None or self.generic
                                               or isinstance(fn, Op)):
            # torch copies the write's gradient into the view's geometry of the root's
            # gradient, which an overlapping view (e.g. expanded) cannot take
            raise RuntimeError(OVERLAP_MSG)
        g_root = rest if g_self is None else rest + _put(g_self.to(g.dtype), idx,
                                                          self.root_shape)
        if self.generic:  # fn is None: the written value is the second input
            return g_root, _take(g, idx).view(self.view_shape)
        return (g_root, *grads[1:])

    def _release(self) -> None:
        super()._release()
        if self.fn is not None:
            self.fn._release()


def _pre_write_alias_of(self: Tensor) -> Tensor:
    """``self`` as the write's input: the same graph position, the pre-write value."""
    from ._core import _pre_write_alias
    return _pre_write_alias(self)


def _saved_output(r: Tensor, name: str, view: Tensor | None) -> SavedTensor:
    if view is None:
        return SavedTensor.make(r, name)
    saved = _SavedViewOutput.make(r, name)
    saved.view = weakref.ref(view)
    return saved


class _SavedViewOutput(SavedTensor):
    """The output of an in-place op on a view, as saved for backward: while the view lives
    it unpacks as the view (whose history leads to the base's CopySlices), after that as
    the op's own output (whose history is the op's node)."""

    __slots__ = ("view",)

    def unpack(self, node: Any) -> Any:
        t = super().unpack(node)
        v = self.view()
        return v if v is not None else t


def _node(cls: type, edges: tuple, **fields: Any) -> Op:
    node = object.__new__(cls)
    node._init_edges(())
    node.next_functions = edges
    node.needs = tuple(e[0] is not None for e in edges)
    node.inputs = None
    for k, v in fields.items():
        setattr(node, k, v)
    return node


def rebase(self: Tensor, r: Tensor) -> Tensor:
    """Make ``self`` hold the value and the history of ``r`` (its out-of-place update, same
    shape), as PyTorch's in-place ops do. Returns ``self``."""
    if r.dtype is not self.dtype:
        if r.grad_fn is not None and r.dtype.is_floating_point:
            # torch computes in the promoted dtype and writes self's: the same node, its
            # output in self's dtype (the grads go back in each input's dtype anyway)
            r._data = r._data.astype(self._data.dtype)
        else:
            r = r.to(self.dtype)
    root = self._base if is_tracked_view(self) else None
    idx = None
    if root is not None:
        _check_multi_output_view(self)
        idx = region(root, self)
    old_retain = self.retains_grad
    if old_retain:  # .grad follows the tensor to its new value
        del self.grad_fn._retains[self._output_nr]
    from ._core import _write_out
    _write_out(self, r._data, True, None)
    node = r.grad_fn
    if node is not None and node._saved:
        # a saved result is the written value: it shares self's version counter from now
        # on; its history is the op's node, or (torch's rule for a view written in place)
        # the view's own current history while the view is alive
        r._vc = self._vc
        node._saved = [_saved_output(r, s.name, self if root is not None else None)
                       if s is not None and s.tensor is r else s for s in node._saved]
    if root is None:
        self._set_grad_fn(node, r._output_nr)
        self._backward_hooks = None  # hooks so far stay with the old value's node
        if old_retain:
            self.retain_grad()
        _regenerate(self, written=None)
        return self
    first = node.next_functions[0] if node is not None and node.next_functions else None
    wrap = (node is not None and r._output_nr == 0 and node.num_outputs() == 1
            and first == _edge(self))
    root_edge = _edge(root)
    fields = dict(idx=idx, root_shape=tuple(root.shape), view_shape=tuple(self.shape),
                  overlap=_overlaps(self._data))
    if wrap:
        cs = _node(CopySlices, (root_edge, *node.next_functions[1:]), fn=node, generic=False,
                   **fields)
    else:
        cs = _node(CopySlices, (root_edge, _edge(r)), fn=None, generic=True, **fields)
    _move_grad_fn(root, cs)
    _regenerate(root, written=self)
    if old_retain:
        self.retain_grad()
    return self


def _move_grad_fn(t: Tensor, node: Op) -> None:
    """``t.grad_fn = node``; ``retain_grad()`` follows the tensor to its new node."""
    retains = t.retains_grad
    if retains:
        del t.grad_fn._retains[t._output_nr]
    t._set_grad_fn(node, 0)
    t._backward_hooks = None  # hooks so far stay with the old value's node, as in torch
    if retains:
        t.retain_grad()


def _regenerate(root: Tensor, written: Tensor | None) -> None:
    """Give every live view of ``root`` an ``AsStridedBackward0`` on root's current node
    (the written tensor at once; the others as torch does lazily: see _RegeneratedView)."""
    views = root.__dict__.get("_views")
    if not views or not root._rg:
        return
    edge = _edge(root)
    shape = tuple(root.shape)
    for w in list(views.values()):
        if "_multi_view" in w.__dict__ and w is not written:  # torch: using it now raises
            w.__class__ = _StaleMultiOutputView
            continue
        try:
            idx = region(root, w)
        except RuntimeError:
            continue
        node = _node(AsStridedBackward0, (edge,), idx=idx, root_shape=shape)
        if w is written:
            _move_grad_fn(w, node)
        else:
            _regenerated(w, node)


_GRAD_FN = Tensor.grad_fn  # the slot's descriptor (subclasses below shadow the name)


def _regenerated(w: Tensor, node: Op) -> None:
    """``w``'s history is now ``node``; a ``retain_grad()`` moves there only when w's
    ``grad_fn`` is next read (torch regenerates a view's grad_fn lazily: until then the
    old node keeps capturing)."""
    old = _GRAD_FN.__get__(w)
    d = w.__dict__
    if "_retain_old" not in d and old is not None and old._retains is not None:
        ref = old._retains.get(w._output_nr)
        if ref is not None and ref() is w:
            d["_retain_old"] = (old, w._output_nr)
    _GRAD_FN.__set__(w, node)
    w._output_nr = 0
    w._rg = True
    w._backward_hooks = None
    if "_retain_old" in d and type(w) is Tensor:
        w.__class__ = _RegeneratedView


class _RegeneratedView(Tensor):
    """A view whose history was regenerated while it retained grad: the first read of its
    ``grad_fn`` moves the retain_grad to the new node (and the tensor back to Tensor)."""

    __slots__ = ()

    @property
    def grad_fn(self):
        node = _GRAD_FN.__get__(self)
        old_fn, nr = self.__dict__.pop("_retain_old")
        self.__class__ = Tensor
        del old_fn._retains[nr]
        self.retain_grad()
        return node

    @grad_fn.setter
    def grad_fn(self, value):
        _GRAD_FN.__set__(self, value)
