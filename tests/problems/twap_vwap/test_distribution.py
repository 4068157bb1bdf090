"""TwapVwapSwitch-v0's distribution of markets: every sampled market is valid and shares the median market's
spaces, its features lie in [−1, 1] in training; the test and OOD sets build with every oracle of the test set
(and, slow, of the OOD set), whose optimal paces differ across markets; the median market is the one the
docstring describes, computed by hand; impact grows with volatility; every OOD market has a more skewed day and
a more volatile price than any training market."""

import collections
import math
import time

import numpy as np
import pytest

import execgym
from execgym.distributions import market_set, normalised_features
from execgym.problems.twap_vwap.distribution import DISTRIBUTION, FEATURES
from execgym.registry import problem

ENV = "TwapVwapSwitch-v0"
SPEC = problem(ENV)
MEDIAN = SPEC.params(**DISTRIBUTION.median())


def test_the_features_are_distinct_and_finite_on_the_default_market_and_two_day_types():
    assert len({feature.name for feature in FEATURES}) == len(FEATURES)
    assert np.isfinite(normalised_features(FEATURES, SPEC.params())).all()
    assert np.isfinite(normalised_features(FEATURES, SPEC.params(volume_profiles=[[1.0] * 13, [2.0] + [1.0] * 12],
                                            day_probabilities=(0.3, 0.7)))).all()


def oracle_summary(name: str):
    """The oracles of split ``name``, built, with their returns and the optimal pace sequences' counts (printed)."""
    markets = list(market_set(ENV, name))
    start = time.perf_counter()
    oracles = execgym.make_oracles(ENV, markets)
    seconds = time.perf_counter() - start
    returns = np.array([oracle.expected_return for oracle in oracles])
    paces = collections.Counter("".join("TV"[a] for a in oracle.paces[0]) for oracle in oracles)
    print(f"\n{ENV} {name}: {len(oracles)} oracles in {seconds:.2f} s; expected return (bps) percentiles "
          f"0/50/100: {np.percentile(returns, [0, 50, 100]).round(1)}; {len(paces)} optimal pace sequences "
          f"(T: TWAP, V: VWAP), the commonest {paces.most_common(3)}")
    assert len(oracles) == 256 and np.isfinite(returns).all()
    return markets, paces


@pytest.mark.slow
def test_the_test_set_builds_with_every_oracle_and_the_ood_set_builds():
    markets, paces = oracle_summary("test")
    assert (np.abs([normalised_features(FEATURES, params) for params in markets]) <= 1.0 + 1e-9).all()
    assert len(paces) >= 5 and paces.most_common(1)[0][1] < 0.8 * 256
    assert len(list(market_set(ENV, "ood"))) == 256


@pytest.mark.slow
def test_every_oracle_of_the_ood_set_builds():
    oracle_summary("ood")


def test_the_median_market_is_the_one_described():
    ratio, volatility, level, premium = math.sqrt(1.5 * 5.0), 200.0, 100.0, 3.75     # k = ½ of 0.25–1
    u = (np.arange(13) + 0.5) / 13.0
    volumes = 1.0 + (ratio - 1.0) * (2.0 * u - 1.0) ** 2
    volumes /= volumes.sum()
    impact = level * (1.0 + (premium - 1.0) * 0.5 ** (np.arange(13) / 2.0)) / (13.0 * volumes)   # halves per hour
    np.testing.assert_allclose(MEDIAN.volumes[0], volumes, rtol=1e-12)
    np.testing.assert_allclose(MEDIAN.impacts[0], impact, rtol=1e-12)
    assert MEDIAN.volatility == pytest.approx(volatility / math.sqrt(13.0), rel=1e-12)
    assert MEDIAN.risk_aversion == pytest.approx(1e-3, rel=1e-12)
    assert (MEDIAN.buckets, MEDIAN.day_types, MEDIAN.pov_rate) == (13, 1, None)


def test_impact_grows_with_volatility_across_the_test_set():
    names = [feature.name for feature in FEATURES]
    values = np.array([[feature.value(params) for feature in FEATURES] for params in list(market_set(ENV, "test"))])
    close, volatility = values[:, names.index("close_impact_bps")], values[:, names.index("daily_volatility_bps")]
    assert np.corrcoef(np.log(close), np.log(volatility))[0, 1] > 0.6
    ratio = close / volatility                       # k·(1 + (κ − 1)/64): k in 0.25–1
    assert ratio.min() >= 0.25 * (1 + 0.5 / 64) - 1e-12 and ratio.max() <= 1.0 * (1 + 5.0 / 64) + 1e-12


def test_every_ood_market_is_more_skewed_and_more_volatile():
    names = [feature.name for feature in FEATURES]
    ood = np.array([normalised_features(FEATURES, params) for params in list(market_set(ENV, "ood"))])
    assert (ood[:, names.index("volume_ratio")] > 1.0).all()
    assert (ood[:, names.index("daily_volatility_bps")] >= 1.0 - 1e-9).all()
