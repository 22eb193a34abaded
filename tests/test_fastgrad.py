"""The array-level backward formulas (``ops/_fastgrad.py``) give bit-for-bit the gradients of
each op's Tensor-level ``backward``, keep its errors, and hand mixed dtypes back to it."""
from __future__ import annotations

import numpy as np
import pytest

import autograd_viz as av
from autograd_viz.ops import _fastgrad

RNG = np.random.default_rng(7)
FLOATS = (np.float32, np.float64, np.float16)


def _t(shape, dt, lo=-2.0, hi=2.0, rg=True):
    return av.tensor(RNG.uniform(lo, hi, shape).astype(dt), requires_grad=rg)


def _bits(t):
    if t is None:
        return None
    d = t._data
    return type(d), d.dtype, d.shape, np.ascontiguousarray(d).tobytes()


def _check(out, gdt=None):
    """Fast and Tensor-level backward of ``out.grad_fn`` on the same incoming grad."""
    node = out.grad_fn
    fast = type(node)._fast_backward
    assert fast is not None, f"{node.name()} has no fast backward"
    g = av.tensor(RNG.uniform(-1, 1, out.shape).astype(gdt or out._data.dtype))
    with av.no_grad():
        got = node._fast_backward(g)
        want = node.backward(g)
    want = want if isinstance(want, tuple) else (want,)
    if got is None:  # handed back (mixed dtypes): allowed, Tensor backward runs instead
        assert gdt is not None and np.dtype(gdt) != out._data.dtype, node.name()
        return
    assert len(got) == len(want)
    for a, b in zip(got, want):
        assert _bits(a) == _bits(b), node.name()


BINARY_SHAPES = [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 1), (1, 4)), ((), (5,)), ((2, 3), ()),
                 ((2, 3, 4), (4,)), ((2, 3, 4), (3, 4)), ((5, 3, 4), (1, 4)), ((2, 3), (1,))]


@pytest.mark.parametrize("dt", FLOATS)
@pytest.mark.parametrize("sa,sb", BINARY_SHAPES)
@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
def test_binary(op, sa, sb, dt):
    a = _t(sa, dt)
    b = _t(sb, dt, 0.5, 2.0)
    _check(getattr(av, op)(a, b))
    _check(getattr(av, op)(a, b.detach()))  # one input needs no grad
    _check(getattr(av, op)(a.detach(), b))


def test_bias_grad_is_an_array_of_its_own():
    """A bias broadcast over the batch gets its gradient summed straight to its shape: an
    array that ``.grad`` takes over (no view of a bigger sum left behind, no copy), with the
    values of the Tensor-level path."""
    g = RNG.standard_normal((2, 8, 3)).astype(np.float32)
    for shape in ((3,), (8, 3)):
        s = _fastgrad.sum_to(g, shape, g.dtype)
        assert s.shape == shape and s.base is None and s.flags.owndata
    assert _fastgrad.sum_to(g, (1, 3), g.dtype).shape == (1, 3)  # (kept axes: reshaped)
    x, w, b = _t((8, 5), np.float32, rg=False), _t((5, 3), np.float32), _t((3,), np.float32)
    (x @ w + b).relu().sum().backward()
    want = av.autograd.grad((x @ w + b).relu().sum(), b, create_graph=True)[0]
    assert _bits(b.grad) == _bits(want.detach())


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
def test_binary_scalar_operand_and_mixed_grad_dtype(op):
    a = _t((3, 4), np.float32, 0.5, 2.0)
    _check(getattr(av, op)(a, 3.0))
    _check(getattr(av, op)(a, _t((4,), np.float32)), gdt=np.float64)


@pytest.mark.parametrize("dt", FLOATS)
@pytest.mark.parametrize("fn", ["neg", "exp", "log", "sqrt", "tanh", "sigmoid", "relu"])
def test_unary(fn, dt):
    for shape in [(3, 4), (), (1,)]:
        x = _t(shape, dt, 0.1, 2.0) if fn in ("log", "sqrt") else _t(shape, dt)
        _check(getattr(av, fn)(x))


@pytest.mark.parametrize("p", [2, 3, 0.5, -1, -1.5, 1])
def test_pow_scalar(p):
    for dt in FLOATS:
        _check(_t((3, 4), dt, 0.5, 2.0) ** p)


