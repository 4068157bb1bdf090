"""``execgym tune CONFIG --trials N [--space FILE] [--workers K | --address RAY_ADDRESS | --cpus N]``: search an
agent's hyperparameters with Optuna, scored by the final regret % against the exact oracle.

Each trial trains the config's agent with hyperparameters drawn from the search
space (:mod:`execgym.experiments.tune_space`; every value not searched comes
from the config) exactly as ``execgym run`` trains one seed: the same trainer,
training seed (``--seed``, default the config's first) and evaluation
episodes (``training.eval_episodes`` from ``training.eval_seed``) for every
trial, so trials differ only by their hyperparameters (common random numbers).
The objective, minimised, is the final regret % of that evaluation.

Sampler: TPE, seeded (trial n draws with a seed derived from ``--seed`` and n,
so a continued study does not repeat the draws of its first run), with
``--startup-trials`` random trials before it models the results.

Pruning: every evaluation (each ``training.eval_every`` steps) is reported to
the trial at its nominal step (the multiple of ``eval_every`` it crossed;
rollouts of different lengths evaluate a few steps apart); Optuna's
MedianPruner stops a trial whose best regret so far is worse than the median of
the completed trials' at the same step, once ``--startup-trials`` trials are
complete and from a third of the training budget on. The median rule is chosen
over successive halving: it compares trials at equal training budgets from the
first few complete trials on, needs no resource schedule fitted to
``eval_every``, and keeps every trial that is at least typical; successive
halving pays off with hundreds of trials in parallel.

Study storage: ``<output>/study.journal``, Optuna's journal file, which several
processes share. Rerunning the same command continues the study: trials
COMPLETE or PRUNED count toward ``--trials``; one interrupted while running is
marked FAIL and its hyperparameters run again in a new trial. A different
config, space, seed or number of startup trials for the same output is refused
(``<output>/tune.yaml`` records them). A trial that raises is recorded as FAIL
with its error and the study goes on (it stops after ``--trials`` failures).
One command at a time per output folder.

Parallel: with ``--workers K``, ``--cpus N`` or ``--address``, K Ray tasks (one
CPU each; default: one per CPU of Ray) each run trials of the shared journal
until the study has its trials; with ``--address`` the output folder must be on
a file system every node of the cluster sees. Ray is an optional extra:
``pip install -c constraints.txt -e '.[ray]'`` from a clone.

Outputs, rewritten atomically after each trial (:mod:`execgym.experiments.tune_report`):
``best.yaml`` (the config with the best trial's hyperparameters, ready for
``execgym run``), ``trials.csv``, ``summary.md``, ``study.png``, ``space.yaml``
(the space searched, in the form of a ``--space`` file), and under
``trials/trial_<n>/tensorboard/`` each trial's training and evaluation curves.

Default search spaces (``--space FILE`` replaces the algorithm's):
"""

from __future__ import annotations

import argparse
import fcntl
import math
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import optuna
import yaml
from optuna.trial import FrozenTrial, TrialState

from execgym.atomic import write_text_atomically
from execgym.experiments.config import ExperimentConfig, parse_config
from execgym.experiments import run as runner
from execgym.experiments.arguments import integer_at_least, parse_settings
from execgym.experiments.sweep import add_cluster_arguments, error_summary, start_ray
from execgym.experiments.trainers import check_trainer_config, make_trainer
from execgym.experiments.tune_report import best_so_far, write_report
from execgym.experiments.tune_space import (DEFAULT_SPACES, Space, agent_hyperparameters, describe_space,
                                            load_space, sample, space_to_dict)

__doc__ += "".join(f"\n  {algo}:\n" + "".join(f"    {line}\n" for line in describe_space(space))
                   for algo, space in DEFAULT_SPACES.items())

