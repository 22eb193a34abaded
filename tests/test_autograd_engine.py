"""The backward engine: leaves, grad_fn graphs, backward arguments, accumulation, freeing,
autograd.grad/backward, retain_grad, version counters, iteration depth, memory."""
from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import autograd_viz as av


def test_leaf_and_nonleaf(device):
    x = av.ones(3, requires_grad=True, device=device)
    c = av.ones(3, device=device)
    y = x * 2
    assert x.is_leaf and c.is_leaf and not y.is_leaf
    assert x.grad_fn is None and y.grad_fn.name() == "MulBackward0"
    acc, nr = y.grad_fn.next_functions[0]
    assert acc.name() == "AccumulateGrad" and acc.variable is x and nr == 0
    assert y.grad_fn.next_functions[1] == (None, 0)


def test_next_functions_structure_matches_torch(torch):
    def build(m):
        x = m.ones(2, 3, requires_grad=True)
        w = m.ones(3, 1, requires_grad=True)
        return (m.matmul(x, w).relu() * 2 + x.sum(1, keepdim=True)).mean()

    def walk(fn, depth=0, out=None):
        out = [] if out is None else out
        name = fn.name() if type(fn).__module__.startswith("autograd_viz") else type(fn).__name__
        out.append((depth, name))
        for nxt, _ in fn.next_functions:
            if nxt is not None:
                walk(nxt, depth + 1, out)
        return out

    assert walk(build(av).grad_fn) == walk(build(torch).grad_fn)


def test_backward_gradient_argument_and_errors():
    x = av.ones(2, 2, requires_grad=True)
    y = x * 3
    with pytest.raises(RuntimeError, match="only for scalar outputs"):
        y.backward()
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        y.backward(av.ones(3))
    y.backward(av.full((2, 2), 2.0))
    assert x.grad.tolist() == [[6.0, 6.0], [6.0, 6.0]]
    with pytest.raises(RuntimeError, match="does not require grad"):
        av.ones(2).sum().backward()


def test_grad_accumulates_and_zero():
    x = av.tensor([1.0, 2.0], requires_grad=True)
    for _ in range(3):
        (x * x).sum().backward()
    assert x.grad.tolist() == [6.0, 12.0]
    x.grad.zero_()
    assert x.grad.tolist() == [0.0, 0.0]
    x.grad = None
    (x * x).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]


def test_grad_assignment_checks():
    x = av.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="different size"):
        x.grad = av.ones(3)
    with pytest.raises(RuntimeError, match="different type"):
        x.grad = av.ones(2, dtype=av.float64)


def test_second_backward_frees_saved_tensors():
    x = av.ones(3, requires_grad=True)
    z = (x.exp()).sum()
    z.backward()
    with pytest.raises(RuntimeError, match="Specify retain_graph=True"):
        z.backward()
    z2 = (x * 2).sum()  # nothing saved for a scalar factor: torch allows this too
    z2.backward()


def test_saved_arrays_released_after_backward():
    x = av.ones(1000, requires_grad=True)
    y = x.exp()
    ref = weakref.ref(y.grad_fn._saved[0].tensor._data)
    z = y.sum()
    del y
    z.backward()
    gc.collect()
    assert ref() is None
    # retain_graph keeps them
    y = x.exp()
    ref = weakref.ref(y._data)
    z = y.sum()
    del y
    z.backward(retain_graph=True)
    gc.collect()
    assert ref() is not None


def test_retain_graph_then_accumulate():
    w = av.rand(3, requires_grad=True)
    z = (w * av.ones(3)).sum()
    z.backward(retain_graph=True)
    z.backward(retain_graph=True)
    z.backward()
    assert w.grad.tolist() == [3.0] * 3


