"""Differential tests of the nn layers against PyTorch (float64, same weights): outputs,
input gradients, parameter gradients, grad_fn names; gradcheck; bad-input errors."""
from __future__ import annotations

import numpy as np
import pytest
from test_nn_helpers import assert_close, av_of, chain_names, compare_module

import autograd_viz as av
from autograd_viz.autograd import gradcheck

nn = av.nn
F = av.nn.functional


def _x(torch, *shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, dtype=torch.float64, generator=g)


# ----------------------------------------------------------------------------- Linear
@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 4), (4,), (2, 2, 3, 4)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch(torch, shape, bias):
    a, t = compare_module(torch, nn.Linear(4, 3, bias=bias), torch.nn.Linear(4, 3, bias=bias),
                          _x(torch, *shape))
    assert a.shape == tuple(t.shape)


@pytest.mark.parametrize("shape,bias,names", [
    ((5, 4), True, ["AddmmBackward0"]),
    ((5, 4), False, ["MmBackward0"]),
    ((2, 3, 4), True, ["ViewBackward0", "AddmmBackward0"]),
    ((2, 3, 4), False, ["UnsafeViewBackward0", "MmBackward0", "ViewBackward0"]),
])
def test_linear_grad_fn_names(torch, shape, bias, names):
    x = _x(torch, *shape).requires_grad_()
    t_mod = torch.nn.Linear(4, 3, bias=bias).double()
    a_mod = nn.Linear(4, 3, bias=bias).double()
    got = chain_names(a_mod(av_of(x)), len(names))
    assert got == names == chain_names(t_mod(x), len(names))


def test_linear_addmm_edges_are_bias_input_weight_t(torch):
    out = nn.Linear(4, 3)(av.randn(2, 4, requires_grad=True))
    edges = [f.name() if f is not None else None for f, _ in out.grad_fn.next_functions]
    assert edges == ["AccumulateGrad", "AccumulateGrad", "TBackward0"]


def test_linear_default_init_bounds():
    av.manual_seed(0)
    lin = nn.Linear(100, 50)
    bound = 1 / np.sqrt(100)
    w, b = lin.weight.detach().numpy(), lin.bias.detach().numpy()
    assert lin.weight.dtype is av.float32 and lin.weight.requires_grad
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(b).max() <= bound
    assert abs(w.std() - bound / np.sqrt(3)) < 0.05 * bound


@pytest.mark.parametrize("shape,msg", [
    ((2, 3), "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)"),
    ((2, 3, 3), "mat1 and mat2 shapes cannot be multiplied (6x3 and 4x5)"),
    ((3,), "mat1 and mat2 shapes cannot be multiplied (1x3 and 4x5)"),
])
def test_linear_wrong_input_shape_message(torch, shape, msg):
    with pytest.raises(RuntimeError) as ours:
        nn.Linear(4, 5)(av.randn(*shape))
    with pytest.raises(RuntimeError) as theirs:
        torch.nn.Linear(4, 5)(torch.randn(*shape))
    assert str(ours.value) == str(theirs.value) == msg


def test_linear_without_bias_wrong_shape_and_dtype():
    with pytest.raises(RuntimeError, match=r"\(2x3 and 4x5\)"):
        nn.Linear(4, 5, bias=False)(av.randn(2, 3))
    with pytest.raises(RuntimeError, match="mat1 and mat2 must have the same dtype, but got "
                                           "Double and Float"):
        nn.Linear(4, 5)(av.randn(2, 4, dtype=av.float64))


