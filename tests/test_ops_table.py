"""The op table and the differential-test factory (MyGrad's style: one declaration per op).

Each ``Spec`` names one op, a function ``fn(m, *xs, **kw)`` written once for both libraries
(``m`` is ``torch`` or ``autograd_viz``), how to draw its inputs and keyword arguments, and
what to check. ``check_op`` builds the op in both libraries from the same float64 data and
compares forward values, dtypes, the ``grad_fn`` graph (names and ``next_functions``),
first and second derivatives. Other op tests (gradcheck, dtypes) import this table.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

import autograd_viz as av

pytestmark = pytest.mark.filterwarnings("ignore")  # (dof <= 0, nan, ... on both sides)

SLOW = os.environ.get("HYPOTHESIS_PROFILE") == "slow"


def examples(n: int) -> int:
    """``n`` examples in CI, ten times as many with ``--slow``."""
    return n * 10 if SLOW else n


# --------------------------------------------------------------------------- data


def values(rng: np.random.Generator, shape: tuple, domain: str, ints: bool) -> np.ndarray:
    """float64 data for one input: ``ints`` gives small integers (ties, zeros)."""
    x = rng.integers(-2, 3, shape).astype(np.float64) if ints else rng.standard_normal(shape)
    if domain == "pos":
        return np.abs(x) + (1.0 if ints else 0.5)
    if domain == "nonzero":
        return np.where(x >= 0, x + 0.5, x - 0.5)
    if domain == "unit":  # inside (-1, 1): tan, exponents of negative bases
        return np.tanh(x) * 0.9
    return x


@dataclass
class Spec:
    """One op: ``fn(m, *xs, **kw)`` for ``m`` in (torch, autograd_viz)."""

    name: str
    fn: Callable
    shapes: Any  # strategy of a tuple of input shapes
    kw: Callable[[tuple], Any] = lambda shapes: st.just({})
    domain: tuple = ()  # per input; "any" when missing
    grad: bool = True  # differentiable (floating inputs require grad)
    ints: bool = True  # integer-valued data allowed (kinks, ties, zeros)
    gradcheck: bool = True
    id: str = field(default="")

    def __post_init__(self):
        self.id = self.id or self.name


def shapes(*fixed: tuple):
    return st.just(tuple(fixed))


def bcast(n: int = 2, min_dims: int = 0):
    return mutually_broadcastable_shapes(num_shapes=n, min_dims=min_dims, max_dims=3,
                                         max_side=3).map(lambda s: s.input_shapes)


def bcast_full(n: int):
    """Broadcastable shapes whose first one is the broadcast result."""
    return mutually_broadcastable_shapes(num_shapes=n, max_dims=3, max_side=3).map(
        lambda s: (s.result_shape, *s.input_shapes[1:]))


def one(min_dims: int = 0, min_side: int = 1):
    return array_shapes(min_dims=min_dims, max_dims=3, min_side=min_side,
                        max_side=3).map(lambda s: (s,))


def dim_kw(keepdim: bool = True, allow_none: bool = False, tuple_ok: bool = False):
    """kwargs ``dim`` (and ``keepdim``) valid for the first input's shape."""
    def make(shps):
        n = len(shps[0])
        choices = [st.integers(-max(n, 1), max(n - 1, 0))]
        if allow_none:
            choices.append(st.none())
        if tuple_ok and n:
            choices.append(st.lists(st.integers(0, n - 1), min_size=1, max_size=n,
                                    unique=True).map(tuple))
        d = {"dim": st.one_of(*choices)}
        if keepdim:
            d["keepdim"] = st.booleans()
        return st.fixed_dictionaries(d)
    return make


def _none_dim(kw: dict) -> dict:
    return {} if kw.get("dim", 0) is None else kw


# --------------------------------------------------------------------------- the table
B2 = bcast(2)
S1 = one()
NE = one(min_dims=1)  # at least one dim
SQ = st.just(((3, 3),))

