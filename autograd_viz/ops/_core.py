"""How every built-in op runs: promote dtypes, compute on arrays, build one node when grad
is needed, write in place or into ``out=``; plus the one ``sum_to`` used for every
broadcast in backward.
"""
from __future__ import annotations

import types
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import _backend as B
from ..autograd import events, grad_mode
from ..autograd.function import (
    _DESCRIBED_CLASSES,
    RESULT_ONLY,
    Pending,
    SavedOutput,
    SavedTensor,
    _seq,
    describe_node,
    edge_of,
)
from ..tensor import Tensor
from ._inplace import (
    check_overlap,
    check_partial_overlap,
    mark_multi_output,
    rebase,
    register_view,
)

_state = grad_mode._state
_next_seq = _seq.__next__
_wrap = Tensor._wrap
_NO_EDGE = (None, 0)  # the edge to an input that needs no grad (tuples are immutable: shared)
_BOTH = (True, True)  # ``needs`` of a binary op whose two inputs require grad (shared)
SCALARS = (int, float, bool, np.number, np.bool_)


def register(*names: str):
    """Attach a function to Tensor under the given method names."""
    def deco(fn):
        for n in names:
            setattr(Tensor, n, fn)
        return fn
    return deco


def scalar_tensor(value: Any, dt: B.dtype, like: Tensor) -> Tensor:
    """A constant 0-d tensor for a Python scalar operand."""
    xp = B.get_array_module(like._data)
    return _wrap(xp.asarray(value, dtype=dt.np))


def as_tensor(x: Any, like: Tensor | None = None) -> Tensor:
    """Tensors pass through; scalars, lists and arrays become constant tensors."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, SCALARS):
        dt = B.result_type(x)
        if like is not None:
            return scalar_tensor(x, dt, like)
        return _wrap(np.asarray(x, dtype=dt.np))
    from .creation import tensor
    return tensor(x, device=like.device if like is not None else None)


def check_broadcast(a: Tensor, b: Tensor) -> None:
    """PyTorch's error for shapes that do not broadcast (NumPy's would be a ValueError)."""
    sa, sb = a._data.shape, b._data.shape
    if sa == sb:
        return
    la, lb = len(sa), len(sb)
    if sa[la - lb:] == sb if lb <= la else sb[lb - la:] == sa:
        return  # (one shape ends with the other: a bias, a row; no loop)
    n = max(la, lb)
    for k in range(1, n + 1):
        x = sa[-k] if k <= len(sa) else 1
        y = sb[-k] if k <= len(sb) else 1
        if x != y and x != 1 and y != 1:
            raise RuntimeError(f"The size of tensor a ({x}) must match the size of tensor b "
                               f"({y}) at non-singleton dimension {n - k}")


def promote(a: Any, b: Any) -> tuple[Tensor, Tensor]:
    """Two operands as tensors of PyTorch's common dtype (Python scalars don't widen)."""
    if type(a) is Tensor and type(b) is Tensor or (isinstance(a, Tensor)
                                                   and isinstance(b, Tensor)):
        if a._data.shape != b._data.shape:
            check_broadcast(a, b)
        if type(a._data) is not type(b._data):
            return _cross_device(a, b)
        if a._data.dtype is b._data.dtype or a._data.dtype == b._data.dtype:
            return a, b
        dt = B.result_type(a, b)
        return _cast_const(a, dt), _cast_const(b, dt)
    if isinstance(a, Tensor):
        if not isinstance(b, SCALARS):
            b = as_tensor(b, a)
            return promote(a, b)
        dt = B.result_type(a, b)
        return _cast_const(a, dt), scalar_tensor(b, dt, a)
    if isinstance(b, Tensor):
        if not isinstance(a, SCALARS):
            return promote(as_tensor(a, b), b)
        dt = B.result_type(a, b)
        return scalar_tensor(a, dt, b), _cast_const(b, dt)
    return promote(as_tensor(a), b)


def _check_device(a: Tensor, b: Tensor) -> None:
    if type(a._data) is not type(b._data) and (a._data.ndim and b._data.ndim):
        raise RuntimeError(f"Expected all tensors to be on the same device, but found at "
                           f"least two devices, {a.device} and {b.device}!")


def _cross_device(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """Operands on two devices: torch lets a zero-dim tensor join another device's op (it
    acts as a scalar; its gradient comes back on its own device); any other pair is an
    error."""
    _check_device(a, b)
    dt = B.result_type(a, b)
    if a._data.ndim == 0 and (b._data.ndim or a.device.type == "cpu"):
        return _cast_const(a, dt, b.device), _cast_const(b, dt)
    return _cast_const(a, dt), _cast_const(b, dt, a.device)


def _cast_const(t: Tensor, dt: B.dtype, dev: B.device | None = None) -> Tensor:
    if t._data.dtype == dt.np and dev is None:
        return t
    if t._rg and _state.enabled and dt.is_floating_point:
        return CastProxy.of(t, dt, dev)
    from .shape import to_dtype
    if dev is not None:
        return t.to(device=dev, dtype=dt)
    return to_dtype(t, dt, promotion=True)


class CastProxy(Tensor):
    """``t`` promoted to another floating dtype for one op, without a node of its own: it
    stands at ``t``'s place in the graph (same edge, same version counter), and the op's
    node casts the gradient back to ``t``'s dtype, as PyTorch's ops promote internally
    (``f32 * f64`` is one ``MulBackward0`` whose edges are the two inputs)."""

    __slots__ = ()

    @staticmethod
    def of(t: Tensor, dt: B.dtype, dev: B.device | None = None) -> Tensor:
        data = t._data.astype(dt.np, copy=False)
        p = CastProxy._wrap(data if dev is None else B.move(data, dev), True)
        p.grad_fn = t.grad_fn
        p._output_nr = t._output_nr
        p._vc = t._vc  # in-place writes to t invalidate what the op saved
        p._acc = t._accumulator() if t.grad_fn is None else None
        p.__dict__["_cast_from"] = (t._data.dtype, None if dev is None else t.device)
        p.__dict__["_cast_of"] = t
        if "_nograd_view" in t.__dict__:
            p.__dict__["_nograd_view"] = True
        return p


def _originals(inputs: tuple) -> tuple:
    """The op's inputs as the user passed them (a CastProxy reports its tensor)."""
    for t in inputs:
        if type(t) is CastProxy:
            return tuple(t.__dict__["_cast_of"] if type(t) is CastProxy else t for t in inputs)
    return inputs


