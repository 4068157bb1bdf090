"""The cheapest order of n trades when each trade's cost depends on the one before: Held–Karp.

Problem: visit every trade 0..n−1 exactly once (a Hamiltonian path, no return
to the start), where the first trade j costs ``start_costs[j]`` and trade k
right after trade j costs ``costs[j, k]`` (any real numbers, asymmetric; the
diagonal is never read)::

    C(π) = a_{π_1} + Σ_{t=2..n} d_{π_{t−1} π_t}          minimise over the n! orders π

Held–Karp dynamic programming over subsets, written backwards as a
cost-to-go so that it prices every state, on the optimal path or not. For S
the set of trades done and j ∈ S the last one::

    V(all, j) = 0
    V(S, j)   = min_{k ∉ S} d_{jk} + V(S ∪ {k}, k)
    C*        = min_k a_k + V({k}, k)

V(S, j) is the least cost of finishing from (S, j), so the policy "next trade
= argmin_{k ∉ S} d_{jk} + V(S ∪ {k}, k)" (:func:`next_trades`) is optimal from
any state. Sets are bit masks; each layer of sets of equal size is one
vectorised numpy update per trade k: O(n²·2ⁿ) time, O(n·2ⁿ) memory (the
float64 table V of shape (2ⁿ, n), 8 MB at n = 16, where it runs in well under
a second). Above :data:`MAX_EXACT` trades the table grows past what this
promises, and :func:`held_karp` refuses; :func:`nearest_neighbour_two_opt` then
gives a good order whose cost is an upper bound on C*, not C*.

Pure numpy; costs in whatever unit the caller uses (the envs use bps).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_EXACT = 16
"""The most trades :func:`held_karp` accepts (its table has 2ⁿ·n entries: 8 MB at 16)."""
IMPROVEMENT_TOLERANCE = 1e-12
"""Relative improvement below which 2-opt stops (rounding, not a better order)."""


@dataclass(frozen=True)
class SequenceSolution:
    """An order of the trades and its cost C(order).

    ``exact`` is True when ``cost`` is the optimum C* (Held–Karp); False when the
    order comes from a heuristic and ``cost`` is only an upper bound on C*.
    ``values`` (exact solutions only) is the cost-to-go table V of shape (2ⁿ, n):
    ``values[S, j]`` for the done set S (bit mask) and the last trade j ∈ S, +inf
    where j ∉ S (no such state)."""

    order: np.ndarray
    cost: float
    exact: bool
    values: np.ndarray | None = None

    @property
    def kind(self) -> str:
        """"optimum" or "upper bound", for messages."""
        return "optimum" if self.exact else "upper bound"


def check_costs(start_costs, costs) -> tuple[np.ndarray, np.ndarray]:
    """(start_costs (n,), costs (n, n)) as float64 arrays, checked: n >= 1, same n, every entry finite."""
    start = np.asarray(start_costs, dtype=np.float64)
    matrix = np.asarray(costs, dtype=np.float64)
    if start.ndim != 1 or start.size < 1:
        raise ValueError(f"start_costs must be a non-empty 1-d array (one cost per trade), got shape {start.shape}")
    n = start.size
    if matrix.shape != (n, n):
        raise ValueError(f"costs must have shape (n, n) = ({n}, {n}) to match start_costs, got {matrix.shape}")
    for name, array in (("start_costs", start), ("costs", matrix)):
        bad = np.argwhere(~np.isfinite(array))
        if bad.size:
            index = tuple(int(i) for i in bad[0])
            raise ValueError(f"{name}{list(index)} must be finite, got {float(array[index])!r}")
    return start, matrix


def path_cost(start_costs, costs, order) -> float:
    """C(order) = a_{o_0} + Σ_t d_{o_t, o_{t+1}} for a permutation ``order`` of 0..n−1."""
    start, matrix = check_costs(start_costs, costs)
    order = np.asarray(order)
    n = start.size
    if order.shape != (n,) or order.dtype.kind not in "iu" or not np.array_equal(np.sort(order), np.arange(n)):
        raise ValueError(f"order must be a permutation of 0..{n - 1}, got {order!r}")
    return float(start[order[0]] + matrix[order[:-1], order[1:]].sum())


def _layers(n: int) -> list[np.ndarray]:
    """The bit masks of 0..2ⁿ−1 grouped by their number of set bits (layer m holds the sets of size m)."""
    masks = np.arange(1 << n, dtype=np.int64)
    sizes = ((masks[:, None] >> np.arange(n)) & 1).sum(axis=1)
    order = np.argsort(sizes, kind="stable")
    return np.split(masks[order], np.cumsum(np.bincount(sizes, minlength=n + 1))[:-1])


def held_karp(start_costs, costs) -> SequenceSolution:
    """The cheapest order (exact), its cost C* and the cost-to-go table V (module docstring).

    Ties go to the lowest trade index. ValueError above :data:`MAX_EXACT` trades."""
    start, matrix = check_costs(start_costs, costs)
    n = start.size
    if n > MAX_EXACT:
        raise ValueError(f"held_karp is exact up to MAX_EXACT = {MAX_EXACT} trades (O(n²·2ⁿ) time, O(n·2ⁿ) "
                         f"memory), got n = {n}; for more trades use nearest_neighbour_two_opt (heuristic=True "
                         "in BasketSequence), whose cost is an upper bound on the optimum, not the optimum")
    bits = np.int64(1) << np.arange(n, dtype=np.int64)
    values = np.full((1 << n, n), np.inf)
    values[-1] = 0.0
    layers = _layers(n)
    for size in range(n - 1, 0, -1):
        sets = layers[size]
        best = np.full((sets.size, n), np.inf)
        for k in range(n):
            open_ = (sets & bits[k]) == 0
            after = values[sets[open_] | bits[k], k]                 # V(S ∪ {k}, k)
            best[open_] = np.minimum(best[open_], matrix[:, k][None, :] + after[:, None])
        member = (sets[:, None] & bits[None, :]) != 0
        values[sets] = np.where(member, best, np.inf)
    first = start + values[bits, np.arange(n)]
    order = [int(np.argmin(first))]
    done = bits[order[0]]
    for _ in range(n - 1):
        order.append(int(next_trades(start, matrix, values, np.array([done]), np.array([order[-1]]))[0]))
        done |= bits[order[-1]]
    return SequenceSolution(order=np.array(order, dtype=np.int64), cost=float(first.min()), exact=True,
                            values=values)


def next_trades(start_costs: np.ndarray, costs: np.ndarray, values: np.ndarray, done: np.ndarray,
                last: np.ndarray) -> np.ndarray:
    """The optimal next trade (n_states,) from states (done set as bit masks (n_states,), last trade
    (n_states,), −1 before the first): argmin over k ∉ S of (a_k or d_{jk}) + V(S ∪ {k}, k), lowest
    index on ties. States with every trade done get 0. Arrays as :func:`held_karp` returns them."""
    n = start_costs.size
    bits = np.int64(1) << np.arange(n, dtype=np.int64)
    done = np.asarray(done, dtype=np.int64)
    last = np.asarray(last, dtype=np.int64)
    step = np.where(last[:, None] >= 0, costs[np.maximum(last, 0)], start_costs[None, :])
    q = step + values[done[:, None] | bits[None, :], np.arange(n)[None, :]]
    q[(done[:, None] & bits[None, :]) != 0] = np.inf
    return np.argmin(q, axis=1)


def _nearest_neighbour(start: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """The best of n nearest-neighbour orders, one starting from each trade (all grown together)."""
    n = start.size
    rows = np.arange(n)
    orders = np.empty((n, n), dtype=np.int64)
    orders[:, 0] = rows
    visited = np.eye(n, dtype=bool)
    total = start.copy()
    for t in range(1, n):
        candidates = np.where(visited, np.inf, matrix[orders[:, t - 1]])
        nxt = np.argmin(candidates, axis=1)
        total += candidates[rows, nxt]
        visited[rows, nxt] = True
        orders[:, t] = nxt
    return orders[int(np.argmin(total))]


def _best_reversal(start: np.ndarray, matrix: np.ndarray, order: np.ndarray) -> tuple[float, int, int]:
    """(change in cost, i, k) of the best 2-opt move: reverse order[i..k], i < k. With asymmetric costs
    every edge inside the segment flips direction; prefix sums of the forward and backward edge costs
    price all n(n−1)/2 moves at once."""
    n = order.size
    forward = np.concatenate([[0.0], np.cumsum(matrix[order[:-1], order[1:]])])    # Σ_{u<t} d(o_u, o_u+1)
    backward = np.concatenate([[0.0], np.cumsum(matrix[order[1:], order[:-1]])])   # Σ_{u<t} d(o_u+1, o_u)
    i, k = np.triu_indices(n, 1)
    prev = order[np.maximum(i - 1, 0)]
    old_in = np.where(i == 0, start[order[i]], matrix[prev, order[i]])
    new_in = np.where(i == 0, start[order[k]], matrix[prev, order[k]])
    nxt = order[np.minimum(k + 1, n - 1)]
    old_out = np.where(k == n - 1, 0.0, matrix[order[k], nxt])
    new_out = np.where(k == n - 1, 0.0, matrix[order[i], nxt])
    delta = (new_in - old_in) + (backward[k] - backward[i]) - (forward[k] - forward[i]) + (new_out - old_out)
    best = int(np.argmin(delta))
    return float(delta[best]), int(i[best]), int(k[best])


def nearest_neighbour_two_opt(start_costs, costs) -> SequenceSolution:
    """A heuristic order for any n: the best nearest-neighbour order over all n first trades, then 2-opt
    (best reversal of a segment, repeated while it lowers the cost by more than a relative 1e-12).

    The result has ``exact=False``: its cost is an upper bound on the optimum C*, not C* (it equals C*
    on many small instances). Time O(n³) for the start and O(n²) per 2-opt move."""
    start, matrix = check_costs(start_costs, costs)
    order = _nearest_neighbour(start, matrix)
    cost = path_cost(start, matrix, order)
    while order.size > 1:
        delta, i, k = _best_reversal(start, matrix, order)
        if delta >= -IMPROVEMENT_TOLERANCE * max(1.0, abs(cost)):
            break
        candidate = order.copy()
        candidate[i:k + 1] = order[i:k + 1][::-1]
        new_cost = path_cost(start, matrix, candidate)
        if new_cost >= cost:        # the prefix-sum estimate and the full sum disagree by rounding: stop
            break
        order, cost = candidate, new_cost
    return SequenceSolution(order=order, cost=cost, exact=False)