_bin = [
    ("add", lambda m, a, b: a + b), ("sub", lambda m, a, b: a - b),
    ("mul", lambda m, a, b: a * b), ("add_alpha", lambda m, a, b: m.add(a, b, alpha=2)),
    ("sub_alpha", lambda m, a, b: m.sub(a, b, alpha=0.5)),
    ("maximum", lambda m, a, b: m.maximum(a, b)), ("minimum", lambda m, a, b: m.minimum(a, b)),
    ("where", lambda m, a, b: m.where(a > b, a, b)),
    ("clamp_t", lambda m, a, b: m.clamp(a, min=b)),
    ("eq", lambda m, a, b: a == b), ("ne", lambda m, a, b: a != b),
    ("lt", lambda m, a, b: a < b), ("le", lambda m, a, b: a <= b),
    ("gt", lambda m, a, b: a > b), ("ge", lambda m, a, b: a >= b),
]
_scalar = [
    ("radd", lambda m, a: 2 + a), ("rsub", lambda m, a: 2 - a), ("rmul", lambda m, a: 3 * a),
    ("add_s", lambda m, a: a + 1.5), ("sub_s", lambda m, a: a - 2), ("mul_s", lambda m, a: a * 2),
    ("div_s", lambda m, a: a / 4), ("pow2", lambda m, a: a ** 2), ("pow3", lambda m, a: a ** 3),
    ("pow0", lambda m, a: a ** 0), ("pow1", lambda m, a: a ** 1),
    ("rpow", lambda m, a: 2 ** a), ("rpow_f", lambda m, a: 0.5 ** a),
    ("mod_s", lambda m, a: a % 1.5), ("fmod_s", lambda m, a: m.fmod(a, 1.5)),
    ("neg", lambda m, a: -a), ("neg_f", lambda m, a: m.neg(a)), ("abs", lambda m, a: m.abs(a)),
    ("abs_op", lambda m, a: abs(a)), ("exp", lambda m, a: m.exp(a)),
    ("sin", lambda m, a: m.sin(a)), ("cos", lambda m, a: m.cos(a)),
    ("tanh", lambda m, a: m.tanh(a)), ("sigmoid", lambda m, a: m.sigmoid(a)),
    ("relu", lambda m, a: m.relu(a)), ("relu_m", lambda m, a: a.relu()),
    ("clamp", lambda m, a: m.clamp(a, -0.5, 1)), ("clamp_min", lambda m, a: a.clamp(min=0)),
    ("clamp_max", lambda m, a: a.clamp(max=1)), ("clip", lambda m, a: a.clip(-1, 1)),
    ("eq_s", lambda m, a: a == 1), ("lt_s", lambda m, a: a < 0), ("ge_s", lambda m, a: 0 <= a),
    ("where_s", lambda m, a: m.where(a > 0, a, 0.0)),
    ("sum", lambda m, a: a.sum()), ("mean", lambda m, a: a.mean()),
    ("max", lambda m, a: a.max()), ("min", lambda m, a: a.min()),
    ("prod", lambda m, a: a.prod()), ("var", lambda m, a: a.var()),
    ("std", lambda m, a: a.std()), ("var0", lambda m, a: a.var(unbiased=False)),
    ("std_c0", lambda m, a: m.std(a, correction=0)),
    ("argmax", lambda m, a: a.argmax()), ("argmin", lambda m, a: m.argmin(a)),
    ("contiguous", lambda m, a: a.contiguous()), ("flatten", lambda m, a: a.flatten()),
    ("squeeze", lambda m, a: a.squeeze()), ("unsqueeze0", lambda m, a: a.unsqueeze(0)),
    ("unsqueeze_1", lambda m, a: a.unsqueeze(-1)), ("reshape_1", lambda m, a: a.reshape(-1)),
    ("view_1", lambda m, a: a.view(-1)), ("clone", lambda m, a: a.clone()),
    ("expand_as", lambda m, a: a.expand_as(m.ones((2,) + tuple(a.shape),
                                                  dtype=m.float64))),
]
_pos = [
    ("div", lambda m, a, b: a / b, ("any", "nonzero")),
    ("rdiv", lambda m, a: 2 / a, ("nonzero",)), ("rdiv_f", lambda m, a: 1.5 / a, ("nonzero",)),
    ("pow_t", lambda m, a, b: a ** b, ("pos", "any")),
    ("pow_h", lambda m, a: a ** 0.5, ("pos",)), ("pow_neg", lambda m, a: a ** -2, ("pos",)),
    ("log", lambda m, a: m.log(a), ("pos",)), ("sqrt", lambda m, a: m.sqrt(a), ("pos",)),
    ("tan", lambda m, a: m.tan(a), ("unit",)),
    ("mod", lambda m, a, b: a % b, ("any", "nonzero")),
    ("fmod", lambda m, a, b: m.fmod(a, b), ("any", "nonzero")),
    ("remainder", lambda m, a, b: m.remainder(a, b), ("any", "nonzero")),
]

