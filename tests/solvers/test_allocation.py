"""Water-filling and the blended quadratic schedule against closed forms, dense linear algebra,
exhaustive enumeration of active sets and scipy.optimize."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import example, given, settings, strategies as st
from scipy.optimize import minimize

from execgym.solvers.allocation import (
    _Blended, _pivoting, _primal_active_set, blended_schedule, max_quantity, min_horizon, minimum_cost,
    water_fill)


# ---------------------------------------------------------------- water-filling


def water_fill_by_enumeration(a, X, caps):
    """The cheapest feasible candidate over every set C of capped periods: x = u on C, x = ν/a elsewhere."""
    n = len(a)
    best = None
    for capped in itertools.product([False, True], repeat=n):
        capped = np.array(capped)
        if capped.all():
            x = caps.copy()
        else:
            nu = (X - caps[capped].sum()) / np.sum(1.0 / a[~capped])
            x = np.where(capped, caps, nu / a)
        if np.all(x >= -1e-12) and np.all(x <= caps * (1 + 1e-12) + 1e-12) and abs(x.sum() - X) <= 1e-9 * X:
            cost = 0.5 * np.sum(a * x**2)
            if best is None or cost < best[0]:
                best = (cost, x)
    return best


def test_hand_computed_allocation():
    # ν = 4.5: period 0 trades 4.5 / 1; periods 1 and 2 would want 2.25 and 1.125 but are capped at 1 and 0.5.
    result = water_fill([1.0, 2.0, 4.0], 6.0, caps=[math.inf, 1.0, 0.5])
    np.testing.assert_array_equal(result.trades, [4.5, 1.0, 0.5])
    assert result.marginal_cost == 4.5
    assert result.cost == pytest.approx(0.5 * 4.5**2 + 0.5 * 2.0 + 0.5 * 4.0 * 0.25, rel=1e-15)
    np.testing.assert_array_equal(result.capped, [False, True, True])


@pytest.mark.parametrize("n, a, X", [(1, 3.0, 2.0), (7, 0.5, 10.0), (78, 2e-4, 1e6)])
def test_constant_coefficients_without_caps_trade_evenly(n, a, X):
    result = water_fill(np.full(n, a), X)
    np.testing.assert_allclose(result.trades, X / n, rtol=1e-14)
    assert result.cost == pytest.approx(a * X**2 / (2 * n), rel=1e-13)
    assert result.marginal_cost == pytest.approx(a * X / n, rel=1e-14)
    assert not result.capped.any()


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 1_000_000), n=st.integers(1, 6), slack=st.floats(0.0, 2.0),
       integer_data=st.booleans())
@example(seed=0, n=4, slack=0.0, integer_data=True)   # Σu = X: every period capped
def test_water_fill_equals_enumeration_and_satisfies_kkt(seed, n, slack, integer_data):
    rng = np.random.default_rng(seed)
    a = rng.integers(1, 4, n).astype(float) if integer_data else rng.uniform(0.1, 5.0, n)
    caps = rng.integers(0, 4, n).astype(float) if integer_data else rng.uniform(0.0, 3.0, n)
    caps[rng.random(n) < 0.3] = math.inf
    finite = np.isfinite(caps).all()
    X = caps.sum() / (1.0 + slack) if finite else float(rng.uniform(0.0, 10.0))
    result = water_fill(a, X, caps)
    x, nu = result.trades, result.marginal_cost
    assert np.all(x >= 0) and np.all(x <= caps)
    assert x.sum() == pytest.approx(X, rel=1e-12, abs=1e-12)
    free = ~result.capped
    np.testing.assert_allclose(a[free] * x[free], nu, rtol=1e-12, atol=1e-12)
    assert np.all(a[result.capped] * caps[result.capped] <= nu * (1 + 1e-12) + 1e-12)
    np.testing.assert_array_equal(x[result.capped], caps[result.capped])
    cost, best = water_fill_by_enumeration(a, X, caps)
    assert result.cost == pytest.approx(cost, rel=1e-12, abs=1e-14)
    np.testing.assert_allclose(x, best, rtol=1e-9, atol=1e-10)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 1_000_000), n=st.integers(2, 4))
def test_water_fill_equals_slsqp(seed, n):
    rng = np.random.default_rng(seed)
    a, caps = rng.uniform(0.2, 4.0, n), rng.uniform(0.5, 3.0, n)
    X = 0.6 * caps.sum()
    result = water_fill(a, X, caps)
    reference = minimize(lambda x: 0.5 * np.sum(a * x**2), np.full(n, X / n), jac=lambda x: a * x,
                         method="SLSQP", bounds=list(zip(np.zeros(n), caps)),
                         constraints=[{"type": "eq", "fun": lambda x: x.sum() - X, "jac": lambda x: np.ones(n)}],
                         options={"ftol": 1e-15, "maxiter": 500})
    assert reference.success
    assert result.cost <= reference.fun * (1 + 1e-12)
    assert result.cost == pytest.approx(reference.fun, rel=1e-9)
    np.testing.assert_allclose(result.trades, reference.x, atol=1e-6)


def test_discrete_even_schedule_costs_the_continuous_minimum():
    # ∫ α v² dt over N periods of length Δt = T/N with x_t = v Δt is Σ ½ (2α/Δt) x_t².
    alpha, Q, T = 0.3, 5e4, 6.5
    for n in (1, 13, 78):
        assert water_fill(np.full(n, 2 * alpha * n / T), Q).cost == pytest.approx(minimum_cost(alpha, Q, T),
                                                                                  rel=1e-13)


def test_closed_forms_are_mutual_inverses():
    alpha, Q, T = 2.5e-6, 1.2e5, 3.25
    budget = minimum_cost(alpha, Q, T)
    assert budget == pytest.approx(alpha * Q**2 / T, rel=1e-15)
    assert max_quantity(budget, T, alpha) == pytest.approx(Q, rel=1e-14)
    assert min_horizon(alpha, Q, budget) == pytest.approx(T, rel=1e-14)
    assert minimum_cost(alpha, max_quantity(7.0, T, alpha), T) == pytest.approx(7.0, rel=1e-14)
    assert minimum_cost(alpha, Q, min_horizon(alpha, Q, 7.0)) == pytest.approx(7.0, rel=1e-14)
    assert max_quantity(0.0, T, alpha) == 0.0


@pytest.mark.parametrize("call, message", [
    (lambda: water_fill([1.0, 1.0], 3.0, caps=[1.0, 1.5]), r"Σu = 2.5 < X = 3.0"),
    (lambda: water_fill([1.0, 0.0, 1.0], 1.0), r"a\[1\] must be finite and > 0, got 0.0"),
    (lambda: water_fill([1.0, -2.0], 1.0), r"a\[1\]"),
    (lambda: water_fill([1.0, 1.0], 1.0, caps=[1.0, -1.0]), r"caps\[1\] must be >= 0"),
    (lambda: water_fill([1.0, 1.0], 1.0, caps=[1.0, 1.0, 1.0]), r"caps must have shape \(2,\)"),
    (lambda: water_fill([1.0], -1.0), r"X must be in \[0, inf\]"),
    (lambda: water_fill([], 1.0), r"a must be a non-empty one-dimensional array"),
    (lambda: minimum_cost(0.0, 1.0, 1.0), r"alpha must be in \(0, inf\]"),
    (lambda: minimum_cost(1.0, 1.0, 0.0), r"T must be in \(0, inf\]"),
    (lambda: max_quantity(-1.0, 1.0, 1.0), r"budget must be in \[0, inf\]"),
    (lambda: min_horizon(1.0, 1.0, 0.0), r"budget must be in \(0, inf\]"),
    (lambda: min_horizon(1.0, -1.0, 1.0), r"Q must be in \[0, inf\]"),
])
def test_invalid_allocation_inputs_raise(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ---------------------------------------------------------------- blended quadratic schedule


def dense_system(a, b, c, rho, Q):
    """H = diag(b) + 2c L + 2ρ 11ᵀ and y = −a + 2ρQ 1, written out densely."""
    n = len(a)
    laplacian = np.zeros((n, n))
    for t in range(n - 1):
        laplacian[t:t + 2, t:t + 2] += [[1.0, -1.0], [-1.0, 1.0]]
    return np.diag(b) + 2 * c * laplacian + 2 * rho * np.ones((n, n)), -a + 2 * rho * Q


def blended_cost(a, b, c, rho, Q, x):
    return np.sum(a * x + 0.5 * b * x**2) + c * np.sum(np.diff(x) ** 2) + rho * (x.sum() - Q) ** 2


def box_minimum_by_enumeration(H, y, lower, upper):
    """Minimum of ½xᵀHx − yᵀx over the box: the cheapest feasible face minimiser over all 3ᴺ faces."""
    n = len(y)
    best = None
    for faces in itertools.product((0, 1, 2), repeat=n):
        faces = np.array(faces)
        x = np.where(faces == 1, lower, np.where(faces == 2, upper, 0.0))
        if not np.isfinite(x[faces > 0]).all():
            continue
        free = faces == 0
        held = np.where(free, 0.0, x)
        x[free] = np.linalg.solve(H[np.ix_(free, free)], y[free] - H[np.ix_(free, ~free)] @ held[~free]) \
            if free.any() else x[free]
        if np.all(x >= lower - 1e-12) and np.all(x <= upper + 1e-12):
            value = 0.5 * x @ H @ x - y @ x
            if best is None or value < best[0]:
                best = (value, x)
    return best[1]


def random_instance(rng, n, integer_data=False):
    if integer_data:
        return (rng.integers(-2, 3, n).astype(float), rng.integers(1, 3, n).astype(float),
                float(rng.integers(0, 2)), float(rng.integers(0, 3)), float(rng.integers(0, 2 * n + 1)))
    return (rng.normal(size=n), rng.uniform(0.2, 3.0, n), float(rng.choice([0.0, rng.uniform(0, 3)])),
            float(rng.choice([0.0, rng.uniform(0, 50)])), float(rng.uniform(-1, 3 * n)))


def random_box(rng, n, integer_data=False):
    if integer_data:
        lower = rng.integers(-1, 2, n).astype(float)
        upper = lower + rng.integers(0, 3, n)
    else:
        lower = np.where(rng.random(n) < 0.7, rng.uniform(-1.0, 1.0, n), -math.inf)
        base = np.where(np.isfinite(lower), lower, rng.uniform(-1.0, 1.0, n))
        upper = np.where(rng.random(n) < 0.8, base + rng.uniform(0.0, 2.0, n), math.inf)
        pinned = (rng.random(n) < 0.1) & np.isfinite(lower)
        upper[pinned] = lower[pinned]
    return lower, upper


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 1_000_000), n=st.integers(1, 9), integer_data=st.booleans())
def test_unconstrained_schedule_equals_the_dense_solve(seed, n, integer_data):
    rng = np.random.default_rng(seed)
    a, b, c, rho, Q = random_instance(rng, n, integer_data)
    H, y = dense_system(a, b, c, rho, Q)
    expected = np.linalg.solve(H, y)
    solution = blended_schedule(a, b, c, rho, Q)
    np.testing.assert_allclose(solution.trades, expected, rtol=1e-10, atol=1e-10 * np.abs(expected).max())
    # C(x) = ½xᵀHx − yᵀx + ρQ², the dense quadratic form
    assert solution.cost == pytest.approx(0.5 * expected @ H @ expected - y @ expected + rho * Q**2,
                                          rel=1e-10, abs=1e-10)
    assert solution.iterations == 1
    assert solution.kkt_residual < 1e-12


def test_no_target_and_no_linear_cost_gives_the_empty_schedule():
    solution = blended_schedule(np.zeros(5), np.ones(5), 1.0, 0.0, 100.0)
    np.testing.assert_array_equal(solution.trades, 0.0)
    assert solution.cost == 0.0


@pytest.mark.parametrize("caps", [None, np.array([0.5, 3.0, 0.25, 3.0, 1.0, 3.0])])
def test_large_target_penalty_approaches_water_filling(caps):
    b = np.array([1.0, 2.0, 0.5, 4.0, 1.5, 3.0])
    X = 5.0
    exact = water_fill(b, X, caps)
    previous_gap = math.inf
    for rho in (1e2, 1e5, 1e8):
        solution = blended_schedule(np.zeros(6), b, 0.0, rho, X, lower=None if caps is None else 0.0, upper=caps)
        x = solution.trades
        uncapped = ~exact.capped
        np.testing.assert_array_equal(x[exact.capped], caps[exact.capped] if caps is not None else [])
        marginal = b[uncapped] * x[uncapped]
        np.testing.assert_allclose(marginal, marginal[0], rtol=1e-10)
        # the penalty leaves Σx short of X by its marginal cost over the penalty's slope 2ρ
        assert X - x.sum() == pytest.approx(marginal[0] / (2 * rho), rel=1e-5)
        assert marginal[0] == pytest.approx(exact.marginal_cost, rel=3.0 / rho)
        gap = np.abs(x - exact.trades).max()
        assert gap < previous_gap
        previous_gap = gap
    assert previous_gap < 1e-7


@settings(max_examples=120, deadline=None)
@given(seed=st.integers(0, 1_000_000), n=st.integers(1, 5), integer_data=st.booleans())
@example(seed=7, n=5, integer_data=True)
def test_boxed_schedule_equals_enumeration_of_every_active_set(seed, n, integer_data):
    rng = np.random.default_rng(seed)
    a, b, c, rho, Q = random_instance(rng, n, integer_data)
    lower, upper = random_box(rng, n, integer_data)
    H, y = dense_system(a, b, c, rho, Q)
    expected = box_minimum_by_enumeration(H, y, lower, upper)
    solution = blended_schedule(a, b, c, rho, Q, lower=lower, upper=upper)
    x = solution.trades
    assert np.all(x >= lower) and np.all(x <= upper)
    np.testing.assert_allclose(x, expected, rtol=1e-9, atol=1e-9)
    assert solution.cost == pytest.approx(blended_cost(a, b, c, rho, Q, expected), rel=1e-10, abs=1e-10)
    assert solution.kkt_residual < 1e-9


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 1_000_000), n=st.integers(2, 6))
def test_boxed_schedule_matches_slsqp(seed, n):
    rng = np.random.default_rng(seed)
    a, b, c, rho, Q = rng.normal(size=n), rng.uniform(0.2, 3.0, n), 0.8, 5.0, 2.0 * n
    lower, upper = np.zeros(n), rng.uniform(0.5, 2.5, n)
    H, y = dense_system(a, b, c, rho, Q)
    reference = minimize(lambda x: 0.5 * x @ H @ x - y @ x, np.clip(np.zeros(n), lower, upper),
                         jac=lambda x: H @ x - y, method="SLSQP", bounds=list(zip(lower, upper)),
                         options={"ftol": 1e-15, "maxiter": 1000})
    solution = blended_schedule(a, b, c, rho, Q, lower=lower, upper=upper)
    ours = solution.cost - rho * Q**2
    assert ours <= reference.fun + 1e-12 * abs(reference.fun)
    assert ours == pytest.approx(reference.fun, rel=1e-8)
    assert solution.kkt_residual < 1e-9
    assert np.all(solution.trades >= lower) and np.all(solution.trades <= upper)


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 1_000_000), n=st.integers(1, 5), integer_data=st.booleans())
def test_primal_active_set_from_any_start_reaches_the_minimum(seed, n, integer_data):
    """Phase 2 alone, started from a random point rather than from the pivoting phase."""
    rng = np.random.default_rng(seed)
    a, b, c, rho, Q = random_instance(rng, n, integer_data)
    lower, upper = random_box(rng, n, integer_data)
    H, y = dense_system(a, b, c, rho, Q)
    x, solves = _primal_active_set(_Blended(a, b, c, rho, Q), rng.normal(scale=3.0, size=n), lower, upper,
                                   max_solves=10_000)
    assert np.all(x >= lower) and np.all(x <= upper)
    np.testing.assert_allclose(x, box_minimum_by_enumeration(H, y, lower, upper), rtol=1e-9, atol=1e-9)


def test_primal_active_set_takes_blocked_steps_from_a_poor_start():
    # From x = 0 every upper bound of 1 blocks the way to the target of 60; the method fixes them one by one.
    n = 40
    problem = _Blended(np.zeros(n), np.ones(n), 0.5, 10.0, 60.0)
    upper = np.linspace(0.3, 3.0, n)
    x, solves = _primal_active_set(problem, np.zeros(n), np.zeros(n), upper, max_solves=10_000)
    reference = blended_schedule(problem.a, problem.b, 0.5, 10.0, 60.0, lower=0.0, upper=upper)
    assert solves > 5
    np.testing.assert_allclose(x, reference.trades, rtol=1e-12, atol=1e-12)
    assert reference.kkt_residual < 1e-12
    assert (x == upper).sum() > 5


def test_pivoting_alone_solves_a_typical_instance():
    rng = np.random.default_rng(3)
    n = 200
    problem = _Blended(rng.normal(size=n), rng.uniform(0.5, 2, n), 1.0, 2.0, 50.0)
    lower, upper = np.zeros(n), np.full(n, 0.4)
    x, solves = _pivoting(problem, lower, upper)
    assert 1 < solves < 20
    assert np.all(x >= lower) and np.all(x <= upper)
    assert problem.kkt_residual(x, lower, upper) < 1e-12


def test_target_penalty_far_above_the_impact_is_solved_accurately():
    # 2ρ/b = 5e23: the face minimiser's z and κw are 2.5e5 and cancel to x ≈ Q = 1e-6; computed as z + κw
    # the error (3e-11) times 2ρ swamped the multiplier of the period at its bound and the method cycled
    a, b, rho, Q = np.array([-1e-6, -5e-7]), np.array([4e-12, 4e-12]), 1e12, 1e-6
    solution = blended_schedule(a, b, 0.0, rho, Q, lower=0.0, upper=np.inf)
    first = (2.0 * rho * Q - a[0]) / (b[0] + 2.0 * rho)     # period 2 at 0 (its multiplier a_2 + 2ρ(x_1 − Q) > 0)
    np.testing.assert_allclose(solution.trades, [first, 0.0], rtol=1e-14, atol=0.0)
    assert solution.kkt_residual < 1e-12
    assert solution.iterations < 10


def test_large_boxed_schedule_is_certified_and_loose_boxes_change_nothing():
    rng = np.random.default_rng(11)
    n = 100_000
    a, b = rng.normal(size=n), rng.uniform(0.5, 2.0, n)
    tight = blended_schedule(a, b, 3.0, 1.0, 2e4, lower=0.0, upper=rng.uniform(0.0, 0.5, n))
    assert tight.kkt_residual < 1e-9
    free = blended_schedule(a, b, 3.0, 1.0, 2e4)
    loose = blended_schedule(a, b, 3.0, 1.0, 2e4, lower=free.trades - 1.0, upper=free.trades + 1.0)
    np.testing.assert_allclose(loose.trades, free.trades, rtol=1e-12, atol=1e-12)
    assert loose.cost == pytest.approx(free.cost, rel=1e-14)


@pytest.mark.parametrize("kwargs, message", [
    (dict(b=[1.0, 0.0]), r"b\[1\] must be finite and > 0, got 0.0"),
    (dict(a=[1.0, 2.0, 3.0]), r"a must have shape \(2,\)"),
    (dict(a=[1.0, math.nan]), r"a\[1\] must be finite"),
    (dict(c=-1.0), r"c must be in \[0, inf\]"),
    (dict(rho=-0.5), r"rho must be in \[0, inf\]"),
    (dict(Q=math.inf), r"Q must be in"),
    (dict(lower=[0.0, 2.0], upper=[1.0, 1.0]), r"lower\[1\] = 2.0 must be <= upper\[1\] = 1.0"),
    (dict(lower=[0.0, math.nan]), r"lower\[1\] must be a number or -inf"),
    (dict(upper=[-math.inf, 1.0]), r"upper\[0\] must be a number or \+inf"),
    (dict(upper=[1.0, 1.0, 1.0]), r"upper must have shape \(2,\)"),
])
def test_invalid_blended_inputs_raise(kwargs, message):
    arguments = dict(a=[0.0, 0.0], b=[1.0, 1.0], c=0.0, rho=1.0, Q=1.0) | kwargs
    with pytest.raises(ValueError, match=message):
        blended_schedule(**arguments)
