"""Held–Karp against brute force over all n! orders (optimum, order, every entry of the cost-to-go table and the
optimal next trade from any state, ties to the lowest index), its refusal above MAX_EXACT, the nearest-neighbour +
2-opt heuristic (a valid order, a bound, never worse than the best nearest-neighbour order) and the input checks."""

import itertools

import numpy as np
import pytest
from hypothesis import example, given, settings, strategies as st

from execgym.solvers.sequencing import (MAX_EXACT, SequenceSolution, check_costs, held_karp,
                                        nearest_neighbour_two_opt, next_trades, path_cost)


def random_instance(rng, n, integer=False):
    """Random asymmetric (start costs (n,), costs (n, n)); small integers make ties between orders common."""
    if integer:
        return rng.integers(0, 4, n).astype(float), rng.integers(0, 4, (n, n)).astype(float)
    return rng.normal(size=n), rng.normal(size=(n, n))


def completions(start, matrix, done, last):
    """Every completion from state (done set as a list of trades, last trade or −1): (orders (m, r), costs (m,)),
    the cost including the step from ``last``, summed left to right as the solver does."""
    n = start.size
    rest = [k for k in range(n) if k not in done]
    if not rest:
        return np.zeros((1, 0), dtype=np.int64), np.zeros(1)
    orders = np.array(list(itertools.permutations(rest)), dtype=np.int64)
    costs = start[orders[:, 0]] if last < 0 else matrix[last, orders[:, 0]]
    for t in range(1, orders.shape[1]):
        costs = costs + matrix[orders[:, t - 1], orders[:, t]]
    return orders, costs


def brute_force(start, matrix):
    """(all n! orders, their costs C(order)), orders in lexicographic order."""
    return completions(start, matrix, [], -1)


def mask(trades):
    return sum(1 << int(k) for k in trades)


def nearest_neighbour_costs(start, matrix, firsts=None):
    """C of the greedy order from each first trade (an independent loop, not the solver's vectorised one)."""
    n = start.size
    out = []
    for first in range(n) if firsts is None else firsts:
        order = [first]
        while len(order) < n:
            order.append(min((k for k in range(n) if k not in order), key=lambda k: matrix[order[-1], k]))
        out.append(path_cost(start, matrix, order))
    return np.array(out)


# ------------------------------------------------------------------------------------------ Held–Karp


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 7), integer=st.booleans())
@example(seed=0, n=7, integer=False)
@example(seed=1, n=7, integer=True)
@example(seed=2, n=1, integer=False)
@example(seed=3, n=2, integer=True)
def test_held_karp_equals_brute_force_over_all_orders(seed, n, integer):
    start, matrix = random_instance(np.random.default_rng(seed), n, integer)
    orders, costs = brute_force(start, matrix)
    solution = held_karp(start, matrix)
    assert isinstance(solution, SequenceSolution) and solution.exact and solution.kind == "optimum"
    assert solution.cost == pytest.approx(costs.min(), abs=1e-12)
    assert sorted(solution.order.tolist()) == list(range(n))
    assert path_cost(start, matrix, solution.order) == pytest.approx(costs.min(), abs=1e-12)
    assert solution.values.shape == (1 << n, n)
    if integer:   # costs are exact integers: ties are exact, and the order must be the lowest-index optimum
        optimal = orders[costs == costs.min()]
        assert solution.cost == costs.min()
        assert solution.order.tolist() == min(o.tolist() for o in optimal)


def test_one_trade_is_solved():
    solution = held_karp([2.5], [[7.0]])
    assert solution.order.tolist() == [0] and solution.cost == 2.5
    np.testing.assert_array_equal(solution.values, [[np.inf], [0.0]])
    heuristic = nearest_neighbour_two_opt([2.5], [[7.0]])
    assert heuristic.order.tolist() == [0] and heuristic.cost == 2.5 and not heuristic.exact


def test_zero_costs_give_the_identity_order():
    """Every order ties: the lowest index first at every step."""
    for n in (2, 5, 9):
        solution = held_karp(np.zeros(n), np.zeros((n, n)))
        assert solution.order.tolist() == list(range(n)) and solution.cost == 0.0


def test_the_diagonal_is_never_read():
    rng = np.random.default_rng(4)
    start, matrix = random_instance(rng, 6)
    other = matrix.copy()
    np.fill_diagonal(other, rng.normal(size=6) * 1e6)
    a, b = held_karp(start, matrix), held_karp(start, other)
    assert a.cost == b.cost and np.array_equal(a.order, b.order) and np.array_equal(a.values, b.values)
    assert path_cost(start, other, a.order) == path_cost(start, matrix, a.order)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 6), integer=st.booleans())
