"""Learning-rate schedulers against PyTorch: the rates over many epochs, get_last_lr,
state_dict, chaining with the optimizer, the step-order warning."""
from __future__ import annotations

import warnings

import pytest

import autograd_viz as av

optim = av.optim


def _pair(torch, lr=0.1):
    pa = av.nn.Parameter(av.zeros(1))
    pt = torch.nn.Parameter(torch.zeros(1))
    oa = optim.SGD([pa, ], lr=lr, momentum=0.9)
    ot = torch.optim.SGD([pt], lr=lr, momentum=0.9)
    oa.add_param_group({"params": [av.nn.Parameter(av.zeros(1))], "lr": lr * 3})
    ot.add_param_group({"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr * 3})
    return oa, ot


SCHEDULERS = [
    ("StepLR", {"step_size": 3}),
    ("StepLR", {"step_size": 2, "gamma": 0.5}),
    ("MultiStepLR", {"milestones": [2, 5, 5, 9], "gamma": 0.3}),
    ("ExponentialLR", {"gamma": 0.9}),
    ("CosineAnnealingLR", {"T_max": 5}),
    ("CosineAnnealingLR", {"T_max": 4, "eta_min": 0.01}),
]


@pytest.mark.parametrize("name,kw", SCHEDULERS)
def test_scheduler_rates_match_torch(torch, name, kw):
    oa, ot = _pair(torch)
    sa = getattr(optim.lr_scheduler, name)(oa, **kw)
    st = getattr(torch.optim.lr_scheduler, name)(ot, **kw)
    assert sa.get_last_lr() == st.get_last_lr()
    for _ in range(15):
        oa.step()
        ot.step()
        sa.step()
        st.step()
        assert sa.get_last_lr() == pytest.approx(st.get_last_lr(), rel=1e-12, abs=1e-15)
        assert [g["lr"] for g in oa.param_groups] == pytest.approx(
            [g["lr"] for g in ot.param_groups], rel=1e-12, abs=1e-15)
    assert sa.last_epoch == st.last_epoch == 15
    assert oa.param_groups[0]["initial_lr"] == 0.1
    sd = sa.state_dict()
    assert "optimizer" not in sd and sd["base_lrs"] == st.state_dict()["base_lrs"]


def test_lambda_lr_and_closed_form_epoch(torch):
    oa, ot = _pair(torch)
    sa = optim.lr_scheduler.LambdaLR(oa, lambda e: 0.5 ** e)
    st = torch.optim.lr_scheduler.LambdaLR(ot, lambda e: 0.5 ** e)
    for _ in range(4):
        oa.step()
        ot.step()
        sa.step()
        st.step()
    assert sa.get_last_lr() == pytest.approx(st.get_last_lr())
    oa, ot = _pair(torch)
    sa = optim.lr_scheduler.CosineAnnealingLR(oa, 10)
    st = torch.optim.lr_scheduler.CosineAnnealingLR(ot, 10)
    oa.step()
    ot.step()
    with pytest.warns(UserWarning):
        sa.step(7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        st.step(7)
    assert sa.get_last_lr() == pytest.approx(st.get_last_lr())


def test_scheduler_before_optimizer_step_warns():
    oa = optim.SGD([av.nn.Parameter(av.zeros(1))], lr=0.1)
    sched = optim.lr_scheduler.StepLR(oa, 1)
    with pytest.warns(UserWarning, match="Detected call of `lr_scheduler.step\\(\\)` before "
                                         "`optimizer.step\\(\\)`"):
        sched.step()


def test_scheduler_state_dict_round_trip():
    oa = optim.SGD([av.nn.Parameter(av.zeros(1))], lr=1.0)
    s = optim.lr_scheduler.StepLR(oa, 2, gamma=0.5)
    for _ in range(5):
        oa.step()
        s.step()
    oa2 = optim.SGD([av.nn.Parameter(av.zeros(1))], lr=1.0)
    s2 = optim.lr_scheduler.StepLR(oa2, 2, gamma=0.5)
    s2.load_state_dict(s.state_dict())
    assert s2.last_epoch == 5 and s2.get_last_lr() == s.get_last_lr() == [0.25]
    with pytest.raises(TypeError, match="list is not an Optimizer"):
        optim.lr_scheduler.StepLR([], 1)
