"""Graph nodes: ``Node`` (what ``grad_fn`` is), saved tensors, ``AccumulateGrad``, the base
class of the built-in ops (``Op``), and the user-facing ``Function`` with ``ctx``.
"""
from __future__ import annotations

import itertools
import re
import sys
import weakref
from collections.abc import Callable
from typing import Any

from . import events, grad_mode
from .hooks import RemovableHandle, add_hook

_seq = itertools.count()
_uids = itertools.count()
_ACC_SEQ = sys.maxsize  # AccumulateGrad runs as soon as it is ready, as in PyTorch
_grad_state = grad_mode._state
_BACKWARD_SUFFIX = re.compile(r"Backward\d*$")
_weakref = weakref.ref

FREED_MSG = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
    "backward through the graph a second time or if you need to access saved tensors after "
    "calling backward.")

RESULT = object()  # marker: "save the op's output" in Op.save()


class Pending(list):
    """A node's saved list while its forward runs, holding a name (a ``str``) where the
    op's output is to be saved: ``apply`` replaces each name with the output's
    ``SavedOutput`` once the output exists. A plain list holds no names."""

    __slots__ = ()


#: ``_saved`` of a node whose forward saved its output only (``save_result()``): a tuple,
#: so that nothing can append to the shared value (``apply`` replaces it).
RESULT_ONLY = ("result",)


class SavedTensor:
    """A tensor kept for backward with the version it had when saved. Made by
    :meth:`make` (no ``__init__``: a class without one is called faster than
    ``object.__new__``, and every op's forward makes these)."""

    __slots__ = ("tensor", "version", "name")

    @classmethod
    def make(cls, tensor: Any, name: str) -> SavedTensor:
        """The saved ``tensor`` under ``name``, at its current version."""
        s = cls()
        s.tensor = tensor
        s.version = tensor._vc.v
        s.name = name
        return s

    def unpack(self, node: Node) -> Any:
        t = self.tensor
        if t._vc.v != self.version:
            # (torch 2.13 names the node without its "Backward0" suffix: "output 0 of Mul")
            out = ("output 0 of " + _BACKWARD_SUFFIX.sub("", t.grad_fn.name())
                   if t.grad_fn is not None else "a leaf")
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: [{t._type_name()} {list(t.shape)}], which is {out}, is "
                f"at version {t._vc.v}; expected version {self.version} instead. Hint: "
                "record the code with autograd_viz.viz.record() (or %%autograd in Jupyter) "
                "to see which in-place operation made the new version.")
        return t


class SavedOutput(SavedTensor):
    """An op's own output saved for its backward, as PyTorch saves outputs: the node keeps the
    data and the version counter, not the tensor (whose ``grad_fn`` is the node: keeping it
    would make a reference cycle, so the graph of every ``tanh``/``exp``/``sigmoid`` would be
    freed by the cyclic collector instead of at once). While the output lives it unpacks as
    itself; after that as a new tensor on the same data with the node as ``grad_fn``."""

    __slots__ = ("ref", "data", "vc", "nr")

    @staticmethod
    def of(tensor: Any, name: str) -> SavedOutput:
        s = SavedOutput()
        s.ref = _weakref(tensor)
        s.data = tensor._data
        s.vc = vc = tensor._vc
        s.version = vc.v
        s.nr = tensor._output_nr
        s.name = name
        return s

    @property
    def tensor(self) -> Any:  # type: ignore[override]
        t = self.ref()
        if t is None:
            t = _rebuild(self, None)
        return t

    def unpack(self, node: Node) -> Any:
        t = self.ref()
        if t is None:
            t = _rebuild(self, node)
        if self.vc.v != self.version:
            SavedTensor.unpack(_as_saved(t, self), node)  # raises torch's error
        return t


def _rebuild(s: SavedOutput, node: Any) -> Any:
    from ..tensor import Tensor
    t = Tensor._wrap(s.data)
    t._vc = s.vc
    if node is not None:
        t._rg = True
        t.grad_fn = node
        t._output_nr = s.nr
    return t


