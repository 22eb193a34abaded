"""Find the iterations of a recorded loop, so that a drawing shows a few of them.

A training loop recorded for 100 steps builds 100 copies of one graph hanging off the same
parameters: drawn side by side they make a strip tens of thousands of pixels wide that
Graphviz takes long to lay out and nobody reads. Here consecutive backward runs that
executed the same ops in the same order, each on a graph of its own, are grouped; of a group
of at least :data:`MIN_RUNS`, the first and the last iterations stay drawn and the ones
between are folded into one summary node (``max_nodes=0`` draws everything).
"""
from __future__ import annotations

import bisect

from .model import BackwardRun, Graph

#: Fold the middle of at least this many alike consecutive backward runs.
MIN_RUNS = 6


def repeated_runs(graph: Graph, drawn: set[str], keep: set[str],
                  min_runs: int = MIN_RUNS) -> list[tuple[list[str], str]]:
    """``(nodes, title)`` per group of at least ``min_runs`` alike iterations: the drawn
    nodes of its middle ones (see :func:`_iterations`), never one in ``keep``."""
    ops = {o.id: o for o in graph.ops}
    runs_of: dict[str, int] = {}
    for r in graph.runs:
        for s in r.steps:
            runs_of[s.op] = runs_of.get(s.op, 0) + 1

    def own_ops(r: BackwardRun) -> list[str] | None:
        """The run's ops if it ran them alone (a graph of its own), else None."""
        if any(s.op not in ops for s in r.steps):  # (a hand-made graph may lack some)
            return None
        found = [s.op for s in r.steps if ops[s.op].kind != "accumulate"]
        return found if found and all(runs_of[o] == 1 for o in found) else None

    groups: list[list[tuple[str, list[str]]]] = []
    last_sig: tuple | None = None
    for r in graph.runs:
        mine = own_ops(r)
        sig = None if mine is None else (r.kind, tuple(ops[o].name for o in mine))
        if sig is None or sig != last_sig:
            groups.append([])
        if sig is not None:
            groups[-1].append((r.id, mine))
        last_sig = sig
    labels = None
    out = []
    for grp in groups:
        if len(grp) < min_runs:
            continue
        if labels is None:
            labels = _iterations(graph, drawn, [run for g in groups for run in g])
        middle = {rid for rid, _ in grp[1:-1]}
        ms = [n for n, rid in labels.items() if rid in middle and n not in keep]
        if ms:
            first, inner = grp[0][0], grp[1:-1]
            title = (f"{len(inner):,} more iterations like {first} "
                     f"({inner[0][0]} … {inner[-1][0]})")
            out.append((ms, title))
    return out


def _iterations(graph: Graph, drawn: set[str],
                runs: list[tuple[str, list[str]]]) -> dict[str, str]:
    """Drawn node -> the run (iteration) it belongs to: a run's own ops, then breadth first
    from all of them at once through everything that iterations do not share (each node
    goes to the nearest run), so an iteration's data, the metric computed from its output
    and the like go with it. Shared are AccumulateGrad nodes and tensors no drawn op made
    (parameters, data made before the loop); such a tensor goes with an iteration only when
    nothing else uses it. A node connected to no run goes with the last run whose graph was
    recorded before it."""
    adj: dict[str, list[str]] = {}
    made: set[str] = set()
    for e in graph.edges:
        if e.kind != "saved" and e.src in drawn and e.dst in drawn:
            adj.setdefault(e.src, []).append(e.dst)
            adj.setdefault(e.dst, []).append(e.src)
            made.add(e.dst)
    shared = {t.id for t in graph.tensors if t.role != "intermediate" and t.id not in made}
    shared |= {o.id for o in graph.ops if o.kind == "accumulate"}
    label: dict[str, str] = {}

    def spread(frontier: list[str]) -> None:
        while frontier:
            nxt = []
            for n in frontier:
                for m in adj.get(n, ()):
                    if m not in label and m not in shared:
                        label[m] = label[n]
                        nxt.append(m)
            frontier = nxt

    first: list[str] = []
    for rid, own in runs:
        for o in own:
            if o in drawn and o not in label:
                label[o] = rid
                first.append(o)
    spread(first)
    index = {o.id: k for k, o in enumerate(graph.ops)}
    starts = sorted((min(index[o] for o in own), rid) for rid, own in runs)
    keys = [k for k, _ in starts]
    for k, o in enumerate(graph.ops):
        if o.id in drawn and o.id not in label and o.id not in shared:
            at = bisect.bisect_right(keys, k) - 1
            if at >= 0:
                label[o.id] = starts[at][1]
                spread([o.id])
    found = dict(label)  # (what shared nodes get depends on these only: any order will do)
    for t in shared:
        users = {found.get(u) for u in adj.get(t, ())}
        if len(users) == 1 and None not in users:
            label[t] = users.pop()  # type: ignore[assignment]
    return label
