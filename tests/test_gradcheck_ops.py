"""Finite differences (``autograd_viz.autograd.gradcheck``, float64) for every
differentiable op of the op table, and ``gradgradcheck`` for a representative subset. No
torch needed: this checks autograd_viz's own backward formulas."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from test_ops_inplace import INPLACE
from test_ops_table import OPS, Spec, cases, examples, outputs

import autograd_viz as av
from autograd_viz.autograd import gradcheck, gradgradcheck

pytestmark = pytest.mark.filterwarnings("ignore")

_NO_GRAD = {"eq", "ne", "lt", "le", "gt", "ge", "eq_s", "lt_s", "ge_s", "argmax", "argmin",
            "argmax_dim", "argmin_dim"}
DIFFERENTIABLE = [s for s in OPS if s.grad and s.id not in _NO_GRAD]
SECOND = ["mul", "div", "pow_t", "pow_h", "rpow", "exp", "log", "sqrt", "sin", "tan", "tanh",
          "sigmoid", "prod", "prod_dim", "var_dim", "std_dim", "softmax", "log_softmax",
          "logsumexp", "mm3", "mm4", "mm9", "bmm", "dot", "max_dim", "amax", "clamp_tt",
          "where_b", "maximum", "cat", "split", "mean_dim", "view_chain", "rdiv"]


def _smooth(spec: Spec) -> Spec:
    """The spec with real-valued data only (no integer ties or kinks under the step)."""
    return Spec(spec.name, spec.fn, spec.shapes, spec.kw, spec.domain, spec.grad, False)


def _inputs(arrays):
    return [av.tensor(a, dtype=av.float64, requires_grad=True) for a in arrays]


def _fn(spec, kw):
    def f(*xs):
        r = spec.fn(av, *xs, **kw)
        return tuple(o for o in outputs(r) if o.dtype.is_floating_point)
    return f


@pytest.mark.parametrize("spec", DIFFERENTIABLE, ids=[s.id for s in DIFFERENTIABLE])
@settings(max_examples=examples(3))
@given(data=st.data())
def test_gradcheck(spec, data) -> None:
    arrays, kw = data.draw(cases(_smooth(spec)))
    _assume_finite(spec, kw, arrays)
    assert gradcheck(_fn(spec, kw), _inputs(arrays), eps=1e-6, atol=1e-5, rtol=1e-4)


def _assume_finite(spec, kw, arrays):
    """Skip points where the op is not finite (e.g. the variance of one element)."""
    with av.no_grad():
        outs = _fn(spec, kw)(*_inputs(arrays))
    assume(all(np.isfinite(o.detach().numpy()).all() for o in outs))


@pytest.mark.parametrize("name", SECOND)
@settings(max_examples=examples(2))
@given(data=st.data())
def test_gradgradcheck(name, data) -> None:
    spec = next(s for s in OPS if s.id == name)
    arrays, kw = data.draw(cases(_smooth(spec)))
    _assume_finite(spec, kw, arrays)
    xs = _inputs(arrays)
    outs = _fn(spec, kw)(*xs)
    rng = np.random.default_rng(0)
    gos = [av.tensor(rng.standard_normal(tuple(o.shape)), dtype=av.float64) for o in outs]
    assert gradgradcheck(_fn(spec, kw), xs, gos, eps=1e-6, atol=1e-5, rtol=1e-3)


@pytest.mark.parametrize("name,fn", INPLACE, ids=[n for n, _ in INPLACE])
def test_gradcheck_inplace(name, fn) -> None:
    """In-place ops, writes through views and setitem (the op table of test_ops_inplace)."""
    rng = np.random.default_rng(3)
    xs = _inputs([rng.standard_normal((2, 3)), rng.standard_normal(3)])
    assert gradcheck(lambda x, z: fn(av, x, z), xs, eps=1e-6, atol=1e-5, rtol=1e-4)


KEYS = [0, -1, slice(1, None), (slice(None), 1), (None, Ellipsis, 0), [1, 0, 1],
        (slice(None), [2, 0]), ([0, 1], [2, 2]), "mask"]


@pytest.mark.parametrize("key", KEYS, ids=repr)
def test_gradcheck_indexing(key) -> None:
    rng = np.random.default_rng(4)
    x = _inputs([rng.standard_normal((2, 3))])
    k = av.tensor([[True, False, True], [False, True, True]]) if key == "mask" else key

    def set_and_read(x):
        y = x * 1
        y[k] = y[k] * 2 + 1
        return y
    assert gradcheck(lambda x: x[k], x)
    if key != [1, 0, 1]:  # (a write with repeated indices has no single derivative)
        assert gradcheck(set_and_read, x)
    assert gradgradcheck(lambda x: (x[k] ** 3), x)


def test_gradcheck_catches_a_wrong_backward() -> None:
    """The check itself: a Function with a wrong derivative fails."""
    class Wrong(av.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * x  # should be 2 * g * x

    x = av.tensor([0.3, -1.2], dtype=av.float64, requires_grad=True)
    with pytest.raises(av.autograd.GradcheckError):
        gradcheck(Wrong.apply, (x,))