_CASTBACK: dict = {}


def _castback(node: Any, inputs: tuple) -> None:
    """Give ``node`` (whose inputs include CastProxy) a class that casts its input grads
    back to the dtypes the inputs had before promotion."""
    cls = type(node)
    sub = _CASTBACK.get(cls)
    if sub is None:
        def apply(self, grads, _base_apply=cls.apply):
            out = _base_apply(self, grads)
            return tuple(g if g is None or was is None or (g._data.dtype == was[0]
                                                           and was[1] is None)
                         else g.to(device=was[1], dtype=B.from_np(was[0]))
                         for g, was in zip(out, self._in_dts))
        sub = _CASTBACK[cls] = type(cls.__name__, (cls,), {
            "__slots__": (), "apply": apply, "_name": cls._name or cls.__name__,
            "_fast_backward": None, "_fast_arrays": None})
    node.__class__ = sub
    node._in_dts = tuple(t.__dict__["_cast_from"] if type(t) is CastProxy else None
                         for t in inputs)


def sum_to(g: Tensor, shape: Sequence[int], dt: Any = None) -> Tensor:
    """Sum a broadcast gradient back to ``shape`` (and cast it to ``dt``): MyGrad's
    unbroadcast, the one helper every broadcasting op's backward uses."""
    gshape = g._data.shape
    shape = tuple(shape)
    if gshape != shape:
        lead = len(gshape) - len(shape)
        axes = tuple(range(lead)) + tuple(
            i + lead for i, s in enumerate(shape) if s == 1 and gshape[i + lead] != 1)
        if axes:
            g = g.sum(dim=axes, keepdim=True)
        if lead or g._data.shape != shape:
            g = g.reshape(shape)
    if dt is not None and g._data.dtype != dt:
        g = g.to(B.from_np(dt))
    return g


