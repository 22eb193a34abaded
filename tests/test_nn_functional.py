"""nn.functional extras against PyTorch: pad, one_hot, normalize, softmin, bilinear,
in-place activations, dropout argument checks, the seed's functional examples."""
from __future__ import annotations

import pytest
from test_nn_helpers import assert_close, av_of

import autograd_viz as av

nn = av.nn
F = av.nn.functional


def _x(torch, *shape, seed=0):
    return torch.randn(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("pad", [(1, 2), (1, 0, 2, 3), (-1, 1, 0, 2), (0, 0, 1, 1, 1, 0)])
def test_pad(torch, pad):
    xt = _x(torch, 2, 3, 4).requires_grad_()
    xa = av_of(xt)
    yt, ya = torch.nn.functional.pad(xt, pad, value=0.5), F.pad(xa, pad, value=0.5)
    assert_close(ya, yt)
    assert ya.grad_fn.name() == yt.grad_fn.name() == "ConstantPadNdBackward0"
    g = _x(torch, *yt.shape, seed=1)
    yt.backward(g)
    ya.backward(av_of(g))
    assert_close(xa.grad, xt.grad)


def test_one_hot_normalize_softmin_bilinear(torch):
    idx = torch.tensor([[0, 2], [1, 3]])
    assert F.one_hot(av_of(idx)).tolist() == torch.nn.functional.one_hot(idx).tolist()
    assert F.one_hot(av_of(idx), 6).shape == (2, 2, 6)
    x = _x(torch, 3, 4)
    assert_close(F.normalize(av_of(x)), torch.nn.functional.normalize(x))
    assert_close(F.normalize(av_of(x), p=1, dim=0), torch.nn.functional.normalize(x, 1, 0))
    assert_close(F.softmin(av_of(x), 1), torch.nn.functional.softmin(x, 1))
    x1, x2, w, b = _x(torch, 5, 3), _x(torch, 5, 2, seed=1), _x(torch, 4, 3, 2, seed=2), \
        _x(torch, 4, seed=3)
    assert_close(F.bilinear(av_of(x1), av_of(x2), av_of(w), av_of(b)),
                 torch.nn.functional.bilinear(x1, x2, w, b))


def test_inplace_activations_without_graph():
    x = av.tensor([-1.0, 2.0])
    assert F.relu(x, inplace=True) is x and x.tolist() == [0.0, 2.0]
    y = av.tensor([-1.0, 2.0])
    assert F.leaky_relu(y, 0.5, inplace=True) is y and y.tolist() == [-0.5, 2.0]
    z = av.tensor([-1.0, 2.0])
    assert F.dropout(z, 0.5, training=True, inplace=True) is z
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
        F.dropout(z, -0.1)


def test_seed_functional_example(torch):
    """The seed's note: F.xxx is the functional form; the two give the same numbers."""
    x = _x(torch, 2, 3, 8, 8)
    conv_t = torch.nn.Conv2d(3, 4, 3).double()
    a = F.max_pool2d(F.relu(F.conv2d(av_of(x), av_of(conv_t.weight.detach()),
                                     av_of(conv_t.bias.detach()))), 2)
    t = torch.nn.functional.max_pool2d(torch.relu(conv_t(x)), 2)
    assert_close(a, t)
    lin = nn.Linear(3, 2)
    v = av.randn(4, 3)
    assert_close(F.linear(v, lin.weight, lin.bias), lin(v))
    assert_close(F.mse_loss(lin(v), av.zeros(4, 2)), nn.MSELoss()(lin(v), av.zeros(4, 2)))