def _as_saved(t: Any, s: SavedOutput) -> SavedTensor:
    plain = SavedTensor()
    plain.tensor, plain.version, plain.name = t, s.version, s.name
    return plain


def edge_of(t: Any) -> tuple:
    """The edge ``(node, output_nr)`` to input ``t``: its ``grad_fn``, its leaf's
    ``AccumulateGrad``, or ``(None, 0)`` where it needs no grad."""
    if t is None or not t._rg:
        return (None, 0)
    fn = t.grad_fn
    if fn is not None:
        return (fn, t._output_nr)
    acc = t._acc
    if acc is None:
        acc = t._accumulator()
        if acc is None:  # (a view made under no_grad: requires grad, yet no edge)
            return (None, 0)
    return acc.edge


class _SavedAttr:
    """torch's ``node._saved_<name>`` accessor: the tensor saved for backward under that name
    (unpacked, with its checks; torch's error once freed) or a scalar the op kept as an
    attribute. One per name, on ``Node``, made by ``describe`` when the name is first used
    (a ``__getattr__`` would serve them too, but it stops Python from specialising every
    attribute read on nodes: ~8% of an op's forward+backward)."""

    __slots__ = ("key",)

    def __init__(self, key: str) -> None:
        self.key = key

    def __get__(self, node: Any, cls: Any = None) -> Any:
        if node is None:
            return self
        key = self.key
        for s in node._saved or ():
            if s is not None and not isinstance(s, str) and s.name == key:
                return s.unpack(node)
        try:
            return object.__getattribute__(node, key)  # a scalar the op kept
        except AttributeError:
            pass
        if node._freed:  # (a tensor saved, then freed)
            raise RuntimeError(FREED_MSG)
        raise AttributeError(f"'{type(node).__name__}' object has no attribute '_saved_{key}'")


_DESCRIBED: set = set()  # names with a ``_saved_<name>`` accessor on Node
_DESCRIBED_CLASSES: set = set()  # node classes whose attributes were described


def describe(*names: str) -> None:
    """Give every node a ``_saved_<name>`` accessor for these names (once per name)."""
    for n in names:
        if n not in _DESCRIBED and n.isidentifier():
            _DESCRIBED.add(n)
            setattr(Node, "_saved_" + n, _SavedAttr(n))


def describe_node(node: Any) -> None:
    """``describe`` the names of what ``node`` saved and the attributes it keeps (scalar
    arguments such as ``exponent``): the first tracked node of each class calls this."""
    _DESCRIBED_CLASSES.add(type(node))
    names = [s.name for s in node._saved or () if s is not None and not isinstance(s, str)]
    names += [k for k in getattr(node, "__dict__", {}) if not k.startswith("_")]
    for c in type(node).__mro__:
        if c is not Node and c is not object:
            names += [k for k in c.__dict__.get("__slots__", ()) if not k.startswith("_")]
    describe(*names)


