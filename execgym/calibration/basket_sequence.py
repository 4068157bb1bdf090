"""BasketSequence-v0 calibrated from several stocks' data: the order in which to trade a basket.

| field | from |
|---|---|
| notionals N_i, sides s_i | the desk's positions X_i (+ long: a sell, − short: a buy) at each stock's last quoted mid |
| impact_bps b_i | what trading X_i alone costs per unit notional over its share T/n of the horizon, in bps of its price: (ε_i + the temporary impact per share at the rate |X_i|·n/T)/S0_i·10⁴, the fitted law c·(v/v_ref)^α with executions, Almgren & Chriss's η = 2ε/(1 % of the daily volume) times the rate without |
| correlation ρ | the stocks' realized correlation (:func:`~.estimates.realized_covariance`) |
| cross_impact κ, hedge_credit h | the desk's (not estimable from tapes) |
"""

from __future__ import annotations

from execgym.calibration.estimates import Covariance
from execgym.calibration.optimal_exec import RULE_OF_THUMB_FRACTION, StockEstimates
from execgym.problems.basket_sequence.params import BasketSequenceParams


def trade_impact_bps(stock: StockEstimates, shares: float, duration: float) -> float:
    """b: the cost per unit notional, bps of the price, of trading ``shares`` alone over ``duration`` days."""
    rate = shares / duration
    if stock.temporary is not None:
        temporary = float(stock.temporary.at(rate))
    else:
        temporary = 2.0 * stock.half_spread.value / (RULE_OF_THUMB_FRACTION * stock.daily_volume.value) * rate
    return (stock.half_spread.value + temporary) / stock.arrival_price * 1e4


def basket_params(stocks: dict[str, StockEstimates], covariance: Covariance, holdings: dict[str, float],
                  cross_impact: float = 0.5, hedge_credit: float = 1.0, horizon: float = 1.0
                  ) -> BasketSequenceParams:
    """The :class:`BasketSequenceParams` of trading ``holdings`` (shares by name, + long to sell, − short to buy
    back) one after another over ``horizon`` days (module docstring); ValueError naming what is invalid."""
    names = covariance.names
    if set(holdings) != set(names) or len(names) < 2:
        raise ValueError(f"holdings must name each stock of the data once, at least two: {list(names)} (got "
                         f"{sorted(holdings)})")
    if any(holdings[name] == 0 for name in names):
        raise ValueError("holdings must be non-zero: a basket trade of no shares has no side")
    duration = horizon / len(names)
    return BasketSequenceParams(
        notionals=tuple(abs(holdings[name]) * stocks[name].arrival_price for name in names),
        sides=tuple(-1 if holdings[name] > 0 else 1 for name in names),
        correlation=tuple(map(tuple, covariance.correlation.tolist())),
        impact_bps=tuple(trade_impact_bps(stocks[name], abs(holdings[name]), duration) for name in names),
        cross_impact=cross_impact, hedge_credit=hedge_credit)
