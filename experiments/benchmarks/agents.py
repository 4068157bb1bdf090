"""Agent benchmarks: train the committed configs and tabulate their regret against the exact optimum.

    python -m experiments.benchmarks.agents [--configs NAME ...] [--out runs/benchmarks]

Runs each config of ``experiments/configs/`` listed in :data:`TARGETS` (all
seeds; default: every one), then prints a markdown table — env, final regret %
with the 95 % CI of the mean across seeds, steps and wall time per config, the
target and whether it is met — and writes it to
``experiments/benchmarks/AGENTS.md``. Rows of configs not run this time are
kept from the table already there, so one config can be re-measured alone. An
interrupted benchmark continues where it stopped (runs resume).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import sb3_contrib
import stable_baselines3
import torch

from execgym.atomic import write_text_atomically
from execgym.scoring import Estimate
from execgym.experiments.machine import cpu_model
from execgym.experiments.config import load_config
from execgym.experiments.results import ONE_SEED, interval_text
from execgym.experiments.run import run_experiment

CONFIGS = Path(__file__).parents[1] / "configs"
TABLE = Path(__file__).parent / "AGENTS.md"
TARGETS = {  # config name: (target regret %, reference)
    "ppo_optimal_exec": (1.0, "exact oracle"),
    "trpo_optimal_exec": (2.0, "exact oracle"),
    "qlearning_optimal_exec": (0.5, "discretised optimum"),
    "ppo_portfolio_exec": (2.0, "exact oracle"),
    "trpo_portfolio_exec": (3.0, "exact oracle"),
    "qlearning_portfolio_exec": (0.5, "discretised optimum"),
    "maskable_ppo_basket_sequence": (1.0, "exact oracle"),
    "qlearning_basket_sequence": (0.5, "exact oracle"),
    "ppo_market_making": (2.0, "exact oracle"),
    "trpo_market_making": (3.0, "exact oracle"),
    "qlearning_market_making": (0.5, "exact oracle"),
    "ppo_limit_or_market": (10.0, "exact oracle"),
    "trpo_limit_or_market": (10.0, "exact oracle"),
    "qlearning_limit_or_market": (0.5, "exact oracle"),
    "ppo_twap_vwap": (1.0, "exact oracle"),
    "trpo_twap_vwap": (2.0, "exact oracle"),
    "qlearning_twap_vwap": (0.5, "exact oracle"),
}
TIME_LIMIT_SECONDS = 15 * 60


def final_regrets(aggregate: dict, reference: str, output: Path) -> list[float]:
    """Each seed's final regret % against ``reference`` (the oracle, or a discretised optimum)."""
    if reference == "exact oracle":
        return [seed["regret_pct"] for seed in aggregate["per_seed"]]
    results = [json.loads((output / f"seed_{s}" / "result.json").read_text()) for s in aggregate["seeds"]]
    return [r["final"]["discretised_optimum"]["regret_pct"] for r in results]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=list(TARGETS), choices=list(TARGETS))
    parser.add_argument("--out", type=Path, default=Path("runs/benchmarks"))
    args = parser.parse_args(argv)
    rows = []
    for name in args.configs:
        config = load_config(CONFIGS / f"{name}.yaml")
        config = replace(config, output=args.out / name)
        started = time.perf_counter()
        aggregate = run_experiment(config, resume=True)
        elapsed = time.perf_counter() - started
        target, reference = TARGETS[name]
        wall = aggregate["wall_seconds"]
        references = [reference] + (["exact oracle"] if reference != "exact oracle" else [])
        for shown in references:
            regrets = np.array(final_regrets(aggregate, shown, config.output))
            estimate = Estimate.of(regrets)
            if shown == reference:
                met = "yes" if estimate.mean <= target and wall <= TIME_LIMIT_SECONDS else "NO"
                goal = f"≤ {target} % in ≤ 15 min"
            else:
                met, goal = "", "(the price of the grid)"
            rows.append(f"| {name} | {config.env.id} | {shown} | "
                        f"{interval_text(estimate.mean, estimate.half_width, alone=ONE_SEED)} | "
                        f"{', '.join(f'{r:.3f}' for r in regrets)} | {aggregate['per_seed'][0]['steps']:,} | "
                        f"{wall / 60:.1f} | {goal} | {met} |")
        print(rows[-1], f"(this session {elapsed:.0f} s)", flush=True)
    rows = merged_rows(rows, args.configs)
    header = [
        "# Agent benchmarks: regret against the exact optimum", "",
        f"Latest output of `python -m experiments.benchmarks.agents`. Machine: {cpu_model()}, {os.cpu_count()} cores; "
        f"torch {torch.__version__}, stable-baselines3 {stable_baselines3.__version__}, "
        f"sb3-contrib {sb3_contrib.__version__}, numpy {np.__version__}.", "",
        "Final regret = (optimum − agent) / |optimum| in % of E[Σ reward], on 10,000 evaluation episodes per seed; "
        "mean over seeds with the 95 % CI of the mean (Student t). Wall time covers training and evaluation "
        "of every seed.", "",
        "| config | env | reference | regret % (mean ± CI) | per seed | steps per seed | wall time (min) | target | met |",
        "|---|---|---|---:|---|---:|---:|---|---|"]
    text = "\n".join(header + rows) + "\n"
    print(text)
    write_text_atomically(TABLE, text)


def merged_rows(new_rows: list[str], measured: list[str]) -> list[str]:
    """The table's rows in :data:`TARGETS` order: ``new_rows`` for the configs ``measured`` now, and for
    the others their rows in the committed table (if any)."""
    kept = TABLE.read_text().splitlines() if TABLE.exists() else []
    by_config: dict[str, list[str]] = {}
    for row in kept + new_rows:
        name = row.split("|")[1].strip() if row.startswith("| ") else ""
        if name in TARGETS and (name in measured) == (row in new_rows):
            by_config.setdefault(name, []).append(row)
    return [row for name in TARGETS for row in by_config.get(name, [])]


if __name__ == "__main__":
    main()
