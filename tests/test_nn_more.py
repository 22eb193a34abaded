"""GELU, Mish, Hardswish, GLU, layer_norm / LayerNorm, conv1d / Conv1d, cosine_similarity,
pairwise_distance and the optimizers Adagrad, Adamax, NAdam, RAdam, Adadelta, against PyTorch:
values, first and second order gradients (float64), grad_fn names and edges, module
parameters / state_dict / repr, errors, gradcheck, and optimizer trajectories."""
from __future__ import annotations

import math

import numpy as np
import pytest
from test_nn_helpers import assert_close, av_of, compare_module
from test_optim_optimizers import _models, _steps

import autograd_viz as av
from autograd_viz.autograd import gradcheck, gradgradcheck

nn = av.nn
F = av.nn.functional
optim = av.optim

RTOL, ATOL = 1e-9, 1e-11


def _rand(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


def _edges(node) -> list:
    return [None if f is None else f.name() for f, _ in node.next_functions]


def _check_fn(torch, fa, ft, arrays, *, second_order=True, rtol=RTOL, atol=ATOL):
    """Compare ``fa`` (autograd_viz) with ``ft`` (torch) on float64 copies of ``arrays``:
    output, grad_fn name and edges, first order grads (create_graph) and second order."""
    A = [av.tensor(a, requires_grad=True) for a in arrays]
    T = [torch.tensor(a, requires_grad=True) for a in arrays]
    ya, yt = fa(*A), ft(*T)
    assert_close(ya, yt, rtol, atol, "output")
    assert ya.dtype.name == str(yt.dtype).replace("torch.", "")
    assert ya.grad_fn.name() == type(yt.grad_fn).__name__
    assert _edges(ya.grad_fn) == [None if f is None else type(f).__name__
                                  for f, _ in yt.grad_fn.next_functions]
    w = _rand(*yt.shape, seed=7)
    ga = av.autograd.grad((ya * av.tensor(w)).sum(), A, create_graph=True)
    gt = torch.autograd.grad((yt * torch.tensor(w)).sum(), T, create_graph=True)
    for i, (a, t) in enumerate(zip(ga, gt)):
        assert_close(a, t, rtol, atol, f"grad {i}")
    if second_order:
        sa = sum((g * g).sum() for g in ga)
        st = sum((g * g).sum() for g in gt)
        gga = av.autograd.grad(sa, A, allow_unused=True)
        ggt = torch.autograd.grad(st, T, allow_unused=True)
        for i, (a, t) in enumerate(zip(gga, ggt)):
            if t is None or t._is_zerotensor():
                assert a is None or not np.any(a.numpy())
            else:
                assert_close(a, t, 1e-7, 1e-9, f"second order grad {i}")
    return ya, yt


# ----------------------------------------------------------------------------- activations
ACTS = [
    ("gelu", {}),
    ("gelu", {"approximate": "tanh"}),
    ("mish", {}),
    ("hardswish", {}),
    ("glu", {}),
    ("glu", {"dim": 1}),
]


@pytest.mark.parametrize("name,kw", ACTS)
def test_activation_values_grads_and_nodes(torch, name, kw):
    x = _rand(3, 4, 6) * 3
    x[0, 0, :3] = [-3.0, 3.0, 0.0]  # hardswish's kinks
    ya, _ = _check_fn(torch, lambda a: getattr(F, name)(a, **kw),
                      lambda t: getattr(torch.nn.functional, name)(t, **kw), [x])
    assert ya.shape == ((3, 4, 3) if name == "glu" and not kw else
                        (3, 2, 6) if name == "glu" else (3, 4, 6))


@pytest.mark.parametrize("name,kw", ACTS)
def test_activation_float32(torch, name, kw):
    x = _rand(5, 4).astype(np.float32) * 4
    ya = getattr(F, name)(av.tensor(x), **kw)
    yt = getattr(torch.nn.functional, name)(torch.tensor(x), **kw)
    assert ya.dtype.name == "float32"
    assert_close(ya, yt, 1e-5, 1e-6)


def test_gelu_double_backward_node(torch):
    x = av.tensor(_rand(4), requires_grad=True)
    (g,) = av.autograd.grad(F.gelu(x).sum(), x, create_graph=True)
    xt = torch.tensor(_rand(4), requires_grad=True)
    (gt,) = torch.autograd.grad(torch.nn.functional.gelu(xt).sum(), xt, create_graph=True)
    assert g.grad_fn.name() == type(gt.grad_fn).__name__ == "GeluBackwardBackward0"
    assert _edges(g.grad_fn) == [None, "AccumulateGrad"]
    assert F.gelu(x, approximate="tanh").grad_fn._saved_approximate == "tanh"


def test_activation_errors(torch):
    x = av.randn(2, 3)
    with pytest.raises(RuntimeError, match="approximate argument must be either none or tanh"):
        F.gelu(x, approximate="foo")
    with pytest.raises(RuntimeError, match="Halving dimension must be even, but dimension 1 "
                                           "is size 3"):
        F.glu(x)
    with pytest.raises(RuntimeError, match="glu does not support scalars"):
        F.glu(av.tensor(1.0))


def test_activation_inplace_without_graph():
    x = av.tensor([-4.0, -1.0, 0.5, 5.0])
    expected = F.hardswish(x.clone())
    assert F.hardswish(x, inplace=True) is x
    assert_close(x, expected)
    y = av.tensor([-1.0, 2.0])
    assert F.mish(y, inplace=True) is y


@pytest.mark.parametrize("cls,args,text", [
    ("GELU", (), "GELU(approximate='none')"),
    ("GELU", ("tanh",), "GELU(approximate='tanh')"),
    ("Mish", (), "Mish()"),
    ("Mish", (True,), "Mish(inplace=True)"),
    ("Hardswish", (True,), "Hardswish()"),
    ("GLU", (), "GLU(dim=-1)"),
    ("GLU", (1,), "GLU(dim=1)"),
])
def test_activation_modules(torch, cls, args, text):
    a, t = getattr(nn, cls)(*args), getattr(torch.nn, cls)(*args)
    assert repr(a) == repr(t) == text
    x = torch.tensor(_rand(3, 4), dtype=torch.float64)
    if args and args[0] is True:  # in place: no leaf input, no graph
        xa = av_of(x)
        assert a(xa) is xa
        assert_close(xa, t(x))
    else:
        compare_module(torch, a, t, x, rtol=RTOL, atol=ATOL)


# ----------------------------------------------------------------------------- layer norm
@pytest.mark.parametrize("shape,norm,affine", [
    ((2, 3, 4), (4,), "wb"),
    ((2, 3, 4), (3, 4), "wb"),
    ((2, 3, 4), (4,), "w"),
    ((2, 3, 4), (4,), ""),
    ((5,), (5,), "wb"),
])
def test_layer_norm_functional(torch, shape, norm, affine):
    arrays = [_rand(*shape) * 2 + 1]
    if "w" in affine:
        arrays.append(_rand(*norm, seed=1))
    if "b" in affine:
        arrays.append(_rand(*norm, seed=2))

    def call(mod, *ts):
        w = ts[1] if "w" in affine else None
        b = ts[2] if "b" in affine else None
        return mod.layer_norm(ts[0], norm, w, b, 1e-5)

    _check_fn(torch, lambda *a: call(F, *a), lambda *t: call(torch.nn.functional, *t), arrays)


def test_layer_norm_bias_only_first_order(torch):
    # (torch's own double backward fails for a bias without weight, so first order only)
    ya, _ = _check_fn(torch, lambda x, b: F.layer_norm(x, (4,), None, b),
                      lambda x, b: torch.nn.functional.layer_norm(x, (4,), None, b),
                      [_rand(3, 4), _rand(4, seed=3)], second_order=False)
    assert _edges(ya.grad_fn) == ["AccumulateGrad", None, "AccumulateGrad"]


def test_layer_norm_saved_and_errors(torch):
    x = av.tensor(_rand(2, 3, 4), requires_grad=True)
    w = av.tensor(_rand(4), requires_grad=True)
    node = F.layer_norm(x, (4,), w).grad_fn
    assert node._saved_normalized_shape == [4]
    assert node._saved_result1.shape == (2, 3, 1)
    xt = torch.tensor(_rand(2, 3, 4))
    nt = torch.nn.functional.layer_norm(xt.requires_grad_(), (4,)).grad_fn
    assert_close(node._saved_result2, nt._saved_result2, 1e-6, 1e-8)
    with pytest.raises(RuntimeError, match=r"Given normalized_shape=\[3\], expected input with "
                                           r"shape \[\*, 3\], but got input of size\[2, 3, 4\]"):
        F.layer_norm(x, (3,))
    with pytest.raises(RuntimeError, match=r"Expected weight to be of same shape as "
                                           r"normalized_shape, but got weight of shape \[3\] "
                                           r"and normalized_shape = \[4\]"):
        F.layer_norm(x, (4,), av.ones(3))


@pytest.mark.parametrize("args,kw", [((4,), {}), (((3, 4),), {"eps": 1e-3}),
                                     ((4,), {"elementwise_affine": False}),
                                     ((4,), {"bias": False})])
def test_layer_norm_module(torch, args, kw):
    a, t = nn.LayerNorm(*args, **kw), torch.nn.LayerNorm(*args, **kw)
    assert repr(a) == repr(t)
    assert a.normalized_shape == t.normalized_shape
    assert list(a.state_dict()) == list(t.state_dict())
    for (na, pa), (nt_, pt) in zip(a.named_parameters(), t.named_parameters()):
        assert na == nt_ and tuple(pa.shape) == tuple(pt.shape)
        assert_close(pa, pt)  # ones / zeros
    with torch.no_grad():
        for p in t.parameters():
            p.normal_()
    compare_module(torch, a, t, torch.randn(2, 3, 4, dtype=torch.float64), rtol=RTOL,
                   atol=ATOL)


# ----------------------------------------------------------------------------- conv1d
CONV1D = [
    ({}, (2, 4, 9), (6, 4, 3), True),
    ({"stride": 2, "padding": 2, "dilation": 2, "groups": 2}, (2, 4, 9), (6, 2, 3), True),
    ({"padding": "same", "dilation": 3}, (2, 4, 9), (6, 4, 4), False),
    ({"padding": "same", "dilation": 2}, (2, 4, 9), (6, 4, 4), True),
    ({"padding": "valid"}, (2, 4, 9), (6, 4, 4), True),
    ({"padding": (1,), "stride": (3,)}, (4, 9), (5, 4, 2), True),  # unbatched
]


@pytest.mark.parametrize("kw,xs,ws,bias", CONV1D)
def test_conv1d_functional(torch, kw, xs, ws, bias):
    arrays = [_rand(*xs), _rand(*ws, seed=1)] + ([_rand(ws[0], seed=2)] if bias else [])

    def call(mod, x, w, b=None):
        return mod.conv1d(x, w, b, **kw)

    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's note on 'same' with an even kernel
        ya, yt = _check_fn(torch, lambda *a: call(F, *a),
                           lambda *t: call(torch.nn.functional, *t), arrays)
    if len(xs) == 3:
        assert ya.grad_fn.name() == "ConvolutionBackward0"
        odd_same = kw.get("padding") == "same" and (ws[2] - 1) * kw["dilation"] % 2
        assert _edges(ya.grad_fn) == ["ConstantPadNdBackward0" if odd_same else
                                      "AccumulateGrad", "AccumulateGrad",
                                      "AccumulateGrad" if bias else None]


def test_conv1d_errors(torch):
    x = av.randn(2, 4, 5)
    with pytest.raises(RuntimeError, match="Expected 2D \\(unbatched\\) or 3D \\(batched\\) "
                                           "input to conv1d"):
        F.conv1d(av.randn(4), av.randn(5, 4, 2))
    with pytest.raises(RuntimeError, match=r"Given groups=1, weight of size \[5, 3, 2\], "
                                           r"expected input\[2, 4, 5\] to have 3 channels, but "
                                           r"got 4 channels instead"):
        F.conv1d(x, av.randn(5, 3, 2))
    with pytest.raises(RuntimeError, match="padding='same' is not supported for strided"):
        F.conv1d(x, av.randn(5, 4, 2), padding="same", stride=2)
    with pytest.raises(ValueError, match="padding='same' is not supported for strided"):
        nn.Conv1d(4, 5, 2, stride=2, padding="same")


@pytest.mark.parametrize("args,kw", [
    ((3, 5, 2), {}),
    ((4, 6, 3), {"stride": 2, "padding": 1, "dilation": 2, "groups": 2, "bias": False}),
    ((3, 5, 3), {"padding": "same"}),
])
def test_conv1d_module(torch, args, kw):
    a, t = nn.Conv1d(*args, **kw), torch.nn.Conv1d(*args, **kw)
    assert repr(a) == repr(t)
    for attr in ("kernel_size", "stride", "padding", "dilation", "output_padding", "groups",
                 "transposed", "padding_mode"):
        assert getattr(a, attr) == getattr(t, attr), attr
    assert list(a.state_dict()) == list(t.state_dict())
    for (na, pa), (nt_, pt) in zip(a.named_parameters(), t.named_parameters()):
        assert na == nt_ and tuple(pa.shape) == tuple(pt.shape)
    compare_module(torch, a, t, torch.randn(2, args[0], 8, dtype=torch.float64), rtol=RTOL,
                   atol=ATOL)


def test_conv1d_init_distribution():
    av.manual_seed(0)
    m = nn.Conv1d(16, 32, 5)
    bound = 1 / math.sqrt(16 * 5)  # kaiming_uniform_(a=sqrt(5)) gives U(-1/sqrt(fan_in), ..)
    w, b = m.weight.detach().numpy(), m.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.1 * bound
    assert np.abs(b).max() <= bound


# ----------------------------------------------------------------------------- distances
@pytest.mark.parametrize("s1,s2,kw", [
    ((2, 3, 4), (2, 3, 4), {}),
    ((2, 3, 4), (3, 4), {"dim": -1}),
    ((5, 4), (5, 4), {"dim": 0, "eps": 1e-3}),
])
def test_cosine_similarity(torch, s1, s2, kw):
    ya, _ = _check_fn(torch, lambda a, b: F.cosine_similarity(a, b, **kw),
                      lambda a, b: torch.nn.functional.cosine_similarity(a, b, **kw),
                      [_rand(*s1), _rand(*s2, seed=1)])
    names, node = [], ya.grad_fn
    while node is not None:  # SumBackward1 <- MulBackward0 <- DivBackward0 <- ...
        names.append(node.name())
        node = node.next_functions[0][0] if node.next_functions else None
    assert names == ["SumBackward1", "MulBackward0", "DivBackward0", "AccumulateGrad"]
    div = ya.grad_fn.next_functions[0][0].next_functions[0][0]
    assert [f.name() for f, _ in div.next_functions] == ["AccumulateGrad", "CloneBackward0"]
    assert div.next_functions[1][0].next_functions[0][0].name() == "LinalgVectorNormBackward0"


def test_cosine_similarity_zero_vector_and_module(torch):
    x = av.zeros(3, 4)
    assert_close(F.cosine_similarity(x, av.ones(3, 4)), torch.zeros(3, dtype=torch.float32))
    a, t = nn.CosineSimilarity(dim=0), torch.nn.CosineSimilarity(dim=0)
    assert repr(a) == repr(t) == "CosineSimilarity()"
    compare_module(torch, a, t, torch.randn(4, 3, dtype=torch.float64),
                   torch.randn(4, 3, dtype=torch.float64), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("kw,s2", [({}, (5, 4)), ({"p": 3.0, "keepdim": True}, (5, 4)),
                                   ({"p": 1.0}, (4,)), ({"p": 1.5, "eps": 1e-3}, (5, 4))])
def test_pairwise_distance(torch, kw, s2):
    ya, _ = _check_fn(torch, lambda a, b: F.pairwise_distance(a, b, **kw),
                      lambda a, b: torch.nn.functional.pairwise_distance(a, b, **kw),
                      [_rand(5, 4), _rand(*s2, seed=1)])
    assert ya.grad_fn.name() == "NormBackward1"
    assert _edges(ya.grad_fn) == ["AddBackward1"]
    a, t = nn.PairwiseDistance(**kw), torch.nn.PairwiseDistance(**kw)
    assert repr(a) == repr(t) and a.norm == t.norm and a.keepdim == t.keepdim


# ----------------------------------------------------------------------------- gradcheck
@pytest.mark.parametrize("fn,shapes", [
    (lambda x: F.gelu(x), [(3, 4)]),
    (lambda x: F.gelu(x, approximate="tanh"), [(3, 4)]),
    (lambda x: F.mish(x), [(3, 4)]),
    (lambda x: F.hardswish(x), [(3, 4)]),
    (lambda x: F.glu(x, 0), [(4, 3)]),
    (lambda x, w, b: F.layer_norm(x, (4,), w, b), [(3, 4), (4,), (4,)]),
    (lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1, groups=2), [(2, 4, 7), (4, 2, 3),
                                                                        (4,)]),
    (lambda a, b: F.cosine_similarity(a, b), [(3, 4), (3, 4)]),
    (lambda a, b: F.pairwise_distance(a, b, p=3.0), [(3, 4), (3, 4)]),
], ids=["gelu", "gelu_tanh", "mish", "hardswish", "glu", "layer_norm", "conv1d", "cosine",
        "pairwise"])
def test_gradcheck(fn, shapes):
    inputs = [av.tensor(_rand(*s, seed=i) + (0.1 if i == 0 else 0), requires_grad=True)
              for i, s in enumerate(shapes)]
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


# ----------------------------------------------------------------------------- optimizers
OPT_CONFIGS = [
    ("Adagrad", {}),
    ("Adagrad", {"lr": 0.05, "lr_decay": 0.1, "weight_decay": 0.1,
                 "initial_accumulator_value": 0.5}),
    ("Adagrad", {"lr": 0.05, "maximize": True, "eps": 1e-6}),
    ("Adamax", {}),
    ("Adamax", {"lr": 0.01, "betas": (0.8, 0.9), "weight_decay": 0.1}),
    ("Adamax", {"lr": 0.01, "maximize": True}),
    ("NAdam", {}),
    ("NAdam", {"lr": 0.01, "weight_decay": 0.1, "momentum_decay": 0.01}),
    ("NAdam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("NAdam", {"lr": 0.01, "maximize": True}),
    ("RAdam", {}),
    ("RAdam", {"lr": 0.01, "betas": (0.5, 0.6), "weight_decay": 0.1}),  # rho_t > 5 early
    ("RAdam", {"lr": 0.01, "betas": (0.5, 0.6), "weight_decay": 0.1,
               "decoupled_weight_decay": True}),
    ("RAdam", {"lr": 0.01, "maximize": True}),
    ("Adadelta", {}),
    ("Adadelta", {"lr": 0.5, "rho": 0.8, "eps": 1e-4, "weight_decay": 0.1}),
    ("Adadelta", {"lr": 0.5, "maximize": True}),
]


@pytest.mark.parametrize("name,kw", OPT_CONFIGS)
def test_optimizer_trajectory_matches_torch(torch, name, kw):
    a, t = _models(torch)
    oa = getattr(optim, name)(a.parameters(), foreach=False, **kw)
    ot = getattr(torch.optim, name)(t.parameters(), foreach=False, **kw)  # single-tensor path
    assert oa.defaults == ot.defaults
    _steps(torch, a, t, oa, ot, 6, rtol=1e-6, atol=1e-12)
    sa, st = oa.state_dict(), ot.state_dict()
    assert sa["param_groups"] == st["param_groups"]
    assert sa["state"].keys() == st["state"].keys()
    for k in st["state"]:
        assert list(sa["state"][k]) == list(st["state"][k])
        for key, v in st["state"][k].items():
            assert_close(sa["state"][k][key], v, 1e-6, 1e-12, what=key)
            assert sa["state"][k][key].dtype.name == str(v.dtype).replace("torch.", "")
    assert repr(oa) == repr(ot)


@pytest.mark.parametrize("name", ["Adagrad", "NAdam", "RAdam"])
def test_optimizer_state_dict_resume(torch, name):
    a, t = _models(torch)
    oa, ot = getattr(optim, name)(a.parameters(), lr=0.01), getattr(torch.optim, name)(
        t.parameters(), lr=0.01)
    _steps(torch, a, t, oa, ot, 3, rtol=1e-6, atol=1e-12)
    fresh = getattr(optim, name)(a.parameters(), lr=0.01)
    fresh.load_state_dict(oa.state_dict())
    _steps(torch, a, t, fresh, ot, 2, start=3, rtol=1e-6, atol=1e-12)


def test_optimizer_param_groups(torch):
    a, t = _models(torch)
    oa = optim.Adamax([{"params": a[0].parameters()},
                       {"params": a[2].parameters(), "lr": 0.05, "betas": (0.5, 0.7)}],
                      lr=0.01)
    ot = torch.optim.Adamax([{"params": t[0].parameters()},
                             {"params": t[2].parameters(), "lr": 0.05, "betas": (0.5, 0.7)}],
                            lr=0.01)
    _steps(torch, a, t, oa, ot, 3, rtol=1e-6, atol=1e-12)


def test_adagrad_state_created_at_construction(torch):
    a, t = _models(torch)
    oa, ot = optim.Adagrad(a.parameters(), initial_accumulator_value=0.2), torch.optim.Adagrad(
        t.parameters(), initial_accumulator_value=0.2)
    assert len(oa.state) == len(ot.state) == 4
    assert oa.state_dict()["state"].keys() == ot.state_dict()["state"].keys()
    assert_close(oa.state[a[0].weight]["sum"], ot.state[t[0].weight]["sum"])


@pytest.mark.parametrize("name,kw,msg", [
    ("Adagrad", {"lr_decay": -1}, "Invalid lr_decay value: -1"),
    ("Adagrad", {"initial_accumulator_value": -1}, "Invalid initial_accumulator_value value"),
    ("Adamax", {"betas": (1.0, 0.9)}, "Invalid beta parameter at index 0: 1.0"),
    ("NAdam", {"momentum_decay": -1}, "Invalid momentum_decay value: -1"),
    ("RAdam", {"eps": -1}, "Invalid epsilon value: -1"),
    ("Adadelta", {"rho": 1.5}, "Invalid rho value: 1.5"),
])
def test_optimizer_argument_errors(torch, name, kw, msg):
    p = [nn.Parameter(av.ones(2))]
    with pytest.raises(ValueError, match=msg):
        getattr(optim, name)(p, **kw)
    with pytest.raises(ValueError, match=msg):
        getattr(torch.optim, name)([torch.nn.Parameter(torch.ones(2))], **kw)