OPS: list[Spec] = []
for _n, _f in _bin:
    OPS.append(Spec(_n, _f, B2))
for _n, _f in _scalar:
    OPS.append(Spec(_n, _f, S1))
for _n, _f, _d in _pos:
    OPS.append(Spec(_n, _f, B2 if len(_d) == 2 else S1, domain=_d,
                    ints=_n not in ("mod", "fmod", "remainder", "mod_s")))
OPS += [
    # input as large as the broadcast shape: torch's clamp backward fails otherwise
    Spec("clamp_tt", lambda m, a, lo, hi: m.clamp(a, lo, hi), bcast_full(3)),
    Spec("where_b", lambda m, c, a, b: m.where(c > 0, a, b), bcast(3)),
    # reductions over dims
    Spec("sum_dim", lambda m, a, **k: a.sum(**k), NE, dim_kw(tuple_ok=True)),
    Spec("mean_dim", lambda m, a, **k: m.mean(a, **k), NE, dim_kw(tuple_ok=True)),
    Spec("prod_dim", lambda m, a, **k: a.prod(**k), NE, dim_kw()),
    Spec("var_dim", lambda m, a, **k: a.var(**k), NE, dim_kw(tuple_ok=True)),
    Spec("std_dim", lambda m, a, **k: a.std(**k, correction=0), NE, dim_kw(tuple_ok=True)),
    Spec("max_dim", lambda m, a, **k: a.max(**k), NE, dim_kw()),
    Spec("min_dim", lambda m, a, **k: m.min(a, **k), NE, dim_kw()),
    Spec("amax", lambda m, a, **k: a.amax(**k), NE, dim_kw(tuple_ok=True)),
    Spec("logsumexp", lambda m, a, **k: a.logsumexp(**k), NE, dim_kw()),
    Spec("argmax_dim", lambda m, a, **k: a.argmax(**_none_dim(k)), NE,
         dim_kw(allow_none=True)),
    Spec("argmin_dim", lambda m, a, **k: m.argmin(a, **_none_dim(k)), NE,
         dim_kw(allow_none=True)),
    Spec("softmax", lambda m, a, dim: m.softmax(a, dim), NE, dim_kw(keepdim=False)),
    Spec("log_softmax", lambda m, a, dim: a.log_softmax(dim), NE, dim_kw(keepdim=False)),
    # matmul family
    *[Spec(f"matmul_{len(p)}d_{len(q)}d", lambda m, a, b: a @ b, shapes(p, q), id=f"mm{i}")
      for i, (p, q) in enumerate([((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 2)),
                                  ((2, 3), (3, 4)), ((2, 2, 3), (2, 3, 2)),
                                  ((2, 2, 3), (3, 2)), ((2, 3), (2, 3, 2)),
                                  ((3,), (2, 3, 2)), ((2, 2, 3), (3,)),
                                  ((2, 1, 2, 3), (3, 3, 2)), ((1, 2, 3), (2, 1, 3, 2))])],
    Spec("matmul_f", lambda m, a, b: m.matmul(a, b), shapes((2, 3), (3, 2))),
    Spec("mm", lambda m, a, b: m.mm(a, b), shapes((2, 3), (3, 2))),
    Spec("bmm", lambda m, a, b: a.bmm(b), shapes((2, 2, 3), (2, 3, 2))),
    Spec("dot", lambda m, a, b: m.dot(a, b), shapes((3,), (3,))),
    # join / split
    Spec("cat", lambda m, a, b, dim: m.cat([a, b], dim), shapes((2, 3), (2, 3)),
         dim_kw(keepdim=False)),
    Spec("cat3", lambda m, a, b, c: m.cat((a, b, c), 1), shapes((2, 1), (2, 3), (2, 2))),
    Spec("stack", lambda m, a, b, dim: m.stack([a, b], dim), shapes((2, 3), (2, 3)),
         lambda s: st.fixed_dictionaries({"dim": st.integers(-3, 2)})),
    Spec("split", lambda m, a, s, dim: a.split(s, dim), shapes((4, 3)),
         lambda _: st.fixed_dictionaries({"s": st.integers(1, 4), "dim": st.just(0)})),
    Spec("split_sizes", lambda m, a: m.split(a, [1, 2], 1), shapes((2, 3))),
    Spec("chunk", lambda m, a, c, dim: a.chunk(c, dim), shapes((5, 3)),
         lambda _: st.fixed_dictionaries({"c": st.integers(1, 6), "dim": st.integers(-2, 1)})),
    Spec("split_one", lambda m, a: a.split(2)[1], shapes((5, 2))),
    # views
    Spec("view", lambda m, a: a.view(3, 2), shapes((2, 3))),
    Spec("view_neg", lambda m, a: a.view(-1, 2), shapes((2, 3, 2))),
    Spec("reshape_nc", lambda m, a: a.t().reshape(6), shapes((2, 3))),
    Spec("flatten_se", lambda m, a: a.flatten(1, 2), shapes((2, 3, 2, 2))),
    Spec("flatten_t", lambda m, a: a.transpose(0, 1).flatten(), shapes((2, 3))),
    Spec("permute", lambda m, a: a.permute(2, 0, 1), shapes((2, 3, 4))),
    Spec("permute_t", lambda m, a: m.permute(a, (1, 0, 2)), shapes((2, 3, 4))),
    Spec("transpose", lambda m, a, dim: a.transpose(dim, -1), one(min_dims=1),
         dim_kw(keepdim=False)),
    Spec("t", lambda m, a: a.t(), shapes((2, 3))), Spec("t1", lambda m, a: m.t(a), S1.filter(
        lambda s: len(s[0]) <= 2)),
    Spec("T", lambda m, a: a.T, shapes((2, 3))),
    Spec("squeeze_d", lambda m, a, dim: a.squeeze(dim), shapes((2, 1, 3)),
         lambda _: st.fixed_dictionaries({"dim": st.integers(-3, 2)})),
    Spec("squeeze_t", lambda m, a: a.squeeze((0, 2)), shapes((1, 3, 1))),
    Spec("unsqueeze", lambda m, a, dim: m.unsqueeze(a, dim), shapes((2, 3)),
         lambda _: st.fixed_dictionaries({"dim": st.integers(-3, 2)})),
    Spec("expand", lambda m, a: a.expand(2, 3, 3), shapes((3, 1))),
    Spec("expand_neg", lambda m, a: a.expand(4, -1), shapes((1, 3))),
    Spec("contiguous_t", lambda m, a: a.t().contiguous(), shapes((2, 3))),
    Spec("view_chain", lambda m, a: a.unsqueeze(1).expand(2, 3, 3).permute(2, 1, 0)[1],
         shapes((2, 3))),
]
SPECS = {s.id: s for s in OPS}