# ----------------------------------------------------------------------------- Conv2d
CONV_CASES = [
    dict(in_channels=3, out_channels=4, kernel_size=3),
    dict(in_channels=2, out_channels=3, kernel_size=(3, 2), stride=(2, 1), padding=(1, 2)),
    dict(in_channels=2, out_channels=2, kernel_size=3, dilation=2, padding=2, bias=False),
    dict(in_channels=4, out_channels=6, kernel_size=2, groups=2, stride=2),
    dict(in_channels=2, out_channels=3, kernel_size=4, padding="same"),
    dict(in_channels=2, out_channels=3, kernel_size=3, padding="valid"),
]


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("kw", CONV_CASES)
def test_conv2d_matches_torch(torch, kw):
    x = _x(torch, 2, kw["in_channels"], 9, 8)
    a, _ = compare_module(torch, nn.Conv2d(**kw), torch.nn.Conv2d(**kw), x)
    assert a.grad_fn.name() == "ConvolutionBackward0"


def test_conv2d_unbatched_and_repr(torch):
    kw = dict(in_channels=3, out_channels=2, kernel_size=3, padding=1)
    a, t = compare_module(torch, nn.Conv2d(**kw), torch.nn.Conv2d(**kw), _x(torch, 3, 5, 5))
    assert a.shape == (2, 5, 5)
    for k in CONV_CASES:
        assert repr(nn.Conv2d(**k)) == repr(torch.nn.Conv2d(**k))


def test_conv2d_next_functions_and_default_init(torch):
    av.manual_seed(1)
    conv = nn.Conv2d(3, 8, 5)
    out = conv(av.randn(1, 3, 6, 6, requires_grad=True))
    assert [f.name() for f, _ in out.grad_fn.next_functions] == ["AccumulateGrad"] * 3
    bound = 1 / np.sqrt(3 * 25)
    assert np.abs(conv.weight.detach().numpy()).max() <= bound
    assert np.abs(conv.bias.detach().numpy()).max() <= bound


def test_conv2d_double_backward_matches_torch(torch):
    x, w = _x(torch, 2, 2, 6, 6, seed=1), _x(torch, 3, 2, 3, 3, seed=2)
    xt, wt = x.clone().requires_grad_(), w.clone().requires_grad_()
    xa, wa = av_of(xt), av_of(wt)
    yt = torch.nn.functional.conv2d(xt, wt, stride=2, padding=1)
    ya = F.conv2d(xa, wa, stride=2, padding=1)
    gt = torch.autograd.grad((yt ** 2).sum(), (xt, wt), create_graph=True)
    ga = av.autograd.grad((ya ** 2).sum(), (xa, wa), create_graph=True)
    (gt[0].sum() + (gt[1] ** 2).sum()).backward()
    (ga[0].sum() + (ga[1] ** 2).sum()).backward()
    assert_close(xa.grad, xt.grad, rtol=1e-9)
    assert_close(wa.grad, wt.grad, rtol=1e-9)


def test_conv2d_gradcheck():
    av.manual_seed(2)
    x = av.randn(1, 2, 5, 4, dtype=av.float64, requires_grad=True)
    w = av.randn(2, 1, 2, 3, dtype=av.float64, requires_grad=True)
    b = av.randn(2, dtype=av.float64, requires_grad=True)
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2),
                                              groups=2), (x, w, b))


@pytest.mark.parametrize("shape", [(8, 8), (1, 1, 3, 8, 8), (1, 2, 8, 8), (2, 8, 8),
                                   (1, 3, 2, 2)])
def test_conv2d_bad_input_messages(torch, shape):
    with pytest.raises(RuntimeError) as ours:
        nn.Conv2d(3, 4, 3)(av.randn(*shape))
    with pytest.raises(RuntimeError) as theirs:
        torch.nn.Conv2d(3, 4, 3)(torch.randn(*shape))
    assert str(ours.value) == str(theirs.value)


def test_conv2d_bad_arguments(torch):
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="out_channels must be divisible by groups"):
        nn.Conv2d(4, 3, 3, groups=2)
    with pytest.raises(RuntimeError, match="padding='same' is not supported for strided"):
        F.conv2d(av.randn(1, 3, 8, 8), av.randn(4, 3, 3, 3), stride=2, padding="same")
    with pytest.raises(RuntimeError, match="Input type \\(double\\) and bias type \\(float\\)"):
        nn.Conv2d(3, 4, 3)(av.randn(1, 3, 8, 8, dtype=av.float64))