class Node:
    """A node of the backward graph (``tensor.grad_fn``).

    ``next_functions`` holds one ``(node, output_nr)`` edge per forward input, in the order
    PyTorch uses; ``None`` where that input does not require grad.
    """

    __slots__ = ("next_functions", "sequence_nr", "_saved", "_freed", "__weakref__",
                 "__dict__")

    _name: str = ""
    # Rarely set, so class defaults (an instance that gets one keeps it in its __dict__):
    # a node is made without storing them, and the engine reads the one flag ``_hooked``
    # (True once a hook dict or ``_retains`` was set) instead of four fields.
    _uid: int | None = None
    _pre_hooks: dict | None = None
    _post_hooks: dict | None = None
    _tensor_hooks: dict | None = None
    _retains: dict | None = None
    _hooked = False
    #: Class flags read by the engine instead of calling methods that are rarely overridden:
    #: ``num_outputs()`` is 1, ``_release()`` is Node's own (set by ``__init_subclass__``).
    _single_output = True
    _plain_release = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "num_outputs" in cls.__dict__:
            cls._single_output = False
        if "_release" in cls.__dict__:
            cls._plain_release = False

    #: A method ``(self, grad_array) -> tuple of arrays | None``: backward on arrays, which the
    #: engine uses when a backward builds no graph (``ops/_fastgrad.py``); None for most nodes.
    _fast_arrays: Callable | None = None

    def _init_edges(self, inputs: tuple) -> None:
        n = len(inputs)  # (every op's hot path: unrolled for one and two inputs, and
        if n == 2:       # ``edge_of`` inlined for a tensor with a grad_fn)
            a, b = inputs
            fa = a.grad_fn if a is not None and a._rg else None
            fb = b.grad_fn if b is not None and b._rg else None
            self.next_functions = (
                (fa, a._output_nr) if fa is not None else edge_of(a),
                (fb, b._output_nr) if fb is not None else edge_of(b))
        elif n == 1:
            a = inputs[0]
            fa = a.grad_fn if a is not None and a._rg else None
            self.next_functions = ((fa, a._output_nr) if fa is not None else edge_of(a),)
        else:
            self.next_functions = tuple(map(edge_of, inputs))
        self.sequence_nr = next(_seq)
        self._saved = None
        self._freed = False

    # -- identity -------------------------------------------------------------------
    def name(self) -> str:
        """PyTorch's name for this node, e.g. ``'MulBackward0'``."""
        return self._name or type(self).__name__

    @property
    def uid(self) -> int:
        """A stable counter id (assigned on first use)."""
        if self._uid is None:
            self._uid = next(_uids)
        return self._uid

    def __repr__(self) -> str:
        return f"<{self.name()} object at {hex(id(self))}>"

    @property
    def metadata(self) -> dict:
        return self.__dict__.setdefault("_metadata", {})

    # -- saved tensors --------------------------------------------------------------
    def _unpack_saved(self) -> tuple:
        if self._freed:
            raise RuntimeError(FREED_MSG)
        saved = self._saved
        if saved is None:
            return ()
        return tuple(s.unpack(self) if s is not None else None for s in saved)

    def saved_items(self) -> list[tuple[str, Any]]:
        """``(name, tensor)`` pairs saved for backward; empty when none or freed."""
        if self._freed or not self._saved:
            return []
        return [(s.name, (s.ref() or _rebuild(s, self)) if type(s) is SavedOutput else s.tensor)
                for s in self._saved if s is not None]

    def _release(self) -> None:
        if self._saved is not None:
            self._saved = None
            self._freed = True

    def __dir__(self) -> list[str]:
        saved = self._saved or ()
        return sorted({a for a in super().__dir__() if not a.startswith("_saved_")}
                      | {"_saved_" + s.name for s in saved
                         if s is not None and not isinstance(s, str)})

    # -- hooks ----------------------------------------------------------------------
    def register_hook(self, fn: Callable) -> RemovableHandle:
        """``fn(grad_inputs, grad_outputs)`` runs after this node; may return new grad_inputs."""
        if self._post_hooks is None:
            self._post_hooks = {}
            self._hooked = True
        return add_hook(self._post_hooks, fn)

    def register_prehook(self, fn: Callable) -> RemovableHandle:
        """``fn(grad_outputs)`` runs before this node; may return new grad_outputs."""
        if self._pre_hooks is None:
            self._pre_hooks = {}
            self._hooked = True
        return add_hook(self._pre_hooks, fn)

    def _add_tensor_hook_dict(self, output_nr: int, hooks: dict) -> None:
        if self._tensor_hooks is None:
            self._tensor_hooks = {}
            self._hooked = True
        self._tensor_hooks[output_nr] = hooks

    # -- backward -------------------------------------------------------------------
    def apply(self, grads: list) -> tuple:
        """Gradients for the forward inputs, given gradients for the forward outputs."""
        raise NotImplementedError

    def __call__(self, *grads: Any) -> Any:
        """Run this node's backward by hand, as calling a torch node does:
        ``y.grad_fn(grad)`` gives the gradients for its inputs (a tuple when several)."""
        out = self.apply(list(grads))
        return out[0] if len(out) == 1 else out

    def num_outputs(self) -> int:
        return 1