NAME = "tune"
HELP = "search an agent's hyperparameters with Optuna (TPE, median pruning) for the lowest regret vs the oracle"
STUDY_NAME = "execgym"
COUNTED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)
"""Trials that count toward ``--trials`` (running ones: they will finish as one of the other two or fail)."""
INTERRUPTED = "interrupted: the tuning process stopped while this trial ran (its hyperparameters run again)"
POLL_SECONDS = 2.0
PLOT_EVERY_SECONDS = 30.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``execgym tune``."""
    parser.add_argument("config", type=Path, help="YAML experiment config (see experiments/configs/)")
    parser.add_argument("--trials", type=integer_at_least(1), required=True,
                        help="trials of the study, counting those a previous run completed or pruned")
    parser.add_argument("--space", type=Path, help="YAML search space: name -> {low, high, log} or {choices: [...]} "
                                                   "(default: the algorithm's, listed above)")
    parser.add_argument("--seed", type=integer_at_least(0),
                        help="training seed of every trial and seed of the sampler (default: the config's first seed)")
    parser.add_argument("--startup-trials", type=integer_at_least(0), default=5,
                        help="random trials before TPE models the results, and complete trials before pruning "
                             "(default: 5)")
    runner.add_override_arguments(parser)
    parser.add_argument("--workers", type=integer_at_least(1),
                        help="trials run at once as Ray tasks (default without --cpus or --address: 1, no Ray)")
    add_cluster_arguments(parser)
    parser.add_argument("--output", type=Path, help="study folder (default: the config's output + '_tune')")


@dataclass(frozen=True)
class Tuning:
    """What a study searches and how: fixed for the life of its folder (``tune.yaml``)."""

    config: ExperimentConfig
    """The values not searched, the training budget and the evaluation episodes."""
    space: Space
    seed: int
    startup_trials: int
    folder: Path

    def to_dict(self) -> dict[str, Any]:
        """The settings a continued study must share (plain data, as tune.yaml holds them)."""
        config = {key: value for key, value in self.config.to_dict().items() if key not in ("seeds", "output")}
        data = {"config": config, "space": space_to_dict(self.space), "seed": self.seed,
                "startup_trials": self.startup_trials}
        return yaml.safe_load(yaml.safe_dump(data))

    def storage(self) -> optuna.storages.JournalStorage:
        """The study's storage: the journal file ``<folder>/study.journal``, which processes share."""
        return optuna.storages.JournalStorage(
            optuna.storages.journal.JournalFileBackend(str(self.folder / "study.journal")))

    def open_study(self) -> optuna.Study:
        """The study in the folder's journal, created if new."""
        pruner = optuna.pruners.MedianPruner(n_startup_trials=self.startup_trials,
                                             n_warmup_steps=self.config.training.total_steps // 3)
        return optuna.create_study(storage=self.storage(), study_name=STUDY_NAME, direction="minimize",
                                   sampler=self.sampler(0), pruner=pruner, load_if_exists=True)

    def sampler(self, number: int) -> optuna.samplers.TPESampler:
        """The TPE sampler that draws trial ``number``, seeded from the study's seed and ``number``."""
        seed = int(np.random.SeedSequence([self.seed, number]).generate_state(1)[0])
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=self.startup_trials)

    def trial_config(self, number: int, hyperparameters: dict[str, Any]) -> ExperimentConfig:
        """The config of trial ``number``: the searched ``hyperparameters`` over the config's, one seed."""
        data = self.config.to_dict()
        data["agent"]["hyperparameters"] = {**data["agent"]["hyperparameters"], **hyperparameters}
        data["seeds"], data["output"] = [self.seed], str(self.folder / "trials" / f"trial_{number:04d}")
        config = parse_config(data, source=f"trial {number}")
        check_trainer_config(config)
        return config


def run(args: argparse.Namespace) -> int:
    """Run (or continue) the study of the parsed options; prints a line per trial, then the summary."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    tuning = tuning_of(args)
    record(tuning)
    study = tuning.open_study()
    fail_interrupted(study, tuning.storage())
    progress = StudyProgress(tuning, study)
    progress.update()
    first = len(study.trials)
    if args.workers is None and args.cpus is None and args.address is None:
        run_trials(tuning, args.trials, first, on_finished=progress.update)
        errors = []
    else:
        errors = run_on_ray(tuning, args.trials, first, progress, args.workers, args.address, args.cpus)
    fail_interrupted(study, tuning.storage())
    progress.update(force=True)
    print((tuning.folder / "summary.md").read_text())
    print(f"results in {tuning.folder}/ (best config: {tuning.folder / 'best.yaml'})")
    for error in errors:
        print(f"execgym tune: a Ray worker failed: {error}", file=sys.stderr)
    return 0 if best_so_far(study.trials) is not None and not errors else 1


def tuning_of(args: argparse.Namespace) -> Tuning:
    """The study's settings from the options: the config (with its budget overrides), the space, the seed."""
    config = runner.effective_config(args.config, parse_settings(args.settings), args.total_steps)
    check_trainer_config(config)
    algo = config.agent.algo
    space = load_space(args.space, algo) if args.space else DEFAULT_SPACES[algo]
    folder = args.output or config.output.with_name(config.output.name + "_tune")
    return Tuning(config, space, config.seeds[0] if args.seed is None else args.seed, args.startup_trials, folder)


