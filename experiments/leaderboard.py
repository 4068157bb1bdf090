"""``execgym leaderboard [--seeds 0-4] [--configs NAME ...] [--address RAY_ADDRESS]``: the suite's headline
table, every committed benchmark config trained over seeds on Ray, and every baseline, scored against the
exact optimum.

Runs each config of ``experiments/configs/`` (PPO, TRPO or MaskablePPO, and
Q-learning, on every env) for every seed as one sweep (:mod:`execgym.experiments.sweep`;
outputs under ``--output``, default ``runs/leaderboard/<config>/``, resumable
like any sweep), scores each env's named baselines on the same market
(:func:`execgym.score`, 10,000 paired episodes), and writes:

* ``docs/leaderboard.md``: one row per env and market, one column per agent
  (final regret % vs the exact optimum: mean ± 95 % CI over seeds, and the
  interquartile mean), the baselines' regret % ± 95 % CI, and the compute used;
* ``docs/leaderboard/<config env>.png``: regret against training steps, one CI
  band per agent, the baselines as dashed lines;
* ``docs/leaderboard_markets.md``: the agents trained on distributions of markets
  (``env.markets``), each scored on the held-out test and OOD sets, beside the
  median market's oracle, the best market-blind policy and the baselines on the
  same sets (``--markets`` runs only those configs). Each such config's results
  are kept as a record (:mod:`execgym.experiments.leaderboard_markets`) and the
  page is written from all of them, so configs may run a few at a time.

``leaderboard.md`` is written when configs on one market ran: ``--configs`` with
such names rewrites it with those configs alone.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
from pathlib import Path
from typing import Any


import execgym
from execgym.atomic import write_text_atomically
from execgym.registry import make_oracle, problem
from execgym.experiments.machine import cpu_model
from execgym.experiments.config import ExperimentConfig, load_config
from execgym.experiments.leaderboard_markets import AGENT_LABELS, MARKETS_PAGE, save_records, write_page
from execgym.experiments.plots import save_png
from execgym.experiments.results import ONE_SEED, interval_text
from execgym.experiments.sweep import add_cluster_arguments, describe, run_trials
from execgym.experiments.sweep_plan import parse_seeds, plan, record
from execgym.experiments.sweep_report import curves_figure, load_results, summarise, write_report

NAME = "leaderboard"
HELP = ("train every benchmark config over seeds and every baseline, and write docs/leaderboard.md (and "
        "docs/leaderboard_markets.md)")
CONFIGS = Path(__file__).parent / "configs"
BASELINE_EPISODES = 10_000
AGENT_COLUMNS = {"ppo": "PPO", "maskable_ppo": "PPO", "trpo": "TRPO", "qlearning": "Q-learning"}
CURVE_COLORS = {"PPO": "C0", "MaskablePPO": "C0", "TRPO": "C1", "Q-learning": "C2"}
"""One colour per agent in every plot (MaskablePPO stands in PPO's column)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``execgym leaderboard``."""
    parser.add_argument("--seeds", default="0-4", help="seeds per config (default 0-4)")
    parser.add_argument("--configs", nargs="+", metavar="NAME",
                        help="config names of experiments/configs/ (default: all)")
    parser.add_argument("--markets", action="store_true",
                        help="only the configs trained on distributions of markets (env.markets), which write "
                             "docs/leaderboard_markets.md")
    add_cluster_arguments(parser)
    parser.add_argument("--output", type=Path, default=Path("runs/leaderboard"), help="training outputs")
    parser.add_argument("--docs", type=Path, default=Path("docs"), help="where leaderboard.md, leaderboard_markets.md and their plots go")


def benchmark_configs(names: list[str] | None = None) -> dict[str, ExperimentConfig]:
    """The committed configs by name (file stem), all or ``names``; ValueError naming the valid ones."""
    available = {path.stem: path for path in sorted(CONFIGS.glob("*.yaml"))}
    unknown = sorted(set(names or ()) - set(available))
    if unknown:
        raise ValueError(f"--configs: unknown config(s) {unknown}; choose from {sorted(available)}")
    return {name: load_config(available[name]) for name in (names or available)}


def market_key(config: ExperimentConfig) -> tuple[str, str]:
    """(env id, its params as text, with ``markets=<split>`` for a config trained on a distribution): configs on
    the same market share a leaderboard row."""
    params = ", ".join(f"{key}={value}" for key, value in sorted(config.env.params.items()))
    if config.env.markets is not None:
        markets = config.env.markets if isinstance(config.env.markets, str) else f"{len(config.env.markets)} listed"
        params = ", ".join(part for part in (f"markets={markets}", params) if part)
    return config.env.id, params


def baseline_scores(config: ExperimentConfig) -> dict[str, Any]:
    """Regret % (± 95 % CI) of each named baseline of the config's env on its market, 10,000 episodes; for a
    config on a distribution, :func:`set_baseline_scores`."""
    if config.env.markets is not None:
        return set_baseline_scores(config)
    spec, params = problem(config.env.id), config.env_params()
    oracle = make_oracle(config.env.id, params)
    scores = {}
    for name, policy in spec.baselines(params).items():
        result = execgym.score(policy, config.env.id, episodes=BASELINE_EPISODES, seed=config.training.eval_seed,
                               params=params, oracle=oracle)
        scores[name] = {"regret_pct": result.regret_pct.mean, "regret_pct_ci95": result.regret_pct.half_width}
    return scores


SET_BASELINE_EPISODES = 256
"""Episodes per market of the baselines on a set of markets."""


def set_baseline_scores(config: ExperimentConfig) -> dict[str, Any]:
    """For a config on a distribution: per policy (the median market's oracle, the best market-blind policy
    where exact, the env's baselines) and evaluation set, the mean regret % over the set's markets with its
    95 % CI across markets, the IQM and the worst decile (:data:`SET_BASELINE_EPISODES` per market)."""
    spec = problem(config.env.id)
    names = ["median_oracle"] + (["blind"] if spec.blind_policy is not None else [])
    names += sorted(spec.baselines(config.env_params()))
    scores: dict[str, Any] = {}
    for name in names:
        for markets in config.market_sets():
            keywords = config.env.params if isinstance(markets, str) else {}
            result = execgym.score(name, config.env.id, markets=markets, episodes_per_market=SET_BASELINE_EPISODES,
                                   seed=config.training.eval_seed, observe_market=config.env.observe_market,
                                   **keywords)
            scores.setdefault(name, {})[result.set_name] = {
                "regret_pct": result.mean.mean, "regret_pct_ci95": result.mean.half_width,
                "iqm_pct": result.iqm.mean, "worst_decile_pct": result.worst_decile.mean}
    return scores


def run(args: argparse.Namespace) -> int:
    """Train (or resume) every config's seeds, score the baselines, write the leaderboard's pages: ``leaderboard.md``
    for the configs on one market (when some ran), and for those on distributions of markets their records and
    ``leaderboard_markets.md`` from every record (:mod:`execgym.experiments.leaderboard_markets`)."""
    configs = benchmark_configs(args.configs)
    if args.markets:
        configs = {name: config for name, config in configs.items() if config.env.markets is not None}
    seeds = parse_seeds(args.seeds)
    trials = {}
    for name, config in configs.items():
        folder = args.output / name
        trials[name] = plan(config, {}, seeds, folder)
        record(folder, config, {}, seeds, trials[name])
    failed = run_trials([trial for group in trials.values() for trial in group], address=args.address,
                        cpus=args.cpus)
    for name, group in trials.items():
        write_report(args.output / name, group, f"{name}: {configs[name].agent.algo} on {configs[name].env.id}",
                     describe([(trial, error) for trial, error in failed if trial in group]))
    markets: dict[tuple[str, str], dict[str, Any]] = {}
    for name, config in configs.items():
        market = markets.setdefault(market_key(config), {"configs": {}, "baselines": baseline_scores(config),
                                                         "sets": config.env.markets is not None})
        market["configs"][name] = (config, load_results(trials[name]))
    one_market = {key: market for key, market in markets.items() if not market["sets"]}
    if one_market:
        text = leaderboard_text(one_market, seeds, describe(failed), args.docs)
        write_text_atomically(args.docs / "leaderboard.md", text)
        print(text)
    on_sets = {key: market for key, market in markets.items() if market["sets"]}
    for (env_id, trained_on), market in on_sets.items():
        for name, (config, results) in market["configs"].items():
            if results.get("default"):
                save_records(args.docs, name, env_id, trained_on, config.agent.algo, results["default"],
                             market["baselines"])
    if on_sets:
        print(write_page(args.docs, SET_BASELINE_EPISODES, lambda wall: compute_lines(wall, describe(failed))))
    return 1 if failed else 0


def plot_name(env_id: str, params: str) -> str:
    """``<env id>.png`` for the default market, ``<env id>_<8 hex digits of the params' hash>.png`` otherwise."""
    return env_id + (f"_{hashlib.sha1(params.encode()).hexdigest()[:8]}" if params else "") + ".png"


def leaderboard_text(markets: dict, seeds: tuple[int, ...], failed: list[str], docs: Path) -> str:
    """The markdown leaderboard (and its plots, written under ``docs/leaderboard/``)."""
    (docs / "leaderboard").mkdir(parents=True, exist_ok=True)
    contiguous = seeds == tuple(range(seeds[0], seeds[-1] + 1))
    seeds_option = f"{seeds[0]}-{seeds[-1]}" if contiguous else ",".join(map(str, seeds))
    lines = ["# execgym leaderboard", "",
             "Final regret of each agent against the exact optimum of its env, in % of the optimal E[Σ reward] "
             f"(on each config's evaluation episodes): mean ± 95 % CI over {len(seeds)} seeds, then the "
             "interquartile mean [its 95 % bootstrap interval]. Baselines: regret % ± 95 % CI on "
             f"{BASELINE_EPISODES:,} paired episodes. The PPO column is MaskablePPO on BasketSequence-v0 (masked "
             "actions). Q-learning's rows on OptimalExec-v0 and PortfolioExec-v0 are on lot grids: their regret "
             "is the grid's price. Each env links its plot of regret against training steps. Written by "
             f"`execgym leaderboard --seeds {seeds_option}`.", "",
             "| env | market | PPO | TRPO | Q-learning | best baseline |", "|---|---|---|---|---|---|"]
    wall = 0.0
    for (env_id, params), market in markets.items():
        cells = {}
        curves = {}
        for name, (config, results) in market["configs"].items():
            if not results:
                continue
            row = summarise({"default": results["default"]})[0] if "default" in results else None
            if row is None:
                continue
            wall += row["wall_seconds"]
            cells[AGENT_COLUMNS[config.agent.algo]] = (
                f"{interval_text(row['regret_pct_mean'], row['regret_pct_ci95'], 2, ONE_SEED)} ({row['seeds']} seeds; IQM "
                f"{row['regret_pct_iqm']:.2f} [{row['regret_pct_iqm_low']:.2f}, {row['regret_pct_iqm_high']:.2f}])")
            curves[AGENT_LABELS[config.agent.algo]] = results["default"]
        baselines = market["baselines"]
        best = min(baselines, key=lambda b: baselines[b]["regret_pct"])
        best_cell = f"{best}: {interval_text(baselines[best]['regret_pct'], baselines[best]['regret_pct_ci95'], 2)}"
        plot = plot_name(env_id, params)
        if curves:
            reference = {name: value["regret_pct"] for name, value in baselines.items()
                         if value["regret_pct"] < 100}
            figure = curves_figure(curves, f"{env_id} {params}".strip(), reference, CURVE_COLORS)
            save_png(figure, docs / "leaderboard" / plot)
        lines.append(f"| [{env_id}](leaderboard/{plot}) | {params or 'defaults'} | "
                     + " | ".join(cells.get(column, "–") for column in ("PPO", "TRPO", "Q-learning"))
                     + f" | {best_cell} |")
    lines += ["", "## Markets", "", f"Agents trained on distributions of markets and scored on held-out ones: "
              f"[{MARKETS_PAGE}]({MARKETS_PAGE}) (`execgym leaderboard --markets`)."]
    lines += ["", "## Baselines", "", "| env | market | baseline | regret % (± 95 % CI) |", "|---|---|---|---:|"]
    for (env_id, params), market in markets.items():
        for name, value in market["baselines"].items():
            lines.append(f"| {env_id} | {params or 'defaults'} | {name} | "
                         f"{interval_text(value['regret_pct'], value['regret_pct_ci95'], 2)} |")
    return "\n".join(lines + compute_lines(wall, failed)) + "\n"


def compute_lines(wall: float, failed: list[str]) -> list[str]:
    """A page's closing sections: the compute its trials used (``wall`` seconds) and the trials that failed."""
    lines = ["", "## Compute", "",
             f"{wall / 3600:.2f} CPU-hours of training and evaluation (the sum of the trials' wall times; each "
             "trial ran on one CPU) on "
             f"{cpu_model()}, {os.cpu_count()} cores; Python {platform.python_version()}."]
    return lines + (["", "## Failed trials", ""] + [f"- {trial}" for trial in failed] if failed else [])
