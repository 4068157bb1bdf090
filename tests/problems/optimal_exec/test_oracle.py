"""The OptimalExec oracle: equals the Almgren–Chriss closed form, matches Monte Carlo, and nothing beats it."""

from dataclasses import replace

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import execgym
from execgym import engine
from execgym.problems.optimal_exec import policies
from execgym.problems.optimal_exec import closed_form, dynamics, schedule
from execgym.problems.optimal_exec.env import OptimalExecEnv
from execgym.problems.optimal_exec.lq_oracle import monotone_drift_range
from execgym.problems.optimal_exec.oracle import make_oracle
from execgym.problems.optimal_exec.params import OptimalExecParams

AC_EXAMPLE = OptimalExecParams.from_market_data(price=50.0, annual_volatility=0.3, daily_volume=5e6, spread=0.125,
                                                shares=1e6, horizon=5.0, periods=5, risk_aversion=1e-6)


@pytest.mark.parametrize("risk_aversion", [0.0, 1e-8, 1e-7, 5e-7, 1e-6, 1e-5])
@pytest.mark.parametrize("periods", [1, 2, 5, 13, 60])
@pytest.mark.parametrize("permanent_impact", [0.0, 2e-8])
@pytest.mark.parametrize("side", ["sell", "buy"])
def test_lq_oracle_equals_the_closed_form(risk_aversion, periods, permanent_impact, side):
    p = OptimalExecParams(risk_aversion=risk_aversion, periods=periods, permanent_impact=permanent_impact, side=side)
    oracle = make_oracle(p)
    np.testing.assert_allclose(oracle.schedule / p.shares, closed_form.holdings(p) / p.shares, rtol=0, atol=1e-9)
    assert oracle.expected_shortfall == pytest.approx(closed_form.expected_shortfall(p), rel=1e-9)
    assert oracle.variance == pytest.approx(closed_form.variance(p), rel=1e-9, abs=1e-9)
    objective = closed_form.expected_shortfall(p) + risk_aversion * closed_form.variance(p)
    assert oracle.expected_return == pytest.approx(-objective * p.bps_per_currency, rel=1e-9)


def test_closed_form_formulas_equal_the_sums_over_the_sinh_trajectory():
    """E and V in closed form against the exact sums of the schedule module, on the paper's example."""
    holdings = closed_form.holdings(AC_EXAMPLE)
    assert closed_form.expected_shortfall(AC_EXAMPLE) == pytest.approx(
        schedule.expected_shortfall(AC_EXAMPLE, holdings), rel=1e-12)
    assert closed_form.variance(AC_EXAMPLE) == pytest.approx(schedule.variance(AC_EXAMPLE, holdings), rel=1e-12)
    # κ̃² = λσ²/η̃ and cosh(κτ) = 1 + κ̃²τ²/2 with τ = 1 day: κ ≈ 0.60 per day.
    assert closed_form.kappa(AC_EXAMPLE) == pytest.approx(np.arccosh(1 + 1e-6 * 0.09 * 2500 / 250 / 2.375e-6 / 2),
                                                          rel=1e-12)
    assert closed_form.kappa(AC_EXAMPLE) == pytest.approx(0.6, abs=0.01)


def closed_form_reference(p):
    """κ, E[IS] and Var[IS] of the sinh trajectory in 50-digit arithmetic, κ from acosh(1 + x) as written
    and E, V summed over the trajectory (no closed form): an independent high-precision reference."""
    mpmath.mp.dps = 50
    tau, X, T = mpmath.mpf(p.tau), mpmath.mpf(p.shares), mpmath.mpf(p.horizon)
    x = mpmath.mpf(p.risk_aversion) * mpmath.mpf(p.volatility) ** 2 * tau**2 / (2 * mpmath.mpf(p.eta_tilde))
    k = mpmath.acosh(1 + x) / tau
    held = [X * mpmath.sinh(k * (T - j * tau)) / mpmath.sinh(k * T) for j in range(p.periods + 1)]
    trades = [held[j] - held[j + 1] for j in range(p.periods)]
    shortfall = (mpmath.mpf(p.permanent_impact) / 2 * X**2 + mpmath.mpf(p.half_spread) * X
                 + mpmath.mpf(p.eta_tilde) / tau * mpmath.fsum(n**2 for n in trades))
    variance = mpmath.mpf(p.volatility) ** 2 * tau * mpmath.fsum(h**2 for h in held[1:])
    return float(k), float(shortfall), float(variance)


