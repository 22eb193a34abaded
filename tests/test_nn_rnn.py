"""RNN / LSTM / GRU and their cells against PyTorch (same weights, float64): outputs, final
states, input and parameter gradients; graph names; gradcheck; PyTorch's errors."""
from __future__ import annotations

import pytest
from test_nn_helpers import av_of, chain_names, compare_module

import autograd_viz as av
from autograd_viz.autograd import gradcheck

nn = av.nn


def _x(torch, *shape, seed=0):
    return torch.randn(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


RNN_CASES = [
    ("RNN", {}),
    ("RNN", {"nonlinearity": "relu", "num_layers": 2}),
    ("RNN", {"batch_first": True, "bias": False}),
    ("RNN", {"bidirectional": True, "num_layers": 2}),
    ("LSTM", {}),
    ("LSTM", {"num_layers": 2, "batch_first": True}),
    ("LSTM", {"bidirectional": True}),
    ("LSTM", {"proj_size": 2, "num_layers": 2}),
    ("GRU", {}),
    ("GRU", {"num_layers": 2, "bidirectional": True, "batch_first": True}),
]


@pytest.mark.parametrize("name,kw", RNN_CASES)
@pytest.mark.parametrize("with_h0", [False, True])
def test_recurrent_layers_match_torch(torch, name, kw, with_h0):
    t_mod = getattr(torch.nn, name)(3, 4, **kw)
    a_mod = getattr(nn, name)(3, 4, **kw)
    assert repr(a_mod) == repr(t_mod)
    assert [n for n, _ in a_mod.named_parameters()] == [n for n, _ in t_mod.named_parameters()]
    x = _x(torch, 2, 5, 3) if kw.get("batch_first") else _x(torch, 5, 2, 3)
    args = [x]
    if with_h0:
        dirs = 2 if kw.get("bidirectional") else 1
        layers = kw.get("num_layers", 1) * dirs
        h0 = _x(torch, layers, 2, kw.get("proj_size") or 4, seed=1)
        if name == "LSTM":
            c0 = _x(torch, layers, 2, 4, seed=2)
            compare_module(torch, _TupleH(a_mod), _TupleH(t_mod, torch), x, h0, c0)
            return
        args.append(h0)
    compare_module(torch, a_mod, t_mod, *args)


class _TupleH:
    """Adapts ``lstm(x, (h0, c0))`` to ``f(x, h0, c0)`` for compare_module."""

    def __init__(self, mod, torch=None):
        self.mod = mod

    def double(self):
        self.mod = self.mod.double()
        return self

    def __call__(self, x, h0, c0):
        return self.mod(x, (h0, c0))

    def named_parameters(self):
        return self.mod.named_parameters()

    def state_dict(self):
        return self.mod.state_dict()

    def load_state_dict(self, sd):
        return self.mod.load_state_dict(sd)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_unbatched_input(torch, name):
    a, t = compare_module(torch, getattr(nn, name)(3, 4), getattr(torch.nn, name)(3, 4),
                          _x(torch, 6, 3))
    assert a[0].shape == (6, 4)


def test_rnn_graph_names_match_torch(torch):
    t_rnn, a_rnn = torch.nn.RNN(3, 4), nn.RNN(3, 4)
    x = _x(torch, 5, 2, 3).float()
    out_t, h_t = t_rnn(x)
    out_a, h_a = a_rnn(av_of(x))
    assert chain_names(out_a, 4) == chain_names(out_t, 4) == [
        "StackBackward0", "TanhBackward0", "AddBackward0", "AddmmBackward0"]
    assert chain_names(h_a, 2) == chain_names(h_t, 2)
    cell_out = nn.RNNCell(3, 4)(av.randn(2, 3))
    assert chain_names(cell_out, 3) == chain_names(torch.nn.RNNCell(3, 4)(torch.randn(2, 3)), 3)


@pytest.mark.parametrize("name,kw", [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu"}),
                                     ("RNNCell", {"bias": False}), ("LSTMCell", {}),
                                     ("GRUCell", {})])
@pytest.mark.parametrize("with_h", [False, True])
def test_cells_match_torch(torch, name, kw, with_h):
    t_mod, a_mod = getattr(torch.nn, name)(3, 4, **kw), getattr(nn, name)(3, 4, **kw)
    assert repr(a_mod) == repr(t_mod)
    x = _x(torch, 2, 3)
    if not with_h:
        compare_module(torch, a_mod, t_mod, x)
    elif name == "LSTMCell":
        compare_module(torch, _TupleH(a_mod), _TupleH(t_mod), x, _x(torch, 2, 4, seed=1),
                       _x(torch, 2, 4, seed=2))
    else:
        compare_module(torch, a_mod, t_mod, x, _x(torch, 2, 4, seed=1))


def test_rnn_cell_loop_equals_rnn(torch):
    """The seed's RNN vs RNNCell comparison: the cell applied step by step gives the layer's
    output when both share weights."""
    av.manual_seed(0)
    rnn = nn.RNN(4, 3, 1)
    cell = nn.RNNCell(4, 3)
    cell.weight_ih, cell.weight_hh = rnn.weight_ih_l0, rnn.weight_hh_l0
    cell.bias_ih, cell.bias_hh = rnn.bias_ih_l0, rnn.bias_hh_l0
    x, h0 = av.randn(2, 3, 4), av.randn(1, 3, 3)
    out, hn = rnn(x, h0)
    h = h0[0]
    for t in range(2):
        h = cell(x[t], h)
        assert out[t].detach().numpy() == pytest.approx(h.detach().numpy(), abs=1e-6)
    assert hn[0].detach().numpy() == pytest.approx(h.detach().numpy(), abs=1e-6)


def test_rnn_gradcheck():
    av.manual_seed(1)
    rnn = nn.RNN(2, 3, num_layers=2).double()
    x = av.randn(3, 1, 2, dtype=av.float64, requires_grad=True)
    h0 = av.randn(2, 1, 3, dtype=av.float64, requires_grad=True)
    assert gradcheck(lambda x, h0: rnn(x, h0)[0], (x, h0))
    lstm = nn.LSTM(2, 2).double()
    assert gradcheck(lambda x: lstm(x)[1][1], (x,))


@pytest.mark.parametrize("call", [
    lambda nn, m: nn.RNN(3, 4)(m.randn(5, 2, 4)),
    lambda nn, m: nn.RNN(3, 4)(m.randn(5, 2, 3, 1)),
    lambda nn, m: nn.RNN(3, 4)(m.randn(5, 2, 3), m.randn(1, 3, 4)),
    lambda nn, m: nn.RNN(3, 4)(m.randn(5, 3), m.randn(1, 1, 4)),
    lambda nn, m: nn.RNN(3, 4)(m.randn(5, 2, 3), m.randn(1, 4)),
    lambda nn, m: nn.LSTM(3, 4)(m.randn(5, 2, 3), (m.randn(1, 3, 4), m.randn(1, 2, 4))),
    lambda nn, m: nn.LSTM(3, 4)(m.randn(5, 2, 3), (m.randn(1, 2, 4), m.randn(1, 3, 4))),
    lambda nn, m: nn.LSTM(3, 4)(m.randn(5, 2, 3, 1)),
    lambda nn, m: nn.RNNCell(3, 4)(m.randn(2, 4)),
    lambda nn, m: nn.RNNCell(3, 4)(m.randn(5, 2, 3)),
    lambda nn, m: nn.RNNCell(3, 4)(m.randn(2, 3), m.randn(3, 4)),
    lambda nn, m: nn.RNNCell(3, 4)(m.randn(2, 3), m.randn(2, 5)),
    lambda nn, m: nn.LSTMCell(3, 4)(m.randn(2, 3), (m.randn(3, 4), m.randn(2, 4))),
    lambda nn, m: nn.RNN(3, 4, nonlinearity="foo"),
    lambda nn, m: nn.GRU(3, 4)(m.randn(5, 2, 3, dtype=m.float64)),
])
def test_recurrent_errors_match_torch(torch, call):
    with pytest.raises(Exception) as theirs:
        call(torch.nn, torch)
    with pytest.raises(type(theirs.value)) as ours:
        call(nn, av)
    assert str(ours.value).replace("autograd_viz.", "torch.") == str(theirs.value)


def test_dropout_between_layers_and_warning():
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        nn.RNN(3, 4, dropout=0.5)
    av.manual_seed(0)
    rnn = nn.LSTM(3, 4, num_layers=2, dropout=0.5)
    x = av.randn(4, 2, 3)
    a, b = rnn(x)[0], rnn(x)[0]
    assert not (a.detach().numpy() == b.detach().numpy()).all()
    rnn.eval()
    assert (rnn(x)[0].detach().numpy() == rnn(x)[0].detach().numpy()).all()
