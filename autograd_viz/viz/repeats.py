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
    """``(nodes, title)`` per group of alike iterations: the nodes of its middle runs (their
    ops, the tensors those ops made and the inputs only they used; never a node in
    ``keep`` or an ``AccumulateGrad``, which the iterations share), among ``drawn``."""
    ops = {o.id: o for o in graph.ops}
    runs_of: dict[str, int] = {}
    for r in graph.runs:
        for s in r.steps:
            runs_of[s.op] = runs_of.get(s.op, 0) + 1

    def own_ops(r: BackwardRun) -> list[str] | None:
        """The run's ops if it ran them alone (a graph of its own), else None."""
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
        ms = _members([o for _, mine in middle for o in mine], graph, drawn, keep)
        if ms:
            title = (f"{len(middle):,} more iterations like {grp[0][0]} "
                     f"({middle[0][0]} … {middle[-1][0]})")
            out.append((ms, title))
    return out


def _members(op_ids: list[str], graph: Graph, drawn: set[str], keep: set[str]) -> list[str]:
    """The ops, the tensors they made, and the inputs used by nothing else (drawn ones)."""
    mine = {o for o in op_ids if o in drawn and o not in keep}
    made = {t.id for t in graph.tensors
            if t.grad_fn in mine and t.id in drawn and t.id not in keep}
    inside = mine | made
    users: dict[str, set[str]] = {}
    for e in graph.edges:
        if e.dst in drawn:
            users.setdefault(e.src, set()).add(e.dst)
    only_here = {t.id for t in graph.tensors
                 if t.id in drawn and t.id not in keep and t.id not in inside
                 and t.role != "intermediate" and users.get(t.id)
                 and users[t.id] <= inside}
    tensors = made | only_here
    return [o for o in op_ids if o in mine] + [t.id for t in graph.tensors if t.id in tensors]
