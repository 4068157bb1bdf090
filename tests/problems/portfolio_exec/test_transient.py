"""Transient impact per asset in PortfolioExec: an uncorrelated book is its assets' OptimalExec transient optima,
a correlated one with cross-impact the quadratic programme written out by hand, the step walks each book, the
vector env is the scalar env, and bad parameters are refused naming them."""

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vector_checks import assert_equals_sync_vector_env, expected_return_played

import execgym
from execgym.problems.optimal_exec.params import OptimalExecParams
from execgym.problems.portfolio_exec import schedule
from execgym.problems.portfolio_exec.params import PortfolioExecParams
from execgym.tabular import tabular_view

KAPPA, RESILIENCE = (3e-8, 8e-8), (10.0, 2.0)


def book(rho: float = 0.0, cross: float = 0.0, **other) -> PortfolioExecParams:
    """Sell 1 M of a $100 stock, buy back a 500 k short of a $50 one, with correlation ``rho``, temporary
    cross-impact ``cross`` and transient impact on both."""
    vols, eta = np.array([1.6, 0.95]), np.array([2e-7, 4e-7])
    sigma = np.array([[1.0, rho], [rho, 1.0]]) * np.outer(vols, vols)
    temporary = np.diag(eta) + cross * np.sqrt(np.outer(eta, eta)) * (1.0 - np.eye(2))
    return PortfolioExecParams(**{"holdings": (1e6, -5e5), "arrival_prices": (100.0, 50.0), "covariance": sigma,
                                  "temporary_impact": temporary, "permanent_impact": np.diag([2e-8, 4e-8]),
                                  "half_spreads": (0.01, 0.02), "transient_impact": KAPPA, "resilience": RESILIENCE,
                                  **other})


def test_an_uncorrelated_book_is_its_assets_transient_optima():
    """No correlation or cross-impact: each asset's optimal holdings are OptimalExec-v0's with its own
    transient impact and resilience, and the book's value the sum of theirs (currency)."""
    p = book()
    oracle = execgym.make_oracle("PortfolioExec-v0", params=p)
    total = 0.0
    for i in range(2):
        x = p.shares[i]
        single = OptimalExecParams(shares=abs(x), side="sell" if x > 0 else "buy", arrival_price=p.prices[i],
                                   volatility=float(np.sqrt(p.sigma[i, i])), temporary_impact=p.eta[i, i],
                                   permanent_impact=p.gamma[i, i], half_spread=p.spreads[i],
                                   risk_aversion=p.risk_aversion, horizon=p.horizon, periods=p.periods,
                                   transient_impact=KAPPA[i], resilience=RESILIENCE[i])
        alone = execgym.make_oracle("OptimalExec-v0", params=single)
        np.testing.assert_allclose(np.abs(oracle.schedule[:, i]), alone.schedule, rtol=0, atol=1e-7 * abs(x))
        total += -alone.expected_return / single.bps_per_currency
    assert -oracle.expected_return / p.bps_per_currency == pytest.approx(total, rel=1e-11)


def _objective(p: PortfolioExecParams, trades: np.ndarray) -> float:
    """U of trades (N, m), written out period by period: n_kᵀHn_k/τ + n_kᵀΓᵀx_k + λτ·x_kᵀΣx_k, each book's
    transient cost κ_i·(n_ki²/2 + Σ_{j<k} ψ_i^{k−j}·n_ji·n_ki), and the spreads ε·|X|."""
    held, total = p.shares.copy(), float(p.spreads @ np.abs(p.shares))
    decay = np.exp(-np.array(RESILIENCE) * p.tau)
    for k, n in enumerate(trades):
        held = held - n
        total += n @ p.eta @ n / p.tau + n @ p.gamma.T @ held + p.risk_aversion * p.tau * held @ p.sigma @ held
        for i, kappa in enumerate(KAPPA):
            total += kappa * (0.5 * n[i] ** 2 + sum(decay[i] ** (k - j) * trades[j, i] * n[i] for j in range(k)))
    return total


@pytest.mark.parametrize("rho, cross", [(0.6, 0.3), (-0.4, 0.5)])
def test_a_correlated_book_with_cross_impact_is_the_hand_written_quadratic_programme(rho, cross):
    """U is quadratic in the N·m trades: its Hessian and gradient from :func:`_objective` at the unit vectors,
    then the KKT system with Σ_k n_k = X; the oracle's holdings and value are its solution's (1e-9)."""
    p = book(rho, cross, periods=6)
    size = p.periods * p.assets
    scale = 1e5                                             # unit trades of 10⁵ shares keep the differences exact
    base = _objective(p, np.zeros((p.periods, p.assets)))

    def at(vector):
        return _objective(p, scale * vector.reshape(p.periods, p.assets))

    units = np.eye(size)
    single = np.array([at(e) for e in units])
    hessian = np.array([[at(units[a] + units[b]) - single[a] - single[b] + base for b in range(size)]
                        for a in range(size)])
    gradient = 0.5 * (single - np.array([at(-e) for e in units]))          # the linear part at unit steps
    constraint = np.tile(np.eye(p.assets), p.periods)
    kkt = np.block([[hessian, constraint.T], [constraint, np.zeros((p.assets, p.assets))]])
    trades = np.linalg.solve(kkt, np.concatenate([-gradient, p.shares / scale]))[:size] * scale
    holdings = np.concatenate([p.shares[None], p.shares - np.cumsum(trades.reshape(p.periods, p.assets), axis=0)])
    oracle = execgym.make_oracle("PortfolioExec-v0", params=p)
    np.testing.assert_allclose(oracle.schedule, holdings, rtol=0, atol=1e-6 * np.abs(p.shares).max())
    value = _objective(p, -np.diff(oracle.schedule, axis=0))
    assert -oracle.expected_return / p.bps_per_currency == pytest.approx(value, rel=1e-10)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), scale=st.floats(0.01, 0.5), rho=st.floats(-0.5, 0.8))