def grad_for(g: Tensor, inp: Tensor) -> Tensor:
    """``g`` reduced to ``inp``'s shape and dtype."""
    return sum_to(g, inp._data.shape, inp._data.dtype)


def apply(cls: type, inputs: tuple, out: Tensor | None = None, **kw: Any) -> Tensor:
    """Run op ``cls`` on ``inputs`` (tensors) and record a node when grad is needed."""
    f = cls._apply
    if f is None:
        f = _own_apply(cls)
    return f(cls, inputs, out, kw)


#: The ``kw`` of a call without keyword arguments (see ``runner``).
NOKW: Any = types.MappingProxyType({})


def runner(cls: type) -> Any:
    """Op ``cls``'s own copy of ``apply``, for a caller that always runs this one op:
    ``runner(MulBackward0)(MulBackward0, (a, b), out, kw)`` is
    ``apply(MulBackward0, (a, b), out=out, **kw)`` without the shared entry point (whose
    call of the class's copy changes target with every op: see ``_own_apply``)."""
    f = cls._apply
    return f if f is not None else _own_apply(cls)


def _own_apply(cls: type) -> Any:
    """``_apply`` with a code object of its own for op ``cls``, kept on the class.

    CPython (3.11+) specialises each attribute read and write of a code object for the one
    type it meets there, and falls back to the generic lookup when types alternate. One
    shared ``_apply`` sets and reads about ten fields of a node whose class changes with
    every op of a chain (``MulBackward0``, ``AddBackward0``, ...), so every one of those
    accesses took the slow path. Each op class runs its own copy instead (same bytecode;
    tracebacks name it ``apply_MulBackward0``): with ``runner``, ~2 k instructions less per
    op of a chain with grad on (benchmarks/OPTIMISATIONS.md, 42)."""
    code = _apply.__code__.replace(co_name="apply_" + cls.__name__)
    f = cls._apply = types.FunctionType(code, _apply.__globals__, code.co_name)
    return f


