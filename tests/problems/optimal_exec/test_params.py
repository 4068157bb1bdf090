"""OptimalExecParams: validation names the parameter and range; the market-data helper gives the paper's units."""

import math

import numpy as np
import pytest

from execgym.problems.optimal_exec import schedule
from execgym.problems.optimal_exec.params import OptimalExecParams


def test_from_market_data_reproduces_the_almgren_chriss_example():
    p = OptimalExecParams.from_market_data(price=50.0, annual_volatility=0.3, daily_volume=5e6, spread=0.125,
                                           shares=1e6, horizon=5.0, periods=5, risk_aversion=1e-6)
    assert p.volatility == pytest.approx(0.3 * 50 / math.sqrt(250))  # ≈ 0.95 $/share/√day
    assert p.half_spread == 0.0625
    assert p.permanent_impact == pytest.approx(2.5e-7)
    assert p.temporary_impact == pytest.approx(2.5e-6)
    assert p.eta_tilde == pytest.approx(2.5e-6 - 0.5 * 2.5e-7)


def test_period_risk_is_lambda_times_one_periods_shock_variance():
    p = OptimalExecParams()
    assert p.period_risk == pytest.approx(p.risk_aversion * p.volatility**2 * p.tau, rel=1e-14)
    reverting = OptimalExecParams(mean_reversion=2.0)
    phi = reverting.reversion_factor
    assert reverting.period_risk == pytest.approx(
        reverting.risk_aversion * reverting.volatility**2 * (1 - phi**2) / (2 * 2.0), rel=1e-12)


@pytest.mark.parametrize("side, drift", [("sell", 0.0), ("buy", 0.3), ("sell", -0.2)])
def test_the_period_costs_of_a_schedule_sum_to_its_objective(side, drift):
    p = OptimalExecParams(side=side, drift=drift, periods=6)
    holdings = p.shares * np.array([1.0, 0.7, 0.45, 0.3, 0.2, 0.05, 0.0])
    costs = schedule.period_cost(p, -np.diff(holdings), holdings[1:])
    assert costs.sum() == pytest.approx(float(schedule.objective(p, holdings)), rel=1e-12)


def test_defaults_are_the_documented_liquid_stock():
    default = OptimalExecParams()
    built = OptimalExecParams.from_market_data(price=100.0, annual_volatility=0.25, daily_volume=1e7, spread=0.02)
    assert built == default
    assert (default.shares, default.horizon, default.periods) == (1e6, 1.0, 13)
    assert default.notional == 1e8 and default.bps_per_currency == pytest.approx(1e-4)


@pytest.mark.parametrize("field, value, message", [
    ("shares", 0.0, r"shares must be in \[1e-06, 1e\+12\], got 0\.0"),
    ("shares", float("nan"), "shares must be in"),
    ("side", "short", "side must be one of 'sell', 'buy'"),
    ("arrival_price", -1.0, "arrival_price must be in"),
    ("volatility", 0.0, "volatility must be in"),
    ("horizon", -1.0, "horizon must be in"),
    ("periods", 0, r"periods must be an integer in \[1, 100000\]"),
    ("periods", 2.5, "periods must be an integer"),
    ("permanent_impact", -1e-9, "permanent_impact must be in"),
    ("temporary_impact", 0.0, "temporary_impact must be in"),
    ("half_spread", -0.01, "half_spread must be in"),
    ("risk_aversion", -1.0, "risk_aversion must be in"),
    ("drift", float("inf"), "drift must be in"),
    ("risk_aversion", "high", "risk_aversion must be a real number"),
])
def test_invalid_values_raise_naming_the_parameter(field, value, message):
    with pytest.raises(ValueError, match=message):
        OptimalExecParams(**{field: value})


def test_non_convex_impact_raises_with_the_bound():
    with pytest.raises(ValueError, match="temporary_impact must exceed permanent_impact"):
        OptimalExecParams(temporary_impact=1e-9, permanent_impact=1e-6, periods=1)


def test_unknown_keyword_raises_listing_valid_names():
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['sigma'\]"):
        OptimalExecParams.from_kwargs(sigma=1.0)


def test_params_are_frozen():
    with pytest.raises(AttributeError):
        OptimalExecParams().shares = 1.0
