"""Error conditions against torch: the same exception type, and the same message (PyTorch's
wording, which says what went wrong and what to do), for misuse of the ops."""
from __future__ import annotations

import re

import pytest

import autograd_viz as av

pytestmark = pytest.mark.filterwarnings("ignore")


def _leaf(m):
    return m.ones(3, requires_grad=True)


def _nograd_view(m, key=slice(0, 2), nonleaf=False):
    x = m.ones(3, 2, requires_grad=True)
    base = x * 1 if nonleaf else x
    with m.no_grad():
        return base[key]


ERRORS = {
    "exp_of_list": lambda m: m.exp([1.0]),
    "acos_of_list": lambda m: m.acos([0.5]),
    "tanh_of_number": lambda m: m.tanh(0.5),
    "broadcast": lambda m: m.ones(2, 3) + m.ones(4),
    "broadcast_mul": lambda m: m.ones(2, 3) * m.ones(2, 2),
    "matmul_shapes": lambda m: m.ones(2, 3) @ m.ones(4, 2),
    "matmul_0d": lambda m: m.ones(()) @ m.ones(3),
    "matmul_dtypes": lambda m: m.ones(2, 3) @ m.ones(3, 2, dtype=m.float64),
    "matmul_batched": lambda m: m.ones(2, 2, 3) @ m.ones(3, 4, 2),
    "mm_1d": lambda m: m.mm(m.ones(3), m.ones(3, 2)),
    "bmm_2d": lambda m: m.bmm(m.ones(2, 3), m.ones(2, 3, 2)),
    "bmm_sizes": lambda m: m.bmm(m.ones(2, 2, 3), m.ones(3, 3, 2)),
    "dot_2d": lambda m: m.dot(m.ones(2, 3), m.ones(3)),
    "dot_sizes": lambda m: m.dot(m.ones(2), m.ones(3)),
    "dot_dtypes": lambda m: m.dot(m.ones(3), m.ones(3, dtype=m.float64)),
    "view_strides": lambda m: m.ones(2, 3).t().view(6),
    "view_numel": lambda m: m.ones(6).view(4),
    "reshape_two_inferred": lambda m: m.ones(6).reshape(-1, -1),
    "expand": lambda m: m.ones(2, 3).expand(4, 3),
    "expand_fewer": lambda m: m.ones(2, 3).expand(3),
    "permute_count": lambda m: m.ones(2, 3).permute(0),
    "permute_dup": lambda m: m.ones(2, 3).permute(0, 0),
    "transpose_dim": lambda m: m.ones(2, 3).transpose(0, 2),
    "t_3d": lambda m: m.ones(2, 3, 4).t(),
    "squeeze_dim": lambda m: m.ones(2, 3).squeeze(3),
    "unsqueeze_dim": lambda m: m.ones(2, 3).unsqueeze(4),
    "sum_dim": lambda m: m.ones(2, 3).sum(2),
    "mean_int": lambda m: m.tensor([1, 2]).mean(),
    "max_empty": lambda m: m.ones(0).max(),
    "max_dim_empty": lambda m: m.ones(0, 3).max(0),
    "softmax_dim": lambda m: m.softmax(m.ones(2, 3), 2),
    "cat_sizes": lambda m: m.cat([m.ones(2, 3), m.ones(2, 4)]),
    "cat_dims": lambda m: m.cat([m.ones(2, 3), m.ones(3)]),
    "cat_empty": lambda m: m.cat([]),
    "cat_0d": lambda m: m.cat([m.tensor(1.0), m.tensor(2.0)]),
    "stack_sizes": lambda m: m.stack([m.ones(2), m.ones(3)]),
    "split_sizes": lambda m: m.ones(4).split([1, 2]),
    "chunk_0": lambda m: m.ones(4).chunk(0),
    "index_bounds": lambda m: m.ones(2, 3)[2],
    "index_bounds_dim1": lambda m: m.ones(2, 3)[:, -4],
    "index_too_many": lambda m: m.ones(2, 3)[0, 0, 0],
    "index_0d": lambda m: m.tensor(1.0)[0],
    "index_float": lambda m: m.ones(3)[m.tensor([0.0])],
    "index_list_bounds": lambda m: m.ones(3)[[0, 3]],
    "index_mask_shape": lambda m: m.ones(2, 3)[m.tensor([True, False, True])],
    "index_step": lambda m: m.ones(3)[::-1],
    "setitem_shape": lambda m: m.ones(2, 3).__setitem__(0, m.ones(4)),
    "setitem_adv_shape": lambda m: m.ones(2, 3).__setitem__([0, 1], m.ones(4)),
    "inplace_leaf": lambda m: _leaf(m).add_(1),
    "inplace_leaf_view": lambda m: _leaf(m)[0].mul_(2),
    "inplace_leaf_setitem": lambda m: _leaf(m).__setitem__(0, 1.0),
    "inplace_cast": lambda m: m.tensor([1, 2]).add_(1.5),
    "inplace_broadcast": lambda m: m.ones(3).add_(m.ones(2, 3)),
    "inplace_expanded": lambda m: m.ones(1).expand(3).mul_(2),
    "inplace_overlap": lambda m: (lambda y: y[1:].copy_(y[:-1]))(m.arange(4.0)),
    "nograd_view_mul": lambda m: _nograd_view(m).mul_(2),
    "nograd_view_nonleaf": lambda m: _nograd_view(m, nonleaf=True).add_(1),
    "nograd_view_copy": lambda m: _nograd_view(m, 0).copy_(m.ones(2, requires_grad=True)),
    "nograd_view_setitem_int": lambda m: _nograd_view(m).__setitem__(0, 3.0),
    "nograd_view_setitem_slice": lambda m: _nograd_view(m).__setitem__(slice(0, 1), 3.0),
    "nograd_view_setitem_list": lambda m: _nograd_view(m).__setitem__([0], 3.0),
    "nograd_view_setitem_all": lambda m: _nograd_view(m).__setitem__(Ellipsis, 3.0),
    "inplace_split_view": lambda m: (m.ones(4, requires_grad=True) * 1).split(2)[0].add_(1),
    "out_grad": lambda m: m.add(_leaf(m), 1, out=m.empty(3)),
    "out_cast": lambda m: m.add(m.ones(3), 1, out=m.zeros(3, dtype=m.int64)),
    "where_cond": lambda m: m.where(m.ones(3), m.ones(3), m.zeros(3)),
    "clamp_none": lambda m: m.clamp(m.ones(3)),
    "pow_int_negative": lambda m: m.tensor([2, 3]) ** -1,
    "sub_bool": lambda m: m.tensor([True]) - m.tensor([False]),
    "neg_bool": lambda m: -m.tensor([True]),
    "var_int": lambda m: m.tensor([1, 2]).var(),
    "argmax_bool": lambda m: m.tensor([True]).argmax(),
    "maximum_scalar": lambda m: m.maximum(m.ones(3), 2),
    "cat_scalar": lambda m: m.cat([m.ones(3), 2]),
    "fmod_scalar_first": lambda m: m.fmod(2, m.ones(3)),
    "rmod_backward": lambda m: (2 % _leaf(m)).sum().backward(),
    "double_backward_freed": lambda m: (lambda y: (y.backward(), y.backward()))(
        (_leaf(m) * _leaf(m)).sum()),
    "saved_modified": lambda m: (lambda x: (lambda y, z: (y.mul_(2), z.sum().backward()))(
        *(lambda y: (y, y.sin()))(x * 1)))(_leaf(m)),
}

# messages that differ from torch's: the argument parser's list of overloads
TYPE_ONLY = {"fmod_scalar_first"}
# the same up to a hint of our own (record the code to see the in-place op, where torch
# suggests its anomaly mode)
UP_TO_HINT = {"saved_modified"}


def _norm(msg: str) -> str:
    msg = msg.replace("autograd_viz", "torch")
    msg = re.sub(r"\(Triggered internally at .*\)", "", msg)
    msg = re.sub(r"torch\.(Double|Float|Long)Tensor", "T", msg)
    return " ".join(msg.split())


@pytest.mark.parametrize("name", list(ERRORS))
def test_error_matches_torch(torch, name) -> None:
    with pytest.raises(Exception) as t:
        ERRORS[name](torch)
    tcls = next(c for c in type(t.value).__mro__ if c.__module__ == "builtins")
    with pytest.raises(tcls) as a:
        ERRORS[name](av)
    amsg, tmsg = _norm(str(a.value)), _norm(str(t.value))
    assert len(amsg) > 20, amsg
    if name in UP_TO_HINT:
        amsg, tmsg = amsg.split(" Hint:")[0], tmsg.split(" Hint:")[0]
    if name not in TYPE_ONLY:
        assert amsg == tmsg
