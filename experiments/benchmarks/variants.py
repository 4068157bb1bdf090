"""Every registered OptimalExec id: its oracle's solver, solve time and value, and the seeds' baselines against it.

    python -m experiments.benchmarks.variants [--repeats 7] [--episodes 100000]

For each id of :data:`execgym.PROBLEMS` with its default parameters: the solver
:func:`~execgym.problems.optimal_exec.oracle.oracle_solver` picks, the best of
``--repeats`` wall times of :func:`execgym.make_oracle` (validation and policy
construction included; the lot-grid oracle solves two grids, L and 2L lots),
the oracle's exact cost U (bps of notional, = −E[Σ reward]) with its
Monte-Carlo estimate from ``--episodes`` episodes, and the exact regret of each
baseline schedule of :mod:`execgym.problems.optimal_exec.policies` (naive equal split, VWAP, POV,
front- and back-loaded), in % of the oracle's cost. A baseline's exact value is
:func:`execgym.problems.optimal_exec.schedule.expected_return` of the schedule it
executes (under caps, its weights water-filled into the caps).
"""

from __future__ import annotations

import argparse
import os
import platform

import numpy as np

import execgym
from execgym.problems.optimal_exec import policies
from execgym.problems.optimal_exec import schedule
from execgym.problems.optimal_exec.oracle import oracle_solver
from execgym.experiments.machine import cpu_model
from experiments.benchmarks.timing import best_times


def baseline_regrets(params, oracle_return: float) -> dict[str, float]:
    """Exact regret (% of the oracle's cost) of every baseline on ``params``."""
    regrets = {}
    for name in policies.BASELINES:
        executed = policies.make_baseline(name, params).schedule
        value = float(schedule.expected_return(params, executed))
        regrets[name] = 100.0 * (oracle_return - value) / abs(oracle_return)
    return regrets


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="oracle constructions per id; the best is reported")
    parser.add_argument("--episodes", type=int, default=100_000, help="Monte-Carlo episodes per oracle")
    args = parser.parse_args(argv)
    ids = list(execgym.PROBLEMS)
    params = {env_id: execgym.PROBLEMS[env_id].params() for env_id in ids}
    times, oracles = best_times({env_id: (lambda p=params[env_id]: execgym.make_oracle("OptimalExec-v0", p))
                                 for env_id in ids}, args.repeats)
    print(f"Machine: {cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"numpy {np.__version__}; best of {args.repeats} oracle constructions, {args.episodes:,} episodes\n")
    names = list(policies.BASELINES)
    print("| id | solver | oracle time (ms) | oracle cost, exact (bps) | Monte Carlo (bps) | "
          + " | ".join(f"{name} regret (%)" for name in names) + " |")
    print("|---|---|---:|---:|---:|" + "---:|" * len(names))
    for env_id in ids:
        oracle = oracles[env_id]
        result = execgym.score(oracle.policy, env_id, episodes=args.episodes, seed=0, oracle=oracle)
        regrets = baseline_regrets(params[env_id], oracle.expected_return)
        mc = result.reference_return
        print(f"| `{env_id}` | {oracle_solver(params[env_id])} | {1e3 * times[env_id]:.2f} "
              f"| {-oracle.expected_return:.3f} | {-mc.mean:.2f} ± {mc.half_width:.2f} | "
              + " | ".join(f"{regrets[name]:.1f}" for name in names) + " |")
    grid = [f"{env_id}: {oracle.grid_refinement_gain:.1e} bps" for env_id, oracle in oracles.items()
            if oracle.grid_refinement_gain is not None]
    if grid:
        print("\nLot-grid oracles, improvement from halving the lot (1,000 -> 2,000 lots): " + "; ".join(grid))


if __name__ == "__main__":
    main()
