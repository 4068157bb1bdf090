"""Exact cost of a deterministic schedule in the discrete Almgren–Chriss model.

A schedule is its holdings h = (x_0 = X, x_1, ..., x_N = 0), shares; the
trades are n_k = x_{k−1} − x_k. With s = +1 for a sell and −1 for a buy, the
expected price deviation m_k = E[S_k] − μ̄ follows m_0 = S0 − μ̄,
m_k = m_{k−1} + E[ΔS_k] with E[ΔS_k] = (φ − 1)·m_{k−1} + μτ − s·γ·n_k, and::

    E[IS]   = ε·Σ|n_k| + (η/τ)·Σ n_k² − s·Σ_k E[ΔS_k]·x_k
    Var[IS] = σ_τ²·Σ_j (x_j + (φ − 1)·Σ_{k>j} φ^{k−1−j}·x_k)²
    U       = E[IS] + λ·σ_τ²·Σ_{k=1..N} x_k²          (the objective the env's rewards sum to)

For the random walk (θ = 0: φ = 1, σ_τ² = σ²τ) these are Almgren & Chriss's
E[IS] = ½γX² + ε·Σ|n_k| + (η̃/τ)·Σ n_k² − s·μτ·Σ x_k and Var[IS] = σ²τ·Σ x_k²,
and U = E[IS] + λ·Var[IS]. Under mean reversion the risk term of U is the sum
of each period's conditional variance, not Var[IS]. A schedule's expected
return in the env is −U·10⁴/(X·S0) (see the env's docstring).
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
    s, phi = params.side_sign, params.reversion_factor
    deviation = np.full(holdings.shape[:-1], params.arrival_price - params.long_run_price)
    price_term = np.zeros(holdings.shape[:-1])
    for k in range(params.periods):
        move = (phi - 1.0) * deviation + params.drift * params.tau - s * params.permanent_impact * trades[..., k]
        price_term += move * holdings[..., k + 1]
        deviation = deviation + move
    return (params.half_spread * np.abs(trades).sum(axis=-1)
            + params.temporary_impact / params.tau * (trades**2).sum(axis=-1) - s * price_term)


def variance(params: OptimalExecParams, holdings: np.ndarray) -> np.ndarray:
    """Var[IS] of the schedule(s), currency²."""
    holdings = check_holdings(params, holdings)
    phi = params.reversion_factor
    later = np.zeros(holdings.shape[:-1])           # Σ_{k>j} φ^{k−1−j}·x_k, from j = N down
    total = np.zeros(holdings.shape[:-1])
    for j in range(params.periods, 0, -1):
        total += (holdings[..., j] + (phi - 1.0) * later) ** 2
        later = holdings[..., j] + phi * later
    return params.shock_scale**2 * total


def risk_penalty(params: OptimalExecParams, holdings: np.ndarray) -> np.ndarray:
    """λ·σ_τ²·Σ_{k=1..N} x_k², currency: the risk term of the objective."""
    holdings = check_holdings(params, holdings)
    return params.risk_aversion * params.shock_scale**2 * (holdings[..., 1:] ** 2).sum(axis=-1)


def objective(params: OptimalExecParams, holdings: np.ndarray) -> np.ndarray:
    """U = E[IS] + λ·σ_τ²·Σx_k², currency (= E[IS] + λ·Var[IS] for the random walk)."""
    return expected_shortfall(params, holdings) + risk_penalty(params, holdings)


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
