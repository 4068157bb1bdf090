"""Value iteration for the discounted infinite-horizon market maker (oracle.discounted_quotes): its error bound
holds, its fixed point satisfies the Bellman equation, long discounted finite horizons converge to it, and bad
inputs are refused."""

from dataclasses import replace
from functools import lru_cache

import numpy as np
import pytest

from execgym.problems.market_making import oracle
from execgym.problems.market_making.params import MarketMakingParams
from execgym.solvers.quotes import risk_neutral_quotes

SMALL = MarketMakingParams(max_inventory=10)
CASES = [(MarketMakingParams(), 10.0), (SMALL, 1.0), (replace(SMALL, drift=0.3, fill_probability="linear"), 3.0)]
IDS = ["default-rho10", "small-rho1", "drift-linear-rho3"]
REFERENCE_TOLERANCE = 1e-11


@lru_cache(maxsize=None)
def _reference(params: MarketMakingParams, discount_rate: float) -> oracle.DiscountedSolution:
    return oracle.discounted_quotes(params, discount_rate, REFERENCE_TOLERANCE)


def _bellman(params, discount_rate, values):
    """One application of the discounted Bellman operator to ``values``."""
    beta = np.exp(-discount_rate * params.dt)
    return risk_neutral_quotes(oracle.fill_model(params),
                               beta * values + oracle.running_reward(params, params.inventories))


def _policy_values(params, discount_rate, solution):
    """The exact discounted value of quoting ``solution``'s depths forever: (I − βP)V = E[spread + holding]."""
    beta = np.exp(-discount_rate * params.dt)
    q = params.inventories
    pb = np.where(q < params.max_inventory, params.fill_probabilities(solution.bid), 0.0)
    pa = np.where(q > -params.max_inventory, params.fill_probabilities(solution.ask), 0.0)
    up, down = pb * (1 - pa), (1 - pb) * pa
    transition = np.diag(1 - up - down) + np.diag(up[:-1], 1) + np.diag(down[1:], -1)
    reward = pb * solution.bid + pa * solution.ask + transition @ oracle.running_reward(params, q)
    return np.linalg.solve(np.eye(params.levels) - beta * transition, reward)


@pytest.mark.parametrize("params, discount_rate", CASES, ids=IDS)
@pytest.mark.parametrize("tolerance", [1e-3, 1e-6, 1e-9])
def test_error_bound_holds(params, discount_rate, tolerance):
    """sup |V − V*| <= error_bound <= tolerance, V* from a run to a much tighter tolerance; the greedy quotes'
    exact value (a linear solve) is within 2·error_bound of V* and not above it."""
    reference = _reference(params, discount_rate)
    solution = oracle.discounted_quotes(params, discount_rate, tolerance)
    assert solution.error_bound <= tolerance
    assert reference.iterations > solution.iterations
    beta = np.exp(-discount_rate * params.dt)
    assert solution.error_bound == pytest.approx(beta * solution.change / (1 - beta), rel=1e-12)
    error = np.abs(solution.values - reference.values).max()
    assert error <= solution.error_bound + reference.error_bound
    exact = _policy_values(params, discount_rate, solution)
    assert np.all(exact <= reference.values + reference.error_bound + 1e-9)
    assert np.abs(exact - reference.values).max() <= 2 * solution.error_bound + reference.error_bound + 1e-9


@pytest.mark.parametrize("params, discount_rate", CASES, ids=IDS)
def test_fixed_point_satisfies_the_bellman_equation(params, discount_rate):
    solution = oracle.discounted_quotes(params, discount_rate, 1e-8)
    step = _bellman(params, discount_rate, solution.values)
    beta = np.exp(-discount_rate * params.dt)
    residual = np.abs(step.value - solution.values).max()
    # ‖TV − V‖ <= β·‖V − V_prev‖ = (1 − β)·error_bound (contraction), and so <= tolerance.
    assert residual <= beta * solution.change * (1 + 1e-6) + 1e-12
    assert residual <= 1e-8
    # The stationary quotes are the greedy quotes of V itself, to the accuracy of V.
    np.testing.assert_allclose(step.bid, solution.bid, rtol=0, atol=1e-6)
    np.testing.assert_allclose(step.ask, solution.ask, rtol=0, atol=1e-6)
    # and the exact value of quoting them forever is V, to the accuracy of V.
    exact = _policy_values(params, discount_rate, solution)
    assert np.abs(exact - solution.values).max() <= 2 * solution.error_bound + 1e-9


@pytest.mark.parametrize("params, discount_rate", CASES, ids=IDS)
def test_long_discounted_horizons_converge_to_the_stationary_quotes(params, discount_rate):
    """The finite-horizon DP W_N = −α·q², W_n = max E[spread + holding + β·W_{n+1}] (the oracle's recursion with
    the per-step discount β): ‖W_0 − V*‖ <= β^N·‖W_N − V*‖ after N steps, and its first-step quotes tend to the
    stationary ones."""
    reference = _reference(params, discount_rate)
    beta = np.exp(-discount_rate * params.dt)
    fills, holding = oracle.fill_model(params), oracle.running_reward(params, params.inventories)
    values = -params.terminal_penalty * params.inventories**2.0
    start = np.abs(values - reference.values).max()
    horizon = int(np.ceil(25 / (discount_rate * params.dt)))  # β^N = e^{−25}
    step = None
    for n in range(1, horizon + 1):
        previous = np.abs(values - reference.values).max()
        step = risk_neutral_quotes(fills, beta * values + holding, step)
        values = step.value
        error = np.abs(values - reference.values).max()
        assert error <= beta**n * start + 2 * reference.error_bound + 1e-12
        # The quotes move less than the value differences they respond to (|dδ/dc| <= 1 in δ = root(c)).
        depth_error = max(np.abs(step.bid - reference.bid).max(), np.abs(step.ask - reference.ask).max())
        assert depth_error <= 3 * beta * (previous + reference.error_bound) + 1e-10
        if n == 1:
            assert depth_error > 1e-2
    assert depth_error < 1e-8


def test_bad_inputs_are_refused():
    p = MarketMakingParams(max_inventory=3)
    for rate in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match=r"discount_rate must be > 0"):
            oracle.discounted_quotes(p, rate)
    for tolerance in (0.0, -1e-9, float("nan")):
        with pytest.raises(ValueError, match=r"tolerance must be > 0"):
            oracle.discounted_quotes(p, 1.0, tolerance)
    with pytest.raises(ValueError, match=r"risk-neutral objective with continuous depths.*objective = 'cara'"):
        oracle.discounted_quotes(replace(p, objective="cara", risk_aversion=0.1), 1.0)
    with pytest.raises(ValueError, match=r"risk-neutral objective with continuous depths.*tick_size = 0\.1"):
        oracle.discounted_quotes(replace(p, tick_size=0.1), 1.0)
