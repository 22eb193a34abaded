"""The Module API: registration, traversal and dotted names, containers, repr (compared with
PyTorch's), state_dict / load_state_dict and their errors, hooks, train/eval, to/double,
zero_grad, Parameter."""
from __future__ import annotations

import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest
from test_nn_helpers import assert_close, copy_weights

import autograd_viz as av

nn = av.nn
F = av.nn.functional


def _lenet(nn):
    """The seed's LeNet, built from either library's nn."""

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 6, 5)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1 = nn.Linear(16 * 5 * 5, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, x):
            x = nn.functional.max_pool2d(nn.functional.relu(self.conv1(x)), (2, 2))
            x = nn.functional.max_pool2d(nn.functional.relu(self.conv2(x)), 2)
            x = x.view(x.size()[0], -1)
            x = nn.functional.relu(self.fc1(x))
            x = nn.functional.relu(self.fc2(x))
            return self.fc3(x)

    return Net()


def test_lenet_repr_names_and_forward_match_torch(torch):
    a, t = _lenet(nn), _lenet(torch.nn)
    assert repr(a) == repr(t)
    assert [n for n, _ in a.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [tuple(p.shape) for p in a.parameters()] == [tuple(p.shape) for p in t.parameters()]
    assert [n for n, _ in a.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in a.named_children()] == ["conv1", "conv2", "fc1", "fc2", "fc3"]
    copy_weights(a, t)
    x = torch.randn(2, 3, 32, 32)
    assert_close(a(av.tensor(x.numpy())), t(x), rtol=1e-4, atol=1e-5)


def test_seed_lenet_flow_matches_torch(torch):
    """The seed's LeNet walkthrough: backward with ones, MSELoss against 0..9, zero_grad
    (grads become None), one SGD step; same numbers as PyTorch with the same weights."""
    a, t = _lenet(nn).double(), _lenet(torch.nn).double()
    copy_weights(a, t)
    x = torch.randn(1, 3, 32, 32, dtype=torch.float64)
    xa = av.tensor(x.numpy())
    out_a, out_t = a(xa), t(x)
    assert out_a.size() == (1, 10)
    a.zero_grad()
    t.zero_grad()
    out_a.backward(av.ones(1, 10, dtype=av.float64))
    out_t.backward(torch.ones(1, 10, dtype=torch.float64))
    assert_close(a.conv1.bias.grad, t.conv1.bias.grad)
    target_a = av.arange(0, 10).view(1, 10).double()
    target_t = torch.arange(0, 10).view(1, 10).double()
    crit_a, crit_t = nn.MSELoss(), torch.nn.MSELoss()
    loss_a, loss_t = crit_a(a(xa), target_a), crit_t(t(x), target_t)
    assert_close(loss_a, loss_t)
    assert loss_a.grad_fn.name() == "MseLossBackward0"
    a.zero_grad()
    t.zero_grad()
    assert a.conv1.bias.grad is None and t.conv1.bias.grad is None
    loss_a.backward()
    loss_t.backward()
    assert_close(a.conv1.bias.grad, t.conv1.bias.grad)
    opt_a = av.optim.SGD(a.parameters(), lr=0.01)
    opt_t = torch.optim.SGD(t.parameters(), lr=0.01)
    opt_a.step()
    opt_t.step()
    for (name, p), q in zip(a.named_parameters(), t.parameters()):
        assert_close(p, q, what=name)
    assert len(list(a.parameters())) == 10


def test_registration_and_attribute_rules(torch):
    m = nn.Module()
    m.w = nn.Parameter(av.zeros(2))
    m.sub = nn.Linear(2, 2)
    m.register_buffer("running", av.ones(2))
    m.register_buffer("tmp", av.ones(1), persistent=False)
    m.plain = 3
    assert list(m._parameters) == ["w"] and list(m._modules) == ["sub"]
    assert list(m.state_dict()) == ["w", "running", "sub.weight", "sub.bias"]
    assert [n for n, _ in m.named_buffers()] == ["running", "tmp"]
    assert m.get_parameter("sub.weight") is m.sub.weight and m.get_submodule("sub") is m.sub
    assert m.get_buffer("running") is m.running
    with pytest.raises(TypeError, match=r"cannot assign 'torch.FloatTensor' as parameter 'w' "
                                        r"\(torch.nn.Parameter or None expected\)"):
        m.w = av.zeros(2)
    m.w = None
    assert m.w is None and list(m.parameters())[0] is m.sub.weight
    with pytest.raises(KeyError) as err:
        m.register_parameter("a.b", None)
    assert err.value.args[0] == 'parameter name can\'t contain "."'
    with pytest.raises(KeyError, match="attribute 'plain' already exists"):
        m.register_buffer("plain", av.zeros(1))
    with pytest.raises(TypeError, match="int is not a Module subclass"):
        m.add_module("q", 3)
    with pytest.raises(AttributeError, match="'Module' object has no attribute 'nope'"):
        m.nope
    with pytest.raises(ValueError, match="Cannot assign non-leaf Tensor to parameter 'x'"):
        p = nn.Parameter(av.zeros(2))
        m.register_parameter("x", _nonleaf_param(p))
    del m.sub
    assert "sub" not in m._modules
    with pytest.raises(NotImplementedError, match='Module \\[Module\\] is missing the required '
                                                  '"forward" function'):
        m(1)


def _nonleaf_param(p):
    q = nn.Parameter(av.zeros(2))
    q.grad_fn = (p * 2).grad_fn
    return q


def test_shared_parameters_and_modules_counted_once():
    lin = nn.Linear(2, 2)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(seq.parameters())) == 2
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias"]
    assert len(list(seq.named_parameters(remove_duplicate=False))) == 4
    assert len(list(seq.modules())) == 3


