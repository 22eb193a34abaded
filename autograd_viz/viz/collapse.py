"""Shrink a large drawing to at most ``max_nodes`` nodes, deterministically, in linear time.

1. Long chains (nodes with exactly one core predecessor and one core successor) lose their
   middle, keeping ``keep_ends`` nodes at each end (more when ``max_nodes`` is larger);
   longest chains first, until the graph fits. Nodes in ``keep`` (named tensors, hooks,
   outputs, highlights) break chains and are never hidden by this step. Leaves and
   constants that only feed a collapsed stretch go with it.
2. If it still does not fit, the nodes nearest the outputs are kept (breadth first towards the
   inputs) and each connected rest becomes one summary node.
Summary nodes carry counts per group (op name, "tensor", ...).
"""
from __future__ import annotations

from dataclasses import dataclass, field

MAX_SUMMARIES = 8


@dataclass
class Summary:
    """A node standing for ``size`` hidden nodes; ``counts`` are (group, count), largest first."""

    id: str
    size: int
    counts: list[tuple[str, int]] = field(default_factory=list)


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


def collapse(
    nodes: list[str],
    edges: list[tuple[str, str]],
    group: dict[str, str],
    peripheral: set[str],
    max_nodes: int,
    keep_ends: int | None = None,
    keep: set[str] | frozenset[str] = frozenset(),
) -> Collapsed:
    """Decide which of ``nodes`` to hide so that at most ``max_nodes`` are drawn."""
    if keep_ends is None:
        keep_ends = max(2, min(12, max_nodes // 25))
    total = len(nodes)
    if max_nodes <= 0 or total <= max_nodes:
        return Collapsed({}, [], total)
    succ: dict[str, list[str]] = {n: [] for n in nodes}
    pred: dict[str, list[str]] = {n: [] for n in nodes}
    for s, d in edges:
        if s in succ and d in succ and s != d:
            succ[s].append(d)
            pred[d].append(s)
    owner: dict[str, int] = {}  # node -> index into members
    members: list[list[str]] = []
    shown = total
    shown = _chains(nodes, succ, pred, peripheral, keep, max_nodes, keep_ends, owner, members,
                    shown)
    if shown > max_nodes:
        _budget(nodes, succ, pred, max_nodes, owner, members, keep)
    # number the summaries in order of their first member, count the groups
    index = {n: k for k, n in enumerate(nodes)}
    order = sorted(
        range(len(members)), key=lambda i: min(map(index.__getitem__, members[i]), default=total)
    )
    hidden: dict[str, str] = {}
    summaries: list[Summary] = []
    for new, i in enumerate(x for x in order if members[x]):
        sid = f"sum{new}"
        counts: dict[str, int] = {}
        for n in sorted(members[i], key=index.__getitem__):
            hidden[n] = sid
            g = group.get(n, "node")
            counts[g] = counts.get(g, 0) + 1
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        summaries.append(Summary(sid, len(members[i]), ranked))
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


def _chains(nodes, succ, pred, peripheral, keep, max_nodes, keep_ends, owner, members,  # noqa: ANN001
            shown) -> int:  # noqa: ANN001
    # the one core predecessor / successor of each core node (None: zero or several);
    # kept nodes count as neither, so they end chains
    skip = peripheral | keep
    one_pred: dict[str, str | None] = {}
    one_succ: dict[str, str | None] = {}
    for n in nodes:
        if n in skip:
            continue
        one_pred[n] = _only(pred[n], peripheral)
        one_succ[n] = _only(succ[n], peripheral)

    def chainable(n: str | None) -> bool:
        return n is not None and one_pred.get(n) is not None and one_succ.get(n) is not None

    runs: list[list[str]] = []
    seen: set[str] = set()
    for n in nodes:
        if n in seen or not chainable(n) or chainable(one_pred[n]):
            continue
        run = [n]
        seen.add(n)
        cur = n
        while True:
            nxt = one_succ[cur]
            if nxt in seen or not chainable(nxt):
                break
            run.append(nxt)
            seen.add(nxt)
            cur = nxt
        if len(run) > 2 * keep_ends + 2:
            runs.append(run)
    runs.sort(key=lambda r: -len(r))  # stable: ties keep graph order
    for run in runs:
        if shown <= max_nodes:
            break
        middle = run[keep_ends : len(run) - keep_ends]
        k = len(members)
        members.append(list(middle))
        for m in middle:
            owner[m] = k
        shown -= len(middle) - 1
        # leaves/constants that feed only this stretch go with it
        work = [p for m in middle for p in pred[m]
                if p in peripheral and p not in owner and p not in keep]
        while work:
            p = work.pop()
            if p in owner or not succ[p] or any(owner.get(s) != k for s in succ[p]):
                continue
            owner[p] = k
            members[k].append(p)
            shown -= 1
            work.extend(q for q in pred[p] if q in peripheral and q not in owner and q not in keep)
    return shown


def _budget(nodes, succ, pred, max_nodes, owner, members, keep) -> None:  # noqa: ANN001
    """Keep what is nearest the outputs; fold each connected rest into one summary."""
    unit = {n: (f"#{owner[n]}" if n in owner else n) for n in nodes}
    units: list[str] = []
    u_succ: dict[str, list[str]] = {}
    u_pred: dict[str, list[str]] = {}
    for n in nodes:
        u = unit[n]
        if u not in u_succ:
            units.append(u)
            u_succ[u], u_pred[u] = [], []
    for n in nodes:
        for d in succ[n]:
            a, b = unit[n], unit[d]
            if a != b:
                u_succ[a].append(b)
                u_pred[b].append(a)
    budget = max(1, max_nodes - min(MAX_SUMMARIES, max(1, max_nodes // 10)))
    kept: set[str] = set()
    queue = [u for u in units if not u_succ[u]] or units[:1]
    queue += [u for u in units if u in keep and u_succ[u]][: budget // 4]
    head = 0
    for u in queue:
        kept.add(u)
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
    new_members: list[list[str]] = []
    for g in groups:
        ms: list[str] = []
        for u in g:
            if u.startswith("#"):
                k = int(u[1:])
                ms.extend(members[k])
                members[k] = []
            else:
                ms.append(u)
        new_members.append(ms)
    base = len(members)
    for j, ms in enumerate(new_members):
        members.append(ms)
        for m in ms:
            owner[m] = base + j
