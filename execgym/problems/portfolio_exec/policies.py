"""Baselines of PortfolioExec-v0: deterministic portfolio schedules followed through the action space.

| baseline | schedule | what it ignores |
|---|---|---|
| :func:`twap` | every asset in N equal trades | impact and risk |
| :func:`independent` | each asset on its own single-asset Almgren–Chriss optimum: the optimum of the book with Σ, H and Γ cut to their diagonals | correlations and cross-impact |

``independent`` is the desk that runs one single-stock algorithm per name;
seed 004's claim that the optimum "is no longer a set of independent
schedules" is its regret. Each baseline's exact E[Σ reward] is
:func:`~.schedule.expected_return` of its holdings (``expected_return``).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from execgym.problems.portfolio_exec import dynamics, schedule
from execgym.problems.portfolio_exec.oracle import make_oracle
from execgym.problems.portfolio_exec.params import PortfolioExecParams


class HoldingsPolicy:
    """Follows planned holdings x_0 = X, ..., x_N = 0 (N+1, m): in period k it trades the fraction
    (x_{k−1} − x_k)/x_{k−1} of each remaining position (0 where x_{k−1} = 0).

    The plan must move every position monotonically to zero (:func:`~.schedule.first_move_away_from_zero`,
    within its rounding slack, which the fractions are clipped to); ``expected_return`` is its exact
    E[Σ reward] in bps.
    """

    def __init__(self, params: PortfolioExecParams, holdings: np.ndarray, name: str) -> None:
        holdings = schedule.check_holdings(params, holdings)
        broken = schedule.first_move_away_from_zero(params, holdings)
        if broken is not None:
            raise ValueError(f"holdings must move every position monotonically to zero; asset {broken[1]} moves "
                             f"away from zero in period {broken[0]}")
        before, after = holdings[:-1], holdings[1:]
        fractions = np.divide(before - after, before, out=np.zeros_like(before), where=before != 0)
        self.params = params
        self.name = name
        self.schedule = holdings
        self.actions = (2.0 * np.clip(fractions, 0.0, 1.0) - 1.0).astype(np.float32)
        self.expected_return = float(schedule.expected_return(params, holdings))

    def __call__(self, observations: np.ndarray) -> np.ndarray:
        elapsed, _ = dynamics.decode(self.params, observations)
        return self.actions[elapsed]

    def __repr__(self) -> str:
        return f"HoldingsPolicy({self.name!r})"


def twap(params: PortfolioExecParams) -> HoldingsPolicy:
    """Every asset sold (or bought back) in N equal trades: x_k = X·(N − k)/N."""
    remaining = (params.periods - np.arange(params.periods + 1)) / params.periods
    return HoldingsPolicy(params, remaining[:, None] * params.shares, "twap")


def without_cross_terms(params: PortfolioExecParams) -> PortfolioExecParams:
    """The same book with the covariance and both impact matrices cut to their diagonals."""
    diagonal = {name: np.diag(np.diag(getattr(params, name))).tolist()
                for name in ("covariance", "temporary_impact", "permanent_impact")}
    return dataclasses.replace(params, **diagonal)


def independent(params: PortfolioExecParams) -> HoldingsPolicy:
    """Each asset on the single-asset Almgren–Chriss optimum of its own variance and impact, blind to the
    correlations and cross-impact (the optimum of :func:`without_cross_terms`), run on the real book."""
    return HoldingsPolicy(params, make_oracle(without_cross_terms(params)).schedule, "independent")


def baselines(params: PortfolioExecParams) -> dict[str, HoldingsPolicy]:
    """Every baseline by name: twap and independent."""
    return {policy.name: policy for policy in (twap(params), independent(params))}
