"""``execgym run CONFIG [--set KEY=VALUE ...] [--total-steps N] [--seed N] [--resume]``: train an agent from a
YAML config, scored against the oracle.

``--set`` overrides any dotted key of the config (``--set agent.num_envs=16``,
``--set agent.hyperparameters.learning_rate=1e-4``; values read as YAML), and
``--total-steps N`` sets the training budget (scaling ``training.eval_every``
down to keep the config's number of evaluations where it would exceed N), so
a config can be tried at a small budget without copying it. The effective
config is what the output's ``config.yaml`` holds.

Everything that can be checked is checked before the output folder is
created: the config's keys and types, the agent's hyperparameters (for SB3 a
model is built on the config's vector env), the memory the agent needs, and
the seeds' and the evaluation's ranges.

For each seed, under ``<output>/seed_<seed>/``:

* ``tensorboard/``: episode return and the algorithm's own losses, and at every
  evaluation the return, the oracle's exact value (a reference line) and the
  regret in % with its 95 % CI (custom-scalars charts combine them);
* ``checkpoints/step_<steps>/``: the last two checkpoints, one per evaluation;
* ``result.json``, ``summary.md``, ``trajectory.png`` (the agent's inventory
  beside the oracle's; only for execution envs, whose oracle has a schedule),
  written atomically once the seed is done.

``<output>/result.json`` and ``summary.md`` aggregate every finished seed in
the folder (mean ± spread). Away from a terminal, a log line on standard
error reports each seed's progress every 5 % of its steps.

``--resume`` continues a run killed at any moment: finished seeds are kept as
they are, unfinished ones continue from their last checkpoint (a corrupt one
is reported and the previous one used; a seed without a checkpoint starts
over). It needs the config the run started with (``--set`` overrides
included; the output folder may have moved, and seeds may be added). A run
that stopped before its first checkpoint is simply started over, with or
without ``--resume``. A seed that fails does not stop the others; the command
then reports it and exits with status 1.
"""

from __future__ import annotations

import argparse
import shutil
import time
import traceback
from functools import partial
from pathlib import Path
from typing import Any, Callable

import numpy as np
import yaml

from execgym.experiments.arguments import integer_at_least, parse_settings
from execgym.experiments.checkpoints import (checkpoints, read_state, remove_leftovers, restore_latest,
                                             save_checkpoint)
from execgym.experiments.config import ConfigError, ExperimentConfig, differing_keys, load_config, parse_config
from execgym.experiments.evaluation import evaluate_config, layout, observation_paths, tensorboard_scalars
from execgym.experiments.files import (CorruptFile, check_writable, remove_stale_temporaries, write_json_atomically,
                                       write_text_atomically)
from execgym.experiments.plots import inventory_figure, save_png
from execgym.experiments.progress import SeedProgress, warn
from execgym.experiments.results import aggregate_results, finished_results, read_result, seed_result, seed_summary
from execgym.experiments.tensorboard_log import ScalarLog, truncate_events
from execgym.experiments.trainers import Trainer, check_trainer_config, make_trainer
from execgym.registry import make_oracle

NAME = "run"
HELP = "train an agent from a YAML config and score it against the oracle"
TRAJECTORY_EPISODES = 200
AGGREGATE_FILES = ("result.json", "summary.md")


