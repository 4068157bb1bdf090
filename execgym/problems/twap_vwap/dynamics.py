"""Batched dynamics of TwapVwapSwitch: one bucket for a whole batch of episodes, in pure numpy.

Per episode, on a day of type r, in bucket t (x the fraction of the order
still to trade, P the price in bps of the arrival price, m = m_{r,t},
M_t = Σ_{s>=t} m_{r,s}, ξ the bucket's standard normal)::

    v  = x / (B − t)                  action 0, TWAP pace
       = x · m / M_t                  action 1, VWAP pace
       = min(x, ρ·m / order_size)     action 2, POV (with ``pov_rate`` ρ)
       = x                            in the last bucket t = B − 1, whatever the action
    x' = x − v
    the order sells v at P − η_{r,t}·v, the market trades m at P
    P' = P + σ·ξ
    reward = −(η_{r,t}·v² − x'·σξ + λσ²·x'²)

The bracket is the bucket's cost: the impact on the v traded, minus the price
move's P&L on the x' still held (a sell gains when the price rises), plus the
risk penalty. It telescopes: with P_0 = 0 and x'_{B−1} = 0,
Σ_t v_t·P_t = Σ_t x'_t·σξ_t, so Σ reward = −(IS + λσ²·Σ x'²) where
IS = Σ_t v_t·(P_0 − P_t + η_{r,t}·v_t) is the implementation shortfall.
For a buy order flip the sign of every price: nothing else changes.

ξ_t is stream 0 of :func:`execgym.noise.standard_normals` at step t and the
day type is drawn at reset from stream 1 at step 0 (the first r with
u < p_0 + … + p_r): functions of (seed, episode, step) only, never of the
actions, so two policies on one seed face the same day and the same prices.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from execgym.noise import episode_keys, standard_normals, uniforms
from execgym.problems.twap_vwap.params import TwapVwapParams

STREAMS = 2
PRICE, DAY = range(STREAMS)
TWAP, VWAP, POV = range(3)


@dataclass(frozen=True)
class Batch:
    """State of a batch of episodes, one row per episode."""

    seed: np.ndarray           # uint64 (b,)
    episode: np.ndarray        # uint64 (b,)
    key: np.ndarray            # uint64 (b,): noise key of the current episode
    elapsed: np.ndarray        # int64 (b,): buckets done, 0..B
    day: np.ndarray            # int64 (b,): day type r, 0..R−1
    remaining: np.ndarray      # float64 (b,): x, fraction of the order still to trade
    price: np.ndarray          # float64 (b,): P, bps of the arrival price
    impact_cost: np.ndarray    # float64 (b,): Σ η·v² so far, bps
    shortfall: np.ndarray      # float64 (b,): Σ v·(P_0 − P + η·v) so far, bps (implementation shortfall)
    market_value: np.ndarray   # float64 (b,): Σ m·P so far, bps × units of V
    market_volume: np.ndarray  # float64 (b,): Σ m so far, units of V

    def __len__(self) -> int:
        return self.elapsed.shape[0]

    @cached_property
    def market_vwap(self) -> np.ndarray:
        """(b,) the market's VWAP so far, Σ m·P / Σ m, bps (the arrival price, 0, before the first bucket); computed
        once per batch (the info reads it twice, directly and through :attr:`vwap_shortfall`)."""
        volume = np.where(self.market_volume > 0.0, self.market_volume, 1.0)
        return np.where(self.market_volume > 0.0, self.market_value / volume, 0.0)

    @property
    def vwap_shortfall(self) -> np.ndarray:
        """(b,) shortfall of the fraction traded, 1 − x, against the market VWAP so far: (1 − x)·VWAP − proceeds,
        bps; at the end, the tracking error VWAP − average sale price."""
        return (1.0 - self.remaining) * self.market_vwap + self.shortfall


@dataclass(frozen=True)
class Transition:
    """One bucket of a batch: the new batch, rewards (b,), which episodes ended (b,), the fractions traded (b,)
    and the bucket's price P_t (b,) at which they and the market traded."""

    batch: Batch
    reward: np.ndarray
    terminated: np.ndarray
    traded: np.ndarray
    bucket_price: np.ndarray


def draw_days(params: TwapVwapParams, keys: np.ndarray) -> np.ndarray:
    """(b,) day types of the episodes with noise ``keys``: the first r with u < p_0 + … + p_r."""
    cumulative = np.cumsum(params.probabilities)
    u = uniforms(keys, np.zeros(keys.shape, dtype=np.uint64), DAY, STREAMS) * cumulative[-1]
    return np.minimum(np.searchsorted(cumulative, u, side="right"), params.day_types - 1).astype(np.int64)