def test_parameter_semantics(torch):
    base = av.ones(2)
    p = nn.Parameter(base)
    assert isinstance(p, av.Tensor) and p.requires_grad and p.is_leaf
    assert repr(p) == repr(torch.nn.Parameter(torch.ones(2)))
    assert repr(nn.Parameter(av.ones(2), requires_grad=False)) == \
        "Parameter containing:\ntensor([1., 1.])"
    base[0] = 5.0
    assert p[0].item() == 5.0  # shares memory with its data
    y = p * 2
    assert type(y) is av.Tensor and y.grad_fn.name() == "MulBackward0"
    with pytest.raises(RuntimeError, match="Only Tensors of floating point"):
        nn.Parameter(av.ones(2, dtype=av.int64))
    q = copy.deepcopy(p)
    assert isinstance(q, nn.Parameter) and q.requires_grad and q._data is not p._data
    r = pickle.loads(pickle.dumps(p))
    assert isinstance(r, nn.Parameter) and r.tolist() == p.tolist()
    assert nn.Parameter().shape == (0,)


def test_parameter_list_and_dict(torch):
    pl = nn.ParameterList([nn.Parameter(av.zeros(3, 4)), av.zeros(2, dtype=av.float64)])
    tl = torch.nn.ParameterList([torch.nn.Parameter(torch.zeros(3, 4)),
                                 torch.zeros(2, dtype=torch.float64)])
    assert isinstance(pl[1], nn.Parameter) and len(pl) == 2
    assert repr(pl) == repr(tl).replace("torch.float", "autograd_viz.float")
    pl.append(av.ones(1))
    assert [n for n, _ in pl.named_parameters()] == ["0", "1", "2"]
    assert len(pl[1:]) == 2
    pd = nn.ParameterDict({"b": nn.Parameter(av.zeros(3, 4)), "a": av.zeros(2)})
    td = torch.nn.ParameterDict({"b": torch.nn.Parameter(torch.zeros(3, 4)),
                                 "a": torch.zeros(2)})
    assert repr(pd) == repr(td)
    assert list(pd.keys()) == ["a", "b"] and "a" in pd and isinstance(pd["a"], nn.Parameter)
    pd["c"] = av.ones(1)
    assert [n for n, _ in pd.named_parameters()] == ["a", "b", "c"]
    assert pd.pop("c").tolist() == [1.0] and len(pd) == 2
    with pytest.raises(RuntimeError, match="ParameterList should not be called."):
        pl(1)


def test_sequential_indexing_slicing_and_ordered_dict(torch):
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert isinstance(seq[0], nn.Linear) and isinstance(seq[-1], nn.Linear) and len(seq) == 3
    sub = seq[1:]
    assert isinstance(sub, nn.Sequential) and list(sub._modules) == ["1", "2"]
    assert repr(sub) == repr(torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(),
                                                 torch.nn.Linear(3, 1))[1:])
    with pytest.raises(IndexError, match="index 3 is out of range"):
        seq[3]
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.Tanh())]))
    assert [n for n, _ in named.named_parameters()] == ["fc.weight", "fc.bias"]
    assert named.act is named[1]
    x = av.randn(4, 2)
    assert_close(named(x), named.act(named.fc(x)))
    del seq[1]
    assert list(seq._modules) == ["0", "1"]
    seq.append(nn.Sigmoid())
    seq.insert(0, nn.Identity())
    assert [type(m).__name__ for m in seq] == ["Identity", "Linear", "Linear", "Sigmoid"]


