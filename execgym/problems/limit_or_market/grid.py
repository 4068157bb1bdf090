"""LimitOrMarket-v0 as a table: its (steps done, lots left) state indexed, its actions as they are.

| | |
|---|---|
| Observation | Discrete((K+1)·(N+1)): t·(N+1) + n, t steps done, n lots left |
| Action | Discrete(L + 1 + F): the env's own (limit depths, then market orders) |
| Reward | the env's own reward (bps of the order, with the price noise), unchanged |
| Termination | as LimitOrMarket-v0: when the order is done, at the latest after K steps |
| Oracle | the env's own: backward induction (:mod:`execgym.problems.limit_or_market.oracle`) |

Nothing is discretised: the env's state already is finite, and the
observation is exactly (t, n). So the optimum of this view is the env's exact
optimum, and a tabular agent's regret against it is its regret against the
true optimum. :meth:`LimitOrMarketGrid.mdp` is the oracle's MDP (stage t,
state n).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from execgym.tabular.base import ViewMixin, checked_actions
from execgym.policy import Oracle
from execgym.problems.limit_or_market import dynamics, oracle
from execgym.problems.limit_or_market.params import LimitOrMarketParams
from execgym.solvers.dp import FiniteMDP


@dataclass(frozen=True)
class LimitOrMarketGrid(ViewMixin):
    """LimitOrMarket-v0 with ``params`` seen as a table. A :class:`~execgym.tabular.base.TabularView`."""

    env_id: ClassVar[str] = "LimitOrMarket-v0"

    params: LimitOrMarketParams

    def __post_init__(self) -> None:
        if not isinstance(self.params, LimitOrMarketParams):
            raise ValueError(f"params must be a LimitOrMarketParams, got {type(self.params).__name__}")

    @property
    def states_per_stage(self) -> int:
        """N + 1: lots left 0..N."""
        return self.params.lots + 1

    @property
    def num_states(self) -> int:
        """(K + 1)·(N + 1): steps done 0..K × lots left 0..N."""
        return (self.params.deadline + 1) * self.states_per_stage

    @property
    def num_actions(self) -> int:
        """L + 1 + F: the env's actions."""
        return self.params.num_actions

    def state_index(self, observations: np.ndarray) -> np.ndarray:
        """Grid states (b,) int64 of LimitOrMarket observations (b, 2): t·(N+1) + n."""
        elapsed, lots_left = dynamics.decode(self.params, observations)
        return elapsed * self.states_per_stage + lots_left

    def env_actions(self, states: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """The env's actions (b,) int64: the grid actions themselves, checked integers in 0..L+F."""
        return checked_actions(actions, self.num_actions, "limit depths, then market orders", "max_depth + F")

    def mdp(self) -> FiniteMDP:
        """The oracle's MDP: stages t = 0..K−1, states n = 0..N lots left (:func:`~.oracle.mdp`)."""
        return oracle.mdp(self.params)

    def oracle(self) -> Oracle:
        """The env's exact oracle: the optimum of this view is the optimum of the env."""
        return oracle.make_oracle(self.params)
