"""Tabular Q-learning (:mod:`agents.qlearning`) on OptimalExec-v0 discretised to a lot grid.

The agent learns on :class:`execgym.wrappers.DiscreteOptimalExecVectorEnv`
(grid states, lot actions, the env's own noisy rewards) and is scored in the
continuous env against two references: the continuous oracle (what
discretising costs) and the exact optimum of the grid problem from backward
induction (``references["discretised_optimum"]``, its own ceiling).

A checkpoint holds the Q-table, the visit counts and the last round done;
training resumed from it reproduces the uninterrupted run bit for bit.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from agents.qlearning import QLearning, QLearningConfig, RoundResult, train
from execgym.policy import Oracle, Policy
from execgym.problems.optimal_exec.env import OptimalExecVectorEnv
from execgym.wrappers import DiscreteOptimalExecVectorEnv, LotGrid
from experiments.config import ExperimentConfig
from experiments.tensorboard_log import ScalarLog

DEFAULT_LOTS = 20


def qlearning_config(config: ExperimentConfig) -> QLearningConfig:
    """The agent's config: the experiment's hyperparameters, with ``num_envs`` from ``agent.num_envs``."""
    if config.env.id != "OptimalExec-v0":
        raise ValueError(f"qlearning runs on OptimalExec-v0 through its lot grid; got env {config.env.id!r}")
    hyperparameters = dict(config.agent.hyperparameters)
    if "num_envs" in hyperparameters:
        raise ValueError("set agent.num_envs, not agent.hyperparameters.num_envs")
    valid = set(QLearningConfig.__dataclass_fields__) - {"num_envs"}
    unknown = sorted(set(hyperparameters) - valid)
    if unknown:
        raise ValueError(f"unknown qlearning hyperparameter(s) {unknown}; valid: {sorted(valid)}")
    lot_grid(config)
    return QLearningConfig(**hyperparameters, num_envs=config.agent.num_envs)


def lot_grid(config: ExperimentConfig) -> LotGrid:
    """The grid of ``agent.discretisation`` (``lots``, default 20; ``max_trade_lots``, default ``lots``)."""
    options = {"lots": DEFAULT_LOTS, **config.agent.discretisation}
    unknown = sorted(set(options) - {"lots", "max_trade_lots"})
    if unknown:
        raise ValueError(f"unknown agent.discretisation key(s) {unknown}; valid: ['lots', 'max_trade_lots']")
    return LotGrid(config.env_params(), **options)


def _load_agent(checkpoint: Path) -> tuple[QLearning, int]:
    with np.load(checkpoint / "qtable.npz") as saved:
        agent = QLearning.from_state_dict({key: saved[key] for key in saved.files})
    return agent, json.loads((checkpoint / "round.json").read_text())["round"]


def load_qlearning_policy(config: ExperimentConfig, checkpoint: Path) -> Policy:
    """The greedy policy of the Q-table in ``checkpoint``, acting in the continuous env."""
    agent, _ = _load_agent(checkpoint)
    return lot_grid(config).continuous_policy(agent.greedy_policy())


class QLearningTrainer:
    """Q-learning on the lot grid; logs each round's mean training return and ε to TensorBoard."""

    def __init__(self, config: ExperimentConfig, seed: int, log_dir: Path, checkpoint: Path | None = None) -> None:
        self.config, self.seed = config, seed
        self.grid = lot_grid(config)
        if checkpoint is None:
            self.agent = QLearning(self.grid.num_states, self.grid.num_actions, qlearning_config(config))
            self.last_round = -1
        else:
            self.agent, self.last_round = _load_agent(checkpoint)
        self.references: dict[str, Oracle] = {"discretised_optimum": self.grid.oracle()}
        self.log_dir = log_dir

    @property
    def steps(self) -> int:
        return self.agent.steps_done

    def _make_env(self, num_envs: int) -> DiscreteOptimalExecVectorEnv:
        env = OptimalExecVectorEnv(num_envs=num_envs, params=self.grid.params)
        return DiscreteOptimalExecVectorEnv(env, self.grid.lots, self.grid.max_trade_lots)

    def learn(self, total_steps, every, on_milestone, on_progress) -> None:
        log = ScalarLog(self.log_dir)
        next_milestone = (self.steps // every + 1) * every
        total = total_steps

        def after_round(agent: QLearning, round_: int, steps: int, result: RoundResult) -> None:
            nonlocal next_milestone
            self.last_round = round_
            log.add({"train/episode_return": result.mean_return,
                     "train/epsilon": agent.config.epsilon(steps - result.steps, total)}, steps)
            on_progress(steps)
            if steps >= next_milestone or steps >= total:
                log.flush()
                on_milestone(steps)
                next_milestone = (steps // every + 1) * every

        try:
            if self.steps < total_steps:
                train(self.agent, self._make_env, total_steps, self.seed, start_round=self.last_round + 1,
                      callback=after_round)
        finally:
            log.close()

    def policy(self) -> Policy:
        return self.grid.continuous_policy(self.agent.greedy_policy())

    def save(self, folder: Path) -> None:
        np.savez(folder / "qtable.npz", **self.agent.state_dict())
        (folder / "round.json").write_text(json.dumps({"round": self.last_round}))
