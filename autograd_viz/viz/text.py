"""A readable text rendering of a graph model, for terminals and machines without ``dot``."""
from __future__ import annotations

from .labels import shape_text, stats_text
from .model import BackwardRun, Graph, OpNode, Preview, TensorNode

MAX_DEPTH = 24


def _one_line(p: Preview | None, limit: int = 70) -> str:
    if p is None:
        return "None"
    if p.values is None and p.stats is not None:
        return f"<{shape_text(p.shape)} {stats_text(p)}>"
    s = " ".join(x.strip() for x in p.text.split("\n"))
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _tensor_line(t: TensorNode) -> str:
    name = t.name or t.id
    if t.name and t.version:
        name += f" (v{t.version})"
    tags = [t.role if not t.is_output else "output"]
    if t.retains_grad:
        tags.append("retain_grad")
    if t.hooks:
        tags.append(f"hook ×{t.hooks}")
    grad = _one_line(t.grad) if t.grad is not None else f"None ({t.grad_note})"
    return (
        f"{name} [{', '.join(tags)}] {shape_text(t.shape)} {t.dtype}"
        f"{'' if t.device == 'cpu' else ' ' + t.device} = {_one_line(t.value)}"
        f"  grad: {grad}"
    )


def _op_line(o: OpNode) -> str:
    extra = []
    if o.kind == "untracked":
        extra.append("no grad")
    if o.created_in:
        extra.append(f"create_graph {o.created_in}")
    return f"{o.name} ({o.id})" + (f" [{', '.join(extra)}]" if extra else "")


def to_text(graph: Graph, max_lines: int = 400) -> str:
    """The graph as an indented tree from the outputs down to the leaves, followed by the
    backward runs (execution order, grads, hooks and what they printed) and ``.grad``
    history. At most ``max_lines`` lines of tree are printed; of many backward runs, the
    first and the last few."""
    tensors = {t.id: t for t in graph.tensors}
    ops = {o.id: o for o in graph.ops}
    children: dict[str, list[str]] = {}
    has_parent: set[str] = set()
    for e in graph.edges:
        if e.kind == "saved":
            continue
        children.setdefault(e.dst, []).append(e.src)
        has_parent.add(e.src)

    def short(n: str) -> str:
        return f"{ops[n].name} ({n})" if n in ops else (tensors[n].name or n)

    def line(n: str) -> str:
        return _op_line(ops[n]) if n in ops else _tensor_line(tensors[n])

    head = (
        f"autograd graph ({graph.source}): {len(graph.tensors)} tensors, {len(graph.ops)} ops, "
        f"{len(graph.runs)} backward run(s)"
    )
    out = [head]
    if graph.incomplete:
        out.append(f"! incomplete: {graph.error or 'the recorded code raised'}")
    out.extend(f"! {n}" for n in graph.notes)
    roots = [t.id for t in graph.tensors if t.is_output]
    roots += [n for n in list(ops) + list(tensors) if n not in has_parent and n not in roots]
    roots = [r for r in roots if not (r in tensors and tensors[r].saved_only)]
    shown: set[str] = set()
    tree: list[str] = []
    cut = False
    for r in roots:
        if r in shown:
            continue
        stack: list[tuple[str, str, str, int]] = [(r, "", "", 0)]
        while stack:
            n, lead, rest, depth = stack.pop()
            if len(tree) >= max_lines:
                cut = True
                break
            if n in shown:
                tree.append(f"{lead}{short(n)} (shown above)")
                continue
            shown.add(n)
            tree.append(lead + line(n))
            kids = children.get(n, [])
            if depth >= MAX_DEPTH and kids:
                if depth == MAX_DEPTH:
                    tree.append(rest + "└── … (deeper nodes are not indented further)")
                    rest += "    "
                stack.extend((k, rest, rest, depth + 1) for k in reversed(kids))
                continue
            for i, k in reversed(list(enumerate(kids))):
                last = i == len(kids) - 1
                stack.append((k, rest + ("└── " if last else "├── "),
                              rest + ("    " if last else "│   "), depth + 1))
        if cut:
            break
    out.extend(tree)
    if cut:
        hidden = len(graph.tensors) + len(graph.ops) - len(shown)
        out.append(f"… ({hidden:,} more nodes not shown; max_lines={max_lines})")
    runs = graph.runs
    half = max(10, max_lines // 40) // 2  # (a recorded training loop makes a run per step)
    for i, r in enumerate(runs):
        if len(runs) > 2 * half and half <= i < len(runs) - half:
            if i == half:
                out.append(f"… ({len(runs) - 2 * half:,} more backward runs)")
            continue
        out.extend(_run_lines(graph, r, max_lines))
    if graph.grad_history:
        out.append(".grad history:")
        for tid, evs in list(graph.grad_history.items())[: max(10, max_lines // 4)]:
            parts = []
            for ev in evs[-20:]:
                what = f"reset {ev.how}" if ev.kind == "reset" else f"+= ({ev.run})"
                parts.append(f"{what} → {_one_line(ev.value, 40)}")
            out.append(f"  {graph.label(tid)}: " + "; ".join(parts))
    return "\n".join(out)


def _run_lines(graph: Graph, r: BackwardRun, max_lines: int) -> list[str]:
    roots = ", ".join(graph.label(x) for x in r.roots)
    flags = [f"retain_graph={r.retain_graph}", f"create_graph={r.create_graph}"]
    out = [f"{r.id}: {r.kind}({roots}) {' '.join(flags)}"]
    limit = max(10, max_lines // 4)
    for k, s in enumerate(r.steps, 1):
        if k > limit:
            out.append(f"  … ({len(r.steps) - limit:,} more steps)")
            break
        gin = ", ".join(_one_line(p, 40) for p in s.grads_in)
        gout = ", ".join(_one_line(p, 40) for p in s.grads_out)
        out.append(f"  {k}. {graph.label(s.op)} ({s.op})  in: {gin}  out: {gout}")
    for k, h in enumerate(r.hooks, 1):
        if k > limit:
            out.append(f"  … ({len(r.hooks) - limit:,} more hook calls)")
            break
        gin = ", ".join(_one_line(p, 40) for p in h.grad_in)
        gout = "None" if h.grad_out is None else ", ".join(_one_line(p, 40) for p in h.grad_out)
        out.append(f"  hook {h.kind} on {graph.label(h.target)}: in {gin} → returned {gout}")
        if h.printed:
            out.extend("    | " + x for x in h.printed.rstrip("\n").split("\n"))
        if h.error:
            out.append(f"    ! {h.error}")
    for c in r.retained[:limit]:
        out.append(f"  retain_grad {graph.label(c.tensor)}: {_one_line(c.grad, 40)}")
    if r.error:
        out.append(f"  ! {r.error}")
    return out
