"""Versions and machine facts for RESULTS.md."""
from __future__ import annotations

import datetime
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_total_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return None


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except Exception:  # noqa: BLE001
        return ""


def _blas() -> str:
    try:
        import numpy as np

        cfg = np.__config__.CONFIG["Build Dependencies"]["blas"]
        return f"{cfg.get('name')} {cfg.get('version')}"
    except Exception:  # noqa: BLE001
        return "unknown"


def facts() -> dict[str, Any]:
    out: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        # (BENCH_COMMIT names the commit of a tree exported with ``git archive``)
        "commit": os.environ.get("BENCH_COMMIT") or _git("rev-parse", "--short", "HEAD")
        or "unknown",
        "dirty": not os.environ.get("BENCH_COMMIT")
        and bool(_git("status", "--porcelain", "--untracked-files=no")),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "mem_gib": _mem_total_gib(),
        "numpy": _version("numpy"),
        "numpy_blas": _blas(),
        "torch": _version("torch"),
        "mygrad": _version("mygrad"),
        "hips_autograd": _version("autograd"),
        "autograd_viz": _version("autograd_viz"),
        "ipython": _version("ipython"),
        "graphviz_py": _version("graphviz"),
    }
    try:
        import torch

        out["torch_threads"] = torch.get_num_threads()
    except ImportError:
        out["torch_threads"] = None
    try:
        out["dot"] = subprocess.run(["dot", "-V"], capture_output=True, text=True,
                                    timeout=10).stderr.strip()
    except Exception:  # noqa: BLE001
        out["dot"] = "not installed"
    return out


def load() -> tuple[float, float, float]:
    return os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
