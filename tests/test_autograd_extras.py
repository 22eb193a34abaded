"""Anomaly detection, ``is_grads_batched`` and ``save_for_backward``'s checks, against torch."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import autograd_viz as av


def _sqrt_of(m, values):
    x = m.tensor(values, requires_grad=True)
    return x, x.sqrt().sum()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_detect_anomaly_raises_on_nan_with_the_forward_traceback(torch):
    for m in (torch, av):
        with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"):
            mode = m.autograd.detect_anomaly()
        with mode:
            assert m.is_anomaly_enabled() and m.is_anomaly_check_nan_enabled()
            x, y = _sqrt_of(m, [0.0, 1.0])  # inf is no anomaly
            y.backward()
            assert x.grad.tolist()[1] == 0.5
            x, y = _sqrt_of(m, [-1.0])  # the forward line below must be named
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                with pytest.raises(RuntimeError, match="Function 'SqrtBackward0' returned nan "
                                                       "values in its 0th output."):
                    y.backward()
            (w,) = [w for w in caught if "Error detected in" in str(w.message)]
            assert "Error detected in SqrtBackward0" in str(w.message)
            assert "_sqrt_of" in str(w.message) and "test_autograd_extras.py" in str(w.message)
            assert "traceback_" in (x * 2).grad_fn.metadata
        assert not m.is_anomaly_enabled()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_set_detect_anomaly_as_call_and_context(torch):
    for m in (torch, av):
        m.autograd.set_detect_anomaly(True, check_nan=False)
        assert m.is_anomaly_enabled() and not m.is_anomaly_check_nan_enabled()
        x = m.tensor([-1.0], requires_grad=True)
        x.sqrt().sum().backward()  # NaN, but not checked
        assert np.isnan(x.grad.tolist()[0])
        with m.autograd.set_detect_anomaly(False):
            assert not m.is_anomaly_enabled()
        assert m.is_anomaly_enabled()
        m.autograd.set_detect_anomaly(False)
        assert not m.is_anomaly_enabled()


def test_grads_batched_like_torch(torch):
    res = []
    for m in (torch, av):
        x = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = x * m.tensor([1.0, 2.0, 3.0]) + x ** 2
        (jac,) = m.autograd.grad(y, x, grad_outputs=m.eye(3), is_grads_batched=True)
        z = (x ** 3).sum()
        (g,) = m.autograd.grad(z, x, create_graph=True)
        (hess,) = m.autograd.grad(g, x, grad_outputs=m.eye(3), is_grads_batched=True)
        res.append((jac.tolist(), hess.tolist()))
    assert res[0] == res[1]


def test_save_for_backward_takes_tensors_only(torch):
    for m in (torch, av):
        class F(m.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x, None, 3)
                return x * 1

            @staticmethod
            def backward(ctx, g):
                return g

        with pytest.raises(TypeError, match="save_for_backward can only save variables, but "
                                            "argument 2 is of type int"):
            F.apply(m.ones(2, requires_grad=True))
