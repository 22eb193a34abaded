"""Contractions: ``einsum`` (one node, ``EinsumBackward0``, whose backward is einsums of the
other operands), ``tensordot``/``inner``/``kron`` (composed from permute/view/mm/mul the
way PyTorch composes them, so ``grad_fn`` graphs match), the fused ``addmm``/``addmv``/
``addbmm``/``baddbmm``, ``cross``, ``cdist`` and ``chain_matmul``/``multi_dot``."""
from __future__ import annotations

import string
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import _backend as B
from ..autograd.function import RESULT, Op
from ..tensor import Tensor
from ._core import _pretty, apply, check_broadcast, inplace, not_implemented, register, sum_to
from .linalg import _unsafe_view, dot, mm
from .unary import where

__all__ = ["einsum", "tensordot", "inner", "kron", "addmm", "addmv", "addbmm", "baddbmm",
           "cross", "cdist", "chain_matmul"]

_LETTERS = string.ascii_uppercase + string.ascii_lowercase


def _xp(a: Any) -> Any:
    return B.get_array_module(a)


def _long(d: B.dtype) -> str:
    return {"float32": "float", "float64": "double", "float16": "c10::Half",
            "int64": "long int", "int32": "int"}.get(d.name, d.name)


def _wrap_dim(dim: int, ndim: int) -> int:
    lo, hi = -max(ndim, 1), max(ndim, 1) - 1
    if not lo <= dim <= hi:
        raise IndexError(f"Dimension out of range (expected to be in range of [{lo}, {hi}], "
                         f"but got {dim})")
    return dim % max(ndim, 1)


def _check_expand(t: Tensor, target: tuple) -> None:
    """PyTorch's error when ``t`` does not expand to ``target`` (addmm's ``input``)."""
    shape = tuple(t.shape)
    if len(shape) > len(target):
        raise RuntimeError(f"The expanded size of the tensor ({target[0] if target else 0}) "
                           f"must match the existing size ({shape[0]}) at non-singleton "
                           f"dimension 0.  Target sizes: {list(target)}.  Tensor sizes: "
                           f"{list(shape)}")
    for k in range(1, len(shape) + 1):
        if shape[-k] != target[-k] and shape[-k] != 1:
            raise RuntimeError(f"The expanded size of the tensor ({target[-k]}) must match the "
                               f"existing size ({shape[-k]}) at non-singleton dimension "
                               f"{len(target) - k}.  Target sizes: {list(target)}.  Tensor "
                               f"sizes: {list(shape)}")


