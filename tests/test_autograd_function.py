"""Custom ``autograd.Function`` with PyTorch's ctx contract."""
from __future__ import annotations

import numpy as np
import pytest

import autograd_viz as av
from autograd_viz.autograd import Function


class Exp(Function):
    @staticmethod
    def forward(ctx, x):
        y = x.exp()
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y


def test_function_saves_output_and_double_backward():
    x = av.tensor([0.0, 1.0], dtype=av.float64, requires_grad=True)
    y = Exp.apply(x)
    assert y.grad_fn.name() == "ExpBackward" and not y.is_leaf
    (g,) = av.autograd.grad(y.sum(), x, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), np.exp([0.0, 1.0]))
    assert av.autograd.gradcheck(Exp.apply, (x,))


def test_needs_input_grad_and_nondifferentiable_outputs():
    seen = {}

    class SortLike(Function):
        @staticmethod
        def forward(ctx, x, w):
            seen["needs"] = ctx.needs_input_grad
            idx = av.argmax(x).reshape(1)
            ctx.mark_non_differentiable(idx)
            return x * w, idx

        @staticmethod
        def backward(ctx, g, g_idx):
            assert g_idx is not None  # materialised zeros by default
            return g, None

    x = av.ones(3, requires_grad=True)
    out, idx = SortLike.apply(x, av.ones(3))
    assert seen["needs"] == (True, False)
    assert out.requires_grad and not idx.requires_grad
    out.sum().backward()
    assert x.grad.tolist() == [1.0] * 3


def test_wrong_number_of_grads_and_shapes():
    class TooFew(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, g):
            return g

    a = av.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        TooFew.apply(a, a).sum().backward()

    class BadShape(Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return av.ones(5)

    with pytest.raises(RuntimeError, match="invalid gradient at index 0"):
        BadShape.apply(a).sum().backward()


def test_function_without_grad_inputs_builds_no_node():
    y = Exp.apply(av.ones(2))
    assert y.grad_fn is None and not y.requires_grad
    with av.no_grad():
        assert Exp.apply(av.ones(2, requires_grad=True)).grad_fn is None


def test_saved_tensors_freed_after_backward():
    x = av.ones(2, requires_grad=True)
    y = Exp.apply(x)
    y.sum().backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.sum().backward()


def test_function_matches_torch(torch):
    def run(m):
        class Cube(m.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x ** 3

            @staticmethod
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return 3 * x ** 2 * g

        x = m.tensor([1.5, -2.0], dtype=m.float64, requires_grad=True)
        y = Cube.apply(x)
        (g,) = m.autograd.grad(y.sum(), x, create_graph=True)
        (g2,) = m.autograd.grad(g.sum(), x)
        return y.tolist(), g.tolist(), g2.tolist(), type(y.grad_fn).__name__.startswith("Cube")
    assert run(av) == run(torch)


def test_nodes_can_be_called_by_hand_like_torch():
    w = av.ones(2, requires_grad=True)
    x = av.full((2,), 3.0)
    y = Exp.apply(w)
    (g,) = y.grad_fn.apply(av.ones(2))  # a custom Function's node: grads as arguments
    assert np.allclose(g.detach().numpy(), np.e)
    gw, gx = (w * x).grad_fn(av.ones(2))  # any node is callable, as torch's are
    assert gw.tolist() == [3.0, 3.0] and gx is None


def test_ops_inside_forward_are_not_recorded():
    from autograd_viz.autograd import events
    log = []
    x = av.ones(2, requires_grad=True)
    with events.subscribe(lambda kind, p: log.append(kind)):
        Exp.apply(x)
    assert log == ["node_created"]
