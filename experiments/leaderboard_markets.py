"""The leaderboard's page of agents trained on distributions of markets: ``docs/leaderboard_markets.md``.

Each markets config's final results and its family's set baselines are kept as committed records, so the page
is whole however its configs were run (all at once, or a few per ``execgym leaderboard --markets --configs``)::

    docs/leaderboard/markets/<config>.json               that config's agent: env, algo, the market it trained
                                                          on, and per seed its steps, wall time and final scores
    docs/leaderboard/markets/baselines/<family>.json      the set baselines of that market (the median market's
                                                          oracle, the best market-blind policy, the baselines)

A run rewrites the records of the configs it ran and the page from every record there.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from execgym.atomic import write_text_atomically
from execgym.scoring import Estimate
from execgym.experiments.files import write_json_atomically
from execgym.experiments.results import ONE_SEED, interval_text

MARKETS_PAGE = "leaderboard_markets.md"
"""The leaderboard's page of agents on distributions of markets, beside ``leaderboard.md``."""
RECORDS = Path("leaderboard") / "markets"
"""Under the docs folder: one JSON record per markets config, and ``baselines/`` one per market."""
AGENT_LABELS = {"ppo": "PPO", "maskable_ppo": "MaskablePPO", "trpo": "TRPO", "qlearning": "Q-learning"}
RUN_FIELDS = ("seed", "steps", "wall_seconds", "final")
"""What a record keeps of each seed's result.json."""


def record_stem(env_id: str, trained_on: str) -> str:
    """The baselines record's file stem of a market: the env id, with ``markets=train`` or the listed markets'
    text folded into a name (``OptimalExec-v0_markets-train``)."""
    fold = "".join(c if c.isalnum() else "-" for c in trained_on).strip("-")
    return f"{env_id}_{fold}" if fold else env_id


def save_records(docs: Path, name: str, env_id: str, trained_on: str, algo: str, runs: list[dict[str, Any]],
                 baselines: dict[str, Any]) -> None:
    """Write config ``name``'s record (its seeds' ``runs``, the result.json of each) and its market's baselines
    record, each atomically."""
    folder = docs / RECORDS
    (folder / "baselines").mkdir(parents=True, exist_ok=True)
    write_json_atomically(folder / f"{name}.json", {
        "config": name, "env_id": env_id, "trained_on": trained_on, "algo": algo,
        "runs": [{field: run[field] for field in RUN_FIELDS} for run in sorted(runs, key=lambda run: run["seed"])]})
    write_json_atomically(folder / "baselines" / f"{record_stem(env_id, trained_on)}.json",
                          {"env_id": env_id, "trained_on": trained_on, "baselines": baselines})


def load_records(docs: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """Every record under ``docs``: per market (env id, what it trained on), ``{"agents": {config: record},
    "baselines": {policy: {set: scores}}}``, markets and agents in name order."""
    folder = docs / RECORDS
    markets: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(folder.glob("*.json")):
        record = json.loads(path.read_text())
        key = (record["env_id"], record["trained_on"])
        markets.setdefault(key, {"agents": {}, "baselines": {}})["agents"][record["config"]] = record
    for path in sorted((folder / "baselines").glob("*.json")):
        record = json.loads(path.read_text())
        markets.setdefault((record["env_id"], record["trained_on"]), {"agents": {}, "baselines": {}})[
            "baselines"] = record["baselines"]
    return dict(sorted(markets.items()))


def agent_rows(env_id: str, trained_on: str, record: dict[str, Any]) -> list[str]:
    """One table line per evaluation set of an agent's record: its mean regret % ± 95 % CI over seeds, mean IQM
    and worst decile, and its compute."""
    runs = record["runs"]
    steps = max(run["steps"] for run in runs)
    minutes = np.mean([run["wall_seconds"] for run in runs]) / 60
    rows = []
    for set_name in (key for key, value in runs[0]["final"].items() if isinstance(value, dict)):
        finals = [run["final"][set_name] for run in runs]
        mean = Estimate.of(np.array([final["regret_pct"] for final in finals]))
        rows.append(f"| {env_id} | {trained_on} | {AGENT_LABELS[record['algo']]} ({len(runs)} seeds) | {set_name} | "
                    f"{interval_text(mean.mean, mean.half_width, 2, ONE_SEED)} | "
                    f"{np.mean([final['iqm_pct'] for final in finals]):.2f} | "
                    f"{np.mean([final['worst_decile_pct'] for final in finals]):.2f} | "
                    f"{steps:,} steps, {minutes:.0f} min per seed |")
    return rows


def markets_rows(markets: dict[tuple[str, str], dict[str, Any]], episodes_per_market: int) -> list[str]:
    """The page's table: each agent's regret on every evaluation set, beside the median market's oracle, the best
    blind policy and the baselines on the same sets (``episodes_per_market`` each)."""
    rows = []
    for (env_id, trained_on), market in markets.items():
        for record in market["agents"].values():
            rows += agent_rows(env_id, trained_on, record)
        for name, by_set in market["baselines"].items():
            rows += [f"| {env_id} | {trained_on} | {name} | {set_name} | "
                     f"{interval_text(value['regret_pct'], value['regret_pct_ci95'], 2)} | {value['iqm_pct']:.2f} | "
                     f"{value['worst_decile_pct']:.2f} | – |" for set_name, value in by_set.items()]
    if not rows:
        return []
    return ["Agents trained on a family's training markets (`env.markets: train`: a market per episode, its features "
            "in the observation) and scored on its 256 held-out test markets and 256 out-of-distribution ones, or on "
            "a listed set of markets (Q-learning, the market's index in its state), each market against its own exact "
            "optimum. Per set: the mean regret % over the markets (for agents: mean ± 95 % CI over seeds), then the "
            "interquartile mean and the worst decile of the markets' regret % (for agents: means over seeds). "
            "Baselines on the same sets: the median market's oracle run in every market, the best market-blind "
            f"policy (where exact), and each market's own baselines, {episodes_per_market} episodes per market "
            "(mean ± 95 % CI across markets).", "",
            "| family | trained on | policy | scored on | regret %: mean | IQM | worst decile | compute |",
            "|---|---|---|---|---:|---:|---:|---|", *rows]


def markets_text(markets: dict[tuple[str, str], dict[str, Any]], episodes_per_market: int,
                 compute: Any) -> str:
    """The markdown page (:func:`markets_rows`); ``compute(wall_seconds)`` gives its closing lines."""
    wall = sum(run["wall_seconds"] for market in markets.values() for record in market["agents"].values()
               for run in record["runs"])
    lines = ["# execgym leaderboard: markets, not a market", "", *markets_rows(markets, episodes_per_market)]
    lines += ["", "Written by `execgym leaderboard --markets` from the records under "
              f"[{RECORDS.as_posix()}/]({RECORDS.as_posix()}/) (one per config, rewritten when it runs); the agents "
              "on one market: [leaderboard.md](leaderboard.md)."]
    return "\n".join(lines + compute(wall)) + "\n"


def write_page(docs: Path, episodes_per_market: int, compute: Any) -> str:
    """Write ``docs/leaderboard_markets.md`` from every record under ``docs``; returns its text."""
    text = markets_text(load_records(docs), episodes_per_market, compute)
    write_text_atomically(docs / MARKETS_PAGE, text)
    return text
