"""Creation functions: ``tensor``, ``zeros``, ``ones``, ``rand``, ``arange``, ... and
``from_numpy`` (shares memory) and ``manual_seed``."""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import _backend as B
from ..autograd import events
from ..tensor import Size, Tensor

_wrap = Tensor._wrap


class _RNG:
    gen = np.random.default_rng(0)
    cuda_seed: int | None = None


def manual_seed(seed: int) -> Any:
    """Seed the random number generators (NumPy's, and CuPy's when in use)."""
    _RNG.gen = np.random.default_rng(int(seed))
    _RNG.cuda_seed = int(seed)
    if B._cupy is not None:
        B._cupy.random.seed(int(seed))
    return _RNG.gen


seed = manual_seed


def _dev(device: Any) -> B.device:
    return B.as_device(device)


def _emit_created(t: Tensor) -> Tensor:
    if events.enabled:
        events.emit("tensor_created", tensor=t)
    return t


def _finish(data: Any, requires_grad: bool) -> Tensor:
    t = _wrap(data)
    if requires_grad:
        if data.dtype.kind != "f":
            raise RuntimeError("Only Tensors of floating point and complex dtype can require "
                               "gradients")
        t._rg = True
    return t


def _shape(size: Sequence[Any]) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list, Size)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, (int, np.integer)) and not (isinstance(s, Tensor)
                                                         and s.numel() == 1):
            raise TypeError(f"expected a sequence of integers for the size, got "
                            f"{type(s).__name__}")
    shape = tuple(int(s) for s in size)
    if any(s < 0 for s in shape):
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(shape)}: "
                           f"{list(shape)}")
    return shape


def _infer_dtype(data: Any) -> B.dtype:
    """PyTorch's inference: floats → default float, ints → int64, bools → bool."""
    if isinstance(data, Tensor):
        return data.dtype
    if isinstance(data, np.ndarray) or isinstance(data, np.generic):
        return B.from_np(data.dtype)
    if B._cupy is not None and isinstance(data, B._cupy.ndarray):
        return B.from_np(data.dtype)
    kinds = set()
    stack = [data]
    while stack:
        x = stack.pop()
        if isinstance(x, (list, tuple)):
            stack.extend(x)
        elif isinstance(x, Tensor):
            kinds.add("f" if x.dtype.is_floating_point else ("b" if x.dtype is B.bool_ else "i"))
        elif isinstance(x, (bool, np.bool_)):
            kinds.add("b")
        elif isinstance(x, (int, np.integer)):
            kinds.add("i")
        elif isinstance(x, (float, np.floating)):
            kinds.add("f")
        else:
            raise TypeError(f"Could not infer dtype of {type(x).__name__}")
    if "f" in kinds:
        return B.default_float()
    if "i" in kinds:
        return B.int64
    if "b" in kinds:
        return B.bool_
    return B.default_float()


def _to_list(data: Any) -> Any:
    if isinstance(data, Tensor):
        return data.tolist()
    if isinstance(data, (list, tuple)):
        return [_to_list(x) for x in data]
    return data


