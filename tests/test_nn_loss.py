"""Losses against PyTorch (values, input/target grads, grad_fn names), gradcheck, and
PyTorch's errors for bad targets."""
from __future__ import annotations

import numpy as np
import pytest
from test_nn_helpers import assert_close, av_of, chain_names

import autograd_viz as av
from autograd_viz.autograd import gradcheck

nn = av.nn
F = av.nn.functional


def _gen(torch, seed=0):
    return torch.Generator().manual_seed(seed)


def _run(torch, name, kw, x, t, *, target_grad=False):
    """Loss module ``name`` on (x, t) in both libraries; compare value and grads."""
    xt = x.clone().requires_grad_()
    tt = t.clone().requires_grad_(target_grad)
    xa, ta = av_of(xt), av_of(tt)
    akw = {k: (av_of(v) if hasattr(v, "detach") else v) for k, v in kw.items()}
    lt = getattr(torch.nn, name)(**kw)(xt, tt)
    la = getattr(nn, name)(**akw)(xa, ta)
    assert_close(la, lt, what="loss")
    g = torch.rand(lt.shape, dtype=torch.float64, generator=_gen(torch, 7)) + 0.5
    lt.backward(g)
    la.backward(av_of(g))
    assert_close(xa.grad, xt.grad, what="input grad")
    if target_grad:
        assert_close(ta.grad, tt.grad, what="target grad")
    return la, lt


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_l1_smooth_huber(torch, reduction):
    g = _gen(torch)
    x, t = torch.randn(4, 5, dtype=torch.float64, generator=g), torch.randn(4, 5,
                                                                          dtype=torch.float64,
                                                                          generator=g)
    la, lt = _run(torch, "MSELoss", {"reduction": reduction}, x, t, target_grad=True)
    assert la.grad_fn.name() == "MseLossBackward0" == lt.grad_fn.name()
    la, lt = _run(torch, "L1Loss", {"reduction": reduction}, x, t, target_grad=True)
    assert chain_names(la, 2) == chain_names(lt, 2)
    _run(torch, "SmoothL1Loss", {"reduction": reduction, "beta": 0.7}, x, t, target_grad=True)
    _run(torch, "HuberLoss", {"reduction": reduction, "delta": 0.6}, x, t, target_grad=True)


def test_mse_broadcast_warns_like_torch(torch):
    x, t = av.randn(3, 5, requires_grad=True), av.randn(3, 1)
    with pytest.warns(UserWarning, match="Using a target size .* that is different to the "
                                         "input size"):
        F.mse_loss(x, t).backward()
    assert x.grad.shape == (3, 5)
    with pytest.raises(RuntimeError, match=r"The size of tensor a \(3\) must match the size of "
                                           r"tensor b \(4\) at non-singleton dimension 0"):
        with pytest.warns(UserWarning):
            F.mse_loss(av.randn(3, 5), av.randn(4, 1))
    with pytest.raises(ValueError, match="foo is not a valid value for reduction"):
        F.mse_loss(x, x, reduction="foo")


CE_CASES = [
    ({}, (5, 4), (5,)),
    ({"reduction": "sum"}, (5, 4), (5,)),
    ({"reduction": "none"}, (5, 4), (5,)),
    ({"ignore_index": 1}, (6, 4), (6,)),
    ({"weight": "w"}, (6, 4), (6,)),
    ({"weight": "w", "ignore_index": 2, "reduction": "mean"}, (6, 4), (6,)),
    ({"label_smoothing": 0.2}, (5, 4), (5,)),
    ({"label_smoothing": 0.1, "weight": "w", "ignore_index": 0}, (6, 4), (6,)),
    ({"label_smoothing": 0.1, "reduction": "none"}, (6, 4), (6,)),
    ({}, (4,), ()),
    ({}, (2, 4, 3, 3), (2, 3, 3)),
    ({"reduction": "none", "weight": "w"}, (2, 4, 3, 3), (2, 3, 3)),
    ({}, (2, 4, 5), (2, 5)),
    ({"reduction": "none"}, (2, 4, 3, 2, 2), (2, 3, 2, 2)),
]


