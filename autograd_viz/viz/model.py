"""The graph model: plain dataclasses that describe one autograd graph and its history.

Nothing here holds an array or a live engine object: values are kept as :class:`Preview`
objects (small tensors in full, larger ones as summary statistics), and every reference is a
graph-local id (``"t0"``, ``"op3"``, ``"run1"``) assigned in a deterministic order, so that
running the same code twice gives an identical model (and identical JSON).
"""
from __future__ import annotations

import json
import math
import types
import typing
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

#: Tensor roles, in the order the legend lists them.
ROLES = ("leaf", "constant", "intermediate")


@dataclass
class Stats:
    """Summary statistics of a tensor's values (computed in float64)."""

    min: float
    max: float
    mean: float
    std: float


@dataclass
class Hist:
    """A histogram of a tensor's finite values: ``counts[i]`` values fell in
    ``[edges[i], edges[i + 1])`` (the last bin includes its right edge); equal-width bins
    from the smallest to the largest finite value (widened by 0.5 each way when all are
    equal). ``sum(counts)`` is the number of values counted (NaN and infinities are not)."""

    counts: list[int]
    edges: list[float]

    @classmethod
    def binned(cls, counts: Any, lo: float, hi: float, scale: float = 1.0) -> Hist:
        """The histogram of ``len(counts)`` equal bins from ``lo`` to ``hi``, its lists made
        when first read (as a lazy :class:`Preview`'s text: a recorded training loop holds
        thousands of histograms, of which a person looks at a few). ``counts``: a sequence of
        ints (a NumPy row); the edges are ``np.linspace(lo, hi, len(counts) + 1)`` in its own
        order of operations (``i * step + lo``, the last edge ``hi``), each times ``scale``."""
        h = cls.__new__(cls)
        h._lazy = (counts, lo, hi, scale)  # (an attribute: reading __dict__ would make one)
        return h

    @property
    def total(self) -> int:
        """Number of values counted."""
        return sum(self.counts)

    def __getattr__(self, name: str) -> Any:
        # (only called for a missing attribute: a lazy histogram's lists)
        if name in ("counts", "edges") and _fill(self):
            return _get(self, name)
        raise AttributeError(f"'Hist' object has no attribute '{name}'")

    def __getstate__(self) -> dict[str, Any]:
        return _state(self)


@dataclass
class Preview:
    """A copy of a tensor's values taken when the recorder heard of it.

    ``values`` holds the data as nested lists when the tensor is small (``None`` otherwise);
    ``stats`` summarises it and ``hist`` is its histogram (both for tensors too large to keep
    in full, computed from every value when the copy was taken); ``text`` is a short rendering
    formatted like torch prints (``"tensor([8.])"``), summarised with ``...`` for large tensors.

    A recorder's previews are formatted when first read: until then ``text`` is missing from
    the instance, and ``_lazy`` holds the arguments of :attr:`format_lazy`, which makes it.
    A recorded training loop holds thousands of previews of which a person reads a few;
    equality, ``repr``, pickling and JSON read them as usual, which formats them.
    """

    #: ``format_lazy(*preview._lazy)`` is a lazy preview's text (set where lazy previews are
    #: made, :mod:`autograd_viz.viz.preview`: a plain tuple of arguments, unlike a bound
    #: method or a function in the tuple, is not an object the collector has to track).
    format_lazy: typing.ClassVar[Any] = None

    shape: list[int]
    dtype: str
    text: str
    values: Any = None
    stats: Stats | None = None
    hist: Hist | None = None

    @property
    def numel(self) -> int:
        """Number of elements of the tensor the preview was taken from."""
        return math.prod(self.shape)

    def __getattr__(self, name: str) -> Any:
        # (only called for a missing attribute: a lazy preview's text)
        if name == "text" and _fill(self):
            return _get(self, name)
        raise AttributeError(f"'Preview' object has no attribute '{name}'")

    def __getstate__(self) -> dict[str, Any]:
        return _state(self)


_get = object.__getattribute__


def _fill(p: Preview | Hist) -> bool:
    """Make a lazy preview's text or a lazy histogram's lists, and drop their source (False
    where there is none: filled already, or never lazy).

    The attributes are set without reading the instance's ``__dict__``: on CPython 3.11+
    that would turn the inline attribute values into a dict of their own (a few hundred
    bytes, and one more object for the collector, per preview of a recording)."""
    try:
        src = _get(p, "_lazy")
    except AttributeError:
        return False
    if type(p) is Hist:
        counts, lo, hi, scale = src
        n = len(counts)
        step = (hi - lo) / n
        edges = [i * step + lo for i in range(n)] + [hi]
        as_list = getattr(counts, "tolist", None)  # (a NumPy row gives Python ints)
        p.counts = as_list() if as_list else [int(c) for c in counts]
        p.edges = edges if scale == 1.0 else [scale * x for x in edges]
    else:
        rest = p.values, p.stats, p.hist
        del p.values, p.stats, p.hist  # (set again after text: the fields' order)
        p.text = Preview.format_lazy(*src)
        p.values, p.stats, p.hist = rest
    del p._lazy
    return True


