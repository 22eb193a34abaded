"""The CuPy backend against the NumPy one: every op of the op table, training steps and the
recorder, run on ``device('cuda')`` and on the CPU from the same data.

The CPU side is checked against PyTorch elsewhere (``test_ops_table``); here the GPU must give
the same values, dtypes, ``grad_fn`` graphs and first and second derivatives, with every
result on the GPU. Skips, with the reason, where ``autograd_viz.cuda.is_available()`` is False.
"""
from __future__ import annotations

import re

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


# --------------------------------------------------------------------------- nn.functional

_R = np.random.default_rng(7)


def _d(*shape: int) -> np.ndarray:
    return _R.standard_normal(shape)


def _p(*shape: int) -> np.ndarray:  # probabilities in (0, 1)
    return 1 / (1 + np.exp(-_d(*shape)))


_T4 = np.array([0, 2, 1, 2])
#: name -> (float64 inputs that require grad, constants (targets, weights), call(F, *both))
NN = {
    "conv1d": ([_d(2, 4, 9), _d(6, 2, 3), _d(6)], [],
               lambda F, x, w, b: F.conv1d(x, w, b, stride=2, padding=1, groups=2)),
    "conv2d": ([_d(2, 3, 7, 6), _d(4, 3, 3, 2), _d(4)], [],
               lambda F, x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2))),
    "max_pool2d": ([_d(2, 3, 7, 8)], [],
                   lambda F, x: F.max_pool2d(x, 3, stride=2, padding=1)),
    "max_pool2d_ties": ([np.round(_d(1, 2, 6, 6))], [], lambda F, x: F.max_pool2d(x, 2)),
    "max_pool2d_nan_ceil": ([np.where(_d(2, 7, 7) > 1.2, np.nan, _d(2, 7, 7))], [],
                            lambda F, x: F.max_pool2d(x, 2, ceil_mode=True)),
    "max_pool2d_dilated": ([_d(2, 2, 9, 9)], [],
                           lambda F, x: F.max_pool2d(x, 2, stride=3, dilation=2, padding=1)),
    "avg_pool2d": ([_d(2, 3, 7, 8)], [],
                   lambda F, x: F.avg_pool2d(x, 3, stride=2, padding=1)),
    "adaptive_avg_pool2d": ([_d(2, 3, 6, 8)], [], lambda F, x: F.adaptive_avg_pool2d(x, (3, 2))),
    "batch_norm": ([_d(4, 3, 5), _d(3), _d(3)], [],
                   lambda F, x, w, b: F.batch_norm(x, None, None, w, b, training=True)),
    "layer_norm": ([_d(4, 3, 5), _d(3, 5), _d(3, 5)], [],
                   lambda F, x, w, b: F.layer_norm(x, (3, 5), w, b)),
    "embedding": ([_d(5, 3)], [np.array([[0, 4], [4, 1]])],
                  lambda F, w, i: F.embedding(i, w)),
    "bilinear": ([_d(5, 3), _d(5, 2), _d(4, 3, 2), _d(4)], [],
                 lambda F, a, b, w, c: F.bilinear(a, b, w, c)),
    "cross_entropy_w": ([_d(4, 3)], [_p(3), _T4],
                        lambda F, x, w, t: F.cross_entropy(x, t, weight=w, ignore_index=1)),
    "cross_entropy_ls": ([_d(4, 3)], [_T4],
                         lambda F, x, t: F.cross_entropy(x, t, label_smoothing=0.2)),
    "cross_entropy_probs": ([_d(4, 3), _p(4, 3)], [],
                            lambda F, x, p: F.cross_entropy(x, p)),
    "nll_loss_2d": ([_d(2, 3, 2, 2)], [np.array([[[0, 1], [2, 0]], [[1, 1], [0, 2]]])],
                    lambda F, x, t: F.nll_loss(x.log_softmax(1), t, reduction="sum")),
    "bce": ([_p(6), _p(6)], [], lambda F, x, t: F.binary_cross_entropy(x, t)),
    "bce_logits": ([_d(6), _p(6)], [_p(6)],
                   lambda F, x, t, w: F.binary_cross_entropy_with_logits(x, t, pos_weight=w)),
    "mse_l1_huber": ([_d(6), _d(6)], [],
                     lambda F, x, t: F.mse_loss(x, t) + F.l1_loss(x, t, reduction="sum")
                     + F.huber_loss(x, t, delta=0.5) + F.smooth_l1_loss(x, t, beta=0.3)),
    "kl_div": ([_d(4, 3), _p(4, 3)], [],
               lambda F, x, t: F.kl_div(x.log_softmax(1), t, reduction="batchmean")),
    "activations": ([_d(3, 4)], [],
                    lambda F, x: F.gelu(x, approximate="tanh") + F.silu(x) + F.elu(x)
                    + F.leaky_relu(x, 0.1) + F.hardtanh(x) + F.softplus(x, beta=2)
                    + F.mish(x) + F.hardswish(x) + F.relu6(x * 4) + F.logsigmoid(x)),
    "glu_softmin_normalize": ([_d(3, 4)], [],
                              lambda F, x: F.glu(x, 1).sum() + F.softmin(x, 0).sum()
                              + F.normalize(x, dim=1).sum()),
    "distances": ([_d(3, 4), _d(3, 4)], [],
                  lambda F, a, b: F.cosine_similarity(a, b) + F.pairwise_distance(a, b)),
    "pad": ([_d(2, 3, 4)], [], lambda F, x: F.pad(x, (1, 2, 0, 1), value=0.5)),
}


