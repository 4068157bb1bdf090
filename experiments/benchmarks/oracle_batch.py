"""Building many OptimalExec-v0 oracles: one by one vs together, measured side by side in one process.

    python -m experiments.benchmarks.oracle_batch [--markets 1000] [--repeats 5]

The markets are random OptimalExec-v0 parameters of one shape (13 periods; volatility, risk aversion, drift,
shares, side and spread drawn per market; a fifth of them mean-reverting with two-way trading, whose optimum
adapts to prices), all solved by the LQ oracle. Rows:

* one by one: ``execgym.make_oracle(params=m)`` for each market (what ``score`` does per market);
* together: ``execgym.make_oracles(markets)``, one Riccati recursion, mean path and breach-probability
  propagation vectorised over the markets (the schedule's E[IS] and Var[IS] are still priced per market);
* together, cached: ``make_oracles`` again with every oracle already in the cache.

The cache is cleared before every cold row. Each time is the best of ``--repeats`` runs, interleaved so that
load on the machine hits all rows alike. The script also checks that both ways give the same oracles to the
bit. Prints a markdown table; the latest output is committed in ``experiments/benchmarks/ORACLE_BATCH.md``.
"""

from __future__ import annotations

import argparse
import os
import platform

import numpy as np

import execgym
from execgym.experiments.machine import cpu_model
from execgym.policy import ORACLE_CACHE
from execgym.problems.optimal_exec.params import OptimalExecParams
from experiments.benchmarks.timing import best_times

ENV_ID = "OptimalExec-v0"


def random_markets(count: int, seed: int = 0) -> list[OptimalExecParams]:
    """``count`` random OptimalExec-v0 markets the LQ oracle solves (13 periods each); a draw the oracle refuses
    (a drift that would make the schedule trade both ways) is drawn again."""
    rng = np.random.default_rng(seed)
    markets = []
    while len(markets) < count:
        adaptive = len(markets) % 5 == 4
        params = OptimalExecParams(
            shares=float(rng.uniform(2e5, 2e6)), side=str(rng.choice(["sell", "buy"])),
            volatility=float(rng.uniform(0.5, 3.0)), risk_aversion=float(rng.uniform(1e-7, 2e-6)),
            drift=0.0 if adaptive else float(rng.uniform(-0.05, 0.05)),
            half_spread=0.0 if adaptive else float(rng.uniform(0.005, 0.03)),
            mean_reversion=float(rng.uniform(0.5, 3.0)) if adaptive else 0.0, two_way=adaptive,
            max_trade=3.0)
        try:
            execgym.make_oracles(ENV_ID, [params])
        except ValueError:
            continue
        markets.append(params)
    return markets


def one_by_one(markets):
    ORACLE_CACHE.clear()
    return [execgym.make_oracle(ENV_ID, params=params) for params in markets]


def together(markets):
    ORACLE_CACHE.clear()
    return execgym.make_oracles(ENV_ID, markets)


def identical(a, b) -> bool:
    return (a.expected_return == b.expected_return and np.array_equal(a.schedule, b.schedule)
            and a.clip_probability == b.clip_probability and np.array_equal(a.policy.gain, b.policy.gain)
            and np.array_equal(a.policy.offset, b.policy.offset))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markets", type=int, default=1000, help="number of markets")
    parser.add_argument("--repeats", type=int, default=5, help="runs per row; the best is reported")
    args = parser.parse_args(argv)
    markets = random_markets(args.markets)
    together(markets[:10])                                      # compiled functions warmed up
    rows = {
        f"one by one: make_oracle × {args.markets:,}": lambda: one_by_one(markets),
        f"together: make_oracles({args.markets:,} markets)": lambda: together(markets),
        f"together, all cached: make_oracles({args.markets:,} markets)": lambda: execgym.make_oracles(ENV_ID,
                                                                                                     markets),
    }
    best, results = best_times(rows, args.repeats)
    alone, joint = (results[key] for key in list(rows)[:2])
    same = all(identical(a, b) for a, b in zip(alone, joint))
    print(f"Machine: {cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"numpy {np.__version__}; {args.markets:,} random {ENV_ID} markets (LQ oracle), best of {args.repeats}\n")
    print("| measurement | best time (s) | per oracle (ms) |")
    print("|---|---|---|")
    for name, seconds in best.items():
        print(f"| {name} | {seconds:.4f} | {1e3 * seconds / args.markets:.3f} |")
    first, second = list(best.values())[:2]
    print(f"\nTogether vs one by one: {first / second:.1f}x faster; the oracles are "
          f"{'identical to the bit' if same else 'NOT identical'}.")


if __name__ == "__main__":
    main()