# --------------------------------------------------------------------------- building


@st.composite
def cases(draw, spec: Spec):
    """(arrays, kwargs) for one example of ``spec``."""
    shps = draw(spec.shapes)
    kw = draw(spec.kw(shps))
    seed = draw(st.integers(0, 2**32 - 1))
    ints = spec.ints and draw(st.booleans())
    rng = np.random.default_rng(seed)
    arrays = [values(rng, s, spec.domain[i] if i < len(spec.domain) else "any", ints)
              for i, s in enumerate(shps)]
    return arrays, kw


def leaves(m: Any, arrays: list, requires_grad: bool = True) -> list:
    return [m.tensor(a.copy(), dtype=m.float64, requires_grad=requires_grad) for a in arrays]


def outputs(r: Any) -> list:
    """The tensors of an op's result (a tensor, a tuple, or max(dim)'s named tuple)."""
    return [r] if hasattr(r, "grad_fn") else [o for o in r if hasattr(o, "grad_fn")]


def graph_sig(roots: list, leaves_: list) -> list:
    """The backward graph as plain data: nodes numbered in DFS order, with their names and
    ``next_functions`` edges; ``AccumulateGrad`` nodes name the leaf they feed."""
    num: dict = {}
    out = []
    stack = [t.grad_fn for t in roots if t.grad_fn is not None][::-1]
    ids = [id(x) for x in leaves_]
    while stack:
        n = stack.pop()
        if id(n) in num:
            continue
        num[id(n)] = len(num)
        var = getattr(n, "variable", None)
        name = n.name() if isinstance(n, av.autograd.Node) else type(n).__name__
        entry = [name, ids.index(id(var)) if var is not None and id(var) in ids else None]
        for nx, _ in reversed(n.next_functions):
            if nx is not None and id(nx) not in num:
                stack.append(nx)
        out.append((id(n), entry, n.next_functions))
    return [(e, [(num.get(id(nx)), nr) if nx is not None else None for nx, nr in nf])
            for _, e, nf in out]