def test_create_graph_gives_higher_derivatives():
    x = av.tensor([0.5, 1.5], requires_grad=True, dtype=av.float64)
    y = (x.sin() * x ** 2).sum()
    (g,) = av.autograd.grad(y, x, create_graph=True)
    (g2,) = av.autograd.grad(g.sum(), x, create_graph=True)
    (g3,) = av.autograd.grad(g2.sum(), x)
    xs = np.array([0.5, 1.5])
    d1 = np.cos(xs) * xs ** 2 + 2 * xs * np.sin(xs)
    d2 = -np.sin(xs) * xs ** 2 + 4 * xs * np.cos(xs) + 2 * np.sin(xs)
    d3 = -np.cos(xs) * xs ** 2 - 6 * xs * np.sin(xs) + 6 * np.cos(xs)
    np.testing.assert_allclose(g.detach().numpy(), d1, rtol=1e-12)
    np.testing.assert_allclose(g2.detach().numpy(), d2, rtol=1e-12)
    np.testing.assert_allclose(g3.numpy(), d3, rtol=1e-12)


def test_backward_create_graph_grad_has_graph():
    x = av.tensor([3.0], requires_grad=True)
    (x ** 3).backward(create_graph=True)
    assert x.grad.requires_grad and x.grad.item() == 27.0
    g = x.grad
    x.grad = None
    g.backward()
    assert x.grad.item() == 18.0


def test_autograd_grad_does_not_touch_dot_grad_and_errors():
    x = av.ones(2, requires_grad=True)
    unused = av.ones(2, requires_grad=True)
    y = (x * 2).sum()
    (g,) = av.autograd.grad(y, x, retain_graph=True)
    assert g.tolist() == [2.0, 2.0] and x.grad is None
    with pytest.raises(RuntimeError, match="index 1 appears to not have been used"):
        av.autograd.grad(y, [x, unused], retain_graph=True)
    gx, gu = av.autograd.grad(y, [x, unused], allow_unused=True, retain_graph=True)
    assert gu is None
    gx, gu = av.autograd.grad(y, [x, unused], materialize_grads=True)
    assert gu.tolist() == [0.0, 0.0]
    with pytest.raises(RuntimeError, match="does not require grad"):
        av.autograd.grad((x * 2).sum(), av.ones(2))


def test_autograd_grad_wrt_nonleaf_and_grad_outputs():
    x = av.ones(3, requires_grad=True)
    y = x * 2
    z = y ** 2
    (gy,) = av.autograd.grad(z, y, grad_outputs=av.full((3,), 0.5))
    assert gy.tolist() == [2.0, 2.0, 2.0]


def test_autograd_backward_function_and_inputs():
    a = av.ones(2, requires_grad=True)
    b = av.ones(2, requires_grad=True)
    y1, y2 = (a * b).sum(), (a * 3).sum()
    av.autograd.backward([y1, y2], grad_tensors=[av.tensor(1.0), av.tensor(2.0)])
    assert a.grad.tolist() == [7.0, 7.0] and b.grad.tolist() == [1.0, 1.0]
    a.grad = b.grad = None
    m = a * b
    (m * 2).sum().backward(inputs=[a, m])
    assert a.grad.tolist() == [2.0, 2.0] and b.grad is None
    assert m.grad.tolist() == [2.0, 2.0]


def test_retain_grad_and_nonleaf_warning():
    x = av.ones(2, requires_grad=True)
    y = x * 3
    z = y * y
    y.retain_grad()
    assert y.retains_grad and not z.retains_grad
    z.sum().backward()
    assert y.grad.tolist() == [6.0, 6.0]
    with pytest.warns(UserWarning, match="retain_grad"):
        assert z.grad is None
    with pytest.raises(RuntimeError, match="requires_grad=False"):
        av.ones(2).retain_grad()


