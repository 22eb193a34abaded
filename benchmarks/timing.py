"""Interleaved repeats and medians: every implementation runs once per round, in a rotating
order, so that load from other processes on a shared machine hits them all alike.

Two clocks: ``cpu`` (``time.process_time``: CPU seconds of this process, which on a shared
machine leaves out the time the scheduler gives to other processes; with every library pinned
to one thread it is the wall time of an idle machine) and ``wall`` (``time.perf_counter``).
Both are recorded; ``CLOCK`` picks the one medians are taken from.
"""
from __future__ import annotations

import gc
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

perf = time.perf_counter
cpu = time.process_time
CLOCK = "cpu"


@dataclass
class Stat:
    """Seconds per call: the median over rounds, with the quartiles for the spread."""

    cpu_samples: list[float] = field(default_factory=list)
    wall_samples: list[float] = field(default_factory=list)

    @property
    def samples(self) -> list[float]:
        return self.cpu_samples if CLOCK == "cpu" else self.wall_samples

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def wall_median(self) -> float:
        return statistics.median(self.wall_samples)

    @property
    def spread(self) -> float:
        """Inter-quartile range relative to the median (0.1 = ±5 % around it)."""
        s = sorted(self.samples)
        if len(s) < 4:
            return (s[-1] - s[0]) / self.median if self.median else 0.0
        q = statistics.quantiles(s, n=4)
        return (q[2] - q[0]) / self.median if self.median else 0.0


def interleaved(fns: dict[str, Callable[[], object]], rounds: int, *,
                min_sample_s: float = 0.004, warmup: int = 2) -> dict[str, Stat]:
    """Time each callable ``rounds`` times, interleaved; each sample loops the callable enough
    times to last ``min_sample_s`` and records seconds per call (on both clocks)."""
    names = list(fns)
    inner: dict[str, int] = {}
    for name in names:
        fn = fns[name]
        for _ in range(warmup):
            fn()
        t0 = perf()
        fn()
        dt = perf() - t0
        inner[name] = max(1, math.ceil(min_sample_s / max(dt, 1e-7)))
    stats = {n: Stat() for n in names}
    for r in range(rounds):
        gc.collect()
        k = r % len(names)
        for name in names[k:] + names[:k]:
            fn, n = fns[name], inner[name]
            c0, t0 = cpu(), perf()
            for _ in range(n):
                fn()
            t1, c1 = perf(), cpu()
            stats[name].cpu_samples.append((c1 - c0) / n)
            stats[name].wall_samples.append((t1 - t0) / n)
    return stats