def test_module_list_and_dict_repr_and_ops(torch):
    ml = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2)])
    tl = torch.nn.ModuleList([torch.nn.Linear(2, 2), torch.nn.Linear(2, 2), torch.nn.ReLU(),
                              torch.nn.Linear(2, 2)])
    assert repr(ml) == repr(tl)
    assert repr(nn.ModuleList()) == "ModuleList()"
    assert len(ml) == 4 and isinstance(ml[-1], nn.Linear)
    assert [n for n, _ in ml.named_parameters()][:2] == ["0.weight", "0.bias"]
    ml.extend([nn.Tanh()])
    ml.insert(1, nn.Sigmoid())
    assert [type(m).__name__ for m in ml] == ["Linear", "Sigmoid", "Linear", "ReLU", "Linear",
                                             "Tanh"]
    with pytest.raises(IndexError, match="index 10 is out of range"):
        ml[10]
    md = nn.ModuleDict({"b": nn.ReLU(), "a": nn.Linear(2, 2)})
    td = torch.nn.ModuleDict({"b": torch.nn.ReLU(), "a": torch.nn.Linear(2, 2)})
    assert repr(md) == repr(td)
    assert list(md.keys()) == ["b", "a"] and "a" in md
    md["c"] = nn.Tanh()
    assert len(md) == 3 and isinstance(md.pop("c"), nn.Tanh)


