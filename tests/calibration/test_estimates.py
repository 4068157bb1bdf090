"""Estimators on simulated data of known parameters: each recovers its truth within its interval, and the 95 %
intervals cover the truth about 95 % of the time over many seeds."""

import numpy as np
import pytest
import scipy.stats

from execgym.calibration import estimates
from execgym.calibration.synthetic import SyntheticStock, simulate

STOCK = SyntheticStock(days=10, sweep_decay=20.0)


def estimate_all(market, stock=STOCK) -> dict:
    """Every estimate of one simulated market, beside its truth: {name: (Estimate, truth)}."""
    metaorders = estimates.metaorder_table(market.executions, market.quotes)
    permanent = estimates.permanent_impact(metaorders)
    spread = estimates.quoted_half_spread(market.quotes)
    temporary = estimates.temporary_impact(metaorders, spread.value)
    signs = estimates.lee_ready_signs(market.trades, market.quotes)
    intensity = estimates.fill_intensity(market.trades, signs, market.quotes)
    return {
        "volatility": (estimates.volatility(market.quotes, executions=market.executions, permanent=permanent.value),
                       stock.volatility),
        "half_spread": (spread, stock.quoted_half_spread),
        "daily_volume": (estimates.daily_volume(market.trades), stock.daily_volume),
        "flow_impact": (estimates.flow_impact(market.trades, signs, market.quotes), stock.permanent_impact),
        "permanent_impact": (permanent, stock.permanent_impact),
        "temporary_cost": (temporary.cost, stock.temporary_impact * temporary.reference_rate**stock.impact_exponent),
        "impact_exponent": (temporary.exponent, stock.impact_exponent),
        "permanent_during": (temporary.permanent, stock.permanent_impact),
        "arrival_rate": (intensity.arrival_rate, stock.arrival_rate()),
        "depth_decay": (intensity.depth_decay, stock.sweep_decay),
    }


def test_every_estimate_recovers_its_truth_within_four_standard_errors():
    for name, (estimate, truth) in estimate_all(simulate(STOCK, seed=3)).items():
        assert abs(estimate.value - truth) < 4 * estimate.standard_error, (name, str(estimate), truth)
        # Kyle's λ is imprecise where the flow explains little of the price's variance, as here
        assert estimate.standard_error < 0.3 * abs(truth) or name == "flow_impact", name
        assert estimate.method


def test_lee_ready_signs_nearly_every_trade_right():
    market = simulate(STOCK, seed=4)
    signs = estimates.lee_ready_signs(market.trades, market.quotes)
    assert np.mean(signs == market.trades["side"].to_numpy()) > 0.995


def test_the_two_scale_variance_removes_the_tick_noise_plain_realized_variance_carries():
    """At 1 s the quoted mid's tick rounding inflates realized variance several times over; the two-scale
    estimate stays at the truth (no desk: the mid's variance is the whole truth)."""
    stock = SyntheticStock(days=5, desk_orders_per_day=0, tick=0.05)
    market = simulate(stock, seed=5)
    grid = estimates.mid_grid(market.quotes, 1.0)
    plain = grid.groupby("day")["mid"].apply(lambda mids: float(np.sum(np.diff(mids) ** 2))).mean()
    assert plain > 2 * stock.volatility**2
    estimate = estimates.volatility(market.quotes)
    assert abs(estimate.value - stock.volatility) < 4 * estimate.standard_error


def test_the_volume_profile_is_the_intraday_intensitys_within_its_errors():
    market = simulate(STOCK, seed=6)
    fractions, errors = estimates.volume_profile(estimates.daily_volume_fractions(market.trades, 13))
    assert fractions.sum() == pytest.approx(1.0)
    z = (fractions - STOCK.volume_profile(13)) / errors
    assert np.all(np.abs(z) < 4.5) and np.mean(z**2) < 3.0


@pytest.mark.slow
def test_the_95_percent_intervals_cover_the_truth_about_95_percent_of_the_time():
    """200 seeds of 10 days each: every estimator's coverage near 95 % (0.88-0.99: the binomial band at 200 seeds,
    widened for the day-clustered regressions, whose 10 clusters undercover slightly)."""
    covered = {}
    for seed in range(200):
        for name, (estimate, truth) in estimate_all(simulate(STOCK, seed=1000 + seed)).items():
            low, high = estimate.interval
            covered.setdefault(name, []).append(low <= truth <= high)
    coverage = {name: float(np.mean(hits)) for name, hits in covered.items()}
    assert all(0.88 <= value <= 0.99 for value in coverage.values()), coverage