def _apply(cls: type, inputs: tuple, out: Tensor | None, kw: dict) -> Tensor:
    """``apply``'s work (each op class runs its own copy: see ``_own_apply``)."""
    node = cls()  # (ops have no __init__: see Op.__init_subclass__)
    track = False
    if _state.enabled:
        for t in inputs:
            if t._rg:
                track = True
                break
    n = len(inputs)
    proxied = False
    if track:  # (``Node._init_edges`` inlined for one and two inputs: most ops)
        if n == 2:
            a, b = inputs
            ra, rb = a._rg, b._rg
            node.needs = _BOTH if ra and rb else (ra, rb)
            proxied = type(a) is CastProxy or type(b) is CastProxy
            if ra:
                f = a.grad_fn
                if f is not None:
                    ea = (f, a._output_nr)
                else:
                    f = a._acc  # (a leaf with its AccumulateGrad made: its shared edge)
                    ea = f.edge if f is not None else edge_of(a)
            else:
                ea = _NO_EDGE
            if rb:
                f = b.grad_fn
                if f is not None:
                    eb = (f, b._output_nr)
                else:
                    f = b._acc
                    eb = f.edge if f is not None else edge_of(b)
            else:
                eb = _NO_EDGE
            node.next_functions = (ea, eb)
            node.sequence_nr = _next_seq()
            node._saved = None
            node._freed = False
        elif n == 1:
            a = inputs[0]
            node.needs = (True,)  # (tracked: its one input requires grad)
            proxied = type(a) is CastProxy
            f = a.grad_fn
            node.next_functions = ((f, a._output_nr) if f is not None else edge_of(a),)
            node.sequence_nr = _next_seq()
            node._saved = None
            node._freed = False
        else:
            node.needs = tuple([t._rg for t in inputs])
            proxied = any(type(t) is CastProxy for t in inputs)
            node._init_edges(inputs)  # (edges and sequence_nr before forward, as torch)
        if proxied:
            _castback(node, inputs)
    else:
        node.needs = ()
    node.inputs = inputs  # (unrolled for one and two inputs: this is every op's hot path,
    if n == 2:            # and a call with **kw costs three times one without)
        data = node.forward(inputs[0]._data, inputs[1]._data, **kw) if kw else \
            node.forward(inputs[0]._data, inputs[1]._data)
    elif n == 1:
        data = node.forward(inputs[0]._data, **kw) if kw else node.forward(inputs[0]._data)
    else:
        data = node.forward(*[t._data for t in inputs], **kw)
    node.inputs = None
    if isinstance(data, np.generic):  # NumPy reductions give scalars: keep 0-d arrays
        data = np.asarray(data)
    if out is None:
        res = _wrap(data)
        if cls._is_view:
            src = inputs[0]
            res._vc = src._vc
            res._base = root = src._base if src._base is not None else src
            if _state.enabled:
                register_view(root, res)
                multi = src.__dict__.get("_multi_view")
                if multi is not None:  # a view of a split() output inherits its restriction
                    res.__dict__["_multi_view"] = ((cls._name or cls.__name__).replace(
                        "Backward0", ""), 0)
            elif root._rg or "_nograd_view" in src.__dict__:
                # as torch: it requires grad (its base does) but has no edge to the base (ops
                # on it lead nowhere), and writing it in place with grad mode on is refused
                res.__dict__["_nograd_view"] = True
                res._rg = True
    else:
        check_out_dtype(out, data.dtype, getattr(cls, "_out_rule", None))
        res = _write_out(out, data, track, cls)
    if track:
        saved = node._saved  # (forward's save() filled it)
        if saved is not None:
            if saved is RESULT_ONLY:  # (the output alone: tanh, exp, sigmoid, relu, ...)
                node._saved = [SavedOutput.of(res, "result")]
            elif type(saved) is Pending:  # (names where the output goes: see Op.save)
                node._saved = [SavedOutput.of(res, s) if type(s) is str else s for s in saved]
            elif not saved:
                node._saved = None
        if not cls._settled:  # (the first tracked node of its class, or no gradient)
            if type(node) not in _DESCRIBED_CLASSES:
                describe_node(node)
            if cls._differentiable:
                cls._settled = True
            else:
                node = None
        if node is not None:
            res._rg = True
            res.grad_fn = node  # (a new result's ``_output_nr`` is 0 already)
            if out is not None:
                res._output_nr = 0
                if out._base is not None and out._base._rg:
                    raise RuntimeError(
                        "autograd_viz does not support an in-place operation on a view whose "
                        "base is part of the autograd graph; write to the base tensor, or "
                        ".clone() the view first.")
    if events.enabled:
        if track and node is not None:
            events.node_created(node, _originals(inputs) if proxied else inputs, (res,))
        else:
            events.emit("op_untracked", name=cls._name or cls.__name__, inputs=inputs,
                        outputs=(res,))
    return res


def apply_multi(cls: type, inputs: tuple, **kw: Any) -> tuple:
    """Like ``apply`` for ops with several outputs (``forward`` returns a tuple)."""
    track = _state.enabled and any(t._rg for t in inputs)
    node = cls()
    node.needs = tuple(t._rg for t in inputs) if track else ()
    node._saved = None
    node.inputs = inputs
    datas = node.forward(*[t._data for t in inputs], **kw)
    node.inputs = None
    outs = tuple(_wrap(np.asarray(d) if isinstance(d, np.generic) else d) for d in datas)
    diff = getattr(node, "diff_outputs", None)
    if cls._is_view:
        src = inputs[0]
        root = src._base if src._base is not None else src
        name = (cls._name or cls.__name__).replace("Backward0", "")
        for k, o in enumerate(outs):
            o._vc = src._vc
            o._base = root
            if _state.enabled:
                register_view(root, o)
                mark_multi_output(o, name, k)
    if track:
        saved = node._saved
        node._init_edges(inputs)
        node.n_outputs = len(outs)
        if saved:
            node._saved = [SavedTensor.make(outs[0], s) if type(s) is str else s for s in saved]
        if type(node) not in _DESCRIBED_CLASSES:
            describe_node(node)
        for i, o in enumerate(outs):
            if diff is None or diff[i]:
                o._rg = True
                o.grad_fn = node
                o._output_nr = i
    if events.enabled:
        if track:
            events.node_created(node, inputs, outs)
        else:
            events.emit("op_untracked", name=cls._name or cls.__name__, inputs=inputs,
                        outputs=outs)
    return outs


