"""Graphviz DOT for a graph model: visual grammar, legend, collapse of large graphs.

Visual grammar (also drawn as a legend):
  blue box = leaf that requires grad · grey dashed box = constant · yellow box = intermediate ·
  green bold box = output · grey rounded = op (``MulBackward0``) · lavender rounded =
  ``AccumulateGrad`` · white dashed rounded = op run without grad · orange note / dotted edge =
  saved tensor · ``[hook ×n]`` and ``[retain_grad]`` badges. Edges point the way data flows
  (inputs to outputs); gradients flow back along them.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from . import labels
from ._gc import paused
from .collapse import Collapsed, Summary, collapse, default_max_cost
from .model import Graph, TensorNode
from .repeats import repeated_runs

FONT = "Helvetica"

_TENSOR_STYLE = {
    "leaf": 'fillcolor="#cfe2ff" color="#3d6fb6"',
    "constant": 'fillcolor="#eeeeee" color="#888888" style="filled,dashed"',
    "intermediate": 'fillcolor="#fff4c2" color="#b59b2d"',
    "output": 'fillcolor="#c8f0c0" color="#3c8c33" penwidth=2',
    "saved": 'fillcolor="#ffe3c2" color="#d98c00" shape=note',
}
_OP_STYLE = {
    "function": 'shape=box style="rounded,filled" fillcolor="#e6e6e6" color="#555555"',
    "accumulate": 'shape=box style="rounded,filled" fillcolor="#e2d9f3" color="#6a51a3"',
    "untracked": 'shape=box style="rounded,dashed,filled" fillcolor="#ffffff" color="#999999"'
    ' fontcolor="#777777"',
}
_EDGE_STYLE = {
    "input": "",
    "output": "",
    "next": "",
    "variable": 'color="#3d6fb6"',
    "constant": 'style=dashed color="#999999"',
    "untracked": 'style=dashed color="#aaaaaa"',
    "saved": 'style=dotted color="#d98c00" fontcolor="#d98c00"',
}
_LEGEND = {
    "leaf": ("#cfe2ff", "", "leaf (requires grad)"),
    "constant": ("#eeeeee", "", "constant (no grad, dashed)"),
    "intermediate": ("#fff4c2", "", "intermediate"),
    "output": ("#c8f0c0", "", "output"),
    "saved": ("#ffe3c2", "", "saved tensor (dotted edge)"),
    "function": ("#e6e6e6", "rounded", "op (backward node)"),
    "accumulate": ("#e2d9f3", "rounded", "AccumulateGrad"),
    "untracked": ("#ffffff", "rounded", "op run without grad (dashed)"),
    "summary": ("#f5f5f5", "", "collapsed nodes"),
    "hook": ("#ffd9b3", "", "[hook ×n] hook registered"),
    "retain": ("#cce4f7", "", "[retain_grad] non-leaf keeps .grad"),
}


@dataclass
class DotBody:
    """The body of a DOT drawing (``lines``) and what it draws.

    ``drawn`` are the ids of the graph's nodes drawn as themselves, in drawing order;
    ``hidden`` maps each node folded into a summary to that summary's id (``"sum0"``, ...);
    ``summaries`` describe the summary nodes (size and counts per kind). Nodes in neither
    (saved-only tensors while ``show_saved`` is off) are not drawn at all. ``graph`` is the
    graph drawn.
    """

    lines: list[str]
    drawn: list[str] = field(default_factory=list)
    hidden: dict[str, str] = field(default_factory=dict)
    summaries: list[Summary] = field(default_factory=list)
    graph: Graph | None = field(default=None, repr=False, compare=False)
    #: The legend's statements (made whether drawn or not) and where they go in ``lines``.
    legend: list[str] = field(default_factory=list, repr=False, compare=False)
    legend_at: int = field(default=-1, repr=False, compare=False)
    has_legend: bool = field(default=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._drawn = set(self.drawn)

    def with_legend(self, on: bool) -> DotBody:
        """This body with its legend drawn (``on``) or left out; the same body when it
        already is."""
        if on == self.has_legend or not self.legend:
            return self
        k, n = self.legend_at, len(self.legend)
        lines = (self.lines[:k] + self.legend + self.lines[k:] if on
                 else self.lines[:k] + self.lines[k + n:])
        return replace(self, lines=lines, has_legend=on)

    def shown_as(self, node_id: str | None) -> str | None:
        """The drawn node standing for ``node_id``: itself, the summary hiding it, or None
        when it is not drawn."""
        if node_id is None:
            return None
        if node_id in self._drawn:
            return node_id
        return self.hidden.get(node_id)

    def members(self, summary_id: str) -> list[str]:
        """The ids a summary node hides, in drawing order."""
        return [n for n, s in self.hidden.items() if s == summary_id]


#: What ``extra=`` takes: DOT statements, or a function of the body drawn so far that
#: returns them (to attach things to the nodes actually drawn).
Extra = Iterable[str] | Callable[[DotBody], Iterable[str]] | None


def note_statements(target: str, note_id: str, label: str, *, fill: str = "#fffbe6",
                    color: str = "#b59b2d") -> list[str]:
    """DOT statements for a note node ``note_id`` beside the drawn node ``target``.

    ``label`` is a complete DOT label (an escaped ``<...>`` HTML-like label or a quoted
    string). A dotted flat edge in one rank puts the note just beside its node.
    """
    return [
        f"\t{note_id} [label={label} shape=note style=filled"
        f' fillcolor="{fill}" color="{color}" margin="0.06,0.03"]\n',
        f'\t{target} -> {note_id} [style=dotted color="{color}" arrowhead=none]\n',
        f"\t{{rank=same; {target}; {note_id}}}\n",
    ]


def text_note_label(text: str) -> str:
    """An escaped HTML-like label for a plain-text note (lines kept, long ones clipped)."""
    rows = '<BR ALIGN="LEFT"/>'.join(labels.esc(x) for x in labels.lines(str(text)))
    return f'<<FONT POINT-SIZE="9">{rows}<BR ALIGN="LEFT"/></FONT>>'


def notes_extra(notes: Mapping[str, str]) -> Callable[[DotBody], list[str]]:
    """An ``extra=`` function drawing ``{node id or tensor name: text}`` as notes beside
    their nodes (or beside the summary that hides them); notes on undrawn nodes are left out."""
    items = list(notes.items())

    def extra(body: DotBody) -> list[str]:
        out: list[str] = []
        for k, (key, text) in enumerate(items):
            target = body.shown_as(_resolve(body.graph, str(key)))
            if target is not None:
                out.extend(note_statements(target, f"note{k}", text_note_label(text)))
        return out

    return extra


def _resolve(graph: Graph | None, key: str) -> str:
    if graph is None:
        return key
    try:
        return graph.node(key).id
    except KeyError:
        return key


def _statements(extra: Extra, body: DotBody) -> list[str]:
    if extra is None:
        return []
    got = extra(body) if callable(extra) else extra
    if isinstance(got, str):
        got = [got]
    out = []
    for st in got or ():
        st = str(st).strip("\n")
        if st.strip():
            out.append(("" if st.startswith("\t") else "\t") + st + "\n")
    return out


def _coerce(obj: Any) -> Graph:
    if isinstance(obj, Graph):
        return obj
    if hasattr(obj, "graph") and callable(obj.graph):  # a Recorder
        return obj.graph()
    from .walk import graph_from_tensors

    return graph_from_tensors(*(obj if isinstance(obj, (list, tuple)) else [obj]))


def tensor_kind(t: TensorNode) -> str:
    """The legend entry of a tensor: leaf, constant, intermediate, output or saved."""
    if t.saved_only:
        return "saved"
    if t.is_output:
        return "output"
    return t.role


def dot_lines(*args: Any, **kwargs: Any) -> list[str]:
    """The body lines of the DOT source (see :func:`to_dot` for the options)."""
    return dot_body(*args, **kwargs).lines


def dot_body(*args: Any, **kwargs: Any) -> DotBody:
    """The body of the DOT source and what it draws (see :class:`DotBody`; the options are
    :func:`to_dot`'s)."""
    with paused(keep=False):  # (DOT lines and lookups: nothing here lives on)
        return _dot_body(*args, **kwargs)


def _dot_body(
    graph_or_tensor: Any,
    *,
    show_data: bool = True,
    show_grad: bool = True,
    show_shape: bool = True,
    show_saved: bool = False,
    show_hooks: bool = True,
    rankdir: str = "BT",
    max_nodes: int = 300,
    highlight: Iterable[str] | None = None,
    legend: bool = True,
    extra: Extra = None,
    notes: Mapping[str, str] | None = None,
) -> DotBody:
    g = _coerce(graph_or_tensor)
    tensors = {t.id: t for t in g.tensors}
    ops = {o.id: o for o in g.ops}
    saved_only = {t.id for t in g.tensors if t.saved_only}
    edges = g.edges
    if not show_saved:
        edges = [
            e for e in edges
            if e.kind != "saved" and e.src not in saved_only and e.dst not in saved_only
        ]
        for t in saved_only:
            del tensors[t]
    order = _node_order(g, tensors)
    if max_nodes:
        peripheral = {n for n, o in ops.items() if o.kind == "accumulate"}
        peripheral.update(n for n, t in tensors.items() if t.role != "intermediate")
        keep = {t.id for t in tensors.values()
                if t.name or t.hooks or t.retains_grad or t.is_output}
        keep |= _highlighted(g, highlight)

        def group(n: str) -> str:
            o = ops.get(n)
            return o.name if o is not None else f"{tensor_kind(tensors[n])} tensor"

        pairs = [(e.src, e.dst) for e in edges]
        # the middle iterations of a recorded loop (outputs of theirs are not kept)
        repeats = repeated_runs(g, set(order), keep - {t.id for t in tensors.values()
                                                       if t.is_output and not t.name})
        # (saved-tensor edges are labelled: a tighter layout budget)
        col = collapse(order, pairs, group, peripheral, max_nodes, keep=keep,
                       max_cost=default_max_cost(max_nodes, labelled=show_saved),
                       repeats=repeats)
    else:
        col = Collapsed({}, [], len(order))
    hidden = col.hidden

    hl = _highlighted(g, highlight)
    steps = _steps(g)
    op_hooks: dict[str, int] = {}
    for r in g.runs:
        for h in r.hooks:
            if h.target_type == "op":
                op_hooks[h.target] = op_hooks.get(h.target, 0) + 1

    remarks = []
    if g.incomplete:
        remarks.append("incomplete recording: " + (g.error or "the recorded code raised"))
    if any(s.title is None for s in col.summaries):
        remarks.append(
            f"large graph: {len(hidden):,} of {col.total:,} nodes collapsed into "
            f"{len(col.summaries)} summary node(s) (max_nodes={max_nodes})"
        )
    elif col.summaries:
        remarks.append(f"repeated iterations: {len(hidden):,} of {col.total:,} nodes collapsed "
                       "(max_nodes=0 draws them all)")
    remarks.extend(g.notes)

    out = [
        f"\tgraph [rankdir={_ident(rankdir)} fontname={FONT} fontsize=10 nodesep=0.25"
        " ranksep=0.35 newrank=true]\n",
        f'\tnode [fontname={FONT} fontsize=10 shape=box style=filled margin="0.08,0.04"]\n',
        f"\tedge [fontname={FONT} fontsize=8 arrowsize=0.6]\n",
    ]
    if remarks:
        out.append(f"\tlabel={labels.note_label(remarks)} labelloc=t labeljust=l\n")
    used: set[str] = set()
    hook_badge = retain_badge = False
    drawn: list[str] = []
    for n in order:
        if n in hidden:
            continue
        drawn.append(n)
        outline = ' color="#e8000b" penwidth=3' if n in hl else ""
        if n in ops:
            o = ops[n]
            used.add(o.kind)
            label = labels.op_label(
                o,
                steps=steps.get(n),
                hook_calls=op_hooks.get(n, 0) if show_hooks else 0,
                show_saved=show_saved,
                before_recording=g.source == "record" and not o.recorded and o.kind != "accumulate",
            )
            hook_badge |= bool(show_hooks and op_hooks.get(n))
            style = _OP_STYLE[o.kind]
            if o.created_in:
                style += ' color="#c2185b"'
            out.append(f"\t{n} [label={label} {style}{outline}]\n")
        else:
            t = tensors[n]
            kind = tensor_kind(t)
            used.add(kind)
            hook_badge |= bool(show_hooks and t.hooks)
            retain_badge |= bool(show_hooks and t.retains_grad)
            label = labels.tensor_label(
                t, show_data=show_data, show_grad=show_grad, show_shape=show_shape,
                show_hooks=show_hooks,
            )
            out.append(f"\t{n} [label={label} {_TENSOR_STYLE[kind]}{outline}]\n")
    for s in col.summaries:
        used.add("summary")
        out.append(
            f"\t{s.id} [label={labels.summary_label(s.size, s.counts, s.title)} shape=box3d"
            ' fillcolor="#f5f5f5" color="#777777"]\n'
        )
    out.extend(_edge_lines(edges, hidden))
    keys = [k for k in _LEGEND if k in used]
    if hook_badge:
        keys.append("hook")
    if retain_badge:
        keys.append("retain")
    if show_saved and any(e.kind == "saved" for e in edges) and "saved" not in keys:
        keys.append("saved")
    legend_lines = []
    if keys:
        legend_html = labels.legend_label([_LEGEND[k] for k in keys])
        legend_lines = [
            '\tsubgraph cluster_legend {\n\t\tlabel="legend" fontsize=9 style=dashed'
            ' color="#bbbbbb"\n',
            f"\t\tlegend [label={legend_html} shape=plaintext style=solid]\n",
            "\t}\n",
        ]
    legend_at = len(out)
    if legend:
        out.extend(legend_lines)
    body = DotBody(out, drawn + [s.id for s in col.summaries], dict(hidden),
                   list(col.summaries), g, legend=legend_lines, legend_at=legend_at,
                   has_legend=legend and bool(legend_lines))
    if notes:
        out.extend(_statements(notes_extra(notes), body))
    out.extend(_statements(extra, body))
    return body


def _highlighted(g: Graph, highlight: Iterable[str] | None) -> set[str]:
    """Ids of the nodes named by ``highlight`` (ids, or tensor names)."""
    wanted = set(highlight or ())
    if not wanted:
        return set()
    hl = {t.id for t in g.tensors if t.id in wanted or (t.name is not None and t.name in wanted)}
    return hl | {o.id for o in g.ops if o.id in wanted}


def _ident(value: str) -> str:
    value = str(value)
    return value if value in ("TB", "BT", "LR", "RL") else "BT"


def _node_order(g: Graph, tensors: dict[str, TensorNode]) -> list[str]:
    """Tensors and ops interleaved in the order they came to be (inputs, op, outputs)."""
    order: list[str] = []
    done: set[str] = set()
    for o in g.ops:
        for i in (*o.inputs, o.variable):
            if i is not None and i not in done and i in tensors:
                done.add(i)
                order.append(i)
        order.append(o.id)
        for i in o.outputs:
            if i not in done and i in tensors:
                done.add(i)
                order.append(i)
    order.extend(t for t in tensors if t not in done)
    return order


def _steps(g: Graph) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    multi = len(g.runs) > 1
    for r in g.runs:
        for k, s in enumerate(r.steps, 1):
            out.setdefault(s.op, []).append(f"#{k}" + (f" ({r.id})" if multi else ""))
    return out


def _edge_lines(edges: list, hidden: dict[str, str]) -> list[str]:
    counts: dict[tuple[str, str, str, str | None], int] = {}
    for e in edges:
        src, dst = hidden.get(e.src, e.src), hidden.get(e.dst, e.dst)
        if src == dst:
            continue
        key = (src, dst, e.kind, e.label)
        counts[key] = counts.get(key, 0) + 1
    out = []
    for (src, dst, kind, label), n in counts.items():
        attrs = [_EDGE_STYLE.get(kind, "")]
        text = label or ""
        if n > 1 and (src.startswith("sum") or dst.startswith("sum")):
            text = (text + " " if text else "") + f"×{n:,}"
        if text:
            attrs.append(f"label=<{labels.esc(text)}>")
        attr = " ".join(a for a in attrs if a)
        out.append(f"\t{src} -> {dst}" + (f" [{attr}]" if attr else "") + "\n")
    return out


def dot_source(graph_or_tensor: Any, **options: Any) -> str:
    """The DOT source text (same as ``to_dot(...).source``, without needing ``graphviz``)."""
    return source_of(dot_lines(graph_or_tensor, **options))


def source_of(lines: Iterable[str]) -> str:
    """The DOT source text around body ``lines``."""
    return "digraph autograd {\n" + "".join(lines) + "}\n"


def to_dot(
    graph_or_tensor: Any,
    show_data: bool = True,
    show_grad: bool = True,
    show_shape: bool = True,
    show_saved: bool = False,
    show_hooks: bool = True,
    rankdir: str = "BT",
    max_nodes: int = 300,
    highlight: Iterable[str] | None = None,
    legend: bool = True,
    extra: Extra = None,
    notes: Mapping[str, str] | None = None,
) -> Any:
    """A ``graphviz.Digraph`` of a :class:`Graph`, a tensor (or tensors), or a Recorder.

    ``show_*`` choose what labels show; ``rankdir`` is Graphviz's ("BT": inputs at the
    bottom); above ``max_nodes`` nodes long chains and the parts farthest from the outputs
    collapse into summary nodes (``max_nodes=0`` disables that); ``highlight`` is a set of
    node ids or tensor names to outline in red; ``legend`` adds the small legend.

    ``notes`` (``{node id or tensor name: text}``) draws each text in a note beside its node
    (beside the summary node when the node is collapsed). ``extra`` adds DOT statements
    after the drawing's own: a list of strings (``'t0 -> n1'``, ``'n1 [label="hi"]'``), or
    a function that receives the :class:`DotBody` drawn so far (which nodes are drawn, which
    summary hides which) and returns them. Ids of the drawing: ``t<k>``, ``op<k>``,
    ``sum<k>``, ``legend``; use other names for extra nodes.
    """
    import graphviz

    body = dot_lines(
        graph_or_tensor, show_data=show_data, show_grad=show_grad, show_shape=show_shape,
        show_saved=show_saved, show_hooks=show_hooks, rankdir=rankdir, max_nodes=max_nodes,
        highlight=highlight, legend=legend, extra=extra, notes=notes,
    )
    return graphviz.Digraph(name="autograd", body=body)
