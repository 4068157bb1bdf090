"""The oracle of BasketSequence: Held–Karp, exact up to 16 trades; above, a labelled heuristic bound on request.

| trades n | oracle | solver | ``bound_only`` | cost |
|---|---|---|---|---|
| 2..16 | :class:`~.policies.ValuePolicy` on the cost-to-go V | :func:`~execgym.solvers.sequencing.held_karp` | False | O(n²·2ⁿ) time, O(n·2ⁿ) memory |
| 17..256, ``heuristic=True`` | :class:`~.policies.OrderPolicy` on the heuristic order | :func:`~execgym.solvers.sequencing.nearest_neighbour_two_opt` | True | O(n³) + O(n²) per 2-opt move |
| 17..256, ``heuristic=False`` | ValueError | | | |

``expected_return`` is −C(order) in bps, the exact expected return of the
policy returned (the noise has mean zero). With ``bound_only=False`` it is the
optimum over all policies; with ``bound_only=True`` it is only a lower bound on
the optimal return (the heuristic's cost is an upper bound on the optimal
cost), and regrets measured against it may be negative.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from execgym.policy import Oracle, OracleCost
from execgym.problems.basket_sequence.params import BasketSequenceParams
from execgym.problems.basket_sequence.policies import OrderPolicy, ValuePolicy
from execgym.solvers.sequencing import MAX_EXACT, held_karp, nearest_neighbour_two_opt

BUILD_OVERHEAD = 0.002
"""Seconds of an oracle build that do not grow with the basket (:func:`build_cost`)."""
SECONDS_PER_HELD_KARP_STEP = 6.5e-9
"""Build seconds per unit of n²·2ⁿ (measured: 15 trades in 0.055 s, 16 in 0.11 s)."""
SECONDS_PER_HEURISTIC_STEP = 4e-8
"""Build seconds per unit of n³ of nearest neighbour + 2-opt (measured: 60 trades in 8 ms)."""


@dataclass(frozen=True)
class SequenceOracle(Oracle):
    """:class:`~execgym.policy.Oracle` with the order it follows from the start and whether its value is
    only a bound."""

    order: np.ndarray | None = None
    """The order followed from the start (trade indices)."""
    bound_only: bool = False
    """True when ``expected_return`` is a heuristic's (a lower bound on the optimal return), not the optimum."""


def _refusal(params: BasketSequenceParams) -> str | None:
    """Why :func:`make_oracle` refuses ``params`` (too many trades for Held–Karp, no heuristic asked), or None."""
    if params.exact or params.heuristic:
        return None
    return (f"the exact oracle (Held–Karp) handles up to {MAX_EXACT} trades, got trades = {params.trades}; pass "
            "heuristic=True for a nearest-neighbour + 2-opt order, whose value is a bound on the optimum "
            "(bound_only=True), not the optimum")


def build_cost(params: BasketSequenceParams) -> OracleCost:
    """What :func:`make_oracle` would take: n²·2ⁿ steps of Held–Karp, or n³ of the heuristic when it is asked
    for past 16 trades."""
    n = params.trades
    if params.exact or not params.heuristic:
        steps = float(n**2) * 2.0**n
        return OracleCost(size=steps, unit=f"Held–Karp steps n²·2ⁿ ({n} trades)",
                          seconds=BUILD_OVERHEAD + SECONDS_PER_HELD_KARP_STEP * steps, refusal=_refusal(params))
    return OracleCost(size=n**3, unit=f"heuristic steps n³ ({n} trades)",
                      seconds=BUILD_OVERHEAD + SECONDS_PER_HEURISTIC_STEP * n**3)


def make_oracle(params: BasketSequenceParams) -> SequenceOracle:
    """The optimal policy of ``params`` and its exact value (table above); more than 16 trades raise
    ValueError unless ``params.heuristic``, which then returns the labelled heuristic bound."""
    if params.exact:
        solution = held_karp(params.first_costs, params.costs)
        return SequenceOracle(policy=ValuePolicy(params, solution), expected_return=-solution.cost,
                              order=solution.order)
    refusal = _refusal(params)
    if refusal is not None:
        raise ValueError(refusal)
    solution = nearest_neighbour_two_opt(params.first_costs, params.costs)
    return SequenceOracle(policy=OrderPolicy(params, solution.order, "nearest neighbour + 2-opt"),
                          expected_return=-solution.cost, order=solution.order, bound_only=True)
