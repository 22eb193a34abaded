"""Shrink a large drawing so that Graphviz lays it out quickly, deterministically.

Two measures must fit: the number of drawn nodes (``max_nodes``) and the layout cost, which
is the drawn nodes plus the virtual nodes ``dot`` inserts along edges spanning several ranks
(a leaf shared by ops far apart costs far more than its one node; ``dot``'s time grows much
faster than linearly in that cost). Cycles (an op and the output it saved, when saved
tensors are drawn) are broken before ranking, as ``dot`` breaks them, and labelled edges get
half the budget (:func:`default_max_cost`).

1. Long chains (nodes with exactly one core predecessor and one core successor) lose their
   middle, keeping ``keep_ends`` nodes at each end; longest chains first, until the node
   count fits (and all of them if the cost still does not). Nodes in ``keep`` (named tensors,
   hooks, outputs, highlights) break chains. Leaves and constants that only feed a collapsed
   stretch go with it.
2. If it still does not fit, the nodes nearest the outputs are kept (breadth first towards the
   inputs, fewer each round until both measures fit) and each connected rest becomes one
   summary node.
Summary nodes carry counts per group (op name, "tensor", ...). Groups the caller folds before
all this (``repeats``: the middle iterations of a training loop, see ``viz.repeats``) are
summary nodes with a title of their own.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

MAX_SUMMARIES = 8
#: Default layout-cost allowance per allowed node.
COST_PER_NODE = 5
#: Layout cost that is always allowed (dot lays this out in well under a second).
MIN_COST = 2000


@dataclass
class Summary:
    """A node standing for ``size`` hidden nodes; ``counts`` are (group, count), largest first."""

    id: str
    size: int
    counts: list[tuple[str, int]] = field(default_factory=list)
    #: What the hidden nodes are, where the caller said so (repeated iterations).
    title: str | None = None


@dataclass
class Collapsed:
    """Result of :func:`collapse`: which node went into which summary."""

    hidden: dict[str, str]
    summaries: list[Summary]
    total: int

    @property
    def shown(self) -> int:
        """Nodes drawn, summaries included."""
        return self.total - len(self.hidden) + len(self.summaries)


class _Graph:
    """Adjacency of the nodes to draw, plus which nodes are folded into which summary."""

    def __init__(self, nodes: list[str], edges: list[tuple[str, str]]) -> None:
        self.nodes = nodes
        self.succ: dict[str, list[str]] = {n: [] for n in nodes}
        self.pred: dict[str, list[str]] = {n: [] for n in nodes}
        for s, d in edges:
            if s in self.succ and d in self.succ and s != d:
                self.succ[s].append(d)
                self.pred[d].append(s)
        self.owner: dict[str, int] = {}
        self.members: list[list[str]] = []
        self.titles: list[str | None] = []

    def fold(self, ms: list[str], title: str | None = None) -> int:
        k = len(self.members)
        self.members.append(ms)
        self.titles.append(title)
        for m in ms:
            self.owner[m] = k
        return k

    def shown(self) -> int:
        return len(self.nodes) - len(self.owner) + sum(1 for m in self.members if m)

    def units(self) -> tuple[list[str], dict[str, list[str]], dict[str, list[str]]]:
        """The drawn graph: kept nodes and one ``#k`` per summary, deduplicated edges."""
        owner = self.owner
        unit = {n: (f"#{owner[n]}" if n in owner else n) for n in self.nodes}
        units: list[str] = []
        u_succ: dict[str, list[str]] = {}
        u_pred: dict[str, list[str]] = {}
        for n in self.nodes:
            u = unit[n]
            if u not in u_succ:
                units.append(u)
                u_succ[u], u_pred[u] = [], []
        seen: set[tuple[str, str]] = set()
        for n in self.nodes:
            a = unit[n]
            for d in self.succ[n]:
                b = unit[d]
                if a != b and (a, b) not in seen:
                    seen.add((a, b))
                    u_succ[a].append(b)
                    u_pred[b].append(a)
        return units, u_succ, u_pred

    def cost(self) -> int:
        """Drawn nodes plus the virtual nodes of edges spanning ranks (ranks: longest path,
        then every node pulled up to just below its first consumer, as ``dot`` would; a
        cycle, such as an op and the output it saved, is broken first as ``dot`` breaks it,
        by turning round the edges that a depth-first search finds going back)."""
        units, succ, _ = self.units()
        back = _back_edges(units, succ)
        fwd = {u: [v for v in succ[u] if (u, v) not in back] for u in units} if back else succ
        indeg = dict.fromkeys(units, 0)
        for u in units:
            for v in fwd[u]:
                indeg[v] += 1
        order = [u for u in units if indeg[u] == 0]
        rank = dict.fromkeys(units, 0)
        i = 0
        while i < len(order):
            u = order[i]
            i += 1
            for v in fwd[u]:
                rank[v] = max(rank[v], rank[u] + 1)
                indeg[v] -= 1
                if indeg[v] == 0:
                    order.append(v)
        for u in reversed(order):
            if fwd[u]:
                rank[u] = min(rank[v] for v in fwd[u]) - 1
        virtual = sum(max(0, abs(rank[v] - rank[u]) - 1) for u in units for v in succ[u])
        return len(units) + virtual


