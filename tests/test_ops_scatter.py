"""The scatter / index-update family (``autograd_viz/ops/scatter.py``) against torch: values,
dtypes, graphs, first and second derivatives, in-place semantics, errors; gradcheck; and
the small extras (``ndimension``, ``detach``, ``dropout``, ``normal``, ``multinomial``)."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from test_ops_table import assert_close, check_op

import autograd_viz as av
from autograd_viz.autograd import gradcheck, gradgradcheck

pytestmark = pytest.mark.filterwarnings("ignore")

RNG = np.random.default_rng(7)


def _r(*shape):
    return RNG.standard_normal(shape)


def _i(m, data):
    return m.tensor(data, dtype=m.int64)


# permutation-like index: no duplicate targets within a scatter (torch's result with
# duplicates is nondeterministic for scatter / index_copy / index_put)
IDX_NODUP = [[2, 0, 1, 2], [0, 2, 0, 1]]
IDX_DUP = [[0, 0, 2, 0], [0, 2, 2, 1]]

CASES = {
    # name: (fn(m, *xs), arrays)
    "scatter_src_dim0": (lambda m, x, s: m.scatter(x, 0, _i(m, IDX_NODUP), s),
                         [_r(3, 4), _r(2, 4)]),
    "scatter_src_negdim": (lambda m, x, s: x.scatter(-1, _i(m, [[3, 1, 0], [0, 2, 1]]), s),
                           [_r(2, 4), _r(2, 3)]),
    "scatter_value": (lambda m, x: m.scatter(x, 0, _i(m, IDX_DUP), 1.5), [_r(3, 4)]),
    "scatter_value_kw": (lambda m, x: x.scatter(1, _i(m, [[1], [0]]), value=-2.0),
                         [_r(2, 3)]),
    "scatter_0d": (lambda m, x, s: m.scatter(x, 0, _i(m, 0), s), [_r(), _r()]),
    "scatter_3d": (lambda m, x, s: m.scatter(x, 1, _i(m, [[[1, 0]], [[0, 1]]]), s),
                   [_r(2, 2, 3), _r(2, 1, 2)]),
    "scatter_add_dup": (lambda m, x, s: m.scatter_add(x, 0, _i(m, IDX_DUP), s),
                        [_r(3, 4), _r(2, 4)]),
    "scatter_add_dim1": (lambda m, x, s: x.scatter_add(1, _i(m, [[0, 0, 3], [1, 1, 1]]), s),
                         [_r(2, 4), _r(2, 3)]),
    "index_add_dup": (lambda m, x, s: m.index_add(x, 0, _i(m, [2, 0, 2]), s),
                      [_r(3, 4), _r(3, 4)]),
    "index_add_alpha": (lambda m, x, s: x.index_add(1, _i(m, [1, 1]), s, alpha=-2.5),
                        [_r(3, 4), _r(3, 2)]),
    "index_add_0d": (lambda m, x, s: m.index_add(x, 0, _i(m, [0]), s), [_r(), _r()]),
    "index_copy": (lambda m, x, s: m.index_copy(x, 0, _i(m, [2, 0]), s),
                   [_r(3, 4), _r(2, 4)]),
    "index_copy_dim1": (lambda m, x, s: x.index_copy(-1, _i(m, [3, 1, 0]), s),
                        [_r(2, 4), _r(2, 3)]),
    "index_fill": (lambda m, x: m.index_fill(x, 1, _i(m, [0, 2, 0]), 3.25), [_r(2, 4)]),
    "index_fill_neg": (lambda m, x: x.index_fill(0, _i(m, [-1]), -1.0), [_r(3, 2)]),
    "index_fill_tensor": (lambda m, x, v: m.index_fill(x, 1, _i(m, [1, 3, 1]), v),
                          [_r(2, 4), _r()]),
    "masked_scatter": (lambda m, x, s: m.masked_scatter(
        x, m.tensor([[True, False, True, False], [False, False, True, True],
                     [True, True, False, False]]), s), [_r(3, 4), _r(2, 5)]),
    "masked_scatter_bcast": (lambda m, x, s: x.masked_scatter(
        m.tensor([True, False, True, True]), s), [_r(2, 4), _r(7)]),
    "index_put": (lambda m, x, v: m.index_put(x, (_i(m, [2, 0]),), v),
                  [_r(3, 4), _r(2, 4)]),
    "index_put_2d": (lambda m, x, v: x.index_put((_i(m, [2, 0]), _i(m, [1, 3])), v),
                     [_r(3, 4), _r(2)]),
    "index_put_acc_dup": (lambda m, x, v: m.index_put(x, (_i(m, [2, 0, 2]),), v,
                                                      accumulate=True),
                          [_r(3, 4), _r(4)]),
    "index_put_mask": (lambda m, x, v: m.index_put(
        x, (m.tensor([True, False, True]),), v), [_r(3, 4), _r(1, 4)]),
}
for _red in ("sum", "mean", "amax", "amin", "prod"):
    for _inc in (True, False):
        CASES[f"scatter_reduce_{_red}_{_inc}"] = (
            lambda m, x, s, r=_red, inc=_inc: m.scatter_reduce(
                x, 0, _i(m, IDX_DUP), s, r, include_self=inc), [_r(3, 4), _r(2, 4)])


@pytest.mark.parametrize("name", list(CASES))
def test_matches_torch(torch, name) -> None:
    fn, arrays = CASES[name]
    check_op(torch, SimpleNamespace(fn=fn, grad=True), arrays, {}, second=True)


def _copy_then(method: str, *args_fn, **kw):
    """``y = x * 1`` (a non-leaf), then ``y.<method>(...)`` in place."""
    def fn(m, x, s):
        y = x * 1
        r = getattr(y, method)(*[a(m, s) for a in args_fn], **kw)
        assert r is y
        return y
    return fn


def _const(v):
    return lambda m, s: v


def _idx(data):
    return lambda m, s: _i(m, data)


def _src(m, s):
    return s


INPLACE = {
    "scatter_": (_copy_then("scatter_", _const(0), _idx(IDX_NODUP), _src),
                 [_r(3, 4), _r(2, 4)]),
    "scatter_value_": (_copy_then("scatter_", _const(1), _idx([[1], [0]]), _const(2.0)),
                       [_r(2, 3), _r(1)]),
    "scatter_add_": (_copy_then("scatter_add_", _const(0), _idx(IDX_DUP), _src),
                     [_r(3, 4), _r(2, 4)]),
    "scatter_reduce_": (_copy_then("scatter_reduce_", _const(0), _idx(IDX_DUP), _src,
                                   _const("amax")), [_r(3, 4), _r(2, 4)]),
    "index_add_": (_copy_then("index_add_", _const(0), _idx([1, 1]), _src, alpha=2),
                   [_r(3, 4), _r(2, 4)]),
    "index_copy_": (_copy_then("index_copy_", _const(1), _idx([3, 0]), _src),
                    [_r(3, 4), _r(3, 2)]),
    "index_fill_": (_copy_then("index_fill_", _const(1), _idx([3, 0]), _src),
                    [_r(3, 4), _r()]),
    "masked_scatter_": (lambda m, x, s: (x * 1).masked_scatter_(
        m.tensor([True, False, True, False]), s), [_r(3, 4), _r(3, 3)]),
    "index_put_": (lambda m, x, s: (x * 1).index_put_((_i(m, [0, 0]),), s, accumulate=True),
                   [_r(3, 4), _r(4)]),
    "index_put_noacc_": (lambda m, x, s: (x * 1).index_put_((_i(m, [2, 0]),), s),
                         [_r(3, 4), _r(4)]),
}


def _through_view(m, x, s):
    y = x * 1
    v = y[1:]
    v.index_add_(1, _i(m, [0, 0, 2]), s)
    return y, v


def _through_view_scatter(m, x, s):
    y = x * 1
    v = y.t()
    v.scatter_(0, _i(m, [[1, 2], [0, 1]]), s)
    return y


INPLACE["view_index_add_"] = (_through_view, [_r(3, 4), _r(2, 3)])
INPLACE["view_scatter_"] = (_through_view_scatter, [_r(3, 4), _r(2, 2)])


@pytest.mark.parametrize("name", list(INPLACE))
def test_inplace_matches_torch(torch, name) -> None:
    fn, arrays = INPLACE[name]
    check_op(torch, SimpleNamespace(fn=fn, grad=True), arrays, {}, second=True)


@pytest.mark.parametrize("name", list(INPLACE)[:10])
def test_inplace_on_plain_tensor(torch, name) -> None:
    """Without grad: the write lands in the tensor itself and bumps its version once."""
    fn, arrays = INPLACE[name]
    outs = []
    for m in (av, torch):
        xs = [m.tensor(a.copy()) for a in arrays]
        outs.append(fn(m, *xs))
    assert_close(outs[0], outs[1])


INPLACE_CALLS = {
    "scatter_": lambda m, t: t.scatter_(0, _i(m, [[1, 0]]), m.ones(1, 2, dtype=m.float64)),
    "scatter_add_": lambda m, t: t.scatter_add_(0, _i(m, [[1, 1]]),
                                                m.ones(1, 2, dtype=m.float64)),
    "index_add_": lambda m, t: t.index_add_(0, _i(m, [1]), m.ones(1, 2, dtype=m.float64)),
    "index_copy_": lambda m, t: t.index_copy_(1, _i(m, [0]), m.ones(3, 1, dtype=m.float64)),
    "index_fill_": lambda m, t: t.index_fill_(0, _i(m, [2]), 4.0),
    "masked_scatter_": lambda m, t: t.masked_scatter_(m.tensor([True, False]),
                                                      m.ones(5, dtype=m.float64)),
    "index_put_": lambda m, t: t.index_put_((_i(m, [1]),), m.ones(2, dtype=m.float64)),
}


@pytest.mark.parametrize("name", list(INPLACE_CALLS))
def test_inplace_semantics(torch, name) -> None:
    call = INPLACE_CALLS[name]
    for m in (av, torch):
        base = _r(3, 2)
        # version counter: +1 per write, also for a tensor that needs no grad
        t = m.tensor(base.copy())
        v0 = t._version
        assert call(m, t) is t
        assert t._version == v0 + 1
        # the written tensor's grad_fn becomes the op's node (on the old node)
        x = m.tensor(base.copy(), requires_grad=True)
        y = x * 2
        old = y.grad_fn
        call(m, y)
        assert y.grad_fn is not old
        assert y.grad_fn.next_functions[0][0] is old
        # a leaf that requires grad is refused
        leaf = m.tensor(base.copy(), requires_grad=True)
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being "
                                               "used in an in-place operation."):
            call(m, leaf)
        # a saved tensor written in place: backward reports the version mismatch
        z = x * 1
        w = z.sin()  # saves z
        call(m, z)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            w.sum().backward()
    a = av.tensor(_r(3, 2))
    tt = torch.tensor(a.numpy().copy())
    call(av, a)
    call(torch, tt)
    assert_close(a, tt)


def test_inplace_names_match_torch(torch) -> None:
    for name, call in INPLACE_CALLS.items():
        names = []
        for m in (av, torch):
            x = m.tensor(_r(3, 2), requires_grad=True)
            y = x * 1
            call(m, y)
            names.append(_name(y.grad_fn))
        assert names[0] == names[1], name


def _name(node):
    """A node's class name (torch's ``name()`` of CopySlices is namespaced)."""
    return node.name() if isinstance(node, av.autograd.Node) else type(node).__name__


def test_write_through_view_updates_base(torch) -> None:
    res = []
    for m in (av, torch):
        x = m.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
        y = x * 1
        v = y[:, 1:3]
        v0 = y._version
        v.index_fill_(1, _i(m, [1]), 0.5)
        assert y._version == v0 + 1 and v._version == y._version
        res.append((y, _name(y.grad_fn), _name(v.grad_fn)))
        y.sum().backward()
        res[-1] += (x.grad,)
    assert res[0][1:3] == res[1][1:3]  # CopySlices, AsStridedBackward0
    assert_close(res[0][0], res[1][0])
    assert_close(res[0][3], res[1][3])


def test_src_larger_than_index(torch) -> None:
    """Only the leading block of src is used; torch's backward then fails on the shape
    (its src gradient is index-shaped), here src's gradient is zero-padded."""
    idx = [[3, 1], [0, 2]]
    x, s = _r(3, 4), _r(3, 5)
    a = av.scatter(av.tensor(x), 1, _i(av, idx), av.tensor(s))
    assert_close(a, torch.scatter(torch.tensor(x), 1, _i(torch, idx), torch.tensor(s)))
    xs = [av.tensor(x, requires_grad=True), av.tensor(s, requires_grad=True)]
    gx, gs = av.autograd.grad(av.scatter(xs[0], 1, _i(av, idx), xs[1]).sum(), xs)
    assert gs.numpy()[2:].sum() == 0 and gs.numpy()[:, 2:].sum() == 0
    assert gs.numpy()[:2, :2].sum() == 4 and gx.numpy().sum() == 12 - 4


