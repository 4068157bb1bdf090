"""The lot-grid schedule solver against brute force, its convex path against the DP, and both against
TWAP and the Almgren–Chriss closed form."""

import numpy as np
import pytest
from hypothesis import example, given, settings, strategies as st

import execgym
from execgym.problems.optimal_exec import closed_form
from execgym.problems.optimal_exec.params import OptimalExecParams
from execgym.solvers.schedule_dp import (ScheduleProblem, grid_error, power_law_costs, solve_schedule,
                                         table_costs)


def all_schedules(limits):
    """Every (j_1, ..., j_i) with 0 <= j_k <= limits[k], as rows of an int array."""
    grids = np.meshgrid(*[np.arange(m + 1) for m in limits], indexing="ij")
    return np.stack(grids, axis=-1).reshape(-1, len(limits))


def brute_force_values(costs, lots, caps=None, holding=None):
    """C(i, s) for every i and s by enumerating every schedule of periods 1..i."""
    N, width = costs.shape
    limits = [width - 1 if caps is None else min(width - 1, caps[k]) for k in range(N)]
    values = np.full((N + 1, lots + 1), np.inf)
    values[0, 0] = 0.0
    for i in range(1, N + 1):
        schedules = all_schedules(limits[:i])
        executed = np.cumsum(schedules, axis=1)
        keep = executed[:, -1] <= lots
        schedules, executed = schedules[keep], executed[keep]
        total = costs[np.arange(i), schedules].sum(axis=1)
        if holding is not None:
            total = total + holding[np.arange(i), lots - executed].sum(axis=1)
        np.minimum.at(values[i], executed[:, -1], total)
    return values


def schedule_cost(costs, lots_per_period, holding=None):
    """Σ cost_i(j_i) + Σ h_i(r_i) of one schedule."""
    periods = np.arange(costs.shape[0])
    total = costs[periods, lots_per_period].sum()
    if holding is not None:
        total += holding[periods, lots_per_period.sum() - np.cumsum(lots_per_period)].sum()
    return total


def random_caps(rng, N, L, J):
    """Random caps in 0..J per period, raised one lot at a time until they allow L lots (needs N·J >= L)."""
    caps = rng.integers(0, J + 1, N)
    while caps.sum() < L:
        caps[rng.choice(np.flatnonzero(caps < J))] += 1
    return caps


def random_instance(rng, N, L, J, capped, held, integer):
    """Arbitrary (non-convex) costs; integer costs make ties common."""
    def draw(shape):
        return rng.integers(-3, 4, shape).astype(float) if integer else rng.normal(size=shape)

    costs = draw((N, J + 1))
    caps = random_caps(rng, N, L, J) if capped else None
    holding = draw((N, L + 1)) if held else None
    return costs, caps, holding


def random_convex_rows(rng, rows, width, integer=False):
    """Rows convex in their index: a random start plus the cumulative sum of sorted random slopes."""
    slopes = rng.integers(-5, 6, (rows, width - 1)) if integer else rng.normal(size=(rows, width - 1))
    start = rng.integers(-5, 6, (rows, 1)) if integer else rng.normal(size=(rows, 1))
    return np.concatenate([start, start + np.cumsum(np.sort(slopes, axis=1), axis=1)], axis=1).astype(float)


def assert_valid(solution, lots, caps, J):
    assert solution.lots.sum() == lots
    assert (solution.lots >= 0).all() and (solution.lots <= J).all()
    if caps is not None:
        assert (solution.lots <= caps).all()


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 1_000_000), N=st.integers(1, 4), L=st.integers(0, 6), J=st.integers(1, 6),
       capped=st.booleans(), held=st.booleans(), integer=st.booleans())