def torch_array(t: Any) -> np.ndarray:
    """A torch tensor's values as a NumPy array. torch's ZeroTensor grads own no memory:
    ``numpy(force=True)`` on one can read a null pointer and crash, so they are materialised
    with ``clone()`` first."""
    t = t.detach()
    if t._is_zerotensor():
        t = t.clone()
    return t.numpy(force=True)


def assert_close(a: Any, t: Any, rtol: float = 1e-7, atol: float = 1e-10, what: str = ""):
    """An autograd_viz tensor equals a torch tensor: shape, dtype name and values."""
    if a is None or t is None:
        assert a is None and t is None, f"{what}: {a!r} vs {t!r}"
        return
    tn = str(t.dtype).replace("torch.", "")
    assert a.dtype.name == tn, f"{what}: dtype {a.dtype.name} vs {tn}"
    assert tuple(a.shape) == tuple(t.shape), f"{what}: shape {tuple(a.shape)} vs {t.shape}"
    an = a.detach().numpy()
    tnp = torch_array(t)
    if an.dtype.kind == "f":
        np.testing.assert_allclose(an, tnp, rtol=rtol, atol=atol, err_msg=what)
    else:
        np.testing.assert_array_equal(an, tnp, err_msg=what)


def run_both(torch, fn: Callable, arrays: list, kw: dict, requires_grad: bool = True):
    """Build ``fn`` in both libraries from the same data: ((av leaves, out), (torch ...))."""
    res = []
    for m in (av, torch):
        xs = leaves(m, arrays, requires_grad)
        res.append((xs, fn(m, *xs, **kw)))
    return res


def check_op(torch, spec: Spec, arrays: list, kw: dict, second: bool = True) -> None:
    """Forward values/dtypes, grad_fn graph, first and second derivatives against torch."""
    (ax, ar), (tx, tr) = run_both(torch, spec.fn, arrays, kw, spec.grad)
    aouts, touts = outputs(ar), outputs(tr)
    assert len(aouts) == len(touts)
    for i, (a, t) in enumerate(zip(aouts, touts)):
        assert_close(a, t, what=f"output {i}")
        assert a.requires_grad == t.requires_grad, f"output {i} requires_grad"
        assert a.is_leaf == t.is_leaf
    assert graph_sig(aouts, ax) == graph_sig(touts, tx)
    diff = [i for i, t in enumerate(touts) if t.requires_grad]
    if not diff:
        return
    rng = np.random.default_rng(len(arrays))
    gos = [rng.standard_normal(tuple(touts[i].shape)) for i in diff]
    ag = av.autograd.grad([aouts[i] for i in diff], ax, [av.tensor(g) for g in gos],
                          create_graph=second, allow_unused=True)
    tg = torch.autograd.grad([touts[i] for i in diff], tx, [torch.tensor(g) for g in gos],
                             create_graph=second, allow_unused=True)
    for i, (a, t) in enumerate(zip(ag, tg)):
        assert_close(a, t, what=f"grad of input {i}")
    if not second:
        return
    # second derivatives: d/dx of sum(grad_i * w_i); None and zeros are the same derivative
    ws = [rng.standard_normal(tuple(t.shape)) if t is not None else None for t in tg]
    agg, tgg = (_grad_of_grads(m, g, x, ws) for m, g, x in ((av, ag, ax), (torch, tg, tx)))
    for i, (a, t) in enumerate(zip(agg, tgg)):
        if (a is None) != (t is None):
            a = a if a is not None else av.zeros(tuple(t.shape), dtype=av.float64)
            t = t if t is not None else torch.zeros(tuple(a.shape), dtype=torch.float64)
        assert_close(a, t, rtol=1e-6, what=f"second derivative of input {i}")


def _grad_of_grads(m: Any, grads: tuple, xs: list, ws: list) -> tuple:
    terms = [(g * m.tensor(w)).sum() for g, w in zip(grads, ws)
             if g is not None and g.requires_grad]
    if not terms:
        return (None,) * len(xs)
    return m.autograd.grad(sum(terms), xs, allow_unused=True)

# --------------------------------------------------------------------------- the test


@pytest.mark.parametrize("spec", OPS, ids=[s.id for s in OPS])
@settings(max_examples=examples(12))
@given(data=st.data())
def test_op_matches_torch(torch, spec: Spec, data) -> None:
    arrays, kw = data.draw(cases(spec))
    check_op(torch, spec, arrays, kw)