def test_too_few_usable_metaorders_get_a_clear_error():
    """One day of executions, orders of one fill, or fills all at one time: the impact regressions refuse."""
    market = simulate(SyntheticStock(days=1, desk_orders_per_day=5), seed=2)
    one_day = estimates.metaorder_table(market.executions, market.quotes)
    with pytest.raises(ValueError, match=r"give 5 usable metaorders over 1 day\(s\).*need at least 3 over 2 days"):
        estimates.permanent_impact(one_day)
    fills = market.executions.assign(timestamp=market.executions.groupby("order_id")["timestamp"].transform("first"))
    assert estimates.metaorder_table(fills, market.quotes).empty
    with pytest.raises(ValueError, match="give 0 usable metaorders"):
        estimates.temporary_impact(estimates.metaorder_table(fills, market.quotes), 0.02)


def test_redraws_keep_the_estimates_correlations():
    """c and α of the temporary impact are redrawn jointly (their sampling correlation kept), and A is redrawn
    given k, as its estimate depends on k."""
    from execgym.calibration.uncertainty import redraw

    market = simulate(STOCK, seed=5)
    metaorders = estimates.metaorder_table(market.executions, market.quotes)
    joint = estimates.temporary_impact(metaorders, 0.0185).joint
    intensity = estimates.fill_intensity(market.trades, market.trades["side"].to_numpy(), market.quotes)
    rng = np.random.default_rng(0)
    draws = [redraw({"temporary": joint, "intensity": intensity}, rng) for _ in range(4000)]
    c, alpha = (np.array([d[name] for d in draws]) for name in ("temporary_cost", "impact_exponent"))
    expected = joint.covariance[0, 1] / np.sqrt(joint.covariance[0, 0] * joint.covariance[1, 1])
    assert np.corrcoef(c, alpha)[0, 1] == pytest.approx(expected, abs=0.05)
    rates, decays = (np.array([d[name] for d in draws]) for name in ("arrival_rate", "depth_decay"))
    assert np.corrcoef(rates, decays)[0, 1] > 0.1                # a larger k makes e^{k·h} larger
    assert np.std(rates) == pytest.approx(intensity.arrival_rate.standard_error, rel=0.1)


@pytest.mark.slow
def test_covariance_and_bar_intervals_cover_their_truths():
    """100 seeds: each entry of three stocks' realized covariance (10 days of quotes; truth β_iβ_jσ_iσ_j off the
    diagonal, σ_i² on it) and the bars' σ, ε and V (20 days of 30-minute bars) covered near 95 % (0.88-0.99)."""
    from execgym.calibration.synthetic import bars, simulate_book

    betas = (0.7, 0.5, 0.3)
    stocks = {name: SyntheticStock(days=10, market_loading=beta, desk_orders_per_day=0, daily_trades=1000,
                                   quote_interval=5.0) for name, beta in zip("ABC", betas)}
    sigma = np.array([stock.diffusion for stock in stocks.values()])
    truth = np.outer(np.array(betas) * sigma, np.array(betas) * sigma)
    np.fill_diagonal(truth, [stock.volatility**2 for stock in stocks.values()])
    bar_stock = SyntheticStock(days=20, desk_orders_per_day=0)
    covered = {}
    for seed in range(100):
        book = simulate_book(stocks, 3000 + 10 * seed)
        covariance = estimates.realized_covariance({name: market.quotes for name, market in book.items()})
        half = scipy.stats.t.ppf(0.975, covariance.days - 1) * covariance.errors
        hits = np.abs(covariance.matrix - truth) <= half
        for i, j in zip(*np.triu_indices(3)):
            covered.setdefault(f"cov{i}{j}", []).append(hits[i, j])
        frame = bars(simulate(bar_stock, 5000 + seed))
        for name, estimate, value in (("bar_volatility", estimates.bar_volatility(frame), bar_stock.volatility),
                                      ("bar_half_spread", estimates.bar_half_spread(frame), bar_stock.quoted_half_spread),
                                      ("bar_volume", estimates.bar_daily_volume(frame), bar_stock.daily_volume)):
            low, high = estimate.interval
            covered.setdefault(name, []).append(low <= value <= high)
    coverage = {name: float(np.mean(hits)) for name, hits in covered.items()}
    assert all(0.88 <= value <= 0.99 for value in coverage.values()), coverage
