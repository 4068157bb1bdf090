"""Transient impact (Obizhaeva–Wang): the step against a book walked by hand, the LQ oracle against a dense
quadratic programme on the propagator matrix, its limits (no resilience, instant resilience, the continuous-time
closed form), and the oracle never beaten."""

import math

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vector_checks import assert_equals_sync_vector_env, expected_return_played

import execgym
from execgym.problems.optimal_exec import schedule
from execgym.problems.optimal_exec.params import OptimalExecParams
from execgym.problems.optimal_exec.variants import TRANSIENT

BASE = dict(periods=8, **TRANSIENT)


def _params(**kwargs) -> OptimalExecParams:
    return OptimalExecParams(**{**BASE, **kwargs})


def test_the_step_walks_the_book_by_hand():
    """A sell of fixed fractions in the scalar env: each execution price is the mid plus the displacement, less
    the half spread, the temporary impact and half the book walked (κn/2); the displacement decays by ψ between
    periods; the shortfall is X·S0 − Σ n·S̃ (the order completes)."""
    p = _params(side="sell")
    env = gym.make("OptimalExec-v0", params=p)
    env.reset(seed=3)
    tau, kappa, psi = p.tau, p.transient_impact, math.exp(-p.resilience * p.tau)
    held, displacement, proceeds = p.shares, 0.0, 0.0
    for k, action in enumerate([0.2, -0.5, 1.0, -1.0, 0.0, 0.3, -0.2, 0.9]):
        mid = env.unwrapped.state.price
        _, reward, _, _, info = env.step(np.array([action], dtype=np.float32))
        traded = held if k == p.periods - 1 else held * (float(np.float32(action)) + 1.0) / 2.0
        expected_price = (mid + displacement - p.half_spread - p.temporary_impact * traded / tau
                          - kappa * traded / 2.0)
        assert info["shares_traded"] == pytest.approx(traded, rel=1e-12)
        assert info["execution_price"] == pytest.approx(expected_price, rel=1e-13)
        displacement = psi * (displacement - kappa * traded)
        assert info["displacement"] == pytest.approx(displacement, rel=1e-12, abs=1e-15)
        proceeds += traded * info["execution_price"]
        held -= traded
    assert info["shortfall"] == pytest.approx(p.shares * p.arrival_price - proceeds, rel=1e-10)


def _dense_optimum(p: OptimalExecParams) -> tuple[np.ndarray, float]:
    """(holdings, U) minimising U(n) = Σ η n_k²/τ + ½ nᵀ(κG)n + γ·Σ n_k·x_k + λσ²τ·Σ x_k² + εX over trades n
    with Σ n = X (random walk, no drift), G_jk = e^{−ρτ|k−j|}, x = X − Ln (L the lower-triangular ones): the
    quadratic programme on the propagator matrix, by its KKT system."""
    N, X, tau = p.periods, p.shares, p.tau
    L = np.tril(np.ones((N, N)))
    G = np.exp(-p.resilience * tau * np.abs(np.subtract.outer(np.arange(N), np.arange(N))))
    # U = ½ nᵀ H n + fᵀ n + const, holdings x = X·1 − L n (x_N = 0 by the constraint)
    H = 2.0 * p.temporary_impact / tau * np.eye(N) + p.transient_impact * G
    H += p.permanent_impact * (-(L + L.T)) + 2.0 * p.period_risk * L.T @ L
    f = p.permanent_impact * X * np.ones(N) - 2.0 * p.period_risk * X * L.T @ np.ones(N)
    constant = p.period_risk * X**2 * N + p.half_spread * X
    kkt = np.block([[H, np.ones((N, 1))], [np.ones((1, N)), np.zeros((1, 1))]])
    trades = np.linalg.solve(kkt, np.append(-f, X))[:N]
    value = 0.5 * trades @ H @ trades + f @ trades + constant
    return np.concatenate([[X], X - np.cumsum(trades)]), value


@pytest.mark.parametrize("kwargs", [{}, {"risk_aversion": 0.0}, {"risk_aversion": 5e-6, "resilience": 2.0},
                                    {"side": "buy", "periods": 20, "resilience": 40.0},
                                    {"permanent_impact": 0.0, "transient_impact": 1e-6, "resilience": 0.5}])
def test_the_oracle_is_the_propagator_quadratic_programme(kwargs):
    """The LQ oracle's schedule and value equal the dense QP's (the permanent term γ·Σn_k·x_k carries the
    half-square ½γX² minus the γτ/2 correction: the QP writes the env's own accounting, γ on what is held)."""
    p = _params(**kwargs)
    oracle = execgym.make_oracle("OptimalExec-v0", params=p)
    holdings, value = _dense_optimum(p)
    np.testing.assert_allclose(oracle.schedule, holdings, rtol=0, atol=1e-7 * p.shares)
    assert -oracle.expected_return / p.bps_per_currency == pytest.approx(value, rel=1e-10)
    assert oracle.expected_shortfall + p.risk_aversion * oracle.variance == pytest.approx(value, rel=1e-10)


