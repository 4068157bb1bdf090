"""The oracle of every OptimalExec variant: which shared solver is exact for which model.

| model (params) | oracle | solver | cost |
|---|---|---|---|
| Almgren–Chriss; time-varying impact, smoothness, soft target, drift (no caps, α = 1) | optimal affine feedback | LQ Riccati (:mod:`.lq_oracle`) | O(N) |
| mean-reverting price θ > 0, or ``two_way`` (α = 1, no caps) | adaptive feedback in (x, d[, n⁻]) | LQ Riccati, clipping probability computed exactly | O(N) |
| transient impact κ > 0 (α = 1, no caps or smoothness; any λ, target, θ) | feedback in (x, d, D) | LQ Riccati | O(N) |
| caps, λ = 0, order completes, c = 0 | water-filling | :func:`~execgym.solvers.allocation.water_fill` | O(N log N) |
| λ = 0 with a soft target (caps, smoothness allowed) | blended quadratic, box 0 ≤ n ≤ u | :func:`~execgym.solvers.allocation.blended_schedule` | O(N) per active-set step |
| nonlinear impact (α ≠ 1 or ``impact_table``), or caps with λ > 0 (order completes, c = 0) | optimal schedule on a lot grid | :func:`~execgym.solvers.schedule_dp.solve_schedule` | O(N·L²), O(N·L) if convex |

Combinations outside the table (caps with smoothness and risk aversion, nonlinear
impact under mean reversion, ...) have no exact oracle here, and
:func:`make_oracle` says so rather than return an approximation. :func:`solve_together` builds the LQ oracles
of many markets in one vectorised recursion (:func:`execgym.make_oracles`).
"""

from __future__ import annotations

import math

from execgym.policy import Oracle, OracleCost
from execgym.problems.optimal_exec.lq_oracle import lq_oracles, make_lq_oracle
from execgym.problems.optimal_exec.params import OptimalExecParams
from execgym.problems.optimal_exec.schedule_oracle import (ORACLE_LOTS, blended_oracle, lot_grid_oracle,
                                                           water_filling_oracle)

SOLVERS = ("lq", "water_filling", "blended", "lot_grid")
BUILD_OVERHEAD = 0.001
"""Seconds of an oracle build that do not grow with the problem (:func:`build_cost`)."""
SECONDS_PER_PERIOD = {"lq": 1.5e-4, "water_filling": 4.5e-5, "blended": 4.5e-5}
"""Build seconds per period of the LQ, water-filling and blended oracles (measured: the LQ oracle 0.16 ms per
period at N = 500–1,000, the other two 0.04–0.05 ms at N = 400–1,000; pricing the schedule per period outweighs
the O(N) solve)."""
SECONDS_PER_CONVEX_CELL = 1.1e-7
"""Build seconds per (period, lot) of the lot-grid oracle on convex costs, grids of L and 2L lots (measured: 60 and
200 periods on 1,000 lots in 0.033 and 0.054 s)."""
SECONDS_PER_DP_CELL = 8e-9
"""Build seconds per (period, lot, lot) of the lot-grid oracle's general DP (``impact_table``)."""


def oracle_solver(params: OptimalExecParams) -> str:
    """The name (one of :data:`SOLVERS`) of the solver that is exact for ``params`` (table above);
    ValueError, naming the combination, when none is."""
    linear = params.linear_impact
    caps = params.trade_caps is not None
    risk_neutral = params.risk_aversion == 0.0
    smooth = params.smoothness > 0.0
    if params.transient:           # OptimalExecParams allows it only with linear impact, no caps, no smoothness
        return "lq"
    if params.mean_reversion > 0.0 or params.two_way:
        if not linear or caps:
            raise ValueError("no exact oracle for mean reversion or two-way trading with nonlinear impact or "
                             "trade_caps: the optimum is adaptive, and only the LQ solver (linear impact, "
                             "no caps) computes it")
        return "lq"
    if not linear or (caps and not risk_neutral):
        if smooth or not params.completes:
            raise ValueError(f"no exact oracle for {params.variant}: the lot-grid DP needed for nonlinear impact "
                             "(or caps with risk aversion) has no smoothness term or soft target; set "
                             "smoothness=0 and target_penalty=None")
        return "lot_grid"
    if risk_neutral and not params.completes:
        return "blended"
    if caps:
        if smooth:
            raise ValueError(f"no exact oracle for {params.variant} with a hard target: use a target_penalty "
                             "(the blended solver) or smoothness=0 (water-filling)")
        return "water_filling"
    return "lq"


def build_cost(params: OptimalExecParams, lots: int = ORACLE_LOTS) -> OracleCost:
    """What :func:`make_oracle` would take: N periods for the LQ, water-filling and blended solvers; N periods ×
    3L lots (the grids of L and 2L) for the lot grid on convex costs (power-law impact, caps), N·5L² for an
    ``impact_table``, which may not be convex (the general DP: an upper bound)."""
    try:
        solver = oracle_solver(params)
    except ValueError as error:
        return OracleCost(size=math.nan, unit="", seconds=math.nan, refusal=str(error))
    periods = params.periods
    if solver != "lot_grid":
        return OracleCost(size=periods, unit=f"periods ({solver} solver)",
                          seconds=BUILD_OVERHEAD + SECONDS_PER_PERIOD[solver] * periods)
    if params.impact_table is None:
        cells = periods * 3 * lots
        return OracleCost(size=cells, unit=f"(period, lot) cells of grids of {lots} and {2 * lots} lots",
                          seconds=BUILD_OVERHEAD + SECONDS_PER_CONVEX_CELL * cells)
    cells = periods * 5 * lots**2
    return OracleCost(size=cells, unit=f"(period, lot, lot) cells of grids of {lots} and {2 * lots} lots",
                      seconds=BUILD_OVERHEAD + SECONDS_PER_DP_CELL * cells)


def make_oracle(params: OptimalExecParams, lots: int = ORACLE_LOTS) -> Oracle:
    """The optimal policy of ``params`` and its exact value, from the solver :func:`oracle_solver` picks;
    ``lots`` sets the grid of the lot-grid oracle."""
    solver = oracle_solver(params)
    if solver == "lot_grid":
        return lot_grid_oracle(params, lots)
    return {"lq": make_lq_oracle, "water_filling": water_filling_oracle, "blended": blended_oracle}[solver](params)


def solve_together(markets) -> dict[int, Oracle | ValueError]:
    """The oracles of those of ``markets`` (OptimalExecParams) that one solver builds together, by index: the
    LQ ones (:func:`oracle_solver` is "lq"), in one recursion vectorised over markets
    (:func:`~execgym.problems.optimal_exec.lq_oracle.make_lq_oracles`), each equal to :func:`make_oracle`'s to
    the bit, or the ValueError saying why the oracle refuses that market. The other markets are left out:
    build them one by one with :func:`make_oracle`."""
    indices = []
    for index, params in enumerate(markets):
        try:
            if oracle_solver(params) == "lq":
                indices.append(index)
        except ValueError:
            pass
    return dict(zip(indices, lq_oracles([markets[index] for index in indices])))
