"""Baselines of LimitOrMarket, as (K, N+1) action tables: :class:`~.oracle.TablePolicy` makes them policies and
:func:`~.oracle.policy_value` prices them exactly.

* :func:`always_market`: sell everything at once by a market order (the largest ``market_fractions`` entry).
* :func:`touch_then_market`: rest every lot at the touch (d = 0) each step; the deadline sells the rest.
* :func:`fixed_depth`: rest every lot at depth d each step; the deadline sells the rest.
"""

from __future__ import annotations

import numpy as np

from execgym.problems.limit_or_market.oracle import TablePolicy
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


BASELINES = {"always_market": always_market, "touch_then_market": touch_then_market}


def baseline_policy(params: LimitOrMarketParams, name: str) -> TablePolicy:
    """The baseline ``name`` (``always_market``, ``touch_then_market`` or ``depth_<d>``) as a policy."""
    if name.startswith("depth_") and name[6:].isdigit():
        return TablePolicy(params, fixed_depth(params, int(name[6:])))
    if name not in BASELINES:
        raise ValueError(f"unknown baseline {name!r}; valid: {sorted(BASELINES)} or depth_<d> with d in "
                         f"0..{params.max_depth}")
    return TablePolicy(params, BASELINES[name](params))