# ------------------------------------------------------------------------------ dtypes
def test_integer_and_cast_values(torch) -> None:
    for fn in (
        lambda m: m.index_add(m.zeros(3, dtype=m.int64), 0, _i(m, [0, 0]), _i(m, [1, 2]),
                              alpha=3),
        lambda m: m.index_fill(m.zeros(3, dtype=m.int64), 0, _i(m, [0]), 2.7),
        lambda m: m.scatter(m.zeros(3, dtype=m.int64), 0, _i(m, [2]), 2.7),
        lambda m: m.scatter(m.zeros(3), 0, m.tensor([2, 0], dtype=m.int32), 1.0),
        lambda m: m.scatter_add(m.zeros(3, dtype=m.int32), 0, _i(m, [2, 2]),
                                m.ones(2, dtype=m.int32)),
        lambda m: m.scatter_reduce(m.arange(6), 0, _i(m, [0, 0, 1]), m.arange(3) + 1, "mean"),
        lambda m: m.scatter_reduce(m.zeros(3, dtype=m.float32), 0, _i(m, [0, 0]),
                                   m.ones(2, dtype=m.float32) * 3, "prod",
                                   include_self=False),
        lambda m: m.scatter(m.zeros(2, 3), 1, _i(m, [[2, 0]]), m.tensor([[5.0, 6, 7]]),
                            reduce="add"),
        lambda m: m.scatter(m.ones(2, 3), 1, _i(m, [[2, 2]]), 3.0, reduce="multiply"),
        lambda m: m.index_put(m.zeros(2, 2, dtype=m.int64), (_i(m, [1, 1]),),
                              _i(m, [1, 2]), accumulate=True),
        lambda m: m.masked_scatter(m.zeros(2, 2, dtype=m.int64),
                                   m.tensor([[True, False], [True, True]]), m.arange(5)),
        lambda m: m.scatter(m.zeros(3), 0, m.tensor([], dtype=m.int64), m.zeros(0)),
    ):
        assert_close(fn(av), fn(torch))


