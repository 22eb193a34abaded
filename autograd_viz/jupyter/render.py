"""Static rendering for the Jupyter layer (no IPython or widget imports here).

The graph itself is drawn by :mod:`autograd_viz.viz`; this module adds what a notebook cell
wants on top of it, as extra Graphviz nodes attached to the nodes they belong to:

* hook outputs (what a hook printed, what it returned) as orange notes on their tensor/op;
* the ``.grad`` timeline of a leaf over the cell's backward calls (with resets), and the
  per-run captures of a ``retain_grad()`` tensor, as notes beside the tensor;

and the :class:`Recording` that ``%%autograd --out NAME`` stores: the graph, its static
drawing (SVG + text), and the explorer widget when there is one.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Any

from autograd_viz import viz
from autograd_viz.viz.dot import DotBody, note_statements
from autograd_viz.viz.labels import esc
from autograd_viz.viz.model import GradEvent, Graph, HookCall, Preview

#: Rank directions Graphviz understands (``BT``: inputs at the bottom, as torchviz draws).
RANKDIRS = ("BT", "TB", "LR", "RL")
#: At most this many hook calls are drawn per target (the rest are counted).
MAX_HOOK_CALLS = 3
#: At most this many printed lines per hook call in a note.
MAX_PRINTED_LINES = 4
#: At most this many events per timeline note (the first and the last ones are kept).
MAX_TIMELINE = 8
#: At most this many events per row of the explorer's ``.grad`` timeline (a recorded training
#: loop has two per parameter and step).
MAX_TIMELINE_PANEL = 40

_NODE_DEF = re.compile(r"^\t(\w+) \[label=", re.M)


@dataclass
class ShowOptions:
    """What the drawing shows: the options of :func:`autograd_viz.viz.to_dot`, plus the
    notes this module adds (``hooks`` also switches the hook notes, ``timeline`` the
    ``.grad`` timeline notes)."""

    data: bool = True
    grad: bool = True
    shape: bool = True
    saved: bool = False
    hooks: bool = True
    timeline: bool = True
    max_nodes: int = 300
    rankdir: str = "BT"
    legend: bool = True

    def dot_options(self) -> dict[str, Any]:
        """Keyword arguments for :func:`autograd_viz.viz.draw` / ``to_dot``."""
        return {
            "show_data": self.data,
            "show_grad": self.grad,
            "show_shape": self.shape,
            "show_saved": self.saved,
            "show_hooks": self.hooks,
            "max_nodes": self.max_nodes,
            "rankdir": self.rankdir if self.rankdir in RANKDIRS else "BT",
            "legend": self.legend,
        }

    def replace(self, **changes: Any) -> ShowOptions:
        """A copy with ``changes`` applied."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return ShowOptions(**values)


# --------------------------------------------------------------------------- text helpers


def one_line(p: Preview | None, limit: int = 48) -> str:
    """A preview on one line (``tensor([8.])``, or shape and statistics when summarised)."""
    if p is None:
        return "None"
    if p.values is None and p.stats is not None:
        s = p.stats
        shape = "×".join(str(n) for n in p.shape) or "scalar"
        text = f"<{shape} mean {s.mean:.4g} std {s.std:.4g}>"
    else:
        text = " ".join(x.strip() for x in p.text.split("\n"))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def event_word(ev: GradEvent) -> str:
    """How one ``.grad`` change reads: ``run0 +=``, ``zero_()``, ``= None``, ``= …``."""
    if ev.kind == "reset":
        return {"zero_": "zero_()", "none": "= None", "assign": "assigned"}.get(
            ev.how or "", f"reset ({ev.how})"
        )
    return f"{ev.run} +=" if ev.run else "+="


def hook_calls_by_target(graph: Graph) -> dict[str, list[HookCall]]:
    """Every recorded hook call, grouped by the tensor or op it is registered on."""
    out: dict[str, list[HookCall]] = {}
    for r in graph.runs:
        for h in r.hooks:
            out.setdefault(h.target, []).append(h)
    return out


def retained_by_tensor(graph: Graph) -> dict[str, list[tuple[str, Preview | None]]]:
    """``retain_grad`` captures per tensor: ``[(run id, grad), ...]``."""
    out: dict[str, list[tuple[str, Preview | None]]] = {}
    for r in graph.runs:
        for c in r.retained:
            out.setdefault(c.tensor, []).append((c.run, c.grad))
    return out