def test_tensor_hooks_replace_and_remove():
    x = av.ones(3, requires_grad=True)
    y = x * 2
    seen = []
    h1 = y.register_hook(lambda g: seen.append(g.tolist()))
    h2 = y.register_hook(lambda g: g * 10)
    y.sum().backward(retain_graph=True)
    assert seen == [[1.0] * 3] and x.grad.tolist() == [20.0] * 3
    h2.remove()
    h2.remove()  # twice is harmless
    x.grad = None
    y.sum().backward(retain_graph=True)
    assert x.grad.tolist() == [2.0] * 3
    h1.remove()
    with x.register_hook(lambda g: g * 0):
        y.sum().backward(retain_graph=True)
        assert x.grad.tolist() == [2.0] * 3
    y.sum().backward()
    assert x.grad.tolist() == [4.0] * 3
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        av.ones(2).register_hook(lambda g: g)


def test_leaf_hook_runs_before_accumulation_and_retain_grad_runs_last():
    x = av.ones(2, requires_grad=True)
    x.register_hook(lambda g: g + 1)
    y = x * 1
    y.retain_grad()
    y.register_hook(lambda g: g * 5)
    y.sum().backward()
    assert y.grad.tolist() == [5.0, 5.0]  # retain_grad sees the hooked grad
    assert x.grad.tolist() == [6.0, 6.0]


def test_node_hooks():
    x = av.ones(2, requires_grad=True)
    y = x * 2
    calls = []
    y.grad_fn.register_prehook(lambda go: calls.append("pre") or (go[0] * 3,))
    h = y.grad_fn.register_hook(lambda gi, go: calls.append("post"))
    y.sum().backward(retain_graph=True)
    assert calls == ["pre", "post"] and x.grad.tolist() == [6.0, 6.0]
    h.remove()
    y.sum().backward()
    assert calls == ["pre", "post", "pre"]


def test_hooks_of_one_node_stay_on_that_node():
    """Hook fields are class defaults until set: setting them on one node (of a class)
    leaves every other node of that class hook-free, and the engine runs each hook once."""
    x = av.ones(2, requires_grad=True)
    y1, y2 = x * 2, x * 3
    assert type(y1.grad_fn) is type(y2.grad_fn)
    calls = []
    y1.grad_fn.register_prehook(lambda go: calls.append("pre1"))
    y1.register_hook(lambda g: calls.append("tensor1"))
    y1.retain_grad()
    assert y2.grad_fn._pre_hooks is None and y2.grad_fn._tensor_hooks is None
    assert y2.grad_fn._retains is None and not y2.grad_fn._hooked
    (y1 + y2).sum().backward()
    assert sorted(calls) == ["pre1", "tensor1"]
    assert y1.grad.tolist() == [1.0, 1.0]
    with pytest.warns(UserWarning, match="not a leaf"):
        assert y2.grad is None  # (torch warns the same)
    assert x.grad.tolist() == [5.0, 5.0]
    assert y1.grad_fn.uid != y2.grad_fn.uid


def test_version_counter_inplace_error(torch):
    for m in (av, torch):
        a = m.ones(3, requires_grad=True)
        b = a.sigmoid()
        b.mul_(2)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            b.sum().backward()
    a = av.ones(3, requires_grad=True)
    b = a * 1
    c = b.exp()
    b.add_(1)  # exp saved its result, not b: fine
    c.sum().backward()
    assert b._vc.v == 1


def test_inplace_on_leaf_requiring_grad_raises():
    x = av.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x.add_(1)
    with pytest.raises(RuntimeError, match="view of a leaf Variable"):
        x[0:1].mul_(2)
    with av.no_grad():
        x.add_(1)
    assert x.tolist() == [2.0, 2.0] and x.is_leaf


def test_inplace_on_nonleaf_is_differentiable():
    x = av.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.add_(1)
    y.mul_(x)
    assert y.grad_fn.name() == "MulBackward0"
    y.sum().backward()
    assert x.grad.tolist() == [4 * 1 + 1, 4 * 2 + 1]  # d/dx (2x+1)x, as torch gives


def test_setitem_on_nonleaf(torch):
    def run(m):
        x = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = x * 2
        y[1] = x[0] * 10
        y.sum().backward()
        return x.grad.tolist(), type(y.grad_fn).__name__ if m is torch else y.grad_fn.name()
    assert run(av) == run(torch)


