"""PortfolioExec-v0's distribution of markets: every sampled book is valid and shares the median book's spaces,
its features lie in [−1, 1] in training; the test and OOD sets build with every oracle; the median book is the
one the docstring describes, computed by hand; spreads move with volatility and against volume; the OOD books
are more correlated and more cross-impacted than training."""

import math
import time

import numpy as np

import execgym
from execgym.distributions import market_set, normalised_features
from execgym.problems.portfolio_exec.distribution import DISTRIBUTION, FEATURES
from execgym.registry import problem

ENV = "PortfolioExec-v0"
SPEC = problem(ENV)
MEDIAN = SPEC.params(**DISTRIBUTION.median())


def test_the_features_are_distinct_and_finite_on_the_default_book():
    assert len({feature.name for feature in FEATURES}) == len(FEATURES)
    assert np.isfinite(normalised_features(FEATURES, SPEC.params())).all()


def test_the_test_and_ood_sets_build_with_every_oracle():
    for split in ("test", "ood"):
        markets = list(market_set(ENV, split))
        start = time.perf_counter()
        oracles = execgym.make_oracles(ENV, markets)
        seconds = time.perf_counter() - start
        returns = np.array([oracle.expected_return for oracle in oracles])
        first = np.array([1.0 - np.abs(oracle.schedule[1]) @ params.prices / params.notional
                          for oracle, params in zip(oracles, markets)])
        print(f"\n{ENV} {split}: {len(oracles)} oracles in {seconds:.2f} s; expected return (bps) percentiles "
              f"0/50/100: {np.percentile(returns, [0, 50, 100]).round(1)}; notional traded in the first period "
              f"{first.min():.3f}–{first.max():.3f} (TWAP {1 / 13:.3f})")
        assert len(oracles) == 256 and np.isfinite(returns).all()
        if split == "test":
            assert (np.abs([normalised_features(FEATURES, params) for params in markets]) <= 1.0 + 1e-9).all()
            assert first.max() > 1.8 / 13.0 and first.min() < 1.05 / 13.0   # from nearly TWAP to front-loaded


def test_the_median_book_is_the_one_described():
    dollar_volume = 5e7 * math.sqrt(50.0)                         # z = ½ of 5·10⁷–2.5·10⁹
    daily = 0.15 * 2.0 / math.sqrt(250.0)                         # 15 %·4^{½} a year
    price = math.sqrt(10.0 * 300.0)
    spread = 0.15 * daily * math.sqrt(5e7 / dollar_volume) * price    # full spread, noise 2⁰
    volume = dollar_volume / price                                # shares a day
    shares = math.sqrt(0.005 * 0.05) * volume                     # p̄ = √(0.5 %·5 %), long at u = ½
    eta = spread / (0.01 * volume)
    within, across = 0.4**2 + 0.25**2, 0.4**2                     # β = 0.4, s = 0.25
    np.testing.assert_allclose(MEDIAN.shares, shares, rtol=1e-12)
    np.testing.assert_allclose(MEDIAN.prices, price, rtol=1e-12)
    np.testing.assert_allclose(MEDIAN.spreads, spread / 2.0, rtol=1e-12)
    np.testing.assert_allclose(MEDIAN.volatilities, daily * price, rtol=1e-12)
    correlation = np.array([[1, within, across, across], [within, 1, across, across],
                            [across, across, 1, within], [across, across, within, 1]])
    np.testing.assert_allclose(MEDIAN.sigma, correlation * (daily * price) ** 2, rtol=1e-12)
    cross = 0.3 * correlation + 0.7 * np.eye(4)                   # c = 0.3 off the diagonal
    np.testing.assert_allclose(MEDIAN.eta, cross * eta, rtol=1e-12)
    np.testing.assert_allclose(MEDIAN.gamma, cross * eta / 10.0, rtol=1e-12)
    urgency_squared = 0.1 * 2.0                                   # K = √(0.1·2)
    x = MEDIAN.shares
    assert math.isclose(MEDIAN.risk_aversion, urgency_squared * (x @ MEDIAN.eta @ x) / (x @ MEDIAN.sigma @ x),
                        rel_tol=1e-12)
    assert MEDIAN.assets == 4 and MEDIAN.periods == 13 and MEDIAN.horizon == 1.0


def test_spreads_widen_with_volatility_and_narrow_with_volume_across_the_test_set():
    markets = list(market_set(ENV, "test"))
    spread = np.log(np.concatenate([2.0 * p.spreads / p.prices for p in markets]))
    volatility = np.log(np.concatenate([p.volatilities / p.prices for p in markets]))
    volume = np.log(np.concatenate([p.spreads * p.prices / (0.005 * p.eta.diagonal())          # D = S·2ε/(1 %·η)
                                    for p in markets]))
    assert np.corrcoef(spread, volatility)[0, 1] > 0.5
    assert np.corrcoef(spread, volume)[0, 1] < -0.5
    assert np.exp(spread).min() >= 1.4e-4 and np.exp(spread).max() <= 8.1e-3     # 1.4–80 bps


def test_ood_books_are_more_correlated_and_cross_impacted_than_training():
    names = [feature.name for feature in FEATURES]
    ood = np.array([normalised_features(FEATURES, params) for params in market_set(ENV, "ood")])
    for name in ("mean_correlation", "cross_impact", "temporary_cost_bps"):
        assert np.median(ood[:, names.index(name)]) > 1.0, name