def _state(obj: Any) -> dict[str, Any]:
    """A dataclass instance's fields (a lazy preview or histogram filled first)."""
    _fill(obj)
    return obj.__dict__


@dataclass
class SavedRef:
    """A tensor saved by an op for its backward (``name`` as torch calls it: "self", "other",
    "result", ...)."""

    name: str
    tensor: str | None


@dataclass
class TensorNode:
    """One tensor (one version of it, when it was modified in place).

    ``role`` is "leaf" (a leaf that requires grad), "constant" (does not require grad) or
    "intermediate" (made by a tracked op). ``is_output`` marks backward roots and results that
    no tracked op consumed. ``grad`` is the last ``.grad`` seen (or retained), ``grad_note``
    says why it is None where torch would give None.
    """

    id: str
    name: str | None
    shape: list[int]
    dtype: str
    device: str
    requires_grad: bool
    is_leaf: bool
    role: str
    is_output: bool = False
    grad_fn: str | None = None
    output_nr: int = 0
    retains_grad: bool = False
    hooks: int = 0
    value: Preview | None = None
    grad: Preview | None = None
    grad_note: str | None = None
    grad_tensor: str | None = None
    version: int = 0
    created_in: str | None = None
    saved_only: bool = False


@dataclass
class OpNode:
    """One autograd node (``MulBackward0``, ``AccumulateGrad``, ...) or an untracked op.

    ``kind`` is "function", "accumulate" (AccumulateGrad; ``variable`` is its leaf) or
    "untracked" (an op that ran without building a node: ``no_grad`` or nothing required grad).
    ``next_functions`` mirrors torch's: ``(op id or None, output_nr)`` per input slot;
    ``inputs`` are the tensors seen in those slots where known. ``recorded`` is False for nodes
    found by walking ``grad_fn`` (made before recording began, or by :func:`graph_from_tensors`).
    """

    id: str
    name: str
    kind: str = "function"
    next_functions: list[tuple[str | None, int]] = field(default_factory=list)
    inputs: list[str | None] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    saved: list[SavedRef] = field(default_factory=list)
    saved_freed: bool = False
    variable: str | None = None
    grad_enabled: bool = True
    recorded: bool = True
    created_in: str | None = None


@dataclass
class Edge:
    """A drawn edge, in data-flow direction (inputs towards outputs).

    ``kind``: "input" (tensor into the op that uses it, gradient flows back along it),
    "output" (op to the tensor it made), "next" (op to op where no tensor is known between),
    "variable" (leaf to its AccumulateGrad), "constant" (a tensor that does not require grad),
    "saved" (tensor saved for backward; ``label`` is its name), "untracked" (no-grad ops).
    ``slot`` is the input position in ``next_functions`` (or the ``output_nr``).
    """

    src: str
    dst: str
    kind: str
    slot: int | None = None
    label: str | None = None


@dataclass
class BackwardStep:
    """One node executed by the engine: gradients flowing into it and out of it."""

    index: int
    op: str
    grads_in: list[Preview | None] = field(default_factory=list)
    grads_out: list[Preview | None] = field(default_factory=list)


@dataclass
class HookCall:
    """One call of a hook: on a tensor (kind "tensor") or a node ("pre"/"post")."""

    index: int
    run: str
    target: str
    target_type: str
    kind: str
    grad_in: list[Preview | None] = field(default_factory=list)
    grad_out: list[Preview | None] | None = None
    printed: str = ""
    error: str | None = None


@dataclass
class RetainCapture:
    """A gradient captured on a non-leaf by ``retain_grad()``."""

    run: str
    tensor: str
    grad: Preview | None = None


@dataclass
class GradEvent:
    """One change of a tensor's ``.grad``: "accumulate" (during ``run``) or "reset"
    (``how`` is "zero_", "none" or "assign"); ``value`` is ``.grad`` afterwards."""

    tensor: str
    kind: str
    run: str | None = None
    how: str | None = None
    value: Preview | None = None


@dataclass
class BackwardRun:
    """One ``backward()`` / ``autograd.grad()`` call."""

    id: str
    kind: str
    roots: list[str | None] = field(default_factory=list)
    grad_roots: list[Preview | None] = field(default_factory=list)
    inputs: list[str | None] = field(default_factory=list)
    retain_graph: bool = False
    create_graph: bool = False
    steps: list[BackwardStep] = field(default_factory=list)
    hooks: list[HookCall] = field(default_factory=list)
    retained: list[RetainCapture] = field(default_factory=list)
    accumulated: list[str] = field(default_factory=list)
    freed: bool = False
    finished: bool = False
    error: str | None = None


