"""``execgym run CONFIG [--seed N] [--resume]``: train an agent from a YAML config, scored against the oracle.

For each seed, under ``<output>/seed_<seed>/``:

* ``tensorboard/``: episode return and the algorithm's own losses, and at every
  evaluation the return, the oracle's exact value (a reference line) and the
  regret in % with its 95 % CI (custom-scalars charts combine them);
* ``checkpoints/step_<steps>/``: the last two checkpoints, one per evaluation;
* ``result.json``, ``summary.md``, ``trajectory.png`` (the agent's inventory
  beside the oracle's; only for execution envs, whose oracle has a schedule),
  written atomically once the seed is done.

``<output>/result.json`` and ``summary.md`` aggregate the seeds (mean ± spread).
A run killed at any moment continues with ``--resume`` from the last
checkpoint of each unfinished seed; finished seeds are kept as they are.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from tqdm import tqdm

from execgym.experiments.checkpoints import latest_checkpoint, read_state, save_checkpoint
from execgym.experiments.config import ExperimentConfig, load_config
from execgym.experiments.evaluation import TENSORBOARD_LAYOUT, evaluate, observation_paths, tensorboard_scalars
from execgym.experiments.files import write_text_atomically
from execgym.experiments.plots import inventory_figure, save_png
from execgym.experiments.tensorboard_log import ScalarLog, truncate_events
from execgym.experiments.trainers import check_trainer_config, make_trainer
from execgym.registry import make_oracle
from execgym.scoring import Estimate

NAME = "run"
HELP = "train an agent from a YAML config and score it against the oracle"
TRAJECTORY_EPISODES = 200


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``execgym run``."""
    parser.add_argument("config", type=Path, help="YAML experiment config (see experiments/configs/)")
    parser.add_argument("--seed", type=int, action="append", dest="seeds", metavar="N",
                        help="train only this seed (repeatable); default: the config's seeds")
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted run in the config's output folder")
    parser.add_argument("--output", type=Path, help="output folder (default: the config's)")


def run(args: argparse.Namespace) -> int:
    """Run the experiment of the parsed options; prints where the results are."""
    config = load_config(args.config)
    if args.output is not None:
        config = replace(config, output=args.output)
    if args.seeds:
        config = replace(config, seeds=tuple(args.seeds))
    summary = run_experiment(config, resume=args.resume)
    print(summary["text"])
    print(f"results in {config.output}/ (TensorBoard: tensorboard --logdir {config.output})")
    return 0


def run_experiment(config: ExperimentConfig, resume: bool = False) -> dict[str, Any]:
    """Train every seed of ``config`` (continuing unfinished ones if ``resume``) and aggregate them."""
    check_trainer_config(config)
    out = config.output
    stored = out / "config.yaml"
    if out.exists() and any(out.iterdir()) and not resume:
        raise ValueError(f"output folder {out} is not empty: pass --resume to continue that run, "
                         "or choose another output")
    if resume and stored.exists():
        previous = yaml.safe_load(stored.read_text())
        if {k: v for k, v in previous.items() if k != "seeds"} != \
                {k: v for k, v in config.to_dict().items() if k != "seeds"}:
            raise ValueError(f"{stored} differs from this config: a run resumes only with the config it started with")
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomically(stored, yaml.safe_dump(config.to_dict(), sort_keys=False))
    results = [run_seed(config, seed, out / f"seed_{seed}", resume) for seed in config.seeds]
    aggregate = aggregate_results(config, results)
    write_text_atomically(out / "summary.md", aggregate["text"] + "\n")
    write_text_atomically(out / "result.json", json.dumps(aggregate, indent=1))
    return aggregate


def run_seed(config: ExperimentConfig, seed: int, folder: Path, resume: bool) -> dict[str, Any]:
    """Train one seed to ``config.training.total_steps``, evaluating and checkpointing on the way."""
    result_path = folder / "result.json"
    if resume and result_path.exists():
        return json.loads(result_path.read_text())
    log_dir, checkpoint_root = folder / "tensorboard", folder / "checkpoints"
    checkpoint = latest_checkpoint(checkpoint_root) if resume else None
    state = read_state(checkpoint) if checkpoint else {"steps": 0, "curve": [], "wall_seconds": 0.0}
    truncate_events(log_dir, state["steps"] if checkpoint else -1)
    trainer = make_trainer(config, seed, log_dir, checkpoint)
    params, training = config.env_params(), config.training
    log = ScalarLog(log_dir)
    if not checkpoint:
        log.layout(TENSORBOARD_LAYOUT)
    seconds_before, started = state["wall_seconds"], time.perf_counter()
    progress = tqdm(total=training.total_steps, initial=min(trainer.steps, training.total_steps),
                    desc=f"{config.agent.algo} seed {seed}", unit="step", unit_scale=True, disable=None)

    def on_milestone(steps: int) -> None:
        point = evaluate(trainer.policy(), config.env.id, params, training.eval_episodes, training.eval_seed,
                         steps, trainer.references)
        state["curve"].append(point)
        state["steps"] = steps
        state["wall_seconds"] = seconds_before + time.perf_counter() - started
        log.add(tensorboard_scalars(point), steps)
        log.flush()
        save_checkpoint(checkpoint_root, steps, state, trainer.save)
        progress.set_postfix(regret=f"{point['regret_pct']:.2f}%")

    def on_progress(steps: int) -> None:
        progress.update(min(steps, training.total_steps) - progress.n)

    trainer.learn(training.total_steps, training.eval_every, on_milestone, on_progress)
    if state["steps"] != trainer.steps or not state["curve"]:
        on_milestone(trainer.steps)
    progress.close()
    log.close()
    result = seed_result(config, seed, state)
    write_outputs(config, folder, result, trainer)
    return result


