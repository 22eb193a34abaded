"""Find the iterations of a recorded loop, so that a drawing shows a few of them.

A training loop recorded for 100 steps builds 100 copies of one graph hanging off the same
parameters: drawn side by side they make a strip tens of thousands of pixels wide that
Graphviz takes long to lay out and nobody reads. Here consecutive backward runs that
executed the same ops in the same order, each on a graph of its own, are grouped; of a group
of at least :data:`MIN_RUNS`, the first and the last iterations stay drawn and the ones
between are folded into one summary node (``max_nodes=0`` draws everything).
"""
from __future__ import annotations

from .model import BackwardRun, Graph

#: Fold the middle of at least this many alike consecutive backward runs.
MIN_RUNS = 6


def repeated_runs(graph: Graph, drawn: set[str], keep: set[str],
                  min_runs: int = MIN_RUNS) -> list[tuple[list[str], str]]:
    """``(nodes, title)`` per group of alike iterations: the nodes of its middle ones, among
    ``drawn``: the ops recorded from the first op of its second run's graph up to the
    first op of its last run's graph (the middle iterations' forward passes and whatever
    else they computed, such as a metric), the tensors those ops made, the inputs only
    they used and what hangs off them alone; never a node in ``keep`` or an
    ``AccumulateGrad``, which the iterations share."""
    ops = {o.id: o for o in graph.ops}
    index = {o.id: k for k, o in enumerate(graph.ops)}
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
    out = []
    for grp in groups:
        if len(grp) < min_runs:
            continue
        middle = grp[1:-1]
        lo = min(index[o] for o in middle[0][1])
        hi = min(index[o] for o in grp[-1][1])
        ms = _members([o.id for o in graph.ops[lo:hi] if o.kind != "accumulate"],
                      graph, drawn, keep)
        if ms:
            title = (f"{len(middle):,} more iterations like {grp[0][0]} "
                     f"({middle[0][0]} … {middle[-1][0]})")
            out.append((ms, title))
    return out


def _members(op_ids: list[str], graph: Graph, drawn: set[str], keep: set[str]) -> list[str]:
    """The ops, the tensors they made, the inputs used by nothing else, and what hangs off
    them alone (a metric computed from an iteration's output), among ``drawn``."""
    mine = {o for o in op_ids if o in drawn and o not in keep}
    inside = mine | {t.id for t in graph.tensors
                     if t.grad_fn in mine and t.id in drawn and t.id not in keep}
    users: dict[str, set[str]] = {}
    preds: dict[str, set[str]] = {}
    for e in graph.edges:
        if e.src in drawn and e.dst in drawn and e.kind != "saved":
            users.setdefault(e.src, set()).add(e.dst)
            preds.setdefault(e.dst, set()).add(e.src)
    # (inputs that no drawn op made: parameters, data; an untracked op's output is not one)
    shared = {t.id for t in graph.tensors if t.role != "intermediate" and not preds.get(t.id)}
    shared |= {o.id for o in graph.ops if o.kind == "accumulate"}
    inside |= {t for t in shared if t in drawn and t not in keep and users.get(t)
               and users[t] <= inside}
    rest = [n for n in (*(o.id for o in graph.ops), *(t.id for t in graph.tensors))
            if n in drawn and n not in inside and n not in keep and n not in shared]
    grew = True
    while grew:  # (downstream first seen, then what hangs off it)
        grew = False
        for n in rest:
            ps = preds.get(n)
            if n not in inside and ps and not ps.isdisjoint(inside) \
                    and all(p in inside or p in shared for p in ps):
                inside.add(n)
                grew = True
    return [o.id for o in graph.ops if o.id in inside] + \
        [t.id for t in graph.tensors if t.id in inside]
