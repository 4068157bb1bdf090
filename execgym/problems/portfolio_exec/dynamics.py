"""Dynamics of PortfolioExec: one period of one episode, and of a whole batch of episodes.

Per episode (m assets; x the signed holdings still to trade, S the mid-prices,
f ∈ [0, 1]^m the fraction of each asset's remaining holdings traded, f = 1 in
the last period, ξ ~ N(0, I_m) the period's shocks)::

    n      = f ∘ x                                  shares traded (signed like x)
    S̃      = S − H·n/τ − ε ∘ sign(n)                execution prices
    x'     = x − n
    ΔS     = √τ·L·ξ − Γ·n                           mid-price moves, L·Lᵀ = Σ
    cost   = nᵀH·n/τ + ε·|n| − ΔSᵀx'                implementation-shortfall increment, currency
    reward = −(cost + λτ·x'ᵀΣx') · 10⁴/(Σ_i |X_i|·S0_i)

Summed over the episode the cost is the implementation shortfall
Σ_i X_i·S0_i − Σ_k n_kᵀS̃_k, and E[Σ reward] = −(E[IS] + λ·Var[IS]) in bps
for any deterministic schedule (Var[IS] = τ·Σ_k x_kᵀΣx_k).
Shock j of period k is standard_normals(key, k·m + j): a function of
(seed, episode, period, asset) only.

The period is written once, for one episode, in plain Python on floats
(:func:`advance`, with :func:`write_observation` for the observation). The
scalar env calls it as it is, on lists; :func:`step` and :func:`observe` run
it over a batch compiled by numba (``register_jitable``), so the two give the
same bits: every sum runs over the assets in index order, whatever the batch
(no BLAS, whose summation order depends on the batch size). The functions read
the params through :class:`Market` (scalars) and :class:`Book` (per-asset
vectors and row-major flattened m×m matrices, indexed ``[i·m + j]``); a
vector of an episode is read at ``[at + j]``, so the same code indexes a list
of the scalar env (``at`` = 0) and a flattened (n, m) batch (``at`` = slot·m).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import numba
import numpy as np
from numba.extending import register_jitable

from execgym.noise import episode_keys, normals_of
from execgym.problems.portfolio_exec.params import PortfolioExecParams


class Market(NamedTuple):
    """The params' scalars as the period's arithmetic reads them (the vectors are a :class:`Book`, kept apart
    because numba copies a tuple holding arrays on every call)."""

    periods: int            # N
    inverse_tau: float      # 1/τ, τ = T/N days: the temporary impact multiplies (faster than dividing)
    root_tau: float         # √τ
    risk: float             # λτ
    bps: float              # 10⁴/(Σ_i |X_i|·S0_i)
    inverse_periods: float  # 1/N: observations multiply by reciprocals (faster than dividing)


class Book(NamedTuple):
    """The params' per-asset vectors (m,) and m×m matrices flattened row-major (m·m,): tuples of floats for plain
    Python (the scalar env), float64 arrays for the compiled batch."""

    prices: object           # S0, currency per share
    inverse_shares: object   # 1/X_i (0 where X_i = 0), the observation's holdings scale
    inverse_scales: object   # 1/(σ_i√T) (0 where σ_i = 0), the observation's price scale
    spreads: object          # ε, currency per share
    eta: object              # H, temporary impact
    gamma: object            # Γ, permanent impact
    loadings: object         # L, L·Lᵀ = Σ
    sigma: object            # Σ


def _market(params: PortfolioExecParams) -> Market:
    return Market(periods=params.periods, inverse_tau=1.0 / params.tau, root_tau=math.sqrt(params.tau),
                  risk=params.risk_aversion * params.tau, bps=params.bps_per_currency,
                  inverse_periods=1.0 / params.periods)


def _book(params: PortfolioExecParams) -> Book:
    scales = params.volatilities * np.sqrt(params.horizon)
    return Book(prices=params.prices, inverse_shares=_inverse(params.shares), inverse_scales=_inverse(scales),
                spreads=params.spreads, eta=params.eta.ravel(), gamma=params.gamma.ravel(),
                loadings=params.shock_loadings.ravel(), sigma=params.sigma.ravel())


def _inverse(values: np.ndarray) -> np.ndarray:
    """1/v elementwise, 0 where v = 0."""
    return np.divide(1.0, values, out=np.zeros_like(values), where=values != 0)


@lru_cache(maxsize=64)
def scalar_market(params: PortfolioExecParams) -> tuple[Market, Book]:
    """(:class:`Market`, :class:`Book` of tuples): the fastest form for plain Python."""
    return _market(params), Book(*(tuple(array.tolist()) for array in _book(params)))


@lru_cache(maxsize=64)
def batch_market(params: PortfolioExecParams) -> tuple[Market, Book]:
    """(:class:`Market`, :class:`Book` of float64 arrays): the form numba compiles."""
    return _market(params), Book(*(np.ascontiguousarray(array, dtype=np.float64) for array in _book(params)))


@register_jitable(inline="always")
def action_fraction(action: float) -> float:
    """f = (clip(a, −1, 1) + 1)/2: the fraction of an asset's remaining position that the action's entry a asks
    for (a = −1: nothing, a = 1: everything); NaN stays NaN."""
    return 0.5 * ((-1.0 if action < -1.0 else (1.0 if action > 1.0 else action)) + 1.0)


def action_fractions(actions: np.ndarray) -> np.ndarray:
    """:func:`action_fraction` of every entry of ``actions`` (real numbers, any shape), compiled; NaN raises."""
    actions = np.asarray(actions)
    if actions.dtype.char not in "fd":     # float32 and float64 are read as they are
        actions = actions.astype(np.float64)
    fractions, nan = _fractions_loop(np.ascontiguousarray(actions).reshape(-1))
    if nan:
        raise ValueError("action contains NaN; actions must be numbers in [-1, 1]")
    return fractions.reshape(actions.shape)


@numba.njit(cache=True)
def _fractions_loop(actions):
    fractions = np.empty(actions.size)
    nan = False
    for i in range(actions.size):
        action = float(actions[i])
        nan |= action != action
        fractions[i] = action_fraction(action)
    return fractions, nan


@register_jitable(inline="always")
def advance(mk: Market, m: int, spreads, eta, gamma, loadings, sigma, k: int, holdings, prices, shocks, fractions,
            at: int, traded, remaining, new_prices, execution_prices):
    """One period of one episode (module docstring) of m assets in period k from holdings x, mid-prices S and
    price shocks ξ, trading ``fractions`` f (f = 1 in the last period) of each remaining position; the vectors
    of the episode are read and written at ``[at + j]``. Writes n, x', S + ΔS and S̃ to ``traded``,
    ``remaining``, ``new_prices``, ``execution_prices``; returns (cost, reward): the shortfall increment
    (currency) and the reward (bps)."""
    last = k == mk.periods - 1
    for j in range(m):
        x = holdings[at + j]
        n = x if last else fractions[at + j] * x
        traded[at + j] = n
        remaining[at + j] = x - n
    impact_cost = 0.0    # nᵀH·n/τ
    spread_cost = 0.0    # ε·|n|
    gain = 0.0           # ΔSᵀx'
    exposure = 0.0       # x'ᵀΣx'
    for i in range(m):
        row = i * m
        temporary = 0.0  # (H·n)_i
        shock = 0.0      # (L·ξ)_i
        permanent = 0.0  # (Γ·n)_i
        risk = 0.0       # (Σ·x')_i
        for j in range(m):
            at_j, entry = at + j, row + j
            n = traded[at_j]
            temporary += n * eta[entry]
            shock += shocks[at_j] * loadings[entry]
            permanent += n * gamma[entry]
            risk += remaining[at_j] * sigma[entry]
        temporary = temporary * mk.inverse_tau
        move = mk.root_tau * shock - permanent
        at_i = at + i
        n = traded[at_i]
        left = remaining[at_i]
        spread = spreads[i]
        impact_cost += n * temporary
        spread_cost += abs(n) * spread
        gain += move * left
        exposure += left * risk
        price = prices[at_i]
        new_prices[at_i] = price + move
        execution_prices[at_i] = price - temporary - (spread if n > 0.0 else (-spread if n < 0.0 else 0.0))
    cost = impact_cost + spread_cost - gain
    return cost, -(cost + mk.risk * exposure) * mk.bps


@register_jitable(inline="always")
def write_observation(mk: Market, m: int, prices, inverse_shares, inverse_scales, k: int, holdings, mid_prices,
                      at: int, out, out_at: int) -> None:
    """The observation at ``out[out_at:out_at + 1 + 2m]`` from period k, holdings x and mid-prices S of m assets
    (read at ``[at + j]``): [time remaining (N−k)/N, holdings remaining x_j/X_j (0 where X_j = 0), price moves
    (S_j − S0_j)/(σ_j√T) (0 where σ_j = 0)], each a product with the reciprocal (:class:`Book`)."""
    out[out_at] = (mk.periods - k) * mk.inverse_periods
    for j in range(m):
        at_j, out_j = at + j, out_at + 1 + j
        out[out_j] = holdings[at_j] * inverse_shares[j]
        out[out_j + m] = (mid_prices[at_j] - prices[j]) * inverse_scales[j]


@dataclass(frozen=True)
class Batch:
    """State of a batch of episodes: (n,) fields, and (n, m) holdings and prices."""

    seed: np.ndarray       # uint64
    episode: np.ndarray    # uint64
    key: np.ndarray        # uint64: noise key of the current episode
    elapsed: np.ndarray    # int64: periods done, 0..N
    holdings: np.ndarray   # float64 (n, m): signed shares still to trade
    prices: np.ndarray     # float64 (n, m): mid-prices
    shortfall: np.ndarray  # float64: implementation shortfall so far, currency

    def __len__(self) -> int:
        return self.elapsed.shape[0]


def start(params: PortfolioExecParams, seeds: np.ndarray, episodes: np.ndarray) -> Batch:
    """Fresh episodes number ``episodes`` of the streams ``seeds``."""
    seeds = np.asarray(seeds, dtype=np.uint64)
    episodes = np.asarray(episodes, dtype=np.uint64)
    n = seeds.shape[0]
    return Batch(seed=seeds, episode=episodes, key=episode_keys(seeds, episodes),
                 elapsed=np.zeros(n, dtype=np.int64), holdings=np.tile(params.shares, (n, 1)),
                 prices=np.tile(params.prices, (n, 1)), shortfall=np.zeros(n))


def observation_size(params: PortfolioExecParams) -> int:
    """1 + 2m."""
    return 1 + 2 * params.assets


def observe(params: PortfolioExecParams, batch: Batch) -> np.ndarray:
    """Observations (n, 1 + 2m), float32: :func:`write_observation` of every episode."""
    mk, book = batch_market(params)
    obs = np.empty((len(batch), observation_size(params)), dtype=np.float32)
    _observe(mk, params.assets, book.prices, book.inverse_shares, book.inverse_scales, batch.elapsed,
             _flat(batch.holdings), _flat(batch.prices), obs.reshape(-1))
    return obs


@numba.njit(cache=True)
def _observe(mk, m, prices, inverse_shares, inverse_scales, elapsed, holdings, mid_prices, out):
    for i in range(elapsed.size):
        write_observation(mk, m, prices, inverse_shares, inverse_scales, elapsed[i], holdings, mid_prices, i * m,
                          out, i * (1 + 2 * m))


def _flat(array: np.ndarray) -> np.ndarray:
    """A float64 (n, m) array as a contiguous (n·m,) one (a view when it already is contiguous)."""
    return np.ascontiguousarray(array, dtype=np.float64).reshape(-1)


def decode(params: PortfolioExecParams, observations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(periods elapsed k in 0..N−1, holdings x (n, m)) from a batch of observations."""
    observations = np.asarray(observations, dtype=np.float64)
    periods = params.periods
    elapsed = np.clip(np.rint(periods * (1.0 - observations[:, 0])).astype(np.int64), 0, periods - 1)
    return elapsed, observations[:, 1:1 + params.assets] * params.shares


