"""HTML for the explorer's panels: header, inspector, backward step, ``.grad`` timeline.

Everything is built here in Python (so it is testable without a browser) from the graph
model; every piece of user text goes through :func:`html.escape`. The classes used are
styled by ``explorer.css``. Root elements carry ``mathjax_ignore`` so that a ``$`` in a
tensor name or in what a hook printed is never typeset.
"""
from __future__ import annotations

import bisect
import html
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from autograd_viz.viz.collapse import Summary
from autograd_viz.viz.dot import DotBody
from autograd_viz.viz.model import (
    BackwardRun,
    BackwardStep,
    Graph,
    Hist,
    OpNode,
    Preview,
    TensorNode,
)
from autograd_viz.viz.preview import HIST_BINS

from ..render import (
    CUT,
    MAX_TIMELINE_PANEL,
    ends,
    event_word,
    hook_calls_by_target,
    one_line,
    retained_by_tensor,
    summary_line,
)

#: Tensors with at least this many elements get a histogram: tensors kept in full (up to
#: 64 elements) from their values, larger ones from the histogram the recorder took.
HIST_MIN_NUMEL = 16
_ROOT = "agv-panel mathjax_ignore tex2jax_ignore"


def e(x: Any) -> str:
    return html.escape(str(x), quote=True)


@dataclass
class Histogram:
    """Counts of values in equal-width bins between ``lo`` and ``hi``."""

    counts: list[int]
    lo: float
    hi: float
    numel: int

    @classmethod
    def of(cls, values: Any, bins: int = HIST_BINS) -> Histogram | None:
        a = np.asarray(values, dtype="float64").reshape(-1)
        a = a[np.isfinite(a)]
        if a.size == 0:
            return None
        lo, hi = float(a.min()), float(a.max())
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
        counts, _ = np.histogram(a, bins=bins, range=(lo, hi))
        return cls([int(c) for c in counts], lo, hi, int(a.size))

    @classmethod
    def from_hist(cls, h: Hist) -> Histogram | None:
        """From the histogram a preview carries (taken when the recorder saw the tensor)."""
        if not h.counts or len(h.edges) != len(h.counts) + 1 or h.total == 0:
            return None
        return cls(list(h.counts), float(h.edges[0]), float(h.edges[-1]), h.total)

    def svg(self, color: str = "#3d6fb6", width: int = 260, height: int = 64) -> str:
        """A small bar chart (inline SVG) with the range written under it."""
        top = max(self.counts) or 1
        n = len(self.counts)
        bw = width / n
        bars = []
        for i, c in enumerate(self.counts):
            h = 0 if c == 0 else max(1.0, (height - 4) * c / top)
            bars.append(
                f'<rect x="{i * bw + 0.5:.1f}" y="{height - h:.1f}" width="{max(bw - 1, 1):.1f}"'
                f' height="{h:.1f}" fill="{color}"><title>{c}</title></rect>'
            )
        return (
            f'<svg class="agv-hist" width="{width}" height="{height + 14}"'
            f' viewBox="0 0 {width} {height + 14}" role="img">'
            + "".join(bars)
            + f'<line x1="0" y1="{height}" x2="{width}" y2="{height}" stroke="#999"/>'
            f'<text x="0" y="{height + 11}" font-size="9" fill="#666">{e(_num(self.lo))}</text>'
            f'<text x="{width}" y="{height + 11}" font-size="9" fill="#666"'
            f' text-anchor="end">{e(_num(self.hi))}</text></svg>'
        )


def _num(x: float) -> str:
    return f"{x:.4g}"


def _flat(values: Any) -> list[float]:
    if isinstance(values, list):
        out: list[float] = []
        for v in values:
            out.extend(_flat(v))
        return out
    return [values]


def histogram_of(p: Preview | None) -> Histogram | None:
    """A histogram for a preview: from its values when kept in full, else from the
    histogram taken with it (every recorded tensor and gradient, named or not)."""
    if p is None or p.numel < HIST_MIN_NUMEL:
        return None
    if p.values is not None:
        try:
            return Histogram.of(_flat(p.values))
        except (TypeError, ValueError):
            return None
    return None if p.hist is None else Histogram.from_hist(p.hist)