@pytest.mark.parametrize("kw,xs,ts", CE_CASES)
def test_cross_entropy_and_nll_class_indices(torch, kw, xs, ts):
    g = _gen(torch, 1)
    x = torch.randn(*xs, dtype=torch.float64, generator=g)
    t = torch.randint(0, 4, ts, generator=g)
    kw = dict(kw)
    if kw.get("weight") == "w":
        kw["weight"] = torch.rand(4, dtype=torch.float64, generator=g) + 0.5
    la, lt = _run(torch, "CrossEntropyLoss", kw, x, t)
    if not kw.get("label_smoothing"):
        assert chain_names(la, 3) == chain_names(lt, 3)
    nll_kw = {k: v for k, v in kw.items() if k != "label_smoothing"}
    la, lt = _run(torch, "NLLLoss", nll_kw, torch.log_softmax(x, 0 if x.ndim == 1 else 1), t)
    assert la.grad_fn.name() == lt.grad_fn.name()


@pytest.mark.parametrize("kw", [{}, {"reduction": "sum"}, {"reduction": "none"},
                                {"label_smoothing": 0.3}, {"weight": "w"}])
@pytest.mark.parametrize("xs", [(5, 4), (2, 4, 3)])
def test_cross_entropy_probabilities(torch, kw, xs):
    g = _gen(torch, 2)
    x = torch.randn(*xs, dtype=torch.float64, generator=g)
    t = torch.softmax(torch.randn(*xs, dtype=torch.float64, generator=g), 1)
    kw = dict(kw)
    if kw.get("weight") == "w":
        kw["weight"] = torch.rand(4, dtype=torch.float64, generator=g) + 0.5
    la, lt = _run(torch, "CrossEntropyLoss", kw, x, t, target_grad=True)
    assert chain_names(la, 1)[-1] == chain_names(lt, 1)[-1].replace("DivBackward1",
                                                                    "DivBackward0")


def test_cross_entropy_all_ignored_is_nan():
    loss = F.cross_entropy(av.randn(3, 5), av.tensor([-100, -100, -100]))
    assert np.isnan(loss.item())


CE_ERRORS = [
    (lambda m, x: x.cross_entropy(m.randn(3, 5), m.rand(3))),
    (lambda m, x: x.cross_entropy(m.randn(3, 5), m.rand(3, 4))),
    (lambda m, x: x.cross_entropy(m.randn(3, 5), m.tensor([1, 2, 3], dtype=m.int32))),
    (lambda m, x: x.cross_entropy(m.randn(3, 5), m.tensor([1, 2, 3, 4]))),
    (lambda m, x: x.cross_entropy(m.randn(3, 5), m.rand(4))),
    (lambda m, x: x.cross_entropy(m.randn(3, 5), m.tensor([1, 2, 7]))),
    (lambda m, x: x.cross_entropy(m.randn(3, 5), m.randint(0, 5, (3, 5)))),
    (lambda m, x: x.cross_entropy(m.randn(3, 5), m.randint(0, 5, (3, 2)))),
    (lambda m, x: x.nll_loss(m.randn(3, 5), m.tensor([1, 2, 3]), weight=m.ones(4))),
    (lambda m, x: x.nll_loss(m.randn(3, 5, 2), m.tensor([1, 2, 3]))),
    (lambda m, x: x.binary_cross_entropy(m.rand(3), m.rand(4))),
    (lambda m, x: x.binary_cross_entropy(m.rand(3) + 1, m.rand(3))),
    (lambda m, x: x.binary_cross_entropy_with_logits(m.rand(3), m.rand(4))),
    (lambda m, x: x.cross_entropy(m.randn(3, 5), m.tensor([1, 2, 3]), reduction="x")),
    (lambda m, x: x.cross_entropy(m.randn(2, 3), [0, 1])),
    (lambda m, x: x.cross_entropy([0.0], m.tensor([0]))),
    (lambda m, x: x.nll_loss(m.randn(2, 3), [0, 1])),
    (lambda m, x: x.nll_loss([0.0], m.tensor([0]))),
]


