"""Markets, not a market: every family's test and OOD sets, their oracles' build time, and the baselines' exact
regret per market, measured in one run.

    python -m experiments.benchmarks.markets [--episodes-per-market 256] [--plots docs/leaderboard]

For every family with a distribution (:mod:`execgym.distributions`):

* the time to build the oracle of every market of its test and OOD sets from an empty cache, one core (the
  target: all test sets in under 60 s in total);
* the regret % of its baselines on each set, each market against its own optimum (``execgym.score(name, id,
  markets=split)``): the mean over markets with its 95 % interval, the interquartile mean and the worst decile;
  "median_oracle" is the oracle of the family's median market run in every market, "blind" (where exact) the
  best market-blind policy of the set, whose exact mean regret is also given.

Then, for OptimalExec-v0: the oracles of 10,000 distinct training markets built together (the target: under
1 s on one core), and the vector env's rate at 16,384 slots with one shared market, a fixed market per slot,
and a market drawn per episode from the training split (warm: every market built and its features computed),
best of 3, side by side.

Prints markdown; the latest output is committed in ``experiments/benchmarks/MARKETS.md``. With ``--plots``,
writes each family's regret-per-market figure of the median market's oracle on the test set there.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import gymnasium as gym
import numpy as np

import execgym
from execgym.distributions import market_set
from execgym.experiments.machine import cpu_model
from execgym.policy import ORACLE_CACHE
from execgym.registry import PROBLEMS
from experiments.benchmarks.timing import best_times

SPLITS = ("test", "ood")
SLOTS = 16_384


def families() -> list[str]:
    """The env ids whose family distribution is their own (one per family)."""
    return [env_id for env_id, spec in PROBLEMS.items()
            if (spec.vector_env_class.problem.distribution is not None
                and spec.vector_env_class.problem.distribution.env_id == env_id)]


def oracle_seconds(env_id: str, split: str) -> float:
    """Seconds to build the oracle of every market of ``env_id``'s ``split`` from an empty cache."""
    markets = list(market_set(env_id, split))
    ORACLE_CACHE.clear()
    started = time.process_time()
    execgym.make_oracles(env_id, markets, workers=1)
    return time.process_time() - started


def policies(env_id: str) -> list[str]:
    """The names scored: the median market's oracle, the best blind policy where exact, the baselines."""
    spec = PROBLEMS[env_id]
    names = ["median_oracle"] + (["blind"] if spec.blind_policy is not None else [])
    return names + sorted(spec.baselines(spec.params()))


def interval(estimate) -> str:
    return f"{estimate.mean:.2f} ± {estimate.half_width:.2f}"


def baseline_rows(env_id: str, episodes: int, plots: Path | None) -> list[str]:
    rows = []
    for split in SPLITS:
        for name in policies(env_id):
            result = execgym.score(name, env_id, markets=split, episodes_per_market=episodes, seed=0)
            exact = ""
            if name == "blind" and env_id == "OptimalExec-v0":
                exact = f"{_blind_exact(split):.2f}"
            rows.append(f"| {env_id} | {split} | {name} | {interval(result.mean)} | {interval(result.iqm)} | "
                        f"{interval(result.worst_decile)} | {exact} |")
            if plots is not None and split == "test" and name == "median_oracle":
                result.plot(plots / f"markets_{env_id}.png")
    return rows


def _blind_exact(split: str) -> float:
    """The exact mean regret % of OptimalExec-v0's best market-blind schedule on ``split``."""
    from execgym.problems.optimal_exec.blind import blind_fractions, schedule_regret_pct

    markets = list(market_set("OptimalExec-v0", split))
    optima = np.array([oracle.expected_return for oracle in execgym.make_oracles("OptimalExec-v0", markets)])
    return float(schedule_regret_pct(markets, optima, blind_fractions(markets, optima)).mean())


def env_rates(repeats: int) -> dict[str, float]:
    """Agent-steps per second of OptimalExec-v0's vector env at :data:`SLOTS` slots: one shared market, a fixed
    market per slot (the training split's first markets), a market drawn per episode (every market built)."""
    train = market_set("OptimalExec-v0", "train")
    train.features(np.arange(len(train)))                     # every market built, its features computed
    envs = {"one shared market": gym.make_vec("OptimalExec-v0", num_envs=SLOTS),
            "a fixed market per slot": gym.make_vec("OptimalExec-v0", num_envs=SLOTS,
                                                    markets=[train[i] for i in range(SLOTS)]),
            "a market drawn per episode (train), features observed": gym.make_vec(
                "OptimalExec-v0", num_envs=SLOTS, markets="train"),
            "a market drawn per episode (train), features hidden": gym.make_vec(
                "OptimalExec-v0", num_envs=SLOTS, markets="train", observe_market=False)}
    actions = np.zeros((SLOTS, 1), dtype=np.float32)
    steps = 13 * 8

    def run(env):
        def go():
            for _ in range(steps):
                env.step(actions)
        return go

    for env in envs.values():
        env.reset(seed=0)
        run(env)()                               # compiled and warm
    best, _ = best_times({name: run(env) for name, env in envs.items()}, repeats)
    return {name: SLOTS * steps / seconds for name, seconds in best.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes-per-market", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--plots", type=Path, default=None, help="folder for the regret-per-market figures")
    args = parser.parse_args(argv)
    ids = families()
    print(f"Machine: {cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"numpy {np.__version__}\n")
    print("## Oracles of every market of the test and OOD sets (CPU seconds, one core, empty cache)\n")
    print("| family | test (256 markets) | ood (256 markets) |\n|---|---:|---:|")
    total = 0.0
    for env_id in ids:
        seconds = {split: oracle_seconds(env_id, split) for split in SPLITS}
        total += seconds["test"]
        print(f"| {env_id} | {seconds['test']:.2f} | {seconds['ood']:.2f} |")
    print(f"\nAll test sets: {total:.1f} s (target: under 60 s).\n")
    print(f"## Baselines on every market, {args.episodes_per_market} episodes per market\n")
    print("Regret % of each market's exact optimum: the mean over markets with its 95 % interval across markets, "
          "the interquartile mean and the worst decile with percentile-bootstrap 95 % intervals; for the best "
          "market-blind schedule also its exact mean.\n")
    print("| family | set | policy | mean | IQM | worst decile | exact mean |\n|---|---|---|---:|---:|---:|---:|")
    if args.plots is not None:
        args.plots.mkdir(parents=True, exist_ok=True)
    for env_id in ids:
        for row in baseline_rows(env_id, args.episodes_per_market, args.plots):
            print(row)
    markets = [market_set("OptimalExec-v0", "train")[i] for i in range(10_000)]
    ORACLE_CACHE.clear()
    started = time.process_time()
    execgym.make_oracles("OptimalExec-v0", markets)
    print(f"\n## OptimalExec-v0 at scale\n\nOracles of 10,000 distinct training markets, built together: "
          f"{time.process_time() - started:.2f} CPU s (target: under 1 s).\n")
    rates = env_rates(args.repeats)
    shared = rates["one shared market"]
    print(f"Vector env, {SLOTS:,} slots, agent-steps per second (best of {args.repeats}, side by side):\n")
    print("| markets | steps/s | vs one shared market |\n|---|---:|---:|")
    for name, rate in rates.items():
        print(f"| {name} | {rate / 1e6:.2f} M | {rate / shared:.2f} |")


if __name__ == "__main__":
    main()
