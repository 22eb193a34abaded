"""GPU rows: the MLP and conv workloads on CuPy (autograd_viz device 'cuda') against torch
CUDA. Included automatically when ``autograd_viz.cuda.is_available()``."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import machine, models
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
        # wall clock: the GPU's time is not this process's CPU time
        ms = {k: v.wall_median * 1e3 for k, v in stats.items()}
        ratio = (ms["autograd_viz (CuPy)"] / ms["torch CUDA"]) if torch_cuda else None
        rows.append({"label": label, "ms": ms, "ratio": ratio})
    note = "" if torch_cuda else "torch has no CUDA here (CPU build): CuPy timings only"
    facts = machine.facts()
    res = {"device": _device_name(), "rows": rows, "note": note, "commit": facts["commit"],
           "date": facts["date"]}
    if torch_cuda:
        res["launch_us"] = launch_costs()
    return res


def launch_costs(n: int = 2000) -> dict[str, dict[str, float]]:
    """Wall µs per call of single GPU primitives on a (128, 256) float32 operand, CuPy
    against torch CUDA: a step of these small workloads is the sum of such calls (the GPU
    finishes each kernel before the host has issued the next)."""
    import time

    import cupy as cp
    import torch

    rng = cp.random.default_rng(0)
    a, b = rng.standard_normal((128, 256), dtype=cp.float32), \
        rng.standard_normal(256, dtype=cp.float32)
    x, w = rng.standard_normal((128, 784), dtype=cp.float32), \
        rng.standard_normal((784, 256), dtype=cp.float32)
    ta, tb, tx, tw = (torch.as_tensor(v, device="cuda") for v in (a, b, x, w))
    cases = {
        "a + a": (lambda: a + a, lambda: ta + ta),
        "a + bias (broadcast)": (lambda: a + b, lambda: ta + tb),
        "a * 2.0": (lambda: a * 2.0, lambda: ta * 2.0),
        "a.sum(0)": (lambda: a.sum(axis=0), lambda: ta.sum(0)),
        "a.max(1, keepdim)": (lambda: a.max(axis=1, keepdims=True),
                              lambda: ta.amax(1, keepdim=True)),
        "x @ w (128x784 @ 784x256)": (lambda: x @ w, lambda: tx @ tw),
        "zeros((128, 256))": (lambda: cp.zeros((128, 256), cp.float32),
                              lambda: torch.zeros((128, 256), device="cuda")),
    }

    def per_call(f: Callable[[], Any]) -> float:
        for _ in range(20):
            f()
        cp.cuda.Device().synchronize()
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(n):
            f()
        cp.cuda.Device().synchronize()
        torch.cuda.synchronize()
        return (time.perf_counter() - t0) / n * 1e6

    return {k: {"cupy": per_call(c), "torch": per_call(t)} for k, (c, t) in cases.items()}


def _profile(n: int) -> int:
    import cProfile
    import pstats

    import autograd_viz as av

    for label, data, kind in WORKLOADS:
        make = models.av_mlp if kind == "mlp" else models.av_conv
        step = make(data(), device="cuda")
        for _ in range(3):
            step()
        av.cuda.synchronize()
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(n):
            step()
        av.cuda.synchronize()
        prof.disable()
        print(f"==== {label}: {n} steps")
        pstats.Stats(prof).sort_stats("tottime").print_stats(22)
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.gpu [--out gpu.json]``: the GPU rows alone (for a lent GPU
    machine); ``python -m benchmarks --render results.json`` shows them after they are put
    under ``"gpu"`` in a full run's results."""
    import argparse
    import json
    from pathlib import Path

    p = argparse.ArgumentParser(prog="python -m benchmarks.gpu", description=main.__doc__)
    p.add_argument("--rounds", type=int, default=11)
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--profile", type=int, default=0, metavar="N",
                   help="instead: cProfile N steps of each autograd_viz workload and print "
                        "the functions with the most own time")
    a = p.parse_args(argv)
    ok, why = available()
    if a.profile and ok:
        return _profile(a.profile)
    res = run(a.rounds) if ok else {"skipped": why}
    print(json.dumps(res, indent=1))
    if a.out is not None:
        a.out.write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
