"""Every field of every params class refuses bad values (NaN, ±inf, negative, zero, huge, tiny, booleans, complex
numbers, strings, None, arrays, objects; for sequences also a bad entry) with a ValueError naming the field."""

import math

import numpy as np
import pytest

from execgym.problems.basket_sequence.params import BasketSequenceParams
from execgym.problems.limit_or_market.params import LimitOrMarketParams
from execgym.problems.market_making.params import MarketMakingParams
from execgym.problems.optimal_exec.params import OptimalExecParams
from execgym.problems.portfolio_exec.params import PortfolioExecParams
from execgym.problems.regime_exec.params import RegimeExecParams
from execgym.problems.twap_vwap.params import TwapVwapParams

BAD = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf, "negative": -1.0, "zero": 0.0, "huge": 1e300,
       "huge int": 10**400, "tiny": 5e-324, "bool": True, "complex": 1 + 1j, "string": "1", "None": None,
       "array": np.array([1.0, 2.0]), "object": object()}
"""The bad values tried for every field (a value a field accepts is named in its table entry)."""
WHOLE = {"string": "abc", "number": 1.0, "None": None, "object": object(), "nested": [[[1.0]]]}
"""Values that are not sequences (or have too many dimensions), tried for sequence fields."""


def vector(size: int, fill: float, at: int = -1):
    """A sequence field: ``size`` entries ``fill`` with the bad value at position ``at``."""
    def put(value):
        entries = [fill] * size
        entries[at] = value
        return entries
    return put


def matrix(base, at: tuple[int, int]):
    """A matrix field: ``base`` (rows) with the bad value at ``at``."""
    def put(value):
        rows = [list(row) for row in np.asarray(base, dtype=np.float64).tolist()]
        rows[at[0]][at[1]] = value
        return rows
    return put


