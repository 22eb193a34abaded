"""GPU rows: the MLP and conv workloads on CuPy (autograd_viz device 'cuda') against torch
CUDA. Included automatically when ``autograd_viz.cuda.is_available()``."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import models
from .timing import interleaved

WORKLOADS = (
    ("(3) MLP 784-256-10 b128", lambda: models.mlp_data((784, 256, 10), 128), "mlp"),
    ("(4) MLP 1024-1024-1024-10 b256", lambda: models.mlp_data((1024, 1024, 1024, 10), 256),
     "mlp"),
    ("(5) conv LeNet-like b32", lambda: models.conv_data(32), "conv"),
)


def available() -> tuple[bool, str]:
    try:
        import autograd_viz as av

        if av.cuda.is_available():
            return True, ""
        return False, "not measured (no GPU lent to this task)"
    except Exception as e:  # noqa: BLE001
        return False, f"not measured ({type(e).__name__}: {e})"


def _device_name() -> str:
    try:
        import cupy

        props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
        name = props["name"]
        return name.decode() if isinstance(name, bytes) else str(name)
    except Exception:  # noqa: BLE001
        return "CUDA GPU"


def run(rounds: int) -> dict[str, Any]:
    import autograd_viz as av

    try:
        import torch

        torch_cuda = torch.cuda.is_available()
    except ImportError:
        torch_cuda = False

    def synced(step: Callable[[], Any], sync: Callable[[], Any]) -> Callable[[], None]:
        def f() -> None:
            step()
            sync()
        return f

    rows = []
    for label, data, kind in WORKLOADS:
        d = data()
        av_make = models.av_mlp if kind == "mlp" else models.av_conv
        fns = {"autograd_viz (CuPy)": synced(av_make(d, device="cuda"), av.cuda.synchronize)}
        if torch_cuda:
            t_make = models.torch_mlp if kind == "mlp" else models.torch_conv
            fns["torch CUDA"] = synced(t_make(d, device="cuda"), torch.cuda.synchronize)
        stats = interleaved(fns, rounds)
        ms = {k: v.median * 1e3 for k, v in stats.items()}
        ratio = (ms["autograd_viz (CuPy)"] / ms["torch CUDA"]) if torch_cuda else None
        rows.append({"label": label, "ms": ms, "ratio": ratio})
    note = "" if torch_cuda else "torch has no CUDA here (CPU build): CuPy timings only"
    return {"device": _device_name(), "rows": rows, "note": note}