class AccumulateGrad(Node):
    """The node that adds an incoming gradient into a leaf tensor's ``.grad``."""

    _name = "AccumulateGrad"
    __slots__ = ("variable", "_post_acc", "edge")

    def __init__(self, variable: Any) -> None:
        self._init_edges(())
        self.sequence_nr = _ACC_SEQ
        self.variable = variable
        self._post_acc: dict | None = None  # register_post_accumulate_grad_hook's hooks
        #: The edge ``(self, 0)`` to this node, made once: every op with this leaf as an
        #: input shares it (tuples are immutable) instead of building its own.
        self.edge = (self, 0)

    def apply(self, grads: list) -> tuple:  # the engine calls accumulate() instead
        return ()


class Op(Node):
    """Base of the built-in ops: forward on arrays, backward in Tensor ops.

    A subclass sets ``_name`` (PyTorch's node name), implements ``forward(*arrays, **kw)``
    returning an array, and ``backward(grad)`` returning one gradient (or None) per input.
    Inside ``forward``, ``self.needs`` tells which inputs require grad, and
    ``self.save(...)`` keeps tensors (``self.inputs[i]`` or ``RESULT``) for backward.
    """

    __slots__ = ("needs", "inputs")
    _is_view = False  # output shares memory (and version counter) with input 0
    _differentiable = True
    #: True once ``apply`` has described this class's saved names (``describe_node``) and
    #: found it differentiable: then its nodes skip both checks (set per class).
    _settled = False
    #: This class's own copy of ``ops._core._apply`` (made on first use; set per class).
    _apply: Callable | None = None
    #: A method ``(self, grad) -> tuple | None``: the same gradients as ``backward`` computed
    #: on arrays, used when backward builds no graph (set by ``ops/_fastgrad.py``; returning
    #: None falls back to ``backward``).
    _fast_backward: Callable | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__ or "__new__" in cls.__dict__:
            # ``apply`` makes every node as ``cls()`` (faster than ``object.__new__``) and
            # sets its fields itself; arguments reach the op through ``forward``
            raise TypeError(f"{cls.__name__}: an Op takes its arguments in forward(), not "
                            "in __init__ or __new__")
        cls._settled = False  # (its own flag: a subclass may save other names)
        cls._apply = None  # (never inherited: each class gets its own copy)
        # a subclass with its own forward or backward never inherits a fast formula
        if ("forward" in cls.__dict__ or "backward" in cls.__dict__) \
                and "_fast_backward" not in cls.__dict__:
            cls._fast_backward = None
            cls._fast_arrays = None

    def save(node, /, **named: Any) -> None:  # noqa: N805 - "self" is a saved name
        """Save tensors for backward by name (``self=``, ``other=``, ``result=RESULT``)."""
        if not node.needs:
            return
        lst = node._saved
        if lst is None or type(lst) is tuple or (  # (``is``: ``in`` would call Tensor.__eq__)
                type(lst) is list and any(t is RESULT for t in named.values())):
            lst = node._saved = Pending(lst or ())
        make = SavedTensor.make
        describe(*named)
        for name, t in named.items():
            if t is RESULT:
                lst.append(name)  # a name: ``apply`` puts the output's SavedOutput there
            else:
                lst.append(make(t, name) if t is not None else None)

    def save_pair(self, name_a: str, a: Any, name_b: str, b: Any) -> None:
        """``save(name_a=a, name_b=b)`` for a node that needs grad (the binary ops' hot path:
        no keyword dict)."""
        if name_b not in _DESCRIBED or name_a not in _DESCRIBED:
            describe(name_a, name_b)
        if a is None:
            s = None
        else:
            s = SavedTensor()
            s.tensor, s.version, s.name = a, a._vc.v, name_a
        if b is None:
            s2 = None
        else:
            s2 = SavedTensor()
            s2.tensor, s2.version, s2.name = b, b._vc.v, name_b
        lst = self._saved
        if lst is None:
            self._saved = [s, s2]
        else:
            if type(lst) is tuple:  # (RESULT_ONLY)
                lst = self._saved = Pending(lst)
            lst += (s, s2)

    def save_result(self) -> None:
        """``save(result=RESULT)``: keep the op's own output (as ``SavedOutput``)."""
        if self.needs:
            lst = self._saved
            if lst is None:
                self._saved = RESULT_ONLY  # (most such ops save nothing else: no list)
            else:
                lst = self._saved = Pending(lst)
                lst.append("result")

    def saved(self) -> tuple:
        """The saved tensors in save order (raises after they were freed or modified)."""
        return self._unpack_saved()

    def apply(self, grads: list) -> tuple:
        g = grads[0]
        if g is None:
            return (None,) * len(self.next_functions)
        fast = self._fast_backward
        if fast is not None and not _grad_state.enabled:
            out = fast(g)
            if out is not None:
                return out
        out = self.backward(g)
        return out if isinstance(out, tuple) else (out,)

    def backward(self, grad: Any) -> Any:
        raise NotImplementedError


