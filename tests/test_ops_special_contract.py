"""The special elementwise ops (ops/special.py) and the contractions (ops/contract.py)
against the PyTorch oracle: values, dtypes, broadcasting, grad_fn graphs, first and second
derivatives; plus gradcheck/gradgradcheck (no torch needed) and torch's errors."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from test_ops_table import assert_close, graph_sig

import autograd_viz as av
from autograd_viz.autograd import gradcheck, gradgradcheck
from autograd_viz.ops.contract import linalg_cross, multi_dot

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _data(shapes, domain):
    rng = np.random.default_rng(sum(map(len, shapes)) + 7)
    out = []
    for s in shapes:
        if domain == "unit":
            out.append(rng.uniform(-0.9, 0.9, s))
        elif domain == "pos":
            out.append(rng.uniform(0.2, 2.0, s))
        else:
            out.append(rng.standard_normal(s))
    return out


def _linalg(m):
    """torch.linalg.{cross,multi_dot} and their autograd_viz counterparts."""
    if m is av:
        return type("L", (), {"cross": staticmethod(linalg_cross),
                              "multi_dot": staticmethod(multi_dot)})
    return m.linalg


# name, fn(m, *xs), shapes, domain, second (False: linear in each input, no 2nd derivative)
ELEMENTWISE = [
    ("acos", lambda m, a: m.acos(a), [(3, 4)], "unit", True),
    ("arccos", lambda m, a: m.arccos(a), [(3,)], "unit", True),
    ("asin", lambda m, a: a.asin(), [(3, 4)], "unit", True),
    ("arcsin", lambda m, a: a.arcsin(), [(3,)], "unit", True),
    ("atan", lambda m, a: m.atan(a), [(3, 4)], "normal", True),
    ("arctan", lambda m, a: m.arctan(a), [(3,)], "normal", True),
    ("sinh", lambda m, a: m.sinh(a), [(3, 4)], "normal", True),
    ("cosh", lambda m, a: a.cosh(), [(3, 4)], "normal", True),
    ("asinh", lambda m, a: m.asinh(a), [(3, 4)], "normal", True),
    ("arcsinh", lambda m, a: m.arcsinh(a), [(3,)], "normal", True),
    ("acosh", lambda m, a: (a + 1.5).acosh(), [(3, 4)], "pos", True),
    ("arccosh", lambda m, a: m.arccosh(a + 1.5), [(3,)], "pos", True),
    ("atanh", lambda m, a: m.atanh(a), [(3, 4)], "unit", True),
    ("arctanh", lambda m, a: a.arctanh(), [(3,)], "unit", True),
    ("erf", lambda m, a: m.erf(a), [(3, 4)], "normal", True),
    ("erfc", lambda m, a: a.erfc(), [(3, 4)], "normal", True),
    ("erfinv", lambda m, a: m.erfinv(a), [(3, 4)], "unit", True),
    ("sinc", lambda m, a: m.sinc(a), [(3, 4)], "normal", True),
    ("deg2rad", lambda m, a: m.deg2rad(a), [(3, 4)], "normal", False),
    ("rad2deg", lambda m, a: a.rad2deg(), [(3, 4)], "normal", False),
    ("atan2", lambda m, a, b: m.atan2(a, b), [(3, 1), (4,)], "normal", True),
    ("arctan2", lambda m, a, b: a.arctan2(b), [(3, 4), (4,)], "normal", True),
    ("logaddexp", lambda m, a, b: m.logaddexp(a, b), [(3, 1), (4,)], "normal", True),
    ("logaddexp2", lambda m, a, b: a.logaddexp2(b), [(3, 1), (4,)], "normal", True),
    ("hypot", lambda m, a, b: m.hypot(a, b), [(3, 1), (4,)], "normal", True),
    ("xlogy", lambda m, a, b: m.xlogy(a, b), [(3, 1), (4,)], "pos", True),
    ("xlogy_scalar_self", lambda m, b: m.xlogy(2.5, b), [(4,)], "pos", True),
    ("xlogy_scalar_other", lambda m, a: a.xlogy(3.0), [(4,)], "pos", False),
    ("lerp_scalar", lambda m, a, b: m.lerp(a, b, 0.3), [(3, 1), (4,)], "normal", False),
    ("lerp_scalar_hi", lambda m, a, b: a.lerp(b, 0.8), [(3, 4), (4,)], "normal", False),
    ("lerp_tensor", lambda m, a, b, w: m.lerp(a, b, w), [(3, 1), (4,), (3, 4)], "normal", True),
    ("addcmul", lambda m, a, b, c: m.addcmul(a, b, c, value=0.5), [(3, 1), (4,), (3, 4)],
     "normal", True),
    ("addcdiv", lambda m, a, b, c: a.addcdiv(b, c, value=2), [(3, 1), (4,), (3, 4)], "pos",
     True),
    ("acos_", lambda m, a: (a * 1).acos_(), [(3,)], "unit", True),
    ("arcsin_", lambda m, a: (a * 1).arcsin_(), [(3,)], "unit", True),
    ("erf_", lambda m, a: (a * 1).erf_(), [(3,)], "normal", True),
    ("atan2_", lambda m, a, b: (a * 1).atan2_(b), [(3, 4), (4,)], "normal", True),
    ("lerp_", lambda m, a, b: (a * 1).lerp_(b, 0.2), [(3,), (3,)], "normal", False),
    ("addcmul_", lambda m, a, b, c: (a * 1).addcmul_(b, c), [(3,)] * 3, "normal", True),
    ("addcdiv_", lambda m, a, b, c: (a * 1).addcdiv_(b, c), [(3,)] * 3, "pos", True),
]

CONTRACT = [
    ("tensordot", lambda m, a, b: m.tensordot(a, b, dims=([1], [1])), [(3, 4), (3, 4)], True),
    ("tensordot_2", lambda m, a, b: m.tensordot(a, b), [(2, 3, 4), (3, 4, 5)], True),
    ("tensordot_perm", lambda m, a, b: m.tensordot(a, b, dims=([1, 2], [1, 0])),
     [(2, 3, 4), (4, 3, 5)], True),
    ("tensordot_1d", lambda m, a, b: m.tensordot(a, b, dims=1), [(4,), (4,)], True),
    ("tensordot_0", lambda m, a, b: m.tensordot(a, b, dims=0), [(4,), (3,)], False),
    ("tensordot_bcast", lambda m, a, b: m.tensordot(a, b, dims=([1], [0])), [(2, 1), (1, 5)],
     True),
    ("inner", lambda m, a, b: m.inner(a, b), [(3, 4), (5, 4)], True),
    ("inner_1d", lambda m, a, b: a.inner(b), [(4,), (4,)], True),
    ("inner_1d_2d", lambda m, a, b: m.inner(a, b), [(4,), (3, 4)], True),
    ("inner_0d", lambda m, a, b: m.inner(a, b), [(3, 4), ()], True),
    ("kron", lambda m, a, b: m.kron(a, b), [(2, 3), (4,)], True),
    ("kron_2d", lambda m, a, b: a.kron(b), [(2, 3), (2, 2)], True),
    ("addmm", lambda m, a, b, c: m.addmm(a, b, c, beta=0.5, alpha=2), [(4,), (3, 2), (2, 4)],
     True),
    ("addmm_method", lambda m, a, b, c: a.addmm(b, c), [(3, 4), (3, 2), (2, 4)], True),
    ("addmm_", lambda m, a, b, c: (a * 1).addmm_(b, c, alpha=3), [(3, 4), (3, 2), (2, 4)],
     True),
    ("addmv", lambda m, a, b, c: m.addmv(a, b, c, alpha=2), [(3,), (3, 2), (2,)], True),
    ("addbmm", lambda m, a, b, c: m.addbmm(a, b, c, beta=2), [(3, 4), (5, 3, 2), (5, 2, 4)],
     True),
    ("baddbmm", lambda m, a, b, c: m.baddbmm(a, b, c, beta=2, alpha=0.5),
     [(3, 1), (5, 3, 2), (5, 2, 4)], True),
    ("baddbmm_", lambda m, a, b, c: (a * 1).baddbmm_(b, c), [(5, 3, 4), (5, 3, 2), (5, 2, 4)],
     True),
    ("cross", lambda m, a, b: m.cross(a, b, dim=1), [(2, 3), (1, 3)], True),
    ("cross_method", lambda m, a, b: a.cross(b, dim=0), [(3, 2), (3, 2)], True),
    ("linalg_cross", lambda m, a, b: _linalg(m).cross(a, b), [(4, 2, 3), (1, 2, 3)], True),
    ("multi_dot", lambda m, a, b, c, d: _linalg(m).multi_dot([a, b, c, d]),
     [(3,), (3, 5), (5, 2), (2, 4)], True),
    ("multi_dot_3", lambda m, a, b, c: _linalg(m).multi_dot([a, b, c]),
     [(3, 4), (4, 5), (5, 2)], True),
    ("chain_matmul", lambda m, a, b, c: m.chain_matmul(a, b, c), [(3, 4), (4, 5), (5, 2)],
     True),
    ("cdist", lambda m, a, b: m.cdist(a, b), [(3, 2), (4, 2)], True),
    ("cdist_batched", lambda m, a, b: m.cdist(a, b), [(2, 3, 2), (1, 4, 2)], True),
    ("cdist_p1", lambda m, a, b: m.cdist(a, b, p=1), [(3, 2), (4, 2)], True),
    ("cdist_inf", lambda m, a, b: m.cdist(a, b, p=float("inf")), [(3, 2), (4, 2)], True),
    ("cdist_p3", lambda m, a, b: m.cdist(a, b, p=3), [(3, 2), (4, 2)], True),
    ("cdist_mm_path", lambda m, a, b: m.cdist(a, b), [(30, 2), (4, 2)], True),
]

# einsum: one EinsumBackward0 node (torch builds permute/bmm/...): values and grads only
EINSUM = [
    ("matmul", "ij,jk->ik", [(2, 3), (3, 4)], True),
    ("implicit", "ij,jk", [(2, 3), (3, 4)], True),
    ("batched", "bij,bjk->bik", [(2, 3, 4), (2, 4, 5)], True),
    ("ellipsis_bcast", "...ij,...jk", [(5, 2, 3), (3, 4)], True),
    ("ellipsis_out_mid", "i...->...i", [(2, 3, 4)], False),
    ("size1_bcast", "ij,ij->ij", [(1, 3), (2, 3)], True),
    ("three", "ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)], True),
    ("outer_sum_only", "ij,k->ik", [(2, 3), (4,)], True),
    ("diag", "ii->i", [(3, 3)], False),
    ("trace", "ii", [(3, 3)], False),
    ("repeated_with_other", "iij,j->i", [(3, 3, 2), (2,)], True),
    ("sum_all", "ij->", [(3, 3)], False),
    ("transpose", " i j -> j i ", [(2, 3)], False),
    ("uppercase", "Ab,bC->AC", [(2, 3), (3, 2)], True),
]


def _check(torch, fn, shapes, domain="normal", graph=True, second=True):
    arrays = _data(shapes, domain)
    res = []
    for m in (av, torch):
        xs = [m.tensor(a.copy(), dtype=m.float64, requires_grad=True) for a in arrays]
        res.append((xs, fn(m, *xs)))
    (ax, ar), (tx, tr) = res
    assert_close(ar, tr, rtol=1e-10, what="forward")
    if graph:
        assert graph_sig([ar], ax) == graph_sig([tr], tx)
    else:
        assert type(ar.grad_fn).__name__ == "EinsumBackward0"
    go = np.random.default_rng(1).standard_normal(tuple(tr.shape))
    ag = av.autograd.grad([ar], ax, [av.tensor(go)], create_graph=True, allow_unused=True)
    tg = torch.autograd.grad([tr], tx, [torch.tensor(go)], create_graph=True,
                             allow_unused=True)
    for i, (a, t) in enumerate(zip(ag, tg)):
        assert_close(a, t, rtol=1e-9, what=f"grad {i}")
    if not second:
        return
    ws = [np.random.default_rng(2 + i).standard_normal(tuple(t.shape)) for i, t in enumerate(tg)]
    agg = av.autograd.grad(sum((g * av.tensor(w)).sum() for g, w in zip(ag, ws)), ax,
                           allow_unused=True)
    tgg = torch.autograd.grad(sum((g * torch.tensor(w)).sum() for g, w in zip(tg, ws)), tx,
                              allow_unused=True)
    for i, (a, t) in enumerate(zip(agg, tgg)):
        if (a is None) != (t is None):  # None and zeros are the same derivative
            a = a if a is not None else av.zeros(tuple(t.shape), dtype=av.float64)
            t = t if t is not None else torch.zeros(tuple(a.shape), dtype=torch.float64)
        assert_close(a, t, rtol=1e-7, atol=1e-9, what=f"second derivative {i}")


@pytest.mark.parametrize("case", ELEMENTWISE, ids=[c[0] for c in ELEMENTWISE])
def test_elementwise_matches_torch(torch, case):
    _, fn, shapes, domain, second = case
    _check(torch, fn, shapes, domain, second=second)


@pytest.mark.parametrize("case", CONTRACT, ids=[c[0] for c in CONTRACT])
def test_contract_matches_torch(torch, case):
    name, fn, shapes, second = case
    _check(torch, fn, shapes, second=second and not name.startswith("cdist"))


@pytest.mark.parametrize("case", EINSUM, ids=[c[0] for c in EINSUM])
def test_einsum_matches_torch(torch, case):
    _, eq, shapes, second = case
    _check(torch, lambda m, *xs: m.einsum(eq, *xs), shapes, graph=False, second=second)


def test_einsum_same_tensor_twice(torch):
    _check(torch, lambda m, a: m.einsum("i,i", a, a), [(4,)], graph=False)
    _check(torch, lambda m, a: m.einsum("ij,jk->ik", a, a), [(3, 3)], graph=False)


def test_einsum_list_operands_and_third_derivative(torch):
    a, b = _data([(2, 3), (3, 2)], "normal")
    outs = []
    for m in (av, torch):
        x = m.tensor(a, requires_grad=True)
        y = m.tensor(b, requires_grad=True)
        r = m.einsum("ij,jk->ik", [x * x, y]).sum() ** 2
        (g,) = m.autograd.grad(r, [x], create_graph=True)
        (gg,) = m.autograd.grad(g.sum(), [x], create_graph=True)
        (ggg,) = m.autograd.grad(gg.sum(), [x])
        outs.append((g, gg, ggg))
    for a_, t_ in zip(*outs):
        assert_close(a_, t_, rtol=1e-9)


# ------------------------------------------------------------------------- dtypes
@pytest.mark.parametrize("name", ["acos", "asin", "atan", "sinh", "cosh", "asinh", "atanh",
                                  "erf", "erfc", "erfinv", "sinc", "deg2rad", "rad2deg"])
@pytest.mark.parametrize("dt", ["int64", "bool", "float32", "float64"])
def test_unary_dtypes(torch, name, dt):
    a = np.array([[0, 1], [1, 0]])
    x, t = av.tensor(a).to(getattr(av, dt)), torch.tensor(a).to(getattr(torch, dt))
    assert_close(getattr(av, name)(x), getattr(torch, name)(t), rtol=1e-6)


@pytest.mark.parametrize("name", ["atan2", "logaddexp", "logaddexp2", "hypot", "xlogy"])
@pytest.mark.parametrize("dts", [("float32", "float64"), ("int64", "float32"),
                                 ("float32", "float32"), ("int64", "int64"),
                                 ("int32", "float64")])
def test_binary_promotion(torch, name, dts):
    a, b = np.array([[1, 2], [3, 4]]), np.array([2, 1])
    xs = (av.tensor(a).to(getattr(av, dts[0])), av.tensor(b).to(getattr(av, dts[1])))
    ts = (torch.tensor(a).to(getattr(torch, dts[0])), torch.tensor(b).to(getattr(torch, dts[1])))
    try:
        t = getattr(torch, name)(*ts)
    except NotImplementedError as e:
        with pytest.raises(NotImplementedError, match=str(e).replace("'", ".")
                           .replace('"', ".")):
            getattr(av, name)(*xs)
        return
    assert_close(getattr(av, name)(*xs), t, rtol=1e-6)


def test_xlogy_scalars_and_special_values(torch):
    v = [0.0, 0.0, 1.0, 2.0, 0.0]
    w = [float("nan"), 0.0, 0.0, 3.0, -1.0]
    assert_close(av.xlogy(av.tensor(v), av.tensor(w)), torch.xlogy(torch.tensor(v),
                                                                    torch.tensor(w)))
    i = [1, 2, 3]
    assert_close(av.xlogy(2, av.tensor(i)), torch.xlogy(2, torch.tensor(i)))
    assert_close(av.xlogy(av.tensor(i), 2.0), torch.xlogy(torch.tensor(i), 2.0))
    for m in (av, torch):
        x = m.tensor([0.0, 1.0], requires_grad=True)
        (g,) = m.autograd.grad(m.xlogy(x, 0.0).sum(), [x])
        assert g.tolist()[0] == 0.0 and g.tolist()[1] == float("-inf")


def test_mixed_dtypes_addcmul_addcdiv_lerp(torch):
    a = np.arange(6.0).reshape(2, 3) + 1
    for m_dt in [("float32", "float64", "float32"), ("int64", "int64", "int64"),
                 ("int64", "float32", "float32")]:
        xs = [av.tensor(a).to(getattr(av, d)) for d in m_dt]
        ts = [torch.tensor(a).to(getattr(torch, d)) for d in m_dt]
        assert_close(av.addcmul(*xs, value=2), torch.addcmul(*ts, value=2))
        if "float" in m_dt[1] or "float" in m_dt[2]:
            assert_close(av.addcdiv(*xs, value=2), torch.addcdiv(*ts, value=2), rtol=1e-6)
    f32 = av.tensor(a, dtype=av.float32)
    t32 = torch.tensor(a, dtype=torch.float32)
    assert_close(av.lerp(f32, f32 * 2, av.tensor(0.25, dtype=av.float64)),
                 torch.lerp(t32, t32 * 2, torch.tensor(0.25, dtype=torch.float64)))
    assert_close(av.lerp(f32, f32 * 2, 2), torch.lerp(t32, t32 * 2, 2))


def test_contract_int_dtypes(torch):
    a, b = np.arange(6).reshape(2, 3), np.arange(12).reshape(3, 4)
    for name, fn in [("einsum", lambda m, x, y: m.einsum("ij,jk", x, y)),
                     ("tensordot", lambda m, x, y: m.tensordot(x, y, dims=1)),
                     ("addmm", lambda m, x, y: m.addmm(m.ones(2, 4, dtype=m.int64), x, y,
                                                       beta=2, alpha=3)),
                     ("kron", lambda m, x, y: m.kron(x, y.to(m.float64)))]:
        assert_close(fn(av, av.tensor(a), av.tensor(b)), fn(torch, torch.tensor(a),
                                                            torch.tensor(b)), what=name)
    assert_close(av.cross(av.tensor(a[:, :3]), av.tensor(a[:, :3] + 1), dim=1),
                 torch.cross(torch.tensor(a[:, :3]), torch.tensor(a[:, :3] + 1), dim=1))


def test_float32_values(torch):
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    x, y = av.tensor(a, dtype=av.float32), av.tensor(b, dtype=av.float32)
    t, u = torch.tensor(a, dtype=torch.float32), torch.tensor(b, dtype=torch.float32)
    assert_close(av.einsum("ij,jk->ki", x, y), torch.einsum("ij,jk->ki", t, u), rtol=1e-5)
    assert_close(av.cdist(x, y.t()), torch.cdist(t, u.t()), rtol=1e-5)
    assert_close(av.erfinv(x.clamp(-0.9, 0.9)), torch.erfinv(t.clamp(-0.9, 0.9)), rtol=1e-5)


def test_isclose_allclose(torch):
    a = [1.0, float("nan"), float("inf"), 1.0, 0.0]
    b = [1.0 + 1e-9, float("nan"), float("inf"), 1.1, 1e-9]
    for kw in [{}, {"equal_nan": True}, {"rtol": 0.2}, {"atol": 0.0, "rtol": 0.0}]:
        assert_close(av.isclose(av.tensor(a), av.tensor(b), **kw),
                     torch.isclose(torch.tensor(a), torch.tensor(b), **kw))
        assert av.allclose(av.tensor(a), av.tensor(b), **kw) == torch.allclose(
            torch.tensor(a), torch.tensor(b), **kw)
    assert_close(av.tensor([1, 2]).isclose(av.tensor([1, 3])),
                 torch.tensor([1, 2]).isclose(torch.tensor([1, 3])))
    assert av.tensor([1.0]).allclose(av.tensor([1.0, 1.0]))
    x = av.tensor([1.0], requires_grad=True)
    assert not av.isclose(x, x).requires_grad


def test_cdist_zero_distance_grad_is_zero(torch):
    a = np.array([[0.0, 1.0], [2.0, 3.0]])
    for p in (2.0, 1.5, 3.0):
        grads = []
        for m in (av, torch):
            x = m.tensor(a, requires_grad=True)
            (g,) = m.autograd.grad(m.cdist(x, m.tensor(a), p=p).sum(), [x])
            grads.append(g)
        assert_close(*grads)
        assert np.isfinite(grads[0].numpy()).all()


def test_cdist_double_backward_is_differentiable():
    rng = np.random.default_rng(5)
    x = av.tensor(rng.standard_normal((3, 2)), requires_grad=True)
    y = av.tensor(rng.standard_normal((4, 2)), requires_grad=True)
    assert gradgradcheck(lambda a, b: av.cdist(a, b), [x, y], atol=1e-5)


def test_inplace_errors_and_nodes(torch):
    for m in (av, torch):
        with pytest.raises(RuntimeError, match="result type Float can't be cast to the "
                                               "desired output type Long"):
            m.ones(2, dtype=m.int64).acos_()
        with pytest.raises(RuntimeError, match=r"output with shape \[3\] doesn't match the "
                                               r"broadcast shape \[2, 3\]"):
            m.ones(3).lerp_(m.ones(2, 3), 0.5)
        x = m.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
            x.erf_()
        y = (x * 1).addcdiv_(x, x + 1)
        assert type(y.grad_fn).__name__ == "AddcdivBackward0"


def test_chain_matmul_single_and_warning(torch):
    a = np.ones((2, 3))
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        r = av.chain_matmul(av.tensor(a, requires_grad=True))
    assert any("chain_matmul is deprecated" in str(x.message) for x in w)
    assert type(r.grad_fn).__name__ == "CloneBackward0"


def test_cross_default_dim(torch):
    a, b = _data([(3, 3), (3, 3)], "normal")
    with pytest.warns(UserWarning, match="without specifying the dim"):
        r = av.cross(av.tensor(a), av.tensor(b))
    assert_close(r, torch.cross(torch.tensor(a), torch.tensor(b), dim=0))


# ---------------------------------------------------------------- gradcheck (no torch)
GRADCHECK = [
    (lambda a: av.acos(a), [(3,)], "unit"),
    (lambda a: av.erfinv(a), [(3,)], "unit"),
    (lambda a: av.sinc(a), [(3,)], "normal"),
    (lambda a, b: av.atan2(a, b), [(2, 1), (3,)], "normal"),
    (lambda a, b: av.logaddexp2(a, b), [(2, 1), (3,)], "normal"),
    (lambda a, b: av.hypot(a, b), [(2, 1), (3,)], "normal"),
    (lambda a, b: av.xlogy(a, b), [(2, 1), (3,)], "pos"),
    (lambda a, b, w: av.lerp(a, b, w), [(2, 1), (3,), (2, 3)], "normal"),
    (lambda a, b, c: av.addcdiv(a, b, c, value=0.5), [(2, 1), (3,), (2, 3)], "pos"),
    (lambda a, b: av.einsum("iij,jk->ik", a, b), [(2, 2, 3), (3, 2)], "normal"),
    (lambda a, b, c: av.einsum("...i,i,j->...j", a, b, c), [(2, 3), (3,), (2,)], "normal"),
    (lambda a, b: av.tensordot(a, b, dims=([0, 2], [2, 0])), [(2, 3, 4), (4, 2, 2)],
     "normal"),
    (lambda a, b, c: av.baddbmm(a, b, c, beta=0.5, alpha=2), [(1, 3), (2, 2, 3), (2, 3, 3)],
     "normal"),
    (lambda a, b, c: av.addbmm(a, b, c), [(3,), (2, 2, 3), (2, 3, 3)], "normal"),
    (lambda a, b: av.cross(a, b, dim=-1), [(2, 3), (1, 3)], "normal"),
    (lambda a, b: av.cdist(a, b, p=1.5), [(3, 2), (2, 2)], "normal"),
    (lambda a, b: av.kron(a, b), [(2, 2), (3,)], "normal"),
]


@pytest.mark.parametrize("i", range(len(GRADCHECK)))
def test_gradcheck_and_gradgradcheck(i):
    fn, shapes, domain = GRADCHECK[i]
    xs = [av.tensor(a, dtype=av.float64, requires_grad=True) for a in _data(shapes, domain)]
    assert gradcheck(fn, xs, eps=1e-6, atol=1e-5, rtol=1e-4)
    assert gradgradcheck(fn, xs, eps=1e-6, atol=1e-5, rtol=1e-4)


# --------------------------------------------------------------------------- errors
def _same_error(torch, fn):
    try:
        fn(torch)
    except Exception as e:  # noqa: BLE001
        exc = e
    else:
        pytest.fail("torch raised nothing")
    with pytest.raises(type(exc)) as info:
        fn(av)
    assert str(info.value) == str(exc)


def _o(m, *s, dt="float32"):
    return m.ones(*s, dtype=getattr(m, dt))


ERRORS = {
    "einsum_more_ops": lambda m: m.einsum("ij", _o(m, 2, 3), _o(m, 3)),
    "einsum_fewer_ops": lambda m: m.einsum("ij,jk->ik", _o(m, 2, 3)),
    "einsum_ndim": lambda m: m.einsum("ijk", _o(m, 2, 3)),
    "einsum_ndim_ellipsis": lambda m: m.einsum("ijk...", _o(m, 2, 3)),
    "einsum_bad_char": lambda m: m.einsum("i1", _o(m, 2, 3)),
    "einsum_bad_arrow": lambda m: m.einsum("ij-ij", _o(m, 2, 3)),
    "einsum_out_repeated": lambda m: m.einsum("ij->ii", _o(m, 2, 3)),
    "einsum_out_unknown": lambda m: m.einsum("ij->k", _o(m, 2, 3)),
    "einsum_sizes": lambda m: m.einsum("ij,jk->ik", _o(m, 2, 3), _o(m, 4, 5)),
    "einsum_repeated_sizes": lambda m: m.einsum("ii->i", _o(m, 2, 3)),
    "einsum_ellipsis_sizes": lambda m: m.einsum("...ij,...jk", _o(m, 5, 2, 3), _o(m, 4, 3, 4)),
    "einsum_two_ellipses": lambda m: m.einsum("...i...", _o(m, 5, 2, 3)),
    "einsum_dtype": lambda m: m.einsum("ij,jk", _o(m, 2, 3), _o(m, 3, 4, dt="float64")),
    "einsum_no_operands": lambda m: m.einsum("i"),
    "einsum_bool": lambda m: m.einsum("ij,jk", _o(m, 2, 3, dt="bool"), _o(m, 3, 4, dt="bool")),
    "tensordot_sizes": lambda m: m.tensordot(_o(m, 2, 3), _o(m, 4, 5), dims=1),
    "tensordot_neg": lambda m: m.tensordot(_o(m, 2, 3), _o(m, 3, 5), dims=-1),
    "tensordot_big": lambda m: m.tensordot(_o(m, 2, 3), _o(m, 3, 5), dims=3),
    "tensordot_lengths": lambda m: m.tensordot(_o(m, 2, 3), _o(m, 3, 5), dims=([1], [0, 1])),
    "tensordot_dtype": lambda m: m.tensordot(_o(m, 2, 3), _o(m, 3, 5, dt="float64"), dims=1),
    "tensordot_dup": lambda m: m.tensordot(_o(m, 3, 3), _o(m, 3, 3), dims=([0, 0], [0, 1])),
    "addmm_shapes": lambda m: m.addmm(_o(m, 2, 4), _o(m, 2, 3), _o(m, 4, 4)),
    "addmm_1d": lambda m: m.addmm(_o(m, 2, 4), _o(m, 3), _o(m, 3, 4)),
    "addmm_input": lambda m: m.addmm(_o(m, 3, 4), _o(m, 2, 3), _o(m, 3, 4)),
    "addmm_dtype": lambda m: m.addmm(_o(m, 2, 4), _o(m, 2, 3), _o(m, 3, 4, dt="float64")),
    "addmv_sizes": lambda m: m.addmv(_o(m, 2), _o(m, 2, 3), _o(m, 4)),
    "addmv_ndim": lambda m: m.addmv(_o(m, 2), _o(m, 2, 3), _o(m, 3, 1)),
    "addmv_dtype": lambda m: m.addmv(_o(m, 2), _o(m, 2, 3), _o(m, 3, dt="float64")),
    "addbmm_sizes": lambda m: m.addbmm(_o(m, 2, 4), _o(m, 5, 2, 3), _o(m, 5, 4, 4)),
    "addbmm_batches": lambda m: m.addbmm(_o(m, 2, 4), _o(m, 5, 2, 3), _o(m, 6, 3, 4)),
    "addbmm_2d": lambda m: m.addbmm(_o(m, 2, 4), _o(m, 2, 3), _o(m, 3, 4)),
    "baddbmm_sizes": lambda m: m.baddbmm(_o(m, 5, 2, 4), _o(m, 5, 2, 3), _o(m, 5, 4, 4)),
    "baddbmm_input": lambda m: m.baddbmm(_o(m, 3, 4), _o(m, 5, 2, 3), _o(m, 5, 3, 4)),
    "baddbmm_dtype": lambda m: m.baddbmm(_o(m, 2, 4), _o(m, 5, 2, 3),
                                         _o(m, 5, 3, 4, dt="float64")),
    "cross_length": lambda m: m.cross(_o(m, 2, 4), _o(m, 2, 4), dim=1),
    "cross_no_dim3": lambda m: m.cross(_o(m, 2, 4), _o(m, 2, 4)),
    "cross_ndim": lambda m: m.cross(_o(m, 2, 3), _o(m, 3), dim=1),
    "cross_dtype": lambda m: m.cross(_o(m, 2, 3), _o(m, 2, 3, dt="float64"), dim=1),
    "cross_bcast": lambda m: m.cross(_o(m, 2, 3), _o(m, 4, 3), dim=1),
    "cross_dim": lambda m: m.cross(_o(m, 2, 3), _o(m, 2, 3), dim=2),
    "cdist_1d": lambda m: m.cdist(_o(m, 3), _o(m, 3)),
    "cdist_cols": lambda m: m.cdist(_o(m, 2, 3), _o(m, 2, 4)),
    "cdist_int": lambda m: m.cdist(_o(m, 2, 3, dt="int64"), _o(m, 2, 3, dt="int64")),
    "cdist_p": lambda m: m.cdist(_o(m, 2, 3), _o(m, 2, 3), p=-1),
    "cdist_dtype": lambda m: m.cdist(_o(m, 2, 3), _o(m, 2, 3, dt="float64")),
    "cdist_batch": lambda m: m.cdist(_o(m, 4, 2, 3), _o(m, 3, 5, 3)),
    "inner_sizes": lambda m: m.inner(_o(m, 2, 3), _o(m, 4)),
    "inner_dtype": lambda m: m.inner(_o(m, 2, 3), _o(m, 3, dt="float64")),
    "chain_none": lambda m: m.chain_matmul(),
    "chain_1d": lambda m: m.chain_matmul(_o(m, 2, 3), _o(m, 3)),
    "chain_sizes": lambda m: m.chain_matmul(_o(m, 2, 3), _o(m, 4, 5)),
    "multi_dot_one": lambda m: _linalg(m).multi_dot([_o(m, 2, 3)]),
    "multi_dot_3d": lambda m: _linalg(m).multi_dot([_o(m, 2, 3, 4), _o(m, 4, 3)]),
    "multi_dot_mid": lambda m: _linalg(m).multi_dot([_o(m, 2, 3), _o(m, 3), _o(m, 3, 3)]),
    "multi_dot_dtype": lambda m: _linalg(m).multi_dot([_o(m, 2, 3), _o(m, 3, 3, dt="float64")]),
    "multi_dot_sizes": lambda m: _linalg(m).multi_dot([_o(m, 2, 3), _o(m, 3, 4), _o(m, 5, 3)]),
    "atan2_scalar": lambda m: m.atan2(_o(m, 2), 2.0),
    "atan2_shapes": lambda m: m.atan2(_o(m, 2, 3), _o(m, 4)),
    "hypot_int": lambda m: m.hypot(_o(m, 2, dt="int64"), _o(m, 2, dt="int64")),
    "logaddexp_int": lambda m: m.logaddexp(_o(m, 2, dt="int64"), _o(m, 2, dt="int64")),
    "lerp_end_dtype": lambda m: m.lerp(_o(m, 2), _o(m, 2, dt="float64"), 0.5),
    "lerp_weight_dtype": lambda m: m.lerp(_o(m, 2), _o(m, 2), _o(m, 2, dt="float64")),
    "lerp_int": lambda m: m.lerp(_o(m, 2, dt="int64"), _o(m, 2, dt="int64"), 0.5),
    "lerp_shapes": lambda m: m.lerp(_o(m, 2, 3), _o(m, 4, 3), 0.5),
    "addcmul_shapes": lambda m: m.addcmul(_o(m, 2, 3), _o(m, 2, 3), _o(m, 4)),
    "addcdiv_int": lambda m: m.addcdiv(_o(m, 2), _o(m, 2, dt="int64"), _o(m, 2, dt="int64")),
    "isclose_dtype": lambda m: m.isclose(_o(m, 2), _o(m, 2, dt="float64")),
    "isclose_rtol": lambda m: m.isclose(_o(m, 2), _o(m, 2), rtol=-1),
    "isclose_atol": lambda m: m.isclose(_o(m, 2), _o(m, 2), atol=-1.5),
    "isclose_scalar": lambda m: m.isclose(_o(m, 2), 1.0),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_errors_match_torch(torch, name):
    _same_error(torch, ERRORS[name])


def test_linalg_namespace(torch):
    """``autograd_viz.linalg`` holds torch.linalg's cross and multi_dot."""
    a, b = [[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]], [[0.0, 1.0, 0.0], [1.0, 1.0, 1.0]]
    mats = [np.arange(6.0).reshape(2, 3), np.ones((3, 4)), np.arange(4.0).reshape(4, 1)]
    res = []
    for m in (av, torch):
        res.append((m.linalg.cross(m.tensor(a), m.tensor(b)).tolist(),
                    m.linalg.multi_dot([m.tensor(x) for x in mats]).tolist()))
    assert res[0] == res[1]
