"""Deterministic execution schedules: equal-marginal-cost allocation with caps, and the blended quadratic schedule.

A schedule is x = (x_1 .. x_N), the shares traded in each of N periods.

Water-filling (separable convex allocation with caps)::

    minimise  Σ_t (l_t x_t + ½ a_t x_t²)   subject to  Σ_t x_t = X,  0 ≤ x_t ≤ u_t    (a_t > 0, u_t ≤ +∞)

The KKT conditions give x_t = clip((ν − l_t) / a_t, 0, u_t) for one marginal cost ν: every
period strictly inside its box trades at l_t + a_t x_t = ν, every capped period has
l_t + a_t u_t ≤ ν and every idle one l_t ≥ ν (with l = 0, x_t = min(ν / a_t, u_t)). The traded
total S(ν) is piecewise linear and nondecreasing with breakpoints l_t and l_t + a_t u_t;
a binary search over them locates the segment on which S(ν) = X, and ν is that segment's
linear root. Cost: O(N log N) time, O(N) memory. Feasible if and only if Σ_t u_t ≥ X.

Constant-rate closed forms: selling Q over [0, T] at cost ∫ α v(t)² dt is cheapest at
v = Q / T, which costs α Q² / T; a budget B therefore allows at most Q = √(B T / α) in T,
and Q needs at least T = α Q² / B.

Blended quadratic schedule::

    C(x) = Σ_t (a_t x_t + ½ b_t x_t²) + c Σ_{t<N} (x_{t+1} − x_t)² + ρ (Σ_t x_t − Q)²,
    optionally subject to  lo_t ≤ x_t ≤ hi_t,                       (b_t > 0, c ≥ 0, ρ ≥ 0)

∇C(x) = a + T x + 2ρ (1ᵀx − Q) 1 with T = diag(b) + 2c L, L the path-graph Laplacian, so
the Hessian H = T + 2ρ 11ᵀ is tridiagonal plus rank one and positive definite. Without
bounds the minimiser solves H x = −a + 2ρQ 1; with z = T⁻¹(−a) and w = T⁻¹1 (one banded
Cholesky factorisation, two right-hand sides) the Sherman–Morrison formula gives::

    x* = z + κ w,      κ = 2ρ (Q − 1ᵀz) / (1 + 2ρ 1ᵀw),

computed in the form that stays accurate when 2ρ 1ᵀw ≫ 1 (:meth:`_Blended.face_minimiser`).

Cost: O(N) time and memory; H is never formed. With bounds, each iteration fixes a set of
periods at their bounds and solves the same system on the others (a principal submatrix of
a tridiagonal matrix is tridiagonal), in O(N):

1. primal–dual active-set steps (block principal pivoting): every free period outside its
   box moves to the bound it crosses, every period at a bound whose multiplier has the
   wrong sign is freed, all at once; this stops when nothing moves, or after three steps
   without fewer moves;
2. a primal feasible active-set method started from the box projection of that point: at a
   face minimiser it frees the periods whose multipliers have the wrong sign, steps towards
   the new face minimiser as far as the box allows and fixes the periods that block. C
   strictly decreases from one face minimiser to the next, so no face repeats and the
   method terminates, at a face minimiser whose multipliers all have the right sign: a KKT
   point, which is the unique minimiser because C is strictly convex.

The returned ``kkt_residual`` certifies the result: the largest violation of stationarity
(free periods) or of the multiplier sign (periods at a bound), relative to the largest term
of the gradient, max(|a|, |b x|, 4c |x|, 2ρ (Σ|x| + |Q|)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.linalg import solveh_banded

from execgym.validation import require_real

RELEASE_TOLERANCE = 1e-11
"""A multiplier is of the wrong sign when it exceeds this fraction of the gradient's scale."""


