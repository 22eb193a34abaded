"""Tensor hooks, node pre/post hooks and retain_grad against torch: what each hook sees,
what its return value does, and torch's errors for a hook that returns the wrong thing.

Each case runs with ``m`` = torch and ``m`` = autograd_viz and logs what it observes (or the
exception it raised); the two logs must be equal.
"""
from __future__ import annotations

import pytest

import autograd_viz as av


def _vals(t):
    return None if t is None else t.tolist()


def _leaf(m):
    return m.ones(2, requires_grad=True)


def leaf_hook_changes_grad(m, log):
    x = _leaf(m)
    x.register_hook(lambda g: g * 2)
    (x * 3).sum().backward()
    log.append(_vals(x.grad))


def nonleaf_hook_and_retain_grad(m, log):
    x = _leaf(m)
    y = x * 3
    y.retain_grad()
    y.register_hook(lambda g: log.append(("hook", _vals(g))) or g * 10)
    (y * 2).sum().backward()
    log.append((_vals(y.grad), _vals(x.grad)))


def hooks_before_and_after_inplace(m, log):
    x = _leaf(m)
    y = x * 1
    y.register_hook(lambda g: log.append(("before", _vals(g))))
    y.mul_(2)
    y.register_hook(lambda g: log.append(("after", _vals(g))))
    (y * 3).sum().backward()
    log.append(_vals(x.grad))


def prehook_changes_grad(m, log):
    x = _leaf(m)
    y = x * 3
    y.grad_fn.register_prehook(lambda go: (go[0] * 5,))
    y.sum().backward()
    log.append(_vals(x.grad))


def posthook_changes_grad(m, log):
    x = _leaf(m)
    y = x * 3
    y.grad_fn.register_hook(lambda gi, go: (gi[0] * 0, None))
    y.sum().backward()
    log.append(_vals(x.grad))


def hook_on_tensor_without_grad(m, log):
    m.ones(2).register_hook(lambda g: g)


def handle_removed_twice(m, log):
    x = _leaf(m)
    h = x.register_hook(lambda g: g * 2)
    h.remove()
    h.remove()
    (x * 1).sum().backward()
    log.append(_vals(x.grad))


def leaf_hook_under_autograd_grad(m, log):
    x = _leaf(m)
    x.register_hook(lambda g: log.append(("hook", _vals(g))) or g * 2)
    (g,) = m.autograd.grad((x * 3).sum(), x)
    log.append((_vals(g), _vals(x.grad)))


def nonleaf_hook_under_autograd_grad(m, log):
    y = _leaf(m) * 2
    y.register_hook(lambda g: g + 1)
    (g,) = m.autograd.grad((y * 3).sum(), y)
    log.append(_vals(g))


def hook_on_a_view(m, log):
    x = m.ones(4, requires_grad=True)
    v = (x * 1)[:2]
    v.register_hook(lambda g: log.append(("view", _vals(g))))
    (v * 2).sum().backward()
    log.append(_vals(x.grad))


def retain_grad_then_inplace(m, log):
    y = _leaf(m) * 1
    y.retain_grad()
    y.add_(1)
    (y * 2).sum().backward()
    log.append(_vals(y.grad))


def leaf_hook_over_two_backwards(m, log):
    x = _leaf(m)
    x.register_hook(lambda g: log.append(_vals(g)))
    y = (x * 2).sum()
    y.backward(retain_graph=True)
    y.backward()
    log.append(_vals(x.grad))


def tensor_hook_returns_tuple(m, log):
    y = _leaf(m) * 3
    y.register_hook(lambda g: (g, g))
    y.sum().backward()


def tensor_hook_changes_size(m, log):
    y = _leaf(m) * 3
    y.register_hook(lambda g: m.ones(3))
    y.sum().backward()


def tensor_hook_changes_dtype(m, log):
    y = _leaf(m) * 3
    y.register_hook(lambda g: g.double())
    y.sum().backward()


def leaf_hook_changes_dtype(m, log):
    x = _leaf(m)
    x.register_hook(lambda g: g.double())
    (x * 3).sum().backward()


def prehook_returns_list(m, log):
    y = _leaf(m) * 3
    y.grad_fn.register_prehook(lambda go: [go[0]])
    y.sum().backward()


def prehook_returns_too_many(m, log):
    y = _leaf(m) * 3
    y.grad_fn.register_prehook(lambda go: (go[0], go[0]))
    y.sum().backward()


def posthook_returns_list(m, log):
    def my_hook(grad_inputs, grad_outputs):
        return [grad_inputs[0]]

    y = _leaf(m) * 3
    y.grad_fn.register_hook(my_hook)
    y.sum().backward()


def posthook_returns_too_few(m, log):
    y = _leaf(m) * 3
    y.grad_fn.register_hook(lambda gi, go: (gi[0],))
    y.sum().backward()


CASES = [
    leaf_hook_changes_grad, nonleaf_hook_and_retain_grad, hooks_before_and_after_inplace,
    prehook_changes_grad, posthook_changes_grad, hook_on_tensor_without_grad,
    handle_removed_twice, leaf_hook_under_autograd_grad, nonleaf_hook_under_autograd_grad,
    hook_on_a_view, retain_grad_then_inplace, leaf_hook_over_two_backwards,
    tensor_hook_returns_tuple, tensor_hook_changes_size, tensor_hook_changes_dtype,
    leaf_hook_changes_dtype, prehook_returns_list, prehook_returns_too_many,
    posthook_returns_list, posthook_returns_too_few,
]


def _run(case, m):
    log = []
    try:
        case(m, log)
    except Exception as e:  # noqa: BLE001 - the error is part of what is compared
        log.append(("raised", type(e).__name__, str(e)))
    return log


@pytest.mark.parametrize("case", CASES, ids=[c.__name__ for c in CASES])
def test_hooks_match_torch(torch, case):
    assert _run(case, av) == _run(case, torch)
