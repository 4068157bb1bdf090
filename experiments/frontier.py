"""The Almgren–Chriss efficient frontier and the exact (E, Var) of any deterministic schedule.

Expected shortfalls are in currency, variances in currency²; multiply by
``params.bps_per_currency`` (and take the square root of variances first) for
bps of arrival notional.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from execgym.problems.optimal_exec import closed_form, schedule
from execgym.problems.optimal_exec.params import OptimalExecParams


@dataclass(frozen=True)
class Frontier:
    """The optimal schedules' E[IS] (currency) and Var[IS] (currency²) for each risk aversion λ (per currency)."""

    risk_aversion: np.ndarray
    expected_shortfall: np.ndarray
    variance: np.ndarray


@dataclass(frozen=True)
class SchedulePoint:
    """One deterministic schedule's exact E[IS] (currency) and Var[IS] (currency²)."""

    expected_shortfall: float
    variance: float

    def objective(self, risk_aversion: float) -> float:
        """E[IS] + λ·Var[IS], currency."""
        return self.expected_shortfall + risk_aversion * self.variance


def risk_aversion_grid(params: OptimalExecParams, count: int = 40, low: float = 2e-3,
                       high: float = 20.0) -> np.ndarray:
    """λ = 0, the params' λ, and ``count`` values spaced geometrically from ``low``·λ to ``high``·λ, sorted."""
    spread = params.risk_aversion * np.geomspace(low, high, count)
    return np.unique(np.concatenate([[0.0, params.risk_aversion], spread]))


def efficient_frontier(params: OptimalExecParams, risk_aversions: np.ndarray) -> Frontier:
    """The closed-form optimum's E[IS] and Var[IS] at each λ of ``risk_aversions`` (needs drift = 0)."""
    risk_aversions = np.asarray(risk_aversions, dtype=np.float64)
    variants = [replace(params, risk_aversion=float(lam)) for lam in risk_aversions]
    return Frontier(risk_aversion=risk_aversions,
                    expected_shortfall=np.array([closed_form.expected_shortfall(p) for p in variants]),
                    variance=np.array([closed_form.variance(p) for p in variants]))


def schedule_point(params: OptimalExecParams, holdings: np.ndarray) -> SchedulePoint:
    """The exact E[IS] and Var[IS] of the schedule with these holdings x_0..x_N (shares)."""
    return SchedulePoint(expected_shortfall=float(schedule.expected_shortfall(params, holdings)),
                         variance=float(schedule.variance(params, holdings)))
