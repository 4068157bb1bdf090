"""What every benchmark script shares: best-of-N timing, interleaved."""

from __future__ import annotations

import time
from typing import Any, Callable, Hashable


def best_times(runs: dict[Hashable, Callable[[], Any]], repeats: int) -> tuple[dict, dict]:
    """Run every callable of ``runs`` ``repeats`` times, one round over all of them at a time, so load on
    the machine hits them alike; returns the best wall time (s) of each and its last result."""
    best = {key: float("inf") for key in runs}
    results = {}
    for _ in range(repeats):
        for key, run in runs.items():
            start = time.perf_counter()
            results[key] = run()
            best[key] = min(best[key], time.perf_counter() - start)
    return best, results


def per_call(run, budget: float = 0.02):
    """Seconds per call of ``run()`` over as many calls as fit in ``budget`` (at least one), and its result."""
    calls, start = 0, time.perf_counter()
    while True:
        result = run()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= budget:
            return elapsed / calls, result
