"""``python -m benchmarks [--quick] [--out PATH]``: run everything in this one process,
print the table and write ``benchmarks/RESULTS.md`` (and ``results.json`` beside it)."""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from . import chain, gpu, machine, memory, models, report, timing, vizbench
from .timing import interleaved

HERE = Path(__file__).resolve().parent
IMPLS = ("autograd_viz", "torch", "mygrad", "hips", "numpy")

# (key, label, unit, target ratio to torch)
WORKLOADS = (
    ("chain1", "(1) chain 200 ops, 1 elem", "us/op", 0.40),
    ("chain64", "(2) chain 200 ops, 64x64", "us/op", 0.35),
    ("mlp3", "(3) MLP 784-256-10 b128", "ms/step", 0.90),
    ("mlp4", "(4) MLP 1024-1024-1024-10 b256", "ms/step", 0.80),
    ("conv", "(5) conv LeNet-like b32", "ms/step", 1.50),
)
GRAD_COST_TARGET_US = 0.9
VIZ_TARGET = 1.25


def _installed(impl: str) -> bool:
    mod = {"autograd_viz": "autograd_viz", "torch": "torch", "mygrad": "mygrad",
           "hips": "autograd", "numpy": "numpy"}[impl]
    try:
        __import__(mod)
    except ImportError:
        return False
    return True


def _steps(key: str) -> tuple[dict[str, Any], float]:
    """Step callables per library for one workload, and the divisor to its unit."""
    impls = [i for i in IMPLS if _installed(i)]
    if key in ("chain1", "chain64"):
        arrs = chain.arrays((1,) if key == "chain1" else (64, 64))
        return {i: chain.MAKERS[i](arrs)[0] for i in impls}, chain.N_OPS / 1e6
    if key == "mlp3":
        d = models.mlp_data((784, 256, 10), 128)
        return {i: models.MLP_MAKERS[i](d) for i in impls}, 1e-3
    if key == "mlp4":
        d = models.mlp_data((1024, 1024, 1024, 10), 256)
        return {i: models.MLP_MAKERS[i](d) for i in impls}, 1e-3
    d = models.conv_data(32)
    return {i: models.CONV_MAKERS[i](d) for i in impls}, 1e-3


def _check(key: str) -> dict[str, str]:
    """Fresh instances, one probing step each: loss and first weight's gradient vs torch."""
    steps, _ = _steps(key)
    got = {i: s(True) for i, s in steps.items()}
    ref_loss, ref_grad = got["torch"]
    out = {}
    for i, (loss, grad) in got.items():
        grad = np.asarray(grad, dtype=np.float64).reshape(ref_grad.shape)
        scale = max(float(np.abs(ref_grad).max()), 1e-12)
        err = max(abs(loss - ref_loss) / max(abs(ref_loss), 1e-12),
                  float(np.abs(grad - ref_grad).max()) / scale)
        out[i] = "ok" if err < 1e-3 else f"MISMATCH ({err:.1e})"
    return out


_T0 = time.perf_counter()


def _log(msg: str) -> None:
    print(f"[{time.perf_counter() - _T0:6.1f} s] {msg}", file=sys.stderr, flush=True)


def set_threads(n: int) -> str:
    """Pin torch and NumPy's BLAS to ``n`` threads (0: leave the libraries' defaults)."""
    if n <= 0:
        return "library defaults"
    try:
        import torch

        torch.set_num_threads(n)
    except ImportError:
        pass
    try:
        from threadpoolctl import threadpool_limits

        _KEEP.append(threadpool_limits(limits=n))
    except ImportError:
        return f"{n} (torch only: threadpoolctl missing, NumPy's BLAS at its default)"
    return str(n)


_KEEP: list = []


