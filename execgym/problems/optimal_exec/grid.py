"""OptimalExec-v0 on a lot grid: a finite MDP for tabular agents, its exact optimum, and discrete-action envs.

| | |
|---|---|
| Observation | Discrete((N+1)·(L+1)): index k·(L+1) + q, k periods elapsed, q lots still to trade |
| Action | Discrete(M+1): j, the number of lots to trade this period (M = ``max_trade_lots``, default L) |
| Reward | the env's own reward (bps of arrival notional, noisy), unchanged |
| Termination | as OptimalExec-v0: after N periods, no truncation |
| Oracle | backward induction (:mod:`execgym.solvers.dp`) on :meth:`LotGrid.mdp`: O(N·L·M) time and memory |

## Grid

The order of X shares is split into L equal lots of X/L shares. Action j
trades min(j, q) lots: a trade larger than what remains trades what remains,
and in the last period everything remaining is traded whatever j (as the env
does). The continuous action is a = 2f − 1 with f = min(j, q)/q the fraction of
the remaining shares (f = 0 when q = 0), so on-grid trades keep the inventory
on the grid (up to floating-point rounding of f·x). Observations are mapped
back to the grid by rounding: k = round(N·(1 − obs[0])), q = round(L·obs[1]);
an inventory off the grid (reached by other policies) counts as its nearest
lot count.

## Expected reward

With n = min(j, q)·X/L shares traded (all q·X/L in the last period) out of
x = q·X/L, x' = x − n and s = +1 for a sell, −1 for a buy::

    r(k, q, j) = −c(n, x') · 10⁴/(X·S0)

with c the period's expected cost (:func:`~execgym.problems.optimal_exec.schedule.period_cost`):
the env's reward (:mod:`execgym.problems.optimal_exec.dynamics`) with the price
shock's term at its mean, zero. Summed over a schedule it gives
−(E[IS] + λ·Var[IS]) in bps, as in :mod:`execgym.problems.optimal_exec.schedule`. The MDP's optimal value is
therefore the exact expected return, in OptimalExec-v0, of the best on-grid
adaptive policy; since those policies are policies of the continuous env it is
at most the LQ oracle's value, and it approaches it as L grows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import gymnasium as gym
import numpy as np
from gymnasium.vector import VectorEnv

from execgym.tabular.base import (DiscreteEnv, DiscretePolicy, DiscreteVectorEnv, GridPolicy, LotGridMixin,
                                TablePolicy, check_wraps, checked_actions)
from execgym.policy import Oracle
from execgym.problems.optimal_exec import dynamics, schedule
from execgym.problems.optimal_exec.env import OptimalExecEnv, OptimalExecVectorEnv
from execgym.problems.optimal_exec.params import OptimalExecParams
from execgym.solvers.dp import FiniteMDP, backward_induction

MAX_LOTS = 1_000_000


@dataclass(frozen=True)
class LotGrid(LotGridMixin):
    """The lot grid of ``params``: ``lots`` lots of X/lots shares (1 to 10⁶), and trades of
    0..``max_trade_lots`` lots per period (1 to ``lots``; default ``lots``). A :class:`TabularView`."""

    env_id: ClassVar[str] = "OptimalExec-v0"

    params: OptimalExecParams
    lots: int
    max_trade_lots: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.params, OptimalExecParams):
            raise ValueError(f"params must be an OptimalExecParams, got {type(self.params).__name__}")
        if self.params.features:
            raise ValueError(f"LotGrid discretises the Almgren–Chriss model only; these params use {self.params.variant}")
        self._set_lot_counts(MAX_LOTS)

    @property
    def states_per_stage(self) -> int:
        """L + 1: lot counts 0..L."""
        return self.lots + 1

    def state_index(self, observations: np.ndarray) -> np.ndarray:
        """Grid states (n,) int64 of OptimalExec observations (n, 3): k·(L+1) + q with
        k = round(N·(1 − obs[:, 0])) in 0..N and q = round(L·obs[:, 1]) in 0..L."""
        observations = np.asarray(observations, dtype=np.float64)
        periods = self.params.periods
        elapsed = np.clip(np.rint(periods * (1.0 - observations[:, 0])), 0, periods).astype(np.int64)
        remaining = np.clip(np.rint(self.lots * observations[:, 1]), 0, self.lots).astype(np.int64)
        return elapsed * self.states_per_stage + remaining

    def fractions(self, states: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """Fractions of the remaining shares to trade (n,): min(j, q)/q, 0 when q = 0."""
        states = np.asarray(states)
        actions = checked_actions(actions, self.max_trade_lots + 1, "lots to trade", "max_trade_lots")
        remaining = states % self.states_per_stage
        return np.minimum(actions, remaining) / np.maximum(remaining, 1)

    def env_actions(self, states: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """OptimalExec actions (n, 1) float64 for grid actions: a = 2·fractions − 1."""
        return dynamics.fraction_to_action(self.fractions(states, actions))[:, None]

    continuous_actions = env_actions

    def mdp(self) -> FiniteMDP:
        """The discretised problem: stages k = 0..N−1, state q = lots remaining, action j, deterministic
        successor q − (lots traded), expected rewards in bps (module docstring), terminal values 0."""
        p = self.params
        periods, lot = p.periods, self.lot_size
        remaining = np.arange(self.states_per_stage)[:, None]
        traded_lots = np.broadcast_to(np.minimum(np.arange(self.num_actions)[None, :], remaining),
                                      (periods, self.states_per_stage, self.num_actions)).copy()
        traded_lots[-1] = remaining
        left_lots = remaining[None] - traded_lots
        cost = schedule.period_cost(p, traded_lots * lot, left_lots * lot)
        return FiniteMDP(rewards=-cost * p.bps_per_currency, next_states=left_lots[..., None],
                         probabilities=np.ones(left_lots.shape + (1,)))

    def oracle(self) -> Oracle:
        """The exact optimum of the discretised problem, acting in the continuous OptimalExec-v0:
        its policy, its exact E[Σ reward] (bps) from (k = 0, q = L), its holdings (shares), E[IS]
        and Var[IS]. The optimal schedule is deterministic (so is the grid problem)."""
        solution = backward_induction(self.mdp())
        lots_held = [self.lots]
        for k in range(self.params.periods):
            q = lots_held[-1]
            lots_held.append(q - min(int(solution.policy[k, q]), q))
        lots_held[-1] = 0
        holdings = np.array(lots_held, dtype=np.float64) * self.params.shares / self.lots
        table = np.zeros(self.num_states, dtype=np.int64)
        table[:solution.policy.size] = solution.policy.ravel()
        return Oracle(policy=self.env_policy(TablePolicy(table)),
                      expected_return=float(solution.values[0, self.lots]),
                      schedule=holdings,
                      expected_shortfall=float(schedule.expected_shortfall(self.params, holdings)),
                      variance=float(schedule.variance(self.params, holdings)))

    def continuous_policy(self, discrete_policy: DiscretePolicy) -> GridPolicy:
        """``discrete_policy`` (grid states -> lots to trade) as a policy of OptimalExec-v0: observations
        (n, 3) -> grid states -> lots j -> fraction min(j, q)/q -> actions (n, 1) float32, a = 2f − 1."""
        return self.env_policy(discrete_policy)


class DiscreteOptimalExecEnv(DiscreteEnv):
    """OptimalExec-v0 (an :class:`OptimalExecEnv`, possibly wrapped) with grid observations and lot actions.

    Observation: the grid state k·(L+1) + q (int); action: j lots (int in 0..M);
    reward, termination and info are the env's own. See the module docstring.
    """

    def __init__(self, env: gym.Env, lots: int, max_trade_lots: int | None = None) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, lots=lots, max_trade_lots=max_trade_lots)
        check_wraps(env, OptimalExecEnv)
        super().__init__(env, LotGrid(env.unwrapped.params, lots, max_trade_lots))


class DiscreteOptimalExecVectorEnv(DiscreteVectorEnv):
    """:class:`OptimalExecVectorEnv` (possibly wrapped) with grid observations (n,) and lot actions (n,).

    Rewards, terminations and infos are the env's own, except ``info["final_obs"]``,
    translated to grid states (n,) int64. No Python loop over slots.
    """

    def __init__(self, env: VectorEnv, lots: int, max_trade_lots: int | None = None) -> None:
        check_wraps(env, OptimalExecVectorEnv)
        super().__init__(env, LotGrid(env.unwrapped.params, lots, max_trade_lots))