def seed_result(config: ExperimentConfig, seed: int, state: dict[str, Any]) -> dict[str, Any]:
    """The JSON result of one seed: the final evaluation and the learning curve."""
    return {"env_id": config.env.id, "algo": config.agent.algo, "seed": seed, "steps": state["steps"],
            "wall_seconds": state["wall_seconds"], "eval_episodes": config.training.eval_episodes,
            "eval_seed": config.training.eval_seed, "final": state["curve"][-1], "curve": state["curve"]}


def write_outputs(config: ExperimentConfig, folder: Path, result: dict[str, Any], trainer) -> None:
    """trajectory.png (if the oracle has an inventory schedule), summary.md, then result.json (last: its
    presence marks the seed as done)."""
    params = config.env_params()
    oracle = make_oracle(config.env.id, params)
    if oracle.schedule is not None:
        seeds = config.training.eval_seed + np.arange(TRAJECTORY_EPISODES)
        paths = observation_paths(trainer.policy(), config.env.id, params, seeds)
        assets = 1 if np.ndim(oracle.schedule) == 1 else np.shape(oracle.schedule)[1]
        inventories = paths[:, :, 1] if assets == 1 else paths[:, :, 1:1 + assets]
        save_png(inventory_figure(params, inventories, oracle.schedule, label=config.agent.algo),
                 folder / "trajectory.png")
    write_text_atomically(folder / "summary.md", seed_summary(result) + "\n")
    write_text_atomically(folder / "result.json", json.dumps(result, indent=1))


def seed_summary(result: dict[str, Any]) -> str:
    """Markdown summary of one seed."""
    final = result["final"]
    lines = [f"# {result['algo']} on {result['env_id']}, seed {result['seed']}", "",
             f"{result['steps']:,} steps in {result['wall_seconds']:.1f} s (training and evaluation); evaluation on "
             f"{result['eval_episodes']:,} episodes (seeds from {result['eval_seed']}), 95 % CI.", "",
             "| reference | return | optimum | regret | regret % |", "|---|---:|---:|---:|---:|",
             _row("exact oracle", final)]
    lines += [_row(name, value) for name, value in final.items() if isinstance(value, dict)]
    lines += ["", "| steps | return | regret % |", "|---:|---:|---:|"]
    lines += [f"| {p['steps']:,} | {p['return']:.3f} ± {p['return_half_width']:.3f} | "
              f"{p['regret_pct']:.3f} ± {p['regret_pct_half_width']:.3f} |" for p in result["curve"]]
    return "\n".join(lines)


def _row(name: str, point: dict[str, float]) -> str:
    return (f"| {name} | {point['return']:.3f} ± {point['return_half_width']:.3f} | {point['oracle_return']:.3f} | "
            f"{point['regret']:.3f} ± {point['regret_half_width']:.3f} | "
            f"{point['regret_pct']:.3f} ± {point['regret_pct_half_width']:.3f} |")


def aggregate_results(config: ExperimentConfig, results: list[dict[str, Any]]) -> dict[str, Any]:
    """Final regret % across seeds: mean, standard deviation, 95 % CI of the mean (t), min and max."""
    regrets = np.array([r["final"]["regret_pct"] for r in results])
    n = len(regrets)
    estimate = Estimate.of(regrets)
    spread, half_width = (estimate.std if n > 1 else 0.0), estimate.half_width
    aggregate = {"env_id": config.env.id, "algo": config.agent.algo, "seeds": [r["seed"] for r in results],
                 "regret_pct_mean": float(regrets.mean()), "regret_pct_std": spread,
                 "regret_pct_ci95": half_width, "regret_pct_min": float(regrets.min()),
                 "regret_pct_max": float(regrets.max()),
                 "wall_seconds": float(sum(r["wall_seconds"] for r in results)),
                 "per_seed": [{"seed": r["seed"], "steps": r["steps"], "wall_seconds": r["wall_seconds"],
                               **{k: r["final"][k] for k in ("return", "oracle_return", "regret_pct",
                                                            "regret_pct_half_width")}} for r in results]}
    lines = [f"# {config.agent.algo} on {config.env.id}: {n} seed(s)", "",
             f"final regret vs the exact oracle: {aggregate['regret_pct_mean']:.3f} % (std across seeds "
             f"{spread:.3f}, 95 % CI of the mean ± {half_width:.3f}; min {regrets.min():.3f}, max {regrets.max():.3f})",
             "", "| seed | steps | wall time (s) | return | oracle | regret % |", "|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {p['seed']} | {p['steps']:,} | {p['wall_seconds']:.0f} | {p['return']:.3f} | "
              f"{p['oracle_return']:.3f} | {p['regret_pct']:.3f} ± {p['regret_pct_half_width']:.3f} |"
              for p in aggregate["per_seed"]]
    aggregate["text"] = "\n".join(lines)
    return aggregate
