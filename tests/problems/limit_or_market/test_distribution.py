"""LimitOrMarket-v0's distribution of markets: every sampled market is valid and shares the median market's
spaces, its features lie in [−1, 1] in training; the test and OOD sets build with every oracle; the median
market is the one the docstring describes, computed by hand; liquid names have narrower spreads, deeper books and
busier fills; every OOD market has stronger adverse selection and sparser fills than any training market."""

import math
import time

import numpy as np
import pytest

import execgym
from execgym.distributions import market_set, normalised_features
from execgym.problems.limit_or_market.distribution import DISTRIBUTION, FEATURES
from execgym.registry import problem

ENV = "LimitOrMarket-v0"
SPEC = problem(ENV)
MEDIAN = SPEC.params(**DISTRIBUTION.median())


def test_the_features_are_distinct_and_finite_on_the_default_market_and_an_unlimited_bid():
    assert len({feature.name for feature in FEATURES}) == len(FEATURES)
    assert np.isfinite(normalised_features(FEATURES, SPEC.params())).all()
    assert np.isfinite(normalised_features(FEATURES, SPEC.params(book_lots=None))).all()


def test_the_test_and_ood_sets_build_with_every_oracle():
    for name in ("test", "ood"):
        markets = list(market_set(ENV, name))
        start = time.perf_counter()
        oracles = execgym.make_oracles(ENV, markets)
        seconds = time.perf_counter() - start
        returns = np.array([oracle.expected_return for oracle in oracles])
        first = np.array([oracle.solution.policy[0, p.lots] for oracle, p in zip(oracles, markets)])
        depths = np.bincount(first, minlength=MEDIAN.num_actions)
        print(f"\n{ENV} {name}: {len(oracles)} oracles in {seconds:.2f} s; expected improvement on the arrival "
              f"mid (bps) percentiles 0/50/100: {np.percentile(returns, [0, 50, 100]).round(2)}; first action "
              f"(limit at 0..4 ticks, market half, all): {depths.tolist()}")
        assert len(oracles) == 256 and np.isfinite(returns).all()
        if name == "test":
            assert (np.abs([normalised_features(FEATURES, params) for params in markets]) <= 1.0 + 1e-9).all()
            assert (depths > 0).sum() >= 3                 # the optimal first order differs across markets


def test_the_median_market_is_the_one_described():
    assert MEDIAN.tick_bps == pytest.approx(math.sqrt(10.0), rel=1e-12)
    assert MEDIAN.spread_ticks == 1 + math.floor(3.0 * (0.6 * 0.5 + 0.4 * 0.5)) == 2
    assert MEDIAN.book_lots == round(2.0 * math.sqrt(5.0)) == 4
    assert MEDIAN.touch_fill_probability == pytest.approx(0.05 * math.sqrt(8.0), rel=1e-12)
    assert MEDIAN.fill_decay == pytest.approx(0.85) and MEDIAN.adverse_selection == pytest.approx(0.4)
    assert MEDIAN.move_probability == pytest.approx(0.5)
    assert (MEDIAN.lots, MEDIAN.deadline, MEDIAN.max_depth, MEDIAN.market_fractions, MEDIAN.drift) == (
        20, 10, 4, (0.5, 1.0), 0.0)


def test_liquid_names_have_narrower_spreads_deeper_books_and_busier_fills():
    markets = list(market_set(ENV, "test"))
    spread = np.array([p.spread_ticks for p in markets])
    book = np.log([p.book_lots for p in markets])
    touch = np.log([p.touch_fill_probability for p in markets])
    assert set(spread.tolist()) == {1, 2, 3}
    assert np.corrcoef(book, touch)[0, 1] > 0.5
    assert np.corrcoef(spread, book)[0, 1] < -0.3 and np.corrcoef(spread, touch)[0, 1] < -0.3


def test_every_ood_market_has_stronger_adverse_selection_and_sparser_fills():
    names = [feature.name for feature in FEATURES]
    ood = np.array([normalised_features(FEATURES, params) for params in list(market_set(ENV, "ood"))])
    assert (ood[:, names.index("adverse_selection")] > 1.0).all()
    assert (ood[:, names.index("touch_fill_probability")] <= -1.0 + 1e-9).all()
