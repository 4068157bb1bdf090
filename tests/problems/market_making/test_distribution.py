"""MarketMaking-v0's distribution of markets: every sampled market is valid and shares the median market's
spaces, its features lie in [−1, 1] in training; the test and OOD sets build, every oracle's estimated build
time is under 0.2 s, and (slow) every oracle of the test set builds; the median market is the one the docstring
describes, computed by hand; liquid names have more orders, steeper books and less volatility; every OOD market
is more volatile with thinner order flow than any training market."""

import math
import time

import numpy as np
import pytest

import execgym
from execgym.distributions import market_set, normalised_features
from execgym.problems.market_making.distribution import DISTRIBUTION, FEATURES
from execgym.registry import problem

ENV = "MarketMaking-v0"
SPEC = problem(ENV)
MEDIAN = SPEC.params(**DISTRIBUTION.median())


def test_the_features_are_distinct_and_finite_on_the_default_market():
    assert len({feature.name for feature in FEATURES}) == len(FEATURES)
    assert np.isfinite(normalised_features(FEATURES, SPEC.params())).all()


@pytest.mark.parametrize("name", ["test", "ood"])
def test_the_sets_build_and_every_oracle_is_estimated_under_a_fifth_of_a_second(name):
    markets = list(market_set(ENV, name))
    assert len(markets) == 256
    assert max(SPEC.oracle_cost(params).seconds for params in markets) < 0.2
    for params in markets[:2]:                    # the estimate holds (with a margin for a busy machine)
        start = time.perf_counter()
        assert math.isfinite(execgym.make_oracle(ENV, params=params).expected_return)
        assert time.perf_counter() - start < 1.0


@pytest.mark.slow
def test_every_oracle_of_the_test_set_builds():
    markets = list(market_set(ENV, "test"))
    start = time.perf_counter()
    oracles = execgym.make_oracles(ENV, markets)
    seconds = time.perf_counter() - start
    returns = np.array([oracle.expected_return for oracle in oracles])
    spreads = np.array([oracle.tables.bid[0, p.max_inventory] + oracle.tables.ask[0, p.max_inventory]
                        for oracle, p in zip(oracles, markets)])
    print(f"\n{ENV} test: {len(oracles)} oracles in {seconds:.1f} s; expected return (currency) percentiles "
          f"0/50/100: {np.percentile(returns, [0, 50, 100]).round(2)}; optimal spread at the start, flat "
          f"(currency): {np.percentile(spreads, [0, 50, 100]).round(3)}")
    assert np.isfinite(returns).all() and np.isfinite(spreads).all()


def test_the_median_market_is_the_one_described():
    decay = 0.5 * 10.0**0.5                               # z = ½: 0.5·10^{0.3 + 0.2}
    assert MEDIAN.arrival_rate == pytest.approx(50.0 * 12.0**0.5, rel=1e-12)
    assert MEDIAN.depth_decay == pytest.approx(decay, rel=1e-12)
    assert MEDIAN.volatility == pytest.approx(2.0, rel=1e-12)
    assert MEDIAN.inventory_penalty == pytest.approx(math.sqrt(0.01 * 0.5) * 2.0**2 / 2.0, rel=1e-12)
    assert MEDIAN.terminal_penalty == pytest.approx(math.sqrt(0.05), rel=1e-12)
    assert MEDIAN.max_inventory == round(10.0 * math.sqrt(5.0)) == 22
    assert MEDIAN.max_depth == pytest.approx(7.5 / decay, rel=1e-12)
    default = SPEC.params()
    for name in ("mid_price", "horizon", "steps", "fill_probability", "objective", "tick_size", "price_shocks"):
        assert getattr(MEDIAN, name) == getattr(default, name), name


def test_liquid_names_have_more_orders_steeper_books_and_less_volatility():
    markets = list(market_set(ENV, "test"))
    arrivals, decay, volatility = (np.log([getattr(p, name) for p in markets])
                                   for name in ("arrival_rate", "depth_decay", "volatility"))
    assert np.corrcoef(arrivals, decay)[0, 1] > 0.5
    assert np.corrcoef(arrivals, volatility)[0, 1] < -0.5
    assert all(p.depth_decay * p.max_depth == pytest.approx(7.5) for p in markets)


def test_every_ood_market_is_more_volatile_with_thinner_order_flow():
    names = [feature.name for feature in FEATURES]
    ood = np.array([normalised_features(FEATURES, params) for params in list(market_set(ENV, "ood"))])
    assert (ood[:, names.index("volatility")] >= 1.0 - 1e-9).all()
    assert (ood[:, names.index("arrivals")] <= -1.0 + 1e-9).all()