def timelines(graph: Graph) -> list[tuple[str, list[tuple[str, str, Preview | None]]]]:
    """Per tensor whose ``.grad`` changed in the cell: ``(tensor id, [(word, kind, value)])``.

    Leaves come from the ``.grad`` history (``kind`` is "accumulate" or "reset"); tensors
    with ``retain_grad()`` from the per-run captures (``kind`` "retain"). Graph order.
    """
    retained = retained_by_tensor(graph)
    out = []
    for t in graph.tensors:
        entries: list[tuple[str, str, Preview | None]] = []
        for ev in graph.grad_history.get(t.id, []):
            entries.append((event_word(ev), ev.kind, ev.value))
        if not entries:
            for run, grad in retained.get(t.id, []):
                entries.append((f"{run} retained", "retain", grad))
        if entries:
            out.append((t.id, entries))
    return out


# --------------------------------------------------------------------------- DOT notes


def _note_rows(rows: list[tuple[str, str | None, bool]]) -> str:
    cells = []
    for text, color, mono in rows:
        body = esc(text)
        if mono:
            body = f'<FONT FACE="Courier" POINT-SIZE="8"{_col(color)}>{body}</FONT>'
        else:
            body = f'<FONT POINT-SIZE="8"{_col(color)}>{body}</FONT>'
        cells.append(f'<TR><TD ALIGN="LEFT" BALIGN="LEFT">{body}</TD></TR>')
    return '<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">' + "".join(
        cells
    ) + "</TABLE>>"


def _col(color: str | None) -> str:
    return f' COLOR="{color}"' if color else ""


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def hook_note_rows(calls: list[HookCall]) -> list[tuple[str, str | None, bool]]:
    """The rows of the note showing a target's hook calls."""
    rows: list[tuple[str, str | None, bool]] = []
    for h in calls[:MAX_HOOK_CALLS]:
        kind = {"tensor": "hook", "pre": "pre-hook", "post": "hook"}.get(h.kind, h.kind)
        rows.append((f"{kind} ({h.run}) got {', '.join(one_line(g, 30) for g in h.grad_in)}",
                     "#b35900", False))
        printed = h.printed.rstrip("\n").split("\n") if h.printed.strip() else []
        for line in printed[:MAX_PRINTED_LINES]:
            rows.append(("│ " + _clip(line), "#333333", True))
        if len(printed) > MAX_PRINTED_LINES:
            rows.append((f"│ … ({len(printed) - MAX_PRINTED_LINES} more lines)", "#777777", True))
        if h.grad_out is not None and any(g is not None for g in h.grad_out):
            rows.append(("returned " + ", ".join(one_line(g, 30) for g in h.grad_out),
                         "#a61b1b", False))
        if h.error:
            rows.append(("raised " + _clip(h.error), "#a61b1b", False))
    if len(calls) > MAX_HOOK_CALLS:
        rows.append((f"… {len(calls) - MAX_HOOK_CALLS} more call(s)", "#777777", False))
    return rows


#: The value of the entry :func:`ends` puts where it left entries out.
CUT = object()


def ends(entries: list[tuple[str, str, Any]], most: int) -> list[tuple[str, str, Any]]:
    """At most ``most`` timeline entries: the first and the last halves, with one
    ``(count, "cut", CUT)`` entry where the others were (its ``count`` formatted with
    thousands separators)."""
    if len(entries) <= most:
        return entries
    half = most // 2
    return entries[:half] + [(f"{len(entries) - 2 * half:,}", "cut", CUT)] + entries[-half:]


def timeline_note_rows(
    label: str, entries: list[tuple[str, str, Preview | None]]
) -> list[tuple[str, str | None, bool]]:
    """The rows of the note showing one tensor's ``.grad`` over the cell."""
    rows: list[tuple[str, str | None, bool]] = [(f"{label}.grad over this cell", "#0b63a6", False)]
    for word, kind, value in ends(entries, MAX_TIMELINE):
        if value is CUT:
            rows.append((f"… {word} more", "#777777", False))
            continue
        color = "#777777" if kind == "reset" else "#a61b1b"
        rows.append((f"{word:<10} → {one_line(value, 40)}", color, True))
    return rows


