"""The best market-blind schedule of a set of OptimalExec markets: one schedule of fractions of the order for
every market, the one that minimises the mean regret % over the set.

For the Almgren–Chriss market (random walk, constant linear impact, no caps, smoothness or soft target) a
schedule of holdings x_k = X·f_k (f_0 = 1, f_N = 0, non-increasing) has the objective (:mod:`.schedule`)

    U(f) = εX + ½γX² + X²·[(η̃/τ)·Σ_{k=1..N} (f_{k−1} − f_k)² + λσ_τ²·Σ_{k=1..N−1} f_k²] − s·μτ·X·Σ_k f_k

and expected return −U·10⁴/(X·S₀) bps. Market m's regret % is 100·(U_m(f) − U_m*)/|U_m*| with U_m* its
optimum, so the mean regret % over M markets is, up to a constant, Σ_m w_m·U_m(f) with w_m = 100/(M·|U_m*|):
the quadratic Ā·Σ(Δf)² + B̄·Σf² − D̄·Σf with Ā = Σ_m w_m·X_m²·η̃_m/τ_m, B̄ = Σ_m w_m·X_m²·λ_mσ_{τ,m}², D̄ =
Σ_m w_m·s_m·μ_mτ_m·X_m. Its minimiser solves the tridiagonal system

    Ā·(2f_k − f_{k−1} − f_{k+1}) + B̄·f_k = D̄/2,    k = 1..N−1

(the schedule of Almgren–Chriss's discrete solution with the set's averaged urgency when D̄ = 0). It is
non-increasing in every case this module accepts (D̄ = 0), where the spread term εX is the same for every
schedule, so it is the exact optimum over all static schedules of fractions.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import solve_banded

from execgym.policy import Oracle
from execgym.problems.optimal_exec import schedule
from execgym.problems.optimal_exec.params import OptimalExecParams
from execgym.problems.optimal_exec.schedule_policy import SchedulePolicy


def check_blind_markets(markets: list[OptimalExecParams]) -> None:
    """ValueError unless every market is the Almgren–Chriss random walk without drift, caps, smoothness or
    soft target, with linear constant impact, and all share N (the model this module solves)."""
    for index, params in enumerate(markets):
        if params.features or params.drift != 0.0:
            raise ValueError(f"markets[{index}] has {params.variant}"
                             f"{' and a drift' if params.drift else ''}: the best market-blind schedule is exact "
                             "for the Almgren–Chriss random walk without drift only")
        if params.periods != markets[0].periods:
            raise ValueError(f"markets[{index}] has {params.periods} periods, markets[0] {markets[0].periods}: "
                             "a market-blind schedule needs one N")


def blind_fractions(markets: list[OptimalExecParams], optima: np.ndarray) -> np.ndarray:
    """f_0..f_N: the best market-blind schedule of ``markets`` whose optimal expected returns (bps) are
    ``optima`` (module docstring)."""
    check_blind_markets(markets)
    costs = np.abs(np.asarray(optima, dtype=np.float64))       # |U*| in bps; w_m ∝ 1/|U*_m|
    if not (np.isfinite(costs).all() and (costs > 0).all()):
        raise ValueError("every market's optimal expected return must be finite and non-zero")
    # the quadratic coefficients in bps of each market's notional: X²·c·10⁴/(X·S0) = c·X·10⁴/S0
    scale = np.array([params.bps_per_currency * params.shares**2 for params in markets]) / costs
    curvature = float(np.sum(scale * [params.eta_tilde / params.tau for params in markets]))
    risk = float(np.sum(scale * [params.period_risk for params in markets]))
    inner = markets[0].periods - 1
    if inner == 0:
        return np.array([1.0, 0.0])
    bands = np.zeros((3, inner))
    bands[0, 1:] = bands[2, :-1] = -curvature
    bands[1] = 2.0 * curvature + risk
    right = np.zeros(inner)
    right[0] = curvature                                        # the known f_0 = 1
    return np.concatenate([[1.0], solve_banded((1, 1), bands, right), [0.0]])


def blind_policy(markets: list[OptimalExecParams], oracles: list[Oracle]) -> SchedulePolicy:
    """The best market-blind schedule of ``markets`` as a policy (it trades the same fractions of what remains
    in every market: its actions depend on the observation's time and inventory only)."""
    fractions = blind_fractions(markets, np.array([oracle.expected_return for oracle in oracles]))
    first = markets[0]
    return SchedulePolicy(first, first.shares * fractions, "blind")


def schedule_regret_pct(markets: list[OptimalExecParams], optima: np.ndarray, fractions: np.ndarray) -> np.ndarray:
    """The exact regret % of the schedule of ``fractions`` (f_0..f_N) in each market, against the markets'
    optimal expected returns ``optima`` (bps)."""
    values = np.array([float(schedule.expected_return(params, params.shares * fractions)) for params in markets])
    optima = np.asarray(optima, dtype=np.float64)
    return 100.0 * (optima - values) / np.abs(optima)
