"""OptimalExec under a mean-reverting (Ornstein–Uhlenbeck) price: exact schedule costs, the LQ feedback's
agreement with seed 000's "base rate + opportunistic adjustment" formula, and the oracle's exactness check."""

import re
from dataclasses import replace

import numpy as np
import pytest

import execgym
from execgym import engine
from execgym.problems.optimal_exec.schedule_policy import SchedulePolicy
from execgym.problems.optimal_exec import dynamics, schedule
from execgym.problems.optimal_exec.env import OptimalExecVectorEnv
from execgym.problems.optimal_exec.lq_oracle import CLIP_TOLERANCE, breach_probabilities, initial_state, lq_problem
from execgym.problems.optimal_exec.oracle import make_oracle
from execgym.problems.optimal_exec.params import OptimalExecParams
from execgym.scoring import Estimate, run_episodes
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
    batch = engine.start(dynamics.DYNAMICS, p, np.arange(n), np.zeros(n))
    total = np.zeros(n)
    for k in range(p.periods):
        transition = engine.step(dynamics.DYNAMICS, p, batch, np.full(n, fractions[k]))
        total += transition.reward
        batch = transition.batch
    exact = schedule.expected_return(p, holdings)
    assert abs(total.mean() - exact) < 4.0 * total.std() / np.sqrt(n)
    # For a schedule the risk penalty is deterministic, so the return's variance is Var[IS] in bps².
    assert total.var() == pytest.approx(schedule.variance(p, holdings) * p.bps_per_currency**2, rel=0.02)
    np.testing.assert_allclose(-batch.state.shortfall * p.bps_per_currency - schedule.risk_penalty(p, holdings)
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


def simulated_breaches(params, paths, seed):
    """(paths, decision periods, 2) whether the unclipped LQ feedback breaks each one-way limit (buying back,
    selling more than is held) along simulated Gaussian state paths: an independent check of the normal
    tails that breach_probabilities propagates."""
    problem = lq_problem(params)
    solution = solve_lq(problem)
    a = problem.arrays()
    rng = np.random.default_rng(seed)
    state = np.tile(initial_state(params), (paths, 1))
    out = np.empty((paths, problem.steps, 2), dtype=bool)
    for k in range(problem.steps):
        trade = solution.control(k, state)[:, 0]
        out[:, k] = np.stack([trade < 0.0, trade > state[:, 0]], axis=1)
        noise = rng.multivariate_normal(np.zeros(problem.n), a["W"][k], size=paths)
        state = state @ a["A"][k].T + trade[:, None] * a["B"][k][:, 0] + a["c"][k] + noise
    return out


@pytest.mark.parametrize("mean_reversion", [0.5, 2.0, 5.0])
def test_refusal_reports_the_expected_number_of_breaches_and_bounds_on_their_probability(mean_reversion):
    """The message's numbers are what it says they are: the mean count of (period, limit) breaches per
    episode, and a lower and an upper bound on the probability of at least one, all against simulation."""
    p = OptimalExecParams(mean_reversion=mean_reversion)
    with pytest.raises(ValueError) as refusal:
        make_oracle(p)
    message = str(refusal.value)
    numbers = re.search(r"on average ([\d.e+-]+) per episode .* between ([\d.e+-]+) \(the likeliest single breach\) "
                        r"and ([\d.e+-]+) \(the union bound, capped at 1\)", message)
    assert numbers is not None, message
    expected, likeliest, union = (float(x) for x in numbers.groups())
    problem = lq_problem(p)
    breaches = breach_probabilities(p, problem, solve_lq(problem))
    assert expected == float(f"{breaches.sum():.2g}") and union == min(expected, 1.0) and likeliest <= union
    simulated = simulated_breaches(p, 20_000, seed=1)
    count = simulated.sum(axis=(1, 2))
    assert abs(count.mean() - breaches.sum()) < 4 * count.std() / np.sqrt(count.size)
    np.testing.assert_allclose(simulated.mean(axis=0), breaches, atol=0.015)
    any_breach = count > 0
    assert breaches.max() - 0.015 < any_breach.mean() < min(breaches.sum(), 1.0) + 0.015
    if mean_reversion >= 2.0:
        assert expected > 1.0   # a count, not a probability


def test_mean_reverting_env_runs_and_reverts():
    """With no trading impact the price's deviation decays by φ per period on average."""
    p = replace(OptimalExecParams(), mean_reversion=5.0, price_mean=101.0, permanent_impact=0.0)
    env = OptimalExecVectorEnv(num_envs=100_000, params=p)
    env.reset(seed=0)
    _, _, _, _, info = env.step(np.full((100_000, 1), -1.0))
    expected = p.long_run_price + p.reversion_factor * (p.arrival_price - p.long_run_price)
    assert abs(info["price"].mean() - expected) < 4 * p.shock_scale / np.sqrt(100_000)
    assert info["price"].std() == pytest.approx(p.shock_scale, rel=0.01)


# Two-way trading without half spread: the oracle is the exact adaptive LQ feedback.

TWO_WAY = OptimalExecParams(two_way=True, half_spread=0.0, mean_reversion=2.0)
RISK_NEUTRAL = replace(TWO_WAY, risk_aversion=0.0, permanent_impact=0.0, price_mean=100.2)


def test_two_way_oracle_monte_carlo_matches_its_exact_value():
    oracle = make_oracle(TWO_WAY)
    assert oracle.clip_probability < 1e-6
    returns, _ = run_episodes(oracle.policy, "OptimalExec-v0", np.arange(100_000), TWO_WAY)
    estimate = Estimate.of(returns)
    assert abs(estimate.mean - oracle.expected_return) < estimate.half_width


def test_oracle_beats_the_best_deterministic_schedule_by_the_lq_value_of_the_noise():
    """The oracle's holdings along the expected price path are the optimum of the noiseless LQ problem
    (certainty equivalence), i.e. the best deterministic schedule; the oracle's value exceeds it by exactly
    −Σ_k tr(P_{k+1}·W_k), the noise's term of the LQ value."""
    p = TWO_WAY
    oracle = make_oracle(p)
    holdings = oracle.schedule
    schedule_return = float(schedule.expected_return(p, holdings))
    problem = lq_problem(p)
    stochastic, noiseless = solve_lq(problem), solve_lq(replace(problem, W=np.zeros((2, 2))))
    start = initial_state(p)
    assert -float(noiseless.value(0, start)) * p.bps_per_currency == pytest.approx(schedule_return, rel=1e-12)
    gain = oracle.expected_return - schedule_return
    lq_gain = float(noiseless.value(0, start) - stochastic.value(0, start)) * p.bps_per_currency
    a = problem.arrays()
    noise_term = -sum(np.trace(stochastic.P[k + 1] @ a["W"][k]) for k in range(problem.steps)) * p.bps_per_currency
    assert gain == pytest.approx(lq_gain, rel=1e-9)
    assert gain == pytest.approx(noise_term, rel=1e-9)
    assert gain > 4.0                                          # bps: adaptivity is worth a lot at θ = 2
    # No deterministic schedule does better: perturbing the interior holdings only lowers the value.
    rng = np.random.default_rng(0)
    bumps = np.zeros((200, p.periods + 1))
    bumps[:, 1:-1] = rng.normal(0.0, 0.01 * p.shares, (200, p.periods - 1))
    assert (schedule.expected_return(p, holdings + bumps) < schedule_return).all()
    # Paired Monte Carlo: the schedule's regret is positive and its interval contains the exact gain.
    result = execgym.score(SchedulePolicy(p, holdings, "deterministic"), "OptimalExec-v0", 100_000, 0,
                           params=p, oracle=oracle)
    assert result.regret.low > 0.0
    assert result.regret.low <= gain <= result.regret.high


class SeedFormulaPolicy:
    """Seed 000's formula acting through the env: ``literal`` trades τ·[X/T + (S − p̄)/(2η)] with p̄ the mean
    of E[S_i], i = 0..N−1, fixed at the start; otherwise :func:`seed_formula_trade` from the current state.
    The last period trades what is left (the env forces it)."""

    def __init__(self, params, literal):
        self.params, self.literal = params, literal
        mu = params.long_run_price
        self.mean_price = np.mean(mu + params.reversion_factor ** np.arange(params.periods)
                                  * (params.arrival_price - mu))

    def __call__(self, observations):
        p = self.params
        elapsed, inventory = dynamics.decode(p, observations)
        price = np.asarray(observations, dtype=np.float64)[:, 2] * p.price_scale + p.arrival_price
        if self.literal:
            trades = p.tau * (p.shares / p.horizon + (price - self.mean_price) / (2 * p.temporary_impact))
        else:                                                  # seed_formula_trade takes one elapsed at a time
            trades = np.empty_like(inventory)
            for k in np.unique(elapsed):
                rows = elapsed == k
                trades[rows] = seed_formula_trade(p, int(k), inventory[rows], price[rows] - p.long_run_price)
        return dynamics.trade_to_action(p, elapsed, inventory, trades)[:, None].astype(np.float32)


def test_seed_formula_in_remaining_horizon_form_is_optimal_as_a_policy_and_literal_is_not():
    """Risk neutral, no permanent impact, no half spread: re-applied from the current state the formula has
    regret 0 (paired); applied literally throughout (p̄ fixed at the start, no inventory feedback) it leaves
    a random remainder to the forced last period and loses significantly."""
    p = RISK_NEUTRAL
    oracle = make_oracle(p)
    remaining = execgym.score(SeedFormulaPolicy(p, literal=False), "OptimalExec-v0", 20_000, 0, params=p,
                              oracle=oracle)
    assert abs(remaining.regret.mean) < remaining.regret.half_width or abs(remaining.regret.mean) < 1e-9
    literal = execgym.score(SeedFormulaPolicy(p, literal=True), "OptimalExec-v0", 20_000, 0, params=p,
                            oracle=oracle)
    assert literal.regret.low > 0.0
    assert literal.regret.mean > 100.0                         # bps


def test_one_way_refusal_suggests_two_way_trading_and_the_suggestion_works():
    p = OptimalExecParams(mean_reversion=2.0)
    with pytest.raises(ValueError, match=r"at most 1e-06; set two_way=True and half_spread=0"):
        make_oracle(p)
    assert make_oracle(replace(p, two_way=True, half_spread=0.0)).clip_probability < CLIP_TOLERANCE
