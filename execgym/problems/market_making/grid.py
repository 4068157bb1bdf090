"""MarketMaking-v0 on a tick grid as a table: its (step, inventory) state indexed, its pair of tick counts flattened.

| | |
|---|---|
| Observation | Discrete((N+1)·(2Q̄+1)): index n·(2Q̄+1) + q + Q̄, n steps done (N: the terminal step), q the inventory |
| Action | Discrete((M+1)²): index i·(M+1) + j, quoting the bid i ticks and the ask j ticks from the mid (M = δ_max/h) |
| Reward | the env's own reward (currency, noisy), unchanged |
| Termination | as MarketMaking-v0: after N steps, no truncation |
| Oracle | the env's own: backward induction exhaustive over tick pairs (:mod:`execgym.problems.market_making.oracle`), O(N·(2Q̄+1)·(M+1)²) |

For params with ``tick_size`` h set and the risk-neutral objective only:
with continuous depths there is no finite action set to tabulate (set
``tick_size``, e.g. 0.5 with ``max_depth`` a whole number of ticks), and under
the exponential utility ("cara") the reward is paid at the end as a function
of the whole path's profit, which (step, inventory) does not carry.

Nothing is discretised beyond what the env already is: on a tick grid the
env's actions are the tick pairs, its sufficient state is (n, q) and the
observation carries it exactly. So the "discretised optimum" of this view is
the env's exact optimum, and a tabular agent's regret against it is its regret
against the true optimum of the tick-grid market.

## Expected reward

Quoting (i, j) ticks at (n, q) fills the bid with probability p_b = p(i·h)
(0 at q = Q̄, where the bid is not quoted) and the ask with p_a = p(j·h) (0 at
q = −Q̄), independently; the K = 4 successors are q (no fill), q + 1 (bid),
q − 1 (ask) and q (both), and with q' the inventory after the fills::

    r_n(q, i, j) = p_b·i·h + p_a·j·h + E[μ·dt·q' − φ·dt·q'²] − 1[n = N−1]·α·E[q'²]

which is the env's reward (:mod:`execgym.problems.market_making.dynamics`)
with the price move's noise at its mean, zero (q' is fixed before the move).
Backward induction on :meth:`QuoteGrid.mdp` is therefore an independent
check of the env's oracle (:func:`~execgym.solvers.quotes.grid_quotes`): same
values, same quotes.

The table has (N+1)·(2Q̄+1)·(M+1)² entries: 52,479 at N = 50, Q̄ = 10, M = 6;
2.5 M for the default market (N = 200, Q̄ = 50) at M = 10. The view accepts up to
:data:`MAX_ENTRIES` (10⁷).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from execgym.tabular.base import ViewMixin, checked_actions
from execgym.policy import Oracle
from execgym.problems.market_making import dynamics
from execgym.problems.market_making.oracle import make_oracle
from execgym.problems.market_making.params import MarketMakingParams
from execgym.solvers.dp import FiniteMDP

MAX_ENTRIES = 10_000_000
"""Largest table (N+1)·(2Q̄+1)·(M+1)² accepted: its MDP holds 4 successors per entry (about 0.7 GB at the cap)."""


@dataclass(frozen=True)
class QuoteGrid(ViewMixin):
    """MarketMaking-v0 with ``params`` (tick grid, risk-neutral objective) seen as a table.
    A :class:`~execgym.tabular.base.TabularView`."""

    env_id: ClassVar[str] = "MarketMaking-v0"

    params: MarketMakingParams

    def __post_init__(self) -> None:
        if not isinstance(self.params, MarketMakingParams):
            raise ValueError(f"params must be a MarketMakingParams, got {type(self.params).__name__}")
        if not self.params.discrete:
            raise ValueError("QuoteGrid needs quotes on a tick grid: these params have tick_size = None (continuous "
                             "depths); set tick_size (e.g. 0.5, with max_depth a whole number of ticks)")
        if self.params.objective != "risk_neutral":
            raise ValueError(f"QuoteGrid needs objective = 'risk_neutral' (a reward per step of the state "
                             f"(step, inventory)); these params have objective = {self.params.objective!r}, whose "
                             "reward depends on the whole path's profit: set objective='risk_neutral' (and "
                             "inventory_penalty for risk aversion)")
        entries = self.num_states * self.num_actions
        if entries > MAX_ENTRIES:
            raise ValueError(f"QuoteGrid's table would have (steps + 1)·(2·max_inventory + 1)·(max_depth / "
                             f"tick_size + 1)² = {self.num_states:,}·{self.num_actions:,} = {entries:,} entries, more "
                             f"than {MAX_ENTRIES:,}: raise tick_size or lower steps or max_inventory")

    @property
    def levels(self) -> int:
        """2Q̄ + 1: inventory levels −Q̄..Q̄, the states of one step."""
        return self.params.levels

    states_per_stage = levels

    @property
    def quotes_per_side(self) -> int:
        """M + 1: depths 0, h, ..., δ_max on each side."""
        return self.params.ticks + 1

    @property
    def num_states(self) -> int:
        """(N + 1)·(2Q̄ + 1): steps done 0..N × inventory levels."""
        return (self.params.steps + 1) * self.levels

    @property
    def num_actions(self) -> int:
        """(M + 1)²: (bid ticks, ask ticks) pairs."""
        return self.quotes_per_side**2

    def state_index(self, observations: np.ndarray) -> np.ndarray:
        """Grid states (b,) int64 of MarketMaking observations (b, 2): n·(2Q̄+1) + q + Q̄ with n in 0..N and
        q in −Q̄..Q̄ decoded by rounding (:func:`~execgym.problems.market_making.dynamics.decode`)."""
        elapsed, inventory = dynamics.decode(self.params, observations)
        elapsed = np.clip(elapsed, 0, self.params.steps)
        level = np.clip(inventory + self.params.max_inventory, 0, self.levels - 1)
        return elapsed * self.levels + level

    def steps_and_inventories(self, states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(steps done n, inventory q), each (b,), of grid states (b,)."""
        states = np.asarray(states)
        return states // self.levels, states % self.levels - self.params.max_inventory

    def ticks(self, actions: np.ndarray) -> np.ndarray:
        """(bid ticks i, ask ticks j) (b, 2) int64 of grid actions (b,), checked integers in 0..(M+1)² − 1."""
        actions = checked_actions(actions, self.num_actions, "i·(M+1) + j", "(max_depth / tick_size + 1)² − 1")
        side = self.quotes_per_side
        return np.stack([actions // side, actions % side], axis=-1)

    def env_actions(self, states: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """MarketMaking actions (b, 2) int64, [bid ticks, ask ticks], of grid actions (b,) (any state)."""
        return self.ticks(actions)

    def mdp(self) -> FiniteMDP:
        """The problem as a finite MDP: stages n = 0..N−1, states the inventory levels q + Q̄, action
        i·(M+1) + j, the K = 4 successors (no fill, bid, ask, both) with their probabilities, rewards the
        env's expected rewards (module docstring), terminal values 0 (α·q² is paid in the last reward)."""
        p = self.params
        q = p.inventories[:, None]                                                   # (L, 1)
        depths = self.ticks(np.arange(self.num_actions)) * p.tick_size               # (A, 2)
        bid_quoted, ask_quoted = dynamics.quoted_sides(p, q)
        probability = p.fill_probabilities(depths)[None]                             # (1, A, 2)
        p_bid = np.where(bid_quoted, probability[..., 0], 0.0)                        # (L, A)
        p_ask = np.where(ask_quoted, probability[..., 1], 0.0)
        chances = np.stack([(1 - p_bid) * (1 - p_ask), p_bid * (1 - p_ask), (1 - p_bid) * p_ask, p_bid * p_ask],
                           axis=-1)                                                  # (L, A, K)
        after = q[..., None] + np.array([0, 1, -1, 0])                               # (L, 1, K): none, b, a, both
        after = np.clip(after, -p.max_inventory, p.max_inventory)                    # off the range: probability 0
        after = np.broadcast_to(after, chances.shape)
        spread = p_bid * depths[None, :, 0] + p_ask * depths[None, :, 1]
        running = (chances * (p.drift * after - p.inventory_penalty * after**2)).sum(axis=-1) * p.dt
        rewards = np.broadcast_to(spread + running, (p.steps,) + spread.shape).copy()
        rewards[-1] -= p.terminal_penalty * (chances * after**2).sum(axis=-1)
        stage = (p.steps,) + chances.shape
        return FiniteMDP(rewards=rewards,
                         next_states=np.broadcast_to(after + p.max_inventory, stage),
                         probabilities=np.broadcast_to(chances, stage))

    def oracle(self) -> Oracle:
        """The env's exact oracle (backward induction over every tick pair): the optimum of this view is
        the optimum of the env."""
        return make_oracle(self.params)