# (params class, base keyword arguments, {field: (valid labels of BAD, how a bad value enters the field or None)})
NONNEGATIVE = {"zero", "tiny"}
SIGNED = {"negative", "zero", "tiny"}
DEFAULT_PORTFOLIO = PortfolioExecParams()
TABLES = [
    (OptimalExecParams, {}, {
        "shares": (set(), None), "side": (set(), None), "arrival_price": (set(), None),
        "volatility": (set(), None), "horizon": (set(), None), "periods": (set(), None),
        "permanent_impact": (NONNEGATIVE, None), "temporary_impact": (set(), None),
        "half_spread": (NONNEGATIVE, None), "risk_aversion": (NONNEGATIVE, None), "drift": (SIGNED, None),
        "mean_reversion": (NONNEGATIVE, None), "price_mean": ({"None"}, None),
        "impact_profile": ({"None"}, vector(13, 1.0)), "impact_exponent": (set(), None),
        "impact_table": ({"None", "zero", "tiny"}, matrix([[0.0, 1e-3]] * 13, (12, 1))),
        "trade_caps": ({"None", "inf", "zero", "tiny"}, vector(13, 1e6)), "smoothness": (NONNEGATIVE, None),
        "target_penalty": ({"None"}, None), "two_way": ({"bool"}, None), "max_trade": (set(), None),
        "transient_impact": ({"zero"}, None), "resilience": (NONNEGATIVE, None)}),
    (RegimeExecParams, {}, {
        "shares": (set(), None), "side": (set(), None), "arrival_price": (set(), None),
        "volatility": (set(), None), "horizon": (set(), None), "periods": (set(), None),
        "permanent_impact": (NONNEGATIVE, None), "temporary_impact": (set(), None),
        "half_spread": (NONNEGATIVE, None), "risk_aversion": (NONNEGATIVE, None),
        "regime_volatility": (set(), vector(2, 1.0)), "regime_liquidity": (set(), vector(2, 1.0)),
        "transitions": ({"zero", "tiny"}, matrix([[1.0, 0.0], [0.0, 1.0]], (0, 1))), "initial_regime": ({"zero"}, None)}),
    (PortfolioExecParams, {}, {
        "holdings": ({"negative", "zero"}, vector(3, 1e6)), "arrival_prices": (set(), vector(3, 50.0)),
        "covariance": ({"None"}, matrix(DEFAULT_PORTFOLIO.covariance, (0, 0))),
        "temporary_impact": ({"None"}, matrix(DEFAULT_PORTFOLIO.temporary_impact, (0, 0))),
        "permanent_impact": ({"None"}, matrix(DEFAULT_PORTFOLIO.permanent_impact, (0, 0))),
        "half_spreads": ({"None", "zero", "tiny"}, vector(3, 0.01)), "risk_aversion": (NONNEGATIVE, None),
        "horizon": (set(), None), "periods": (set(), None),
        "transient_impact": ({"None", "zero"}, vector(3, 3e-8)), "resilience": ({"None"}, vector(3, 1.0))}),
    (BasketSequenceParams, {"trades": 3}, {
        "trades": ({"None"}, None), "notionals": ({"None"}, vector(3, 1e6)),
        "sides": ({"None", "negative"}, vector(3, 1)), "correlation": ({"None"}, matrix(np.eye(3), (0, 0))),
        "impact_bps": ({"None", "zero", "tiny"}, vector(3, 10.0)), "cross_impact": (NONNEGATIVE, None),
        "hedge_credit": (NONNEGATIVE, None), "cost_noise": (NONNEGATIVE, None), "heuristic": ({"bool"}, None),
        "instance_seed": (set(), None)}),
    (BasketSequenceParams, {"cost_matrix": np.zeros((3, 3))}, {
        "cost_matrix": (SIGNED | {"None"}, matrix(np.zeros((3, 3)), (0, 1))),
        "start_costs": (SIGNED | {"None"}, vector(3, 0.0))}),
    (MarketMakingParams, {}, {
        "mid_price": (SIGNED, None), "volatility": (NONNEGATIVE, None), "drift": (SIGNED, None),
        "horizon": (set(), None), "steps": (set(), None), "arrival_rate": (set(), None),
        "depth_decay": (set(), None), "max_inventory": (set(), None), "initial_inventory": (set(), None),
        "inventory_penalty": (NONNEGATIVE, None), "terminal_penalty": (NONNEGATIVE, None),
        "max_depth": (set(), None), "tick_size": ({"None"}, None), "fill_probability": (set(), None),
        "price_shocks": (set(), None), "objective": (set(), None)}),
    (MarketMakingParams, {"objective": "cara", "risk_aversion": 0.1}, {"risk_aversion": (set(), None)}),
    (LimitOrMarketParams, {}, {
        "lots": (set(), None), "deadline": (set(), None), "max_depth": (set(), None), "tick_bps": (set(), None),
        "spread_ticks": (set(), None), "book_lots": ({"None"}, None),
        "market_fractions": ({"tiny"}, vector(1, 1.0, at=0)), "touch_fill_probability": (NONNEGATIVE, None),
        "fill_decay": (NONNEGATIVE, None), "fill_probabilities": ({"None", "zero", "tiny"}, vector(5, 0.1)),
        "move_probability": (NONNEGATIVE, None), "drift": (NONNEGATIVE, None),
        "adverse_selection": (NONNEGATIVE, None)}),
    (TwapVwapParams, {}, {
        "buckets": (set(), None), "volume_profiles": ({"None"}, vector(13, 1.0)),
        "day_probabilities": ({"None"}, vector(1, 1.0)), "impact": ({"None"}, vector(13, 100.0)),
        "volatility": (NONNEGATIVE, None), "risk_aversion": (NONNEGATIVE, None),
        "pov_rate": ({"None", "tiny"}, None), "order_size": (set(), None)}),
]
CASES = [pytest.param(cls, base, field, valid, put, id=f"{cls.__name__}.{field}")
         for cls, base, table in TABLES for field, (valid, put) in table.items()]


def bad_values(valid: set, put) -> dict:
    """The bad values of a field (:data:`BAD` less its ``valid`` labels): as the field's value, or put as an
    entry of a sequence field by ``put`` (whose whole value is also tried as :data:`WHOLE`)."""
    values = {label: value for label, value in BAD.items() if label not in valid}
    if put is None:
        return values
    whole = {f"whole {label}": value for label, value in WHOLE.items() if label not in valid}
    return {**{f"entry {label}": put(value) for label, value in values.items() if label != "None"}, **whole}


@pytest.mark.parametrize("cls, base, field, valid, put", CASES)
def test_bad_values_raise_naming_the_field(cls, base, field, valid, put):
    wrong = []
    for label, value in bad_values(valid, put).items():
        try:
            cls(**{**base, field: value})
        except ValueError as error:
            if field not in str(error):
                wrong.append(f"{label}: {error}")
        except Exception as error:      # noqa: BLE001 - any other exception is what the test reports
            wrong.append(f"{label}: {type(error).__name__}: {error}")
        else:
            wrong.append(f"{label}: accepted")
    assert not wrong, "\n".join(wrong)


def test_every_field_is_fuzzed():
    """The tables above cover every field of every params class."""
    from dataclasses import fields
    covered = {(cls, field) for cls, _, table in TABLES for field in table}
    missing = [f"{cls.__name__}.{f.name}" for cls in {cls for cls, _, _ in TABLES} for f in fields(cls)
               if (cls, f.name) not in covered]
    assert not missing, missing
