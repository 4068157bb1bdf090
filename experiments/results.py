"""What a run writes when a seed is done: its ``result.json`` and ``summary.md``, and the aggregate across seeds.

A seed's result holds its final evaluation (a point of the learning curve,
:func:`execgym.experiments.evaluation.evaluate`) and the whole curve. The
aggregate (``<output>/result.json``, ``summary.md``) is built from every
finished seed in the output folder, whichever invocation trained it. With one
seed the spread and the interval across seeds are undefined: ``null`` in
JSON with a ``_note`` saying so, "(one seed: no interval)" in text.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from execgym.experiments.files import CorruptFile, read_json
from execgym.scoring import Estimate

RESULT_KEYS = ("env_id", "algo", "seed", "steps", "wall_seconds", "eval_episodes", "eval_seed", "final", "curve")
POINT_KEYS = ("steps", "return", "return_half_width", "oracle_return", "regret", "regret_half_width", "regret_pct",
              "regret_pct_half_width")
ONE_SEED = "one seed: no interval"


def seed_result(config, seed: int, state: dict[str, Any]) -> dict[str, Any]:
    """The JSON result of one seed of ``config``: the final evaluation and the learning curve."""
    return {"env_id": config.env.id, "algo": config.agent.algo, "seed": seed, "steps": state["steps"],
            "wall_seconds": state["wall_seconds"], "eval_episodes": config.training.eval_episodes,
            "eval_seed": config.training.eval_seed, "final": state["curve"][-1], "curve": state["curve"]}


def read_result(path: Path) -> dict[str, Any]:
    """A seed's ``result.json``; :class:`CorruptFile` naming the file if it is truncated or lacks a key."""
    result = read_json(path, RESULT_KEYS)
    final = result["final"]
    if not isinstance(final, dict) or any(key not in final for key in POINT_KEYS):
        raise CorruptFile(f"{path}: 'final' is not an evaluation with the keys {list(POINT_KEYS)}")
    return result


def finished_results(output: Path) -> tuple[list[dict[str, Any]], dict[int, str]]:
    """The results of every finished seed under ``output`` (its ``seed_<n>/result.json``), by seed; and the
    seeds whose result does not read back, each with the error."""
    results, unreadable = [], {}
    folders = [path for path in output.glob("seed_*") if path.name[5:].isdigit()] if output.is_dir() else []
    for folder in sorted(folders, key=lambda path: int(path.name[5:])):
        if (folder / "result.json").exists():
            try:
                results.append(read_result(folder / "result.json"))
            except CorruptFile as error:
                unreadable[int(folder.name[5:])] = str(error)
    return results, unreadable


def interval_text(mean: float, half_width: float | None, digits: int = 3, alone: str = "no interval") -> str:
    """``mean ± half_width``, or ``mean (alone)`` where the interval is undefined (None or nan)."""
    if half_width is None or not math.isfinite(half_width):
        return f"{mean:.{digits}f} ({alone})"
    return f"{mean:.{digits}f} ± {half_width:.{digits}f}"


