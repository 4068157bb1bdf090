"""One training interface over the agents, so the runner treats PPO, TRPO, MaskablePPO and Q-learning alike.

A trainer learns in one call up to a number of agent-steps, calling back at
every milestone (every ``eval_every`` steps) with the steps done; the runner
evaluates and checkpoints there. ``save`` writes everything needed to continue,
and a trainer built with ``checkpoint=`` that folder continues from it. Training env seeds lie at 2⁴⁰ and above
(:data:`execgym.noise.TRAINING_SEEDS_FROM`), disjoint from the evaluation seeds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Protocol

import torch
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import configure
from stable_baselines3.common.utils import set_random_seed
from stable_baselines3.common.vec_env import VecMonitor

from execgym.agents.sb3 import build_model, load_model
from execgym.noise import TRAINING_SEEDS_FROM
from execgym.policy import Oracle, Policy
from execgym.registry import problem
from execgym.sb3 import NativeVecEnv, as_policy
from execgym.experiments.config import ExperimentConfig

Milestone = Callable[[int], None]
Progress = Callable[[int], None]


def training_seed(seed: int, steps: int) -> int:
    """The first env seed of run ``seed`` (re)starting at ``steps``; its slots use the following seeds."""
    return TRAINING_SEEDS_FROM + seed * 2**32 + steps


class Trainer(Protocol):
    steps: int
    references: dict[str, Oracle]
    """Optima to score against besides the env's oracle (e.g. a discretised problem's), by name."""

    def learn(self, total_steps: int, every: int, on_milestone: Milestone, on_progress: Progress) -> None: ...

    def policy(self) -> Policy: ...

    def save(self, folder: Path) -> None: ...


class _MilestoneCallback(BaseCallback):
    """Calls ``on_milestone`` once a rollout's training is done and the step count has crossed a milestone."""

    def __init__(self, every: int, on_milestone: Milestone, on_progress: Progress) -> None:
        super().__init__()
        self.every, self.on_milestone, self.on_progress = every, on_milestone, on_progress
        self.next_milestone = 0

    def _on_training_start(self) -> None:
        self.next_milestone = (self.num_timesteps // self.every + 1) * self.every

    def _on_rollout_start(self) -> None:
        if self.num_timesteps >= self.next_milestone:
            self.on_milestone(self.num_timesteps)
            self.next_milestone = (self.num_timesteps // self.every + 1) * self.every

    def _on_step(self) -> bool:
        self.on_progress(self.num_timesteps)
        return True


class SB3Trainer:
    """PPO, TRPO or MaskablePPO on the native vector env through :class:`execgym.sb3.NativeVecEnv`.

    Its TensorBoard scalars (episode return, losses, ...) go to ``log_dir``.
    A milestone fires after the training step that crossed it, so a checkpoint
    holds the model trained on every step counted.
    """

    def __init__(self, config: ExperimentConfig, seed: int, log_dir: Path, checkpoint: Path | None = None) -> None:
        self.config, self.seed = config, seed
        self.references: dict[str, Oracle] = {}
        # The policies are small MLPs: torch's intra-op threads only add synchronisation, and on a busy
        # machine they stall (MaskablePPO on BasketSequence ran 16x slower with 2 threads on 2 shared cores).
        torch.set_num_threads(1)
        spec = problem(config.env.id)
        vector_env = spec.vector_env_class(num_envs=config.agent.num_envs, params=config.env_params())
        self.env = VecMonitor(NativeVecEnv(vector_env))
        if checkpoint is None:
            self.model = build_model(config.agent.algo, self.env, config.agent.hyperparameters, seed)
        else:
            self.model = load_model(config.agent.algo, checkpoint / "model.zip", env=self.env)
            set_random_seed(training_seed(seed, self.model.num_timesteps) % 2**32)
        self.model.set_logger(configure(str(log_dir), ["tensorboard"]))
        if checkpoint is not None:
            self._restore_pending_log(checkpoint)
        self.env.seed(training_seed(seed, self.model.num_timesteps))

    @property
    def steps(self) -> int:
        return self.model.num_timesteps

    def learn(self, total_steps: int, every: int, on_milestone: Milestone, on_progress: Progress) -> None:
        remaining = total_steps - self.steps
        if remaining > 0:
            self.model.learn(total_timesteps=remaining, reset_num_timesteps=False,
                             callback=_MilestoneCallback(every, on_milestone, on_progress))

    def policy(self) -> Policy:
        return sb3_policy(self.config, self.model)

    def save(self, folder: Path) -> None:
        """The model, and the log records SB3 has not written yet (the last training step's losses: SB3
        writes them with the next rollout's statistics, which a resumed run must still do)."""
        self.model.save(folder / "model.zip")
        logger = self.model.logger
        pending = [[key, float(value), list(logger.name_to_excluded.get(key, ()))]
                   for key, value in logger.name_to_value.items()]
        (folder / "pending_log.json").write_text(json.dumps(pending))

    def _restore_pending_log(self, checkpoint: Path) -> None:
        for key, value, excluded in json.loads((checkpoint / "pending_log.json").read_text()):
            self.model.logger.record(key, value, exclude=tuple(excluded) or None)


def make_trainer(config: ExperimentConfig, seed: int, log_dir: Path, checkpoint: Path | None = None) -> Trainer:
    """The trainer of ``config.agent.algo``, fresh or restored from ``checkpoint``."""
    if config.agent.algo == "qlearning":
        from execgym.experiments.qlearning_trainer import QLearningTrainer

        return QLearningTrainer(config, seed, log_dir, checkpoint)
    return SB3Trainer(config, seed, log_dir, checkpoint)


def check_trainer_config(config: ExperimentConfig) -> None:
    """Raise ``ValueError`` now for hyperparameters the agent would reject later."""
    if config.agent.algo == "qlearning":
        from execgym.experiments.qlearning_trainer import qlearning_config

        qlearning_config(config)
    else:
        from execgym.agents.sb3 import model_kwargs

        model_kwargs(config.agent.algo, config.agent.hyperparameters)


def load_policy(config: ExperimentConfig, checkpoint: Path) -> Policy:
    """The policy saved in ``checkpoint`` by a run of ``config``, acting in the config's env."""
    if config.agent.algo == "qlearning":
        from execgym.experiments.qlearning_trainer import load_qlearning_policy

        return load_qlearning_policy(config, checkpoint)
    return sb3_policy(config, load_model(config.agent.algo, checkpoint / "model.zip"))


def sb3_policy(config: ExperimentConfig, model) -> Policy:
    """``model`` as a policy of the config's env; a maskable one acts with the masks of each observation
    (:func:`execgym.sb3.as_policy`)."""
    return as_policy(model, config.env.id, config.env_params())
