"""Lot-grid schedule solver: the DP against the convex path, measured side by side in one process.

    python -m experiments.benchmarks.schedule_dp [--repeats 7]

One day of N = 78 five-minute periods, X = 10⁶ shares in L = 1,000 lots of
1,000 shares, every trade size allowed (J = 1,000), power-law impact
cost_i(j) = n·η_i·(n/τ)^α with η_i following a U-shaped intraday liquidity
profile (cheapest at the open and the close). Both α = 0.6 and α = 1.5 give
costs n^{1+α} convex in n, so both methods apply to both; a third instance
adds a fixed fee per order to α = 0.6, which is not convex, for the DP alone.
Each time is the best of ``--repeats`` runs of :func:`solve_schedule`
(validation and convexity check included), interleaved so that load on the
machine hits all rows alike, with the process pinned to one core.
Targets: DP under 0.2 s, DP / convex at least 20×.
"""

from __future__ import annotations

import argparse
import os
import platform

import numpy as np

from execgym.solvers.schedule_dp import power_law_costs, solve_schedule
from execgym.experiments.machine import cpu_model
from experiments.benchmarks.timing import best_times

PERIODS = 78
LOTS = 1_000
LOT_SIZE = 1_000.0
TAU = 1.0 / PERIODS
ETA = 2.5e-6
FEE = 100.0
DP_TARGET_SECONDS = 0.2
SPEEDUP_TARGET = 20.0


def liquidity_eta() -> np.ndarray:
    """η_i: ETA scaled by the inverse of a U-shaped volume profile (twice the midday volume at the ends)."""
    t = (np.arange(PERIODS) + 0.5) / PERIODS
    volume = 1.0 + 4.0 * (t - 0.5) ** 2
    return ETA / (volume / volume.mean())


def instances() -> dict[str, tuple[np.ndarray, bool]]:
    """Name -> (stage costs (N, J+1), convex)."""
    eta = liquidity_eta()
    fee = np.where(np.arange(LOTS + 1) > 0, FEE, 0.0)
    return {
        "α = 0.6": (power_law_costs(eta, 0.6, LOT_SIZE, TAU, LOTS), True),
        "α = 1.5": (power_law_costs(eta, 1.5, LOT_SIZE, TAU, LOTS), True),
        "α = 0.6 + fixed fee per order": (power_law_costs(eta, 0.6, LOT_SIZE, TAU, LOTS) + fee, False),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="runs per row; the best is reported")
    args = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    runs = {}
    for name, (costs, convex) in instances().items():
        for method in ("dp", "convex") if convex else ("dp",):
            runs[name, method] = lambda costs=costs, method=method: solve_schedule(costs, LOTS, method=method)
    best, solutions = best_times(runs, args.repeats)
    print(f"Machine: {cpu_model()}, pinned to 1 core, Python {platform.python_version()}, numpy {np.__version__}\n")
    print(f"N = {PERIODS} periods, L = {LOTS:,} lots, J = {LOTS:,} trade sizes; best of {args.repeats} runs.\n")
    print("| instance | DP (s) | convex (s) | DP / convex | same cost | same lots | DP < 0.2 s | ratio >= 20x |")
    print("|---|---:|---:|---:|---|---|---|---|")
    for name, (_, convex) in instances().items():
        dp_time = best[name, "dp"]
        dp_met = "yes" if dp_time < DP_TARGET_SECONDS else "no"
        if not convex:
            print(f"| {name} | {dp_time:.4f} | — | — | — | — | {dp_met} | — |")
            continue
        fast_time = best[name, "convex"]
        dp, fast = solutions[name, "dp"], solutions[name, "convex"]
        same_cost = f"{abs(fast.cost - dp.cost) / abs(dp.cost):.1e} rel."
        same_lots = "yes" if np.array_equal(fast.lots, dp.lots) else "no"
        ratio = dp_time / fast_time
        print(f"| {name} | {dp_time:.4f} | {fast_time:.4f} | {ratio:.0f}x | {same_cost} | {same_lots} | {dp_met} "
              f"| {'yes' if ratio >= SPEEDUP_TARGET else 'no'} |")
    fee_lots = solutions["α = 0.6 + fixed fee per order", "dp"].lots
    print(f"\nWith the fixed fee the DP trades in {np.count_nonzero(fee_lots)} of {PERIODS} periods "
          f"(lots per order {fee_lots[fee_lots > 0].min()} to {fee_lots.max()}).")


if __name__ == "__main__":
    main()
