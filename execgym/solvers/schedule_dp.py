"""Exact optimal deterministic execution schedule on a lot grid.

Problem (periods i = 1..N, L lots to execute, j_i lots traded in period i,
r_i = L − (j_1 + … + j_i) lots still held after period i)::

    minimise    Σ_i cost_i(j_i) + Σ_i h_i(r_i)
    subject to  Σ_i j_i = L,    0 <= j_i <= m_i = min(J, cap_i)

``cost_i(j)`` is the cost of trading j lots in period i: any finite numbers,
so nonlinear and time-varying temporary impact, fixed fees per order or
empirical impact tables all fit (:func:`power_law_costs`,
:func:`table_costs`). ``h_i(r)`` is an optional cost of holding r lots after
period i, for terms of the inventory such as the Almgren–Chriss risk
λσ²τ·x'². A permanent-impact term γ·n·x' is not a function of x' alone, but
its sum telescopes, Σ_i γ·n_i·x'_i = ½γX² − ½γ·Σ_i n_i², so it enters as
−½γ·n² in the stage costs plus the constant ½γX².

Dynamic programme over C(i, s), the least cost of executing s lots in
periods 1..i (holding costs of those periods included)::

    C(0, 0) = 0,    C(0, s > 0) = +inf
    C(i, s) = min_{0 <= j <= min(s, m_i)} [cost_i(j) + C(i−1, s − j)] + h_i(L − s)

C(N, L) is the optimum over every feasible schedule of the grid, and the
argmins, followed back from s = L, give the optimal lots. Two ways to compute
each stage, with the same memory, O(N·L) for the values and the argmins:

* ``"dp"``, any costs: one vectorised min-plus convolution per stage over a
  (L+1)×(J'+1) window array, J' = min(J, L). O(N·L·J') time, O(L·J') work
  space.
* ``"convex"``, when every cost_i is convex in j over 0..min(J, cap_i, L)
  and every h_i is convex in r: then every C(i, ·) is convex, and the
  min-plus convolution of two convex sequences merges their sorted slopes.
  So C(i, s) − C(i, 0) before the holding cost is the sum of the s cheapest
  marginal costs among the slopes of C(i−1, ·) and the marginal costs
  cost_i(j+1) − cost_i(j) — the marginal-cost greedy applied to every prefix
  of periods, caps respected by offering period i only its first m_i
  increments — and j is the number of period i's increments among them.
  O(N·(L + J')) time: the merge is a stable sort of two sorted runs, linear
  in numpy's timsort, and the convexity check is O(N·(J + L)). "Convex"
  allows rounding: second differences down to −10⁻¹² × the row's largest
  |value|; on such input the answer is optimal up to that tolerance. With
  h = 0 this is exactly the classical greedy for separable convex allocation:
  the optimal lots are the L cheapest marginal costs over all periods.

``"auto"`` takes the convex path when the input is convex, the DP otherwise.
On ties both take the smallest j at each (i, s).

The grid itself is an approximation of the continuous problem;
:func:`grid_error` measures it by solving on a lot size h and on h/k.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from execgym.validation import require_choice, require_int, require_real, set_field

METHODS = ("auto", "dp", "convex")
CONVEXITY_TOLERANCE = 1e-12
POWER_LAW_EXPONENTS = (0.5, 1.5)
CAP_ROUNDING = 1e-9


def _finite_array(name: str, value, ndim: int, layout: str) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    if array.ndim != ndim:
        raise ValueError(f"{name} must have shape {layout}, got {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must be finite")
    return array


def _first_nonconvexity(rows: np.ndarray, sizes: np.ndarray) -> tuple[int, int] | None:
    """(row, k) of the first point where a row fails to be convex,
    rows[i, k−1] − 2·rows[i, k] + rows[i, k+1] < −CONVEXITY_TOLERANCE·max_k |rows[i, k]|
    with 1 <= k < sizes[i]; None if every row is convex over 0..sizes[i]."""
    scale = np.maximum(rows.max(axis=1), -rows.min(axis=1))
    bad = np.diff(np.diff(rows, axis=1), axis=1) < -CONVEXITY_TOLERANCE * scale[:, None]
    bad &= np.arange(1, rows.shape[1] - 1) < sizes[:, None]
    if not bad.any():
        return None
    row, k = np.argwhere(bad)[0]
    return int(row), int(k) + 1


@dataclass(frozen=True)
class ScheduleProblem:
    """A lot-grid execution problem (see the module docstring).

    After construction ``stage_costs`` (and ``holding_costs`` if given) are
    float arrays and ``caps`` an int array; costs are in whatever unit the
    caller uses, the solver only adds and compares them.
    """

    stage_costs: np.ndarray
    """(N, J+1): cost_i(j) of trading j = 0..J lots in period i (finite); J is the largest trade allowed."""
    lots: int
    """L: lots to execute in total (>= 0)."""
    caps: np.ndarray | None = None
    """(N,) int: most lots period i may trade (>= 0); default J in every period."""
    holding_costs: np.ndarray | None = None
    """(N, L+1): h_i(r) of holding r = 0..L lots after period i (finite); None for no holding cost."""

    def __post_init__(self) -> None:
        costs = _finite_array("stage_costs", self.stage_costs, 2, "(N, J+1)")
        if min(costs.shape) < 1:
            raise ValueError(f"stage_costs must have shape (N, J+1) with N >= 1 and J >= 0, got {costs.shape}")
        set_field(self, "stage_costs", costs)
        set_field(self, "lots", require_int("lots", self.lots, low=0))
        set_field(self, "caps", self._checked_caps())
        if self.holding_costs is not None:
            set_field(self, "holding_costs", self._checked_holding_costs())
        if self.trade_limits.sum() < self.lots:
            raise ValueError(
                f"the schedule is infeasible: caps and the largest trade J = {self.max_trade} allow at most "
                f"Σ_i min(J, cap_i) = {int(np.minimum(self.caps, self.max_trade).sum())} lots in total, "
                f"fewer than lots = {self.lots}")

    @property
    def periods(self) -> int:
        """N: number of periods."""
        return self.stage_costs.shape[0]

    @property
    def max_trade(self) -> int:
        """J: largest trade, lots."""
        return self.stage_costs.shape[1] - 1

    @property
    def trade_limits(self) -> np.ndarray:
        """(N,) m_i = min(J, cap_i, L): the largest trade period i can use, lots."""
        return np.minimum(np.minimum(self.caps, self.max_trade), self.lots)

    @property
    def nonconvexity(self) -> str | None:
        """Where the input fails to be convex (stage costs over 0..m_i, holding costs over 0..L); None if convex."""
        found = _first_nonconvexity(self.stage_costs, self.trade_limits)
        if found is not None:
            return f"stage_costs[{found[0]}] is not convex in j at j = {found[1]}"
        if self.holding_costs is not None:
            found = _first_nonconvexity(self.holding_costs, np.full(self.periods, self.lots))
            if found is not None:
                return f"holding_costs[{found[0]}] is not convex in r at r = {found[1]}"
        return None

    def _checked_caps(self) -> np.ndarray:
        if self.caps is None:
            return np.full(self.periods, self.max_trade, dtype=np.int64)
        caps = np.asarray(self.caps)
        if caps.dtype.kind not in "iu":
            raise ValueError(f"caps must be integers (lots), got dtype {caps.dtype}")
        if caps.shape != (self.periods,):
            raise ValueError(f"caps must have shape (N,) = {(self.periods,)}, got {caps.shape}")
        if (caps < 0).any():
            raise ValueError(f"caps must be >= 0, got minimum {caps.min()}")
        return caps.astype(np.int64)

    def _checked_holding_costs(self) -> np.ndarray:
        holding = _finite_array("holding_costs", self.holding_costs, 2, "(N, L+1)")
        if holding.shape != (self.periods, self.lots + 1):
            raise ValueError(f"holding_costs must have shape (N, L+1) = {(self.periods, self.lots + 1)}, "
                             f"got {holding.shape}")
        return holding


@dataclass(frozen=True)
class ScheduleSolution:
    """The optimal schedule of a :class:`ScheduleProblem` and the DP table behind it."""

    lots: np.ndarray
    """(N,) int: optimal lots traded in each period (summing to L)."""
    cost: float
    """C(N, L): its total cost, stage plus holding costs (exact for the grid)."""
    values: np.ndarray
    """(N+1, L+1): C(i, s), the least cost of executing s lots in periods 1..i; +inf where impossible."""


def _dp_choices(previous: np.ndarray, costs: np.ndarray, work: np.ndarray) -> np.ndarray:
    """argmin_j [costs[j] + previous[s − j]] for s = 0..len(previous)−1, smallest j on ties;
    ``work`` is scratch space of at least len(previous)·len(costs) floats."""
    limit = costs.shape[0] - 1
    padded = np.concatenate([np.full(limit, np.inf), previous])
    windows = sliding_window_view(padded, limit + 1)[:, ::-1]
    total = np.add(windows, costs, out=work[: windows.size].reshape(windows.shape))
    return total.argmin(axis=1)


def _convex_choices(previous: np.ndarray, costs: np.ndarray, count: int) -> np.ndarray:
    """The same argmins for convex ``previous`` (all finite) and ``costs``, for s = 0..count:
    j(s) = how many of costs' slopes are among the s smallest of both slopes (previous's first on ties)."""
    slopes = np.concatenate([np.diff(previous), np.diff(costs)])
    from_costs = np.argsort(slopes, kind="stable")[:count] >= previous.shape[0] - 1
    return np.concatenate([[0], np.cumsum(from_costs)])


def _solve(problem: ScheduleProblem, convex: bool) -> ScheduleSolution:
    N, L = problem.periods, problem.lots
    limits = problem.trade_limits
    values = np.full((N + 1, L + 1), np.inf)
    values[0, 0] = 0.0
    choices = np.zeros((N, L + 1), dtype=np.int64)
    work = None if convex else np.empty((L + 1) * (limits.max() + 1))
    executed = np.arange(L + 1)
    reach = 0
    for i in range(N):
        costs = problem.stage_costs[i, : limits[i] + 1]
        next_reach = min(L, reach + limits[i])
        if convex:
            j = _convex_choices(values[i, : reach + 1], costs, next_reach)
        else:
            j = _dp_choices(values[i, : next_reach + 1], costs, work)
        s = executed[: next_reach + 1]
        stage = values[i + 1, : next_reach + 1]
        np.add(values[i, s - j], costs[j], out=stage)
        if problem.holding_costs is not None:
            stage += problem.holding_costs[i, L - s]
        choices[i, : next_reach + 1] = j
        reach = next_reach
    lots = np.empty(N, dtype=np.int64)
    remaining = L
    for i in range(N - 1, -1, -1):
        lots[i] = choices[i, remaining]
        remaining -= lots[i]
    return ScheduleSolution(lots=lots, cost=float(values[N, L]), values=values)


def solve_schedule(stage_costs, lots: int, caps=None, holding_costs=None, method: str = "auto") -> ScheduleSolution:
    """The optimal schedule of L = ``lots`` lots; arguments as the fields of :class:`ScheduleProblem`.

    ``method``: "dp" (any costs), "convex" (raises ``ValueError`` naming the
    first non-convex row on non-convex input) or "auto" (convex if the input is,
    else dp); see the module docstring.
    """
    problem = ScheduleProblem(stage_costs=stage_costs, lots=lots, caps=caps, holding_costs=holding_costs)
    method = require_choice("method", method, METHODS)
    if method == "dp":
        return _solve(problem, convex=False)
    nonconvexity = problem.nonconvexity
    if method == "convex" and nonconvexity is not None:
        raise ValueError(f"method='convex' needs convex costs, but {nonconvexity}; use method='dp'")
    return _solve(problem, convex=nonconvexity is None)


def power_law_costs(eta, alpha: float, lot_size: float, tau: float, J: int, *, periods: int | None = None) -> np.ndarray:
    """(N, J+1) stage costs of power-law temporary impact: cost_i(j) = n·η_i·(n/τ)^α, n = j·lot_size shares.

    η_i: impact per share at a trading rate of one share per unit time (> 0), one
    number per period or a single number for all ``periods``; α in [0.5, 1.5];
    lot_size in shares (> 0); τ the period length (> 0); J the largest trade in
    lots (>= 1). The cost n^{1+α} is convex in n for every allowed α.
    """
    alpha = require_real("alpha", alpha, low=POWER_LAW_EXPONENTS[0], high=POWER_LAW_EXPONENTS[1])
    lot_size = require_real("lot_size", lot_size, low=0.0, low_open=True)
    tau = require_real("tau", tau, low=0.0, low_open=True)
    J = require_int("J", J, low=1)
    eta = np.asarray(eta, dtype=np.float64)
    if eta.ndim == 0:
        if periods is None:
            raise ValueError("periods is required when eta is a single number")
        eta = np.full(require_int("periods", periods, low=1), float(eta))
    elif eta.ndim != 1 or eta.shape[0] < 1 or (periods is not None and eta.shape[0] != periods):
        raise ValueError(f"eta must be a number or an array with one value per period (shape (N,), N = periods "
                         f"if given), got shape {eta.shape} with periods={periods}")
    if not np.isfinite(eta).all() or (eta <= 0).any():
        raise ValueError(f"eta must be finite and > 0, got minimum {eta.min()!r}")
    shares = np.arange(J + 1) * lot_size
    return eta[:, None] * shares * (shares / tau) ** alpha


def table_costs(table, lot_size: float = 1.0) -> np.ndarray:
    """(N, J+1) stage costs g_i(j)·n from a table (N, J+1) of impact per share g_i(j) of a trade of
    j lots in period i (finite; column 0 is unused), n = j·lot_size shares (lot_size > 0)."""
    table = _finite_array("table", table, 2, "(N, J+1)")
    lot_size = require_real("lot_size", lot_size, low=0.0, low_open=True)
    return table * (np.arange(table.shape[1]) * lot_size)


@dataclass(frozen=True)
class GridError:
    """One continuous problem solved on two nested grids: lots of h = X/L shares and of h/k."""

    coarse: ScheduleSolution
    """The optimum on L lots of h shares."""
    fine: ScheduleSolution
    """The optimum on k·L lots of h/k shares."""
    lot_size: float
    """h: the coarse lot, shares."""
    refinement: int
    """k: each coarse lot is k fine lots."""

    @property
    def difference(self) -> float:
        """coarse.cost − fine.cost, >= 0 (up to rounding) since the fine grid holds every coarse schedule.

        It is the part of the coarse grid's error e(h) = C_h − C_continuous that
        the fine grid removes, e(h) − e(h/k), a lower bound on e(h); if e(h) ≈ c·hᵖ,
        then e(h) ≈ difference · kᵖ/(kᵖ − 1).
        """
        return self.coarse.cost - self.fine.cost


def grid_error(trade_cost: Callable[[np.ndarray], np.ndarray], shares: float, lots: int, refinement: int = 2, *,
               holding_cost: Callable[[np.ndarray], np.ndarray] | None = None, caps=None,
               method: str = "auto") -> GridError:
    """Solve one continuous problem on lots of h = shares/lots and of h/refinement, every trade size allowed.

    ``trade_cost(n)`` maps trade sizes n (K,) in shares to their costs (N, K) in
    each period; ``holding_cost(x)`` maps holdings x (K,) in shares to the
    holding cost (N, K) after each period; ``caps`` (N,) are in shares, rounded
    down to whole lots (within 10⁻⁹ lot). The fine grid costs refinement² times
    the coarse one with the DP, refinement times with the convex path.
    """
    shares = require_real("shares", shares, low=0.0, low_open=True)
    lots = require_int("lots", lots, low=1)
    refinement = require_int("refinement", refinement, low=2)
    if caps is not None:
        caps = _finite_array("caps", caps, 1, "(N,)")
        if (caps < 0).any():
            raise ValueError(f"caps must be >= 0 shares, got minimum {caps.min()!r}")

    def solve(grid_lots: int) -> ScheduleSolution:
        lot_size = shares / grid_lots
        sizes = np.arange(grid_lots + 1) * lot_size
        grid_caps = None if caps is None else np.floor(caps / lot_size + CAP_ROUNDING).astype(np.int64)
        return solve_schedule(trade_cost(sizes), grid_lots, caps=grid_caps,
                              holding_costs=None if holding_cost is None else holding_cost(sizes), method=method)

    return GridError(coarse=solve(lots), fine=solve(lots * refinement), lot_size=shares / lots,
                     refinement=refinement)