# ----------------------------------------------------------------------------- pooling
POOL_CASES = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 1), ceil_mode=True),
    dict(kernel_size=3, stride=2, dilation=2),
]


@pytest.mark.parametrize("kw", POOL_CASES)
@pytest.mark.parametrize("shape", [(2, 3, 9, 7), (3, 8, 8)])
def test_max_pool2d_matches_torch(torch, kw, shape):
    a, _ = compare_module(torch, nn.MaxPool2d(**kw), torch.nn.MaxPool2d(**kw), _x(torch, *shape))
    assert a.grad_fn.name() == "MaxPool2DWithIndicesBackward0"
    assert repr(nn.MaxPool2d(**kw)) == repr(torch.nn.MaxPool2d(**kw))


def test_max_pool2d_indices_and_overlapping_windows(torch):
    x = _x(torch, 2, 2, 7, 7)
    va, ia = F.max_pool2d(av_of(x), 3, 1, 1, return_indices=True)
    vt, it = torch.nn.functional.max_pool2d(x, 3, 1, 1, return_indices=True)
    assert_close(va, vt)
    assert ia.dtype is av.int64 and (ia.numpy() == it.numpy()).all()
    a, _ = compare_module(torch, nn.MaxPool2d(3, 1, 1), torch.nn.MaxPool2d(3, 1, 1), x)


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                                     count_include_pad=False),
                                dict(kernel_size=2, stride=1, divisor_override=3)])
@pytest.mark.parametrize("shape", [(2, 3, 9, 7), (3, 8, 8)])
def test_avg_pool2d_matches_torch(torch, kw, shape):
    a, _ = compare_module(torch, nn.AvgPool2d(**kw), torch.nn.AvgPool2d(**kw), _x(torch, *shape))
    assert a.grad_fn.name() == "AvgPool2DBackward0"


def test_pool_gradcheck():
    av.manual_seed(3)
    x = av.randn(1, 2, 5, 5, dtype=av.float64, requires_grad=True)
    assert gradcheck(lambda x: F.max_pool2d(x, 3, 2, 1), (x,))
    assert gradcheck(lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True,
                                            count_include_pad=False), (x,))


def test_pool_double_backward_gradcheck():
    av.manual_seed(4)
    x = av.randn(1, 1, 4, 4, dtype=av.float64, requires_grad=True)
    g = av.randn(1, 1, 2, 2, dtype=av.float64, requires_grad=True)
    assert gradcheck(lambda g: av.autograd.grad(F.avg_pool2d(x, 2), x, g, create_graph=True)[0],
                     (g,))
    assert gradcheck(lambda g: av.autograd.grad(F.max_pool2d(x, 2), x, g, create_graph=True)[0],
                     (g,))


@pytest.mark.parametrize("call", [
    lambda F, x: F.max_pool2d(x(3), 2),
    lambda F, x: F.max_pool2d(x(1, 1, 2, 2), 3),
    lambda F, x: F.max_pool2d(x(1, 1, 6, 6), 2, padding=2),
    lambda F, x: F.avg_pool2d(x(1, 1, 4, 4), 2, padding=2),
])
def test_pool_errors_match_torch(torch, call):
    with pytest.raises(RuntimeError) as ours:
        call(F, av.randn)
    with pytest.raises(RuntimeError) as theirs:
        call(torch.nn.functional, torch.randn)
    assert str(ours.value) == str(theirs.value)


def test_adaptive_avg_pool(torch):
    compare_module(torch, nn.AdaptiveAvgPool2d(2), torch.nn.AdaptiveAvgPool2d(2),
                   _x(torch, 2, 3, 6, 4))


