"""autograd_viz: PyTorch-style tensors and autograd on NumPy/CuPy, made visible in Jupyter.

``import autograd_viz as av`` gives the torch names: ``av.tensor``, ``av.ones``,
``av.matmul``, ``av.autograd.grad``, ``av.no_grad``, ``av.nn.Linear``, ...
``%load_ext autograd_viz`` in IPython registers the ``%%autograd`` cell magic.
"""
from __future__ import annotations

import builtins
from typing import Any

from . import _backend, autograd, cuda
from . import linalg as _linalg
from ._backend import bool_ as bool  # noqa: A004
from ._backend import default_device as get_default_device
from ._backend import default_float as get_default_dtype
from ._backend import (
    device,
    dtype,
    float16,
    float32,
    float64,
    int8,
    int16,
    int32,
    int64,
    set_default_device,
    set_default_dtype,
    uint8,
)
from ._tensor_str import set_printoptions
from .autograd import Function, enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .autograd.anomaly import is_anomaly_check_nan_enabled, is_anomaly_enabled
from .autograd.grad_mode import inference_mode
from .ops import *  # noqa: F401,F403
from .ops import creation as _creation
from .tensor import Size, Tensor

linalg = _linalg  # (``from .ops import *`` above brought ops.linalg under this name)
half, float, double = float16, float32, float64  # noqa: A001
short, int, long = int16, int32, int64  # noqa: A001
manual_seed = _creation.manual_seed
seed = _creation.seed

__version__ = "0.1.0"
bool_t = builtins.bool
int_t = builtins.int


def is_tensor(obj: Any) -> bool_t:
    """True for autograd_viz tensors."""
    return isinstance(obj, Tensor)


def numel(input: Tensor) -> int_t:
    return input.numel()


def is_floating_point(input: Tensor) -> bool_t:
    return input.is_floating_point()


def _lazy_import(name: str) -> Any:
    import importlib
    return importlib.import_module(f"{__name__}.{name}")


def __getattr__(name: str) -> Any:
    if name in ("nn", "optim", "viz", "utils"):
        mod = _lazy_import(name)
        globals()[name] = mod
        return mod
    raise AttributeError(f"module 'autograd_viz' has no attribute {name!r}")


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext autograd_viz``: register the ``%%autograd`` magic (imports IPython here)."""
    from .jupyter import load_ipython_extension as _load
    _load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext autograd_viz``."""
    from .jupyter import unload_ipython_extension as _unload
    _unload(ipython)
