"""The one place that picks NumPy or CuPy, and defines devices and dtypes.

CuPy is imported lazily, the first time a CUDA device is asked for.
"""
from __future__ import annotations

import threading
import warnings
from typing import Any

import numpy as np

# PyTorch computes log(0) = -inf, 0/0 = nan, exp(1000) = inf silently; NumPy warns. Silence
# NumPy's floating-point warnings where our own numeric code computes (nowhere else: the
# filter matches the module the warning is attributed to), so users see torch's behaviour.
warnings.filterwarnings(
    "ignore", r"(divide by zero|invalid value|overflow|underflow) encountered",
    RuntimeWarning, r"autograd_viz\.(ops|nn|optim|autograd|tensor|_tensor_str|_backend)(\.|$)")

__all__ = [
    "dtype", "device", "get_array_module", "to_numpy", "as_dtype", "as_device",
    "result_type", "default_float", "cuda_available", "default_device", "set_default_device",
]


class dtype:  # noqa: N801 - torch spells it lower case
    """A tensor element type, such as ``autograd_viz.float32``."""

    __slots__ = ("name", "np", "is_floating_point", "is_signed", "itemsize", "_cat", "_rank")

    def __init__(self, name: str, np_dtype: Any, cat: int, rank: int) -> None:
        self.name = name
        self.np = np.dtype(np_dtype)
        self.is_floating_point = cat == 2
        self.is_signed = name not in ("bool", "uint8")
        self.itemsize = self.np.itemsize
        self._cat = cat  # 0 bool, 1 integer, 2 floating
        self._rank = rank

    def __repr__(self) -> str:
        return f"autograd_viz.{self.name}"

    def __reduce__(self) -> str:
        return self.name

    @property
    def is_complex(self) -> bool:
        return False


bool_ = dtype("bool", np.bool_, 0, 0)
uint8 = dtype("uint8", np.uint8, 1, 1)
int8 = dtype("int8", np.int8, 1, 1)
int16 = dtype("int16", np.int16, 1, 2)
int32 = dtype("int32", np.int32, 1, 3)
int64 = dtype("int64", np.int64, 1, 4)
float16 = dtype("float16", np.float16, 2, 1)
float32 = dtype("float32", np.float32, 2, 2)
float64 = dtype("float64", np.float64, 2, 3)

ALL_DTYPES = (bool_, uint8, int8, int16, int32, int64, float16, float32, float64)
_BY_NP = {d.np: d for d in ALL_DTYPES}
_BY_NAME = {d.name: d for d in ALL_DTYPES}
_BY_NAME.update({"half": float16, "float": float32, "double": float64, "int": int32,
                 "long": int64, "short": int16})

_default = threading.local()


def default_float() -> dtype:
    """The default floating dtype (float32 unless ``set_default_dtype`` changed it)."""
    return getattr(_default, "dtype", float32)


def set_default_dtype(d: dtype) -> None:
    """Set the dtype that Python floats and ``Tensor(...)`` become."""
    d = as_dtype(d)
    if not d.is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    _default.dtype = d


def as_dtype(d: Any) -> dtype:
    """Turn an autograd_viz dtype, a NumPy dtype, a Python type or a name into a dtype."""
    if isinstance(d, dtype):
        return d
    if d is float:
        return default_float()
    if d is int:
        return int64
    if d is bool:
        return bool_
    if isinstance(d, str):
        got = _BY_NAME.get(d.replace("torch.", "").replace("autograd_viz.", ""))
        if got is not None:
            return got
        raise TypeError(f"unknown dtype {d!r}")
    try:
        return _BY_NP[np.dtype(d)]
    except (KeyError, TypeError):
        raise TypeError(f"autograd_viz does not support the dtype {d!r}; use one of "
                        f"{', '.join(x.name for x in ALL_DTYPES)}") from None


def from_np(np_dtype: Any) -> dtype:
    """The dtype of a NumPy/CuPy array dtype (float64 arrays stay float64)."""
    try:
        return _BY_NP[np_dtype]
    except KeyError:
        return as_dtype(np_dtype)


# ----------------------------------------------------------------------------- devices
class device:  # noqa: N801
    """Where a tensor lives: ``device('cpu')`` or ``device('cuda', 0)``."""

    __slots__ = ("type", "index")

    def __init__(self, type: str | device, index: int | None = None) -> None:  # noqa: A002
        if isinstance(type, device):
            type, index = type.type, type.index
        elif isinstance(type, str) and ":" in type:
            type, idx = type.split(":", 1)
            index = int(idx)
        if type not in ("cpu", "cuda"):
            raise RuntimeError(
                f"Expected one of cpu, cuda device type at start of device string: {type}")
        self.type = type
        self.index = index

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            other = device(other)
        return (isinstance(other, device) and self.type == other.type
                and (self.index or 0) == (other.index or 0))

    def __hash__(self) -> int:
        return hash((self.type, self.index or 0))

    def __enter__(self) -> device:
        """``with av.device('cuda'):`` makes factory functions create tensors here."""
        stack = _default.__dict__.setdefault("device_stack", [])
        stack.append(getattr(_default, "device", None))
        _default.device = self
        return self

    def __exit__(self, *exc: Any) -> None:
        _default.device = _default.device_stack.pop()