def test_legacy_reduce_has_no_derivative(torch) -> None:
    for m in (av, torch):
        x = m.zeros(2, 3, dtype=m.float64, requires_grad=True)
        y = m.scatter(x, 1, _i(m, [[0, 1]]), 2.0, reduce="add")
        assert y.grad_fn.name() == "NotImplemented" if m is av else True
        with pytest.raises(RuntimeError, match="derivative for aten::scatter is not "
                                               "implemented"):
            y.sum().backward()


# ------------------------------------------------------------------------------- errors
X = _r(3, 4)

ERRORS = {
    "scatter_float_index": lambda m, x: m.scatter(x, 0, _i(m, IDX_NODUP).double(), x[:2]),
    "scatter_oob": lambda m, x: m.scatter(x, 0, _i(m, [[5]]), x[:2]),
    "scatter_neg": lambda m, x: m.scatter(x, 0, _i(m, [[-1]]), 1.0),
    "scatter_ndim": lambda m, x: m.scatter(x, 0, _i(m, [5]), x[:2]),
    "scatter_ndim_src": lambda m, x: m.scatter(x, 0, _i(m, [[0]]), x[0]),
    "scatter_shape": lambda m, x: m.scatter(x, 0, m.zeros(4, 4, dtype=m.int64), x[:2]),
    "scatter_shape_value": lambda m, x: m.scatter(x, 0, m.zeros(4, 5, dtype=m.int64), 1.0),
    "scatter_dtype": lambda m, x: m.scatter(x, 0, _i(m, IDX_NODUP), x[:2].float()),
    "scatter_dim": lambda m, x: m.scatter(x, 2, _i(m, IDX_NODUP), x[:2]),
    "scatter_reduce_name": lambda m, x: m.scatter(x, 0, _i(m, [[0]]), 1.0, reduce="max"),
    "scatter_add_float_index": lambda m, x: m.scatter_add(x, 0, _i(m, [[0]]).float(), x),
    "scatter_add_oob": lambda m, x: m.scatter_add(x, 0, _i(m, [[-4]]), x),
    "scatter_add_dtype": lambda m, x: m.scatter_add(x, 0, _i(m, [[0]]), x.float()),
    "scatter_reduce_bad": lambda m, x: m.scatter_reduce(x, 0, _i(m, [[0]]), x, "foo"),
    "index_add_float_index": lambda m, x: m.index_add(x, 0, m.tensor([0.0, 2.0]), x[:2]),
    "index_add_oob": lambda m, x: m.index_add(x, 0, _i(m, [5, 0]), x[:2]),
    "index_add_neg": lambda m, x: m.index_add(x, 0, _i(m, [0, -1]), x[:2]),
    "index_add_count": lambda m, x: m.index_add(x, 0, _i(m, [0, 2]), x[:1]),
    "index_add_dtype": lambda m, x: m.index_add(x, 0, _i(m, [0, 2]), x[:2].float()),
    "index_add_shape": lambda m, x: m.index_add(x, 0, _i(m, [0, 1]), x[:2, :3]),
    "index_add_2d": lambda m, x: m.index_add(x, 0, _i(m, [[0]]), x[:1]),
    "index_copy_int": lambda m, x: m.index_copy(x, 0, _i(m, [0, 2]).int(), x[:2]),
    "index_copy_oob": lambda m, x: m.index_copy(x, 0, _i(m, [7, 0]), x[:2]),
    "index_copy_neg": lambda m, x: m.index_copy(x, 0, _i(m, [-1]), x[:1]),
    "index_copy_slice": lambda m, x: m.index_copy(x, 0, _i(m, [0, 1]), x[:2, :3]),
    "index_copy_count": lambda m, x: m.index_copy(x, 0, _i(m, [0, 1]), x),
    "index_copy_dtype": lambda m, x: m.index_copy(x, 0, _i(m, [0, 1]), x[:2].float()),
    "index_copy_2d": lambda m, x: m.index_copy(x, 0, _i(m, [[0]]), x[:1]),
    "index_fill_int": lambda m, x: m.index_fill(x, 0, _i(m, [0]).int(), 1.0),
    "index_fill_oob": lambda m, x: m.index_fill(x, 0, _i(m, [7]), 1.0),
    "index_fill_neg_oob": lambda m, x: m.index_fill(x, 0, _i(m, [-4]), 1.0),
    "index_fill_2d": lambda m, x: m.index_fill(x, 0, _i(m, [[0]]), 1.0),
    "index_fill_value": lambda m, x: m.index_fill(x, 0, _i(m, [0]), m.ones(2)),
    "masked_scatter_mask": lambda m, x: m.masked_scatter(x, (x > 0).long(), x),
    "masked_scatter_few": lambda m, x: m.masked_scatter(x, m.ones(3, 4, dtype=m.bool),
                                                        x[:1, :1]),
    "masked_scatter_dtype": lambda m, x: m.masked_scatter(x, x > 0, x.float()),
    "masked_scatter_inplace_bcast": lambda m, x: m.zeros(4).masked_scatter_(
        m.ones(2, 4, dtype=m.bool), m.arange(8.0)),
    "index_put_oob": lambda m, x: m.index_put(x, (_i(m, [5]),), x[:1]),
    "index_put_float": lambda m, x: m.index_put(x, (m.tensor([0.0]),), x[:1]),
    "index_put_shape": lambda m, x: m.index_put(x, (_i(m, [0, 1]),), x),
    "index_put_dtype": lambda m, x: m.index_put(x, (_i(m, [0, 1]),), x[:2].float()),
    "index_put_mask_shape": lambda m, x: m.index_put(x, (m.tensor([True, False]),), x[:1]),
    "leaf_scatter_": lambda m, x: x.requires_grad_().scatter_(0, _i(m, [[0]]), 1.0),
    "leaf_index_add_": lambda m, x: x.requires_grad_().index_add_(0, _i(m, [0]), x[:1]),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_errors_match_torch(torch, name) -> None:
    got = []
    for m in (av, torch):
        x = m.tensor(X.copy())
        with pytest.raises(Exception) as ei:
            ERRORS[name](m, x)
        got.append((type(ei.value), str(ei.value).split("\n")[0]))
    assert got[0] == got[1]


# ---------------------------------------------------------------------------- gradcheck
GRADCHECK = {
    "scatter": lambda x, s: av.scatter(x, 1, _i(av, [[3, 1], [0, 2], [1, 1]][:2]), s),
    "scatter_value": lambda x: av.scatter(x, 0, _i(av, IDX_DUP), 0.5),
    "scatter_add": lambda x, s: av.scatter_add(x, 0, _i(av, IDX_DUP), s[:, :4]),
    "scatter_reduce_mean": lambda x, s: av.scatter_reduce(x, 0, _i(av, IDX_DUP), s[:, :4],
                                                          "mean", include_self=False),
    "scatter_reduce_prod": lambda x, s: av.scatter_reduce(x, 0, _i(av, IDX_DUP), s[:, :4],
                                                          "prod"),
    "scatter_reduce_amax": lambda x, s: av.scatter_reduce(x, 0, _i(av, IDX_DUP), s[:, :4],
                                                          "amax"),
    "index_add": lambda x, s: av.index_add(x, 0, _i(av, [2, 2]), s[:, :4], alpha=1.5),
    "index_copy": lambda x, s: av.index_copy(x, 0, _i(av, [2, 0]), s[:, :4]),
    "index_fill": lambda x: av.index_fill(x, 1, _i(av, [0, 3]), 2.0),
    "masked_scatter": lambda x, s: av.masked_scatter(x, av.tensor([True, False, False, True]),
                                                     s),
    "index_put_acc": lambda x, s: av.index_put(x, (_i(av, [1, 1]),), s[:, :4],
                                               accumulate=True),
    "scatter_inplace": lambda x, s: (x * 1).scatter_(0, _i(av, IDX_NODUP), s[:, :4]),
    "index_add_inplace_view": lambda x, s: _view_write(x, s),
}


def _view_write(x, s):
    y = x * 1
    y[1:].index_add_(0, _i(av, [1, 0]), s[:, :4])
    return y


@pytest.mark.parametrize("name", list(GRADCHECK))
def test_gradcheck(name) -> None:
    fn = GRADCHECK[name]
    n = fn.__code__.co_argcount
    xs = [av.tensor(_r(3, 4), dtype=av.float64, requires_grad=True),
          av.tensor(_r(2, 5), dtype=av.float64, requires_grad=True)][:n]
    assert gradcheck(fn, xs, eps=1e-6, atol=1e-5, rtol=1e-4)
    assert gradgradcheck(fn, xs, eps=1e-6, atol=1e-5, rtol=1e-4)


# ------------------------------------------------------------------------------- extras
def test_ndimension_and_detach(torch) -> None:
    for m in (av, torch):
        x = m.ones(2, 3, 1, requires_grad=True)
        assert x.ndimension() == 3 and m.ones(()).ndimension() == 0
        d = m.detach(x * 2)
        assert not d.requires_grad and d.grad_fn is None and d.is_leaf


def test_dropout(torch) -> None:
    av.manual_seed(0)
    for m in (av, torch):
        x = m.ones(200, 50, dtype=m.float64, requires_grad=True)
        assert m.dropout(x, 0.5, False) is x
        y = m.dropout(x, 0.25, True)
        assert y.grad_fn.name() == "MulBackward0"
        vals = np.unique(y.detach().numpy())
        np.testing.assert_allclose(vals, [0.0, 1 / 0.75])
        assert 0.2 < float((y == 0).double().mean()) < 0.3
        with pytest.raises(RuntimeError, match="dropout probability has to be between 0 and "
                                               "1, but got 1.5"):
            m.dropout(x, 1.5, True)


def test_normal(torch) -> None:
    av.manual_seed(1)
    for m in (av, torch):
        a = m.normal(2.0, 3.0, size=(4000,))
        assert a.dtype is m.float32 and tuple(a.shape) == (4000,)
        assert abs(float(a.mean()) - 2) < 0.3 and abs(float(a.std()) - 3) < 0.3
        assert m.normal(0.0, 1.0, size=(2,), dtype=m.float64).dtype is m.float64
        mean = m.zeros(3, 1, dtype=m.float64, requires_grad=True)
        std = m.ones(2, requires_grad=True)
        for r, name in ((m.normal(mean, 1.0), "NormalBackward1"),
                        (m.normal(2.0, std), "NormalBackward2"),
                        (m.normal(mean, std), "NormalBackward3")):
            assert r.grad_fn.name() == name
        r = m.normal(mean, std)
        assert tuple(r.shape) == (3, 2) and r.dtype is m.float64
        gm, gs = m.autograd.grad(r.sum(), (mean, std))
        assert not gm.numpy().any() and not gs.numpy().any()
        assert gs.dtype is m.float32
        assert m.normal(m.zeros(5), 0.0).abs().sum().item() == 0
        with pytest.raises(RuntimeError, match="normal expects std >= 0.0, but found std -1"):
            m.normal(m.zeros(3), -1.0)
        with pytest.raises(RuntimeError, match="must match the size of tensor b"):
            m.normal(m.zeros(3), m.ones(2))
        with pytest.raises(TypeError):
            m.normal(0.0, 1.0)


def test_multinomial(torch) -> None:
    av.manual_seed(2)
    for m in (av, torch):
        r = m.multinomial(m.tensor([0.0, 0.9, 0.1, 0.0]), 200, replacement=True)
        assert r.dtype is m.int64 and tuple(r.shape) == (200,)
        assert set(np.unique(r.numpy())) <= {1, 2}
        r2 = m.multinomial(m.tensor([[1.0, 1.0, 1.0, 1.0], [0.0, 1.0, 5.0, 0.0]]), 4)
        assert tuple(r2.shape) == (2, 4)
        for row in r2.numpy():
            assert sorted(row) == [0, 1, 2, 3]  # without replacement: a permutation
        assert set(r2.numpy()[1][:2]) == {1, 2}  # the zero weights come last
        assert m.multinomial(m.tensor([1.0, 0.0, 0.0]), 2).numpy()[0] == 0
    bad = [lambda m: m.multinomial(m.tensor([0.1, 0.9]), 4),
           lambda m: m.multinomial(m.tensor([-0.1, 0.9]), 1),
           lambda m: m.multinomial(m.tensor([1.0, float("nan")]), 1),
           lambda m: m.multinomial(m.tensor([0.0, 0.0]), 1),
           lambda m: m.multinomial(m.tensor([1, 2]), 1),
           lambda m: m.multinomial(m.tensor([[[1.0]]]), 1),
           lambda m: m.multinomial(m.tensor([1.0, 1.0]), 0)]
    for f in bad:
        msgs = []
        for m in (av, torch):
            with pytest.raises(RuntimeError) as ei:
                f(m)
            msgs.append(str(ei.value))
        assert msgs[0] == msgs[1]