@pytest.mark.parametrize("call", CE_ERRORS)
def test_loss_errors_match_torch(torch, call):
    with pytest.raises(Exception) as theirs:
        call(torch, torch.nn.functional)
    with pytest.raises(type(theirs.value)) as ours:
        call(av, F)
    assert str(ours.value).replace("autograd_viz.Size", "torch.Size") == str(theirs.value)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_bce_and_bce_with_logits(torch, reduction, weighted):
    g = _gen(torch, 3)
    p = torch.rand(4, 3, dtype=torch.float64, generator=g) * 0.98 + 0.01
    t = torch.rand(4, 3, dtype=torch.float64, generator=g)
    kw = {"reduction": reduction}
    if weighted:
        kw["weight"] = torch.rand(3, dtype=torch.float64, generator=g) + 0.5
    la, lt = _run(torch, "BCELoss", kw, p, t, target_grad=True)
    assert la.grad_fn.name() == "BinaryCrossEntropyBackward0" == lt.grad_fn.name()
    logits = torch.randn(4, 3, dtype=torch.float64, generator=g) * 4
    if weighted:
        kw["pos_weight"] = torch.rand(3, dtype=torch.float64, generator=g) + 0.5
    la, lt = _run(torch, "BCEWithLogitsLoss", kw, logits, t, target_grad=True)
    assert la.grad_fn.name() == "BinaryCrossEntropyWithLogitsBackward0" == lt.grad_fn.name()


def test_bce_clamps_log_at_minus_100(torch):
    x, t = av.tensor([0.0, 1.0]), av.tensor([1.0, 1.0])
    assert_close(F.binary_cross_entropy(x, t),
                 torch.nn.functional.binary_cross_entropy(torch.tensor([0.0, 1.0]),
                                                          torch.tensor([1.0, 1.0])))


@pytest.mark.parametrize("reduction", ["batchmean", "sum", "none"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(torch, reduction, log_target):
    g = _gen(torch, 4)
    x = torch.log_softmax(torch.randn(3, 4, dtype=torch.float64, generator=g), 1)
    t = torch.softmax(torch.randn(3, 4, dtype=torch.float64, generator=g), 1)
    t = t.log() if log_target else t
    _run(torch, "KLDivLoss", {"reduction": reduction, "log_target": log_target}, x, t)


def test_loss_gradcheck():
    av.manual_seed(6)
    x = av.randn(3, 4, dtype=av.float64, requires_grad=True)
    y = av.randn(3, 4, dtype=av.float64, requires_grad=True)
    t = av.tensor([0, 3, 1])
    p = av.rand(3, 4, dtype=av.float64)
    q = (av.rand(3, 4, dtype=av.float64) * 0.8 + 0.1).requires_grad_()
    assert gradcheck(lambda x, y: F.mse_loss(x, y), (x, y))
    assert gradcheck(lambda x: F.cross_entropy(x, t, label_smoothing=0.1), (x,))
    assert gradcheck(lambda x: F.cross_entropy(x, p.softmax(1)), (x,))
    assert gradcheck(lambda x: F.nll_loss(x, t, reduction="none"), (x,))
    assert gradcheck(lambda q, y: F.binary_cross_entropy(q, y.sigmoid()), (q, y))
    assert gradcheck(lambda x, y: F.binary_cross_entropy_with_logits(
        x, y.sigmoid(), pos_weight=av.tensor([1.0, 2.0, 0.5, 3.0], dtype=av.float64)), (x, y))


def test_cross_entropy_double_backward(torch):
    x = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    t = torch.tensor([0, 3, 1])
    xa = av_of(x)
    (gt,) = torch.autograd.grad(torch.nn.functional.cross_entropy(x, t), x, create_graph=True)
    (ga,) = av.autograd.grad(F.cross_entropy(xa, av_of(t)), xa, create_graph=True)
    (gt ** 2).sum().backward()
    (ga ** 2).sum().backward()
    assert_close(xa.grad, x.grad)


def test_loss_reprs(torch):
    for name, kw in [("MSELoss", {}), ("CrossEntropyLoss", {"label_smoothing": 0.1}),
                     ("NLLLoss", {}), ("BCELoss", {}), ("BCEWithLogitsLoss", {}),
                     ("L1Loss", {"reduction": "sum"})]:
        assert repr(getattr(nn, name)(**kw)) == repr(getattr(torch.nn, name)(**kw))