@example(seed=5, n=6, integer=False)
@example(seed=6, n=6, integer=True)
def test_cost_to_go_table_equals_brute_force_over_completions_in_every_state(seed, n, integer):
    """V(S, j) for every done set S and last trade j: the least cost of finishing; +inf where j ∉ S; and the
    next trade from every state (the first state included) is the lowest-index trade starting a cheapest completion."""
    start, matrix = random_instance(np.random.default_rng(seed), n, integer)
    solution = held_karp(start, matrix)
    states, lasts, expected_next = [], [], []
    for s in range(1 << n):
        done = [k for k in range(n) if s >> k & 1]
        for j in range(n):
            if j not in done:
                assert solution.values[s, j] == np.inf
                continue
            orders, costs = completions(start, matrix, done, j)   # priced from j: the steps after j
            assert solution.values[s, j] == pytest.approx(costs.min(), abs=1e-12), (s, j)
            if len(done) < n:
                states.append(s)
                lasts.append(j)
                expected_next.append(int(orders[costs <= costs.min() + (0 if integer else 1e-12), 0].min()))
    # the first state: nothing done, no last trade
    orders, costs = completions(start, matrix, [], -1)
    states.append(0)
    lasts.append(-1)
    expected_next.append(int(orders[costs <= costs.min() + (0 if integer else 1e-12), 0].min()))
    got = next_trades(start, matrix, solution.values, np.array(states), np.array(lasts))
    if integer:
        np.testing.assert_array_equal(got, expected_next)
    for s, j, k in zip(states, lasts, got):   # whatever the ties, the chosen trade achieves V
        done = [t for t in range(n) if s >> t & 1]
        assert k not in done
        step = start[k] if j < 0 else matrix[j, k]
        target = solution.cost if j < 0 else solution.values[s, j]
        assert step + solution.values[s | 1 << int(k), k] == pytest.approx(target, abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 7), integer=st.booleans())
@example(seed=7, n=7, integer=True)
def test_following_next_trades_from_a_random_off_path_state_achieves_the_cost_to_go(seed, n, integer):
    """From a random state (a random prefix, usually not the optimal one), rolling out next_trades costs exactly
    the brute-force best completion."""
    rng = np.random.default_rng(seed)
    start, matrix = random_instance(rng, n, integer)
    solution = held_karp(start, matrix)
    prefix = rng.permutation(n)[:rng.integers(1, n)].tolist()
    s, last, cost = mask(prefix), prefix[-1], 0.0
    _, best = completions(start, matrix, prefix, last)
    assert solution.values[s, last] == pytest.approx(best.min(), abs=1e-12)
    for _ in range(n - len(prefix)):
        k = int(next_trades(start, matrix, solution.values, np.array([s]), np.array([last]))[0])
        assert not s >> k & 1
        cost += matrix[last, k]
        s, last = s | 1 << k, k
    assert s == (1 << n) - 1
    assert cost == pytest.approx(best.min(), abs=1e-12)
    # all done: action 0 by convention
    assert next_trades(start, matrix, solution.values, np.array([s]), np.array([last])).tolist() == [0]


def test_held_karp_refuses_more_than_max_exact_trades():
    n = MAX_EXACT + 1
    with pytest.raises(ValueError, match=rf"MAX_EXACT = {MAX_EXACT}.*n = {n}.*nearest_neighbour_two_opt.*"
                                         r"upper bound"):
        held_karp(np.zeros(n), np.zeros((n, n)))
    solution = held_karp(np.zeros(MAX_EXACT), np.ones((MAX_EXACT, MAX_EXACT)))   # the limit itself is solved
    assert solution.cost == MAX_EXACT - 1 and solution.order.tolist() == list(range(MAX_EXACT))


# ------------------------------------------------------------------------------------- the heuristic


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 9), integer=st.booleans())
@example(seed=8, n=9, integer=False)
def test_nearest_neighbour_two_opt_is_a_valid_bound_no_worse_than_nearest_neighbour(seed, n, integer):
    start, matrix = random_instance(np.random.default_rng(seed), n, integer)
    solution = nearest_neighbour_two_opt(start, matrix)
    assert not solution.exact and solution.values is None and solution.kind == "upper bound"
    assert solution.order.dtype.kind == "i" and sorted(solution.order.tolist()) == list(range(n))
    assert solution.cost == path_cost(start, matrix, solution.order)
    exact = held_karp(start, matrix)
    assert solution.cost >= exact.cost - 1e-12
    if not integer:   # no ties: the greedy orders are unique, and 2-opt starts from the best of them
        assert solution.cost <= nearest_neighbour_costs(start, matrix).min()


