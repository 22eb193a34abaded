"""Sorting/selection ops (``ops/sorting.py``) and matrix/layout ops (``ops/matrix.py``)
against torch: values, dtypes, shapes, grad_fn graphs, first and second derivatives
(float64), ties, views sharing memory, errors; plus finite differences (gradcheck)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from test_ops_table import Spec, assert_close, check_op, graph_sig, outputs

import autograd_viz as av
from autograd_viz.autograd import gradcheck, gradgradcheck

pytestmark = pytest.mark.filterwarnings("ignore")


def _data(shape: tuple, kind: str, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "ties":  # small integers: equal values and zeros
        return rng.integers(-2, 3, shape).astype(np.float64)
    if kind == "distinct":
        n = int(np.prod(shape))
        return (rng.permutation(n) - n / 2 + rng.uniform(0.1, 0.4)).reshape(shape)
    return rng.standard_normal(shape)


def _i(m: Any, v: Any) -> Any:
    return m.tensor(v, dtype=m.int64)


# (id, fn(m, *xs), input shapes, data kinds allowed: ties / distinct / normal)
T, D, N = "ties", "distinct", "normal"
CASES: list[tuple[str, Callable, tuple, tuple]] = [
    # sorting: stable sort matches torch's CPU index choice on ties
    ("sort", lambda m, a: m.sort(a), ((3, 4),), (T, N)),
    ("sort_dim0_desc", lambda m, a: m.sort(a, 0, descending=True), ((3, 4),), (T, N)),
    ("sort_stable", lambda m, a: m.sort(a, dim=1, stable=True), ((3, 5),), (T,)),
    ("sort_stable_desc", lambda m, a: a.sort(stable=True, descending=True), ((2, 6),), (T,)),
    ("sort_1d", lambda m, a: a.sort(-1), ((7,),), (T, N)),
    ("sort_0d", lambda m, a: m.sort(a), ((),), (N,)),
    ("argsort", lambda m, a: m.argsort(a, dim=0, stable=True), ((4, 3),), (T,)),
    ("argsort_desc", lambda m, a: a.argsort(descending=True, stable=True), ((4, 3),), (T,)),
    ("msort", lambda m, a: m.msort(a), ((4, 3),), (T, N)),
    ("topk", lambda m, a: m.topk(a, 2), ((3, 5),), (D, N)),
    ("topk_small_dim0", lambda m, a: a.topk(3, dim=0, largest=False), ((4, 2),), (D, N)),
    ("topk_all", lambda m, a: m.topk(a, 4, 1), ((2, 4),), (D,)),
    ("topk_0d", lambda m, a: m.topk(a, 1), ((),), (N,)),
    ("kthvalue", lambda m, a: m.kthvalue(a, 2), ((3, 4),), (D, N)),
    ("kthvalue_keep", lambda m, a: a.kthvalue(3, 0, True), ((3, 4),), (D,)),
    ("kthvalue_0d", lambda m, a: m.kthvalue(a, 1), ((),), (N,)),
    ("median_all", lambda m, a: m.median(a), ((3, 4),), (T, D, N)),
    ("median_all_even", lambda m, a: a.median(), ((2, 3),), (T, D)),
    ("median_dim", lambda m, a: m.median(a, 1), ((3, 5),), (D, N)),
    ("median_dim_even_keep", lambda m, a: a.median(0, keepdim=True), ((4, 3),), (D,)),
    ("median_dim_0d", lambda m, a: m.median(a, 0), ((),), (N,)),
    # matrix / layout
    ("tril", lambda m, a: m.tril(a), ((3, 4),), (N,)),
    ("tril_k", lambda m, a: a.tril(-1), ((2, 3, 3),), (N,)),
    ("triu_k", lambda m, a: m.triu(a, 1), ((4, 3),), (N,)),
    ("triu_batched", lambda m, a: a.triu(), ((2, 3, 4),), (N,)),
    ("diag_1d", lambda m, a: m.diag(a), ((3,),), (N,)),
    ("diag_1d_k", lambda m, a: m.diag(a, -2), ((3,),), (N,)),
    ("diag_2d", lambda m, a: m.diag(a), ((3, 4),), (N,)),
    ("diag_2d_k", lambda m, a: a.diag(1), ((3, 4),), (N,)),
    ("diag_2d_far", lambda m, a: a.diag(7), ((3, 4),), (N,)),
    ("diagonal", lambda m, a: m.diagonal(a), ((3, 4),), (N,)),
    ("diagonal_3d", lambda m, a: a.diagonal(1, -1, 0), ((2, 3, 4),), (N,)),
    ("diagonal_neg", lambda m, a: m.diagonal(a, -1, 2, 1), ((2, 3, 4),), (N,)),
    ("diagonal_chain", lambda m, a: a.diagonal().diagonal(), ((3, 3, 2),), (N,)),
    ("trace", lambda m, a: m.trace(a), ((3, 4),), (N,)),
    ("trace_t", lambda m, a: a.trace(), ((4, 2),), (N,)),
    ("roll", lambda m, a: m.roll(a, 1, 0), ((3, 4),), (N,)),
    ("roll_flat", lambda m, a: a.roll(5), ((3, 4),), (N,)),
    ("roll_multi", lambda m, a: m.roll(a, (1, -3), (0, -1)), ((3, 4),), (N,)),
    ("cumprod", lambda m, a: m.cumprod(a, 1), ((3, 4),), (N, T)),
    ("cumprod_dim0", lambda m, a: a.cumprod(0), ((4, 3),), (N, T)),
    ("cumprod_1d", lambda m, a: m.cumprod(a, 0), ((5,),), (N, T)),
    ("cumprod_0d", lambda m, a: m.cumprod(a, 0), ((),), (N,)),
    ("diff", lambda m, a: m.diff(a), ((3, 4),), (N,)),
    ("diff_n2_dim0", lambda m, a: a.diff(n=2, dim=0), ((4, 3),), (N,)),
    ("diff_big_n", lambda m, a: m.diff(a, 5), ((2, 3),), (N,)),
    ("diff_n0", lambda m, a: m.diff(a, 0), ((2, 3),), (N,)),
    ("diff_prepend_append", lambda m, a, p, q: m.diff(a, prepend=p, append=q),
     ((3, 4), (3, 1), (3, 2)), (N,)),
    ("diff_append", lambda m, a, q: m.diff(a, dim=0, append=q), ((3, 4), (2, 4)), (N,)),
    ("repeat_interleave", lambda m, a: m.repeat_interleave(a, 2, dim=0), ((3, 4),), (N,)),
    ("repeat_interleave_flat", lambda m, a: a.repeat_interleave(3), ((2, 2),), (N,)),
    ("repeat_interleave_1d", lambda m, a: m.repeat_interleave(a, 2), ((3,),), (N,)),
    ("repeat_interleave_t", lambda m, a: m.repeat_interleave(a, _i(m, [1, 0, 2]), dim=0),
     ((3, 2),), (N,)),
    ("repeat_interleave_t0", lambda m, a: a.repeat_interleave(_i(m, 2), dim=1),
     ((3, 2),), (N,)),
    ("repeat_interleave_t_flat", lambda m, a: m.repeat_interleave(a, _i(m, [1, 2, 0, 3])),
     ((2, 2),), (N,)),
    ("tile", lambda m, a: m.tile(a, (2,)), ((3, 4),), (N,)),
    ("tile_more", lambda m, a: a.tile((2, 1, 3)), ((3, 2),), (N,)),
    ("tile_empty", lambda m, a: m.tile(a, ()), ((3, 2),), (N,)),
    ("take", lambda m, a: m.take(a, _i(m, [[0, 5], [-1, 5]])), ((3, 4),), (N,)),
    ("take_t", lambda m, a: a.t().take(_i(m, [1, 2, 7])), ((3, 4),), (N,)),
    ("take_0d", lambda m, a: m.take(a, _i(m, [0, -1, 0])), ((),), (N,)),
    ("meshgrid_ij", lambda m, a, b: m.meshgrid(a, b, indexing="ij"), ((3,), (2,)), (N,)),
    ("meshgrid_xy", lambda m, a, b, c: m.meshgrid([a, b, c], indexing="xy"),
     ((3,), (2,), (4,)), (N,)),
    ("meshgrid_one", lambda m, a: m.meshgrid(a, indexing="ij"), ((3,),), (N,)),
    ("meshgrid_0d", lambda m, a, b: m.meshgrid(a, b, indexing="xy"), ((), (2,)), (N,)),
    ("atleast_1d_0d", lambda m, a: m.atleast_1d(a * 2), ((),), (N,)),
    ("atleast_2d", lambda m, a, b, c: m.atleast_2d(a * 1, b * 1, c * 1), ((), (3,), (2, 2)),
     (N,)),
    ("atleast_3d", lambda m, a, b, c: m.atleast_3d([a * 1, b * 1, c * 1]),
     ((), (3,), (2, 2)), (N,)),
    ("atleast_3d_4d", lambda m, a: m.atleast_3d(a * 1), ((1, 2, 1, 2),), (N,)),
    ("vstack", lambda m, a, b: m.vstack([a, b]), ((3,), (3,)), (N,)),
    ("vstack_2d", lambda m, a, b: m.vstack((a, b)), ((2, 3), (3,)), (N,)),
    ("row_stack", lambda m, a, b: m.row_stack([a, b]), ((2, 3), (1, 3)), (N,)),
    ("hstack", lambda m, a, b: m.hstack([a, b]), ((3,), ()), (N,)),
    ("hstack_2d", lambda m, a, b: m.hstack([a, b]), ((2, 3), (2, 1)), (N,)),
    ("dstack", lambda m, a, b: m.dstack([a, b]), ((3,), (3,)), (N,)),
    ("dstack_2d", lambda m, a, b: m.dstack([a, b]), ((2, 3), (2, 3)), (N,)),
]
PARAMS = [pytest.param(fn, shp, kind, id=f"{name}-{kind}")
          for name, fn, shp, kinds in CASES for kind in kinds]


def _compare(torch, fn: Callable, arrays: list, second: bool = True) -> None:
    """Forward, graph, first and second derivatives of ``fn`` in both libraries."""
    check_op(torch, Spec("op", fn, None), arrays, {}, second)


@pytest.mark.parametrize("fn,shapes,kind", PARAMS)
def test_matches_torch(torch, fn, shapes, kind) -> None:
    for seed in range(2):
        _compare(torch, fn, [_data(s, kind, seed * 10 + k) for k, s in enumerate(shapes)])


# --------------------------------------------------------------------------- named results
@pytest.mark.parametrize("name,call", [
    ("sort", lambda m, x: m.sort(x)), ("topk", lambda m, x: m.topk(x, 2)),
    ("kthvalue", lambda m, x: m.kthvalue(x, 1)), ("median", lambda m, x: m.median(x, 0)),
])
def test_named_results(torch, name, call) -> None:
    x = _data((2, 3), D, 0)
    r, t = call(av, av.tensor(x)), call(torch, torch.tensor(x))
    assert type(r).__name__ == type(t).__name__ == name
    assert_close(r.values, t.values)
    assert_close(r.indices, t.indices)
    v, i = r
    assert v is r.values and i is r.indices


# --------------------------------------------------------------------------- ties and NaN
def test_sort_ties_and_nan(torch) -> None:
    data = [[1.0, np.nan, -1.0, np.nan, 1.0, 0.0], [2.0, 2.0, 2.0, 1.0, 1.0, 1.0]]
    for kw in ({}, {"descending": True}, {"stable": True, "descending": True}):
        a, t = av.sort(av.tensor(data), **kw), torch.sort(torch.tensor(data), **kw)
        assert_close(a.values, t.values)
        assert_close(a.indices, t.indices)
    for dt in ("int32", "int64", "bool"):
        x = np.array([3, 1, 2, 1, 0, 3])
        a = av.sort(av.tensor(x).to(getattr(av, dt)), descending=True)
        t = torch.sort(torch.tensor(x).to(getattr(torch, dt)), descending=True)
        assert_close(a.values, t.values)
        assert_close(a.indices, t.indices)


def test_nan_selection(torch) -> None:
    data = [1.0, np.nan, -1.0, 3.0]
    for call in (lambda m, x: m.topk(x, 2), lambda m, x: m.topk(x, 2, largest=False),
                 lambda m, x: m.kthvalue(x, 4), lambda m, x: m.median(x, 0),
                 lambda m, x: m.sort(x, descending=True)):
        a, t = call(av, av.tensor(data)), call(torch, torch.tensor(data))
        assert_close(a.values, t.values)
        assert_close(a.indices, t.indices)
    assert_close(av.median(av.tensor(data)), torch.median(torch.tensor(data)))
    x = av.tensor([1.0, np.nan, 0.0, np.nan], requires_grad=True)
    tx = torch.tensor([1.0, np.nan, 0.0, np.nan], requires_grad=True)
    av.median(x).backward()
    torch.median(tx).backward()
    assert_close(x.grad, tx.grad)


def test_median_ties_share_gradient(torch) -> None:
    data = [1.0, 2.0, 2.0, 3.0, 2.0]
    x = av.tensor(data, requires_grad=True)
    tx = torch.tensor(data, requires_grad=True)
    av.median(x).backward()
    torch.median(tx).backward()
    assert_close(x.grad, tx.grad)
    assert_close(av.median(av.tensor([], dtype=av.float32)), torch.median(torch.tensor([])))


def test_topk_unsorted_same_set(torch) -> None:
    x = _data((10,), D, 3)
    a, t = av.topk(av.tensor(x), 4, sorted=False), torch.topk(torch.tensor(x), 4, sorted=False)
    assert sorted(a.indices.tolist()) == sorted(t.indices.tolist())
    assert sorted(a.values.tolist()) == sorted(t.values.tolist())


def test_integer_inputs_dtypes(torch) -> None:
    x = [[3, 0, 2], [1, 4, 0]]
    for call in (lambda m, a: m.cumprod(a, 1), lambda m, a: m.cumprod(a.bool(), 0),
                 lambda m, a: m.cumprod(a, 1, dtype=m.float64), lambda m, a: m.trace(a),
                 lambda m, a: m.trace(a.int()), lambda m, a: m.count_nonzero(a),
                 lambda m, a: m.count_nonzero(a, 0), lambda m, a: m.count_nonzero(a, (0, 1)),
                 lambda m, a: a.count_nonzero(dim=-1), lambda m, a: m.diff(a.int()),
                 lambda m, a: m.diff(a.bool(), dim=0), lambda m, a: m.argsort(a, stable=True),
                 lambda m, a: m.topk(a, 2).indices, lambda m, a: m.median(a),
                 lambda m, a: m.diag(a[0]), lambda m, a: m.tril(a.int(), 1),
                 lambda m, a: m.take(a, m.tensor([1, 5])), lambda m, a: m.roll(a, 1, 1),
                 lambda m, a: m.repeat_interleave(m.tensor([2, 0, 1])),
                 lambda m, a: m.count_nonzero(m.tensor(0.0))):
        assert_close(call(av, av.tensor(x)), call(torch, torch.tensor(x)))


def test_cumprod_dtype_keeps_one_node(torch) -> None:
    x = av.tensor([1.0, 2.0], requires_grad=True)
    tx = torch.tensor([1.0, 2.0], requires_grad=True)
    a, t = av.cumprod(x, 0, dtype=av.float64), torch.cumprod(tx, 0, dtype=torch.float64)
    assert_close(a, t)
    assert graph_sig([a], [x]) == graph_sig([t], [tx])
    (ga,), (gt,) = av.autograd.grad(a.sum(), [x]), torch.autograd.grad(t.sum(), [tx])
    assert_close(ga, gt)


def test_cumprod_inplace(torch) -> None:
    x0 = _data((2, 3), T, 1)
    res = []
    for m in (av, torch):
        x = m.tensor(x0, requires_grad=True)
        y = x * 1
        y.tril_(1)
        y.triu_(-1)
        y.cumprod_(1)
        (g,) = m.autograd.grad(y.sum(), [x])
        res.append((y, g))
    assert_close(res[0][0], res[1][0])
    assert_close(res[0][1], res[1][1])


# --------------------------------------------------------------------------- unique
@pytest.mark.parametrize("kw", [{}, {"return_inverse": True}, {"return_counts": True},
                                {"return_inverse": True, "return_counts": True},
                                {"dim": 0, "return_inverse": True, "return_counts": True},
                                {"dim": 1}, {"dim": -1, "return_counts": True}])
def test_unique(torch, kw) -> None:
    x = [[3, 1, 3], [3, 1, 3], [0, 2, 0]]
    a, t = av.unique(av.tensor(x), **kw), torch.unique(torch.tensor(x), **kw)
    for ao, to in zip(outputs(a), outputs(t)):
        assert_close(ao, to)
    assert len(outputs(a)) == len(outputs(t))
    assert_close(av.tensor(x).unique(**kw)[0] if kw else av.tensor(x).unique(),
                 torch.tensor(x).unique(**kw)[0] if kw else torch.tensor(x).unique())


def test_unique_nan_empty_and_not_differentiable(torch) -> None:
    data = [1.0, np.nan, np.nan, 1.0]
    assert_close(av.unique(av.tensor(data)), torch.unique(torch.tensor(data)))
    for a, t in zip(av.unique(av.tensor([]), return_inverse=True, return_counts=True),
                    torch.unique(torch.tensor([]), return_inverse=True, return_counts=True)):
        assert_close(a, t)
    for dim, name in ((None, "_unique2"), (0, "unique_dim")):
        x = av.tensor([[3.0, 1.0], [3.0, 1.0]], requires_grad=True)
        tx = torch.tensor([[3.0, 1.0], [3.0, 1.0]], requires_grad=True)
        u, inv = av.unique(x, dim=dim, return_inverse=True)
        tu, tinv = torch.unique(tx, dim=dim, return_inverse=True)
        assert type(u.grad_fn).__name__ == type(tu.grad_fn).__name__
        assert u.requires_grad and not inv.requires_grad and not tinv.requires_grad
        msg = f"the derivative for '{name}' is not implemented."
        with pytest.raises(NotImplementedError, match=msg):
            tu.sum().backward()
        with pytest.raises(NotImplementedError, match=msg):
            u.sum().backward()


# --------------------------------------------------------------------------- search
@pytest.mark.parametrize("call", [
    lambda m: m.searchsorted(m.tensor([1, 3, 5, 7]), m.tensor([[3, 6], [9, 0]])),
    lambda m: m.searchsorted(m.tensor([1, 3, 5, 7]), m.tensor([[3, 6], [9, 0]]), right=True),
    lambda m: m.searchsorted(m.tensor([1.0, 3, 5, 7]), 3.0, side="right"),
    lambda m: m.searchsorted(m.tensor([1, 3, 5, 7]), m.tensor([3, 4]), out_int32=True),
    lambda m: m.searchsorted(m.tensor([[1, 3, 5], [2, 4, 6]]), m.tensor([[3, 4], [3, 7]])),
    lambda m: m.searchsorted(m.tensor([[1, 3, 5], [2, 4, 6]]), m.tensor([[3], [3]]),
                             side="right"),
    lambda m: m.searchsorted(m.tensor([5.0, 1, 3]), m.tensor([2.0, 5.0]),
                             sorter=m.tensor([1, 2, 0])),
    lambda m: m.searchsorted(m.tensor([1.0, 2, 3]), m.tensor([np.nan, 2.5, -np.inf])),
    lambda m: m.bucketize(m.tensor([[1, 5, 7], [0, 3, 9]]), m.tensor([1, 3, 5, 7])),
    lambda m: m.bucketize(m.tensor([1, 5, 7]), m.tensor([1, 3, 5, 7]), right=True),
    lambda m: m.bucketize(3, m.tensor([1, 3])),
    lambda m: m.bucketize(m.tensor([0.5, 2.0]), m.tensor([1.0, 2.0]), out_int32=True),
])
def test_searchsorted_bucketize(torch, call) -> None:
    assert_close(call(av), call(torch))


def test_search_no_grad(torch) -> None:
    seq = av.tensor([1.0, 2.0], requires_grad=True)
    v = av.tensor([1.5], requires_grad=True)
    r = av.searchsorted(seq, v)
    assert not r.requires_grad and r.grad_fn is None and r.dtype is av.int64
    r = av.argsort(v)
    assert not r.requires_grad and r.grad_fn is None


# --------------------------------------------------------------------------- views
def test_diagonal_is_a_view(torch) -> None:
    for offset, d1, d2 in ((0, 0, 1), (1, 0, 1), (-1, 1, 0), (2, -1, 0)):
        x = av.tensor(_data((3, 4), N, 0))
        tx = torch.tensor(_data((3, 4), N, 0))
        d, td = x.diagonal(offset, d1, d2), tx.diagonal(offset, d1, d2)
        assert d._base is x and td._base is tx
        assert (d.data_ptr() - x.data_ptr()) // 8 == (td.data_ptr() - tx.data_ptr()) // 8
        assert d.stride() == td.stride()
        if d.numel():
            x[(0, offset) if offset >= 0 else (-offset, 0)] = 7.0
            tx[(0, offset) if offset >= 0 else (-offset, 0)] = 7.0
            assert_close(d, td)
            d.mul_(2)
            td.mul_(2)
            assert_close(x, tx)
            assert x._version == d._version
    x = av.tensor(_data((3, 3), N, 1))
    assert av.diag(x)._base is None  # diag of a matrix is a copy (diagonal_copy)


def test_diagonal_view_autograd(torch) -> None:
    res = []
    for m in (av, torch):
        x = m.tensor(_data((3, 3), N, 2), requires_grad=True)
        y = x * 2
        y.diagonal().mul_(3)
        (g,) = m.autograd.grad((y * y).sum(), [x])
        res.append((y, g))
    assert_close(res[0][0], res[1][0])
    assert_close(res[0][1], res[1][1])


def test_atleast_returns_input_itself(torch) -> None:
    x = av.tensor(_data((2, 3), N, 0), requires_grad=True)
    assert av.atleast_1d(x) is x and av.atleast_2d(x) is x
    y = av.tensor(_data((2, 2, 2), N, 0))
    assert av.atleast_3d(y) is y
    assert isinstance(av.atleast_1d(x, y), tuple) and isinstance(av.atleast_2d([x]), tuple)


# --------------------------------------------------------------------------- gradcheck
GRADCHECK = [
    ("sort", lambda x: av.sort(x, 0, descending=True).values, (3, 4)),
    ("topk", lambda x: av.topk(x, 2, largest=False).values, (3, 4)),
    ("kthvalue", lambda x: av.kthvalue(x, 2, 0).values, (3, 4)),
    ("median", lambda x: av.median(x), (3, 3)),
    ("median_dim", lambda x: av.median(x, 1, keepdim=True).values, (3, 4)),
    ("tril", lambda x: av.tril(x, 1), (3, 4)),
    ("triu", lambda x: av.triu(x, -1), (3, 4)),
    ("diag", lambda x: av.diag(x, 1), (3, 4)),
    ("diag1", lambda x: av.diag(x[0], -1), (3, 4)),
    ("diagonal", lambda x: av.diagonal(x, -1), (3, 4)),
    ("trace", lambda x: av.trace(x), (3, 4)),
    ("roll", lambda x: av.roll(x, (1, 2), (0, 1)), (3, 4)),
    ("cumprod", lambda x: av.cumprod(x, 1), (3, 4)),
    ("cumprod_zeros", lambda x: av.cumprod(x * (x.abs() > 0.5), 0), (4, 3)),
    ("diff", lambda x: av.diff(x, 2, 0, prepend=x[:1] * 2), (3, 4)),
    ("repeat_interleave", lambda x: av.repeat_interleave(x, av.tensor([2, 0, 1]), 0), (3, 4)),
    ("tile", lambda x: av.tile(x, (2, 1, 2)), (3, 4)),
    ("take", lambda x: av.take(x, av.tensor([0, 0, 11, -2])), (3, 4)),
    ("meshgrid", lambda x: av.meshgrid(x[0], x[1], indexing="xy"), (3, 4)),
    ("stacks", lambda x: av.hstack([av.vstack([x[1:], x[0]]), av.dstack([x, x])[..., 1]]),
     (3, 4)),
]


@pytest.mark.parametrize("fn,shape", [pytest.param(f, s, id=n) for n, f, s in GRADCHECK])
def test_gradcheck(fn, shape) -> None:
    x = av.tensor(_data(shape, D, 5) / 7, requires_grad=True)
    assert gradcheck(fn, [x], eps=1e-6, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("fn,shape", [pytest.param(f, s, id=n) for n, f, s in GRADCHECK
                                      if n in ("sort", "median_dim", "diagonal", "trace",
                                               "cumprod", "cumprod_zeros", "take")])
def test_gradgradcheck(fn, shape) -> None:
    x = av.tensor(_data(shape, D, 6) / 7, requires_grad=True)
    assert gradgradcheck(fn, [x], eps=1e-6, atol=1e-5, rtol=1e-3)


def test_cumprod_zeros_gradgradcheck() -> None:
    x = av.tensor([[0.5, 0.0, 2.0, -1.5], [0.0, 1.2, 0.0, 0.7]], dtype=av.float64,
                  requires_grad=True)
    assert gradcheck(lambda t: av.cumprod(t, 1), [x], eps=1e-6, atol=1e-5, rtol=1e-4)
    assert gradgradcheck(lambda t: av.cumprod(t, 1), [x], eps=1e-6, atol=1e-5, rtol=1e-3)


# --------------------------------------------------------------------------- errors
X34 = _data((3, 4), N, 0)
ERRORS = [
    lambda m, x: m.topk(x, 5),
    lambda m, x: m.topk(x, -1),
    lambda m, x: m.topk(x, 4, dim=0),
    lambda m, x: m.topk(m.tensor(3.0), 2),
    lambda m, x: m.sort(x, 2),
    lambda m, x: m.argsort(x, -3),
    lambda m, x: m.kthvalue(x, 5),
    lambda m, x: m.kthvalue(x, 0),
    lambda m, x: m.median(m.zeros(0, 3), 0),
    lambda m, x: m.median(x, 2),
    lambda m, x: m.unique(x, dim=5),
    lambda m, x: m.unique(m.zeros(2, 0), dim=0),
    lambda m, x: m.searchsorted(m.tensor([[1, 2]]), m.tensor([1, 2, 3])),
    lambda m, x: m.searchsorted(m.tensor([1, 2]), m.tensor([1]), side="left", right=True),
    lambda m, x: m.searchsorted(m.tensor([1, 2]), m.tensor([1]), side="foo"),
    lambda m, x: m.bucketize(m.tensor([1]), m.tensor([[1, 2]])),
    lambda m, x: m.tril(m.zeros(3)),
    lambda m, x: m.triu(m.zeros(3)),
    lambda m, x: m.diag(m.zeros(2, 2, 2)),
    lambda m, x: m.diag(m.tensor(1.0)),
    lambda m, x: m.diagonal(x, 0, 0, 0),
    lambda m, x: m.diagonal(x, 0, 0, 2),
    lambda m, x: m.trace(m.zeros(3)),
    lambda m, x: m.trace(m.zeros(3, 3, 3)),
    lambda m, x: m.trace(m.tensor([[True, False], [True, True]])),
    lambda m, x: m.roll(x, (1, 2), (0,)),
    lambda m, x: m.roll(x, (1, 2)),
    lambda m, x: m.roll(x, 1, 3),
    lambda m, x: m.cumprod(x, 2),
    lambda m, x: m.cumprod(x.requires_grad_(), 0, dtype=m.int64),
    lambda m, x: m.diff(x, dim=2),
    lambda m, x: m.diff(x, n=-1),
    lambda m, x: m.diff(m.tensor(1.0)),
    lambda m, x: m.diff(x, prepend=m.tensor(1.0)),
    lambda m, x: m.diff(x, prepend=m.zeros(2, 1, dtype=m.float64)),
    lambda m, x: m.repeat_interleave(x, -1),
    lambda m, x: m.repeat_interleave(x, m.tensor([1, 2]), dim=0),
    lambda m, x: m.repeat_interleave(x, m.tensor([1, -2, 1]), dim=0),
    lambda m, x: m.repeat_interleave(x, m.tensor([1.0, 2, 3]), dim=0),
    lambda m, x: m.repeat_interleave(x, m.tensor([[1, 2, 3]]), dim=0),
    lambda m, x: m.repeat_interleave(m.tensor([[1, 2]])),
    lambda m, x: m.take(x, m.tensor([12])),
    lambda m, x: m.take(x, m.tensor([-13])),
    lambda m, x: m.take(x, m.tensor([1.0])),
    lambda m, x: m.take(x, m.tensor([1], dtype=m.int32)),
    lambda m, x: m.tile(x, 2),
    lambda m, x: m.meshgrid(m.zeros(2), indexing="foo"),
    lambda m, x: m.meshgrid(indexing="ij"),
    lambda m, x: m.meshgrid(m.zeros(2), m.zeros(2, dtype=m.float64), indexing="ij"),
    lambda m, x: m.vstack([]),
    lambda m, x: m.hstack([]),
    lambda m, x: m.dstack([]),
    lambda m, x: m.count_nonzero(x, 2),
    lambda m, x: m.count_nonzero(x, (0, 0)),
    lambda m, x: m.count_nonzero(x, (0, -2)),
]


@pytest.mark.parametrize("call", ERRORS, ids=[f"e{i}" for i in range(len(ERRORS))])
def test_errors_match_torch(torch, call) -> None:
    errs = []
    for m in (torch, av):
        try:
            call(m, m.tensor(X34.copy()))
        except Exception as e:  # noqa: BLE001 - compared with torch's
            errs.append((type(e), str(e).split("\n")[0]))
        else:
            errs.append(None)
    assert errs[0] is not None
    assert errs[1] == errs[0]


def test_meshgrid_errors_and_warning(torch) -> None:
    with pytest.raises(RuntimeError, match="Expected 0D or 1D tensor in the tensor list"):
        av.meshgrid(av.zeros(2), av.zeros(2, 2), indexing="ij")
    with pytest.warns(UserWarning, match="indexing argument"):
        av.meshgrid(av.zeros(2))