@example(seed=1, N=4, L=6, J=6, capped=False, held=True, integer=False)
@example(seed=2, N=4, L=6, J=3, capped=True, held=True, integer=True)
@example(seed=3, N=3, L=6, J=2, capped=False, held=False, integer=False)    # J·N = L: one feasible schedule
def test_dp_equals_brute_force_on_every_state(seed, N, L, J, capped, held, integer):
    if N * J < L:
        J = -(-L // N)
    costs, caps, holding = random_instance(np.random.default_rng(seed), N, L, J, capped, held, integer)
    solution = solve_schedule(costs, L, caps=caps, holding_costs=holding, method="dp")
    best = brute_force_values(costs, L, caps, holding)
    np.testing.assert_array_equal(np.isinf(solution.values), np.isinf(best))
    finite = np.isfinite(best)
    np.testing.assert_allclose(solution.values[finite], best[finite], rtol=1e-12, atol=1e-12)
    assert solution.cost == pytest.approx(best[N, L], rel=1e-12, abs=1e-12)
    assert_valid(solution, L, caps, J)
    assert schedule_cost(costs, solution.lots, holding) == pytest.approx(solution.cost, rel=1e-12, abs=1e-12)


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 1_000_000), N=st.integers(1, 6), L=st.integers(0, 30), J=st.integers(1, 30),
       capped=st.booleans(), held=st.booleans())
@example(seed=4, N=6, L=30, J=30, capped=True, held=True)
@example(seed=5, N=2, L=30, J=15, capped=False, held=True)
def test_convex_path_equals_dp(seed, N, L, J, capped, held):
    """Continuous random convex costs have no ties: same lots, same cost and the same table."""
    rng = np.random.default_rng(seed)
    if N * J < L:
        J = -(-L // N)
    costs = random_convex_rows(rng, N, J + 1)
    caps = random_caps(rng, N, L, J) if capped else None
    holding = random_convex_rows(rng, N, L + 1) if held else None
    dp = solve_schedule(costs, L, caps=caps, holding_costs=holding, method="dp")
    convex = solve_schedule(costs, L, caps=caps, holding_costs=holding, method="convex")
    auto = solve_schedule(costs, L, caps=caps, holding_costs=holding)
    np.testing.assert_array_equal(convex.lots, dp.lots)
    np.testing.assert_array_equal(auto.lots, dp.lots)
    assert convex.cost == pytest.approx(dp.cost, rel=1e-12, abs=1e-12)
    np.testing.assert_array_equal(np.isinf(convex.values), np.isinf(dp.values))
    finite = np.isfinite(dp.values)
    np.testing.assert_allclose(convex.values[finite], dp.values[finite], rtol=1e-12, atol=1e-12)
    assert_valid(convex, L, caps, J)


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 1_000_000), N=st.integers(1, 5), L=st.integers(0, 20), J=st.integers(1, 20),
       held=st.booleans())