# ----------------------------------------------------------------------------- activations
ACTS = [("ReLU", {}, "ReluBackward0"), ("LeakyReLU", {}, "LeakyReluBackward0"),
        ("LeakyReLU", {"negative_slope": 0.2}, "LeakyReluBackward0"),
        ("Sigmoid", {}, "SigmoidBackward0"), ("Tanh", {}, "TanhBackward0"),
        ("Softmax", {"dim": 1}, "SoftmaxBackward0"),
        ("LogSoftmax", {"dim": -1}, "LogSoftmaxBackward0"),
        ("Softmin", {"dim": 0}, None), ("ELU", {"alpha": 0.7}, "EluBackward0"),
        ("Softplus", {"beta": 2.0, "threshold": 1.0}, "SoftplusBackward0"),
        ("Hardtanh", {"min_val": -0.5, "max_val": 0.7}, "HardtanhBackward0"),
        ("ReLU6", {}, "HardtanhBackward0"), ("SiLU", {}, "SiluBackward0"),
        ("LogSigmoid", {}, "LogSigmoidBackward0")]


@pytest.mark.parametrize("name,kw,node", ACTS)
def test_activation_matches_torch(torch, name, kw, node):
    x = _x(torch, 3, 5) * 3
    a, t = compare_module(torch, getattr(nn, name)(**kw), getattr(torch.nn, name)(**kw), x)
    if node is not None:
        assert a.grad_fn.name() == node == t.grad_fn.name()
    assert repr(getattr(nn, name)(**kw)) == repr(getattr(torch.nn, name)(**kw))


def test_relu_inplace_module_and_softmax_default_dim(torch):
    x = av.randn(2, 3, requires_grad=True)
    y = nn.ReLU(inplace=True)(x * 1)
    assert y.grad_fn.name() == "ReluBackward0"
    y.sum().backward()
    assert x.grad is not None
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        out = nn.Softmax()(av.randn(2, 3))
    assert np.allclose(out.sum(1).numpy(), 1)


def test_flatten_unflatten(torch):
    x = _x(torch, 2, 3, 4, 5)
    a, t = compare_module(torch, nn.Flatten(), torch.nn.Flatten(), x)
    assert a.shape == (2, 60) and a.grad_fn.name() == "ViewBackward0"
    compare_module(torch, nn.Flatten(0, 2), torch.nn.Flatten(0, 2), x)
    compare_module(torch, nn.Unflatten(1, (2, 6)), torch.nn.Unflatten(1, (2, 6)),
                   _x(torch, 3, 12))
    assert repr(nn.Flatten()) == repr(torch.nn.Flatten())


# ----------------------------------------------------------------------------- dropout
def test_dropout_train_eval():
    av.manual_seed(0)
    d = nn.Dropout(0.25)
    x = av.ones(200, 100, requires_grad=True)
    y = d(x)
    assert y.grad_fn.name() == "MulBackward0"
    vals = y.detach().numpy()
    kept = vals[vals != 0]
    assert np.allclose(kept, 1 / 0.75)
    assert abs((vals == 0).mean() - 0.25) < 0.02
    y.sum().backward()
    assert np.array_equal(x.grad.numpy(), vals)
    d.eval()
    assert d(x) is x
    assert F.dropout(x, 0.5, training=False) is x
    assert (F.dropout(x, 1.0).detach().numpy() == 0).all()
    assert repr(d) == "Dropout(p=0.25, inplace=False)"
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but "
                                         "got 1.5"):
        nn.Dropout(1.5)


# ----------------------------------------------------------------------------- batch norm
@pytest.mark.parametrize("cls,shape", [("BatchNorm1d", (6, 3)), ("BatchNorm1d", (4, 3, 5)),
                                       ("BatchNorm2d", (4, 3, 5, 2))])
@pytest.mark.parametrize("kw", [{}, {"momentum": None}, {"affine": False},
                                {"track_running_stats": False}, {"momentum": 0.3, "eps": 1e-3}])