def record(tuning: Tuning) -> None:
    """Write tune.yaml and space.yaml in a new study folder; in an existing one, check the settings match."""
    folder, stored = tuning.folder, tuning.folder / "tune.yaml"
    settings = tuning.to_dict()
    if stored.exists():
        previous = yaml.safe_load(stored.read_text())
        differing = sorted(key for key in settings.keys() | previous.keys() if settings.get(key) != previous.get(key))
        if differing:
            raise ValueError(f"{folder} holds the study of another setup (its {', '.join(differing)} differ: see "
                             f"{stored}); continue it with the same config, space, seed and startup trials, "
                             "or choose another --output")
        return
    if folder.exists() and any(folder.iterdir()):
        raise ValueError(f"output folder {folder} is not empty and holds no study (no tune.yaml): choose another "
                         "--output")
    folder.mkdir(parents=True, exist_ok=True)
    write_text_atomically(folder / "space.yaml", yaml.safe_dump(space_to_dict(tuning.space), sort_keys=False))
    write_text_atomically(stored, yaml.safe_dump(settings, sort_keys=False))


def fail_interrupted(study: optuna.Study, storage: optuna.storages.BaseStorage) -> None:
    """Mark the study's RUNNING trials (none runs: their process stopped) FAIL and enqueue their
    hyperparameters again; ``storage`` is the study's."""
    study_id = storage.get_study_id_from_name(study.study_name)
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        storage.set_trial_user_attr(storage.get_trial_id_from_study_id_trial_number(study_id, trial.number),
                                    "error", INTERRUPTED)
        study.tell(trial.number, state=TrialState.FAIL)
        study.enqueue_trial(trial.params, user_attrs={"rerun_of": trial.number})