def note_lines(graph: Graph, opts: ShowOptions, present: set[str] | DotBody) -> list[str]:
    """Extra DOT statements: hook notes and ``.grad`` timeline notes, attached to the drawn
    nodes in ``present`` (a collapsed node gets no note)."""
    drawn = set(present.drawn) if isinstance(present, DotBody) else present
    out: list[str] = []
    if opts.hooks:
        for k, (target, calls) in enumerate(hook_calls_by_target(graph).items()):
            if target in drawn:
                out += note_statements(target, f"hooknote{k}", _note_rows(hook_note_rows(calls)),
                                       fill="#fff3e0", color="#e08a00")
    if opts.timeline and opts.grad:
        for k, (tid, entries) in enumerate(timelines(graph)):
            if tid not in drawn or len(entries) < 2:
                continue
            rows = timeline_note_rows(graph.label(tid), entries)
            out += note_statements(tid, f"gradnote{k}", _note_rows(rows),
                                   fill="#eaf3fb", color="#0b63a6")
    return out


def drawn_nodes(source: str) -> set[str]:
    """Ids of the nodes a DOT source defines (``t0``, ``op3``, ``sum0``, ...)."""
    return set(_NODE_DEF.findall(source))


def drawing(graph: Graph, opts: ShowOptions | None = None) -> viz.Drawing:
    """A :class:`~autograd_viz.viz.Drawing` of ``graph`` with the hook and timeline notes
    (added through ``extra=``, attached to the nodes the drawing shows).

    Like every Drawing it renders lazily (``svg()``), falls back to text without ``dot`` and
    displays itself with ``image/svg+xml`` and ``text/plain``.
    """
    opts = opts or ShowOptions()
    return viz.draw(graph, **opts.dot_options(),
                    extra=lambda body: note_lines(graph, opts, body))


# --------------------------------------------------------------------------- the recording


@dataclass
class Recording:
    """What one ``%%autograd`` cell recorded (``--out NAME`` stores it as ``NAME``).

    ``graph`` is the :class:`~autograd_viz.viz.Graph`; ``recorder`` the
    :class:`~autograd_viz.viz.Recorder` (``%%autograd`` keeps it only for ``--out``: the
    explorers kept for re-run cells need the graph, not every recorded event); ``options``
    the :class:`ShowOptions` used; ``error`` the exception the cell raised (or None);
    ``explorer`` the widget (or None).
    Displays itself as the static drawing (SVG and text).
    """

    graph: Graph
    recorder: Any = None
    options: ShowOptions = field(default_factory=ShowOptions)
    error: BaseException | None = None
    explorer: Any = None
    _drawing: viz.Drawing | None = field(default=None, repr=False)

    def drawing(self) -> viz.Drawing:
        """The static drawing (cached)."""
        if self._drawing is None:
            self._drawing = drawing(self.graph, self.options)
        return self._drawing

    def svg(self) -> str | None:
        """The SVG text (None without Graphviz)."""
        return self.drawing().svg()

    def text(self) -> str:
        """The deterministic text rendering."""
        return self.drawing().text()

    def to_json(self, indent: int | None = None) -> str:
        """The graph model as JSON."""
        return self.graph.to_json(indent=indent)

    def draw(self, **changes: Any) -> viz.Drawing:
        """A fresh drawing with some options changed (``draw(saved=True, rankdir="LR")``)."""
        return drawing(self.graph, self.options.replace(**changes))

    @property
    def incomplete(self) -> bool:
        return self.graph.incomplete

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return self.drawing()._repr_mimebundle_(include, exclude)

    def __repr__(self) -> str:
        g = self.graph
        state = ", incomplete" if g.incomplete else ""
        return (f"Recording({len(g.tensors)} tensors, {len(g.ops)} ops, "
                f"{len(g.runs)} backward run(s){state})")


def summary_line(graph: Graph) -> str:
    """``9 tensors · 5 ops · 2 backward runs``."""
    def n(k: int, word: str) -> str:
        return f"{k} {word}" + ("" if k == 1 else "s")

    return " · ".join([n(len(graph.tensors), "tensor"), n(len(graph.ops), "op"),
                       n(len(graph.runs), "backward run")])


def names_in(graph: Graph, ids: Iterable[str | None]) -> list[str]:
    """Labels for graph ids (user names where known)."""
    return [graph.label(i) for i in ids]