def test_batchnorm_train_then_eval_matches_torch(torch, cls, shape, kw):
    a_mod, t_mod = getattr(nn, cls)(3, **kw), getattr(torch.nn, cls)(3, **kw)
    if kw.get("affine", True):
        with torch.no_grad():
            t_mod.weight.uniform_(0.5, 1.5)
            t_mod.bias.uniform_(-0.5, 0.5)
    for step in range(3):
        a, t = compare_module(torch, a_mod, t_mod, _x(torch, *shape, seed=step) * 2 + 1)
        assert a.grad_fn.name() == "NativeBatchNormBackward0"
        for name, buf in t_mod.named_buffers():
            assert_close(dict(a_mod.named_buffers())[name], buf, what=name)
    a_mod.eval()
    t_mod.eval()
    x = _x(torch, *shape, seed=9)
    if kw.get("track_running_stats", True):
        t_mod.zero_grad()
        a_mod.zero_grad()
        compare_module(torch, a_mod, t_mod, x)
    assert repr(a_mod) == repr(t_mod)


def test_batchnorm_errors(torch):
    with pytest.raises(ValueError, match=r"Expected more than 1 value per channel when training"):
        nn.BatchNorm1d(3)(av.randn(1, 3))
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        nn.BatchNorm1d(3)(av.randn(4, 3, 2, 2))
    with pytest.raises(ValueError, match=r"expected 4D input \(got 2D input\)"):
        nn.BatchNorm2d(3)(av.randn(4, 3))
    with pytest.raises(RuntimeError, match="running_mean should contain 5 elements not 3"):
        nn.BatchNorm1d(3)(av.randn(4, 5))
    assert nn.BatchNorm1d(3).eval()(av.randn(1, 3)).shape == (1, 3)


def test_batchnorm_gradcheck_train_mode():
    av.manual_seed(5)
    x = av.randn(4, 2, 3, dtype=av.float64, requires_grad=True)
    w = av.randn(2, dtype=av.float64, requires_grad=True)
    b = av.randn(2, dtype=av.float64, requires_grad=True)
    assert gradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), (x, w, b))


def test_batchnorm_old_state_dict_without_num_batches_tracked():
    bn = nn.BatchNorm1d(2)
    sd = bn.state_dict()
    del sd["num_batches_tracked"]
    sd._metadata[""]["version"] = 1
    bn.load_state_dict(sd)
    assert "num_batches_tracked" in bn.state_dict()


# ----------------------------------------------------------------------------- embedding
@pytest.mark.parametrize("kw", [{}, {"padding_idx": 1}, {"padding_idx": -2},
                                {"scale_grad_by_freq": True}])
def test_embedding_matches_torch(torch, kw):
    idx = torch.tensor([[1, 2, 1, 4], [4, 3, 2, 9]])
    a_mod, t_mod = nn.Embedding(10, 3, **kw), torch.nn.Embedding(10, 3, **kw)
    a, t = compare_module(torch, a_mod, t_mod, idx)
    assert a.grad_fn.name() == "EmbeddingBackward0"
    assert repr(a_mod) == repr(t_mod)


def test_embedding_init_and_errors(torch):
    e = nn.Embedding(5, 2, padding_idx=0)
    assert (e.weight.detach().numpy()[0] == 0).all()
    with pytest.raises(IndexError, match="index out of range in self"):
        e(av.tensor([7]))
    with pytest.raises(RuntimeError, match="'indices' to have one of the following scalar "
                                           "types: Long, Int; but got torch.FloatTensor"):
        e(av.tensor([1.0]))
    with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
        nn.Embedding(5, 2, padding_idx=7)
    pre = nn.Embedding.from_pretrained(av.eye(3))
    assert not pre.weight.requires_grad and pre(av.tensor([2])).tolist() == [[0, 0, 1]]
