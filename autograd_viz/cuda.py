"""``autograd_viz.cuda``: is a GPU (through CuPy) available?"""
from __future__ import annotations

from . import _backend as B


def is_available() -> bool:
    """True when CuPy is installed and sees an NVIDIA GPU."""
    return B.cuda_available()


def device_count() -> int:
    """How many GPUs CuPy sees (0 without CuPy)."""
    return B.cuda_device_count()


def manual_seed(seed: int) -> None:
    if is_available():
        B._import_cupy().random.seed(seed)


def manual_seed_all(seed: int) -> None:
    manual_seed(seed)


def synchronize() -> None:
    """Wait for queued GPU work (a no-op without a GPU)."""
    if is_available():
        B._import_cupy().cuda.Device().synchronize()
