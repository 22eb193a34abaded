"""Type promotion against torch: every op over a matrix of operands (tensors of each dtype,
0-d tensors, Python scalars on either side). Result dtypes and values must match torch's,
and where torch raises, autograd_viz raises the same exception type."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from test_ops_table import assert_close

import autograd_viz as av

pytestmark = pytest.mark.filterwarnings("ignore")

_VALS = {"bool": [True, True, True], "int32": [3, 1, 2], "int64": [2, 3, 1],
         "float32": [1.5, 2.0, 3.0], "float64": [2.5, 1.0, 0.5]}
OPERANDS = {
    **{f"t_{d}": (lambda m, d=d: m.tensor(_VALS[d], dtype=getattr(m, d))) for d in _VALS},
    **{f"s_{d}": (lambda m, d=d: m.tensor(_VALS[d][0], dtype=getattr(m, d)))
       for d in ("bool", "int64", "float32", "float64")},
    "py_bool": lambda m: True, "py_int": lambda m: 2, "py_float": lambda m: 1.5,
}

BINARY = {
    "add": lambda m, a, b: a + b, "sub": lambda m, a, b: a - b, "mul": lambda m, a, b: a * b,
    "truediv": lambda m, a, b: a / b, "pow": lambda m, a, b: a ** b,
    "mod": lambda m, a, b: a % b, "floordiv": lambda m, a, b: a // b,
    "fmod": lambda m, a, b: m.fmod(a, b), "remainder": lambda m, a, b: m.remainder(a, b),
    "maximum": lambda m, a, b: m.maximum(a, b), "minimum": lambda m, a, b: m.minimum(a, b),
    "add_alpha": lambda m, a, b: m.add(a, b, alpha=2),
    "eq": lambda m, a, b: a == b, "lt": lambda m, a, b: a < b, "ge": lambda m, a, b: a >= b,
    "where": lambda m, a, b: m.where(m.tensor([True, False, True]), a, b),
    "matmul": lambda m, a, b: a @ b, "dot": lambda m, a, b: m.dot(a, b),
    "cat": lambda m, a, b: m.cat([a, b]), "stack": lambda m, a, b: m.stack([a, b]),
    "clamp": lambda m, a, b: m.clamp(a, min=b),
    "iadd": lambda m, a, b: _inplace(a, "__iadd__", b),
    "imul": lambda m, a, b: _inplace(a, "__imul__", b),
    "itruediv": lambda m, a, b: _inplace(a, "__itruediv__", b),
    "add_out": lambda m, a, b: m.add(a, b, out=m.empty(0, dtype=m.float64)),
}
UNARY = {
    "neg": lambda m, a: -a, "abs": lambda m, a: m.abs(a), "exp": lambda m, a: m.exp(a),
    "log": lambda m, a: m.log(a), "sqrt": lambda m, a: a.sqrt(), "sin": lambda m, a: a.sin(),
    "tanh": lambda m, a: m.tanh(a), "sigmoid": lambda m, a: m.sigmoid(a),
    "relu": lambda m, a: m.relu(a), "clamp_s": lambda m, a: a.clamp(0, 2),
    "clamp_f": lambda m, a: a.clamp(min=0.5), "sum": lambda m, a: a.sum(),
    "sum_dim": lambda m, a: a.sum(-1, keepdim=True), "mean": lambda m, a: a.mean(),
    "prod": lambda m, a: a.prod(), "max": lambda m, a: a.max(), "min_dim": lambda m, a:
    a.min(0)[0], "argmax": lambda m, a: a.argmax(), "var": lambda m, a: a.var(),
    "std": lambda m, a: a.std(), "softmax": lambda m, a: m.softmax(a, -1),
    "log_softmax": lambda m, a: a.log_softmax(0), "float": lambda m, a: a.float(),
    "double": lambda m, a: a.double(), "long": lambda m, a: a.long(),
    "bool": lambda m, a: a.bool(), "pow_h": lambda m, a: a ** 0.5,
    "pow_2": lambda m, a: a ** 2, "rpow": lambda m, a: 2 ** a, "rsub": lambda m, a: 1 - a,
    "rdiv": lambda m, a: 1 / a, "rmul_f": lambda m, a: 0.5 * a,
    "sub_bool": lambda m, a: a - True, "invert": lambda m, a: ~a,
    "index": lambda m, a: a[1:], "setitem": lambda m, a: _setitem(a, 0, 2.5),
    "exp_": lambda m, a: a.clone().exp_(), "abs_": lambda m, a: a.clone().abs_(),
}


def _inplace(a, name, b):
    if not hasattr(a, "clone"):
        raise TypeError("in-place op on a Python scalar")
    return getattr(a.clone(), name)(b)


def _setitem(a, key, v):
    a = a.clone()
    a[key] = v
    return a


def outcome(m, fn, *args):
    """The result, or the builtin exception type that ``fn`` raised."""
    try:
        return fn(m, *args)
    except Exception as e:  # noqa: BLE001
        return next(c for c in type(e).__mro__ if c.__module__ == "builtins"), e


def check(torch, fn, *names) -> None:
    t = outcome(torch, fn, *(OPERANDS[n](torch) for n in names))
    a = outcome(av, fn, *(OPERANDS[n](av) for n in names))
    if isinstance(t, tuple) and isinstance(t[0], type):
        assert isinstance(a, tuple) and isinstance(a[0], type), \
            f"{names}: torch raised {t[0].__name__}: {t[1]}, autograd_viz gave {a!r}"
        assert a[0] is t[0], f"{names}: {a[0].__name__}({a[1]}) vs {t[0].__name__}({t[1]})"
        assert len(str(a[1])) > 15, f"{names}: uninformative message {a[1]!r}"
        return
    assert not (isinstance(a, tuple) and isinstance(a[0], type)), \
        f"{names}: autograd_viz raised {a[0].__name__}: {a[1]}; torch gave {t!r}"
    for x, y in zip(a if isinstance(a, tuple) else (a,), t if isinstance(t, tuple) else (t,)):
        assert_close(x, y, rtol=1e-6, atol=1e-6, what=f"{names}")


@pytest.mark.parametrize("op", list(BINARY))
def test_binary_promotion(torch, op) -> None:
    errors = []
    for pair in itertools.product(OPERANDS, repeat=2):
        if all(p.startswith("py_") for p in pair):
            continue
        try:
            check(torch, BINARY[op], *pair)
        except AssertionError as e:
            errors.append(str(e).splitlines()[0])
    assert not errors, f"{len(errors)} mismatches:\n" + "\n".join(errors[:20])


@pytest.mark.parametrize("op", list(UNARY))
def test_unary_dtypes(torch, op) -> None:
    errors = []
    for name in OPERANDS:
        if name.startswith("py_"):
            continue
        try:
            check(torch, UNARY[op], name)
        except AssertionError as e:
            errors.append(str(e).splitlines()[0])
    assert not errors, f"{len(errors)} mismatches:\n" + "\n".join(errors[:20])


def test_float32_stays_float32_with_python_floats(torch) -> None:
    x = av.tensor([1.0, 2.0])
    for y in (x * 2.5, 2.5 * x, x / 3, x ** 0.5, x - 1e-3, av.exp(x)):
        assert y.dtype is av.float32
    assert np.allclose((x / 3).numpy(), torch.tensor([1.0, 2.0]) / 3)


MIXED = {
    "add": lambda m, a, b: a + b, "sub": lambda m, a, b: a - b, "mul": lambda m, a, b: a * b,
    "div": lambda m, a, b: a / b, "pow": lambda m, a, b: a.abs() ** b,
    "maximum": lambda m, a, b: m.maximum(a, b), "where": lambda m, a, b: m.where(a > 0, a, b),
    "clamp": lambda m, a, b: a.clamp(min=b), "cat": lambda m, a, b: m.cat([a, b.expand(3)]),
    "fmod": lambda m, a, b: m.fmod(a, b), "iadd": lambda m, a, b: _inplace(a * 1, "add_", b),
    "imul": lambda m, a, b: _inplace(a * 1, "mul_", b),
}


@pytest.mark.parametrize("op", list(MIXED))
@pytest.mark.parametrize("dts", [("float32", "float64"), ("float64", "float32"),
                                 ("float32", "s_float64"), ("float64", "s_float32")])
def test_mixed_float_dtypes_grads(torch, op, dts) -> None:
    """float32 with float64 operands that both require grad: one node whose edges are the
    inputs (no cast nodes), the result dtype, and grads in each input's own dtype."""
    from test_ops_table import graph_sig

    def build(m):
        a = m.tensor([0.5, -1.5, 2.0], dtype=getattr(m, dts[0]), requires_grad=True)
        b = m.tensor([1.5, 0.25, -3.0] if not dts[1].startswith("s_") else 1.25,
                     dtype=getattr(m, dts[1].removeprefix("s_")), requires_grad=True)
        r = MIXED[op](m, a, b)
        r.sum().backward()
        return a, b, r
    (aa, ab, ar), (ta, tb, tr) = build(av), build(torch)
    assert_close(ar, tr, rtol=1e-6, what="result")
    assert graph_sig([ar], [aa, ab]) == graph_sig([tr], [ta, tb])
    assert_close(aa.grad, ta.grad, rtol=1e-6, what="grad a")
    assert_close(ab.grad, tb.grad, rtol=1e-6, what="grad b")
