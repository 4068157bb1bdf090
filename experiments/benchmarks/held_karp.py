"""BasketSequence-v0's oracle: Held–Karp's time and memory, the NN + 2-opt heuristic's gap, the baselines' regret.

    python -m experiments.benchmarks.held_karp [--repeats 5] [--baskets 100]

Baskets are :class:`~execgym.problems.basket_sequence.params.BasketSequenceParams`
with ``trades = n`` and ``instance_seed = s`` (square-root impact, factor-model
correlations, κ = 0.5, h = 1; costs in bps of the basket's notional). Three
measurements, in one process pinned to one core:

1. :func:`~execgym.solvers.sequencing.held_karp` for n = 8, 9, 10, 12, 14, 16 on
   the basket of seed 0: best of ``--repeats`` wall times (validation
   included), peak memory allocated during one solve (tracemalloc, numpy
   arrays included), and for n <= 9 the optimum checked against brute force
   over all n! orders (with the brute force's time).
2. :func:`~execgym.solvers.sequencing.nearest_neighbour_two_opt` against the
   exact optimum C* on ``--baskets`` random baskets per n ∈ {8, 12, 16}: its
   gap C − C* (mean and max, in % of C*) and how often it is exactly optimal
   (C <= C* + 1e-9 relative); then its best time at n = 16, 64, 256.
3. The two baselines of :mod:`~execgym.problems.basket_sequence.policies`,
   the trades as given (0, 1, ..., n−1) and greedy nearest neighbour, against
   C* (exact regrets, from the orders they follow) on the default basket and
   on the random baskets of 2.

C*, and every cost here, is the exact expected cost E[−Σ reward] of the order
(the env's noise has mean zero), so no Monte Carlo is needed.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import time
import tracemalloc

import gymnasium
import numpy as np

from execgym.problems.basket_sequence.params import BasketSequenceParams
from execgym.problems.basket_sequence.policies import as_given, nearest_neighbour, rollout_order
from execgym.solvers.sequencing import held_karp, nearest_neighbour_two_opt, path_cost
from execgym.experiments.machine import cpu_model
from experiments.benchmarks.timing import best_times

EXACT_SIZES = (8, 9, 10, 12, 14, 16)
BRUTE_FORCE_MAX = 9
GAP_SIZES = (8, 12, 16)
HEURISTIC_SIZES = (16, 64, 256)
N16_TARGET_SECONDS = 5.0
OPTIMAL_TOLERANCE = 1e-9


def brute_force(start: np.ndarray, costs: np.ndarray) -> float:
    """min over all n! orders of C(order), vectorised over the orders."""
    n = start.size
    orders = np.array(list(itertools.permutations(range(n))), dtype=np.int64)
    total = start[orders[:, 0]].copy()
    for t in range(1, n):
        total += costs[orders[:, t - 1], orders[:, t]]
    return float(total.min())


def peak_memory(run) -> int:
    """Peak bytes allocated (tracemalloc) during one call of ``run``."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    run()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def exact_table(repeats: int) -> None:
    baskets = {n: BasketSequenceParams(trades=n) for n in EXACT_SIZES}
    runs = {n: (lambda p=p: held_karp(p.first_costs, p.costs)) for n, p in baskets.items()}
    best, solutions = best_times(runs, repeats)
    print("### Held–Karp, exact (basket of seed 0)\n")
    print("| n | time (s) | peak memory (MB) | table V (MB) | C* (bps) | brute force C* (bps) | brute force (s) "
          "| same |")
    print("|---:|---:|---:|---:|---:|---:|---:|---|")
    for n, p in baskets.items():
        solution = solutions[n]
        memory = peak_memory(runs[n]) / 2**20
        table = solution.values.nbytes / 2**20
        brute, brute_time, same = "—", "—", "—"
        if n <= BRUTE_FORCE_MAX:
            start = time.perf_counter()
            value = brute_force(p.first_costs, p.costs)
            brute_time = f"{time.perf_counter() - start:.3f}"
            brute = f"{value:.6f}"
            same = "yes" if abs(value - solution.cost) <= 1e-12 * max(1.0, abs(value)) else "NO"
        print(f"| {n} | {best[n]:.4f} | {memory:.1f} | {table:.1f} | {solution.cost:.6f} | {brute} | {brute_time} "
              f"| {same} |")
    met = "met" if best[16] < N16_TARGET_SECONDS else "NOT met"
    print(f"\nn = 16 in {best[16]:.3f} s (target: within {N16_TARGET_SECONDS:g} s: {met}); time 16 / 14: "
          f"{best[16] / best[14]:.1f}x (n²·2ⁿ predicts {16**2 * 2**16 / (14**2 * 2**14):.1f}x).\n")


def order_cost(p: BasketSequenceParams, policy) -> float:
    return path_cost(p.first_costs, p.costs, rollout_order(p, policy))


