"""OptimalExecRegimes-v0 on a lot grid: a finite MDP for tabular agents, its exact optimum, and discrete-action
envs.

| | |
|---|---|
| Observation | Discrete((N+1)·R·(L+1)): index k·R·(L+1) + r·(L+1) + q: k periods elapsed, regime r, q lots left |
| Action | Discrete(M+1): j, the number of lots to trade this period (M = ``max_trade_lots``, default L) |
| Reward | the env's own reward (bps of arrival notional, noisy), unchanged |
| Oracle | backward induction (:mod:`execgym.solvers.dp`) on :meth:`RegimeLotGrid.mdp`: O(N·R²·L·M) |

As OptimalExec-v0's lot grid (:mod:`execgym.problems.optimal_exec.grid`): the order is L lots of X/L shares,
action j trades min(j, q) lots (everything in the last period), a = 2f − 1 with f = min(j, q)/q, and
observations are mapped to the nearest grid state; the regime is the observation's indicated one. The expected
reward of trading n of x shares in regime r is minus the period's expected cost in that regime's market
(:func:`~execgym.problems.optimal_exec.schedule.period_cost` of
:meth:`~.params.RegimeExecParams.regime_params`), and the next state is (q − traded lots) in regime r' with
probability T[r, r']. The MDP's optimal value is the exact expected return, in the env, of the best on-grid
policy: at most the oracle's (:mod:`.oracle`), which it approaches as L grows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import gymnasium as gym
import numpy as np
from gymnasium.vector import VectorEnv

from execgym.policy import Oracle
from execgym.problems.optimal_exec import dynamics as exec_dynamics
from execgym.problems.optimal_exec.schedule import period_cost
from execgym.problems.regime_exec.env import RegimeExecEnv, RegimeExecVectorEnv
from execgym.problems.regime_exec.params import RegimeExecParams
from execgym.solvers.dp import FiniteMDP, backward_induction
from execgym.tabular.base import (DiscreteEnv, DiscreteVectorEnv, LotGridMixin, TablePolicy, check_wraps,
                                  checked_actions)

MAX_LOTS = 100_000


@dataclass(frozen=True)
class RegimeLotGrid(LotGridMixin):
    """The lot grid of ``params``: ``lots`` lots of X/lots shares (1 to 10⁵) and trades of 0..``max_trade_lots``
    lots per period (1 to ``lots``; default ``lots``), in each regime. A :class:`~execgym.tabular.base.TabularView`."""

    env_id: ClassVar[str] = "OptimalExecRegimes-v0"

    params: RegimeExecParams
    lots: int
    max_trade_lots: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.params, RegimeExecParams):
            raise ValueError(f"params must be a RegimeExecParams, got {type(self.params).__name__}")
        self._set_lot_counts(MAX_LOTS)

    @property
    def states_per_stage(self) -> int:
        """R·(L + 1): a regime and a lot count 0..L."""
        return self.params.regimes * (self.lots + 1)

    def state_index(self, observations: np.ndarray) -> np.ndarray:
        """Grid states (n,) int64 of observations (n, 3 + R): k·R·(L+1) + r·(L+1) + q with k = round(N·(1 −
        obs[:, 0])), q = round(L·obs[:, 1]) and r the indicated regime."""
        observations = np.asarray(observations, dtype=np.float64)
        periods, regimes = self.params.periods, self.params.regimes
        elapsed = np.clip(np.rint(periods * (1.0 - observations[:, 0])), 0, periods).astype(np.int64)
        remaining = np.clip(np.rint(self.lots * observations[:, 1]), 0, self.lots).astype(np.int64)
        regime = np.argmax(observations[:, 3:3 + regimes], axis=1)
        return elapsed * self.states_per_stage + regime * (self.lots + 1) + remaining

    def env_actions(self, states: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """The env's actions (n, 1) for grid actions: a = 2·min(j, q)/q − 1 (−1 when q = 0)."""
        actions = checked_actions(actions, self.num_actions, "lots to trade", "max_trade_lots")
        remaining = np.asarray(states) % (self.lots + 1)
        fractions = np.minimum(actions, remaining) / np.maximum(remaining, 1)
        return exec_dynamics.fraction_to_action(fractions)[:, None]

    def mdp(self) -> FiniteMDP:
        """The discretised problem: stages k = 0..N−1, state (r, q), action j, successor (r', q − traded lots)
        with probability T[r, r'], expected rewards in bps (module docstring), terminal values 0."""
        p = self.params
        periods, regimes, lot, width = p.periods, p.regimes, self.lot_size, self.lots + 1
        remaining = np.arange(width)[:, None]
        traded = np.broadcast_to(np.minimum(np.arange(self.num_actions)[None, :], remaining),
                                 (periods, width, self.num_actions)).copy()
        traded[-1] = remaining                                               # the last period trades everything
        left = remaining[None] - traded                                      # (N, L + 1, A)
        rewards = np.concatenate([-period_cost(p.regime_params(r), traded * lot, left * lot) * p.bps_per_currency
                                  for r in range(regimes)], axis=1)          # (N, R·(L + 1), A)
        next_states = (np.arange(regimes)[None, None, None, :] * width
                       + np.tile(left, (1, regimes, 1))[..., None])          # (N, S, A, R)
        probabilities = np.broadcast_to(np.repeat(p.transition_matrix, width, axis=0)[None, :, None, :],
                                        next_states.shape)
        return FiniteMDP(rewards=rewards, next_states=next_states, probabilities=probabilities)

    def oracle(self) -> Oracle:
        """The exact optimum of the discretised problem acting in the real env: its policy, its exact E[Σ
        reward] (bps) from (k = 0, r_0, q = L), and its expected holdings (shares) per period."""
        p = self.params
        solution = backward_induction(self.mdp())
        table = np.zeros(self.num_states, dtype=np.int64)
        table[:solution.policy.size] = solution.policy.ravel()
        start = p.initial_regime * (self.lots + 1) + self.lots
        return Oracle(policy=self.env_policy(TablePolicy(table)), expected_return=float(solution.values[0, start]),
                      schedule=self._expected_holdings(solution.policy))

    def _expected_holdings(self, policy: np.ndarray) -> np.ndarray:
        """E[x_k], k = 0..N, of the grid policy ``policy`` (N, S): the distribution over (r, q) pushed forward."""
        p, width = self.params, self.lots + 1
        mass = np.zeros((p.regimes, width))
        mass[p.initial_regime, self.lots] = 1.0
        holdings = [p.shares]
        for k in range(p.periods):
            moved = np.zeros_like(mass)
            for r in range(p.regimes):
                for q in np.flatnonzero(mass[r]):
                    left = 0 if k == p.periods - 1 else q - min(int(policy[k, r * width + q]), q)
                    moved[:, left] += mass[r, q] * p.transition_matrix[r]
            mass = moved
            holdings.append(float(mass.sum(axis=0) @ np.arange(width)) * self.lot_size)
        return np.array(holdings)


class DiscreteRegimeExecEnv(DiscreteEnv):
    """OptimalExecRegimes-v0 (possibly wrapped) with grid observations and lot actions (module docstring)."""

    def __init__(self, env: gym.Env, lots: int, max_trade_lots: int | None = None) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, lots=lots, max_trade_lots=max_trade_lots)
        check_wraps(env, RegimeExecEnv)
        super().__init__(env, RegimeLotGrid(env.unwrapped.params, lots, max_trade_lots))


class DiscreteRegimeExecVectorEnv(DiscreteVectorEnv):
    """:class:`RegimeExecVectorEnv` (possibly wrapped) with grid observations (n,) and lot actions (n,)."""

    def __init__(self, env: VectorEnv, lots: int, max_trade_lots: int | None = None) -> None:
        check_wraps(env, RegimeExecVectorEnv)
        super().__init__(env, RegimeLotGrid(env.unwrapped.params, lots, max_trade_lots))