@pytest.mark.parametrize("name", list(NN))
def test_nn_functional_on_cuda_matches_cpu(name: str) -> None:
    floats, consts, call = NN[name]

    def run(dev: str) -> tuple:
        xs = [av.tensor(a, device=dev, requires_grad=True) for a in floats]
        ts = [av.tensor(c, device=dev) for c in consts]
        out = call(F, *xs, *ts)
        g = av.tensor(np.linspace(-1, 1, out.numel()).reshape(tuple(out.shape)), device=dev)
        grads = av.autograd.grad(out, xs, g, create_graph=True)
        total = sum(x.sum() for x in grads)
        gg = av.autograd.grad(total, xs, allow_unused=True) if total.requires_grad else ()
        return out, grads, gg
    (co, cg, cgg), (go, gg, ggg) = run("cpu"), run("cuda")
    same(co, go, "output")
    assert go.grad_fn.name() == co.grad_fn.name()
    for i, (c, g) in enumerate(zip(cg, gg)):
        same(c, g, f"grad of input {i}")
    for i, (c, g) in enumerate(zip(cgg, ggg)):
        same(c, g, f"second derivative of input {i}", rtol=1e-7)


@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
def test_recurrent_layers_on_cuda_match_cpu(cls: str) -> None:
    data = _d(2, 5, 3)

    def run(dev):
        av.manual_seed(0)
        net = getattr(nn, cls)(3, 4, num_layers=2, batch_first=True,
                               bidirectional=True).double().to(dev)
        x = av.tensor(data, device=dev, requires_grad=True)
        out, _ = net(x)
        out.pow(2).sum().backward()
        return out, x.grad, [p.grad for p in net.parameters()]
    (co, cx, cp), (go, gx, gp) = run("cpu"), run("cuda")
    same(co, go, "output")
    same(cx, gx, "input grad")
    for i, (c, g) in enumerate(zip(cp, gp)):
        same(c, g, f"parameter {i} grad", rtol=1e-8)


def test_dropout_on_cuda_keeps_p_and_scales():
    av.manual_seed(0)
    x = av.ones(2000, device="cuda", requires_grad=True)
    y = F.dropout(x, 0.25)
    kept = host(y) != 0
    assert y.device.type == "cuda" and 0.70 < kept.mean() < 0.80
    np.testing.assert_allclose(host(y)[kept], 1 / 0.75)
    y.sum().backward()
    np.testing.assert_array_equal(host(x.grad) != 0, kept)


# --------------------------------------------------------------------------- fused kernels