# ------------------------------------------------------------------------ user Functions
class FunctionCtx:
    """The ``ctx`` object handed to a custom Function's forward and backward."""

    def __init__(self) -> None:
        self.to_save: tuple = ()
        self.needs_input_grad: tuple = ()
        self.non_differentiable: tuple = ()
        self.dirty: tuple = ()
        self.materialize_grads = True
        self._node: BackwardCFunction | None = None

    def save_for_backward(self, *tensors: Any) -> None:
        """Keep tensors (inputs or outputs) for backward; read them as ``ctx.saved_tensors``."""
        from ..tensor import Tensor
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward can only save variables, but argument {i} "
                                f"is of type {type(t).__name__}")
        self.to_save = tensors

    def save_for_forward(self, *tensors: Any) -> None:
        self.to_save = tensors

    def mark_non_differentiable(self, *tensors: Any) -> None:
        """Outputs that never require grad (e.g. indices)."""
        self.non_differentiable = tensors

    def mark_dirty(self, *tensors: Any) -> None:
        """Inputs that forward modified in place."""
        self.dirty = tensors

    def set_materialize_grads(self, value: bool) -> None:
        """With False, backward may receive None for outputs that got no gradient."""
        self.materialize_grads = value

    @property
    def saved_tensors(self) -> tuple:
        node = self._node
        if node is None:
            return tuple(self.to_save)
        return node._unpack_saved()


class BackwardCFunction(Node):
    """The node for one call of a custom ``Function`` (named ``<Name>Backward``)."""

    __slots__ = ("ctx", "fn_cls", "n_out", "input_meta")

    def name(self) -> str:
        return type(self).__name__

    def num_outputs(self) -> int:
        return self.n_out

    def apply(self, *args: Any) -> tuple:
        """Engine: ``apply([grads])``; by hand, as in torch: ``grad_fn.apply(grad, ...)``."""
        from ..tensor import Tensor  # local: function.py must not import tensor at load time
        grads = args[0] if len(args) == 1 and isinstance(args[0], list) else list(args)
        if self.ctx.materialize_grads:
            grads = [g if g is not None else Tensor._zeros_like_meta(m)
                     for g, m in zip(grads, self._out_meta)]
        out = self.fn_cls.backward(self.ctx, *grads)
        if not isinstance(out, tuple):
            out = (out,)
        n_in = len(self.next_functions)
        if len(out) < n_in or (len(out) > n_in and any(x is not None for x in out[n_in:])):
            raise RuntimeError(
                f"function {self.name()} returned an incorrect number of gradients "
                f"(expected {n_in}, got {len(out)})")
        out = out[:n_in]
        res = []
        for i, (g, meta) in enumerate(zip(out, self.input_meta)):
            if g is None or meta is None:
                res.append(None)
                continue
            if not isinstance(g, Tensor):
                raise TypeError(f"function {self.name()} returned a gradient that is not a "
                                f"Tensor at index {i}: {type(g).__name__}")
            if tuple(g.shape) != meta[0]:
                try:
                    g = g._sum_to(meta[0])
                except Exception:  # noqa: BLE001
                    raise RuntimeError(
                        f"Function {self.name()} returned an invalid gradient at index {i} - "
                        f"got {list(g.shape)} but expected shape compatible with "
                        f"{list(meta[0])}") from None
            if g.dtype is not meta[1]:
                g = g.to(meta[1])
            res.append(g)
        return tuple(res)