def test_no_perturbed_schedule_beats_the_oracle(seed, scale, rho):
    """Each asset's optimal trades moved by up to ``scale`` of themselves (the book still completing) never have
    a lower objective, and the oracle's schedule prices at its value."""
    p = book(rho, 0.2)
    oracle = execgym.make_oracle("PortfolioExec-v0", params=p)
    trades = -np.diff(oracle.schedule, axis=0)
    moved = trades * (1.0 + scale * np.random.default_rng(seed).uniform(-1.0, 1.0, trades.shape))
    moved *= p.shares / moved.sum(axis=0)
    perturbed = np.concatenate([p.shares[None], p.shares - np.cumsum(moved, axis=0)])
    perturbed[-1] = 0.0
    objective = (schedule.expected_shortfall(p, oracle.schedule)
                 + p.risk_aversion * schedule.variance(p, oracle.schedule))
    assert objective == pytest.approx(-oracle.expected_return / p.bps_per_currency, rel=1e-10)
    assert schedule.expected_shortfall(p, perturbed) + p.risk_aversion * schedule.variance(p, perturbed) \
        >= objective * (1.0 - 1e-12)


def test_each_period_walks_each_book_and_the_shortfall_is_what_the_fills_paid():
    """A whole episode by hand: execution prices S + D − H·n/τ − ε∘sign(n) − κ∘n/2, displacements ψ∘(D − κ∘n),
    observed as D_i/(κ_i·X_i); the shortfall at the end is X·S0 − Σ_k n_k·S̃_k."""
    p = book(0.5, 0.3, periods=4)
    env = gym.make("PortfolioExec-v0", params=p)
    env.reset(seed=2)
    decay = np.exp(-np.array(RESILIENCE) * p.tau)
    displacement, proceeds = np.zeros(2), 0.0
    for action in ([0.0, -0.6], [0.5, 0.2], [-0.3, 0.9], [0.1, 0.1]):
        held, mids = env.unwrapped.state.holdings[:], np.array(env.unwrapped.state.prices)
        obs, _, done, _, info = env.step(np.array(action, dtype=np.float32))
        fraction = 1.0 if done else (np.float32(action).astype(np.float64) + 1.0) / 2.0     # the last trades all
        n = np.array(held) * fraction
        expected = (mids + displacement - p.eta @ n / p.tau - np.array(p.half_spreads) * np.sign(n)
                    - np.array(KAPPA) * n / 2.0)
        np.testing.assert_allclose(info["execution_prices"], expected, rtol=1e-13)
        displacement = decay * (displacement - np.array(KAPPA) * n)
        np.testing.assert_allclose(info["displacements"], displacement, rtol=1e-12)
        np.testing.assert_allclose(obs[5:7], displacement / (np.array(KAPPA) * p.shares), rtol=1e-6)
        proceeds += info["shares_traded"] @ info["execution_prices"]
    assert info["shortfall"] == pytest.approx(p.shares @ p.prices - proceeds, rel=1e-9)


def test_the_vector_env_is_the_scalar_env_and_the_oracle_plays_its_value():
    p = book(0.5, 0.3)
    native = gym.make_vec("PortfolioExec-v0", num_envs=3, params=p)
    rng = np.random.default_rng(0)
    assert_equals_sync_vector_env(native, lambda: gym.make("PortfolioExec-v0", params=p), steps=40,
                                  choose_actions=lambda info: rng.uniform(-1, 1, (3, 2)).astype(np.float32))
    oracle = execgym.make_oracle("PortfolioExec-v0", params=p)
    played = expected_return_played(gym.make("PortfolioExec-v0", params=p), oracle.policy, seed=4)
    assert played == pytest.approx(oracle.expected_return, rel=1e-10)


@pytest.mark.parametrize("kwargs, message", [
    ({"transient_impact": (3e-8, -1e-8)}, r"transient_impact\[1\]"), ({"transient_impact": (3e-8,)}, "one per asset"),
    ({"transient_impact": (1e-30, 0.0)}, r"transient_impact\[0\] must be 0 or"),
    ({"resilience": (1.0, -1.0)}, r"resilience\[1\]"), ({"transient_impact": None}, "resilience needs transient")])
def test_bad_transient_params_are_refused_naming_them(kwargs, message):
    with pytest.raises(ValueError, match=message):
        book(**kwargs)


def test_the_tabular_view_refuses_a_transient_book():
    with pytest.raises(ValueError, match="without transient impact"):
        tabular_view("PortfolioExec-v0", lots=4, params=book())
