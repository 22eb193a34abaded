"""Indexing against torch: basic (ints, slices, None, Ellipsis), advanced (int lists and
tensors) and boolean indexing, read and written (``__setitem__`` on non-leaf tensors):
values, dtypes, the grad_fn graph, first and second derivatives, and errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, basic_indices
from test_ops_table import Spec, check_op, examples

import autograd_viz as av

pytestmark = pytest.mark.filterwarnings("ignore")

SHAPES = array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)


@st.composite
def advanced_key(draw, shape):
    """A key with int arrays, a bool mask or Python lists, mixed with slices and ints."""
    n = len(shape)
    parts = []
    d = 0
    while d < n and len(parts) < 3:
        kind = draw(st.sampled_from(["int", "slice", "array", "list", "mask"]))
        size = shape[d]
        if kind == "int":
            parts.append(draw(st.integers(-size, size - 1)))
        elif kind == "slice":
            parts.append(slice(draw(st.none() | st.integers(-size, size)),
                               draw(st.none() | st.integers(-size, size)),
                               draw(st.none() | st.integers(1, 2))))
        elif kind in ("array", "list"):
            idx = draw(st.lists(st.integers(-size, size - 1), min_size=1, max_size=4))
            parts.append(("arr", idx) if kind == "array" else idx)
        else:
            k = draw(st.integers(1, n - d))
            mask = draw(st.lists(st.booleans(), min_size=int(np.prod(shape[d:d + k])),
                                 max_size=int(np.prod(shape[d:d + k]))))
            parts.append(("mask", np.array(mask).reshape(shape[d:d + k])))
            d += k
            continue
        d += 1
    return tuple(parts)


def make_key(m, key):
    """The key for library ``m`` (index arrays become its tensors)."""
    def one(k):
        if isinstance(k, tuple) and k and k[0] == "arr":
            return m.tensor(k[1])
        if isinstance(k, tuple) and k and k[0] == "mask":
            return m.tensor(k[1].tolist(), dtype=m.bool)
        return k
    return tuple(one(k) for k in key) if isinstance(key, tuple) else one(key)


def _index_spec(key, shape) -> Spec:
    return Spec("index", lambda m, x: (x * 1)[make_key(m, key)], st.just((shape,)))


def _check_key(torch, key, shape, seed) -> None:
    rng = np.random.default_rng(seed)
    spec = _index_spec(key, shape)
    arrays = [rng.standard_normal(shape)]
    try:
        (torch.zeros(shape) * 1)[make_key(torch, key)]
    except Exception as e:  # noqa: BLE001
        with pytest.raises(type(e)):
            (av.zeros(shape) * 1)[make_key(av, key)]
        return
    check_op(torch, spec, arrays, {})
    leaf = Spec("index_leaf", lambda m, x: x[make_key(m, key)], st.just((shape,)))
    check_op(torch, leaf, arrays, {})


@settings(max_examples=examples(150))
@given(data=st.data(), seed=st.integers(0, 2**16))
def test_basic_indexing(torch, data, seed) -> None:
    shape = data.draw(SHAPES)
    key = data.draw(basic_indices(shape, allow_newaxis=True, allow_ellipsis=True))
    _check_key(torch, key, shape, seed)


@settings(max_examples=examples(150))
@given(data=st.data(), seed=st.integers(0, 2**16))
def test_advanced_indexing(torch, data, seed) -> None:
    shape = data.draw(SHAPES)
    _check_key(torch, data.draw(advanced_key(shape)), shape, seed)


@pytest.mark.parametrize("key", [
    slice(None), Ellipsis, (), (Ellipsis,), (slice(None),), (slice(0, 3),), slice(0, 3),
    (0, slice(None)), (slice(None), 1), (slice(0, 3), 1), None, (None, 1), True, False,
    (Ellipsis, None), ("t0",), ("t1",), ("b0",)], ids=repr)
def test_named_keys(torch, key) -> None:
    """Keys whose torch node names are special: full slices, ``...``, 0-d index tensors."""
    def conv(m, k):
        if isinstance(k, tuple):
            return tuple(conv(m, x) for x in k)
        return {"t0": m.tensor(1), "t1": m.tensor([1]), "b0": m.tensor(True)}.get(k, k) \
            if isinstance(k, str) else k
    spec = Spec("key", lambda m, x: (x * 1)[conv(m, key)], st.just(((3, 4),)))
    arrays = [np.arange(12.0).reshape(3, 4)]
    check_op(torch, spec, arrays, {})
    check_op(torch, Spec("key", lambda m, x: x[conv(m, key)], st.just(((3, 4),))), arrays, {})


# ----------------------------------------------------------------------------- setitem


def _setitem(m, x, v, key):
    y = x * 1
    y[make_key(m, key)] = v
    return y * 2


@settings(max_examples=examples(100))
@given(data=st.data(), seed=st.integers(0, 2**16),
       kind=st.sampled_from(["same", "bcast", "ones", "zerod", "scalar"]))
def test_setitem(torch, data, seed, kind) -> None:
    """``y[key] = v`` on a non-leaf ``y``; ``v`` of the indexed shape, broadcast from its
    last dim, with leading 1s, 0-d, or a Python scalar: values, graph and grads."""
    shape = data.draw(SHAPES)
    key = data.draw(basic_indices(shape, allow_newaxis=True, allow_ellipsis=True)
                    | advanced_key(shape))
    try:
        target = torch.arange(int(np.prod(shape))).reshape(shape)[make_key(torch, key)]
    except Exception as e:  # noqa: BLE001
        with pytest.raises(type(e)):
            av.zeros(shape)[make_key(av, key)] = 1.0
        return
    if len(set(target.flatten().tolist())) != target.numel():
        return  # duplicate indices: which write wins is unspecified
    rng = np.random.default_rng(seed)
    tshape = tuple(target.shape)
    if kind == "scalar":
        spec = Spec("setitem", lambda m, x: _setitem(m, x, 1.5, key), st.just((shape,)))
        check_op(torch, spec, [rng.standard_normal(shape)], {})
        return
    vshape = {"same": tshape, "bcast": tshape[-1:], "ones": (1,) + tshape, "zerod": ()}[kind]
    spec = Spec("setitem", lambda m, x, v: _setitem(m, x, v, key), st.just((shape, vshape)))
    check_op(torch, spec, [rng.standard_normal(shape), rng.standard_normal(vshape)], {})


def test_setitem_on_leaf_raises(torch) -> None:
    for m in (torch, av):
        x = m.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf Variable"):
            x[0] = 2.0
        with m.no_grad():
            x[0] = 2.0
        assert x.tolist() == [2.0, 1.0, 1.0]


def test_setitem_version_error(torch) -> None:
    """Writing into a tensor saved for backward makes backward raise, as in torch."""
    for m in (torch, av):
        x = m.ones(3, requires_grad=True)
        y = x * 1
        z = y.exp()  # saves its result
        z[0] = 0.0
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            z.sum().backward()