def run(quick: bool, threads: int = 1, clock: str = "cpu") -> dict[str, Any]:
    pinned = set_threads(threads)
    timing.CLOCK = clock
    R = {"quick": quick, "threads": pinned, "clock": clock, "machine": machine.facts(),
         "load_start": machine.load()}
    t_start = time.perf_counter()
    rounds = ({"chain1": 3, "chain64": 3, "mlp3": 3, "mlp4": 1, "conv": 2} if quick else
              {"chain1": 101, "chain64": 81, "mlp3": 81, "mlp4": 25, "conv": 61})
    min_sample = 0.001 if quick else 0.005

    # memory first, so that the process's peak RSS is the training loop's
    steps = 300 if quick else 10_000
    _log(f"-- memory: {steps}-step training loop")
    R["memory"] = memory.training_loop_rss(steps)

    rows = []
    for key, label, unit, target in WORKLOADS:
        _log(f"-- {label}")
        checks = _check(key)
        steps, div = _steps(key)
        stats = interleaved(steps, rounds[key], min_sample_s=min_sample,
                            warmup=0 if quick else 3)
        vals = {i: s.median / div for i, s in stats.items()}
        rows.append({"key": key, "label": label, "unit": unit, "target": target,
                     "values": vals, "spread": {i: s.spread for i, s in stats.items()},
                     "values_wall": {i: s.wall_median / div for i, s in stats.items()},
                     "ratios": {i: v / vals["torch"] for i, v in vals.items()},
                     "checks": checks, "load": machine.load()})
    R["workloads"] = rows
    if not models.av_conv_uses_functional():
        R["conv_note"] = ("autograd_viz.nn.functional.conv2d/max_pool2d not available: the "
                          "autograd_viz conv row uses raw ops (im2col by indexing + one matmul, "
                          "max-pool by reshape + amax)")

    # (6) forward only, grad recording on vs off
    _log("-- (6) grad recording cost")
    arrs = chain.arrays((1,))
    fwd = {}
    for impl in ("autograd_viz", "torch"):
        _, f = chain.MAKERS[impl](arrs)
        fwd[f"{impl} on"] = (lambda f=f: f(True))
        fwd[f"{impl} off"] = (lambda f=f: f(False))
    st = interleaved(fwd, 5 if quick else 81, min_sample_s=min_sample)
    us = {k: v.median / chain.N_OPS * 1e6 for k, v in st.items()}
    R["grad_cost"] = {"us_per_op": us,
                      "cost": {i: us[f"{i} on"] - us[f"{i} off"] for i in ("autograd_viz",
                                                                            "torch")},
                      "target_us": GRAD_COST_TARGET_US}

    # (7) recording overhead: viz.record() and %%autograd
    _log("-- (7) viz.record() / %%autograd")
    R["viz_overhead"] = {}
    # (the training loops: µs per step; their cells take 0.1-2 s, so fewer rounds)
    for name, maker, data, per, rounds in (
            ("record", vizbench.record_pair, arrs, chain.N_OPS, 41),
            ("record_64", vizbench.record_pair, chain.arrays((64, 64)), chain.N_OPS, 41),
            ("magic", vizbench.magic_pair, arrs, chain.N_OPS, 41),
            ("magic_loop", vizbench.loop_pair, arrs, vizbench.LOOP_STEPS, 9),
            ("magic_loop_long", vizbench.long_loop_pair, arrs, vizbench.LONG_LOOP_STEPS, 5),
            ("magic_loop_mnist", vizbench.mnist_loop_pair, arrs, vizbench.LOOP_STEPS, 7)):
        try:
            fns, why = maker(data)
            if fns is None:
                R["viz_overhead"][name] = {"skipped": why}
                continue
            st = interleaved(fns, 3 if quick else rounds, min_sample_s=min_sample)
            plain = st.pop("plain")
            for key, v in zip((name, f"{name}_rerun"), st.values()):
                us, plain_us = (x.median / per * 1e6 for x in (v, plain))
                R["viz_overhead"][key] = {
                    "plain_us": plain_us, "us": us, "ratio": us / plain_us,
                    "plain_wall_ms": plain.wall_median * 1e3, "wall_ms": v.wall_median * 1e3}
        except Exception as e:  # noqa: BLE001 - report, don't die: code under construction
            R["viz_overhead"][name] = {"skipped": f"failed: {type(e).__name__}: {e}"}

    # (8) DOT + SVG
    _log("-- (8) DOT+SVG")
    R["dot"] = {}
    viz, why = vizbench.viz_module()
    for n in (300, 10_000):
        if viz is None:
            R["dot"][n] = {"skipped": why}
            continue
        try:
            R["dot"][n] = vizbench.dot_svg_times(viz, n, 1 if quick else 3,
                                                 timeout_s=2 if quick else 30)
        except Exception as e:  # noqa: BLE001
            R["dot"][n] = {"skipped": f"failed: {type(e).__name__}: {e}"}

    # GPU (without one, ``main`` keeps the rows of the results this run replaces)
    ok, why = gpu.available()
    R["gpu"] = gpu.run(3 if quick else 11) if ok else {"skipped": why}

    R["load_end"] = machine.load()
    R["wall_s"] = time.perf_counter() - t_start
    return R


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument("--quick", action="store_true", help="fast smoke run (few repeats)")
    p.add_argument("--out", type=Path, default=None,
                   help="where to write the Markdown results (default: benchmarks/RESULTS.md "
                        "for a full run, nothing for --quick)")
    p.add_argument("--baseline", type=Path, default=HERE / "baseline.json",
                   help="results.json of an earlier run to show as 'before'")
    p.add_argument("--save-baseline", action="store_true",
                   help="also save this run's results as the baseline")
    p.add_argument("--threads", type=int, default=1,
                   help="threads for torch and NumPy's BLAS (default 1: the 2 cores are "
                        "shared; 0 keeps each library's default)")
    p.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                   help="take medians of CPU time of this process (default; leaves out time "
                        "the scheduler gives to other processes) or of wall time")
    p.add_argument("--render", type=Path, default=None, metavar="RESULTS_JSON",
                   help="measure nothing: print and write the table of an earlier run's "
                        "results.json (e.g. after editing OPTIMISATIONS.md)")
    a = p.parse_args(argv)
    R = json.loads(a.render.read_text()) if a.render else run(a.quick, a.threads, a.clock)
    before = None
    if a.baseline and a.baseline.exists() and not a.save_baseline:
        before = json.loads(a.baseline.read_text())
    out = a.out if a.out is not None else (None if a.quick else HERE / "RESULTS.md")
    if out is not None and not a.render:
        carry_gpu(R, out.with_name("results.json"))
    print(report.text_table(R, before))
    if out is not None:
        out.write_text(report.markdown(R, before))
        if not a.render:
            out.with_name("results.json").write_text(json.dumps(_jsonable(R), indent=1))
        _log(f"wrote {out}")
    if a.save_baseline:
        a.baseline.write_text(json.dumps(_jsonable(R), indent=1))
        _log(f"wrote {a.baseline}")
    return 0


def carry_gpu(R: dict[str, Any], previous: Path) -> None:
    """A run without a GPU keeps the GPU rows of the results it replaces (``previous``, the
    ``results.json`` about to be overwritten), marked as carried over with the reason this
    run measured none; a run with a GPU, or with nothing to carry, is left as it is."""
    if "skipped" not in R["gpu"] or not previous.exists():
        return
    try:
        old = json.loads(previous.read_text()).get("gpu") or {}
    except (OSError, ValueError):
        return
    if old.get("rows"):
        old.setdefault("carried", R["gpu"]["skipped"])
        R["gpu"] = old


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, (np.floating, np.integer)):
        return x.item()
    return x
