"""``execgym sweep CONFIG [--seeds 0-9] [--grid key=v1,v2 ...] [--address RAY_ADDRESS]``: every (grid point ×
seed) training of a config, run in parallel on Ray and aggregated across seeds.

Each trial is one seed of ``execgym run`` on one grid point and writes the same
outputs (TensorBoard logs, checkpoints, result.json, summary.md) under
``<output>/<point>/seed_<s>/`` (layout: :mod:`execgym.experiments.sweep_plan`), so
``tensorboard --logdir <output>`` shows every seed and point together. Trials
run as Ray tasks, one CPU each: on this machine's cores by default, or on an
existing Ray cluster with ``--address`` (every node needs execgym installed).

A trial that fails is retried once (from its last checkpoint); one that fails
again is listed in the summary and the command exits with code 1: no trial is
dropped silently. Rerunning the same command resumes an interrupted sweep:
finished trials are skipped, unfinished ones continue from their checkpoints.

Aggregates (:mod:`execgym.experiments.sweep_report`): ``summary.md``, ``summary.csv``
(mean regret % vs the oracle with its 95 % CI, and the interquartile mean, per
grid point), ``trials.csv`` and ``regret_curves.png``.

Ray is an optional extra: ``pip install -c constraints.txt -e '.[ray]'`` from a clone.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any, Callable

from tqdm import tqdm

from execgym.experiments.arguments import integer_at_least
from execgym.experiments.config import load_config, parse_config
from execgym.experiments.extras import install_hint
from execgym.experiments.run import run_seed
from execgym.experiments.sweep_plan import Trial, parse_grid, parse_seeds, plan, record
from execgym.experiments.sweep_report import write_report

NAME = "sweep"
HELP = "train a config over seeds and a grid of settings on Ray, aggregated with confidence intervals"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``execgym sweep``."""
    parser.add_argument("config", type=Path, help="YAML experiment config (see experiments/configs/)")
    parser.add_argument("--seeds", help="seeds to train, e.g. 0-9 or 0,3,7 (default: the config's)")
    parser.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2",
                        help="a dotted config key and its values, e.g. agent.hyperparameters.learning_rate=1e-4,3e-4 "
                             "(repeatable: the grid is the product)")
    add_cluster_arguments(parser)
    parser.add_argument("--output", type=Path, help="sweep folder (default: the config's output + '_sweep')")


def add_cluster_arguments(parser: argparse.ArgumentParser) -> None:
    """``--address`` and ``--cpus``: where the trials run (``execgym sweep`` and ``execgym leaderboard``)."""
    parser.add_argument("--address", help="address of a running Ray cluster (default: start Ray on this machine)")
    parser.add_argument("--cpus", type=integer_at_least(1), help="CPUs Ray may use on this machine (default: all; "
                                                                  "ignored with --address)")


def run(args: argparse.Namespace) -> int:
    """Run the sweep of the parsed options; prints the summary and returns 1 if a trial failed."""
    config = load_config(args.config)
    seeds = parse_seeds(args.seeds) if args.seeds else config.seeds
    folder = args.output or config.output.with_name(config.output.name + "_sweep")
    grid = parse_grid(args.grid)
    trials = plan(config, grid, seeds, folder)
    record(folder, config, grid, seeds, trials)
    failed = run_trials(trials, address=args.address, cpus=args.cpus)
    rows = write_report(folder, trials, f"Sweep of {args.config.name}: {config.agent.algo} on {config.env.id}",
                        describe(failed))
    print((folder / "summary.md").read_text())
    print(f"results in {folder}/ (TensorBoard: tensorboard --logdir {folder})")
    return 1 if failed or len(rows) == 0 else 0


def run_trial(config_data: dict[str, Any], seed: int) -> dict[str, Any]:
    """One trial, in a Ray worker: train ``seed`` of the config (continuing from a checkpoint if one exists)."""
    config = parse_config(config_data, source="sweep trial")
    return run_seed(config, seed, config.output / f"seed_{seed}", resume=True)


def import_ray(command: str = NAME):
    """The ``ray`` module, or a ValueError saying that ``execgym <command>`` needs it and how to install it."""
    try:
        import ray
    except ImportError:
        raise ValueError(f"execgym {command} runs on Ray, which is not installed: {install_hint('ray')}") from None
    return ray


def start_ray(address: str | None, cpus: int | None, command: str = NAME):
    """Ray, connected to the cluster at ``address`` or started on this machine with ``cpus`` CPUs (default:
    all), unless already initialised; returns ``(ray, started_here)`` (whoever started it shuts it down)."""
    ray = import_ray(command)
    if ray.is_initialized():
        return ray, False
    if address is not None:
        ray.init(address=address)
    else:
        ray.init(num_cpus=cpus or os.cpu_count(), include_dashboard=False, log_to_driver=False)
    return ray, True


def run_trials(trials: list[Trial], address: str | None = None, cpus: int | None = None,
               work: Callable[[dict[str, Any], int], Any] = run_trial) -> list[tuple[Trial, str]]:
    """Run ``work(config data, seed)`` (default :func:`run_trial`) for the trials not done yet as Ray tasks,
    one CPU each, retried once; returns the trials that failed twice, each with its error."""
    pending = [trial for trial in trials if not trial.done]
    if not pending:
        return []
    ray, started_here = start_ray(address, cpus)
    task = ray.remote(num_cpus=1, max_retries=1, retry_exceptions=True)(work)
    running = {task.remote(trial.config.to_dict(), trial.seed): trial for trial in pending}
    failed = []
    with tqdm(total=len(trials), initial=len(trials) - len(pending), desc="sweep", unit="trial",
              disable=None) as progress:
        while running:
            (ready,), _ = ray.wait(list(running), num_returns=1)
            trial = running.pop(ready)
            try:
                ray.get(ready)
            except ray.exceptions.RayError as error:
                failed.append((trial, error_summary(error)))
            progress.update(1)
    if started_here:
        ray.shutdown()
    return failed


def describe(failed: list[tuple[Trial, str]]) -> list[str]:
    """Failed trials as ``"<folder>: <error>"`` lines."""
    return [f"{trial.folder}: {error}" for trial, error in failed]


def error_summary(error: Exception) -> str:
    """The last line of a Ray error's message that names the original exception."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__
