"""BasketSequence-v0 as a table: its (done set, last trade) state indexed, its actions as they are.

| | |
|---|---|
| Observation | Discrete(2ⁿ·(n+1)): D·(n+1) + ℓ + 1, D the done set as a bit mask (trade i ↦ 2ⁱ), ℓ the last trade (−1: none) |
| Action | Discrete(n): the next trade, as in the env; allowed: the trades not in D (:meth:`BasketGrid.action_mask`) |
| Reward | the env's own reward (bps of the basket's notional, noisy), unchanged |
| Termination | as BasketSequence-v0: after n trades, no truncation |
| Oracle | the env's own: Held–Karp (:mod:`execgym.problems.basket_sequence.oracle`), O(n²·2ⁿ) |

Nothing is discretised: the env's state already is finite, and the
observation (done flags, one-hot of the last trade) is exactly (D, ℓ). So the
"discretised optimum" of this view is the env's exact optimum, and a tabular
agent's regret against it is its regret against the true optimum.
:meth:`BasketGrid.mdp` writes the same problem as a :class:`~execgym.solvers.dp.FiniteMDP`
(stage t = |D|, reward −a_j for the first trade and −d_{ℓj} after, the mean of
the env's reward) so that backward induction can be held against Held–Karp.

The table has 2ⁿ·(n+1)·n entries (147,456 at n = 8, 2.6 M at n = 12); the
view accepts up to :data:`MAX_TRADES` trades.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from execgym.tabular.base import ViewMixin, checked_actions
from execgym.policy import Oracle
from execgym.problems.basket_sequence import dynamics
from execgym.problems.basket_sequence.oracle import make_oracle
from execgym.problems.basket_sequence.params import BasketSequenceParams
from execgym.solvers.dp import FiniteMDP

MAX_TRADES = 12


@dataclass(frozen=True)
class BasketGrid(ViewMixin):
    """BasketSequence-v0 with ``params`` (2 to 12 trades) seen as a table.
    A :class:`~execgym.tabular.base.TabularView`."""

    env_id: ClassVar[str] = "BasketSequence-v0"

    params: BasketSequenceParams

    def __post_init__(self) -> None:
        if not isinstance(self.params, BasketSequenceParams):
            raise ValueError(f"params must be a BasketSequenceParams, got {type(self.params).__name__}")
        if self.params.trades > MAX_TRADES:
            raise ValueError(f"BasketGrid handles up to {MAX_TRADES} trades (its table has 2ⁿ·(n+1)·n entries); "
                             f"these params have trades = {self.params.trades}")

    @property
    def trades(self) -> int:
        """n."""
        return self.params.trades

    @property
    def num_states(self) -> int:
        """2ⁿ·(n + 1): done sets × last trade (or none)."""
        return (1 << self.trades) * (self.trades + 1)

    @property
    def num_actions(self) -> int:
        """n: the next trade."""
        return self.trades

    def state_index(self, observations: np.ndarray) -> np.ndarray:
        """Grid states (b,) int64 of BasketSequence observations (b, 2n): D·(n+1) + ℓ + 1."""
        done, last = dynamics.decode(self.params, observations)
        masks = (done.astype(np.int64) << np.arange(self.trades, dtype=np.int64)).sum(axis=1)
        return masks * (self.trades + 1) + last + 1

    def done_sets(self, states: np.ndarray) -> np.ndarray:
        """D (b,) as bit masks, of grid states (b,)."""
        return np.asarray(states) // (self.trades + 1)

    def env_actions(self, states: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """The env's actions (b,) int64: the grid actions themselves, checked integers in 0..n−1 (the env
        raises on trades already done)."""
        return checked_actions(actions, self.trades, "trade indices", "trades − 1")

    def action_mask(self) -> np.ndarray:
        """(S, n) bool: trade j is allowed in state (D, ℓ) iff j ∉ D; the states with every trade done
        (terminal) allow none."""
        bits = np.int64(1) << np.arange(self.trades, dtype=np.int64)
        return (self.done_sets(np.arange(self.num_states))[:, None] & bits[None, :]) == 0

    def mdp(self) -> FiniteMDP:
        """The problem as a finite MDP: stages t = 0..n−1, states of this view, action j leading to
        (D ∪ {j}, j) with reward −a_j (first trade) or −d_{ℓj}, the env's expected reward. Trades in D are
        masked; the unreachable states with every trade done allow every action, at reward 0, staying put."""
        n, p = self.trades, self.params
        states = np.arange(self.num_states)
        done, last = self.done_sets(states), states % (n + 1) - 1
        allowed = self.action_mask()
        full = ~allowed.any(axis=1)
        costs = np.where(last[:, None] >= 0, p.costs[np.maximum(last, 0)], p.first_costs[None, :])
        rewards = np.where(full[:, None], 0.0, -costs)
        bits = np.int64(1) << np.arange(n, dtype=np.int64)
        following = (done[:, None] | bits[None, :]) * (n + 1) + np.arange(n)[None, :] + 1
        following = np.where(full[:, None], states[:, None], following)
        mask = allowed | full[:, None]
        stage = (n,) + rewards.shape
        return FiniteMDP(rewards=np.broadcast_to(rewards, stage),
                         next_states=np.broadcast_to(following, stage)[..., None],
                         probabilities=np.ones(stage + (1,)), action_mask=np.broadcast_to(mask, stage).copy())

    def oracle(self) -> Oracle:
        """The env's exact oracle (Held–Karp): the optimum of this view is the optimum of the env."""
        return make_oracle(self.params)
