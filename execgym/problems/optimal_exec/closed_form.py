"""The Almgren–Chriss closed form (2000, section 3), kept as an independent check of the LQ oracle.

Without drift, the mean–variance optimal holdings are::

    x_k = X · sinh(κ(T − t_k)) / sinh(κT),     t_k = kτ,
    cosh(κτ) = 1 + λσ²τ² / (2η̃),             η̃ = η − γτ/2,

with expected shortfall and variance::

    E = ½γX² + εX + η̃X² · tanh(κτ/2)·(τ·sinh(2κT) + 2T·sinh(κτ)) / (2τ²·sinh²(κT))
    V = ½σ²X² · (τ·sinh(κT)·cosh(κ(T − τ)) − T·sinh(κτ)) / (sinh²(κT)·sinh(κτ))
      = ¼σ²τX² · (sinh((2N − 1)κτ) − (2N − 1)·sinh(κτ)) / (sinh(κτ)·sinh²(κT))

λ = 0 gives κ = 0 and the straight line (TWAP): x_k = X(1 − k/N),
E = ½γX² + εX + η̃X²/T, V = σ²τX²·(N − 1)(2N − 1)/(6N).

Numerics. cosh(κτ) = 1 + x is solved as κτ = 2·asinh(√(x/2)), and the
variance is written in its second form, whose difference sinh(mκτ) −
m·sinh(κτ) (m = 2N − 1) is summed as its Taylor series where it cancels
(mκτ <= 1): both keep full relative accuracy as λ → 0, where acosh(1 + x)
and the first form lose digits like 1e-16/x and 1e-16/(κT)² (κ off by 1e-4
at λ = 1e-17 on a 250-day horizon). Ratios of hyperbolic functions of κT are
written with decaying exponentials, so nothing overflows for large κT.
"""

from __future__ import annotations

import math

import numpy as np

from execgym.problems.optimal_exec.params import OptimalExecParams


def _check(params: OptimalExecParams) -> None:
    if params.drift != 0.0:
        raise ValueError(f"the closed form assumes drift = 0, got drift={params.drift}")


def kappa(params: OptimalExecParams) -> float:
    """κ, per day: the urgency of the optimal trajectory (its half-life is ln 2/κ).

    κ = acosh(1 + x)/τ with x = λσ²τ²/(2η̃), computed as (2/τ)·asinh(√(x/2)) (the same number: cosh 2y =
    1 + 2 sinh² y), which keeps full relative accuracy for small λ where 1 + x rounds away x's digits.
    """
    tau = params.tau
    x = params.risk_aversion * params.volatility**2 * tau**2 / (2.0 * params.eta_tilde)
    return 2.0 * math.asinh(math.sqrt(0.5 * x)) / tau


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
    # τ·sinh(2κT)/sinh²(κT) = 2τ/tanh(κT), and 1/sinh²(κT) with decaying exponentials: nothing overflows
    bracket = 2 * tau / math.tanh(k * T) + 2 * T * math.sinh(k * tau) * _inverse_sinh_squared(k * T)
    shape = math.tanh(0.5 * k * tau) * bracket / (2 * tau**2)
    return base + params.eta_tilde * X**2 * shape


def _inverse_sinh_squared(y: float) -> float:
    """1/sinh²(y) = 4·e^{−2y}/expm1(−2y)² for y > 0 (no overflow for large y)."""
    return 4.0 * math.exp(-2.0 * y) / math.expm1(-2.0 * y) ** 2


def variance(params: OptimalExecParams) -> float:
    """Var[IS] of the optimal trajectory, currency²."""
    _check(params)
    X, tau, k, N = params.shares, params.tau, kappa(params), params.periods
    if k == 0.0:
        return params.volatility**2 * tau * X**2 * (N - 1) * (2 * N - 1) / (6 * N)
    a = k * tau
    return 0.25 * params.volatility**2 * tau * X**2 * _variance_shape(N, a) / math.sinh(a)


def _variance_shape(N: int, a: float) -> float:
    """(sinh(m·a) − m·sinh(a))/sinh²(N·a), m = 2N − 1, a > 0, to full relative accuracy: 0 for N = 1; while
    m·a <= 1, where the difference cancels, by the Taylor series of the difference; beyond (m >= 3, so
    m·sinh(a) <= 0.87·sinh(m·a)), in decaying exponentials (sinh(m·a)/sinh²(N·a) =
    2·e^{−a}·(−expm1(−2m·a))/expm1(−2N·a)²)."""
    m = 2 * N - 1
    if m == 1:
        return 0.0
    if m * a > 1.0:
        return (2.0 * math.exp(-a) * -math.expm1(-2.0 * m * a) / math.expm1(-2.0 * N * a) ** 2
                - m * math.sinh(a) * _inverse_sinh_squared(N * a))
    return _sinh_excess_series(m, a) * _inverse_sinh_squared(N * a)


def _sinh_excess_series(m: int, a: float) -> float:
    """sinh(m·a) − m·sinh(a) = Σ_{odd n >= 3} ((m·a)^n − m·a^n)/n! (positive terms, falling at least 6-fold
    each for m·a <= 1), summed until a term adds less than 1e-17."""
    total, n, power, single = 0.0, 1, m * a, a          # (m·a)^n/n!, a^n/n! at n = 1
    while True:
        n += 2
        power *= (m * a) ** 2 / ((n - 1) * n)
        single *= a * a / ((n - 1) * n)
        term = power - m * single
        total += term
        if term <= 1e-17 * total:
            return total
