"""Baselines of LimitOrMarket, as (K, N+1) action tables: :class:`~.oracle.ActionTablePolicy` makes them
policies and :func:`~.oracle.policy_value` prices them exactly.

* :func:`always_market`: sell everything at once by a market order (the largest ``market_fractions`` entry).
* :func:`touch_then_market`: rest every lot at the touch (d = 0) each step; the deadline sells the rest.
* :func:`fixed_depth`: rest every lot at depth d each step; the deadline sells the rest.

:func:`baselines` names them all.
"""

from __future__ import annotations

import numpy as np

from execgym.problems.limit_or_market.oracle import ActionTablePolicy
from execgym.problems.limit_or_market.params import LimitOrMarketParams
from execgym.validation import require_int


def constant_table(params: LimitOrMarketParams, action: int) -> np.ndarray:
    """(K, N+1) table of one action everywhere."""
    return np.full((params.deadline, params.lots + 1), action, dtype=np.int64)


def fixed_depth(params: LimitOrMarketParams, depth: int) -> np.ndarray:
    """A limit order at ``depth`` ticks behind the touch (0..L) every step, the deadline's market order after."""
    return constant_table(params, require_int("depth", depth, low=0, high=params.max_depth))


def touch_then_market(params: LimitOrMarketParams) -> np.ndarray:
    """A limit order at the touch every step, the deadline's market order after."""
    return fixed_depth(params, 0)


def always_market(params: LimitOrMarketParams) -> np.ndarray:
    """One market order for the whole order at the first step (the last of ``market_fractions``, which must be 1)."""
    if params.market_fractions[-1] != 1.0:
        raise ValueError(f"always_market needs a market order for everything left: market_fractions must end with "
                         f"1.0, got {params.market_fractions}")
    return constant_table(params, params.num_actions - 1)


def baselines(params: LimitOrMarketParams) -> dict[str, ActionTablePolicy]:
    """The named baselines: ``always_market`` (when a market order sells everything), ``touch_then_market`` and
    ``depth_<d>`` for d = 0..L (``depth_0`` is ``touch_then_market``)."""
    tables = {"touch_then_market": touch_then_market(params)}
    if params.market_fractions[-1] == 1.0:
        tables["always_market"] = always_market(params)
    tables.update({f"depth_{d}": fixed_depth(params, d) for d in range(params.depths)})
    return {name: ActionTablePolicy(params, table) for name, table in tables.items()}
