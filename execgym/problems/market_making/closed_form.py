"""The continuous-time closed form of risk-neutral market making, kept as an independent check of the DP oracle.

Cartea, Jaimungal & Penalva, "Algorithmic and High-Frequency Trading" (2015),
ch. 10 (market making with running inventory penalty φ and terminal penalty
α); the change of variables ω = e^{k·h} that makes the HJB equation linear is
that of Guéant, Lehalle & Fernandez-Tapia, "Dealing with the inventory risk: a
solution to the market making problem", Math. Financ. Econ. 7 (2013), 477–507
(there for exponential utility).

Derivation. Mid-price dS = μ·dt + σ·dW; market orders reach a quote at depth
δ at rate λ(δ) = A·e^{−kδ} per side; the inventory q stays in [−Q̄, Q̄] (no bid
at Q̄, no ask at −Q̄). Maximise E[X_T + q_T·S_T − α·q_T² − φ∫q_t²·dt]. With the
ansatz H(t, x, S, q) = x + q·S + h(t, q) (wealth marked to market plus an
inventory term) the HJB equation is::

    0 = ∂_t h + μq − φq² + sup_{δ_b} λ(δ_b)·(δ_b + h(q+1) − h(q)) + sup_{δ_a} λ(δ_a)·(δ_a + h(q−1) − h(q)),
    h(T, q) = −α·q²,

each sup present only where that side is quoted; σ drops out (H is linear in S).
For a margin Δ, d/dδ [A·e^{−kδ}(δ + Δ)] = A·e^{−kδ}(1 − k(δ + Δ)) vanishes at
δ* = 1/k − Δ, a maximum, where the sup is (A/(k·e))·e^{kΔ}. Hence::

    δ_bid(t, q) = 1/k − h(t, q+1) + h(t, q),      δ_ask(t, q) = 1/k − h(t, q−1) + h(t, q),

and with h = (1/k)·ln ω (so e^{kΔ} = ω(q±1)/ω(q)) multiplying the HJB by k·ω
leaves the linear system ∂_t ω = −M·ω, ω(T, q) = e^{−kαq²}, M symmetric
tridiagonal::

    M_{q,q} = k·(μq − φq²),   M_{q,q+1} = A/e (q+1 <= Q̄),   M_{q,q−1} = A/e (q−1 >= −Q̄),

so ω(t) = exp(M·(T − t))·ω(T), δ_bid = 1/k + (1/k)·ln(ω(t,q)/ω(t,q+1)),
δ_ask = 1/k + (1/k)·ln(ω(t,q)/ω(t,q−1)), and the value of the problem in
excess of the marked-to-market wealth is V(t, q) = h(t, q) = (1/k)·ln ω(t, q).
The optimal depths are unconstrained here: they may be negative (a quote
through the mid) or above the env's δ_max; the discrete-time DP of
:mod:`.oracle` converges to this solution as dt → 0 where they stay inside
(0, δ_max), for either fill rule (both are A·e^{−kδ}·dt + O(dt²)).

Numerics. ω spans many orders of magnitude: ω(T, Q̄) = e^{−kαQ̄²} underflows
for the default market (e^{−1875}), and over long horizons ω grows like
e^{(2A/e)(T−t)}, which overflows. ``scipy.linalg.expm`` is accurate relative
to the norm of exp(Mτ), not entrywise, so at levels where ω is far below its
largest entry it returns noise (ln ω off by ~1e−7 at Q̄ = 20 and by O(10) at
Q̄ = 50 for the default market, against a 40-digit mpmath reference). Instead
every quantity is kept as its logarithm and only positive numbers are ever
added, so every entry keeps its relative accuracy whatever its size:

* M = N − c·I with c = A/e + max_q k(φq² − μq), so N >= 0 entrywise with a
  positive diagonal (N^n > 0 entrywise for n >= L − 1, L = 2Q̄ + 1 levels),
  and exp(Mτ) = e^{−cτ}·exp(Nτ);
* exp(Nτ/2^s), s the least with ν = ‖Nτ‖_∞/2^s <= 16, by its Taylor series
  summed in log space (each term is the tridiagonal N times the last, O(L²)).
  Stopping rule, entrywise: for positive powers the largest entrywise ratio
  R_n = max (N^{n+1})_ij/(N^n)_ij does not increase with n (N^{n+2} = N·N^{n+1}
  <= R_n·N·N^n), so once T_{n−1}, T_n > 0 (n >= L) the later terms fall at
  least geometrically with ratio x = max(T_n/T_{n−1})·n/(n+1), the remainder
  is at most T_n·x/(1 − x) at every entry, and the series stops when that is
  below 1e−17 of every entry of the partial sum;
* s squarings in log space (log-sum-exp of positive products, O(L³) each;
  relative errors at most double per squaring), or fewer squarings and
  repeated matrix–vector products where the propagator is used only a few
  times (each O(L²); the split minimises the count of operations);
* ln ω(t) from ln ω(T) by log-sum-exp matrix–vector products over the
  successive intervals between the requested times, one propagator per
  distinct interval length (a uniform grid needs one).

Nothing overflows or underflows. Checks (tests and by hand): ln ω equals a
DOP853 solve of the linear ODE to 1e−12, a 40-digit mpmath expm to 3e−14 at
Q̄ = 50 (entries down to e^{−208}), and over T = 100 (ln ω ≈ 10⁴) one
propagator and a thousand chained ones agree to 2e−10. Cost: O(L³) per
distinct interval plus O(L²) per time — 0.06 s for the default market's
200-step grid, about 1 s at Q̄ = 100 and 12 s at Q̄ = 200 on a few arbitrary
times: a cross-check, not meant for Q̄ in the thousands.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from execgym.problems.market_making.params import MarketMakingParams

TAYLOR_TOLERANCE = 1e-17
"""Entrywise relative bound on the truncation error of the Taylor series of exp(Nτ/2^s)."""
MAX_SCALED_NORM = 16.0
"""‖Nτ/2^s‖_∞ at most this: a few more Taylor terms (O(L²) each) save squarings (O(L³) each)."""
MAX_TAYLOR_TERMS = 100_000
MAX_INVENTORY = 500
"""Largest Q̄ accepted: the propagators are dense (L, L) and cost O(L³)."""
INTERVAL_DIGITS = 12
"""Intervals equal to this many significant digits share one propagator."""


class ClosedFormQuotes(NamedTuple):
    """The closed form at ``times`` (K,): ``bid``, ``ask`` (K, 2Q̄+1) optimal depths, currency (NaN on a side
    not quoted: the bid at Q̄, the ask at −Q̄; unconstrained, so possibly < 0 or > δ_max); ``values`` (K, 2Q̄+1),
    V(t, q) = h(t, q), the value in excess of marked-to-market wealth, currency."""

    bid: np.ndarray
    ask: np.ndarray
    values: np.ndarray


def _check(params: MarketMakingParams) -> None:
    if params.objective != "risk_neutral":
        raise ValueError("the closed form solves the risk-neutral objective (running penalty φ, terminal penalty "
                         f"α); got objective = {params.objective!r}")


def generator(params: MarketMakingParams) -> np.ndarray:
    """(L, L) the matrix M of ∂_t ω = −M·ω (module docstring), dense; levels −Q̄..Q̄."""
    _check(params)
    q = params.inventories.astype(np.float64)
    k, off = params.depth_decay, params.arrival_rate / math.e
    levels = params.levels
    return (np.diag(k * (params.drift * q - params.inventory_penalty * q**2))
            + np.diag(np.full(levels - 1, off), 1) + np.diag(np.full(levels - 1, off), -1))


def _log_tridiagonal_product(log_diagonal: np.ndarray, log_off: float, log_x: np.ndarray) -> np.ndarray:
    """ln(N·e^{log_x}) for the symmetric tridiagonal N >= 0 with ln-diagonal ``log_diagonal`` (L,) and constant
    ln off-diagonal ``log_off``; ``log_x`` (L, ...)."""
    extra = (1,) * (log_x.ndim - 1)
    out = log_diagonal.reshape(log_diagonal.shape + extra) + log_x
    out[:-1] = np.logaddexp(out[:-1], log_off + log_x[1:])
    out[1:] = np.logaddexp(out[1:], log_off + log_x[:-1])
    return out


def _log_square(log_p: np.ndarray) -> np.ndarray:
    """ln(P·P) for P = e^{log_p} >= 0 (L, L), by log-sum-exp row by row (O(L³) time, O(L²) memory)."""
    out = np.empty_like(log_p)
    for i in range(log_p.shape[0]):
        terms = log_p[i][:, None] + log_p  # (j, k): ln P_ij + ln P_jk
        top = terms.max(axis=0)
        out[i] = top + np.log(np.exp(terms - top).sum(axis=0))
    return out


def _log_matvec(log_a: np.ndarray, log_x: np.ndarray) -> np.ndarray:
    """ln(A·x) for A = e^{log_a} >= 0 (L, L) and x = e^{log_x} > 0 (L,), by log-sum-exp."""
    terms = log_a + log_x[None, :]
    top = terms.max(axis=1)
    return top + np.log(np.exp(terms - top[:, None]).sum(axis=1))


class _ScaledPropagator(NamedTuple):
    """exp(M·τ) = e^{offset}·(e^{log_p})^{2^squarings}."""

    log_p: np.ndarray
    squarings: int
    offset: float


def _scaled_propagator(params: MarketMakingParams, interval: float) -> _ScaledPropagator:
    """exp(Nτ/2^s) by its Taylor series in log space (module docstring), with N = M + shift·I."""
    if params.max_inventory > MAX_INVENTORY:
        raise ValueError(f"the closed form is a cross-check for max_inventory <= {MAX_INVENTORY} (dense O(L³) "
                         f"propagators), got max_inventory = {params.max_inventory}")
    q = params.inventories.astype(np.float64)
    levels = params.levels
    diagonal = params.depth_decay * (params.drift * q - params.inventory_penalty * q**2)
    off = params.arrival_rate / math.e
    shift = float(off - diagonal.min())  # N = M + shift·I: diagonal >= A/e > 0, so N^n > 0 for n >= L − 1
    norm = float((diagonal + shift).max() + 2.0 * off) * interval  # ‖Nτ‖_∞ (row sums of N >= 0)
    squarings = max(0, math.ceil(math.log2(norm / MAX_SCALED_NORM))) if norm > MAX_SCALED_NORM else 0
    scale = interval / 2.0**squarings
    log_diagonal = np.log((diagonal + shift) * scale)
    log_off = math.log(off * scale)
    log_term = np.full((levels, levels), -np.inf)
    np.fill_diagonal(log_term, 0.0)
    log_sum = log_term.copy()
    for n in range(1, MAX_TAYLOR_TERMS + 1):
        log_next = _log_tridiagonal_product(log_diagonal, log_off, log_term) - math.log(n)
        log_sum = np.logaddexp(log_sum, log_next)
        if n >= levels:  # T_{n−1}, T_n > 0 entrywise: bound the remainder after T_n
            log_ratio = float((log_next - log_term).max()) + math.log(n / (n + 1))  # ln x
            if log_ratio < 0.0:
                log_tail = log_ratio - math.log(-math.expm1(log_ratio))  # ln x/(1 − x)
                if float((log_next - log_sum).max()) + log_tail <= math.log(TAYLOR_TOLERANCE):
                    break
        log_term = log_next
    else:  # pragma: no cover - the terms fall like ν^m/m! past n = L
        raise RuntimeError("the Taylor series of the propagator did not converge")
    return _ScaledPropagator(log_sum, squarings, -shift * interval)


def log_propagator(params: MarketMakingParams, interval: float) -> np.ndarray:
    """(L, L) ln exp(M·τ) entrywise for τ = ``interval`` >= 0 (module docstring)."""
    _check(params)
    if not (math.isfinite(interval) and interval >= 0.0):
        raise ValueError(f"interval must be finite and >= 0, got {interval!r}")
    scaled = _scaled_propagator(params, interval)
    log_p = scaled.log_p
    for _ in range(scaled.squarings):
        log_p = _log_square(log_p)
    return log_p + scaled.offset


def log_omega(params: MarketMakingParams, times) -> np.ndarray:
    """(K, L) ln ω(t, q) at ``times`` (K,) in [0, T] (any order), levels −Q̄..Q̄."""
    _check(params)
    times = np.asarray(times, dtype=np.float64)
    if times.ndim != 1 or times.size == 0:
        raise ValueError(f"times must be a non-empty 1-d array, got shape {times.shape}")
    horizon = params.horizon
    if not np.all(np.isfinite(times)) or times.min() < 0.0 or times.max() > horizon:
        raise ValueError(f"times must lie in [0, horizon] = [0, {horizon:g}], got range "
                         f"[{times.min():g}, {times.max():g}]")
    order = np.argsort(-times, kind="stable")
    intervals = -np.diff(np.concatenate([[horizon], times[order]]))
    keys = [float(f"{interval:.{INTERVAL_DIGITS}g}") for interval in intervals]
    uses: dict[float, int] = {}
    for key, interval in zip(keys, intervals):
        if interval > 0.0:
            uses[key] = uses.get(key, 0) + 1
    levels = params.levels
    propagators = {}
    for key, count in uses.items():
        # Square j of the s times (O(L³) each) and apply the result 2^{s−j} times per use (O(L²) each).
        scaled = _scaled_propagator(params, key)
        squared = min(range(scaled.squarings + 1), key=lambda j: j * levels + count * 2 ** (scaled.squarings - j))
        log_p = scaled.log_p
        for _ in range(squared):
            log_p = _log_square(log_p)
        propagators[key] = (log_p, 2 ** (scaled.squarings - squared), scaled.offset)
    q = params.inventories.astype(np.float64)
    current = -params.depth_decay * params.terminal_penalty * q**2  # ln ω(T)
    out = np.empty((times.size, levels))
    for index, key, interval in zip(order, keys, intervals):
        if interval > 0.0:
            log_p, repeats, offset = propagators[key]
            for _ in range(repeats):
                current = _log_matvec(log_p, current)
            current = current + offset
        out[index] = current
    return out


def closed_form_quotes(params: MarketMakingParams, times=None) -> ClosedFormQuotes:
    """The optimal depths and values of the continuous-time problem at ``times`` (default: the decision times
    n·dt, n = 0..N, and T) for the market of ``params`` (objective "risk_neutral"; the fill rule, price
    shocks, volatility, tick size and δ_max do not enter)."""
    _check(params)
    if times is None:
        times = np.arange(params.steps + 1) * params.dt
        times[-1] = params.horizon
    log_w = log_omega(params, times)
    k = params.depth_decay
    bid = np.full_like(log_w, np.nan)
    ask = np.full_like(log_w, np.nan)
    bid[:, :-1] = 1.0 / k + (log_w[:, :-1] - log_w[:, 1:]) / k
    ask[:, 1:] = 1.0 / k + (log_w[:, 1:] - log_w[:, :-1]) / k
    return ClosedFormQuotes(bid=bid, ask=ask, values=log_w / k)