class FunctionMeta(type):
    """Gives each Function subclass its own node class, named ``<Name>Backward`` as in torch."""

    def __init__(cls, name: str, bases: tuple, ns: dict) -> None:
        super().__init__(name, bases, ns)
        cls._backward_cls = type(name + "Backward", (BackwardCFunction,), {"__slots__": ()})


class Function(metaclass=FunctionMeta):
    """Base for custom differentiable operations, with PyTorch's contract::

        class Line(Function):
            @staticmethod
            def forward(ctx, w, x, b):
                ctx.save_for_backward(w, x)
                return w * x + b

            @staticmethod
            def backward(ctx, grad_out):
                w, x = ctx.saved_tensors
                return grad_out * x, grad_out * w, grad_out

        out = Line.apply(w, x, b)
    """

    @staticmethod
    def forward(ctx: FunctionCtx, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("You must implement the forward function for custom "
                                  "autograd.Function.")

    @staticmethod
    def backward(ctx: FunctionCtx, *grad_outputs: Any) -> Any:
        raise NotImplementedError("You must implement either the backward or vjp method for "
                                  "your custom autograd.Function to use it with backward "
                                  "mode AD.")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        """Run ``forward`` without recording, then attach one node for the whole call."""
        from ..tensor import Tensor
        ctx = FunctionCtx()
        tensor_args = [a for a in args if isinstance(a, Tensor)]
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        track = grad_mode._state.enabled and any(ctx.needs_input_grad)
        listening = events.enabled
        events.enabled = False  # the ops inside forward are not part of the graph
        try:
            with grad_mode.no_grad():
                out = cls.forward(ctx, *args, **kwargs)
        finally:
            events.enabled = listening
        single = not isinstance(out, tuple)
        outs = (out,) if single else out
        if not track:
            if events.enabled:
                events.emit("op_untracked", name=cls.__name__, inputs=tuple(tensor_args),
                            outputs=tuple(o for o in outs if isinstance(o, Tensor)))
            return out
        node = cls._backward_cls()
        node._init_edges(tuple(a if isinstance(a, Tensor) else None for a in args))
        node.ctx = ctx
        node.fn_cls = cls
        node.input_meta = tuple((tuple(a.shape), a.dtype) if isinstance(a, Tensor) else None
                                for a in args)
        ctx._node = node
        new_outs = []
        nondiff = {id(t) for t in ctx.non_differentiable}
        dirty = {id(t) for t in ctx.dirty}
        input_ids = {id(a) for a in tensor_args}
        for i, o in enumerate(outs):
            if not isinstance(o, Tensor):
                new_outs.append(o)
                continue
            if id(o) in input_ids and id(o) not in dirty:
                o = o.view_as(o) if o.requires_grad else o.detach()  # an input passed through
            elif id(o) not in dirty:
                o = o.detach() if o.grad_fn is not None or o.requires_grad else o
            if id(o) in nondiff or not o.dtype.is_floating_point:
                o.requires_grad = False
            else:
                o._set_grad_fn(node, i)
            new_outs.append(o)
        node.n_out = len(outs)
        node._out_meta = [(tuple(o.shape), o.dtype, o.device) if isinstance(o, Tensor)
                          else ((), None, None) for o in new_outs]
        if ctx.to_save:
            node._saved = [SavedTensor.make(t, f"saved_{k}") if t is not None else None
                           for k, t in enumerate(ctx.to_save)]
            describe(*(s.name for s in node._saved if s is not None))
        if events.enabled:
            events.node_created(node, tuple(tensor_args),
                                tuple(o for o in new_outs if isinstance(o, Tensor)))
        return new_outs[0] if single else tuple(new_outs)


class once_differentiable:  # noqa: N801
    """Decorator kept for torch code; backward runs without building a graph."""

    def __new__(cls, fn: Callable) -> Callable:  # type: ignore[misc]
        def wrapper(ctx: Any, *args: Any) -> Any:
            with grad_mode.no_grad():
                return fn(ctx, *args)
        return wrapper


describe("result")  # (save_result's name)
