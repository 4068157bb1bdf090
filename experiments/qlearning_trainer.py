"""Tabular Q-learning (:mod:`execgym.agents.qlearning`) on any env with a tabular view (:mod:`execgym.tabular`).

The view is picked by the config's env id (its :attr:`~execgym.registry.Problem.tabular_view`, through
:func:`execgym.tabular.tabular_view`):
OptimalExec-v0 on a lot grid, two-asset PortfolioExec-v0 on a lot grid,
BasketSequence-v0 as a table (its trades masked once done); its options come
from ``agent.discretisation``. The agent learns on the view's discrete vector
env (grid states, grid actions, the env's own noisy rewards) and is scored in
the real env against two references: the env's oracle (what discretising
costs) and the exact optimum of the view's finite problem
(``references["discretised_optimum"]``, its own ceiling; for BasketSequence-v0
the two coincide).

A checkpoint holds the Q-table, the visit counts (and the action mask, if the
view has one) and the last round done; training resumed from it reproduces
the uninterrupted run bit for bit.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from gymnasium.vector import VectorEnv

from execgym.agents.qlearning import QLearning, QLearningConfig, RoundResult, train
from execgym import tabular
from execgym.tabular import TabularView
from execgym.tabular.markets import MarketsView
from execgym.policy import Oracle, Policy
from execgym.experiments.config import ExperimentConfig
from execgym.experiments.files import read_file, read_json
from execgym.experiments.tensorboard_log import ScalarLog

HYPERPARAMETERS = frozenset(QLearningConfig.__dataclass_fields__) - {"num_envs"}
"""The fields of :class:`QLearningConfig` a config sets in ``agent.hyperparameters`` (``num_envs`` is ``agent.num_envs``)."""


def qlearning_config(config: ExperimentConfig) -> QLearningConfig:
    """The agent's config: the experiment's hyperparameters, with ``num_envs`` from ``agent.num_envs``
    (and the env's tabular view checked)."""
    tabular_view(config)
    hyperparameters = dict(config.agent.hyperparameters)
    if "num_envs" in hyperparameters:
        raise ValueError("set agent.num_envs, not agent.hyperparameters.num_envs")
    unknown = sorted(set(hyperparameters) - HYPERPARAMETERS, key=str)
    if unknown:
        raise ValueError(f"agent.hyperparameters: unknown qlearning hyperparameter(s) {unknown}; "
                         f"valid: {sorted(HYPERPARAMETERS)}")
    try:
        return QLearningConfig(**hyperparameters, num_envs=config.agent.num_envs)
    except ValueError as error:
        raise ValueError(f"agent.hyperparameters: {error}") from None


TABLE_BYTES_PER_ENTRY = 8 + 8 + 1
"""Bytes per (state, action) of a Q-learning agent: its Q-value (float64), visit count (int64) and mask."""


def check_qlearning_config(config: ExperimentConfig) -> None:
    """Raise ``ValueError`` (or ``ConfigError`` for memory) now for what :class:`QLearningTrainer` would
    reject later: the tabular view's options, the hyperparameters, and a table larger than the memory
    available."""
    from execgym.experiments.trainers import check_memory

    qlearning_config(config)
    grid = tabular_view(config)
    check_memory(config, grid.num_states * grid.num_actions * TABLE_BYTES_PER_ENTRY,
                 f"the Q-table of {grid.num_states:,} states x {grid.num_actions:,} actions",
                 "the grid of agent.discretisation")


def tabular_view(config: ExperimentConfig) -> TabularView | MarketsView:
    """The tabular view of the config's env (:func:`execgym.tabular.tabular_view`), with the options of
    ``agent.discretisation`` over the view's defaults (OptimalExec-v0 and PortfolioExec-v0: ``lots``,
    ``max_trade_lots``; BasketSequence-v0: none); with ``env.markets``, the view of its markets side by side, the
    market's index part of the state (:class:`~execgym.tabular.markets.MarketsView`)."""
    params = config.env_params()
    try:
        if config.env.markets is not None:
            spec = tabular.view_spec(config.env.id)
            return MarketsView(config.env.id, config.market_sets()[0], spec.view_class,
                               **tabular.view_options(config.env.id, **config.agent.discretisation))
        return tabular.tabular_view(config.env.id, params, **config.agent.discretisation)
    except ValueError as error:
        raise ValueError(f"qlearning with agent.discretisation {config.agent.discretisation}: {error}") from None


def _read_agent(path: Path) -> QLearning:
    with np.load(path) as saved:
        return QLearning.from_state_dict({key: saved[key] for key in saved.files})


def _load_agent(checkpoint: Path) -> tuple[QLearning, int]:
    """The agent and the last round done saved in ``checkpoint`` (:class:`CorruptFile` naming a file that
    does not read back)."""
    return read_file(checkpoint / "qtable.npz", _read_agent), read_json(checkpoint / "round.json", ["round"])["round"]


def load_qlearning_policy(config: ExperimentConfig, checkpoint: Path) -> Policy:
    """The greedy policy of the Q-table in ``checkpoint``, acting in the config's (real) env."""
    agent, _ = _load_agent(checkpoint)
    return tabular_view(config).env_policy(agent.greedy_policy())


class QLearningTrainer:
    """Q-learning on the env's tabular view; logs each round's mean training return and ε to TensorBoard."""

    def __init__(self, config: ExperimentConfig, seed: int, log_dir: Path, checkpoint: Path | None = None) -> None:
        self.config, self.seed = config, seed
        self.grid = tabular_view(config)
        if checkpoint is None:
            self.agent = QLearning(self.grid.num_states, self.grid.num_actions, qlearning_config(config),
                                   self.grid.action_mask())
            self.last_round = -1
        else:
            self.agent, self.last_round = _load_agent(checkpoint)
        # a set of markets is scored against each market's oracle only
        self.references: dict[str, Oracle] = ({} if isinstance(self.grid, MarketsView)
                                              else {"discretised_optimum": self.grid.oracle()})
        self.log_dir = log_dir

    @property
    def steps(self) -> int:
        return self.agent.steps_done

    def _make_env(self, num_envs: int) -> VectorEnv:
        return self.grid.vector_env(num_envs)

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
        return self.grid.env_policy(self.agent.greedy_policy())

    def save(self, folder: Path) -> None:
        np.savez(folder / "qtable.npz", **self.agent.state_dict())
        (folder / "round.json").write_text(json.dumps({"round": self.last_round}))
