"""The oracle of every OptimalExec variant: which shared solver is exact for which model.

| model (params) | oracle | solver | cost |
|---|---|---|---|
| Almgren–Chriss; time-varying impact, smoothness, soft target, drift (no caps, α = 1) | optimal affine feedback | LQ Riccati (:mod:`.lq_oracle`) | O(N) |
| mean-reverting price θ > 0, or ``two_way`` (α = 1, no caps) | adaptive feedback in (x, d[, n⁻]) | LQ Riccati, clipping probability computed exactly | O(N) |
| caps, λ = 0, order completes, c = 0 | water-filling | :func:`~execgym.solvers.allocation.water_fill` | O(N log N) |
| λ = 0 with a soft target (caps, smoothness allowed) | blended quadratic, box 0 ≤ n ≤ u | :func:`~execgym.solvers.allocation.blended_schedule` | O(N) per active-set step |
| nonlinear impact (α ≠ 1 or ``impact_table``), or caps with λ > 0 (order completes, c = 0) | optimal schedule on a lot grid | :func:`~execgym.solvers.schedule_dp.solve_schedule` | O(N·L²), O(N·L) if convex |

Combinations outside the table (caps with smoothness and risk aversion, nonlinear
impact under mean reversion, ...) have no exact oracle here, and
:func:`make_oracle` says so rather than return an approximation.
"""

from __future__ import annotations

from execgym.policy import Oracle
from execgym.problems.optimal_exec.lq_oracle import make_lq_oracle
from execgym.problems.optimal_exec.params import OptimalExecParams
from execgym.problems.optimal_exec.schedule_oracle import (ORACLE_LOTS, blended_oracle, lot_grid_oracle,
                                                           water_filling_oracle)

SOLVERS = ("lq", "water_filling", "blended", "lot_grid")


def oracle_solver(params: OptimalExecParams) -> str:
    """The name (one of :data:`SOLVERS`) of the solver that is exact for ``params`` (table above);
    ValueError, naming the combination, when none is."""
    linear = params.linear_impact
    caps = params.trade_caps is not None
    risk_neutral = params.risk_aversion == 0.0
    smooth = params.smoothness > 0.0
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


def make_oracle(params: OptimalExecParams, lots: int = ORACLE_LOTS) -> Oracle:
    """The optimal policy of ``params`` and its exact value, from the solver :func:`oracle_solver` picks;
    ``lots`` sets the grid of the lot-grid oracle."""
    solver = oracle_solver(params)
    if solver == "lot_grid":
        return lot_grid_oracle(params, lots)
    return {"lq": make_lq_oracle, "water_filling": water_filling_oracle, "blended": blended_oracle}[solver](params)
