"""Every example of the seed tutorials (../shared/seeds/) with autograd_viz in place of torch,
checked against the numbers the tutorials print."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import autograd_viz as av
from autograd_viz.autograd import Variable as V


def test_seed000_scalar_chain(device):
    x = av.tensor([2.0], requires_grad=True, device=device)
    y = (x + 2) ** 2 + 3
    y.backward()
    assert repr(x.grad.cpu()) == "tensor([8.])"


def test_seed000_tensor_vs_Tensor():
    assert av.Tensor([1, 2]).dtype is av.float32
    assert av.Tensor(2, 3).shape == (2, 3)
    assert av.tensor([1, 2]).dtype is av.int64
    assert av.tensor([1.0, 2]).dtype is av.float32
    with pytest.raises(RuntimeError, match="floating point"):
        av.tensor([1, 2], requires_grad=True)


def test_seed000_matrix_example(device):
    x = av.ones((2, 4), requires_grad=True, device=device)
    y = av.ones((2, 1), requires_grad=True, device=device)
    W = av.ones((4, 1), requires_grad=True, device=device)
    J = av.sum(y - av.matmul(x, W))
    J.backward()
    assert repr(x.grad.cpu()) == ("tensor([[-1., -1., -1., -1.],\n"
                                  "        [-1., -1., -1., -1.]])")
    assert repr(y.grad.cpu()) == "tensor([[1.],\n        [1.]])"
    assert repr(W.grad.cpu()) == "tensor([[-2.],\n        [-2.],\n        [-2.],\n        [-2.]])"


def test_seed000_variable_alias_returns_tensor():
    t = av.ones(3)
    v = V(t, requires_grad=True)
    assert isinstance(v, av.Tensor) and v.requires_grad


def test_seed001_mm_sum_backward():
    av.manual_seed(0)
    x = av.randn(10, 5, requires_grad=True)
    w = av.randn(5, 6, requires_grad=True)
    y = (x.mm(w)).sum()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), np.tile(w.detach().numpy().sum(1), (10, 1)),
                               rtol=1e-5)
    x2 = av.randn(10, 5) @ av.randn(5, 6)
    assert x2.shape == (10, 6)


def test_seed001_data_and_grad_fn():
    x = av.randn(2, 3, requires_grad=True)
    assert x.grad_fn is None
    assert not x.data.requires_grad
    assert repr(x).endswith("requires_grad=True)")
    assert "requires_grad" not in repr(x.data)


def test_seed001_nonleaf_grad_is_none():
    x = av.randn(2, 3, requires_grad=True)
    y = av.randn(2, 3, requires_grad=True)
    w = x + y
    assert w.requires_grad
    z = av.randn(2, 3, requires_grad=True)
    out = (w + z).sum()
    out.backward()
    with pytest.warns(UserWarning, match="not a leaf Tensor"):
        assert w.grad is None
    for t in (x, y, z):
        assert t.grad.tolist() == [[1.0] * 3] * 2


def test_seed001_vector_backward_needs_gradient():
    x = av.randn(5, 1, requires_grad=True)
    w = av.randn(5, 1, requires_grad=True)
    y = x + w
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar"):
        y.backward()
    y.backward(gradient=av.ones_like(y))
    assert x.grad.tolist() == [[1.0]] * 5
    assert w.grad.tolist() == [[1.0]] * 5
    x.grad.zero_()
    assert w.grad.tolist() == [[1.0]] * 5  # separate buffers, not aliases


def test_seed002_accumulate_and_functional_backward():
    x = av.ones(2, requires_grad=True)
    for k in (1, 2, 3):
        (x * 3).sum().backward()
        assert x.grad.tolist() == [3.0 * k] * 2
    x.grad.zero_()
    y = x * x
    av.autograd.backward([y.sum()], grad_tensors=None, retain_graph=True, create_graph=False)
    assert x.grad.tolist() == [2.0, 2.0]
    (g,) = av.autograd.grad(y.sum(), x, retain_graph=True, create_graph=True)
    assert g.tolist() == [2.0, 2.0] and g.requires_grad
    (gg,) = av.autograd.grad(g.sum(), x, only_inputs=True, allow_unused=False)
    assert gg.tolist() == [2.0, 2.0]


class line(av.autograd.Function):  # noqa: N801 - the seed's name
    @staticmethod
    def forward(ctx, w, x, b):
        ctx.save_for_backward(w, x, b)
        return w * x + b

    @staticmethod
    def backward(ctx, grad_out):
        w, x, b = ctx.saved_tensors
        return grad_out * x, grad_out * w, grad_out


def test_seed002_custom_function_line():
    w = av.rand(2, 2, requires_grad=True)
    x = av.rand(2, 2, requires_grad=True)
    b = av.rand(2, 2, requires_grad=True)
    out = line.apply(w, x, b)
    assert out.grad_fn.name() == "lineBackward"
    out.backward(av.ones(2, 2))
    assert np.allclose(w.grad.numpy(), x.detach().numpy())
    assert np.allclose(x.grad.numpy(), w.detach().numpy())
    assert b.grad.tolist() == [[1.0, 1.0], [1.0, 1.0]]


def test_seed002_grad_modes():
    x = av.ones(2, requires_grad=True)
    with av.no_grad():
        assert not (x * 2).requires_grad
        with av.enable_grad():
            assert (x * 2).requires_grad
    with av.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad


def test_seed003_hook_and_autograd_grad(capsys):
    x = V(av.ones(3))
    w = V(av.rand(3), requires_grad=True)
    y = w.mul(x)
    z = y.sum()

    def variable_hook(grad):
        print("hook grad:", grad)

    hook_handle = y.register_hook(variable_hook)
    z.backward(retain_graph=True)
    hook_handle.remove()
    assert capsys.readouterr().out == "hook grad: tensor([1., 1., 1.])\n"
    (g,) = av.autograd.grad(z, y)
    assert repr(g) == "tensor([1., 1., 1.])"
    assert capsys.readouterr().out == ""  # removed hook stays silent


def test_seed003_retain_graph_accumulates_then_errors():
    x = V(av.ones(3))
    w = V(av.rand(3), requires_grad=True)
    y = w.mul(x)
    z = y.sum()
    z.backward(retain_graph=True)
    assert w.grad.tolist() == [1.0] * 3
    z.backward()
    assert w.grad.tolist() == [2.0] * 3
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        z.backward()
    y = w.mul(x)  # rebuilding the graph works
    z = y.sum()
    z.backward()
    assert w.grad.tolist() == [3.0] * 3


class MultiplyAdd(av.autograd.Function):
    @staticmethod
    def forward(ctx, w, x, b):
        ctx.save_for_backward(w, x)
        return w * x + b

    @staticmethod
    def backward(ctx, grad_output):
        w, x = ctx.saved_tensors
        return grad_output * x, grad_output * w, grad_output


def test_seed003_multiply_add_and_higher_order():
    x = V(av.ones(1))
    w = V(av.rand(1), requires_grad=True)
    b = V(av.rand(1), requires_grad=True)
    z = MultiplyAdd.apply(w, x, b)
    z.backward()
    assert x.grad is None
    assert w.grad.tolist() == [1.0] and b.grad.tolist() == [1.0]
    # higher-order: d/dx (x**3) = 3x**2, d2 = 6x
    x = av.tensor([2.0], requires_grad=True)
    y = x ** 3
    (g,) = av.autograd.grad(y, x, create_graph=True)
    (g2,) = av.autograd.grad(g, x)
    assert g.item() == 12.0 and g2.item() == 12.0


def test_seed003_indexing_clamp_cos_mod_pow():
    a = av.arange(0, 6).view(2, 3)
    assert a.tolist() == [[0, 1, 2], [3, 4, 5]]
    assert a.clamp(min=2, max=4).tolist() == [[2, 2, 2], [3, 4, 4]]
    assert repr(av.cos(a.float())) == ("tensor([[ 1.0000,  0.5403, -0.4161],\n"
                                       "        [-0.9900, -0.6536,  0.2837]])")
    assert (a % 3).tolist() == [[0, 1, 2], [0, 1, 2]]
    assert (a ** 2).tolist() == [[0, 1, 4], [9, 16, 25]]
    t = av.arange(20.0).view(4, 5)
    assert t[0:1, :2].shape == (1, 2) and t[0, :2].shape == (2,)
    assert t[[1, 2]].tolist() == [list(range(5, 10)), list(range(10, 15))]
    assert t[t > 17].tolist() == [18.0, 19.0]


def test_seed003_views_share_storage():
    a = av.arange(0, 6)
    b = a.view(2, 3)
    assert b.untyped_storage() is a.untyped_storage() or b.data_ptr() == a.data_ptr()
    a[1] = 10
    assert b[0, 1].item() == 10
    b[1, 2] = -1
    assert a[5].item() == -1


def get_fake_data(batch_size=8):
    x = av.rand(batch_size, 1) * 20
    y = x * 2 + (1 + av.randn(batch_size, 1)) * 3
    return x, y


def test_seed003_least_squares_by_hand():
    av.manual_seed(1000)
    w = V(av.rand(1, 1), requires_grad=True)
    b = V(av.zeros(1, 1), requires_grad=True)
    lr = 0.001
    for _ in range(2000):
        x, y = get_fake_data()
        y_pred = x.mm(w) + b.expand_as(y)
        loss = 0.5 * (y_pred - y) ** 2
        loss = loss.sum()
        loss.backward()
        w.data.sub_(lr * w.grad.data)
        b.data.sub_(lr * b.grad.data)
        w.grad.data.zero_()
        b.grad.data.zero_()
    assert abs(w.item() - 2) < 0.2 and abs(b.item() - 3) < 0.8


def test_seed004_creation_and_sizes():
    assert av.empty(5, 3).shape == (5, 3)
    assert av.rand(5, 3).shape == (5, 3)
    t3 = av.zeros(5, 3, dtype=av.float16)
    assert t3.dtype is av.float16
    assert repr(av.ones_like(t3).size()) == "autograd_viz.Size([5, 3])"
    t = av.tensor([[5, 6], [7, 8]])
    assert t.clone().tolist() == [[5, 6], [7, 8]]


def test_seed004_shape_ops():
    t = av.tensor([[1, 2, 3], [4, 5, 6]])
    assert repr(t[0, :2]) == "tensor([1, 2])"
    assert t.view(-1, 2).tolist() == [[1, 2], [3, 4], [5, 6]]
    t = av.unsqueeze(t, dim=0)
    assert t.shape == (1, 2, 3)
    assert t.permute(2, 1, 0).shape == (3, 2, 1)
    assert t.permute(2, 1, 0)[:, :, 0].tolist() == [[1, 4], [2, 5], [3, 6]]
    assert t.expand(2, 2, 3).tolist() == [[[1, 2, 3], [4, 5, 6]]] * 2
    assert t.squeeze().shape == (2, 3)


def test_seed004_add_forms():
    x = av.tensor([[1, 2, 3], [4, 5, 6]])
    y = av.tensor([[7, 8, 9], [10, 11, 12]])
    expect = [[8, 10, 12], [14, 16, 18]]
    assert (x + y).tolist() == expect
    assert av.add(x, y).tolist() == expect
    z = av.empty(2, 3)
    av.add(x, y, out=z)
    assert z.tolist() == expect and z.dtype is av.float32
    y.add_(x)
    assert y.tolist() == expect


def test_seed004_numpy_sharing():
    t = av.ones(5)
    n1 = t.numpy()
    n2 = t.clone().numpy()
    t.add_(1)
    assert n1.tolist() == [2.0] * 5 and n2.tolist() == [1.0] * 5
    n = np.ones(5)
    t2 = av.from_numpy(n)
    np.add(n, 1, out=n)
    assert t2.tolist() == [2.0] * 5 and t2.dtype is av.float64
    t2.mul_(2)
    assert n.tolist() == [4.0] * 5


def test_seed004_to_cuda_without_gpu_is_clear():
    if av.cuda.is_available():
        pytest.skip("a GPU is present: covered by the cuda device tests")
    with pytest.raises(RuntimeError, match="CuPy|GPU"):
        av.ones(2).to("cuda")


def test_seed004_walkthrough():
    x = av.ones(5, requires_grad=True)
    w1 = av.tensor(2.0, requires_grad=True)
    w2 = av.tensor(3.0, requires_grad=True)
    b = av.tensor(4.0, requires_grad=False)
    l1 = x * w1
    l2 = l1 + b
    l3 = l2 * w2
    y = l3.mean()
    l1.retain_grad()
    l2.retain_grad()
    y.backward()
    assert repr(l1.data) == "tensor([2., 2., 2., 2., 2.])"
    assert repr(l1.grad) == "tensor([0.6000, 0.6000, 0.6000, 0.6000, 0.6000])"
    assert l1.grad_fn.name() == "MulBackward0" and l2.grad_fn.name() == "AddBackward0"
    assert repr(l2.data) == "tensor([6., 6., 6., 6., 6.])"
    assert repr(y) == "tensor(18., grad_fn=<MeanBackward0>)"
    assert repr(w1.grad) == "tensor(3.)" and repr(w2.grad) == "tensor(6.)"
    assert repr(x.grad) == "tensor([1.2000, 1.2000, 1.2000, 1.2000, 1.2000])"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert l3.retains_grad is False
    with av.no_grad():
        assert (x ** 2).requires_grad is False
    assert (x ** 2).requires_grad is True
