"""Batched dynamics of PortfolioExec: one period for a whole batch of episodes, in pure numpy.

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
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from execgym.noise import episode_keys, standard_normals
from execgym.problems.portfolio_exec.params import PortfolioExecParams


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
    """Observations (n, 1 + 2m), float32: [time remaining (N−k)/N, holdings remaining x_i/X_i (0 where
    X_i = 0), price moves (S_i − S0_i)/(σ_i√T) (0 where σ_i = 0)]."""
    m = params.assets
    obs = np.empty((len(batch), 1 + 2 * m), dtype=np.float32)
    obs[:, 0] = (params.periods - batch.elapsed) / params.periods
    shares = params.shares
    obs[:, 1:1 + m] = np.divide(batch.holdings, shares, out=np.zeros_like(batch.holdings), where=shares != 0)
    scale = params.volatilities * np.sqrt(params.horizon)
    moves = batch.prices - params.prices
    obs[:, 1 + m:] = np.divide(moves, scale, out=np.zeros_like(moves), where=scale > 0)
    return obs


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
    """ξ (n, m) for the current period of every episode."""
    m = params.assets
    counters = batch.elapsed[:, None] * m + np.arange(m)
    return standard_normals(batch.key[:, None], counters)


def _times(vectors: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Each row v of ``vectors`` (n, m) times ``matrix``: M·v (n, m), summed in a fixed order so that an episode's
    numbers do not depend on the batch it is in (BLAS's ``vectors @ matrix.T`` differs by an ulp between a batch
    of one, the scalar env, and larger batches)."""
    out = np.zeros((vectors.shape[0], matrix.shape[0]))
    for j in range(matrix.shape[1]):
        out += vectors[:, j, None] * matrix[:, j]
    return out


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise dot products (n,), independent of the batch size like :func:`_times`."""
    return (a * b).sum(axis=-1)


def step(params: PortfolioExecParams, batch: Batch, fractions: np.ndarray) -> Transition:
    """Advance every episode by one period, trading ``fractions`` (n, m) of each asset's remaining holdings."""
    tau = params.tau
    last = batch.elapsed == params.periods - 1
    fractions = np.where(last[:, None], 1.0, fractions)
    traded = fractions * batch.holdings
    temporary = _times(traded, params.eta) / tau                 # H·n/τ per episode
    remaining = batch.holdings - traded
    move = _times(np.sqrt(tau) * price_shocks(params, batch), params.shock_loadings) - _times(traded, params.gamma)
    cost = _dot(traded, temporary) + _dot(np.abs(traded), params.spreads) - _dot(move, remaining)
    risk = params.risk_aversion * tau * _dot(remaining, _times(remaining, params.sigma))
    new = replace(batch, elapsed=batch.elapsed + 1, holdings=remaining, prices=batch.prices + move,
                  shortfall=batch.shortfall + cost)
    execution = batch.prices - temporary - params.spreads * np.sign(traded)
    return Transition(batch=new, reward=-(cost + risk) * params.bps_per_currency, traded=traded,
                      execution_prices=execution, terminated=last)