def run_trials(tuning: Tuning, trials: int, first: int,
               on_finished: Callable[[], None] | None = None) -> None:
    """Run trials of the study one after another until ``trials`` count (:data:`COMPLETE, PRUNED or running
    <COUNTED>`, here or in another process), or ``trials`` have failed from trial number ``first`` on;
    ``on_finished()`` is called after each."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = tuning.open_study()
    while (trial := next_trial(study, tuning, trials, first)) is not None:
        run_trial(study, trial, tuning)
        if on_finished is not None:
            on_finished()


def next_trial(study: optuna.Study, tuning: Tuning, trials: int, first: int) -> optuna.Trial | None:
    """A new trial of the study, or None when the study has its trials (or too many failed). The check and the
    trial's creation hold a lock on the folder, so workers sharing the study never start one trial too many."""
    with _locked(tuning.folder / "study.lock"):
        existing = study.get_trials(deepcopy=False)
        counted = sum(trial.state in COUNTED for trial in existing)
        failed = sum(trial.state == TrialState.FAIL and trial.number >= first for trial in existing)
        if counted >= trials or failed >= trials:
            return None
        study.sampler = tuning.sampler(len(existing))
        return study.ask()


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` (released when its process ends, however it ends)."""
    with open(path, "a") as file:
        fcntl.flock(file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(file, fcntl.LOCK_UN)


def run_trial(study: optuna.Study, trial: optuna.Trial, tuning: Tuning) -> None:
    """Train the trial's hyperparameters and tell the study its final regret %, or that it was pruned, or that
    it failed (with its error in the trial's user attribute ``error``)."""
    started = time.perf_counter()
    state, value = TrialState.FAIL, None
    try:
        hyperparameters = agent_hyperparameters(sample(tuning.space, trial), tuning.config)
        trial.set_user_attr("hyperparameters", hyperparameters)
        config = tuning.trial_config(trial.number, hyperparameters)
        curve = train(config, tuning.seed, config.output, pruning_hook(trial, config))
        state, value = TrialState.COMPLETE, curve[-1]["regret_pct"]
        trial.set_user_attr("regret_pct_half_width", curve[-1]["regret_pct_half_width"])
    except optuna.TrialPruned:
        state = TrialState.PRUNED
    except Exception as error:
        trial.set_user_attr("error", f"{type(error).__name__}: {error}")
    trial.set_user_attr("wall_seconds", time.perf_counter() - started)
    study.tell(trial, value, state=state)


def nominal_step(steps: int, every: int, total: int) -> int:
    """The step an evaluation at ``steps`` reports: ``total`` once training is done, else the last multiple of
    ``every`` crossed (rollouts of different lengths cross it a few steps apart; pruners compare equal steps)."""
    return total if steps >= total else steps // every * every


def pruning_hook(trial: optuna.Trial, config: ExperimentConfig) -> Callable[[dict[str, Any]], None]:
    """A function of each evaluation point: reports its regret % to the trial and raises ``TrialPruned`` if the
    pruner says so (never at the final evaluation: a trial trained to the end is complete)."""
    every, total = config.training.eval_every, config.training.total_steps

    def report(point: dict[str, Any]) -> None:
        step = nominal_step(point["steps"], every, total)
        trial.report(point["regret_pct"], step)
        trial.set_user_attr("steps", point["steps"])
        if step < total and trial.should_prune():
            raise optuna.TrialPruned(f"regret {point['regret_pct']:.3f} % at {point['steps']:,} steps")

    return report


def train(config: ExperimentConfig, seed: int, folder: Path,
          on_evaluation: Callable[[dict[str, Any]], None]) -> list[dict[str, Any]]:
    """Train ``seed`` of ``config`` as ``execgym run`` does (:func:`execgym.experiments.run.train`: the same
    trainer, milestones and evaluations, so the same curve), logging to ``folder/tensorboard`` and keeping no
    checkpoint; ``on_evaluation(point)`` sees each point of the learning curve, which is returned."""
    log_dir = folder / "tensorboard"
    state: dict[str, Any] = {"steps": 0, "curve": [], "wall_seconds": 0.0}
    runner.train(config, seed, make_trainer(config, seed, log_dir), state, log_dir, checkpoint_root=None, fresh=True,
              on_evaluation=on_evaluation)
    return state["curve"]


def run_on_ray(tuning: Tuning, trials: int, first: int, progress: StudyProgress, workers: int | None,
               address: str | None, cpus: int | None) -> list[str]:
    """:func:`run_trials` in ``workers`` Ray tasks (default: one per CPU of Ray, at most one per trial left),
    reporting progress while they run; returns the errors of tasks that failed."""
    left = trials - sum(trial.state in COUNTED for trial in progress.study.get_trials(deepcopy=False))
    if left <= 0:
        return []
    ray, started_here = start_ray(address, cpus, command=NAME)
    errors = []
    try:
        count = min(left, workers or max(1, int(ray.cluster_resources().get("CPU", 1))))
        task = ray.remote(num_cpus=1, max_retries=0)(run_trials)
        absolute = replace(tuning, folder=tuning.folder.resolve())          # workers may start elsewhere
        pending = [task.remote(absolute, trials, first) for _ in range(count)]
        while pending:
            ready, pending = ray.wait(pending, num_returns=1, timeout=POLL_SECONDS)
            for reference in ready:
                try:
                    ray.get(reference)
                except ray.exceptions.RayError as error:
                    errors.append(error_summary(error))
            progress.update()
    finally:
        if started_here:
            ray.shutdown()
    return errors


class StudyProgress:
    """A line on the terminal per trial finished, and the study's outputs rewritten after each (study.png at
    most every :data:`PLOT_EVERY_SECONDS`: drawing it takes about a second)."""

    def __init__(self, tuning: Tuning, study: optuna.Study) -> None:
        self.tuning, self.study = tuning, study
        self.plotted = -math.inf
        self.seen = {trial.number for trial in study.get_trials(deepcopy=False) if trial.state.is_finished()}
        if self.seen:
            states = [trial.state for trial in study.get_trials(deepcopy=False)]
            print(f"continuing the study in {tuning.folder}: " + ", ".join(
                f"{states.count(state)} {state.name.lower()}" for state in TrialState if state in states), flush=True)

    def update(self, force: bool = False) -> None:
        """Print the trials finished since the last call; rewrite the outputs if any (all of them if ``force``)."""
        trials = self.study.get_trials(deepcopy=False)
        new = sorted((trial for trial in trials if trial.state.is_finished() and trial.number not in self.seen),
                     key=lambda trial: trial.datetime_complete)
        for trial in new:
            self.seen.add(trial.number)
            print(trial_line(trial, best_so_far([trial for trial in trials if trial.number in self.seen])),
                  flush=True)
        if new or force:
            plot = force or time.monotonic() - self.plotted >= PLOT_EVERY_SECONDS
            write_report(self.tuning.folder, self.tuning.config, self.tuning.seed, trials, plot)
            if plot:
                self.plotted = time.monotonic()


def trial_line(trial: FrozenTrial, best: FrozenTrial | None) -> str:
    """``trial 3 COMPLETE regret 1.234 % at 200,000 steps in 41 s | best 0.987 % (trial 1)``."""
    steps = trial.user_attrs.get("steps")
    outcome = {TrialState.COMPLETE: f"regret {trial.value:.3f} %",
               TrialState.PRUNED: f"regret {trial.value if trial.value is not None else float('nan'):.3f} % "
                                  "(pruned)",
               TrialState.FAIL: f"error {trial.user_attrs.get('error', 'unknown')}"}[trial.state]
    budget = f" at {steps:,} steps" if steps is not None and trial.state != TrialState.FAIL else ""
    wall = trial.user_attrs.get("wall_seconds")
    timing = f" in {wall:.0f} s" if wall is not None else ""
    best_text = f"best {best.value:.3f} % (trial {best.number})" if best is not None else "no trial complete yet"
    return f"trial {trial.number} {trial.state.name} {outcome}{budget}{timing} | {best_text}"