def _write_out(out: Tensor, data: Any, track: bool, cls: type) -> Tensor:
    """Write ``data`` into ``out`` (in place or ``out=``), keeping its memory and views."""
    if out._data.shape != data.shape:
        if out._base is not None or out is None:
            raise RuntimeError(f"output with shape {list(out.shape)} doesn't match the "
                               f"broadcast shape {list(data.shape)}")
        out._data = data.astype(out._data.dtype, copy=False)
    else:
        B.get_array_module(out._data).copyto(out._data, data, casting="unsafe")
    out._vc.v += 1
    return out


def check_out_dtype(out: Tensor, result_dt: Any, rule: str | None) -> None:
    """PyTorch's dtype rules for ``out=``: by default the result must be castable without
    going down a category (float -> int); some kernels want the exact dtype."""
    od, rd = out.dtype, B.from_np(result_dt)
    if od is rd:
        return
    if rule == "any":
        return
    if rule == "mm":
        names = {"float32": "float", "float64": "double", "float16": "c10::Half",
                 "int64": "long int", "int32": "int"}
        raise RuntimeError(f"Expected out tensor to have dtype {names.get(rd.name, rd.name)}, "
                           f"but got {names.get(od.name, od.name)} instead")
    if rule == "exact":
        raise RuntimeError(f"Found dtype {_pretty(od)} but expected {_pretty(rd)}")
    if rd._cat > od._cat:
        if rule == "cat":
            raise TypeError(f"torch.cat(): input types can't be cast to the desired output "
                            f"type {_pretty(od)}")
        raise RuntimeError(f"result type {_pretty(rd)} can't be cast to the desired output "
                           f"type {_pretty(od)}")


NOGRAD_VIEW_MSG = (
    "A view was created in no_grad mode and is being modified inplace with grad mode enabled. "
    "Given that this use case is ambiguous and error-prone, it is forbidden. You can clarify "
    "your code by moving both the view and the inplace either both inside the no_grad block "
    "(if you don't want the inplace to be tracked) or both outside (if you want the inplace "
    "to be tracked).")


def check_inplace(self: Tensor, result_dt: Any = None) -> None:
    """PyTorch's checks before an in-place op on ``self``."""
    if _state.enabled and "_nograd_view" in self.__dict__:
        raise RuntimeError(NOGRAD_VIEW_MSG)
    if _state.enabled and self._rg:
        base = self._base
        if base is not None and base._rg and base.grad_fn is None:
            raise RuntimeError("a view of a leaf Variable that requires grad is being used in "
                               "an in-place operation.")
        if self.grad_fn is None:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                               "operation.")
    if result_dt is not None:
        sd = self.dtype
        rd = B.from_np(result_dt)
        if rd._cat > sd._cat:
            raise RuntimeError(f"result type {_pretty(rd)} can't be cast to the desired output "
                               f"type {_pretty(sd)}")


def _pretty(d: B.dtype) -> str:
    return {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
            "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
            "bool": "Bool"}[d.name]


def not_implemented(kernel: str, dt: B.dtype) -> NotImplementedError:
    """PyTorch's error for a kernel that has no implementation for a dtype."""
    return NotImplementedError(f'"{kernel}" not implemented for \'{_pretty(dt)}\'')