CPU = device("cpu")


def default_device() -> device:
    """Where factory functions put tensors when no ``device=`` is given (the CPU unless
    ``set_default_device`` or ``with device(...)`` changed it)."""
    return getattr(_default, "device", None) or CPU


def set_default_device(d: Any) -> None:
    """Make factory functions (``tensor``, ``zeros``, ``randn``, ...) create their tensors on
    ``d`` when they are given no ``device=``, as ``torch.set_default_device`` does; ``None``
    goes back to the CPU."""
    _default.device = None if d is None else as_device(d)


_cupy = None


def _import_cupy():
    global _cupy
    if _cupy is None:
        try:
            import cupy  # type: ignore[import-not-found]
        except ImportError:
            raise RuntimeError(
                "CUDA was asked for but CuPy is not installed. Install autograd_viz with "
                "the cuda12 or cuda13 extra (pip install 'autograd_viz[cuda13]'), on a "
                "machine with an NVIDIA GPU.") from None
        try:
            n = cupy.cuda.runtime.getDeviceCount()
        except Exception as e:  # noqa: BLE001
            raise RuntimeError(f"CuPy is installed but no CUDA GPU is usable: {e}") from None
        if n == 0:
            raise RuntimeError("CuPy is installed but found no CUDA GPU.")
        _cupy = cupy
    return _cupy


def cupy_ndarray() -> type | None:
    """``cupy.ndarray`` once CuPy is in use, else None (never imports CuPy)."""
    return None if _cupy is None else _cupy.ndarray


def cuda_available() -> bool:
    """True when CuPy imports and sees at least one GPU."""
    try:
        _import_cupy()
    except RuntimeError:
        return False
    return True


def cuda_device_count() -> int:
    return _import_cupy().cuda.runtime.getDeviceCount() if cuda_available() else 0


def as_device(d: Any) -> device:
    """A ``device`` from a device, a string (``'cuda:0'``) or an index; ``None`` gives the
    default device."""
    if d is None:
        return getattr(_default, "device", None) or CPU
    if isinstance(d, device):
        return d
    if isinstance(d, int):
        return device("cuda", d)
    return device(d)


def xp_for(dev: device):
    """The array module (numpy or cupy) for a device."""
    if dev.type == "cpu":
        return np
    return _import_cupy()


def get_array_module(arr: Any):
    """numpy for NumPy arrays and scalars, cupy for CuPy arrays (Chainer's idiom)."""
    if isinstance(arr, np.ndarray) or _cupy is None:
        return np
    return _cupy if isinstance(arr, _cupy.ndarray) else np


def along_grids(idx: Any, dim: int) -> tuple:
    """The advanced-index key that addresses ``out[..., idx[i], ...]`` element-wise along
    ``dim`` (``np.indices(..., sparse=True)`` with ``idx`` at ``dim``; CuPy has no sparse
    ``indices``, so the open grid is built from ``arange``)."""
    xp = get_array_module(idx)
    n = idx.ndim
    grids = [xp.arange(s).reshape((1,) * i + (s,) + (1,) * (n - i - 1))
             for i, s in enumerate(idx.shape)]
    grids[dim] = idx
    return tuple(grids)


def device_of(arr: Any) -> device:
    if isinstance(arr, np.ndarray) or _cupy is None:
        return CPU
    return device("cuda", arr.device.id)


def to_numpy(arr: Any) -> np.ndarray:
    """A host NumPy array for a NumPy or CuPy array (a copy when it comes from the GPU)."""
    if isinstance(arr, np.ndarray):
        return arr
    if _cupy is not None and isinstance(arr, _cupy.ndarray):
        return _cupy.asnumpy(arr)
    return np.asarray(arr)


def move(arr: Any, dev: device):
    """Copy an array to a device (returns ``arr`` itself when it is already there)."""
    if device_of(arr) == dev:
        return arr
    if dev.type == "cpu":
        return to_numpy(arr)
    cp = _import_cupy()
    with cp.cuda.Device(dev.index or 0):
        return cp.asarray(arr)


# ----------------------------------------------------------------------------- promotion
def result_type(*operands: Any) -> dtype:
    """PyTorch's type promotion for tensors, zero-dim tensors and Python scalars.

    The highest category (bool < integer < floating) wins; within it, dimensioned tensors
    decide before zero-dim tensors, and those before Python scalars (which give the default
    dtype of their category).
    """
    best = [None, None, None]  # per priority: dimensioned, zero-dim, scalar
    top_cat = 0
    for x in operands:
        d = getattr(x, "dtype", None)
        if isinstance(d, dtype):
            pri = 0 if x._data.ndim else 1
        else:
            pri = 2
            if isinstance(x, bool):
                d = bool_
            elif isinstance(x, int):
                d = int64
            elif isinstance(x, float):
                d = default_float()
            else:
                d = from_np(np.asarray(x).dtype)
                pri = 0
        top_cat = max(top_cat, d._cat)
        cur = best[pri]
        if cur is None or (d._cat, d._rank) > (cur._cat, cur._rank):
            best[pri] = d
    for pri, d in enumerate(best):
        if d is not None and d._cat == top_cat:
            if pri == 2 and top_cat == 2:
                return default_float()
            return d
    return float32  # unreachable
