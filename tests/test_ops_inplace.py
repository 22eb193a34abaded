"""In-place ops (``x.op_()``, ``+=``, ``x[i] = v``, ``copy_``, ``fill_``, ``zero_``) on
non-leaf tensors and through views, and ``out=`` on the functional forms, against torch:
values, the rebuilt graph (CopySlices, AsStridedBackward0, ...), grads and second grads,
version-counter errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import strategies as st
from test_ops_dtypes import OPERANDS, check
from test_ops_table import Spec, check_op

import autograd_viz as av

pytestmark = pytest.mark.filterwarnings("ignore")


def _do(y, method, *args, **kw):
    getattr(y, method)(*args, **kw)
    return y


def _iop(y, op, v):
    if op == "+":
        y += v
    elif op == "-":
        y -= v
    elif op == "*":
        y *= v
    elif op == "/":
        y /= v
    else:
        y **= v
    return y


def _view_write(m, x, z, which):
    y = x * 1
    v = y[0] if which == "select" else (y.t() if which == "t" else y[:, 1:])
    v.mul_(z[: v.shape[-1]] if which != "t" else z[0])
    return y


def _base_write_then_view(m, x, z):
    y = x * 1
    v = y[1]
    w = y.t()[1:]
    y.exp_()
    return v * z[:3] + w.sum()


def _setitem_view(m, x, z):
    y = x * 1
    r = y[1]
    r[0] = z[0]
    r[1:] *= 2
    return y


S = ((2, 3), (3,))
INPLACE = [
    ("add_", lambda m, x, z: _do(x * 1, "add_", z)),
    ("add_alpha", lambda m, x, z: _do(x * 1, "add_", z, alpha=-2)),
    ("add_s", lambda m, x, z: _do(x * 1, "add_", 2)),
    ("sub_", lambda m, x, z: _do(x * 1, "sub_", z)),
    ("mul_", lambda m, x, z: _do(x * 1, "mul_", z)),
    ("mul_self", lambda m, x, z: _do(x * z, "mul_", 3)),
    ("div_", lambda m, x, z: _do(x * 1, "div_", z * z + 1)),
    ("pow_", lambda m, x, z: _do(x * 1, "pow_", 2)),
    ("pow_t", lambda m, x, z: _do(x * x + 1, "pow_", z)),
    ("exp_", lambda m, x, z: _do(x * 1, "exp_")),
    ("sin_", lambda m, x, z: _do(x * z, "sin_")),
    ("tanh_", lambda m, x, z: _do(x * 1, "tanh_")),
    ("sigmoid_", lambda m, x, z: _do(x * 1, "sigmoid_")),
    ("relu_", lambda m, x, z: _do(x * 1, "relu_")),
    ("abs_", lambda m, x, z: _do(x * 1, "abs_")),
    ("neg_", lambda m, x, z: _do(x * 1, "neg_")),
    ("sqrt_", lambda m, x, z: _do(x * x + 1, "sqrt_")),
    ("log_", lambda m, x, z: _do(x * x + 1, "log_")),
    ("clamp_", lambda m, x, z: _do(x * 1, "clamp_", -0.5, 0.5)),
    ("clamp_t", lambda m, x, z: _do(x * 1, "clamp_", min=z)),
    ("fmod_", lambda m, x, z: _do(x * 1, "fmod_", 0.7)),
    ("remainder_", lambda m, x, z: _do(x * 1, "remainder_", z * z + 1)),
    ("zero_", lambda m, x, z: _do(x * 1, "zero_") * z),
    ("fill_", lambda m, x, z: _do(x * 1, "fill_", 2.5) * z),
    ("fill_t", lambda m, x, z: _do(x * 1, "fill_", z[0])),
    ("copy_", lambda m, x, z: _do(x * 1, "copy_", z)),
    ("copy_const", lambda m, x, z: _do(m.zeros(2, 3, dtype=m.float64), "copy_", z * 2)),
    ("masked_fill_", lambda m, x, z: _do(x * 1, "masked_fill_", x > 0, 0.5)),
    ("masked_fill_t", lambda m, x, z: _do(x * 1, "masked_fill_", x > 0, z[1])),
    *[(f"i{op}", lambda m, x, z, op=op: _iop(x * 1, op, z if op != "**" else 2))
      for op in "+-*/"],
    ("ipow", lambda m, x, z: _iop(x * 1, "**", 2)),
    ("const_add_", lambda m, x, z: _do(m.ones(2, 3, dtype=m.float64), "add_", z)),
    ("chain", lambda m, x, z: _do(_do(_do(x * 1, "mul_", z), "add_", 1), "mul_", z)),
    ("view_select", lambda m, x, z: _view_write(m, x, z, "select")),
    ("view_t", lambda m, x, z: _view_write(m, x, z, "t")),
    ("view_slice", lambda m, x, z: _view_write(m, x, z, "slice")),
    ("base_then_view", _base_write_then_view),
    ("setitem_view", _setitem_view),
    ("iadd_column", lambda m, x, z: _iop_col(x, z)),
]


def _iop_col(x, z):
    y = x * 1
    y[:, 0] += z[:2]
    return y


@pytest.mark.parametrize("name,fn", INPLACE, ids=[n for n, _ in INPLACE])
@pytest.mark.parametrize("seed", [0, 1])
def test_inplace_matches_torch(torch, name, fn, seed) -> None:
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s) for s in S]
    check_op(torch, Spec(name, fn, st.just(S)), arrays, {})


def test_leaf_and_view_of_leaf_raise(torch) -> None:
    for m in (torch, av):
        x = m.ones(3, requires_grad=True)
        for f in (lambda t: t.add_(1), lambda t: t[0].mul_(2), lambda t: t.zero_()):
            with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
                f(x)


def test_overlapping_write_raises(torch) -> None:
    for m in (torch, av):
        y = m.ones(3, requires_grad=True) * 1
        e = y[:1].expand(3)
        with pytest.raises(RuntimeError, match="more than one element"):
            e.mul_(2)


@pytest.mark.parametrize("how", ["backward", "grad"])
def test_fill_through_expanded_view_raises_in_backward(torch, how) -> None:
    """fill_ may write an expanded view (no overlap check), but backward then copies the
    write's gradient into that overlapping geometry of the root's: torch raises there."""
    for m in (torch, av):
        x = m.tensor([2.0], requires_grad=True)
        y = x * 1
        e = y.expand(3)
        e.fill_(1.0)
        assert e.tolist() == [1.0, 1.0, 1.0]
        with pytest.raises(RuntimeError, match="more than one element"):
            if how == "backward":
                y.sum().backward()
            else:
                m.autograd.grad(y.sum(), x)


@pytest.mark.parametrize("op", ["mul_", "exp_", "pow_"])
def test_saved_tensor_modified_raises(torch, op) -> None:
    """An in-place write on a tensor another node saved makes backward raise, as torch."""
    for m in (torch, av):
        x = m.ones(3, requires_grad=True)
        y = x * 1
        z = y * y  # saves y
        getattr(y, op)(*(() if op == "exp_" else (2,)))
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            z.sum().backward()


def test_self_as_other_raises(torch) -> None:
    """``y.mul_(y)`` saves y as "other", which the write modifies: backward raises."""
    for m in (torch, av):
        y = m.ones(3, requires_grad=True) * 2
        y.mul_(y)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


# ---------------------------------------------------------------------------------- out=
OUT_OPS = {
    "add": lambda m, a, b, o: m.add(a, b, out=o), "sub": lambda m, a, b, o: m.sub(a, b, out=o),
    "mul": lambda m, a, b, o: m.mul(a, b, out=o), "div": lambda m, a, b, o: m.div(a, b, out=o),
    "pow": lambda m, a, b, o: m.pow(a, b, out=o),
    "maximum": lambda m, a, b, o: m.maximum(a, b, out=o),
    "exp": lambda m, a, b, o: m.exp(a, out=o), "sum": lambda m, a, b, o: m.sum(a, 0, out=o),
    "matmul": lambda m, a, b, o: m.matmul(a[:, None], b[None], out=o),
    "mm": lambda m, a, b, o: m.mm(a[:, None], b[None], out=o),
    "cat": lambda m, a, b, o: m.cat([a, b], out=o),
    "clamp": lambda m, a, b, o: m.clamp(a, 0, 1, out=o),
}


@pytest.mark.parametrize("op", list(OUT_OPS))
@pytest.mark.parametrize("out", ["same", "empty", "int", "double", "wrong"])
def test_out_matches_torch(torch, op, out) -> None:
    """``out=`` writes the result (resizing an empty out, casting where allowed) and
    returns ``out``; torch's errors otherwise (e.g. a float result into an int out)."""
    def run(m):
        a, b = OPERANDS["t_float32"](m), OPERANDS["t_float32"](m) + 1
        o = {"same": m.zeros(3), "empty": m.empty(0), "int": m.zeros(3, dtype=m.int64),
             "double": m.zeros(3, dtype=m.float64), "wrong": m.zeros(5)}[out]
        r = OUT_OPS[op](m, a, b, o)
        assert r is o
        return o
    check(torch, lambda m: run(m))


def test_out_requires_grad_raises(torch) -> None:
    for m in (torch, av):
        a = m.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
            m.add(a, 1, out=m.empty(3))
        with m.no_grad():
            o = m.add(a, 1, out=m.empty(3))
        assert not o.requires_grad and o.tolist() == [2.0, 2.0, 2.0]
