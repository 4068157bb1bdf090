"""BasketSequence-v0's distribution of markets: every sampled basket is valid and shares the median basket's
spaces, its features lie in [−1, 1] in training; the test and OOD sets build with every oracle; the median basket
is the one the docstring describes, computed by hand; sides are even and correlations in range; every OOD
basket's impact lingers longer than any training basket's."""

import math
import time

import numpy as np
import pytest

import execgym
from execgym.distributions import market_set, normalised_features
from execgym.problems.basket_sequence.distribution import DISTRIBUTION, FEATURES
from execgym.registry import problem

ENV = "BasketSequence-v0"
SPEC = problem(ENV)
MEDIAN = SPEC.params(**DISTRIBUTION.median())


def random_order_cost(params) -> float:
    """E[C] of a uniformly random order: the mean start cost plus n − 1 steps at the mean cost of a pair."""
    n = params.trades
    return float(params.first_costs.mean() + params.costs.sum() / n)


def test_the_features_are_distinct_finite_on_the_default_basket_and_refused_for_a_cost_matrix():
    assert len({feature.name for feature in FEATURES}) == len(FEATURES)
    assert np.isfinite(normalised_features(FEATURES, SPEC.params())).all()
    with pytest.raises(ValueError, match="defined for constructed baskets only"):
        normalised_features(FEATURES, SPEC.params(cost_matrix=np.ones((3, 3))))


def test_the_test_and_ood_sets_build_with_every_oracle():
    for split in ("test", "ood"):
        markets = list(market_set(ENV, split))
        start = time.perf_counter()
        oracles = execgym.make_oracles(ENV, markets)
        seconds = time.perf_counter() - start
        returns = np.array([oracle.expected_return for oracle in oracles])
        saving = np.array([random_order_cost(params) for params in markets]) + returns
        print(f"\n{ENV} {split}: {len(oracles)} oracles in {seconds:.2f} s; expected return (bps) percentiles "
              f"0/50/100: {np.percentile(returns, [0, 50, 100]).round(2)}; saving on a random order (bps) "
              f"0/50/100: {np.percentile(saving, [0, 50, 100]).round(2)}")
        assert len(oracles) == 256 and np.isfinite(returns).all() and (saving >= -1e-9).all()
        if split == "test":
            assert (np.abs([normalised_features(FEATURES, params) for params in markets]) <= 1.0 + 1e-9).all()


def test_the_median_basket_is_the_one_described():
    participation, volume = math.sqrt(0.01 * 0.05), math.sqrt(1e8 * 1e9)
    volatility = 100.0 * 4.0 ** 0.5                      # z = ½, u = ½: 100·4^{0.3 + 0.2} bps
    assert MEDIAN.trades == 8
    np.testing.assert_allclose(MEDIAN.notionals, participation * volume, rtol=1e-12)
    np.testing.assert_allclose(MEDIAN.impact_bps, 1.0 * volatility * math.sqrt(participation), rtol=1e-12)
    assert MEDIAN.sides == (1,) * 8                      # a buy at u = ½
    rho = np.array(MEDIAN.correlation)                  # β = 0.5, γ = 0.45, all in sector ⌊1.5⌋ = 1
    np.testing.assert_allclose(rho[~np.eye(8, dtype=bool)], 0.5**2 + 0.45**2, rtol=1e-12)
    assert MEDIAN.cross_impact == pytest.approx(0.4) and MEDIAN.hedge_credit == pytest.approx(0.75)
    assert MEDIAN.cost_noise == 0.1


def test_sides_are_even_and_correlations_within_the_stated_range_across_the_test_set():
    markets = list(market_set(ENV, "test"))
    sides = np.concatenate([p.sides for p in markets])
    assert abs((sides == 1).mean() - 0.5) < 0.04                    # 2,048 sides: 3.6 standard deviations
    upper = np.triu_indices(8, 1)
    rho = np.concatenate([np.array(p.correlation)[upper] for p in markets])
    assert rho.min() >= 0.09 - 1e-12 and rho.max() <= 0.85 + 1e-12


def test_every_ood_basket_lingers_longer_than_any_training_basket():
    names = [feature.name for feature in FEATURES]
    ood = np.array([normalised_features(FEATURES, params) for params in market_set(ENV, "ood")])
    assert (ood[:, names.index("cross_impact")] > 1.0).all()
    assert np.median(ood[:, names.index("mean_correlation")]) > 0.0