def seed_summary(result: dict[str, Any]) -> str:
    """Markdown summary of one seed."""
    final = result["final"]
    sets = {name: value for name, value in final.items() if isinstance(value, dict) and "markets" in value}
    if sets:
        evaluated = (", ".join(f"{value['markets']} markets ({name})" for name, value in sets.items())
                     + f", each against its own exact optimum (seeds from {result['eval_seed']}); means over markets "
                     "with their 95 % CI across markets, the first set being the score")
    else:
        evaluated = f"{result['eval_episodes']:,} episodes (seeds from {result['eval_seed']}), 95 % CI"
    lines = [f"# {result['algo']} on {result['env_id']}, seed {result['seed']}", "",
             f"{result['steps']:,} steps in {result['wall_seconds']:.1f} s (training and evaluation); evaluation on "
             f"{evaluated}.", "",
             "| reference | return | optimum | regret | regret % |", "|---|---:|---:|---:|---:|"]
    lines += [_row("exact oracle", final)] if not sets else []
    lines += [_row(name, value) for name, value in final.items() if isinstance(value, dict)]
    if sets:
        lines += ["", "| markets | regret %: mean | IQM | worst decile |", "|---|---:|---:|---:|"]
        lines += [f"| {name} | {interval_text(value['regret_pct'], value['regret_pct_half_width'])} | "
                  f"{interval_text(value['iqm_pct'], value['iqm_pct_half_width'])} | "
                  f"{interval_text(value['worst_decile_pct'], value['worst_decile_pct_half_width'])} |"
                  for name, value in sets.items()]
    lines += ["", "| steps | return | regret % |", "|---:|---:|---:|"]
    lines += [f"| {p['steps']:,} | {interval_text(p['return'], p['return_half_width'])} | "
              f"{interval_text(p['regret_pct'], p['regret_pct_half_width'])} |" for p in result["curve"]]
    return "\n".join(lines)


def _row(name: str, point: dict[str, float]) -> str:
    return (f"| {name} | {interval_text(point['return'], point['return_half_width'])} | "
            f"{point['oracle_return']:.3f} | {interval_text(point['regret'], point['regret_half_width'])} | "
            f"{interval_text(point['regret_pct'], point['regret_pct_half_width'])} |")


def aggregate_results(config, results: list[dict[str, Any]], failed: dict[int, str] | None = None) -> dict[str, Any]:
    """Final regret % across the seeds of ``results`` (at least one): mean, standard deviation, 95 % CI of the
    mean (t), min and max; ``failed`` lists seeds without a result, each with its error."""
    regrets = np.array([r["final"]["regret_pct"] for r in results])
    n = len(regrets)
    estimate = Estimate.of(regrets)
    spread = {"regret_pct_std": estimate.std, "regret_pct_ci95": estimate.half_width} if n > 1 else \
        {"regret_pct_std": None, "regret_pct_std_note": "one seed: no spread",
         "regret_pct_ci95": None, "regret_pct_ci95_note": ONE_SEED}
    aggregate = {"env_id": config.env.id, "algo": config.agent.algo, "seeds": [r["seed"] for r in results],
                 "regret_pct_mean": float(regrets.mean()), **spread, "regret_pct_min": float(regrets.min()),
                 "regret_pct_max": float(regrets.max()),
                 "wall_seconds": float(sum(r["wall_seconds"] for r in results)),
                 "per_seed": [{"seed": r["seed"], "steps": r["steps"], "wall_seconds": r["wall_seconds"],
                               **{k: r["final"][k] for k in ("return", "oracle_return", "regret_pct",
                                                            "regret_pct_half_width")}} for r in results]}
    if failed:
        aggregate["failed_seeds"] = [{"seed": seed, "error": error} for seed, error in sorted(failed.items())]
    across = (f"std across seeds {estimate.std:.3f}, 95 % CI of the mean ± {estimate.half_width:.3f}" if n > 1
              else ONE_SEED)
    lines = [f"# {config.agent.algo} on {config.env.id}: {n} seed(s)", "",
             f"final regret vs the exact oracle: {aggregate['regret_pct_mean']:.3f} % ({across}; "
             f"min {regrets.min():.3f}, max {regrets.max():.3f})",
             "", "| seed | steps | wall time (s) | return | oracle | regret % |", "|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {p['seed']} | {p['steps']:,} | {p['wall_seconds']:.0f} | {p['return']:.3f} | "
              f"{p['oracle_return']:.3f} | {interval_text(p['regret_pct'], p['regret_pct_half_width'])} |"
              for p in aggregate["per_seed"]]
    if failed:
        lines += ["", "Seeds without a result:", ""] + [f"- seed {seed}: {error}" for seed, error in sorted(failed.items())]
    aggregate["text"] = "\n".join(lines)
    return aggregate
