"""OptimalExec under a mean-reverting (Ornstein–Uhlenbeck) price: exact schedule costs, the LQ feedback's
agreement with seed 000's "base rate + opportunistic adjustment" formula, and the oracle's exactness check."""

from dataclasses import replace

import numpy as np
import pytest

from execgym.problems.optimal_exec import dynamics, schedule
from execgym.problems.optimal_exec.env import OptimalExecVectorEnv
from execgym.problems.optimal_exec.lq_oracle import CLIP_TOLERANCE, clip_probability, initial_state, lq_problem
from execgym.problems.optimal_exec.oracle import make_oracle
from execgym.problems.optimal_exec.params import OptimalExecParams
from execgym.solvers.lq import solve_lq

OU = OptimalExecParams(mean_reversion=2.0, price_mean=100.4, drift=0.3)


def test_ou_discretisation_constants():
    p = OU
    phi = np.exp(-2.0 * p.tau)
    assert p.reversion_factor == pytest.approx(phi, rel=1e-15)
    assert p.shock_scale == pytest.approx(p.volatility * np.sqrt((1 - phi**2) / 4.0), rel=1e-12)
    slow = replace(p, mean_reversion=1e-12)
    assert slow.shock_scale == pytest.approx(p.volatility * np.sqrt(p.tau), rel=1e-9)
    assert OptimalExecParams().long_run_price == 100.0
    with pytest.raises(ValueError, match="mean_reversion must be in"):
        OptimalExecParams(mean_reversion=-1.0)
    with pytest.raises(ValueError, match="price_mean must be in"):
        OptimalExecParams(price_mean=0.0)


@pytest.mark.parametrize("side", ["sell", "buy"])
def test_schedule_mean_and_variance_under_mean_reversion_match_monte_carlo(side):
    p = replace(OU, side=side)
    holdings = p.shares * np.linspace(1.0, 0.0, p.periods + 1) ** 1.5
    fractions = np.where(holdings[:-1] > 0, -np.diff(holdings) / holdings[:-1], 1.0)
    n = 200_000
    batch = dynamics.start(p, np.arange(n), np.zeros(n))
    total = np.zeros(n)
    for k in range(p.periods):
        transition = dynamics.step(p, batch, np.full(n, fractions[k]))
        total += transition.reward
        batch = transition.batch
    exact = schedule.expected_return(p, holdings)
    assert abs(total.mean() - exact) < 4.0 * total.std() / np.sqrt(n)
    # For a schedule the risk penalty is deterministic, so the return's variance is Var[IS] in bps².
    assert total.var() == pytest.approx(schedule.variance(p, holdings) * p.bps_per_currency**2, rel=0.02)
    np.testing.assert_allclose(-batch.shortfall * p.bps_per_currency - schedule.risk_penalty(p, holdings)
                               * p.bps_per_currency, total, rtol=1e-9)


def test_random_walk_is_the_zero_reversion_limit():
    base = OptimalExecParams(drift=0.2)
    slow = replace(base, mean_reversion=1e-9)
    assert make_oracle(slow).expected_return == pytest.approx(make_oracle(base).expected_return, rel=1e-7)
    assert make_oracle(base).clip_probability == 0.0


def seed_formula_trade(p, elapsed, inventory, deviation):
    """Seed 000's v = Q/T + (p_t − average expected price)/(2λ), in its remaining-horizon discrete form: trade
    x/m + τ/(2η)·(S − mean over the m remaining periods of E[S at their start]), λ ↦ η (no risk term)."""
    remaining = p.periods - elapsed
    i = np.arange(remaining)
    expected_deviation = p.reversion_factor ** i[None, :] * deviation[:, None]   # E[S_{e+i}] − μ̄, no drift
    return inventory / remaining + p.tau / (2 * p.temporary_impact) * (deviation - expected_deviation.mean(axis=1))


def test_lq_feedback_is_the_seed_formula_in_its_remaining_horizon_form_at_every_step():
    """Risk neutral, no permanent impact, no half spread, no drift: the LQ solver's exact adaptive policy
    equals the formula re-applied from the current state, at every step and every state."""
    p = replace(OptimalExecParams(), risk_aversion=0.0, permanent_impact=0.0, half_spread=0.0,
                mean_reversion=3.0, price_mean=100.2)
    problem = lq_problem(p)
    solution = solve_lq(problem)
    rng = np.random.default_rng(0)
    for elapsed in range(p.periods - 1):
        states = np.column_stack([rng.uniform(0, p.shares, 50), rng.normal(0, 1.0, 50)])
        lq_trade = solution.control(elapsed, states)[:, 0]
        np.testing.assert_allclose(lq_trade, seed_formula_trade(p, elapsed, states[:, 0], states[:, 1]),
                                   rtol=1e-9, atol=1e-6)
    # At the start of the horizon the remaining-horizon form is the seed's formula as written.
    start = initial_state(p)
    first = solution.control(0, start[None])[0, 0]
    literal = p.tau * (p.shares / p.horizon + (start[1] - np.mean(
        p.reversion_factor ** np.arange(p.periods) * start[1])) / (2 * p.temporary_impact))
    assert first == pytest.approx(literal, rel=1e-12)


def test_oracle_refuses_mean_reversion_its_action_space_cannot_follow():
    p = OptimalExecParams(mean_reversion=2.0)
    problem = lq_problem(p)
    assert clip_probability(p, problem, solve_lq(problem)) > 0.5
    with pytest.raises(ValueError, match=r"probability up to .* \(more than 1e-06\)"):
        make_oracle(p)
    assert CLIP_TOLERANCE == 1e-6


def test_mean_reverting_env_runs_and_reverts():
    """With no trading impact the price's deviation decays by φ per period on average."""
    p = replace(OptimalExecParams(), mean_reversion=5.0, price_mean=101.0, permanent_impact=0.0)
    env = OptimalExecVectorEnv(num_envs=100_000, params=p)
    env.reset(seed=0)
    _, _, _, _, info = env.step(np.full((100_000, 1), -1.0))
    expected = p.long_run_price + p.reversion_factor * (p.arrival_price - p.long_run_price)
    assert abs(info["price"].mean() - expected) < 4 * p.shock_scale / np.sqrt(100_000)
    assert info["price"].std() == pytest.approx(p.shock_scale, rel=0.01)