def tensor(data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:
    """A new tensor with a copy of ``data``, inferring the dtype as PyTorch does."""
    if isinstance(data, Tensor):
        warnings.warn("To copy construct from a tensor, it is recommended to use "
                      "sourceTensor.detach().clone() or "
                      "sourceTensor.detach().clone().requires_grad_(True), rather than "
                      "autograd_viz.tensor(sourceTensor).", UserWarning, stacklevel=2)
    dt = B.as_dtype(dtype) if dtype is not None else _infer_dtype(data)
    dev = _dev(device) if device is not None else (data.device if isinstance(data, Tensor)
                                                   else B.default_device())
    xp = B.xp_for(dev)
    if isinstance(data, Tensor):
        arr = xp.array(B.move(data._data, dev), dtype=dt.np, copy=True)
    elif isinstance(data, np.ndarray):
        arr = xp.array(data, dtype=dt.np, copy=True)
    else:
        src = _to_list(data)
        try:
            arr = xp.array(np.array(src, dtype=dt.np), copy=False) if xp is not np \
                else np.array(src, dtype=dt.np)
        except ValueError as e:
            raise ValueError(f"expected a rectangular nested sequence of numbers: {e}") from None
    return _finish(arr, requires_grad)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """Like ``tensor`` but shares memory with a NumPy array or tensor when it can."""
    if isinstance(data, Tensor):
        out = data
        if dtype is not None or device is not None:
            out = out.to(device=device, dtype=dtype)
        return out
    if isinstance(data, np.ndarray) and _dev(device).type == "cpu":
        if dtype is None or B.as_dtype(dtype).np == data.dtype:
            return from_numpy(data)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(a: np.ndarray) -> Tensor:
    """A tensor that shares memory with the NumPy array ``a`` (writes show on both)."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(a).__name__})")
    B.from_np(a.dtype)
    return _emit_created(_wrap(a))


def _filled(fill: Any, size: Sequence[Any], dtype: Any, device: Any, requires_grad: bool,
            default: B.dtype | None = None) -> Tensor:
    dt = B.as_dtype(dtype) if dtype is not None else (default or B.default_float())
    xp = B.xp_for(_dev(device))
    shape = _shape(size)
    if fill is None:
        arr = xp.empty(shape, dtype=dt.np)
    elif fill == 0:
        arr = xp.zeros(shape, dtype=dt.np)
    else:
        arr = xp.full(shape, fill, dtype=dt.np)
    return _finish(arr, requires_grad)


def zeros(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
          out: Tensor | None = None) -> Tensor:
    """A tensor filled with 0."""
    return _filled(0, size, dtype, device, requires_grad)


def ones(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
         out: Tensor | None = None) -> Tensor:
    """A tensor filled with 1."""
    return _filled(1, size, dtype, device, requires_grad)


def empty(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
          out: Tensor | None = None) -> Tensor:
    """An uninitialised tensor."""
    return _filled(None, size, dtype, device, requires_grad)


def full(size: Sequence[int], fill_value: Any, *, dtype: Any = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    """A tensor filled with ``fill_value`` (its dtype inferred from the value)."""
    default = B.result_type(fill_value) if dtype is None else None
    return _filled(fill_value, (size,), dtype, device, requires_grad, default)


def _like(t: Tensor, dtype: Any, device: Any) -> tuple:
    return (tuple(t.shape), dtype if dtype is not None else t.dtype,
            device if device is not None else t.device)


def zeros_like(t: Tensor, *, dtype: Any = None, device: Any = None,
               requires_grad: bool = False) -> Tensor:
    s, d, dev = _like(t, dtype, device)
    return zeros(s, dtype=d, device=dev, requires_grad=requires_grad)


def ones_like(t: Tensor, *, dtype: Any = None, device: Any = None,
              requires_grad: bool = False) -> Tensor:
    s, d, dev = _like(t, dtype, device)
    return ones(s, dtype=d, device=dev, requires_grad=requires_grad)


def empty_like(t: Tensor, *, dtype: Any = None, device: Any = None,
               requires_grad: bool = False) -> Tensor:
    s, d, dev = _like(t, dtype, device)
    return empty(s, dtype=d, device=dev, requires_grad=requires_grad)


def full_like(t: Tensor, fill_value: Any, *, dtype: Any = None, device: Any = None,
              requires_grad: bool = False) -> Tensor:
    s, d, dev = _like(t, dtype, device)
    return full(s, fill_value, dtype=d, device=dev, requires_grad=requires_grad)


def _random(kind: str, size: Sequence[Any], dtype: Any, device: Any,
            requires_grad: bool, **kw: Any) -> Tensor:
    dt = B.as_dtype(dtype) if dtype is not None else B.default_float()
    if kind != "randint" and not dt.is_floating_point:
        raise RuntimeError(f"\"{kind}\" not implemented for '{dt.name}'")
    shape = _shape(size)
    g = _RNG.gen
    if kind == "rand":
        arr = g.random(shape, dtype=np.float64).astype(dt.np)
    elif kind == "randn":
        arr = g.standard_normal(shape, dtype=np.float64).astype(dt.np)
    else:
        arr = g.integers(kw["low"], kw["high"], size=shape).astype(dt.np)
    dev = _dev(device)
    if dev.type != "cpu":
        arr = B.move(arr, dev)
    return _finish(arr, requires_grad)


def rand(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
         generator: Any = None) -> Tensor:
    """Uniform samples from [0, 1)."""
    return _random("rand", size, dtype, device, requires_grad)


def randn(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
          generator: Any = None) -> Tensor:
    """Standard normal samples."""
    return _random("randn", size, dtype, device, requires_grad)


def randint(low: int, high: int | None = None, size: Sequence[int] = (), *,
            dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Integers drawn uniformly from [low, high) (int64 by default)."""
    if high is None:
        low, high = 0, low
    return _random("randint", (tuple(size),), dtype or B.int64, device, requires_grad,
                   low=low, high=high)


def rand_like(t: Tensor, *, dtype: Any = None, device: Any = None,
              requires_grad: bool = False) -> Tensor:
    s, d, dev = _like(t, dtype, device)
    return rand(s, dtype=d, device=dev, requires_grad=requires_grad)


def randn_like(t: Tensor, *, dtype: Any = None, device: Any = None,
               requires_grad: bool = False) -> Tensor:
    s, d, dev = _like(t, dtype, device)
    return randn(s, dtype=d, device=dev, requires_grad=requires_grad)


def randperm(n: int, *, dtype: Any = None, device: Any = None) -> Tensor:
    """A random permutation of 0..n-1."""
    arr = _RNG.gen.permutation(n).astype((B.as_dtype(dtype) if dtype else B.int64).np)
    return _wrap(B.move(arr, _dev(device)))


def arange(start: Any, end: Any = None, step: Any = 1, *, dtype: Any = None,
           device: Any = None, requires_grad: bool = False) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive); int64 unless an argument is a float."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("step must be nonzero")
    dt = B.as_dtype(dtype) if dtype is not None else B.result_type(start, end, step)
    if dt is B.bool_:
        dt = B.int64
    xp = B.xp_for(_dev(device))
    n = max(0, int(np.ceil((end - start) / step)))
    arr = (xp.arange(n, dtype=np.float64) * step + start).astype(dt.np) \
        if dt.is_floating_point else xp.arange(start, end, step, dtype=dt.np)
    return _finish(arr, requires_grad)


