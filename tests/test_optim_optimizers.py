"""Optimizers against PyTorch: several steps on the same model and data (float64), state,
param groups, state_dict round trips, zero_grad, closure, errors, repr."""
from __future__ import annotations

import pytest
from test_nn_helpers import assert_close, av_of, copy_weights

import autograd_viz as av

nn = av.nn
optim = av.optim

CONFIGS = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "dampening": 0.3, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.5, "maximize": True}),
    ("Adam", {}),
    ("Adam", {"lr": 0.01, "betas": (0.8, 0.9), "eps": 1e-6, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.01, "amsgrad": True, "maximize": True}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("AdamW", {"lr": 0.01}),
    ("AdamW", {"lr": 0.02, "weight_decay": 0.3, "amsgrad": True}),
    ("RMSprop", {}),
    ("RMSprop", {"lr": 0.005, "alpha": 0.9, "momentum": 0.8, "weight_decay": 0.05}),
    ("RMSprop", {"lr": 0.005, "centered": True, "momentum": 0.5}),
    ("RMSprop", {"lr": 0.005, "centered": True, "maximize": True}),
]


def _models(torch):
    t = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(),
                            torch.nn.Linear(5, 2)).double()
    a = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2)).double()
    copy_weights(a, t)
    return a, t


def _data(torch, seed):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(8, 3, dtype=torch.float64, generator=g),
            torch.randn(8, 2, dtype=torch.float64, generator=g))


def _steps(torch, a, t, oa, ot, n, start=0, rtol=None, atol=None):
    """``n`` optimizer steps on the same data in both libraries, parameters compared after
    each (default tolerances of ``assert_close`` unless given)."""
    tol = {k: v for k, v in (("rtol", rtol), ("atol", atol)) if v is not None}
    for i in range(start, start + n):
        x, y = _data(torch, i)
        oa.zero_grad()
        ot.zero_grad()
        nn.functional.mse_loss(a(av_of(x)), av_of(y)).backward()
        torch.nn.functional.mse_loss(t(x), y).backward()
        oa.step()
        ot.step()
        for (name, p), q in zip(a.named_parameters(), t.parameters()):
            assert_close(p, q, what=f"step {i}: {name}", **tol)


@pytest.mark.parametrize("name,kw", CONFIGS)
def test_optimizer_steps_match_torch(torch, name, kw):
    a, t = _models(torch)
    oa, ot = getattr(optim, name)(a.parameters(), **kw), getattr(torch.optim, name)(
        t.parameters(), **kw)
    assert oa.defaults == ot.defaults
    _steps(torch, a, t, oa, ot, 5)
    sa, st = oa.state_dict(), ot.state_dict()
    assert sa["param_groups"] == st["param_groups"]
    assert sa["state"].keys() == st["state"].keys()
    for k in st["state"]:
        assert sa["state"][k].keys() == st["state"][k].keys()
        for key, v in st["state"][k].items():
            assert_close(sa["state"][k][key], v, what=key)
            assert sa["state"][k][key].dtype.name == str(v.dtype).replace("torch.", "")
    assert repr(oa) == repr(ot)


@pytest.mark.parametrize("name,kw", [CONFIGS[2], CONFIGS[7], CONFIGS[13]])
def test_state_dict_resume_matches_uninterrupted(torch, name, kw):
    a, t = _models(torch)
    oa, ot = getattr(optim, name)(a.parameters(), **kw), getattr(torch.optim, name)(
        t.parameters(), **kw)
    _steps(torch, a, t, oa, ot, 3)
    saved = oa.state_dict()
    fresh = getattr(optim, name)(a.parameters(), **kw)
    fresh.load_state_dict(saved)
    _steps(torch, a, t, fresh, ot, 2, start=3)
    k0 = next(iter(fresh.state))
    assert all(v._data is not saved["state"][0][key]._data
               for key, v in fresh.state[k0].items())