@dataclass(frozen=True)
class Transition:
    """What one period produced, per episode of the batch."""

    batch: Batch
    reward: np.ndarray           # (n,) bps of arrival notional
    traded: np.ndarray           # (n, m) shares traded
    execution_prices: np.ndarray  # (n, m) currency per share
    terminated: np.ndarray       # (n,) bool


def price_shocks(params: PortfolioExecParams, batch: Batch) -> np.ndarray:
    """ξ (n, m) for the current period of every episode: entry (i, j) is ``standard_normals(key_i, k_i·m + j)``
    (:func:`execgym.noise.standard_normals`)."""
    return _draw_shocks(batch.key, batch.elapsed, params.assets).reshape(len(batch), params.assets)


@numba.njit(cache=True)
def _draw_shocks(keys, elapsed, m):
    """:func:`price_shocks` flattened (n·m,): :func:`execgym.noise.normals_of` of each episode's key at the
    counters k·m + j (the bits of :func:`~execgym.noise.standard_normals`)."""
    flat_keys, counters = np.empty(keys.size * m, dtype=np.uint64), np.empty(keys.size * m, dtype=np.int64)
    for i in range(keys.size):
        for j in range(m):
            flat_keys[i * m + j] = keys[i]
            counters[i * m + j] = elapsed[i] * m + j
    return normals_of(flat_keys, counters, 0, 1)


