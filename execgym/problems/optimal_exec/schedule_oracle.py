"""Oracles of OptimalExec whose optimum is a deterministic schedule found by a separable solver.

Under the random walk with no two-way trading the optimal policy is a fixed
schedule of trades n_1..n_N (nothing about the future is learnt from the
price), so the optimum over all policies is the optimum over schedules. Three
shared solvers find it, each from :class:`~.schedule.TradeSpaceCosts` or the
stage costs of the lot grid:

| oracle | model | solver | exact for |
|---|---|---|---|
| :func:`water_filling_oracle` | linear impact, caps, λ = 0, order completes, c = 0 | :func:`~execgym.solvers.allocation.water_fill` | the continuous problem |
| :func:`blended_oracle` | linear impact, λ = 0, soft target (any c, caps) | :func:`~execgym.solvers.allocation.blended_schedule` with 0 ≤ n ≤ u (water-filling when Σn ≤ X binds) | the continuous problem |
| :func:`lot_grid_oracle` | nonlinear impact η_k·v̄·(v/v̄)^α or a table, or caps with λ > 0 (order completes, c = 0) | :func:`~execgym.solvers.schedule_dp.solve_schedule` | schedules on the lot grid |

On the lot grid the trades are multiples of X/L; the risk term λσ²τ·x² is a
holding cost and the permanent impact enters as −½γn² per trade plus ½γX²
(see :mod:`execgym.solvers.schedule_dp`). The grid optimum is exact for the
grid; ``grid_refinement_gain`` reports how much halving the lot improves it.

Every oracle's ``expected_return`` is the schedule's exact objective in the
env (:func:`~.schedule.expected_return`), and the solver's own optimum agrees
with it (tested).
"""

from __future__ import annotations

import numpy as np

from execgym.policy import Oracle
from execgym.problems.optimal_exec import schedule
from execgym.problems.optimal_exec.dynamics import unit_costs
from execgym.problems.optimal_exec.params import OptimalExecParams
from execgym.problems.optimal_exec.schedule_policy import SchedulePolicy
from execgym.solvers.allocation import blended_schedule, water_fill
from execgym.solvers.schedule_dp import CAP_ROUNDING, solve_schedule
from execgym.validation import require_int

ORACLE_LOTS = 1000
"""Default lot grid of :func:`lot_grid_oracle`: the order split into 1,000 lots."""


def _oracle(params: OptimalExecParams, trades: np.ndarray, name: str, **extra) -> Oracle:
    holdings = params.shares - np.concatenate([[0.0], np.cumsum(trades)])
    if params.completes:
        holdings[-1] = 0.0
    holdings = np.clip(holdings, 0.0, None)
    return Oracle(policy=SchedulePolicy(params, holdings, name),
                  expected_return=float(schedule.expected_return(params, holdings)),
                  schedule=holdings,
                  expected_shortfall=float(schedule.expected_shortfall(params, holdings)),
                  variance=float(schedule.variance(params, holdings)), **extra)


def water_filling_oracle(params: OptimalExecParams) -> Oracle:
    """Equal marginal cost l_k + b_k·n_k across periods, capped periods at their caps (exact)."""
    costs = schedule.TradeSpaceCosts.of(params)
    if costs.risk > 0 or costs.smoothness > 0 or costs.target is not None:
        raise ValueError("water-filling needs risk_aversion=0, smoothness=0 and a hard target")
    allocation = water_fill(costs.quadratic, params.shares, params.caps, linear=costs.linear)
    return _oracle(params, allocation.trades, "water_filling")


def blended_oracle(params: OptimalExecParams) -> Oracle:
    """The exact minimiser of the blended quadratic cost over one-way schedules: 0 <= n_k <= u_k and Σn <= X.

    The box-constrained minimiser (O(N) per active-set solve) is the answer when it sells at most X.
    Otherwise, the cost being convex, the constraint Σn <= X binds at the optimum, which is then the
    hard-target problem: water-filling when there is no smoothness term; with one, no exact solver
    here, and ValueError says so.
    """
    costs = schedule.TradeSpaceCosts.of(params)
    if costs.risk > 0 or costs.target is None:
        raise ValueError("the blended-cost oracle needs risk_aversion=0 and a soft target (target_penalty)")
    solution = blended_schedule(costs.linear, costs.quadratic, costs.smoothness, costs.target, params.shares,
                                lower=0.0, upper=params.caps)
    if solution.trades.sum() <= params.shares * (1.0 + 1e-12):
        return _oracle(params, solution.trades, "blended")
    if costs.smoothness > 0:
        raise ValueError("no exact oracle for these parameters: the soft target's optimum would trade more than "
                         "the order (the drift rewards trading), so Σn <= X binds, and with smoothness > 0 that "
                         "needs a quadratic solver with an equality constraint; set smoothness=0 or lower |drift|")
    allocation = water_fill(costs.quadratic, params.shares, params.caps, linear=costs.linear)
    return _oracle(params, allocation.trades, "blended")


def _grid_solution(params: OptimalExecParams, lots: int):
    """The optimal lots of ``params`` on a grid of ``lots`` lots, and the grid's cost (currency)."""
    lot = params.shares / lots
    sizes = np.arange(lots + 1) * lot
    periods = np.arange(params.periods)[:, None]
    stage = (sizes * unit_costs(params, periods, sizes[None, :]) - 0.5 * params.permanent_impact * sizes**2
             + schedule.waiting_costs(params)[:, None] * sizes)
    risk = params.period_risk
    holding = np.broadcast_to(risk * sizes**2, (params.periods, lots + 1)) if risk > 0 else None
    caps = None
    if params.trade_caps is not None:
        caps = np.floor(np.minimum(params.caps / lot + CAP_ROUNDING, lots)).astype(np.int64)
        if caps.sum() < lots:
            raise ValueError(f"on a grid of {lots} lots the trade_caps, rounded down to whole lots of {lot:g} "
                             f"shares, cannot complete the order; use more lots")
    return solve_schedule(stage, lots, caps=caps, holding_costs=holding), lot


def lot_grid_oracle(params: OptimalExecParams, lots: int = ORACLE_LOTS) -> Oracle:
    """The optimal schedule on a grid of ``lots`` lots (every trade size 0..lots allowed), exact for the grid,
    with ``grid_refinement_gain``: the objective's improvement (bps) on a grid of 2·lots."""
    if params.smoothness > 0 or not params.completes or params.mean_reversion > 0 or params.two_way:
        raise ValueError("the lot-grid oracle needs smoothness=0, a hard target, the random walk and "
                         "one-way trading")
    lots = require_int("lots", lots, low=1, high=100_000)
    coarse, lot = _grid_solution(params, lots)
    fine, _ = _grid_solution(params, 2 * lots)
    gain = (coarse.cost - fine.cost) * params.bps_per_currency
    return _oracle(params, coarse.lots * lot, f"lot_grid_{lots}", grid_refinement_gain=float(gain))
