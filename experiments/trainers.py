"""One training interface over the agents, so the runner treats PPO, TRPO, MaskablePPO and Q-learning alike.

A trainer learns in one call up to a number of agent-steps, calling back at
every milestone (every ``eval_every`` steps) with the steps done; the runner
evaluates and checkpoints there. ``save`` writes everything needed to continue,
and a trainer built with ``checkpoint=`` that folder continues from it. Training env seeds lie at 2⁴⁰ and above
(:data:`execgym.noise.TRAINING_SEEDS_FROM`), disjoint from the evaluation seeds.
"""

from __future__ import annotations

import inspect
import json
import math
from functools import partial
from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import configure
from stable_baselines3.common.preprocessing import get_action_dim, get_obs_shape
from stable_baselines3.common.utils import set_random_seed
from stable_baselines3.common.vec_env import VecMonitor

from execgym.agents.sb3 import ALGORITHMS, MASKABLE, build_model, load_model, model_kwargs
from execgym.noise import TRAINING_SEEDS_FROM, TRAINING_SEEDS_PER_RUN
from execgym.policy import Oracle, Policy
from execgym.registry import problem
from execgym.distributions import market_set
from execgym.scoring import MAX_ORACLE_SECONDS, make_oracles
from execgym.sb3 import NativeVecEnv, as_policy
from execgym.wrappers import ExpectedVectorRewards
from execgym.experiments.config import ConfigError, ExperimentConfig
from execgym.experiments.files import json_text, read_file
from execgym.experiments.machine import available_memory

Milestone = Callable[[int], None]
ProgressCallback = Callable[[int], None]


def training_seed(seed: int, steps: int) -> int:
    """The first env seed of run ``seed`` (re)starting at ``steps``; its slots use the following seeds."""
    return TRAINING_SEEDS_FROM + seed * TRAINING_SEEDS_PER_RUN + steps


class Trainer(Protocol):
    steps: int
    references: dict[str, Oracle]
    """Optima to score against besides the env's oracle (e.g. a discretised problem's), by name."""

    def learn(self, total_steps: int, every: int, on_milestone: Milestone, on_progress: ProgressCallback) -> None: ...

    def policy(self) -> Policy: ...

    def save(self, folder: Path) -> None: ...


class _MilestoneCallback(BaseCallback):
    """Calls ``on_milestone`` once a rollout's training is done and the step count has crossed a milestone."""

    def __init__(self, every: int, on_milestone: Milestone, on_progress: ProgressCallback) -> None:
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
        self.env = sb3_env(config)
        pending: list[tuple[str, float, tuple[str, ...]]] = []
        if checkpoint is None:
            self.model = build_model(config.agent.algo, self.env, config.agent.hyperparameters, seed)
        else:
            self.model = read_file(checkpoint / "model.zip",
                                   lambda path: load_model(config.agent.algo, path, env=self.env))
            pending = read_file(checkpoint / "pending_log.json", _read_pending_log)
            set_random_seed(training_seed(seed, self.model.num_timesteps) % 2**32)
        self.model.set_logger(configure(str(log_dir), ["tensorboard"]))
        for key, value, excluded in pending:
            self.model.logger.record(key, value, exclude=excluded or None)
        self.env.seed(training_seed(seed, self.model.num_timesteps))

    @property
    def steps(self) -> int:
        return self.model.num_timesteps

    def learn(self, total_steps: int, every: int, on_milestone: Milestone, on_progress: ProgressCallback) -> None:
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
        pending = [[key, _finite_or_text(float(value)), list(logger.name_to_excluded.get(key, ()))]
                   for key, value in logger.name_to_value.items()]
        (folder / "pending_log.json").write_text(json_text(pending))


def _finite_or_text(value: float) -> float | str:
    """``value``, or its text ("nan", "inf") where strict JSON has no number for it (``float`` reads it back)."""
    return value if math.isfinite(value) else str(value)


def _read_pending_log(path: Path) -> list[tuple[str, float, tuple[str, ...]]]:
    """The (key, value, excluded formats) records of a checkpoint's ``pending_log.json``."""
    return [(str(key), float(value), tuple(map(str, excluded))) for key, value, excluded in json.loads(path.read_text())]


def sb3_env(config: ExperimentConfig) -> VecMonitor:
    """The config's native vector env (``agent.num_envs`` episodes) as a monitored SB3 ``VecEnv``, its rewards the
    steps' expected rewards with ``agent.expected_rewards`` (the monitored returns too)."""
    native = problem(config.env.id).vector_env_class(num_envs=config.agent.num_envs, **config.env_kwargs())
    return VecMonitor(NativeVecEnv(ExpectedVectorRewards(native) if config.agent.expected_rewards else native))


def make_trainer(config: ExperimentConfig, seed: int, log_dir: Path, checkpoint: Path | None = None) -> Trainer:
    """The trainer of ``config.agent.algo``, fresh or restored from ``checkpoint``."""
    if config.agent.algo == "qlearning":
        from execgym.experiments.qlearning_trainer import QLearningTrainer

        return QLearningTrainer(config, seed, log_dir, checkpoint)
    return SB3Trainer(config, seed, log_dir, checkpoint)


def check_trainer_config(config: ExperimentConfig) -> None:
    """Raise :class:`ConfigError` (naming the config's file and key) now for what the trainer would reject
    later: hyperparameters unknown to the agent or of the wrong type, memory beyond what is available, for
    SB3 any setting the algorithm's constructor refuses (a model is built on the config's vector env; it costs
    milliseconds), and an env whose oracle, which every evaluation scores against, cannot be built
    (:func:`check_oracle`)."""
    try:
        check_oracle(config)
        if config.agent.algo == "qlearning":
            from execgym.experiments.qlearning_trainer import check_qlearning_config

            check_qlearning_config(config)
        else:
            _check_sb3_config(config)
    except ConfigError:
        raise
    except ValueError as error:
        raise ConfigError(f"{config.source}: {error}") from None


