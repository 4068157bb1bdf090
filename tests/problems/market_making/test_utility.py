"""MarketMaking-v0 under exponential utility ("cara") across risk aversions: finite exact values, the
risk-neutral limit, agreement with Monte Carlo, and a clear refusal where E[u] is beyond float64."""

import re
from dataclasses import replace

import numpy as np
import pytest

import execgym
from execgym.problems.market_making import dynamics, policies
from execgym.problems.market_making import oracle as mm_oracle
from execgym.problems.market_making.env import MarketMakingEnv, MarketMakingVectorEnv
from execgym.problems.market_making.params import MarketMakingParams
from execgym.scoring import run_episodes
from execgym.solvers import quotes

ENV = "MarketMaking-v0"
CENTS = 0.01
SCALED = dict(volatility=2.0 * CENTS, depth_decay=1.5 / CENTS, max_depth=50.0 * CENTS,
              inventory_penalty=0.2 * CENTS, terminal_penalty=0.5 * CENTS, mid_price=1.0)
"""The default market with δ_max = 50 in units of 1/100 of its currency: γ per new unit is γ/100 per old
one, so γ = 10 here is γ = 0.1 there."""


def cara(risk_aversion, **fields):
    return MarketMakingParams(objective="cara", risk_aversion=risk_aversion, **fields)


def start_level(params):
    return params.initial_inventory + params.max_inventory


@pytest.mark.parametrize("risk_aversion", [1e-9, 0.3, 10.0])
def test_recursion_is_finite_at_every_risk_aversion(risk_aversion):
    """ln θ_n(q) spans 0 to 5·10⁵ on the default market at γ = 10: every entry and every quote is finite."""
    params = cara(risk_aversion)
    tables = mm_oracle.solve(params)
    assert np.isfinite(tables.values).all()
    for side in (tables.bid, tables.ask):
        assert ((side >= 0.0) & (side <= params.max_depth)).all()
    assert tables.values.max() > (4e5 if risk_aversion == 10.0 else -1.0)


def path_lower_bound(params):
    """A lower bound on ln E[e^{−γΠ}] from q_0 = 0 valid for every policy: the bid fills and the ask does not
    in each of the first Q̄ steps, then the ask does not fill for the remaining N − Q̄ steps at Q̄. Per step,
    P(bid fills)·E[e^{−γδ_b}] >= p(δ_max)·e^{−γδ_max} and P(ask does not fill) >= 1 − p(0) = e^{−A·dt}
    whatever the quotes, and holding q' through a step multiplies by E[e^{−γq'ΔS}]·e^{γφ·dt·q'²} =
    exp(γ²q'²σ²dt/2 + γφ·dt·q'²) (Gaussian shocks, no drift); the end adds γα·Q̄²."""
    gamma, dt, top = params.risk_aversion, params.dt, params.max_inventory
    rate_dt = params.arrival_rate * dt

    def holding(q):
        return 0.5 * (gamma * q * params.volatility) ** 2 * dt + gamma * params.inventory_penalty * dt * q**2

    log_fill = np.log(-np.expm1(-rate_dt * np.exp(-params.depth_decay * params.max_depth)))
    climb = sum(log_fill - gamma * params.max_depth - rate_dt + holding(q) for q in range(1, top + 1))
    stay = (params.steps - top) * (-rate_dt + holding(top))
    return climb + stay + gamma * params.terminal_penalty * top**2


def test_astronomical_disutility_at_moderate_risk_aversion_is_exact():
    """At γ = 0.3 on the default market E[u] ≈ −1.2e124 although the typical episode earns ≈ 50: every
    policy has ln E[e^{−γΠ}] >= 268 (quotes at δ_max = 5 still fill), so this is the model, not rounding."""
    params = cara(0.3)
    bound = path_lower_bound(params)
    assert 268.0 < bound < 269.0
    oracle = execgym.make_oracle(ENV, params=params)
    log_theta = -params.risk_aversion * oracle.certainty_equivalent
    assert bound <= log_theta < bound + 20.0
    assert oracle.expected_return == pytest.approx(-np.exp(log_theta) / 0.3, rel=1e-12)
    assert -1.3e124 < oracle.expected_return < -1.1e124
    baseline = policies.avellaneda_stoikov(params)
    baseline_log_theta = -0.3 * mm_oracle.policy_certainty_equivalent(params, baseline.bid, baseline.ask)
    assert baseline_log_theta >= log_theta >= bound


def test_unrepresentable_expected_utility_raises_naming_the_risk_aversions_that_work():
    params = cara(10.0, steps=20, max_inventory=5)
    log_theta = mm_oracle.solve(params).values[0, start_level(params)]
    with pytest.raises(ValueError, match=r"risk_aversion = 10 .* beyond float64") as refusal:
        execgym.make_oracle(ENV, params=params)
    message = str(refusal.value)
    assert f"ln E[e^{{−γΠ}}] = {log_theta:.6g}" in message
    assert f"stays finite ({-log_theta / 10.0:.6g} here;" in message
    low, high = (float(x) for x in re.search(r"every risk_aversion <= ([\d.e+-]*\d) and not above ([\d.e+-]*\d)",
                                              message).groups())
    assert low < high < 10.0 and high / low < 1.3
    assert np.isfinite(execgym.make_oracle(ENV, params=replace(params, risk_aversion=low)).expected_return)
    with pytest.raises(ValueError, match="beyond float64"):
        execgym.make_oracle(ENV, params=replace(params, risk_aversion=high))
    tables = mm_oracle.solve(params)
    bid, ask = tables.bid, tables.ask
    with pytest.raises(ValueError, match="beyond float64"):
        mm_oracle.policy_value(params, bid, ask)
    assert np.isfinite(mm_oracle.policy_certainty_equivalent(params, bid, ask))


