"""Real training, kept short: the seed's least squares converges to w ~ 2, b ~ 3; the seed's
LeNet (adapted to 8x8) learns scikit-learn's digits; a small RNN learns a memory task; the
seed's RNN / RNNCell shape examples. Full runs live in examples/."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

import autograd_viz as av

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _example(name: str):
    spec = importlib.util.spec_from_file_location(f"_example_{name}", EXAMPLES / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def test_least_squares_by_hand_and_with_nn():
    ls = _example("least_squares")
    w, b = ls.fit_by_hand(steps=4000)
    assert abs(w - 2) < 0.25 and abs(b - 3) < 1.0
    w, b = ls.fit_with_nn(steps=1500)
    assert abs(w - 2) < 0.1 and abs(b - 3) < 0.3


def test_get_fake_data_shapes_and_line():
    ls = _example("least_squares")
    av.manual_seed(1000)
    x, y = ls.get_fake_data(1000)
    assert x.shape == y.shape == (1000, 1)
    slope, intercept = np.polyfit(x.numpy()[:, 0], y.numpy()[:, 0], 1)
    assert abs(slope - 2) < 0.1 and abs(intercept - 3) < 1.0


def test_lenet_learns_digits_in_a_short_run():
    pytest.importorskip("sklearn")
    lenet = _example("lenet_digits")
    model, acc, _ = lenet.train(epochs=3, verbose=False)
    assert acc > 0.7  # chance is 0.1; the full run in examples/ reaches >= 0.95
    assert [n for n, _ in model.named_parameters()][:2] == ["conv1.weight", "conv1.bias"]
    out = model(av.zeros(2, 1, 8, 8))
    assert out.shape == (2, 10) and out.grad_fn.name() == "AddmmBackward0"


@pytest.mark.parametrize("cell", ["RNN", "LSTM"])
def test_small_rnn_learns_the_memory_task(cell):
    toy = _example("rnn_toy")
    _, acc, _ = toy.train(steps=150, cell=cell, verbose=False)
    assert acc > 0.9


def test_seed_rnn_and_rnncell_shapes():
    """The seed's nn.RNN(10, 20, 2) on (5, 3, 10) with h0 (2, 3, 20), and RNNCell(10, 20)
    stepped over 6 inputs."""
    rnn = av.nn.RNN(10, 20, 2)
    inp, h0 = av.randn(5, 3, 10), av.randn(2, 3, 20)
    output, hn = rnn(inp, h0)
    assert output.size() == (5, 3, 20) and hn.size() == (2, 3, 20)
    cell = av.nn.RNNCell(10, 20)
    inp, hx = av.randn(6, 3, 10), av.randn(3, 20)
    outs = []
    for i in range(6):
        hx = cell(inp[i], hx)
        outs.append(hx)
    assert len(outs) == 6 and outs[-1].shape == (3, 20)
    assert outs[-1].grad_fn.name() == "TanhBackward0"


def test_model_graph_can_be_recorded_and_drawn_as_text():
    """A LeNet training step recorded by autograd_viz.viz: PyTorch's node names and the
    parameters' dotted names appear in the drawing."""
    from autograd_viz import viz
    lenet = _example("lenet_digits")
    model = lenet.LeNet()
    with viz.record(names={"model": model}) as rec:
        loss = av.nn.CrossEntropyLoss()(model(av.randn(2, 1, 8, 8)), av.tensor([3, 7]))
        loss.backward()
    text = viz.to_text(rec.graph())
    for name in ("NllLossBackward0", "LogSoftmaxBackward0", "AddmmBackward0", "ReluBackward0",
                 "ViewBackward0", "MaxPool2DWithIndicesBackward0", "ConvolutionBackward0",
                 "model.conv1.weight", "model.fc3.bias"):
        assert name in text, name