@dataclass
class Graph:
    """Everything recorded (or walked): tensors, ops, edges, backward runs and grad history.

    ``source`` is "record" or "walk"; ``incomplete`` is set when the recorded code raised
    (``error`` says what); ``notes`` are short remarks for the reader.
    """

    tensors: list[TensorNode] = field(default_factory=list)
    ops: list[OpNode] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    runs: list[BackwardRun] = field(default_factory=list)
    grad_history: dict[str, list[GradEvent]] = field(default_factory=dict)
    source: str = "record"
    incomplete: bool = False
    error: str | None = None
    notes: list[str] = field(default_factory=list)

    # -- look-ups -------------------------------------------------------------------------
    def _index(self) -> dict[str, TensorNode | OpNode]:
        key = (id(self.tensors), len(self.tensors), id(self.ops), len(self.ops))
        cache = self.__dict__.get("_cache")
        if cache is None or cache[0] != key:
            index: dict[str, TensorNode | OpNode] = {}
            names: dict[str, TensorNode] = {}
            for t in self.tensors:
                index[t.id] = t
                if t.name is not None:
                    names[t.name] = t  # the latest version wins
            for o in self.ops:
                index[o.id] = o
            cache = self.__dict__["_cache"] = (key, index, names)
        return cache[1]

    def tensor(self, key: str) -> TensorNode:
        """The tensor with id ``key`` or, failing that, the latest one named ``key``."""
        n = self._index().get(key)
        if isinstance(n, TensorNode):
            return n
        found = self.__dict__["_cache"][2].get(key)
        if found is None:
            raise KeyError(key)
        return found

    def op(self, key: str) -> OpNode:
        """The op with id ``key``."""
        n = self._index().get(key)
        if not isinstance(n, OpNode):
            raise KeyError(key)
        return n

    def node(self, key: str) -> TensorNode | OpNode:
        """A tensor or op by id (or a tensor by name)."""
        n = self._index().get(key)
        return n if n is not None else self.tensor(key)

    @property
    def outputs(self) -> list[TensorNode]:
        """Tensors marked as outputs, in id order."""
        return [t for t in self.tensors if t.is_output]

    def label(self, key: str | None) -> str:
        """A short human name for a tensor or op id (its user name where there is one)."""
        if key is None:
            return "None"
        try:
            n = self.node(key)
        except KeyError:
            return key
        if isinstance(n, OpNode):
            return n.name
        return n.name or key

    # -- serialisation --------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain dicts/lists/str/numbers (non-finite floats kept as floats)."""
        return _plain(self)

    def to_json(self, indent: int | None = None) -> str:
        """Strict JSON (NaN and infinities written as the strings "nan", "inf", "-inf")."""
        text = json.dumps(self, default=_fields_of, indent=indent)
        if "NaN" in text or "Infinity" in text:  # rare: redo with the floats made strings
            text = json.dumps(_finite(self.to_dict()), indent=indent, allow_nan=False)
        return text

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Graph:
        """Rebuild a Graph from :meth:`to_dict` output (or parsed :meth:`to_json`)."""
        return _build(cls, data)

    @classmethod
    def from_json(cls, text: str) -> Graph:
        """Rebuild a Graph from :meth:`to_json` output."""
        return cls.from_dict(json.loads(text))


# -- helpers ----------------------------------------------------------------------------
_HINTS: dict[type, dict[str, Any]] = {}
_NONFINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(tp: type) -> tuple[str, ...]:
    names = _NAMES.get(tp)
    if names is None:
        names = _NAMES[tp] = tuple(f.name for f in fields(tp))
    return names


def _fields_of(obj: Any) -> dict[str, Any]:
    if is_dataclass(obj):  # (by attribute, in the fields' order: lazy ones are filled)
        return {k: getattr(obj, k) for k in _field_names(type(obj))}
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def _plain(obj: Any) -> Any:
    if isinstance(obj, (str, int, float)) or obj is None:
        return obj
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if is_dataclass(obj):
        return {k: _plain(getattr(obj, k)) for k in _field_names(type(obj))}
    return obj


def _finite(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return "nan" if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    return obj


def _unfinite(obj: Any) -> Any:
    if isinstance(obj, str):
        return _NONFINITE.get(obj, obj)
    if isinstance(obj, list):
        return [_unfinite(v) for v in obj]
    return obj


def _build(tp: Any, data: Any) -> Any:
    """Convert plain data back into the annotated type ``tp``."""
    if data is None:
        return None
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _build(args[0], data)
    if origin is list:
        (arg,) = typing.get_args(tp)
        return [_build(arg, v) for v in data]
    if origin is tuple:
        args = typing.get_args(tp)
        return tuple(_build(a, v) for a, v in zip(args, data))
    if origin is dict:
        _, arg = typing.get_args(tp)
        return {k: _build(arg, v) for k, v in data.items()}
    if isinstance(tp, type) and is_dataclass(tp):
        hints = _HINTS.get(tp)
        if hints is None:
            hints = _HINTS[tp] = typing.get_type_hints(tp)
        kwargs = {}
        for f in fields(tp):
            if f.name in data:
                kwargs[f.name] = _build(hints[f.name], data[f.name])
        return tp(**kwargs)
    if tp is float:
        return _NONFINITE.get(data, data) if isinstance(data, str) else float(data)
    if tp is Any:
        return _unfinite(data)
    return data