def test_utility_tends_to_the_risk_neutral_optimum_as_risk_aversion_vanishes(monkeypatch):
    """E[u] = E[Π] − γ·E[Π²]/2 + O(γ²) and CE = E[Π] − γ·Var[Π]/2 + O(γ²), the quotes moving by O(γ): the
    O(γ) coefficients measured at γ = 1e-9 and 1e-8 agree (each quantity keeps its relative accuracy), the
    one-step Newton iteration settles at every level of every step, and the safety net never polishes,
    so the build costs what it does at any γ."""
    neutral = execgym.make_oracle(ENV)
    settled, calls = [], []
    joint_depths = quotes._joint_depths

    def recording(*args, **kwargs):
        out = joint_depths(*args, **kwargs)
        calls.append(1)
        settled.append(out[2].all())
        return out

    monkeypatch.setattr(quotes, "_joint_depths", recording)
    slopes = []
    for gamma in (1e-9, 1e-8):
        calls.clear()
        oracle = execgym.make_oracle(ENV, params=cara(gamma))
        assert len(calls) == neutral.tables.bid.shape[0]   # one joint solve per step, no polishing
        quote_moves = np.concatenate([(oracle.tables.bid - neutral.tables.bid).ravel(),
                                      (oracle.tables.ask - neutral.tables.ask).ravel()])
        assert np.abs(quote_moves).max() < 100.0 * gamma
        slopes.append(np.array([oracle.expected_return - neutral.expected_return,
                                oracle.certainty_equivalent - neutral.expected_return]) / gamma)
    assert all(settled)
    np.testing.assert_allclose(slopes[0], slopes[1], rtol=1e-4)
    assert -2000.0 < slopes[0][0] < slopes[0][1] < 0.0   # E[Π²] > Var[Π] > 0


def log_relative_variance(params, oracle):
    """ln(E[W²]/E[W]²), W = e^{−γΠ} under the oracle's policy, exactly: E[W²] = E[e^{−2γΠ}] is the same
    quotes' value at risk aversion 2γ."""
    gamma = params.risk_aversion
    doubled = mm_oracle.policy_certainty_equivalent(replace(params, risk_aversion=2 * gamma), oracle.tables.bid,
                                                    oracle.tables.ask)
    return 2 * gamma * (oracle.certainty_equivalent - doubled)


@pytest.mark.parametrize("risk_aversion, fields", [
    (1e-4, {}),
    pytest.param(0.01, {}, marks=pytest.mark.slow),
    pytest.param(1.0, SCALED, marks=pytest.mark.slow),
    (10.0, SCALED),
])
def test_monte_carlo_mean_utility_matches_the_exact_value(risk_aversion, fields):
    """The mean per-episode return (u(Π), paid at the end) of the oracle's policy on the vector env against
    its expected_return, within 4 standard errors; the standard error is exact, Var[u] =
    E[W]²·(E[W²]/E[W]² − 1)/γ², and small enough (E[W²]/E[W]² < e) for the sample mean to be near-normal."""
    params = cara(risk_aversion, **fields)
    oracle = execgym.make_oracle(ENV, params=params)
    log_variance = log_relative_variance(params, oracle)
    assert log_variance < 1.0
    episodes = 10_000
    returns, _ = run_episodes(oracle.policy, ENV, np.arange(episodes), params)
    mean_w = np.exp(-risk_aversion * oracle.certainty_equivalent)
    standard_error = mean_w * np.sqrt(np.expm1(log_variance) / episodes) / risk_aversion
    assert abs(returns.mean() - oracle.expected_return) < 4 * standard_error
    assert returns.std(ddof=1) / np.sqrt(episodes) == pytest.approx(standard_error, rel=0.1)


def test_risk_aversion_is_per_currency_unit():
    """Prices in hundredths of the currency and γ = 10 per hundredth is γ = 0.1 on the default market
    (δ_max = 50): the certainty equivalent scales by 1/100 exactly, at γ a hundred times larger."""
    short = dict(steps=50, max_inventory=20)
    scaled = execgym.make_oracle(ENV, params=cara(10.0, **SCALED, **short))
    original = execgym.make_oracle(ENV, params=cara(0.1, max_depth=50.0, **short))
    assert scaled.certainty_equivalent == pytest.approx(CENTS * original.certainty_equivalent, rel=1e-12)


def test_envs_refuse_a_utility_beyond_float64_alike():
    """Quoting the bid at the mid and the ask out of reach piles up inventory: at γ = 10 the episode's
    utility is below −1.8e308, and the scalar and the vector env raise the same ValueError at the last step
    (the scalar env's math.expm1 would raise OverflowError, numba's return −inf)."""
    params = cara(10.0)
    action = np.array([-1.0, 1.0], dtype=np.float32)
    scalar = MarketMakingEnv(params=params)
    scalar.reset(seed=0)
    for _ in range(params.steps - 1):
        scalar.step(action)
    with pytest.raises(ValueError, match=r"penalised profit Π = -1[\d.]+ is below the most negative float64 at "
                                         r"risk_aversion = 10 \(u is finite for Π >= -70.978 there\)") as refusal:
        scalar.step(action)
    vector = MarketMakingVectorEnv(num_envs=1, params=params)
    vector.reset(seed=0)
    for _ in range(params.steps - 1):
        vector.step(action[None])
    with pytest.raises(ValueError) as vector_refusal:
        vector.step(action[None])
    assert str(vector_refusal.value) == str(refusal.value)
    assert dynamics.utility(10.0, -70.9) == pytest.approx(-np.expm1(709.0) / 10.0, rel=1e-15)
    assert dynamics.utility(10.0, -71.0) == -np.inf and dynamics.utility(0.5, -1419.0) == -np.inf