# ------------------------------------------------------------------------------ einsum
def _parse_einsum(equation: str, shapes: list) -> tuple:
    """The equation with explicit letters for ``...`` and the output spelt out: a list of
    input subscripts and the output subscript, with PyTorch's errors."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    for i, ch in enumerate(eq):
        if not (ch in _LETTERS or ch in ".,") and not (ch in "->" and arrow):
            raise RuntimeError(f"einsum(): invalid subscript given at index {i} in the "
                               "equation string, subscripts must be in [a-zA-Z]")
    terms = lhs.split(",")
    if len(terms) < len(shapes):
        raise RuntimeError("einsum(): more operands were provided than specified in the "
                           "equation")
    if len(terms) > len(shapes):
        raise RuntimeError("einsum(): fewer operands were provided than specified in the "
                           "equation")

    def split_ell(term: str, what: str) -> tuple:
        if "." not in term:
            return term, None
        k = term.find("...")
        if k < 0 or "." in term[:k] + term[k + 3:]:
            if k >= 0:
                raise RuntimeError(f"einsum(): found '.' for {what} for which an ellipsis was "
                                   "already found")
            raise RuntimeError(f"einsum(): found '.' for {what} that is not part of any "
                               "ellipsis")
        return term[:k], term[k + 3:]

    parsed, ell_n = [], 0
    for i, (term, shape) in enumerate(zip(terms, shapes)):
        head, tail = split_ell(term, f"operand {i}")
        nd = len(shape)
        if tail is None:
            if len(head) != nd:
                raise RuntimeError(f"einsum(): the number of subscripts in the equation "
                                   f"({len(head)}) does not match the number of dimensions "
                                   f"({nd}) for operand {i} and no ellipsis was given")
            parsed.append((head, None, ""))
        else:
            if len(head) + len(tail) > nd:
                raise RuntimeError(f"einsum(): the number of subscripts in the equation "
                                   f"({len(head) + len(tail)}) is more than the number of "
                                   f"dimensions ({nd}) for operand {i}")
            k = nd - len(head) - len(tail)
            ell_n = max(ell_n, k)
            parsed.append((head, k, tail))
    used = set(eq)
    fresh = [c for c in _LETTERS if c not in used]
    ell = "".join(fresh[:ell_n])
    has_ell = any(p[1] is not None for p in parsed)
    subs = [h + (ell[ell_n - k:] if k else "") + t for h, k, t in parsed]
    letters = "".join(subs)
    if arrow:
        head, tail = split_ell(rhs, "the output")
        out = head + (ell if tail is not None else "") + (tail or "")
        for ch in head + (tail or ""):
            if (head + (tail or "")).count(ch) > 1:
                raise RuntimeError(f"einsum(): output subscript {ch} appears more than once "
                                   "in the output")
            if ch not in letters:
                raise RuntimeError(f"einsum(): output subscript {ch} does not appear in the "
                                   "equation for any input operand")
    else:
        once = sorted(c for c in set(letters) if letters.count(c) == 1 and c not in ell)
        out = (ell if has_ell else "") + "".join(once)
    return subs, out, ell


def _einsum_sizes(subs: list, shapes: list, ell: str) -> dict:
    """Each letter's (broadcast) size, with PyTorch's errors for sizes that don't match."""
    sizes: dict = {}
    for i, (s, shape) in enumerate(zip(subs, shapes)):
        seen: dict = {}
        for ch, n in zip(s, shape):
            if ch in seen and seen[ch] != n:
                raise RuntimeError(f"einsum(): subscript {ch} is repeated for operand {i} but "
                                   f"the sizes don't match, {n} != {seen[ch]}")
            seen[ch] = n
            prev = sizes.get(ch)
            if prev is None or prev == 1:
                sizes[ch] = n
            elif n != prev and n != 1:
                if ch in ell:
                    raise RuntimeError(
                        f"einsum(): dimension {ell.index(ch)} covered by ellipsis in operand "
                        f"{i}has size {n} which does not broadcast with previously seen "
                        f"ellipsis with size {prev} for the respective dimension")
                raise RuntimeError(f"einsum(): subscript {ch} has size {n} for operand {i} "
                                   f"which does not broadcast with previously seen size {prev}")
    return sizes


class EinsumBackward0(Op):
    """``einsum`` as one node: each input's gradient is an einsum of the output gradient
    with the other operands (identity matrices put it on repeated-subscript diagonals, and
    ones spread it over subscripts summed within that operand alone)."""

    def forward(self, *arrays, subs, outsub, sizes):
        self.subs, self.out, self.sizes = subs, outsub, sizes
        if self.needs:
            self.save(**{f"operand{i}": t for i, t in enumerate(self.inputs)})
        xp = _xp(arrays[0])
        ops = []
        for s, a in zip(subs, arrays):
            full = tuple(sizes[c] for c in s)
            ops.append(a if a.shape == full else xp.broadcast_to(a, full))
        eq = ",".join(subs) + "->" + outsub
        if len(ops) == 1:
            return xp.array(xp.einsum(eq, ops[0]), copy=True)
        return xp.einsum(eq, *ops, optimize=True)

    def backward(self, g):
        operands = self.saved()
        subs, sizes = self.subs, self.sizes
        res = []
        for i, s in enumerate(subs):
            if not self.needs[i]:
                res.append(None)
                continue
            xp = _xp(g._data)
            dt = g._data.dtype
            tens, terms = [g], [self.out]
            for j, t in enumerate(operands):
                if j != i:
                    tens.append(t)
                    terms.append(subs[j])
            others = set("".join(terms))
            spare = [c for c in _LETTERS if c not in set("".join(subs)) | set(self.out)]
            target, seen = "", set()
            for ch in s:
                if ch in seen:  # a repeated subscript: the gradient lives on the diagonal
                    f = spare.pop(0)
                    tens.append(Tensor._wrap(xp.eye(sizes[ch], dtype=dt)))
                    terms.append(ch + f)
                    target += f
                    continue
                seen.add(ch)
                target += ch
                if ch not in others:  # summed within this operand only: spread the gradient
                    tens.append(Tensor._wrap(xp.ones((sizes[ch],), dtype=dt)))
                    terms.append(ch)
                    others.add(ch)
            gi = einsum(",".join(terms) + "->" + target, *tens)
            res.append(sum_to(gi, operands[i]._data.shape, operands[i]._data.dtype))
        return tuple(res)


