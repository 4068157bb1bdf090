"""The one-step quote optimiser against closed forms and exhaustive grid searches."""

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from execgym.solvers.quotes import FillModel, grid_quotes, log_mix, risk_neutral_quotes, utility_quotes

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


# ---------------------------------------------------------------- exponential utility in logarithms

@pytest.mark.parametrize("scale", [1e-9, 1e-3, 3.0, 5000.0])
def test_log_mix_is_exact_from_tiny_to_huge_exponents(scale):
    """ln((1 − p)·e^a + p·e^b) against 50-digit arithmetic, to 1e-15 of the exponents' size (a plain
    log-add-exp leaves 1e-16 absolute, 1e-7 relative at scale 1e-9), without overflow at e^5000, with p
    from 0 to 1 and down to 1e-300 (the larger exponent carrying almost no weight)."""
    rng = np.random.default_rng(7)
    p = np.concatenate([rng.random(190), [0.0, 1.0, 1e-40, 1e-40, 1 - 1e-12, 0.5, 1e-300, 0.9, 0.1, 0.3]])
    a, b = scale * rng.normal(size=(2, 200))
    b[192:194] = np.abs(a[192:194]) + 50.0 * scale     # weight 1e-40 on the larger exponent
    mpmath.mp.dps = 50
    reference = [float(mpmath.log((1 - mpmath.mpf(float(w))) * mpmath.exp(mpmath.mpf(float(x)))
                                  + mpmath.mpf(float(w)) * mpmath.exp(mpmath.mpf(float(y)))))
                 for w, x, y in zip(p, a, b)]
    error = np.abs(log_mix(p, a, b) - reference)
    assert (error <= 1e-14 * np.abs(reference) + 1e-15 * np.maximum(np.abs(a), np.abs(b))).all()


def utility_step_reference(fills, log_h, bid, ask, gamma):
    """log h(q) + ln E at every level, in 50-digit arithmetic (``expected_step`` overflows with a wide log h)."""
    levels = log_h.shape[0]
    out = np.empty(levels)
    mpmath.mp.dps = 50
    for q in range(levels):
        p_b = mpmath.mpf(float(fills.probability(bid[q]))) if q < levels - 1 else mpmath.mpf(0)
        p_a = mpmath.mpf(float(fills.probability(ask[q]))) if q > 0 else mpmath.mpf(0)
        total = mpmath.mpf(0)
        for fb, pb in ((0, 1 - p_b), (1, p_b)):
            for fa, pa in ((0, 1 - p_a), (1, p_a)):
                if pb * pa == 0:
                    continue
                after = q + fb - fa
                gain = mpmath.mpf(float(bid[q])) * fb + mpmath.mpf(float(ask[q])) * fa
                total += pb * pa * mpmath.exp(-gamma * gain + mpmath.mpf(float(log_h[after])) - float(log_h[q]))
        out[q] = float(log_h[q] + mpmath.log(total))
    return out


@pytest.mark.parametrize("gamma", [1.0, 10.0])
def test_utility_quotes_stay_finite_and_exact_when_log_h_spans_thousands(gamma):
    """ln h(q) = 300·q² (neighbours thousands apart, as at γ = 10 on the default market): the optimum is
    finite, its value matches 50-digit arithmetic, and no pair of a fine grid beats it."""
    fills = FillModel(rate_dt=0.7, decay=1.5, poisson=True, max_depth=MAX_DEPTH)
    log_h = 300.0 * (np.arange(11) - 5.0) ** 2
    step = utility_quotes(fills, log_h, gamma)
    assert np.isfinite(step.value).all() and np.isfinite(step.bid).all() and np.isfinite(step.ask).all()
    np.testing.assert_allclose(step.value, utility_step_reference(fills, log_h, step.bid, step.ask, gamma),
                               rtol=1e-13)
    grid = fine_grid(fills, log_h, gamma)
    assert np.isfinite(grid).all()
    assert (step.value <= grid + 1e-12 * np.abs(grid)).all()
    # away from q = 0 the book leans hard against the inventory: quote the side that reduces it at the mid
    assert (step.ask[6:] == 0.0).all() and (step.bid[:5] == 0.0).all()


@pytest.mark.parametrize("poisson", [True, False])
def test_utility_quotes_tend_to_the_risk_neutral_quotes_as_gamma_vanishes(poisson):
    """With ln h = −γ·g the exponential-utility step is the risk-neutral one to first order in γ: the quotes
    and −value/γ differ from the risk-neutral ones by γ·D + O(γ²), and D measured at γ = 1e-9 equals D at
    γ = 1e-6 to 1e-3 (|D| < 1 here), which needs every O(γ) quantity to keep its relative accuracy (a
    formulation in ρ and e^{γδ}/ρ − 1 cancels to ~1e-16/γ: D off by ~100 at γ = 1e-9)."""
    fills = FillModel(rate_dt=0.7, decay=1.5, poisson=poisson, max_depth=MAX_DEPTH)
    g = concave_values(np.random.default_rng(5), 11, 0.1)
    neutral = risk_neutral_quotes(fills, g)

    def deviations(gamma):
        step = utility_quotes(fills, -gamma * g, gamma)
        return np.concatenate([step.bid[:-1] - neutral.bid[:-1], step.ask[1:] - neutral.ask[1:],
                               -step.value / gamma - neutral.value]) / gamma

    small, larger = deviations(1e-9), deviations(1e-6)
    assert np.abs(larger).max() < 1.0
    np.testing.assert_allclose(small, larger, rtol=0, atol=1e-3)