def test_detach_and_requires_grad_():
    x = av.ones(2, requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.data_ptr() == x.data_ptr()
    d[0] = 5
    assert x[0].item() == 5
    y = (x * 2)
    y.detach_()
    assert y.is_leaf and not y.requires_grad
    with pytest.raises(RuntimeError, match="only change requires_grad flags of leaf"):
        (x * 2).requires_grad = False
    with pytest.raises(RuntimeError, match="floating point"):
        av.ones(2, dtype=av.int64).requires_grad_()


def test_long_chain_backward_is_iterative():
    x = av.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0


def test_execution_order_like_torch(torch):
    def order(m):
        seen = []
        x = m.ones(2, requires_grad=True)
        a = x * 2
        b = x.exp()
        c = a + b
        d = c * a
        for t, name in ((a, "a"), (b, "b"), (c, "c"), (d, "d"), (x, "x")):
            t.register_hook(lambda g, name=name: seen.append(name))
        d.sum().backward()
        return seen
    assert order(av) == order(torch)


def test_grad_mode_is_thread_local_and_decorator():
    import threading
    x = av.ones(1, requires_grad=True)
    results = []

    @av.no_grad()
    def f():
        return (x * 2).requires_grad

    @av.set_grad_enabled(False)
    def g():
        return (x * 2).requires_grad

    assert av.is_grad_enabled()  # decorating did not switch the mode
    with av.no_grad():
        t = threading.Thread(target=lambda: results.append((x * 2).requires_grad))
        t.start()
        t.join()
    assert results == [True] and f() is False and g() is False
    assert (x * 2).requires_grad
    av.set_grad_enabled(False)
    assert not av.is_grad_enabled()
    av.set_grad_enabled(True)


def test_gradcheck_passes_and_catches_wrong_backward():
    x = av.randn(3, dtype=av.float64, requires_grad=True)
    assert av.autograd.gradcheck(lambda t: (t.tanh() * t).sum(), (x,))

    class Bad(av.autograd.Function):
        @staticmethod
        def forward(ctx, t):
            return t * 2

        @staticmethod
        def backward(ctx, g):
            return g * 3

    with pytest.raises(av.autograd.GradcheckError, match="Jacobian mismatch"):
        av.autograd.gradcheck(Bad.apply, (x,))
    assert av.autograd.gradgradcheck(lambda t: (t ** 3).sum(), (x,))


@pytest.mark.parametrize("op", ["tanh", "exp", "sigmoid", "relu", "sqrt"])
def test_ops_saving_their_output_make_no_reference_cycle(op):
    """As torch, a node keeps its output's data, not the output: dropping an unused graph
    frees it at once (reference counting), not at the cyclic collector's next run."""
    x = av.tensor([1.0, 2.0], requires_grad=True)
    was = gc.isenabled()
    gc.disable()
    try:
        y = getattr(x * 1, op)()
        refs = [weakref.ref(y), weakref.ref(y.grad_fn)]
        del y
        assert [r() for r in refs] == [None, None]
    finally:
        if was:
            gc.enable()


def test_saved_output_outliving_its_tensor(torch):
    """The output dropped before backward: backward, double backward and the in-place
    check still work from the kept data and version counter."""
    vals = {}
    for m in (torch, av):
        x = m.tensor([0.5, -1.0], requires_grad=True)
        y = x.tanh()
        z = y * 3
        node = y.grad_fn
        del y
        ((name, saved),) = [(n, t) for n, t in node.saved_items()] if m is av else \
            [("result", node._saved_result)]
        (g,) = m.autograd.grad(z.sum(), x, create_graph=True)
        (gg,) = m.autograd.grad(g.sum(), x)
        vals[m.__name__] = (g.tolist(), gg.tolist(), saved.tolist(), saved.grad_fn.name())
        w = x.exp()
        u = w.sin()
        w.mul_(2)
        del w
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            u.sum().backward()
    a, t = vals["autograd_viz"], vals["torch"]
    np.testing.assert_allclose(a[0], t[0], rtol=1e-6)
    np.testing.assert_allclose(a[1], t[1], rtol=1e-6)
    np.testing.assert_allclose(a[2], t[2], rtol=1e-6)
    assert a[3] == t[3] == "TanhBackward0"


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
def test_first_grad_under_create_graph_is_a_graph_copy(torch):
    """torch: the first ``.grad`` made with ``create_graph=True`` is ``CopyBackwards`` of the
    incoming grad (a later one adds onto it)."""
    sig = {}
    for m in (torch, av):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        x.exp().sum().backward(create_graph=True)
        first = x.grad.grad_fn
        (x * 3).sum().backward(create_graph=True)
        second = x.grad.grad_fn
        names = (lambda n: [type(f).__name__ if f else None for f, _ in n.next_functions])
        sig[m.__name__] = (type(first).__name__, names(first), type(second).__name__,
                           names(second),
                           x.grad.tolist(), m.autograd.grad(x.grad.sum(), x)[0].tolist())
    assert sig["autograd_viz"][:4] == sig["torch"][:4]
    np.testing.assert_allclose(sig["autograd_viz"][4:], sig["torch"][4:], rtol=1e-6)


def test_first_grads_never_share_memory():
    """The engine may hand an array it owns to ``.grad`` instead of copying it (as torch
    steals), but never one that another grad, a saved tensor or the user can see."""
    x = av.tensor(np.arange(6.0, dtype=np.float32).reshape(2, 3))
    a, b, c = (av.ones(3, requires_grad=True) for _ in range(3))
    w = av.ones(3, 2, requires_grad=True)
    seed = av.ones(2, 2)
    loss = ((x * a + b) @ w + (a + c).sum()).sum() + (b * 1).sum()
    loss.backward()
    grads = [a.grad, b.grad, c.grad, w.grad]
    for i, g in enumerate(grads):
        for h in grads[i + 1:]:
            assert not np.shares_memory(g._data, h._data)
    before = [g.tolist() for g in grads]
    a.grad.add_(100)
    assert [g.tolist() for g in grads[1:]] == before[1:]
    y = av.ones(2, 2, requires_grad=True)
    (y * 1).backward(seed)
    assert not np.shares_memory(y.grad._data, seed._data)
    y.grad.zero_()
    assert seed.tolist() == [[1.0, 1.0], [1.0, 1.0]]


def test_accumulate_grad_hooks_run_in_torchs_order(torch):
    """On a leaf's AccumulateGrad: pre-hooks, the accumulation, the tensor's
    post-accumulate-grad hooks, then the node's post hooks (grad_inputs empty)."""
    def run(m):
        x = m.ones(2, requires_grad=True)
        y = x * 3
        acc = y.grad_fn.next_functions[0][0]
        log = []
        acc.register_hook(lambda gi, go: log.append(
            ("post", len(gi), [g.tolist() for g in go], x.grad.tolist())))
        acc.register_prehook(lambda go: log.append(
            ("pre", [g.tolist() for g in go], None if x.grad is None else x.grad.tolist())))
        h = x.register_post_accumulate_grad_hook(lambda t: log.append(("pah", t.grad.tolist())))
        y.sum().backward()
        h.remove()
        (x * 2).sum().backward()
        h = x.register_post_accumulate_grad_hook(lambda t: (t.grad.mul_(0.5), None)[1])
        (x * 1).sum().backward()
        log.append(("grad", x.grad.tolist()))
        h.remove()
        x.register_post_accumulate_grad_hook(lambda t: t.grad)
        with pytest.raises(RuntimeError, match="should return None"):
            (x * 1).sum().backward()
        with pytest.raises(RuntimeError, match="doesn't require gradient"):
            m.ones(2).register_post_accumulate_grad_hook(lambda t: None)
        return log

    assert run(av) == run(torch)


def test_post_accumulate_grad_hook_is_recorded_on_its_leaf():
    from autograd_viz import viz

    x = av.ones(2, requires_grad=True)
    x.register_post_accumulate_grad_hook(lambda t: print("grad now", t.grad.tolist()))
    with viz.record(names={"x": x}) as rec:
        (x * 3).sum().backward()
    (call,) = rec.graph().runs[0].hooks
    assert call.target == rec.graph().tensor("x").id and "grad now [3.0, 3.0]" in call.printed


def test_saved_accessors_without_getattr():
    """``_saved_<name>`` are descriptors, not a ``__getattr__`` (which would stop Python 3.11
    from specialising every attribute read on nodes); a node class first seen with one input
    not requiring grad still gets both names, and a missing name is an AttributeError."""
    from autograd_viz.autograd.function import Node

    assert not any("__getattr__" in vars(c) for c in Node.__mro__)
    x = av.tensor([1.0, 2.0], requires_grad=True)
    c = av.tensor([3.0, 4.0])
    n = (c.atan2(x)).grad_fn  # first atan2 node of this process: only x needs grad
    assert n._saved_other.tolist() == [1.0, 2.0]
    assert n._saved_self.tolist() == [3.0, 4.0]
    assert not hasattr(n, "_saved_nothing_like_this")
    with pytest.raises(AttributeError):
        (x * 2).grad_fn._saved_weight  # noqa: B018


def test_saved_attributes_like_torch(torch):
    """``grad_fn._saved_<name>``: the saved tensors (and scalars) by torch's names, listed by
    ``dir()`` (torchviz's show_saved reads them so); torch's error once freed."""
    res = {}
    for m in (torch, av):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        y = m.tensor([3.0, 4.0], requires_grad=True)
        z = x * y
        e = x.exp()
        p = x ** 2
        names = sorted(a for a in dir(z.grad_fn) if a.startswith("_saved_"))
        res[m.__name__] = (z.grad_fn._saved_self.tolist(), z.grad_fn._saved_other.tolist(),
                           e.grad_fn._saved_result.tolist(), p.grad_fn._saved_self.tolist(),
                           p.grad_fn._saved_exponent, names)
        z.sum().backward()
        with pytest.raises(RuntimeError, match="backward through the graph a second time"):
            z.grad_fn._saved_self  # noqa: B018
        with pytest.raises(AttributeError):
            z.grad_fn.no_such_thing  # noqa: B018
    a, t = res["autograd_viz"], res["torch"]
    np.testing.assert_allclose(a[2], t[2], rtol=1e-6)
    assert a[:2] + a[3:] == t[:2] + t[3:]


def test_saved_lists_hold_no_markers_after_an_op():
    """Forward marks where the op's own output is saved (``save_result()``, ``result=RESULT``)
    and ``apply`` puts the output there: no marker is left in any node's saved list, and an
    op that saves its output after or before an input keeps both, in save order."""
    from autograd_viz.autograd.function import RESULT, Op, SavedOutput, SavedTensor
    from autograd_viz.ops._core import apply

    class ResultThenSelf(Op):
        def forward(self, a):
            self.save_result()
            self.save(self=self.inputs[0])
            return a * 2

        def backward(self, g):
            return (g * 2,)

    class SelfThenResult(Op):  # (a second save() holding a tensor and the result)
        def forward(self, a):
            self.save(self=self.inputs[0])
            self.save(other=self.inputs[0], result=RESULT)
            return a * 4

        def backward(self, g):
            return (g * 4,)

    class PairThenResult(Op):
        def forward(self, a):
            self.save_pair("self", self.inputs[0], "other", None)
            self.save_result()
            return a * 3

        def backward(self, g):
            return (g * 3,)

    x = av.tensor([0.5, -1.0, 2.0], requires_grad=True)
    cases = {
        "tanh": (x.tanh(), [SavedOutput]),
        "softmax": (x.softmax(0), [SavedOutput]),
        "logsumexp": (x.logsumexp(0), [SavedTensor, SavedOutput]),
        "mul": (x * x, [SavedTensor, SavedTensor]),
        "result, self": (apply(ResultThenSelf, (x,)), [SavedOutput, SavedTensor]),
        "pair, result": (apply(PairThenResult, (x,)), [SavedTensor, type(None), SavedOutput]),
        "self; other, result": (apply(SelfThenResult, (x,)),
                                [SavedTensor, SavedTensor, SavedOutput]),
    }
    for name, (y, kinds) in cases.items():
        saved = y.grad_fn._saved
        assert type(saved) is list, name
        assert [type(s) for s in saved] == kinds, name
        outs = [s for s in saved if type(s) is SavedOutput]
        assert all(s.tensor is y and s.name == "result" for s in outs), name
        y.sum().backward()
    assert x.grad is not None
    with av.no_grad():
        assert x.tanh().grad_fn is None


def test_an_op_class_with_init_is_refused():
    """``apply`` makes nodes as ``cls()`` and sets their fields itself, so an op that
    wants constructor arguments is refused when its class is made (they belong in
    ``forward``'s keywords)."""
    from autograd_viz.autograd.function import Op

    with pytest.raises(TypeError, match="takes its arguments in forward"):
        class WithInit(Op):  # noqa: F841 - the class statement itself must fail
            def __init__(self, k):
                self.k = k


def test_each_op_class_runs_its_own_apply():
    """``apply`` hands every op class its own copy of its code (so CPython specialises the
    node-field accesses for that class): one copy per class, made once, never inherited by a
    subclass, and the results are those of the shared code (every other test runs it)."""
    from autograd_viz.ops.arith import AddBackward0, MulBackward0

    x = av.tensor([1.0, 2.0], requires_grad=True)
    y = x * x + x
    assert type(y.grad_fn) is AddBackward0
    mul_apply, add_apply = MulBackward0._apply, AddBackward0._apply
    assert mul_apply is not None and add_apply is not None
    assert mul_apply is not add_apply and mul_apply.__code__ is not add_apply.__code__
    assert mul_apply.__name__ == "apply_MulBackward0"
    (x * 3).sum().backward()
    assert MulBackward0._apply is mul_apply  # (made once)
    from autograd_viz.ops._core import NOKW, runner

    assert runner(MulBackward0) is mul_apply  # (what av.mul calls without the entry point)
    with pytest.raises(TypeError):
        NOKW["alpha"] = 2  # (the shared "no keywords" mapping cannot be changed)

    class Twice(MulBackward0):
        pass

    assert Twice._apply is None  # (not the parent's copy)
    from autograd_viz.ops._core import apply

    z = apply(Twice, (x, x))
    assert Twice._apply is not mul_apply and type(z.grad_fn) is Twice
    z.sum().backward()
    assert x.grad.tolist() == [5.0, 7.0]  # 3 from (x * 3), then 2x from x * x


def test_comparisons_make_no_class_per_call():
    """A comparison's node class is made once per comparison, not on every call."""
    from autograd_viz.ops.arith import _Compare

    a, b = av.tensor([1.0, 2.0]), av.tensor([2.0, 2.0])
    (a < b), (a == b)
    before = len(_Compare.__subclasses__())
    for _ in range(5):
        assert (a < b).tolist() == [True, False] and (a == b).tolist() == [False, True]
    assert len(_Compare.__subclasses__()) == before


def test_a_leaf_shares_one_edge_between_its_consumers():
    """Every op that takes a leaf points at the leaf's one ``AccumulateGrad`` by the same
    edge; ``next_functions`` reads as in torch."""
    w = av.tensor([1.0, 2.0], requires_grad=True)
    x = av.tensor([3.0, 4.0], requires_grad=True)
    p, q = x * w, (x + w).tanh()
    e1, e2 = p.grad_fn.next_functions[1], q.grad_fn.next_functions[0][0].next_functions[1]
    assert e1 is e2 and e1[1] == 0
    assert e1[0].name() == "AccumulateGrad" and e1[0].variable is w
    (p.sum() + q.sum()).backward()
    assert w.grad is not None and x.grad is not None
