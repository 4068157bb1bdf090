"""PortfolioExec-v0 (multi-asset Almgren–Chriss): validation; the LQ oracle against m single-asset closed forms
(uncorrelated book), against the closed form per eigen-portfolio (scalar impact), against the dense KKT solution of
the mean–variance quadratic program (fixed and random books); Monte Carlo; nothing beats it; the seed intuitions
(correlated longs go faster, hedge pairs trade in tandem); non-monotone optima refused; the environments; the baselines (twap, independent single-asset optima)."""

import warnings
from dataclasses import replace

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import assume, given, settings, strategies as st
from vector_checks import assert_equals_sync_vector_env

import execgym
from execgym import engine
from execgym.problems.optimal_exec import policies as single_baselines
from execgym.problems.optimal_exec import closed_form, schedule as single_schedule
from execgym.problems.optimal_exec.oracle import make_oracle as make_single_oracle
from execgym.problems.optimal_exec.params import OptimalExecParams
from execgym.problems.portfolio_exec import dynamics, policies, schedule
from execgym.problems.portfolio_exec.env import PortfolioExecEnv, PortfolioExecVectorEnv
from execgym.problems.portfolio_exec.oracle import make_oracle
from execgym.problems.portfolio_exec.params import PortfolioExecParams

DEFAULT = PortfolioExecParams()
VOLS = (1.6, 0.95)                      # $100 at 25 %, $50 at 30 % annual, per √day


def pair(rho, holdings=(1e6, 5e5), vols=VOLS, eta=(2e-7, 4e-7), gamma=(2e-8, 4e-8), cross=0.0, **other):
    """A two-asset book with correlation ``rho``, diagonal permanent impact and temporary cross-impact ``cross``."""
    sigma = np.array([[1.0, rho], [rho, 1.0]]) * np.outer(vols, vols)
    eta = np.array(eta)
    temporary = np.diag(eta) + cross * np.sqrt(np.outer(eta, eta)) * (1.0 - np.eye(2))
    return PortfolioExecParams(holdings=holdings, arrival_prices=(100.0, 50.0), covariance=sigma,
                               temporary_impact=temporary, permanent_impact=np.diag(gamma),
                               half_spreads=(0.01, 0.02), **other)


def single_asset(p, i):
    """Asset i of a book as a single-asset OptimalExec problem (its own notional)."""
    x = p.shares[i]
    return OptimalExecParams(shares=abs(x), side="sell" if x > 0 else "buy", arrival_price=p.prices[i],
                             volatility=float(np.sqrt(p.sigma[i, i])), temporary_impact=p.eta[i, i],
                             permanent_impact=p.gamma[i, i], half_spread=p.spreads[i],
                             risk_aversion=p.risk_aversion, horizon=p.horizon, periods=p.periods)


def dense_qp(p):
    """Minimise E[IS] + λ·Var[IS] over the stacked trades n = (n_1..n_N) ∈ ℝ^{N·m} subject to Σ_k n_k = X, by
    solving the KKT system of the quadratic written out by hand (no spreads: they add ε·|X| on monotone schedules).

    Returns the holdings (N+1, m), the objective in currency including ε·|X|, and the smallest eigenvalue of the
    Hessian on the constraint's null space (> 0: strictly convex, the KKT point is the minimum)."""
    N, m, tau, r = p.periods, p.assets, p.tau, p.risk_aversion * p.tau
    scale = np.abs(p.shares).max()
    X = p.shares / scale                                     # trades in units of the largest position
    identity = np.eye(m)
    A, b, c = np.zeros((N * m, N * m)), np.zeros(N * m), 0.0
    for k in range(1, N + 1):
        pick = np.zeros((m, N * m))                          # n_k = pick·n
        pick[:, (k - 1) * m:k * m] = identity
        done = np.zeros((m, N * m))                          # x_k = X − done·n
        done[:, :k * m] = np.tile(identity, k)
        A += pick.T @ p.eta @ pick / tau                     # n_kᵀ H n_k / τ
        A -= pick.T @ p.gamma.T @ done                       # n_kᵀ Γᵀ x_k
        b += pick.T @ p.gamma.T @ X
        A += r * done.T @ p.sigma @ done                     # λτ x_kᵀ Σ x_k
        b -= 2.0 * r * done.T @ p.sigma @ X
        c += r * X @ p.sigma @ X
    A = 0.5 * (A + A.T)
    total = np.tile(identity, N)
    kkt = np.block([[2.0 * A, total.T], [total, np.zeros((m, m))]])
    n = np.linalg.solve(kkt, np.concatenate([-b, X]))[:N * m]
    value = (n @ A @ n + b @ n + c) * scale**2 + p.spreads @ np.abs(p.shares)
    trades = n.reshape(N, m) * scale
    holdings = np.concatenate([p.shares[None], p.shares - np.cumsum(trades, axis=0)])
    holdings[-1] = 0.0
    null = np.linalg.svd(total)[2][m:].T
    curvature = np.linalg.eigvalsh(null.T @ A @ null).min() if N > 1 else np.inf
    return holdings, value, curvature


def monotone_violation(p, holdings):
    """How far (shares) ``holdings`` (N+1, m) move some position away from zero: 0 for a monotone schedule."""
    toward_zero = holdings * np.sign(p.shares)
    away = np.concatenate([np.diff(toward_zero, axis=0).ravel(), -toward_zero[1:].ravel(),
                           np.abs(holdings[:, p.shares == 0]).ravel()])
    return max(float(away.max()), 0.0)


def random_holdings(rng, p, count):
    """Random feasible schedules (count, N+1, m): each period trades a random fraction of each remaining position
    (skewed by a random power per schedule and asset), the last everything."""
    fractions = rng.uniform(size=(count, p.periods, p.assets)) ** rng.uniform(0.2, 4.0, size=(count, 1, p.assets))
    fractions[:, -1] = 1.0
    kept = np.cumprod(1.0 - fractions, axis=1)
    return p.shares * np.concatenate([np.ones((count, 1, p.assets)), kept], axis=1)


class SchedulePolicy:
    """Plays planned holdings (N+1, m): in period k trades the fraction (x_{k−1} − x_k)/x_{k−1} of each position."""

    def __init__(self, p, holdings):
        self.p = p
        before, after = holdings[:-1], holdings[1:]
        self.fractions = np.divide(before - after, before, out=np.ones_like(before), where=before != 0)
        assert ((self.fractions >= -1e-12) & (self.fractions <= 1 + 1e-12)).all()

    def __call__(self, obs):
        elapsed, _ = dynamics.decode(self.p, obs)
        return (2.0 * np.clip(self.fractions[elapsed], 0.0, 1.0) - 1.0).astype(np.float32)