@pytest.mark.parametrize("dim,keepdim", [(None, False), (0, False), (1, True), ((0, 2), False),
                                         ((0, 2), True), (-1, False)])
@pytest.mark.parametrize("fn", ["sum", "mean"])
def test_reductions(fn, dim, keepdim):
    for dt in FLOATS:
        x = _t((2, 3, 4), dt)
        _check(getattr(x, fn)() if dim is None else getattr(x, fn)(dim, keepdim=keepdim))


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
def test_softmax(fn, dim):
    for dt in FLOATS:
        _check(getattr(_t((4, 6), dt), fn)(dim))
    _check(getattr(_t((5,), np.float32), fn)(0))


def test_mm():
    for dt in (np.float32, np.float64):
        a, b = _t((3, 4), dt), _t((4, 5), dt)
        _check(a @ b)
        _check(a @ b.detach())
        _check(a.detach() @ b)


@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_addmm(dt):
    """``nn.Linear``'s node: bias, input and weight grads, any of them not needed; a grad
    of another dtype is handed back to ``backward``."""
    x, w, b = _t((5, 4), dt), _t((3, 4), dt), _t((3,), dt)
    out = av.nn.functional.linear(x, w, b)
    assert out.grad_fn.name() == "AddmmBackward0"
    _check(out)
    _check(av.nn.functional.linear(x, w, b.detach()))
    _check(av.nn.functional.linear(x.detach(), w, b))
    _check(av.nn.functional.linear(x, w.detach(), b.detach()))
    other = av.tensor(np.ones((5, 3), np.float64 if dt == np.float32 else np.float32))
    with av.no_grad():  # (backward then raises torch's mm dtype error)
        assert out.grad_fn._fast_backward(other) is None


@pytest.mark.parametrize("dt", FLOATS)
def test_transpose_and_views(dt):
    """``t()`` of a matrix and a vector, ``view``, and ``reshape`` as a view (of a
    contiguous tensor, and of a non-contiguous one whose strides allow it) or as a copy."""
    m, v = _t((3, 4), dt), _t((5,), dt)
    _check(m.t())
    _check(v.t())
    outs = [m.t(), v.t(), m.view(2, 6), m.reshape(-1),
            m.t().reshape(2, 2, 3),  # (non-contiguous, its strides allow a view)
            _t((4, 6), dt)[:, ::2].reshape(2, 2, 3),
            m.t().reshape(-1)]  # (no view possible: a copy, then an unsafe view of it)
    for out in outs:
        _check(out)
    assert [o.grad_fn.name() for o in outs] == [
        "TBackward0", "TBackward0", "ViewBackward0", "ViewBackward0", "ReshapeAliasBackward0",
        "ReshapeAliasBackward0", "UnsafeViewBackward0"]


@pytest.mark.parametrize("dt", FLOATS)
def test_shape_ops(dt):
    """transpose, permute, squeeze (every form), unsqueeze and expand."""
    x = _t((3, 1, 4), dt)
    outs = [x.transpose(0, 2), x.transpose(-1, 1), x.permute(2, 0, 1), x.squeeze(),
            x.squeeze(1), x.squeeze((0, 1)), x.unsqueeze(0), x.unsqueeze(-1),
            x.expand(2, 3, 5, 4), x.expand(3, 2, 4), _t((1,), dt).expand(6)]
    for out in outs:
        _check(out)
    assert {o.grad_fn.name() for o in outs} == {
        "TransposeBackward0", "PermuteBackward0", "SqueezeBackward0", "SqueezeBackward1",
        "SqueezeBackward2", "UnsqueezeBackward0", "ExpandBackward0"}


@pytest.mark.parametrize("dt", FLOATS)
def test_cat_and_stack(dt):
    a, b, c = _t((2, 3), dt), _t((2, 1), dt), _t((2, 3), dt)
    for out in (av.cat([a, b, c], dim=1), av.cat([a, c]), av.cat([a, c.detach()], dim=-2),
                av.stack([a, c]), av.stack([a, c], dim=2), av.stack([a, c.detach()], dim=1)):
        _check(out)
    legacy = av.cat([a, av.zeros(0, dtype=a.dtype, requires_grad=True)])
    with av.no_grad():  # (an empty 1-D input skipped, torch's legacy rule: backward runs)
        assert legacy.grad_fn._fast_backward(av.ones_like(legacy)) is None
    other = _t((2, 2), np.float64 if dt != np.float64 else np.float32)
    mixed = av.cat([a, other], dim=1)  # (promoted: its node casts grads back, no formula)
    assert type(mixed.grad_fn)._fast_arrays is None
    a.grad = None
    mixed.sum().backward()
    assert a.grad.dtype == a.dtype and other.grad.dtype == other.dtype


