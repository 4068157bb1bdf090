"""PortfolioExec-v0 calibrated from several stocks' data: each asset's costs, their covariance and its factor
model, for a book of holdings.

| field | from |
|---|---|
| arrival_prices | each asset's last quoted mid |
| covariance Σ | the assets' realized covariance of quoted mids every 5 minutes (:func:`~.estimates.realized_covariance`) |
| temporary_impact H | diagonal: each asset's linear temporary impact for its own position (:func:`~.optimal_exec.order_params`); off the diagonal c·ρ_ij·√(H_ii·H_jj), ρ the estimated correlation and c the desk's cross-impact ratio (not estimated: a tape shows no one's trades in two names at once) |
| permanent_impact Γ | each asset's γ_i on the diagonal, c·ρ_ij·√(γ_i·γ_j) off it |
| half_spreads | each asset's quoted half spread |
| holdings, horizon, periods, risk_aversion | the desk's book |
"""

from __future__ import annotations

import numpy as np

from execgym.calibration.estimates import Covariance
from execgym.calibration.optimal_exec import Order, StockEstimates, order_params
from execgym.problems.portfolio_exec.params import PortfolioExecParams


def book_params(stocks: dict[str, StockEstimates], covariance: Covariance, holdings: dict[str, float],
                cross_impact: float = 0.3, horizon: float = 1.0, periods: int = 13, risk_aversion: float = 5e-7
                ) -> PortfolioExecParams:
    """The :class:`PortfolioExecParams` of ``holdings`` (shares by name, + long to sell, − short to buy back)
    in the estimated stocks (module docstring); ValueError naming a holding without data, or the params' field."""
    names = covariance.names
    if set(holdings) != set(names) or len(names) < 2:
        raise ValueError(f"holdings must name each stock of the data once, at least two: {list(names)} (got "
                         f"{sorted(holdings)})")
    if not 0.0 <= cross_impact < 1.0:
        raise ValueError(f"cross_impact must be in [0, 1), got {cross_impact}")
    temporary, permanent = [], []
    for name in names:
        single = order_params(stocks[name], Order(shares=abs(holdings[name]), horizon=horizon, periods=periods))
        temporary.append(single.temporary_impact), permanent.append(single.permanent_impact)
    correlation = covariance.correlation

    def with_cross(diagonal: list[float]) -> np.ndarray:
        diagonal = np.asarray(diagonal)
        matrix = cross_impact * correlation * np.sqrt(np.outer(diagonal, diagonal))
        np.fill_diagonal(matrix, diagonal)
        return matrix

    return PortfolioExecParams(
        holdings=tuple(float(holdings[name]) for name in names),
        arrival_prices=tuple(stocks[name].arrival_price for name in names),
        covariance=tuple(map(tuple, covariance.matrix.tolist())),
        temporary_impact=tuple(map(tuple, with_cross(temporary).tolist())),
        permanent_impact=tuple(map(tuple, with_cross(permanent).tolist())),
        half_spreads=tuple(stocks[name].half_spread.value for name in names), risk_aversion=risk_aversion,
        horizon=horizon, periods=periods)