@pytest.mark.parametrize("risk_aversion", [1e-30, 1e-20, 1e-17, 1e-12, 1e-6, 1e-3])
@pytest.mark.parametrize("periods", [1, 5, 250])
def test_closed_form_keeps_full_precision_for_small_and_large_risk_aversion(risk_aversion, periods):
    """Against 50-digit arithmetic, e.g. on the minimum-impact trajectory of the classic Udacity example
    (T = N = 250 days, λ = 1e-17, 12 % annual volatility), where acosh(1 + x) loses 1.1e-4 of κ and the
    variance's first form ~1e-16/(κT)² of V (and rounds κ to 0 below λ ≈ 1e-25), and at λ = 1e-3 over 250
    days, where sinh(κT) overflows."""
    p = OptimalExecParams.from_market_data(price=50.0, annual_volatility=0.12, daily_volume=5e6, spread=0.125,
                                           shares=1e6, horizon=float(periods), periods=periods,
                                           risk_aversion=risk_aversion)
    k, shortfall, variance = closed_form_reference(p)
    assert closed_form.kappa(p) == pytest.approx(k, rel=1e-14)
    assert closed_form.expected_shortfall(p) == pytest.approx(shortfall, rel=1e-13)
    assert closed_form.variance(p) == pytest.approx(variance, rel=1e-13, abs=0 if variance else 1e-300)


def test_zero_risk_aversion_gives_twap():
    p = OptimalExecParams(risk_aversion=0.0)
    np.testing.assert_allclose(make_oracle(p).schedule, policies.twap(p).schedule, rtol=1e-12, atol=1e-6)


def test_oracle_monte_carlo_mean_equals_its_exact_value():
    for p in (OptimalExecParams(), replace(AC_EXAMPLE, side="buy"), OptimalExecParams(drift=0.5, periods=30)):
        oracle = make_oracle(p)
        result = execgym.score(oracle.policy, "OptimalExec-v0", episodes=20_000, seed=1, params=p)
        assert abs(result.reference_return.mean - oracle.expected_return) < result.reference_return.half_width
        assert result.regret.mean == 0.0


def test_oracle_acting_through_the_env_follows_its_schedule():
    p = OptimalExecParams(drift=0.8, periods=20)
    oracle = make_oracle(p)
    env = OptimalExecEnv(params=p)
    obs, info = env.reset(seed=0)
    holdings = [info["inventory"]]
    done = False
    while not done:
        obs, _, done, _, info = env.step(oracle.policy(obs[None])[0])
        holdings.append(info["inventory"])
    np.testing.assert_allclose(np.array(holdings) / p.shares, oracle.schedule / p.shares, atol=1e-6)


@pytest.mark.parametrize("name", sorted(policies.BASELINES))
def test_no_baseline_beats_the_oracle_exactly_or_in_paired_monte_carlo(name):
    p = OptimalExecParams()
    policy = policies.make_baseline(name, p)
    assert schedule.expected_return(p, policy.schedule) <= make_oracle(p).expected_return
    result = execgym.score(policy, "OptimalExec-v0", episodes=5_000, seed=7, params=p)
    assert result.regret.high >= 0.0


def random_holdings(rng, p, count):
    fractions = rng.uniform(0, 1, size=(count, p.periods)) ** rng.uniform(0.3, 3.0, size=(count, 1))
    fractions[:, -1] = 1.0
    kept = np.cumprod(1.0 - fractions, axis=1)
    return p.shares * np.concatenate([np.ones((count, 1)), kept], axis=1), fractions


def test_none_of_1000_random_schedules_beats_the_oracle():
    """Exactly (mean–variance objective of each schedule) and in paired Monte Carlo (100 episodes each)."""
    p = OptimalExecParams(drift=0.3)
    rng = np.random.default_rng(0)
    holdings, fractions = random_holdings(rng, p, 1000)
    oracle = make_oracle(p)
    assert (schedule.expected_return(p, holdings) <= oracle.expected_return + 1e-12).all()

    episodes = 100
    seeds = np.tile(np.arange(episodes), 1000)
    plan = np.repeat(fractions, episodes, axis=0)

    def returns(choose):
        batch = engine.start(dynamics.DYNAMICS, p, seeds, np.zeros_like(seeds))
        total = np.zeros(seeds.shape[0])
        for k in range(p.periods):
            transition = engine.step(dynamics.DYNAMICS, p, batch, choose(batch, k))
            total += transition.reward
            batch = transition.batch
        return total.reshape(1000, episodes)

    random_returns = returns(lambda batch, k: plan[:, k])
    oracle_returns = returns(lambda batch, k: dynamics.action_to_fraction(
        oracle.policy(engine.observe(dynamics.DYNAMICS, p, batch))[:, 0]))
    regret = oracle_returns - random_returns
    standard_error = regret.std(axis=1, ddof=1) / np.sqrt(episodes)
    assert (regret.mean(axis=1) > -4.0 * standard_error).all()