def _back_edges(units: list[str], succ: dict[str, list[str]]) -> set[tuple[str, str]]:
    """Edges that close a cycle, found by a depth-first search from each unvisited unit in
    order (without a cycle: none)."""
    state: dict[str, int] = {}  # 1: on the search path, 2: done
    back: set[tuple[str, str]] = set()
    for root in units:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(succ[root]))]
        while stack:
            u, it = stack[-1]
            for v in it:
                s = state.get(v)
                if s is None:
                    state[v] = 1
                    stack.append((v, iter(succ[v])))
                    break
                if s == 1:
                    back.add((u, v))
            else:
                state[u] = 2
                stack.pop()
    return back


def default_max_cost(max_nodes: int, labelled: bool = False) -> int:
    """The layout cost allowed for ``max_nodes`` drawn nodes: ``MIN_COST`` or
    ``COST_PER_NODE * max_nodes``, whichever is larger; half that where many edges carry
    labels (``dot`` then doubles every edge's rank span and lays the labels out as nodes:
    a 93-node chain drawing with its saved tensors' labelled edges took 1.0 s against
    0.08 s without)."""
    cost = max(MIN_COST, COST_PER_NODE * max_nodes)
    return cost // 2 if labelled else cost


def collapse(
    nodes: list[str],
    edges: list[tuple[str, str]],
    group: Callable[[str], str],
    peripheral: set[str],
    max_nodes: int,
    keep_ends: int | None = None,
    keep: set[str] | frozenset[str] = frozenset(),
    max_cost: int | None = None,
    repeats: list[tuple[list[str], str]] | None = None,
) -> Collapsed:
    """Decide which of ``nodes`` to hide so that at most ``max_nodes`` are drawn and the
    layout cost stays under ``max_cost`` (default: ``MIN_COST`` or ``COST_PER_NODE *
    max_nodes``, whichever is larger). ``repeats`` are ``(nodes, title)`` groups folded
    first, each into a summary with that title, whatever the size."""
    total = len(nodes)
    if max_nodes <= 0:
        return Collapsed({}, [], total)
    if keep_ends is None:
        keep_ends = max(2, min(12, max_nodes // 25))
    if max_cost is None:
        max_cost = default_max_cost(max_nodes)
    g = _Graph(nodes, edges)
    for ms, title in repeats or ():
        g.fold([m for m in ms if m in g.succ and m not in g.owner], title)
    if g.shown() <= max_nodes and g.cost() <= max_cost:
        return _result(g, group, total)
    _chains(g, peripheral, keep, keep_ends, max_nodes)
    fits = g.shown() <= max_nodes and g.cost() <= max_cost
    if not fits and g.shown() <= max_nodes:
        _chains(g, peripheral, keep, keep_ends, 0)
        fits = g.cost() <= max_cost
    if not fits:
        owner, members, titles = dict(g.owner), [list(m) for m in g.members], list(g.titles)
        budget = max_nodes - min(MAX_SUMMARIES, max(1, max_nodes // 10))
        while True:
            _budget(g, max(1, budget), keep)
            if (g.shown() <= max_nodes and g.cost() <= max_cost) or budget <= 8:
                break
            g.owner, g.members = dict(owner), [list(m) for m in members]
            g.titles = list(titles)
            budget = budget * 2 // 3
    return _result(g, group, total)


def _result(g: _Graph, group: Callable[[str], str], total: int) -> Collapsed:
    """Number the summaries in order of their first member and count their groups."""
    index = {n: k for k, n in enumerate(g.nodes)}
    filled = [(ms, title) for ms, title in zip(g.members, g.titles) if ms]
    filled.sort(key=lambda mt: min(map(index.__getitem__, mt[0])))
    hidden: dict[str, str] = {}
    summaries: list[Summary] = []
    for k, (ms, title) in enumerate(filled):
        sid = f"sum{k}"
        counts: dict[str, int] = {}
        for n in sorted(ms, key=index.__getitem__):
            hidden[n] = sid
            name = group(n)
            counts[name] = counts.get(name, 0) + 1
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        summaries.append(Summary(sid, len(ms), ranked, title))
    return Collapsed(hidden, summaries, total)


def _only(xs: list[str], skip: set[str]) -> str | None:
    found = None
    for x in xs:
        if x in skip or x == found:
            continue
        if found is not None:
            return None
        found = x
    return found


def _chains(g: _Graph, peripheral: set[str], keep: set[str] | frozenset[str],
            keep_ends: int, target: int) -> None:
    """Fold the middles of long chains, longest first, until ``g.shown() <= target``."""
    skip = peripheral | keep
    one_pred: dict[str, str | None] = {}
    one_succ: dict[str, str | None] = {}
    owner = g.owner
    for n in g.nodes:  # the one core neighbour each way (None: zero or several)
        if n in skip or n in owner:
            continue
        ps, ss = g.pred[n], g.succ[n]
        if len(ps) == 1:
            one_pred[n] = None if ps[0] in peripheral else ps[0]
        else:
            one_pred[n] = _only(ps, peripheral)
        if len(ss) == 1:
            one_succ[n] = None if ss[0] in peripheral else ss[0]
        else:
            one_succ[n] = _only(ss, peripheral)

    def chainable(n: str | None) -> bool:
        return n is not None and one_pred.get(n) is not None and one_succ.get(n) is not None

    runs: list[list[str]] = []
    seen: set[str] = set()
    for n in g.nodes:
        if n in seen or not chainable(n) or chainable(one_pred[n]):
            continue
        run = [n]
        seen.add(n)
        nxt = one_succ[n]
        while nxt not in seen and chainable(nxt):
            run.append(nxt)
            seen.add(nxt)
            nxt = one_succ[nxt]
        if len(run) > 2 * keep_ends + 2:
            runs.append(run)
    runs.sort(key=lambda r: -len(r))  # stable: ties keep graph order
    shown = g.shown()
    for run in runs:
        if shown <= target:
            break
        middle = run[keep_ends : len(run) - keep_ends]
        k = g.fold(list(middle))
        shown -= len(middle) - 1
        # leaves/constants that feed only this stretch go with it
        work = [p for m in middle for p in g.pred[m]
                if p in peripheral and p not in g.owner and p not in keep]
        while work:
            p = work.pop()
            if p in g.owner or not g.succ[p] or any(g.owner.get(s) != k for s in g.succ[p]):
                continue
            g.owner[p] = k
            g.members[k].append(p)
            shown -= 1
            work.extend(q for q in g.pred[p]
                        if q in peripheral and q not in g.owner and q not in keep)


def _budget(g: _Graph, budget: int, keep: set[str] | frozenset[str]) -> None:
    """Keep ``budget`` units nearest the outputs; fold each connected rest into a summary."""
    units, u_succ, u_pred = g.units()
    kept: set[str] = set()
    queue = [u for u in units if not u_succ[u]] or units[:1]
    queue += [u for u in units if u in keep and u_succ[u]][: budget // 4]
    kept.update(queue)
    head = 0
    while head < len(queue) and len(kept) < budget:
        u = queue[head]
        head += 1
        for p in u_pred[u]:
            if p not in kept and len(kept) < budget:
                kept.add(p)
                queue.append(p)
    if len(kept) > budget:  # too many sinks: keep the first ones only
        kept = set([u for u in units if u in kept][:budget])
    comp: dict[str, int] = {}
    groups: list[list[str]] = []
    for u in units:
        if u in kept or u in comp:
            continue
        c = len(groups) if len(groups) < MAX_SUMMARIES else MAX_SUMMARIES - 1
        if c == len(groups):
            groups.append([])
        stack = [u]
        comp[u] = c
        while stack:
            x = stack.pop()
            groups[c].append(x)
            for y in u_succ[x] + u_pred[x]:
                if y not in kept and y not in comp:
                    comp[y] = c
                    stack.append(y)
    for grp in groups:
        ms: list[str] = []
        for u in grp:
            if u.startswith("#"):
                k = int(u[1:])
                ms.extend(g.members[k])
                g.members[k] = []
            else:
                ms.append(u)
        g.fold(ms)