def regret_stats(regret_pct: np.ndarray) -> str:
    exact = np.mean(regret_pct <= 100 * OPTIMAL_TOLERANCE) * 100
    return f"{regret_pct.mean():.3f} | {regret_pct.max():.3f} | {exact:.0f}"


def random_baskets_table(baskets: int) -> None:
    print(f"### Heuristic and baselines against C* on {baskets} random baskets per n (instance_seed 0..{baskets - 1})"
          "\n")
    print("Regret = (C − C*)/C* in %; \"optimal\" = share of baskets where C = C* (1e-9 relative). Mean C* and "
          "the order-independent part Σ c_j for scale.\n")
    print("| n | mean C* (bps) | mean Σ c_j (bps) | policy | mean regret (%) | max regret (%) | optimal (%) "
          "| mean regret (bps) |")
    print("|---:|---:|---:|---|---:|---:|---:|---:|")
    for n in GAP_SIZES:
        optimum, fixed = np.empty(baskets), np.empty(baskets)
        costs = {name: np.empty(baskets) for name in ("NN + 2-opt", "nearest neighbour", "as given")}
        for s in range(baskets):
            p = BasketSequenceParams(trades=n, instance_seed=s)
            optimum[s] = held_karp(p.first_costs, p.costs).cost
            fixed[s] = p.base_costs.sum()
            costs["NN + 2-opt"][s] = nearest_neighbour_two_opt(p.first_costs, p.costs).cost
            costs["nearest neighbour"][s] = order_cost(p, nearest_neighbour(p))
            costs["as given"][s] = order_cost(p, as_given(p))
        assert all((c >= optimum - 1e-12 * np.abs(optimum)).all() for c in costs.values())
        for name, cost in costs.items():
            regret = (cost - optimum) / np.abs(optimum) * 100
            print(f"| {n} | {optimum.mean():.3f} | {fixed.mean():.3f} | {name} | {regret_stats(regret)} | "
                  f"{(cost - optimum).mean():.4f} |")
    print()


def default_basket_table() -> None:
    p = BasketSequenceParams()
    exact = held_karp(p.first_costs, p.costs)
    optimum = path_cost(p.first_costs, p.costs, exact.order)     # C*, summed forwards like the other rows
    heuristic = nearest_neighbour_two_opt(p.first_costs, p.costs)
    rows = {"Held–Karp (oracle)": exact.order, "NN + 2-opt": heuristic.order,
            "nearest neighbour": rollout_order(p, nearest_neighbour(p)), "as given": rollout_order(p, as_given(p))}
    print("### Default basket (8 trades, `BasketSequenceParams()`)\n")
    print(f"Σ c_j = {p.base_costs.sum():.4f} bps is paid by every order; C* = {optimum:.4f} bps.\n")
    print("| policy | order | cost (bps) | regret (bps) | regret (%) |")
    print("|---|---|---:|---:|---:|")
    for name, order in rows.items():
        cost = path_cost(p.first_costs, p.costs, order)
        print(f"| {name} | {' '.join(map(str, order))} | {cost:.4f} | {cost - optimum:.4f} | "
              f"{(cost - optimum) / abs(optimum) * 100:.2f} |")
    print()


def heuristic_times(repeats: int) -> None:
    baskets = {n: BasketSequenceParams(trades=n) for n in HEURISTIC_SIZES}
    runs = {n: (lambda p=p: nearest_neighbour_two_opt(p.first_costs, p.costs)) for n, p in baskets.items()}
    best, solutions = best_times(runs, repeats)
    print("### Heuristic time (basket of seed 0)\n")
    print("| n | NN + 2-opt (s) | cost (bps) | best nearest-neighbour start alone (bps) |")
    print("|---:|---:|---:|---:|")
    for n, p in baskets.items():
        greedy = min(_greedy_cost(p, first) for first in range(n))
        print(f"| {n} | {best[n]:.4f} | {solutions[n].cost:.4f} | {greedy:.4f} |")
    print()


def _greedy_cost(p: BasketSequenceParams, first: int) -> float:
    n = p.trades
    left = np.ones(n, dtype=bool)
    left[first] = False
    order = [first]
    for _ in range(n - 1):
        nxt = int(np.argmin(np.where(left, p.costs[order[-1]], np.inf)))
        left[nxt] = False
        order.append(nxt)
    return path_cost(p.first_costs, p.costs, order)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs per timing; the best is reported")
    parser.add_argument("--baskets", type=int, default=100, help="random baskets per n for the heuristic's gap")
    args = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    start = time.perf_counter()
    print(f"Machine: {cpu_model()}, pinned to 1 core, Python {platform.python_version()}, numpy {np.__version__}, "
          f"gymnasium {gymnasium.__version__}; best of {args.repeats} runs per timing\n")
    exact_table(args.repeats)
    heuristic_times(args.repeats)
    default_basket_table()
    random_baskets_table(args.baskets)
    print(f"Total wall time {time.perf_counter() - start:.0f} s.")


if __name__ == "__main__":
    main()