def check_oracle(config: ExperimentConfig) -> None:
    """ValueError unless the oracle of the config's env builds: its estimated build time
    (:attr:`execgym.registry.Problem.oracle_cost`) is within :data:`execgym.scoring.MAX_ORACLE_SECONDS`, and
    it accepts the parameters (it is then built once); with ``env.markets``, the oracles of every market of the
    evaluation sets."""
    if config.env.markets is not None:
        for markets in config.market_sets():
            chosen = market_set(config.env.id, markets, **config.env.params) if isinstance(markets, str) else markets
            try:
                make_oracles(config.env.id, list(chosen))
            except ValueError as error:
                raise ValueError(f"env.markets: every evaluation scores the agent against the oracle of every "
                                 f"market of {chosen.name}, and one refuses: {error}") from None
        return
    spec, params = problem(config.env.id), config.env_params()
    cost = spec.oracle_cost(params)
    if cost.refusal is not None or cost.seconds > MAX_ORACLE_SECONDS:
        raise ValueError(f"env: every evaluation scores the agent against the oracle of {config.env.id}, and it "
                         f"cannot be built for these parameters: {cost} (at most {MAX_ORACLE_SECONDS:g} s)")
    try:
        spec.oracle_factory(params)
    except ValueError as error:
        raise ValueError(f"env: every evaluation scores the agent against the oracle of {config.env.id}, which "
                         f"refuses these parameters: {error}") from None


def _check_sb3_config(config: ExperimentConfig) -> None:
    algo, hyperparameters = config.agent.algo, config.agent.hyperparameters
    try:
        kwargs = model_kwargs(algo, hyperparameters)
    except ValueError as error:
        raise ValueError(f"agent.hyperparameters: {error}") from None
    one = problem(config.env.id).vector_env_class(num_envs=1, **config.env_kwargs())
    num_envs = config.agent.num_envs
    check_memory(config, rollout_buffer_bytes(algo, kwargs, num_envs, one.single_observation_space,
                                              one.single_action_space),
                 f"the rollout buffer of agent.num_envs {num_envs:,} x n_steps {_n_steps(algo, kwargs):,}",
                 "agent.num_envs or agent.hyperparameters.n_steps")
    try:
        build_model(algo, sb3_env(config), hyperparameters, config.seeds[0])
    except Exception as error:  # noqa: BLE001 - whatever the constructor refuses is a setting of the config
        raise ValueError(f"agent.hyperparameters: {algo} refuses them ({type(error).__name__}: {error})") from None


def _n_steps(algo: str, kwargs: dict[str, Any]) -> int:
    """The rollout length of ``algo`` with constructor arguments ``kwargs`` (its own default if not set)."""
    return kwargs.get("n_steps", inspect.signature(ALGORITHMS[algo].__init__).parameters["n_steps"].default)


def rollout_buffer_bytes(algo: str, kwargs: dict[str, Any], num_envs: int, observation_space: spaces.Space,
                         action_space: spaces.Space) -> int:
    """Bytes of the rollout buffer ``algo`` allocates with ``kwargs`` on ``num_envs`` envs: n_steps × num_envs
    rows of an observation and an action (in their spaces' dtypes), six float32 scalars (reward, return,
    episode start, value, log-probability, advantage) and, for a maskable algorithm, float32 action masks."""
    row = (int(np.prod(get_obs_shape(observation_space))) * np.dtype(observation_space.dtype).itemsize
           + get_action_dim(action_space) * np.dtype(action_space.dtype).itemsize + 6 * 4)
    if algo in MASKABLE:
        row += 4 * _mask_size(action_space)
    return _n_steps(algo, kwargs) * num_envs * row


def _mask_size(action_space: spaces.Space) -> int:
    """Entries of an action mask of ``action_space`` (one per choice of each discrete component)."""
    if isinstance(action_space, spaces.Discrete):
        return int(action_space.n)
    if isinstance(action_space, spaces.MultiBinary):
        return 2 * int(np.prod(action_space.n))
    return int(np.sum(action_space.nvec))


def check_memory(config: ExperimentConfig, needed: int, what: str, lower: str) -> None:
    """Raise :class:`ConfigError` if ``what`` needs more than the memory available (``needed`` bytes);
    the message says which keys to ``lower``."""
    available = available_memory()
    if available is not None and needed > available:
        raise ConfigError(f"{config.source}: {what} needs about {needed / 2**30:,.1f} GiB, more than the "
                          f"{available / 2**30:,.1f} GiB of memory available: lower {lower}")


def load_policy(config: ExperimentConfig, checkpoint: Path) -> Policy:
    """The policy saved in ``checkpoint`` by a run of ``config``, acting in the config's env."""
    if config.agent.algo == "qlearning":
        from execgym.experiments.qlearning_trainer import load_qlearning_policy

        return load_qlearning_policy(config, checkpoint)
    return sb3_policy(config, read_file(checkpoint / "model.zip", partial(load_model, config.agent.algo)))


def sb3_policy(config: ExperimentConfig, model) -> Policy:
    """``model`` as a policy of the config's env; a maskable one acts with the masks of each observation
    (:func:`execgym.sb3.as_policy`)."""
    return as_policy(model, config.env.id, config.env_params())