def require_tensor(fn: str, arg: str, pos: int, x: Any) -> None:
    """PyTorch's TypeError for a non-Tensor where only a Tensor is accepted."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument '{arg}' (position {pos}) must be Tensor, not "
                        f"{type(x).__name__}")


def check_out(out: Tensor, inputs: tuple, name: str) -> None:
    if _state.enabled and (out._rg or any(t._rg for t in inputs)):
        raise RuntimeError(f"{name}(): functions with out=... arguments don't support "
                           "automatic differentiation, but one of the arguments requires grad.")


#: In-place arithmetic done by one NumPy ufunc writing into ``self`` (see ``_ufunc_inplace``).
_INPLACE_UFUNCS = {"add_": np.add, "sub_": np.subtract, "subtract_": np.subtract,
                   "mul_": np.multiply, "multiply_": np.multiply, "div_": np.true_divide,
                   "divide_": np.true_divide, "true_divide_": np.true_divide}


def _ufunc_inplace(ufunc: Any, self: Tensor, args: tuple, kwargs: dict) -> bool:
    """``x.add_(y, alpha=a)`` and friends without grad: write ``x (op) a*y`` straight into x's
    memory, the same arithmetic as the out-of-place op followed by the copy (one pass instead
    of three, no temporaries). Only the plain case (float NumPy or CuPy arrays, an operand of
    x's dtype and shape or a Python number, no listener); returns False to take the general
    path."""
    sd = self._data
    cls = type(sd)
    if sd.dtype.kind != "f" or len(args) != 1 or events.enabled or not (
            sd.flags.writeable if cls is np.ndarray else cls is B.cupy_ndarray()):
        return False
    alpha = 1
    if kwargs:
        if len(kwargs) != 1 or "alpha" not in kwargs or ufunc not in (np.add, np.subtract):
            return False
        alpha = kwargs["alpha"]
        if type(alpha) not in (int, float):
            return False
    other = args[0]
    if type(other) is Tensor:
        od = other._data
        if type(od) is not cls or od.dtype != sd.dtype or od.shape != sd.shape:
            return False
    elif type(other) in (int, float):
        od = np.asarray(other, dtype=sd.dtype) if cls is np.ndarray else sd.dtype.type(other)
    else:
        return False
    if alpha == 1:
        ufunc(sd, od, out=sd)
    elif cls is np.ndarray or od.ndim == 0:
        ufunc(sd, alpha * od, out=sd)
    else:  # CuPy: ``x ± alpha * g`` as one kernel
        from . import _cupy_fused
        _cupy_fused.inplace_scaled(sd, od, alpha, ufunc is np.subtract)
    self._vc.v += 1
    return True


def inplace(method_name: str, fn: Any) -> Any:
    """Make ``x.<op>_(...)`` from the out-of-place ``fn(x, ...)``."""
    ufunc = _INPLACE_UFUNCS.get(method_name)
    overlap_check = method_name != "masked_fill_"  # torch lets masked_fill_ write expanded

    def method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        check_inplace(self)
        if overlap_check:
            check_overlap(self)
        if args:
            check_partial_overlap(self, args)
        if not (_state.enabled and (self._rg or _any_rg(args, kwargs))):
            if ufunc is not None and _ufunc_inplace(ufunc, self, args, kwargs):
                return self
            with grad_mode.no_grad():
                r = fn(self, *args, **kwargs)
            check_inplace(self, r._data.dtype)
            if r._data.shape != self._data.shape and np.broadcast_shapes(
                    r._data.shape, self._data.shape) != self._data.shape:
                raise RuntimeError(f"output with shape {list(self.shape)} doesn't match the "
                                   f"broadcast shape {list(r.shape)}")
            _write_out(self, np.broadcast_to(r._data, self._data.shape)
                       if r._data.shape != self._data.shape else r._data, False, None)
            if events.enabled:
                events.emit("op_untracked", name=method_name, inputs=(self,), outputs=(self,))
            return self
        # like PyTorch, the op sees the value self had before the write (a saved "self"
        # must not trip the version check), while self itself is still passed as "other"
        r = fn(_pre_write_alias(self), *args, **kwargs)
        check_inplace(self, r._data.dtype)
        if r._data.shape != self._data.shape:
            raise RuntimeError(f"output with shape {list(self.shape)} doesn't match the "
                               f"broadcast shape {list(r.shape)}")
        return rebase(self, r)  # views of self / self as a view: see _inplace.py
    method.__name__ = method_name
    method.__doc__ = f"In-place version of ``{method_name[:-1]}``."
    return method


def _pre_write_alias(self: Tensor) -> Tensor:
    """A copy of ``self``'s current value at the same place in the graph (also when self
    needs no grad: the op may save it for another input's gradient, e.g. ``c.mul_(x)``)."""
    alias = _wrap(self._data.copy())
    if self._rg:
        alias._rg = True
        alias.grad_fn = self.grad_fn
        alias._output_nr = self._output_nr
    return alias


def _any_rg(args: tuple, kwargs: dict) -> bool:
    return any(isinstance(a, Tensor) and a._rg for a in (*args, *kwargs.values()))