def linspace(start: float, end: float, steps: int, *, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    dt = B.as_dtype(dtype) if dtype is not None else B.default_float()
    xp = B.xp_for(_dev(device))
    return _finish(xp.linspace(start, end, int(steps)).astype(dt.np), requires_grad)


def eye(n: int, m: int | None = None, *, dtype: Any = None, device: Any = None,
        requires_grad: bool = False) -> Tensor:
    """The identity matrix (n x m)."""
    dt = B.as_dtype(dtype) if dtype is not None else B.default_float()
    xp = B.xp_for(_dev(device))
    return _finish(xp.eye(n, m, dtype=dt.np), requires_grad)


def scalar_tensor(value: Any, *, dtype: Any = None, device: Any = None) -> Tensor:
    return tensor(value, dtype=dtype or B.default_float(), device=device)


# ------------------------------------------------------------------ in-place random fills
def _fill_random(self: Tensor, sample: Any) -> Tensor:
    from ..autograd import grad_mode
    if grad_mode.is_grad_enabled() and self.requires_grad and self.is_leaf:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                           "operation.")
    arr = np.asarray(sample(tuple(self.shape)), dtype=self._data.dtype)
    self._data[...] = B.move(arr, self.device)
    self._vc.v += 1
    return self


def uniform_(self: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Fill in place with samples from U(a, b)."""
    return _fill_random(self, lambda s: _RNG.gen.uniform(a, b, s))


def normal_(self: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Fill in place with samples from N(mean, std²)."""
    return _fill_random(self, lambda s: _RNG.gen.normal(mean, std, s))


def bernoulli_(self: Tensor, p: float = 0.5) -> Tensor:
    """Fill in place with 0/1 samples that are 1 with probability ``p``."""
    return _fill_random(self, lambda s: _RNG.gen.random(s) < p)


def exponential_(self: Tensor, lambd: float = 1.0) -> Tensor:
    """Fill in place with samples from Exp(lambd)."""
    return _fill_random(self, lambda s: _RNG.gen.exponential(1.0 / lambd, s))


def random_(self: Tensor, low: int = 0, high: int | None = None) -> Tensor:
    """Fill in place with integers from [low, high) (or [0, low) with one argument)."""
    if high is None:
        low, high = 0, low if low else 2 ** 24
    return _fill_random(self, lambda s: _RNG.gen.integers(low, high, s))


for _f in (uniform_, normal_, bernoulli_, exponential_, random_):
    setattr(Tensor, _f.__name__, _f)