def test_two_opt_improves_a_bad_nearest_neighbour_order():
    """An instance where the greedy path is lured the wrong way: 2-opt must find a strictly cheaper order, and on
    random instances the heuristic is sometimes strictly better than every greedy order (2-opt does work)."""
    improved = 0
    for seed in range(200):
        start, matrix = random_instance(np.random.default_rng(seed), 8)
        nn = nearest_neighbour_costs(start, matrix).min()
        cost = nearest_neighbour_two_opt(start, matrix).cost
        assert cost <= nn
        improved += cost < nn - 1e-9
    assert improved >= 20


def test_nearest_neighbour_two_opt_scales_to_large_baskets():
    rng = np.random.default_rng(9)
    n = 200
    start, matrix = rng.random(n), rng.random((n, n))
    solution = nearest_neighbour_two_opt(start, matrix)
    assert sorted(solution.order.tolist()) == list(range(n))
    assert solution.cost == path_cost(start, matrix, solution.order)
    assert solution.cost <= nearest_neighbour_costs(start, matrix, range(3)).min()   # at least as good as these starts
    # 2-opt ends at a local optimum: no single reversal lowers the cost
    order = solution.order
    for i, k in [(0, n - 1), (0, 5), (10, 50), (100, 199), (37, 38)]:
        candidate = order.copy()
        candidate[i:k + 1] = order[i:k + 1][::-1]
        assert path_cost(start, matrix, candidate) >= solution.cost - 1e-9


# ------------------------------------------------------------------------------------------- checks


@pytest.mark.parametrize("start, costs, match", [
    (np.zeros((2, 2)), np.zeros((2, 2)), r"start_costs must be a non-empty 1-d array.*\(2, 2\)"),
    (np.zeros(0), np.zeros((0, 0)), r"start_costs must be a non-empty 1-d array.*\(0,\)"),
    (np.zeros(3), np.zeros((3, 2)), r"costs must have shape \(n, n\) = \(3, 3\).*\(3, 2\)"),
    (np.zeros(3), np.zeros(9), r"costs must have shape \(n, n\) = \(3, 3\).*\(9,\)"),
    (np.array([0.0, np.nan, 1.0]), np.zeros((3, 3)), r"start_costs\[1\] must be finite, got nan"),
    (np.zeros(3), np.array([[0, 1, 2], [3, 4, np.inf], [6, 7, 8]]), r"costs\[1, 2\] must be finite, got inf"),
    (np.zeros(2), np.array([[0, 1], [-np.inf, 0]]), r"costs\[1, 0\] must be finite, got -inf"),
])
def test_check_costs_names_the_parameter(start, costs, match):
    with pytest.raises(ValueError, match=match):
        check_costs(start, costs)
    with pytest.raises(ValueError, match=match):
        held_karp(start, costs)
    with pytest.raises(ValueError, match=match):
        nearest_neighbour_two_opt(start, costs)


def test_check_costs_returns_float_arrays():
    start, matrix = check_costs([1, 2], [[0, 1], [2, 0]])
    assert start.dtype == matrix.dtype == np.float64 and matrix.shape == (2, 2)


@pytest.mark.parametrize("order", [[0, 1], [0, 1, 1], [0, 1, 3], [2, 1, 0, 3], [0.0, 1.0, 2.0], [[0, 1, 2]],
                                   [-1, 0, 1], [True, False, True]])
def test_path_cost_rejects_non_permutations(order):
    with pytest.raises(ValueError, match=r"order must be a permutation of 0\.\.2"):
        path_cost(np.zeros(3), np.zeros((3, 3)), order)


def test_path_cost_by_hand():
    start = np.array([1.0, 2.0, 3.0])
    matrix = np.array([[0.0, 10.0, 20.0], [30.0, 0.0, 40.0], [50.0, 60.0, 0.0]])
    assert path_cost(start, matrix, [2, 0, 1]) == 3.0 + 50.0 + 10.0
    assert path_cost(start, matrix, np.array([1, 2, 0], dtype=np.uint8)) == 2.0 + 40.0 + 50.0
    assert path_cost([4.0], [[9.0]], [0]) == 4.0
