"""Batched dynamics of OptimalExec: one period for a whole batch of episodes, in pure numpy.

Notation (all per episode of the batch): k periods elapsed, x shares still to
trade, S the mid-price, s = +1 for a sell and −1 for a buy. One period, with
f ∈ [0, 1] the fraction of the remaining shares to trade (f = 1 in the last
period, whatever the action) and ξ ~ N(0, 1) the period's price shock::

    n      = f·x                                   shares traded
    S̃      = S − s·(ε + η·n/τ)                      execution price
    x'     = x − n
    ΔS     = (φ − 1)(S − μ̄) + μτ + σ_τ·ξ − s·γ·n    mid-price move
    cost   = n·(ε + η·n/τ) − s·ΔS·x'                implementation-shortfall increment, currency
    reward = −(cost + λσ_τ²·x'²) · 10⁴/(X·S0)       basis points of arrival notional

with φ = e^{−θτ} and σ_τ the period's shock scale (φ = 1, σ_τ = σ√τ for the
random walk, θ = 0; see :class:`OptimalExecParams`).

The cost telescopes: summed over the episode it is the implementation
shortfall s·(X·S0 − Σ n·S̃), and E[Σ reward] is minus the mean–variance
objective (see :mod:`execgym.problems.optimal_exec.env`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from execgym.batching import replace_rows
from execgym.noise import episode_keys, standard_normals
from execgym.problems.optimal_exec.params import OptimalExecParams

OBSERVATION_SIZE = 3


def action_to_fraction(actions: np.ndarray) -> np.ndarray:
    """The fraction of remaining shares traded: f = (clip(a, −1, 1) + 1)/2, so a = −1 trades nothing
    and a = +1 everything. Actions outside [−1, 1] are clipped; NaN raises."""
    actions = np.asarray(actions, dtype=np.float64)
    if np.isnan(actions).any():
        raise ValueError("action contains NaN; actions must be numbers in [-1, 1]")
    return 0.5 * (np.clip(actions, -1.0, 1.0) + 1.0)


def fraction_to_action(fractions: np.ndarray) -> np.ndarray:
    """Inverse of :func:`action_to_fraction` on [0, 1]: a = 2f − 1."""
    return 2.0 * np.asarray(fractions, dtype=np.float64) - 1.0


@dataclass(frozen=True)
class Batch:
    """State of a batch of episodes; every field has shape (n,)."""

    seed: np.ndarray       # uint64: the seed the episode stream was started from
    episode: np.ndarray    # uint64: episode number within that stream (0, 1, ...)
    key: np.ndarray        # uint64: noise key of the current episode
    elapsed: np.ndarray    # int64: periods done, 0..N
    inventory: np.ndarray  # float64: shares still to trade
    price: np.ndarray      # float64: mid-price S_k, currency per share
    shortfall: np.ndarray  # float64: implementation shortfall so far, currency

    def __len__(self) -> int:
        return self.elapsed.shape[0]


def start(params: OptimalExecParams, seeds: np.ndarray, episodes: np.ndarray) -> Batch:
    """Fresh episodes number ``episodes`` of the streams ``seeds``."""
    seeds = np.asarray(seeds, dtype=np.uint64)
    episodes = np.asarray(episodes, dtype=np.uint64)
    n = seeds.shape[0]
    return Batch(seed=seeds, episode=episodes, key=episode_keys(seeds, episodes),
                 elapsed=np.zeros(n, dtype=np.int64), inventory=np.full(n, params.shares),
                 price=np.full(n, params.arrival_price), shortfall=np.zeros(n))


def restart(params: OptimalExecParams, batch: Batch, done: np.ndarray) -> Batch:
    """The batch with the episodes where ``done`` replaced by the next episode of their stream."""
    return replace_rows(batch, start(params, batch.seed[done], batch.episode[done] + np.uint64(1)), done)


def observe(params: OptimalExecParams, batch: Batch) -> np.ndarray:
    """Observations (n, 3), float32: [time remaining (N−k)/N, inventory remaining x/X,
    price move since arrival (S − S0)/(σ√T)]."""
    obs = np.empty((len(batch), OBSERVATION_SIZE), dtype=np.float32)
    obs[:, 0] = (params.periods - batch.elapsed) / params.periods
    obs[:, 1] = batch.inventory / params.shares
    obs[:, 2] = (batch.price - params.arrival_price) / params.price_scale
    return obs


def decode(params: OptimalExecParams, observations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(periods elapsed k, shares remaining x) from a batch of observations; k is clipped to
    0..N−1, the periods in which a decision is taken."""
    observations = np.asarray(observations, dtype=np.float64)
    periods = params.periods
    elapsed = np.clip(np.rint(periods * (1.0 - observations[:, 0])).astype(np.int64), 0, periods - 1)
    return elapsed, observations[:, 1] * params.shares


@dataclass(frozen=True)
class Transition:
    """What one period produced, per episode of the batch."""

    batch: Batch
    reward: np.ndarray           # bps of arrival notional
    traded: np.ndarray           # shares traded this period
    execution_price: np.ndarray  # currency per share
    terminated: np.ndarray       # bool: the horizon is reached


def price_shocks(batch: Batch) -> np.ndarray:
    """ξ for the current period of every episode: a function of (seed, episode, period) only."""
    return standard_normals(batch.key, batch.elapsed)


def step(params: OptimalExecParams, batch: Batch, fractions: np.ndarray) -> Transition:
    """Advance every episode of ``batch`` by one period, trading ``fractions`` of the remaining shares."""
    s = params.side_sign
    tau = params.tau
    last = batch.elapsed == params.periods - 1
    fractions = np.where(last, 1.0, fractions)
    traded = fractions * batch.inventory
    unit_cost = params.half_spread + params.temporary_impact * traded / tau
    remaining = batch.inventory - traded
    reversion = (params.reversion_factor - 1.0) * (batch.price - params.long_run_price)
    move = (reversion + params.drift * tau + params.shock_scale * price_shocks(batch)
            - s * params.permanent_impact * traded)
    cost = traded * unit_cost - s * move * remaining
    risk = params.risk_aversion * params.shock_scale**2 * remaining**2
    new = replace(batch, elapsed=batch.elapsed + 1, inventory=remaining, price=batch.price + move,
                  shortfall=batch.shortfall + cost)
    return Transition(batch=new, reward=-(cost + risk) * params.bps_per_currency, traded=traded,
                      execution_price=batch.price - s * unit_cost, terminated=last)