def _vector(name: str, value, size: int | None = None) -> np.ndarray:
    """``value`` as a float64 vector, checked one-dimensional, non-empty and of length ``size`` if given."""
    array = np.asarray(value, dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty one-dimensional array, got shape {array.shape}")
    if size is not None and array.size != size:
        raise ValueError(f"{name} must have shape {(size,)}, got {array.shape}")
    return array


def _first_index(mask: np.ndarray) -> int:
    """The first index where ``mask`` is True."""
    return int(np.flatnonzero(mask)[0])


def _positive(name: str, value) -> np.ndarray:
    """A vector of finite, strictly positive entries; the first offending index is named."""
    array = _vector(name, value)
    bad = ~(np.isfinite(array) & (array > 0))
    if bad.any():
        i = _first_index(bad)
        raise ValueError(f"{name}[{i}] must be finite and > 0, got {float(array[i])!r}")
    return array


def _bound(name: str, value, size: int, default: float) -> np.ndarray:
    """A bound vector: ``default`` (±inf) when None, a scalar broadcast to every period, or (size,)."""
    if value is None:
        return np.full(size, default)
    array = np.asarray(value, dtype=np.float64)
    array = np.full(size, float(array)) if array.ndim == 0 else _vector(name, array, size)
    bad = np.isnan(array) | (array == -default)
    if bad.any():
        i = _first_index(bad)
        raise ValueError(f"{name}[{i}] must be a number or {default:+g}, got {float(array[i])!r}")
    return array


# ---------------------------------------------------------------- water-filling


@dataclass(frozen=True)
class Allocation:
    """Optimal equal-marginal-cost allocation of X over N periods."""

    trades: np.ndarray
    """(N,) shares traded per period; Σ trades = X."""
    marginal_cost: float
    """ν: the common marginal cost a_t x_t of every uncapped period (cost per share)."""
    cost: float
    """Σ_t ½ a_t x_t²."""
    capped: np.ndarray
    """(N,) bool: True where a period is held at its cap u_t (then l_t + a_t u_t ≤ ν)."""


def water_fill(a, X: float, caps=None, linear=None) -> Allocation:
    """Minimise Σ_t (l_t x_t + ½ a_t x_t²) subject to Σ_t x_t = X and 0 ≤ x_t ≤ caps_t, exactly, in O(N log N).

    ``a``: (N,) impact coefficients, each > 0. ``X``: shares to trade, ≥ 0. ``caps``: None
    (no limits), one cap for every period, or (N,) caps ≥ 0 that may be +inf. ``linear``: None
    (l = 0) or (N,) finite linear costs per share l_t (fees, or a drift's cost of waiting).

    Each period trades x_t(ν) = clip((ν − l_t)/a_t, 0, u_t) at the common marginal cost ν; the total
    S(ν) is piecewise linear and nondecreasing with breakpoints l_t and l_t + a_t u_t, so a binary
    search over the sorted breakpoints finds the segment where S(ν) = X and ν is its linear root.
    """
    a = _positive("a", a)
    X = require_real("X", X, low=0.0)
    n = a.size
    if caps is None:
        caps = np.full(n, math.inf)
    else:
        caps = np.asarray(caps, dtype=np.float64)
        caps = np.full(n, float(caps)) if caps.ndim == 0 else _vector("caps", caps, n)
        bad = ~(caps >= 0)
        if bad.any():
            i = _first_index(bad)
            raise ValueError(f"caps[{i}] must be >= 0 (or +inf), got {float(caps[i])!r}")
    linear = np.zeros(n) if linear is None else _vector("linear", linear, n)
    if not np.isfinite(linear).all():
        i = _first_index(~np.isfinite(linear))
        raise ValueError(f"linear[{i}] must be finite, got {float(linear[i])!r}")
    total_cap = float(caps.sum())
    if total_cap < X:
        raise ValueError(f"caps are infeasible: they sum to Σu = {total_cap!r} < X = {X!r}")

    def traded(nu: float) -> np.ndarray:
        return np.clip((nu - linear) / a, 0.0, caps)

    full = linear + a * caps
    breaks = np.unique(np.concatenate([linear, full[np.isfinite(full)]]))
    low, high = 0, breaks.size - 1                       # invariant: S(breaks[low]) <= X
    while low < high:
        middle = (low + high + 1) // 2
        if traded(breaks[middle]).sum() <= X:
            low = middle
        else:
            high = middle - 1
    nu = float(breaks[low])
    rising = (linear <= nu) & (full > nu)
    slope = float(np.sum(1.0 / a[rising]))
    if slope > 0:
        nu += (X - float(traded(nu).sum())) / slope
    trades = traded(nu)
    return Allocation(trades=trades, marginal_cost=nu, cost=float(np.sum(linear * trades + 0.5 * a * trades**2)),
                      capped=trades >= caps)


def minimum_cost(alpha: float, Q: float, T: float) -> float:
    """α Q² / T: the least ∫₀ᵀ α v(t)² dt over rates with ∫₀ᵀ v dt = Q, reached at v = Q / T.

    ``alpha`` > 0 (cost per (share/time)² per time), ``Q`` ≥ 0 shares, ``T`` > 0 time.
    """
    alpha = require_real("alpha", alpha, low=0.0, low_open=True)
    Q = require_real("Q", Q, low=0.0)
    T = require_real("T", T, low=0.0, low_open=True)
    return alpha * Q**2 / T


def max_quantity(budget: float, T: float, alpha: float) -> float:
    """√(B T / α): the most shares a cost budget B buys in time T (inverse of :func:`minimum_cost` in Q).

    ``budget`` ≥ 0, ``T`` > 0, ``alpha`` > 0.
    """
    budget = require_real("budget", budget, low=0.0)
    T = require_real("T", T, low=0.0, low_open=True)
    alpha = require_real("alpha", alpha, low=0.0, low_open=True)
    return math.sqrt(budget * T / alpha)


def min_horizon(alpha: float, Q: float, budget: float) -> float:
    """α Q² / B: the shortest time in which Q shares cost at most the budget B (inverse in T).

    ``alpha`` > 0, ``Q`` ≥ 0, ``budget`` > 0.
    """
    alpha = require_real("alpha", alpha, low=0.0, low_open=True)
    Q = require_real("Q", Q, low=0.0)
    budget = require_real("budget", budget, low=0.0, low_open=True)
    return alpha * Q**2 / budget


# ---------------------------------------------------------------- blended quadratic schedule


@dataclass(frozen=True)
class BlendedSolution:
    """Minimiser of the blended quadratic cost, with its certificate."""

    trades: np.ndarray
    """(N,) shares traded per period."""
    cost: float
    """C(trades)."""
    iterations: int
    """Banded + rank-one solves performed (1 without bounds)."""
    kkt_residual: float
    """Largest KKT violation relative to the gradient's scale (see the module docstring)."""


def _laplacian(x: np.ndarray) -> np.ndarray:
    """L x for the path-graph Laplacian: (L x)_t = Σ over neighbours s of (x_t − x_s)."""
    step = np.diff(x)
    out = np.zeros_like(x)
    out[:-1] -= step
    out[1:] += step
    return out


@dataclass(frozen=True)
class _Blended:
    """The validated coefficients of C(x)."""

    a: np.ndarray
    b: np.ndarray
    c: float
    rho: float
    Q: float

    @cached_property
    def diagonal(self) -> np.ndarray:
        """The diagonal of T = diag(b) + 2c L: b_t + 2c·(number of neighbours of t)."""
        degree = np.zeros(self.b.size)
        degree[:-1] += 1.0
        degree[1:] += 1.0
        return self.b + 2.0 * self.c * degree

    def cost(self, x: np.ndarray) -> float:
        """C(x)."""
        return float(np.sum(self.a * x + 0.5 * self.b * x**2) + self.c * np.sum(np.diff(x) ** 2)
                     + self.rho * (x.sum() - self.Q) ** 2)

    def gradient(self, x: np.ndarray) -> np.ndarray:
        """∇C(x) = a + T x + 2ρ (1ᵀx − Q) 1."""
        return self.a + self.b * x + 2.0 * self.c * _laplacian(x) + 2.0 * self.rho * (x.sum() - self.Q)

    def gradient_scale(self, x: np.ndarray) -> float:
        """The largest term of the gradient, max(|a|, |b x|, 4c |x|, 2ρ (Σ|x| + |Q|))."""
        scale = max(np.max(np.abs(self.a)), np.max(np.abs(self.b * x)), 4.0 * self.c * np.max(np.abs(x)),
                    2.0 * self.rho * (np.sum(np.abs(x)) + abs(self.Q)))
        return max(float(scale), np.finfo(np.float64).tiny)

    def face_minimiser(self, free: np.ndarray, x: np.ndarray) -> np.ndarray:
        """The minimiser of C over the periods in ``free`` with every other period held at its value in ``x``.

        Solves (T_FF + 2ρ 11ᵀ) x_F = −a_F − T_FA x_A + 2ρ R 1, R = Q − 1ᵀx_A, by one banded Cholesky
        factorisation and the Sherman–Morrison formula, in O(N), written as

            x_F = (z + 2ρ((1ᵀw) z − (1ᵀz) w + R w)) / (1 + 2ρ 1ᵀw)

        rather than z + κ w: when 2ρ 1ᵀw ≫ 1 (a target penalty far above the impact), z and κ w are large and
        nearly cancel, while here the large terms cancel exactly (one free period) or in a difference of
        products.
        """
        held = np.where(free, 0.0, x)
        index = np.flatnonzero(free)
        if index.size == 0:
            return held
        banded = np.zeros((2, index.size))
        banded[0, 1:] = np.where(np.diff(index) == 1, -2.0 * self.c, 0.0)
        banded[1] = self.diagonal[index]
        rhs = np.column_stack([-self.a[index] - 2.0 * self.c * _laplacian(held)[index], np.ones(index.size)])
        if index.size == 1:   # scipy's tridiagonal Cholesky rejects a 1×1 system
            z, w = (rhs / banded[1, 0]).T
        else:
            z, w = solveh_banded(banded, rhs, check_finite=False).T
        rho2, z_sum, w_sum = 2.0 * self.rho, z.sum(), w.sum()
        held[index] = (z + rho2 * ((w_sum * z - z_sum * w) + (self.Q - held.sum()) * w)) / (1.0 + rho2 * w_sum)
        return held

    def kkt_residual(self, x: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
        """Largest KKT violation at a feasible x, relative to :meth:`gradient_scale`."""
        g = self.gradient(x)
        violation = np.abs(g)
        violation = np.where(x <= lower, np.minimum(violation, np.maximum(-g, 0.0)), violation)
        violation = np.where(x >= upper, np.minimum(violation, np.maximum(g, 0.0)), violation)
        return float(violation.max() / self.gradient_scale(x))


def _pivoting(problem: _Blended, lower: np.ndarray, upper: np.ndarray) -> tuple[np.ndarray, int]:
    """Primal–dual active-set steps (phase 1 of the module docstring); returns the last iterate and its solves."""
    fixed = lower == upper
    at_lower, at_upper = fixed.copy(), np.zeros_like(fixed)
    best, patience, solves = math.inf, 3, 0
    while True:
        free = ~(at_lower | at_upper)
        x = problem.face_minimiser(free, np.where(at_lower, lower, upper))
        solves += 1
        g = problem.gradient(x)
        below, above = free & (x < lower), free & (x > upper)
        release = ~fixed & ((at_lower & (g < 0)) | (at_upper & (g > 0)))
        moves = int(below.sum() + above.sum() + release.sum())
        if moves == 0:
            return x, solves
        if moves < best:
            best, patience = moves, 3
        else:
            patience -= 1
            if patience == 0:
                return x, solves
        at_lower = (at_lower | below) & ~release
        at_upper = (at_upper | above) & ~release


def _primal_active_set(problem: _Blended, x: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                       max_solves: int) -> tuple[np.ndarray, int]:
    """Primal feasible active-set method (phase 2 of the module docstring) from the box projection of ``x``."""
    x = np.clip(x, lower, upper)
    fixed = lower == upper
    at_lower, at_upper = x <= lower, x >= upper
    for solves in range(1, max_solves + 1):
        free = ~(at_lower | at_upper)
        direction = problem.face_minimiser(free, x) - x
        outward_low = free & (x <= lower) & (direction < 0)
        outward_high = free & (x >= upper) & (direction > 0)
        if outward_low.any() or outward_high.any():
            at_lower |= outward_low
            at_upper |= outward_high
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(direction < 0, (lower - x) / direction,
                             np.where(direction > 0, (upper - x) / direction, math.inf))
        step = float(ratio.min())
        if step >= 1.0:
            x = np.clip(x + direction, lower, upper)
            g = problem.gradient(x)
            tolerance = RELEASE_TOLERANCE * problem.gradient_scale(x)
            release = ~fixed & ((at_lower & (g < -tolerance)) | (at_upper & (g > tolerance)))
            if not release.any():
                return x, solves
            at_lower &= ~release
            at_upper &= ~release
        else:
            blocking = ratio <= step
            x = x + step * direction
            hits_lower = blocking & (direction < 0)
            hits_upper = blocking & (direction > 0)
            x[hits_lower], x[hits_upper] = lower[hits_lower], upper[hits_upper]
            at_lower |= hits_lower
            at_upper |= hits_upper
    raise RuntimeError(f"the active-set method did not terminate within {max_solves} solves")


def blended_schedule(a, b, c: float, rho: float, Q: float, lower=None, upper=None) -> BlendedSolution:
    """Minimise the blended quadratic cost C(x) of the module docstring, optionally within lower ≤ x ≤ upper.

    ``a``: (N,) linear cost per share, any finite reals. ``b``: (N,) quadratic impact, each > 0.
    ``c`` ≥ 0: smoothness penalty on (x_{t+1} − x_t)². ``rho`` ≥ 0: penalty on (Σx − Q)²
    (0 means no target). ``Q``: target shares. ``lower``/``upper``: None, one bound for every
    period, or (N,) bounds; lower may be −inf, upper +inf, and lower ≤ upper in every period.
    O(N) time and memory per solve; one solve without bounds.
    """
    b = _positive("b", b)
    a = _vector("a", a, b.size)
    if not np.isfinite(a).all():
        i = _first_index(~np.isfinite(a))
        raise ValueError(f"a[{i}] must be finite, got {float(a[i])!r}")
    problem = _Blended(a=a, b=b, c=require_real("c", c, low=0.0), rho=require_real("rho", rho, low=0.0),
                       Q=require_real("Q", Q))
    n = b.size
    if lower is None and upper is None:
        x = problem.face_minimiser(np.ones(n, dtype=bool), np.zeros(n))
        bounds = np.full(n, -math.inf), np.full(n, math.inf)
        return BlendedSolution(trades=x, cost=problem.cost(x), iterations=1,
                               kkt_residual=problem.kkt_residual(x, *bounds))
    lo, hi = _bound("lower", lower, n, -math.inf), _bound("upper", upper, n, math.inf)
    crossed = lo > hi
    if crossed.any():
        i = _first_index(crossed)
        raise ValueError(f"lower[{i}] = {float(lo[i])!r} must be <= upper[{i}] = {float(hi[i])!r}")
    start, pivots = _pivoting(problem, lo, hi)
    x, solves = _primal_active_set(problem, start, lo, hi, max_solves=100 * (n + 10))
    return BlendedSolution(trades=x, cost=problem.cost(x), iterations=pivots + solves,
                           kkt_residual=problem.kkt_residual(x, lo, hi))