@settings(max_examples=40, deadline=None)
@given(risk_aversion=st.floats(0.0, 1e-5), periods=st.integers(1, 40), permanent=st.floats(0.0, 5e-8),
       temporary=st.floats(5e-8, 1e-6), volatility=st.floats(0.1, 5.0), side=st.sampled_from(["sell", "buy"]),
       seed=st.integers(0, 1000))
def test_property_oracle_value_is_its_schedule_objective_and_beats_random_schedules(
        risk_aversion, periods, permanent, temporary, volatility, side, seed):
    p = OptimalExecParams(risk_aversion=risk_aversion, periods=periods, permanent_impact=permanent,
                          temporary_impact=temporary, volatility=volatility, side=side)
    oracle = make_oracle(p)
    assert oracle.expected_return == pytest.approx(schedule.expected_return(p, oracle.schedule), rel=1e-9)
    holdings, _ = random_holdings(np.random.default_rng(seed), p, 200)
    gap = oracle.expected_return - schedule.expected_return(p, holdings)
    assert (gap >= -1e-9 * abs(oracle.expected_return)).all()


def test_drift_schedule_equals_the_dense_quadratic_minimum():
    """With drift the closed form does not apply: check against the quadratic's first-order condition."""
    p = OptimalExecParams(drift=1.0, half_spread=0.0, periods=8)
    n = p.periods - 1
    base = np.linspace(p.shares, 0, p.periods + 1)

    def objective(inner):
        return float(schedule.objective(p, np.concatenate([[p.shares], inner, [0.0]])))

    f0 = objective(base[1:-1])
    unit = 1e3
    basis = np.eye(n) * unit
    f_e = np.array([objective(base[1:-1] + e) for e in basis])
    f_2e = np.array([[objective(base[1:-1] + basis[i] + basis[j]) for j in range(n)] for i in range(n)])
    H = 0.5 * (f_2e - f_e[:, None] - f_e[None, :] + f0)
    g = f_e - f0 - np.diag(H)
    step = np.linalg.solve(2 * H, -g) * unit
    np.testing.assert_allclose(make_oracle(p).schedule[1:-1], base[1:-1] + step, rtol=1e-7)


def test_drift_outside_the_one_directional_range_raises_with_the_range():
    p = OptimalExecParams(risk_aversion=1e-7)
    low, high = monotone_drift_range(p)
    assert low < 0 < high
    make_oracle(replace(p, drift=0.999 * high))
    make_oracle(replace(p, drift=0.999 * low))
    with pytest.raises(ValueError, match=r"drift must lie in \[") as error:
        make_oracle(replace(p, drift=1.01 * high))
    assert f"{high:.6g}" in str(error.value)
    with pytest.raises(ValueError, match="both directions"):
        make_oracle(replace(p, drift=1.01 * low))


def test_make_oracle_takes_kwargs_or_params_and_rejects_unknown_ids():
    assert execgym.make_oracle("OptimalExec-v0", periods=5).schedule.shape == (6,)
    assert execgym.make_oracle("OptimalExec-v0", params=AC_EXAMPLE).schedule.shape == (6,)
    with pytest.raises(ValueError, match="unknown env id 'Nope-v0'"):
        execgym.make_oracle("Nope-v0")


@pytest.mark.parametrize("reaction", [-0.5, 0.5, 2.0])
def test_price_adaptive_policies_do_not_beat_the_oracle(reaction):
    """Trading faster (or slower) when the price has moved does not help in expectation: the objective the
    reward sums to is minimised by the oracle over all adaptive policies."""
    p = OptimalExecParams()
    oracle = make_oracle(p)

    def adaptive(obs):
        base = dynamics.action_to_fraction(oracle.policy(obs)[:, 0])
        return dynamics.fraction_to_action(np.clip(base * (1 + reaction * obs[:, 2]), 0, 1))[:, None]

    result = execgym.score(adaptive, "OptimalExec-v0", episodes=20_000, seed=5, params=p)
    assert result.regret.high >= 0.0
    assert result.regret.mean > 0.0
