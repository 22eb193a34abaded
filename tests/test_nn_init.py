"""nn.init: gains, fans, distributions (statistics), error messages; nn.utils helpers."""
from __future__ import annotations

import math

import numpy as np
import pytest
from test_nn_helpers import assert_close

import autograd_viz as av

nn = av.nn
init = av.nn.init


@pytest.mark.parametrize("args", [("linear",), ("conv2d",), ("sigmoid",), ("tanh",), ("relu",),
                                  ("leaky_relu",), ("leaky_relu", 0.2), ("selu",)])
def test_calculate_gain_matches_torch(torch, args):
    assert init.calculate_gain(*args) == torch.nn.init.calculate_gain(*args)


@pytest.mark.parametrize("call", [
    lambda i, z: i.calculate_gain("foo"),
    lambda i, z: i.xavier_uniform_(z(3)),
    lambda i, z: i.kaiming_uniform_(z(3, 3), mode="x"),
])
def test_init_errors_match_torch(torch, call):
    with pytest.raises(ValueError) as theirs:
        call(torch.nn.init, torch.zeros)
    with pytest.raises(ValueError) as ours:
        call(init, av.zeros)
    assert str(ours.value) == str(theirs.value)


def test_fans(torch):
    for shape in [(4, 3), (8, 3, 5, 5), (6, 2, 3)]:
        assert init._calculate_fan_in_and_fan_out(av.empty(*shape)) == \
            torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))


def _stats(t):
    a = t.detach().numpy().astype(np.float64)
    return a.min(), a.max(), a.mean(), a.std()


def test_distributions_have_the_right_spread():
    av.manual_seed(0)
    w = av.empty(400, 300)
    lo, hi, mean, std = _stats(init.uniform_(w, -2, 3))
    assert -2 <= lo and hi <= 3 and abs(mean - 0.5) < 0.02
    _, _, mean, std = _stats(init.normal_(w, 1.0, 2.0))
    assert abs(mean - 1) < 0.02 and abs(std - 2) < 0.02
    bound = math.sqrt(6 / 700)
    lo, hi, _, _ = _stats(init.xavier_uniform_(w))
    assert -bound <= lo and hi <= bound and hi > 0.99 * bound
    _, _, _, std = _stats(init.xavier_normal_(w, gain=2))
    assert abs(std - 2 * math.sqrt(2 / 700)) < 0.01 * std + 1e-3
    _, _, _, std = _stats(init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu"))
    assert abs(std - math.sqrt(2 / 400)) < 0.02 * std
    lo, hi, _, _ = _stats(init.kaiming_uniform_(w, a=math.sqrt(5)))
    assert hi <= 1 / math.sqrt(300) and hi > 0.99 / math.sqrt(300)
    lo, hi, _, _ = _stats(init.trunc_normal_(w, 0, 1, -0.5, 0.5))
    assert -0.5 <= lo and hi <= 0.5
    assert init.constant_(w, 0.3).detach().numpy().tolist()[0][0] == pytest.approx(0.3)
    assert init.zeros_(w).abs().sum().item() == 0 and init.ones_(w).sum().item() == 120000
    e = init.eye_(av.empty(3, 4))
    assert e.tolist() == np.eye(3, 4).tolist()
    q = init.orthogonal_(av.empty(5, 3, dtype=av.float64)).numpy()
    assert np.allclose(q.T @ q, np.eye(3))


def test_init_on_parameters_keeps_leaf_and_identity():
    p = nn.Parameter(av.empty(3, 3))
    data = p._data
    out = init.kaiming_uniform_(p)
    assert out is p and p._data is data and p.is_leaf and p.grad_fn is None
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        init.kaiming_uniform_(av.empty(0, 3))


def test_manual_seed_makes_layers_reproducible():
    av.manual_seed(7)
    a = nn.Linear(3, 2)
    av.manual_seed(7)
    b = nn.Linear(3, 2)
    assert_close(a.weight, b.weight, rtol=0, atol=0)


def test_clip_grad_and_vector_conversion(torch):
    g = np.arange(12.0).reshape(3, 4) - 5
    pa = [nn.Parameter(av.zeros(3, 4, dtype=av.float64)), nn.Parameter(av.zeros(2,
                                                                                dtype=av.float64))]
    pt = [torch.nn.Parameter(torch.zeros(3, 4, dtype=torch.float64)),
          torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))]
    for p, q in zip(pa, pt):
        arr = g if p.ndim == 2 else np.array([3.0, -4.0])
        p.grad = av.tensor(arr)
        q.grad = torch.tensor(arr)
    na = nn.utils.clip_grad_norm_(pa, 5.0)
    nt = torch.nn.utils.clip_grad_norm_(pt, 5.0)
    assert_close(na, nt)
    for p, q in zip(pa, pt):
        assert_close(p.grad, q.grad)
    nn.utils.clip_grad_value_(pa, 0.1)
    torch.nn.utils.clip_grad_value_(pt, 0.1)
    for p, q in zip(pa, pt):
        assert_close(p.grad, q.grad)
    vec = nn.utils.parameters_to_vector(pa)
    assert vec.shape == (14,)
    nn.utils.vector_to_parameters(av.arange(14, dtype=av.float64), pa)
    assert pa[1].tolist() == [12.0, 13.0]