def episode_shocks(params: PortfolioExecParams, key) -> list[list[float]]:
    """ξ of the episode with noise key ``key``, N lists (one per period) of m floats: :func:`price_shocks` of its
    periods 0..N−1. The scalar env draws them at reset."""
    periods, m = params.periods, params.assets
    return _draw_shocks(np.full(periods, key, dtype=np.uint64), np.arange(periods), m).reshape(periods, m).tolist()


def step(params: PortfolioExecParams, batch: Batch, fractions: np.ndarray) -> Transition:
    """Advance every episode of ``batch`` by one period (:func:`advance`), trading ``fractions`` (n, m) of each
    asset's remaining holdings."""
    mk, book = batch_market(params)
    shape = batch.holdings.shape
    traded, remaining, new_prices, execution_prices = (np.empty(shape) for _ in range(4))
    shortfall, reward = _step_loop(params.assets)(
        mk, book.spreads, book.eta, book.gamma, book.loadings, book.sigma, batch.elapsed, _flat(batch.holdings),
        _flat(batch.prices), batch.shortfall, price_shocks(params, batch).reshape(-1), _flat(fractions),
        traded.reshape(-1), remaining.reshape(-1), new_prices.reshape(-1), execution_prices.reshape(-1))
    new = Batch(seed=batch.seed, episode=batch.episode, key=batch.key, elapsed=batch.elapsed + 1,
                holdings=remaining, prices=new_prices, shortfall=shortfall)
    return Transition(batch=new, reward=reward, traded=traded, execution_prices=execution_prices,
                      terminated=batch.elapsed == params.periods - 1)


@lru_cache(maxsize=None)
def _step_loop(m: int):
    """:func:`advance` over a batch, compiled for m assets (a compile-time constant: the loops over the assets
    unroll: about 1.15x faster than with m read at run time; one compilation, about a second, per m and
    process)."""

    @numba.njit
    def loop(mk, spreads, eta, gamma, loadings, sigma, elapsed, holdings, prices, shortfall, shocks, fractions,
             traded, remaining, new_prices, execution_prices):
        n = elapsed.size
        new_shortfall, reward = np.empty(n), np.empty(n)
        for i in range(n):
            cost, reward[i] = advance(mk, m, spreads, eta, gamma, loadings, sigma, elapsed[i], holdings, prices,
                                      shocks, fractions, i * m, traded, remaining, new_prices, execution_prices)
            new_shortfall[i] = shortfall[i] + cost
        return new_shortfall, reward

    return loop
