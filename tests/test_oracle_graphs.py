"""Random expression graphs built identically in torch and autograd_viz (hypothesis).

A program is a list of steps over a growing list of tensors: float64 leaves, elementwise
ops with broadcasting and Python scalars, reductions, views, indexing, matmul, cat/stack/
split, in-place ops on non-leaves (through views too), tensor hooks and retain_grad. Both
libraries run it from the same data; we compare every tensor's value and requires_grad,
the loss's grad_fn graph, first derivatives (``autograd.grad(create_graph=True)``), second
derivatives, ``.grad`` after ``backward()`` (leaves and retained non-leaves) and what the
hooks saw, with rtol 1e-7. Where torch raises, autograd_viz must raise the same type at the
same step. 300 examples per CI run, 3000 with ``--slow``.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from test_ops_table import assert_close, examples, graph_sig, torch_array

import autograd_viz as av

pytestmark = pytest.mark.filterwarnings("ignore")

UNARY = {
    "neg": lambda m, x: -x, "abs": lambda m, x: x.abs(), "exp": lambda m, x: m.exp(x.tanh()),
    "sin": lambda m, x: x.sin(), "cos": lambda m, x: m.cos(x), "tanh": lambda m, x: x.tanh(),
    "sigmoid": lambda m, x: m.sigmoid(x), "relu": lambda m, x: m.relu(x),
    "log": lambda m, x: (x.abs() + 1).log(), "sqrt": lambda m, x: (x * x + 0.5).sqrt(),
    "pow2": lambda m, x: x ** 2, "pow3": lambda m, x: x ** 3,
    "powf": lambda m, x: (x.abs() + 0.5) ** 1.5, "clamp": lambda m, x: x.clamp(-0.5, 0.7),
    "clamp_min": lambda m, x: m.clamp(x, min=0.1), "radd": lambda m, x: 2.5 + x,
    "rsub": lambda m, x: 1 - x, "rmul": lambda m, x: 0.5 * x, "rdiv": lambda m, x: 1 / (x * x + 1),
    "div_s": lambda m, x: x / 3, "rpow": lambda m, x: 2 ** x.tanh(), "mod": lambda m, x: x % 0.7,
    "clone": lambda m, x: x.clone(), "contiguous": lambda m, x: x.contiguous(),
}
BINARY = {
    "add": lambda m, x, y: x + y, "sub": lambda m, x, y: x - y, "mul": lambda m, x, y: x * y,
    "div": lambda m, x, y: x / (y * y + 1), "maximum": lambda m, x, y: m.maximum(x, y),
    "minimum": lambda m, x, y: m.minimum(x, y), "where": lambda m, x, y: m.where(x > y, x, y),
    "pow": lambda m, x, y: (x.abs() + 0.5) ** y.tanh(), "add_alpha": lambda m, x, y:
    m.add(x, y, alpha=-1.5), "fmod": lambda m, x, y: m.fmod(x, y.abs() + 1),
    "clamp_t": lambda m, x, y: x.clamp(max=y),
}
REDUCE = {  # (fn, needs >= 2 elements along dim)
    "sum": (lambda m, x, d, k: x.sum(d, keepdim=k), False),
    "mean": (lambda m, x, d, k: x.mean(d, k), False),
    "prod": (lambda m, x, d, k: x.prod(d, keepdim=k), False),
    "max": (lambda m, x, d, k: x.max(d, keepdim=k)[0], False),
    "min": (lambda m, x, d, k: m.min(x, d, k).values, False),
    "amax": (lambda m, x, d, k: x.amax(d, keepdim=k), False),
    "var": (lambda m, x, d, k: x.var(d, keepdim=k), True),
    "std": (lambda m, x, d, k: x.std(d, keepdim=k), True),
    "softmax": (lambda m, x, d, k: x.softmax(d), False),
    "log_softmax": (lambda m, x, d, k: m.log_softmax(x, d), False),
    "logsumexp": (lambda m, x, d, k: x.logsumexp(d, keepdim=k), False),
}
FULL_REDUCE = {"sum": lambda m, x: x.sum(), "mean": lambda m, x: x.mean(),
               "prod": lambda m, x: x.prod(), "max": lambda m, x: x.max(),
               "min": lambda m, x: x.min(), "var": lambda m, x: x.var(),
               "std": lambda m, x: x.std(unbiased=False)}
INPLACE = {
    "add_": lambda m, x, y: x.add_(y), "sub_": lambda m, x, y: x.sub_(y, alpha=0.5),
    "mul_": lambda m, x, y: x.mul_(y), "div_": lambda m, x, y: x.div_(y * y + 1),
    "mul_s": lambda m, x, y: x.mul_(1.5), "add_s": lambda m, x, y: x.add_(-0.5),
    "sin_": lambda m, x, y: x.sin_(), "tanh_": lambda m, x, y: x.tanh_(),
    "sigmoid_": lambda m, x, y: x.sigmoid_(), "relu_": lambda m, x, y: x.relu_(),
    "clamp_": lambda m, x, y: x.clamp_(-0.6, 0.6), "pow_": lambda m, x, y: x.pow_(2),
    "copy_": lambda m, x, y: x.copy_(y), "fill_": lambda m, x, y: x.fill_(0.25),
    "zero_": lambda m, x, y: x.zero_(), "iadd": lambda m, x, y: x.__iadd__(y),
    "imul": lambda m, x, y: x.__imul__(y),
}


# Ops whose results on small integers are exact in both libraries: with integer data the
# programs use only these, so that ties (max, abs, relu, clamp at a bound) are real ties in
# both and not rounding noise that torch and NumPy round differently.
EXACT = {
    "unary": ["neg", "abs", "relu", "clamp", "clamp_min", "radd", "rsub", "rmul", "pow2",
              "pow3", "clone", "contiguous"],
    "binary": ["add", "sub", "mul", "maximum", "minimum", "where", "add_alpha", "clamp_t"],
    "reduce": ["sum", "mean", "prod", "max", "min", "amax"],
    "full": ["sum", "mean", "prod", "max", "min"],
    "inplace": ["add_", "sub_", "mul_", "mul_s", "add_s", "relu_", "clamp_", "pow_",
                "copy_", "fill_", "zero_", "iadd", "imul"],
}

# ----------------------------------------------------------------------------- programs
SIDES = st.integers(1, 3)


@st.composite
def programs(draw, max_steps: int = 12, ints: bool = False):
    """A program and the shapes of the data it needs: steps refer to earlier tensors by
    index; the drawing simulates shapes so that every step is valid (errors only come from
    autograd rules, e.g. writing in place into a tensor saved for backward)."""
    shapes: list[tuple] = []  # shape of each tensor
    leaf: list[bool] = []
    data_shapes: list[tuple] = []
    prog: list[tuple] = []

    def new_leaf(shape, rg=True):
        data_shapes.append(shape)
        prog.append(("leaf", len(data_shapes) - 1, rg))
        shapes.append(shape)
        leaf.append(True)
        return len(shapes) - 1

    def add(step, shape):
        prog.append(step)
        shapes.append(tuple(shape))
        leaf.append(False)
        return len(shapes) - 1

    for _ in range(draw(st.integers(1, 2))):
        new_leaf(tuple(draw(st.lists(SIDES, min_size=0, max_size=3))))
    n_steps = draw(st.integers(2, max_steps))
    kinds = ["unary", "binary", "reduce", "full", "view", "index", "matmul", "join",
             "inplace", "hook", "retain", "leaf"]
    for _ in range(n_steps):
        kind = draw(st.sampled_from(kinds))
        i = draw(st.integers(0, len(shapes) - 1))
        s = shapes[i]
        if kind == "leaf":
            new_leaf(tuple(draw(st.lists(SIDES, min_size=0, max_size=3))),
                     rg=draw(st.booleans()))
        elif kind == "unary":
            add(("unary", draw(st.sampled_from(_names(UNARY, "unary", ints))), i), s)
        elif kind == "binary":
            # the other operand: an existing tensor whose shape broadcasts, or a new leaf
            other = [j for j, t in enumerate(shapes) if _bcast(s, t) is not None]
            j = draw(st.sampled_from(other)) if other and draw(st.booleans()) else new_leaf(
                _suffix(draw, s), rg=draw(st.booleans()))
            add(("binary", draw(st.sampled_from(_names(BINARY, "binary", ints))), i, j),
                _bcast(s, shapes[j]))
        elif kind == "full":
            name = draw(st.sampled_from(_names(FULL_REDUCE, "full", ints)))
            # (var/std of one element sit at a singular point: nan/inf first derivatives,
            # and the nan * 0 of second derivatives differ, torch having ZeroTensors)
            if int(np.prod(s)) > (1 if name in ("var", "std") else 0):
                add(("full", name, i), ())
        elif kind == "reduce" and len(s):
            name = draw(st.sampled_from(_names(REDUCE, "reduce", ints)))
            d = draw(st.integers(-len(s), len(s) - 1))
            if REDUCE[name][1] and s[d] < 2:
                continue
            k = draw(st.booleans())
            out = list(s)
            if name not in ("softmax", "log_softmax"):
                if k:
                    out[d] = 1
                else:
                    del out[d]
            add(("reduce", name, i, d, k), out)
        elif kind == "view":
            _draw_view(draw, add, i, s)
        elif kind == "index" and len(s):
            _draw_index(draw, add, i, s)
        elif kind == "matmul" and len(s):
            k = draw(SIDES)
            w = new_leaf((s[-1], k) if len(s) > 1 or draw(st.booleans()) else (s[-1],))
            out = np.empty(s) @ np.empty(shapes[w])
            add(("matmul", i, w), np.shape(out))
        elif kind == "join" and len(s):
            _draw_join(draw, add, i, s, shapes)
        elif kind == "inplace" and not leaf[i]:
            name = draw(st.sampled_from(_names(INPLACE, "inplace", ints)))
            through_view = len(s) > 0 and draw(st.booleans())  # then it writes x[0]
            target = s[1:] if through_view else s
            js = [j for j, t in enumerate(shapes) if _bcast(target, t) == target and j != i]
            j = draw(st.sampled_from(js)) if js and draw(st.booleans()) else new_leaf(target)
            prog.append(("inplace", name, i, j, through_view))
        elif kind == "hook":
            prog.append(("hook", i, draw(st.sampled_from([None, 2.0, -0.5]))))
        elif kind == "retain" and not leaf[i]:
            prog.append(("retain", i))
    return prog, data_shapes, len(shapes)


def _names(table: dict, kind: str, ints: bool) -> list:
    return EXACT[kind] if ints else sorted(table)


def _suffix(draw, s):
    """A shape that broadcasts with ``s`` (a suffix of it, some dims set to 1)."""
    k = draw(st.integers(0, len(s)))
    return tuple(1 if draw(st.booleans()) else n for n in s[len(s) - k:])


def _bcast(a, b):
    try:
        return tuple(np.broadcast_shapes(a, b))
    except ValueError:
        return None


def _draw_view(draw, add, i, s):
    n = len(s)
    choice = draw(st.sampled_from(["transpose", "permute", "unsqueeze", "squeeze", "reshape",
                                   "flatten", "expand", "t", "T", "view"]))
    if choice == "transpose" and n >= 2:
        a, b = draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))
        out = list(s)
        out[a], out[b] = out[b], out[a]
        add(("view", "transpose", i, (a, b)), out)
    elif choice == "permute" and n:
        p = tuple(draw(st.permutations(range(n))))
        add(("view", "permute", i, p), [s[k] for k in p])
    elif choice == "unsqueeze":
        d = draw(st.integers(0, n))
        add(("view", "unsqueeze", i, d), s[:d] + (1,) + s[d:])
    elif choice == "squeeze":
        add(("view", "squeeze", i, None), [k for k in s if k != 1])
    elif choice in ("reshape", "view"):
        add(("view", choice, i, (-1,)), (int(np.prod(s)),))
    elif choice == "flatten" and n:
        add(("view", "flatten", i, None), (int(np.prod(s)),))
    elif choice == "expand":
        out = (2,) + tuple(3 if k == 1 else k for k in s)
        add(("view", "expand", i, out), out)
    elif choice == "t" and n <= 2:
        add(("view", "t", i, None), s[::-1])
    elif choice == "T" and n == 2:
        add(("view", "T", i, None), s[::-1])


def _draw_index(draw, add, i, s):
    kinds = ["int", "slice", "list", "mask", "ellipsis", "none"]
    kind = draw(st.sampled_from(kinds if s[0] else kinds[3:]))
    if kind == "int":
        k = draw(st.integers(-s[0], s[0] - 1))
        add(("index", i, k), s[1:])
    elif kind == "slice":
        a = draw(st.integers(0, s[0] - 1))
        key = (slice(None), slice(a, None, 2)) if len(s) > 1 else slice(a, None)
        out = np.empty(s)[key].shape
        add(("index", i, key), out)
    elif kind == "list":
        idx = draw(st.lists(st.integers(-s[0], s[0] - 1), min_size=1, max_size=4))
        add(("index", i, ("list", idx)), (len(idx),) + s[1:])
    elif kind == "mask":
        bits = draw(st.lists(st.booleans(), min_size=s[0], max_size=s[0]))
        add(("index", i, ("mask", bits)), (sum(bits),) + s[1:])
    elif kind == "ellipsis":
        add(("index", i, (Ellipsis, 0)), s[:-1])
    else:
        add(("index", i, (None, Ellipsis)), (1,) + s)


def _draw_join(draw, add, i, s, shapes):
    same = [j for j, t in enumerate(shapes) if t == s]
    j = draw(st.sampled_from(same))
    kind = draw(st.sampled_from(["cat", "stack", "split", "chunk"]))
    d = draw(st.integers(0, len(s) - 1))
    if kind == "cat":
        out = list(s)
        out[d] *= 2
        add(("join", "cat", i, j, d), out)
    elif kind == "stack":
        add(("join", "stack", i, j, d), s[:d] + (2,) + s[d:])
    elif s[d]:
        size = draw(st.integers(1, s[d]))
        pieces = -(-s[d] // size)
        p = draw(st.integers(0, pieces - 1))
        out = list(s)
        out[d] = min(size, s[d] - p * size)
        add(("join", kind, i, (size if kind == "split" else pieces), d, p), out)


# ----------------------------------------------------------------------------- running
def _key(m, key):
    if isinstance(key, tuple) and key and key[0] == "list":
        return m.tensor(key[1])
    if isinstance(key, tuple) and key and key[0] == "mask":
        return m.tensor(key[1], dtype=m.bool)
    return key


def _hook(m, log, k, factor):
    def hook(g):
        log.setdefault(k, []).append(torch_array(g).copy()
                                     if m is not av else g.detach().numpy().copy())
        return None if factor is None else g * factor
    return hook


def run(m, prog, datas):
    """Run ``prog`` with library ``m``: (tensors, leaves, hook log, retained indices)."""
    ts, leaves, log, retained = [], [], {}, []
    written = []  # roots written in place so far
    for n_step, step in enumerate(prog):
        kind = step[0]
        if kind == "leaf":
            t = m.tensor(datas[step[1]], dtype=m.float64, requires_grad=step[2])
            ts.append(t)
            if step[2]:
                leaves.append(t)
        elif kind == "unary":
            ts.append(UNARY[step[1]](m, ts[step[2]]))
        elif kind == "binary":
            ts.append(BINARY[step[1]](m, ts[step[2]], ts[step[3]]))
        elif kind == "full":
            ts.append(FULL_REDUCE[step[1]](m, ts[step[2]]))
        elif kind == "reduce":
            ts.append(REDUCE[step[1]][0](m, ts[step[2]], step[3], step[4]))
        elif kind == "view":
            ts.append(_view(ts[step[2]], step[1], step[3]))
        elif kind == "index":
            ts.append(ts[step[1]][_key(m, step[2])])
        elif kind == "matmul":
            ts.append(ts[step[1]] @ ts[step[2]])
        elif kind == "join":
            ts.append(_join(m, ts, step))
        elif kind == "inplace":
            x = ts[step[2]][0] if step[4] else ts[step[2]]
            y = ts[step[3]]
            if _root(x) is _root(y):  # torch reads an aliased operand while writing (its
                y = y.clone()         # result depends on the loop order): not compared
            INPLACE[step[1]](m, x, y)
            written.append(_root(x))
        elif kind == "hook":
            t = ts[step[1]]
            if t._base is not None and any(r is _root(t) for r in written):
                continue  # torch 2.13 segfaults hooking a view whose base was written since
            if t.requires_grad:
                ts[step[1]].register_hook(_hook(m, log, n_step, step[2]))
        elif kind == "retain":
            if ts[step[1]].requires_grad:
                ts[step[1]].retain_grad()
                retained.append(step[1])
    return ts, leaves, log, retained


def _root(t):
    return t._base if t._base is not None else t


def _view(x, name, arg):
    if name == "transpose":
        return x.transpose(*arg)
    if name == "permute":
        return x.permute(*arg)
    if name == "unsqueeze":
        return x.unsqueeze(arg)
    if name == "squeeze":
        return x.squeeze()
    if name == "reshape":
        return x.reshape(*arg)
    if name == "view":
        return x.contiguous().view(*arg)
    if name == "flatten":
        return x.flatten()
    if name == "expand":
        return x.expand(*arg)
    return x.t() if name == "t" else x.T


def _join(m, ts, step):
    name, i, j = step[1], step[2], step[3]
    if name == "cat":
        return m.cat([ts[i], ts[j]], step[4])
    if name == "stack":
        return m.stack([ts[i], ts[j]], step[4])
    pieces = ts[i].split(j, step[4]) if name == "split" else ts[i].chunk(j, step[4])
    return pieces[step[5]]


def _stage(fn):
    """(result, None) or (None, the builtin exception type raised)."""
    try:
        return fn(), None
    except Exception as e:  # noqa: BLE001
        return None, (next(c for c in type(e).__mro__ if c.__module__ == "builtins"), e)


def _same_error(a_err, t_err, where):
    assert (a_err is None) == (t_err is None), \
        f"{where}: torch {t_err and t_err[1]!r} vs autograd_viz {a_err and a_err[1]!r}"
    if t_err is not None:
        assert a_err[0] is t_err[0], f"{where}: {a_err[1]!r} vs {t_err[1]!r}"


def _grads(m, loss, leaves, create):
    return m.autograd.grad(loss, leaves, create_graph=create, allow_unused=True)


def _second(m, gs, leaves, ws):
    terms = [(g * m.tensor(w)).sum() for g, w in zip(gs, ws) if g is not None and
             g.requires_grad]
    if not terms:
        return None
    return m.autograd.grad(sum(terms), leaves, allow_unused=True, retain_graph=True)


def _close(a, t, what, rtol=1e-7):
    if (a is None) != (t is None):  # an unused input: None and zeros are the same
        a = a if a is not None else av.zeros(tuple(t.shape), dtype=av.float64)
        t = t if t is not None else a.detach().numpy() * 0
        if isinstance(t, np.ndarray):
            import torch
            t = torch.tensor(t)
    assert_close(a, t, rtol=rtol, atol=1e-9, what=what)


def check_program(torch, prog, data_shapes, seed, ints=False) -> None:
    """Run ``prog`` in both libraries and compare; ``ints``: small integer data (ties,
    zeros and kinks, where the subgradient conventions must match too)."""
    rng = np.random.default_rng(seed)
    datas = [rng.integers(-2, 3, s).astype(np.float64) if ints else rng.standard_normal(s)
             for s in data_shapes]
    (ares, aerr), (tres, terr) = (_stage(lambda m=m: run(m, prog, datas)) for m in (av, torch))
    _same_error(aerr, terr, "forward")
    if terr is not None:
        event(f"forward raised {terr[0].__name__}")
        return
    (ats, aleaves, alog, _), (tts, tleaves, tlog, tret) = ares, tres
    for k, (a, t) in enumerate(zip(ats, tts)):
        _close(a, t, f"tensor {k}")
        assert a.requires_grad == t.requires_grad, f"tensor {k} requires_grad"
    outs = [k for k, t in enumerate(tts) if t.requires_grad][-3:]
    if not outs or not any(t.requires_grad for t in tleaves):
        event("nothing requires grad")
        return
    for kind in sorted({step[0] for step in prog}):
        event(f"has {kind}")
    ws = [rng.standard_normal(tuple(tts[k].shape)) for k in outs]
    (aloss, aerr), (tloss, terr) = (
        _stage(lambda m=m, ts=ts: sum((m.tensor(w) * ts[k]).sum() for k, w in zip(outs, ws)))
        for m, ts in ((av, ats), (torch, tts)))
    _same_error(aerr, terr, "loss")
    if terr is not None:
        event(f"loss raised {terr[0].__name__}")
        return
    losses = [aloss, tloss]
    assert graph_sig([losses[0]], aleaves) == graph_sig([losses[1]], tleaves)
    ag, aerr = _stage(lambda: _grads(av, losses[0], aleaves, True))
    tg, terr = _stage(lambda: _grads(torch, losses[1], tleaves, True))
    _same_error(aerr, terr, "autograd.grad")
    if terr is not None:
        event(f"autograd.grad raised {terr[0].__name__}")
        return
    for k, (a, t) in enumerate(zip(ag, tg)):
        _close(a, t, f"grad of leaf {k}")
    w2 = [rng.standard_normal(tuple(t.shape)) for t in tleaves]
    agg, aerr = _stage(lambda: _second(av, ag, aleaves, w2))
    tgg, terr = _stage(lambda: _second(torch, tg, tleaves, w2))
    _same_error(aerr, terr, "second derivative")
    if tgg is not None and agg is not None:
        for k, (a, t) in enumerate(zip(agg, tgg)):
            _close(a, t, f"second derivative of leaf {k}", rtol=1e-6)
    _, aerr = _stage(lambda: losses[0].backward())
    _, terr = _stage(lambda: losses[1].backward())
    _same_error(aerr, terr, "backward")
    for k, (a, t) in enumerate(zip(aleaves, tleaves)):
        _close(a.grad, t.grad, f".grad of leaf {k}")
    for k in tret:
        _close(ats[k].grad, tts[k].grad, f"retained .grad of tensor {k}")
    assert sorted(alog) == sorted(tlog), "hooks called"
    for k in tlog:
        assert len(alog[k]) == len(tlog[k]), f"hook {k} calls"
        for a, t in zip(alog[k], tlog[k]):
            np.testing.assert_allclose(a, t, rtol=1e-7, atol=1e-9, err_msg=f"hook {k}")


@settings(max_examples=examples(300), suppress_health_check=[HealthCheck.too_slow,
                                                              HealthCheck.data_too_large])
@given(data=st.data(), seed=st.integers(0, 2**16), ints=st.booleans())
def test_random_graphs_match_torch(torch, data, seed, ints) -> None:
    prog, data_shapes, _ = data.draw(programs(ints=ints), label="program")
    check_program(torch, prog, data_shapes, seed, ints)