class SeedsFailed(ValueError):
    """Some seeds of a run failed; ``aggregate`` is that of the finished seeds (None if there are none)."""

    def __init__(self, message: str, aggregate: dict[str, Any] | None) -> None:
        super().__init__(message)
        self.aggregate = aggregate


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``execgym run``."""
    parser.add_argument("config", type=Path, help="YAML experiment config (see experiments/configs/)")
    add_override_arguments(parser)
    parser.add_argument("--seed", type=integer_at_least(0), action="append", dest="seeds", metavar="N",
                        help="train only this seed (repeatable); default: the config's seeds")
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted run in the config's output folder")
    parser.add_argument("--output", type=Path, help="output folder (default: the config's)")


def run(args: argparse.Namespace) -> int:
    """Run the experiment of the parsed options; prints where the results are."""
    config = effective_config(args.config, parse_settings(args.settings), args.total_steps, args.seeds, args.output)
    try:
        summary = run_experiment(config, resume=args.resume)
    except SeedsFailed as error:
        if error.aggregate is not None:
            print(error.aggregate["text"])
        raise
    print(summary["text"])
    print(f"results in {config.output}/ (TensorBoard: tensorboard --logdir {config.output})")
    return 0


def add_override_arguments(parser: argparse.ArgumentParser) -> None:
    """``--set`` and ``--total-steps``, which :func:`effective_config` applies (``execgym run`` and ``tune``)."""
    parser.add_argument("--set", action="append", default=[], dest="settings", metavar="KEY=VALUE",
                        help="override a dotted config key, value read as YAML (repeatable), e.g. "
                             "--set agent.hyperparameters.learning_rate=1e-4 --set env.params.side=buy")
    parser.add_argument("--total-steps", type=integer_at_least(1), metavar="N",
                        help="training budget per seed (training.total_steps; training.eval_every is scaled down "
                             "to keep the config's number of evaluations if it exceeds N)")


def effective_config(path: Path, settings: dict[str, Any], total_steps: int | None = None,
                     seeds: list[int] | None = None, output: Path | None = None) -> ExperimentConfig:
    """The config at ``path`` with the ``--set`` ``settings``, the ``--total-steps`` budget (:func:`budget_settings`),
    and the ``--seed`` and ``--output`` choices."""
    config = load_config(path, settings)
    if total_steps is not None:
        config = load_config(path, budget_settings(config, settings, total_steps))
    changes = {**({"seeds": list(seeds)} if seeds else {}), **({"output": str(output)} if output else {})}
    return parse_config({**config.to_dict(), **changes}, source=config.source) if changes else config


def budget_settings(config: ExperimentConfig, settings: dict[str, Any], total_steps: int) -> dict[str, Any]:
    """``settings`` with ``training.total_steps`` = ``total_steps``, and ``training.eval_every`` scaled down to keep
    ``config``'s number of evaluations where it exceeds ``total_steps`` (unless ``settings`` sets it)."""
    if "training.total_steps" in settings:
        raise ValueError("--total-steps and --set training.total_steps both set the budget: give one of them")
    budget = {**settings, "training.total_steps": total_steps}
    every = config.training.eval_every
    if every > total_steps and "training.eval_every" not in settings:
        evaluations = max(1, config.training.total_steps // every)
        budget["training.eval_every"] = max(1, total_steps // evaluations)
        print(f"--total-steps {total_steps:,}: training.eval_every {every:,} exceeds it; evaluating every "
              f"{budget['training.eval_every']:,} steps ({evaluations} evaluation(s), as in the config)")
    return budget


def run_experiment(config: ExperimentConfig, resume: bool = False) -> dict[str, Any]:
    """Train every seed of ``config`` (continuing unfinished ones if ``resume``) and aggregate every finished
    seed of the output folder. A seed that fails is reported and the others go on; then
    :class:`SeedsFailed` is raised."""
    check_trainer_config(config)
    prepare_output(config, resume)
    failed = {}
    for seed in config.seeds:
        try:
            run_seed(config, seed, config.output / f"seed_{seed}", resume)
        except Exception as error:  # noqa: BLE001 - one seed's failure must not stop the others
            foreseen = isinstance(error, (ValueError, OSError))   # a bad file or folder: its message says it all
            if not foreseen:
                traceback.print_exc()
            failed[seed] = str(error) if foreseen else f"{type(error).__name__}: {error}"
            warn(f"seed {seed} failed: {failed[seed]}")
    aggregate = write_aggregate(config, failed)
    if failed:
        where = f"; the finished seeds' aggregate is in {config.output / 'result.json'}" if aggregate else ""
        raise SeedsFailed(f"seed(s) {sorted(failed)} failed: "
                          + "; ".join(f"seed {seed}: {error}" for seed, error in failed.items()) + where, aggregate)
    return aggregate


def has_progress(output: Path) -> bool:
    """Whether any seed under ``output`` has a checkpoint or a result."""
    return any((folder / "result.json").exists() or checkpoints(folder / "checkpoints")
               for folder in output.glob("seed_*"))


def prepare_output(config: ExperimentConfig, resume: bool) -> None:
    """Make ``config.output`` ready and write the effective config to its ``config.yaml``.

    A non-empty folder is refused unless ``resume`` (then its stored config must be this one, but for
    ``output`` and ``seeds``: :func:`check_same_run`) or it holds a run stopped before its first
    checkpoint (started over). Stale temporaries of interrupted writes are removed."""
    out, stored = config.output, config.output / "config.yaml"
    seeds = list(config.seeds)
    if out.exists() and any(out.iterdir()):
        if not has_progress(out) and stored.exists():
            warn(f"{out} holds a run that stopped before its first checkpoint: starting it over")
            for path in out.glob("seed_*"):
                shutil.rmtree(path)
            for name in AGGREGATE_FILES:
                (out / name).unlink(missing_ok=True)
        elif not resume:
            raise ValueError(f"output folder {out} is not empty: pass --resume to continue that run, "
                             "or choose another output")
        elif stored.exists():
            seeds = [*check_same_run(config, stored).seeds, *seeds]
    out.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(out)
    data = {**config.to_dict(), "seeds": list(dict.fromkeys(seeds))}
    write_text_atomically(stored, yaml.safe_dump(data, sort_keys=False))


def check_same_run(config: ExperimentConfig, stored: Path) -> ExperimentConfig:
    """The config stored at ``stored``, if it is ``config``'s run (equal :meth:`ExperimentConfig.identity`);
    ValueError naming the file and the differing keys otherwise."""
    try:
        previous = load_config(stored)
    except ConfigError as error:
        raise ValueError(f"the stored config of this run does not read back: {error}. Move {stored} away to "
                         f"resume with {config.source} regardless") from None
    before, now = previous.identity(), config.identity()
    differing = differing_keys(before, now)
    if differing:
        changes = ", ".join(f"{key} ({_at(before, key)!r} there, {_at(now, key)!r} now)" for key in differing)
        raise ValueError(f"{stored} differs from this config ({config.source}) at {changes}: a run resumes only "
                         "with the config it started with (--set overrides included; its output folder and "
                         "seeds may change)")
    return previous


def _at(data: dict[str, Any], key: str) -> Any:
    """The value at dotted ``key`` of nested mappings (None where absent)."""
    for part in key.split("."):
        data = data.get(part) if isinstance(data, dict) else None
    return data


def write_aggregate(config: ExperimentConfig, failed: dict[int, str]) -> dict[str, Any] | None:
    """Write ``<output>/result.json`` and ``summary.md`` from every finished seed in the output folder (None,
    and no aggregate, if there is none); ``failed`` (seed: error) and unreadable results are listed."""
    results, unreadable = finished_results(config.output)
    for seed, error in unreadable.items():
        warn(f"seed {seed} is left out of the aggregate: {error}")
    failed = {**unreadable, **failed}
    if not results:
        for name in AGGREGATE_FILES:
            (config.output / name).unlink(missing_ok=True)
        return None
    aggregate = aggregate_results(config, results, failed)
    write_text_atomically(config.output / "summary.md", aggregate["text"] + "\n")
    write_json_atomically(config.output / "result.json", aggregate)
    return aggregate


def run_seed(config: ExperimentConfig, seed: int, folder: Path, resume: bool) -> dict[str, Any]:
    """Train one seed to ``config.training.total_steps``, evaluating and checkpointing on the way.

    With ``resume``, a finished seed's result is returned as it is (one that does not read back is rebuilt
    from the last checkpoint), an unfinished one continues from its newest checkpoint that loads (a corrupt
    one is reported and the previous one used), and one without a checkpoint starts over. Everything is
    loaded, and the folders checked writable, before the TensorBoard history is cut back to the checkpoint.
    """
    result_path, log_dir, checkpoint_root = folder / "result.json", folder / "tensorboard", folder / "checkpoints"
    for path in (folder, log_dir):
        remove_stale_temporaries(path)
    remove_leftovers(checkpoint_root)
    if resume and result_path.exists():
        try:
            return read_result(result_path)
        except CorruptFile as error:
            warn(f"{error}: rebuilding it from the last checkpoint")
    try:
        restored = restore_latest(checkpoint_root, partial(_restore, config, seed, log_dir), warn) if resume else None
    except CorruptFile as error:
        raise CorruptFile(f"{error}; delete {folder} to train seed {seed} again from scratch") from None
    if restored is None:
        if folder.exists():
            shutil.rmtree(folder)
        state = {"steps": 0, "curve": [], "wall_seconds": 0.0}
        trainer = make_trainer(config, seed, log_dir)
    else:
        _, (state, trainer) = restored
    for path in (log_dir, checkpoint_root):
        check_writable(path)
    if restored is not None:
        truncate_events(log_dir, state["steps"])
    train(config, seed, trainer, state, log_dir, checkpoint_root, fresh=restored is None)
    result = seed_result(config, seed, state)
    write_outputs(config, folder, result, trainer)
    return result


def _restore(config: ExperimentConfig, seed: int, log_dir: Path, checkpoint: Path) -> tuple[dict[str, Any], Trainer]:
    """The state and the trainer saved in ``checkpoint`` (:class:`CorruptFile` if a file does not read back)."""
    state = read_state(checkpoint)
    return state, make_trainer(config, seed, log_dir, checkpoint)


def train(config: ExperimentConfig, seed: int, trainer: Trainer, state: dict[str, Any], log_dir: Path,
          checkpoint_root: Path | None, fresh: bool,
          on_evaluation: Callable[[dict[str, Any]], None] | None = None) -> None:
    """Train ``trainer`` to the config's budget from ``state`` (steps, curve, wall seconds so far), updating it:
    at each milestone evaluate, log to TensorBoard, checkpoint (unless ``checkpoint_root`` is None) and call
    ``on_evaluation(point)``; evaluate at the end if the last step was no milestone."""
    training = config.training
    log = ScalarLog(log_dir)
    if fresh:
        log.layout(layout(config))
    seconds_before, started = state["wall_seconds"], time.perf_counter()
    progress = SeedProgress(f"{config.agent.algo} seed {seed}", training.total_steps, trainer.steps,
                        state["curve"][-1] if state["curve"] else None)

    def on_milestone(steps: int) -> None:
        point = evaluate_config(trainer.policy(), config, steps, trainer.references)
        state["curve"].append(point)
        state["steps"] = steps
        state["wall_seconds"] = seconds_before + time.perf_counter() - started
        log.add(tensorboard_scalars(point), steps)
        log.flush()
        if checkpoint_root is not None:
            save_checkpoint(checkpoint_root, steps, state, trainer.save)
        progress.evaluated(point)
        if on_evaluation is not None:
            on_evaluation(point)

    try:
        trainer.learn(training.total_steps, training.eval_every, on_milestone, progress.update)
        if state["steps"] != trainer.steps or not state["curve"]:
            on_milestone(trainer.steps)
    finally:
        progress.close()
        log.close()


def write_outputs(config: ExperimentConfig, folder: Path, result: dict[str, Any], trainer: Trainer) -> None:
    """trajectory.png (if the oracle has an inventory schedule), summary.md, then result.json (last: its
    presence marks the seed as done)."""
    params = config.env_params()
    oracle = make_oracle(config.env.id, params)
    if oracle.schedule is not None:
        seeds = config.training.eval_seed + np.arange(TRAJECTORY_EPISODES)
        paths = observation_paths(trainer.policy(), config.env.id, params, seeds,
                                  observe_market=config.env.observe_market if config.env.markets is not None
                                  else False)
        assets = 1 if np.ndim(oracle.schedule) == 1 else np.shape(oracle.schedule)[1]
        inventories = paths[:, :, 1] if assets == 1 else paths[:, :, 1:1 + assets]
        save_png(inventory_figure(params, inventories, oracle.schedule, label=config.agent.algo),
                 folder / "trajectory.png")
    write_text_atomically(folder / "summary.md", seed_summary(result) + "\n")
    write_json_atomically(folder / "result.json", result)