def test_cross_entropy_on_cuda_checks_the_targets_of_each_new_version():
    """The largest class index is read from the GPU once per target tensor, not once per
    step; every write to the targets (or new data) has them checked again, with the CPU's
    error."""
    x = av.randn(4, 3, device="cuda", requires_grad=True)
    t = av.tensor([0, 2, 1, 2], device="cuda")
    c = F.cross_entropy(x.detach().cpu(), t.cpu())
    for _ in range(2):
        loss = F.cross_entropy(x, t)
        assert abs(loss.item() - c.item()) < 1e-6
    t[1] = 3
    with pytest.raises(IndexError, match=r"^Target 3 is out of bounds\.$"):
        F.cross_entropy(x, t)
    t[1] = -1
    with pytest.raises(IndexError, match=r"^Target -1 is out of bounds\.$"):
        F.nll_loss(x.log_softmax(1), t)
    t[1] = 1
    assert F.nll_loss(x.log_softmax(1), t).grad_fn.name() == "NllLossBackward0"
    t.data = av.tensor([0, 1, 5, 2], device="cuda")
    with pytest.raises(IndexError, match=r"^Target 5 is out of bounds\.$"):
        F.cross_entropy(x, t)


def test_a_target_written_behind_autograd_viz_gives_nan_not_a_stray_read():
    """Only a write that bypasses the version counter (here the private array) can outdate
    the check: the loss and that row's gradient are NaN, the other rows are right."""
    x = av.randn(4, 3, device="cuda", dtype=av.float64, requires_grad=True)
    t = av.tensor([0, 2, 1, 2], device="cuda")
    F.cross_entropy(x, t)
    t._data[2] = 7
    loss = F.cross_entropy(x, t)
    loss.backward()
    assert np.isnan(loss.item())
    g = host(x.grad)
    assert np.isnan(g[2]).all() and np.isfinite(np.delete(g, 2, axis=0)).all()
    xc = x.detach().cpu().requires_grad_()
    F.cross_entropy(xc, av.tensor([0, 2, 1, 2])).backward()
    np.testing.assert_allclose(np.delete(g, 2, axis=0), np.delete(host(xc.grad), 2, axis=0),
                               rtol=1e-12)


@pytest.mark.parametrize("shape", [(5, 1), (7, 33), (3, 1000), (2, 3, 700)])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_log_softmax_along_rows_on_cuda_matches_cpu(shape, dtype):
    """The one-kernel-per-row (log-)softmax and its backward, with rows wider than a warp
    and a block, NaN and infinities, against the CPU; and along another axis."""
    rng = np.random.default_rng(sum(shape))
    a = rng.standard_normal(shape) * 5
    flat = a.reshape(-1, shape[-1])
    flat[0, -1] = np.nan
    if len(flat) > 2:
        flat[1, :] = -np.inf
        flat[2, 0] = np.inf
    g = rng.standard_normal(shape)
    rtol, atol = (1e-12, 1e-12) if dtype == "float64" else (2e-5, 1e-5)
    for dim in (-1, 0):
        outs = []
        for dev in ("cpu", "cuda"):
            x = av.tensor(a, dtype=getattr(av, dtype), device=dev, requires_grad=True)
            y = x.log_softmax(dim)
            y.backward(av.tensor(g, dtype=getattr(av, dtype), device=dev))
            outs.append((host(y), host(x.grad), y.grad_fn.name()))
        (cy, cg, cn), (gy, gg, gn) = outs
        assert gn == cn == "LogSoftmaxBackward0"
        np.testing.assert_allclose(gy, cy, rtol=rtol, atol=atol, err_msg=f"dim {dim}")
        np.testing.assert_allclose(gg, cg, rtol=rtol, atol=atol, err_msg=f"dim {dim}")


@pytest.mark.parametrize("shape,bias", [((128, 256), (256,)), ((3, 5, 7), (5, 7)),
                                        ((9000, 3), (3,)), ((70, 1), (1,))])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_bias_gradients_on_cuda_match_cpu(shape, bias, dtype):
    """A broadcast bias's gradient (summed over the leading axes in one kernel up to 8192
    rows, by CuPy's reduction beyond) against the CPU."""
    rng = np.random.default_rng(len(shape))
    xs, bs, gs = (rng.standard_normal(s) for s in (shape, bias, shape))
    grads = []
    for dev in ("cpu", "cuda"):
        dt = getattr(av, dtype)
        b = av.tensor(bs, dtype=dt, device=dev, requires_grad=True)
        (av.tensor(xs, dtype=dt, device=dev) + b).backward(av.tensor(gs, dtype=dt, device=dev))
        assert b.grad.dtype == dt and tuple(b.grad.shape) == bias
        grads.append(host(b.grad))
    rtol, atol = (1e-12, 1e-12) if dtype == "float64" else (1e-5, 1e-3)
    np.testing.assert_allclose(grads[1], grads[0], rtol=rtol, atol=atol)