def einsum(equation: str, *operands: Any) -> Tensor:
    """Sum of products over the subscripts of ``equation`` (``"ij,jk->ik"``; ``...`` for
    broadcast dimensions; without ``->`` the output is the subscripts seen once, sorted).
    The operands may also be given as one list."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise ValueError("einsum(): must specify the equation string and at least one "
                         "operand, or at least one operand and its subscripts list")
    for i, t in enumerate(operands):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 1, but got "
                            f"{type(t).__name__}")
    shapes = [tuple(t._data.shape) for t in operands]
    subs, out, ell = _parse_einsum(equation, shapes)
    sizes = _einsum_sizes(subs, shapes, ell)
    d0 = operands[0].dtype
    for t in operands[1:]:
        if t.dtype is not d0:
            raise RuntimeError(f"expected scalar type {_pretty(d0)} but found "
                               f"{_pretty(t.dtype)}")
    if d0 is B.bool_ and len(operands) > 1:
        raise not_implemented("bmm", d0)
    return apply(EinsumBackward0, tuple(operands), subs=subs, outsub=out, sizes=sizes)


# --------------------------------------------------------------------------- tensordot
def tensordot(a: Tensor, b: Tensor, dims: Any = 2, out: Tensor | None = None) -> Tensor:
    """Contract ``dims`` trailing dimensions of ``a`` with leading ones of ``b`` (or the
    dimension lists ``dims = (dims_a, dims_b)``), composed as PyTorch does: permute, reshape
    to matrices, ``mm`` (``dot`` when nothing is left free), reshape."""
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, (tuple, list)):
        dims_a, dims_b = dims
        for name, pos, d in (("dims_self", 3, dims_a), ("dims_other", 4, dims_b)):
            if not isinstance(d, (list, tuple)):
                raise TypeError(f"tensordot(): argument '{name}' (position {pos}) must be "
                                f"tuple of ints, not {type(d).__name__}")
        dims_a, dims_b = list(dims_a), list(dims_b)
    else:
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > min(a.dim(), b.dim()):
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={dims}")
        dims_a, dims_b = list(range(-dims, 0)), list(range(dims))
    r = _tensordot(a, b, dims_a, dims_b)
    if out is not None:
        from ._core import _write_out, check_out
        check_out(out, (a, b), "tensordot")
        return _write_out(out, r._data, False, None)
    return r


def _tensordot(input1: Tensor, input2: Tensor, dims1: list, dims2: list) -> Tensor:
    if len(dims1) != len(dims2):
        raise RuntimeError("both dimension lists should have same length")
    if input1.dtype is not input2.dtype:
        raise RuntimeError("both inputs should have same dtype")
    n1, n2 = input1.dim(), input2.dim()
    w1 = [_wrap_dim(d, n1) for d in dims1]
    w2 = [_wrap_dim(d, n2) for d in dims2]
    for w in (w1, w2):
        for k, d in enumerate(w):
            if d in w[:k]:
                raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    t1, t2, csize = input1, input2, 1
    for i in range(len(dims1)):
        s1, s2 = input1.shape[w1[i]], input2.shape[w2[i]]
        if s2 == 1:  # broadcast dimensions are summed right away
            t1 = t1.sum(w1[i], keepdim=True)
        elif s1 == 1:
            t2 = t2.sum(w2[i], keepdim=True)
        elif s1 != s2:
            raise RuntimeError(f"contracted dimensions need to match, but first has size {s1} "
                               f"in dim {dims1[i]} and second has size {s2} in dim {dims2[i]}")
        else:
            csize *= s1
    p1 = [i for i in range(n1) if i not in w1]
    p2 = [i for i in range(n2) if i not in w2]
    rsizes = [t1.shape[i] for i in p1] + [t2.shape[i] for i in p2]
    size1 = int(np.prod([t1.shape[i] for i in p1], dtype=np.int64))
    size2 = int(np.prod([t2.shape[i] for i in p2], dtype=np.int64))
    t1 = t1.permute(p1 + w1)
    t2 = t2.permute(w2 + p2)
    if size1 == 1 and size2 == 1:  # nothing left free: a dot product
        t1 = t1 if t1.dim() == 1 else t1.reshape(csize)
        t2 = t2 if t2.dim() == 1 else t2.reshape(csize)
        return dot(t1, t2).reshape(rsizes)
    return mm(t1.reshape(size1, csize), t2.reshape(csize, size2)).reshape(rsizes)


def inner(input: Tensor, other: Tensor) -> Tensor:
    """Sum of products over the last dimension of both (``input * other`` for a 0-d one)."""
    if input.dim() == 0 or other.dim() == 0:
        return input * other
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but "
                           f"got shapes {list(input.shape)} and {list(other.shape)}")
    return _tensordot(input, other, [-1], [-1])


def kron(input: Tensor, other: Tensor) -> Tensor:
    """Kronecker product (PyTorch's graph: two ``_unsafe_view`` s, a ``mul``, a view)."""
    nd = max(input.dim(), other.dim())
    pa, pb = nd - input.dim(), nd - other.dim()
    ra, rb, rr = [], [], []
    for i in range(nd):
        sa = input.shape[i - pa] if i >= pa else 1
        sb = other.shape[i - pb] if i >= pb else 1
        ra += [sa, 1]
        rb += [1, sb]
        rr.append(sa * sb)
    return _unsafe_view(_unsafe_view(input, tuple(ra)) * _unsafe_view(other, tuple(rb)),
                        tuple(rr))


# --------------------------------------------------------------------- fused products
def _scale(g: Tensor, k: Any) -> Tensor:
    return g if k == 1 else g * k


def _fused_forward(acc: Any, prod: Any, beta: Any, alpha: Any) -> Any:
    r = prod if alpha == 1 else alpha * prod
    if beta == 0:
        return r.astype(prod.dtype, copy=False) + prod.dtype.type(0)
    return (r + (acc if beta == 1 else beta * acc)).astype(prod.dtype, copy=False)


class _Fused(Op):
    def _setup(self, a, beta, alpha, names):
        self.sa, self.da = a.shape, a.dtype
        self.beta, self.alpha = beta, alpha
        n, i = self.needs, self.inputs
        if n:
            self.save(**{names[0]: i[1] if n[2] else None, names[1]: i[2] if n[1] else None})

    def _gin(self, g):
        return sum_to(_scale(g, self.beta), self.sa, self.da) if self.needs[0] else None


class AddmmBackward0(_Fused):
    def forward(self, a, m1, m2, beta=1, alpha=1):
        self._setup(a, beta, alpha, ("mat1", "mat2"))
        return _fused_forward(a, m1 @ m2, beta, alpha)

    def backward(self, g):
        m1, m2 = self.saved()
        n = self.needs
        return (self._gin(g), _scale(g.mm(m2.t()), self.alpha) if n[1] else None,
                _scale(m1.t().mm(g), self.alpha) if n[2] else None)


class AddmvBackward0(_Fused):
    def forward(self, a, m, v, beta=1, alpha=1):
        self._setup(a, beta, alpha, ("mat", "vec"))
        return _fused_forward(a, m @ v, beta, alpha)

    def backward(self, g):
        m, v = self.saved()
        n = self.needs
        return (self._gin(g), _scale(g.unsqueeze(1) * v.unsqueeze(0), self.alpha)
                if n[1] else None, _scale(m.t().mv(g), self.alpha) if n[2] else None)


class AddbmmBackward0(_Fused):
    def forward(self, a, b1, b2, beta=1, alpha=1):
        self._setup(a, beta, alpha, ("batch1", "batch2"))
        self.bshape = (b1.shape[0], b1.shape[1], b2.shape[2])
        return _fused_forward(a, (b1 @ b2).sum(0), beta, alpha)

    def backward(self, g):
        b1, b2 = self.saved()
        n = self.needs
        ge = g.unsqueeze(0).expand(*self.bshape) if n[1] or n[2] else None
        return (self._gin(g), _scale(ge.bmm(b2.transpose(1, 2)), self.alpha) if n[1] else None,
                _scale(b1.transpose(1, 2).bmm(ge), self.alpha) if n[2] else None)


class BaddbmmBackward0(_Fused):
    def forward(self, a, b1, b2, beta=1, alpha=1):
        self._setup(a, beta, alpha, ("batch1", "batch2"))
        return _fused_forward(a, b1 @ b2, beta, alpha)

    def backward(self, g):
        b1, b2 = self.saved()
        n = self.needs
        return (self._gin(g), _scale(g.bmm(b2.transpose(1, 2)), self.alpha) if n[1] else None,
                _scale(b1.transpose(1, 2).bmm(g), self.alpha) if n[2] else None)


def _req3(fn: str, names: tuple, *xs: Any) -> None:
    from ._core import require_tensor
    for k, (n, x) in enumerate(zip(names, xs)):
        require_tensor(fn, n, k + 1, x)


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta: Any = 1,
          alpha: Any = 1) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)`` (``input`` broadcast to the product)."""
    _req3("addmm", ("input", "mat1", "mat2"), input, mat1, mat2)
    for name, m in (("mat1", mat1), ("mat2", mat2)):
        if m.dim() != 2:
            raise RuntimeError(f"{name} must be a matrix, got {m.dim()}-D tensor")
    if mat1.shape[1] != mat2.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({mat1.shape[0]}x"
                           f"{mat1.shape[1]} and {mat2.shape[0]}x{mat2.shape[1]})")
    for m in (input, mat1):
        if m.dtype is not mat2.dtype:
            raise RuntimeError(f"self and mat2 must have the same dtype, but got "
                               f"{_pretty(m.dtype)} and {_pretty(mat2.dtype)}")
    _check_expand(input, (mat1.shape[0], mat2.shape[1]))
    return apply(AddmmBackward0, (input, mat1, mat2), beta=beta, alpha=alpha)


def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta: Any = 1,
          alpha: Any = 1) -> Tensor:
    """``beta * input + alpha * (mat @ vec)``."""
    _req3("addmv", ("input", "mat", "vec"), input, mat, vec)
    if not (mat.dim() == 2 and vec.dim() == 1 and input.dim() <= 1):
        raise RuntimeError(f"vector + matrix @ vector expected, got {input.dim()}, "
                           f"{mat.dim()}, {vec.dim()}")
    if mat.shape[1] != vec.shape[0] or (mat.shape[0] != input.numel() and input.numel() != 1):
        raise RuntimeError(f"size mismatch, got input ({input.shape[0] if input.dim() else 1}),"
                           f" mat ({mat.shape[0]}x{mat.shape[1]}), vec ({vec.shape[0]})")
    if input.dtype is not mat.dtype or mat.dtype is not vec.dtype:
        raise RuntimeError(f"addmv input tensors must have the same dtype, but got "
                           f"{_pretty(input.dtype)}, {_pretty(mat.dtype)}, and "
                           f"{_pretty(vec.dtype)}")
    return apply(AddmvBackward0, (input, mat, vec), beta=beta, alpha=alpha)


def _check_batches(b1: Tensor, b2: Tensor) -> None:
    for b in (b1, b2):
        if b.dim() != 3:
            _wrap_dim(2, b.dim())
            raise RuntimeError(f"batch{1 if b is b1 else 2} must be a 3D tensor")
    if b1.dtype is not b2.dtype:
        raise RuntimeError(f"expected scalar type {_pretty(b1.dtype)} but found "
                           f"{_pretty(b2.dtype)}")


def addbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1,
           alpha: Any = 1) -> Tensor:
    """``beta * input + alpha * sum_b(batch1[b] @ batch2[b])``."""
    _req3("addbmm", ("input", "batch1", "batch2"), input, batch1, batch2)
    _check_batches(batch1, batch2)
    if batch1.shape[0] != batch2.shape[0]:
        raise RuntimeError(f"batch1 and batch2 must have same number of batches, got "
                           f"{batch1.shape[0]} and {batch2.shape[0]}")
    if batch1.shape[2] != batch2.shape[1]:
        raise RuntimeError(f"Incompatible matrix sizes for bmm ({batch1.shape[1]}x"
                           f"{batch1.shape[2]} and {batch2.shape[1]}x{batch2.shape[2]})")
    _check_expand(input, (batch1.shape[1], batch2.shape[2]))
    if input.dtype is not batch1.dtype:
        raise RuntimeError(f"expected scalar type {_pretty(batch1.dtype)} but found "
                           f"{_pretty(input.dtype)}")
    return apply(AddbmmBackward0, (input, batch1, batch2), beta=beta, alpha=alpha)


def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1,
            alpha: Any = 1) -> Tensor:
    """``beta * input + alpha * bmm(batch1, batch2)`` (``input`` broadcast)."""
    _req3("baddbmm", ("input", "batch1", "batch2"), input, batch1, batch2)
    _check_batches(batch1, batch2)
    if batch1.shape[0] != batch2.shape[0] or batch1.shape[2] != batch2.shape[1]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{batch1.shape[0]}, {batch1.shape[2]}] but got: "
                           f"[{batch2.shape[0]}, {batch2.shape[1]}].")
    _check_expand(input, (batch1.shape[0], batch1.shape[1], batch2.shape[2]))
    if input.dtype is not batch1.dtype:
        raise RuntimeError(f"expected scalar type {_pretty(batch1.dtype)} but found "
                           f"{_pretty(input.dtype)}")
    return apply(BaddbmmBackward0, (input, batch1, batch2), beta=beta, alpha=alpha)


# ------------------------------------------------------------------------------ cross
class LinalgCrossBackward0(Op):
    def forward(self, a, b, dim):
        self.dim = dim
        self.meta = [(x.shape, x.dtype) for x in (a, b)]
        n, i = self.needs, self.inputs
        if n:
            self.save(self=i[0] if n[1] else None, other=i[1] if n[0] else None)
        return _xp(a).cross(a, b, axis=dim)

    def backward(self, g):
        a, b = self.saved()
        d = self.dim
        return (sum_to(linalg_cross(b, g, dim=d), *self.meta[0]) if b is not None else None,
                sum_to(linalg_cross(g, a, dim=d), *self.meta[1]) if a is not None else None)


def linalg_cross(input: Tensor, other: Tensor, *, dim: int = -1) -> Tensor:
    """``torch.linalg.cross``: the cross product of 3-vectors along ``dim`` (broadcast)."""
    if input.dim() != other.dim():
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    d = _wrap_dim(dim, input.dim())
    if input.shape[d] != 3 or other.shape[d] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got "
                           f"{input.shape[d]} and {other.shape[d]}")
    check_broadcast(input, other)
    if input.dtype is not other.dtype:
        raise RuntimeError(f"expected scalar type {_pretty(input.dtype)} but found "
                           f"{_pretty(other.dtype)}")
    return apply(LinalgCrossBackward0, (input, other), dim=d)


def cross(input: Tensor, other: Tensor, dim: int | None = None) -> Tensor:
    """Cross product along ``dim`` (without ``dim``: the first dimension of size 3, with
    PyTorch's deprecation warning)."""
    if dim is None:
        warnings.warn("Using torch.cross without specifying the dim arg is deprecated.\n"
                      "Please either pass the dim explicitly or simply use torch.linalg.cross."
                      "\nThe default value of dim will change to agree with that of "
                      "linalg.cross in a future release.", UserWarning, stacklevel=2)
        if input.dim() == other.dim():
            shape = np.broadcast_shapes(tuple(input.shape), tuple(other.shape))
            dim = next((i for i, s in enumerate(shape) if s == 3), None)
        if dim is None:
            raise RuntimeError("no dimension of size 3 in input")
    return linalg_cross(input, other, dim=dim)


# ------------------------------------------------------------------------------ cdist
class CdistBackward0(Op):
    """``cdist``: p-norm distances between the rows of ``x1`` and of ``x2``; the gradient
    is 0 where a distance is 0, as in PyTorch."""

    def forward(self, x1, x2, p):
        self.p = p
        self.m1, self.m2 = (x1.shape, x1.dtype), (x2.shape, x2.dtype)
        self.save(x1=self.inputs[0], x2=self.inputs[1], result=RESULT)
        xp = _xp(x1)
        diff = xp.abs(x1[..., :, None, :] - x2[..., None, :, :])
        if p == 0:
            return (diff != 0).sum(-1).astype(x1.dtype)
        if p == 1:
            return diff.sum(-1)
        if p == 2:
            return xp.sqrt((diff * diff).sum(-1))
        if p == float("inf"):
            return diff.max(-1) if diff.shape[-1] else diff.sum(-1)
        return (diff ** p).sum(-1) ** (1.0 / p)

    def backward(self, g):
        x1, x2, r = self.saved()
        p = self.p
        n = self.needs
        if p == 0:
            return (x1.new_zeros(tuple(x1.shape)) if n[0] else None,
                    x2.new_zeros(tuple(x2.shape)) if n[1] else None)
        diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
        d = r.unsqueeze(-1)
        zero = g.new_zeros(())
        if p == 1:
            w = diff.sign()
        elif p == float("inf"):
            w = diff.sign() * (diff.abs() == d).to(g.dtype)
        else:
            dead = d == 0
            if p < 1:
                dead = dead.logical_or(diff == 0)
            safe_d = where(d == 0, g.new_ones(()), d)
            if p == 2:
                w = diff / safe_d
            else:
                ad = where(diff == 0, g.new_ones(()), diff.abs()) if p < 2 else diff.abs()
                w = diff * ad ** (p - 2) / safe_d ** (p - 1)
            w = where(dead, zero, w)
        gw = g.unsqueeze(-1) * w
        return (sum_to(gw.sum(-2), *self.m1) if n[0] else None,
                sum_to(-gw.sum(-3), *self.m2) if n[1] else None)


class EuclideanDistBackward0(CdistBackward0):
    """``cdist`` with ``p=2`` on more than 25 rows (PyTorch's matrix-product path)."""


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0,
          compute_mode: str = "use_mm_for_euclid_dist_if_necessary") -> Tensor:
    """p-norm distance between each row of ``x1`` and each row of ``x2`` (batched:
    ``(B..., P, M)`` and ``(B..., R, M)`` give ``(B..., P, R)``)."""
    for name, x in (("X1", x1), ("X2", x2)):
        if x.dim() < 2:
            raise RuntimeError(f"cdist only supports at least 2D tensors, {name} got: "
                               f"{x.dim()}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: "
                           f"{x1.shape[-1]} X2: {x2.shape[-1]}")
    for name, x in (("X1", x1), ("X2", x2)):
        if not x.dtype.is_floating_point:
            raise RuntimeError(f"cdist only supports floating-point dtypes, {name} got: "
                               f"{_pretty(x.dtype)}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    if x1.dtype is not x2.dtype:
        raise RuntimeError(f"expected scalar type {_pretty(x1.dtype)} but found "
                           f"{_pretty(x2.dtype)}")
    from types import SimpleNamespace
    b1, b2 = tuple(x1.shape[:-2]), tuple(x2.shape[:-2])
    check_broadcast(SimpleNamespace(_data=SimpleNamespace(shape=b1)),
                    SimpleNamespace(_data=SimpleNamespace(shape=b2)))
    mm_path = p == 2 and (compute_mode == "use_mm_for_euclid_dist" or (
        compute_mode == "use_mm_for_euclid_dist_if_necessary"
        and (x1.shape[-2] > 25 or x2.shape[-2] > 25)))
    if mm_path and x1.dim() == 2 and x2.dim() == 2:
        r = apply(EuclideanDistBackward0, (x1, x2), p=2.0)
        return r.view(tuple(r.shape))
    return apply(CdistBackward0, (x1, x2), p=float(p))


# ---------------------------------------------------------------- chain of products
def multi_dot(tensors: Sequence[Tensor]) -> Tensor:
    """``torch.linalg.multi_dot``: the product of the matrices in the cheapest order (the
    first may be a row vector, the last a column vector)."""
    ts = list(tensors)
    n = len(ts)
    if n < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {n}")
    if ts[0].dim() not in (1, 2):
        raise RuntimeError(f"multi_dot(): the first tensor must be 1D or 2D but got "
                           f"{ts[0].dim()}D")
    if ts[-1].dim() not in (1, 2):
        raise RuntimeError(f"multi_dot(): the last tensor must be 1D or 2D but got "
                           f"{ts[-1].dim()}D")
    for i in range(1, n - 1):
        if ts[i].dim() != 2:
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {ts[i].dim()}D")
    for i in range(1, n):
        if ts[i].dtype is not ts[0].dtype:
            raise RuntimeError(f"multi_dot(): all tensors must have be the same dtype but "
                               f"tensor 0 is {_long(ts[0].dtype)} and tensor {i} "
                               f"{_long(ts[i].dtype)}")
    out_shape = []
    if ts[0].dim() == 1:
        ts[0] = ts[0].unsqueeze(0)
    else:
        out_shape.append(ts[0].shape[0])
    if ts[-1].dim() == 1:
        ts[-1] = ts[-1].unsqueeze(-1)
    else:
        out_shape.append(ts[-1].shape[1])
    for i in range(n - 1):
        if ts[i].shape[1] != ts[i + 1].shape[0]:
            raise RuntimeError(f"multi_dot(): tensors {i} and {i + 1} with shapes "
                               f"{list(ts[i].shape)} and {list(ts[i + 1].shape)} cannot be "
                               "multiplied")
    if n == 2:
        r = mm(ts[0], ts[1])
    elif n == 3:
        a, b, c, d = ts[0].shape[0], ts[1].shape[0], ts[2].shape[0], ts[2].shape[1]
        if (a * c) * (b + d) > (b * d) * (a + c):
            r = mm(ts[0], mm(ts[1], ts[2]))
        else:
            r = mm(mm(ts[0], ts[1]), ts[2])
    else:
        p = [ts[0].shape[0]] + [t.shape[1] for t in ts]
        cost = [[0] * n for _ in range(n)]
        split = [[0] * n for _ in range(n)]
        for length in range(1, n):
            for i in range(n - length):
                j = i + length
                cost[i][j] = None
                for k in range(i, j):
                    q = cost[i][k] + cost[k + 1][j] + p[i] * p[k + 1] * p[j + 1]
                    if cost[i][j] is None or q < cost[i][j]:
                        cost[i][j], split[i][j] = q, k

        def chain(i: int, j: int) -> Tensor:
            if i == j:
                return ts[i]
            return mm(chain(i, split[i][j]), chain(split[i][j] + 1, j))
        r = chain(0, n - 1)
    return r.view(tuple(out_shape))


def chain_matmul(*matrices: Tensor, out: Tensor | None = None) -> Tensor:
    """Deprecated in PyTorch for ``linalg.multi_dot``: the product of 2-D matrices."""
    warnings.warn("torch.chain_matmul is deprecated and will be removed in a future PyTorch "
                  "release. Use torch.linalg.multi_dot instead, which accepts a list of two or "
                  "more tensors rather than multiple parameters.", UserWarning, stacklevel=2)
    if not matrices:
        raise RuntimeError("chain_matmul(): Expected one or more matrices")
    for m in matrices:
        if m.dim() != 2:
            raise RuntimeError(f"Tensor dimension is {m.dim()}, expected 2 instead.")
    if len(matrices) == 1:
        return matrices[0].clone()
    return multi_dot(matrices)


# ------------------------------------------------------------------------ Tensor methods
for _fn in (addmm, addmv, addbmm, baddbmm):
    register(_fn.__name__)(_fn)
    setattr(Tensor, _fn.__name__ + "_", inplace(_fn.__name__ + "_", _fn))
for _fn in (kron, inner, cross):
    register(_fn.__name__)(_fn)
del _fn
