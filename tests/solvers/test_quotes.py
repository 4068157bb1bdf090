"""The one-step quote optimiser against closed forms and exhaustive grid searches."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from execgym.solvers.quotes import FillModel, grid_quotes, risk_neutral_quotes, utility_quotes

MAX_DEPTH = 4.0
UNCERTIFIED_MISS = 3e-3
"""How far below the best pair of a 401-point grid the safety net may land where no certificate holds (strong
coupling, e.g. A·dt = 1 with linear fills and k > 2): the worst seen is 1.3e-3."""


def expected_step(fills, continuation, bid, ask, gamma=None):
    """The step's objective written out over the four fill outcomes, for one level at a time (q an index
    in the middle of ``continuation``): risk neutral E[gain + g(q')], utility E[e^{−γ gain}·h(q')]."""
    levels = continuation.shape[0]
    out = np.empty(levels)
    for q in range(levels):
        p_b = fills.probability(bid[q]) if q < levels - 1 else 0.0
        p_a = fills.probability(ask[q]) if q > 0 else 0.0
        total = 0.0
        for fb, pb in ((0, 1 - p_b), (1, p_b)):
            for fa, pa in ((0, 1 - p_a), (1, p_a)):
                if pb * pa == 0.0:
                    continue
                after = q + fb - fa
                gain = bid[q] * fb + ask[q] * fa
                if gamma is None:
                    total += pb * pa * (gain + continuation[after])
                else:
                    total += pb * pa * np.exp(-gamma * gain + continuation[after] - continuation[q])
        out[q] = total if gamma is None else continuation[q] + np.log(total)
    return out


def concave_values(rng, levels, curvature):
    q = np.arange(levels) - levels // 2
    return -curvature * q**2 + rng.normal(0.0, 0.3) * q + rng.normal(0.0, 0.05, levels)


def fine_grid(fills, continuation, gamma=None, points=401):
    depths = np.linspace(0.0, MAX_DEPTH, points)
    _, _, value = grid_quotes(fills.probability(depths), depths, continuation, gamma)
    return value


def test_linear_fills_give_the_closed_form_on_a_one_sided_level():
    # At the top level only the ask is quoted, so the optimum is one-sided: with linear fills δ = 1/k − Δ⁻.
    fills = FillModel(rate_dt=0.7, decay=1.5, poisson=False, max_depth=MAX_DEPTH)
    g = np.array([-1.0, -0.2, 0.0])
    step = risk_neutral_quotes(fills, g)
    assert step.ask[2] == pytest.approx(1 / 1.5 - (g[1] - g[2]), abs=1e-10)
    assert step.bid_probability[2] == 0.0 and step.ask_probability[0] == 0.0


def test_poisson_first_order_condition_holds_in_closed_form_at_one_sided_levels():
    # One side, Poisson fills: the optimum solves δ + c = (e^u − 1)/(k u), u = A·dt·e^{−kδ} (c = Δ⁻ here).
    fills = FillModel(rate_dt=0.7, decay=1.5, poisson=True, max_depth=MAX_DEPTH)
    g = np.array([-3.0, -0.4, 0.0])
    delta = risk_neutral_quotes(fills, g).ask[2]
    u = 0.7 * np.exp(-1.5 * delta)
    assert delta + (g[1] - g[2]) == pytest.approx(np.expm1(u) / (1.5 * u), rel=1e-9)


@pytest.mark.parametrize("poisson", [True, False])
def test_risk_neutral_value_is_the_objective_written_out(poisson):
    rng = np.random.default_rng(3)
    fills = FillModel(rate_dt=0.9, decay=1.2, poisson=poisson, max_depth=MAX_DEPTH)
    g = concave_values(rng, 9, 0.05)
    step = risk_neutral_quotes(fills, g)
    np.testing.assert_allclose(step.value, expected_step(fills, g, step.bid, step.ask), rtol=0, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(rate_dt=st.floats(0.01, 2.5), decay=st.floats(0.3, 5.0), curvature=st.floats(0.0, 0.4),
       poisson=st.booleans(), seed=st.integers(0, 2**31))
def test_risk_neutral_optimum_beats_and_matches_a_fine_grid(rate_dt, decay, curvature, poisson, seed):
    if not poisson:
        rate_dt = min(rate_dt, 1.0)
    fills = FillModel(rate_dt=rate_dt, decay=decay, poisson=poisson, max_depth=MAX_DEPTH)
    g = concave_values(np.random.default_rng(seed), 11, curvature)
    step = risk_neutral_quotes(fills, g)
    grid = fine_grid(fills, g)
    certified = step.certified
    assert (step.value[certified] >= grid[certified] - 1e-12).all()  # proven optimal: never beaten by a grid
    assert (step.value - grid <= 2e-4 * (1 + np.abs(g))).all()       # and the grid (step 0.01) comes within O(h²)
    assert (step.value[~certified] >= grid[~certified] - UNCERTIFIED_MISS).all()


@settings(max_examples=40, deadline=None)
@given(rate_dt=st.floats(0.01, 2.0), decay=st.floats(0.5, 4.0), gamma=st.floats(0.01, 1.0),
       curvature=st.floats(0.0, 0.3), poisson=st.booleans(), seed=st.integers(0, 2**31))
def test_utility_optimum_beats_and_matches_a_fine_grid(rate_dt, decay, gamma, curvature, poisson, seed):
    if not poisson:
        rate_dt = min(rate_dt, 1.0)
    fills = FillModel(rate_dt=rate_dt, decay=decay, poisson=poisson, max_depth=MAX_DEPTH)
    log_h = -concave_values(np.random.default_rng(seed), 11, curvature)  # h grows away from q = 0
    step = utility_quotes(fills, log_h, gamma)
    np.testing.assert_allclose(step.value, expected_step(fills, log_h, step.bid, step.ask, gamma), atol=1e-12)
    grid = fine_grid(fills, log_h, gamma)
    assert (step.value <= grid + UNCERTIFIED_MISS).all()  # minimised; never certified: the safety net's bound
    assert (grid - step.value <= 2e-4).all()


def test_grid_search_picks_the_exhaustive_best_pair():
    fills = FillModel(rate_dt=0.7, decay=1.5, poisson=True, max_depth=MAX_DEPTH)
    depths = np.linspace(0.0, 2.0, 9)
    g = concave_values(np.random.default_rng(0), 7, 0.1)
    bid, ask, value = grid_quotes(fills.probability(depths), depths, g)
    for q in range(7):
        candidates = {(i, j): expected_step(fills, g, np.full(7, depths[i]), np.full(7, depths[j]))[q]
                      for i in range(9) for j in range(9)}
        best = max(candidates.values())
        assert value[q] == pytest.approx(best, abs=1e-13)
        assert candidates[(bid[q], ask[q])] == pytest.approx(best, abs=1e-13)
