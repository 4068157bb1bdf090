"""Exact cost of a deterministic portfolio schedule.

Holdings h = (x_0 = X, x_1, ..., x_N = 0), (N+1, m) signed shares; trades
n_k = x_{k−1} − x_k. From :mod:`.dynamics`, with E[ΔS_k] = −Γ·n_k::

    E[IS]   = Σ_k (n_kᵀ H n_k/τ + ε·|n_k| + n_kᵀΓᵀx_k) + Σ_i κ_i·Σ_k (n_ki²/2 + Σ_{j<k} ψ_i^{k−j}·n_ji·n_ki)
    Var[IS] = τ·Σ_k x_kᵀ Σ x_k
    U       = E[IS] + λ·Var[IS]          (the env's expected return is −U·10⁴/notional)
"""

from __future__ import annotations

import numpy as np

from execgym.problems.optimal_exec.schedule import transient_cost_of
from execgym.problems.portfolio_exec.params import PortfolioExecParams


def check_holdings(params: PortfolioExecParams, holdings: np.ndarray) -> np.ndarray:
    """``holdings`` (..., N+1, m) as floats, checked to run from X to 0."""
    holdings = np.asarray(holdings, dtype=np.float64)
    if holdings.shape[-2:] != (params.periods + 1, params.assets):
        raise ValueError(f"holdings must have shape (N + 1, m) = ({params.periods + 1}, {params.assets}), "
                         f"got {holdings.shape}")
    scale = np.abs(params.shares).max()
    if not (np.allclose(holdings[..., 0, :], params.shares) and np.allclose(holdings[..., -1, :], 0.0,
                                                                            atol=1e-9 * scale)):
        raise ValueError("holdings must start at X and end at 0")
    return holdings


MONOTONE_TOLERANCE = 1e-9
"""Relative slack (of the largest position) in :func:`first_move_away_from_zero`."""


def first_move_away_from_zero(params: PortfolioExecParams, holdings: np.ndarray) -> tuple[int, int] | None:
    """(period k in 1..N, asset i) of the first trade that takes a position away from zero (grows it, crosses
    zero, or opens an asset not held), or None when every position moves monotonically to zero: the only
    schedules the env's action space (a fraction of each remaining position) can follow."""
    toward_zero = holdings * np.sign(params.shares)          # each position as a nonnegative amount
    slack = MONOTONE_TOLERANCE * np.abs(params.shares).max()
    unheld = params.shares == 0                              # sign 0: any trade in them is away from zero
    broken = ((np.diff(toward_zero, axis=0) > slack) | (toward_zero[1:] < -slack)
              | (unheld & (np.abs(holdings[1:]) > slack)))
    if not broken.any():
        return None
    period, asset = np.argwhere(broken)[0]
    return int(period) + 1, int(asset)


def expected_shortfall(params: PortfolioExecParams, holdings: np.ndarray) -> np.ndarray:
    """E[IS], currency."""
    holdings = check_holdings(params, holdings)
    trades = -np.diff(holdings, axis=-2)
    temporary = np.einsum("...ki,ij,...kj->...", trades, params.eta, trades) / params.tau
    permanent = np.einsum("...ki,ji,...kj->...", trades, params.gamma, holdings[..., 1:, :])
    transient = transient_cost_of(np.swapaxes(trades, -1, -2), params.kappa, params.transient_decays).sum(axis=-1)
    return temporary + (np.abs(trades) @ params.spreads).sum(axis=-1) + permanent + transient


def variance(params: PortfolioExecParams, holdings: np.ndarray) -> np.ndarray:
    """Var[IS], currency²."""
    holdings = check_holdings(params, holdings)
    return params.tau * np.einsum("...ki,ij,...kj->...", holdings[..., 1:, :], params.sigma, holdings[..., 1:, :])


def expected_return(params: PortfolioExecParams, holdings: np.ndarray) -> np.ndarray:
    """E[Σ reward] of the schedule(s): −(E[IS] + λ·Var[IS]) in bps of notional."""
    objective = expected_shortfall(params, holdings) + params.risk_aversion * variance(params, holdings)
    return -objective * params.bps_per_currency
