"""The event bus between engine and recorder: silent and free without listeners, complete
and ordered with one."""
from __future__ import annotations

import numpy as np

import autograd_viz as av
from autograd_viz.autograd import events


def test_no_listener_means_no_emit(monkeypatch):
    assert not events.enabled
    monkeypatch.setattr(events, "emit", lambda *a, **k: (_ for _ in ()).throw(AssertionError))
    x = av.ones(2, requires_grad=True)
    y = (x * 2).exp()
    y.register_hook(lambda g: None)
    y.sum().backward()


def test_events_of_one_backward():
    log = []

    def listen(kind, p):  # payloads are live objects: a listener copies what it keeps
        if kind == "grad_accumulated":
            p = dict(p, after=p["after"].tolist())
        log.append((kind, p))

    with events.subscribe(listen):
        x = av.ones(2, requires_grad=True)
        y = x * 3
        y.retain_grad()
        y.register_hook(lambda g: g * 2)
        y.sum().backward()
        x.grad.zero_()
        with av.no_grad():
            x * 2
    assert not events.enabled
    kinds = [k for k, _ in log]
    assert kinds.count("node_created") == 2  # MulBackward0, SumBackward0
    assert "op_untracked" in kinds
    run = [k for k in kinds if k not in ("tensor_created", "node_created", "op_untracked")]
    assert run == ["backward_begin", "node_executed", "hook_begin", "hook_called",
                   "retain_grad", "node_executed", "grad_accumulated", "node_executed",
                   "backward_end", "grad_reset"]
    steps = [p for k, p in log if k == "node_executed"]
    assert [p["node"].name() for p in steps] == ["SumBackward0", "MulBackward0",
                                                 "AccumulateGrad"]
    acc = next(p for k, p in log if k == "grad_accumulated")
    assert acc["before"] is None and acc["after"] == [6.0, 6.0]
    hook = next(p for k, p in log if k == "hook_called")
    assert hook["grad_in"].tolist() == [1.0, 1.0] and hook["grad_out"].tolist() == [2.0, 2.0]
    end = next(p for k, p in log if k == "backward_end")
    assert end["freed"] is True and end["error"] is None


def test_backward_error_is_reported_in_backward_end():
    log = []
    x = av.ones(2, requires_grad=True)
    y = x.exp()
    z = y.sum()
    z.backward()
    with events.subscribe(lambda kind, p: log.append((kind, p))):
        try:
            z.backward()
        except RuntimeError:
            pass
    end = [p for k, p in log if k == "backward_end"]
    assert end and isinstance(end[0]["error"], RuntimeError)


def test_uids_are_counters_not_ids():
    a, b = av.ones(1), av.ones(1)
    assert isinstance(a.uid, int) and b.uid == a.uid + 1 or b.uid > a.uid
    assert a.uid < 10**9  # a counter, never an address


class _Fast:
    def __init__(self):
        self.calls = []

    def node_created(self, node, inputs, outputs):
        self.calls.append(("node_created", node.name(), len(inputs), len(outputs)))

    def node_executed(self, run, step, node, grads_in, grads_out):
        self.calls.append(("node_executed", node.name(), step,
                           [None if g is None else np.asarray(g).tolist() for g in grads_in]))


def test_a_fast_listener_takes_the_two_frequent_events_positionally():
    fast, plain = _Fast(), []
    with events.subscribe(lambda kind, p: plain.append(kind), arrays=True, fast=fast):
        x = av.tensor([1.0, 2.0], requires_grad=True)
        (x * 3).sum().backward()
    assert fast.calls == [
        ("node_created", "MulBackward0", 2, 1),
        ("node_created", "SumBackward0", 1, 1),
        ("node_executed", "SumBackward0", 1, [1.0]),
        ("node_executed", "MulBackward0", 2, [[1.0, 1.0]]),
        ("node_executed", "AccumulateGrad", 3, [[3.0, 3.0]]),
    ]
    assert "node_created" not in plain and "node_executed" not in plain
    assert plain[-2:] == ["grad_accumulated", "backward_end"]
    # no listener left: the emitters are the generic ones again
    assert events.node_created is events._node_created
    assert events.node_executed is events._node_executed


def test_with_a_second_listener_every_listener_gets_payload_dicts():
    fast, a, b = _Fast(), [], []
    with events.subscribe(lambda kind, p: a.append((kind, p)), arrays=True, fast=fast), \
            events.subscribe(lambda kind, p: b.append((kind, p))):
        x = av.tensor([1.0, 2.0], requires_grad=True)
        (x * 3).sum().backward()
    assert fast.calls == []
    for log in (a, b):
        created = [p for k, p in log if k == "node_created"]
        assert [p["node"].name() for p in created] == ["MulBackward0", "SumBackward0"]
        assert created[0]["grad_enabled"] is True
        steps = [p for k, p in log if k == "node_executed"]
        assert [type(p["grads_in"]) for p in steps] == [tuple] * 3
    # b did not ask for arrays, so it was handed Tensors
    assert all(isinstance(g, av.Tensor) for k, p in b if k == "node_executed"
               for g in p["grads_in"])