def played_holdings(p, policy, seed=0):
    """The holdings (N+1, m) when ``policy`` acts in the env (holdings do not depend on prices for policies that
    read only time and holdings, as the oracle and schedule policies do)."""
    env = PortfolioExecEnv(params=p)
    obs, info = env.reset(seed=seed)
    holdings = [info["holdings"]]
    for _ in range(p.periods):
        obs, _, _, _, info = env.step(policy(obs[None])[0])
        holdings.append(info["holdings"])
    return np.array(holdings)


# ------------------------------------------------------------------------------------------------ 1. validation

M2 = ((1.0, 0.2), (0.2, 1.0))
TWO = dict(holdings=(1e6, -5e5), arrival_prices=(100.0, 50.0), covariance=M2, temporary_impact=((2e-7, 0.0),
           (0.0, 4e-7)), permanent_impact=((2e-8, 0.0), (0.0, 4e-8)), half_spreads=(0.01, 0.01))


def two(**changes):
    return {**TWO, **changes}


@pytest.mark.parametrize("kwargs, message", [
    (two(covariance=((1.0, 0.3), (0.2, 1.0))), r"covariance must be symmetric; covariance\[0\]\[1\] = 0\.3 but "
                                               r"covariance\[1\]\[0\] = 0\.2"),
    (two(covariance=((1.0, 2.0), (2.0, 1.0))), r"covariance must be positive semi-definite; its smallest "
                                               r"eigenvalue is -1"),
    (two(covariance=((-1.0, 0.0), (0.0, 1.0))), "covariance must be positive semi-definite"),
    (two(covariance=((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))),
     r"covariance must have shape \(m, m\) = \(2, 2\), got \(3, 3\)"),
    (two(covariance=(1.0, 1.0)), r"covariance must have shape \(m, m\) = \(2, 2\), got \(2,\)"),
    (two(covariance=((1.0, 0.2), (0.2,))), "covariance must be an m×m matrix of numbers"),
    (two(covariance=((1.0, np.nan), (np.nan, 1.0))), r"covariance\[0\]\[1\] must be finite, got nan"),
    (two(temporary_impact=((2e-7, np.inf), (0.0, 4e-7))), r"temporary_impact\[0\]\[1\] must be finite, got inf"),
    (two(permanent_impact=((2e-8, 0.0), (0.0, np.nan))), r"permanent_impact\[1\]\[1\] must be finite, got nan"),
    (two(permanent_impact=((2e-8, 0.0, 0.0),)), r"permanent_impact must have shape \(m, m\) = \(2, 2\)"),
    (two(temporary_impact=((2e-7, 0.0), (0.0, 0.0))), r"symmetric part of temporary_impact − \(tau/2\)·"
                                                      r"permanent_impact must be positive definite"),
    # eigenvalues of H are 3e-7 ∓ √10·1e-7, the smaller −1.62e-8; −τ/2·diag(2e-8, 4e-8) brings it to −1.73e-8
    (two(temporary_impact=((2e-7, 3e-7), (3e-7, 4e-7))), r"smallest eigenvalue is -1\.73e-08"),
    # τ/2·Γ eats the temporary impact: η − τγ/2 = 2e-7 − 2e-7 = 0 with N = 1
    (two(periods=1, permanent_impact=((4e-7, 0.0), (0.0, 4e-8))), "must be positive definite for the cost to be"),
    (two(half_spreads=(0.01, -0.01)), r"half_spreads\[1\] must be in \[0, inf\], got -0\.01"),
    (two(half_spreads=(0.01, np.nan)), r"half_spreads\[1\] must be in \[0, inf\], got nan"),
    (two(half_spreads=(0.01,)), r"half_spreads must be 2 numbers \(one per asset\), got shape \(1,\)"),
    (two(arrival_prices=(100.0, 0.0)), r"arrival_prices\[1\] must be in \[1e-06, 1e\+09\], got 0\.0"),
    (two(arrival_prices=(-1.0, 50.0)), r"arrival_prices\[0\] must be in \[1e-06, 1e\+09\], got -1\.0"),
    (two(arrival_prices=(np.nan, 50.0)), r"arrival_prices\[0\] must be in \[1e-06, 1e\+09\], got nan"),
    (two(arrival_prices=(100.0, 50.0, 80.0)), r"arrival_prices must be 2 numbers \(one per asset\), got shape \(3,\)"),
    (two(holdings=(0.0, 0.0)), "holdings must have at least one nonzero entry"),
    (two(holdings=(1e6, np.nan)), r"holdings\[1\] must be finite, got nan"),
    (two(holdings=()), r"holdings must be a non-empty sequence, got shape \(0,\)"),
    (two(holdings=((1e6, 1e6),)), r"holdings must be a non-empty sequence, got shape \(1, 2\)"),
    (two(holdings="ab"), "holdings must be a sequence of numbers"),
    (two(periods=0), r"periods must be an integer in \[1, 100000\], got 0"),
    (two(periods=100_001), r"periods must be an integer in \[1, 100000\], got 100001"),
    (two(periods=2.0), "periods must be an integer, got 2.0"),
    (two(horizon=0.0), r"horizon must be in \[1e-06, 10000\], got 0\.0"),
    (two(horizon=-1.0), r"horizon must be in \[1e-06, 10000\], got -1\.0"),
    (two(horizon=np.nan), r"horizon must be in \[1e-06, 10000\], got nan"),
    (two(risk_aversion=-1e-9),
     r"risk_aversion must be in \[0, 8000\] \(risk_aversion·Σ\|holdings\|·arrival_prices in \[0, 1e\+12\]\), got -1e-09"),
    (two(risk_aversion=np.nan), r"risk_aversion must be in \[0, 8000\] .*, got nan"),
    (two(risk_aversion=True), "risk_aversion must be a real number, got True"),
])
def test_invalid_parameters_raise_naming_the_parameter_and_range(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PortfolioExecParams(**kwargs)


def test_validation_boundaries():
    """PSD (singular) covariance, zero spreads, zero risk aversion, zero and cross permanent impact are valid; the
    convexity bound is strict: η − τγ/2 = ±1e-9 around 0 for asset 0."""
    singular = PortfolioExecParams(**two(covariance=((1.0, 1.0), (1.0, 1.0)), half_spreads=(0.0, 0.0),
                                         risk_aversion=0.0, permanent_impact=((0.0, 0.0), (0.0, 0.0))))
    np.testing.assert_allclose(singular.shock_loadings @ singular.shock_loadings.T, singular.sigma, atol=1e-15)
    PortfolioExecParams(**two(periods=1, permanent_impact=((4e-7 - 2e-9, 0.0), (0.0, 0.0))))
    with pytest.raises(ValueError, match="smallest eigenvalue is -1e-09"):
        PortfolioExecParams(**two(periods=1, permanent_impact=((4e-7 + 2e-9, 0.0), (0.0, 0.0))))
    # a rounding-level asymmetry of the covariance is tolerated (1e-12 relative)
    PortfolioExecParams(**two(covariance=((1.0, 0.2 + 1e-13), (0.2, 1.0))))


@pytest.mark.parametrize("gamma, smallest", [
    (((-2e-8, 0.0), (0.0, -4e-8)), "-4e-08"),              # negative definite: trading would move prices its way
    (((2e-8, 0.0), (0.0, -4e-8)), "-4e-08"),
    (((2e-8, 5e-8), (5e-8, 4e-8)), "-2.1e-08"),            # indefinite: 3e-8 − √26·1e-8
    (((2e-8, 1e-7), (-1e-7, 4e-8)), None),                  # asymmetric, symmetric part diag(2e-8, 4e-8): valid
    (((2e-8, 0.0), (0.0, -1e-19)), None),                   # a rounding-level negative eigenvalue is tolerated
])
def test_permanent_impact_needs_a_positive_semi_definite_symmetric_part(gamma, smallest):
    if smallest is None:
        assert PortfolioExecParams(**two(permanent_impact=gamma)).permanent_impact == gamma
        return
    with pytest.raises(ValueError, match=rf"the symmetric part of permanent_impact must be positive semi-definite "
                                         rf"\(.*\); its smallest eigenvalue is {smallest}$"):
        PortfolioExecParams(**two(permanent_impact=gamma))


@pytest.mark.parametrize("kwargs, message", [
    (dict(market_loadings=(0.5, 1.5)), r"market_loadings must lie in \[-1, 1\]"),
    (dict(cross_impact=1.0), r"cross_impact must be in \[0, 1\), got 1\.0"),
    (dict(cross_impact=-0.1), r"cross_impact must be in \[0, 1\)"),
    (dict(spreads=(0.02, 0.0)), r"spreads\[1\] must be in \(0, inf\], got 0\.0"),
    (dict(daily_volumes=(1e7,)), r"daily_volumes must be 2 numbers"),
    (dict(annual_volatilities=(0.2, -0.1)), r"annual_volatilities\[1\] must be in \(0, inf\]"),
    (dict(permanent_volume_fraction=0.0), r"permanent_volume_fraction must be in \(0, inf\]"),
    (dict(temporary_volume_fraction=-1.0), r"temporary_volume_fraction must be in \(0, inf\]"),
])
def test_from_market_data_validates_its_inputs(kwargs, message):
    data = dict(shares=(1e6, 5e5), prices=(100.0, 50.0), annual_volatilities=(0.25, 0.3),
                daily_volumes=(1e7, 5e6), spreads=(0.02, 0.02))
    with pytest.raises(ValueError, match=message):
        PortfolioExecParams.from_market_data(**{**data, **kwargs})


def test_from_market_data_numbers_and_the_default_book():
    p = DEFAULT
    sigma = np.array([100.0 * 0.25, 50.0 * 0.30, 80.0 * 0.20]) / np.sqrt(250.0)
    rho = np.array([[1.0, 0.42, 0.35], [0.42, 1.0, 0.30], [0.35, 0.30, 1.0]])    # β_i β_j, β = 0.7, 0.6, 0.5
    np.testing.assert_allclose(p.sigma, rho * np.outer(sigma, sigma), rtol=1e-14)
    eta = 0.02 / (0.01 * np.array([10e6, 5e6, 8e6]))
    np.testing.assert_allclose(np.diag(p.eta), eta, rtol=1e-14)
    assert p.eta[0, 1] == pytest.approx(0.3 * 0.42 * np.sqrt(eta[0] * eta[1]), rel=1e-14)
    np.testing.assert_allclose(p.gamma, p.eta / 10.0, rtol=1e-14)                # permanent fraction 0.1 vs 0.01
    np.testing.assert_allclose(p.spreads, 0.01)
    assert p.notional == 1e6 * 100 + 5e5 * 50 + 4e5 * 80 == 157e6
    assert p.tau == pytest.approx(1 / 13) and p.assets == 3
    np.testing.assert_allclose(p.shock_loadings @ p.shock_loadings.T, p.sigma, rtol=1e-12)


def test_from_kwargs():
    assert PortfolioExecParams.from_kwargs(periods=5).periods == 5
    assert PortfolioExecParams.from_kwargs(params=DEFAULT) is DEFAULT
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['period'\] for PortfolioExec"):
        PortfolioExecParams.from_kwargs(period=5)
    with pytest.raises(ValueError, match="pass either params= or keyword parameters, not both"):
        PortfolioExecParams.from_kwargs(params=DEFAULT, periods=5)
    with pytest.raises(ValueError, match="params must be a PortfolioExecParams, got OptimalExecParams"):
        PortfolioExecParams.from_kwargs(params=OptimalExecParams())


# ------------------------------------------------------------------------------------------------ 2. decoupling


def uncorrelated_book(risk_aversion, periods, permanent):
    vols = np.array([1.6, 0.95, 1.0])
    return PortfolioExecParams(holdings=(1e6, 5e5, -4e5), arrival_prices=(100.0, 50.0, 80.0),
                               covariance=np.diag(vols**2), temporary_impact=np.diag([2e-7, 4e-7, 2.5e-7]),
                               permanent_impact=np.diag(permanent * np.array([2e-8, 4e-8, 2.5e-8])),
                               half_spreads=(0.01, 0.02, 0.005), risk_aversion=risk_aversion, periods=periods)


@pytest.mark.parametrize("risk_aversion", [0.0, 5e-7, 1e-5])
@pytest.mark.parametrize("periods", [1, 2, 13])
@pytest.mark.parametrize("permanent", [0.0, 1.0])
def test_uncorrelated_book_is_m_single_asset_closed_forms(risk_aversion, periods, permanent):
    """Diagonal Σ, H, Γ: asset i follows the sinh closed form of its own problem, and the value in bps of the book
    is Σ_i (value_i in bps of notional_i)·notional_i/notional."""
    p = uncorrelated_book(risk_aversion, periods, permanent)
    oracle = make_oracle(p)
    total, shortfall, var = 0.0, 0.0, 0.0
    for i in range(p.assets):
        q = single_asset(p, i)
        np.testing.assert_allclose(oracle.schedule[:, i] / p.shares[i], closed_form.holdings(q) / q.shares,
                                   rtol=0, atol=1e-9)
        single = make_single_oracle(q)
        assert single.expected_return == pytest.approx(
            -(closed_form.expected_shortfall(q) + risk_aversion * closed_form.variance(q)) * q.bps_per_currency,
            rel=1e-9)
        total += single.expected_return / q.bps_per_currency
        shortfall += closed_form.expected_shortfall(q)
        var += closed_form.variance(q)
    assert oracle.expected_return == pytest.approx(total * p.bps_per_currency, rel=1e-9)
    assert oracle.expected_shortfall == pytest.approx(shortfall, rel=1e-9)
    assert oracle.variance == pytest.approx(var, rel=1e-9, abs=1e-9)


# ------------------------------------------------------------------------------------------------ 3. scalar impact


def eigen_closed_form(p, eta, gamma):
    """Holdings (N+1, m) and objective (currency) of a book with H = ηI, Γ = γI from the closed form per
    eigen-portfolio: y = Vᵀx, y_j follows the single-asset solution with σ² = Λ_j."""
    values, vectors = np.linalg.eigh(p.sigma)
    start = vectors.T @ p.shares
    paths, objective = [], float(p.spreads @ np.abs(p.shares))
    for value, y in zip(values, start):
        q = OptimalExecParams(shares=1.0, arrival_price=1.0, volatility=float(np.sqrt(value)), temporary_impact=eta,
                              permanent_impact=gamma, half_spread=0.0, risk_aversion=p.risk_aversion,
                              horizon=p.horizon, periods=p.periods)
        paths.append(y * closed_form.holdings(q))
        objective += y**2 * (closed_form.expected_shortfall(q) + p.risk_aversion * closed_form.variance(q))
    return np.array(paths).T @ vectors.T, objective


@pytest.mark.parametrize("gamma", [0.0, 3e-8])
@pytest.mark.parametrize("risk_aversion, periods", [(5e-7, 13), (1e-5, 7), (0.0, 4), (2e-6, 1)])
def test_scalar_impact_is_the_closed_form_per_eigen_portfolio(gamma, risk_aversion, periods):
    eta = 3e-7
    p = replace(DEFAULT, temporary_impact=eta * np.eye(3), permanent_impact=gamma * np.eye(3),
                risk_aversion=risk_aversion, periods=periods, horizon=2.0)
    oracle = make_oracle(p)
    holdings, objective = eigen_closed_form(p, eta, gamma)
    np.testing.assert_allclose(oracle.schedule / np.abs(p.shares).max(), holdings / np.abs(p.shares).max(),
                               rtol=0, atol=1e-9)
    assert oracle.expected_return == pytest.approx(-objective * p.bps_per_currency, rel=1e-9)


def test_scalar_impact_random_covariances_oracle_equals_eigen_closed_form_or_refuses():
    """20 random 4-asset books with correlated prices: the oracle's schedule is V·(closed form per eigen-portfolio)
    when that is monotone in every asset, and the oracle refuses exactly when it is not."""
    rng = np.random.default_rng(2024)
    outcomes = {"equal": 0, "refused": 0}
    for _ in range(20):
        loadings = rng.normal(size=(4, 2))
        sigma = loadings @ loadings.T + np.diag(rng.uniform(0.1, 1.0, 4))
        p = PortfolioExecParams(holdings=rng.choice([-1, 1], 4) * rng.uniform(2e5, 1e6, 4),
                                arrival_prices=rng.uniform(20, 200, 4), covariance=sigma,
                                temporary_impact=2e-7 * np.eye(4), permanent_impact=1e-8 * np.eye(4),
                                half_spreads=rng.uniform(0, 0.02, 4), risk_aversion=2e-6, periods=9)
        holdings, objective = eigen_closed_form(p, 2e-7, 1e-8)
        violation = monotone_violation(p, holdings) / np.abs(p.shares).max()
        assert violation == 0.0 or violation > 1e-6                 # no borderline case among these
        if violation > 0:
            with pytest.raises(ValueError, match="away from zero"):
                make_oracle(p)
            outcomes["refused"] += 1
        else:
            oracle = make_oracle(p)
            np.testing.assert_allclose(oracle.schedule / np.abs(p.shares).max(),
                                       holdings / np.abs(p.shares).max(), rtol=0, atol=1e-9)
            assert oracle.expected_return == pytest.approx(-objective * p.bps_per_currency, rel=1e-9)
            outcomes["equal"] += 1
    assert min(outcomes.values()) >= 3, outcomes                    # both branches exercised


# ------------------------------------------------------------------------------------------------ 4. dense QP


DENSE_CASES = {
    "default_N3": replace(DEFAULT, periods=3),
    "default_N5_risky": replace(DEFAULT, periods=5, risk_aversion=3e-6),
    "default_N1": replace(DEFAULT, periods=1),
    "pair_N4_cross": pair(0.6, holdings=(1e6, -3e5), cross=0.5, periods=4, risk_aversion=1e-6),
    "pair_N5_asymmetric_gamma": replace(pair(0.3, periods=5), permanent_impact=((2e-8, 1e-8), (-5e-9, 4e-8))),
    "pair_N3_asymmetric_eta": replace(pair(0.5, periods=3), temporary_impact=((2e-7, 1e-7), (-5e-8, 4e-7))),
    "three_N4_risk_neutral": replace(DEFAULT, periods=4, risk_aversion=0.0, horizon=0.5),
}


@pytest.mark.parametrize("name", sorted(DENSE_CASES))
def test_oracle_equals_the_dense_kkt_solution(name):
    p = DENSE_CASES[name]
    holdings, value, curvature = dense_qp(p)
    assert curvature > 0
    oracle = make_oracle(p)
    scale = np.abs(p.shares).max()
    np.testing.assert_allclose(oracle.schedule / scale, holdings / scale, rtol=0, atol=1e-9)
    assert oracle.expected_return == pytest.approx(-value * p.bps_per_currency, rel=1e-9)
    # the hand-written quadratic is the schedule module's objective
    assert schedule.expected_return(p, holdings) == pytest.approx(-value * p.bps_per_currency, rel=1e-9)


def test_hand_written_quadratic_equals_the_schedule_module_on_random_schedules():
    """The dense objective (evaluated by its own formula) and schedule.py agree away from the optimum too."""
    p = DENSE_CASES["pair_N5_asymmetric_gamma"]
    rng = np.random.default_rng(1)
    for holdings in random_holdings(rng, p, 5):
        trades = -np.diff(holdings, axis=0)
        direct = sum(trades[k] @ p.eta @ trades[k] / p.tau + p.spreads @ np.abs(trades[k])
                     + trades[k] @ p.gamma.T @ holdings[k + 1]
                     + p.risk_aversion * p.tau * holdings[k + 1] @ p.sigma @ holdings[k + 1]
                     for k in range(p.periods))
        assert schedule.expected_return(p, holdings) == pytest.approx(-direct * p.bps_per_currency, rel=1e-12)


@st.composite
def random_books(draw):
    m = draw(st.integers(1, 3))
    periods = draw(st.integers(1, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    rank = draw(st.integers(1, m))                                   # possibly singular covariance
    loadings = rng.normal(size=(m, rank))
    tau = 1.0 / periods
    eta = rng.normal(size=(m, m)) * 1e-7
    eta = eta @ eta.T + np.diag(rng.uniform(1e-7, 5e-7, m)) + draw(st.floats(0.0, 0.5)) * (eta - eta.T)
    gamma = rng.normal(size=(m, m)) * 1e-8
    gamma = gamma @ gamma.T + draw(st.floats(0.0, 0.3)) * (gamma - gamma.T)
    return PortfolioExecParams(
        holdings=rng.choice([-1.0, 1.0], m) * rng.uniform(1e5, 1e6, m), arrival_prices=rng.uniform(10, 200, m),
        covariance=loadings @ loadings.T, temporary_impact=eta, permanent_impact=gamma * draw(st.floats(0, 3)),
        half_spreads=rng.uniform(0, 0.03, m), risk_aversion=draw(st.sampled_from([0.0, 1e-7, 1e-6, 1e-5])),
        horizon=tau * periods, periods=periods)


@settings(max_examples=100, deadline=None)
@given(p=random_books())
def test_property_oracle_equals_dense_kkt_or_refuses_a_non_monotone_optimum(p):
    holdings, value, curvature = dense_qp(p)
    assert curvature > 0
    scale = np.abs(p.shares).max()
    violation = monotone_violation(p, holdings) / scale
    assume(violation == 0.0 or violation > 1e-7)
    if violation > 0:
        with pytest.raises(ValueError, match="away from zero"):
            make_oracle(p)
        return
    oracle = make_oracle(p)
    np.testing.assert_allclose(oracle.schedule / scale, holdings / scale, rtol=0, atol=1e-8)
    assert oracle.expected_return == pytest.approx(-value * p.bps_per_currency, rel=1e-8)
    assert oracle.expected_return == pytest.approx(schedule.expected_return(p, oracle.schedule), rel=1e-10)


# ------------------------------------------------------------------------------------------------ 5. Monte Carlo


@pytest.mark.slow
@pytest.mark.parametrize("p", [DEFAULT, DENSE_CASES["pair_N4_cross"]], ids=["default", "pair_cross"])
def test_oracle_monte_carlo_mean_equals_its_exact_value(p):
    oracle = make_oracle(p)
    assert schedule.expected_return(p, oracle.schedule) == pytest.approx(oracle.expected_return, rel=1e-12)
    assert oracle.expected_return == pytest.approx(
        -(oracle.expected_shortfall + p.risk_aversion * oracle.variance) * p.bps_per_currency, rel=1e-12)
    result = execgym.score(oracle.policy, "PortfolioExec-v0", episodes=20_000, seed=3, params=p)
    assert abs(result.reference_return.mean - oracle.expected_return) < result.reference_return.half_width
    assert result.regret.mean == 0.0
    # the terminal shortfall's mean is E[IS] (its CI covers the exact value)
    assert abs(result.info["shortfall"].mean - oracle.expected_shortfall) < result.info["shortfall"].half_width


@pytest.mark.parametrize("name", ["default_N5_risky", "pair_N4_cross", "pair_N5_asymmetric_gamma"])
def test_oracle_policy_acting_through_the_env_follows_its_schedule(name):
    p = DENSE_CASES[name]
    oracle = make_oracle(p)
    played = played_holdings(p, oracle.policy)
    np.testing.assert_allclose(played / p.shares, oracle.schedule / p.shares, rtol=0, atol=1e-6)
    assert schedule.expected_return(p, played) == pytest.approx(oracle.expected_return, rel=1e-9)


def test_oracle_refuses_to_hedge_with_an_asset_it_does_not_hold():
    """X = (1e6, 0), ρ = 0.9: the unconstrained optimum shorts up to 62,628 shares of asset 1 to hedge asset 0, which
    the action space (a fraction of a zero position) cannot express. Without the refusal the oracle would claim
    −47.506 bps while its policy plays asset 0 alone for −48.471 bps."""
    with pytest.raises(ValueError, match=r"trades asset 1 away from zero \(period 1\)"):
        make_oracle(pair(0.9, holdings=(1e6, 0.0)))


def test_an_asset_it_does_not_hold_and_does_not_need_stays_at_zero():
    """ρ = 0 and no cross-impact: the unheld asset is never traded, and the oracle is the single-asset one."""
    p = pair(0.0, holdings=(1e6, 0.0))
    oracle = make_oracle(p)
    assert np.all(oracle.schedule[:, 1] == 0.0)
    played = played_holdings(p, oracle.policy)
    assert schedule.expected_return(p, played) == pytest.approx(oracle.expected_return, rel=1e-9)


# ------------------------------------------------------------------------------------------------ 6. never beaten


def test_none_of_3000_random_schedules_beats_the_oracle():
    for p in (DEFAULT, DENSE_CASES["pair_N4_cross"], replace(DEFAULT, risk_aversion=3e-6, periods=20)):
        oracle = make_oracle(p)
        values = schedule.expected_return(p, random_holdings(np.random.default_rng(0), p, 1000))
        assert (values <= oracle.expected_return).all()
        assert oracle.expected_return - values.max() > 0.0


@pytest.mark.parametrize("name", ["default_N3", "pair_N4_cross", "pair_N5_asymmetric_gamma", "three_N4_risk_neutral"])
def test_oracle_schedule_is_a_stationary_point_of_the_exact_objective(name):
    """Interior holdings moved by ±δ·d and ±2δ·d (d random, δ·d about 1 % of X/N, still monotone): the loss is the
    same for +δ and −δ (no first-order term: the oracle is a stationary point) and 4 times larger at 2δ (second
    order, positive)."""
    p = DENSE_CASES[name]
    oracle = make_oracle(p)
    rng = np.random.default_rng(8)
    for _ in range(10):
        direction = np.zeros_like(oracle.schedule)
        direction[1:-1] = rng.normal(size=(p.periods - 1, p.assets)) * 0.01 * p.shares / p.periods
        moved = oracle.schedule + np.array([1.0, -1.0, 2.0])[:, None, None] * direction
        assert all(monotone_violation(p, h) == 0.0 for h in moved)
        loss = oracle.expected_return - schedule.expected_return(p, moved)
        assert (loss > 0).all()
        assert loss[0] == pytest.approx(loss[1], rel=1e-6)
        assert loss[2] == pytest.approx(4.0 * loss[0], rel=1e-6)


@pytest.mark.parametrize("scale", [pytest.param(0.02, marks=pytest.mark.slow), pytest.param(0.1, marks=pytest.mark.slow), 0.3])
def test_perturbed_oracle_schedules_are_not_better_exactly_or_in_paired_monte_carlo(scale):
    """Every trade of the oracle's schedule moved by scale·X/N·normal noise (kept feasible): exactly worse, and in
    paired Monte Carlo (same seeds) the regret is not significantly negative and its CI, widened to about 4 standard
    errors, contains the exact regret."""
    p = DEFAULT
    oracle = make_oracle(p)
    rng = np.random.default_rng(int(scale * 100))
    trades = -np.diff(oracle.schedule, axis=0) * (1.0 + scale * rng.normal(size=(p.periods, p.assets)))
    trades = np.clip(trades * np.sign(p.shares), 0.0, None) * np.sign(p.shares)
    holdings = np.concatenate([p.shares[None], p.shares - np.cumsum(trades, axis=0)])
    holdings[-1] = 0.0
    holdings = np.where(holdings * np.sign(p.shares) < 0, 0.0, holdings)          # never past zero
    policy = SchedulePolicy(p, holdings)
    played = played_holdings(p, policy)
    np.testing.assert_allclose(played / p.shares, holdings / p.shares, atol=1e-6)
    exact_regret = oracle.expected_return - float(schedule.expected_return(p, played))
    assert exact_regret > 0.0
    result = execgym.score(policy, "PortfolioExec-v0", episodes=4000, seed=11, params=p, oracle=oracle)
    assert result.regret.high >= 0.0
    assert abs(result.regret.mean - exact_regret) < 2.0 * result.regret.half_width


@pytest.mark.parametrize("reaction", [-0.5, 0.5])
def test_price_adaptive_policies_do_not_beat_the_oracle(reaction):
    """Trading faster (slower) after a price rise does not help: paired regret not significantly negative."""
    p = DEFAULT
    oracle = make_oracle(p)
    m = p.assets

    def adaptive(obs):
        fractions = (oracle.policy(obs).astype(np.float64) + 1.0) / 2.0
        moves = obs[:, 1 + m:] * np.sign(p.shares)
        return (2.0 * np.clip(fractions * (1.0 + reaction * moves), 0.0, 1.0) - 1.0).astype(np.float32)

    result = execgym.score(adaptive, "PortfolioExec-v0", episodes=10_000, seed=5, params=p, oracle=oracle)
    assert result.regret.high >= 0.0
    assert result.regret.mean > 0.0


# ------------------------------------------------------------------------------------------------ 7. seed intuitions


def test_correlated_long_positions_are_liquidated_faster():
    """Two long positions, ρ = 0.9 (no cross-impact): every interior holding of both is below its ρ = 0 (= single
    asset closed form) value, and ρ = 0.5 lies in between."""
    alone = make_oracle(pair(0.0)).schedule
    for i in range(2):
        q = single_asset(pair(0.0), i)
        np.testing.assert_allclose(alone[:, i], closed_form.holdings(q), rtol=1e-9)
    middle = make_oracle(pair(0.5)).schedule
    together = make_oracle(pair(0.9)).schedule
    interior = slice(1, -1)
    assert (together[interior] < middle[interior]).all() and (middle[interior] < alone[interior]).all()
    # e.g. after the first half hour: 79.8 % vs 82.1 % of asset 0 left, 85.2 % vs 89.9 % of asset 1
    np.testing.assert_allclose(together[1] / alone[1], [0.972, 0.948], atol=2e-3)


def test_hedge_pair_is_traded_in_tandem():
    """Sell $100 M of asset 0, buy back $84 M of asset 1 (equal dollar volatility, 1.6 M each), asset 1 with four
    times asset 0's impact. Uncorrelated, each follows its own urgency: the fractions left differ by up to 0.37.
    At ρ = 0.95 the pair is a hedge and is unwound together: they differ by at most 0.021 (< 0.03, < a tenth)."""
    short = -1.6e6 / 0.95

    def gap(rho):
        p = pair(rho, holdings=(1e6, short), eta=(2e-7, 8e-7), risk_aversion=2e-6)
        left = make_oracle(p).schedule / p.shares
        return np.abs(left[:, 0] - left[:, 1]).max()

    independent, hedged = gap(0.0), gap(0.95)
    assert independent > 0.3
    assert hedged < 0.03
    assert hedged < independent / 10
    assert gap(0.99) < gap(0.95) < gap(0.9) < independent


# ------------------------------------------------------------------------------------------------ 8. refusals


def test_oracle_refuses_a_non_monotone_optimum_with_the_asset_and_period():
    """A small long next to a large correlated long: the optimum sells the small one short to hedge the large one."""
    with pytest.raises(ValueError, match=r"the optimal schedule trades asset 1 away from zero \(period 1\)"):
        make_oracle(pair(0.9, holdings=(1e6, 1e4)))
    with pytest.raises(ValueError, match=r"trades asset 1 away from zero \(period 5\)"):
        make_oracle(pair(0.9, holdings=(1e6, 1e5)))
    make_oracle(pair(0.5, holdings=(1e6, 1e5)))                     # weaker correlation: monotone, accepted
    # the same refusal from strong antisymmetric permanent cross-impact, uncorrelated prices
    q = replace(pair(0.0, periods=5), permanent_impact=((0.0, 1e-6), (-1e-6, 0.0)))
    holdings, _, curvature = dense_qp(q)
    assert curvature > 0 and monotone_violation(q, holdings) > 0
    with pytest.raises(ValueError, match="trades asset 1 away from zero"):
        make_oracle(q)
    # the default book at high risk aversion: asset 0 (long) goes 508 shares short in period 4 to hedge asset 1
    q = replace(DEFAULT, periods=5, risk_aversion=5e-6)
    holdings, _, _ = dense_qp(q)
    assert holdings[4, 0] == pytest.approx(-507.83, abs=0.01)
    with pytest.raises(ValueError, match=r"trades asset 0 away from zero \(period 4\)"):
        make_oracle(q)
    make_oracle(replace(q, risk_aversion=3e-6))


def test_asymmetric_permanent_impact_can_make_the_problem_unbounded():
    """Γ = [[0, g], [−g, 0]] passes the params' convexity check (its symmetric part is 0) but for g = 3e-6 the
    mean–variance objective is not convex in the trades (a round trip earns money): the oracle raises."""
    q = replace(pair(0.0, periods=5), permanent_impact=((0.0, 3e-6), (-3e-6, 0.0)))
    _, _, curvature = dense_qp(q)
    assert curvature < 0
    with pytest.raises(ValueError, match="not strictly convex"):
        make_oracle(q)


# ------------------------------------------------------------------------------------------------ 9. environments


def test_check_env_passes_on_the_scalar_env():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", message=".*Box observation space (minimum|maximum) value is")
        check_env(gym.make("PortfolioExec-v0").unwrapped, skip_render_check=True)
        check_env(PortfolioExecEnv(params=DENSE_CASES["pair_N4_cross"]), skip_render_check=True)


def test_make_and_make_vec_pass_kwargs_to_the_params():
    env = gym.make("PortfolioExec-v0", periods=7, risk_aversion=1e-6, holdings=(1.0, 2.0, -3.0))
    assert isinstance(env.unwrapped, PortfolioExecEnv)
    assert env.unwrapped.params == replace(DEFAULT, periods=7, risk_aversion=1e-6, holdings=(1.0, 2.0, -3.0))
    assert env.action_space.shape == (3,) and env.observation_space.shape == (7,)
    venv = gym.make_vec("PortfolioExec-v0", num_envs=3, periods=7, params=None)
    assert isinstance(venv, PortfolioExecVectorEnv) and venv.params.periods == 7
    assert venv.action_space.shape == (3, 3)
    q = pair(0.5, periods=4)
    assert gym.make("execgym:PortfolioExec-v0", params=q).unwrapped.params is q
    assert execgym.make_oracle("PortfolioExec-v0", periods=4).schedule.shape == (5, 3)
    with pytest.raises(ValueError, match="unknown parameter"):
        gym.make("PortfolioExec-v0", risk=1.0)


def test_vector_env_equals_gymnasium_sync_vector_env_including_infos():
    p = DENSE_CASES["pair_N4_cross"]
    rng = np.random.default_rng(3)
    assert_equals_sync_vector_env(PortfolioExecVectorEnv(num_envs=3, params=p), lambda: PortfolioExecEnv(params=p),
                                  13, lambda info: rng.uniform(-1.2, 1.0, size=(3, 2)).astype(np.float32))
    assert_equals_sync_vector_env(PortfolioExecVectorEnv(num_envs=5, params=DEFAULT), PortfolioExecEnv, 30,
                                  lambda info: rng.uniform(-1.0, 1.2, size=(5, 3)).astype(np.float32), seed=9)


def test_an_episode_is_bitwise_the_same_in_any_batch():
    """64 episodes stepped as one batch equal each stepped alone (a batch of one, as in the scalar env), to the bit:
    no batch-size-dependent summation order (BLAS matmul) in the dynamics."""
    for p in (DEFAULT, DENSE_CASES["pair_N4_cross"]):
        episodes = 64
        rng = np.random.default_rng(0)
        fractions = rng.uniform(size=(p.periods, episodes, p.assets))
        seeds = np.arange(episodes) + 100
        together = engine.start(dynamics.DYNAMICS, p, seeds, np.zeros(episodes))
        alone = [engine.start(dynamics.DYNAMICS, p, seeds[i:i + 1], np.zeros(1)) for i in range(episodes)]
        for k in range(p.periods):
            big = engine.step(dynamics.DYNAMICS, p, together, fractions[k])
            small = [engine.step(dynamics.DYNAMICS, p, b, fractions[k, i:i + 1]) for i, b in enumerate(alone)]
            np.testing.assert_array_equal(big.reward, np.concatenate([t.reward for t in small]))
            for name in ("traded", "execution_prices", "holdings", "prices", "shortfall"):
                np.testing.assert_array_equal(getattr(big.batch.state, name),
                                              np.concatenate([getattr(t.batch.state, name) for t in small]))
            together, alone = big.batch, [t.batch for t in small]


def run_episode(env, seed, actions):
    obs, info = env.reset(seed=seed)
    out = [(obs, 0.0, info)]
    for action in actions:
        obs, reward, terminated, truncated, info = env.step(action)
        out.append((obs, reward, info))
        assert not truncated
    assert terminated
    return out


def test_same_seed_same_episode_and_the_shortfall_identity():
    """Same seed: identical episodes; another seed: other prices, same holdings. The terminal shortfall is
    X·S0 − Σ_k n_k·S̃_k from the reported trades and execution prices, and Σ reward is −(IS + λτΣ x_kᵀΣx_k) in bps."""
    p = DEFAULT
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1, 1, size=(p.periods, p.assets)).astype(np.float32)
    env = PortfolioExecEnv(params=p)
    first, again, other = run_episode(env, 7, actions), run_episode(env, 7, actions), run_episode(env, 8, actions)
    for (o1, r1, i1), (o2, r2, i2), (o3, _, i3) in zip(first, again, other):
        np.testing.assert_array_equal(o1, o2)
        assert r1 == r2
        np.testing.assert_array_equal(i1["holdings"], i3["holdings"])
    assert not np.array_equal(first[-1][2]["prices"], other[-1][2]["prices"])
    paid = sum(info["shares_traded"] @ info["execution_prices"] for _, _, info in first[1:])
    assert first[-1][2]["shortfall"] == pytest.approx(p.shares @ p.prices - paid, rel=1e-10)
    risk = sum(p.risk_aversion * p.tau * info["holdings"] @ p.sigma @ info["holdings"] for _, _, info in first[1:])
    total = sum(reward for _, reward, _ in first)
    assert total == pytest.approx(-(first[-1][2]["shortfall"] + risk) * p.bps_per_currency, rel=1e-10)
    np.testing.assert_array_equal(first[-1][2]["holdings"], 0.0)
    assert first[-1][0][0] == 0.0 and env.observation_space.contains(first[-1][0])


def test_one_period_by_hand():
    p = pair(0.5, holdings=(1e6, -5e5), cross=0.5, periods=2)
    env = PortfolioExecEnv(params=p)
    _, info = env.reset(seed=4)
    batch = engine.start(dynamics.DYNAMICS, p, [4], [0])                  # the scalar env's seed 4 is stream 4
    shock = dynamics.price_shocks(dynamics.variant(p), batch.key, batch.state.elapsed)[0]
    obs, reward, terminated, _, info = env.step(np.array([0.0, -0.5], dtype=np.float32))   # trade 1/2 and 1/4
    n = np.array([5e5, -1.25e5])
    x = p.shares - n
    np.testing.assert_allclose(info["shares_traded"], n)
    np.testing.assert_allclose(info["execution_prices"], p.prices - p.eta @ n / p.tau - p.spreads * np.sign(n))
    move = np.sqrt(p.tau) * p.shock_loadings @ shock - p.gamma @ n
    np.testing.assert_allclose(info["prices"], p.prices + move)
    cost = n @ p.eta @ n / p.tau + p.spreads @ np.abs(n) - move @ x
    assert reward == pytest.approx(-(cost + p.risk_aversion * p.tau * x @ p.sigma @ x) * p.bps_per_currency,
                                   rel=1e-12)
    assert not terminated
    np.testing.assert_allclose(obs, [0.5, 0.5, 0.75, *(move / (p.volatilities * np.sqrt(p.horizon)))], rtol=1e-6)
    _, _, terminated, _, info = env.step(np.array([-1.0, -1.0], dtype=np.float32))   # last period: everything
    assert terminated
    np.testing.assert_array_equal(info["holdings"], 0.0)
    np.testing.assert_allclose(info["shares_traded"], x)


def test_invalid_actions_raise_and_out_of_range_actions_are_clipped():
    env = PortfolioExecEnv(params=DEFAULT)
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(np.zeros(3, dtype=np.float32))
    env.reset(seed=0)
    with pytest.raises(ValueError, match="NaN"):
        env.step(np.array([0.0, np.nan, 0.0]))
    with pytest.raises(ValueError, match=r"action must have shape \(3,\), got \(2,\)"):
        env.step(np.zeros(2))
    with pytest.raises(ValueError, match=r"action must have shape \(3,\), got \(1, 4\)"):
        env.step(np.zeros((1, 4)))
    _, _, _, _, info = env.step(np.array([5.0, -7.0, 1.0]))               # = (1, −1, 1): all, nothing, all
    np.testing.assert_array_equal(info["holdings"], [0.0, 5e5, 0.0])
    for _ in range(DEFAULT.periods - 1):
        env.step(np.zeros(3))
    with pytest.raises(RuntimeError, match="episode has ended"):
        env.step(np.zeros(3))
    venv = PortfolioExecVectorEnv(num_envs=2, params=DEFAULT)
    venv.reset(seed=0)
    with pytest.raises(ValueError, match=r"action must have shape \(2, 3\), got \(3, 2\)"):
        venv.step(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="NaN"):
        venv.step(np.full((2, 3), np.nan))


def test_expected_sum_of_rewards_is_minus_the_mean_variance_objective():
    """A fixed schedule (TWAP on asset 0, front-loaded on 1, back-loaded on 2) over 4000 seeds through the batched
    dynamics: per episode, Σ reward minus its zero-mean noise part Σ_k (√τ·L·ξ_k)ᵀx_k equals the exact expected
    return −(E[IS] + λVar) in bps; the plain mean lies within its CI of it, and the sample variance of the cost
    matches Var[IS]."""
    p = DEFAULT
    N = p.periods
    t = np.arange(N + 1) / N
    holdings = p.shares * np.stack([1 - t, (1 - t) ** 2, 1 - t**2], axis=1)
    fractions = SchedulePolicy(p, holdings).fractions
    episodes = 4000
    batch = engine.start(dynamics.DYNAMICS, p, np.arange(episodes), np.zeros(episodes))
    total, noise = np.zeros(episodes), np.zeros(episodes)
    for k in range(N):
        shocks = dynamics.price_shocks(dynamics.variant(p), batch.key, batch.state.elapsed)
        transition = engine.step(dynamics.DYNAMICS, p, batch, np.tile(fractions[k], (episodes, 1)))
        batch = transition.batch
        total += transition.reward
        noise += np.einsum("ij,ij->i", np.sqrt(p.tau) * shocks @ p.shock_loadings.T, batch.state.holdings)
    exact = float(schedule.expected_return(p, holdings))
    np.testing.assert_allclose(total - noise * p.bps_per_currency, exact, rtol=1e-10)
    standard_error = total.std(ddof=1) / np.sqrt(episodes)
    assert abs(total.mean() - exact) < 2.5 * standard_error
    assert batch.state.shortfall.var(ddof=1) == pytest.approx(float(schedule.variance(p, holdings)), rel=0.1)
    # the scalar env plays the same episodes (seed s = episode stream s)
    env = PortfolioExecEnv(params=p)
    for seed in (0, 17):
        rewards = run_episode(env, seed, [2 * f - 1 for f in fractions])
        assert sum(r for _, r, _ in rewards) == pytest.approx(total[seed], rel=1e-6)


# ------------------------------------------------------------------------------------------------ 10. baselines


def hedge_pair(rho):
    """Sell 1 M of asset 0, buy back 1.68 M of asset 1 (equal dollar volatility), asset 1 four times as costly."""
    return pair(rho, holdings=(1e6, -1.6e6 / 0.95), eta=(2e-7, 8e-7), risk_aversion=2e-6)


@pytest.mark.parametrize("risk_aversion, periods", [(0.0, 1), (5e-7, 13), (1e-5, 4)])
def test_baselines_on_a_book_without_cross_terms_are_single_asset_schedules(risk_aversion, periods):
    """Diagonal Σ, H, Γ: ``independent`` is the oracle (each asset on its sinh closed form) and ``twap`` is each
    asset's own TWAP, worth Σ_i (value_i in bps of notional_i)·notional_i/notional."""
    p = uncorrelated_book(risk_aversion, periods, permanent=1.0)
    oracle, named = make_oracle(p), policies.baselines(p)
    np.testing.assert_allclose(named["independent"].schedule, oracle.schedule, rtol=1e-12, atol=1e-6)
    assert named["independent"].expected_return == pytest.approx(oracle.expected_return, rel=1e-12)
    total = 0.0
    for i in range(p.assets):
        q = single_asset(p, i)
        single_twap = single_baselines.twap(q)
        np.testing.assert_allclose(named["twap"].schedule[:, i] / p.shares[i], single_twap.schedule / q.shares,
                                   rtol=0, atol=1e-12)
        total += float(single_schedule.expected_return(q, single_twap.schedule)) / q.bps_per_currency
    assert named["twap"].expected_return == pytest.approx(total * p.bps_per_currency, rel=1e-12)


@pytest.mark.parametrize("p, twap_regret, independent_regret", [
    (DEFAULT, 17.182, 0.2011), (DENSE_CASES["pair_N4_cross"], 66.152, 1.887), (hedge_pair(0.95), 0.1412, 26.098)],
    ids=["default", "pair_cross", "hedge_pair"])
def test_baseline_regrets_against_the_oracle(p, twap_regret, independent_regret):
    """Exact regret % of each baseline: seed 004's "no longer a set of independent schedules" costs 0.2 % on the
    default book, 1.9 % with 50 % cross-impact, and 26 % on a hedge pair, where even TWAP (both legs in tandem)
    does better."""
    oracle, named = make_oracle(p), policies.baselines(p)
    regret = {name: 100 * (oracle.expected_return - policy.expected_return) / abs(oracle.expected_return)
              for name, policy in named.items()}
    assert regret["twap"] == pytest.approx(twap_regret, abs=1e-3)
    assert regret["independent"] == pytest.approx(independent_regret, abs=1e-3)


@pytest.mark.parametrize("name", ["twap", "independent"])
def test_baseline_monte_carlo_mean_and_regret_cover_the_exact_values(name):
    p = hedge_pair(0.95)
    oracle, policy = make_oracle(p), policies.baselines(p)[name]
    result = execgym.score(policy, "PortfolioExec-v0", episodes=20_000, seed=5, params=p)
    assert abs(result.policy_return.mean - policy.expected_return) < result.policy_return.half_width
    exact_regret = oracle.expected_return - policy.expected_return
    assert abs(result.regret.mean - exact_regret) < result.regret.half_width


@settings(max_examples=60, deadline=None)
@given(p=random_books())
def test_property_no_baseline_beats_the_oracle_and_each_follows_its_schedule_in_the_env(p):
    try:
        oracle = make_oracle(p)
        named = policies.baselines(p)
    except ValueError as error:                              # a non-monotone optimum, of the book or its diagonal
        assert "away from zero" in str(error)
        assume(False)
    for name, policy in named.items():
        assert policy.expected_return <= oracle.expected_return + 1e-9 * abs(oracle.expected_return), name
        played = played_holdings(p, policy)
        np.testing.assert_allclose(played / p.shares, policy.schedule / p.shares, rtol=0, atol=1e-6)


def test_holdings_policy_refuses_a_schedule_the_action_space_cannot_follow():
    p = DENSE_CASES["pair_N4_cross"]
    holdings = policies.twap(p).schedule.copy()
    holdings[2, 1] = 1.2 * p.shares[1]                       # asset 1 grows its short in period 2
    with pytest.raises(ValueError, match="asset 1 moves away from zero in period 2"):
        policies.HoldingsPolicy(p, holdings, "bad")
    with pytest.raises(ValueError, match="holdings must start at X and end at 0"):
        policies.HoldingsPolicy(p, holdings[::-1], "reversed")