@pytest.mark.parametrize("groups,kernel,kw", [
    (1, (3, 3), dict(stride=2, padding=1)), (2, (3, 3), dict(stride=2, padding=1)),
    (1, (4, 2), dict(padding="same", dilation=(1, 2))), (1, (2, 3), dict(stride=(3, 1)))])
def test_conv2d_on_cuda_gives_contiguous_results_and_grads_like_cpu(groups, kernel, kw):
    """One group runs as single matrix products on the GPU (the batch side by side) and
    col2im as one kernel: the same values, a contiguous result and all three gradients,
    with strides, uneven "same" padding, dilation and windows that leave rows uncovered."""
    rng = np.random.default_rng(groups)
    xs, ws, bs = rng.standard_normal((3, 4, 9, 8)), \
        rng.standard_normal((6, 4 // groups, *kernel)), rng.standard_normal(6)
    res = []
    for dev in ("cpu", "cuda"):
        x, w, b = (av.tensor(a, device=dev, requires_grad=True) for a in (xs, ws, bs))
        y = F.conv2d(x, w, b, groups=groups, **kw)
        assert y.is_contiguous() and y.grad_fn.name() == "ConvolutionBackward0"
        (y * av.tensor(np.linspace(-1, 1, y.numel()).reshape(tuple(y.shape)), device=dev)) \
            .sum().backward()
        res.append([host(y), host(x.grad), host(w.grad), host(b.grad)])
    for what, c, g in zip(("output", "input grad", "weight grad", "bias grad"), *res):
        np.testing.assert_allclose(g, c, rtol=1e-10, atol=1e-12, err_msg=what)


@pytest.mark.parametrize("shape,dims", [((32, 6, 24, 24), (0, 2, 3)), ((5, 4, 3), (1, 2)),
                                        ((5, 4, 3, 2), (0, 1, 3)), ((300, 7, 300), (0, 2)),
                                        ((9, 2), (0,))])
@pytest.mark.parametrize("keepdim", [False, True])
def test_sums_over_all_dims_but_one_on_cuda_match_cpu(shape, dims, keepdim):
    """Sums over every dim but one (one kernel up to 65536 values an output, CuPy's
    reduction beyond), forward and backward, float32 and float64, against the CPU; a conv
    bias's gradient takes the same kernel, so backward with and without create_graph agree
    to the bit."""
    rng = np.random.default_rng(len(shape))
    a = rng.standard_normal(shape)
    for dtype, rtol in (("float64", 1e-12), ("float32", 1e-5)):
        res = []
        for dev in ("cpu", "cuda"):
            x = av.tensor(a, dtype=getattr(av, dtype), device=dev, requires_grad=True)
            y = x.sum(dim=dims, keepdim=keepdim)
            y.backward(av.ones_like(y))
            assert y.grad_fn.name() == "SumBackward1" and y.dtype == x.dtype
            res.append((host(y), host(x.grad)))
        (cy, cg), (gy, gg) = res
        assert gy.shape == cy.shape
        np.testing.assert_allclose(gy, cy, rtol=rtol, atol=1e-3 if dtype == "float32" else 0)
        np.testing.assert_array_equal(gg, cg)


def test_conv_bias_grad_on_cuda_is_the_same_with_create_graph():
    x = av.randn(4, 3, 10, 10, device="cuda", dtype=av.float64)
    w = av.randn(5, 3, 3, 3, device="cuda", dtype=av.float64, requires_grad=True)
    b = av.randn(5, device="cuda", dtype=av.float64, requires_grad=True)
    g = av.randn(4, 5, 8, 8, device="cuda", dtype=av.float64)
    fast = av.autograd.grad(F.conv2d(x, w, b), (w, b), g)
    graph = av.autograd.grad(F.conv2d(x, w, b), (w, b), g, create_graph=True)
    for f, t in zip(fast, graph):
        np.testing.assert_array_equal(host(f), host(t))


def _same_model(c, g, where="graph"):
    """The recorder's graph model of a CUDA run equals the CPU run's: the same structure and
    texts (device names aside), numbers to rounding."""
    if isinstance(c, dict):
        assert isinstance(g, dict) and list(c) == list(g), where
        for k in c:
            _same_model(c[k], g[k], f"{where}.{k}")
    elif isinstance(c, (list, tuple)):
        assert isinstance(g, (list, tuple)) and len(c) == len(g), where
        for i, (a, b) in enumerate(zip(c, g)):
            _same_model(a, b, f"{where}[{i}]")
    elif isinstance(c, float) and not isinstance(c, bool):
        assert g == pytest.approx(c, rel=1e-9, abs=1e-12, nan_ok=True), where
    elif isinstance(c, str):
        assert g.replace(", device='cuda:0'", "").replace("cuda:0", "cpu") == c, where
    else:
        assert g == c, where


@pytest.mark.parametrize("n,d,hidden", [(6, 4, 8), (16, 12, 24)])
def test_recorded_training_loop_on_cuda_matches_cpu(n, d, hidden):
    """Three steps of an MLP (Linear, ReLU, cross_entropy, SGD with momentum) under
    viz.record(): the graph model, its grad history and text on the GPU are the CPU's, with
    values kept whole (up to 64 elements) and summarised (brought to the host in one
    transfer, then summarised in bulk by shape)."""
    from autograd_viz import viz
    xs = _d(n, d)

    def run(dev):
        av.manual_seed(0)
        net = nn.Sequential(nn.Linear(d, hidden), nn.ReLU(), nn.Linear(hidden, 3)).double() \
            .to(dev)
        opt = av.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
        x = av.tensor(xs, device=dev)
        t = av.tensor(np.arange(n) % 3, device=dev)
        with viz.record() as rec:
            for _ in range(3):
                opt.zero_grad()
                h = net[0](x)
                h.retain_grad()
                F.cross_entropy(net[2](net[1](h)), t).backward()
                opt.step()
        g = rec.graph()
        return g.to_dict(), viz.to_text(g)
    (cm, ct), (gm, gt) = run("cpu"), run("cuda")
    assert len(cm["runs"]) == 3 and cm["grad_history"]
    _same_model(cm, gm)
    # (a mean that is zero but for rounding prints as its rounding error: -7.7e-19, 9.4e-19)
    def text(t):
        return re.sub(r"-?\d(\.\d+)?e-(1[3-9]|[2-9]\d)", "~0", t)
    assert text(gt.replace(", device='cuda:0'", "").replace(" cuda:0", "")) == text(ct)


def _values(m: dict) -> list:
    """Every recorded value (tensor values and grad-history values) of a graph model."""
    vals = [t["value"] for t in m["tensors"] if t.get("value")]
    return vals + [e["value"] for es in m["grad_history"].values() for e in es if e["value"]]


@pytest.mark.parametrize("n", [100, 300])
def test_recorded_large_values_on_cuda_are_summarised_like_cpu(n):
    """Values of up to 65536 elements are copied to the host and summarised as the CPU's
    are (the same model); larger ones are summarised on the GPU: the same statistics to
    rounding and a histogram of every element."""
    from autograd_viz import viz
    from autograd_viz.viz import preview
    a = _R.standard_normal((n, n))

    def run(dev):
        with viz.record() as rec:
            x = av.tensor(a, device=dev, requires_grad=True)
            (x.tanh() * 3).sum().backward()
        return rec.graph().to_dict()
    c, g = run("cpu"), run("cuda")
    if n * n <= preview.HOST_SUMMARY_NUMEL:
        _same_model(c, g)
        return
    cv, gv = _values(c), _values(g)
    assert len(cv) == len(gv) >= 4
    for a_, b_ in zip(cv, gv):
        assert (a_["shape"], a_["dtype"]) == (b_["shape"], b_["dtype"])
        if a_["stats"] is None:
            assert b_["stats"] is None
            continue
        for k in ("min", "max", "mean", "std"):
            assert b_["stats"][k] == pytest.approx(a_["stats"][k], rel=1e-9, abs=1e-12), k
        assert sum(b_["hist"]["counts"]) == sum(a_["hist"]["counts"]) == n * n
