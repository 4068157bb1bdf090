"""Policies of BasketSequence, all acting from the observation (done flags, last trade) on a batch.

| policy | next trade from (D, ℓ) | use |
|---|---|---|
| :class:`ValuePolicy` | argmin_{j ∉ D} d_{ℓj} + V(D ∪ {j}, j), V from Held–Karp | the exact oracle |
| :class:`OrderPolicy` | the first trade of a fixed order not yet done | heuristic oracle; :func:`as_given` baseline (0, 1, ..., n−1) |
| :class:`GreedyPolicy` | argmin_{j ∉ D} d_{ℓj} (a_j first): the cheapest step now | :func:`nearest_neighbour` baseline |

Ties go to the lowest trade index. Observations where every trade is done
(the terminal one) get action 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from execgym import engine
from execgym.problems.basket_sequence import dynamics
from execgym.problems.basket_sequence.params import BasketSequenceParams
from execgym.solvers.sequencing import SequenceSolution, next_trades
from execgym.validation import set_field


def _bit_masks(done: np.ndarray) -> np.ndarray:
    return (done.astype(np.int64) << np.arange(done.shape[1], dtype=np.int64)).sum(axis=1)


@dataclass(frozen=True)
class ValuePolicy:
    """Optimal from any state: one step ahead on the exact cost-to-go table of ``solution``."""

    params: BasketSequenceParams
    solution: SequenceSolution

    def __post_init__(self) -> None:
        if self.solution.values is None:
            raise ValueError("ValuePolicy needs an exact solution (held_karp) with its cost-to-go table")

    @property
    def order(self) -> np.ndarray:
        """The optimal order from the start."""
        return self.solution.order

    def __call__(self, observations: np.ndarray) -> np.ndarray:
        done, last = dynamics.decode(self.params, observations)
        return next_trades(self.params.first_costs, self.params.costs, self.solution.values, _bit_masks(done), last)


@dataclass(frozen=True)
class OrderPolicy:
    """Follows ``order`` (a permutation of the trades): from any state, the first trade of it not yet done."""

    params: BasketSequenceParams
    order: np.ndarray
    name: str = "order"

    def __post_init__(self) -> None:
        order = np.asarray(self.order)
        if order.shape != (self.params.trades,) or not np.array_equal(np.sort(order), np.arange(order.size)):
            raise ValueError(f"order must be a permutation of 0..{self.params.trades - 1}, got {self.order!r}")
        set_field(self, "order", order.astype(np.int64))

    def __call__(self, observations: np.ndarray) -> np.ndarray:
        done, _ = dynamics.decode(self.params, observations)
        pending = ~done[:, self.order]
        return np.where(pending.any(axis=1), self.order[pending.argmax(axis=1)], 0)


@dataclass(frozen=True)
class GreedyPolicy:
    """Nearest neighbour: the trade that is cheapest right now (a_j first, then d_{ℓj})."""

    params: BasketSequenceParams
    name: str = "nearest neighbour"

    def __call__(self, observations: np.ndarray) -> np.ndarray:
        done, last = dynamics.decode(self.params, observations)
        step = np.where(last[:, None] >= 0, self.params.costs[np.maximum(last, 0)], self.params.first_costs[None, :])
        return np.argmin(np.where(done, np.inf, step), axis=1)


def as_given(params: BasketSequenceParams) -> OrderPolicy:
    """Baseline: the trades in the order listed, 0, 1, ..., n−1."""
    return OrderPolicy(params, np.arange(params.trades), "as given")


def nearest_neighbour(params: BasketSequenceParams) -> GreedyPolicy:
    """Baseline: always the cheapest next trade (myopic)."""
    return GreedyPolicy(params)


def baselines(params: BasketSequenceParams) -> dict[str, OrderPolicy | GreedyPolicy]:
    """The named baselines: ``as_given`` and ``nearest_neighbour``."""
    return {"as_given": as_given(params), "nearest_neighbour": nearest_neighbour(params)}


def rollout_order(params: BasketSequenceParams, policy) -> np.ndarray:
    """The order a deterministic policy follows from the start (its expected cost is
    :func:`~execgym.solvers.sequencing.path_cost` of it); a trade outside 0..n−1 or already done raises."""
    batch = engine.start(dynamics.DYNAMICS, params, np.zeros(1, dtype=np.uint64), np.zeros(1, dtype=np.uint64))
    order = []
    for _ in range(params.trades):
        trades = dynamics.trades_of(params, policy(engine.observe(dynamics.DYNAMICS, params, batch)), 1)
        dynamics.check_trades(batch.state, trades)
        batch = engine.step(dynamics.DYNAMICS, params, batch, trades).batch
        order.append(int(trades[0]))
    return np.array(order, dtype=np.int64)