def start(params: TwapVwapParams, seeds: np.ndarray, episodes: np.ndarray) -> Batch:
    """Fresh episodes number ``episodes`` of the streams ``seeds``."""
    seeds = np.asarray(seeds, dtype=np.uint64)
    episodes = np.asarray(episodes, dtype=np.uint64)
    keys = episode_keys(seeds, episodes)
    b = seeds.shape[0]
    return Batch(seed=seeds, episode=episodes, key=keys, elapsed=np.zeros(b, dtype=np.int64),
                 day=draw_days(params, keys), remaining=np.ones(b), price=np.zeros(b), impact_cost=np.zeros(b),
                 shortfall=np.zeros(b), market_value=np.zeros(b), market_volume=np.zeros(b))



def observation(params: TwapVwapParams, elapsed, day, remaining) -> np.ndarray:
    """Observations (b, 2[+R]) float32 of states (b,): [time remaining (B − t)/B, x, one-hot of r if R > 1]."""
    elapsed, remaining = np.asarray(elapsed), np.asarray(remaining)
    obs = np.zeros((elapsed.shape[0], params.observation_size), dtype=np.float32)
    obs[:, 0] = (params.buckets - elapsed) / params.buckets
    obs[:, 1] = remaining
    if params.day_types > 1:
        obs[np.arange(elapsed.shape[0]), 2 + np.asarray(day)] = 1.0
    return obs


def observe(params: TwapVwapParams, batch: Batch) -> np.ndarray:
    """Observations (b, 2[+R]) float32 of the batch (:func:`observation`)."""
    return observation(params, batch.elapsed, batch.day, batch.remaining)


def decode(params: TwapVwapParams, observations: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(buckets done t (b,) int64 in 0..B, day type r (b,) int64, remaining x (b,) float64) of observations
    (b, 2[+R]): t by rounding, r the largest one-hot entry, x as observed (float32 precision)."""
    observations = np.asarray(observations)
    size = params.observation_size
    if observations.ndim != 2 or observations.shape[1] != size:
        raise ValueError(f"observations must have shape (batch, {size}), got {observations.shape}")
    observations = observations.astype(np.float64)
    elapsed = np.clip(np.rint(params.buckets * (1.0 - observations[:, 0])), 0, params.buckets).astype(np.int64)
    day = (np.argmax(observations[:, 2:], axis=1) if params.day_types > 1
           else np.zeros(observations.shape[0], dtype=np.int64))
    return elapsed, day, observations[:, 1]


def trades(params: TwapVwapParams, day, bucket, remaining, actions) -> np.ndarray:
    """v, the fraction of the order traded (module docstring), for day types ``day``, buckets ``bucket`` < B,
    remaining fractions ``remaining`` and actions ``actions`` (broadcast together). The oracle's reachable
    states come from this same function, so they equal the env's remaining fractions bit for bit."""
    day, bucket, remaining, actions = np.broadcast_arrays(day, bucket, remaining, actions)
    volume = params.volumes[day, bucket]
    pace = np.where(actions == TWAP, remaining / (params.buckets - bucket),
                    remaining * volume / params.volume_tails[day, bucket])
    if params.pov_rate is not None:
        pace = np.where(actions == POV, np.minimum(remaining, params.pov_caps[day, bucket]), pace)
    return np.where(bucket == params.buckets - 1, remaining, pace)


def expected_cost(params: TwapVwapParams, day, bucket, traded, remaining_after) -> np.ndarray:
    """η_{r,t}·v² + λσ²·x'², bps: minus the bucket's expected reward (the price move has mean zero)."""
    return (params.impacts[day, bucket] * traded**2
            + params.risk_aversion * params.volatility**2 * remaining_after**2)


def step(params: TwapVwapParams, batch: Batch, actions: np.ndarray) -> Transition:
    """Trade bucket ``batch.elapsed`` of every episode of ``batch`` (none finished) at the paces ``actions``
    (b,) int64 (0 TWAP, 1 VWAP, 2 POV)."""
    t, r, x = batch.elapsed, batch.day, batch.remaining
    traded = trades(params, r, t, x, actions)
    after = x - traded
    move = params.volatility * standard_normals(batch.key, t.astype(np.uint64), PRICE, STREAMS)
    impact = params.impacts[r, t] * traded**2
    reward = -(expected_cost(params, r, t, traded, after) - after * move)
    volume = params.volumes[r, t]
    elapsed = t + 1
    new = Batch(seed=batch.seed, episode=batch.episode, key=batch.key, elapsed=elapsed, day=r, remaining=after,
                price=batch.price + move, impact_cost=batch.impact_cost + impact,
                shortfall=batch.shortfall + impact - traded * batch.price,
                market_value=batch.market_value + volume * batch.price,
                market_volume=batch.market_volume + volume)
    return Transition(batch=new, reward=reward, terminated=elapsed >= params.buckets, traded=traded,
                      bucket_price=batch.price)
