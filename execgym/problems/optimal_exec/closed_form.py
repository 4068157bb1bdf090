"""The Almgren–Chriss closed form (2000, section 3), kept as an independent check of the LQ oracle.

Without drift, the mean–variance optimal holdings are::

    x_k = X · sinh(κ(T − t_k)) / sinh(κT),     t_k = kτ,
    cosh(κτ) = 1 + λσ²τ² / (2η̃),             η̃ = η − γτ/2,

with expected shortfall and variance::

    E = ½γX² + εX + η̃X² · tanh(κτ/2)·(τ·sinh(2κT) + 2T·sinh(κτ)) / (2τ²·sinh²(κT))
    V = ½σ²X² · (τ·sinh(κT)·cosh(κ(T − τ)) − T·sinh(κτ)) / (sinh²(κT)·sinh(κτ))

λ = 0 gives κ = 0 and the straight line (TWAP): x_k = X(1 − k/N),
E = ½γX² + εX + η̃X²/T, V = σ²τX²·(N − 1)(2N − 1)/(6N).
"""

from __future__ import annotations

import math

import numpy as np

from execgym.problems.optimal_exec.params import OptimalExecParams


def _check(params: OptimalExecParams) -> None:
    if params.drift != 0.0:
        raise ValueError(f"the closed form assumes drift = 0, got drift={params.drift}")


def kappa(params: OptimalExecParams) -> float:
    """κ, per day: the urgency of the optimal trajectory (its half-life is ln 2/κ)."""
    tau = params.tau
    return math.acosh(1.0 + params.risk_aversion * params.volatility**2 * tau**2 / (2.0 * params.eta_tilde)) / tau


def holdings(params: OptimalExecParams) -> np.ndarray:
    """Optimal holdings x_0..x_N, shares."""
    _check(params)
    t = np.arange(params.periods + 1) * params.tau
    T, k = params.horizon, kappa(params)
    if k == 0.0:
        return params.shares * (1.0 - t / T)
    # sinh(k(T−t))/sinh(kT) written with decaying exponentials, which cannot overflow
    ratio = np.exp(-k * t) * -np.expm1(-2.0 * k * (T - t)) / -math.expm1(-2.0 * k * T)
    return params.shares * ratio


def expected_shortfall(params: OptimalExecParams) -> float:
    """E[IS] of the optimal trajectory, currency."""
    _check(params)
    X, T, tau, k = params.shares, params.horizon, params.tau, kappa(params)
    base = 0.5 * params.permanent_impact * X**2 + params.half_spread * X
    if k == 0.0:
        return base + params.eta_tilde * X**2 / T
    shape = (math.tanh(0.5 * k * tau) * (tau * math.sinh(2 * k * T) + 2 * T * math.sinh(k * tau))
             / (2 * tau**2 * math.sinh(k * T) ** 2))
    return base + params.eta_tilde * X**2 * shape


def variance(params: OptimalExecParams) -> float:
    """Var[IS] of the optimal trajectory, currency²."""
    _check(params)
    X, T, tau, k, N = params.shares, params.horizon, params.tau, kappa(params), params.periods
    if k == 0.0:
        return params.volatility**2 * tau * X**2 * (N - 1) * (2 * N - 1) / (6 * N)
    shape = ((tau * math.sinh(k * T) * math.cosh(k * (T - tau)) - T * math.sinh(k * tau))
             / (math.sinh(k * T) ** 2 * math.sinh(k * tau)))
    return 0.5 * params.volatility**2 * X**2 * shape
