"""Exact cost of a deterministic schedule in the discrete Almgren–Chriss model.

A schedule is its holdings h = (x_0 = X, x_1, ..., x_N = 0), shares; the
trades are n_k = x_{k−1} − x_k. With s = +1 for a sell and −1 for a buy::

    E[IS]   = ½γX² + ε·Σ|n_k| + (η̃/τ)·Σ n_k² − s·μτ·Σ_{k=1..N} x_k
    Var[IS] = σ²τ·Σ_{k=1..N} x_k²
    U       = E[IS] + λ·Var[IS]          (the mean–variance objective)

Its expected return in the env is −U·10⁴/(X·S0) (see the env's docstring).
"""

from __future__ import annotations

import numpy as np

from execgym.problems.optimal_exec.params import OptimalExecParams


def check_holdings(params: OptimalExecParams, holdings: np.ndarray) -> np.ndarray:
    """``holdings`` as floats, checked to run from X to 0 over N periods."""
    holdings = np.asarray(holdings, dtype=np.float64)
    if holdings.shape[-1] != params.periods + 1:
        raise ValueError(f"holdings must have N + 1 = {params.periods + 1} entries, got {holdings.shape[-1]}")
    if not (np.allclose(holdings[..., 0], params.shares) and np.allclose(holdings[..., -1], 0.0)):
        raise ValueError("holdings must start at shares (X) and end at 0")
    return holdings


def expected_shortfall(params: OptimalExecParams, holdings: np.ndarray) -> np.ndarray:
    """E[IS] of the schedule(s), currency; ``holdings`` (..., N + 1)."""
    holdings = check_holdings(params, holdings)
    trades = -np.diff(holdings, axis=-1)
    return (0.5 * params.permanent_impact * params.shares**2
            + params.half_spread * np.abs(trades).sum(axis=-1)
            + params.eta_tilde / params.tau * (trades**2).sum(axis=-1)
            - params.side_sign * params.drift * params.tau * holdings[..., 1:].sum(axis=-1))


def variance(params: OptimalExecParams, holdings: np.ndarray) -> np.ndarray:
    """Var[IS] of the schedule(s), currency²."""
    holdings = check_holdings(params, holdings)
    return params.volatility**2 * params.tau * (holdings[..., 1:] ** 2).sum(axis=-1)


def objective(params: OptimalExecParams, holdings: np.ndarray) -> np.ndarray:
    """U = E[IS] + λ·Var[IS], currency."""
    return expected_shortfall(params, holdings) + params.risk_aversion * variance(params, holdings)


def expected_return(params: OptimalExecParams, holdings: np.ndarray) -> np.ndarray:
    """E[Σ reward] of the schedule(s) in the env: −U in bps of arrival notional."""
    return -objective(params, holdings) * params.bps_per_currency


def holdings_from_trades(params: OptimalExecParams, weights: np.ndarray) -> np.ndarray:
    """Holdings of the schedule trading X in proportion to ``weights`` (N non-negative numbers)."""
    weights = np.asarray(weights, dtype=np.float64)
    if weights.shape != (params.periods,) or (weights < 0).any() or weights.sum() <= 0:
        raise ValueError(f"weights must be {params.periods} non-negative numbers with a positive sum")
    done = np.concatenate([[0.0], np.cumsum(weights) / weights.sum()])
    holdings = params.shares * (1.0 - done)
    holdings[-1] = 0.0
    return holdings