# --------------------------------------------------------------------------- small pieces


def pre(p: Preview | None, cls: str = "") -> str:
    if p is None:
        return '<span class="agv-none">None</span>'
    text = p.text
    if p.values is None and p.stats is not None:
        s = p.stats
        text += f"\nmin {_num(s.min)}  max {_num(s.max)}  mean {_num(s.mean)}  std {_num(s.std)}"
    return f'<pre class="agv-pre {cls}">{e(text)}</pre>'


def chip(text: str, kind: str = "") -> str:
    return f'<span class="agv-chip {kind}">{e(text)}</span>'


def _shape(shape: Sequence[int]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _row(key: str, value_html: str) -> str:
    return f'<tr><th>{e(key)}</th><td>{value_html}</td></tr>'


def _node_link(graph: Graph, nid: str | None) -> str:
    if nid is None:
        return '<span class="agv-none">None</span>'
    return f'<span class="agv-ref" data-node="{e(nid)}">{e(graph.label(nid))}</span>'


def role_chips(t: TensorNode) -> str:
    chips = []
    if t.saved_only:
        chips.append(chip("saved", "agv-chip-saved"))
    elif t.is_output:
        chips.append(chip("output", "agv-chip-output"))
    chips.append(chip(t.role, f"agv-chip-{t.role}"))
    if t.retains_grad:
        chips.append(chip("retain_grad", "agv-chip-retain"))
    if t.hooks:
        chips.append(chip(f"hook ×{t.hooks}", "agv-chip-hook"))
    return " ".join(chips)


# --------------------------------------------------------------------------- header


def header_html(graph: Graph, *, names: Sequence[str] = ()) -> str:
    """Title bar: what the cell built, and a banner when the recording is incomplete."""
    # outputs: named ones first, alike unnamed ones counted (a loop makes one per step)
    counts: dict[str, int] = {}
    for t in sorted(graph.outputs, key=lambda t: not t.name):
        label = t.name or (f"({graph.label(t.grad_fn)})" if t.grad_fn else t.id)
        counts[label] = counts.get(label, 0) + 1
    outs = [k if n == 1 else f"{k} ×{n}" for k, n in counts.items()]
    flow = ""
    if names or outs:
        ins = ", ".join(names[:6]) + (" …" if len(names) > 6 else "")
        arrow = " → " if ins and outs else ""
        shown = ", ".join(outs[:4]) + (" …" if len(outs) > 4 else "")
        flow = f'<span class="agv-flow">{e(ins)}{arrow}{e(shown)}</span>'
    parts = [
        f'<div class="{_ROOT} agv-header">',
        '<span class="agv-logo">∂</span><span class="agv-title">autograd</span>',
        flow,
        f'<span class="agv-summary">{e(summary_line(graph))}</span>',
        "</div>",
    ]
    if graph.incomplete:
        parts.append(
            f'<div class="{_ROOT} agv-banner agv-banner-error">'
            f"<b>Incomplete recording</b> — the cell raised "
            f"<code>{e(graph.error or 'an exception')}</code>. "
            "The graph shows what ran before the error.</div>"
        )
    for note in graph.notes:
        parts.append(f'<div class="{_ROOT} agv-banner agv-banner-note">{e(note)}</div>')
    return "".join(parts)


# --------------------------------------------------------------------------- inspector


def inspector_html(graph: Graph, node_id: str | None, body: DotBody | None = None) -> str:
    """The inspector for one node (a tensor, an op, a note or, given the drawing's ``body``,
    a summary node of a collapsed drawing), or a hint when none is."""
    if not node_id:
        return (
            f'<div class="{_ROOT} agv-inspector agv-empty">'
            '<div class="agv-hint-big">Click a node</div>'
            "<div>to see its value, gradient, <code>.grad</code> history, saved tensors "
            "and hook calls.</div>"
            '<div class="agv-hint-small">drag: pan · Ctrl/⌘+wheel or +/−: zoom · '
            "double-click: fit</div></div>"
        )
    target = _note_target(graph, node_id)
    if target is not None:
        node_id = target
    try:
        node = graph.node(node_id)
    except KeyError:
        if node_id.startswith("sum"):
            return _summary_html(graph, node_id, body)
        return f'<div class="{_ROOT} agv-inspector"><h3>{e(node_id)}</h3><p>Unknown node.</p></div>'
    if isinstance(node, OpNode):
        return _op_html(graph, node)
    return _tensor_html(graph, node)


#: At most this many hidden nodes are listed for a summary node.
MAX_MEMBERS = 40


def _summary_html(graph: Graph, sid: str, body: DotBody | None) -> str:
    """A summary node: what it hides (kinds and counts, then the nodes themselves)."""
    summary = None if body is None else next((s for s in body.summaries if s.id == sid), None)
    about = ("This box stands for part of a large graph. Raise <code>--max-nodes</code> to "
             "draw every node." if summary is None or summary.title is None else
             f"This box stands for {e(summary.title)}: the same ops on graphs of their own, "
             "as a loop builds them. <code>--max-nodes 0</code> draws every node.")
    parts = [f'<div class="{_ROOT} agv-inspector" data-node="{e(sid)}">'
             f'<h3><span class="agv-name">collapsed nodes</span> <span class="agv-id">{e(sid)}'
             f"</span></h3><p>{about}</p>"]
    if body is not None and summary is not None:
        parts.append(f'<div class="agv-section agv-first"><h4>{summary.size:,} nodes</h4>'
                     '<table class="agv-props">')
        for name, n in summary.counts:
            parts.append(_row(name, f"×{n:,}"))
        parts.append("</table></div>")
        members = body.members(sid)
        parts.append('<div class="agv-section agv-members"><h4>hidden here</h4><div>')
        parts.append(", ".join(_node_link(graph, m) for m in members[:MAX_MEMBERS]))
        if len(members) > MAX_MEMBERS:
            parts.append(f" … and {len(members) - MAX_MEMBERS:,} more")
        parts.append("</div></div>")
    parts.append("</div>")
    return "".join(parts)


def _note_target(graph: Graph, nid: str) -> str | None:
    """Hook and timeline notes are inspected as the node they are attached to."""
    from ..render import timelines

    if nid.startswith("hooknote"):
        keys = list(hook_calls_by_target(graph))
        k = int(nid[8:]) if nid[8:].isdigit() else -1
        return keys[k] if 0 <= k < len(keys) else None
    if nid.startswith("gradnote"):
        tl = timelines(graph)
        k = int(nid[8:]) if nid[8:].isdigit() else -1
        return tl[k][0] if 0 <= k < len(tl) else None
    return None


def _tensor_html(graph: Graph, t: TensorNode) -> str:
    title = t.name or "unnamed tensor"
    if t.name and t.version:
        title += f" (v{t.version})"
    parts = [
        f'<div class="{_ROOT} agv-inspector" data-node="{e(t.id)}">',
        f'<h3><span class="agv-name">{e(title)}</span> <span class="agv-id">{e(t.id)}</span></h3>',
        f'<div class="agv-chips">{role_chips(t)}</div>',
        '<div class="agv-grid"><div class="agv-section agv-first"><table class="agv-props">',
        _row("shape", f"<code>{e(_shape(t.shape))}</code>"),
        _row("dtype", f"<code>{e(t.dtype)}</code>"),
        _row("device", f"<code>{e(t.device)}</code>"),
        _row("requires_grad", f"<code>{t.requires_grad}</code>"),
        _row("is_leaf", f"<code>{t.is_leaf}</code>"),
    ]
    if t.grad_fn:
        parts.append(_row("grad_fn", _node_link(graph, t.grad_fn)))
    parts.append("</table></div>")

    parts.append('<div class="agv-section"><h4>value</h4>')
    parts.append(pre(t.value))
    h = histogram_of(t.value)
    if h is not None:
        parts.append(f'<div class="agv-histbox"><span>histogram of {h.numel:,} values</span>'
                     f"{h.svg()}</div>")
    parts.append("</div>")

    parts.append('<div class="agv-section agv-grad"><h4>grad</h4>')
    if t.grad is not None:
        parts.append(pre(t.grad, "agv-pre-grad"))
        gh = histogram_of(t.grad)
        if gh is not None:
            parts.append(f'<div class="agv-histbox"><span>histogram of the gradient</span>'
                         f'{gh.svg(color="#c2255c")}</div>')
    else:
        note = f" — {t.grad_note}" if t.grad_note else ""
        parts.append(f'<div class="agv-none">None{e(note)}</div>')
    parts.append("</div>")

    history = graph.grad_history.get(t.id, [])
    retained = retained_by_tensor(graph).get(t.id, [])
    if history or retained:
        parts.append('<div class="agv-section"><h4>grad history</h4><table class="agv-hist-table">')
        for ev in history:
            cls = "agv-ev-reset" if ev.kind == "reset" else "agv-ev-acc"
            parts.append(f'<tr class="{cls}"><th>{e(event_word(ev))}</th>'
                         f"<td><code>{e(one_line(ev.value, 64))}</code></td></tr>")
        for run, grad in retained:
            parts.append(f'<tr class="agv-ev-retain"><th>{e(run)} retained</th>'
                         f"<td><code>{e(one_line(grad, 64))}</code></td></tr>")
        parts.append("</table></div>")

    saved_by = [(o, s) for o in graph.ops for s in o.saved if s.tensor == t.id]
    if saved_by:
        parts.append('<div class="agv-section"><h4>saved for backward by</h4><ul>')
        for o, s in saved_by:
            freed = " <i>(freed)</i>" if o.saved_freed else ""
            parts.append(f"<li>{_node_link(graph, o.id)} as <code>{e(s.name)}</code>{freed}</li>")
        parts.append("</ul></div>")

    parts.append(_hooks_html(graph, t.id))
    parts.append("</div></div>")
    return "".join(parts)


def _op_html(graph: Graph, o: OpNode) -> str:
    kind = {"function": "backward node", "accumulate": "AccumulateGrad (writes .grad)",
            "untracked": "op run without grad"}.get(o.kind, o.kind)
    parts = [
        f'<div class="{_ROOT} agv-inspector" data-node="{e(o.id)}">',
        f'<h3><span class="agv-name">{e(o.name)}</span> <span class="agv-id">{e(o.id)}</span></h3>',
        f'<div class="agv-chips">{chip(kind, "agv-chip-op")}</div>',
        '<div class="agv-grid"><div class="agv-section agv-first"><table class="agv-props">',
    ]
    if o.variable:
        parts.append(_row("variable", _node_link(graph, o.variable)))
    if o.inputs:
        parts.append(_row("inputs", ", ".join(_node_link(graph, i) for i in o.inputs)))
    if o.outputs:
        parts.append(_row("outputs", ", ".join(_node_link(graph, i) for i in o.outputs)))
    if o.next_functions:
        nf = ", ".join(
            f"({_node_link(graph, fn)}, {nr})" if fn else "(None, 0)" for fn, nr in o.next_functions
        )
        parts.append(_row("next_functions", nf))
    if not o.grad_enabled:
        parts.append(_row("grad mode", "off"))
    parts.append("</table></div>")
    if o.saved:
        parts.append('<div class="agv-section"><h4>saved tensors</h4><table class="agv-props">')
        for s in o.saved:
            val = ""
            if s.tensor is not None:
                try:
                    val = pre(graph.tensor(s.tensor).value)
                except KeyError:
                    val = ""
            parts.append(_row(s.name, _node_link(graph, s.tensor) + val))
        parts.append("</table>")
        if o.saved_freed:
            parts.append('<div class="agv-none">freed after backward (retain_graph=False)</div>')
        parts.append("</div>")
    runs = [(r, k, s) for r in graph.runs for k, s in enumerate(r.steps, 1) if s.op == o.id]
    if runs:
        parts.append('<div class="agv-section"><h4>in backward</h4>')
        for r, k, s in runs:
            parts.append(f'<div class="agv-sub">{e(r.id)} · step {k} of {len(r.steps)}</div>')
            parts.append(_grads_io(graph, o, s))
        parts.append("</div>")
    parts.append(_hooks_html(graph, o.id))
    parts.append("</div></div>")
    return "".join(parts)


def _hooks_html(graph: Graph, target: str) -> str:
    calls = hook_calls_by_target(graph).get(target, [])
    if not calls:
        return ""
    parts = ['<div class="agv-section agv-hooks"><h4>hook calls</h4>']
    for h in calls:
        kind = {"tensor": "tensor hook", "pre": "pre-hook", "post": "post-hook"}.get(h.kind, h.kind)
        parts.append(f'<div class="agv-hook"><div class="agv-sub">{e(kind)} · {e(h.run)}</div>')
        parts.append("<div>got " + ", ".join(
            f"<code>{e(one_line(g, 64))}</code>" for g in h.grad_in) + "</div>")
        if h.printed:
            parts.append(f'<pre class="agv-pre agv-printed">{e(h.printed.rstrip())}</pre>')
        if h.grad_out is not None and any(g is not None for g in h.grad_out):
            parts.append("<div>returned " + ", ".join(
                f"<code>{e(one_line(g, 64))}</code>" for g in h.grad_out) + "</div>")
        if h.error:
            parts.append(f'<div class="agv-error">raised {e(h.error)}</div>')
        parts.append("</div>")
    parts.append("</div>")
    return "".join(parts)


# --------------------------------------------------------------------------- stepper


@dataclass
class FlatStep:
    """One executed node, numbered across all backward runs of the cell."""

    run: BackwardRun
    number: int  # 1-based within the run
    step: BackwardStep


class FlatSteps(Sequence):
    """Every executed node of ``graph``'s backward runs as a :class:`FlatStep`, numbered
    across the runs (index 0 is step 1), each made when asked for: a recorded training loop
    has tens of thousands, and the stepper shows one at a time."""

    def __init__(self, graph: Graph) -> None:
        self._runs = [r for r in graph.runs if r.steps]
        self._ends = list(itertools.accumulate(len(r.steps) for r in self._runs))

    def __len__(self) -> int:
        return self._ends[-1] if self._ends else 0

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        n = len(self)
        j = i + n if i < 0 else i
        if not 0 <= j < n:
            raise IndexError("step index out of range")
        r = bisect.bisect_right(self._ends, j)
        run = self._runs[r]
        k = j - (self._ends[r - 1] if r else 0)
        return FlatStep(run, k + 1, run.steps[k])


def flat_steps(graph: Graph) -> FlatSteps:
    """The executed nodes of ``graph``, numbered across its backward runs."""
    return FlatSteps(graph)


def _grads_io(graph: Graph, o: OpNode | None, s: BackwardStep) -> str:
    rows = ['<div class="agv-io">']
    outs = o.outputs if o is not None else []
    rows.append('<div class="agv-io-col agv-io-in"><div class="agv-io-title">gradient in</div>')
    for i, g in enumerate(s.grads_in):
        src = f" for {e(graph.label(outs[i]))}" if i < len(outs) else ""
        rows.append(f'<div class="agv-io-item"><span class="agv-io-k">grad_output[{i}]{src}</span>'
                    f"{pre(g)}</div>")
    if not s.grads_in:
        rows.append('<div class="agv-none">—</div>')
    rows.append("</div>")
    rows.append('<div class="agv-io-arrow">→</div>')
    rows.append('<div class="agv-io-col agv-io-out"><div class="agv-io-title">gradient out</div>')
    nf = o.next_functions if o is not None else []
    ins = o.inputs if o is not None else []
    for i, g in enumerate(s.grads_out):
        to = ""
        if i < len(ins) and ins[i] is not None:
            to = f" → {e(graph.label(ins[i]))}"
        elif i < len(nf) and nf[i][0] is not None:
            to = f" → {e(graph.label(nf[i][0]))}"
        rows.append(f'<div class="agv-io-item"><span class="agv-io-k">grad_input[{i}]{to}</span>'
                    f"{pre(g)}</div>")
    if not s.grads_out:
        if o is not None and o.kind == "accumulate":
            target = graph.label(o.variable) if o.variable else "the leaf"
            rows.append(
                f'<div class="agv-sub">accumulated into <code>{e(target)}.grad</code></div>')
        else:
            rows.append('<div class="agv-none">—</div>')
    rows.append("</div></div>")
    return "".join(rows)


def step_html(graph: Graph, steps: Sequence[FlatStep], k: int,
              folded_into: Summary | None = None) -> str:
    """The card under the stepper: step ``k`` (1-based over all runs; 0 = before backward).
    ``folded_into``: the summary node the running node is drawn inside, if collapsed."""
    if not steps:
        return (f'<div class="{_ROOT} agv-step agv-empty">No backward call in this cell: '
                "call <code>.backward()</code> to step through the gradient flow.</div>")
    if k <= 0 or k > len(steps):
        return (f'<div class="{_ROOT} agv-step agv-empty">Press ▶ or move the slider to replay '
                f"backward, one node at a time ({len(steps)} step"
                f"{'s' if len(steps) != 1 else ''} in {len(graph.runs)} run"
                f"{'s' if len(graph.runs) != 1 else ''}).</div>")
    fs = steps[k - 1]
    try:
        o = graph.op(fs.step.op)
    except KeyError:
        o = None
    roots = ", ".join(graph.label(x) for x in fs.run.roots)
    name = o.name if o is not None else fs.step.op
    folded = ""
    if folded_into is not None:
        folded = (f'<div class="agv-sub agv-folded">drawn inside the collapsed box '
                  f'<span class="agv-ref" data-node="{e(folded_into.id)}">{e(folded_into.id)}'
                  f"</span> ({folded_into.size:,} nodes)</div>")
    return (
        f'<div class="{_ROOT} agv-step" data-node="{e(fs.step.op)}">'
        '<div class="agv-step-head">'
        f'<span class="agv-step-n">step {fs.number}/{len(fs.run.steps)}</span>'
        f' <span class="agv-sub">{e(fs.run.id)} · {e(fs.run.kind)}({e(roots)})</span> '
        f'<span class="agv-name">{e(name)}</span> <span class="agv-id">{e(fs.step.op)}</span></div>'
        + folded
        + _grads_io(graph, o, fs.step)
        + "</div>"
    )


def step_label(graph: Graph, steps: Sequence[FlatStep], k: int) -> str:
    """The short text beside the slider."""
    if not steps:
        return "no backward"
    if k <= 0 or k > len(steps):
        return f"before backward · {len(steps)} steps"
    fs = steps[k - 1]
    try:
        name = graph.op(fs.step.op).name
    except KeyError:
        name = fs.step.op
    return f"{fs.run.id} · step {fs.number}/{len(fs.run.steps)} · {name}"


# --------------------------------------------------------------------------- timeline


def timeline_html(graph: Graph) -> str:
    """Per leaf (and ``retain_grad`` tensor): ``.grad`` after each backward call and reset."""
    from ..render import timelines

    rows = timelines(graph)
    if not rows:
        return ""
    parts = [f'<div class="{_ROOT} agv-timeline"><h4><code>.grad</code> over this cell\'s '
             "backward calls</h4><table>"]
    for tid, entries in rows:
        parts.append(f'<tr><th><span class="agv-ref" data-node="{e(tid)}">'
                     f"{e(graph.label(tid))}</span></th><td>")
        for word, kind, value in ends(entries, MAX_TIMELINE_PANEL):
            if value is CUT:
                parts.append(f'<span class="agv-ev agv-ev-cut">… {e(word)} more</span>')
                continue
            parts.append(f'<span class="agv-ev agv-ev-{e(kind)}">'
                         f'<span class="agv-ev-w">{e(word)}</span>'
                         f"<code>{e(one_line(value, 40))}</code></span>")
        parts.append("</td></tr>")
    parts.append("</table></div>")
    return "".join(parts)

