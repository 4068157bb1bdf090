"""LimitOrMarket-v0 calibrated from a stock's tape and quotes: a child order's limit fills by depth and move.

| field | from |
|---|---|
| tick_bps | the quotes' tick (their smallest price step) in bps of the last quoted mid |
| spread_ticks | the median quoted spread, whole ticks |
| move_probability π, drift μ | the share of steps whose quoted mid changed, and the mean sign of the change |
| fill_probabilities p(d), adverse_selection a | the steps' fills by depth and move (:func:`~.estimates.limit_fills`) |
| book_lots B | the median size at the best bid, in lots |
| lots N, deadline K, max_depth L, market_fractions | the desk's child order (:class:`ChildOrder`) |

:func:`improvement_interval` redraws π, μ and a from their sampling distributions and solves each draw's
optimum exactly (:func:`execgym.make_oracle`): the optimum's expected improvement on the arrival mid, bps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

import execgym
from execgym.calibration.estimates import LimitFills
from execgym.calibration.uncertainty import Interval, over_draws
from execgym.problems.limit_or_market.params import LimitOrMarketParams


@dataclass(frozen=True)
class ChildOrder:
    """The desk's child order: N lots of ``lot_shares`` shares each within K steps of ``step_seconds``, limit
    orders 0..L ticks behind the touch, market orders for the fractions given of what is left."""

    lots: int = 20
    lot_shares: float = 100.0
    deadline: int = 10
    step_seconds: float = 30.0
    max_depth: int = 4
    market_fractions: tuple[float, ...] = (0.5, 1.0)


def infer_tick(quotes: pd.DataFrame) -> float:
    """The quotes' tick: the smallest positive step between their distinct bid and ask prices (to 1e-9)."""
    prices = np.unique(np.round(np.concatenate([quotes["bid"].to_numpy(), quotes["ask"].to_numpy()]), 9))
    steps = np.diff(prices)
    if steps.size == 0:
        raise ValueError("the quotes have a single price: no tick to infer")
    return float(np.round(steps.min(), 9))


def child_order_params(mid: float, quotes: pd.DataFrame, fills: LimitFills, order: ChildOrder,
                       values: dict[str, float] | None = None) -> LimitOrMarketParams:
    """The :class:`LimitOrMarketParams` of the estimates (module docstring); ``values`` replaces
    move_probability, drift or adverse_selection by name (:func:`improvement_interval`'s draws). ValueError
    names the field (e.g. an adverse selection below 0, which the model does not have)."""
    value = {"move_probability": fills.move_probability.value, "drift": fills.drift.value,
             "adverse_selection": fills.adverse_selection.value, **(values or {})}
    if value["adverse_selection"] < 0.0:
        raise ValueError(f"the fills show no adverse selection (a = {value['adverse_selection']:.3g} < 0: limit orders "
                         "fill more after the price falls); LimitOrMarket models a in [0, 1]")
    book = max(1, int(round(float(np.median(quotes["bid_size"])) / order.lot_shares)))
    return LimitOrMarketParams(
        lots=order.lots, deadline=order.deadline, max_depth=order.max_depth, tick_bps=fills.tick / mid * 1e4,
        spread_ticks=fills.spread_ticks, book_lots=book, market_fractions=order.market_fractions,
        fill_probabilities=tuple(fills.fill_probabilities.tolist()), move_probability=value["move_probability"],
        drift=value["drift"], adverse_selection=value["adverse_selection"])


def improvement_interval(mid: float, quotes: pd.DataFrame, fills: LimitFills, order: ChildOrder, draws: int = 100,
                         seed: int = 0) -> Interval:
    """The optimum's expected improvement on the arrival mid (bps) at the estimates, and its 95 % interval over
    ``draws`` redraws of π, μ and a (:func:`~.uncertainty.over_draws`)."""
    named = {"move_probability": fills.move_probability, "drift": fills.drift,
             "adverse_selection": fills.adverse_selection}
    return over_draws(named, lambda values: child_order_params(mid, quotes, fills, order, values),
                      lambda params: execgym.make_oracle("LimitOrMarket-v0", params=params).expected_return,
                      draws, seed)