def test_convex_path_with_ties_reaches_the_dp_cost(seed, N, L, J, held):
    """Integer convex costs tie often; the schedules may differ, their costs may not."""
    rng = np.random.default_rng(seed)
    if N * J < L:
        J = -(-L // N)
    costs = random_convex_rows(rng, N, J + 1, integer=True)
    holding = random_convex_rows(rng, N, L + 1, integer=True) if held else None
    dp = solve_schedule(costs, L, holding_costs=holding, method="dp")
    convex = solve_schedule(costs, L, holding_costs=holding, method="convex")
    assert convex.cost == dp.cost
    assert schedule_cost(costs, convex.lots, holding) == dp.cost
    assert_valid(convex, L, None, J)


def test_convex_path_rejects_non_convex_input_and_auto_falls_back_to_the_dp():
    fee = np.array([[0.0, 5.0, 6.0, 7.0, 8.0]] * 3)              # a fixed fee per order: concave in j
    with pytest.raises(ValueError, match=r"stage_costs\[0\] is not convex in j at j = 1; use method='dp'"):
        solve_schedule(fee, 4, method="convex")
    auto = solve_schedule(fee, 4)
    assert auto.cost == 8.0 and sorted(auto.lots) == [0, 0, 4]   # one order of 4 beats any split

    quadratic = np.arange(5.0) ** 2 * np.ones((3, 1))
    concave_risk = -np.arange(5.0) ** 2 * np.ones((3, 1))
    with pytest.raises(ValueError, match=r"holding_costs\[0\] is not convex in r at r = 1"):
        solve_schedule(quadratic, 4, holding_costs=concave_risk, method="convex")
    dp = solve_schedule(quadratic, 4, holding_costs=concave_risk, method="dp")
    assert solve_schedule(quadratic, 4, holding_costs=concave_risk).cost == dp.cost
    best = brute_force_values(quadratic, 4, holding=concave_risk)[3, 4]
    assert dp.cost == best == -16.0 - 16.0 + 16.0                # hold all 4 lots twice, then trade them


def test_convexity_is_checked_only_over_the_trade_sizes_caps_allow():
    costs = np.array([[0.0, 1.0, 4.0, 4.5, 4.6]] * 3)             # convex up to j = 2 only
    with pytest.raises(ValueError, match="not convex in j at j = 2"):
        solve_schedule(costs, 4, method="convex")
    capped = solve_schedule(costs, 4, caps=np.array([2, 2, 2]), method="convex")
    assert capped.cost == solve_schedule(costs, 4, caps=np.array([2, 2, 2]), method="dp").cost == 6.0
    assert sorted(capped.lots) == [1, 1, 2]


def test_linear_costs_are_convex_despite_rounding():
    g = np.array([[0.1], [0.3], [0.7]]) * np.ones((1, 8))
    costs = table_costs(g, lot_size=0.1)
    solution = solve_schedule(costs, 10, caps=np.array([4, 4, 4]), method="convex")
    np.testing.assert_array_equal(solution.lots, [4, 4, 2])
    assert solution.cost == pytest.approx(0.1 * 0.4 + 0.3 * 0.4 + 0.7 * 0.2, rel=1e-14)


@pytest.mark.parametrize("method", ["dp", "convex"])
def test_linear_impact_without_risk_gives_twap_and_its_closed_form(method):
    N, per_period, lot_size, tau, eta = 7, 9, 250.0, 1 / 7, 3e-6
    L = N * per_period
    X = L * lot_size
    solution = solve_schedule(power_law_costs(eta, 1.0, lot_size, tau, L, periods=N), L, method=method)
    np.testing.assert_array_equal(solution.lots, np.full(N, per_period))
    assert solution.cost == pytest.approx(N * eta * (X / N) ** 2 / tau, rel=1e-12)


def test_almgren_chriss_grid_optimum_approaches_the_closed_form_as_the_grid_is_refined():
    """Default OptimalExec-v0 (N = 13, X = 10⁶, λ = 5·10⁻⁷), on L = 13·2^k lots. Per period the expected
    cost is n·(ε + ηn/τ) + γ·n·x' + λσ²τ·x'²; the γ term telescopes to ½γX² − ½γΣn², so the stage cost
    is εn + η̃n²/τ and the holding cost λσ²τ·x'². Gap (grid optimum − closed form) / optimum, measured:
    L = 13: 5.4e-2, 26: 8.0e-3, 52: 2.4e-3, 104: 8.6e-4, 208: 1.6e-4, 416: 3.3e-5 (about 4× per halving)."""
    params = OptimalExecParams()
    N, X, tau = params.periods, params.shares, params.tau
    risk = params.risk_aversion * params.volatility**2 * tau
    optimum = closed_form.expected_shortfall(params) + params.risk_aversion * closed_form.variance(params)
    oracle = execgym.make_oracle("OptimalExec-v0")
    assert -oracle.expected_return / params.bps_per_currency == pytest.approx(optimum, rel=1e-10)
    gaps = []
    for L in 13 * 2 ** np.arange(6):
        lot_size = X / L
        grid = np.arange(L + 1) * lot_size
        costs = power_law_costs(params.eta_tilde, 1.0, lot_size, tau, L, periods=N) + params.half_spread * grid
        holding = np.broadcast_to(risk * grid**2, (N, L + 1))
        dp = solve_schedule(costs, L, holding_costs=holding, method="dp")
        convex = solve_schedule(costs, L, holding_costs=holding, method="convex")
        assert convex.cost == pytest.approx(dp.cost, rel=1e-12)
        gaps.append((dp.cost + 0.5 * params.permanent_impact * X**2 - optimum) / optimum)
    gaps = np.array(gaps)
    np.testing.assert_allclose(gaps, [5.355e-2, 7.958e-3, 2.423e-3, 8.584e-4, 1.618e-4, 3.343e-5], rtol=1e-3)
    assert (gaps > 0).all() and (np.diff(gaps) < 0).all()
    assert gaps[0] / gaps[-1] > 1000


def test_grid_error_reports_the_difference_between_nested_grids():
    params = OptimalExecParams()
    N, X, tau = params.periods, params.shares, params.tau
    risk = params.risk_aversion * params.volatility**2 * tau

    def trade(n):
        return np.broadcast_to(params.half_spread * n + params.eta_tilde / tau * n**2, (N, n.size))

    def hold(x):
        return np.broadcast_to(risk * x**2, (N, x.size))

    result = grid_error(trade, X, 26, 4, holding_cost=hold)
    assert result.lot_size == X / 26 and result.refinement == 4
    assert result.coarse.lots.sum() == 26 and result.fine.lots.sum() == 104
    optimum = closed_form.expected_shortfall(params) + params.risk_aversion * closed_form.variance(params)
    constant = 0.5 * params.permanent_impact * X**2
    assert result.difference == result.coarse.cost - result.fine.cost
    assert result.difference / optimum == pytest.approx(7.958e-3 - 8.584e-4, rel=1e-3)
    assert (result.coarse.cost + constant - optimum) > result.difference > 0


def test_grid_error_rounds_caps_in_shares_down_to_whole_lots():
    def trade(n):
        return np.array([[1.0], [2.0], [1.0]]) * n**2

    result = grid_error(trade, 1.0, 3, 2, caps=[2 / 3, 1.0, 0.25])
    assert result.coarse.lots.tolist() == [2, 1, 0]         # caps 2, 3, 0 lots of 1/3: 0.25 rounds to 0
    assert result.fine.lots.tolist() == [3, 2, 1]           # caps 4, 6, 1 lots of 1/6
    assert result.fine.cost == pytest.approx((9 + 2 * 4 + 1) / 36)
    with pytest.raises(ValueError, match="infeasible"):
        grid_error(trade, 1.0, 3, 2, caps=[0.3, 0.3, 0.3])


def test_caps_bind_and_are_respected():
    costs = power_law_costs(1.0, 1.0, 1.0, 1.0, 8, periods=4)      # j²
    solution = solve_schedule(costs, 8, caps=np.array([1, 8, 8, 8]))
    assert solution.lots[0] == 1 and sorted(solution.lots[1:]) == [2, 2, 3]
    assert solution.cost == 1 + 4 + 4 + 9
    zero_cap = solve_schedule(costs, 8, caps=np.array([0, 8, 0, 8]), method="dp")
    np.testing.assert_array_equal(zero_cap.lots, [0, 4, 0, 4])
    loose = solve_schedule(costs, 8, caps=np.array([100, 100, 100, 100]))      # caps above J do not bind
    np.testing.assert_array_equal(loose.lots, [2, 2, 2, 2])


def test_infeasible_caps_raise_a_clear_error():
    costs = np.zeros((3, 5))
    with pytest.raises(ValueError, match=r"infeasible: .* allow at most Σ_i min\(J, cap_i\) = 6 lots in total, "
                                         r"fewer than lots = 7"):
        solve_schedule(costs, 7, caps=np.array([2, 2, 2]))
    with pytest.raises(ValueError, match=r"largest trade J = 4 allow at most .* = 12 lots .* lots = 13"):
        solve_schedule(costs, 13)


def test_power_law_costs_values_and_alpha_range():
    costs = power_law_costs([2.0, 1.0], 0.5, 100.0, 0.25, 2)
    np.testing.assert_allclose(costs, [[0.0, 100 * 2 * 400**0.5, 200 * 2 * 800**0.5],
                                       [0.0, 100 * 400**0.5, 200 * 800**0.5]], rtol=1e-15)
    assert costs[0, 1] == pytest.approx(4000.0)
    np.testing.assert_array_equal(power_law_costs(2.0, 0.5, 100.0, 0.25, 2, periods=2)[0], costs[0])
    assert power_law_costs(1.0, 1.5, 1.0, 1.0, 3, periods=1)[0, 2] == pytest.approx(2 * 2**1.5)
    for alpha in (0.49, 1.51, float("nan")):
        with pytest.raises(ValueError, match=r"alpha must be in \[0.5, 1.5\]"):
            power_law_costs(1.0, alpha, 1.0, 1.0, 3, periods=2)
    with pytest.raises(ValueError, match="periods is required"):
        power_law_costs(1.0, 1.0, 1.0, 1.0, 3)
    with pytest.raises(ValueError, match="eta must be a number or an array with one value per period"):
        power_law_costs([1.0, 2.0], 1.0, 1.0, 1.0, 3, periods=3)
    with pytest.raises(ValueError, match="eta must be finite and > 0"):
        power_law_costs([1.0, 0.0], 1.0, 1.0, 1.0, 3)
    for name, args in (("lot_size", (1.0, 1.0, 0.0, 1.0, 3)), ("tau", (1.0, 1.0, 1.0, -1.0, 3)),
                       ("J", (1.0, 1.0, 1.0, 1.0, 0))):
        with pytest.raises(ValueError, match=name):
            power_law_costs(*args, periods=2)


def test_table_costs_multiply_impact_per_share_by_shares():
    table = np.array([[9.0, 0.5, 0.75], [9.0, 2.0, 1.0]])
    np.testing.assert_allclose(table_costs(table, lot_size=10.0), [[0.0, 5.0, 15.0], [0.0, 20.0, 20.0]])
    with pytest.raises(ValueError, match="table must be finite"):
        table_costs([[0.0, np.inf]])


@pytest.mark.parametrize("kwargs, message", [
    (dict(stage_costs=np.zeros(3), lots=1), r"stage_costs must have shape \(N, J\+1\)"),
    (dict(stage_costs=np.zeros((0, 3)), lots=0), "N >= 1"),
    (dict(stage_costs=[[0.0, np.nan]], lots=1), "stage_costs must be finite"),
    (dict(stage_costs=np.zeros((2, 3)), lots=-1), r"lots must be an integer in \[0, inf\)"),
    (dict(stage_costs=np.zeros((2, 3)), lots=1.0), "lots must be an integer"),
    (dict(stage_costs=np.zeros((2, 3)), lots=1, caps=[1.0, 1.0]), "caps must be integers"),
    (dict(stage_costs=np.zeros((2, 3)), lots=1, caps=np.array([1, 1, 1])), r"caps must have shape \(N,\)"),
    (dict(stage_costs=np.zeros((2, 3)), lots=1, caps=np.array([2, -1])), "caps must be >= 0"),
    (dict(stage_costs=np.zeros((2, 3)), lots=1, holding_costs=np.zeros((2, 3))),
     r"holding_costs must have shape \(N, L\+1\) = \(2, 2\)"),
    (dict(stage_costs=np.zeros((2, 3)), lots=1, holding_costs=[[0.0, np.inf]] * 2), "holding_costs must be finite"),
])
def test_invalid_problems_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ScheduleProblem(**kwargs)


def test_invalid_method_raises():
    with pytest.raises(ValueError, match="method must be one of 'auto', 'dp', 'convex'"):
        solve_schedule(np.zeros((2, 3)), 1, method="greedy")