@pytest.mark.parametrize("dt", FLOATS)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss(dt, reduction):
    x, t = _t((4, 3), dt), _t((4, 3), dt)
    F = av.nn.functional
    for a, b in ((x, t), (x, t.detach()), (x.detach(), t)):
        out = F.mse_loss(a, b, reduction=reduction)
        assert out.grad_fn.name() == "MseLossBackward0"
        _check(out)


@pytest.mark.parametrize("dt", FLOATS)
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu(dt, approximate):
    out = av.nn.functional.gelu(_t((4, 5), dt, -4.0, 4.0), approximate=approximate)
    assert out.grad_fn.name() == "GeluBackward0"
    _check(out)


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (2, 3, 4, 4)])
def test_batch_norm(dt, shape):
    """Training (batch statistics) and eval (running ones), with and without weight and
    bias, each input's grad needed or not."""
    F = av.nn.functional
    c = shape[1]
    x, w, b = _t(shape, dt), _t((c,), dt, 0.5, 1.5), _t((c,), dt)
    rm, rv = av.zeros(c, dtype=x.dtype), av.ones(c, dtype=x.dtype)
    for training in (True, False):
        for args in ((w, b), (None, None), (w.detach(), b), (w, None), (None, b)):
            for inp in (x, x.detach()):
                if not any(t is not None and t.requires_grad for t in (inp, *args)):
                    continue
                out = F.batch_norm(inp, rm, rv, *args, training=training)
                assert out.grad_fn.name() == "NativeBatchNormBackward0"
                _check(out)


def test_subclass_with_own_formula_is_not_taken():
    from autograd_viz.ops import arith, unary
    x = _t((3,), np.float32, 0.5, 2.0)
    node = x.log2().grad_fn
    assert isinstance(node, unary.LogBackward0)
    assert type(node)._fast_backward is None

    class MyMul(arith.MulBackward0):  # made after install(): own backward, no fast formula
        def backward(self, g):
            return g, g

    class SameMul(arith.MulBackward0):  # nothing of its own: inherits it
        pass

    assert MyMul._fast_backward is None
    assert SameMul._fast_backward is arith.MulBackward0._fast_backward


def test_every_formula_is_installed():
    for cls in _fastgrad.FAST:
        assert cls.__dict__.get("_fast_backward") is not None, cls.__name__


def test_errors_are_kept():
    x = _t((3,), np.float32)
    z = (x * x).sum()
    z.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        z.backward()
    w = x.detach().requires_grad_()
    v = w.tanh()
    out = v * 2
    with av.no_grad():
        v.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


def test_engine_grads_match_create_graph_path():
    """Whole backward runs: fast (no graph) and Tensor-level (create_graph) agree exactly."""
    def run(create_graph):
        a = av.tensor(np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4),
                      requires_grad=True)
        w = av.tensor(np.linspace(0.5, 1.5, 20, dtype=np.float32).reshape(4, 5),
                      requires_grad=True)
        b = av.tensor(np.linspace(-0.1, 0.1, 5, dtype=np.float32), requires_grad=True)
        h = (a @ w + b).relu()
        y = ((h * h).tanh() - h.sigmoid() / (h + 2) + (h * h + 1).sqrt().exp()).mean()
        y.backward(create_graph=create_graph)
        return [t.grad._data.copy() for t in (a, w, b)]

    for f, s in zip(run(False), run(True)):
        assert f.dtype == s.dtype and f.tobytes() == s.tobytes()


@pytest.mark.parametrize("method", ["add_", "sub_", "mul_", "div_", "subtract_", "multiply_",
                                    "divide_", "true_divide_"])
