"""The CuPy backend against the NumPy one: every op of the op table, training steps and the
recorder, run on ``device('cuda')`` and on the CPU from the same data.

The CPU side is checked against PyTorch elsewhere (``test_ops_table``); here the GPU must give
the same values, dtypes, ``grad_fn`` graphs and first and second derivatives, with every
result on the GPU. Skips, with the reason, where ``autograd_viz.cuda.is_available()`` is False.
"""
from __future__ import annotations

import numpy as np
import pytest
from conftest import _cuda_unavailable_reason
from hypothesis import given, settings
from hypothesis import strategies as st
from test_ops_table import OPS, Spec, cases, examples, graph_sig, outputs

import autograd_viz as av
from autograd_viz import nn
from autograd_viz.nn import functional as F

_REASON = _cuda_unavailable_reason()
pytestmark = [pytest.mark.cuda, pytest.mark.filterwarnings("ignore"),
              pytest.mark.skipif(_REASON is not None, reason=_REASON or "")]


def host(t: av.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


def same(c: av.Tensor | None, g: av.Tensor | None, what: str, rtol: float = 1e-9) -> None:
    """``g`` (GPU) equals ``c`` (CPU): presence, device, dtype, shape and values."""
    if c is None or g is None:
        assert c is None and g is None, f"{what}: {c!r} vs {g!r}"
        return
    assert g.device.type == "cuda", f"{what}: on {g.device}"
    assert (c.dtype, tuple(c.shape)) == (g.dtype, tuple(g.shape)), what
    a, b = host(c), host(g)
    if a.dtype.kind == "f":
        np.testing.assert_allclose(b, a, rtol=rtol, atol=1e-12, err_msg=what)
    else:
        np.testing.assert_array_equal(b, a, err_msg=what)


def build(spec: Spec, arrays: list, kw: dict, dev: str) -> tuple:
    """Leaves, outputs and first/second derivatives of ``spec`` on ``dev``."""
    with av.device(dev):
        xs = [av.tensor(a.copy(), dtype=av.float64, requires_grad=spec.grad) for a in arrays]
        outs = outputs(spec.fn(av, *xs, **kw))
        diff = [o for o in outs if o.requires_grad]
        if not diff:
            return xs, outs, None, None
        rng = np.random.default_rng(len(arrays))
        gos = [av.tensor(rng.standard_normal(tuple(o.shape))) for o in diff]
        g1 = av.autograd.grad(diff, xs, gos, create_graph=True, allow_unused=True)
        terms = [(g * av.tensor(rng.standard_normal(tuple(g.shape)))).sum()
                 for g in g1 if g is not None and g.requires_grad]
        g2 = av.autograd.grad(sum(terms), xs, allow_unused=True) if terms else None
    return xs, outs, g1, g2


@pytest.mark.parametrize("spec", OPS, ids=[s.id for s in OPS])
@settings(max_examples=examples(4))
@given(data=st.data())
def test_op_on_cuda_matches_cpu(spec: Spec, data) -> None:
    arrays, kw = data.draw(cases(spec))
    cx, cpu, cg1, cg2 = build(spec, arrays, kw, "cpu")
    gx, gpu, gg1, gg2 = build(spec, arrays, kw, "cuda")
    assert len(cpu) == len(gpu)
    for i, (c, g) in enumerate(zip(cpu, gpu)):
        same(c, g, f"output {i}")
        assert (c.requires_grad, c.is_leaf) == (g.requires_grad, g.is_leaf)
    assert graph_sig(gpu, gx) == graph_sig(cpu, cx)
    for i, (c, g) in enumerate(zip(cg1 or (), gg1 or ())):
        same(c, g, f"grad of input {i}")
    for i, (c, g) in enumerate(zip(cg2 or (), gg2 or ())):
        same(c, g, f"second derivative of input {i}", rtol=1e-7)


# --------------------------------------------------------------------------- tensors


def test_default_device_and_numpy_rules():
    with av.device("cuda"):
        t = av.ones(2, 3)
        assert av.get_default_device() == av.device("cuda")
    assert t.device == av.device("cuda", 0) and av.get_default_device() == av.device("cpu")
    with pytest.raises(TypeError, match=r"can't convert cuda:0 device type tensor to numpy"):
        t.numpy()
    assert t.cpu().numpy().tolist() == [[1.0] * 3] * 2
    assert np.asarray(t.cpu()).shape == (2, 3)
    assert t.tolist() == [[1.0] * 3] * 2 and av.tensor(3.5, device="cuda").item() == 3.5


def test_mixing_devices_is_torchs_error_but_cpu_scalars_mix():
    a = av.ones(3, device="cuda")
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        a + av.ones(3)
    b = a * av.tensor(2.0)  # a zero-dim CPU tensor joins a CUDA op, as in torch
    assert b.device.type == "cuda" and host(b).tolist() == [2.0] * 3
    s = av.tensor(3.0, dtype=av.float64, requires_grad=True)  # CPU, zero-dim, wider dtype
    x = av.tensor([1.0, 2.0, 4.0], device="cuda", requires_grad=True)
    y = x * s
    assert (y.device.type, y.dtype) == ("cuda", av.float32)  # zero-dim does not widen
    assert [type(n).__name__ for n, _ in y.grad_fn.next_functions] == ["AccumulateGrad"] * 2
    y.sum().backward()
    assert (s.grad.device.type, s.grad.dtype, s.grad.item()) == ("cpu", av.float64, 7.0)
    assert x.grad.device.type == "cuda" and host(x.grad).tolist() == [3.0] * 3


def test_views_share_gpu_memory_and_backward_stays_on_gpu():
    x = av.arange(6.0, device="cuda").requires_grad_()
    v = x.view(2, 3)
    v2 = v[:, 1]
    (v2 * v2).sum().backward()
    assert x.grad.device.type == "cuda" and host(x.grad).tolist() == [0, 2, 0, 0, 8, 0]
    with av.no_grad():
        v[0, 0] = 10.0
    assert host(x)[0] == 10.0 and x._version == v._version


# --------------------------------------------------------------------------- nn / optim


def _steps(dev: str, make_opt, n: int = 3) -> list:
    av.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(3 * 3 * 3, 8), nn.GELU(), nn.Dropout(0.0),
                        nn.Linear(8, 4), nn.LogSoftmax(1)).double().to(dev)
    opt = make_opt(net.parameters())
    rng = np.random.default_rng(1)
    x = av.tensor(rng.standard_normal((5, 1, 8, 8)), device=dev)
    y = av.tensor(rng.integers(0, 4, 5), device=dev)
    losses = []
    for _ in range(n):
        opt.zero_grad()
        loss = F.nll_loss(net(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses, [host(p) for p in net.parameters()]


@pytest.mark.parametrize("make_opt", [
    lambda p: av.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    lambda p: av.optim.Adam(p, lr=0.01, weight_decay=0.1, amsgrad=True),
    lambda p: av.optim.RMSprop(p, lr=0.01, centered=True),
], ids=["sgd", "adam", "rmsprop"])
def test_training_steps_on_cuda_match_cpu(make_opt):
    cl, cp = _steps("cpu", make_opt)
    gl, gp = _steps("cuda", make_opt)
    np.testing.assert_allclose(gl, cl, rtol=1e-9)
    for c, g in zip(cp, gp):
        np.testing.assert_allclose(g, c, rtol=1e-7, atol=1e-12)


def test_float32_mlp_on_cuda_matches_cpu():
    def run(dev):
        av.manual_seed(3)
        net = nn.Sequential(nn.Linear(20, 16), nn.Tanh(), nn.Linear(16, 3)).to(dev)
        x = av.randn(8, 20, device=dev)
        loss = F.cross_entropy(net(x), av.tensor([0, 1, 2, 0, 1, 2, 0, 1], device=dev))
        loss.backward()
        return loss.item(), [host(p.grad) for p in net.parameters()]
    (cl, cg), (gl, gg) = run("cpu"), run("cuda")
    assert abs(cl - gl) < 1e-5
    for c, g in zip(cg, gg):
        assert g.dtype == np.float32
        np.testing.assert_allclose(g, c, rtol=1e-4, atol=1e-6)


# --------------------------------------------------------------------------- recorder


def test_recorder_and_render_on_cuda_tensors():
    from autograd_viz import viz

    def graph(dev):
        with viz.record() as rec:
            x = av.tensor([1.0, 2.0], device=dev, requires_grad=True)
            y = (x * x).sum()
            x.register_hook(lambda g: None)
            y.backward()
        return rec.graph().to_dict(), viz.to_text(rec.graph())
    (cm, ct), (gm, gt) = graph("cpu"), graph("cuda")
    assert "cuda:0" in gt
    assert gt.replace(", device='cuda:0'", "").replace(" cuda:0", "") == ct
    assert [t["device"] for t in gm["tensors"]] == ["cuda:0"] * len(cm["tensors"])
    assert [o["name"] for o in gm["ops"]] == [o["name"] for o in cm["ops"]]