def test_param_groups_with_own_hyperparameters(torch):
    a, t = _models(torch)
    oa = optim.SGD([{"params": a[0].parameters()},
                    {"params": a[2].parameters(), "lr": 0.5, "momentum": 0.9}], lr=0.1)
    ot = torch.optim.SGD([{"params": t[0].parameters()},
                          {"params": t[2].parameters(), "lr": 0.5, "momentum": 0.9}], lr=0.1)
    assert oa.param_groups[1]["lr"] == 0.5 and oa.param_groups[0]["momentum"] == 0
    _steps(torch, a, t, oa, ot, 3)
    assert oa.state_dict()["param_groups"] == ot.state_dict()["param_groups"]


def test_add_param_group_and_named_params(torch):
    a, _ = _models(torch)
    opt = optim.Adam(a[0].parameters(), lr=0.01)
    opt.add_param_group({"params": a[2].weight, "lr": 0.1})
    assert len(opt.param_groups) == 2 and opt.param_groups[1]["betas"] == (0.9, 0.999)
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter "
                                         "group"):
        opt.add_param_group({"params": [a[0].weight]})
    named = optim.SGD(a.named_parameters(), lr=0.1)
    assert named.param_groups[0]["param_names"][0] == "0.weight"
    assert named.state_dict()["param_groups"][0]["param_names"][-1] == "2.bias"


def test_zero_grad_and_closure():
    w = nn.Parameter(av.tensor([1.0, 2.0]))
    opt = optim.SGD([w], lr=0.1)
    calls = []

    def closure():
        opt.zero_grad()
        loss = (w ** 2).sum()
        loss.backward()
        calls.append(av.is_grad_enabled())
        return loss

    loss = opt.step(closure)
    assert calls == [True] and loss.item() == 5.0
    assert w.tolist() == pytest.approx([0.8, 1.6])
    opt.zero_grad(set_to_none=False)
    assert w.grad.tolist() == [0.0, 0.0]
    opt.zero_grad()
    assert w.grad is None
    opt.step()  # parameters without grad are skipped
    assert w.tolist() == pytest.approx([0.8, 1.6])
    assert w._vc.v > 0


@pytest.mark.parametrize("call", [
    lambda o, m: o.SGD([], lr=0.1),
    lambda o, m: o.SGD(m.zeros(2, requires_grad=True), lr=0.1),
    lambda o, m: o.SGD([m.zeros(2, requires_grad=True)], lr=-0.1),
    lambda o, m: o.SGD([m.zeros(2, requires_grad=True)], lr=0.1, nesterov=True),
    lambda o, m: o.SGD([m.zeros(2, requires_grad=True) * 2], lr=0.1),
    lambda o, m: o.Adam([m.zeros(2, requires_grad=True)], betas=(1.0, 0.9)),
    lambda o, m: o.Adam([m.zeros(2, requires_grad=True)], eps=-1),
    lambda o, m: o.RMSprop([m.zeros(2, requires_grad=True)], alpha=-1),
    lambda o, m: o.SGD([{"params": {m.zeros(2, requires_grad=True)}}], lr=0.1),
])
def test_optimizer_errors_match_torch(torch, call):
    with pytest.raises(Exception) as theirs:
        call(torch.optim, torch)
    with pytest.raises(type(theirs.value)) as ours:
        call(optim, av)
    assert str(ours.value) == str(theirs.value)


def test_load_state_dict_errors():
    p, q = nn.Parameter(av.zeros(2)), nn.Parameter(av.zeros(3))
    opt = optim.SGD([p], lr=0.1)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict(optim.SGD([{"params": [p]}, {"params": [q]}], lr=1).state_dict())
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        opt.load_state_dict(optim.SGD([p, q], lr=1).state_dict())


def test_float32_model_trains_with_float32_state():
    lin = nn.Linear(2, 1)
    opt = optim.Adam(lin.parameters(), lr=0.1)
    lin(av.randn(4, 2)).sum().backward()
    opt.step()
    st = opt.state[lin.weight]
    assert st["exp_avg"].dtype is av.float32 and st["step"].dtype is av.float32
    assert st["step"].item() == 1.0 and lin.weight.dtype is av.float32