@pytest.mark.parametrize("dt", FLOATS)
def test_inplace_ufunc_path_matches_general_path(method, dt):
    """``x.sub_(g, alpha=lr)`` without grad writes straight into x: same bits, same version
    bump as the general path (taken here by subscribing a listener)."""
    from autograd_viz.autograd import events

    base = RNG.uniform(0.5, 2.0, (4, 5)).astype(dt)
    other = RNG.uniform(0.5, 2.0, (4, 5)).astype(dt)
    cases = [((av.tensor(other),), {}), ((1.5,), {}), ((3,), {})]
    if method in ("add_", "sub_", "subtract_"):
        cases += [((av.tensor(other),), {"alpha": 0.1}), ((av.tensor(other),), {"alpha": 2})]
    for args, kwargs in cases:
        fast, slow = av.tensor(base.copy()), av.tensor(base.copy())
        view = fast[1:3]
        getattr(view, method)(*(a[1:3] if isinstance(a, av.Tensor) else a for a in args),
                              **kwargs)
        with events.subscribe(lambda kind, p: None):
            getattr(slow[1:3], method)(*(a[1:3] if isinstance(a, av.Tensor) else a
                                         for a in args), **kwargs)
        assert fast._data.tobytes() == slow._data.tobytes(), (method, args, kwargs)
        assert fast._vc.v == slow._vc.v == 1


def _varied_run(listen: bool, arrays: bool = True):
    """A backward that mixes array formulas, Tensor-only nodes (a custom Function, cat),
    hooks, retain_grad, 0-d outputs, a float64 leaf and a second accumulation."""
    from autograd_viz.autograd import engine, events

    class Twice(av.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    log = []
    a = av.tensor(np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3), requires_grad=True)
    w = av.tensor(np.linspace(0.5, 1.5, 12, dtype=np.float32).reshape(3, 4),
                  requires_grad=True)
    d = av.tensor(np.linspace(1, 2, 4), requires_grad=True)  # float64
    a.grad = av.ones(2, 3)  # accumulates into an existing .grad
    h = (a @ w).tanh()
    h.retain_grad()
    h.register_hook(lambda g: log.append(("h", g.tolist())) or g * 3)
    u = Twice.apply(h).sigmoid()
    v = av.cat([u, u * u], 1).sum(0)
    s = (v[:4] * d.float()).sum() + (v[4:] ** 2).mean()
    w.register_hook(lambda g: log.append(("w", g.tolist())))
    s.grad_fn.register_hook(lambda gi, go: log.append(("post", [x.tolist() for x in go])))
    seen = []

    def listener(kind, p):
        if kind != "op_untracked":  # (the Tensor path's own arithmetic inside backward)
            seen.append((kind, p.get("node").name() if p.get("node") is not None else None,
                         [g.tolist() for g in p.get("grads_in", ())],
                         [None if g is None else g.tolist() for g in p.get("grads_out", ())]))

    sub = events.subscribe(listener, arrays=listen == "arrays") if listen else None
    old, engine.ARRAY_GRADS = engine.ARRAY_GRADS, arrays
    try:
        s.backward()
    finally:
        engine.ARRAY_GRADS = old
        if sub is not None:
            sub.remove()
    grads = [t.grad._data.tobytes() for t in (a, w, d, h)] + [t.grad.dtype for t in (a, d)]
    return grads, log, seen


@pytest.mark.parametrize("listen", [False, "tensors", "arrays"])
def test_engine_array_mode_matches_tensor_mode(listen):
    """Grads kept as arrays between nodes and as Tensors (``engine.ARRAY_GRADS = False``) give
    the same bits, hook calls, retained grads, and (with a listener, whether it takes bare
    arrays or wants Tensors) the same events."""
    assert _varied_run(listen, arrays=True) == _varied_run(listen, arrays=False)


def test_listener_gets_tensors_unless_it_takes_arrays():
    """The engine hands bare arrays to a listener only when every listener accepts them."""
    from autograd_viz.autograd import events

    def kinds(arrays_flags):
        seen = {i: set() for i in range(len(arrays_flags))}
        subs = [events.subscribe(
            lambda kind, p, i=i: seen[i].update(
                type(g).__name__ for g in p.get("grads_in", ()) if g is not None)
            if kind == "node_executed" else None, arrays=flag)
            for i, flag in enumerate(arrays_flags)]
        try:
            x = av.tensor([1.0, 2.0], requires_grad=True)
            (x * 3).tanh().sum().backward()
        finally:
            for s in subs:
                s.remove()
        return seen

    assert "ndarray" in kinds([True])[0]  # (the root's seed grad is a Tensor)
    assert kinds([False]) == {0: {"Tensor"}}
    assert kinds([True, False]) == {0: {"Tensor"}, 1: {"Tensor"}}
    assert events.arrays_ok and not events.enabled