def test_no_resilience_costs_a_constant_and_instant_resilience_is_temporary_impact():
    """ρ = 0: the book never recovers, the whole order pays κX²/2 whatever the schedule, so the optimum is the
    plain one's, κX²/2 dearer. ρ → ∞ (ψ = 0): each trade pays κn²/2 alone, Almgren–Chriss with η + κτ/2."""
    plain = dict(BASE)
    kappa = plain.pop("transient_impact")
    plain.pop("resilience")
    p0 = _params(resilience=0.0)
    reference = execgym.make_oracle("OptimalExec-v0", **plain)
    stuck = execgym.make_oracle("OptimalExec-v0", params=p0)
    np.testing.assert_allclose(stuck.schedule, reference.schedule, rtol=0, atol=1e-8 * p0.shares)
    assert stuck.expected_return == pytest.approx(
        reference.expected_return - 0.5 * kappa * p0.shares**2 * p0.bps_per_currency, rel=1e-11)
    instant = execgym.make_oracle("OptimalExec-v0", params=_params(resilience=1e6))
    widened = execgym.make_oracle("OptimalExec-v0", **{**plain, "temporary_impact":
                                                         plain["temporary_impact"] + kappa * p0.tau / 2.0})
    np.testing.assert_allclose(instant.schedule, widened.schedule, rtol=0, atol=1e-8 * p0.shares)
    assert instant.expected_return == pytest.approx(widened.expected_return, rel=1e-11)


def test_the_risk_neutral_optimum_tends_to_obizhaeva_and_wangs_closed_form():
    """Risk-neutral, no permanent impact, temporary impact 10⁻⁸ of the transient: as N grows the discrete
    optimum tends to Obizhaeva & Wang's (2013) continuous one: blocks X/(ρT + 2) at the start and at the end,
    the rest at the constant rate ρX/(ρT + 2), at the cost κX²/(ρT + 2). The errors shrink as 1/N: the holdings
    after each period and the two blocks within 3 % at N = 100, 0.3 % at N = 1,000, the cost within 1 % and
    0.1 %."""
    rho, X = 3.0, 1e6
    for periods, tolerance in ((100, 0.03), (1_000, 0.003)):
        p = OptimalExecParams(shares=X, periods=periods, risk_aversion=0.0, permanent_impact=0.0, half_spread=0.0,
                              transient_impact=1e-7, resilience=rho, temporary_impact=1e-15)
        oracle = execgym.make_oracle("OptimalExec-v0", params=p)
        trades = -np.diff(oracle.schedule)
        block = X / (rho * p.horizon + 2.0)
        continuous = X - block - rho * block * p.tau * np.arange(periods - 1)    # after the trades of 0..k
        np.testing.assert_allclose(oracle.schedule[1:-1], continuous, rtol=0, atol=tolerance * X)
        assert trades[0] == pytest.approx(block, rel=tolerance)
        assert trades[-1] == pytest.approx(block, rel=tolerance)
        cost = -oracle.expected_return / p.bps_per_currency
        assert cost == pytest.approx(p.transient_impact * X**2 / (rho * p.horizon + 2.0), rel=tolerance / 3.0)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), scale=st.floats(0.01, 0.5), resilience=st.floats(0.0, 50.0),
       risk=st.sampled_from([0.0, 5e-7, 5e-6]))
def test_no_perturbed_schedule_beats_the_oracle(seed, scale, resilience, risk):
    """The oracle's schedule with each trade moved by up to ``scale`` of itself (the order still completing)
    never has a lower objective U, and the objective of the oracle's schedule is its value."""
    p = _params(resilience=resilience, risk_aversion=risk)
    oracle = execgym.make_oracle("OptimalExec-v0", params=p)
    trades = -np.diff(oracle.schedule)
    rng = np.random.default_rng(seed)
    moved = trades * (1.0 + scale * rng.uniform(-1.0, 1.0, trades.size))
    moved *= p.shares / moved.sum()
    perturbed = np.concatenate([[p.shares], p.shares - np.cumsum(moved)])
    perturbed[-1] = 0.0
    best = schedule.objective(p, oracle.schedule)
    assert best == pytest.approx(-oracle.expected_return / p.bps_per_currency, rel=1e-10)
    assert schedule.objective(p, perturbed) >= best * (1.0 - 1e-12)


@pytest.mark.parametrize("side", ["sell", "buy"])
def test_the_oracle_plays_its_value_in_the_env(side):
    """The oracle's policy in the scalar env, selling or buying: its expected rewards sum to its value (the
    schedule is deterministic, so every episode's do), and the vector env is the scalar env, infos included."""
    p = _params(side=side)
    oracle = execgym.make_oracle("OptimalExec-v0", params=p)
    played = expected_return_played(gym.make("OptimalExec-v0", params=p), oracle.policy, seed=5)
    assert played == pytest.approx(oracle.expected_return, rel=1e-9)
    rng = np.random.default_rng(1)
    assert_equals_sync_vector_env(gym.make_vec("OptimalExec-v0", num_envs=3, params=p),
                                  lambda: gym.make("OptimalExec-v0", params=p), steps=30,
                                  choose_actions=lambda info: rng.uniform(-1, 1, (3, 1)).astype(np.float32))


@pytest.mark.parametrize("kwargs, message", [
    ({"transient_impact": -1e-7}, "transient_impact"), ({"resilience": -1.0}, "resilience"),
    ({"resilience": 1e7}, "resilience"), ({"smoothness": 1e-6}, "smoothness > 0"),
    ({"impact_exponent": 0.5}, "impact_exponent"), ({"trade_caps": (2e5,) * 8}, "trade_caps")])
def test_bad_transient_params_are_refused_naming_them(kwargs, message):
    with pytest.raises(ValueError, match=message):
        _params(**kwargs)
