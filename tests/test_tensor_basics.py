"""Tensor creation, dtypes, repr, NumPy interop, views, indexing — compared with torch."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import autograd_viz as av

REPR_CASES = [
    "m.tensor([8.])",
    "m.tensor([1., 2.], requires_grad=True)",
    "m.tensor(18.)",
    "m.tensor([0.6, 0.6])",
    "m.tensor([1.5e-5, 3.])",
    "m.tensor([1e10, 1.])",
    "m.tensor([[1, 2], [3, 4]])",
    "m.tensor([True, False])",
    "m.tensor([1, 2], dtype=m.int32)",
    "m.tensor([1., 2.], dtype=m.float64)",
    "m.zeros(2, 3, dtype=m.float16)",
    "m.tensor([])",
    "m.zeros(0, 3)",
    "m.tensor([float('nan'), float('inf'), 1.])",
    "m.tensor([-1.25, 100.5])",
    "m.arange(2000.).reshape(2, 1000)",
    "m.arange(24.).reshape(2, 3, 4)",
    "m.linspace(0, 1, 7)",
    "m.arange(30.) / 7",
    "m.ones(3, requires_grad=True) * 2",
    "m.ones(2, dtype=m.float64, requires_grad=True).sum()",
]


@pytest.mark.parametrize("expr", REPR_CASES)
def test_repr_matches_torch(torch, expr):
    ours = repr(eval(expr, {"m": av}))
    theirs = repr(eval(expr, {"m": torch}))
    assert ours.replace("autograd_viz.", "torch.") == theirs


@pytest.mark.parametrize("data", [[1, 2], [1.0, 2], [True, False], 3, 2.5, [[1, 2.5]],
                                  np.array([1, 2], dtype=np.int32), np.array([1.0])])
def test_dtype_inference_matches_torch(torch, data):
    assert av.tensor(data).dtype.name == str(torch.tensor(data).dtype).replace("torch.", "")


def test_creation_functions_dtypes_and_shapes():
    assert av.zeros(2, 3).dtype is av.float32 and av.zeros((2, 3)).shape == (2, 3)
    assert av.full((2,), 7).dtype is av.int64 and av.full((2,), 7.0).dtype is av.float32
    assert av.arange(5).dtype is av.int64 and av.arange(0, 1, 0.25).tolist() == [0, .25, .5, .75]
    assert av.eye(3).tolist()[1] == [0.0, 1.0, 0.0]
    assert av.randint(0, 5, (100,)).dtype is av.int64
    assert av.rand(3, dtype=av.float64).dtype is av.float64
    av.manual_seed(3)
    a = av.randn(4)
    av.manual_seed(3)
    assert av.randn(4).tolist() == a.tolist()
    for like in (av.zeros_like, av.ones_like, av.rand_like, av.empty_like):
        t = like(av.ones(2, 2, dtype=av.float64))
        assert t.shape == (2, 2) and t.dtype is av.float64
    with pytest.raises(RuntimeError, match="negative dimension"):
        av.zeros(-1)


def test_conversions_and_item():
    x = av.tensor([[1.5, 2.5]])
    assert x.long().tolist() == [[1, 2]] and x.double().dtype is av.float64
    assert x.to(av.int32).dtype is av.int32 and x.half().dtype is av.float16
    assert av.tensor([3.5]).item() == 3.5 and float(av.tensor(2.0)) == 2.0
    with pytest.raises(RuntimeError, match="cannot be converted to Scalar"):
        x.item()
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(x)
    assert x.size() == (1, 2) and x.size(1) == 2 and x.dim() == 2 and x.numel() == 2


def test_numpy_sharing_rules():
    x = av.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"detach\(\)\.numpy\(\)"):
        x.numpy()
    n = x.detach().numpy()
    n[0] = 7
    assert x[0].item() == 7
    a = np.zeros(3, dtype=np.float32)
    t = av.from_numpy(a)
    t[1] = 4
    assert a[1] == 4
    assert np.asarray(av.ones(2)).tolist() == [1.0, 1.0]


def test_views_share_memory_both_ways():
    base = av.arange(12.0)
    views = [base.view(3, 4), base.reshape(4, 3), base.view(3, 4).t(), base.view(3, 4)[1],
             base.view(2, 6).permute(1, 0), base.unsqueeze(0).squeeze(0), base[2:8],
             base.view(3, 4).transpose(0, 1), base.view(3, 4).flatten()]
    for v in views:
        assert v._base is base
    v = base.view(3, 4)
    v[0, 0] = 100.0
    assert base[0].item() == 100.0
    base[5] = -5.0
    assert v[1, 1].item() == -5.0
    e = av.ones(3, 1).expand(3, 4)
    assert e.shape == (3, 4) and e.stride() == (1, 0)
    with pytest.raises(RuntimeError, match="Use .reshape"):
        base.view(3, 4).t().view(12)
    assert base.view(3, 4).t().reshape(12).shape == (12,)


def test_indexing_matches_torch(torch):
    for expr in ["x[1]", "x[:, 1]", "x[1:3, ::2]", "x[None, 0]", "x[..., -1]", "x[[0, 2]]",
                 "x[x > 5]", "x[[0, 1], [1, 2]]", "x[1, [0, 3]]", "x[-1, -1]"]:
        ours = eval(expr, {"x": av.arange(12.0).view(3, 4)})
        theirs = eval(expr, {"x": torch.arange(12.0).view(3, 4)})
        assert ours.tolist() == theirs.tolist(), expr
    with pytest.raises(IndexError, match="out of bounds"):
        av.arange(3)[5]
    with pytest.raises(IndexError, match="too many indices"):
        av.arange(3)[0, 0]


def test_setitem_forms():
    x = av.zeros(3, 4)
    x[0] = 1
    x[:, 1] = av.tensor([5.0, 6.0, 7.0])
    x[x > 6] = -1
    x[[2], [3]] = 9
    assert x.tolist() == [[1, 5, 1, 1], [0, 6, 0, 0], [0, -1, 0, 9]]


def test_size_and_device_objects():
    s = av.ones(2, 3).shape
    assert isinstance(s, tuple) and repr(s) == "autograd_viz.Size([2, 3])" and s.numel() == 6
    assert str(av.ones(1).device) == "cpu" and repr(av.device("cuda:1")) == \
        "device(type='cuda', index=1)"
    with pytest.raises(RuntimeError, match="Expected one of cpu, cuda"):
        av.device("tpu")


def test_cuda_request_without_gpu_says_how():
    if av.cuda.is_available():
        pytest.skip("GPU present")
    assert av.cuda.device_count() == 0
    for make in (lambda: av.ones(2, device="cuda"), lambda: av.ones(2).cuda()):
        with pytest.raises(RuntimeError, match="cuda12|cuda13|GPU"):
            make()


def test_tensor_on_device_roundtrip(device):
    x = av.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = (x * x).sum()
    y.backward()
    assert x.grad.device == x.device and x.grad.cpu().tolist() == [2.0, 4.0]
    assert x.detach().cpu().to(device).device == av.device(device)


def test_default_device_context_and_setter(device):
    """``with av.device(d):`` and ``set_default_device`` steer the factories, as in torch;
    they nest, restore on exit, and leave explicit ``device=`` and ``from_numpy`` alone."""
    assert av.get_default_device() == av.device("cpu")
    with av.device(device) as d:
        assert d == av.device(device) and av.get_default_device() == av.device(device)
        made = [av.tensor([1.0]), av.zeros(2), av.ones(1, 2), av.full((1,), 3.0),
                av.arange(3), av.linspace(0, 1, 3), av.eye(2), av.randn(2), av.rand(1),
                av.randint(0, 3, (2,)), av.empty(1), av.as_tensor(np.ones(2)),
                av.Tensor(2, 2)]
        assert {t.device.type for t in made} == {device}
        assert av.from_numpy(np.ones(2)).device.type == "cpu"
        assert av.zeros(1, device="cpu").device.type == "cpu"
        with av.device("cpu"):
            assert av.ones(1).device.type == "cpu"
        assert av.ones(1).device.type == device
    assert av.ones(1).device.type == "cpu"
    av.set_default_device(device)
    try:
        assert av.get_default_device() == av.device(device)
        assert av.tensor(2.0).device.type == device
    finally:
        av.set_default_device(None)
    assert av.get_default_device() == av.device("cpu") and av.ones(1).device.type == "cpu"


def test_type_promotion_matches_torch(torch):
    cases = ["m.ones(2, dtype=m.int64) * 2.5", "m.ones(2, dtype=m.int32) + m.tensor(1.5)",
             "m.ones(2) + m.tensor(1., dtype=m.float64)", "m.ones(2) + m.ones(2, dtype=m.float64)",
             "m.ones(2, dtype=m.int32) + m.ones(2, dtype=m.int64)", "m.tensor([1, 2]) / 2",
             "m.tensor([True]) + 1", "m.tensor([1, 2]) % 2", "m.ones(2, dtype=m.float16) + 1.0",
             "2 ** m.tensor([1, 2])", "m.tensor([1, 2]) ** 2.0", "m.tensor([3]) // 2"]
    for c in cases:
        a, t = eval(c, {"m": av}), eval(c, {"m": torch})
        assert str(a.dtype).replace("autograd_viz", "torch") == str(t.dtype), c
        assert a.tolist() == t.tolist(), c


def test_inplace_random_fills():
    av.manual_seed(0)
    w = av.empty(1000).normal_(2.0, 0.5)
    assert abs(w.mean().item() - 2.0) < 0.1 and abs(w.std().item() - 0.5) < 0.1
    u = av.empty(1000, dtype=av.float64).uniform_(-1, 1)
    assert u.dtype is av.float64 and -1 <= u.min().item() and u.max().item() < 1
    assert set(av.zeros(100).random_(0, 3).tolist()) <= {0.0, 1.0, 2.0}
    p = av.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        p.normal_()
    with av.no_grad():
        p.uniform_()
    assert p.is_leaf and p.requires_grad


def test_no_numpy_floating_point_warnings_as_in_torch():
    """log(0), 1/0, 0/0, exp(1000) give -inf/inf/nan silently, as torch does (NumPy would
    warn); a user's own NumPy code still warns. Run with warnings turned into errors."""
    code = (
        "import numpy as np, warnings, autograd_viz as av\n"
        "x = av.tensor([0.0, 1.0, -1.0], requires_grad=True)\n"
        "y = x.log() + x.sqrt() + 1 / x + (x / x) + av.exp(av.tensor([1000.0]))\n"
        "y.sum().backward()\n"
        "assert str(x.grad) == 'tensor([   nan, 0.5000,    nan])', x.grad  # as torch\n"
        "try:\n"
        "    np.log(np.zeros(1))\n"
        "except RuntimeWarning:\n"
        "    print('user warning kept')\n")
    out = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "user warning kept" and not out.stderr


def test_tensors_hash_by_identity_as_in_torch():
    """``==`` is elementwise, so tensors are dict keys and set members by identity (as
    torch's), equal values or not; a recording keeps the tensors it saw in such a set."""
    a, b = av.tensor([1.0, 2.0]), av.tensor([1.0, 2.0])
    assert hash(a) == object.__hash__(a) and hash(a) != hash(b)
    assert len({a, b, a}) == 2
    d = {a: "a", b: "b"}
    assert d[a] == "a" and d[b] == "b"
    p = av.nn.Parameter(av.ones(2))
    assert {p: 1}[p] == 1
