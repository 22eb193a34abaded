"""Memory: an autograd_viz training loop (MLP 784-256-10, batch 64, SGD) must keep flat
memory. The process's resident set size is sampled every 100 steps."""
from __future__ import annotations

import os
import time
from typing import Any

from . import models


def rss_bytes() -> int:
    try:
        import psutil

        return psutil.Process().memory_info().rss
    except ImportError:  # Linux fallback
        with open(f"/proc/{os.getpid()}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss_bytes() -> int:
    """The process's peak resident set size so far (``ru_maxrss``)."""
    try:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    except ImportError:
        return 0


def training_loop_rss(steps: int, every: int = 100) -> dict[str, Any]:
    """Run first in the process, so that the peak RSS is the loop's."""
    step = models.av_mlp(models.mlp_data((784, 256, 10), 64, seed=1))
    samples: list[tuple[int, int, int]] = []
    t0 = time.perf_counter()
    for i in range(1, steps + 1):
        step()
        if i % every == 0 or i == steps:
            samples.append((i, rss_bytes(), peak_rss_bytes()))
    wall = time.perf_counter() - t0
    at = {i: (r, p) for i, r, p in samples}
    first, first_peak = at.get(100, samples[0][1:])
    last, last_peak = samples[-1][1:]
    peak = max(r for _, r, _ in samples)
    return {"steps": steps, "rss_at_100": first, "rss_at_end": last, "peak_sampled": peak,
            "peak_at_100": first_peak, "peak_at_end": last_peak,
            "growth": last - first, "peak_growth": last_peak - first_peak,
            "ms_per_step": wall / steps * 1e3}