def test_state_dict_round_trip_and_sharing():
    a, b = _lenet(nn), _lenet(nn)
    sd = a.state_dict()
    assert list(sd)[:2] == ["conv1.weight", "conv1.bias"]
    assert all(not v.requires_grad for v in sd.values())
    assert sd._metadata[""] == {"version": 1}
    assert repr(b.load_state_dict(sd)) == "<All keys matched successfully>"
    for (n, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        assert np.array_equal(p.detach().numpy(), q.detach().numpy()), n
        assert p._data is not q._data
    sd["fc3.bias"][0] = 123.0  # detached but shares memory with the module
    assert a.fc3.bias[0].item() == 123.0
    assert a.state_dict(keep_vars=True)["fc3.bias"] is a.fc3.bias


@pytest.mark.parametrize("make_sd", [
    lambda m: {"weight": m.randn(3, 2), "bias2": m.randn(3), "x.y": m.zeros(1)},
    lambda m: {"weight": m.randn(3, 3), "bias": m.randn(3)},
    lambda m: {"weight": 3, "bias": m.zeros(3)},
])
def test_load_state_dict_errors_match_torch(torch, make_sd):
    with pytest.raises(RuntimeError) as theirs:
        torch.nn.Linear(2, 3).load_state_dict(make_sd(torch))
    with pytest.raises(RuntimeError) as ours:
        nn.Linear(2, 3).load_state_dict(make_sd(av))
    assert str(ours.value).replace("autograd_viz.Size", "torch.Size") == str(theirs.value)


def test_load_state_dict_nested_and_non_strict(torch):
    sd = {"0.weight": av.zeros(3, 2), "0.bias": av.zeros(3), "1.weight": av.zeros(1),
          "foo": av.zeros(1), "0.x.y": av.zeros(1)}
    tsd = {k: torch.tensor(v.numpy()) for k, v in sd.items()}
    with pytest.raises(RuntimeError) as theirs:
        torch.nn.Sequential(torch.nn.Linear(2, 3)).load_state_dict(tsd)
    with pytest.raises(RuntimeError) as ours:
        nn.Sequential(nn.Linear(2, 3)).load_state_dict(sd)
    assert str(ours.value) == str(theirs.value)
    res = nn.Linear(2, 3).load_state_dict({"weight": av.ones(3, 2), "bias2": av.ones(3)},
                                          strict=False)
    assert res.missing_keys == ["bias"] and res.unexpected_keys == ["bias2"]
    assert repr(res) == "_IncompatibleKeys(missing_keys=['bias'], unexpected_keys=['bias2'])"
    with pytest.raises(TypeError, match="Expected state_dict to be dict-like, got <class "
                                        "'list'>."):
        nn.Linear(2, 3).load_state_dict([1])
    lin = nn.Linear(2, 3)
    new_w = av.ones(3, 2)
    lin.load_state_dict({"weight": new_w, "bias": av.zeros(3)}, assign=True)
    assert isinstance(lin.weight, nn.Parameter) and lin.weight._data is new_w._data


def test_forward_hooks_and_removable_handles():
    lin = nn.Linear(2, 2)
    calls = []
    h1 = lin.register_forward_pre_hook(lambda m, args: calls.append(("pre", args[0].shape)))
    h2 = lin.register_forward_hook(lambda m, args, out: out * 0)
    h3 = lin.register_forward_pre_hook(lambda m, args: (args[0] * 0,), prepend=True)
    out = lin(av.ones(1, 2))
    assert calls == [("pre", (1, 2))] and out.abs().sum().item() == 0
    h2.remove()
    h3.remove()
    assert lin(av.ones(1, 2)).abs().sum().item() > 0
    with h1:
        pass
    lin(av.ones(1, 2))
    assert len(calls) == 2
    kw = lin.register_forward_hook(lambda m, a, k, o: o + k.get("unused", 0), with_kwargs=True)
    lin(av.ones(1, 2))
    kw.remove()
    assert not lin._forward_hooks and not lin._forward_pre_hooks


def test_full_backward_hook(torch):
    def run(lib, Lin):
        lin = Lin(3, 2).double()
        seen = []
        lin.register_full_backward_hook(
            lambda m, gi, go: seen.append((len(gi), go[0].shape)) or (gi[0] * 2,))
        x = lib.ones(4, 3, dtype=lib.float64, requires_grad=True)
        lin(x).sum().backward()
        return seen, x.grad, lin

    seen_a, ga, lin_a = run(av, nn.Linear)
    seen_t, gt, lin_t = run(torch, torch.nn.Linear)
    assert seen_a == [(1, (4, 2))] and seen_t == [(1, torch.Size([4, 2]))]
    assert ga.shape == (4, 3)
    assert x_grad_node_name(lin_a) == "BackwardHookFunctionBackward"
    assert np.allclose(ga.numpy(), 2 * lin_a.weight.detach().numpy().sum(0))


def x_grad_node_name(lin):
    x = av.ones(1, 3, dtype=av.float64, requires_grad=True)
    return lin(x).grad_fn.name()


def test_train_eval_apply_requires_grad_and_zero_grad():
    net = nn.Sequential(nn.Linear(2, 2), nn.Dropout(), nn.Sequential(nn.BatchNorm1d(2)))
    assert all(m.training for m in net.modules())
    net.eval()
    assert not any(m.training for m in net.modules())
    net.train()
    visited = []
    net.apply(lambda m: visited.append(type(m).__name__))
    assert visited == ["Linear", "Dropout", "BatchNorm1d", "Sequential", "Sequential"]
    net(av.randn(4, 2)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(p.grad is not None and p.grad.abs().sum().item() == 0 for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        net.train("yes")


def test_to_double_float_keep_parameter_identity():
    net = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    w = net[0].weight
    net(av.randn(3, 2)).sum().backward()
    net.double()
    assert net[0].weight is w and w.dtype is av.float64 and w.grad.dtype is av.float64
    assert net[1].running_mean.dtype is av.float64
    assert net[1].num_batches_tracked.dtype is av.int64
    net.to(av.float32)
    assert w.dtype is av.float32
    net.to("cpu")
    net.cpu()
    assert w.device.type == "cpu"
    with pytest.raises(TypeError, match="nn.Module.to only accepts floating point"):
        net.to(av.int64)


def test_deepcopy_module():
    net = nn.Sequential(nn.Linear(2, 2))
    net2 = copy.deepcopy(net)
    assert isinstance(net2[0].weight, nn.Parameter)
    assert net2[0].weight._data is not net[0].weight._data
    assert_close(net2(av.ones(1, 2)), net(av.ones(1, 2)))


def test_module_to_cuda_on_device(device):
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                        nn.Linear(2 * 3 * 3, 3))
    net.to(device)
    x = av.randn(2, 1, 8, 8, device=device)
    out = net(x)
    assert out.device.type == device and out.shape == (2, 3)
    F.cross_entropy(out, av.tensor([0, 2], device=device)).backward()
    assert all(p.grad.device.type == device for p in net.parameters())


def test_pickle_module_round_trip():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(8, 2))
    net2 = pickle.loads(pickle.dumps(net))
    assert repr(net2) == repr(net)
    net.eval()
    net2.eval()
    x = av.randn(1, 1, 4, 4)
    assert_close(net2(x), net(x))
    assert all(isinstance(p, nn.Parameter) for p in net2.parameters())


def test_full_backward_pre_hook_like_torch(torch):
    """``register_full_backward_pre_hook``: sees grad_output first, may replace it; the full
    backward hook then sees the replaced grad_output; removable."""
    def run(m):
        log = []
        m.manual_seed(0)
        lin = m.nn.Linear(3, 2)
        with m.no_grad():
            lin.weight.copy_(m.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
        pre = lin.register_full_backward_pre_hook(
            lambda mod, go: (log.append(("pre", go[0].tolist())), (go[0] * 2,))[1])
        lin.register_full_backward_hook(
            lambda mod, gi, go: log.append(("full", gi[0].tolist(), go[0].tolist())))
        x = m.ones(1, 3, requires_grad=True)
        lin(x).sum().backward()
        log.append(("grads", x.grad.tolist(), lin.weight.grad.tolist()))
        pre.remove()
        x.grad = None
        lin(x).sum().backward()
        log.append(("after remove", x.grad.tolist()))
        return log

    assert run(av) == run(torch)
